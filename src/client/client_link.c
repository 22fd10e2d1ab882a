/*
 * client_link.c: adding a device to an account: `parley link` on the new device and
 * `parley approve CODE` on an existing one (docs/CLIENT.md, "Linking a device").
 *
 * The code carries a 10-byte secret s (80 bits, 16 base32 characters), shown on the new
 * device and typed on the old one, never sent to the server. From it (HKDF-SHA256, RFC 5869):
 *     R       = HKDF(ikm = s, info = "parley/link/v1/rendezvous")[0..16)   where to meet
 *     K_offer = HKDF(ikm = s, info = "parley/link/v1/offer")[0..32)
 * 1. The new device makes its identity key, a random device id and an ephemeral X25519 pair
 *    e_N, and puts slot 0 of R: nonce || XChaCha20-Poly1305(K_offer, LinkOffer{device_id,
 *    identity_key, e_N public, name}, AD = "parley/link/v1/offer" || R).
 * 2. The approver fetches and opens it; a server that swapped or altered it cannot produce a
 *    box that opens under K_offer, so the approver signs exactly the key the new device
 *    showed. It signs the device record with the account key, adds the device (AddDevice),
 *    makes an ephemeral pair e_E and puts slot 1: e_E public || nonce ||
 *    XChaCha20-Poly1305(K_answer, LinkAnswer{username, account key, record}, AD =
 *    "parley/link/v1/answer" || R), where
 *      K_answer = HKDF(salt = e_E public || e_N public, ikm = s || X25519(e_E, e_N),
 *                      info = "parley/link/v1/answer")[0..32)
 *    so the account key crosses the server only sealed, and someone who learns the code
 *    later cannot open a recorded answer without an ephemeral secret.
 * 3. The new device opens the answer, checks that the record is signed by the account key
 *    and names its own id and identity key, stores the account, authenticates and uploads
 *    its prekeys.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client_internal.h"
#include "content.pb-c.h"
#include "kdf.h"

#define SECRET_BYTES CL_LINK_SECRET_BYTES
#define CODE_CHARS 16u
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define POLL_MS 1000u
#define OFFER_LABEL "parley/link/v1/offer"
#define ANSWER_LABEL "parley/link/v1/answer"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford base32 */

/* 80 bits -> "XXXX-XXXX-XXXX-XXXX". */
void cl_link_code_encode(const uint8_t s[CL_LINK_SECRET_BYTES], char out[32])
{
    size_t o = 0;

    for (size_t i = 0; i < CODE_CHARS; i++) {
        size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned v = (unsigned)s[byte] << 8 | (byte + 1 < SECRET_BYTES ? s[byte + 1] : 0);

        if (i && i % 4 == 0)
            out[o++] = '-';
        out[o++] = alphabet[(v >> (11 - shift)) & 31];
    }
    out[o] = '\0';
}

