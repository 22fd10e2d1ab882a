/*
 * parley/note.h: C2SP signed notes, tlog-checkpoints and Ed25519 cosignatures
 * (c2sp.org/signed-note, c2sp.org/tlog-checkpoint, c2sp.org/tlog-cosignature;
 * docs/PROTOCOL.md §18). Key transparency publishes its log head this way.
 *
 * A signed note is a text ending in "\n", a blank line, then one or more signature lines
 *     "\xE2\x80\x94 " <key name> " " base64(key id[4] || signature) "\n"
 * (the first three bytes are the em dash U+2014). A key id is
 *     SHA-256(key name || 0x0A || type || public key)[0:4], read big-endian,
 * with type 0x01 for an Ed25519 note signature (the log's key) and 0x04 for a cosignature/v1
 * (a witness's key). A cosignature/v1 signs
 *     "cosignature/v1\ntime " <decimal T> "\n" || note text
 * and its line carries key id || u64 T (big-endian) || signature.
 *
 * Secret keys are raw libsodium Ed25519 secret keys (crypto_sign_SECRETKEYBYTES: seed ||
 * public key), not Parley account or device keys. Nothing here keeps state or allocates;
 * every input is a byte range (char * with a length), never a NUL-terminated string.
 */
#ifndef PARLEY_NOTE_H
#define PARLEY_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "parley/defs.h"

#define PL_NOTE_TYPE_ED25519 0x01u        /* note signature, c2sp.org/signed-note */
#define PL_NOTE_TYPE_COSIGNATURE_V1 0x04u /* timestamped witness cosignature */

#define PL_NOTE_ED25519_SECRET_KEY_BYTES 64u /* libsodium crypto_sign secret key */
#define PL_NOTE_ED25519_PUBLIC_KEY_BYTES 32u

/* Limits. A whole signed note, or a text to be signed, is at most PL_NOTE_MAX_BYTES; a note
 * carries at most PL_NOTE_MAX_SIGNATURES signature lines (the spec asks for at least 16); a
 * key name or a checkpoint origin is 1..PL_NOTE_NAME_MAX_BYTES bytes; one pl_note_open()
 * call takes at most PL_NOTE_MAX_VERIFIERS verifiers. */
#define PL_NOTE_MAX_BYTES 16384u
#define PL_NOTE_MAX_SIGNATURES 32u
#define PL_NOTE_NAME_MAX_BYTES 255u
#define PL_NOTE_MAX_VERIFIERS 32u

/* The largest a cosignature/v1 timestamp may be (2^63 - 1). */
#define PL_COSIGNATURE_MAX_TIME UINT64_C(0x7fffffffffffffff)

/* A vkey "<name>+<8 lowercase hex digits of key id>+<base64(type || public key)>" is at most
 * this long (name, two '+', 8 hex digits, 44 base64 characters). */
#define PL_NOTE_VKEY_MAX_BYTES (PL_NOTE_NAME_MAX_BYTES + 2u + 8u + 44u)

#define PL_CHECKPOINT_ROOT_BYTES 32u

/* ---- Verifier keys ------------------------------------------------------------------------ */

/* A public key a note may be signed with. Plain public data: copy it freely. */
typedef struct pl_note_verifier {
    char name[PL_NOTE_NAME_MAX_BYTES + 1]; /* NUL-terminated, name_len bytes */
    size_t name_len;
    uint8_t type; /* PL_NOTE_TYPE_ED25519 or PL_NOTE_TYPE_COSIGNATURE_V1 */
    uint32_t key_id;
    uint8_t public_key[PL_NOTE_ED25519_PUBLIC_KEY_BYTES];
} pl_note_verifier;

/*
 * Returns the key id SHA-256(name || 0x0A || type || public_key)[0:4] as a big-endian u32.
 * Any name and type are hashed as given; nothing is checked.
 */
PL_API uint32_t pl_note_key_id(const char *name, size_t name_len, uint8_t type,
                               const uint8_t public_key[PL_NOTE_ED25519_PUBLIC_KEY_BYTES]);

/*
 * Builds a verifier from a key name and a raw Ed25519 public key, computing its key id.
 * Returns PL_OK; PL_E_INVALID_ARG for a name that is empty, longer than
 * PL_NOTE_NAME_MAX_BYTES, not UTF-8, or holds a space, '+' or a control character;
 * PL_E_KEY_TYPE for a type other than the two above; PL_E_BAD_KEY for a public key that is
 * not a valid Ed25519 point of the main subgroup. On error *out is zeroed.
 */
