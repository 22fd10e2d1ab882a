/*
 * registry.c: (username, device_id) -> authenticated connection (registry.h).
 *
 * Chained hashing through pl_conn.registry_next, keyed SipHash so clients cannot aim for
 * one bucket; the bucket array doubles when the load passes 1.
 */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "conn.h"

#define INITIAL_BUCKETS 1024u

static uint8_t hash_key[crypto_shorthash_KEYBYTES];

static size_t bucket_of(const pl_registry *reg, const char *username, uint32_t device_id)
{
    uint8_t buf[PL_USERNAME_MAX + 1 + 4], h[crypto_shorthash_BYTES];
    size_t n = strnlen(username, PL_USERNAME_MAX);
    uint64_t v;

    memcpy(buf, username, n);
    buf[n] = 0;
    memcpy(buf + n + 1, &device_id, 4);
    crypto_shorthash(h, buf, n + 5, hash_key);
    memcpy(&v, h, sizeof v);
    return (size_t)(v & (reg->n_buckets - 1));
}

int pl_registry_init(pl_registry *reg)
{
    static int key_set;

    if (!key_set) {
        randombytes_buf(hash_key, sizeof hash_key);
        key_set = 1;
    }
    reg->count = 0;
    reg->n_buckets = INITIAL_BUCKETS;
    reg->buckets = calloc(reg->n_buckets, sizeof *reg->buckets);
    return reg->buckets ? 0 : -1;
}

void pl_registry_free(pl_registry *reg)
{
    free(reg->buckets);
    reg->buckets = NULL;
    reg->n_buckets = reg->count = 0;
}

pl_conn *pl_registry_find(const pl_registry *reg, const char *username, uint32_t device_id)
{
    pl_conn *c = reg->buckets[bucket_of(reg, username, device_id)];

    while (c && !(c->device_id == device_id && strcmp(c->username, username) == 0))
        c = c->registry_next;
    return c;
}

/* Doubles the bucket array; on allocation failure keeps the old one (longer chains). */
static void grow(pl_registry *reg)
{
    size_t old_n = reg->n_buckets;
    pl_conn **old = reg->buckets, **b = calloc(old_n * 2, sizeof *b);

    if (!b)
        return;
    reg->buckets = b;
    reg->n_buckets = old_n * 2;
    for (size_t i = 0; i < old_n; i++) {
        pl_conn *c = old[i], *next;

        for (; c; c = next) {
            size_t k = bucket_of(reg, c->username, c->device_id);

            next = c->registry_next;
            c->registry_next = b[k];
            b[k] = c;
        }
    }
    free(old);
}

pl_conn *pl_registry_insert(pl_registry *reg, pl_conn *c)
{
    pl_conn *old = pl_registry_find(reg, c->username, c->device_id);
    size_t k;

    if (old)
        pl_registry_remove(reg, old);
    if (reg->count >= reg->n_buckets)
        grow(reg);
    k = bucket_of(reg, c->username, c->device_id);
    c->registry_next = reg->buckets[k];
    reg->buckets[k] = c;
    reg->count++;
    return old;
}

void pl_registry_remove(pl_registry *reg, pl_conn *c)
{
    pl_conn **p = &reg->buckets[bucket_of(reg, c->username, c->device_id)];

    for (; *p; p = &(*p)->registry_next)
        if (*p == c) {
            *p = c->registry_next;
            c->registry_next = NULL;
            reg->count--;
            return;
        }
}
