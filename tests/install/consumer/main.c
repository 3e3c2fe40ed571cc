/* Smallest real use of both libraries: parse a CoAP header, describe an error. */
#include <stdio.h>

#include <zcoap/uv.h>
#include <zcoap/zcoap.h>

int main(void)
{
    /* CON GET, no token, message ID 0x1234 (RFC 7252 §3). */
    static const uint8_t dgram[] = {0x40, 0x01, 0x12, 0x34};
    zcoap_msg_t msg;
    int rc = zcoap_msg_parse(&msg, dgram, sizeof dgram);
    if (rc != ZCOAP_OK) {
        fprintf(stderr, "parse failed: %s\n", zcoap_uv_strerror(rc));
        return 1;
    }
    if (msg.type != ZCOAP_TYPE_CON || msg.code != ZCOAP_GET || msg.mid != 0x1234) {
        fprintf(stderr, "parse returned wrong fields\n");
        return 1;
    }
    printf("parsed %s %s mid=0x%04x; zcoap %s; short datagram: %s\n", zcoap_type_name(msg.type),
           zcoap_code_name(msg.code), (unsigned)msg.mid, zcoap_version(),
           zcoap_uv_strerror(ZCOAP_EMSG_SHORT));
    return 0;
}
