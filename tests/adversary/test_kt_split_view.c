/*
 * test_kt_split_view.c: the operator shows different clients different logs (docs/ADVERSARY.md,
 * attack c). It runs a second parleyd, B, with the same log keys and TLS certificate as the
 * real one, A (DATA/kt and DATA/tls copied before B's first entry), but another history: in
 * B, "bob" is an account the operator made. alice verified the real bob in A; then the proxy
 * answers her lookups from B.
 *   c1. No witnesses: B's checkpoint is signed by the same log key but does not extend the one
 *       alice holds. She refuses it as a fork, keeps both signed checkpoints (which anyone
 *       can check under the log key, proving the operator signed two histories), and her view
 *       and her verified bob do not change.
 *   c2. One witness required (quorum 1): the witness, which cosigned A's history, refuses B's
 *       checkpoint (not consistent with what it holds), so B can only publish uncosigned
 *       checkpoints, which alice refuses for lack of quorum: she and her witness cannot be
 *       shown different logs.
 *   c3. A new log: a second parleyd with keys of its own (an operator starting over to erase
 *       history). Its checkpoints are not signed by the pinned log key, and its KtConfig is
 *       not the pinned one: alice refuses both, the config never re-pinned.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adv_kt.h"
#include "adv_world.h"
#include "client_internal.h"
#include "cstore.h"
#include "testutil.h"
#include "parleyd_test.h"

#define PAD_MAX 12

typedef struct attack {
    ph_server *fork; /* answer KT requests from here when set */
    unsigned lies_told;
    int failed;
} attack;

static mp_verdict server_hook(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    attack *a = arg;
    mp_verdict v;

    if (!a->fork || !fx->request ||
        (fx->request->body_case != PARLEY__REQUEST__BODY_KT_LOOKUP &&
         fx->request->body_case != PARLEY__REQUEST__BODY_KT_CONFIG))
        return MP_FORWARD;
    a->lies_told++;
    if ((v = adv_answer_from(fx, f, a->fork->port, a->fork->cert_path)) == MP_CLOSE)
        a->failed = 1;
    return v;
}

/* The size of the published checkpoint of the parleyd at port (0 if none). */
static uint64_t published_size(const ph_server *s)
{
    Parley__Request rq = PARLEY__REQUEST__INIT;
    Parley__KtCheckpointGet get = PARLEY__KT_CHECKPOINT_GET__INIT;
    Parley__ServerFrame *f = NULL;
    wc_conn *c = NULL;
    uint64_t size = 0;
    pl_checkpoint cp;

    EXPECT(wc_connect(&c, s->port, s->cert_path), WC_OK);
    rq.body_case = PARLEY__REQUEST__BODY_KT_CHECKPOINT;
    rq.kt_checkpoint = &get;
    if (wc_request(c, &rq, &f, 3000) == WC_OK && f->response->status->code == 0 &&
        f->response->body_case == PARLEY__RESPONSE__BODY_KT_CHECKPOINT) {
        const char *note = f->response->kt_checkpoint->note;

        adv_note_text(note, strlen(note), &cp);
        size = cp.size;
    }
    pl_frame_server_free(f);
    wc_close(c);
    return size;
}

/*
 * Gives the fork its own "bob" (an account the operator made) and, if needed, more accounts,
 * until its published log is at least as large as `size`, so that what alice meets is a fork
 * (or with quorum, an unpublished one) and not merely a smaller log.
 */
static void grow_fork(ph_server *fork, uint64_t size, wi_account **accounts, size_t *n)
{
    uint64_t deadline;
    wc_conn *c = NULL;

    *n = 0;
    EXPECT(wc_connect(&c, fork->port, fork->cert_path), WC_OK);
    accounts[(*n)++] = wi_account_new("bob");
    EXPECT(wo_register_account(c, accounts[0]), ST(OK));
    deadline = ph_mono_ms() + 15000u;
    while (published_size(fork) < size || published_size(fork) < 2) {
        char name[32];

        if (ph_mono_ms() > deadline || *n >= PAD_MAX)
            fail_msg("the fork did not reach size %llu", (unsigned long long)size);
        snprintf(name, sizeof name, "pad%zu", *n);
        accounts[*n] = wi_account_new(name);
        EXPECT(wo_register_account(c, accounts[*n]), ST(OK));
        (*n)++;
        ph_sleep_ms(200);
    }
    wc_close(c);
}

/* The exported evidence of a fork: two checkpoints of the same origin, both signed by the
 * pinned log key, of different trees. */
