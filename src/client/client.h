/*
 * client.h: the Parley client runtime: one home directory (cstore.h), one account, one
 * device; a connection to parleyd; sessions (libparley) with every device of every contact.
 * The `parley` command (src/cli) is a thin layer over these functions.
 *
 * Trust rules (docs/CLIENT.md):
 *   - Every device record of an account must verify under that account's key before any
 *     key in it is used; a bundle must verify (pl_bundle_verify) before X3DH.
 *   - The first account key seen for a user is remembered (trust on first use). A later,
 *     different account key is a key change: for a verified contact, sending is blocked
 *     (PL_CLIENT_E_KEY_CHANGED) until the user verifies again; for an unverified one it is
 *     accepted, announced (on_notice) and recorded in the history as a notice.
 *   - The server's certificate is pinned: the CA file given at init/link, or else the
 *     fingerprint seen on first connection; any other certificate is PL_CLIENT_E_CERT.
 *
 * Delivery rules: a received envelope is decrypted, and its session state, message row and
 * seq are committed in one transaction BEFORE the Ack is sent; a redelivered seq is acked
 * without decrypting again, and a message id is stored once. A message is sent as one Send
 * with a ciphertext for every device of the recipient and every other device of ours; on
 * STATUS_MISMATCHED_DEVICES the device lists are refreshed (verified) and the Send retried
 * (at most 3 times).
 *
 * All functions return PL_CLIENT_OK (0) or a negative PL_CLIENT_E_* code; on error,
 * pl_client_error(c) is one line explaining it (naming the user, the server, the file).
 */
#ifndef PARLEY_CLIENT_CLIENT_H
#define PARLEY_CLIENT_CLIENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define PL_CLIENT_ERRNO_MAP(XX)                                                                    \
    XX(OK, 0, "success")                                                                           \
    XX(E_NOMEM, -1, "out of memory")                                                               \
    XX(E_USAGE, -2, "invalid argument")                                                            \
    XX(E_STORE, -3, "the local store failed")                                                      \
    XX(E_NOT_INITIALISED, -4, "no account here yet: run `parley init` or `parley link`")           \
    XX(E_ALREADY_INITIALISED, -5, "this home already has an account")                              \
    XX(E_LOCKED, -6, "another parley process is using this home directory")                        \
    XX(E_PASSPHRASE, -7, "wrong passphrase")                                                       \
    XX(E_NEED_PASSPHRASE, -8, "this store is protected by a passphrase")                           \
    XX(E_CORRUPT, -9, "the local store is corrupt or not a parley store")                          \
    XX(E_PERMISSIONS, -10, "the home directory is accessible to other users")                      \
    XX(E_UNREACHABLE, -11, "cannot reach the server")                                              \
    XX(E_CERT, -12, "the server's certificate does not match the pinned one")                      \
    XX(E_PROTOCOL, -13, "the server broke the protocol")                                           \
    XX(E_REFUSED, -14, "the server refused the request")                                           \
    XX(E_UNKNOWN_USER, -15, "no such user")                                                        \
    XX(E_USERNAME_TAKEN, -16, "the username is taken")                                             \
    XX(E_BAD_USERNAME, -17, "not a valid username")                                                \
    XX(E_KEY_CHANGED, -18, "the contact's account key changed since it was verified")              \
    XX(E_BAD_RECORD, -19, "a device record does not verify under the account key")                 \
    XX(E_LINK_CODE, -20, "the link code is wrong, expired or was tampered with")                   \
    XX(E_TIMEOUT, -21, "timed out")                                                                \
    XX(E_NOT_FOUND, -22, "not found")                                                              \
    XX(E_MISMATCH, -23, "the safety number does not match")                                        \
    XX(E_INTERRUPTED, -24, "interrupted")                                                          \
    XX(E_NO_DEVICES, -25, "the user has no reachable device")                                      \
    XX(E_KT_VIEW, -26, "the key-transparency log's checkpoint did not verify")                     \
    XX(E_KT_PROOF, -27, "a key-transparency lookup proof did not verify")                          \
    XX(E_KT_ROLLBACK, -28, "the key-transparency log shows an older account state than before")    \
    XX(E_KT_UNLOGGED, -29, "the server names a device the key-transparency log does not show")     \
    XX(E_KT_OWN, -30, "our account's log shows a version none of our devices made")                \
    XX(E_KT_CONFIG, -31, "the server's key-transparency log is not the pinned one")                \
    XX(E_KT_BLOCKED, -32, "blocked by an unacknowledged key-transparency alert")                   \
    XX(E_KT_STATE, -33, "the saved key-transparency state is damaged")

