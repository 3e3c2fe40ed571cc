/*
 * firmware-download: fetch a firmware-sized image block-wise (RFC 7959 Block2) with the libuv
 * adapter's transfer (zcoap_uv_client_transfer()) and print its SHA-256, in bounded memory.
 *
 *     firmware-download [-b SIZE] [-o FILE] [-v] URI
 *     sha256  <64 hex digits>  <bytes>          (on stdout once the image is complete)
 *
 * Each slice is hashed as it arrives (SHA-256 streamed, examples/common/sha256.c) and, with -o,
 * written at its offset in FILE; nothing holds the whole image, so the memory used does not grow
 * with its size: the client's fixed buffers and one block in flight. The first request asks for
 * the size (Size2 0, RFC 7959 §4); -b SIZE (16 to 1024) asks for that block size from the first
 * request on (early negotiation, §2.4), else the server's is taken. If the image changes during
 * the download (another ETag), the hash and FILE start again from offset 0.
 *
 * On a terminal, stderr shows a progress bar, one line redrawn with \r: the percentage when the
 * server gave the size (Size2), else the bytes so far. -v prints, at the end, the datagrams sent
 * and received and the process's peak resident memory (getrusage() ru_maxrss) on stderr.
 *
 * Exit status (as zcoap-client's): 0 the image is complete; 1 a 4.xx/5.xx response; 2 usage,
 * bad URI, -o FILE that cannot be written; 3 no answer in time; 4 RST; 5 network or system
 * error; 6 the transfer broke off (the image kept changing, or the server broke RFC 7959).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sha256.h"
#include "zcoap/uv.h"

#define PROGRAM "firmware-download"
#define BAR_WIDTH 40

enum status {
    STATUS_SUCCESS = 0,
    STATUS_ERROR_RESPONSE = 1,
    STATUS_USAGE = 2,
    STATUS_TIMEOUT = 3,
    STATUS_RESET = 4,
    STATUS_NETWORK = 5,
    STATUS_TRANSFER = 6
};

struct download {
    const char *uri;
    const char *output_path; /* -o, or NULL */
    uint8_t szx;             /* -b, or ZCOAP_TRANSFER_SZX_AUTO */
    bool verbose;
    bool progress; /* stderr is a terminal */
    uv_loop_t loop;
    zcoap_uv_client_t client;
    int out_fd;
    sha256_t hash;
    uint64_t received; /* bytes hashed */
    uint64_t size;     /* Size2, when the server gave it; else 0 */
    int shown;         /* the last percentage (or KiB) drawn, -1 before the first */
    int status;
    bool finished;
};

static struct download dl; /* static: the client and its buffers are a few kilobytes */

static void usage(FILE *out)
{
    fputs("usage: " PROGRAM " [-b SIZE] [-o FILE] [-v] URI\n"
          "Fetch coap://HOST[:PORT]/PATH block-wise (RFC 7959) and print its SHA-256 and size\n"
          "(\"sha256  HEX  BYTES\") on stdout, hashing each block as it arrives.\n"
          "\n"
          "  -b SIZE   block size to ask for: 16, 32, 64, 128, 256, 512 or 1024 (default: the\n"
          "            server's)\n"
          "  -o FILE   also write the image to FILE (a regular file)\n"
          "  -v        at the end: datagrams and peak resident memory (ru_maxrss) on stderr\n"
          "  -h        this help\n"
          "\n"
          "A progress bar is drawn on stderr when it is a terminal. Exit status: 0 complete,\n"
          "1 4.xx/5.xx response, 2 usage or -o error, 3 no answer in time, 4 RST, 5 network or\n"
          "system error, 6 the transfer broke off (the image changed, or a protocol error).\n",
          out);
}

/* ---- progress ---------------------------------------------------------------------------- */

/* Redraw the bar when the percentage (or, without a size, the KiB count) has changed. */
static void show_progress(struct download *d, bool last)
{
    if (!d->progress)
        return;
    if (d->size > 0) {
        uint64_t got = d->received < d->size ? d->received : d->size;
        int percent = (int)(got * 100u / d->size);
        if (percent == d->shown && !last)
            return;
        d->shown = percent;
        int filled = percent * BAR_WIDTH / 100;
        char bar[BAR_WIDTH + 1];
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, '.', (size_t)(BAR_WIDTH - filled));
        bar[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r[%s] %3d%%  %llu/%llu bytes", bar, percent,
                (unsigned long long)d->received, (unsigned long long)d->size);
    } else {
        int kib = (int)(d->received / 1024u);
        if (kib == d->shown && !last)
            return;
        d->shown = kib;
        fprintf(stderr, "\r%llu bytes", (unsigned long long)d->received);
    }
    if (last)
        fputc('\n', stderr);
    fflush(stderr);
}

/* ---- the end ----------------------------------------------------------------------------- */

