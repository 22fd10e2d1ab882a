/*
 * test_group_forged_membership.c: the operator tries to change who is in a group
 * (docs/ADVERSARY.md, attacks i1-i3). Membership is state the members hold, changed only by
 * changes a member device signs (PROTOCOL.md §30, §32); the server relays pairwise
 * ciphertexts it cannot open or forge, so it needs an accomplice's device for anything that
 * travels inside a pairwise session: mallory, whose device the operator controls.
 *   i1. Forged changes sent to bob over mallory's pairwise session: (a) the real change that
 *       once added mallory (alice's, rebuilt byte for byte and checked to be it), replayed
 *       after mallory's removal; (b) a change adding mallory authored and signed by mallory's
 *       own device, at the right place in the chain, while she is not a member; (c) a real
 *       change of another group (mallory's own) re-addressed to the group. Each is refused
 *       with a notice naming the reason; bob's state stays byte for byte as it was. (d) The
 *       operator alone: the pairwise envelope that carried alice's real add to bob, pushed
 *       to bob again after mallory's removal (under a new seq): the pairwise session refuses
 *       it before the group layer sees it.
 *   i2. The fan-out: the proxy adds mallory's device to alice's GroupSend; parleyd, which
 *       knows nothing of groups, stores the ciphertext for her. mallory, who holds no chain
 *       of the group, cannot read it and says so; the members read the message; no state
 *       changes.
 *   i3. A ghost device in a joiner's prev_state: mallory, a member, adds dave with a
 *       prev_state in which bob has a device (5) that bob's verified key-transparency state
 *       does not list. dave refuses to join, naming bob's device 5. The same ghost in a
 *       devices change to the real group, sent to alice: refused, naming the device.
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
#include "parley/group_state.h"

/* client_group.c */
int cl_group_load_state(pl_client *c, const pl_cstore_group *g, pl_group_state **out);

#define GHOST_ID 5u

/* c's member entry (one device) as its verified state shows it. */
static void member_of(pl_client *c, pl_group_member *m)
{
    memset(m, 0, sizeof *m);
    m->username_len = (uint8_t)strlen(c->username);
    memcpy(m->username, c->username, m->username_len);
    memcpy(m->account_key, c->account_key, PL_PUBKEY_BYTES);
    m->n_devices = 1;
    m->devices[0].device_id = c->device_id;
    pl_device_identity_key(c->device, m->devices[0].identity_key);
}

static pl_group_state *load_state(pl_client *c, const char *name)
{
    pl_cstore_group g;
    pl_group_state *st = NULL;

    assert_int_equal(pl_cstore_group_by_name(c->store, name, &g), PL_CSTORE_OK);
    assert_int_equal(cl_group_load_state(c, &g, &st), PL_CLIENT_OK);
    return st;
}

static uint8_t *encode_state(const pl_group_state *st, size_t *len)
{
    uint8_t *out = malloc(pl_group_state_encoded_size(st));

    assert_non_null(out);
    assert_int_equal(pl_group_state_encode(st, out, pl_group_state_encoded_size(st), len), PL_OK);
    return out;
}

/* Waits until `m` was told something containing `needle` (a notice). */
typedef struct told {
    adv_member *m;
    const char *needle;
    size_t before;
} told;

static int was_told(void *arg)
{
    told *t = arg;

    return adv_log_count(&t->m->log, 1, t->needle) > t->before;
}

static void wait_told(adv_member *const *all, size_t n, adv_member *m, const char *needle)
{
    told t = {m, needle, adv_log_count(&m->log, 1, needle)};
    char what[200];

    snprintf(what, sizeof what, "%s told \"%s\"", m->c->username, needle);
    adv_group_wait_until(all, n, was_told, &t, what);
}

static int shown(void *arg)
{
    told *t = arg;

    return adv_log_count(&t->m->log, 0, t->needle) > 0;
}

static void wait_seen_message(adv_member *const *all, adv_member *m, const char *needle)
{
    told t = {m, needle, 0};
    char what[200];

    snprintf(what, sizeof what, "%s shown \"%s\"", m->c->username, needle);
    adv_group_wait_until(all, 3, shown, &t, what);
}

static void start(adv_world *w, const char *tag, adv_member *ms, const char *const *names, size_t n)
{
    adv_world_start(w, tag, NULL);
    for (size_t i = 0; i < n; i++) {
        ms[i].c = adv_client_new(w, names[i]);
        adv_member_attach(&ms[i]);
    }
    for (size_t i = 0; i < n; i++)
        adv_wait_published(w, names[i], 0);
}

