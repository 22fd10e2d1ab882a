/*
 * test_kt_witness_attacks.c: the operator lies about the witnesses (docs/ADVERSARY.md, attacks
 * e and h). parleyd requires one witness (the in-test adv_witness, quorum 1) and the clients
 * pinned it; the proxy then
 *   e1. strips the witness's cosignature line from every checkpoint it relays: no quorum;
 *   e2. flips a bit of that line's signature: a bad signature refuses the whole note;
 *   h.  (no proxy lie) the witness cosigned with a clock two hours behind, so the checkpoint
 *       parleyd publishes carries only a stale cosignature.
 * Each time the client refuses with PL_CLIENT_E_KT_VIEW and the stable alert kind, keeps
 * evidence, and its verified view and contact state do not change; a contact it never
 * verified gets no message (no Send leaves for them: there is no fallback to unverified keys).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "adv_kt.h"
#include "adv_world.h"
#include "wire_ops.h"

typedef enum lie { LIE_NONE, LIE_STRIP, LIE_CORRUPT } lie;

typedef struct attack {
    lie mode;
    unsigned lies_told;       /* checkpoints rewritten */
    unsigned sends_to_victim; /* Send requests for `victim` that reached the proxy */
    char victim[33];
    char witness[64];
} attack;

static mp_verdict server_hook(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    attack *a = arg;
    const Parley__KtCheckpoint *kc = adv_frame_checkpoint(f);
    static char out[PL_NOTE_MAX_BYTES];
    size_t out_len, len;
    pl_checkpoint cp;

    if (a->mode == LIE_NONE || !kc || !kc->note || !strstr(kc->note, "\n\n"))
        return MP_FORWARD;
    len = strlen(kc->note);
    if (a->mode == LIE_STRIP) {
        adv_note_text(kc->note, len, &cp);
        if (adv_note_keep_only(kc->note, len, cp.origin, out, sizeof out, &out_len) == 0)
            return MP_FORWARD; /* nothing to strip */
    } else {
        adv_note_corrupt_line(kc->note, len, a->witness, out, sizeof out, &out_len);
    }
    a->lies_told++;
    return adv_emit_with_note(fx, f, out, out_len);
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

/* The stage: alice has verified bob (a first message went through); carol exists but alice
 * never looked her up. */
typedef struct stage {
    adv_world w;
    pl_client *alice, *bob, *carol;
    attack a;
} stage;

static void set_up(stage *s, const char *tag)
{
    adv_world_opts o = {.with_witness = 1};
    char id[33];

    memset(s, 0, sizeof *s);
    adv_world_start(&s->w, tag, &o);
    s->alice = adv_client_new(&s->w, "alice");
    s->bob = adv_client_new(&s->w, "bob");
    s->carol = adv_client_new(&s->w, "carol");
    ADV_RC(s->alice, pl_client_send(s->alice, "bob", "hi bob", 6, id), PL_CLIENT_OK);
    snprintf(s->a.victim, sizeof s->a.victim, "carol");
    snprintf(s->a.witness, sizeof s->a.witness, "%s", s->w.wit.name);
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

/*
 * Runs the attack: a first message to carol (never looked up) and then a fresh lookup of bob
 * (parley verify) must both be refused, the first with E_KT_VIEW and an alert of `kind`
 * mentioning `reason`, the second with bob_rc; nothing alice verified changes, and no Send
 * for carol leaves the client.
 */
static void expect_refused(stage *s, const char *kind, const char *reason, int bob_rc)
{
    adv_snapshot before, after;
    pl_client_kt_status st;
    char id[33];

    adv_snapshot_take(s->alice, "carol", &before);
    assert_true(before.has_checkpoint);
    assert_false(before.has_label);
    ADV_RC(s->alice, pl_client_send(s->alice, "carol", "hi carol", 8, id), PL_CLIENT_E_KT_VIEW);
    adv_snapshot_take(s->alice, "carol", &after);
    adv_assert_kt_unchanged(&before, &after);
    adv_assert_alert(s->alice, &before, kind, reason, 1);

    adv_snapshot_take(s->alice, "bob", &before);
    assert_true(before.has_label);
    ADV_RC(s->alice, pl_client_kt_status_get(s->alice, "bob", 1, &st), bob_rc);
    adv_snapshot_take(s->alice, "bob", &after);
    adv_assert_kt_unchanged(&before, &after);
    mp_lock(s->w.px);
    if (s->a.mode != LIE_NONE)
        assert_true(s->a.lies_told >= 1);
    assert_int_equal(s->a.sends_to_victim, 0);
    mp_unlock(s->w.px);
}

static void stripped_cosignature_is_no_quorum(void **state)
{
    stage s;

    (void)state;
    set_up(&s, "strip");
    mp_lock(s.w.px);
    s.a.mode = LIE_STRIP;
    mp_unlock(s.w.px);
    /* No quorum may be a late witness: it blocks nothing by itself, and every lookup meets
     * the same refusal. */
    expect_refused(&s, "view-timing", "no witness quorum", PL_CLIENT_E_KT_VIEW);
    tear_down(&s);
}

static void corrupted_cosignature_is_a_bad_signature(void **state)
{
    stage s;
    char id[33];

    (void)state;
    set_up(&s, "corrupt");
    mp_lock(s.w.px);
    s.a.mode = LIE_CORRUPT;
    mp_unlock(s.w.px);
    /* A bad signature is evidence against the whole log: from then on everything is blocked,
     * even bob, whose state was verified before, until the user acknowledges the alert. */
    expect_refused(&s, "view", "bad log signature", PL_CLIENT_E_KT_BLOCKED);
    mp_lock(s.w.px);
    s.a.mode = LIE_NONE;
    mp_unlock(s.w.px);
    ADV_RC(s.alice, pl_client_send(s.alice, "bob", "still there?", 12, id), PL_CLIENT_E_KT_BLOCKED);
    tear_down(&s);
}

static void stale_cosignature_is_refused(void **state)
{
    stage s;
    wi_account *dave;
    uint64_t before_size;

    (void)state;
    set_up(&s, "stale");
    /* The witness's clock falls two hours behind (more than max_behind), then a change makes
     * parleyd sign a new checkpoint, which the witness cosigns at that old time; parleyd
     * publishes it (it checks the signature, not the time: clocks are the client's job). */
    before_size = adv_published_size(&s.w);
    adv_witness_lock(&s.w.wit);
    s.w.wit.clock_s = (uint64_t)time(NULL) - 2u * 3600u;
    adv_witness_unlock(&s.w.wit);
    dave = wo_new_user(s.w.srv->port, s.w.srv->cert_path, "dave", NULL);
    adv_wait_published(&s.w, dave->username, 0);
    assert_true(adv_published_size(&s.w) > before_size);
    expect_refused(&s, "view-timing", "stale cosignatures", PL_CLIENT_E_KT_VIEW);
    wi_account_free(dave);
    tear_down(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stripped_cosignature_is_no_quorum),
        cmocka_unit_test(corrupted_cosignature_is_a_bad_signature),
        cmocka_unit_test(stale_cosignature_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
