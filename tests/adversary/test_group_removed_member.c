/*
 * test_group_removed_member.c: a removed member must not read what follows (docs/ADVERSARY.md,
 * attacks j1, j2). alice, bob and carol are in a group; alice removes carol; then the operator
 * delivers to carol's device the real ciphertexts of group messages sent after the removal,
 * by adding her device to the senders' GroupSend fan-out (parleyd accepts: carol's device is
 * a current device of hers, and parleyd knows nothing of groups).
 *   j1. carol applied her removal: her client says the message is for a group she is not in
 *       and shows nothing.
 *   j2. The operator also withheld the removal from carol (it drops every pairwise envelope
 *       pushed to her device from then on), so she still counts herself a member, with the
 *       old chains of alice and bob. The removal made both rotate their sender keys and send
 *       the new chains to the remaining members only: carol's client cannot decrypt with the
 *       chains it holds, says so, shows nothing, and its group state stays as it was.
 *   j3. The removal withheld from bob (a remaining member) as well: he does not rotate and
 *       still sends to carol, who can read it. alice notices: bob's message was sent from an
 *       older state of the group than hers.
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

#define MAX_CONNS 64

/* The operator's hooks: carol's connections (from their AuthProof), her device to add to every
 * GroupSend, and whether her pairwise envelopes are withheld. */
typedef struct op {
    char victim[33];
    uint32_t device;
    uint8_t ik[33];
    int add_to_fanout, withhold;
    unsigned victim_conns[MAX_CONNS];
    size_t n_victim_conns;
    /* j3: bob's connections too, and whether his pairwise envelopes are withheld as well. */
    int withhold_bob;
    unsigned bob_conns[MAX_CONNS];
    size_t n_bob_conns;
    unsigned rewritten, withheld;
} op;

static int is_victim_conn(const op *o, unsigned conn)
{
    for (size_t i = 0; i < o->n_victim_conns; i++)
        if (o->victim_conns[i] == conn)
            return 1;
    return 0;
}

static int is_bob_conn(const op *o, unsigned conn)
{
    for (size_t i = 0; i < o->n_bob_conns; i++)
        if (o->bob_conns[i] == conn)
            return 1;
    return 0;
}

static mp_verdict client_hook(void *arg, mp_frame_ctx *fx, const Parley__ClientFrame *f)
{
    op *o = arg;
    mp_verdict v;

    if (f->kind_case == PARLEY__CLIENT_FRAME__KIND_REQUEST &&
        f->request->body_case == PARLEY__REQUEST__BODY_AUTH_PROOF &&
        strcmp(f->request->auth_proof->username, "bob") == 0 && o->n_bob_conns < MAX_CONNS &&
        !is_bob_conn(o, fx->conn))
        o->bob_conns[o->n_bob_conns++] = fx->conn;

    if (f->kind_case == PARLEY__CLIENT_FRAME__KIND_REQUEST &&
        f->request->body_case == PARLEY__REQUEST__BODY_AUTH_PROOF &&
        strcmp(f->request->auth_proof->username, o->victim) == 0 && o->n_victim_conns < MAX_CONNS &&
        !is_victim_conn(o, fx->conn))
        o->victim_conns[o->n_victim_conns++] = fx->conn;
    if (!o->add_to_fanout)
        return MP_FORWARD;
    v = adv_group_send_add_device(fx, f, o->victim, o->device, o->ik);
    o->rewritten += v == MP_REPLACE;
    return v;
}

static mp_verdict server_hook(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    op *o = arg;

    if (!o->withhold || f->kind_case != PARLEY__SERVER_FRAME__KIND_PUSH ||
        f->push->kind_case != PARLEY__PUSH__KIND_ENVELOPE || f->push->envelope->group ||
        !(is_victim_conn(o, fx->conn) || (o->withhold_bob && is_bob_conn(o, fx->conn))))
        return MP_FORWARD;
    o->withheld++;
    return MP_DROP;
}

typedef struct stage {
    adv_world w;
    op o;
    adv_member ms[3];
    adv_member *all[3];
} stage;

