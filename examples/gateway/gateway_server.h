/*
 * The gateway's server side, on one zcoap_uv_server_t:
 *
 *   /.well-known/core          the listing of everything below (RFC 6690), block-wise when large
 *   /devices                   GET: the devices' resources in link format (RFC 6690), e.g.
 *                              </devices/dev-000/temp>;rt="temperature-c";if="sensor";ct=0;obs,
 *                              filtered by the query like /.well-known/core (?rt=light)
 *   /devices/NAME/temp         GET: the device's last /temp, as it sent it; observable (RFC
 *                              7641): every notification of the device is relayed to the
 *                              gateway's observers. A device offline or not yet heard: 5.03
 *                              Service Unavailable, Max-Age = seconds until the next try
 *                              (RFC 7252 §5.9.3.4), with a diagnostic ("dev-007 offline: no
 *                              answer; next try in 4 s"); observers get that too, which ends
 *                              their observation (RFC 7641 §3.2)
 *   /devices/NAME/led          GET, PUT: relayed to the device's /led, its answer relayed back
 *                              (code, Content-Format, Max-Age, payload); a slow device's answer
 *                              goes as a separate response after the gateway's empty ACK. No
 *                              answer from the device: 5.04 Gateway Timeout; offline: 5.03
 */
#ifndef GATEWAY_GATEWAY_SERVER_H
#define GATEWAY_GATEWAY_SERVER_H

#include <stddef.h>

struct gateway;
struct sockaddr;

/* Build the resource table for gw->links and start the server on @p addr. Errors are printed. */
int gw_server_start(struct gateway *gw, const struct sockaddr *addr);

/* Device @p i's /temp changed, or its state did: notify the gateway's observers of it. */
void gw_server_temp_changed(struct gateway *gw, size_t i);

/* Close the server (gw_handle_closed() follows), when it was started. */
void gw_server_close(struct gateway *gw);

/* Free the table and the listing buffer, once the server is closed. */
void gw_server_free(struct gateway *gw);

#endif /* GATEWAY_GATEWAY_SERVER_H */
