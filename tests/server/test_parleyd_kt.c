/*
 * test_parleyd_kt.c: integration tests of parleyd's key-transparency log (PROTOCOL.md
 * §23-§24) against a real parleyd: account states on RegisterAccount / AddDevice /
 * RemoveDevice and their refusals (which change nothing); with quorum 0, checkpoints moved
 * through pl_kt_view_update and lookups checked with pl_kt_lookup_verify (greatest, fixed, a
 * new version within a few batch intervals); with one witness written here (KtWatch, the
 * push, KtCheckpointGet latest_signed, pl_kt_witness_add_checkpoint, KtCosign), nothing is
 * published before the cosignature and a bad cosignature is refused; KtAuditGet replayed
 * into a prefix tree and the log root; a restart brings back the same log; the heartbeat.
 */
#include <sodium.h>

#include "parleyd_test.h"

#define BATCH_MS 100u
#define POLL_ROUNDS 60 /* of 100 ms: 6 s for what should take 2 batch intervals */

static const char *const quick[] = {"kt.batch_interval=100ms", NULL};

static int teardown(void **state)
{
    (void)state;
    ph_test_teardown(NULL);
    return 0;
}

/* ---- Requests ------------------------------------------------------------------------------ */

static int kt_call(wc_conn *c, Parley__Request *req, Parley__ServerFrame **out)
{
    Parley__ServerFrame *f = NULL;
    int r = wc_request(c, req, &f, WC_TIMEOUT_MS);

    *out = NULL;
    if (r != WC_OK)
        return r;
    r = wc_status(f);
    *out = f;
    return r;
}

static int kt_config(wc_conn *c, Parley__ServerFrame **out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtConfigGet body = PARLEY__KT_CONFIG_GET__INIT;

    req.body_case = PARLEY__REQUEST__BODY_KT_CONFIG;
    req.kt_config = &body;
    return kt_call(c, &req, out);
}

static int kt_checkpoint(wc_conn *c, uint64_t known, int latest_signed, Parley__ServerFrame **out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtCheckpointGet body = PARLEY__KT_CHECKPOINT_GET__INIT;

    body.known_size = known;
    body.latest_signed = latest_signed;
    req.body_case = PARLEY__REQUEST__BODY_KT_CHECKPOINT;
    req.kt_checkpoint = &body;
    return kt_call(c, &req, out);
}

static int kt_lookup(wc_conn *c, const char *user, uint64_t known, int fixed, uint32_t version,
                     Parley__ServerFrame **out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtLookup body = PARLEY__KT_LOOKUP__INIT;

    body.username = (char *)user;
    body.known_size = known;
    body.fixed = fixed;
    body.version = version;
    req.body_case = PARLEY__REQUEST__BODY_KT_LOOKUP;
    req.kt_lookup = &body;
    return kt_call(c, &req, out);
}

static int kt_audit(wc_conn *c, uint64_t from, uint32_t max, Parley__ServerFrame **out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtAuditGet body = PARLEY__KT_AUDIT_GET__INIT;

    body.from = from;
    body.max = max;
    req.body_case = PARLEY__REQUEST__BODY_KT_AUDIT;
    req.kt_audit = &body;
    return kt_call(c, &req, out);
}

static int kt_cosign(wc_conn *c, uint64_t size, const char *line)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtCosign body = PARLEY__KT_COSIGN__INIT;
    Parley__ServerFrame *f = NULL;
    int r;

    body.size = size;
    body.cosignature = (char *)line;
    req.body_case = PARLEY__REQUEST__BODY_KT_COSIGN;
    req.kt_cosign = &body;
    r = kt_call(c, &req, &f);
    pl_frame_server_free(f);
    return r;
}

static int kt_watch(wc_conn *c)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtWatch body = PARLEY__KT_WATCH__INIT;
    Parley__ServerFrame *f = NULL;
    int r;

    req.body_case = PARLEY__REQUEST__BODY_KT_WATCH;
    req.kt_watch = &body;
    r = kt_call(c, &req, &f);
    pl_frame_server_free(f);
    return r;
}

/* ---- A client's view ----------------------------------------------------------------------- */

typedef struct client_view {
    pl_kt_view view;
    uint8_t vrf_pk[PL_VRF_PUBLIC_KEY_BYTES];
    char origin[PL_NOTE_NAME_MAX_BYTES + 1];
} client_view;

