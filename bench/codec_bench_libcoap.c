/*
 * The libcoap side of the codec benchmark: the same cases with libcoap 4.3's API, called the
 * way a user of that API would in a hot loop, reusing PDUs wherever libcoap lets one.
 *
 * - parse: one PDU made once with coap_pdu_init(); coap_pdu_parse(COAP_PROTO_UDP, ...) into it
 *   every iteration (libcoap copies the datagram into the PDU; that is how its API works).
 * - walk: the same, then coap_option_iterator_init/coap_option_next, coap_opt_length and
 *   coap_opt_value on each option, coap_decode_var_bytes for Accept.
 * - build: coap_add_token, coap_add_option x4 (Accept through coap_encode_var_safe, libcoap's
 *   idiom for uint options) and coap_pdu_encode_header (what coap_send does before sending).
 *   "build" reuses one PDU, reset with coap_pdu_clear(); "build_alloc" makes and frees a PDU
 *   with coap_pdu_init()/coap_delete_pdu() every time, as the public API requires (a libcoap
 *   PDU cannot take a second token, and coap_send() frees the PDU it sends).
 *
 * coap_pdu_clear() and coap_pdu_encode_header() are internal to libcoap 4.3 (declared in
 * coap_pdu_internal.h, not installed, and hidden from the shared library's symbol table) but
 * global in the static archive; the build links that archive when present
 * (ZCOAP_BENCH_LIBCOAP_STATIC) so libcoap also gets its best case and direct calls, as zcoap
 * does. Without it, "build" is not measured and the header of build_alloc is not encoded.
 */
#include <coap3/coap.h>
#include <string.h>

#include "codec_bench.h"

#ifdef ZCOAP_BENCH_LIBCOAP_STATIC
/* From libcoap's coap_pdu_internal.h (4.3.x), which is not installed. */
void coap_pdu_clear(coap_pdu_t *pdu, size_t size);
size_t coap_pdu_encode_header(coap_pdu_t *pdu, coap_proto_t proto);
#endif

/* Room libcoap may use for a PDU; the UDP maximum it uses by default (RFC 7252 §4.6). */
#define PDU_SIZE 1152u

static coap_pdu_t *rx_pdu; /* parse target, reused */
static coap_pdu_t *tx_pdu; /* build target, reused after coap_pdu_clear() */

bool bench_libcoap_init(void)
{
    coap_startup();
    coap_set_log_level(LOG_EMERG); /* nothing should be logged; never print in a timed loop */
    rx_pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_EMPTY_CODE, 0, PDU_SIZE);
    tx_pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, BENCH_MID, PDU_SIZE);
    return rx_pdu != NULL && tx_pdu != NULL;
}

void bench_libcoap_fini(void)
{
    coap_delete_pdu(rx_pdu);
    coap_delete_pdu(tx_pdu);
    rx_pdu = NULL;
    tx_pdu = NULL;
    coap_cleanup();
}

static uint64_t lc_parse(uint64_t iterations)
{
    uint64_t sum = 1;
    for (uint64_t i = 0; i < iterations; i++) {
        const uint8_t *in = bench_input;
        if (!coap_pdu_parse(COAP_PROTO_UDP, in, sizeof(bench_wire), rx_pdu))
            return 0;
        coap_bin_const_t token = coap_pdu_get_token(rx_pdu);
        sum += (uint64_t)coap_pdu_get_mid(rx_pdu) + token.length + token.s[0];
    }
    return sum;
}

static uint64_t lc_walk(uint64_t iterations)
{
    uint64_t sum = 1;
    coap_opt_iterator_t it;
    for (uint64_t i = 0; i < iterations; i++) {
        const uint8_t *in = bench_input;
        if (!coap_pdu_parse(COAP_PROTO_UDP, in, sizeof(bench_wire), rx_pdu))
            return 0;
        coap_option_iterator_init(rx_pdu, &it, COAP_OPT_ALL);
        coap_opt_t *opt;
        while ((opt = coap_option_next(&it)) != NULL) {
            uint32_t len = coap_opt_length(opt);
            const uint8_t *val = coap_opt_value(opt);
            sum += it.number + len;
            if (len > 0)
                sum += (uint64_t)val[0] + val[len - 1];
            if (it.number == COAP_OPTION_ACCEPT)
                sum += coap_decode_var_bytes(val, len);
        }
    }
    return sum;
}

/* Token and options into a PDU that has none yet; the options come in order, libcoap's
 * fast path (out-of-order options go through coap_insert_option). */
