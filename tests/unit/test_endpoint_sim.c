/* Property runs of the endpoint: thousands of seeded random scenarios of two endpoints over the
 * virtual network, with 0-50% loss, duplication, reordering and delay.
 *
 * Node 0's client sends a sequence of CON and NON requests (GET with the request number in the
 * query, POST with it in the payload, the odd ping) to node 1's server, which answers
 * piggybacked, late (separate CON or NON) or with RST; in two-way scenarios node 1 does the same
 * toward node 0 at the same time, so both paths of each endpoint are busy together. Checked
 * after every step of the virtual clock:
 *  - no request reaches a server application twice;
 *  - a response is the response to the request in flight (matched by token);
 *  - every exchange ends (response, reset or timeout) exactly once, no later than the RFC 7252
 *    §4.8.2 bound: MAX_TRANSMIT_WAIT + the response timeout (CON), the response timeout (NON);
 *  - every datagram parses and fits the sender's msg_cap;
 *  - once processed at "now", no endpoint has a deadline at or before "now";
 *  - a response the client took is never answered with RST (its copies get ACKs, §4.5);
 *  - after zcoap_ep_reset() nothing happens any more;
 *  - with no loss and no reordering, every exchange succeeds.
 *
 * ZCOAP_TEST_SEED picks another sequence of scenarios, ZCOAP_TEST_SCALE runs more or fewer, and
 * ZCOAP_SIM_SCENARIO=<seed> replays just the scenario a failure names. */
#include "zcoap_test.h"

#include <stdio.h>
#include <stdlib.h>

#include "virtual_net.h"
#include "zcoap/endpoint.h"

#define MAX_REQUESTS 16
#define RESPONSE_TIMEOUT_MS 20000u
#define START_MS 5000u

/* GOT_BUSY: 5.03 with Max-Age, the request came while the server's application had not yet
 * answered the last one (its client gave up on it, or a lost datagram made the copies cross). */
enum outcome { PENDING = 0, GOT_RESPONSE, GOT_RESET, GOT_TIMEOUT, GOT_PONG, GOT_BUSY };

/* A node's application sending requests to the other node. */
typedef struct client {
    bool enabled;
    int n_requests;
    int next_id;
    uint64_t next_at; /* when to send the next request (ZCOAP_NEVER: not yet due) */
    bool in_flight;
    int cur_id;
    bool cur_ping;
    bool cur_con;
    bool cur_too_big; /* larger than the peer's msg_cap: 4.13 expected */
    uint64_t cur_sent_at;
    uint64_t cur_bound;
    enum outcome outcome[MAX_REQUESTS];
} client_t;

/* A node's application answering the other node's requests. */
typedef struct server {
    int delivered[MAX_REQUESTS];
    bool answer_pending;
    uint64_t answer_at;
    int answer_id;
    bool answer_con;
    bool may_rst;
    /* Separate CON responses go out one at a time, in order (the endpoint queues the second
     * behind the first): ids answered CON, not yet started, and the one in flight. */
    int con_queue[MAX_REQUESTS];
    int con_queued;
    int con_in_flight;
    bool response_reset[MAX_REQUESTS]; /* that response was answered with RST */
} server_t;

typedef struct scenario {
    uint64_t seed;
    vnet_t net;
    zcoap_ep_t ep[VNET_NODES];
    zcoap_ep_config_t cfg[VNET_NODES];
    zcoap_ep_storage_t store[VNET_NODES];
    test_rng_t ep_rng[VNET_NODES];
    test_rng_t rng; /* the applications' choices */
    bool lossless;  /* no loss, no reordering, fixed delay: everything must succeed */
    client_t client[VNET_NODES];
    server_t server[VNET_NODES];
    uint64_t reset_at; /* ZCOAP_NEVER: no reset in this scenario */
    bool reset_done;
} scenario_t;

/* ---- failure reports ----------------------------------------------------------------------- */

