/*
 * wire_identity.h: the keys a test client needs, made with libparley (include/parley/keys.h):
 * an account key, devices with records signed by it, signed and one-time prekeys, and the
 * two statements the wire protocol adds (PROTOCOL.md §11.3 and §11.6):
 *
 *   auth:    "parley/auth/v1" || challenge (32) || exporter (32) || username || device_id u32
 *            Ed25519 by the device identity key
 *   removal: "parley/remove-device/v1" || Encode(account key) (33) || device_id u32
 *            Ed25519 by the account key
 *
 * Both are made with libparley's parley/statement.h. The *_spec variants build the same
 * statements independently, from the specification's text, signing with the Ed25519 seed
 * taken from the saved form (PROTOCOL.md §9.2); a test checks that both agree.
 *
 * Failures of the library (out of memory) fail the test (cmocka fail_msg).
 */
#ifndef PARLEYD_WIRE_IDENTITY_H
#define PARLEYD_WIRE_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "parley/parley.h"

#define WI_MAX_DEVICES 20
#define WI_NAME_MAX 64

typedef struct wi_device {
    pl_device *dev;
    uint32_t id;
    uint8_t identity_key[PL_PUBKEY_BYTES];
    uint8_t record[PL_DEVICE_RECORD_BYTES]; /* signed by the account key */
    int removed;                            /* set by the test once the server removed it */
} wi_device;

typedef struct wi_account {
    char username[WI_NAME_MAX];
    pl_account *acct;
    uint8_t account_key[PL_PUBKEY_BYTES];
    wi_device devices[WI_MAX_DEVICES];
    size_t n_devices;
} wi_account;

/* Creates an account key for username (copied) with device 1. Free with wi_account_free. */
wi_account *wi_account_new(const char *username);

/* Frees a and its keys; accepts NULL. */
void wi_account_free(wi_account *a);

/* Generates device device_id and its record signed by a's account key, and appends it.
 * Returns it (owned by a). */
wi_device *wi_device_new(wi_account *a, uint32_t device_id);

/* Returns a's device with this id, or NULL. */
wi_device *wi_device_get(wi_account *a, uint32_t device_id);

/* Writes a fresh username "<prefix><n>" (n counts up per process) into out. */
void wi_unique_name(char *out, size_t cap, const char *prefix);

/* The auth statement's signature (above) by d's identity key. */
void wi_auth_signature(const wi_device *d, const uint8_t challenge[32], const uint8_t exporter[32],
                       const char *username, uint8_t sig[64]);

/* The removal statement's signature (above) for device_id by a's account key. */
void wi_removal_signature(const wi_account *a, uint32_t device_id, uint8_t sig[64]);

/* The same two signatures, built from PROTOCOL.md's text instead of libparley's API. */
void wi_auth_signature_spec(const wi_device *d, const uint8_t challenge[32],
                            const uint8_t exporter[32], const char *username, uint8_t sig[64]);
void wi_removal_signature_spec(const wi_account *a, uint32_t device_id, uint8_t sig[64]);

/* Writes signed prekey `id` of d, public part (§4.1). */
void wi_signed_prekey(const wi_device *d, uint32_t id, uint8_t out[PL_SIGNED_PREKEY_PUBLIC_BYTES]);

/* Writes a fresh one-time prekey with this id, public part (§4.2). */
void wi_onetime_prekey(uint32_t id, uint8_t out[PL_ONETIME_PREKEY_PUBLIC_BYTES]);

#endif
