/**
 * @file msg.h
 * @brief The zero-copy, heapless CoAP message codec (RFC 7252 §3).
 *
 * - zcoap_msg_parse() validates a whole datagram in one pass and fills a view that points into
 *   the caller's buffer; afterwards the option iterator cannot fail.
 * - zcoap_builder_t writes a message into a caller buffer; options may be added in any order and
 *   are emitted sorted (repeats keep their relative order); errors are sticky.
 * - URIs (RFC 7252 §6.4/§6.5) go into options through the builder and come back into a caller
 *   buffer.
 *
 * Nothing here allocates, and nothing reads or writes outside the buffers it is given.
 */
#ifndef ZCOAP_MSG_H
#define ZCOAP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcoap/config.h"
#include "zcoap/err.h"
#include "zcoap/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------- */
/* Parsed messages                                                                              */
/* ------------------------------------------------------------------------------------------- */

/**
 * @brief A parsed message: a view into the datagram it was parsed from (nothing is copied).
 *
 * Valid as long as the datagram buffer is unchanged and alive.
 */
typedef struct zcoap_msg {
    const uint8_t *data;    /**< the whole datagram */
    size_t len;             /**< its length in bytes */
    uint8_t version;        /**< always 1 after a successful parse */
    uint8_t type;           /**< zcoap_type_t */
    uint8_t code;           /**< code byte, class << 5 | detail */
    uint8_t token_len;      /**< 0-8 */
    uint16_t mid;           /**< message ID */
    size_t opt_count;       /**< number of options */
    const uint8_t *token;   /**< token_len bytes */
    const uint8_t *opts;    /**< encoded options region */
    size_t opts_len;        /**< its length */
    const uint8_t *payload; /**< payload bytes (NULL when there is none) */
    size_t payload_len;     /**< 0 when there is no payload */
} zcoap_msg_t;

/**
 * @brief Parse and validate a datagram into a view.
 *
 * Every malformed case has its own error code (see err.h, ZCOAP_EMSG_*). When @p len >= 4 the
 * header fields (version, type, code, mid, token_len) are filled even if the result is an error,
 * so that an endpoint can answer a malformed CON with a Reset (RFC 7252 §4.2) and drop anything
 * with ZCOAP_EMSG_VERSION silently (§3).
 *
 * @param[out] msg The view; points into @p buf.
 * @param[in]  buf The datagram; must stay alive and unchanged while @p msg is used.
 * @param[in]  len Its length in bytes.
 * @retval ZCOAP_OK        valid message
 * @retval ZCOAP_EINVAL    @p msg NULL, or @p buf NULL with @p len > 0
 * @retval ZCOAP_EMSG_*    the first malformation found
 */
int zcoap_msg_parse(zcoap_msg_t *msg, const uint8_t *buf, size_t len);

/** True for request codes 0.01-0.31. */
static inline bool zcoap_code_is_request(uint8_t code)
{
    return code != 0 && ZCOAP_CODE_CLASS(code) == 0;
}

/**
 * @brief Safe methods only read (RFC 7252 §5.1, RFC 8132 §2): GET and FETCH. A client may repeat
 *        them at will, e.g. to restart a block-wise download.
 */
static inline bool zcoap_method_is_safe(uint8_t code)
{
    return code == ZCOAP_GET || code == ZCOAP_FETCH;
}

/**
 * @brief Idempotent methods have the same effect done once or many times (RFC 7252 §5.1,
 *        RFC 8132 §3): GET, FETCH, PUT, DELETE and iPATCH, but not POST nor PATCH. Only these
 *        may be sent again as a new request (a new message ID, which de-duplication does not
 *        catch) when the answer to the first was lost.
 */
static inline bool zcoap_method_is_idempotent(uint8_t code)
{
    return zcoap_method_is_safe(code) || code == ZCOAP_PUT || code == ZCOAP_DELETE ||
           code == ZCOAP_IPATCH;
}

/** True for response codes (classes 2-5). */
static inline bool zcoap_code_is_response(uint8_t code)
{
    return ZCOAP_CODE_CLASS(code) >= 2 && ZCOAP_CODE_CLASS(code) <= 5;
}

