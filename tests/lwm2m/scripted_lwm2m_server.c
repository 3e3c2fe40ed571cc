/*
 * scripted_lwm2m_server: a minimal LwM2M server for the test of examples/lwm2m, playing both
 * of the server's roles over one UDP 5-tuple, as LwM2M's binding "U" has it:
 *   - the registration interface: POST /rd?ep=&lt=&lwm2m=1.1&b=U -> 2.01 with Location-Path
 *     rd/ep-N; POST /rd/ep-N (Update) -> 2.04; DELETE /rd/ep-N (De-register) -> 2.02;
 *   - device management: once registered, it reads /3/0/0, /3/0/1 and /3/0 and observes
 *     /3/0/13 on the client, over the same socket.
 * It checks what it gets (the registration's query, Content-Format and links; each Update
 * within the lifetime; the reads' answers; at least two notifications) and prints one line per
 * event; at the De-register it prints PASS or the failures and exits 0 or 1. No De-register
 * within TIMEOUT seconds: exit 1.
 *
 *     scripted_lwm2m_server LISTEN_ADDR:PORT CLIENT_ADDR:PORT [TIMEOUT_S]
 *
 * Its socket is a zcoap_uv_client_t bound to LISTEN and connected to the client's address,
 * which the client binds with -b: a connected socket takes the datagrams of that peer only.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zcoap/uv.h"

#define OBSERVE_TAG 1u
#define DEFAULT_TIMEOUT_S 15u
#define FAILURES_MAX 16

/* The server's reads of the client, in order, then the observation. */
static const struct read_step {
    const char *path;
    const char *expect; /* a substring the 2.05's payload must hold */
    int content_format;
} reads[] = {
    {"/3/0/0", "zcoap", 0},
    {"/3/0/1", "LwM2M", 0},
    {"/3/0", "</3/0/13>", 40},
};
#define READS (sizeof(reads) / sizeof(reads[0]))

struct server {
    uv_loop_t loop;
    zcoap_uv_client_t sock;
    uv_timer_t timeout, end;
    char client_uri[96]; /* coap://ADDR:PORT, for the reads' URIs */
    char location[32];   /* "/rd/ep-N" of the current registration */
    unsigned registrations, updates, deregistrations, notifications;
    long long last_time; /* the last value of /3/0/13 seen */
    uint32_t lifetime_s;
    uint64_t last_renewal_ms; /* the Register or the last Update */
    size_t next_read;         /* reads[] done so far; READS: the observation is next */
    bool sock_open, observing, finished;
    const char *failures[FAILURES_MAX];
    size_t n_failures;
};

static struct server srv;

static void fail(struct server *s, const char *what)
{
    printf("FAIL: %s\n", what);
    fflush(stdout);
    if (s->n_failures < FAILURES_MAX)
        s->failures[s->n_failures++] = what;
}

static void close_all(struct server *s)
{
    if (s->sock_open)
        zcoap_uv_client_close(&s->sock, NULL);
    uv_close((uv_handle_t *)&s->timeout, NULL);
    uv_close((uv_handle_t *)&s->end, NULL);
}

/* Closing waits for the next loop turn, so that the answer to the De-register goes out first. */
static void on_end(uv_timer_t *t)
{
    close_all(t->data);
}

static void finish(struct server *s)
{
    if (s->finished)
        return;
    s->finished = true;
    if (s->registrations != 1)
        fail(s, "not exactly one registration");
    if (s->updates == 0)
        fail(s, "no update");
    if (s->next_read < READS)
        fail(s, "the reads of /3/0 did not all succeed");
    if (s->notifications < 2)
        fail(s, "fewer than 2 notifications of /3/0/13");
    printf("summary: %u registration(s), %u update(s), %u deregistration(s), %u "
           "notification(s)\n",
           s->registrations, s->updates, s->deregistrations, s->notifications);
    printf("%s\n", s->n_failures == 0 ? "PASS" : "FAILED");
    fflush(stdout);
    uv_timer_start(&s->end, on_end, 0, 0);
}

static void on_timeout(uv_timer_t *t)
{
    struct server *s = t->data;
    fail(s, "no De-register in time");
    finish(s);
}

/* The next read, or the observation once the reads are done. */
static void next_request(struct server *s)
{
    char uri[128];
    if (s->next_read < READS) {
        snprintf(uri, sizeof(uri), "%s%s", s->client_uri, reads[s->next_read].path);
        if (zcoap_uv_client_request(&s->sock, ZCOAP_TYPE_CON, ZCOAP_GET, uri, NULL, 0) != 0)
            fail(s, "cannot send a read");
    } else if (!s->observing) {
        snprintf(uri, sizeof(uri), "%s/3/0/13", s->client_uri);
        if (zcoap_uv_client_observe(&s->sock, uri, OBSERVE_TAG) != 0)
            fail(s, "cannot observe /3/0/13");
    }
}

