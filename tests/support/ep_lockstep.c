/* The fixture of the endpoint's lockstep tests: see ep_lockstep.h. The expect_* helpers take the
 * caller's file and line (through their macros) so that a failure points at the test. */
#include "zcoap_test.h"

#include <stdlib.h>

#include "ep_lockstep.h"

int fx_setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    zcoap_ep_config_default(&f->cfg, &f->store);
    test_rng_seed(&f->rng, test_rng_seed_from_env(0x10c5732b));
    f->cfg.rng = vnet_rng;
    f->cfg.rng_ctx = &f->rng;
    *state = f;
    return 0;
}

int fx_teardown(void **state)
{
    fx_t *f = *state;
    vnet_free(&f->net);
    free(f);
    return 0;
}

void exact_timing(fx_t *f)
{
    f->cfg.tx.ack_random_factor_permil = 1000;
}

void start(fx_t *f)
{
    assert_zcoap_ok(zcoap_ep_init(&f->ep, &f->cfg, T0));
    vnet_init(&f->net, 1, T0);
    vnet_attach(&f->net, EP, &f->ep);
    vnet_attach(&f->net, PEER, NULL);
}

uint64_t now(const fx_t *f)
{
    return vnet_now(&f->net);
}

void run_to(fx_t *f, uint64_t t)
{
    vnet_run_until(&f->net, t);
}

/* ---- the peer's side ----------------------------------------------------------------------- */

void peer_bytes(fx_t *f, const uint8_t *d, size_t len)
{
    vnet_send(&f->net, PEER, d, len);
    vnet_pump(&f->net);
}

void peer_hex(fx_t *f, const char *hex)
{
    uint8_t d[512];
    size_t len = hex_bytes(hex, d, sizeof(d));
    peer_bytes(f, d, len);
}

void peer_empty(fx_t *f, uint8_t type, uint16_t mid)
{
    uint8_t d[4];
    assert_zcoap_len(zcoap_build_empty(d, sizeof(d), type, mid), 4);
    peer_bytes(f, d, 4);
}

size_t build_msg(uint8_t *out, size_t cap, uint8_t type, uint8_t code, uint16_t mid,
                 const uint8_t *token, size_t token_len, const char *path, const char *payload)
{
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_builder_init(&b, out, cap, type, code, mid, token, token_len));
    if (path)
        assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, path));
    if (payload)
        assert_zcoap_ok(zcoap_builder_set_payload(&b, payload, strlen(payload)));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    return (size_t)n;
}

void peer_msg(fx_t *f, uint8_t type, uint8_t code, uint16_t mid, const uint8_t *token,
              size_t token_len, const char *path, const char *payload)
{
    uint8_t d[512];
    size_t len = build_msg(d, sizeof(d), type, code, mid, token, token_len, path, payload);
    peer_bytes(f, d, len);
}

/* ---- what the endpoint sent ---------------------------------------------------------------- */

const vnet_dgram_t *next_sent_at(fx_t *f, uint64_t at, const char *file, int line)
{
    const vnet_node_t *peer = &f->net.node[PEER];
    if (f->inbox_pos >= peer->inbox_len) {
        print_error("expected a datagram from the endpoint at t=T0+%lld, got none (now T0+%lld)\n",
                    (long long)(at - T0), (long long)(now(f) - T0));
        _fail(file, line);
    }
    const vnet_dgram_t *d = &peer->inbox[f->inbox_pos++];
    if (d->at != at) {
        char hex[512];
        hex_format(d->data, d->len, hex, sizeof(hex));
        print_error("datagram %s sent at T0+%lld, expected at T0+%lld\n", hex,
                    (long long)(d->at - T0), (long long)(at - T0));
        _fail(file, line);
    }
    return d;
}

void expect_sent_bytes_at(fx_t *f, uint64_t at, const uint8_t *want, size_t len, const char *file,
                          int line)
{
    const vnet_dgram_t *d = next_sent_at(f, at, file, line);
    assert_zcoap_check_bytes(d->data, d->len, want, len, "datagram sent", file, line);
}

void expect_sent_hex_at(fx_t *f, uint64_t at, const char *hex, const char *file, int line)
{
    uint8_t want[512];
    size_t len = hex_bytes(hex, want, sizeof(want));
    expect_sent_bytes_at(f, at, want, len, file, line);
}

void expect_sent_empty_at(fx_t *f, uint64_t at, uint8_t type, uint16_t mid, const char *file,
                          int line)
{
    uint8_t want[4];
    assert_zcoap_len(zcoap_build_empty(want, sizeof(want), type, mid), 4);
    expect_sent_bytes_at(f, at, want, 4, file, line);
}

