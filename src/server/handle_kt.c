/*
 * handle_kt.c: the key-transparency requests (PROTOCOL.md §24.4) and the sequencer's timer.
 * None needs authentication.
 *
 *   KtConfigGet      answered on the loop thread from the immutable config and keys
 *   KtCheckpointGet  a store job: the log's state belongs to the store worker (kt_log.h)
 *   KtLookup         a store job: one VRF-free proof from memory plus one indexed read
 *   KtAuditGet       a store job, bounded to 256 entries and PL_WIRE_KT_MAX_AUDIT_LEAVES
 *   KtCosign         a standalone store job (its own transaction, then memory)
 *   KtWatch          marks the connection; each newly signed checkpoint is pushed to it
 *
 * The sequencer: a timer every [kt] batch_interval submits one standalone step job unless
 * one is still in flight; the step decides whether to publish, sign a new entry, or wait
 * (kt_log.c). Its completion pushes a newly signed checkpoint to every watching connection
 * that has room (a witness that misses one fetches it with KtCheckpointGet).
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "handlers.h"
#include "kt_log.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

#define ST(x) PARLEY__STATUS_CODE__STATUS_##x

/* ---- KtConfigGet --------------------------------------------------------------------------- */

void pl_handle_kt_config(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    const pl_config *cfg = &c->srv->cfg;
    const pl_kt_keys *k = pl_kt_log_keys(c->srv->kt);
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__KtConfig kc = PARLEY__KT_CONFIG__INIT;
    char *vkeys[PL_CONFIG_KT_MAX_WITNESSES];

    (void)frame_bytes;
    for (uint32_t i = 0; i < cfg->kt.n_witnesses; i++)
        vkeys[i] = (char *)cfg->kt.witness_vkeys[i];
    kc.origin = (char *)k->origin;
    kc.log_vkey = (char *)k->log_vkey;
    kc.vrf_public_key.data = (uint8_t *)k->vrf_pk;
    kc.vrf_public_key.len = sizeof k->vrf_pk;
    kc.n_witness_vkeys = cfg->kt.n_witnesses;
    kc.witness_vkeys = vkeys;
    kc.quorum = pl_config_kt_quorum(cfg);
    kc.max_ahead_ms = cfg->kt.max_ahead_ms;
    kc.max_behind_ms = cfg->kt.max_behind_ms;
    pl_response_ok(&resp, &st, f->request->id, PARLEY__RESPONSE__BODY_KT_CONFIG, &kc);
    pl_conn_reply_finish(c, slot, &resp);
    pl_frame_client_free(f);
}

/* ---- KtCheckpointGet and KtLookup ------------------------------------------------------------ */

typedef struct kt_rq {
    pl_request rq;
    char username[PL_USERNAME_MAX + 1];
    pl_kt_checkpoint_answer cp;
    uint8_t *proof;
    size_t proof_len;
    pl_kt_audit_batch audit; /* blocks freed by audit_done */
    int published;
} kt_rq;

/* Points msg at the answer's note and proof hashes (borrowed). */
static void fill_checkpoint(Parley__KtCheckpoint *msg, ProtobufCBinaryData *hashes,
                            const pl_kt_checkpoint_answer *cp)
{
    for (size_t i = 0; i < cp->n_consistency; i++) {
        hashes[i].data = (uint8_t *)cp->consistency[i];
        hashes[i].len = PL_MERKLE_HASH_BYTES;
    }
    msg->note = cp->note;
    msg->n_consistency = cp->n_consistency;
    msg->consistency = hashes;
}

static void checkpoint_run(pl_job *job, pl_store *s)
{
    kt_rq *k = (kt_rq *)job;
    const Parley__KtCheckpointGet *m = k->rq.frame->request->kt_checkpoint;
    const char *why = "";
    Parley__StatusCode st;

    (void)s;
    st = pl_kt_log_checkpoint(k->rq.conn->srv->kt, m->known_size, m->latest_signed, &k->cp, &why);
    if (st != ST(OK))
        pl_request_fail(&k->rq, st, why);
}

static void checkpoint_done(pl_job *job)
{
    kt_rq *k = (kt_rq *)job;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__KtCheckpoint cp = PARLEY__KT_CHECKPOINT__INIT;
    ProtobufCBinaryData hashes[PL_MERKLE_MAX_PROOF];

    char *note = k->cp.note;

    fill_checkpoint(&cp, hashes, &k->cp);
    pl_response_ok(&resp, &st, k->rq.id, PARLEY__RESPONSE__BODY_KT_CHECKPOINT, &cp);
    pl_request_finish(&k->rq, &resp); /* encodes, then frees k: the note goes after */
    free(note);
}

void pl_handle_kt_checkpoint(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    kt_rq *k = (kt_rq *)pl_request_new(sizeof *k, c, slot, f, frame_bytes, checkpoint_run,
                                       checkpoint_done);

    if (k)
        pl_request_submit(&k->rq);
}

