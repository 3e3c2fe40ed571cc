/*
 * The command line of zcoap-client (see zcoap_client.c): what it asks for, checked and decoded
 * before the loop starts, and the exit statuses the program shares with scripts.
 */
#ifndef ZCOAP_CLIENT_ARGS_H
#define ZCOAP_CLIENT_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcoap/zcoap.h"

/* Exit statuses (see zcoap_client.c's file comment and --help). */
enum status {
    STATUS_SUCCESS = 0,
    STATUS_ERROR_RESPONSE = 1,
    STATUS_USAGE = 2,
    STATUS_TIMEOUT = 3,
    STATUS_RESET = 4,
    STATUS_NETWORK = 5,
    /* -s: the server answered the registration without Observe (RFC 7641 §3.1); shares 1 with
     * an error response: either way the resource is not being observed */
    STATUS_NOT_OBSERVED = 1
};

#define PROGRAM "zcoap-client"
#define MAX_EXTRA_OPTIONS 32
#define METHOD_PING 0 /* -m ping: an Empty CON rather than a request code */

/* An option from -O, checked and decoded when the command line is read. */
struct extra_option {
    uint16_t num;
    bool is_uint;
    uint32_t uint_value;
    const uint8_t *bytes; /* into argv (text) or into the hex pool */
    size_t len;
};

/* What the command line asks for. */
struct options {
    const char *uri;
    uint8_t method; /* ZCOAP_GET ... ZCOAP_IPATCH, or METHOD_PING */
    uint8_t type;   /* ZCOAP_TYPE_CON or ZCOAP_TYPE_NON */
    const uint8_t *payload;
    size_t payload_len;
    long content_format; /* -1: none */
    long accept;         /* -1: none */
    struct extra_option extra[MAX_EXTRA_OPTIONS];
    size_t n_extra;
    bool token_given;
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    size_t token_len;
    unsigned long wait_s;
    unsigned long observe_s; /* -s: observe for this long; 0: one request */
    unsigned long max_retransmit;
    unsigned long ack_timeout_ms;
    bool newline;
    bool verbose;
    bool quiet;
};

/**
 * Fill @p opt from argv (a -f file is read here, into storage of this module).
 * @return STATUS_SUCCESS; -1 when the help was shown (exit 0); or the status to exit with, after
 *         a message on stderr.
 */
int parse_command_line(int argc, char **argv, struct options *opt);

#endif /* ZCOAP_CLIENT_ARGS_H */
