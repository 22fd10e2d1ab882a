/*
 * store.h: parleyd's storage interface: accounts, devices, prekeys and mailboxes.
 *
 * A pl_store is an opaque handle whose first member is a function table (struct
 * pl_store_ops) chosen when the store is opened, as curl's vtls picks a struct Curl_ssl or
 * Redis's ae picks ae_epoll.c: callers use only the pl_store_* wrappers below and never
 * look inside. One backend exists (store_sqlite.c); a PostgreSQL backend will implement the
 * same table.
 *
 * The store checks nothing cryptographic: handlers verify device records, signed prekeys and
 * usernames (pl_device_record_verify, pl_signed_prekey_verify, the username rules) before
 * they call it. The store enforces only what needs its data: uniqueness, the device limit,
 * the one-time prekey stock limit, mailbox quotas and retention.
 *
 * Units: every server time is milliseconds since the Unix epoch, passed in by the caller (the
 * store never reads a clock, so tests inject one). Usernames are already case-folded and
 * validated, 1..PL_STORE_USERNAME_MAX bytes, NUL-terminated; a name outside that length gets
 * PL_STORE_E_INVALID_ARG from any operation (a cheap guard, not the username rules).
 *
 * Threads: one handle is used by one thread at a time. Several handles (in threads or in
 * processes) may share one database; writes serialise inside the backend, waiting up to the
 * busy timeout before PL_STORE_E_BUSY.
 *
 * Errors: every operation returns PL_STORE_OK (0) or a negative PL_STORE_E_* code from
 * PL_STORE_ERRNO_MAP. After an error, pl_store_last_error() gives a one-line explanation.
 * An operation that fails leaves the database exactly as it was (one transaction each).
 *
 * Batches: between pl_store_batch_begin and pl_store_batch_commit every write operation of
 * the handle runs inside the batch's one transaction, each in its own savepoint: an
 * operation that fails still changes nothing and returns its error as usual, and the batch
 * goes on. Within a batch an operation's durability comes at pl_store_batch_commit, not at
 * its own return (so "on disk when it returns" below means "when the batch commits"), and
 * pl_store_batch_rollback undoes every operation of the batch.
 */
#ifndef PARLEYD_STORE_H
#define PARLEYD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "parley/account_state.h"
#include "parley/defs.h"

/* XX(name, value, message). Values are stable; new codes are appended. */
#define PL_STORE_ERRNO_MAP(XX)                                                                     \
    XX(OK, 0, "success")                                                                           \
    XX(E_NOMEM, -1, "out of memory")                                                               \
    XX(E_INVALID_ARG, -2, "invalid argument")                                                      \
    XX(E_EXISTS, -3, "already exists")                                                             \
    XX(E_NOT_FOUND, -4, "no such account, device or item")                                         \
    XX(E_EMPTY, -5, "no one-time prekey left")                                                     \
    XX(E_QUOTA, -6, "a device mailbox is full")                                                    \
    XX(E_LIMIT, -7, "a count limit would be exceeded")                                             \
    XX(E_BUSY, -8, "the database stayed locked past the busy timeout")                             \
    XX(E_IO, -9, "the database could not be read or written")                                      \
    XX(E_CORRUPT, -10, "the database is corrupted or not a parleyd database")                      \
    XX(E_VERSION, -11, "the database was written by a newer parleyd")

enum pl_store_error {
#define PL__STORE_ERR_ENUM(name, value, msg) PL_STORE_##name = (value),
    PL_STORE_ERRNO_MAP(PL__STORE_ERR_ENUM)
#undef PL__STORE_ERR_ENUM
};

/* Returns a static sentence for code; "unknown store error" for unknown codes. */
static inline const char *pl_store_strerror(int code)
{
    switch (code) {
#define PL__STORE_ERR_STR(name, value, msg)                                                        \
    case (value):                                                                                  \
        return (msg);
        PL_STORE_ERRNO_MAP(PL__STORE_ERR_STR)
#undef PL__STORE_ERR_STR
    }
    return "unknown store error";
}

/* Returns the static symbolic name of code ("PL_STORE_E_QUOTA"); "PL_STORE_E_UNKNOWN". */
static inline const char *pl_store_errname(int code)
{
    switch (code) {
#define PL__STORE_ERR_NAME(name, value, msg)                                                       \
    case (value):                                                                                  \
        return "PL_STORE_" #name;
        PL_STORE_ERRNO_MAP(PL__STORE_ERR_NAME)
#undef PL__STORE_ERR_NAME
    }
    return "PL_STORE_E_UNKNOWN";
}

/* ---- Limits and options ---------------------------------------------------------------- */

