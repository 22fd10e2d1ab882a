/*
 * parley/group_state.h: group membership as state the members hold (PROTOCOL.md §30).
 *
 * A group is its id (16 random bytes), a name, its members and an epoch. Each member is a
 * username, the member's account key and the member's devices (id and identity key), which
 * the caller checks against the member's verified account state (key transparency) with
 * pl_group_member_check_account_state: a device the server slipped in is caught there.
 *
 * The state changes only through signed changes (create, add, remove, leave, rename,
 * devices), each naming the hash of the state it applies to, so the changes form a hash
 * chain and a replayed, reordered or forked change does not apply. A change is signed by the
 * identity key of the author's device, which must be a device of a member in the state it
 * applies to (in the created state, for create). Device keys rather than account keys sign:
 * the device list of every member is in the state, so a change verifies from the state alone,
 * every device can author without holding the account key, and a change names the exact
 * device that made it.
 *
 * Encodings are canonical binary (never protobuf: they are hashed and signed); the state
 * hash is SHA-256 of the state's encoding. Objects are plain public data, allocated by the
 * library (a 1,000-member state takes up to about 1 MiB); free functions accept NULL.
 */
#ifndef PARLEY_GROUP_STATE_H
#define PARLEY_GROUP_STATE_H

#include "parley/account_state.h"
#include "parley/defs.h"
#include "parley/keys.h"
#include "parley/sender_key.h"

#define PL_GROUP_VERSION 1u
#define PL_GROUP_MAX_MEMBERS 1000u /* the most a group may allow; its own max is <= this */
#define PL_GROUP_MAX_DEVICES 16u   /* per member, as an account state (§19) */
#define PL_GROUP_NAME_MAX 255u     /* bytes, UTF-8 by convention; never empty */
#define PL_GROUP_USERNAME_MAX 255u /* bytes; never empty */
#define PL_GROUP_HASH_BYTES 32u
/* The largest change (a create with every member at its most devices) and state. */
#define PL_GROUP_MEMBER_MAX_BYTES                                                                  \
    (1u + PL_GROUP_USERNAME_MAX + PL_PUBKEY_BYTES + 1u +                                           \
     PL_GROUP_MAX_DEVICES * (4u + PL_PUBKEY_BYTES))
#define PL_GROUP_CHANGE_MAX_BYTES (4096u + PL_GROUP_MAX_MEMBERS * PL_GROUP_MEMBER_MAX_BYTES)

enum pl_group_change_kind {
    PL_GROUP_CHANGE_CREATE = 1,  /* name, max members, the first members (the author included) */
    PL_GROUP_CHANGE_ADD = 2,     /* one new member */
    PL_GROUP_CHANGE_REMOVE = 3,  /* one member, by username, not the author (that is leave) */
    PL_GROUP_CHANGE_LEAVE = 4,   /* the author's own member leaves */
    PL_GROUP_CHANGE_RENAME = 5,  /* a new name */
    PL_GROUP_CHANGE_DEVICES = 6, /* a member's new device list (after its account changed) */
};

typedef struct pl_group_device {
    uint32_t device_id;
    uint8_t identity_key[PL_PUBKEY_BYTES]; /* Ed25519, type 0x01 */
} pl_group_device;

typedef struct pl_group_member {
    uint8_t username_len;
    uint8_t username[PL_GROUP_USERNAME_MAX];
    uint8_t account_key[PL_PUBKEY_BYTES];          /* Ed25519, type 0x01 */
    uint8_t n_devices;                             /* 1..PL_GROUP_MAX_DEVICES */
    pl_group_device devices[PL_GROUP_MAX_DEVICES]; /* device ids strictly ascending */
} pl_group_member;

typedef struct pl_group_state pl_group_state;

/* What applying one change did, for the caller's bookkeeping. */
typedef struct pl_group_applied {
    enum pl_group_change_kind kind;
    pl_group_member author; /* as the state before the change knew it (after, for create) */
    uint32_t author_device_id;
    /* The member the change is about (add, remove, devices); zeroed otherwise. */
    pl_group_member subject;
    /*
     * 1 when a member or a device left the group (remove, leave, or a devices change that
     * dropped a device): every remaining member device must generate a new sender key and
     * distribute it to the remaining devices only, before it sends again.
     */
    int rotate_sender_keys;
} pl_group_applied;

/* What a change says, for building one (pl_group_change_sign). Borrowed pointers. */
typedef struct pl_group_change_body {
    enum pl_group_change_kind kind;
    const uint8_t *name; /* create, rename */
    size_t name_len;
    uint16_t max_members;           /* create: 1..PL_GROUP_MAX_MEMBERS; 0 means the most */
    const pl_group_member *members; /* create: n_members (the author's member among them);
                                       add, devices: exactly one */
    size_t n_members;
    const uint8_t *username; /* remove */
    size_t username_len;
} pl_group_change_body;

