/*
 * gen_corpus.c: writes the seed corpus of every fuzz target from the fixtures (fuzz.h).
 *
 *   fuzz_gen_corpus DIR     writes DIR/<target>/<seed> (DIR is normally fuzz/corpus)
 *
 * Seeds named genuine-* are real encodings the target's happy path accepts; edit-* are
 * those with one cut or one changed byte, so each starts near an error branch. Output is
 * deterministic: rerunning rewrites the same bytes. Built, never run, by the tests; run it
 * by hand when a format changes and commit its output.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "audit_fixture.h"
#include "fuzz.h"
#include "fuzz_kt_client.h"
#include "group_fixture.h"
#include "kt_log.h"
#include "parley.pb-c.h"

static const char *out_dir;

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_corpus: mkdir %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* Writes target/name holding in[0..len) with byte `at` XORed by `flip` (no change if
 * at >= len or flip == 0). */
static void write_edited(const char *target, const char *name, const uint8_t *in, size_t len,
                         size_t at, uint8_t flip)
{
    char path[1024];
    uint8_t *copy = fz_alloc(len);
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    make_dir(path);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    if (len)
        memcpy(copy, in, len);
    if (at < len)
        copy[at] ^= flip;
    f = fopen(path, "wb");
    if (f == NULL || fwrite(copy, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s\n", path);
        exit(1);
    }
    free(copy);
}

static void write_seed(const char *target, const char *name, const uint8_t *in, size_t len)
{
    write_edited(target, name, in, len, len, 0);
}

/* Writes in || extra (len + 1 bytes). */
static void write_appended(const char *target, const char *name, const uint8_t *in, size_t len,
                           uint8_t extra)
{
    uint8_t *copy = fz_alloc(len + 1);

    memcpy(copy, in, len);
    copy[len] = extra;
    write_seed(target, name, copy, len + 1);
    free(copy);
}

/* Writes selector || in, the input format of fuzz_key_load. */
static void write_key(const char *name, uint8_t selector, const uint8_t *in, size_t len)
{
    uint8_t *copy = fz_alloc(len + 1);

    copy[0] = selector;
    memcpy(copy + 1, in, len);
    write_seed("key_load", name, copy, len + 1);
    free(copy);
}

static void gen_keys(const fz_fixtures *f)
{
    const char *t;

    t = "device_record";
    write_seed(t, "genuine-alice", f->alice_record, sizeof f->alice_record);
    write_seed(t, "genuine-bob", f->bob_record, sizeof f->bob_record);
    write_seed(t, "edit-truncated", f->bob_record, sizeof f->bob_record - 1);
    write_appended(t, "edit-trailing-byte", f->bob_record, sizeof f->bob_record, 0);
    write_edited(t, "edit-version", f->bob_record, sizeof f->bob_record, 0, 0x03);
    write_edited(t, "edit-account-key-type", f->bob_record, sizeof f->bob_record, 1, 0x03);
    write_edited(t, "edit-signature", f->bob_record, sizeof f->bob_record, sizeof f->bob_record - 1,
                 0x01);

    t = "signed_prekey";
    write_seed(t, "genuine-bob", f->bob_spk_public, sizeof f->bob_spk_public);
    write_seed(t, "edit-truncated", f->bob_spk_public, sizeof f->bob_spk_public - 1);
    write_edited(t, "edit-id", f->bob_spk_public, sizeof f->bob_spk_public, 3, 0x01);
    write_edited(t, "edit-key-type", f->bob_spk_public, sizeof f->bob_spk_public, 4, 0x03);
    write_edited(t, "edit-signature", f->bob_spk_public, sizeof f->bob_spk_public,
                 sizeof f->bob_spk_public - 1, 0x01);

    t = "onetime_prekey";
    write_seed(t, "genuine-bob", f->bob_opk_public, sizeof f->bob_opk_public);
    write_seed(t, "edit-truncated", f->bob_opk_public, sizeof f->bob_opk_public - 1);
    write_appended(t, "edit-trailing-byte", f->bob_opk_public, sizeof f->bob_opk_public, 0);
    write_edited(t, "edit-key-type", f->bob_opk_public, sizeof f->bob_opk_public, 4, 0x01);
}

static void gen_bundles(const fz_fixtures *f)
{
    const char *t = "bundle";
    uint8_t alices[PL_BUNDLE_MAX_BYTES];
    size_t alices_len = 0;

    write_seed(t, "genuine-full", f->bundle, f->bundle_len);
    write_seed(t, "genuine-no-onetime-prekey", f->bundle_no_opk, f->bundle_no_opk_len);
    write_seed(t, "edit-truncated", f->bundle, f->bundle_len - 1);
    write_edited(t, "edit-version", f->bundle, f->bundle_len, 0, 0x03);
    write_edited(t, "edit-flags", f->bundle, f->bundle_len, 1, 0x01);
    write_edited(t, "edit-onetime-prekey-type", f->bundle, f->bundle_len, f->bundle_len - 33, 0x01);
    /* Alice's record with Bob's prekeys: a record of the wrong account. */
    if (pl_bundle_encode(f->alice_record, f->bob_spk_public, f->bob_opk_public, alices,
                         sizeof alices, &alices_len) != PL_OK)
        exit(1);
    write_seed(t, "edit-other-account", alices, alices_len);
}

static void gen_messages(const fz_fixtures *f)
{
    const char *t;
    /* The message number of a ratchet message: after version, kind, ratchet key and the
     * previous chain length (PL_RATCHET_HEADER_BYTES). */
    const size_t n_at = 2 + PL_PUBKEY_BYTES + 4;

    t = "prekey_message";
    write_seed(t, "genuine-p0", f->p0.bytes, f->p0.len);
    write_seed(t, "genuine-p1", f->p1.bytes, f->p1.len);
    write_seed(t, "genuine-q0-no-onetime-prekey", f->q0.bytes, f->q0.len);
    write_seed(t, "genuine-a0-ratchet-kind", f->a0.bytes, f->a0.len);
    write_seed(t, "edit-truncated", f->p0.bytes, f->p0.len / 2);
    write_edited(t, "edit-tag", f->p0.bytes, f->p0.len, f->p0.len - 1, 0x01);
    write_edited(t, "edit-kind", f->p0.bytes, f->p0.len, 1, 0x03);

    t = "ratchet_message";
    write_seed(t, "genuine-p1", f->p1.bytes, f->p1.len);
    write_seed(t, "genuine-a0", f->a0.bytes, f->a0.len);
    write_seed(t, "genuine-a1", f->a1.bytes, f->a1.len);
    write_seed(t, "genuine-a2", f->a2.bytes, f->a2.len);
    write_seed(t, "genuine-q0-other-run", f->q0.bytes, f->q0.len);
    write_seed(t, "replay-p0", f->p0.bytes, f->p0.len);
    write_seed(t, "wrong-direction-r0", f->r0.bytes, f->r0.len);
    write_seed(t, "edit-truncated", f->a1.bytes, f->a1.len - 1);
    write_edited(t, "edit-tag", f->a0.bytes, f->a0.len, f->a0.len - 1, 0x01);
    write_edited(t, "edit-far-future", f->a2.bytes, f->a2.len, n_at, 0x7f);
    write_edited(t, "edit-skip-some", f->a2.bytes, f->a2.len, n_at + 2, 0x01);
}

static void gen_saved(const fz_fixtures *f)
{
    const char *t = "session_load";
    uint8_t account[PL_ACCOUNT_SAVED_BYTES], device[PL_DEVICE_SAVED_BYTES];
    uint8_t spk[PL_SIGNED_PREKEY_SAVED_BYTES], opk[PL_ONETIME_PREKEY_SAVED_BYTES];

    write_seed(t, "genuine-alice-fresh", f->alice_session_fresh_saved,
               f->alice_session_fresh_saved_len);
    write_seed(t, "genuine-alice", f->alice_session_saved, f->alice_session_saved_len);
    write_seed(t, "genuine-bob", f->bob_session_saved, f->bob_session_saved_len);
    write_seed(t, "genuine-bob-skipped-keys", f->bob_session_skipped_saved,
               f->bob_session_skipped_saved_len);
    write_seed(t, "edit-truncated", f->bob_session_saved, f->bob_session_saved_len - 1);
    write_edited(t, "edit-checksum", f->bob_session_saved, f->bob_session_saved_len,
                 f->bob_session_saved_len - 1, 0x01);
    write_edited(t, "edit-kind", f->bob_session_saved, f->bob_session_saved_len, 2, 0x07);

    pl_account_save(f->alice_account, account);
    pl_device_save(f->bob_device, device);
    pl_signed_prekey_save(f->bob_spk, spk);
    pl_onetime_prekey_save(f->bob_opk, opk);
    write_key("genuine-account", 0, account, sizeof account);
    write_key("genuine-device", 1, device, sizeof device);
    write_key("genuine-signed-prekey", 2, spk, sizeof spk);
    write_key("genuine-onetime-prekey", 3, opk, sizeof opk);
    write_key("edit-wrong-kind", 0, device, sizeof device);
    write_key("edit-truncated", 2, spk, sizeof spk - 1);
}

/* fuzz_merkle_proof: flags || a || b (big-endian u64) || h1 || h2 || proof, from a tree of
 * 13 leaves; flags 1 = small sizes. genuine-inclusion-* carry real inclusion proofs (the
 * consistency half of the target reads them as garbage), genuine-consistency-* real
 * consistency proofs. */
static void write_merkle(const char *name, uint64_t a, uint64_t b, const uint8_t h1[32],
                         const uint8_t h2[32], const uint8_t (*proof)[32], size_t n)
{
    uint8_t buf[1 + 16 + 2 * 32 + PL_MERKLE_MAX_PROOF * 32];
    char edited[128];
    size_t len = 0;

    buf[len++] = 1;
    for (int i = 7; i >= 0; i--)
        buf[len++] = (uint8_t)(a >> (8 * i));
    for (int i = 7; i >= 0; i--)
        buf[len++] = (uint8_t)(b >> (8 * i));
    memcpy(buf + len, h1, 32);
    memcpy(buf + len + 32, h2, 32);
    len += 64;
    if (n)
        memcpy(buf + len, proof, n * 32);
    len += n * 32;
    write_seed("merkle_proof", name, buf, len);
    /* the same with the last byte (of a proof hash, or of h2) flipped */
    snprintf(edited, sizeof edited, "edit-%s", name + strlen("genuine-"));
    write_edited("merkle_proof", edited, buf, len, len - 1, 0x01);
}

static void gen_merkle(void)
{
    uint8_t leaves[13][32], root[32], old_root[32], proof[PL_MERKLE_MAX_PROOF][32];
    const uint8_t(*d)[32] = (const uint8_t(*)[32])leaves;
    size_t n = 0;

    for (unsigned i = 0; i < 13; i++) {
        uint8_t entry = (uint8_t)i;
        pl_merkle_leaf_hash(&entry, 1, leaves[i]);
    }
    if (pl_merkle_root(d, 13, root) != PL_OK || pl_merkle_root(d, 6, old_root) != PL_OK ||
        pl_merkle_inclusion_proof(d, 13, 5, proof, &n) != PL_OK)
        exit(1);
    write_merkle("genuine-inclusion-5-of-13", 5, 13, leaves[5], root, (const uint8_t(*)[32])proof,
                 n);
    if (pl_merkle_inclusion_proof(d, 13, 12, proof, &n) != PL_OK)
        exit(1);
    write_merkle("genuine-inclusion-12-of-13", 12, 13, leaves[12], root,
                 (const uint8_t(*)[32])proof, n);
    if (pl_merkle_consistency_proof(d, 6, 13, proof, &n) != PL_OK)
        exit(1);
    write_merkle("genuine-consistency-6-13", 6, 13, old_root, root, (const uint8_t(*)[32])proof, n);
    if (pl_merkle_root(d, 8, old_root) != PL_OK ||
        pl_merkle_consistency_proof(d, 8, 13, proof, &n) != PL_OK)
        exit(1);
    write_merkle("genuine-consistency-8-13", 8, 13, old_root, root, (const uint8_t(*)[32])proof, n);
    write_merkle("genuine-consistency-equal-sizes", 13, 13, root, root, NULL, 0);
}

/* pk || pi || alpha for fuzz_vrf_verify; a seed shorter than pk || pi is an alpha to prove. */
static void write_vrf(const char *name, const uint8_t seed[PL_VRF_SECRET_KEY_BYTES],
                      const uint8_t *alpha, size_t alpha_len, size_t at, uint8_t flip)
{
    const size_t head = PL_VRF_PUBLIC_KEY_BYTES + PL_VRF_PROOF_BYTES;
    uint8_t *in = fz_alloc(head + alpha_len);

    pl_vrf_keypair_from_seed(seed, in);
    if (pl_vrf_prove(seed, alpha, alpha_len, in + PL_VRF_PUBLIC_KEY_BYTES) != PL_OK) {
        fprintf(stderr, "gen_corpus: pl_vrf_prove failed\n");
        exit(1);
    }
    if (alpha_len)
        memcpy(in + head, alpha, alpha_len);
    write_edited("vrf_verify", name, in, head + alpha_len, at, flip);
    free(in);
}

static void gen_vrf(void)
{
    /* RFC 9381 B.3 Example 16's SK, so genuine-rfc9381-example-16 is that vector exactly. */
    static const uint8_t rfc_sk[PL_VRF_SECRET_KEY_BYTES] = {
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
        0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
        0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
    };
    /* u8 len || label || u32 version, as key transparency hashes a label version. */
    static const uint8_t label[] = "\x11"
                                   "alice@example.org"
                                   "\x00\x00\x00\x01";
    const size_t label_len = sizeof label - 1;
    const size_t pi_at = PL_VRF_PUBLIC_KEY_BYTES, c_at = pi_at + 32, s_at = c_at + 16;
    uint8_t seed[PL_VRF_SECRET_KEY_BYTES];

    memset(seed, 0x42, sizeof seed);
    write_vrf("genuine-rfc9381-example-16", rfc_sk, NULL, 0, SIZE_MAX, 0);
    write_vrf("genuine-label", seed, label, label_len, SIZE_MAX, 0);
    write_vrf("edit-pk", seed, label, label_len, 3, 0x01);
    write_vrf("edit-gamma", seed, label, label_len, pi_at, 0x01);
    write_vrf("edit-gamma-sign", seed, label, label_len, pi_at + 31, 0x80);
    write_vrf("edit-c", seed, label, label_len, c_at, 0x01);
    write_vrf("edit-s-above-q", seed, label, label_len, s_at + 31, 0xe0);
    write_vrf("edit-alpha", seed, label, label_len, s_at + 32 + 5, 0x20);
    write_seed("vrf_verify", "prove-short-alpha", label, label_len);
}

/* Bob's device list: his own record (device 7) and up to 15 more devices 8, 9, ... signed by
 * his account, reusing the fixtures' two identity keys. */
static void bob_records(const fz_fixtures *f, uint8_t (*recs)[PL_DEVICE_RECORD_BYTES], size_t n)
{
    memcpy(recs[0], f->bob_record, PL_DEVICE_RECORD_BYTES);
    for (size_t i = 1; i < n; i++)
        if (pl_account_sign_device(f->bob_account, (uint32_t)(7 + i),
                                   i % 2 ? f->alice_identity_key : f->bob_identity_key,
                                   FZ_CREATED_AT + i, recs[i]) != PL_OK)
            exit(1);
}

static void gen_account_state(const fz_fixtures *f)
{
    const char *t = "account_state";
    uint8_t recs[PL_ACCOUNT_STATE_MAX_DEVICES][PL_DEVICE_RECORD_BYTES];
    uint8_t s1[PL_ACCOUNT_STATE_MAX_BYTES], s3[PL_ACCOUNT_STATE_MAX_BYTES];
    uint8_t s16[PL_ACCOUNT_STATE_MAX_BYTES], next[PL_ACCOUNT_STATE_MAX_BYTES];
    uint8_t hash[PL_ACCOUNT_STATE_HASH_BYTES];
    size_t n1, n3, n16, n_next;
    const uint8_t(*r)[PL_DEVICE_RECORD_BYTES] = (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])recs;

    bob_records(f, recs, PL_ACCOUNT_STATE_MAX_DEVICES);
    if (pl_account_state_sign(f->bob_account, 0, NULL, FZ_CREATED_AT * 1000, 0, r, 1, s1, sizeof s1,
                              &n1) != PL_OK ||
        pl_account_state_sign(f->bob_account, 0, NULL, FZ_CREATED_AT * 1000, 7, r, 3, s3, sizeof s3,
                              &n3) != PL_OK ||
        pl_account_state_sign(f->bob_account, 0, NULL, FZ_CREATED_AT * 1000, 7, r,
                              PL_ACCOUNT_STATE_MAX_DEVICES, s16, sizeof s16, &n16) != PL_OK)
        exit(1);
    pl_account_state_hash(s3, n3, hash);
    if (pl_account_state_sign(f->bob_account, 1, hash, FZ_CREATED_AT * 1000 + 1, 8, r, 2, next,
                              sizeof next, &n_next) != PL_OK)
        exit(1);
    write_seed(t, "genuine-1-device", s1, n1);
    write_seed(t, "genuine-3-devices", s3, n3);
    write_seed(t, "genuine-16-devices", s16, n16);
    write_seed(t, "genuine-seq-1", next, n_next);
    write_seed(t, "edit-truncated", s3, n3 - 1);
    write_appended(t, "edit-trailing-byte", s3, n3, 0);
    write_edited(t, "edit-version", s3, n3, 0, 0x03);
    write_edited(t, "edit-suite", s3, n3, 1, 0x03);
    write_edited(t, "edit-count", s3, n3, PL_ACCOUNT_STATE_HEADER_BYTES - 1, 0x01);
    write_edited(t, "edit-seq", s3, n3, 2 + PL_PUBKEY_BYTES + 3, 0x01);
    write_edited(t, "edit-signature", s3, n3, n3 - 1, 0x01);
    /* Alice's record in Bob's state: a ghost device. */
    memcpy(s1 + PL_ACCOUNT_STATE_HEADER_BYTES, f->alice_record, PL_DEVICE_RECORD_BYTES);
    write_seed(t, "edit-ghost-device", s1, n1);
}

