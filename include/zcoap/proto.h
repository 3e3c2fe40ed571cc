/**
 * @file proto.h
 * @brief CoAP protocol constants: message types, codes, option numbers, content formats, timing.
 *
 * Registries covered: RFC 7252 (base), RFC 7641 (Observe), RFC 7959 (Block-wise), RFC 8132
 * (FETCH/PATCH/iPATCH), RFC 7967 (No-Response), RFC 8768 (Hop-Limit), RFC 9175 (Echo,
 * Request-Tag), RFC 8613 (OSCORE), RFC 9177 (Q-Block).
 */
#ifndef ZCOAP_PROTO_H
#define ZCOAP_PROTO_H

#ifdef __cplusplus
extern "C" {
#endif

/** CoAP protocol version carried in every header (RFC 7252 §3). */
#define ZCOAP_VERSION_1 1u

/** Default UDP port of coap:// (RFC 7252 §6.1). */
#define ZCOAP_DEFAULT_PORT 5683u
/** Default UDP port of coaps:// (RFC 7252 §6.2). */
#define ZCOAP_DEFAULT_SECURE_PORT 5684u
/** Longest token (RFC 7252 §3). */
#define ZCOAP_MAX_TOKEN_LEN 8u
/** Payload marker byte (RFC 7252 §3). */
#define ZCOAP_PAYLOAD_MARKER 0xFFu

/** Message types (RFC 7252 §3). */
typedef enum zcoap_type {
    ZCOAP_TYPE_CON = 0, /**< Confirmable */
    ZCOAP_TYPE_NON = 1, /**< Non-confirmable */
    ZCOAP_TYPE_ACK = 2, /**< Acknowledgement */
    ZCOAP_TYPE_RST = 3  /**< Reset */
} zcoap_type_t;

/** Builds a code byte from class and detail: ZCOAP_CODE(2, 5) is 2.05. */
#define ZCOAP_CODE(cls, detail) ((((unsigned)(cls)&0x7u) << 5) | ((unsigned)(detail)&0x1Fu))
/** Class (0-7) of a code byte. */
#define ZCOAP_CODE_CLASS(code) (((unsigned)(code) >> 5) & 0x7u)
/** Detail (0-31) of a code byte. */
#define ZCOAP_CODE_DETAIL(code) ((unsigned)(code)&0x1Fu)

/** Method and response codes (RFC 7252 §12.1, RFC 7959, RFC 8132, RFC 8516, RFC 8768, RFC 9175). */
typedef enum zcoap_code {
    ZCOAP_CODE_EMPTY = 0x00, /**< 0.00 Empty message */
    ZCOAP_GET = 0x01,        /**< 0.01 */
    ZCOAP_POST = 0x02,       /**< 0.02 */
    ZCOAP_PUT = 0x03,        /**< 0.03 */
    ZCOAP_DELETE = 0x04,     /**< 0.04 */
    ZCOAP_FETCH = 0x05,      /**< 0.05 RFC 8132 */
    ZCOAP_PATCH = 0x06,      /**< 0.06 RFC 8132 */
    ZCOAP_IPATCH = 0x07,     /**< 0.07 RFC 8132 */

    ZCOAP_CREATED = 0x41,  /**< 2.01 */
    ZCOAP_DELETED = 0x42,  /**< 2.02 */
    ZCOAP_VALID = 0x43,    /**< 2.03 */
    ZCOAP_CHANGED = 0x44,  /**< 2.04 */
    ZCOAP_CONTENT = 0x45,  /**< 2.05 */
    ZCOAP_CONTINUE = 0x5F, /**< 2.31 RFC 7959 */

    ZCOAP_BAD_REQUEST = 0x80,                /**< 4.00 */
    ZCOAP_UNAUTHORIZED = 0x81,               /**< 4.01 */
    ZCOAP_BAD_OPTION = 0x82,                 /**< 4.02 */
    ZCOAP_FORBIDDEN = 0x83,                  /**< 4.03 */
    ZCOAP_NOT_FOUND = 0x84,                  /**< 4.04 */
    ZCOAP_METHOD_NOT_ALLOWED = 0x85,         /**< 4.05 */
    ZCOAP_NOT_ACCEPTABLE = 0x86,             /**< 4.06 */
    ZCOAP_REQUEST_ENTITY_INCOMPLETE = 0x88,  /**< 4.08 RFC 7959 */
    ZCOAP_CONFLICT = 0x89,                   /**< 4.09 RFC 8132 */
    ZCOAP_PRECONDITION_FAILED = 0x8C,        /**< 4.12 */
    ZCOAP_REQUEST_ENTITY_TOO_LARGE = 0x8D,   /**< 4.13 */
    ZCOAP_UNSUPPORTED_CONTENT_FORMAT = 0x8F, /**< 4.15 */
    ZCOAP_UNPROCESSABLE_ENTITY = 0x96,       /**< 4.22 RFC 8132 */
    ZCOAP_TOO_MANY_REQUESTS = 0x9D,          /**< 4.29 RFC 8516 */

    ZCOAP_INTERNAL_SERVER_ERROR = 0xA0,  /**< 5.00 */
    ZCOAP_NOT_IMPLEMENTED = 0xA1,        /**< 5.01 */
    ZCOAP_BAD_GATEWAY = 0xA2,            /**< 5.02 */
    ZCOAP_SERVICE_UNAVAILABLE = 0xA3,    /**< 5.03 */
    ZCOAP_GATEWAY_TIMEOUT = 0xA4,        /**< 5.04 */
    ZCOAP_PROXYING_NOT_SUPPORTED = 0xA5, /**< 5.05 */
    ZCOAP_HOP_LIMIT_REACHED = 0xA8       /**< 5.08 RFC 8768 */
} zcoap_code_t;

/** Option numbers (RFC 7252 §12.2 and the RFCs named in this file's brief). */
typedef enum zcoap_option {
    ZCOAP_OPT_IF_MATCH = 1,
    ZCOAP_OPT_URI_HOST = 3,
    ZCOAP_OPT_ETAG = 4,
    ZCOAP_OPT_IF_NONE_MATCH = 5,
    ZCOAP_OPT_OBSERVE = 6, /**< RFC 7641 */
    ZCOAP_OPT_URI_PORT = 7,
    ZCOAP_OPT_LOCATION_PATH = 8,
    ZCOAP_OPT_OSCORE = 9, /**< RFC 8613 */
    ZCOAP_OPT_URI_PATH = 11,
    ZCOAP_OPT_CONTENT_FORMAT = 12,
    ZCOAP_OPT_MAX_AGE = 14,
    ZCOAP_OPT_URI_QUERY = 15,
    ZCOAP_OPT_HOP_LIMIT = 16, /**< RFC 8768 */
    ZCOAP_OPT_ACCEPT = 17,
    ZCOAP_OPT_Q_BLOCK1 = 19, /**< RFC 9177 */
    ZCOAP_OPT_LOCATION_QUERY = 20,
    ZCOAP_OPT_BLOCK2 = 23,   /**< RFC 7959 */
    ZCOAP_OPT_BLOCK1 = 27,   /**< RFC 7959 */
    ZCOAP_OPT_SIZE2 = 28,    /**< RFC 7959 */
    ZCOAP_OPT_Q_BLOCK2 = 31, /**< RFC 9177 */
    ZCOAP_OPT_PROXY_URI = 35,
    ZCOAP_OPT_PROXY_SCHEME = 39,
    ZCOAP_OPT_SIZE1 = 60,
    ZCOAP_OPT_ECHO = 252,        /**< RFC 9175 */
    ZCOAP_OPT_NO_RESPONSE = 258, /**< RFC 7967 */
    ZCOAP_OPT_REQUEST_TAG = 292  /**< RFC 9175 */
} zcoap_option_t;

/** Content-Format identifiers (CoAP Content-Formats registry, the ones gateways meet). */
typedef enum zcoap_content_format {
    ZCOAP_CF_TEXT_PLAIN = 0,
    ZCOAP_CF_COSE_ENCRYPT0 = 16,
    ZCOAP_CF_COSE_MAC0 = 17,
    ZCOAP_CF_COSE_SIGN1 = 18,
    ZCOAP_CF_LINK_FORMAT = 40,
    ZCOAP_CF_XML = 41,
    ZCOAP_CF_OCTET_STREAM = 42,
    ZCOAP_CF_EXI = 47,
    ZCOAP_CF_JSON = 50,
    ZCOAP_CF_JSON_PATCH_JSON = 51,  /**< RFC 8132 */
    ZCOAP_CF_MERGE_PATCH_JSON = 52, /**< RFC 8132 */
    ZCOAP_CF_CBOR = 60,
    ZCOAP_CF_CWT = 61,
    ZCOAP_CF_SENML_JSON = 110,
    ZCOAP_CF_SENSML_JSON = 111,
    ZCOAP_CF_SENML_CBOR = 112,
    ZCOAP_CF_SENSML_CBOR = 113,
    ZCOAP_CF_SENML_EXI = 114,
    ZCOAP_CF_SENSML_EXI = 115,
    ZCOAP_CF_LWM2M_TLV = 11542,
    ZCOAP_CF_LWM2M_JSON = 11543,
    ZCOAP_CF_LWM2M_CBOR = 11544
} zcoap_content_format_t;

/** @name Transmission parameters (RFC 7252 §4.8, §4.8.2), milliseconds unless named otherwise.
 * @{ */
#define ZCOAP_ACK_TIMEOUT_MS 2000u         /**< ACK_TIMEOUT */
#define ZCOAP_ACK_RANDOM_FACTOR_NUM 3u     /**< ACK_RANDOM_FACTOR 1.5 as 3/2 */
#define ZCOAP_ACK_RANDOM_FACTOR_DEN 2u     /**< denominator of ACK_RANDOM_FACTOR */
#define ZCOAP_MAX_RETRANSMIT 4u            /**< MAX_RETRANSMIT */
#define ZCOAP_NSTART 1u                    /**< NSTART: exchanges in flight toward one peer */
#define ZCOAP_DEFAULT_LEISURE_MS 5000u     /**< DEFAULT_LEISURE (multicast answers) */
#define ZCOAP_PROBING_RATE_BYTES_PER_S 1u  /**< PROBING_RATE, bytes per second */
#define ZCOAP_MAX_TRANSMIT_SPAN_MS 45000u  /**< MAX_TRANSMIT_SPAN */
#define ZCOAP_MAX_TRANSMIT_WAIT_MS 93000u  /**< MAX_TRANSMIT_WAIT */
#define ZCOAP_MAX_LATENCY_MS 100000u       /**< MAX_LATENCY */
#define ZCOAP_PROCESSING_DELAY_MS 2000u    /**< PROCESSING_DELAY (= ACK_TIMEOUT) */
#define ZCOAP_MAX_RTT_MS 202000u           /**< MAX_RTT: 2 * MAX_LATENCY + PROCESSING_DELAY */
#define ZCOAP_EXCHANGE_LIFETIME_MS 247000u /**< EXCHANGE_LIFETIME */
#define ZCOAP_NON_LIFETIME_MS 145000u      /**< NON_LIFETIME */
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* ZCOAP_PROTO_H */
