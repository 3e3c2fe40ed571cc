/**
 * @file hex.h
 * @brief Hex strings <-> bytes for RFC test vectors ("40 01 7d 34", spaces allowed).
 */
#ifndef ZCOAP_TEST_HEX_H
#define ZCOAP_TEST_HEX_H

#include <stddef.h>
#include <stdint.h>

/**
 * @brief Decode pairs of hex digits, ignoring whitespace between pairs.
 * @return the number of bytes, or -1 for an odd digit count, a non-hex character, or more
 *         bytes than @p cap.
 */
ptrdiff_t hex_decode(const char *hex, uint8_t *out, size_t cap);

/** Like hex_decode(), but fails the running cmocka test on a malformed string. */
size_t hex_bytes(const char *hex, uint8_t *out, size_t cap);

/** Write @p len bytes as "40 01 7d 34" into @p out (NUL-terminated, cut with "..."). */
void hex_format(const uint8_t *data, size_t len, char *out, size_t cap);

#endif /* ZCOAP_TEST_HEX_H */
