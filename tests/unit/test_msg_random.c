/* Random and mutated datagrams: parsing never crashes and never reads past the end (every input
 * sits right before a PROT_NONE guard page, and ASan checks too), and whenever parse says OK the
 * view is consistent: options and payload inside the datagram, the options region exactly
 * consumed by the iterator, and every reader (find, decoders, check_options, print, URI,
 * init_copy) behaves. ZCOAP_TEST_SEED / ZCOAP_TEST_SCALE as in the round-trip test. */
#define _POSIX_C_SOURCE 200809L

#include "zcoap_test.h"

#include <stdio.h>
#include <unistd.h>

static guard_buf_t guard;
static size_t n_parsed;
static size_t n_parsed_ok;

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

static bool inside(const uint8_t *p, size_t n, const uint8_t *start, size_t len)
{
    return p >= start && n <= len && (size_t)(p - start) <= len - n;
}

/* Everything a valid view promises, checked on one parsed datagram. */
static void check_view(const zcoap_msg_t *m, const uint8_t *d, size_t len)
{
    assert_ptr_equal(m->data, d);
    assert_int_equal(m->len, len);
    assert_int_equal(m->version, 1);
    assert_in_range(m->token_len, 0, 8);
    assert_int_not_equal(ZCOAP_CODE_CLASS(m->code), 1);
    assert_true(ZCOAP_CODE_CLASS(m->code) < 6);
    assert_true(inside(m->token, m->token_len, d, len));
    assert_ptr_equal(m->opts, d + 4 + m->token_len);
    assert_true(inside(m->opts, m->opts_len, d, len));
    if (m->payload != NULL) {
        assert_true(m->payload_len > 0);
        assert_ptr_equal(m->payload, m->opts + m->opts_len + 1);
        assert_int_equal(m->opts[m->opts_len], 0xff);
        assert_ptr_equal(m->payload + m->payload_len, d + len);
    } else {
        assert_int_equal(m->payload_len, 0);
        assert_ptr_equal(m->opts + m->opts_len, d + len);
    }
    if (m->code == ZCOAP_CODE_EMPTY)
        assert_int_equal(len, 4);

    /* the iterator stays inside the options region, in ascending order, and uses all of it */
    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    size_t count = 0;
    uint32_t prev = 0;
    const uint8_t *end_of_last = m->opts;
    zcoap_opt_iter_init(&it, m);
    while (zcoap_opt_iter_next(&it, &o)) {
        assert_true(inside(o.val, o.len, m->opts, m->opts_len));
        assert_true(o.num >= prev);
        assert_true(o.val >= end_of_last);
        prev = o.num;
        end_of_last = o.val + o.len;
        count++;
        /* typed decoders return a defined result on any value */
        uint32_t v;
        int rc = zcoap_opt_uint(&o, &v);
        assert_true(rc == ZCOAP_OK || (rc == ZCOAP_EOPT_LENGTH && o.len > 4));
        zcoap_block_t blk;
        rc = zcoap_opt_block(&o, &blk);
        assert_true(rc == ZCOAP_OK || rc == ZCOAP_EOPT_LENGTH || rc == ZCOAP_EOPT_BLOCK);
        if (rc == ZCOAP_OK)
            assert_true(blk.szx <= 6 && blk.num < (1u << 20));
        (void)zcoap_opt_is_valid(&o);
        zcoap_opt_t first;
        assert_true(zcoap_msg_find_opt(m, o.num, &first));
        assert_int_equal(first.num, o.num);
    }
    assert_int_equal(count, m->opt_count);
    assert_ptr_equal(end_of_last, m->opts + m->opts_len);

    uint16_t bad = 0;
    int rc = zcoap_msg_check_options(m, NULL, 0, &bad);
    assert_true(rc == ZCOAP_OK || rc == ZCOAP_EOPT_UNRECOGNIZED);
    if (rc == ZCOAP_EOPT_UNRECOGNIZED)
        assert_true(zcoap_opt_is_critical(bad));

    n_parsed_ok++;
    if (n_parsed_ok % 4 != 0)
        return; /* the rest is slow under Valgrind: every fourth view is plenty */

    /* renderers: bounded, NUL-terminated, length or ZCOAP_ENOSPC */
    char text[160];
    ptrdiff_t n = zcoap_msg_print(m, text, sizeof(text));
    assert_true(n == ZCOAP_ENOSPC || (n >= 0 && (size_t)n == strlen(text)));
    assert_true(strlen(text) < sizeof(text));
    n = zcoap_msg_uri(m, false, "::1", 5683, text, sizeof(text));
    assert_true(n == ZCOAP_ENOSPC || (n >= 0 && (size_t)n == strlen(text)));
    n = zcoap_msg_path(m, true, text, sizeof(text));
    assert_true(n == ZCOAP_ENOSPC || (n >= 0 && (size_t)n == strlen(text)));

    /* a valid message is rebuilt byte for byte from its view: the encoding is canonical (each
     * extended form starts where the shorter one ends). A copy that checked option bounds could
     * refuse an out-of-bounds option, with ZCOAP_EOPT_LENGTH and nothing else. */
    uint8_t copy[600];
    zcoap_builder_t b;
    rc = zcoap_builder_init_copy(&b, copy, sizeof(copy), m);
    if (rc == ZCOAP_OK)
        rc = zcoap_builder_set_payload(&b, m->payload, m->payload_len);
    if (rc == ZCOAP_OK) {
        assert_zcoap_len(zcoap_builder_finish(&b), len);
        assert_memory_equal(copy, d, len);
    } else {
        assert_zcoap_err(rc, ZCOAP_EOPT_LENGTH);
    }
}

