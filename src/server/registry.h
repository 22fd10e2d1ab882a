/*
 * registry.h: which connection is authenticated as which device, for pushes.
 *
 * A hash table keyed by (username, device_id) whose entries are the connections themselves
 * (chained through pl_conn.registry_next), so it allocates only its bucket array. At most
 * one connection per device: a newer one replaces the older (the caller closes it). Loop
 * thread only.
 */
#ifndef PARLEYD_REGISTRY_H
#define PARLEYD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

typedef struct pl_conn pl_conn;

typedef struct pl_registry {
    pl_conn **buckets;
    size_t n_buckets; /* a power of two */
    size_t count;
} pl_registry;

/* Initialises an empty registry. Returns 0 or -1 (no memory). */
int pl_registry_init(pl_registry *reg);
void pl_registry_free(pl_registry *reg);

/* The connection authenticated as (username, device_id), or NULL. */
pl_conn *pl_registry_find(const pl_registry *reg, const char *username, uint32_t device_id);

/* Registers c under its username and device_id; returns the connection it replaces (to be
 * closed by the caller), or NULL. */
pl_conn *pl_registry_insert(pl_registry *reg, pl_conn *c);

/* Removes c if it is registered. */
void pl_registry_remove(pl_registry *reg, pl_conn *c);

#endif
