/* The gateway's command line (options.h): short and long options, "--name value" or
 * "--name=value", checked ranges, a usage text. */
#define _POSIX_C_SOURCE 200809L

#include "options.h"

#include <stdlib.h>
#include <string.h>

void gw_options_usage(FILE *out)
{
    fprintf(out,
            "usage: gateway [OPTIONS]\n"
            "Simulates CoAP devices and bridges them through one gateway, all on one libuv loop.\n"
            "Each device serves an observable /temp and a writable /led; the gateway observes\n"
            "every /temp and serves /devices, /devices/NAME/temp (observable) and\n"
            "/devices/NAME/led (GET, PUT \"on\"/\"off\", relayed to the device).\n"
            "\n"
            "  -n, --devices N        simulated devices (default %d; 0 with --external)\n"
            "  -e, --external [NAME=]URL\n"
            "                         bridge a device at coap://HOST[:PORT][/BASE] too: its\n"
            "                         BASE/temp is observed, BASE/led relayed (repeatable)\n"
            "  -A, --address ADDR     the gateway's address (default 127.0.0.1)\n"
            "  -p, --port PORT        the gateway's port (default %d; 0: a free port)\n"
            "      --device-port PORT first simulated device's port, then PORT+1...\n"
            "                         (default 0: free ports)\n"
            "  -d, --duration S       stop after S seconds (default %d; 0: at Ctrl-C only)\n"
            "      --slow PERCENT     simulated devices answering /led slowly (default %d)\n"
            "      --slow-ms MS       how slowly (default %d ms)\n"
            "      --flaky PERCENT    simulated devices that go silent now and then, to see\n"
            "                         them go offline and come back (default %d)\n"
            "      --outage S         how long they stay silent (default %d s)\n"
            "      --seed N           seed of the simulated temperatures (default 1)\n"
            "      --status S         status every S seconds (default 1 on a terminal, else 5)\n"
            "  -v, --verbose          print each device's address, state changes and relays\n"
            "  -h, --help             this text\n",
            GW_DEFAULT_DEVICES, GW_DEFAULT_PORT, GW_DEFAULT_DURATION_S, GW_DEFAULT_SLOW_PERCENT,
            GW_DEFAULT_SLOW_MS, GW_DEFAULT_FLAKY_PERCENT, GW_DEFAULT_OUTAGE_S);
}

/* A decimal number in [min, max], or -1. */
static long long parse_number(const char *s, long long min, long long max)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    return (*s != '\0' && *end == '\0' && v >= min && v <= max) ? v : -1;
}

enum opt_id {
    OPT_DEVICES,
    OPT_EXTERNAL,
    OPT_ADDRESS,
    OPT_PORT,
    OPT_DEVICE_PORT,
    OPT_DURATION,
    OPT_SLOW,
    OPT_SLOW_MS,
    OPT_FLAKY,
    OPT_OUTAGE,
    OPT_SEED,
    OPT_STATUS,
    OPT_VERBOSE,
    OPT_HELP
};

static const struct opt_def {
    char short_name; /* 0: long only */
    const char *long_name;
    bool has_value;
    enum opt_id id;
} opt_defs[] = {
    {'n', "devices", true, OPT_DEVICES},
    {'e', "external", true, OPT_EXTERNAL},
    {'A', "address", true, OPT_ADDRESS},
    {'p', "port", true, OPT_PORT},
    {0, "device-port", true, OPT_DEVICE_PORT},
    {'d', "duration", true, OPT_DURATION},
    {0, "slow", true, OPT_SLOW},
    {0, "slow-ms", true, OPT_SLOW_MS},
    {0, "flaky", true, OPT_FLAKY},
    {0, "outage", true, OPT_OUTAGE},
    {0, "seed", true, OPT_SEED},
    {0, "status", true, OPT_STATUS},
    {'v', "verbose", false, OPT_VERBOSE},
    {'h', "help", false, OPT_HELP},
};

/* The definition @p arg names ("-n", "--devices" or "--devices=..."), or NULL; @p inline_value
 * is set to what follows '=' in a long option. */
static const struct opt_def *find_opt(char *arg, char **inline_value)
{
    *inline_value = NULL;
    for (size_t i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++) {
        const struct opt_def *d = &opt_defs[i];
        if (arg[0] == '-' && arg[1] != '-' && arg[1] == d->short_name && d->short_name != 0 &&
            arg[2] == '\0')
            return d;
        if (strncmp(arg, "--", 2) != 0)
            continue;
        size_t len = strlen(d->long_name);
        if (strncmp(arg + 2, d->long_name, len) != 0)
            continue;
        if (arg[2 + len] == '\0')
            return d;
        if (arg[2 + len] == '=' && d->has_value) {
            *inline_value = arg + 3 + len;
            return d;
        }
    }
    return NULL;
}

