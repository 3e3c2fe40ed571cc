#define _POSIX_C_SOURCE 200809L

#include "relay_args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: zcoap_lossy_relay --server-port PORT [options]\n"
    "Forwards UDP datagrams on a loopback address between clients and one server, injecting\n"
    "seeded faults. Each client (source address and port) gets a socket of its own towards\n"
    "the server, so the server sees as many peers as there are clients.\n"
    "\n"
    "  --address ADDR       loopback address to listen and forward on (default 127.0.0.1;\n"
    "                       ::1 for IPv6); nothing else is accepted\n"
    "  --port PORT          the relay's port (default 0: a free one, printed)\n"
    "  --port-file FILE     write the relay's port to FILE once it listens\n"
    "  --server-port PORT   the server's port on ADDR (required)\n"
    "  --seed N             seed of the fault decisions (default 1)\n"
    "  --seconds N          stop after N seconds (default 120, at most 86400)\n"
    "  -v, --verbose        one line per datagram and fault on stderr\n"
    "Faults, for both directions, or with --up-... (client to server) or --down-... (server\n"
    "to client) for one; PCT is a percentage (30 or 30%), MS milliseconds:\n"
    "  --loss PCT           drop the datagram\n"
    "  --duplicate PCT      send it twice, each copy with its own delay\n"
    "  --reorder PCT        hold it back until the next one in that direction went, or\n"
    "                       --reorder-ms (default 100) passed\n"
    "  --corrupt PCT        flip one random byte of the copy\n"
    "  --delay MS           delay every datagram by MS ...\n"
    "  --jitter MS          ... plus 0 to MS more (uniform)\n"
    "  --reorder-ms MS      the longest a held-back datagram waits\n"
    "On SIGINT, SIGTERM or at --seconds it prints its counters per direction and exits 0.\n";

static bool parse_u64(const char *text, uint64_t max, uint64_t *out)
{
    if (text[0] < '0' || text[0] > '9')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

/* "30", "30%" or "2.5": a percentage from 0 to 100, returned as a probability. */
static bool parse_percent(const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno != 0)
        return false;
    if (*end == '%')
        end++;
    if (*end != '\0' || !(v >= 0.0 && v <= 100.0))
        return false;
    *out = v / 100.0;
    return true;
}

/* A fault option's name without its direction prefix; the prefix selects the directions. */
static const char *fault_name(const char *opt, int *first, int *last)
{
    if (strncmp(opt, "--up-", 5) == 0) {
        *first = *last = RELAY_UP;
        return opt + 5;
    }
    if (strncmp(opt, "--down-", 7) == 0) {
        *first = *last = RELAY_DOWN;
        return opt + 7;
    }
    *first = RELAY_UP;
    *last = RELAY_DOWN;
    return opt + 2;
}

/* Sets fault @p name to @p value in directions first..last. Returns false when @p name is no
 * fault (1) or the value is bad (-1): *bad tells which. */
static bool set_fault(struct relay_args *args, const char *name, const char *value, int first,
                      int last, bool *bad)
{
    double p = 0.0;
    uint64_t ms = 0;
    bool is_percent = strcmp(name, "loss") == 0 || strcmp(name, "duplicate") == 0 ||
                      strcmp(name, "reorder") == 0 || strcmp(name, "corrupt") == 0;
    bool is_ms = strcmp(name, "delay") == 0 || strcmp(name, "jitter") == 0 ||
                 strcmp(name, "reorder-ms") == 0;
    *bad = false;
    if (!is_percent && !is_ms)
        return false;
    if ((is_percent && !parse_percent(value, &p)) ||
        (is_ms && !parse_u64(value, 3600u * 1000u, &ms))) {
        *bad = true;
        return false;
    }
    for (int d = first; d <= last; d++) {
        struct relay_faults *f = &args->faults[d];
        if (strcmp(name, "loss") == 0)
            f->loss = p;
        else if (strcmp(name, "duplicate") == 0)
            f->duplicate = p;
        else if (strcmp(name, "reorder") == 0)
            f->reorder = p;
        else if (strcmp(name, "corrupt") == 0)
            f->corrupt = p;
        else if (strcmp(name, "delay") == 0)
            f->delay_ms = ms;
        else if (strcmp(name, "jitter") == 0)
            f->jitter_ms = ms;
        else
            f->reorder_ms = ms;
    }
    return true;
}

int relay_args_parse(struct relay_args *args, int argc, char **argv, FILE *out, FILE *err)
{
    memset(args, 0, sizeof(*args));
    args->address = "127.0.0.1";
    args->server_port = -1;
    args->seed = 1;
    args->seconds = 120;
    for (int d = 0; d < RELAY_DIRECTIONS; d++)
        args->faults[d].reorder_ms = 100;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            fputs(usage_text, out);
            return 1;
        }
        if (strcmp(opt, "-v") == 0 || strcmp(opt, "--verbose") == 0) {
            args->verbose = true;
            continue;
        }
        if (i + 1 >= argc || strncmp(opt, "--", 2) != 0) {
            fprintf(err, "zcoap_lossy_relay: bad or incomplete option %s\n%s", opt, usage_text);
            return -1;
        }
        const char *value = argv[++i];
        uint64_t n = 0;
        bool ok = true;
        if (strcmp(opt, "--address") == 0) {
            args->address = value;
        } else if (strcmp(opt, "--port") == 0) {
            ok = parse_u64(value, 65535, &n);
            args->port = (int)n;
        } else if (strcmp(opt, "--server-port") == 0) {
            ok = parse_u64(value, 65535, &n) && n > 0;
            args->server_port = (int)n;
        } else if (strcmp(opt, "--port-file") == 0) {
            args->port_file = value;
        } else if (strcmp(opt, "--seed") == 0) {
            ok = parse_u64(value, UINT64_MAX, &args->seed);
        } else if (strcmp(opt, "--seconds") == 0) {
            ok = parse_u64(value, 86400, &n) && n > 0;
            args->seconds = (unsigned long)n;
        } else {
            int first = 0, last = 0;
            bool bad = false;
            const char *name = fault_name(opt, &first, &last);
            if (!set_fault(args, name, value, first, last, &bad)) {
                fprintf(err, "zcoap_lossy_relay: %s %s: %s\n%s", opt, value,
                        bad ? "bad value" : "unknown option", usage_text);
                return -1;
            }
        }
        if (!ok) {
            fprintf(err, "zcoap_lossy_relay: %s %s: bad value\n%s", opt, value, usage_text);
            return -1;
        }
    }
    if (args->server_port < 0) {
        fprintf(err, "zcoap_lossy_relay: --server-port is required\n%s", usage_text);
        return -1;
    }
    return 0;
}
