/* Results of the load generator (see loadgen_report.h). */
#define _POSIX_C_SOURCE 200809L

#include "loadgen_report.h"

#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void loadgen_latencies_sort(loadgen_latencies_t *lat)
{
    if (lat->n > 1)
        qsort(lat->ns, lat->n, sizeof(*lat->ns), cmp_u64);
}

double loadgen_latency_at(const loadgen_latencies_t *lat, unsigned hundredths_of_percent)
{
    if (lat->n == 0)
        return 0.0;
    /* Nearest rank in integers, so p99.9 of 1000 values is the 999th exactly. */
    uint64_t rank = ((uint64_t)hundredths_of_percent * lat->n + 9999u) / 10000u;
    size_t i = rank == 0 ? 0 : (size_t)(rank - 1u);
    if (i >= lat->n)
        i = lat->n - 1u;
    return (double)lat->ns[i] / 1000.0;
}

void loadgen_result_set_latency(loadgen_result_t *r, const loadgen_latencies_t *lat)
{
    r->have_latency = lat->n > 0;
    r->p50_us = loadgen_latency_at(lat, 5000);
    r->p90_us = loadgen_latency_at(lat, 9000);
    r->p99_us = loadgen_latency_at(lat, 9900);
    r->p999_us = loadgen_latency_at(lat, 9990);
    r->max_us = loadgen_latency_at(lat, 10000);
}

void loadgen_print_line(FILE *out, const loadgen_result_t *r)
{
    fprintf(out, "%s: %.0f req/s, %llu completed, %llu errors, %llu timeouts", r->label,
            r->req_per_s, (unsigned long long)r->completed, (unsigned long long)r->errors,
            (unsigned long long)r->timeouts);
    if (r->have_latency)
        fprintf(out, ", p50 %.1f us p90 %.1f us p99 %.1f us p99.9 %.1f us max %.1f us", r->p50_us,
                r->p90_us, r->p99_us, r->p999_us, r->max_us);
    fprintf(out, ", loadgen CPU %.0f%%", r->loadgen_cpu_pct);
    if (r->server_cpu_us_per_req >= 0)
        fprintf(out, ", server %.1f us CPU/req", r->server_cpu_us_per_req);
    if (r->server_rss_kib >= 0)
        fprintf(out, ", server RSS %ld KiB", r->server_rss_kib);
    fputc('\n', out);
}

/* A CSV text field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
static void csv_text(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Opens @p path for appending; *@p empty tells whether a header is due. */
static FILE *open_append(const char *path, bool *empty)
{
    FILE *f = fopen(path, "a");
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    *empty = ftell(f) == 0; /* "a" positions at the end */
    return f;
}

bool loadgen_append_csv(const char *path, const loadgen_result_t *r)
{
    bool empty = false;
    FILE *f = open_append(path, &empty);
    if (f == NULL)
        return false;
    if (empty)
        fputs("label,type,window,sockets,sent,completed,errors,timeouts,seconds,req_per_s,p50_us,"
              "p90_us,p99_us,p999_us,max_us,loadgen_cpu_pct,server_cpu_us_per_req,"
              "server_rss_kib\n",
              f);
    csv_text(f, r->label);
    fprintf(f, ",%s,%u,%u,%llu,%llu,%llu,%llu,%.3f,%.0f,", r->type, r->window, r->sockets,
            (unsigned long long)r->sent, (unsigned long long)r->completed,
            (unsigned long long)r->errors, (unsigned long long)r->timeouts, r->seconds,
            r->req_per_s);
    if (r->have_latency)
        fprintf(f, "%.3f,%.3f,%.3f,%.3f,%.3f,", r->p50_us, r->p90_us, r->p99_us, r->p999_us,
                r->max_us);
    else
        fputs(",,,,,", f);
    fprintf(f, "%.1f,", r->loadgen_cpu_pct);
    if (r->server_cpu_us_per_req >= 0)
        fprintf(f, "%.3f", r->server_cpu_us_per_req);
    fputc(',', f);
    if (r->server_rss_kib >= 0)
        fprintf(f, "%ld", r->server_rss_kib);
    fputc('\n', f);
    return fclose(f) == 0;
}

bool loadgen_write_cdf(const char *path, const loadgen_latencies_t *lat)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return false;
    }
    fputs("percentile,latency_us\n", f);
    /* 0.0, 0.1, ... 100.0, with 99.99 between 99.9 and 100.0 for the tail. */
    for (unsigned tenths = 0; tenths <= 1000; tenths++) {
        if (tenths == 1000)
            fprintf(f, "99.99,%.3f\n", loadgen_latency_at(lat, 9999));
        fprintf(f, "%u.%u,%.3f\n", tenths / 10u, tenths % 10u,
                loadgen_latency_at(lat, tenths * 10u));
    }
    return fclose(f) == 0;
}

FILE *loadgen_series_open(const char *path)
{
    bool empty = false;
    FILE *f = open_append(path, &empty);
    if (f != NULL && empty)
        fputs("label,t_s,completed,req_per_s,server_rss_kib,server_cpu_pct\n", f);
    return f;
}

void loadgen_series_row(FILE *f, const char *label, double t_s, uint64_t completed,
                        double req_per_s, long server_rss_kib, double server_cpu_pct)
{
    csv_text(f, label);
    fprintf(f, ",%.3f,%llu,%.0f,", t_s, (unsigned long long)completed, req_per_s);
    if (server_rss_kib >= 0)
        fprintf(f, "%ld", server_rss_kib);
    fputc(',', f);
    if (server_cpu_pct >= 0)
        fprintf(f, "%.1f", server_cpu_pct);
    fputc('\n', f);
    fflush(f); /* a soak can be watched while it runs */
}
