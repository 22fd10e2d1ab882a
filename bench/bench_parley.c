/*
 * bench_parley.c: the operations parley-bench times, through libparley's public API.
 *
 * Initiator set-up is what a sender does with a fetched bundle: pl_bundle_verify (parse,
 * two signatures, key checks) then pl_session_initiate. Responder set-up is what a
 * receiver does with a first message: pl_prekey_message_parse then pl_session_accept,
 * which also decrypts the message (100 bytes) and takes one DH ratchet step. Every call
 * passes a NULL pl_rng, so randomness is drawn from the system inside the timed region.
 * Sessions are freed outside it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/parley.h"

#include "bench.h"

#define FIRST_LEN 100u
#define SLOT (BENCH_MAX_MSG + PL_MESSAGE_MAX_OVERHEAD)

typedef struct parley_state {
    pl_account *acct_a, *acct_b;
    pl_device *dev_a, *dev_b;
    pl_signed_prekey *spk;
    pl_onetime_prekey *opk;
    uint8_t acct_b_key[PL_PUBKEY_BYTES];
    uint8_t bundle[PL_BUNDLE_MAX_BYTES];
    size_t bundle_len;
    uint8_t first[FIRST_LEN + PL_MESSAGE_MAX_OVERHEAD];
    size_t first_len;
    pl_session *chain_a, *chain_b, *ratchet_a, *ratchet_b;
    pl_session *setup[BENCH_MAX_SETUP_BATCH];
    uint8_t *msgs; /* BENCH_MAX_BATCH slots */
    size_t msg_lens[BENCH_MAX_BATCH];
} parley_state;

static int fail(const char *what, int r)
{
    fprintf(stderr, "parley: %s: %s (%s)\n", what, pl_errname(r), pl_strerror(r));
    return -1;
}

/* A initiates with B's bundle, sends one prekey message, B accepts and replies, A
 * decrypts the reply: from here on both send ordinary ratchet messages. */
static int pair_make(parley_state *st, pl_session **a, pl_session **b)
{
    uint8_t pt[FIRST_LEN], msg[FIRST_LEN + PL_MESSAGE_MAX_OVERHEAD];
    size_t len, pt_len;
    pl_bundle bundle;
    int r;

    bench_fill_plaintext(pt, sizeof pt, 0);
    if ((r = pl_bundle_verify(st->bundle, st->bundle_len, st->acct_b_key, &bundle)) != 0)
        return fail("pl_bundle_verify", r);
    if ((r = pl_session_initiate(a, NULL, st->dev_a, &bundle)) != 0)
        return fail("pl_session_initiate", r);
    if ((r = pl_session_encrypt(*a, pt, sizeof pt, msg, sizeof msg, &len)) != 0)
        return fail("pl_session_encrypt", r);
    if ((r = pl_session_accept(b, NULL, st->dev_b, st->spk, st->opk, msg, len, pt, sizeof pt,
                               &pt_len)) != 0)
        return fail("pl_session_accept", r);
    if ((r = pl_session_encrypt(*b, pt, pt_len, msg, sizeof msg, &len)) != 0)
        return fail("pl_session_encrypt", r);
    if ((r = pl_session_decrypt(*a, NULL, msg, len, pt, sizeof pt, &pt_len)) != 0)
        return fail("pl_session_decrypt", r);
    if (pt_len != sizeof pt || bench_check_plaintext(pt, pt_len, 0) != 0)
        return fail("round trip", PL_E_DECRYPT);
    if (pl_message_kind(msg, len) != PL_MSG_RATCHET)
        return fail("reply kind", PL_E_MALFORMED);
    return 0;
}

static void parley_close(void *state)
{
    parley_state *st = state;

    if (st == NULL)
        return;
    pl_session_free(st->chain_a);
    pl_session_free(st->chain_b);
    pl_session_free(st->ratchet_a);
    pl_session_free(st->ratchet_b);
    pl_onetime_prekey_free(st->opk);
    pl_signed_prekey_free(st->spk);
    pl_device_free(st->dev_a);
    pl_device_free(st->dev_b);
    pl_account_free(st->acct_a);
    pl_account_free(st->acct_b);
    free(st->msgs);
    free(st);
}

static void *parley_open(void)
{
    parley_state *st = calloc(1, sizeof *st);
    uint8_t ik[PL_PUBKEY_BYTES], record[PL_DEVICE_RECORD_BYTES];
    uint8_t spk_pub[PL_SIGNED_PREKEY_PUBLIC_BYTES], opk_pub[PL_ONETIME_PREKEY_PUBLIC_BYTES];
    uint8_t pt[FIRST_LEN];
    pl_session *s = NULL;
    pl_bundle bundle;
    int r;

    if (st == NULL)
        return NULL;
    if ((r = pl_init()) != 0 || (r = pl_account_generate(&st->acct_a, NULL)) != 0 ||
        (r = pl_account_generate(&st->acct_b, NULL)) != 0 ||
        (r = pl_device_generate(&st->dev_a, NULL, 1)) != 0 ||
        (r = pl_device_generate(&st->dev_b, NULL, 1)) != 0) {
        fail("keys", r);
        goto fail;
    }
    pl_account_public_key(st->acct_b, st->acct_b_key);
    pl_device_identity_key(st->dev_b, ik);
    if ((r = pl_account_sign_device(st->acct_b, 1, ik, 1700000000u, record)) != 0 ||
        (r = pl_signed_prekey_generate(&st->spk, NULL, st->dev_b, 1, 1700000000u)) != 0 ||
        (r = pl_onetime_prekey_generate(&st->opk, NULL, 1)) != 0) {
        fail("prekeys", r);
        goto fail;
    }
    pl_signed_prekey_public(st->spk, spk_pub);
    pl_onetime_prekey_public(st->opk, opk_pub);
    if ((r = pl_bundle_encode(record, spk_pub, opk_pub, st->bundle, sizeof st->bundle,
                              &st->bundle_len)) != 0) {
        fail("pl_bundle_encode", r);
        goto fail;
    }

    bench_fill_plaintext(pt, sizeof pt, 0);
    if ((r = pl_bundle_verify(st->bundle, st->bundle_len, st->acct_b_key, &bundle)) != 0 ||
        (r = pl_session_initiate(&s, NULL, st->dev_a, &bundle)) != 0 ||
        (r = pl_session_encrypt(s, pt, sizeof pt, st->first, sizeof st->first, &st->first_len)) !=
            0) {
        fail("first message", r);
        goto fail;
    }
    pl_session_free(s);
    s = NULL;

    if (pair_make(st, &st->chain_a, &st->chain_b) != 0 ||
        pair_make(st, &st->ratchet_a, &st->ratchet_b) != 0)
        goto fail;
    st->msgs = malloc(BENCH_MAX_BATCH * SLOT);
    if (st->msgs == NULL)
        goto fail;
    return st;
fail:
    pl_session_free(s);
    parley_close(st);
    return NULL;
}

