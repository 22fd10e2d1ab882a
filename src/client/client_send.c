/*
 * client_send.c: sending a message (client.h): one Send carrying a ciphertext for every
 * device of the recipient and for every other device of ours.
 *
 * The devices are those of the account states verified in the key-transparency log
 * (client_kt.c, PROTOCOL.md §25), ours and the recipient's: a device or identity key the log
 * does not show is never encrypted to. For each attempt: take both verified states (looked up
 * before the first message), make sure there is a session with each device whose peer
 * identity is the one its record lists (else fetch that account's bundles, keep only those
 * of verified devices with the listed keys, and start new sessions), encrypt, save every
 * session (BEFORE anything leaves: libparley's rule), then send. When the server disagrees
 * (a bundle of another device, a logged device without a bundle, STATUS_MISMATCHED_DEVICES)
 * the label is looked up again, up to CL_KT_RETRIES times about 1 s apart (a new entry may be
 * pending); if the log still does not show a device the server insists on, the send fails
 * naming it (E_KT_UNLOGGED, with an alert).
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client_internal.h"
#include "client_kt.h"
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

/*
 * Starts sessions with every target of `user` that has none, from its bundles. Only a bundle
 * of a device in the verified state, with the identity key that state lists, is used (§25
 * rule 3); any other bundle is ignored and sets *differs, as does a target left without one:
 * the server's list and the log disagree, and the caller looks the label up again.
 */
static int start_sessions(pl_client *c, send_state *st, const char *user,
                          const uint8_t account_key[PL_PUBKEY_BYTES], int *differs,
                          uint32_t *odd_device)
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
        int used = 0;

        if (pl_bundle_verify(raw->data, raw->len, account_key, &bundle) != PL_OK) {
            r = cl_fail(c, PL_CLIENT_E_BAD_RECORD,
                        "a prekey bundle of %s does not verify under its account key: refusing",
                        user);
            goto out;
        }
        for (size_t i = 0; i < st->n; i++) {
            target *t = &st->t[i];

            if (t->user != user || t->device_id != bundle.device.device_id)
                continue;
            /* A device of the verified state, but with another key than the log lists. */
            if (sodium_memcmp(bundle.device.identity_key, t->identity_key, PL_PUBKEY_BYTES) != 0)
                break;
            used = 1;
            if (t->session)
                break;
            if (pl_session_initiate(&t->session, NULL, c->device, &bundle) != PL_OK) {
                r = cl_fail(c, PL_CLIENT_E_BAD_RECORD, "cannot start a session with %s/%u", user,
                            t->device_id);
                goto out;
            }
        }
        if (!used && !(user == c->username && bundle.device.device_id == c->device_id)) {
            *differs = 1;
            *odd_device = bundle.device.device_id;
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
                          const Parley__Content *control, const char *sent_to,
                          const Parley__Attachment *attachment, uint8_t **out, size_t *out_len)
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
    ct.attachment = (Parley__Attachment *)attachment; /* pl_client_send_file's, or NULL */
    if (control) {
        ct.receipt = control->receipt;
        ct.group_update = control->group_update;
        ct.group_sender_key = control->group_sender_key;
    }
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
                       const char *text, size_t len, const Parley__Content *control)
{
    uint8_t *for_them = NULL, *for_us = NULL;
    size_t them_len = 0, us_len = 0;
    int r = PL_CLIENT_OK;

    if (encode_content(id, sent_at, text, len, control, NULL, c->attach_next, &for_them,
                       &them_len) != 0 ||
        encode_content(id, sent_at, text, len, control, st->to, c->attach_next, &for_us, &us_len) !=
            0) {
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

/* What a STATUS_MISMATCHED_DEVICES refusal said, per account. */
typedef struct mismatch {
    int ours, theirs;     /* the account's list disagreed with ours */
    uint32_t odd_device;  /* a device the server insists on (missing), 0 if none */
    const char *odd_user; /* its account */
} mismatch;

/* Sends the Send. Returns PL_CLIENT_OK, 1 for "mismatched: look up and try again" (with *mm
 * filled), or an error. */
static int send_once(pl_client *c, send_state *st, const uint8_t id[16], mismatch *mm)
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

        /* Stale devices: their sessions no longer match; drop them. Whatever the server says,
         * only a new lookup can change the devices we encrypt to (§25 rule 3). */
        for (size_t m = 0; m < s->n_mismatched; m++) {
            const Parley__MismatchedDevices *md = s->mismatched[m];
            int ours = md->username && strcmp(md->username, c->username) == 0;

            for (size_t k = 0; k < md->n_stale; k++)
                (void)pl_cstore_session_delete(c->store, md->username, md->stale[k]);
            if (ours)
                mm->ours = 1;
            else
                mm->theirs = 1;
            if (md->n_missing > 0) {
                mm->odd_device = md->missing[0];
                mm->odd_user = ours ? c->username : st->to;
            }
        }
        r = 1;
    } else if (cl_status(f) != 0) {
        r = cl_refused(c, f, "sending");
    }
    pl_frame_server_free(f);
    return r;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};

    nanosleep(&ts, NULL);
}

