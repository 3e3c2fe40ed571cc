/*
 * What the gateway shows while it runs: on a terminal two status lines rewritten in place
 * (cursor up, erase), so that nothing scrolls but log lines (gw_log()), which go above them;
 * elsewhere (a pipe, a log file) one line every few seconds. At the end, a summary.
 */
#ifndef GATEWAY_STATUS_H
#define GATEWAY_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "zcoap/uv.h"

struct gateway;
struct sim_fleet;

/* Start showing the status of @p gw every @p interval_s (0: 1 s on a terminal, else 5 s). */
int status_start(struct gateway *gw, const struct sim_fleet *fleet, double interval_s);

/* Stop showing it (the timer is closed; gw_handle_closed() follows) and end the status line. */
void status_stop(struct gateway *gw);

/* The summary of the run, on stdout. */
void status_summary(const struct gateway *gw, const struct sim_fleet *fleet);

#endif /* GATEWAY_STATUS_H */
