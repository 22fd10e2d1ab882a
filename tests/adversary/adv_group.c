/*
 * adv_group.c: the stage of the adversarial tests of groups (adv_group.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>

#include "adv_group.h"
#include "client_internal.h"
#include "parley/group_state.h"
#include "parley/sender_key.h"
#include "parleyd_harness.h"

/* client_group.c (declared there too, not in a header) */
int cl_group_load_state(pl_client *c, const pl_cstore_group *g, pl_group_state **out);
int cl_group_load_own(pl_client *c, const pl_cstore_group *g, pl_sender_key **out);
void cl_group_rx_name(char out[64], const uint8_t group_id[16], const char *user, uint32_t dev);

static void log_add(adv_log *l, int notice, const char *group, const char *from, const char *text,
                    size_t len)
{
    if (l->n >= ADV_LOG_MAX)
        fail_msg("adv_group: more than %d entries in a member's log", ADV_LOG_MAX);
    l->e[l->n].notice = notice;
    snprintf(l->e[l->n].group, sizeof l->e[l->n].group, "%s", group ? group : "");
    snprintf(l->e[l->n].from, sizeof l->e[l->n].from, "%s", from ? from : "");
    if (len >= sizeof l->e[l->n].text)
        len = sizeof l->e[l->n].text - 1;
    memcpy(l->e[l->n].text, text, len);
    l->e[l->n].text[len] = '\0';
    l->n++;
}

static void on_notice(void *ctx, const char *user, const char *text)
{
    log_add(ctx, 1, NULL, user, text, strlen(text));
}

static int on_message(void *ctx, const pl_client_message *m)
{
    /* Unreadable-message notices come through here too (m->notice) as well as on_notice:
     * only messages are logged from here. */
    if (!m->notice)
        log_add(ctx, 0, m->group, m->from, m->text, m->text_len);
    return 0;
}

void adv_member_attach(adv_member *m)
{
    memset(&m->log, 0, sizeof m->log);
    pl_client_on_notice(m->c, on_notice, &m->log);
}

void adv_member_recv(adv_member *m, int wait_ms)
{
    int r = pl_client_receive(m->c, wait_ms, on_message, &m->log);

    if (r != PL_CLIENT_OK && r != PL_CLIENT_E_TIMEOUT)
        fail_msg("adv_group: receive on %s: %s: %s", m->c->username, pl_client_errname(r),
                 pl_client_error(m->c));
}

size_t adv_log_count(const adv_log *l, int notice, const char *needle)
{
    size_t k = 0;

    for (size_t i = 0; i < l->n; i++)
        if ((notice < 0 || l->e[i].notice == notice) && strstr(l->e[i].text, needle))
            k++;
    return k;
}

void adv_log_dump(const char *who, const adv_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        fprintf(stderr, "  %s %s [%s] from %s: %s\n", who, l->e[i].notice ? "notice " : "message",
                l->e[i].group, l->e[i].from, l->e[i].text);
}

static int group_row(pl_client *c, const char *name, pl_cstore_group *g)
{
    return pl_cstore_group_by_name(c->store, name, g) == PL_CSTORE_OK;
}

void adv_group_id(pl_client *c, const char *name, uint8_t id[16])
{
    pl_cstore_group g;

    if (!group_row(c, name, &g))
        fail_msg("adv_group: %s has no group %s", c->username, name);
    memcpy(id, g.group_id, 16);
}

uint32_t adv_group_rx_key_id(pl_client *c, const uint8_t id[16], const char *sender,
                             uint32_t device)
{
    pl_sender_key_receiver *rx = NULL;
    pl_sender_key_info info;
    char name[64];
    uint8_t *blob = NULL;
    size_t len = 0;
    uint32_t key_id = 0;

    cl_group_rx_name(name, id, sender, device);
    if (pl_cstore_secret_get(c->store, name, &blob, &len) != PL_CSTORE_OK)
        return 0;
    if (pl_sender_key_receiver_load(&rx, blob, len) == PL_OK) {
        pl_sender_key_receiver_get_info(rx, &info);
        key_id = info.key_id;
    }
    pl_sender_key_receiver_free(rx);
    pl_cstore_free_secret(blob, len);
    return key_id;
}

