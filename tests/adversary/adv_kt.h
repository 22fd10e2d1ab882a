/*
 * adv_kt.h: what a malicious operator does to key-transparency messages, for the proxy's
 * hooks and the attack tests (docs/ADVERSARY.md):
 *
 *   - note surgery (PROTOCOL.md §18): strip the witnesses' cosignature lines from a signed
 *     checkpoint, or flip a bit of one line's signature, keeping the note well-formed so that
 *     what the client refuses is the missing or bad signature, not the syntax;
 *   - lookup surgery (§23.2): decode a lookup proof, change it, encode it again, so that the
 *     client meets a well-formed proof that lies;
 *   - frame surgery: the same KtLookupResult / KtCheckpoint Response, or KtCheckpoint Push,
 *     with another note or proof, emitted through the proxy (mp_emit_server);
 *   - forged account states (§19): a state of a label made under another account key.
 *
 * All functions are pure (no I/O, no clock); failures of the test's own inputs fail the test
 * (cmocka fail_msg), since a test that cannot build its attack proves nothing.
 */
#ifndef PARLEY_TESTS_ADV_KT_H
#define PARLEY_TESTS_ADV_KT_H

#include <stddef.h>
#include <stdint.h>

#include "mitm_proxy.h"
#include "parley.pb-c.h"
#include "parley/parley.h"

/* ---- Notes ---- */

/*
 * Copies the signed note note[0..len) to out[0..cap) keeping only the signature lines whose
 * key name is keep_name (the log's own line: its name is the origin). *out_len gets the new
 * length; returns how many lines were removed.
 */
size_t adv_note_keep_only(const char *note, size_t len, const char *keep_name, char *out,
                          size_t cap, size_t *out_len);

/*
 * Copies the note with the last byte of the signature on the (first) line named `name`
 * flipped, re-encoded as canonical base64: the line still parses and names a known key, and
 * its signature no longer verifies. Fails the test if no line has that name.
 */
void adv_note_corrupt_line(const char *note, size_t len, const char *name, char *out, size_t cap,
                           size_t *out_len);

/* The checkpoint text of a signed note (everything before its signature lines) and its parse:
 * returns the text's length, and fills *cp if cp is not NULL. Fails the test on a bad note. */
size_t adv_note_text(const char *note, size_t len, pl_checkpoint *cp);

/* The names of the note's signature lines, in order: writes up to max NUL-terminated names of
 * up to 255 bytes into names, returns the number of lines. */
size_t adv_note_signers(const char *note, size_t len, char (*names)[256], size_t max);

/* ---- Lookup proofs ---- */

/* Changes a decoded proof in place; value may be pointed at the caller's bytes. */
typedef void (*adv_lookup_mutation)(pl_kt_lookup *l, void *arg);

/*
 * Decodes in[0..len), applies mutate, encodes into out[0..cap) (PL_KT_LOOKUP_MAX_BYTES always
 * fits). Fails the test if the proof does not decode or the mutation does not encode.
 */
void adv_lookup_mutate(const uint8_t *in, size_t len, adv_lookup_mutation mutate, void *arg,
                       uint8_t *out, size_t cap, size_t *out_len);

/* ---- Frames ---- */

/*
 * Emits f (a Response whose body is a KtLookupResult) with its checkpoint note replaced by
 * note[0..note_len) when note is not NULL, and its proof by proof[0..proof_len) when proof is
 * not NULL. Returns mp_emit_server's verdict.
 */
mp_verdict adv_emit_lookup_result(mp_frame_ctx *fx, const Parley__ServerFrame *f, const char *note,
                                  size_t note_len, const uint8_t *proof, size_t proof_len);

/* Emits a Response with the same id whose status is `code` (with message) and no body: a
 * refusal the server did not make. */
mp_verdict adv_emit_refusal(mp_frame_ctx *fx, const Parley__ServerFrame *f, Parley__StatusCode code,
                            const char *message);

/* The KtCheckpoint a frame carries (a KtCheckpoint Response, a KtLookupResult Response or a
 * KtCheckpoint Push), or NULL. */
const Parley__KtCheckpoint *adv_frame_checkpoint(const Parley__ServerFrame *f);

/*
 * Emits f with the note of the KtCheckpoint it carries (any of the three above) replaced by
 * note[0..note_len). Returns MP_CLOSE if f carries none.
 */
mp_verdict adv_emit_with_note(mp_frame_ctx *fx, const Parley__ServerFrame *f, const char *note,
                              size_t note_len);

/* ---- Account states ---- */

/*
 * Signs, with account (another key than the label's own: the substitute), a state of seq with
 * one fresh device of id device_id (generated and signed by account), prev_hash as given (NULL
 * for seq 0), at created_at_ms. Writes it to out[0..cap) (PL_ACCOUNT_STATE_MAX_BYTES fits).
 */
void adv_state_forge(const pl_account *account, uint32_t seq, const uint8_t *prev_hash,
                     uint32_t device_id, uint64_t created_at_ms, uint8_t *out, size_t cap,
                     size_t *out_len);

#endif
