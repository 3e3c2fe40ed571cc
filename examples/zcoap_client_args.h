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
    /* a block-wise transfer (RFC 7959) broke off: the representation changed between blocks
     * (another ETag), or the server answered outside RFC 7959 (a block not asked for) */
    STATUS_TRANSFER = 6,
    /* -s: the server answered the registration without Observe (RFC 7641 §3.1); shares 1 with
     * an error response: either way the resource is not being observed */
    STATUS_NOT_OBSERVED = 1
};

#define PROGRAM "zcoap-client"
#define MAX_EXTRA_OPTIONS 32
#define METHOD_PING 0 /* -m ping: an Empty CON rather than a request code */
/* -f - (standard input, or any file that is not a regular one) is read into memory up to this
 * size; a regular file is read block by block as the transfer sends it, whatever its size. */
#define STDIN_BODY_MAX (64u * 1024u * 1024u)

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
    /* The body: payload_len bytes at payload (-e, -f -, -f of a pipe, every -f with -T), or
     * a regular file of -f (body_fd >= 0), body_size bytes read at each block's offset. */
    const uint8_t *payload;
    size_t payload_len;
    const char *body_path; /* -f, for messages */
    int body_fd;           /* -1: none */
    size_t body_size;
    uint8_t *body_alloc; /* what -f - was read into (malloc), freed by release_command_line() */
    /* -b [NUM,]SIZE: the block size (SZX) for Block1 and Block2 (early negotiation, RFC 7959
     * §2.4); with NUM, only Block2 block NUM is fetched (random access). */
    bool block_given;
    uint8_t block_szx;
    bool block_single;
    uint32_t block_num;
    const char *output_path; /* -o; NULL: standard output */
    long content_format;     /* -1: none */
    long accept;             /* -1: none */
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
 * Fill @p opt from argv. A -f file is opened here: a regular file stays open (body_fd) to be read
 * block by block; standard input and other files are read whole into memory (STDIN_BODY_MAX at
 * most), as is any -f with -T (one message).
 * @return STATUS_SUCCESS; -1 when the help was shown (exit 0); or the status to exit with, after
 *         a message on stderr.
 */
int parse_command_line(int argc, char **argv, struct options *opt);

/** Close the -f file and free what -f - was read into. */
void release_command_line(struct options *opt);

#endif /* ZCOAP_CLIENT_ARGS_H */
