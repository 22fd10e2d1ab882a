/*
 * cstore.h: the client's local store: one SQLite database in the home directory, with every
 * secret and every message body encrypted at rest.
 *
 * Home directory (created 0700; refused if group or others may read or write it):
 *   parley.db      SQLite (WAL, synchronous=FULL), created 0600
 *   store.key      the 32-byte store key, 0600: when no passphrase protects the store
 *   store.key.enc  the store key sealed under a key derived from a passphrase (Argon2id):
 *                  when one does; exactly one of the two files exists
 *   lock           held with flock() while a process uses the home
 *
 * Encryption at rest: a sealed value is nonce (24) || XChaCha20-Poly1305(store key, value)
 * with associated data naming where it belongs ("table/column/row key"), so a value moved to
 * another row or column fails to open (PL_CSTORE_E_CORRUPT). Sealed: the account and device
 * private keys, prekey private keys, session states, message bodies. Plain (needed for
 * lookups, and public anyway or visible to the server): usernames, device ids, public keys,
 * device records, timestamps, message ids.
 *
 * Trade-off (documented for users): with a passphrase, a copy of the home directory is
 * useless without it (Argon2id, libsodium's MODERATE limits: 256 MiB, 3 passes); without
 * one, anyone who can read store.key can read everything, so the home's 0700/0600 modes are
 * the only protection, as for an ssh key without a passphrase.
 *
 * Transactions: every change the engine makes for one event (a received message: session
 * state + message row; a sent message: sessions + message row) is one
 * pl_cstore_begin/commit, so a crash leaves either all or none of it.
 *
 * Errors: PL_CSTORE_* below. One handle per process, used by one thread.
 */
#ifndef PARLEY_CLIENT_CSTORE_H
#define PARLEY_CLIENT_CSTORE_H

#include <stddef.h>
#include <stdint.h>

#define PL_CSTORE_ERRNO_MAP(XX)                                                                    \
    XX(OK, 0, "success")                                                                           \
    XX(E_NOMEM, -1, "out of memory")                                                               \
    XX(E_INVALID_ARG, -2, "invalid argument")                                                      \
    XX(E_NOT_FOUND, -3, "not found")                                                               \
    XX(E_EXISTS, -4, "already exists")                                                             \
    XX(E_IO, -5, "the store could not be read or written")                                         \
    XX(E_CORRUPT, -6, "the store is corrupt or not a parley store")                                \
    XX(E_VERSION, -7, "the store was written by a newer parley")                                   \
    XX(E_LOCKED, -8, "another parley process is using this home directory")                        \
    XX(E_PERMISSIONS, -9, "the home directory or a file in it is accessible to other users")       \
    XX(E_PASSPHRASE, -10, "wrong passphrase")                                                      \
    XX(E_NEED_PASSPHRASE, -11, "this store is protected by a passphrase")                          \
    XX(E_NO_HOME, -12, "no parley store in this home directory")

enum pl_cstore_error {
#define PL__CSTORE_ERR_ENUM(name, value, msg) PL_CSTORE_##name = (value),
    PL_CSTORE_ERRNO_MAP(PL__CSTORE_ERR_ENUM)
#undef PL__CSTORE_ERR_ENUM
};

const char *pl_cstore_strerror(int code);

typedef struct pl_cstore pl_cstore;

/*
 * Creates a new home at path (the directory is created 0700 if missing; it must then be
 * empty of parley files) with a fresh random store key, protected by passphrase if it is
 * not NULL (and not empty), else written to store.key. Returns PL_CSTORE_OK and *out, or
 * _E_EXISTS (a store is already there), _E_PERMISSIONS, _E_IO, _E_NOMEM. err gets a
 * sentence naming the path.
 */
int pl_cstore_create(pl_cstore **out, const char *path, const char *passphrase, char *err,
                     size_t err_len);

/*
 * Opens an existing home. passphrase is used when the store has one (NULL then gives
 * _E_NEED_PASSPHRASE, so the caller can prompt and call again). Returns PL_CSTORE_OK, or
 * _E_NO_HOME, _E_PERMISSIONS (home not 0700-like, or a file readable by others), _E_LOCKED
 * (another process holds the lock), _E_PASSPHRASE, _E_NEED_PASSPHRASE, _E_CORRUPT (not a
 * parley database, or the key does not open it), _E_VERSION, _E_IO.
 */
int pl_cstore_open(pl_cstore **out, const char *path, const char *passphrase, char *err,
                   size_t err_len);

/* Closes, releasing the lock; wipes the store key. Accepts NULL. */
void pl_cstore_close(pl_cstore *s);

