/*
 * session.c: the public session API: X3DH set-up on either side, then encryption and
 * decryption through the Double Ratchet, with the X3DH data resent until the peer replies.
 */
#include <string.h>

#include <sodium.h>

#include "keys_internal.h"
#include "session_internal.h"

pl_session *pl__session_alloc(void)
{
    return pl__secure_alloc(sizeof(pl_session));
}

void pl__session_set_ad(pl_session *s)
{
    /* AD = Encode(IK_A) || Encode(IK_B), the initiator first (X3DH §3.3). */
    const uint8_t *a = s->is_initiator ? s->local_identity : s->remote_identity;
    const uint8_t *b = s->is_initiator ? s->remote_identity : s->local_identity;

    memcpy(s->ad, a, PL_PUBKEY_BYTES);
    memcpy(s->ad + PL_PUBKEY_BYTES, b, PL_PUBKEY_BYTES);
}

void pl_session_free(pl_session *session)
{
    if (!session)
        return;
    pl__skipped_clear(&session->skipped);
    pl__secure_free(session);
}

int pl_session_initiate(pl_session **out, const pl_rng *rng, const pl_device *self,
                        const pl_bundle *peer)
{
    uint8_t ephemeral_sk[32], ephemeral_pk[32], sk[32];
    pl_session *s = NULL;
    int r;

    *out = NULL;
    /* EK_A = GENERATE_DH() */
    pl__x25519_generate(rng, ephemeral_sk, ephemeral_pk);
    if ((r = pl__x3dh_initiator(sk, self, ephemeral_sk, peer)) != PL_OK)
        goto out;
    r = PL_E_NOMEM;
    if (!(s = pl__session_alloc()))
        goto out;
    pl_device_identity_key(self, s->local_identity);
    memcpy(s->remote_identity, peer->device.identity_key, PL_PUBKEY_BYTES);
    s->is_initiator = 1;
    pl__session_set_ad(s);
    s->pending_prekey = 1;
    memcpy(s->base_key, ephemeral_pk, 32);
    s->signed_prekey_id = peer->signed_prekey.id;
    s->has_onetime_prekey = (uint8_t)(peer->has_onetime_prekey != 0);
    s->onetime_prekey_id = peer->has_onetime_prekey ? peer->onetime_prekey_id : 0;
    if ((r = pl__ratchet_init_initiator(s, rng, sk, peer->signed_prekey.key + 1)) != PL_OK)
        goto out;
    *out = s;
    s = NULL;
    r = PL_OK;
out:
    pl_session_free(s);
    sodium_memzero(ephemeral_sk, sizeof ephemeral_sk);
    sodium_memzero(sk, sizeof sk);
    return r;
}

int pl_message_kind(const uint8_t *msg, size_t len)
{
    if (len < 2)
        return PL_E_TRUNCATED;
    if (msg[0] != PL__MESSAGE_VERSION)
        return PL_E_VERSION;
    if (msg[1] != PL_MSG_RATCHET && msg[1] != PL_MSG_PREKEY)
        return PL_E_MALFORMED;
    return msg[1];
}

int pl_prekey_message_parse(const uint8_t *msg, size_t len, pl_prekey_message_info *out)
{
    const uint8_t *inner;
    size_t inner_len;

    return pl__prekey_message_split(msg, len, out, &inner, &inner_len);
}

