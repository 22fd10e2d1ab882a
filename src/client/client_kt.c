/*
 * client_kt.c: key-transparency verification in the client runtime (client_kt.h; PROTOCOL.md
 * §21, §23, §25; docs/CLIENT.md "Key transparency"): pinning the server's log, the saved
 * view, one lookup verified end to end, the client rules applied in one store transaction,
 * owner monitoring and the status `parley verify` shows.
 *
 * Commit on success: every lookup works on a copy of the view and on local values; the store
 * changes only after the checkpoint, the proof and every rule passed. A failure stores only
 * an alert with its evidence (client_kt_alerts.c).
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client_kt.h"

/* client_contacts.c: the key-change rules for a contact's account key. */
int cl_check_account_key(pl_client *c, const char *user, const uint8_t key[PL_PUBKEY_BYTES]);

/* ---- Requests ----------------------------------------------------------------------------- */

/* KT requests need no authentication: before the identity exists (link), connect anonymously. */
static int kt_request(pl_client *c, Parley__Request *req, Parley__ServerFrame **out)
{
    int r;

    *out = NULL;
    if (c->have_identity)
        return cl_request(c, req, out);
    if ((r = cl_connect_anonymous(c)) != PL_CLIENT_OK)
        return r;
    if ((r = pl_cconn_request(c->conn, req, out, CL_REQUEST_TIMEOUT_MS)) != PL_CLIENT_OK) {
        r = cl_fail(c, r, "%s: %s", c->server, pl_cconn_error(c->conn));
        cl_disconnect(c);
    }
    return r;
}

void cl_kt_answer_free(cl_kt_answer *a)
{
    pl_frame_server_free(a->f);
    memset(a, 0, sizeof *a);
}

/* KtLookup. Returns PL_CLIENT_OK with *a filled, E_NOT_FOUND (no such published version,
 * no error recorded), E_PROTOCOL for a malformed answer, or a network error. */
int cl_kt_fetch_lookup(pl_client *c, const char *label, uint64_t known_size, int fixed,
                       uint32_t version, cl_kt_answer *a)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtLookup kl = PARLEY__KT_LOOKUP__INIT;
    const Parley__KtLookupResult *lr;
    int r;

    memset(a, 0, sizeof *a);
    kl.username = (char *)label;
    kl.known_size = known_size;
    kl.fixed = fixed ? 1 : 0;
    kl.version = version;
    req.body_case = PARLEY__REQUEST__BODY_KT_LOOKUP;
    req.kt_lookup = &kl;
    if ((r = kt_request(c, &req, &a->f)) != PL_CLIENT_OK)
        return r;
    /* A log that lost entries refuses a known_size past its newest checkpoint. Ask again
     * without it: the view then sees the smaller signed checkpoint and keeps both notes as
     * evidence of the rollback (§21 step 4), instead of a bare refusal. */
    if (cl_status(a->f) == PARLEY__STATUS_CODE__STATUS_BAD_REQUEST && known_size > 0) {
        cl_kt_answer_free(a);
        kl.known_size = 0;
        if ((r = kt_request(c, &req, &a->f)) != PL_CLIENT_OK)
            return r;
    }
    if (cl_status(a->f) == PARLEY__STATUS_CODE__STATUS_NOT_FOUND) {
        cl_kt_answer_free(a);
        return PL_CLIENT_E_NOT_FOUND;
    }
    if (cl_status(a->f) != 0) {
        r = cl_refused(c, a->f, "looking up a key-transparency label");
        cl_kt_answer_free(a);
        return r;
    }
    lr = a->f->response->body_case == PARLEY__RESPONSE__BODY_KT_LOOKUP ? a->f->response->kt_lookup
                                                                       : NULL;
    if (cl_kt_answer_parse(lr, a) == 0)
        return PL_CLIENT_OK;
    cl_kt_answer_free(a);
    return cl_fail(c, PL_CLIENT_E_PROTOCOL, "%s sent a malformed key-transparency lookup answer",
                   c->server);
}

/* ---- The pinned log ----------------------------------------------------------------------- */

