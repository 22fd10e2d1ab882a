/*
 * client_group_devices.c: keeping each member's devices in a group equal to the member's
 * verified key-transparency state (PROTOCOL.md §32.2 "Devices").
 *
 * A member links or removes a device: its account state changes in the log, and every group
 * state that lists the member's old devices now fails the ghost-device check. The group is
 * brought back with a `devices` change, which any member device may sign (§30.2) and every
 * receiver checks against the member's verified state:
 *   - the device that approved or removed the device issues one for its own member in every
 *     active group, once the log shows the change (pl_client_group_own_devices_changed);
 *   - a device about to send to a group issues one for any member whose verified devices
 *     differ from the state (cl_group_sync_members), so a member whose own devices did not
 *     (offline, or an old client) does not stop the group.
 * The change goes with prev_state to the member's own account (its new device does not know
 * the group and joins from it, §32.3) and without to the other members; a change that drops
 * a device rotates every sender key, ours first.
 *
 * Two devices may so issue a change from the same state at the same moment (the member's own
 * device and a sender, or two senders): a fork of the change chain. When both give the same
 * group (the same members, devices and name: the usual case, two devices changes for the
 * same new device list), every device keeps the one whose change hashes smaller
 * (cl_group_adopt_sibling), so all converge once both changes reached them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client_group_devices.h"
#include "client_kt.h"

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};

    nanosleep(&ts, NULL);
}

static void member_name(const pl_group_member *m, char out[CL_USERNAME_MAX + 1])
{
    size_t n = m->username_len > CL_USERNAME_MAX ? CL_USERNAME_MAX : m->username_len;

    memcpy(out, m->username, n);
    out[n] = '\0';
}

/* The member entry of kt's account, named user. */
static void member_from_kt(const char *user, const cl_kt_state *kt, pl_group_member *m)
{
    memset(m, 0, sizeof *m);
    m->username_len = (uint8_t)strlen(user);
    memcpy(m->username, user, m->username_len);
    memcpy(m->account_key, kt->state.account_key, PL_PUBKEY_BYTES);
    for (size_t i = 0; i < kt->state.n_devices && i < PL_GROUP_MAX_DEVICES; i++) {
        m->devices[i].device_id = kt->state.devices[i].device_id;
        memcpy(m->devices[i].identity_key, kt->state.devices[i].identity_key, PL_PUBKEY_BYTES);
        m->n_devices++;
    }
}

/*
 * Does member m of a state have the devices of its verified state (looked up again once on
 * a difference)? *differs = 0 if so; else 1 and *want is the member as the log shows it. A
 * new account key or an empty device list is an error: no devices change can express it.
 */
static int compare_with_log(pl_client *c, const pl_group_member *m, pl_group_member *want,
                            int *differs)
{
    char user[CL_USERNAME_MAX + 1];
    cl_kt_state *kt = malloc(sizeof *kt);
    int r = PL_CLIENT_OK;

    *differs = 0;
    if (!kt)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    if (m->username_len == 0 || m->username_len > CL_USERNAME_MAX) {
        r = cl_fail(c, PL_CLIENT_E_PROTOCOL, "a group member's name is not a username");
        goto out;
    }
    member_name(m, user);
    for (int refresh = 0; refresh < 2; refresh++) {
        if ((r = cl_kt_current(c, user, refresh, kt)) != PL_CLIENT_OK)
            goto out;
        if (pl_group_member_check_account_state(m, &kt->state) == PL_OK)
            goto out;
    }
    if (sodium_memcmp(kt->state.account_key, m->account_key, PL_PUBKEY_BYTES) != 0 ||
        kt->state.n_devices == 0 || kt->state.n_devices > PL_GROUP_MAX_DEVICES) {
        r = cl_fail(c, PL_CLIENT_E_KT_UNLOGGED,
                    "the group lists %s with another account key than its verified "
                    "key-transparency state (or the log shows no device): refusing; remove "
                    "and add %s again",
                    user, user);
        goto out;
    }
    member_from_kt(user, kt, want);
    *differs = 1;
out:
    free(kt);
    return r;
}

