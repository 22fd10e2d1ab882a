/*
 * test_kt_commit.c: key transparency commitments and openings (PROTOCOL.md §19.4).
 *
 * Each value is recomputed here from libsodium's primitives over a message built by hand
 * from the formulas, with Kc decoded from the IETF draft's hex string, and the results are
 * frozen as our own known answers. Then every input changes the output, the length prefixes
 * keep field boundaries apart, and the bounds hold. The frozen hex was also checked with
 * Python's hashlib.blake2b(key=, digest_size=16) and hmac.new(Kc, ..., sha256).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "parley/parley.h"
#include "fixture.h"
#include "testutil.h"

/* draft-ietf-keytrans-protocol, cipher suites: "Kc" is these 16 hex-decoded bytes. */
#define KC_HEX "d821f8790d97709796b4d7903357c3f5"

#define LABEL_A "alice@example.org"
#define VALUE_A "an account state would go here"
#define VERSION_A 7u

static int setup(void **state)
{
    (void)state;
    return pl_init() == PL_OK ? 0 : -1;
}

static void open_key(uint8_t k[PL_KT_OPEN_KEY_BYTES])
{
    for (size_t i = 0; i < PL_KT_OPEN_KEY_BYTES; i++)
        k[i] = (uint8_t)i;
}

static void opening_a(uint8_t o[PL_KT_OPENING_BYTES])
{
    for (size_t i = 0; i < PL_KT_OPENING_BYTES; i++)
        o[i] = (uint8_t)(0xf0 + i);
}

/* u8 len || label || u32 version, by hand. */
static size_t label_version(uint8_t *out, const char *label, size_t label_len, uint32_t v)
{
    out[0] = (uint8_t)label_len;
    memcpy(out + 1, label, label_len);
    out[1 + label_len] = (uint8_t)(v >> 24);
    out[2 + label_len] = (uint8_t)(v >> 16);
    out[3 + label_len] = (uint8_t)(v >> 8);
    out[4 + label_len] = (uint8_t)v;
    return 5 + label_len;
}

static void ref_opening(uint8_t out[16], const uint8_t key[32], const char *label, uint32_t v)
{
    uint8_t m[300];
    size_t n = label_version(m, label, strlen(label), v);

    assert_int_equal(crypto_generichash(out, 16, m, n, key, 32), 0);
}

static void ref_commitment(uint8_t out[32], const uint8_t opening[16], const char *label,
                           uint32_t v, const char *value, size_t value_len)
{
    uint8_t kc[16], m[512];
    crypto_auth_hmacsha256_state st;
    size_t n;

    assert_int_equal(tu_unhex(KC_HEX, kc, sizeof kc), sizeof kc);
    memcpy(m, opening, 16);
    n = 16 + label_version(m + 16, label, strlen(label), v);
    m[n++] = (uint8_t)(value_len >> 24);
    m[n++] = (uint8_t)(value_len >> 16);
    m[n++] = (uint8_t)(value_len >> 8);
    m[n++] = (uint8_t)value_len;
    memcpy(m + n, value, value_len);
    n += value_len;
    crypto_auth_hmacsha256_init(&st, kc, sizeof kc);
    crypto_auth_hmacsha256_update(&st, m, n);
    crypto_auth_hmacsha256_final(&st, out);
}

static void assert_hex(const uint8_t *got, size_t len, const char *want)
{
    char hex[2 * 32 + 1];

    assert_true(len <= 32);
    tu_hex(got, len, hex);
    assert_string_equal(hex, want);
}

/* ---- Known answers ---------------------------------------------------------------------- */

static void test_kt_opening_matches_blake2b_128_of_label_and_version(void **state)
{
    uint8_t k[32], got[16], want[16];

    (void)state;
    open_key(k);
    FX_RC(pl_kt_opening(got, k, (const uint8_t *)LABEL_A, strlen(LABEL_A), VERSION_A), PL_OK);
    ref_opening(want, k, LABEL_A, VERSION_A);
    assert_memory_equal(got, want, 16);
    assert_hex(got, 16, "5cd55b4e1bc3367833116e3c496880f1");
}