static void report(scenario_t *s, const char *what, const char *file, int line)
{
    char log[4096];
    print_error("scenario 0x%llx at t=%llu: %s (replay: ZCOAP_SIM_SCENARIO=0x%llx)\n",
                (unsigned long long)s->seed, (unsigned long long)vnet_now(&s->net), what,
                (unsigned long long)s->seed);
    for (int i = 0; i < VNET_NODES; i++) {
        vnet_format_log(&s->net, i, 0, log, sizeof(log));
        print_error("  node %d log: %s\n", i, log);
    }
    _fail(file, line);
}

#define require(s, cond, what)                                                                     \
    do {                                                                                           \
        if (!(cond))                                                                               \
            report((s), (what), __FILE__, __LINE__);                                               \
    } while (0)

/* ---- timers: each node's one vnet timer serves its client and its server ---------------- */

static void arm(scenario_t *s, int node)
{
    uint64_t c = s->client[node].next_at;
    uint64_t a = s->server[node].answer_pending ? s->server[node].answer_at : ZCOAP_NEVER;
    vnet_set_timer(&s->net, node, c < a ? c : a);
}

/* ---- the client application ---------------------------------------------------------------- */

static void client_send(scenario_t *s, int node)
{
    client_t *c = &s->client[node];
    zcoap_ep_t *ep = &s->ep[node];
    uint64_t now = vnet_now(&s->net);
    int id = c->next_id++;
    c->cur_id = id;
    c->cur_ping = test_rng_chance(&s->rng, 5);
    c->cur_too_big = false;
    if (c->cur_ping) {
        c->cur_con = true;
        require(s, zcoap_ep_ping(ep, now) == ZCOAP_OK, "ping refused");
    } else {
        c->cur_con = test_rng_chance(&s->rng, 70);
        bool post = test_rng_chance(&s->rng, 50);
        zcoap_builder_t b;
        int rc = zcoap_ep_request_begin(ep, c->cur_con ? ZCOAP_TYPE_CON : ZCOAP_TYPE_NON,
                                        post ? ZCOAP_POST : ZCOAP_GET, &b);
        require(s, rc == ZCOAP_OK, "request_begin refused while idle");
        char text[16];
        snprintf(text, sizeof(text), "id=%d", id);
        require(s, zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "sim") == ZCOAP_OK, "path");
        if (post) {
            /* The counter, then filler up to a random size that fits our own buffer but not
             * always the peer's. */
            uint8_t body[700];
            size_t most =
                s->cfg[node].msg_cap - 32 < sizeof(body) ? s->cfg[node].msg_cap - 32 : sizeof(body);
            size_t len = test_rng_range(&s->rng, 8, (uint32_t)most);
            memset(body, '.', len);
            memcpy(body, text, strlen(text));
            require(s, zcoap_builder_set_payload(&b, body, len) == ZCOAP_OK, "payload");
        } else {
            require(s, zcoap_builder_add_str(&b, ZCOAP_OPT_URI_QUERY, text) == ZCOAP_OK, "query");
        }
        ptrdiff_t len = zcoap_builder_finish(&b);
        require(s, len > 0, "request does not build");
        c->cur_too_big = (size_t)len > s->cfg[1 - node].msg_cap;
        rc = zcoap_ep_request_send(ep, &b, RESPONSE_TIMEOUT_MS, now);
        require(s, rc == ZCOAP_OK, "request_send failed");
    }
    c->in_flight = true;
    c->cur_sent_at = now;
    c->cur_bound = c->cur_con ? zcoap_tx_max_transmit_wait_ms(&s->cfg[node].tx) : 0;
    if (!c->cur_ping)
        c->cur_bound += RESPONSE_TIMEOUT_MS;
}

static void client_done(scenario_t *s, int node, enum outcome o)
{
    client_t *c = &s->client[node];
    uint64_t now = vnet_now(&s->net);
    require(s, c->in_flight, "an exchange ended twice, or one that never began");
    require(s, c->outcome[c->cur_id] == PENDING, "exchange already ended");
    require(s, now - c->cur_sent_at <= c->cur_bound, "exchange ended after the bound");
    c->outcome[c->cur_id] = o;
    c->in_flight = false;
    /* Next request after a gap, so that stale copies age out of the peer's ID ring slowly (it
     * remembers 8) and, without loss, our ACK reaches the peer before the next request. */
    if (c->next_id < c->n_requests)
        c->next_at = now + test_rng_range(&s->rng, 300, 1500);
    arm(s, node);
}

