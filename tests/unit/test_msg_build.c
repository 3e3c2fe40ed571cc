/* The builder (src/msg_build.c): byte-exact output for every operation, sorted options with
 * correct deltas and extended encodings, sticky errors, and never a byte written outside the
 * buffer. Ends with the message flows of RFC 7252 Appendix A, built and compared byte for byte. */
#include "zcoap_test.h"

#include <stdlib.h>

static uint8_t buf[2048];

/* Finish @p b (which writes into @p out), compare with the hex vector, and parse it back: a
 * builder must never produce a message the parser rejects. */
#define expect_built(b, out, hex) expect_built_at((b), (out), (hex), __FILE__, __LINE__)
static void expect_built_at(const zcoap_builder_t *b, const uint8_t *out, const char *hex,
                            const char *file, int line)
{
    uint8_t want[2048];
    size_t want_len = hex_bytes(hex, want, sizeof(want));
    ptrdiff_t n = zcoap_builder_finish(b);
    assert_zcoap_check_value(n, (long long)want_len, "zcoap_builder_finish(b)", file, line);
    assert_zcoap_check_bytes(out, (size_t)n, want, want_len, "built message", file, line);
    zcoap_msg_t msg;
    parse_ok_at(&msg, out, (size_t)n, file, line);
}

/* ---- header and token ---------------------------------------------------------------------- */

static void header_and_token(void **state)
{
    (void)state;
    zcoap_builder_t b;
    const uint8_t token[] = {1, 2, 3, 4};
    /* 0x44: version 1, CON, TKL 4; 0.01 GET; MID 0x1234 */
    assert_zcoap_ok(zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 0x1234,
                                       token, sizeof(token)));
    expect_built(&b, buf, "44 01 12 34 01 02 03 04");
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_NON, ZCOAP_POST, 0xfffe, NULL, 0));
    expect_built(&b, buf, "50 02 ff fe");
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_ACK, ZCOAP_CONTENT, 0, token, 1));
    expect_built(&b, buf, "61 45 00 00 01");
    const uint8_t token8[] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7};
    assert_zcoap_ok(zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_NON,
                                       ZCOAP_SERVICE_UNAVAILABLE, 7, token8, 8));
    expect_built(&b, buf, "58 a3 00 07 a0 a1 a2 a3 a4 a5 a6 a7"); /* 5.03 = 5 << 5 | 3 */
}

static void set_type_code_mid(void **state)
{
    (void)state;
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "a"));
    assert_zcoap_ok(zcoap_builder_set_type(&b, ZCOAP_TYPE_NON));
    assert_zcoap_ok(zcoap_builder_set_code(&b, ZCOAP_DELETE));
    assert_zcoap_ok(zcoap_builder_set_mid(&b, 0xa1b2));
    expect_built(&b, buf, "50 04 a1 b2 b1 61");
    assert_zcoap_err(zcoap_builder_set_type(&b, 4), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EINVAL);
}

/* ---- options ------------------------------------------------------------------------------- */

static void options_added_out_of_order_come_out_sorted(void **state)
{
    (void)state;
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_ACCEPT, ZCOAP_CF_JSON));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "a"));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "h"));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "b"));
    assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_QUERY, "x=1"));
    expect_built(&b, buf,
                 "40 01 00 01"
                 " 31 68"       /* Uri-Host(3) "h": delta 3, len 1 */
                 " 81 61"       /* Uri-Path(11) "a": delta 8 */
                 " 01 62"       /* Uri-Path "b": delta 0 */
                 " 10"          /* Content-Format(12) 0: delta 1, empty */
                 " 33 78 3d 31" /* Uri-Query(15) "x=1": delta 3 */
                 " 21 32");     /* Accept(17) 50: delta 2 */
}

static void repeats_keep_insertion_order(void **state)
{
    (void)state;
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "c"));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_QUERY, "q1"));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "a"));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_QUERY, "q2"));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "b"));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "h"));
    expect_built(&b, buf,
                 "40 01 00 01 31 68"    /* Uri-Host, added last, goes first */
                 " 81 63 01 61 01 62"   /* Uri-Path c, a, b: as added */
                 " 42 71 31 02 71 32"); /* Uri-Query q1, q2: delta 4, then 0 */
}

static void inserting_rewrites_the_next_delta(void **state)
{
    (void)state;
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_empty(&b, 1000));
    expect_built(&b, buf, "40 01 00 01 e0 02 db"); /* 1000 = 269 + 0x02db */
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "h"));
    /* 3 "h", then 1000 at delta 997 = 269 + 0x02d8 */
    expect_built(&b, buf, "40 01 00 01 31 68 e0 02 d8");
    assert_zcoap_ok(zcoap_builder_add_empty(&b, 500));
    /* 500 at delta 497 = 269 + 0xe4, 1000 at delta 500 = 269 + 0xe7 */
    expect_built(&b, buf, "40 01 00 01 31 68 e0 00 e4 e0 00 e7");
    assert_zcoap_ok(zcoap_builder_add_empty(&b, ZCOAP_OPT_LOCATION_QUERY));
    /* 20 at delta 17 = 13 + 0x04, 500 at delta 480 = 269 + 0xd3 */
    expect_built(&b, buf, "40 01 00 01 31 68 d0 04 e0 00 d3 e0 00 e7");

    /* a delta that shrinks from the 2-byte to the 1-byte and no extension */
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_opt(&b, 300, "v", 1));
    expect_built(&b, buf, "40 01 00 01 e1 00 1f 76"); /* 300 = 269 + 0x1f */
    assert_zcoap_ok(zcoap_builder_add_empty(&b, 290));
    expect_built(&b, buf, "40 01 00 01 e0 00 15 a1 76"); /* 290 = 269 + 0x15; 300: delta 10 */
    assert_zcoap_ok(zcoap_builder_add_empty(&b, ZCOAP_OPT_MAX_AGE));
    /* 14 = 13 + 1; 290: delta 276 = 269 + 7 */
    expect_built(&b, buf, "40 01 00 01 d0 01 e0 00 07 a1 76");
    assert_zcoap_ok(zcoap_builder_add_empty(&b, 289));
    /* 289: delta 275 = 269 + 6; 290: delta 1 */
    expect_built(&b, buf, "40 01 00 01 d0 01 e0 00 06 10 a1 76");
}