static void config_text(const pl_cstore_kt_log *log, char *out, size_t cap)
{
    char hex[65];
    size_t o;

    cl_hex(log->vrf_key, 32, hex); /* cl_hex writes 2 * len characters */
    o = (size_t)snprintf(out, cap, "origin %s\nlog_vkey %s\nvrf_key %s\n", log->origin,
                         log->log_vkey, hex);
    for (size_t i = 0; i < log->n_witnesses && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "witness %s\n", log->witness_vkeys[i]);
    if (o < cap)
        snprintf(out + o, cap - o, "quorum %u\nmax_ahead_ms %llu\nmax_behind_ms %llu\n",
                 log->quorum, (unsigned long long)log->max_ahead_ms,
                 (unsigned long long)log->max_behind_ms);
}

static int same_config(const pl_cstore_kt_log *a, const pl_cstore_kt_log *b)
{
    if (strcmp(a->origin, b->origin) != 0 || strcmp(a->log_vkey, b->log_vkey) != 0 ||
        sodium_memcmp(a->vrf_key, b->vrf_key, 32) != 0 || a->n_witnesses != b->n_witnesses ||
        a->quorum != b->quorum || a->max_ahead_ms != b->max_ahead_ms ||
        a->max_behind_ms != b->max_behind_ms)
        return 0;
    for (size_t i = 0; i < a->n_witnesses; i++)
        if (strcmp(a->witness_vkeys[i], b->witness_vkeys[i]) != 0)
            return 0;
    return 1;
}

int cl_kt_pin(pl_client *c)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtConfigGet kg = PARLEY__KT_CONFIG_GET__INIT;
    Parley__ServerFrame *f = NULL;
    const Parley__KtConfig *kc;
    pl_cstore_kt_log *offered = NULL, *pinned = NULL;
    pl_kt_view *v = NULL;
    char *t1 = NULL, *t2 = NULL;
    int r;

    req.body_case = PARLEY__REQUEST__BODY_KT_CONFIG;
    req.kt_config = &kg;
    if ((r = kt_request(c, &req, &f)) != PL_CLIENT_OK)
        return r;
    if (cl_status(f) != 0) {
        r = cl_refused(c, f, "fetching the key-transparency configuration");
        goto out;
    }
    r = PL_CLIENT_E_NOMEM;
    if (!(offered = calloc(1, sizeof *offered)) || !(pinned = calloc(1, sizeof *pinned)) ||
        !(v = malloc(sizeof *v))) {
        r = cl_fail(c, r, "out of memory");
        goto out;
    }
    kc = f->response->body_case == PARLEY__RESPONSE__BODY_KT_CONFIG ? f->response->kt_config : NULL;
    r = cl_fail(c, PL_CLIENT_E_PROTOCOL, "%s sent an invalid key-transparency configuration",
                c->server);
    if (cl_kt_config_parse(kc, offered, v) != 0)
        goto out;
    offered->pinned_at_ms = cl_now_ms();
    r = pl_cstore_kt_log_get(c->store, pinned);
    if (r == PL_CSTORE_E_NOT_FOUND) {
        r = pl_cstore_kt_log_put(c->store, offered);
        r = r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "pinning the log");
        goto out;
    }
    if (r != PL_CSTORE_OK) {
        r = cl_store_fail(c, r, "reading the pinned log");
        goto out;
    }
    if (same_config(pinned, offered)) {
        r = PL_CLIENT_OK;
        goto out;
    }
    {
        size_t cap = 8192;
        pl_cstore_kt_evidence ev[2];

        if (!(t1 = malloc(cap)) || !(t2 = malloc(cap))) {
            r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
            goto out;
        }
        config_text(pinned, t1, cap);
        config_text(offered, t2, cap);
        ev[0] = (pl_cstore_kt_evidence){"pinned-config.txt", (const uint8_t *)t1, strlen(t1)};
        ev[1] = (pl_cstore_kt_evidence){"offered-config.txt", (const uint8_t *)t2, strlen(t2)};
        r = cl_kt_alert(c, PL_CLIENT_E_KT_CONFIG, "", CL_KT_ALERT_CONFIG, 1, ev, 2,
                        "%s offers a key-transparency log (%s) that is not the one pinned (%s)",
                        c->server, offered->origin, pinned->origin);
    }
out:
    pl_frame_server_free(f);
    free(offered);
    free(pinned);
    free(v);
    free(t1);
    free(t2);
    return r;
}

