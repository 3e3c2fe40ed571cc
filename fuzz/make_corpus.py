#!/usr/bin/env python3
"""Writes the seed corpus of the zcoap fuzzers.

Run by hand once (the files are committed; nothing runs this during a build):
    python3 fuzz/make_corpus.py tests/fuzz/corpus

It writes tests/fuzz/corpus/msg_parse/* (datagrams) and tests/fuzz/corpus/uri/* (URI strings).
The encoder below is deliberately independent of src/ (RFC 7252 §3 written out again), so the
seeds do not inherit a bug of the library they test. Crash inputs found later by the fuzzers are
added to the same folders by hand, under names starting with "crash-", and never regenerated.
"""
import os
import sys

CON, NON, ACK, RST = 0, 1, 2, 3


def code(cls, detail):
    return (cls << 5) | detail


GET, POST, PUT, DELETE, FETCH, PATCH, IPATCH = 1, 2, 3, 4, 5, 6, 7
CONTENT, CHANGED, CREATED, CONTINUE = code(2, 5), code(2, 4), code(2, 1), code(2, 31)
NOT_FOUND, BAD_OPTION = code(4, 4), code(4, 2)


def uint(v):
    """RFC 7252 §3.2: shortest big-endian form, 0 is empty."""
    out = b""
    while v:
        out = bytes([v & 0xFF]) + out
        v >>= 8
    return out


def ext(v):
    """Nibble and extended bytes of a delta or length (RFC 7252 §3.1)."""
    if v < 13:
        return v, b""
    if v < 269:
        return 13, bytes([v - 13])
    return 14, (v - 269).to_bytes(2, "big")


def options(opts):
    """opts: list of (number, value bytes); sorted stably like any sender must."""
    out = b""
    last = 0
    for num, val in sorted(opts, key=lambda o: o[0]):
        dn, dx = ext(num - last)
        ln, lx = ext(len(val))
        out += bytes([(dn << 4) | ln]) + dx + lx + val
        last = num
    return out


def msg(mtype, mcode, mid, token=b"", opts=(), payload=b""):
    hdr = bytes([0x40 | (mtype << 4) | len(token), mcode, mid >> 8, mid & 0xFF])
    body = hdr + token + options(list(opts))
    if payload:
        body += b"\xff" + payload
    return body


def block(num, more, szx):
    return uint((num << 4) | (8 if more else 0) | szx)


# Option numbers (RFC 7252 §12.2, RFC 7641, RFC 7959, RFC 8613, RFC 8768, RFC 7967, RFC 9175).
IF_MATCH, URI_HOST, ETAG, IF_NONE_MATCH, OBSERVE, URI_PORT = 1, 3, 4, 5, 6, 7
LOCATION_PATH, OSCORE, URI_PATH, CONTENT_FORMAT, MAX_AGE, URI_QUERY = 8, 9, 11, 12, 14, 15
HOP_LIMIT, ACCEPT, LOCATION_QUERY, BLOCK2, BLOCK1, SIZE2 = 16, 17, 20, 23, 27, 28
PROXY_URI, PROXY_SCHEME, SIZE1, ECHO, NO_RESPONSE, REQUEST_TAG = 35, 39, 60, 252, 258, 292

TOKEN4 = b"\x01\x02\x03\x04"
TYPICAL = [(URI_PATH, b"sensors"), (URI_PATH, b"temp"), (URI_QUERY, b"unit=c"),
           (ACCEPT, uint(50))]

