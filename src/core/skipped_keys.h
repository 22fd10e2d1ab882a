/*
 * skipped_keys.h: the bounded store of message keys for messages not yet received.
 *
 * Entries are kept oldest first. The store never holds more than PL_RATCHET_MAX_SKIPPED_KEYS
 * keys: adding beyond that evicts the oldest, whose messages then fail with PL_E_REPLAY.
 * Entry memory is sodium_malloc'd, grown on demand, and wiped when freed or removed.
 */
#ifndef PARLEY_CORE_SKIPPED_KEYS_H
#define PARLEY_CORE_SKIPPED_KEYS_H

#include <stdint.h>

typedef struct pl__skipped_key {
    uint8_t ratchet_key[32]; /* the sender's ratchet public key of the chain */
    uint32_t n;              /* the message number within that chain */
    uint8_t message_key[32];
} pl__skipped_key;

typedef struct pl__skipped_keys {
    pl__skipped_key *entries;
    uint32_t count;
    uint32_t cap;
} pl__skipped_keys;

/* Returns the index of the key for (ratchet_key, n), or -1. */
long pl__skipped_find(const pl__skipped_keys *store, const uint8_t ratchet_key[32], uint32_t n);
/* Removes (and wipes) entry idx, keeping the order of the rest. */
void pl__skipped_remove(pl__skipped_keys *store, uint32_t idx);
/* Makes room so that adding `more` entries cannot fail. Returns PL_OK or PL_E_NOMEM (then
 * the store is unchanged). */
int pl__skipped_reserve(pl__skipped_keys *store, uint32_t more);
/* Appends add[0..count) after pl__skipped_reserve(store, count) succeeded, evicting the
 * oldest entries beyond the bound. count <= PL_RATCHET_MAX_SKIPPED_KEYS. */
void pl__skipped_append(pl__skipped_keys *store, const pl__skipped_key *add, uint32_t count);
/* Wipes and frees every entry. */
void pl__skipped_clear(pl__skipped_keys *store);

#endif
