/* The command line of zcoap-client: --help, and each option checked and decoded (see
 * zcoap_client_args.h). */
#define _POSIX_C_SOURCE 200809L

#include "zcoap_client_args.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint8_t file_payload[ZCOAP_MAX_MSG_SIZE + 1];
static uint8_t hex_pool[ZCOAP_MAX_MSG_SIZE];
static size_t hex_pool_used;

static void usage(FILE *out)
{
    /* Three strings: C11 compilers need only take 4095 characters in one. */
    fputs("usage: " PROGRAM " [options] URI\n"
          "A CoAP client (RFC 7252) in the style of libcoap's coap-client, on zcoap's libuv "
          "adapter.\n"
          "URI is coap://HOST[:PORT]/PATH[?QUERY]; HOST is a name, an IPv4 address or an IPv6\n"
          "literal in brackets (coap://[::1]:5683/). Uri-Host is sent for names only.\n"
          "Bodies and answers of any size go block-wise (RFC 7959): a body larger than one\n"
          "block (1024 bytes, or -b SIZE) in Block1 blocks, each acknowledged with 2.31\n"
          "Continue; an answer in Block2 blocks fetched block by block; each request with the\n"
          "first one's options and a fresh token.\n"
          "\n",
          out);
    fputs(
        "  -m METHOD      get, post, put, delete, fetch, patch, ipatch (default get), or ping:\n"
        "                 a CoAP ping (Empty CON, RFC 7252 §4.3), \"pong\" when the peer RSTs\n"
        "  -e TEXT        payload\n"
        "  -f FILE        payload from FILE, any size; a regular file is read block by block as\n"
        "                 the blocks go, '-' (standard input) or a pipe is read into memory\n"
        "                 first, 64 MiB at most\n"
        "  -b [NUM,]SIZE  block size, 16 32 64 128 256 512 or 1024, for the body's blocks and the\n"
        "                 answer's (asked for from the first request on: early negotiation,\n"
        "                 RFC 7959 §2.4); default: 1024 for the body (the largest that fits a\n"
        "                 message), the server's for the answer. With NUM, only block NUM of\n"
        "                 the answer is fetched: bytes NUM*SIZE to NUM*SIZE+SIZE-1 (random\n"
        "                 access; libcoap's coap-client goes on from there to the end)\n"
        "  -o FILE        write the answer's payload to FILE instead of standard output ('-':\n"
        "                 standard output); FILE is created, or emptied, when the answer comes\n"
        "  -t TYPE        Content-Format: a number, or text, link, xml, octet, exi, json, cbor,\n"
        "                 or a media type such as application/json\n"
        "  -A TYPE        Accept, as for -t\n"
        "  -O NUM[,VALUE] add option NUM (repeatable). VALUE 0x<hex> is raw bytes; otherwise a\n"
        "                 decimal number for uint options (Max-Age, Size1...), nothing for\n"
        "                 empty ones (If-None-Match), text for all others\n"
        "  -T TOKEN       token: text of up to 8 bytes, or 0x<hex>; '' or 0x sends an empty\n"
        "                 token (default: 8 random bytes, RFC 7252 §5.3.1). -T disables\n"
        "                 block-wise transfers (every block has a token of its own): one\n"
        "                 request, which must fit one message, and of an answer in blocks only\n"
        "                 the first block is printed; no -b\n"
        "  -N             send the request Non-confirmable\n"
        "  -s SECONDS     observe the resource (RFC 7641) for SECONDS once the server has\n"
        "                 taken the observation, printing every notification; then cancel it\n"
        "                 (GET with Observe 1) and wait for the answer, 5 s at most. GET only;\n"
        "                 no -e, -f, -b, -o, -t, -A, -O, -T, -N\n"
        "  -B SECONDS     give up after SECONDS without an answer (default 90): every block\n"
        "                 answered starts the wait again, and a separate response is waited\n"
        "                 for that long; with -s, waiting for the registration's answer\n"
        "  -x NUM         MAX_RETRANSMIT, 0-10 (default 4, RFC 7252 §4.8)\n"
        "  -D MS          ACK_TIMEOUT in milliseconds (default 2000)\n"
        "  -w             append a newline to the payload printed\n"
        "  -v             print every datagram sent (->) and received (<-) on stderr, one line\n"
        "                 each, retransmissions marked; the counters at the end\n"
        "  -q             quiet: no messages on stderr once the request is under way\n"
        "                 (-v still prints its lines)\n"
        "  -h, --help     this help\n"
        "\n",
        out);
    fputs(
        "Output: the payload of a 2.xx response on stdout (or in the -o FILE), as it is, written\n"
        "block by block as the blocks arrive. If the representation changes in the middle of\n"
        "a download (another ETag), a -o FILE that is a regular file is emptied and the\n"
        "download starts again (3 times at most); elsewhere the run ends with exit 6. For 4.xx\n"
        "and 5.xx the code, its reason and the diagnostic payload on stderr (\"4.04 Not\n"
        "Found\"). With -s: the registration's answer and every notification, one line each (a\n"
        "newline is added unless the payload ends with one), flushed as they come.\n"
        "\n"
        "Exit status:\n"
        "  0  a 2.xx response (or the pong of -m ping); with -s, the server took the\n"
        "     observation (its answer carried Observe) and nothing below ended it\n"
        "  1  a 4.xx or 5.xx response (with -s, also one that ends the observation); with -s,\n"
        "     also a 2.xx without Observe: the server did not take the observation (warning)\n"
        "  2  usage error, bad URI, unreadable file, options too long to repeat on every block,\n"
        "     with -T a request too large for one message\n"
        "  3  no answer in time (also from a closed port: ICMP errors do not end an exchange)\n"
        "  4  the peer rejected the request with RST\n"
        "  5  network, resolution or system error (also: the -f file could not be read, or the\n"
        "     -o file written, during the transfer)\n"
        "  6  a block-wise transfer broke off: the representation changed between blocks\n"
        "     (another ETag, see Output), or the server broke RFC 7959 (a block not asked for)\n",
        out);
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

/* -f with -T: the whole file (or standard input) into file_payload; it must fit one message. */
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
                PROGRAM ": %s: larger than one message (%u bytes), which -T needs: it disables "
                        "block-wise transfers\n",
                path, (unsigned)ZCOAP_MAX_MSG_SIZE);
        return STATUS_USAGE;
    }
    opt->payload = file_payload;
    opt->payload_len = n;
    return STATUS_SUCCESS;
}

