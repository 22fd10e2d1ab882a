/*
 * parley/session.h: one end-to-end session between two devices.
 *
 * A session is set up with X3DH (PROTOCOL.md §5) and then runs the Double Ratchet
 * (PROTOCOL.md §6). Messages are bytes in, bytes out; libparley never touches a socket,
 * a file or a clock.
 *
 * Contract shared by every function here:
 *  - A call that fails leaves the session exactly as it was (commit on success), and
 *    leaves no plaintext in the output: bytes it wrote before failing are zeroed again,
 *    the rest of the buffer is untouched, and *pt_len / *out_len is 0.
 *  - Authentication failures all return PL_E_DECRYPT, whatever the cause.
 *  - The caller must save the session (pl_session_save) after every successful encrypt
 *    or decrypt before acting on the result, or a crash can reuse or lose keys.
 */
#ifndef PARLEY_SESSION_H
#define PARLEY_SESSION_H

#include "parley/defs.h"
#include "parley/keys.h"
#include "parley/random.h"

typedef struct pl_session pl_session;

/* Message kinds, the second byte of every message (PROTOCOL.md §7). */
#define PL_MSG_RATCHET 0x01 /* an ordinary Double Ratchet message */
#define PL_MSG_PREKEY 0x02  /* X3DH initial data followed by a Double Ratchet message */

/* Bounds on skipped message keys (PROTOCOL.md §6.4). */
#define PL_RATCHET_MAX_SKIP 1000u         /* keys one message may skip within one chain */
#define PL_RATCHET_MAX_SKIPPED_KEYS 2000u /* keys kept in all; the oldest are evicted first */

/* Ratchet header: version, kind, ratchet key, previous chain length, message number. */
#define PL_RATCHET_HEADER_BYTES (2u + PL_PUBKEY_BYTES + 4u + 4u)
#define PL_AEAD_TAG_BYTES 16u
/* Prekey message prefix before the embedded ratchet message, at its largest. */
#define PL_PREKEY_PREFIX_MAX_BYTES (3u + 2u * PL_PUBKEY_BYTES + 4u + 4u)
/* Largest encryption overhead of any message. */
#define PL_MESSAGE_MAX_OVERHEAD                                                                    \
    (PL_PREKEY_PREFIX_MAX_BYTES + PL_RATCHET_HEADER_BYTES + PL_AEAD_TAG_BYTES)

/*
 * Initiator side of X3DH: starts a session with the device in `peer`, a bundle that
 * pl_bundle_verify() accepted. Until the peer replies, every message this session encrypts
 * is a PL_MSG_PREKEY message, so the peer can start from whichever arrives first.
 * Returns PL_OK and *out, PL_E_BAD_KEY if a peer key is unusable, or PL_E_NOMEM.
 */
PL_API PL_NODISCARD int pl_session_initiate(pl_session **out, const pl_rng *rng,
                                            const pl_device *self, const pl_bundle *peer);

typedef struct pl_prekey_message_info {
    uint8_t sender_identity_key[PL_PUBKEY_BYTES];
    uint8_t base_key[PL_PUBKEY_BYTES]; /* the initiator's ephemeral key */
    uint32_t signed_prekey_id;
    int has_onetime_prekey;
    uint32_t onetime_prekey_id;
} pl_prekey_message_info;

/* Returns the kind of msg (PL_MSG_RATCHET or PL_MSG_PREKEY) or a negative decoding error. */
PL_API int pl_message_kind(const uint8_t *msg, size_t len);

/*
 * Parses the X3DH part of a PL_MSG_PREKEY message so the caller can find the prekeys it
 * names. Authenticates nothing. Returns PL_OK or a decoding error (*out zeroed).
 */
PL_API PL_NODISCARD int pl_prekey_message_parse(const uint8_t *msg, size_t len,
                                                pl_prekey_message_info *out);

/*
 * Responder side of X3DH: creates a session from a PL_MSG_PREKEY message and decrypts the
 * message it carries into pt (capacity pt_cap, at least len bytes suffices). spk and opk are
 * the prekeys the message names (opk NULL when it names none). The caller deletes opk only
 * after saving the new session. Returns PL_OK, PL_E_PREKEY_MISMATCH if the prekeys are not
 * the ones named, PL_E_DECRYPT, a decoding error, or PL_E_NOMEM; nothing is created on error.
 */
PL_API PL_NODISCARD int pl_session_accept(pl_session **out, const pl_rng *rng,
                                          const pl_device *self, const pl_signed_prekey *spk,
                                          const pl_onetime_prekey *opk, const uint8_t *msg,
                                          size_t len, uint8_t *pt, size_t pt_cap, size_t *pt_len);

/* Returns the exact size pl_session_encrypt() will produce for a pt_len-byte plaintext. */
PL_API size_t pl_session_encrypted_size(const pl_session *session, size_t pt_len);

/*
 * Encrypts pt into out. Returns PL_OK and *out_len, PL_E_TOO_LARGE if pt_len exceeds
 * PL_MAX_PLAINTEXT_BYTES, or PL_E_BUFFER_TOO_SMALL.
 */
PL_API PL_NODISCARD int pl_session_encrypt(pl_session *session, const uint8_t *pt, size_t pt_len,
                                           uint8_t *out, size_t cap, size_t *out_len);

/*
 * Decrypts msg (either kind) into pt; pt_cap >= len always suffices. rng supplies the next
 * ratchet key when the message starts a new DH ratchet step. Returns PL_OK and *pt_len, or
 * PL_E_DECRYPT, PL_E_REPLAY, PL_E_TOO_MANY_SKIPPED, PL_E_SESSION_MISMATCH for a prekey
 * message from another X3DH run, a decoding error, or PL_E_BUFFER_TOO_SMALL.
 */
PL_API PL_NODISCARD int pl_session_decrypt(pl_session *session, const pl_rng *rng,
                                           const uint8_t *msg, size_t len, uint8_t *pt,
                                           size_t pt_cap, size_t *pt_len);

/* Writes the peer device's identity key, as verified at session setup. */
PL_API void pl_session_peer_identity(const pl_session *session, uint8_t out[PL_PUBKEY_BYTES]);
/* Returns the number of skipped message keys the session currently holds. */
PL_API size_t pl_session_skipped_keys(const pl_session *session);
PL_API void pl_session_free(pl_session *session);

/* Saving and loading; see the contract in parley/keys.h. */
PL_API size_t pl_session_saved_size(const pl_session *session);
PL_API PL_NODISCARD int pl_session_save(const pl_session *session, uint8_t *out, size_t cap,
                                        size_t *out_len);
PL_API PL_NODISCARD int pl_session_load(pl_session **out, const uint8_t *in, size_t len);

#endif