/* fuzz_prefix_proof: selector || key[32] || proof, from the fixed tree of fuzz.h. */
static void write_prefix(const char *name, const pl_prefix_tree *t, uint8_t selector,
                         const uint8_t key[32])
{
    static pl_prefix_proof proof;
    static uint8_t buf[33 + PL_PREFIX_PROOF_MAX_BYTES];
    char edited[128];
    size_t len;

    buf[0] = selector;
    memcpy(buf + 1, key, 32);
    if (pl_prefix_tree_prove(t, key, &proof) != PL_OK ||
        pl_prefix_proof_encode(&proof, buf + 33, PL_PREFIX_PROOF_MAX_BYTES, &len) != PL_OK)
        exit(1);
    len += 33;
    write_seed("prefix_proof", name, buf, len);
    snprintf(edited, sizeof edited, "edit-%s-last-byte", name + strlen("genuine-"));
    write_edited("prefix_proof", edited, buf, len, len - 1, 0x01);
}

static void gen_prefix(void)
{
    uint8_t keys[FZ_PREFIX_LEAVES][32], commit[32], key[32], ctr[8] = {0};
    pl_prefix_tree *t = NULL;
    pl_prefix_proof proof;
    int have[4] = {0, 0, 0, 0};
    char name[64];

    if (pl_prefix_tree_new(&t) != PL_OK)
        exit(1);
    for (unsigned i = 0; i < FZ_PREFIX_LEAVES; i++)
        if ((fz_prefix_leaf(i, keys[i], commit), pl_prefix_tree_insert(t, keys[i], commit)) !=
            PL_OK)
            exit(1);
    write_prefix("genuine-inclusion-depth-256", t, 0, keys[0]);
    write_prefix("genuine-inclusion-leaf-5", t, 5, keys[5]);
    /* The first absent key of each kind, from a counter. */
    while (!have[PL_PREFIX_NONINCLUSION_LEAF] || !have[PL_PREFIX_NONINCLUSION_PARENT]) {
        ctr[7]++;
        crypto_hash_sha256(key, ctr, sizeof ctr);
        if (pl_prefix_tree_prove(t, key, &proof) != PL_OK)
            exit(1);
        if (have[proof.result_type])
            continue;
        have[proof.result_type] = 1;
        snprintf(name, sizeof name, "genuine-absent-%s",
                 proof.result_type == PL_PREFIX_NONINCLUSION_LEAF ? "leaf" : "parent");
        write_prefix(name, t, 0x80, key);
    }
    pl_prefix_tree_free(t);
}