enum pl_client_error {
#define PL__CLIENT_ERR_ENUM(name, value, msg) PL_CLIENT_##name = (value),
    PL_CLIENT_ERRNO_MAP(PL__CLIENT_ERR_ENUM)
#undef PL__CLIENT_ERR_ENUM
};

const char *pl_client_strerror(int code);
/* "PL_CLIENT_E_CERT"-style name, for --json output. */
const char *pl_client_errname(int code);

typedef struct pl_client pl_client;

/*
 * Opens the home directory `home` (created when `create` is non-zero: for init and link).
 * passphrase may be NULL (no passphrase: key file; or, for an existing protected store,
 * PL_CLIENT_E_NEED_PASSPHRASE so the caller can prompt). On error *out is NULL and err
 * holds the sentence. Errors: E_LOCKED, E_PASSPHRASE, E_NEED_PASSPHRASE, E_CORRUPT,
 * E_PERMISSIONS, E_NOT_INITIALISED (no store and create == 0), E_ALREADY_INITIALISED
 * (create != 0 and an account exists), E_STORE.
 */
int pl_client_open(pl_client **out, const char *home, const char *passphrase, int create, char *err,
                   size_t err_len);
void pl_client_close(pl_client *c);
const char *pl_client_error(const pl_client *c);

/* Called for announcements the user must see (key changes, PrekeysLow handled silently). */
typedef void (*pl_client_notice_cb)(void *ctx, const char *user, const char *text);
void pl_client_on_notice(pl_client *c, pl_client_notice_cb cb, void *ctx);

/* ---- Account set-up ------------------------------------------------------------------------ */

/*
 * parley init: creates the account key and device 1, registers `username` on `server`
 * ("host:port"), authenticates, uploads a signed prekey and one-time prekeys, and stores
 * everything. ca_file pins the server's certificate (copied into the home); NULL trusts the
 * first certificate seen, whose fingerprint is written to fingerprint_out (96 bytes) either
 * way. device_name may be NULL.
 */
int pl_client_init(pl_client *c, const char *server, const char *ca_file, const char *username,
                   const char *device_name, char fingerprint_out[96]);

/*
 * parley link, step 1, on the new device: connects, makes this device's keys and posts the
 * link offer; writes the code to type on the other device into code_out (e.g.
 * "K7QF-2M9D-XW4B-A3TE", NUL-terminated, at most 32 bytes) and the data to show as a QR code
 * into qr_out (NUL-terminated text, at most 128 bytes: "parley-link:" + code).
 */
int pl_client_link_start(pl_client *c, const char *server, const char *ca_file,
                         const char *device_name, char code_out[32], char qr_out[128],
                         char fingerprint_out[96]);
/* Step 2: waits up to timeout_ms for the approval, then finishes: stores the account,
 * authenticates, uploads prekeys. E_TIMEOUT, E_LINK_CODE (the answer does not open or does
 * not match), E_INTERRUPTED (*stop became non-zero). */
int pl_client_link_wait(pl_client *c, int timeout_ms, volatile sig_atomic_t *stop);

/* parley approve CODE, on an existing device: checks the offer against the code, signs the
 * new device in (AddDevice) and sends it the account key sealed for it. The new device's
 * id and name are written to the out parameters. */
int pl_client_approve(pl_client *c, const char *code, uint32_t *new_device_id,
                      char new_device_name[65]);

/* ---- Devices ------------------------------------------------------------------------------- */

