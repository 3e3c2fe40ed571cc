/* Block-wise transfers of a client (RFC 7959): the core's zcoap_transfer_t driven by the
 * responses the client's endpoint reports, each next request sent from inside that report. */
#include <stdlib.h>
#include <string.h>

#include "uv_io_internal.h"

static void report(zcoap_uv_client_t *c, zcoap_uv_transfer_report_t *r)
{
    zcoap__uv_transfer_t *x = c->xfer;
    if (r->kind == ZCOAP_UV_TRANSFER_DONE || r->kind == ZCOAP_UV_TRANSFER_FAILED)
        x->active = false; /* first: the callback may start the next transfer */
    x->cb(c, x->ctx, r);
}

static void fail(zcoap_uv_client_t *c, int status, const zcoap_msg_t *msg)
{
    zcoap_transfer_abort(&c->xfer->t);
    zcoap_uv_transfer_report_t r = {.kind = ZCOAP_UV_TRANSFER_FAILED, .status = status, .msg = msg};
    report(c, &r);
}

static int send_next(zcoap_uv_client_t *c)
{
    zcoap__uv_transfer_t *x = c->xfer;
    zcoap_builder_t b;
    int rc = zcoap_ep_request_begin(&c->ep, x->t.type, x->t.method, &b);
    if (rc != ZCOAP_OK)
        return rc;
    rc = zcoap_transfer_build(&x->t, &b);
    if (rc == ZCOAP_OK)
        rc = zcoap_ep_request_send(&c->ep, &b, x->response_timeout_ms, uv_now(c->loop));
    if (rc != ZCOAP_OK)
        (void)zcoap_ep_cancel(&c->ep); /* drops the request begun */
    return rc;
}

/* A response to the transfer's request: the next request, then the slice to the application. */
static void on_response(zcoap_uv_client_t *c, const zcoap_msg_t *msg)
{
    zcoap__uv_transfer_t *x = c->xfer;
    size_t uploaded_before = x->t.sent;
    zcoap_transfer_step_t step;
    if (zcoap_transfer_response(&x->t, msg, &step) != ZCOAP_OK) {
        fail(c, ZCOAP_ESTATE, msg);
        return;
    }
    /* The next request goes out before the reports: while they run, it holds the endpoint's
     * one request slot (NSTART = 1), so a request started from a report gets ZCOAP_EBUSY from
     * the endpoint itself; a cancel or close from a report drops it. */
    int next_rc = step.action == ZCOAP_TRANSFER_NEXT ? send_next(c) : ZCOAP_OK;
    zcoap_uv_transfer_report_t r = {.msg = msg, .size2 = step.size2, .uploaded = step.uploaded};
    if (step.restarted) {
        r.kind = ZCOAP_UV_TRANSFER_RESTARTED;
        report(c, &r);
    }
    if (!c->closing && x->active && step.uploaded > uploaded_before &&
        step.action == ZCOAP_TRANSFER_NEXT) {
        r.kind = ZCOAP_UV_TRANSFER_PROGRESS;
        report(c, &r);
    }
    if (!c->closing && x->active && step.len > 0 && ZCOAP_CODE_CLASS(msg->code) == 2) {
        r.kind = ZCOAP_UV_TRANSFER_DATA;
        r.data = step.data;
        r.len = step.len;
        r.offset = step.offset;
        report(c, &r);
        r.data = NULL;
        r.len = 0;
        r.offset = 0;
    }
    if (c->closing || !x->active)
        return; /* closed or cancelled from a report */
    if (step.action == ZCOAP_TRANSFER_DONE) {
        r.kind = ZCOAP_UV_TRANSFER_DONE;
        report(c, &r);
    } else if (step.action == ZCOAP_TRANSFER_FAILED) {
        fail(c, step.error, msg);
    } else if (next_rc != ZCOAP_OK) {
        fail(c, next_rc, NULL);
    }
}

bool zcoap__uv_transfer_track(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    zcoap__uv_transfer_t *x = c->xfer;
    if (x == NULL || !x->active || ev->tag != 0 ||
        zcoap_event_channel(ev->kind) != ZCOAP_CH_OUTGOING)
        return true; /* not the transfer's: the client's event callback has it */
    switch (ev->kind) {
    case ZCOAP_EV_OUT_RESPONSE:
        on_response(c, &ev->msg);
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
        fail(c, ev->err == ZCOAP_EUNREACHABLE ? ZCOAP_EUNREACHABLE : ZCOAP_ETIMEOUT, NULL);
        break;
    case ZCOAP_EV_OUT_RESET:
        fail(c, ZCOAP_ERESET, NULL);
        break;
    default:
        break; /* SENT, EMPTY_ACK, duplicates: the transfer goes on */
    }
    return false;
}

