/*
 * keys_internal.h: the private layouts of libparley's key objects, key encodings, and the
 * guarded allocation every object holding a private key uses.
 */
#ifndef PARLEY_CORE_KEYS_INTERNAL_H
#define PARLEY_CORE_KEYS_INTERNAL_H

#include <sodium.h>

#include "parley/error.h"
#include "parley/keys.h"

/* Domain-separation labels prefixed to every signed message (PROTOCOL.md §3). */
#define PL__LABEL_DEVICE_RECORD "parley/device-record/v1"
#define PL__LABEL_SIGNED_PREKEY "parley/signed-prekey/v1"

#define PL__DEVICE_RECORD_VERSION 1u

struct pl_account {
    uint8_t seed[crypto_sign_SEEDBYTES];
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

/* A device identity: an Ed25519 key pair, and its X25519 form used in X3DH. */
struct pl_device {
    uint32_t id;
    uint8_t seed[crypto_sign_SEEDBYTES];
    uint8_t sign_pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sign_sk[crypto_sign_SECRETKEYBYTES];
    uint8_t dh_pk[crypto_scalarmult_BYTES];
    uint8_t dh_sk[crypto_scalarmult_SCALARBYTES];
};

struct pl_signed_prekey {
    uint32_t id;
    uint64_t created_at;
    uint8_t sk[crypto_scalarmult_SCALARBYTES];
    uint8_t pk[crypto_scalarmult_BYTES];
    uint8_t signature[crypto_sign_BYTES];
};

struct pl_onetime_prekey {
    uint32_t id;
    uint8_t sk[crypto_scalarmult_SCALARBYTES];
    uint8_t pk[crypto_scalarmult_BYTES];
};

/* Zeroed sodium_malloc memory (guard pages, mlock'd where allowed), or NULL. */
void *pl__secure_alloc(size_t size);
/* Wipes and frees memory from pl__secure_alloc; accepts NULL. */
void pl__secure_free(void *p);

/* Writes type || raw into out. */
void pl__key_encode(uint8_t out[PL_PUBKEY_BYTES], uint8_t type, const uint8_t raw[32]);
/* Checks the type byte of an encoded key: PL_OK or PL_E_KEY_TYPE. */
int pl__key_check_type(const uint8_t in[PL_PUBKEY_BYTES], uint8_t type);
/* Returns 1 if raw is the canonical encoding of an X25519 public key: below 2^255 - 19.
 * X25519 ignores bit 255 and reduces mod p, so without this check several byte strings
 * would name one key, and a man in the middle could alter keys undetected. */
int pl__x25519_is_canonical(const uint8_t raw[32]);
/* Checks an encoded X25519 public key: PL_OK, PL_E_KEY_TYPE, or PL_E_BAD_KEY if it is not
 * canonical. */
int pl__x25519_key_check(const uint8_t in[PL_PUBKEY_BYTES]);
/* Returns PL_OK if `in` is an Ed25519 key libsodium accepts and can map to X25519
 * (writing that form to x25519 when non-NULL), PL_E_KEY_TYPE or PL_E_BAD_KEY otherwise. */
int pl__ed25519_key_decode(const uint8_t in[PL_PUBKEY_BYTES], uint8_t x25519[32]);

/* Generates an X25519 key pair from rng. */
void pl__x25519_generate(const pl_rng *rng, uint8_t sk[32], uint8_t pk[32]);
/* out = X25519(sk, pk). Returns PL_OK, or PL_E_BAD_KEY when the result is all zero
 * (pk of small order), in which case out is zeroed. */
int pl__x25519(uint8_t out[32], const uint8_t sk[32], const uint8_t pk[32]);

/* Verifies an Ed25519 signature over label || msg. Returns PL_OK or PL_E_BAD_SIGNATURE. */
int pl__verify_labeled(const uint8_t sig[64], const char *label, const uint8_t *msg, size_t msg_len,
                       const uint8_t pk[32]);
/* Signs label || msg (msg_len <= 512). */
void pl__sign_labeled(uint8_t sig[64], const char *label, const uint8_t *msg, size_t msg_len,
                      const uint8_t sk[64]);

#endif