static void check_response(scenario_t *s, const client_t *c, const zcoap_msg_t *m)
{
    require(s, !c->cur_ping, "a response to a ping");
    if (c->cur_too_big) {
        require(s, m->code == ZCOAP_REQUEST_ENTITY_TOO_LARGE, "expected 4.13");
        return;
    }
    char want[32];
    snprintf(want, sizeof(want), "ok id=%d", c->cur_id);
    require(s, m->payload_len == strlen(want) && memcmp(m->payload, want, m->payload_len) == 0,
            "the response is not the one to the request in flight");
}

static void client_event(scenario_t *s, int node, const zcoap_event_t *ev)
{
    client_t *c = &s->client[node];
    switch (ev->kind) {
    case ZCOAP_EV_OUT_CON_SENT:
    case ZCOAP_EV_OUT_NON_SENT:
    case ZCOAP_EV_OUT_PING_SENT:
    case ZCOAP_EV_OUT_EMPTY_ACK:
    case ZCOAP_EV_OUT_DUPLICATE_RESPONSE:
        require(s, c->enabled, "outgoing event without requests");
        break;
    case ZCOAP_EV_OUT_RESPONSE:
        require(s, ev->has_msg, "response without message");
        if (ev->msg.code == ZCOAP_SERVICE_UNAVAILABLE) {
            zcoap_opt_t max_age;
            require(s, zcoap_msg_find_opt(&ev->msg, ZCOAP_OPT_MAX_AGE, &max_age),
                    "5.03 without Max-Age");
            client_done(s, node, GOT_BUSY);
            break;
        }
        check_response(s, c, &ev->msg);
        client_done(s, node, GOT_RESPONSE);
        break;
    case ZCOAP_EV_OUT_PONG:
        require(s, c->cur_ping, "pong without ping");
        client_done(s, node, GOT_PONG);
        break;
    case ZCOAP_EV_OUT_RESET:
        client_done(s, node, GOT_RESET);
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
        client_done(s, node, GOT_TIMEOUT);
        break;
    default:
        report(s, zcoap_event_name(ev->kind), __FILE__, __LINE__);
    }
}

/* ---- the server application ---------------------------------------------------------------- */

static int request_id(const zcoap_msg_t *m)
{
    zcoap_opt_t o;
    char text[16] = {0};
    if (m->payload_len > 0)
        memcpy(text, m->payload, m->payload_len < 15 ? m->payload_len : 15);
    else if (zcoap_msg_find_opt(m, ZCOAP_OPT_URI_QUERY, &o))
        memcpy(text, o.val, o.len < 15 ? o.len : 15);
    int id = -1;
    if (sscanf(text, "id=%d", &id) != 1)
        return -1;
    return id;
}

static void server_answer(scenario_t *s, int node, bool confirmable)
{
    server_t *sv = &s->server[node];
    zcoap_ep_t *ep = &s->ep[node];
    zcoap_builder_t b;
    int rc = zcoap_ep_response_begin(ep, ZCOAP_CONTENT, confirmable, &b);
    require(s, rc == ZCOAP_OK, "response_begin refused");
    char text[32];
    snprintf(text, sizeof(text), "ok id=%d", sv->answer_id);
    require(s, zcoap_builder_set_payload(&b, text, strlen(text)) == ZCOAP_OK, "payload");
    require(s, zcoap_ep_response_send(ep, &b, vnet_now(&s->net)) == ZCOAP_OK, "response_send");
    if (((b.buf[0] >> 4) & 0x03u) == ZCOAP_TYPE_CON) {
        require(s, sv->con_queued < MAX_REQUESTS, "CON responses pile up");
        sv->con_queue[sv->con_queued++] = sv->answer_id;
    }
}

