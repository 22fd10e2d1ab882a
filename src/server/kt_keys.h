/*
 * kt_keys.h: the key-transparency log's three secrets and its public identity
 * (PROTOCOL.md §24.1).
 *
 *   DATA/kt/log.key   32-byte Ed25519 seed of the log's note key (signs checkpoints)
 *   DATA/kt/vrf.key   32-byte VRF seed (§17)
 *   DATA/kt/open.key  32-byte opening key of the commitments (§19.4)
 *
 * Each file is the raw 32 bytes, mode 0600 in a 0700 directory. On first start (no file
 * there) all three are made at once, each written to a temporary file, fsynced and renamed;
 * later starts load them and refuse a key file that group or others may read, or a set with
 * one file missing (a new log key or VRF key is a new log: that must be the operator's
 * decision, not an accident).
 *
 * The origin is "<name>/kt/v1/<first 16 hex digits of SHA-256("parley/kt-config/v1" ||
 * log_pk || vrf_pk)>", and the log's note key has the origin as its key name. Secrets live
 * in sodium_malloc memory and never reach a log.
 */
#ifndef PARLEYD_KT_KEYS_H
#define PARLEYD_KT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "parley/parley.h"

#define PL_KT_KEY_FILE_BYTES 32u

typedef struct pl_kt_keys {
    uint8_t *log_sk;   /* PL_NOTE_ED25519_SECRET_KEY_BYTES, sodium_malloc */
    uint8_t *vrf_seed; /* PL_VRF_SECRET_KEY_BYTES, sodium_malloc */
    uint8_t *open_key; /* PL_KT_OPEN_KEY_BYTES, sodium_malloc */
    uint8_t log_pk[PL_NOTE_ED25519_PUBLIC_KEY_BYTES];
    uint8_t vrf_pk[PL_VRF_PUBLIC_KEY_BYTES];
    char origin[PL_NOTE_NAME_MAX_BYTES + 1];
    size_t origin_len;
    pl_note_verifier log_verifier; /* the origin, type 0x01, log_pk */
    char log_vkey[PL_NOTE_VKEY_MAX_BYTES + 1];
} pl_kt_keys;

/*
 * Loads (or, when DATA/kt holds none of them, creates) the three keys under data_dir and
 * derives the origin from name. *created is 1 when they were made now. Returns 0 and *out
 * (free with pl_kt_keys_free), or -1 with a one-line reason in err.
 */
int pl_kt_keys_load(pl_kt_keys **out, const char *data_dir, const char *name, int *created,
                    char *err, size_t err_len);

/* Wipes and frees k. Accepts NULL. */
void pl_kt_keys_free(pl_kt_keys *k);

#endif
