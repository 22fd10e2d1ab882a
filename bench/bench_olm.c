/*
 * bench_olm.c: Matrix's libolm doing the operations parley-bench times in Parley.
 *
 * Olm is Matrix's Double Ratchet with a triple-DH handshake: identity key, one-time key
 * (no signed prekey), ephemeral "base" key; AES-256-CBC with a truncated HMAC-SHA256 tag;
 * base64 on every message. Its DH ratchet step is split differently from Parley's: the
 * receiver of a new ratchet key does one DH, and the key pair is made (with a second DH)
 * lazily when that side next encrypts. Per message round trip the work is the same.
 *
 * Initiator set-up includes two olm_ed25519_verify calls, because the equivalent Matrix
 * client verifies two Ed25519 signatures before it creates an outbound session: the
 * device-keys object (signed by the device) and the signed one-time key. Parley's initiator
 * verifies the same two (device record, signed prekey), over messages of Parley's sizes.
 *
 * Olm takes its randomness from the caller. Here it is drawn with randombytes_buf inside
 * the timed region, as libparley (given a NULL pl_rng) and bench_composed.c also do.
 * Session memory is malloc'd inside the timed region, as libparley allocates inside its
 * calls; freeing is untimed for all three. olm_decrypt destroys its input, so each message
 * is decrypted from the buffer olm_encrypt wrote (or, for set-up, from an untimed copy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <olm/olm.h>
#include <sodium.h>

#include "bench.h"

/* Base64 of the largest message: 1 KiB padded to the AES block, header, MAC, ratchet key. */
#define OLM_SLOT 2048u
#define OLM_KEY_B64 43u

#define OLM_SIG_B64 86u
/* Sizes of what Parley's initiator verifies: label + device record body, label + prekey. */
static const size_t signed_sizes[2] = {23u + 79u, 23u + 45u};

typedef struct olm_party {
    OlmAccount *account;
    char ik[OLM_KEY_B64 + 1]; /* curve25519 identity key, base64 */
    char ed[OLM_KEY_B64 + 1]; /* ed25519 signing key, base64 */
} olm_party;

typedef struct olm_state {
    olm_party a, b;
    char otk[OLM_KEY_B64 + 1]; /* one of B's one-time keys, base64 */
    OlmUtility *util;
    uint8_t signed_msg[2][128];         /* what B signed: device keys, one-time key */
    char signature[2][OLM_SIG_B64 + 1]; /* B's signatures over them, base64 */
    /* A's first message to B, a PRE_KEY message carrying 100 bytes. */
    uint8_t first[OLM_SLOT];
    size_t first_len;
    OlmSession *chain_a, *chain_b, *ratchet_a, *ratchet_b;
    OlmSession *setup[BENCH_MAX_SETUP_BATCH];
    uint8_t *copies; /* untimed copies of the first message for the responder batch */
    uint8_t *msgs;   /* BENCH_MAX_BATCH slots */
    size_t msg_lens[BENCH_MAX_BATCH];
} olm_state;

static OlmSession *session_new(void)
{
    void *mem = malloc(olm_session_size());

    return mem ? olm_session(mem) : NULL;
}

static void session_free(OlmSession *s)
{
    if (s == NULL)
        return;
    olm_clear_session(s);
    free(s);
}

static void account_free(OlmAccount *acc)
{
    if (acc == NULL)
        return;
    olm_clear_account(acc);
    free(acc);
}

/* Copies the base64 string value of "key" in a flat JSON object. */
static int json_value(const char *json, const char *key, char out[OLM_KEY_B64 + 1])
{
    const char *p = strstr(json, key);

    if (p == NULL)
        return -1;
    p = strchr(p + strlen(key), ':');
    if (p == NULL || (p = strchr(p, '"')) == NULL || strlen(p + 1) < OLM_KEY_B64)
        return -1;
    memcpy(out, p + 1, OLM_KEY_B64);
    out[OLM_KEY_B64] = 0;
    return 0;
}