/* Pins the server's KtConfig (quorum and witnesses as it announces them). */
static void pin(wc_conn *c, client_view *v)
{
    Parley__ServerFrame *f = NULL;
    const Parley__KtConfig *k;
    pl_note_verifier log_key, w[PL_WIRE_KT_MAX_WITNESSES];

    EXPECT(kt_config(c, &f), ST(OK));
    k = f->response->kt_config;
    assert_int_equal(k->vrf_public_key.len, PL_VRF_PUBLIC_KEY_BYTES);
    memcpy(v->vrf_pk, k->vrf_public_key.data, PL_VRF_PUBLIC_KEY_BYTES);
    snprintf(v->origin, sizeof v->origin, "%s", k->origin);
    assert_int_equal(pl_note_verifier_parse(k->log_vkey, strlen(k->log_vkey), &log_key), PL_OK);
    assert_string_equal(log_key.name, k->origin);
    for (size_t i = 0; i < k->n_witness_vkeys; i++)
        assert_int_equal(
            pl_note_verifier_parse(k->witness_vkeys[i], strlen(k->witness_vkeys[i]), &w[i]), PL_OK);
    assert_int_equal(pl_kt_view_init(&v->view, k->origin, strlen(k->origin), &log_key, w,
                                     k->n_witness_vkeys, k->quorum, k->max_ahead_ms,
                                     k->max_behind_ms),
                     PL_OK);
    pl_frame_server_free(f);
}

/* Moves the view to a KtCheckpoint answer; returns pl_kt_view_update's result. */
static int view_update(client_view *v, const Parley__KtCheckpoint *cp)
{
    uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES];
    pl_kt_view_evidence ev;

    assert_true(cp->n_consistency <= PL_MERKLE_MAX_PROOF);
    for (size_t i = 0; i < cp->n_consistency; i++) {
        assert_int_equal(cp->consistency[i].len, PL_MERKLE_HASH_BYTES);
        memcpy(proof[i], cp->consistency[i].data, PL_MERKLE_HASH_BYTES);
    }
    return pl_kt_view_update(&v->view, cp->note, strlen(cp->note), ph_now_ms(),
                             (const uint8_t(*)[PL_MERKLE_HASH_BYTES])proof, cp->n_consistency, &ev);
}

/* A verified lookup: moves the view and checks the proof. Returns the status; on OK *res. */
static int verified_lookup(wc_conn *c, client_view *v, const char *user, int fixed,
                           uint32_t version, pl_kt_lookup_result *res)
{
    Parley__ServerFrame *f = NULL;
    pl_kt_lookup_failure why = PL_KT_LOOKUP_OK;
    int st = kt_lookup(c, user, v->view.has_checkpoint ? v->view.size : 0, fixed, version, &f);

    if (st == ST(OK)) {
        const Parley__KtLookupResult *lr = f->response->kt_lookup;

        assert_int_equal(view_update(v, lr->checkpoint), PL_OK);
        if (pl_kt_lookup_verify(v->vrf_pk, (const uint8_t *)user, strlen(user), v->view.size,
                                v->view.root, fixed ? PL_KT_LOOKUP_FIXED : PL_KT_LOOKUP_GREATEST,
                                version, NULL, 0, lr->proof.data, lr->proof.len, res,
                                &why) != PL_OK)
            fail_msg("lookup of %s: %s", user, pl_kt_lookup_failure_str(why));
        res->value = NULL; /* points into f */
    }
    pl_frame_server_free(f);
    return st;
}

/* Polls a greatest lookup of user until it proves version `want` (bounded). */
static void wait_version(wc_conn *c, client_view *v, const char *user, uint32_t want,
                         pl_kt_lookup_result *res)
{
    for (int i = 0; i < POLL_ROUNDS; i++) {
        int st = verified_lookup(c, v, user, 0, 0, res);

        if (st == ST(OK) && res->version == want)
            return;
        assert_true(st == ST(OK) || st == ST(NOT_FOUND));
        ph_sleep_ms(100);
    }
    fail_msg("version %u of %s did not appear in the log", want, user);
}

/* ---- Tests --------------------------------------------------------------------------------- */

