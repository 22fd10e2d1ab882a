/*
 * test_session.c: black-box tests of parley/session.h: X3DH set-up (with and without a
 * one-time prekey), prekey messages before the first reply, replays, sizes, buffers, and
 * saving and loading in the middle of a conversation. Tampering and hostile input are in
 * test_session_hostile.c.
 *
 * Every failing call is checked to change nothing: the session saves to the same bytes
 * before and after it (fx_snapshot), and the next genuine message still decrypts.
 */
#include "fixture.h"
#include "session_helpers.h"

/* ---- Conversations ------------------------------------------------------------------------- */

static void conversation_both_ways_decrypts_every_message(void **state)
{
    fx_pair x;
    uint8_t peer[PL_PUBKEY_BYTES];
    unsigned sent = 0;

    (void)state;
    fx_pair_establish(&x, 1);
    pl_session_peer_identity(x.a, peer);
    assert_memory_equal(peer, x.bob.identity_key, PL_PUBKEY_BYTES);
    pl_session_peer_identity(x.b, peer);
    assert_memory_equal(peer, x.alice.identity_key, PL_PUBKEY_BYTES);

    for (unsigned round = 0; round < 20; round++) {
        int from_alice = round % 2 == 0;
        pl_session *tx = from_alice ? x.a : x.b, *rx = from_alice ? x.b : x.a;
        const pl_rng *rng = from_alice ? &x.bob.rng : &x.alice.rng;

        for (unsigned i = 0; i <= round % 4; i++) {
            fx_msg m;

            fx_msg_make(&m, tx, from_alice ? "from Alice" : "from Bob", sent++);
            assert_int_equal(pl_message_kind(m.bytes, m.len), PL_MSG_RATCHET);
            fx_decrypt_expect(rx, rng, m.bytes, m.len, m.text, m.text_len);
            fx_msg_free(&m);
        }
        assert_int_equal(pl_session_skipped_keys(x.a), 0);
        assert_int_equal(pl_session_skipped_keys(x.b), 0);
    }
    fx_pair_free(&x);
}

/* Several prekey messages before the first reply, delivered out of order: the first to arrive
 * starts Bob's session, the rest decrypt in it; once Alice has a reply she sends ratchet
 * messages, and a prekey message that arrives even later still decrypts. */
static void prekey_messages_before_first_reply_decrypt_out_of_order(void **state)
{
    fx_pair x;
    fx_msg p[5], r0, a0;
    pl_prekey_message_info info[5];

    (void)state;
    fx_pair_initiate(&x, 1);
    for (unsigned i = 0; i < 4; i++) {
        fx_msg_make(&p[i], x.a, "early", i);
        assert_int_equal(pl_message_kind(p[i].bytes, p[i].len), PL_MSG_PREKEY);
        FX_RC(pl_prekey_message_parse(p[i].bytes, p[i].len, &info[i]), PL_OK);
        assert_memory_equal(info[i].sender_identity_key, x.alice.identity_key, PL_PUBKEY_BYTES);
        assert_int_equal(info[i].signed_prekey_id, pl_signed_prekey_id(x.bob.spk));
        assert_true(info[i].has_onetime_prekey);
        assert_int_equal(info[i].onetime_prekey_id, pl_onetime_prekey_id(x.bob.opk));
        assert_int_equal(info[i].base_key[0], PL_KEY_TYPE_X25519);
        /* One X3DH run: one base key. */
        assert_memory_equal(info[i].base_key, info[0].base_key, PL_PUBKEY_BYTES);
    }
    x.b = fx_accept(&x.bob, p[2].bytes, p[2].len, p[2].text, p[2].text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), 2);
    fx_decrypt_expect(x.b, &x.bob.rng, p[0].bytes, p[0].len, p[0].text, p[0].text_len);
    fx_decrypt_expect(x.b, &x.bob.rng, p[3].bytes, p[3].len, p[3].text, p[3].text_len);
    fx_decrypt_expect(x.b, &x.bob.rng, p[1].bytes, p[1].len, p[1].text, p[1].text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), 0);

    fx_msg_make(&r0, x.b, "reply", 0);
    assert_int_equal(pl_message_kind(r0.bytes, r0.len), PL_MSG_RATCHET);
    /* No reply received yet: still a prekey message. */
    fx_msg_make(&p[4], x.a, "early", 4);
    assert_int_equal(pl_message_kind(p[4].bytes, p[4].len), PL_MSG_PREKEY);
    FX_RC(pl_prekey_message_parse(p[4].bytes, p[4].len, &info[4]), PL_OK);
    assert_memory_equal(info[4].base_key, info[0].base_key, PL_PUBKEY_BYTES);

    fx_decrypt_expect(x.a, &x.alice.rng, r0.bytes, r0.len, r0.text, r0.text_len);
    fx_msg_make(&a0, x.a, "after reply", 0);
    assert_int_equal(pl_message_kind(a0.bytes, a0.len), PL_MSG_RATCHET);
    fx_decrypt_expect(x.b, &x.bob.rng, a0.bytes, a0.len, a0.text, a0.text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), 1);
    fx_decrypt_expect(x.b, &x.bob.rng, p[4].bytes, p[4].len, p[4].text, p[4].text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), 0);

    for (unsigned i = 0; i < 5; i++)
        fx_msg_free(&p[i]);
    fx_msg_free(&r0);
    fx_msg_free(&a0);
    fx_pair_free(&x);
}