/* ------------------------------------------------------------------------------------------- */
/* Options                                                                                      */
/* ------------------------------------------------------------------------------------------- */

/** One option: its number and a view of its value bytes. */
typedef struct zcoap_opt {
    uint16_t num;       /**< option number */
    uint32_t len;       /**< value length (up to 65535 + 269) */
    const uint8_t *val; /**< value bytes; points into the datagram */
} zcoap_opt_t;

/** Iterator over the options of a parsed message, in wire order. No allocation. */
typedef struct zcoap_opt_iter {
    /** @cond INTERNAL */
    const uint8_t *pos; /* private */
    const uint8_t *end; /* private */
    uint16_t num;       /* private: number of the last option returned */
    /** @endcond */
} zcoap_opt_iter_t;

/**
 * @brief Start iterating over @p msg's options (msg must have parsed successfully).
 * @param[out] it the iterator
 * @param[in] msg the parsed message; it must outlive the iteration
 */
inline void zcoap_opt_iter_init(zcoap_opt_iter_t *it, const zcoap_msg_t *msg);

/**
 * @brief Next option in wire order.
 * @param[in,out] it the iterator
 * @param[out] opt the option; its value points into the datagram
 * @return true and fills @p opt; false when there are no more options.
 */
inline bool zcoap_opt_iter_next(zcoap_opt_iter_t *it, zcoap_opt_t *opt);

/**
 * @brief Next option numbered @p num (options are sorted, so this stops early).
 *
 * When nothing is found the iterator stays before the first option numbered above @p num, so a
 * following find for a higher number still sees it.
 * @param[in,out] it the iterator
 * @param[in] num the option number
 * @param[out] opt the option; its value points into the datagram
 * @return true and fills @p opt; false when there is none left.
 */
bool zcoap_opt_iter_find(zcoap_opt_iter_t *it, uint16_t num, zcoap_opt_t *opt);

/**
 * @brief First option numbered @p num in @p msg.
 * @param[in] msg a parsed message
 * @param[in] num the option number
 * @param[out] opt the option; its value points into the datagram
 * @return true and fills @p opt; false when absent.
 */
bool zcoap_msg_find_opt(const zcoap_msg_t *msg, uint16_t num, zcoap_opt_t *opt);

/**
 * @brief Number of options numbered @p num in @p msg.
 * @param[in] msg a parsed message
 * @param[in] num the option number
 * @return how many (0 when absent)
 */
size_t zcoap_msg_count_opt(const zcoap_msg_t *msg, uint16_t num);

/**
 * @brief Decode an unsigned integer option value (RFC 7252 §3.2: big-endian, leading zeros
 *        allowed, empty is 0).
 * @param[in] opt the option
 * @param[out] out its value
 * @retval ZCOAP_OK, ZCOAP_EOPT_LENGTH (longer than 4 bytes), ZCOAP_EINVAL
 */
inline int zcoap_opt_uint(const zcoap_opt_t *opt, uint32_t *out);

/**
 * @brief Decode the first option @p num of @p msg as uint.
 * @param[in] msg a parsed message
 * @param[in] num the option number
 * @param[out] out its value
 * @retval ZCOAP_OK, ZCOAP_ENOTFOUND, ZCOAP_EOPT_LENGTH, ZCOAP_EINVAL
 */
int zcoap_msg_get_uint(const zcoap_msg_t *msg, uint16_t num, uint32_t *out);

/**
 * @brief True if the option value equals the NUL-terminated string @p s byte for byte.
 * @param[in] opt the option
 * @param[in] s the string
 * @return true when equal
 */
bool zcoap_opt_equals_str(const zcoap_opt_t *opt, const char *s);

/** A Block1/Block2 value (RFC 7959 §2.2). */
typedef struct zcoap_block {
    uint32_t num; /**< block number, 0 .. 2^20-1 */
    bool more;    /**< M bit */
    uint8_t szx;  /**< size exponent, 0-6: block size is 16 << szx */
} zcoap_block_t;

/** Block size in bytes for a size exponent (16 << szx). */
static inline uint32_t zcoap_block_size(uint8_t szx)
{
    return 16u << szx;
}

