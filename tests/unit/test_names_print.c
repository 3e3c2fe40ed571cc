/* Names (src/names.c) and the one-line printer (src/print.c). The expected lines marked
 * "libcoap" were printed by coap-client-notls -v 7 (libcoap 4.3.1) for the same messages. */
#include "zcoap_test.h"

static void type_names(void **state)
{
    (void)state;
    assert_string_equal(zcoap_type_name(ZCOAP_TYPE_CON), "CON");
    assert_string_equal(zcoap_type_name(ZCOAP_TYPE_NON), "NON");
    assert_string_equal(zcoap_type_name(ZCOAP_TYPE_ACK), "ACK");
    assert_string_equal(zcoap_type_name(ZCOAP_TYPE_RST), "RST");
    assert_non_null(zcoap_type_name(4));
    assert_non_null(zcoap_type_name(255));
}

static void code_names(void **state)
{
    (void)state;
    /* methods by name (RFC 7252 §12.1.1, RFC 8132 §6), everything else as c.dd */
    const struct {
        uint8_t code;
        const char *name;
    } cases[] = {
        {ZCOAP_GET, "GET"},
        {ZCOAP_POST, "POST"},
        {ZCOAP_PUT, "PUT"},
        {ZCOAP_DELETE, "DELETE"},
        {ZCOAP_FETCH, "FETCH"},
        {ZCOAP_PATCH, "PATCH"},
        {ZCOAP_IPATCH, "iPATCH"},
        {ZCOAP_CODE_EMPTY, "0.00"},
        {0x08, "0.08"},
        {0x1f, "0.31"},
        {0x20, "1.00"},
        {ZCOAP_CREATED, "2.01"},
        {ZCOAP_CONTENT, "2.05"},
        {ZCOAP_CONTINUE, "2.31"},
        {0x60, "3.00"},
        {ZCOAP_BAD_REQUEST, "4.00"},
        {ZCOAP_NOT_FOUND, "4.04"},
        {ZCOAP_REQUEST_ENTITY_TOO_LARGE, "4.13"},
        {ZCOAP_TOO_MANY_REQUESTS, "4.29"},
        {ZCOAP_INTERNAL_SERVER_ERROR, "5.00"},
        {ZCOAP_HOP_LIMIT_REACHED, "5.08"},
        {0xc0, "6.00"},
        {0xff, "7.31"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        assert_string_equal(zcoap_code_name(cases[i].code), cases[i].name);
    /* never NULL, always c.dd outside the methods */
    for (unsigned c = 8; c < 256; c++) {
        const char *n = zcoap_code_name((uint8_t)c);
        char want[8];
        want[0] = (char)('0' + (c >> 5));
        want[1] = '.';
        want[2] = (char)('0' + (c & 31) / 10);
        want[3] = (char)('0' + (c & 31) % 10);
        want[4] = '\0';
        assert_string_equal(n, want);
    }
}

static void code_reasons(void **state)
{
    (void)state;
    /* RFC 7252 §5.9/§12.1.2, RFC 7959 §2.9, RFC 8132 §6, RFC 8516, RFC 8768 */
    const struct {
        uint8_t code;
        const char *reason;
    } cases[] = {
        {ZCOAP_CREATED, "Created"},
        {ZCOAP_DELETED, "Deleted"},
        {ZCOAP_VALID, "Valid"},
        {ZCOAP_CHANGED, "Changed"},
        {ZCOAP_CONTENT, "Content"},
        {ZCOAP_CONTINUE, "Continue"},
        {ZCOAP_BAD_REQUEST, "Bad Request"},
        {ZCOAP_UNAUTHORIZED, "Unauthorized"},
        {ZCOAP_BAD_OPTION, "Bad Option"},
        {ZCOAP_FORBIDDEN, "Forbidden"},
        {ZCOAP_NOT_FOUND, "Not Found"},
        {ZCOAP_METHOD_NOT_ALLOWED, "Method Not Allowed"},
        {ZCOAP_NOT_ACCEPTABLE, "Not Acceptable"},
        {ZCOAP_REQUEST_ENTITY_INCOMPLETE, "Request Entity Incomplete"},
        {ZCOAP_CONFLICT, "Conflict"},
        {ZCOAP_PRECONDITION_FAILED, "Precondition Failed"},
        {ZCOAP_REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large"},
        {ZCOAP_UNSUPPORTED_CONTENT_FORMAT, "Unsupported Content-Format"},
        {ZCOAP_UNPROCESSABLE_ENTITY, "Unprocessable Entity"},
        {ZCOAP_TOO_MANY_REQUESTS, "Too Many Requests"},
        {ZCOAP_INTERNAL_SERVER_ERROR, "Internal Server Error"},
        {ZCOAP_NOT_IMPLEMENTED, "Not Implemented"},
        {ZCOAP_BAD_GATEWAY, "Bad Gateway"},
        {ZCOAP_SERVICE_UNAVAILABLE, "Service Unavailable"},
        {ZCOAP_GATEWAY_TIMEOUT, "Gateway Timeout"},
        {ZCOAP_PROXYING_NOT_SUPPORTED, "Proxying Not Supported"},
        {ZCOAP_HOP_LIMIT_REACHED, "Hop Limit Reached"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *r = zcoap_code_reason(cases[i].code);
        assert_non_null(r);
        assert_string_equal(r, cases[i].reason);
    }
    /* unregistered codes have no reason */
    const uint8_t unknown[] = {0x40, 0x46, 0x60, 0x87, 0x8a, 0x9f, 0xa6, 0xbf, 0xc0, 0xff};
    for (size_t i = 0; i < ARRAY_LEN(unknown); i++)
        assert_null(zcoap_code_reason(unknown[i]));
}

static void option_names(void **state)
{
    (void)state;
    const struct {
        uint16_t num;
        const char *name;
    } cases[] = {
        {1, "If-Match"},      {3, "Uri-Host"},        {4, "ETag"},          {5, "If-None-Match"},
        {6, "Observe"},       {7, "Uri-Port"},        {8, "Location-Path"}, {9, "OSCORE"},
        {11, "Uri-Path"},     {12, "Content-Format"}, {14, "Max-Age"},      {15, "Uri-Query"},
        {16, "Hop-Limit"},    {17, "Accept"},         {19, "Q-Block1"},     {20, "Location-Query"},
        {23, "Block2"},       {27, "Block1"},         {28, "Size2"},        {31, "Q-Block2"},
        {35, "Proxy-Uri"},    {39, "Proxy-Scheme"},   {60, "Size1"},        {252, "Echo"},
        {258, "No-Response"}, {292, "Request-Tag"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *n = zcoap_opt_name(cases[i].num);
        assert_non_null(n);
        assert_string_equal(n, cases[i].name);
    }
    assert_null(zcoap_opt_name(0));
    assert_null(zcoap_opt_name(2));
    assert_null(zcoap_opt_name(2048));
    assert_null(zcoap_opt_name(65535));
}

static void content_format_names(void **state)
{
    (void)state;
    /* CoAP Content-Formats registry; 0 is named the way libcoap prints it */
    const struct {
        uint16_t cf;
        const char *name;
    } cases[] = {
        {0, "text/plain"},
        {40, "application/link-format"},
        {41, "application/xml"},
        {42, "application/octet-stream"},
        {47, "application/exi"},
        {50, "application/json"},
        {51, "application/json-patch+json"},
        {52, "application/merge-patch+json"},
        {60, "application/cbor"},
        {61, "application/cwt"},
        {110, "application/senml+json"},
        {112, "application/senml+cbor"},
        {11542, "application/vnd.oma.lwm2m+tlv"},
        {11543, "application/vnd.oma.lwm2m+json"},
        {11544, "application/vnd.oma.lwm2m+cbor"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *n = zcoap_content_format_name(cases[i].cf);
        assert_non_null(n);
        assert_string_equal(n, cases[i].name);
    }
    assert_null(zcoap_content_format_name(1));
    assert_null(zcoap_content_format_name(9999));
    assert_null(zcoap_content_format_name(65535));
}

/* ---- printing ------------------------------------------------------------------------------ */

static uint8_t mbuf[512];

/* The builder calls of one message, then its parse. */
typedef struct line_case {
    uint8_t type, code;
    uint16_t mid;
    const char *token; /* hex */
    expect_opt_t opts[12];
    size_t n_opts;
    const char *payload;
    size_t payload_len;
    const char *want;
} line_case_t;

static zcoap_msg_t build_case(const line_case_t *c)
{
    uint8_t tok[8];
    size_t tok_len = hex_bytes(c->token, tok, sizeof(tok));
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, mbuf, sizeof(mbuf), c->type, c->code, c->mid, tok, tok_len));
    for (size_t i = 0; i < c->n_opts; i++) {
        const expect_opt_t *o = &c->opts[i];
        assert_zcoap_ok(zcoap_builder_add_opt(&b, o->num, o->val,
                                              o->len == EXPECT_STRLEN ? strlen(o->val) : o->len));
    }
    if (c->payload != NULL)
        assert_zcoap_ok(zcoap_builder_set_payload(&b, c->payload, c->payload_len));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n >= 4);
    zcoap_msg_t msg;
    parse_ok(&msg, mbuf, (size_t)n);
    return msg;
}

static const line_case_t libcoap_lines[] = {
    /* libcoap: the request of `coap-client -t json -A 50 coap://127.0.0.1:56830/time?x=1` */
    {.type = ZCOAP_TYPE_CON,
     .code = ZCOAP_GET,
     .mid = 0xcccb,
     .token = "01",
     .opts = {{ZCOAP_OPT_URI_PORT, "\xdd\xfe", 2},
              EXPECT_STR(ZCOAP_OPT_URI_PATH, "time"),
              {ZCOAP_OPT_CONTENT_FORMAT, "\x32", 1},
              EXPECT_STR(ZCOAP_OPT_URI_QUERY, "x=1"),
              {ZCOAP_OPT_ACCEPT, "\x32", 1}},
     .n_opts = 5,
     .want = "v:1 t:CON c:GET i:cccb {01} [ Uri-Port:56830, Uri-Path:time, "
             "Content-Format:application/json, Uri-Query:x=1, Accept:application/json ]"},
    /* libcoap: its answer */
    {.type = ZCOAP_TYPE_ACK,
     .code = ZCOAP_CONTENT,
     .mid = 0xcccb,
     .token = "01",
     .opts = {{ZCOAP_OPT_MAX_AGE, "\x01", 1}},
     .n_opts = 1,
     .payload = "Nov 27 07:49:30",
     .payload_len = 15,
     .want = "v:1 t:ACK c:2.05 i:cccb {01} [ Max-Age:1 ] :: 'Nov 27 07:49:30'"},
    /* libcoap: PUT with an unknown option 2048 "abc" and a payload, and the bare 2.01 */
    {.type = ZCOAP_TYPE_CON,
     .code = ZCOAP_PUT,
     .mid = 0x0120,
     .token = "01",
     .opts = {{ZCOAP_OPT_URI_PORT, "\xdd\xfe", 2},
              EXPECT_STR(ZCOAP_OPT_URI_PATH, "example_data"),
              EXPECT_STR(2048, "abc")},
     .n_opts = 3,
     .payload = "hello",
     .payload_len = 5,
     .want = "v:1 t:CON c:PUT i:0120 {01} [ Uri-Port:56830, Uri-Path:example_data, "
             "2048:\\x61\\x62\\x63 ] :: 'hello'"},
    {.type = ZCOAP_TYPE_ACK,
     .code = ZCOAP_CREATED,
     .mid = 0x0120,
     .token = "01",
     .want = "v:1 t:ACK c:2.01 i:0120 {01} [ ]"},
    /* libcoap: block-wise GET of / with 16-byte blocks */
    {.type = ZCOAP_TYPE_ACK,
     .code = ZCOAP_CONTENT,
     .mid = 0x9eea,
     .token = "01",
     .opts = {{ZCOAP_OPT_ETAG, "\x01", 1},
              {ZCOAP_OPT_MAX_AGE, "\x02\xff\xff", 3},
              {ZCOAP_OPT_BLOCK2, "\x08", 1},
              {ZCOAP_OPT_SIZE2, "\x88", 1}},
     .n_opts = 4,
     .payload = "This is a test s",
     .payload_len = 16,
     .want = "v:1 t:ACK c:2.05 i:9eea {01} [ ETag:0x01, Max-Age:196607, Block2:0/M/16, "
             "Size2:136 ] :: 'This is a test s'"},
    {.type = ZCOAP_TYPE_CON,
     .code = ZCOAP_GET,
     .mid = 0x9eeb,
     .token = "02000000000002",
     .opts = {{ZCOAP_OPT_URI_PORT, "\xdd\xfe", 2}, {ZCOAP_OPT_BLOCK2, "\x10", 1}},
     .n_opts = 2,
     .want = "v:1 t:CON c:GET i:9eeb {02000000000002} [ Uri-Port:56830, Block2:1/_/16 ]"},
    /* libcoap: an observe notification */
    {.type = ZCOAP_TYPE_CON,
     .code = ZCOAP_CONTENT,
     .mid = 0xc400,
     .token = "01",
     .opts = {{ZCOAP_OPT_OBSERVE, "\x03", 1}, {ZCOAP_OPT_MAX_AGE, "\x01", 1}},
     .n_opts = 2,
     .payload = "Nov 27 07:49:36",
     .payload_len = 15,
     .want = "v:1 t:CON c:2.05 i:c400 {01} [ Observe:3, Max-Age:1 ] :: 'Nov 27 07:49:36'"},
    /* libcoap: conditional POST (without its No-Response and its binary payload) */
    {.type = ZCOAP_TYPE_CON,
     .code = ZCOAP_POST,
     .mid = 0xceab,
     .token = "01",
     .opts = {EXPECT_STR(ZCOAP_OPT_IF_MATCH, "abc"),
              EXPECT_STR(ZCOAP_OPT_URI_HOST, "localhost"),
              {ZCOAP_OPT_ETAG, "\x01\x02", 2},
              {ZCOAP_OPT_IF_NONE_MATCH, "", 0},
              {ZCOAP_OPT_URI_PORT, "\xdd\xfe", 2},
              EXPECT_STR(ZCOAP_OPT_URI_PATH, "x"),
              EXPECT_STR(ZCOAP_OPT_URI_PATH, "y z"),
              {ZCOAP_OPT_SIZE1, "\x35", 1}},
     .n_opts = 8,
     .want = "v:1 t:CON c:POST i:ceab {01} [ If-Match:0x616263, Uri-Host:localhost, ETag:0x0102, "
             "If-None-Match:, Uri-Port:56830, Uri-Path:x, Uri-Path:y z, Size1:53 ]"},
    /* libcoap: NON with Accept 0 and an empty unknown option, and its 4.04 */
    {.type = ZCOAP_TYPE_NON,
     .code = ZCOAP_GET,
     .mid = 0xe6e2,
     .token = "01",
     .opts = {{ZCOAP_OPT_URI_PORT, "\xdd\xfe", 2},
              EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"),
              EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"),
              {ZCOAP_OPT_ACCEPT, "", 0},
              {2000, "", 0}},
     .n_opts = 5,
     .want = "v:1 t:NON c:GET i:e6e2 {01} [ Uri-Port:56830, Uri-Path:a, Uri-Path:a, "
             "Accept:text/plain, 2000: ]"},
    {.type = ZCOAP_TYPE_NON,
     .code = ZCOAP_NOT_FOUND,
     .mid = 0xe6e2,
     .token = "01",
     .payload = "Not Found",
     .payload_len = 9,
     .want = "v:1 t:NON c:4.04 i:e6e2 {01} [ ] :: 'Not Found'"},
};

static const line_case_t own_lines[] = {
    /* Empty messages: empty token braces, code 0.00 */
    {.type = ZCOAP_TYPE_RST,
     .code = ZCOAP_CODE_EMPTY,
     .mid = 0xabcd,
     .token = "",
     .want = "v:1 t:RST c:0.00 i:abcd {} [ ]"},
    /* unknown Content-Format as a number, a block with SZX 6, an opaque Echo, a FETCH */
    {.type = ZCOAP_TYPE_CON,
     .code = ZCOAP_FETCH,
     .mid = 0x0001,
     .token = "a1b2c3d4e5f60718",
     .opts = {{ZCOAP_OPT_CONTENT_FORMAT, "\x27\x0f", 2},
              {ZCOAP_OPT_BLOCK1, "\x2e", 1},
              {ZCOAP_OPT_ECHO, "\x00\xff", 2},
              {ZCOAP_OPT_HOP_LIMIT, "\x10", 1}},
     .n_opts = 4,
     .payload = "{}",
     .payload_len = 2,
     .want = "v:1 t:CON c:FETCH i:0001 {a1b2c3d4e5f60718} [ Content-Format:9999, Hop-Limit:16, "
             "Block1:2/M/1024, Echo:0x00ff ] :: '{}'"},
    /* a code without a name */
    {.type = ZCOAP_TYPE_NON,
     .code = 0x08,
     .mid = 0xffff,
     .token = "ff",
     .want = "v:1 t:NON c:0.08 i:ffff {ff} [ ]"},
};

static void expect_line(const line_case_t *c)
{
    char out[512];
    zcoap_msg_t msg = build_case(c);
    ptrdiff_t n = zcoap_msg_print(&msg, out, sizeof(out));
    if (n < 0 || strcmp(out, c->want) != 0)
        print_error("got      %s\nexpected %s\n", n < 0 ? "" : out, c->want);
    assert_zcoap_len(n, strlen(c->want));
    assert_string_equal(out, c->want);
}

static void print_like_libcoap(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(libcoap_lines); i++)
        expect_line(&libcoap_lines[i]);
}

static void print_other_shapes(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(own_lines); i++)
        expect_line(&own_lines[i]);
}

static void print_text_payload_with_newline(void **state)
{
    (void)state;
    char out[256];
    /* libcoap's rule: a payload starting with a printable byte is text; the rest is escaped */
    const line_case_t c = {.type = ZCOAP_TYPE_ACK,
                           .code = ZCOAP_CONTENT,
                           .mid = 2,
                           .token = "",
                           .payload = "</a>,\n</b>",
                           .payload_len = 10};
    zcoap_msg_t msg = build_case(&c);
    ptrdiff_t n = zcoap_msg_print(&msg, out, sizeof(out));
    assert_string_equal(out, "v:1 t:ACK c:2.05 i:0002 {} [ ] :: '</a>,\\x0A</b>'");
    assert_int_equal(strlen(out), (size_t)n);
}

/* RFC 7252 §5.1 and RFC 8132: FETCH is safe and idempotent, iPATCH idempotent, PATCH neither. */
static void method_safety_and_idempotency(void **state)
{
    (void)state;
    const struct {
        uint8_t code;
        bool safe, idempotent;
    } cases[] = {
        {ZCOAP_GET, true, true},     {ZCOAP_POST, false, false},    {ZCOAP_PUT, false, true},
        {ZCOAP_DELETE, false, true}, {ZCOAP_FETCH, true, true},     {ZCOAP_PATCH, false, false},
        {ZCOAP_IPATCH, false, true}, {ZCOAP_CONTENT, false, false}, {0, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(zcoap_method_is_safe(cases[i].code), cases[i].safe);
        assert_int_equal(zcoap_method_is_idempotent(cases[i].code), cases[i].idempotent);
    }
}

static void code_macros_take_variables(void **state)
{
    (void)state;
    uint8_t cls = 4;
    int detail = 4;
    unsigned code = ZCOAP_CODE(cls, detail);
    assert_int_equal(code, ZCOAP_NOT_FOUND);
    assert_int_equal(ZCOAP_CODE_CLASS(code), 4);
    assert_int_equal(ZCOAP_CODE_DETAIL(code), 4);
}

static void print_binary_payload(void **state)
{
    (void)state;
    char out[256];
    const line_case_t c = {.type = ZCOAP_TYPE_ACK,
                           .code = ZCOAP_CONTENT,
                           .mid = 2,
                           .token = "",
                           .payload = "\x00\xff\x10",
                           .payload_len = 3};
    zcoap_msg_t msg = build_case(&c);
    ptrdiff_t n = zcoap_msg_print(&msg, out, sizeof(out));
    assert_true(n > 0);
    /* libcoap's words; its hex dump goes on a second line, ours stays on this one */
    const char *prefix = "v:1 t:ACK c:2.05 i:0002 {} [ ] :: binary data length 3";
    assert_true(strncmp(out, prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(out, "00ff10"));
    assert_int_equal(strlen(out), (size_t)n);
}

static void print_truncates_with_dots(void **state)
{
    (void)state;
    const line_case_t *c = &libcoap_lines[0];
    const char *full = c->want;
    size_t len = strlen(full);
    zcoap_msg_t msg = build_case(c);
    enum { MARGIN = 16 };
    char arena[256 + 2 * MARGIN];
    for (size_t cap = 0; cap <= len + 1; cap++) {
        memset(arena, '#', sizeof(arena));
        char *out = arena + MARGIN;
        ptrdiff_t n = zcoap_msg_print(&msg, out, cap);
        if (cap == len + 1) {
            assert_zcoap_len(n, len);
            assert_string_equal(out, full);
        } else {
            assert_zcoap_err(n, ZCOAP_ENOSPC);
            if (cap > 0) {
                /* cut to cap - 1 characters, the last three of them dots (as many as fit) */
                assert_int_equal(strlen(out), cap - 1);
                size_t dots = cap - 1 < 3 ? cap - 1 : 3;
                size_t kept = cap - 1 - dots;
                assert_memory_equal(out, full, kept);
                assert_memory_equal(out + kept, "...", dots);
            }
        }
        for (size_t i = 0; i < sizeof(arena); i++) {
            if (i < MARGIN || i >= MARGIN + cap)
                assert_int_equal(arena[i], '#');
        }
    }
    char out[8];
    assert_zcoap_err(zcoap_msg_print(NULL, out, sizeof(out)), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_msg_print(&msg, NULL, 8), ZCOAP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(type_names),
        cmocka_unit_test(code_names),
        cmocka_unit_test(code_reasons),
        cmocka_unit_test(option_names),
        cmocka_unit_test(content_format_names),
        cmocka_unit_test(print_like_libcoap),
        cmocka_unit_test(print_other_shapes),
        cmocka_unit_test(print_binary_payload),
        cmocka_unit_test(print_text_payload_with_newline),
        cmocka_unit_test(code_macros_take_variables),
        cmocka_unit_test(method_safety_and_idempotency),
        cmocka_unit_test(print_truncates_with_dots),
    };
    return cmocka_run_group_tests_name("names_print", tests, NULL, NULL);
}
