/*
 * client_recv.c: receiving (client.h): envelopes pushed by parleyd are decrypted, stored and
 * only then acknowledged.
 *
 * For one envelope, in this order:
 *   1. a seq already processed (a crash came between our commit and the server's Ack) is
 *      acknowledged again and nothing else happens: the ratchet would refuse it as a replay;
 *   2. the sender device's record (verified under its account key) gives the identity key the
 *      session must have: a prekey message naming another key is refused;
 *   3. decrypt with the stored session, or for a prekey message of a new X3DH run start the
 *      session from our signed and one-time prekeys (the one-time prekey is then deleted);
 *   4. ONE transaction: the session state, the message (deduplicated by its id), the seq as
 *      processed, the used one-time prekey gone; committed before the Ack is sent;
 *   5. the message is shown (callback) and its seq acknowledged.
 * An envelope that cannot be decrypted is recorded as a notice in the sender's conversation
 * and acknowledged, so it is not redelivered for ever.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "client_internal.h"
#include "content.pb-c.h"

#define ACK_BATCH 64u
#define LISTEN_POLL_MS 250u
#define LISTEN_PING_MS 30000u
#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 60000u
#define DRAIN_MS 300u

typedef struct recv_state {
    pl_client_message_cb cb;
    void *ctx;
    uint64_t acks[ACK_BATCH];
    size_t n_acks;
    size_t shown;
    int drained; /* one short wait for pushes already on their way was made */
    int stop;    /* the callback asked to stop */
} recv_state;

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int flush_acks(pl_client *c, recv_state *rs)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__Ack ack = PARLEY__ACK__INIT;
    Parley__ServerFrame *f = NULL;
    uint64_t top = 0;
    int r;

    if (rs->n_acks == 0)
        return PL_CLIENT_OK;
    ack.seqs = rs->acks;
    ack.n_seqs = rs->n_acks;
    req.body_case = PARLEY__REQUEST__BODY_ACK;
    req.ack = &ack;
    if ((r = cl_request(c, &req, &f)) != PL_CLIENT_OK)
        return r;
    r = cl_status(f) == 0 ? PL_CLIENT_OK : cl_refused(c, f, "acknowledging");
    pl_frame_server_free(f);
    if (r == PL_CLIENT_OK) {
        for (size_t i = 0; i < rs->n_acks; i++)
            top = rs->acks[i] > top ? rs->acks[i] : top;
        (void)pl_cstore_seen_prune(c->store, top);
        rs->n_acks = 0;
    }
    return r;
}

static int queue_ack(pl_client *c, recv_state *rs, uint64_t seq)
{
    rs->acks[rs->n_acks++] = seq;
    return rs->n_acks == ACK_BATCH ? flush_acks(c, rs) : PL_CLIENT_OK;
}

/* The identity key of (user, device) from its verified record, fetching the list if the
 * device is not known yet. Returns 1 and key, or 0. */
static int device_identity(pl_client *c, const char *user, uint32_t device_id,
                           uint8_t key[PL_PUBKEY_BYTES])
{
    pl_cstore_device devs[CL_DEVICES_MAX];
    pl_device_record rec;
    pl_cstore_contact ct;
    cl_device_list dl;
    size_t n = 0;

    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            int r = cl_fetch_devices(c, user, &dl);

            if (r != PL_CLIENT_OK && r != PL_CLIENT_E_KEY_CHANGED)
                return 0;
        }
        if (pl_cstore_devices_get(c->store, user, devs, &n) != PL_CSTORE_OK)
            continue;
        if (strcmp(user, c->username) == 0)
            memcpy(ct.account_key, c->account_key, PL_PUBKEY_BYTES);
        else if (pl_cstore_contact_get(c->store, user, &ct) != PL_CSTORE_OK)
            continue;
        for (size_t i = 0; i < n; i++)
            if (devs[i].device_id == device_id &&
                pl_device_record_verify(devs[i].record, sizeof devs[i].record, ct.account_key,
                                        &rec) == PL_OK) {
                memcpy(key, rec.identity_key, PL_PUBKEY_BYTES);
                return 1;
            }
    }
    return 0;
}

static pl_session *stored_session(pl_client *c, const char *user, uint32_t device_id)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    pl_session *s = NULL;

    if (pl_cstore_session_get(c->store, user, device_id, &blob, &len) != PL_CSTORE_OK)
        return NULL;
    if (pl_session_load(&s, blob, len) != PL_OK)
        s = NULL;
    pl_cstore_free_secret(blob, len);
    return s;
}