static void uint_minimal_encoding(void **state)
{
    (void)state;
    /* RFC 7252 §3.2: shortest form, 0 as the empty value. Size1(60) takes 0-4 bytes; its delta
     * is 13 + 0x2f. */
    const struct {
        uint32_t value;
        const char *hex;
    } cases[] = {
        {0, "40 01 00 01 d0 2f"},
        {1, "40 01 00 01 d1 2f 01"},
        {255, "40 01 00 01 d1 2f ff"},
        {256, "40 01 00 01 d2 2f 01 00"},
        {65535, "40 01 00 01 d2 2f ff ff"},
        {65536, "40 01 00 01 d3 2f 01 00 00"},
        {0xffffff, "40 01 00 01 d3 2f ff ff ff"},
        {0x1000000, "40 01 00 01 d4 2f 01 00 00 00"},
        {0xffffffff, "40 01 00 01 d4 2f ff ff ff ff"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        zcoap_builder_t b;
        assert_zcoap_ok(
            zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
        assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_SIZE1, cases[i].value));
        expect_built(&b, buf, cases[i].hex);
        zcoap_msg_t msg;
        parse_ok(&msg, buf, (size_t)zcoap_builder_finish(&b));
        uint32_t v;
        assert_zcoap_ok(zcoap_msg_get_uint(&msg, ZCOAP_OPT_SIZE1, &v));
        assert_int_equal(v, cases[i].value);
    }
}

static void uint_beyond_the_option_bounds(void **state)
{
    (void)state;
    const struct {
        uint16_t num;
        uint32_t ok;
        uint32_t too_big;
    } cases[] = {
        {ZCOAP_OPT_CONTENT_FORMAT, 65535, 65536}, /* 0-2 bytes */
        {ZCOAP_OPT_URI_PORT, 65535, 70000},       /* 0-2 bytes */
        {ZCOAP_OPT_OBSERVE, 0xffffff, 0x1000000}, /* 0-3 bytes (RFC 7641 §2) */
        {ZCOAP_OPT_NO_RESPONSE, 255, 256},        /* 0-1 byte (RFC 7967 §2) */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        zcoap_builder_t b;
        assert_zcoap_ok(
            zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
        assert_zcoap_ok(zcoap_builder_add_uint(&b, cases[i].num, cases[i].ok));
        assert_zcoap_err(zcoap_builder_add_uint(&b, cases[i].num, cases[i].too_big),
                         ZCOAP_EOPT_LENGTH);
        assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EOPT_LENGTH);
    }
}

static void block_encoding(void **state)
{
    (void)state;
    /* RFC 7959 §2.2; Block2(23) has delta 13 + 0x0a */
    const struct {
        zcoap_block_t block;
        const char *hex;
    } cases[] = {
        {{0, false, 0}, "40 01 00 01 d0 0a"},   /* all zero: the empty value */
        {{1, true, 6}, "40 01 00 01 d1 0a 1e"}, /* 0001 1 110 */
        {{0, false, 2}, "40 01 00 01 d1 0a 02"},
        {{16, false, 2}, "40 01 00 01 d2 0a 01 02"}, /* 0x102 */
        {{0xfffff, true, 6}, "40 01 00 01 d3 0a ff ff fe"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        zcoap_builder_t b;
        assert_zcoap_ok(
            zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
        assert_zcoap_ok(zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK2, &cases[i].block));
        expect_built(&b, buf, cases[i].hex);
        zcoap_msg_t msg;
        parse_ok(&msg, buf, (size_t)zcoap_builder_finish(&b));
        zcoap_block_t got;
        assert_zcoap_ok(zcoap_msg_get_block(&msg, ZCOAP_OPT_BLOCK2, &got));
        assert_int_equal(got.num, cases[i].block.num);
        assert_int_equal(got.more, cases[i].block.more);
        assert_int_equal(got.szx, cases[i].block.szx);
    }
    const zcoap_block_t bad[] = {{1u << 20, false, 0}, {0, false, 7}, {5, true, 255}};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        zcoap_builder_t b;
        assert_zcoap_ok(
            zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
        assert_zcoap_err(zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK1, &bad[i]), ZCOAP_EINVAL);
        assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EINVAL);
    }
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK1, NULL), ZCOAP_EINVAL);
}

static void empty_and_string_options(void **state)
{
    (void)state;
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_PUT, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_empty(&b, ZCOAP_OPT_IF_NONE_MATCH));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, ""));
    assert_zcoap_ok(zcoap_builder_add_opt(&b, ZCOAP_OPT_ETAG, "\x00\xff", 2));
    /* ETag(4) 00 ff: delta 4; If-None-Match(5): delta 1, empty; Uri-Path(11) "": delta 6 */
    expect_built(&b, buf, "40 03 00 01 42 00 ff 10 60");
}

static void known_option_bounds_are_enforced(void **state)
{
    (void)state;
    static const uint8_t bytes[1100];
    const struct {
        uint16_t num;
        size_t bad_len;
        size_t good_len;
    } cases[] = {
        {ZCOAP_OPT_URI_HOST, 0, 255},
        {ZCOAP_OPT_URI_HOST, 256, 1},
        {ZCOAP_OPT_ETAG, 9, 8},
        {ZCOAP_OPT_ETAG, 0, 1},
        {ZCOAP_OPT_IF_MATCH, 9, 0},
        {ZCOAP_OPT_IF_NONE_MATCH, 1, 0},
        {ZCOAP_OPT_URI_PATH, 256, 255},
        {ZCOAP_OPT_URI_QUERY, 256, 0},
        {ZCOAP_OPT_ECHO, 41, 40},
        {ZCOAP_OPT_ECHO, 0, 1},
        {ZCOAP_OPT_PROXY_URI, 1035, 1034},
        {ZCOAP_OPT_PROXY_URI, 0, 1},
        {ZCOAP_OPT_HOP_LIMIT, 0, 1},
        {ZCOAP_OPT_HOP_LIMIT, 2, 1},
        {ZCOAP_OPT_MAX_AGE, 5, 4},
        {ZCOAP_OPT_REQUEST_TAG, 9, 8},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        zcoap_builder_t b;
        assert_zcoap_ok(
            zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
        assert_zcoap_ok(zcoap_builder_add_opt(&b, cases[i].num, bytes, cases[i].good_len));
        if (zcoap_builder_add_opt(&b, cases[i].num, bytes, cases[i].bad_len) != ZCOAP_EOPT_LENGTH)
            print_error("option %u with %zu bytes\n", (unsigned)cases[i].num, cases[i].bad_len);
        assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EOPT_LENGTH);
    }
}

