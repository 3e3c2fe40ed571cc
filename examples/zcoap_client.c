/*
 * zcoap-client: a command-line CoAP client in the style of libcoap's coap-client, on one libuv
 * loop with the adapter's client endpoint (zcoap_uv_client_t).
 *
 *     zcoap-client [options] URI        (zcoap-client -h lists the options)
 *
 * One request (or a ping) per run: the client resolves the URI's host, connects a UDP socket,
 * sends the request built with the endpoint's builder (the URI's options, then -t/-A/-O, then the
 * payload), retransmits a CON request as RFC 7252 §4.2 says, waits for a piggybacked, separate
 * or NON response (§5.2) and prints its payload on stdout. Block-wise transfers (RFC 7959) are
 * not implemented: a response with more Block2 blocks has its first block printed and a warning.
 * The command line is read by zcoap_client_args.c.
 *
 * -s SECONDS observes the resource instead (RFC 7641, libcoap's -s): the adapter registers (GET
 * with Observe 0), renews the registration when Max-Age passes without a notification, and
 * acknowledges CON notifications; this program prints the registration's answer and every fresh
 * notification, one line each, for SECONDS from when the server took the observation; then it
 * cancels actively (GET with Observe 1, §3.6) and waits for that answer, CANCEL_WAIT_S at most.
 *
 * Exit status, for scripts: 0 a 2.xx response (or the pong of -m ping; with -s, the server took
 * the observation); 1 a 4.xx/5.xx response (with -s also: the registration was answered without
 * Observe, or an error ended the observation); 2 usage error, bad URI, unreadable file, request
 * too large for one message; 3 no answer in time; 4 the peer rejected the request with RST; 5
 * network, resolution or system error.
 *
 * -v prints each datagram on stderr in zcoap's one-line format (zcoap_msg_print, the format of
 * libcoap's -v 7), "->" sent and "<-" received, from the adapter's datagram hook: every datagram
 * exactly as it went on or came off the wire, in that order, including retransmissions (marked)
 * and what the endpoint answers on its own (ACKs, RSTs); then the counters once the client is
 * closed.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zcoap/uv.h"
#include "zcoap_client_args.h"

/* -s: the tag of the one observation, and how long its cancellation's answer is waited for. */
#define OBSERVE_TAG 1u
#define CANCEL_WAIT_S 5u

/* The whole program's state: on the loop, one client, one overall timer. */
struct app {
    struct options opt;
    uv_loop_t loop;
    zcoap_uv_client_t client;
    zcoap_ep_storage_t storage; /* the endpoint's buffers, for a configuration of our own */
    uv_timer_t wait_timer;      /* -B; with -s, then the observation's time, then the cancel's */
    bool client_open, timer_open, finished;
    bool observed;         /* -s: the server took the observation */
    bool cancel_requested; /* -s: the time is over, the cancellation is asked for */
    bool cancel_sent;      /* -s: the GET with Observe 1 went out */
    int status;
    bool awaiting_ack;        /* our CON is out and unanswered (for the timeout's message) */
    bool con_sent;            /* -v: con_mid is the last CON we sent */
    uint16_t con_mid;         /* -v: a CON sent again with it is a retransmission */
    unsigned retransmissions; /* counted by -v */
};

static struct app app; /* static: the client and its buffers are a few kilobytes */

/* ---- -v: one line per datagram --------------------------------------------------------------- */

/* The client's datagram hook: each datagram as it goes out or comes in, never dropped. */
static bool show_datagram(void *ctx, zcoap_uv_datagram_dir_t dir, const struct sockaddr *peer,
                          const uint8_t *p, size_t n)
{
    struct app *a = ctx;
    const char *arrow = dir == ZCOAP_UV_DATAGRAM_OUT ? "->" : "<-";
    char line[8192];
    char note[32] = "";
    zcoap_msg_t msg;
    (void)peer; /* always the one peer of the URI */
    int rc = zcoap_msg_parse(&msg, p, n);
    if (rc != ZCOAP_OK) {
        fprintf(stderr, "%s (%zu bytes, not CoAP: %s)\n", arrow, n, zcoap_strerror(rc));
        return true;
    }
    /* A client sends no CON but its request or ping: the same message ID again is the same
     * message retransmitted (RFC 7252 §4.2, §4.4). */
    if (dir == ZCOAP_UV_DATAGRAM_OUT && msg.type == ZCOAP_TYPE_CON) {
        if (a->con_sent && msg.mid == a->con_mid)
            snprintf(note, sizeof(note), " (retransmission %u)", ++a->retransmissions);
        a->con_sent = true;
        a->con_mid = msg.mid;
    }
    (void)zcoap_msg_print(&msg, line, sizeof(line)); /* a line cut short ends in "..." */
    fprintf(stderr, "%s %s%s\n", arrow, line, note);
    return true;
}

