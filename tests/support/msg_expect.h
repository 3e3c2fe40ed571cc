/**
 * @file msg_expect.h
 * @brief Comparing a message's options with an expected list, with readable failures.
 *
 * Include after <stdarg.h>, <stddef.h>, <stdint.h>, <setjmp.h> and <cmocka.h>.
 */
#ifndef ZCOAP_TEST_MSG_EXPECT_H
#define ZCOAP_TEST_MSG_EXPECT_H

#include <stddef.h>
#include <stdint.h>

#include "zcoap/msg.h"

/** One expected option: its number and value bytes. */
typedef struct expect_opt {
    uint16_t num;
    const char *val; /**< value bytes (need not be NUL-terminated when len is given) */
    size_t len;      /**< value length; EXPECT_STRLEN means strlen(val) */
} expect_opt_t;

/** Marks expect_opt_t.len as "use strlen(val)". */
#define EXPECT_STRLEN ((size_t)-1)

/** A string-valued expected option. */
#define EXPECT_STR(n, s)                                                                           \
    {                                                                                              \
        (n), (s), EXPECT_STRLEN                                                                    \
    }

/** Number of elements of an array. */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/** Fail unless @p msg's options, in wire order, are exactly @p exp. */
void assert_msg_opts_at(const zcoap_msg_t *msg, const expect_opt_t *exp, size_t n, const char *file,
                        int line);
#define assert_msg_opts(msg, exp, n) assert_msg_opts_at((msg), (exp), (n), __FILE__, __LINE__)

/** Parse buf[0..len) or fail the running test, naming the error. */
void parse_ok_at(zcoap_msg_t *msg, const uint8_t *buf, size_t len, const char *file, int line);
#define parse_ok(msg, buf, len) parse_ok_at((msg), (buf), (len), __FILE__, __LINE__)

/** Copy up to @p cap options of @p msg, in wire order; returns how many there are. */
size_t collect_opts(const zcoap_msg_t *msg, zcoap_opt_t *out, size_t cap);

#endif /* ZCOAP_TEST_MSG_EXPECT_H */
