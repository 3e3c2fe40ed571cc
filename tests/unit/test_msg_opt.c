/* Options of parsed messages (src/msg_opt.c): iteration, find, typed decoders, the
 * critical/unsafe/no-cache-key bits, the table of known options and check_options. */
#include "zcoap_test.h"

/* Parse a hex vector kept in static storage (the view points into it). */
static uint8_t vec_buf[512];

static zcoap_msg_t parse_hex(const char *hex)
{
    zcoap_msg_t msg;
    size_t len = hex_bytes(hex, vec_buf, sizeof(vec_buf));
    parse_ok(&msg, vec_buf, len);
    return msg;
}

/* CON GET MID 1, no token:
 * Uri-Host(3) "h": 31 68
 * Uri-Path(11) "a", "b", "c": 81 61, 01 62, 01 63
 * Content-Format(12) 0: 10
 * Uri-Query(15) "x", "y": 31 78, 01 79
 * Accept(17) 50: 21 32 */
#define REPEATS_HEX "40 01 00 01 31 68 81 61 01 62 01 63 10 31 78 01 79 21 32"

static void iterator_walks_wire_order(void **state)
{
    (void)state;
    zcoap_msg_t msg = parse_hex(REPEATS_HEX);
    const expect_opt_t want[] = {
        EXPECT_STR(3, "h"), EXPECT_STR(11, "a"), EXPECT_STR(11, "b"), EXPECT_STR(11, "c"),
        EXPECT_STR(12, ""), EXPECT_STR(15, "x"), EXPECT_STR(15, "y"), EXPECT_STR(17, "2"),
    };
    assert_msg_opts(&msg, want, ARRAY_LEN(want));
    /* the values point into the datagram */
    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    zcoap_opt_iter_init(&it, &msg);
    assert_true(zcoap_opt_iter_next(&it, &o));
    assert_ptr_equal(o.val, vec_buf + 5);
    while (zcoap_opt_iter_next(&it, &o))
        ;
    assert_ptr_equal(o.val, vec_buf + 18);      /* Accept's value, the last byte */
    assert_false(zcoap_opt_iter_next(&it, &o)); /* stays finished */
}

static void iterator_on_message_without_options(void **state)
{
    (void)state;
    zcoap_msg_t msg = parse_hex("60 45 00 01 ff 31");
    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    zcoap_opt_iter_init(&it, &msg);
    assert_false(zcoap_opt_iter_next(&it, &o));
    assert_false(zcoap_opt_iter_find(&it, 11, &o));
    assert_false(zcoap_msg_find_opt(&msg, 11, &o));
    assert_int_equal(zcoap_msg_count_opt(&msg, 11), 0);
}

static void find_next_across_repeats(void **state)
{
    (void)state;
    zcoap_msg_t msg = parse_hex(REPEATS_HEX);
    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    zcoap_opt_iter_init(&it, &msg);
    assert_true(zcoap_opt_iter_find(&it, 11, &o));
    assert_true(zcoap_opt_equals_str(&o, "a"));
    assert_true(zcoap_opt_iter_find(&it, 11, &o));
    assert_true(zcoap_opt_equals_str(&o, "b"));
    assert_true(zcoap_opt_iter_find(&it, 11, &o));
    assert_true(zcoap_opt_equals_str(&o, "c"));
    assert_false(zcoap_opt_iter_find(&it, 11, &o));
    /* An unsuccessful find must not swallow the larger options: looking for the next number in
     * ascending order with the same iterator is the natural way to read a request. */
    assert_false(zcoap_opt_iter_find(&it, 14, &o));
    assert_true(zcoap_opt_iter_find(&it, 15, &o));
    assert_true(zcoap_opt_equals_str(&o, "x"));
    assert_true(zcoap_opt_iter_next(&it, &o));
    assert_int_equal(o.num, 15);
    assert_true(zcoap_opt_equals_str(&o, "y"));
    assert_true(zcoap_opt_iter_find(&it, 17, &o));
    assert_int_equal(o.len, 1);
    /* options are sorted: a number already passed is not found again */
    assert_false(zcoap_opt_iter_find(&it, 3, &o));
}

