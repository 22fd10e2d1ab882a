/*
 * vrf_internal.h: the VRF's intermediate values, for the known-answer tests only
 * (tests/test_vrf.c checks them against RFC 9381 Appendix B.3).
 */
#ifndef PARLEY_VRF_INTERNAL_H
#define PARLEY_VRF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "parley/vrf.h"

/* The values RFC 9381 B.3 lists for each example. x is secret: a test-only copy. */
typedef struct pl__vrf_trace {
    uint8_t x[32]; /* secret scalar: the clamped first half of SHA-512(SK) (RFC 8032 §5.1.5) */
    unsigned ctr;  /* the try-and-increment counter that gave H (§5.4.1.1) */
    uint8_t H[32]; /* point_to_string(H) */
    uint8_t k[32]; /* the nonce k, little-endian (prove only) */
    uint8_t U[32]; /* k*B when proving, s*B - c*Y when verifying */
    uint8_t V[32]; /* k*H when proving, s*H - c*Gamma when verifying */
} pl__vrf_trace;

/* pl_vrf_prove() that also fills *trace (when non-NULL; x and k are then in it). */
int pl__vrf_prove_trace(const uint8_t seed[PL_VRF_SECRET_KEY_BYTES], const uint8_t *alpha,
                        size_t alpha_len, uint8_t pi[PL_VRF_PROOF_BYTES], pl__vrf_trace *trace);

/* pl_vrf_verify() that also fills ctr, H, U and V of *trace (when non-NULL) as far as it
 * got; x and k are left zero. */
int pl__vrf_verify_trace(const uint8_t pk[PL_VRF_PUBLIC_KEY_BYTES], const uint8_t *alpha,
                         size_t alpha_len, const uint8_t pi[PL_VRF_PROOF_BYTES],
                         uint8_t beta[PL_VRF_OUTPUT_BYTES], pl__vrf_trace *trace);

#endif
