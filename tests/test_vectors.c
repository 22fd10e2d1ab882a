/*
 * test_vectors.c: Parley's own test vectors (tests/vectors/parley-v1.txt).
 *
 * Two checks:
 *  1. Frozen bytes: fixed seeds for the deterministic RNG give exactly the bytes recorded
 *     in the vector file (keys, records, bundle, the first two messages, saved state, safety
 *     number). A change to any format or derivation fails here; a deliberate change bumps a
 *     version and regenerates the file with PARLEY_WRITE_VECTORS=1.
 *  2. Specification conformance: the first message of each direction is recomputed from
 *     docs/PROTOCOL.md with raw libsodium calls and our RFC-checked HKDF, independently of
 *     the session code, and must equal what libparley produced byte for byte.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "kdf.h"
#include "parley/parley.h"
#include "testutil.h"

#define VECTOR_FILE PARLEY_TEST_VECTORS_DIR "/parley-v1.txt"
#define MAX_VECTORS 32
#define MAX_BYTES 2048

static const char alice_text[] = "Hello, Bob. This is Alice.";
static const char bob_text[] = "Hello, Alice.";
static const uint64_t created_at = 1700000000u;

struct vector {
    const char *name;
    uint8_t bytes[MAX_BYTES];
    size_t len;
};

struct run {
    struct vector v[MAX_VECTORS];
    size_t count;
    uint8_t msg1[MAX_BYTES], msg2[MAX_BYTES];
    size_t msg1_len, msg2_len;
};

static void add(struct run *run, const char *name, const uint8_t *bytes, size_t len)
{
    struct vector *v = &run->v[run->count++];

    assert_true(run->count <= MAX_VECTORS && len <= MAX_BYTES);
    v->name = name;
    memcpy(v->bytes, bytes, len);
    v->len = len;
}

/* The protocol run the vectors record; every random byte comes from two seeded RNGs. */
static void produce(struct run *run)
{
    pl_rng_deterministic sa, sb;
    pl_rng ra = tu_rng(&sa, 0xA1), rb = tu_rng(&sb, 0xB2);
    pl_account *aa, *ba;
    pl_device *ad, *bd;
    pl_signed_prekey *spk;
    pl_onetime_prekey *opk;
    pl_session *as, *bs;
    pl_bundle bundle;
    uint8_t key[PL_PUBKEY_BYTES], rec[PL_DEVICE_RECORD_BYTES], arec[PL_DEVICE_RECORD_BYTES];
    uint8_t spk_pub[PL_SIGNED_PREKEY_PUBLIC_BYTES], opk_pub[PL_ONETIME_PREKEY_PUBLIC_BYTES];
    uint8_t buf[MAX_BYTES], pt[MAX_BYTES];
    uint8_t alice_key[PL_PUBKEY_BYTES], bob_key[PL_PUBKEY_BYTES];
    size_t len, pt_len;
    char safety[PL_SAFETY_NUMBER_DIGITS + 1];

    memset(run, 0, sizeof *run);
    /* Alice: RNG calls 0 account seed, 1 device seed, 2 EK, 3 first ratchet key. */
    assert_int_equal(pl_account_generate(&aa, &ra), PL_OK);
    assert_int_equal(pl_device_generate(&ad, &ra, 1), PL_OK);
    /* Bob: RNG calls 0 account seed, 1 device seed, 2 SPK, 3 OPK, 4 ratchet key on reply. */
    assert_int_equal(pl_account_generate(&ba, &rb), PL_OK);
    assert_int_equal(pl_device_generate(&bd, &rb, 7), PL_OK);
    assert_int_equal(pl_signed_prekey_generate(&spk, &rb, bd, 1, created_at), PL_OK);
    assert_int_equal(pl_onetime_prekey_generate(&opk, &rb, 100), PL_OK);

    pl_account_public_key(aa, alice_key);
    pl_account_public_key(ba, bob_key);
    add(run, "alice_account_key", alice_key, sizeof alice_key);
    pl_device_identity_key(ad, key);
    add(run, "alice_identity_key", key, sizeof key);
    assert_int_equal(pl_account_sign_device(aa, 1, key, created_at, arec), PL_OK);
    add(run, "alice_device_record", arec, sizeof arec);
    add(run, "bob_account_key", bob_key, sizeof bob_key);
    pl_device_identity_key(bd, key);
    add(run, "bob_identity_key", key, sizeof key);
    assert_int_equal(pl_account_sign_device(ba, 7, key, created_at, rec), PL_OK);
    add(run, "bob_device_record", rec, sizeof rec);
    pl_signed_prekey_public(spk, spk_pub);
    add(run, "bob_signed_prekey", spk_pub, sizeof spk_pub);
    pl_onetime_prekey_public(opk, opk_pub);
    add(run, "bob_onetime_prekey", opk_pub, sizeof opk_pub);
    assert_int_equal(pl_bundle_encode(rec, spk_pub, opk_pub, buf, sizeof buf, &len), PL_OK);
    add(run, "bob_bundle", buf, len);

    assert_int_equal(pl_bundle_verify(buf, len, bob_key, &bundle), PL_OK);
    assert_int_equal(pl_session_initiate(&as, &ra, ad, &bundle), PL_OK);
    assert_int_equal(pl_session_encrypt(as, (const uint8_t *)alice_text, strlen(alice_text),
                                        run->msg1, sizeof run->msg1, &run->msg1_len),
                     PL_OK);
    add(run, "message_1_alice_to_bob", run->msg1, run->msg1_len);

    assert_int_equal(
        pl_session_accept(&bs, &rb, bd, spk, opk, run->msg1, run->msg1_len, pt, sizeof pt, &pt_len),
        PL_OK);
    assert_memory_equal(pt, alice_text, strlen(alice_text));
    assert_int_equal(pl_session_encrypt(bs, (const uint8_t *)bob_text, strlen(bob_text), run->msg2,
                                        sizeof run->msg2, &run->msg2_len),
                     PL_OK);
    add(run, "message_2_bob_to_alice", run->msg2, run->msg2_len);
    assert_int_equal(pl_session_decrypt(as, &ra, run->msg2, run->msg2_len, pt, sizeof pt, &pt_len),
                     PL_OK);
    assert_memory_equal(pt, bob_text, strlen(bob_text));

    pl_account_save(aa, buf);
    add(run, "alice_account_saved", buf, PL_ACCOUNT_SAVED_BYTES);
    pl_device_save(bd, buf);
    add(run, "bob_device_saved", buf, PL_DEVICE_SAVED_BYTES);
    pl_signed_prekey_save(spk, buf);
    add(run, "bob_signed_prekey_saved", buf, PL_SIGNED_PREKEY_SAVED_BYTES);
    pl_onetime_prekey_save(opk, buf);
    add(run, "bob_onetime_prekey_saved", buf, PL_ONETIME_PREKEY_SAVED_BYTES);
    assert_int_equal(pl_session_save(bs, buf, sizeof buf, &len), PL_OK);
    add(run, "bob_session_saved", buf, len);
    assert_int_equal(pl_session_save(as, buf, sizeof buf, &len), PL_OK);
    add(run, "alice_session_saved", buf, len);

    assert_int_equal(pl_safety_number(alice_key, "alice", 5, bob_key, "bob", 3, safety), PL_OK);
    add(run, "safety_number_alice_bob", (const uint8_t *)safety, PL_SAFETY_NUMBER_DIGITS);

    pl_session_free(as);
    pl_session_free(bs);
    pl_onetime_prekey_free(opk);
    pl_signed_prekey_free(spk);
    pl_device_free(ad);
    pl_device_free(bd);
    pl_account_free(aa);
    pl_account_free(ba);
}

