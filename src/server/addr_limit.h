/*
 * addr_limit.h: a per-address fixed-window counter (registrations per address per minute).
 *
 * Keys are 16-byte addresses (IPv4 mapped into IPv6). The table holds at most
 * PL_ADDR_LIMIT_MAX_ENTRIES addresses; when it is full of addresses still inside their
 * window, a new address is refused too (fail closed: a flood of fresh addresses cannot be
 * used to evict the counters of others). Loop thread only.
 */
#ifndef PARLEYD_ADDR_LIMIT_H
#define PARLEYD_ADDR_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#define PL_ADDR_LIMIT_MAX_ENTRIES 4096u

typedef struct pl_addr_limit_entry {
    uint8_t addr[16];
    uint64_t window_start_ns;
    uint32_t count;
    int used;
} pl_addr_limit_entry;

typedef struct pl_addr_limit {
    pl_addr_limit_entry *entries; /* open addressing, PL_ADDR_LIMIT_MAX_ENTRIES slots */
    uint32_t limit;               /* events per window per address */
    uint64_t window_ns;
} pl_addr_limit;

/* Returns 0 or -1 (no memory). limit 0 means no limit. */
int pl_addr_limit_init(pl_addr_limit *l, uint32_t limit, uint64_t window_ns);
void pl_addr_limit_free(pl_addr_limit *l);

/* Counts one event from addr at now_ns. Returns 1 if allowed, 0 if over the limit, with
 * *retry_after_ms how long until the address's window ends. */
int pl_addr_limit_take(pl_addr_limit *l, const uint8_t addr[16], uint64_t now_ns,
                       uint32_t *retry_after_ms);

#endif
