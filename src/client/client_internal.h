/*
 * client_internal.h: what the files of the client runtime share (client.h is the API):
 *
 *   client.c          open/close, errors, identity, connecting and authenticating, prekeys
 *   client_devices.c  device lists (fetched, verified, key changes), contacts, verification,
 *                     whoami, own devices, history
 *   client_send.c     sessions for every device, encryption, Send with mismatch retry
 *   client_recv.c     pushes: decrypt, store, acknowledge; receive and listen
 *   client_link.c     link / approve: the sealed offer and answer (docs/CLIENT.md)
 *   client_receipt.c  delivery and read receipts: applying, queueing, sending (§28)
 */
#ifndef PARLEY_CLIENT_INTERNAL_H
#define PARLEY_CLIENT_INTERNAL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "client_conn.h"
#include "content.pb-c.h"
#include "cstore.h"
#include "frame.h"
#include "parley/parley.h"

#define CL_USERNAME_MAX 32
#define CL_DEVICES_MAX 16
#define CL_PATH_MAX 1024
/* One-time prekeys: the stock kept on the server, refilled below the low mark. */
#define CL_OTK_STOCK 100u
#define CL_OTK_REFILL_BELOW 25u
/* Send attempts when the server reports mismatched devices. */
#define CL_SEND_ATTEMPTS 3
#define CL_REQUEST_TIMEOUT_MS 10000u
/* Receipts (§28): message ids per Receipt, and received messages waiting for theirs. */
#define CL_RECEIPT_IDS_MAX 512u
#define CL_RECEIPT_PENDING_MAX 512u

struct pl_client {
    pl_cstore *store;
    char home[CL_PATH_MAX];
    char err[512];
    pl_client_notice_cb notice;
    void *notice_ctx;

    /* The identity, once initialised (init, link, or loaded at open). */
    int have_identity;
    char username[CL_USERNAME_MAX + 1];
    uint32_t device_id;
    char device_name[65];
    char server[256];
    char ca_path[CL_PATH_MAX + 16]; /* HOME/ca.pem when a CA was given, else "" */
    char pin[PL_TLS_FINGERPRINT_BYTES];
    pl_account *account;
    pl_device *device;
    uint8_t account_key[PL_PUBKEY_BYTES];

    pl_cconn *conn;
    int authenticated;
    int backlog_done; /* QueueEmpty arrived on this connection: the mailbox was pushed */
    int group_joined; /* a group was joined since the last cl_group_flush_joins */

    /* pl_client_send_file -> pl_client_send: the attachment the next Content carries
     * (client_attach.c; NULL otherwise). Borrowed. */
    const struct Parley__Attachment *attach_next;
    /* pl_client_on_files: pl_client_listen downloads attachments when idle and a descriptor
     * was recorded since (files_pending, set by cl_attach_record_incoming). */
    int files_on, files_pending;
    uint64_t files_retry_at_ms;       /* after a passing failure: not before (cl_now_ms) */
    char files_dir[CL_PATH_MAX + 16]; /* "" for HOME/downloads */
    pl_client_progress_cb files_progress;
    void *files_pctx;
    pl_client_file_cb files_cb;
    void *files_ctx;

    /* Receipts (client_receipt.c): the callback, and received messages whose receipt is
     * still to be sent (by the end of receive, or when listen is idle). */
    pl_client_receipt_cb receipt_cb;
    void *receipt_ctx;
    struct cl_pending_receipt {
        char peer[CL_USERNAME_MAX + 1];
        uint8_t id[16];
    } pending[CL_RECEIPT_PENDING_MAX];
    size_t n_pending;

    /* parley link, between start and wait. */
    struct {
        int active;
        uint8_t secret[10];
        uint8_t rendezvous[16];
        uint8_t eph_sk[32], eph_pk[32];
        char device_name[65];
    } link;
};

