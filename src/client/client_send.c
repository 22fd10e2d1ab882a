/*
 * client_send.c: sending a message (client.h): one Send carrying a ciphertext for every
 * device of the recipient and for every other device of ours.
 *
 * For each attempt: fetch both device lists (every record verified under its account key,
 * the key-change rules applied), make sure there is a session with each device whose peer
 * identity is the one in its current record (else fetch that account's bundles, verify them
 * and start new sessions), encrypt, save every session (BEFORE anything leaves: libparley's
 * rule), then send. STATUS_MISMATCHED_DEVICES means our lists were stale: the sessions of
 * stale devices are dropped and the next attempt fetches again.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client_internal.h"
#include "content.pb-c.h"

#define MAX_TARGETS (2 * CL_DEVICES_MAX)
#define PAD_TO 64u

typedef struct target {
    const char *user; /* c->username or the recipient */
    uint32_t device_id;
    uint8_t identity_key[PL_PUBKEY_BYTES];
    pl_session *session;
    uint8_t *ciphertext;
    size_t ciphertext_len;
} target;

typedef struct send_state {
    char to[CL_USERNAME_MAX + 1];
    target t[MAX_TARGETS];
    size_t n;
} send_state;

static void targets_free(send_state *s)
{
    for (size_t i = 0; i < s->n; i++) {
        pl_session_free(s->t[i].session);
        free(s->t[i].ciphertext);
    }
    s->n = 0;
}

/* Loads a stored session with the device if it still matches the device's identity key. */
static pl_session *load_session(pl_client *c, const char *user, uint32_t device_id,
                                const uint8_t identity[PL_PUBKEY_BYTES])
{
    uint8_t *blob = NULL, peer[PL_PUBKEY_BYTES];
    size_t len = 0;
    pl_session *s = NULL;

    if (pl_cstore_session_get(c->store, user, device_id, &blob, &len) != PL_CSTORE_OK)
        return NULL;
    if (pl_session_load(&s, blob, len) != PL_OK)
        s = NULL;
    pl_cstore_free_secret(blob, len);
    if (s) {
        pl_session_peer_identity(s, peer);
        if (sodium_memcmp(peer, identity, PL_PUBKEY_BYTES) != 0) {
            pl_session_free(s); /* the device was replaced: its record has a new key */
            s = NULL;
        }
    }
    return s;
}

/* Starts sessions with every target of `user` that has none, from its bundles. */
static int start_sessions(pl_client *c, send_state *st, const char *user,
                          const uint8_t account_key[PL_PUBKEY_BYTES])
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__FetchBundles fb = PARLEY__FETCH_BUNDLES__INIT;
    Parley__ServerFrame *f = NULL;
    int need = 0, r;

    for (size_t i = 0; i < st->n; i++)
        need |= st->t[i].user == user && !st->t[i].session;
    if (!need)
        return PL_CLIENT_OK;
    fb.username = (char *)user;
    req.body_case = PARLEY__REQUEST__BODY_FETCH_BUNDLES;
    req.fetch_bundles = &fb;
    if ((r = cl_request(c, &req, &f)) != PL_CLIENT_OK)
        return r;
    if (cl_status(f) != 0) {
        r = cl_refused(c, f, user);
        goto out;
    }
    for (size_t b = 0; b < f->response->fetch_bundles->n_bundles; b++) {
        const ProtobufCBinaryData *raw = &f->response->fetch_bundles->bundles[b];
        pl_bundle bundle;

        if (pl_bundle_verify(raw->data, raw->len, account_key, &bundle) != PL_OK) {
            r = cl_fail(c, PL_CLIENT_E_BAD_RECORD,
                        "a prekey bundle of %s does not verify under its account key: refusing",
                        user);
            goto out;
        }
        for (size_t i = 0; i < st->n; i++) {
            target *t = &st->t[i];

            if (t->user != user || t->session || t->device_id != bundle.device.device_id)
                continue;
            if (sodium_memcmp(bundle.device.identity_key, t->identity_key, PL_PUBKEY_BYTES) != 0) {
                r = cl_fail(c, PL_CLIENT_E_BAD_RECORD,
                            "%s's bundle for device %u names another key than its record", user,
                            t->device_id);
                goto out;
            }
            if (pl_session_initiate(&t->session, NULL, c->device, &bundle) != PL_OK) {
                r = cl_fail(c, PL_CLIENT_E_BAD_RECORD, "cannot start a session with %s/%u", user,
                            t->device_id);
                goto out;
            }
        }
    }
    r = PL_CLIENT_OK;
out:
    pl_frame_server_free(f);
    return r;
}