typedef struct pl_client_device {
    uint32_t id;
    char name[65];        /* a local label, not in the signed record: known for this device and for
                           * devices this device approved; "" otherwise */
    char fingerprint[96]; /* of the device identity key (pl_key_fingerprint) */
    uint64_t added_at_ms; /* the record's creation time */
    int current;          /* this device */
} pl_client_device;

/* Our own devices, from the server's signed list (verified). *devs malloc'd, free(). */
int pl_client_devices(pl_client *c, pl_client_device **devs, size_t *n);
/* Removes one of our devices (signed with the account key). Not the current one. */
int pl_client_remove_device(pl_client *c, uint32_t device_id);

/* ---- Messages ------------------------------------------------------------------------------ */

typedef struct pl_client_message {
    char id[33];     /* hex message id */
    char peer[33];   /* the conversation */
    char from[33];   /* the sender's username */
    uint32_t device; /* the sender's device */
    uint64_t sent_at_ms;
    uint64_t received_at_ms;
    int outgoing;     /* sent by us (this or another of our devices) */
    int notice;       /* a local notice (key change), not a message */
    const char *text; /* UTF-8, not NUL-terminated inside: use text_len (a NUL follows) */
    size_t text_len;
    int status;     /* outgoing: PL_CLIENT_STATUS_* the recipient reported (receipts) */
    char group[32]; /* a group message: the group's local name ("" otherwise); peer is then
                     * "#" + group and from the sending member */
} pl_client_message;

/* Called once per message, after it is stored. Return non-zero to stop. */
typedef int (*pl_client_message_cb)(void *ctx, const pl_client_message *m);

/* parley send: encrypts text to every device of `to` and to our other devices, sends,
 * stores it in the history. On success the server has acknowledged it; id_out gets its id
 * (hex). E_UNKNOWN_USER, E_KEY_CHANGED (blocked), E_NO_DEVICES, E_UNREACHABLE, ... */
int pl_client_send(pl_client *c, const char *to, const char *text, size_t text_len,
                   char id_out[33]);

/* parley recv: connects, receives everything pending (waiting up to wait_ms for the first
 * message if none is pending), and calls cb for each new message (and notice). */
int pl_client_receive(pl_client *c, int wait_ms, pl_client_message_cb cb, void *ctx);

/* parley listen: stays connected, calling cb as messages arrive; reconnects with backoff
 * (1 s doubling to 60 s) when the connection drops; returns PL_CLIENT_OK when *stop becomes
 * non-zero (checked at least every 250 ms). */
int pl_client_listen(pl_client *c, volatile sig_atomic_t *stop, pl_client_message_cb cb, void *ctx);

/* parley history USER [--limit N]: the last `limit` messages (0: all), oldest first. */
int pl_client_history(pl_client *c, const char *user, size_t limit, pl_client_message_cb cb,
                      void *ctx);

/* ---- Attachments (client_attach.c, PROTOCOL.md §27) ----------------------------------------- */

/* Progress of an upload or download: bytes of the blob done so far, of total. */
typedef void (*pl_client_progress_cb)(void *ctx, uint64_t done, uint64_t total);

/*
 * parley send USER --file PATH: encrypts the file (at most 2 GiB) under a fresh key, uploads
 * it as a blob (resuming an interrupted upload of the same file: same path, size and
 * modification time) and sends a message carrying its descriptor; its text is caption, or the
 * file's name when caption is NULL or empty. media_type may be NULL. progress may be NULL.
 * E_USAGE (not a readable regular file, too large), the errors of pl_client_send, E_NOT_FOUND
 * (the server dropped the blob: run again to start over).
 */
int pl_client_send_file(pl_client *c, const char *to, const char *path, const char *media_type,
                        const char *caption, pl_client_progress_cb progress, void *pctx,
                        char id_out[33]);

/*
 * parley send --group NAME --file PATH: as pl_client_send_file, the message going to the group
 * as one group message (pl_client_group_send); the blob expects one fetch per member device
 * but this one. Its errors, and pl_client_group_send's.
 */
int pl_client_group_send_file(pl_client *c, const char *group, const char *path,
                              const char *media_type, const char *caption,
                              pl_client_progress_cb progress, void *pctx, char id_out[33]);