/* Records a formatted error in c->err and returns code. */
int cl_fail(pl_client *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Maps a cstore error to a client error, recording the store's message. */
int cl_store_fail(pl_client *c, int store_error, const char *what);
/* The wire status of a Response frame, and its message. */
int cl_status(const Parley__ServerFrame *f);
const char *cl_status_name(int code);
/* Maps a refused Response to a client error with its message: USERNAME_TAKEN, NOT_FOUND (as
 * E_UNKNOWN_USER), BAD_USERNAME, else E_REFUSED. */
int cl_refused(pl_client *c, const Parley__ServerFrame *f, const char *what);

/* Wall clock, milliseconds since the Unix epoch. */
uint64_t cl_now_ms(void);

/* Settings helpers (plain text values). */
int cl_setting_u32(pl_client *c, const char *name, uint32_t *out);
int cl_setting_set_u32(pl_client *c, const char *name, uint32_t v);

/* Saves the identity (account, device, settings) into the store (inside a transaction the
 * caller opened). */
int cl_save_identity(pl_client *c);

/* Copies a CA file into HOME/ca.pem (0600) and points c->ca_path at it. */
int cl_copy_ca(pl_client *c, const char *ca_file);

/* Connects to the server (if not connected) and authenticates as our device. Uploads a
 * signed prekey if the server has none and refills one-time prekeys. */
int cl_connect(pl_client *c);
/* Connects without authenticating (for link, before the device exists). */
int cl_connect_anonymous(pl_client *c);
void cl_disconnect(pl_client *c);
/* Sends one request on the connection (connecting first if needed, authenticated). */
int cl_request(pl_client *c, Parley__Request *req, Parley__ServerFrame **out);

/* After init or link has connected (r is cl_connect's result): pins the server's
 * key-transparency log (client_kt.c). A pin that fails is announced, not fatal: the log is
 * then pinned at the first lookup. Returns r. */
int cl_kt_pin_at_setup(pl_client *c, int r);

/* Generates and uploads a signed prekey and `n` one-time prekeys, storing their private
 * parts first (one transaction). */
int cl_upload_prekeys(pl_client *c, int signed_prekey, uint32_t n);

/* A verified device list of an account: fetched with ListDevices, every record verified
 * under the account key; the account key compared with the contact's (key change rules of
 * client.h). *blocked is set when the contact is verified and its key changed. */
typedef struct cl_device_list {
    uint8_t account_key[PL_PUBKEY_BYTES];
    size_t n;
    pl_device_record records[CL_DEVICES_MAX];
    uint8_t raw[CL_DEVICES_MAX][PL_DEVICE_RECORD_BYTES];
} cl_device_list;
int cl_fetch_devices(pl_client *c, const char *user, cl_device_list *out);

/*
 * Builds our account's next state (PROTOCOL.md §24.3) for a device change: fetches the
 * account's last state (DeviceList.account_state), checks that it verifies and is signed by
 * our own account key, and signs the one that extends it (seq + 1, its hash) with add_record
 * added (non-NULL) or device remove_id taken out. An account with no state yet gets a seq-0
 * state of its current (verified) devices, changed likewise. Writes out[0..*len). Returns
 * PL_CLIENT_OK or an error (a state not ours is PL_CLIENT_E_PROTOCOL).
 */
int cl_next_state(pl_client *c, const uint8_t *add_record, uint32_t remove_id,
                  uint8_t out[PL_ACCOUNT_STATE_MAX_BYTES], size_t *len);

/* Sends one Content to every verified device of `to` and our other devices (client_send.c):
 * a text message (control NULL), stored in the history, or a control message, not stored:
 * control's receipt, group_update and group_sender_key are sent. id_out (may be NULL for a
 * control message) gets the Content's id. */
int cl_send_content(pl_client *c, const char *to, const char *text, size_t text_len,
                    const Parley__Content *control, char id_out[33]);

/* Groups (client_group.c). A group control Content (group_update / group_sender_key) from
 * sender's device, after its envelope was committed: applied, and answered (our sender key
 * distributed) as §32 says. Failures are notices. */
void cl_group_control(pl_client *c, const char *sender, uint32_t sender_device,
                      const Parley__Content *ct);
/* Sends our chain of every group joined since the last call to its members, once the
 * messages waiting were processed (end of a receive, listen when idle). Failures are
 * notices; the group stays marked and is tried again. */
void cl_group_flush_joins(pl_client *c);
/* An envelope with `group` set: decrypted with the sender's sender key, checked against the
 * group state, stored, shown (cb), with its seq recorded as seen. Returns PL_CLIENT_OK (also
 * for an unreadable one: a notice) or a store error; *stop is set when cb asks to stop. */
int cl_group_receive(pl_client *c, const Parley__Envelope *env, pl_client_message_cb cb, void *ctx,
                     int *stop);

/* Receipts (client_receipt.c). Inside the transaction of a received envelope: applies a
 * received receipt from `sender` (ours: a copy another of our devices sent, to sent_to).
 * Returns 1 if it should be reported (cl_receipt_report after the commit), 0, or an error. */
int cl_receipt_apply(pl_client *c, const char *sender, const Parley__Content *ct);
void cl_receipt_report(pl_client *c, const char *sender, uint32_t device,
                       const Parley__Content *ct);
/* Queues a received message for a receipt (dropped, not an error, when the queue is full). */
void cl_receipt_queue(pl_client *c, const char *peer, const uint8_t id[16]);
/* Sends the queued receipts with `status` (one per peer) and raises the messages' own
 * status; sends nothing when receipts are off. Failures are announced (notice), not returned:
 * receipts are best effort. */
void cl_receipt_flush(pl_client *c, int status);

/* Stores a message: 1 if it is new, 0 if it was stored before (a redelivery), or a negative
 * error. Call inside the transaction that also saves the session. */
int cl_store_message(pl_client *c, const pl_cstore_message *m);
/* Hands a stored message to cb (with its text NUL-terminated); returns cb's result. */
int cl_show_message(pl_client *c, const pl_cstore_message *m, pl_client_message_cb cb, void *ctx);
/* Converts a stored message for the callback. */
void cl_message_view(const pl_cstore_message *m, const char *self, pl_client_message *out);
/* Adds a notice to user's conversation and announces it. */
int cl_notice(pl_client *c, const char *user, const char *text);

/* ---- Parsers of what other clients send (each has a fuzz target) ---- */

/* Unpacks and checks a decrypted Content: a 16-byte id, text within the plaintext bound
 * (it need not be valid UTF-8: it is printed escaped), sent_to empty or username-sized, an
 * attachment (if any) that passes cl_attachment_check (client_attach.h).
 * Returns 0 and *out (free with parley__content__free_unpacked), or -1. */
int cl_content_parse(const uint8_t *p, size_t len, Parley__Content **out);
/* The receipt part of that check: a known kind, 1..CL_RECEIPT_IDS_MAX ids of 16 bytes, and no
 * text. Returns 0 or -1. */
int cl_receipt_check(const Parley__Content *ct);

/* Attachments (client_attach.c). Inside the transaction that stores an incoming message:
 * records its attachment (already checked) for pl_client_fetch_files. Returns a cstore code. */
int cl_attach_record_incoming(pl_client *c, const uint8_t msg_id[16], const char *from,
                              const Parley__Attachment *a);
/* Listen, when idle: pl_client_fetch_files if pl_client_on_files asked and a descriptor
 * arrived since; a failure is announced as a notice, the listen goes on. */
void cl_attach_fetch_when_idle(pl_client *c);
/* Groups (client_group_msg.c): the member devices a group message goes to (all but this one);
 * E_NOT_FOUND, E_REFUSED (not a member), E_NO_DEVICES. */
int cl_group_recipient_devices(pl_client *c, const char *name, size_t *n);

/* Link codes: 10 secret bytes as 16 Crockford base32 characters in groups of 4. decode
 * ignores case, dashes and spaces and reads O as 0, I and L as 1; returns 0 or -1. */
#define CL_LINK_SECRET_BYTES 10u
void cl_link_code_encode(const uint8_t s[CL_LINK_SECRET_BYTES], char out[32]);
int cl_link_code_decode(const char *code, uint8_t s[CL_LINK_SECRET_BYTES]);

/* Unpack and check the opened link messages. Return 0 and *out (free with the protobuf-c
 * free_unpacked function), or -1. */
int cl_link_offer_parse(const uint8_t *p, size_t len, Parley__LinkOffer **out);
int cl_link_answer_parse(const uint8_t *p, size_t len, Parley__LinkAnswer **out);

/* Encodes id as 32 lowercase hex characters + NUL. */
void cl_hex(const uint8_t *in, size_t len, char *out);

#endif
