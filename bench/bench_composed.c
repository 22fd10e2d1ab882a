/*
 * bench_composed.c: the floor under Parley, its libsodium calls composed bare.
 *
 * This is the work PROTOCOL.md's X3DH and Double Ratchet ask for, written as the raw
 * libsodium calls libparley makes and nothing else: no encoding or parsing, no allocation,
 * no wiping, no state machine, no skipped-key store, no checks beyond the ones that make
 * the cryptography itself refuse (signatures, AEAD tags). It is a working protocol, so
 * every decrypt really authenticates, and the per-message and set-up batches of main.c
 * time it exactly where they time libparley. Parley's cost over this is its overhead.
 *
 * The labels and message lengths below mirror libparley's (src/core/x3dh.c, ratchet.c,
 * keys_common.c);
 * only their lengths matter to the cost, and they decide how many SHA-256 blocks an HMAC
 * takes, so keep them in step if the protocol's labels change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "parley/defs.h"
#include "parley/session.h"

#include "bench.h"

#define KEY 32u
#define HDR PL_RATCHET_HEADER_BYTES
#define AD_IDS (2u * PL_PUBKEY_BYTES)
#define NONCE crypto_aead_chacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_chacha20poly1305_ietf_ABYTES
/* Signed messages are a domain-separation label followed by the body (PROTOCOL.md §3). */
#define SIG_LABEL_BYTES (sizeof "parley/device-record/v1" - 1)
#define RECORD_SIGNED_BYTES (SIG_LABEL_BYTES + PL_DEVICE_RECORD_BODY_BYTES)
/* Signed prekey: label, id, encoded key, creation time. */
#define SPK_SIGNED_BYTES (SIG_LABEL_BYTES + 4u + PL_PUBKEY_BYTES + 8u)
/* Offset of the ratchet key's 32 raw bytes in the header: version, kind, type byte. */
#define HDR_DH_OFFSET 3u
#define HDR_N_OFFSET (HDR_DH_OFFSET + KEY + 4u)

static const uint8_t x3dh_info[] = "parley/x3dh/v1";
static const uint8_t rk_info[] = "parley/ratchet-root/v1";
static const uint8_t mk_info[] = "parley/message-keys/v1";

/* ---- HMAC and HKDF on libsodium's HMAC-SHA256, as RFC 5869 states them ----------------- */

static void hkdf_extract(uint8_t prk[KEY], const uint8_t salt[KEY], const uint8_t *ikm,
                         size_t ikm_len)
{
    static const uint8_t zero[KEY];
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, salt ? salt : zero, KEY);
    crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
    crypto_auth_hmacsha256_final(&st, prk);
}

/* out_len <= 3 * 32 here. */
static void hkdf_expand(uint8_t *out, size_t out_len, const uint8_t prk[KEY], const uint8_t *info,
                        size_t info_len)
{
    crypto_auth_hmacsha256_state st;
    uint8_t t[KEY];
    uint8_t counter = 0;
    size_t done = 0;

    while (done < out_len) {
        size_t take = out_len - done < KEY ? out_len - done : KEY;

        counter++;
        crypto_auth_hmacsha256_init(&st, prk, KEY);
        if (counter > 1)
            crypto_auth_hmacsha256_update(&st, t, KEY);
        crypto_auth_hmacsha256_update(&st, info, info_len);
        crypto_auth_hmacsha256_update(&st, &counter, 1);
        crypto_auth_hmacsha256_final(&st, t);
        memcpy(out + done, t, take);
        done += take;
    }
}

/* KDF_RK: (root key, chain key) = HKDF(salt = root key, ikm = dh output), 64 bytes. */
static void kdf_rk(uint8_t rk[KEY], uint8_t ck[KEY], const uint8_t dh[KEY])
{
    uint8_t prk[KEY], out[2 * KEY];

    hkdf_extract(prk, rk, dh, KEY);
    hkdf_expand(out, sizeof out, prk, rk_info, sizeof rk_info - 1);
    memcpy(rk, out, KEY);
    memcpy(ck, out + KEY, KEY);
}

