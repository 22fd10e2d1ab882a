/*
 * test_vrf.c: ECVRF-EDWARDS25519-SHA512-TAI (parley/vrf.h, src/core/vrf.c).
 *
 * Known answers: RFC 9381 Appendix B.3, Examples 16-18, read at run time from
 * tests/vectors/rfc9381/ecvrf-edwards25519-sha512-tai.json (a copy of the shared vector file),
 * including the intermediate x, ctr, H, k, U and V through src/core/vrf_internal.h. Then what
 * verification must refuse: every single-bit change of pi, alpha and pk, non-canonical Gamma
 * encodings, s >= q, small-order and mixed-order keys; and round trips under random keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "fixture.h"
#include "parley/parley.h"
#include "testutil.h"
#include "vrf_internal.h"

#define VECTOR_FILE PARLEY_TEST_VECTORS_DIR "/rfc9381/ecvrf-edwards25519-sha512-tai.json"
#define VECTOR_COUNT 3
#define ALPHA_MAX 16u

typedef struct vrf_vector {
    int example;
    uint8_t sk[32], pk[32], x[32];
    uint8_t alpha[ALPHA_MAX];
    size_t alpha_len;
    unsigned ctr;
    uint8_t H[32], k[32], U[32], V[32];
    uint8_t pi[PL_VRF_PROOF_BYTES], beta[PL_VRF_OUTPUT_BYTES];
} vrf_vector;

static vrf_vector vectors[VECTOR_COUNT];

/* ---- A reader for exactly the shape of the vector file ---------------------------------- */

/* The text of field `name` ("name": "<hex>" or "name": <digits>) inside [obj, end), copied
 * NUL-terminated into out; fails the test if it is missing or too long. */
static void json_field(const char *obj, const char *end, const char *name, char *out, size_t cap)
{
    char key[32];
    const char *p, *v;
    size_t n;

    snprintf(key, sizeof key, "\"%s\":", name);
    p = strstr(obj, key);
    if (p == NULL || p >= end)
        fail_msg("vector file: field %s missing", name);
    v = p + strlen(key);
    while (*v == ' ')
        v++;
    if (*v == '"')
        v++;
    for (n = 0; v[n] != '"' && v[n] != ',' && v[n] != '\n' && v[n] != '\0'; n++)
        ;
    if (n >= cap)
        fail_msg("vector file: field %s too long", name);
    memcpy(out, v, n);
    out[n] = '\0';
}

/* Decodes field `name` as hex of exactly `len` bytes. */
static void json_hex(const char *obj, const char *end, const char *name, uint8_t *out, size_t len)
{
    char hex[2 * PL_VRF_PROOF_BYTES + 1];

    json_field(obj, end, name, hex, sizeof hex);
    assert_int_equal(strlen(hex), 2 * len);
    assert_int_equal(tu_unhex(hex, out, len), len);
}

static int load_vectors(void **state)
{
    size_t file_len = 0;
    char *file;

    (void)state;
    if (pl_init() != PL_OK)
        return -1;
    file = (char *)tu_read_file(VECTOR_FILE, &file_len);
    if (file == NULL) {
        fprintf(stderr, "cannot read %s\n", VECTOR_FILE);
        return -1;
    }
    for (int i = 0; i < VECTOR_COUNT; i++) {
        vrf_vector *v = &vectors[i];
        char key[32], text[2 * ALPHA_MAX + 1];
        const char *obj, *end;

        v->example = 16 + i;
        snprintf(key, sizeof key, "\"example\": %d,", v->example);
        if ((obj = strstr(file, key)) == NULL || (end = strchr(obj, '}')) == NULL) {
            fprintf(stderr, "%s: example %d missing\n", VECTOR_FILE, v->example);
            free(file);
            return -1;
        }
        json_hex(obj, end, "sk", v->sk, sizeof v->sk);
        json_hex(obj, end, "pk", v->pk, sizeof v->pk);
        json_field(obj, end, "alpha", text, sizeof text);
        v->alpha_len = tu_unhex(text, v->alpha, sizeof v->alpha);
        json_hex(obj, end, "x", v->x, sizeof v->x);
        json_field(obj, end, "ctr", text, sizeof text);
        v->ctr = (unsigned)strtoul(text, NULL, 10);
        json_hex(obj, end, "H", v->H, sizeof v->H);
        json_hex(obj, end, "k", v->k, sizeof v->k);
        json_hex(obj, end, "U", v->U, sizeof v->U);
        json_hex(obj, end, "V", v->V, sizeof v->V);
        json_hex(obj, end, "pi", v->pi, sizeof v->pi);
        json_hex(obj, end, "beta", v->beta, sizeof v->beta);
    }
    free(file);
    return 0;
}