#define PL_STORE_USERNAME_MAX 32u
/* Hard bound on max_devices; device_list's output array has this many slots. */
#define PL_STORE_DEVICES_MAX 16u
#define PL_STORE_ONETIME_PREKEYS_MAX 10000u
/* Sanity bound on one envelope; the server's own limit (96 KiB) is far below. */
#define PL_STORE_CIPHERTEXT_MAX (16u * 1024u * 1024u)
/* A client's id for one message it sends, chosen at random by the client. */
#define PL_STORE_CLIENT_MESSAGE_ID_BYTES 16u
/* How long pl_store_send_record remembers a (sender device, client message id). */
#define PL_STORE_SEND_DEDUP_MS (24ull * 3600u * 1000u)

#define PL_STORE_DEFAULT_MAX_DEVICES 6u
#define PL_STORE_DEFAULT_MAX_ONETIME_PREKEYS 100u
#define PL_STORE_DEFAULT_MAILBOX_QUOTA 10000u
#define PL_STORE_DEFAULT_RETENTION_MS (30ull * 24u * 3600u * 1000u)
#define PL_STORE_DEFAULT_BUSY_TIMEOUT_MS 5000u

/* Every field left 0 takes its default; a NULL pl_store_options * means all defaults. */
typedef struct pl_store_options {
    uint32_t max_devices;         /* per account, 1..PL_STORE_DEVICES_MAX (default 6) */
    uint32_t max_onetime_prekeys; /* stock per device, 1..10000 (default 100) */
    uint32_t mailbox_quota;       /* pending envelopes per device (default 10,000) */
    uint64_t retention_ms;        /* age at which pl_store_mailbox_expire drops (30 days) */
    uint32_t busy_timeout_ms;     /* wait for a locked database (default 5000) */
} pl_store_options;

/* ---- Records ----------------------------------------------------------------------------- */

typedef struct pl_store_account {
    char username[PL_STORE_USERNAME_MAX + 1];
    uint8_t account_key[PL_PUBKEY_BYTES];
    uint64_t created_at_ms;
} pl_store_account;

typedef struct pl_store_device {
    uint32_t device_id;
    uint8_t record[PL_DEVICE_RECORD_BYTES]; /* signed by the account key; verified by caller */
    uint8_t identity_key[PL_PUBKEY_BYTES];
    uint64_t created_at_ms; /* when the server added it */
} pl_store_device;

typedef struct pl_store_onetime_prekey {
    uint32_t id; /* the id inside public_part; unique per device while in stock */
    uint8_t public_part[PL_ONETIME_PREKEY_PUBLIC_BYTES];
} pl_store_onetime_prekey;

/*
 * One envelope. For pl_store_mailbox_append the caller fills everything but seq, which the
 * store assigns. For pl_store_mailbox_fetch the store fills everything; the pointers are
 * valid only during the callback.
 */
typedef struct pl_store_envelope {
    const char *recipient; /* username */
    uint32_t recipient_device;
    const char *sender; /* username */
    uint32_t sender_device;
    uint64_t server_ts_ms;
    uint64_t seq; /* per recipient device: 1, 2, ...; never reused, even after acks */
    const uint8_t *ciphertext;
    size_t ciphertext_len; /* bounded by the caller; at most PL_STORE_CIPHERTEXT_MAX */
    /* PL_STORE_CLIENT_MESSAGE_ID_BYTES bytes, the sender's id for the message; NULL on
     * append stores 16 zero bytes. Fetch always sets it. */
    const uint8_t *client_message_id;
    int group; /* 1: stored by a GroupSend (PROTOCOL.md §31); kept and fetched as given */
} pl_store_envelope;

/* ---- Key transparency records (PROTOCOL.md §23-§24) ---------------------------------------- */

#define PL_STORE_KT_HASH_BYTES 32u
#define PL_STORE_KT_VRF_PROOF_BYTES 80u

/*
 * One label-version: an account state the server accepted (pending until a log entry holds
 * it). The label is the username. The store keeps the bytes; the KT log checks them.
 */