static void finish(struct download *d, int status)
{
    if (d->finished)
        return;
    d->finished = true;
    d->status = status;
    zcoap_uv_client_close(&d->client, NULL); /* also from a report: nothing is reported after */
}

static void fail(struct download *d, int status, const char *what, const char *detail)
{
    if (d->progress && d->shown >= 0)
        fputc('\n', stderr); /* below the bar */
    if (detail != NULL)
        fprintf(stderr, PROGRAM ": %s: %s\n", what, detail);
    else
        fprintf(stderr, PROGRAM ": %s\n", what);
    finish(d, status);
}

static void print_digest(struct download *d)
{
    uint8_t digest[SHA256_DIGEST_SIZE];
    char hex[SHA256_HEX_SIZE];
    sha256_final(&d->hash, digest);
    sha256_hex(digest, hex);
    printf("sha256  %s  %llu\n", hex, (unsigned long long)d->received);
    fflush(stdout);
}

static void on_final_response(struct download *d, const zcoap_msg_t *msg)
{
    if (ZCOAP_CODE_CLASS(msg->code) != 2) {
        /* "4.04 Not Found", and the diagnostic payload (RFC 7252 §5.5.2) unless it repeats the
         * reason */
        const char *reason = zcoap_code_reason(msg->code);
        char what[64];
        snprintf(what, sizeof(what), "%s %s", zcoap_code_name(msg->code),
                 reason != NULL ? reason : "");
        char diag[128];
        snprintf(diag, sizeof(diag), "%.*s", (int)msg->payload_len,
                 msg->payload_len > 0 ? (const char *)msg->payload : "");
        bool repeats = reason != NULL && strcmp(diag, reason) == 0;
        fail(d, STATUS_ERROR_RESPONSE, what, msg->payload_len > 0 && !repeats ? diag : NULL);
        return;
    }
    if (d->size > 0 && d->received != d->size) {
        fail(d, STATUS_TRANSFER, "the image's size differs from the Size2 the server gave", NULL);
        return;
    }
    if (d->out_fd >= 0) {
        int fd = d->out_fd;
        d->out_fd = -1;
        if (close(fd) != 0) {
            fail(d, STATUS_NETWORK, d->output_path, strerror(errno));
            return;
        }
    }
    show_progress(d, true);
    print_digest(d);
    finish(d, STATUS_SUCCESS);
}

static void on_failed(struct download *d, int status)
{
    switch (status) {
    case ZCOAP_ETIMEOUT:
        fail(d, STATUS_TIMEOUT, "no answer in time", NULL);
        return;
    case ZCOAP_EUNREACHABLE:
        fail(d, STATUS_NETWORK, "nobody listens at the server's port (ICMP port unreachable)",
             NULL);
        return;
    case ZCOAP_ERESET:
        fail(d, STATUS_RESET, "the server rejected the request with RST", NULL);
        return;
    case ZCOAP_ECHANGED:
        fail(d, STATUS_TRANSFER, "the image kept changing during the download (ETag)", NULL);
        return;
    case ZCOAP_EPROTO:
        fail(d, STATUS_TRANSFER, "the server answered a block not asked for (RFC 7959)", NULL);
        return;
    default:
        fail(d, STATUS_NETWORK, "the transfer failed", zcoap_uv_strerror(status));
        return;
    }
}

/* ---- the transfer ------------------------------------------------------------------------ */

static int write_at(int fd, const uint8_t *p, size_t n, uint64_t offset)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)offset);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
        offset += (uint64_t)w;
    }
    return 0;
}

/* Each slice is hashed and written as it comes: slices arrive in order, without gaps. */
static void on_report(zcoap_uv_client_t *c, void *ctx, const zcoap_uv_transfer_report_t *r)
{
    struct download *d = ctx;
    (void)c;
    if (r->size2 > 0)
        d->size = r->size2;
    switch (r->kind) {
    case ZCOAP_UV_TRANSFER_DATA:
        sha256_update(&d->hash, r->data, r->len);
        if (d->out_fd >= 0 && write_at(d->out_fd, r->data, r->len, r->offset) != 0) {
            fail(d, STATUS_NETWORK, d->output_path, strerror(errno));
            return;
        }
        d->received = (uint64_t)r->offset + r->len;
        show_progress(d, false);
        return;
    case ZCOAP_UV_TRANSFER_RESTARTED: /* another ETag: the image changed, start again */
        sha256_init(&d->hash);
        d->received = 0;
        if (d->out_fd >= 0 && ftruncate(d->out_fd, 0) != 0)
            fail(d, STATUS_NETWORK, d->output_path, strerror(errno));
        return;
    case ZCOAP_UV_TRANSFER_PROGRESS:
        return;
    case ZCOAP_UV_TRANSFER_DONE:
        on_final_response(d, r->msg);
        return;
    case ZCOAP_UV_TRANSFER_FAILED:
        on_failed(d, r->status);
        return;
    }
}

