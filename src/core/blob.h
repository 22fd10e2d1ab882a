/*
 * blob.h: the frame around every saved state (PROTOCOL.md §9).
 *
 *   'P' 'L' | kind u8 | version u8 | body length u32 | body | BLAKE2b-128 of all before it
 *
 * The checksum catches accidental corruption and truncation; it is not a MAC. Saved state
 * is confidential and must be stored encrypted by the caller, whose AEAD authenticates it.
 */
#ifndef PARLEY_CORE_BLOB_H
#define PARLEY_CORE_BLOB_H

#include "buf.h"

enum pl__blob_kind {
    PL__BLOB_ACCOUNT = 1,
    PL__BLOB_DEVICE = 2,
    PL__BLOB_SIGNED_PREKEY = 3,
    PL__BLOB_ONETIME_PREKEY = 4,
    PL__BLOB_SESSION = 5,
    PL__BLOB_SENDER_KEY = 6,          /* a group sending chain (sender_key.c) */
    PL__BLOB_SENDER_KEY_RECEIVER = 7, /* a group receiving chain (sender_key.c) */
};

#define PL__BLOB_VERSION 1u /* the newest version this code writes and reads */
#define PL__BLOB_HEADER_BYTES 8u
#define PL__BLOB_CHECKSUM_BYTES 16u
#define PL__BLOB_OVERHEAD (PL__BLOB_HEADER_BYTES + PL__BLOB_CHECKSUM_BYTES)

/* Starts a blob of `kind` whose body is body_len bytes. */
void pl__blob_begin(pl__writer *w, uint8_t kind, uint32_t body_len);
/* Appends the checksum over everything written so far. */
void pl__blob_end(pl__writer *w);

/*
 * Checks the frame of `in` (length, magic, checksum, kind, version) and sets *body to a reader
 * over the body and *version to the blob's version. Returns PL_OK, PL_E_TRUNCATED,
 * PL_E_MALFORMED (trailing bytes), PL_E_CORRUPT, PL_E_WRONG_KIND or PL_E_VERSION.
 */
int pl__blob_open(const uint8_t *in, size_t len, uint8_t kind, pl__reader *body, uint8_t *version);

#endif
