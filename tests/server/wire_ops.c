/*
 * wire_ops.c: the wire protocol's requests, one call each (see wire_ops.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "frame.h"
#include "wire_ops.h"

#define BIN(p, n) ((ProtobufCBinaryData){.len = (n), .data = (uint8_t *)(p)})

/* Sends req and returns its status (or a WC_* failure). */
static int call(wc_conn *c, Parley__Request *req, Parley__ServerFrame **out)
{
    Parley__ServerFrame *f = NULL;
    int r = wc_request(c, req, &f, WC_TIMEOUT_MS);

    if (out)
        *out = NULL;
    if (r != WC_OK) {
        fprintf(stderr, "[wire_ops] request %d: %s %s\n", (int)req->body_case, wc_name(r),
                wc_error(c));
        return r;
    }
    r = wc_status(f);
    if (out)
        *out = f;
    else
        pl_frame_server_free(f);
    return r;
}

/*
 * The account state a change carries (PROTOCOL.md §24.3): built from the live wi_account of
 * that name when one can be made, else filler of a valid length (the request is meant to be
 * refused for another reason: an unknown user, a bad record or signature), so the frame
 * check passes and the server's own order of checks decides. Returns the account to update
 * on OK, or NULL.
 */
static wi_account *next_state(const char *username, const uint8_t *add_record, uint32_t remove_id,
                              uint8_t state[PL_ACCOUNT_STATE_MAX_BYTES], size_t *len)
{
    wi_account *a = wi_account_find(username);

    if (a && wi_next_state(a, add_record, remove_id, state, len) == 0)
        return a;
    memset(state, 0, PL_ACCOUNT_STATE_MAX_BYTES);
    *len = PL_ACCOUNT_STATE_BYTES(1);
    return NULL;
}

static int call_with_state(wc_conn *c, Parley__Request *req, wi_account *a, const uint8_t *state,
                           size_t len)
{
    int r = call(c, req, NULL);

    if (r == PARLEY__STATUS_CODE__STATUS_OK && a)
        wi_accept_state(a, state, len);
    return r;
}

int wo_register(wc_conn *c, const char *username, const uint8_t account_key[PL_PUBKEY_BYTES],
                const uint8_t record[PL_DEVICE_RECORD_BYTES])
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__RegisterAccount body = PARLEY__REGISTER_ACCOUNT__INIT;
    static uint8_t state[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t len = 0;
    wi_account *a = wi_account_find_key(account_key);
    size_t had = a ? a->state_len : 0;

    /* A registration's state is seq 0, whatever the test account did before (a test may
     * register a taken name again, or another spelling of it). */
    if (a) {
        a->state_len = 0;
        if (wi_next_state(a, record, 0, state, &len) != 0)
            len = 0;
        a->state_len = had;
    }
    if (!len) {
        a = NULL;
        memset(state, 0, sizeof state);
        len = PL_ACCOUNT_STATE_BYTES(1);
    }
    if (a && had)
        a = NULL; /* already registered: an OK here would be a new account, not this one */
    body.username = (char *)username;
    body.account_key = BIN(account_key, PL_PUBKEY_BYTES);
    body.device_record = BIN(record, PL_DEVICE_RECORD_BYTES);
    body.account_state = BIN(state, len);
    req.body_case = PARLEY__REQUEST__BODY_REGISTER_ACCOUNT;
    req.register_account = &body;
    return call_with_state(c, &req, a, state, len);
}

int wo_register_account(wc_conn *c, const wi_account *a)
{
    return wo_register(c, a->username, a->account_key, a->devices[0].record);
}

int wo_add_device(wc_conn *c, const char *username, const uint8_t record[PL_DEVICE_RECORD_BYTES])
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__AddDevice body = PARLEY__ADD_DEVICE__INIT;

    static uint8_t state[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t len = 0;
    wi_account *a = next_state(username, record, 0, state, &len);

    body.username = (char *)username;
    body.device_record = BIN(record, PL_DEVICE_RECORD_BYTES);
    body.account_state = BIN(state, len);
    req.body_case = PARLEY__REQUEST__BODY_ADD_DEVICE;
    req.add_device = &body;
    return call_with_state(c, &req, a, state, len);
}