/* Signs, saves and sends the devices change that makes want the member's entry in *st. */
static int issue_devices_change(pl_client *c, const pl_cstore_group *g, pl_group_state **st,
                                const pl_group_member *want)
{
    pl_group_change_body body;
    pl_group_applied applied;
    pl_group_state *next = NULL;
    char user[CL_USERNAME_MAX + 1];
    uint8_t *change = NULL, *prev = NULL;
    size_t change_len = 0, prev_len = 0, prev_cap = pl_group_state_encoded_size(*st);
    int r;

    member_name(want, user);
    if (strcmp(user, c->username) == 0) {
        int present = 0;

        for (size_t d = 0; d < want->n_devices; d++)
            present |= want->devices[d].device_id == c->device_id;
        if (!present)
            return cl_fail(c, PL_CLIENT_E_REFUSED,
                           "this device is no longer in its account's verified state");
    }
    if (!(prev = malloc(prev_cap)) ||
        pl_group_state_encode(*st, prev, prev_cap, &prev_len) != PL_OK) {
        free(prev);
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    }
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_DEVICES;
    body.members = want;
    body.n_members = 1;
    if ((r = cl_group_make_change(c, g, *st, &body, &next, &applied, &change, &change_len)) !=
        PL_CLIENT_OK)
        goto out;
    /* The member's own devices get the state it applies to (a new one joins from it), the
     * others the change alone; a removed device is in neither verified list, so it gets
     * nothing. Then, if a device left, our new chain to the devices that remain; else our
     * chain to the member's devices, so that a new one reads what we send next (over the
     * session the update just started: we send first, it answers). */
    /* The state is saved: the others are told even if the member's own devices could not
     * be (a new device without published keys yet); a member that missed the change makes
     * an equivalent one at its next send, and the two converge (a fork of siblings). */
    r = cl_group_send_update(c, user, g->group_id, change, change_len, prev, prev_len);
    {
        char first_err[sizeof c->err];
        int r2;

        snprintf(first_err, sizeof first_err, "%s", c->err);
        r2 = cl_group_send_update_to_all(c, *st, g->group_id, change, change_len, user);
        if (r2 == PL_CLIENT_OK)
            r2 = applied.rotate_sender_keys
                     ? cl_group_rotate(c, g, next)
                     : (r == PL_CLIENT_OK ? cl_group_send_own_key(c, g, user) : PL_CLIENT_OK);
        if (r != PL_CLIENT_OK)
            (void)cl_fail(c, r, "%s", first_err);
        else
            r = r2;
    }
    pl_group_state_free(*st);
    *st = next;
    next = NULL;
out:
    free(change);
    free(prev);
    pl_group_state_free(next);
    return r;
}

int cl_group_sync_members(pl_client *c, const pl_cstore_group *g, pl_group_state **st,
                          const char *only, size_t *changed)
{
    pl_group_member want;
    int r = PL_CLIENT_OK;

    *changed = 0;
    /* By index: a devices change keeps the member list (and so the indices) as it was. */
    for (size_t i = 0; i < pl_group_state_member_count(*st); i++) {
        const pl_group_member *m = pl_group_state_member(*st, i);
        char user[CL_USERNAME_MAX + 1];
        int differs = 0;

        member_name(m, user);
        if (only && strcmp(user, only) != 0)
            continue;
        if ((r = compare_with_log(c, m, &want, &differs)) != PL_CLIENT_OK)
            return r;
        if (!differs)
            continue;
        if ((r = issue_devices_change(c, g, st, &want)) != PL_CLIENT_OK)
            return r;
        ++*changed;
    }
    return PL_CLIENT_OK;
}

/* ---- After a device of our own account was approved or removed -------------------------- */

/* Waits, bounded, until our verified state lists device_id (added) or does not (removed). */
static int await_own_state(pl_client *c, uint32_t device_id, int added)
{
    cl_kt_state *kt = malloc(sizeof *kt);
    int r = PL_CLIENT_OK;

    if (!kt)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    for (int attempt = 0;; attempt++) {
        int has = 0;

        r = cl_kt_current(c, c->username, 1, kt);
        if (r == PL_CLIENT_OK) {
            for (size_t i = 0; i < kt->state.n_devices; i++)
                has |= kt->state.devices[i].device_id == device_id;
            if (has == !!added)
                break;
        } else if (r != PL_CLIENT_E_KT_UNLOGGED) {
            break;
        }
        if (attempt == CL_KT_UNLOGGED_WAITS) {
            r = cl_fail(c, PL_CLIENT_E_KT_UNLOGGED,
                        "the key-transparency log does not show device %u %s yet", device_id,
                        added ? "added" : "removed");
            break;
        }
        sleep_ms(CL_KT_RETRY_MS);
    }
    free(kt);
    return r;
}