static void server_request(scenario_t *s, int node, const zcoap_event_t *ev)
{
    server_t *sv = &s->server[node];
    uint64_t now = vnet_now(&s->net);
    int id = request_id(&ev->msg);
    require(s, id >= 0 && id < s->client[1 - node].n_requests, "request without a valid id");
    require(s, ++sv->delivered[id] == 1, "request delivered to the application twice");
    require(s, !sv->answer_pending, "a request while the last one is unanswered");
    sv->answer_id = id;
    bool con = ev->msg.type == ZCOAP_TYPE_CON;
    uint32_t pick = test_rng_below(&s->rng, 100);
    if (pick < 40) {
        server_answer(s, node, false); /* piggybacked (CON) or NON */
    } else if (pick < 45 && sv->may_rst) {
        require(s, zcoap_ep_respond_rst(&s->ep[node], now) == ZCOAP_OK, "rst");
    } else {
        if (con && pick < 55)
            require(s, zcoap_ep_respond_ack(&s->ep[node], now) == ZCOAP_OK, "respond_ack");
        /* Late: before or after the automatic ACK; separate CON or NON. */
        sv->answer_pending = true;
        sv->answer_con = con ? test_rng_chance(&s->rng, 80) : test_rng_chance(&s->rng, 10);
        sv->answer_at = now + test_rng_range(&s->rng, 1, 3000);
        arm(s, node);
    }
}

static void server_event(scenario_t *s, int node, const zcoap_event_t *ev)
{
    switch (ev->kind) {
    case ZCOAP_EV_IN_REQUEST:
        server_request(s, node, ev);
        break;
    case ZCOAP_EV_IN_CON_RESPONSE_SENT: {
        server_t *sv = &s->server[node];
        require(s, sv->con_queued > 0, "a CON response nobody sent");
        sv->con_in_flight = sv->con_queue[0];
        memmove(&sv->con_queue[0], &sv->con_queue[1], sizeof(int) * (size_t)--sv->con_queued);
        break;
    }
    case ZCOAP_EV_IN_RESET:
        s->server[node].response_reset[s->server[node].con_in_flight] = true;
        break;
    case ZCOAP_EV_IN_DUPLICATE:
    case ZCOAP_EV_IN_REJECTED:
    case ZCOAP_EV_IN_ACK_SENT:
    case ZCOAP_EV_IN_SUCCESS:
    case ZCOAP_EV_IN_RST_SENT:
    case ZCOAP_EV_IN_TIMEOUT:
    case ZCOAP_EV_IN_BUSY:
        break;
    default:
        report(s, zcoap_event_name(ev->kind), __FILE__, __LINE__);
    }
}

/* ---- vnet hooks ---------------------------------------------------------------------------- */

static void on_event(vnet_t *n, int node, const zcoap_event_t *ev, void *ctx)
{
    scenario_t *s = ctx;
    (void)n;
    require(s, !s->reset_done, "event after reset");
    switch (zcoap_event_channel(ev->kind)) {
    case ZCOAP_CH_OUTGOING:
        client_event(s, node, ev);
        break;
    case ZCOAP_CH_INCOMING:
        server_event(s, node, ev);
        break;
    case ZCOAP_CH_ENDPOINT:
        /* Pings are answered, and stale copies are unhandled; nothing
         * on this link is malformed. */
        require(s, ev->kind == ZCOAP_EV_PING_ANSWERED || ev->kind == ZCOAP_EV_UNHANDLED,
                zcoap_event_name(ev->kind));
        break;
    }
}

static void on_timer(vnet_t *n, int node, void *ctx)
{
    scenario_t *s = ctx;
    uint64_t now = vnet_now(n);
    client_t *c = &s->client[node];
    server_t *sv = &s->server[node];
    if (sv->answer_pending && sv->answer_at <= now) {
        sv->answer_pending = false;
        server_answer(s, node, sv->answer_con);
    }
    if (c->next_at <= now) {
        c->next_at = ZCOAP_NEVER;
        if (c->enabled && !c->in_flight && c->next_id < c->n_requests)
            client_send(s, node);
    }
    arm(s, node);
}

