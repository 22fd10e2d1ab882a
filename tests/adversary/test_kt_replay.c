/*
 * test_kt_replay.c: the operator replays an old account state (docs/ADVERSARY.md, attack g).
 * bob's account has two versions: v0 (registration) and v1 (a second device linked). alice
 * verified v0, and the proxy kept that answer; then, for alice's greatest lookups of bob, the
 * proxy answers
 *   g1. the old proof with the current checkpoint: a proof of another tree (wrong tree);
 *   g2. a greatest proof of v0 against the current tree, made from the log's own fixed proofs
 *       of v0 and v1: v1 is in the tree, so v0 is not the greatest (not greatest);
 *   g3. the current proof with v0's state as the value: the logged commitment is v1's (bad
 *       commitment);
 *   g4. the whole old answer, checkpoint included: the client's view is already past it
 *       (rollback of the log, with both signed checkpoints kept as evidence).
 * Each is refused with its reason and alice's view and her verified state of bob stay as they
 * were; once the proxy is honest again her next message goes to both of bob's devices, as v1
 * says.
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

typedef enum lie {
    LIE_NONE,
    LIE_RECORD,
    LIE_OLD_PROOF,
    LIE_NOT_GREATEST,
    LIE_OLD_VALUE,
    LIE_OLD_ANSWER
} lie;

typedef struct attack {
    lie mode;
    adv_world *w;
    unsigned lies_told;
    int failed;               /* a lie could not be built (the test fails on it) */
    size_t last_send_devices; /* recipient devices of the last Send to bob */
    /* The answer to alice's first lookup of bob (v0), as it came. */
    uint8_t *old_frame;
    size_t old_frame_len;
    uint8_t old_proof[PL_KT_LOOKUP_MAX_BYTES];
    size_t old_proof_len;
    uint8_t old_value[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t old_value_len;
} attack;

static int is_bob_greatest(const mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    const Parley__Request *rq = fx->request;

    return rq && rq->body_case == PARLEY__REQUEST__BODY_KT_LOOKUP && !rq->kt_lookup->fixed &&
           rq->kt_lookup->username && strcmp(rq->kt_lookup->username, "bob") == 0 &&
           f->response->status->code == 0 &&
           f->response->body_case == PARLEY__RESPONSE__BODY_KT_LOOKUP;
}

/* g2: the fixed proofs of v0 and v1 at this tree, joined into a greatest proof of v0. */
typedef struct greatest_v0 {
    pl_kt_lookup v1;
} greatest_v0;

static void make_greatest(pl_kt_lookup *l, void *arg)
{
    const greatest_v0 *g = arg;

    l->kind = PL_KT_LOOKUP_GREATEST;
    memcpy(l->next_vrf_proof, g->v1.vrf_proof, sizeof l->next_vrf_proof);
    l->next_prefix = g->v1.prefix; /* an inclusion of v1 where absence should be */
}

static void old_value(pl_kt_lookup *l, void *arg)
{
    const attack *a = arg;

    l->value = a->old_value;
    l->value_len = a->old_value_len;
}

static mp_verdict lie_not_greatest(attack *a, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    static uint8_t p0[PL_KT_LOOKUP_MAX_BYTES], p1[PL_KT_LOOKUP_MAX_BYTES],
        out[PL_KT_LOOKUP_MAX_BYTES];
    static greatest_v0 g;
    size_t len0, len1, out_len;
    uint64_t size0, size1, size_now;
    static pl_kt_lookup now;

    if (pl_kt_lookup_decode(&now, f->response->kt_lookup->proof.data,
                            f->response->kt_lookup->proof.len) != PL_OK ||
        adv_direct_lookup(a->w, "bob", 1, 0, p0, sizeof p0, &len0, NULL, &size0) != 0 ||
        adv_direct_lookup(a->w, "bob", 1, 1, p1, sizeof p1, &len1, NULL, &size1) != 0 ||
        pl_kt_lookup_decode(&g.v1, p1, len1) != PL_OK)
        goto fail;
    size_now = now.tree_size;
    if (size0 != size_now || size1 != size_now)
        goto fail; /* a new entry came in between: the lie would be about another tree */
    if (pl_kt_lookup_decode(&now, p0, len0) != PL_OK)
        goto fail;
    make_greatest(&now, &g);
    if (pl_kt_lookup_encode(&now, out, sizeof out, &out_len) != PL_OK)
        goto fail;
    return adv_emit_lookup_result(fx, f, NULL, 0, out, out_len);
fail:
    a->failed = 1;
    return MP_FORWARD;
}