/* The reverse; case, dashes and spaces ignored, O read as 0, I and L as 1. Returns 0 or -1. */
int cl_link_code_decode(const char *code, uint8_t s[CL_LINK_SECRET_BYTES])
{
    size_t n = 0;

    memset(s, 0, SECRET_BYTES);
    for (const char *p = code; *p; p++) {
        char ch = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        const char *at;
        unsigned v;

        if (ch == '-' || ch == ' ')
            continue;
        ch = ch == 'O' ? '0' : (ch == 'I' || ch == 'L') ? '1' : ch;
        if (ch == '\0' || !(at = strchr(alphabet, ch)) || n == CODE_CHARS)
            return -1;
        v = (unsigned)(at - alphabet);
        for (unsigned b = 0; b < 5; b++) {
            size_t bit = n * 5 + b;

            if ((v >> (4 - b)) & 1)
                s[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
        }
        n++;
    }
    return n == CODE_CHARS ? 0 : -1;
}

int cl_link_offer_parse(const uint8_t *p, size_t len, Parley__LinkOffer **out)
{
    Parley__LinkOffer *o = parley__link_offer__unpack(NULL, len, p);

    *out = NULL;
    if (!o)
        return -1;
    if (o->identity_key.len != PL_PUBKEY_BYTES || o->ephemeral_key.len != 32 || o->device_id == 0 ||
        o->device_id > 0x7fffffffu || strlen(o->device_name) > 64) {
        parley__link_offer__free_unpacked(o, NULL);
        return -1;
    }
    *out = o;
    return 0;
}

int cl_link_answer_parse(const uint8_t *p, size_t len, Parley__LinkAnswer **out)
{
    Parley__LinkAnswer *a = parley__link_answer__unpack(NULL, len, p);

    *out = NULL;
    if (!a)
        return -1;
    if (strlen(a->username) == 0 || strlen(a->username) > CL_USERNAME_MAX ||
        a->account.len != PL_ACCOUNT_SAVED_BYTES ||
        a->device_record.len != PL_DEVICE_RECORD_BYTES) {
        parley__link_answer__free_unpacked(a, NULL);
        return -1;
    }
    *out = a;
    return 0;
}

static void derive(const uint8_t s[SECRET_BYTES], const char *info, uint8_t *out, size_t len)
{
    (void)pl__hkdf_sha256(out, len, NULL, 0, s, SECRET_BYTES, (const uint8_t *)info, strlen(info));
}

/* AD = label || R */
static size_t make_ad(uint8_t ad[64], const char *label, const uint8_t r[16])
{
    size_t n = strlen(label);

    memcpy(ad, label, n);
    memcpy(ad + n, r, 16);
    return n + 16;
}

static int link_request(pl_client *c, int put, const uint8_t r[16], uint32_t slot,
                        const uint8_t *blob, size_t len, Parley__ServerFrame **out)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__LinkPut lp = PARLEY__LINK_PUT__INIT;
    Parley__LinkGet lg = PARLEY__LINK_GET__INIT;
    int rc;

    if (put) {
        lp.rendezvous.data = (uint8_t *)r;
        lp.rendezvous.len = 16;
        lp.slot = slot;
        lp.blob.data = (uint8_t *)blob;
        lp.blob.len = len;
        req.body_case = PARLEY__REQUEST__BODY_LINK_PUT;
        req.link_put = &lp;
    } else {
        lg.rendezvous.data = (uint8_t *)r;
        lg.rendezvous.len = 16;
        lg.slot = slot;
        req.body_case = PARLEY__REQUEST__BODY_LINK_GET;
        req.link_get = &lg;
    }
    rc = pl_cconn_request(c->conn, &req, out, CL_REQUEST_TIMEOUT_MS);
    if (rc != PL_CLIENT_OK) {
        rc = cl_fail(c, rc, "%s: %s", c->server, pl_cconn_error(c->conn));
        cl_disconnect(c);
    }
    return rc;
}

/* ---- The new device ------------------------------------------------------------------------ */

int pl_client_link_start(pl_client *c, const char *server, const char *ca_file,
                         const char *device_name, char code_out[32], char qr_out[128],
                         char fingerprint_out[96])
{
    Parley__LinkOffer offer = PARLEY__LINK_OFFER__INIT;
    Parley__ServerFrame *f = NULL;
    uint8_t identity[PL_PUBKEY_BYTES], k_offer[32], ad[64], *packed = NULL, *blob = NULL;
    size_t plen, blen, adlen;
    uint32_t id;
    int r;

    code_out[0] = qr_out[0] = fingerprint_out[0] = '\0';
    if (c->have_identity)
        return cl_fail(c, PL_CLIENT_E_ALREADY_INITIALISED, "%s already holds the account %s",
                       c->home, c->username);
    if (strlen(server) >= sizeof c->server)
        return cl_fail(c, PL_CLIENT_E_USAGE, "the server address is too long");
    snprintf(c->server, sizeof c->server, "%s", server);
    snprintf(c->device_name, sizeof c->device_name, "%s", device_name ? device_name : "");
    if (ca_file && (r = cl_copy_ca(c, ca_file)) != PL_CLIENT_OK)
        return r;
    /* A random id in 2..65535 (short enough to type in `parley remove-device`): the
     * approver's AddDevice refuses an id the account ever used, and the user links again. */
    id = 2 + randombytes_uniform(65534);
    c->device_id = id;
    pl_device_free(c->device);
    if (pl_device_generate(&c->device, NULL, id) != PL_OK)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    pl_device_identity_key(c->device, identity);
    randombytes_buf(c->link.secret, SECRET_BYTES);
    randombytes_buf(c->link.eph_sk, sizeof c->link.eph_sk);
    crypto_scalarmult_base(c->link.eph_pk, c->link.eph_sk);
    derive(c->link.secret, "parley/link/v1/rendezvous", c->link.rendezvous, 16);
    derive(c->link.secret, OFFER_LABEL, k_offer, sizeof k_offer);
    if ((r = cl_connect_anonymous(c)) != PL_CLIENT_OK)
        goto out;
    memcpy(fingerprint_out, c->pin, PL_TLS_FINGERPRINT_BYTES);
    offer.device_id = id;
    offer.identity_key.data = identity;
    offer.identity_key.len = sizeof identity;
    offer.ephemeral_key.data = c->link.eph_pk;
    offer.ephemeral_key.len = sizeof c->link.eph_pk;
    offer.device_name = c->device_name;
    plen = parley__link_offer__get_packed_size(&offer);
    blen = NONCE_BYTES + plen + TAG_BYTES;
    if (!(packed = malloc(plen)) || !(blob = malloc(blen))) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    parley__link_offer__pack(&offer, packed);
    randombytes_buf(blob, NONCE_BYTES);
    adlen = make_ad(ad, OFFER_LABEL, c->link.rendezvous);
    crypto_aead_xchacha20poly1305_ietf_encrypt(blob + NONCE_BYTES, NULL, packed, plen, ad, adlen,
                                               NULL, blob, k_offer);
    if ((r = link_request(c, 1, c->link.rendezvous, 0, blob, blen, &f)) != PL_CLIENT_OK)
        goto out;
    if (cl_status(f) != 0) {
        r = cl_refused(c, f, "posting the link offer");
        goto out;
    }
    cl_link_code_encode(c->link.secret, code_out);
    snprintf(qr_out, 128, "parley-link:%s", code_out);
    c->link.active = 1;
    r = PL_CLIENT_OK;
out:
    pl_frame_server_free(f);
    sodium_memzero(k_offer, sizeof k_offer);
    free(packed);
    free(blob);
    return r;
}

