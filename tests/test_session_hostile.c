/*
 * test_session_hostile.c: black-box tests of parley/session.h against hostile input:
 * every byte of ratchet and prekey messages tampered with, substituted identities, messages
 * from other sessions, malleable keys, prekey ids that do not match, oversized and
 * undecodable messages, and unusable keys in a bundle.
 *
 * Every failing call is checked to change nothing: the session saves to the same bytes
 * before and after it (fx_snapshot), and the next genuine message still decrypts.
 */
#include "fixture.h"
#include "session_helpers.h"

/* ---- Tampering ------------------------------------------------------------------------------- */

/* Flips every byte of a ratchet message (two bit patterns each) and cuts it at every length:
 * each is rejected with the error its position calls for, and changes nothing. The message is
 * one that skips a key, so a half-committed skip would show. */
static void tampered_ratchet_message_is_rejected_and_changes_nothing(void **state)
{
    fx_pair x;
    fx_msg m[3];
    fx_snapshot snap;
    uint8_t *copy;
    uint64_t calls;

    (void)state;
    fx_pair_establish(&x, 1);
    for (unsigned i = 0; i < 3; i++)
        fx_msg_make(&m[i], x.a, "tamper target", i);
    fx_decrypt_expect(x.b, &x.bob.rng, m[0].bytes, m[0].len, m[0].text, m[0].text_len);
    assert_int_equal(m[2].len, RM_BODY + m[2].text_len + PL_AEAD_TAG_BYTES);
    assert_int_equal(m[2].bytes[RM_KEY], PL_KEY_TYPE_X25519);
    snap = fx_snap(x.b);
    calls = x.bob.rng_state.calls;
    copy = fx_malloc(m[2].len + 1);
    for (size_t i = 0; i < m[2].len; i++) {
        for (size_t k = 0; k < sizeof flip_masks; k++) {
            int r;

            memcpy(copy, m[2].bytes, m[2].len);
            copy[i] ^= flip_masks[k];
            r = decrypt_rejected(x.b, &x.bob.rng, copy, m[2].len, "flipped byte", i);
            if (i == RM_VERSION || i == RM_KIND || i == RM_KEY)
                FX_RC_IN(r, PL_E_VERSION, PL_E_MALFORMED, PL_E_TRUNCATED, PL_E_KEY_TYPE,
                         PL_E_SESSION_MISMATCH);
            else if (i < RM_PN)
                FX_RC_IN(r, PL_E_DECRYPT, PL_E_BAD_KEY);
            else if (i < RM_BODY)
                FX_RC_IN(r, PL_E_DECRYPT, PL_E_REPLAY, PL_E_TOO_MANY_SKIPPED);
            else
                FX_RC(r, PL_E_DECRYPT);
            FX_UNCHANGED(x.b, &snap);
        }
    }
    for (size_t len = 0; len < m[2].len; len++) {
        memcpy(copy, m[2].bytes, len);
        FX_RC_IN(decrypt_rejected(x.b, &x.bob.rng, copy, len, "truncated", len), PL_E_TRUNCATED,
                 PL_E_MALFORMED, PL_E_DECRYPT);
        FX_UNCHANGED(x.b, &snap);
    }
    memcpy(copy, m[2].bytes, m[2].len);
    copy[m[2].len] = 0;
    FX_RC_IN(decrypt_rejected(x.b, &x.bob.rng, copy, m[2].len + 1, "extended", m[2].len),
             PL_E_DECRYPT, PL_E_MALFORMED);
    FX_UNCHANGED(x.b, &snap);
    /* PROTOCOL.md §6.4: the next ratchet key is drawn only after a tag verified. */
    assert_int_equal(x.bob.rng_state.calls, calls);

    fx_decrypt_expect(x.b, &x.bob.rng, m[2].bytes, m[2].len, m[2].text, m[2].text_len);
    fx_decrypt_expect(x.b, &x.bob.rng, m[1].bytes, m[1].len, m[1].text, m[1].text_len);
    free(copy);
    fx_snap_free(&snap);
    for (unsigned i = 0; i < 3; i++)
        fx_msg_free(&m[i]);
    fx_pair_free(&x);
}