static void write_vectors(const struct run *run)
{
    FILE *f = fopen(VECTOR_FILE, "w");
    char hex[2 * MAX_BYTES + 1];

    assert_non_null(f);
    fprintf(f, "# Parley protocol v1 test vectors (docs/PROTOCOL.md section 10).\n"
               "# Produced by tests/test_vectors.c from deterministic RNG seeds: 32 bytes of\n"
               "# 0xa1 for Alice and 32 bytes of 0xb2 for Bob. Each line: name hex.\n"
               "# safety_number_alice_bob is ASCII digits, hex-encoded.\n");
    for (size_t i = 0; i < run->count; i++) {
        tu_hex(run->v[i].bytes, run->v[i].len, hex);
        fprintf(f, "%s %s\n", run->v[i].name, hex);
    }
    assert_int_equal(fclose(f), 0);
}

static void test_frozen_vectors(void **state)
{
    static struct run run;
    uint8_t *file, expected[MAX_BYTES];
    size_t file_len, checked = 0;
    char *line, *save = NULL;

    (void)state;
    produce(&run);
    if (getenv("PARLEY_WRITE_VECTORS")) {
        write_vectors(&run);
        return;
    }
    file = tu_read_file(VECTOR_FILE, &file_len);
    assert_non_null(file);
    for (line = strtok_r((char *)file, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *space = strchr(line, ' ');
        size_t n;

        if (line[0] == '#')
            continue;
        assert_non_null(space);
        *space = '\0';
        n = tu_unhex(space + 1, expected, sizeof expected);
        for (size_t i = 0; i < run.count; i++) {
            if (strcmp(run.v[i].name, line) != 0)
                continue;
            if (run.v[i].len != n || memcmp(run.v[i].bytes, expected, n) != 0)
                fail_msg("vector %s differs from %s", line, VECTOR_FILE);
            checked++;
        }
    }
    free(file);
    /* Every produced vector must be in the file, and nothing else. */
    assert_int_equal(checked, run.count);
}

/* ---- Independent recomputation from the specification -------------------------------- */

/* Call `call` of the deterministic RNG with seed byte s (random.h's definition). */
static void rng_call(uint8_t seed_byte, uint64_t call, uint8_t out[32])
{
    uint8_t seed[32], nonce[12] = {0};

    memset(seed, seed_byte, sizeof seed);
    for (int i = 0; i < 8; i++)
        nonce[i] = (uint8_t)(call >> (8 * i));
    crypto_stream_chacha20_ietf(out, 32, nonce, seed);
}

static void hkdf_label(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                       const uint8_t *ikm, size_t ikm_len, const char *label)
{
    assert_int_equal(pl__hkdf_sha256(out, out_len, salt, salt_len, ikm, ikm_len,
                                     (const uint8_t *)label, strlen(label)),
                     0);
}

struct spec_identity {
    uint8_t ed_pk[32], ed_sk[64], x_pk[32], x_sk[32];
};

static void spec_identity(uint8_t seed_byte, uint64_t call, struct spec_identity *id)
{
    uint8_t seed[32];

    rng_call(seed_byte, call, seed);
    crypto_sign_seed_keypair(id->ed_pk, id->ed_sk, seed);
    assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(id->x_pk, id->ed_pk), 0);
    assert_int_equal(crypto_sign_ed25519_sk_to_curve25519(id->x_sk, id->ed_sk), 0);
}

