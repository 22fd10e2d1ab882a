/*
 * session_state.c: saving and loading a session (PROTOCOL.md §9.2).
 *
 * Body of a version-1 session blob:
 *   flags u8 | local identity (33) | remote identity (33) | base key (32)
 *   | signed prekey id u32 | one-time prekey id u32 | RK (32) | DHs private (32) | DHr (32)
 *   | CKs (32) | Ns u32 | CKr (32) | Nr u32 | PN u32
 *   | retired count u8 | retired ratchet keys (32 each)
 *   | skipped count u32 | skipped keys (ratchet key 32 | n u32 | message key 32, oldest first)
 * flags: bit 0 initiator, 1 pending prekey, 2 has DHr, 3 sending chain, 4 receiving chain,
 * 5 one-time prekey used. Loading accepts only the canonical encoding (unused fields zero),
 * so load-then-save reproduces the input exactly.
 */
#include <string.h>

#include <sodium.h>

#include "blob.h"
#include "keys_internal.h"
#include "session_internal.h"

#define F_INITIATOR 0x01u
#define F_PENDING 0x02u
#define F_HAS_DHR 0x04u
#define F_SEND 0x08u
#define F_RECV 0x10u
#define F_ONETIME 0x20u
#define F_ALL 0x3Fu

#define FIXED_BODY_BYTES (1u + 2u * PL_PUBKEY_BYTES + 32u + 4u + 4u + 3u * 32u + 36u + 36u + 4u)
#define SKIPPED_ENTRY_BYTES (32u + 4u + 32u)

static size_t body_size(const pl_session *s)
{
    return FIXED_BODY_BYTES + 1u + 32u * s->retired_count + 4u +
           (size_t)SKIPPED_ENTRY_BYTES * s->skipped.count;
}

size_t pl_session_saved_size(const pl_session *session)
{
    return PL__BLOB_OVERHEAD + body_size(session);
}

int pl_session_save(const pl_session *s, uint8_t *out, size_t cap, size_t *out_len)
{
    pl__writer w = pl__writer_init(out, cap);
    uint8_t flags = 0;

    *out_len = 0;
    if (cap < pl_session_saved_size(s))
        return PL_E_BUFFER_TOO_SMALL;
    flags |= s->is_initiator ? F_INITIATOR : 0;
    flags |= s->pending_prekey ? F_PENDING : 0;
    flags |= s->has_remote_ratchet_key ? F_HAS_DHR : 0;
    flags |= s->send.active ? F_SEND : 0;
    flags |= s->recv.active ? F_RECV : 0;
    flags |= s->has_onetime_prekey ? F_ONETIME : 0;

    pl__blob_begin(&w, PL__BLOB_SESSION, (uint32_t)body_size(s));
    pl__put_u8(&w, flags);
    pl__put_bytes(&w, s->local_identity, PL_PUBKEY_BYTES);
    pl__put_bytes(&w, s->remote_identity, PL_PUBKEY_BYTES);
    pl__put_bytes(&w, s->base_key, 32);
    pl__put_u32(&w, s->signed_prekey_id);
    pl__put_u32(&w, s->onetime_prekey_id);
    pl__put_bytes(&w, s->root_key, 32);
    pl__put_bytes(&w, s->ratchet_sk, 32);
    pl__put_bytes(&w, s->remote_ratchet_key, 32);
    pl__put_bytes(&w, s->send.key, 32);
    pl__put_u32(&w, s->send.n);
    pl__put_bytes(&w, s->recv.key, 32);
    pl__put_u32(&w, s->recv.n);
    pl__put_u32(&w, s->previous_send_count);
    pl__put_u8(&w, (uint8_t)s->retired_count);
    for (uint32_t i = 0; i < s->retired_count; i++)
        pl__put_bytes(&w, s->retired_keys[i], 32);
    pl__put_u32(&w, s->skipped.count);
    for (uint32_t i = 0; i < s->skipped.count; i++) {
        const pl__skipped_key *e = &s->skipped.entries[i];
        pl__put_bytes(&w, e->ratchet_key, 32);
        pl__put_u32(&w, e->n);
        pl__put_bytes(&w, e->message_key, 32);
    }
    pl__blob_end(&w);
    if (w.err)
        return w.err;
    *out_len = w.off;
    return PL_OK;
}

static int is_zero(const uint8_t *p, size_t n)
{
    return sodium_is_zero(p, n);
}