static void bundle_without_onetime_prekey_is_accepted_with_null_opk(void **state)
{
    fx_pair x;
    pl_bundle bundle;
    pl_prekey_message_info info;
    fx_msg p0, r0, a0;

    (void)state;
    fx_pair_initiate(&x, 0);
    fx_bundle(&x.bob, 0, &bundle);
    assert_false(bundle.has_onetime_prekey);
    fx_msg_make(&p0, x.a, "no opk", 0);
    assert_int_equal(pl_message_kind(p0.bytes, p0.len), PL_MSG_PREKEY);
    FX_RC(pl_prekey_message_parse(p0.bytes, p0.len, &info), PL_OK);
    assert_false(info.has_onetime_prekey);
    assert_int_equal(info.signed_prekey_id, pl_signed_prekey_id(x.bob.spk));
    /* A one-time prekey the message does not name is not the prekey set it was made for. */
    FX_RC(accept_rejected(&x.bob, x.bob.spk, x.bob.opk, p0.bytes, p0.len, "extra opk", 0),
          PL_E_PREKEY_MISMATCH);
    x.b = fx_accept(&x.bob, p0.bytes, p0.len, p0.text, p0.text_len);
    fx_msg_make(&r0, x.b, "reply", 0);
    fx_decrypt_expect(x.a, &x.alice.rng, r0.bytes, r0.len, r0.text, r0.text_len);
    fx_msg_make(&a0, x.a, "ratchet", 0);
    assert_int_equal(pl_message_kind(a0.bytes, a0.len), PL_MSG_RATCHET);
    fx_decrypt_expect(x.b, &x.bob.rng, a0.bytes, a0.len, a0.text, a0.text_len);
    fx_msg_free(&p0);
    fx_msg_free(&r0);
    fx_msg_free(&a0);
    fx_pair_free(&x);
}

static void accept_with_other_prekeys_is_prekey_mismatch(void **state)
{
    fx_pair x;
    pl_signed_prekey *spk2 = NULL;
    pl_onetime_prekey *opk2 = NULL;
    fx_msg p0;

    (void)state;
    fx_pair_initiate(&x, 1);
    FX_RC(pl_signed_prekey_generate(&spk2, &x.bob.rng, x.bob.device, 555, FX_CREATED_AT), PL_OK);
    FX_RC(pl_onetime_prekey_generate(&opk2, &x.bob.rng, 777), PL_OK);
    fx_msg_make(&p0, x.a, "hello", 0);

    FX_RC(accept_rejected(&x.bob, spk2, x.bob.opk, p0.bytes, p0.len, "wrong spk", 0),
          PL_E_PREKEY_MISMATCH);
    FX_RC(accept_rejected(&x.bob, x.bob.spk, NULL, p0.bytes, p0.len, "missing opk", 0),
          PL_E_PREKEY_MISMATCH);
    FX_RC(accept_rejected(&x.bob, x.bob.spk, opk2, p0.bytes, p0.len, "wrong opk", 0),
          PL_E_PREKEY_MISMATCH);
    FX_RC(accept_rejected(&x.bob, spk2, opk2, p0.bytes, p0.len, "both wrong", 0),
          PL_E_PREKEY_MISMATCH);
    x.b = fx_accept(&x.bob, p0.bytes, p0.len, p0.text, p0.text_len);
    fx_msg_free(&p0);
    pl_signed_prekey_free(spk2);
    pl_onetime_prekey_free(opk2);
    fx_pair_free(&x);
}