int wo_add_device_with_state(wc_conn *c, const char *username,
                             const uint8_t record[PL_DEVICE_RECORD_BYTES], const uint8_t *state,
                             size_t len)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__AddDevice body = PARLEY__ADD_DEVICE__INIT;

    body.username = (char *)username;
    body.device_record = BIN(record, PL_DEVICE_RECORD_BYTES);
    body.account_state = BIN(state, len);
    req.body_case = PARLEY__REQUEST__BODY_ADD_DEVICE;
    req.add_device = &body;
    return call(c, &req, NULL);
}

int wo_remove_device_with_state(wc_conn *c, const char *username, uint32_t device_id,
                                const uint8_t sig[64], const uint8_t *state, size_t len)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__RemoveDevice body = PARLEY__REMOVE_DEVICE__INIT;

    body.username = (char *)username;
    body.device_id = device_id;
    body.signature = BIN(sig, 64);
    body.account_state = BIN(state, len);
    req.body_case = PARLEY__REQUEST__BODY_REMOVE_DEVICE;
    req.remove_device = &body;
    return call(c, &req, NULL);
}

int wo_remove_device(wc_conn *c, const char *username, uint32_t device_id, const uint8_t sig[64])
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__RemoveDevice body = PARLEY__REMOVE_DEVICE__INIT;

    static uint8_t state[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t len = 0;
    wi_account *a = next_state(username, NULL, device_id, state, &len);

    body.username = (char *)username;
    body.device_id = device_id;
    body.signature = BIN(sig, 64);
    body.account_state = BIN(state, len);
    req.body_case = PARLEY__REQUEST__BODY_REMOVE_DEVICE;
    req.remove_device = &body;
    return call_with_state(c, &req, a, state, len);
}

int wo_list_devices(wc_conn *c, const char *username, Parley__ServerFrame **out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__ListDevices body = PARLEY__LIST_DEVICES__INIT;

    body.username = (char *)username;
    req.body_case = PARLEY__REQUEST__BODY_LIST_DEVICES;
    req.list_devices = &body;
    return call(c, &req, out);
}

int wo_challenge(wc_conn *c, uint8_t challenge[32])
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__AuthChallengeRequest body = PARLEY__AUTH_CHALLENGE_REQUEST__INIT;
    Parley__ServerFrame *f = NULL;
    int r;

    req.body_case = PARLEY__REQUEST__BODY_AUTH_CHALLENGE;
    req.auth_challenge = &body;
    if ((r = call(c, &req, &f)) == PARLEY__STATUS_CODE__STATUS_OK) {
        if (f->response->body_case != PARLEY__RESPONSE__BODY_AUTH_CHALLENGE)
            r = WC_ERROR;
        else
            memcpy(challenge, f->response->auth_challenge->challenge.data, 32);
    }
    pl_frame_server_free(f);
    return r;
}

int wo_proof(wc_conn *c, const char *username, uint32_t device_id, const uint8_t sig[64],
             Parley__ServerFrame **out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__AuthProof body = PARLEY__AUTH_PROOF__INIT;

    body.username = (char *)username;
    body.device_id = device_id;
    body.signature = BIN(sig, 64);
    req.body_case = PARLEY__REQUEST__BODY_AUTH_PROOF;
    req.auth_proof = &body;
    return call(c, &req, out);
}

int wo_auth(wc_conn *c, const wi_account *a, const wi_device *d)
{
    uint8_t challenge[32], exporter[PL_TLS_EXPORTER_BYTES], sig[64];
    int r;

    if ((r = wo_challenge(c, challenge)) != PARLEY__STATUS_CODE__STATUS_OK)
        return r;
    if (wc_exporter(c, exporter) != WC_OK)
        return WC_ERROR;
    wi_auth_signature(d, challenge, exporter, a->username, sig);
    return wo_proof(c, a->username, d->id, sig, NULL);
}

int wo_upload_signed_prekey(wc_conn *c, const uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES])
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__UploadSignedPrekey body = PARLEY__UPLOAD_SIGNED_PREKEY__INIT;

    body.signed_prekey = BIN(spk, PL_SIGNED_PREKEY_PUBLIC_BYTES);
    req.body_case = PARLEY__REQUEST__BODY_UPLOAD_SIGNED_PREKEY;
    req.upload_signed_prekey = &body;
    return call(c, &req, NULL);
}