uint32_t adv_group_own_key_id(pl_client *c, const char *name)
{
    pl_cstore_group g;
    pl_sender_key *key = NULL;
    pl_sender_key_info info;
    uint32_t key_id = 0;

    if (!group_row(c, name, &g) || cl_group_load_own(c, &g, &key) != PL_CLIENT_OK)
        return 0;
    pl_sender_key_get_info(key, &info);
    key_id = info.key_id;
    pl_sender_key_free(key);
    return key_id;
}

uint8_t *adv_group_state(pl_client *c, const char *name, size_t *len, int *active)
{
    pl_cstore_group g;
    pl_group_state *st = NULL;
    uint8_t *out;

    *len = 0;
    if (active)
        *active = 0;
    if (!group_row(c, name, &g))
        return NULL;
    if (cl_group_load_state(c, &g, &st) != PL_CLIENT_OK)
        fail_msg("adv_group: %s cannot load its state of %s: %s", c->username, name, c->err);
    if (active)
        *active = g.active;
    out = malloc(pl_group_state_encoded_size(st));
    assert_non_null(out);
    assert_int_equal(pl_group_state_encode(st, out, pl_group_state_encoded_size(st), len), PL_OK);
    pl_group_state_free(st);
    return out;
}

void adv_assert_group_unchanged(pl_client *c, const char *name, const uint8_t *before,
                                size_t before_len)
{
    size_t len = 0;
    int active = 0;
    uint8_t *now = adv_group_state(c, name, &len, &active);

    if (!now)
        fail_msg("adv_group: %s lost its group %s", c->username, name);
    if (len != before_len || memcmp(now, before, len) != 0)
        fail_msg("adv_group: %s's state of %s changed", c->username, name);
    if (!active)
        fail_msg("adv_group: %s no longer counts itself in %s", c->username, name);
    free(now);
}

typedef struct keys_pred {
    adv_member *const *members;
    size_t n;
    const char *name;
    char missing[160];
} keys_pred;

static int keys_held(void *arg)
{
    keys_pred *p = arg;

    for (size_t i = 0; i < p->n; i++) {
        pl_client *holder = p->members[i]->c;
        uint8_t id[16];
        pl_cstore_group g;

        if (!group_row(holder, p->name, &g)) {
            snprintf(p->missing, sizeof p->missing, "%s has no group %s", holder->username,
                     p->name);
            return 0;
        }
        memcpy(id, g.group_id, 16);
        for (size_t j = 0; j < p->n; j++) {
            pl_client *sender = p->members[j]->c;
            uint32_t own;

            if (i == j)
                continue;
            own = adv_group_own_key_id(sender, p->name);
            if (own == 0 ||
                adv_group_rx_key_id(holder, id, sender->username, sender->device_id) != own) {
                snprintf(p->missing, sizeof p->missing, "%s lacks the current chain of %s",
                         holder->username, sender->username);
                return 0;
            }
        }
    }
    return 1;
}

void adv_group_wait_until(adv_member *const *all, size_t n_all, int (*pred)(void *), void *arg,
                          const char *what)
{
    uint64_t deadline = ph_now_ms() + ADV_GROUP_WAIT_MS;

    while (!pred(arg)) {
        if (ph_now_ms() > deadline) {
            for (size_t i = 0; i < n_all; i++)
                adv_log_dump(all[i]->c->username, &all[i]->log);
            fail_msg("adv_group: after %u ms, still not: %s", ADV_GROUP_WAIT_MS, what);
        }
        for (size_t i = 0; i < n_all; i++)
            adv_member_recv(all[i], 100);
    }
}

