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
 *
 * Exit status, for scripts: 0 a 2.xx response (or the pong of -m ping); 1 a 4.xx/5.xx response;
 * 2 usage error, bad URI, unreadable file, request too large for one message; 3 no answer in
 * time; 4 the peer rejected the request with RST; 5 network, resolution or system error.
 *
 * -v prints each datagram on stderr in zcoap's one-line format (zcoap_msg_print, the format of
 * libcoap's -v 7). The adapter has no hook that shows datagrams, so the lines come from the
 * endpoint's events: what was received rides on them, and what was sent is known exactly (our
 * request in the buffer we gave the endpoint; the Empty ACK or RST the endpoint answers with).
 * Datagrams the endpoint sends on its own timer are retransmissions of the request: they are
 * found by comparing the adapter's send counter with the lines printed, before each poll.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcoap/uv.h"

/* Exit statuses (see the file comment and --help). */
enum status {
    STATUS_SUCCESS = 0,
    STATUS_ERROR_RESPONSE = 1,
    STATUS_USAGE = 2,
    STATUS_TIMEOUT = 3,
    STATUS_RESET = 4,
    STATUS_NETWORK = 5
};

#define PROGRAM "zcoap-client"
#define MAX_EXTRA_OPTIONS 32
#define METHOD_PING 0 /* -m ping: an Empty CON rather than a request code */

/* An option from -O, checked and decoded when the command line is read. */
struct extra_option {
    uint16_t num;
    bool is_uint;
    uint32_t uint_value;
    const uint8_t *bytes; /* into argv (text) or into the hex pool */
    size_t len;
};

/* What the command line asks for. */
struct options {
    const char *uri;
    uint8_t method; /* ZCOAP_GET ... ZCOAP_IPATCH, or METHOD_PING */
    uint8_t type;   /* ZCOAP_TYPE_CON or ZCOAP_TYPE_NON */
    const uint8_t *payload;
    size_t payload_len;
    long content_format; /* -1: none */
    long accept;         /* -1: none */
    struct extra_option extra[MAX_EXTRA_OPTIONS];
    size_t n_extra;
    bool token_given;
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    size_t token_len;
    unsigned long wait_s;
    unsigned long max_retransmit;
    unsigned long ack_timeout_ms;
    bool newline;
    bool verbose;
    bool quiet;
};

/* The endpoint's random source, which also hands out the token of -T: the endpoint takes the
 * token of a request from its rng (RFC 7252 §5.3.1), so it matches the response against it. */
struct token_source {
    const uint8_t *token;
    size_t len;
    bool armed; /* only around zcoap_ep_request_begin() */
};

/* The whole program's state: on the loop, one client, one overall timer. */
struct app {
    struct options opt;
    uv_loop_t loop;
    zcoap_uv_client_t client;
    zcoap_ep_storage_t storage; /* the endpoint's buffers: the request is printed from here */
    struct token_source token_source;
    uv_timer_t wait_timer;     /* -B */
    uv_prepare_t verbose_tick; /* -v: retransmissions, before each poll */
    bool timer_open, tick_open, finished;
    int status;
    size_t request_len;
    bool awaiting_ack;        /* our CON is out and unanswered: extra sends are retransmissions */
    uint64_t shown_out;       /* datagrams sent that -v has accounted for */
    uint64_t shown_in;        /* datagrams received that -v has accounted for */
    unsigned retransmissions; /* counted by -v */
};

