/*
 * fixture.h: header-only helpers for the protocol-core tests (test_session.c,
 * test_ratchet_chaos.c, test_state.c, ...): parties with keys and bundles, an X3DH-started
 * session pair, and "nothing changed" snapshots of a session.
 *
 * Everything here is static inline because tests/CMakeLists.txt links each test with
 * testutil.c only. Every party draws from its own deterministic RNG (tu_rng) so that a
 * failure reproduces byte for byte.
 */
#ifndef PARLEY_TEST_FIXTURE_H
#define PARLEY_TEST_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parley/parley.h"
#include "testutil.h"

#define FX_CREATED_AT UINT64_C(1700000000)

/* ---- Return codes -------------------------------------------------------------------------- */

/* Fails the test unless got == want, naming both codes. */
#define FX_RC(got, want) fx_assert_rc((got), (want), __FILE__, __LINE__)
/* Fails the test unless got is one of the listed codes. */
#define FX_RC_IN(got, ...)                                                                         \
    fx_assert_rc_in((got), (const int[]){__VA_ARGS__},                                             \
                    sizeof((const int[]){__VA_ARGS__}) / sizeof(int), __FILE__, __LINE__)

static inline void fx_assert_rc(int got, int want, const char *file, int line)
{
    if (got != want) {
        print_error("got %s (%d), want %s (%d)\n", pl_errname(got), got, pl_errname(want), want);
        _fail(file, line);
    }
}

static inline void fx_assert_rc_in(int got, const int *set, size_t n, const char *file, int line)
{
    for (size_t i = 0; i < n; i++)
        if (got == set[i])
            return;
    print_error("got %s (%d), want one of:", pl_errname(got), got);
    for (size_t i = 0; i < n; i++)
        print_error(" %s", pl_errname(set[i]));
    print_error("\n");
    _fail(file, line);
}

/* Fails unless p[0..n) are all zero (what a failed call must leave in its outputs). */
#define FX_ZEROED(p, n) fx_assert_zeroed((const void *)(p), (n), __FILE__, __LINE__)

static inline void fx_assert_zeroed(const void *p, size_t n, const char *file, int line)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            print_error("byte %zu of %zu is 0x%02x, want zero\n", i, n, b[i]);
            _fail(file, line);
        }
    }
}

/* The sentinel a test writes into a plaintext buffer before a call that must fail. */
#define FX_SENTINEL 0xA5

/* Fails unless every byte of p[0..n) is zero or FX_SENTINEL: a failed call may zero its
 * plaintext output or leave it alone, but must not leave plaintext in it. (A plaintext byte that
 * happens to equal one of the two goes unnoticed; that only weakens the check.) */
#define FX_NO_PLAINTEXT(p, n) fx_assert_no_plaintext((const void *)(p), (n), __FILE__, __LINE__)

static inline void fx_assert_no_plaintext(const void *p, size_t n, const char *file, int line)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0 && b[i] != FX_SENTINEL) {
            print_error("byte %zu of %zu is 0x%02x: a failed call left output behind\n", i, n,
                        b[i]);
            _fail(file, line);
        }
    }
}

static inline void *fx_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    assert_non_null(p);
    return p;
}

/* ---- Parties ------------------------------------------------------------------------------- */

/* One account with one device, one signed prekey and one one-time prekey. Holds its own RNG
 * state, which the rng points into: never copy an fx_party. */
