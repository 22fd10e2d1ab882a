/*
 * client_group.c: groups in the client (client.h "Groups", PROTOCOL.md §32): creating and
 * changing a group, applying the changes other members send, distributing sender keys.
 * Receiving and sending group messages is in client_group_msg.c.
 *
 * Where things live: the groups table (cstore_group.c) maps a local name to the group id; the
 * state ("g<local>/state"), our sending chain ("g<local>/own") are sealed secrets, and so is
 * every received chain ("gk/<first 8 bytes of the group id, hex>/<username>/<device id>"),
 * stored even before the group is known (a member's key may overtake the change that adds
 * us) and checked against the state when a message is decrypted with it.
 *
 * The rules (§32):
 *   - a change is accepted only from a device of its author (the pairwise session's sender
 *     and device are the change's author and author device);
 *   - every member of a group we join, and the member an add or devices change is about,
 *     must have exactly the devices of its verified key-transparency state
 *     (pl_group_member_check_account_state): a device the server slipped in is refused;
 *   - when a change rotates sender keys (a member or device left), this device makes a new
 *     chain and sends it to the remaining member devices only; when a change adds a member,
 *     this device sends its current chain to the new member;
 *   - a change this device cannot verify changes nothing and is announced (a notice).
 */
#include <stdarg.h>
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

/* ---- Names and the store ---------------------------------------------------------------- */

static int valid_group_name(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > PL_CSTORE_GROUP_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

static void lower(const char *in, char out[CL_USERNAME_MAX + 1])
{
    size_t i = 0;

    for (; in[i] && i < CL_USERNAME_MAX; i++)
        out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
    out[i] = '\0';
}

static void secret_name(char out[64], const pl_cstore_group *g, const char *what)
{
    snprintf(out, 64, "g%lld/%s", (long long)g->local, what);
}

static void rx_name(char out[64], const uint8_t group_id[16], const char *user, uint32_t device)
{
    char hex[17];

    cl_hex(group_id, 8, hex);
    snprintf(out, 64, "gk/%s/%s/%u", hex, user, device);
}

int cl_group_load_state(pl_client *c, const pl_cstore_group *g, pl_group_state **out);
int cl_group_load_state(pl_client *c, const pl_cstore_group *g, pl_group_state **out)
{
    char name[64];
    uint8_t *blob = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    secret_name(name, g, "state");
    if ((r = pl_cstore_secret_get(c->store, name, &blob, &len)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "reading a group's state");
    r = pl_group_state_decode(blob, len, out);
    pl_cstore_free_secret(blob, len);
    if (r != PL_OK)
        return cl_fail(c, PL_CLIENT_E_CORRUPT, "the saved state of group %s is damaged", g->name);
    return PL_CLIENT_OK;
}

static int save_state_as(pl_client *c, const pl_cstore_group *g, const pl_group_state *st,
                         const char *what)
{
    char name[64];
    size_t cap = pl_group_state_encoded_size(st), len = 0;
    uint8_t *buf = malloc(cap);
    int r;

    if (!buf)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    if (pl_group_state_encode(st, buf, cap, &len) != PL_OK) {
        free(buf);
        return cl_fail(c, PL_CLIENT_E_NOMEM, "cannot encode a group state");
    }
    secret_name(name, g, what);
    r = pl_cstore_secret_put(c->store, name, buf, len);
    free(buf);
    return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "saving a group's state");
}

static int save_state(pl_client *c, const pl_cstore_group *g, const pl_group_state *st)
{
    return save_state_as(c, g, st, "state");
}

/* The state before the last change applied ("g<local>/prev"), kept so that a sibling of
 * that change (a fork) can be recognised (cl_group_adopt_sibling). */
static int save_parent(pl_client *c, const pl_cstore_group *g, const pl_group_state *st)
{
    return save_state_as(c, g, st, "prev");
}

int cl_group_load_own(pl_client *c, const pl_cstore_group *g, pl_sender_key **out);
int cl_group_load_own(pl_client *c, const pl_cstore_group *g, pl_sender_key **out)
{
    char name[64];
    uint8_t *blob = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    secret_name(name, g, "own");
    if ((r = pl_cstore_secret_get(c->store, name, &blob, &len)) != PL_CSTORE_OK)
        return r == PL_CSTORE_E_NOT_FOUND ? PL_CLIENT_E_NOT_FOUND
                                          : cl_store_fail(c, r, "reading our sender key");
    r = pl_sender_key_load(out, blob, len);
    pl_cstore_free_secret(blob, len);
    return r == PL_OK ? PL_CLIENT_OK
                      : cl_fail(c, PL_CLIENT_E_CORRUPT, "our sender key of %s is damaged", g->name);
}

int cl_group_save_own(pl_client *c, const pl_cstore_group *g, const pl_sender_key *key);
int cl_group_save_own(pl_client *c, const pl_cstore_group *g, const pl_sender_key *key)
{
    char name[64];
    uint8_t buf[PL_SENDER_KEY_SAVED_BYTES];
    int r;

    secret_name(name, g, "own");
    pl_sender_key_save(key, buf);
    r = pl_cstore_secret_put(c->store, name, buf, sizeof buf);
    sodium_memzero(buf, sizeof buf);
    return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "saving our sender key");
}

/* ---- Members and their verified devices ------------------------------------------------- */

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};

    nanosleep(&ts, NULL);
}

