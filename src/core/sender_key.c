/*
 * sender_key.c: group sender keys, the sending and receiving chains (PROTOCOL.md §29).
 *
 * Invariants of a receiving chain: `iteration` is the next message it can derive from
 * `chain_key`; every skipped key is for an iteration below it and is kept at most once;
 * there are at most PL_SENDER_KEY_MAX_SKIPPED_KEYS of them. Decryption works on locals and
 * commits only after the signature and the AEAD both passed.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "buf.h"
#include "kdf.h"
#include "keys_internal.h"
#include "parley/error.h"
#include "parley/sender_key.h"
#include "parley/session.h"
#include "skipped_keys.h"

#define LABEL_MESSAGE "parley/group-message/v1"
#define LABEL_KEYS "parley/group-message-keys/v1"
#define AEAD_KEY_BYTES crypto_aead_chacha20poly1305_ietf_KEYBYTES
#define AEAD_NONCE_BYTES crypto_aead_chacha20poly1305_ietf_NPUBBYTES
#define AEAD_TAG_BYTES crypto_aead_chacha20poly1305_ietf_ABYTES

/* The ratchet's skipped-key store is reused; it must hold a whole window. */
_Static_assert(PL_SENDER_KEY_MAX_SKIPPED_KEYS == PL_RATCHET_MAX_SKIPPED_KEYS,
               "skipped-key store bound");
_Static_assert(PL_SENDER_KEY_MAX_SKIP <= PL_RATCHET_MAX_SKIPPED_KEYS, "skip window");
_Static_assert(AEAD_TAG_BYTES == 16, "tag size in PL_GROUP_MESSAGE_OVERHEAD");

#define SENDER_BODY_BYTES (PL_SENDER_KEY_SAVED_BYTES - PL__BLOB_OVERHEAD)
#define RECEIVER_FIXED_BYTES (PL_GROUP_ID_BYTES + 4u + 4u + PL_PUBKEY_BYTES + 4u + 32u + 33u + 4u)
#define SKIPPED_ENTRY_BYTES (4u + 32u)

/* What a sending chain and its receiving copy both hold, in the order both are encoded (the
 * distribution message, the saved blobs). */
typedef struct chain_state {
    uint8_t group_id[PL_GROUP_ID_BYTES];
    uint32_t key_id;
    uint32_t device_id;
    uint8_t identity_key[PL_PUBKEY_BYTES];
    uint32_t iteration;
    uint8_t chain_key[32];
} chain_state;

struct pl_sender_key {
    chain_state chain;
    uint8_t sign_seed[crypto_sign_SEEDBYTES];
    uint8_t sign_pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sign_sk[crypto_sign_SECRETKEYBYTES];
};

struct pl_sender_key_receiver {
    chain_state chain;
    uint8_t sign_pk[crypto_sign_PUBLICKEYBYTES];
    /* Keyed by (sign_pk, iteration); the store's ratchet_key field holds sign_pk. */
    pl__skipped_keys skipped;
};

/* Writes a chain_state in its encoded order (PROTOCOL.md §29.2). */
static void put_chain(pl__writer *w, const chain_state *c)
{
    pl__put_bytes(w, c->group_id, PL_GROUP_ID_BYTES);
    pl__put_u32(w, c->key_id);
    pl__put_u32(w, c->device_id);
    pl__put_bytes(w, c->identity_key, PL_PUBKEY_BYTES);
    pl__put_u32(w, c->iteration);
    pl__put_bytes(w, c->chain_key, 32);
}

/* Reads an Ed25519 key: PL_E_KEY_TYPE or PL_E_BAD_KEY unless libsodium accepts it. */
static int read_ed25519(pl__reader *r, uint8_t out[PL_PUBKEY_BYTES])
{
    pl__get_copy(r, out, PL_PUBKEY_BYTES);
    if (r->err)
        return r->err;
    return pl__ed25519_key_decode(out, NULL);
}

