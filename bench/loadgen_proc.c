/* Process probes for the load generator (see loadgen_proc.h). */
#define _POSIX_C_SOURCE 200809L

#include "loadgen_proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Reads a small /proc file whole; false when it cannot be opened. */
static bool read_small_file(const char *path, char *text, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(text, 1, cap - 1, f);
    text[n] = '\0';
    fclose(f);
    return n > 0;
}

bool loadgen_proc_sample(long pid, loadgen_proc_sample_t *out)
{
    char path[64];
    char text[4096];
    out->cpu_s = -1.0;
    out->rss_kib = -1;
    if (pid <= 0)
        return false;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (read_small_file(path, text, sizeof(text))) {
        /* The command name "(...)" may hold blanks: count fields from its closing parenthesis.
         * After it: state (field 3) ... utime (14), stime (15), in clock ticks (proc(5)). */
        const char *rest = strrchr(text, ')');
        unsigned long long utime = 0;
        unsigned long long stime = 0;
        if (rest != NULL &&
            sscanf(rest + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                   &stime) == 2)
            out->cpu_s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
    }
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    if (read_small_file(path, text, sizeof(text))) {
        const char *rss = strstr(text, "\nVmRSS:");
        if (rss != NULL)
            out->rss_kib = strtol(rss + strlen("\nVmRSS:"), NULL, 10);
    }
    return out->cpu_s >= 0 && out->rss_kib >= 0;
}

double loadgen_own_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}