/* Loads one of our prekeys by name. */
static int load_spk(pl_client *c, uint32_t id, pl_signed_prekey **out)
{
    char name[32];
    uint8_t *blob = NULL;
    size_t len = 0;
    int r;

    snprintf(name, sizeof name, "spk/%u", id);
    if (pl_cstore_secret_get(c->store, name, &blob, &len) != PL_CSTORE_OK)
        return -1;
    r = pl_signed_prekey_load(out, blob, len);
    pl_cstore_free_secret(blob, len);
    return r == PL_OK ? 0 : -1;
}

static int load_otk(pl_client *c, uint32_t id, pl_onetime_prekey **out)
{
    char name[32];
    uint8_t *blob = NULL;
    size_t len = 0;
    int r;

    snprintf(name, sizeof name, "otk/%u", id);
    if (pl_cstore_secret_get(c->store, name, &blob, &len) != PL_CSTORE_OK)
        return -1;
    r = pl_onetime_prekey_load(out, blob, len);
    pl_cstore_free_secret(blob, len);
    return r == PL_OK ? 0 : -1;
}

/* Decrypts env into pt (cap >= ciphertext length). On success *session is the session to
 * save and *used_otk the one-time prekey id consumed (0 if none). Returns NULL, or a reason
 * the envelope cannot be read. */
static const char *decrypt(pl_client *c, const Parley__Envelope *env, pl_session **session,
                           uint32_t *used_otk, uint8_t *pt, size_t cap, size_t *pt_len)
{
    const uint8_t *ct = env->ciphertext.data;
    size_t len = env->ciphertext.len;
    uint8_t identity[PL_PUBKEY_BYTES], peer[PL_PUBKEY_BYTES];
    pl_prekey_message_info info;
    pl_signed_prekey *spk = NULL;
    pl_onetime_prekey *otk = NULL;
    pl_session *s;
    int kind = pl_message_kind(ct, len), r;

    *session = NULL;
    *used_otk = 0;
    if (!device_identity(c, env->sender, env->sender_device, identity))
        return "its sender device is not a verified device of that account";
    s = stored_session(c, env->sender, env->sender_device);
    if (s) {
        pl_session_peer_identity(s, peer);
        if (sodium_memcmp(peer, identity, PL_PUBKEY_BYTES) != 0) {
            pl_session_free(s);
            s = NULL;
        }
    }
    if (kind == PL_MSG_RATCHET) {
        if (!s)
            return "there is no session with its sender device";
        if (pl_session_decrypt(s, NULL, ct, len, pt, cap, pt_len) != PL_OK) {
            pl_session_free(s);
            return "it does not decrypt";
        }
        *session = s;
        return NULL;
    }
    if (kind != PL_MSG_PREKEY || pl_prekey_message_parse(ct, len, &info) != PL_OK) {
        pl_session_free(s);
        return "it is malformed";
    }
    if (sodium_memcmp(info.sender_identity_key, identity, PL_PUBKEY_BYTES) != 0) {
        pl_session_free(s);
        return "it names a device key its account did not sign";
    }
    if (s) {
        r = pl_session_decrypt(s, NULL, ct, len, pt, cap, pt_len);
        if (r == PL_OK) {
            *session = s;
            return NULL;
        }
        pl_session_free(s);
        if (r != PL_E_SESSION_MISMATCH)
            return "it does not decrypt";
    }
    /* A new X3DH run: start the session from our prekeys. */
    if (load_spk(c, info.signed_prekey_id, &spk) != 0)
        return "it uses a signed prekey we do not have";
    if (info.has_onetime_prekey && load_otk(c, info.onetime_prekey_id, &otk) != 0) {
        pl_signed_prekey_free(spk);
        return "it uses a one-time prekey we do not have (already used?)";
    }
    r = pl_session_accept(session, NULL, c->device, spk, otk, ct, len, pt, cap, pt_len);
    pl_signed_prekey_free(spk);
    pl_onetime_prekey_free(otk);
    if (r != PL_OK)
        return "it does not decrypt";
    if (info.has_onetime_prekey)
        *used_otk = info.onetime_prekey_id;
    return NULL;
}

/* The test hook of docs/CLIENT.md: die between the commit and the Ack. */
static void crash_point(void)
{
    const char *v = getenv("PARLEY_TEST_CRASH_BEFORE_ACK");

    if (v && strcmp(v, "1") == 0)
        _exit(99);
}