int pl_client_group_own_devices_changed(pl_client *c, uint32_t device_id, int added,
                                        size_t *n_groups)
{
    struct {
        pl_cstore_group *g;
        size_t n;
    } l = {NULL, 0};
    int r, first_err = PL_CLIENT_OK;
    char err[sizeof c->err] = "";

    *n_groups = 0;
    if (!c->have_identity)
        return cl_fail(c, PL_CLIENT_E_NOT_INITIALISED, "no account here yet");
    if ((r = cl_group_list_active(c, &l.g, &l.n)) != PL_CLIENT_OK)
        return r;
    if (l.n == 0) {
        free(l.g);
        return PL_CLIENT_OK; /* no group: nothing to wait for */
    }
    if ((r = await_own_state(c, device_id, added)) != PL_CLIENT_OK) {
        free(l.g);
        return r;
    }
    /* Every group is tried; the first failure is reported, after the others were done. */
    for (size_t i = 0; i < l.n; i++) {
        pl_group_state *st = NULL;
        size_t changed = 0;

        r = cl_group_load_state(c, &l.g[i], &st);
        if (r == PL_CLIENT_OK)
            r = cl_group_sync_members(c, &l.g[i], &st, c->username, &changed);
        pl_group_state_free(st);
        *n_groups += changed != 0;
        if (r != PL_CLIENT_OK && first_err == PL_CLIENT_OK) {
            first_err = r;
            snprintf(err, sizeof err, "group %s: %.400s", l.g[i].name, c->err);
        }
    }
    free(l.g);
    if (first_err != PL_CLIENT_OK)
        return cl_fail(c, first_err, "%s", err);
    return PL_CLIENT_OK;
}

/* ---- Forks ---------------------------------------------------------------------------------- */

/* Where last_change_hash sits in a state's encoding (§30.1: version, group id, epoch,
 * max_members before it). */
#define LAST_CHANGE_AT (1u + 16u + 4u + 2u)

int cl_group_sibling_order(const uint8_t *ours, size_t ours_len, const uint8_t *theirs,
                           size_t theirs_len)
{
    const size_t end = LAST_CHANGE_AT + PL_GROUP_HASH_BYTES;

    if (ours_len != theirs_len || ours_len < end || memcmp(ours, theirs, LAST_CHANGE_AT) != 0 ||
        memcmp(ours + end, theirs + end, ours_len - end) != 0)
        return CL_GROUP_SIBLING_NOT;
    return memcmp(theirs + LAST_CHANGE_AT, ours + LAST_CHANGE_AT, PL_GROUP_HASH_BYTES) < 0
               ? CL_GROUP_SIBLING_ADOPT
               : CL_GROUP_SIBLING_KEEP;
}

static uint8_t *encode(const pl_group_state *st, size_t *len)
{
    size_t cap = pl_group_state_encoded_size(st);
    uint8_t *buf = malloc(cap);

    if (buf && pl_group_state_encode(st, buf, cap, len) != PL_OK) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

int cl_group_adopt_sibling(pl_client *c, const pl_cstore_group *g, const pl_group_state *cur,
                           const char *sender, uint32_t sender_device, const uint8_t *change,
                           size_t len)
{
    pl_group_state *parent = NULL, *alt = NULL;
    pl_group_applied applied;
    char author[CL_USERNAME_MAX + 1];
    uint8_t *ours = NULL, *theirs = NULL;
    size_t ours_len = 0, theirs_len = 0;
    int handled = 0, order;

    if (cl_group_load_parent(c, g, &parent) != PL_CLIENT_OK ||
        pl_group_apply(parent, change, len, &alt, &applied) != PL_OK)
        goto out;
    member_name(&applied.author, author);
    if (strcmp(author, sender) != 0 || applied.author_device_id != sender_device)
        goto out;
    if (!(ours = encode(cur, &ours_len)) || !(theirs = encode(alt, &theirs_len)))
        goto out;
    order = cl_group_sibling_order(ours, ours_len, theirs, theirs_len);
    if (order == CL_GROUP_SIBLING_NOT)
        goto out;
    /* The members are those we hold already (checked when we applied ours): no key to
     * rotate, nobody new to check. */
    if (order == CL_GROUP_SIBLING_ADOPT && cl_group_save_state(c, g, alt) != PL_CLIENT_OK)
        goto out;
    handled = 1;
out:
    free(ours);
    free(theirs);
    pl_group_state_free(parent);
    pl_group_state_free(alt);
    return handled;
}
