/*
 * store_fixture.h: helpers shared by the store tests (test_store_sqlite.c,
 * test_store_sqlite_mailbox.c): a fresh mkdtemp directory per test (removed by the
 * teardown), an open store, and accounts, devices, prekeys and envelopes made of
 * recognisable byte patterns (the store checks nothing cryptographic).
 *
 * Header-only (static inline) because each test program is one .c file plus testutil.c.
 * Define _POSIX_C_SOURCE 200809L before including it (mkdtemp).
 */
#ifndef PARLEY_TEST_STORE_FIXTURE_H
#define PARLEY_TEST_STORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"

/* Fails the test unless got == want, naming both codes. */
#define RC(got, want) assert_rc((got), (want), __FILE__, __LINE__)

static inline void assert_rc(int got, int want, const char *file, int line)
{
    if (got != want) {
        print_error("got %s (%d), want %s (%d)\n", pl_store_errname(got), got,
                    pl_store_errname(want), want);
        _fail(file, line);
    }
}

typedef struct fixture {
    char dir[64];
    char path[128];
    pl_store *s;
} fixture;

static inline int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/parley-store-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/parleyd.db", f->dir);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal", ".raw"};
    fixture *f = *state;
    char p[160];
    size_t i;

    pl_store_close(f->s);
    for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        (void)unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Opens f->s (closing any previous handle) with opts, expecting success. */
static inline void open_store(fixture *f, const pl_store_options *opts)
{
    char err[256];

    pl_store_close(f->s);
    f->s = NULL;
    RC(pl_store_open_sqlite(f->path, opts, &f->s, err, sizeof err), PL_STORE_OK);
    assert_non_null(f->s);
}

static inline void fill_key(uint8_t *out, size_t len, uint8_t seed)
{
    size_t i;

    for (i = 0; i < len; i++)
        out[i] = (uint8_t)(seed + i * 7u);
}

static inline void add_account(pl_store *s, const char *name)
{
    uint8_t key[PL_PUBKEY_BYTES];

    fill_key(key, sizeof key, (uint8_t)name[0]);
    RC(pl_store_account_create(s, name, key, 1000), PL_STORE_OK);
}

static inline pl_store_device make_device(uint32_t id)
{
    pl_store_device d;

    memset(&d, 0, sizeof d);
    d.device_id = id;
    fill_key(d.record, sizeof d.record, (uint8_t)(0x40 + id));
    fill_key(d.identity_key, sizeof d.identity_key, (uint8_t)(0x80 + id));
    d.created_at_ms = 5000u + id;
    return d;
}

static inline void add_device(pl_store *s, const char *name, uint32_t id)
{
    pl_store_device d = make_device(id);

    RC(pl_store_device_add(s, name, &d), PL_STORE_OK);
}

static inline pl_store_onetime_prekey make_otk(uint32_t id)
{
    pl_store_onetime_prekey k;

    memset(&k, 0, sizeof k);
    k.id = id;
    fill_key(k.public_part, sizeof k.public_part, (uint8_t)id);
    return k;
}

/* An envelope whose 300-byte ciphertext is derived from tag. */
static inline pl_store_envelope make_env(const char *to, uint32_t to_dev, uint64_t ts, unsigned tag)
{
    static uint8_t ct_pool[64][300]; /* stays valid after return, as appends need */
    pl_store_envelope e;

    memset(&e, 0, sizeof e);
    e.recipient = to;
    e.recipient_device = to_dev;
    e.sender = "sender";
    e.sender_device = 9;
    e.server_ts_ms = ts;
    fill_key(ct_pool[tag % 64], sizeof ct_pool[0], (uint8_t)tag);
    e.ciphertext = ct_pool[tag % 64];
    e.ciphertext_len = sizeof ct_pool[0];
    return e;
}

/* Collects fetched envelopes (copying what the callback may not keep). */
typedef struct collected {
    size_t n, stop_after;
    uint64_t seq[64];
    uint64_t ts[64];
    uint32_t sender_device[64];
    char sender[64][PL_STORE_USERNAME_MAX + 1];
    uint8_t first_byte[64];
    size_t len[64];
    uint8_t cmid[64][PL_STORE_CLIENT_MESSAGE_ID_BYTES];
} collected;

static inline int collect_cb(void *ctx, const pl_store_envelope *e)
{
    collected *c = ctx;

    if (c->n >= 64)
        return 1;
    c->seq[c->n] = e->seq;
    c->ts[c->n] = e->server_ts_ms;
    c->sender_device[c->n] = e->sender_device;
    snprintf(c->sender[c->n], sizeof c->sender[0], "%s", e->sender);
    c->first_byte[c->n] = e->ciphertext_len ? e->ciphertext[0] : 0;
    c->len[c->n] = e->ciphertext_len;
    memcpy(c->cmid[c->n], e->client_message_id, PL_STORE_CLIENT_MESSAGE_ID_BYTES);
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static inline uint64_t mailbox_count(pl_store *s, const char *name, uint32_t dev)
{
    uint64_t n = 0;

    RC(pl_store_mailbox_count(s, name, dev, &n), PL_STORE_OK);
    return n;
}

/* A client message id derived from tag. */
static inline void make_cmid(uint8_t out[PL_STORE_CLIENT_MESSAGE_ID_BYTES], uint8_t tag)
{
    fill_key(out, PL_STORE_CLIENT_MESSAGE_ID_BYTES, (uint8_t)(0xc0 + tag));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

#endif
