/*
 * vrf.c: ECVRF-EDWARDS25519-SHA512-TAI, RFC 9381 suite 0x03 (parley/vrf.h, PROTOCOL.md §17).
 *
 * Built on libsodium 1.0.18's public API, which has no bare point decoder and no
 * double-scalar multiplication:
 *   string_to_point  an explicit y < p check and RFC 8032's "x = 0 with the sign bit set"
 *                    rule, then crypto_core_ed25519_add(P, P) as the decoder (it fails exactly
 *                    when no x solves the curve equation for y);
 *   cofactor * P     three doublings with crypto_core_ed25519_add;
 *   n * P            crypto_scalarmult_ed25519{,_base}_noclamp, which also refuse a point that
 *                    is non-canonical, of small order or outside the prime-order subgroup, a
 *                    zero scalar and an identity result. Callers here pass only checked points
 *                    and scalars below q, and a zero scalar gives the identity (mul_base(),
 *                    mul_point());
 *   scalars mod q    crypto_core_ed25519_scalar_{reduce,mul,add}; "s < q" is checked by hand.
 *
 * Suite 0x03 parameters (§5.5): F = GF(2^255 - 19), fLen = ptLen = qLen = 32, cLen = 16,
 * cofactor 8, B the RFC 8032 base point, Hash = SHA-512, integers little-endian, points RFC
 * 8032 encoded, encode_to_curve by try-and-increment (§5.4.1.1), nonces per RFC 8032
 * (§5.4.2.2).
 */
#include <string.h>

#include <sodium.h>

#include "parley/error.h"
#include "parley/vrf.h"
#include "vrf_internal.h"

#define SUITE_STRING 0x03
#define PT_LEN 32u /* ptLen */
#define C_LEN 16u  /* cLen */
#define Q_LEN 32u  /* qLen */

/* q = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint8_t Q_LE[Q_LEN] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

/* The identity (0, 1), and y = p - 1 (the point (0, -1)): the two points with x = 0. */
static const uint8_t IDENTITY[PT_LEN] = {0x01};
static const uint8_t Y_MINUS_ONE[PT_LEN] = {
    0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};

/* 1 if the 255-bit y of an encoded point is below p = 2^255 - 19. The only 255-bit values
 * >= p are p .. 2^255 - 1: low byte >= 0xed, then all ones. */
static int y_is_canonical(const uint8_t s[PT_LEN])
{
    if ((s[31] & 0x7f) != 0x7f)
        return 1;
    for (int i = 30; i > 0; i--) {
        if (s[i] != 0xff)
            return 1;
    }
    return s[0] < 0xed;
}

/* string_to_point (§5.5: RFC 8032 §5.1.3 decoding): 1 if s is a valid encoding of a point. */
static int string_to_point(const uint8_t s[PT_LEN])
{
    uint8_t t[PT_LEN];

    /* RFC 8032 §5.1.3 step 1: y >= p fails (libsodium's decoder would reduce it). */
    if (!y_is_canonical(s))
        return 0;
    /* Step 4: x = 0 with the sign bit set fails (libsodium's decoder accepts it). */
    if (s[31] & 0x80) {
        memcpy(t, s, sizeof t);
        t[31] &= 0x7f;
        if (sodium_memcmp(t, IDENTITY, sizeof t) == 0 ||
            sodium_memcmp(t, Y_MINUS_ONE, sizeof t) == 0)
            return 0;
    }
    /* Steps 2-3: the decoding itself. */
    return crypto_core_ed25519_add(t, s, s) == 0;
}

/* out = cofactor * P = 8P by three doublings; -1 if P does not decode. */
static int cofactor_mul(uint8_t out[PT_LEN], const uint8_t P[PT_LEN])
{
    uint8_t p2[PT_LEN], p4[PT_LEN];

    if (crypto_core_ed25519_add(p2, P, P) != 0 || crypto_core_ed25519_add(p4, p2, p2) != 0 ||
        crypto_core_ed25519_add(out, p4, p4) != 0)
        return -1;
    return 0;
}