/* KDF_CK and the message keys: mk = HMAC(ck, 0x01), ck = HMAC(ck, 0x02), then
 * (key, nonce) = HKDF(salt = none, ikm = mk), 44 bytes. */
static void kdf_ck(uint8_t ck[KEY], uint8_t key_nonce[KEY + NONCE])
{
    static const uint8_t one = 0x01, two = 0x02;
    uint8_t mk[KEY], prk[KEY];

    crypto_auth_hmacsha256(mk, &one, 1, ck);
    crypto_auth_hmacsha256(ck, &two, 1, ck);
    hkdf_extract(prk, NULL, mk, KEY);
    hkdf_expand(key_nonce, KEY + NONCE, prk, mk_info, sizeof mk_info - 1);
}

static void keygen(uint8_t sk[KEY], uint8_t pk[KEY])
{
    randombytes_buf(sk, KEY);
    crypto_scalarmult_base(pk, sk);
}

/* ---- One side of a Double Ratchet --------------------------------------------------------- */

typedef struct party {
    uint8_t rk[KEY], cks[KEY], ckr[KEY];
    uint8_t dh_sk[KEY], dh_pk[KEY];
    uint8_t remote[KEY];
    uint8_t ad[AD_IDS + HDR]; /* both identity keys, then this message's header */
    uint32_t ns, nr;
} party;

/* RatchetEncrypt: msg = header || ciphertext || tag. */
static void party_encrypt(party *p, const uint8_t *pt, size_t len, uint8_t *msg)
{
    uint8_t kn[KEY + NONCE];
    uint8_t *hdr = p->ad + AD_IDS;

    kdf_ck(p->cks, kn);
    memcpy(hdr + HDR_DH_OFFSET, p->dh_pk, KEY);
    memcpy(hdr + HDR_N_OFFSET, &p->ns, 4);
    p->ns++;
    memcpy(msg, hdr, HDR);
    crypto_aead_chacha20poly1305_ietf_encrypt(msg + HDR, NULL, pt, len, p->ad, sizeof p->ad, NULL,
                                              kn + KEY, kn);
}

/* DHRatchet: a new receiving chain from the peer's new key, then a new key pair and a new
 * sending chain. */
static void party_dh_step(party *p, const uint8_t remote[KEY])
{
    uint8_t dh[KEY];

    memcpy(p->remote, remote, KEY);
    if (crypto_scalarmult(dh, p->dh_sk, p->remote) != 0)
        abort();
    kdf_rk(p->rk, p->ckr, dh);
    keygen(p->dh_sk, p->dh_pk);
    if (crypto_scalarmult(dh, p->dh_sk, p->remote) != 0)
        abort();
    kdf_rk(p->rk, p->cks, dh);
    p->ns = p->nr = 0;
}

/* RatchetDecrypt, in order: a DH step when the header carries a new key. */
static int party_decrypt(party *p, const uint8_t *msg, size_t msg_len, uint8_t *pt)
{
    uint8_t kn[KEY + NONCE];

    if (memcmp(msg + HDR_DH_OFFSET, p->remote, KEY) != 0)
        party_dh_step(p, msg + HDR_DH_OFFSET);
    kdf_ck(p->ckr, kn);
    p->nr++;
    memcpy(p->ad + AD_IDS, msg, HDR);
    return crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, msg + HDR, msg_len - HDR,
                                                     p->ad, sizeof p->ad, kn + KEY, kn);
}

/* ---- Identities, prekeys and X3DH --------------------------------------------------------- */

typedef struct device {
    uint8_t ik_pk[KEY], ik_sk[64]; /* Ed25519 */
    uint8_t ik_x_sk[KEY];          /* its X25519 secret, converted once at creation */
    uint8_t ik_enc[PL_PUBKEY_BYTES];
} device;