/* Parse @p len bytes of @p src from the guard buffer and check the view when it is valid. */
static void parse_guarded(const uint8_t *src, size_t len)
{
    const uint8_t *d = guard_buf_set(&guard, src, len);
    assert_non_null(d);
    n_parsed++;
    zcoap_msg_t m;
    int rc = zcoap_msg_parse(&m, d, len);
    if (rc == ZCOAP_OK) {
        check_view(&m, d, len);
        return;
    }
    assert_true(rc >= ZCOAP_EMSG_CODE_CLASS && rc <= ZCOAP_EMSG_SHORT);
    assert_true(len >= 4 || rc == ZCOAP_EMSG_SHORT);
}

static void guard_page_is_really_inaccessible(void **state)
{
    (void)state;
    /* The guarantee the other tests rely on: the byte after the input is in a PROT_NONE page
     * (read from /proc/self/maps rather than by faulting, which would end the test). */
    const uint8_t *d = guard_buf_set(&guard, "abc", 3);
    uintptr_t after = (uintptr_t)(d + 3);
    assert_int_equal(after % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
    FILE *maps = fopen("/proc/self/maps", "r");
    assert_non_null(maps);
    char line[512];
    bool found = false;
    while (fgets(line, sizeof(line), maps) != NULL) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
            continue;
        if (after >= lo && after < hi) {
            found = true;
            assert_string_equal(perms, "---p");
        }
    }
    fclose(maps);
    assert_true(found);
}

static void random_bytes(void **state)
{
    (void)state;
    uint64_t seed = test_rng_seed_from_env(0x7a11u);
    size_t count = test_scaled_count(40000);
    test_rng_t r;
    test_rng_seed(&r, seed);
    print_message("seed 0x%llx (ZCOAP_TEST_SEED)\n", (unsigned long long)seed);
    uint8_t d[64];
    for (size_t i = 0; i < count; i++) {
        size_t len = test_rng_below(&r, sizeof(d) + 1);
        test_rng_fill(&r, d, len);
        /* bias towards what gets past the header checks, so the option walk is exercised */
        if (len > 0 && test_rng_chance(&r, 90))
            d[0] = (uint8_t)(0x40 | (d[0] & 0x30) | test_rng_below(&r, 9));
        if (len > 1 && test_rng_chance(&r, 80))
            d[1] = (uint8_t)ZCOAP_CODE(test_rng_below(&r, 2) * 2u, 1u + test_rng_below(&r, 5));
        if (len > 4 && test_rng_chance(&r, 50)) {
            /* small nibbles make longer option chains */
            for (size_t k = 4; k < len; k++) {
                if (test_rng_chance(&r, 50))
                    d[k] &= 0x33;
            }
        }
        parse_guarded(d, len);
    }
}