/* Prekeys that carry the named ids but other keys: the X3DH secret differs. */
static void accept_with_same_ids_but_other_keys_fails(void **state)
{
    fx_pair x;
    pl_rng_deterministic st;
    pl_rng other = tu_rng(&st, 0x99);
    pl_signed_prekey *spk2 = NULL;
    pl_onetime_prekey *opk2 = NULL;
    fx_msg p0;

    (void)state;
    fx_pair_initiate(&x, 1);
    FX_RC(pl_signed_prekey_generate(&spk2, &other, x.bob.device, pl_signed_prekey_id(x.bob.spk),
                                    FX_CREATED_AT),
          PL_OK);
    FX_RC(pl_onetime_prekey_generate(&opk2, &other, pl_onetime_prekey_id(x.bob.opk)), PL_OK);
    fx_msg_make(&p0, x.a, "hello", 0);
    FX_RC_IN(accept_rejected(&x.bob, spk2, x.bob.opk, p0.bytes, p0.len, "other spk key", 0),
             PL_E_DECRYPT, PL_E_PREKEY_MISMATCH);
    FX_RC_IN(accept_rejected(&x.bob, x.bob.spk, opk2, p0.bytes, p0.len, "other opk key", 0),
             PL_E_DECRYPT, PL_E_PREKEY_MISMATCH);
    x.b = fx_accept(&x.bob, p0.bytes, p0.len, p0.text, p0.text_len);
    fx_msg_free(&p0);
    pl_signed_prekey_free(spk2);
    pl_onetime_prekey_free(opk2);
    fx_pair_free(&x);
}

static void prekey_message_from_another_x3dh_run_is_session_mismatch(void **state)
{
    fx_pair x;
    pl_bundle bundle;
    pl_session *a2 = NULL, *b2;
    fx_msg p0, q0, p1;
    fx_snapshot snap;

    (void)state;
    fx_pair_initiate(&x, 1);
    fx_msg_make(&p0, x.a, "run one", 0);
    x.b = fx_accept(&x.bob, p0.bytes, p0.len, p0.text, p0.text_len);

    /* Alice's device starts a second run with the same device of Bob. */
    fx_bundle(&x.bob, 0, &bundle);
    FX_RC(pl_session_initiate(&a2, &x.alice.rng, x.alice.device, &bundle), PL_OK);
    fx_msg_make(&q0, a2, "run two", 0);
    snap = fx_snap(x.b);
    FX_RC(decrypt_rejected(x.b, &x.bob.rng, q0.bytes, q0.len, "other run", 0),
          PL_E_SESSION_MISMATCH);
    FX_UNCHANGED(x.b, &snap);

    /* The first run goes on, and the second run's message starts its own session. */
    fx_msg_make(&p1, x.a, "run one", 1);
    fx_decrypt_expect(x.b, &x.bob.rng, p1.bytes, p1.len, p1.text, p1.text_len);
    b2 = fx_accept(&x.bob, q0.bytes, q0.len, q0.text, q0.text_len);

    fx_snap_free(&snap);
    fx_msg_free(&p0);
    fx_msg_free(&q0);
    fx_msg_free(&p1);
    pl_session_free(a2);
    pl_session_free(b2);
    fx_pair_free(&x);
}

/* ---- Replays --------------------------------------------------------------------------------- */

#define EXPECT_REPLAY(s, rng, m)                                                                   \
    do {                                                                                           \
        fx_snapshot snap_ = fx_snap(s);                                                            \
        FX_RC(decrypt_rejected((s), (rng), (m).bytes, (m).len, "replay", 0), PL_E_REPLAY);         \
        FX_UNCHANGED((s), &snap_);                                                                 \
        fx_snap_free(&snap_);                                                                      \
    } while (0)

