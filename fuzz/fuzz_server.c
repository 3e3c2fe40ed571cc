/*
 * Fuzz target: the libuv adapter's server (uv_adapter/server*.c): the demultiplexer by source
 * address, the peer pool, resource dispatch, block-wise answers and uploads, Observe, separate
 * answers, the answers the server gives by itself (5.03 of a full pool, RST without a peer).
 *
 * No datagram touches a socket, so a run costs microseconds and replays exactly (but for the
 * server's random message IDs). The server is started on 127.0.0.1:0 for real; then:
 * - datagrams from five peers (four IPv4 ports, one IPv6) are handed to the socket's receive
 *   callback directly (the uv_udp_t's recv_cb, as libuv would call it after recvmsg);
 * - the datagram hook drops every outgoing datagram after recording it (to the server this is a
 *   lossy network; CON messages are retransmitted by the RFC 7252 §4.2 rules);
 * - time is the loop's clock (uv_now), moved by the script; the peers' due timers are fired by
 *   calling their callbacks, as uv_run would. uv_run runs only to close the server at the end.
 * This relies on three private fields of libuv 1.x (uv_loop_t.time, uv_udp_t.recv_cb,
 * uv_timer_t.timer_cb) and on the server's peer array (zcoap_uv_server_t.peers): a harness may.
 *
 * The script: datagrams (raw, or requests built from a few bytes: CON/NON, method, path of a
 * resource, token, message ID new or repeated, Observe, Block1/Block2, Size1, Uri-Query, an
 * unknown critical option, Echo, payload), the peer's ACK or RST to the server's last CON or NON,
 * time steps and jumps to the next timer, the application's late answers, notifications,
 * resource_gone, obs policy changes. The server's configuration (pool size, msg_cap, response
 * slots, observers, block size, max_body) comes from the first bytes.
 *
 * Properties, checked on every datagram the server sends and at the end:
 * - it goes to an address that sent the server something; it parses; it fits msg_cap;
 * - the server sends no request and no ping; an ACK or RST names a message ID the peer used (an
 *   ACK one of its CON messages); a piggybacked response carries the token of a request of that
 *   peer with that ID; a separate response or notification carries a token the peer used;
 * - the Observe values sent to one (peer, token) never go back in 24-bit serial order (§4.4);
 * - every CON message a peer sent (version 1, at least 4 bytes, not over the receive size) gets
 *   an ACK or RST with its message ID by the end (RFC 7252 §4.2), once the time the server may
 *   take (auto_ack_ms) has passed;
 * - the POST handler never runs twice for the same (peer, message ID) within the peer's
 *   de-duplication window (RFC 7252 §4.5), and Block1 blocks reach the upload handler in order
 *   (uv.h: the first at offset 0, each next where the last ended), all with the first block's
 *   code (RFC 9175 §3.3: the blocks of one body are "matchable");
 * - with the amplification limit (when the adapter has it, ZCOAP_UV_ECHO_SIZE): a piggybacked
 *   answer to a GET or FETCH of a peer that never sent an Echo option is at most
 *   amplification_factor times that request's datagram (RFC 7252 §11.3, RFC 9175 §2.4); peers
 *   may return the last Echo value they were sent (or a wrong one);
 * - the pool and the observer table stay within their capacity;
 * - no crash, no sanitizer error, no leak (libFuzzer counts mallocs and frees per input).
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz_target.h"
#include "zcoap/uv.h"

#define N_PEERS 5u
#define MAX_LOG 512u /* messages per peer: more than a 1500-byte input can send */
#define MAX_TOKENS 256u
#define BIG_LEN 2600u
#define DGRAM_MAX 1600u
#define HANDLER(fn) ((void *)(uintptr_t)(fn))

typedef struct script {
    const uint8_t *p;
    size_t left;
} script_t;

static uint8_t take(script_t *s)
{
    if (s->left == 0)
        return 0;
    s->left--;
    return *s->p++;
}

static uint16_t take16(script_t *s)
{
    uint16_t hi = take(s);
    return (uint16_t)((hi << 8) | take(s));
}

/* A message a peer sent: what the checks need. */
typedef struct sent_msg {
    uint16_t mid;
    bool con;
    bool request;
    bool answered;       /* an ACK or RST with this ID came back */
    bool non;            /* a NON message */
    bool reuses_non_mid; /* a CON with the ID of an earlier NON of the peer: see the end */
    bool known_gap;      /* FUZZ_SKIP_KNOWN builds: a gap already reported, not checked */
    bool safe;           /* GET or FETCH without Block1: its answer may be limited */
    bool forged_copy;    /* a CON with the ID of an earlier CON of the peer, other bytes */
    size_t len;          /* the datagram's length */
    uint64_t hash;       /* of its bytes (FNV-1a), to tell a retransmission from a forgery */
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    uint8_t token_len;
    uint64_t at;
} sent_msg_t;

typedef struct token_rec {
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    uint8_t len;
    bool has_seq; /* an Observe value went to this token */
    uint32_t seq;
} token_rec_t;