/* One line about the last error on s. */
const char *pl_cstore_last_error(const pl_cstore *s);

/* Transactions (BEGIN IMMEDIATE / COMMIT / ROLLBACK). Not nested. */
int pl_cstore_begin(pl_cstore *s);
int pl_cstore_commit(pl_cstore *s);
void pl_cstore_rollback(pl_cstore *s);

/* ---- Settings: small plain text values (server address, username, device id, pinned
 * certificate fingerprint, CA file path). */
int pl_cstore_setting_set(pl_cstore *s, const char *name, const char *value);
/* Copies the value into out (cap bytes, NUL-terminated). _E_NOT_FOUND if unset. */
int pl_cstore_setting_get(pl_cstore *s, const char *name, char *out, size_t cap);

/* ---- Secrets: sealed blobs by name ("account", "device", "spk/7", "otk/42", ...). */
int pl_cstore_secret_put(pl_cstore *s, const char *name, const uint8_t *data, size_t len);
/* *data is malloc'd (free with pl_cstore_free_secret, which wipes it). _E_NOT_FOUND. */
int pl_cstore_secret_get(pl_cstore *s, const char *name, uint8_t **data, size_t *len);
int pl_cstore_secret_delete(pl_cstore *s, const char *name);
void pl_cstore_free_secret(uint8_t *data, size_t len);

/* ---- Contacts: other accounts (and our own, under our username). */
typedef struct pl_cstore_contact {
    char username[33];
    uint8_t account_key[33];  /* the key currently known */
    int verified;             /* the user confirmed the safety number for verified_key */
    uint8_t verified_key[33]; /* the account key that was verified (zeros if never) */
    uint64_t first_seen_ms;
    uint64_t key_changed_ms; /* when account_key last changed, 0 if never */
} pl_cstore_contact;

/* Inserts or replaces the contact row. */
int pl_cstore_contact_put(pl_cstore *s, const pl_cstore_contact *c);
int pl_cstore_contact_get(pl_cstore *s, const char *username, pl_cstore_contact *out);
/* Calls cb for each contact in username order; cb returns non-zero to stop. */
int pl_cstore_contact_list(pl_cstore *s, int (*cb)(void *ctx, const pl_cstore_contact *c),
                           void *ctx);

/* ---- Known devices of an account (its signed device records, as last fetched). */
typedef struct pl_cstore_device {
    uint32_t device_id;
    uint8_t record[143]; /* PL_DEVICE_RECORD_BYTES, verified before storing */
    char name[65];       /* local label; "" if unknown */
} pl_cstore_device;

/* Replaces the account's whole device list with devs[0..n) (n <= 16) in one statement set. */
int pl_cstore_devices_set(pl_cstore *s, const char *username, const pl_cstore_device *devs,
                          size_t n);
/* Writes up to 16 devices in id order to out and their number to *n. */
int pl_cstore_devices_get(pl_cstore *s, const char *username, pl_cstore_device out[16], size_t *n);

/* ---- Sessions: one sealed libparley session state per (username, device id). */
int pl_cstore_session_put(pl_cstore *s, const char *username, uint32_t device_id,
                          const uint8_t *state, size_t len);
/* *state malloc'd, free with pl_cstore_free_secret. _E_NOT_FOUND. */
int pl_cstore_session_get(pl_cstore *s, const char *username, uint32_t device_id, uint8_t **state,
                          size_t *len);
int pl_cstore_session_delete(pl_cstore *s, const char *username, uint32_t device_id);

/* ---- Messages: the history. The body is sealed. */
enum pl_cstore_msg_kind {
    PL_CSTORE_MSG_IN = 0,     /* received from peer */
    PL_CSTORE_MSG_OUT = 1,    /* sent by us (from this or another of our devices) to peer */
    PL_CSTORE_MSG_NOTICE = 2, /* a local notice in the conversation (e.g. key change) */
};

typedef struct pl_cstore_message {
    uint8_t id[16];      /* the sender's message id; unique per (peer, kind) */
    char peer[33];       /* the other account of the conversation */
    int kind;            /* enum pl_cstore_msg_kind */
    uint32_t device_id;  /* the sending device (ours for OUT) */
    uint64_t sent_at_ms; /* the sender's clock */
    uint64_t received_at_ms;
    uint8_t *body; /* decrypted body (UTF-8 text), malloc'd by _get/_list */
    size_t body_len;
    int64_t rowid; /* insertion order */
} pl_cstore_message;

/* Adds a message. Returns _E_EXISTS (and changes nothing) if (peer, kind, id) is already
 * there: the dedup that makes a redelivered envelope show once. */