/* Every datagram on the wire is well-formed and fits the sender's buffer. */
static void on_send(vnet_t *n, int node, const uint8_t *data, size_t len, void *ctx)
{
    scenario_t *s = ctx;
    (void)n;
    require(s, !s->reset_done, "datagram after reset");
    require(s, len <= s->cfg[node].msg_cap, "datagram larger than msg_cap");
    zcoap_msg_t m;
    require(s, zcoap_msg_parse(&m, data, len) == ZCOAP_OK, "endpoint sent a malformed datagram");
}

/* ---- one scenario -------------------------------------------------------------------------- */

static void random_link(scenario_t *s, vnet_link_t *l)
{
    memset(l, 0, sizeof(*l));
    l->delay_min_ms = test_rng_range(&s->rng, 0, 300);
    if (s->lossless) {
        l->delay_max_ms = l->delay_min_ms;
        l->dup_pct = test_rng_chance(&s->rng, 50) ? test_rng_range(&s->rng, 0, 30) : 0;
        return;
    }
    l->delay_max_ms = test_rng_range(&s->rng, l->delay_min_ms, 300);
    l->loss_pct = test_rng_range(&s->rng, 0, 50);
    l->dup_pct = test_rng_range(&s->rng, 0, 30);
    l->reorder_pct = test_rng_range(&s->rng, 0, 30);
    l->reorder_ms = test_rng_range(&s->rng, 1, 1000);
}

static void setup_endpoint(scenario_t *s, int i)
{
    zcoap_ep_config_default(&s->cfg[i], &s->store[i]);
    test_rng_seed(&s->ep_rng[i], test_rng_next(&s->rng));
    s->cfg[i].rng = vnet_rng;
    s->cfg[i].rng_ctx = &s->ep_rng[i];
    s->cfg[i].tx.ack_timeout_ms = test_rng_range(&s->rng, 1500, 3000);
    s->cfg[i].tx.ack_random_factor_permil = (uint16_t)test_rng_range(&s->rng, 1000, 2000);
    s->cfg[i].tx.max_retransmit = (uint8_t)test_rng_range(&s->rng, 0, 4);
    /* 4+ random bytes: a stale response matching by accident is a 2^-32 event */
    s->cfg[i].token_len = (uint8_t)test_rng_range(&s->rng, 4, 8);
    const size_t caps[] = {128, 256, 512, ZCOAP_MAX_MSG_SIZE};
    s->cfg[i].msg_cap = caps[test_rng_below(&s->rng, 4)];
    s->cfg[i].resp_slots = test_rng_range(&s->rng, 1, ZCOAP_EP_DEFAULT_RESP_SLOTS);
    require(s, zcoap_ep_init(&s->ep[i], &s->cfg[i], START_MS) == ZCOAP_OK, "init");
}

static void check_step(scenario_t *s)
{
    for (int i = 0; i < VNET_NODES; i++) {
        const vnet_node_t *nd = &s->net.node[i];
        require(s, nd->past_deadline == 0, "a deadline at or before now after processing");
        require(s, nd->oversized == 0, "datagram larger than msg_cap");
        require(s, nd->datagram_errs == 0, "zcoap_ep_next_datagram failed");
        require(s, nd->stuck == 0, "endpoint never settles");
    }
    for (int i = 0; i < VNET_NODES; i++) {
        const client_t *c = &s->client[i];
        if (c->in_flight)
            require(s, vnet_now(&s->net) <= c->cur_sent_at + c->cur_bound,
                    "exchange still open after the bound");
    }
}

/* Some application has something left to do. */
static bool busy(const scenario_t *s)
{
    for (int i = 0; i < VNET_NODES; i++) {
        const client_t *c = &s->client[i];
        if (c->in_flight || (c->enabled && c->next_id < c->n_requests) ||
            s->server[i].answer_pending)
            return true;
    }
    return false;
}