static void set_up(stage *s, const char *tag)
{
    static const char *const names[] = {"alice", "bob", "carol"};
    const char *members[] = {"bob", "carol"};

    memset(s, 0, sizeof *s);
    adv_world_start(&s->w, tag, NULL);
    snprintf(s->o.victim, sizeof s->o.victim, "carol");
    mp_set_hooks(s->w.px, server_hook, client_hook, &s->o);
    for (size_t i = 0; i < 3; i++) {
        s->ms[i].c = adv_client_new(&s->w, names[i]);
        adv_member_attach(&s->ms[i]);
        s->all[i] = &s->ms[i];
    }
    for (size_t i = 0; i < 3; i++)
        adv_wait_published(&s->w, names[i], 0);
    mp_lock(s->w.px);
    s->o.device = s->ms[2].c->device_id;
    adv_identity_key(s->ms[2].c, s->o.ik);
    mp_unlock(s->w.px);
    ADV_RC(s->ms[0].c, pl_client_group_create(s->ms[0].c, "team", members, 2), PL_CLIENT_OK);
    adv_group_wait_keys(s->all, 3, s->all, 3, "team");
}

static void tear_down(stage *s)
{
    mp_set_hooks(s->w.px, NULL, NULL, NULL);
    for (size_t i = 0; i < 3; i++)
        adv_client_close(&s->w, s->ms[i].c);
    adv_world_stop(&s->w);
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

static void wait_seen(stage *s, adv_member *m, int notice, const char *needle, size_t want)
{
    seen x = {m, notice, needle, want};
    char what[200];

    snprintf(what, sizeof what, "%s shown \"%s\" %zu times", m->c->username, needle, want);
    adv_group_wait_until(s->all, 3, has_seen, &x, what);
}

/* Sends text to the group from m with carol's device added to the fan-out. */
static void send_with_carol(stage *s, adv_member *m, const char *text)
{
    unsigned before;
    char id[33];

    mp_lock(s->w.px);
    before = s->o.rewritten;
    s->o.add_to_fanout = 1;
    mp_unlock(s->w.px);
    ADV_RC(m->c, pl_client_group_send(m->c, "team", text, strlen(text), id), PL_CLIENT_OK);
    mp_lock(s->w.px);
    s->o.add_to_fanout = 0;
    assert_int_equal(s->o.rewritten, before + 1);
    mp_unlock(s->w.px);
}

static int alice_rotated_for_bob(void *arg)
{
    stage *s = arg;
    uint8_t id[16];

    adv_group_id(s->ms[1].c, "team", id);
    return adv_group_rx_key_id(s->ms[1].c, id, "alice", s->ms[0].c->device_id) ==
               adv_group_own_key_id(s->ms[0].c, "team") &&
           adv_group_rx_key_id(s->ms[0].c, id, "bob", s->ms[1].c->device_id) ==
               adv_group_own_key_id(s->ms[1].c, "team");
}

static void removed_member_that_knows_reads_nothing(void **state)
{
    stage s;
    adv_member *alice = &s.ms[0], *bob = &s.ms[1], *carol = &s.ms[2];
    size_t len = 0;
    int active = 1;

    (void)state;
    set_up(&s, "gremoved1");
    ADV_RC(alice->c, pl_client_group_remove(alice->c, "team", "carol"), PL_CLIENT_OK);
    wait_seen(&s, carol, 1, "you were removed from group team", 1);
    adv_group_wait_keys(s.all, 3, s.all, 2, "team");
    free(adv_group_state(carol->c, "team", &len, &active));
    assert_int_equal(active, 0);

    send_with_carol(&s, alice, "after carol canary-j1a");
    send_with_carol(&s, bob, "after carol canary-j1b");
    wait_seen(&s, alice, 0, "canary-j1b", 1);
    wait_seen(&s, bob, 0, "canary-j1a", 1);
    wait_seen(&s, carol, 1, "could not be read: it is for a group this device is not in", 2);
    if (adv_log_count(&carol->log, -1, "canary-j1") != 0 ||
        adv_log_count(&carol->log, 0, "") != 0) {
        adv_log_dump("carol", &carol->log);
        fail_msg("carol was shown something after her removal");
    }
    tear_down(&s);
}

static void removed_member_kept_in_the_dark_cannot_decrypt(void **state)
{
    stage s;
    adv_member *alice = &s.ms[0], *bob = &s.ms[1], *carol = &s.ms[2];
    uint8_t id[16], *before;
    size_t before_len = 0;
    uint32_t old_alice, old_bob;
    char msg_id[33];

    (void)state;
    set_up(&s, "gremoved2");
    /* A message everyone reads, so that carol's chains are in use. */
    ADV_RC(alice->c, pl_client_group_send(alice->c, "team", "before canary-j2a", 17, msg_id),
           PL_CLIENT_OK);
    wait_seen(&s, carol, 0, "canary-j2a", 1);
    wait_seen(&s, bob, 0, "canary-j2a", 1);
    adv_group_id(carol->c, "team", id);
    old_alice = adv_group_rx_key_id(carol->c, id, "alice", alice->c->device_id);
    old_bob = adv_group_rx_key_id(carol->c, id, "bob", bob->c->device_id);
    assert_int_not_equal(old_alice, 0);
    assert_int_not_equal(old_bob, 0);
    before = adv_group_state(carol->c, "team", &before_len, NULL);

    /* The operator withholds every pairwise envelope to carol from now on. */
    mp_lock(s.w.px);
    s.o.withhold = 1;
    mp_unlock(s.w.px);
    ADV_RC(alice->c, pl_client_group_remove(alice->c, "team", "carol"), PL_CLIENT_OK);
    adv_group_wait_until(s.all, 3, alice_rotated_for_bob, &s, "alice and bob rotated");
    assert_int_not_equal(adv_group_own_key_id(alice->c, "team"), old_alice);
    assert_int_not_equal(adv_group_own_key_id(bob->c, "team"), old_bob);
    mp_lock(s.w.px);
    assert_true(s.o.withheld >= 1); /* the removal itself */
    mp_unlock(s.w.px);
    adv_assert_group_unchanged(carol->c, "team", before, before_len);

    send_with_carol(&s, alice, "after carol canary-j2b");
    send_with_carol(&s, bob, "after carol canary-j2c");
    wait_seen(&s, bob, 0, "canary-j2b", 1);
    wait_seen(&s, alice, 0, "canary-j2c", 1);
    wait_seen(&s, carol, 1, "could not be read", 2);
    if (adv_log_count(&carol->log, 1, "its sender's group key has changed") != 2 ||
        adv_log_count(&carol->log, -1, "canary-j2b") != 0 ||
        adv_log_count(&carol->log, -1, "canary-j2c") != 0) {
        adv_log_dump("carol", &carol->log);
        fail_msg("carol read, or was not told why she cannot read, what followed her removal");
    }
    /* She still holds only the old chains, and her state is as it was. */
    assert_int_equal(adv_group_rx_key_id(carol->c, id, "alice", alice->c->device_id), old_alice);
    assert_int_equal(adv_group_rx_key_id(carol->c, id, "bob", bob->c->device_id), old_bob);
    adv_assert_group_unchanged(carol->c, "team", before, before_len);
    free(before);
    tear_down(&s);
}

/*
 * j3: the removal withheld from a remaining member too (bob), and from carol. bob never
 * rotates and still counts carol in: what he sends, she can read; nothing in bob's or carol's
 * view can tell. alice can: bob's message names the state he sent from (epoch 0), not hers
 * (epoch 1), and she is told that a member it removed may still read what bob sends.
 */
static int both_withheld(void *arg)
{
    stage *s = arg;
    int done;

    mp_lock(s->w.px);
    done = s->o.withheld >= 2;
    mp_unlock(s->w.px);
    return done;
}

static void removal_withheld_from_a_member_is_noticed(void **state)
{
    stage s;
    adv_member *alice = &s.ms[0], *bob = &s.ms[1];
    pl_client_group info;
    uint8_t *before;
    size_t before_len = 0;
    char msg_id[33];

    (void)state;
    set_up(&s, "gremoved3");
    mp_lock(s.w.px);
    s.o.withhold = 1;
    s.o.withhold_bob = 1;
    mp_unlock(s.w.px);
    ADV_RC(alice->c, pl_client_group_remove(alice->c, "team", "carol"), PL_CLIENT_OK);
    adv_group_wait_until(s.all, 3, both_withheld, &s, "the removal withheld from bob and carol");
    ADV_RC(bob->c, pl_client_group_info(bob->c, "team", &info), PL_CLIENT_OK);
    assert_int_equal(info.epoch, 0);
    assert_int_equal(info.n_members, 3);
    free(info.members);
    before = adv_group_state(alice->c, "team", &before_len, NULL);

    ADV_RC(bob->c, pl_client_group_send(bob->c, "team", "canary-j3", 9, msg_id), PL_CLIENT_OK);
    wait_seen(&s, alice, 1, "bob sent this from an older state of group team (epoch 0; ours is 1)",
              1);
    wait_seen(&s, alice, 0, "canary-j3", 1);
    adv_assert_group_unchanged(alice->c, "team", before, before_len);
    free(before);
    tear_down(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(removed_member_that_knows_reads_nothing),
        cmocka_unit_test(removed_member_kept_in_the_dark_cannot_decrypt),
        cmocka_unit_test(removal_withheld_from_a_member_is_noticed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
