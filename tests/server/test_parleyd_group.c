/*
 * test_parleyd_group.c: integration tests of GroupSend against a running parleyd
 * (PROTOCOL.md §31): one ciphertext fanned out to many devices of many users, live and
 * offline, with Envelope.group set; the per-account device check (missing, extra, stale, and
 * the sender's own other devices); idempotent resends; the mailbox quota (all or none); the
 * [limits] maximum and the ciphertext size; malformed requests; 300 accounts at once; the
 * one stored copy of a fan-out's ciphertext (schema v5) across a restart, released by the
 * last acknowledgement.
 */
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "parleyd_test.h"

#define GS_MAX_USERS 512
#define GS_MAX_DEVICES 1024

static ph_server *srv;
static ph_server *own;

static int group_setup(void **state)
{
    (void)state;
    srv = ph_start(NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (srv && srv->pid)
        ph_stop(srv);
    ph_free(srv);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ph_test_teardown(srv);
    if (own && own->pid)
        ph_stop(own);
    ph_free(own);
    own = NULL;
    return 0;
}

/* A GroupSend under construction: the parallel lists of §31.1. */
typedef struct gs {
    char *usernames[GS_MAX_USERS];
    uint32_t counts[GS_MAX_USERS];
    uint32_t ids[GS_MAX_DEVICES];
    uint8_t keys[GS_MAX_DEVICES * PL_PUBKEY_BYTES];
    size_t n_users, n_ids;
    size_t keys_len; /* normally 33 * n_ids; a test may break it */
} gs;

static gs *gs_new(void)
{
    gs *g = calloc(1, sizeof *g);

    assert_non_null(g);
    return g;
}

/* Starts the next account's list. */
static void gs_user(gs *g, const char *username)
{
    assert_true(g->n_users < GS_MAX_USERS);
    g->usernames[g->n_users++] = (char *)username;
}

/* Adds a device to the account started last. */
static void gs_dev(gs *g, uint32_t id, const uint8_t key[PL_PUBKEY_BYTES])
{
    assert_true(g->n_ids < GS_MAX_DEVICES && g->n_users > 0);
    g->ids[g->n_ids] = id;
    memcpy(g->keys + g->n_ids * PL_PUBKEY_BYTES, key, PL_PUBKEY_BYTES);
    g->n_ids++;
    g->counts[g->n_users - 1]++;
    g->keys_len = g->n_ids * PL_PUBKEY_BYTES;
}

/* Adds every current device of a but `skip` (0: none) as one account. */
static void gs_account(gs *g, const wi_account *a, uint32_t skip)
{
    gs_user(g, a->username);
    for (size_t i = 0; i < a->n_devices; i++)
        if (!a->devices[i].removed && a->devices[i].id != skip)
            gs_dev(g, a->devices[i].id, a->devices[i].identity_key);
}

/* Sends g with the text as its ciphertext; returns the status as wo_* calls do. */
static int gs_send(wc_conn *c, const gs *g, const void *ct, size_t ct_len, const uint8_t id[16],
                   size_t id_len, Parley__ServerFrame **out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__GroupSend body = PARLEY__GROUP_SEND__INIT;
    Parley__ServerFrame *f = NULL;
    int r;

    body.ciphertext.data = (uint8_t *)ct;
    body.ciphertext.len = ct_len;
    body.client_message_id.data = (uint8_t *)id;
    body.client_message_id.len = id_len;
    char *names = calloc(g->n_users, WI_NAME_MAX + 1);

    assert_non_null(names);
    for (size_t i = 0; i < g->n_users; i++) {
        if (i)
            strcat(names, " ");
        strcat(names, g->usernames[i]);
    }
    body.usernames = names;
    body.device_counts = (uint32_t *)g->counts;
    body.n_device_counts = g->n_users;
    body.device_ids = (uint32_t *)g->ids;
    body.n_device_ids = g->n_ids;
    body.identity_keys.data = (uint8_t *)g->keys;
    body.identity_keys.len = g->keys_len;
    req.body_case = PARLEY__REQUEST__BODY_GROUP_SEND;
    req.group_send = &body;
    r = wc_request(c, &req, &f, WC_TIMEOUT_MS);
    free(names);
    if (r != WC_OK)
        return r;
    r = wc_status(f);
    if (out)
        *out = f;
    else
        pl_frame_server_free(f);
    return r;
}

static int gs_send_text(wc_conn *c, const gs *g, const char *text, const uint8_t *id)
{
    uint8_t fresh[16];

    if (!id) {
        randombytes_buf(fresh, sizeof fresh);
        id = fresh;
    }
    return gs_send(c, g, text, strlen(text), id, 16, NULL);
}

/* Waits for the next envelope: a group message from `from`/from_device with this text. */
static uint64_t expect_group(wc_conn *c, const wi_account *from, uint32_t from_device,
                             const char *text, int group)
{
    Parley__ServerFrame *f = NULL;
    Parley__Envelope *e;
    uint64_t seq;

    EXPECT(wo_next_envelope(c, &f, WC_TIMEOUT_MS), WC_OK);
    e = f->push->envelope;
    assert_string_equal(e->sender, from->username);
    assert_int_equal(e->sender_device, from_device);
    assert_int_equal(e->ciphertext.len, strlen(text));
    assert_memory_equal(e->ciphertext.data, text, strlen(text));
    assert_int_equal(e->client_message_id.len, 16);
    assert_int_equal(!!e->group, group);
    seq = e->seq;
    assert_int_not_equal(seq, 0);
    pl_frame_server_free(f);
    return seq;
}

static wc_conn *login_quiet(ph_server *s, const wi_account *a, uint32_t device)
{
    wc_conn *c = wo_login(s->port, s->cert_path, a, wi_device_get((wi_account *)a, device));

    EXPECT(wo_expect_queue_empty(c, WC_TIMEOUT_MS), WC_OK);
    return c;
}

static void expect_empty_mailbox(ph_server *s, const wi_account *a, uint32_t device)
{
    wc_close(login_quiet(s, a, device));
}

/* Registers n users named "<prefix>N" over one connection, each with device 1. */
static void new_users(ph_server *s, const char *prefix, wi_account **out, size_t n)
{
    wc_conn *c = NULL;
    char name[WI_NAME_MAX];

    EXPECT(wc_connect(&c, s->port, s->cert_path), WC_OK);
    for (size_t i = 0; i < n; i++) {
        wi_unique_name(name, sizeof name, prefix);
        out[i] = wi_account_new(name);
        EXPECT(wo_register_account(c, out[i]), ST(OK));
    }
    wc_close(c);
}

/* Adds devices 2..n to a, over a connection of its own. */
static void add_devices(ph_server *s, wi_account *a, uint32_t n)
{
    wc_conn *c = NULL;

    EXPECT(wc_connect(&c, s->port, s->cert_path), WC_OK);
    for (uint32_t id = 2; id <= n; id++)
        EXPECT(wo_add_device(c, a->username, wi_device_new(a, id)->record), ST(OK));
    wc_close(c);
}

static void free_users(wi_account **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wi_account_free(a[i]);
}

/* 1: a sender with two devices, ten members (one with three devices); some devices online,
 * some not. Every device but the sending one gets the one ciphertext, marked group, live or
 * from the store; a later one-to-one Send is not marked. */
static void test_fanout_many_users(void **state)
{
    wi_account *snd, *m[10];
    wc_conn *c_snd, *c_snd2, *c_m0, *c_m1;
    Parley__ServerFrame *f = NULL;
    gs *g = gs_new();
    uint8_t id[16];

    (void)state;
    ph_test_begin();
    new_users(srv, "gsnd", &snd, 1);
    new_users(srv, "gmem", m, 10);
    add_devices(srv, snd, 2);
    add_devices(srv, m[0], 3);
    c_snd = login_quiet(srv, snd, 1);
    c_snd2 = login_quiet(srv, snd, 2);
    c_m0 = login_quiet(srv, m[0], 2);
    c_m1 = login_quiet(srv, m[1], 1);

    gs_account(g, snd, 1);
    for (size_t i = 0; i < 10; i++)
        gs_account(g, m[i], 0);
    assert_int_equal(g->n_ids, 13);
    randombytes_buf(id, sizeof id);
    EXPECT(gs_send(c_snd, g, "hello group", 11, id, 16, &f), ST(OK));
    assert_int_equal(f->response->body_case, PARLEY__RESPONSE__BODY_GROUP_SEND);
    assert_int_not_equal(f->response->group_send->server_time_ms, 0);
    pl_frame_server_free(f);

    /* Live. */
    expect_group(c_snd2, snd, 1, "hello group", 1);
    expect_group(c_m0, snd, 1, "hello group", 1);
    expect_group(c_m1, snd, 1, "hello group", 1);
    /* From the store: the flag survives it. */
    for (uint32_t d = 1; d <= 3; d++) {
        wc_conn *c;

        if (d == 2)
            continue;
        c = wo_login(srv->port, srv->cert_path, m[0], wi_device_get(m[0], d));
        expect_group(c, snd, 1, "hello group", 1);
        EXPECT(wo_expect_queue_empty(c, WC_TIMEOUT_MS), WC_OK);
        wc_close(c);
    }
    for (size_t i = 2; i < 10; i++) {
        wc_conn *c = wo_login(srv->port, srv->cert_path, m[i], &m[i]->devices[0]);

        expect_group(c, snd, 1, "hello group", 1);
        EXPECT(wo_expect_queue_empty(c, WC_TIMEOUT_MS), WC_OK);
        wc_close(c);
    }
    /* The sending device gets nothing. */
    EXPECT(wo_ping(c_snd), ST(OK));
    assert_int_equal(wc_pushes_queued(c_snd), 0);
    /* A one-to-one message afterwards is not a group message. */
    EXPECT(wo_send_text(c_snd, snd, 1, m[1], "direct", NULL, NULL), ST(OK));
    expect_group(c_m1, snd, 1, "direct", 0);
    wc_close(c_snd);
    wc_close(c_snd2);
    wc_close(c_m0);
    wc_close(c_m1);
    free_users(&snd, 1);
    free_users(m, 10);
    free(g);
    ph_test_end();
}

static const Parley__MismatchedDevices *mismatch_for(const Parley__ServerFrame *f,
                                                     const char *username)
{
    const Parley__Status *st = f->response->status;

    for (size_t i = 0; i < st->n_mismatched; i++)
        if (strcmp(st->mismatched[i]->username, username) == 0)
            return st->mismatched[i];
    return NULL;
}

/* 2: each account's list is checked on its own; the refusal names exactly the accounts that
 * differ, with their missing, extra and stale devices, and nothing is stored. */
static void test_mismatched_per_user(void **state)
{
    wi_account *u[6]; /* sender, missing, stale, extra, fine, sender-with-own-device */
    wc_conn *c;
    Parley__ServerFrame *f = NULL;
    const Parley__MismatchedDevices *mm;
    uint8_t bogus[PL_PUBKEY_BYTES];
    gs *g = gs_new();

    (void)state;
    ph_test_begin();
    new_users(srv, "gmm", u, 5);
    add_devices(srv, u[0], 2); /* the sender's own other device, not listed below */
    add_devices(srv, u[1], 2);
    c = login_quiet(srv, u[0], 1);
    memcpy(bogus, u[2]->devices[0].identity_key, sizeof bogus);
    bogus[5] ^= 1;

    gs_user(g, u[1]->username); /* device 2 missing */
    gs_dev(g, 1, u[1]->devices[0].identity_key);
    gs_user(g, u[2]->username); /* stale key */
    gs_dev(g, 1, bogus);
    gs_account(g, u[3], 0); /* plus an extra device 9 */
    gs_dev(g, 9, bogus);
    gs_account(g, u[4], 0); /* fine */
    EXPECT(gs_send(c, g, "x", 1, (const uint8_t *)"0123456789abcdef", 16, &f),
           ST(MISMATCHED_DEVICES));
    assert_int_equal(f->response->status->n_mismatched, 4);
    assert_non_null(mm = mismatch_for(f, u[1]->username));
    assert_int_equal(mm->n_missing, 1);
    assert_int_equal(mm->missing[0], 2);
    assert_int_equal(mm->n_extra + mm->n_stale, 0);
    assert_non_null(mm = mismatch_for(f, u[2]->username));
    assert_int_equal(mm->n_stale, 1);
    assert_int_equal(mm->stale[0], 1);
    assert_int_equal(mm->n_missing + mm->n_extra, 0);
    assert_non_null(mm = mismatch_for(f, u[3]->username));
    assert_int_equal(mm->n_extra, 1);
    assert_int_equal(mm->extra[0], 9);
    assert_null(mismatch_for(f, u[4]->username));
    /* The sender's own account, not listed: its device 2 would miss the message. */
    assert_non_null(mm = mismatch_for(f, u[0]->username));
    assert_int_equal(mm->n_missing, 1);
    assert_int_equal(mm->missing[0], 2);
    pl_frame_server_free(f);

    /* Listing the sending device itself is an extra device of the sender. */
    free(g);
    g = gs_new();
    gs_account(g, u[0], 0);
    gs_account(g, u[4], 0);
    EXPECT(gs_send(c, g, "x", 1, (const uint8_t *)"0123456789abcdeg", 16, &f),
           ST(MISMATCHED_DEVICES));
    assert_int_equal(f->response->status->n_mismatched, 1);
    assert_non_null(mm = mismatch_for(f, u[0]->username));
    assert_int_equal(mm->n_extra, 1);
    assert_int_equal(mm->extra[0], 1);
    pl_frame_server_free(f);

    /* Nothing was stored for anyone. */
    expect_empty_mailbox(srv, u[4], 1);
    expect_empty_mailbox(srv, u[1], 1);
    expect_empty_mailbox(srv, u[0], 2);

    /* Corrected, it goes through. */
    free(g);
    g = gs_new();
    gs_account(g, u[0], 1);
    gs_account(g, u[1], 0);
    gs_account(g, u[4], 0);
    EXPECT(gs_send_text(c, g, "fixed", NULL), ST(OK));
    {
        wc_conn *c4 = wo_login(srv->port, srv->cert_path, u[4], &u[4]->devices[0]);

        expect_group(c4, u[0], 1, "fixed", 1);
        wc_close(c4);
    }
    wc_close(c);
    free_users(u, 5);
    free(g);
    ph_test_end();
}

/* 3: a resend with the same client_message_id is answered with the first time and stored
 * once; a new id is a new message. */
static void test_idempotent_resend(void **state)
{
    wi_account *u[3];
    wc_conn *c, *cr;
    Parley__ServerFrame *f = NULL;
    uint64_t t1, t2;
    uint8_t id[16];
    gs *g = gs_new();

    (void)state;
    ph_test_begin();
    new_users(srv, "gid", u, 3);
    c = login_quiet(srv, u[0], 1);
    gs_account(g, u[1], 0);
    gs_account(g, u[2], 0);
    randombytes_buf(id, sizeof id);
    EXPECT(gs_send(c, g, "once", 4, id, 16, &f), ST(OK));
    t1 = f->response->group_send->server_time_ms;
    pl_frame_server_free(f);
    EXPECT(gs_send(c, g, "once", 4, id, 16, &f), ST(OK));
    t2 = f->response->group_send->server_time_ms;
    pl_frame_server_free(f);
    assert_int_equal(t1, t2);
    EXPECT(gs_send_text(c, g, "twice", NULL), ST(OK));
    for (size_t i = 1; i < 3; i++) {
        cr = wo_login(srv->port, srv->cert_path, u[i], &u[i]->devices[0]);
        expect_group(cr, u[0], 1, "once", 1);
        expect_group(cr, u[0], 1, "twice", 1);
        EXPECT(wo_expect_queue_empty(cr, WC_TIMEOUT_MS), WC_OK);
        wc_close(cr);
    }
    wc_close(c);
    free_users(u, 3);
    free(g);
    ph_test_end();
}

/* 4: one full mailbox refuses the whole fan-out (MAILBOX_FULL) and stores nothing. */
static void test_quota(void **state)
{
    wi_account *u[3];
    wc_conn *c, *cr;
    gs *g = gs_new();
    uint64_t seqs[2];

    (void)state;
    ph_test_begin();
    own = ph_start((const char *const[]){"mailbox.quota_envelopes=2", NULL});
    new_users(own, "gq", u, 3);
    c = login_quiet(own, u[0], 1);
    EXPECT(wo_send_text(c, u[0], 1, u[2], "d1", NULL, NULL), ST(OK));
    EXPECT(wo_send_text(c, u[0], 1, u[2], "d2", NULL, NULL), ST(OK));
    gs_account(g, u[1], 0);
    gs_account(g, u[2], 0);
    EXPECT(gs_send_text(c, g, "over", NULL), ST(MAILBOX_FULL));
    expect_empty_mailbox(own, u[1], 1); /* all or none */
    cr = wo_login(own->port, own->cert_path, u[2], &u[2]->devices[0]);
    seqs[0] = expect_group(cr, u[0], 1, "d1", 0);
    seqs[1] = expect_group(cr, u[0], 1, "d2", 0);
    EXPECT(wo_expect_queue_empty(cr, WC_TIMEOUT_MS), WC_OK);
    EXPECT(wo_ack(cr, seqs, 2), ST(OK));
    EXPECT(gs_send_text(c, g, "room", NULL), ST(OK));
    expect_group(cr, u[0], 1, "room", 1);
    wc_close(cr);
    wc_close(c);
    free_users(u, 3);
    free(g);
    ph_test_end();
}

/* 5: [limits] max_group_recipient_devices is announced and enforced; the ciphertext is
 * bounded by max_envelope_bytes. */
static void test_limits(void **state)
{
    wi_account *u[5];
    wc_conn *c = NULL;
    Parley__ServerFrame *hello = NULL;
    gs *g = gs_new();
    static uint8_t big[2048];

    (void)state;
    ph_test_begin();
    own = ph_start((const char *const[]){"limits.max_group_recipient_devices=3",
                                         "server.max_envelope_bytes=1KiB", NULL});
    {
        wc_conn *raw = NULL;

        EXPECT(wc_open(&raw, own->port, own->cert_path, NULL), WC_OK);
        EXPECT(wc_hello(raw, 1, 1, &hello), WC_OK);
        assert_int_equal(hello->hello_reply->limits->max_group_recipient_devices, 3);
        pl_frame_server_free(hello);
        wc_close(raw);
    }
    new_users(own, "gl", u, 5);
    c = login_quiet(own, u[0], 1);
    for (size_t i = 1; i < 5; i++)
        gs_account(g, u[i], 0);
    EXPECT(gs_send_text(c, g, "four", NULL), ST(BAD_REQUEST));
    g->n_users = 3;
    g->n_ids = 3;
    g->keys_len = 3 * PL_PUBKEY_BYTES;
    EXPECT(gs_send_text(c, g, "three", NULL), ST(OK));
    memset(big, 'b', sizeof big);
    EXPECT(gs_send(c, g, big, 1025, (const uint8_t *)"0123456789abcdef", 16, NULL), ST(TOO_LARGE));
    EXPECT(gs_send(c, g, big, 1024, (const uint8_t *)"0123456789abcdef", 16, NULL), ST(OK));
    expect_empty_mailbox(own, u[4], 1);
    wc_close(c);
    free_users(u, 5);
    free(g);
    ph_test_end();
}

/* 6: malformed requests are refused with a status, change nothing, and leave the connection
 * usable. */
static void test_bad_input(void **state)
{
    wi_account *u[3];
    wc_conn *c = NULL;
    gs *g = gs_new();
    char upper[WI_NAME_MAX];

    (void)state;
    ph_test_begin();
    new_users(srv, "gbad", u, 3);
    /* Not authenticated. */
    EXPECT(wc_connect(&c, srv->port, srv->cert_path), WC_OK);
    gs_account(g, u[1], 0);
    EXPECT(gs_send_text(c, g, "x", NULL), ST(NOT_AUTHENTICATED));
    wc_close(c);
    c = login_quiet(srv, u[0], 1);
    /* device_counts not one per username. */
    gs_user(g, u[2]->username);
    EXPECT(gs_send_text(c, g, "x", NULL), ST(BAD_REQUEST)); /* count 0 for u[2] */
    gs_dev(g, 1, u[2]->devices[0].identity_key);
    /* identity_keys of the wrong length. */
    g->keys_len -= 1;
    EXPECT(gs_send_text(c, g, "x", NULL), ST(BAD_REQUEST));
    g->keys_len += 1;
    /* Empty ciphertext; a short message id. */
    EXPECT(gs_send(c, g, "", 0, (const uint8_t *)"0123456789abcdef", 16, NULL), ST(BAD_REQUEST));
    EXPECT(gs_send(c, g, "x", 1, (const uint8_t *)"0123456789abcdef", 15, NULL), ST(BAD_REQUEST));
    /* The same account twice, in another spelling. */
    snprintf(upper, sizeof upper, "%s", u[1]->username);
    upper[0] = (char)(upper[0] - 'a' + 'A');
    gs_user(g, upper);
    gs_dev(g, 1, u[1]->devices[0].identity_key);
    EXPECT(gs_send_text(c, g, "x", NULL), ST(BAD_REQUEST));
    free(g);
    /* A device listed twice for one account. */
    g = gs_new();
    gs_account(g, u[1], 0);
    gs_dev(g, 1, u[1]->devices[0].identity_key);
    EXPECT(gs_send_text(c, g, "x", NULL), ST(BAD_REQUEST));
    free(g);
    /* Not a username; a space splits a name (so the counts no longer match); an empty name;
     * no such user. */
    g = gs_new();
    gs_account(g, u[1], 0);
    gs_user(g, "Bad!");
    gs_dev(g, 1, u[1]->devices[0].identity_key);
    EXPECT(gs_send_text(c, g, "x", NULL), ST(BAD_USERNAME));
    g->usernames[1] = "with space";
    EXPECT(gs_send_text(c, g, "x", NULL), ST(BAD_REQUEST));
    g->usernames[1] = "";
    EXPECT(gs_send_text(c, g, "x", NULL), ST(BAD_REQUEST));
    free(g);
    g = gs_new();
    gs_account(g, u[1], 0);
    gs_user(g, "nosuchgroupuser");
    gs_dev(g, 1, u[1]->devices[0].identity_key);
    EXPECT(gs_send_text(c, g, "x", NULL), ST(NOT_FOUND));
    /* Still usable, and nothing was stored. */
    EXPECT(wo_ping(c), ST(OK));
    expect_empty_mailbox(srv, u[1], 1);
    expect_empty_mailbox(srv, u[2], 1);
    wc_close(c);
    free_users(u, 3);
    free(g);
    ph_test_end();
}

/* 7: a larger group: 300 accounts, two of them with 6 devices; every device gets exactly
 * one copy. */
static void test_large_fanout(void **state)
{
    enum { N = 300 };
    wi_account **u = calloc(N, sizeof *u);
    wc_conn *c;
    gs *g = gs_new();

    (void)state;
    ph_test_begin();
    assert_non_null(u);
    new_users(srv, "gbig", u, N);
    add_devices(srv, u[1], 6);
    add_devices(srv, u[N - 1], 6);
    c = login_quiet(srv, u[0], 1);
    for (size_t i = 1; i < N; i++)
        gs_account(g, u[i], 0);
    assert_int_equal(g->n_ids, N - 1 + 10);
    EXPECT(gs_send_text(c, g, "to everyone", NULL), ST(OK));
    for (size_t i = 1; i < N; i += 37) {
        wc_conn *cr = wo_login(srv->port, srv->cert_path, u[i], &u[i]->devices[0]);

        expect_group(cr, u[0], 1, "to everyone", 1);
        EXPECT(wo_expect_queue_empty(cr, WC_TIMEOUT_MS), WC_OK);
        wc_close(cr);
    }
    for (uint32_t d = 2; d <= 6; d++) {
        wc_conn *cr = wo_login(srv->port, srv->cert_path, u[N - 1], wi_device_get(u[N - 1], d));

        expect_group(cr, u[0], 1, "to everyone", 1);
        EXPECT(wo_expect_queue_empty(cr, WC_TIMEOUT_MS), WC_OK);
        wc_close(cr);
    }
    wc_close(c);
    free_users(u, N);
    free(u);
    free(g);
    ph_test_end();
}

/* Runs sql (one row, one integer column) on the server's database, read beside it (WAL). */
static int64_t db_count(const ph_server *s, const char *sql)
{
    char path[PH_PATH_MAX];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v;

    snprintf(path, sizeof path, "%s/parleyd.db", s->data_dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return v;
}

/* Waits (bounded, 10 s) until the server's database holds `want` shared payloads. */
static void expect_payloads(const ph_server *s, int64_t want)
{
    int64_t got = -1;

    for (int i = 0; i < 1000 && (got = db_count(s, "SELECT count(*) FROM group_payloads")) != want;
         i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    assert_int_equal(got, want);
}

/* 8: a fan-out's ciphertext is stored once (schema v5, PROTOCOL.md §31.4), read back whole by
 * every device from the store after a restart, and deleted with the last acknowledgement. */
static void test_shared_payload_lifetime(void **state)
{
    wi_account *u[4];
    wc_conn *c;
    gs *g = gs_new();
    static uint8_t ct[16384];
    Parley__ServerFrame *f = NULL;
    uint8_t id[16];

    (void)state;
    ph_test_begin();
    own = ph_start(NULL);
    new_users(own, "gpay", u, 4);
    c = login_quiet(own, u[0], 1);
    for (size_t i = 1; i < 4; i++)
        gs_account(g, u[i], 0);
    randombytes_buf(ct, sizeof ct);
    randombytes_buf(id, sizeof id);
    EXPECT(gs_send(c, g, ct, sizeof ct, id, 16, NULL), ST(OK));
    wc_close(c);
    expect_payloads(own, 1);
    assert_int_equal(db_count(own, "SELECT coalesce(sum(length(ciphertext)), 0) FROM envelopes"),
                     0);
    assert_int_equal(db_count(own, "SELECT count(*) FROM envelopes WHERE is_group = 1"), 3);
    ph_stop(own);
    ph_restart(own);
    for (size_t i = 1; i < 4; i++) {
        wc_conn *cr = wo_login(own->port, own->cert_path, u[i], &u[i]->devices[0]);
        Parley__Envelope *e;
        uint64_t seq;

        EXPECT(wo_next_envelope(cr, &f, WC_TIMEOUT_MS), WC_OK);
        e = f->push->envelope;
        assert_true(e->group);
        assert_int_equal(e->ciphertext.len, sizeof ct);
        assert_memory_equal(e->ciphertext.data, ct, sizeof ct);
        seq = e->seq;
        pl_frame_server_free(f);
        EXPECT(wo_expect_queue_empty(cr, WC_TIMEOUT_MS), WC_OK);
        EXPECT(wo_ack(cr, &seq, 1), ST(OK));
        wc_close(cr);
        expect_payloads(own, i < 3 ? 1 : 0); /* kept until the last device's ack */
    }
    assert_int_equal(db_count(own, "SELECT count(*) FROM envelopes"), 0);
    free_users(u, 4);
    free(g);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_fanout_many_users, teardown),
        cmocka_unit_test_teardown(test_mismatched_per_user, teardown),
        cmocka_unit_test_teardown(test_idempotent_resend, teardown),
        cmocka_unit_test_teardown(test_quota, teardown),
        cmocka_unit_test_teardown(test_limits, teardown),
        cmocka_unit_test_teardown(test_bad_input, teardown),
        cmocka_unit_test_teardown(test_large_fanout, teardown),
        cmocka_unit_test_teardown(test_shared_payload_lifetime, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