/**
 * @brief Decode a Block1/Block2 option value.
 * @param[in] opt the option
 * @param[out] out the decoded value
 * @retval ZCOAP_OK
 * @retval ZCOAP_EOPT_LENGTH longer than 3 bytes
 * @retval ZCOAP_EOPT_BLOCK  SZX 7 (reserved, RFC 7959 §2.2: answer 4.00)
 */
int zcoap_opt_block(const zcoap_opt_t *opt, zcoap_block_t *out);

/**
 * @brief Decode the first option @p num (ZCOAP_OPT_BLOCK1 or _BLOCK2) of @p msg.
 * @param[in] msg a parsed message
 * @param[in] num ZCOAP_OPT_BLOCK1 or ZCOAP_OPT_BLOCK2
 * @param[out] out the decoded value
 * @retval as zcoap_opt_block(); ZCOAP_ENOTFOUND when absent
 */
int zcoap_msg_get_block(const zcoap_msg_t *msg, uint16_t num, zcoap_block_t *out);

/** RFC 7252 §5.4.6: critical options are odd. */
static inline bool zcoap_opt_is_critical(uint16_t num)
{
    return (num & 1u) != 0;
}

/** RFC 7252 §5.4.6: unsafe-to-forward options have bit 1 set. */
static inline bool zcoap_opt_is_unsafe(uint16_t num)
{
    return (num & 2u) != 0;
}

/** RFC 7252 §5.4.6: NoCacheKey options have bits 2-4 all set (and are safe-to-forward). */
static inline bool zcoap_opt_is_no_cache_key(uint16_t num)
{
    return (num & 0x1Eu) == 0x1Cu;
}

/** Value formats of RFC 7252 §3.2. */
typedef enum zcoap_opt_format {
    ZCOAP_OPT_FMT_EMPTY,
    ZCOAP_OPT_FMT_OPAQUE,
    ZCOAP_OPT_FMT_UINT,
    ZCOAP_OPT_FMT_STRING
} zcoap_opt_format_t;

/** An entry of the table of known options. */
typedef struct zcoap_opt_def {
    uint16_t num;     /**< option number */
    uint8_t format;   /**< zcoap_opt_format_t */
    bool repeatable;  /**< may occur more than once */
    bool supported;   /**< false: known but not implemented (OSCORE, Q-Block): unrecognized */
    uint16_t min_len; /**< shortest valid value */
    uint16_t max_len; /**< longest valid value */
    const char *name; /**< "Uri-Path" */
} zcoap_opt_def_t;

/**
 * @brief The definition of a known option, or NULL for an unknown number.
 * @param[in] num the option number
 * @return a static entry, or NULL
 */
const zcoap_opt_def_t *zcoap_opt_def(uint16_t num);

/**
 * @brief Check a message's options the way a recipient must (RFC 7252 §5.4.1, §5.4.3, §5.4.5).
 *
 * A critical option is "unrecognized" when it is not in the table of supported options (nor in
 * @p extra_known), when its length is outside the table's bounds, or when it repeats although it
 * is not repeatable. Elective options in those cases are to be silently ignored, so they do not
 * fail this check (use zcoap_opt_is_valid() to skip them while iterating).
 *
 * @param[in]  msg         a successfully parsed message
 * @param[in]  extra_known option numbers the application handles itself (may be NULL); they
 *                         are not checked at all (length, repetition: the application's job)
 * @param[in]  n_extra     how many
 * @param[out] bad_num     on failure, the offending option number (may be NULL)
 * @retval ZCOAP_OK                 nothing the recipient must reject
 * @retval ZCOAP_EOPT_UNRECOGNIZED  an unrecognized critical option: answer a request with 4.02
 *                                  Bad Option, reject a CON response with RST (§5.4.1)
 */
int zcoap_msg_check_options(const zcoap_msg_t *msg, const uint16_t *extra_known, size_t n_extra,
                            uint16_t *bad_num);

/**
 * @brief True if @p opt is a known option with a length inside its bounds, or an unknown one.
 * @param[in] opt the option
 * @return false for a known option of a wrong length
 */
bool zcoap_opt_is_valid(const zcoap_opt_t *opt);

/* ------------------------------------------------------------------------------------------- */
/* Building messages                                                                           */
/* ------------------------------------------------------------------------------------------- */