static void do_reset(scenario_t *s)
{
    s->reset_done = true;
    for (int i = 0; i < VNET_NODES; i++) {
        zcoap_ep_reset(&s->ep[i], vnet_now(&s->net));
        vnet_set_timer(&s->net, i, ZCOAP_NEVER);
    }
    vnet_drop_in_flight(&s->net);
    for (int i = 0; i < VNET_NODES; i++) {
        s->client[i].in_flight = false;
        s->client[i].next_at = ZCOAP_NEVER;
        s->server[i].answer_pending = false;
    }
    size_t logs[2] = {s->net.node[0].log_len, s->net.node[1].log_len};
    size_t sent[2] = {s->net.node[0].sent, s->net.node[1].sent};
    require(s, vnet_run_idle(&s->net, vnet_now(&s->net) + 400000), "timers run on after reset");
    for (int i = 0; i < VNET_NODES; i++) {
        require(s, s->net.node[i].log_len == logs[i], "event after reset");
        require(s, s->net.node[i].sent == sent[i], "datagram after reset");
        require(s, zcoap_ep_is_idle(&s->ep[i]), "not idle after reset");
        require(s, zcoap_ep_next_deadline(&s->ep[i]) == ZCOAP_NEVER, "deadline after reset");
    }
}

typedef struct totals {
    size_t scenarios, two_way, requests, responses, resets, timeouts, pongs, busy, lossless;
    size_t duplicates; /* duplicate requests the server's endpoint absorbed */
} totals_t;

static void tally(scenario_t *s, int node, bool check_copies_acked, totals_t *t)
{
    const client_t *c = &s->client[node];
    const server_t *peer = &s->server[1 - node];
    for (int id = 0; id < c->n_requests; id++) {
        /* RFC 7252 §4.5: the client took the response, so every copy of it gets an ACK; a RST
         * would tell the server the response was rejected. */
        if (check_copies_acked && c->outcome[id] == GOT_RESPONSE && peer->response_reset[id])
            report(s, "the client took a response and then answered a copy of it with RST",
                   __FILE__, __LINE__);
        if (s->lossless && !s->reset_done && c->outcome[id] != GOT_RESPONSE &&
            c->outcome[id] != GOT_PONG)
            report(s, "a lossless exchange did not succeed", __FILE__, __LINE__);
        t->requests += c->outcome[id] != PENDING;
        t->responses += c->outcome[id] == GOT_RESPONSE;
        t->resets += c->outcome[id] == GOT_RESET;
        t->timeouts += c->outcome[id] == GOT_TIMEOUT;
        t->pongs += c->outcome[id] == GOT_PONG;
        t->busy += c->outcome[id] == GOT_BUSY;
    }
    t->duplicates += vnet_count_events(&s->net, 1 - node, ZCOAP_EV_IN_DUPLICATE);
}