static void spec_x25519(uint8_t seed_byte, uint64_t call, uint8_t sk[32], uint8_t pk[32])
{
    rng_call(seed_byte, call, sk);
    crypto_scalarmult_base(pk, sk);
}

static void dh(uint8_t out[32], const uint8_t sk[32], const uint8_t pk[32])
{
    assert_int_equal(crypto_scalarmult(out, sk, pk), 0);
}

/* Builds a ratchet message (PROTOCOL.md §6) into out; returns its length. */
static size_t spec_ratchet_message(uint8_t *out, const uint8_t ck[32], const uint8_t ad66[66],
                                   const uint8_t ratchet_pk[32], uint32_t pn, uint32_t n,
                                   const char *text)
{
    uint8_t mk[32], okm[44], ad[66 + 43], one = 0x01;
    uint8_t *h = out;

    h[0] = 1;
    h[1] = 1;
    h[2] = PL_KEY_TYPE_X25519; /* header: version, kind, Encode(DHs), PN, N: 43 bytes */
    memcpy(h + 3, ratchet_pk, 32);
    for (int i = 0; i < 4; i++) {
        h[35 + i] = (uint8_t)(pn >> (24 - 8 * i));
        h[39 + i] = (uint8_t)(n >> (24 - 8 * i));
    }
    pl__hmac_sha256(mk, ck, 32, &one, 1);
    hkdf_label(okm, sizeof okm, NULL, 0, mk, 32, "parley/message-keys/v1");
    memcpy(ad, ad66, 66);
    memcpy(ad + 66, h, 43);
    crypto_aead_chacha20poly1305_ietf_encrypt(out + 43, NULL, (const uint8_t *)text, strlen(text),
                                              ad, sizeof ad, NULL, okm + 32, okm);
    return 43 + strlen(text) + 16;
}