PL_API PL_NODISCARD int pl_note_verifier_init(const char *name, size_t name_len, uint8_t type,
                                              const uint8_t public_key[32], pl_note_verifier *out);

/*
 * Parses a vkey "<name>+<hex key id>+<base64(type || public key)>" of len bytes (no NUL,
 * no newline). The hex key id must be 8 lowercase digits and must equal the key id computed
 * from the name and key. Returns PL_OK; PL_E_TOO_LARGE past PL_NOTE_VKEY_MAX_BYTES;
 * PL_E_MALFORMED for bad syntax, name, hex, base64, key length or a key id that does not
 * match; PL_E_KEY_TYPE for a type other than 0x01 or 0x04; PL_E_BAD_KEY for an invalid
 * Ed25519 point. On error *out is zeroed.
 */
PL_API PL_NODISCARD int pl_note_verifier_parse(const char *vkey, size_t len, pl_note_verifier *out);

/*
 * Writes v's vkey (no NUL, no newline) to out[0..cap) and its length to *out_len. Returns
 * PL_OK, or PL_E_BUFFER_TOO_SMALL (then *out_len is 0). PL_NOTE_VKEY_MAX_BYTES always fits.
 */
PL_API PL_NODISCARD int pl_note_verifier_format(const pl_note_verifier *v, char *out, size_t cap,
                                                size_t *out_len);

/* ---- Signed notes ------------------------------------------------------------------------- */

/*
 * Signs text[0..text_len) with the Ed25519 secret key sk under key name `name` (type 0x01),
 * writing the whole signed note
 *     text || "\n" || "\xE2\x80\x94 " name " " base64(key id || signature) "\n"
 * to out[0..cap) and its length to *out_len. The text must be 1..PL_NOTE_MAX_BYTES bytes of
 * UTF-8 ending in "\n", with no control characters but "\n".
 * Returns PL_OK; PL_E_TOO_LARGE when the text or the note would exceed PL_NOTE_MAX_BYTES;
 * PL_E_INVALID_ARG for a bad text or name (rules of pl_note_verifier_init);
 * PL_E_BUFFER_TOO_SMALL. On error *out_len is 0 and out[0..cap) is zeroed.
 * More signatures (a cosignature line, say) are added by appending their lines.
 */
PL_API PL_NODISCARD int pl_note_sign(const char *text, size_t text_len, const char *name,
                                     size_t name_len,
                                     const uint8_t sk[PL_NOTE_ED25519_SECRET_KEY_BYTES], char *out,
                                     size_t cap, size_t *out_len);

/* What pl_note_open() found. text points into the caller's note and lives as long as it. */
typedef struct pl_note_opened {
    const char *text; /* the note text, including its final "\n" */
    size_t text_len;
    size_t signature_lines; /* how many signature lines the note has, known or not */
    uint32_t verified;      /* bit i set: v[i] signed the note and its signature verified */
    uint64_t cosigned_at[PL_NOTE_MAX_VERIFIERS]; /* for a verified cosignature/v1 v[i]: T */
} pl_note_opened;

/*
 * Opens the signed note note[0..len) against the nv verifiers v[0..nv) (nv <=
 * PL_NOTE_MAX_VERIFIERS; v may be NULL when nv is 0).
 *
 * Strict grammar: valid UTF-8 without control characters but "\n"; the text is everything up
 * to and including the first "\n" of the note's last "\n\n"; then 1..PL_NOTE_MAX_SIGNATURES
 * signature lines, each the em dash, one space, a key name (no space, no '+'), one space,
 * canonical padded base64 of at least 5 bytes, "\n". A line whose name and key id match
 * no verifier is ignored. A line matching v[i] is verified as v[i]'s type says (type 0x04
 * over "cosignature/v1\ntime T\n" || text, T at most PL_COSIGNATURE_MAX_TIME); if it does
 * not verify, the whole note is refused. If a verifier has several lines, all must verify
 * and cosigned_at keeps the first line's T.
 *
 * Returns PL_OK when at least one verifier signed and no known signature failed;
 * PL_E_TOO_LARGE for len > PL_NOTE_MAX_BYTES or too many signature lines; PL_E_MALFORMED
 * for any grammar error; PL_E_BAD_SIGNATURE when a known key's signature fails or when no
 * verifier signed the note; PL_E_INVALID_ARG for nv > PL_NOTE_MAX_VERIFIERS. On error *out
 * is zeroed.
 */
