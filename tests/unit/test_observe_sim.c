/* Property runs of Observe (RFC 7641) over the virtual network: thousands of seeded scenarios in
 * which node 0 observes a resource of node 1 through 0-50% loss, duplication, reordering and
 * delay. Node 1's application notifies the newest state every so often, CON or NON at random
 * (a busy endpoint, NSTART = 1, skips that round: only the newest state matters); node 0's
 * renews its registration when Max-Age passes. Checked after every step:
 *  - the client's application sees strictly fresher states only (§3.4: never an older one, never
 *    the same twice), across the 24-bit wrap;
 *  - every CON notification ends once (ACKED, TIMEOUT, or replaced by a newer one), and the
 *    client, which never cancels, never answers one with RST;
 *  - without loss and reordering, the client ends up with the newest state the server sent and
 *    every CON notification is acknowledged;
 *  - every datagram parses; no deadline is left at or before "now" after processing.
 * ZCOAP_TEST_SEED / ZCOAP_TEST_SCALE as in test_endpoint_sim.c; ZCOAP_SIM_SCENARIO=<seed>
 * replays one scenario. */
#include "zcoap_test.h"

#include <stdio.h>
#include <stdlib.h>

#include "virtual_net.h"
#include "zcoap/endpoint.h"
#include "zcoap/observe.h"

#define CLIENT 0
#define SERVER 1
#define TAG 7u
#define START_MS 5000u
#define MAX_AGE_S 30u

typedef struct scenario {
    uint64_t seed;
    vnet_t net;
    zcoap_ep_t ep[VNET_NODES];
    zcoap_ep_config_t cfg[VNET_NODES];
    zcoap_ep_storage_t store[VNET_NODES];
    test_rng_t ep_rng[VNET_NODES];
    test_rng_t rng;
    bool lossless;
    /* the server's application */
    bool observer; /* it has an observer */
    uint8_t token[8];
    uint8_t token_len;
    uint32_t seq; /* the state last sent */
    int notifications_left;
    uint64_t next_notify;
    size_t con_sent, con_ended, resets, timeouts;
    /* the client's application */
    bool have_state;
    uint32_t state; /* the freshest state delivered */
    size_t delivered;
    bool renew_due;
    size_t lost_registrations; /* timed out: the server may have an observer we do not know */
} scenario_t;

static void scenario_failed(scenario_t *s, const char *what)
{
    char log[4096];
    print_error("scenario 0x%llx at t=%llu: %s (replay: ZCOAP_SIM_SCENARIO=0x%llx)\n",
                (unsigned long long)s->seed, (unsigned long long)vnet_now(&s->net), what,
                (unsigned long long)s->seed);
    for (int i = 0; i < VNET_NODES; i++) {
        vnet_format_log(&s->net, i, 0, log, sizeof(log));
        print_error("  node %d log: %s\n", i, log);
    }
    fail();
}

#define require(s, cond, what)                                                                     \
    do {                                                                                           \
        if (!(cond))                                                                               \
            scenario_failed((s), (what));                                                          \
    } while (0)

static uint32_t payload_state(scenario_t *s, const zcoap_msg_t *m)
{
    char text[16] = {0};
    memcpy(text, m->payload, m->payload_len < 15 ? m->payload_len : 15);
    unsigned long v = 0;
    require(s, sscanf(text, "s=%lu", &v) == 1, "a representation without its state");
    return (uint32_t)v;
}

/* ---- the client ------------------------------------------------------------------------------ */

static void client_register(scenario_t *s)
{
    zcoap_builder_t b;
    int rc = zcoap_ep_observe_begin(&s->ep[CLIENT], ZCOAP_GET, TAG, &b);
    if (rc == ZCOAP_EBUSY)
        return; /* the registration (or renewal) in flight */
    require(s, rc == ZCOAP_OK, "observe_begin");
    require(s, zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "obs") == ZCOAP_OK, "path");
    require(s, zcoap_ep_request_send(&s->ep[CLIENT], &b, 0, vnet_now(&s->net)) == ZCOAP_OK, "send");
    s->renew_due = false;
}