/* The counters, once the client is closed (what its close still sent is in them). */
static void show_stats(const struct app *a)
{
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&a->client);
    fprintf(stderr,
            "stats: %llu datagram(s) out (%u retransmission(s)), %llu in, %llu send "
            "error(s), %llu socket error(s)\n",
            (unsigned long long)st->datagrams_out, a->retransmissions,
            (unsigned long long)st->datagrams_in, (unsigned long long)st->send_errors,
            (unsigned long long)st->recv_errors);
}

/* ---- the exchange ---------------------------------------------------------------------------- */

/* "zcoap-client: WHAT[: DETAIL]" on stderr, unless -q. */
static void say(const struct app *a, const char *what, const char *detail)
{
    if (a->opt.quiet)
        return;
    if (detail != NULL)
        fprintf(stderr, PROGRAM ": %s: %s\n", what, detail);
    else
        fprintf(stderr, PROGRAM ": %s\n", what);
}

/* Everything ends here: the client and our timer close, uv_run() returns. */
static void finish(struct app *a, int status)
{
    if (a->finished)
        return;
    a->finished = true;
    a->status = status;
    zcoap_uv_client_close(&a->client, NULL);
    if (a->timer_open)
        uv_close((uv_handle_t *)&a->wait_timer, NULL);
    a->timer_open = false;
}

/* No answer: a timeout, unless nothing could be sent at all. */
static void no_answer(struct app *a, const char *why)
{
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&a->client);
    if (st->datagrams_out == 0 && st->send_errors > 0) {
        say(a, "cannot send", zcoap_uv_strerror(st->last_error));
        finish(a, STATUS_NETWORK);
        return;
    }
    if (st->recv_errors > 0 && st->last_error != 0 && !a->opt.quiet)
        fprintf(stderr, PROGRAM ": %s (the socket reported: %s)\n", why,
                zcoap_uv_strerror(st->last_error));
    else
        say(a, why, NULL);
    finish(a, STATUS_TIMEOUT);
}

static void on_wait_over(uv_timer_t *t)
{
    struct app *a = t->data;
    char why[64];
    snprintf(why, sizeof(why), "no answer within %lu s", a->opt.wait_s);
    no_answer(a, why);
}

/* 4.04 Not Found; a diagnostic payload (RFC 7252 §5.5.2) other than the reason is added. */
static void print_error_response(const zcoap_msg_t *msg)
{
    const char *reason = zcoap_code_reason(msg->code);
    size_t reason_len = reason != NULL ? strlen(reason) : 0;
    fprintf(stderr, "%s", zcoap_code_name(msg->code));
    if (reason != NULL)
        fprintf(stderr, " %s", reason);
    bool same = msg->payload_len == reason_len &&
                (reason_len == 0 || memcmp(msg->payload, reason, reason_len) == 0);
    if (msg->payload_len > 0 && !same) {
        fputs(": ", stderr);
        fwrite(msg->payload, 1, msg->payload_len, stderr);
    }
    fputc('\n', stderr);
}

static void on_response(struct app *a, const zcoap_msg_t *msg)
{
    if (ZCOAP_CODE_CLASS(msg->code) != 2) {
        if (!a->opt.quiet)
            print_error_response(msg);
        finish(a, STATUS_ERROR_RESPONSE);
        return;
    }
    if (msg->payload_len > 0)
        fwrite(msg->payload, 1, msg->payload_len, stdout);
    if (a->opt.newline)
        putchar('\n');
    fflush(stdout);
    zcoap_block_t block;
    if (zcoap_msg_get_block(msg, ZCOAP_OPT_BLOCK2, &block) == ZCOAP_OK && block.more &&
        !a->opt.quiet)
        fprintf(stderr,
                PROGRAM ": warning: the response comes in blocks (Block2 %u/M/%u); only block "
                        "%u is printed: block-wise transfers (RFC 7959) are not implemented\n",
                (unsigned)block.num, (unsigned)zcoap_block_size(block.szx), (unsigned)block.num);
    finish(a, STATUS_SUCCESS);
}

/* ---- -s: observing ------------------------------------------------------------------------- */