static void lookup_run(pl_job *job, pl_store *s)
{
    kt_rq *k = (kt_rq *)job;
    const Parley__KtLookup *m = k->rq.frame->request->kt_lookup;
    const char *why = "";
    Parley__StatusCode st;

    st = pl_kt_log_lookup(k->rq.conn->srv->kt, s, k->username, m->known_size, m->fixed, m->version,
                          &k->cp, &k->proof, &k->proof_len, &why);
    if (st != ST(OK))
        pl_request_fail(&k->rq, st, why);
}

static void lookup_done(pl_job *job)
{
    kt_rq *k = (kt_rq *)job;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__KtCheckpoint cp = PARLEY__KT_CHECKPOINT__INIT;
    Parley__KtLookupResult lr = PARLEY__KT_LOOKUP_RESULT__INIT;
    ProtobufCBinaryData hashes[PL_MERKLE_MAX_PROOF];
    char *note = k->cp.note;
    uint8_t *proof = k->proof;

    fill_checkpoint(&cp, hashes, &k->cp);
    lr.checkpoint = &cp;
    lr.proof.data = k->proof;
    lr.proof.len = k->proof_len;
    pl_response_ok(&resp, &st, k->rq.id, PARLEY__RESPONSE__BODY_KT_LOOKUP, &lr);
    pl_request_finish(&k->rq, &resp); /* encodes, then frees k: the buffers go after */
    free(note);
    free(proof);
}

void pl_handle_kt_lookup(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    char name[PL_USERNAME_MAX + 1];
    const char *why;
    kt_rq *k;

    if (!pl_wire_username(f->request->kt_lookup->username, name, &why)) {
        pl_refuse(c, slot, f, ST(BAD_USERNAME), why, 0);
        return;
    }
    if (!(k = (kt_rq *)pl_request_new(sizeof *k, c, slot, f, frame_bytes, lookup_run, lookup_done)))
        return;
    memcpy(k->username, name, sizeof name);
    pl_request_submit(&k->rq);
}

/* ---- KtAuditGet ---------------------------------------------------------------------------- */

static void audit_run(pl_job *job, pl_store *s)
{
    kt_rq *k = (kt_rq *)job;
    const Parley__KtAuditGet *m = k->rq.frame->request->kt_audit;
    const char *why = "";
    Parley__StatusCode st =
        pl_kt_log_audit(k->rq.conn->srv->kt, s, m->from, m->max, &k->audit, &why);

    if (st != ST(OK))
        pl_request_fail(&k->rq, st, why);
}

static void audit_done(pl_job *job)
{
    kt_rq *k = (kt_rq *)job;
    pl_kt_audit_batch *b = &k->audit;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__KtAuditBatch batch = PARLEY__KT_AUDIT_BATCH__INIT;
    Parley__KtAuditEntry *entries = NULL, **ptrs = NULL;
    ProtobufCBinaryData *leaves = NULL;
    uint8_t(*leaf_block)[PL_WIRE_KT_LEAF_BYTES] = b->leaves;

    if (b->n_entries && (!(entries = calloc(b->n_entries, sizeof *entries)) ||
                         !(ptrs = calloc(b->n_entries, sizeof *ptrs)) ||
                         (b->n_leaves && !(leaves = calloc(b->n_leaves, sizeof *leaves)))))
        pl_request_fail(&k->rq, ST(INTERNAL), "out of memory");
    else {
        for (size_t i = 0; i < b->n_leaves; i++) {
            leaves[i].data = b->leaves[i];
            leaves[i].len = PL_WIRE_KT_LEAF_BYTES;
        }
        for (size_t i = 0; i < b->n_entries; i++) {
            parley__kt_audit_entry__init(&entries[i]);
            entries[i].position = b->entries[i].position;
            entries[i].timestamp_ms = b->entries[i].timestamp_ms;
            entries[i].prefix_root.data = b->entries[i].prefix_root;
            entries[i].prefix_root.len = PL_PREFIX_HASH_BYTES;
            entries[i].n_leaves = b->entries[i].n_leaves;
            entries[i].leaves = b->entries[i].n_leaves ? &leaves[b->entries[i].first_leaf] : NULL;
            ptrs[i] = &entries[i];
        }
        batch.n_entries = b->n_entries;
        batch.entries = ptrs;
    }
    pl_response_ok(&resp, &st, k->rq.id, PARLEY__RESPONSE__BODY_KT_AUDIT, &batch);
    pl_request_finish(&k->rq, &resp); /* frees k, not the blocks below */
    free(leaves);
    free(ptrs);
    free(entries);
    free(leaf_block);
}

void pl_handle_kt_audit(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    kt_rq *k = (kt_rq *)pl_request_new(sizeof *k, c, slot, f, frame_bytes, audit_run, audit_done);

    if (k)
        pl_request_submit(&k->rq);
}

/* ---- KtCosign ------------------------------------------------------------------------------ */