/* Quorum 0: registration, a new device, a removal, each a new greatest version. */
static void test_lookups_follow_device_changes(void **state)
{
    ph_server *s;
    wi_account *a;
    wc_conn *c;
    client_view v;
    pl_kt_lookup_result res;
    Parley__ServerFrame *f = NULL;
    uint8_t sig[64];
    uint64_t t0;

    (void)state;
    ph_test_begin();
    s = ph_start(quick);
    a = wo_new_user(s->port, s->cert_path, "ktl", &c);
    pin(c, &v);
    wait_version(c, &v, a->username, 0, &res);
    assert_int_equal(res.state.n_devices, 1);
    assert_memory_equal(res.state.account_key, a->account_key, PL_PUBKEY_BYTES);
    assert_memory_equal(res.state.device_records[0], a->devices[0].record, PL_DEVICE_RECORD_BYTES);

    /* A new device shows up as version 1 within a couple of batch intervals. */
    EXPECT(wo_add_device(c, a->username, wi_device_new(a, 2)->record), ST(OK));
    t0 = ph_mono_ms();
    wait_version(c, &v, a->username, 1, &res);
    assert_true(ph_mono_ms() - t0 < 20 * BATCH_MS + 2000);
    assert_int_equal(res.state.n_devices, 2);
    /* The old version stays provable (fixed), an absent one is NOT_FOUND. */
    EXPECT(verified_lookup(c, &v, a->username, 1, 0, &res), ST(OK));
    assert_int_equal(res.version, 0);
    assert_int_equal(res.state.n_devices, 1);
    EXPECT(verified_lookup(c, &v, a->username, 1, 7, &res), ST(NOT_FOUND));
    EXPECT(verified_lookup(c, &v, "nosuchktuser", 0, 0, &res), ST(NOT_FOUND));
    EXPECT(verified_lookup(c, &v, "No Such User", 0, 0, &res), ST(BAD_USERNAME));

    /* A removal is version 2, listing device 1 only. */
    wi_removal_signature(a, 2, sig);
    EXPECT(wo_remove_device(c, a->username, 2, sig), ST(OK));
    wait_version(c, &v, a->username, 2, &res);
    assert_int_equal(res.state.n_devices, 1);
    assert_int_equal(res.state.devices[0].device_id, 1);

    /* ListDevices hands back the last state, the one the log proves. */
    EXPECT(wo_auth(c, a, &a->devices[0]), ST(OK));
    EXPECT(wo_list_devices(c, a->username, &f), ST(OK));
    assert_int_equal(f->response->list_devices->account_state.len, a->state_len);
    assert_memory_equal(f->response->list_devices->account_state.data, a->state, a->state_len);
    pl_frame_server_free(f);
    wc_close(c);
    wi_account_free(a);
    ph_stop(s);
    ph_free(s);
    ph_test_end();
}