/* fuzz_kt_witness: u8 state || u64 old_size || u8 n || proof || note, from the log of the 9
 * entries 0x00..0x08 signed by the seed-0x11 key (fuzz_kt_witness.c has the same). */
#define KTW_LOG_NAME "parley.example/kt/v1/0123456789abcdef"

static void write_kt_witness(const char *name, uint8_t state, uint64_t old_size,
                             const uint8_t (*leaves)[32], uint64_t from, uint64_t size,
                             const uint8_t sk[64])
{
    uint8_t buf[10 + PL_MERKLE_MAX_PROOF * 32 + 1024], proof[PL_MERKLE_MAX_PROOF][32];
    char text[256];
    size_t n = 0, text_len, note_len, len;
    pl_checkpoint cp;

    memset(&cp, 0, sizeof cp);
    cp.origin_len = strlen(KTW_LOG_NAME);
    memcpy(cp.origin, KTW_LOG_NAME, cp.origin_len);
    cp.size = size;
    if (pl_merkle_root(leaves, size, cp.root) != PL_OK ||
        pl_checkpoint_format(&cp, text, sizeof text, &text_len) != PL_OK)
        exit(1);
    if (from > 0 && from < size &&
        pl_merkle_consistency_proof(leaves, from, size, proof, &n) != PL_OK)
        exit(1);
    buf[0] = state;
    for (int i = 0; i < 8; i++)
        buf[1 + i] = (uint8_t)(old_size >> (56 - 8 * i));
    buf[9] = (uint8_t)n;
    memcpy(buf + 10, proof, n * 32);
    len = 10 + n * 32;
    if (pl_note_sign(text, text_len, KTW_LOG_NAME, strlen(KTW_LOG_NAME), sk, (char *)buf + len,
                     sizeof buf - len, &note_len) != PL_OK)
        exit(1);
    len += note_len;
    write_seed("kt_witness", name, buf, len);
}