/* Collects the devices of one account as targets (skipping ours). */
static int add_targets(pl_client *c, send_state *st, const char *user, const cl_device_list *dl)
{
    for (size_t i = 0; i < dl->n; i++) {
        target *t;

        if (user == c->username && dl->records[i].device_id == c->device_id)
            continue;
        if (st->n == MAX_TARGETS)
            return cl_fail(c, PL_CLIENT_E_PROTOCOL, "too many devices");
        t = &st->t[st->n++];
        memset(t, 0, sizeof *t);
        t->user = user;
        t->device_id = dl->records[i].device_id;
        memcpy(t->identity_key, dl->records[i].identity_key, PL_PUBKEY_BYTES);
        t->session = load_session(c, user, t->device_id, t->identity_key);
    }
    return PL_CLIENT_OK;
}

/* Encodes a Content padded to a multiple of PAD_TO bytes into *out (malloc'd). */
static int encode_content(const uint8_t id[16], uint64_t sent_at, const char *text, size_t len,
                          const char *sent_to, uint8_t **out, size_t *out_len)
{
    static const uint8_t zeros[PAD_TO + 8];
    Parley__Content ct = PARLEY__CONTENT__INIT;
    char *copy = malloc(len + 1);
    size_t size = 0;

    *out = NULL;
    if (!copy)
        return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    ct.message_id.data = (uint8_t *)id;
    ct.message_id.len = 16;
    ct.sent_at_ms = sent_at;
    ct.text = copy;
    ct.sent_to = (char *)(sent_to ? sent_to : "");
    for (size_t pad = 0; pad < sizeof zeros; pad++) {
        ct.padding.data = (uint8_t *)zeros;
        ct.padding.len = pad;
        size = parley__content__get_packed_size(&ct);
        if (size % PAD_TO == 0)
            break;
    }
    if ((*out = malloc(size))) {
        *out_len = parley__content__pack(&ct, *out);
    }
    free(copy);
    return *out ? 0 : -1;
}

static int encrypt_all(pl_client *c, send_state *st, const uint8_t id[16], uint64_t sent_at,
                       const char *text, size_t len)
{
    uint8_t *for_them = NULL, *for_us = NULL;
    size_t them_len = 0, us_len = 0;
    int r = PL_CLIENT_OK;

    if (encode_content(id, sent_at, text, len, NULL, &for_them, &them_len) != 0 ||
        encode_content(id, sent_at, text, len, st->to, &for_us, &us_len) != 0) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < st->n && r == PL_CLIENT_OK; i++) {
        target *t = &st->t[i];
        const uint8_t *pt = t->user == c->username ? for_us : for_them;
        size_t pt_len = t->user == c->username ? us_len : them_len;
        size_t cap = pl_session_encrypted_size(t->session, pt_len);
        int e;

        free(t->ciphertext);
        if (!(t->ciphertext = malloc(cap))) {
            r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
            break;
        }
        e = pl_session_encrypt(t->session, pt, pt_len, t->ciphertext, cap, &t->ciphertext_len);
        if (e == PL_E_TOO_LARGE)
            r = cl_fail(c, PL_CLIENT_E_USAGE, "the message is too long (at most about 96 KiB)");
        else if (e != PL_OK)
            r = cl_fail(c, PL_CLIENT_E_PROTOCOL, "encryption failed: %s", pl_strerror(e));
    }
out:
    free(for_them);
    free(for_us);
    return r;
}

/* Saves every session (one transaction): required before the ciphertexts leave. */
static int save_sessions(pl_client *c, send_state *st)
{
    int r = pl_cstore_begin(c->store);

    for (size_t i = 0; i < st->n && r == PL_CSTORE_OK; i++) {
        target *t = &st->t[i];
        size_t cap = pl_session_saved_size(t->session), len = 0;
        uint8_t *blob = malloc(cap);

        if (!blob) {
            r = PL_CSTORE_E_NOMEM;
            break;
        }
        if (pl_session_save(t->session, blob, cap, &len) != PL_OK)
            r = PL_CSTORE_E_INVALID_ARG;
        else
            r = pl_cstore_session_put(c->store, t->user, t->device_id, blob, len);
        sodium_memzero(blob, cap);
        free(blob);
    }
    if (r == PL_CSTORE_OK)
        r = pl_cstore_commit(c->store);
    if (r != PL_CSTORE_OK) {
        pl_cstore_rollback(c->store);
        return cl_store_fail(c, r, "saving sessions");
    }
    return PL_CLIENT_OK;
}