static void check_fork_evidence(adv_world *w, pl_client *alice, int64_t id)
{
    static pl_cstore_kt_log log;
    char dir[512], path[1024];
    const char *names[2] = {"old-checkpoint.note", "new-checkpoint.note"};
    pl_checkpoint cp[2];
    pl_note_verifier key;
    pl_note_opened op;
    size_t n_files = 0, len;

    snprintf(dir, sizeof dir, "%s/evidence", w->dir);
    ADV_RC(alice, pl_client_alerts_export(alice, dir, id, &n_files), PL_CLIENT_OK);
    assert_int_equal(pl_cstore_kt_log_get(alice->store, &log), PL_CSTORE_OK);
    assert_int_equal(pl_note_verifier_parse(log.log_vkey, strlen(log.log_vkey), &key), PL_OK);
    for (int i = 0; i < 2; i++) {
        uint8_t *note;

        snprintf(path, sizeof path, "%s/alert-%lld/%s", dir, (long long)id, names[i]);
        if (!(note = tu_read_file(path, &len)))
            fail_msg("no evidence file %s", path);
        assert_int_equal(pl_note_open((const char *)note, len, &key, 1, &op), PL_OK);
        assert_int_equal(op.verified, 1u);
        adv_note_text((const char *)note, len, &cp[i]);
        free(note);
    }
    assert_string_equal(cp[0].origin, cp[1].origin);
    assert_true(cp[1].size >= cp[0].size);
    if (cp[0].size == cp[1].size)
        assert_memory_not_equal(cp[0].root, cp[1].root, 32);
}

static void fork_is_refused_with_both_notes(void **state)
{
    static const char *const fork_settings[] = {"kt.batch_interval=50ms", "kt.quorum=0", NULL};
    adv_world w;
    attack a = {0};
    pl_client *alice, *bob;
    ph_server *fork;
    wi_account *fake[PAD_MAX];
    size_t n_fake;
    adv_snapshot before, after;
    pl_client_kt_status st;
    pl_client_alert al;
    char id[33];

    (void)state;
    adv_world_start(&w, "fork", NULL);
    mp_set_hooks(w.px, server_hook, NULL, &a);
    alice = adv_client_new(&w, "alice");
    bob = adv_client_new(&w, "bob");
    ADV_RC(alice, pl_client_send(alice, "bob", "hi bob", 6, id), PL_CLIENT_OK);
    fork = adv_fork_server(&w, fork_settings);
    grow_fork(fork, adv_published_size(&w), fake, &n_fake);

    mp_lock(w.px);
    a.fork = fork;
    mp_unlock(w.px);
    adv_snapshot_take(alice, "bob", &before);
    ADV_RC(alice, pl_client_kt_status_get(alice, "bob", 1, &st), PL_CLIENT_E_KT_VIEW);
    adv_snapshot_take(alice, "bob", &after);
    adv_assert_kt_unchanged(&before, &after);
    adv_assert_alert(alice, &before, "view", "fork", 1);
    adv_newest_alert(alice, &al);
    check_fork_evidence(&w, alice, al.id);
    mp_lock(w.px);
    assert_true(a.lies_told >= 1);
    assert_false(a.failed);
    mp_unlock(w.px);

    mp_set_hooks(w.px, NULL, NULL, NULL);
    for (size_t i = 0; i < n_fake; i++)
        wi_account_free(fake[i]);
    ph_stop(fork);
    ph_free(fork);
    adv_client_close(&w, alice);
    adv_client_close(&w, bob);
    adv_world_stop(&w);
}