/* The member entry of user from its verified key-transparency state. */
static int member_from_log(pl_client *c, const char *user, pl_group_member *m)
{
    cl_kt_state *kt = malloc(sizeof *kt);
    size_t n = strlen(user);
    int r;

    memset(m, 0, sizeof *m);
    if (!kt)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    /* A new account's first entry may still be pending (published about 1 s after). */
    for (int attempt = 0;; attempt++) {
        r = cl_kt_current(c, user, attempt > 0, kt);
        if (r != PL_CLIENT_E_KT_UNLOGGED || attempt == CL_KT_RETRIES)
            break;
        sleep_ms(CL_KT_RETRY_MS);
    }
    if (r != PL_CLIENT_OK)
        goto out;
    m->username_len = (uint8_t)n;
    memcpy(m->username, user, n);
    memcpy(m->account_key, kt->state.account_key, PL_PUBKEY_BYTES);
    for (size_t i = 0; i < kt->state.n_devices && i < PL_GROUP_MAX_DEVICES; i++) {
        m->devices[i].device_id = kt->state.devices[i].device_id;
        memcpy(m->devices[i].identity_key, kt->state.devices[i].identity_key, PL_PUBKEY_BYTES);
        m->n_devices++;
    }
    if (m->n_devices == 0)
        r = cl_fail(c, PL_CLIENT_E_NO_DEVICES, "%s has no device in the log", user);
out:
    free(kt);
    return r;
}

static int kt_has_device(const pl_account_state *st, const pl_group_device *d)
{
    for (size_t i = 0; i < st->n_devices; i++)
        if (st->devices[i].device_id == d->device_id &&
            sodium_memcmp(st->devices[i].identity_key, d->identity_key, PL_PUBKEY_BYTES) == 0)
            return 1;
    return 0;
}

/* The ghost-device check of one member against its verified state (looked up again once if
 * it differs: the log may have moved on). */
static int check_member(pl_client *c, const pl_group_member *m)
{
    char user[CL_USERNAME_MAX + 1];
    cl_kt_state *kt = malloc(sizeof *kt);
    int r = PL_CLIENT_OK;

    if (!kt)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    if (m->username_len == 0 || m->username_len > CL_USERNAME_MAX) {
        r = cl_fail(c, PL_CLIENT_E_PROTOCOL, "a group member's name is not a username");
        goto out;
    }
    memcpy(user, m->username, m->username_len);
    user[m->username_len] = '\0';
    for (int refresh = 0; refresh < 2; refresh++) {
        if ((r = cl_kt_current(c, user, refresh, kt)) != PL_CLIENT_OK)
            goto out;
        if (pl_group_member_check_account_state(m, &kt->state) == PL_OK)
            goto out;
    }
    /* Name the first device that differs (the user must know which device is the ghost). */
    for (size_t i = 0; i < m->n_devices; i++)
        if (!kt_has_device(&kt->state, &m->devices[i])) {
            r = cl_fail(c, PL_CLIENT_E_KT_UNLOGGED,
                        "the group lists device %u of %s, which %s's verified key-transparency "
                        "state does not: refusing",
                        m->devices[i].device_id, user, user);
            goto out;
        }
    r = cl_fail(c, PL_CLIENT_E_KT_UNLOGGED,
                "the group lists devices of %s that its verified key-transparency state does "
                "not (or not those it does): refusing",
                user);
out:
    free(kt);
    return r;
}

int cl_group_check_members(pl_client *c, const pl_group_state *st);
int cl_group_check_members(pl_client *c, const pl_group_state *st)
{
    int r = PL_CLIENT_OK;

    for (size_t i = 0; i < pl_group_state_member_count(st) && r == PL_CLIENT_OK; i++)
        r = check_member(c, pl_group_state_member(st, i));
    return r;
}

static void member_name(const pl_group_member *m, char out[CL_USERNAME_MAX + 1])
{
    size_t n = m->username_len > CL_USERNAME_MAX ? CL_USERNAME_MAX : m->username_len;

    memcpy(out, m->username, n);
    out[n] = '\0';
}

static int is_us(pl_client *c, const pl_group_member *m)
{
    return m->username_len == strlen(c->username) &&
           memcmp(m->username, c->username, m->username_len) == 0;
}

/* ---- Sending control messages over the pairwise sessions --------------------------------- */

static int send_update(pl_client *c, const char *to, const uint8_t group_id[16],
                       const uint8_t *change, size_t change_len, const uint8_t *prev,
                       size_t prev_len)
{
    Parley__Content ct = PARLEY__CONTENT__INIT;
    Parley__GroupUpdate gu = PARLEY__GROUP_UPDATE__INIT;

    gu.change.data = (uint8_t *)change;
    gu.change.len = change_len;
    gu.prev_state.data = (uint8_t *)prev;
    gu.prev_state.len = prev_len;
    gu.group_id.data = (uint8_t *)group_id;
    gu.group_id.len = 16;
    ct.group_update = &gu;
    return cl_send_content(c, to, "", 0, &ct, NULL);
}

static int send_key(pl_client *c, const char *to, const pl_sender_key *key)
{
    Parley__Content ct = PARLEY__CONTENT__INIT;
    Parley__GroupSenderKey sk = PARLEY__GROUP_SENDER_KEY__INIT;
    uint8_t dist[PL_SENDER_KEY_DISTRIBUTION_BYTES];
    int r;

    pl_sender_key_distribution(key, dist);
    sk.distribution.data = dist;
    sk.distribution.len = sizeof dist;
    ct.group_sender_key = &sk;
    r = cl_send_content(c, to, "", 0, &ct, NULL);
    sodium_memzero(dist, sizeof dist);
    return r;
}

/* Sends our chain to every member of st (to our own other devices too: `to` = us). */
static int send_key_to_all(pl_client *c, const pl_group_state *st, const pl_sender_key *key)
{
    int r = PL_CLIENT_OK, sent_self = 0;

    for (size_t i = 0; i < pl_group_state_member_count(st) && r == PL_CLIENT_OK; i++) {
        const pl_group_member *m = pl_group_state_member(st, i);
        char user[CL_USERNAME_MAX + 1];

        member_name(m, user);
        if (is_us(c, m)) {
            if (m->n_devices < 2)
                continue; /* no other device of ours */
            sent_self = 1;
        }
        r = send_key(c, user, key);
    }
    (void)sent_self;
    return r;
}

/* Sends update to every member of st (our other devices included); skip may name one not to
 * send to (NULL). */
