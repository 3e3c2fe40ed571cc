/* Parsing (src/msg_parse.c): every malformation of RFC 7252 §3 has its own error code, header
 * fields are filled whenever there are 4 bytes, and views point into the datagram. Every input is
 * parsed from a guard-page buffer, so a read past its end faults even without ASan. */
#include "zcoap_test.h"

static guard_buf_t guard;

static int setup(void **state)
{
    (void)state;
    return guard_buf_init(&guard, 4096);
}

static int teardown(void **state)
{
    (void)state;
    guard_buf_release(&guard);
    return 0;
}

/* Decode a hex vector into the guard buffer (its last byte right before the guard page). */
static const uint8_t *guarded(const char *hex, size_t *len)
{
    uint8_t tmp[2048];
    *len = hex_bytes(hex, tmp, sizeof(tmp));
    const uint8_t *p = guard_buf_set(&guard, tmp, *len);
    assert_non_null(p);
    return p;
}

typedef struct bad_vector {
    const char *what;
    const char *hex;
    int err;
} bad_vector_t;

/* One malformation each; the comments say which byte is wrong. */
static const bad_vector_t bad_vectors[] = {
    /* §3: shorter than the fixed 4-byte header */
    {"1 byte", "40", ZCOAP_EMSG_SHORT},
    {"2 bytes", "40 01", ZCOAP_EMSG_SHORT},
    {"3 bytes", "40 01 00", ZCOAP_EMSG_SHORT},
    /* §3: Ver must be 1 (0x40 = 01 00 0000); 0x00, 0x80, 0xC0 carry versions 0, 2, 3 */
    {"version 0", "00 01 12 34", ZCOAP_EMSG_VERSION},
    {"version 2 ACK tkl 2", "a2 45 12 34 aa bb", ZCOAP_EMSG_VERSION},
    {"version 3 RST", "f0 00 ff ff", ZCOAP_EMSG_VERSION},
    /* §3: TKL 9-15 are reserved (low nibble of byte 0) */
    {"tkl 9", "49 01 00 01 01 02 03 04 05 06 07 08 09", ZCOAP_EMSG_TOKEN_LEN},
    {"tkl 10", "4a 01 00 01 01 02 03 04 05 06 07 08 09 0a", ZCOAP_EMSG_TOKEN_LEN},
    {"tkl 11", "4b 01 00 01 01 02 03 04 05 06 07 08 09 0a 0b", ZCOAP_EMSG_TOKEN_LEN},
    {"tkl 12", "4c 01 00 01 01 02 03 04 05 06 07 08 09 0a 0b 0c", ZCOAP_EMSG_TOKEN_LEN},
    {"tkl 13", "4d 01 00 01 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d", ZCOAP_EMSG_TOKEN_LEN},
    {"tkl 14", "4e 01 00 01 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e", ZCOAP_EMSG_TOKEN_LEN},
    {"tkl 15", "4f 01 00 01 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f", ZCOAP_EMSG_TOKEN_LEN},
    {"tkl 9, nothing after", "49 01 00 01", ZCOAP_EMSG_TOKEN_LEN},
    /* the token runs past the end */
    {"tkl 1, no token", "41 01 00 01", ZCOAP_EMSG_TOKEN_TRUNC},
    {"tkl 4, 3 bytes", "44 01 00 01 aa bb cc", ZCOAP_EMSG_TOKEN_TRUNC},
    {"tkl 8, 7 bytes", "48 01 00 01 01 02 03 04 05 06 07", ZCOAP_EMSG_TOKEN_TRUNC},
    /* §3.1: nibble 15 is reserved for the payload marker 0xFF */
    {"delta nibble 15", "40 01 00 01 f0", ZCOAP_EMSG_OPT_NIBBLE},
    {"delta nibble 15, len 1", "40 01 00 01 f1 61", ZCOAP_EMSG_OPT_NIBBLE},
    {"length nibble 15", "40 01 00 01 0f", ZCOAP_EMSG_OPT_NIBBLE},
    {"length nibble 15 after an option", "40 01 00 01 b1 61 1f 00", ZCOAP_EMSG_OPT_NIBBLE},
    {"length nibble 15 with ext delta", "40 01 00 01 df 00", ZCOAP_EMSG_OPT_NIBBLE},
    /* §3.1: extended delta/length bytes missing */
    {"1-byte ext delta missing", "40 01 00 01 d0", ZCOAP_EMSG_OPT_EXT_TRUNC},
    {"2-byte ext delta missing", "40 01 00 01 e0", ZCOAP_EMSG_OPT_EXT_TRUNC},
    {"2-byte ext delta half", "40 01 00 01 e0 01", ZCOAP_EMSG_OPT_EXT_TRUNC},
    {"1-byte ext length missing", "40 01 00 01 0d", ZCOAP_EMSG_OPT_EXT_TRUNC},
    {"2-byte ext length missing", "40 01 00 01 0e", ZCOAP_EMSG_OPT_EXT_TRUNC},
    {"2-byte ext length half", "40 01 00 01 0e 00", ZCOAP_EMSG_OPT_EXT_TRUNC},
    {"ext delta ok, ext length missing", "40 01 00 01 dd 00", ZCOAP_EMSG_OPT_EXT_TRUNC},
    {"ext delta ok, 2-byte ext length half", "40 01 00 01 de 00 01", ZCOAP_EMSG_OPT_EXT_TRUNC},
    {"2-byte ext delta, 1-byte ext length missing", "40 01 00 01 ed 00 00",
     ZCOAP_EMSG_OPT_EXT_TRUNC},
    /* the option value runs past the end */
    {"value 3, 2 present", "40 01 00 01 b3 61 62", ZCOAP_EMSG_OPT_VALUE_TRUNC},
    {"value 1, none present", "40 01 00 01 b1", ZCOAP_EMSG_OPT_VALUE_TRUNC},
    {"value 13 (ext 0), none", "40 01 00 01 0d 00", ZCOAP_EMSG_OPT_VALUE_TRUNC},
    {"value 268 (ext ff), 1 present", "40 01 00 01 0d ff 00", ZCOAP_EMSG_OPT_VALUE_TRUNC},
    {"value 269 (ext 0000), none", "40 01 00 01 0e 00 00", ZCOAP_EMSG_OPT_VALUE_TRUNC},
    {"value 65804 (ext ffff), none", "40 01 00 01 0e ff ff", ZCOAP_EMSG_OPT_VALUE_TRUNC},
    {"second option truncated", "40 01 00 01 b1 61 02 62", ZCOAP_EMSG_OPT_VALUE_TRUNC},
    /* option numbers above 65535: ext16 delta 0xFEF3 is 65266 + 269 = 65536 */
    {"delta 65536", "40 01 00 01 e0 fe f3", ZCOAP_EMSG_OPT_NUM_OVERFLOW},
    {"delta 65804", "40 01 00 01 e0 ff ff", ZCOAP_EMSG_OPT_NUM_OVERFLOW},
    {"65535 then delta 1", "40 01 00 01 e0 fe f2 10", ZCOAP_EMSG_OPT_NUM_OVERFLOW},
    {"65804-step chain", "40 01 00 01 d0 00 e0 ff ff", ZCOAP_EMSG_OPT_NUM_OVERFLOW},
    {"65000 then +536", "40 01 00 01 e0 fc db e0 01 0b", ZCOAP_EMSG_OPT_NUM_OVERFLOW},
    /* §3: a payload marker followed by a zero-length payload is a format error */
    {"marker only", "40 01 00 01 ff", ZCOAP_EMSG_PAYLOAD_EMPTY},
    {"token then marker", "42 45 00 01 aa bb ff", ZCOAP_EMSG_PAYLOAD_EMPTY},
    {"option then marker", "40 45 00 01 b1 61 ff", ZCOAP_EMSG_PAYLOAD_EMPTY},
    /* §4.1: an Empty message (0.00) is the 4-byte header only */
    {"Empty with token", "41 00 00 01 aa", ZCOAP_EMSG_EMPTY_NOT_EMPTY},
    {"Empty ACK with 8-byte token", "68 00 00 01 01 02 03 04 05 06 07 08",
     ZCOAP_EMSG_EMPTY_NOT_EMPTY},
    {"Empty with option", "40 00 00 01 b1 61", ZCOAP_EMSG_EMPTY_NOT_EMPTY},
    {"Empty RST with payload", "70 00 00 01 ff 61", ZCOAP_EMSG_EMPTY_NOT_EMPTY},
    {"Empty ACK with payload", "60 00 00 01 ff 68 69", ZCOAP_EMSG_EMPTY_NOT_EMPTY},
    /* §12.1: classes 1, 6 and 7 are reserved */
    {"code 1.00", "40 20 00 01", ZCOAP_EMSG_CODE_CLASS},
    {"code 1.31", "40 3f 00 01", ZCOAP_EMSG_CODE_CLASS},
    {"code 6.00", "40 c0 00 01", ZCOAP_EMSG_CODE_CLASS},
    {"code 6.05", "50 c5 00 01", ZCOAP_EMSG_CODE_CLASS},
    {"code 7.00", "60 e0 00 01", ZCOAP_EMSG_CODE_CLASS},
    {"code 7.31 with payload", "40 ff 00 01 ff 61", ZCOAP_EMSG_CODE_CLASS},
};