static int party_make(olm_party *p)
{
    size_t rlen, klen;
    uint8_t *rnd;
    char *keys;
    int r = -1;

    p->account = olm_account(malloc(olm_account_size()));
    rlen = olm_create_account_random_length(p->account);
    rnd = malloc(rlen);
    randombytes_buf(rnd, rlen);
    if (olm_create_account(p->account, rnd, rlen) == olm_error())
        goto out;
    klen = olm_account_identity_keys_length(p->account);
    keys = calloc(1, klen + 1);
    if (olm_account_identity_keys(p->account, keys, klen) != olm_error() &&
        json_value(keys, "\"curve25519\"", p->ik) == 0)
        r = json_value(keys, "\"ed25519\"", p->ed);
    free(keys);
out:
    free(rnd);
    return r;
}

/* B's one-time key: generate one, read it back ({"curve25519":{"<id>":"<key>"}}), mark it
 * published. */
static int otk_make(olm_state *st)
{
    size_t rlen = olm_account_generate_one_time_keys_random_length(st->b.account, 1), klen;
    uint8_t *rnd = malloc(rlen);
    char *keys = NULL;
    const char *p;
    int r = -1;

    randombytes_buf(rnd, rlen);
    if (olm_account_generate_one_time_keys(st->b.account, 1, rnd, rlen) == olm_error())
        goto out;
    klen = olm_account_one_time_keys_length(st->b.account);
    keys = calloc(1, klen + 1);
    if (olm_account_one_time_keys(st->b.account, keys, klen) == olm_error())
        goto out;
    p = strstr(keys, "\"curve25519\"");
    p = p ? strchr(p, '{') : NULL;
    p = p ? strchr(p, ':') : NULL;
    p = p ? strchr(p, '"') : NULL;
    if (p == NULL || strlen(p + 1) < OLM_KEY_B64)
        goto out;
    memcpy(st->otk, p + 1, OLM_KEY_B64);
    st->otk[OLM_KEY_B64] = 0;
    olm_account_mark_keys_as_published(st->b.account);
    r = 0;
out:
    free(keys);
    free(rnd);
    return r;
}

/* B signs the two messages the initiator will verify. */
static int signatures_make(olm_state *st)
{
    st->util = olm_utility(malloc(olm_utility_size()));
    for (int i = 0; i < 2; i++) {
        randombytes_buf(st->signed_msg[i], signed_sizes[i]);
        if (olm_account_sign(st->b.account, st->signed_msg[i], signed_sizes[i], st->signature[i],
                             OLM_SIG_B64) == olm_error())
            return -1;
    }
    return 0;
}

/* Verifies B's two signatures as a Matrix client does before an outbound session. */
static int verify_signatures(olm_state *st)
{
    char sig[OLM_SIG_B64];

    for (int i = 0; i < 2; i++) {
        memcpy(sig, st->signature[i], OLM_SIG_B64); /* olm decodes the signature in place */
        if (olm_ed25519_verify(st->util, st->b.ed, OLM_KEY_B64, st->signed_msg[i], signed_sizes[i],
                               sig, OLM_SIG_B64) == olm_error()) {
            fprintf(stderr, "olm: verify: %s\n", olm_utility_last_error(st->util));
            return -1;
        }
    }
    return 0;
}

static OlmSession *outbound(olm_state *st)
{
    OlmSession *s = session_new();
    size_t rlen = olm_create_outbound_session_random_length(s);
    uint8_t rnd[128];

    randombytes_buf(rnd, rlen);
    if (olm_create_outbound_session(s, st->a.account, st->b.ik, OLM_KEY_B64, st->otk, OLM_KEY_B64,
                                    rnd, rlen) == olm_error()) {
        fprintf(stderr, "olm: outbound: %s\n", olm_session_last_error(s));
        session_free(s);
        return NULL;
    }
    return s;
}

