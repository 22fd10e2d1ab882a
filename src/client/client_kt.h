/*
 * client_kt.h: key-transparency verification inside the client runtime (docs/CLIENT.md "Key
 * transparency"; PROTOCOL.md §21, §23, §25). Shared by the files of the runtime:
 *
 *   client_kt.c         pinning the log, the saved view, lookups and the §25 rules applied
 *                       in one store transaction, owner monitoring, status
 *   client_kt_rules.c   the rules as pure functions over verified values (unit-tested)
 *   client_kt_alerts.c  alerts with their evidence: raising, blocking, listing, export
 *   client_kt_log.c     the account's own history (`parley log`)
 *
 * The flow of one lookup: KtLookup{label, known_size = the view's size} -> the returned
 * checkpoint moves a COPY of the view (pl_kt_view_update at now) -> pl_kt_lookup_verify with
 * the pinned VRF key and the label's VRF cache -> the client rules (key, no rollback, the
 * owner's chain) -> the view, the label's {version, state, VRF cache} and any contact change
 * are written in ONE transaction. Any failure writes nothing but an alert (kind, reason and
 * the evidence bytes) and returns a PL_CLIENT_E_KT_* code; sending to that label (or to
 * anyone, for a log-wide failure) is then refused with E_KT_BLOCKED until the alert is
 * acknowledged.
 */
#ifndef PARLEY_CLIENT_KT_H
#define PARLEY_CLIENT_KT_H

#include <stddef.h>
#include <stdint.h>

#include "client_internal.h"
#include "cstore.h"
#include "parley/kt_lookup.h"
#include "parley/kt_view.h"

/* A server naming a device the log does not show yet: lookups are retried this many times,
 * this far apart (the server publishes about 1 s after a change, PROTOCOL.md §24.2). */
#define CL_KT_RETRIES 5
#define CL_KT_RETRY_MS 1000u
/* A brand-new account whose first entry is not published yet: waited for this many times
 * CL_KT_RETRY_MS. Longer than CL_KT_RETRIES because it includes the witnesses' cosigning,
 * and on a busy server both steps can be late; sending to an unlogged account never
 * happens, so waiting is the only useful thing to do. */
#define CL_KT_UNLOGGED_WAITS 15
/* Owner monitoring: our own label is looked up again when its last check is this old. */
#define CL_KT_OWN_CHECK_MS (24u * 3600u * 1000u)

/* Our own account's versions checked in one go (a chain walk, `parley log`): an honest
 * account has a few; a server claiming millions would make the client fetch them all. */
#define CL_KT_MAX_OWN_VERSIONS 10000u

/* Alert kinds: stable strings (docs/CLIENT.md), for the CLI and for tests. */
#define CL_KT_ALERT_VIEW "view"                 /* the checkpoint did not verify (log-wide) */
#define CL_KT_ALERT_VIEW_TIMING "view-timing"   /* stale / from the future / no quorum */
#define CL_KT_ALERT_LOOKUP "lookup"             /* a lookup proof did not verify */
#define CL_KT_ALERT_ROLLBACK "rollback"         /* a lower version than verified before */
#define CL_KT_ALERT_EQUIVOCATION "equivocation" /* the same version with another state */
#define CL_KT_ALERT_MISSING "missing-label"     /* a verified label is no longer in the log */
#define CL_KT_ALERT_OWN_KEY "own-key"           /* our label under another account key */
#define CL_KT_ALERT_OWN_CHAIN "own-chain"       /* a version that does not extend our chain */
#define CL_KT_ALERT_UNLOGGED "unlogged-device"  /* the server insists on an unlogged device */
#define CL_KT_ALERT_CONFIG "config-changed"     /* the server's KtConfig is not the pinned one */
#define CL_KT_ALERT_SAVED "saved-state"         /* the saved view or label does not verify */

