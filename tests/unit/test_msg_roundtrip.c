/* Generative round trip: a seeded PRNG builds thousands of random valid messages through every
 * builder path (options in random order, repeats, uint/block/string helpers, payload before or
 * after options, zero-copy payload, token changes, removals). Each must equal, byte for byte, an
 * independent reference encoding of RFC 7252 §3, parse back field by field, and rebuild from its
 * parsed view with init_copy + set_payload. Set ZCOAP_TEST_SEED to replay another sequence and
 * ZCOAP_TEST_SCALE to run more or fewer messages. */
#include "zcoap_test.h"

#include <stdio.h>

enum { MAX_OPTS = 16, MAX_VAL = 300, MAX_PAYLOAD = 256, MAX_MSG = 4 + 8 + MAX_OPTS * 305 + 257 };

typedef struct gen_opt {
    uint16_t num;
    uint32_t len;
    uint8_t val[MAX_VAL];
    /* how to add it: raw bytes, add_uint, add_block or add_str */
    enum { ADD_RAW, ADD_UINT, ADD_BLOCK, ADD_STR } how;
    uint32_t uint_value;
    zcoap_block_t block;
} gen_opt_t;

typedef struct gen_msg {
    uint8_t type, code;
    uint16_t mid;
    uint8_t token[8];
    size_t token_len;
    gen_opt_t opts[MAX_OPTS];
    size_t n_opts;
    uint8_t payload[MAX_PAYLOAD];
    size_t payload_len;
} gen_msg_t;

/* The options zcoap knows, to draw from with their bounds (zcoap_opt_def). */
static const uint16_t known_nums[] = {1,  3,  4,  5,  6,  7,  8,  9,  11, 12, 14,  15,  16,
                                      17, 19, 20, 23, 27, 28, 31, 35, 39, 60, 252, 258, 292};

static size_t uint_len(uint32_t v)
{
    return v == 0 ? 0 : v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffff ? 3 : 4;
}

static void put_uint(gen_opt_t *o, uint32_t v)
{
    o->len = (uint32_t)uint_len(v);
    for (uint32_t i = 0; i < o->len; i++)
        o->val[i] = (uint8_t)(v >> (8 * (o->len - 1 - i)));
}

static bool used(const gen_msg_t *g, uint16_t num)
{
    for (size_t i = 0; i < g->n_opts; i++) {
        if (g->opts[i].num == num)
            return true;
    }
    return false;
}

static uint16_t random_unknown_number(test_rng_t *r)
{
    for (;;) {
        uint32_t n;
        switch (test_rng_below(r, 4)) {
        case 0:
            n = test_rng_range(r, 1, 40); /* small deltas, nibble and 1-byte extension */
            break;
        case 1:
            n = test_rng_range(r, 250, 300); /* around 268/269 */
            break;
        case 2:
            n = test_rng_range(r, 1, 65535);
            break;
        default:
            n = test_rng_range(r, 65000, 65535); /* the top of the number space */
            break;
        }
        if (zcoap_opt_def((uint16_t)n) == NULL)
            return (uint16_t)n;
    }
}