static int send_update_to_all(pl_client *c, const pl_group_state *st, const uint8_t id[16],
                              const uint8_t *change, size_t len, const char *skip)
{
    int r = PL_CLIENT_OK;

    for (size_t i = 0; i < pl_group_state_member_count(st) && r == PL_CLIENT_OK; i++) {
        const pl_group_member *m = pl_group_state_member(st, i);
        char user[CL_USERNAME_MAX + 1];

        member_name(m, user);
        if ((is_us(c, m) && m->n_devices < 2) || (skip && strcmp(user, skip) == 0))
            continue;
        r = send_update(c, user, id, change, len, NULL, 0);
    }
    return r;
}

/* A new chain for this device, saved (replacing the old one). */
static int new_own_key(pl_client *c, const pl_cstore_group *g, pl_sender_key **out)
{
    int r;

    *out = NULL;
    if (pl_sender_key_generate(out, NULL, g->group_id, c->device) != PL_OK)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "cannot make a sender key");
    if ((r = cl_group_save_own(c, g, *out)) != PL_CLIENT_OK) {
        pl_sender_key_free(*out);
        *out = NULL;
    }
    return r;
}

/* ---- Changes made here ------------------------------------------------------------------ */

static int find_group(pl_client *c, const char *name, pl_cstore_group *g, int need_active)
{
    int r;

    if (!valid_group_name(name))
        return cl_fail(c, PL_CLIENT_E_USAGE,
                       "\"%s\" is not a group name (1 to 31 of A-Z a-z 0-9 . _ -)", name);
    if ((r = pl_cstore_group_by_name(c->store, name, g)) == PL_CSTORE_E_NOT_FOUND)
        return cl_fail(c, PL_CLIENT_E_NOT_FOUND, "no group named %s", name);
    if (r != PL_CSTORE_OK)
        return cl_store_fail(c, r, "reading groups");
    if (need_active && !g->active)
        return cl_fail(c, PL_CLIENT_E_REFUSED, "you are no longer a member of %s", name);
    return PL_CLIENT_OK;
}

static int cmp_member(const void *a, const void *b)
{
    const pl_group_member *x = a, *y = b;
    size_t n = x->username_len < y->username_len ? x->username_len : y->username_len;
    int d = memcmp(x->username, y->username, n);

    return d ? d : (int)x->username_len - (int)y->username_len;
}

int pl_client_group_create(pl_client *c, const char *name, const char *const *users, size_t n)
{
    pl_group_member *members = NULL;
    pl_group_state *st = NULL;
    pl_sender_key *key = NULL;
    pl_group_change_body body;
    pl_cstore_group g;
    uint8_t *change = NULL;
    size_t change_len = 0, count = 0;
    int r;

    if (!c->have_identity)
        return cl_fail(c, PL_CLIENT_E_NOT_INITIALISED, "no account here yet");
    if (!valid_group_name(name))
        return cl_fail(c, PL_CLIENT_E_USAGE,
                       "\"%s\" is not a group name (1 to 31 of A-Z a-z 0-9 . _ -)", name);
    if (pl_cstore_group_by_name(c->store, name, &g) == PL_CSTORE_OK)
        return cl_fail(c, PL_CLIENT_E_USAGE, "a group named %s exists already", name);
    if (n + 1 > PL_GROUP_MAX_MEMBERS)
        return cl_fail(c, PL_CLIENT_E_USAGE, "at most %u members", PL_GROUP_MAX_MEMBERS);
    if (!(members = calloc(n + 1, sizeof *members)))
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    if ((r = member_from_log(c, c->username, &members[count++])) != PL_CLIENT_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char user[CL_USERNAME_MAX + 1];
        int dup = 0;

        if (!*users[i] || strlen(users[i]) > CL_USERNAME_MAX) {
            r = cl_fail(c, PL_CLIENT_E_BAD_USERNAME, "\"%s\" is not a username", users[i]);
            goto out;
        }
        lower(users[i], user);
        for (size_t k = 0; k < count; k++)
            dup |= members[k].username_len == strlen(user) &&
                   memcmp(members[k].username, user, strlen(user)) == 0;
        if (dup)
            continue;
        if ((r = member_from_log(c, user, &members[count++])) != PL_CLIENT_OK)
            goto out;
    }
    qsort(members, count, sizeof *members, cmp_member);
    memset(&g, 0, sizeof g);
    randombytes_buf(g.group_id, sizeof g.group_id);
    snprintf(g.name, sizeof g.name, "%s", name);
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_CREATE;
    body.name = (const uint8_t *)name;
    body.name_len = strlen(name);
    body.members = members;
    body.n_members = count;
    if (pl_group_change_sign(c->device, (const uint8_t *)c->username, strlen(c->username), NULL,
                             g.group_id, &body, &change, &change_len) != PL_OK ||
        pl_group_apply(NULL, change, change_len, &st, NULL) != PL_OK) {
        r = cl_fail(c, PL_CLIENT_E_USAGE, "cannot make the group's first state");
        goto out;
    }
    if ((r = pl_cstore_begin(c->store)) != PL_CSTORE_OK) {
        r = cl_store_fail(c, r, "saving the group");
        goto out;
    }
    if ((r = pl_cstore_group_add(c->store, &g)) != PL_CSTORE_OK)
        r = cl_store_fail(c, r, "saving the group");
    else if ((r = save_state(c, &g, st)) == PL_CLIENT_OK)
        r = new_own_key(c, &g, &key);
    if (r == PL_CLIENT_OK && (r = pl_cstore_commit(c->store)) != PL_CSTORE_OK)
        r = cl_store_fail(c, r, "saving the group");
    if (r != PL_CLIENT_OK) {
        pl_cstore_rollback(c->store);
        goto out;
    }
    /* The create to every member (and our other devices), then our chain. */
    if ((r = send_update_to_all(c, st, g.group_id, change, change_len, NULL)) == PL_CLIENT_OK)
        r = send_key_to_all(c, st, key);
out:
    free(members);
    free(change);
    pl_group_state_free(st);
    pl_sender_key_free(key);
    return r;
}