static void gen_kt_witness(void)
{
    uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES],
        sk[crypto_sign_SECRETKEYBYTES], d[9][32], fork[9][32];

    memset(seed, 0x11, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    for (unsigned i = 0; i < 9; i++) {
        uint8_t e = (uint8_t)i, x = (uint8_t)(0x80 + i);

        pl_merkle_leaf_hash(&e, 1, d[i]);
        pl_merkle_leaf_hash(i < 3 ? &e : &x, 1, fork[i]);
    }
    write_kt_witness("genuine-first-4", 0, 0, (const uint8_t(*)[32])d, 0, 4, sk);
    write_kt_witness("genuine-empty-to-5", 1, 0, (const uint8_t(*)[32])d, 0, 5, sk);
    write_kt_witness("genuine-empty-tree", 0, 0, (const uint8_t(*)[32])d, 0, 0, sk);
    write_kt_witness("genuine-4-to-9", 2, 4, (const uint8_t(*)[32])d, 4, 9, sk);
    write_kt_witness("genuine-4-to-5", 2, 4, (const uint8_t(*)[32])d, 4, 5, sk);
    write_kt_witness("genuine-4-again", 2, 4, (const uint8_t(*)[32])d, 4, 4, sk);
    write_kt_witness("conflict-stale-2", 2, 2, (const uint8_t(*)[32])d, 2, 9, sk);
    write_kt_witness("rollback-3", 2, 4, (const uint8_t(*)[32])d, 3, 3, sk);
    write_kt_witness("fork-4-to-9", 2, 4, (const uint8_t(*)[32])fork, 4, 9, sk);
    write_kt_witness("fork-4", 2, 4, (const uint8_t(*)[32])fork, 4, 4, sk);
}

/* fuzz_kt_lookup: q0 || q1 || proof (fz_kt_query_of in fuzz.h), proofs from the demo log. */
static void write_kt_lookup(const ktl_log *log, const char *name, uint8_t q0, uint8_t q1,
                            uint8_t proof_kind, uint32_t proof_version, pl_kt_lookup_failure expect)
{
    static uint8_t buf[2 + PL_KT_LOOKUP_MAX_BYTES];
    static pl_kt_lookup_result res;
    fz_kt_query q = fz_kt_query_of(q0, q1);
    pl_kt_lookup_failure why;
    uint8_t root[PL_MERKLE_HASH_BYTES];
    char edited[128];
    size_t len;
    int rc;

    buf[0] = q0;
    buf[1] = q1;
    FZ_CHECK(ktl_prove_encoded(log, q.size, proof_kind, q.label, proof_version, buf + 2,
                               PL_KT_LOOKUP_MAX_BYTES, &len) == PL_OK);
    /* Each seed reaches the outcome its name says (without the cache, which only skips). */
    FZ_CHECK(ktl_root(log, q.size, root) == PL_OK);
    rc = pl_kt_lookup_verify(log->vrf_pk, (const uint8_t *)q.label, strlen(q.label), q.size, root,
                             q.kind, q.want_version, NULL, 0, buf + 2, len, &res, &why);
    FZ_CHECK(why == expect && (rc == PL_OK) == (expect == PL_KT_LOOKUP_OK));
    len += 2;
    write_seed("kt_lookup", name, buf, len);
    snprintf(edited, sizeof edited, "edit-cut-%s", name);
    write_seed("kt_lookup", edited, buf, len - 1);
    /* A byte of the value (after the header and the inclusion proof). */
    snprintf(edited, sizeof edited, "edit-value-%s", name);
    write_edited("kt_lookup", edited, buf, len, 2 + 51 + 32 * (size_t)buf[2 + 50] + 4 + 96 + 2 + 9,
                 0x01);
}