/* Every refused state changes nothing: the device list and the last state stay. */
static void test_refused_states_change_nothing(void **state)
{
    ph_server *s;
    wi_account *a, *other;
    wc_conn *c;
    wi_device *d2, *d3;
    uint8_t st[PL_ACCOUNT_STATE_MAX_BYTES], sig[64], saved[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t len, saved_len;
    Parley__ServerFrame *f = NULL;

    (void)state;
    ph_test_begin();
    s = ph_start(quick);
    a = wo_new_user(s->port, s->cert_path, "ktr", &c);
    other = wi_account_new("ktrother");
    memcpy(saved, a->state, a->state_len);
    saved_len = a->state_len;
    d2 = wi_device_new(a, 2);
    d3 = wi_device_new(a, 3);

    /* Not an extension: a second seq-0 state. */
    a->state_len = 0;
    assert_int_equal(wi_next_state(a, d2->record, 0, st, &len), 0);
    a->state_len = saved_len;
    EXPECT(wo_add_device_with_state(c, a->username, d2->record, st, len), ST(BAD_REQUEST));
    /* The wrong device set: the state adds device 3, the request device 2. */
    assert_int_equal(wi_next_state(a, d3->record, 0, st, &len), 0);
    EXPECT(wo_add_device_with_state(c, a->username, d2->record, st, len), ST(BAD_REQUEST));
    /* A bad signature on an otherwise right state. */
    assert_int_equal(wi_next_state(a, d2->record, 0, st, &len), 0);
    st[len - 1] ^= 0x01;
    EXPECT(wo_add_device_with_state(c, a->username, d2->record, st, len), ST(BAD_SIGNATURE));
    /* A state signed by another account key (a valid state of its own). */
    assert_int_equal(wi_next_state(other, other->devices[0].record, 0, st, &len), 0);
    EXPECT(wo_add_device_with_state(c, a->username, d2->record, st, len), ST(BAD_REQUEST));
    /* Garbage of a valid length. */
    memset(st, 0x41, sizeof st);
    EXPECT(wo_add_device_with_state(c, a->username, d2->record, st, PL_ACCOUNT_STATE_BYTES(2)),
           ST(BAD_REQUEST));
    /* A removal whose state still lists the device. */
    wi_removal_signature(a, 1, sig);
    EXPECT(wo_remove_device_with_state(c, a->username, 1, sig, saved, saved_len), ST(BAD_REQUEST));

    /* Nothing changed: one device, and the last state is the first one. */
    EXPECT(wo_auth(c, a, &a->devices[0]), ST(OK));
    EXPECT(wo_list_devices(c, a->username, &f), ST(OK));
    assert_int_equal(f->response->list_devices->n_device_records, 1);
    assert_int_equal(f->response->list_devices->account_state.len, saved_len);
    assert_memory_equal(f->response->list_devices->account_state.data, saved, saved_len);
    pl_frame_server_free(f);
    /* The right state is still accepted, as version 1. */
    EXPECT(wo_add_device(c, a->username, d2->record), ST(OK));
    d3->removed = 1;

    /* Registration: a state listing another record is refused and takes no name. */
    {
        wi_account *b = wi_account_new("ktrb");
        wi_device *extra = wi_device_new(b, 2);
        uint8_t keep[PL_DEVICE_RECORD_BYTES];
        Parley__Request req = PARLEY__REQUEST__INIT;
        Parley__RegisterAccount body = PARLEY__REGISTER_ACCOUNT__INIT;
        Parley__ServerFrame *g = NULL;
        char name[WI_NAME_MAX];

        wi_unique_name(name, sizeof name, "ktrb");
        snprintf(b->username, sizeof b->username, "%s", name);
        memcpy(keep, b->devices[0].record, sizeof keep);
        assert_int_equal(wi_next_state(b, extra->record, 0, st, &len), 0);
        body.username = b->username;
        body.account_key.data = b->account_key;
        body.account_key.len = PL_PUBKEY_BYTES;
        body.device_record.data = keep;
        body.device_record.len = sizeof keep;
        body.account_state.data = st;
        body.account_state.len = len;
        req.body_case = PARLEY__REQUEST__BODY_REGISTER_ACCOUNT;
        req.register_account = &body;
        EXPECT(kt_call(c, &req, &g), ST(BAD_REQUEST));
        pl_frame_server_free(g);
        extra->removed = 1;
        EXPECT(wo_register_account(c, b), ST(OK));
        wi_account_free(b);
    }
    wc_close(c);
    wi_account_free(a);
    wi_account_free(other);
    ph_stop(s);
    ph_free(s);
    ph_test_end();
}

/* One configured witness, written here: it watches, cosigns, and only then do clients see. */
static void test_witness_publishes(void **state)
{
    uint8_t wpk[32], wsk[64];
    pl_note_verifier wv;
    char vkey[PL_NOTE_VKEY_MAX_BYTES + 1], setting[PL_NOTE_VKEY_MAX_BYTES + 32], line[512];
    const char *settings[3];
    ph_server *s;
    wc_conn *w, *c;
    client_view v;
    pl_kt_witness_state ws, next;
    Parley__ServerFrame *f = NULL;
    pl_kt_lookup_result res;
    wi_account *a;
    size_t vlen, llen;
    uint64_t size;

    (void)state;
    ph_test_begin();
    crypto_sign_keypair(wpk, wsk);
    assert_int_equal(
        pl_note_verifier_init("witness.test", 12, PL_NOTE_TYPE_COSIGNATURE_V1, wpk, &wv), PL_OK);
    assert_int_equal(pl_note_verifier_format(&wv, vkey, sizeof vkey - 1, &vlen), PL_OK);
    vkey[vlen] = '\0';
    snprintf(setting, sizeof setting, "kt.witnesses=%s", vkey);
    settings[0] = "kt.batch_interval=100ms";
    settings[1] = setting;
    settings[2] = NULL;
    s = ph_start(settings);

    EXPECT(wc_connect(&w, s->port, s->cert_path), WC_OK);
    EXPECT(kt_watch(w), ST(OK));
    pin(w, &v);
    assert_int_equal(v.view.quorum, 1);
    assert_int_equal(pl_kt_witness_state_init(v.origin, strlen(v.origin), &v.view.log_key, &ws),
                     PL_OK);

    /* The first entry is signed at start, but nothing is published without the witness. */
    for (int i = 0; i < POLL_ROUNDS; i++) {
        int st = kt_checkpoint(w, 0, 1, &f);

        if (st == ST(OK))
            break;
        pl_frame_server_free(f);
        f = NULL;
        ph_sleep_ms(100);
    }
    assert_non_null(f);
    EXPECT(wc_status(f), ST(OK));
    {
        Parley__ServerFrame *g = NULL;

        EXPECT(kt_checkpoint(w, 0, 0, &g), ST(NOT_FOUND));
        pl_frame_server_free(g);
    }
    /* The witness decides and cosigns; a tampered line and a wrong size are refused. */
    {
        const char *note = f->response->kt_checkpoint->note;
        pl_checkpoint cp;
        pl_note_opened o;

        assert_int_equal(pl_note_open(note, strlen(note), &v.view.log_key, 1, &o), PL_OK);
        assert_int_equal(pl_checkpoint_parse(o.text, o.text_len, &cp), PL_OK);
        size = cp.size;
        assert_int_equal(pl_kt_witness_add_checkpoint(&ws, 0, note, strlen(note), NULL, 0, wv.name,
                                                      wv.name_len, wsk, ph_now_ms() / 1000u, &next,
                                                      line, sizeof line - 1, &llen, NULL),
                         PL_OK);
        line[llen] = '\0';
        ws = next;
    }
    pl_frame_server_free(f);
    {
        char bad[512];

        memcpy(bad, line, llen + 1);
        bad[llen - 3] = bad[llen - 3] == 'A' ? 'B' : 'A';
        EXPECT(kt_cosign(w, size, bad), ST(BAD_SIGNATURE));
    }
    EXPECT(kt_cosign(w, size + 5, line), ST(NOT_FOUND));
    EXPECT(kt_checkpoint(w, 0, 0, &f), ST(NOT_FOUND));
    pl_frame_server_free(f);
    EXPECT(kt_cosign(w, size, line), ST(OK));
    EXPECT(kt_checkpoint(w, 0, 0, &f), ST(OK));
    assert_int_equal(view_update(&v, f->response->kt_checkpoint), PL_OK);
    assert_int_equal(v.view.size, size);
    pl_frame_server_free(f);

    /* A registration: its entry is pushed to the watcher, and stays unpublished until the
     * witness cosigns it. */
    a = wo_new_user(s->port, s->cert_path, "ktw", &c);
    EXPECT(wc_next_push(w, &f, 5000), WC_OK);
    assert_int_equal(f->push->kind_case, PARLEY__PUSH__KIND_KT_CHECKPOINT);
    pl_frame_server_free(f);
    EXPECT(kt_lookup(c, a->username, 0, 0, 0, &f), ST(NOT_FOUND));
    pl_frame_server_free(f);
    /* The witness fetches the newest signed checkpoint with a proof from its size. The push
     * it got may be an older one (entry 0, signed at start, is pushed if the watch came
     * first), so it asks until the registration's entry is there (bounded). */
    for (int i = 0;; i++) {
        Parley__KtCheckpoint *cp;
        pl_note_opened o;
        pl_checkpoint ck;

        EXPECT(kt_checkpoint(w, ws.size, 1, &f), ST(OK));
        cp = f->response->kt_checkpoint;
        assert_int_equal(pl_note_open(cp->note, strlen(cp->note), &v.view.log_key, 1, &o), PL_OK);
        assert_int_equal(pl_checkpoint_parse(o.text, o.text_len, &ck), PL_OK);
        if (ck.size > ws.size)
            break;
        assert_true(i < POLL_ROUNDS);
        pl_frame_server_free(f);
        f = NULL;
        ph_sleep_ms(100);
    }
    {
        const Parley__KtCheckpoint *cp = f->response->kt_checkpoint;
        uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES];

        for (size_t i = 0; i < cp->n_consistency; i++)
            memcpy(proof[i], cp->consistency[i].data, PL_MERKLE_HASH_BYTES);
        assert_int_equal(pl_kt_witness_add_checkpoint(&ws, ws.size, cp->note, strlen(cp->note),
                                                      (const uint8_t(*)[PL_MERKLE_HASH_BYTES])proof,
                                                      cp->n_consistency, wv.name, wv.name_len, wsk,
                                                      ph_now_ms() / 1000u, &next, line,
                                                      sizeof line - 1, &llen, NULL),
                         PL_OK);
        line[llen] = '\0';
        ws = next;
    }
    pl_frame_server_free(f);
    EXPECT(kt_cosign(w, ws.size, line), ST(OK));
    wait_version(c, &v, a->username, 0, &res);
    assert_int_equal(v.view.size, ws.size);

    wc_close(c);
    wc_close(w);
    wi_account_free(a);
    ph_stop(s);
    ph_free(s);
    ph_test_end();
}

