/*
 * fuzz_kt_client.h: the fixed pinned log shared by fuzz_kt_client.c and its seeds in
 * gen_corpus.c: an Ed25519 log key from a constant seed, named by the origin, no witnesses.
 */
#ifndef PARLEY_FUZZ_KT_CLIENT_H
#define PARLEY_FUZZ_KT_CLIENT_H

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cstore.h"
#include "parley/note.h"

#define FZ_KT_ORIGIN "fuzz.example/kt/v1/0123456789abcdef"

static inline void fz_kt_log_keys(uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32];

    memset(seed, 0x4b, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
}

/* The pinned log (no checkpoint), as cl_kt_saved_view reads it. */
static inline void fz_kt_pinned_log(pl_cstore_kt_log *log)
{
    uint8_t pk[32], sk[64];
    pl_note_verifier v;
    size_t len = 0;

    memset(log, 0, sizeof *log);
    fz_kt_log_keys(pk, sk);
    snprintf(log->origin, sizeof log->origin, "%s", FZ_KT_ORIGIN);
    if (pl_note_verifier_init(FZ_KT_ORIGIN, strlen(FZ_KT_ORIGIN), PL_NOTE_TYPE_ED25519, pk, &v) ==
            PL_OK &&
        pl_note_verifier_format(&v, log->log_vkey, sizeof log->log_vkey - 1, &len) == PL_OK)
        log->log_vkey[len] = '\0';
    memset(log->vrf_key, 7, sizeof log->vrf_key);
    log->max_ahead_ms = 120000;
    log->max_behind_ms = 600000;
    sodium_memzero(sk, sizeof sk);
}

#endif
