/*
 * client_group_msg.c: group messages (client.h "Groups", PROTOCOL.md §32): sending one
 * ciphertext with GroupSend, and receiving one.
 *
 * Sending: every member's devices in the group state are checked against that member's
 * verified key-transparency state; a member whose verified devices differ gets a devices
 * change first (cl_group_sync_members, client_group_devices.c), so the group never lists a
 * device the log does not show, nor lacks one it does;
 * the Content {message_id, sent_at, text, group_id} is padded, encrypted once with our
 * sending chain, the chain saved BEFORE the ciphertext leaves, and GroupSend addresses every
 * member device but this one. The history keeps it under peer "#NAME".
 *
 * Receiving (an Envelope with `group`): the header names the group and the chain; the
 * sender's device must be a device of a member in our state with the identity key of the
 * chain; the chain (received over a pairwise session, client_group.c) decrypts it; the
 * Content's group_id must be the header's. One transaction: the chain, the message, the seq
 * (and an attachment's descriptor, fetched later by pl_client_fetch_files).
 * The stored body is "sender\0text" (the messages table has no sender column).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client_group_devices.h"
#include "client_internal.h"
#include "client_kt.h"
#include "parley/group_state.h"
#include "parley/sender_key.h"

#define PAD_TO 64u

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};

    nanosleep(&ts, NULL);
}

/* client_group.c */
int cl_group_load_own(pl_client *c, const pl_cstore_group *g, pl_sender_key **out);
int cl_group_save_own(pl_client *c, const pl_cstore_group *g, const pl_sender_key *key);
void cl_group_rx_name(char out[64], const uint8_t group_id[16], const char *user, uint32_t dev);

static uint8_t *group_body(const char *sender, const char *text, size_t len, size_t *out_len)
{
    size_t s = strlen(sender);
    uint8_t *b = malloc(s + 1 + len + 1);

    if (!b)
        return NULL;
    memcpy(b, sender, s + 1);
    memcpy(b + s + 1, text, len);
    b[s + 1 + len] = '\0';
    *out_len = s + 1 + len;
    return b;
}

/* The member devices pl_client_group_send addresses: every device of every member in our
 * group state but this one (an attachment's expected fetches, client_attach.c). */
int cl_group_recipient_devices(pl_client *c, const char *name, size_t *n)
{
    pl_group_state *st = NULL;
    pl_cstore_group g;
    size_t n_members;
    int r;

    *n = 0;
    if ((r = pl_cstore_group_by_name(c->store, name, &g)) != PL_CSTORE_OK)
        return r == PL_CSTORE_E_NOT_FOUND
                   ? cl_fail(c, PL_CLIENT_E_NOT_FOUND, "no group named %s", name)
                   : cl_store_fail(c, r, "reading groups");
    if (!g.active)
        return cl_fail(c, PL_CLIENT_E_REFUSED, "you are no longer a member of %s", name);
    if ((r = cl_group_load_state(c, &g, &st)) != PL_CLIENT_OK)
        return r;
    /* Counted on the state the send will address: a member whose verified devices differ
     * gets its devices change now rather than at the send, so a device it adds is counted
     * (undercounted, the blob would be deleted before that device fetched it). */
    {
        size_t changed = 0;

        if ((r = cl_group_sync_members(c, &g, &st, NULL, &changed)) != PL_CLIENT_OK) {
            pl_group_state_free(st);
            return r;
        }
    }
    n_members = pl_group_state_member_count(st);
    for (size_t i = 0; i < n_members; i++) {
        const pl_group_member *mb = pl_group_state_member(st, i);
        int us = mb->username_len == strlen(c->username) &&
                 memcmp(mb->username, c->username, mb->username_len) == 0;

        for (size_t d = 0; d < mb->n_devices; d++)
            if (!(us && mb->devices[d].device_id == c->device_id))
                (*n)++;
    }
    pl_group_state_free(st);
    if (*n == 0)
        return cl_fail(c, PL_CLIENT_E_NO_DEVICES, "%s has no other member device", name);
    return PL_CLIENT_OK;
}

/* One attempt. Returns PL_CLIENT_OK, an error, or 1 when the server listed other devices
 * than the group state: the accounts it named were looked up again in the log (refreshing
 * our verified view of them), and the caller may try once more. */