/* Flips every byte of the first prekey message: pl_session_accept rejects each and creates
 * nothing; a flip in the ciphertext is PL_E_DECRYPT. Then a later prekey message, flipped
 * byte by byte, is rejected by the session it belongs to without changing it. */
static void tampered_prekey_messages_are_rejected_and_change_nothing(void **state)
{
    fx_pair x;
    fx_msg p[3];
    fx_snapshot snap;
    uint8_t *copy;

    (void)state;
    fx_pair_initiate(&x, 1);
    for (unsigned i = 0; i < 3; i++)
        fx_msg_make(&p[i], x.a, "prekey tamper", i);
    copy = fx_malloc(p[0].len + 1);
    for (size_t i = 0; i < p[0].len; i++) {
        for (size_t k = 0; k < sizeof flip_masks; k++) {
            int r;

            memcpy(copy, p[0].bytes, p[0].len);
            copy[i] ^= flip_masks[k];
            r = accept_rejected(&x.bob, x.bob.spk, x.bob.opk, copy, p[0].len, "flipped", i);
            if (i >= p[0].len - p[0].text_len - PL_AEAD_TAG_BYTES)
                FX_RC(r, PL_E_DECRYPT);
        }
    }
    for (size_t len = 0; len < p[0].len; len++) {
        memcpy(copy, p[0].bytes, len);
        accept_rejected(&x.bob, x.bob.spk, x.bob.opk, copy, len, "truncated", len);
    }
    x.b = fx_accept(&x.bob, p[0].bytes, p[0].len, p[0].text, p[0].text_len);
    free(copy);

    /* p[2] skips p[1]: a half-committed skip would show in the snapshot. */
    snap = fx_snap(x.b);
    copy = fx_malloc(p[2].len);
    for (size_t i = 0; i < p[2].len; i++) {
        for (size_t k = 0; k < sizeof flip_masks; k++) {
            int r;

            memcpy(copy, p[2].bytes, p[2].len);
            copy[i] ^= flip_masks[k];
            r = decrypt_rejected(x.b, &x.bob.rng, copy, p[2].len, "flipped later prekey", i);
            if (i >= p[2].len - p[2].text_len - PL_AEAD_TAG_BYTES)
                FX_RC(r, PL_E_DECRYPT);
            FX_UNCHANGED(x.b, &snap);
        }
    }
    fx_decrypt_expect(x.b, &x.bob.rng, p[2].bytes, p[2].len, p[2].text, p[2].text_len);
    fx_decrypt_expect(x.b, &x.bob.rng, p[1].bytes, p[1].len, p[1].text, p[1].text_len);
    free(copy);
    fx_snap_free(&snap);
    for (unsigned i = 0; i < 3; i++)
        fx_msg_free(&p[i]);
    fx_pair_free(&x);
}

/* A prekey message whose sender identity key is replaced by Carol's: X3DH binds the
 * initiator's identity, so Bob cannot be made to think Carol sent it. */
static void prekey_message_with_substituted_sender_identity_is_decrypt_error(void **state)
{
    fx_pair x;
    fx_party carol;
    fx_msg p0;
    size_t at;

    (void)state;
    fx_pair_initiate(&x, 1);
    fx_party_init(&carol, 0xC0);
    fx_msg_make(&p0, x.a, "from Alice", 0);
    at = find_bytes(p0.bytes, p0.len, x.alice.identity_key, PL_PUBKEY_BYTES);
    memcpy(p0.bytes + at, carol.identity_key, PL_PUBKEY_BYTES);
    FX_RC(accept_rejected(&x.bob, x.bob.spk, x.bob.opk, p0.bytes, p0.len, "carol's identity", at),
          PL_E_DECRYPT);
    fx_msg_free(&p0);
    fx_party_free(&carol);
    fx_pair_free(&x);
}

/* Messages of a session between other identities (Carol and Bob) are rejected by the session
 * between Alice and Bob, in both directions, and change nothing. */