/* Valid messages to start mutating from. */
static size_t build_seed_message(test_rng_t *r, uint8_t *out, size_t cap)
{
    zcoap_builder_t b;
    uint8_t tok[8];
    test_rng_fill(r, tok, sizeof(tok));
    assert_zcoap_ok(
        zcoap_builder_init(&b, out, cap, (uint8_t)test_rng_below(r, 4),
                           (uint8_t)(test_rng_chance(r, 50) ? ZCOAP_GET : ZCOAP_CONTENT),
                           (uint16_t)test_rng_next(r), tok, test_rng_below(r, 9)));
    size_t n = test_rng_below(r, 6);
    for (size_t i = 0; i < n; i++) {
        uint8_t val[40];
        test_rng_fill(r, val, sizeof(val));
        uint16_t num = (uint16_t)(test_rng_chance(r, 70) ? test_rng_range(r, 1, 300)
                                                         : test_rng_range(r, 1, 65535));
        const zcoap_opt_def_t *def = zcoap_opt_def(num);
        size_t len = test_rng_below(r, 20);
        if (def != NULL)
            len = def->min_len;
        (void)zcoap_builder_add_opt(&b, num, val, len);
    }
    uint8_t payload[20];
    test_rng_fill(r, payload, sizeof(payload));
    (void)zcoap_builder_set_payload(&b, payload, test_rng_below(r, sizeof(payload)));
    ptrdiff_t len = zcoap_builder_finish(&b);
    assert_true(len >= 4);
    return (size_t)len;
}

static void mutated_messages(void **state)
{
    (void)state;
    uint64_t seed = test_rng_seed_from_env(0x3b17u);
    size_t count = test_scaled_count(32000);
    test_rng_t r;
    test_rng_seed(&r, seed);
    print_message("seed 0x%llx (ZCOAP_TEST_SEED)\n", (unsigned long long)seed);
    uint8_t orig[512];
    uint8_t d[512];
    for (size_t i = 0; i < count; i++) {
        size_t len = build_seed_message(&r, orig, sizeof(orig));
        parse_guarded(orig, len);
        memcpy(d, orig, len);
        switch (test_rng_below(&r, 5)) {
        case 0: /* flip bits */
            for (uint32_t k = test_rng_range(&r, 1, 3); k > 0; k--)
                d[test_rng_below(&r, (uint32_t)len)] ^= (uint8_t)(1u << test_rng_below(&r, 8));
            break;
        case 1: /* replace bytes */
            for (uint32_t k = test_rng_range(&r, 1, 3); k > 0; k--)
                d[test_rng_below(&r, (uint32_t)len)] = (uint8_t)test_rng_next(&r);
            break;
        case 2: /* truncate */
            len = test_rng_below(&r, (uint32_t)len);
            break;
        case 3: /* extend with garbage or a stray marker */
            if (len < sizeof(d) - 8) {
                size_t extra = test_rng_range(&r, 1, 8);
                test_rng_fill(&r, d + len, extra);
                if (test_rng_chance(&r, 50))
                    d[len] = 0xff;
                len += extra;
            }
            break;
        default: /* nibble 13/14/15 in an option byte */
            if (len > 4) {
                size_t at = 4 + test_rng_below(&r, (uint32_t)len - 4);
                static const uint8_t nibbles[] = {0xd0, 0xe0, 0xf0, 0x0d, 0x0e, 0x0f};
                d[at] = (uint8_t)((d[at] & (test_rng_chance(&r, 50) ? 0x0f : 0xf0)) |
                                  nibbles[test_rng_below(&r, ARRAY_LEN(nibbles))]);
            }
            break;
        }
        parse_guarded(d, len);
        /* and every prefix of the mutated datagram now and then */
        if (i % 64 == 0) {
            for (size_t cut = 0; cut < len; cut++)
                parse_guarded(d, cut);
        }
    }
}

static void enough_inputs_were_valid(void **state)
{
    (void)state;
    /* the biasing above must keep the deep checks busy, or this test would prove little */
    print_message("%zu datagrams parsed, %zu valid\n", n_parsed, n_parsed_ok);
    assert_true(n_parsed >= test_scaled_count(100000));
    assert_true(n_parsed_ok >= test_scaled_count(20000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(guard_page_is_really_inaccessible),
        cmocka_unit_test(random_bytes),
        cmocka_unit_test(mutated_messages),
        cmocka_unit_test(enough_inputs_were_valid),
    };
    return cmocka_run_group_tests_name("msg_random", tests, setup, teardown);
}