/* 1 if the little-endian s is below q (§5.4.4 step 8). */
static int scalar_is_canonical(const uint8_t s[Q_LEN])
{
    for (int i = (int)Q_LEN - 1; i >= 0; i--) {
        if (s[i] < Q_LE[i])
            return 1;
        if (s[i] > Q_LE[i])
            return 0;
    }
    return 0; /* s == q */
}

/* out = n*B for n < q (0 gives the identity, which libsodium refuses to compute). */
static int mul_base(uint8_t out[PT_LEN], const uint8_t n[Q_LEN])
{
    if (sodium_is_zero(n, Q_LEN)) {
        memcpy(out, IDENTITY, PT_LEN);
        return 0;
    }
    return crypto_scalarmult_ed25519_base_noclamp(out, n) == 0 ? 0 : -1;
}

/* out = n*P for n < q and P a point of the prime-order subgroup other than the identity
 * (checked by the caller; libsodium checks it again). */
static int mul_point(uint8_t out[PT_LEN], const uint8_t n[Q_LEN], const uint8_t P[PT_LEN])
{
    if (sodium_is_zero(n, Q_LEN)) {
        memcpy(out, IDENTITY, PT_LEN);
        return 0;
    }
    return crypto_scalarmult_ed25519_noclamp(out, n, P) == 0 ? 0 : -1;
}

/*
 * RFC 8032 §5.1.5 key expansion: x_clamped is the pruned first half of SHA-512(SK) (what RFC
 * 9381 B.3 lists as x), x its value mod q, prefix the second half (§5.4.2.2's
 * truncated_hashed_sk_string).
 */
static void expand_seed(const uint8_t seed[PL_VRF_SECRET_KEY_BYTES], uint8_t x_clamped[32],
                        uint8_t x[Q_LEN], uint8_t prefix[32])
{
    uint8_t h[crypto_hash_sha512_BYTES];
    uint8_t wide[64];

    crypto_hash_sha512(h, seed, PL_VRF_SECRET_KEY_BYTES);
    memcpy(x_clamped, h, 32);
    x_clamped[0] &= 248;
    x_clamped[31] &= 127;
    x_clamped[31] |= 64;
    memcpy(prefix, h + 32, 32);
    memset(wide, 0, sizeof wide);
    memcpy(wide, x_clamped, 32);
    crypto_core_ed25519_scalar_reduce(x, wide);
    sodium_memzero(h, sizeof h);
    sodium_memzero(wide, sizeof wide);
}

/*
 * ECVRF_encode_to_curve_try_and_increment (§5.4.1.1), encode_to_curve_salt = PK_string:
 *   hash_string = Hash(suite_string || 0x01 || PK_string || alpha_string || ctr_string || 0x00)
 *   H = cofactor * string_to_point(hash_string[0..32)), the first ctr for which that is a point
 *   other than the identity.
 * Returns PL_OK, or PL_E_INVALID_ARG if ctr would pass 255 (probability about 2^-256).
 */
static int encode_to_curve(uint8_t H[PT_LEN], unsigned *ctr_out, const uint8_t Y[PT_LEN],
                           const uint8_t *alpha, size_t alpha_len)
{
    const uint8_t front[2] = {SUITE_STRING, 0x01};
    uint8_t hash_string[crypto_hash_sha512_BYTES];
    crypto_hash_sha512_state st;

    for (unsigned ctr = 0; ctr <= 255; ctr++) {
        const uint8_t back[2] = {(uint8_t)ctr, 0x00}; /* ctr_string || back separator 0x00 */

        crypto_hash_sha512_init(&st);
        crypto_hash_sha512_update(&st, front, sizeof front);
        crypto_hash_sha512_update(&st, Y, PT_LEN);
        if (alpha_len > 0)
            crypto_hash_sha512_update(&st, alpha, alpha_len);
        crypto_hash_sha512_update(&st, back, sizeof back);
        crypto_hash_sha512_final(&st, hash_string);
        /* interpret_hash_value_as_a_point, then H = cofactor * H. */
        if (string_to_point(hash_string) && cofactor_mul(H, hash_string) == 0 &&
            sodium_memcmp(H, IDENTITY, PT_LEN) != 0) {
            *ctr_out = ctr;
            return PL_OK;
        }
    }
    memset(H, 0, PT_LEN);
    return PL_E_INVALID_ARG;
}

