/*
 * zcoap_codec_bench: parse, parse + walk and build of a typical request with zcoap and with
 * libcoap, in one run, side by side (issue 2; DESIGN.md §10: ratios against libcoap).
 *
 * Timing: CLOCK_MONOTONIC around a batch of iterations auto-calibrated so that each case and
 * library gets about --seconds in total, split over --reps repetitions; the best (minimum)
 * repetition counts, and the libraries alternate repetition by repetition so machine noise
 * hits both. Every case returns a checksum over all its iterations, stored in a volatile sink,
 * so nothing can be optimised away.
 *
 * Usage: zcoap_codec_bench [--iterations N] [--reps R] [--seconds S]
 *                          [--only zcoap|libcoap] [--case parse|walk|build|build_alloc] [--csv]
 * --iterations fixes the batch size (no calibration; for callgrind, with --reps 1).
 * Exit status 3: the --case asked for does not exist for the library asked for (libcoap's
 * reused-PDU build needs its static archive).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec_bench.h"

const uint8_t bench_token[4] = {0x01, 0x02, 0x03, 0x04};

/* RFC 7252 §3 by hand: header (ver 1, CON, TKL 4), GET, MID; token; then options with their
 * deltas: Uri-Path 11 "sensors" (0xB7), Uri-Path +0 "temp" (0x04), Uri-Query +4 "unit=c"
 * (0x46), Accept +2, 1 byte, 50 (0x21 0x32). */
const uint8_t bench_wire[30] = {0x44, 0x01, 0x12, 0x34, 0x01, 0x02, 0x03, 0x04, 0xB7, 0x73,
                                0x65, 0x6E, 0x73, 0x6F, 0x72, 0x73, 0x04, 0x74, 0x65, 0x6D,
                                0x70, 0x46, 0x75, 0x6E, 0x69, 0x74, 0x3D, 0x63, 0x21, 0x32};

const uint8_t *volatile bench_input = bench_wire;

static volatile uint64_t sink;

enum { CASE_PARSE, CASE_WALK, CASE_BUILD, CASE_BUILD_ALLOC, N_CASES };

static const char *const case_names[N_CASES] = {"parse", "walk", "build", "build_alloc"};

static const char *const case_help[N_CASES] = {
    "parse and validate the datagram",
    "parse, then visit every option (number, length, value bytes; Accept as uint)",
    "header + token + 4 options into a reused buffer/PDU",
    "the same, plus whatever allocation the API needs per message",
};

static bench_case_fn case_fn(const bench_lib_t *lib, int c)
{
    switch (c) {
    case CASE_PARSE:
        return lib->parse;
    case CASE_WALK:
        return lib->walk;
    case CASE_BUILD:
        return lib->build;
    default:
        return lib->build_alloc;
    }
}

typedef struct options {
    uint64_t iterations; /* batch size when fixed */
    int fixed;           /* --iterations given (0 is allowed: a baseline for callgrind) */
    unsigned reps;
    double seconds;
    const char *only; /* NULL: both */
    int only_case;    /* -1: all */
    int csv;
} options_t;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs one batch; returns its duration in ns and exits if the case reported a failure. */
static uint64_t run_batch(const bench_lib_t *lib, int c, uint64_t iterations)
{
    bench_case_fn fn = case_fn(lib, c);
    uint64_t start = now_ns();
    uint64_t sum = fn(iterations);
    uint64_t elapsed = now_ns() - start;
    if (sum == 0 && iterations > 0) {
        fprintf(stderr, "%s %s: the case failed\n", lib->name, case_names[c]);
        exit(1);
    }
    sink += sum;
    return elapsed;
}

/* Batch size for about `target_ns` per batch; the doubling phase doubles as warm-up. */
static uint64_t calibrate(const bench_lib_t *lib, int c, double target_ns)
{
    uint64_t n = 1000;
    uint64_t t = run_batch(lib, c, n);
    while (t < 10000000u) { /* 10 ms: long enough to scale from */
        n *= 2;
        t = run_batch(lib, c, n);
    }
    double scaled = (double)n * target_ns / (double)t;
    return scaled < 1000.0 ? 1000u : (uint64_t)scaled;
}