static void random_known_option(test_rng_t *r, const zcoap_opt_def_t *def, gen_opt_t *o)
{
    uint32_t max = def->max_len < MAX_VAL ? def->max_len : MAX_VAL;
    o->num = def->num;
    o->how = ADD_RAW;
    if ((def->num == ZCOAP_OPT_BLOCK1 || def->num == ZCOAP_OPT_BLOCK2) && test_rng_chance(r, 60)) {
        o->how = ADD_BLOCK;
        o->block.num = test_rng_below(r, 1u << 20);
        if (test_rng_chance(r, 30))
            o->block.num = test_rng_below(r, 16);
        o->block.more = test_rng_chance(r, 50);
        o->block.szx = (uint8_t)test_rng_below(r, 7);
        put_uint(o, o->block.num << 4 | (o->block.more ? 8u : 0u) | o->block.szx);
        return;
    }
    if (def->format == ZCOAP_OPT_FMT_UINT && test_rng_chance(r, 70)) {
        /* a value whose shortest form has a length inside the bounds */
        uint32_t len = test_rng_range(r, def->min_len, max);
        uint32_t v = 0;
        if (len > 0) {
            uint64_t lo = 1ull << (8 * (len - 1));
            uint64_t hi = (1ull << (8 * len)) - 1;
            v = (uint32_t)(lo + test_rng_next(r) % (hi - lo + 1));
        }
        o->how = ADD_UINT;
        o->uint_value = v;
        put_uint(o, v);
        return;
    }
    o->len = test_rng_range(r, def->min_len, max);
    if (def->format == ZCOAP_OPT_FMT_STRING && test_rng_chance(r, 50)) {
        o->how = ADD_STR; /* printable, no NUL */
        for (uint32_t i = 0; i < o->len; i++)
            o->val[i] = (uint8_t)test_rng_range(r, 0x20, 0x7e);
        return;
    }
    test_rng_fill(r, o->val, o->len);
}

static void random_message(test_rng_t *r, gen_msg_t *g)
{
    static const uint8_t classes[] = {0, 2, 3, 4, 5};
    memset(g, 0, sizeof(*g));
    g->type = (uint8_t)test_rng_below(r, 4);
    uint8_t cls = classes[test_rng_below(r, ARRAY_LEN(classes))];
    uint32_t detail = cls == 0 ? test_rng_range(r, 1, 31) : test_rng_below(r, 32);
    g->code = (uint8_t)ZCOAP_CODE((unsigned)cls, detail);
    g->mid = (uint16_t)test_rng_next(r);
    g->token_len = test_rng_below(r, 9);
    test_rng_fill(r, g->token, g->token_len);
    size_t n = test_rng_below(r, 13);
    for (size_t i = 0; i < n; i++) {
        gen_opt_t *o = &g->opts[g->n_opts];
        if (g->n_opts > 0 && test_rng_chance(r, 20)) {
            /* repeat an earlier number, when that is allowed */
            uint16_t num = g->opts[test_rng_below(r, (uint32_t)g->n_opts)].num;
            const zcoap_opt_def_t *def = zcoap_opt_def(num);
            if (def != NULL && def->repeatable) {
                random_known_option(r, def, o);
                g->n_opts++;
                continue;
            }
            if (def == NULL) {
                o->num = num;
                o->how = ADD_RAW;
                o->len = test_rng_below(r, MAX_VAL + 1);
                test_rng_fill(r, o->val, o->len);
                g->n_opts++;
                continue;
            }
        }
        if (test_rng_chance(r, 50)) {
            const zcoap_opt_def_t *def =
                zcoap_opt_def(known_nums[test_rng_below(r, ARRAY_LEN(known_nums))]);
            assert_non_null(def);
            if (!def->repeatable && used(g, def->num))
                continue;
            random_known_option(r, def, o);
        } else {
            o->num = random_unknown_number(r);
            o->how = ADD_RAW;
            o->len =
                test_rng_chance(r, 30) ? test_rng_below(r, 15) : test_rng_below(r, MAX_VAL + 1);
            test_rng_fill(r, o->val, o->len);
        }
        g->n_opts++;
    }
    if (test_rng_chance(r, 60)) {
        g->payload_len = test_rng_range(r, 1, MAX_PAYLOAD);
        test_rng_fill(r, g->payload, g->payload_len);
    }
}

