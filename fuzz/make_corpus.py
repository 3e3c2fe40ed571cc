#!/usr/bin/env python3
"""Writes the seed corpus of the zcoap fuzzers.

Run by hand once (the files are committed; nothing runs this during a build):
    python3 fuzz/make_corpus.py tests/fuzz/corpus

It writes tests/fuzz/corpus/msg_parse/* (datagrams), tests/fuzz/corpus/uri/* (URI strings), and
the scripts of fuzz_observe.c (tests/fuzz/corpus/observe/*) and fuzz_server.c
(tests/fuzz/corpus/server/*); `make_corpus.py DIR observe server` writes only those targets. The
scripts follow the byte layout each target's LLVMFuzzerTestOneInput() reads (see the encoders
below); the ETSI CoAP plugtest cases (TD_COAP_CORE, _BLOCK, _OBS, _LINK) are among them.
The endpoint and blockwise seeds were written by hand.
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


# ---- fuzz_observe.c scripts ---------------------------------------------------------------------
# Setup: [setup, con_every, interval_s, token_len]; setup % 9 is the table's capacity, bit 4 uses
# the policy, (setup >> 6) % 3 + 1 client observation slots. Then operations (op % 10).
O_REQ, O_NOTIFY, O_REMOVE, O_TIME, O_DEADLINE, O_OBSERVE, O_ANSWER, O_NTF, O_NTF2, O_CANCEL = range(10)
O_GET, O_FETCH, O_POST = 0, 1, 2  # method index << 4 in a request's first byte
OBS_REG, OBS_DEREG, OBS_OTHER, OBS_NONE = 0, 1, 2, 3


def o_setup(cap, policy=False, con_every=0, interval=0, slots=2, token_len=4):
    return bytes([cap | (0x10 if policy else 0) | ((slots - 1) << 6), con_every, interval,
                  token_len])


def o_token(sym, length):
    """A token from the small alphabet: `length` (0-2) bytes of value `sym` (0-3)."""
    return bytes([length | (sym << 2)])


def o_req(peer, res, method, obs, token):
    return bytes([O_REQ, peer | (res << 2) | (method << 4), obs]) + token


def o_time(value, shift):
    return bytes([O_TIME, value, shift])


def o_observe(tag, cancel=False, active=False, fetch=False):
    return bytes([O_OBSERVE, tag | (0x10 if cancel else 0) | (0x20 if active else 0) |
                  (0x40 if fetch else 0)])


def o_answer(code_index=0, observe=True, seq=0, empty_ack=False, max_age=None):
    how = 3 if empty_ack else (code_index << 2) | (0x10 if observe else 0)
    if max_age is not None:
        how |= 0x40 | (max_age << 7)
    return bytes([O_ANSWER, how]) + seq.to_bytes(3, "big")


def o_ntf(tag, move=0, step=1, con=False, kind="ok", copy=False):
    """move: 0 forward by step, 1 back by step, 2 forward step << 16, 3 stay."""
    how = tag | (move << 3) | (0x20 if con else 0)
    how |= {"ok": 0, "no_observe": 0x80, "error": 0xC0}[kind]
    step = (step & 0xFE) | (1 if copy else 0)
    return bytes([O_NTF, how, step])


OBSERVE_SEEDS = {
    # Server: two peers register, three rounds, one deregisters with Observe 1 (RFC 7641 §3.6).
    "server_register_notify_deregister":
        o_setup(4) + o_req(0, 0, O_GET, OBS_REG, o_token(1, 2)) +
        o_req(1, 0, O_FETCH, OBS_REG, o_token(1, 2)) + bytes([O_NOTIFY, 0, 0]) * 3 +
        o_req(1, 0, O_GET, OBS_DEREG, o_token(1, 2)) + bytes([O_NOTIFY, 0, 0]),
    # A full table: the third registration is served as a plain GET (§4.1).
    "server_table_full":
        o_setup(2) + o_req(0, 0, O_GET, OBS_REG, o_token(0, 1)) +
        o_req(1, 1, O_GET, OBS_REG, o_token(0, 1)) + o_req(2, 2, O_GET, OBS_REG, o_token(0, 1)) +
        bytes([O_NOTIFY, 1, 0]),
    # Re-registration with the same token for another resource (§3.3.1), a plain GET with the
    # token, Observe values without meaning in a request, removal during a round.
    "server_reregister_and_remove":
        o_setup(8) + o_req(0, 0, O_GET, OBS_REG, o_token(2, 1)) +
        o_req(0, 1, O_GET, OBS_REG, o_token(2, 1)) + o_req(3, 1, O_GET, OBS_OTHER, o_token(0, 0)) +
        o_req(3, 1, O_POST, OBS_REG, o_token(0, 0)) + o_req(2, 1, O_GET, OBS_REG, o_token(3, 2)) +
        bytes([O_NOTIFY, 1, 0x01]) + o_req(2, 1, O_GET, OBS_NONE, o_token(3, 2)) +
        bytes([O_REMOVE, 0x00, O_REMOVE, 0x05, O_REMOVE, 0x02]),
    # The CON policy: every 3rd CON, and the interval rule over a day of time steps (§4.5).
    "server_con_policy":
        o_setup(3, policy=True, con_every=3, interval=60) +
        o_req(0, 2, O_GET, OBS_REG, o_token(1, 1)) + bytes([O_NOTIFY, 2, 0]) * 4 +
        o_time(0xFF, 10) + bytes([O_NOTIFY, 2, 0]) + o_time(0xFF, 19) + bytes([O_NOTIFY, 2, 0]),
    # Sequence numbers across the 24-bit wrap (resource 0 starts at 2^24 - 2, §4.4).
    "server_seq_wrap":
        o_setup(1) + o_req(0, 0, O_GET, OBS_REG, o_token(0, 0)) + bytes([O_NOTIFY, 0, 0]) * 4,
    # Client: register, notifications in order, a stale one, a copy, a CON one, the end (§3.2).
    "client_register_notifications":
        o_setup(0, token_len=4) + o_observe(0) + o_answer(seq=5) + o_ntf(0, step=2) +
        o_ntf(0, step=2, con=True) + o_ntf(0, move=1, step=4) + o_ntf(0, copy=True, con=True) +
        o_ntf(0, move=2, step=0x90) + o_ntf(0, kind="error"),
    # A separate answer to the registration, then Max-Age runs out (OBS_RENEW), renewal with the
    # same token, notifications, passive cancel (the next one gets RST), active cancel.
    "client_renew_and_cancel":
        o_setup(0, slots=3, token_len=2) + o_observe(1, fetch=True) + o_answer(empty_ack=True) +
        o_answer(seq=100, max_age=1) + bytes([O_DEADLINE]) + o_observe(1) + o_answer(seq=101) +
        o_ntf(1, step=2) + o_observe(2) + o_answer(seq=7) + o_observe(1, cancel=True) +
        o_ntf(1, step=2, con=True) + o_observe(2, cancel=True, active=True) +
        o_answer(observe=False),
    # Registrations refused (4.04), answered without Observe, timed out, abandoned; empty tokens.
    "client_refused_and_timeouts":
        o_setup(0, slots=1, token_len=0) + o_observe(0) + o_answer(code_index=2) +
        o_observe(0) + o_answer(observe=False) + o_observe(0) + bytes([O_DEADLINE]) * 6 +
        o_observe(1) + bytes([O_CANCEL]) + o_observe(2) + o_answer(seq=1) + o_observe(1) +
        o_ntf(2, step=4, kind="no_observe"),
}


# ---- fuzz_server.c scripts ----------------------------------------------------------------------
# Setup [a, b, start_seq] (see configure() in fuzz_server.c); then operations: the low 3 bits
# choose the operation, the high nibble % 5 the peer (four IPv4, one IPv6).
S_RAW, S_REQ, S_ANSWER, S_TIME, S_JUMP, S_APP = 0, 1, 3, 4, 5, 6
S_METHODS = {"GET": 0, "POST": 1, "PUT": 2, "DELETE": 3, "FETCH": 4, "PATCH": 7}
S_PATHS = {"hello": 0, "big": 1, "obs": 2, "slow": 3, "post": 4, "err": 5, "nothing": 6,
           ".well-known/core": 7}


def s_setup(peers=4, msg_cap_index=0, resp_slots=2, observers=3, szx=6, small_body=False,
            dedup=8, seq_near_wrap=None):
    a = (peers - 1) | (msg_cap_index << 2) | ((resp_slots - 1) << 4) | (observers << 5)
    b = next(v for v in range(256) if v % 7 == szx and ((v >> 4) & 7) == dedup - 1 and
             bool(v & 8) == small_body)
    seq = 0 if seq_near_wrap is None else 0x80 | seq_near_wrap
    return bytes([a, b, seq])


def s_raw(peer, datagram):
    assert len(datagram) < 256
    return bytes([(peer << 4) | S_RAW, len(datagram)]) + datagram


def s_req(peer, method, path, non=False, copy=False, token=(0, 0), token8=False, observe=None,
          query=False, block2=None, block1=None, payload=0, size1=None, size2=False,
          critical=False, echo=False):
    """token: (length 0-3, symbol 0-3); token8: an 8-byte token c, c+1, ... where c is the
    request's third byte (its flags); block2: (num, szx); block1: (num, more, szx, payload length
    when not more); echo: return the last Echo value the server sent (RFC 9175 §2.3)."""
    a = (1 if non else 0) | (S_METHODS[method] << 1) | (S_PATHS[path] << 4)
    b = (1 if copy else 0) | (token[0] << 1) | (token[1] << 3)
    b |= (0x20 if token8 else 0) | (0x40 if block2 else 0) | (0x80 if block1 else 0)
    c = {None: 0, 0: 1, 1: 2}[observe] | (4 if query else 0)
    c |= (8 if payload and not block1 else 0) | (0x10 if size1 is not None else 0)
    c |= (0x20 if size2 else 0) | (0x40 if critical else 0) | (0x80 if echo else 0)
    out = bytes([(peer << 4) | S_REQ, a, b, c])
    if block2:
        out += bytes([(block2[0] << 3) | block2[1]])
    if block1:
        num, more, szx, length = block1
        out += bytes([(num << 4) | (8 if more else 0) | szx])
        if not more:
            out += bytes([length])
    elif payload:
        out += bytes([payload])
    if size1 is not None:
        out += size1.to_bytes(2, "big")
    return out


def s_answer(peer, rst=False, to_non=False):
    return bytes([(peer << 4) | S_ANSWER, (1 if rst else 0) | (2 if to_non else 0)])


def s_time(ms):
    return bytes([S_TIME]) + ms.to_bytes(2, "big")


def s_late_answer(peer, ok=True):
    return bytes([S_APP, (peer << 3) | (1 if ok else 0)])


def s_notify(answer=0):
    """answer: 0 the small state, 1 none, 2 the large one (block 0), 3 an error (§3.2)."""
    return bytes([S_APP, 2, answer])


def s_policy(con_every, interval_s):
    return bytes([S_APP, 6 | (con_every << 6), interval_s])


S_GONE = bytes([S_APP, 5])

SERVER_SEEDS = {
    # ETSI TD_COAP_CORE_01-04: CON GET, POST, PUT, DELETE with piggybacked answers.
    "etsi_core_01_04_con_methods":
        s_setup() + s_req(0, "GET", "hello", token=(2, 1)) + s_req(0, "POST", "post", payload=5) +
        s_req(0, "PUT", "big", payload=9) + s_req(0, "DELETE", "err"),
    # TD_COAP_CORE_05-08: the same NON.
    "etsi_core_05_08_non_methods":
        s_setup() + s_req(1, "GET", "hello", non=True) + s_req(1, "POST", "post", non=True) +
        s_req(1, "PUT", "big", non=True, payload=3) + s_req(1, "DELETE", "err", non=True),
    # TD_COAP_CORE_09/10: a separate answer after the automatic empty ACK, CON, ACKed.
    "etsi_core_09_separate":
        s_setup() + s_req(0, "GET", "slow", token=(3, 2)) + s_time(600) + s_late_answer(0) +
        s_answer(0) + s_time(3000),
    # A separate answer ACKed at once (payload asks for it), then a RST to the CON response.
    "separate_ack_now_rst":
        s_setup() + s_req(2, "POST", "slow", payload=4) + s_late_answer(2, ok=False) +
        s_answer(2, rst=True),
    # TD_COAP_CORE_11-13: no token, 8-byte token, several Uri-Path and Uri-Query.
    "etsi_core_11_13_tokens_paths":
        s_setup() + s_req(0, "GET", "hello") + s_req(0, "GET", "hello", token8=True) +
        s_raw(0, msg(CON, GET, 0x0100, b"\x77", [(URI_PATH, b"a"), (URI_PATH, b"b"),
                                                  (URI_QUERY, b"x=1"), (URI_QUERY, b"y")])),
    # TD_COAP_CORE_17: NON request, NON separate answer.
    "etsi_core_17_non_separate":
        s_setup() + s_req(3, "GET", "slow", non=True, token=(1, 0)) + s_late_answer(3),
    # Duplicates: the same CON twice (the stored answer), the same NON twice.
    "duplicates":
        s_setup() + s_req(0, "POST", "post", payload=2) + s_req(0, "POST", "post", copy=True) +
        s_req(1, "POST", "post", non=True) + s_req(1, "POST", "post", non=True, copy=True),
    # TD_COAP_BLOCK_01/02: late and early negotiation of a GET in blocks (RFC 7959 §2.4).
    "etsi_block_01_02_get":
        s_setup(szx=4) + s_req(0, "GET", "big") + s_req(0, "GET", "big", block2=(1, 4)) +
        s_req(0, "GET", "big", block2=(2, 4)) + s_req(1, "GET", "big", block2=(0, 2), size2=True) +
        s_req(1, "GET", "big", block2=(1, 2)) + s_req(1, "GET", "big", block2=(31, 2)),
    # TD_COAP_BLOCK_03/04: PUT and POST in blocks, Size1; one too large (4.13), one out of order.
    "etsi_block_03_04_upload":
        s_setup() + s_req(0, "PUT", "big", block1=(0, True, 2, 0), size1=200) +
        s_req(0, "PUT", "big", block1=(1, True, 2, 0)) +
        s_req(0, "PUT", "big", block1=(2, False, 2, 40)) +
        s_req(1, "POST", "big", block1=(0, True, 6, 0), size1=60000) +
        s_req(2, "POST", "big", block1=(3, True, 1, 0)),
    # TD_COAP_OBS_01-05: register, notifications (NON, then CON by policy, ACKed), RST ends one
    # observer, GET without Observe ends another, Max-Age, deregistration with Observe 1.
    "etsi_obs_01_05":
        s_setup() + s_req(0, "GET", "obs", observe=0, token=(2, 1)) +
        s_req(1, "GET", "obs", observe=0, token=(1, 3)) +
        s_req(2, "FETCH", "obs", observe=0, token=(3, 2)) + s_notify() + s_notify() +
        s_answer(0, rst=True, to_non=True) + s_policy(1, 10) + s_notify() + s_answer(1) +
        s_req(2, "GET", "obs", token=(3, 2)) + s_notify(2) +
        s_req(1, "GET", "obs", observe=1, token=(1, 3)) + s_notify(),
    # CON notifications unanswered: retransmitted, replaced by newer states, then timed out.
    "obs_con_timeout":
        s_setup(seq_near_wrap=2) + s_policy(1, 0) + s_req(0, "GET", "obs", observe=0) +
        s_notify() + s_time(2500) + s_notify() + bytes([S_JUMP]) * 8 + s_time(60000),
    # The resource is gone (4.04 to every observer, §3.2), an error notification, no answer.
    "obs_gone_and_errors":
        s_setup() + s_req(0, "GET", "obs", observe=0, token=(1, 1)) +
        s_req(4, "GET", "obs", observe=0) + s_notify(1) + s_notify(3) + S_GONE +
        s_req(3, "GET", "obs", observe=0) + S_GONE,
    # The amplification limit (RFC 9175 §2.4): a large answer to an unverified address is a
    # 4.01 with Echo; the request again with that value is served, and the next one too.
    "echo_amplification":
        s_setup() + s_req(0, "GET", "big") + s_req(0, "GET", "big", echo=True) +
        s_req(0, "GET", "big", block2=(1, 6)) + s_req(1, "GET", ".well-known/core") +
        s_req(1, "GET", ".well-known/core", echo=True) +
        s_req(2, "GET", "big", echo=True),
    # TD_COAP_LINK_01/02: /.well-known/core, with a filter.
    "etsi_link_01_02":
        s_setup() + s_req(0, "GET", ".well-known/core") +
        s_req(0, "GET", ".well-known/core", query=True),
    # A pool of two: more peers get 5.03 (or RST for a ping) until the windows end.
    "pool_full":
        s_setup(peers=2) + s_req(0, "GET", "hello") + s_req(1, "GET", "hello") +
        s_req(2, "GET", "hello") + s_raw(3, msg(CON, 0, 0x4242)) + s_req(4, "GET", "hello") +
        s_time(60000) * 5 + s_req(2, "GET", "hello"),
    # Unknown critical option (4.02), unknown path (4.04), method not allowed (4.05), and
    # 4.13 for a request over a small msg_cap.
    "errors":
        s_setup(msg_cap_index=1) + s_req(0, "GET", "hello", critical=True) +
        s_req(0, "GET", "nothing") + s_req(0, "PATCH", "hello") +
        s_req(0, "POST", "post", payload=200),
    # Pings, ACKs and RSTs for unknown IDs, a CON response, from peers with and without a slot.
    "stray_messages":
        s_setup() + s_raw(0, msg(CON, 0, 0x1111)) + s_raw(1, msg(ACK, 0, 0x2222)) +
        s_raw(1, msg(RST, 0, 0x3333)) + s_req(2, "GET", "hello") + s_raw(2, msg(CON, 0, 0x4444)) +
        s_raw(2, msg(CON, CONTENT, 0x5555, b"\x01", [], b"x")) +
        s_raw(2, msg(NON, CONTENT, 0x5556, b"\x02")),
}


def server_raw_seeds():
    """Every codec seed (valid or malformed) as a datagram from a peer with no slot yet."""
    out = {}
    for name, data in {**MESSAGES, **MALFORMED}.items():
        if len(data) < 256:
            out["raw_" + name] = s_setup() + s_raw(4 if name.startswith("bad") else 0, data)
    return out


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus"
    targets = sys.argv[2:] or ["msg_parse", "uri", "observe", "server"]
    if "msg_parse" in targets:
        for name, data in {**MESSAGES, **MALFORMED}.items():
            write(os.path.join(root, "msg_parse"), name, data)
    if "uri" in targets:
        for i, uri in enumerate(URIS):
            write(os.path.join(root, "uri"), "uri_%02d" % i, uri.encode())
    if "observe" in targets:
        for name, data in OBSERVE_SEEDS.items():
            write(os.path.join(root, "observe"), name, data)
    if "server" in targets:
        for name, data in {**SERVER_SEEDS, **server_raw_seeds()}.items():
            write(os.path.join(root, "server"), name, data)


if __name__ == "__main__":
    main()