/* Signs body for group g, applies it, saves the next state: *next, *change (malloc'd). */
static int make_change(pl_client *c, const pl_cstore_group *g, const pl_group_state *st,
                       const pl_group_change_body *body, pl_group_state **next,
                       pl_group_applied *applied, uint8_t **change, size_t *change_len)
{
    int e;

    *next = NULL;
    e = pl_group_change_sign(c->device, (const uint8_t *)c->username, strlen(c->username), st,
                             g->group_id, body, change, change_len);
    if (e != PL_OK)
        return cl_fail(c, PL_CLIENT_E_USAGE, "that change cannot apply to %s (%s)", g->name,
                       pl_strerror(e));
    if ((e = pl_group_apply(st, *change, *change_len, next, applied)) != PL_OK)
        return cl_fail(c, PL_CLIENT_E_USAGE, "that change does not apply to %s (%s)", g->name,
                       pl_strerror(e));
    if ((e = save_parent(c, g, st)) != PL_CLIENT_OK)
        return e;
    return save_state(c, g, *next);
}

int pl_client_group_add(pl_client *c, const char *name, const char *user_in)
{
    pl_group_state *st = NULL, *next = NULL;
    pl_sender_key *key = NULL;
    pl_group_change_body body;
    pl_group_applied applied;
    pl_group_member m;
    pl_cstore_group g;
    char user[CL_USERNAME_MAX + 1];
    uint8_t *change = NULL, *prev = NULL;
    size_t change_len = 0, prev_len = 0, prev_cap;
    int r;

    if (!*user_in || strlen(user_in) > CL_USERNAME_MAX)
        return cl_fail(c, PL_CLIENT_E_BAD_USERNAME, "\"%s\" is not a username", user_in);
    lower(user_in, user);
    if ((r = find_group(c, name, &g, 1)) != PL_CLIENT_OK ||
        (r = cl_group_load_state(c, &g, &st)) != PL_CLIENT_OK ||
        (r = member_from_log(c, user, &m)) != PL_CLIENT_OK)
        goto out;
    prev_cap = pl_group_state_encoded_size(st);
    if (!(prev = malloc(prev_cap)) ||
        pl_group_state_encode(st, prev, prev_cap, &prev_len) != PL_OK) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_ADD;
    body.members = &m;
    body.n_members = 1;
    if ((r = make_change(c, &g, st, &body, &next, &applied, &change, &change_len)) != PL_CLIENT_OK)
        goto out;
    /* The new member gets the change with the state it applies to, the others the change.
     * Our chain goes to the new member when its own chain reaches us (store_key): it starts
     * the pairwise sessions, so that two devices never start one with each other at once. */
    if ((r = send_update(c, user, g.group_id, change, change_len, prev, prev_len)) == PL_CLIENT_OK)
        r = send_update_to_all(c, st, g.group_id, change, change_len, NULL);
out:
    free(change);
    free(prev);
    pl_group_state_free(st);
    pl_group_state_free(next);
    pl_sender_key_free(key);
    return r;
}

/* Remove (user != NULL) or leave. */
static int remove_or_leave(pl_client *c, const char *name, const char *user_in)
{
    pl_group_state *st = NULL, *next = NULL;
    pl_sender_key *key = NULL;
    pl_group_change_body body;
    pl_group_applied applied;
    pl_cstore_group g;
    char user[CL_USERNAME_MAX + 1] = "";
    uint8_t *change = NULL;
    size_t change_len = 0;
    int r;

    if (user_in) {
        if (!*user_in || strlen(user_in) > CL_USERNAME_MAX)
            return cl_fail(c, PL_CLIENT_E_BAD_USERNAME, "\"%s\" is not a username", user_in);
        lower(user_in, user);
        if (strcmp(user, c->username) == 0)
            return cl_fail(c, PL_CLIENT_E_USAGE, "to remove yourself, use `parley group leave`");
    }
    if ((r = find_group(c, name, &g, 1)) != PL_CLIENT_OK ||
        (r = cl_group_load_state(c, &g, &st)) != PL_CLIENT_OK)
        goto out;
    memset(&body, 0, sizeof body);
    body.kind = user_in ? PL_GROUP_CHANGE_REMOVE : PL_GROUP_CHANGE_LEAVE;
    body.username = (const uint8_t *)user;
    body.username_len = strlen(user);
    if ((r = make_change(c, &g, st, &body, &next, &applied, &change, &change_len)) != PL_CLIENT_OK)
        goto out;
    /* Everyone of the old state hears of it (the removed member too, so it stops). */
    if ((r = send_update_to_all(c, st, g.group_id, change, change_len, NULL)) != PL_CLIENT_OK)
        goto out;
    if (!user_in) {
        char own[64];

        secret_name(own, &g, "own");
        (void)pl_cstore_secret_delete(c->store, own);
        r = pl_cstore_group_set_active(c->store, g.local, 0) == PL_CSTORE_OK
                ? PL_CLIENT_OK
                : cl_store_fail(c, PL_CSTORE_E_IO, "leaving the group");
        goto out;
    }
    /* Rotate: a new chain, to the remaining members only. */
    if ((r = new_own_key(c, &g, &key)) == PL_CLIENT_OK)
        r = send_key_to_all(c, next, key);
out:
    free(change);
    pl_group_state_free(st);
    pl_group_state_free(next);
    pl_sender_key_free(key);
    return r;
}