typedef struct pl_store_kt_version {
    char label[PL_STORE_USERNAME_MAX + 1];
    uint32_t version; /* the state's seq */
    uint8_t state[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t state_len;
    int64_t position; /* the log entry that added it; -1 while pending */
    /* Set by pl_store_kt_entry_append; zero while pending. */
    uint8_t vrf_out[PL_STORE_KT_HASH_BYTES];
    uint8_t vrf_proof[PL_STORE_KT_VRF_PROOF_BYTES];
    uint8_t next_vrf_proof[PL_STORE_KT_VRF_PROOF_BYTES]; /* of (label, version + 1) */
    uint8_t commitment[PL_STORE_KT_HASH_BYTES];
} pl_store_kt_version;

/* One log entry with its signed checkpoint. Pointers are valid only during a callback (or,
 * on append, are the caller's). */
typedef struct pl_store_kt_entry {
    uint64_t position;
    uint64_t timestamp_ms;
    uint8_t prefix_root[PL_STORE_KT_HASH_BYTES];
    const char *checkpoint; /* the signed note of size position + 1, log signature only */
    size_t checkpoint_len;
    const char *published; /* the same note with its cosignatures once published; else NULL */
    size_t published_len;
} pl_store_kt_entry;

/* Called for each entry in position order; return 0 to go on, non-zero to stop. */
typedef int (*pl_store_kt_entry_cb)(void *ctx, const pl_store_kt_entry *e);
/* Called for each leaf (vrf_out, commitment) of the entries asked for, by position, then
 * vrf_out ascending. */
typedef int (*pl_store_kt_leaf_cb)(void *ctx, uint64_t position,
                                   const uint8_t vrf_out[PL_STORE_KT_HASH_BYTES],
                                   const uint8_t commitment[PL_STORE_KT_HASH_BYTES]);
/* Called for each stored cosignature line of one checkpoint size. */
typedef int (*pl_store_kt_cosig_cb)(void *ctx, const char *witness, const char *line,
                                    size_t line_len);

/* Called for each fetched envelope in seq order; return 0 to go on, non-zero to stop. */
typedef int (*pl_store_envelope_cb)(void *ctx, const pl_store_envelope *env);
/* Called after each committed expiry chunk, once per device that lost envelopes. */
typedef void (*pl_store_expire_cb)(void *ctx, const char *username, uint32_t device_id,
                                   uint64_t expired);

/* An attachment blob's metadata (PROTOCOL.md §27); its bytes are a file (blob_store.h). */
#define PL_STORE_BLOB_ID_BYTES 16u
typedef struct pl_store_blob {
    uint8_t id[PL_STORE_BLOB_ID_BYTES];
    char owner[PL_STORE_USERNAME_MAX + 1]; /* the account that created it */
    uint64_t size;                         /* ciphertext bytes announced at creation */
    uint64_t received;                     /* bytes durably in the file, 0..size */
    int complete;                          /* BlobComplete seen: readable, no more puts */
    uint32_t expected_fetches;             /* deleted once this many devices fetched it */
    uint32_t fetched;                      /* distinct devices that sent BlobFetched */
    uint64_t created_at_ms;
    uint64_t expires_at_ms; /* deleted by pl_store_blob_expire from then on */
} pl_store_blob;

/* ---- The backend interface --------------------------------------------------------------- */

typedef struct pl_store pl_store;

/* One backend's operations; each has the contract of its wrapper below. */
struct pl_store_ops {
    const char *name;
    void (*close)(pl_store *s);
    const char *(*last_error)(const pl_store *s);
    int (*account_create)(pl_store *s, const char *username,
                          const uint8_t account_key[PL_PUBKEY_BYTES], uint64_t created_at_ms);
    int (*account_get)(pl_store *s, const char *username, pl_store_account *out);
    int (*device_add)(pl_store *s, const char *username, const pl_store_device *device);
    int (*device_remove)(pl_store *s, const char *username, uint32_t device_id);
    int (*device_get)(pl_store *s, const char *username, uint32_t device_id, pl_store_device *out);
    int (*device_list)(pl_store *s, const char *username, pl_store_device out[PL_STORE_DEVICES_MAX],
                       size_t *count);
    int (*signed_prekey_put)(pl_store *s, const char *username, uint32_t device_id,
                             const uint8_t prekey[PL_SIGNED_PREKEY_PUBLIC_BYTES]);
    int (*signed_prekey_get)(pl_store *s, const char *username, uint32_t device_id,
                             uint8_t out[PL_SIGNED_PREKEY_PUBLIC_BYTES]);
    int (*onetime_prekeys_add)(pl_store *s, const char *username, uint32_t device_id,
                               const pl_store_onetime_prekey *keys, size_t n);
    int (*onetime_prekey_claim)(pl_store *s, const char *username, uint32_t device_id,
                                pl_store_onetime_prekey *out, size_t *remaining);
    int (*onetime_prekey_count)(pl_store *s, const char *username, uint32_t device_id,
                                size_t *count);
    int (*mailbox_append)(pl_store *s, pl_store_envelope *envs, size_t n, size_t *failed);
    int (*mailbox_fetch)(pl_store *s, const char *username, uint32_t device_id, uint64_t after_seq,
                         size_t max, pl_store_envelope_cb cb, void *ctx, size_t *fetched);
    int (*mailbox_ack)(pl_store *s, const char *username, uint32_t device_id, const uint64_t *seqs,
                       size_t n, size_t *deleted);
    int (*mailbox_count)(pl_store *s, const char *username, uint32_t device_id, uint64_t *count);
    int (*mailbox_expire)(pl_store *s, uint64_t now_ms, pl_store_expire_cb cb, void *ctx,
                          uint64_t *expired);
    int (*send_record)(pl_store *s, const char *sender, uint32_t sender_device,
                       const uint8_t client_message_id[PL_STORE_CLIENT_MESSAGE_ID_BYTES],
                       uint64_t now_ms, uint64_t *first_ts_ms);
    int (*kt_state_add)(pl_store *s, const char *username, uint32_t version, const uint8_t *state,
                        size_t len);
    int (*kt_version_get)(pl_store *s, const char *username, uint32_t version,
                          uint64_t below_position, pl_store_kt_version *out);
    int (*kt_pending)(pl_store *s, pl_store_kt_version *out, size_t max, size_t *n);
    int (*kt_entry_append)(pl_store *s, const pl_store_kt_entry *e,
                           const pl_store_kt_version *added, size_t n);
    int (*kt_entry_publish)(pl_store *s, uint64_t position, const char *note, size_t len);
    int (*kt_entries)(pl_store *s, uint64_t from, uint64_t max, pl_store_kt_entry_cb cb, void *ctx);
    int (*kt_leaves)(pl_store *s, uint64_t from, uint64_t to, pl_store_kt_leaf_cb cb, void *ctx);
    int (*kt_cosignature_put)(pl_store *s, uint64_t size, const char *witness, const char *line,
                              size_t len);
    int (*kt_cosignatures)(pl_store *s, uint64_t size, pl_store_kt_cosig_cb cb, void *ctx);
    int (*blob_create)(pl_store *s, const pl_store_blob *b, uint64_t quota_bytes,
                       uint32_t max_blobs);
    int (*blob_get)(pl_store *s, const uint8_t id[PL_STORE_BLOB_ID_BYTES], pl_store_blob *out);
    int (*blob_update)(pl_store *s, const uint8_t id[PL_STORE_BLOB_ID_BYTES], uint64_t received,
                       int complete, uint64_t expires_at_ms);
    int (*blob_fetched)(pl_store *s, const uint8_t id[PL_STORE_BLOB_ID_BYTES], const char *username,
                        uint32_t device_id, uint32_t *fetched);
    int (*blob_expire)(pl_store *s, uint64_t now_ms, uint8_t (*ids)[PL_STORE_BLOB_ID_BYTES],
                       size_t max, size_t *n);
    int (*batch_begin)(pl_store *s);
    int (*batch_commit)(pl_store *s);
    void (*batch_rollback)(pl_store *s);
    int (*group_begin)(pl_store *s);
    int (*group_end)(pl_store *s, int keep);
};

/* The handle's public head. A backend embeds it as its first member; callers treat the
 * handle as opaque and go through the wrappers. */
struct pl_store {
    const struct pl_store_ops *ops;
};

/* ---- Opening ----------------------------------------------------------------------------- */

/*
 * Opens (creating if needed) the SQLite database at path and brings its schema up to date.
 * The database runs in WAL mode with synchronous=FULL, so a committed write survives power
 * loss. Returns PL_STORE_OK and *out (close with pl_store_close), or:
 *   PL_STORE_E_INVALID_ARG  an option is out of range;
 *   PL_STORE_E_VERSION      the schema is newer than this build understands;
 *   PL_STORE_E_CORRUPT      the file is not a (sound) parleyd database;
 *   PL_STORE_E_IO, _BUSY, _NOMEM.
 * On error *out is NULL and err (if err_len > 0) holds a NUL-terminated explanation.
 */
PL_NODISCARD int pl_store_open_sqlite(const char *path, const pl_store_options *opts,
                                      pl_store **out, char *err, size_t err_len);

/* Closes the store and frees the handle. Accepts NULL. */
static inline void pl_store_close(pl_store *s)
{
    if (s)
        s->ops->close(s);
}

/* The backend's name ("sqlite"). */
static inline const char *pl_store_backend(const pl_store *s)
{
    return s->ops->name;
}

/* One line about the last failed operation on s; owned by s, valid until its next call. */
static inline const char *pl_store_last_error(const pl_store *s)
{
    return s->ops->last_error(s);
}

/* ---- Accounts ---------------------------------------------------------------------------- */

/* Creates an account. Returns PL_STORE_OK, or PL_STORE_E_EXISTS if the username is taken. */
static inline PL_NODISCARD int pl_store_account_create(pl_store *s, const char *username,
                                                       const uint8_t account_key[PL_PUBKEY_BYTES],
                                                       uint64_t created_at_ms)
{
    return s->ops->account_create(s, username, account_key, created_at_ms);
}

/* Fills *out with the account. Returns PL_STORE_OK or PL_STORE_E_NOT_FOUND. */
static inline PL_NODISCARD int pl_store_account_get(pl_store *s, const char *username,
                                                    pl_store_account *out)
{
    return s->ops->account_get(s, username, out);
}

/* ---- Devices ----------------------------------------------------------------------------- */

/*
 * Adds device->device_id to the account with its record and identity key (the caller has
 * verified the record under the account key). Returns PL_STORE_OK, or PL_STORE_E_NOT_FOUND
 * (no such account), PL_STORE_E_EXISTS (the device id is taken, or was ever used by a device
 * of this account that has been removed: device ids are never reused, so a sender's old
 * session can never reach a new device) or PL_STORE_E_LIMIT (the account already has
 * max_devices devices; checked after the id, so a taken id is always _EXISTS).
 */
static inline PL_NODISCARD int pl_store_device_add(pl_store *s, const char *username,
                                                   const pl_store_device *device)
{
    return s->ops->device_add(s, username, device);
}

/* Removes a device together with its prekeys, its pending envelopes and its send records,
 * and retires its id for good (pl_store_device_add refuses it from then on), in one
 * transaction. Returns PL_STORE_OK or PL_STORE_E_NOT_FOUND. */
static inline PL_NODISCARD int pl_store_device_remove(pl_store *s, const char *username,
                                                      uint32_t device_id)
{
    return s->ops->device_remove(s, username, device_id);
}

/* Fills *out with one device. Returns PL_STORE_OK or PL_STORE_E_NOT_FOUND. */
static inline PL_NODISCARD int pl_store_device_get(pl_store *s, const char *username,
                                                   uint32_t device_id, pl_store_device *out)
{
    return s->ops->device_get(s, username, device_id, out);
}

/* Writes the account's devices to out in device-id order and their number to *count (0 for
 * an account without devices). Returns PL_STORE_OK or PL_STORE_E_NOT_FOUND (no account). */
static inline PL_NODISCARD int pl_store_device_list(pl_store *s, const char *username,
                                                    pl_store_device out[PL_STORE_DEVICES_MAX],
                                                    size_t *count)
{
    return s->ops->device_list(s, username, out, count);
}

/* ---- Prekeys ----------------------------------------------------------------------------- */

/* Stores the device's signed prekey, replacing any previous one.
 * Returns PL_STORE_OK or PL_STORE_E_NOT_FOUND (no such device). */
static inline PL_NODISCARD int
pl_store_signed_prekey_put(pl_store *s, const char *username, uint32_t device_id,
                           const uint8_t prekey[PL_SIGNED_PREKEY_PUBLIC_BYTES])
{
    return s->ops->signed_prekey_put(s, username, device_id, prekey);
}

/* Copies the device's signed prekey to out. Returns PL_STORE_OK or PL_STORE_E_NOT_FOUND (no
 * such device, or it has none yet). */
static inline PL_NODISCARD int
pl_store_signed_prekey_get(pl_store *s, const char *username, uint32_t device_id,
                           uint8_t out[PL_SIGNED_PREKEY_PUBLIC_BYTES])
{
    return s->ops->signed_prekey_get(s, username, device_id, out);
}

/*
 * Adds n one-time prekeys to the device's stock, all or none. Returns PL_STORE_OK, or
 * PL_STORE_E_NOT_FOUND (no such device), PL_STORE_E_LIMIT (stock + n > max_onetime_prekeys)
 * or PL_STORE_E_EXISTS (an id is already in stock or repeated in keys).
 */
static inline PL_NODISCARD int pl_store_onetime_prekeys_add(pl_store *s, const char *username,
                                                            uint32_t device_id,
                                                            const pl_store_onetime_prekey *keys,
                                                            size_t n)
{
    return s->ops->onetime_prekeys_add(s, username, device_id, keys, n);
}

/*
 * Removes and returns one one-time prekey of the device (the lowest id), atomically: two
 * concurrent claimers, even on different handles, never get the same key. *remaining is the
 * stock left afterwards (so the caller can tell the owner it runs low); it may be NULL.
 * Returns PL_STORE_OK, PL_STORE_E_NOT_FOUND (no such device) or PL_STORE_E_EMPTY (no stock;
 * *remaining = 0). *out is zeroed on error.
 */
static inline PL_NODISCARD int pl_store_onetime_prekey_claim(pl_store *s, const char *username,
                                                             uint32_t device_id,
                                                             pl_store_onetime_prekey *out,
                                                             size_t *remaining)
{
    return s->ops->onetime_prekey_claim(s, username, device_id, out, remaining);
}

/* Writes the device's one-time prekey stock to *count. PL_STORE_OK or _NOT_FOUND. */
static inline PL_NODISCARD int pl_store_onetime_prekey_count(pl_store *s, const char *username,
                                                             uint32_t device_id, size_t *count)
{
    return s->ops->onetime_prekey_count(s, username, device_id, count);
}

/* ---- Mailboxes --------------------------------------------------------------------------- */

/*
 * The group-commit primitive: stores n envelopes (for any devices) in ONE durable
 * transaction, all or nothing, and writes each one's new seq into envs[i].seq. It returns
 * only after the commit is on disk, so the caller may then acknowledge every sender (inside
 * a batch: after pl_store_batch_commit; the seqs hold only if the batch commits).
 * Returns PL_STORE_OK, or, with nothing stored and *failed set to the offending index:
 *   PL_STORE_E_QUOTA      envs[*failed] would take its device past mailbox_quota;
 *   PL_STORE_E_NOT_FOUND  envs[*failed]'s recipient device does not exist;
 *   PL_STORE_E_INVALID_ARG envs[*failed] has a bad username or ciphertext size.
 * The caller drops (or refuses) that envelope and retries the rest. Other errors (_IO,
 * _BUSY, ...) set *failed to n. On any error every envs[i].seq is 0.
 * Consecutive envelopes with group set and the same ciphertext pointer and length (a
 * GroupSend's fan-out) are stored with ONE copy of the ciphertext, kept until the last of
 * them is acknowledged, expires or goes with its device; each still counts as one envelope
 * against its own device's mailbox_quota.
 */
static inline PL_NODISCARD int pl_store_mailbox_append(pl_store *s, pl_store_envelope *envs,
                                                       size_t n, size_t *failed)
{
    return s->ops->mailbox_append(s, envs, n, failed);
}

/*
 * Calls cb for up to max pending envelopes of the device whose seq is greater than
 * after_seq, in increasing seq order, stopping early if cb returns non-zero. *fetched (may
 * be NULL) counts the calls. Returns PL_STORE_OK or PL_STORE_E_NOT_FOUND (no such device),
 * or PL_STORE_E_CORRUPT for a damaged row. Each envelope's client_message_id points to
 * PL_STORE_CLIENT_MESSAGE_ID_BYTES bytes (zeros if it was appended without one).
 * cb must copy what it keeps and must not call into the same handle (a read is in progress).
 */
static inline PL_NODISCARD int pl_store_mailbox_fetch(pl_store *s, const char *username,
                                                      uint32_t device_id, uint64_t after_seq,
                                                      size_t max, pl_store_envelope_cb cb,
                                                      void *ctx, size_t *fetched)
{
    return s->ops->mailbox_fetch(s, username, device_id, after_seq, max, cb, ctx, fetched);
}

/*
 * Deletes the device's envelopes with the n given seqs in one transaction. Idempotent:
 * unknown or already acknowledged seqs are ignored. *deleted (may be NULL) counts the rows
 * actually deleted. Returns PL_STORE_OK or PL_STORE_E_NOT_FOUND (no such device).
 */
static inline PL_NODISCARD int pl_store_mailbox_ack(pl_store *s, const char *username,
                                                    uint32_t device_id, const uint64_t *seqs,
                                                    size_t n, size_t *deleted)
{
    return s->ops->mailbox_ack(s, username, device_id, seqs, n, deleted);
}

/* Writes the device's pending envelope count to *count. PL_STORE_OK or _NOT_FOUND. */
static inline PL_NODISCARD int pl_store_mailbox_count(pl_store *s, const char *username,
                                                      uint32_t device_id, uint64_t *count)
{
    return s->ops->mailbox_count(s, username, device_id, count);
}

/*
 * Deletes every envelope whose server_ts_ms is older than now_ms - retention_ms, in chunks
 * of a few hundred devices per transaction so writers are not held up. After each chunk
 * commits, cb (may be NULL) is told each device's count, for the log line and the metric.
 * *expired (may be NULL) is the total of envelopes. In the same pass, also in chunks, it
 * prunes the send records (pl_store_send_record) older than now_ms - PL_STORE_SEND_DEDUP_MS;
 * they are not counted in *expired. Returns PL_STORE_OK or an I/O-class error; chunks
 * committed before an error stay expired (and were reported). Inside a batch it is refused
 * with PL_STORE_E_INVALID_ARG (it commits as it goes), changing nothing.
 */
static inline PL_NODISCARD int pl_store_mailbox_expire(pl_store *s, uint64_t now_ms,
                                                       pl_store_expire_cb cb, void *ctx,
                                                       uint64_t *expired)
{
    return s->ops->mailbox_expire(s, now_ms, cb, ctx, expired);
}

/* ---- Send deduplication ------------------------------------------------------------------ */

/*
 * Records that device sender_device of account sender sent the message client_message_id
 * at now_ms, so that a resend (the client retrying after a lost answer) can be recognised.
 * Returns:
 *   PL_STORE_OK            recorded; *first_ts_ms = now_ms;
 *   PL_STORE_E_EXISTS      the same (sender, sender_device, client_message_id) was recorded
 *                          before and not yet pruned (pl_store_mailbox_expire prunes records
 *                          older than PL_STORE_SEND_DEDUP_MS): nothing is recorded and
 *                          *first_ts_ms is the time of the first record;
 *   PL_STORE_E_NOT_FOUND   no such sender device;
 *   PL_STORE_E_INVALID_ARG client_message_id is NULL, now_ms is past INT64_MAX or the
 *                          username is out of range.
 * *first_ts_ms (may be NULL) is 0 on any other error. Durable on return (outside a batch).
 * Removing the device removes its records.
 */
static inline PL_NODISCARD int
pl_store_send_record(pl_store *s, const char *sender, uint32_t sender_device,
                     const uint8_t client_message_id[PL_STORE_CLIENT_MESSAGE_ID_BYTES],
                     uint64_t now_ms, uint64_t *first_ts_ms)
{
    return s->ops->send_record(s, sender, sender_device, client_message_id, now_ms, first_ts_ms);
}

/* ---- Key transparency --------------------------------------------------------------------- */

/*
 * Records version `version` of the label `username` with its encoded account state
 * state[0..len) (1..PL_ACCOUNT_STATE_MAX_BYTES), pending until a log entry takes it. The KT
 * log has checked the state; the store keeps it. Returns PL_STORE_OK, PL_STORE_E_EXISTS (the
 * label has this version already) or PL_STORE_E_INVALID_ARG.
 */
static inline PL_NODISCARD int pl_store_kt_state_add(pl_store *s, const char *username,
                                                     uint32_t version, const uint8_t *state,
                                                     size_t len)
{
    return s->ops->kt_state_add(s, username, version, state, len);
}

/*
 * Fills *out with one version of the label: with version UINT32_MAX, the highest version,
 * pending or logged, when below_position is UINT64_MAX (the account's last accepted state),
 * else the highest version logged at a position below below_position; with another
 * version, that version if it was logged below below_position (or at all, for UINT64_MAX).
 * Returns PL_STORE_OK, PL_STORE_E_NOT_FOUND, or PL_STORE_E_CORRUPT for a damaged row.
 */
static inline PL_NODISCARD int pl_store_kt_version_get(pl_store *s, const char *username,
                                                       uint32_t version, uint64_t below_position,
                                                       pl_store_kt_version *out)
{
    return s->ops->kt_version_get(s, username, version, below_position, out);
}

/* Writes up to max pending versions to out[0..*n), in the order they were accepted.
 * Returns PL_STORE_OK or an error (PL_STORE_E_CORRUPT for a damaged row). */
static inline PL_NODISCARD int pl_store_kt_pending(pl_store *s, pl_store_kt_version *out,
                                                   size_t max, size_t *n)
{
    return s->ops->kt_pending(s, out, max, n);
}

/*
 * Appends log entry e (position must be the next one: 0, then the last + 1) with its signed
 * checkpoint and marks the pending versions added[0..n) as logged there, with their VRF
 * outputs, proofs and commitments, all or nothing. Returns PL_STORE_OK, PL_STORE_E_EXISTS
 * (the position is taken), PL_STORE_E_NOT_FOUND (a version is not pending) or
 * PL_STORE_E_INVALID_ARG.
 */
static inline PL_NODISCARD int pl_store_kt_entry_append(pl_store *s, const pl_store_kt_entry *e,
                                                        const pl_store_kt_version *added, size_t n)
{
    return s->ops->kt_entry_append(s, e, added, n);
}

/* Stores note[0..len) as the published form (with cosignatures) of the entry at position,
 * replacing any earlier one. PL_STORE_OK or PL_STORE_E_NOT_FOUND. */
static inline PL_NODISCARD int pl_store_kt_entry_publish(pl_store *s, uint64_t position,
                                                         const char *note, size_t len)
{
    return s->ops->kt_entry_publish(s, position, note, len);
}

/* Calls cb for the entries at positions from .. from + max - 1 that exist, in order.
 * PL_STORE_OK or an error. cb must not call into the same handle. */
static inline PL_NODISCARD int pl_store_kt_entries(pl_store *s, uint64_t from, uint64_t max,
                                                   pl_store_kt_entry_cb cb, void *ctx)
{
    return s->ops->kt_entries(s, from, max, cb, ctx);
}

/* Calls cb for every leaf added by the entries at positions from .. to - 1, by position then
 * vrf_out. PL_STORE_OK or an error (PL_STORE_E_CORRUPT for a damaged row). */
static inline PL_NODISCARD int pl_store_kt_leaves(pl_store *s, uint64_t from, uint64_t to,
                                                  pl_store_kt_leaf_cb cb, void *ctx)
{
    return s->ops->kt_leaves(s, from, to, cb, ctx);
}

/* Stores witness `witness`'s cosignature line[0..len) of the checkpoint of `size`,
 * replacing its earlier one for that size. PL_STORE_OK or an error. */
static inline PL_NODISCARD int pl_store_kt_cosignature_put(pl_store *s, uint64_t size,
                                                           const char *witness, const char *line,
                                                           size_t len)
{
    return s->ops->kt_cosignature_put(s, size, witness, line, len);
}

/* Calls cb for each cosignature stored for the checkpoint of `size`. */
static inline PL_NODISCARD int pl_store_kt_cosignatures(pl_store *s, uint64_t size,
                                                        pl_store_kt_cosig_cb cb, void *ctx)
{
    return s->ops->kt_cosignatures(s, size, cb, ctx);
}

/* ---- Attachment blobs (store_sqlite_blob.c; PROTOCOL.md §27) ------------------------------ */

/*
 * Records a new blob b (received 0, not complete, no fetches; b->fetched is ignored) for
 * b->owner. Refused when the owner's blobs (expired ones not yet swept included) would then
 * hold more than quota_bytes bytes (PL_STORE_E_QUOTA) or number more than max_blobs
 * (PL_STORE_E_LIMIT). Returns PL_STORE_OK, those, PL_STORE_E_EXISTS (the id is taken),
 * PL_STORE_E_INVALID_ARG or an I/O-class error.
 */
static inline PL_NODISCARD int pl_store_blob_create(pl_store *s, const pl_store_blob *b,
                                                    uint64_t quota_bytes, uint32_t max_blobs)
{
    return s->ops->blob_create(s, b, quota_bytes, max_blobs);
}

/* Fills *out with blob id's metadata, fetched counted. PL_STORE_OK or PL_STORE_E_NOT_FOUND. */
static inline PL_NODISCARD int
pl_store_blob_get(pl_store *s, const uint8_t id[PL_STORE_BLOB_ID_BYTES], pl_store_blob *out)
{
    return s->ops->blob_get(s, id, out);
}

/* Sets blob id's received count, complete flag and expiry (the caller checked the rules).
 * PL_STORE_OK, PL_STORE_E_NOT_FOUND or an error. */
static inline PL_NODISCARD int pl_store_blob_update(pl_store *s,
                                                    const uint8_t id[PL_STORE_BLOB_ID_BYTES],
                                                    uint64_t received, int complete,
                                                    uint64_t expires_at_ms)
{
    return s->ops->blob_update(s, id, received, complete, expires_at_ms);
}

/* Records that (username, device_id) fetched blob id (once per device: a repeat changes
 * nothing) and sets *fetched to the number of distinct devices so far. PL_STORE_OK,
 * PL_STORE_E_NOT_FOUND or an error. */
static inline PL_NODISCARD int pl_store_blob_fetched(pl_store *s,
                                                     const uint8_t id[PL_STORE_BLOB_ID_BYTES],
                                                     const char *username, uint32_t device_id,
                                                     uint32_t *fetched)
{
    return s->ops->blob_fetched(s, id, username, device_id, fetched);
}

/* Deletes up to max blobs whose expires_at_ms <= now_ms (with their fetch records) and
 * writes their ids to ids[0..*n) so the caller can remove their files after this returns
 * (durably, outside a batch). PL_STORE_OK or an error (then nothing was deleted). */
static inline PL_NODISCARD int pl_store_blob_expire(pl_store *s, uint64_t now_ms,
                                                    uint8_t (*ids)[PL_STORE_BLOB_ID_BYTES],
                                                    size_t max, size_t *n)
{
    return s->ops->blob_expire(s, now_ms, ids, max, n);
}

/* ---- Batches ----------------------------------------------------------------------------- */

/*
 * Opens a batch on the handle (BEGIN IMMEDIATE: it takes the database's write lock, waiting
 * up to the busy timeout, until commit or rollback). From here every operation of this
 * handle (appends, acks, send records, prekey claims, device adds, ...) runs inside the
 * batch in its own savepoint: one that fails rolls back only its own changes and returns its
 * error as usual; one that succeeds stays pending. Reads see the batch's own writes; other
 * handles see none of them until the commit. Nothing is durable until pl_store_batch_commit
 * returns PL_STORE_OK. Returns PL_STORE_OK, PL_STORE_E_INVALID_ARG (a batch is already
 * open on this handle), PL_STORE_E_BUSY or an I/O-class error (then no batch is open).
 */
static inline PL_NODISCARD int pl_store_batch_begin(pl_store *s)
{
    return s->ops->batch_begin(s);
}

/*
 * Commits the batch in one transaction with one fsync: on PL_STORE_OK every operation that
 * succeeded inside it is durable. On error nothing of the batch is stored. Either way the
 * batch is over. Returns PL_STORE_OK, PL_STORE_E_INVALID_ARG (no batch is open) or an
 * I/O-class error (including when SQLite had to abandon the batch's transaction after an
 * earlier operation's I/O, memory or lock error; operations between that one and the commit
 * fail with PL_STORE_E_IO).
 */
static inline PL_NODISCARD int pl_store_batch_commit(pl_store *s)
{
    return s->ops->batch_commit(s);
}

/* Undoes every operation of the open batch and ends it. Does nothing without a batch.
 * Closing a handle with an open batch rolls it back too. */
static inline void pl_store_batch_rollback(pl_store *s)
{
    s->ops->batch_rollback(s);
}

/*
 * Inside a batch, makes the operations until pl_store_group_end one unit: with keep = 0 (or
 * if releasing fails) every change they made is undone, with keep = 1 they stay in the
 * batch. For requests that are several operations, such as registering an account with its
 * first device, or a Send's deduplication record with its envelopes. Groups do not nest.
 * Returns PL_STORE_OK, PL_STORE_E_INVALID_ARG (no batch, or a group already open),
 * PL_STORE_E_IO (the batch was lost) or another I/O-class error.
 */
static inline PL_NODISCARD int pl_store_group_begin(pl_store *s)
{
    return s->ops->group_begin(s);
}

static inline int pl_store_group_end(pl_store *s, int keep)
{
    return s->ops->group_end(s, keep);
}

#endif
