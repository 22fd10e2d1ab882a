/*
 * test_kt_substitution.c: the operator substitutes an account key (docs/ADVERSARY.md, attack
 * b). mallory's account key is one the operator made; bob's is bob's.
 *   b1. In flight: the proxy replaces the value of alice's lookups of bob with an account
 *       state of the same version signed by mallory's key. The proof's commitment is bob's
 *       real state's, so the proof fails (bad commitment): no message leaves, nothing
 *       alice verified changes.
 *   b2. In the log: the operator stops parleyd, writes into its store a version 1 of bob
 *       signed by mallory's key (chained to bob's version 0, so only the key differs), and
 *       restarts; parleyd logs it like any other. Now the log itself says bob's key changed:
 *       alice, who verified bob's safety number, sees a key change and may not send until she
 *       verifies again (E_KEY_CHANGED), and bob's own monitoring raises a high-priority
 *       alert (own-key, E_KT_OWN) without accepting the version.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "adv_kt.h"
#include "adv_world.h"
#include "client_internal.h"

typedef struct attack {
    int substitute; /* b1: rewrite bob's lookup values */
    unsigned lies_told;
    unsigned sends_to_bob;
    uint8_t forged[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t forged_len;
} attack;

static void substitute_value(pl_kt_lookup *l, void *arg)
{
    const attack *a = arg;

    l->value = a->forged;
    l->value_len = a->forged_len;
}

static mp_verdict server_hook(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    attack *a = arg;
    static uint8_t out[PL_KT_LOOKUP_MAX_BYTES];
    const Parley__Request *rq = fx->request;
    size_t out_len;

    if (!a->substitute || !rq || rq->body_case != PARLEY__REQUEST__BODY_KT_LOOKUP ||
        !rq->kt_lookup->username || strcmp(rq->kt_lookup->username, "bob") != 0 ||
        f->response->body_case != PARLEY__RESPONSE__BODY_KT_LOOKUP)
        return MP_FORWARD;
    a->lies_told++;
    adv_lookup_mutate(f->response->kt_lookup->proof.data, f->response->kt_lookup->proof.len,
                      substitute_value, a, out, sizeof out, &out_len);
    return adv_emit_lookup_result(fx, f, NULL, 0, out, out_len);
}

static mp_verdict client_hook(void *arg, mp_frame_ctx *fx, const Parley__ClientFrame *f)
{
    attack *a = arg;

    (void)fx;
    if (f->kind_case == PARLEY__CLIENT_FRAME__KIND_REQUEST &&
        f->request->body_case == PARLEY__REQUEST__BODY_SEND && f->request->send->recipient &&
        strcmp(f->request->send->recipient, "bob") == 0)
        a->sends_to_bob++;
    return MP_FORWARD;
}

static void substituted_value_fails_the_proof(void **state)
{
    adv_world w;
    attack a;
    pl_client *alice, *bob;
    pl_account *mallory = NULL;
    adv_snapshot before, after;
    pl_client_kt_status st;
    char id[33];

    (void)state;
    memset(&a, 0, sizeof a);
    adv_world_start(&w, "subst", NULL);
    mp_set_hooks(w.px, server_hook, client_hook, &a);
    alice = adv_client_new(&w, "alice");
    bob = adv_client_new(&w, "bob");
    assert_int_equal(pl_account_generate(&mallory, NULL), PL_OK);
    adv_state_forge(mallory, 0, NULL, 1, ph_now_ms(), a.forged, sizeof a.forged, &a.forged_len);
    pl_account_free(mallory);

    /* Before the first message (alice's own state verified, so her view is the latest): nothing
     * is sent to bob. Their first entries are published about a batch interval after
     * registration. */
    adv_wait_published(&w, "alice", 0);
    adv_wait_published(&w, "bob", 0);
    ADV_RC(alice, pl_client_kt_monitor(alice, 1), PL_CLIENT_OK);
    mp_lock(w.px);
    a.substitute = 1;
    mp_unlock(w.px);
    adv_snapshot_take(alice, "bob", &before);
    assert_false(before.has_label);
    ADV_RC(alice, pl_client_send(alice, "bob", "hi bob", 6, id), PL_CLIENT_E_KT_PROOF);
    adv_snapshot_take(alice, "bob", &after);
    adv_assert_kt_unchanged(&before, &after);
    adv_assert_alert(alice, &before, "lookup", "value does not match the logged commitment", 1);
    mp_lock(w.px);
    assert_int_equal(a.sends_to_bob, 0);
    assert_true(a.lies_told >= 1);
    mp_unlock(w.px);

    /* After bob was verified honestly: a later lookup with the substitute changes nothing. */
    mp_lock(w.px);
    a.substitute = 0;
    mp_unlock(w.px);
    {
        pl_client_alert al;

        adv_newest_alert(alice, &al);
        ADV_RC(alice, pl_client_alert_ack(alice, al.id), PL_CLIENT_OK);
    }
    ADV_RC(alice, pl_client_send(alice, "bob", "hi bob", 6, id), PL_CLIENT_OK);
    mp_lock(w.px);
    a.substitute = 1;
    mp_unlock(w.px);
    adv_snapshot_take(alice, "bob", &before);
    assert_true(before.has_label);
    ADV_RC(alice, pl_client_kt_status_get(alice, "bob", 1, &st), PL_CLIENT_E_KT_PROOF);
    adv_snapshot_take(alice, "bob", &after);
    adv_assert_kt_unchanged(&before, &after);
    adv_assert_alert(alice, &before, "lookup", "value does not match the logged commitment", 1);

    mp_set_hooks(w.px, NULL, NULL, NULL);
    adv_client_close(&w, alice);
    adv_client_close(&w, bob);
    adv_world_stop(&w);
}