int cl_kt_pin_at_setup(pl_client *c, int r)
{
    char why[sizeof c->err];

    if (r != PL_CLIENT_OK)
        return r;
    if (cl_kt_pin(c) != PL_CLIENT_OK) {
        snprintf(why, sizeof why, "%s", c->err);
        if (c->notice)
            c->notice(c->notice_ctx, c->server, why);
        c->err[0] = '\0';
    }
    return PL_CLIENT_OK;
}

/*
 * Loads the pinned log and the view. The saved checkpoint is hostile disk data: its note must
 * open under the pinned log key and carry the saved origin, size and root. Pins the log first
 * if none is pinned (a home made before key transparency: trust on first use, as at init).
 */
int cl_kt_load_view(pl_client *c, pl_cstore_kt_log *log, pl_kt_view *v)
{
    int r = pl_cstore_kt_log_get(c->store, log);

    if (r == PL_CSTORE_E_NOT_FOUND) {
        if ((r = cl_kt_pin(c)) != PL_CLIENT_OK)
            return r;
        r = pl_cstore_kt_log_get(c->store, log);
    }
    if (r != PL_CSTORE_OK) {
        if (r != PL_CSTORE_E_CORRUPT)
            return cl_store_fail(c, r, "reading the pinned log");
        return cl_kt_alert(c, PL_CLIENT_E_KT_STATE, "", CL_KT_ALERT_SAVED, 1, NULL, 0,
                           "the saved key-transparency log is damaged: %s",
                           pl_cstore_last_error(c->store));
    }
    r = cl_kt_saved_view(log, v);
    if (r == -1)
        return cl_kt_alert(c, PL_CLIENT_E_KT_STATE, "", CL_KT_ALERT_SAVED, 1, NULL, 0,
                           "the pinned key-transparency configuration does not parse");
    if (r != 0) {
        pl_cstore_kt_evidence ev = {"saved-checkpoint.note", (const uint8_t *)log->note,
                                    log->note_len};

        return cl_kt_alert(c, PL_CLIENT_E_KT_STATE, "", CL_KT_ALERT_SAVED, 1, &ev, 1,
                           "the saved key-transparency checkpoint (size %llu) does not verify "
                           "under the pinned log key: the local store was altered",
                           (unsigned long long)log->size);
    }
    return PL_CLIENT_OK;
}

/* ---- One lookup, verified ----------------------------------------------------------------- */

/* Moves *work to the answer's checkpoint and verifies its proof for (label, kind, version);
 * on any failure raises the alert and leaves *work as it was. */
int cl_kt_verify_answer(pl_client *c, const pl_cstore_kt_log *log, pl_kt_view *work,
                        const char *label, int high, uint8_t kind, uint32_t version,
                        const pl_cstore_kt_label *row, const cl_kt_answer *a,
                        pl_kt_lookup_result *res)
{
    pl_kt_vrf_cached cache[PL_CSTORE_KT_VRF_CACHE_MAX];
    pl_kt_lookup_failure why = PL_KT_LOOKUP_OK;
    pl_kt_view_evidence ev;
    pl_kt_view *next = malloc(sizeof *next);
    size_t n_cache = 0;
    int r;

    if (!next)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    *next = *work;
    r = pl_kt_view_update(next, a->note, a->note_len, cl_now_ms(), a->n_cons ? a->cons : NULL,
                          a->n_cons, &ev);
    if (r != PL_OK) {
        pl_cstore_kt_evidence e[3];
        size_t n = 0;
        int transient = cl_kt_view_reason_transient(ev.reason);

        if (ev.has_old && ev.old_note)
            e[n++] = (pl_cstore_kt_evidence){"old-checkpoint.note", (const uint8_t *)ev.old_note,
                                             ev.old_note_len};
        e[n++] =
            (pl_cstore_kt_evidence){"new-checkpoint.note", (const uint8_t *)a->note, a->note_len};
        e[n++] = (pl_cstore_kt_evidence){"consistency.bin", (const uint8_t *)a->cons,
                                         a->n_cons * PL_MERKLE_HASH_BYTES};
        r = cl_kt_alert(c, PL_CLIENT_E_KT_VIEW, "",
                        transient ? CL_KT_ALERT_VIEW_TIMING : CL_KT_ALERT_VIEW, !transient, e, n,
                        "the key-transparency checkpoint from %s was refused: %s (size %llu "
                        "after %llu)",
                        c->server, cl_kt_view_reason_str(ev.reason),
                        (unsigned long long)(ev.has_new ? ev.new_size : 0),
                        (unsigned long long)(ev.has_old ? ev.old_size : 0));
        free(next);
        return r;
    }
    for (size_t i = 0; row && i < row->n_vrf_cache; i++) {
        cache[n_cache].version = row->vrf_cache[i].version;
        memcpy(cache[n_cache++].vrf_out, row->vrf_cache[i].vrf_out, PL_KT_VRF_OUT_BYTES);
    }
    r = pl_kt_lookup_verify(log->vrf_key, (const uint8_t *)label, strlen(label), next->size,
                            next->root, kind, version, n_cache ? cache : NULL, n_cache, a->proof,
                            a->proof_len, res, &why);
    if (r != PL_OK) {
        pl_cstore_kt_evidence e[2] = {
            {"checkpoint.note", (const uint8_t *)a->note, a->note_len},
            {"proof.bin", a->proof, a->proof_len},
        };
        const char *reason = why != PL_KT_LOOKUP_OK
                                 ? pl_kt_lookup_failure_str(why)
                                 : pl_kt_lookup_failure_str(PL_KT_LOOKUP_MALFORMED);

        free(next);
        return cl_kt_alert(c, PL_CLIENT_E_KT_PROOF, label, CL_KT_ALERT_LOOKUP, high, e, 2,
                           "the key-transparency proof for %s (%s lookup%s) did not verify: %s",
                           label, kind == PL_KT_LOOKUP_FIXED ? "fixed" : "greatest",
                           kind == PL_KT_LOOKUP_FIXED ? ", one version" : "", reason);
    }
    *work = *next;
    free(next);
    return PL_CLIENT_OK;
}

