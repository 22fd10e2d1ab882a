/*
 * x3dh.c: Signal's X3DH key agreement (PROTOCOL.md §5) and the prekey-message prefix.
 *
 *   DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)   DH4 = DH(EK_A, OPK_B)
 *   SK  = HKDF(salt = 32 zero bytes, IKM = 0xFF*32 || DH1 || DH2 || DH3 [|| DH4],
 *              info = "parley/x3dh/v1", 32 bytes)
 *
 * Prefix of a PL_MSG_PREKEY message:
 *   version u8 (1) | kind u8 (2) | flags u8 | IK_A (33) | EK_A (33) | SPK id u32
 *   | OPK id u32 (iff flags bit 0) | ratchet message ...
 * flags bit 1 is reserved for a post-quantum KEM ciphertext and rejected in v1.
 */
#include <string.h>

#include <sodium.h>

#include "kdf.h"
#include "keys_internal.h"
#include "session_internal.h"

#define PREKEY_FLAG_ONETIME 0x01u
#define PREKEY_FLAG_KEM 0x02u
#define X3DH_IKM_MAX (32u * 5u)

/* SK = HKDF(F || DH1 || ... ); ikm already holds F and the DH outputs. */
static void x3dh_kdf(uint8_t sk[32], const uint8_t *ikm, size_t ikm_len)
{
    static const uint8_t salt[32];
    static const char info[] = PL__LABEL_X3DH;

    (void)pl__hkdf_sha256(sk, 32, salt, sizeof salt, ikm, ikm_len, (const uint8_t *)info,
                          sizeof info - 1);
}

int pl__x3dh_initiator(uint8_t sk[32], const pl_device *self, const uint8_t ephemeral_sk[32],
                       const pl_bundle *peer)
{
    uint8_t ikm[X3DH_IKM_MAX], peer_ik[32];
    size_t n = 32;
    int r;

    memset(ikm, 0xFF, 32);
    if ((r = pl__ed25519_key_decode(peer->device.identity_key, peer_ik)) != PL_OK)
        goto out;
    /* DH1 */
    if ((r = pl__x25519(ikm + n, self->dh_sk, peer->signed_prekey.key + 1)) != PL_OK)
        goto out;
    n += 32;
    /* DH2 */
    if ((r = pl__x25519(ikm + n, ephemeral_sk, peer_ik)) != PL_OK)
        goto out;
    n += 32;
    /* DH3 */
    if ((r = pl__x25519(ikm + n, ephemeral_sk, peer->signed_prekey.key + 1)) != PL_OK)
        goto out;
    n += 32;
    /* DH4 */
    if (peer->has_onetime_prekey) {
        if ((r = pl__x25519(ikm + n, ephemeral_sk, peer->onetime_prekey + 1)) != PL_OK)
            goto out;
        n += 32;
    }
    x3dh_kdf(sk, ikm, n);
out:
    sodium_memzero(ikm, sizeof ikm);
    return r;
}

int pl__x3dh_responder(uint8_t sk[32], const pl_device *self, const pl_signed_prekey *spk,
                       const pl_onetime_prekey *opk, const uint8_t peer_identity[PL_PUBKEY_BYTES],
                       const uint8_t base_key[32])
{
    uint8_t ikm[X3DH_IKM_MAX], peer_ik[32];
    size_t n = 32;
    int r;

    memset(ikm, 0xFF, 32);
    if ((r = pl__ed25519_key_decode(peer_identity, peer_ik)) != PL_OK)
        goto out;
    /* DH1 */
    if ((r = pl__x25519(ikm + n, spk->sk, peer_ik)) != PL_OK)
        goto out;
    n += 32;
    /* DH2 */
    if ((r = pl__x25519(ikm + n, self->dh_sk, base_key)) != PL_OK)
        goto out;
    n += 32;
    /* DH3 */
    if ((r = pl__x25519(ikm + n, spk->sk, base_key)) != PL_OK)
        goto out;
    n += 32;
    /* DH4 */
    if (opk) {
        if ((r = pl__x25519(ikm + n, opk->sk, base_key)) != PL_OK)
            goto out;
        n += 32;
    }
    x3dh_kdf(sk, ikm, n);
out:
    sodium_memzero(ikm, sizeof ikm);
    return r;
}

size_t pl__prekey_prefix_size(const pl_session *s)
{
    return 3u + 2u * PL_PUBKEY_BYTES + 4u + (s->has_onetime_prekey ? 4u : 0u);
}

void pl__prekey_prefix_write(pl__writer *w, const pl_session *s)
{
    uint8_t base[PL_PUBKEY_BYTES];

    pl__key_encode(base, PL_KEY_TYPE_X25519, s->base_key);
    pl__put_u8(w, PL__MESSAGE_VERSION);
    pl__put_u8(w, PL_MSG_PREKEY);
    pl__put_u8(w, s->has_onetime_prekey ? PREKEY_FLAG_ONETIME : 0);
    pl__put_bytes(w, s->local_identity, PL_PUBKEY_BYTES);
    pl__put_bytes(w, base, PL_PUBKEY_BYTES);
    pl__put_u32(w, s->signed_prekey_id);
    if (s->has_onetime_prekey)
        pl__put_u32(w, s->onetime_prekey_id);
}

int pl__prekey_message_split(const uint8_t *msg, size_t len, pl_prekey_message_info *info,
                             const uint8_t **inner, size_t *inner_len)
{
    pl__reader rd = pl__reader_init(msg, len);
    pl_prekey_message_info got;
    uint8_t version, kind, flags;
    int r;

    memset(info, 0, sizeof *info);
    memset(&got, 0, sizeof got);
    *inner = NULL;
    *inner_len = 0;
    version = pl__get_u8(&rd);
    kind = pl__get_u8(&rd);
    flags = pl__get_u8(&rd);
    if (rd.err)
        return rd.err;
    if (version != PL__MESSAGE_VERSION)
        return PL_E_VERSION;
    if (kind != PL_MSG_PREKEY)
        return PL_E_MALFORMED;
    if (flags & PREKEY_FLAG_KEM)
        return PL_E_UNSUPPORTED;
    if (flags & ~PREKEY_FLAG_ONETIME)
        return PL_E_MALFORMED;
    pl__get_copy(&rd, got.sender_identity_key, PL_PUBKEY_BYTES);
    pl__get_copy(&rd, got.base_key, PL_PUBKEY_BYTES);
    got.signed_prekey_id = pl__get_u32(&rd);
    if (flags & PREKEY_FLAG_ONETIME) {
        got.has_onetime_prekey = 1;
        got.onetime_prekey_id = pl__get_u32(&rd);
    }
    if (rd.err)
        return rd.err;
    if ((r = pl__key_check_type(got.sender_identity_key, PL_KEY_TYPE_ED25519)) != PL_OK)
        return r;
    if ((r = pl__x25519_key_check(got.base_key)) != PL_OK)
        return r;
    /* The embedded ratchet message must at least have a header and a tag. */
    if (pl__reader_left(&rd) < PL_RATCHET_HEADER_BYTES + PL_AEAD_TAG_BYTES)
        return PL_E_TRUNCATED;
    *inner = msg + rd.off;
    *inner_len = len - rd.off;
    *info = got;
    return PL_OK;
}