/* One representation, one line on stdout, at once. */
static void print_line(const zcoap_msg_t *msg)
{
    if (msg->payload_len > 0)
        fwrite(msg->payload, 1, msg->payload_len, stdout);
    if (msg->payload_len == 0 || msg->payload[msg->payload_len - 1] != '\n')
        putchar('\n');
    fflush(stdout);
}

static void on_cancel_wait_over(uv_timer_t *t)
{
    struct app *a = t->data;
    say(a, "no answer to the cancellation in time", NULL);
    finish(a, STATUS_SUCCESS); /* the observation was taken: that is what -s reports */
}

/* The time of -s is over: cancel actively (RFC 7641 §3.6); the adapter sends the GET with
 * Observe 1 now, or once a renewal in flight has ended. */
static void on_observe_over(uv_timer_t *t)
{
    struct app *a = t->data;
    a->cancel_requested = true;
    if (zcoap_uv_client_observe_cancel(&a->client, OBSERVE_TAG, true) != 0) {
        finish(a, STATUS_SUCCESS); /* nothing left to cancel */
        return;
    }
    if (!a->finished) {
        unsigned long wait_s = a->opt.wait_s < CANCEL_WAIT_S ? a->opt.wait_s : CANCEL_WAIT_S;
        uv_timer_start(&a->wait_timer, on_cancel_wait_over, (uint64_t)wait_s * 1000u, 0);
    }
}

/* The end of a request of the observation: its registration, a renewal or the cancellation. */
static void on_observe_answer(struct app *a, const zcoap_event_t *ev)
{
    if (a->cancel_requested) {
        /* The cancellation's answer, or that of a renewal it waited for: once nothing is left
         * to cancel, the run is over. */
        if (a->cancel_sent && ev->kind != ZCOAP_EV_OUT_RESPONSE)
            say(a,
                ev->kind == ZCOAP_EV_OUT_RESET ? "the server rejected the cancellation with RST"
                                               : "no answer to the cancellation",
                NULL);
        if (a->cancel_sent || !zcoap_uv_client_observing(&a->client, OBSERVE_TAG))
            finish(a, STATUS_SUCCESS);
        return;
    }
    if (ev->kind == ZCOAP_EV_OUT_RESET) {
        say(a, "the peer rejected the registration with RST", NULL);
        finish(a, STATUS_RESET);
        return;
    }
    if (ev->kind == ZCOAP_EV_OUT_TIMEOUT) {
        no_answer(a,
                  a->awaiting_ack ? "no answer (MAX_RETRANSMIT reached)" : "no response in time");
        return;
    }
    const zcoap_msg_t *msg = &ev->msg;
    if (ZCOAP_CODE_CLASS(msg->code) != 2) {
        if (!a->opt.quiet)
            print_error_response(msg);
        finish(a, STATUS_ERROR_RESPONSE);
        return;
    }
    print_line(msg);
    if (!zcoap_uv_client_observing(&a->client, OBSERVE_TAG)) {
        /* §3.1: a 2.xx without Observe: served, but not observed (or no longer). */
        say(a,
            a->observed ? "the server no longer takes the observation (no Observe)"
                        : "warning: the server did not take the observation (no Observe in "
                          "its answer)",
            NULL);
        finish(a, a->observed ? STATUS_SUCCESS : STATUS_NOT_OBSERVED);
        return;
    }
    if (!a->observed) {
        a->observed = true; /* -s counts from here, as libcoap's does */
        uv_timer_start(&a->wait_timer, on_observe_over, (uint64_t)a->opt.observe_s * 1000u, 0);
    }
}