static uint8_t file_payload[ZCOAP_MAX_MSG_SIZE + 1];
static uint8_t hex_pool[ZCOAP_MAX_MSG_SIZE];
static size_t hex_pool_used;
static struct app app; /* static: the client and its buffers are a few kilobytes */

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: " PROGRAM " [options] URI\n"
        "A CoAP client (RFC 7252) in the style of libcoap's coap-client, on zcoap's libuv "
        "adapter.\n"
        "URI is coap://HOST[:PORT]/PATH[?QUERY]; HOST is a name, an IPv4 address or an IPv6\n"
        "literal in brackets (coap://[::1]:5683/). Uri-Host is sent for names only.\n"
        "\n"
        "  -m METHOD      get, post, put, delete, fetch, patch, ipatch (default get), or ping:\n"
        "                 a CoAP ping (Empty CON, RFC 7252 §4.3), \"pong\" when the peer RSTs\n"
        "  -e TEXT        payload\n"
        "  -f FILE        payload from FILE ('-': standard input); one message at most\n"
        "  -t TYPE        Content-Format: a number, or text, link, xml, octet, exi, json, cbor,\n"
        "                 or a media type such as application/json\n"
        "  -A TYPE        Accept, as for -t\n"
        "  -O NUM[,VALUE] add option NUM (repeatable). VALUE 0x<hex> is raw bytes; otherwise a\n"
        "                 decimal number for uint options (Max-Age, Size1...), nothing for\n"
        "                 empty ones (If-None-Match), text for all others\n"
        "  -T TOKEN       token: text of up to 8 bytes, or 0x<hex>; '' or 0x sends an empty\n"
        "                 token (default: 8 random bytes, RFC 7252 §5.3.1)\n"
        "  -N             send the request Non-confirmable\n"
        "  -B SECONDS     give up after SECONDS (default 90)\n"
        "  -x NUM         MAX_RETRANSMIT, 0-10 (default 4, RFC 7252 §4.8)\n"
        "  -D MS          ACK_TIMEOUT in milliseconds (default 2000)\n"
        "  -w             append a newline to the payload printed\n"
        "  -v             print every datagram sent and received on stderr, one line each\n"
        "  -q             quiet: no messages on stderr once the request is under way\n"
        "                 (-v still prints its lines)\n"
        "  -h, --help     this help\n"
        "\n"
        "Output: the payload of a 2.xx response on stdout, as it is. For 4.xx and 5.xx the code,\n"
        "its reason and the diagnostic payload on stderr (\"4.04 Not Found\"). Block-wise\n"
        "transfers are not implemented: of a response in blocks the first block is printed.\n"
        "\n"
        "Exit status:\n"
        "  0  a 2.xx response (or the pong of -m ping)\n"
        "  1  a 4.xx or 5.xx response\n"
        "  2  usage error, bad URI, unreadable file, request too large for one message\n"
        "  3  no answer in time (also from a closed port: ICMP errors do not end an exchange)\n"
        "  4  the peer rejected the request with RST\n"
        "  5  network, resolution or system error\n");
}

/* ---- command line ---------------------------------------------------------------------------- */