/* Reads what put_chain wrote: PL_OK, the reader's error, or the identity key's. */
static int get_chain(pl__reader *r, chain_state *c)
{
    int e;

    pl__get_copy(r, c->group_id, PL_GROUP_ID_BYTES);
    c->key_id = pl__get_u32(r);
    c->device_id = pl__get_u32(r);
    if ((e = read_ed25519(r, c->identity_key)) != PL_OK)
        return e;
    c->iteration = pl__get_u32(r);
    pl__get_copy(r, c->chain_key, 32);
    return r->err;
}

static void chain_info(const chain_state *c, const uint8_t sign_pk[32], pl_sender_key_info *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->group_id, c->group_id, PL_GROUP_ID_BYTES);
    out->key_id = c->key_id;
    out->device_id = c->device_id;
    memcpy(out->identity_key, c->identity_key, PL_PUBKEY_BYTES);
    out->iteration = c->iteration;
    pl__key_encode(out->signing_key, PL_KEY_TYPE_ED25519, sign_pk);
}

/* KDF_CK: mk = HMAC(ck, 0x01), next = HMAC(ck, 0x02). next may alias ck. */
static void chain_step(uint8_t mk[32], uint8_t next[32], const uint8_t ck[32])
{
    pl__hmac_sha256_pair(mk, next, ck, 0x01, 0x02);
}

/* AEAD key and nonce of one message: HKDF(salt none, mk, label, 44). */
static void message_keys(uint8_t key[AEAD_KEY_BYTES], uint8_t nonce[AEAD_NONCE_BYTES],
                         const uint8_t mk[32])
{
    uint8_t okm[AEAD_KEY_BYTES + AEAD_NONCE_BYTES];

    (void)pl__hkdf_sha256(okm, sizeof okm, NULL, 0, mk, 32, (const uint8_t *)LABEL_KEYS,
                          sizeof LABEL_KEYS - 1);
    memcpy(key, okm, AEAD_KEY_BYTES);
    memcpy(nonce, okm + AEAD_KEY_BYTES, AEAD_NONCE_BYTES);
    sodium_memzero(okm, sizeof okm);
}

/* Ed25519 over label || msg, msg of any length. Returns PL_OK or PL_E_NOMEM. */
static int sign_message(uint8_t sig[64], const uint8_t *msg, size_t len, const uint8_t sk[64])
{
    size_t llen = sizeof LABEL_MESSAGE - 1;
    uint8_t *buf = malloc(llen + len);

    if (buf == NULL)
        return PL_E_NOMEM;
    memcpy(buf, LABEL_MESSAGE, llen);
    memcpy(buf + llen, msg, len);
    crypto_sign_detached(sig, NULL, buf, llen + len, sk);
    free(buf);
    return PL_OK;
}

static int verify_message(const uint8_t sig[64], const uint8_t *msg, size_t len,
                          const uint8_t pk[32])
{
    size_t llen = sizeof LABEL_MESSAGE - 1;
    uint8_t *buf = malloc(llen + len);
    int ok;

    if (buf == NULL)
        return PL_E_NOMEM;
    memcpy(buf, LABEL_MESSAGE, llen);
    memcpy(buf + llen, msg, len);
    ok = crypto_sign_verify_detached(sig, buf, llen + len, pk) == 0;
    free(buf);
    return ok ? PL_OK : PL_E_BAD_SIGNATURE;
}

/* ---- Sending ---------------------------------------------------------------------------- */

static void sender_set_signing(pl_sender_key *k)
{
    crypto_sign_seed_keypair(k->sign_pk, k->sign_sk, k->sign_seed);
}