/* The events of -s (the observation's carry OBSERVE_TAG; -v has printed the datagrams). */
static void on_observe_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    struct app *a = c->data;
    switch (ev->kind) {
    case ZCOAP_EV_OUT_CON_SENT:
        a->awaiting_ack = true;
        if (a->cancel_requested)
            a->cancel_sent = true; /* the GET with Observe 1 (a renewal never follows a cancel) */
        return;
    case ZCOAP_EV_OUT_EMPTY_ACK:
    case ZCOAP_EV_OUT_WRONG_TOKEN:
        a->awaiting_ack = false;
        return;
    case ZCOAP_EV_OUT_RESPONSE:
    case ZCOAP_EV_OUT_RESET:
    case ZCOAP_EV_OUT_TIMEOUT:
        on_observe_answer(a, ev);
        a->awaiting_ack = false;
        return;
    case ZCOAP_EV_OBS_NOTIFICATION:
        print_line(&ev->msg);
        return;
    case ZCOAP_EV_OBS_ENDED: /* §3.2: an error, or a notification without Observe */
        if (a->cancel_requested) {
            finish(a, STATUS_SUCCESS);
        } else if (ZCOAP_CODE_CLASS(ev->msg.code) == 2) {
            print_line(&ev->msg);
            say(a, "the server ended the observation", NULL);
            finish(a, STATUS_SUCCESS);
        } else {
            if (!a->opt.quiet)
                print_error_response(&ev->msg);
            finish(a, STATUS_ERROR_RESPONSE);
        }
        return;
    case ZCOAP_EV_OBS_RENEW: /* the adapter registers again by itself (§3.3.1) */
        if (a->opt.verbose)
            say(a, "no notification for Max-Age: registering again", NULL);
        return;
    case ZCOAP_EV_IN_REQUEST:
        (void)zcoap_ep_respond_rst(zcoap_uv_client_endpoint(c), uv_now(&a->loop));
        return;
    default:
        return;
    }
}

/* What the endpoint reports; -v has printed the datagrams already, from the hook. */
static void on_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    struct app *a = c->data;
    if (a->opt.observe_s > 0) {
        on_observe_event(c, ev);
        return;
    }
    switch (ev->kind) {
    case ZCOAP_EV_OUT_CON_SENT:
    case ZCOAP_EV_OUT_PING_SENT:
        a->awaiting_ack = true; /* an ACK is due (RFC 7252 §4.2) */
        return;
    case ZCOAP_EV_OUT_EMPTY_ACK:   /* RFC 7252 §5.2.2: a separate response will follow */
    case ZCOAP_EV_OUT_WRONG_TOKEN: /* an ACK with our ID but another token: wait on */
        a->awaiting_ack = false;
        return;
    case ZCOAP_EV_OUT_RESPONSE:
        a->awaiting_ack = false;
        on_response(a, &ev->msg);
        return;
    case ZCOAP_EV_OUT_PONG:
        a->awaiting_ack = false;
        printf("pong\n");
        fflush(stdout);
        finish(a, STATUS_SUCCESS);
        return;
    case ZCOAP_EV_OUT_RESET:
        a->awaiting_ack = false;
        say(a, "the peer rejected the request with RST", NULL);
        finish(a, STATUS_RESET);
        return;
    case ZCOAP_EV_OUT_TIMEOUT:
        no_answer(a,
                  a->awaiting_ack ? "no answer (MAX_RETRANSMIT reached)" : "no response in time");
        return;
    case ZCOAP_EV_IN_REQUEST: /* a client serves nothing: reject (RFC 7252 §4.2) */
        (void)zcoap_ep_respond_rst(zcoap_uv_client_endpoint(c), uv_now(&a->loop));
        return;
    default: /* duplicates, pings, malformed datagrams: the endpoint has answered them */
        return;
    }
}

/* Build and send the request: the token of -T or a random one, the URI's options, -t, -A, -O,
 * the payload. */
static void send_request(struct app *a)
{
    const struct options *o = &a->opt;
    zcoap_ep_t *ep = zcoap_uv_client_endpoint(&a->client);
    zcoap_builder_t b;
    int rc = o->token_given
                 ? zcoap_ep_request_begin_token(ep, o->type, o->method, o->token, o->token_len, &b)
                 : zcoap_ep_request_begin(ep, o->type, o->method, &b);
    if (rc != ZCOAP_OK) {
        say(a, "cannot start the request", zcoap_uv_strerror(rc));
        finish(a, STATUS_NETWORK);
        return;
    }
    rc = zcoap_builder_add_uri(&b, o->uri, strlen(o->uri), ZCOAP_URI_OPT_DEFAULT, NULL);
    if (rc == ZCOAP_OK && o->content_format >= 0)
        rc = zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, (uint32_t)o->content_format);
    if (rc == ZCOAP_OK && o->accept >= 0)
        rc = zcoap_builder_add_uint(&b, ZCOAP_OPT_ACCEPT, (uint32_t)o->accept);
    for (size_t i = 0; rc == ZCOAP_OK && i < o->n_extra; i++) {
        const struct extra_option *x = &o->extra[i];
        rc = x->is_uint ? zcoap_builder_add_uint(&b, x->num, x->uint_value)
                        : zcoap_builder_add_opt(&b, x->num, x->bytes, x->len);
        if (rc != ZCOAP_OK && !o->quiet) {
            const char *name = zcoap_opt_name(x->num);
            fprintf(stderr, PROGRAM ": option %u (%s): %s\n", (unsigned)x->num,
                    name != NULL ? name : "unknown", zcoap_strerror(rc));
        }
    }
    if (rc == ZCOAP_OK)
        rc = zcoap_builder_set_payload(&b, o->payload, o->payload_len);
    ptrdiff_t len = zcoap_builder_finish(&b);
    if (len < 0) {
        if (rc == ZCOAP_OK || len == ZCOAP_ENOSPC) /* an option's error is told already */
            say(a, "cannot build the request", zcoap_strerror((int)len));
        if (len == ZCOAP_ENOSPC)
            say(a, "it does not fit one message; block-wise transfers are not implemented", NULL);
        finish(a, STATUS_USAGE);
        return;
    }
    /* A response may take all of -B once the request is acknowledged (separate responses). */
    uint64_t wait_ms = (uint64_t)o->wait_s * 1000u;
    rc = zcoap_ep_request_send(ep, &b, wait_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)wait_ms,
                               uv_now(&a->loop));
    if (rc != ZCOAP_OK) {
        say(a, "cannot send the request", zcoap_uv_strerror(rc));
        finish(a, STATUS_NETWORK);
        return;
    }
    zcoap_uv_client_flush(&a->client); /* out it goes; the SENT event arrives */
}