/* A verified account state of one label. */
typedef struct cl_kt_state {
    char label[CL_USERNAME_MAX + 1];
    uint32_t version;
    pl_account_state state;
    uint8_t raw[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t raw_len;
    uint64_t tree_size, entry_time_ms, verified_at_ms;
} cl_kt_state;

/* ---- client_kt.c ---- */

/* Fetches the server's KtConfig and pins it (register, link). Already pinned: the same config
 * is PL_CLIENT_OK; another is an alert (config-changed) and E_KT_CONFIG, never a re-pin.
 * Connects anonymously if no connection is open. */
int cl_kt_pin(pl_client *c);

/*
 * The verified state of label (a canonical username). Looks it up when `refresh` is set, when
 * nothing is stored for it, or for our own label when its last check is older than
 * CL_KT_OWN_CHECK_MS; otherwise returns the stored state after verifying it again. Errors:
 * E_KT_BLOCKED (an unacknowledged alert), E_KT_* (a failed check: alert raised), E_KT_UNLOGGED
 * (the log has no version of it yet), E_KEY_CHANGED (a verified contact's key changed: the
 * state is stored all the same, *out filled), network and store errors.
 */
int cl_kt_current(pl_client *c, const char *label, int refresh, cl_kt_state *out);

/* A lookup answer, checked for shape (sizes and counts); its contents are verified later. */
typedef struct cl_kt_answer {
    Parley__ServerFrame *f;
    const char *note;
    size_t note_len;
    uint8_t cons[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES];
    size_t n_cons;
    const uint8_t *proof;
    size_t proof_len;
} cl_kt_answer;

/* KtLookup{label, known_size, fixed, version}. Returns PL_CLIENT_OK with *a filled (free with
 * cl_kt_answer_free), E_NOT_FOUND (no such published version; no error recorded), E_PROTOCOL
 * for an answer of the wrong shape, or a network error. */
int cl_kt_fetch_lookup(pl_client *c, const char *label, uint64_t known_size, int fixed,
                       uint32_t version, cl_kt_answer *a);
void cl_kt_answer_free(cl_kt_answer *a);

/* Loads the pinned log and the view, verifying the saved checkpoint under the pinned log key
 * (E_KT_STATE with an alert if it does not); pins first if nothing is pinned. */
int cl_kt_load_view(pl_client *c, pl_cstore_kt_log *log, pl_kt_view *v);

/* Moves *work to the answer's checkpoint and verifies its proof for (label, kind, version)
 * with the VRF cache of row (may be NULL); on failure raises the alert (high or not) and
 * leaves *work unchanged. Returns PL_CLIENT_OK, E_KT_VIEW or E_KT_PROOF. */
int cl_kt_verify_answer(pl_client *c, const pl_cstore_kt_log *log, pl_kt_view *work,
                        const char *label, int high, uint8_t kind, uint32_t version,
                        const pl_cstore_kt_label *row, const cl_kt_answer *a,
                        pl_kt_lookup_result *res);

/* The verified state's devices as a device list (for the sending code). */
void cl_kt_to_device_list(const cl_kt_state *s, cl_device_list *out);

/* ---- client_kt_rules.c: pure, unit-tested ---- */

enum cl_kt_rule {
    CL_KT_RULE_OK = 0,
    CL_KT_RULE_ROLLBACK,     /* version lower than the last verified */
    CL_KT_RULE_EQUIVOCATION, /* the same version, another state */
    CL_KT_RULE_OWN_KEY,      /* our label, another account key */
    CL_KT_RULE_OWN_CHAIN     /* does not extend the previous state (gap, fork, bad seq 0) */
};

/* §25 rule 2 against the last verified (version, state hash) of the label (has_last 0: none). */
int cl_kt_rule_version(int has_last, uint32_t last_version,
                       const uint8_t last_hash[PL_ACCOUNT_STATE_HASH_BYTES], uint32_t version,
                       const uint8_t hash[PL_ACCOUNT_STATE_HASH_BYTES]);

/* §25 rule 4 for one step of our own chain: next must carry own_key and extend prev (hashing
 * to prev_hash); with prev NULL (nothing verified before), next must be version 0. */
int cl_kt_rule_own_step(const uint8_t own_key[PL_PUBKEY_BYTES], const pl_account_state *prev,
                        const uint8_t prev_hash[PL_ACCOUNT_STATE_HASH_BYTES],
                        const pl_account_state *next);

/* Is device (id, identity key) in the state? Returns 1 or 0. */
int cl_kt_state_has_device(const pl_account_state *s, uint32_t device_id,
                           const uint8_t identity_key[PL_PUBKEY_BYTES]);

/* A short phrase for a view refusal ("fork", "rollback", ...), stable. */
const char *cl_kt_view_reason_str(pl_kt_view_reason r);
/* Whether a view refusal may pass by itself (clock skew, a late witness): not evidence. */
int cl_kt_view_reason_transient(pl_kt_view_reason r);

/* ---- client_kt_parse.c: pure parsers of hostile input (fuzz/fuzz_kt_client.c) ---- */

/* Checks a KtLookupResult's shape (a note of 1..PL_NOTE_MAX_BYTES, at most 64 consistency
 * hashes of 32 bytes, a proof of 1..PL_KT_LOOKUP_MAX_BYTES) and points *a at it (a->f is not
 * touched; a->note and a->proof point into lr). Returns 0 or -1. */
int cl_kt_answer_parse(const Parley__KtLookupResult *lr, cl_kt_answer *a);

/* The view of a pinned log without its checkpoint: the log vkey must be an Ed25519 note key
 * named by the origin, the witnesses cosignature/v1 keys, and pl_kt_view_init must accept
 * them. Returns 0 or -1. */
int cl_kt_view_from_log(const pl_cstore_kt_log *log, pl_kt_view *v);

/* Checks a KtConfig (sizes, counts, quorum, every key) into *out (pinned_at_ms 0) and builds
 * its view into *v. Returns 0, or -1 with *out zeroed. */
int cl_kt_config_parse(const Parley__KtConfig *kc, pl_cstore_kt_log *out, pl_kt_view *v);

/* The view of a pinned log with its saved checkpoint, read back from the store: the note must
 * open under the pinned log key and carry the saved origin, size and root. Returns 0, -1 (the
 * pinned config does not parse) or -2 (the saved checkpoint does not verify). */
int cl_kt_saved_view(const pl_cstore_kt_log *log, pl_kt_view *v);

/* ---- client_kt_alerts.c ---- */

/*
 * Stores an alert (kind, reason) for label ("" for the log) with evidence ev[0..n), announces
 * it through the notice callback, and records "<msg> (alert #N, see `parley alerts`)" as the
 * client error. Must be called outside a transaction. Returns code.
 */
int cl_kt_alert(pl_client *c, int code, const char *label, const char *kind, int high,
                const pl_cstore_kt_evidence *ev, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* Whether an unacknowledged alert blocks sending to label: 0, or the alert's id (> 0). A
 * log-wide alert blocks every label; a transient one (view-timing) blocks none. */
int64_t cl_kt_blocking_alert(pl_client *c, const char *label);

#endif