/**
 * @brief A message being written into a caller buffer.
 *
 * Fields are private. Every add/set call returns the error it met, and the first error also
 * sticks: zcoap_builder_finish() returns it, so a sequence of adds can be checked once.
 */
typedef struct zcoap_builder {
    /** @cond INTERNAL */
    uint8_t *buf;      /* private */
    size_t cap;        /* private */
    size_t len;        /* private: bytes used (header, token, options, marker, payload) */
    size_t opts_start; /* private: offset of the first option */
    size_t opts_end;   /* private: offset after the last option */
    uint16_t last_num; /* private: number of the last option in wire order */
    int err;           /* private: first error, sticky */
    /** @endcond */
} zcoap_builder_t;

/**
 * @brief Start a message: writes the 4-byte header and the token.
 * @param[out] b        the builder (the caller's; it holds no memory of its own)
 * @param[in] buf,cap   destination; the builder never writes outside it
 * @param[in] type      zcoap_type_t
 * @param[in] code      code byte (classes 1, 6 and 7 are reserved: ZCOAP_EINVAL)
 * @param[in] mid       message ID
 * @param[in] token     token bytes (may be NULL when @p token_len is 0)
 * @param[in] token_len 0-8
 * @retval ZCOAP_OK, ZCOAP_EINVAL, ZCOAP_ENOSPC
 */
int zcoap_builder_init(zcoap_builder_t *b, uint8_t *buf, size_t cap, uint8_t type, uint8_t code,
                       uint16_t mid, const uint8_t *token, size_t token_len);

/**
 * @brief Start a response to a parsed request: same token; piggybacked in an ACK with the
 *        request's message ID when the request is CON, otherwise a NON with @p mid (§5.2).
 * @param[out] b the builder
 * @param[in] buf,cap destination; the builder never writes outside it
 * @param[in] req the parsed request
 * @param[in] code the response code
 * @param[in] mid message ID of a NON response (unused for a CON request)
 * @retval as zcoap_builder_init()
 */
int zcoap_builder_init_response(zcoap_builder_t *b, uint8_t *buf, size_t cap,
                                const zcoap_msg_t *req, uint8_t code, uint16_t mid);

/**
 * @brief Start from a copy of a parsed message's header, token and options (not its payload),
 *        for example to send the next block of a request with the same options.
 * @param[out] b the builder
 * @param[in] buf,cap destination; the builder never writes outside it
 * @param[in] msg the parsed message to copy (must not live in @p buf)
 * @retval ZCOAP_OK, ZCOAP_ENOSPC, ZCOAP_EINVAL
 */
int zcoap_builder_init_copy(zcoap_builder_t *b, uint8_t *buf, size_t cap, const zcoap_msg_t *msg);

/**
 * @brief Change the message type.
 * @param[in,out] b the builder
 * @param[in] type zcoap_type_t
 * @return ZCOAP_OK, or the error met, which sticks (a builder already in error does nothing
 *         and returns its first error)
 */
int zcoap_builder_set_type(zcoap_builder_t *b, uint8_t type);
/**
 * @brief Change the code (a reserved class 1, 6 or 7 gives ZCOAP_EINVAL).
 * @param[in,out] b the builder
 * @param[in] code the code byte
 * @return ZCOAP_OK, or the error met, which sticks (a builder already in error does nothing
 *         and returns its first error)
 */
int zcoap_builder_set_code(zcoap_builder_t *b, uint8_t code);
/**
 * @brief Change the message ID.
 * @param[in,out] b the builder
 * @param[in] mid the message ID
 * @return ZCOAP_OK, or the error met, which sticks (a builder already in error does nothing
 *         and returns its first error)
 */
int zcoap_builder_set_mid(zcoap_builder_t *b, uint16_t mid);
/**
 * @brief Replace the token (0-8 bytes); what follows is moved.
 * @param[in,out] b the builder
 * @param[in] token the token (copied; may be NULL when @p token_len is 0)
 * @param[in] token_len its length, 0-8
 * @return ZCOAP_OK, or the error met, which sticks (a builder already in error does nothing
 *         and returns its first error)
 */
