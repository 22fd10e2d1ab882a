/*
 * test_kt_ghost_device.c: the operator adds a ghost device to an account (docs/ADVERSARY.md,
 * attack a). The ghost's record is validly signed by the victim's account key (the operator
 * obtained one, say from a stolen key, or a device it never published), but it is not in the
 * transparency log: publishing it would show it to the victim's own monitoring.
 *   a1. In flight: the proxy adds the ghost's bundle to FetchBundles and its record to
 *       ListDevices answers about bob, before alice's first message to him (a client with
 *       sessions for every logged device fetches no bundles, and the real parleyd, which does
 *       not know the ghost, would not ask for it).
 *   a2. In the store: the operator stops parleyd, inserts the ghost into its devices and
 *       signed_prekeys tables, and restarts it; now parleyd itself insists on the ghost
 *       (a Send without it is refused with MISMATCHED_DEVICES).
 *   a3. In the sender's own account: alice has a second device (linked), and the proxy adds a
 *       ghost to her own device lists, to get the copy she sends to her other devices.
 * alice never encrypts to the ghost (no Send the proxy relays names it), and the send fails
 * with PL_CLIENT_E_KT_UNLOGGED and an "unlogged-device" alert naming the device, after the
 * client's bounded retries; what alice verified does not change.
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

#define GHOST_ID 5u

typedef struct ghost {
    char victim[33]; /* whose lists get the ghost (a1, a3); "" for none */
    uint8_t identity_key[PL_PUBKEY_BYTES];
    uint8_t record[PL_DEVICE_RECORD_BYTES];
    uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    uint8_t bundle[PL_BUNDLE_MAX_BYTES];
    size_t bundle_len;
    unsigned lies_told;
    unsigned sends;             /* Send requests relayed */
    unsigned ghost_ciphertexts; /* ciphertexts for the ghost among them */
} ghost;

/* Makes the ghost device of victim's account: a fresh identity key, a record signed by the
 * victim's account key, a signed prekey, and the bundle a server would hand out. */
static void ghost_make(ghost *g, pl_client *victim)
{
    pl_device *dev = NULL;
    pl_signed_prekey *spk = NULL;
    uint64_t now = ph_now_ms();

    assert_int_equal(pl_device_generate(&dev, NULL, GHOST_ID), PL_OK);
    pl_device_identity_key(dev, g->identity_key);
    assert_int_equal(
        pl_account_sign_device(victim->account, GHOST_ID, g->identity_key, now, g->record), PL_OK);
    assert_int_equal(pl_signed_prekey_generate(&spk, NULL, dev, 1, now / 1000u), PL_OK);
    pl_signed_prekey_public(spk, g->spk);
    assert_int_equal(
        pl_bundle_encode(g->record, g->spk, NULL, g->bundle, sizeof g->bundle, &g->bundle_len),
        PL_OK);
    pl_signed_prekey_free(spk);
    pl_device_free(dev);
}

/* The same list with one more entry at the end (the ghost's id is the largest). */
static mp_verdict add_to_list(mp_frame_ctx *fx, const Parley__ServerFrame *f, ghost *g)
{
    Parley__ServerFrame nf = *f;
    Parley__Response resp = *f->response;
    ProtobufCBinaryData items[16];
    Parley__BundleList bl;
    Parley__DeviceList dl;
    const ProtobufCBinaryData *src;
    size_t n;

    if (resp.body_case == PARLEY__RESPONSE__BODY_FETCH_BUNDLES) {
        bl = *resp.fetch_bundles;
        src = bl.bundles;
        n = bl.n_bundles;
    } else {
        dl = *resp.list_devices;
        src = dl.device_records;
        n = dl.n_device_records;
    }
    if (n >= 15)
        return MP_FORWARD;
    memcpy(items, src, n * sizeof *items);
    if (resp.body_case == PARLEY__RESPONSE__BODY_FETCH_BUNDLES) {
        items[n].data = g->bundle;
        items[n].len = g->bundle_len;
        bl.bundles = items;
        bl.n_bundles = n + 1;
        resp.fetch_bundles = &bl;
    } else {
        items[n].data = g->record;
        items[n].len = sizeof g->record;
        dl.device_records = items;
        dl.n_device_records = n + 1;
        resp.list_devices = &dl;
    }
    nf.response = &resp;
    g->lies_told++;
    return mp_emit_server(fx, &nf);
}