int zcoap_uv_client_transfer_begin(zcoap_uv_client_t *c, uint8_t type, uint8_t method,
                                   const char *uri, zcoap_builder_t *b)
{
    if (c == NULL || uri == NULL || b == NULL)
        return ZCOAP_EINVAL;
    if (c->closing || !c->connected || c->hook.running)
        return ZCOAP_ESTATE;
    if (zcoap_uv_client_transferring(c))
        return ZCOAP_EBUSY;
    int rc = zcoap_ep_request_begin(&c->ep, type, method, b);
    if (rc != ZCOAP_OK)
        return rc;
    rc = zcoap_builder_add_uri(b, uri, strlen(uri), ZCOAP_URI_OPT_DEFAULT, NULL);
    if (rc != ZCOAP_OK)
        (void)zcoap_ep_cancel(&c->ep);
    return rc;
}

int zcoap_uv_client_transfer_send(zcoap_uv_client_t *c, zcoap_builder_t *b,
                                  const zcoap_transfer_params_t *params,
                                  uint32_t response_timeout_ms, zcoap_uv_transfer_cb cb, void *ctx)
{
    if (c == NULL || b == NULL || cb == NULL)
        return ZCOAP_EINVAL;
    if (c->closing || !c->connected || c->hook.running)
        return ZCOAP_ESTATE;
    if (zcoap_uv_client_transferring(c))
        return ZCOAP_EBUSY;
    if (c->xfer == NULL && (c->xfer = calloc(1, sizeof(*c->xfer))) == NULL) {
        (void)zcoap_ep_cancel(&c->ep); /* the request begun, as for any failed send */
        return ZCOAP_ENOSPC;
    }
    zcoap__uv_transfer_t *x = c->xfer;
    zcoap_transfer_params_t download;
    if (params == NULL) {
        memset(&download, 0, sizeof(download));
        download.block1_szx = ZCOAP_TRANSFER_SZX_AUTO;
        download.block2_szx = ZCOAP_TRANSFER_SZX_AUTO;
        params = &download;
    }
    int rc = zcoap_transfer_init(&x->t, x->options, sizeof(x->options));
    if (rc == ZCOAP_OK)
        rc = zcoap_transfer_start(&x->t, b, params);
    if (rc == ZCOAP_OK)
        rc = zcoap_ep_request_send(&c->ep, b, response_timeout_ms, uv_now(c->loop));
    if (rc != ZCOAP_OK) {
        zcoap_transfer_abort(&x->t);
        (void)zcoap_ep_cancel(&c->ep); /* the request begun */
        return rc;
    }
    x->cb = cb;
    x->ctx = ctx;
    x->response_timeout_ms = response_timeout_ms;
    x->active = true;
    zcoap__uv_client_flush(c);
    return 0;
}

int zcoap_uv_client_transfer(zcoap_uv_client_t *c, uint8_t type, uint8_t method, const char *uri,
                             const zcoap_transfer_params_t *params, zcoap_uv_transfer_cb cb,
                             void *ctx)
{
    if (cb == NULL)
        return ZCOAP_EINVAL;
    zcoap_builder_t b;
    int rc = zcoap_uv_client_transfer_begin(c, type, method, uri, &b);
    if (rc != ZCOAP_OK)
        return rc;
    return zcoap_uv_client_transfer_send(c, &b, params, 0, cb, ctx);
}

bool zcoap_uv_client_transferring(const zcoap_uv_client_t *c)
{
    return c != NULL && c->xfer != NULL && c->xfer->active;
}

int zcoap_uv_client_transfer_cancel(zcoap_uv_client_t *c)
{
    if (c == NULL)
        return ZCOAP_EINVAL;
    if (!zcoap_uv_client_transferring(c))
        return ZCOAP_ENOTFOUND;
    zcoap_transfer_abort(&c->xfer->t);
    c->xfer->active = false;
    (void)zcoap_ep_cancel(&c->ep);
    return 0;
}
