/*
 * handle_auth.c: device authentication (PROTOCOL.md §11.6).
 *
 * AuthChallengeRequest stores 32 fresh random bytes with the connection (replacing any
 * earlier challenge), valid for PL_SERVER_CHALLENGE_TTL_MS. AuthProof takes the challenge
 * away at once, whatever follows, so each challenge is tried once; the store worker looks up
 * the device's identity key and checks the signature over the statement, which also binds
 * this connection's TLS exporter, so a proof made for another connection fails. Every
 * failure looks the same to the client (STATUS_AUTH_FAILED); the third closes the
 * connection. Success registers the connection as the device (closing an older connection
 * of the same device with STATUS_REPLACED) and starts pushing its mailbox.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

#define ST(x) PARLEY__STATUS_CODE__STATUS_##x

typedef struct auth_rq {
    pl_request rq;
    char username[PL_USERNAME_MAX + 1];
    uint32_t device_id;
    uint8_t challenge[32];
    uint8_t exporter[PL_TLS_EXPORTER_BYTES];
    uint8_t signature[PL_SIGNATURE_BYTES];
    /* Results. */
    uint8_t identity_key[PL_PUBKEY_BYTES];
    size_t onetime_prekeys;
    int has_signed_prekey;
    const char *why; /* for the log only: the client hears AUTH_FAILED */
} auth_rq;

void pl_handle_auth_challenge(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f,
                              size_t frame_bytes)
{
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__AuthChallenge ch = PARLEY__AUTH_CHALLENGE__INIT;

    (void)frame_bytes;
    if (c->authenticated) {
        pl_refuse(c, slot, f, ST(ALREADY_AUTHENTICATED), "the connection is authenticated", 0);
        return;
    }
    randombytes_buf(c->challenge, sizeof c->challenge);
    c->has_challenge = 1;
    c->challenge_expires_ns = pl_clock_mono_ns() + PL_SERVER_CHALLENGE_TTL_MS * 1000000ull;
    ch.challenge.data = c->challenge;
    ch.challenge.len = sizeof c->challenge;
    pl_response_ok(&resp, &st, f->request->id, PARLEY__RESPONSE__BODY_AUTH_CHALLENGE, &ch);
    pl_conn_reply_finish(c, slot, &resp);
    pl_frame_client_free(f);
}

static void proof_run(pl_job *job, pl_store *s)
{
    auth_rq *a = (auth_rq *)job;
    pl_store_device dev;
    uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    int r;

    if (a->why)
        return; /* failed before the store: no challenge */
    if ((r = pl_store_device_get(s, a->username, a->device_id, &dev)) != PL_STORE_OK) {
        a->why = r == PL_STORE_E_NOT_FOUND ? "unknown user or device" : pl_store_strerror(r);
        return;
    }
    if (pl_auth_verify(dev.identity_key, a->challenge, a->exporter, a->username,
                       strlen(a->username), a->device_id, a->signature) != PL_OK) {
        a->why = "bad signature";
        return;
    }
    memcpy(a->identity_key, dev.identity_key, PL_PUBKEY_BYTES);
    if (pl_store_onetime_prekey_count(s, a->username, a->device_id, &a->onetime_prekeys) !=
        PL_STORE_OK)
        a->onetime_prekeys = 0;
    a->has_signed_prekey =
        pl_store_signed_prekey_get(s, a->username, a->device_id, spk) == PL_STORE_OK;
}

static void authenticate(pl_conn *c, const auth_rq *a)
{
    pl_server *srv = c->srv;
    pl_conn *older;

    memcpy(c->username, a->username, sizeof c->username);
    c->device_id = a->device_id;
    memcpy(c->identity_key, a->identity_key, PL_PUBKEY_BYTES);
    c->authenticated = 1;
    pl_metrics_gauge_add(PL_G_CONNECTIONS_AUTHENTICATED, 1);
    pl_metrics_inc(PL_M_AUTH_SUCCESS);
    if ((older = pl_registry_insert(&srv->registry, c))) {
        /* Unregistered already: its close must not remove the newer one. */
        older->authenticated = 0;
        pl_metrics_gauge_add(PL_G_CONNECTIONS_AUTHENTICATED, -1);
        pl_conn_goodbye(older, ST(REPLACED), "another connection authenticated as this device");
    }
    pl_log(PL_CONFIG_LOG_INFO, "authenticated", PL_LOG_U64("conn", c->id),
           PL_LOG_STR("user", c->username), PL_LOG_U64("device", c->device_id));
}

