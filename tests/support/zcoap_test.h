/**
 * @file zcoap_test.h
 * @brief What every codec unit test includes: cmocka (with the headers it needs first), the
 *        zcoap API, and the support helpers.
 */
#ifndef ZCOAP_TEST_H
#define ZCOAP_TEST_H

/* cmocka.h needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "zcoap/zcoap.h"

#include "assert_zcoap.h"
#include "guard_buf.h"
#include "hex.h"
#include "msg_expect.h"
#include "test_rng.h"

#endif /* ZCOAP_TEST_H */