/* Notifications must be strictly fresher; the answer to a renewal may repeat the state held. */
static void client_takes(scenario_t *s, const zcoap_msg_t *m, bool notification)
{
    uint32_t v = payload_state(s, m);
    if (s->have_state && (notification || v != s->state))
        require(s, zcoap_obs_is_fresher(s->state, 0, v, 0),
                "the application got an older or repeated state");
    s->have_state = true;
    s->state = v;
    s->delivered++;
}

static void client_event(scenario_t *s, const zcoap_event_t *ev)
{
    switch (ev->kind) {
    case ZCOAP_EV_OUT_RESPONSE:
        require(s, ev->tag == TAG, "registration response without its tag");
        if (ev->msg.code == ZCOAP_CONTENT) {
            client_takes(s, &ev->msg, false); /* the registration's answer is a state too */
        } else {
            /* 5.03 from a server whose one response slot holds a CON notification: the core
             * ends the observation on an error answer (§3.2); register again. */
            require(s, ev->msg.code == ZCOAP_SERVICE_UNAVAILABLE, "an unexpected answer");
            s->lost_registrations++;
            s->renew_due = true;
        }
        break;
    case ZCOAP_EV_OBS_NOTIFICATION:
        require(s, ev->tag == TAG, "notification without its tag");
        client_takes(s, &ev->msg, true);
        break;
    case ZCOAP_EV_OBS_RENEW:
        s->renew_due = true;
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
        /* The registration got no answer; the server may still have taken it, and its
         * notifications now carry a token we do not know: RST, which ends that observer. */
        s->lost_registrations++;
        s->renew_due = true;
        break;
    case ZCOAP_EV_UNHANDLED:
        require(s, s->lost_registrations > 0, "RST to a notification of a live observation");
        break;
    case ZCOAP_EV_OUT_CON_SENT:
    case ZCOAP_EV_OUT_EMPTY_ACK:
    case ZCOAP_EV_OUT_DUPLICATE_RESPONSE:
        break;
    default:
        scenario_failed(s, zcoap_event_name(ev->kind));
    }
}

/* ---- the server ------------------------------------------------------------------------------ */

static void server_answer(scenario_t *s, const zcoap_msg_t *req)
{
    zcoap_ep_t *ep = &s->ep[SERVER];
    zcoap_builder_t b;
    bool registers = zcoap_obs_request_action(req) == ZCOAP_OBS_REGISTER;
    require(s, registers, "a request other than a registration");
    s->observer = true;
    s->token_len = req->token_len;
    memcpy(s->token, req->token, req->token_len);
    char text[16];
    snprintf(text, sizeof(text), "s=%lu", (unsigned long)s->seq);
    require(s, zcoap_ep_response_begin(ep, ZCOAP_CONTENT, false, &b) == ZCOAP_OK, "begin");
    require(s, zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, s->seq) == ZCOAP_OK, "observe");
    require(s, zcoap_builder_add_uint(&b, ZCOAP_OPT_MAX_AGE, MAX_AGE_S) == ZCOAP_OK, "max-age");
    require(s, zcoap_builder_set_payload(&b, text, strlen(text)) == ZCOAP_OK, "payload");
    require(s, zcoap_ep_response_send(ep, &b, vnet_now(&s->net)) == ZCOAP_OK, "send");
}

static void server_notify(scenario_t *s)
{
    zcoap_ep_t *ep = &s->ep[SERVER];
    zcoap_builder_t b;
    bool con = test_rng_chance(&s->rng, 40);
    int rc = zcoap_ep_notify_begin(ep, s->token, s->token_len, ZCOAP_CONTENT, con, TAG, &b);
    if (rc == ZCOAP_EBUSY)
        return; /* NSTART = 1: this round is skipped, a newer state comes next */
    require(s, rc == ZCOAP_OK, "notify_begin");
    uint32_t next = zcoap_obs_seq_next(s->seq);
    char text[16];
    snprintf(text, sizeof(text), "s=%lu", (unsigned long)next);
    require(s, zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, next) == ZCOAP_OK, "observe");
    require(s, zcoap_builder_add_uint(&b, ZCOAP_OPT_MAX_AGE, MAX_AGE_S) == ZCOAP_OK, "max-age");
    require(s, zcoap_builder_set_payload(&b, text, strlen(text)) == ZCOAP_OK, "payload");
    require(s, zcoap_ep_notify_send(ep, &b, vnet_now(&s->net)) == ZCOAP_OK, "notify_send");
    s->seq = next;
    s->notifications_left--;
}