int pl_sender_key_generate(pl_sender_key **out, const pl_rng *rng,
                           const uint8_t group_id[PL_GROUP_ID_BYTES], const pl_device *device)
{
    pl_sender_key *k;
    uint8_t id[4];

    *out = NULL;
    if (!(k = pl__secure_alloc(sizeof *k)))
        return PL_E_NOMEM;
    memcpy(k->chain.group_id, group_id, PL_GROUP_ID_BYTES);
    pl_random_fill(rng, id, sizeof id);
    k->chain.key_id = (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
    k->chain.device_id = pl_device_id(device);
    pl_device_identity_key(device, k->chain.identity_key);
    k->chain.iteration = 0;
    pl_random_fill(rng, k->chain.chain_key, sizeof k->chain.chain_key);
    pl_random_fill(rng, k->sign_seed, sizeof k->sign_seed);
    sender_set_signing(k);
    *out = k;
    return PL_OK;
}

void pl_sender_key_free(pl_sender_key *key)
{
    pl__secure_free(key);
}

void pl_sender_key_get_info(const pl_sender_key *key, pl_sender_key_info *out)
{
    chain_info(&key->chain, key->sign_pk, out);
}

void pl_sender_key_distribution(const pl_sender_key *key,
                                uint8_t out[PL_SENDER_KEY_DISTRIBUTION_BYTES])
{
    pl__writer w = pl__writer_init(out, PL_SENDER_KEY_DISTRIBUTION_BYTES);
    uint8_t *signing = NULL;

    pl__put_u8(&w, PL_SENDER_KEY_VERSION);
    put_chain(&w, &key->chain);
    signing = pl__put_space(&w, PL_PUBKEY_BYTES);
    if (signing)
        pl__key_encode(signing, PL_KEY_TYPE_ED25519, key->sign_pk);
}

static void header_write(pl__writer *w, const uint8_t group_id[PL_GROUP_ID_BYTES], uint32_t key_id,
                         uint32_t iteration)
{
    pl__put_u8(w, PL_SENDER_KEY_VERSION);
    pl__put_bytes(w, group_id, PL_GROUP_ID_BYTES);
    pl__put_u32(w, key_id);
    pl__put_u32(w, iteration);
}

int pl_sender_key_encrypt(pl_sender_key *key, const uint8_t *plaintext, size_t len, uint8_t *out,
                          size_t cap, size_t *out_len)
{
    uint8_t mk[32], next_ck[32], aead_key[AEAD_KEY_BYTES], nonce[AEAD_NONCE_BYTES];
    pl__writer w = pl__writer_init(out, cap);
    size_t total;
    int r;

    *out_len = 0;
    if (len > PL_MAX_PLAINTEXT_BYTES)
        return PL_E_TOO_LARGE;
    total = PL_GROUP_MESSAGE_BYTES(len);
    if (cap < total)
        return PL_E_BUFFER_TOO_SMALL;
    /* The receiver's next iteration is iteration + 1; keep it representable. */
    if (key->chain.iteration == UINT32_MAX)
        return PL_E_TOO_MANY_SKIPPED;

    chain_step(mk, next_ck, key->chain.chain_key);
    message_keys(aead_key, nonce, mk);
    header_write(&w, key->chain.group_id, key->chain.key_id, key->chain.iteration);
    crypto_aead_chacha20poly1305_ietf_encrypt(out + PL_GROUP_MESSAGE_HEADER_BYTES, NULL, plaintext,
                                              len, out, PL_GROUP_MESSAGE_HEADER_BYTES, NULL, nonce,
                                              aead_key);
    r = sign_message(out + total - PL_SIGNATURE_BYTES, out, total - PL_SIGNATURE_BYTES,
                     key->sign_sk);
    if (r != PL_OK) {
        sodium_memzero(out, cap);
        goto out;
    }
    /* Commit: the message key is gone once the chain key moves on. */
    memcpy(key->chain.chain_key, next_ck, 32);
    key->chain.iteration++;
    *out_len = total;
out:
    sodium_memzero(mk, sizeof mk);
    sodium_memzero(next_ck, sizeof next_ck);
    sodium_memzero(aead_key, sizeof aead_key);
    sodium_memzero(nonce, sizeof nonce);
    return r;
}

/* ---- Receiving -------------------------------------------------------------------------- */

int pl_sender_key_receiver_create(pl_sender_key_receiver **out, const uint8_t *in, size_t len)
{
    pl__reader r = pl__reader_init(in, len);
    pl_sender_key_receiver *rc = NULL;
    uint8_t signing[PL_PUBKEY_BYTES];
    int e;

    *out = NULL;
    if (len < PL_SENDER_KEY_DISTRIBUTION_BYTES)
        return PL_E_TRUNCATED;
    if (len > PL_SENDER_KEY_DISTRIBUTION_BYTES)
        return PL_E_MALFORMED;
    if (pl__get_u8(&r) != PL_SENDER_KEY_VERSION)
        return PL_E_VERSION;
    if (!(rc = pl__secure_alloc(sizeof *rc)))
        return PL_E_NOMEM;
    if ((e = get_chain(&r, &rc->chain)) != PL_OK)
        goto fail;
    if ((e = read_ed25519(&r, signing)) != PL_OK)
        goto fail;
    memcpy(rc->sign_pk, signing + 1, 32);
    if ((e = pl__reader_finish(&r)) != PL_OK)
        goto fail;
    *out = rc;
    return PL_OK;
fail:
    pl__secure_free(rc);
    return e;
}

void pl_sender_key_receiver_free(pl_sender_key_receiver *receiver)
{
    if (receiver == NULL)
        return;
    pl__skipped_clear(&receiver->skipped);
    pl__secure_free(receiver);
}

void pl_sender_key_receiver_get_info(const pl_sender_key_receiver *receiver,
                                     pl_sender_key_info *out)
{
    chain_info(&receiver->chain, receiver->sign_pk, out);
}

int pl_group_message_header_parse(const uint8_t *in, size_t len, pl_group_message_header *out)
{
    pl__reader r = pl__reader_init(in, len);

    memset(out, 0, sizeof *out);
    if (len < PL_GROUP_MESSAGE_OVERHEAD)
        return PL_E_TRUNCATED;
    if (pl__get_u8(&r) != PL_SENDER_KEY_VERSION)
        return PL_E_VERSION;
    pl__get_copy(&r, out->group_id, PL_GROUP_ID_BYTES);
    out->key_id = pl__get_u32(&r);
    out->iteration = pl__get_u32(&r);
    return PL_OK;
}

int pl_sender_key_receiver_decrypt(pl_sender_key_receiver *rc, const uint8_t *in, size_t len,
                                   uint8_t *out, size_t cap, size_t *out_len)
{
    pl_group_message_header h;
    uint8_t mk[32], ck[32], aead_key[AEAD_KEY_BYTES], nonce[AEAD_NONCE_BYTES];
    pl__skipped_key *fresh = NULL;
    uint32_t n_fresh = 0;
    long found = -1;
    size_t ct_len, pt_len;
    int r;

    *out_len = 0;
    if (cap)
        sodium_memzero(out, cap);
    /* Cheap checks before the signature. */
    if ((r = pl_group_message_header_parse(in, len, &h)) != PL_OK)
        return r;
    ct_len = len - PL_GROUP_MESSAGE_HEADER_BYTES - PL_SIGNATURE_BYTES;
    pt_len = ct_len - AEAD_TAG_BYTES;
    if (pt_len > PL_MAX_PLAINTEXT_BYTES)
        return PL_E_TOO_LARGE;
    if (sodium_memcmp(h.group_id, rc->chain.group_id, PL_GROUP_ID_BYTES) != 0 ||
        h.key_id != rc->chain.key_id)
        return PL_E_SESSION_MISMATCH;
    if ((r = verify_message(in + len - PL_SIGNATURE_BYTES, in, len - PL_SIGNATURE_BYTES,
                            rc->sign_pk)) != PL_OK)
        return r;
    if (cap < pt_len)
        return PL_E_BUFFER_TOO_SMALL;

    if (h.iteration < rc->chain.iteration) {
        found = pl__skipped_find(&rc->skipped, rc->sign_pk, h.iteration);
        if (found < 0)
            return PL_E_REPLAY;
        memcpy(mk, rc->skipped.entries[found].message_key, 32);
    } else {
        uint32_t skip = h.iteration - rc->chain.iteration;

        if (skip > PL_SENDER_KEY_MAX_SKIP || h.iteration == UINT32_MAX)
            return PL_E_TOO_MANY_SKIPPED;
        if (skip && !(fresh = pl__secure_alloc((size_t)skip * sizeof *fresh)))
            return PL_E_NOMEM;
        memcpy(ck, rc->chain.chain_key, 32);
        for (uint32_t i = rc->chain.iteration; i < h.iteration; i++) {
            memcpy(fresh[n_fresh].ratchet_key, rc->sign_pk, 32);
            fresh[n_fresh].n = i;
            chain_step(fresh[n_fresh].message_key, ck, ck);
            n_fresh++;
        }
        chain_step(mk, ck, ck);
        if (n_fresh && (r = pl__skipped_reserve(&rc->skipped, n_fresh)) != PL_OK)
            goto out;
    }

    message_keys(aead_key, nonce, mk);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(
            out, NULL, NULL, in + PL_GROUP_MESSAGE_HEADER_BYTES, ct_len, in,
            PL_GROUP_MESSAGE_HEADER_BYTES, nonce, aead_key) != 0) {
        sodium_memzero(out, cap);
        r = PL_E_DECRYPT;
        goto out;
    }
    /* Commit. */
    if (found >= 0) {
        pl__skipped_remove(&rc->skipped, (uint32_t)found);
    } else {
        if (n_fresh)
            pl__skipped_append(&rc->skipped, fresh, n_fresh);
        memcpy(rc->chain.chain_key, ck, 32);
        rc->chain.iteration = h.iteration + 1;
    }
    *out_len = pt_len;
    r = PL_OK;
out:
    if (fresh) {
        sodium_memzero(fresh, (size_t)n_fresh * sizeof *fresh);
        pl__secure_free(fresh);
    }
    sodium_memzero(mk, sizeof mk);
    sodium_memzero(ck, sizeof ck);
    sodium_memzero(aead_key, sizeof aead_key);
    sodium_memzero(nonce, sizeof nonce);
    return r;
}