/* Options sorted by number, repeats in the order they were added (a stable sort). */
static size_t sorted_order(const gen_msg_t *g, size_t *idx)
{
    for (size_t i = 0; i < g->n_opts; i++) {
        size_t j = i;
        while (j > 0 && g->opts[idx[j - 1]].num > g->opts[i].num) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return g->n_opts;
}

/* RFC 7252 §3/§3.1 written out directly, independently of the library. */
static void ref_ext(uint32_t v, uint8_t *nibble, uint8_t *ext, size_t *ext_len)
{
    if (v < 13) {
        *nibble = (uint8_t)v;
        *ext_len = 0;
    } else if (v < 269) {
        *nibble = 13;
        ext[0] = (uint8_t)(v - 13);
        *ext_len = 1;
    } else {
        *nibble = 14;
        ext[0] = (uint8_t)((v - 269) >> 8);
        ext[1] = (uint8_t)(v - 269);
        *ext_len = 2;
    }
}

static size_t ref_encode(const gen_msg_t *g, uint8_t *out)
{
    size_t n = 0;
    size_t idx[MAX_OPTS];
    out[n++] = (uint8_t)(0x40u | (unsigned)g->type << 4 | (unsigned)g->token_len);
    out[n++] = g->code;
    out[n++] = (uint8_t)(g->mid >> 8);
    out[n++] = (uint8_t)g->mid;
    memcpy(out + n, g->token, g->token_len);
    n += g->token_len;
    uint32_t prev = 0;
    sorted_order(g, idx);
    for (size_t i = 0; i < g->n_opts; i++) {
        const gen_opt_t *o = &g->opts[idx[i]];
        uint8_t dn, ln, dext[2], lext[2];
        size_t dl, ll;
        ref_ext(o->num - prev, &dn, dext, &dl);
        ref_ext(o->len, &ln, lext, &ll);
        out[n++] = (uint8_t)(dn << 4 | ln);
        memcpy(out + n, dext, dl);
        n += dl;
        memcpy(out + n, lext, ll);
        n += ll;
        memcpy(out + n, o->val, o->len);
        n += o->len;
        prev = o->num;
    }
    if (g->payload_len > 0) {
        out[n++] = 0xff;
        memcpy(out + n, g->payload, g->payload_len);
        n += g->payload_len;
    }
    return n;
}

static int add_one(zcoap_builder_t *b, const gen_opt_t *o)
{
    char str[MAX_VAL + 1];
    switch (o->how) {
    case ADD_UINT:
        return zcoap_builder_add_uint(b, o->num, o->uint_value);
    case ADD_BLOCK:
        return zcoap_builder_add_block(b, o->num, &o->block);
    case ADD_STR:
        memcpy(str, o->val, o->len);
        str[o->len] = '\0';
        return zcoap_builder_add_str(b, o->num, str);
    default:
        return zcoap_builder_add_opt(b, o->num, o->val, o->len);
    }
}

static int set_payload(test_rng_t *r, zcoap_builder_t *b, const gen_msg_t *g)
{
    if (g->payload_len > 0 && test_rng_chance(r, 20)) {
        size_t avail;
        uint8_t *p = zcoap_builder_payload_ptr(b, &avail);
        if (p == NULL || avail < g->payload_len) /* no room: let the builder record it */
            return zcoap_builder_set_payload(b, g->payload, g->payload_len);
        memcpy(p, g->payload, g->payload_len);
        return zcoap_builder_commit_payload(b, g->payload_len);
    }
    return zcoap_builder_set_payload(b, g->payload, g->payload_len);
}

/* Build @p g through a random sequence of builder calls. @p monotonic tells whether the sequence
 * only ever grew the message (then it fits in exactly its final length). */
static ptrdiff_t build_randomly(test_rng_t *r, const gen_msg_t *g, uint8_t *out, size_t cap,
                                bool *monotonic)
{
    zcoap_builder_t b;
    size_t payload_at = test_rng_below(r, (uint32_t)g->n_opts + 1);
    bool change_token = test_rng_chance(r, 10);
    bool add_and_remove = test_rng_chance(r, 10);
    bool payload_twice = g->payload_len > 0 && test_rng_chance(r, 10);
    *monotonic = !change_token && !add_and_remove && !payload_twice;
    if (change_token) {
        uint8_t tok[8];
        test_rng_fill(r, tok, sizeof(tok));
        (void)zcoap_builder_init(&b, out, cap, g->type, ZCOAP_GET, (uint16_t)~g->mid, tok,
                                 test_rng_below(r, 9));
    } else {
        (void)zcoap_builder_init(&b, out, cap, g->type, g->code, g->mid, g->token, g->token_len);
    }
    uint16_t extra = 0;
    if (add_and_remove) {
        /* an option number used by nothing else, added early and removed late */
        do
            extra = random_unknown_number(r);
        while (used(g, extra));
        uint8_t junk[40];
        test_rng_fill(r, junk, sizeof(junk));
        (void)zcoap_builder_add_opt(&b, extra, junk, test_rng_below(r, sizeof(junk)));
    }
    if (payload_twice) {
        uint8_t junk[64];
        test_rng_fill(r, junk, sizeof(junk));
        (void)zcoap_builder_set_payload(&b, junk, test_rng_range(r, 1, sizeof(junk)));
    }
    for (size_t i = 0; i <= g->n_opts; i++) {
        if (i == payload_at)
            (void)set_payload(r, &b, g);
        if (i < g->n_opts) {
            int rc = add_one(&b, &g->opts[i]);
            if (rc != ZCOAP_OK && rc != ZCOAP_ENOSPC) {
                print_error("adding option %u (%u bytes) failed: %s\n", (unsigned)g->opts[i].num,
                            (unsigned)g->opts[i].len, zcoap_err_name(rc));
                fail();
            }
        }
    }
    if (change_token) {
        (void)zcoap_builder_set_token(&b, g->token, g->token_len);
        (void)zcoap_builder_set_code(&b, g->code);
        (void)zcoap_builder_set_mid(&b, g->mid);
    }
    if (add_and_remove)
        (void)zcoap_builder_remove_opt(&b, extra);
    return zcoap_builder_finish(&b);
}

static void check_parsed(const gen_msg_t *g, const zcoap_msg_t *m)
{
    size_t idx[MAX_OPTS];
    assert_int_equal(m->version, 1);
    assert_int_equal(m->type, g->type);
    assert_int_equal(m->code, g->code);
    assert_int_equal(m->mid, g->mid);
    assert_int_equal(m->token_len, g->token_len);
    if (g->token_len > 0)
        assert_memory_equal(m->token, g->token, g->token_len);
    assert_int_equal(m->opt_count, g->n_opts);
    sorted_order(g, idx);
    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    zcoap_opt_iter_init(&it, m);
    for (size_t i = 0; i < g->n_opts; i++) {
        const gen_opt_t *want = &g->opts[idx[i]];
        assert_true(zcoap_opt_iter_next(&it, &o));
        assert_int_equal(o.num, want->num);
        assert_int_equal(o.len, want->len);
        if (want->len > 0)
            assert_memory_equal(o.val, want->val, want->len);
        if (want->how == ADD_UINT) {
            uint32_t v;
            assert_zcoap_ok(zcoap_opt_uint(&o, &v));
            assert_int_equal(v, want->uint_value);
        } else if (want->how == ADD_BLOCK) {
            zcoap_block_t blk;
            assert_zcoap_ok(zcoap_opt_block(&o, &blk));
            assert_int_equal(blk.num, want->block.num);
            assert_int_equal(blk.more, want->block.more);
            assert_int_equal(blk.szx, want->block.szx);
        }
    }
    assert_false(zcoap_opt_iter_next(&it, &o));
    assert_int_equal(m->payload_len, g->payload_len);
    if (g->payload_len > 0)
        assert_memory_equal(m->payload, g->payload, g->payload_len);
    else
        assert_null(m->payload);
}

static uint8_t ref[MAX_MSG];
static uint8_t out[MAX_MSG];
static uint8_t copy[MAX_MSG];

static void random_messages_round_trip(void **state)
{
    (void)state;
    uint64_t seed = test_rng_seed_from_env(0x5eed2c0a9u);
    size_t count = test_scaled_count(10000);
    test_rng_t r;
    test_rng_seed(&r, seed);
    print_message("seed 0x%llx (ZCOAP_TEST_SEED), %zu messages\n", (unsigned long long)seed, count);
    for (size_t i = 0; i < count; i++) {
        gen_msg_t g;
        random_message(&r, &g);
        size_t ref_len = ref_encode(&g, ref);
        bool monotonic;
        /* a sequence that only grows fits exactly; sometimes check that one byte less does not */
        test_rng_t replay = r;
        ptrdiff_t n = build_randomly(&r, &g, out, sizeof(out), &monotonic);
        if (n != (ptrdiff_t)ref_len || memcmp(out, ref, ref_len) != 0)
            print_error("seed 0x%llx, message %zu\n", (unsigned long long)seed, i);
        assert_zcoap_len(n, ref_len);
        assert_zcoap_bytes(out, (size_t)n, ref, ref_len);
        if (monotonic && i % 8 == 0) {
            test_rng_t again = replay;
            assert_zcoap_len(build_randomly(&again, &g, out, ref_len, &monotonic), ref_len);
            assert_zcoap_bytes(out, ref_len, ref, ref_len);
            again = replay;
            assert_zcoap_err(build_randomly(&again, &g, out, ref_len - 1, &monotonic),
                             ZCOAP_ENOSPC);
        }

        zcoap_msg_t m;
        parse_ok(&m, ref, ref_len);
        check_parsed(&g, &m);

        /* rebuild from the view: header, token and options copied, payload set again */
        zcoap_builder_t b;
        assert_zcoap_ok(zcoap_builder_init_copy(&b, copy, sizeof(copy), &m));
        assert_zcoap_ok(zcoap_builder_set_payload(&b, m.payload, m.payload_len));
        ptrdiff_t c = zcoap_builder_finish(&b);
        assert_zcoap_len(c, ref_len);
        assert_zcoap_bytes(copy, (size_t)c, ref, ref_len);

        /* the other readers accept every valid message (every fourth: slow under Valgrind) */
        if (i % 4 != 0)
            continue;
        char line[256];
        ptrdiff_t p = zcoap_msg_print(&m, line, sizeof(line));
        assert_true(p == ZCOAP_ENOSPC || (p >= 0 && (size_t)p == strlen(line)));
        uint16_t bad;
        int rc = zcoap_msg_check_options(&m, NULL, 0, &bad);
        assert_true(rc == ZCOAP_OK || rc == ZCOAP_EOPT_UNRECOGNIZED);
    }
}

static void empty_messages_round_trip(void **state)
{
    (void)state;
    static const uint8_t types[] = {ZCOAP_TYPE_CON, ZCOAP_TYPE_ACK, ZCOAP_TYPE_RST};
    test_rng_t r;
    test_rng_seed(&r, test_rng_seed_from_env(0xe3e3u));
    for (size_t i = 0; i < 1000; i++) {
        uint8_t type = types[test_rng_below(&r, 3)];
        uint16_t mid = (uint16_t)test_rng_next(&r);
        uint8_t e[4];
        assert_zcoap_len(zcoap_build_empty(e, sizeof(e), type, mid), 4);
        zcoap_msg_t m;
        parse_ok(&m, e, 4);
        assert_int_equal(m.type, type);
        assert_int_equal(m.code, ZCOAP_CODE_EMPTY);
        assert_int_equal(m.mid, mid);
        zcoap_builder_t b;
        uint8_t c[8];
        assert_zcoap_ok(zcoap_builder_init_copy(&b, c, sizeof(c), &m));
        assert_zcoap_len(zcoap_builder_finish(&b), 4);
        assert_memory_equal(c, e, 4);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_messages_round_trip),
        cmocka_unit_test(empty_messages_round_trip),
    };
    return cmocka_run_group_tests_name("msg_roundtrip", tests, NULL, NULL);
}