static int send_once(pl_client *c, const char *name, const char *text, size_t text_len,
                     char id_out[33])
{
    static const uint8_t zeros[PAD_TO + 8];
    Parley__Content ct = PARLEY__CONTENT__INIT;
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__GroupSend gs = PARLEY__GROUP_SEND__INIT;
    Parley__ServerFrame *f = NULL;
    pl_group_state *st = NULL;
    pl_sender_key *key = NULL;
    pl_cstore_group g;
    pl_cstore_message m;
    char **users = NULL, *copy = NULL, *joined = NULL, peer[33];
    uint32_t *counts = NULL, *ids = NULL;
    uint8_t *keys = NULL, *pt = NULL, *ctext = NULL, *body = NULL, msg_id[16], state_hash[32];
    size_t n_members, n_users = 0, n_dev = 0, pt_len = 0, ct_len = 0, body_len = 0;
    uint64_t now = cl_now_ms();
    int r;

    id_out[0] = '\0';
    if ((r = pl_cstore_group_by_name(c->store, name, &g)) != PL_CSTORE_OK)
        return r == PL_CSTORE_E_NOT_FOUND
                   ? cl_fail(c, PL_CLIENT_E_NOT_FOUND, "no group named %s", name)
                   : cl_store_fail(c, r, "reading groups");
    if (!g.active)
        return cl_fail(c, PL_CLIENT_E_REFUSED, "you are no longer a member of %s", name);
    if ((r = cl_group_load_state(c, &g, &st)) != PL_CLIENT_OK)
        return r;
    /* The ghost-device check, before anything is encrypted: a member whose verified devices
     * differ from the state gets a devices change from us first (which may rotate our
     * chain, so the chain is loaded after). */
    {
        size_t changed = 0;

        if ((r = cl_group_sync_members(c, &g, &st, NULL, &changed)) != PL_CLIENT_OK)
            goto out;
    }
    if ((r = cl_group_load_own(c, &g, &key)) != PL_CLIENT_OK) {
        r = cl_fail(c, PL_CLIENT_E_STORE, "no sender key for %s", name);
        goto out;
    }
    n_members = pl_group_state_member_count(st);
    users = calloc(n_members, sizeof *users);
    counts = calloc(n_members, sizeof *counts);
    ids = calloc(n_members * PL_GROUP_MAX_DEVICES, sizeof *ids);
    keys = calloc(n_members * PL_GROUP_MAX_DEVICES, PL_PUBKEY_BYTES);
    if (!users || !counts || !ids || !keys) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_members; i++) {
        const pl_group_member *mb = pl_group_state_member(st, i);
        int us = mb->username_len == strlen(c->username) &&
                 memcmp(mb->username, c->username, mb->username_len) == 0;
        uint32_t k = 0;

        for (size_t d = 0; d < mb->n_devices; d++) {
            if (us && mb->devices[d].device_id == c->device_id)
                continue;
            ids[n_dev + k] = mb->devices[d].device_id;
            memcpy(keys + (n_dev + k) * PL_PUBKEY_BYTES, mb->devices[d].identity_key,
                   PL_PUBKEY_BYTES);
            k++;
        }
        if (k == 0)
            continue;
        if (!(users[n_users] = calloc(1, (size_t)mb->username_len + 1))) {
            r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
            goto out;
        }
        memcpy(users[n_users], mb->username, mb->username_len);
        counts[n_users++] = k;
        n_dev += k;
    }
    if (n_dev == 0) {
        r = cl_fail(c, PL_CLIENT_E_NO_DEVICES, "%s has no other member device", name);
        goto out;
    }
    /* The Content, padded, encrypted once. */
    randombytes_buf(msg_id, sizeof msg_id);
    if (!(copy = malloc(text_len + 1))) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(copy, text, text_len);
    copy[text_len] = '\0';
    ct.message_id.data = msg_id;
    ct.message_id.len = 16;
    ct.sent_at_ms = now;
    ct.text = copy;
    ct.group_id.data = g.group_id;
    ct.group_id.len = 16;
    ct.group_epoch = pl_group_state_epoch(st);
    pl_group_state_hash(st, state_hash);
    ct.group_state_hash.data = state_hash;
    ct.group_state_hash.len = sizeof state_hash;
    ct.attachment = (Parley__Attachment *)c->attach_next; /* pl_client_group_send_file's */
    for (size_t pad = 0; pad < sizeof zeros; pad++) {
        ct.padding.data = (uint8_t *)zeros;
        ct.padding.len = pad;
        pt_len = parley__content__get_packed_size(&ct);
        if (pt_len % PAD_TO == 0)
            break;
    }
    if (!(pt = malloc(pt_len)) || !(ctext = malloc(PL_GROUP_MESSAGE_BYTES(pt_len)))) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    parley__content__pack(&ct, pt);
    if (pl_sender_key_encrypt(key, pt, pt_len, ctext, PL_GROUP_MESSAGE_BYTES(pt_len), &ct_len) !=
        PL_OK) {
        r = cl_fail(c, PL_CLIENT_E_USAGE, "the message is too long (at most about 96 KiB)");
        goto out;
    }
    if ((r = cl_group_save_own(c, &g, key)) != PL_CLIENT_OK) /* before it leaves */
        goto out;
    gs.ciphertext.data = ctext;
    gs.ciphertext.len = ct_len;
    gs.client_message_id.data = msg_id;
    gs.client_message_id.len = 16;
    /* GroupSend names the accounts in one string, separated by single spaces (§31.1). */
    {
        size_t total = 0, at = 0;

        for (size_t i = 0; i < n_users; i++)
            total += strlen(users[i]) + 1;
        if (!(joined = malloc(total + 1))) {
            r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < n_users; i++) {
            size_t n = strlen(users[i]);

            if (i)
                joined[at++] = ' ';
            memcpy(joined + at, users[i], n);
            at += n;
        }
        joined[at] = '\0';
    }
    gs.usernames = joined;
    gs.device_counts = counts;
    gs.n_device_counts = n_users;
    gs.device_ids = ids;
    gs.n_device_ids = n_dev;
    gs.identity_keys.data = keys;
    gs.identity_keys.len = n_dev * PL_PUBKEY_BYTES;
    req.body_case = PARLEY__REQUEST__BODY_GROUP_SEND;
    req.group_send = &gs;
    if ((r = cl_request(c, &req, &f)) != PL_CLIENT_OK)
        goto out;
    if (cl_status(f) == PARLEY__STATUS_CODE__STATUS_MISMATCHED_DEVICES) {
        const Parley__Status *s = f->response->status;
        cl_kt_state *kt = malloc(sizeof *kt);

        /* The server's lists only say whom to look up again (§31.2): a member that linked
         * or removed a device a moment ago may not be in our cached view yet. */
        for (size_t i = 0; kt && s && i < s->n_mismatched && i < PL_WIRE_MAX_GROUP_MISMATCHED;
             i++) {
            const char *u = s->mismatched[i]->username;

            if (u && pl_group_state_find_member(st, (const uint8_t *)u, strlen(u)) >= 0)
                (void)cl_kt_current(c, u, 1, kt);
        }
        free(kt);
        r = cl_fail(c, PL_CLIENT_E_REFUSED,
                    "%s lists other devices for members of %s than the group state and the "
                    "key-transparency log show (not sent)",
                    c->server, name);
        if (r == PL_CLIENT_E_REFUSED)
            r = 1;
        goto out;
    }
    if (cl_status(f) != 0) {
        r = cl_refused(c, f, "sending to the group");
        goto out;
    }
    if (!(body = group_body(c->username, text, text_len, &body_len))) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    memset(&m, 0, sizeof m);
    memcpy(m.id, msg_id, 16);
    snprintf(peer, sizeof peer, "#%s", g.name);
    memcpy(m.peer, peer, sizeof m.peer);
    m.kind = PL_CSTORE_MSG_OUT;
    m.device_id = c->device_id;
    m.sent_at_ms = m.received_at_ms = now;
    m.body = body;
    m.body_len = body_len;
    if ((r = cl_store_message(c, &m)) < 0)
        goto out;
    cl_hex(msg_id, 16, id_out);
    r = PL_CLIENT_OK;