typedef struct fuzz_peer {
    struct sockaddr_storage addr;
    sent_msg_t log[MAX_LOG];
    size_t n_log;
    token_rec_t tokens[MAX_TOKENS];
    size_t n_tokens;
    uint16_t next_mid;
    /* the server's last CON and NON message to this peer, for the peer's ACK or RST */
    bool have_con, have_non;
    uint16_t con_mid, non_mid;
    /* messages with Observe sent to this peer (type << 16 | ID): a copy sent again (a stored
     * answer to a duplicate, a retransmission) repeats its number */
    uint32_t obs_sent[MAX_LOG];
    size_t n_obs_sent;
    /* the last Echo value the server sent (RFC 9175), for the peer to return */
    uint8_t echo[40];
    size_t echo_len;
    bool sent_echo; /* the peer ever sent an Echo option: it may be verified */
    /* a separate answer the application owes (the /slow resource) */
    zcoap_uv_peer_t *pending;
    /* Block1 upload to /big: where the next block must start, and the body's request code */
    size_t upload_next;
    uint8_t upload_code;
    /* POST executions: (message ID, time, datagrams from this peer so far) */
    uint16_t post_mid[MAX_LOG];
    uint64_t post_at[MAX_LOG];
    size_t post_seq[MAX_LOG];
    size_t n_post;
} fuzz_peer_t;

typedef struct harness {
    uv_loop_t loop;
    bool loop_ready;
    zcoap_uv_server_t server;
    zcoap_uv_server_config_t cfg;
    bool started;
    fuzz_peer_t peers[N_PEERS];
    uint32_t obs_state; /* the observable resource's value */
    uint8_t obs_answer; /* how its handler answers notifications: 2.05 (small/big) or 5.00 */
    uint8_t dgram[DGRAM_MAX];
} harness_t;

static harness_t H;
static uint8_t big_body[BIG_LEN];
static bool trace; /* FUZZ_TRACE=1 in the environment: print every datagram (reproductions) */

static void trace_dgram(const char *dir, size_t peer, const uint8_t *d, size_t len)
{
    if (!trace)
        return;
    zcoap_msg_t m;
    char text[512];
    int rc = zcoap_msg_parse(&m, d, len);
    if (rc == ZCOAP_OK && len > 300)
        snprintf(text, sizeof(text), "%s %u, %zu bytes", m.type == ZCOAP_TYPE_CON ? "CON" : "other",
                 m.mid, len);
    else if (rc != ZCOAP_OK || zcoap_msg_print(&m, text, sizeof(text)) < 0)
        snprintf(text, sizeof(text), "(%zu bytes, %s)", len, zcoap_strerror(rc));
    fprintf(stderr, "t=%llu %s peer %zu: %s\n", (unsigned long long)uv_now(&H.loop), dir, peer,
            text);
}

static fuzz_peer_t *peer_of_addr(const struct sockaddr *a)
{
    for (size_t i = 0; i < N_PEERS; i++) {
        const struct sockaddr_storage *p = &H.peers[i].addr;
        if (a->sa_family != p->ss_family)
            continue;
        if (a->sa_family == AF_INET) {
            const struct sockaddr_in *x = (const struct sockaddr_in *)(const void *)a;
            const struct sockaddr_in *y = (const struct sockaddr_in *)(const void *)p;
            if (x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr)
                return &H.peers[i];
        } else {
            const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)(const void *)a;
            const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)(const void *)p;
            if (x->sin6_port == y->sin6_port &&
                memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0)
                return &H.peers[i];
        }
    }
    return NULL;
}

static fuzz_peer_t *peer_of(const zcoap_uv_peer_t *peer)
{
    struct sockaddr_storage a;
    FUZZ_CHECK(zcoap_uv_peer_address(peer, &a) == ZCOAP_OK);
    fuzz_peer_t *fp = peer_of_addr((const struct sockaddr *)&a);
    FUZZ_CHECK(fp != NULL); /* the server only has peers that sent it something */
    return fp;
}

static token_rec_t *find_token(fuzz_peer_t *fp, const uint8_t *token, size_t len)
{
    for (size_t i = 0; i < fp->n_tokens; i++) {
        token_rec_t *t = &fp->tokens[i];
        if (t->len == len && memcmp(t->token, token, len) == 0)
            return t;
    }
    return NULL;
}

/* RFC 7641 §3.4 serial order on 24 bits, without the 128-second escape: is v2 behind v1? */
static bool seq_behind(uint32_t v1, uint32_t v2)
{
    const uint32_t half = 1u << 23;
    v1 &= 0xFFFFFFu;
    v2 &= 0xFFFFFFu;
    return v1 != v2 && !((v1 < v2 && v2 - v1 < half) || (v1 > v2 && v1 - v2 > half));
}

/* ---- what the server sends ------------------------------------------------------------------ */

