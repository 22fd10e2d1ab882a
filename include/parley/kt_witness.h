/*
 * parley/kt_witness.h: the decision logic of a key transparency witness (docs/PROTOCOL.md
 * §22; c2sp.org/tlog-witness, add-checkpoint).
 *
 * A witness remembers, per log, the last checkpoint it cosigned: origin -> (size, root). A
 * log asks it to cosign a new checkpoint by sending the size it believes the witness holds
 * (old size), a consistency proof from that size, and the signed checkpoint note. The
 * witness cosigns only a tree that extends the one it holds: never a smaller tree, never a
 * different tree of the same size, never one it cannot prove consistent.
 *
 * libparley decides; the caller stores. pl_kt_witness_state is a plain struct of public data
 * (no pointers): persist it as bytes, one per origin.
 *
 *     !!! THE CALLER MUST COMMIT *next TO DURABLE STORAGE (fsync, database commit) BEFORE !!!
 *     !!! IT RELEASES THE COSIGNATURE LINE. If it released first and then crashed, the    !!!
 *     !!! witness would restart from the old state and could cosign a fork of what it has  !!!
 *     !!! already vouched for. Requests for one origin must also be serialised: two runs  !!!
 *     !!! from the same *cur must not both be released.                                    !!!
 *
 * Nothing here allocates, keeps state or reads a clock: the cosignature time is an argument.
 */
#ifndef PARLEY_KT_WITNESS_H
#define PARLEY_KT_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "parley/defs.h"
#include "parley/merkle.h"
#include "parley/note.h"

/* What a witness holds for one log. has_state 0: nothing cosigned yet (size 0, root zero). */
typedef struct pl_kt_witness_state {
    char origin[PL_NOTE_NAME_MAX_BYTES + 1]; /* NUL-terminated, origin_len bytes */
    size_t origin_len;
    pl_note_verifier log_key; /* the log's note key, type PL_NOTE_TYPE_ED25519 */
    uint64_t size;            /* the size of the last cosigned checkpoint */
    uint8_t root[PL_MERKLE_HASH_BYTES];
    int has_state;
} pl_kt_witness_state;

/*
 * Writes the empty state of a witness for the log of origin[0..origin_len) whose checkpoints
 * are signed by log_key (copied). Returns PL_OK, or PL_E_INVALID_ARG (an origin that is
 * empty, longer than PL_NOTE_NAME_MAX_BYTES or holds a newline or NUL; log_key not of type
 * PL_NOTE_TYPE_ED25519), with *out zeroed.
 */
PL_API PL_NODISCARD int pl_kt_witness_state_init(const char *origin, size_t origin_len,
                                                 const pl_note_verifier *log_key,
                                                 pl_kt_witness_state *out);

/*
 * Decides one add-checkpoint request against the state *cur (borrowed):
 *
 *   1. note[0..note_len) must be a signed note that cur->log_key signed (pl_note_open), whose
 *      text is a checkpoint (pl_checkpoint_parse) of origin cur->origin;
 *   2. old_size must equal cur->size, else PL_E_WITNESS_CONFLICT with *conflict_size =
 *      cur->size, so that the log can retry with a proof from that size;
 *   3. the checkpoint's size must be >= cur->size, else PL_E_ROLLBACK;
 *   4. the tree must extend cur's: with no state or cur->size 0 the proof must be empty (and a
 *      size-0 checkpoint must carry the empty tree's root, SHA-256 of ""); at the same size
 *      the proof must be empty and the roots equal; otherwise consistency[0..n) must prove
 *      (cur->size, cur->root) -> (size, root) (pl_merkle_verify_consistency). Any failure,
 *      a fork included, is PL_E_BAD_PROOF;
 *   5. then *next = cur with the new size and root (has_state 1), and the cosignature/v1 line
 *      of witness_name[0..name_len) with secret key witness_sk at time now_s over the
 *      checkpoint text is written to cosig_line[0..cap), its length to *line_len.
 *
 * Re-sending the checkpoint the witness holds (same size, same root) is accepted and cosigned
 * again. next may alias cur. The caller owns every buffer.
 *
 * SEE THE HEADER COMMENT: persist *next durably before releasing cosig_line.
 *
 * Returns PL_OK; PL_E_WITNESS_CONFLICT; PL_E_ROLLBACK; PL_E_BAD_PROOF; PL_E_IDENTITY_MISMATCH
 * for a checkpoint of another origin; pl_note_open()'s PL_E_MALFORMED, PL_E_TOO_LARGE,
 * PL_E_BAD_SIGNATURE (not signed by cur->log_key, or a bad signature); PL_E_MALFORMED or
 * PL_E_TOO_LARGE for a text that is not a checkpoint; PL_E_INVALID_ARG (a NULL pointer, a
 * state pl_kt_witness_state_init could not have made or that has no state but a size, n >
 * PL_MERKLE_MAX_PROOF, consistency NULL with n > 0, a bad witness name, now_s >
 * PL_COSIGNATURE_MAX_TIME); PL_E_BUFFER_TOO_SMALL for cosig_line. On every refusal *next is
 * a copy of *cur, *line_len is 0 and cosig_line[0..cap) is zeroed; *conflict_size is
 * cur->size for PL_E_WITNESS_CONFLICT and 0 otherwise. conflict_size may be NULL.
 */
PL_API PL_NODISCARD int
pl_kt_witness_add_checkpoint(const pl_kt_witness_state *cur, uint64_t old_size, const char *note,
                             size_t note_len, const uint8_t (*consistency)[PL_MERKLE_HASH_BYTES],
                             size_t n, const char *witness_name, size_t name_len,
                             const uint8_t witness_sk[PL_NOTE_ED25519_SECRET_KEY_BYTES],
                             uint64_t now_s, pl_kt_witness_state *next, char *cosig_line,
                             size_t cap, size_t *line_len, uint64_t *conflict_size);

#endif
