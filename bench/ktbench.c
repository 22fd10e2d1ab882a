/*
 * ktbench.c: kt-bench, the cost of key transparency's client-side checks, one primitive at a
 * time (docs/BENCHMARKS.md, "Key transparency primitives"): the VRF proof of a label, a prefix
 * tree proof in a tree of a million label-versions, a log inclusion proof in a log of a
 * million entries, a consistency proof, a checkpoint with two witness cosignatures, and an
 * account state with three devices; then their sum, a first lookup's verification, and its
 * proof bytes. Then the combined lookup proof of PROTOCOL.md §23 itself (bench_lookup): a
 * first and a repeat lookup at 10^6 label-versions and 2^20 log entries, and the checkpoint
 * step of kt_view with two witnesses beside them. Medians of many calls; figures, never
 * assertions.
 *
 *   build-bench/bench/kt-bench [--quick]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench.h"
#include "parley/parley.h"

#define LOG_SIZE 1000000u

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static double median_us(uint64_t *ns, unsigned n)
{
    qsort(ns, n, sizeof *ns, cmp_u64);
    return (double)ns[n / 2] / 1000.0;
}

static void row(const char *what, double us, const char *note)
{
    printf("  %-46s %10.1f us   %s\n", what, us, note);
}

/* Sums of the medians (us) and bytes that make one first lookup. */
static double lookup_us;
static size_t lookup_bytes;

static int bench_vrf(unsigned n)
{
    uint8_t seed[32], pk[32], pi[PL_VRF_PROOF_BYTES], beta[PL_VRF_OUTPUT_BYTES];
    const uint8_t alpha[] = "\x05"
                            "alice"
                            "\x00\x00\x00\x07"; /* u8 len || label || u32 version */
    uint64_t *prove = calloc(n, sizeof *prove), *verify = calloc(n, sizeof *verify);
    int r = -1;

    if (!prove || !verify)
        goto out;
    randombytes_buf(seed, sizeof seed);
    pl_vrf_keypair_from_seed(seed, pk);
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = bench_now();

        if (pl_vrf_prove(seed, alpha, sizeof alpha - 1, pi) != PL_OK)
            goto out;
        prove[i] = bench_now() - t0;
        t0 = bench_now();
        if (pl_vrf_verify(pk, alpha, sizeof alpha - 1, pi, beta) != PL_OK)
            goto out;
        verify[i] = bench_now() - t0;
    }
    row("VRF prove (server, per label-version)", median_us(prove, n), "");
    row("VRF verify (client, first lookup)", median_us(verify, n), "80-byte proof");
    lookup_us += median_us(verify, n);
    lookup_bytes += PL_VRF_PROOF_BYTES;
    r = 0;
out:
    free(prove);
    free(verify);
    return r;
}

static int bench_merkle(unsigned n)
{
    uint8_t(*leaves)[32] = malloc((size_t)LOG_SIZE * 32);
    uint8_t root[32], old_root[32], proof[PL_MERKLE_MAX_PROOF][32], cproof[PL_MERKLE_MAX_PROOF][32];
    size_t plen = 0, clen = 0;
    uint64_t *incl = calloc(n, sizeof *incl), *cons = calloc(n, sizeof *cons);
    const uint64_t index = 765432, old_size = LOG_SIZE - 3600;
    int r = -1;

    if (!leaves || !incl || !cons)
        goto out;
    for (uint32_t i = 0; i < LOG_SIZE; i++) {
        uint8_t entry[40] = {0};

        memcpy(entry, &i, sizeof i);
        pl_merkle_leaf_hash(entry, sizeof entry, leaves[i]);
    }
    if (pl_merkle_root((const uint8_t(*)[32])leaves, LOG_SIZE, root) != PL_OK ||
        pl_merkle_root((const uint8_t(*)[32])leaves, old_size, old_root) != PL_OK ||
        pl_merkle_inclusion_proof((const uint8_t(*)[32])leaves, LOG_SIZE, index, proof, &plen) !=
            PL_OK ||
        pl_merkle_consistency_proof((const uint8_t(*)[32])leaves, old_size, LOG_SIZE, cproof,
                                    &clen) != PL_OK)
        goto out;
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = bench_now();

        if (pl_merkle_verify_inclusion(index, LOG_SIZE, leaves[index], (const uint8_t(*)[32])proof,
                                       plen, root) != PL_OK)
            goto out;
        incl[i] = bench_now() - t0;
        t0 = bench_now();
        if (pl_merkle_verify_consistency(old_size, LOG_SIZE, old_root, root,
                                         (const uint8_t(*)[32])cproof, clen) != PL_OK)
            goto out;
        cons[i] = bench_now() - t0;
    }
    {
        char note[64];

        snprintf(note, sizeof note, "%zu hashes, %zu bytes", plen, plen * 32);
        row("log inclusion proof verify, 10^6 entries", median_us(incl, n), note);
        lookup_us += median_us(incl, n);
        lookup_bytes += plen * 32;
        snprintf(note, sizeof note, "%zu hashes, %zu bytes", clen, clen * 32);
        row("log consistency verify, 1 h of 1/s entries", median_us(cons, n), note);
    }
    r = 0;