static void check_out(const struct sockaddr *to, const uint8_t *data, size_t len)
{
    fuzz_peer_t *fp = peer_of_addr(to);
    zcoap_msg_t m;
    FUZZ_CHECK(fp != NULL);
    trace_dgram("out to", (size_t)(fp - H.peers), data, len);
    FUZZ_CHECK(len <= H.cfg.msg_cap);
    FUZZ_CHECK(zcoap_msg_parse(&m, data, len) == ZCOAP_OK);
    bool request = (m.code >> 5) == 0u && m.code != ZCOAP_CODE_EMPTY;
    FUZZ_CHECK(!request); /* a server's peers send it no requests */
    if (m.type == ZCOAP_TYPE_ACK || m.type == ZCOAP_TYPE_RST) {
        bool named = false, token_ok = m.code == ZCOAP_CODE_EMPTY;
        for (size_t i = 0; i < fp->n_log; i++) {
            sent_msg_t *e = &fp->log[i];
            if (e->mid != m.mid || (m.type == ZCOAP_TYPE_ACK && !e->con))
                continue;
            named = true;
            e->answered = true;
            if (e->request && e->token_len == m.token_len &&
                memcmp(e->token, m.token, m.token_len) == 0)
                token_ok = true;
        }
        FUZZ_CHECK(named || fp->n_log == MAX_LOG); /* (a longer input: not logged) */
        FUZZ_CHECK(token_ok ||
                   fp->n_log ==
                       MAX_LOG); /* a piggybacked response answers a request with this ID */
    } else {
        FUZZ_CHECK(m.code != ZCOAP_CODE_EMPTY); /* no ping from the server */
        if (m.type == ZCOAP_TYPE_CON) {
            fp->have_con = true;
            fp->con_mid = m.mid;
        } else {
            fp->have_non = true;
            fp->non_mid = m.mid;
        }
    }
    zcoap_opt_t echo;
    if (zcoap_msg_find_opt(&m, ZCOAP_OPT_ECHO, &echo) && echo.len <= sizeof(fp->echo)) {
        memcpy(fp->echo, echo.val, echo.len);
        fp->echo_len = echo.len;
    }
#ifdef ZCOAP_UV_ECHO_SIZE
    /* RFC 7252 §11.3, RFC 9175 §2.4: a piggybacked answer to a safe request of a peer that
     * never returned an Echo value is at most amplification_factor times the request. */
    if (H.cfg.amplification_limit && m.type == ZCOAP_TYPE_ACK && m.code != ZCOAP_CODE_EMPTY &&
        !fp->sent_echo) {
        /* The request answered: the peer's last CON with that ID (an older one with the same ID
         * is a duplicate of it, or from before the exchange lifetime). */
        size_t i = fp->n_log;
        while (i > 0 && !(fp->log[i - 1].mid == m.mid && fp->log[i - 1].con))
            i--;
        const sent_msg_t *e = i > 0 ? &fp->log[i - 1] : NULL;
        bool known = false;
#ifdef FUZZ_SKIP_KNOWN
        known = m.code == ZCOAP_BAD_OPTION; /* the endpoint's 4.02 with its diagnostic */
        for (size_t j = 0; j + 1u < i && !known; j++)
            known = fp->log[j].mid == m.mid; /* a duplicate gets the stored answer */
#endif
        if (e != NULL && e->safe && e->token_len == m.token_len &&
            memcmp(e->token, m.token, m.token_len) == 0 && !known)
            FUZZ_CHECK(len <= (size_t)H.cfg.amplification_factor * e->len);
    }
#endif
    if (m.code != ZCOAP_CODE_EMPTY) {
        token_rec_t *t = find_token(fp, m.token, m.token_len);
        /* a response carries a token the peer used (unless it used too many to log) */
        FUZZ_CHECK(t != NULL || fp->n_tokens == MAX_TOKENS);
        if (t == NULL)
            return;
        uint32_t seq;
        if (zcoap_msg_get_uint(&m, ZCOAP_OPT_OBSERVE, &seq) == ZCOAP_OK) {
            uint32_t key = (uint32_t)m.type << 16 | m.mid;
            bool copy = false;
            for (size_t i = 0; i < fp->n_obs_sent && i < MAX_LOG && !copy; i++)
                copy = fp->obs_sent[i] == key;
            FUZZ_CHECK(seq <= 0xFFFFFFu);
            bool counts = !copy;
#ifdef FUZZ_SKIP_KNOWN
            /* a removed observer's CON notification in flight (or one deferred) goes out after
             * a new registration's answer, ACK or NON */
            counts = counts && m.type != ZCOAP_TYPE_ACK && m.type != ZCOAP_TYPE_CON;
#endif
            if (counts) {
                if (t->has_seq)
                    FUZZ_CHECK(!seq_behind(t->seq, seq)); /* §4.4 */
                t->has_seq = true;
                t->seq = seq;
                fp->obs_sent[fp->n_obs_sent++ % MAX_LOG] = key;
            }
        }
    }
}

static bool on_datagram(void *ctx, zcoap_uv_datagram_dir_t dir, const struct sockaddr *peer,
                        const uint8_t *data, size_t len)
{
    (void)ctx;
    if (dir == ZCOAP_UV_DATAGRAM_IN)
        return true;
    check_out(peer, data, len);
    return false; /* the "network" takes it: nothing reaches a socket */
}

/* ---- datagrams in --------------------------------------------------------------------------- */

