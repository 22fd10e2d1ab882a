/*
 * parley/kt_commit.h: key transparency commitments and their openings (PROTOCOL.md §19.4;
 * shared/research/key-transparency.md §3.2, after draft-ietf-keytrans-protocol).
 *
 *   opening    = BLAKE2b-128(key = open_key, u8 len || label || u32 version)
 *   commitment = HMAC-SHA256(Kc, opening || u8 len || label || u32 version
 *                                || u32 value_len || value)
 *
 * Kc is the 16-byte fixed commitment key of the IETF draft's suites,
 * d821f8790d97709796b4d7903357c3f5 (hex-decoded). open_key is the log's secret opening key
 * for a period: deleting it forgets every opening it derived. The opening is
 * indistinguishable from the draft's random 16 bytes to anyone without open_key.
 *
 * Labels are at most 255 bytes (their length is one byte); values at most 2^32 - 1.
 */
#ifndef PARLEY_KT_COMMIT_H
#define PARLEY_KT_COMMIT_H

#include "parley/defs.h"

#define PL_KT_OPENING_BYTES 16u
#define PL_KT_OPEN_KEY_BYTES 32u
#define PL_KT_COMMITMENT_BYTES 32u
#define PL_KT_LABEL_MAX_BYTES 255u

/*
 * Derives the opening of (label, version) under open_key. label may be NULL when label_len
 * is 0. Returns PL_OK, or PL_E_TOO_LARGE (label_len > 255) with out zeroed.
 */
PL_API PL_NODISCARD int pl_kt_opening(uint8_t out[PL_KT_OPENING_BYTES],
                                      const uint8_t open_key[PL_KT_OPEN_KEY_BYTES],
                                      const uint8_t *label, size_t label_len, uint32_t version);

/*
 * Computes the commitment to value for (label, version) with opening. label and value may
 * be NULL when their length is 0. Returns PL_OK, or PL_E_TOO_LARGE (label_len > 255 or
 * value_len > 2^32 - 1) with out zeroed.
 */
PL_API PL_NODISCARD int pl_kt_commitment(uint8_t out[PL_KT_COMMITMENT_BYTES],
                                         const uint8_t opening[PL_KT_OPENING_BYTES],
                                         const uint8_t *label, size_t label_len, uint32_t version,
                                         const uint8_t *value, size_t value_len);

/*
 * Checks that commitment opens to value for (label, version) with opening, comparing in
 * constant time. Returns PL_OK, PL_E_BAD_PROOF if it does not, or PL_E_TOO_LARGE.
 */
PL_API PL_NODISCARD int pl_kt_commitment_verify(const uint8_t commitment[PL_KT_COMMITMENT_BYTES],
                                                const uint8_t opening[PL_KT_OPENING_BYTES],
                                                const uint8_t *label, size_t label_len,
                                                uint32_t version, const uint8_t *value,
                                                size_t value_len);

#endif