/* Fails unless got[0..len) == want[0..len), printing both in hex. */
#define assert_bytes_equal(got, want, len)                                                         \
    do {                                                                                           \
        char got_hex_[2 * PL_VRF_OUTPUT_BYTES + 1], want_hex_[2 * PL_VRF_OUTPUT_BYTES + 1];        \
        assert_true((len) <= PL_VRF_OUTPUT_BYTES);                                                 \
        tu_hex((got), (len), got_hex_);                                                            \
        tu_hex((want), (len), want_hex_);                                                          \
        assert_string_equal(got_hex_, want_hex_);                                                  \
    } while (0)

/* ---- RFC 9381 Appendix B.3 ----------------------------------------------------------------- */

/* The vector file holds what RFC 9381 B.3 prints (a spot check that it was read whole). */
static void test_vrf_vector_file_matches_rfc9381_b3(void **state)
{
    uint8_t pi16_tail[4];

    (void)state;
    assert_int_equal(vectors[0].alpha_len, 0);
    assert_int_equal(vectors[1].alpha_len, 1);
    assert_int_equal(vectors[1].alpha[0], 0x72);
    assert_int_equal(vectors[2].alpha_len, 2);
    assert_int_equal(vectors[1].ctr, 1);
    assert_int_equal(tu_unhex("76567805", pi16_tail, sizeof pi16_tail), 4);
    assert_memory_equal(vectors[0].pi + 76, pi16_tail, 4);
}

/* pk from the seed (RFC 8032 keygen), then prove: x, ctr, H, k, U = k*B, V = k*H and pi. */
static void test_vrf_rfc9381_examples_16_to_18_prove(void **state)
{
    (void)state;
    for (int i = 0; i < VECTOR_COUNT; i++) {
        const vrf_vector *v = &vectors[i];
        uint8_t pk[PL_VRF_PUBLIC_KEY_BYTES], pi[PL_VRF_PROOF_BYTES];
        pl__vrf_trace t;

        print_message("example %d\n", v->example);
        pl_vrf_keypair_from_seed(v->sk, pk);
        assert_bytes_equal(pk, v->pk, 32);
        FX_RC(pl__vrf_prove_trace(v->sk, v->alpha, v->alpha_len, pi, &t), PL_OK);
        assert_bytes_equal(t.x, v->x, 32);
        assert_int_equal(t.ctr, v->ctr);
        assert_bytes_equal(t.H, v->H, 32);
        assert_bytes_equal(t.k, v->k, 32);
        assert_bytes_equal(t.U, v->U, 32);
        assert_bytes_equal(t.V, v->V, 32);
        assert_bytes_equal(pi, v->pi, 32);
        assert_bytes_equal(pi + 32, v->pi + 32, 48);
        FX_RC(pl_vrf_prove(v->sk, v->alpha, v->alpha_len, pi), PL_OK);
        assert_memory_equal(pi, v->pi, sizeof pi);
    }
}

/* proof_to_hash gives beta; verify accepts, recomputes H, U = s*B - c*Y, V = s*H - c*Gamma. */
static void test_vrf_rfc9381_examples_16_to_18_verify(void **state)
{
    (void)state;
    for (int i = 0; i < VECTOR_COUNT; i++) {
        const vrf_vector *v = &vectors[i];
        uint8_t beta[PL_VRF_OUTPUT_BYTES];
        pl__vrf_trace t;

        print_message("example %d\n", v->example);
        FX_RC(pl_vrf_proof_to_hash(v->pi, beta), PL_OK);
        assert_bytes_equal(beta, v->beta, 64);
        memset(beta, 0xA5, sizeof beta);
        FX_RC(pl__vrf_verify_trace(v->pk, v->alpha, v->alpha_len, v->pi, beta, &t), PL_OK);
        assert_bytes_equal(beta, v->beta, 64);
        assert_int_equal(t.ctr, v->ctr);
        assert_bytes_equal(t.H, v->H, 32);
        assert_bytes_equal(t.U, v->U, 32);
        assert_bytes_equal(t.V, v->V, 32);
        memset(beta, 0xA5, sizeof beta);
        FX_RC(pl_vrf_verify(v->pk, v->alpha, v->alpha_len, v->pi, beta), PL_OK);
        assert_bytes_equal(beta, v->beta, 64);
    }
}