static void find_first_and_count(void **state)
{
    (void)state;
    zcoap_msg_t msg = parse_hex(REPEATS_HEX);
    zcoap_opt_t o;
    assert_true(zcoap_msg_find_opt(&msg, 11, &o));
    assert_true(zcoap_opt_equals_str(&o, "a"));
    assert_true(zcoap_msg_find_opt(&msg, 17, &o));
    assert_int_equal(o.val[0], 0x32);
    assert_false(zcoap_msg_find_opt(&msg, 1, &o));
    assert_false(zcoap_msg_find_opt(&msg, 13, &o));
    assert_false(zcoap_msg_find_opt(&msg, 65535, &o));
    assert_int_equal(zcoap_msg_count_opt(&msg, 3), 1);
    assert_int_equal(zcoap_msg_count_opt(&msg, 11), 3);
    assert_int_equal(zcoap_msg_count_opt(&msg, 12), 1);
    assert_int_equal(zcoap_msg_count_opt(&msg, 15), 2);
    assert_int_equal(zcoap_msg_count_opt(&msg, 4), 0);
    assert_int_equal(zcoap_msg_count_opt(&msg, 60), 0);
    assert_int_equal(msg.opt_count, 8);
}

static void uint_values(void **state)
{
    (void)state;
    const struct {
        const char *bytes;
        size_t len;
        uint32_t value;
    } cases[] = {
        {"", 0, 0}, /* §3.2: empty is 0 */
        {"\x00", 1, 0},
        {"\x01", 1, 1},
        {"\xff", 1, 255},
        {"\x01\x00", 2, 256},
        {"\x00\x00\x01", 3, 1}, /* leading zeros are allowed on receipt */
        {"\x00\x00\x00\x00", 4, 0},
        {"\x01\x02\x03\x04", 4, 0x01020304u},
        {"\xff\xff\xff\xff", 4, 0xffffffffu},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        zcoap_opt_t o = {ZCOAP_OPT_MAX_AGE, (uint32_t)cases[i].len,
                         (const uint8_t *)cases[i].bytes};
        uint32_t v = 0xdeadbeef;
        assert_zcoap_ok(zcoap_opt_uint(&o, &v));
        assert_int_equal(v, cases[i].value);
    }
    zcoap_opt_t five = {ZCOAP_OPT_MAX_AGE, 5, (const uint8_t *)"\x00\x00\x00\x00\x01"};
    uint32_t v = 7;
    assert_zcoap_err(zcoap_opt_uint(&five, &v), ZCOAP_EOPT_LENGTH);
    assert_zcoap_err(zcoap_opt_uint(NULL, &v), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_opt_uint(&five, NULL), ZCOAP_EINVAL);
}

static void get_uint_from_message(void **state)
{
    (void)state;
    uint32_t v = 0;
    /* Max-Age(14): delta 14 needs the 1-byte extension: d2 01 <2 bytes> = 0x0e10 = 3600 s */
    zcoap_msg_t msg = parse_hex("60 45 00 01 d2 01 0e 10");
    assert_zcoap_ok(zcoap_msg_get_uint(&msg, ZCOAP_OPT_MAX_AGE, &v));
    assert_int_equal(v, 3600);
    assert_zcoap_err(zcoap_msg_get_uint(&msg, ZCOAP_OPT_SIZE1, &v), ZCOAP_ENOTFOUND);
    /* a 5-byte Max-Age parses (the message is well formed) but is no uint32 */
    msg = parse_hex("60 45 00 01 d5 01 00 00 00 00 01");
    assert_zcoap_err(zcoap_msg_get_uint(&msg, ZCOAP_OPT_MAX_AGE, &v), ZCOAP_EOPT_LENGTH);
    assert_zcoap_err(zcoap_msg_get_uint(NULL, ZCOAP_OPT_MAX_AGE, &v), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_msg_get_uint(&msg, ZCOAP_OPT_MAX_AGE, NULL), ZCOAP_EINVAL);
}