static int parse_args(int argc, char **argv, options_t *o)
{
    *o = (options_t){.iterations = 0, .reps = 7, .seconds = 0.3, .only = NULL, .only_case = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--csv") == 0) {
            o->csv = 1;
            continue;
        }
        if (v == NULL)
            return -1;
        i++;
        if (strcmp(a, "--iterations") == 0) {
            o->iterations = strtoull(v, NULL, 10);
            o->fixed = 1;
        } else if (strcmp(a, "--reps") == 0) {
            o->reps = (unsigned)strtoul(v, NULL, 10);
            if (o->reps == 0)
                return -1;
        } else if (strcmp(a, "--seconds") == 0) {
            o->seconds = strtod(v, NULL);
            if (!(o->seconds > 0.0))
                return -1;
        } else if (strcmp(a, "--only") == 0) {
            if (strcmp(v, "zcoap") != 0 && strcmp(v, "libcoap") != 0)
                return -1;
            o->only = v;
        } else if (strcmp(a, "--case") == 0) {
            o->only_case = -1;
            for (int c = 0; c < N_CASES; c++) {
                if (strcmp(v, case_names[c]) == 0)
                    o->only_case = c;
            }
            if (o->only_case < 0)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

static void hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

/* Checks, before any timing, that the cases do the same work and zcoap encodes correctly.
 * Returns the verdict line for the build case. */
static const char *verify(const bench_lib_t *const *libs, size_t n_libs)
{
    static char verdict[160];
    uint8_t out[2][BENCH_MSG_CAP];
    size_t len[2] = {0};
    for (size_t l = 0; l < n_libs; l++) {
        len[l] = libs[l]->encode_once(out[l]);
        if (len[l] != sizeof(bench_wire) || memcmp(out[l], bench_wire, len[l]) != 0) {
            printf("%s encodes the request as ", libs[l]->name);
            hex(out[l], len[l]);
            printf("\nexpected                      ");
            hex(bench_wire, sizeof(bench_wire));
            printf("\n");
        }
    }
    if (n_libs == 2) {
        bool same = len[0] == len[1] && memcmp(out[0], out[1], len[0]) == 0;
        uint64_t walk0 = libs[0]->walk(1);
        uint64_t walk1 = libs[1]->walk(1);
        snprintf(verdict, sizeof(verdict),
                 "build output: %s (%zu and %zu bytes); walk checksums: %s",
                 same ? "identical" : "DIFFERENT", len[0], len[1],
                 walk0 == walk1 ? "identical" : "DIFFERENT");
    } else {
        snprintf(verdict, sizeof(verdict), "build output: %s (%zu bytes)",
                 len[0] == sizeof(bench_wire) && memcmp(out[0], bench_wire, len[0]) == 0
                     ? "as expected"
                     : "DIFFERENT from the expected bytes",
                 len[0]);
    }
    return verdict;
}

static void print_table(const options_t *o, const bench_lib_t *const *libs, size_t n_libs,
                        double best[N_CASES][2], const char *verdict)
{
    printf("zcoap codec benchmark\n");
    for (size_t l = 0; l < n_libs; l++) {
        printf("  %s, %s\n", libs[l]->version(), libs[l]->linkage);
    }
    printf("message: CON GET MID 0x%04x, token ", BENCH_MID);
    hex(bench_token, sizeof(bench_token));
    printf(", Uri-Path \"%s\", Uri-Path \"%s\", Uri-Query \"%s\", Accept %u (%zu bytes)\n",
           BENCH_PATH0, BENCH_PATH1, BENCH_QUERY, BENCH_ACCEPT, sizeof(bench_wire));
    printf("timing: best of %u repetitions per case and library, libraries interleaved, %s\n\n",
           o->reps, o->fixed ? "fixed batch size" : "batches calibrated");

    printf("%-12s %14s %16s %16s\n", "case", "zcoap ns/msg", "libcoap ns/msg", "libcoap/zcoap");
    for (int c = 0; c < N_CASES; c++) {
        if (o->only_case >= 0 && c != o->only_case)
            continue;
        double z = -1.0;
        double lc = -1.0;
        for (size_t l = 0; l < n_libs; l++) {
            if (libs[l] == &bench_zcoap)
                z = best[c][l];
            else
                lc = best[c][l];
        }
        char zs[32] = "-";
        char ls[32] = "-";
        char rs[32] = "-";
        if (z >= 0.0)
            snprintf(zs, sizeof(zs), "%.1f", z);
        if (lc >= 0.0)
            snprintf(ls, sizeof(ls), "%.1f", lc);
        if (z > 0.0 && lc > 0.0)
            snprintf(rs, sizeof(rs), "%.2fx faster", lc / z);
        printf("%-12s %14s %16s %16s\n", case_names[c], zs, ls, rs);
    }
    printf("\n");
    for (int c = 0; c < N_CASES; c++)
        printf("  %-12s %s\n", case_names[c], case_help[c]);
    printf("\n%s\n", verdict);
    for (size_t l = 0; l < n_libs; l++)
        printf("%s: %s\n", libs[l]->name, libs[l]->how);
}

int main(int argc, char **argv)
{
    options_t o;
    if (parse_args(argc, argv, &o) != 0) {
        fprintf(stderr,
                "usage: %s [--iterations N] [--reps R] [--seconds S] [--only zcoap|libcoap]\n"
                "          [--case parse|walk|build|build_alloc] [--csv]\n",
                argv[0]);
        return 2;
    }

    const bench_lib_t *libs[2];
    size_t n_libs = 0;
    if (o.only == NULL || strcmp(o.only, "zcoap") == 0)
        libs[n_libs++] = &bench_zcoap;
#ifdef ZCOAP_BENCH_HAVE_LIBCOAP
    if (o.only == NULL || strcmp(o.only, "libcoap") == 0) {
        if (!bench_libcoap_init()) {
            fprintf(stderr, "libcoap: cannot create PDUs\n");
            return 1;
        }
        libs[n_libs++] = &bench_libcoap;
    }
#else
    if (o.only != NULL && strcmp(o.only, "libcoap") == 0) {
        fprintf(stderr, "built without libcoap (libcoap3-dev not found at configure time)\n");
        return 2;
    }
#endif
    if (o.only_case >= 0) {
        bool any = false;
        for (size_t l = 0; l < n_libs; l++)
            any = any || case_fn(libs[l], o.only_case) != NULL;
        if (!any) {
            fprintf(stderr, "case %s is not available for %s\n", case_names[o.only_case],
                    libs[n_libs - 1]->name);
            return 3;
        }
    }
    const char *verdict = verify(libs, n_libs);

    /* best[case][lib] in ns per message; negative: not measured. */
    double best[N_CASES][2];
    uint64_t batch[N_CASES][2] = {{0}};
    for (int c = 0; c < N_CASES; c++) {
        for (size_t l = 0; l < 2; l++)
            best[c][l] = -1.0;
    }
    double target_ns = o.seconds * 1e9 / o.reps;
    for (int c = 0; c < N_CASES; c++) {
        if (o.only_case >= 0 && c != o.only_case)
            continue;
        for (size_t l = 0; l < n_libs; l++) {
            if (case_fn(libs[l], c) != NULL)
                batch[c][l] = o.fixed ? o.iterations : calibrate(libs[l], c, target_ns);
        }
        for (unsigned r = 0; r < o.reps; r++) {
            for (size_t l = 0; l < n_libs; l++) {
                if (case_fn(libs[l], c) == NULL)
                    continue;
                uint64_t t = run_batch(libs[l], c, batch[c][l]);
                double per = batch[c][l] > 0 ? (double)t / (double)batch[c][l] : 0.0;
                if (best[c][l] < 0.0 || per < best[c][l])
                    best[c][l] = per;
            }
        }
    }

    if (o.csv) {
        /* One column per library measured; an empty cell for a case a library lacks. */
        printf("case");
        for (size_t l = 0; l < n_libs; l++)
            printf(",%s_ns_per_msg", libs[l]->name);
        printf(n_libs > 1 ? ",ratio\n" : "\n");
        for (int c = 0; c < N_CASES; c++) {
            if (best[c][0] < 0.0 && best[c][1] < 0.0)
                continue;
            printf("%s", case_names[c]);
            for (size_t l = 0; l < n_libs; l++) {
                if (best[c][l] >= 0.0)
                    printf(",%.2f", best[c][l]);
                else
                    printf(",");
            }
            if (n_libs > 1 && best[c][0] > 0.0 && best[c][1] > 0.0)
                printf(",%.2f", best[c][1] / best[c][0]);
            else if (n_libs > 1)
                printf(",");
            printf("\n");
        }
    } else {
        print_table(&o, libs, n_libs, best, verdict);
    }
#ifdef ZCOAP_BENCH_HAVE_LIBCOAP
    if (o.only == NULL || strcmp(o.only, "libcoap") == 0)
        bench_libcoap_fini();
#endif
    return 0;
}
