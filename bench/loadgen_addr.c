/* Socket addresses as text for the bench programs (see loadgen_addr.h). */
#define _POSIX_C_SOURCE 200809L

#include "loadgen_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool loadgen_addr_from_host(const char *host, unsigned port, loadgen_addr_t *out)
{
    memset(out, 0, sizeof(*out));
    if (port > 65535)
        return false;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        out->len = sizeof(*v4);
        return true;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        out->len = sizeof(*v6);
        return true;
    }
    return false;
}

bool loadgen_addr_parse(const char *text, bool allow_port_0, loadgen_addr_t *out)
{
    char host[INET6_ADDRSTRLEN];
    const char *colon = strrchr(text, ':');
    const char *host_start = text;
    const char *host_end = colon;
    if (colon == NULL)
        return false;
    if (text[0] == '[') { /* [v6]:port (RFC 3986 §3.2.2) */
        host_start = text + 1;
        if (colon == text || colon[-1] != ']')
            return false;
        host_end = colon - 1;
    }
    size_t host_len = (size_t)(host_end - host_start);
    if (host_len == 0 || host_len >= sizeof(host))
        return false;
    memcpy(host, host_start, host_len);
    host[host_len] = '\0';
    if (text[0] != '[' && strchr(host, ':') != NULL)
        return false; /* a bare v6 literal: ambiguous with the port */
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port > 65535 || (port == 0 && !allow_port_0))
        return false;
    return loadgen_addr_from_host(host, (unsigned)port, out);
}

void loadgen_addr_loopback(const loadgen_addr_t *like, loadgen_addr_t *out)
{
    (void)loadgen_addr_from_host(like->ss.ss_family == AF_INET6 ? "::1" : "127.0.0.1", 0, out);
}

void loadgen_addr_format(const struct sockaddr *sa, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
        snprintf(buf, cap, "[%s]:%u", host, (unsigned)ntohs(v6->sin6_port));
    } else {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
        snprintf(buf, cap, "%s:%u", host, (unsigned)ntohs(v4->sin_port));
    }
}