/* KtAuditGet: every entry's leaves replay into a prefix tree to its root, and the entries
 * hash to the checkpoint's log root. */
static void test_audit_replays(void **state)
{
    ph_server *s;
    wi_account *users[4];
    wc_conn *c;
    client_view v;
    pl_kt_lookup_result res;
    pl_prefix_tree *t = NULL;
    uint8_t(*leaves)[PL_MERKLE_HASH_BYTES] = NULL;
    uint64_t n = 0, size;
    Parley__ServerFrame *f = NULL;

    (void)state;
    ph_test_begin();
    s = ph_start(quick);
    for (int i = 0; i < 4; i++) {
        users[i] = wo_new_user(s->port, s->cert_path, "kta", &c);
        if (i % 2)
            EXPECT(wo_add_device(c, users[i]->username, wi_device_new(users[i], 2)->record),
                   ST(OK));
        wc_close(c);
    }
    EXPECT(wc_connect(&c, s->port, s->cert_path), WC_OK);
    pin(c, &v);
    wait_version(c, &v, users[3]->username, 1, &res);
    size = v.view.size;
    assert_int_equal(pl_prefix_tree_new(&t), PL_OK);
    assert_non_null(leaves = calloc(size, sizeof *leaves));
    while (n < size) {
        const Parley__KtAuditBatch *b;

        EXPECT(kt_audit(c, n, 3, &f), ST(OK));
        b = f->response->kt_audit;
        assert_true(b->n_entries >= 1 && b->n_entries <= 3);
        for (size_t i = 0; i < b->n_entries && n < size; i++, n++) {
            const Parley__KtAuditEntry *e = b->entries[i];
            uint8_t root[32], entry[PL_KT_LOG_ENTRY_BYTES];

            assert_int_equal(e->position, n);
            for (size_t j = 0; j < e->n_leaves; j++) {
                assert_int_equal(e->leaves[j].len, 64);
                if (j)
                    assert_true(memcmp(e->leaves[j - 1].data, e->leaves[j].data, 32) < 0);
                assert_int_equal(
                    pl_prefix_tree_insert(t, e->leaves[j].data, e->leaves[j].data + 32), PL_OK);
            }
            pl_prefix_tree_root(t, root);
            assert_memory_equal(root, e->prefix_root.data, 32);
            pl_kt_log_entry(e->timestamp_ms, root, entry);
            pl_merkle_leaf_hash(entry, sizeof entry, leaves[n]);
        }
        pl_frame_server_free(f);
    }
    /* 4 registrations and 2 new devices: six label-versions in all. */
    assert_int_equal(pl_prefix_tree_size(t), 6);
    {
        uint8_t root[32];

        assert_int_equal(pl_merkle_root((const uint8_t(*)[32])leaves, size, root), PL_OK);
        assert_memory_equal(root, v.view.root, 32);
    }
    /* Past the end: an empty batch. */
    EXPECT(kt_audit(c, size + 10, 5, &f), ST(OK));
    assert_int_equal(f->response->kt_audit->n_entries, 0);
    pl_frame_server_free(f);
    /* A known size past the checkpoint is a bad request. */
    EXPECT(kt_checkpoint(c, size + 1000, 0, &f), ST(BAD_REQUEST));
    pl_frame_server_free(f);
    pl_prefix_tree_free(t);
    free(leaves);
    wc_close(c);
    for (int i = 0; i < 4; i++)
        wi_account_free(users[i]);
    ph_stop(s);
    ph_free(s);
    ph_test_end();
}