/* ECVRF_nonce_generation_RFC8032 (§5.4.2.2): k = SHA-512(prefix || h_string) mod q. */
static void nonce_generation(uint8_t k[Q_LEN], const uint8_t prefix[32], const uint8_t H[PT_LEN])
{
    uint8_t k_string[crypto_hash_sha512_BYTES];
    crypto_hash_sha512_state st;

    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, prefix, 32);
    crypto_hash_sha512_update(&st, H, PT_LEN);
    crypto_hash_sha512_final(&st, k_string);
    crypto_core_ed25519_scalar_reduce(k, k_string);
    sodium_memzero(k_string, sizeof k_string);
    sodium_memzero(&st, sizeof st);
}

/*
 * ECVRF_challenge_generation (§5.4.3):
 *   c = Hash(suite_string || 0x02 || P1 || P2 || P3 || P4 || P5 || 0x00)[0..cLen)
 * with (P1..P5) = (Y, H, Gamma, U, V). c is written as a 32-byte scalar (the high 16 zero).
 */
static void challenge_generation(uint8_t c[Q_LEN], const uint8_t Y[PT_LEN], const uint8_t H[PT_LEN],
                                 const uint8_t Gamma[PT_LEN], const uint8_t U[PT_LEN],
                                 const uint8_t V[PT_LEN])
{
    const uint8_t front[2] = {SUITE_STRING, 0x02};
    const uint8_t back[1] = {0x00};
    uint8_t c_string[crypto_hash_sha512_BYTES];
    crypto_hash_sha512_state st;

    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, front, sizeof front);
    crypto_hash_sha512_update(&st, Y, PT_LEN);
    crypto_hash_sha512_update(&st, H, PT_LEN);
    crypto_hash_sha512_update(&st, Gamma, PT_LEN);
    crypto_hash_sha512_update(&st, U, PT_LEN);
    crypto_hash_sha512_update(&st, V, PT_LEN);
    crypto_hash_sha512_update(&st, back, sizeof back);
    crypto_hash_sha512_final(&st, c_string);
    memset(c, 0, Q_LEN);
    memcpy(c, c_string, C_LEN);
}

/*
 * ECVRF_decode_proof (§5.4.4): pi = Gamma (ptLen) || c (cLen) || s (qLen). Gamma must decode
 * and s be below q; c, 128 bits, is always below q. Returns PL_OK or PL_E_BAD_PROOF.
 */
static int decode_proof(const uint8_t pi[PL_VRF_PROOF_BYTES])
{
    if (!string_to_point(pi) || !scalar_is_canonical(pi + PT_LEN + C_LEN))
        return PL_E_BAD_PROOF;
    return PL_OK;
}

/* ECVRF_proof_to_hash steps 4-6 (§5.2):
 *   beta = Hash(suite_string || 0x03 || point_to_string(cofactor * Gamma) || 0x00). */
static int gamma_to_hash(uint8_t beta[PL_VRF_OUTPUT_BYTES], const uint8_t Gamma[PT_LEN])
{
    const uint8_t front[2] = {SUITE_STRING, 0x03};
    const uint8_t back[1] = {0x00};
    uint8_t cofactor_gamma[PT_LEN];
    crypto_hash_sha512_state st;

    if (cofactor_mul(cofactor_gamma, Gamma) != 0)
        return PL_E_BAD_PROOF;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, front, sizeof front);
    crypto_hash_sha512_update(&st, cofactor_gamma, sizeof cofactor_gamma);
    crypto_hash_sha512_update(&st, back, sizeof back);
    crypto_hash_sha512_final(&st, beta);
    return PL_OK;
}

void pl_vrf_keypair_from_seed(const uint8_t seed[PL_VRF_SECRET_KEY_BYTES],
                              uint8_t pk[PL_VRF_PUBLIC_KEY_BYTES])
{
    uint8_t x_clamped[32], x[Q_LEN], prefix[32];

    expand_seed(seed, x_clamped, x, prefix);
    /* Y = x*B. The clamped scalar is never a multiple of q, so x is never zero. */
    if (mul_base(pk, x) != 0)
        sodium_misuse();
    sodium_memzero(x_clamped, sizeof x_clamped);
    sodium_memzero(x, sizeof x);
    sodium_memzero(prefix, sizeof prefix);
}

