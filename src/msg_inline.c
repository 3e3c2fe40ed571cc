/* External definitions of the inline functions of zcoap/msg_inline.h (C11 §6.7.4: an extern
 * declaration in one translation unit makes the inline definition an external one here), for
 * callers that do not inline them and for bindings that need the symbols. */
#include "zcoap/msg.h"

extern size_t zcoap__ext_size(uint32_t v);
extern size_t zcoap__opt_hdr_size(uint32_t delta, uint32_t len);
extern int32_t zcoap__ext_decode(uint32_t nibble, const uint8_t **pp, const uint8_t *end);
extern int zcoap__opt_hdr_decode(const uint8_t *p, const uint8_t *end, zcoap__opt_hdr_t *out);
extern uint8_t zcoap__nibble_of(uint32_t v);
extern size_t zcoap__ext_write(uint8_t *p, uint32_t v);
extern size_t zcoap__opt_hdr_write(uint8_t *p, uint32_t delta, uint32_t len);
extern bool zcoap__opt_len_ok(uint16_t num, size_t len);
extern bool zcoap_opt_iter_next(zcoap_opt_iter_t *it, zcoap_opt_t *opt);
extern int zcoap_builder_add_opt(zcoap_builder_t *b, uint16_t num, const void *val, size_t len);
extern int zcoap_builder_add_uint(zcoap_builder_t *b, uint16_t num, uint32_t value);
extern void zcoap_opt_iter_init(zcoap_opt_iter_t *it, const zcoap_msg_t *msg);
extern int zcoap_opt_uint(const zcoap_opt_t *opt, uint32_t *out);