static void remove_options(void **state)
{
    (void)state;
    zcoap_builder_t b;
    /* Uri-Host "h", Uri-Path a b c, Content-Format 0, Uri-Query "q", payload "P" */
    const char *base = "40 01 00 01 31 68 81 61 01 62 01 63 10 31 71 ff 50";
#define BASE()                                                                                     \
    do {                                                                                           \
        assert_zcoap_ok(                                                                           \
            zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));      \
        assert_zcoap_ok(zcoap_builder_set_payload(&b, "P", 1));                                    \
        assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "a"));                       \
        assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_QUERY, "q"));                      \
        assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "b"));                       \
        assert_zcoap_ok(zcoap_builder_add_empty(&b, ZCOAP_OPT_CONTENT_FORMAT));                    \
        assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "h"));                       \
        assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "c"));                       \
    } while (0)
    BASE();
    expect_built(&b, buf, base);
    /* every repeat of a number in the middle: Content-Format then has delta 9 from Uri-Host */
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, ZCOAP_OPT_URI_PATH));
    expect_built(&b, buf, "40 01 00 01 31 68 90 31 71 ff 50");
    /* the first: Uri-Path "a" then carries delta 11 */
    BASE();
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, ZCOAP_OPT_URI_HOST));
    expect_built(&b, buf, "40 01 00 01 b1 61 01 62 01 63 10 31 71 ff 50");
    /* the last, then a new last one goes to the right place */
    BASE();
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, ZCOAP_OPT_URI_QUERY));
    expect_built(&b, buf, "40 01 00 01 31 68 81 61 01 62 01 63 10 ff 50");
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_ACCEPT, "z"));
    expect_built(&b, buf, "40 01 00 01 31 68 81 61 01 62 01 63 10 51 7a ff 50");
    /* absent numbers: nothing changes */
    BASE();
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, ZCOAP_OPT_ETAG));
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, 65535));
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, 0));
    expect_built(&b, buf, base);
    /* all of them */
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, ZCOAP_OPT_URI_QUERY));
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, ZCOAP_OPT_URI_HOST));
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, ZCOAP_OPT_CONTENT_FORMAT));
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, ZCOAP_OPT_URI_PATH));
    expect_built(&b, buf, "40 01 00 01 ff 50");
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "x"));
    expect_built(&b, buf, "40 01 00 01 b1 78 ff 50");
#undef BASE
}

static void remove_grows_the_next_delta(void **state)
{
    (void)state;
    zcoap_builder_t b;
    /* If-Match(1) "", 200 "", 469 "": 10, d0 ba (13 + 0xba = 199), e0 00 00 (269) */
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_empty(&b, 469));
    assert_zcoap_ok(zcoap_builder_add_empty(&b, 200));
    assert_zcoap_ok(zcoap_builder_add_empty(&b, ZCOAP_OPT_IF_MATCH));
    expect_built(&b, buf, "40 01 00 01 10 d0 ba e0 00 00");
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, 200));
    expect_built(&b, buf, "40 01 00 01 10 e0 00 c7"); /* 468 = 269 + 0xc7 */
    /* Uri-Host "h", Uri-Path "a", Location-Query(20) "": removing 11 turns delta 9 into 17 */
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "h"));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "a"));
    assert_zcoap_ok(zcoap_builder_add_empty(&b, ZCOAP_OPT_LOCATION_QUERY));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "!", 1));
    expect_built(&b, buf, "40 01 00 01 31 68 81 61 90 ff 21");
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, ZCOAP_OPT_URI_PATH));
    expect_built(&b, buf, "40 01 00 01 31 68 d0 04 ff 21");
}

static void set_token_moves_options_and_payload(void **state)
{
    (void)state;
    zcoap_builder_t b;
    const uint8_t t8[] = {1, 2, 3, 4, 5, 6, 7, 8};
    const uint8_t t2[] = {0xaa, 0xbb};
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "a"));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "xyz", 3));
    expect_built(&b, buf, "40 01 00 01 b1 61 ff 78 79 7a");
    assert_zcoap_ok(zcoap_builder_set_token(&b, t8, sizeof(t8)));
    expect_built(&b, buf, "48 01 00 01 01 02 03 04 05 06 07 08 b1 61 ff 78 79 7a");
    assert_zcoap_ok(zcoap_builder_set_token(&b, t2, sizeof(t2)));
    expect_built(&b, buf, "42 01 00 01 aa bb b1 61 ff 78 79 7a");
    /* the builder still knows where the options are */
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "h"));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "b"));
    expect_built(&b, buf, "42 01 00 01 aa bb 31 68 81 61 01 62 ff 78 79 7a");
    assert_zcoap_ok(zcoap_builder_set_token(&b, NULL, 0));
    expect_built(&b, buf, "40 01 00 01 31 68 81 61 01 62 ff 78 79 7a");
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "Q", 1));
    expect_built(&b, buf, "40 01 00 01 31 68 81 61 01 62 ff 51");

    assert_zcoap_err(zcoap_builder_set_token(&b, t8, 9), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EINVAL);
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_set_token(&b, NULL, 2), ZCOAP_EINVAL);
}

static void set_payload_replaces(void **state)
{
    (void)state;
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_ACK, ZCOAP_CONTENT, 9, NULL, 0));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "hello", 5));
    expect_built(&b, buf, "60 45 00 09 ff 68 65 6c 6c 6f");
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "hi", 2));
    expect_built(&b, buf, "60 45 00 09 ff 68 69");
    /* §3: an empty payload means no marker */
    assert_zcoap_ok(zcoap_builder_set_payload(&b, NULL, 0));
    expect_built(&b, buf, "60 45 00 09");
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "x", 0));
    expect_built(&b, buf, "60 45 00 09");
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "\xff\x00", 2));
    expect_built(&b, buf, "60 45 00 09 ff ff 00");
    assert_zcoap_err(zcoap_builder_set_payload(&b, NULL, 1), ZCOAP_EINVAL);
}

static void payload_ptr_and_commit(void **state)
{
    (void)state;
    zcoap_builder_t b;
    size_t avail = 99;
    assert_zcoap_ok(zcoap_builder_init(&b, buf, 32, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, 9, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "a"));
    uint8_t *p = zcoap_builder_payload_ptr(&b, &avail);
    assert_ptr_equal(p, buf + 7); /* header 4, option 2, marker 1 */
    assert_int_equal(avail, 32 - 7);
    memcpy(p, "abc", 3);
    assert_zcoap_ok(zcoap_builder_commit_payload(&b, 3));
    expect_built(&b, buf, "60 45 00 09 b1 61 ff 61 62 63");
    /* options added after the commit go before the marker; the payload is kept */
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "h"));
    expect_built(&b, buf, "60 45 00 09 31 68 81 61 ff 61 62 63");
    /* a new payload_ptr drops the previous payload */
    p = zcoap_builder_payload_ptr(&b, &avail);
    assert_non_null(p);
    assert_int_equal(avail, 32 - 9);
    assert_zcoap_ok(zcoap_builder_commit_payload(&b, 0));
    expect_built(&b, buf, "60 45 00 09 31 68 81 61");
    /* the whole room */
    p = zcoap_builder_payload_ptr(&b, &avail);
    memset(p, 'z', avail);
    assert_zcoap_ok(zcoap_builder_commit_payload(&b, avail));
    assert_zcoap_len(zcoap_builder_finish(&b), 32);
    /* more than the room */
    p = zcoap_builder_payload_ptr(&b, &avail);
    assert_zcoap_err(zcoap_builder_commit_payload(&b, avail + 1), ZCOAP_ENOSPC);
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_ENOSPC);
    /* no pointer on a builder in error */
    assert_null(zcoap_builder_payload_ptr(&b, &avail));
    assert_int_equal(avail, 0);
}