int pl__vrf_prove_trace(const uint8_t seed[PL_VRF_SECRET_KEY_BYTES], const uint8_t *alpha,
                        size_t alpha_len, uint8_t pi[PL_VRF_PROOF_BYTES], pl__vrf_trace *trace)
{
    uint8_t x_clamped[32], x[Q_LEN], prefix[32], k[Q_LEN], cx[Q_LEN];
    uint8_t Y[PT_LEN], H[PT_LEN], Gamma[PT_LEN], U[PT_LEN], V[PT_LEN], c[Q_LEN], s[Q_LEN];
    unsigned ctr = 0;
    int r;

    if (alpha == NULL && alpha_len > 0)
        sodium_misuse();
    if (trace)
        memset(trace, 0, sizeof *trace);
    memset(k, 0, sizeof k);
    memset(cx, 0, sizeof cx);

    /* 1. x, and the public key Y = x*B. */
    expand_seed(seed, x_clamped, x, prefix);
    r = PL_E_INVALID_ARG;
    if (mul_base(Y, x) != 0)
        goto out;
    /* 2-3. H = ECVRF_encode_to_curve(encode_to_curve_salt = PK_string, alpha_string). */
    if ((r = encode_to_curve(H, &ctr, Y, alpha, alpha_len)) != PL_OK)
        goto out;
    r = PL_E_INVALID_ARG;
    /* 4. Gamma = x*H. */
    if (mul_point(Gamma, x, H) != 0)
        goto out;
    /* 5. k = ECVRF_nonce_generation(SK, h_string). */
    nonce_generation(k, prefix, H);
    /* 6. c = ECVRF_challenge_generation(Y, H, Gamma, U = k*B, V = k*H). */
    if (mul_base(U, k) != 0 || mul_point(V, k, H) != 0)
        goto out;
    challenge_generation(c, Y, H, Gamma, U, V);
    /* 7. s = (k + c*x) mod q. */
    crypto_core_ed25519_scalar_mul(cx, c, x);
    crypto_core_ed25519_scalar_add(s, k, cx);
    /* 8. pi_string = point_to_string(Gamma) || int_to_string(c, cLen) || int_to_string(s, qLen) */
    memcpy(pi, Gamma, PT_LEN);
    memcpy(pi + PT_LEN, c, C_LEN);
    memcpy(pi + PT_LEN + C_LEN, s, Q_LEN);
    if (trace) {
        memcpy(trace->x, x_clamped, sizeof trace->x);
        trace->ctr = ctr;
        memcpy(trace->H, H, PT_LEN);
        memcpy(trace->k, k, Q_LEN);
        memcpy(trace->U, U, PT_LEN);
        memcpy(trace->V, V, PT_LEN);
    }
    r = PL_OK;
out:
    if (r != PL_OK)
        memset(pi, 0, PL_VRF_PROOF_BYTES);
    sodium_memzero(x_clamped, sizeof x_clamped);
    sodium_memzero(x, sizeof x);
    sodium_memzero(prefix, sizeof prefix);
    sodium_memzero(k, sizeof k);
    sodium_memzero(cx, sizeof cx);
    return r;
}

int pl_vrf_prove(const uint8_t seed[PL_VRF_SECRET_KEY_BYTES], const uint8_t *alpha,
                 size_t alpha_len, uint8_t pi[PL_VRF_PROOF_BYTES])
{
    return pl__vrf_prove_trace(seed, alpha, alpha_len, pi, NULL);
}

