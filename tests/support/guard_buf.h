/**
 * @file guard_buf.h
 * @brief A buffer whose last byte sits right before a PROT_NONE page, so that reading (or
 *        writing) even one byte past the end faults at once, with or without ASan.
 *
 * Test support only: it uses mmap/mprotect, which the core never does.
 */
#ifndef ZCOAP_TEST_GUARD_BUF_H
#define ZCOAP_TEST_GUARD_BUF_H

#include <stddef.h>
#include <stdint.h>

/** A mapping of data pages followed by one inaccessible guard page. */
typedef struct guard_buf {
    uint8_t *map;   /**< start of the mapping */
    size_t map_len; /**< whole mapping, guard page included */
    size_t cap;     /**< largest input that fits before the guard page */
    uint8_t *data;  /**< current contents: data + len is the first byte of the guard page */
    size_t len;     /**< current length */
} guard_buf_t;

/**
 * @brief Map room for inputs up to @p cap bytes followed by a PROT_NONE page.
 * @retval 0 on success, -1 when mmap/mprotect fail (errno set).
 */
int guard_buf_init(guard_buf_t *g, size_t cap);

/**
 * @brief Reserve @p len writable bytes ending right at the guard page, filled with 0xA5.
 * @return the first byte, or NULL when @p len exceeds the capacity.
 */
uint8_t *guard_buf_place(guard_buf_t *g, size_t len);

/**
 * @brief Copy @p len bytes of @p src so that the last one sits right before the guard page.
 * @return the copy (valid until the next place/set/release), or NULL when @p len is too big.
 */
const uint8_t *guard_buf_set(guard_buf_t *g, const void *src, size_t len);

/** One-shot: init with capacity @p len and copy @p src into it. Returns 0 or -1. */
int guard_buf_copy(guard_buf_t *g, const void *src, size_t len);

/** Unmap; @p g may be released twice. */
void guard_buf_release(guard_buf_t *g);

#endif /* ZCOAP_TEST_GUARD_BUF_H */