/* Read all of @p fd (standard input, a pipe...) into a buffer that grows up to STDIN_BODY_MAX
 * bytes (and one more, to see a body that is larger). */
static int read_body_stream(int fd, const char *path, struct options *opt)
{
    size_t cap = 64u * 1024u, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        if (len == cap) {
            if (cap > STDIN_BODY_MAX) {
                free(buf);
                fprintf(stderr,
                        PROGRAM ": %s: larger than %u MiB, the most read into memory (a regular "
                                "file is read block by block, whatever its size)\n",
                        path, STDIN_BODY_MAX >> 20);
                return STATUS_USAGE;
            }
            cap = cap * 2 > STDIN_BODY_MAX ? STDIN_BODY_MAX + 1u : cap * 2;
            uint8_t *bigger = realloc(buf, cap);
            if (bigger == NULL)
                free(buf);
            buf = bigger;
            continue;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, PROGRAM ": %s: %s\n", path, strerror(errno));
            free(buf);
            return STATUS_USAGE;
        }
        if (n == 0) {
            opt->body_alloc = buf;
            opt->payload = buf;
            opt->payload_len = len;
            return STATUS_SUCCESS;
        }
        len += (size_t)n;
    }
    fprintf(stderr, PROGRAM ": %s: out of memory\n", path);
    return STATUS_NETWORK;
}

/* -f: a regular file stays open, to be read block by block (pread) as the transfer sends it;
 * anything else is read into memory now. */
static int open_body_file(const char *path, struct options *opt)
{
    opt->body_path = path;
    if (strcmp(path, "-") == 0)
        return read_body_stream(STDIN_FILENO, "standard input", opt);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, PROGRAM ": %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return STATUS_USAGE;
    }
    if (!S_ISREG(st.st_mode)) {
        int rc = read_body_stream(fd, path, opt);
        close(fd);
        return rc;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        fprintf(stderr, PROGRAM ": %s: too large\n", path);
        return STATUS_USAGE;
    }
    opt->body_fd = fd;
    opt->body_size = (size_t)st.st_size;
    return STATUS_SUCCESS;
}

