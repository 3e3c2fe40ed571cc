/**
 * @file transfer.h
 * @brief The client side of Block-wise transfers (RFC 7959): one request whose body, response,
 *        or both travel in blocks, driven over any endpoint.
 *
 * A transfer never holds the body nor the representation: each Block1 block is read from the
 * caller's buffer or read callback straight into the request being built, and each Block2 block
 * is handed back as a view of the response with its offset. The caller's storage is the
 * transfer itself and a template buffer for the first request's options.
 *
 * Driving it with an endpoint:
 * @code
 * zcoap_ep_request_begin(ep, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
 * zcoap_builder_add_uri_path(&b, "/large", 6);           // the request's options, no payload
 * zcoap_transfer_start(&t, &b, &params);                  // adds Block1/Block2 and the body
 * zcoap_ep_request_send(ep, &b, 0, now);
 * ...
 * on ZCOAP_EV_OUT_RESPONSE: zcoap_transfer_response(&t, ev.msg, &step);
 *   step.len > 0:  write step.data at step.offset
 *   NEXT:          zcoap_ep_request_begin(ep, t.type, t.method, &b);
 *                  zcoap_transfer_build(&t, &b); zcoap_ep_request_send(ep, &b, 0, now);
 *   DONE / FAILED: the transfer is over (ev.msg is the final response)
 * on ZCOAP_EV_OUT_TIMEOUT or _RESET: zcoap_transfer_abort(&t)
 * @endcode
 * When zcoap_transfer_build() (or the send) fails, the transfer stays where it was: abort it
 * and zcoap_ep_cancel() the request begun, or build again.
 *
 * Responses outside RFC 7959 fail the transfer with ZCOAP_EPROTO rather than pass for a final
 * answer: a 2.31 Continue whose Block1 is missing or names another block, a 2.31 to the last
 * block, to a body sent whole or to a request without body, a 2.xx to a follow-up without Block2, a
 * block that starts past the bytes received or brings none. A block larger than asked for is taken
 * when it starts where asked (a lenient reading of §2.4's MUST); the rest is asked for in the
 * client's size.
 *
 * Tokens: every request of a transfer gets a fresh token from the endpoint (RFC 7959 §2.4
 * allows either). A delayed response to an earlier block then never passes for the answer to
 * the current one, which one token for all blocks could not tell apart.
 *
 * Options: every follow-up request carries the first request's options (Uri-Host, Uri-Path,
 * Uri-Query, Accept, ...), with Block1, Block2, Size1, Size2, Observe (§2.6: only the first
 * request of an observation carries it) and Echo replaced by what the block needs.
 *
 * Echo (RFC 9175 §2.3): a 4.01 Unauthorized carrying an Echo option (a server that wants the
 * client to prove its address before a large answer, §2.4 item 3, or a fresh request) is not
 * final: the same request goes again (the same block, its body, a fresh token) carrying that
 * Echo value. Once per request: a second 4.01 with Echo in a row is the final response, so a
 * server that never accepts the value cannot make the client loop. An Echo option in any other
 * response goes into the next request of the transfer (§2.3: "SHOULD echo ... in the next
 * request").
 */
#ifndef ZCOAP_TRANSFER_H
#define ZCOAP_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcoap/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Read the body of an upload on demand, for bodies larger than memory.
 * @param[in] ctx the @c read_ctx of the transfer's zcoap_transfer_params_t
 * @param[in] offset where the bytes asked for start in the body
 * @param[in] len how many bytes are asked for (at most one block)
 * @param[out] out room for @p len bytes: the body's bytes from @p offset on
 * @return @p len (fewer only when the body is shorter than announced, which fails the transfer),
 *         or a negative error, which fails the transfer with that error
 */
typedef ptrdiff_t (*zcoap_body_read_fn)(void *ctx, size_t offset, uint8_t *out, size_t len);

/** A block size not fixed by the caller: the largest that fits (Block1), the server's (Block2). */
#define ZCOAP_TRANSFER_SZX_AUTO 0xFFu

