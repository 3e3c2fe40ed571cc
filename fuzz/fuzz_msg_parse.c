/*
 * Fuzz target: zcoap_msg_parse() and everything that reads a parsed message, then
 * parse -> rebuild -> parse equality.
 *
 * Properties checked for every input (FUZZ_CHECK aborts, which libFuzzer records as a crash):
 * - parse agrees with a small independent reference decoder (written from RFC 7252 §3 here, not
 *   shared with src/) on valid/invalid, on every option (number, length, value pointer) and on
 *   the payload;
 * - every view (token, options, each option value, payload) lies inside the input;
 * - on an error with 4+ bytes, the header fields are still filled (msg.h contract, for RST);
 * - the readers (check_options, opt_uint, opt_block, print, path, uri) never crash and respect
 *   their output buffers (ASan/UBSan and the guard bytes below catch the rest);
 * - rebuilding the message with the builder, option by option in wire order, gives a message
 *   whose every field and option equals the original's.
 *
 * The rebuilt bytes must equal the input bytes exactly. One might expect a "non-minimal"
 * encoding on input (an extended field where a nibble would do) to make them differ, but
 * RFC 7252 §3.1 leaves no such freedom: nibble values 0-12 stand for themselves, nibble 13 plus
 * one byte covers exactly 13-268 and nibble 14 plus two bytes exactly 269-65804, so every delta
 * and length has one encoding only. Deltas are non-negative, so the input's options are already
 * in the order the builder emits them (repeats keep their order). Hence a parsed message has a
 * canonical wire form, and the rebuild is compared field by field *and* byte for byte.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "zcoap/zcoap.h"

/* Room for the largest input we fuzz (-max_len=1500) plus rendering overhead. */
#define PRINT_BIG_CAP 16384u
#define PRINT_SMALL_CAP 24u
#define URI_CAP 8192u
#define GUARD 0xA5u

/* ---- independent reference decoder (RFC 7252 §3, §3.1) ----------------------------------- */

typedef struct ref_opt {
    uint32_t num;
    uint32_t len;
    size_t val_off; /* offset of the value in the datagram */
} ref_opt_t;

/* Reads one extended field: nibble 13 -> 1 byte + 13, nibble 14 -> 2 bytes + 269. */
static bool ref_ext(uint32_t nibble, const uint8_t *buf, size_t len, size_t *pos, uint32_t *out)
{
    if (nibble < 13u) {
        *out = nibble;
        return true;
    }
    if (nibble == 13u) {
        if (*pos + 1u > len)
            return false;
        *out = buf[*pos] + 13u;
        *pos += 1u;
        return true;
    }
    if (*pos + 2u > len)
        return false;
    *out = (((uint32_t)buf[*pos] << 8) | buf[*pos + 1u]) + 269u;
    *pos += 2u;
    return true;
}

/*
 * Decodes the whole datagram; returns false for any malformed one. On success opts[0..*n_opts)
 * holds the options (at most cap of them are stored; the count is exact) and *payload_off /
 * *payload_len the payload (length 0 when absent).
 */
