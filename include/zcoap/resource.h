/**
 * @file resource.h
 * @brief A server's resource table: request dispatch by path and method, and the
 *        /.well-known/core listing in CoRE Link Format (RFC 6690) with its query filters.
 *
 * The table is a caller-owned array (static const in most programs); nothing is copied or
 * allocated. The adapter's server dispatches with it; an application can use it with any
 * transport.
 */
#ifndef ZCOAP_RESOURCE_H
#define ZCOAP_RESOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcoap/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bit of a method code (ZCOAP_GET ... ZCOAP_IPATCH) in a resource's method mask. */
#define ZCOAP_METHOD_BIT(code) (1u << (unsigned)(code))
/** Every method of RFC 7252 and RFC 8132. */
#define ZCOAP_METHODS_ALL                                                                          \
    (ZCOAP_METHOD_BIT(ZCOAP_GET) | ZCOAP_METHOD_BIT(ZCOAP_POST) | ZCOAP_METHOD_BIT(ZCOAP_PUT) |    \
     ZCOAP_METHOD_BIT(ZCOAP_DELETE) | ZCOAP_METHOD_BIT(ZCOAP_FETCH) |                              \
     ZCOAP_METHOD_BIT(ZCOAP_PATCH) | ZCOAP_METHOD_BIT(ZCOAP_IPATCH))

/** One resource. */
typedef struct zcoap_resource {
    const char *path;  /**< "sensors/temp": segments separated by '/', no leading '/'; "" is the
                            root. Matched against the request's Uri-Path options byte for byte. */
    uint32_t methods;  /**< ZCOAP_METHOD_BIT() of each method served */
    const char *attrs; /**< link-format attributes without the leading ';', e.g.
                            "rt=\"temperature-c\";if=\"sensor\";ct=0;obs", or NULL */
    bool hidden;       /**< not listed in /.well-known/core */
    void *handler;     /**< for the application or adapter (the handler to call) */
} zcoap_resource_t;

/**
 * @brief Find the resource a request is for.
 * @param[in] table the resources, in the order they are matched
 * @param[in] n how many
 * @param[in] req the parsed request (its Uri-Path options and code are used)
 * @param[out] found the resource whose path matches (also when the method is not allowed)
 * @return 0 when it is found and serves the method; otherwise the response code to answer with:
 *         ZCOAP_NOT_FOUND (4.04) or ZCOAP_METHOD_NOT_ALLOWED (4.05).
 */
uint8_t zcoap_resource_dispatch(const zcoap_resource_t *table, size_t n, const zcoap_msg_t *req,
                                const zcoap_resource_t **found);

/**
 * @brief Whether @p r can be observed (RFC 7641): its attributes carry the `obs` parameter, the
 *        attribute that also announces it in /.well-known/core (RFC 7641 §6).
 * @param[in] r the resource
 * @return true when observable
 */
bool zcoap_resource_observable(const zcoap_resource_t *r);

/**
 * @brief True when the request's Uri-Path options spell @p path ("a/b"; "" for none).
 * @param[in] req a parsed request
 * @param[in] path the path, segments separated by '/', no leading '/'
 * @return true when they match byte for byte
 */
bool zcoap_path_matches(const zcoap_msg_t *req, const char *path);

/**
 * @brief Write the /.well-known/core listing of the table (RFC 6690 §5): one link per listed
 *        resource, `</path>;attrs`, separated by ','.
 *
 * The request's Uri-Query is a filter (RFC 6690 §4.1): `name=value` keeps the links with that
 * attribute value (for the space-separated `rt`, `if`, `rel` and `ct` lists, any one value;
 * quoted values are compared with their `\"` escapes undone), a value
 * ending in '*' matches as a prefix, `href=` filters on the link's URI. Several Uri-Query options
 * must all match. A link whose attribute is absent does not match. A value-less attribute (obs)
 * is matched by `obs` or `obs=`.
 *
 * @param[in] table the resources
 * @param[in] n how many
 * @param[in] req the parsed GET of /.well-known/core (its Uri-Query options filter)
 * @param[out] out the listing, NUL-terminated
 * @param[in] cap size of @p out in bytes
 * @return the length written (NUL-terminated), or ZCOAP_ENOSPC (Block2 will page large listings),
 *         or ZCOAP_EINVAL.
 */
ptrdiff_t zcoap_resource_link_format(const zcoap_resource_t *table, size_t n,
                                     const zcoap_msg_t *req, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* ZCOAP_RESOURCE_H */