typedef struct composed {
    uint8_t acct_pk[KEY], acct_sk[64];
    device a, b;
    uint8_t record[RECORD_SIGNED_BYTES], record_sig[PL_SIGNATURE_BYTES];
    uint8_t spk_sk[KEY], spk_pk[KEY];
    uint8_t spk_signed[SPK_SIGNED_BYTES], spk_sig[PL_SIGNATURE_BYTES];
    uint8_t opk_sk[KEY], opk_pk[KEY];
    /* The first message A sends B: A's identity key, its ephemeral key, a ratchet message. */
    uint8_t first_ek[KEY];
    uint8_t first_msg[HDR + 100 + TAG];
    party chain_a, chain_b, ratchet_a, ratchet_b;
    uint8_t *msgs; /* BENCH_MAX_BATCH slots of slot bytes */
    size_t slot;
} composed;

static void device_make(device *d)
{
    crypto_sign_keypair(d->ik_pk, d->ik_sk);
    if (crypto_sign_ed25519_sk_to_curve25519(d->ik_x_sk, d->ik_sk) != 0)
        abort();
    d->ik_enc[0] = PL_KEY_TYPE_ED25519;
    memcpy(d->ik_enc + 1, d->ik_pk, KEY);
}

static void party_ad_init(party *p, const composed *c)
{
    memset(p->ad, 0, sizeof p->ad);
    memcpy(p->ad, c->a.ik_enc, PL_PUBKEY_BYTES);
    memcpy(p->ad + PL_PUBKEY_BYTES, c->b.ik_enc, PL_PUBKEY_BYTES);
    p->ad[AD_IDS] = 1;                      /* version */
    p->ad[AD_IDS + 1] = PL_MSG_RATCHET;     /* kind */
    p->ad[AD_IDS + 2] = PL_KEY_TYPE_X25519; /* ratchet key's type byte */
}

/*
 * Initiator: verify the device record and the signed prekey, convert the peer's identity
 * key, make the ephemeral key, DH1..DH4, SK = HKDF(0xFF*32 || DH1..DH4); then
 * RatchetInitAlice: a ratchet key pair, one DH with the signed prekey, KDF_RK.
 */
static int x3dh_initiate(const composed *c, party *a, uint8_t ek_pk[KEY])
{
    uint8_t peer_ik_x[KEY], ek_sk[KEY], ikm[KEY + 4 * KEY], prk[KEY], dh[KEY];

    if (crypto_sign_verify_detached(c->record_sig, c->record, sizeof c->record, c->acct_pk) != 0)
        return -1;
    if (crypto_sign_verify_detached(c->spk_sig, c->spk_signed, sizeof c->spk_signed, c->b.ik_pk) !=
        0)
        return -1;
    if (crypto_sign_ed25519_pk_to_curve25519(peer_ik_x, c->b.ik_pk) != 0)
        return -1;
    keygen(ek_sk, ek_pk);
    memset(ikm, 0xFF, KEY);
    if (crypto_scalarmult(ikm + KEY, c->a.ik_x_sk, c->spk_pk) != 0 || /* DH1 */
        crypto_scalarmult(ikm + 2 * KEY, ek_sk, peer_ik_x) != 0 ||    /* DH2 */
        crypto_scalarmult(ikm + 3 * KEY, ek_sk, c->spk_pk) != 0 ||    /* DH3 */
        crypto_scalarmult(ikm + 4 * KEY, ek_sk, c->opk_pk) != 0)      /* DH4 */
        return -1;
    hkdf_extract(prk, NULL, ikm, sizeof ikm);
    hkdf_expand(a->rk, KEY, prk, x3dh_info, sizeof x3dh_info - 1);

    keygen(a->dh_sk, a->dh_pk);
    memcpy(a->remote, c->spk_pk, KEY);
    if (crypto_scalarmult(dh, a->dh_sk, a->remote) != 0)
        return -1;
    kdf_rk(a->rk, a->cks, dh);
    a->ns = a->nr = 0;
    return 0;
}