static void replayed_messages_are_replay_errors_and_change_nothing(void **state)
{
    fx_pair x;
    fx_msg p[2], m[4], r0, n0;

    (void)state;
    fx_pair_initiate(&x, 1);
    fx_msg_make(&p[0], x.a, "prekey", 0);
    fx_msg_make(&p[1], x.a, "prekey", 1);
    x.b = fx_accept(&x.bob, p[0].bytes, p[0].len, p[0].text, p[0].text_len);
    /* The message that started the session, replayed into it. */
    EXPECT_REPLAY(x.b, &x.bob.rng, p[0]);
    fx_decrypt_expect(x.b, &x.bob.rng, p[1].bytes, p[1].len, p[1].text, p[1].text_len);
    EXPECT_REPLAY(x.b, &x.bob.rng, p[1]);
    EXPECT_REPLAY(x.b, &x.bob.rng, p[0]);

    fx_msg_make(&r0, x.b, "reply", 0);
    fx_decrypt_expect(x.a, &x.alice.rng, r0.bytes, r0.len, r0.text, r0.text_len);
    EXPECT_REPLAY(x.a, &x.alice.rng, r0);

    for (unsigned i = 0; i < 4; i++)
        fx_msg_make(&m[i], x.a, "ratchet", i);
    fx_decrypt_expect(x.b, &x.bob.rng, m[0].bytes, m[0].len, m[0].text, m[0].text_len);
    EXPECT_REPLAY(x.b, &x.bob.rng, m[0]); /* current chain */
    fx_decrypt_expect(x.b, &x.bob.rng, m[3].bytes, m[3].len, m[3].text, m[3].text_len);
    fx_decrypt_expect(x.b, &x.bob.rng, m[2].bytes, m[2].len, m[2].text, m[2].text_len);
    EXPECT_REPLAY(x.b, &x.bob.rng, m[2]); /* a used skipped key */
    EXPECT_REPLAY(x.b, &x.bob.rng, m[3]);

    /* Move both sides to new chains; old-chain messages stay replays, m[1] still decrypts. */
    fx_msg_free(&r0);
    fx_msg_make(&r0, x.b, "reply", 1);
    fx_decrypt_expect(x.a, &x.alice.rng, r0.bytes, r0.len, r0.text, r0.text_len);
    fx_msg_make(&n0, x.a, "new chain", 0);
    fx_decrypt_expect(x.b, &x.bob.rng, n0.bytes, n0.len, n0.text, n0.text_len);
    EXPECT_REPLAY(x.b, &x.bob.rng, m[0]);
    EXPECT_REPLAY(x.b, &x.bob.rng, m[3]);
    EXPECT_REPLAY(x.b, &x.bob.rng, p[1]);
    EXPECT_REPLAY(x.b, &x.bob.rng, n0);
    fx_decrypt_expect(x.b, &x.bob.rng, m[1].bytes, m[1].len, m[1].text, m[1].text_len);
    EXPECT_REPLAY(x.b, &x.bob.rng, m[1]);
    assert_int_equal(pl_session_skipped_keys(x.b), 0);

    for (unsigned i = 0; i < 4; i++)
        fx_msg_free(&m[i]);
    fx_msg_free(&p[0]);
    fx_msg_free(&p[1]);
    fx_msg_free(&r0);
    fx_msg_free(&n0);
    fx_pair_free(&x);
}

/* PROTOCOL.md §6.4: a session remembers the remote keys of its last 16 finished receiving
 * chains, so a replay from one of them is PL_E_REPLAY; from an older chain the message looks
 * like a DH step to an unknown key and fails to authenticate (PL_E_DECRYPT). Either way the
 * session is unchanged. */
static void replay_from_an_old_chain_changes_nothing(void **state)
{
    enum { RETIRED_CHAINS = 16 };
    fx_pair x;
    fx_msg old;

    (void)state;
    fx_pair_establish(&x, 1);
    fx_msg_make(&old, x.a, "old chain", 0);
    fx_decrypt_expect(x.b, &x.bob.rng, old.bytes, old.len, old.text, old.text_len);
    for (unsigned turns = 1; turns <= RETIRED_CHAINS + 1; turns++) {
        fx_msg r, m;

        /* One round trip: Bob's next receiving chain is a new one of Alice's. */
        fx_msg_make(&r, x.b, "turn", turns);
        fx_decrypt_expect(x.a, &x.alice.rng, r.bytes, r.len, r.text, r.text_len);
        fx_msg_make(&m, x.a, "new chain", turns);
        fx_decrypt_expect(x.b, &x.bob.rng, m.bytes, m.len, m.text, m.text_len);
        fx_msg_free(&r);
        fx_msg_free(&m);
        if (turns >= RETIRED_CHAINS) {
            fx_snapshot snap = fx_snap(x.b);

            FX_DECRYPT_FAILS(x.b, &x.bob.rng, old.bytes, old.len,
                             turns <= RETIRED_CHAINS ? PL_E_REPLAY : PL_E_DECRYPT);
            FX_UNCHANGED(x.b, &snap);
            fx_snap_free(&snap);
        }
    }
    fx_msg_free(&old);
    fx_pair_free(&x);
}

