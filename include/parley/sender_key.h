/*
 * parley/sender_key.h: group sender keys (PROTOCOL.md §29).
 *
 * Each member device keeps, per group, one sending chain: a 32-byte chain key, an iteration
 * counter and an Ed25519 signing key. Message key i is HMAC-SHA256(CK_i, 0x01) and
 * CK_{i+1} = HMAC-SHA256(CK_i, 0x02), the Double Ratchet's symmetric chain as Signal's sender
 * keys use it. The device sends its chain (a distribution message) to every other member
 * device over the pairwise sessions, then encrypts each group message once:
 *
 *   group message = header (25) || ChaCha20-Poly1305 ciphertext (AD = header) || signature (64)
 *   header        = version u8 (1) || group_id 16 || key_id u32 || iteration u32
 *
 * signed with the chain's signing key over "parley/group-message/v1" || header || ciphertext.
 * A receiver checks the signature before anything else, derives forward at most
 * PL_SENDER_KEY_MAX_SKIP keys, keeps at most PL_SENDER_KEY_MAX_SKIPPED_KEYS unused keys of
 * skipped messages, refuses a message it already decrypted, and deletes every key it used.
 *
 * A sender key is rotated (a new one generated with a new key_id and distributed) whenever
 * a member or a device leaves the group: whoever held the old chain key can derive every
 * later message key of it. Objects hold secrets in sodium_malloc'd memory; free functions
 * wipe and accept NULL.
 */
#ifndef PARLEY_SENDER_KEY_H
#define PARLEY_SENDER_KEY_H

#include "parley/defs.h"
#include "parley/keys.h"
#include "parley/random.h"

#define PL_GROUP_ID_BYTES 16u
#define PL_SENDER_KEY_VERSION 1u
#define PL_SENDER_KEY_MAX_SKIP 2000u         /* keys one message may skip */
#define PL_SENDER_KEY_MAX_SKIPPED_KEYS 2000u /* skipped keys kept; the oldest go first */

/* version, group_id, key_id, sender device id, sender identity key, iteration, chain key,
 * signing public key. */
#define PL_SENDER_KEY_DISTRIBUTION_BYTES                                                           \
    (1u + PL_GROUP_ID_BYTES + 4u + 4u + PL_PUBKEY_BYTES + 4u + 32u + PL_PUBKEY_BYTES)
#define PL_GROUP_MESSAGE_HEADER_BYTES (1u + PL_GROUP_ID_BYTES + 4u + 4u)
#define PL_GROUP_MESSAGE_OVERHEAD (PL_GROUP_MESSAGE_HEADER_BYTES + 16u + PL_SIGNATURE_BYTES)
/* The encoding of a group message carrying len bytes of plaintext. */
#define PL_GROUP_MESSAGE_BYTES(len) (PL_GROUP_MESSAGE_OVERHEAD + (len))

/* What a distribution message (and hence a receiving chain) says about its sender. */
typedef struct pl_sender_key_info {
    uint8_t group_id[PL_GROUP_ID_BYTES];
    uint32_t key_id;    /* random per generated chain; names it in every message */
    uint32_t device_id; /* the sending device */
    uint8_t identity_key[PL_PUBKEY_BYTES]; /* the sending device's identity key */
    uint32_t iteration; /* the next message's iteration (sender) or the next expected one */
    uint8_t signing_key[PL_PUBKEY_BYTES]; /* the chain's Ed25519 public key */
} pl_sender_key_info;

/* The clear header of a group message, read without any key (to pick the receiving chain). */
typedef struct pl_group_message_header {
    uint8_t group_id[PL_GROUP_ID_BYTES];
    uint32_t key_id;
    uint32_t iteration;
} pl_group_message_header;

/* ---- Sending ---------------------------------------------------------------------------- */

typedef struct pl_sender_key pl_sender_key;

/*
 * Generates a new sending chain of `device` for group_id: a random chain key, key_id and
 * signing key, iteration 0. Returns PL_OK and *out, or PL_E_NOMEM.
 */
PL_API PL_NODISCARD int pl_sender_key_generate(pl_sender_key **out, const pl_rng *rng,
                                               const uint8_t group_id[PL_GROUP_ID_BYTES],
                                               const pl_device *device);
PL_API void pl_sender_key_free(pl_sender_key *key);
/* Fills *out with the chain's public description (its iteration is the next to be sent). */
PL_API void pl_sender_key_get_info(const pl_sender_key *key, pl_sender_key_info *out);

/*
 * Writes the distribution message of the chain's current state (it holds the chain key:
 * send it only inside pairwise sessions to member devices, and wipe the buffer after).
 * A receiver of it can decrypt every message from the current iteration on.
 */
PL_API void pl_sender_key_distribution(const pl_sender_key *key,
                                       uint8_t out[PL_SENDER_KEY_DISTRIBUTION_BYTES]);