static void gen_kt_lookup(void)
{
    static ktl_log log;
    const uint8_t G = PL_KT_LOOKUP_GREATEST, F = PL_KT_LOOKUP_FIXED;

    FZ_CHECK(ktl_demo_log(&log) == PL_OK);
    /* q0 = label | (size - 1) << 2; q1 = fixed | want_version << 1 | cached << 3 */
    write_kt_lookup(&log, "genuine-greatest-alice-v2-size-5", 0x10, 0x00, G, 2, PL_KT_LOOKUP_OK);
    write_kt_lookup(&log, "genuine-greatest-alice-v2-size-5-cached", 0x10, 0x08, G, 2,
                    PL_KT_LOOKUP_OK);
    write_kt_lookup(&log, "genuine-greatest-bob-v0-size-5", 0x11, 0x00, G, 0, PL_KT_LOOKUP_OK);
    write_kt_lookup(&log, "genuine-greatest-alice-v0-size-1", 0x00, 0x00, G, 0, PL_KT_LOOKUP_OK);
    write_kt_lookup(&log, "genuine-fixed-alice-v1-size-5", 0x10, 0x03, F, 1, PL_KT_LOOKUP_OK);
    write_kt_lookup(&log, "genuine-fixed-alice-v0-size-2-cached", 0x04, 0x09, F, 0,
                    PL_KT_LOOKUP_OK);
    write_kt_lookup(&log, "not-greatest-alice-v1-size-5", 0x10, 0x00, G, 1,
                    PL_KT_LOOKUP_NOT_GREATEST);
    write_kt_lookup(&log, "bad-state-mallory-v0-size-5", 0x12, 0x00, G, 0, PL_KT_LOOKUP_BAD_STATE);
    write_kt_lookup(&log, "version-mismatch-eve-v1-size-5", 0x13, 0x00, G, 1,
                    PL_KT_LOOKUP_VERSION_MISMATCH);
    write_kt_lookup(&log, "absent-fixed-alice-v2-size-3", 0x08, 0x05, F, 2,
                    PL_KT_LOOKUP_BAD_PREFIX);
}

/* fuzz_audit_entry: selector || KtAuditEntry, entries of the fixed log of audit_fixture.h. */
static void write_audit_entry(const char *name, uint8_t selector, const pl_audit_entry *e,
                              pl_audit_failure expect)
{
    Parley__KtAuditEntry w = PARLEY__KT_AUDIT_ENTRY__INIT;
    ProtobufCBinaryData leaves[16];
    uint8_t fixed_leaves[13][PL_AUDIT_LEAF_BYTES], *buf;
    pl_audit_replay *r = NULL;
    pl_audit_entry fixed;
    pl_audit_failure why;
    size_t len;

    /* each seed reaches the outcome its name says */
    FZ_CHECK(pl_audit_replay_new(&r) == PL_OK);
    for (unsigned i = 0; i < selector % FZ_AUDIT_STATES; i++) {
        fz_audit_entry(i, i, &fixed, fixed_leaves);
        FZ_CHECK(pl_audit_replay_entry(r, &fixed, NULL) == PL_OK);
    }
    fixed = *e;
    if (selector & 0x80)
        fixed.position = selector % FZ_AUDIT_STATES;
    FZ_CHECK((pl_audit_replay_entry(r, &fixed, &why) == PL_OK) == (expect == PL_AUDIT_OK));
    FZ_CHECK(why == expect);
    pl_audit_replay_free(r);
    FZ_CHECK(e->n_leaves <= 16);
    w.position = e->position;
    w.timestamp_ms = e->timestamp_ms;
    w.prefix_root.data = (uint8_t *)e->prefix_root;
    w.prefix_root.len = sizeof e->prefix_root;
    for (size_t i = 0; i < e->n_leaves; i++) {
        leaves[i].data = (uint8_t *)e->leaves[i];
        leaves[i].len = PL_AUDIT_LEAF_BYTES;
    }
    w.leaves = leaves;
    w.n_leaves = e->n_leaves;
    len = parley__kt_audit_entry__get_packed_size(&w);
    buf = fz_alloc(len + 1);
    buf[0] = selector;
    parley__kt_audit_entry__pack(&w, buf + 1);
    write_seed("audit_entry", name, buf, len + 1);
    free(buf);
}

static void gen_audit_entry(void)
{
    static uint8_t leaves[13][PL_AUDIT_LEAF_BYTES], tmp[PL_AUDIT_LEAF_BYTES];
    pl_audit_entry e;
    char name[64];

    for (unsigned s = 0; s < FZ_AUDIT_STATES; s++) {
        fz_audit_entry(s, s < 3 ? s : 3, &e, leaves);
        snprintf(name, sizeof name, "genuine-after-%u", s);
        write_audit_entry(name, (uint8_t)s, &e, PL_AUDIT_OK);
    }
    /* after the 3 fixed entries: each lie the auditor must refuse, and a valid heartbeat */
    fz_audit_entry(3, 3, &e, leaves);
    e.position = 5;
    write_audit_entry("wrong-position", 3, &e, PL_AUDIT_WRONG_POSITION);
    e.position = 3;
    e.timestamp_ms = FZ_AUDIT_T0 + 1000u * 2 - 1;
    write_audit_entry("time-backwards", 3, &e, PL_AUDIT_TIME_BACKWARDS);
    e.timestamp_ms = FZ_AUDIT_T0 + 3000u;
    memcpy(tmp, leaves[0], sizeof tmp);
    memcpy(leaves[0], leaves[4], sizeof tmp);
    memcpy(leaves[4], tmp, sizeof tmp);
    write_audit_entry("leaves-unsorted", 3, &e, PL_AUDIT_LEAVES_UNSORTED);
    memcpy(leaves[4], leaves[0], sizeof tmp);
    memcpy(leaves[0], tmp, sizeof tmp);
    fz_audit_leaves(0, 1, leaves + 2); /* leaf 0, logged in entry 0 */
    qsort(leaves, 5, PL_AUDIT_LEAF_BYTES, fz_audit_cmp_leaf);
    write_audit_entry("leaf-present", 3, &e, PL_AUDIT_LEAF_PRESENT);
    fz_audit_entry(3, 3, &e, leaves);
    e.prefix_root[0] ^= 1;
    write_audit_entry("wrong-prefix-root", 0x83, &e, PL_AUDIT_PREFIX_ROOT);
    fz_audit_entry(3, 2, &e, leaves); /* the root after entry 2, no new leaf */
    e.n_leaves = 0;
    write_audit_entry("genuine-heartbeat-after-3", 3, &e, PL_AUDIT_OK);
}