static bool ref_decode(const uint8_t *buf, size_t len, ref_opt_t *opts, size_t cap, size_t *n_opts,
                       size_t *payload_off, size_t *payload_len)
{
    *n_opts = 0;
    *payload_off = 0;
    *payload_len = 0;
    if (len < 4u || (buf[0] >> 6) != 1u)
        return false;
    size_t tkl = buf[0] & 0x0Fu;
    unsigned cls = (unsigned)buf[1] >> 5;
    if (tkl > 8u || cls == 1u || cls == 6u || cls == 7u)
        return false;
    if (buf[1] == 0u && len != 4u) /* §4.1: an Empty message is the header alone */
        return false;
    if (4u + tkl > len)
        return false;
    size_t pos = 4u + tkl;
    uint32_t num = 0;
    while (pos < len) {
        uint8_t first = buf[pos];
        if (first == 0xFFu) {
            if (pos + 1u == len)
                return false;
            *payload_off = pos + 1u;
            *payload_len = len - pos - 1u;
            return true;
        }
        uint32_t dn = (uint32_t)first >> 4;
        uint32_t ln = (uint32_t)first & 0x0Fu;
        if (dn == 15u || ln == 15u)
            return false;
        pos++;
        uint32_t delta;
        uint32_t olen;
        if (!ref_ext(dn, buf, len, &pos, &delta) || !ref_ext(ln, buf, len, &pos, &olen))
            return false;
        if (olen > len - pos)
            return false;
        num += delta;
        if (num > 65535u)
            return false;
        if (*n_opts < cap)
            opts[*n_opts] = (ref_opt_t){num, olen, pos};
        (*n_opts)++;
        pos += olen;
    }
    return true;
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* True if [p, p + n) lies inside [base, base + len). */
static bool inside(const uint8_t *base, size_t len, const uint8_t *p, size_t n)
{
    if (n == 0)
        return p == NULL || (p >= base && p <= base + len);
    return p != NULL && p >= base && p <= base + len && n <= (size_t)(base + len - p);
}

static bool same_opt(const zcoap_opt_t *a, const zcoap_opt_t *b)
{
    return a->num == b->num && a->len == b->len &&
           (a->len == 0 || memcmp(a->val, b->val, a->len) == 0);
}

/* Renders into a buffer with guard bytes after it: a write past cap shows up as a changed guard
 * even without ASan. */
static void check_print(const zcoap_msg_t *msg, size_t cap)
{
    char *out = malloc(cap + 8u);
    FUZZ_CHECK(out != NULL);
    memset(out, GUARD, cap + 8u);
    ptrdiff_t n = zcoap_msg_print(msg, out, cap);
    FUZZ_CHECK(n >= 0 || n == ZCOAP_ENOSPC);
    FUZZ_CHECK(memchr(out, '\0', cap) != NULL); /* always NUL-terminated */
    if (n >= 0) {
        FUZZ_CHECK((size_t)n < cap);
        FUZZ_CHECK(out[n] == '\0' && strlen(out) == (size_t)n);
    }
    for (size_t i = cap; i < cap + 8u; i++)
        FUZZ_CHECK((uint8_t)out[i] == GUARD);
    free(out);
}

static void check_string_out(ptrdiff_t n, const char *out, size_t cap)
{
    FUZZ_CHECK(n >= 0 || n == ZCOAP_ENOSPC);
    if (n >= 0) {
        FUZZ_CHECK((size_t)n < cap && out[n] == '\0' && strlen(out) == (size_t)n);
    }
}

/* A composed absolute URI (RFC 7252 §6.5) must be one zcoap_uri_split() accepts, whatever
 * the options held: §6.5 percent-encodes or fails, it never emits raw bytes. */
static void check_uri_out(ptrdiff_t n, const char *out, size_t cap)
{
    check_string_out(n, out, cap);
    if (n >= 0) {
        zcoap_uri_t parts;
        int rc = zcoap_uri_split(out, (size_t)n, &parts);
        if (rc != ZCOAP_OK)
            fprintf(stderr, "composed URI not accepted (%s): %s\n", zcoap_err_name(rc), out);
        FUZZ_CHECK(rc == ZCOAP_OK);
    }
}

/* ---- readers over a valid message --------------------------------------------------------- */

static void walk_options(const zcoap_msg_t *msg, const uint8_t *data, size_t size,
                         const ref_opt_t *ref, size_t n_ref)
{
    zcoap_opt_iter_t it;
    zcoap_opt_t opt;
    size_t i = 0;
    size_t distinct = 0;
    zcoap_opt_iter_init(&it, msg);
    while (zcoap_opt_iter_next(&it, &opt)) {
        FUZZ_CHECK(i < n_ref);
        FUZZ_CHECK(opt.num == ref[i].num && opt.len == ref[i].len);
        FUZZ_CHECK(inside(data, size, opt.val, opt.len));
        if (opt.len > 0)
            FUZZ_CHECK(opt.val == data + ref[i].val_off);

        /* The first instance of a number is what find returns (checked for the first few
         * numbers only: each find walks from the start, and this must stay linear). */
        if ((i == 0 || ref[i - 1].num != opt.num) && distinct++ < 16) {
            zcoap_opt_t first;
            FUZZ_CHECK(zcoap_msg_find_opt(msg, opt.num, &first));
            FUZZ_CHECK(first.len == opt.len && first.val == opt.val);
        }

        uint32_t u = 0;
        int rc = zcoap_opt_uint(&opt, &u);
        FUZZ_CHECK(rc == ZCOAP_OK || rc == ZCOAP_EOPT_LENGTH);
        FUZZ_CHECK((rc == ZCOAP_OK) == (opt.len <= 4u));
        if (rc == ZCOAP_OK && opt.len < 4u)
            FUZZ_CHECK((u >> (8u * opt.len)) == 0u);

        zcoap_block_t blk;
        rc = zcoap_opt_block(&opt, &blk);
        FUZZ_CHECK(rc == ZCOAP_OK || rc == ZCOAP_EOPT_LENGTH || rc == ZCOAP_EOPT_BLOCK);
        if (rc == ZCOAP_OK)
            FUZZ_CHECK(blk.szx <= 6u && blk.num < (1u << 20));

        (void)zcoap_opt_is_valid(&opt);
        (void)zcoap_opt_name(opt.num);
        (void)zcoap_opt_def(opt.num);
        i++;
    }
    FUZZ_CHECK(i == n_ref && i == msg->opt_count);

    /* find over an iterator stops at the right instance (options are sorted). */
    if (n_ref > 0) {
        zcoap_opt_iter_init(&it, msg);
        size_t found = 0;
        while (zcoap_opt_iter_find(&it, (uint16_t)ref[n_ref - 1].num, &opt))
            found++;
        FUZZ_CHECK(found == zcoap_msg_count_opt(msg, (uint16_t)ref[n_ref - 1].num));
    }
}

static void read_everything(const zcoap_msg_t *msg)
{
    uint16_t bad = 0;
    int rc = zcoap_msg_check_options(msg, NULL, 0, &bad);
    FUZZ_CHECK(rc == ZCOAP_OK || rc == ZCOAP_EOPT_UNRECOGNIZED);
    if (rc == ZCOAP_EOPT_UNRECOGNIZED)
        FUZZ_CHECK(zcoap_opt_is_critical(bad));

    uint32_t u;
    (void)zcoap_msg_get_uint(msg, ZCOAP_OPT_CONTENT_FORMAT, &u);
    zcoap_block_t blk;
    (void)zcoap_msg_get_block(msg, ZCOAP_OPT_BLOCK2, &blk);
    (void)zcoap_type_name(msg->type);
    FUZZ_CHECK(zcoap_code_name(msg->code) != NULL);
    (void)zcoap_code_reason(msg->code);

    check_print(msg, PRINT_SMALL_CAP);
    check_print(msg, PRINT_BIG_CAP);

    static char out[URI_CAP];
    check_string_out(zcoap_msg_path(msg, false, out, sizeof(out)), out, sizeof(out));
    check_string_out(zcoap_msg_path(msg, true, out, sizeof(out)), out, sizeof(out));
    check_uri_out(zcoap_msg_uri(msg, false, "192.0.2.1", 5683, out, sizeof(out)), out, sizeof(out));
    check_uri_out(zcoap_msg_uri(msg, true, "2001:db8::1", 61616, out, sizeof(out)), out,
                  sizeof(out));
    check_string_out(zcoap_msg_uri(msg, false, NULL, 5683, out, sizeof(out)), out, sizeof(out));
    char tiny[8];
    check_string_out(zcoap_msg_uri(msg, false, "h", 1, tiny, sizeof(tiny)), tiny, sizeof(tiny));
}

/* ---- rebuild ------------------------------------------------------------------------------ */

/* Every field and option of the message in buf[0..n) equals msg's, and so do the bytes (the
 * wire form is canonical, see the top of this file). */
static void expect_same_message(const uint8_t *buf, ptrdiff_t n, const zcoap_msg_t *msg)
{
    FUZZ_CHECK(n == (ptrdiff_t)msg->len);
    zcoap_msg_t again;
    FUZZ_CHECK(zcoap_msg_parse(&again, buf, (size_t)n) == ZCOAP_OK);
    FUZZ_CHECK(again.version == msg->version && again.type == msg->type);
    FUZZ_CHECK(again.code == msg->code && again.mid == msg->mid);
    FUZZ_CHECK(again.token_len == msg->token_len);
    FUZZ_CHECK(msg->token_len == 0 || memcmp(again.token, msg->token, msg->token_len) == 0);
    FUZZ_CHECK(again.opt_count == msg->opt_count);
    FUZZ_CHECK(again.payload_len == msg->payload_len);
    FUZZ_CHECK(msg->payload_len == 0 || memcmp(again.payload, msg->payload, msg->payload_len) == 0);

    zcoap_opt_iter_t it;
    zcoap_opt_iter_t it2;
    zcoap_opt_t opt;
    zcoap_opt_t opt2;
    zcoap_opt_iter_init(&it, msg);
    zcoap_opt_iter_init(&it2, &again);
    while (zcoap_opt_iter_next(&it, &opt)) {
        FUZZ_CHECK(zcoap_opt_iter_next(&it2, &opt2));
        FUZZ_CHECK(same_opt(&opt, &opt2));
    }
    FUZZ_CHECK(!zcoap_opt_iter_next(&it2, &opt2));
    FUZZ_CHECK(memcmp(buf, msg->data, msg->len) == 0);
}

/* The options of msg in wire order (at most cap; returns how many there are). */
static size_t collect_options(const zcoap_msg_t *msg, zcoap_opt_t *opts, size_t cap)
{
    zcoap_opt_iter_t it;
    zcoap_opt_t opt;
    size_t n = 0;
    zcoap_opt_iter_init(&it, msg);
    while (zcoap_opt_iter_next(&it, &opt)) {
        if (n < cap)
            opts[n] = opt;
        n++;
    }
    return n;
}

/* Header and token (through the setters, from a different start), then the options in wire
 * order, then the payload written in place (zero-copy payload API). */
static void rebuild_in_order(const zcoap_msg_t *msg, uint8_t *buf, const zcoap_opt_t *opts,
                             size_t n_opts)
{
    zcoap_builder_t b;
    FUZZ_CHECK(zcoap_builder_init(&b, buf, msg->len, (uint8_t)(msg->type ^ 1u),
                                  msg->code == ZCOAP_GET ? ZCOAP_POST : ZCOAP_GET,
                                  (uint16_t)~msg->mid, msg->token, msg->token_len) == ZCOAP_OK);
    FUZZ_CHECK(zcoap_builder_set_type(&b, msg->type) == ZCOAP_OK);
    FUZZ_CHECK(zcoap_builder_set_code(&b, msg->code) == ZCOAP_OK);
    FUZZ_CHECK(zcoap_builder_set_mid(&b, msg->mid) == ZCOAP_OK);
    for (size_t i = 0; i < n_opts; i++)
        FUZZ_CHECK(zcoap_builder_add_opt(&b, opts[i].num, opts[i].val, opts[i].len) == ZCOAP_OK);
    if (msg->payload_len > 0) {
        size_t avail = 0;
        uint8_t *at = zcoap_builder_payload_ptr(&b, &avail);
        FUZZ_CHECK(at != NULL && avail == msg->payload_len); /* the buffer is exactly full */
        memcpy(at, msg->payload, msg->payload_len);
        FUZZ_CHECK(zcoap_builder_commit_payload(&b, msg->payload_len) == ZCOAP_OK);
    }
    expect_same_message(buf, zcoap_builder_finish(&b), msg);
    if (msg->code == ZCOAP_CODE_EMPTY)
        expect_same_message(buf, zcoap_build_empty(buf, msg->len, msg->type, msg->mid), msg);
}

/* A response to a request keeps its token; piggybacked in an ACK with the request's MID when
 * the request is CON, else a NON with the given MID (RFC 7252 §5.2). */
static void respond(const zcoap_msg_t *req)
{
    uint8_t buf[4 + ZCOAP_MAX_TOKEN_LEN];
    zcoap_builder_t b;
    zcoap_msg_t resp;
    FUZZ_CHECK(zcoap_builder_init_response(&b, buf, sizeof(buf), req, ZCOAP_CONTENT, 0x9999) ==
               ZCOAP_OK);
    ptrdiff_t n = zcoap_builder_finish(&b);
    FUZZ_CHECK(n == 4 + req->token_len);
    FUZZ_CHECK(zcoap_msg_parse(&resp, buf, (size_t)n) == ZCOAP_OK);
    bool con = req->type == ZCOAP_TYPE_CON;
    FUZZ_CHECK(resp.type == (con ? ZCOAP_TYPE_ACK : ZCOAP_TYPE_NON));
    FUZZ_CHECK(resp.mid == (con ? req->mid : 0x9999u) && resp.code == ZCOAP_CONTENT);
    FUZZ_CHECK(resp.token_len == req->token_len &&
               memcmp(resp.token, req->token, req->token_len) == 0);
}

/*
 * The builder keeps options sorted whatever the order they come in (repeats keep their order):
 * payload first, so every option has to move it, then the groups of equal numbers from the last
 * to the first, which makes every option but the first an insertion before all the others.
 */
static void rebuild_reversed(const zcoap_msg_t *msg, uint8_t *buf, const zcoap_opt_t *opts,
                             size_t n_opts)
{
    zcoap_builder_t b;
    FUZZ_CHECK(zcoap_builder_init(&b, buf, msg->len, msg->type, msg->code, msg->mid, msg->token,
                                  msg->token_len) == ZCOAP_OK);
    if (msg->payload_len > 0)
        FUZZ_CHECK(zcoap_builder_set_payload(&b, msg->payload, msg->payload_len) == ZCOAP_OK);
    size_t end = n_opts;
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && opts[start - 1].num == opts[end - 1].num)
            start--;
        for (size_t i = start; i < end; i++)
            FUZZ_CHECK(zcoap_builder_add_opt(&b, opts[i].num, opts[i].val, opts[i].len) ==
                       ZCOAP_OK);
        end = start;
    }
    expect_same_message(buf, zcoap_builder_finish(&b), msg);
}