typedef struct pl_client_file {
    char message_id[33]; /* hex id of the message that carried it */
    const char *path;    /* where it was saved */
    const char *name;    /* the name its sender gave (a plain file name) */
    const char *media_type;
    uint64_t size;
    char sha256[65]; /* hex, checked */
} pl_client_file;

/* Called once per saved file; return non-zero to stop. Pointers valid during the call. */
typedef int (*pl_client_file_cb)(void *ctx, const pl_client_file *f);

/*
 * parley recv: downloads every attachment received so far and not yet saved (resuming
 * interrupted downloads) into save_dir (NULL: HOME/downloads), each verified (secretstream
 * tags, final tag, size, SHA-256) before it appears there under its name (or "name (N)";
 * never replacing a file). A file that fails its check is discarded and reported
 * (E_PROTOCOL); one the server no longer holds is reported (E_NOT_FOUND) and forgotten. Goes
 * on after a failure and returns the last error, or PL_CLIENT_OK.
 */
int pl_client_fetch_files(pl_client *c, const char *save_dir, pl_client_progress_cb progress,
                          void *pctx, pl_client_file_cb cb, void *ctx);

/*
 * parley listen --save-dir: from now on pl_client_listen downloads attachments as
 * pl_client_fetch_files does (save_dir NULL: HOME/downloads), first those already waiting,
 * then each when the listen is idle after its message was shown. A failed download is
 * announced through on_notice and retried 30 s later (or when a new file arrives) unless it
 * is final (tampered, or gone from the server). E_USAGE when save_dir is too long.
 */
int pl_client_on_files(pl_client *c, const char *save_dir, pl_client_progress_cb progress,
                       void *pctx, pl_client_file_cb cb, void *ctx);

/* ---- Receipts (PROTOCOL.md §28, docs/CLIENT.md "Receipts") ----------------------------------
 *
 * Delivery and read receipts are end-to-end encrypted Contents sent like messages (to every
 * device of the sender and to our other devices), never shown as messages, never answered by
 * a receipt. Sent automatically unless switched off (pl_client_receipts_set): DELIVERED for
 * what pl_client_receive stores, READ for what pl_client_listen shows and by
 * pl_client_mark_read. A receipt received updates the status of our sent messages and is
 * reported through the callback of pl_client_on_receipt. */

enum pl_client_message_status {
    PL_CLIENT_STATUS_SENT = 0,
    PL_CLIENT_STATUS_DELIVERED = 1,
    PL_CLIENT_STATUS_READ = 2,
};
/* "sent", "delivered", "read". */
const char *pl_client_status_name(int status);

typedef struct pl_client_receipt {
    char from[33];   /* who reports */
    uint32_t device; /* from which device */
    int status;      /* PL_CLIENT_STATUS_DELIVERED or _READ */
    uint64_t sent_at_ms;
    size_t n_ids;
    const char (*ids)[33]; /* hex ids of our messages it names (valid during the call) */
} pl_client_receipt;

typedef void (*pl_client_receipt_cb)(void *ctx, const pl_client_receipt *r);
/* Called for each receipt received from another account (after it is applied). */
void pl_client_on_receipt(pl_client *c, pl_client_receipt_cb cb, void *ctx);

/* Whether this device sends receipts (the "receipts" setting; default on). */
int pl_client_receipts_enabled(pl_client *c);
int pl_client_receipts_set(pl_client *c, int on);

/* parley read USER: marks every received message of USER not yet reported read as read and,
 * when receipts are on, sends USER one READ receipt for them (and the copy to our other
 * devices). *n gets how many messages were marked. Messages are marked only once the
 * receipt was sent (or receipts are off). */
int pl_client_mark_read(pl_client *c, const char *user, size_t *n);
/* How many received messages of USER were not marked read (local, no connection). */
int pl_client_unread_count(pl_client *c, const char *user, size_t *n);

