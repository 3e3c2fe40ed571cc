/**
 * @file config.h
 * @brief Compile-time limits of the zcoap core.
 *
 * Every limit can be overridden on the compiler command line (-DZCOAP_MAX_MSG_SIZE=512) or in a
 * user header named by ZCOAP_USER_CONFIG (-DZCOAP_USER_CONFIG='"my_zcoap_config.h"'), which is
 * included first.
 */
#ifndef ZCOAP_CONFIG_H
#define ZCOAP_CONFIG_H

#ifdef ZCOAP_USER_CONFIG
#include ZCOAP_USER_CONFIG
#endif

/** Default message buffer size in bytes: RFC 7252 §4.6 (1024-byte payload + header room). */
#ifndef ZCOAP_MAX_MSG_SIZE
#define ZCOAP_MAX_MSG_SIZE 1152
#endif

/** Default token length for requests the library originates (RFC 7252 §5.3.1 allows 0-8). */
#ifndef ZCOAP_DEFAULT_TOKEN_LEN
#define ZCOAP_DEFAULT_TOKEN_LEN 8
#endif

#endif /* ZCOAP_CONFIG_H */
