/*
 * kt_witness.c: a key transparency witness decides whether to cosign a checkpoint
 * (parley/kt_witness.h, docs/PROTOCOL.md §22, c2sp.org/tlog-witness add-checkpoint).
 *
 * State machine, per log origin:
 *   empty (has_state 0, size 0) --first checkpoint, empty proof--> (size, root)
 *   (s, r) --checkpoint (s', r'), old size s, proof (s, r) -> (s', r')--> (s', r'), s' >= s
 * Everything else leaves the state as it was. The state only grows, so as long as the caller
 * persists it before releasing a cosignature, no restart can make the witness sign a smaller
 * tree or a fork of one it signed.
 *
 * Every check runs on locals; *next and the cosignature are written last, together.
 */
#include <string.h>

#include <sodium.h>

#include "parley/error.h"
#include "parley/kt_witness.h"

/* 1 if s is a state pl_kt_witness_state_init() and this file can have made. */
static int state_ok(const pl_kt_witness_state *s)
{
    if (s->origin_len == 0 || s->origin_len > PL_NOTE_NAME_MAX_BYTES)
        return 0;
    if (memchr(s->origin, '\n', s->origin_len) || memchr(s->origin, '\0', s->origin_len))
        return 0;
    if (s->log_key.type != PL_NOTE_TYPE_ED25519)
        return 0;
    if (s->has_state != 0 && s->has_state != 1)
        return 0;
    if (!s->has_state && s->size != 0)
        return 0;
    return 1;
}

int pl_kt_witness_state_init(const char *origin, size_t origin_len, const pl_note_verifier *log_key,
                             pl_kt_witness_state *out)
{
    pl_kt_witness_state s;

    if (out)
        memset(out, 0, sizeof *out);
    if (!out || !origin || !log_key || origin_len == 0 || origin_len > PL_NOTE_NAME_MAX_BYTES)
        return PL_E_INVALID_ARG;
    memset(&s, 0, sizeof s);
    memcpy(s.origin, origin, origin_len);
    s.origin_len = origin_len;
    s.log_key = *log_key;
    if (!state_ok(&s))
        return PL_E_INVALID_ARG;
    *out = s;
    return PL_OK;
}

/* Step 4 of pl_kt_witness_add_checkpoint: does (size, root) extend what cur holds? */
static int extends(const pl_kt_witness_state *cur, const pl_checkpoint *cp,
                   const uint8_t (*consistency)[PL_MERKLE_HASH_BYTES], size_t n)
{
    uint8_t empty_root[PL_MERKLE_HASH_BYTES];

    if (cp->size == 0) {
        /* MTH({}) is fixed: a size-0 checkpoint with another root is no tree at all */
        if (pl_merkle_root(NULL, 0, empty_root) != PL_OK)
            return PL_E_BAD_PROOF;
        if (n != 0 || sodium_memcmp(cp->root, empty_root, sizeof empty_root) != 0)
            return PL_E_BAD_PROOF;
        return PL_OK;
    }
    if (cur->size == 0) /* every tree extends the empty one; RFC 9162 has no proof for it */
        return n == 0 ? PL_OK : PL_E_BAD_PROOF;
    /* covers equal sizes too: an empty proof and equal roots, so a fork is refused here */
    return pl_merkle_verify_consistency(cur->size, cp->size, cur->root, cp->root, consistency, n);
}

int pl_kt_witness_add_checkpoint(const pl_kt_witness_state *cur, uint64_t old_size,
                                 const char *note, size_t note_len,
                                 const uint8_t (*consistency)[PL_MERKLE_HASH_BYTES], size_t n,
                                 const char *witness_name, size_t name_len,
                                 const uint8_t witness_sk[PL_NOTE_ED25519_SECRET_KEY_BYTES],
                                 uint64_t now_s, pl_kt_witness_state *next, char *cosig_line,
                                 size_t cap, size_t *line_len, uint64_t *conflict_size)
{
    pl_kt_witness_state s;
    pl_note_opened o;
    pl_checkpoint cp;
    size_t len = 0;
    int r;

    if (conflict_size)
        *conflict_size = 0;
    if (line_len)
        *line_len = 0;
    if (cosig_line && cap)
        memset(cosig_line, 0, cap);
    if (!cur || !next)
        return PL_E_INVALID_ARG;
    s = *cur; /* a copy first: next may alias cur */
    *next = s;
    r = PL_E_INVALID_ARG;
    if (!note || !witness_name || !witness_sk || !cosig_line || !line_len || !state_ok(&s))
        goto out;
    if (n > PL_MERKLE_MAX_PROOF || (n > 0 && !consistency) || now_s > PL_COSIGNATURE_MAX_TIME)
        goto out;

    /* 1. signed by the log's key, a checkpoint of the log's origin */
    if ((r = pl_note_open(note, note_len, &s.log_key, 1, &o)) != PL_OK)
        goto out;
    if ((r = pl_checkpoint_parse(o.text, o.text_len, &cp)) != PL_OK)
        goto out;
    r = PL_E_IDENTITY_MISMATCH;
    if (cp.origin_len != s.origin_len || memcmp(cp.origin, s.origin, s.origin_len) != 0)
        goto out;
    /* 2. the log must prove from the size the witness holds */
    if (old_size != s.size) {
        if (conflict_size)
            *conflict_size = s.size;
        r = PL_E_WITNESS_CONFLICT;
        goto out;
    }
    /* 3. never a smaller tree */
    r = PL_E_ROLLBACK;
    if (cp.size < s.size)
        goto out;
    /* 4. never a fork */
    if ((r = extends(&s, &cp, consistency, n)) != PL_OK) {
        r = PL_E_BAD_PROOF; /* INVALID_ARG is impossible here, but a refusal is a refusal */
        goto out;
    }
    /* 5. cosign, then hand over the new state with it */
    if ((r = pl_cosignature_sign(o.text, o.text_len, witness_name, name_len, witness_sk, now_s,
                                 cosig_line, cap, &len)) != PL_OK)
        goto out;
    s.size = cp.size;
    memcpy(s.root, cp.root, sizeof s.root);
    s.has_state = 1;
    *next = s;
    *line_len = len;
    r = PL_OK;
out:
    if (r != PL_OK && cosig_line && cap)
        memset(cosig_line, 0, cap);
    return r;
}