static void each_malformation_has_its_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad_vectors); i++) {
        const bad_vector_t *v = &bad_vectors[i];
        size_t len;
        const uint8_t *buf = guarded(v->hex, &len);
        zcoap_msg_t msg;
        int rc = zcoap_msg_parse(&msg, buf, len);
        if (rc != v->err)
            print_error("vector \"%s\" (%s)\n", v->what, v->hex);
        assert_zcoap_err(rc, v->err);
    }
}

static void header_fields_are_filled_on_error(void **state)
{
    (void)state;
    /* RFC 7252 §4.2: a malformed CON is answered with RST, which needs the MID; §3: a wrong
     * version is dropped silently, which needs the version. */
    for (size_t i = 0; i < ARRAY_LEN(bad_vectors); i++) {
        const bad_vector_t *v = &bad_vectors[i];
        size_t len;
        const uint8_t *buf = guarded(v->hex, &len);
        if (len < 4)
            continue;
        zcoap_msg_t msg;
        memset(&msg, 0x5a, sizeof(msg));
        (void)zcoap_msg_parse(&msg, buf, len);
        if (msg.version != buf[0] >> 6 || msg.mid != (buf[2] << 8 | buf[3]))
            print_error("vector \"%s\" (%s)\n", v->what, v->hex);
        assert_int_equal(msg.version, buf[0] >> 6);
        assert_int_equal(msg.type, (buf[0] >> 4) & 3);
        assert_int_equal(msg.token_len, buf[0] & 15);
        assert_int_equal(msg.code, buf[1]);
        assert_int_equal(msg.mid, buf[2] << 8 | buf[3]);
    }
}

