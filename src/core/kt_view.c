/*
 * kt_view.c: a key-transparency client's view of the log (parley/kt_view.h,
 * docs/PROTOCOL.md §21; the research note's §3.4 steps 1 and 5).
 *
 * State: the pinned log, and none or one verified checkpoint (size, root, signed note).
 * pl_kt_view_update() checks a new checkpoint on locals and writes the view only after every
 * check has passed, so a refused checkpoint leaves it exactly as it was.
 */
#include <string.h>

#include <sodium.h>

#include "parley/error.h"
#include "parley/kt_view.h"

#define MS_PER_S UINT64_C(1000)

static int is_verifier(const pl_note_verifier *k, uint8_t type)
{
    return k->type == type && k->name_len >= 1 && k->name_len <= PL_NOTE_NAME_MAX_BYTES &&
           k->name[k->name_len] == '\0';
}

static int same_key(const pl_note_verifier *a, const pl_note_verifier *b)
{
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0 &&
           memcmp(a->public_key, b->public_key, sizeof a->public_key) == 0;
}

int pl_kt_view_init(pl_kt_view *v, const char *origin, size_t origin_len,
                    const pl_note_verifier *log_key, const pl_note_verifier *witnesses,
                    size_t n_witnesses, unsigned quorum, uint64_t max_ahead_ms,
                    uint64_t max_behind_ms)
{
    if (!v)
        return PL_E_INVALID_ARG;
    memset(v, 0, sizeof *v);
    if (!origin || origin_len < 1 || origin_len > PL_NOTE_NAME_MAX_BYTES || !log_key ||
        (!witnesses && n_witnesses > 0) || n_witnesses > PL_KT_VIEW_MAX_WITNESSES ||
        quorum > n_witnesses)
        return PL_E_INVALID_ARG;
    for (size_t i = 0; i < origin_len; i++)
        if ((unsigned char)origin[i] < 0x20 || origin[i] == 0x7f)
            return PL_E_INVALID_ARG;
    if (!is_verifier(log_key, PL_NOTE_TYPE_ED25519))
        return PL_E_INVALID_ARG;
    for (size_t i = 0; i < n_witnesses; i++) {
        if (!is_verifier(&witnesses[i], PL_NOTE_TYPE_COSIGNATURE_V1))
            return PL_E_INVALID_ARG;
        for (size_t j = 0; j < i; j++)
            if (same_key(&witnesses[i], &witnesses[j]))
                return PL_E_INVALID_ARG;
    }
    memcpy(v->origin, origin, origin_len);
    v->origin_len = origin_len;
    v->log_key = *log_key;
    if (n_witnesses > 0)
        memcpy(v->witnesses, witnesses, n_witnesses * sizeof *witnesses);
    v->n_witnesses = n_witnesses;
    v->quorum = quorum;
    v->max_ahead_ms = max_ahead_ms;
    v->max_behind_ms = max_behind_ms;
    return PL_OK;
}

/*
 * The number of hashes RFC 9162 §2.1.4.2 consumes for a consistency proof from size1 to
 * size2 (1 <= size1 < size2): the verifier's loop run on the sizes alone. A proof of any
 * other length cannot verify; telling it apart names a garbled answer rather than a fork.
 */
static size_t consistency_proof_len(uint64_t size1, uint64_t size2)
{
    uint64_t fn = size1 - 1, sn = size2 - 1;
    size_t len = (size1 & (size1 - 1)) == 0 ? 0 : 1; /* a power of two starts from root1 */

    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    while (sn != 0) {
        if (fn == sn && !(fn & 1))
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        fn >>= 1;
        sn >>= 1;
        len++;
    }
    return len;
}

/* Is a cosignature made at T seconds within [now - behind, now + ahead]? Says which side it
 * falls off: -1 too old, +1 too new, 0 in the window. T may be up to 2^63 - 1, so T * 1000
 * is compared without overflowing. */
static int cosignature_window(const pl_kt_view *v, uint64_t t, uint64_t now_ms)
{
    uint64_t lo = now_ms > v->max_behind_ms ? now_ms - v->max_behind_ms : 0;
    uint64_t hi = UINT64_MAX - now_ms < v->max_ahead_ms ? UINT64_MAX : now_ms + v->max_ahead_ms;

    if (t > hi / MS_PER_S)
        return 1; /* T * 1000 > hi */
    /* T * 1000 now fits; the witness dropped up to 999 ms of its clock */
    if (t * MS_PER_S + (MS_PER_S - 1) < lo)
        return -1;
    return 0;
}