/* Log what the peer sends, for the checks on the answers. */
static void log_in(fuzz_peer_t *fp, const uint8_t *d, size_t len)
{
    uint8_t type = len > 0 ? (uint8_t)((d[0] >> 4) & 3u) : 0u;
    bool v1 = len >= 4 && (d[0] >> 6) == 1u;
    if (!v1 || fp->n_log >= MAX_LOG)
        return;
    sent_msg_t *e = &fp->log[fp->n_log++];
    memset(e, 0, sizeof(*e));
    e->mid = (uint16_t)((d[2] << 8) | d[3]);
    e->con = type == ZCOAP_TYPE_CON && len <= ZCOAP_UV_CLIENT_RX_SIZE;
    e->len = len;
    e->hash = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++)
        e->hash = (e->hash ^ d[i]) * 0x100000001b3u;
    for (size_t i = 0; e->con && i + 1u < fp->n_log; i++) {
        if (fp->log[i].con && fp->log[i].mid == e->mid && fp->log[i].hash != e->hash)
            e->forged_copy = true;
    }
    {
        zcoap_msg_t m;
        zcoap_opt_t o;
        if (zcoap_msg_parse(&m, d, len) == ZCOAP_OK) {
            e->safe = (m.code == ZCOAP_GET || m.code == ZCOAP_FETCH) &&
                      !zcoap_msg_find_opt(&m, ZCOAP_OPT_BLOCK1, &o);
            if (zcoap_msg_find_opt(&m, ZCOAP_OPT_ECHO, &o))
                fp->sent_echo = true;
        } else if (len > 8) {
            fp->sent_echo = true; /* cannot tell: do not check its answers */
        }
    }
    e->non = type == ZCOAP_TYPE_NON;
#ifdef FUZZ_SKIP_KNOWN
    {
        /* answer_busy() drops a malformed request when the pool is full (no RST) */
        zcoap_msg_t m;
        bool has_peer = false;
        for (size_t i = 0; i < H.server.next_unused; i++) {
            struct sockaddr_storage a;
            if (H.server.peers[i].in_use &&
                zcoap_uv_peer_address(&H.server.peers[i], &a) == ZCOAP_OK &&
                peer_of_addr((const struct sockaddr *)&a) == fp)
                has_peer = true;
        }
        e->known_gap = !has_peer && zcoap_msg_parse(&m, d, len) != ZCOAP_OK &&
                       zcoap_uv_server_stats(&H.server)->peers_in_use == H.cfg.max_peers;
        /* a retransmitted CON whose stored piggybacked answer lost its slot gets nothing */
        for (size_t i = 0; e->con && i + 1u < fp->n_log; i++) {
            if (fp->log[i].con && fp->log[i].mid == e->mid)
                e->known_gap = true;
        }
    }
#endif
    for (size_t i = 0; e->con && i + 1u < fp->n_log; i++) {
        if (fp->log[i].non && fp->log[i].mid == e->mid)
            e->reuses_non_mid = true;
    }
    e->at = uv_now(&H.loop);
    /* From the header alone: an answer may come to a request whose options are malformed or
     * that is too large (4.13). */
    size_t tkl = d[0] & 0x0Fu;
    if (tkl > ZCOAP_MAX_TOKEN_LEN || len < 4u + tkl)
        return;
    e->request = (d[1] >> 5) == 0u && d[1] != ZCOAP_CODE_EMPTY;
    e->token_len = (uint8_t)tkl;
    memcpy(e->token, d + 4, tkl);
    if (find_token(fp, e->token, tkl) == NULL && fp->n_tokens < MAX_TOKENS) {
        token_rec_t *t = &fp->tokens[fp->n_tokens++];
        memset(t, 0, sizeof(*t));
        memcpy(t->token, e->token, tkl);
        t->len = (uint8_t)tkl;
    }
}

static void deliver(fuzz_peer_t *fp, const uint8_t *d, size_t len)
{
    trace_dgram("in from", (size_t)(fp - H.peers), d, len);
    log_in(fp, d, len);
    uv_buf_t buf = uv_buf_init((char *)(uintptr_t)d, (unsigned)len);
    /* What libuv does after recvmsg: the server's receive callback. */
    H.server.udp.recv_cb(&H.server.udp, (ssize_t)len, &buf, (const struct sockaddr *)&fp->addr, 0);
}

static const char *const paths[] = {"hello", "big", "obs", "slow", "post", "err", "nothing"};