static void answer_key(const uint8_t s[SECRET_BYTES], const uint8_t shared[32],
                       const uint8_t e_pub[32], const uint8_t n_pub[32], uint8_t out[32])
{
    uint8_t ikm[SECRET_BYTES + 32], salt[64];

    memcpy(ikm, s, SECRET_BYTES);
    memcpy(ikm + SECRET_BYTES, shared, 32);
    memcpy(salt, e_pub, 32);
    memcpy(salt + 32, n_pub, 32);
    (void)pl__hkdf_sha256(out, 32, salt, sizeof salt, ikm, sizeof ikm,
                          (const uint8_t *)ANSWER_LABEL, strlen(ANSWER_LABEL));
    sodium_memzero(ikm, sizeof ikm);
}

/* Opens and checks the answer; on success the account is ours. */
static int take_answer(pl_client *c, const uint8_t *blob, size_t len)
{
    uint8_t shared[32], key[32], ad[64], *pt = NULL, identity[PL_PUBKEY_BYTES];
    unsigned long long pt_len = 0;
    Parley__LinkAnswer *ans = NULL;
    pl_device_record rec;
    pl_cstore_device self;
    size_t adlen;
    int r = PL_CLIENT_E_LINK_CODE;

    if (len < 32 + NONCE_BYTES + TAG_BYTES || !(pt = malloc(len)))
        return cl_fail(c, r, "the link answer is malformed");
    if (crypto_scalarmult(shared, c->link.eph_sk, blob) != 0) {
        r = cl_fail(c, r, "the link answer is malformed");
        goto out;
    }
    answer_key(c->link.secret, shared, blob, c->link.eph_pk, key);
    adlen = make_ad(ad, ANSWER_LABEL, c->link.rendezvous);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &pt_len, NULL, blob + 32 + NONCE_BYTES,
                                                   len - 32 - NONCE_BYTES, ad, adlen, blob + 32,
                                                   key) != 0 ||
        cl_link_answer_parse(pt, (size_t)pt_len, &ans) != 0 ||
        pl_account_load(&c->account, ans->account.data, ans->account.len) != PL_OK) {
        r = cl_fail(c, r, "the link answer does not open with this code: it was tampered with");
        goto out;
    }
    pl_account_public_key(c->account, c->account_key);
    pl_device_identity_key(c->device, identity);
    if (pl_device_record_verify(ans->device_record.data, ans->device_record.len, c->account_key,
                                &rec) != PL_OK ||
        rec.device_id != c->device_id ||
        sodium_memcmp(rec.identity_key, identity, PL_PUBKEY_BYTES) != 0) {
        r = cl_fail(c, r, "the approval does not sign this device's key: refusing it");
        goto out;
    }
    snprintf(c->username, sizeof c->username, "%s", ans->username);
    memset(&self, 0, sizeof self);
    self.device_id = c->device_id;
    memcpy(self.record, ans->device_record.data, PL_DEVICE_RECORD_BYTES);
    snprintf(self.name, sizeof self.name, "%s", c->device_name);
    if ((r = pl_cstore_begin(c->store)) != PL_CSTORE_OK ||
        (r = cl_save_identity(c)) != PL_CSTORE_OK ||
        (r = pl_cstore_devices_set(c->store, c->username, &self, 1)) != PL_CSTORE_OK ||
        (r = pl_cstore_commit(c->store)) != PL_CSTORE_OK) {
        pl_cstore_rollback(c->store);
        r = cl_store_fail(c, r, "storing the linked account");
        goto out;
    }
    c->have_identity = 1;
    r = PL_CLIENT_OK;
