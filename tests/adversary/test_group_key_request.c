/*
 * test_group_key_request.c: a non-member asks a member for its sender key (docs/ADVERSARY.md,
 * attack i4). The operator learns a group's id from the clear header of every group message
 * (PROTOCOL.md §29.3) it fans out. Its accomplice mallory, who is not in the group, sends alice
 * a sender-key distribution of her own for that group id over their pairwise session: the
 * message a new member sends, which members answer with their own chain (§32.3). If alice
 * answered, mallory would hold alice's chain, and the operator, adding mallory's device to
 * alice's fan-out, would hand her every later message of alice to read.
 *
 * alice must not answer a key from a device that is not a member device of the group's state:
 * mallory never holds a chain of alice, alice is told, and alice's later message, delivered to
 * mallory's device too, cannot be read by her.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>

#include "adv_group.h"
#include "adv_world.h"
#include "client_internal.h"
#include "parley/sender_key.h"

/* client_group.c */
void cl_group_rx_name(char out[64], const uint8_t group_id[16], const char *user, uint32_t dev);

/* The operator: reads the group id off alice's GroupSends, keeps the last ciphertext, and
 * adds mallory's device to the fan-out when asked. */
typedef struct op {
    uint8_t group_id[16];
    int have_id, add_mallory;
    uint8_t ct[4096];
    size_t ct_len;
    uint32_t device;
    uint8_t ik[33];
} op;

static mp_verdict client_hook(void *arg, mp_frame_ctx *fx, const Parley__ClientFrame *f)
{
    op *o = arg;
    const Parley__GroupSend *gs;

    if (f->kind_case != PARLEY__CLIENT_FRAME__KIND_REQUEST ||
        f->request->body_case != PARLEY__REQUEST__BODY_GROUP_SEND)
        return MP_FORWARD;
    gs = f->request->group_send;
    if (gs->ciphertext.len > 17 && gs->ciphertext.len <= sizeof o->ct) {
        memcpy(o->group_id, gs->ciphertext.data + 1, 16); /* version, then the group id */
        o->have_id = 1;
        memcpy(o->ct, gs->ciphertext.data, gs->ciphertext.len);
        o->ct_len = gs->ciphertext.len;
    }
    return o->add_mallory ? adv_group_send_add_device(fx, f, "mallory", o->device, o->ik)
                          : MP_FORWARD;
}

typedef struct answered {
    adv_member *alice, *mallory;
    const uint8_t *id;
} answered;

/* alice was told of the key, or mallory got alice's chain: either way alice handled it. */
static int key_handled(void *arg)
{
    answered *a = arg;

    return adv_log_count(&a->alice->log, 1, "which is not a member device of team") > 0 ||
           adv_group_rx_key_id(a->mallory->c, a->id, "alice", a->alice->c->device_id) != 0;
}

typedef struct seen {
    adv_member *m;
    int notice;
    const char *needle;
} seen;

static int has_seen(void *arg)
{
    seen *s = arg;

    return adv_log_count(&s->m->log, s->notice, s->needle) > 0;
}

/* What mallory could read of the ciphertext with the chain of alice she holds, if any:
 * fails the test if she holds one at all, saying whether it reads the message. */
static void mallory_cannot_read(pl_client *mallory, const uint8_t id[16], uint32_t alice_dev,
                                const uint8_t *ct, size_t ct_len)
{
    pl_sender_key_receiver *rx = NULL;
    char name[64];
    uint8_t *blob = NULL, pt[4096];
    size_t len = 0, pt_len = 0;
    int e;

    cl_group_rx_name(name, id, "alice", alice_dev);
    if (pl_cstore_secret_get(mallory->store, name, &blob, &len) != PL_CSTORE_OK)
        return; /* no chain of alice: nothing to read with */
    assert_int_equal(pl_sender_key_receiver_load(&rx, blob, len), PL_OK);
    pl_cstore_free_secret(blob, len);
    e = pl_sender_key_receiver_decrypt(rx, ct, ct_len, pt, sizeof pt, &pt_len);
    pl_sender_key_receiver_free(rx);
    if (e == PL_OK)
        fail_msg("mallory, not a member, got alice's sender key and read her group message "
                 "(%zu bytes of Content)",
                 pt_len);
    fail_msg("mallory, not a member, got a sender key of alice (%s on the later message)",
             pl_strerror(e));
}

