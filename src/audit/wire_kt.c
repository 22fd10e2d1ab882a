/* wire_kt.c: the auditor's reading of KtCheckpoint and KtAuditEntry (wire_kt.h). */
#include "wire_kt.h"

#include <stdlib.h>
#include <string.h>

#include "parley/error.h"
#include "parley/note.h"

int pl_audit_checkpoint_from_wire(const Parley__KtCheckpoint *w, pl_audit_checkpoint_msg *out,
                                  const char **why)
{
    size_t len;

    memset(out, 0, sizeof *out);
    *why = "";
    if (!w || !w->note || (len = strlen(w->note)) == 0) {
        *why = "kt_checkpoint.note: missing";
        return PL_E_MALFORMED;
    }
    if (len > PL_NOTE_MAX_BYTES) {
        *why = "kt_checkpoint.note: longer than a note may be";
        return PL_E_TOO_LARGE;
    }
    if (w->n_consistency > PL_MERKLE_MAX_PROOF) {
        *why = "kt_checkpoint.consistency: more than 64 hashes";
        return PL_E_TOO_LARGE;
    }
    for (size_t i = 0; i < w->n_consistency; i++) {
        if (w->consistency[i].len != PL_MERKLE_HASH_BYTES) {
            memset(out, 0, sizeof *out);
            *why = "kt_checkpoint.consistency[]: not 32 bytes";
            return PL_E_MALFORMED;
        }
        memcpy(out->consistency[i], w->consistency[i].data, PL_MERKLE_HASH_BYTES);
    }
    out->n_consistency = w->n_consistency;
    out->note = w->note;
    out->note_len = len;
    return PL_OK;
}

int pl_audit_entry_from_wire(const Parley__KtAuditEntry *w, pl_audit_entry *e,
                             uint8_t (**leaves)[PL_AUDIT_LEAF_BYTES], const char **why)
{
    uint8_t(*copy)[PL_AUDIT_LEAF_BYTES] = NULL;

    memset(e, 0, sizeof *e);
    *leaves = NULL;
    *why = "";
    if (!w || w->prefix_root.len != PL_PREFIX_HASH_BYTES) {
        *why = "kt_audit.entries[].prefix_root: not 32 bytes";
        return PL_E_MALFORMED;
    }
    if (w->n_leaves > PL_AUDIT_MAX_LEAVES_PER_ENTRY) {
        *why = "kt_audit.entries[].leaves: too many";
        return PL_E_TOO_LARGE;
    }
    if (w->n_leaves > 0 && !(copy = malloc(w->n_leaves * sizeof *copy))) {
        *why = "out of memory";
        return PL_E_NOMEM;
    }
    for (size_t i = 0; i < w->n_leaves; i++) {
        if (w->leaves[i].len != PL_AUDIT_LEAF_BYTES) {
            free(copy);
            *why = "kt_audit.entries[].leaves[]: not 64 bytes";
            return PL_E_MALFORMED;
        }
        memcpy(copy[i], w->leaves[i].data, PL_AUDIT_LEAF_BYTES);
    }
    e->position = w->position;
    e->timestamp_ms = w->timestamp_ms;
    memcpy(e->prefix_root, w->prefix_root.data, PL_PREFIX_HASH_BYTES);
    e->leaves = (const uint8_t(*)[PL_AUDIT_LEAF_BYTES])copy;
    e->n_leaves = w->n_leaves;
    *leaves = copy;
    return PL_OK;
}
