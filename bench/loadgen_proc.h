/*
 * What the load generator reads about processes: the server's CPU time and resident set from
 * /proc/PID, and its own CPU time (getrusage).
 */
#ifndef ZCOAP_BENCH_LOADGEN_PROC_H
#define ZCOAP_BENCH_LOADGEN_PROC_H

#include <stdbool.h>

/* One look at a process; a field is negative when it could not be read. */
typedef struct loadgen_proc_sample {
    double cpu_s; /* utime + stime of all its threads (/proc/PID/stat), clock-tick resolution */
    long rss_kib; /* VmRSS (/proc/PID/status) */
} loadgen_proc_sample_t;

/* Samples process @p pid; false (and both fields -1) when it is gone or unreadable. */
bool loadgen_proc_sample(long pid, loadgen_proc_sample_t *out);

/* This process's user + system CPU time in seconds. */
double loadgen_own_cpu_s(void);

#endif