/* -b [NUM,]SIZE: SIZE a power of two from 16 to 1024 (RFC 7959 §2.2), NUM below 2^20. */
static bool parse_block(const char *arg, struct options *opt)
{
    char num_text[16];
    const char *comma = strchr(arg, ',');
    const char *size_text = comma != NULL ? comma + 1 : arg;
    unsigned long size, num = 0;
    if (comma != NULL) {
        size_t n = (size_t)(comma - arg);
        if (n == 0 || n >= sizeof(num_text))
            return false;
        memcpy(num_text, arg, n);
        num_text[n] = '\0';
        if (!parse_number(num_text, 0xFFFFFu, &num))
            return false;
    }
    if (!parse_number(size_text, 1024u, &size))
        return false;
    for (uint8_t szx = 0; szx <= ZCOAP_BLOCK_SZX_MAX; szx++) {
        if (zcoap_block_size(szx) == size) {
            opt->block_given = true;
            opt->block_szx = szx;
            opt->block_single = comma != NULL;
            opt->block_num = (uint32_t)num;
            return true;
        }
    }
    return false;
}

void release_command_line(struct options *opt)
{
    if (opt->body_fd >= 0)
        close(opt->body_fd);
    opt->body_fd = -1;
    free(opt->body_alloc);
    opt->body_alloc = NULL;
}

static int bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, PROGRAM ": %s: '%s'\n" PROGRAM ": -h for help\n", what, arg);
    return STATUS_USAGE;
}

int parse_command_line(int argc, char **argv, struct options *opt)
{
    const char *file = NULL;
    bool have_text = false;
    bool output_given = false;
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
    opt->body_fd = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return -1;
        }
    }
    while ((c = getopt(argc, argv, "m:e:f:b:o:t:A:O:T:NB:s:x:D:wvqh")) != -1) {
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
        case 'b':
            if (!parse_block(optarg, opt))
                return bad_usage("bad block size ([NUM,]SIZE: SIZE 16, 32, ... 1024, NUM below "
                                 "2^20)",
                                 optarg);
            break;
        case 'o':
            opt->output_path = strcmp(optarg, "-") == 0 ? NULL : optarg;
            output_given = true;
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
        case 's':
            if (!parse_number(optarg, 86400u * 365u, &opt->observe_s) || opt->observe_s == 0)
                return bad_usage("bad observe duration (whole seconds, at least 1)", optarg);
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
    bool blockwise = opt->block_given || output_given;
    if (opt->method == METHOD_PING &&
        (file != NULL || have_text || opt->n_extra > 0 || opt->content_format >= 0 ||
         opt->accept >= 0 || opt->token_given || opt->type == ZCOAP_TYPE_NON || blockwise)) {
        fprintf(stderr, PROGRAM ": -m ping sends an Empty CON (RFC 7252 §4.1): it takes no -e, "
                                "-f, -b, -o, -t, -A, -O, -T or -N\n");
        return STATUS_USAGE;
    }
    if (opt->observe_s > 0 && (opt->method != ZCOAP_GET || file != NULL || have_text ||
                               opt->n_extra > 0 || opt->content_format >= 0 || opt->accept >= 0 ||
                               opt->token_given || opt->type == ZCOAP_TYPE_NON || blockwise)) {
        /* The adapter registers from the URI alone, CON, with a token of its own (§3.3.1). */
        fprintf(stderr, PROGRAM ": -s observes with a GET built from the URI: it takes no -m "
                                "other than get, -e, -f, -b, -o, -t, -A, -O, -T or -N\n");
        return STATUS_USAGE;
    }
    if (opt->token_given && opt->block_given) {
        /* Every request of a block-wise transfer has a fresh token (include/zcoap/transfer.h). */
        fprintf(stderr, PROGRAM ": -T sends one request with that token: no block-wise "
                                "transfer, so no -b\n");
        return STATUS_USAGE;
    }
    zcoap_uri_t parts;
    int rc = zcoap_uri_split(opt->uri, strlen(opt->uri), &parts);
    if (rc != ZCOAP_OK)
        return bad_usage(zcoap_strerror(rc), opt->uri);
    if (parts.secure)
        return bad_usage("coaps:// needs DTLS, which zcoap does not have yet", opt->uri);
    if (file == NULL)
        return STATUS_SUCCESS;
    return opt->token_given ? read_payload_file(file, opt) : open_body_file(file, opt);
}
