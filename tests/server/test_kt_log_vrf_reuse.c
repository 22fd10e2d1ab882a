/*
 * test_kt_log_vrf_reuse.c: the sequencer (src/server/kt_log.c) reuses the VRF proof of
 * (label, v) that version v - 1 stored as its next_vrf_proof instead of proving it again.
 * Whatever path a version takes (proved fresh: version 0; reused from a logged row; reused
 * from an earlier version in the same entry), its stored proof and output must be byte for
 * byte what pl_kt_vrf_prove makes with the log's VRF key, and the proof must verify.
 */
#define _POSIX_C_SOURCE 200809L
#include "store_fixture.h"

#include <sodium.h>

#include "config.h"
#include "kt_keys.h"
/* By path: tests/kt_log.h (a test helper) shadows the server's header on the include path. */
#include "../../src/server/kt_log.h"
#include "parley/kt_lookup.h"
#include "parley/vrf.h"

/* A state's bytes: the sequencer does not re-verify states (parleyd did at acceptance). */
static const uint8_t state_bytes[] = {1, 2, 3, 4, 5, 6, 7, 8};

static void add_pending(pl_store *s, const char *label, uint32_t version)
{
    RC(pl_store_kt_state_add(s, label, version, state_bytes, sizeof state_bytes), PL_STORE_OK);
}

static void step(pl_kt_log *log, pl_store *s, uint64_t now_ms, size_t want_logged)
{
    pl_kt_step st;

    assert_int_equal(pl_kt_log_step(log, s, now_ms, &st), 0);
    free(st.note);
    assert_true(st.signed_new);
    assert_int_equal(st.logged, want_logged);
}

/* Version `version` of label as stored must be what proving it fresh gives. */
static void check_version(pl_store *s, const pl_kt_keys *keys, const char *label, uint32_t version)
{
    uint8_t pi[PL_VRF_PROOF_BYTES], out[PL_KT_VRF_OUT_BYTES], vrf_pk[PL_VRF_PUBLIC_KEY_BYTES];
    uint8_t beta[PL_VRF_OUTPUT_BYTES], alpha[512];
    size_t alpha_len;
    pl_store_kt_version *v = calloc(1, sizeof *v);

    assert_non_null(v);
    RC(pl_store_kt_version_get(s, label, version, UINT64_MAX, v), PL_STORE_OK);
    assert_true(v->position >= 0);
    assert_int_equal(
        pl_kt_vrf_prove(keys->vrf_seed, (const uint8_t *)label, strlen(label), version, pi, out),
        PL_OK);
    assert_memory_equal(v->vrf_proof, pi, sizeof pi);
    assert_memory_equal(v->vrf_out, out, sizeof out);
    pl_vrf_keypair_from_seed(keys->vrf_seed, vrf_pk);
    assert_int_equal(pl_kt_vrf_input((const uint8_t *)label, strlen(label), version, alpha,
                                     sizeof alpha, &alpha_len),
                     PL_OK);
    assert_int_equal(pl_vrf_verify(vrf_pk, alpha, alpha_len, v->vrf_proof, beta), PL_OK);
    free(v);
}

/* The fixture's teardown removes the store's files; the log's keys are ours to remove. */
static void remove_keys(const char *dir)
{
    static const char *const names[] = {"log.key", "vrf.key", "open.key"};
    char p[256];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/kt/%s", dir, names[i]);
        (void)unlink(p);
    }
    snprintf(p, sizeof p, "%s/kt", dir);
    (void)rmdir(p);
}

static void every_path_stores_the_proof_proving_would_make(void **state)
{
    fixture *f = *state;
    pl_kt_keys *keys = NULL;
    pl_kt_log *log = NULL;
    pl_config cfg;
    char err[256];
    int created = 0;

    open_store(f, NULL);
    pl_config_defaults(&cfg); /* no witnesses: quorum 0, published at once */
    assert_int_equal(pl_kt_keys_load(&keys, f->dir, "test.example", &created, err, sizeof err), 0);
    assert_int_equal(pl_kt_log_open(&log, &cfg, keys, f->s, err, sizeof err), 0);
    keys = (pl_kt_keys *)pl_kt_log_keys(log);

    add_pending(f->s, "alice", 0); /* proved fresh */
    add_pending(f->s, "bob", 0);
    step(log, f->s, 1000, 2);
    add_pending(f->s, "alice", 1); /* reused from the logged version 0 */
    add_pending(f->s, "alice", 2); /* reused from version 1, earlier in the same entry */
    add_pending(f->s, "carol", 0);
    step(log, f->s, 2000, 3);
    add_pending(f->s, "bob", 1);
    step(log, f->s, 3000, 1);

    check_version(f->s, keys, "alice", 0);
    check_version(f->s, keys, "alice", 1);
    check_version(f->s, keys, "alice", 2);
    check_version(f->s, keys, "bob", 0);
    check_version(f->s, keys, "bob", 1);
    check_version(f->s, keys, "carol", 0);
    pl_kt_log_free(log);
    remove_keys(f->dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_path_stores_the_proof_proving_would_make, setup,
                                        teardown),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