/* Encrypts pt into out; returns the length or 0 on failure. */
static size_t encrypt(OlmSession *s, const uint8_t *pt, size_t len, uint8_t *out)
{
    uint8_t rnd[64];
    size_t rlen = olm_encrypt_random_length(s), n;

    randombytes_buf(rnd, rlen);
    n = olm_encrypt(s, pt, len, rnd, rlen, out, OLM_SLOT);
    if (n == olm_error()) {
        fprintf(stderr, "olm: encrypt: %s\n", olm_session_last_error(s));
        return 0;
    }
    return n;
}

/* Decrypts msg (destroying it); returns 0 when it holds message i of len bytes. */
static int decrypt(OlmSession *s, size_t type, uint8_t *msg, size_t msg_len, size_t len, unsigned i)
{
    uint8_t pt[OLM_SLOT];
    size_t n = olm_decrypt(s, type, msg, msg_len, pt, sizeof pt);

    if (n == olm_error()) {
        fprintf(stderr, "olm: decrypt: %s\n", olm_session_last_error(s));
        return -1;
    }
    return n == len ? bench_check_plaintext(pt, len, i) : -1;
}

/* A pair after one round trip, so that A's messages are ordinary ones. */
static int pair_make(olm_state *st, OlmSession **a, OlmSession **b)
{
    uint8_t msg[OLM_SLOT], copy[OLM_SLOT], pt[100];
    size_t n;

    bench_fill_plaintext(pt, sizeof pt, 0);
    *a = outbound(st);
    *b = session_new();
    if (*a == NULL || *b == NULL || (n = encrypt(*a, pt, sizeof pt, msg)) == 0)
        return -1;
    memcpy(copy, msg, n);
    if (olm_create_inbound_session(*b, st->b.account, copy, n) == olm_error() ||
        decrypt(*b, OLM_MESSAGE_TYPE_PRE_KEY, msg, n, 100, 0) != 0)
        return -1;
    if ((n = encrypt(*b, pt, sizeof pt, msg)) == 0 ||
        decrypt(*a, OLM_MESSAGE_TYPE_MESSAGE, msg, n, 100, 0) != 0)
        return -1;
    return 0;
}

static void olm_state_close(void *state)
{
    olm_state *st = state;

    if (st == NULL)
        return;
    session_free(st->chain_a);
    session_free(st->chain_b);
    session_free(st->ratchet_a);
    session_free(st->ratchet_b);
    account_free(st->a.account);
    account_free(st->b.account);
    if (st->util) {
        olm_clear_utility(st->util);
        free(st->util);
    }
    free(st->copies);
    free(st->msgs);
    free(st);
}

static void *olm_state_open(void)
{
    olm_state *st = calloc(1, sizeof *st);
    OlmSession *s;
    uint8_t pt[100];

    if (st == NULL)
        return NULL;
    if (party_make(&st->a) != 0 || party_make(&st->b) != 0 || otk_make(st) != 0 ||
        signatures_make(st) != 0 || verify_signatures(st) != 0)
        goto fail;
    if ((s = outbound(st)) == NULL)
        goto fail;
    bench_fill_plaintext(pt, sizeof pt, 0);
    st->first_len = encrypt(s, pt, sizeof pt, st->first);
    session_free(s);
    if (st->first_len == 0)
        goto fail;
    if (pair_make(st, &st->chain_a, &st->chain_b) != 0 ||
        pair_make(st, &st->ratchet_a, &st->ratchet_b) != 0)
        goto fail;
    st->copies = malloc(2u * BENCH_MAX_SETUP_BATCH * OLM_SLOT);
    st->msgs = malloc(BENCH_MAX_BATCH * OLM_SLOT);
    if (st->copies == NULL || st->msgs == NULL)
        goto fail;
    return st;
fail:
    fprintf(stderr, "olm: set-up failed\n");
    olm_state_close(st);
    return NULL;
}