static mp_verdict server_hook(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    ghost *g = arg;
    const Parley__Request *rq = fx->request;
    const char *user = NULL;

    if (!g->victim[0] || !rq || f->response->status->code != 0)
        return MP_FORWARD;
    if (rq->body_case == PARLEY__REQUEST__BODY_FETCH_BUNDLES &&
        f->response->body_case == PARLEY__RESPONSE__BODY_FETCH_BUNDLES)
        user = rq->fetch_bundles->username;
    else if (rq->body_case == PARLEY__REQUEST__BODY_LIST_DEVICES &&
             f->response->body_case == PARLEY__RESPONSE__BODY_LIST_DEVICES)
        user = rq->list_devices->username;
    if (!user || strcmp(user, g->victim) != 0)
        return MP_FORWARD;
    return add_to_list(fx, f, g);
}

static mp_verdict client_hook(void *arg, mp_frame_ctx *fx, const Parley__ClientFrame *f)
{
    ghost *g = arg;
    const Parley__Send *s;

    (void)fx;
    if (f->kind_case != PARLEY__CLIENT_FRAME__KIND_REQUEST ||
        f->request->body_case != PARLEY__REQUEST__BODY_SEND)
        return MP_FORWARD;
    s = f->request->send;
    g->sends++;
    for (size_t i = 0; i < s->n_recipient_devices; i++)
        g->ghost_ciphertexts += s->recipient_devices[i]->device_id == GHOST_ID;
    for (size_t i = 0; i < s->n_sender_devices; i++)
        g->ghost_ciphertexts += s->sender_devices[i]->device_id == GHOST_ID;
    return MP_FORWARD;
}

/*
 * alice sends to bob: refused with E_KT_UNLOGGED naming the ghost, never encrypting to it.
 * What alice verified about `victim` either stays as it was (verified before) or is what the
 * honest log says (verified during this send, by her first lookup): never with the ghost.
 */
static void send_refused(adv_world *w, ghost *g, pl_client *alice, const char *victim)
{
    adv_snapshot before, after;
    pl_client_kt_status st;
    pl_client_alert al;
    char id[33], name[16];

    adv_snapshot_take(alice, victim, &before);
    ADV_RC(alice, pl_client_send(alice, "bob", "secret", 6, id), PL_CLIENT_E_KT_UNLOGGED);
    snprintf(name, sizeof name, "%u", GHOST_ID);
    if (!strstr(pl_client_error(alice), name))
        fail_msg("the error does not name device %u: %s", GHOST_ID, pl_client_error(alice));
    adv_snapshot_take(alice, victim, &after);
    if (before.has_label)
        adv_assert_kt_unchanged(&before, &after);
    ADV_RC(alice, pl_client_kt_status_get(alice, victim, 0, &st), PL_CLIENT_OK);
    assert_true(st.verified);
    for (size_t i = 0; i < st.n_devices; i++)
        assert_int_not_equal(st.devices[i].id, GHOST_ID);
    adv_newest_alert(alice, &al);
    assert_true(after.n_alerts > before.n_alerts);
    assert_string_equal(al.kind, "unlogged-device");
    assert_string_equal(al.user, victim);
    mp_lock(w->px);
    assert_int_equal(g->ghost_ciphertexts, 0);
    mp_unlock(w->px);
}

typedef struct stage {
    adv_world w;
    ghost g;
    pl_client *alice, *bob, *alice2;
} stage;

/* alice and bob, both with their own state verified; with written, alice has written to bob
 * once (his state is verified: one device). */