int pl_client_group_rename(pl_client *c, const char *name, const char *new_name)
{
    pl_group_state *st = NULL, *next = NULL;
    pl_group_change_body body;
    pl_group_applied applied;
    pl_cstore_group g;
    uint8_t *change = NULL;
    size_t change_len = 0, n = strlen(new_name);
    int r;

    if (n == 0 || n > PL_GROUP_NAME_MAX)
        return cl_fail(c, PL_CLIENT_E_USAGE, "a group's name is 1 to %u bytes", PL_GROUP_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)new_name[i] < 0x20 || new_name[i] == 0x7f)
            return cl_fail(c, PL_CLIENT_E_USAGE, "a group's name has no control characters");
    if ((r = find_group(c, name, &g, 1)) != PL_CLIENT_OK ||
        (r = cl_group_load_state(c, &g, &st)) != PL_CLIENT_OK)
        goto out;
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_RENAME;
    body.name = (const uint8_t *)new_name;
    body.name_len = n;
    /* The shared name changes for every member; local names (which key the history) stay. */
    if ((r = make_change(c, &g, st, &body, &next, &applied, &change, &change_len)) == PL_CLIENT_OK)
        r = send_update_to_all(c, st, g.group_id, change, change_len, NULL);
out:
    free(change);
    pl_group_state_free(st);
    pl_group_state_free(next);
    return r;
}

int pl_client_group_remove(pl_client *c, const char *name, const char *user)
{
    return remove_or_leave(c, name, user);
}

int pl_client_group_leave(pl_client *c, const char *name)
{
    return remove_or_leave(c, name, NULL);
}

/* ---- Changes and keys received ---------------------------------------------------------- */