/* A request built from a few bytes, so that dispatch, blocks and Observe are reached. */
static void request(fuzz_peer_t *fp, script_t *s)
{
    static const uint8_t methods[] = {ZCOAP_GET,   ZCOAP_POST, ZCOAP_PUT, ZCOAP_DELETE,
                                      ZCOAP_FETCH, ZCOAP_GET,  ZCOAP_GET, ZCOAP_PATCH};
    uint8_t a = take(s), b = take(s), c = take(s);
    const uint8_t c_bytes[8] = {c, c, c, c, c, c, c, c};
    uint8_t type = (a & 1u) ? ZCOAP_TYPE_NON : ZCOAP_TYPE_CON;
    uint8_t method = methods[(a >> 1) & 7u];
    unsigned path = (a >> 4) % 8u; /* 7: /.well-known/core */
    if ((b & 1u) == 0)
        fp->next_mid++; /* else a copy: the same message ID again */
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    size_t token_len = (b >> 1) & 3u; /* 0-3 bytes, from a small alphabet so that they repeat */
    for (size_t i = 0; i < token_len; i++)
        token[i] = (uint8_t)((b >> 3) & 3u);
    if ((b & 0x20u) != 0) {
        token_len = 8;
        for (size_t i = 0; i < token_len; i++)
            token[i] = (uint8_t)(c + i);
    }
    zcoap_builder_t bld;
    if (zcoap_builder_init(&bld, H.dgram, sizeof(H.dgram), type, method, fp->next_mid, token,
                           token_len) != ZCOAP_OK)
        return;
    if ((c & 3u) == 1u)
        (void)zcoap_builder_add_uint(&bld, ZCOAP_OPT_OBSERVE, 0);
    else if ((c & 3u) == 2u)
        (void)zcoap_builder_add_uint(&bld, ZCOAP_OPT_OBSERVE, 1);
    if (path == 7u) {
        (void)zcoap_builder_add_str(&bld, ZCOAP_OPT_URI_PATH, ".well-known");
        (void)zcoap_builder_add_str(&bld, ZCOAP_OPT_URI_PATH, "core");
        if ((c & 4u) != 0)
            (void)zcoap_builder_add_str(&bld, ZCOAP_OPT_URI_QUERY, "obs");
    } else {
        (void)zcoap_builder_add_str(&bld, ZCOAP_OPT_URI_PATH, paths[path]);
    }
    if ((b & 0x40u) != 0) { /* Block2: num, szx */
        uint8_t x = take(s);
        (void)zcoap_builder_add_uint(&bld, ZCOAP_OPT_BLOCK2, (uint32_t)((x >> 3) << 4) | (x & 7u));
    }
    size_t payload_len = 0;
    if ((b & 0x80u) != 0) { /* Block1: num, more, szx; the payload one block (or less) */
        uint8_t x = take(s);
        uint32_t szx = x & 7u;
        uint32_t num = x >> 4;
        (void)zcoap_builder_add_uint(&bld, ZCOAP_OPT_BLOCK1, num << 4 | (x & 8u) | szx);
        payload_len = szx < 7u ? (16u << szx) : 16u;
        if ((x & 8u) == 0)
            payload_len = take(s) % (payload_len + 1u);
    } else if ((c & 8u) != 0) {
        payload_len = take(s);
    }
    if ((c & 0x10u) != 0)
        (void)zcoap_builder_add_uint(&bld, ZCOAP_OPT_SIZE1, take16(s));
    if ((c & 0x20u) != 0)
        (void)zcoap_builder_add_uint(&bld, ZCOAP_OPT_SIZE2, 0);
    if ((c & 0x40u) != 0)
        (void)zcoap_builder_add_opt(&bld, 65001, "x", 1); /* unknown, critical (odd) */
    if ((c & 0x80u) != 0) /* RFC 9175 §2.3: the Echo value the server sent last, or a wrong one */
        (void)zcoap_builder_add_opt(&bld, ZCOAP_OPT_ECHO, fp->echo_len > 0 ? fp->echo : c_bytes,
                                    fp->echo_len > 0 ? fp->echo_len : sizeof(c_bytes));
    if (payload_len > 0) {
        size_t avail = 0;
        uint8_t *p = zcoap_builder_payload_ptr(&bld, &avail);
        if (p != NULL && avail >= payload_len) {
            memset(p, 'b', payload_len);
            (void)zcoap_builder_commit_payload(&bld, payload_len);
        }
    }
    ptrdiff_t n = zcoap_builder_finish(&bld);
    if (n > 0)
        deliver(fp, H.dgram, (size_t)n);
}

/* The peer answers the server's last CON (ACK or RST) or NON (RST) message. */
static void peer_answers(fuzz_peer_t *fp, script_t *s)
{
    uint8_t how = take(s);
    uint8_t out[4];
    bool to_non = (how & 2u) != 0;
    if (to_non ? !fp->have_non : !fp->have_con)
        return;
    uint8_t type = (to_non || (how & 1u)) ? ZCOAP_TYPE_RST : ZCOAP_TYPE_ACK;
    if (zcoap_build_empty(out, sizeof(out), type, to_non ? fp->non_mid : fp->con_mid) == 4)
        deliver(fp, out, 4);
}

/* ---- time ------------------------------------------------------------------------------------ */

/* Fire every peer timer that is due, as uv_run would (stop, then call back). */
static void run_due_timers(void)
{
    for (int round = 0; round < 8; round++) {
        bool any = false;
        for (size_t i = 0; i < H.server.next_unused; i++) { /* slots used so far */
            zcoap_uv_peer_t *p = &H.server.peers[i];
            if (!p->in_use || !uv_is_active((uv_handle_t *)&p->timer) ||
                uv_timer_get_due_in(&p->timer) > 0)
                continue;
            uv_timer_cb cb = p->timer.timer_cb;
            uv_timer_stop(&p->timer);
            cb(&p->timer);
            any = true;
        }
        if (!any)
            return;
    }
}

