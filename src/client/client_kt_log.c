/*
 * client_kt_log.c: our own account's history in the key-transparency log (`parley log`):
 * the greatest version, then every version 0..latest with a fixed lookup, each verified
 * against the checkpoint (client_kt.c) and checked against the one before it (the owner's
 * chain, PROTOCOL.md §19.3 and §25 rule 4). For each version: when it was made, by which
 * device, and which devices it added or removed. Anything none of our devices could have
 * made is reported on the version and raised once as a high-priority alert. The history is
 * read only: the saved view and states do not move (the monitoring lookup does that).
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client_kt.h"

typedef struct log_work {
    pl_cstore_kt_log log;
    pl_kt_view view;
    pl_kt_lookup_result greatest, step;
    pl_account_state prev;
    uint8_t prev_hash[PL_ACCOUNT_STATE_HASH_BYTES];
    uint8_t bad_state[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t bad_state_len;
    pl_client_log_entry e;
} log_work;

static int has_record(const pl_account_state *s, const uint8_t rec[PL_DEVICE_RECORD_BYTES])
{
    for (size_t i = 0; i < s->n_devices; i++)
        if (sodium_memcmp(s->device_records[i], rec, PL_DEVICE_RECORD_BYTES) == 0)
            return 1;
    return 0;
}

static int has_id(const pl_account_state *s, uint32_t id)
{
    for (size_t i = 0; i < s->n_devices; i++)
        if (s->devices[i].device_id == id)
            return 1;
    return 0;
}

static void device_of(const pl_device_record *d, pl_client_kt_device *out)
{
    memset(out, 0, sizeof *out);
    out->id = d->device_id;
    pl_key_fingerprint(d->identity_key, out->fingerprint);
    out->added_at_ms = d->created_at * 1000u;
}

/* Fills e for `next` after `prev` (NULL for version 0) and says what is unexpected. */
static void describe(const uint8_t own_key[PL_PUBKEY_BYTES], const pl_account_state *prev,
                     const uint8_t prev_hash[PL_ACCOUNT_STATE_HASH_BYTES],
                     const pl_kt_lookup_result *next, pl_client_log_entry *e)
{
    const pl_account_state *s = &next->state;
    int rule = cl_kt_rule_own_step(own_key, prev, prev_hash, s);

    memset(e, 0, sizeof *e);
    e->version = next->version;
    e->created_at_ms = s->created_at_ms;
    e->entry_time_ms = next->timestamp_ms;
    e->publisher_device_id = s->publisher_device_id;
    e->n_devices = s->n_devices;
    for (size_t i = 0; i < s->n_devices; i++)
        if (!prev || !has_record(prev, s->device_records[i]))
            device_of(&s->devices[i], &e->added[e->n_added++]);
    for (size_t i = 0; prev && i < prev->n_devices; i++)
        if (!has_record(s, prev->device_records[i]))
            device_of(&prev->devices[i], &e->removed[e->n_removed++]);
    if (rule == CL_KT_RULE_OWN_KEY)
        snprintf(e->unexpected, sizeof e->unexpected,
                 "signed by another account key: none of our devices made it");
    else if (rule == CL_KT_RULE_OWN_CHAIN)
        snprintf(e->unexpected, sizeof e->unexpected,
                 "does not extend the version before it: none of our devices made it");
    else if (prev && !has_id(prev, s->publisher_device_id))
        snprintf(e->unexpected, sizeof e->unexpected,
                 "published by device %u, which was not a device of the account",
                 s->publisher_device_id);
    else if (!prev && s->publisher_device_id != 0 && !has_id(s, s->publisher_device_id))
        snprintf(e->unexpected, sizeof e->unexpected, "published by device %u, which is not in it",
                 s->publisher_device_id);
    else if (prev && e->n_added + e->n_removed == 0)
        snprintf(e->unexpected, sizeof e->unexpected, "changes no device");
}

int pl_client_account_log(pl_client *c, pl_client_log_cb cb, void *ctx)
{
    log_work *w = calloc(1, sizeof *w);
    uint32_t first_bad = UINT32_MAX;
    char why[160] = "";
    cl_kt_answer a;
    int r;

    memset(&a, 0, sizeof a);
    if (!w)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    if ((r = cl_kt_load_view(c, &w->log, &w->view)) != PL_CLIENT_OK)
        goto out;
    r = cl_kt_fetch_lookup(c, c->username, w->view.has_checkpoint ? w->view.size : 0, 0, 0, &a);
    if (r == PL_CLIENT_E_NOT_FOUND) {
        r = cl_fail(c, PL_CLIENT_E_KT_UNLOGGED,
                    "the key-transparency log has no entry for %s (yet): try again in a moment",
                    c->username);
        goto out;
    }
    if (r != PL_CLIENT_OK ||
        (r = cl_kt_verify_answer(c, &w->log, &w->view, c->username, 1, PL_KT_LOOKUP_GREATEST, 0,
                                 NULL, &a, &w->greatest)) != PL_CLIENT_OK)
        goto out;
    if (w->greatest.version >= CL_KT_MAX_OWN_VERSIONS) {
        r = cl_kt_alert(c, PL_CLIENT_E_KT_OWN, c->username, CL_KT_ALERT_OWN_CHAIN, 1, NULL, 0,
                        "the log shows version %u of our account: more than any of our devices "
                        "made",
                        w->greatest.version);
        goto out;
    }
    for (uint32_t v = 0;; v++) {
        const pl_kt_lookup_result *res = &w->greatest;

        if (v != w->greatest.version) {
            cl_kt_answer_free(&a); /* the greatest answer is not needed past here */
            r = cl_kt_fetch_lookup(c, c->username, w->view.size, 1, v, &a);
            if (r == PL_CLIENT_E_NOT_FOUND) {
                r = cl_kt_alert(c, PL_CLIENT_E_KT_OWN, c->username, CL_KT_ALERT_OWN_CHAIN, 1, NULL,
                                0, "the log shows version %u of our account but not version %u",
                                w->greatest.version, v);
                goto out;
            }
            if (r != PL_CLIENT_OK ||
                (r = cl_kt_verify_answer(c, &w->log, &w->view, c->username, 1, PL_KT_LOOKUP_FIXED,
                                         v, NULL, &a, &w->step)) != PL_CLIENT_OK)
                goto out;
            res = &w->step;
        }
        describe(c->account_key, v ? &w->prev : NULL, w->prev_hash, res, &w->e);
        if (w->e.unexpected[0] && first_bad == UINT32_MAX) {
            first_bad = v;
            snprintf(why, sizeof why, "%s", w->e.unexpected);
            memcpy(w->bad_state, res->value, res->value_len);
            w->bad_state_len = res->value_len;
        }
        w->prev = res->state;
        pl_account_state_hash(res->value, res->value_len, w->prev_hash);
        if (cb && cb(ctx, &w->e) != 0)
            break;
        if (v == w->greatest.version)
            break;
    }
    r = PL_CLIENT_OK;
    if (first_bad != UINT32_MAX) {
        pl_cstore_kt_evidence ev = {"state.bin", w->bad_state, w->bad_state_len};

        r = cl_kt_alert(c, PL_CLIENT_E_KT_OWN, c->username, CL_KT_ALERT_OWN_CHAIN, 1, &ev, 1,
                        "version %u of our account in the log is unexpected: %s", first_bad, why);
    }
out:
    cl_kt_answer_free(&a);
    free(w);
    return r;
}