static void set_up(stage *s, const char *tag, int written)
{
    char id[33];

    memset(s, 0, sizeof *s);
    adv_world_start(&s->w, tag, NULL);
    mp_set_hooks(s->w.px, server_hook, client_hook, &s->g);
    s->alice = adv_client_new(&s->w, "alice");
    s->bob = adv_client_new(&s->w, "bob");
    /* Their first entries are published about a batch interval after registration. */
    adv_wait_published(&s->w, "alice", 0);
    adv_wait_published(&s->w, "bob", 0);
    ADV_RC(s->alice, pl_client_kt_monitor(s->alice, 1), PL_CLIENT_OK);
    if (written)
        ADV_RC(s->alice, pl_client_send(s->alice, "bob", "hi bob", 6, id), PL_CLIENT_OK);
}

static void tear_down(stage *s)
{
    mp_set_hooks(s->w.px, NULL, NULL, NULL);
    adv_client_close(&s->w, s->alice);
    adv_client_close(&s->w, s->bob);
    if (s->alice2)
        adv_client_close(&s->w, s->alice2);
    adv_world_stop(&s->w);
}

static void ghost_in_flight_is_never_encrypted_to(void **state)
{
    stage s;

    (void)state;
    set_up(&s, "ghost1", 0);
    ghost_make(&s.g, s.bob);
    mp_lock(s.w.px);
    snprintf(s.g.victim, sizeof s.g.victim, "bob");
    mp_unlock(s.w.px);
    send_refused(&s.w, &s.g, s.alice, "bob");
    mp_lock(s.w.px);
    assert_true(s.g.lies_told >= 1);
    mp_unlock(s.w.px);
    tear_down(&s);
}

static void ghost_in_the_store_is_never_encrypted_to(void **state)
{
    stage s;
    sqlite3 *db;
    char sql[512], hex[2 * PL_PUBKEY_BYTES + 1];

    (void)state;
    set_up(&s, "ghost2", 1);
    ghost_make(&s.g, s.bob);
    adv_client_close(&s.w, s.alice);
    adv_client_close(&s.w, s.bob);
    ph_stop(s.w.srv);
    db = adv_store_open(&s.w);
    for (size_t i = 0; i < PL_PUBKEY_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", s.g.identity_key[i]);
    snprintf(sql, sizeof sql,
             "INSERT INTO devices(account_id, device_id, record, identity_key, created_at)"
             " SELECT id, %u, ?1, x'%s', 0 FROM accounts WHERE username = ?2",
             GHOST_ID, hex);
    assert_int_equal(adv_store_exec(db, sql, s.g.record, sizeof s.g.record, "bob"), 1);
    snprintf(sql, sizeof sql,
             "INSERT INTO signed_prekeys(device_ref, public) SELECT d.id, ?1 FROM devices d"
             " JOIN accounts a ON d.account_id = a.id WHERE a.username = ?2 AND d.device_id = %u",
             GHOST_ID);
    assert_int_equal(adv_store_exec(db, sql, s.g.spk, sizeof s.g.spk, "bob"), 1);
    sqlite3_close(db);
    adv_world_restart(&s.w);
    s.alice = adv_client_open(&s.w, "alice");
    s.bob = adv_client_open(&s.w, "bob");
    send_refused(&s.w, &s.g, s.alice, "bob");
    tear_down(&s);
}

static void ghost_among_own_devices_gets_no_copy(void **state)
{
    stage s;

    (void)state;
    set_up(&s, "ghost3", 0);
    s.alice2 = adv_client_link(&s.w, s.alice, "alice2", NULL);
    adv_wait_published(&s.w, "alice", 1);
    ADV_RC(s.alice, pl_client_kt_monitor(s.alice, 1), PL_CLIENT_OK);
    ghost_make(&s.g, s.alice);
    mp_lock(s.w.px);
    snprintf(s.g.victim, sizeof s.g.victim, "alice");
    mp_unlock(s.w.px);
    send_refused(&s.w, &s.g, s.alice, "alice");
    tear_down(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ghost_in_flight_is_never_encrypted_to),
        cmocka_unit_test(ghost_in_the_store_is_never_encrypted_to),
        cmocka_unit_test(ghost_among_own_devices_gets_no_copy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
