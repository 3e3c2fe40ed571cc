/* The command line of lwm2m-client. */
#define _POSIX_C_SOURCE 200809L

#include "lwm2m_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_SERVER "coap://127.0.0.1:5683"
#define DEFAULT_ENDPOINT "zcoap-lwm2m-client"
#define DEFAULT_LIFETIME_S 86400u /* TS Core §6.2.1: the lifetime's default */
#define DEFAULT_DEREGISTER_WAIT_MS 3000u
#define ENDPOINT_NAME_MAX 64

static void usage(FILE *to)
{
    fprintf(to,
            "usage: " PROGRAM " [-s URI] [-e NAME] [-l SECONDS] [-m SECONDS] [-d SECONDS]\n"
            "                    [-w MS] [-b ADDR:PORT] [-S ADDR:PORT] [-v]\n"
            "An LwM2M 1.1 client: registers the Device object /3/0 to an LwM2M server or\n"
            "resource directory, keeps the registration up to date, deregisters on exit.\n"
            "  -s URI        the server (default " DEFAULT_SERVER ")\n"
            "  -e NAME       endpoint name, ep= (default " DEFAULT_ENDPOINT ")\n"
            "  -l SECONDS    registration lifetime, lt= (default %u)\n"
            "  -m SECONDS    send the update this long before the lifetime ends\n"
            "                (default: 10 %% of it, at least 2 s, at most half)\n"
            "  -d SECONDS    deregister and exit after this long (default: on SIGINT/SIGTERM)\n"
            "  -w MS         how long the deregistration waits for its answer (default %u)\n"
            "  -b ADDR:PORT  bind the registration's socket there ([::1]:PORT for IPv6)\n"
            "  -S ADDR:PORT  also serve /3/0 to anyone there (for coap-client-notls)\n"
            "  -v            print every datagram and every request served\n"
            "Exit status: 0 registered at least once, 1 never registered, 2 usage.\n",
            DEFAULT_LIFETIME_S, DEFAULT_DEREGISTER_WAIT_MS);
}

static bool parse_u32(const char *s, uint32_t min, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > UINT32_MAX || v < min)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* "127.0.0.1:5683" or "[::1]:5683". */
static bool parse_addr(const char *s, struct sockaddr_storage *out)
{
    char host[64];
    const char *port;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
            return false;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
            return false;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    }
    uint32_t p;
    if (!parse_u32(port, 0, &p) || p > 65535u)
        return false;
    memset(out, 0, sizeof(*out));
    if (uv_ip4_addr(host, (int)p, (struct sockaddr_in *)out) == 0)
        return true;
    return uv_ip6_addr(host, (int)p, (struct sockaddr_in6 *)out) == 0;
}

/* The name goes into a Uri-Query as it is: keep to characters that need no escaping. */
static bool endpoint_name_ok(const char *name)
{
    size_t len = strlen(name);
    return len > 0 && len <= ENDPOINT_NAME_MAX &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~:-") ==
               len;
}

int lwm2m_parse_args(int argc, char **argv, lwm2m_options_t *o, bool *help)
{
    memset(o, 0, sizeof(*o));
    o->server_uri = DEFAULT_SERVER;
    o->endpoint_name = DEFAULT_ENDPOINT;
    o->lifetime_s = DEFAULT_LIFETIME_S;
    o->deregister_wait_ms = DEFAULT_DEREGISTER_WAIT_MS;
    *help = false;
    int c;
    while ((c = getopt(argc, argv, "s:e:l:m:d:w:b:S:vh")) != -1) {
        bool ok = true;
        switch (c) {
        case 's':
            o->server_uri = optarg;
            break;
        case 'e':
            o->endpoint_name = optarg;
            ok = endpoint_name_ok(optarg);
            break;
        case 'l':
            ok = parse_u32(optarg, 1, &o->lifetime_s);
            break;
        case 'm':
            ok = parse_u32(optarg, 0, &o->update_margin_s);
            break;
        case 'd':
            ok = parse_u32(optarg, 0, &o->duration_s);
            break;
        case 'w':
            ok = parse_u32(optarg, 1, &o->deregister_wait_ms);
            break;
        case 'b':
            ok = o->bind_set = parse_addr(optarg, &o->bind_addr);
            break;
        case 'S':
            ok = o->serve_set = parse_addr(optarg, &o->serve_addr);
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            usage(stdout);
            *help = true;
            return 0;
        default: /* getopt has said what is wrong */
            usage(stderr);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, PROGRAM ": bad value for -%c: %s\n", c, optarg);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (o->update_margin_s >= o->lifetime_s && o->update_margin_s != 0) {
        fprintf(stderr, PROGRAM ": -m must be shorter than the lifetime (-l)\n");
        return 2;
    }
    return 0;
}