int pl_cstore_message_add(pl_cstore *s, const pl_cstore_message *m);
/* Calls cb for the last `limit` messages with peer (0: all), oldest first, or for every
 * peer when peer is NULL. The message is valid during the call only. */
int pl_cstore_message_list(pl_cstore *s, const char *peer, size_t limit,
                           int (*cb)(void *ctx, const pl_cstore_message *m), void *ctx);

/* ---- Received envelopes already processed: (server seq) per our device, so an envelope
 * redelivered after a crash between commit and Ack is acknowledged without decrypting it
 * again (the ratchet would refuse it as a replay). */
int pl_cstore_seen_add(pl_cstore *s, uint64_t seq);
int pl_cstore_seen_has(pl_cstore *s, uint64_t seq); /* 1, 0, or a negative error */
/* Forgets seqs at or below up_to (after they were acknowledged). */
int pl_cstore_seen_prune(pl_cstore *s, uint64_t up_to);

/* ---- Receipts (cstore_receipt.c; PROTOCOL.md §28): the status of a stored message, kept
 * beside it. For an outgoing message, what the recipient reported; for a received one, what
 * we reported (so a read receipt is sent once). A status only ever goes up. */
enum pl_cstore_receipt_status {
    PL_CSTORE_STATUS_SENT = 0,      /* outgoing: acknowledged by the server; received: stored */
    PL_CSTORE_STATUS_DELIVERED = 1, /* reported delivered (stored on a device of the recipient) */
    PL_CSTORE_STATUS_READ = 2,      /* reported read (shown to the recipient) */
};

/* Raises the status of message (peer, kind, id) to status. *changed (may be NULL) is 1 if it
 * went up, 0 if the message is not stored or already had that status or a higher one. */
int pl_cstore_receipt_raise(pl_cstore *s, const char *peer, int kind, const uint8_t id[16],
                            int status, uint64_t now_ms, int *changed);
/* The status of (peer, kind, id): PL_CSTORE_STATUS_SENT when none was recorded. */
int pl_cstore_receipt_get(pl_cstore *s, const char *peer, int kind, const uint8_t id[16],
                          int *status);
/* The ids of up to max received messages of peer whose status is below status, oldest first,
 * into ids; their number into *n. */
int pl_cstore_receipt_below(pl_cstore *s, const char *peer, int status, uint8_t (*ids)[16],
                            size_t max, size_t *n);

/* ---- Groups (cstore_group.c; PROTOCOL.md §32): the local name of each group this device is
 * or was in. Its state and keys are secrets ("g<local>/state", "g<local>/own",
 * "g<local>/rx/<username>/<device id>"). */
#define PL_CSTORE_GROUP_NAME_MAX 31
typedef struct pl_cstore_group {
    int64_t local; /* the row number, used in the secrets' names */
    uint8_t group_id[16];
    char name[PL_CSTORE_GROUP_NAME_MAX + 1];
    int active; /* 0 once we left or were removed */
} pl_cstore_group;

/* Adds a group (active); g->local is set. _E_EXISTS if the id or the name is taken. */
int pl_cstore_group_add(pl_cstore *s, pl_cstore_group *g);
/* _E_NOT_FOUND when there is none. */
int pl_cstore_group_by_name(pl_cstore *s, const char *name, pl_cstore_group *out);
int pl_cstore_group_by_id(pl_cstore *s, const uint8_t group_id[16], pl_cstore_group *out);
int pl_cstore_group_set_active(pl_cstore *s, int64_t local, int active);
int pl_cstore_group_list(pl_cstore *s, int (*cb)(void *ctx, const pl_cstore_group *g), void *ctx);

/* ---- Key transparency (cstore_kt.c; docs/CLIENT.md, PROTOCOL.md §21, §25). Public data,
 * stored plain; the caller verifies what it loads (signatures, proofs) as hostile input. */

#define PL_CSTORE_KT_ORIGIN_MAX 255
#define PL_CSTORE_KT_VKEY_MAX 320 /* >= PL_NOTE_VKEY_MAX_BYTES */
#define PL_CSTORE_KT_WITNESSES_MAX 8
#define PL_CSTORE_KT_NOTE_MAX 16384 /* PL_NOTE_MAX_BYTES */
#define PL_CSTORE_KT_STATE_MAX 2436 /* PL_ACCOUNT_STATE_MAX_BYTES */
#define PL_CSTORE_KT_VRF_CACHE_MAX 64
#define PL_CSTORE_KT_KIND_MAX 31
#define PL_CSTORE_KT_REASON_MAX 255
#define PL_CSTORE_KT_EVIDENCE_NAME_MAX 63
#define PL_CSTORE_KT_EVIDENCE_MAX 8             /* pieces per alert */
#define PL_CSTORE_KT_EVIDENCE_BYTES (64u << 10) /* per piece */