void expect_nothing_sent_at(fx_t *f, const char *file, int line)
{
    const vnet_node_t *peer = &f->net.node[PEER];
    if (f->inbox_pos == peer->inbox_len)
        return;
    char hex[512];
    const vnet_dgram_t *d = &peer->inbox[f->inbox_pos];
    hex_format(d->data, d->len, hex, sizeof(hex));
    print_error("unexpected datagram at T0+%lld: %s (%zu more)\n", (long long)(d->at - T0), hex,
                peer->inbox_len - f->inbox_pos - 1);
    _fail(file, line);
}

/* ---- events -------------------------------------------------------------------------------- */

const vnet_event_rec_t *expect_events_at(fx_t *f, const zcoap_event_kind_t *kinds, size_t n,
                                         const char *file, int line)
{
    const vnet_node_t *ep = &f->net.node[EP];
    size_t got = ep->log_len - f->log_pos;
    bool same = got == n;
    for (size_t i = 0; same && i < n; i++)
        same = ep->log[f->log_pos + i].kind == kinds[i];
    if (!same) {
        char log[2048];
        vnet_format_log(&f->net, EP, f->log_pos, log, sizeof(log));
        print_error("expected %zu new event(s) starting with %s; got %zu: %s\n", n,
                    n ? zcoap_event_name(kinds[0]) : "-", got, log);
        _fail(file, line);
    }
    const vnet_event_rec_t *first = got ? &ep->log[f->log_pos] : NULL;
    f->log_pos = ep->log_len;
    return first;
}

/* ---- our requests -------------------------------------------------------------------------- */

void request(fx_t *f, uint8_t type, uint8_t method, const char *payload, uint32_t timeout,
             sent_req_t *out)
{
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_request_begin(&f->ep, type, method, &b));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "test"));
    if (payload)
        assert_zcoap_ok(zcoap_builder_set_payload(&b, payload, strlen(payload)));
    assert_zcoap_ok(zcoap_ep_request_send(&f->ep, &b, timeout, now(f)));
    vnet_pump(&f->net);
    const vnet_dgram_t *d = next_sent(f, now(f));
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, type);
    assert_int_equal(m.code, method);
    assert_int_equal(m.token_len, f->cfg.token_len);
    out->mid = m.mid;
    out->token_len = m.token_len;
    memcpy(out->token, m.token, m.token_len);
    /* Every byte: the same message built independently from the wire's ID and token. */
    out->len = build_msg(out->bytes, sizeof(out->bytes), type, method, m.mid, m.token, m.token_len,
                         "test", payload);
    assert_zcoap_bytes(d->data, d->len, out->bytes, out->len);
    expect_events(f, type == ZCOAP_TYPE_CON ? ZCOAP_EV_OUT_CON_SENT : ZCOAP_EV_OUT_NON_SENT);
}

void con_get(fx_t *f, sent_req_t *out)
{
    request(f, ZCOAP_TYPE_CON, ZCOAP_GET, NULL, 0, out);
}

void peer_piggyback(fx_t *f, const sent_req_t *r)
{
    peer_msg(f, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r->mid, r->token, r->token_len, NULL, "ok");
}

void expect_payload(const zcoap_msg_t *m, const char *want)
{
    assert_zcoap_bytes(m->payload, m->payload_len, (const uint8_t *)want, strlen(want));
}

/* ---- requests from the peer ---------------------------------------------------------------- */

const uint8_t ptok[4] = {0xc0, 0xc1, 0xc2, 0xc3};

void peer_con_get(fx_t *f, uint16_t mid)
{
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, mid, ptok, 4, "test", NULL);
}

void respond(fx_t *f, bool confirmable, const char *payload)
{
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_response_begin(&f->ep, ZCOAP_CONTENT, confirmable, &b));
    if (payload)
        assert_zcoap_ok(zcoap_builder_set_payload(&b, payload, strlen(payload)));
    assert_zcoap_ok(zcoap_ep_response_send(&f->ep, &b, now(f)));
    vnet_pump(&f->net);
}

uint16_t separate_con_response(fx_t *f, uint16_t req_mid, uint8_t *bytes, size_t *len)
{
    peer_con_get(f, req_mid);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_zcoap_ok(zcoap_ep_respond_ack(&f->ep, now(f)));
    vnet_pump(&f->net);
    expect_sent_empty(f, now(f), ZCOAP_TYPE_ACK, req_mid);
    expect_events(f, ZCOAP_EV_IN_ACK_SENT);
    respond(f, true, "sep");
    const vnet_dgram_t *d = next_sent(f, now(f));
    memcpy(bytes, d->data, d->len);
    *len = d->len;
    expect_events(f, ZCOAP_EV_IN_CON_RESPONSE_SENT);
    zcoap_msg_t m;
    parse_ok(&m, bytes, *len);
    assert_int_equal(m.type, ZCOAP_TYPE_CON);
    return m.mid;
}
