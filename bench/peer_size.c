/*
 * zcoap_peer_size: the memory a zcoap_uv_server_t sets aside per peer, from the structures and
 * the default configuration (what zcoap_uv_server_start() allocates for max_peers = N), to set
 * beside the RSS that zcoap_many_peers measures.
 *
 *     zcoap_peer_size [MAX_PEERS]
 */
#include <stdio.h>
#include <stdlib.h>

#include "zcoap/uv.h"

int main(int argc, char **argv)
{
    size_t max_peers = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100000u;
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    size_t n_buckets = 1;
    while (n_buckets < 2u * max_peers)
        n_buckets <<= 1;
    size_t peer = sizeof(zcoap_uv_peer_t);
    size_t responses = cfg.resp_slots * cfg.msg_cap;
    size_t dedup = cfg.dedup_cap * sizeof(zcoap_dedup_entry_t);
    double buckets = (double)(n_buckets * sizeof(uint32_t)) / (double)max_peers;
    printf("per peer, default configuration, max_peers %zu:\n", max_peers);
    printf("  zcoap_uv_peer_t          %5zu bytes (zcoap_ep_t %zu, uv_timer_t %zu, "
           "sockaddr_storage %zu)\n",
           peer, sizeof(zcoap_ep_t), sizeof(uv_timer_t), sizeof(struct sockaddr_storage));
    printf("  response store           %5zu bytes (resp_slots %zu x msg_cap %zu)\n", responses,
           cfg.resp_slots, cfg.msg_cap);
    printf("  de-duplication ring      %5zu bytes (dedup_cap %zu x %zu)\n", dedup, cfg.dedup_cap,
           sizeof(zcoap_dedup_entry_t));
    printf("  hash buckets             %7.1f bytes (%zu buckets x %zu)\n", buckets, n_buckets,
           sizeof(uint32_t));
    printf("  total                    %7.1f bytes; for %zu peers %.1f MiB\n",
           (double)(peer + responses + dedup) + buckets, max_peers,
           ((double)(peer + responses + dedup) + buckets) * (double)max_peers / 1048576.0);
    return 0;
}