static void empty_messages_stay_empty(void **state)
{
    (void)state;
    zcoap_builder_t b;
    static const uint8_t tok[1] = {7};
    /* RFC 7252 §4.1: an Empty message is the 4-byte header alone */
    assert_zcoap_err(zcoap_builder_init(&b, buf, 64, ZCOAP_TYPE_ACK, ZCOAP_CODE_EMPTY, 1, tok, 1),
                     ZCOAP_EINVAL);
    assert_zcoap_ok(zcoap_builder_init(&b, buf, 64, ZCOAP_TYPE_ACK, ZCOAP_CODE_EMPTY, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "x"));
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EINVAL);
    assert_zcoap_ok(zcoap_builder_init(&b, buf, 64, ZCOAP_TYPE_RST, ZCOAP_CODE_EMPTY, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "p", 1));
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EINVAL);
    /* §4.3: a NON message is never Empty */
    assert_zcoap_ok(zcoap_builder_init(&b, buf, 64, ZCOAP_TYPE_NON, ZCOAP_CODE_EMPTY, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EINVAL);
    assert_int_equal(zcoap_build_empty(buf, 64, ZCOAP_TYPE_NON, 1), ZCOAP_EINVAL);
    /* a CON Empty (ping) is fine */
    assert_zcoap_ok(zcoap_builder_init(&b, buf, 64, ZCOAP_TYPE_CON, ZCOAP_CODE_EMPTY, 1, NULL, 0));
    assert_zcoap_len(zcoap_builder_finish(&b), 4);
}

static void reserved_code_classes_are_refused(void **state)
{
    (void)state;
    zcoap_builder_t b;
    /* RFC 7252 §12.1: classes 1, 6, 7 are reserved and zcoap_msg_parse drops them */
    assert_zcoap_err(zcoap_builder_init(&b, buf, 64, ZCOAP_TYPE_CON, 0x21, 1, NULL, 0),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_init(&b, buf, 64, ZCOAP_TYPE_CON, 0xC1, 1, NULL, 0),
                     ZCOAP_EINVAL);
    assert_zcoap_ok(zcoap_builder_init(&b, buf, 64, ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_set_code(&b, 0xE0), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EINVAL);
    assert_zcoap_ok(zcoap_builder_init(&b, buf, 64, ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_set_code(&b, ZCOAP_HOP_LIMIT_REACHED));
    assert_zcoap_len(zcoap_builder_finish(&b), 4);
}

static void option_zero_is_reserved(void **state)
{
    (void)state;
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_builder_init(&b, buf, 64, ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_add_opt(&b, 0, "x", 1), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EINVAL);
}

static void payload_ptr_without_room(void **state)
{
    (void)state;
    zcoap_builder_t b;
    size_t avail = 99;
    /* 4-byte header + 2-byte option + marker: no byte left for a payload */
    assert_zcoap_ok(zcoap_builder_init(&b, buf, 7, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, 9, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "a"));
    assert_null(zcoap_builder_payload_ptr(&b, &avail));
    assert_int_equal(avail, 0);
    /* the payload the caller meant to write is lost: that error sticks */
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_ENOSPC);
    /* one more byte: one byte of payload */
    assert_zcoap_ok(zcoap_builder_init(&b, buf, 8, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, 9, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "a"));
    uint8_t *p = zcoap_builder_payload_ptr(&b, &avail);
    assert_ptr_equal(p, buf + 7);
    assert_int_equal(avail, 1);
    *p = '!';
    assert_zcoap_ok(zcoap_builder_commit_payload(&b, 1));
    expect_built(&b, buf, "60 45 00 09 b1 61 ff 21");
}

static void options_after_payload_keep_it_intact(void **state)
{
    (void)state;
    zcoap_builder_t b;
    uint8_t payload[300];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7 + 1);
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_PUT, 5, NULL, 0));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, payload, sizeof(payload)));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "res"));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "example.com"));
    assert_zcoap_ok(zcoap_builder_add_opt(&b, 2000, payload, 20));
    assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, ZCOAP_CF_CBOR));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    zcoap_msg_t msg;
    parse_ok(&msg, buf, (size_t)n);
    assert_int_equal(msg.payload_len, sizeof(payload));
    assert_memory_equal(msg.payload, payload, sizeof(payload));
    const expect_opt_t want[] = {
        EXPECT_STR(ZCOAP_OPT_URI_HOST, "example.com"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "res"),
        {ZCOAP_OPT_CONTENT_FORMAT, "\x3c", 1},
        {2000, (const char *)payload, 20},
    };
    assert_msg_opts(&msg, want, ARRAY_LEN(want));
}

/* ---- extended delta and length boundaries (RFC 7252 §3.1) ---------------------------------- */

static uint8_t big[65900];

