/*
 * kdf.h: HMAC-SHA256 and HKDF-SHA256 (RFC 2104, RFC 5869) on libsodium's HMAC.
 *
 * libsodium 1.0.18 (Debian 12) has HMAC-SHA256 but not HKDF; HKDF here is RFC 5869's
 * extract-then-expand written over crypto_auth_hmacsha256, checked against the RFC's
 * test cases. Internal to libparley (the pl__ prefix); tests link it from the static library.
 */
#ifndef PARLEY_CORE_KDF_H
#define PARLEY_CORE_KDF_H

#include <stddef.h>
#include <stdint.h>

#define PL__HMAC_BYTES 32u
#define PL__HKDF_MAX_OUTPUT (255u * PL__HMAC_BYTES)

/* out = HMAC-SHA256(key, msg). Any key length. */
void pl__hmac_sha256(uint8_t out[PL__HMAC_BYTES], const uint8_t *key, size_t key_len,
                     const uint8_t *msg, size_t msg_len);

/* out = HMAC-SHA256(key, part1 || part2); spares callers a concatenation buffer. */
void pl__hmac_sha256_2(uint8_t out[PL__HMAC_BYTES], const uint8_t *key, size_t key_len,
                       const uint8_t *part1, size_t len1, const uint8_t *part2, size_t len2);

/* out1 = HMAC-SHA256(key, msg1), out2 = HMAC-SHA256(key, msg2) for one-byte messages,
 * sharing the keyed state (the Double Ratchet's KDF_CK). out1 and out2 may alias key. */
void pl__hmac_sha256_pair(uint8_t out1[PL__HMAC_BYTES], uint8_t out2[PL__HMAC_BYTES],
                          const uint8_t key[32], uint8_t msg1, uint8_t msg2);

/*
 * RFC 5869 HKDF-SHA256. salt may be NULL (treated as 32 zero bytes, per the RFC).
 * Returns 0, or -1 if out_len exceeds PL__HKDF_MAX_OUTPUT. Wipes its intermediates.
 */
int pl__hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                    const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len);

#endif