static int parley_setup_initiator(void *state, unsigned n, uint64_t *ns)
{
    parley_state *st = state;
    pl_bundle bundle;
    uint64_t t0 = bench_now();
    unsigned i;
    int r = 0;

    for (i = 0; i < n; i++) {
        if ((r = pl_bundle_verify(st->bundle, st->bundle_len, st->acct_b_key, &bundle)) != 0 ||
            (r = pl_session_initiate(&st->setup[i], NULL, st->dev_a, &bundle)) != 0)
            break;
    }
    *ns += bench_now() - t0;
    for (unsigned j = 0; j < i; j++)
        pl_session_free(st->setup[j]);
    return r ? fail("initiator set-up", r) : 0;
}

static int parley_setup_responder(void *state, unsigned n, uint64_t *ns)
{
    parley_state *st = state;
    pl_prekey_message_info info;
    uint8_t pt[FIRST_LEN];
    size_t pt_len = 0;
    uint64_t t0 = bench_now();
    unsigned i;
    int r = 0;

    for (i = 0; i < n; i++) {
        /* The receiver parses first to find the prekeys the message names. */
        if ((r = pl_prekey_message_parse(st->first, st->first_len, &info)) != 0 ||
            (r = pl_session_accept(&st->setup[i], NULL, st->dev_b, st->spk,
                                   info.has_onetime_prekey ? st->opk : NULL, st->first,
                                   st->first_len, pt, sizeof pt, &pt_len)) != 0)
            break;
    }
    *ns += bench_now() - t0;
    for (unsigned j = 0; j < i; j++)
        pl_session_free(st->setup[j]);
    if (r == 0 && (pt_len != FIRST_LEN || bench_check_plaintext(pt, pt_len, 0) != 0))
        r = PL_E_DECRYPT;
    return r ? fail("responder set-up", r) : 0;
}

static int parley_chain(void *state, size_t len, unsigned n, uint64_t *enc_ns, uint64_t *dec_ns)
{
    parley_state *st = state;
    uint8_t pt[SLOT];
    size_t pt_len = 0;
    uint64_t t0;
    int r = 0;

    bench_fill_plaintext(pt, len, 0);
    t0 = bench_now();
    for (unsigned i = 0; i < n && r == 0; i++)
        r = pl_session_encrypt(st->chain_a, pt, len, st->msgs + i * SLOT, SLOT, &st->msg_lens[i]);
    *enc_ns += bench_now() - t0;
    if (r != 0)
        return fail("pl_session_encrypt", r);

    t0 = bench_now();
    for (unsigned i = 0; i < n && r == 0; i++)
        r = pl_session_decrypt(st->chain_b, NULL, st->msgs + i * SLOT, st->msg_lens[i], pt,
                               sizeof pt, &pt_len);
    *dec_ns += bench_now() - t0;
    if (r == 0 && (pt_len != len || bench_check_plaintext(pt, len, 0) != 0))
        r = PL_E_DECRYPT;
    return r ? fail("pl_session_decrypt (chain)", r) : 0;
}

static int parley_ratchet(void *state, size_t len, unsigned n, uint64_t *enc_ns, uint64_t *dec_ns)
{
    parley_state *st = state;
    uint8_t pt[SLOT], msg[SLOT];

    for (unsigned i = 0; i < n; i++) {
        pl_session *from = i % 2 ? st->ratchet_b : st->ratchet_a;
        pl_session *to = i % 2 ? st->ratchet_a : st->ratchet_b;
        size_t msg_len = 0, pt_len = 0;
        uint64_t t0, t1, t2;
        int r;

        bench_fill_plaintext(pt, len, i);
        t0 = bench_now();
        r = pl_session_encrypt(from, pt, len, msg, sizeof msg, &msg_len);
        t1 = bench_now();
        if (r == 0)
            r = pl_session_decrypt(to, NULL, msg, msg_len, pt, sizeof pt, &pt_len);
        t2 = bench_now();
        *enc_ns += t1 - t0;
        *dec_ns += t2 - t1;
        if (r == 0 && (pt_len != len || bench_check_plaintext(pt, len, i) != 0))
            r = PL_E_DECRYPT;
        if (r != 0)
            return fail("ratchet round", r);
    }
    return 0;
}

const bench_impl bench_parley_impl = {
    .name = "parley",
    .open = parley_open,
    .close = parley_close,
    .setup_initiator = parley_setup_initiator,
    .setup_responder = parley_setup_responder,
    .chain = parley_chain,
    .ratchet = parley_ratchet,
};
