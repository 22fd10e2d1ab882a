/*
 * parley/keys.h: account keys, device identities, prekeys and prekey bundles.
 *
 * Trust chain (PROTOCOL.md §3):
 *   account key (Ed25519) --signs--> device record (device id, device identity key, time)
 *   device identity key (Ed25519) --signs--> signed prekey (X25519)
 * A one-time prekey is an unsigned X25519 key used at most once.
 *
 * Objects holding private keys are opaque, live in sodium_malloc'd memory and are
 * wiped by their free function (which accepts NULL). Public parts are plain bytes.
 */
#ifndef PARLEY_KEYS_H
#define PARLEY_KEYS_H

#include "parley/defs.h"
#include "parley/random.h"

/* ---- Account key ------------------------------------------------------------------------ */

typedef struct pl_account pl_account;

/* Creates a new account key pair. Returns PL_OK and *out, or PL_E_NOMEM. */
PL_API PL_NODISCARD int pl_account_generate(pl_account **out, const pl_rng *rng);
PL_API void pl_account_free(pl_account *account);
/* Writes the account's encoded public key (type PL_KEY_TYPE_ED25519). */
PL_API void pl_account_public_key(const pl_account *account, uint8_t out[PL_PUBKEY_BYTES]);

/*
 * Signs a device record binding device_id and the device's identity key to this account.
 * Returns PL_OK, or PL_E_KEY_TYPE / PL_E_BAD_KEY if identity_key is not an Ed25519 key.
 */
PL_API PL_NODISCARD int pl_account_sign_device(const pl_account *account, uint32_t device_id,
                                               const uint8_t identity_key[PL_PUBKEY_BYTES],
                                               uint64_t created_at,
                                               uint8_t out_record[PL_DEVICE_RECORD_BYTES]);

/* ---- Device records --------------------------------------------------------------------- */

typedef struct pl_device_record {
    uint8_t account_key[PL_PUBKEY_BYTES];
    uint32_t device_id;
    uint8_t identity_key[PL_PUBKEY_BYTES];
    uint64_t created_at; /* seconds since the Unix epoch, as the signer stated it */
} pl_device_record;

/*
 * Parses a signed device record and verifies it. When account_key is non-NULL the record
 * must name that account (else PL_E_IDENTITY_MISMATCH) and carry its valid signature (else
 * PL_E_BAD_SIGNATURE); with NULL the signature is checked against the key the record names.
 * On any error *out is zeroed.
 */
PL_API PL_NODISCARD int pl_device_record_verify(const uint8_t *record, size_t len,
                                                const uint8_t *account_key, pl_device_record *out);

/* ---- Device identity -------------------------------------------------------------------- */

typedef struct pl_device pl_device;

/* Creates a device identity key pair for device_id. Returns PL_OK or PL_E_NOMEM. */
PL_API PL_NODISCARD int pl_device_generate(pl_device **out, const pl_rng *rng, uint32_t device_id);
PL_API void pl_device_free(pl_device *device);
PL_API uint32_t pl_device_id(const pl_device *device);
/* Writes the device's encoded identity key (type PL_KEY_TYPE_ED25519). */
PL_API void pl_device_identity_key(const pl_device *device, uint8_t out[PL_PUBKEY_BYTES]);

/* ---- Prekeys ---------------------------------------------------------------------------- */

typedef struct pl_signed_prekey pl_signed_prekey;

typedef struct pl_signed_prekey_info {
    uint32_t id;
    uint8_t key[PL_PUBKEY_BYTES]; /* type PL_KEY_TYPE_X25519 */
    uint64_t created_at;
} pl_signed_prekey_info;

/* Creates signed prekey `id`, signed by device's identity key. Returns PL_OK or PL_E_NOMEM. */
PL_API PL_NODISCARD int pl_signed_prekey_generate(pl_signed_prekey **out, const pl_rng *rng,
                                                  const pl_device *device, uint32_t id,
                                                  uint64_t created_at);
PL_API void pl_signed_prekey_free(pl_signed_prekey *prekey);
PL_API uint32_t pl_signed_prekey_id(const pl_signed_prekey *prekey);
/* Writes the public part (id, key, creation time, signature) for upload. */
PL_API void pl_signed_prekey_public(const pl_signed_prekey *prekey,
                                    uint8_t out[PL_SIGNED_PREKEY_PUBLIC_BYTES]);
/*
 * Parses a signed prekey's public part and verifies its signature under identity_key.
 * Returns PL_OK, PL_E_TRUNCATED, PL_E_MALFORMED, PL_E_KEY_TYPE, PL_E_BAD_KEY or
 * PL_E_BAD_SIGNATURE; on error *out is zeroed.
 */
