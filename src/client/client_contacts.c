/*
 * client_contacts.c: other accounts as this client knows them: their verified device lists,
 * the key-change rules, safety numbers and verification, contacts, and the history.
 *
 * Key-change rules (client.h): the first account key seen for a user is kept. A different
 * key later is a change: if the user had verified the old one, the contact is marked changed
 * and sending is refused (PL_CLIENT_E_KEY_CHANGED) until they verify again; if not, the new
 * key is taken, the change is announced through the notice callback and written into the
 * conversation as a notice.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client_internal.h"
#include "client_kt.h"

int cl_notice(pl_client *c, const char *user, const char *text)
{
    pl_cstore_message m;
    int r;

    memset(&m, 0, sizeof m);
    randombytes_buf(m.id, sizeof m.id);
    snprintf(m.peer, sizeof m.peer, "%s", user);
    m.kind = PL_CSTORE_MSG_NOTICE;
    m.sent_at_ms = m.received_at_ms = cl_now_ms();
    m.body = (uint8_t *)text;
    m.body_len = strlen(text);
    r = pl_cstore_message_add(c->store, &m);
    if (c->notice)
        c->notice(c->notice_ctx, user, text);
    return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "recording a notice");
}

/* Applies the key-change rules to `key` for user, inside the caller's transaction or
 * alone. Returns PL_CLIENT_OK or E_KEY_CHANGED. Also called by client_kt.c for the key of a
 * verified key-transparency state (§25 rule 1). */
int cl_check_account_key(pl_client *c, const char *user, const uint8_t key[PL_PUBKEY_BYTES]);
int cl_check_account_key(pl_client *c, const char *user, const uint8_t key[PL_PUBKEY_BYTES])
{
    pl_cstore_contact ct;
    int r = pl_cstore_contact_get(c->store, user, &ct);

    if (r == PL_CSTORE_E_NOT_FOUND) {
        memset(&ct, 0, sizeof ct);
        snprintf(ct.username, sizeof ct.username, "%s", user);
        memcpy(ct.account_key, key, PL_PUBKEY_BYTES);
        ct.first_seen_ms = cl_now_ms();
        r = pl_cstore_contact_put(c->store, &ct);
        return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "storing a contact");
    }
    if (r != PL_CSTORE_OK)
        return cl_store_fail(c, r, "reading a contact");
    if (sodium_memcmp(ct.account_key, key, PL_PUBKEY_BYTES) == 0)
        return (ct.verified && sodium_memcmp(ct.verified_key, key, PL_PUBKEY_BYTES) != 0)
                   ? cl_fail(c, PL_CLIENT_E_KEY_CHANGED,
                             "%s's account key changed after you verified it: sending is "
                             "blocked until you compare safety numbers again (`parley verify "
                             "%s`)",
                             user, user)
                   : PL_CLIENT_OK;
    memcpy(ct.account_key, key, PL_PUBKEY_BYTES);
    ct.key_changed_ms = cl_now_ms();
    if ((r = pl_cstore_contact_put(c->store, &ct)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "storing a contact");
    /* Sessions with the old devices are replaced when their identity keys no longer match
     * the records (client_send.c, client_recv.c). */
    if (ct.verified) {
        (void)cl_notice(c, user,
                        "SAFETY NUMBER CHANGED: this contact's account key is not the one you "
                        "verified. Sending is blocked until you verify again.");
        return cl_fail(c, PL_CLIENT_E_KEY_CHANGED,
                       "%s's account key changed after you verified it: sending is blocked until "
                       "you compare safety numbers again (`parley verify %s`)",
                       user, user);
    }
    return cl_notice(c, user,
                     "The safety number with this contact changed: their account key is new "
                     "(a reinstall, or someone in the middle). Verify it with `parley verify`.");
}