/* ---- Sizes and buffers ----------------------------------------------------------------------- */

static uint8_t *pattern(size_t len, uint8_t salt)
{
    uint8_t *p = fx_malloc(len);

    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 131u + salt + (i >> 8));
    return p;
}

static void empty_and_largest_plaintexts_round_trip(void **state)
{
    const size_t max = PL_MAX_PLAINTEXT_BYTES;
    uint8_t *big = pattern(max, 7);
    const uint8_t empty[1] = {0};
    fx_pair x, y;
    uint8_t *m;
    size_t len;

    (void)state;
    /* Largest first message (through accept), then empty, in both directions and phases. */
    fx_pair_initiate(&x, 1);
    m = fx_encrypt(x.a, big, max, &len);
    assert_int_equal(pl_message_kind(m, len), PL_MSG_PREKEY);
    x.b = fx_accept(&x.bob, m, len, big, max);
    free(m);
    m = fx_encrypt(x.a, empty, 0, &len);
    assert_int_equal(pl_message_kind(m, len), PL_MSG_PREKEY);
    fx_decrypt_expect(x.b, &x.bob.rng, m, len, empty, 0);
    free(m);
    m = fx_encrypt(x.b, big, max, &len);
    fx_decrypt_expect(x.a, &x.alice.rng, m, len, big, max);
    free(m);
    m = fx_encrypt(x.b, empty, 0, &len);
    fx_decrypt_expect(x.a, &x.alice.rng, m, len, empty, 0);
    free(m);
    m = fx_encrypt(x.a, big, max, &len);
    assert_int_equal(pl_message_kind(m, len), PL_MSG_RATCHET);
    fx_decrypt_expect(x.b, &x.bob.rng, m, len, big, max);
    free(m);
    m = fx_encrypt(x.a, empty, 0, &len);
    fx_decrypt_expect(x.b, &x.bob.rng, m, len, empty, 0);
    free(m);
    fx_pair_free(&x);

    /* An empty first message. */
    fx_pair_initiate(&y, 0);
    m = fx_encrypt(y.a, empty, 0, &len);
    y.b = fx_accept(&y.bob, m, len, empty, 0);
    free(m);
    fx_pair_free(&y);
    free(big);
}

static void plaintext_over_the_limit_is_too_large_and_changes_nothing(void **state)
{
    const size_t over = PL_MAX_PLAINTEXT_BYTES + 1;
    const size_t cap = over + PL_MESSAGE_MAX_OVERHEAD;
    uint8_t *big = pattern(over, 3), *out = fx_malloc(cap);
    fx_pair x;
    fx_snapshot snap;
    size_t len;

    (void)state;
    fx_pair_initiate(&x, 1);
    for (int phase = 0; phase < 3; phase++) {
        pl_session *s = phase == 2 ? x.b : x.a;

        if (phase == 1) {
            uint8_t *m = fx_encrypt_str(x.a, "hi", &len);

            x.b = fx_accept(&x.bob, m, len, "hi", 2);
            free(m);
            m = fx_encrypt_str(x.b, "yo", &len);
            fx_decrypt_str(x.a, &x.alice.rng, m, len, "yo");
            free(m);
        }
        snap = fx_snap(s);
        FX_RC(pl_session_encrypt(s, big, over, out, cap, &len), PL_E_TOO_LARGE);
        FX_UNCHANGED(s, &snap);
        fx_snap_free(&snap);
    }
    free(big);
    free(out);
    fx_pair_free(&x);
}

static const size_t sizes[] = {0,
                               1,
                               2,
                               15,
                               16,
                               17,
                               63,
                               64,
                               65,
                               255,
                               1000,
                               4096,
                               PL_MAX_PLAINTEXT_BYTES - 1,
                               PL_MAX_PLAINTEXT_BYTES};