/* A decimal number in [0, max], digits only. */
static bool parse_number(const char *s, unsigned long max, unsigned long *out)
{
    if (*s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode the hex digits after "0x" into out; -1 when malformed or too long. */
static ptrdiff_t decode_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex);
    if (n % 2 != 0 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (ptrdiff_t)(n / 2);
}

static bool has_hex_prefix(const char *s)
{
    return s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

/* -t and -A: a number, a short name, or a media type the registry table knows. */
static bool parse_content_format(const char *s, long *out)
{
    static const struct {
        const char *name;
        uint16_t cf;
    } short_names[] = {
        {"text", ZCOAP_CF_TEXT_PLAIN},
        {"plain", ZCOAP_CF_TEXT_PLAIN},
        {"link", ZCOAP_CF_LINK_FORMAT},
        {"xml", ZCOAP_CF_XML},
        {"octet", ZCOAP_CF_OCTET_STREAM},
        {"binary", ZCOAP_CF_OCTET_STREAM},
        {"octet-stream", ZCOAP_CF_OCTET_STREAM},
        {"exi", ZCOAP_CF_EXI},
        {"json", ZCOAP_CF_JSON},
        {"cbor", ZCOAP_CF_CBOR},
    };
    unsigned long v;
    if (parse_number(s, 0xFFFFu, &v)) {
        *out = (long)v;
        return true;
    }
    for (size_t i = 0; i < sizeof(short_names) / sizeof(short_names[0]); i++) {
        if (strcmp(s, short_names[i].name) == 0) {
            *out = short_names[i].cf;
            return true;
        }
    }
    /* Full media types: ask the library's names rather than keep a second table here. */
    for (uint32_t cf = 0; cf <= 0xFFFFu; cf++) {
        const char *name = zcoap_content_format_name((uint16_t)cf);
        if (name != NULL && strcmp(s, name) == 0) {
            *out = (long)cf;
            return true;
        }
    }
    return false;
}

/* -O NUM[,VALUE]; see usage(). */
static bool parse_extra_option(const char *arg, struct extra_option *o)
{
    char num_text[8];
    const char *comma = strchr(arg, ',');
    size_t num_len = comma != NULL ? (size_t)(comma - arg) : strlen(arg);
    const char *value = comma != NULL ? comma + 1 : "";
    unsigned long num;
    if (num_len == 0 || num_len >= sizeof(num_text))
        return false;
    memcpy(num_text, arg, num_len);
    num_text[num_len] = '\0';
    if (!parse_number(num_text, 0xFFFFu, &num) || num == 0)
        return false; /* option 0 is reserved (RFC 7252 §12.2) */
    memset(o, 0, sizeof(*o));
    o->num = (uint16_t)num;
    const zcoap_opt_def_t *def = zcoap_opt_def(o->num);
    if (has_hex_prefix(value)) {
        ptrdiff_t n =
            decode_hex(value + 2, hex_pool + hex_pool_used, sizeof(hex_pool) - hex_pool_used);
        if (n < 0)
            return false;
        o->bytes = hex_pool + hex_pool_used;
        o->len = (size_t)n;
        hex_pool_used += (size_t)n;
    } else if (def != NULL && def->format == ZCOAP_OPT_FMT_UINT) {
        unsigned long v;
        if (!parse_number(value, UINT32_MAX, &v))
            return false;
        o->is_uint = true;
        o->uint_value = (uint32_t)v;
    } else if (def != NULL && def->format == ZCOAP_OPT_FMT_EMPTY) {
        if (*value != '\0')
            return false;
    } else {
        o->bytes = (const uint8_t *)value;
        o->len = strlen(value);
    }
    return true;
}

/* -T: text, or 0x<hex>; up to 8 bytes, possibly none. */
static bool parse_token(const char *arg, struct options *opt)
{
    if (has_hex_prefix(arg)) {
        ptrdiff_t n = decode_hex(arg + 2, opt->token, sizeof(opt->token));
        if (n < 0)
            return false;
        opt->token_len = (size_t)n;
    } else {
        size_t n = strlen(arg);
        if (n > sizeof(opt->token))
            return false;
        memcpy(opt->token, arg, n);
        opt->token_len = n;
    }
    opt->token_given = true;
    return true;
}

static bool parse_method(const char *arg, uint8_t *out)
{
    static const char *const names[] = {"ping",   "get",   "post",  "put",
                                        "delete", "fetch", "patch", "ipatch"};
    char lower[8];
    size_t n = strlen(arg);
    if (n >= sizeof(lower))
        return false;
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)(arg[i] >= 'A' && arg[i] <= 'Z' ? arg[i] - 'A' + 'a' : arg[i]);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(lower, names[i]) == 0) {
            *out = (uint8_t)i; /* METHOD_PING, then ZCOAP_GET (1) ... ZCOAP_IPATCH (7) */
            return true;
        }
    }
    return false;
}

/* -f: the whole file (or standard input) into file_payload; it must fit one message. */
static int read_payload_file(const char *path, struct options *opt)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, PROGRAM ": %s: %s\n", path, strerror(errno));
        return STATUS_USAGE;
    }
    size_t n = fread(file_payload, 1, sizeof(file_payload), f);
    bool failed = ferror(f) != 0;
    if (!is_stdin)
        fclose(f);
    if (failed) {
        fprintf(stderr, PROGRAM ": %s: read error\n", path);
        return STATUS_USAGE;
    }
    if (n == sizeof(file_payload)) {
        fprintf(stderr,
                PROGRAM ": %s: larger than one message (%u bytes); block-wise transfers "
                        "(RFC 7959) are not implemented\n",
                path, (unsigned)ZCOAP_MAX_MSG_SIZE);
        return STATUS_USAGE;
    }
    opt->payload = file_payload;
    opt->payload_len = n;
    return STATUS_SUCCESS;
}

static int bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, PROGRAM ": %s: '%s'\n" PROGRAM ": -h for help\n", what, arg);
    return STATUS_USAGE;
}

