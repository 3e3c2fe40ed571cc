/* Endpoint defaults, the derived RFC 7252 §4.8.2 times, and event names. */
#include <string.h>

#include "endpoint_internal.h"

/* ACK_TIMEOUT * (2^n - 1) * ACK_RANDOM_FACTOR, in ms. */
static uint64_t backoff_sum_ms(const zcoap_tx_params_t *p, unsigned n)
{
    return (uint64_t)p->ack_timeout_ms * ((1ull << n) - 1u) * p->ack_random_factor_permil / 1000u;
}

uint64_t zcoap_tx_max_transmit_span_ms(const zcoap_tx_params_t *p)
{
    return backoff_sum_ms(p, p->max_retransmit);
}

uint64_t zcoap_tx_max_transmit_wait_ms(const zcoap_tx_params_t *p)
{
    return backoff_sum_ms(p, p->max_retransmit + 1u);
}

uint64_t zcoap_tx_exchange_lifetime_ms(const zcoap_tx_params_t *p)
{
    /* PROCESSING_DELAY is ACK_TIMEOUT (§4.8.2) */
    return zcoap_tx_max_transmit_span_ms(p) + 2u * (uint64_t)p->max_latency_ms + p->ack_timeout_ms;
}

uint64_t zcoap_tx_non_lifetime_ms(const zcoap_tx_params_t *p)
{
    return zcoap_tx_max_transmit_span_ms(p) + p->max_latency_ms;
}

void zcoap_ep_config_default(zcoap_ep_config_t *cfg, zcoap_ep_storage_t *storage)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->tx.ack_timeout_ms = ZCOAP_ACK_TIMEOUT_MS;
    cfg->tx.ack_random_factor_permil = 1500;
    cfg->tx.max_retransmit = ZCOAP_MAX_RETRANSMIT;
    cfg->tx.max_latency_ms = ZCOAP_MAX_LATENCY_MS;
    cfg->token_len = ZCOAP_DEFAULT_TOKEN_LEN;
    cfg->auto_ack_ms = 500;
    cfg->response_timeout_ms = 0; /* 0: EXCHANGE_LIFETIME of the parameters given to init */
    cfg->busy_max_age_s = 2;
    cfg->msg_cap = ZCOAP_MAX_MSG_SIZE;
    if (storage != NULL) {
        cfg->req_buf = storage->req;
        cfg->resp_store = storage->resp;
        cfg->resp_slots = ZCOAP_EP_DEFAULT_RESP_SLOTS;
        cfg->dedup = storage->dedup;
        cfg->dedup_cap = ZCOAP_EP_DEFAULT_DEDUP;
        cfg->observations = storage->observations;
        cfg->observations_cap = ZCOAP_EP_DEFAULT_OBSERVATIONS;
    }
}

zcoap_event_channel_t zcoap_event_channel(zcoap_event_kind_t kind)
{
    if (kind >= ZCOAP_EV_OUT_CON_SENT)
        return ZCOAP_CH_OUTGOING;
    if (kind >= ZCOAP_EV_IN_REQUEST)
        return ZCOAP_CH_INCOMING;
    return ZCOAP_CH_ENDPOINT;
}

const char *zcoap_event_name(zcoap_event_kind_t kind)
{
    switch (kind) {
    case ZCOAP_EV_NONE:
        return "NONE";
    case ZCOAP_EV_FORMAT_ERROR:
        return "FORMAT_ERROR";
    case ZCOAP_EV_PING_ANSWERED:
        return "PING_ANSWERED";
    case ZCOAP_EV_UNHANDLED:
        return "UNHANDLED";
    case ZCOAP_EV_IN_REQUEST:
        return "IN_REQUEST";
    case ZCOAP_EV_IN_DUPLICATE:
        return "IN_DUPLICATE";
    case ZCOAP_EV_IN_REJECTED:
        return "IN_REJECTED";
    case ZCOAP_EV_IN_ACK_SENT:
        return "IN_ACK_SENT";
    case ZCOAP_EV_IN_CON_RESPONSE_SENT:
        return "IN_CON_RESPONSE_SENT";
    case ZCOAP_EV_IN_SUCCESS:
        return "IN_SUCCESS";
    case ZCOAP_EV_IN_RST_SENT:
        return "IN_RST_SENT";
    case ZCOAP_EV_IN_TIMEOUT:
        return "IN_TIMEOUT";
    case ZCOAP_EV_IN_RESET:
        return "IN_RESET";
    case ZCOAP_EV_IN_BUSY:
        return "IN_BUSY";
    case ZCOAP_EV_NOTIFY_SENT:
        return "NOTIFY_SENT";
    case ZCOAP_EV_NOTIFY_ACKED:
        return "NOTIFY_ACKED";
    case ZCOAP_EV_NOTIFY_RESET:
        return "NOTIFY_RESET";
    case ZCOAP_EV_NOTIFY_TIMEOUT:
        return "NOTIFY_TIMEOUT";
    case ZCOAP_EV_OUT_CON_SENT:
        return "OUT_CON_SENT";
    case ZCOAP_EV_OUT_NON_SENT:
        return "OUT_NON_SENT";
    case ZCOAP_EV_OUT_PING_SENT:
        return "OUT_PING_SENT";
    case ZCOAP_EV_OUT_EMPTY_ACK:
        return "OUT_EMPTY_ACK";
    case ZCOAP_EV_OUT_RESPONSE:
        return "OUT_RESPONSE";
    case ZCOAP_EV_OUT_PONG:
        return "OUT_PONG";
    case ZCOAP_EV_OUT_TIMEOUT:
        return "OUT_TIMEOUT";
    case ZCOAP_EV_OUT_WRONG_TOKEN:
        return "OUT_WRONG_TOKEN";
    case ZCOAP_EV_OUT_RESET:
        return "OUT_RESET";
    case ZCOAP_EV_OUT_DUPLICATE_RESPONSE:
        return "OUT_DUPLICATE_RESPONSE";
    case ZCOAP_EV_OBS_NOTIFICATION:
        return "OBS_NOTIFICATION";
    case ZCOAP_EV_OBS_ENDED:
        return "OBS_ENDED";
    case ZCOAP_EV_OBS_RENEW:
        return "OBS_RENEW";
    }
    return "?";
}