static void block_values(void **state)
{
    (void)state;
    /* RFC 7959 §2.2: NUM (4, 12 or 20 bits) | M | SZX (3 bits), big-endian uint */
    const struct {
        const char *bytes;
        size_t len;
        uint32_t num;
        bool more;
        uint8_t szx;
    } cases[] = {
        {"", 0, 0, false, 0},             /* empty: block 0, no more, 16 bytes */
        {"\x2a", 1, 2, true, 2},          /* 0010 1 010 */
        {"\xf6", 1, 15, false, 6},        /* 1111 0 110 */
        {"\x00\x2a", 2, 2, true, 2},      /* leading zero */
        {"\x12\x34", 2, 0x123, false, 4}, /* 0x1234: num 0x123, 0100 */
        {"\xab\xcd\xe6", 3, 0xabcde, false, 6},
        {"\xff\xff\xfe", 3, 0xfffff, true, 6}, /* the largest block number, 2^20-1 */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        zcoap_opt_t o = {ZCOAP_OPT_BLOCK2, (uint32_t)cases[i].len, (const uint8_t *)cases[i].bytes};
        zcoap_block_t b = {99, true, 5};
        assert_zcoap_ok(zcoap_opt_block(&o, &b));
        assert_int_equal(b.num, cases[i].num);
        assert_int_equal(b.more, cases[i].more);
        assert_int_equal(b.szx, cases[i].szx);
    }
    /* SZX 7 is reserved (§2.2) */
    const zcoap_opt_t szx7[] = {
        {ZCOAP_OPT_BLOCK1, 1, (const uint8_t *)"\x07"},
        {ZCOAP_OPT_BLOCK1, 1, (const uint8_t *)"\x0f"},
        {ZCOAP_OPT_BLOCK2, 2, (const uint8_t *)"\x12\x3f"},
        {ZCOAP_OPT_BLOCK2, 3, (const uint8_t *)"\x01\x02\x07"},
    };
    for (size_t i = 0; i < ARRAY_LEN(szx7); i++) {
        zcoap_block_t b;
        assert_zcoap_err(zcoap_opt_block(&szx7[i], &b), ZCOAP_EOPT_BLOCK);
    }
    /* longer than 3 bytes */
    zcoap_opt_t four = {ZCOAP_OPT_BLOCK1, 4, (const uint8_t *)"\x00\x00\x00\x10"};
    zcoap_block_t b;
    assert_zcoap_err(zcoap_opt_block(&four, &b), ZCOAP_EOPT_LENGTH);
    assert_zcoap_err(zcoap_opt_block(&four, NULL), ZCOAP_EINVAL);
    assert_int_equal(zcoap_block_size(0), 16);
    assert_int_equal(zcoap_block_size(6), 1024);
}

static void get_block_from_message(void **state)
{
    (void)state;
    /* Block2(23): d1 0a 1e = block 1, more, 1024 bytes; then Size2(28): 51 ... delta 5 */
    zcoap_msg_t msg = parse_hex("60 45 00 01 d1 0a 1e 51 88");
    zcoap_block_t b;
    assert_zcoap_ok(zcoap_msg_get_block(&msg, ZCOAP_OPT_BLOCK2, &b));
    assert_int_equal(b.num, 1);
    assert_true(b.more);
    assert_int_equal(b.szx, 6);
    assert_zcoap_err(zcoap_msg_get_block(&msg, ZCOAP_OPT_BLOCK1, &b), ZCOAP_ENOTFOUND);
    uint32_t size2;
    assert_zcoap_ok(zcoap_msg_get_uint(&msg, ZCOAP_OPT_SIZE2, &size2));
    assert_int_equal(size2, 0x88);
}

static void equals_str(void **state)
{
    (void)state;
    zcoap_opt_t temp = {ZCOAP_OPT_URI_PATH, 11, (const uint8_t *)"temperature"};
    zcoap_opt_t empty = {ZCOAP_OPT_URI_PATH, 0, (const uint8_t *)""};
    assert_true(zcoap_opt_equals_str(&temp, "temperature"));
    assert_false(zcoap_opt_equals_str(&temp, "temp"));
    assert_false(zcoap_opt_equals_str(&temp, "temperatures"));
    assert_false(zcoap_opt_equals_str(&temp, "Temperature"));
    assert_false(zcoap_opt_equals_str(&temp, ""));
    assert_true(zcoap_opt_equals_str(&empty, ""));
    assert_false(zcoap_opt_equals_str(&empty, "a"));
}