int wo_upload_onetime_prekeys(wc_conn *c, uint32_t first_id, size_t n, Parley__ServerFrame **out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__UploadOnetimePrekeys body = PARLEY__UPLOAD_ONETIME_PREKEYS__INIT;
    uint8_t(*keys)[PL_ONETIME_PREKEY_PUBLIC_BYTES] = calloc(n ? n : 1, sizeof *keys);
    ProtobufCBinaryData *bins = calloc(n ? n : 1, sizeof *bins);
    int r;

    if (!keys || !bins)
        fail_msg("out of memory");
    for (size_t i = 0; i < n; i++) {
        wi_onetime_prekey(first_id + (uint32_t)i, keys[i]);
        bins[i] = BIN(keys[i], PL_ONETIME_PREKEY_PUBLIC_BYTES);
    }
    body.n_onetime_prekeys = n;
    body.onetime_prekeys = bins;
    req.body_case = PARLEY__REQUEST__BODY_UPLOAD_ONETIME_PREKEYS;
    req.upload_onetime_prekeys = &body;
    r = call(c, &req, out);
    free(keys);
    free(bins);
    return r;
}

int wo_prekey_status(wc_conn *c, Parley__ServerFrame **out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__PrekeyStatus body = PARLEY__PREKEY_STATUS__INIT;

    req.body_case = PARLEY__REQUEST__BODY_PREKEY_STATUS;
    req.prekey_status = &body;
    return call(c, &req, out);
}

int wo_fetch_bundles(wc_conn *c, const char *username, Parley__ServerFrame **out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__FetchBundles body = PARLEY__FETCH_BUNDLES__INIT;

    body.username = (char *)username;
    req.body_case = PARLEY__REQUEST__BODY_FETCH_BUNDLES;
    req.fetch_bundles = &body;
    return call(c, &req, out);
}

int wo_ping(wc_conn *c)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__Ping body = PARLEY__PING__INIT;

    req.body_case = PARLEY__REQUEST__BODY_PING;
    req.ping = &body;
    return call(c, &req, NULL);
}

int wo_link_put(wc_conn *c, const uint8_t *rdv, size_t rdv_len, uint32_t slot, const uint8_t *blob,
                size_t blob_len)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__LinkPut body = PARLEY__LINK_PUT__INIT;

    body.rendezvous.data = (uint8_t *)rdv;
    body.rendezvous.len = rdv_len;
    body.slot = slot;
    body.blob.data = (uint8_t *)blob;
    body.blob.len = blob_len;
    req.body_case = PARLEY__REQUEST__BODY_LINK_PUT;
    req.link_put = &body;
    return call(c, &req, NULL);
}

int wo_link_get(wc_conn *c, const uint8_t *rdv, size_t rdv_len, uint32_t slot, uint8_t *out,
                size_t cap, size_t *len)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__LinkGet body = PARLEY__LINK_GET__INIT;
    Parley__ServerFrame *f = NULL;
    int r;

    *len = 0;
    body.rendezvous.data = (uint8_t *)rdv;
    body.rendezvous.len = rdv_len;
    body.slot = slot;
    req.body_case = PARLEY__REQUEST__BODY_LINK_GET;
    req.link_get = &body;
    if ((r = call(c, &req, &f)) == PARLEY__STATUS_CODE__STATUS_OK) {
        if (f->response->body_case != PARLEY__RESPONSE__BODY_LINK_GET ||
            f->response->link_get->blob.len > cap) {
            r = WC_ERROR;
        } else {
            memcpy(out, f->response->link_get->blob.data, f->response->link_get->blob.len);
            *len = f->response->link_get->blob.len;
        }
    }
    pl_frame_server_free(f);
    return r;
}

int wo_ack(wc_conn *c, const uint64_t *seqs, size_t n)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__Ack body = PARLEY__ACK__INIT;

    body.n_seqs = n;
    body.seqs = (uint64_t *)seqs;
    req.body_case = PARLEY__REQUEST__BODY_ACK;
    req.ack = &body;
    return call(c, &req, NULL);
}