static void message_from_a_session_between_other_identities_is_rejected(void **state)
{
    fx_pair x;
    fx_party carol;
    pl_bundle bundle;
    pl_session *c = NULL, *bc;
    fx_msg c0, rc, c1, a1;
    fx_snapshot snap_a, snap_b;

    (void)state;
    fx_pair_establish(&x, 1);
    fx_party_init(&carol, 0xC0);
    fx_bundle(&x.bob, 0, &bundle);
    FX_RC(pl_session_initiate(&c, &carol.rng, carol.device, &bundle), PL_OK);
    fx_msg_make(&c0, c, "from Carol", 0);
    bc = fx_accept(&x.bob, c0.bytes, c0.len, c0.text, c0.text_len);
    fx_msg_make(&rc, bc, "to Carol", 0);
    fx_decrypt_expect(c, &carol.rng, rc.bytes, rc.len, rc.text, rc.text_len);
    fx_msg_make(&c1, c, "from Carol", 1);
    assert_int_equal(pl_message_kind(c1.bytes, c1.len), PL_MSG_RATCHET);

    snap_a = fx_snap(x.a);
    snap_b = fx_snap(x.b);
    FX_RC(decrypt_rejected(x.b, &x.bob.rng, c1.bytes, c1.len, "Carol's ratchet message", 0),
          PL_E_DECRYPT);
    FX_UNCHANGED(x.b, &snap_b);
    FX_RC(decrypt_rejected(x.b, &x.bob.rng, c0.bytes, c0.len, "Carol's prekey message", 0),
          PL_E_SESSION_MISMATCH);
    FX_UNCHANGED(x.b, &snap_b);
    FX_RC(decrypt_rejected(x.a, &x.alice.rng, rc.bytes, rc.len, "Bob's message to Carol", 0),
          PL_E_DECRYPT);
    FX_UNCHANGED(x.a, &snap_a);

    fx_msg_make(&a1, x.a, "still Alice", 0);
    FX_RC(decrypt_rejected(bc, &x.bob.rng, a1.bytes, a1.len, "Alice's message to Carol's", 0),
          PL_E_DECRYPT);
    fx_decrypt_expect(x.b, &x.bob.rng, a1.bytes, a1.len, a1.text, a1.text_len);
    fx_decrypt_expect(bc, &x.bob.rng, c1.bytes, c1.len, c1.text, c1.text_len);

    fx_snap_free(&snap_a);
    fx_snap_free(&snap_b);
    fx_msg_free(&c0);
    fx_msg_free(&rc);
    fx_msg_free(&c1);
    fx_msg_free(&a1);
    pl_session_free(c);
    pl_session_free(bc);
    fx_party_free(&carol);
    fx_pair_free(&x);
}

/* ---- Hostile prekey messages and limits --------------------------------------------------- */

/* X25519 ignores the top bit of a public key, so a base key with that bit flipped gives the
 * same X3DH secret. If the responder accepted it, it would record a base key the initiator
 * never sent, and the initiator's later prekey messages (with the real base key) would then be
 * refused as another run. A tampered first message must be refused instead. */
static void prekey_message_with_top_bit_of_base_key_flipped_is_rejected(void **state)
{
    fx_pair x;
    fx_msg p0, p1;
    pl_prekey_message_info info;
    size_t at;

    (void)state;
    fx_pair_initiate(&x, 1);
    fx_msg_make(&p0, x.a, "first", 0);
    fx_msg_make(&p1, x.a, "second", 1);
    FX_RC(pl_prekey_message_parse(p0.bytes, p0.len, &info), PL_OK);
    at = find_bytes(p0.bytes, p0.len, info.base_key, PL_PUBKEY_BYTES);
    p0.bytes[at + PL_PUBKEY_BYTES - 1] ^= 0x80;
    accept_rejected(&x.bob, x.bob.spk, x.bob.opk, p0.bytes, p0.len, "base key top bit", at);
    /* The genuine messages still set the session up and go on in it. */
    p0.bytes[at + PL_PUBKEY_BYTES - 1] ^= 0x80;
    x.b = fx_accept(&x.bob, p0.bytes, p0.len, p0.text, p0.text_len);
    fx_decrypt_expect(x.b, &x.bob.rng, p1.bytes, p1.len, p1.text, p1.text_len);
    fx_msg_free(&p0);
    fx_msg_free(&p1);
    fx_pair_free(&x);
}