static void extended_delta_boundaries(void **state)
{
    (void)state;
    const struct {
        uint16_t num;
        const char *hex;
    } cases[] = {
        {12, "40 01 00 01 c0"},          /* 12: in the nibble */
        {13, "40 01 00 01 d0 00"},       /* 13: 1-byte extension, 13 + 0 */
        {268, "40 01 00 01 d0 ff"},      /* 268: 13 + 255 */
        {269, "40 01 00 01 e0 00 00"},   /* 269: 2-byte extension, 269 + 0 */
        {65535, "40 01 00 01 e0 fe f2"}, /* 65535: 269 + 0xfef2, the largest number */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        zcoap_builder_t b;
        assert_zcoap_ok(
            zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
        assert_zcoap_ok(zcoap_builder_add_empty(&b, cases[i].num));
        expect_built(&b, buf, cases[i].hex);
        zcoap_msg_t msg;
        parse_ok(&msg, buf, (size_t)zcoap_builder_finish(&b));
        const expect_opt_t want[] = {{cases[i].num, "", 0}};
        assert_msg_opts(&msg, want, 1);
    }
}

static void extended_length_boundaries(void **state)
{
    (void)state;
    const struct {
        uint32_t len;
        const char *hdr;
    } cases[] = {
        {12, "2c"},        {13, "2d 00"},       {268, "2d ff"},
        {269, "2e 00 00"}, {65804, "2e ff ff"}, /* 65535 + 269: the longest value */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        uint8_t hdr[3];
        size_t hdr_len = hex_bytes(cases[i].hdr, hdr, sizeof(hdr));
        memset(big, 0, sizeof(big));
        zcoap_builder_t b;
        assert_zcoap_ok(
            zcoap_builder_init(&b, big, sizeof(big), ZCOAP_TYPE_CON, ZCOAP_POST, 1, NULL, 0));
        /* option 2 (unassigned, elective) with a patterned value, then a payload */
        uint8_t *pattern = malloc(cases[i].len);
        assert_non_null(pattern);
        for (uint32_t k = 0; k < cases[i].len; k++)
            pattern[k] = (uint8_t)(k * 13 + 5);
        assert_zcoap_ok(zcoap_builder_add_opt(&b, 2, pattern, cases[i].len));
        assert_zcoap_ok(zcoap_builder_set_payload(&b, "p", 1));
        ptrdiff_t n = zcoap_builder_finish(&b);
        assert_zcoap_len(n, 4 + hdr_len + cases[i].len + 2);
        assert_memory_equal(big, "\x40\x02\x00\x01", 4);
        assert_zcoap_bytes(big + 4, hdr_len, hdr, hdr_len);
        const uint8_t *value = big + 4 + hdr_len;
        assert_memory_equal(value, pattern, cases[i].len);
        assert_memory_equal(value + cases[i].len, "\xffp", 2); /* marker, payload */
        zcoap_msg_t msg;
        parse_ok(&msg, big, (size_t)n);
        zcoap_opt_t o;
        assert_true(zcoap_msg_find_opt(&msg, 2, &o));
        assert_int_equal(o.len, cases[i].len);
        assert_ptr_equal(o.val, value);
        assert_int_equal(msg.payload_len, 1);
        free(pattern);
    }
    /* one byte more than 65535 + 269 cannot be encoded */
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, big, sizeof(big), ZCOAP_TYPE_CON, ZCOAP_POST, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_add_opt(&b, 2, big, 65805), ZCOAP_EOPT_LENGTH);
}

static void extended_delta_and_length_together(void **state)
{
    (void)state;
    uint8_t value[269];
    memset(value, 0x77, sizeof(value));
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, big, sizeof(big), ZCOAP_TYPE_CON, ZCOAP_POST, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_opt(&b, 269, value, sizeof(value)));
    assert_zcoap_ok(zcoap_builder_add_opt(&b, 282, value, 13)); /* delta 13, length 13 */
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_zcoap_len(n, 4 + 5 + 269 + 3 + 13);
    assert_memory_equal(big + 4, "\xee\x00\x00\x00\x00", 5);
    assert_memory_equal(big + 4 + 5 + 269, "\xdd\x00\x00", 3);
    zcoap_msg_t msg;
    parse_ok(&msg, big, (size_t)n);
    assert_int_equal(msg.opt_count, 2);
}

/* ---- running out of room ------------------------------------------------------------------- */

/* Two reference messages built by sequences that move bytes around (payload first, insertions,
 * token changes, removals), so every internal move is tried at every capacity. */
static ptrdiff_t build_reference_a(uint8_t *out, size_t cap)
{
    zcoap_builder_t b;
    static const uint8_t tok4[] = {0xde, 0xad, 0xbe, 0xef};
    static const uint8_t tok6[] = {1, 2, 3, 4, 5, 6};
    static const uint8_t twenty[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    zcoap_block_t blk = {3, true, 2};
    (void)zcoap_builder_init(&b, out, cap, ZCOAP_TYPE_CON, ZCOAP_POST, 0xbeef, tok4, 4);
    (void)zcoap_builder_set_payload(&b, "twenty bytes payload", 20);
    (void)zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "sensors");
    (void)zcoap_builder_add_opt(&b, 300, twenty, sizeof(twenty));
    (void)zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "example");
    (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, ZCOAP_CF_JSON);
    (void)zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK1, &blk);
    (void)zcoap_builder_set_token(&b, tok6, sizeof(tok6));
    (void)zcoap_builder_add_str(&b, ZCOAP_OPT_URI_QUERY, "fourteen bytes");
    (void)zcoap_builder_remove_opt(&b, ZCOAP_OPT_URI_HOST);
    (void)zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "example.org");
    return zcoap_builder_finish(&b);
}

static ptrdiff_t build_reference_b(uint8_t *out, size_t cap)
{
    zcoap_builder_t b;
    static const uint8_t tok8[] = {8, 7, 6, 5, 4, 3, 2, 1};
    size_t avail = 0;
    (void)zcoap_builder_init(&b, out, cap, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x0102, tok8, 8);
    (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_MAX_AGE, 60);
    (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_SIZE2, 100000);
    uint8_t *p = zcoap_builder_payload_ptr(&b, &avail);
    if (p != NULL && avail >= 10) {
        memcpy(p, "0123456789", 10);
        (void)zcoap_builder_commit_payload(&b, 10);
    } else {
        (void)zcoap_builder_set_payload(&b, "0123456789", 10); /* fails: no room */
    }
    (void)zcoap_builder_add_opt(&b, ZCOAP_OPT_ETAG, "\x01\x02\x03\x04", 4);
    (void)zcoap_builder_add_empty(&b, 269);
    (void)zcoap_builder_set_token(&b, tok8, 2);
    (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, 12);
    (void)zcoap_builder_remove_opt(&b, ZCOAP_OPT_MAX_AGE);
    (void)zcoap_builder_set_payload(&b, "final", 5);
    return zcoap_builder_finish(&b);
}

/* Build with every capacity from 0 up: below some threshold (the final length when the message
 * only grows; more when an intermediate state was bigger) the result is ZCOAP_ENOSPC, from it on
 * the same bytes; and nothing is ever written outside the buffer. Returns the threshold. */