out:
    free(leaves);
    free(incl);
    free(cons);
    return r;
}

static int bench_checkpoint(unsigned n)
{
    uint8_t log_pk[32], log_sk[64], w_pk[2][32], w_sk[2][64], root[32];
    pl_note_verifier v[3];
    pl_checkpoint cp;
    pl_note_opened opened;
    char text[512], note[4096], line[256];
    size_t text_len = 0, note_len = 0, line_len = 0;
    uint64_t *ns = calloc(n, sizeof *ns);
    int r = -1;

    if (!ns)
        goto out;
    crypto_sign_keypair(log_pk, log_sk);
    randombytes_buf(root, sizeof root);
    memset(&cp, 0, sizeof cp);
    snprintf(cp.origin, sizeof cp.origin, "chat.example.org/kt/v1/0123456789abcdef");
    cp.origin_len = strlen(cp.origin);
    cp.size = LOG_SIZE;
    memcpy(cp.root, root, sizeof root);
    if (pl_checkpoint_format(&cp, text, sizeof text, &text_len) != PL_OK ||
        pl_note_sign(text, text_len, cp.origin, cp.origin_len, log_sk, note, sizeof note,
                     &note_len) != PL_OK ||
        pl_note_verifier_init(cp.origin, cp.origin_len, PL_NOTE_TYPE_ED25519, log_pk, &v[0]) !=
            PL_OK)
        goto out;
    for (int w = 0; w < 2; w++) {
        char name[32];

        crypto_sign_keypair(w_pk[w], w_sk[w]);
        snprintf(name, sizeof name, "witness%d.example", w);
        if (pl_note_verifier_init(name, strlen(name), PL_NOTE_TYPE_COSIGNATURE_V1, w_pk[w],
                                  &v[1 + w]) != PL_OK ||
            pl_cosignature_sign(text, text_len, name, strlen(name), w_sk[w], 1764400000u, line,
                                sizeof line, &line_len) != PL_OK ||
            note_len + line_len >= sizeof note)
            goto out;
        memcpy(note + note_len, line, line_len);
        note_len += line_len;
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = bench_now();

        if (pl_note_open(note, note_len, v, 3, &opened) != PL_OK ||
            pl_checkpoint_parse(opened.text, opened.text_len, &cp) != PL_OK)
            goto out;
        ns[i] = bench_now() - t0;
    }
    {
        char what[64];

        snprintf(what, sizeof what, "%zu bytes, log + 2 witnesses", note_len);
        row("checkpoint: open note, 3 signatures, parse", median_us(ns, n), what);
        lookup_us += median_us(ns, n);
        lookup_bytes += note_len;
    }
    r = 0;
out:
    free(ns);
    return r;
}