/* ---- Saving and loading ----------------------------------------------------------------- */

void pl_sender_key_save(const pl_sender_key *key, uint8_t out[PL_SENDER_KEY_SAVED_BYTES])
{
    pl__writer w = pl__writer_init(out, PL_SENDER_KEY_SAVED_BYTES);

    pl__blob_begin(&w, PL__BLOB_SENDER_KEY, SENDER_BODY_BYTES);
    put_chain(&w, &key->chain);
    pl__put_bytes(&w, key->sign_seed, 32);
    pl__blob_end(&w);
}

int pl_sender_key_load(pl_sender_key **out, const uint8_t *in, size_t len)
{
    pl__reader body;
    uint8_t version;
    pl_sender_key *k;
    int r;

    *out = NULL;
    if ((r = pl__blob_open(in, len, PL__BLOB_SENDER_KEY, &body, &version)) != PL_OK)
        return r;
    if (!(k = pl__secure_alloc(sizeof *k)))
        return PL_E_NOMEM;
    if ((r = get_chain(&body, &k->chain)) != PL_OK)
        goto fail;
    pl__get_copy(&body, k->sign_seed, 32);
    if ((r = pl__reader_finish(&body)) != PL_OK)
        goto fail;
    sender_set_signing(k);
    *out = k;
    return PL_OK;
fail:
    pl__secure_free(k);
    return r == PL_E_TRUNCATED ? PL_E_MALFORMED : r;
}