static void stop(adv_world *w, adv_member *ms, size_t n)
{
    mp_set_hooks(w->px, NULL, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        adv_client_close(w, ms[i].c);
    adv_world_stop(w);
}

/*
 * The change mallory's device signs while not a member: add mallory, epoch and
 * prev_state_hash those of st (so only the authority check can refuse it), encoded as
 * PROTOCOL.md §30.2 says and signed with her device's identity key. pl_group_change_sign
 * refuses to build it (it would not apply), so the test encodes it: the operator's tools.
 */
static uint8_t *forge_self_add(pl_client *mallory, const pl_group_state *st, size_t *len)
{
    static const char ctx[] = "parley/group-change/v1";
    uint8_t saved[PL_DEVICE_SAVED_BYTES], pk[32], sk[64], ik[PL_PUBKEY_BYTES];
    uint8_t *b = malloc(1024), *msg;
    pl_group_member m;
    size_t at = 0;
    uint32_t epoch = pl_group_state_epoch(st) + 1, dev = mallory->device_id;

    assert_non_null(b);
    member_of(mallory, &m);
    b[at++] = 1;
    b[at++] = PL_GROUP_CHANGE_ADD;
    pl_group_state_id(st, b + at);
    at += 16;
    for (int i = 3; i >= 0; i--)
        b[at++] = (uint8_t)(epoch >> (8 * i));
    pl_group_state_hash(st, b + at);
    at += 32;
    b[at++] = m.username_len;
    memcpy(b + at, m.username, m.username_len);
    at += m.username_len;
    for (int i = 3; i >= 0; i--)
        b[at++] = (uint8_t)(dev >> (8 * i));
    /* body: one member */
    b[at++] = m.username_len;
    memcpy(b + at, m.username, m.username_len);
    at += m.username_len;
    memcpy(b + at, m.account_key, PL_PUBKEY_BYTES);
    at += PL_PUBKEY_BYTES;
    b[at++] = 1;
    for (int i = 3; i >= 0; i--)
        b[at++] = (uint8_t)(dev >> (8 * i));
    memcpy(b + at, m.devices[0].identity_key, PL_PUBKEY_BYTES);
    at += PL_PUBKEY_BYTES;
    /* The device's Ed25519 key from its saved form (keys.h: header 8, id 4, seed 32), checked
     * against its public identity key so that a changed layout fails here, not later. */
    pl_device_save(mallory->device, saved);
    crypto_sign_seed_keypair(pk, sk, saved + 12);
    pl_device_identity_key(mallory->device, ik);
    assert_memory_equal(pk, ik + 1, 32);
    msg = malloc(sizeof ctx - 1 + at);
    assert_non_null(msg);
    memcpy(msg, ctx, sizeof ctx - 1);
    memcpy(msg + sizeof ctx - 1, b, at);
    crypto_sign_detached(b + at, NULL, msg, sizeof ctx - 1 + at, sk);
    at += 64;
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(saved, sizeof saved);
    free(msg);
    *len = at;
    return b;
}

static void forged_changes_are_refused(void **state)
{
    static const char *const names[] = {"alice", "bob", "mallory"};
    adv_world w;
    adv_member ms[3];
    adv_member *const all[] = {&ms[0], &ms[1], &ms[2]};
    adv_member *alice = &ms[0], *bob = &ms[1], *mallory = &ms[2];
    const char *bob_only[] = {"bob"};
    pl_group_state *s0, *s1, *s2, *replayed = NULL, *side;
    pl_group_change_body body;
    pl_group_applied applied;
    pl_group_member mm;
    uint8_t id[16], h_a[32], h_b[32], *change = NULL, *before_b, *before_a;
    size_t len = 0, before_b_len = 0, before_a_len = 0;
    char reason[160];
    int active = 1;

    (void)state;
    start(&w, "gforge", ms, names, 3);
    ADV_RC(alice->c, pl_client_group_create(alice->c, "team", bob_only, 1), PL_CLIENT_OK);
    adv_group_wait_keys(all, 3, all, 2, "team");
    adv_group_id(alice->c, "team", id);
    s0 = load_state(bob->c, "team");

    /* mallory is added, then removed: she saw the real add, and knows the group. */
    ADV_RC(alice->c, pl_client_group_add(alice->c, "team", "mallory"), PL_CLIENT_OK);
    adv_group_wait_keys(all, 3, all, 3, "team");
    s1 = load_state(bob->c, "team");
    ADV_RC(alice->c, pl_client_group_remove(alice->c, "team", "mallory"), PL_CLIENT_OK);
    wait_told(all, 3, mallory, "you were removed from group team");
    adv_group_wait_keys(all, 3, all, 2, "team"); /* the rotated chains */
    s2 = load_state(bob->c, "team");
    assert_int_equal(pl_group_state_epoch(s2), 2);
    free(adv_group_state(mallory->c, "team", &len, &active));
    assert_int_equal(active, 0);
    before_b = adv_group_state(bob->c, "team", &before_b_len, NULL);
    before_a = adv_group_state(alice->c, "team", &before_a_len, NULL);

    /* (a) The real add, rebuilt: alice's device signing the same body against the same
     * state gives the same bytes (Ed25519 is deterministic); applied to s0 it gives s1. */
    member_of(mallory->c, &mm);
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_ADD;
    body.members = &mm;
    body.n_members = 1;
    assert_int_equal(pl_group_change_sign(alice->c->device, (const uint8_t *)"alice", 5, s0, NULL,
                                          &body, &change, &len),
                     PL_OK);
    assert_int_equal(pl_group_apply(s0, change, len, &replayed, &applied), PL_OK);
    pl_group_state_hash(replayed, h_a);
    pl_group_state_hash(s1, h_b);
    assert_memory_equal(h_a, h_b, 32);
    pl_group_state_free(replayed);
    adv_send_group_update(mallory->c, "bob", id, change, len, NULL, 0);
    snprintf(reason, sizeof reason, "did not verify (%s)", pl_strerror(PL_E_STATE_CHAIN));
    wait_told(all, 3, bob, reason);
    adv_assert_group_unchanged(bob->c, "team", before_b, before_b_len);
    free(change);
    change = NULL;

    /* (b) mallory's own add of herself, in the right place in the chain. */
    change = forge_self_add(mallory->c, s2, &len);
    adv_send_group_update(mallory->c, "bob", id, change, len, NULL, 0);
    snprintf(reason, sizeof reason, "did not verify (%s)", pl_strerror(PL_E_IDENTITY_MISMATCH));
    wait_told(all, 3, bob, reason);
    adv_assert_group_unchanged(bob->c, "team", before_b, before_b_len);
    free(change);
    change = NULL;

    /* (c) A real change of mallory's own group "side" (bob is in it), re-addressed to team. */
    ADV_RC(mallory->c, pl_client_group_create(mallory->c, "side", bob_only, 1), PL_CLIENT_OK);
    side = load_state(mallory->c, "side");
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_RENAME;
    body.name = (const uint8_t *)"team";
    body.name_len = 4;
    assert_int_equal(pl_group_change_sign(mallory->c->device, (const uint8_t *)"mallory", 7, side,
                                          NULL, &body, &change, &len),
                     PL_OK);
    adv_send_group_update(mallory->c, "bob", id, change, len, NULL, 0);
    snprintf(reason, sizeof reason, "did not verify (%s)", pl_strerror(PL_E_SESSION_MISMATCH));
    wait_told(all, 3, bob, reason);
    adv_assert_group_unchanged(bob->c, "team", before_b, before_b_len);
    adv_assert_group_unchanged(alice->c, "team", before_a, before_a_len);
    free(adv_group_state(mallory->c, "team", &len, &active));
    assert_int_equal(active, 0);
    assert_int_equal(adv_log_count(&bob->log, 0, ""), 0); /* nothing shown as a message */

    free(change);
    free(before_a);
    free(before_b);
    pl_group_state_free(s0);
    pl_group_state_free(s1);
    pl_group_state_free(s2);
    pl_group_state_free(side);
    stop(&w, ms, 3);
}

/* i1d: the operator alone replays the pairwise envelope that carried a real change. */
typedef struct replay_env {
    unsigned bob_conns[64];
    size_t n_bob_conns;
    int capture, inject;
    uint8_t env[4096]; /* the packed Envelope, alice's last pairwise one to bob */
    size_t env_len;
    uint64_t max_seq;
    unsigned captured, injected;
} replay_env;

static int is_bob_conn(const replay_env *re, unsigned conn)
{
    for (size_t i = 0; i < re->n_bob_conns; i++)
        if (re->bob_conns[i] == conn)
            return 1;
    return 0;
}

static mp_verdict note_bob_conns(void *arg, mp_frame_ctx *fx, const Parley__ClientFrame *f)
{
    replay_env *re = arg;

    if (f->kind_case == PARLEY__CLIENT_FRAME__KIND_REQUEST &&
        f->request->body_case == PARLEY__REQUEST__BODY_AUTH_PROOF &&
        strcmp(f->request->auth_proof->username, "bob") == 0 && re->n_bob_conns < 64 &&
        !is_bob_conn(re, fx->conn))
        re->bob_conns[re->n_bob_conns++] = fx->conn;
    return MP_FORWARD;
}

static mp_verdict capture_or_inject(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    replay_env *re = arg;
    Parley__ServerFrame nf = PARLEY__SERVER_FRAME__INIT;
    Parley__Push push = PARLEY__PUSH__INIT;
    Parley__Envelope *env;

    if (f->kind_case != PARLEY__SERVER_FRAME__KIND_PUSH || !is_bob_conn(re, fx->conn))
        return MP_FORWARD;
    if (f->push->kind_case == PARLEY__PUSH__KIND_ENVELOPE && !re->inject) {
        const Parley__Envelope *e = f->push->envelope;

        re->max_seq = e->seq > re->max_seq ? e->seq : re->max_seq;
        if (re->capture && !e->group && strcmp(e->sender, "alice") == 0 &&
            parley__envelope__get_packed_size(e) <= sizeof re->env) {
            re->env_len = parley__envelope__pack(e, re->env);
            re->captured++;
        }
        return MP_FORWARD;
    }
    if (!re->inject || f->push->kind_case != PARLEY__PUSH__KIND_ENVELOPE)
        return MP_FORWARD;
    /* Before the next envelope pushed to bob: the old one again, under a seq of its own. */
    env = parley__envelope__unpack(NULL, re->env_len, re->env);
    assert_non_null(env);
    env->seq = re->max_seq + 1000;
    push.kind_case = PARLEY__PUSH__KIND_ENVELOPE;
    push.envelope = env;
    nf.kind_case = PARLEY__SERVER_FRAME__KIND_PUSH;
    nf.push = &push;
    if (mp_emit_server(fx, &nf) != MP_REPLACE || mp_emit_server(fx, f) != MP_REPLACE) {
        parley__envelope__free_unpacked(env, NULL);
        return MP_CLOSE;
    }
    parley__envelope__free_unpacked(env, NULL);
    re->inject = 0;
    re->injected++;
    return MP_REPLACE;
}

static void replayed_envelope_of_a_real_change_is_refused(void **state)
{
    static const char *const names[] = {"alice", "bob", "mallory"};
    adv_world w;
    adv_member ms[3];
    adv_member *const all[] = {&ms[0], &ms[1], &ms[2]};
    adv_member *alice = &ms[0], *bob = &ms[1], *mallory = &ms[2];
    const char *bob_only[] = {"bob"};
    replay_env re;
    uint8_t *before_b;
    size_t before_b_len = 0, notices;
    char id[33];

    (void)state;
    memset(&re, 0, sizeof re);
    /* The hooks first, so that bob's connections are known from his registration on. */
    adv_world_start(&w, "genvreplay", NULL);
    mp_set_hooks(w.px, capture_or_inject, note_bob_conns, &re);
    for (size_t i = 0; i < 3; i++) {
        ms[i].c = adv_client_new(&w, names[i]);
        adv_member_attach(&ms[i]);
    }
    for (size_t i = 0; i < 3; i++)
        adv_wait_published(&w, names[i], 0);
    ADV_RC(alice->c, pl_client_group_create(alice->c, "team", bob_only, 1), PL_CLIENT_OK);
    adv_group_wait_keys(all, 3, all, 2, "team");
    mp_lock(w.px);
    re.capture = 1;
    mp_unlock(w.px);
    ADV_RC(alice->c, pl_client_group_add(alice->c, "team", "mallory"), PL_CLIENT_OK);
    adv_group_wait_keys(all, 3, all, 3, "team");
    mp_lock(w.px);
    re.capture = 0;
    assert_int_equal(re.captured, 1); /* the add, alice's only pairwise message to bob */
    mp_unlock(w.px);
    ADV_RC(alice->c, pl_client_group_remove(alice->c, "team", "mallory"), PL_CLIENT_OK);
    wait_told(all, 3, mallory, "you were removed from group team");
    adv_group_wait_keys(all, 3, all, 2, "team");
    before_b = adv_group_state(bob->c, "team", &before_b_len, NULL);

    /* Replayed just before the next envelope pushed to bob: alice's next group message. */
    notices = adv_log_count(&bob->log, 1, "");
    mp_lock(w.px);
    re.inject = 1;
    mp_unlock(w.px);
    ADV_RC(alice->c, pl_client_group_send(alice->c, "team", "canary-i1d", 10, id), PL_CLIENT_OK);
    wait_told(all, 3, bob, "A message from device 1 could not be read: it does not decrypt");
    wait_seen_message(all, bob, "canary-i1d");
    mp_lock(w.px);
    assert_int_equal(re.injected, 1);
    mp_unlock(w.px);
    assert_int_equal(adv_log_count(&bob->log, 1, ""), notices + 1);
    assert_int_equal(adv_log_count(&bob->log, 0, "canary-i1d"), 1);
    adv_assert_group_unchanged(bob->c, "team", before_b, before_b_len);
    free(before_b);
    stop(&w, ms, 3);
}

/* i2: the fan-out. */
typedef struct fanout {
    char user[33];
    uint32_t device;
    uint8_t ik[33];
    unsigned rewritten;
} fanout;

static mp_verdict add_to_fanout(void *arg, mp_frame_ctx *fx, const Parley__ClientFrame *f)
{
    fanout *fo = arg;
    mp_verdict v;

    if (!fo->user[0])
        return MP_FORWARD;
    v = adv_group_send_add_device(fx, f, fo->user, fo->device, fo->ik);
    fo->rewritten += v == MP_REPLACE;
    return v;
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

static void extra_device_in_the_fanout_reads_nothing(void **state)
{
    static const char *const names[] = {"alice", "bob", "mallory"};
    adv_world w;
    adv_member ms[3];
    adv_member *const all[] = {&ms[0], &ms[1], &ms[2]};
    adv_member *alice = &ms[0], *bob = &ms[1], *mallory = &ms[2];
    const char *bob_only[] = {"bob"};
    fanout fo;
    seen s_bob = {&ms[1], 0, "canary-fanout"};
    seen s_mal = {&ms[2], 1, "could not be read: it is for a group this device is not in"};
    uint8_t *before_b, *before_a;
    size_t before_b_len = 0, before_a_len = 0, len = 0;
    char id[33];
    pl_client_group info;

    (void)state;
    start(&w, "gfanout", ms, names, 3);
    ADV_RC(alice->c, pl_client_group_create(alice->c, "team", bob_only, 1), PL_CLIENT_OK);
    adv_group_wait_keys(all, 3, all, 2, "team");
    before_b = adv_group_state(bob->c, "team", &before_b_len, NULL);
    before_a = adv_group_state(alice->c, "team", &before_a_len, NULL);

    memset(&fo, 0, sizeof fo);
    mp_set_hooks(w.px, NULL, add_to_fanout, &fo);
    mp_lock(w.px);
    snprintf(fo.user, sizeof fo.user, "mallory");
    fo.device = mallory->c->device_id;
    adv_identity_key(mallory->c, fo.ik);
    mp_unlock(w.px);
    ADV_RC(alice->c, pl_client_group_send(alice->c, "team", "canary-fanout", 13, id), PL_CLIENT_OK);
    mp_lock(w.px);
    assert_int_equal(fo.rewritten, 1);
    fo.user[0] = '\0';
    mp_unlock(w.px);

    adv_group_wait_until(all, 3, has_seen, &s_bob, "bob reads the message");
    adv_group_wait_until(all, 3, has_seen, &s_mal, "mallory is told she cannot read it");
    assert_int_equal(adv_log_count(&mallory->log, 0, ""), 0);
    assert_int_equal(adv_log_count(&bob->log, 0, "canary-fanout"), 1);
    assert_int_equal(pl_client_group_info(mallory->c, "team", &info), PL_CLIENT_E_NOT_FOUND);
    free(info.members);
    assert_null(adv_group_state(mallory->c, "team", &len, NULL));
    adv_assert_group_unchanged(bob->c, "team", before_b, before_b_len);
    adv_assert_group_unchanged(alice->c, "team", before_a, before_a_len);
    free(before_a);
    free(before_b);
    stop(&w, ms, 3);
}

/* i3: a ghost device in the prev_state given to a joiner. */
static void ghost_in_prev_state_stops_the_join(void **state)
{
    static const char *const names[] = {"alice", "bob", "mallory", "dave"};
    adv_world w;
    adv_member ms[4];
    adv_member *const all[] = {&ms[0], &ms[1], &ms[2], &ms[3]};
    adv_member *alice = &ms[0], *bob = &ms[1], *mallory = &ms[2], *dave = &ms[3];
    const char *members[] = {"bob", "mallory"};
    pl_group_state *st, *fake = NULL;
    pl_group_change_body body;
    pl_group_applied applied;
    pl_group_member bm, dm;
    pl_device *ghost = NULL;
    pl_client_group info;
    uint8_t id[16], *change = NULL, *fake_enc, *before_b, *before_a, *devices_change;
    size_t len = 0, fake_len = 0, before_b_len = 0, before_a_len = 0, devices_len;
    char needle[64];

    (void)state;
    start(&w, "gghost", ms, names, 4);
    ADV_RC(alice->c, pl_client_group_create(alice->c, "team", members, 2), PL_CLIENT_OK);
    adv_group_wait_keys(all, 4, all, 3, "team");
    adv_group_id(mallory->c, "team", id);
    before_b = adv_group_state(bob->c, "team", &before_b_len, NULL);

    /* The fake state: bob with his device and a ghost, made by a devices change mallory signs
     * (she is a member, so it applies); it never leaves the test. */
    st = load_state(mallory->c, "team");
    member_of(bob->c, &bm);
    assert_int_equal(pl_device_generate(&ghost, NULL, GHOST_ID), PL_OK);
    bm.n_devices = 2;
    bm.devices[1].device_id = GHOST_ID;
    pl_device_identity_key(ghost, bm.devices[1].identity_key);
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_DEVICES;
    body.members = &bm;
    body.n_members = 1;
    assert_int_equal(pl_group_change_sign(mallory->c->device, (const uint8_t *)"mallory", 7, st,
                                          NULL, &body, &change, &len),
                     PL_OK);
    assert_int_equal(pl_group_apply(st, change, len, &fake, &applied), PL_OK);
    devices_change = change;
    devices_len = len;
    change = NULL;
    fake_enc = encode_state(fake, &fake_len);

    /* mallory adds dave to the fake state and tells him so, with the fake as prev_state. */
    member_of(dave->c, &dm);
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_ADD;
    body.members = &dm;
    body.n_members = 1;
    assert_int_equal(pl_group_change_sign(mallory->c->device, (const uint8_t *)"mallory", 7, fake,
                                          NULL, &body, &change, &len),
                     PL_OK);
    adv_send_group_update(mallory->c, "dave", id, change, len, fake_enc, fake_len);
    snprintf(needle, sizeof needle, "device %u of bob", GHOST_ID);
    wait_told(all, 4, dave, "refused to join a group");
    if (adv_log_count(&dave->log, 1, needle) != 1) {
        adv_log_dump("dave", &dave->log);
        fail_msg("dave's refusal does not name \"%s\"", needle);
    }
    assert_int_equal(pl_client_group_info(dave->c, "team", &info), PL_CLIENT_E_NOT_FOUND);
    free(info.members);
    assert_int_equal(adv_log_count(&dave->log, 0, ""), 0);
    adv_assert_group_unchanged(bob->c, "team", before_b, before_b_len);

    /* The same ghost as a devices change to the real group, sent to alice: refused. */
    before_a = adv_group_state(alice->c, "team", &before_a_len, NULL);
    adv_send_group_update(mallory->c, "alice", id, devices_change, devices_len, NULL, 0);
    wait_told(all, 4, alice, "refused a group change");
    if (adv_log_count(&alice->log, 1, needle) != 1) {
        adv_log_dump("alice", &alice->log);
        fail_msg("alice's refusal does not name \"%s\"", needle);
    }
    adv_assert_group_unchanged(alice->c, "team", before_a, before_a_len);

    free(before_a);
    free(devices_change);
    free(change);
    free(fake_enc);
    free(before_b);
    pl_device_free(ghost);
    pl_group_state_free(st);
    pl_group_state_free(fake);
    stop(&w, ms, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forged_changes_are_refused),
        cmocka_unit_test(replayed_envelope_of_a_real_change_is_refused),
        cmocka_unit_test(extra_device_in_the_fanout_reads_nothing),
        cmocka_unit_test(ghost_in_prev_state_stops_the_join),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