int cl_fetch_devices(pl_client *c, const char *user, cl_device_list *out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__ListDevices ld = PARLEY__LIST_DEVICES__INIT;
    Parley__ServerFrame *f = NULL;
    pl_cstore_device devs[CL_DEVICES_MAX];
    const Parley__DeviceList *dl;
    int r, key_check = PL_CLIENT_OK;

    memset(out, 0, sizeof *out);
    ld.username = (char *)user;
    req.body_case = PARLEY__REQUEST__BODY_LIST_DEVICES;
    req.list_devices = &ld;
    if ((r = cl_request(c, &req, &f)) != PL_CLIENT_OK)
        return r;
    if (cl_status(f) != 0) {
        r = cl_refused(c, f, user);
        if (r == PL_CLIENT_E_UNKNOWN_USER)
            r = cl_fail(c, r, "there is no user %s on %s", user, c->server);
        goto out;
    }
    dl = f->response->list_devices;
    if (dl->account_key.len != PL_PUBKEY_BYTES || dl->n_device_records > CL_DEVICES_MAX) {
        r = cl_fail(c, PL_CLIENT_E_PROTOCOL, "the server sent a malformed device list");
        goto out;
    }
    memcpy(out->account_key, dl->account_key.data, PL_PUBKEY_BYTES);
    /* Every record must be signed by the account key (the server cannot make one). */
    for (size_t i = 0; i < dl->n_device_records; i++) {
        const ProtobufCBinaryData *rec = &dl->device_records[i];

        if (pl_device_record_verify(rec->data, rec->len, out->account_key, &out->records[i]) !=
            PL_OK) {
            r = cl_fail(c, PL_CLIENT_E_BAD_RECORD,
                        "a device record of %s does not verify under its account key: refusing "
                        "to use it",
                        user);
            goto out;
        }
        memcpy(out->raw[i], rec->data, PL_DEVICE_RECORD_BYTES);
        memset(&devs[i], 0, sizeof devs[i]);
        devs[i].device_id = out->records[i].device_id;
        memcpy(devs[i].record, rec->data, PL_DEVICE_RECORD_BYTES);
    }
    out->n = dl->n_device_records;
    if (strcmp(user, c->username) == 0) {
        if (sodium_memcmp(out->account_key, c->account_key, PL_PUBKEY_BYTES) != 0) {
            r = cl_fail(c, PL_CLIENT_E_BAD_RECORD,
                        "the server lists our own account with another key: refusing");
            goto out;
        }
    } else if ((key_check = cl_check_account_key(c, user, out->account_key)) != PL_CLIENT_OK &&
               key_check != PL_CLIENT_E_KEY_CHANGED) {
        r = key_check;
        goto out;
    }
    /* Keep the local names of devices we already know. */
    {
        pl_cstore_device known[CL_DEVICES_MAX];
        size_t nk = 0;

        if (pl_cstore_devices_get(c->store, user, known, &nk) == PL_CSTORE_OK)
            for (size_t i = 0; i < out->n; i++)
                for (size_t k = 0; k < nk; k++)
                    if (known[k].device_id == devs[i].device_id)
                        memcpy(devs[i].name, known[k].name, sizeof devs[i].name);
    }
    /* Stored even when sending is blocked by a key change: receiving still needs them. */
    if ((r = pl_cstore_devices_set(c->store, user, devs, out->n)) != PL_CSTORE_OK)
        r = cl_store_fail(c, r, "storing a device list");
    else
        r = key_check;
out:
    pl_frame_server_free(f);
    return r;
}

/* ---- Messages ------------------------------------------------------------------------------- */