/* RFC 7252 §5.4.6 and Table 4 (C, U, N columns), RFC 7641 §2, RFC 7959 §2.1/§4, RFC 8768 §3,
 * RFC 9175 §2.2.1/§3.2.1, RFC 7967 §2, RFC 8613 §2, RFC 9177 §4. Written from the tables, not
 * derived from the number. */
typedef struct opt_props {
    uint16_t num;
    const char *name;
    bool critical, unsafe, no_cache_key, repeatable;
    zcoap_opt_format_t format;
    uint16_t min_len, max_len;
    bool supported;
} opt_props_t;

static const opt_props_t known[] = {
    {1, "If-Match", true, false, false, true, ZCOAP_OPT_FMT_OPAQUE, 0, 8, true},
    {3, "Uri-Host", true, true, false, false, ZCOAP_OPT_FMT_STRING, 1, 255, true},
    {4, "ETag", false, false, false, true, ZCOAP_OPT_FMT_OPAQUE, 1, 8, true},
    {5, "If-None-Match", true, false, false, false, ZCOAP_OPT_FMT_EMPTY, 0, 0, true},
    {6, "Observe", false, true, false, false, ZCOAP_OPT_FMT_UINT, 0, 3, true},
    {7, "Uri-Port", true, true, false, false, ZCOAP_OPT_FMT_UINT, 0, 2, true},
    {8, "Location-Path", false, false, false, true, ZCOAP_OPT_FMT_STRING, 0, 255, true},
    /* OSCORE is known but not implemented: a recipient must treat it as unrecognized */
    {9, "OSCORE", true, false, false, false, ZCOAP_OPT_FMT_OPAQUE, 0, 255, false},
    {11, "Uri-Path", true, true, false, true, ZCOAP_OPT_FMT_STRING, 0, 255, true},
    {12, "Content-Format", false, false, false, false, ZCOAP_OPT_FMT_UINT, 0, 2, true},
    {14, "Max-Age", false, true, false, false, ZCOAP_OPT_FMT_UINT, 0, 4, true},
    {15, "Uri-Query", true, true, false, true, ZCOAP_OPT_FMT_STRING, 0, 255, true},
    {16, "Hop-Limit", false, false, false, false, ZCOAP_OPT_FMT_UINT, 1, 1, true},
    {17, "Accept", true, false, false, false, ZCOAP_OPT_FMT_UINT, 0, 2, true},
    /* Q-Block (RFC 9177) is registered but zcoap implements plain Block-wise only (DESIGN §1):
     * a critical Q-Block option must be answered with 4.02 (RFC 9177 §4), so unsupported. */
    {19, "Q-Block1", true, true, false, false, ZCOAP_OPT_FMT_UINT, 0, 3, false},
    {20, "Location-Query", false, false, false, true, ZCOAP_OPT_FMT_STRING, 0, 255, true},
    {23, "Block2", true, true, false, false, ZCOAP_OPT_FMT_UINT, 0, 3, true},
    {27, "Block1", true, true, false, false, ZCOAP_OPT_FMT_UINT, 0, 3, true},
    {28, "Size2", false, false, true, false, ZCOAP_OPT_FMT_UINT, 0, 4, true},
    {31, "Q-Block2", true, true, false, true, ZCOAP_OPT_FMT_UINT, 0, 3, false},
    {35, "Proxy-Uri", true, true, false, false, ZCOAP_OPT_FMT_STRING, 1, 1034, true},
    {39, "Proxy-Scheme", true, true, false, false, ZCOAP_OPT_FMT_STRING, 1, 255, true},
    {60, "Size1", false, false, true, false, ZCOAP_OPT_FMT_UINT, 0, 4, true},
    {252, "Echo", false, false, true, false, ZCOAP_OPT_FMT_OPAQUE, 1, 40, true},
    {258, "No-Response", false, true, false, false, ZCOAP_OPT_FMT_UINT, 0, 1, true},
    {292, "Request-Tag", false, false, false, true, ZCOAP_OPT_FMT_OPAQUE, 0, 8, true},
};