static void advance(uint64_t ms)
{
    H.loop.time += ms;
    run_due_timers();
}

static void jump_to_next_timer(void)
{
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < H.server.next_unused; i++) {
        zcoap_uv_peer_t *p = &H.server.peers[i];
        if (p->in_use && uv_is_active((uv_handle_t *)&p->timer)) {
            uint64_t due = uv_timer_get_due_in(&p->timer);
            if (due < next)
                next = due;
        }
    }
    if (next != UINT64_MAX)
        advance(next);
}

/* ---- resources ------------------------------------------------------------------------------- */

static void on_hello(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                     const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    (void)req;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, "Hello World!", 12);
}

/* GET: a representation of several blocks (Block2); PUT/POST: an upload (Block1). */
static void on_big(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                   const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    fuzz_peer_t *fp = req != NULL ? peer_of(peer) : NULL;
    zcoap_uv_block1_t blk;
    if (req != NULL && zcoap_uv_peer_block1(peer, &blk) == ZCOAP_OK) {
        /* uv.h: blocks come in order, each once, the first at offset 0 (a new first block
         * starts another body); RFC 9175 §3.3: the blocks of one body are "matchable", with the
         * same code among others. */
        FUZZ_CHECK(blk.offset == 0 || blk.offset == fp->upload_next);
        FUZZ_CHECK(blk.offset + req->payload_len <= H.cfg.max_body);
#ifndef FUZZ_SKIP_KNOWN
        FUZZ_CHECK(blk.offset == 0 || req->code == fp->upload_code);
#endif
        fp->upload_next = blk.offset + req->payload_len;
        fp->upload_code = req->code;
        if (req->code != ZCOAP_GET && req->code != ZCOAP_FETCH) {
            if (blk.last)
                (void)zcoap_uv_peer_respond(peer, ZCOAP_CHANGED, -1, NULL, 0);
            return; /* else: 2.31 Continue, by the adapter */
        }
    }
    if (req == NULL || req->code == ZCOAP_GET || req->code == ZCOAP_FETCH) {
        static const uint8_t etag[2] = {0xE7, 0x01};
        const zcoap_uv_respond_opts_t opts = {.content_format = ZCOAP_CF_OCTET_STREAM,
                                              .max_age_s = -1,
                                              .etag = etag,
                                              .etag_len = sizeof(etag)};
        (void)zcoap_uv_peer_respond_opts(peer, ZCOAP_CONTENT, &opts, big_body, BIG_LEN);
        return;
    }
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CHANGED, -1, NULL, 0); /* the whole body at once */
}

/* Observable; notifications answer with the fuzzer's choice of a small state, a large one
 * (block 0 of it), or an error that ends the observation (§3.2). */
static void on_obs(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                   const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    uint8_t how = req == NULL ? H.obs_answer : 0u;
    if (how % 4u == 3u) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_INTERNAL_SERVER_ERROR, -1, NULL, 0);
    } else if (how % 4u == 2u) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_OCTET_STREAM, big_body, BIG_LEN);
    } else if (how % 4u == 1u) {
        /* does not answer: that observer gets nothing this time (uv.h) */
    } else {
        char text[16];
        size_t n = 0;
        uint32_t v = H.obs_state;
        do {
            text[n++] = (char)('0' + v % 10u);
            v /= 10u;
        } while (v > 0 && n < sizeof(text));
        (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, text, n);
    }
}

/* Answers later (separate), after an explicit ACK or the automatic one. */
static void on_slow(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                    const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    fuzz_peer_t *fp = peer_of(peer);
    if (fp->pending != NULL) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_SERVICE_UNAVAILABLE, -1, NULL, 0);
        return;
    }
    fp->pending = peer;
    peer->data = fp; /* an answer is owed: the server keeps the peer */
    if (req->payload_len > 0)
        (void)zcoap_uv_peer_ack(peer); /* RFC 7252 §5.2.2: ACK now, answer later */
}

/* Not idempotent: counts executions. */
static void on_post(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                    const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    fuzz_peer_t *fp = peer_of(peer);
    uint64_t now = uv_now(&H.loop);
    size_t seq = fp->n_log;
    /* RFC 7252 §4.5: a duplicate within the window is not processed again. The window holds
     * dedup_cap IDs for at least NON_LIFETIME; count only copies well inside both limits. */
    zcoap_tx_params_t tx = H.cfg.tx;
    uint64_t window = zcoap_tx_non_lifetime_ms(&tx);
    for (size_t i = 0; i < fp->n_post; i++) {
        if (fp->post_mid[i] == req->mid && now - fp->post_at[i] < window)
            FUZZ_CHECK(seq - fp->post_seq[i] > H.cfg.dedup_cap);
    }
    if (fp->n_post < MAX_LOG) {
        fp->post_mid[fp->n_post] = req->mid;
        fp->post_at[fp->n_post] = now;
        fp->post_seq[fp->n_post] = seq;
        fp->n_post++;
    }
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CHANGED, -1, NULL, 0);
}

