/* round.c: one round of the auditor (round.h; docs/PROTOCOL.md §22, §24.2, §26). */
#include "round.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "parley/error.h"
#include "parley/note.h"

#include "alog.h"
#include "frame.h"
#include "log_config.h"
#include "wire_kt.h"

/* A cosignature/v1 line: em dash, space, name (<= 255), space, base64 of 76 bytes, "\n". */
#define LINE_CAP (4u + PL_NOTE_NAME_MAX_BYTES + 1u + 104u + 2u)

static const char *const outcome_names[] = {
    [PL_AUDIT_ROUND_COSIGNED] = "cosigned", [PL_AUDIT_ROUND_REFUSED] = "refused",
    [PL_AUDIT_ROUND_HALTED] = "halted",     [PL_AUDIT_ROUND_TRANSIENT] = "transient",
    [PL_AUDIT_ROUND_LOCAL] = "local",       [PL_AUDIT_ROUND_STOPPED] = "stopped",
};

const char *pl_audit_outcome_name(pl_audit_outcome o)
{
    return (unsigned)o < sizeof outcome_names / sizeof outcome_names[0] ? outcome_names[o]
                                                                        : "unknown";
}

static void set(pl_audit_round_result *res, pl_audit_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set(pl_audit_round_result *res, pl_audit_outcome o, const char *fmt, ...)
{
    va_list ap;

    res->outcome = o;
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof res->detail, fmt, ap);
    va_end(ap);
}

static const char *status_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&parley__status_code__descriptor, code);

    return v ? v->name : "STATUS_UNKNOWN";
}

/*
 * Sends req and checks the answer's shape. Returns the Response's status code (>= 0) with
 * *out the frame (the caller frees it), or -1 with res set (TRANSIENT or STOPPED) and *out
 * NULL. A STATUS_OK answer without the body `want` is a protocol error (-1).
 */
static int ask(pl_audit_conn *c, Parley__Request *req, Parley__Response__BodyCase want,
               Parley__ServerFrame **out, pl_audit_round_result *res, const char *what)
{
    Parley__ServerFrame *f = NULL;
    int rc = pl_audit_conn_request(c, req, &f, PL_AUDIT_CONN_TIMEOUT_MS);
    int status;

    *out = NULL;
    if (rc != PL_AUDIT_CONN_OK) {
        set(res,
            rc == PL_AUDIT_CONN_E_INTERRUPTED ? PL_AUDIT_ROUND_STOPPED : PL_AUDIT_ROUND_TRANSIENT,
            "%s: %s", what, pl_audit_conn_error(c));
        return -1;
    }
    status = (int)f->response->status->code;
    if (status == PARLEY__STATUS_CODE__STATUS_OK && f->response->body_case != want) {
        pl_frame_server_free(f);
        set(res, PL_AUDIT_ROUND_TRANSIENT, "%s: the server's answer has no %s body", what, what);
        return -1;
    }
    *out = f;
    return status;
}

/* Stores evidence of a refusal (and the halt), logs it, and sets res to REFUSED (or LOCAL if
 * the database failed). entry may be NULL. */