static int bench_prefix(unsigned n)
{
    pl_prefix_tree *t = NULL;
    pl_prefix_proof *proof = malloc(sizeof *proof);
    uint8_t key[32], commitment[32], root[32], got[32], *enc = malloc(9000);
    uint64_t *ns = calloc(n, sizeof *ns), t0;
    size_t len = 0;
    int found = 0, r = -1;

    if (!proof || !enc || !ns || pl_prefix_tree_new(&t) != PL_OK)
        goto out;
    t0 = bench_now();
    for (uint32_t i = 0; i < LOG_SIZE; i++) {
        crypto_hash_sha256(key, (const uint8_t *)&i, sizeof i); /* stands in for VRF outputs */
        crypto_hash_sha256(commitment, key, sizeof key);
        if (pl_prefix_tree_insert(t, key, commitment) != PL_OK)
            goto out;
    }
    printf("  (prefix tree of 10^6 leaves built in %.1f s: %.0f inserts/s, in memory)\n",
           (double)(bench_now() - t0) / 1e9, LOG_SIZE / ((double)(bench_now() - t0) / 1e9));
    pl_prefix_tree_root(t, root);
    {
        uint32_t i = 424242;

        crypto_hash_sha256(key, (const uint8_t *)&i, sizeof i);
    }
    if (pl_prefix_tree_prove(t, key, proof) != PL_OK ||
        pl_prefix_proof_encode(proof, enc, 9000, &len) != PL_OK)
        goto out;
    for (unsigned i = 0; i < n; i++) {
        t0 = bench_now();
        if (pl_prefix_proof_verify(key, enc, len, root, &found, got) != PL_OK || !found)
            goto out;
        ns[i] = bench_now() - t0;
    }
    {
        char note[64];

        snprintf(note, sizeof note, "%zu bytes (depth %u)", len, proof->depth);
        row("prefix proof verify, 10^6 label-versions", median_us(ns, n), note);
        lookup_us += median_us(ns, n);
        lookup_bytes += len;
    }
    r = 0;
out:
    pl_prefix_tree_free(t);
    free(proof);
    free(enc);
    free(ns);
    return r;
}

static int bench_account_state(unsigned n)
{
    uint8_t records[3][PL_DEVICE_RECORD_BYTES], state[PL_ACCOUNT_STATE_MAX_BYTES];
    uint8_t identity[PL_PUBKEY_BYTES];
    pl_account *account = NULL;
    pl_account_state parsed;
    uint64_t *ns = calloc(n, sizeof *ns);
    size_t len = 0;
    int r = -1;

    if (!ns || pl_account_generate(&account, NULL) != PL_OK)
        goto out;
    for (uint32_t d = 0; d < 3; d++) {
        pl_device *dev = NULL;

        if (pl_device_generate(&dev, NULL, d + 1) != PL_OK)
            goto out;
        pl_device_identity_key(dev, identity);
        pl_device_free(dev);
        if (pl_account_sign_device(account, d + 1, identity, 1764400000u, records[d]) != PL_OK)
            goto out;
    }
    if (pl_account_state_sign(account, 0, NULL, 1764400000000u, 1,
                              (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])records, 3, state,
                              sizeof state, &len) != PL_OK)
        goto out;
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = bench_now();

        if (pl_account_state_verify(state, len, &parsed) != PL_OK)
            goto out;
        ns[i] = bench_now() - t0;
    }
    {
        char note[64];

        snprintf(note, sizeof note, "%zu bytes, 4 signatures", len);
        row("account state verify, 3 devices", median_us(ns, n), note);
        lookup_us += median_us(ns, n);
        lookup_bytes += len;
    }
    r = 0;
out:
    pl_account_free(account);
    free(ns);
    return r;
}

/* ---- The combined lookup proof (kt_lookup.h, PROTOCOL.md §23) --------------------------- */

#define KT_LOG_ENTRIES (UINT64_C(1) << 20)
#define KT_LABEL_VERSIONS 1000000u
#define KT_NOW_S UINT64_C(1764400000)

/* A checkpoint note of (size, root), signed by the log and cosigned by both witnesses. */
static int signed_checkpoint(const char *origin, uint64_t size, const uint8_t root[32],
                             const uint8_t log_sk[64], uint8_t w_sk[2][64], char *note, size_t cap,
                             size_t *note_len)
{
    pl_checkpoint cp;
    char text[512], line[256];
    size_t text_len = 0, line_len = 0;

    memset(&cp, 0, sizeof cp);
    snprintf(cp.origin, sizeof cp.origin, "%s", origin);
    cp.origin_len = strlen(cp.origin);
    cp.size = size;
    memcpy(cp.root, root, 32);
    if (pl_checkpoint_format(&cp, text, sizeof text, &text_len) != PL_OK ||
        pl_note_sign(text, text_len, cp.origin, cp.origin_len, log_sk, note, cap, note_len) !=
            PL_OK)
        return -1;
    for (int w = 0; w < 2; w++) {
        char name[32];

        snprintf(name, sizeof name, "witness%d.example", w);
        if (pl_cosignature_sign(text, text_len, name, strlen(name), w_sk[w], KT_NOW_S, line,
                                sizeof line, &line_len) != PL_OK ||
            *note_len + line_len >= cap)
            return -1;
        memcpy(note + *note_len, line, line_len);
        *note_len += line_len;
    }
    return 0;
}