static void server_event(scenario_t *s, const zcoap_event_t *ev)
{
    switch (ev->kind) {
    case ZCOAP_EV_IN_REQUEST:
        server_answer(s, &ev->msg);
        break;
    case ZCOAP_EV_NOTIFY_SENT:
        require(s, ev->tag == TAG, "notification event without its tag");
        break;
    case ZCOAP_EV_NOTIFY_ACKED:
        s->con_ended++;
        break;
    case ZCOAP_EV_NOTIFY_TIMEOUT:
        s->con_ended++;
        s->timeouts++;
        s->observer = false; /* §4.5: the client is gone, as far as the server can tell */
        break;
    case ZCOAP_EV_NOTIFY_RESET:
        s->resets++;
        s->observer = false; /* §3.6 */
        break;
    case ZCOAP_EV_IN_SUCCESS:
    case ZCOAP_EV_IN_DUPLICATE:
    case ZCOAP_EV_IN_ACK_SENT:
    case ZCOAP_EV_IN_BUSY:
        break;
    default:
        scenario_failed(s, zcoap_event_name(ev->kind));
    }
}

/* ---- vnet hooks ------------------------------------------------------------------------------ */

static void on_event(vnet_t *n, int node, const zcoap_event_t *ev, void *ctx)
{
    (void)n;
    if (node == CLIENT)
        client_event(ctx, ev);
    else
        server_event(ctx, ev);
}

static void arm(scenario_t *s)
{
    vnet_set_timer(&s->net, SERVER, s->notifications_left > 0 ? s->next_notify : ZCOAP_NEVER);
}

static void on_timer(vnet_t *n, int node, void *ctx)
{
    scenario_t *s = ctx;
    if (node != SERVER)
        return;
    if (s->observer && s->notifications_left > 0)
        server_notify(s);
    s->next_notify = vnet_now(n) + test_rng_range(&s->rng, 100, 4000);
    arm(s);
}

static void on_send(vnet_t *n, int node, const uint8_t *data, size_t len, void *ctx)
{
    scenario_t *s = ctx;
    (void)n;
    zcoap_msg_t m;
    require(s, zcoap_msg_parse(&m, data, len) == ZCOAP_OK, "a malformed datagram");
    require(s, !(node == CLIENT && m.type == ZCOAP_TYPE_RST) || s->lost_registrations > 0,
            "the client answered with RST");
}

/* ---- scenarios ------------------------------------------------------------------------------- */

static void random_link(scenario_t *s, vnet_link_t *l)
{
    memset(l, 0, sizeof(*l));
    l->delay_min_ms = test_rng_range(&s->rng, 0, 200);
    if (s->lossless) {
        l->delay_max_ms = l->delay_min_ms;
        l->dup_pct = test_rng_chance(&s->rng, 50) ? test_rng_range(&s->rng, 0, 30) : 0;
        return;
    }
    l->delay_max_ms = test_rng_range(&s->rng, l->delay_min_ms, 300);
    l->loss_pct = test_rng_range(&s->rng, 0, 50);
    l->dup_pct = test_rng_range(&s->rng, 0, 30);
    l->reorder_pct = test_rng_range(&s->rng, 0, 40);
    l->reorder_ms = test_rng_range(&s->rng, 1, 3000);
}

static void setup_endpoint(scenario_t *s, int i)
{
    zcoap_ep_config_default(&s->cfg[i], &s->store[i]);
    test_rng_seed(&s->ep_rng[i], test_rng_next(&s->rng));
    s->cfg[i].rng = vnet_rng;
    s->cfg[i].rng_ctx = &s->ep_rng[i];
    s->cfg[i].tx.ack_timeout_ms = test_rng_range(&s->rng, 500, 2000);
    s->cfg[i].tx.max_retransmit = (uint8_t)test_rng_range(&s->rng, 1, 4);
    s->cfg[i].resp_slots = test_rng_range(&s->rng, 1, ZCOAP_EP_DEFAULT_RESP_SLOTS);
    require(s, zcoap_ep_init(&s->ep[i], &s->cfg[i], START_MS) == ZCOAP_OK, "init");
}