static void refuse(pl_auditor *a, pl_audit_round_result *res, int halt, const char *reason,
                   int code, const pl_audit_checkpoint_msg *cp, const Parley__KtAuditEntry *entry,
                   const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void refuse(pl_auditor *a, pl_audit_round_result *res, int halt, const char *reason,
                   int code, const pl_audit_checkpoint_msg *cp, const Parley__KtAuditEntry *entry,
                   const char *fmt, ...)
{
    pl_audit_evidence ev = {0};
    uint8_t *packed = NULL;
    uint64_t now = pl_auditor_now_ms();
    int64_t id = 0;
    va_list ap;

    res->outcome = PL_AUDIT_ROUND_REFUSED;
    res->code = code;
    res->halted = halt;
    snprintf(res->reason, sizeof res->reason, "%s", reason);
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof res->detail, fmt, ap);
    va_end(ap);

    ev.reason = reason;
    ev.code = code ? pl_errname(code) : "";
    ev.detail = res->detail;
    ev.known_size = a->ws.has_state ? a->ws.size : 0;
    if (cp && cp->note) {
        ev.note = cp->note;
        ev.note_len = cp->note_len;
        ev.consistency = cp->consistency[0];
        ev.n_consistency = cp->n_consistency;
    }
    if (entry) {
        size_t n = parley__kt_audit_entry__get_packed_size(entry);

        ev.has_entry = 1;
        ev.entry_position = entry->position;
        if ((packed = malloc(n ? n : 1)) != NULL) {
            ev.entry_len = parley__kt_audit_entry__pack(entry, packed);
            ev.entry = packed;
        }
    }
    pl_alog(PL_ALOG_ERROR, "REFUSED %s: %s (%s)%s", reason, res->detail,
            code ? pl_errname(code) : "-", halt ? "; halting: no cosignature until resumed" : "");
    /* A refusal that does not halt may come back every round for the same checkpoint: it is
     * kept once, so a broken server cannot grow the database one row per round. */
    if (!halt && pl_audit_db_same_as_last_evidence(a->db, &ev) == 1) {
        pl_alog(PL_ALOG_INFO, "evidence already kept");
        free(packed);
        return;
    }
    if (pl_audit_db_add_evidence(a->db, &ev, now, &id) != 0 ||
        (halt && pl_audit_db_halt(a->db, reason, id, now) != 0)) {
        pl_alog(PL_ALOG_ERROR, "cannot store the evidence: %s", pl_audit_db_error(a->db));
        res->outcome = PL_AUDIT_ROUND_LOCAL;
    } else {
        pl_alog(PL_ALOG_INFO, "evidence %" PRId64 " stored", id);
    }
    if (halt) {
        a->st.halted = 1;
        snprintf(a->st.halt_reason, sizeof a->st.halt_reason, "%s", reason);
    }
    free(packed);
}

/* Pins cfg (the first round). Returns 0 or -1 (res set). */
static int pin_config(pl_auditor *a, const pl_audit_config *cfg, pl_audit_round_result *res)
{
    char vkey[PL_NOTE_VKEY_MAX_BYTES + 1], clean[PL_NOTE_NAME_MAX_BYTES + 1];
    size_t vlen;

    if (pl_note_verifier_format(&cfg->log_key, vkey, sizeof vkey - 1, &vlen) != PL_OK) {
        set(res, PL_AUDIT_ROUND_LOCAL, "cannot format the log key");
        return -1;
    }
    vkey[vlen] = '\0';
    if (pl_audit_db_pin_config(a->db, cfg->origin, vkey, cfg->text, pl_auditor_now_ms()) != 0 ||
        pl_audit_db_state_get(a->db, &a->st) != 0) {
        set(res, PL_AUDIT_ROUND_LOCAL, "%s", pl_audit_db_error(a->db));
        return -1;
    }
    if (pl_kt_witness_state_init(cfg->origin, cfg->origin_len, &cfg->log_key, &a->ws) != PL_OK) {
        set(res, PL_AUDIT_ROUND_LOCAL, "the pinned origin is not usable");
        return -1;
    }
    pl_alog(PL_ALOG_INFO, "pinned the log %s (trust on first use)",
            pl_alog_clean(cfg->origin, clean, sizeof clean));
    return 0;
}

/* Step 1: the log's config, pinned on the first round. Returns 0 or -1 (res set). */
static int check_config(pl_auditor *a, pl_audit_conn *c, pl_audit_round_result *res)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtConfigGet get = PARLEY__KT_CONFIG_GET__INIT;
    Parley__ServerFrame *f = NULL;
    pl_audit_config cfg;
    char err[256], clean[PL_NOTE_NAME_MAX_BYTES + 1];
    int status, r = -1;

    req.body_case = PARLEY__REQUEST__BODY_KT_CONFIG;
    req.kt_config = &get;
    if ((status = ask(c, &req, PARLEY__RESPONSE__BODY_KT_CONFIG, &f, res, "KtConfigGet")) < 0)
        return -1;
    if (status != PARLEY__STATUS_CODE__STATUS_OK) {
        set(res, PL_AUDIT_ROUND_TRANSIENT, "KtConfigGet: %s", status_name(status));
        goto out;
    }
    if (pl_audit_config_check(f->response->kt_config, &a->me, &cfg, err, sizeof err) != 0) {
        set(res, PL_AUDIT_ROUND_TRANSIENT, "the log's config is invalid: %s", err);
        goto out;
    }
    if (!a->st.pinned && pin_config(a, &cfg, res) != 0)
        goto out;
    if (a->st.pinned && strcmp(cfg.text, a->st.config_text) != 0) {
        refuse(a, res, 1, "config_changed", 0, NULL, NULL,
               "the log's config is not the one pinned for %s (a new log key, VRF key or "
               "witness policy): this auditor never re-pins",
               pl_alog_clean(a->st.origin, clean, sizeof clean));
        goto out;
    }
    if (!cfg.lists_me)
        pl_alog(PL_ALOG_WARN, "this auditor's key is not among the log's witnesses: the server "
                              "will refuse its cosignatures");
    r = 0;
