#!/usr/bin/env bash
# lossy_coap_server.sh [coap-server-notls ARGS...]
#
# libcoap's coap-server-notls with its packet loss switch: each datagram the server sends (its
# responses, ACKs and RSTs) is dropped with probability COAP_LOSS (default 25%). For
# scripts/with-coap-server, which takes the server binary from COAP_SERVER; exec keeps the PID
# that with-coap-server stops.
exec "${COAP_SERVER_BIN:-coap-server-notls}" -l "${COAP_LOSS:-25%}" "$@"
