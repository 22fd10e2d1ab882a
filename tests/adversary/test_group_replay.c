/*
 * test_group_replay.c: the operator replays old group messages to a member (docs/ADVERSARY.md,
 * attack k). The proxy keeps each GroupSend alice makes and, with her later ones, sends parleyd
 * copies of the old ones under new request and client message ids (so that parleyd's resend
 * deduplication does not catch them: it stores them again for every addressed device), and
 * drops parleyd's answers to the copies. bob's client gets the same ciphertexts again after
 * reading them: the sender-key chain refuses each as a replay (PROTOCOL.md §29.4 step 4), the
 * client says so, and nothing is shown twice.
 * k2 relabels a group message as another member's (Envelope.sender): refused, not shown.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adv_group.h"
#include "adv_world.h"
#include "client_internal.h"

#define KEPT_MAX 4
#define COPY_ID_BASE 0xad0000000000ull

/* The GroupSends the proxy kept, to replay. */
typedef struct replayer {
    int armed;
    struct {
        uint8_t *frame; /* the packed ClientFrame */
        size_t len;
    } kept[KEPT_MAX];
    size_t n_kept;
    uint64_t next_copy_id;
    unsigned copies_sent, copy_answers_dropped;
} replayer;

static mp_verdict client_hook(void *arg, mp_frame_ctx *fx, const Parley__ClientFrame *f)
{
    replayer *rp = arg;
    mp_verdict v = MP_FORWARD;

    if (f->kind_case != PARLEY__CLIENT_FRAME__KIND_REQUEST ||
        f->request->body_case != PARLEY__REQUEST__BODY_GROUP_SEND)
        return MP_FORWARD;
    if (rp->armed) {
        for (size_t i = 0; i < rp->n_kept; i++) {
            Parley__ClientFrame *old =
                parley__client_frame__unpack(NULL, rp->kept[i].len, rp->kept[i].frame);
            uint8_t fresh_id[16];
            ProtobufCBinaryData unpacked_id;

            assert_non_null(old);
            memset(fresh_id, 0xad, sizeof fresh_id);
            fresh_id[0] = (uint8_t)rp->next_copy_id;
            old->request->id = COPY_ID_BASE + rp->next_copy_id++;
            unpacked_id = old->request->group_send->client_message_id;
            old->request->group_send->client_message_id.data = fresh_id;
            old->request->group_send->client_message_id.len = 16;
            v = mp_emit_client(fx, old);
            old->request->group_send->client_message_id = unpacked_id; /* the unpacker frees */
            parley__client_frame__free_unpacked(old, NULL);
            if (v != MP_REPLACE)
                return MP_CLOSE;
            rp->copies_sent++;
        }
        if ((v = mp_emit_client(fx, f)) != MP_REPLACE)
            return MP_CLOSE;
    }
    if (rp->n_kept < KEPT_MAX) {
        size_t len = parley__client_frame__get_packed_size(f);

        rp->kept[rp->n_kept].frame = malloc(len);
        assert_non_null(rp->kept[rp->n_kept].frame);
        rp->kept[rp->n_kept].len = parley__client_frame__pack(f, rp->kept[rp->n_kept].frame);
        rp->n_kept++;
    }
    return v;
}

static mp_verdict server_hook(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    replayer *rp = arg;

    (void)fx;
    if (f->kind_case != PARLEY__SERVER_FRAME__KIND_RESPONSE || f->response->id < COPY_ID_BASE ||
        f->response->id >= COPY_ID_BASE + rp->next_copy_id)
        return MP_FORWARD;
    assert_int_equal(f->response->status->code, 0); /* parleyd stored the copy */
    rp->copy_answers_dropped++;
    return MP_DROP;
}

typedef struct seen {
    adv_member *m;
    int notice;
    const char *needle;
    size_t want;
} seen;

static int has_seen(void *arg)
{
    seen *s = arg;

    return adv_log_count(&s->m->log, s->notice, s->needle) >= s->want;
}

static void wait_seen(adv_member *const *all, adv_member *m, int notice, const char *needle,
                      size_t want)
{
    seen x = {m, notice, needle, want};
    char what[200];

    snprintf(what, sizeof what, "%s shown \"%s\" %zu times", m->c->username, needle, want);
    adv_group_wait_until(all, 2, has_seen, &x, what); /* alice and bob */
}

static int count_one(void *ctx, const pl_cstore_message *m)
{
    (void)m;
    ++*(size_t *)ctx;
    return 0;
}

static void send(adv_member *m, const char *text)
{
    char id[33];

    ADV_RC(m->c, pl_client_group_send(m->c, "team", text, strlen(text), id), PL_CLIENT_OK);
}