/* ---- Groups (PROTOCOL.md §32, docs/CLIENT.md "Groups") -------------------------------------
 *
 * A group is state its members hold (parley/group_state.h): signed changes, sent to every
 * member over the pairwise sessions, each member's devices checked against that member's
 * verified key-transparency state before the change is accepted or a message sent. Messages
 * are encrypted once with this device's sender key (parley/sender_key.h) and fanned out by
 * the server (GroupSend). Removing a member rotates every remaining device's sender key. */

typedef struct pl_client_group_member {
    char username[33];
    size_t n_devices;
    uint32_t device_ids[16];
} pl_client_group_member;

typedef struct pl_client_group {
    char name[32];         /* local name: this device's, fixed at create or join (the
                            * history's peer "#NAME"); the shared name if it was free */
    char shared_name[256]; /* the name in the group state, the same for every member: set
                            * at create, changed by `group rename` (any bytes but NUL) */
    char id[33];           /* hex group id */
    uint32_t epoch;
    int active; /* 0 once we left or were removed */
    size_t n_members;
    pl_client_group_member *members; /* pl_client_group_info only; free() */
} pl_client_group;

/* parley group create NAME USER...: NAME 1..31 bytes [A-Za-z0-9._-]. */
int pl_client_group_create(pl_client *c, const char *name, const char *const *users, size_t n);
int pl_client_group_add(pl_client *c, const char *name, const char *user);
int pl_client_group_remove(pl_client *c, const char *name, const char *user);
int pl_client_group_leave(pl_client *c, const char *name);
/* parley group rename NAME NEWNAME: a rename change of the shared name (1..255 bytes, no
 * control characters) sent to every member; the local name NAME stays. */
int pl_client_group_rename(pl_client *c, const char *name, const char *new_name);
/* After this device approved (added = 1) or removed (0) device_id of our own account: waits,
 * bounded, until our verified key-transparency state shows it, then issues a `devices`
 * change for our member in every active group (PROTOCOL.md §32.2) and sends it. *n_groups
 * counts the groups changed. E_KT_UNLOGGED when the log did not show it in time (the groups
 * are then brought up to date at the next group send, by any member). */
int pl_client_group_own_devices_changed(pl_client *c, uint32_t device_id, int added,
                                        size_t *n_groups);
/* Fills *out (members malloc'd: free(out->members)). E_NOT_FOUND. */
int pl_client_group_info(pl_client *c, const char *name, pl_client_group *out);
typedef int (*pl_client_group_cb)(void *ctx, const pl_client_group *g);
int pl_client_groups(pl_client *c, pl_client_group_cb cb, void *ctx);
/* parley send --group NAME TEXT. */
int pl_client_group_send(pl_client *c, const char *name, const char *text, size_t text_len,
                         char id_out[33]);

/* ---- Contacts and verification ------------------------------------------------------------- */

typedef struct pl_client_contact {
    char username[33];
    char fingerprint[64]; /* account fingerprint, 30 digits grouped (PROTOCOL.md §8.1) */
    int verified;
    int key_changed; /* changed since verified (sending blocked) */
    uint64_t first_seen_ms;
} pl_client_contact;

typedef int (*pl_client_contact_cb)(void *ctx, const pl_client_contact *ct);
int pl_client_contacts(pl_client *c, pl_client_contact_cb cb, void *ctx);

typedef struct pl_client_whoami {
    char username[33];
    uint32_t device_id;
    char device_name[65];
    char server[256];
    char account_fingerprint[64];
    char device_fingerprint[96];
    char server_fingerprint[96];
} pl_client_whoami;
int pl_client_whoami_get(pl_client *c, pl_client_whoami *out);

typedef struct pl_client_safety {
    char safety_number[80]; /* 60 digits in 12 groups of 5 */
    char our_fingerprint[64];
    char their_fingerprint[64];
    int verified;
    int key_changed;
} pl_client_safety;

/* parley verify USER: fetches USER's account key if not known yet; fills *out. */
int pl_client_safety_number(pl_client *c, const char *user, pl_client_safety *out);
/* parley verify USER --confirm NUMBER: marks USER verified if NUMBER (digits; spaces and
 * dashes ignored) equals the current safety number; else E_MISMATCH. */