out:
    parley__link_answer__free_unpacked(ans, NULL);
    if (pt)
        sodium_memzero(pt, len);
    free(pt);
    sodium_memzero(shared, sizeof shared);
    sodium_memzero(key, sizeof key);
    return r;
}

int pl_client_link_wait(pl_client *c, int timeout_ms, volatile sig_atomic_t *stop)
{
    struct timespec step = {POLL_MS / 1000u, (long)(POLL_MS % 1000u) * 1000000L};
    int waited = 0, r = PL_CLIENT_E_TIMEOUT;

    if (!c->link.active)
        return cl_fail(c, PL_CLIENT_E_USAGE, "no link in progress");
    while (waited < timeout_ms) {
        Parley__ServerFrame *f = NULL;

        if (stop && *stop)
            return cl_fail(c, PL_CLIENT_E_INTERRUPTED, "interrupted");
        if (!c->conn && (r = cl_connect_anonymous(c)) != PL_CLIENT_OK)
            return r;
        if ((r = link_request(c, 0, c->link.rendezvous, 1, NULL, 0, &f)) != PL_CLIENT_OK)
            return r;
        if (cl_status(f) == 0) {
            r = take_answer(c, f->response->link_get->blob.data, f->response->link_get->blob.len);
            pl_frame_server_free(f);
            if (r != PL_CLIENT_OK)
                return r;
            sodium_memzero(&c->link, sizeof c->link);
            cl_disconnect(c); /* now authenticate as the device, uploading prekeys */
            return cl_kt_pin_at_setup(c, cl_connect(c)); /* then pin the KT log */
        }
        r = cl_status(f) == PARLEY__STATUS_CODE__STATUS_NOT_FOUND
                ? PL_CLIENT_OK
                : cl_refused(c, f, "waiting for the approval");
        pl_frame_server_free(f);
        if (r != PL_CLIENT_OK)
            return r;
        nanosleep(&step, NULL);
        waited += (int)POLL_MS;
    }
    return cl_fail(c, PL_CLIENT_E_TIMEOUT, "no approval arrived in time: run `parley link` again");
}

/* ---- The approving device ------------------------------------------------------------------ */