static void cosign_run(pl_job *job, pl_store *s)
{
    kt_rq *k = (kt_rq *)job;
    const Parley__KtCosign *m = k->rq.frame->request->kt_cosign;
    const char *why = "";
    Parley__StatusCode st = pl_kt_log_cosign(k->rq.conn->srv->kt, s, m->size, m->cosignature,
                                             strlen(m->cosignature), &k->published, &why);

    if (st != ST(OK))
        pl_request_fail(&k->rq, st, why);
    else
        pl_metrics_gauge_set(PL_G_KT_PUBLISHED_SIZE,
                             (int64_t)pl_kt_log_published_size(k->rq.conn->srv->kt));
}

static void cosign_done(pl_job *job)
{
    kt_rq *k = (kt_rq *)job;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__Empty empty = PARLEY__EMPTY__INIT;

    if (!job->commit_failed && k->rq.status == ST(OK)) {
        pl_metrics_inc(PL_M_KT_COSIGNATURES);
        pl_log(PL_CONFIG_LOG_INFO, "KT cosignature accepted", PL_LOG_U64("conn", k->rq.conn->id),
               PL_LOG_U64("size", k->rq.frame->request->kt_cosign->size),
               PL_LOG_STR("published", k->published ? "yes" : "no"));
    }
    pl_response_ok(&resp, &st, k->rq.id, PARLEY__RESPONSE__BODY_KT_COSIGN, &empty);
    pl_request_finish(&k->rq, &resp);
}

void pl_handle_kt_cosign(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    kt_rq *k = (kt_rq *)pl_request_new(sizeof *k, c, slot, f, frame_bytes, cosign_run, cosign_done);

    if (!k)
        return;
    k->rq.job.standalone = 1; /* its own transaction, memory after the commit */
    pl_request_submit(&k->rq);
}

/* ---- KtWatch ------------------------------------------------------------------------------- */

void pl_handle_kt_watch(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__Empty empty = PARLEY__EMPTY__INIT;

    (void)frame_bytes;
    c->kt_watch = 1;
    pl_response_ok(&resp, &st, f->request->id, PARLEY__RESPONSE__BODY_KT_WATCH, &empty);
    pl_conn_reply_finish(c, slot, &resp);
    pl_frame_client_free(f);
}

/* ---- The sequencer ------------------------------------------------------------------------- */

typedef struct step_job {
    pl_job job;
    pl_server *srv;
    pl_kt_step step;
    int r;
} step_job;

static void step_run(pl_job *job, pl_store *s)
{
    step_job *j = (step_job *)job;

    j->r = pl_kt_log_step(j->srv->kt, s, pl_clock_now_ms(), &j->step);
}

static void push_checkpoint(pl_server *srv, const char *note)
{
    Parley__Push push = PARLEY__PUSH__INIT;
    Parley__KtCheckpoint cp = PARLEY__KT_CHECKPOINT__INIT;

    cp.note = (char *)note;
    push.kind_case = PARLEY__PUSH__KIND_KT_CHECKPOINT;
    push.kt_checkpoint = &cp;
    for (pl_conn *c = srv->conns; c; c = c->next)
        if (c->kt_watch && pl_conn_alive(c) && pl_conn_has_room(c))
            (void)pl_conn_push(c, &push);
}

static void step_done(pl_job *job)
{
    step_job *j = (step_job *)job;
    pl_server *srv = j->srv;

    srv->kt_step_running = 0;
    if (j->r == 0 && j->step.signed_new) {
        pl_metrics_add(PL_M_KT_VERSIONS_LOGGED, j->step.logged);
        if (j->step.logged < PL_WIRE_KT_MAX_ENTRY_LEAVES)
            pl_metrics_gauge_set(PL_G_KT_PENDING, 0);
        else
            pl_metrics_gauge_add(PL_G_KT_PENDING, -(int64_t)j->step.logged);
        pl_log(j->step.logged ? PL_CONFIG_LOG_INFO : PL_CONFIG_LOG_DEBUG, "KT entry signed",
               PL_LOG_U64("size", j->step.signed_size), PL_LOG_U64("versions", j->step.logged),
               PL_LOG_U64("published", j->step.published_size));
        if (j->step.note)
            push_checkpoint(srv, j->step.note);
    }
    if (j->r == 0) {
        pl_metrics_gauge_set(PL_G_KT_SIGNED_SIZE, (int64_t)j->step.signed_size);
        pl_metrics_gauge_set(PL_G_KT_PUBLISHED_SIZE, (int64_t)j->step.published_size);
    }
    free(j->step.note);
    free(j);
}

void pl_kt_tick(pl_server *srv)
{
    step_job *j;

    if (srv->kt_step_running || srv->draining || !(j = calloc(1, sizeof *j)))
        return;
    j->job.run = step_run;
    j->job.done = step_done;
    j->job.standalone = 1;
    j->srv = srv;
    srv->kt_step_running = 1;
    pl_store_worker_submit(srv->worker, &j->job);
}