/* A restart (clean, then a kill) brings back the same checkpoint, trees and proofs. */
static void test_restart_keeps_the_log(void **state)
{
    ph_server *s;
    wi_account *a;
    wc_conn *c;
    client_view v;
    pl_kt_lookup_result res;
    Parley__ServerFrame *f = NULL;
    char *note;
    uint8_t *proof;
    size_t proof_len;

    (void)state;
    ph_test_begin();
    s = ph_start(quick);
    a = wo_new_user(s->port, s->cert_path, "ktd", &c);
    EXPECT(wo_add_device(c, a->username, wi_device_new(a, 2)->record), ST(OK));
    pin(c, &v);
    wait_version(c, &v, a->username, 1, &res);
    EXPECT(kt_lookup(c, a->username, 0, 0, 0, &f), ST(OK));
    note = strdup(f->response->kt_lookup->checkpoint->note);
    proof_len = f->response->kt_lookup->proof.len;
    proof = malloc(proof_len);
    memcpy(proof, f->response->kt_lookup->proof.data, proof_len);
    pl_frame_server_free(f);
    wc_close(c);

    for (int round = 0; round < 2; round++) {
        if (round == 0)
            ph_stop(s);
        else
            ph_kill(s);
        s->passed = 0;
        ph_restart(s);
        EXPECT(wc_connect(&c, s->port, s->cert_path), WC_OK);
        /* The same published checkpoint (no heartbeat is due), the same proof bytes. */
        EXPECT(kt_lookup(c, a->username, v.view.size, 0, 0, &f), ST(OK));
        assert_string_equal(f->response->kt_lookup->checkpoint->note, note);
        assert_int_equal(f->response->kt_lookup->proof.len, proof_len);
        assert_memory_equal(f->response->kt_lookup->proof.data, proof, proof_len);
        pl_frame_server_free(f);
        EXPECT(verified_lookup(c, &v, a->username, 0, 0, &res), ST(OK));
        assert_int_equal(res.version, 1);
        wc_close(c);
    }
    /* The log goes on from where it was. */
    c = wo_login(s->port, s->cert_path, a, &a->devices[0]);
    EXPECT(wo_add_device(c, a->username, wi_device_new(a, 3)->record), ST(OK));
    wait_version(c, &v, a->username, 2, &res);
    assert_int_equal(res.state.n_devices, 3);
    wc_close(c);
    free(note);
    free(proof);
    wi_account_free(a);
    ph_stop(s);
    ph_free(s);
    ph_test_end();
}