static void test_messages_match_specification(void **state)
{
    static struct run run;
    struct spec_identity ia, ib;
    uint8_t ek_sk[32], ek_pk[32], spk_sk[32], spk_pk[32], opk_sk[32], opk_pk[32];
    uint8_t ra_sk[32], ra_pk[32], rb_sk[32], rb_pk[32];
    uint8_t ikm[160], sk[32], okm[64], ck_a[32], rk1[32], ck_b[32], dh_out[32];
    uint8_t ad[66], msg[MAX_BYTES];
    size_t len = 0;

    (void)state;
    produce(&run);

    spec_identity(0xA1, 1, &ia);
    spec_x25519(0xA1, 2, ek_sk, ek_pk);
    spec_x25519(0xA1, 3, ra_sk, ra_pk);
    spec_identity(0xB2, 1, &ib);
    spec_x25519(0xB2, 2, spk_sk, spk_pk);
    spec_x25519(0xB2, 3, opk_sk, opk_pk);
    spec_x25519(0xB2, 4, rb_sk, rb_pk);

    /* X3DH: SK = HKDF(0^32, F || DH1 || DH2 || DH3 || DH4, "parley/x3dh/v1") */
    memset(ikm, 0xFF, 32);
    dh(ikm + 32, ia.x_sk, spk_pk);
    dh(ikm + 64, ek_sk, ib.x_pk);
    dh(ikm + 96, ek_sk, spk_pk);
    dh(ikm + 128, ek_sk, opk_pk);
    {
        uint8_t zero[32] = {0};
        hkdf_label(sk, 32, zero, 32, ikm, 160, "parley/x3dh/v1");
    }
    /* AD = Encode(IK_A) || Encode(IK_B) */
    ad[0] = PL_KEY_TYPE_ED25519;
    memcpy(ad + 1, ia.ed_pk, 32);
    ad[33] = PL_KEY_TYPE_ED25519;
    memcpy(ad + 34, ib.ed_pk, 32);

    /* Alice: RK, CKs = KDF_RK(SK, DH(DHs_A, SPK_B)); message 1 = prefix || ratchet message */
    dh(dh_out, ra_sk, spk_pk);
    hkdf_label(okm, 64, sk, 32, dh_out, 32, "parley/ratchet-root/v1");
    memcpy(rk1, okm, 32);
    memcpy(ck_a, okm + 32, 32);
    msg[len++] = 1;
    msg[len++] = PL_MSG_PREKEY;
    msg[len++] = 0x01; /* one-time prekey used */
    memcpy(msg + len, ad, 33);
    len += 33;
    msg[len++] = PL_KEY_TYPE_X25519;
    memcpy(msg + len, ek_pk, 32);
    len += 32;
    memcpy(msg + len, "\x00\x00\x00\x01\x00\x00\x00\x64", 8); /* SPK id 1, OPK id 100 */
    len += 8;
    len += spec_ratchet_message(msg + len, ck_a, ad, ra_pk, 0, 0, alice_text);
    assert_int_equal(len, run.msg1_len);
    assert_memory_equal(msg, run.msg1, len);

    /* Bob receives (CKr = CKs of Alice), then DHs_B = new; RK, CKs = KDF_RK(RK, DH(DHs_B, DHr)) */
    dh(dh_out, rb_sk, ra_pk);
    hkdf_label(okm, 64, rk1, 32, dh_out, 32, "parley/ratchet-root/v1");
    memcpy(ck_b, okm + 32, 32);
    len = spec_ratchet_message(msg, ck_b, ad, rb_pk, 0, 0, bob_text);
    assert_int_equal(len, run.msg2_len);
    assert_memory_equal(msg, run.msg2, len);
}

