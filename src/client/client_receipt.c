/*
 * client_receipt.c: delivery and read receipts (client.h "Receipts", PROTOCOL.md §28).
 *
 * A receipt is a Content whose `receipt` is set: a kind (DELIVERED, READ) and the ids of the
 * messages it reports. It travels like a message (cl_send_content: every verified device of
 * the sender of those messages, and copies to our other devices with sent_to), but:
 *   - it is never stored as a message nor shown as one;
 *   - it is never answered by a receipt (only text messages are queued for one);
 *   - received from another account, it raises the status of OUR messages to that account
 *     with those ids (a status never goes down; ids we never sent to them change nothing);
 *   - received as a copy from another of our devices, a READ raises the status of the
 *     messages we received from sent_to, so this device does not report them again.
 * The "receipts" setting ("off" / anything else: on) stops this device from sending any; the
 * status of received ones is still recorded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

#define SETTING "receipts"

const char *pl_client_status_name(int status)
{
    switch (status) {
    case PL_CLIENT_STATUS_DELIVERED:
        return "delivered";
    case PL_CLIENT_STATUS_READ:
        return "read";
    default:
        return "sent";
    }
}

void pl_client_on_receipt(pl_client *c, pl_client_receipt_cb cb, void *ctx)
{
    c->receipt_cb = cb;
    c->receipt_ctx = ctx;
}

int pl_client_receipts_enabled(pl_client *c)
{
    char v[8];

    if (pl_cstore_setting_get(c->store, SETTING, v, sizeof v) != PL_CSTORE_OK)
        return 1;
    return strcmp(v, "off") != 0;
}

int pl_client_receipts_set(pl_client *c, int on)
{
    int r = pl_cstore_setting_set(c->store, SETTING, on ? "on" : "off");

    return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "saving the receipts setting");
}

int cl_receipt_check(const Parley__Content *ct)
{
    const Parley__Receipt *rc = ct->receipt;

    if (!rc || *ct->text)
        return -1;
    if (rc->kind != PARLEY__RECEIPT__KIND__DELIVERED && rc->kind != PARLEY__RECEIPT__KIND__READ)
        return -1;
    if (rc->n_message_ids == 0 || rc->n_message_ids > CL_RECEIPT_IDS_MAX)
        return -1;
    for (size_t i = 0; i < rc->n_message_ids; i++)
        if (rc->message_ids[i].len != 16)
            return -1;
    return 0;
}

static int status_of(const Parley__Receipt *rc)
{
    return rc->kind == PARLEY__RECEIPT__KIND__READ ? PL_CSTORE_STATUS_READ
                                                   : PL_CSTORE_STATUS_DELIVERED;
}

int cl_receipt_apply(pl_client *c, const char *sender, const Parley__Content *ct)
{
    const Parley__Receipt *rc = ct->receipt;
    int ours = strcmp(sender, c->username) == 0, r;
    const char *peer = ours ? ct->sent_to : sender;
    int kind = ours ? PL_CSTORE_MSG_IN : PL_CSTORE_MSG_OUT;
    uint64_t now = cl_now_ms();

    /* A copy of our own receipt: only a READ tells this device something (do not report
     * those messages again); an empty sent_to names no conversation. */
    if (ours && (!*peer || rc->kind != PARLEY__RECEIPT__KIND__READ))
        return 0;
    for (size_t i = 0; i < rc->n_message_ids; i++) {
        r = pl_cstore_receipt_raise(c->store, peer, kind, rc->message_ids[i].data, status_of(rc),
                                    now, NULL);
        if (r != PL_CSTORE_OK)
            return cl_store_fail(c, r, "recording a receipt");
    }
    /* Every receipt from another account is reported once (its envelope is processed once),
     * even one naming no message of ours: what it claims is for the user to see. */
    return ours ? 0 : 1;
}

void cl_receipt_report(pl_client *c, const char *sender, uint32_t device, const Parley__Content *ct)
{
    const Parley__Receipt *rc = ct->receipt;
    pl_client_receipt v;
    char(*ids)[33];

    if (!c->receipt_cb || !(ids = calloc(rc->n_message_ids, sizeof *ids)))
        return;
    memset(&v, 0, sizeof v);
    snprintf(v.from, sizeof v.from, "%s", sender);
    v.device = device;
    v.status = status_of(rc);
    v.sent_at_ms = ct->sent_at_ms;
    for (size_t i = 0; i < rc->n_message_ids; i++)
        cl_hex(rc->message_ids[i].data, 16, ids[i]);
    v.n_ids = rc->n_message_ids;
    v.ids = (const char(*)[33])ids;
    c->receipt_cb(c->receipt_ctx, &v);
    free(ids);
}

void cl_receipt_queue(pl_client *c, const char *peer, const uint8_t id[16])
{
    struct cl_pending_receipt *p;

    if (c->n_pending == CL_RECEIPT_PENDING_MAX || strlen(peer) > CL_USERNAME_MAX)
        return; /* best effort: `parley read` still reports these as read */
    p = &c->pending[c->n_pending++];
    snprintf(p->peer, sizeof p->peer, "%s", peer);
    memcpy(p->id, id, 16);
}