/* A later prekey message of the same run, with its signed or one-time prekey id changed: it no
 * longer describes the run the session was set up from, and must not be accepted as if it did.
 * (The session stores both ids, PROTOCOL.md §9.2.) */
static void later_prekey_message_with_other_prekey_ids_is_rejected(void **state)
{
    fx_pair x;
    fx_msg p0, p1;
    pl_prekey_message_info info;
    fx_snapshot snap;
    uint8_t id[4];
    size_t at;

    (void)state;
    fx_pair_initiate(&x, 1);
    fx_msg_make(&p0, x.a, "first", 0);
    fx_msg_make(&p1, x.a, "second", 1);
    x.b = fx_accept(&x.bob, p0.bytes, p0.len, p0.text, p0.text_len);
    FX_RC(pl_prekey_message_parse(p1.bytes, p1.len, &info), PL_OK);
    /* §7.2: the two u32 ids follow identity and base key. */
    at = find_bytes(p1.bytes, p1.len, info.base_key, PL_PUBKEY_BYTES) + PL_PUBKEY_BYTES;
    id[0] = (uint8_t)(info.signed_prekey_id >> 24);
    id[1] = (uint8_t)(info.signed_prekey_id >> 16);
    id[2] = (uint8_t)(info.signed_prekey_id >> 8);
    id[3] = (uint8_t)info.signed_prekey_id;
    assert_memory_equal(p1.bytes + at, id, 4);
    snap = fx_snap(x.b);
    for (size_t i = at; i < at + 8; i++) {
        p1.bytes[i] ^= 0x01;
        FX_RC_IN(decrypt_rejected(x.b, &x.bob.rng, p1.bytes, p1.len, "prekey id", i),
                 PL_E_SESSION_MISMATCH, PL_E_DECRYPT);
        FX_UNCHANGED(x.b, &snap);
        p1.bytes[i] ^= 0x01;
    }
    fx_decrypt_expect(x.b, &x.bob.rng, p1.bytes, p1.len, p1.text, p1.text_len);
    fx_snap_free(&snap);
    fx_msg_free(&p0);
    fx_msg_free(&p1);
    fx_pair_free(&x);
}

/* PROTOCOL.md §6.4 step 1: a message whose body would hold more than PL_MAX_PLAINTEXT_BYTES is
 * refused before any key is derived. */
static void incoming_message_over_the_plaintext_limit_is_too_large(void **state)
{
    const size_t len = PL_RATCHET_HEADER_BYTES + PL_MAX_PLAINTEXT_BYTES + 1 + PL_AEAD_TAG_BYTES;
    fx_pair x;
    fx_msg m;
    fx_snapshot snap;
    uint8_t *big = fx_malloc(len);

    (void)state;
    fx_pair_establish(&x, 1);
    fx_msg_make(&m, x.a, "small", 0);
    memset(big, 0x33, len);
    memcpy(big, m.bytes, PL_RATCHET_HEADER_BYTES);
    snap = fx_snap(x.b);
    FX_RC(decrypt_rejected(x.b, &x.bob.rng, big, len, "oversized", len), PL_E_TOO_LARGE);
    FX_UNCHANGED(x.b, &snap);
    fx_decrypt_expect(x.b, &x.bob.rng, m.bytes, m.len, m.text, m.text_len);
    fx_snap_free(&snap);
    fx_msg_free(&m);
    free(big);
    fx_pair_free(&x);
}

/* ---- Decoding -------------------------------------------------------------------------------- */