static int olm_setup_initiator(void *state, unsigned n, uint64_t *ns)
{
    olm_state *st = state;
    uint64_t t0 = bench_now();
    unsigned i;

    for (i = 0; i < n; i++) {
        if (verify_signatures(st) != 0 || (st->setup[i] = outbound(st)) == NULL)
            break;
    }
    *ns += bench_now() - t0;
    for (unsigned j = 0; j < i; j++)
        session_free(st->setup[j]);
    return i == n ? 0 : -1;
}

/* Creates the inbound session and decrypts the message it came in, as pl_session_accept. */
static int olm_setup_responder(void *state, unsigned n, uint64_t *ns)
{
    olm_state *st = state;
    uint64_t t0;
    unsigned i;
    int bad = 0;

    for (i = 0; i < 2 * n; i++)
        memcpy(st->copies + i * OLM_SLOT, st->first, st->first_len);
    t0 = bench_now();
    for (i = 0; i < n; i++) {
        OlmSession *s = session_new();
        uint8_t *m1 = st->copies + 2 * i * OLM_SLOT, *m2 = m1 + OLM_SLOT;

        st->setup[i] = s;
        if (s == NULL ||
            olm_create_inbound_session(s, st->b.account, m1, st->first_len) == olm_error()) {
            bad = 1;
            i++;
            break;
        }
        bad |= decrypt(s, OLM_MESSAGE_TYPE_PRE_KEY, m2, st->first_len, 100, 0);
    }
    *ns += bench_now() - t0;
    for (unsigned j = 0; j < i; j++)
        session_free(st->setup[j]);
    if (bad)
        fprintf(stderr, "olm: inbound session failed\n");
    return bad ? -1 : 0;
}

static int olm_chain(void *state, size_t len, unsigned n, uint64_t *enc_ns, uint64_t *dec_ns)
{
    olm_state *st = state;
    uint8_t pt[BENCH_MAX_MSG];
    uint64_t t0;
    int bad = 0;

    bench_fill_plaintext(pt, len, 0);
    t0 = bench_now();
    for (unsigned i = 0; i < n; i++)
        st->msg_lens[i] = encrypt(st->chain_a, pt, len, st->msgs + i * OLM_SLOT);
    *enc_ns += bench_now() - t0;

    t0 = bench_now();
    for (unsigned i = 0; i < n; i++)
        bad |= decrypt(st->chain_b, OLM_MESSAGE_TYPE_MESSAGE, st->msgs + i * OLM_SLOT,
                       st->msg_lens[i], len, 0);
    *dec_ns += bench_now() - t0;
    return bad ? -1 : 0;
}

static int olm_ratchet(void *state, size_t len, unsigned n, uint64_t *enc_ns, uint64_t *dec_ns)
{
    olm_state *st = state;
    uint8_t msg[OLM_SLOT], pt[BENCH_MAX_MSG];

    for (unsigned i = 0; i < n; i++) {
        OlmSession *from = i % 2 ? st->ratchet_b : st->ratchet_a;
        OlmSession *to = i % 2 ? st->ratchet_a : st->ratchet_b;
        uint64_t t0, t1, t2;
        size_t m;
        int r;

        bench_fill_plaintext(pt, len, i);
        t0 = bench_now();
        m = encrypt(from, pt, len, msg);
        t1 = bench_now();
        r = m ? decrypt(to, OLM_MESSAGE_TYPE_MESSAGE, msg, m, len, i) : -1;
        t2 = bench_now();
        *enc_ns += t1 - t0;
        *dec_ns += t2 - t1;
        if (r != 0)
            return -1;
    }
    return 0;
}

const bench_impl bench_olm_impl = {
    .name = "libolm",
    .open = olm_state_open,
    .close = olm_state_close,
    .setup_initiator = olm_setup_initiator,
    .setup_responder = olm_setup_responder,
    .chain = olm_chain,
    .ratchet = olm_ratchet,
};