static int commit_undecryptable(pl_client *c, const Parley__Envelope *env, const char *why)
{
    char text[256];
    int r;

    snprintf(text, sizeof text, "A message from device %u could not be read: %s.",
             env->sender_device, why);
    if ((r = pl_cstore_begin(c->store)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "recording a message");
    if ((r = cl_notice(c, env->sender, text)) != PL_CLIENT_OK ||
        (r = pl_cstore_seen_add(c->store, env->seq)) != PL_CSTORE_OK) {
        pl_cstore_rollback(c->store);
        return r < 0 && r > -20 ? cl_store_fail(c, r, "recording a message") : r;
    }
    if ((r = pl_cstore_commit(c->store)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "recording a message");
    return PL_CLIENT_OK;
}

static int handle_envelope(pl_client *c, recv_state *rs, const Parley__Envelope *env)
{
    Parley__Content *content = NULL;
    pl_session *session = NULL;
    pl_cstore_message m;
    uint8_t *pt = NULL, *blob = NULL;
    size_t pt_len = 0, cap = env->ciphertext.len + 16, blob_len = 0;
    uint32_t used_otk = 0;
    const char *why;
    int r, fresh;

    if ((r = pl_cstore_seen_has(c->store, env->seq)) == 1)
        return queue_ack(c, rs, env->seq);
    if (r < 0)
        return cl_store_fail(c, r, "reading processed messages");
    if (env->group) { /* a sender-key message (client_group_msg.c) */
        int stop = 0;

        r = cl_group_receive(c, env, rs->cb, rs->ctx, &stop);
        rs->stop |= stop;
        rs->shown++;
        return r == PL_CLIENT_OK ? queue_ack(c, rs, env->seq) : r;
    }
    if (!(pt = malloc(cap)))
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    why = decrypt(c, env, &session, &used_otk, pt, cap, &pt_len);
    if (!why) {
        if (cl_content_parse(pt, pt_len, &content) != 0)
            why = "its content is malformed";
    }
    if (why) {
        r = commit_undecryptable(c, env, why);
        goto out;
    }
    memset(&m, 0, sizeof m);
    memcpy(m.id, content->message_id.data, 16);
    if (strcmp(env->sender, c->username) == 0) {
        /* A copy of what another of our devices sent. */
        m.kind = PL_CSTORE_MSG_OUT;
        snprintf(m.peer, sizeof m.peer, "%s", *content->sent_to ? content->sent_to : c->username);
    } else {
        m.kind = PL_CSTORE_MSG_IN;
        snprintf(m.peer, sizeof m.peer, "%s", env->sender);
    }
    m.device_id = env->sender_device;
    m.sent_at_ms = content->sent_at_ms;
    m.received_at_ms = cl_now_ms();
    m.body = (uint8_t *)content->text;
    m.body_len = strlen(content->text);
    blob_len = pl_session_saved_size(session);
    if (!(blob = malloc(blob_len)) ||
        pl_session_save(session, blob, blob_len, &blob_len) != PL_OK) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "cannot save a session");
        goto out;
    }
    /* One transaction: session, message, seq, used prekey. Then the Ack. */
    if ((r = pl_cstore_begin(c->store)) != PL_CSTORE_OK) {
        r = cl_store_fail(c, r, "storing a message");
        goto out;
    }
    r = pl_cstore_session_put(c->store, env->sender, env->sender_device, blob, blob_len);
    if (r == PL_CSTORE_OK && used_otk) {
        char name[32];

        snprintf(name, sizeof name, "otk/%u", used_otk);
        r = pl_cstore_secret_delete(c->store, name);
        if (r == PL_CSTORE_E_NOT_FOUND)
            r = PL_CSTORE_OK;
    }
    if (r == PL_CSTORE_OK)
        r = pl_cstore_seen_add(c->store, env->seq);
    fresh = 0;
    if (r == PL_CSTORE_OK) {
        if (content->receipt)
            fresh = cl_receipt_apply(c, env->sender, content);
        else if (content->group_update || content->group_sender_key)
            fresh = 1; /* applied after the commit (it may look members up) */
        else
            fresh = cl_store_message(c, &m);
        r = fresh < 0 ? PL_CSTORE_E_IO : PL_CSTORE_OK;
    }
    /* A file is fetched later (pl_client_fetch_files); recorded with its message. The copy of
     * one our other device sent too: it counted us in the blob's expected fetches (§27.4).
     * Only a message's: a receipt or group control carrying one is not shown, nor fetched. */
    if (r == PL_CSTORE_OK && fresh && content->attachment && !content->receipt &&
        !content->group_update && !content->group_sender_key)
        r = cl_attach_record_incoming(c, m.id, env->sender, content->attachment);
    if (r == PL_CSTORE_OK)
        r = pl_cstore_commit(c->store);
    if (r != PL_CSTORE_OK) {
        pl_cstore_rollback(c->store);
        r = cl_store_fail(c, r, "storing a message");
        goto out;
    }
    crash_point();
    if (fresh && content->receipt) {
        cl_receipt_report(c, env->sender, env->sender_device, content);
    } else if (fresh && (content->group_update || content->group_sender_key)) {
        cl_group_control(c, env->sender, env->sender_device, content);
    } else if (fresh) {
        if (m.kind == PL_CSTORE_MSG_IN)
            cl_receipt_queue(c, m.peer, m.id); /* a receipt for a message, never for a receipt */
        rs->shown++;
        if (cl_show_message(c, &m, rs->cb, rs->ctx))
            rs->stop = 1;
    }
    r = PL_CLIENT_OK;
out:
    if (r == PL_CLIENT_OK)
        r = queue_ack(c, rs, env->seq);
    parley__content__free_unpacked(content, NULL);
    pl_session_free(session);
    if (pt)
        sodium_memzero(pt, cap);
    free(pt);
    if (blob)
        sodium_memzero(blob, blob_len);
    free(blob);
    return r;
}