void adv_group_wait_keys(adv_member *const *all, size_t n_all, adv_member *const *members, size_t n,
                         const char *name)
{
    keys_pred p = {members, n, name, ""};
    uint64_t deadline = ph_now_ms() + ADV_GROUP_WAIT_MS;

    while (!keys_held(&p)) {
        if (ph_now_ms() > deadline) {
            for (size_t i = 0; i < n_all; i++)
                adv_log_dump(all[i]->c->username, &all[i]->log);
            fail_msg("adv_group: after %u ms the sender keys of %s did not arrive: %s",
                     ADV_GROUP_WAIT_MS, name, p.missing);
        }
        for (size_t i = 0; i < n_all; i++)
            adv_member_recv(all[i], 100);
    }
}

mp_verdict adv_group_send_add_device(mp_frame_ctx *fx, const Parley__ClientFrame *f,
                                     const char *user, uint32_t device,
                                     const uint8_t identity_key[33])
{
    Parley__ClientFrame nf;
    Parley__Request rq;
    Parley__GroupSend gs;
    const Parley__GroupSend *old;
    char names[2048];
    uint32_t counts[64], ids[128];
    uint8_t keys[128 * 33];
    mp_verdict v;

    if (f->kind_case != PARLEY__CLIENT_FRAME__KIND_REQUEST ||
        f->request->body_case != PARLEY__REQUEST__BODY_GROUP_SEND)
        return MP_FORWARD;
    old = f->request->group_send;
    if (old->n_device_counts >= 64 || old->n_device_ids >= 128 ||
        old->identity_keys.len != old->n_device_ids * 33 ||
        strlen(old->usernames) + strlen(user) + 2 > sizeof names)
        fail_msg("adv_group: a GroupSend too large for the test's rewrite");
    nf = *f;
    rq = *f->request;
    gs = *old;
    snprintf(names, sizeof names, "%s %s", old->usernames, user);
    memcpy(counts, old->device_counts, old->n_device_counts * sizeof *counts);
    counts[old->n_device_counts] = 1;
    memcpy(ids, old->device_ids, old->n_device_ids * sizeof *ids);
    ids[old->n_device_ids] = device;
    memcpy(keys, old->identity_keys.data, old->identity_keys.len);
    memcpy(keys + old->identity_keys.len, identity_key, 33);
    gs.usernames = names;
    gs.device_counts = counts;
    gs.n_device_counts = old->n_device_counts + 1;
    gs.device_ids = ids;
    gs.n_device_ids = old->n_device_ids + 1;
    gs.identity_keys.data = keys;
    gs.identity_keys.len = old->identity_keys.len + 33;
    rq.group_send = &gs;
    nf.request = &rq;
    v = mp_emit_client(fx, &nf);
    return v;
}

void adv_identity_key(pl_client *c, uint8_t out[33])
{
    pl_device_identity_key(c->device, out);
}

void adv_send_group_update(pl_client *from, const char *to, const uint8_t id[16],
                           const uint8_t *change, size_t len, const uint8_t *prev, size_t prev_len)
{
    Parley__Content ct = PARLEY__CONTENT__INIT;
    Parley__GroupUpdate gu = PARLEY__GROUP_UPDATE__INIT;
    int r;

    gu.change.data = (uint8_t *)change;
    gu.change.len = len;
    gu.prev_state.data = (uint8_t *)prev;
    gu.prev_state.len = prev ? prev_len : 0;
    gu.group_id.data = (uint8_t *)id;
    gu.group_id.len = 16;
    ct.group_update = &gu;
    if ((r = cl_send_content(from, to, "", 0, &ct, NULL)) != PL_CLIENT_OK)
        fail_msg("adv_group: %s sending a GroupUpdate to %s: %s: %s", from->username, to,
                 pl_client_errname(r), pl_client_error(from));
}