size_t pl_sender_key_receiver_saved_size(const pl_sender_key_receiver *receiver)
{
    return PL__BLOB_OVERHEAD + RECEIVER_FIXED_BYTES +
           (size_t)receiver->skipped.count * SKIPPED_ENTRY_BYTES;
}

int pl_sender_key_receiver_save(const pl_sender_key_receiver *rc, uint8_t *out, size_t cap,
                                size_t *out_len)
{
    size_t need = pl_sender_key_receiver_saved_size(rc);
    pl__writer w = pl__writer_init(out, cap);
    uint8_t signing[PL_PUBKEY_BYTES];

    *out_len = 0;
    if (cap < need)
        return PL_E_BUFFER_TOO_SMALL;
    pl__key_encode(signing, PL_KEY_TYPE_ED25519, rc->sign_pk);
    pl__blob_begin(&w, PL__BLOB_SENDER_KEY_RECEIVER, (uint32_t)(need - PL__BLOB_OVERHEAD));
    put_chain(&w, &rc->chain);
    pl__put_bytes(&w, signing, PL_PUBKEY_BYTES);
    pl__put_u32(&w, rc->skipped.count);
    for (uint32_t i = 0; i < rc->skipped.count; i++) {
        pl__put_u32(&w, rc->skipped.entries[i].n);
        pl__put_bytes(&w, rc->skipped.entries[i].message_key, 32);
    }
    pl__blob_end(&w);
    *out_len = need;
    return PL_OK;
}