static void group_notice(pl_client *c, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void group_notice(pl_client *c, const char *who, const char *fmt, ...)
{
    char text[700];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (c->notice)
        c->notice(c->notice_ctx, who, text);
}

/* A local name for a group someone else made: its own name if free, else g-<id>. */
static void pick_name(pl_client *c, const pl_group_state *st, pl_cstore_group *g)
{
    pl_cstore_group other;
    size_t len = 0;
    const uint8_t *nm = pl_group_state_name(st, &len);
    char hex[9];

    if (len > 0 && len <= PL_CSTORE_GROUP_NAME_MAX) {
        memcpy(g->name, nm, len);
        g->name[len] = '\0';
        if (valid_group_name(g->name) &&
            pl_cstore_group_by_name(c->store, g->name, &other) == PL_CSTORE_E_NOT_FOUND)
            return;
    }
    cl_hex(g->group_id, 4, hex);
    snprintf(g->name, sizeof g->name, "g-%s", hex);
}

/*
 * Our chain for group g is to go to `to` (NULL: every member) once the messages waiting are
 * processed (cl_group_flush_joins). Sending it at once could start a pairwise session with a
 * device whose own first message to us (which starts one) is still waiting: each side would
 * then keep the other's session and neither could read the other (§32.3). The list is a
 * secret "g<local>/announce": usernames, one per line, or "*" for every member.
 */
static int defer_key(pl_client *c, const pl_cstore_group *g, const char *to)
{
    char name[64];
    uint8_t *old = NULL, *buf = NULL;
    size_t old_len = 0, n = to ? strlen(to) : 1, len = 0;
    int r;

    secret_name(name, g, "announce");
    r = pl_cstore_secret_get(c->store, name, &old, &old_len);
    if (r != PL_CSTORE_OK && r != PL_CSTORE_E_NOT_FOUND)
        return cl_store_fail(c, r, "reading a group's pending keys");
    if (r == PL_CSTORE_OK) {
        /* Already everyone, or already this one: nothing to add. */
        for (size_t at = 0; at < old_len;) {
            size_t e = at;

            while (e < old_len && old[e] != '\n')
                e++;
            if ((e - at == 1 && old[at] == '*') ||
                (to && e - at == n && memcmp(old + at, to, n) == 0)) {
                pl_cstore_free_secret(old, old_len);
                return PL_CLIENT_OK;
            }
            at = e + 1;
        }
    }
    /* At most one line per member (and a bounded list whatever senders claim). */
    if (!to || old_len > PL_GROUP_MAX_MEMBERS * (CL_USERNAME_MAX + 1u)) {
        old_len = 0;
        to = "*";
        n = 1;
    }
    if (!(buf = malloc(old_len + n + 1))) {
        pl_cstore_free_secret(old, old_len);
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    }
    if (old_len)
        memcpy(buf, old, old_len);
    len = old_len;
    memcpy(buf + len, to, n);
    len += n;
    buf[len++] = '\n';
    pl_cstore_free_secret(old, old_len);
    r = pl_cstore_secret_put(c->store, name, buf, len);
    free(buf);
    if (r != PL_CSTORE_OK)
        return cl_store_fail(c, r, "saving a group's pending keys");
    c->group_joined = 1;
    return PL_CLIENT_OK;
}

/* Do we hold a chain of any device of member m in group id? */
static int holds_key_of(pl_client *c, const uint8_t id[16], const pl_group_member *m)
{
    char user[CL_USERNAME_MAX + 1], name[64];
    uint8_t *blob = NULL;
    size_t len = 0;
    int held = 0;

    member_name(m, user);
    for (size_t i = 0; i < m->n_devices && !held; i++) {
        rx_name(name, id, user, m->devices[i].device_id);
        held = pl_cstore_secret_get(c->store, name, &blob, &len) == PL_CSTORE_OK;
        pl_cstore_free_secret(blob, len);
        blob = NULL;
        len = 0;
    }
    return held;
}

static void apply_update(pl_client *c, const char *sender, uint32_t sender_device,
                         const Parley__GroupUpdate *gu)
{
    pl_group_state *base = NULL, *next = NULL;
    pl_sender_key *key = NULL;
    pl_group_applied applied;
    pl_cstore_group g;
    uint8_t id[16];
    uint32_t left_epoch = 0;
    int known, rejoin = 0, r, e;

    if (gu->group_id.len != 16) {
        group_notice(c, sender, "a group change was malformed: ignored");
        return;
    }
    memcpy(id, gu->group_id.data, 16);
    known = pl_cstore_group_by_id(c->store, id, &g) == PL_CSTORE_OK;
    if (known && !g.active) {
        /* We left or were removed. Only an add of us again applies, with the state it applies
         * to (prev_state, as for a joiner); it is taken like a join, and must be newer than
         * the state we were removed in, so that a replay of the change that first added us
         * cannot bring back a state we are no longer in. */
        pl_group_state *last = NULL;

        if (gu->prev_state.len == 0)
            return;
        if (cl_group_load_state(c, &g, &last) == PL_CLIENT_OK)
            left_epoch = pl_group_state_epoch(last);
        pl_group_state_free(last);
        rejoin = 1;
        known = 0;
    }
    if (known) {
        if (cl_group_load_state(c, &g, &base) != PL_CLIENT_OK) {
            group_notice(c, sender, "a change to a group could not be applied: %s", c->err);
            return;
        }
    } else if (gu->prev_state.len > 0 &&
               pl_group_state_decode(gu->prev_state.data, gu->prev_state.len, &base) != PL_OK) {
        group_notice(c, sender, "a group state it sent was malformed: ignored");
        return;
    }
    e = pl_group_apply(base, gu->change.data, gu->change.len, &next, &applied);
    /* A sibling of the change we applied last (two members changed the group at once, to
     * the same result): the same rule everywhere picks one (client_group_devices.c). */
    if (e == PL_E_STATE_CHAIN && known &&
        cl_group_adopt_sibling(c, &g, base, sender, sender_device, gu->change.data, gu->change.len))
        goto out;
    if (e != PL_OK) {
        if (strcmp(sender, c->username) != 0) /* our own change may come back as a copy */
            group_notice(c, sender, "a group change did not verify (%s): ignored", pl_strerror(e));
        goto out;
    }
    {
        char author[CL_USERNAME_MAX + 1];
        uint8_t next_id[16];

        member_name(&applied.author, author);
        pl_group_state_id(next, next_id);
        if (strcmp(author, sender) != 0 || applied.author_device_id != sender_device ||
            sodium_memcmp(next_id, id, 16) != 0) {
            group_notice(c, sender,
                         "a group change was not made by the device that sent it: ignored");
            goto out;
        }
    }
    if (!known) {
        if (pl_group_state_find_member(next, (const uint8_t *)c->username, strlen(c->username)) < 0)
            goto out; /* not for us */
        /* Joining: every member's devices must be those of its verified state. */
        if ((r = cl_group_check_members(c, next)) != PL_CLIENT_OK) {
            group_notice(c, sender, "refused to join a group: %s", c->err);
            goto out;
        }
        if (rejoin && pl_group_state_epoch(next) <= left_epoch) {
            group_notice(c, sender,
                         "an old change adding you to group %s again was refused (a replay: you "
                         "left or were removed after it)",
                         g.name);
            goto out;
        }
        if (!rejoin) { /* a re-added member keeps its local name and history */
            memset(&g, 0, sizeof g);
            memcpy(g.group_id, id, 16);
            pick_name(c, next, &g);
        }
        if (pl_cstore_begin(c->store) != PL_CSTORE_OK)
            goto out;
        /* Our chain goes out once the messages already waiting are processed
         * (cl_group_flush_joins): members that joined with us, or that sent us a devices
         * change, may have started a session with this device in them, and we must use it
         * rather than start one of our own at the same time (§32.3). */
        if ((rejoin ? pl_cstore_group_set_active(c->store, g.local, 1)
                    : pl_cstore_group_add(c->store, &g)) != PL_CSTORE_OK ||
            save_state(c, &g, next) || (base && save_parent(c, &g, base)) ||
            new_own_key(c, &g, &key) || defer_key(c, &g, NULL) != PL_CLIENT_OK ||
            pl_cstore_commit(c->store) != PL_CSTORE_OK) {
            pl_cstore_rollback(c->store);
            group_notice(c, sender, "could not save a group: %s", c->err);
            goto out;
        }
        goto out;
    }
    /* A known group: the subject of an add or devices change is checked like a joiner. */
    if ((applied.kind == PL_GROUP_CHANGE_ADD || applied.kind == PL_GROUP_CHANGE_DEVICES) &&
        (r = check_member(c, &applied.subject)) != PL_CLIENT_OK) {
        group_notice(c, sender, "refused a group change: %s", c->err);
        goto out;
    }
    if (save_parent(c, &g, base) != PL_CLIENT_OK || save_state(c, &g, next) != PL_CLIENT_OK) {
        group_notice(c, sender, "could not save a group: %s", c->err);
        goto out;
    }
    if (pl_group_state_find_member(next, (const uint8_t *)c->username, strlen(c->username)) < 0) {
        char own[64];

        secret_name(own, &g, "own");
        (void)pl_cstore_secret_delete(c->store, own);
        (void)pl_cstore_group_set_active(c->store, g.local, 0);
        group_notice(c, sender, "you were removed from group %s", g.name);
        goto out;
    }
    /* A new member whose key reached us before this add (store_key did not answer it). */
    if (applied.kind == PL_GROUP_CHANGE_ADD && holds_key_of(c, id, &applied.subject)) {
        char subject[CL_USERNAME_MAX + 1];

        member_name(&applied.subject, subject);
        if (defer_key(c, &g, subject) != PL_CLIENT_OK)
            group_notice(c, sender, "could not send our group key: %s", c->err);
        goto out;
    }
    if (applied.rotate_sender_keys) {
        if (new_own_key(c, &g, &key) == PL_CLIENT_OK && send_key_to_all(c, next, key) == 0)
            goto out;
        group_notice(c, sender, "could not rotate our group key: %s", c->err);
    }
out:
    pl_group_state_free(base);
    pl_group_state_free(next);
    pl_sender_key_free(key);
}

/* Is (device_id, identity_key) a device of member `user` in g's state? */
static int is_member_device(pl_client *c, const pl_cstore_group *g, const char *user,
                            uint32_t device_id, const uint8_t identity_key[PL_PUBKEY_BYTES])
{
    pl_group_state *st = NULL;
    long idx;
    int ok;

    if (cl_group_load_state(c, g, &st) != PL_CLIENT_OK)
        return 0;
    idx = pl_group_state_find_member(st, (const uint8_t *)user, strlen(user));
    ok = idx >= 0 && pl_group_state_find_device(st, device_id, identity_key) == idx;
    pl_group_state_free(st);
    return ok;
}

static void store_key(pl_client *c, const char *sender, uint32_t sender_device,
                      const Parley__GroupSenderKey *sk)
{
    pl_sender_key_receiver *rx = NULL;
    pl_sender_key_info info;
    pl_cstore_group g;
    char name[64];
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    int first;

    if (pl_sender_key_receiver_create(&rx, sk->distribution.data, sk->distribution.len) != PL_OK) {
        group_notice(c, sender, "a group key it sent was malformed: ignored");
        return;
    }
    pl_sender_key_receiver_get_info(rx, &info);
    /* Only the device that sent it over its pairwise session may distribute its chain; its
     * identity key is checked against the group state when a message is decrypted. */
    if (info.device_id != sender_device) {
        group_notice(c, sender, "a group key named another device: ignored");
        goto out;
    }
    cap = pl_sender_key_receiver_saved_size(rx);
    rx_name(name, info.group_id, sender, sender_device);
    /* A chain for a group we do not know (yet) counts against its sender's bound. */
    if (pl_cstore_group_by_id(c->store, info.group_id, &g) != PL_CSTORE_OK &&
        cl_group_pending_note(c, sender, info.group_id, sender_device) != PL_CLIENT_OK) {
        group_notice(c, sender, "could not save a group key: %s", c->err);
        goto out;
    }
    {
        uint8_t *old = NULL;
        size_t old_len = 0;

        first = pl_cstore_secret_get(c->store, name, &old, &old_len) == PL_CSTORE_E_NOT_FOUND;
        pl_cstore_free_secret(old, old_len);
    }
    if ((buf = malloc(cap)) && pl_sender_key_receiver_save(rx, buf, cap, &len) == PL_OK &&
        pl_cstore_secret_put(c->store, name, buf, len) != PL_CSTORE_OK) {
        group_notice(c, sender, "could not save a group key: %s", pl_cstore_last_error(c->store));
        goto out;
    }
    /* The first chain of another member device (our own new device too): answer with ours
     * (a new member or device, or one that joined while we did), over the session its
     * message started, once the messages waiting are processed (cl_group_flush_joins). Only
     * a member device of our state is answered: anyone can name a group id (the server reads
     * it off every group message), and our chain would let them read what we send. A key
     * that overtook the add of its member is answered when that add arrives (apply_update). */
    if (first && pl_cstore_group_by_id(c->store, info.group_id, &g) == PL_CSTORE_OK && g.active) {
        if (!is_member_device(c, &g, sender, info.device_id, info.identity_key))
            group_notice(c, sender,
                         "a group key from %s's device %u, which is not a member device of %s: "
                         "not answered",
                         sender, info.device_id, g.name);
        else if (defer_key(c, &g, sender) != PL_CLIENT_OK)
            group_notice(c, sender, "could not send our group key: %s", c->err);
    }
out:
    if (buf)
        sodium_memzero(buf, cap);
    free(buf);
    pl_sender_key_receiver_free(rx);
}

void cl_group_control(pl_client *c, const char *sender, uint32_t sender_device,
                      const Parley__Content *ct)
{
    if (ct->group_update)
        apply_update(c, sender, sender_device, ct->group_update);
    if (ct->group_sender_key)
        store_key(c, sender, sender_device, ct->group_sender_key);
}

void cl_group_rx_name(char out[64], const uint8_t group_id[16], const char *user, uint32_t dev);
void cl_group_rx_name(char out[64], const uint8_t group_id[16], const char *user, uint32_t dev)
{
    rx_name(out, group_id, user, dev);
}

/* ---- Listing ------------------------------------------------------------------------------ */

static void fill(const pl_cstore_group *g, const pl_group_state *st, pl_client_group *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", g->name);
    cl_hex(g->group_id, 16, out->id);
    out->active = g->active;
    if (st) {
        size_t len = 0;
        const uint8_t *shared = pl_group_state_name(st, &len);

        out->epoch = pl_group_state_epoch(st);
        out->n_members = pl_group_state_member_count(st);
        if (len >= sizeof out->shared_name)
            len = sizeof out->shared_name - 1;
        memcpy(out->shared_name, shared, len);
        out->shared_name[len] = '\0';
    }
}

int pl_client_group_info(pl_client *c, const char *name, pl_client_group *out)
{
    pl_group_state *st = NULL;
    pl_cstore_group g;
    int r;

    memset(out, 0, sizeof *out);
    if ((r = find_group(c, name, &g, 0)) != PL_CLIENT_OK ||
        (r = cl_group_load_state(c, &g, &st)) != PL_CLIENT_OK)
        return r;
    fill(&g, st, out);
    if (!(out->members = calloc(out->n_members ? out->n_members : 1, sizeof *out->members))) {
        pl_group_state_free(st);
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < out->n_members; i++) {
        const pl_group_member *m = pl_group_state_member(st, i);

        member_name(m, out->members[i].username);
        out->members[i].n_devices = m->n_devices;
        for (size_t d = 0; d < m->n_devices && d < 16; d++)
            out->members[i].device_ids[d] = m->devices[d].device_id;
    }
    pl_group_state_free(st);
    return PL_CLIENT_OK;
}

typedef struct list_ctx {
    pl_client *c;
    pl_client_group_cb cb;
    void *ctx;
} list_ctx;

static int list_each(void *arg, const pl_cstore_group *g)
{
    list_ctx *l = arg;
    pl_group_state *st = NULL;
    pl_client_group v;
    int stop;

    (void)cl_group_load_state(l->c, g, &st);
    fill(g, st, &v);
    stop = l->cb(l->ctx, &v);
    pl_group_state_free(st);
    return stop;
}

int pl_client_groups(pl_client *c, pl_client_group_cb cb, void *ctx)
{
    list_ctx l = {c, cb, ctx};
    int r = pl_cstore_group_list(c->store, list_each, &l);

    return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "listing groups");
}

