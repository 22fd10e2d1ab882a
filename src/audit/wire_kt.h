/*
 * wire_kt.h: the auditor's reading of the key-transparency answers it gets (KtCheckpoint,
 * KtAuditEntry; proto/parley.proto, docs/PROTOCOL.md §24.4). The frame codec has checked the
 * protobuf framing; this checks the lengths the auditor relies on and copies the fields into
 * bounded, fixed-size forms. Hostile input: a refusal names the field.
 */
#ifndef PARLEY_AUDIT_WIRE_KT_H
#define PARLEY_AUDIT_WIRE_KT_H

#include <stddef.h>
#include <stdint.h>

#include "parley/merkle.h"

#include "parley.pb-c.h"
#include "replay.h"

/* Most leaves one entry may carry: a frame of PL_FRAME_MAX_BYTES holds fewer. */
#define PL_AUDIT_MAX_LEAVES_PER_ENTRY (1u << 15)

/* A KtCheckpoint: the signed note and its consistency proof. note points into the frame. */
typedef struct pl_audit_checkpoint_msg {
    const char *note;
    size_t note_len;
    uint8_t consistency[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES];
    size_t n_consistency;
} pl_audit_checkpoint_msg;

/*
 * Reads w (hostile) into *out. Returns PL_OK, or PL_E_MALFORMED (no note, a proof hash that is
 * not 32 bytes) or PL_E_TOO_LARGE (a note over PL_NOTE_MAX_BYTES, more than
 * PL_MERKLE_MAX_PROOF hashes), with *out zeroed and a static reason in *why.
 */
int pl_audit_checkpoint_from_wire(const Parley__KtCheckpoint *w, pl_audit_checkpoint_msg *out,
                                  const char **why);

/*
 * Reads w (hostile) into *e, with its leaves copied into *leaves (malloc'd, the caller frees;
 * NULL when there are none). Returns PL_OK, or PL_E_MALFORMED (a prefix root that is not 32
 * bytes, a leaf that is not 64), PL_E_TOO_LARGE (more than PL_AUDIT_MAX_LEAVES_PER_ENTRY
 * leaves) or PL_E_NOMEM, with *leaves NULL and a static reason in *why.
 */
int pl_audit_entry_from_wire(const Parley__KtAuditEntry *w, pl_audit_entry *e,
                             uint8_t (**leaves)[PL_AUDIT_LEAF_BYTES], const char **why);

#endif