static void message_kind_and_prekey_parse_reject_what_they_cannot_decode(void **state)
{
    fx_pair x;
    fx_msg p0, r0;
    pl_prekey_message_info info;
    uint8_t copy[256];
    pl_session *none = NULL;

    (void)state;
    fx_pair_initiate(&x, 1);
    fx_msg_make(&p0, x.a, "p", 0);
    assert_int_equal(pl_message_kind(p0.bytes, p0.len), PL_MSG_PREKEY);
    x.b = fx_accept(&x.bob, p0.bytes, p0.len, p0.text, p0.text_len);
    fx_msg_make(&r0, x.b, "r", 0);
    assert_int_equal(pl_message_kind(r0.bytes, r0.len), PL_MSG_RATCHET);
    assert_true(p0.len <= sizeof copy && r0.len <= sizeof copy);

    assert_true(pl_message_kind(p0.bytes, 0) < 0);
    assert_true(pl_message_kind(p0.bytes, 1) < 0);
    memcpy(copy, r0.bytes, r0.len);
    copy[RM_KIND] = 0x00;
    assert_true(pl_message_kind(copy, r0.len) < 0);
    copy[RM_KIND] = 0x03;
    assert_true(pl_message_kind(copy, r0.len) < 0);

    /* The X3DH part of a ratchet message does not exist. */
    memset(&info, 0xEE, sizeof info);
    assert_true(pl_prekey_message_parse(r0.bytes, r0.len, &info) < 0);
    FX_ZEROED(&info, sizeof info);
    /* No prefix shorter than the smallest X3DH part parses. */
    for (size_t len = 0; len < PL_PREKEY_PREFIX_MAX_BYTES - 4; len++) {
        memset(&info, 0xEE, sizeof info);
        FX_RC_IN(pl_prekey_message_parse(p0.bytes, len, &info), PL_E_TRUNCATED, PL_E_MALFORMED);
        FX_ZEROED(&info, sizeof info);
    }
    /* Accept refuses a ratchet message. */
    assert_true(pl_session_accept(&none, &x.bob.rng, x.bob.device, x.bob.spk, x.bob.opk, r0.bytes,
                                  r0.len, copy, sizeof copy, &(size_t){0}) < 0);
    assert_null(none);
    fx_msg_free(&p0);
    fx_msg_free(&r0);
    fx_pair_free(&x);
}

static void unusable_peer_key_in_bundle_is_bad_key(void **state)
{
    fx_party alice, bob;
    pl_bundle good, bad;
    pl_session *s = NULL;

    (void)state;
    fx_party_init(&alice, 0xA1);
    fx_party_init(&bob, 0xB0);
    fx_bundle(&bob, 1, &good);
    /* The all-zero X25519 key is of small order: every DH with it is zero. */
    bad = good;
    memset(bad.signed_prekey.key + 1, 0, PL_RAW_KEY_BYTES);
    FX_RC(pl_session_initiate(&s, &alice.rng, alice.device, &bad), PL_E_BAD_KEY);
    assert_null(s);
    bad = good;
    memset(bad.onetime_prekey + 1, 0, PL_RAW_KEY_BYTES);
    FX_RC(pl_session_initiate(&s, &alice.rng, alice.device, &bad), PL_E_BAD_KEY);
    assert_null(s);
    fx_party_free(&alice);
    fx_party_free(&bob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tampered_ratchet_message_is_rejected_and_changes_nothing),
        cmocka_unit_test(tampered_prekey_messages_are_rejected_and_change_nothing),
        cmocka_unit_test(prekey_message_with_substituted_sender_identity_is_decrypt_error),
        cmocka_unit_test(message_from_a_session_between_other_identities_is_rejected),
        cmocka_unit_test(prekey_message_with_top_bit_of_base_key_flipped_is_rejected),
        cmocka_unit_test(later_prekey_message_with_other_prekey_ids_is_rejected),
        cmocka_unit_test(incoming_message_over_the_plaintext_limit_is_too_large),
        cmocka_unit_test(message_kind_and_prekey_parse_reject_what_they_cannot_decode),
        cmocka_unit_test(unusable_peer_key_in_bundle_is_bad_key),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