static void a_non_member_gets_no_sender_key(void **state)
{
    static const char *const names[] = {"alice", "bob", "mallory"};
    adv_world w;
    op o;
    adv_member ms[3];
    adv_member *const all[] = {&ms[0], &ms[1], &ms[2]};
    adv_member *alice = &ms[0], *bob = &ms[1], *mallory = &ms[2];
    const char *bob_only[] = {"bob"};
    Parley__Content ct = PARLEY__CONTENT__INIT;
    Parley__GroupSenderKey sk = PARLEY__GROUP_SENDER_KEY__INIT;
    pl_sender_key *key = NULL;
    uint8_t dist[PL_SENDER_KEY_DISTRIBUTION_BYTES], id[16], real_id[16], *before_a, *before_b;
    size_t before_a_len = 0, before_b_len = 0;
    answered an;
    seen s_bob = {&ms[1], 0, "canary-i4b"};
    seen s_mal = {&ms[2], 1, "could not be read"};
    char msg_id[33];

    (void)state;
    memset(&o, 0, sizeof o);
    adv_world_start(&w, "gkeyreq", NULL);
    mp_set_hooks(w.px, NULL, client_hook, &o);
    for (size_t i = 0; i < 3; i++) {
        ms[i].c = adv_client_new(&w, names[i]);
        adv_member_attach(&ms[i]);
    }
    for (size_t i = 0; i < 3; i++)
        adv_wait_published(&w, names[i], 0);
    ADV_RC(alice->c, pl_client_group_create(alice->c, "team", bob_only, 1), PL_CLIENT_OK);
    adv_group_wait_keys(all, 3, all, 2, "team");
    ADV_RC(alice->c, pl_client_group_send(alice->c, "team", "canary-i4a", 10, msg_id),
           PL_CLIENT_OK);
    mp_lock(w.px);
    assert_true(o.have_id);
    memcpy(id, o.group_id, 16);
    mp_unlock(w.px);
    adv_group_id(alice->c, "team", real_id);
    assert_memory_equal(id, real_id, 16); /* the operator read it right */
    before_a = adv_group_state(alice->c, "team", &before_a_len, NULL);
    before_b = adv_group_state(bob->c, "team", &before_b_len, NULL);

    /* mallory's chain for the group, sent to alice as a joining member sends hers. */
    assert_int_equal(pl_sender_key_generate(&key, NULL, id, mallory->c->device), PL_OK);
    pl_sender_key_distribution(key, dist);
    sk.distribution.data = dist;
    sk.distribution.len = sizeof dist;
    ct.group_sender_key = &sk;
    ADV_RC(mallory->c, cl_send_content(mallory->c, "alice", "", 0, &ct, NULL), PL_CLIENT_OK);
    an.alice = alice;
    an.mallory = mallory;
    an.id = id;
    adv_group_wait_until(all, 3, key_handled, &an, "alice handles mallory's key");

    /* Then alice's next message, fanned out to mallory's device too. */
    mp_lock(w.px);
    o.device = mallory->c->device_id;
    adv_identity_key(mallory->c, o.ik);
    o.add_mallory = 1;
    mp_unlock(w.px);
    ADV_RC(alice->c, pl_client_group_send(alice->c, "team", "canary-i4b", 10, msg_id),
           PL_CLIENT_OK);
    mp_lock(w.px);
    o.add_mallory = 0;
    mp_unlock(w.px);
    adv_group_wait_until(all, 3, has_seen, &s_bob, "bob reads alice's message");
    adv_group_wait_until(all, 3, has_seen, &s_mal, "mallory is told she cannot read it");
    mp_lock(w.px);
    mallory_cannot_read(mallory->c, id, alice->c->device_id, o.ct, o.ct_len);
    mp_unlock(w.px);
    if (adv_log_count(&alice->log, 1, "which is not a member device of team") != 1) {
        adv_log_dump("alice", &alice->log);
        fail_msg("alice was not told of the key from a non-member");
    }
    assert_int_equal(adv_log_count(&mallory->log, 0, ""), 0);
    adv_assert_group_unchanged(alice->c, "team", before_a, before_a_len);
    adv_assert_group_unchanged(bob->c, "team", before_b, before_b_len);

    sodium_memzero(dist, sizeof dist);
    pl_sender_key_free(key);
    free(before_a);
    free(before_b);
    mp_set_hooks(w.px, NULL, NULL, NULL);
    for (size_t i = 0; i < 3; i++)
        adv_client_close(&w, ms[i].c);
    adv_world_stop(&w);
}

/*
 * The other side of the rule: a real new member's key that reaches a member before the add
 * that names it is not answered at once (the sender is not yet a member of that member's
 * state), and is answered when the add arrives. The operator delays alice's add to bob (it
 * withholds alice's pairwise envelopes to bob until bob reconnects).
 */
typedef struct delay {
    unsigned bob_conns[64];
    size_t n_bob_conns;
    int withhold;
    unsigned withheld;
} delay;