/* Fill @p opt from argv; returns STATUS_SUCCESS, or the status to exit with (-1: help shown). */
static int parse_command_line(int argc, char **argv, struct options *opt)
{
    const char *file = NULL;
    bool have_text = false;
    unsigned long v;
    int c;
    memset(opt, 0, sizeof(*opt));
    opt->method = ZCOAP_GET;
    opt->type = ZCOAP_TYPE_CON;
    opt->content_format = -1;
    opt->accept = -1;
    opt->wait_s = 90;
    opt->max_retransmit = ZCOAP_MAX_RETRANSMIT;
    opt->ack_timeout_ms = ZCOAP_ACK_TIMEOUT_MS;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return -1;
        }
    }
    while ((c = getopt(argc, argv, "m:e:f:t:A:O:T:NB:x:D:wvqh")) != -1) {
        switch (c) {
        case 'm':
            if (!parse_method(optarg, &opt->method))
                return bad_usage("unknown method", optarg);
            break;
        case 'e':
            opt->payload = (const uint8_t *)optarg;
            opt->payload_len = strlen(optarg);
            have_text = true;
            break;
        case 'f':
            file = optarg;
            break;
        case 't':
            if (!parse_content_format(optarg, &opt->content_format))
                return bad_usage("unknown Content-Format", optarg);
            break;
        case 'A':
            if (!parse_content_format(optarg, &opt->accept))
                return bad_usage("unknown Content-Format for Accept", optarg);
            break;
        case 'O':
            if (opt->n_extra == MAX_EXTRA_OPTIONS)
                return bad_usage("too many -O options", optarg);
            if (!parse_extra_option(optarg, &opt->extra[opt->n_extra]))
                return bad_usage("bad option (NUM[,VALUE], see -h)", optarg);
            opt->n_extra++;
            break;
        case 'T':
            if (!parse_token(optarg, opt))
                return bad_usage("bad token (up to 8 bytes of text, or 0x<hex>)", optarg);
            break;
        case 'N':
            opt->type = ZCOAP_TYPE_NON;
            break;
        case 'B':
            if (!parse_number(optarg, 86400u * 365u, &opt->wait_s) || opt->wait_s == 0)
                return bad_usage("bad wait (whole seconds, at least 1)", optarg);
            break;
        case 'x':
            if (!parse_number(optarg, 10, &opt->max_retransmit))
                return bad_usage("bad MAX_RETRANSMIT (0-10)", optarg);
            break;
        case 'D':
            if (!parse_number(optarg, 3600000u, &v) || v == 0)
                return bad_usage("bad ACK_TIMEOUT (1-3600000 ms)", optarg);
            opt->ack_timeout_ms = v;
            break;
        case 'w':
            opt->newline = true;
            break;
        case 'v':
            opt->verbose = true;
            break;
        case 'q':
            opt->quiet = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default: /* getopt has said what is wrong */
            fprintf(stderr, PROGRAM ": -h for help\n");
            return STATUS_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, PROGRAM ": %s\n" PROGRAM ": -h for help\n",
                optind >= argc ? "no URI given" : "one URI, after the options");
        return STATUS_USAGE;
    }
    opt->uri = argv[optind];
    if (file != NULL && have_text)
        return bad_usage("-e and -f both give the payload", file);
    if (opt->method == METHOD_PING &&
        (file != NULL || have_text || opt->n_extra > 0 || opt->content_format >= 0 ||
         opt->accept >= 0 || opt->token_given || opt->type == ZCOAP_TYPE_NON)) {
        fprintf(stderr, PROGRAM ": -m ping sends an Empty CON (RFC 7252 §4.1): it takes no -e, "
                                "-f, -t, -A, -O, -T or -N\n");
        return STATUS_USAGE;
    }
    zcoap_uri_t parts;
    int rc = zcoap_uri_split(opt->uri, strlen(opt->uri), &parts);
    if (rc != ZCOAP_OK)
        return bad_usage(zcoap_strerror(rc), opt->uri);
    if (parts.secure)
        return bad_usage("coaps:// needs DTLS, which zcoap does not have yet", opt->uri);
    return file != NULL ? read_payload_file(file, opt) : STATUS_SUCCESS;
}

/* ---- -v: one line per datagram --------------------------------------------------------------- */

static void show_datagram(const char *direction, const uint8_t *p, size_t n, const char *note)
{
    char line[8192];
    zcoap_msg_t msg;
    if (zcoap_msg_parse(&msg, p, n) != ZCOAP_OK) {
        fprintf(stderr, "%s (%zu bytes, not parsable)%s\n", direction, n, note);
        return;
    }
    (void)zcoap_msg_print(&msg, line, sizeof(line)); /* a line cut short ends in "..." */
    fprintf(stderr, "%s %s%s\n", direction, line, note);
}

static void show_received(struct app *a, const zcoap_msg_t *msg)
{
    if (!a->opt.verbose)
        return;
    a->shown_in++;
    show_datagram("<-", msg->data, msg->len, "");
}

/* Our request, from the buffer the endpoint sends it from. */
static void show_request(struct app *a, const char *note)
{
    a->shown_out++;
    show_datagram("->", a->storage.req, a->request_len, note);
}