/*
 * Responder, as pl_session_accept: convert the initiator's identity key, DH1..DH4, the same
 * HKDF, RatchetInitBob (the signed prekey is the first ratchet key), then decrypt the first
 * message, which takes a DH ratchet step.
 */
static int x3dh_accept(const composed *c, party *b, const uint8_t ek_pk[KEY], const uint8_t *msg,
                       size_t msg_len, uint8_t *pt)
{
    uint8_t peer_ik_x[KEY], ikm[KEY + 4 * KEY], prk[KEY];

    if (crypto_sign_ed25519_pk_to_curve25519(peer_ik_x, c->a.ik_pk) != 0)
        return -1;
    memset(ikm, 0xFF, KEY);
    if (crypto_scalarmult(ikm + KEY, c->spk_sk, peer_ik_x) != 0 ||    /* DH1 */
        crypto_scalarmult(ikm + 2 * KEY, c->b.ik_x_sk, ek_pk) != 0 || /* DH2 */
        crypto_scalarmult(ikm + 3 * KEY, c->spk_sk, ek_pk) != 0 ||    /* DH3 */
        crypto_scalarmult(ikm + 4 * KEY, c->opk_sk, ek_pk) != 0)      /* DH4 */
        return -1;
    hkdf_extract(prk, NULL, ikm, sizeof ikm);
    hkdf_expand(b->rk, KEY, prk, x3dh_info, sizeof x3dh_info - 1);

    memcpy(b->dh_sk, c->spk_sk, KEY);
    memcpy(b->dh_pk, c->spk_pk, KEY);
    memset(b->remote, 0, KEY);
    return party_decrypt(b, msg, msg_len, pt);
}

/* Sets up a pair and runs one round trip, so that both sides hold sending chains. */
static int pair_make(composed *c, party *a, party *b)
{
    uint8_t ek[KEY], pt[100], msg[HDR + sizeof pt + TAG];

    party_ad_init(a, c);
    party_ad_init(b, c);
    if (x3dh_initiate(c, a, ek) != 0)
        return -1;
    bench_fill_plaintext(pt, sizeof pt, 0);
    party_encrypt(a, pt, sizeof pt, msg);
    if (x3dh_accept(c, b, ek, msg, sizeof msg, pt) != 0 || bench_check_plaintext(pt, sizeof pt, 0))
        return -1;
    party_encrypt(b, pt, sizeof pt, msg);
    if (party_decrypt(a, msg, sizeof msg, pt) != 0 || bench_check_plaintext(pt, sizeof pt, 0))
        return -1;
    return 0;
}

static void composed_close(void *state)
{
    composed *c = state;

    if (c == NULL)
        return;
    free(c->msgs);
    sodium_free(c);
}

static void *composed_open(void)
{
    composed *c = sodium_malloc(sizeof *c);
    uint8_t pt[100];
    party a;

    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof *c);
    crypto_sign_keypair(c->acct_pk, c->acct_sk);
    device_make(&c->a);
    device_make(&c->b);
    randombytes_buf(c->record, sizeof c->record);
    crypto_sign_detached(c->record_sig, NULL, c->record, sizeof c->record, c->acct_sk);
    keygen(c->spk_sk, c->spk_pk);
    randombytes_buf(c->spk_signed, sizeof c->spk_signed);
    crypto_sign_detached(c->spk_sig, NULL, c->spk_signed, sizeof c->spk_signed, c->b.ik_sk);
    keygen(c->opk_sk, c->opk_pk);

    party_ad_init(&a, c);
    bench_fill_plaintext(pt, sizeof pt, 0);
    if (x3dh_initiate(c, &a, c->first_ek) != 0)
        goto fail;
    party_encrypt(&a, pt, sizeof pt, c->first_msg);

    if (pair_make(c, &c->chain_a, &c->chain_b) != 0 ||
        pair_make(c, &c->ratchet_a, &c->ratchet_b) != 0)
        goto fail;
    c->slot = HDR + BENCH_MAX_MSG + TAG;
    c->msgs = malloc(BENCH_MAX_BATCH * c->slot);
    if (c->msgs == NULL)
        goto fail;
    return c;