/* The payload of @p msg as a NUL-terminated string (cut to fit @p cap). */
static const char *payload_text(const zcoap_msg_t *msg, char *out, size_t cap)
{
    size_t n = msg->payload_len < cap - 1 ? msg->payload_len : cap - 1;
    if (n > 0)
        memcpy(out, msg->payload, n);
    out[n] = '\0';
    return out;
}

/* "a=1&b=2": the value of @p name, copied into @p out ("" when absent). */
static void query_value(const char *query, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *p = query; p != NULL && *p != '\0';) {
        const char *end = strchr(p, '&');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t v = len - n - 1 < cap - 1 ? len - n - 1 : cap - 1;
            memcpy(out, p + n + 1, v);
            out[v] = '\0';
            return;
        }
        p = end != NULL ? end + 1 : NULL;
    }
}

/* Answer the client's request; @p location_id: the 2.01's Location-Path is rd/<id>. */
static void answer(struct server *s, uint8_t code, const char *location_id)
{
    zcoap_ep_t *ep = zcoap_uv_client_endpoint(&s->sock);
    zcoap_builder_t b;
    if (zcoap_ep_response_begin(ep, code, false, &b) != ZCOAP_OK)
        return;
    if (location_id != NULL) {
        (void)zcoap_builder_add_str(&b, ZCOAP_OPT_LOCATION_PATH, "rd");
        (void)zcoap_builder_add_str(&b, ZCOAP_OPT_LOCATION_PATH, location_id);
    }
    (void)zcoap_ep_response_send(ep, &b, uv_now(&s->loop));
}

static void on_register(struct server *s, const zcoap_msg_t *req, const char *query)
{
    char ep[80], lt[16], version[16], binding[8];
    query_value(query, "ep", ep, sizeof(ep));
    query_value(query, "lt", lt, sizeof(lt));
    query_value(query, "lwm2m", version, sizeof(version));
    query_value(query, "b", binding, sizeof(binding));
    uint32_t cf = 0xFFFF;
    (void)zcoap_msg_get_uint(req, ZCOAP_OPT_CONTENT_FORMAT, &cf);
    char links[256];
    payload_text(req, links, sizeof(links));
    printf("register: ep=%s lt=%s lwm2m=%s b=%s ct=%u links=%s\n", ep, lt, version, binding,
           (unsigned)cf, links);
    if (ep[0] == '\0' || atoi(lt) <= 0 || strcmp(version, "1.1") != 0 || strcmp(binding, "U") != 0)
        fail(s, "registration query");
    if (cf != 40)
        fail(s, "registration not in link-format (ct 40)");
    if (strstr(links, "</3/0>") == NULL)
        fail(s, "registration links lack </3/0>");
    s->registrations++;
    s->lifetime_s = (uint32_t)atoi(lt);
    s->last_renewal_ms = uv_now(&s->loop);
    snprintf(s->location, sizeof(s->location), "/rd/ep-%u", s->registrations);
    answer(s, ZCOAP_CREATED, s->location + strlen("/rd/"));
    printf("  -> 2.01 %s\n", s->location);
    if (s->registrations == 1)
        next_request(s);
}

static void on_update(struct server *s)
{
    uint64_t now = uv_now(&s->loop);
    uint64_t since = now - s->last_renewal_ms;
    s->updates++;
    s->last_renewal_ms = now;
    printf("update %u after %.1f s (lifetime %u s) -> 2.04\n", s->updates, (double)since / 1e3,
           (unsigned)s->lifetime_s);
    if (since >= (uint64_t)s->lifetime_s * 1000u)
        fail(s, "an update came after the lifetime had run out");
    answer(s, ZCOAP_CHANGED, NULL);
}

static void on_request(struct server *s, const zcoap_msg_t *req)
{
    char path[160];
    if (zcoap_msg_path(req, false, path, sizeof(path)) < 0)
        path[0] = '\0';
    const char *query = strchr(path, '?');
    size_t path_len = query != NULL ? (size_t)(query - path) : strlen(path);
    bool at_rd = path_len == 3 && strncmp(path, "/rd", 3) == 0;
    bool at_location = s->location[0] != '\0' && path_len == strlen(s->location) &&
                       strncmp(path, s->location, path_len) == 0;
    if (req->code == ZCOAP_POST && at_rd && query != NULL) {
        on_register(s, req, query + 1);
    } else if (req->code == ZCOAP_POST && at_location) {
        on_update(s);
    } else if (req->code == ZCOAP_DELETE && at_location) {
        s->deregistrations++;
        printf("deregister %s -> 2.02\n", s->location);
        answer(s, ZCOAP_DELETED, NULL);
        finish(s);
    } else {
        printf("unexpected: %s %s -> 4.04\n", zcoap_code_name(req->code), path);
        fail(s, "an unexpected request");
        answer(s, ZCOAP_NOT_FOUND, NULL);
    }
    fflush(stdout);
}

