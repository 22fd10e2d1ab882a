/*
 * test_adv_surgery.c: the attack tools of adv_kt.h, without a server: each lie the proxy tells
 * must be one that libparley's verifiers refuse for the reason the attack claims, so that
 * when a client refuses it in test_kt_attacks the reason is the attack, not a broken tool.
 *
 * Checkpoints are of h-core's demo log (tests/kt_log.c), signed by a fixed-seed log key and
 * cosigned by a fixed-seed witness; lookup proofs come from the same log (ktl_prove).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>

#include "adv_kt.h"
#include "kt_log.h"

#define ORIGIN "adversary.example/kt/v1/00112233445566aa"
#define WITNESS "witness.example/adv"
#define NOW_S UINT64_C(1700000100)
#define NOW_MS (NOW_S * 1000u)

static ktl_log demo;
static uint8_t log_pk[32], log_sk[64], wit_pk[32], wit_sk[64];
static pl_note_verifier log_v, wit_v;
static char note[PL_NOTE_MAX_BYTES];
static size_t note_len;

static void keypair(uint8_t seed_byte, uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32];

    memset(seed, seed_byte, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
}

/* The signed, cosigned checkpoint of the demo log's first `size` entries into note. */
static void make_note(uint64_t size, uint64_t cosigned_at)
{
    pl_checkpoint cp = {0};
    char text[512], line[256];
    size_t text_len, line_len;

    snprintf(cp.origin, sizeof cp.origin, "%s", ORIGIN);
    cp.origin_len = strlen(ORIGIN);
    cp.size = size;
    assert_int_equal(ktl_root(&demo, size, cp.root), PL_OK);
    assert_int_equal(pl_checkpoint_format(&cp, text, sizeof text, &text_len), PL_OK);
    assert_int_equal(
        pl_note_sign(text, text_len, ORIGIN, strlen(ORIGIN), log_sk, note, sizeof note, &note_len),
        PL_OK);
    assert_int_equal(pl_cosignature_sign(text, text_len, WITNESS, strlen(WITNESS), wit_sk,
                                         cosigned_at, line, sizeof line, &line_len),
                     PL_OK);
    memcpy(note + note_len, line, line_len);
    note_len += line_len;
}

static void view_init(pl_kt_view *v, unsigned quorum)
{
    assert_int_equal(
        pl_kt_view_init(v, ORIGIN, strlen(ORIGIN), &log_v, &wit_v, 1, quorum, 120000u, 600000u),
        PL_OK);
}

/* Offers n[0..len) to a fresh view of quorum 1; returns the code and the reason. */
static int offer(const char *n, size_t len, pl_kt_view_reason *why)
{
    static pl_kt_view v, before;
    pl_kt_view_evidence ev;
    int r;

    view_init(&v, 1);
    before = v;
    r = pl_kt_view_update(&v, n, len, NOW_MS, NULL, 0, &ev);
    *why = ev.reason;
    if (r != PL_OK)
        assert_memory_equal(&v, &before, sizeof v); /* a refusal changes nothing */
    return r;
}

static void stripped_and_corrupted_notes_are_refused(void **state)
{
    char out[PL_NOTE_MAX_BYTES], names[4][256];
    size_t out_len;
    pl_kt_view_reason why;
    pl_checkpoint cp;

    (void)state;
    make_note(KTL_DEMO_SIZE, NOW_S);
    assert_int_equal(adv_note_signers(note, note_len, names, 4), 2);
    assert_string_equal(names[0], ORIGIN);
    assert_string_equal(names[1], WITNESS);
    assert_int_equal(adv_note_text(note, note_len, &cp) + 1,
                     (size_t)(strstr(note, "\xE2\x80\x94") - note));
    assert_int_equal(cp.size, KTL_DEMO_SIZE);
    assert_int_equal(offer(note, note_len, &why), PL_OK);

    /* Stripped of its cosignature: signed by the log, cosigned by nobody. */
    assert_int_equal(adv_note_keep_only(note, note_len, ORIGIN, out, sizeof out, &out_len), 1);
    assert_int_equal(adv_note_signers(out, out_len, names, 4), 1);
    assert_int_equal(offer(out, out_len, &why), PL_E_KT_VIEW);
    assert_int_equal(why, PL_KT_VIEW_NO_QUORUM);

    /* A cosignature whose signature is damaged: the whole note is refused. */
    adv_note_corrupt_line(note, note_len, WITNESS, out, sizeof out, &out_len);
    assert_int_equal(out_len, note_len);
    assert_int_equal(adv_note_signers(out, out_len, names, 4), 2);
    assert_int_equal(offer(out, out_len, &why), PL_E_BAD_SIGNATURE);
    assert_int_equal(why, PL_KT_VIEW_BAD_SIGNATURE);

    /* The log's own line damaged. */
    adv_note_corrupt_line(note, note_len, ORIGIN, out, sizeof out, &out_len);
    assert_int_equal(offer(out, out_len, &why), PL_E_BAD_SIGNATURE);

    /* An old cosignature: stale at NOW. */
    make_note(KTL_DEMO_SIZE, NOW_S - 3600u);
    assert_int_equal(offer(note, note_len, &why), PL_E_KT_VIEW);
    assert_int_equal(why, PL_KT_VIEW_STALE);
}

