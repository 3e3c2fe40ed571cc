/* Internal helpers shared by the codec sources; never installed. The per-option helpers live in
 * zcoap/msg_inline.h because the public inline hot path needs them too. */
#ifndef ZCOAP_MSG_INTERNAL_H
#define ZCOAP_MSG_INTERNAL_H

#include "zcoap/msg.h"

#endif /* ZCOAP_MSG_INTERNAL_H */
