/*
 * fixtures.c: the fixed keys, bundles, sessions and messages of fuzz.h, built once from
 * deterministic RNGs so that every run of every target sees the same bytes.
 */
#include <string.h>

#include <sodium.h>

#include "blob.h"
#include "fuzz.h"

pl_rng fz_rng(pl_rng_deterministic *state, const char *label)
{
    uint8_t seed[32];

    /* Distinct labels give unrelated streams, whatever order the fixtures are built in. */
    crypto_generichash(seed, sizeof seed, (const uint8_t *)label, strlen(label), NULL, 0);
    return pl_rng_deterministic_init(state, seed);
}

uint8_t *fz_fix_checksum(const uint8_t *in, size_t len)
{
    uint8_t *out = fz_alloc(len);

    if (len)
        memcpy(out, in, len);
    if (len >= PL__BLOB_OVERHEAD)
        crypto_generichash(out + len - PL__BLOB_CHECKSUM_BYTES, PL__BLOB_CHECKSUM_BYTES, out,
                           len - PL__BLOB_CHECKSUM_BYTES, NULL, 0);
    return out;
}

static void must(int rc, const char *what)
{
    if (rc != PL_OK) {
        fprintf(stderr, "fuzz fixtures: %s failed: %s\n", what, pl_errname(rc));
        abort();
    }
}

static fz_message encrypt_text(pl_session *session, const char *text)
{
    size_t n = strlen(text);
    size_t cap = pl_session_encrypted_size(session, n);
    fz_message m = {fz_alloc(cap), 0, text};

    must(pl_session_encrypt(session, (const uint8_t *)text, n, m.bytes, cap, &m.len), "encrypt");
    FZ_CHECK(m.len == cap);
    return m;
}

static void decrypt_expect(pl_session *session, const char *rng_label, const fz_message *m)
{
    pl_rng_deterministic state;
    pl_rng rng = fz_rng(&state, rng_label);
    uint8_t *pt = fz_alloc(m->len);
    size_t pt_len = 0;

    must(pl_session_decrypt(session, &rng, m->bytes, m->len, pt, m->len, &pt_len), "decrypt");
    FZ_CHECK(pt_len == strlen(m->text) && memcmp(pt, m->text, pt_len) == 0);
    free(pt);
}

uint8_t *fz_save_session(const pl_session *session, size_t *len)
{
    size_t cap = pl_session_saved_size(session);
    uint8_t *out = fz_alloc(cap);

    must(pl_session_save(session, out, cap, len), "session save");
    FZ_CHECK(*len == cap);
    return out;
}

void fz_check_reload(const pl_session *session)
{
    size_t len = 0, again_len = 0;
    uint8_t *saved = fz_save_session(session, &len);
    uint8_t *again;
    pl_session *loaded = NULL;

    must(pl_session_load(&loaded, saved, len), "reloading a saved session");
    again = fz_save_session(loaded, &again_len);
    FZ_CHECK(again_len == len && memcmp(again, saved, len) == 0);
    pl_session_free(loaded);
    free(again);
    free(saved);
}

void fz_check_untouched_or_zero(const uint8_t *out, size_t len, uint8_t fill)
{
    for (size_t i = 0; i < len; i++)
        FZ_CHECK(out[i] == fill || out[i] == 0);
}

/* Bob's side of the first run: accepts P0 and answers with R0. */
static pl_session *bob_accepts(fz_fixtures *f)
{
    pl_rng_deterministic state;
    pl_rng rng = fz_rng(&state, "bob accepts p0");
    pl_session *bob = NULL;
    uint8_t *pt = fz_alloc(f->p0.len);
    size_t pt_len = 0;

    must(pl_session_accept(&bob, &rng, f->bob_device, f->bob_spk, f->bob_opk, f->p0.bytes,
                           f->p0.len, pt, f->p0.len, &pt_len),
         "accept p0");
    FZ_CHECK(pt_len == strlen(f->p0.text) && memcmp(pt, f->p0.text, pt_len) == 0);
    free(pt);
    return bob;
}

