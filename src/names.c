/* Names of types, codes, options and content formats, for logs and printing. */
#include "zcoap/msg.h"

const char *zcoap_type_name(uint8_t type)
{
    static const char *const names[] = {"CON", "NON", "ACK", "RST"};
    return type <= ZCOAP_TYPE_RST ? names[type] : "???";
}

/* "c.dd" for every code byte, so callers need no buffer: class 0-7, detail 0-31. */
#define D_(c, d)                                                                                   \
    {                                                                                              \
        (char)('0' + (c)), '.', (char)('0' + (d) / 10), (char)('0' + (d) % 10), 0                  \
    }
// clang-format off
#define ZCOAP_CODE_ROW_(c) D_(c, 0), D_(c, 1), D_(c, 2), D_(c, 3), D_(c, 4), D_(c, 5), D_(c, 6), D_(c, 7), D_(c, 8), D_(c, 9), D_(c, 10), D_(c, 11), D_(c, 12), D_(c, 13), D_(c, 14), D_(c, 15), D_(c, 16), D_(c, 17), D_(c, 18), D_(c, 19), D_(c, 20), D_(c, 21), D_(c, 22), D_(c, 23), D_(c, 24), D_(c, 25), D_(c, 26), D_(c, 27), D_(c, 28), D_(c, 29), D_(c, 30), D_(c, 31)
static const char code_strings[256][5] = {
    ZCOAP_CODE_ROW_(0), ZCOAP_CODE_ROW_(1), ZCOAP_CODE_ROW_(2), ZCOAP_CODE_ROW_(3),
    ZCOAP_CODE_ROW_(4), ZCOAP_CODE_ROW_(5), ZCOAP_CODE_ROW_(6), ZCOAP_CODE_ROW_(7),
};
// clang-format on
#undef ZCOAP_CODE_ROW_
#undef D_

const char *zcoap_code_name(uint8_t code)
{
    static const char *const methods[] = {"0.00",   "GET",   "POST",  "PUT",
                                          "DELETE", "FETCH", "PATCH", "iPATCH"};
    if (code < 8)
        return methods[code];
    return code_strings[code];
}

const char *zcoap_code_reason(uint8_t code)
{
    switch (code) {
    case ZCOAP_CODE_EMPTY:
        return "Empty";
    case ZCOAP_GET:
        return "GET";
    case ZCOAP_POST:
        return "POST";
    case ZCOAP_PUT:
        return "PUT";
    case ZCOAP_DELETE:
        return "DELETE";
    case ZCOAP_FETCH:
        return "FETCH";
    case ZCOAP_PATCH:
        return "PATCH";
    case ZCOAP_IPATCH:
        return "iPATCH";
    case ZCOAP_CREATED:
        return "Created";
    case ZCOAP_DELETED:
        return "Deleted";
    case ZCOAP_VALID:
        return "Valid";
    case ZCOAP_CHANGED:
        return "Changed";
    case ZCOAP_CONTENT:
        return "Content";
    case ZCOAP_CONTINUE:
        return "Continue";
    case ZCOAP_BAD_REQUEST:
        return "Bad Request";
    case ZCOAP_UNAUTHORIZED:
        return "Unauthorized";
    case ZCOAP_BAD_OPTION:
        return "Bad Option";
    case ZCOAP_FORBIDDEN:
        return "Forbidden";
    case ZCOAP_NOT_FOUND:
        return "Not Found";
    case ZCOAP_METHOD_NOT_ALLOWED:
        return "Method Not Allowed";
    case ZCOAP_NOT_ACCEPTABLE:
        return "Not Acceptable";
    case ZCOAP_REQUEST_ENTITY_INCOMPLETE:
        return "Request Entity Incomplete";
    case ZCOAP_CONFLICT:
        return "Conflict";
    case ZCOAP_PRECONDITION_FAILED:
        return "Precondition Failed";
    case ZCOAP_REQUEST_ENTITY_TOO_LARGE:
        return "Request Entity Too Large";
    case ZCOAP_UNSUPPORTED_CONTENT_FORMAT:
        return "Unsupported Content-Format";
    case ZCOAP_UNPROCESSABLE_ENTITY:
        return "Unprocessable Entity";
    case ZCOAP_TOO_MANY_REQUESTS:
        return "Too Many Requests";
    case ZCOAP_INTERNAL_SERVER_ERROR:
        return "Internal Server Error";
    case ZCOAP_NOT_IMPLEMENTED:
        return "Not Implemented";
    case ZCOAP_BAD_GATEWAY:
        return "Bad Gateway";
    case ZCOAP_SERVICE_UNAVAILABLE:
        return "Service Unavailable";
    case ZCOAP_GATEWAY_TIMEOUT:
        return "Gateway Timeout";
    case ZCOAP_PROXYING_NOT_SUPPORTED:
        return "Proxying Not Supported";
    case ZCOAP_HOP_LIMIT_REACHED:
        return "Hop Limit Reached";
    default:
        return NULL;
    }
}

const char *zcoap_opt_name(uint16_t num)
{
    const zcoap_opt_def_t *def = zcoap_opt_def(num);
    return def != NULL ? def->name : NULL;
}

const char *zcoap_content_format_name(uint16_t cf)
{
    switch (cf) {
    case ZCOAP_CF_TEXT_PLAIN:
        return "text/plain";
    case ZCOAP_CF_COSE_ENCRYPT0:
        return "application/cose; cose-type=\"cose-encrypt0\"";
    case ZCOAP_CF_COSE_MAC0:
        return "application/cose; cose-type=\"cose-mac0\"";
    case ZCOAP_CF_COSE_SIGN1:
        return "application/cose; cose-type=\"cose-sign1\"";
    case ZCOAP_CF_LINK_FORMAT:
        return "application/link-format";
    case ZCOAP_CF_XML:
        return "application/xml";
    case ZCOAP_CF_OCTET_STREAM:
        return "application/octet-stream";
    case ZCOAP_CF_EXI:
        return "application/exi";
    case ZCOAP_CF_JSON:
        return "application/json";
    case ZCOAP_CF_JSON_PATCH_JSON:
        return "application/json-patch+json";
    case ZCOAP_CF_MERGE_PATCH_JSON:
        return "application/merge-patch+json";
    case ZCOAP_CF_CBOR:
        return "application/cbor";
    case ZCOAP_CF_CWT:
        return "application/cwt";
    case ZCOAP_CF_SENML_JSON:
        return "application/senml+json";
    case ZCOAP_CF_SENSML_JSON:
        return "application/sensml+json";
    case ZCOAP_CF_SENML_CBOR:
        return "application/senml+cbor";
    case ZCOAP_CF_SENSML_CBOR:
        return "application/sensml+cbor";
    case ZCOAP_CF_SENML_EXI:
        return "application/senml-exi";
    case ZCOAP_CF_SENSML_EXI:
        return "application/sensml-exi";
    case ZCOAP_CF_LWM2M_TLV:
        return "application/vnd.oma.lwm2m+tlv";
    case ZCOAP_CF_LWM2M_JSON:
        return "application/vnd.oma.lwm2m+json";
    case ZCOAP_CF_LWM2M_CBOR:
        return "application/vnd.oma.lwm2m+cbor";
    default:
        return NULL;
    }
}