int zcoap_builder_set_token(zcoap_builder_t *b, const uint8_t *token, size_t token_len);

/**
 * @brief Add an option with raw value bytes. Options may come in any order; the builder keeps
 *        them sorted, and an option with a number already present goes after the others.
 *
 * Known options are checked against their length bounds (zcoap_opt_def()); number 0 is
 * reserved (ZCOAP_EINVAL). @p val must not point into the builder's own buffer.
 * @param[in,out] b the builder
 * @param[in] num the option number
 * @param[in] val the value bytes (copied; may be NULL when @p len is 0)
 * @param[in] len their length
 * @retval ZCOAP_OK, ZCOAP_ENOSPC, ZCOAP_EOPT_LENGTH, ZCOAP_EINVAL (each sticks)
 */
inline int zcoap_builder_add_opt(zcoap_builder_t *b, uint16_t num, const void *val, size_t len);
/**
 * @brief Add an option with an empty value (If-None-Match).
 * @param[in,out] b the builder
 * @param[in] num the option number
 * @retval as zcoap_builder_add_opt()
 */
int zcoap_builder_add_empty(zcoap_builder_t *b, uint16_t num);
/**
 * @brief Add an unsigned integer option in its shortest form (0 is the empty value).
 * @param[in,out] b the builder
 * @param[in] num the option number
 * @param[in] value the value
 * @retval as zcoap_builder_add_opt()
 */
inline int zcoap_builder_add_uint(zcoap_builder_t *b, uint16_t num, uint32_t value);
/**
 * @brief Add a string option from a NUL-terminated string.
 * @param[in,out] b the builder
 * @param[in] num the option number
 * @param[in] s the value, copied without its NUL
 * @retval as zcoap_builder_add_opt()
 */
int zcoap_builder_add_str(zcoap_builder_t *b, uint16_t num, const char *s);
/**
 * @brief Add a Block1/Block2 option (num < 2^20, szx 0-6).
 * @param[in,out] b the builder
 * @param[in] num ZCOAP_OPT_BLOCK1 or ZCOAP_OPT_BLOCK2
 * @param[in] block the value
 * @retval as zcoap_builder_add_opt()
 */
int zcoap_builder_add_block(zcoap_builder_t *b, uint16_t num, const zcoap_block_t *block);
/**
 * @brief Remove every option numbered @p num (ZCOAP_OK also when there was none).
 * @param[in,out] b the builder
 * @param[in] num the option number
 * @return ZCOAP_OK, or the error met, which sticks (a builder already in error does nothing
 *         and returns its first error)
 */
int zcoap_builder_remove_opt(zcoap_builder_t *b, uint16_t num);

/**
 * @brief Set the payload (copied), replacing any previous one. An empty payload removes the
 *        payload marker (§3: no marker without payload). Options may still be added afterwards.
 * @param[in,out] b the builder
 * @param[in] data the payload (copied; may be NULL when @p len is 0); not inside the builder's
 *            buffer
 * @param[in] len its length in bytes
 * @return ZCOAP_OK, or the error met, which sticks (a builder already in error does nothing
 *         and returns its first error)
 */
int zcoap_builder_set_payload(zcoap_builder_t *b, const void *data, size_t len);

/**
 * @brief Zero-copy payload: where the payload can be written, and how much room is left.
 *
 * Write up to *@p avail bytes at the returned pointer, then call zcoap_builder_commit_payload().
 * Any previous payload is dropped. The pointer is valid until the next call on the builder.
 * @param[in,out] b the builder
 * @param[out] avail how many bytes may be written there
 * @return NULL when the builder is in error or has no room for a payload marker and one byte
 *         (then ZCOAP_ENOSPC sticks, since the payload the caller meant to add is lost).
 */
uint8_t *zcoap_builder_payload_ptr(zcoap_builder_t *b, size_t *avail);
/**
 * @brief Commit @p len bytes written at zcoap_builder_payload_ptr().
 * @param[in,out] b the builder
 * @param[in] len bytes written, at most the room zcoap_builder_payload_ptr() reported (0: no
 *            payload)
 * @return ZCOAP_OK, or the error met, which sticks (a builder already in error does nothing
 *         and returns its first error)
 */