static size_t enospc_at_every_capacity(ptrdiff_t (*build)(uint8_t *, size_t))
{
    uint8_t ref[256];
    ptrdiff_t need = build(ref, sizeof(ref));
    assert_true(need > 0);
    zcoap_msg_t msg;
    parse_ok(&msg, ref, (size_t)need);

    enum { CANARY = 0xa5, MARGIN = 32 };
    uint8_t arena[256 + 2 * MARGIN];
    size_t threshold = 0;
    for (size_t cap = 0; cap <= 256; cap++) {
        memset(arena, CANARY, sizeof(arena));
        ptrdiff_t n = build(arena + MARGIN, cap);
        if (threshold == 0 && n != ZCOAP_ENOSPC)
            threshold = cap;
        if (threshold == 0) {
            assert_zcoap_err(n, ZCOAP_ENOSPC);
        } else {
            if (n != need)
                print_error("capacity %zu, succeeded from %zu on\n", cap, threshold);
            assert_zcoap_len(n, need);
            assert_zcoap_bytes(arena + MARGIN, (size_t)n, ref, (size_t)need);
        }
        for (size_t i = 0; i < sizeof(arena); i++) {
            if (i >= MARGIN && i < MARGIN + cap)
                continue;
            if (arena[i] != CANARY)
                print_error("capacity %zu: byte %td written outside the buffer\n", cap,
                            (ptrdiff_t)i - MARGIN);
            assert_int_equal(arena[i], CANARY);
        }
    }

    assert_true(threshold >= (size_t)need);

    /* The same with the buffer's end on a guard page: a write past it faults at once. */
    guard_buf_t g;
    assert_int_equal(guard_buf_init(&g, 4096), 0);
    for (size_t cap = 0; cap < threshold; cap++)
        assert_zcoap_err(build(guard_buf_place(&g, cap), cap), ZCOAP_ENOSPC);
    assert_zcoap_len(build(guard_buf_place(&g, threshold), threshold), need);
    guard_buf_release(&g);
    return threshold;
}

static void enospc_at_every_capacity_a(void **state)
{
    (void)state;
    uint8_t ref[256];
    /* this sequence only grows the message, so it fits exactly in its final length */
    assert_int_equal(enospc_at_every_capacity(build_reference_a),
                     build_reference_a(ref, sizeof(ref)));
}

static void enospc_at_every_capacity_b(void **state)
{
    (void)state;
    uint8_t ref[256];
    /* this one shrinks (token 8 -> 2, Max-Age removed) after its largest state */
    assert_true(enospc_at_every_capacity(build_reference_b) > (size_t)build_reference_b(ref, 256));
}

static void errors_are_sticky(void **state)
{
    (void)state;
    zcoap_builder_t b;
    /* the first error wins, later successes or errors do not replace it */
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "a"));
    assert_zcoap_err(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, ""), ZCOAP_EOPT_LENGTH);
    (void)zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "b");
    (void)zcoap_builder_set_payload(&b, big, sizeof(big));
    (void)zcoap_builder_set_token(&b, NULL, 3);
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EOPT_LENGTH);

    assert_zcoap_ok(zcoap_builder_init(&b, buf, 8, ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "toolong"), ZCOAP_ENOSPC);
    (void)zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "a"); /* would fit */
    (void)zcoap_builder_add_opt(&b, ZCOAP_OPT_ETAG, "", 0);
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_ENOSPC);
}

static void api_misuse(void **state)
{
    (void)state;
    zcoap_builder_t b;
    const uint8_t tok[9] = {0};
    assert_zcoap_err(zcoap_builder_init(NULL, buf, 8, ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_init(&b, NULL, 8, ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_init(&b, buf, 64, ZCOAP_TYPE_CON, ZCOAP_GET, 1, tok, 9),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_init(&b, buf, 64, ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 1),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_init(&b, buf, 64, 4, ZCOAP_GET, 1, NULL, 0), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_init(&b, buf, 3, ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0),
                     ZCOAP_ENOSPC);
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_ENOSPC);
    assert_zcoap_err(zcoap_builder_init(&b, buf, 4, ZCOAP_TYPE_CON, ZCOAP_GET, 1, tok, 1),
                     ZCOAP_ENOSPC);
    assert_zcoap_ok(zcoap_builder_init(&b, buf, 5, ZCOAP_TYPE_CON, ZCOAP_GET, 1, tok, 1));

    assert_zcoap_err(zcoap_builder_finish(NULL), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_add_opt(NULL, 11, "a", 1), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_set_payload(NULL, "a", 1), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_remove_opt(NULL, 11), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_set_token(NULL, NULL, 0), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_commit_payload(NULL, 0), ZCOAP_EINVAL);
    size_t avail = 5;
    assert_null(zcoap_builder_payload_ptr(NULL, &avail));

    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_add_opt(&b, 11, NULL, 1), ZCOAP_EINVAL);
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_add_str(&b, 11, NULL), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_EINVAL);
}

/* ---- responses and copies ------------------------------------------------------------------ */

static void init_response_to_con_and_non(void **state)
{
    (void)state;
    uint8_t req_buf[64];
    zcoap_msg_t req;
    zcoap_builder_t b;
    /* CON GET MID 0x7d35 token 0x20 Uri-Path "temperature" (RFC 7252 Figure 17) */
    size_t n =
        hex_bytes("41 01 7d 35 20 bb 74 65 6d 70 65 72 61 74 75 72 65", req_buf, sizeof(req_buf));
    parse_ok(&req, req_buf, n);
    /* §5.2.1: piggybacked in the ACK, same MID and token; the given MID is not used */
    assert_zcoap_ok(zcoap_builder_init_response(&b, buf, sizeof(buf), &req, ZCOAP_CONTENT, 0x1111));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "22.3 C", 6));
    expect_built(&b, buf, "61 45 7d 35 20 ff 32 32 2e 33 20 43");

    /* NON GET MID 0x7d40 token 0x75 (Figure 22): §5.2.3 NON response, new MID, same token */
    n = hex_bytes("51 01 7d 40 75 bb 74 65 6d 70 65 72 61 74 75 72 65", req_buf, sizeof(req_buf));
    parse_ok(&req, req_buf, n);
    assert_zcoap_ok(zcoap_builder_init_response(&b, buf, sizeof(buf), &req, ZCOAP_CONTENT, 0xad7d));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "22.3 C", 6));
    expect_built(&b, buf, "51 45 ad 7d 75 ff 32 32 2e 33 20 43");

    /* an 8-byte token, a 4.04 without payload */
    n = hex_bytes("48 01 00 02 01 02 03 04 05 06 07 08", req_buf, sizeof(req_buf));
    parse_ok(&req, req_buf, n);
    assert_zcoap_ok(
        zcoap_builder_init_response(&b, buf, sizeof(buf), &req, ZCOAP_NOT_FOUND, 0x9999));
    expect_built(&b, buf, "68 84 00 02 01 02 03 04 05 06 07 08");
    assert_zcoap_err(zcoap_builder_init_response(&b, buf, 11, &req, ZCOAP_NOT_FOUND, 1),
                     ZCOAP_ENOSPC);
    assert_zcoap_err(zcoap_builder_init_response(&b, buf, sizeof(buf), NULL, ZCOAP_CONTENT, 1),
                     ZCOAP_EINVAL);
}