int pl_session_accept(pl_session **out, const pl_rng *rng, const pl_device *self,
                      const pl_signed_prekey *spk, const pl_onetime_prekey *opk, const uint8_t *msg,
                      size_t len, uint8_t *pt, size_t pt_cap, size_t *pt_len)
{
    pl_prekey_message_info info;
    const uint8_t *inner;
    size_t inner_len;
    uint8_t sk[32];
    pl_session *s = NULL;
    int r;

    *out = NULL;
    *pt_len = 0;
    if ((r = pl__prekey_message_split(msg, len, &info, &inner, &inner_len)) != PL_OK)
        return r;
    if (info.signed_prekey_id != spk->id || (info.has_onetime_prekey != (opk != NULL)) ||
        (opk && info.onetime_prekey_id != opk->id))
        return PL_E_PREKEY_MISMATCH;
    if ((r = pl__x3dh_responder(sk, self, spk, opk, info.sender_identity_key, info.base_key + 1)) !=
        PL_OK)
        goto out;
    r = PL_E_NOMEM;
    if (!(s = pl__session_alloc()))
        goto out;
    pl_device_identity_key(self, s->local_identity);
    memcpy(s->remote_identity, info.sender_identity_key, PL_PUBKEY_BYTES);
    s->is_initiator = 0;
    pl__session_set_ad(s);
    memcpy(s->base_key, info.base_key + 1, 32);
    s->signed_prekey_id = info.signed_prekey_id;
    s->has_onetime_prekey = (uint8_t)info.has_onetime_prekey;
    s->onetime_prekey_id = info.onetime_prekey_id;
    pl__ratchet_init_responder(s, sk, spk);
    if ((r = pl__ratchet_decrypt(s, rng, inner, inner_len, pt, pt_cap, pt_len)) != PL_OK)
        goto out;
    *out = s;
    s = NULL;
out:
    pl_session_free(s);
    sodium_memzero(sk, sizeof sk);
    return r;
}

size_t pl_session_encrypted_size(const pl_session *session, size_t pt_len)
{
    size_t prefix = session->pending_prekey ? pl__prekey_prefix_size(session) : 0;
    return prefix + PL_RATCHET_HEADER_BYTES + pt_len + PL_AEAD_TAG_BYTES;
}

int pl_session_encrypt(pl_session *session, const uint8_t *pt, size_t pt_len, uint8_t *out,
                       size_t cap, size_t *out_len)
{
    pl__writer w = pl__writer_init(out, cap);
    int r;

    *out_len = 0;
    if (pt_len > PL_MAX_PLAINTEXT_BYTES)
        return PL_E_TOO_LARGE;
    if (cap < pl_session_encrypted_size(session, pt_len))
        return PL_E_BUFFER_TOO_SMALL;
    if (session->pending_prekey)
        pl__prekey_prefix_write(&w, session);
    if ((r = pl__ratchet_encrypt(session, pt, pt_len, &w)) != PL_OK)
        return r;
    *out_len = w.off;
    return PL_OK;
}

int pl_session_decrypt(pl_session *session, const pl_rng *rng, const uint8_t *msg, size_t len,
                       uint8_t *pt, size_t pt_cap, size_t *pt_len)
{
    pl_prekey_message_info info;
    const uint8_t *inner;
    size_t inner_len;
    int kind, r;

    *pt_len = 0;
    if ((kind = pl_message_kind(msg, len)) < 0)
        return kind;
    if (kind == PL_MSG_RATCHET)
        return pl__ratchet_decrypt(session, rng, msg, len, pt, pt_cap, pt_len);

    /* A prekey message continues this session only if it is from the same X3DH run (same
     * identity, base key and prekey ids): the initiator resends its X3DH data until it
     * hears back. */
    if ((r = pl__prekey_message_split(msg, len, &info, &inner, &inner_len)) != PL_OK)
        return r;
    if (session->is_initiator ||
        sodium_memcmp(info.sender_identity_key, session->remote_identity, PL_PUBKEY_BYTES) != 0 ||
        sodium_memcmp(info.base_key + 1, session->base_key, 32) != 0 ||
        info.signed_prekey_id != session->signed_prekey_id ||
        (uint8_t)info.has_onetime_prekey != session->has_onetime_prekey ||
        info.onetime_prekey_id != session->onetime_prekey_id)
        return PL_E_SESSION_MISMATCH;
    return pl__ratchet_decrypt(session, rng, inner, inner_len, pt, pt_cap, pt_len);
}

void pl_session_peer_identity(const pl_session *session, uint8_t out[PL_PUBKEY_BYTES])
{
    memcpy(out, session->remote_identity, PL_PUBKEY_BYTES);
}

size_t pl_session_skipped_keys(const pl_session *session)
{
    return session->skipped.count;
}
