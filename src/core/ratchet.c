/*
 * ratchet.c: Signal's Double Ratchet (PROTOCOL.md §6), with the names of its specification.
 *
 *   KDF_RK(rk, dh_out) = HKDF(salt = rk, IKM = dh_out, info = "parley/ratchet-root/v1", 64)
 *                        -> (rk', ck)
 *   KDF_CK(ck)         -> mk = HMAC(ck, 0x01), ck' = HMAC(ck, 0x02)
 *   message keys       = HKDF(salt = 32 zero bytes, IKM = mk,
 *                             info = "parley/message-keys/v1", 44) -> key (32) || nonce (12)
 *   ENCRYPT            = ChaCha20-Poly1305 (RFC 8439) with AD = X3DH AD || header
 *
 * Ratchet message: version u8 (1) | kind u8 (1) | DHs (33, X25519) | PN u32 | N u32
 *                  | ciphertext || tag (16)
 *
 * Decryption works on local copies and commits only after the AEAD tag verified, so a
 * forged, replayed or corrupted message changes nothing.
 */
#include <string.h>

#include <sodium.h>

#include "kdf.h"
#include "keys_internal.h"
#include "session_internal.h"

#define AD_MAX (PL__AD_BYTES + PL_RATCHET_HEADER_BYTES)

static void kdf_rk(uint8_t rk_out[32], uint8_t ck_out[32], const uint8_t rk[32],
                   const uint8_t dh_out[32])
{
    static const char info[] = PL__LABEL_ROOT;
    uint8_t okm[64];

    (void)pl__hkdf_sha256(okm, sizeof okm, rk, 32, dh_out, 32, (const uint8_t *)info,
                          sizeof info - 1);
    memcpy(rk_out, okm, 32);
    memcpy(ck_out, okm + 32, 32);
    sodium_memzero(okm, sizeof okm);
}

static void kdf_ck(uint8_t ck_out[32], uint8_t mk[32], const uint8_t ck[32])
{
    /* mk = HMAC(ck, 0x01), ck' = HMAC(ck, 0x02); ck is read once, before either is written. */
    pl__hmac_sha256_pair(mk, ck_out, ck, 0x01, 0x02);
}

/* Opens or seals one message under message key mk. */
static int message_aead(int seal, const uint8_t mk[32], const uint8_t *ad, size_t ad_len,
                        const uint8_t *in, size_t in_len, uint8_t *out)
{
    static const char info[] = PL__LABEL_MESSAGE_KEYS;
    uint8_t okm[32 + crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    int r = PL_OK;

    (void)pl__hkdf_sha256(okm, sizeof okm, NULL, 0, mk, 32, (const uint8_t *)info, sizeof info - 1);
    if (seal) {
        crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, in_len, ad, ad_len, NULL, okm + 32,
                                                  okm);
    } else if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, in_len, ad, ad_len,
                                                         okm + 32, okm) != 0) {
        r = PL_E_DECRYPT;
    }
    sodium_memzero(okm, sizeof okm);
    return r;
}

static size_t build_ad(uint8_t ad[AD_MAX], const pl_session *s, const uint8_t *header)
{
    memcpy(ad, s->ad, PL__AD_BYTES);
    memcpy(ad + PL__AD_BYTES, header, PL_RATCHET_HEADER_BYTES);
    return AD_MAX;
}

int pl__ratchet_init_initiator(pl_session *s, const pl_rng *rng, const uint8_t sk[32],
                               const uint8_t remote_signed_prekey[32])
{
    uint8_t dh_out[32];
    int r;

    /* RatchetInitAlice: DHs = GENERATE_DH(); DHr = SPK_B; RK, CKs = KDF_RK(SK, DH(DHs, DHr)) */
    pl__x25519_generate(rng, s->ratchet_sk, s->ratchet_pk);
    memcpy(s->remote_ratchet_key, remote_signed_prekey, 32);
    s->has_remote_ratchet_key = 1;
    if ((r = pl__x25519(dh_out, s->ratchet_sk, s->remote_ratchet_key)) != PL_OK)
        return r;
    kdf_rk(s->root_key, s->send.key, sk, dh_out);
    s->send.n = 0;
    s->send.active = 1;
    s->recv.active = 0;
    s->previous_send_count = 0;
    sodium_memzero(dh_out, sizeof dh_out);
    return PL_OK;
}

void pl__ratchet_init_responder(pl_session *s, const uint8_t sk[32], const pl_signed_prekey *spk)
{
    /* RatchetInitBob: DHs = SPK_B; RK = SK; no chains until the first message arrives. */
    memcpy(s->ratchet_sk, spk->sk, 32);
    memcpy(s->ratchet_pk, spk->pk, 32);
    memcpy(s->root_key, sk, 32);
    s->has_remote_ratchet_key = 0;
    s->send.active = 0;
    s->recv.active = 0;
    s->previous_send_count = 0;
}