/* PrekeysLow: the push may be old (we may have refilled since), so ask for the stock. */
static int refill_prekeys(pl_client *c, uint32_t max)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__PrekeyStatus ps = PARLEY__PREKEY_STATUS__INIT;
    Parley__ServerFrame *f = NULL;
    uint32_t have, target = max && max < CL_OTK_STOCK ? max : CL_OTK_STOCK;
    int r;

    req.body_case = PARLEY__REQUEST__BODY_PREKEY_STATUS;
    req.prekey_status = &ps;
    if ((r = cl_request(c, &req, &f)) != PL_CLIENT_OK)
        return r;
    if (cl_status(f) != 0) {
        r = cl_refused(c, f, "reading the prekey stock");
        pl_frame_server_free(f);
        return r;
    }
    have = f->response->prekey_status->onetime_prekeys;
    pl_frame_server_free(f);
    return have < target ? cl_upload_prekeys(c, 0, target - have) : PL_CLIENT_OK;
}

/* Handles one push. *queue_empty is set when the backlog has been pushed. */
static int handle_push(pl_client *c, recv_state *rs, const Parley__Push *p, int *queue_empty)
{
    switch (p->kind_case) {
    case PARLEY__PUSH__KIND_ENVELOPE:
        return handle_envelope(c, rs, p->envelope);
    case PARLEY__PUSH__KIND_PREKEYS_LOW:
        return refill_prekeys(c, p->prekeys_low->max);
    case PARLEY__PUSH__KIND_QUEUE_EMPTY:
        *queue_empty = 1;
        c->backlog_done = 1;
        return PL_CLIENT_OK;
    default:
        return PL_CLIENT_OK; /* a push kind this client does not know */
    }
}

/* Waits for and handles one push. Returns PL_CLIENT_OK, E_TIMEOUT, or an error. */
static int pump(pl_client *c, recv_state *rs, unsigned timeout_ms, int *queue_empty)
{
    Parley__ServerFrame *f = NULL;
    int r;

    if (rs->n_acks && (r = flush_acks(c, rs)) != PL_CLIENT_OK)
        return r;
    r = pl_cconn_next_push(c->conn, &f, timeout_ms);
    if (r == PL_CLIENT_E_TIMEOUT)
        return r;
    if (r != PL_CLIENT_OK) {
        r = cl_fail(c, r, "%s: %s", c->server, pl_cconn_error(c->conn));
        cl_disconnect(c);
        return r;
    }
    r = handle_push(c, rs, f->push, queue_empty);
    pl_frame_server_free(f);
    return r;
}