static void property_bits_of_every_known_option(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(known); i++) {
        const opt_props_t *k = &known[i];
        if (zcoap_opt_is_critical(k->num) != k->critical ||
            zcoap_opt_is_unsafe(k->num) != k->unsafe ||
            zcoap_opt_is_no_cache_key(k->num) != k->no_cache_key)
            print_error("option %u (%s)\n", (unsigned)k->num, k->name);
        assert_int_equal(zcoap_opt_is_critical(k->num), k->critical);
        assert_int_equal(zcoap_opt_is_unsafe(k->num), k->unsafe);
        assert_int_equal(zcoap_opt_is_no_cache_key(k->num), k->no_cache_key);
    }
    /* §5.4.6: NoCacheKey only means something for safe-to-forward options (bit 1 clear) */
    assert_false(zcoap_opt_is_no_cache_key(0x1e)); /* 30: unsafe, bits 2-4 set */
    assert_true(zcoap_opt_is_no_cache_key(0xfffc));
}

static void table_entry_of_every_known_option(void **state)
{
    (void)state;
    /* Check every entry before failing, so one report lists all differences. */
    int mismatches = 0;
    for (size_t i = 0; i < ARRAY_LEN(known); i++) {
        const opt_props_t *k = &known[i];
        const zcoap_opt_def_t *def = zcoap_opt_def(k->num);
        if (def == NULL) {
            print_error("option %u (%s) missing from the table\n", (unsigned)k->num, k->name);
            mismatches++;
            continue;
        }
        if (def->num != k->num || def->name == NULL || strcmp(def->name, k->name) != 0 ||
            def->format != k->format || def->repeatable != k->repeatable ||
            def->min_len != k->min_len || def->max_len != k->max_len ||
            def->supported != k->supported) {
            print_error("option %u (%s): table has num %u name %s format %u repeatable %d "
                        "length %u-%u supported %d; expected format %u repeatable %d length "
                        "%u-%u supported %d\n",
                        (unsigned)k->num, k->name, (unsigned)def->num,
                        def->name != NULL ? def->name : "(null)", (unsigned)def->format,
                        def->repeatable, (unsigned)def->min_len, (unsigned)def->max_len,
                        def->supported, (unsigned)k->format, k->repeatable, (unsigned)k->min_len,
                        (unsigned)k->max_len, k->supported);
            mismatches++;
        }
    }
    assert_int_equal(mismatches, 0);
}

static void unknown_numbers_have_no_entry(void **state)
{
    (void)state;
    /* 0 and 128/132/136/140 are reserved (§12.2); the others are unassigned or registered by
     * specifications zcoap does not implement (21 EDHOC, 2049 OCF) */
    const uint16_t unknown[] = {0,   2,   10,  13,  18,  21,   24,   29,
                                128, 132, 136, 140, 253, 2048, 2049, 65535};
    for (size_t i = 0; i < ARRAY_LEN(unknown); i++)
        assert_null(zcoap_opt_def(unknown[i]));
}

static int check(const char *hex, uint16_t *bad)
{
    zcoap_msg_t msg = parse_hex(hex);
    *bad = 0xbeef;
    return zcoap_msg_check_options(&msg, NULL, 0, bad);
}

static void check_options_accepts_good_requests(void **state)
{
    (void)state;
    uint16_t bad;
    assert_zcoap_ok(check(REPEATS_HEX, &bad));
    assert_int_equal(bad, 0xbeef); /* untouched on success */
    assert_zcoap_ok(check("40 01 00 01", &bad));
    /* two If-Match (repeatable, critical): 12 01, 01 02 */
    assert_zcoap_ok(check("40 03 00 01 11 01 01 02", &bad));
    /* unknown elective options are ignored: 2 (21 00), 2048 (delta 2046 = 269 + 0x06f1),
     * 65534 (delta 63486 = 269 + 0xf6f1) */
    assert_zcoap_ok(check("40 01 00 01 21 00 e0 06 f1 e0 f6 f1", &bad));
}

static void check_options_rejects_unknown_critical(void **state)
{
    (void)state;
    uint16_t bad;
    /* 13 (Uri-Path "a" then delta 2) is odd, so critical, and unassigned */
    assert_zcoap_err(check("40 01 00 01 b1 61 21 00", &bad), ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, 13);
    /* 2049 = 269 + 0x06f4: critical, not in zcoap's table */
    assert_zcoap_err(check("40 01 00 01 e1 06 f4 00", &bad), ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, 2049);
    /* bad_num may be NULL */
    zcoap_msg_t msg = parse_hex("40 01 00 01 b1 61 21 00");
    assert_zcoap_err(zcoap_msg_check_options(&msg, NULL, 0, NULL), ZCOAP_EOPT_UNRECOGNIZED);
}