out:
    pl_frame_server_free(f);
    if (users)
        for (size_t i = 0; i < n_users; i++)
            free(users[i]);
    free(users);
    free(joined);
    free(counts);
    free(ids);
    free(keys);
    free(copy);
    if (pt)
        sodium_memzero(pt, pt_len);
    free(pt);
    free(ctext);
    free(body);
    pl_group_state_free(st);
    pl_sender_key_free(key);
    return r;
}

int pl_client_group_send(pl_client *c, const char *name, const char *text, size_t text_len,
                         char id_out[33])
{
    int r = 1;

    /* The server and the log disagree: the log may show a device change a moment later
     * (published about 1 s after it), so wait between attempts, boundedly. */
    for (int attempt = 0; attempt <= CL_KT_RETRIES && r == 1; attempt++) {
        if (attempt > 0)
            sleep_ms(CL_KT_RETRY_MS);
        r = send_once(c, name, text, text_len, id_out);
    }
    return r == 1 ? PL_CLIENT_E_REFUSED : r;
}

/* Records the seq with a notice (an unreadable group message). */
static int unreadable(pl_client *c, const Parley__Envelope *env, const char *why)
{
    char text[256];
    int r;

    snprintf(text, sizeof text, "A group message from device %u could not be read: %s.",
             env->sender_device, why);
    if ((r = pl_cstore_begin(c->store)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "recording a message");
    if ((r = cl_notice(c, env->sender, text)) != PL_CLIENT_OK ||
        (r = pl_cstore_seen_add(c->store, env->seq)) != PL_CSTORE_OK) {
        pl_cstore_rollback(c->store);
        return cl_store_fail(c, PL_CSTORE_E_IO, "recording a message");
    }
    if ((r = pl_cstore_commit(c->store)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "recording a message");
    return PL_CLIENT_OK;
}

/* The sender's group state when it sent (Content group_epoch, group_state_hash) is not ours:
 * a change did not reach one of us, so a member removed may still read what the one behind
 * sends (the server can withhold changes). Announced, with who is behind; the message is
 * authentic and shown. Absent (an older sender): nothing to compare. */
static void state_differs(pl_client *c, const char *sender, const pl_cstore_group *g,
                          const pl_group_state *st, const Parley__Content *ct)
{
    uint8_t ours[32];
    uint32_t epoch = pl_group_state_epoch(st);
    char text[300];

    pl_group_state_hash(st, ours);
    if (ct->group_state_hash.len != 32 || sodium_memcmp(ours, ct->group_state_hash.data, 32) == 0)
        return;
    if (ct->group_epoch < epoch)
        snprintf(text, sizeof text,
                 "%s sent this from an older state of group %s (epoch %u; ours is %u): a change "
                 "did not reach that device, and a member it removed may still read what it "
                 "sends",
                 sender, g->name, ct->group_epoch, epoch);
    else if (ct->group_epoch > epoch)
        snprintf(text, sizeof text,
                 "%s sent this from a newer state of group %s (epoch %u; ours is %u): a change "
                 "has not reached this device yet",
                 sender, g->name, ct->group_epoch, epoch);
    else
        snprintf(text, sizeof text,
                 "%s's state of group %s at epoch %u is not ours: the group has forked (a change "
                 "reached some members and another change others)",
                 sender, g->name, epoch);
    (void)cl_notice(c, sender, text);
}

int cl_group_receive(pl_client *c, const Parley__Envelope *env, pl_client_message_cb cb, void *ctx,
                     int *stop)
{
    pl_group_message_header h;
    pl_group_state *st = NULL;
    pl_sender_key_receiver *rx = NULL;
    pl_sender_key_info info;
    pl_cstore_group g;
    pl_cstore_message m;
    Parley__Content *content = NULL;
    char name[64];
    uint8_t *blob = NULL, *pt = NULL, *saved = NULL, *body = NULL;
    size_t blob_len = 0, pt_len = 0, cap = env->ciphertext.len, saved_len = 0, body_len = 0;
    const char *why = NULL;
    long idx;
    int r, e, fresh;

    *stop = 0;
    if (pl_group_message_header_parse(env->ciphertext.data, env->ciphertext.len, &h) != PL_OK)
        return unreadable(c, env, "it is malformed");
    if (pl_cstore_group_by_id(c->store, h.group_id, &g) != PL_CSTORE_OK || !g.active)
        return unreadable(c, env, "it is for a group this device is not in");
    if (cl_group_load_state(c, &g, &st) != PL_CLIENT_OK)
        return unreadable(c, env, "the group's saved state is damaged");
    idx = pl_group_state_find_member(st, (const uint8_t *)env->sender, strlen(env->sender));
    cl_group_rx_name(name, h.group_id, env->sender, env->sender_device);
    if (idx < 0) {
        why = "its sender is not a member of the group";
        goto out;
    }
    if (pl_cstore_secret_get(c->store, name, &blob, &blob_len) != PL_CSTORE_OK ||
        pl_sender_key_receiver_load(&rx, blob, blob_len) != PL_OK) {
        why = "there is no group key from its sender device";
        goto out;
    }
    pl_sender_key_receiver_get_info(rx, &info);
    if (pl_group_state_find_device(st, info.device_id, info.identity_key) != idx ||
        info.device_id != env->sender_device) {
        why = "its sender device is not a device of that member in the group";
        goto out;
    }
    if (!(pt = malloc(cap ? cap : 1))) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto fail;
    }
    if ((e = pl_sender_key_receiver_decrypt(rx, env->ciphertext.data, env->ciphertext.len, pt, cap,
                                            &pt_len)) != PL_OK) {
        /* Say which: a replay and a rotated key are attacks or losses the user should tell
         * apart from a damaged message. */
        why = e == PL_E_REPLAY ? "it was read before (a replay), or is too old to decrypt"
              : e == PL_E_SESSION_MISMATCH
                  ? "its sender's group key has changed and this device was not given the new "
                    "one (sent after we were removed, or before its key reached us)"
                  : "it does not decrypt with its sender's group key";
        goto out;
    }
    if (cl_content_parse(pt, pt_len, &content) != 0 || content->group_id.len != 16 ||
        sodium_memcmp(content->group_id.data, h.group_id, 16) != 0 || content->receipt ||
        content->group_update || content->group_sender_key ||
        (content->group_state_hash.len != 0 && content->group_state_hash.len != 32)) {
        why = "its content is malformed";
        goto out;
    }
    saved_len = pl_sender_key_receiver_saved_size(rx);
    if (!(saved = malloc(saved_len)) ||
        pl_sender_key_receiver_save(rx, saved, saved_len, &saved_len) != PL_OK ||
        !(body = group_body(env->sender, content->text, strlen(content->text), &body_len))) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto fail;
    }
    memset(&m, 0, sizeof m);
    memcpy(m.id, content->message_id.data, 16);
    snprintf(m.peer, sizeof m.peer, "#%s", g.name);
    m.kind = strcmp(env->sender, c->username) == 0 ? PL_CSTORE_MSG_OUT : PL_CSTORE_MSG_IN;
    m.device_id = env->sender_device;
    m.sent_at_ms = content->sent_at_ms;
    m.received_at_ms = cl_now_ms();
    m.body = body;
    m.body_len = body_len;
    if ((r = pl_cstore_begin(c->store)) != PL_CSTORE_OK) {
        r = cl_store_fail(c, r, "storing a message");
        goto fail;
    }
    r = pl_cstore_secret_put(c->store, name, saved, saved_len);
    if (r == PL_CSTORE_OK)
        r = pl_cstore_seen_add(c->store, env->seq);
    fresh = 0;
    if (r == PL_CSTORE_OK) {
        fresh = cl_store_message(c, &m);
        r = fresh < 0 ? PL_CSTORE_E_IO : PL_CSTORE_OK;
    }
    /* A file is fetched later (pl_client_fetch_files), ours from another device included. */
    if (r == PL_CSTORE_OK && fresh && content->attachment)
        r = cl_attach_record_incoming(c, m.id, env->sender, content->attachment);
    if (r == PL_CSTORE_OK)
        r = pl_cstore_commit(c->store);
    if (r != PL_CSTORE_OK) {
        pl_cstore_rollback(c->store);
        r = cl_store_fail(c, r, "storing a message");
        goto fail;
    }
    if (fresh)
        state_differs(c, env->sender, &g, st, content);
    if (fresh && cl_show_message(c, &m, cb, ctx))
        *stop = 1;
    r = PL_CLIENT_OK;
    goto fail;
out:
    r = unreadable(c, env, why);
fail:
    parley__content__free_unpacked(content, NULL);
    pl_group_state_free(st);
    pl_sender_key_receiver_free(rx);
    pl_cstore_free_secret(blob, blob_len);
    if (pt)
        sodium_memzero(pt, cap);
    free(pt);
    if (saved)
        sodium_memzero(saved, saved_len);
    free(saved);
    free(body);
    return r;
}