static void on_read_answer(struct server *s, const zcoap_msg_t *msg)
{
    const struct read_step *step = &reads[s->next_read];
    uint32_t cf = 0xFFFF;
    (void)zcoap_msg_get_uint(msg, ZCOAP_OPT_CONTENT_FORMAT, &cf);
    printf("read %s: %s ct=%u '%.*s'\n", step->path, zcoap_code_name(msg->code), (unsigned)cf,
           (int)msg->payload_len, (const char *)msg->payload);
    char body[256];
    if (msg->code != ZCOAP_CONTENT || cf != (uint32_t)step->content_format ||
        strstr(payload_text(msg, body, sizeof(body)), step->expect) == NULL)
        fail(s, "a read of /3/0 was answered wrongly");
    s->next_read++;
    next_request(s);
}

/* /3/0/13 is Unix time in plain text. */
static void on_notification(struct server *s, const zcoap_msg_t *msg)
{
    char text[32];
    long long value = atoll(payload_text(msg, text, sizeof(text)));
    s->notifications++;
    printf("notification %u: '%s'\n", s->notifications, text);
    /* Each notification is of a later second; the first may repeat the registration's answer
     * (the client's tick may come late into the second the registration was answered in). */
    if (s->notifications > 1 ? value <= s->last_time : value < s->last_time)
        fail(s, "a notification of /3/0/13 did not carry a later time");
    s->last_time = value;
}

static void on_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    struct server *s = c->data;
    if (s->finished)
        return;
    switch (ev->kind) {
    case ZCOAP_EV_IN_REQUEST:
        on_request(s, &ev->msg);
        return;
    case ZCOAP_EV_OUT_RESPONSE:
        if (ev->tag == OBSERVE_TAG) {
            s->observing = zcoap_uv_client_observing(c, OBSERVE_TAG);
            printf("observe /3/0/13: %s%s '%.*s'\n", zcoap_code_name(ev->msg.code),
                   s->observing ? " with Observe" : " WITHOUT Observe", (int)ev->msg.payload_len,
                   (const char *)ev->msg.payload);
            if (!s->observing)
                fail(s, "the observation of /3/0/13 was not taken");
            char text[32];
            s->last_time = atoll(payload_text(&ev->msg, text, sizeof(text)));
        } else if (s->next_read < READS) {
            on_read_answer(s, &ev->msg);
        }
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
    case ZCOAP_EV_OUT_RESET:
        fail(s, "a request to the client got no answer");
        break;
    case ZCOAP_EV_OBS_NOTIFICATION:
        on_notification(s, &ev->msg);
        break;
    case ZCOAP_EV_OBS_ENDED:
        fail(s, "the client ended the observation");
        break;
    default:
        return;
    }
    fflush(stdout);
}

static bool parse_addr(const char *s, struct sockaddr_storage *out, char *host, size_t cap,
                       int *port)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= cap)
        return false;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = atoi(colon + 1);
    memset(out, 0, sizeof(*out));
    return uv_ip4_addr(host, *port, (struct sockaddr_in *)out) == 0;
}

int main(int argc, char **argv)
{
    struct server *s = &srv;
    struct sockaddr_storage listen_addr, client_addr;
    char host[64];
    int port;
    if (argc < 3 || argc > 4 || !parse_addr(argv[1], &listen_addr, host, sizeof(host), &port) ||
        !parse_addr(argv[2], &client_addr, host, sizeof(host), &port)) {
        fprintf(stderr, "usage: %s LISTEN_ADDR:PORT CLIENT_ADDR:PORT [TIMEOUT_S] (IPv4)\n",
                argv[0]);
        return 2;
    }
    unsigned timeout_s = argc == 4 ? (unsigned)atoi(argv[3]) : DEFAULT_TIMEOUT_S;
    snprintf(s->client_uri, sizeof(s->client_uri), "coap://%s:%d", host, port);
    if (uv_loop_init(&s->loop) != 0)
        return 1;
    uv_timer_init(&s->loop, &s->timeout);
    uv_timer_init(&s->loop, &s->end);
    s->timeout.data = s->end.data = s;
    s->sock.data = s;
    int rc = zcoap_uv_client_init(&s->loop, &s->sock, NULL, on_event);
    s->sock_open = rc == 0;
    if (rc == 0)
        rc = zcoap_uv_client_bind(&s->sock, (const struct sockaddr *)&listen_addr);
    if (rc == 0)
        rc = zcoap_uv_client_connect(&s->sock, (const struct sockaddr *)&client_addr);
    if (rc != 0) {
        fprintf(stderr, "scripted_lwm2m_server: %s\n", zcoap_uv_strerror(rc));
        s->finished = true;
        close_all(s);
    } else {
        printf("listening on %s for the client at %s\n", argv[1], argv[2]);
        fflush(stdout);
        uv_timer_start(&s->timeout, on_timeout, (uint64_t)timeout_s * 1000u, 0);
    }
    uv_run(&s->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&s->loop);
    return rc == 0 && s->n_failures == 0 ? 0 : 1;
}