int zcoap_builder_commit_payload(zcoap_builder_t *b, size_t len);

/**
 * @brief Finish: the message occupies buf[0 .. result).
 * @param[in] b the builder
 * @return the message length, or the first error met (sticky), or ZCOAP_EINVAL for an Empty
 *         message (code 0.00) with options or payload, or of type NON (RFC 7252 §4.1, §4.3).
 */
ptrdiff_t zcoap_builder_finish(const zcoap_builder_t *b);

/**
 * @brief Write an Empty message (ACK, RST or CON ping; RFC 7252 §4.1, §4.3).
 * @param[out] buf,cap destination, at least 4 bytes
 * @param[in] type ZCOAP_TYPE_ACK, ZCOAP_TYPE_RST or ZCOAP_TYPE_CON
 * @param[in] mid the message ID
 * @return 4, or ZCOAP_ENOSPC / ZCOAP_EINVAL.
 */
ptrdiff_t zcoap_build_empty(uint8_t *buf, size_t cap, uint8_t type, uint16_t mid);

/* ------------------------------------------------------------------------------------------- */
/* URIs (RFC 7252 §6)                                                                          */
/* ------------------------------------------------------------------------------------------- */

/** The parts of a coap:// or coaps:// URI, as views into the URI string (still percent-encoded). */
typedef struct zcoap_uri {
    bool secure;          /**< coaps:// */
    bool host_is_literal; /**< host is an IPv4address or IP-literal */
    const char *host;     /**< host without the brackets of an IPv6 literal */
    size_t host_len;      /**< its length in bytes */
    uint16_t port;        /**< explicit port or the scheme's default */
    bool port_explicit;   /**< the URI named a port */
    const char *path;     /**< path, starting with '/', or empty */
    size_t path_len;      /**< its length in bytes (0: empty) */
    const char *query;    /**< query without the '?', or NULL */
    size_t query_len;     /**< its length in bytes */
} zcoap_uri_t;

/**
 * @brief Split an absolute coap/coaps URI into parts (no copy, no decoding).
 * @param[in] uri the URI; need not be NUL-terminated
 * @param[in] len its length in bytes
 * @param[out] out the parts, views into @p uri
 * @retval ZCOAP_OK, ZCOAP_EURI_SCHEME, ZCOAP_EURI_HOST, ZCOAP_EURI_PORT, ZCOAP_EURI_FRAGMENT,
 *         ZCOAP_EURI_PERCENT, ZCOAP_EURI_SYNTAX, ZCOAP_EINVAL
 */
int zcoap_uri_split(const char *uri, size_t len, zcoap_uri_t *out);

/** Flags for zcoap_builder_add_uri(). */
enum {
    /** Add Uri-Host when the host is a name (not an IP literal): RFC 7252 §6.4 step 5. */
    ZCOAP_URI_OPT_HOST = 1u << 0,
    /** Add Uri-Host for IP literals too (requests through a proxy). */
    ZCOAP_URI_OPT_HOST_LITERAL = 1u << 1,
    /** Add Uri-Port when the port is not the scheme's default (requests through a proxy, or a
     *  destination port other than the URI's: §6.4 step 7). */
    ZCOAP_URI_OPT_PORT = 1u << 2,
    /** What a client sending to the URI's own host and port should use. */
    ZCOAP_URI_OPT_DEFAULT = ZCOAP_URI_OPT_HOST
};

/**
 * @brief Decompose a URI into Uri-Host, Uri-Port, Uri-Path and Uri-Query options (RFC 7252 §6.4):
 *        percent-decoded, "." and ".." segments removed (RFC 3986 §5.2.4), host lower-cased,
 *        "/" and an empty path giving no Uri-Path.
 * @param[in,out] b the builder the options are added to
 * @param[in] uri "coap://host[:port]/path?query" (coaps too); need not be NUL-terminated
 * @param[in] len its length in bytes
 * @param[in] flags ZCOAP_URI_OPT_* bits
 * @param[out] parts the split URI, views into @p uri (may be NULL)
 * @retval ZCOAP_OK, the errors of zcoap_uri_split(), or the builder's (ZCOAP_ENOSPC,
 *         ZCOAP_EOPT_LENGTH for a segment longer than 255 bytes)
 */