PL_API PL_NODISCARD int pl_signed_prekey_verify(const uint8_t *in, size_t len,
                                                const uint8_t identity_key[PL_PUBKEY_BYTES],
                                                pl_signed_prekey_info *out);

typedef struct pl_onetime_prekey pl_onetime_prekey;

PL_API PL_NODISCARD int pl_onetime_prekey_generate(pl_onetime_prekey **out, const pl_rng *rng,
                                                   uint32_t id);
PL_API void pl_onetime_prekey_free(pl_onetime_prekey *prekey);
PL_API uint32_t pl_onetime_prekey_id(const pl_onetime_prekey *prekey);
PL_API void pl_onetime_prekey_public(const pl_onetime_prekey *prekey,
                                     uint8_t out[PL_ONETIME_PREKEY_PUBLIC_BYTES]);
/* Parses a one-time prekey's public part. Returns PL_OK or a decoding error. */
PL_API PL_NODISCARD int pl_onetime_prekey_parse(const uint8_t *in, size_t len, uint32_t *id,
                                                uint8_t key[PL_PUBKEY_BYTES]);

/* ---- Prekey bundles --------------------------------------------------------------------- */

typedef struct pl_bundle {
    pl_device_record device;
    pl_signed_prekey_info signed_prekey;
    int has_onetime_prekey;
    uint32_t onetime_prekey_id;
    uint8_t onetime_prekey[PL_PUBKEY_BYTES];
} pl_bundle;

/*
 * Assembles a bundle from its encoded parts (as a server does). onetime_prekey may be NULL.
 * Checks only lengths; returns PL_OK with *out_len set, or PL_E_BUFFER_TOO_SMALL.
 */
PL_API PL_NODISCARD int pl_bundle_encode(const uint8_t device_record[PL_DEVICE_RECORD_BYTES],
                                         const uint8_t signed_prekey[PL_SIGNED_PREKEY_PUBLIC_BYTES],
                                         const uint8_t *onetime_prekey, uint8_t *out, size_t cap,
                                         size_t *out_len);

/*
 * Parses a bundle and verifies all of it: the device record under account_key (required),
 * the signed prekey under the record's identity key, every key's type and validity.
 * Returns PL_OK or the first failure; on error *out is zeroed.
 */
PL_API PL_NODISCARD int pl_bundle_verify(const uint8_t *in, size_t len,
                                         const uint8_t account_key[PL_PUBKEY_BYTES],
                                         pl_bundle *out);

/* ---- Saving and loading ------------------------------------------------------------------
 * Saved state is versioned and checksummed (PROTOCOL.md §9). It contains private keys:
 * the caller stores it encrypted and wipes its copies. Loading rejects truncated, corrupted
 * or foreign blobs with PL_E_TRUNCATED, PL_E_MALFORMED (trailing bytes, a non-canonical
 * body), PL_E_CORRUPT, PL_E_WRONG_KIND or PL_E_VERSION, and allocates nothing in that case.
 */
#define PL_ACCOUNT_SAVED_BYTES (8u + 32u + 16u)
#define PL_DEVICE_SAVED_BYTES (8u + 4u + 32u + 16u)
#define PL_SIGNED_PREKEY_SAVED_BYTES (8u + 4u + 32u + 8u + 64u + 16u)
#define PL_ONETIME_PREKEY_SAVED_BYTES (8u + 4u + 32u + 16u)

PL_API void pl_account_save(const pl_account *account, uint8_t out[PL_ACCOUNT_SAVED_BYTES]);
PL_API PL_NODISCARD int pl_account_load(pl_account **out, const uint8_t *in, size_t len);
PL_API void pl_device_save(const pl_device *device, uint8_t out[PL_DEVICE_SAVED_BYTES]);
PL_API PL_NODISCARD int pl_device_load(pl_device **out, const uint8_t *in, size_t len);
PL_API void pl_signed_prekey_save(const pl_signed_prekey *prekey,
                                  uint8_t out[PL_SIGNED_PREKEY_SAVED_BYTES]);
PL_API PL_NODISCARD int pl_signed_prekey_load(pl_signed_prekey **out, const uint8_t *in,
                                              size_t len);
PL_API void pl_onetime_prekey_save(const pl_onetime_prekey *prekey,
                                   uint8_t out[PL_ONETIME_PREKEY_SAVED_BYTES]);
PL_API PL_NODISCARD int pl_onetime_prekey_load(pl_onetime_prekey **out, const uint8_t *in,
                                               size_t len);

#endif