/* Adds a verified VRF output to the label's cache (the highest versions are kept). */
static void cache_add(pl_cstore_kt_label *row, uint32_t version,
                      const uint8_t vrf_out[PL_KT_VRF_OUT_BYTES])
{
    size_t low = 0;

    for (size_t i = 0; i < row->n_vrf_cache; i++)
        if (row->vrf_cache[i].version == version)
            return;
    if (row->n_vrf_cache < PL_CSTORE_KT_VRF_CACHE_MAX) {
        low = row->n_vrf_cache++;
    } else {
        for (size_t i = 1; i < row->n_vrf_cache; i++)
            if (row->vrf_cache[i].version < row->vrf_cache[low].version)
                low = i;
        if (row->vrf_cache[low].version > version)
            return;
    }
    row->vrf_cache[low].version = version;
    memcpy(row->vrf_cache[low].vrf_out, vrf_out, PL_KT_VRF_OUT_BYTES);
}

void cl_kt_to_device_list(const cl_kt_state *s, cl_device_list *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->account_key, s->state.account_key, PL_PUBKEY_BYTES);
    out->n = s->state.n_devices < CL_DEVICES_MAX ? s->state.n_devices : CL_DEVICES_MAX;
    for (size_t i = 0; i < out->n; i++) {
        out->records[i] = s->state.devices[i];
        memcpy(out->raw[i], s->state.device_records[i], PL_DEVICE_RECORD_BYTES);
    }
}

/* Everything one lookup of a label works with, on the heap (a view is ~25 KiB). */
typedef struct kt_work {
    pl_cstore_kt_log log;
    pl_kt_view view, work;
    pl_cstore_kt_label row, next_row;
    pl_kt_lookup_result res, step;
    pl_account_state prev;
    uint8_t prev_raw[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t prev_raw_len;
} kt_work;

/* Fills out from a stored row, verifying the state bytes again (the disk is hostile). */
static int state_from_row(pl_client *c, const pl_cstore_kt_label *row, cl_kt_state *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->label, sizeof out->label, "%s", row->label);
    if (pl_account_state_verify(row->state, row->state_len, &out->state) != PL_OK ||
        out->state.seq != row->version ||
        (strcmp(row->label, c->username) == 0 &&
         sodium_memcmp(out->state.account_key, c->account_key, PL_PUBKEY_BYTES) != 0)) {
        pl_cstore_kt_evidence ev = {"saved-state.bin", row->state, row->state_len};

        return cl_kt_alert(c, PL_CLIENT_E_KT_STATE, row->label, CL_KT_ALERT_SAVED, 1, &ev, 1,
                           "the saved key-transparency state of %s does not verify: the local "
                           "store was altered",
                           row->label);
    }
    out->version = row->version;
    memcpy(out->raw, row->state, row->state_len);
    out->raw_len = row->state_len;
    out->tree_size = row->tree_size;
    out->entry_time_ms = row->entry_time_ms;
    out->verified_at_ms = row->verified_at_ms;
    return PL_CLIENT_OK;
}