/* ---- For client_group_devices.c (declared in client_group_devices.h) ----------------------- */

int cl_group_member_from_log(pl_client *c, const char *user, pl_group_member *m)
{
    return member_from_log(c, user, m);
}

int cl_group_make_change(pl_client *c, const pl_cstore_group *g, const pl_group_state *st,
                         const pl_group_change_body *body, pl_group_state **next,
                         pl_group_applied *applied, uint8_t **change, size_t *change_len)
{
    return make_change(c, g, st, body, next, applied, change, change_len);
}

int cl_group_send_update(pl_client *c, const char *to, const uint8_t group_id[16],
                         const uint8_t *change, size_t change_len, const uint8_t *prev,
                         size_t prev_len)
{
    return send_update(c, to, group_id, change, change_len, prev, prev_len);
}

int cl_group_send_update_to_all(pl_client *c, const pl_group_state *st, const uint8_t id[16],
                                const uint8_t *change, size_t len, const char *skip)
{
    return send_update_to_all(c, st, id, change, len, skip);
}

int cl_group_rotate(pl_client *c, const pl_cstore_group *g, const pl_group_state *next)
{
    pl_sender_key *key = NULL;
    int r = new_own_key(c, g, &key);

    if (r == PL_CLIENT_OK)
        r = send_key_to_all(c, next, key);
    pl_sender_key_free(key);
    return r;
}

