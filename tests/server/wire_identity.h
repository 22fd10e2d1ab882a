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
    /* The last account state (PROTOCOL.md §19, §24.3) the server accepted; 0 before. */
    uint8_t state[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t state_len;
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

/* The live account (made by wi_account_new, not yet freed) named username, or NULL. The
 * wire_ops requests use it to build each account state. */
wi_account *wi_account_find(const char *username);
/* The live account with this account key, or NULL. */
wi_account *wi_account_find_key(const uint8_t account_key[PL_PUBKEY_BYTES]);

/*
 * Builds, signed by a's account key, the state that follows a's last accepted one: with
 * add_record (non-NULL) added, or device remove_id taken out; with no state yet, seq 0
 * listing exactly add_record. Returns 0 with out[0..*len), or -1 when no such state can be
 * made (a record of another account, an id not listed, nothing left).
 */
int wi_next_state(const wi_account *a, const uint8_t *add_record, uint32_t remove_id,
                  uint8_t out[PL_ACCOUNT_STATE_MAX_BYTES], size_t *len);

/* Records state[0..len) as a's last accepted state (the server said OK). */
void wi_accept_state(wi_account *a, const uint8_t *state, size_t len);

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
