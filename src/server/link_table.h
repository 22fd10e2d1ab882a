/*
 * link_table.h: the device-link rendezvous (LinkPut / LinkGet, PROTOCOL.md §11.3).
 *
 * An entry is a 16-byte rendezvous id with two write-once slots: 0, the new device's offer,
 * and 1, the approving device's answer, each a sealed blob of 1..PL_WIRE_LINK_MAX_BLOB_BYTES
 * bytes that the server never looks into. An entry is created by the first put to either
 * slot and lives PL_LINK_TTL_MS from then; it is deleted as soon as slot 1 has been read
 * once (the link is complete), or when it expires. At most PL_LINK_MAX_ENTRIES entries
 * exist; a put that would create one more is refused.
 *
 * Memory only: a restart loses every pending link (the user starts again). Times are a
 * monotonic clock in nanoseconds passed in by the caller. Loop thread only.
 */
#ifndef PARLEYD_LINK_TABLE_H
#define PARLEYD_LINK_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

#define PL_LINK_MAX_ENTRIES 4096u
/* An entry's lifetime, from its first put. */
#define PL_LINK_TTL_MS (10u * 60u * 1000u)

enum pl_link_code {
    PL_LINK_OK = 0,
    PL_LINK_E_NOT_FOUND = -1, /* no such entry, it expired, or the slot is empty */
    PL_LINK_E_TAKEN = -2,     /* the slot was written already */
    PL_LINK_E_FULL = -3,      /* PL_LINK_MAX_ENTRIES live entries */
    PL_LINK_E_NOMEM = -4,
};

typedef struct pl_link_entry {
    uint8_t rendezvous[PL_WIRE_LINK_RENDEZVOUS_BYTES];
    uint64_t created_ns;
    uint8_t *blob[PL_WIRE_LINK_SLOTS]; /* NULL while the slot is empty */
    uint16_t len[PL_WIRE_LINK_SLOTS];
    int used;
} pl_link_entry;

typedef struct pl_link_table {
    pl_link_entry *slots; /* open addressing, linear probing, 2 * PL_LINK_MAX_ENTRIES slots */
    size_t count;         /* entries in use, expired or not */
    uint8_t hash_key[16]; /* SipHash key, random per table */
} pl_link_table;

/* Initialises an empty table. Returns 0 or -1 (no memory). */
int pl_link_table_init(pl_link_table *t);

/* Frees every entry (blobs wiped) and the table; accepts a table that failed to init. */
void pl_link_table_free(pl_link_table *t);

/*
 * Writes blob[0..len) (1 <= len <= PL_WIRE_LINK_MAX_BLOB_BYTES, slot < PL_WIRE_LINK_SLOTS,
 * else abort: the validator guarantees both) to `slot` of the entry for rendezvous, creating
 * the entry at now_ns if there is none (or it has expired). The blob is copied.
 *
 * Returns PL_LINK_OK; PL_LINK_E_TAKEN if that slot holds a blob already (nothing changes);
 * PL_LINK_E_FULL if a new entry is needed and the table is full, with *retry_after_ms the
 * time until the oldest entry expires; PL_LINK_E_NOMEM. *retry_after_ms is 0 otherwise.
 */
int pl_link_table_put(pl_link_table *t, const uint8_t rendezvous[PL_WIRE_LINK_RENDEZVOUS_BYTES],
                      uint32_t slot, const uint8_t *blob, size_t len, uint64_t now_ns,
                      uint32_t *retry_after_ms);

/*
 * Copies the blob in `slot` of rendezvous's entry to out and its length to *len. Reading
 * slot 1 deletes the entry. Returns PL_LINK_OK, or PL_LINK_E_NOT_FOUND with *len 0 (no
 * entry, an expired one, or an empty slot).
 */
int pl_link_table_get(pl_link_table *t, const uint8_t rendezvous[PL_WIRE_LINK_RENDEZVOUS_BYTES],
                      uint32_t slot, uint64_t now_ns, uint8_t out[PL_WIRE_LINK_MAX_BLOB_BYTES],
                      size_t *len);

/* Deletes every entry older than PL_LINK_TTL_MS at now_ns; returns how many. */
size_t pl_link_table_expire(pl_link_table *t, uint64_t now_ns);

#endif