/* The pinned log (KtConfig) and the last checkpoint this client verified. One row. */
typedef struct pl_cstore_kt_log {
    char origin[PL_CSTORE_KT_ORIGIN_MAX + 1];
    char log_vkey[PL_CSTORE_KT_VKEY_MAX + 1];
    uint8_t vrf_key[32];
    char witness_vkeys[PL_CSTORE_KT_WITNESSES_MAX][PL_CSTORE_KT_VKEY_MAX + 1];
    size_t n_witnesses;
    uint32_t quorum;
    uint64_t max_ahead_ms, max_behind_ms;
    uint64_t pinned_at_ms;
    int has_checkpoint;
    uint64_t size;
    uint8_t root[32];
    char note[PL_CSTORE_KT_NOTE_MAX]; /* note_len bytes, not NUL-terminated */
    size_t note_len;
    uint64_t checked_at_ms; /* when this checkpoint was last verified */
} pl_cstore_kt_log;

/* Inserts or replaces the one row. _E_INVALID_ARG for out-of-range fields. */
int pl_cstore_kt_log_put(pl_cstore *s, const pl_cstore_kt_log *log);
/* _E_NOT_FOUND before the first pin; _E_CORRUPT for a row whose fields are out of range. */
int pl_cstore_kt_log_get(pl_cstore *s, pl_cstore_kt_log *out);

/* The last verified account state of one label, with the VRF outputs verified for it. */
typedef struct pl_cstore_kt_label {
    char label[33];
    uint32_t version;
    uint8_t state[PL_CSTORE_KT_STATE_MAX];
    size_t state_len;
    struct {
        uint32_t version;
        uint8_t vrf_out[32];
    } vrf_cache[PL_CSTORE_KT_VRF_CACHE_MAX];
    size_t n_vrf_cache;
    uint64_t tree_size;     /* the checkpoint it was verified against */
    uint64_t entry_time_ms; /* that log entry's timestamp */
    uint64_t verified_at_ms;
} pl_cstore_kt_label;

int pl_cstore_kt_label_put(pl_cstore *s, const pl_cstore_kt_label *l);
/* _E_NOT_FOUND if the label was never verified; _E_CORRUPT for out-of-range fields. */
int pl_cstore_kt_label_get(pl_cstore *s, const char *label, pl_cstore_kt_label *out);

/* An alert: a check that failed, with the evidence kept for the user or an auditor. */
typedef struct pl_cstore_kt_alert {
    int64_t id;
    char label[33]; /* "" for the whole log (a checkpoint, the pinned config) */
    char kind[PL_CSTORE_KT_KIND_MAX + 1];
    char reason[PL_CSTORE_KT_REASON_MAX + 1];
    int high; /* shown by every command until acknowledged */
    uint64_t created_at_ms;
    int acknowledged;
    size_t n_evidence;
} pl_cstore_kt_alert;

/* One piece of evidence: a name ([a-z0-9._-], 1..63 bytes, used as a file name on export)
 * and its bytes (at most PL_CSTORE_KT_EVIDENCE_BYTES). */
typedef struct pl_cstore_kt_evidence {
    const char *name;
    const uint8_t *data;
    size_t len;
} pl_cstore_kt_evidence;

/* Adds an alert (a->id, acknowledged and n_evidence are ignored) with ev[0..n) (n <= 8), in
 * one SAVEPOINT; *id gets its id (id may be NULL). */
int pl_cstore_kt_alert_add(pl_cstore *s, const pl_cstore_kt_alert *a,
                           const pl_cstore_kt_evidence *ev, size_t n, int64_t *id);
/* Calls cb for each alert (only unacknowledged ones unless all) in id order. */
int pl_cstore_kt_alert_list(pl_cstore *s, int all,
                            int (*cb)(void *ctx, const pl_cstore_kt_alert *a), void *ctx);
/* Marks an alert acknowledged: _E_NOT_FOUND if there is no such alert. */
int pl_cstore_kt_alert_ack(pl_cstore *s, int64_t id);
/* Calls cb for each piece of evidence of an alert (name checked, data valid during the call). */
int pl_cstore_kt_evidence_list(pl_cstore *s, int64_t alert_id,
                               int (*cb)(void *ctx, const pl_cstore_kt_evidence *e), void *ctx);

#endif
