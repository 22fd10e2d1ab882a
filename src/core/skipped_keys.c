/*
 * skipped_keys.c: the bounded, ordered store of skipped message keys.
 */
#include <string.h>

#include <sodium.h>

#include "keys_internal.h"
#include "parley/session.h"
#include "skipped_keys.h"

long pl__skipped_find(const pl__skipped_keys *store, const uint8_t ratchet_key[32], uint32_t n)
{
    for (uint32_t i = 0; i < store->count; i++) {
        const pl__skipped_key *e = &store->entries[i];
        if (e->n == n && sodium_memcmp(e->ratchet_key, ratchet_key, 32) == 0)
            return (long)i;
    }
    return -1;
}

void pl__skipped_remove(pl__skipped_keys *store, uint32_t idx)
{
    pl__skipped_key *e = store->entries;

    memmove(&e[idx], &e[idx + 1], (store->count - idx - 1) * sizeof *e);
    store->count--;
    sodium_memzero(&e[store->count], sizeof *e);
}

int pl__skipped_reserve(pl__skipped_keys *store, uint32_t more)
{
    uint32_t need = store->count + more, cap;
    pl__skipped_key *grown;

    if (need > PL_RATCHET_MAX_SKIPPED_KEYS)
        need = PL_RATCHET_MAX_SKIPPED_KEYS;
    if (need <= store->cap)
        return PL_OK;
    cap = store->cap ? store->cap : 32;
    while (cap < need)
        cap *= 2;
    if (cap > PL_RATCHET_MAX_SKIPPED_KEYS)
        cap = PL_RATCHET_MAX_SKIPPED_KEYS;
    if (!(grown = pl__secure_alloc((size_t)cap * sizeof *grown)))
        return PL_E_NOMEM;
    if (store->count)
        memcpy(grown, store->entries, store->count * sizeof *grown);
    pl__secure_free(store->entries);
    store->entries = grown;
    store->cap = cap;
    return PL_OK;
}

void pl__skipped_append(pl__skipped_keys *store, const pl__skipped_key *add, uint32_t count)
{
    uint32_t total = store->count + count, evict;

    if (count > PL_RATCHET_MAX_SKIPPED_KEYS)
        sodium_misuse();
    if (total > PL_RATCHET_MAX_SKIPPED_KEYS) {
        /* Evict the oldest: they are the least likely to still arrive. evict <= count of
         * stored entries because count <= the bound. */
        evict = total - PL_RATCHET_MAX_SKIPPED_KEYS;
        sodium_memzero(store->entries, evict * sizeof *store->entries);
        memmove(store->entries, store->entries + evict,
                (store->count - evict) * sizeof *store->entries);
        store->count -= evict;
    }
    if (store->count + count > store->cap)
        sodium_misuse(); /* pl__skipped_reserve was not called */
    memcpy(store->entries + store->count, add, count * sizeof *add);
    store->count += count;
}

void pl__skipped_clear(pl__skipped_keys *store)
{
    pl__secure_free(store->entries);
    store->entries = NULL;
    store->count = 0;
    store->cap = 0;
}
