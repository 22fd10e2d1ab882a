/*
 * parley/fingerprint.h: key fingerprints and safety numbers (PROTOCOL.md §8).
 *
 * A safety number is what two people compare to know that they hold each other's real
 * account keys. It is built as Signal's numeric fingerprint: 30 digits per account from
 * 5200 iterations of SHA-512 over the account key and the account's name, the two halves
 * sorted so both sides see the same 60 digits. It depends only on the two account keys and
 * names, so devices can come and go without changing it.
 */
#ifndef PARLEY_FINGERPRINT_H
#define PARLEY_FINGERPRINT_H

#include "parley/defs.h"

#define PL_SAFETY_NUMBER_DIGITS 60u
#define PL_ACCOUNT_FINGERPRINT_DIGITS 30u
#define PL_FINGERPRINT_ITERATIONS 5200u
#define PL_NAME_MAX_BYTES 255u
/* "xxxx xxxx ... xxxx": 8 groups of 4 hex digits, the first 16 bytes of SHA-256(encoded key). */
#define PL_KEY_FINGERPRINT_CHARS (8u * 4u + 7u)

/*
 * Writes the 30-digit displayable fingerprint of one account plus a NUL.
 * name is the account's stable identifier (its username), name_len <= PL_NAME_MAX_BYTES.
 * Returns PL_OK, PL_E_KEY_TYPE, or PL_E_TOO_LARGE.
 */
PL_API PL_NODISCARD int pl_account_fingerprint(const uint8_t account_key[PL_PUBKEY_BYTES],
                                               const char *name, size_t name_len,
                                               char out[PL_ACCOUNT_FINGERPRINT_DIGITS + 1]);

/*
 * Writes the 60-digit safety number of two accounts plus a NUL. Symmetric: swapping the
 * local and remote arguments gives the same digits. Returns as pl_account_fingerprint().
 */
PL_API PL_NODISCARD int pl_safety_number(const uint8_t local_key[PL_PUBKEY_BYTES],
                                         const char *local_name, size_t local_name_len,
                                         const uint8_t remote_key[PL_PUBKEY_BYTES],
                                         const char *remote_name, size_t remote_name_len,
                                         char out[PL_SAFETY_NUMBER_DIGITS + 1]);

/* Writes a key's hexadecimal fingerprint, grouped for reading aloud, plus a NUL. */
PL_API void pl_key_fingerprint(const uint8_t key[PL_PUBKEY_BYTES],
                               char out[PL_KEY_FINGERPRINT_CHARS + 1]);

#endif