/*
 * The client's checkpoint step around a lookup, with two witnesses and a quorum of 2:
 * fresh_ns times pl_kt_view_update() of a view with no checkpoint yet (a first lookup);
 * step_ns times it from the checkpoint one hour (3,600 entries) older, with the consistency
 * proof (a client that looked up before). The view is reset outside the timed region.
 */
static int time_view_updates(const uint8_t (*leaves)[32], const uint8_t root[32], unsigned n,
                             uint64_t *fresh_ns, uint64_t *step_ns, size_t *note_bytes,
                             size_t *consistency_bytes)
{
    static const char origin[] = "chat.example.org/kt/v1/0123456789abcdef";
    static char note[4096], old_note[4096];
    static pl_kt_view base, v;
    const uint64_t old_size = KT_LOG_ENTRIES - 3600;
    uint8_t log_pk[32], log_sk[64], w_pk[2][32], w_sk[2][64], old_root[32];
    uint8_t proof[PL_MERKLE_MAX_PROOF][32];
    pl_note_verifier log_key, witnesses[2];
    pl_kt_view_evidence ev;
    size_t note_len = 0, old_note_len = 0, plen = 0;

    crypto_sign_keypair(log_pk, log_sk);
    if (pl_note_verifier_init(origin, strlen(origin), PL_NOTE_TYPE_ED25519, log_pk, &log_key) !=
        PL_OK)
        return -1;
    for (int w = 0; w < 2; w++) {
        char name[32];

        crypto_sign_keypair(w_pk[w], w_sk[w]);
        snprintf(name, sizeof name, "witness%d.example", w);
        if (pl_note_verifier_init(name, strlen(name), PL_NOTE_TYPE_COSIGNATURE_V1, w_pk[w],
                                  &witnesses[w]) != PL_OK)
            return -1;
    }
    if (pl_merkle_root(leaves, old_size, old_root) != PL_OK ||
        pl_merkle_consistency_proof(leaves, old_size, KT_LOG_ENTRIES, proof, &plen) != PL_OK ||
        signed_checkpoint(origin, KT_LOG_ENTRIES, root, log_sk, w_sk, note, sizeof note,
                          &note_len) != 0 ||
        signed_checkpoint(origin, old_size, old_root, log_sk, w_sk, old_note, sizeof old_note,
                          &old_note_len) != 0 ||
        pl_kt_view_init(&base, origin, strlen(origin), &log_key, witnesses, 2, 2, 600000, 600000) !=
            PL_OK)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0;

        v = base;
        t0 = bench_now();
        if (pl_kt_view_update(&v, note, note_len, KT_NOW_S * 1000, NULL, 0, &ev) != PL_OK)
            return -1;
        fresh_ns[i] = bench_now() - t0;
        v = base;
        if (pl_kt_view_update(&v, old_note, old_note_len, KT_NOW_S * 1000, NULL, 0, &ev) != PL_OK)
            return -1;
        t0 = bench_now();
        if (pl_kt_view_update(&v, note, note_len, KT_NOW_S * 1000, (const uint8_t(*)[32])proof,
                              plen, &ev) != PL_OK)
            return -1;
        step_ns[i] = bench_now() - t0;
    }
    *note_bytes = note_len;
    *consistency_bytes = plen * 32;
    return 0;
}

/*
 * A greatest lookup of "alice" at version 0, built as the server builds it, in a prefix tree
 * of 10^6 label-versions and a log of 2^20 entries. Alice's two VRF outputs (v0 present, v1
 * absent) are real, from a fixed VRF seed, with a real opening, commitment and one-device
 * signed state; the other 999,999 label-versions are SHA-256(i), standing in for VRF
 * outputs (uniform 32-byte keys, which is all the tree's shape depends on). The log's other
 * 2^20 - 1 leaf hashes are SHA-256 of their index; the last is the real entry, and its
 * inclusion proof is computed honestly from all 2^20 leaves. Timed: pl_kt_lookup_verify on
 * the encoded bytes, without a cache (first lookup) and with both VRF outputs cached
 * (repeat lookup); then each plus the checkpoint step.
 */