int pl_client_verify_confirm(pl_client *c, const char *user, const char *number);

/* ---- Key transparency (docs/CLIENT.md "Key transparency"; PROTOCOL.md §21, §23, §25) ---- */

typedef struct pl_client_kt_device {
    uint32_t id;
    char fingerprint[96]; /* of the device identity key (pl_key_fingerprint) */
    uint64_t added_at_ms; /* the record's creation time */
} pl_client_kt_device;

/* What this client verified about one account in the log. */
typedef struct pl_client_kt_status {
    int pinned;       /* a log is pinned */
    char origin[256]; /* the pinned log's origin */
    uint64_t pinned_at_ms;
    int has_checkpoint;
    uint64_t checkpoint_size;       /* the last verified checkpoint */
    uint64_t checkpoint_checked_ms; /* when it was verified */
    int verified;                   /* a state of this account was verified */
    uint32_t version;               /* the verified version (the state's seq) */
    uint64_t entry_time_ms;         /* the timestamp of the log entry it was proven in */
    uint64_t created_at_ms;         /* the state's own time */
    uint32_t publisher_device_id;
    uint64_t verified_at_ms;
    char account_fingerprint[64]; /* of the state's account key */
    size_t n_devices;
    pl_client_kt_device devices[16];
    int blocked; /* an unacknowledged alert blocks sending to it */
    int64_t blocking_alert;
} pl_client_kt_status;

/*
 * Looks USER (or our own username) up in the log now (a greatest lookup, every check of
 * §25), then fills *out from what is stored; with `refresh` 0, no lookup is made and only
 * the stored status is given. A failed lookup still fills *out and returns its error
 * (E_KT_*, with an alert stored, or E_UNREACHABLE, ...).
 */
int pl_client_kt_status_get(pl_client *c, const char *user, int refresh, pl_client_kt_status *out);

/* Owner monitoring: looks our own label up and checks every new version extends our chain.
 * force 0: only if the last check is older than 24 hours. */
int pl_client_kt_monitor(pl_client *c, int force);

typedef struct pl_client_alert {
    int64_t id;
    char user[33]; /* "" for the whole log */
    char kind[32]; /* stable: view, lookup, rollback, equivocation, own-key, own-chain,
                    * unlogged-device, config-changed, saved-state, missing-label */
    char reason[256];
    int high; /* shown by every command until acknowledged */
    uint64_t created_at_ms;
    int acknowledged;
    size_t n_evidence;
} pl_client_alert;

typedef int (*pl_client_alert_cb)(void *ctx, const pl_client_alert *a);
/* Lists alerts (unacknowledged only unless all), oldest first; local only. */
int pl_client_alerts(pl_client *c, int all, pl_client_alert_cb cb, void *ctx);
/* Acknowledges one: E_NOT_FOUND if there is none with that id. */
int pl_client_alert_ack(pl_client *c, int64_t id);
/* Writes the evidence of every alert (of one alert if id > 0) into dir (created 0700 if
 * missing) as alert-<id>/<name> files, 0600; *n_files gets how many. */
int pl_client_alerts_export(pl_client *c, const char *dir, int64_t id, size_t *n_files);

/* One version of our own account in the log (parley log). */
typedef struct pl_client_log_entry {
    uint32_t version;
    uint64_t created_at_ms;
    uint64_t entry_time_ms;
    uint32_t publisher_device_id; /* 0: the account key at registration */
    size_t n_added, n_removed;
    pl_client_kt_device added[16];
    pl_client_kt_device removed[16];
    size_t n_devices;
    char unexpected[160]; /* "" when this version is as expected, else why not */
} pl_client_log_entry;

typedef int (*pl_client_log_cb)(void *ctx, const pl_client_log_entry *e);
/* parley log: every version of our own account, 0..latest, each proven by a fixed lookup
 * and checked against the chain; cb is called for each. A broken chain or another account key
 * is reported in `unexpected` and raised as an alert (E_KT_OWN returned at the end). */
int pl_client_account_log(pl_client *c, pl_client_log_cb cb, void *ctx);

#endif