/* fuzz_kt_client: mode byte || input (fuzz_kt_client.c). */
static void write_kt_client(const char *name, uint8_t mode, const uint8_t *in, size_t len)
{
    uint8_t *copy = fz_alloc(len + 1);

    copy[0] = mode;
    if (len)
        memcpy(copy + 1, in, len);
    write_seed("kt_client", name, copy, len + 1);
    free(copy);
}

static void gen_kt_client(void)
{
    static pl_cstore_kt_log log;
    uint8_t pk[32], sk[64], hashes[2][32], buf[4096], root[32];
    ProtobufCBinaryData cons[2];
    Parley__KtCheckpoint cp = PARLEY__KT_CHECKPOINT__INIT;
    Parley__KtLookupResult lr = PARLEY__KT_LOOKUP_RESULT__INIT;
    Parley__KtConfig kc = PARLEY__KT_CONFIG__INIT;
    char text[512], note[1024], *wit[1] = {NULL};
    pl_checkpoint c;
    size_t n, tlen = 0, nlen = 0;

    fz_kt_pinned_log(&log);
    fz_kt_log_keys(pk, sk);
    /* A checkpoint of size 5, signed by the pinned log key. */
    memset(&c, 0, sizeof c);
    snprintf(c.origin, sizeof c.origin, "%s", FZ_KT_ORIGIN);
    c.origin_len = strlen(FZ_KT_ORIGIN);
    c.size = 5;
    memset(root, 0x33, sizeof root);
    memcpy(c.root, root, sizeof root);
    if (pl_checkpoint_format(&c, text, sizeof text, &tlen) != PL_OK ||
        pl_note_sign(text, tlen, FZ_KT_ORIGIN, strlen(FZ_KT_ORIGIN), sk, note, sizeof note,
                     &nlen) != PL_OK) {
        fprintf(stderr, "gen_corpus: kt_client checkpoint\n");
        exit(1);
    }
    /* 0: a lookup answer with two consistency hashes. */
    memset(hashes, 0x21, sizeof hashes);
    cons[0] = (ProtobufCBinaryData){32, hashes[0]};
    cons[1] = (ProtobufCBinaryData){32, hashes[1]};
    note[nlen] = '\0';
    cp.note = note;
    cp.n_consistency = 2;
    cp.consistency = cons;
    lr.checkpoint = &cp;
    lr.proof = (ProtobufCBinaryData){3, (uint8_t *)"\x01\x01\x00"};
    n = parley__kt_lookup_result__pack(&lr, buf);
    write_kt_client("genuine-lookup-answer", 0, buf, n);
    /* 1: the pinned config, and one naming a witness it does not have in its quorum. */
    kc.origin = log.origin;
    kc.log_vkey = log.log_vkey;
    kc.vrf_public_key = (ProtobufCBinaryData){32, log.vrf_key};
    kc.max_ahead_ms = log.max_ahead_ms;
    kc.max_behind_ms = log.max_behind_ms;
    n = parley__kt_config__pack(&kc, buf);
    write_kt_client("genuine-config", 1, buf, n);
    wit[0] = log.log_vkey; /* an Ed25519 key where a cosignature key belongs */
    kc.witness_vkeys = wit;
    kc.n_witness_vkeys = 1;
    kc.quorum = 1;
    n = parley__kt_config__pack(&kc, buf);
    write_kt_client("edit-witness-of-wrong-type", 1, buf, n);
    /* 2: the saved checkpoint, genuine and with another root. */
    memset(buf, 0, 8);
    buf[7] = 5;
    memcpy(buf + 8, root, 32);
    memcpy(buf + 40, note, nlen);
    write_kt_client("genuine-saved-checkpoint", 2, buf, 40 + nlen);
    buf[8] ^= 1;
    write_kt_client("edit-saved-root", 2, buf, 40 + nlen);
    sodium_memzero(sk, sizeof sk);
}

/* fuzz_audit_config: KtConfig encodings of the log of seeds 0x11 (log) and 0x22 (VRF key),
 * listing the auditor of fuzz_audit_config.c (seed 0x44) and another witness (seed 0x55). */
static void write_audit_config(const char *name, const Parley__KtConfig *c)
{
    size_t len = parley__kt_config__get_packed_size(c);
    uint8_t *buf = fz_alloc(len);

    parley__kt_config__pack(c, buf);
    write_seed("audit_config", name, buf, len);
    free(buf);
}

