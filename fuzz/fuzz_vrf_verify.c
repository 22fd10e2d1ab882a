/*
 * fuzz_vrf_verify.c: pl_vrf_verify() and pl_vrf_proof_to_hash() on hostile bytes.
 *
 * Input: pk (32) || pi (80) || alpha (the rest). Shorter inputs are an alpha instead, proved
 * under a fixed seed and verified back.
 *
 * Invariants: verify returns PL_OK, PL_E_BAD_KEY or PL_E_BAD_PROOF only, and zeroes beta on
 * failure; proof_to_hash returns PL_OK or PL_E_BAD_PROOF, zeroing beta on failure; whenever
 * verify accepts, proof_to_hash accepts too and gives the same beta. A proof made by
 * pl_vrf_prove() always verifies, and is deterministic.
 */
#include <string.h>

#include "fuzz.h"

#define INPUT_HEAD (PL_VRF_PUBLIC_KEY_BYTES + PL_VRF_PROOF_BYTES)

static void check_round_trip(const uint8_t *alpha, size_t alpha_len)
{
    static const uint8_t seed[PL_VRF_SECRET_KEY_BYTES] = {
        0x70, 0x61, 0x72, 0x6c, 0x65, 0x79, 0x2d, 0x66,
        0x75, 0x7a, 0x7a, 0x2d, 0x76, 0x72, 0x66, 0x00,
    };
    uint8_t pk[PL_VRF_PUBLIC_KEY_BYTES], pi[PL_VRF_PROOF_BYTES], pi2[PL_VRF_PROOF_BYTES];
    uint8_t beta[PL_VRF_OUTPUT_BYTES], beta2[PL_VRF_OUTPUT_BYTES];

    pl_vrf_keypair_from_seed(seed, pk);
    FZ_CHECK(pl_vrf_prove(seed, alpha, alpha_len, pi) == PL_OK);
    FZ_CHECK(pl_vrf_prove(seed, alpha, alpha_len, pi2) == PL_OK);
    FZ_CHECK(memcmp(pi, pi2, sizeof pi) == 0);
    FZ_CHECK(pl_vrf_verify(pk, alpha, alpha_len, pi, beta) == PL_OK);
    FZ_CHECK(pl_vrf_proof_to_hash(pi, beta2) == PL_OK);
    FZ_CHECK(memcmp(beta, beta2, sizeof beta) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t pk[PL_VRF_PUBLIC_KEY_BYTES], pi[PL_VRF_PROOF_BYTES];
    uint8_t beta[PL_VRF_OUTPUT_BYTES], beta2[PL_VRF_OUTPUT_BYTES];
    uint8_t *alpha;
    size_t alpha_len;
    int rc, rc2;

    if (size < INPUT_HEAD) {
        check_round_trip(size ? data : NULL, size);
        return 0;
    }
    memcpy(pk, data, sizeof pk);
    memcpy(pi, data + sizeof pk, sizeof pi);
    alpha_len = size - INPUT_HEAD;
    alpha = fz_alloc(alpha_len); /* exactly alpha_len bytes, for AddressSanitizer */
    if (alpha_len)
        memcpy(alpha, data + INPUT_HEAD, alpha_len);

    memset(beta, 0xA5, sizeof beta);
    rc = pl_vrf_verify(pk, alpha_len ? alpha : NULL, alpha_len, pi, beta);
    FZ_CHECK_RC(rc);
    FZ_CHECK(rc == PL_OK || rc == PL_E_BAD_KEY || rc == PL_E_BAD_PROOF);

    memset(beta2, 0xA5, sizeof beta2);
    rc2 = pl_vrf_proof_to_hash(pi, beta2);
    FZ_CHECK_RC(rc2);
    FZ_CHECK(rc2 == PL_OK || rc2 == PL_E_BAD_PROOF);
    if (rc2 != PL_OK)
        FZ_CHECK(fz_is_zero(beta2, sizeof beta2));

    if (rc != PL_OK) {
        FZ_CHECK(fz_is_zero(beta, sizeof beta));
    } else {
        FZ_CHECK(rc2 == PL_OK);
        FZ_CHECK(memcmp(beta, beta2, sizeof beta) == 0);
    }
    free(alpha);
    return 0;
}