out:
    pl_frame_server_free(f);
    return r;
}

/* Classifies a refusal of pl_kt_witness_add_checkpoint: halts for rollbacks and forks. */
static void refuse_decision(pl_auditor *a, pl_audit_round_result *res, int rc,
                            const pl_audit_checkpoint_msg *cp)
{
    uint64_t held = a->ws.has_state ? a->ws.size : 0;

    switch (rc) {
    case PL_E_ROLLBACK:
        refuse(a, res, 1, "rollback", rc, cp, NULL,
               "the log's newest signed checkpoint is smaller than size %" PRIu64
               ", which this auditor cosigned",
               held);
        return;
    case PL_E_BAD_PROOF:
        refuse(a, res, 1, "fork", rc, cp, NULL,
               "the checkpoint is not consistent with size %" PRIu64
               " that this auditor cosigned: two different trees were signed",
               held);
        return;
    case PL_E_BAD_SIGNATURE:
        refuse(a, res, 0, "bad_signature", rc, cp, NULL,
               "the checkpoint is not signed by the pinned log key");
        return;
    case PL_E_IDENTITY_MISMATCH:
        refuse(a, res, 0, "wrong_origin", rc, cp, NULL,
               "the checkpoint is for another origin than the pinned log's");
        return;
    case PL_E_MALFORMED:
    case PL_E_TOO_LARGE:
        refuse(a, res, 0, "malformed", rc, cp, NULL, "the checkpoint note is malformed");
        return;
    default:
        set(res, PL_AUDIT_ROUND_LOCAL, "the witness decision failed: %s", pl_strerror(rc));
        return;
    }
}

/* Step 2: the newest signed checkpoint. Returns the frame holding it (the caller frees) with
 * *cp filled, or NULL with res set. */
static Parley__ServerFrame *fetch_checkpoint(pl_auditor *a, pl_audit_conn *c,
                                             pl_audit_checkpoint_msg *cp,
                                             pl_audit_round_result *res)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtCheckpointGet get = PARLEY__KT_CHECKPOINT_GET__INIT;
    Parley__ServerFrame *f = NULL;
    uint64_t held = a->ws.has_state ? a->ws.size : 0;
    const char *why;
    int status, rc;

    req.body_case = PARLEY__REQUEST__BODY_KT_CHECKPOINT;
    req.kt_checkpoint = &get;
    get.known_size = held;
    get.latest_signed = 1;
    if ((status = ask(c, &req, PARLEY__RESPONSE__BODY_KT_CHECKPOINT, &f, res, "KtCheckpointGet")) <
        0)
        return NULL;
    if (status == PARLEY__STATUS_CODE__STATUS_BAD_REQUEST && held > 0) {
        /* The server has less than this auditor cosigned, or says so: fetch its newest signed
         * checkpoint without a proof, which the decision below refuses as a rollback (signed
         * evidence) if it is smaller. */
        pl_frame_server_free(f);
        f = NULL;
        get.known_size = 0;
        if ((status = ask(c, &req, PARLEY__RESPONSE__BODY_KT_CHECKPOINT, &f, res,
                          "KtCheckpointGet")) < 0)
            return NULL;
        if (status == PARLEY__STATUS_CODE__STATUS_OK &&
            pl_audit_checkpoint_from_wire(f->response->kt_checkpoint, cp, &why) == PL_OK) {
            pl_kt_witness_state next;
            char line[LINE_CAP];
            size_t line_len;

            rc = pl_kt_witness_add_checkpoint(
                &a->ws, a->ws.size, cp->note, cp->note_len, NULL, 0, a->me.name, a->me.name_len,
                a->key->sk, pl_auditor_now_ms() / 1000u, &next, line, sizeof line, &line_len, NULL);
            sodium_memzero(line, sizeof line);
            if (rc == PL_E_ROLLBACK || rc == PL_E_BAD_SIGNATURE || rc == PL_E_IDENTITY_MISMATCH ||
                rc == PL_E_MALFORMED) {
                refuse_decision(a, res, rc, cp);
                pl_frame_server_free(f);
                return NULL;
            }
        }
        set(res, PL_AUDIT_ROUND_TRANSIENT,
            "KtCheckpointGet: the server refused known_size %" PRIu64 " (STATUS_BAD_REQUEST)",
            held);
        pl_frame_server_free(f);
        return NULL;
    }
    if (status != PARLEY__STATUS_CODE__STATUS_OK) {
        set(res, PL_AUDIT_ROUND_TRANSIENT, "KtCheckpointGet: %s", status_name(status));
        pl_frame_server_free(f);
        return NULL;
    }
    if (pl_audit_checkpoint_from_wire(f->response->kt_checkpoint, cp, &why) != PL_OK) {
        set(res, PL_AUDIT_ROUND_TRANSIENT, "KtCheckpointGet: %s", why);
        pl_frame_server_free(f);
        return NULL;
    }
    return f;
}

