/*
 * The load generator's results: exact latency percentiles (sorting every latency), the human
 * line, the CSV row, the latency CDF and the per-second series rows (formats: bench/README.md).
 */
#ifndef ZCOAP_BENCH_LOADGEN_REPORT_H
#define ZCOAP_BENCH_LOADGEN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Latencies of the completed requests in ns, sorted ascending by loadgen_latencies_sort(). */
typedef struct loadgen_latencies {
    uint64_t *ns;
    size_t n;
} loadgen_latencies_t;

void loadgen_latencies_sort(loadgen_latencies_t *lat);

/* The latency at @p hundredths_of_percent (0 ... 10000; 9999 = p99.99) in us, nearest rank: the
 * smallest latency that at least that share of the requests did not exceed. 0 when empty. */
double loadgen_latency_at(const loadgen_latencies_t *lat, unsigned hundredths_of_percent);

typedef struct loadgen_result {
    const char *label;
    const char *type; /* "con" or "non" */
    unsigned window;
    unsigned sockets;
    uint64_t sent;
    uint64_t completed; /* answered 2.xx within the timeout */
    uint64_t errors;    /* answered with another code, or a Reset */
    uint64_t timeouts;  /* no answer within the timeout */
    double seconds;     /* from the first request to the last answer */
    double req_per_s;   /* completed / seconds */
    bool have_latency;  /* completed > 0 */
    double p50_us, p90_us, p99_us, p999_us, max_us;
    double loadgen_cpu_pct;       /* own user + system CPU over wall time, % of one core */
    double server_cpu_us_per_req; /* < 0: unknown */
    long server_rss_kib;          /* < 0: unknown */
} loadgen_result_t;

/* Fills the percentile fields from sorted latencies. */
void loadgen_result_set_latency(loadgen_result_t *r, const loadgen_latencies_t *lat);

/* The one human line. */
void loadgen_print_line(FILE *out, const loadgen_result_t *r);

/* Appends one CSV row to @p path, the header first when the file is new or empty. */
bool loadgen_append_csv(const char *path, const loadgen_result_t *r);

/* Writes the CDF (percentile,latency_us) to @p path, replacing it. */
bool loadgen_write_cdf(const char *path, const loadgen_latencies_t *lat);

/* Opens the series file for appending, writing its header when it is new or empty. */
FILE *loadgen_series_open(const char *path);

/* One per-second row; negative server values are written empty. */
void loadgen_series_row(FILE *f, const char *label, double t_s, uint64_t completed,
                        double req_per_s, long server_rss_kib, double server_cpu_pct);

#endif
