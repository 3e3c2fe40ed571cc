/*
 * "ADDR:PORT" and "[ADDR6]:PORT" for the load generator and the ceiling server: parsing and
 * printing socket addresses (numeric only: the benchmarks run on loopback).
 */
#ifndef ZCOAP_BENCH_LOADGEN_ADDR_H
#define ZCOAP_BENCH_LOADGEN_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct loadgen_addr {
    struct sockaddr_storage ss;
    socklen_t len; /* sizeof(struct sockaddr_in) or sizeof(struct sockaddr_in6) */
} loadgen_addr_t;

/* "127.0.0.1:5683" or "[::1]:5683"; the port may be 0 when @p allow_port_0. */
bool loadgen_addr_parse(const char *text, bool allow_port_0, loadgen_addr_t *out);

/* An address of @p family (AF_INET or AF_INET6) and @p port from a host literal. */
bool loadgen_addr_from_host(const char *host, unsigned port, loadgen_addr_t *out);

/* The loopback address of @p like's family, port 0 (where client sockets bind). */
void loadgen_addr_loopback(const loadgen_addr_t *like, loadgen_addr_t *out);

/* "127.0.0.1:5683" or "[::1]:5683" into @p buf (always terminated). */
void loadgen_addr_format(const struct sockaddr *sa, char *buf, size_t cap);

#endif