static void version_error_fields(void **state)
{
    (void)state;
    size_t len;
    zcoap_msg_t msg;
    /* 0xA2 = 10 10 0010: version 2, ACK, token length 2 */
    const uint8_t *buf = guarded("a2 45 12 34 aa bb", &len);
    assert_zcoap_err(zcoap_msg_parse(&msg, buf, len), ZCOAP_EMSG_VERSION);
    assert_int_equal(msg.version, 2);
    assert_int_equal(msg.type, ZCOAP_TYPE_ACK);
    assert_int_equal(msg.token_len, 2);
    assert_int_equal(msg.code, ZCOAP_CONTENT);
    assert_int_equal(msg.mid, 0x1234);
    /* 0x30 = 00 11 0000: version 0, RST */
    buf = guarded("30 00 ab cd", &len);
    assert_zcoap_err(zcoap_msg_parse(&msg, buf, len), ZCOAP_EMSG_VERSION);
    assert_int_equal(msg.version, 0);
    assert_int_equal(msg.type, ZCOAP_TYPE_RST);
    assert_int_equal(msg.mid, 0xabcd);
    /* 0xD0 = 11 01 0000: version 3, NON */
    buf = guarded("d0 01 00 07", &len);
    assert_zcoap_err(zcoap_msg_parse(&msg, buf, len), ZCOAP_EMSG_VERSION);
    assert_int_equal(msg.version, 3);
    assert_int_equal(msg.type, ZCOAP_TYPE_NON);
}

static void short_and_empty_datagrams(void **state)
{
    (void)state;
    zcoap_msg_t msg;
    /* 0 bytes, from a real pointer and from NULL (a NULL buffer of length 0 is not an API
     * misuse: the datagram is simply empty). */
    const uint8_t *end = guard_buf_set(&guard, "", 0);
    assert_zcoap_err(zcoap_msg_parse(&msg, end, 0), ZCOAP_EMSG_SHORT);
    assert_zcoap_err(zcoap_msg_parse(&msg, NULL, 0), ZCOAP_EMSG_SHORT);
}