static void check_options_length_bounds(void **state)
{
    (void)state;
    uint16_t bad;
    /* §5.4.3: a critical option with a length out of bounds is unrecognized */
    assert_zcoap_err(check("40 01 00 01 30", &bad), ZCOAP_EOPT_UNRECOGNIZED); /* Uri-Host "" */
    assert_int_equal(bad, ZCOAP_OPT_URI_HOST);
    /* Accept(17) with 3 bytes: d3 04 ... */
    assert_zcoap_err(check("40 01 00 01 d3 04 00 00 32", &bad), ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, ZCOAP_OPT_ACCEPT);
    /* If-Match with 9 bytes */
    assert_zcoap_err(check("40 03 00 01 19 01 02 03 04 05 06 07 08 09", &bad),
                     ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, ZCOAP_OPT_IF_MATCH);
    /* If-None-Match(5) with 1 byte */
    assert_zcoap_err(check("40 03 00 01 51 00", &bad), ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, ZCOAP_OPT_IF_NONE_MATCH);
    /* Uri-Path 256 bytes */
    char hex[1024] = "40 01 00 01 bd f3";
    for (int i = 0; i < 256; i++)
        strcat(hex, " 61");
    assert_zcoap_err(check(hex, &bad), ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, ZCOAP_OPT_URI_PATH);

    /* ... while an elective one is silently ignored (§5.4.1), and flagged by is_valid */
    const char *const elective_bad[] = {
        "60 45 00 01 49 01 02 03 04 05 06 07 08 09", /* ETag 9 bytes */
        "60 45 00 01 40",                            /* ETag empty */
        "60 45 00 01 c3 00 00 32",                   /* Content-Format 3 bytes */
        "60 45 00 01 d5 01 00 00 00 00 01",          /* Max-Age 5 bytes */
        "40 01 00 01 d0 03",                         /* Hop-Limit(16) empty */
        "40 01 00 01 d0 ef",                         /* Echo(252) empty: 13 + 0xef */
        "40 01 00 01 d2 f5 01 02",                   /* No-Response(258) 2 bytes */
    };
    for (size_t i = 0; i < ARRAY_LEN(elective_bad); i++) {
        zcoap_msg_t msg = parse_hex(elective_bad[i]);
        if (zcoap_msg_check_options(&msg, NULL, 0, &bad) != ZCOAP_OK)
            print_error("vector %s\n", elective_bad[i]);
        assert_zcoap_ok(zcoap_msg_check_options(&msg, NULL, 0, &bad));
        zcoap_opt_iter_t it;
        zcoap_opt_t o;
        zcoap_opt_iter_init(&it, &msg);
        assert_true(zcoap_opt_iter_next(&it, &o));
        if (zcoap_opt_is_valid(&o))
            print_error("vector %s: option %u valid\n", elective_bad[i], (unsigned)o.num);
        assert_false(zcoap_opt_is_valid(&o));
    }
}

static void is_valid_bounds(void **state)
{
    (void)state;
    static const uint8_t zeros[1100];
    for (size_t i = 0; i < ARRAY_LEN(known); i++) {
        const opt_props_t *k = &known[i];
        zcoap_opt_t o = {k->num, k->min_len, zeros};
        assert_true(zcoap_opt_is_valid(&o));
        o.len = k->max_len;
        assert_true(zcoap_opt_is_valid(&o));
        o.len = k->max_len + 1u;
        assert_false(zcoap_opt_is_valid(&o));
        if (k->min_len > 0) {
            o.len = k->min_len - 1u;
            assert_false(zcoap_opt_is_valid(&o));
        }
    }
    zcoap_opt_t unknown = {2048, 300, zeros};
    assert_true(zcoap_opt_is_valid(&unknown));
}

