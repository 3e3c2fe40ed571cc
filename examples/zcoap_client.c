/*
 * zcoap-client: a command-line CoAP client in the style of libcoap's coap-client, on one libuv
 * loop with the adapter's client endpoint (zcoap_uv_client_t).
 *
 *     zcoap-client [options] URI        (zcoap-client -h lists the options)
 *
 * One request (or a ping) per run: the client resolves the URI's host, connects a UDP socket and
 * sends the request as a block-wise transfer (RFC 7959, zcoap_uv_client_transfer_begin/_send):
 * the URI's options, then -t/-A/-O, repeated on every request of the transfer; a body (-e, -f)
 * larger than one block (1024 bytes, the most that fits a message, or -b SIZE) goes in Block1
 * blocks, a regular -f file read block by block with pread (any size, never loaded whole),
 * standard input read into memory first (STDIN_BODY_MAX); an answer in Block2 blocks is fetched
 * block by block (early negotiation with -b, random access to one block with -b NUM,SIZE) and
 * each slice written as it comes, to stdout or at its offset in the -o FILE. Each request is
 * retransmitted as RFC 7252 §4.2 says and may get a piggybacked, separate or NON response
 * (§5.2). -T keeps the older path: one request with that token, no block-wise transfer (an
 * answer in blocks has its first block printed and a warning). The command line is read by
 * zcoap_client_args.c.
 *
 * -s SECONDS observes the resource instead (RFC 7641, libcoap's -s): the adapter registers (GET
 * with Observe 0), renews the registration when Max-Age passes without a notification, and
 * acknowledges CON notifications; this program prints the registration's answer and every fresh
 * notification, one line each, for SECONDS from when the server took the observation; then it
 * cancels actively (GET with Observe 1, §3.6) and waits for that answer, CANCEL_WAIT_S at most.
 *
 * Exit status, for scripts: 0 a 2.xx response (or the pong of -m ping; with -s, the server took
 * the observation); 1 a 4.xx/5.xx response (with -s also: the registration was answered without
 * Observe, or an error ended the observation); 2 usage error, bad URI, unreadable file, options
 * too long to repeat on every block, with -T a request too large for one message; 3 no answer in
 * time (-B without an answer, or MAX_RETRANSMIT reached); 4 the peer rejected the request with
 * RST; 5 network, resolution or system error (also a -f file that cannot be read or a -o file
 * that cannot be written mid-transfer); 6 a block-wise transfer broke off: the representation
 * changed between blocks (another ETag; with a -o regular file the download starts again
 * instead, ZCOAP_TRANSFER_MAX_RESTARTS times) or the server broke RFC 7959.
 *
 * -v prints each datagram on stderr in zcoap's one-line format (zcoap_msg_print, the format of
 * libcoap's -v 7), "->" sent and "<-" received, from the adapter's datagram hook: every datagram
 * exactly as it went on or came off the wire, in that order, including retransmissions (marked)
 * and what the endpoint answers on its own (ACKs, RSTs); then the counters once the client is
 * closed.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    /* The answer of a transfer: standard output, or the -o FILE opened when the answer comes. */
    bool out_opened;
    int out_fd;          /* the -o FILE, or -1 for standard output */
    bool out_seekable;   /* a regular file: each slice written at its offset (pwrite) */
    bool restartable;    /* -o names a regular file: an ETag change starts the download again */
    bool out_base_known; /* -b NUM,SIZE: the file starts at the block's first byte */
    size_t out_base;
    size_t out_end;  /* bytes of the representation written, from out_base */
    int read_errno;  /* the -f file's read error, if any */
    bool file_short; /* the -f file ended before its size at the start */
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
    if (a->out_fd >= 0)
        (void)close(a->out_fd); /* a run that failed: what was written stays */
    a->out_fd = -1;
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

/* ICMP port unreachable ended the request: a network error, not a timeout. */
static void unreachable(struct app *a)
{
    say(a, "nobody listens at the server's port (ICMP port unreachable)", NULL);
    finish(a, STATUS_NETWORK);
}

/* A request event ended without an answer. */
static void no_answer_to(struct app *a, const zcoap_event_t *ev)
{
    if (ev->err == ZCOAP_EUNREACHABLE)
        unreachable(a);
    else
        no_answer(a,
                  a->awaiting_ack ? "no answer (MAX_RETRANSMIT reached)" : "no response in time");
}