/** What a transfer sends and asks for. Zero it, then set what you need (see the defaults). */
typedef struct zcoap_transfer_params {
    /** The request body: @c body_len bytes at @c body, or read through @c read (then @c body
     *  is ignored). Sent in one message when it fits one block of @c block1_szx (with AUTO:
     *  the largest block that fits the request buffer, 1024 bytes at most), else block-wise
     *  (Block1) with Size1. */
    const uint8_t *body;
    size_t body_len;         /**< the body's size in bytes, also when @c read supplies it */
    zcoap_body_read_fn read; /**< reads the body on demand; NULL: @c body holds it */
    void *read_ctx;          /**< passed to @c read */
    /** Largest Block1 block: 0-6 (16 << szx bytes), or ZCOAP_TRANSFER_SZX_AUTO (zero
     *  initialisation is SZX 0: set it) for the largest that fits the request buffer. A server
     *  answering with a smaller SZX gets that size for the rest of the body (§2.3). */
    uint8_t block1_szx;
    /** Block2 size to ask for from the first request on (early negotiation, §2.4), 0-6; or
     *  ZCOAP_TRANSFER_SZX_AUTO: ask without Block2 and take the server's size (late). */
    uint8_t block2_szx;
    /** Random access: fetch only block @c block2_num (of @c block2_szx, which must be set) and
     *  stop there, whatever its M bit says. */
    bool block2_single;
    uint32_t block2_num; /**< with @c block2_single: the block to fetch */
    /** Ask for the representation's size: Size2 0 in the first request (§4); the answer comes
     *  in zcoap_transfer_step_t::size2. */
    bool ask_size2;
    /** When the ETag changes between blocks of a download (the representation changed):
     *  false fails the transfer with ZCOAP_ECHANGED; true starts the download again from block
     *  0 (at most ZCOAP_TRANSFER_MAX_RESTARTS times; the step says so with @c restarted).
     *  Restarting re-sends the request, so it is done only for GET and FETCH without Block1. */
    bool restart_on_etag_change;
} zcoap_transfer_params_t;

/** The longest Echo value a transfer keeps (RFC 9175 §2.2.1: 1-40 bytes). */
#define ZCOAP_TRANSFER_ECHO_MAX 40u

/** How often a download starts again after an ETag change before it fails with ZCOAP_ECHANGED. */
#define ZCOAP_TRANSFER_MAX_RESTARTS 3u

/** What to do after a response (zcoap_transfer_response()). */
typedef enum zcoap_transfer_action {
    ZCOAP_TRANSFER_NEXT,  /**< send the next request: begin one, zcoap_transfer_build(), send */
    ZCOAP_TRANSFER_DONE,  /**< the response is the final one (any code); the transfer is over */
    ZCOAP_TRANSFER_FAILED /**< the transfer cannot go on: see @c error; it is over */
} zcoap_transfer_action_t;

/** The outcome of one response. */
typedef struct zcoap_transfer_step {
    zcoap_transfer_action_t action; /**< what to do next */
    int error; /**< FAILED: ZCOAP_ECHANGED (the ETag changed), ZCOAP_EPROTO (a block other than
                    the one asked for, a 2.31 that does not match the block sent), ZCOAP_ERANGE
                    (past 2^20 blocks); else ZCOAP_OK */
    /** Bytes of the response to keep: a slice of the representation at @c offset (a 2.xx), or
     *  the payload of a final non-2.xx response (a diagnostic, at offset 0). len 0: none. A
     *  view into the response: valid as long as it is. */
    const uint8_t *data;
    size_t len;    /**< length of @c data in bytes */
    size_t offset; /**< where @c data goes in the representation */
    /** The download started again from block 0 after an ETag change: drop what was kept. */
    bool restarted;
    /** The representation's total size, when a response carried Size2 (0 otherwise). */
    uint64_t size2;
    /** Body bytes the server has taken so far (Block1). */
    size_t uploaded;
    /** The response was a 4.01 Unauthorized with Echo (RFC 9175 §2.3): the action is NEXT and
     *  the next request is the same one again, carrying the Echo value. */
    bool echo_retry;
} zcoap_transfer_step_t;

/** Transfer phases (private). */
typedef enum zcoap__transfer_phase {
    ZCOAP__TRANSFER_IDLE,
    ZCOAP__TRANSFER_UPLOAD,   /* the body's blocks */
    ZCOAP__TRANSFER_DOWNLOAD, /* the response's blocks */
} zcoap__transfer_phase_t;

/** One block-wise request. Fields are private but for @c type and @c method, which the next
 *  request must be begun with. */
