/* The live status line, the log and the summary (status.h). One status per process. */
#define _POSIX_C_SOURCE 200809L

#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "gateway.h"
#include "sim_device.h"

static struct status {
    struct gateway *gw;
    const struct sim_fleet *fleet;
    uv_timer_t timer;
    bool running;
    bool tty;          /* stdout is a terminal: rewrite one line */
    bool line_shown;   /* the status lines are on the screen, the cursor at the end of the 2nd */
    uint64_t last_ms;  /* uv_now() of the last status */
    uint64_t last_in;  /* notifications from the devices then */
    uint64_t last_out; /* notifications to the gateway's observers then */
    char line1[160];   /* devices and notifications */
    char line2[160];   /* relays */
} status;

static uint64_t notifications_out(const struct gateway *gw)
{
    if (!gw->server_started)
        return 0;
    const zcoap_uv_server_stats_t *st = zcoap_uv_server_stats(&gw->server);
    return st->notifications_non + st->notifications_con;
}

static double seconds_since_start(const struct gateway *gw)
{
    return (double)(uv_now(gw->loop) - gw->start_ms) / 1000.0;
}

/* The terminal's width in columns, 80 when it does not say. */
static int terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* Erase the status lines from the screen: the cursor goes to the start of the first. */
static void erase_lines(void)
{
    if (status.line_shown)
        printf("\r\033[1A\033[J"); /* CR, one row up, erase to the end of the screen */
    status.line_shown = false;
}

/* Put the status on the screen: two lines in place on a terminal (each cut to its width: a
 * wrapped line would take a row more than the cursor goes up), one line elsewhere. */
static void show_line(void)
{
    if (status.tty) {
        int width = terminal_columns() - 1; /* ASCII: one byte per column */
        erase_lines();
        printf("%.*s\n%.*s", width, status.line1, width, status.line2);
        status.line_shown = true;
    } else {
        printf("%s |%s\n", status.line1, status.line2 + 9); /* line2 starts with 10 blanks */
    }
    fflush(stdout);
}

void gw_log(const char *fmt, ...)
{
    bool shown = status.line_shown;
    erase_lines(); /* the log line takes the status lines' place; they come back below it */
    va_list ap;
    va_start(ap, fmt);
    if (status.gw != NULL)
        printf("[%5.1f s] ", seconds_since_start(status.gw));
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (shown)
        show_line();
    fflush(stdout);
}

static void on_status(uv_timer_t *t)
{
    (void)t;
    const struct gateway *gw = status.gw;
    uint64_t now = uv_now(gw->loop);
    double dt = (double)(now - status.last_ms) / 1000.0;
    uint64_t in = gw->count.notifications_in, out = notifications_out(gw);
    double in_rate = dt > 0 ? (double)(in - status.last_in) / dt : 0;
    double out_rate = dt > 0 ? (double)(out - status.last_out) / dt : 0;
    status.last_ms = now;
    status.last_in = in;
    status.last_out = out;
    size_t observers =
        gw->server_started ? zcoap_uv_server_stats(&gw->server)->observers_in_use : 0;
    snprintf(status.line1, sizeof(status.line1),
             "[%5.1f s] devices %zu/%zu online | notifications %.0f/s in, %.0f/s out to %zu "
             "observers",
             seconds_since_start(gw), gw->online, gw->n_links, in_rate, out_rate, observers);
    snprintf(status.line2, sizeof(status.line2),
             "          relayed %llu requests (%llu separate responses), %llu failed, %llu refused",
             (unsigned long long)gw->count.relayed, (unsigned long long)gw->count.relayed_late,
             (unsigned long long)gw->count.relay_failed,
             (unsigned long long)gw->count.relay_refused);
    show_line();
}

int status_start(struct gateway *gw, const struct sim_fleet *fleet, double interval_s)
{
    status.gw = gw;
    status.fleet = fleet;
    status.tty = isatty(STDOUT_FILENO) == 1;
    if (interval_s <= 0)
        interval_s = status.tty ? 1.0 : 5.0;
    status.last_ms = uv_now(gw->loop);
    int rc = uv_timer_init(gw->loop, &status.timer);
    if (rc != 0)
        return rc;
    status.running = true;
    uint64_t ms = (uint64_t)(interval_s * 1000.0);
    return uv_timer_start(&status.timer, on_status, ms, ms);
}

static void on_timer_closed(uv_handle_t *h)
{
    (void)h;
    gw_handle_closed(status.gw);
}

void status_stop(struct gateway *gw)
{
    if (status.line_shown) {
        printf("\n"); /* the last status stays on the screen */
        status.line_shown = false;
    }
    if (!status.running)
        return;
    status.running = false;
    gw->open_handles++;
    uv_close((uv_handle_t *)&status.timer, on_timer_closed);
}

void status_summary(const struct gateway *gw, const struct sim_fleet *fleet)
{
    double s = seconds_since_start(gw);
    const struct gw_counters *c = &gw->count;
    uint64_t out = notifications_out(gw);
    printf("gateway: summary after %.1f s\n", s);
    printf("  devices:        %zu of %zu online (%zu simulated, %zu external); ", gw->online,
           gw->n_links, fleet->n, gw->n_links - fleet->n);
    if (gw->all_online_ms > 0)
        printf("all simulated online %.3f s after start\n", (double)(gw->all_online_ms - 1) / 1e3);
    else
        printf("not all simulated ever online\n");
    printf("  availability:   %llu times a device went offline, %llu came back\n",
           (unsigned long long)c->went_offline, (unsigned long long)c->came_back);
    printf("  notifications:  %llu from the devices (%.1f/s), %llu to the gateway's observers\n",
           (unsigned long long)c->notifications_in, s > 0 ? (double)c->notifications_in / s : 0.0,
           (unsigned long long)out);
    printf("  relayed:        %llu answered (%llu as separate responses), %llu failed, %llu "
           "refused\n",
           (unsigned long long)c->relayed, (unsigned long long)c->relayed_late,
           (unsigned long long)c->relay_failed, (unsigned long long)c->relay_refused);
    if (gw->server_started) {
        const zcoap_uv_server_stats_t *st = zcoap_uv_server_stats(&gw->server);
        printf("  gateway server: %llu datagrams in, %llu out, %llu peers, %zu observers now\n",
               (unsigned long long)st->datagrams_in, (unsigned long long)st->datagrams_out,
               (unsigned long long)st->peers_created, st->observers_in_use);
    }
    fflush(stdout);
}