fail:
    fprintf(stderr, "composed: set-up failed\n");
    composed_close(c);
    return NULL;
}

static int composed_setup_initiator(void *state, unsigned n, uint64_t *ns)
{
    const composed *c = state;
    party a;
    uint8_t ek[KEY];
    uint64_t t0 = bench_now();

    for (unsigned i = 0; i < n; i++) {
        if (x3dh_initiate(c, &a, ek) != 0) {
            fprintf(stderr, "composed: initiate failed\n");
            return -1;
        }
    }
    *ns += bench_now() - t0;
    return 0;
}

static int composed_setup_responder(void *state, unsigned n, uint64_t *ns)
{
    const composed *c = state;
    party b;
    uint8_t pt[100];
    uint64_t t0;

    party_ad_init(&b, c);
    t0 = bench_now();
    for (unsigned i = 0; i < n; i++) {
        if (x3dh_accept(c, &b, c->first_ek, c->first_msg, sizeof c->first_msg, pt) != 0) {
            fprintf(stderr, "composed: accept failed\n");
            return -1;
        }
    }
    *ns += bench_now() - t0;
    return bench_check_plaintext(pt, sizeof pt, 0);
}

static int composed_chain(void *state, size_t len, unsigned n, uint64_t *enc_ns, uint64_t *dec_ns)
{
    composed *c = state;
    uint8_t pt[BENCH_MAX_MSG];
    size_t msg_len = HDR + len + TAG;
    uint64_t t0;
    int bad = 0;

    bench_fill_plaintext(pt, len, 0);
    t0 = bench_now();
    for (unsigned i = 0; i < n; i++)
        party_encrypt(&c->chain_a, pt, len, c->msgs + i * c->slot);
    *enc_ns += bench_now() - t0;

    t0 = bench_now();
    for (unsigned i = 0; i < n; i++)
        bad |= party_decrypt(&c->chain_b, c->msgs + i * c->slot, msg_len, pt);
    *dec_ns += bench_now() - t0;
    if (bad || bench_check_plaintext(pt, len, 0)) {
        fprintf(stderr, "composed: chain decrypt failed\n");
        return -1;
    }
    return 0;
}

static int composed_ratchet(void *state, size_t len, unsigned n, uint64_t *enc_ns, uint64_t *dec_ns)
{
    composed *c = state;
    uint8_t pt[BENCH_MAX_MSG], msg[HDR + BENCH_MAX_MSG + TAG];
    size_t msg_len = HDR + len + TAG;

    for (unsigned i = 0; i < n; i++) {
        party *from = i % 2 ? &c->ratchet_b : &c->ratchet_a;
        party *to = i % 2 ? &c->ratchet_a : &c->ratchet_b;
        uint64_t t0, t1, t2;
        int r;

        bench_fill_plaintext(pt, len, i);
        t0 = bench_now();
        party_encrypt(from, pt, len, msg);
        t1 = bench_now();
        r = party_decrypt(to, msg, msg_len, pt);
        t2 = bench_now();
        *enc_ns += t1 - t0;
        *dec_ns += t2 - t1;
        if (r != 0 || bench_check_plaintext(pt, len, i)) {
            fprintf(stderr, "composed: ratchet decrypt failed\n");
            return -1;
        }
    }
    return 0;
}

const bench_impl bench_composed_impl = {
    .name = "composed",
    .open = composed_open,
    .close = composed_close,
    .setup_initiator = composed_setup_initiator,
    .setup_responder = composed_setup_responder,
    .chain = composed_chain,
    .ratchet = composed_ratchet,
};