/* Our own chain from the last verified state (w->prev, or none) up to w->res: every version
 * in between is fetched with a fixed lookup and must extend the one before (§25 rule 4). */
static int check_own_chain(pl_client *c, kt_work *w, int have_prev, const cl_kt_answer *greatest)
{
    uint32_t from = have_prev ? w->prev.seq + 1 : 0;
    pl_account_state *prev = have_prev ? &w->prev : NULL;
    uint8_t prev_hash[PL_ACCOUNT_STATE_HASH_BYTES];
    int r;

    if (have_prev)
        pl_account_state_hash(w->prev_raw, w->prev_raw_len, prev_hash);
    if (w->res.version - from >= CL_KT_MAX_OWN_VERSIONS)
        return cl_kt_alert(c, PL_CLIENT_E_KT_OWN, c->username, CL_KT_ALERT_OWN_CHAIN, 1, NULL, 0,
                           "the log shows version %u of our account, %u versions after the last "
                           "one verified: more than any of our devices made",
                           w->res.version, w->res.version - from + 1);
    for (uint32_t v = from;; v++) {
        cl_kt_answer a;
        const pl_kt_lookup_result *next;
        const cl_kt_answer *src;
        int rule;

        memset(&a, 0, sizeof a);
        if (v == w->res.version) {
            next = &w->res;
            src = greatest;
        } else {
            r = cl_kt_fetch_lookup(c, c->username, w->work.size, 1, v, &a);
            if (r == PL_CLIENT_E_NOT_FOUND)
                return cl_kt_alert(c, PL_CLIENT_E_KT_OWN, c->username, CL_KT_ALERT_OWN_CHAIN, 1,
                                   NULL, 0,
                                   "the log shows version %u of our account but not version %u",
                                   w->res.version, v);
            if (r != PL_CLIENT_OK)
                return r;
            if ((r = cl_kt_verify_answer(c, &w->log, &w->work, c->username, 1, PL_KT_LOOKUP_FIXED,
                                         v, &w->next_row, &a, &w->step)) != PL_CLIENT_OK) {
                cl_kt_answer_free(&a);
                return r;
            }
            cache_add(&w->next_row, v, w->step.vrf_out);
            next = &w->step;
            src = &a;
        }
        rule = cl_kt_rule_own_step(c->account_key, prev, prev_hash, &next->state);
        if (rule != CL_KT_RULE_OK) {
            pl_cstore_kt_evidence e[4];
            size_t n = 0;

            if (prev)
                e[n++] =
                    (pl_cstore_kt_evidence){"previous-state.bin", w->prev_raw, w->prev_raw_len};
            e[n++] = (pl_cstore_kt_evidence){"state.bin", next->value, next->value_len};
            e[n++] = (pl_cstore_kt_evidence){"proof.bin", src->proof, src->proof_len};
            e[n++] = (pl_cstore_kt_evidence){"checkpoint.note", (const uint8_t *)src->note,
                                             src->note_len};
            r = cl_kt_alert(
                c, PL_CLIENT_E_KT_OWN, c->username,
                rule == CL_KT_RULE_OWN_KEY ? CL_KT_ALERT_OWN_KEY : CL_KT_ALERT_OWN_CHAIN, 1, e, n,
                rule == CL_KT_RULE_OWN_KEY
                    ? "version %u of our account in the log is signed by another "
                      "account key: none of our devices made it"
                    : "version %u of our account in the log does not extend the "
                      "version before it: none of our devices made it",
                v);
            cl_kt_answer_free(&a);
            return r;
        }
        w->prev = next->state;
        memcpy(w->prev_raw, next->value, next->value_len);
        w->prev_raw_len = next->value_len;
        pl_account_state_hash(w->prev_raw, w->prev_raw_len, prev_hash);
        prev = &w->prev;
        cl_kt_answer_free(&a);
        if (v == w->res.version)
            return PL_CLIENT_OK;
    }
}

/* Whether the server knows the user at all (ListDevices' status only: nothing it lists is
 * used or stored). PL_CLIENT_OK, E_UNKNOWN_USER, or a network error. */