int pl__vrf_verify_trace(const uint8_t pk[PL_VRF_PUBLIC_KEY_BYTES], const uint8_t *alpha,
                         size_t alpha_len, const uint8_t pi[PL_VRF_PROOF_BYTES],
                         uint8_t beta[PL_VRF_OUTPUT_BYTES], pl__vrf_trace *trace)
{
    const uint8_t *Y = pk, *Gamma = pi, *s = pi + PT_LEN + C_LEN;
    uint8_t H[PT_LEN], sB[PT_LEN], cY[PT_LEN], sH[PT_LEN], cGamma[PT_LEN], U[PT_LEN], V[PT_LEN];
    uint8_t c[Q_LEN], c_prime[Q_LEN];
    unsigned ctr = 0;
    int r;

    if (alpha == NULL && alpha_len > 0)
        sodium_misuse();
    memset(beta, 0, PL_VRF_OUTPUT_BYTES);
    if (trace)
        memset(trace, 0, sizeof *trace);

    /* 1-3. Y = string_to_point(PK_string) and ECVRF_validate_key(Y) (§5.4.5: 8Y is not the
     * identity); is_valid_point also asks for Y in the prime-order subgroup, which the
     * scalar multiplication c*Y below would demand anyway. */
    r = PL_E_BAD_KEY;
    if (!string_to_point(Y) || crypto_core_ed25519_is_valid_point(Y) != 1)
        goto out;
    /* 4-6. (Gamma, c, s) = ECVRF_decode_proof(pi_string); Gamma too must lie in the
     * prime-order subgroup, for c*Gamma below. */
    r = PL_E_BAD_PROOF;
    if (decode_proof(pi) != PL_OK || crypto_core_ed25519_is_valid_point(Gamma) != 1)
        goto out;
    memset(c, 0, sizeof c);
    memcpy(c, pi + PT_LEN, C_LEN);
    /* 7. H = ECVRF_encode_to_curve(encode_to_curve_salt = PK_string, alpha_string). No proof
     * exists for an alpha that does not encode. */
    if (encode_to_curve(H, &ctr, Y, alpha, alpha_len) != PL_OK)
        goto out;
    /* 8. U = s*B - c*Y. */
    if (mul_base(sB, s) != 0 || mul_point(cY, c, Y) != 0 || crypto_core_ed25519_sub(U, sB, cY) != 0)
        goto out;
    /* 9. V = s*H - c*Gamma. */
    if (mul_point(sH, s, H) != 0 || mul_point(cGamma, c, Gamma) != 0 ||
        crypto_core_ed25519_sub(V, sH, cGamma) != 0)
        goto out;
    if (trace) {
        trace->ctr = ctr;
        memcpy(trace->H, H, PT_LEN);
        memcpy(trace->U, U, PT_LEN);
        memcpy(trace->V, V, PT_LEN);
    }
    /* 10. c' = ECVRF_challenge_generation(Y, H, Gamma, U, V). */
    challenge_generation(c_prime, Y, H, Gamma, U, V);
    /* 11. c == c' ? ("VALID", ECVRF_proof_to_hash(pi_string)) : "INVALID". */
    if (crypto_verify_16(c_prime, c) != 0)
        goto out;
    if ((r = gamma_to_hash(beta, Gamma)) != PL_OK)
        goto out;
    r = PL_OK;
out:
    if (r != PL_OK)
        memset(beta, 0, PL_VRF_OUTPUT_BYTES);
    return r;
}

int pl_vrf_verify(const uint8_t pk[PL_VRF_PUBLIC_KEY_BYTES], const uint8_t *alpha, size_t alpha_len,
                  const uint8_t pi[PL_VRF_PROOF_BYTES], uint8_t beta[PL_VRF_OUTPUT_BYTES])
{
    return pl__vrf_verify_trace(pk, alpha, alpha_len, pi, beta, NULL);
}

int pl_vrf_proof_to_hash(const uint8_t pi[PL_VRF_PROOF_BYTES], uint8_t beta[PL_VRF_OUTPUT_BYTES])
{
    int r;

    memset(beta, 0, PL_VRF_OUTPUT_BYTES);
    /* 1-3. (Gamma, c, s) = ECVRF_decode_proof(pi_string). */
    if ((r = decode_proof(pi)) != PL_OK)
        return r;
    /* 4-6. */
    if ((r = gamma_to_hash(beta, pi)) != PL_OK)
        memset(beta, 0, PL_VRF_OUTPUT_BYTES);
    return r;
}