static void witness_keeps_client_on_one_log(void **state)
{
    adv_world_opts o = {.with_witness = 1};
    char witnesses[PL_NOTE_VKEY_MAX_BYTES + 32];
    const char *fork_settings[4];
    adv_world w;
    attack a = {0};
    pl_client *alice, *bob;
    ph_server *fork;
    wi_account *fake[PAD_MAX];
    size_t n_fake;
    adv_snapshot before, after;
    pl_client_kt_status st;
    uint64_t held, fork_size;
    unsigned refused, cosigned;
    int r;
    char id[33];

    (void)state;
    adv_world_start(&w, "forkw", &o);
    mp_set_hooks(w.px, server_hook, NULL, &a);
    alice = adv_client_new(&w, "alice");
    bob = adv_client_new(&w, "bob");
    ADV_RC(alice, pl_client_send(alice, "bob", "hi bob", 6, id), PL_CLIENT_OK);
    /* The fork names the same witness, but publishes without it (quorum 0): the only way it
     * can publish anything at all. */
    snprintf(witnesses, sizeof witnesses, "kt.witnesses=%s", w.wit.vkey);
    fork_settings[0] = "kt.batch_interval=50ms";
    fork_settings[1] = witnesses;
    fork_settings[2] = "kt.quorum=0";
    fork_settings[3] = NULL;
    fork = adv_fork_server(&w, fork_settings);
    grow_fork(fork, adv_published_size(&w), fake, &n_fake);

    /* The witness is asked to cosign the fork: it refuses, and holds what it held. */
    adv_witness_lock(&w.wit);
    held = w.wit.st.size;
    refused = w.wit.refused;
    cosigned = w.wit.cosigned;
    r = adv_witness_round(&w.wit, fork->port, fork->cert_path, &fork_size);
    assert_int_equal(r, PL_E_BAD_PROOF);
    assert_int_equal(w.wit.refused, refused + 1);
    assert_int_equal(w.wit.st.size, held);
    assert_int_equal(w.wit.cosigned, cosigned);
    adv_witness_unlock(&w.wit);

    /* alice is shown the fork: no cosignature by her witness, no quorum. */
    mp_lock(w.px);
    a.fork = fork;
    mp_unlock(w.px);
    adv_snapshot_take(alice, "bob", &before);
    ADV_RC(alice, pl_client_kt_status_get(alice, "bob", 1, &st), PL_CLIENT_E_KT_VIEW);
    adv_snapshot_take(alice, "bob", &after);
    adv_assert_kt_unchanged(&before, &after);
    adv_assert_alert(alice, &before, "view-timing", "no witness quorum", 1);
    mp_lock(w.px);
    assert_true(a.lies_told >= 1);
    assert_false(a.failed);
    mp_unlock(w.px);

    mp_set_hooks(w.px, NULL, NULL, NULL);
    for (size_t i = 0; i < n_fake; i++)
        wi_account_free(fake[i]);
    ph_stop(fork);
    ph_free(fork);
    adv_client_close(&w, alice);
    adv_client_close(&w, bob);
    adv_world_stop(&w);
}

static void new_log_is_refused_and_never_repinned(void **state)
{
    static const char *const other_settings[] = {"kt.batch_interval=50ms", "kt.quorum=0", NULL};
    static pl_cstore_kt_log pinned, after_log;
    adv_world w;
    attack a = {0};
    pl_client *alice, *bob;
    ph_server *other;
    wi_account *fake[PAD_MAX];
    size_t n_fake;
    adv_snapshot before, after;
    pl_client_kt_status st;
    char id[33];

    (void)state;
    adv_world_start(&w, "newlog", NULL);
    mp_set_hooks(w.px, server_hook, NULL, &a);
    alice = adv_client_new(&w, "alice");
    bob = adv_client_new(&w, "bob");
    ADV_RC(alice, pl_client_send(alice, "bob", "hi bob", 6, id), PL_CLIENT_OK);
    assert_int_equal(pl_cstore_kt_log_get(alice->store, &pinned), PL_CSTORE_OK);
    /* Same TLS certificate (the operator's), new log keys: a plain second parleyd whose
     * certificate is replaced by the first one's. */
    other = ph_start(other_settings);
    ph_stop(other);
    adv_copy_file(w.srv->cert_path, other->cert_path, 0644);
    adv_copy_file(w.srv->key_path, other->key_path, 0600);
    ph_restart(other);
    grow_fork(other, 1, fake, &n_fake);

    mp_lock(w.px);
    a.fork = other;
    mp_unlock(w.px);
    adv_snapshot_take(alice, "bob", &before);
    ADV_RC(alice, pl_client_kt_status_get(alice, "bob", 1, &st), PL_CLIENT_E_KT_VIEW);
    adv_snapshot_take(alice, "bob", &after);
    adv_assert_kt_unchanged(&before, &after);
    adv_assert_alert(alice, &before, "view", "bad log signature", 1);

    /* Owner monitoring compares the server's KtConfig with the pinned one. */
    adv_snapshot_take(alice, "alice", &before);
    ADV_RC(alice, pl_client_kt_monitor(alice, 1), PL_CLIENT_E_KT_CONFIG);
    adv_snapshot_take(alice, "alice", &after);
    adv_assert_kt_unchanged(&before, &after);
    adv_assert_alert(alice, &before, "config-changed", NULL, 1);
    assert_int_equal(pl_cstore_kt_log_get(alice->store, &after_log), PL_CSTORE_OK);
    assert_string_equal(after_log.origin, pinned.origin);
    assert_string_equal(after_log.log_vkey, pinned.log_vkey);
    assert_memory_equal(after_log.vrf_key, pinned.vrf_key, 32);

    mp_set_hooks(w.px, NULL, NULL, NULL);
    for (size_t i = 0; i < n_fake; i++)
        wi_account_free(fake[i]);
    ph_stop(other);
    ph_free(other);
    adv_client_close(&w, alice);
    adv_client_close(&w, bob);
    adv_world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fork_is_refused_with_both_notes),
        cmocka_unit_test(witness_keeps_client_on_one_log),
        cmocka_unit_test(new_log_is_refused_and_never_repinned),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
