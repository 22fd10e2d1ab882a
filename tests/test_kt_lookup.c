/*
 * test_kt_lookup.c: the combined key-transparency lookup proof (PROTOCOL.md §23).
 *
 * The log entry and VRF input bytes are built by hand from §23.1 and compared; the VRF
 * output of pl_kt_vrf_prove is checked against pl_vrf_verify; a lookup with real prefix
 * proofs round-trips through the encoder and decoder, and the decoder refuses each bound.
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
#include "testutil.h"

#define LABEL "alice"
#define LABEL_LEN (sizeof LABEL - 1)

static uint8_t proof_buf[PL_KT_LOOKUP_MAX_BYTES];

static int setup(void **state)
{
    (void)state;
    return pl_init() == PL_OK ? 0 : -1;
}

static void fixed_seed(uint8_t seed[PL_VRF_SECRET_KEY_BYTES], uint8_t b)
{
    memset(seed, b, PL_VRF_SECRET_KEY_BYTES);
}

/* ---- Step 1: entry, VRF input, VRF prove, encoding round trip -------------------------- */

static void test_kt_log_entry_is_timestamp_then_root(void **state)
{
    uint8_t root[PL_PREFIX_HASH_BYTES], entry[PL_KT_LOG_ENTRY_BYTES];
    const uint8_t ts[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

    (void)state;
    for (size_t i = 0; i < sizeof root; i++)
        root[i] = (uint8_t)(0xa0 + i);
    pl_kt_log_entry(UINT64_C(0x0102030405060708), root, entry);
    assert_memory_equal(entry, ts, 8);
    assert_memory_equal(entry + 8, root, 32);
}

static void test_kt_vrf_input_is_len_label_version(void **state)
{
    uint8_t out[300], label[255];
    const uint8_t want[] = {5, 'a', 'l', 'i', 'c', 'e', 0xde, 0xad, 0xbe, 0xef};
    size_t n = 99;

    (void)state;
    assert_int_equal(
        pl_kt_vrf_input((const uint8_t *)LABEL, LABEL_LEN, 0xdeadbeefu, out, sizeof out, &n),
        PL_OK);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    /* Exactly enough room, one byte short. */
    assert_int_equal(pl_kt_vrf_input((const uint8_t *)LABEL, LABEL_LEN, 1, out, 10, &n), PL_OK);
    assert_int_equal(pl_kt_vrf_input((const uint8_t *)LABEL, LABEL_LEN, 1, out, 9, &n),
                     PL_E_BUFFER_TOO_SMALL);
    assert_int_equal(n, 0);
    /* 255 bytes is the longest label; 256 is refused. */
    memset(label, 'x', sizeof label);
    assert_int_equal(pl_kt_vrf_input(label, 255, 0, out, sizeof out, &n), PL_OK);
    assert_int_equal(n, 260);
    assert_int_equal(out[0], 255);
    assert_int_equal(pl_kt_vrf_input(label, 256, 0, out, sizeof out, &n), PL_E_TOO_LARGE);
    assert_int_equal(n, 0);
    /* The empty label. */
    assert_int_equal(pl_kt_vrf_input(NULL, 0, 2, out, sizeof out, &n), PL_OK);
    assert_int_equal(n, 5);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[4], 2);
}

