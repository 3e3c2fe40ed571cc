/* The zcoap side of the codec benchmark: the cases of codec_bench.h with zcoap's API. */
#include <stdio.h>

#include "codec_bench.h"
#include "zcoap/zcoap.h"

#ifndef ZCOAP_BENCH_ZCOAP_LINKAGE
#define ZCOAP_BENCH_ZCOAP_LINKAGE "linkage unknown"
#endif

/* Parse and validate; the view points into the datagram (nothing is copied). */
static uint64_t zc_parse(uint64_t iterations)
{
    uint64_t sum = 1;
    zcoap_msg_t msg;
    for (uint64_t i = 0; i < iterations; i++) {
        const uint8_t *in = bench_input;
        if (zcoap_msg_parse(&msg, in, sizeof(bench_wire)) != ZCOAP_OK)
            return 0;
        sum += (uint64_t)msg.mid + msg.opt_count + msg.token[0];
    }
    return sum;
}

/* Parse, then visit every option: number, length, first and last value byte; Accept as uint. */
static uint64_t zc_walk(uint64_t iterations)
{
    uint64_t sum = 1;
    zcoap_msg_t msg;
    zcoap_opt_iter_t it;
    zcoap_opt_t opt;
    for (uint64_t i = 0; i < iterations; i++) {
        const uint8_t *in = bench_input;
        if (zcoap_msg_parse(&msg, in, sizeof(bench_wire)) != ZCOAP_OK)
            return 0;
        zcoap_opt_iter_init(&it, &msg);
        while (zcoap_opt_iter_next(&it, &opt)) {
            sum += opt.num + opt.len;
            if (opt.len > 0)
                sum += (uint64_t)opt.val[0] + opt.val[opt.len - 1];
            if (opt.num == ZCOAP_OPT_ACCEPT) {
                uint32_t accept;
                if (zcoap_opt_uint(&opt, &accept) != ZCOAP_OK)
                    return 0;
                sum += accept;
            }
        }
    }
    return sum;
}

static uint8_t out_buf[BENCH_MSG_CAP];

/* Header, token, the four options (explicit lengths, as libcoap gets them), finish. */
static ptrdiff_t build_into(uint8_t *buf)
{
    zcoap_builder_t b;
    zcoap_builder_init(&b, buf, BENCH_MSG_CAP, ZCOAP_TYPE_CON, ZCOAP_GET, BENCH_MID, bench_token,
                       sizeof(bench_token));
    zcoap_builder_add_opt(&b, ZCOAP_OPT_URI_PATH, BENCH_PATH0, BENCH_LEN(BENCH_PATH0));
    zcoap_builder_add_opt(&b, ZCOAP_OPT_URI_PATH, BENCH_PATH1, BENCH_LEN(BENCH_PATH1));
    zcoap_builder_add_opt(&b, ZCOAP_OPT_URI_QUERY, BENCH_QUERY, BENCH_LEN(BENCH_QUERY));
    zcoap_builder_add_uint(&b, ZCOAP_OPT_ACCEPT, BENCH_ACCEPT);
    return zcoap_builder_finish(&b); /* errors are sticky: one check covers every call */
}

static uint64_t zc_build(uint64_t iterations)
{
    uint64_t sum = 1;
    for (uint64_t i = 0; i < iterations; i++) {
        ptrdiff_t n = build_into(out_buf);
        if (n <= 0)
            return 0;
        sum += (uint64_t)n + out_buf[n - 1];
    }
    return sum;
}

static size_t zc_encode_once(uint8_t *out)
{
    ptrdiff_t n = build_into(out);
    return n > 0 ? (size_t)n : 0;
}

static const char *zc_version(void)
{
    static char v[32];
    snprintf(v, sizeof(v), "zcoap %s", zcoap_version());
    return v;
}

const bench_lib_t bench_zcoap = {
    .name = "zcoap",
    .version = zc_version,
    .parse = zc_parse,
    .walk = zc_walk,
    .build = zc_build,
    .build_alloc = zc_build, /* the builder writes into any caller buffer: nothing to allocate */
    .encode_once = zc_encode_once,
    .how = "zcoap_msg_parse on the caller's datagram (zero-copy view); zcoap_opt_iter_next + "
           "zcoap_opt_uint; zcoap_builder_init/add_opt/add_uint/finish into a static buffer",
    .linkage = ZCOAP_BENCH_ZCOAP_LINKAGE, /* from CMake: static or shared */
};