/* init_copy keeps header, token and options (not the payload); then remove_opt takes out every
 * option with the first option's number, set_token changes the token length, and undoing both
 * must give the original bytes back. Works for options outside their bounds too: nothing here
 * checks lengths except the re-adding, done only when all options are valid. */
static void rebuild_from_copy(const zcoap_msg_t *msg, uint8_t *buf, const zcoap_opt_t *opts,
                              size_t n_opts, bool all_valid)
{
    zcoap_builder_t b;
    FUZZ_CHECK(zcoap_builder_init_copy(&b, buf, msg->len, msg) == ZCOAP_OK);
    if (msg->payload_len > 0)
        FUZZ_CHECK(zcoap_builder_set_payload(&b, msg->payload, msg->payload_len) == ZCOAP_OK);
    expect_same_message(buf, zcoap_builder_finish(&b), msg);
    if (n_opts == 0 || msg->code == ZCOAP_CODE_EMPTY)
        return;

    /* Remove the first option number: the rest must stay in order, the payload intact. */
    uint16_t gone = opts[0].num;
    FUZZ_CHECK(zcoap_builder_remove_opt(&b, gone) == ZCOAP_OK);
    ptrdiff_t n = zcoap_builder_finish(&b);
    /* Never longer: the next option's delta absorbs the removed one's, and its header grows
     * by at most what the removed option took (12 then 13 -> 13: one byte out, one in). */
    FUZZ_CHECK(n > 0 && (size_t)n <= msg->len);
    zcoap_msg_t cut;
    FUZZ_CHECK(zcoap_msg_parse(&cut, buf, (size_t)n) == ZCOAP_OK);
    FUZZ_CHECK(cut.payload_len == msg->payload_len);
    zcoap_opt_iter_t it;
    zcoap_opt_t opt;
    size_t i = 0;
    while (i < n_opts && opts[i].num == gone)
        i++;
    size_t removed = i;
    zcoap_opt_iter_init(&it, &cut);
    while (zcoap_opt_iter_next(&it, &opt)) {
        FUZZ_CHECK(i < n_opts && same_opt(&opt, &opts[i]));
        i++;
    }
    FUZZ_CHECK(i == n_opts);

    /* Change the token's length (everything after it moves), then put it back. */
    static const uint8_t other_token[8] = {0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7};
    size_t other_len = (msg->token_len + 5u) % 9u;
    if (other_len <= msg->token_len + (msg->len - (size_t)n)) { /* it fits after the removal */
        FUZZ_CHECK(zcoap_builder_set_token(&b, other_token, other_len) == ZCOAP_OK);
        FUZZ_CHECK(zcoap_msg_parse(&cut, buf, (size_t)zcoap_builder_finish(&b)) == ZCOAP_OK);
        FUZZ_CHECK(cut.token_len == other_len && cut.payload_len == msg->payload_len);
        FUZZ_CHECK(zcoap_builder_set_token(&b, msg->token, msg->token_len) == ZCOAP_OK);
    }

    if (!all_valid)
        return;
    for (size_t k = 0; k < removed; k++)
        FUZZ_CHECK(zcoap_builder_add_opt(&b, gone, opts[k].val, opts[k].len) == ZCOAP_OK);
    expect_same_message(buf, zcoap_builder_finish(&b), msg);
}