/*
 * Builds and signs a change. author is the signing device and author_username its member's
 * name; state is the state the change applies to (NULL exactly for create, which needs
 * group_id; group_id is ignored otherwise). On PL_OK *out is a malloc'd encoding the caller
 * frees with free(), *out_len its length. Returns PL_E_INVALID_ARG for a body that could not
 * apply to state (checked as pl_group_apply would: lengths, counts, order, authority), or
 * PL_E_NOMEM. On error *out is NULL.
 */
PL_API PL_NODISCARD int
pl_group_change_sign(const pl_device *author, const uint8_t *author_username,
                     size_t author_username_len, const pl_group_state *state,
                     const uint8_t group_id[PL_GROUP_ID_BYTES], const pl_group_change_body *body,
                     uint8_t **out, size_t *out_len);

/*
 * Verifies a change against state (NULL for a create) and produces the next state. In order:
 *   PL_E_TRUNCATED / PL_E_MALFORMED  bad encoding (trailing bytes, empty or unsorted lists,
 *                                    duplicate member or device, a kind the state does not
 *                                    allow: a create on a state, anything else on NULL)
 *   PL_E_VERSION                     version is not 1
 *   PL_E_KEY_TYPE / PL_E_BAD_KEY     a key that is not an Ed25519 key
 *   PL_E_TOO_LARGE                   more members than the group allows
 *   PL_E_SESSION_MISMATCH            another group's change
 *   PL_E_STATE_CHAIN                 the change does not name this state (epoch + 1 and its
 *                                    hash): a replay, a gap or a fork
 *   PL_E_IDENTITY_MISMATCH           the author is not a device of a member; remove of the
 *                                    author itself; a devices change to another account key
 *   PL_E_BAD_SIGNATURE               the author device's signature does not verify
 *   PL_E_INVALID_ARG                 the change is impossible here: add of a member already
 *                                    in, remove of someone not in, last member leaving
 *   PL_E_NOMEM
 * On PL_OK *next is a new state (the caller frees it; state is untouched) and *applied, when
 * non-NULL, says what happened. On error *next is NULL and *applied zeroed.
 */
PL_API PL_NODISCARD int pl_group_apply(const pl_group_state *state, const uint8_t *change,
                                       size_t len, pl_group_state **next,
                                       pl_group_applied *applied);

PL_API void pl_group_state_free(pl_group_state *state);

/* Accessors. Indices are below pl_group_state_member_count; members are sorted by username. */
PL_API void pl_group_state_id(const pl_group_state *state, uint8_t out[PL_GROUP_ID_BYTES]);
PL_API uint32_t pl_group_state_epoch(const pl_group_state *state);
PL_API uint16_t pl_group_state_max_members(const pl_group_state *state);
/* The name, not NUL-terminated; *len set. Owned by state. */
PL_API const uint8_t *pl_group_state_name(const pl_group_state *state, size_t *len);
PL_API size_t pl_group_state_member_count(const pl_group_state *state);
/* Borrowed from state; valid until it is freed. */
PL_API const pl_group_member *pl_group_state_member(const pl_group_state *state, size_t index);
/* Returns the member's index, or -1. */
PL_API long pl_group_state_find_member(const pl_group_state *state, const uint8_t *username,
                                       size_t username_len);
/* Returns the index of the member with a device (device_id, identity_key), or -1. */
PL_API long pl_group_state_find_device(const pl_group_state *state, uint32_t device_id,
                                       const uint8_t identity_key[PL_PUBKEY_BYTES]);
/* SHA-256 of the state's canonical encoding; the next change's prev_state_hash. */
PL_API void pl_group_state_hash(const pl_group_state *state, uint8_t out[PL_GROUP_HASH_BYTES]);

/* The canonical encoding (to save a state): pl_group_state_encoded_size bytes. Writes it into
 * out[0..cap); PL_OK with *out_len, or PL_E_BUFFER_TOO_SMALL. */
PL_API size_t pl_group_state_encoded_size(const pl_group_state *state);
PL_API PL_NODISCARD int pl_group_state_encode(const pl_group_state *state, uint8_t *out, size_t cap,
                                              size_t *out_len);
/* Parses a saved state (canonical only: loading and encoding again gives the input). Returns
 * the decoding codes of pl_group_apply or PL_E_NOMEM; on error *out is NULL. A saved state
 * is trusted no more than the store it came from: keep it where the client keeps its keys. */
PL_API PL_NODISCARD int pl_group_state_decode(const uint8_t *in, size_t len, pl_group_state **out);

/*
 * The ghost-device check: does member (of a state) have exactly the account key and the
 * devices (ids and identity keys) of account, a verified account state of that member's
 * label? Returns PL_OK or PL_E_IDENTITY_MISMATCH.
 */
PL_API PL_NODISCARD int pl_group_member_check_account_state(const pl_group_member *member,
                                                            const pl_account_state *account);

#endif