static int user_exists(pl_client *c, const char *user)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__ListDevices ld = PARLEY__LIST_DEVICES__INIT;
    Parley__ServerFrame *f = NULL;
    int r;

    ld.username = (char *)user;
    req.body_case = PARLEY__REQUEST__BODY_LIST_DEVICES;
    req.list_devices = &ld;
    if ((r = kt_request(c, &req, &f)) != PL_CLIENT_OK)
        return r;
    r = cl_status(f) == PARLEY__STATUS_CODE__STATUS_NOT_FOUND
            ? cl_fail(c, PL_CLIENT_E_UNKNOWN_USER, "there is no user %s on %s", user, c->server)
            : PL_CLIENT_OK;
    pl_frame_server_free(f);
    return r;
}

/* The greatest lookup of label and every rule, then one transaction. */
static int lookup_and_commit(pl_client *c, kt_work *w, const char *label, int have_row,
                             cl_kt_state *out)
{
    int own = strcmp(label, c->username) == 0, r, rule, key_r = PL_CLIENT_OK;
    uint8_t last_hash[PL_ACCOUNT_STATE_HASH_BYTES];
    cl_kt_answer a;

    w->work = w->view;
    r = cl_kt_fetch_lookup(c, label, w->work.has_checkpoint ? w->work.size : 0, 0, 0, &a);
    if (r == PL_CLIENT_E_NOT_FOUND) {
        if (have_row)
            return cl_kt_alert(c, PL_CLIENT_E_KT_ROLLBACK, label, CL_KT_ALERT_MISSING, own, NULL, 0,
                               "%s says the key-transparency log has no version of %s, which "
                               "was verified at version %u before",
                               c->server, label, w->row.version);
        if ((r = user_exists(c, label)) != PL_CLIENT_OK)
            return r;
        return cl_fail(c, PL_CLIENT_E_KT_UNLOGGED,
                       "the key-transparency log has no entry for %s (yet): try again in a "
                       "moment",
                       label);
    }
    if (r != PL_CLIENT_OK)
        return r;
    if ((r = cl_kt_verify_answer(c, &w->log, &w->work, label, own, PL_KT_LOOKUP_GREATEST, 0,
                                 have_row ? &w->row : NULL, &a, &w->res)) != PL_CLIENT_OK)
        goto out;
    if (have_row)
        pl_account_state_hash(w->row.state, w->row.state_len, last_hash);
    rule =
        cl_kt_rule_version(have_row, w->row.version, last_hash, w->res.version, w->res.state_hash);
    if (rule != CL_KT_RULE_OK) {
        pl_cstore_kt_evidence e[3] = {
            {"previous-state.bin", w->row.state, w->row.state_len},
            {"proof.bin", a.proof, a.proof_len},
            {"checkpoint.note", (const uint8_t *)a.note, a.note_len},
        };

        r = rule == CL_KT_RULE_ROLLBACK
                ? cl_kt_alert(c, PL_CLIENT_E_KT_ROLLBACK, label, CL_KT_ALERT_ROLLBACK, 1, e, 3,
                              "the key-transparency log shows %s at version %u, older than the "
                              "version %u verified before",
                              label, w->res.version, w->row.version)
                : cl_kt_alert(c, PL_CLIENT_E_KT_ROLLBACK, label, CL_KT_ALERT_EQUIVOCATION, 1, e, 3,
                              "the key-transparency log shows another state for version %u of "
                              "%s than the one verified before",
                              w->res.version, label);
        goto out;
    }
    /* The row to write: the new state, the VRF outputs learnt, where it was proven. */
    w->next_row = have_row ? w->row : (pl_cstore_kt_label){0};
    snprintf(w->next_row.label, sizeof w->next_row.label, "%s", label);
    cache_add(&w->next_row, w->res.version, w->res.vrf_out);
    cache_add(&w->next_row, w->res.version + 1, w->res.next_vrf_out);
    if (own && (!have_row || w->res.version > w->row.version)) {
        if (have_row && (r = state_from_row(c, &w->row, out)) != PL_CLIENT_OK)
            goto out;
        if (have_row) {
            w->prev = out->state;
            memcpy(w->prev_raw, w->row.state, w->row.state_len);
            w->prev_raw_len = w->row.state_len;
        }
        if ((r = check_own_chain(c, w, have_row, &a)) != PL_CLIENT_OK)
            goto out;
    }
    w->next_row.version = w->res.version;
    memcpy(w->next_row.state, w->res.value, w->res.value_len);
    w->next_row.state_len = w->res.value_len;
    w->next_row.tree_size = w->res.tree_size;
    w->next_row.entry_time_ms = w->res.timestamp_ms;
    w->next_row.verified_at_ms = cl_now_ms();
    /* Every check passed: one transaction for the view, the label and the contact. */
    w->log.has_checkpoint = 1;
    w->log.size = w->work.size;
    memcpy(w->log.root, w->work.root, sizeof w->log.root);
    memcpy(w->log.note, w->work.note, w->work.note_len);
    w->log.note_len = w->work.note_len;
    w->log.checked_at_ms = cl_now_ms();
    if ((r = pl_cstore_begin(c->store)) != PL_CSTORE_OK) {
        r = cl_store_fail(c, r, "storing a key-transparency lookup");
        goto out;
    }
    if ((r = pl_cstore_kt_log_put(c->store, &w->log)) != PL_CSTORE_OK ||
        (r = pl_cstore_kt_label_put(c->store, &w->next_row)) != PL_CSTORE_OK) {
        pl_cstore_rollback(c->store);
        r = cl_store_fail(c, r, "storing a key-transparency lookup");
        goto out;
    }
    /* §25 rule 1: a contact's key is the pinned contact key, else the key-change rules. */
    if (!own &&
        (key_r = cl_check_account_key(c, label, w->res.state.account_key)) != PL_CLIENT_OK &&
        key_r != PL_CLIENT_E_KEY_CHANGED) {
        pl_cstore_rollback(c->store);
        r = key_r;
        goto out;
    }
    if ((r = pl_cstore_commit(c->store)) != PL_CSTORE_OK) {
        r = cl_store_fail(c, r, "storing a key-transparency lookup");
        goto out;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->label, sizeof out->label, "%s", label);
    out->version = w->res.version;
    out->state = w->res.state;
    memcpy(out->raw, w->res.value, w->res.value_len);
    out->raw_len = w->res.value_len;
    out->tree_size = w->res.tree_size;
    out->entry_time_ms = w->res.timestamp_ms;
    out->verified_at_ms = w->next_row.verified_at_ms;
    r = key_r;
    if (key_r == PL_CLIENT_E_KEY_CHANGED)
        (void)cl_fail(c, key_r,
                      "%s's account key changed after you verified it: sending is blocked until "
                      "you compare safety numbers again (`parley verify %s`)",
                      label, label);
out:
    cl_kt_answer_free(&a);
    return r;
}