static void rebuild_and_compare(const zcoap_msg_t *msg)
{
    if (msg->code == ZCOAP_CODE_EMPTY && msg->type == ZCOAP_TYPE_NON) {
        /* RFC 7252 §4.3: a NON is never Empty. Parse accepts one (what to do with it is the
         * endpoint's business), but neither the builder nor build_empty writes one. */
        uint8_t hdr[4];
        zcoap_builder_t b;
        FUZZ_CHECK(zcoap_builder_init(&b, hdr, sizeof(hdr), msg->type, msg->code, msg->mid, NULL,
                                      0) == ZCOAP_OK);
        FUZZ_CHECK(zcoap_builder_finish(&b) == ZCOAP_EINVAL);
        FUZZ_CHECK(zcoap_build_empty(hdr, sizeof(hdr), msg->type, msg->mid) == ZCOAP_EINVAL);
        return;
    }
    static zcoap_opt_t opts[1600];
    size_t n_opts = collect_options(msg, opts, sizeof(opts) / sizeof(opts[0]));
    if (n_opts > sizeof(opts) / sizeof(opts[0]))
        return;
    /* What the builder accepts: known options within their length bounds, unknown ones, but
     * not the reserved number 0 (RFC 7252 §12.2), which parse lets through. */
    bool all_valid = true;
    for (size_t i = 0; i < n_opts; i++)
        all_valid = all_valid && zcoap_opt_is_valid(&opts[i]) && opts[i].num != 0;

    /* Exactly the input's size: the canonical encoding needs no more, and ASan sees any write
     * past it. */
    uint8_t *buf = malloc(msg->len);
    FUZZ_CHECK(buf != NULL);
    if (all_valid) {
        rebuild_in_order(msg, buf, opts, n_opts);
        rebuild_reversed(msg, buf, opts, n_opts);
    } else {
        /* The builder refuses a known option outside its length bounds (the parser accepts
         * it: RFC 7252 §5.4.3 leaves that to the recipient) and option 0, so this message
         * cannot be built option by option; that is by design. The first refusal sticks. */
        zcoap_builder_t b;
        int rc = ZCOAP_OK;
        size_t i = 0;
        FUZZ_CHECK(zcoap_builder_init(&b, buf, msg->len, msg->type, msg->code, msg->mid, msg->token,
                                      msg->token_len) == ZCOAP_OK);
        for (; i < n_opts && rc == ZCOAP_OK; i++)
            rc = zcoap_builder_add_opt(&b, opts[i].num, opts[i].val, opts[i].len);
        FUZZ_CHECK(rc == (opts[i - 1].num == 0 ? ZCOAP_EINVAL : ZCOAP_EOPT_LENGTH));
        FUZZ_CHECK(zcoap_builder_finish(&b) == rc);
    }
    rebuild_from_copy(msg, buf, opts, n_opts, all_valid);
    if (zcoap_code_is_request(msg->code))
        respond(msg);
    free(buf);
}

