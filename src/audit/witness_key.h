/*
 * witness_key.h: the auditor's witness key, DIR/witness.key: the 32-byte Ed25519 seed of its
 * cosignature/v1 note key (docs/PROTOCOL.md §18), raw, mode 0600.
 *
 * Written once by `parley-audit init` (temporary file, fsync, link into place so that an
 * existing key is never overwritten, fsync of the directory). Loading refuses a file that
 * is not a regular file, that group or others may access, that another user owns, or whose
 * size is not 32 bytes. The secret lives in sodium_malloc'd memory and never reaches a log.
 */
#ifndef PARLEY_AUDIT_WITNESS_KEY_H
#define PARLEY_AUDIT_WITNESS_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "parley/note.h"

#define PL_AUDIT_KEY_FILE "witness.key"
#define PL_AUDIT_KEY_SEED_BYTES 32u

typedef struct pl_audit_key {
    uint8_t sk[PL_NOTE_ED25519_SECRET_KEY_BYTES]; /* libsodium seed || public key */
    uint8_t pk[PL_NOTE_ED25519_PUBLIC_KEY_BYTES];
} pl_audit_key;

/*
 * Creates DIR/witness.key from a fresh random seed. Returns 0, or -1 with a sentence in err
 * (the file exists already, or an I/O error naming the path).
 */
int pl_audit_key_create(const char *dir, char *err, size_t err_len);

/*
 * Loads DIR/witness.key into *out (sodium_malloc'd; free with pl_audit_key_free). Returns 0,
 * or -1 with *out NULL and a sentence in err.
 */
int pl_audit_key_load(const char *dir, pl_audit_key **out, char *err, size_t err_len);

/* Wipes and frees k; accepts NULL. */
void pl_audit_key_free(pl_audit_key *k);

/*
 * The witness's verifier (type cosignature/v1) under name[0..name_len). Returns PL_OK, or
 * pl_note_verifier_init's PL_E_INVALID_ARG for a name a note key cannot have.
 */
int pl_audit_key_verifier(const pl_audit_key *k, const char *name, size_t name_len,
                          pl_note_verifier *out);

#endif