/* Step 4: fetches and replays entries up to cp_size, storing each, inside the open
 * transaction. Returns 0 or -1 (res set; the caller rolls back and reloads). */
static int replay_to(pl_auditor *a, pl_audit_conn *c, uint64_t cp_size,
                     const pl_audit_checkpoint_msg *cp, pl_audit_round_result *res)
{
    uint64_t pos = pl_audit_replay_size(a->replay);

    while (pos < cp_size) {
        Parley__Request req = PARLEY__REQUEST__INIT;
        Parley__KtAuditGet get = PARLEY__KT_AUDIT_GET__INIT;
        Parley__ServerFrame *f = NULL;
        const Parley__KtAuditBatch *b;
        int status, r = -1;

        if (a->stop && *a->stop) {
            set(res, PL_AUDIT_ROUND_STOPPED, "stopped while replaying");
            return -1;
        }
        req.body_case = PARLEY__REQUEST__BODY_KT_AUDIT;
        req.kt_audit = &get;
        get.from = pos;
        get.max = (uint32_t)(cp_size - pos < PL_AUDIT_BATCH ? cp_size - pos : PL_AUDIT_BATCH);
        if ((status = ask(c, &req, PARLEY__RESPONSE__BODY_KT_AUDIT, &f, res, "KtAuditGet")) < 0)
            return -1;
        if (status != PARLEY__STATUS_CODE__STATUS_OK) {
            set(res, PL_AUDIT_ROUND_TRANSIENT, "KtAuditGet from %" PRIu64 ": %s", pos,
                status_name(status));
            goto next;
        }
        b = f->response->kt_audit;
        if (b->n_entries == 0 || b->n_entries > get.max) {
            /* the server signed this size: an answer without its entries is withholding */
            pl_audit_db_rollback(a->db);
            refuse(a, res, 0, b->n_entries == 0 ? "withheld" : "too_many_entries", 0, cp, NULL,
                   "KtAuditGet from %" PRIu64 ": %zu entries for at most %" PRIu32
                   " asked, below signed size %" PRIu64,
                   pos, b->n_entries, get.max, cp_size);
            goto next;
        }
        for (size_t i = 0; i < b->n_entries; i++) {
            const Parley__KtAuditEntry *w = b->entries[i];
            uint8_t(*leaves)[PL_AUDIT_LEAF_BYTES] = NULL;
            pl_audit_entry e;
            pl_audit_failure why = PL_AUDIT_OK;
            const char *wire_why;
            int rc;

            if ((rc = pl_audit_entry_from_wire(w, &e, &leaves, &wire_why)) != PL_OK) {
                pl_audit_db_rollback(a->db);
                if (rc == PL_E_NOMEM)
                    set(res, PL_AUDIT_ROUND_LOCAL, "out of memory");
                else
                    refuse(a, res, 0, "malformed_entry", rc, cp, w, "entry %" PRIu64 ": %s", pos,
                           wire_why);
                goto next;
            }
            rc = pl_audit_replay_entry(a->replay, &e, &why);
            if (rc == PL_OK && pl_audit_db_put_entry(a->db, &e) != 0) {
                set(res, PL_AUDIT_ROUND_LOCAL, "%s", pl_audit_db_error(a->db));
                free(leaves);
                goto next;
            }
            free(leaves);
            if (rc == PL_OK) {
                pos++;
                res->replayed++;
                continue;
            }
            /* the rollback of the caller must come before the evidence's own transaction */
            pl_audit_db_rollback(a->db);
            if (why == PL_AUDIT_OK || why == PL_AUDIT_TREE_FULL)
                set(res, PL_AUDIT_ROUND_LOCAL, "replay of entry %" PRIu64 ": %s", pos,
                    why == PL_AUDIT_TREE_FULL ? pl_audit_failure_str(why) : pl_strerror(rc));
            else
                /* positions are not signed: an entry out of place is a broken answer, kept
                 * but not a halt; every other failure is the signed log's */
                refuse(a, res, why != PL_AUDIT_WRONG_POSITION, pl_audit_failure_name(why), rc, cp,
                       w, "entry %" PRIu64 " (served as position %" PRIu64 "): %s", pos,
                       w->position, pl_audit_failure_str(why));
            goto next;
        }
        r = 0;
    next:
        pl_frame_server_free(f);
        if (r != 0)
            return -1;
    }
    return 0;
}