static void gen_audit_config(void)
{
    Parley__KtConfig c = PARLEY__KT_CONFIG__INIT;
    uint8_t seed[32], pk[32], sk[64], vrf_pk[32], h[32];
    char origin[128], log_vkey[PL_NOTE_VKEY_MAX_BYTES + 1], w[2][PL_NOTE_VKEY_MAX_BYTES + 1],
        hex[17], *ws[2];
    crypto_hash_sha256_state hs;
    pl_note_verifier v;
    size_t n;

    memset(seed, 0x11, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    memset(seed, 0x22, sizeof seed);
    crypto_sign_seed_keypair(vrf_pk, sk, seed);
    crypto_hash_sha256_init(&hs);
    crypto_hash_sha256_update(&hs, (const uint8_t *)"parley/kt-config/v1", 19);
    crypto_hash_sha256_update(&hs, pk, 32);
    crypto_hash_sha256_update(&hs, vrf_pk, 32);
    crypto_hash_sha256_final(&hs, h);
    sodium_bin2hex(hex, sizeof hex, h, 8);
    snprintf(origin, sizeof origin, "parley.example/kt/v1/%s", hex);
    FZ_CHECK(pl_note_verifier_init(origin, strlen(origin), PL_NOTE_TYPE_ED25519, pk, &v) == PL_OK);
    FZ_CHECK(pl_note_verifier_format(&v, log_vkey, sizeof log_vkey - 1, &n) == PL_OK);
    log_vkey[n] = '\0';
    for (int i = 0; i < 2; i++) {
        const char *wname = i == 0 ? "audit.example.org/w1" : "other.example/w2";

        memset(seed, i == 0 ? 0x44 : 0x55, sizeof seed);
        crypto_sign_seed_keypair(pk, sk, seed);
        FZ_CHECK(pl_note_verifier_init(wname, strlen(wname), PL_NOTE_TYPE_COSIGNATURE_V1, pk, &v) ==
                 PL_OK);
        FZ_CHECK(pl_note_verifier_format(&v, w[i], sizeof w[i] - 1, &n) == PL_OK);
        w[i][n] = '\0';
        ws[i] = w[i];
    }
    c.origin = origin;
    c.log_vkey = log_vkey;
    c.vrf_public_key.data = vrf_pk;
    c.vrf_public_key.len = 32;
    c.witness_vkeys = ws;
    c.n_witness_vkeys = 2;
    c.quorum = 1;
    c.max_ahead_ms = 120000;
    c.max_behind_ms = 600000;
    write_audit_config("genuine-two-witnesses", &c);
    c.n_witness_vkeys = 1;
    write_audit_config("genuine-one-witness", &c);
    c.n_witness_vkeys = 0;
    c.quorum = 0;
    write_audit_config("genuine-no-witness", &c);
    c.n_witness_vkeys = 2;
    c.quorum = 3;
    write_audit_config("quorum-above-witnesses", &c);
    c.quorum = 1;
    ws[1] = w[0];
    write_audit_config("witness-twice", &c);
    ws[1] = w[1];
    vrf_pk[0] ^= 1;
    write_audit_config("origin-not-the-keys", &c);
}

/* Content with a receipt (PROTOCOL.md §28), hand-encoded (protobuf wire format) so the seeds
 * do not depend on the client's generated code: field 1 the 16-byte id, field 300 a Receipt
 * {1: kind, 2: ids}. */
static size_t receipt_content(uint8_t *out, uint8_t kind, size_t n_ids, uint8_t id_len)
{
    size_t n = 0, inner = 2 + n_ids * (2u + id_len);

    out[n++] = 0x0a; /* 1: message_id */
    out[n++] = 16;
    memset(out + n, 0x11, 16);
    n += 16;
    out[n++] = 0xe2; /* 300, length-delimited */
    out[n++] = 0x12;
    out[n++] = (uint8_t)inner; /* < 128 for the seeds below */
    out[n++] = 0x08;           /* 1: kind */
    out[n++] = kind;
    for (size_t i = 0; i < n_ids; i++) {
        out[n++] = 0x12; /* 2: message_ids */
        out[n++] = id_len;
        memset(out + n, (int)(0x20 + i), id_len);
        n += id_len;
    }
    return n;
}

/* Content {1: id, F: {1: 40 bytes, 3: group id of id_len bytes}}: F = 100 (group_update,
 * key byte 0xa2) or 101 (group_sender_key, 0xaa: its field 3 is then unknown, field 1 the
 * distribution). */
static size_t group_content(uint8_t *out, uint8_t key, uint8_t id_len)
{
    size_t n = 0;

    out[n++] = 0x0a;
    out[n++] = 16;
    memset(out + n, 0x11, 16);
    n += 16;
    out[n++] = key; /* (100 << 3 | 2) = 0x322, (101 << 3 | 2) = 0x32a: varint a2 06 / aa 06 */
    out[n++] = 0x06;
    out[n++] = (uint8_t)(2 + 40 + 2 + id_len);
    out[n++] = 0x0a;
    out[n++] = 40;
    memset(out + n, 0x33, 40);
    n += 40;
    out[n++] = 0x1a;
    out[n++] = id_len;
    memset(out + n, 0x44, id_len);
    n += id_len;
    return n;
}

/* A group message's Content (PROTOCOL.md §32.4): {1: id, 3: "hi", 102: group id (16),
 * 103: epoch 7, 104: the sender's state hash of hash_len bytes}. Keys: 102 = b2 06, 103 (a
 * varint) = b8 06, 104 = c2 06. */
static size_t group_message_content(uint8_t *out, uint8_t hash_len)
{
    size_t n = 0;

    out[n++] = 0x0a;
    out[n++] = 16;
    memset(out + n, 0x11, 16);
    n += 16;
    out[n++] = 0x1a;
    out[n++] = 2;
    out[n++] = 'h';
    out[n++] = 'i';
    out[n++] = 0xb2;
    out[n++] = 0x06;
    out[n++] = 16;
    memset(out + n, 0x44, 16);
    n += 16;
    out[n++] = 0xb8;
    out[n++] = 0x06;
    out[n++] = 7;
    out[n++] = 0xc2;
    out[n++] = 0x06;
    out[n++] = hash_len;
    memset(out + n, 0x55, hash_len);
    n += hash_len;
    return n;
}

static void gen_content(void)
{
    const char *t = "content";
    uint8_t buf[256];

    write_seed(t, "genuine-receipt-delivered", buf, receipt_content(buf, 1, 1, 16));
    write_seed(t, "genuine-receipt-read-3", buf, receipt_content(buf, 2, 3, 16));
    write_seed(t, "edit-receipt-unknown-kind", buf, receipt_content(buf, 3, 1, 16));
    write_seed(t, "edit-receipt-short-id", buf, receipt_content(buf, 2, 1, 15));
    write_seed(t, "edit-receipt-no-ids", buf, receipt_content(buf, 1, 0, 16));
    write_seed(t, "genuine-group-update", buf, group_content(buf, 0xa2, 16));
    write_seed(t, "genuine-group-sender-key", buf, group_content(buf, 0xaa, 16));
    write_seed(t, "edit-group-update-short-id", buf, group_content(buf, 0xa2, 15));
    write_seed(t, "genuine-group-message-state", buf, group_message_content(buf, 32));
    write_seed(t, "edit-group-message-short-hash", buf, group_message_content(buf, 31));
}

/* Writes selector || in (the input of the targets that take a selector byte). */
static void write_selected(const char *target, const char *name, uint8_t selector,
                           const uint8_t *in, size_t len)
{
    uint8_t *copy = fz_alloc(len + 1);

    copy[0] = selector;
    memcpy(copy + 1, in, len);
    write_seed(target, name, copy, len + 1);
    free(copy);
}

/* fuzz_sender_key_message, _distribution, _load: the fixed sender of group_fixture.h. */
static void gen_sender_key(void)
{
    const char *tm = "sender_key_message", *td = "sender_key_distribution";
    const char *tl = "sender_key_load";
    pl_device *device = NULL;
    pl_sender_key *key = fzg_sender(&device);
    pl_sender_key_receiver *r = NULL;
    uint8_t dist[PL_SENDER_KEY_DISTRIBUTION_BYTES], saved[PL_SENDER_KEY_SAVED_BYTES];
    uint8_t m[6][PL_GROUP_MESSAGE_BYTES(64)], rs[4096], pt[64];
    size_t len[6], rs_len = 0, pt_len;
    char name[64];

    pl_sender_key_distribution(key, dist);
    fzg_must(pl_sender_key_receiver_create(&r, dist, sizeof dist), "receiver");
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "group message %d", i);
        fzg_must(pl_sender_key_encrypt(key, (const uint8_t *)name, strlen(name), m[i], sizeof m[i],
                                       &len[i]),
                 "encrypt");
    }
    write_seed(tm, "genuine-iteration-0", m[0], len[0]);
    write_seed(tm, "genuine-iteration-1", m[1], len[1]);
    write_seed(tm, "genuine-iteration-5", m[5], len[5]);
    write_seed(tm, "edit-truncated", m[0], len[0] - 1);
    write_appended(tm, "edit-trailing-byte", m[0], len[0], 0);
    write_edited(tm, "edit-version", m[0], len[0], 0, 0x03);
    write_edited(tm, "edit-key-id", m[0], len[0], 17, 0x01);
    write_edited(tm, "edit-iteration", m[0], len[0], 24, 0x01);
    write_edited(tm, "edit-ciphertext", m[0], len[0], PL_GROUP_MESSAGE_HEADER_BYTES, 0x01);
    write_edited(tm, "edit-signature", m[0], len[0], len[0] - 1, 0x01);

    write_seed(td, "genuine", dist, sizeof dist);
    write_seed(td, "edit-truncated", dist, sizeof dist - 1);
    write_appended(td, "edit-trailing-byte", dist, sizeof dist, 0);
    write_edited(td, "edit-version", dist, sizeof dist, 0, 0x03);
    write_edited(td, "edit-identity-type", dist, sizeof dist, 25, 0x03);
    write_edited(td, "edit-signing-type", dist, sizeof dist, sizeof dist - 33, 0x03);

    pl_sender_key_save(key, saved);
    write_selected(tl, "genuine-sender", 0, saved, sizeof saved);
    /* A receiving chain that skipped 0, 1, 3 and 4, then decrypted 5 and 2. */
    fzg_must(pl_sender_key_receiver_decrypt(r, m[5], len[5], pt, sizeof pt, &pt_len), "dec");
    fzg_must(pl_sender_key_receiver_decrypt(r, m[2], len[2], pt, sizeof pt, &pt_len), "dec");
    fzg_must(pl_sender_key_receiver_save(r, rs, sizeof rs, &rs_len), "save");
    write_selected(tl, "genuine-receiver", 1, rs, rs_len);
    write_selected(tl, "edit-sender-as-receiver", 1, saved, sizeof saved);
    write_selected(tl, "edit-receiver-truncated", 1, rs, rs_len - 17);
    rs[8 + 130 - 1] ^= 0x07; /* the skipped count */
    write_selected(tl, "edit-receiver-count", 1, rs, rs_len);
    sodium_memzero(saved, sizeof saved);
    sodium_memzero(rs, sizeof rs);
    pl_sender_key_receiver_free(r);
    pl_sender_key_free(key);
    pl_device_free(device);
}