/* -B in milliseconds, as the endpoint takes a response timeout. */
static uint32_t wait_ms(const struct options *o)
{
    uint64_t ms = (uint64_t)o->wait_s * 1000u;
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
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
                        "%u is printed: -T disables block-wise transfers (RFC 7959)\n",
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
        no_answer_to(a, ev);
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
    case ZCOAP_EV_OUT_WRONG_TOKEN: /* not ours: the request goes again under a new MID */
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
        no_answer_to(a, ev);
        return;
    case ZCOAP_EV_IN_REQUEST: /* a client serves nothing: reject (RFC 7252 §4.2) */
        (void)zcoap_ep_respond_rst(zcoap_uv_client_endpoint(c), uv_now(&a->loop));
        return;
    default: /* duplicates, pings, malformed datagrams: the endpoint has answered them */
        return;
    }
}

/* -t, -A and -O into the request begun in @p b (after the URI's options); the builder's first
 * error (an -O that did not fit is named on stderr). */
static int add_request_options(const struct options *o, zcoap_builder_t *b)
{
    int rc = ZCOAP_OK;
    if (o->content_format >= 0)
        rc = zcoap_builder_add_uint(b, ZCOAP_OPT_CONTENT_FORMAT, (uint32_t)o->content_format);
    if (rc == ZCOAP_OK && o->accept >= 0)
        rc = zcoap_builder_add_uint(b, ZCOAP_OPT_ACCEPT, (uint32_t)o->accept);
    for (size_t i = 0; rc == ZCOAP_OK && i < o->n_extra; i++) {
        const struct extra_option *x = &o->extra[i];
        rc = x->is_uint ? zcoap_builder_add_uint(b, x->num, x->uint_value)
                        : zcoap_builder_add_opt(b, x->num, x->bytes, x->len);
        if (rc != ZCOAP_OK && !o->quiet) {
            const char *name = zcoap_opt_name(x->num);
            fprintf(stderr, PROGRAM ": option %u (%s): %s\n", (unsigned)x->num,
                    name != NULL ? name : "unknown", zcoap_strerror(rc));
        }
    }
    return rc;
}

/* -T: build and send one request: the token of -T, the URI's options, -t, -A, -O, the payload.
 * No block-wise transfer, since each of its requests has a fresh token. */
static void send_request(struct app *a)
{
    const struct options *o = &a->opt;
    zcoap_ep_t *ep = zcoap_uv_client_endpoint(&a->client);
    zcoap_builder_t b;
    int rc = zcoap_ep_request_begin_token(ep, o->type, o->method, o->token, o->token_len, &b);
    if (rc != ZCOAP_OK) {
        say(a, "cannot start the request", zcoap_uv_strerror(rc));
        finish(a, STATUS_NETWORK);
        return;
    }
    rc = zcoap_builder_add_uri(&b, o->uri, strlen(o->uri), ZCOAP_URI_OPT_DEFAULT, NULL);
    int opt_rc = rc == ZCOAP_OK ? add_request_options(o, &b) : rc;
    if (opt_rc == ZCOAP_OK)
        rc = zcoap_builder_set_payload(&b, o->payload, o->payload_len);
    ptrdiff_t len = zcoap_builder_finish(&b);
    if (len < 0) {
        if (opt_rc == ZCOAP_OK || len == ZCOAP_ENOSPC) /* an option's error is told already */
            say(a, "cannot build the request", zcoap_strerror((int)len));
        if (len == ZCOAP_ENOSPC)
            say(a, "it does not fit one message, which -T needs: it disables block-wise transfers",
                NULL);
        finish(a, STATUS_USAGE);
        return;
    }
    /* A response may take all of -B once the request is acknowledged (separate responses). */
    rc = zcoap_ep_request_send(ep, &b, wait_ms(o), uv_now(&a->loop));
    if (rc != ZCOAP_OK) {
        say(a, "cannot send the request", zcoap_uv_strerror(rc));
        finish(a, STATUS_NETWORK);
        return;
    }
    zcoap_uv_client_flush(&a->client); /* out it goes; the SENT event arrives */
}

/* ---- block-wise transfers (RFC 7959) --------------------------------------------------------- */

/* The transfer's read callback for a regular -f file: @p len bytes at @p offset, as the block
 * that carries them is built; fewer when the file has shrunk (the transfer then fails). */
static ptrdiff_t read_body(void *ctx, size_t offset, uint8_t *out, size_t len)
{
    struct app *a = ctx;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(a->opt.body_fd, out + done, len - done, (off_t)(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            a->read_errno = errno;
            return uv_translate_sys_error(errno);
        }
        if (n == 0) {
            a->file_short = true;
            break;
        }
        done += (size_t)n;
    }
    return (ptrdiff_t)done;
}