/* Looks up vector `name` in the vector file; returns its length (0 if absent). */
static size_t vector_from_file(const char *name, uint8_t *out, size_t cap)
{
    uint8_t *file;
    size_t file_len, n = 0, name_len = strlen(name);
    char *line, *save = NULL;

    file = tu_read_file(VECTOR_FILE, &file_len);
    assert_non_null(file);
    for (line = strtok_r((char *)file, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, name, name_len) == 0 && line[name_len] == ' ') {
            n = tu_unhex(line + name_len + 1, out, cap);
            break;
        }
    }
    free(file);
    return n;
}

/* State saved by v1 must load in every later version: the frozen blobs load, re-save to the
 * same bytes, and the two frozen sessions can still talk to each other. */
static void test_frozen_saved_state_loads(void **state)
{
    static uint8_t blob[MAX_BYTES], again[MAX_BYTES], wire[MAX_BYTES], pt[MAX_BYTES];
    pl_account *account;
    pl_device *device;
    pl_signed_prekey *spk;
    pl_onetime_prekey *opk;
    pl_session *alice, *bob;
    size_t n, len, pt_len;

    (void)state;
    n = vector_from_file("alice_account_saved", blob, sizeof blob);
    assert_int_equal(pl_account_load(&account, blob, n), PL_OK);
    pl_account_save(account, again);
    assert_memory_equal(again, blob, n);
    pl_account_free(account);

    n = vector_from_file("bob_device_saved", blob, sizeof blob);
    assert_int_equal(pl_device_load(&device, blob, n), PL_OK);
    pl_device_save(device, again);
    assert_memory_equal(again, blob, n);
    pl_device_free(device);

    n = vector_from_file("bob_signed_prekey_saved", blob, sizeof blob);
    assert_int_equal(pl_signed_prekey_load(&spk, blob, n), PL_OK);
    pl_signed_prekey_save(spk, again);
    assert_memory_equal(again, blob, n);
    pl_signed_prekey_free(spk);

    n = vector_from_file("bob_onetime_prekey_saved", blob, sizeof blob);
    assert_int_equal(pl_onetime_prekey_load(&opk, blob, n), PL_OK);
    pl_onetime_prekey_save(opk, again);
    assert_memory_equal(again, blob, n);
    pl_onetime_prekey_free(opk);

    n = vector_from_file("alice_session_saved", blob, sizeof blob);
    assert_int_equal(pl_session_load(&alice, blob, n), PL_OK);
    assert_int_equal(pl_session_save(alice, again, sizeof again, &len), PL_OK);
    assert_int_equal(len, n);
    assert_memory_equal(again, blob, n);
    n = vector_from_file("bob_session_saved", blob, sizeof blob);
    assert_int_equal(pl_session_load(&bob, blob, n), PL_OK);

    assert_int_equal(
        pl_session_encrypt(alice, (const uint8_t *)"still here", 10, wire, sizeof wire, &len),
        PL_OK);
    assert_int_equal(pl_message_kind(wire, len), PL_MSG_RATCHET);
    assert_int_equal(pl_session_decrypt(bob, NULL, wire, len, pt, sizeof pt, &pt_len), PL_OK);
    assert_int_equal(pt_len, 10);
    assert_memory_equal(pt, "still here", 10);
    pl_session_free(alice);
    pl_session_free(bob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frozen_vectors),
        cmocka_unit_test(test_messages_match_specification),
        cmocka_unit_test(test_frozen_saved_state_loads),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