static void logged_key_change_is_seen_by_contacts_and_owner(void **state)
{
    adv_world w;
    attack a;
    pl_client *alice, *bob;
    pl_account *mallory = NULL;
    pl_client_safety sn;
    pl_client_kt_status st;
    adv_snapshot before, after;
    uint8_t v0[PL_ACCOUNT_STATE_MAX_BYTES], prev[32], forged[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t v0_len, forged_len;
    sqlite3 *db;
    char id[33];

    (void)state;
    memset(&a, 0, sizeof a);
    adv_world_start(&w, "keychange", NULL);
    mp_set_hooks(w.px, NULL, client_hook, &a);
    alice = adv_client_new(&w, "alice");
    bob = adv_client_new(&w, "bob");
    /* alice writes to bob and verifies his safety number; bob checks his own log. */
    ADV_RC(alice, pl_client_send(alice, "bob", "hi bob", 6, id), PL_CLIENT_OK);
    ADV_RC(alice, pl_client_safety_number(alice, "bob", &sn), PL_CLIENT_OK);
    ADV_RC(alice, pl_client_verify_confirm(alice, "bob", sn.safety_number), PL_CLIENT_OK);
    ADV_RC(bob, pl_client_kt_monitor(bob, 1), PL_CLIENT_OK);

    /* The operator logs version 1 of bob under mallory's key. */
    adv_client_close(&w, alice);
    adv_client_close(&w, bob);
    ph_stop(w.srv);
    db = adv_store_open(&w);
    v0_len = adv_store_blob(db, "SELECT state FROM kt_versions WHERE label = ?1 AND version = 0",
                            "bob", v0, sizeof v0);
    pl_account_state_hash(v0, v0_len, prev);
    assert_int_equal(pl_account_generate(&mallory, NULL), PL_OK);
    adv_state_forge(mallory, 1, prev, 1, ph_now_ms(), forged, sizeof forged, &forged_len);
    pl_account_free(mallory);
    assert_int_equal(adv_store_exec(db,
                                    "INSERT INTO kt_versions(label, version, state)"
                                    " VALUES(?2, 1, ?1)",
                                    forged, forged_len, "bob"),
                     1);
    sqlite3_close(db);
    adv_world_restart(&w);
    adv_wait_published(&w, "bob", 1);
    alice = adv_client_open(&w, "alice");
    bob = adv_client_open(&w, "bob");

    /* alice: a key change of a verified contact; sending is blocked until she verifies. */
    ADV_RC(alice, pl_client_kt_status_get(alice, "bob", 1, &st), PL_CLIENT_E_KEY_CHANGED);
    ADV_RC(alice, pl_client_safety_number(alice, "bob", &sn), PL_CLIENT_OK);
    assert_true(sn.key_changed);
    ADV_RC(alice, pl_client_send(alice, "bob", "are you there?", 14, id), PL_CLIENT_E_KEY_CHANGED);
    mp_lock(w.px);
    assert_int_equal(a.sends_to_bob, 1); /* the first message only */
    mp_unlock(w.px);

    /* bob: a version none of his devices made; his verified state does not move. */
    adv_snapshot_take(bob, "bob", &before);
    assert_int_equal(before.version, 0);
    ADV_RC(bob, pl_client_kt_monitor(bob, 1), PL_CLIENT_E_KT_OWN);
    adv_snapshot_take(bob, "bob", &after);
    adv_assert_kt_unchanged(&before, &after);
    adv_assert_alert(bob, &before, "own-key", NULL, 1);
    {
        pl_client_alert al;

        adv_newest_alert(bob, &al);
        assert_true(al.high);
    }

    mp_set_hooks(w.px, NULL, NULL, NULL);
    adv_client_close(&w, alice);
    adv_client_close(&w, bob);
    adv_world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(substituted_value_fails_the_proof),
        cmocka_unit_test(logged_key_change_is_seen_by_contacts_and_owner),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