static void on_connected(zcoap_uv_client_t *c, int status)
{
    struct app *a = c->data;
    if (status != 0) {
        say(a, "cannot reach the host", zcoap_uv_strerror(status));
        finish(a, STATUS_NETWORK);
        return;
    }
    if (a->opt.observe_s > 0) {
        int rc = zcoap_uv_client_observe(c, a->opt.uri, OBSERVE_TAG);
        if (rc != 0) {
            say(a, "cannot observe", zcoap_uv_strerror(rc));
            finish(a, rc == ZCOAP_ENOSPC ? STATUS_USAGE : STATUS_NETWORK); /* the URI's length */
        }
        return;
    }
    if (a->opt.method != METHOD_PING) {
        send_request(a);
        return;
    }
    int rc = zcoap_uv_client_ping(c);
    if (rc != 0) {
        say(a, "cannot send the ping", zcoap_uv_strerror(rc));
        finish(a, STATUS_NETWORK);
    }
}

/* Set up the client and its timer; returns STATUS_SUCCESS or the status to exit with. */
static int start(struct app *a)
{
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, &a->storage); /* rng NULL: the adapter's, the OS source */
    cfg.tx.max_retransmit = (uint8_t)a->opt.max_retransmit;
    cfg.tx.ack_timeout_ms = (uint32_t)a->opt.ack_timeout_ms;
    a->client.data = a;
    int rc = zcoap_uv_client_init(&a->loop, &a->client, &cfg, on_event);
    if (rc != 0) {
        say(a, "cannot start", zcoap_uv_strerror(rc));
        return STATUS_NETWORK;
    }
    a->client_open = true;
    if (a->opt.verbose)
        zcoap_uv_client_set_hook(&a->client, show_datagram, a);
    uv_timer_init(&a->loop, &a->wait_timer);
    a->wait_timer.data = a;
    a->timer_open = true;
    uv_timer_start(&a->wait_timer, on_wait_over, (uint64_t)a->opt.wait_s * 1000u, 0);
    rc = zcoap_uv_client_connect_uri(&a->client, a->opt.uri, on_connected);
    if (rc != 0) {
        say(a, "cannot resolve the host", zcoap_uv_strerror(rc));
        finish(a, STATUS_NETWORK);
    }
    return STATUS_SUCCESS;
}

int main(int argc, char **argv)
{
    struct app *a = &app;
    int rc = parse_command_line(argc, argv, &a->opt);
    if (rc != STATUS_SUCCESS)
        return rc < 0 ? STATUS_SUCCESS : rc;
    if (uv_loop_init(&a->loop) != 0) {
        say(a, "cannot create the loop", NULL);
        return STATUS_NETWORK;
    }
    rc = start(a);
    if (rc == STATUS_SUCCESS) {
        uv_run(&a->loop, UV_RUN_DEFAULT); /* until finish() has closed everything */
        rc = a->status;
    }
    uv_run(&a->loop, UV_RUN_DEFAULT); /* handles closed by a failed start */
    if (a->opt.verbose && a->client_open)
        show_stats(a);
    if (uv_loop_close(&a->loop) != 0)
        say(a, "handles left open on the loop", NULL);
    return rc;
}