int zcoap_builder_add_uri(zcoap_builder_t *b, const char *uri, size_t len, unsigned flags,
                          zcoap_uri_t *parts);

/**
 * @brief Add the path and query of a relative reference ("/a/b?x=1", "a/b", "?x") as
 *        Uri-Path/Uri-Query options, with the same rules as zcoap_builder_add_uri().
 * @param[in,out] b the builder
 * @param[in] path_query the reference; need not be NUL-terminated
 * @param[in] len its length in bytes
 * @retval as zcoap_builder_add_uri()
 */
int zcoap_builder_add_uri_path(zcoap_builder_t *b, const char *path_query, size_t len);

/**
 * @brief Compose a URI from a request's options (RFC 7252 §6.5), percent-encoding as needed,
 *        into @p out, NUL-terminated.
 * @param[in] msg a parsed request
 * @param[in] secure true for coaps://, false for coap://
 * @param[in] dst_host host to use when there is no Uri-Host (an IP literal; an IPv6 address is
 *                     put in brackets unless it already is), or NULL for none (then the result
 *                     starts with the path)
 * @param[in] dst_port port to use when there is no Uri-Port
 * @param[out] out the URI, NUL-terminated
 * @param[in] cap size of @p out in bytes
 * @return the length written (without the NUL), or ZCOAP_ENOSPC / ZCOAP_EINVAL.
 */
ptrdiff_t zcoap_msg_uri(const zcoap_msg_t *msg, bool secure, const char *dst_host,
                        uint16_t dst_port, char *out, size_t cap);

/**
 * @brief Render the Uri-Path and Uri-Query options as "/a/b?x=1" (percent-encoded), or the
 *        Location-Path and Location-Query options when @p location is true.
 * @param[in] msg a parsed message
 * @param[in] location false: Uri-Path and Uri-Query; true: Location-Path and Location-Query
 * @param[out] out the text, NUL-terminated
 * @param[in] cap size of @p out in bytes
 * @return the length written (without the NUL), or ZCOAP_ENOSPC / ZCOAP_EINVAL.
 */
ptrdiff_t zcoap_msg_path(const zcoap_msg_t *msg, bool location, char *out, size_t cap);

/* ------------------------------------------------------------------------------------------- */
/* Names and printing                                                                          */
/* ------------------------------------------------------------------------------------------- */

/**
 * @brief "CON", "NON", "ACK", "RST"; "???" for a value above 3.
 * @param[in] type the message type
 * @return a static string
 */
const char *zcoap_type_name(uint8_t type);
/**
 * @brief "GET" ... "iPATCH" for methods, "2.05" style for others; NULL never (unknown: "x.yy").
 * @param[in] code the code byte
 * @return a static string
 */
const char *zcoap_code_name(uint8_t code);
/**
 * @brief Reason phrase of a known code ("Content", "Not Found"), or NULL.
 * @param[in] code the code byte
 * @return a static string, or NULL
 */
const char *zcoap_code_reason(uint8_t code);
/**
 * @brief Name of a known option ("Uri-Path"), or NULL.
 * @param[in] num the option number
 * @return a static string, or NULL
 */
const char *zcoap_opt_name(uint16_t num);
/**
 * @brief Media type of a known Content-Format ("application/json"), or NULL.
 * @param[in] cf the Content-Format number
 * @return a static string, or NULL
 */
const char *zcoap_content_format_name(uint16_t cf);

/**
 * @brief Render a message on one line the way libcoap's tools do:
 *        `v:1 t:CON c:GET i:1234 {0102} [ Uri-Path:x, Accept:application/json ] :: 'payload'`
 *
 * Always NUL-terminates (when @p cap > 0). If the line does not fit it is cut and ends in "...".
 * @param[in] msg a parsed message
 * @param[out] out the line
 * @param[in] cap size of @p out in bytes
 * @return the length written without the NUL, or ZCOAP_ENOSPC when cut, ZCOAP_EINVAL.
 */
ptrdiff_t zcoap_msg_print(const zcoap_msg_t *msg, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#include "zcoap/msg_inline.h"

#endif /* ZCOAP_MSG_H */