static int is_bob_conn(const delay *d, unsigned conn)
{
    for (size_t i = 0; i < d->n_bob_conns; i++)
        if (d->bob_conns[i] == conn)
            return 1;
    return 0;
}

static mp_verdict note_bob(void *arg, mp_frame_ctx *fx, const Parley__ClientFrame *f)
{
    delay *d = arg;

    if (f->kind_case == PARLEY__CLIENT_FRAME__KIND_REQUEST &&
        f->request->body_case == PARLEY__REQUEST__BODY_AUTH_PROOF &&
        strcmp(f->request->auth_proof->username, "bob") == 0 && d->n_bob_conns < 64 &&
        !is_bob_conn(d, fx->conn))
        d->bob_conns[d->n_bob_conns++] = fx->conn;
    return MP_FORWARD;
}

static mp_verdict withhold_alice(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    delay *d = arg;

    if (!d->withhold || f->kind_case != PARLEY__SERVER_FRAME__KIND_PUSH ||
        f->push->kind_case != PARLEY__PUSH__KIND_ENVELOPE || f->push->envelope->group ||
        strcmp(f->push->envelope->sender, "alice") != 0 || !is_bob_conn(d, fx->conn))
        return MP_FORWARD;
    d->withheld++;
    return MP_DROP;
}

typedef struct has_chain {
    adv_member *holder;
    const uint8_t *id;
    const char *of;
    uint32_t device;
} has_chain;

static int holds_chain(void *arg)
{
    has_chain *h = arg;

    return adv_group_rx_key_id(h->holder->c, h->id, h->of, h->device) != 0;
}

static void a_key_that_overtakes_its_add_is_answered_later(void **state)
{
    static const char *const names[] = {"alice", "bob", "dave"};
    adv_world w;
    delay d;
    adv_member ms[3];
    adv_member *const all[] = {&ms[0], &ms[1], &ms[2]};
    adv_member *alice = &ms[0], *bob = &ms[1], *dave = &ms[2];
    const char *bob_only[] = {"bob"};
    uint8_t id[16];
    has_chain dave_at_bob = {&ms[1], id, "dave", 0};
    seen s_dave = {&ms[2], 0, "canary-i4c"};
    char msg_id[33];

    (void)state;
    memset(&d, 0, sizeof d);
    adv_world_start(&w, "gkeyearly", NULL);
    mp_set_hooks(w.px, withhold_alice, note_bob, &d);
    for (size_t i = 0; i < 3; i++) {
        ms[i].c = adv_client_new(&w, names[i]);
        adv_member_attach(&ms[i]);
    }
    for (size_t i = 0; i < 3; i++)
        adv_wait_published(&w, names[i], 0);
    ADV_RC(alice->c, pl_client_group_create(alice->c, "team", bob_only, 1), PL_CLIENT_OK);
    adv_group_wait_keys(all, 3, all, 2, "team");
    adv_group_id(alice->c, "team", id);

    mp_lock(w.px);
    d.withhold = 1;
    mp_unlock(w.px);
    ADV_RC(alice->c, pl_client_group_add(alice->c, "team", "dave"), PL_CLIENT_OK);
    dave_at_bob.device = dave->c->device_id;
    adv_group_wait_until(all, 3, holds_chain, &dave_at_bob, "bob holds dave's chain");
    /* bob does not know dave is a member yet: he stored dave's key and did not answer. */
    if (adv_log_count(&bob->log, 1, "dave's device 1, which is not a member device of team") != 1) {
        adv_log_dump("bob", &bob->log);
        fail_msg("bob did not hold back his answer to dave's early key");
    }
    assert_int_equal(adv_group_rx_key_id(dave->c, id, "bob", bob->c->device_id), 0);
    mp_lock(w.px);
    assert_true(d.withheld >= 1);
    d.withhold = 0;
    mp_unlock(w.px);

    /* bob's next connection gets the add from his mailbox: he answers dave then. */
    adv_client_close(&w, bob->c);
    bob->c = adv_client_open(&w, "bob");
    adv_member_attach(bob);
    adv_group_wait_keys(all, 3, all, 3, "team");
    ADV_RC(bob->c, pl_client_group_send(bob->c, "team", "canary-i4c", 10, msg_id), PL_CLIENT_OK);
    adv_group_wait_until(all, 3, has_seen, &s_dave, "dave reads bob's message");

    mp_set_hooks(w.px, NULL, NULL, NULL);
    for (size_t i = 0; i < 3; i++)
        adv_client_close(&w, ms[i].c);
    adv_world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_non_member_gets_no_sender_key),
        cmocka_unit_test(a_key_that_overtakes_its_add_is_answered_later),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