static void on_err(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                   const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    (void)req;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_BAD_REQUEST, ZCOAP_CF_TEXT_PLAIN, "no", 2);
}

#define GET_BIT ZCOAP_METHOD_BIT(ZCOAP_GET)
static const zcoap_resource_t resources[] = {
    {"hello", GET_BIT, "ct=0", false, HANDLER(on_hello)},
    {"big", GET_BIT | ZCOAP_METHOD_BIT(ZCOAP_PUT) | ZCOAP_METHOD_BIT(ZCOAP_POST), "ct=42", false,
     HANDLER(on_big)},
    {"obs", GET_BIT | ZCOAP_METHOD_BIT(ZCOAP_FETCH), "ct=0;obs", false, HANDLER(on_obs)},
    {"slow", GET_BIT | ZCOAP_METHOD_BIT(ZCOAP_POST), NULL, false, HANDLER(on_slow)},
    {"post", ZCOAP_METHOD_BIT(ZCOAP_POST), NULL, true, HANDLER(on_post)},
    {"err", ZCOAP_METHODS_ALL, NULL, false, HANDLER(on_err)},
};
#define OBS_RESOURCE (&resources[2])

/* ---- the application ------------------------------------------------------------------------- */

static void application(script_t *s)
{
    uint8_t how = take(s);
    fuzz_peer_t *fp = &H.peers[(how >> 3) % N_PEERS];
    switch (how & 7u) {
    case 0:
    case 1: /* the late answer of /slow */
        if (fp->pending != NULL) {
            zcoap_uv_peer_t *p = fp->pending;
            fp->pending = NULL;
            p->data = NULL;
            (void)zcoap_uv_peer_respond(p, (how & 1u) ? ZCOAP_CONTENT : ZCOAP_NOT_FOUND,
                                        ZCOAP_CF_TEXT_PLAIN, "late", 4);
        }
        break;
    case 2:
    case 3:
    case 4: { /* a new state of /obs */
        H.obs_state++;
        H.obs_answer = take(s);
        int n = zcoap_uv_server_notify(&H.server, OBS_RESOURCE);
        FUZZ_CHECK(n >= 0);
        FUZZ_CHECK((size_t)n <= H.cfg.max_observers);
        break;
    }
    case 5: { /* /obs is gone (§3.2), and back at once */
        int n = zcoap_uv_server_resource_gone(&H.server, OBS_RESOURCE);
        FUZZ_CHECK(n >= 0 && (size_t)n <= H.cfg.max_observers);
        break;
    }
    case 6: { /* another CON policy */
        const zcoap_obs_policy_t policy = {.con_every = (uint16_t)(how >> 6),
                                           .con_max_interval_s = take(s)};
        FUZZ_CHECK(zcoap_uv_server_set_obs_policy(&H.server, OBS_RESOURCE, &policy) == ZCOAP_OK);
        break;
    }
    default: { /* /obs answers NON notifications by the server's default policy again */
        FUZZ_CHECK(zcoap_uv_server_set_obs_policy(&H.server, OBS_RESOURCE, NULL) == ZCOAP_OK);
        break;
    }
    }
}

/* ---- the run --------------------------------------------------------------------------------- */

static void check_bounds(void)
{
    const zcoap_uv_server_stats_t *st = zcoap_uv_server_stats(&H.server);
    FUZZ_CHECK(st->peers_in_use <= H.cfg.max_peers);
    FUZZ_CHECK(st->observers_in_use <= H.cfg.max_observers);
}

static void setup_peers(void)
{
    for (size_t i = 0; i < N_PEERS; i++) {
        fuzz_peer_t *fp = &H.peers[i];
        memset(fp, 0, sizeof(*fp));
        fp->next_mid = (uint16_t)(0x1000u * (i + 1u));
        if (i + 1u < N_PEERS) {
            struct sockaddr_in *a = (struct sockaddr_in *)(void *)&fp->addr;
            a->sin_family = AF_INET;
            a->sin_port = htons((uint16_t)(40001u + i));
            a->sin_addr.s_addr = htonl(0x7F000001u);
        } else {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)(void *)&fp->addr;
            a->sin6_family = AF_INET6;
            a->sin6_port = htons(40009);
            a->sin6_addr.s6_addr[15] = 1; /* ::1 */
        }
    }
}