/* Checks the invariants of session_internal.h and canonical encoding. */
static int check_loaded(const pl_session *s, uint8_t flags)
{
    int r;

    if (flags & ~F_ALL)
        return PL_E_MALFORMED;
    if ((r = pl__ed25519_key_decode(s->local_identity, NULL)) != PL_OK ||
        (r = pl__ed25519_key_decode(s->remote_identity, NULL)) != PL_OK)
        return r;
    if (!pl__x25519_is_canonical(s->base_key) || !pl__x25519_is_canonical(s->remote_ratchet_key))
        return PL_E_MALFORMED;
    if (s->send.active && !s->has_remote_ratchet_key)
        return PL_E_MALFORMED;
    if (!s->send.active) /* every session can send once it exists */
        return PL_E_MALFORMED;
    if (s->pending_prekey && !s->is_initiator)
        return PL_E_MALFORMED;
    if (!s->has_onetime_prekey && s->onetime_prekey_id != 0)
        return PL_E_MALFORMED;
    if (!s->has_remote_ratchet_key && !is_zero(s->remote_ratchet_key, 32))
        return PL_E_MALFORMED;
    if (!s->send.active && (s->send.n != 0 || !is_zero(s->send.key, 32)))
        return PL_E_MALFORMED;
    if (!s->recv.active && (s->recv.n != 0 || !is_zero(s->recv.key, 32)))
        return PL_E_MALFORMED;
    return PL_OK;
}

int pl_session_load(pl_session **out, const uint8_t *in, size_t len)
{
    pl__reader body;
    pl_session *s = NULL;
    uint8_t version, flags;
    uint32_t count;
    int r;

    *out = NULL;
    if ((r = pl__blob_open(in, len, PL__BLOB_SESSION, &body, &version)) != PL_OK)
        return r;
    r = PL_E_NOMEM;
    if (!(s = pl__session_alloc()))
        goto out;

    flags = pl__get_u8(&body);
    s->is_initiator = (flags & F_INITIATOR) != 0;
    s->pending_prekey = (flags & F_PENDING) != 0;
    s->has_remote_ratchet_key = (flags & F_HAS_DHR) != 0;
    s->send.active = (flags & F_SEND) != 0;
    s->recv.active = (flags & F_RECV) != 0;
    s->has_onetime_prekey = (flags & F_ONETIME) != 0;
    pl__get_copy(&body, s->local_identity, PL_PUBKEY_BYTES);
    pl__get_copy(&body, s->remote_identity, PL_PUBKEY_BYTES);
    pl__get_copy(&body, s->base_key, 32);
    s->signed_prekey_id = pl__get_u32(&body);
    s->onetime_prekey_id = pl__get_u32(&body);
    pl__get_copy(&body, s->root_key, 32);
    pl__get_copy(&body, s->ratchet_sk, 32);
    pl__get_copy(&body, s->remote_ratchet_key, 32);
    pl__get_copy(&body, s->send.key, 32);
    s->send.n = pl__get_u32(&body);
    pl__get_copy(&body, s->recv.key, 32);
    s->recv.n = pl__get_u32(&body);
    s->previous_send_count = pl__get_u32(&body);

    s->retired_count = pl__get_u8(&body);
    r = PL_E_MALFORMED;
    if (s->retired_count > PL__RETIRED_KEYS)
        goto out;
    for (uint32_t i = 0; i < s->retired_count; i++)
        pl__get_copy(&body, s->retired_keys[i], 32);

    count = pl__get_u32(&body);
    if (body.err || count > PL_RATCHET_MAX_SKIPPED_KEYS ||
        pl__reader_left(&body) != (size_t)count * SKIPPED_ENTRY_BYTES)
        goto out;
    if (count && (r = pl__skipped_reserve(&s->skipped, count)) != PL_OK)
        goto out;
    for (uint32_t i = 0; i < count; i++) {
        pl__skipped_key *e = &s->skipped.entries[i];
        pl__get_copy(&body, e->ratchet_key, 32);
        e->n = pl__get_u32(&body);
        pl__get_copy(&body, e->message_key, 32);
    }
    s->skipped.count = count;
    if ((r = pl__reader_finish(&body)) != PL_OK) {
        r = PL_E_MALFORMED;
        goto out;
    }
    if ((r = check_loaded(s, flags)) != PL_OK)
        goto out;
    crypto_scalarmult_base(s->ratchet_pk, s->ratchet_sk);
    pl__session_set_ad(s);
    *out = s;
    s = NULL;
    r = PL_OK;
out:
    pl_session_free(s);
    return r;
}
