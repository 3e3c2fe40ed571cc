/**
 * @file zcoap.h
 * @brief Umbrella header of the zcoap core, and its version.
 */
#ifndef ZCOAP_ZCOAP_H
#define ZCOAP_ZCOAP_H

#include "zcoap/block.h"
#include "zcoap/config.h"
#include "zcoap/endpoint.h"
#include "zcoap/err.h"
#include "zcoap/msg.h"
#include "zcoap/observe.h"
#include "zcoap/proto.h"
#include "zcoap/resource.h"
#include "zcoap/transfer.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Major version of the headers: changes break the API. */
#define ZCOAP_VERSION_MAJOR 0
/** Minor version of the headers: additions. */
#define ZCOAP_VERSION_MINOR 1
/** Patch version of the headers: fixes. */
#define ZCOAP_VERSION_PATCH 0
/** The version as a string, "0.1.0". */
#define ZCOAP_VERSION_STRING "0.1.0"

/**
 * @brief The library's version string, as built (may differ from the header's when linked late).
 * @return a static string, e.g. "0.1.0"
 */
const char *zcoap_version(void);

#ifdef __cplusplus
}
#endif

#endif /* ZCOAP_ZCOAP_H */