/* An Empty ACK or RST: four bytes fixed by type and message ID (RFC 7252 §4.1, §4.2). */
static void show_empty(struct app *a, bool sent, uint8_t type, uint16_t mid)
{
    uint8_t buf[4];
    if (!a->opt.verbose)
        return;
    if (sent)
        a->shown_out++;
    else
        a->shown_in++;
    ptrdiff_t n = zcoap_build_empty(buf, sizeof(buf), type, mid);
    show_datagram(sent ? "->" : "<-", buf, n > 0 ? (size_t)n : 0, "");
}

static uint64_t datagrams_sent(const struct app *a)
{
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&a->client);
    return st->datagrams_out + st->send_errors; /* a failed send is a lost datagram, still shown */
}

/* Account for the datagrams sent since the last line: on the timer they are retransmissions of
 * the request; during a receive they are the endpoint's own answer to what arrived. */
static void show_unaccounted(struct app *a, bool on_timer)
{
    if (!a->opt.verbose)
        return;
    char note[48];
    for (uint64_t sent = datagrams_sent(a); a->shown_out < sent;) {
        if (on_timer && a->awaiting_ack) {
            snprintf(note, sizeof(note), " (retransmission %u)", ++a->retransmissions);
            show_request(a, note);
        } else {
            a->shown_out++;
            fprintf(stderr, "-> (a datagram the endpoint answered with on its own)\n");
        }
    }
    uint64_t received = zcoap_uv_client_stats(&a->client)->datagrams_in;
    if (a->shown_in < received) {
        fprintf(stderr, "<- (%llu datagram(s) the endpoint ignored)\n",
                (unsigned long long)(received - a->shown_in));
        a->shown_in = received;
    }
}

/* Before each poll: what the timers sent since the last poll is in the counters now. */
static void on_verbose_tick(uv_prepare_t *h)
{
    show_unaccounted(h->data, true);
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

/* Everything ends here: the client and our handles close, uv_run() returns. */
static void finish(struct app *a, int status)
{
    if (a->finished)
        return;
    a->finished = true;
    a->status = status;
    show_unaccounted(a, true);
    if (a->opt.verbose) {
        const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&a->client);
        fprintf(stderr,
                "stats: %llu datagram(s) out (%u retransmission(s)), %llu in, %llu send "
                "error(s), %llu socket error(s)\n",
                (unsigned long long)st->datagrams_out, a->retransmissions,
                (unsigned long long)st->datagrams_in, (unsigned long long)st->send_errors,
                (unsigned long long)st->recv_errors);
    }
    zcoap_uv_client_close(&a->client, NULL);
    if (a->timer_open)
        uv_close((uv_handle_t *)&a->wait_timer, NULL);
    if (a->tick_open)
        uv_close((uv_handle_t *)&a->verbose_tick, NULL);
    a->timer_open = a->tick_open = false;
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
    show_received(a, msg);
    if (msg->type == ZCOAP_TYPE_CON)
        show_empty(a, true, ZCOAP_TYPE_ACK, msg->mid); /* RFC 7252 §5.2.2: the endpoint ACKed */
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

static void on_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    struct app *a = c->data;
    switch (ev->kind) {
    case ZCOAP_EV_OUT_CON_SENT:
    case ZCOAP_EV_OUT_PING_SENT:
    case ZCOAP_EV_OUT_NON_SENT:
        a->awaiting_ack = ev->kind != ZCOAP_EV_OUT_NON_SENT; /* an ACK is due (RFC 7252 §4.2) */
        if (a->opt.verbose)
            show_request(a, "");
        return;
    case ZCOAP_EV_OUT_EMPTY_ACK: /* RFC 7252 §5.2.2: a separate response will follow */
        a->awaiting_ack = false;
        show_empty(a, false, ZCOAP_TYPE_ACK,
                   (uint16_t)(a->storage.req[2] << 8 | a->storage.req[3]));
        return;
    case ZCOAP_EV_OUT_RESPONSE:
        a->awaiting_ack = false;
        on_response(a, &ev->msg);
        return;
    case ZCOAP_EV_OUT_PONG:
        a->awaiting_ack = false;
        show_received(a, &ev->msg);
        printf("pong\n");
        fflush(stdout);
        finish(a, STATUS_SUCCESS);
        return;
    case ZCOAP_EV_OUT_RESET:
        a->awaiting_ack = false;
        show_received(a, &ev->msg);
        say(a, "the peer rejected the request with RST", NULL);
        finish(a, STATUS_RESET);
        return;
    case ZCOAP_EV_OUT_TIMEOUT:
        no_answer(a,
                  a->awaiting_ack ? "no answer (MAX_RETRANSMIT reached)" : "no response in time");
        return;
    case ZCOAP_EV_OUT_WRONG_TOKEN: /* an ACK with our ID but another token: wait on */
        a->awaiting_ack = false;
        show_received(a, &ev->msg);
        return;
    case ZCOAP_EV_OUT_DUPLICATE_RESPONSE:
        show_received(a, &ev->msg);
        show_empty(a, true, ZCOAP_TYPE_ACK, ev->msg.mid);
        return;
    case ZCOAP_EV_IN_REQUEST: /* a client serves nothing: reject (RFC 7252 §4.2) */
        show_received(a, &ev->msg);
        if (zcoap_ep_respond_rst(zcoap_uv_client_endpoint(c), uv_now(&a->loop)) == ZCOAP_OK)
            show_empty(a, true, ZCOAP_TYPE_RST, ev->msg.mid);
        return;
    case ZCOAP_EV_UNHANDLED:       /* answered with RST by the endpoint */
    case ZCOAP_EV_PING_ANSWERED: { /* a ping from the peer, answered with RST */
        show_received(a, &ev->msg);
        show_empty(a, true, ZCOAP_TYPE_RST, ev->msg.mid);
        return;
    }
    case ZCOAP_EV_FORMAT_ERROR:
        if (a->opt.verbose) {
            a->shown_in++;
            fprintf(stderr, "<- (a malformed datagram: %s)\n", zcoap_strerror(ev->err));
            show_unaccounted(a, false); /* the RST of a malformed CON */
        }
        return;
    default:
        if (ev->has_msg)
            show_received(a, &ev->msg);
        show_unaccounted(a, false);
        return;
    }
}