/* With nothing to log, a heartbeat entry still comes once per [kt] heartbeat. */
static void test_heartbeat(void **state)
{
    ph_server *s;
    wc_conn *c;
    client_view v;
    Parley__ServerFrame *f = NULL;
    uint64_t first = 0;
    int grown = 0;

    (void)state;
    ph_test_begin();
    s = ph_start((const char *const[]){"kt.batch_interval=100ms", "kt.heartbeat=1s", NULL});
    EXPECT(wc_connect(&c, s->port, s->cert_path), WC_OK);
    pin(c, &v);
    for (int i = 0; i < POLL_ROUNDS && !grown; i++) {
        int st = kt_checkpoint(c, v.view.has_checkpoint ? v.view.size : 0, 0, &f);

        if (st == ST(OK)) {
            assert_int_equal(view_update(&v, f->response->kt_checkpoint), PL_OK);
            if (!first)
                first = v.view.size;
            grown = v.view.size >= first + 2;
        }
        pl_frame_server_free(f);
        f = NULL;
        ph_sleep_ms(200);
    }
    assert_true(grown);
    wc_close(c);
    ph_stop(s);
    ph_free(s);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_lookups_follow_device_changes, teardown),
        cmocka_unit_test_teardown(test_refused_states_change_nothing, teardown),
        cmocka_unit_test_teardown(test_witness_publishes, teardown),
        cmocka_unit_test_teardown(test_audit_replays, teardown),
        cmocka_unit_test_teardown(test_restart_keeps_the_log, teardown),
        cmocka_unit_test_teardown(test_heartbeat, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