/* Step 7: releases the committed cosignature. */
static void send_cosign(pl_audit_conn *c, uint64_t size, char *line, pl_audit_round_result *res)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtCosign cos = PARLEY__KT_COSIGN__INIT;
    Parley__ServerFrame *f = NULL;
    pl_audit_round_result tmp = {0};
    int status;

    req.body_case = PARLEY__REQUEST__BODY_KT_COSIGN;
    req.kt_cosign = &cos;
    cos.size = size;
    cos.cosignature = line;
    status = ask(c, &req, PARLEY__RESPONSE__BODY_KT_COSIGN, &f, &tmp, "KtCosign");
    if (status < 0) {
        pl_alog(PL_ALOG_WARN, "cosigned size %" PRIu64 " but could not deliver it: %s", size,
                tmp.detail);
        snprintf(res->detail, sizeof res->detail, "cosigned, not delivered: %.400s", tmp.detail);
    } else if (status != PARLEY__STATUS_CODE__STATUS_OK) {
        pl_alog(PL_ALOG_WARN, "cosigned size %" PRIu64 " but the server refused it: %s", size,
                status_name(status));
        snprintf(res->detail, sizeof res->detail, "cosigned, refused by the server: %s",
                 status_name(status));
    } else {
        res->accepted = 1;
        snprintf(res->detail, sizeof res->detail, "cosigned and delivered");
    }
    pl_frame_server_free(f);
}