static void build_keys(fz_fixtures *f)
{
    pl_rng_deterministic state;
    pl_rng rng;

    rng = fz_rng(&state, "alice account");
    must(pl_account_generate(&f->alice_account, &rng), "alice account");
    rng = fz_rng(&state, "bob account");
    must(pl_account_generate(&f->bob_account, &rng), "bob account");
    rng = fz_rng(&state, "alice device");
    must(pl_device_generate(&f->alice_device, &rng, 1), "alice device");
    rng = fz_rng(&state, "bob device");
    must(pl_device_generate(&f->bob_device, &rng, 7), "bob device");
    rng = fz_rng(&state, "bob signed prekey");
    must(pl_signed_prekey_generate(&f->bob_spk, &rng, f->bob_device, 1, FZ_CREATED_AT),
         "bob signed prekey");
    rng = fz_rng(&state, "bob one-time prekey");
    must(pl_onetime_prekey_generate(&f->bob_opk, &rng, 11), "bob one-time prekey");

    pl_account_public_key(f->alice_account, f->alice_account_key);
    pl_account_public_key(f->bob_account, f->bob_account_key);
    pl_device_identity_key(f->alice_device, f->alice_identity_key);
    pl_device_identity_key(f->bob_device, f->bob_identity_key);
    must(pl_account_sign_device(f->alice_account, 1, f->alice_identity_key, FZ_CREATED_AT,
                                f->alice_record),
         "alice record");
    must(pl_account_sign_device(f->bob_account, 7, f->bob_identity_key, FZ_CREATED_AT,
                                f->bob_record),
         "bob record");
    pl_signed_prekey_public(f->bob_spk, f->bob_spk_public);
    pl_onetime_prekey_public(f->bob_opk, f->bob_opk_public);
    must(pl_bundle_encode(f->bob_record, f->bob_spk_public, f->bob_opk_public, f->bundle,
                          sizeof f->bundle, &f->bundle_len),
         "bundle");
    must(pl_bundle_encode(f->bob_record, f->bob_spk_public, NULL, f->bundle_no_opk,
                          sizeof f->bundle_no_opk, &f->bundle_no_opk_len),
         "bundle without one-time prekey");
}

static void build_conversation(fz_fixtures *f)
{
    pl_rng_deterministic state;
    pl_rng rng;
    pl_bundle bundle;
    pl_session *alice = NULL, *alice2 = NULL, *bob = NULL, *bob_copy = NULL;

    must(pl_bundle_verify(f->bundle, f->bundle_len, f->bob_account_key, &bundle), "bundle verify");
    rng = fz_rng(&state, "alice initiates");
    must(pl_session_initiate(&alice, &rng, f->alice_device, &bundle), "initiate");
    f->alice_session_fresh_saved = fz_save_session(alice, &f->alice_session_fresh_saved_len);
    f->p0 = encrypt_text(alice, "P0: hello Bob, this is Alice");
    f->p1 = encrypt_text(alice, "P1: second message before any reply");

    bob = bob_accepts(f);
    f->r0 = encrypt_text(bob, "R0: hi Alice");
    f->bob_session_saved = fz_save_session(bob, &f->bob_session_saved_len);

    decrypt_expect(alice, "alice decrypts r0", &f->r0);
    f->a0 = encrypt_text(alice, "A0: first of a new chain");
    f->a1 = encrypt_text(alice, "A1");
    f->a2 = encrypt_text(alice, "A2: the third, \x01\x02\xff binary is fine");
    f->alice_session_saved = fz_save_session(alice, &f->alice_session_saved_len);

    /* Bob decrypting A2 first keeps as skipped keys those of P1 (the rest of Alice's first
     * chain, as A2's header tells him) and of A0 and A1. */
    must(pl_session_load(&bob_copy, f->bob_session_saved, f->bob_session_saved_len), "load bob");
    decrypt_expect(bob_copy, "bob decrypts a2", &f->a2);
    FZ_CHECK(pl_session_skipped_keys(bob_copy) == 3);
    f->bob_session_skipped_saved = fz_save_session(bob_copy, &f->bob_session_skipped_saved_len);
    decrypt_expect(bob_copy, "bob decrypts a0", &f->a0);
    pl_session_free(bob_copy);

    /* Sanity: the saved Bob takes P1 and A0 as they are. */
    must(pl_session_load(&bob_copy, f->bob_session_saved, f->bob_session_saved_len), "load bob");
    decrypt_expect(bob_copy, "bob decrypts p1", &f->p1);
    decrypt_expect(bob_copy, "bob decrypts a0", &f->a0);
    pl_session_free(bob_copy);

    must(pl_bundle_verify(f->bundle_no_opk, f->bundle_no_opk_len, f->bob_account_key, &bundle),
         "bundle without one-time prekey verify");
    rng = fz_rng(&state, "alice initiates again");
    must(pl_session_initiate(&alice2, &rng, f->alice_device, &bundle), "initiate again");
    f->q0 = encrypt_text(alice2, "Q0: a run without a one-time prekey");

    pl_session_free(alice2);
    pl_session_free(alice);
    pl_session_free(bob);
}

const fz_fixtures *fz_fixtures_get(void)
{
    static fz_fixtures fixtures;
    static int built;

    if (!built) {
        must(pl_init(), "pl_init");
        build_keys(&fixtures);
        build_conversation(&fixtures);
        built = 1;
    }
    return &fixtures;
}
