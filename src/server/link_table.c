/*
 * link_table.c: the device-link rendezvous table (link_table.h).
 *
 * Open addressing with linear probing over 2 * PL_LINK_MAX_ENTRIES slots, so the table is
 * at most half full and probe runs stay short. The home slot of a rendezvous is SipHash
 * (libsodium's crypto_shorthash) under a random per-table key, so a client cannot choose ids
 * that collide. Deletion shifts the rest of a run back (no tombstones): every entry stays
 * reachable from its home slot without a gap, which is the table's invariant.
 *
 * Expiry: an entry whose created_ns is PL_LINK_TTL_MS or more in the past counts as absent
 * at once (get finds nothing, put starts afresh); the once-a-second sweep frees its memory.
 */
#include "link_table.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define N_SLOTS (2u * PL_LINK_MAX_ENTRIES)
#define TTL_NS ((uint64_t)PL_LINK_TTL_MS * 1000000u)

_Static_assert(sizeof(((pl_link_table *)0)->hash_key) == crypto_shorthash_KEYBYTES,
               "the table's key is a SipHash key");
_Static_assert(PL_WIRE_LINK_MAX_BLOB_BYTES <= UINT16_MAX, "a blob's length fits its field");

int pl_link_table_init(pl_link_table *t)
{
    memset(t, 0, sizeof *t);
    randombytes_buf(t->hash_key, sizeof t->hash_key);
    if (!(t->slots = calloc(N_SLOTS, sizeof *t->slots)))
        return -1;
    return 0;
}

static void entry_clear(pl_link_entry *e)
{
    for (size_t s = 0; s < PL_WIRE_LINK_SLOTS; s++) {
        if (e->blob[s]) {
            sodium_memzero(e->blob[s], e->len[s]);
            free(e->blob[s]);
        }
    }
    memset(e, 0, sizeof *e);
}

void pl_link_table_free(pl_link_table *t)
{
    if (t->slots) {
        for (size_t i = 0; i < N_SLOTS; i++)
            if (t->slots[i].used)
                entry_clear(&t->slots[i]);
        free(t->slots);
    }
    sodium_memzero(t, sizeof *t);
}

static size_t home(const pl_link_table *t, const uint8_t rendezvous[PL_WIRE_LINK_RENDEZVOUS_BYTES])
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v;

    crypto_shorthash(h, rendezvous, PL_WIRE_LINK_RENDEZVOUS_BYTES, t->hash_key);
    memcpy(&v, h, sizeof v);
    return (size_t)(v % N_SLOTS);
}

static int expired(const pl_link_entry *e, uint64_t now_ns)
{
    return now_ns - e->created_ns >= TTL_NS;
}

/* The slot holding rendezvous, or the empty slot that ends its run (where it would go). */
static size_t find(const pl_link_table *t, const uint8_t rendezvous[PL_WIRE_LINK_RENDEZVOUS_BYTES])
{
    size_t i = home(t, rendezvous);

    /* The table is never full (count <= N_SLOTS / 2), so the run ends. */
    while (t->slots[i].used &&
           memcmp(t->slots[i].rendezvous, rendezvous, PL_WIRE_LINK_RENDEZVOUS_BYTES) != 0)
        i = (i + 1) % N_SLOTS;
    return i;
}

/* Frees slot i and shifts back the entries after it whose home lies at or before the gap. */
static void remove_at(pl_link_table *t, size_t i)
{
    size_t gap = i, j = i;

    entry_clear(&t->slots[i]);
    t->count--;
    for (;;) {
        size_t h;

        j = (j + 1) % N_SLOTS;
        if (!t->slots[j].used)
            return;
        h = home(t, t->slots[j].rendezvous);
        /* j's entry may move to the gap unless its home lies cyclically in (gap, j]. */
        if (gap <= j ? (gap < h && h <= j) : (gap < h || h <= j))
            continue;
        t->slots[gap] = t->slots[j];
        memset(&t->slots[j], 0, sizeof t->slots[j]);
        gap = j;
    }
}

static uint32_t oldest_retry_ms(const pl_link_table *t, uint64_t now_ns)
{
    uint64_t oldest = now_ns;

    for (size_t i = 0; i < N_SLOTS; i++)
        if (t->slots[i].used && t->slots[i].created_ns < oldest)
            oldest = t->slots[i].created_ns;
    if (now_ns - oldest >= TTL_NS)
        return 1;
    return (uint32_t)((TTL_NS - (now_ns - oldest) + 999999u) / 1000000u);
}

int pl_link_table_put(pl_link_table *t, const uint8_t rendezvous[PL_WIRE_LINK_RENDEZVOUS_BYTES],
                      uint32_t slot, const uint8_t *blob, size_t len, uint64_t now_ns,
                      uint32_t *retry_after_ms)
{
    pl_link_entry *e;
    uint8_t *copy;
    size_t i;

    *retry_after_ms = 0;
    if (slot >= PL_WIRE_LINK_SLOTS || len == 0 || len > PL_WIRE_LINK_MAX_BLOB_BYTES)
        sodium_misuse();
    i = find(t, rendezvous);
    if (t->slots[i].used && expired(&t->slots[i], now_ns)) {
        remove_at(t, i);
        i = find(t, rendezvous);
    }
    e = &t->slots[i];
    if (e->used && e->blob[slot])
        return PL_LINK_E_TAKEN;
    if (!e->used && t->count >= PL_LINK_MAX_ENTRIES) {
        *retry_after_ms = oldest_retry_ms(t, now_ns);
        return PL_LINK_E_FULL;
    }
    if (!(copy = malloc(len)))
        return PL_LINK_E_NOMEM;
    memcpy(copy, blob, len);
    if (!e->used) {
        memcpy(e->rendezvous, rendezvous, PL_WIRE_LINK_RENDEZVOUS_BYTES);
        e->created_ns = now_ns;
        e->used = 1;
        t->count++;
    }
    e->blob[slot] = copy;
    e->len[slot] = (uint16_t)len;
    return PL_LINK_OK;
}

int pl_link_table_get(pl_link_table *t, const uint8_t rendezvous[PL_WIRE_LINK_RENDEZVOUS_BYTES],
                      uint32_t slot, uint64_t now_ns, uint8_t out[PL_WIRE_LINK_MAX_BLOB_BYTES],
                      size_t *len)
{
    size_t i = find(t, rendezvous);
    pl_link_entry *e = &t->slots[i];

    *len = 0;
    if (slot >= PL_WIRE_LINK_SLOTS)
        sodium_misuse();
    if (!e->used || expired(e, now_ns) || !e->blob[slot])
        return PL_LINK_E_NOT_FOUND;
    memcpy(out, e->blob[slot], e->len[slot]);
    *len = e->len[slot];
    if (slot == 1)
        remove_at(t, i); /* the answer reached the new device: the link is complete */
    return PL_LINK_OK;
}

size_t pl_link_table_expire(pl_link_table *t, uint64_t now_ns)
{
    size_t n = 0, i = 0;

    /* remove_at only moves entries from after i to i or later, so one pass sees each. */
    while (t->count > 0 && i < N_SLOTS) {
        if (t->slots[i].used && expired(&t->slots[i], now_ns)) {
            remove_at(t, i);
            n++;
            continue; /* slot i may now hold a shifted entry */
        }
        i++;
    }
    return n;
}