static void api_misuse_is_einval(void **state)
{
    (void)state;
    zcoap_msg_t msg;
    const uint8_t ok[] = {0x40, 0x01, 0x00, 0x01};
    assert_zcoap_err(zcoap_msg_parse(NULL, ok, sizeof(ok)), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_msg_parse(&msg, NULL, 4), ZCOAP_EINVAL);
}

static void valid_empty_messages(void **state)
{
    (void)state;
    /* §4.2/§4.3: CON ping, ACK and RST are Empty messages: exactly 4 bytes */
    static const char *const empties[] = {"40 00 12 34", "60 00 12 34", "70 00 12 34"};
    static const uint8_t types[] = {ZCOAP_TYPE_CON, ZCOAP_TYPE_ACK, ZCOAP_TYPE_RST};
    for (size_t i = 0; i < ARRAY_LEN(empties); i++) {
        size_t len;
        const uint8_t *buf = guarded(empties[i], &len);
        zcoap_msg_t msg;
        parse_ok(&msg, buf, len);
        assert_int_equal(msg.version, 1);
        assert_int_equal(msg.type, types[i]);
        assert_int_equal(msg.code, ZCOAP_CODE_EMPTY);
        assert_int_equal(msg.mid, 0x1234);
        assert_int_equal(msg.token_len, 0);
        assert_int_equal(msg.opt_count, 0);
        assert_int_equal(msg.opts_len, 0);
        assert_null(msg.payload);
        assert_int_equal(msg.payload_len, 0);
    }
}

static void minimal_request_has_no_payload(void **state)
{
    (void)state;
    size_t len;
    zcoap_msg_t msg;
    const uint8_t *buf = guarded("50 01 ff fe", &len); /* NON GET, MID 0xfffe */
    parse_ok(&msg, buf, len);
    assert_ptr_equal(msg.data, buf);
    assert_int_equal(msg.len, 4);
    assert_int_equal(msg.version, 1);
    assert_int_equal(msg.type, ZCOAP_TYPE_NON);
    assert_int_equal(msg.code, ZCOAP_GET);
    assert_int_equal(msg.mid, 0xfffe);
    assert_int_equal(msg.token_len, 0);
    assert_int_equal(msg.opt_count, 0);
    assert_int_equal(msg.opts_len, 0);
    assert_null(msg.payload);
    assert_int_equal(msg.payload_len, 0);
}

static void payload_marker_right_after_token(void **state)
{
    (void)state;
    size_t len;
    zcoap_msg_t msg;
    /* ACK 2.05, MID 7, token aa bb, no options, payload "hi" */
    const uint8_t *buf = guarded("62 45 00 07 aa bb ff 68 69", &len);
    parse_ok(&msg, buf, len);
    assert_int_equal(msg.token_len, 2);
    assert_ptr_equal(msg.token, buf + 4);
    assert_int_equal(msg.opt_count, 0);
    assert_int_equal(msg.opts_len, 0);
    assert_ptr_equal(msg.opts, buf + 6);
    assert_ptr_equal(msg.payload, buf + 7);
    assert_int_equal(msg.payload_len, 2);
    assert_memory_equal(msg.payload, "hi", 2);
}

static void options_then_payload(void **state)
{
    (void)state;
    size_t len;
    zcoap_msg_t msg;
    /* CON POST MID 0x0102, token 01 02 03 04;
     * Uri-Path(11) "a": b1 61; Uri-Path "bc": 02 62 63; Content-Format(12) 50: 11 32;
     * Uri-Query(15) "": 30; payload 7b 7d "{}" */
    const uint8_t *buf = guarded("44 02 01 02 01 02 03 04 b1 61 02 62 63 11 32 30 ff 7b 7d", &len);
    parse_ok(&msg, buf, len);
    assert_int_equal(msg.code, ZCOAP_POST);
    assert_int_equal(msg.mid, 0x0102);
    assert_memory_equal(msg.token, "\x01\x02\x03\x04", 4);
    assert_ptr_equal(msg.opts, buf + 8);
    assert_int_equal(msg.opts_len, 8);
    assert_int_equal(msg.opt_count, 4);
    assert_ptr_equal(msg.payload, buf + 17);
    assert_int_equal(msg.payload_len, 2);
    const expect_opt_t want[] = {
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "bc"),
        {ZCOAP_OPT_CONTENT_FORMAT, "\x32", 1},
        EXPECT_STR(ZCOAP_OPT_URI_QUERY, ""),
    };
    assert_msg_opts(&msg, want, ARRAY_LEN(want));
}

