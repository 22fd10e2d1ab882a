/*
 * test_kt_withheld_proof.c: the operator withholds the proof (docs/ADVERSARY.md, attack f). The
 * proxy answers the clients' KtLookup requests
 *   f1. with the proof cut in half: a malformed proof (E_KT_PROOF, alert "lookup");
 *   f2. not at all: the answer is dropped (the client's request times out), or the connection
 *       is cut instead of answering (E_UNREACHABLE);
 *   f3. with STATUS_NOT_FOUND for accounts that exist: a contact never verified cannot be
 *       written to (E_KT_UNLOGGED after the client's bounded retries), and one verified
 *       before is reported missing from the log (E_KT_ROLLBACK, alert "missing-label").
 * Never is a message encrypted to keys the log did not prove: no Send for the victim leaves
 * the client, and what the client verified before does not change.
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

typedef enum lie { LIE_NONE, LIE_TRUNCATE, LIE_DROP, LIE_CUT, LIE_NOT_FOUND } lie;

typedef struct attack {
    lie mode;
    unsigned lies_told;
    unsigned sends_to_victim;
    char victim[33];
} attack;

static mp_verdict server_hook(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    attack *a = arg;
    const Parley__KtLookupResult *res;

    if (a->mode == LIE_NONE || !fx->request ||
        fx->request->body_case != PARLEY__REQUEST__BODY_KT_LOOKUP)
        return MP_FORWARD;
    a->lies_told++;
    switch (a->mode) {
    case LIE_TRUNCATE:
        if (f->response->body_case != PARLEY__RESPONSE__BODY_KT_LOOKUP)
            return MP_FORWARD;
        res = f->response->kt_lookup;
        return adv_emit_lookup_result(fx, f, NULL, 0, res->proof.data, res->proof.len / 2);
    case LIE_DROP:
        return MP_DROP;
    case LIE_CUT:
        return MP_CLOSE;
    case LIE_NOT_FOUND:
        return adv_emit_refusal(fx, f, PARLEY__STATUS_CODE__STATUS_NOT_FOUND, "no such user");
    default:
        return MP_FORWARD;
    }
}

static mp_verdict client_hook(void *arg, mp_frame_ctx *fx, const Parley__ClientFrame *f)
{
    attack *a = arg;

    (void)fx;
    if (f->kind_case == PARLEY__CLIENT_FRAME__KIND_REQUEST &&
        f->request->body_case == PARLEY__REQUEST__BODY_SEND && f->request->send->recipient &&
        strcmp(f->request->send->recipient, a->victim) == 0)
        a->sends_to_victim++;
    return MP_FORWARD;
}

typedef struct stage {
    adv_world w;
    pl_client *alice, *bob, *carol;
    attack a;
} stage;

/* alice has verified bob (a first message went through); carol exists, never looked up. */
static void set_up(stage *s, const char *tag, lie mode)
{
    char id[33];

    memset(s, 0, sizeof *s);
    adv_world_start(&s->w, tag, NULL);
    s->alice = adv_client_new(&s->w, "alice");
    s->bob = adv_client_new(&s->w, "bob");
    s->carol = adv_client_new(&s->w, "carol");
    ADV_RC(s->alice, pl_client_send(s->alice, "bob", "hi bob", 6, id), PL_CLIENT_OK);
    snprintf(s->a.victim, sizeof s->a.victim, "carol");
    s->a.mode = mode;
    mp_set_hooks(s->w.px, server_hook, client_hook, &s->a);
}

static void tear_down(stage *s)
{
    mp_set_hooks(s->w.px, NULL, NULL, NULL);
    adv_client_close(&s->w, s->alice);
    adv_client_close(&s->w, s->bob);
    adv_client_close(&s->w, s->carol);
    adv_world_stop(&s->w);
}

/* A first message to carol fails with want; nothing alice verified changes; no Send leaves. */
static void first_message_refused(stage *s, int want, adv_snapshot *before)
{
    adv_snapshot after;
    char id[33];

    adv_snapshot_take(s->alice, "carol", before);
    assert_true(before->has_checkpoint);
    assert_false(before->has_label);
    ADV_RC(s->alice, pl_client_send(s->alice, "carol", "hi carol", 8, id), want);
    adv_snapshot_take(s->alice, "carol", &after);
    adv_assert_kt_unchanged(before, &after);
    mp_lock(s->w.px);
    assert_true(s->a.lies_told >= 1);
    assert_int_equal(s->a.sends_to_victim, 0);
    mp_unlock(s->w.px);
}

/* A fresh lookup of bob, verified before, fails with want and changes nothing. */
static void refresh_refused(stage *s, int want, adv_snapshot *before)
{
    adv_snapshot after;
    pl_client_kt_status st;

    adv_snapshot_take(s->alice, "bob", before);
    assert_true(before->has_label);
    ADV_RC(s->alice, pl_client_kt_status_get(s->alice, "bob", 1, &st), want);
    adv_snapshot_take(s->alice, "bob", &after);
    adv_assert_kt_unchanged(before, &after);
}

static void truncated_proof_is_malformed(void **state)
{
    stage s;
    adv_snapshot before;

    (void)state;
    set_up(&s, "trunc", LIE_TRUNCATE);
    first_message_refused(&s, PL_CLIENT_E_KT_PROOF, &before);
    adv_assert_alert(s.alice, &before, "lookup", "malformed proof", 1);
    refresh_refused(&s, PL_CLIENT_E_KT_PROOF, &before);
    adv_assert_alert(s.alice, &before, "lookup", "malformed proof", 1);
    tear_down(&s);
}

static void withheld_answer_is_an_error(void **state)
{
    stage s;
    adv_snapshot before;

    (void)state;
    /* Cut instead of answering: the client sees the connection end at once. */
    set_up(&s, "cut", LIE_CUT);
    first_message_refused(&s, PL_CLIENT_E_UNREACHABLE, &before);
    refresh_refused(&s, PL_CLIENT_E_UNREACHABLE, &before);
    /* Dropped: the client waits for its request timeout, then gives up. */
    mp_lock(s.w.px);
    s.a.mode = LIE_DROP;
    mp_unlock(s.w.px);
    first_message_refused(&s, PL_CLIENT_E_UNREACHABLE, &before);
    tear_down(&s);
}

static void not_found_for_an_existing_account(void **state)
{
    stage s;
    adv_snapshot before;

    (void)state;
    set_up(&s, "notfound", LIE_NOT_FOUND);
    first_message_refused(&s, PL_CLIENT_E_KT_UNLOGGED, &before);
    refresh_refused(&s, PL_CLIENT_E_KT_ROLLBACK, &before);
    /* A NOT_FOUND status carries nothing signed: the alert has no evidence to keep. */
    adv_assert_alert(s.alice, &before, "missing-label", NULL, 0);
    tear_down(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(truncated_proof_is_malformed),
        cmocka_unit_test(withheld_answer_is_an_error),
        cmocka_unit_test(not_found_for_an_existing_account),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