static mp_verdict server_hook(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    attack *a = arg;
    static uint8_t out[PL_KT_LOOKUP_MAX_BYTES];
    size_t out_len;
    Parley__ServerFrame *old;
    mp_verdict v;

    if (a->mode == LIE_NONE || !is_bob_greatest(fx, f))
        return MP_FORWARD;
    switch (a->mode) {
    case LIE_RECORD: {
        static pl_kt_lookup l;
        const Parley__KtLookupResult *res = f->response->kt_lookup;

        free(a->old_frame);
        a->old_frame_len = parley__server_frame__get_packed_size(f);
        a->old_frame = malloc(a->old_frame_len);
        parley__server_frame__pack(f, a->old_frame);
        memcpy(a->old_proof, res->proof.data, res->proof.len);
        a->old_proof_len = res->proof.len;
        if (pl_kt_lookup_decode(&l, res->proof.data, res->proof.len) == PL_OK) {
            memcpy(a->old_value, l.value, l.value_len);
            a->old_value_len = l.value_len;
        }
        return MP_FORWARD;
    }
    case LIE_OLD_PROOF:
        a->lies_told++;
        return adv_emit_lookup_result(fx, f, NULL, 0, a->old_proof, a->old_proof_len);
    case LIE_NOT_GREATEST:
        a->lies_told++;
        return lie_not_greatest(a, fx, f);
    case LIE_OLD_VALUE:
        a->lies_told++;
        adv_lookup_mutate(f->response->kt_lookup->proof.data, f->response->kt_lookup->proof.len,
                          old_value, a, out, sizeof out, &out_len);
        return adv_emit_lookup_result(fx, f, NULL, 0, out, out_len);
    case LIE_OLD_ANSWER:
        a->lies_told++;
        if (!(old = parley__server_frame__unpack(NULL, a->old_frame_len, a->old_frame)))
            return MP_CLOSE;
        old->response->id = f->response->id;
        v = mp_emit_server(fx, old);
        parley__server_frame__free_unpacked(old, NULL);
        return v;
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
        strcmp(f->request->send->recipient, "bob") == 0)
        a->last_send_devices = f->request->send->n_recipient_devices;
    return MP_FORWARD;
}

static void set_mode(adv_world *w, attack *a, lie mode)
{
    mp_lock(w->px);
    a->mode = mode;
    mp_unlock(w->px);
}

/* One lie: alice's fresh lookup of bob fails with want and an alert of kind mentioning
 * reason; nothing she verified changes. Then she acknowledges the alert, as a user who read
 * it would, so that the next lie meets a fresh lookup rather than the block. */
static void lie_refused(adv_world *w, attack *a, pl_client *alice, lie mode, int want,
                        const char *kind, const char *reason)
{
    adv_snapshot before, after;
    pl_client_kt_status st;
    pl_client_alert al;

    set_mode(w, a, mode);
    adv_snapshot_take(alice, "bob", &before);
    ADV_RC(alice, pl_client_kt_status_get(alice, "bob", 1, &st), want);
    adv_snapshot_take(alice, "bob", &after);
    adv_assert_kt_unchanged(&before, &after);
    adv_assert_alert(alice, &before, kind, reason, 1);
    set_mode(w, a, LIE_NONE);
    mp_lock(w->px);
    assert_false(a->failed);
    mp_unlock(w->px);
    adv_newest_alert(alice, &al);
    ADV_RC(alice, pl_client_alert_ack(alice, al.id), PL_CLIENT_OK);
}

static void replayed_old_state_is_refused(void **state)
{
    adv_world w;
    attack a;
    pl_client *alice, *bob, *bob2;
    adv_snapshot snap;
    pl_client_kt_status st;
    uint32_t dev2;
    char id[33];

    (void)state;
    memset(&a, 0, sizeof a);
    a.w = &w;
    adv_world_start(&w, "replay", NULL);
    mp_set_hooks(w.px, server_hook, client_hook, &a);
    alice = adv_client_new(&w, "alice");
    bob = adv_client_new(&w, "bob");

    /* alice verifies bob v0; the proxy keeps the answer. */
    set_mode(&w, &a, LIE_RECORD);
    ADV_RC(alice, pl_client_send(alice, "bob", "hi bob", 6, id), PL_CLIENT_OK);
    set_mode(&w, &a, LIE_NONE);
    mp_lock(w.px);
    assert_int_equal(a.last_send_devices, 1);
    mp_unlock(w.px);
    assert_non_null(a.old_frame);
    adv_snapshot_take(alice, "bob", &snap);
    assert_int_equal(snap.version, 0);

    /* bob links a phone: v1. alice, honestly served, verifies v1. */
    bob2 = adv_client_link(&w, bob, "bob2", &dev2);
    adv_wait_published(&w, "bob", 1);
    ADV_RC(alice, pl_client_kt_status_get(alice, "bob", 1, &st), PL_CLIENT_OK);
    assert_int_equal(st.version, 1);
    assert_int_equal(st.n_devices, 2);
    adv_snapshot_take(alice, "bob", &snap);
    assert_int_equal(snap.version, 1);

    lie_refused(&w, &a, alice, LIE_OLD_PROOF, PL_CLIENT_E_KT_PROOF, "lookup",
                "proof for another tree size");
    lie_refused(&w, &a, alice, LIE_NOT_GREATEST, PL_CLIENT_E_KT_PROOF, "lookup",
                "not the greatest version");
    lie_refused(&w, &a, alice, LIE_OLD_VALUE, PL_CLIENT_E_KT_PROOF, "lookup",
                "value does not match the logged commitment");
    lie_refused(&w, &a, alice, LIE_OLD_ANSWER, PL_CLIENT_E_KT_VIEW, "view", "rollback");
    mp_lock(w.px);
    assert_int_equal(a.lies_told, 4);
    mp_unlock(w.px);

    /* Honest again: alice writes to bob's two devices, as the log says. */
    ADV_RC(alice, pl_client_kt_status_get(alice, "bob", 1, &st), PL_CLIENT_OK);
    assert_int_equal(st.version, 1);
    ADV_RC(alice, pl_client_send(alice, "bob", "both devices", 12, id), PL_CLIENT_OK);
    mp_lock(w.px);
    assert_int_equal(a.last_send_devices, 2);
    mp_unlock(w.px);

    mp_set_hooks(w.px, NULL, NULL, NULL);
    free(a.old_frame);
    adv_client_close(&w, alice);
    adv_client_close(&w, bob);
    adv_client_close(&w, bob2);
    adv_world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replayed_old_state_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