static void init_copy_keeps_header_token_options(void **state)
{
    (void)state;
    uint8_t src[64];
    zcoap_msg_t msg;
    zcoap_builder_t b;
    /* CON PUT MID 0x4242 token c0 ff ee, Uri-Path "fw", Block1(27) 0/M/1024 (delta 16 = 13 + 3,
     * value 0x0e), payload "data" */
    const char *hex = "43 03 42 42 c0 ff ee b2 66 77 d1 03 0e ff 64 61 74 61";
    size_t n = hex_bytes(hex, src, sizeof(src));
    parse_ok(&msg, src, n);
    assert_zcoap_ok(zcoap_builder_init_copy(&b, buf, sizeof(buf), &msg));
    expect_built(&b, buf, "43 03 42 42 c0 ff ee b2 66 77 d1 03 0e");
    assert_zcoap_ok(zcoap_builder_set_payload(&b, msg.payload, msg.payload_len));
    expect_built(&b, buf, hex);
    /* next block: new MID, Block1 replaced, an option inserted before the copied ones */
    zcoap_block_t next = {1, false, 6};
    assert_zcoap_ok(zcoap_builder_set_mid(&b, 0x4243));
    assert_zcoap_ok(zcoap_builder_remove_opt(&b, ZCOAP_OPT_BLOCK1));
    assert_zcoap_ok(zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK1, &next));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "h"));
    assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_SIZE1, 1030));
    /* Uri-Host "h"; Uri-Path delta 8; Block1 1/_/1024 = 0x16, delta 16; Size1(60) 1030 = 0x0406,
     * delta 33 = 13 + 0x14 */
    expect_built(&b, buf,
                 "43 03 42 43 c0 ff ee 31 68 82 66 77 d1 03 16 d2 14 04 06 ff 64 61 74 61");
    /* not enough room for the options */
    assert_zcoap_err(zcoap_builder_init_copy(&b, buf, 12, &msg), ZCOAP_ENOSPC);
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_ENOSPC);
    assert_zcoap_err(zcoap_builder_init_copy(&b, buf, sizeof(buf), NULL), ZCOAP_EINVAL);
}

static void build_empty_messages(void **state)
{
    (void)state;
    uint8_t e[8];
    memset(e, 0xa5, sizeof(e));
    assert_zcoap_len(zcoap_build_empty(e, sizeof(e), ZCOAP_TYPE_ACK, 0x1234), 4);
    assert_memory_equal(e, "\x60\x00\x12\x34\xa5", 5);
    assert_zcoap_len(zcoap_build_empty(e, 4, ZCOAP_TYPE_RST, 0xabcd), 4);
    assert_memory_equal(e, "\x70\x00\xab\xcd", 4);
    assert_zcoap_len(zcoap_build_empty(e, 4, ZCOAP_TYPE_CON, 0), 4); /* CON ping, §4.3 */
    assert_memory_equal(e, "\x40\x00\x00\x00", 4);
    memset(e, 0xa5, sizeof(e));
    assert_zcoap_err(zcoap_build_empty(e, 3, ZCOAP_TYPE_ACK, 1), ZCOAP_ENOSPC);
    assert_memory_equal(e, "\xa5\xa5\xa5\xa5", 4);
    assert_zcoap_err(zcoap_build_empty(NULL, 4, ZCOAP_TYPE_ACK, 1), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_build_empty(e, 4, 4, 1), ZCOAP_EINVAL);
}

/* ---- RFC 7252 Appendix A: every message of Figures 16-23 ---------------------------------- */

/* "temperature" in hex, the Uri-Path of every example */
#define TEMPERATURE "74 65 6d 70 65 72 61 74 75 72 65"
/* "22.3 C" */
#define PAYLOAD_22_3 "32 32 2e 33 20 43"

/* Build a GET for /temperature the way a client would (from the URI, flags 0: the request goes
 * to the server's address, so no Uri-Host, §6.4 step 5) and compare with the vector. */
static void expect_get_temperature(uint8_t type, uint16_t mid, const uint8_t *token,
                                   size_t token_len, const char *hex)
{
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), type, ZCOAP_GET, mid, token, token_len));
    const char *uri = "coap://server/temperature";
    assert_zcoap_ok(zcoap_builder_add_uri(&b, uri, strlen(uri), 0, NULL));
    expect_built(&b, buf, hex);
}

/* Answer the request in @p req_hex piggybacked or as NON with init_response. */
static void expect_response(const char *req_hex, uint8_t code, uint16_t mid, const char *payload,
                            const char *hex)
{
    uint8_t req_buf[64];
    zcoap_msg_t req;
    zcoap_builder_t b;
    parse_ok(&req, req_buf, hex_bytes(req_hex, req_buf, sizeof(req_buf)));
    assert_zcoap_ok(zcoap_builder_init_response(&b, buf, sizeof(buf), &req, code, mid));
    if (payload != NULL)
        assert_zcoap_ok(zcoap_builder_set_payload(&b, payload, strlen(payload)));
    expect_built(&b, buf, hex);
}

static void expect_empty(uint8_t type, uint16_t mid, const char *hex)
{
    uint8_t want[4];
    hex_bytes(hex, want, sizeof(want));
    assert_zcoap_len(zcoap_build_empty(buf, sizeof(buf), type, mid), 4);
    assert_zcoap_bytes(buf, 4, want, 4);
}

static void rfc7252_figure_16_17(void **state)
{
    (void)state;
    /* Figure 16: 0x40 = Ver 1, T CON (0), TKL 0; 0x01 GET; MID 7d 34; option delta 11 length 11
     * = 0xbb, then "temperature": 16 bytes as the RFC says */
    const char *req16 = "40 01 7d 34 bb " TEMPERATURE;
    expect_get_temperature(ZCOAP_TYPE_CON, 0x7d34, NULL, 0, req16);
    /* 0x60 = Ver 1, T ACK (2), TKL 0; 0x45 = 2.05 (2 << 5 | 5 = 69); MID 7d 34; marker ff;
     * "22.3 C": 11 bytes */
    expect_response(req16, ZCOAP_CONTENT, 0, "22.3 C", "60 45 7d 34 ff " PAYLOAD_22_3);

    /* Figure 17: TKL 1 (0x41), token 0x20: 17 and 12 bytes */
    const uint8_t t20 = 0x20;
    const char *req17 = "41 01 7d 35 20 bb " TEMPERATURE;
    expect_get_temperature(ZCOAP_TYPE_CON, 0x7d35, &t20, 1, req17);
    expect_response(req17, ZCOAP_CONTENT, 0, "22.3 C", "61 45 7d 35 20 ff " PAYLOAD_22_3);
}