/*
 * Encrypts plaintext[0..len) as the next group message into out[0..cap), advances the chain
 * and deletes the message key. Returns PL_OK with *out_len = PL_GROUP_MESSAGE_BYTES(len);
 * PL_E_TOO_LARGE if len > PL_MAX_PLAINTEXT_BYTES; PL_E_BUFFER_TOO_SMALL; PL_E_TOO_MANY_SKIPPED
 * when the iteration counter is exhausted (rotate the key). On error nothing changes and
 * *out_len is 0.
 */
PL_API PL_NODISCARD int pl_sender_key_encrypt(pl_sender_key *key, const uint8_t *plaintext,
                                              size_t len, uint8_t *out, size_t cap,
                                              size_t *out_len);

/* ---- Receiving -------------------------------------------------------------------------- */

typedef struct pl_sender_key_receiver pl_sender_key_receiver;

/*
 * Parses a distribution message into a new receiving chain. Returns PL_OK and *out;
 * PL_E_TRUNCATED / PL_E_MALFORMED (trailing bytes) / PL_E_VERSION / PL_E_KEY_TYPE /
 * PL_E_BAD_KEY for a bad encoding; PL_E_NOMEM. The caller checks that info.identity_key and
 * info.device_id are those of the pairwise session it came over, and that the device is a
 * member of the group (pl_group_state_find_device). On error *out is NULL.
 */
PL_API PL_NODISCARD int pl_sender_key_receiver_create(pl_sender_key_receiver **out,
                                                      const uint8_t *in, size_t len);
PL_API void pl_sender_key_receiver_free(pl_sender_key_receiver *receiver);
PL_API void pl_sender_key_receiver_get_info(const pl_sender_key_receiver *receiver,
                                            pl_sender_key_info *out);

/*
 * Reads the clear header of a group message. Returns PL_OK, PL_E_TRUNCATED (shorter than
 * PL_GROUP_MESSAGE_OVERHEAD) or PL_E_VERSION. Authenticates nothing; on error *out is zeroed.
 */
PL_API PL_NODISCARD int pl_group_message_header_parse(const uint8_t *in, size_t len,
                                                      pl_group_message_header *out);

/*
 * Verifies and decrypts a group message of this chain into out[0..cap). In order:
 *   PL_E_TRUNCATED / PL_E_VERSION   the header (as pl_group_message_header_parse)
 *   PL_E_TOO_LARGE                  more than PL_MAX_PLAINTEXT_BYTES of ciphertext
 *   PL_E_SESSION_MISMATCH           another group or another key_id than this chain's
 *   PL_E_BAD_SIGNATURE              the signature does not verify under the chain's key
 *   PL_E_BUFFER_TOO_SMALL           cap < len - PL_GROUP_MESSAGE_OVERHEAD
 *   PL_E_REPLAY                     an iteration already decrypted (or before the chain's
 *                                   start, or whose skipped key was evicted)
 *   PL_E_TOO_MANY_SKIPPED           more than PL_SENDER_KEY_MAX_SKIP ahead
 *   PL_E_DECRYPT                    the AEAD fails (a forged ciphertext under a good signature
 *                                   cannot happen unless the sender is the forger)
 * On success the chain advances past the message, keys of skipped messages are kept, and
 * the message key is deleted. On any error the chain is unchanged, out[0..cap) is zeroed
 * and *out_len is 0.
 */
PL_API PL_NODISCARD int pl_sender_key_receiver_decrypt(pl_sender_key_receiver *receiver,
                                                       const uint8_t *in, size_t len, uint8_t *out,
                                                       size_t cap, size_t *out_len);

/* ---- Saving and loading (PROTOCOL.md §9 frame, kinds 6 and 7) ----------------------------
 * Saved chains hold secrets: store them encrypted. Loading rejects what pl_session_load
 * rejects (PL_E_TRUNCATED, PL_E_MALFORMED, PL_E_CORRUPT, PL_E_WRONG_KIND, PL_E_VERSION) and
 * allocates nothing then.
 */
#define PL_SENDER_KEY_SAVED_BYTES                                                                  \
    (8u + PL_GROUP_ID_BYTES + 4u + 4u + PL_PUBKEY_BYTES + 4u + 32u + 32u + 16u)

PL_API void pl_sender_key_save(const pl_sender_key *key, uint8_t out[PL_SENDER_KEY_SAVED_BYTES]);
PL_API PL_NODISCARD int pl_sender_key_load(pl_sender_key **out, const uint8_t *in, size_t len);

/* The saved size of a receiving chain; it grows with its skipped keys (36 bytes each). */
PL_API size_t pl_sender_key_receiver_saved_size(const pl_sender_key_receiver *receiver);
/* Writes the receiving chain into out[0..cap). Returns PL_OK with *out_len, or
 * PL_E_BUFFER_TOO_SMALL. */
PL_API PL_NODISCARD int pl_sender_key_receiver_save(const pl_sender_key_receiver *receiver,
                                                    uint8_t *out, size_t cap, size_t *out_len);
PL_API PL_NODISCARD int pl_sender_key_receiver_load(pl_sender_key_receiver **out, const uint8_t *in,
                                                    size_t len);

#endif
