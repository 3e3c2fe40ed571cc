/* Option-list comparisons shared by the codec tests. */
#include "msg_expect.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

size_t collect_opts(const zcoap_msg_t *msg, zcoap_opt_t *out, size_t cap)
{
    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    size_t n = 0;
    zcoap_opt_iter_init(&it, msg);
    while (zcoap_opt_iter_next(&it, &o)) {
        if (n < cap)
            out[n] = o;
        n++;
    }
    return n;
}

static void print_opts(const char *title, const zcoap_opt_t *got, size_t n)
{
    char hex[256];
    print_error("  %s (%zu):\n", title, n);
    for (size_t i = 0; i < n; i++) {
        hex_format(got[i].val, got[i].len, hex, sizeof(hex));
        print_error("    %u [%u] %s\n", (unsigned)got[i].num, (unsigned)got[i].len, hex);
    }
}

void assert_msg_opts_at(const zcoap_msg_t *msg, const expect_opt_t *exp, size_t n, const char *file,
                        int line)
{
    zcoap_opt_t got[128];
    zcoap_opt_t want[128];
    size_t got_n = collect_opts(msg, got, 128);
    bool same = got_n == n && n <= 128;
    for (size_t i = 0; i < n && i < 128; i++) {
        want[i].num = exp[i].num;
        want[i].val = (const uint8_t *)exp[i].val;
        want[i].len = (uint32_t)(exp[i].len == EXPECT_STRLEN ? strlen(exp[i].val) : exp[i].len);
        if (same && (got[i].num != want[i].num || got[i].len != want[i].len ||
                     (want[i].len > 0 && memcmp(got[i].val, want[i].val, want[i].len) != 0)))
            same = false;
    }
    if (same && msg->opt_count == n)
        return;
    print_error("options differ (opt_count %zu)\n", msg->opt_count);
    print_opts("got", got, got_n < 128 ? got_n : 128);
    print_opts("expected", want, n < 128 ? n : 128);
    _fail(file, line);
}

void parse_ok_at(zcoap_msg_t *msg, const uint8_t *buf, size_t len, const char *file, int line)
{
    int rc = zcoap_msg_parse(msg, buf, len);
    if (rc == ZCOAP_OK)
        return;
    char hex[512];
    hex_format(buf, len, hex, sizeof(hex));
    print_error("zcoap_msg_parse failed with %s on %s\n", zcoap_err_name(rc), hex);
    _fail(file, line);
}