/* fx_encrypt() checks out_len == pl_session_encrypted_size() for every message. */
static void encrypted_size_is_exact(void **state)
{
    uint8_t *big = pattern(PL_MAX_PLAINTEXT_BYTES, 11);
    size_t prekey_size[2] = {0, 0};
    fx_pair x;

    (void)state;
    for (int with_opk = 0; with_opk < 2; with_opk++) {
        fx_pair_initiate(&x, with_opk);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t len, want = pl_session_encrypted_size(x.a, sizes[i]);
            uint8_t *m = fx_encrypt(x.a, big, sizes[i], &len);

            assert_int_equal(pl_message_kind(m, len), PL_MSG_PREKEY);
            assert_true(want <= sizes[i] + PL_MESSAGE_MAX_OVERHEAD);
            assert_true(want > sizes[i] + PL_RATCHET_HEADER_BYTES + PL_AEAD_TAG_BYTES);
            prekey_size[with_opk] = want - sizes[i];
            free(m);
        }
        fx_pair_free(&x);
    }
    /* With a one-time prekey the prefix is at its largest. */
    assert_int_equal(prekey_size[1], PL_MESSAGE_MAX_OVERHEAD);
    assert_true(prekey_size[0] < prekey_size[1]);

    fx_pair_establish(&x, 1);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int side = 0; side < 2; side++) {
            pl_session *s = side ? x.b : x.a;
            size_t len, want = pl_session_encrypted_size(s, sizes[i]);
            uint8_t *m = fx_encrypt(s, big, sizes[i], &len);

            assert_int_equal(pl_message_kind(m, len), PL_MSG_RATCHET);
            assert_int_equal(want, PL_RATCHET_HEADER_BYTES + sizes[i] + PL_AEAD_TAG_BYTES);
            fx_decrypt_expect(side ? x.a : x.b, side ? &x.alice.rng : &x.bob.rng, m, len, big,
                              sizes[i]);
            free(m);
        }
    }
    fx_pair_free(&x);
    free(big);
}

/* A too-small output buffer fails, changes nothing, and burns no message key: the next encrypt
 * gives exactly what a copy of the untouched session gives, and it decrypts. */
static void encrypt_into_a_small_buffer_is_buffer_too_small_and_changes_nothing(void **state)
{
    fx_pair x;
    uint8_t out[256];
    size_t need, len = 0;

    (void)state;
    fx_pair_initiate(&x, 1);
    for (int phase = 0; phase < 2; phase++) {
        pl_session *copy = NULL;
        fx_snapshot snap;
        uint8_t *want, *got;
        size_t want_len, got_len;

        need = pl_session_encrypted_size(x.a, 10);
        assert_true(need <= sizeof out);
        snap = fx_snap(x.a);
        FX_RC(pl_session_encrypt(x.a, (const uint8_t *)"0123456789", 10, out, need - 1, &len),
              PL_E_BUFFER_TOO_SMALL);
        FX_RC(pl_session_encrypt(x.a, (const uint8_t *)"0123456789", 10, out, 0, &len),
              PL_E_BUFFER_TOO_SMALL);
        FX_UNCHANGED(x.a, &snap);
        FX_RC(pl_session_load(&copy, snap.bytes, snap.len), PL_OK);
        want = fx_encrypt_str(copy, "0123456789", &want_len);
        got = fx_encrypt_str(x.a, "0123456789", &got_len);
        assert_int_equal(got_len, want_len);
        assert_memory_equal(got, want, got_len);
        if (phase == 0) {
            x.b = fx_accept(&x.bob, got, got_len, "0123456789", 10);
            free(got);
            got = fx_encrypt_str(x.b, "reply", &got_len);
            fx_decrypt_str(x.a, &x.alice.rng, got, got_len, "reply");
        } else {
            fx_decrypt_str(x.b, &x.bob.rng, got, got_len, "0123456789");
        }
        free(want);
        free(got);
        pl_session_free(copy);
        fx_snap_free(&snap);
    }
    fx_pair_free(&x);
}