static void proof_done(pl_job *job)
{
    auth_rq *a = (auth_rq *)job;
    pl_conn *c = a->rq.conn;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__AuthResult result = PARLEY__AUTH_RESULT__INIT;
    int ok = !job->commit_failed && !a->why && pl_conn_alive(c) && !c->authenticated;

    c->auth_pending = 0;
    if (!ok) {
        pl_metrics_inc(PL_M_AUTH_FAILURE);
        pl_log(PL_CONFIG_LOG_INFO, "authentication failed", PL_LOG_U64("conn", c->id),
               PL_LOG_STR("peer", c->peer), PL_LOG_STR("user", a->username),
               PL_LOG_U64("device", a->device_id),
               PL_LOG_STR("reason", a->why ? a->why : "store failed"));
        pl_request_fail(&a->rq, job->commit_failed ? ST(INTERNAL) : ST(AUTH_FAILED),
                        job->commit_failed ? "the store failed; retry later"
                                           : "authentication failed");
        c->auth_failures++;
        if (c->auth_failures >= PL_SERVER_MAX_AUTH_FAILURES && pl_conn_alive(c)) {
            pl_request_finish(&a->rq, NULL);
            pl_conn_goodbye(c, ST(AUTH_FAILED), "too many failed authentication attempts");
            return;
        }
        pl_request_finish(&a->rq, NULL);
        return;
    }
    authenticate(c, a);
    result.onetime_prekeys = (uint32_t)a->onetime_prekeys;
    result.has_signed_prekey = a->has_signed_prekey;
    pl_response_ok(&resp, &st, a->rq.id, PARLEY__RESPONSE__BODY_AUTH_PROOF, &result);
    pl_conn_ref(c); /* pl_request_finish frees a and may drop the last job reference */
    pl_request_finish(&a->rq, &resp);
    if (pl_conn_alive(c)) {
        if (result.onetime_prekeys < c->srv->cfg.prekeys.low_watermark)
            pl_prekeys_low_notify(c->srv, c->username, c->device_id, result.onetime_prekeys);
        pl_mailbox_start(c);
    }
    pl_conn_unref(c);
}

void pl_handle_auth_proof(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    const Parley__AuthProof *m = f->request->auth_proof;
    auth_rq *a;
    const char *why;

    if (c->authenticated || c->auth_pending) {
        pl_refuse(c, slot, f, ST(ALREADY_AUTHENTICATED),
                  "the connection is authenticated or proving", 0);
        return;
    }
    if (!(a = (auth_rq *)pl_request_new(sizeof *a, c, slot, f, frame_bytes, proof_run, proof_done)))
        return;
    a->device_id = m->device_id;
    memcpy(a->signature, m->signature.data, sizeof a->signature);
    if (!pl_wire_username(m->username, a->username, &why))
        a->why = "bad username";
    /* The challenge is used up now, whatever the outcome. */
    if (!c->has_challenge || pl_clock_mono_ns() > c->challenge_expires_ns)
        a->why = a->why ? a->why : "no challenge, or it expired";
    else
        memcpy(a->challenge, c->challenge, sizeof a->challenge);
    c->has_challenge = 0;
    sodium_memzero(c->challenge, sizeof c->challenge);
    if (!a->why && pl_tls_conn_exporter(c->tls, a->exporter) != PL_TLS_OK)
        a->why = "no TLS exporter";
    c->auth_pending = 1;
    pl_request_submit(&a->rq);
}
