/*
 * addr_limit.c: per-address fixed-window counters (addr_limit.h).
 *
 * Open addressing over a fixed table, keyed by SipHash (libsodium's crypto_shorthash) with
 * a random key, so a client cannot choose addresses that collide. A lookup probes at most
 * PROBES slots: it looks for the address, remembering the first slot that is free or whose
 * window has ended; if the address is not there it takes that slot. Expired slots are never
 * "deleted", so probe chains stay intact.
 */
#include "addr_limit.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define PROBES 64u

static uint8_t hash_key[crypto_shorthash_KEYBYTES];
static int hash_key_set;

int pl_addr_limit_init(pl_addr_limit *l, uint32_t limit, uint64_t window_ns)
{
    memset(l, 0, sizeof *l);
    if (!hash_key_set) {
        randombytes_buf(hash_key, sizeof hash_key);
        hash_key_set = 1;
    }
    l->entries = calloc(PL_ADDR_LIMIT_MAX_ENTRIES, sizeof *l->entries);
    if (!l->entries)
        return -1;
    l->limit = limit;
    l->window_ns = window_ns;
    return 0;
}

void pl_addr_limit_free(pl_addr_limit *l)
{
    free(l->entries);
    l->entries = NULL;
}

static uint32_t retry_ms(const pl_addr_limit *l, const pl_addr_limit_entry *e, uint64_t now_ns)
{
    uint64_t end = e->window_start_ns + l->window_ns;

    return end > now_ns ? (uint32_t)((end - now_ns + 999999u) / 1000000u) : 0;
}

int pl_addr_limit_take(pl_addr_limit *l, const uint8_t addr[16], uint64_t now_ns,
                       uint32_t *retry_after_ms)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t start;
    pl_addr_limit_entry *spare = NULL, *e = NULL;

    *retry_after_ms = 0;
    if (l->limit == 0)
        return 1;
    crypto_shorthash(h, addr, 16, hash_key);
    memcpy(&start, h, sizeof start);
    for (uint32_t i = 0; i < PROBES; i++) {
        pl_addr_limit_entry *x = &l->entries[(start + i) % PL_ADDR_LIMIT_MAX_ENTRIES];
        int expired = !x->used || now_ns - x->window_start_ns >= l->window_ns;

        if (x->used && memcmp(x->addr, addr, 16) == 0) {
            e = x;
            break;
        }
        if (expired && !spare)
            spare = x;
    }
    if (!e) {
        if (!spare) {
            /* Every probed slot holds another address still in its window: fail closed. */
            *retry_after_ms = (uint32_t)(l->window_ns / 1000000u);
            return 0;
        }
        e = spare;
        memcpy(e->addr, addr, 16);
        e->used = 1;
        e->count = 0;
        e->window_start_ns = now_ns;
    }
    if (now_ns - e->window_start_ns >= l->window_ns) {
        e->window_start_ns = now_ns;
        e->count = 0;
    }
    if (e->count >= l->limit) {
        *retry_after_ms = retry_ms(l, e, now_ns);
        return 0;
    }
    e->count++;
    return 1;
}
