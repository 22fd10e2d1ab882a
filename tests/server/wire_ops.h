/*
 * wire_ops.h: one call per request of the wire protocol (PROTOCOL.md §11.3), over
 * wire_client, with keys from wire_identity.
 *
 * Each returns the Response's status code (>= 0, a Parley__StatusCode) or a negative WC_*
 * result. Where `out` is offered it receives the ServerFrame holding the Response (NULL to
 * discard; the caller frees it with pl_frame_server_free).
 */
#ifndef PARLEYD_WIRE_OPS_H
#define PARLEYD_WIRE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "wire_client.h"
#include "wire_identity.h"

/* One ciphertext of a Send. */
typedef struct wo_ct {
    uint32_t device_id;
    const uint8_t *identity_key; /* 33 bytes */
    const uint8_t *ciphertext;
    size_t len;
} wo_ct;

int wo_register(wc_conn *c, const char *username, const uint8_t account_key[PL_PUBKEY_BYTES],
                const uint8_t record[PL_DEVICE_RECORD_BYTES]);
/* Registers a with its first device, under a->username. */
int wo_register_account(wc_conn *c, const wi_account *a);
int wo_add_device(wc_conn *c, const char *username, const uint8_t record[PL_DEVICE_RECORD_BYTES]);
int wo_remove_device(wc_conn *c, const char *username, uint32_t device_id, const uint8_t sig[64]);
/* The same two with the account state given (tests of refused states); the live account's
 * state is not updated. */
int wo_add_device_with_state(wc_conn *c, const char *username,
                             const uint8_t record[PL_DEVICE_RECORD_BYTES], const uint8_t *state,
                             size_t len);
int wo_remove_device_with_state(wc_conn *c, const char *username, uint32_t device_id,
                                const uint8_t sig[64], const uint8_t *state, size_t len);
int wo_list_devices(wc_conn *c, const char *username, Parley__ServerFrame **out);

/* AuthChallengeRequest; on STATUS_OK writes the challenge. */
int wo_challenge(wc_conn *c, uint8_t challenge[32]);
int wo_proof(wc_conn *c, const char *username, uint32_t device_id, const uint8_t sig[64],
             Parley__ServerFrame **out);
/* Challenge, signature over this connection's exporter, proof: as device d of a. */
int wo_auth(wc_conn *c, const wi_account *a, const wi_device *d);

int wo_upload_signed_prekey(wc_conn *c, const uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES]);
/* Uploads n fresh one-time prekeys with ids first_id, first_id + 1, ... */
int wo_upload_onetime_prekeys(wc_conn *c, uint32_t first_id, size_t n, Parley__ServerFrame **out);
int wo_prekey_status(wc_conn *c, Parley__ServerFrame **out);
int wo_fetch_bundles(wc_conn *c, const char *username, Parley__ServerFrame **out);
int wo_ping(wc_conn *c);
int wo_ack(wc_conn *c, const uint64_t *seqs, size_t n);

/* LinkPut of blob[0..blob_len) to `slot` of the rendezvous rdv[0..rdv_len) (lengths as given,
 * so a test can send wrong ones). */
int wo_link_put(wc_conn *c, const uint8_t *rdv, size_t rdv_len, uint32_t slot, const uint8_t *blob,
                size_t blob_len);
/* LinkGet; on STATUS_OK copies the blob to out[0..cap) and its length to *len (WC_ERROR if
 * the Response has no LinkBlob or it does not fit). */
int wo_link_get(wc_conn *c, const uint8_t *rdv, size_t rdv_len, uint32_t slot, uint8_t *out,
                size_t cap, size_t *len);

int wo_send(wc_conn *c, const char *recipient, const wo_ct *rcpt, size_t n_rcpt, const wo_ct *snd,
            size_t n_snd, const uint8_t msg_id[16], Parley__ServerFrame **out);

/*
 * Sends text to every current (not removed) device of `to` and to every other current device
 * of `from` than from_device, all with the same bytes, under message id msg_id (random if
 * NULL). Returns as wo_send().
 */
int wo_send_text(wc_conn *c, const wi_account *from, uint32_t from_device, const wi_account *to,
                 const char *text, const uint8_t *msg_id, Parley__ServerFrame **out);

/*
 * Waits for the next Push that is an Envelope and returns it in *out; other pushes
 * (PrekeysLow, QueueEmpty) are skipped. Returns WC_OK or a WC_* failure.
 */
int wo_next_envelope(wc_conn *c, Parley__ServerFrame **out, unsigned timeout_ms);

/* Waits for a QueueEmpty push, skipping PrekeysLow pushes: returns WC_OK, or WC_ERROR if an
 * Envelope (or another kind) comes first. */
int wo_expect_queue_empty(wc_conn *c, unsigned timeout_ms);

/* Connects to port trusting cert, says Hello and authenticates as d of a; fails the test on
 * any error. */
wc_conn *wo_login(uint16_t port, const char *cert, const wi_account *a, const wi_device *d);

/* Connects and registers a fresh account named "<prefix>N" with device 1; fails the test on
 * error. The connection is left unauthenticated and returned in *conn if conn is not NULL,
 * else closed. */
wi_account *wo_new_user(uint16_t port, const char *cert, const char *prefix, wc_conn **conn);

#endif