int pl__ratchet_encrypt(pl_session *s, const uint8_t *pt, size_t pt_len, pl__writer *w)
{
    uint8_t ad[AD_MAX], mk[32], next_ck[32], key[PL_PUBKEY_BYTES];
    uint8_t *header, *ct;
    pl__writer hw;

    if (!s->send.active)
        sodium_misuse(); /* impossible by the session invariants */
    if (s->send.n == UINT32_MAX)
        return PL_E_TOO_LARGE;
    header = pl__put_space(w, PL_RATCHET_HEADER_BYTES);
    ct = pl__put_space(w, pt_len + PL_AEAD_TAG_BYTES);
    if (w->err)
        return w->err;

    /* header = HEADER(DHs, PN, Ns) */
    hw = pl__writer_init(header, PL_RATCHET_HEADER_BYTES);
    pl__key_encode(key, PL_KEY_TYPE_X25519, s->ratchet_pk);
    pl__put_u8(&hw, PL__MESSAGE_VERSION);
    pl__put_u8(&hw, PL_MSG_RATCHET);
    pl__put_bytes(&hw, key, sizeof key);
    pl__put_u32(&hw, s->previous_send_count);
    pl__put_u32(&hw, s->send.n);

    /* CKs, mk = KDF_CK(CKs); Ns += 1; ENCRYPT(mk, plaintext, CONCAT(AD, header)) */
    kdf_ck(next_ck, mk, s->send.key);
    (void)message_aead(1, mk, ad, build_ad(ad, s, header), pt, pt_len, ct);
    memcpy(s->send.key, next_ck, 32);
    s->send.n++;

    sodium_memzero(mk, sizeof mk);
    sodium_memzero(next_ck, sizeof next_ck);
    return PL_OK;
}

static int is_retired(const pl_session *s, const uint8_t key[32])
{
    for (uint32_t i = 0; i < s->retired_count; i++)
        if (sodium_memcmp(s->retired_keys[i], key, 32) == 0)
            return 1;
    return 0;
}

static void retire_key(pl_session *s, const uint8_t key[32])
{
    if (s->retired_count == PL__RETIRED_KEYS) {
        memmove(s->retired_keys[0], s->retired_keys[1], (PL__RETIRED_KEYS - 1) * 32);
        s->retired_count--;
    }
    memcpy(s->retired_keys[s->retired_count++], key, 32);
}

/* Derives keys for messages chain->n .. until-1 of the chain of ratchet_key into
 * skipped[*count ..], advancing chain. The caller checked the bound. */
static void skip_keys(pl__chain *chain, uint32_t until, const uint8_t ratchet_key[32],
                      pl__skipped_key *skipped, uint32_t *count)
{
    while (chain->n < until) {
        pl__skipped_key *e = &skipped[(*count)++];
        memcpy(e->ratchet_key, ratchet_key, 32);
        e->n = chain->n;
        kdf_ck(chain->key, e->message_key, chain->key);
        chain->n++;
    }
}