static void rfc7252_figure_18_19(void **state)
{
    (void)state;
    /* Figure 18: the retransmission is the same datagram */
    const uint8_t t31 = 0x31;
    const char *req18 = "41 01 7d 36 31 bb " TEMPERATURE;
    expect_get_temperature(ZCOAP_TYPE_CON, 0x7d36, &t31, 1, req18);
    expect_get_temperature(ZCOAP_TYPE_CON, 0x7d36, &t31, 1, req18);
    expect_response(req18, ZCOAP_CONTENT, 0, "22.3 C", "61 45 7d 36 31 ff " PAYLOAD_22_3);
    /* Figure 19: the response is sent twice, identical */
    const uint8_t t42 = 0x42;
    const char *req19 = "41 01 7d 37 42 bb " TEMPERATURE;
    expect_get_temperature(ZCOAP_TYPE_CON, 0x7d37, &t42, 1, req19);
    expect_response(req19, ZCOAP_CONTENT, 0, "22.3 C", "61 45 7d 37 42 ff " PAYLOAD_22_3);
    expect_response(req19, ZCOAP_CONTENT, 0, "22.3 C", "61 45 7d 37 42 ff " PAYLOAD_22_3);
}

static void rfc7252_figure_20_21(void **state)
{
    (void)state;
    zcoap_builder_t b;
    /* Figure 20: separate response. Empty ACK 0x60 0x00 7d 38; then a CON (0x41) 2.05 with a
     * new MID ad 7b and the request's token 0x53; the client ACKs it (Empty, MID ad 7b) */
    const uint8_t t53 = 0x53;
    expect_get_temperature(ZCOAP_TYPE_CON, 0x7d38, &t53, 1, "41 01 7d 38 53 bb " TEMPERATURE);
    expect_empty(ZCOAP_TYPE_ACK, 0x7d38, "60 00 7d 38");
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0xad7b, &t53, 1));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "22.3 C", 6));
    expect_built(&b, buf, "41 45 ad 7b 53 ff " PAYLOAD_22_3);
    expect_empty(ZCOAP_TYPE_ACK, 0xad7b, "60 00 ad 7b");
    /* Figure 21: the same, but the client lost its state and answers with RST (0x70) */
    const uint8_t t64 = 0x64;
    expect_get_temperature(ZCOAP_TYPE_CON, 0x7d39, &t64, 1, "41 01 7d 39 64 bb " TEMPERATURE);
    expect_empty(ZCOAP_TYPE_ACK, 0x7d39, "60 00 7d 39");
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0xad7c, &t64, 1));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "22.3 C", 6));
    expect_built(&b, buf, "41 45 ad 7c 64 ff " PAYLOAD_22_3);
    expect_empty(ZCOAP_TYPE_RST, 0xad7c, "70 00 ad 7c");
}

static void rfc7252_figure_22_23(void **state)
{
    (void)state;
    /* Figure 22: NON (0x51: Ver 1, T 1, TKL 1) request and response */
    const uint8_t t75 = 0x75;
    const char *req22 = "51 01 7d 40 75 bb " TEMPERATURE;
    expect_get_temperature(ZCOAP_TYPE_NON, 0x7d40, &t75, 1, req22);
    expect_response(req22, ZCOAP_CONTENT, 0xad7d, "22.3 C", "51 45 ad 7d 75 ff " PAYLOAD_22_3);
    /* Figure 23: multicast NON request; servers A, B answer 2.05, C answers 4.04 (0x84 =
     * 4 << 5 | 4) without payload */
    const uint8_t t86 = 0x86;
    const char *req23 = "51 01 7d 41 86 bb " TEMPERATURE;
    expect_get_temperature(ZCOAP_TYPE_NON, 0x7d41, &t86, 1, req23);
    expect_response(req23, ZCOAP_CONTENT, 0x60b1, "22.3 C", "51 45 60 b1 86 ff " PAYLOAD_22_3);
    expect_response(req23, ZCOAP_CONTENT, 0x01a0, "20.9 C", "51 45 01 a0 86 ff 32 30 2e 39 20 43");
    expect_response(req23, ZCOAP_NOT_FOUND, 0x952a, NULL, "51 84 95 2a 86");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_and_token),
        cmocka_unit_test(set_type_code_mid),
        cmocka_unit_test(options_added_out_of_order_come_out_sorted),
        cmocka_unit_test(repeats_keep_insertion_order),
        cmocka_unit_test(inserting_rewrites_the_next_delta),
        cmocka_unit_test(uint_minimal_encoding),
        cmocka_unit_test(uint_beyond_the_option_bounds),
        cmocka_unit_test(block_encoding),
        cmocka_unit_test(empty_and_string_options),
        cmocka_unit_test(known_option_bounds_are_enforced),
        cmocka_unit_test(remove_options),
        cmocka_unit_test(remove_grows_the_next_delta),
        cmocka_unit_test(set_token_moves_options_and_payload),
        cmocka_unit_test(set_payload_replaces),
        cmocka_unit_test(payload_ptr_and_commit),
        cmocka_unit_test(payload_ptr_without_room),
        cmocka_unit_test(empty_messages_stay_empty),
        cmocka_unit_test(option_zero_is_reserved),
        cmocka_unit_test(reserved_code_classes_are_refused),
        cmocka_unit_test(options_after_payload_keep_it_intact),
        cmocka_unit_test(extended_delta_boundaries),
        cmocka_unit_test(extended_length_boundaries),
        cmocka_unit_test(extended_delta_and_length_together),
        cmocka_unit_test(enospc_at_every_capacity_a),
        cmocka_unit_test(enospc_at_every_capacity_b),
        cmocka_unit_test(errors_are_sticky),
        cmocka_unit_test(api_misuse),
        cmocka_unit_test(init_response_to_con_and_non),
        cmocka_unit_test(init_copy_keeps_header_token_options),
        cmocka_unit_test(build_empty_messages),
        cmocka_unit_test(rfc7252_figure_16_17),
        cmocka_unit_test(rfc7252_figure_18_19),
        cmocka_unit_test(rfc7252_figure_20_21),
        cmocka_unit_test(rfc7252_figure_22_23),
    };
    return cmocka_run_group_tests_name("msg_build", tests, NULL, NULL);
}
