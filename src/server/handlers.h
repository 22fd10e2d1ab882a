/*
 * handlers.h: what each request does (docs/PROTOCOL.md §11.3), one file per subject:
 *
 *   dispatch.c         frames in: decode, Hello, rate limit, the request table, pre-auth rule
 *   handle_account.c   RegisterAccount, AddDevice, RemoveDevice, ListDevices
 *   handle_auth.c      AuthChallengeRequest, AuthProof
 *   handle_prekeys.c   UploadSignedPrekey, UploadOnetimePrekeys, FetchBundles, PrekeyStatus
 *   handle_send.c      Send (device-set check, deduplication, durable append, live push)
 *   handle_group_send.c GroupSend (one ciphertext fanned out to every addressed device)
 *   handle_mailbox.c   Ack, and pushing a device's mailbox (backlog after auth, resume)
 *   handle_link.c      LinkPut, LinkGet (the device-link rendezvous, in memory, no store)
 *   handle_blob.c      BlobCreate, BlobPut, BlobStatusGet, BlobComplete, BlobGet, BlobFetched
 *                      (attachments), and the blob expiry sweep
 *   handle_kt.c        KtConfigGet, KtCheckpointGet, KtLookup, KtAuditGet, KtCosign, KtWatch,
 *                      and the key-transparency sequencer's timer
 *
 * A handler is called on the loop thread with a validated request (frame.h has checked
 * presence, lengths and counts), a reserved reply slot, and ownership of the decoded frame.
 * Work that needs the store goes to the store worker as a pl_request; its `done` answers
 * through the slot. Cheap checks come first: sizes, then usernames, then the store, then
 * signatures (§11.4).
 */
#ifndef PARLEYD_HANDLERS_H
#define PARLEYD_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "store_worker.h"

/* Decodes and handles one frame body from c (conn.c calls this for every frame). */
void pl_dispatch_frame(pl_conn *c, const uint8_t *p, size_t len);

/* Runs the requests that waited for an AuthProof's outcome (handle_auth.c calls it). */
void pl_dispatch_deferred(pl_conn *c);

/* One request on its way through the store worker. Handlers embed it first in their own
 * struct and allocate the whole with pl_request_new. */
typedef struct pl_request {
    pl_job job; /* first: the worker's view */
    pl_conn *conn;
    pl_reply *slot;
    Parley__ClientFrame *frame;
    uint64_t id;
    size_t frame_bytes;
    /* Result, written by run: STATUS_OK or the refusal, with a message for the client. */
    Parley__StatusCode status;
    const char *message;
} pl_request;

/* A handler: takes ownership of f; must finish slot exactly once (maybe later). */
typedef void (*pl_handler_fn)(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f,
                              size_t frame_bytes);

/*
 * Allocates a zeroed struct of `size` bytes (at least sizeof(pl_request)) for a request of
 * c, with run and done set. Returns NULL on allocation failure, after answering slot with
 * STATUS_INTERNAL and freeing f.
 */
pl_request *pl_request_new(size_t size, pl_conn *c, pl_reply *slot, Parley__ClientFrame *f,
                           size_t frame_bytes, void (*run)(pl_job *, pl_store *),
                           void (*done)(pl_job *));

/* Queues rq on the store worker; holds a reference to its connection until released. */
void pl_request_submit(pl_request *rq);

/*
 * Answers rq: with resp if it is non-NULL and the batch committed, else with rq->status
 * (STATUS_INTERNAL if the batch did not commit). Then releases rq: counters, the frame, the
 * connection reference, and rq itself. Call once from done.
 */
void pl_request_finish(pl_request *rq, Parley__Response *resp);

/* Answers slot with a refusal at once (a check that needs no store failed) and frees f. */
void pl_refuse(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, Parley__StatusCode code,
               const char *message, uint32_t retry_after_ms);

/* Sets rq's result to an error, from run. */
void pl_request_fail(pl_request *rq, Parley__StatusCode status, const char *message);

/* Maps a store error to a wire status: NOT_FOUND, the given codes for EXISTS and LIMIT,
 * STATUS_MAILBOX_FULL for QUOTA, INTERNAL otherwise. */
Parley__StatusCode pl_status_from_store(int store_error, Parley__StatusCode exists,
                                        Parley__StatusCode limit);

/*
 * The store half of Send and GroupSend (store thread): in one store group, records
 * (sender, sender_device, client_message_id) for deduplication at now_ms and appends
 * envs[0..n). Returns PL_STORE_OK; PL_STORE_E_EXISTS for a resend, nothing stored and
 * *first_ts_ms the first one's time; or the store's error, with *failed the index of the
 * envelope that failed for PL_STORE_E_QUOTA (handle_send.c).
 */
int pl_send_store(pl_store *s, const char *sender, uint32_t sender_device,
                  const uint8_t *client_message_id, uint64_t now_ms, pl_store_envelope *envs,
                  size_t n, uint64_t *first_ts_ms, size_t *failed);

/* Makes resp a success for the request body `body_case` with the body `body` (any of the
 * Response union's members; all are pointers). */
void pl_response_ok(Parley__Response *resp, Parley__Status *status, uint64_t id, int body_case,
                    void *body);

/* Normalizes a username from the wire; returns 1 and out, or 0 (answer BAD_USERNAME). */
int pl_wire_username(const char *in, char out[PL_USERNAME_MAX + 1], const char **why);

void pl_handle_register_account(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_add_device(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_remove_device(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_list_devices(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_auth_challenge(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_auth_proof(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_upload_signed_prekey(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_upload_onetime_prekeys(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_fetch_bundles(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_prekey_status(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_send(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_group_send(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_ack(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_ping(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_link_put(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_link_get(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_kt_config(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_kt_checkpoint(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_kt_lookup(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_kt_audit(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_kt_cosign(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_kt_watch(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);

void pl_handle_blob_create(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_blob_put(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_blob_status(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_blob_complete(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_blob_get(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);
void pl_handle_blob_fetched(pl_conn *, pl_reply *, Parley__ClientFrame *, size_t);

/* The blob expiry timer (server.c): one sweep job unless one is in flight (handle_blob.c). */
void pl_blob_sweep(pl_server *srv);

/* The sequencer's timer (server.c): one step job unless one is in flight (handle_kt.c). */
void pl_kt_tick(pl_server *srv);

/* ---- Mailbox delivery (handle_mailbox.c) --------------------------------------------------- */

/* After authentication: pushes the device's stored envelopes in order, then QueueEmpty. */
void pl_mailbox_start(pl_conn *c);

/* Fetches and pushes more of the mailbox once the connection has room again. */
void pl_mailbox_resume(pl_conn *c);

/* A committed envelope for (username, device_id): pushes it now if that device is connected
 * and in step, or leaves it for the mailbox fetch. The pointers are borrowed. */
void pl_mailbox_offer(pl_server *srv, const char *username, uint32_t device_id,
                      const Parley__Envelope *env, uint64_t accepted_ns);

/* Tells the device, if connected, that its one-time prekey stock is low. */
void pl_prekeys_low_notify(pl_server *srv, const char *username, uint32_t device_id,
                           uint32_t remaining);

#endif