/* ---- entry point -------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* At most one option per byte, so this many slots always suffice for -max_len=1500;
     * longer inputs are only compared on the first slots' worth. */
    static ref_opt_t ref[1600];
    size_t n_ref;
    size_t payload_off;
    size_t payload_len;
    bool ref_ok = ref_decode(data, size, ref, sizeof(ref) / sizeof(ref[0]), &n_ref, &payload_off,
                             &payload_len);
    if (n_ref > sizeof(ref) / sizeof(ref[0]))
        return 0;

    zcoap_msg_t msg;
    int rc = zcoap_msg_parse(&msg, data, size);
    FUZZ_CHECK((rc == ZCOAP_OK) == ref_ok);
    if (rc != ZCOAP_OK) {
        FUZZ_CHECK(rc <= ZCOAP_EMSG_SHORT && rc >= ZCOAP_EMSG_CODE_CLASS);
        FUZZ_CHECK((rc == ZCOAP_EMSG_SHORT) == (size < 4u));
        if (size >= 4u) {
            /* msg.h: header fields are filled even on error (to answer with RST). */
            FUZZ_CHECK(msg.version == (data[0] >> 6));
            FUZZ_CHECK(msg.type == ((data[0] >> 4) & 3u));
            FUZZ_CHECK(msg.code == data[1]);
            FUZZ_CHECK(msg.mid == (uint16_t)((data[2] << 8) | data[3]));
        }
        return 0;
    }

    FUZZ_CHECK(msg.data == data && msg.len == size && msg.version == 1u);
    FUZZ_CHECK(msg.type == ((data[0] >> 4) & 3u) && msg.code == data[1]);
    FUZZ_CHECK(msg.token_len == (data[0] & 0x0Fu));
    FUZZ_CHECK(inside(data, size, msg.token, msg.token_len));
    FUZZ_CHECK(inside(data, size, msg.opts, msg.opts_len));
    FUZZ_CHECK(inside(data, size, msg.payload, msg.payload_len));
    FUZZ_CHECK((msg.payload != NULL) == (msg.payload_len > 0));
    FUZZ_CHECK(msg.payload_len == payload_len);
    if (payload_len > 0)
        FUZZ_CHECK(msg.payload == data + payload_off);
    FUZZ_CHECK(4u + msg.token_len + msg.opts_len + (payload_len > 0 ? 1u + payload_len : 0u) ==
               size);

    walk_options(&msg, data, size, ref, n_ref);
    read_everything(&msg);
    rebuild_and_compare(&msg);
    return 0;
}