int cl_group_find(pl_client *c, const char *name, pl_cstore_group *g, int need_active)
{
    return find_group(c, name, g, need_active);
}

int cl_group_send_own_key(pl_client *c, const pl_cstore_group *g, const char *to)
{
    pl_sender_key *own = NULL;
    int r = cl_group_load_own(c, g, &own);

    if (r == PL_CLIENT_OK)
        r = send_key(c, to, own);
    pl_sender_key_free(own);
    return r;
}

int cl_group_load_parent(pl_client *c, const pl_cstore_group *g, pl_group_state **out)
{
    char name[64];
    uint8_t *blob = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    secret_name(name, g, "prev");
    if ((r = pl_cstore_secret_get(c->store, name, &blob, &len)) != PL_CSTORE_OK)
        return r == PL_CSTORE_E_NOT_FOUND ? PL_CLIENT_E_NOT_FOUND
                                          : cl_store_fail(c, r, "reading a group's state");
    r = pl_group_state_decode(blob, len, out);
    pl_cstore_free_secret(blob, len);
    return r == PL_OK ? PL_CLIENT_OK
                      : cl_fail(c, PL_CLIENT_E_CORRUPT, "a saved state of %s is damaged", g->name);
}

int cl_group_save_state(pl_client *c, const pl_cstore_group *g, const pl_group_state *st)
{
    return save_state(c, g, st);
}

/* ---- Chains of groups joined, sent after the messages waiting (§32.3) --------------------- */

typedef struct active_list {
    pl_cstore_group *g;
    size_t n, cap;
    int nomem;
} active_list;

static int collect_active(void *arg, const pl_cstore_group *g)
{
    active_list *l = arg;

    if (!g->active)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        pl_cstore_group *more = realloc(l->g, cap * sizeof *more);

        if (!more) {
            l->nomem = 1;
            return 1;
        }
        l->g = more;
        l->cap = cap;
    }
    l->g[l->n++] = *g;
    return 0;
}

int cl_group_list_active(pl_client *c, pl_cstore_group **out, size_t *n)
{
    active_list l = {NULL, 0, 0, 0};
    int r = pl_cstore_group_list(c->store, collect_active, &l);

    *out = NULL;
    *n = 0;
    if (r != PL_CSTORE_OK || l.nomem) {
        free(l.g);
        return l.nomem ? cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory")
                       : cl_store_fail(c, r, "listing groups");
    }
    *out = l.g;
    *n = l.n;
    return PL_CLIENT_OK;
}

void cl_group_flush_joins(pl_client *c)
{
    active_list list = {NULL, 0, 0, 0}, *l = &list;

    c->group_joined = 0;
    if (cl_group_list_active(c, &l->g, &l->n) != PL_CLIENT_OK)
        return;
    for (size_t i = 0; i < l->n; i++) {
        pl_group_state *st = NULL;
        pl_sender_key *key = NULL;
        uint8_t *mark = NULL;
        size_t mark_len = 0;
        char announce[64];

        int r;

        secret_name(announce, &l->g[i], "announce");
        if (pl_cstore_secret_get(c->store, announce, &mark, &mark_len) != PL_CSTORE_OK)
            continue;
        r = cl_group_load_state(c, &l->g[i], &st);
        if (r == PL_CLIENT_OK)
            r = cl_group_load_own(c, &l->g[i], &key);
        for (size_t at = 0; r == PL_CLIENT_OK && at < mark_len;) {
            char user[CL_USERNAME_MAX + 1];
            size_t e = at;

            while (e < mark_len && mark[e] != '\n')
                e++;
            if (e - at == 1 && mark[at] == '*') {
                r = send_key_to_all(c, st, key);
            } else if (e - at >= 1 && e - at <= CL_USERNAME_MAX) {
                memcpy(user, mark + at, e - at);
                user[e - at] = '\0';
                /* Members only: a chain from anyone else is no reason to send ours. */
                if (pl_group_state_find_member(st, (const uint8_t *)user, e - at) >= 0)
                    r = send_key(c, user, key);
            }
            at = e + 1;
        }
        pl_cstore_free_secret(mark, mark_len);
        if (r == PL_CLIENT_OK)
            (void)pl_cstore_secret_delete(c->store, announce);
        else
            group_notice(c, c->username,
                         "could not send our key of group %s (tried again "
                         "at the next receive): %s",
                         l->g[i].name, c->err);
        pl_group_state_free(st);
        pl_sender_key_free(key);
    }
    free(l->g);
}