typedef struct fx_party {
    pl_rng_deterministic rng_state;
    pl_rng rng;
    pl_account *account;
    pl_device *device;
    pl_signed_prekey *spk;
    pl_onetime_prekey *opk;
    uint8_t account_key[PL_PUBKEY_BYTES];
    uint8_t identity_key[PL_PUBKEY_BYTES];
    uint8_t record[PL_DEVICE_RECORD_BYTES];
    uint8_t spk_public[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    uint8_t opk_public[PL_ONETIME_PREKEY_PUBLIC_BYTES];
} fx_party;

/* Device id seed, signed prekey id 100+seed, one-time prekey id 1000+seed. */
static inline void fx_party_init(fx_party *p, uint8_t seed)
{
    memset(p, 0, sizeof *p);
    p->rng = tu_rng(&p->rng_state, seed);
    FX_RC(pl_account_generate(&p->account, &p->rng), PL_OK);
    FX_RC(pl_device_generate(&p->device, &p->rng, seed), PL_OK);
    pl_account_public_key(p->account, p->account_key);
    pl_device_identity_key(p->device, p->identity_key);
    FX_RC(pl_account_sign_device(p->account, seed, p->identity_key, FX_CREATED_AT, p->record),
          PL_OK);
    FX_RC(pl_signed_prekey_generate(&p->spk, &p->rng, p->device, 100u + seed, FX_CREATED_AT),
          PL_OK);
    FX_RC(pl_onetime_prekey_generate(&p->opk, &p->rng, 1000u + seed), PL_OK);
    pl_signed_prekey_public(p->spk, p->spk_public);
    pl_onetime_prekey_public(p->opk, p->opk_public);
}

static inline void fx_party_free(fx_party *p)
{
    pl_onetime_prekey_free(p->opk);
    pl_signed_prekey_free(p->spk);
    pl_device_free(p->device);
    pl_account_free(p->account);
    memset(p, 0, sizeof *p);
}

/* Encodes p's bundle (with or without its one-time prekey) into out; returns its length. */
static inline size_t fx_bundle_bytes(const fx_party *p, int with_opk,
                                     uint8_t out[PL_BUNDLE_MAX_BYTES])
{
    size_t len = 0;

    FX_RC(pl_bundle_encode(p->record, p->spk_public, with_opk ? p->opk_public : NULL, out,
                           PL_BUNDLE_MAX_BYTES, &len),
          PL_OK);
    return len;
}

/* Encodes and verifies p's bundle, as an initiator does before pl_session_initiate(). */
static inline void fx_bundle(const fx_party *p, int with_opk, pl_bundle *out)
{
    uint8_t bytes[PL_BUNDLE_MAX_BYTES];
    size_t len = fx_bundle_bytes(p, with_opk, bytes);

    FX_RC(pl_bundle_verify(bytes, len, p->account_key, out), PL_OK);
}

/* ---- Messages ------------------------------------------------------------------------------ */

/* Encrypts pt with s into a malloc'd buffer of exactly pl_session_encrypted_size() bytes. */
static inline uint8_t *fx_encrypt(pl_session *s, const void *pt, size_t pt_len, size_t *len)
{
    size_t want = pl_session_encrypted_size(s, pt_len);
    uint8_t *msg = fx_malloc(want);

    *len = 0;
    FX_RC(pl_session_encrypt(s, pt, pt_len, msg, want, len), PL_OK);
    assert_int_equal(*len, want);
    return msg;
}

/* Encrypts a NUL-less string. */
static inline uint8_t *fx_encrypt_str(pl_session *s, const char *text, size_t *len)
{
    return fx_encrypt(s, text, strlen(text), len);
}

/* Decrypts msg with s and fails unless it gives exactly want[0..want_len). */
static inline void fx_decrypt_expect(pl_session *s, const pl_rng *rng, const uint8_t *msg,
                                     size_t len, const void *want, size_t want_len)
{
    uint8_t *pt = fx_malloc(len);
    size_t pt_len = (size_t)-1;

    FX_RC(pl_session_decrypt(s, rng, msg, len, pt, len, &pt_len), PL_OK);
    assert_int_equal(pt_len, want_len);
    if (want_len)
        assert_memory_equal(pt, want, want_len);
    free(pt);
}

static inline void fx_decrypt_str(pl_session *s, const pl_rng *rng, const uint8_t *msg, size_t len,
                                  const char *want)
{
    fx_decrypt_expect(s, rng, msg, len, want, strlen(want));
}

/* Decrypts msg with s, which must fail with `want` and leave no plaintext behind.
 * Returns nothing: the caller checks the session with an fx_snapshot. */
#define FX_DECRYPT_FAILS(s, rng, msg, len, want)                                                   \
    fx_decrypt_fails((s), (rng), (msg), (len), (want), __FILE__, __LINE__)

static inline void fx_decrypt_fails(pl_session *s, const pl_rng *rng, const uint8_t *msg,
                                    size_t len, int want, const char *file, int line)
{
    uint8_t *pt = fx_malloc(len);
    size_t pt_len = 0;
    int r;

    memset(pt, FX_SENTINEL, len);
    r = pl_session_decrypt(s, rng, msg, len, pt, len, &pt_len);
    fx_assert_rc(r, want, file, line);
    fx_assert_no_plaintext(pt, len, file, line);
    free(pt);
}

/* Accepts a PL_MSG_PREKEY message as p, with the prekeys it names (checked to be p's), and
 * fails unless it decrypts to want. Returns the new session. */
static inline pl_session *fx_accept(fx_party *p, const uint8_t *msg, size_t len, const void *want,
                                    size_t want_len)
{
    pl_prekey_message_info info;
    const pl_onetime_prekey *opk = NULL;
    pl_session *s = NULL;
    uint8_t *pt = fx_malloc(len);
    size_t pt_len = (size_t)-1;

    FX_RC(pl_prekey_message_parse(msg, len, &info), PL_OK);
    assert_int_equal(info.signed_prekey_id, pl_signed_prekey_id(p->spk));
    if (info.has_onetime_prekey) {
        assert_int_equal(info.onetime_prekey_id, pl_onetime_prekey_id(p->opk));
        opk = p->opk;
    }
    FX_RC(pl_session_accept(&s, &p->rng, p->device, p->spk, opk, msg, len, pt, len, &pt_len),
          PL_OK);
    assert_non_null(s);
    assert_int_equal(pt_len, want_len);
    if (want_len)
        assert_memory_equal(pt, want, want_len);
    free(pt);
    return s;
}

/* ---- Snapshots ----------------------------------------------------------------------------- */

typedef struct fx_snapshot {
    uint8_t *bytes;
    size_t len;
} fx_snapshot;

/* Saves s; pl_session_saved_size() must be exact. */
static inline fx_snapshot fx_snap(const pl_session *s)
{
    fx_snapshot snap;
    size_t cap = pl_session_saved_size(s);

    snap.bytes = fx_malloc(cap);
    snap.len = 0;
    FX_RC(pl_session_save(s, snap.bytes, cap, &snap.len), PL_OK);
    assert_int_equal(snap.len, cap);
    return snap;
}

static inline void fx_snap_free(fx_snapshot *snap)
{
    free(snap->bytes);
    snap->bytes = NULL;
    snap->len = 0;
}

/* Fails unless s saves to exactly the bytes of `before` (the proof that a call changed
 * nothing). */
#define FX_UNCHANGED(s, before) fx_assert_unchanged((s), (before), __FILE__, __LINE__)

static inline void fx_assert_unchanged(const pl_session *s, const fx_snapshot *before,
                                       const char *file, int line)
{
    fx_snapshot now = fx_snap(s);

    if (now.len != before->len || memcmp(now.bytes, before->bytes, now.len) != 0) {
        print_error("session state changed (saved %zu bytes before, %zu after)\n", before->len,
                    now.len);
        _fail(file, line);
    }
    fx_snap_free(&now);
}

/* Saves s, frees it, loads the saved bytes into a new session (which must save to the same
 * bytes and hold the same skipped keys) and returns it. */
static inline pl_session *fx_reload(pl_session *s)
{
    fx_snapshot before = fx_snap(s);
    size_t skipped = pl_session_skipped_keys(s);
    uint8_t peer[PL_PUBKEY_BYTES], peer2[PL_PUBKEY_BYTES];
    pl_session *loaded = NULL;

    pl_session_peer_identity(s, peer);
    pl_session_free(s);
    FX_RC(pl_session_load(&loaded, before.bytes, before.len), PL_OK);
    assert_non_null(loaded);
    FX_UNCHANGED(loaded, &before);
    assert_int_equal(pl_session_skipped_keys(loaded), skipped);
    pl_session_peer_identity(loaded, peer2);
    assert_memory_equal(peer, peer2, PL_PUBKEY_BYTES);
    fx_snap_free(&before);
    return loaded;
}

/* ---- A pair of parties ---------------------------------------------------------------------- */

typedef struct fx_pair {
    fx_party alice, bob;
    pl_session *a, *b; /* Alice's session with Bob's device and Bob's with Alice's */
} fx_pair;

/* Alice verifies Bob's bundle and initiates; Bob has no session yet. */
static inline void fx_pair_initiate(fx_pair *x, int with_opk)
{
    pl_bundle bundle;

    fx_party_init(&x->alice, 0xA1);
    fx_party_init(&x->bob, 0xB0);
    x->a = NULL;
    x->b = NULL;
    fx_bundle(&x->bob, with_opk, &bundle);
    FX_RC(pl_session_initiate(&x->a, &x->alice.rng, x->alice.device, &bundle), PL_OK);
    assert_non_null(x->a);
}

/* Initiates, Alice sends one prekey message, Bob accepts it, replies, Alice decrypts the reply:
 * after this both sides send PL_MSG_RATCHET messages. */
static inline void fx_pair_establish(fx_pair *x, int with_opk)
{
    uint8_t *m;
    size_t len;

    fx_pair_initiate(x, with_opk);
    m = fx_encrypt_str(x->a, "hello Bob", &len);
    assert_int_equal(pl_message_kind(m, len), PL_MSG_PREKEY);
    x->b = fx_accept(&x->bob, m, len, "hello Bob", 9);
    free(m);
    m = fx_encrypt_str(x->b, "hello Alice", &len);
    assert_int_equal(pl_message_kind(m, len), PL_MSG_RATCHET);
    fx_decrypt_str(x->a, &x->alice.rng, m, len, "hello Alice");
    free(m);
}

static inline void fx_pair_free(fx_pair *x)
{
    pl_session_free(x->a);
    pl_session_free(x->b);
    fx_party_free(&x->alice);
    fx_party_free(&x->bob);
}

/* A stored message: its bytes and the plaintext it must decrypt to. */
typedef struct fx_msg {
    uint8_t *bytes;
    size_t len;
    char text[48];
    size_t text_len;
} fx_msg;

/* Encrypts "<tag> #<i>" with s into m. */
static inline void fx_msg_make(fx_msg *m, pl_session *s, const char *tag, unsigned i)
{
    int n = snprintf(m->text, sizeof m->text, "%s #%u", tag, i);

    assert_true(n > 0 && (size_t)n < sizeof m->text);
    m->text_len = (size_t)n;
    m->bytes = fx_encrypt(s, m->text, m->text_len, &m->len);
}

static inline void fx_msg_free(fx_msg *m)
{
    free(m->bytes);
    m->bytes = NULL;
}

#endif