static void test_kt_vrf_prove_output_is_the_verified_beta_prefix(void **state)
{
    uint8_t seed[32], pk[32], pi[PL_VRF_PROOF_BYTES], out[32], out1[32];
    uint8_t alpha[300], beta[PL_VRF_OUTPUT_BYTES], label[256];
    size_t alpha_len;

    (void)state;
    fixed_seed(seed, 0x11);
    pl_vrf_keypair_from_seed(seed, pk);
    for (uint32_t v = 0; v < 3; v++) {
        assert_int_equal(pl_kt_vrf_prove(seed, (const uint8_t *)LABEL, LABEL_LEN, v, pi, out),
                         PL_OK);
        assert_int_equal(
            pl_kt_vrf_input((const uint8_t *)LABEL, LABEL_LEN, v, alpha, sizeof alpha, &alpha_len),
            PL_OK);
        assert_int_equal(pl_vrf_verify(pk, alpha, alpha_len, pi, beta), PL_OK);
        assert_memory_equal(out, beta, 32);
        if (v == 0)
            memcpy(out1, out, 32);
        else
            assert_memory_not_equal(out, out1, 32); /* versions give unrelated outputs */
    }
    memset(label, 'x', sizeof label);
    memset(out, 0xff, sizeof out);
    memset(pi, 0xff, sizeof pi);
    assert_int_equal(pl_kt_vrf_prove(seed, label, 256, 0, pi, out), PL_E_TOO_LARGE);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0);
    for (size_t i = 0; i < sizeof pi; i++)
        assert_int_equal(pi[i], 0);
}

/* A lookup with real prefix proofs from a small tree, and arbitrary other fields. */
static void synthetic_lookup(pl_kt_lookup *l, pl_prefix_tree **tree_out, uint8_t kind,
                             const uint8_t *value, size_t value_len)
{
    pl_prefix_tree *t = NULL;
    uint8_t key[32], c[32];

    memset(l, 0, sizeof *l);
    assert_int_equal(pl_prefix_tree_new(&t), PL_OK);
    for (int i = 0; i < 20; i++) {
        crypto_generichash(key, sizeof key, (const uint8_t *)&i, sizeof i, NULL, 0);
        memset(c, i, sizeof c);
        assert_int_equal(pl_prefix_tree_insert(t, key, c), PL_OK);
    }
    l->kind = kind;
    l->tree_size = 1000;
    l->timestamp_ms = UINT64_C(1700000000123);
    pl_prefix_tree_root(t, l->prefix_root);
    l->n_inclusion = 10;
    for (size_t i = 0; i < l->n_inclusion; i++)
        memset(l->inclusion[i], (int)(0x40 + i), 32);
    l->version = 3;
    memset(l->vrf_proof, 0x55, sizeof l->vrf_proof);
    memset(l->opening, 0x66, sizeof l->opening);
    l->value = value;
    l->value_len = value_len;
    {
        int i = 3;
        crypto_generichash(key, sizeof key, (const uint8_t *)&i, sizeof i, NULL, 0);
    }
    assert_int_equal(pl_prefix_tree_prove(t, key, &l->prefix), PL_OK);
    assert_int_equal(l->prefix.result_type, PL_PREFIX_INCLUSION);
    if (kind == PL_KT_LOOKUP_GREATEST) {
        memset(l->next_vrf_proof, 0x77, sizeof l->next_vrf_proof);
        memset(key, 0x99, sizeof key);
        assert_int_equal(pl_prefix_tree_prove(t, key, &l->next_prefix), PL_OK);
        assert_int_not_equal(l->next_prefix.result_type, PL_PREFIX_INCLUSION);
    }
    *tree_out = t;
}

static void assert_same_lookup(const pl_kt_lookup *a, const pl_kt_lookup *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->tree_size, b->tree_size);
    assert_int_equal(a->timestamp_ms, b->timestamp_ms);
    assert_memory_equal(a->prefix_root, b->prefix_root, 32);
    assert_int_equal(a->n_inclusion, b->n_inclusion);
    assert_memory_equal(a->inclusion, b->inclusion, a->n_inclusion * 32);
    assert_int_equal(a->version, b->version);
    assert_memory_equal(a->vrf_proof, b->vrf_proof, sizeof a->vrf_proof);
    assert_memory_equal(a->opening, b->opening, sizeof a->opening);
    assert_int_equal(a->value_len, b->value_len);
    assert_memory_equal(a->value, b->value, a->value_len);
    assert_memory_equal(&a->prefix, &b->prefix, sizeof a->prefix);
    assert_memory_equal(a->next_vrf_proof, b->next_vrf_proof, sizeof a->next_vrf_proof);
    assert_memory_equal(&a->next_prefix, &b->next_prefix, sizeof a->next_prefix);
}