static void options_without_payload_end_the_datagram(void **state)
{
    (void)state;
    size_t len;
    zcoap_msg_t msg;
    /* If-None-Match(5), empty, as the last byte */
    const uint8_t *buf = guarded("40 03 00 01 50", &len);
    parse_ok(&msg, buf, len);
    assert_int_equal(msg.opt_count, 1);
    assert_int_equal(msg.opts_len, 1);
    assert_null(msg.payload);
    assert_int_equal(msg.payload_len, 0);
    zcoap_opt_t o;
    assert_true(zcoap_msg_find_opt(&msg, ZCOAP_OPT_IF_NONE_MATCH, &o));
    assert_int_equal(o.len, 0);
}

static void payload_may_contain_ff(void **state)
{
    (void)state;
    size_t len;
    zcoap_msg_t msg;
    /* After the first marker everything is payload, 0xFF bytes included */
    const uint8_t *buf = guarded("60 45 00 01 ff ff ff 00", &len);
    parse_ok(&msg, buf, len);
    assert_int_equal(msg.opt_count, 0);
    assert_int_equal(msg.payload_len, 3);
    assert_memory_equal(msg.payload, "\xff\xff\x00", 3);
}

static void every_valid_code_class_parses(void **state)
{
    (void)state;
    /* classes 0 (requests), 2-5 (responses; 3 has no codes yet but is not reserved by §12.1) */
    static const unsigned classes[] = {0, 2, 3, 4, 5};
    for (size_t c = 0; c < ARRAY_LEN(classes); c++) {
        for (unsigned detail = classes[c] == 0 ? 1 : 0; detail < 32; detail++) {
            uint8_t d[5] = {0x41, (uint8_t)ZCOAP_CODE(classes[c], detail), 0, 1, 0x99};
            zcoap_msg_t msg;
            parse_ok(&msg, guard_buf_set(&guard, d, sizeof(d)), sizeof(d));
            assert_int_equal(msg.code, d[1]);
        }
    }
}

static void option_number_65535_is_valid(void **state)
{
    (void)state;
    size_t len;
    zcoap_msg_t msg;
    /* 65535 = 269 + 0xFEF2: the largest option number, then a payload */
    const uint8_t *buf = guarded("40 01 00 01 e1 fe f2 7a ff 21", &len);
    parse_ok(&msg, buf, len);
    zcoap_opt_t o;
    assert_true(zcoap_msg_find_opt(&msg, 65535, &o));
    assert_int_equal(o.len, 1);
    assert_int_equal(o.val[0], 0x7a);
    /* in steps: 13 (d0 00), +268 (d0 ff) = 281, +65254 (e0 fd d9: 0xfdd9 + 269) = 65535 */
    buf = guarded("40 01 00 01 d0 00 d0 ff e0 fd d9", &len);
    parse_ok(&msg, buf, len);
    const expect_opt_t want[] = {{13, "", 0}, {281, "", 0}, {65535, "", 0}};
    assert_msg_opts(&msg, want, ARRAY_LEN(want));
}

static void parse_does_not_write_the_datagram(void **state)
{
    (void)state;
    const char *hex = "44 02 01 02 01 02 03 04 b1 61 02 62 63 11 32 30 ff 7b 7d";
    uint8_t orig[64];
    size_t n = hex_bytes(hex, orig, sizeof(orig));
    size_t len;
    const uint8_t *buf = guarded(hex, &len);
    zcoap_msg_t msg;
    parse_ok(&msg, buf, len);
    assert_memory_equal(buf, orig, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_malformation_has_its_error),
        cmocka_unit_test(header_fields_are_filled_on_error),
        cmocka_unit_test(version_error_fields),
        cmocka_unit_test(short_and_empty_datagrams),
        cmocka_unit_test(api_misuse_is_einval),
        cmocka_unit_test(valid_empty_messages),
        cmocka_unit_test(minimal_request_has_no_payload),
        cmocka_unit_test(payload_marker_right_after_token),
        cmocka_unit_test(options_then_payload),
        cmocka_unit_test(options_without_payload_end_the_datagram),
        cmocka_unit_test(payload_may_contain_ff),
        cmocka_unit_test(every_valid_code_class_parses),
        cmocka_unit_test(option_number_65535_is_valid),
        cmocka_unit_test(parse_does_not_write_the_datagram),
    };
    return cmocka_run_group_tests_name("msg_parse", tests, setup, teardown);
}