int pl_client_receive(pl_client *c, int wait_ms, pl_client_message_cb cb, void *ctx)
{
    recv_state rs = {.cb = cb, .ctx = ctx};
    uint64_t deadline = mono_ms() + (uint64_t)(wait_ms > 0 ? wait_ms : 0);
    int r, queue_empty = 0;

    (void)pl_client_kt_monitor(c, 1); /* owner monitoring (client_kt.c): alerts, not errors */
    if ((r = cl_connect(c)) != PL_CLIENT_OK)
        return r;
    /* The backlog first: everything stored before we connected, then QueueEmpty (once per
     * connection: on a connection that already had it, what is pending is already queued or
     * on its way, and the drain below takes it). */
    while (!c->backlog_done && !queue_empty && !rs.stop) {
        r = pump(c, &rs, CL_REQUEST_TIMEOUT_MS, &queue_empty);
        if (r == PL_CLIENT_E_TIMEOUT)
            r = cl_fail(c, PL_CLIENT_E_UNREACHABLE, "%s stopped sending", c->server);
        if (r != PL_CLIENT_OK)
            return r;
    }
    /* Nothing pending: wait for the first message, then take what follows it promptly. */
    while (!rs.stop) {
        uint64_t now = mono_ms();
        unsigned wait;

        if (rs.shown > 0)
            wait = DRAIN_MS; /* after a message, take what follows it promptly */
        else if (now < deadline)
            wait = (unsigned)(deadline - now);
        else if (!rs.drained) {
            wait = DRAIN_MS; /* one short look for pushes on their way */
            rs.drained = 1;
        } else {
            break;
        }
        r = pump(c, &rs, wait, &queue_empty);
        if (r == PL_CLIENT_E_TIMEOUT)
            break;
        if (r != PL_CLIENT_OK)
            return r;
    }
    if ((r = flush_acks(c, &rs)) == PL_CLIENT_OK) {
        cl_group_flush_joins(c);                         /* after the backlog: see client_group.c */
        cl_receipt_flush(c, PL_CLIENT_STATUS_DELIVERED); /* stored: delivered (§28) */
    }
    return r;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};

    nanosleep(&ts, NULL);
}

int pl_client_listen(pl_client *c, volatile sig_atomic_t *stop, pl_client_message_cb cb, void *ctx)
{
    recv_state rs = {.cb = cb, .ctx = ctx};
    unsigned backoff = BACKOFF_MIN_MS;
    uint64_t last_ping = mono_ms();
    int r, queue_empty = 0;

    while (!*stop && !rs.stop) {
        if (!c->conn || !c->authenticated) {
            (void)pl_client_kt_monitor(c, 0); /* owner monitoring, at least daily */
            if ((r = cl_connect(c)) != PL_CLIENT_OK) {
                if (r != PL_CLIENT_E_UNREACHABLE)
                    return r; /* not a network problem: retrying will not help */
                if (c->notice)
                    c->notice(c->notice_ctx, c->server, c->err);
                for (unsigned waited = 0; waited < backoff && !*stop; waited += LISTEN_POLL_MS)
                    sleep_ms(LISTEN_POLL_MS);
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            backoff = BACKOFF_MIN_MS;
            last_ping = mono_ms();
        }
        r = pump(c, &rs, LISTEN_POLL_MS, &queue_empty);
        if (r == PL_CLIENT_E_TIMEOUT) {
            /* Idle: what was shown since is read (§28). */
            if (c->n_pending && flush_acks(c, &rs) == PL_CLIENT_OK)
                cl_receipt_flush(c, PL_CLIENT_STATUS_READ);
            if (c->group_joined)
                cl_group_flush_joins(c);  /* idle: what was waiting is processed */
            cl_attach_fetch_when_idle(c); /* files of what was shown (--save-dir) */
            if (mono_ms() - last_ping >= LISTEN_PING_MS) {
                Parley__Request req = PARLEY__REQUEST__INIT;
                Parley__Ping ping = PARLEY__PING__INIT;
                Parley__ServerFrame *f = NULL;

                req.body_case = PARLEY__REQUEST__BODY_PING;
                req.ping = &ping;
                if (cl_request(c, &req, &f) == PL_CLIENT_OK)
                    pl_frame_server_free(f);
                last_ping = mono_ms();
                (void)pl_client_kt_monitor(c, 0); /* a lookup once its last is a day old */
            }
            continue;
        }
        if (r == PL_CLIENT_E_UNREACHABLE || r == PL_CLIENT_E_PROTOCOL) {
            cl_disconnect(c); /* reconnect with backoff */
            continue;
        }
        if (r != PL_CLIENT_OK)
            return r;
    }
    r = flush_acks(c, &rs);
    if (r == PL_CLIENT_OK)
        cl_receipt_flush(c, PL_CLIENT_STATUS_READ);
    return r == PL_CLIENT_OK || r == PL_CLIENT_E_UNREACHABLE ? PL_CLIENT_OK : r;
}