/* Whether -o names a regular file (or one to create), which can be emptied and written again
 * when the representation changes mid-download; standard output and pipes cannot. */
static bool output_restartable(const struct options *o)
{
    struct stat st;
    if (o->output_path == NULL)
        return false;
    if (stat(o->output_path, &st) != 0)
        return errno == ENOENT;
    return S_ISREG(st.st_mode);
}

/* Open the -o FILE (created or emptied) once the answer comes; 0 or a libuv error. */
static int output_open(struct app *a)
{
    if (a->out_opened)
        return 0;
    a->out_opened = true;
    if (a->opt.output_path == NULL)
        return 0; /* standard output, through stdio */
    int fd = open(a->opt.output_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int err = uv_translate_sys_error(errno);
        if (fd >= 0)
            (void)close(fd);
        return err;
    }
    a->out_fd = fd;
    a->out_seekable = S_ISREG(st.st_mode);
    return 0;
}

/* Write @p n bytes of the representation found at @p offset (from out_base): at that offset in
 * a regular -o FILE, else in order (slices come without gaps). 0 or a libuv error. */
static int output_write(struct app *a, const uint8_t *p, size_t n, size_t offset)
{
    int rc = output_open(a);
    if (rc != 0)
        return rc;
    if (offset + n > a->out_end)
        a->out_end = offset + n;
    if (a->out_fd < 0) {
        if (n > 0 && fwrite(p, 1, n, stdout) != n)
            return UV_EIO;
        return 0;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = a->out_seekable ? pwrite(a->out_fd, p + done, n - done, (off_t)(offset + done))
                                    : write(a->out_fd, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return uv_translate_sys_error(errno);
        done += (size_t)w;
    }
    return 0;
}

/* The final response of a transfer: its 2.xx payload has been written slice by slice. */
static void on_transfer_done(struct app *a, const zcoap_msg_t *msg)
{
    if (ZCOAP_CODE_CLASS(msg->code) != 2) {
        if (!a->opt.quiet)
            print_error_response(msg);
        finish(a, STATUS_ERROR_RESPONSE);
        return;
    }
    int rc = output_open(a); /* an empty representation still makes an empty -o FILE */
    if (rc == 0 && a->opt.newline)
        rc = output_write(a, (const uint8_t *)"\n", 1, a->out_end);
    if (rc == 0 && a->out_fd < 0 && fflush(stdout) != 0)
        rc = UV_EIO;
    if (rc == 0 && a->out_fd >= 0) {
        int fd = a->out_fd;
        a->out_fd = -1;
        if (close(fd) != 0)
            rc = uv_translate_sys_error(errno);
    }
    if (rc != 0) {
        say(a, a->opt.output_path != NULL ? a->opt.output_path : "standard output",
            zcoap_uv_strerror(rc));
        finish(a, STATUS_NETWORK);
        return;
    }
    finish(a, STATUS_SUCCESS);
}

/* The end of a transfer without a final response. */
static void on_transfer_failed(struct app *a, const zcoap_uv_transfer_report_t *r)
{
    const char *file = a->opt.body_path != NULL ? a->opt.body_path : "the body";
    switch (r->status) {
    case ZCOAP_ETIMEOUT:
        no_answer(a, "no answer in time (MAX_RETRANSMIT reached, or no separate response)");
        return;
    case ZCOAP_EUNREACHABLE:
        unreachable(a);
        return;
    case ZCOAP_ERESET:
        say(a, "the peer rejected the request with RST", NULL);
        finish(a, STATUS_RESET);
        return;
    case ZCOAP_ECHANGED:
        say(a,
            a->restartable ? "the representation kept changing during the download (another "
                             "ETag between blocks, after every new start)"
                           : "the representation changed during the download (another ETag "
                             "between blocks); with -o FILE the download would start again",
            NULL);
        finish(a, STATUS_TRANSFER);
        return;
    case ZCOAP_EPROTO:
        say(a,
            "the server broke the block-wise protocol (RFC 7959): an answer with a block not "
            "asked for",
            NULL);
        finish(a, STATUS_TRANSFER);
        return;
    default:
        break;
    }
    if (a->file_short) {
        say(a, file, "shorter now than when the transfer started");
    } else if (a->read_errno != 0) {
        say(a, file, strerror(a->read_errno));
    } else if (r->status == ZCOAP_ERANGE) {
        say(a, "the transfer needs more than 2^20 blocks (RFC 7959 §2.2): use a larger -b", NULL);
        finish(a, STATUS_TRANSFER);
        return;
    } else {
        say(a, "the transfer failed", zcoap_uv_strerror(r->status));
    }
    finish(a, STATUS_NETWORK);
}

/* Reports of the transfer: slices of the answer, and its end. Every report comes from an
 * answer, so each starts the -B wait again. */
static void on_transfer(zcoap_uv_client_t *c, void *ctx, const zcoap_uv_transfer_report_t *r)
{
    struct app *a = ctx;
    (void)c;
    if (a->timer_open)
        uv_timer_start(&a->wait_timer, on_wait_over, (uint64_t)a->opt.wait_s * 1000u, 0);
    int rc = 0;
    switch (r->kind) {
    case ZCOAP_UV_TRANSFER_DATA:
        if (a->opt.block_single && !a->out_base_known) {
            a->out_base = r->offset; /* the one block asked for: written from its first byte */
            a->out_base_known = true;
        }
        rc = output_write(a, r->data, r->len, r->offset - a->out_base);
        break;
    case ZCOAP_UV_TRANSFER_RESTARTED: /* only with a regular -o FILE (restart_on_etag_change) */
        say(a, "the representation changed (another ETag): downloading it again", NULL);
        a->out_end = 0;
        if (a->out_fd >= 0 && ftruncate(a->out_fd, 0) != 0)
            rc = uv_translate_sys_error(errno);
        break;
    case ZCOAP_UV_TRANSFER_PROGRESS:
        break;
    case ZCOAP_UV_TRANSFER_DONE:
        on_transfer_done(a, r->msg);
        return;
    case ZCOAP_UV_TRANSFER_FAILED:
        on_transfer_failed(a, r);
        return;
    }
    if (rc != 0) {
        say(a, a->opt.output_path != NULL ? a->opt.output_path : "standard output",
            zcoap_uv_strerror(rc));
        finish(a, STATUS_NETWORK); /* closing the client ends the transfer: no more reports */
    }
}

/* The request as a block-wise transfer: the URI's options, -t, -A, -O on every request; the
 * body from -e or -f; -b for the block sizes and random access; -B for separate responses. */
static void start_transfer(struct app *a)
{
    const struct options *o = &a->opt;
    zcoap_builder_t b;
    int rc = zcoap_uv_client_transfer_begin(&a->client, o->type, o->method, o->uri, &b);
    if (rc == ZCOAP_OK && add_request_options(o, &b) != ZCOAP_OK) {
        finish(a, STATUS_USAGE); /* told already; closing drops the request begun */
        return;
    }
    if (rc == ZCOAP_OK) {
        zcoap_transfer_params_t params;
        memset(&params, 0, sizeof(params));
        params.block1_szx = o->block_given ? o->block_szx : ZCOAP_TRANSFER_SZX_AUTO;
        params.block2_szx = o->block_given ? o->block_szx : ZCOAP_TRANSFER_SZX_AUTO;
        params.block2_single = o->block_single;
        params.block2_num = o->block_num;
        params.restart_on_etag_change = a->restartable;
        if (o->body_fd >= 0) {
            params.read = read_body;
            params.read_ctx = a;
            params.body_len = o->body_size;
        } else {
            params.body = o->payload;
            params.body_len = o->payload_len;
        }
        rc = zcoap_uv_client_transfer_send(&a->client, &b, &params, wait_ms(o), on_transfer, a);
    }
    if (rc == 0)
        return;
    if (a->file_short || a->read_errno != 0) {
        say(a, o->body_path, a->file_short ? "shorter than its size" : strerror(a->read_errno));
        finish(a, STATUS_NETWORK);
    } else if (rc == ZCOAP_ENOSPC) {
        fprintf(stderr,
                PROGRAM ": the request's options do not fit: every block repeats them, in %u "
                        "bytes at most\n",
                (unsigned)ZCOAP_UV_CLIENT_TRANSFER_OPTIONS_SIZE);
        finish(a, STATUS_USAGE);
    } else {
        say(a, "cannot send the request", zcoap_uv_strerror(rc));
        finish(a, rc == ZCOAP_EINVAL || (rc <= ZCOAP_EURI_SCHEME && rc >= ZCOAP_EURI_SYNTAX)
                      ? STATUS_USAGE
                      : STATUS_NETWORK);
    }
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
        if (a->opt.token_given)
            send_request(a);
        else
            start_transfer(a);
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
    a->out_fd = -1;
    a->restartable = output_restartable(&a->opt);
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
        release_command_line(&a->opt);
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
    release_command_line(&a->opt);
    return rc;
}
