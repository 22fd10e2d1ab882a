/*
 * group_fixture.h: the fixed group cast the group fuzz targets and gen_corpus.c share.
 *
 * Everything is rebuilt from labelled deterministic RNGs (fz_rng), so a seed gen_corpus.c
 * writes is a genuine input for the target that reads it:
 *   - the sender: device 5 ("fzg-sender"), its sender key for FZG_GROUP_ID at iteration 0;
 *   - the group: alice (device 1) and bob (devices 3, 4), created by alice; the state after
 *     that create is what fuzz_group_change applies changes to.
 * Static inline (header only) so that fixtures.c stays as it is.
 */
#ifndef PARLEY_FUZZ_GROUP_FIXTURE_H
#define PARLEY_FUZZ_GROUP_FIXTURE_H

#include "fuzz.h"

static const uint8_t FZG_GROUP_ID[PL_GROUP_ID_BYTES] = {
    0x67, 0x72, 0x6f, 0x75, 0x70, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0, 1, 2, 3, 4, 5};

static inline void fzg_must(int rc, const char *what)
{
    if (rc != PL_OK)
        fz_fail(__FILE__, __LINE__, what);
}

/* Initialises the library once; every group target calls it first. */
static inline void fzg_init(void)
{
    static int done;

    if (!done) {
        fzg_must(pl_init(), "pl_init");
        done = 1;
    }
}

/* A new copy of the fixed sender key at iteration 0 (and its device, freed by the caller). */
static inline pl_sender_key *fzg_sender(pl_device **device)
{
    pl_rng_deterministic st;
    pl_rng rng = fz_rng(&st, "fzg-sender");
    pl_sender_key *key = NULL;

    fzg_init();
    fzg_must(pl_device_generate(device, &rng, 5), "device");
    fzg_must(pl_sender_key_generate(&key, &rng, FZG_GROUP_ID, *device), "sender key");
    return key;
}

typedef struct fzg_cast {
    pl_device *alice, *bob3, *bob4, *carol;
    pl_group_member alice_m, bob_m, carol_m;
    uint8_t *create;
    size_t create_len;
    pl_group_state *state; /* after create */
} fzg_cast;

static inline pl_group_member fzg_member(const char *name, const pl_account *account,
                                         pl_device *const *devices, size_t n)
{
    pl_group_member m;

    memset(&m, 0, sizeof m);
    m.username_len = (uint8_t)strlen(name);
    memcpy(m.username, name, m.username_len);
    pl_account_public_key(account, m.account_key);
    m.n_devices = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        m.devices[i].device_id = pl_device_id(devices[i]);
        pl_device_identity_key(devices[i], m.devices[i].identity_key);
    }
    return m;
}

/* Builds the cast once per process (never freed: it lives as long as the fuzzer). */
static inline const fzg_cast *fzg_cast_get(void)
{
    static fzg_cast c;
    static int built;
    pl_rng_deterministic st;
    pl_rng rng;
    pl_account *a = NULL, *b = NULL, *k = NULL;
    pl_group_member ms[2];
    pl_group_change_body body;

    if (built)
        return &c;
    fzg_init();
    rng = fz_rng(&st, "fzg-cast");
    fzg_must(pl_account_generate(&a, &rng), "account");
    fzg_must(pl_account_generate(&b, &rng), "account");
    fzg_must(pl_account_generate(&k, &rng), "account");
    fzg_must(pl_device_generate(&c.alice, &rng, 1), "device");
    fzg_must(pl_device_generate(&c.bob3, &rng, 3), "device");
    fzg_must(pl_device_generate(&c.bob4, &rng, 4), "device");
    fzg_must(pl_device_generate(&c.carol, &rng, 1), "device");
    c.alice_m = fzg_member("alice", a, &c.alice, 1);
    {
        pl_device *bobs[2] = {c.bob3, c.bob4};

        c.bob_m = fzg_member("bob", b, bobs, 2);
    }
    c.carol_m = fzg_member("carol", k, &c.carol, 1);
    ms[0] = c.alice_m;
    ms[1] = c.bob_m;
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_CREATE;
    body.name = (const uint8_t *)"fuzzers";
    body.name_len = 7;
    body.max_members = 4;
    body.members = ms;
    body.n_members = 2;
    fzg_must(pl_group_change_sign(c.alice, (const uint8_t *)"alice", 5, NULL, FZG_GROUP_ID, &body,
                                  &c.create, &c.create_len),
             "create");
    fzg_must(pl_group_apply(NULL, c.create, c.create_len, &c.state, NULL), "apply create");
    pl_account_free(a);
    pl_account_free(b);
    pl_account_free(k);
    built = 1;
    return &c;
}

#endif