static void test_kt_lookup_encode_decode_round_trip(void **state)
{
    static pl_kt_lookup l, d;
    static uint8_t again[PL_KT_LOOKUP_MAX_BYTES];
    const uint8_t value[] = "an account state";
    pl_prefix_tree *t = NULL;
    size_t n, n2;

    (void)state;
    for (uint8_t kind = 1; kind <= 2; kind++) {
        synthetic_lookup(&l, &t, kind, value, sizeof value);
        assert_int_equal(pl_kt_lookup_encode(&l, proof_buf, sizeof proof_buf, &n), PL_OK);
        assert_int_equal(proof_buf[0], PL_KT_LOOKUP_VERSION);
        assert_int_equal(proof_buf[1], kind);
        assert_int_equal(pl_kt_lookup_decode(&d, proof_buf, n), PL_OK);
        assert_same_lookup(&l, &d);
        /* The value points into the input, after its fixed-size header fields. */
        assert_ptr_equal(d.value, proof_buf + 2 + 8 + 8 + 32 + 1 + 10 * 32 + 4 + 80 + 16 + 2);
        /* Re-encoding the decoded proof gives the same bytes. */
        assert_int_equal(pl_kt_lookup_encode(&d, again, sizeof again, &n2), PL_OK);
        assert_int_equal(n2, n);
        assert_memory_equal(again, proof_buf, n);
        /* Every buffer one byte short is refused. */
        assert_int_equal(pl_kt_lookup_encode(&l, again, n - 1, &n2), PL_E_BUFFER_TOO_SMALL);
        assert_int_equal(n2, 0);
        pl_prefix_tree_free(t);
        t = NULL;
    }
}

static void test_kt_lookup_encode_refuses_bad_fields(void **state)
{
    static pl_kt_lookup l;
    const uint8_t value[] = "v";
    pl_prefix_tree *t = NULL;
    size_t n = 1;

    (void)state;
    synthetic_lookup(&l, &t, PL_KT_LOOKUP_GREATEST, value, sizeof value);
#define REFUSED(mutation)                                                                          \
    do {                                                                                           \
        static pl_kt_lookup m;                                                                     \
        m = l;                                                                                     \
        mutation;                                                                                  \
        n = 1;                                                                                     \
        assert_int_equal(pl_kt_lookup_encode(&m, proof_buf, sizeof proof_buf, &n),                 \
                         PL_E_INVALID_ARG);                                                        \
        assert_int_equal(n, 0);                                                                    \
    } while (0)
    REFUSED(m.kind = 0);
    REFUSED(m.kind = 3);
    REFUSED(m.tree_size = 0);
    REFUSED(m.n_inclusion = PL_MERKLE_MAX_PROOF + 1);
    REFUSED(m.value = NULL);
    REFUSED(m.value_len = 0);
    REFUSED(m.value_len = PL_ACCOUNT_STATE_MAX_BYTES + 1);
    REFUSED(m.version = UINT32_MAX);
    REFUSED(m.prefix.result_type = 0);
    REFUSED(m.prefix.depth = PL_PREFIX_MAX_DEPTH + 1);
    REFUSED(m.next_prefix.result_type = 4);
#undef REFUSED
    /* A fixed proof of the last version is fine, and ignores the next_* fields. */
    l.kind = PL_KT_LOOKUP_FIXED;
    l.version = UINT32_MAX;
    l.next_prefix.result_type = 0;
    assert_int_equal(pl_kt_lookup_encode(&l, proof_buf, sizeof proof_buf, &n), PL_OK);
    pl_prefix_tree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kt_log_entry_is_timestamp_then_root),
        cmocka_unit_test(test_kt_vrf_input_is_len_label_version),
        cmocka_unit_test(test_kt_vrf_prove_output_is_the_verified_beta_prefix),
        cmocka_unit_test(test_kt_lookup_encode_decode_round_trip),
        cmocka_unit_test(test_kt_lookup_encode_refuses_bad_fields),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