typedef struct zcoap_transfer {
    uint8_t type;   /**< the first request's message type (CON or NON) */
    uint8_t method; /**< the first request's method */
    /** @cond INTERNAL */
    /* private */
    uint8_t *tmpl; /* the first request without payload nor block options */
    size_t tmpl_cap;
    size_t tmpl_len;
    zcoap_transfer_params_t p;
    zcoap__transfer_phase_t phase;
    size_t sent;         /* body bytes the server has taken */
    size_t block1_len;   /* body bytes in the request in flight */
    uint32_t block1_num; /* its Block1 NUM */
    uint8_t szx1;        /* Block1 size in use */
    bool block1_used;    /* the body goes in blocks */
    bool body_whole;     /* the body went in one message (repeated for FETCH) */
    uint8_t szx2;        /* Block2 size to ask for; AUTO before the server chose */
    bool block2_ask;     /* the next request carries Block2 */
    bool first_request;  /* the next request is the first one */
    size_t received;     /* representation bytes handed over so far */
    uint8_t etag[8];
    uint8_t etag_len;
    bool etag_known; /* the first block's ETag (or its absence) is known */
    uint8_t restarts;
    bool in_flight; /* a request was built: its response is awaited */
    bool next_due;  /* the last response asked for another request */
    /* RFC 9175: the Echo value of the last response, for the next request (echo_len 0: none) */
    uint8_t echo[ZCOAP_TRANSFER_ECHO_MAX];
    uint8_t echo_len;
    bool echo_retried;    /* the request in flight repeats one answered 4.01 with Echo */
    bool sent_first;      /* the request in flight is the first one */
    bool first_observe;   /* the first request carried Observe (a retry of it carries it again) */
    uint32_t observe_val; /* its value */
    /** @endcond */
} zcoap_transfer_t;

/**
 * @brief Prepare a transfer with a template buffer of @p tmpl_cap bytes: it holds the first
 *        request's options (and a 4-byte header; not its token nor its body) while the
 *        transfer lasts.
 * @retval ZCOAP_OK, ZCOAP_EINVAL
 */
int zcoap_transfer_init(zcoap_transfer_t *t, uint8_t *tmpl, size_t tmpl_cap);

/**
 * @brief Start a transfer from the request in @p b (begun, options added, no payload): keep its
 *        options, then add the first block's options and body to @p b. Send @p b next.
 *
 * A body larger than one block (of @c block1_szx, or of what fits in @p b) goes block-wise:
 * block 0 with M set and Size1. A transfer already under way is dropped.
 * @retval ZCOAP_OK
 * @retval ZCOAP_ENOSPC the template buffer is too small for the request's options, or @p b has
 *         no room for a block of 16 bytes
 * @retval ZCOAP_EINVAL bad parameters (SZX above 6, random access without block2_szx, a body
 *         with neither bytes nor read callback, a payload already in @p b)
 * @retval the read callback's error
 */
int zcoap_transfer_start(zcoap_transfer_t *t, zcoap_builder_t *b,
                         const zcoap_transfer_params_t *params);

/**
 * @brief Build the next request of the transfer into @p b, just begun with the transfer's @c type
 *        and @c method (and a fresh token): the first request's options, the block options, and
 *        the body's next block.
 * @retval ZCOAP_OK, ZCOAP_ESTATE (no next request is due), ZCOAP_EINVAL (@p b has another
 *         method, or options already), the builder's error, the read callback's error, or
 *         ZCOAP_ERANGE when it read less than asked (the body is shorter than body_len). The
 *         transfer stays where it was: abort it, or build again.
 */
int zcoap_transfer_build(zcoap_transfer_t *t, zcoap_builder_t *b);

/**
 * @brief Take the response to the transfer's last request and say what comes next.
 *
 * Upload: a 2.31 Continue with the block's Block1 moves to the next block, at the server's
 * size when it asks for a smaller one (§2.3); a 4.13 with a smaller Block1 SZX starts the body
 * again at that size (§2.9.3); any other response is final. Download: a 2.xx with Block2 hands
 * over its slice and asks for the next block while M is set; the first response's ETag must
 * stay the same (else ZCOAP_ECHANGED, or a restart); a block other than the one asked for is
 * ZCOAP_EPROTO. A 4.01 with Echo (1-40 bytes) asks for the same request again with that Echo,
 * once (see Echo above); NEXT with @c echo_retry set.
 * @retval ZCOAP_OK @p out filled
 * @retval ZCOAP_ESTATE no request of the transfer is in flight
 * @retval ZCOAP_EINVAL NULL arguments
 */
int zcoap_transfer_response(zcoap_transfer_t *t, const zcoap_msg_t *resp,
                            zcoap_transfer_step_t *out);

/** End the transfer (after a timeout or a reset of its request, or to give up). */
void zcoap_transfer_abort(zcoap_transfer_t *t);

/** Whether a transfer is under way (started, and not DONE, FAILED nor aborted). */
bool zcoap_transfer_active(const zcoap_transfer_t *t);

#ifdef __cplusplus
}
#endif

#endif /* ZCOAP_TRANSFER_H */