static void configure(script_t *s)
{
    static const size_t caps[] = {ZCOAP_MAX_MSG_SIZE, 128, 300, 600};
    uint8_t a = take(s), b = take(s);
    zcoap_uv_server_config_default(&H.cfg);
    H.cfg.resources = resources;
    H.cfg.n_resources = sizeof(resources) / sizeof(resources[0]);
    H.cfg.max_peers = 1u + a % 4u; /* four IPv4 peers and one IPv6: the pool can be full */
    H.cfg.msg_cap = caps[(a >> 2) & 3u];
    H.cfg.resp_slots = 1u + ((a >> 4) & 1u);
#ifdef FUZZ_SKIP_KNOWN
    H.cfg.resp_slots = 2; /* with one, a late answer may write past the endpoint's store */
#endif
    H.cfg.max_observers = (a >> 5) % 4u;
    H.cfg.block_szx = (uint8_t)(b % 7u);
    H.cfg.max_body = (b & 0x08u) ? 100u : 4096u;
    H.cfg.dedup_cap = 1u + ((b >> 4) & 7u);
    H.cfg.recv_buffer_size = 0; /* no setsockopt: nothing arrives on the socket */
    H.cfg.recvmmsg = false;     /* datagrams come one by one through recv_cb */
    if (trace)
        fprintf(stderr,
                "max_peers %zu msg_cap %zu resp_slots %zu max_observers %zu block_szx %u "
                "max_body %zu dedup_cap %zu\n",
                H.cfg.max_peers, H.cfg.msg_cap, H.cfg.resp_slots, H.cfg.max_observers,
                H.cfg.block_szx, H.cfg.max_body, H.cfg.dedup_cap);
}

static void on_closed(zcoap_uv_server_t *s)
{
    (void)s;
    H.started = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    script_t s = {data, size};
    if (!H.loop_ready) {
        const char *env = getenv("FUZZ_TRACE");
        trace = env != NULL && env[0] == '1';
        FUZZ_CHECK(uv_loop_init(&H.loop) == 0);
        H.loop_ready = true;
        for (size_t i = 0; i < BIG_LEN; i++)
            big_body[i] = (uint8_t)i;
    }
    uv_update_time(&H.loop);
    setup_peers();
    configure(&s);
    H.obs_state = 0;
    H.obs_answer = 0;
    struct sockaddr_in addr;
    FUZZ_CHECK(uv_ip4_addr("127.0.0.1", 0, &addr) == 0);
    FUZZ_CHECK(zcoap_uv_server_start(&H.loop, &H.server, (const struct sockaddr *)&addr, &H.cfg) ==
               0);
    H.started = true;
    zcoap_uv_server_set_hook(&H.server, on_datagram, NULL);
    FUZZ_CHECK(H.server.udp.recv_cb != NULL);
    uint8_t start_seq = take(&s);
    if ((start_seq & 0x80u) != 0) { /* numbering near the 24-bit wrap (§4.4), as after a restart */
        uint32_t seq = 0xFFFFFFu - (start_seq & 0x7Fu);
        uint32_t got = 0;
        FUZZ_CHECK(zcoap_uv_server_set_obs_seq(&H.server, OBS_RESOURCE, seq) == ZCOAP_OK);
        FUZZ_CHECK(zcoap_uv_server_obs_seq(&H.server, OBS_RESOURCE, &got) == ZCOAP_OK &&
                   got == seq);
    }

    while (s.left > 0) {
        uint8_t op = take(&s);
        fuzz_peer_t *fp = &H.peers[(op >> 4) % N_PEERS];
        switch (op & 7u) {
        case 0: { /* a raw datagram */
            size_t len = take(&s);
            if ((op & 8u) != 0)
                len = len * 8u; /* up to 2040: over msg_cap and the receive size too */
            if (len > s.left)
                len = s.left;
            if (len > 0)
                deliver(fp, s.p, len);
            s.p += len;
            s.left -= len;
            break;
        }
        case 1:
        case 2:
            request(fp, &s);
            break;
        case 3:
            peer_answers(fp, &s);
            break;
        case 4:
            advance(take16(&s));
            break;
        case 5:
            jump_to_next_timer();
            break;
        default:
            application(&s);
            break;
        }
        check_bounds();
    }

    /* RFC 7252 §4.2: every CON message gets its ACK or RST once the server's automatic ACK is
     * due (a handler that answers late is acknowledged by then). */
    advance(H.cfg.auto_ack_ms + 1u);
    for (size_t i = 0; i < N_PEERS; i++) {
        for (size_t j = 0; j < H.peers[i].n_log; j++) {
            const sent_msg_t *e = &H.peers[i].log[j];
            if (e->con && !e->answered && trace)
                fprintf(stderr, "unanswered: peer %zu CON mid %u\n", i, e->mid);
            /* A CON reusing the ID of the peer's NON (RFC 7252 §4.4 forbids it) is taken as a
             * duplicate of that NON and goes unanswered: reported, not checked here. */
            /* A "duplicate" that is not the same datagram may go unanswered: answering it with
             * the stored answer would amplify a forged one (RFC 7252 §11.3). */
            if (e->con && !e->reuses_non_mid && !e->forged_copy && !e->known_gap)
                FUZZ_CHECK(e->answered);
        }
    }

    for (size_t i = 0; i < N_PEERS; i++) {
        if (H.peers[i].pending != NULL) {
            H.peers[i].pending->data = NULL;
            H.peers[i].pending = NULL;
        }
    }
    zcoap_uv_server_close(&H.server, on_closed);
    FUZZ_CHECK(uv_run(&H.loop, UV_RUN_DEFAULT) == 0);
    FUZZ_CHECK(!H.started);
    return 0;
}