/* fuzz_group_change: changes to the fixed group of group_fixture.h, and its state. */
static void gen_group_change(void)
{
    const char *t = "group_change";
    const fzg_cast *c = fzg_cast_get();
    pl_group_change_body body;
    uint8_t *chg = NULL, *st;
    size_t len = 0, st_len;
    pl_group_member bob1 = c->bob_m;

    write_selected(t, "genuine-create", 0, c->create, c->create_len);
    write_selected(t, "edit-create-on-state", 1, c->create, c->create_len);

    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_ADD;
    body.members = &c->carol_m;
    body.n_members = 1;
    fzg_must(
        pl_group_change_sign(c->bob4, (const uint8_t *)"bob", 3, c->state, NULL, &body, &chg, &len),
        "add");
    write_selected(t, "genuine-add", 1, chg, len);
    write_selected(t, "edit-add-without-state", 0, chg, len);
    {
        uint8_t *sel = fz_alloc(len + 1);

        sel[0] = 1;
        memcpy(sel + 1, chg, len);
        write_edited(t, "edit-add-signature", sel, len + 1, len, 0x01);
        free(sel);
    }
    free(chg);

    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_REMOVE;
    body.username = (const uint8_t *)"bob";
    body.username_len = 3;
    fzg_must(pl_group_change_sign(c->alice, (const uint8_t *)"alice", 5, c->state, NULL, &body,
                                  &chg, &len),
             "remove");
    write_selected(t, "genuine-remove", 1, chg, len);
    free(chg);

    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_LEAVE;
    fzg_must(
        pl_group_change_sign(c->bob3, (const uint8_t *)"bob", 3, c->state, NULL, &body, &chg, &len),
        "leave");
    write_selected(t, "genuine-leave", 1, chg, len);
    free(chg);

    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_RENAME;
    body.name = (const uint8_t *)"renamed";
    body.name_len = 7;
    fzg_must(pl_group_change_sign(c->alice, (const uint8_t *)"alice", 5, c->state, NULL, &body,
                                  &chg, &len),
             "rename");
    write_selected(t, "genuine-rename", 1, chg, len);
    free(chg);

    memset(&body, 0, sizeof body);
    bob1.n_devices = 1;
    body.kind = PL_GROUP_CHANGE_DEVICES;
    body.members = &bob1;
    body.n_members = 1;
    fzg_must(
        pl_group_change_sign(c->bob3, (const uint8_t *)"bob", 3, c->state, NULL, &body, &chg, &len),
        "devices");
    write_selected(t, "genuine-devices", 1, chg, len);
    free(chg);

    st_len = pl_group_state_encoded_size(c->state);
    st = fz_alloc(st_len);
    fzg_must(pl_group_state_encode(c->state, st, st_len, &st_len), "encode");
    write_selected(t, "genuine-state", 2, st, st_len);
    write_selected(t, "edit-state-truncated", 2, st, st_len - 1);
    free(st);
}

int main(int argc, char **argv)
{
    const fz_fixtures *f;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    make_dir(out_dir);
    f = fz_fixtures_get();
    gen_keys(f);
    gen_bundles(f);
    gen_messages(f);
    gen_saved(f);
    gen_merkle();
    gen_vrf();
    gen_account_state(f);
    gen_prefix();
    gen_kt_witness();
    gen_kt_lookup();
    gen_audit_entry();
    gen_kt_client();
    gen_audit_config();
    gen_content();
    gen_sender_key();
    gen_group_change();
    return 0;
}