static void run_scenario(scenario_t *s, uint64_t seed, bool check_copies_acked, totals_t *t)
{
    memset(s, 0, sizeof(*s));
    s->seed = seed;
    test_rng_seed(&s->rng, seed);
    s->lossless = test_rng_chance(&s->rng, 25);
    bool two_way = test_rng_chance(&s->rng, 40);
    s->reset_at =
        test_rng_chance(&s->rng, 15) ? START_MS + test_rng_range(&s->rng, 0, 30000) : ZCOAP_NEVER;
    vnet_init(&s->net, test_rng_next(&s->rng), START_MS);
    vnet_app_t app = {on_event, on_timer, on_send, s};
    for (int i = 0; i < VNET_NODES; i++) {
        client_t *c = &s->client[i];
        c->enabled = i == 0 || two_way;
        c->n_requests = c->enabled ? (int)test_rng_range(&s->rng, 1, MAX_REQUESTS) : 0;
        c->next_at = c->enabled ? START_MS + test_rng_below(&s->rng, 1000) : ZCOAP_NEVER;
        s->server[i].may_rst = !s->lossless && test_rng_chance(&s->rng, 50);
        setup_endpoint(s, i);
        vnet_attach(&s->net, i, &s->ep[i]);
        vnet_link_t l;
        random_link(s, &l);
        vnet_set_link(&s->net, i, &l);
        vnet_set_app(&s->net, i, &app);
        arm(s, i);
    }

    /* Far beyond what the requests can take: each ends within its bound plus a gap. */
    uint64_t limit = START_MS + (uint64_t)MAX_REQUESTS * 200000u;
    while (busy(s)) {
        if (s->reset_at != ZCOAP_NEVER && vnet_now(&s->net) >= s->reset_at) {
            do_reset(s);
            break;
        }
        bool more = vnet_step(&s->net, s->reset_at < limit ? s->reset_at : limit);
        check_step(s);
        if (!more && s->reset_at == ZCOAP_NEVER)
            break;
    }
    if (!s->reset_done) {
        /* Let every window and retransmission run out: the endpoints must go quiet. */
        bool quiet = vnet_run_idle(&s->net, vnet_now(&s->net) + 1000000);
        check_step(s);
        require(s, quiet, "endpoints never go quiet");
        for (int i = 0; i < VNET_NODES; i++) {
            require(s, zcoap_ep_is_idle(&s->ep[i]), "endpoint not idle at the end");
            for (int id = 0; id < s->client[i].n_requests; id++)
                require(s, s->client[i].outcome[id] != PENDING, "an exchange never ended");
        }
    }
    for (int i = 0; i < VNET_NODES; i++)
        tally(s, i, check_copies_acked, t);
    t->scenarios++;
    t->two_way += two_way;
    t->lossless += s->lossless;
    vnet_free(&s->net);
}

static void run_all(scenario_t *s, bool check_copies_acked)
{
    test_rng_t seeds;
    test_rng_seed(&seeds, test_rng_seed_from_env(0x5ca1ab1e));
    size_t n = test_scaled_count(4000);
    totals_t t = {0};
    const char *one = getenv("ZCOAP_SIM_SCENARIO");
    if (one != NULL && *one != '\0') {
        run_scenario(s, (uint64_t)strtoull(one, NULL, 0), check_copies_acked, &t);
        return;
    }
    for (size_t i = 0; i < n; i++)
        run_scenario(s, test_rng_next(&seeds), check_copies_acked, &t);
    print_message(
        "%zu scenarios (%zu two-way, %zu lossless): %zu exchanges, %zu responses, "
        "%zu pongs, %zu resets, %zu timeouts, %zu busy; %zu duplicate requests absorbed\n",
        t.scenarios, t.two_way, t.lossless, t.requests, t.responses, t.pongs, t.resets, t.timeouts,
        t.busy, t.duplicates);
    /* The runs covered every way an exchange ends, and duplicates did reach the server. */
    assert_true(t.duplicates > 0 || n < 100);
    assert_true(t.responses > 0);
    assert_true(t.timeouts > 0 || n < 100);
    assert_true(t.resets > 0 || n < 100);
    assert_true(t.pongs > 0 || n < 100);
    assert_true(t.busy > 0 || n < 100);
}

/* Every invariant of the file comment but the next one. */
static void random_scenarios(void **state)
{
    run_all(*state, false);
}

/* The same scenarios, also checking that the copies of a response the client took are
 * acknowledged rather than reset (RFC 7252 §4.5), after the client moved on to its next request. */
static void copies_of_taken_responses_are_acked(void **state)
{
    run_all(*state, true);
}

/* A failing check leaves its scenario behind: the teardown frees it. */
static int setup(void **state)
{
    scenario_t *s = calloc(1, sizeof(*s));
    *state = s;
    return s == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    scenario_t *s = *state;
    vnet_free(&s->net);
    free(s);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(random_scenarios, setup, teardown),
        cmocka_unit_test_setup_teardown(copies_of_taken_responses_are_acked, setup, teardown),
    };
    return cmocka_run_group_tests_name("endpoint_sim", tests, NULL, NULL);
}