int pl_client_approve(pl_client *c, const char *code, uint32_t *new_device_id,
                      char new_device_name[65])
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__AddDevice add = PARLEY__ADD_DEVICE__INIT;
    Parley__LinkAnswer ans = PARLEY__LINK_ANSWER__INIT;
    Parley__LinkOffer *offer = NULL;
    Parley__ServerFrame *f = NULL;
    uint8_t s[SECRET_BYTES], rdv[16], k_offer[32], key[32], ad[64], shared[32];
    uint8_t e_sk[32], e_pk[32], record[PL_DEVICE_RECORD_BYTES], acct[PL_ACCOUNT_SAVED_BYTES];
    uint8_t *pt = NULL, *packed = NULL, *blob = NULL, *state = NULL;
    unsigned long long pt_len = 0;
    size_t adlen, plen = 0, blen, state_len = 0;
    cl_device_list dl;
    int r;

    *new_device_id = 0;
    new_device_name[0] = '\0';
    if (cl_link_code_decode(code, s) != 0)
        return cl_fail(c, PL_CLIENT_E_LINK_CODE,
                       "\"%s\" is not a link code (16 characters, like K7QF-2M9D-XW4B-A3TE)", code);
    derive(s, "parley/link/v1/rendezvous", rdv, sizeof rdv);
    derive(s, OFFER_LABEL, k_offer, sizeof k_offer);
    if ((r = cl_connect(c)) != PL_CLIENT_OK)
        goto out;
    if ((r = link_request(c, 0, rdv, 0, NULL, 0, &f)) != PL_CLIENT_OK)
        goto out;
    if (cl_status(f) == PARLEY__STATUS_CODE__STATUS_NOT_FOUND) {
        r = cl_fail(c, PL_CLIENT_E_LINK_CODE,
                    "no device is waiting with this code (mistyped, or expired after 10 minutes)");
        goto out;
    }
    if (cl_status(f) != 0) {
        r = cl_refused(c, f, "fetching the link offer");
        goto out;
    }
    {
        const ProtobufCBinaryData *b = &f->response->link_get->blob;

        adlen = make_ad(ad, OFFER_LABEL, rdv);
        if (b->len < NONCE_BYTES + TAG_BYTES || !(pt = malloc(b->len)) ||
            crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &pt_len, NULL, b->data + NONCE_BYTES,
                                                       b->len - NONCE_BYTES, ad, adlen, b->data,
                                                       k_offer) != 0 ||
            cl_link_offer_parse(pt, (size_t)pt_len, &offer) != 0) {
            r = cl_fail(c, PL_CLIENT_E_LINK_CODE,
                        "the link offer does not open with this code: it was tampered with, or "
                        "the code is wrong");
            goto out;
        }
    }
    if (pl_account_sign_device(c->account, offer->device_id, offer->identity_key.data,
                               cl_now_ms() / 1000u, record) != PL_OK) {
        r = cl_fail(c, PL_CLIENT_E_LINK_CODE, "the new device's key is not a valid key");
        goto out;
    }
    /* The account's next state lists the new device (PROTOCOL.md §24.3). */
    if (!(state = malloc(PL_ACCOUNT_STATE_MAX_BYTES))) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = cl_next_state(c, record, 0, state, &state_len)) != PL_CLIENT_OK)
        goto out;
    add.username = c->username;
    add.device_record.data = record;
    add.device_record.len = sizeof record;
    add.account_state.data = state;
    add.account_state.len = state_len;
    req.body_case = PARLEY__REQUEST__BODY_ADD_DEVICE;
    req.add_device = &add;
    pl_frame_server_free(f);
    f = NULL;
    if ((r = cl_request(c, &req, &f)) != PL_CLIENT_OK)
        goto out;
    if (cl_status(f) != 0) {
        r = cl_refused(c, f, "adding the device");
        goto out;
    }
    /* The answer, sealed for the new device. */
    randombytes_buf(e_sk, sizeof e_sk);
    crypto_scalarmult_base(e_pk, e_sk);
    if (crypto_scalarmult(shared, e_sk, offer->ephemeral_key.data) != 0) {
        r = cl_fail(c, PL_CLIENT_E_LINK_CODE, "the new device's ephemeral key is invalid");
        goto out;
    }
    answer_key(s, shared, e_pk, offer->ephemeral_key.data, key);
    pl_account_save(c->account, acct);
    ans.username = c->username;
    ans.account.data = acct;
    ans.account.len = sizeof acct;
    ans.device_record.data = record;
    ans.device_record.len = sizeof record;
    plen = parley__link_answer__get_packed_size(&ans);
    blen = 32 + NONCE_BYTES + plen + TAG_BYTES;
    if (!(packed = malloc(plen)) || !(blob = malloc(blen))) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    parley__link_answer__pack(&ans, packed);
    memcpy(blob, e_pk, 32);
    randombytes_buf(blob + 32, NONCE_BYTES);
    adlen = make_ad(ad, ANSWER_LABEL, rdv);
    crypto_aead_xchacha20poly1305_ietf_encrypt(blob + 32 + NONCE_BYTES, NULL, packed, plen, ad,
                                               adlen, NULL, blob + 32, key);
    pl_frame_server_free(f);
    f = NULL;
    if ((r = link_request(c, 1, rdv, 1, blob, blen, &f)) != PL_CLIENT_OK)
        goto out;
    if (cl_status(f) != 0) {
        r = cl_refused(c, f, "sending the approval");
        goto out;
    }
    *new_device_id = offer->device_id;
    snprintf(new_device_name, 65, "%s", offer->device_name);
    /* Remember the new device's name locally. */
    if (cl_fetch_devices(c, c->username, &dl) == PL_CLIENT_OK) {
        pl_cstore_device devs[CL_DEVICES_MAX];
        size_t n = 0;

        if (pl_cstore_devices_get(c->store, c->username, devs, &n) == PL_CSTORE_OK) {
            for (size_t i = 0; i < n; i++)
                if (devs[i].device_id == offer->device_id)
                    snprintf(devs[i].name, sizeof devs[i].name, "%s", offer->device_name);
            (void)pl_cstore_devices_set(c->store, c->username, devs, n);
        }
    }
    r = PL_CLIENT_OK;
out:
    parley__link_offer__free_unpacked(offer, NULL);
    pl_frame_server_free(f);
    if (packed)
        sodium_memzero(packed, plen);
    free(state);
    free(packed);
    free(blob);
    free(pt);
    sodium_memzero(s, sizeof s);
    sodium_memzero(k_offer, sizeof k_offer);
    sodium_memzero(key, sizeof key);
    sodium_memzero(e_sk, sizeof e_sk);
    sodium_memzero(shared, sizeof shared);
    sodium_memzero(acct, sizeof acct);
    return r;
}