MESSAGES = {
    # Every kind of valid message.
    "con_get_typical": msg(CON, GET, 0x1234, TOKEN4, TYPICAL),
    "non_get": msg(NON, GET, 0x0001, b"\xaa\xbb", [(URI_PATH, b"time")]),
    "ack_205_piggybacked": msg(ACK, CONTENT, 0x1234, TOKEN4, [(CONTENT_FORMAT, b"")],
                               b"22.5 C"),
    "ack_empty": msg(ACK, 0, 0x1234),
    "rst": msg(RST, 0, 0xBEEF),
    "ping_con_empty": msg(CON, 0, 0x0102),
    # Parses (what to do with it is the endpoint's business) but is never built (RFC 7252 §4.3).
    "empty_non": msg(NON, 0, 0x7E08),
    "block2_response": msg(ACK, CONTENT, 0x2000, b"\x42",
                           [(CONTENT_FORMAT, uint(40)), (BLOCK2, block(1, True, 2)),
                            (SIZE2, uint(300))], bytes(range(64))),
    "block1_put": msg(CON, PUT, 0x2001, TOKEN4,
                      [(URI_PATH, b"fw"), (BLOCK1, block(3, True, 6)), (SIZE1, uint(5000))],
                      b"\x00" * 1024),
    "observe_register": msg(CON, GET, 0x3000, b"\x0b", [(OBSERVE, b""), (URI_PATH, b"time")]),
    "observe_notification": msg(NON, CONTENT, 0x3001, b"\x0b",
                                [(OBSERVE, uint(0x010203)), (CONTENT_FORMAT, uint(50)),
                                 (MAX_AGE, uint(60))], b'{"t":21.5}'),
    "separate_con_205": msg(CON, CONTENT, 0x23BB, b"\x32", [], b"22.5 C"),
    "fetch_ipatch": msg(CON, FETCH, 0x4000, b"\x01", [(URI_PATH, b"r"),
                                                       (CONTENT_FORMAT, uint(60))], b"\xa0"),
    "ipatch": msg(CON, IPATCH, 0x4001, b"", [(URI_PATH, b"r")], b"x"),
    "post_created_location": msg(ACK, CREATED, 0x4002, TOKEN4,
                                 [(LOCATION_PATH, b"rd"), (LOCATION_PATH, b"4521"),
                                  (LOCATION_QUERY, b"x=1")]),
    "all_known_options": msg(CON, GET, 0x5000, b"\x01\x02\x03\x04\x05\x06\x07\x08",
                             [(IF_MATCH, b"\x01"), (URI_HOST, b"example.net"), (ETAG, b"\xee"),
                              (IF_NONE_MATCH, b""), (OBSERVE, b""), (URI_PORT, uint(61616)),
                              (URI_PATH, b"a"), (MAX_AGE, uint(1)), (URI_QUERY, b"q"),
                              (HOP_LIMIT, uint(16)), (ACCEPT, uint(11542)),
                              (BLOCK2, block(0, False, 6)), (SIZE2, b""),
                              (PROXY_SCHEME, b"coap"), (ECHO, b"\x01" * 8),
                              (NO_RESPONSE, uint(26)), (REQUEST_TAG, b"\x05")]),
    "proxy_uri": msg(CON, GET, 0x5001, b"", [(PROXY_URI, b"coap://example.net/x")]),
    "oscore_unrecognized_critical": msg(CON, POST, 0x5002, b"\x01", [(OSCORE, b"\x09")],
                                        b"\x00"),
    "unknown_critical_option": msg(CON, GET, 0x5003, b"", [(2049, b"x")]),
    "unknown_elective_option": msg(CON, GET, 0x5004, b"", [(2048, b"x"), (65000, b"")]),
    "option_number_65535": msg(NON, GET, 0x5005, b"", [(65535, b"")]),
    "bad_length_known_option": msg(CON, GET, 0x5006, b"", [(URI_PORT, b"\x00\x01\x02")]),
    "response_codes": msg(ACK, code(5, 8), 0x5007, b"\x01", [], b"hop"),
    "code_231_continue": msg(ACK, CONTINUE, 0x5008, b"\x01", [(BLOCK1, block(0, True, 0))]),
    # Extended delta and length boundaries (RFC 7252 §3.1).
    "len_12": msg(CON, GET, 0x6000, b"", [(URI_PATH, b"a" * 12)]),
    "len_13_ext8": msg(CON, GET, 0x6001, b"", [(URI_PATH, b"a" * 13)]),
    "len_268_ext8_max": msg(CON, GET, 0x6002, b"", [(PROXY_URI, b"p" * 268)]),
    "len_269_ext16": msg(CON, GET, 0x6003, b"", [(PROXY_URI, b"p" * 269)]),
    "delta_12_13": msg(CON, GET, 0x6004, b"", [(CONTENT_FORMAT, b""), (25, b"")]),
    "delta_268_269": msg(CON, GET, 0x6005, b"", [(268, b""), (537, b"")]),
    "delta_ext16_large": msg(CON, GET, 0x6006, b"", [(REQUEST_TAG, b"\x01"), (40000, b"v")]),
    "repeated_options": msg(CON, GET, 0x6007, b"", [(URI_PATH, b""), (URI_PATH, b""),
                                                     (URI_QUERY, b"a"), (URI_QUERY, b"b")]),
    # RFC 7252 Appendix A.
    "appa_fig16_get": msg(CON, GET, 0x7D34, b"", [(URI_PATH, b"temperature")]),
    "appa_fig16_ack": msg(ACK, CONTENT, 0x7D34, b"", [], b"22.5 C"),
    "appa_fig18_get_token": msg(CON, GET, 0x7D36, b"\x31", [(URI_PATH, b"temperature")]),
    "appa_fig19_not_found": msg(ACK, NOT_FOUND, 0x7D37, b"\x32", [], b"Not found"),
    "appa_fig20_empty_ack": msg(ACK, 0, 0x7A10),
    "appa_fig20_separate": msg(CON, CONTENT, 0x23BB, b"\x32", [], b"22.5 C"),
    "appa_fig21_non_get": msg(NON, GET, 0x7A11, b"\x74", [(URI_PATH, b"temperature")]),
    "appa_fig21_non_205": msg(NON, CONTENT, 0x23BC, b"\x74", [], b"22.5 C"),
}