static void check_options_repeats(void **state)
{
    (void)state;
    uint16_t bad;
    /* §5.4.5: a non-repeatable critical option that repeats is unrecognized */
    assert_zcoap_err(check("40 01 00 01 31 61 01 62", &bad), ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, ZCOAP_OPT_URI_HOST);
    /* two Accept(17): d1 04 32, 01 28 */
    assert_zcoap_err(check("40 01 00 01 d1 04 32 01 28", &bad), ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, ZCOAP_OPT_ACCEPT);
    /* two Block2(23): d1 0a 06, 01 16 */
    assert_zcoap_err(check("40 01 00 01 d1 0a 06 01 16", &bad), ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, ZCOAP_OPT_BLOCK2);
    /* non-repeatable elective repeats are ignored: two Content-Format, two Max-Age */
    assert_zcoap_ok(check("60 45 00 01 c1 00 01 32", &bad));
    assert_zcoap_ok(check("60 45 00 01 d1 01 3c 01 3d", &bad));
}

static void check_options_oscore_is_unsupported(void **state)
{
    (void)state;
    uint16_t bad;
    /* OSCORE(9) with a 1-byte value: known, critical, not implemented */
    assert_zcoap_err(check("40 02 00 01 91 09", &bad), ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, ZCOAP_OPT_OSCORE);
}

static void check_options_q_block_is_unsupported(void **state)
{
    (void)state;
    uint16_t bad;
    /* RFC 9177 §4: Q-Block1/Q-Block2 are critical; a server without Q-Block support must
     * answer 4.02 (RFC 7252 §5.4.1), and zcoap implements RFC 7959 Block-wise only. */
    /* Q-Block1(19) = 13 + 6: d1 06 00 */
    assert_zcoap_err(check("40 02 00 01 d1 06 00", &bad), ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, ZCOAP_OPT_Q_BLOCK1);
    /* Q-Block2(31) = 13 + 18: d1 12 06 */
    assert_zcoap_err(check("40 01 00 01 d1 12 06", &bad), ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, ZCOAP_OPT_Q_BLOCK2);
}

static void check_options_extra_known(void **state)
{
    (void)state;
    uint16_t bad;
    /* critical 13 (d1 00 "a") and 2049 (delta 2036 = 269 + 0x06e7, "b"), both handled by the
     * application */
    zcoap_msg_t msg = parse_hex("40 01 00 01 d1 00 61 e1 06 e7 62");
    const uint16_t extra[] = {2049, 13};
    assert_zcoap_ok(zcoap_msg_check_options(&msg, extra, ARRAY_LEN(extra), &bad));
    /* only one of them listed: the other is still rejected */
    assert_zcoap_err(zcoap_msg_check_options(&msg, extra, 1, &bad), ZCOAP_EOPT_UNRECOGNIZED);
    assert_int_equal(bad, 13);
    /* an application doing OSCORE itself */
    msg = parse_hex("40 02 00 01 91 09");
    const uint16_t oscore[] = {ZCOAP_OPT_OSCORE};
    assert_zcoap_ok(zcoap_msg_check_options(&msg, oscore, 1, &bad));
    assert_zcoap_err(zcoap_msg_check_options(&msg, NULL, 1, &bad), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_msg_check_options(NULL, NULL, 0, &bad), ZCOAP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iterator_walks_wire_order),
        cmocka_unit_test(iterator_on_message_without_options),
        cmocka_unit_test(find_next_across_repeats),
        cmocka_unit_test(find_first_and_count),
        cmocka_unit_test(uint_values),
        cmocka_unit_test(get_uint_from_message),
        cmocka_unit_test(block_values),
        cmocka_unit_test(get_block_from_message),
        cmocka_unit_test(equals_str),
        cmocka_unit_test(property_bits_of_every_known_option),
        cmocka_unit_test(table_entry_of_every_known_option),
        cmocka_unit_test(unknown_numbers_have_no_entry),
        cmocka_unit_test(check_options_accepts_good_requests),
        cmocka_unit_test(check_options_rejects_unknown_critical),
        cmocka_unit_test(check_options_length_bounds),
        cmocka_unit_test(is_valid_bounds),
        cmocka_unit_test(check_options_repeats),
        cmocka_unit_test(check_options_oscore_is_unsupported),
        cmocka_unit_test(check_options_q_block_is_unsupported),
        cmocka_unit_test(check_options_extra_known),
    };
    return cmocka_run_group_tests_name("msg_opt", tests, NULL, NULL);
}
