/*
 * fuzz_kt_view.c: parley/kt_view.h on hostile bytes: pl_kt_view_update() on a fixed view.
 *
 * The view pins the log key of fuzz_note.c (seed 0x11) and its witness (seed 0x44) with a
 * quorum of 1, and has verified a checkpoint of size 5 over leaf hashes H(0x00 || i). The
 * input is one byte n (taken mod PL_MERKLE_MAX_PROOF + 2), then n proof hashes of 32 bytes,
 * then the note. The seeds in fuzz/corpus/kt_view/ are honest notes of sizes 5 and 13 with
 * their proofs, a fork and a stale cosignature.
 *
 * Invariants: only the documented codes; a refused note leaves the view byte for byte as it
 * was, with a reason that matches the code; an accepted one never shrinks the tree, keeps the
 * root at the same size, and stores the note.
 */
#include <string.h>

#include <sodium.h>

#include "fuzz.h"

#define ORIGIN "parley.example/kt/v1/0123456789abcdef"
#define WITNESS_NAME "witness.example/w1"
#define NOW_MS UINT64_C(1700000000000)
#define HB PL_MERKLE_HASH_BYTES

static const pl_kt_view *base_view(void)
{
    static pl_kt_view v;
    static int ready;
    uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES],
        lsk[crypto_sign_SECRETKEYBYTES], wsk[crypto_sign_SECRETKEYBYTES], leaves[5][HB];
    pl_note_verifier lv, wv;
    pl_checkpoint cp;
    pl_kt_view_evidence ev;
    char text[256], note[1024];
    size_t text_len, note_len, line_len;

    if (ready)
        return &v;
    FZ_CHECK(pl_init() == PL_OK);
    memset(seed, 0x11, sizeof seed);
    crypto_sign_seed_keypair(pk, lsk, seed);
    FZ_CHECK(pl_note_verifier_init(ORIGIN, strlen(ORIGIN), PL_NOTE_TYPE_ED25519, pk, &lv) == PL_OK);
    memset(seed, 0x44, sizeof seed);
    crypto_sign_seed_keypair(pk, wsk, seed);
    FZ_CHECK(pl_note_verifier_init(WITNESS_NAME, strlen(WITNESS_NAME), PL_NOTE_TYPE_COSIGNATURE_V1,
                                   pk, &wv) == PL_OK);
    FZ_CHECK(pl_kt_view_init(&v, ORIGIN, strlen(ORIGIN), &lv, &wv, 1, 1, 120000, 600000) == PL_OK);
    for (uint8_t i = 0; i < 5; i++)
        pl_merkle_leaf_hash(&i, 1, leaves[i]);
    memset(&cp, 0, sizeof cp);
    memcpy(cp.origin, ORIGIN, strlen(ORIGIN));
    cp.origin_len = strlen(ORIGIN);
    cp.size = 5;
    FZ_CHECK(pl_merkle_root((const uint8_t(*)[HB])leaves, 5, cp.root) == PL_OK);
    FZ_CHECK(pl_checkpoint_format(&cp, text, sizeof text, &text_len) == PL_OK);
    FZ_CHECK(pl_note_sign(text, text_len, ORIGIN, strlen(ORIGIN), lsk, note, sizeof note,
                          &note_len) == PL_OK);
    FZ_CHECK(pl_cosignature_sign(text, text_len, WITNESS_NAME, strlen(WITNESS_NAME), wsk,
                                 NOW_MS / 1000, note + note_len, sizeof note - note_len,
                                 &line_len) == PL_OK);
    note_len += line_len;
    FZ_CHECK(pl_kt_view_update(&v, note, note_len, NOW_MS, NULL, 0, &ev) == PL_OK);
    sodium_memzero(lsk, sizeof lsk);
    sodium_memzero(wsk, sizeof wsk);
    ready = 1;
    return &v;
}

static int reason_matches(int rc, pl_kt_view_reason reason)
{
    switch (reason) {
    case PL_KT_VIEW_MALFORMED:
        return rc == PL_E_MALFORMED || rc == PL_E_TOO_LARGE;
    case PL_KT_VIEW_BAD_SIGNATURE:
        return rc == PL_E_BAD_SIGNATURE;
    case PL_KT_VIEW_BAD_CONSISTENCY:
        return rc == PL_E_BAD_PROOF;
    case PL_KT_VIEW_WRONG_ORIGIN:
    case PL_KT_VIEW_NO_QUORUM:
    case PL_KT_VIEW_STALE:
    case PL_KT_VIEW_FROM_THE_FUTURE:
    case PL_KT_VIEW_ROLLBACK:
    case PL_KT_VIEW_FORK:
        return rc == PL_E_KT_VIEW;
    case PL_KT_VIEW_NONE:
        return rc == PL_OK;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const pl_kt_view *base = base_view();
    pl_kt_view *v;
    uint8_t(*proof)[HB] = NULL;
    pl_kt_view_evidence ev;
    size_t n;
    char *note;
    int rc;

    if (size < 1)
        return 0;
    n = data[0] % (PL_MERKLE_MAX_PROOF + 2u);
    if (size - 1 < n * HB)
        n = (size - 1) / HB;
    if (n > 0) {
        proof = (uint8_t(*)[HB])fz_alloc(n * HB);
        memcpy(proof, data + 1, n * HB);
    }
    /* the note in its own allocation, so that a read past its end is caught */
    note = (char *)fz_alloc(size - 1 - n * HB);
    memcpy(note, data + 1 + n * HB, size - 1 - n * HB);
    v = (pl_kt_view *)fz_alloc(sizeof *v);
    memcpy(v, base, sizeof *v);

    rc = pl_kt_view_update(v, note, size - 1 - n * HB, NOW_MS, (const uint8_t(*)[HB])proof, n, &ev);
    FZ_CHECK_RC(rc);
    FZ_CHECK(reason_matches(rc, ev.reason));
    FZ_CHECK(ev.has_old && ev.old_size == base->size);
    FZ_CHECK(memcmp(ev.old_root, base->root, HB) == 0);
    if (rc != PL_OK) {
        FZ_CHECK(memcmp(v, base, sizeof *v) == 0);
    } else {
        FZ_CHECK(v->has_checkpoint && v->size >= base->size && v->size == ev.new_size);
        FZ_CHECK(v->size != base->size || memcmp(v->root, base->root, HB) == 0);
        FZ_CHECK(memcmp(v->root, ev.new_root, HB) == 0);
        FZ_CHECK(v->note_len == size - 1 - n * HB && memcmp(v->note, note, v->note_len) == 0);
        FZ_CHECK(memcmp(v->witnesses, base->witnesses, sizeof v->witnesses) == 0);
    }
    free(v);
    free(note);
    free(proof);
    return 0;
}
