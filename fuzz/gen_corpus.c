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

#include "fuzz.h"

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
    gen_prefix();
    return 0;
}