int pl__ratchet_decrypt(pl_session *s, const pl_rng *rng, const uint8_t *msg, size_t len,
                        uint8_t *pt, size_t pt_cap, size_t *pt_len)
{
    pl__reader rd = pl__reader_init(msg, len);
    uint8_t ad[AD_MAX], mk[32], dh_out[32], root[32], send_ck[32];
    uint8_t new_sk[32], new_pk[32];
    const uint8_t *header = msg, *dh, *ct;
    pl__skipped_key *skipped = NULL;
    uint32_t pn, n, nskipped = 0, need = 0;
    pl__chain recv;
    size_t ct_len;
    long idx;
    int step, r;

    *pt_len = 0;
    /* Cheap structural checks before any cryptography. */
    if (len < PL_RATCHET_HEADER_BYTES + PL_AEAD_TAG_BYTES)
        return PL_E_TRUNCATED;
    if (pl__get_u8(&rd) != PL__MESSAGE_VERSION)
        return PL_E_VERSION;
    if (pl__get_u8(&rd) != PL_MSG_RATCHET)
        return PL_E_MALFORMED;
    if (pl__get_u8(&rd) != PL_KEY_TYPE_X25519)
        return PL_E_KEY_TYPE;
    dh = pl__get_bytes(&rd, 32);
    if (!pl__x25519_is_canonical(dh))
        return PL_E_BAD_KEY;
    pn = pl__get_u32(&rd);
    n = pl__get_u32(&rd);
    ct = msg + PL_RATCHET_HEADER_BYTES;
    ct_len = len - PL_RATCHET_HEADER_BYTES;
    if (ct_len - PL_AEAD_TAG_BYTES > PL_MAX_PLAINTEXT_BYTES)
        return PL_E_TOO_LARGE;
    if (pt_cap < ct_len - PL_AEAD_TAG_BYTES)
        return PL_E_BUFFER_TOO_SMALL;
    build_ad(ad, s, header);

    /* TrySkippedMessageKeys */
    if (s->skipped.count && (idx = pl__skipped_find(&s->skipped, dh, n)) >= 0) {
        r = message_aead(0, s->skipped.entries[idx].message_key, ad, sizeof ad, ct, ct_len, pt);
        if (r != PL_OK)
            goto fail;
        pl__skipped_remove(&s->skipped, (uint32_t)idx);
        goto done;
    }

    /* Work on copies from here on; the session changes only after the tag verified. */
    memcpy(root, s->root_key, 32);
    recv = s->recv;
    step = !s->has_remote_ratchet_key || sodium_memcmp(dh, s->remote_ratchet_key, 32) != 0;
    /* The initiator's DHr starts as the peer's signed prekey, with no receiving chain. */
    r = PL_E_DECRYPT;
    if (!step && !recv.active)
        goto out;
    r = PL_E_REPLAY;
    if (step && is_retired(s, dh))
        goto out;
    if (!step && n < recv.n)
        goto out;

    /* Bound the work before doing it: at most MAX_SKIP keys per chain. */
    r = PL_E_TOO_MANY_SKIPPED;
    if (step && recv.active && pn > recv.n) {
        if (pn - recv.n > PL_RATCHET_MAX_SKIP)
            goto out;
        need += pn - recv.n;
    }
    if (n - (step ? 0 : recv.n) > PL_RATCHET_MAX_SKIP)
        goto out;
    need += n - (step ? 0 : recv.n);
    if (need) {
        r = PL_E_NOMEM;
        if (!(skipped = pl__secure_alloc((size_t)need * sizeof *skipped)))
            goto out;
        if ((r = pl__skipped_reserve(&s->skipped, need)) != PL_OK)
            goto out;
    }

    if (step) {
        /* SkipMessageKeys(state, header.pn) on the old receiving chain */
        if (recv.active)
            skip_keys(&recv, pn, s->remote_ratchet_key, skipped, &nskipped);
        /* DHRatchet, receiving half: RK, CKr = KDF_RK(RK, DH(DHs, header.dh)) */
        if (pl__x25519(dh_out, s->ratchet_sk, dh) != PL_OK) {
            r = PL_E_DECRYPT;
            goto fail;
        }
        kdf_rk(root, recv.key, root, dh_out);
        recv.n = 0;
        recv.active = 1;
    }
    /* SkipMessageKeys(state, header.n); CKr, mk = KDF_CK(CKr); Nr += 1 */
    skip_keys(&recv, n, dh, skipped, &nskipped);
    kdf_ck(recv.key, mk, recv.key);
    recv.n++;
    if ((r = message_aead(0, mk, ad, sizeof ad, ct, ct_len, pt)) != PL_OK)
        goto fail;

    /* Authentic: commit. */
    if (step) {
        /* DHRatchet, sending half: DHs = GENERATE_DH(); RK, CKs = KDF_RK(RK, DH(DHs, DHr)).
         * Cannot fail: dh already gave a non-zero output above. */
        pl__x25519_generate(rng, new_sk, new_pk);
        if (pl__x25519(dh_out, new_sk, dh) != PL_OK)
            sodium_misuse();
        kdf_rk(root, send_ck, root, dh_out);
        if (s->has_remote_ratchet_key)
            retire_key(s, s->remote_ratchet_key);
        s->previous_send_count = s->send.active ? s->send.n : 0;
        memcpy(s->send.key, send_ck, 32);
        s->send.n = 0;
        s->send.active = 1;
        memcpy(s->ratchet_sk, new_sk, 32);
        memcpy(s->ratchet_pk, new_pk, 32);
        memcpy(s->remote_ratchet_key, dh, 32);
        s->has_remote_ratchet_key = 1;
    }
    memcpy(s->root_key, root, 32);
    s->recv = recv;
    if (nskipped)
        pl__skipped_append(&s->skipped, skipped, nskipped);

done:
    /* A reply proves the peer has the session: stop resending the X3DH data. */
    s->pending_prekey = 0;
    *pt_len = ct_len - PL_AEAD_TAG_BYTES;
    r = PL_OK;
    goto out;
fail:
    sodium_memzero(pt, ct_len - PL_AEAD_TAG_BYTES);
out:
    pl__secure_free(skipped);
    sodium_memzero(mk, sizeof mk);
    sodium_memzero(dh_out, sizeof dh_out);
    sodium_memzero(root, sizeof root);
    sodium_memzero(send_ck, sizeof send_ck);
    sodium_memzero(new_sk, sizeof new_sk);
    sodium_memzero(&recv, sizeof recv);
    return r;
}