static bool add_external(struct gw_options *o, char *arg)
{
    struct gw_external *grown = realloc(o->external, (o->n_external + 1) * sizeof(*grown));
    if (grown == NULL)
        return false;
    o->external = grown;
    struct gw_external *e = &o->external[o->n_external++];
    char *eq = strchr(arg, '=');
    char *scheme = strstr(arg, "://");
    if (eq != NULL && (scheme == NULL || eq < scheme)) {
        *eq = '\0'; /* NAME=URL: argv's own storage, which lives as long as the program */
        e->name = arg;
        e->url = eq + 1;
    } else {
        e->name = NULL;
        e->url = arg;
    }
    /* BASE/temp and BASE/led are made by appending: no query or fragment */
    return strncmp(e->url, "coap://", 7) == 0 && strpbrk(e->url, "?#") == NULL &&
           (e->name == NULL ||
            (e->name[0] != '\0' && strlen(e->name) < 32 && strpbrk(e->name, "/?#") == NULL));
}

/* Apply option @p d with @p value; false for a bad value. */
static bool apply(struct gw_options *o, const struct opt_def *d, char *value)
{
    long long v = 0;
    switch (d->id) {
    case OPT_DEVICES:
        v = parse_number(value, 0, GW_MAX_DEVICES);
        o->devices = (size_t)v;
        break;
    case OPT_EXTERNAL:
        return add_external(o, value);
    case OPT_ADDRESS:
        o->address = value;
        break;
    case OPT_PORT:
        v = parse_number(value, 0, 65535);
        o->port = (uint16_t)v;
        break;
    case OPT_DEVICE_PORT:
        v = parse_number(value, 0, 65535);
        o->device_port = (uint16_t)v;
        break;
    case OPT_DURATION:
        v = parse_number(value, 0, 365LL * 24 * 3600);
        o->duration_s = (unsigned)v;
        break;
    case OPT_SLOW:
        v = parse_number(value, 0, 100);
        o->slow_percent = (unsigned)v;
        break;
    case OPT_SLOW_MS:
        v = parse_number(value, 0, 600000);
        o->slow_ms = (unsigned)v;
        break;
    case OPT_FLAKY:
        v = parse_number(value, 0, 100);
        o->flaky_percent = (unsigned)v;
        break;
    case OPT_OUTAGE:
        v = parse_number(value, 1, 3600);
        o->outage_s = (unsigned)v;
        break;
    case OPT_SEED:
        v = parse_number(value, 0, 0x7FFFFFFFFFFFFFFFLL);
        o->seed = (uint64_t)v;
        break;
    case OPT_STATUS: {
        char *end;
        double s = strtod(value, &end);
        if (*value == '\0' || *end != '\0' || !(s >= 0.1 && s <= 3600))
            return false;
        o->status_interval_s = s;
        break;
    }
    case OPT_VERBOSE:
        o->verbose = true;
        break;
    case OPT_HELP:
        break;
    }
    return v >= 0;
}

int gw_options_parse(struct gw_options *o, int argc, char **argv)
{
    *o = (struct gw_options){.devices = GW_DEFAULT_DEVICES,
                             .address = "127.0.0.1",
                             .port = GW_DEFAULT_PORT,
                             .duration_s = GW_DEFAULT_DURATION_S,
                             .slow_percent = GW_DEFAULT_SLOW_PERCENT,
                             .slow_ms = GW_DEFAULT_SLOW_MS,
                             .flaky_percent = GW_DEFAULT_FLAKY_PERCENT,
                             .outage_s = GW_DEFAULT_OUTAGE_S,
                             .seed = 1};
    for (int i = 1; i < argc; i++) {
        char *value = NULL; /* writable: add_external() cuts NAME=URL in place */
        const struct opt_def *d = find_opt(argv[i], &value);
        if (d == NULL) {
            fprintf(stderr, "gateway: unknown option '%s' (--help lists them)\n", argv[i]);
            return 2;
        }
        if (d->id == OPT_HELP) {
            gw_options_usage(stdout);
            return 0;
        }
        if (d->has_value && value == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "gateway: %s needs a value\n", argv[i]);
                return 2;
            }
            value = argv[++i];
        }
        if (!apply(o, d, value)) {
            fprintf(stderr, "gateway: bad value '%s' for --%s\n", value != NULL ? value : "",
                    d->long_name);
            return 2;
        }
    }
    if (o->devices + o->n_external == 0) {
        fprintf(stderr, "gateway: no device: give -n N or --external URL\n");
        return 2;
    }
    if (o->device_port != 0 && o->devices > 65536u - o->device_port) {
        fprintf(stderr, "gateway: --device-port %u leaves room for %u devices only\n",
                (unsigned)o->device_port, 65536u - o->device_port);
        return 2;
    }
    return -1;
}

void gw_options_free(struct gw_options *o)
{
    free(o->external);
    o->external = NULL;
    o->n_external = 0;
}