void cl_message_view(const pl_cstore_message *m, const char *self, pl_client_message *out)
{
    memset(out, 0, sizeof *out);
    cl_hex(m->id, sizeof m->id, out->id);
    snprintf(out->peer, sizeof out->peer, "%s", m->peer);
    out->outgoing = m->kind == PL_CSTORE_MSG_OUT;
    out->notice = m->kind == PL_CSTORE_MSG_NOTICE;
    snprintf(out->from, sizeof out->from, "%s", out->outgoing ? self : m->peer);
    out->device = m->device_id;
    out->sent_at_ms = m->sent_at_ms;
    out->received_at_ms = m->received_at_ms;
    out->text = (const char *)m->body;
    out->text_len = m->body_len;
    if (m->peer[0] == '#') { /* a group message: the body is "sender\0text" */
        const uint8_t *nul = m->body ? memchr(m->body, 0, m->body_len) : NULL;

        snprintf(out->group, sizeof out->group, "%s", m->peer + 1);
        if (nul) {
            size_t s = (size_t)(nul - m->body);

            snprintf(out->from, sizeof out->from, "%.*s", (int)(s < 32 ? s : 32),
                     (const char *)m->body);
            out->text = (const char *)nul + 1;
            out->text_len = m->body_len - s - 1;
        }
    }
}

int cl_store_message(pl_client *c, const pl_cstore_message *m)
{
    int r = pl_cstore_message_add(c->store, m);

    if (r == PL_CSTORE_E_EXISTS)
        return 0; /* stored (and shown) already */
    if (r != PL_CSTORE_OK)
        return cl_store_fail(c, r, "storing a message");
    return 1;
}

int cl_show_message(pl_client *c, const pl_cstore_message *m, pl_client_message_cb cb, void *ctx)
{
    pl_client_message v;
    char *text;
    int stop;

    if (!cb)
        return 0;
    if (!(text = malloc(m->body_len + 1)))
        return 0;
    memcpy(text, m->body, m->body_len);
    text[m->body_len] = '\0';
    cl_message_view(m, c->username, &v);
    v.text = text + (v.text - (const char *)m->body);
    if (m->kind == PL_CSTORE_MSG_OUT)
        (void)pl_cstore_receipt_get(c->store, m->peer, m->kind, m->id, &v.status);
    stop = cb(ctx, &v);
    free(text);
    return stop;
}

typedef struct history_ctx {
    pl_client *c;
    pl_client_message_cb cb;
    void *ctx;
} history_ctx;

static int history_each(void *arg, const pl_cstore_message *m)
{
    history_ctx *h = arg;

    return cl_show_message(h->c, m, h->cb, h->ctx);
}

int pl_client_history(pl_client *c, const char *user, size_t limit, pl_client_message_cb cb,
                      void *ctx)
{
    history_ctx h = {c, cb, ctx};
    int r = pl_cstore_message_list(c->store, user, limit, history_each, &h);

    return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "reading the history");
}

/* ---- Contacts and verification -------------------------------------------------------------- */

static void account_fingerprint(const uint8_t key[PL_PUBKEY_BYTES], const char *user, char out[64])
{
    char digits[PL_ACCOUNT_FINGERPRINT_DIGITS + 1];
    size_t o = 0;

    out[0] = '\0';
    if (pl_account_fingerprint(key, user, strlen(user), digits) != PL_OK)
        return;
    for (size_t i = 0; i < PL_ACCOUNT_FINGERPRINT_DIGITS; i++) {
        if (i && i % 5 == 0)
            out[o++] = ' ';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

typedef struct contacts_ctx {
    pl_client *c;
    pl_client_contact_cb cb;
    void *ctx;
} contacts_ctx;

static int contacts_each(void *arg, const pl_cstore_contact *ct)
{
    contacts_ctx *x = arg;
    pl_client_contact v;

    if (strcmp(ct->username, x->c->username) == 0)
        return 0;
    memset(&v, 0, sizeof v);
    snprintf(v.username, sizeof v.username, "%s", ct->username);
    account_fingerprint(ct->account_key, ct->username, v.fingerprint);
    v.verified = ct->verified && sodium_memcmp(ct->verified_key, ct->account_key, 33) == 0;
    v.key_changed = ct->verified && !v.verified;
    v.first_seen_ms = ct->first_seen_ms;
    return x->cb(x->ctx, &v);
}

int pl_client_contacts(pl_client *c, pl_client_contact_cb cb, void *ctx)
{
    contacts_ctx x = {c, cb, ctx};
    int r = pl_cstore_contact_list(c->store, contacts_each, &x);

    return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "reading contacts");
}

/* The contact's current key: the stored one, or, if unknown, the key of its state verified in
 * the key-transparency log (which stores the contact). */
static int contact_key(pl_client *c, const char *user, pl_cstore_contact *ct)
{
    cl_kt_state *st;
    int r = pl_cstore_contact_get(c->store, user, ct);

    if (r == PL_CSTORE_OK)
        return PL_CLIENT_OK;
    if (r != PL_CSTORE_E_NOT_FOUND)
        return cl_store_fail(c, r, "reading a contact");
    if (!(st = malloc(sizeof *st)))
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    r = cl_kt_current(c, user, 1, st);
    free(st);
    if (r != PL_CLIENT_OK && r != PL_CLIENT_E_KEY_CHANGED)
        return r;
    r = pl_cstore_contact_get(c->store, user, ct);
    return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "reading a contact");
}

