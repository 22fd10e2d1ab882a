/*
 * parley/statement.h: the signed statements of the wire protocol (docs/PROTOCOL.md §11.3,
 * §11.6), so that a client and parleyd build them from one definition.
 *
 * Device authentication: a device proves it holds its identity key on one TLS connection by
 * signing
 *     "parley/auth/v1" || challenge (32) || exporter (32) || username || device_id u32
 * with its identity key (Ed25519). The username is the only variable-length field and the
 * fixed-size fields enclose it, so the statement parses one way only.
 *
 * Device removal: the account key signs
 *     "parley/remove-device/v1" || Encode(account key) (33) || device_id u32
 * which makes the removal of that one device of that one account final.
 */
#ifndef PARLEY_STATEMENT_H
#define PARLEY_STATEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "parley/defs.h"
#include "parley/keys.h"

#define PL_AUTH_CHALLENGE_BYTES 32u
#define PL_AUTH_EXPORTER_BYTES 32u

/*
 * Signs the authentication statement with device's identity key. username is
 * username_len bytes (1..PL_AUTH_USERNAME_MAX_BYTES). Returns PL_OK, or PL_E_INVALID_ARG
 * for a bad username length (sig is then zeroed).
 */
#define PL_AUTH_USERNAME_MAX_BYTES 255u
PL_API PL_NODISCARD int pl_auth_sign(const pl_device *device,
                                     const uint8_t challenge[PL_AUTH_CHALLENGE_BYTES],
                                     const uint8_t exporter[PL_AUTH_EXPORTER_BYTES],
                                     const char *username, size_t username_len, uint32_t device_id,
                                     uint8_t sig[PL_SIGNATURE_BYTES]);

/*
 * Verifies an authentication statement's signature under identity_key (an encoded Ed25519
 * key, e.g. from the device's record). Returns PL_OK; PL_E_BAD_SIGNATURE; PL_E_KEY_TYPE or
 * PL_E_BAD_KEY for a key that is not a valid Ed25519 key; PL_E_INVALID_ARG for a bad
 * username length.
 */
PL_API PL_NODISCARD int pl_auth_verify(const uint8_t identity_key[PL_PUBKEY_BYTES],
                                       const uint8_t challenge[PL_AUTH_CHALLENGE_BYTES],
                                       const uint8_t exporter[PL_AUTH_EXPORTER_BYTES],
                                       const char *username, size_t username_len,
                                       uint32_t device_id, const uint8_t sig[PL_SIGNATURE_BYTES]);

/* Signs the removal statement for device_id with the account key. */
PL_API void pl_removal_sign(const pl_account *account, uint32_t device_id,
                            uint8_t sig[PL_SIGNATURE_BYTES]);

/* Verifies a removal statement under account_key. Returns PL_OK, PL_E_BAD_SIGNATURE,
 * PL_E_KEY_TYPE or PL_E_BAD_KEY. */
PL_API PL_NODISCARD int pl_removal_verify(const uint8_t account_key[PL_PUBKEY_BYTES],
                                          uint32_t device_id,
                                          const uint8_t sig[PL_SIGNATURE_BYTES]);

#endif