static void decrypt_into_a_small_buffer_is_buffer_too_small_and_changes_nothing(void **state)
{
    fx_pair x;
    fx_msg p0, m[2], r0;
    uint8_t pt[64];
    size_t pt_len;
    pl_session *none = NULL;

    (void)state;
    fx_pair_initiate(&x, 1);
    fx_msg_make(&p0, x.a, "first message", 0);
    memset(pt, FX_SENTINEL, sizeof pt);
    FX_RC(pl_session_accept(&none, &x.bob.rng, x.bob.device, x.bob.spk, x.bob.opk, p0.bytes, p0.len,
                            pt, p0.text_len - 1, &pt_len),
          PL_E_BUFFER_TOO_SMALL);
    assert_null(none);
    FX_NO_PLAINTEXT(pt, sizeof pt);
    x.b = fx_accept(&x.bob, p0.bytes, p0.len, p0.text, p0.text_len);
    fx_msg_make(&r0, x.b, "reply", 0);
    fx_decrypt_expect(x.a, &x.alice.rng, r0.bytes, r0.len, r0.text, r0.text_len);

    /* m[0] starts a new receiving chain at Bob (a DH ratchet step); m[1] does not. */
    fx_msg_make(&m[0], x.a, "ratchet step", 0);
    fx_msg_make(&m[1], x.a, "same chain", 1);
    for (int i = 0; i < 2; i++) {
        fx_snapshot snap = fx_snap(x.b);

        memset(pt, FX_SENTINEL, sizeof pt);
        FX_RC(pl_session_decrypt(x.b, &x.bob.rng, m[i].bytes, m[i].len, pt, m[i].text_len - 1,
                                 &pt_len),
              PL_E_BUFFER_TOO_SMALL);
        FX_NO_PLAINTEXT(pt, sizeof pt);
        FX_RC(pl_session_decrypt(x.b, &x.bob.rng, m[i].bytes, m[i].len, pt, 0, &pt_len),
              PL_E_BUFFER_TOO_SMALL);
        FX_UNCHANGED(x.b, &snap);
        fx_decrypt_expect(x.b, &x.bob.rng, m[i].bytes, m[i].len, m[i].text, m[i].text_len);
        fx_snap_free(&snap);
    }
    fx_msg_free(&p0);
    fx_msg_free(&r0);
    fx_msg_free(&m[0]);
    fx_msg_free(&m[1]);
    fx_pair_free(&x);
}

/* ---- Determinism and persistence --------------------------------------------------------------
 */

static void deterministic_rng_gives_identical_transcripts(void **state)
{
    fx_pair *x = fx_malloc(sizeof *x), *y = fx_malloc(sizeof *y);

    (void)state;
    fx_pair_establish(x, 1);
    fx_pair_establish(y, 1);
    for (unsigned i = 0; i < 6; i++) {
        fx_msg mx, my;
        int from_a = (i / 2) % 2 == 0;

        fx_msg_make(&mx, from_a ? x->a : x->b, "same", i);
        fx_msg_make(&my, from_a ? y->a : y->b, "same", i);
        assert_int_equal(mx.len, my.len);
        assert_memory_equal(mx.bytes, my.bytes, mx.len);
        fx_decrypt_expect(from_a ? x->b : x->a, from_a ? &x->bob.rng : &x->alice.rng, mx.bytes,
                          mx.len, mx.text, mx.text_len);
        fx_decrypt_expect(from_a ? y->b : y->a, from_a ? &y->bob.rng : &y->alice.rng, my.bytes,
                          my.len, my.text, my.text_len);
        fx_msg_free(&mx);
        fx_msg_free(&my);
    }
    fx_pair_free(x);
    fx_pair_free(y);
    free(x);
    free(y);
}

/* Both parties are saved and reloaded at many points (before the first message, with prekey
 * messages outstanding, with skipped keys pending on each side) and the conversation goes on. */