static void test_kt_commitment_matches_hmac_sha256_under_ietf_kc(void **state)
{
    uint8_t o[16], got[32], want[32];

    (void)state;
    opening_a(o);
    FX_RC(pl_kt_commitment(got, o, (const uint8_t *)LABEL_A, strlen(LABEL_A), VERSION_A,
                           (const uint8_t *)VALUE_A, strlen(VALUE_A)),
          PL_OK);
    ref_commitment(want, o, LABEL_A, VERSION_A, VALUE_A, strlen(VALUE_A));
    assert_memory_equal(got, want, 32);
    assert_hex(got, 32, "682bfbe28fbf4e799ebd6068d16e6cde2d7547a5506677b585f3d8c11f5f1bb7");
}

static void test_kt_commitment_empty_label_and_value(void **state)
{
    uint8_t o[16], got[32], want[32];

    (void)state;
    opening_a(o);
    FX_RC(pl_kt_commitment(got, o, NULL, 0, 0, NULL, 0), PL_OK);
    ref_commitment(want, o, "", 0, "", 0);
    assert_memory_equal(got, want, 32);
}

/* ---- Every input matters ---------------------------------------------------------------- */

static void test_kt_opening_every_input_changes_it(void **state)
{
    uint8_t k[32], base[16], o[16];
    const uint8_t *l = (const uint8_t *)LABEL_A;
    size_t ll = strlen(LABEL_A);

    (void)state;
    open_key(k);
    FX_RC(pl_kt_opening(base, k, l, ll, VERSION_A), PL_OK);
    for (size_t bit = 0; bit < 8 * sizeof k; bit++) {
        k[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        FX_RC(pl_kt_opening(o, k, l, ll, VERSION_A), PL_OK);
        assert_memory_not_equal(o, base, 16);
        k[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    FX_RC(pl_kt_opening(o, k, l, ll - 1, VERSION_A), PL_OK);
    assert_memory_not_equal(o, base, 16);
    FX_RC(pl_kt_opening(o, k, (const uint8_t *)"blice@example.org", ll, VERSION_A), PL_OK);
    assert_memory_not_equal(o, base, 16);
    FX_RC(pl_kt_opening(o, k, l, ll, VERSION_A + 1), PL_OK);
    assert_memory_not_equal(o, base, 16);
    FX_RC(pl_kt_opening(o, k, l, ll, VERSION_A | 0x80000000u), PL_OK);
    assert_memory_not_equal(o, base, 16);
}

static void test_kt_commitment_every_input_changes_it(void **state)
{
    uint8_t o[16], base[32], c[32], v[sizeof VALUE_A];
    uint8_t l[sizeof LABEL_A];
    size_t ll = strlen(LABEL_A), vl = strlen(VALUE_A);

    (void)state;
    opening_a(o);
    memcpy(l, LABEL_A, sizeof l);
    memcpy(v, VALUE_A, sizeof v);
    FX_RC(pl_kt_commitment(base, o, l, ll, VERSION_A, v, vl), PL_OK);
#define CHANGED()                                                                                  \
    do {                                                                                           \
        FX_RC(pl_kt_commitment(c, o, l, ll, VERSION_A, v, vl), PL_OK);                             \
        assert_memory_not_equal(c, base, 32);                                                      \
    } while (0)
    for (size_t i = 0; i < 8 * sizeof o; i++) {
        o[i / 8] ^= (uint8_t)(1u << (i % 8));
        CHANGED();
        o[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t i = 0; i < 8 * ll; i++) {
        l[i / 8] ^= (uint8_t)(1u << (i % 8));
        CHANGED();
        l[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t i = 0; i < 8 * vl; i++) {
        v[i / 8] ^= (uint8_t)(1u << (i % 8));
        CHANGED();
        v[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
#undef CHANGED
    for (uint32_t bit = 0; bit < 32; bit++) {
        FX_RC(pl_kt_commitment(c, o, l, ll, VERSION_A ^ (1u << bit), v, vl), PL_OK);
        assert_memory_not_equal(c, base, 32);
    }
    FX_RC(pl_kt_commitment(c, o, l, ll - 1, VERSION_A, v, vl), PL_OK);
    assert_memory_not_equal(c, base, 32);
    FX_RC(pl_kt_commitment(c, o, l, ll, VERSION_A, v, vl - 1), PL_OK);
    assert_memory_not_equal(c, base, 32);
    FX_RC(pl_kt_commitment(c, o, l, ll, VERSION_A, v, vl + 1), PL_OK); /* the NUL appended */
    assert_memory_not_equal(c, base, 32);
}

/* Moving a byte from the end of the label to the start of the value changes the commitment:
 * the length prefixes keep the fields apart. */
static void test_kt_commitment_length_prefixes_separate_label_and_value(void **state)
{
    uint8_t o[16], c1[32], c2[32];

    (void)state;
    opening_a(o);
    FX_RC(pl_kt_commitment(c1, o, (const uint8_t *)"ab", 2, 1, (const uint8_t *)"c", 1), PL_OK);
    FX_RC(pl_kt_commitment(c2, o, (const uint8_t *)"a", 1, 1, (const uint8_t *)"bc", 2), PL_OK);
    assert_memory_not_equal(c1, c2, 32);
}

/* ---- Bounds and verification -------------------------------------------------------------- */

static void test_kt_label_bound_is_255_bytes(void **state)
{
    uint8_t k[32], label[256], o[16], c[32];

    (void)state;
    open_key(k);
    memset(label, 'a', sizeof label);
    FX_RC(pl_kt_opening(o, k, label, 255, 0), PL_OK);
    FX_RC(pl_kt_commitment(c, o, label, 255, 0, NULL, 0), PL_OK);
    memset(o, 0xA5, sizeof o);
    memset(c, 0xA5, sizeof c);
    FX_RC(pl_kt_opening(o, k, label, 256, 0), PL_E_TOO_LARGE);
    FX_ZEROED(o, sizeof o);
    FX_RC(pl_kt_commitment(c, k, label, 256, 0, NULL, 0), PL_E_TOO_LARGE);
    FX_ZEROED(c, sizeof c);
#if SIZE_MAX > UINT32_MAX
    /* Refused before the value is read, so a short buffer is safe to name here. */
    memset(c, 0xA5, sizeof c);
    FX_RC(pl_kt_commitment(c, k, label, 1, 0, label, (size_t)UINT32_MAX + 1), PL_E_TOO_LARGE);
    FX_ZEROED(c, sizeof c);
#endif
}

static void test_kt_commitment_verify(void **state)
{
    uint8_t o[16], c[32];
    const uint8_t *l = (const uint8_t *)LABEL_A, *v = (const uint8_t *)VALUE_A;
    size_t ll = strlen(LABEL_A), vl = strlen(VALUE_A);

    (void)state;
    opening_a(o);
    FX_RC(pl_kt_commitment(c, o, l, ll, VERSION_A, v, vl), PL_OK);
    FX_RC(pl_kt_commitment_verify(c, o, l, ll, VERSION_A, v, vl), PL_OK);
    FX_RC(pl_kt_commitment_verify(c, o, l, ll, VERSION_A + 1, v, vl), PL_E_BAD_PROOF);
    FX_RC(pl_kt_commitment_verify(c, o, l, ll, VERSION_A, v, vl - 1), PL_E_BAD_PROOF);
    o[0] ^= 1;
    FX_RC(pl_kt_commitment_verify(c, o, l, ll, VERSION_A, v, vl), PL_E_BAD_PROOF);
    o[0] ^= 1;
    c[31] ^= 0x80;
    FX_RC(pl_kt_commitment_verify(c, o, l, ll, VERSION_A, v, vl), PL_E_BAD_PROOF);
    FX_RC(pl_kt_commitment_verify(c, o, l, 256, VERSION_A, v, vl), PL_E_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kt_opening_matches_blake2b_128_of_label_and_version),
        cmocka_unit_test(test_kt_commitment_matches_hmac_sha256_under_ietf_kc),
        cmocka_unit_test(test_kt_commitment_empty_label_and_value),
        cmocka_unit_test(test_kt_opening_every_input_changes_it),
        cmocka_unit_test(test_kt_commitment_every_input_changes_it),
        cmocka_unit_test(test_kt_commitment_length_prefixes_separate_label_and_value),
        cmocka_unit_test(test_kt_label_bound_is_255_bytes),
        cmocka_unit_test(test_kt_commitment_verify),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