int cl_kt_current(pl_client *c, const char *name, int refresh, cl_kt_state *out)
{
    char label[CL_USERNAME_MAX + 1];
    int own, have_row, r;
    int64_t blocked;
    kt_work *w = NULL;
    size_t len = strlen(name);

    memset(out, 0, sizeof *out);
    if (len == 0 || len > CL_USERNAME_MAX)
        return cl_fail(c, PL_CLIENT_E_BAD_USERNAME, "\"%s\" is not a username", name);
    /* The label is the canonical username (the server folds case). */
    for (size_t i = 0; i <= len; i++)
        label[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    own = strcmp(label, c->username) == 0;
    if ((blocked = cl_kt_blocking_alert(c, label)) > 0)
        return cl_fail(c, PL_CLIENT_E_KT_BLOCKED,
                       "key-transparency alert #%lld blocks sending (it stops the check of "
                       "%s's devices): see `parley alerts`, and acknowledge it "
                       "(`parley alerts --ack %lld`) once you know why",
                       (long long)blocked, label, (long long)blocked);
    if (!(w = calloc(1, sizeof *w)))
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    if ((r = cl_kt_load_view(c, &w->log, &w->view)) != PL_CLIENT_OK)
        goto out;
    r = pl_cstore_kt_label_get(c->store, label, &w->row);
    if (r != PL_CSTORE_OK && r != PL_CSTORE_E_NOT_FOUND) {
        r = r == PL_CSTORE_E_CORRUPT
                ? cl_kt_alert(c, PL_CLIENT_E_KT_STATE, label, CL_KT_ALERT_SAVED, 1, NULL, 0,
                              "the saved key-transparency state of %s is damaged", label)
                : cl_store_fail(c, r, "reading a verified label");
        goto out;
    }
    have_row = r == PL_CSTORE_OK;
    if (have_row && !refresh &&
        !(own && cl_now_ms() - w->row.verified_at_ms >= CL_KT_OWN_CHECK_MS)) {
        /* §25 rule 1 on every use, not only at lookups: the contact's key may have changed
         * (or been verified) since. */
        if ((r = state_from_row(c, &w->row, out)) == PL_CLIENT_OK && !own)
            r = cl_check_account_key(c, label, out->state.account_key);
        goto out;
    }
    if (have_row && (r = state_from_row(c, &w->row, out)) != PL_CLIENT_OK)
        goto out;
    r = lookup_and_commit(c, w, label, have_row, out);
out:
    free(w);
    return r;
}

/* ---- Monitoring and status ---------------------------------------------------------------- */

int pl_client_kt_monitor(pl_client *c, int force)
{
    pl_cstore_kt_label *row = calloc(1, sizeof *row);
    cl_kt_state *st = NULL;
    int r;

    if (!row || !(st = malloc(sizeof *st))) {
        free(row);
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    }
    if (!force && pl_cstore_kt_label_get(c->store, c->username, row) == PL_CSTORE_OK &&
        cl_now_ms() - row->verified_at_ms < CL_KT_OWN_CHECK_MS)
        r = PL_CLIENT_OK;
    else if ((r = cl_kt_pin(c)) == PL_CLIENT_OK) /* the same log as pinned? (else an alert) */
        r = cl_kt_current(c, c->username, 1, st);
    free(row);
    free(st);
    return r;
}

static void account_fp(const uint8_t key[PL_PUBKEY_BYTES], const char *user, char out[64])
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

int pl_client_kt_status_get(pl_client *c, const char *user, int refresh, pl_client_kt_status *out)
{
    char label[CL_USERNAME_MAX + 1];
    pl_cstore_kt_log *log = calloc(1, sizeof *log);
    pl_cstore_kt_label *row = calloc(1, sizeof *row);
    cl_kt_state *st = malloc(sizeof *st);
    int r = PL_CLIENT_OK, lr;

    memset(out, 0, sizeof *out);
    if (!log || !row || !st) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    if (!*user || strlen(user) > CL_USERNAME_MAX) {
        r = cl_fail(c, PL_CLIENT_E_BAD_USERNAME, "\"%s\" is not a username", user);
        goto out;
    }
    for (size_t i = 0; user[i]; i++)
        label[i] = (char)((user[i] >= 'A' && user[i] <= 'Z') ? user[i] + 32 : user[i]);
    label[strlen(user)] = '\0';
    if (refresh)
        r = cl_kt_current(c, label, 1, st);
    if ((lr = pl_cstore_kt_log_get(c->store, log)) == PL_CSTORE_OK) {
        out->pinned = 1;
        snprintf(out->origin, sizeof out->origin, "%s", log->origin);
        out->pinned_at_ms = log->pinned_at_ms;
        out->has_checkpoint = log->has_checkpoint;
        out->checkpoint_size = log->size;
        out->checkpoint_checked_ms = log->checked_at_ms;
    }
    if (pl_cstore_kt_label_get(c->store, label, row) == PL_CSTORE_OK &&
        pl_account_state_verify(row->state, row->state_len, &st->state) == PL_OK) {
        out->verified = 1;
        out->version = row->version;
        out->entry_time_ms = row->entry_time_ms;
        out->verified_at_ms = row->verified_at_ms;
        out->created_at_ms = st->state.created_at_ms;
        out->publisher_device_id = st->state.publisher_device_id;
        account_fp(st->state.account_key, label, out->account_fingerprint);
        out->n_devices = st->state.n_devices;
        for (size_t i = 0; i < st->state.n_devices && i < 16; i++) {
            out->devices[i].id = st->state.devices[i].device_id;
            pl_key_fingerprint(st->state.devices[i].identity_key, out->devices[i].fingerprint);
            out->devices[i].added_at_ms = st->state.devices[i].created_at * 1000u;
        }
    }
    out->blocking_alert = cl_kt_blocking_alert(c, label);
    out->blocked = out->blocking_alert > 0;
out:
    free(log);
    free(row);
    free(st);
    return r;
}