/* Raises the status of the received messages ids[0..n) of peer. */
static int raise_received(pl_client *c, const char *peer, uint8_t (*ids)[16], size_t n, int status)
{
    uint64_t now = cl_now_ms();
    int r = pl_cstore_begin(c->store);

    for (size_t i = 0; i < n && r == PL_CSTORE_OK; i++)
        r = pl_cstore_receipt_raise(c->store, peer, PL_CSTORE_MSG_IN, ids[i], status, now, NULL);
    if (r == PL_CSTORE_OK)
        r = pl_cstore_commit(c->store);
    if (r != PL_CSTORE_OK) {
        pl_cstore_rollback(c->store);
        return cl_store_fail(c, r, "recording receipts");
    }
    return PL_CLIENT_OK;
}

/* Sends one receipt for ids[0..n) (n <= CL_RECEIPT_IDS_MAX) to peer, then raises their
 * status. With receipts off, only raises it. */
static int send_receipt(pl_client *c, const char *peer, uint8_t (*ids)[16], size_t n, int status)
{
    Parley__Receipt rc = PARLEY__RECEIPT__INIT;
    Parley__Content control = PARLEY__CONTENT__INIT;
    ProtobufCBinaryData *bin;
    int r;

    if (n == 0)
        return PL_CLIENT_OK;
    if (pl_client_receipts_enabled(c)) {
        if (!(bin = calloc(n, sizeof *bin)))
            return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            bin[i].data = ids[i];
            bin[i].len = 16;
        }
        rc.kind = status == PL_CSTORE_STATUS_READ ? PARLEY__RECEIPT__KIND__READ
                                                  : PARLEY__RECEIPT__KIND__DELIVERED;
        rc.n_message_ids = n;
        rc.message_ids = bin;
        control.receipt = &rc;
        r = cl_send_content(c, peer, "", 0, &control, NULL);
        free(bin);
        if (r != PL_CLIENT_OK)
            return r;
    }
    return raise_received(c, peer, ids, n, status);
}

void cl_receipt_flush(pl_client *c, int status)
{
    uint8_t(*ids)[16] = NULL;
    char peer[CL_USERNAME_MAX + 1];

    if (c->n_pending == 0)
        return;
    if (!(ids = malloc(CL_RECEIPT_PENDING_MAX * sizeof *ids))) {
        c->n_pending = 0;
        return;
    }
    /* One receipt per peer, in the order the peers first appear. */
    while (c->n_pending > 0) {
        size_t n = 0, kept = 0;
        int r;

        snprintf(peer, sizeof peer, "%s", c->pending[0].peer);
        for (size_t i = 0; i < c->n_pending; i++) {
            if (strcmp(c->pending[i].peer, peer) == 0 && n < CL_RECEIPT_IDS_MAX)
                memcpy(ids[n++], c->pending[i].id, 16);
            else
                c->pending[kept++] = c->pending[i];
        }
        c->n_pending = kept;
        if ((r = send_receipt(c, peer, ids, n, status)) != PL_CLIENT_OK && c->notice) {
            char text[600];

            snprintf(text, sizeof text, "could not send a %s receipt: %s",
                     pl_client_status_name(status), c->err);
            c->notice(c->notice_ctx, peer, text);
        }
    }
    free(ids);
}

int pl_client_unread_count(pl_client *c, const char *user, size_t *n)
{
    uint8_t(*ids)[16] = malloc(CL_RECEIPT_IDS_MAX * sizeof *ids);
    int r;

    *n = 0;
    if (!ids)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    if (user[0] == '#') { /* a group's history: no receipts for group messages (§32.5) */
        free(ids);
        return PL_CLIENT_OK;
    }
    r = pl_cstore_receipt_below(c->store, user, PL_CSTORE_STATUS_READ, ids, CL_RECEIPT_IDS_MAX, n);
    free(ids);
    return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "reading unread messages");
}

int pl_client_mark_read(pl_client *c, const char *user, size_t *n)
{
    uint8_t(*ids)[16] = NULL;
    char peer[CL_USERNAME_MAX + 1];
    size_t got;
    int r = PL_CLIENT_OK;

    *n = 0;
    if (user[0] == '#')
        return PL_CLIENT_OK; /* a group: no receipts for group messages (§32.5) */
    if (!*user || strlen(user) > CL_USERNAME_MAX)
        return cl_fail(c, PL_CLIENT_E_BAD_USERNAME, "\"%s\" is not a username", user);
    for (size_t i = 0; user[i]; i++)
        peer[i] = (char)((user[i] >= 'A' && user[i] <= 'Z') ? user[i] + 32 : user[i]);
    peer[strlen(user)] = '\0';
    if (!(ids = malloc(CL_RECEIPT_IDS_MAX * sizeof *ids)))
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    /* In batches of CL_RECEIPT_IDS_MAX: each batch sent is marked, so the next one differs. */
    for (;;) {
        int s = pl_cstore_receipt_below(c->store, peer, PL_CSTORE_STATUS_READ, ids,
                                        CL_RECEIPT_IDS_MAX, &got);

        if (s != PL_CSTORE_OK) {
            r = cl_store_fail(c, s, "reading unread messages");
            break;
        }
        if (got == 0 || (r = send_receipt(c, peer, ids, got, PL_CSTORE_STATUS_READ)) != 0)
            break;
        *n += got;
    }
    free(ids);
    return r;
}