/* ---- lookup mutations ---- */

static uint8_t forged[PL_ACCOUNT_STATE_MAX_BYTES];
static size_t forged_len;

static void identity(pl_kt_lookup *l, void *arg)
{
    (void)l;
    (void)arg;
}

static void substitute_value(pl_kt_lookup *l, void *arg)
{
    (void)arg;
    l->value = forged;
    l->value_len = forged_len;
}

static void truncate_inclusion(pl_kt_lookup *l, void *arg)
{
    (void)arg;
    l->n_inclusion = l->n_inclusion > 0 ? l->n_inclusion - 1 : 0;
}

static void other_tree_size(pl_kt_lookup *l, void *arg)
{
    l->tree_size = *(const uint64_t *)arg;
}

static int verify(const uint8_t *p, size_t len, uint64_t size, uint8_t kind,
                  pl_kt_lookup_failure *why)
{
    static pl_kt_lookup_result res;
    uint8_t root[32];

    assert_int_equal(ktl_root(&demo, size, root), PL_OK);
    return pl_kt_lookup_verify(demo.vrf_pk, (const uint8_t *)"alice", 5, size, root, kind, 0, NULL,
                               0, p, len, &res, why);
}

static void lookup_mutations_are_refused_for_their_reason(void **state)
{
    static uint8_t honest[PL_KT_LOOKUP_MAX_BYTES], out[PL_KT_LOOKUP_MAX_BYTES];
    size_t honest_len, out_len;
    pl_kt_lookup_failure why;
    pl_account *mallory = NULL;
    uint64_t size3 = 3;

    (void)state;
    assert_int_equal(ktl_prove_encoded(&demo, KTL_DEMO_SIZE, PL_KT_LOOKUP_GREATEST, "alice", 2,
                                       honest, sizeof honest, &honest_len),
                     PL_OK);
    assert_int_equal(verify(honest, honest_len, KTL_DEMO_SIZE, PL_KT_LOOKUP_GREATEST, &why), PL_OK);

    /* Decode and encode again: the same bytes. */
    adv_lookup_mutate(honest, honest_len, identity, NULL, out, sizeof out, &out_len);
    assert_int_equal(out_len, honest_len);
    assert_memory_equal(out, honest, honest_len);

    /* The value replaced by a state of alice's seq 2 under another account key. */
    assert_int_equal(pl_account_generate(&mallory, NULL), PL_OK);
    adv_state_forge(mallory, 0, NULL, 1, KTL_DEMO_T0, forged, sizeof forged, &forged_len);
    adv_lookup_mutate(honest, honest_len, substitute_value, NULL, out, sizeof out, &out_len);
    assert_int_equal(verify(out, out_len, KTL_DEMO_SIZE, PL_KT_LOOKUP_GREATEST, &why),
                     PL_E_BAD_PROOF);
    assert_int_equal(why, PL_KT_LOOKUP_BAD_COMMITMENT);
    pl_account_free(mallory);

    /* One inclusion hash short. */
    adv_lookup_mutate(honest, honest_len, truncate_inclusion, NULL, out, sizeof out, &out_len);
    assert_int_equal(verify(out, out_len, KTL_DEMO_SIZE, PL_KT_LOOKUP_GREATEST, &why),
                     PL_E_BAD_PROOF);
    assert_int_equal(why, PL_KT_LOOKUP_BAD_INCLUSION);

    /* A proof of another tree than the client's checkpoint. */
    adv_lookup_mutate(honest, honest_len, other_tree_size, &size3, out, sizeof out, &out_len);
    assert_int_equal(verify(out, out_len, KTL_DEMO_SIZE, PL_KT_LOOKUP_GREATEST, &why),
                     PL_E_BAD_PROOF);
    assert_int_equal(why, PL_KT_LOOKUP_WRONG_TREE);

    /* The honest proof cut short anywhere: never accepted. */
    for (size_t cut = 0; cut < honest_len; cut += 97) {
        int r = verify(honest, cut, KTL_DEMO_SIZE, PL_KT_LOOKUP_GREATEST, &why);

        assert_int_not_equal(r, PL_OK);
    }
}

static int setup(void **state)
{
    (void)state;
    if (pl_init() != PL_OK || ktl_demo_log(&demo) != PL_OK)
        return -1;
    keypair(0x31, log_pk, log_sk);
    keypair(0x32, wit_pk, wit_sk);
    if (pl_note_verifier_init(ORIGIN, strlen(ORIGIN), PL_NOTE_TYPE_ED25519, log_pk, &log_v) !=
            PL_OK ||
        pl_note_verifier_init(WITNESS, strlen(WITNESS), PL_NOTE_TYPE_COSIGNATURE_V1, wit_pk,
                              &wit_v) != PL_OK)
        return -1;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stripped_and_corrupted_notes_are_refused),
        cmocka_unit_test(lookup_mutations_are_refused_for_their_reason),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