MALFORMED = {
    "bad_short_3": b"\x40\x01\x00",
    "bad_version_2": b"\x80\x01\x00\x01",
    "bad_token_len_9": b"\x49\x01\x00\x01" + b"\x00" * 9,
    "bad_token_truncated": b"\x48\x01\x00\x01\x01\x02",
    "bad_delta_nibble_15": b"\x40\x01\x00\x01\xf1\x00",
    "bad_len_nibble_15": b"\x40\x01\x00\x01\x1f\x00",
    "bad_ext_truncated": b"\x40\x01\x00\x01\xd0",
    "bad_ext16_truncated": b"\x40\x01\x00\x01\x0e\x00",
    "bad_value_truncated": b"\x40\x01\x00\x01\xb5abc",
    "bad_marker_no_payload": b"\x40\x01\x00\x01\xff",
    "bad_empty_with_token": b"\x41\x00\x00\x01\x01",
    "bad_empty_with_payload": b"\x60\x00\x00\x01\xff\x01",
    "bad_code_class_1": b"\x40\x20\x00\x01",
    "bad_code_class_7": b"\x40\xe0\x00\x01",
    "bad_option_overflow": b"\x40\x01\x00\x01\xe0\xff\x00\xe0\x00\x00",
}

URIS = [
    "coap://example.net/",
    "coap://example.net",
    "coap://example.net:5683/~sensors/temp.xml",
    "coap://EXAMPLE.net:/%7Esensors/temp.xml",
    "coaps://[2001:db8::2:1]/",
    "coaps://[2001:db8::2:1]:5684/x",
    "coap://[::1]:61616/a/b?x=1&y",
    "coap://[fe80::1%25eth0]/x",
    "coap://192.0.2.1/.well-known/core?rt=temperature-c",
    "coap://192.0.2.1:0/",
    "coap://h:65535/p",
    "coap://h/a/./b/../c",
    "coap://h/a/b/..",
    "coap://h/../../x",
    "coap://h/%2E%2E/%2e/y",
    "coap://h/a%2Fb/c%20d",
    "coap://h/a//b/",
    "coap://h/?",
    "coap://h?q",
    "coap://h/p?a=1&&b=%26&c=%3F",
    "coap://h/%C3%A9t%C3%A9",
    "coap://sub.example.net/path/with/many/segments/1/2/3/4/5/6/7/8",
    "CoAP://Example.NET/X",
    "coap://h/" + "s" * 255,
    "coap://h/" + "s" * 256,
    "coap://" + "h" * 255 + "/",
    # Rejected shapes.
    "coap://h#frag",
    "http://h/",
    "coap:/h",
    "coap://u@h/",
    "coap://h:99999/",
    "coap://h:12a/",
    "coap://h/%zz",
    "coap://h/%4",
    "coap://[::1/",
    "coap://[zz]/",
    "coap://h/ space",
    "coap://",
    "",
]


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus"
    for name, data in {**MESSAGES, **MALFORMED}.items():
        write(os.path.join(root, "msg_parse"), name, data)
    for i, uri in enumerate(URIS):
        write(os.path.join(root, "uri"), "uri_%02d" % i, uri.encode())


if __name__ == "__main__":
    main()
