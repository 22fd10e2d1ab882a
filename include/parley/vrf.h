/*
 * parley/vrf.h: the verifiable random function of key transparency, ECVRF-EDWARDS25519-
 * SHA512-TAI (RFC 9381 suite 0x03; docs/PROTOCOL.md §17).
 *
 * The server proves pi = Prove(SK, alpha) for a label alpha; anyone holding its public key
 * checks pi and obtains the output beta, which only the holder of SK could have computed.
 * Key transparency truncates beta to its first 32 bytes; the caller does that.
 *
 *   secret key  the 32-byte RFC 8032 seed (SK)
 *   public key  Y = x*B, RFC 8032 encoded (32 bytes, as an Ed25519 public key)
 *   proof       pi = point_to_string(Gamma) (32) || c (16) || s (32), integers little-endian
 *   output      beta = SHA-512(0x03 || 0x03 || point_to_string(8*Gamma) || 0x00) (64)
 *
 * Everything is deterministic: no RNG, no state. Verification is stricter than RFC 9381 in
 * one respect (PROTOCOL.md §17): the public key and Gamma must lie in the prime-order
 * subgroup, which every honestly made key and proof does.
 */
#ifndef PARLEY_VRF_H
#define PARLEY_VRF_H

#include <stddef.h>
#include <stdint.h>

#include "parley/defs.h"

#define PL_VRF_PUBLIC_KEY_BYTES 32u
#define PL_VRF_SECRET_KEY_BYTES 32u
#define PL_VRF_PROOF_BYTES 80u
#define PL_VRF_OUTPUT_BYTES 64u

/* Derives the public key from the secret seed as RFC 8032 §5.1.5 does (the same bytes as
 * the Ed25519 public key of that seed). Cannot fail. */
PL_API void pl_vrf_keypair_from_seed(const uint8_t seed[PL_VRF_SECRET_KEY_BYTES],
                                     uint8_t pk[PL_VRF_PUBLIC_KEY_BYTES]);

/*
 * Writes the proof pi for alpha (alpha_len bytes; alpha may be NULL when alpha_len is 0)
 * under the secret seed (RFC 9381 §5.1). Returns PL_OK, or PL_E_INVALID_ARG in the
 * never-observed case (probability about 2^-256) that alpha cannot be hashed to the curve
 * by try-and-increment within 256 attempts; pi is then zeroed. The seed is not kept.
 */
PL_API PL_NODISCARD int pl_vrf_prove(const uint8_t seed[PL_VRF_SECRET_KEY_BYTES],
                                     const uint8_t *alpha, size_t alpha_len,
                                     uint8_t pi[PL_VRF_PROOF_BYTES]);

/*
 * Verifies pi for alpha (as for pl_vrf_prove()) under the public key pk (RFC 9381 §5.3, with
 * validate_key) and on success writes the output beta. Returns PL_OK; PL_E_BAD_KEY if pk is not the
 * canonical encoding of a curve point, has small order (§5.4.5) or lies outside the prime-order
 * subgroup; PL_E_BAD_PROOF if pi does not decode (Gamma not a canonical point of the
 * subgroup, s >= L) or does not verify. beta is zeroed on every error.
 */
PL_API PL_NODISCARD int pl_vrf_verify(const uint8_t pk[PL_VRF_PUBLIC_KEY_BYTES],
                                      const uint8_t *alpha, size_t alpha_len,
                                      const uint8_t pi[PL_VRF_PROOF_BYTES],
                                      uint8_t beta[PL_VRF_OUTPUT_BYTES]);

/*
 * Computes the output beta of a proof without verifying it (RFC 9381 §5.2): use it only on
 * a proof that pl_vrf_verify() accepted, or that this side made. Returns PL_OK, or
 * PL_E_BAD_PROOF if pi does not decode (Gamma is not an RFC 8032 canonical point encoding,
 * or s >= L); beta is then zeroed.
 */
PL_API PL_NODISCARD int pl_vrf_proof_to_hash(const uint8_t pi[PL_VRF_PROOF_BYTES],
                                             uint8_t beta[PL_VRF_OUTPUT_BYTES]);

#endif