typedef struct totals {
    size_t scenarios, lossless, delivered, con_sent, timeouts, renewals;
} totals_t;

static void run_scenario(scenario_t *s, uint64_t seed, totals_t *t)
{
    memset(s, 0, sizeof(*s));
    s->seed = seed;
    test_rng_seed(&s->rng, seed);
    s->lossless = test_rng_chance(&s->rng, 25);
    /* Start anywhere, near the 24-bit wrap now and then. */
    s->seq = test_rng_chance(&s->rng, 30) ? 0xFFFFFFu - test_rng_below(&s->rng, 20)
                                          : test_rng_below(&s->rng, 1000);
    s->notifications_left = (int)test_rng_range(&s->rng, 1, 40);
    vnet_init(&s->net, test_rng_next(&s->rng), START_MS);
    vnet_app_t app = {on_event, on_timer, on_send, s};
    for (int i = 0; i < VNET_NODES; i++) {
        setup_endpoint(s, i);
        vnet_attach(&s->net, i, &s->ep[i]);
        vnet_link_t l;
        random_link(s, &l);
        vnet_set_link(&s->net, i, &l);
        vnet_set_app(&s->net, i, &app);
    }
    s->next_notify = START_MS + 1000;
    arm(s);
    client_register(s);
    vnet_pump(&s->net);
    size_t renewals = 0;
    uint64_t limit = START_MS + 400000u;
    while (vnet_now(&s->net) < limit &&
           (s->notifications_left > 0 || vnet_next_time(&s->net) < limit)) {
        if (s->renew_due && renewals < 20) {
            client_register(s);
            renewals += !s->renew_due;
            vnet_pump(&s->net);
        }
        if (!vnet_step(&s->net, limit))
            break;
        for (int i = 0; i < VNET_NODES; i++) {
            require(s, s->net.node[i].past_deadline == 0, "a deadline at or before now");
            require(s, s->net.node[i].stuck == 0, "an endpoint never settles");
        }
        if (s->notifications_left <= 0 && !s->renew_due && zcoap_ep_is_idle(&s->ep[SERVER]))
            break;
    }
    require(s, s->resets == 0 || s->lost_registrations > 0,
            "a notification was reset by a client that never cancels");
    if (s->lossless) {
        vnet_run_until(&s->net, vnet_now(&s->net) + 60000);
        require(s, s->have_state && s->state == s->seq,
                "without loss the client ends with another state than the newest");
        require(s, s->timeouts == 0, "a CON notification timed out without loss");
    }
    t->scenarios++;
    t->lossless += s->lossless;
    t->delivered += s->delivered;
    t->timeouts += s->timeouts;
    t->renewals += renewals;
    vnet_free(&s->net);
}

static void random_observations(void **state)
{
    scenario_t *s = *state;
    test_rng_t seeds;
    test_rng_seed(&seeds, test_rng_seed_from_env(0x0b5e7e));
    totals_t t = {0};
    const char *one = getenv("ZCOAP_SIM_SCENARIO");
    if (one != NULL && *one != '\0') {
        run_scenario(s, (uint64_t)strtoull(one, NULL, 0), &t);
        return;
    }
    size_t n = test_scaled_count(2000);
    for (size_t i = 0; i < n; i++)
        run_scenario(s, test_rng_next(&seeds), &t);
    print_message("%zu scenarios (%zu lossless): %zu states delivered, %zu CON notifications "
                  "timed out, %zu renewals\n",
                  t.scenarios, t.lossless, t.delivered, t.timeouts, t.renewals);
    assert_true(t.delivered > 0);
    assert_true(t.timeouts > 0 || n < 100);
    assert_true(t.renewals > 0 || n < 100);
}

static int setup(void **state)
{
    scenario_t *s = calloc(1, sizeof(*s));
    *state = s;
    return s == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    scenario_t *s = *state;
    vnet_free(&s->net);
    free(s);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(random_observations, setup, teardown),
    };
    return cmocka_run_group_tests_name("observe_sim", tests, NULL, NULL);
}
