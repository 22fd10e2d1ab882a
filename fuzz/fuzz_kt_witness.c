/*
 * fuzz_kt_witness.c: pl_kt_witness_add_checkpoint() on hostile requests.
 *
 * Input: u8 state || u64 old_size (big-endian) || u8 n || n * 32 proof bytes || note.
 * state % 3 picks the witness's state: 0 nothing cosigned, 1 the empty tree, 2 the tree of
 * the first 4 of 9 fixed leaves (entries 0x00..0x08, as gen_corpus.c writes); n is taken
 * modulo 66, so that just past PL_MERKLE_MAX_PROOF is reached. The log key and the witness
 * key are made from the fixed seeds 0x11 and 0x44 of fuzz_note.c; the seeds in
 * fuzz/corpus/kt_witness/ are genuine requests from that log, and edits of them.
 *
 * Invariants: only the documented codes; on refusal *next is *cur, no line is written and
 * conflict_size is cur's size only on PL_E_WITNESS_CONFLICT; on acceptance the size did not
 * shrink, the same size kept its root, and the line verifies as the witness's cosignature.
 */
#include <string.h>

#include <sodium.h>

#include "fuzz.h"

#define LOG_NAME "parley.example/kt/v1/0123456789abcdef"
#define WITNESS_NAME "witness.example/w1"
#define HB PL_MERKLE_HASH_BYTES
#define LINE_CAP 256u

typedef struct fixed {
    pl_kt_witness_state states[3];
    pl_note_verifier witness_v;
    uint8_t witness_sk[crypto_sign_SECRETKEYBYTES];
} fixed;

static const fixed *fixtures(void)
{
    static fixed f;
    static int ready;
    uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES],
        sk[crypto_sign_SECRETKEYBYTES], d[4][HB];
    pl_note_verifier log_v;

    if (ready)
        return &f;
    FZ_CHECK(pl_init() == PL_OK);
    memset(seed, 0x11, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    FZ_CHECK(pl_note_verifier_init(LOG_NAME, strlen(LOG_NAME), PL_NOTE_TYPE_ED25519, pk, &log_v) ==
             PL_OK);
    memset(seed, 0x44, sizeof seed);
    crypto_sign_seed_keypair(pk, f.witness_sk, seed);
    FZ_CHECK(pl_note_verifier_init(WITNESS_NAME, strlen(WITNESS_NAME), PL_NOTE_TYPE_COSIGNATURE_V1,
                                   pk, &f.witness_v) == PL_OK);
    FZ_CHECK(pl_kt_witness_state_init(LOG_NAME, strlen(LOG_NAME), &log_v, &f.states[0]) == PL_OK);
    f.states[1] = f.states[0];
    f.states[1].has_state = 1;
    FZ_CHECK(pl_merkle_root(NULL, 0, f.states[1].root) == PL_OK);
    for (unsigned i = 0; i < 4; i++) {
        uint8_t e = (uint8_t)i;

        pl_merkle_leaf_hash(&e, 1, d[i]);
    }
    f.states[2] = f.states[0];
    f.states[2].has_state = 1;
    f.states[2].size = 4;
    FZ_CHECK(pl_merkle_root((const uint8_t(*)[HB])d, 4, f.states[2].root) == PL_OK);
    ready = 1;
    return &f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fixed *f = fixtures();
    const pl_kt_witness_state *cur;
    pl_kt_witness_state next;
    const uint8_t(*proof)[HB];
    uint8_t *proof_copy = NULL;
    char line[LINE_CAP];
    size_t n, line_len = 7, note_len;
    uint64_t old_size = 0, conflict = 7, t = 0;
    char *note;
    pl_note_opened o;
    int rc;

    if (size < 10)
        return 0;
    cur = &f->states[data[0] % 3u];
    for (size_t i = 1; i < 9; i++)
        old_size = (old_size << 8) | data[i];
    n = data[9] % 66u;
    data += 10;
    size -= 10;
    if (n * HB > size)
        n = size / HB;
    /* copies, so that the sanitizers see every read past the end */
    if (n) {
        proof_copy = fz_alloc(n * HB);
        memcpy(proof_copy, data, n * HB);
    }
    proof = (const uint8_t(*)[HB])proof_copy;
    note_len = size - n * HB;
    note = (char *)fz_alloc(note_len);
    if (note_len)
        memcpy(note, data + n * HB, note_len);

    memset(&next, 0xA5, sizeof next);
    memset(line, 0xA5, sizeof line);
    rc = pl_kt_witness_add_checkpoint(cur, old_size, note, note_len, proof, n, WITNESS_NAME,
                                      strlen(WITNESS_NAME), f->witness_sk, 1700000000u, &next, line,
                                      sizeof line, &line_len, &conflict);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(rc == PL_E_WITNESS_CONFLICT || rc == PL_E_ROLLBACK || rc == PL_E_BAD_PROOF ||
                 rc == PL_E_IDENTITY_MISMATCH || rc == PL_E_MALFORMED || rc == PL_E_TOO_LARGE ||
                 rc == PL_E_BAD_SIGNATURE || rc == PL_E_INVALID_ARG);
        FZ_CHECK(memcmp(&next, cur, sizeof next) == 0);
        FZ_CHECK(line_len == 0 && fz_is_zero(line, sizeof line));
        if (rc == PL_E_WITNESS_CONFLICT)
            FZ_CHECK(conflict == cur->size && old_size != cur->size);
        else
            FZ_CHECK(conflict == 0);
        /* the only argument errors reachable here are too long a proof */
        if (rc == PL_E_INVALID_ARG)
            FZ_CHECK(n > PL_MERKLE_MAX_PROOF);
    } else {
        FZ_CHECK(conflict == 0 && old_size == cur->size);
        FZ_CHECK(next.has_state == 1 && next.size >= cur->size);
        FZ_CHECK(next.origin_len == cur->origin_len &&
                 memcmp(next.origin, cur->origin, sizeof next.origin) == 0);
        FZ_CHECK(memcmp(&next.log_key, &cur->log_key, sizeof next.log_key) == 0);
        if (cur->has_state && next.size == cur->size)
            FZ_CHECK(memcmp(next.root, cur->root, HB) == 0);
        FZ_CHECK(line_len > 0 && line_len <= sizeof line);
        FZ_CHECK(pl_note_open(note, note_len, &cur->log_key, 1, &o) == PL_OK);
        FZ_CHECK(pl_cosignature_verify(&f->witness_v, o.text, o.text_len, line, line_len, &t) ==
                 PL_OK);
        FZ_CHECK(t == 1700000000u);
    }
    free(note);
    free(proof_copy);
    return 0;
}
