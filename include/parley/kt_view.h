/*
 * parley/kt_view.h: a key-transparency client's view of the log (docs/PROTOCOL.md §21): the
 * pinned log (origin, log key, witnesses and quorum, clock skew bounds) and the last
 * checkpoint this client verified. Each new checkpoint must be signed by the log, cosigned by
 * a quorum of witnesses at a time close to now, and extend the last one (RFC 9162
 * consistency); otherwise the view does not move and the caller gets the evidence.
 *
 * pl_kt_view is a plain struct of public data with no pointers: a client persists its bytes
 * (or its fields) and loads them back. Nothing here reads a clock: now is an argument.
 */
#ifndef PARLEY_KT_VIEW_H
#define PARLEY_KT_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "parley/defs.h"
#include "parley/merkle.h"
#include "parley/note.h"

/* The log key and the witnesses are opened in one pl_note_open() call. */
#define PL_KT_VIEW_MAX_WITNESSES (PL_NOTE_MAX_VERIFIERS - 1u)

/* What a client keeps. Fill it with pl_kt_view_init(); change it only with
 * pl_kt_view_update(). */
typedef struct pl_kt_view {
    char origin[PL_NOTE_NAME_MAX_BYTES + 1]; /* NUL-terminated, origin_len bytes */
    size_t origin_len;
    pl_note_verifier log_key;                             /* type PL_NOTE_TYPE_ED25519 */
    pl_note_verifier witnesses[PL_KT_VIEW_MAX_WITNESSES]; /* type PL_NOTE_TYPE_COSIGNATURE_V1 */
    size_t n_witnesses;
    unsigned quorum;        /* distinct witnesses whose timely cosignature is required */
    uint64_t max_ahead_ms;  /* a cosignature may be this far ahead of now */
    uint64_t max_behind_ms; /* ... or this far behind */
    /* The last verified checkpoint; has_checkpoint is 0 until the first update. */
    int has_checkpoint;
    uint64_t size;
    uint8_t root[PL_CHECKPOINT_ROOT_BYTES];
    size_t note_len;
    char note[PL_NOTE_MAX_BYTES]; /* the whole signed note, zero past note_len */
} pl_kt_view;

/* Why pl_kt_view_update() refused a checkpoint. */
typedef enum pl_kt_view_reason {
    PL_KT_VIEW_NONE = 0,        /* accepted, or a bad argument */
    PL_KT_VIEW_MALFORMED,       /* not a signed note, or its text is not a checkpoint */
    PL_KT_VIEW_BAD_SIGNATURE,   /* the log key did not sign it, or a known signature fails */
    PL_KT_VIEW_WRONG_ORIGIN,    /* a checkpoint of another log */
    PL_KT_VIEW_NO_QUORUM,       /* fewer than quorum pinned witnesses cosigned it */
    PL_KT_VIEW_STALE,           /* enough cosigned, but too few of them recently enough */
    PL_KT_VIEW_FROM_THE_FUTURE, /* enough cosigned, but too few of them not too far ahead */
    PL_KT_VIEW_ROLLBACK,        /* smaller than the last verified checkpoint */
    PL_KT_VIEW_FORK,            /* same size, other root; or a consistency proof that fails */
    PL_KT_VIEW_BAD_CONSISTENCY  /* a proof that cannot be one for these sizes (its length) */
} pl_kt_view_reason;

/*
 * What pl_kt_view_update() saw, for the user or an auditor. old_* is the view's last
 * checkpoint (has_old 0 before the first update; old_note points into the view and lives
 * until it next changes); new_* is the offered checkpoint, once it parsed (has_new 1;
 * new_note points into the caller's note). For a fork both signed notes are here.
 */
typedef struct pl_kt_view_evidence {
    pl_kt_view_reason reason;
    int has_old;
    uint64_t old_size;
    uint8_t old_root[PL_CHECKPOINT_ROOT_BYTES];
    const char *old_note;
    size_t old_note_len;
    int has_new;
    uint64_t new_size;
    uint8_t new_root[PL_CHECKPOINT_ROOT_BYTES];
    const char *new_note;
    size_t new_note_len;
} pl_kt_view_evidence;

/*
 * Pins a log: origin[0..origin_len) (1..PL_NOTE_NAME_MAX_BYTES bytes, no control character),
 * the log's key (type PL_NOTE_TYPE_ED25519), n_witnesses <= PL_KT_VIEW_MAX_WITNESSES distinct
 * witness keys (type PL_NOTE_TYPE_COSIGNATURE_V1; witnesses may be NULL when n_witnesses is 0)
 * and quorum <= n_witnesses (0 only for a single-user test server), and the clock bounds.
 * Everything is copied. The view starts with no checkpoint.
 * Returns PL_OK, or PL_E_INVALID_ARG (with *v zeroed) for any argument outside those rules,
 * including two witnesses with the same name and key.
 */
PL_API PL_NODISCARD int pl_kt_view_init(pl_kt_view *v, const char *origin, size_t origin_len,
                                        const pl_note_verifier *log_key,
                                        const pl_note_verifier *witnesses, size_t n_witnesses,
                                        unsigned quorum, uint64_t max_ahead_ms,
                                        uint64_t max_behind_ms);

/*
 * Moves the view to the signed checkpoint note[0..note_len) at time now_ms (POSIX ms), given
 * the n hashes of the RFC 9162 consistency proof from the view's (size, root) to the note's
 * (consistency may be NULL when n is 0). Checks, in order:
 *   1. the note opens and the log key signed it              MALFORMED, BAD_SIGNATURE
 *   2. its text is a checkpoint of the view's origin          MALFORMED, WRONG_ORIGIN
 *   3. at least quorum pinned witnesses cosigned it at a time T (seconds) with
 *      now - max_behind <= T*1000 + 999 and T*1000 <= now + max_ahead; the 999 is the part of
 *      a second the witness's clock dropped                   NO_QUORUM, STALE, FROM_THE_FUTURE
 *   4. size >= the view's size                                ROLLBACK
 *   5. same size: the same root (the proof is ignored)        FORK
 *      larger: the proof has the length RFC 9162 gives these sizes and verifies
 *                                                             BAD_CONSISTENCY, FORK
 * Before the first update, or when the view's size is 0, steps 4 and 5 pass without a proof.
 * On success the view holds the new size, root and note (a same-size note with fresh
 * cosignatures replaces the old one). On failure *v is unchanged.
 * Returns PL_OK; PL_E_MALFORMED or PL_E_TOO_LARGE (MALFORMED); PL_E_BAD_SIGNATURE
 * (BAD_SIGNATURE); PL_E_BAD_PROOF (BAD_CONSISTENCY); PL_E_KT_VIEW (every other reason);
 * PL_E_INVALID_ARG for NULL v, note or ev, consistency NULL with n > 0, or a view with
 * impossible fields (reason NONE). *ev (caller-owned) is always rewritten; on success its
 * reason is NONE and it describes the accepted step.
 */
PL_API PL_NODISCARD int pl_kt_view_update(pl_kt_view *v, const char *note, size_t note_len,
                                          uint64_t now_ms,
                                          const uint8_t (*consistency)[PL_MERKLE_HASH_BYTES],
                                          size_t n, pl_kt_view_evidence *ev);

#endif