static void on_connected(zcoap_uv_client_t *c, int status)
{
    struct download *d = c->data;
    if (status != 0) {
        fail(d, STATUS_NETWORK, "cannot reach the host", zcoap_uv_strerror(status));
        return;
    }
    zcoap_transfer_params_t params;
    memset(&params, 0, sizeof(params));
    params.block1_szx = ZCOAP_TRANSFER_SZX_AUTO;
    params.block2_szx = d->szx;
    params.ask_size2 = true;              /* Size2 0: the server says the size (§4) */
    params.restart_on_etag_change = true; /* the hash can start again; a server may not keep
                                             the old image for us */
    int rc = zcoap_uv_client_transfer(c, ZCOAP_TYPE_CON, ZCOAP_GET, d->uri, &params, on_report, d);
    if (rc != 0)
        fail(d, STATUS_NETWORK, "cannot send the request", zcoap_uv_strerror(rc));
}

/* ---- main -------------------------------------------------------------------------------- */

static int parse_block_size(const char *arg, uint8_t *szx)
{
    char *end;
    errno = 0;
    unsigned long size = strtoul(arg, &end, 10);
    if (errno != 0 || *end != '\0' || arg[0] < '0' || arg[0] > '9')
        return -1;
    for (uint8_t s = 0; s <= ZCOAP_BLOCK_SZX_MAX; s++) {
        if (zcoap_block_size(s) == size) {
            *szx = s;
            return 0;
        }
    }
    return -1;
}

static int parse_command_line(int argc, char **argv, struct download *d)
{
    int opt;
    d->szx = ZCOAP_TRANSFER_SZX_AUTO;
    while ((opt = getopt(argc, argv, "b:o:vh")) != -1) {
        switch (opt) {
        case 'b':
            if (parse_block_size(optarg, &d->szx) != 0) {
                fprintf(stderr, PROGRAM ": bad block size '%s' (16, 32, ... 1024)\n", optarg);
                return STATUS_USAGE;
            }
            break;
        case 'o':
            d->output_path = optarg;
            break;
        case 'v':
            d->verbose = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return STATUS_USAGE;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return STATUS_USAGE;
    }
    d->uri = argv[optind];
    zcoap_uri_t parts;
    int rc = zcoap_uri_split(d->uri, strlen(d->uri), &parts);
    if (rc != ZCOAP_OK || parts.secure) {
        fprintf(stderr, PROGRAM ": %s: %s\n", d->uri,
                rc != ZCOAP_OK ? zcoap_strerror(rc) : "coaps:// needs DTLS");
        return STATUS_USAGE;
    }
    return STATUS_SUCCESS;
}

/* -v: what went over the wire and the most memory the process ever had resident. */
static void show_stats(const struct download *d)
{
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&d->client);
    struct rusage ru;
    long max_rss_kib = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1; /* KiB on Linux */
    fprintf(stderr, PROGRAM ": %llu datagram(s) out, %llu in; peak RSS %ld KiB\n",
            (unsigned long long)st->datagrams_out, (unsigned long long)st->datagrams_in,
            max_rss_kib);
}

int main(int argc, char **argv)
{
    struct download *d = &dl;
    int rc = parse_command_line(argc, argv, d);
    if (rc != STATUS_SUCCESS)
        return rc < 0 ? STATUS_SUCCESS : rc;
    d->out_fd = -1;
    d->shown = -1;
    d->progress = isatty(STDERR_FILENO) == 1;
    sha256_init(&d->hash);
    if (d->output_path != NULL) {
        d->out_fd = open(d->output_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (d->out_fd < 0) {
            fprintf(stderr, PROGRAM ": %s: %s\n", d->output_path, strerror(errno));
            return STATUS_USAGE;
        }
    }
    if (uv_loop_init(&d->loop) != 0) {
        fprintf(stderr, PROGRAM ": cannot create the loop\n");
        return STATUS_NETWORK;
    }
    d->client.data = d;
    rc = zcoap_uv_client_init(&d->loop, &d->client, NULL, NULL);
    if (rc == 0) {
        rc = zcoap_uv_client_connect_uri(&d->client, d->uri, on_connected);
        if (rc != 0)
            fail(d, STATUS_NETWORK, "cannot resolve the host", zcoap_uv_strerror(rc));
        uv_run(&d->loop, UV_RUN_DEFAULT); /* until finish() has closed the client */
        if (d->verbose)
            show_stats(d);
    } else {
        fprintf(stderr, PROGRAM ": cannot start: %s\n", zcoap_uv_strerror(rc));
        d->status = STATUS_NETWORK;
        uv_run(&d->loop, UV_RUN_DEFAULT); /* handles a failed init closed */
    }
    if (d->out_fd >= 0)
        (void)close(d->out_fd);
    if (uv_loop_close(&d->loop) != 0)
        fprintf(stderr, PROGRAM ": handles left open on the loop\n");
    return d->status;
}
