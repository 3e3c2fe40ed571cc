/**
 * @file err.h
 * @brief Error codes of zcoap: one list, an enum, names and descriptions.
 *
 * 0 is success; every error is a negative int in -1000..-1099, so that libuv's negative errno
 * codes and ours never collide. Functions that produce a length return ptrdiff_t (the length, or
 * a negative error).
 */
#ifndef ZCOAP_ERR_H
#define ZCOAP_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

/** X-macro list: X(name, value, description). */
#define ZCOAP_ERR_LIST(X)                                                                          \
    X(ZCOAP_OK, 0, "success")                                                                      \
    X(ZCOAP_EINVAL, -1001, "invalid argument")                                                     \
    X(ZCOAP_ENOSPC, -1002, "buffer too small")                                                     \
    X(ZCOAP_EBUSY, -1003, "an exchange is already in progress")                                    \
    X(ZCOAP_ENOTFOUND, -1004, "not found")                                                         \
    X(ZCOAP_ERANGE, -1005, "value out of range")                                                   \
    X(ZCOAP_ESTATE, -1006, "call not valid in the current state")                                  \
    X(ZCOAP_ENOTSUP, -1007, "not supported (yet)")                                                 \
    X(ZCOAP_EMSG_SHORT, -1010, "datagram shorter than the 4-byte header")                          \
    X(ZCOAP_EMSG_VERSION, -1011, "unknown CoAP version (RFC 7252 says ignore silently)")           \
    X(ZCOAP_EMSG_TOKEN_LEN, -1012, "token length 9-15 is reserved")                                \
    X(ZCOAP_EMSG_TOKEN_TRUNC, -1013, "token runs past the end of the datagram")                    \
    X(ZCOAP_EMSG_OPT_NIBBLE, -1014, "option delta or length nibble 15 outside a payload marker")   \
    X(ZCOAP_EMSG_OPT_EXT_TRUNC, -1015, "extended option delta or length runs past the end")        \
    X(ZCOAP_EMSG_OPT_VALUE_TRUNC, -1016, "option value runs past the end")                         \
    X(ZCOAP_EMSG_OPT_NUM_OVERFLOW, -1017, "option number above 65535")                             \
    X(ZCOAP_EMSG_PAYLOAD_EMPTY, -1018, "payload marker followed by no payload")                    \
    X(ZCOAP_EMSG_EMPTY_NOT_EMPTY, -1019, "Empty message (0.00) with token, options or payload")    \
    X(ZCOAP_EMSG_CODE_CLASS, -1020, "code in a reserved class (1, 6 or 7)")                        \
    X(ZCOAP_EOPT_LENGTH, -1030, "option value length outside the option's bounds")                 \
    X(ZCOAP_EOPT_BLOCK, -1031, "invalid block option value")                                       \
    X(ZCOAP_EOPT_UNRECOGNIZED, -1032, "unrecognized critical option")                              \
    X(ZCOAP_EOPT_REPEATED, -1033, "non-repeatable option occurs more than once")                   \
    X(ZCOAP_EURI_SCHEME, -1040, "URI scheme is not coap or coaps")                                 \
    X(ZCOAP_EURI_HOST, -1041, "URI host is missing or malformed")                                  \
    X(ZCOAP_EURI_PORT, -1042, "URI port is not a number in 0-65535")                               \
    X(ZCOAP_EURI_FRAGMENT, -1043, "URI has a fragment (RFC 7252 §6.4 step 3)")                     \
    X(ZCOAP_EURI_PERCENT, -1044, "malformed percent-encoding")                                     \
    X(ZCOAP_EURI_SYNTAX, -1045, "URI is not an absolute coap URI")                                 \
    X(ZCOAP_ECHANGED, -1050, "the representation changed during a block-wise transfer (ETag)")     \
    X(ZCOAP_EPROTO, -1051, "the peer answered outside the protocol (a block not asked for)")       \
    X(ZCOAP_ETIMEOUT, -1052, "no answer: the request timed out")                                   \
    X(ZCOAP_ERESET, -1053, "the peer answered the request with Reset")                             \
    X(ZCOAP_EUNREACHABLE, -1054, "the peer's port is closed (ICMP port unreachable)")

/** Error codes. Each is returned as a negative int (ZCOAP_OK is 0). */
typedef enum zcoap_err {
/** @cond INTERNAL */
#define ZCOAP_ERR_ENUM_(name, value, text) name = (value),
    ZCOAP_ERR_LIST(ZCOAP_ERR_ENUM_)
#undef ZCOAP_ERR_ENUM_
    /** @endcond */
} zcoap_err_t;

/** Lowest (most negative) code of zcoap's range. */
#define ZCOAP_ERR_MIN (-1099)
/** Highest code of zcoap's range. */
#define ZCOAP_ERR_MAX (-1000)

/**
 * @brief Human-readable description of a zcoap code.
 * @param[in] err A zcoap code (0 or -1000..-1099).
 * @return A static string; "unknown error" for codes outside zcoap's list (the libuv adapter
 *         offers zcoap_uv_strerror(), which also covers libuv's codes).
 */
const char *zcoap_strerror(int err);

/**
 * @brief The enum name of a code ("ZCOAP_EMSG_SHORT"), for logs and test failures.
 * @param[in] err A zcoap code (0 or -1000..-1099).
 * @return A static string; "ZCOAP_E?" for codes outside the list.
 */
const char *zcoap_err_name(int err);

#ifdef __cplusplus
}
#endif

#endif /* ZCOAP_ERR_H */