int pl_kt_view_update(pl_kt_view *v, const char *note, size_t note_len, uint64_t now_ms,
                      const uint8_t (*consistency)[PL_MERKLE_HASH_BYTES], size_t n,
                      pl_kt_view_evidence *ev)
{
    pl_note_verifier keys[PL_NOTE_MAX_VERIFIERS];
    pl_note_opened o;
    pl_checkpoint cp;
    size_t cosigned = 0, timely = 0, stale = 0, future = 0;
    int r;

    if (ev)
        memset(ev, 0, sizeof *ev);
    if (!v || !note || !ev || (!consistency && n > 0))
        return PL_E_INVALID_ARG;
    if (v->n_witnesses > PL_KT_VIEW_MAX_WITNESSES || v->quorum > v->n_witnesses ||
        v->note_len > sizeof v->note || v->origin_len < 1 || v->origin_len > PL_NOTE_NAME_MAX_BYTES)
        return PL_E_INVALID_ARG;
    if (v->has_checkpoint) {
        ev->has_old = 1;
        ev->old_size = v->size;
        memcpy(ev->old_root, v->root, sizeof ev->old_root);
        ev->old_note = v->note;
        ev->old_note_len = v->note_len;
    }

    /* 1. the note opens and the log signed it */
    keys[0] = v->log_key;
    if (v->n_witnesses > 0)
        memcpy(&keys[1], v->witnesses, v->n_witnesses * sizeof keys[1]);
    r = pl_note_open(note, note_len, keys, 1 + v->n_witnesses, &o);
    if (r == PL_E_BAD_SIGNATURE || (r == PL_OK && !(o.verified & 1u))) {
        ev->reason = PL_KT_VIEW_BAD_SIGNATURE;
        return PL_E_BAD_SIGNATURE;
    }
    if (r != PL_OK) {
        ev->reason = PL_KT_VIEW_MALFORMED;
        return r == PL_E_TOO_LARGE ? PL_E_TOO_LARGE : PL_E_MALFORMED;
    }

    /* 2. a checkpoint of this log */
    r = pl_checkpoint_parse(o.text, o.text_len, &cp);
    if (r != PL_OK) {
        ev->reason = PL_KT_VIEW_MALFORMED;
        return r == PL_E_TOO_LARGE ? PL_E_TOO_LARGE : PL_E_MALFORMED;
    }
    ev->has_new = 1;
    ev->new_size = cp.size;
    memcpy(ev->new_root, cp.root, sizeof ev->new_root);
    ev->new_note = note;
    ev->new_note_len = note_len;
    if (cp.origin_len != v->origin_len || memcmp(cp.origin, v->origin, v->origin_len) != 0) {
        ev->reason = PL_KT_VIEW_WRONG_ORIGIN;
        return PL_E_KT_VIEW;
    }

    /* 3. a quorum of distinct pinned witnesses (init refused duplicates), each on time */
    for (size_t i = 0; i < v->n_witnesses; i++) {
        int w;

        if (!(o.verified & (1u << (i + 1))))
            continue;
        cosigned++;
        w = cosignature_window(v, o.cosigned_at[i + 1], now_ms);
        if (w < 0)
            stale++;
        else if (w > 0)
            future++;
        else
            timely++;
    }
    if (timely < v->quorum) {
        if (cosigned < v->quorum)
            ev->reason = PL_KT_VIEW_NO_QUORUM;
        else
            ev->reason = stale >= future ? PL_KT_VIEW_STALE : PL_KT_VIEW_FROM_THE_FUTURE;
        return PL_E_KT_VIEW;
    }

    /* 4 and 5. the new checkpoint extends the last one */
    if (v->has_checkpoint && v->size > 0) {
        if (cp.size < v->size) {
            ev->reason = PL_KT_VIEW_ROLLBACK;
            return PL_E_KT_VIEW;
        }
        if (cp.size == v->size) {
            if (sodium_memcmp(cp.root, v->root, sizeof cp.root) != 0) {
                ev->reason = PL_KT_VIEW_FORK;
                return PL_E_KT_VIEW;
            }
        } else {
            if (n != consistency_proof_len(v->size, cp.size)) {
                ev->reason = PL_KT_VIEW_BAD_CONSISTENCY;
                return PL_E_BAD_PROOF;
            }
            r = pl_merkle_verify_consistency(v->size, cp.size, v->root, cp.root, consistency, n);
            if (r != PL_OK) {
                ev->reason = r == PL_E_BAD_PROOF ? PL_KT_VIEW_FORK : PL_KT_VIEW_BAD_CONSISTENCY;
                return r == PL_E_BAD_PROOF ? PL_E_KT_VIEW : PL_E_BAD_PROOF;
            }
        }
    }

    /* commit */
    v->has_checkpoint = 1;
    v->size = cp.size;
    memcpy(v->root, cp.root, sizeof v->root);
    memcpy(v->note, note, note_len);
    memset(v->note + note_len, 0, sizeof v->note - note_len);
    v->note_len = note_len;
    ev->old_note = NULL; /* it was the view's note, now replaced */
    ev->old_note_len = 0;
    ev->reason = PL_KT_VIEW_NONE;
    return PL_OK;
}