int pl_sender_key_receiver_load(pl_sender_key_receiver **out, const uint8_t *in, size_t len)
{
    pl__reader body;
    uint8_t version, signing[PL_PUBKEY_BYTES];
    pl_sender_key_receiver *rc;
    uint32_t count;
    int r;

    *out = NULL;
    if ((r = pl__blob_open(in, len, PL__BLOB_SENDER_KEY_RECEIVER, &body, &version)) != PL_OK)
        return r;
    if (!(rc = pl__secure_alloc(sizeof *rc)))
        return PL_E_NOMEM;
    if ((r = get_chain(&body, &rc->chain)) != PL_OK)
        goto fail;
    if ((r = read_ed25519(&body, signing)) != PL_OK)
        goto fail;
    memcpy(rc->sign_pk, signing + 1, 32);
    count = pl__get_u32(&body);
    if (body.err) {
        r = body.err;
        goto fail;
    }
    /* Bound before allocating, then check the exact size. */
    if (count > PL_SENDER_KEY_MAX_SKIPPED_KEYS ||
        pl__reader_left(&body) != (size_t)count * SKIPPED_ENTRY_BYTES) {
        r = PL_E_MALFORMED;
        goto fail;
    }
    if (count && (r = pl__skipped_reserve(&rc->skipped, count)) != PL_OK)
        goto fail;
    for (uint32_t i = 0; i < count; i++) {
        pl__skipped_key e;

        memcpy(e.ratchet_key, rc->sign_pk, 32);
        e.n = pl__get_u32(&body);
        pl__get_copy(&body, e.message_key, 32);
        /* Canonical: strictly ascending iterations, all below the chain's next one. */
        if (e.n >= rc->chain.iteration ||
            (rc->skipped.count && e.n <= rc->skipped.entries[rc->skipped.count - 1].n)) {
            sodium_memzero(&e, sizeof e);
            r = PL_E_MALFORMED;
            goto fail;
        }
        pl__skipped_append(&rc->skipped, &e, 1);
        sodium_memzero(&e, sizeof e);
    }
    if ((r = pl__reader_finish(&body)) != PL_OK)
        goto fail;
    *out = rc;
    return PL_OK;
fail:
    pl_sender_key_receiver_free(rc);
    return r == PL_E_TRUNCATED ? PL_E_MALFORMED : r;
}
