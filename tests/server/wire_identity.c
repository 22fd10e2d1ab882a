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
#include <strings.h>
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

/* Live accounts, so a request that names only a username can build its state. */
#define WI_MAX_ACCOUNTS 2048
static wi_account *live[WI_MAX_ACCOUNTS];

wi_account *wi_account_find(const char *username)
{
    for (size_t i = 0; i < WI_MAX_ACCOUNTS; i++)
        if (live[i] && strcmp(live[i]->username, username) == 0)
            return live[i];
    for (size_t i = 0; i < WI_MAX_ACCOUNTS; i++)
        if (live[i] && strcasecmp(live[i]->username, username) == 0)
            return live[i];
    return NULL;
}

wi_account *wi_account_find_key(const uint8_t account_key[PL_PUBKEY_BYTES])
{
    for (size_t i = 0; i < WI_MAX_ACCOUNTS; i++)
        if (live[i] && memcmp(live[i]->account_key, account_key, PL_PUBKEY_BYTES) == 0)
            return live[i];
    return NULL;
}

int wi_next_state(const wi_account *a, const uint8_t *add_record, uint32_t remove_id,
                  uint8_t out[PL_ACCOUNT_STATE_MAX_BYTES], size_t *len)
{
    static pl_account_state prev;
    uint8_t records[PL_ACCOUNT_STATE_MAX_DEVICES + 1][PL_DEVICE_RECORD_BYTES];
    uint8_t hash[PL_ACCOUNT_STATE_HASH_BYTES];
    pl_device_record add;
    size_t n = 0;
    uint32_t seq = 0;
    int placed = 0, found = 0;

    *len = 0;
    if (add_record &&
        pl_device_record_verify(add_record, PL_DEVICE_RECORD_BYTES, a->account_key, &add) != PL_OK)
        return -1;
    if (a->state_len) {
        if (pl_account_state_verify(a->state, a->state_len, &prev) != PL_OK)
            return -1;
        pl_account_state_hash(a->state, a->state_len, hash);
        seq = prev.seq + 1;
        for (size_t i = 0; i < prev.n_devices; i++) {
            uint32_t id = prev.devices[i].device_id;

            if (add_record && id == add.device_id)
                return -1;
            if (!add_record && id == remove_id) {
                found = 1;
                continue;
            }
            if (add_record && !placed && add.device_id < id) {
                memcpy(records[n++], add_record, PL_DEVICE_RECORD_BYTES);
                placed = 1;
            }
            memcpy(records[n++], prev.device_records[i], PL_DEVICE_RECORD_BYTES);
        }
    }
    if (add_record && !placed)
        memcpy(records[n++], add_record, PL_DEVICE_RECORD_BYTES);
    if ((!add_record && !found) || n == 0 || n > PL_ACCOUNT_STATE_MAX_DEVICES)
        return -1;
    return pl_account_state_sign(a->acct, seq, a->state_len ? hash : NULL,
                                 (uint64_t)time(NULL) * 1000u, 0,
                                 (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])records, n, out,
                                 PL_ACCOUNT_STATE_MAX_BYTES, len) == PL_OK
               ? 0
               : -1;
}

void wi_accept_state(wi_account *a, const uint8_t *state, size_t len)
{
    if (len > sizeof a->state)
        fail_msg("wi_accept_state: state too long");
    memcpy(a->state, state, len);
    a->state_len = len;
}

wi_account *wi_account_new(const char *username)
{
    wi_account *a = calloc(1, sizeof *a);
    size_t slot = 0;

    if (!a || strlen(username) >= sizeof a->username)
        fail_msg("wi_account_new: bad name or out of memory");
    snprintf(a->username, sizeof a->username, "%s", username);
    if (pl_account_generate(&a->acct, NULL) != PL_OK)
        fail_msg("pl_account_generate failed");
    pl_account_public_key(a->acct, a->account_key);
    wi_device_new(a, 1);
    while (slot < WI_MAX_ACCOUNTS && live[slot])
        slot++;
    if (slot < WI_MAX_ACCOUNTS)
        live[slot] = a;
    return a;
}

void wi_account_free(wi_account *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < WI_MAX_ACCOUNTS; i++)
        if (live[i] == a)
            live[i] = NULL;
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