static int bench_lookup(unsigned n)
{
    static pl_kt_lookup l;
    static pl_kt_lookup_result res;
    static uint8_t enc[PL_KT_LOOKUP_MAX_BYTES], state[PL_ACCOUNT_STATE_MAX_BYTES];
    static const uint8_t label[] = "alice";
    const size_t label_len = sizeof label - 1;
    uint8_t(*leaves)[32] = malloc((size_t)KT_LOG_ENTRIES * 32);
    uint64_t *first = calloc(n, sizeof *first), *repeat = calloc(n, sizeof *repeat);
    uint64_t *fresh = calloc(n, sizeof *fresh), *step = calloc(n, sizeof *step), t0;
    pl_prefix_tree *t = NULL;
    pl_account *account = NULL;
    pl_device *dev = NULL;
    pl_rng_deterministic rng_state;
    pl_rng rng;
    pl_kt_vrf_cached cache[2];
    pl_kt_lookup_failure why;
    uint8_t seed[32], open_key[32], record[PL_DEVICE_RECORD_BYTES], identity[PL_PUBKEY_BYTES];
    uint8_t key[32], commitment[32], root[32], entry[PL_KT_LOG_ENTRY_BYTES];
    size_t state_len = 0, len = 0, note_bytes = 0, consistency_bytes = 0;
    int r = -1;

    if (!leaves || !first || !repeat || !fresh || !step)
        goto out;
    memset(seed, 0x01, sizeof seed);
    memset(open_key, 0x02, sizeof open_key);
    rng = pl_rng_deterministic_init(&rng_state, seed);
    if (pl_account_generate(&account, &rng) != PL_OK || pl_device_generate(&dev, &rng, 1) != PL_OK)
        goto out;
    pl_device_identity_key(dev, identity);
    if (pl_account_sign_device(account, 1, identity, KT_NOW_S, record) != PL_OK ||
        pl_account_state_sign(account, 0, NULL, KT_NOW_S * 1000, 1,
                              (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])record, 1, state,
                              sizeof state, &state_len) != PL_OK)
        goto out;

    /* The server's side: alice v0 in a tree of 10^6 label-versions. */
    memset(&l, 0, sizeof l);
    l.kind = PL_KT_LOOKUP_GREATEST;
    l.version = 0;
    l.value = state;
    l.value_len = state_len;
    if (pl_kt_vrf_prove(seed, label, label_len, 0, l.vrf_proof, cache[0].vrf_out) != PL_OK ||
        pl_kt_vrf_prove(seed, label, label_len, 1, l.next_vrf_proof, cache[1].vrf_out) != PL_OK ||
        pl_kt_opening(l.opening, open_key, label, label_len, 0) != PL_OK ||
        pl_kt_commitment(commitment, l.opening, label, label_len, 0, state, state_len) != PL_OK ||
        pl_prefix_tree_new(&t) != PL_OK ||
        pl_prefix_tree_insert(t, cache[0].vrf_out, commitment) != PL_OK)
        goto out;
    cache[0].version = 0;
    cache[1].version = 1;
    for (uint32_t i = 1; i < KT_LABEL_VERSIONS; i++) {
        crypto_hash_sha256(key, (const uint8_t *)&i, sizeof i);
        crypto_hash_sha256(commitment, key, sizeof key);
        if (pl_prefix_tree_insert(t, key, commitment) != PL_OK)
            goto out;
    }
    pl_prefix_tree_root(t, l.prefix_root);
    if (pl_prefix_tree_prove(t, cache[0].vrf_out, &l.prefix) != PL_OK ||
        pl_prefix_tree_prove(t, cache[1].vrf_out, &l.next_prefix) != PL_OK)
        goto out;

    /* The log: 2^20 entries, the last one holding that prefix root. */
    l.tree_size = KT_LOG_ENTRIES;
    l.timestamp_ms = KT_NOW_S * 1000;
    for (uint64_t i = 0; i + 1 < KT_LOG_ENTRIES; i++)
        crypto_hash_sha256(leaves[i], (const uint8_t *)&i, sizeof i);
    pl_kt_log_entry(l.timestamp_ms, l.prefix_root, entry);
    pl_merkle_leaf_hash(entry, sizeof entry, leaves[KT_LOG_ENTRIES - 1]);
    if (pl_merkle_root((const uint8_t(*)[32])leaves, KT_LOG_ENTRIES, root) != PL_OK ||
        pl_merkle_inclusion_proof((const uint8_t(*)[32])leaves, KT_LOG_ENTRIES, KT_LOG_ENTRIES - 1,
                                  l.inclusion, &l.n_inclusion) != PL_OK ||
        pl_kt_lookup_encode(&l, enc, sizeof enc, &len) != PL_OK)
        goto out;

    /* The client's side. */
    {
        uint8_t vrf_pk[32];

        pl_vrf_keypair_from_seed(seed, vrf_pk);
        for (unsigned i = 0; i < n; i++) {
            t0 = bench_now();
            if (pl_kt_lookup_verify(vrf_pk, label, label_len, KT_LOG_ENTRIES, root,
                                    PL_KT_LOOKUP_GREATEST, 0, NULL, 0, enc, len, &res,
                                    &why) != PL_OK)
                goto out;
            first[i] = bench_now() - t0;
            t0 = bench_now();
            if (pl_kt_lookup_verify(vrf_pk, label, label_len, KT_LOG_ENTRIES, root,
                                    PL_KT_LOOKUP_GREATEST, 0, cache, 2, enc, len, &res,
                                    &why) != PL_OK)
                goto out;
            repeat[i] = bench_now() - t0;
        }
    }
    if (time_view_updates((const uint8_t(*)[32])leaves, root, n, fresh, step, &note_bytes,
                          &consistency_bytes) != 0)
        goto out;
    {
        double f = median_us(first, n), rp = median_us(repeat, n);
        double vf = median_us(fresh, n), vs = median_us(step, n);
        char note[96];

        printf("  lookup proof: greatest, v=0, one-device state of %zu bytes; prefix depths "
               "%u and %u; %zu inclusion hashes\n",
               state_len, l.prefix.depth, l.next_prefix.depth, l.n_inclusion);
        snprintf(note, sizeof note, "%zu-byte proof (target <= 4096 B, <= 1500 us)", len);
        row("first lookup verify (no VRF cache)", f, note);
        row("repeat lookup verify (both VRF outputs cached)", rp, "target <= 500 us");
        snprintf(note, sizeof note, "%zu-byte note, quorum 2 of 2", note_bytes);
        row("checkpoint, first: pl_kt_view_update, no prior", vf, note);
        snprintf(note, sizeof note, "+ %zu-byte consistency proof", consistency_bytes);
        row("checkpoint, step from 1 h older checkpoint", vs, note);
        row("first lookup + first checkpoint", f + vf, "");
        row("repeat lookup + checkpoint step", rp + vs, "");
    }
    r = 0;
out:
    pl_prefix_tree_free(t);
    pl_account_free(account);
    pl_device_free(dev);
    free(leaves);
    free(first);
    free(repeat);
    free(fresh);
    free(step);
    return r;
}

int main(int argc, char **argv)
{
    unsigned n = (argc > 1 && strcmp(argv[1], "--quick") == 0) ? 101 : 1001;

    if (pl_init() != PL_OK)
        return 1;
    printf("kt-bench: key transparency primitives, medians of %u calls\n", n);
    if (bench_vrf(n) != 0 || bench_prefix(n) != 0 || bench_merkle(n) != 0 ||
        bench_checkpoint(n) != 0 || bench_account_state(n) != 0) {
        fprintf(stderr, "kt-bench: an operation failed\n");
        return 1;
    }
    printf("  %-46s %10.1f us   %zu bytes of proofs and signed data\n",
           "first lookup, sum of the above checks", lookup_us, lookup_bytes);
    printf("kt-bench: the combined lookup proof (pl_kt_lookup_verify), medians of %u calls\n", n);
    if (bench_lookup(n) != 0) {
        fprintf(stderr, "kt-bench: the lookup benchmark failed\n");
        return 1;
    }
    return 0;
}