int pl_client_safety_number(pl_client *c, const char *user, pl_client_safety *out)
{
    char digits[PL_SAFETY_NUMBER_DIGITS + 1];
    pl_cstore_contact ct;
    size_t o = 0;
    int r;

    memset(out, 0, sizeof *out);
    if (strcmp(user, c->username) == 0)
        return cl_fail(c, PL_CLIENT_E_USAGE, "there is no safety number with yourself");
    if ((r = contact_key(c, user, &ct)) != PL_CLIENT_OK)
        return r;
    if (pl_safety_number(c->account_key, c->username, strlen(c->username), ct.account_key, user,
                         strlen(user), digits) != PL_OK)
        return cl_fail(c, PL_CLIENT_E_USAGE, "cannot compute a safety number for %s", user);
    for (size_t i = 0; i < PL_SAFETY_NUMBER_DIGITS; i++) {
        if (i && i % 5 == 0)
            out->safety_number[o++] = ' ';
        out->safety_number[o++] = digits[i];
    }
    out->safety_number[o] = '\0';
    account_fingerprint(c->account_key, c->username, out->our_fingerprint);
    account_fingerprint(ct.account_key, user, out->their_fingerprint);
    out->verified = ct.verified && sodium_memcmp(ct.verified_key, ct.account_key, 33) == 0;
    out->key_changed = ct.verified && !out->verified;
    return PL_CLIENT_OK;
}

int pl_client_verify_confirm(pl_client *c, const char *user, const char *number)
{
    pl_client_safety s;
    pl_cstore_contact ct;
    char want[PL_SAFETY_NUMBER_DIGITS + 1], got[PL_SAFETY_NUMBER_DIGITS + 1];
    size_t nw = 0, ng = 0;
    int r;

    if ((r = pl_client_safety_number(c, user, &s)) != PL_CLIENT_OK)
        return r;
    for (const char *p = s.safety_number; *p; p++)
        if (*p >= '0' && *p <= '9')
            want[nw++] = *p;
    for (const char *p = number; *p && ng <= PL_SAFETY_NUMBER_DIGITS; p++) {
        if (*p >= '0' && *p <= '9')
            got[ng++] = *p;
        else if (*p != ' ' && *p != '-')
            return cl_fail(c, PL_CLIENT_E_MISMATCH, "a safety number has only digits");
    }
    if (ng != nw || memcmp(want, got, nw) != 0)
        return cl_fail(c, PL_CLIENT_E_MISMATCH,
                       "the safety number does not match the one for %s: do not trust this "
                       "contact until you find out why",
                       user);
    if ((r = pl_cstore_contact_get(c->store, user, &ct)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "reading a contact");
    ct.verified = 1;
    memcpy(ct.verified_key, ct.account_key, PL_PUBKEY_BYTES);
    if ((r = pl_cstore_contact_put(c->store, &ct)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "storing a contact");
    return PL_CLIENT_OK;
}