/* Build and send the request: the URI's options, -t, -A, -O, the payload. */
static void send_request(struct app *a)
{
    const struct options *o = &a->opt;
    zcoap_ep_t *ep = zcoap_uv_client_endpoint(&a->client);
    zcoap_builder_t b;
    a->token_source.armed = o->token_given;
    int rc = zcoap_ep_request_begin(ep, o->type, o->method, &b);
    a->token_source.armed = false;
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
    a->request_len = (size_t)len;
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
    if (a->opt.method != METHOD_PING) {
        send_request(a);
        return;
    }
    a->request_len = 4; /* the Empty CON */
    int rc = zcoap_uv_client_ping(c);
    if (rc != 0) {
        say(a, "cannot send the ping", zcoap_uv_strerror(rc));
        finish(a, STATUS_NETWORK);
    }
}

static int token_rng(void *ctx, uint8_t *out, size_t len)
{
    struct token_source *t = ctx;
    if (t->armed && len == t->len) {
        t->armed = false;
        if (len > 0)
            memcpy(out, t->token, len);
        return 0;
    }
    return zcoap_uv_random(NULL, out, len); /* message IDs, timeouts, default tokens */
}

/* Set up the client and its timers; returns STATUS_SUCCESS or the status to exit with. */
static int start(struct app *a)
{
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, &a->storage);
    cfg.tx.max_retransmit = (uint8_t)a->opt.max_retransmit;
    cfg.tx.ack_timeout_ms = (uint32_t)a->opt.ack_timeout_ms;
    if (a->opt.token_given) {
        cfg.token_len = (uint8_t)a->opt.token_len;
        a->token_source.token = a->opt.token;
        a->token_source.len = a->opt.token_len;
    }
    cfg.rng = token_rng;
    cfg.rng_ctx = &a->token_source;
    a->client.data = a;
    int rc = zcoap_uv_client_init(&a->loop, &a->client, &cfg, on_event);
    if (rc != 0) {
        say(a, "cannot start", zcoap_uv_strerror(rc));
        return STATUS_NETWORK;
    }
    uv_timer_init(&a->loop, &a->wait_timer);
    a->wait_timer.data = a;
    a->timer_open = true;
    uv_timer_start(&a->wait_timer, on_wait_over, (uint64_t)a->opt.wait_s * 1000u, 0);
    if (a->opt.verbose) {
        uv_prepare_init(&a->loop, &a->verbose_tick);
        a->verbose_tick.data = a;
        a->tick_open = true;
        uv_prepare_start(&a->verbose_tick, on_verbose_tick);
        uv_unref((uv_handle_t *)&a->verbose_tick); /* it never keeps the program alive */
    }
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
    if (uv_loop_close(&a->loop) != 0)
        say(a, "handles left open on the loop", NULL);
    return rc;
}