PL_API PL_NODISCARD int pl_note_open(const char *note, size_t len, const pl_note_verifier *v,
                                     size_t nv, pl_note_opened *out);

/* ---- Checkpoints -------------------------------------------------------------------------- */

/*
 * A tlog-checkpoint body: "<origin>\n<decimal size>\n<base64 root>\n" then extension lines.
 * extensions points into the text it was parsed from (NULL when there are none) and holds the
 * extension lines verbatim, each ending in "\n"; it lives as long as that text.
 */
typedef struct pl_checkpoint {
    char origin[PL_NOTE_NAME_MAX_BYTES + 1]; /* NUL-terminated, origin_len bytes */
    size_t origin_len;
    uint64_t size;
    uint8_t root[PL_CHECKPOINT_ROOT_BYTES];
    const char *extensions;
    size_t extensions_len;
} pl_checkpoint;

/*
 * Parses a checkpoint body text[0..len) (a note text as pl_note_opened gives it). The text
 * must be UTF-8 without control characters but "\n", end in "\n", and have at least three
 * lines, none empty: a 1..PL_NOTE_NAME_MAX_BYTES-byte origin; the size in decimal with no
 * leading zero (but "0") that fits a u64; the root as canonical base64 of exactly 32 bytes.
 * Returns PL_OK; PL_E_TOO_LARGE for len > PL_NOTE_MAX_BYTES or a longer origin;
 * PL_E_MALFORMED otherwise. On error *out is zeroed.
 */
PL_API PL_NODISCARD int pl_checkpoint_parse(const char *text, size_t len, pl_checkpoint *out);

/*
 * Writes cp as a checkpoint body to out[0..cap) and its length to *out_len: the exact bytes
 * pl_checkpoint_parse() accepts back into *cp. Returns PL_OK; PL_E_INVALID_ARG for an origin
 * or extension lines pl_checkpoint_parse() would refuse; PL_E_TOO_LARGE past
 * PL_NOTE_MAX_BYTES; PL_E_BUFFER_TOO_SMALL. On error *out_len is 0.
 */
PL_API PL_NODISCARD int pl_checkpoint_format(const pl_checkpoint *cp, char *out, size_t cap,
                                             size_t *out_len);

/* ---- Cosignatures (cosignature/v1) ---------------------------------------------------------- */

/*
 * A witness cosigns checkpoint[0..len) (a checkpoint body, as pl_checkpoint_parse() accepts)
 * at POSIX time `timestamp` with Ed25519 secret key sk under key name `name`. Writes one
 * signature line "\xE2\x80\x94 " name " " base64(key id || u64 timestamp || signature) "\n"
 * to out[0..cap) and its length to *out_len; append it to the signed checkpoint.
 * Returns PL_OK; PL_E_INVALID_ARG for a bad name or timestamp > PL_COSIGNATURE_MAX_TIME;
 * pl_checkpoint_parse()'s codes for a text that is not a checkpoint; PL_E_BUFFER_TOO_SMALL.
 * On error *out_len is 0 and out[0..cap) is zeroed.
 */
PL_API PL_NODISCARD int pl_cosignature_sign(const char *checkpoint, size_t len, const char *name,
                                            size_t name_len,
                                            const uint8_t sk[PL_NOTE_ED25519_SECRET_KEY_BYTES],
                                            uint64_t timestamp, char *out, size_t cap,
                                            size_t *out_len);

/*
 * Verifies one cosignature line line[0..line_len) (one signature line, with its final "\n")
 * over checkpoint[0..len) under verifier v (type PL_NOTE_TYPE_COSIGNATURE_V1), and writes its
 * time to *timestamp. Returns PL_OK; PL_E_KEY_TYPE when v is not a cosignature key;
 * PL_E_TOO_LARGE for len > PL_NOTE_MAX_BYTES; PL_E_MALFORMED for a line that is not a
 * signature line; PL_E_IDENTITY_MISMATCH when the line's name or key id is not v's;
 * PL_E_BAD_SIGNATURE when the signature, its length or its time is wrong. On error
 * *timestamp is 0. The checkpoint text itself is not parsed: it is what was signed.
 */
PL_API PL_NODISCARD int pl_cosignature_verify(const pl_note_verifier *v, const char *checkpoint,
                                              size_t len, const char *line, size_t line_len,
                                              uint64_t *timestamp);

#endif