void pl_audit_round(pl_auditor *a, pl_audit_conn *c, pl_audit_round_result *res)
{
    pl_audit_checkpoint_msg *cp = NULL;
    Parley__ServerFrame *cpf = NULL;
    pl_kt_witness_state next;
    pl_note_opened opened;
    pl_checkpoint parsed;
    char line[LINE_CAP], err[512];
    size_t line_len = 0;
    uint64_t before;
    int rc, in_txn = 0;

    memset(res, 0, sizeof *res);
    if (a->st.halted) {
        snprintf(res->reason, sizeof res->reason, "%s", a->st.halt_reason);
        set(res, PL_AUDIT_ROUND_HALTED,
            "refusing since an earlier %s (evidence %" PRId64 "): run `parley-audit resume` "
            "once an operator has looked",
            a->st.halt_reason, a->st.halt_evidence_id);
        return;
    }
    if (check_config(a, c, res) != 0)
        return;
    if (!(cp = calloc(1, sizeof *cp))) {
        set(res, PL_AUDIT_ROUND_LOCAL, "out of memory");
        return;
    }
    if (!(cpf = fetch_checkpoint(a, c, cp, res)))
        goto out;

    /* 3. the dry run: signature, origin, rollback and fork, before any entry is fetched */
    before = a->ws.has_state ? a->ws.size : 0;
    rc = pl_kt_witness_add_checkpoint(&a->ws, a->ws.size, cp->note, cp->note_len,
                                      (const uint8_t(*)[PL_MERKLE_HASH_BYTES])cp->consistency,
                                      cp->n_consistency, a->me.name, a->me.name_len, a->key->sk,
                                      pl_auditor_now_ms() / 1000u, &next, line, sizeof line,
                                      &line_len, NULL);
    sodium_memzero(line, sizeof line);
    if (rc != PL_OK) {
        refuse_decision(a, res, rc, cp);
        goto out;
    }
    if (pl_note_open(cp->note, cp->note_len, &a->ws.log_key, 1, &opened) != PL_OK ||
        pl_checkpoint_parse(opened.text, opened.text_len, &parsed) != PL_OK) {
        set(res, PL_AUDIT_ROUND_LOCAL, "a note the witness accepted does not parse");
        goto out;
    }
    res->size = parsed.size;

    /* 4. replay what this auditor has not seen, in the transaction that will hold the state */
    if (pl_audit_db_begin(a->db) != 0) {
        set(res, PL_AUDIT_ROUND_LOCAL, "%s", pl_audit_db_error(a->db));
        goto out;
    }
    in_txn = 1;
    if (replay_to(a, c, parsed.size, cp, res) != 0)
        goto out;

    /* 5. the log root over every entry replayed is the signed one */
    if ((rc = pl_audit_replay_check_root(a->replay, parsed.size, parsed.root, NULL)) != PL_OK) {
        pl_audit_db_rollback(a->db);
        in_txn = 0;
        if (rc == PL_E_BAD_PROOF)
            refuse(a, res, 1, "log_root", rc, cp, NULL,
                   "the log root over the %" PRIu64 " entries replayed is not the checkpoint's",
                   parsed.size);
        else
            set(res, PL_AUDIT_ROUND_LOCAL,
                "replayed %" PRIu64 " entries for a checkpoint of %" PRIu64,
                pl_audit_replay_size(a->replay), parsed.size);
        goto out;
    }

    /* 6. decide for real, at the time of release, and commit before anything leaves */
    rc = pl_kt_witness_add_checkpoint(&a->ws, a->ws.size, cp->note, cp->note_len,
                                      (const uint8_t(*)[PL_MERKLE_HASH_BYTES])cp->consistency,
                                      cp->n_consistency, a->me.name, a->me.name_len, a->key->sk,
                                      pl_auditor_now_ms() / 1000u, &next, line, sizeof line - 1,
                                      &line_len, NULL);
    if (rc != PL_OK) {
        set(res, PL_AUDIT_ROUND_LOCAL, "the witness decision changed: %s", pl_strerror(rc));
        goto out;
    }
    line[line_len] = '\0';
    if (pl_audit_db_put_witness(a->db, next.size, next.root, cp->note, cp->note_len, line, line_len,
                                pl_auditor_now_ms()) != 0) {
        set(res, PL_AUDIT_ROUND_LOCAL, "%s", pl_audit_db_error(a->db));
        goto out;
    }
    in_txn = 0;
    if (pl_audit_db_commit(a->db) != 0) {
        set(res, PL_AUDIT_ROUND_LOCAL, "%s", pl_audit_db_error(a->db));
        goto out;
    }
    a->ws = next;
    a->st.has_witness = 1;
    a->st.size = next.size;
    memcpy(a->st.root, next.root, sizeof a->st.root);
    res->outcome = PL_AUDIT_ROUND_COSIGNED;
    pl_alog(PL_ALOG_INFO,
            "cosigned size %" PRIu64 " (from %" PRIu64 ", %" PRIu64 " entries replayed)", next.size,
            before, res->replayed);

    /* 7. only now may the line leave */
    send_cosign(c, next.size, line, res);
out:
    if (in_txn)
        pl_audit_db_rollback(a->db);
    /* entries replayed into memory but not committed: start again from the database */
    if (res->outcome != PL_AUDIT_ROUND_COSIGNED &&
        (pl_audit_replay_poisoned(a->replay) ||
         pl_audit_replay_size(a->replay) != (a->ws.has_state ? a->ws.size : 0)) &&
        pl_auditor_reload(a, err, sizeof err) != 0) {
        pl_alog(PL_ALOG_ERROR, "cannot reload the state: %s", err);
        res->outcome = PL_AUDIT_ROUND_LOCAL;
    }
    sodium_memzero(line, sizeof line);
    pl_frame_server_free(cpf);
    free(cp);
}