int wo_send(wc_conn *c, const char *recipient, const wo_ct *rcpt, size_t n_rcpt, const wo_ct *snd,
            size_t n_snd, const uint8_t msg_id[16], Parley__ServerFrame **out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__Send body = PARLEY__SEND__INIT;
    Parley__DeviceCiphertext cts[2 * WI_MAX_DEVICES];
    Parley__DeviceCiphertext *rp[WI_MAX_DEVICES], *sp[WI_MAX_DEVICES];

    if (n_rcpt > WI_MAX_DEVICES || n_snd > WI_MAX_DEVICES)
        fail_msg("wo_send: too many ciphertexts for the test client");
    for (size_t i = 0; i < n_rcpt + n_snd; i++) {
        const wo_ct *w = i < n_rcpt ? &rcpt[i] : &snd[i - n_rcpt];

        parley__device_ciphertext__init(&cts[i]);
        cts[i].device_id = w->device_id;
        cts[i].identity_key = BIN(w->identity_key, PL_PUBKEY_BYTES);
        cts[i].ciphertext = BIN(w->ciphertext, w->len);
        if (i < n_rcpt)
            rp[i] = &cts[i];
        else
            sp[i - n_rcpt] = &cts[i];
    }
    body.recipient = (char *)recipient;
    body.n_recipient_devices = n_rcpt;
    body.recipient_devices = rp;
    body.n_sender_devices = n_snd;
    body.sender_devices = sp;
    body.client_message_id = BIN(msg_id, 16);
    req.body_case = PARLEY__REQUEST__BODY_SEND;
    req.send = &body;
    return call(c, &req, out);
}

int wo_send_text(wc_conn *c, const wi_account *from, uint32_t from_device, const wi_account *to,
                 const char *text, const uint8_t *msg_id, Parley__ServerFrame **out)
{
    wo_ct rcpt[WI_MAX_DEVICES], snd[WI_MAX_DEVICES];
    size_t nr = 0, ns = 0;
    uint8_t id[16];

    if (msg_id)
        memcpy(id, msg_id, sizeof id);
    else
        randombytes_buf(id, sizeof id);
    for (size_t i = 0; i < to->n_devices; i++) {
        if (to->devices[i].removed)
            continue;
        rcpt[nr++] = (wo_ct){to->devices[i].id, to->devices[i].identity_key, (const uint8_t *)text,
                             strlen(text)};
    }
    for (size_t i = 0; i < from->n_devices; i++) {
        if (from->devices[i].removed || from->devices[i].id == from_device)
            continue;
        snd[ns++] = (wo_ct){from->devices[i].id, from->devices[i].identity_key,
                            (const uint8_t *)text, strlen(text)};
    }
    return wo_send(c, to->username, rcpt, nr, snd, ns, id, out);
}

int wo_next_envelope(wc_conn *c, Parley__ServerFrame **out, unsigned timeout_ms)
{
    for (int i = 0; i < 1000; i++) {
        int r = wc_next_push(c, out, timeout_ms);

        if (r != WC_OK)
            return r;
        if ((*out)->push->kind_case == PARLEY__PUSH__KIND_ENVELOPE)
            return WC_OK;
        pl_frame_server_free(*out);
        *out = NULL;
    }
    return WC_ERROR;
}

int wo_expect_queue_empty(wc_conn *c, unsigned timeout_ms)
{
    for (int i = 0; i < 100; i++) {
        Parley__ServerFrame *f = NULL;
        int r = wc_next_push(c, &f, timeout_ms);

        if (r != WC_OK)
            return r;
        r = f->push->kind_case;
        pl_frame_server_free(f);
        if (r == PARLEY__PUSH__KIND_QUEUE_EMPTY)
            return WC_OK;
        if (r != PARLEY__PUSH__KIND_PREKEYS_LOW) {
            fprintf(stderr, "[wire_ops] expected QueueEmpty, got push kind %d\n", r);
            return WC_ERROR;
        }
    }
    return WC_ERROR;
}

wc_conn *wo_login(uint16_t port, const char *cert, const wi_account *a, const wi_device *d)
{
    wc_conn *c = NULL;
    int r;

    if (wc_connect(&c, port, cert) != WC_OK)
        fail_msg("cannot connect to parleyd on port %u", port);
    if ((r = wo_auth(c, a, d)) != PARLEY__STATUS_CODE__STATUS_OK) {
        wc_close(c);
        fail_msg("authentication as %s/%u failed: %s", a->username, d->id, wc_name(r));
    }
    return c;
}

wi_account *wo_new_user(uint16_t port, const char *cert, const char *prefix, wc_conn **conn)
{
    char name[WI_NAME_MAX];
    wi_account *a;
    wc_conn *c = NULL;
    int r;

    wi_unique_name(name, sizeof name, prefix);
    a = wi_account_new(name);
    if (wc_connect(&c, port, cert) != WC_OK)
        fail_msg("cannot connect to parleyd on port %u", port);
    if ((r = wo_register_account(c, a)) != PARLEY__STATUS_CODE__STATUS_OK) {
        wc_close(c);
        fail_msg("registering %s failed: %s", name, wc_name(r));
    }
    if (conn)
        *conn = c;
    else
        wc_close(c);
    return a;
}