/* ---- What verification refuses ----------------------------------------------------------- */

/* Every single-bit change of pi, of alpha and of pk fails, with beta zeroed. */
static void test_vrf_every_bit_flip_of_pi_alpha_pk_is_rejected(void **state)
{
    uint8_t beta[PL_VRF_OUTPUT_BYTES];

    (void)state;
    for (int i = 0; i < VECTOR_COUNT; i++) {
        const vrf_vector *v = &vectors[i];
        uint8_t pi[PL_VRF_PROOF_BYTES], pk[32], alpha[ALPHA_MAX + 1];
        size_t alpha_len = v->alpha_len ? v->alpha_len : 1; /* Example 16: flip a 1-byte 0x00 */

        memcpy(pi, v->pi, sizeof pi);
        for (size_t bit = 0; bit < 8 * sizeof pi; bit++) {
            pi[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            memset(beta, 0xA5, sizeof beta);
            FX_RC(pl_vrf_verify(v->pk, v->alpha, v->alpha_len, pi, beta), PL_E_BAD_PROOF);
            FX_ZEROED(beta, sizeof beta);
            pi[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        memset(alpha, 0, sizeof alpha);
        memcpy(alpha, v->alpha, v->alpha_len);
        for (size_t bit = 0; bit < 8 * alpha_len; bit++) {
            alpha[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            memset(beta, 0xA5, sizeof beta);
            FX_RC(pl_vrf_verify(v->pk, alpha, alpha_len, v->pi, beta), PL_E_BAD_PROOF);
            FX_ZEROED(beta, sizeof beta);
            alpha[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        /* One byte more or less is another alpha too. */
        FX_RC(pl_vrf_verify(v->pk, alpha, v->alpha_len + 1, v->pi, beta), PL_E_BAD_PROOF);
        if (v->alpha_len > 0)
            FX_RC(pl_vrf_verify(v->pk, alpha, v->alpha_len - 1, v->pi, beta), PL_E_BAD_PROOF);
        memcpy(pk, v->pk, sizeof pk);
        for (size_t bit = 0; bit < 8 * sizeof pk; bit++) {
            pk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            memset(beta, 0xA5, sizeof beta);
            FX_RC_IN(pl_vrf_verify(pk, v->alpha, v->alpha_len, v->pi, beta), PL_E_BAD_KEY,
                     PL_E_BAD_PROOF);
            FX_ZEROED(beta, sizeof beta);
            pk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        FX_RC(pl_vrf_verify(pk, v->alpha, v->alpha_len, v->pi, beta), PL_OK);
    }
}

/*
 * Gamma encodings that RFC 8032 decoding refuses but a lax decoder (libsodium's own, which
 * reduces y mod p and ignores the sign of x = 0) accepts: y = p, p + 1, p + 2, 2^255 - 1, and
 * x = 0 with the sign bit set (y = 1, y = p - 1). Both verify and proof_to_hash refuse them.
 */
static void test_vrf_non_canonical_gamma_is_rejected(void **state)
{
    static const char *const gammas[] = {
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* y = p */
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* y = p + 1 */
        "efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* y = p + 2 */
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* p + 1, sign */
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* 2^255 - 1 */
        "0100000000000000000000000000000000000000000000000000000000000080", /* (-0, 1) */
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* (-0, -1) */
    };
    const vrf_vector *v = &vectors[0];
    uint8_t pi[PL_VRF_PROOF_BYTES], beta[PL_VRF_OUTPUT_BYTES];

    (void)state;
    for (size_t i = 0; i < sizeof gammas / sizeof gammas[0]; i++) {
        print_message("Gamma %s\n", gammas[i]);
        memcpy(pi, v->pi, sizeof pi);
        assert_int_equal(tu_unhex(gammas[i], pi, 32), 32);
        memset(beta, 0xA5, sizeof beta);
        FX_RC(pl_vrf_proof_to_hash(pi, beta), PL_E_BAD_PROOF);
        FX_ZEROED(beta, sizeof beta);
        memset(beta, 0xA5, sizeof beta);
        FX_RC(pl_vrf_verify(v->pk, v->alpha, v->alpha_len, pi, beta), PL_E_BAD_PROOF);
        FX_ZEROED(beta, sizeof beta);
    }
    /* The canonical encodings of those points are fine for proof_to_hash (RFC 9381 §5.2
     * does not ask for the subgroup), but verify refuses a small-order Gamma. */
    memcpy(pi, v->pi, sizeof pi);
    memset(pi, 0, 32);
    pi[0] = 0x01; /* the identity */
    FX_RC(pl_vrf_proof_to_hash(pi, beta), PL_OK);
    FX_RC(pl_vrf_verify(v->pk, v->alpha, v->alpha_len, pi, beta), PL_E_BAD_PROOF);
    FX_ZEROED(beta, sizeof beta);
}

/* Little-endian 256-bit a += b (no overflow for the values used here). */
static void add256(uint8_t a[32], const uint8_t b[32])
{
    unsigned carry = 0;

    for (int i = 0; i < 32; i++) {
        carry += (unsigned)a[i] + b[i];
        a[i] = (uint8_t)carry;
        carry >>= 8;
    }
    assert_int_equal(carry, 0);
}

/*
 * s >= q is refused (§5.4.4 step 8). s + q is the sharp case: libsodium's scalar
 * multiplication would compute the same points with it, so only the explicit check stops it.
 */
static void test_vrf_s_not_below_q_is_rejected(void **state)
{
    uint8_t q[32], pi[PL_VRF_PROOF_BYTES], beta[PL_VRF_OUTPUT_BYTES];

    (void)state;
    assert_int_equal(tu_unhex("edd3f55c1a631258d69cf7a2def9de14"
                              "00000000000000000000000000000010",
                              q, sizeof q),
                     32);
    for (int i = 0; i < VECTOR_COUNT; i++) {
        const vrf_vector *v = &vectors[i];
        uint8_t *s = pi + 48;

        memcpy(pi, v->pi, sizeof pi);
        add256(s, q); /* s + q */
        memset(beta, 0xA5, sizeof beta);
        FX_RC(pl_vrf_verify(v->pk, v->alpha, v->alpha_len, pi, beta), PL_E_BAD_PROOF);
        FX_ZEROED(beta, sizeof beta);
        memset(beta, 0xA5, sizeof beta);
        FX_RC(pl_vrf_proof_to_hash(pi, beta), PL_E_BAD_PROOF);
        FX_ZEROED(beta, sizeof beta);

        memcpy(s, q, 32); /* s = q */
        FX_RC(pl_vrf_verify(v->pk, v->alpha, v->alpha_len, pi, beta), PL_E_BAD_PROOF);
        FX_RC(pl_vrf_proof_to_hash(pi, beta), PL_E_BAD_PROOF);
        s[0]--; /* s = q - 1: decodes, does not verify */
        FX_RC(pl_vrf_proof_to_hash(pi, beta), PL_OK);
        FX_RC(pl_vrf_verify(v->pk, v->alpha, v->alpha_len, pi, beta), PL_E_BAD_PROOF);
        memset(s, 0xff, 32); /* s = 2^256 - 1 */
        FX_RC(pl_vrf_verify(v->pk, v->alpha, v->alpha_len, pi, beta), PL_E_BAD_PROOF);
        FX_RC(pl_vrf_proof_to_hash(pi, beta), PL_E_BAD_PROOF);
        memset(s, 0, 32); /* s = 0: decodes (U = -c*Y), does not verify */
        FX_RC(pl_vrf_verify(v->pk, v->alpha, v->alpha_len, pi, beta), PL_E_BAD_PROOF);
    }
}

/*
 * Public keys that are not a canonical point, of small order (RFC 9381 §5.4.5
 * ECVRF_validate_key), or a valid key plus a point of order 2 (outside the prime-order
 * subgroup: refused by our stricter check, PROTOCOL.md §17) give PL_E_BAD_KEY.
 */
static void test_vrf_invalid_and_small_order_keys_are_rejected(void **state)
{
    static const char *const keys[] = {
        /* the eight points of small order */
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        /* non-canonical encodings */
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    static const char order2[] = "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";
    const vrf_vector *v = &vectors[1];
    uint8_t pk[32], t[32], beta[PL_VRF_OUTPUT_BYTES];
    int off_curve = 0;

    (void)state;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        print_message("pk %s\n", keys[i]);
        assert_int_equal(tu_unhex(keys[i], pk, sizeof pk), 32);
        memset(beta, 0xA5, sizeof beta);
        FX_RC(pl_vrf_verify(pk, v->alpha, v->alpha_len, v->pi, beta), PL_E_BAD_KEY);
        FX_ZEROED(beta, sizeof beta);
    }
    /* Y + T, T of order 2: on the curve, canonical, not of small order. */
    assert_int_equal(tu_unhex(order2, t, sizeof t), 32);
    assert_int_equal(crypto_core_ed25519_add(pk, v->pk, t), 0);
    FX_RC(pl_vrf_verify(pk, v->alpha, v->alpha_len, v->pi, beta), PL_E_BAD_KEY);
    /* Some y < p have no x at all: not a point. */
    for (uint8_t y = 2; y < 40; y++) {
        memset(pk, 0, sizeof pk);
        pk[0] = y;
        if (crypto_core_ed25519_add(t, pk, pk) != 0) {
            FX_RC(pl_vrf_verify(pk, v->alpha, v->alpha_len, v->pi, beta), PL_E_BAD_KEY);
            off_curve++;
        }
    }
    assert_true(off_curve > 0);
}

/* ---- Round trips --------------------------------------------------------------------------- */

/* Random seeds and alphas of 0, 1, 33 and 256 bytes: prove, verify, proof_to_hash agree;
 * proving is deterministic; the proof is bound to its key and its alpha. */
static void test_vrf_round_trips_random_keys_and_alphas(void **state)
{
    static const size_t lengths[] = {0, 1, 33, 256};
    pl_rng_deterministic rs;
    pl_rng rng = tu_rng(&rs, 0x5a);

    (void)state;
    for (int key = 0; key < 4; key++) {
        uint8_t seed[32], other_seed[32], pk[32], other_pk[32], ed_pk[32], ed_sk[64];

        pl_random_fill(&rng, seed, sizeof seed);
        pl_random_fill(&rng, other_seed, sizeof other_seed);
        pl_vrf_keypair_from_seed(seed, pk);
        pl_vrf_keypair_from_seed(other_seed, other_pk);
        /* RFC 8032 keygen: the Ed25519 public key of the same seed. */
        assert_int_equal(crypto_sign_seed_keypair(ed_pk, ed_sk, seed), 0);
        assert_memory_equal(pk, ed_pk, sizeof pk);
        for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
            uint8_t alpha[257], pi[PL_VRF_PROOF_BYTES], pi2[PL_VRF_PROOF_BYTES];
            uint8_t beta[PL_VRF_OUTPUT_BYTES], beta2[PL_VRF_OUTPUT_BYTES];
            size_t len = lengths[l];

            pl_random_fill(&rng, alpha, sizeof alpha);
            FX_RC(pl_vrf_prove(seed, len ? alpha : NULL, len, pi), PL_OK);
            FX_RC(pl_vrf_prove(seed, alpha, len, pi2), PL_OK);
            assert_memory_equal(pi, pi2, sizeof pi);
            FX_RC(pl_vrf_verify(pk, len ? alpha : NULL, len, pi, beta), PL_OK);
            FX_RC(pl_vrf_proof_to_hash(pi, beta2), PL_OK);
            assert_memory_equal(beta, beta2, sizeof beta);
            FX_RC(pl_vrf_verify(other_pk, alpha, len, pi, beta2), PL_E_BAD_PROOF);
            FX_RC(pl_vrf_verify(pk, alpha, len + 1, pi, beta2), PL_E_BAD_PROOF);
            /* Another alpha gives another output. */
            FX_RC(pl_vrf_prove(seed, alpha, len + 1, pi2), PL_OK);
            FX_RC(pl_vrf_verify(pk, alpha, len + 1, pi2, beta2), PL_OK);
            assert_memory_not_equal(beta, beta2, sizeof beta);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vrf_vector_file_matches_rfc9381_b3),
        cmocka_unit_test(test_vrf_rfc9381_examples_16_to_18_prove),
        cmocka_unit_test(test_vrf_rfc9381_examples_16_to_18_verify),
        cmocka_unit_test(test_vrf_every_bit_flip_of_pi_alpha_pk_is_rejected),
        cmocka_unit_test(test_vrf_non_canonical_gamma_is_rejected),
        cmocka_unit_test(test_vrf_s_not_below_q_is_rejected),
        cmocka_unit_test(test_vrf_invalid_and_small_order_keys_are_rejected),
        cmocka_unit_test(test_vrf_round_trips_random_keys_and_alphas),
    };

    return cmocka_run_group_tests(tests, load_vectors, NULL);
}
