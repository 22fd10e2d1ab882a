/*
 * wire_identity.c: account, device and prekey material for the integration tests (see
 * wire_identity.h, including why the auth and removal signatures are made here).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "parley/keys.h"
#include "parley/statement.h"
#include "wire_identity.h"

#define AUTH_LABEL "parley/auth/v1"
#define REMOVE_LABEL "parley/remove-device/v1"
/* Offsets of the Ed25519 seed in the saved forms (PROTOCOL.md §9.1: an 8-byte header). */
#define SAVED_HEADER_BYTES 8u
#define ACCOUNT_SEED_OFFSET SAVED_HEADER_BYTES
#define DEVICE_SEED_OFFSET (SAVED_HEADER_BYTES + 4u)

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Signs msg with the Ed25519 key whose seed is seed. */
static void sign_with_seed(const uint8_t seed[32], const uint8_t *msg, size_t len, uint8_t sig[64])
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];

    crypto_sign_seed_keypair(pk, sk, seed);
    crypto_sign_detached(sig, NULL, msg, len, sk);
    sodium_memzero(sk, sizeof sk);
}

wi_account *wi_account_new(const char *username)
{
    wi_account *a = calloc(1, sizeof *a);

    if (!a || strlen(username) >= sizeof a->username)
        fail_msg("wi_account_new: bad name or out of memory");
    snprintf(a->username, sizeof a->username, "%s", username);
    if (pl_account_generate(&a->acct, NULL) != PL_OK)
        fail_msg("pl_account_generate failed");
    pl_account_public_key(a->acct, a->account_key);
    wi_device_new(a, 1);
    return a;
}

void wi_account_free(wi_account *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_devices; i++)
        pl_device_free(a->devices[i].dev);
    pl_account_free(a->acct);
    free(a);
}

wi_device *wi_device_new(wi_account *a, uint32_t device_id)
{
    wi_device *d;

    if (a->n_devices >= WI_MAX_DEVICES)
        fail_msg("wi_device_new: more than %d devices", WI_MAX_DEVICES);
    d = &a->devices[a->n_devices];
    memset(d, 0, sizeof *d);
    if (pl_device_generate(&d->dev, NULL, device_id) != PL_OK)
        fail_msg("pl_device_generate failed");
    d->id = device_id;
    pl_device_identity_key(d->dev, d->identity_key);
    if (pl_account_sign_device(a->acct, device_id, d->identity_key, (uint64_t)time(NULL),
                               d->record) != PL_OK)
        fail_msg("pl_account_sign_device failed");
    a->n_devices++;
    return d;
}

wi_device *wi_device_get(wi_account *a, uint32_t device_id)
{
    for (size_t i = 0; i < a->n_devices; i++)
        if (a->devices[i].id == device_id)
            return &a->devices[i];
    return NULL;
}

void wi_unique_name(char *out, size_t cap, const char *prefix)
{
    static unsigned counter;

    snprintf(out, cap, "%s%u", prefix, ++counter);
}

void wi_auth_signature(const wi_device *d, const uint8_t challenge[32], const uint8_t exporter[32],
                       const char *username, uint8_t sig[64])
{
    if (pl_auth_sign(d->dev, challenge, exporter, username, strlen(username), d->id, sig) != PL_OK)
        fail_msg("pl_auth_sign failed for username \"%s\"", username);
}

void wi_removal_signature(const wi_account *a, uint32_t device_id, uint8_t sig[64])
{
    pl_removal_sign(a->acct, device_id, sig);
}

void wi_auth_signature_spec(const wi_device *d, const uint8_t challenge[32],
                            const uint8_t exporter[32], const char *username, uint8_t sig[64])
{
    uint8_t saved[PL_DEVICE_SAVED_BYTES];
    uint8_t msg[sizeof AUTH_LABEL - 1 + 32 + 32 + 256 + 4];
    size_t ulen = strlen(username), n = 0;

    if (ulen > 256)
        fail_msg("wi_auth_signature: username too long");
    memcpy(msg + n, AUTH_LABEL, sizeof AUTH_LABEL - 1);
    n += sizeof AUTH_LABEL - 1;
    memcpy(msg + n, challenge, 32);
    n += 32;
    memcpy(msg + n, exporter, 32);
    n += 32;
    memcpy(msg + n, username, ulen);
    n += ulen;
    put_u32(msg + n, d->id);
    n += 4;
    pl_device_save(d->dev, saved);
    sign_with_seed(saved + DEVICE_SEED_OFFSET, msg, n, sig);
    sodium_memzero(saved, sizeof saved);
}

void wi_removal_signature_spec(const wi_account *a, uint32_t device_id, uint8_t sig[64])
{
    uint8_t saved[PL_ACCOUNT_SAVED_BYTES];
    uint8_t msg[sizeof REMOVE_LABEL - 1 + PL_PUBKEY_BYTES + 4];
    size_t n = 0;

    memcpy(msg + n, REMOVE_LABEL, sizeof REMOVE_LABEL - 1);
    n += sizeof REMOVE_LABEL - 1;
    memcpy(msg + n, a->account_key, PL_PUBKEY_BYTES);
    n += PL_PUBKEY_BYTES;
    put_u32(msg + n, device_id);
    n += 4;
    pl_account_save(a->acct, saved);
    sign_with_seed(saved + ACCOUNT_SEED_OFFSET, msg, n, sig);
    sodium_memzero(saved, sizeof saved);
}

void wi_signed_prekey(const wi_device *d, uint32_t id, uint8_t out[PL_SIGNED_PREKEY_PUBLIC_BYTES])
{
    pl_signed_prekey *spk = NULL;

    if (pl_signed_prekey_generate(&spk, NULL, d->dev, id, (uint64_t)time(NULL)) != PL_OK)
        fail_msg("pl_signed_prekey_generate failed");
    pl_signed_prekey_public(spk, out);
    pl_signed_prekey_free(spk);
}

void wi_onetime_prekey(uint32_t id, uint8_t out[PL_ONETIME_PREKEY_PUBLIC_BYTES])
{
    pl_onetime_prekey *otk = NULL;

    if (pl_onetime_prekey_generate(&otk, NULL, id) != PL_OK)
        fail_msg("pl_onetime_prekey_generate failed");
    pl_onetime_prekey_public(otk, out);
    pl_onetime_prekey_free(otk);
}