static void save_and_load_mid_conversation_continues(void **state)
{
    fx_pair x;
    fx_msg p[3], r[3], a[3];

    (void)state;
    fx_pair_initiate(&x, 1);
    x.a = fx_reload(x.a); /* before anything was sent */
    for (unsigned i = 0; i < 3; i++)
        fx_msg_make(&p[i], x.a, "prekey", i);
    x.a = fx_reload(x.a); /* prekey messages outstanding */

    x.b = fx_accept(&x.bob, p[2].bytes, p[2].len, p[2].text, p[2].text_len);
    x.b = fx_reload(x.b);
    assert_int_equal(pl_session_skipped_keys(x.b), 2);
    fx_decrypt_expect(x.b, &x.bob.rng, p[0].bytes, p[0].len, p[0].text, p[0].text_len);
    x.b = fx_reload(x.b);
    assert_int_equal(pl_session_skipped_keys(x.b), 1);

    for (unsigned i = 0; i < 3; i++)
        fx_msg_make(&r[i], x.b, "reply", i);
    x.b = fx_reload(x.b);
    fx_decrypt_expect(x.a, &x.alice.rng, r[2].bytes, r[2].len, r[2].text, r[2].text_len);
    x.a = fx_reload(x.a);
    assert_int_equal(pl_session_skipped_keys(x.a), 2);

    for (unsigned i = 0; i < 3; i++) {
        fx_msg_make(&a[i], x.a, "ratchet", i);
        assert_int_equal(pl_message_kind(a[i].bytes, a[i].len), PL_MSG_RATCHET);
    }
    x.a = fx_reload(x.a);
    fx_decrypt_expect(x.b, &x.bob.rng, a[1].bytes, a[1].len, a[1].text, a[1].text_len);
    x.b = fx_reload(x.b);
    assert_int_equal(pl_session_skipped_keys(x.b), 2); /* p[1] and a[0] */
    fx_decrypt_expect(x.b, &x.bob.rng, p[1].bytes, p[1].len, p[1].text, p[1].text_len);
    x.b = fx_reload(x.b);
    fx_decrypt_expect(x.b, &x.bob.rng, a[0].bytes, a[0].len, a[0].text, a[0].text_len);
    fx_decrypt_expect(x.b, &x.bob.rng, a[2].bytes, a[2].len, a[2].text, a[2].text_len);
    x.b = fx_reload(x.b);
    assert_int_equal(pl_session_skipped_keys(x.b), 0);
    fx_decrypt_expect(x.a, &x.alice.rng, r[0].bytes, r[0].len, r[0].text, r[0].text_len);
    x.a = fx_reload(x.a);
    fx_decrypt_expect(x.a, &x.alice.rng, r[1].bytes, r[1].len, r[1].text, r[1].text_len);
    assert_int_equal(pl_session_skipped_keys(x.a), 0);

    /* And on: a reload after every message for a few rounds. */
    for (unsigned i = 0; i < 12; i++) {
        int from_a = (i / 3) % 2 == 0;
        fx_msg m;

        fx_msg_make(&m, from_a ? x.a : x.b, "after reloads", i);
        if (from_a)
            x.a = fx_reload(x.a);
        else
            x.b = fx_reload(x.b);
        fx_decrypt_expect(from_a ? x.b : x.a, from_a ? &x.bob.rng : &x.alice.rng, m.bytes, m.len,
                          m.text, m.text_len);
        if (from_a)
            x.b = fx_reload(x.b);
        else
            x.a = fx_reload(x.a);
        fx_msg_free(&m);
    }
    for (unsigned i = 0; i < 3; i++) {
        fx_msg_free(&p[i]);
        fx_msg_free(&r[i]);
        fx_msg_free(&a[i]);
    }
    fx_pair_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conversation_both_ways_decrypts_every_message),
        cmocka_unit_test(prekey_messages_before_first_reply_decrypt_out_of_order),
        cmocka_unit_test(bundle_without_onetime_prekey_is_accepted_with_null_opk),
        cmocka_unit_test(accept_with_other_prekeys_is_prekey_mismatch),
        cmocka_unit_test(accept_with_same_ids_but_other_keys_fails),
        cmocka_unit_test(prekey_message_from_another_x3dh_run_is_session_mismatch),
        cmocka_unit_test(replayed_messages_are_replay_errors_and_change_nothing),
        cmocka_unit_test(replay_from_an_old_chain_changes_nothing),
        cmocka_unit_test(empty_and_largest_plaintexts_round_trip),
        cmocka_unit_test(plaintext_over_the_limit_is_too_large_and_changes_nothing),
        cmocka_unit_test(encrypted_size_is_exact),
        cmocka_unit_test(encrypt_into_a_small_buffer_is_buffer_too_small_and_changes_nothing),
        cmocka_unit_test(decrypt_into_a_small_buffer_is_buffer_too_small_and_changes_nothing),
        cmocka_unit_test(deterministic_rng_gives_identical_transcripts),
        cmocka_unit_test(save_and_load_mid_conversation_continues),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