/* Sends the Send. Returns PL_CLIENT_OK, 1 for "mismatched: try again", or an error. */
static int send_once(pl_client *c, send_state *st, const uint8_t id[16])
{
    Parley__DeviceCiphertext dc[MAX_TARGETS], *rp[MAX_TARGETS], *sp[MAX_TARGETS];
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__Send send = PARLEY__SEND__INIT;
    Parley__ServerFrame *f = NULL;
    int r;

    for (size_t i = 0; i < st->n; i++) {
        target *t = &st->t[i];

        parley__device_ciphertext__init(&dc[i]);
        dc[i].device_id = t->device_id;
        dc[i].identity_key.data = t->identity_key;
        dc[i].identity_key.len = PL_PUBKEY_BYTES;
        dc[i].ciphertext.data = t->ciphertext;
        dc[i].ciphertext.len = t->ciphertext_len;
        if (t->user == c->username && strcmp(st->to, c->username) != 0)
            sp[send.n_sender_devices++] = &dc[i];
        else
            rp[send.n_recipient_devices++] = &dc[i];
    }
    send.recipient = st->to;
    send.recipient_devices = rp;
    send.sender_devices = sp;
    send.client_message_id.data = (uint8_t *)id;
    send.client_message_id.len = 16;
    req.body_case = PARLEY__REQUEST__BODY_SEND;
    req.send = &send;
    if ((r = cl_request(c, &req, &f)) != PL_CLIENT_OK)
        return r;
    if (cl_status(f) == PARLEY__STATUS_CODE__STATUS_MISMATCHED_DEVICES) {
        const Parley__Status *s = f->response->status;

        /* Stale devices: their sessions no longer match; drop them. */
        for (size_t m = 0; m < s->n_mismatched; m++)
            for (size_t k = 0; k < s->mismatched[m]->n_stale; k++)
                (void)pl_cstore_session_delete(c->store, s->mismatched[m]->username,
                                               s->mismatched[m]->stale[k]);
        r = 1;
    } else if (cl_status(f) != 0) {
        r = cl_refused(c, f, "sending");
    }
    pl_frame_server_free(f);
    return r;
}

int pl_client_send(pl_client *c, const char *to, const char *text, size_t text_len, char id_out[33])
{
    send_state st;
    cl_device_list theirs, ours;
    pl_cstore_message m;
    uint8_t id[16];
    uint64_t sent_at = cl_now_ms();
    int r = PL_CLIENT_E_USAGE, attempt;

    id_out[0] = '\0';
    memset(&st, 0, sizeof st);
    if (strlen(to) > CL_USERNAME_MAX || !*to)
        return cl_fail(c, PL_CLIENT_E_BAD_USERNAME, "\"%s\" is not a username", to);
    for (size_t i = 0; to[i]; i++)
        st.to[i] = (char)((to[i] >= 'A' && to[i] <= 'Z') ? to[i] + 32 : to[i]);
    randombytes_buf(id, sizeof id);
    for (attempt = 0; attempt < CL_SEND_ATTEMPTS; attempt++) {
        int to_self = strcmp(st.to, c->username) == 0;

        targets_free(&st);
        if ((r = cl_fetch_devices(c, c->username, &ours)) != PL_CLIENT_OK)
            goto out;
        if (!to_self) {
            if ((r = cl_fetch_devices(c, st.to, &theirs)) != PL_CLIENT_OK)
                goto out;
            if (theirs.n == 0) {
                r = cl_fail(c, PL_CLIENT_E_NO_DEVICES, "%s has no devices", st.to);
                goto out;
            }
            if ((r = add_targets(c, &st, st.to, &theirs)) != PL_CLIENT_OK)
                goto out;
        }
        if ((r = add_targets(c, &st, c->username, &ours)) != PL_CLIENT_OK)
            goto out;
        if (!to_self && (r = start_sessions(c, &st, st.to, theirs.account_key)) != PL_CLIENT_OK)
            goto out;
        if ((r = start_sessions(c, &st, c->username, c->account_key)) != PL_CLIENT_OK)
            goto out;
        /* A device without a bundle (no signed prekey yet) cannot be reached: the server
         * would refuse the Send as missing it. */
        for (size_t i = 0; i < st.n; i++)
            if (!st.t[i].session) {
                r = cl_fail(c, PL_CLIENT_E_NO_DEVICES,
                            "device %u of %s has not published its keys yet; try again later",
                            st.t[i].device_id, st.t[i].user);
                goto out;
            }
        if (st.n == 0)
            break; /* a note to self with no other device: history only */
        if ((r = encrypt_all(c, &st, id, sent_at, text, text_len)) != PL_CLIENT_OK ||
            (r = save_sessions(c, &st)) != PL_CLIENT_OK)
            goto out;
        if ((r = send_once(c, &st, id)) != 1)
            break;
    }
    if (r == 1)
        r = cl_fail(c, PL_CLIENT_E_REFUSED,
                    "the device lists kept changing while sending to %s; try again", st.to);
    if (r != PL_CLIENT_OK)
        goto out;
    memset(&m, 0, sizeof m);
    memcpy(m.id, id, sizeof id);
    snprintf(m.peer, sizeof m.peer, "%s", st.to);
    m.kind = PL_CSTORE_MSG_OUT;
    m.device_id = c->device_id;
    m.sent_at_ms = m.received_at_ms = sent_at;
    m.body = (uint8_t *)text;
    m.body_len = text_len;
    if ((r = cl_store_message(c, &m)) < 0)
        goto out;
    cl_hex(id, sizeof id, id_out);
    r = PL_CLIENT_OK;
out:
    targets_free(&st);
    return r;
}
