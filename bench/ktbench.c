/*
 * ktbench.c: kt-bench, the cost of key transparency's client-side checks, one primitive at a
 * time (docs/BENCHMARKS.md, "Key transparency primitives"): the VRF proof of a label, a prefix
 * tree proof in a tree of a million label-versions, a log inclusion proof in a log of a
 * million entries, a consistency proof, a checkpoint with two witness cosignatures, and an
 * account state with three devices; then their sum, a first lookup's verification, and its
 * proof bytes. Medians of many calls; figures, never assertions.
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
    return 0;
}