static bool fill(coap_pdu_t *pdu)
{
    uint8_t accept[4];
    unsigned accept_len = coap_encode_var_safe(accept, sizeof(accept), BENCH_ACCEPT);
    bool ok = coap_add_token(pdu, sizeof(bench_token), bench_token) &&
              coap_add_option(pdu, COAP_OPTION_URI_PATH, BENCH_LEN(BENCH_PATH0),
                              (const uint8_t *)BENCH_PATH0) &&
              coap_add_option(pdu, COAP_OPTION_URI_PATH, BENCH_LEN(BENCH_PATH1),
                              (const uint8_t *)BENCH_PATH1) &&
              coap_add_option(pdu, COAP_OPTION_URI_QUERY, BENCH_LEN(BENCH_QUERY),
                              (const uint8_t *)BENCH_QUERY) &&
              coap_add_option(pdu, COAP_OPTION_ACCEPT, accept_len, accept);
#ifdef ZCOAP_BENCH_LIBCOAP_STATIC
    /* The header bytes, as coap_send() writes them before the datagram leaves. */
    ok = ok && coap_pdu_encode_header(pdu, COAP_PROTO_UDP) == 4u;
#endif
    return ok;
}

#ifdef ZCOAP_BENCH_LIBCOAP_STATIC
static uint64_t lc_build(uint64_t iterations)
{
    uint64_t sum = 1;
    for (uint64_t i = 0; i < iterations; i++) {
        coap_pdu_clear(tx_pdu, PDU_SIZE);
        coap_pdu_set_type(tx_pdu, COAP_MESSAGE_CON);
        coap_pdu_set_code(tx_pdu, COAP_REQUEST_CODE_GET);
        coap_pdu_set_mid(tx_pdu, BENCH_MID);
        if (!fill(tx_pdu))
            return 0;
        sum += coap_pdu_get_token(tx_pdu).s[-1];
    }
    return sum;
}
#endif

static uint64_t lc_build_alloc(uint64_t iterations)
{
    uint64_t sum = 1;
    for (uint64_t i = 0; i < iterations; i++) {
        coap_pdu_t *pdu =
            coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, BENCH_MID, PDU_SIZE);
        if (pdu == NULL || !fill(pdu)) {
            coap_delete_pdu(pdu);
            return 0;
        }
        sum += coap_pdu_get_token(pdu).s[0];
        coap_delete_pdu(pdu);
    }
    return sum;
}

/*
 * The bytes libcoap would send for the build case. libcoap keeps a PDU as header room, then
 * token, options and payload in one buffer; coap_pdu_get_token() points at the token and
 * coap_opt_size() gives each option's encoded size, so the options are copied as libcoap
 * encoded them. The 4 header bytes are those coap_pdu_encode_header() wrote (static build) or
 * else are composed from the PDU's getters.
 */
static size_t copy_wire(coap_pdu_t *pdu, uint8_t *out)
{
    coap_bin_const_t token = coap_pdu_get_token(pdu);
#ifdef ZCOAP_BENCH_LIBCOAP_STATIC
    memcpy(out, token.s - 4, 4);
#else
    uint16_t mid = (uint16_t)coap_pdu_get_mid(pdu);
    out[0] = (uint8_t)(0x40u | ((unsigned)coap_pdu_get_type(pdu) << 4) | token.length);
    out[1] = (uint8_t)coap_pdu_get_code(pdu);
    out[2] = (uint8_t)(mid >> 8);
    out[3] = (uint8_t)mid;
#endif
    memcpy(out + 4, token.s, token.length);
    size_t n = 4 + token.length;
    coap_opt_iterator_t it;
    coap_opt_t *opt;
    coap_option_iterator_init(pdu, &it, COAP_OPT_ALL);
    while ((opt = coap_option_next(&it)) != NULL) {
        size_t size = coap_opt_size(opt);
        if (size > BENCH_MSG_CAP - n)
            return 0;
        memcpy(out + n, opt, size);
        n += size;
    }
    return n;
}

static size_t lc_encode_once(uint8_t *out)
{
    coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, BENCH_MID, PDU_SIZE);
    size_t n = (pdu != NULL && fill(pdu)) ? copy_wire(pdu, out) : 0;
    coap_delete_pdu(pdu);
    return n;
}

const bench_lib_t bench_libcoap = {
    .name = "libcoap",
    .version = coap_package_version,
    .parse = lc_parse,
    .walk = lc_walk,
#ifdef ZCOAP_BENCH_LIBCOAP_STATIC
    .build = lc_build,
#else
    .build = NULL,
#endif
    .build_alloc = lc_build_alloc,
    .encode_once = lc_encode_once,
    .how = "coap_pdu_parse(COAP_PROTO_UDP) into one PDU made once (copies the datagram); "
           "coap_option_iterator_init/coap_option_next + coap_opt_length/coap_opt_value + "
           "coap_decode_var_bytes; build: coap_pdu_clear on one PDU (alloc: coap_pdu_init/"
           "coap_delete_pdu per message) + coap_add_token + 4x coap_add_option + "
           "coap_pdu_encode_header",
#ifdef ZCOAP_BENCH_LIBCOAP_STATIC
    .linkage = "static archive (direct calls, like zcoap)",
#else
    .linkage = "shared library (calls through the PLT)",
#endif
};