static void replayed_group_messages_are_refused(void **state)
{
    static const char *const names[] = {"alice", "bob"};
    adv_world w;
    replayer rp;
    adv_member ms[2];
    adv_member *const all[] = {&ms[0], &ms[1]};
    adv_member *alice = &ms[0], *bob = &ms[1];
    const char *bob_only[] = {"bob"};
    uint8_t *before;
    size_t before_len = 0;
    size_t n_history;
    char what[32];

    (void)state;
    memset(&rp, 0, sizeof rp);
    adv_world_start(&w, "greplay", NULL);
    mp_set_hooks(w.px, server_hook, client_hook, &rp);
    for (size_t i = 0; i < 2; i++) {
        ms[i].c = adv_client_new(&w, names[i]);
        adv_member_attach(&ms[i]);
    }
    for (size_t i = 0; i < 2; i++)
        adv_wait_published(&w, names[i], 0);
    ADV_RC(alice->c, pl_client_group_create(alice->c, "team", bob_only, 1), PL_CLIENT_OK);
    adv_group_wait_keys(all, 2, all, 2, "team");
    before = adv_group_state(bob->c, "team", &before_len, NULL);

    send(alice, "first canary-k1");
    wait_seen(all, bob, 0, "canary-k1", 1);
    mp_lock(w.px);
    rp.armed = 1;
    mp_unlock(w.px);
    send(alice, "second canary-k2"); /* with a copy of the first */
    send(alice, "third canary-k3");  /* with copies of the first and the second */
    mp_lock(w.px);
    assert_int_equal(rp.copies_sent, 3);
    mp_unlock(w.px);
    wait_seen(all, bob, 0, "canary-k3", 1);
    wait_seen(all, bob, 1, "could not be read: it was read before (a replay)", 3);
    mp_lock(w.px);
    assert_int_equal(rp.copy_answers_dropped, 3);
    mp_unlock(w.px);
    for (int k = 1; k <= 3; k++) {
        snprintf(what, sizeof what, "canary-k%d", k);
        if (adv_log_count(&bob->log, 0, what) != 1) {
            adv_log_dump("bob", &bob->log);
            fail_msg("bob was shown \"%s\" %zu times", what, adv_log_count(&bob->log, 0, what));
        }
    }
    /* The history has each message once (and the three notices). */
    n_history = 0;
    assert_int_equal(pl_cstore_message_list(bob->c->store, "#team", 0, count_one, &n_history),
                     PL_CSTORE_OK);
    assert_int_equal(n_history, 3);
    adv_assert_group_unchanged(bob->c, "team", before, before_len);

    mp_set_hooks(w.px, NULL, NULL, NULL);
    for (size_t i = 0; i < rp.n_kept; i++)
        free(rp.kept[i].frame);
    free(before);
    for (size_t i = 0; i < 2; i++)
        adv_client_close(&w, ms[i].c);
    adv_world_stop(&w);
}

/* k2: the operator relabels alice's group message as carol's (Envelope.sender is the
 * server's word): bob picks carol's chain, which did not make it, and refuses it. */
static mp_verdict relabel(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    unsigned *relabelled = arg;
    Parley__ServerFrame nf;
    Parley__Push push;
    Parley__Envelope env;

    if (f->kind_case != PARLEY__SERVER_FRAME__KIND_PUSH ||
        f->push->kind_case != PARLEY__PUSH__KIND_ENVELOPE || !f->push->envelope->group ||
        strcmp(f->push->envelope->sender, "alice") != 0)
        return MP_FORWARD;
    nf = *f;
    push = *f->push;
    env = *f->push->envelope;
    env.sender = "carol";
    push.envelope = &env;
    nf.push = &push;
    ++*relabelled;
    return mp_emit_server(fx, &nf);
}

static void relabelled_group_message_is_refused(void **state)
{
    static const char *const names[] = {"alice", "bob", "carol"};
    adv_world w;
    adv_member ms[3];
    adv_member *const all[] = {&ms[0], &ms[1], &ms[2]};
    adv_member *alice = &ms[0], *bob = &ms[1];
    const char *members[] = {"bob", "carol"};
    unsigned relabelled = 0;
    uint8_t *before;
    size_t before_len = 0;
    seen s_bob = {&ms[1], 1, "could not be read: its sender's group key has changed", 1};
    seen s_carol = {&ms[2], 1, "could not be read: there is no group key from its sender device",
                    1};

    (void)state;
    adv_world_start(&w, "grelabel", NULL);
    for (size_t i = 0; i < 3; i++) {
        ms[i].c = adv_client_new(&w, names[i]);
        adv_member_attach(&ms[i]);
    }
    for (size_t i = 0; i < 3; i++)
        adv_wait_published(&w, names[i], 0);
    ADV_RC(alice->c, pl_client_group_create(alice->c, "team", members, 2), PL_CLIENT_OK);
    adv_group_wait_keys(all, 3, all, 3, "team");
    before = adv_group_state(bob->c, "team", &before_len, NULL);

    mp_set_hooks(w.px, relabel, NULL, &relabelled);
    send(alice, "from alice canary-k4");
    adv_group_wait_until(all, 3, has_seen, &s_bob, "bob refuses the relabelled message");
    adv_group_wait_until(all, 3, has_seen, &s_carol, "carol refuses the relabelled message");
    mp_set_hooks(w.px, NULL, NULL, NULL);
    mp_lock(w.px);
    assert_true(relabelled >= 2); /* to bob and to carol */
    mp_unlock(w.px);
    for (size_t i = 0; i < 3; i++)
        if (adv_log_count(&ms[i].log, 0, "canary-k4") != 0) {
            adv_log_dump(names[i], &ms[i].log);
            fail_msg("%s was shown the relabelled message", names[i]);
        }
    adv_assert_group_unchanged(bob->c, "team", before, before_len);
    free(before);
    for (size_t i = 0; i < 3; i++)
        adv_client_close(&w, ms[i].c);
    adv_world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replayed_group_messages_are_refused),
        cmocka_unit_test(relabelled_group_message_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