int pl_client_send(pl_client *c, const char *to, const char *text, size_t text_len, char id_out[33])
{
    return cl_send_content(c, to, text, text_len, NULL, id_out);
}

int cl_send_content(pl_client *c, const char *to, const char *text, size_t text_len,
                    const Parley__Content *control, char id_out[33])
{
    send_state st;
    cl_device_list theirs, ours;
    cl_kt_state *kt_ours = NULL, *kt_theirs = NULL;
    pl_cstore_message m;
    uint8_t id[16];
    uint64_t sent_at = cl_now_ms();
    int r = PL_CLIENT_E_USAGE, attempt, refresh_ours = 0, refresh_theirs = 0, disagreements = 0;
    int unlogged_waits = 0;
    uint32_t odd_device = 0;
    const char *odd_user = NULL;
    int odd_unlogged =
        0; /* the server names a device the log lacks (else: a logged one it lacks) */

    if (id_out)
        id_out[0] = '\0';
    memset(&st, 0, sizeof st);
    if (strlen(to) > CL_USERNAME_MAX || !*to)
        return cl_fail(c, PL_CLIENT_E_BAD_USERNAME, "\"%s\" is not a username", to);
    for (size_t i = 0; to[i]; i++)
        st.to[i] = (char)((to[i] >= 'A' && to[i] <= 'Z') ? to[i] + 32 : to[i]);
    if (!(kt_ours = malloc(sizeof *kt_ours)) || !(kt_theirs = malloc(sizeof *kt_theirs))) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    randombytes_buf(id, sizeof id);
    for (attempt = 0; attempt < CL_SEND_ATTEMPTS + CL_KT_RETRIES + CL_KT_UNLOGGED_WAITS;
         attempt++) {
        int to_self = strcmp(st.to, c->username) == 0, differs_ours = 0, differs_theirs = 0;
        uint32_t odd = 0;

        targets_free(&st);
        /* Encrypt only to the devices of the verified states (§25): ours and theirs, looked
         * up before the first message and again whenever the server disagrees. */
        r = cl_kt_current(c, c->username, refresh_ours, kt_ours);
        if (r == PL_CLIENT_OK && !to_self)
            r = cl_kt_current(c, st.to, refresh_theirs, kt_theirs);
        if (r == PL_CLIENT_E_KT_UNLOGGED && ++unlogged_waits <= CL_KT_UNLOGGED_WAITS) {
            sleep_ms(CL_KT_RETRY_MS); /* a new account: its first entry may be pending */
            continue;
        }
        if (r != PL_CLIENT_OK)
            goto out;
        cl_kt_to_device_list(kt_ours, &ours);
        if (!to_self) {
            cl_kt_to_device_list(kt_theirs, &theirs);
            if ((r = add_targets(c, &st, st.to, &theirs)) != PL_CLIENT_OK)
                goto out;
        }
        refresh_ours = refresh_theirs = 0;
        if ((r = add_targets(c, &st, c->username, &ours)) != PL_CLIENT_OK)
            goto out;
        if (!to_self && (r = start_sessions(c, &st, st.to, theirs.account_key, &differs_theirs,
                                            &odd)) != PL_CLIENT_OK)
            goto out;
        if (differs_theirs) {
            odd_device = odd;
            odd_user = st.to;
            odd_unlogged = 1;
        }
        if ((r = start_sessions(c, &st, c->username, c->account_key, &differs_ours, &odd)) !=
            PL_CLIENT_OK)
            goto out;
        if (differs_ours) {
            odd_device = odd;
            odd_user = c->username;
            odd_unlogged = 1;
        }
        /* A logged device without a bundle: removed on the server before the log shows it,
         * or it has not published its keys yet. */
        for (size_t i = 0; i < st.n; i++)
            if (!st.t[i].session) {
                if (st.t[i].user == c->username)
                    differs_ours = 1;
                else
                    differs_theirs = 1;
                odd_device = st.t[i].device_id;
                odd_user = st.t[i].user;
                odd_unlogged = 0;
            }
        if (!differs_ours && !differs_theirs) {
            mismatch mm = {0, 0, 0, NULL};

            if (st.n == 0)
                break; /* a note to self with no other device: history only */
            if ((r = encrypt_all(c, &st, id, sent_at, text, text_len, control)) != PL_CLIENT_OK ||
                (r = save_sessions(c, &st)) != PL_CLIENT_OK)
                goto out;
            if ((r = send_once(c, &st, id, &mm)) != 1)
                break;
            differs_ours = mm.ours;
            differs_theirs = mm.theirs;
            if (mm.odd_device) {
                odd_device = mm.odd_device;
                odd_user = mm.odd_user;
                odd_unlogged = 1;
            }
        }
        /* The server and the log disagree: look up again; a new entry may be pending (the
         * server publishes about 1 s after a change), so wait from the second time on. */
        if (++disagreements > CL_KT_RETRIES)
            break;
        if (disagreements > 1)
            sleep_ms(CL_KT_RETRY_MS);
        refresh_ours = differs_ours;
        refresh_theirs = differs_theirs;
        r = 1;
    }
    if (r == 1 || disagreements > CL_KT_RETRIES) {
        if (odd_device && odd_unlogged) {
            pl_cstore_kt_evidence ev;
            char note[448];

            snprintf(note, sizeof note, "device %u of %s: named by %s, not in the verified state\n",
                     odd_device, odd_user, c->server);
            ev = (pl_cstore_kt_evidence){"device.txt", (const uint8_t *)note, strlen(note)};
            r = cl_kt_alert(c, PL_CLIENT_E_KT_UNLOGGED, odd_user, CL_KT_ALERT_UNLOGGED, 0, &ev, 1,
                            "%s insists on device %u of %s, which the key-transparency log does "
                            "not show: not sending to it",
                            c->server, odd_device, odd_user);
        } else if (odd_device) {
            r = cl_fail(c, PL_CLIENT_E_NO_DEVICES,
                        "device %u of %s has not published its keys yet; try again later",
                        odd_device, odd_user);
        } else {
            r = cl_fail(c, PL_CLIENT_E_REFUSED,
                        "the device lists kept changing while sending to %s; try again", st.to);
        }
    }
    if (r != PL_CLIENT_OK || control) /* a receipt or group control is not in the history */
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
    r = PL_CLIENT_OK;
out:
    if (r == PL_CLIENT_OK && id_out)
        cl_hex(id, sizeof id, id_out);
    targets_free(&st);
    free(kt_ours);
    free(kt_theirs);
    return r;
}
