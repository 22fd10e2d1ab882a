/*
 * parley/account_state.h: the account state, the value key transparency logs for an account
 * (PROTOCOL.md §19; shared/research/key-transparency.md §3.1).
 *
 * An account state is the account's whole device list at one point of its history, signed
 * by the account key. Its encoding is canonical and fixed (never protobuf: it is hashed and
 * signed), all integers big-endian:
 *
 *   version              u8   = 1
 *   suite                u8   = 1
 *   account_key          33   Encode(account public key), type 0x01
 *   seq                  u32  0 for the first state, +1 for each change
 *   prev_state_hash      32   SHA-256 of the previous state's encoding; zeros iff seq = 0
 *   created_at_ms        u64  milliseconds since the Unix epoch, as the publisher stated it
 *   publisher_device_id  u32  the device that made this state; 0 = the account key itself
 *   n_devices            u8   1..16
 *   devices              n_devices x 143   device records (§3.3), each signed by
 *                                          account_key, device ids strictly ascending
 *   signature            64   Ed25519 by account_key over
 *                             "parley/account-state/v1" || every byte above
 *
 * The signature covers the label and the whole body directly, with no pre-hash: a state is
 * at most PL_ACCOUNT_STATE_MAX_BYTES, so the signed message is bounded.
 *
 * A state extends the previous one (the owner's chain rule) iff it names the same account
 * key, its seq is the previous seq + 1, and its prev_state_hash is SHA-256 of the previous
 * state's encoding (pl_account_state_hash).
 */
#ifndef PARLEY_ACCOUNT_STATE_H
#define PARLEY_ACCOUNT_STATE_H

#include "parley/defs.h"
#include "parley/keys.h"

#define PL_ACCOUNT_STATE_VERSION 1u
#define PL_ACCOUNT_STATE_SUITE 1u /* Ed25519 account key, SHA-256 chain */
#define PL_ACCOUNT_STATE_MAX_DEVICES 16u
#define PL_ACCOUNT_STATE_HASH_BYTES 32u
/* Everything before the device records: version .. n_devices. */
#define PL_ACCOUNT_STATE_HEADER_BYTES (1u + 1u + PL_PUBKEY_BYTES + 4u + 32u + 8u + 4u + 1u)
/* The encoded size of a state with n devices. */
#define PL_ACCOUNT_STATE_BYTES(n)                                                                  \
    (PL_ACCOUNT_STATE_HEADER_BYTES + (n)*PL_DEVICE_RECORD_BYTES + PL_SIGNATURE_BYTES)
#define PL_ACCOUNT_STATE_MAX_BYTES PL_ACCOUNT_STATE_BYTES(PL_ACCOUNT_STATE_MAX_DEVICES)

/* A verified account state, parsed. Plain public data. */
typedef struct pl_account_state {
    uint8_t account_key[PL_PUBKEY_BYTES];
    uint32_t seq;
    uint8_t prev_state_hash[PL_ACCOUNT_STATE_HASH_BYTES];
    uint64_t created_at_ms;
    uint32_t publisher_device_id;
    size_t n_devices;
    /* devices[i] is device_records[i] parsed; both in ascending device id order. */
    pl_device_record devices[PL_ACCOUNT_STATE_MAX_DEVICES];
    uint8_t device_records[PL_ACCOUNT_STATE_MAX_DEVICES][PL_DEVICE_RECORD_BYTES];
} pl_account_state;

/*
 * Builds and signs an account state with account's key into out[0..cap). records[0..n) are
 * encoded device records (borrowed); each must verify under this account's key and their
 * device ids must strictly ascend. prev_hash may be NULL for seq 0 (it must then be NULL or
 * zeros) and must be non-NULL and not all zero for seq > 0.
 * Returns PL_OK with *out_len set; PL_E_INVALID_ARG (n outside 1..16, ids not strictly
 * ascending, a prev_hash that breaks the rule above); the failure of a record
 * (pl_device_record_verify's codes: PL_E_IDENTITY_MISMATCH for another account's record);
 * or PL_E_BUFFER_TOO_SMALL. On error *out_len is 0 and out[0..cap) is zeroed.
 */
PL_API PL_NODISCARD int pl_account_state_sign(const pl_account *account, uint32_t seq,
                                              const uint8_t *prev_hash, uint64_t created_at_ms,
                                              uint32_t publisher_device_id,
                                              const uint8_t (*records)[PL_DEVICE_RECORD_BYTES],
                                              size_t n, uint8_t *out, size_t cap, size_t *out_len);

/*
 * Parses an encoded account state and verifies all of it, cheapest check first:
 *   PL_E_TRUNCATED        shorter than its header or than its n_devices say
 *   PL_E_VERSION          version is not 1
 *   PL_E_UNSUPPORTED      suite is not 1
 *   PL_E_KEY_TYPE         account_key is not an Ed25519 key
 *   PL_E_MALFORMED        n_devices outside 1..16, trailing bytes, device ids not strictly
 *                         ascending, prev_state_hash zero for seq > 0 or non-zero for seq 0
 *   PL_E_IDENTITY_MISMATCH a device record names another account key (a ghost device)
 *   PL_E_BAD_SIGNATURE    the state's signature, or a record's, does not verify
 *   and the other codes of pl_device_record_verify for a bad record.
 * The record signatures are checked under the state's own account key; whether that key is
 * the one the caller pinned is the caller's check. On error *out is zeroed.
 */
PL_API PL_NODISCARD int pl_account_state_verify(const uint8_t *in, size_t len,
                                                pl_account_state *out);

/* Writes SHA-256(in[0..len)), the hash a successor's prev_state_hash names. */
PL_API void pl_account_state_hash(const uint8_t *in, size_t len,
                                  uint8_t out[PL_ACCOUNT_STATE_HASH_BYTES]);

/*
 * The owner rule: does next (verified) extend prev (verified), whose encoding hashes to
 * prev_hash? Returns PL_OK; PL_E_IDENTITY_MISMATCH if the account key changed (a
 * safety-number change, never a silent extension); PL_E_STATE_CHAIN if next.seq is not
 * prev.seq + 1 (a gap, a rollback, a replay or a wrap past 2^32 - 1) or next's
 * prev_state_hash is not prev_hash. Compares keys and hashes in constant time.
 */
PL_API PL_NODISCARD int
pl_account_state_extends(const pl_account_state *prev,
                         const uint8_t prev_hash[PL_ACCOUNT_STATE_HASH_BYTES],
                         const pl_account_state *next);

#endif
