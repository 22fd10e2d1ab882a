/*
 * fuzz_kt_lookup.c: pl_kt_lookup_decode() and pl_kt_lookup_verify() (parley/kt_lookup.h) on
 * hostile proof bytes, against the fixed demo log of tests/kt_log.h, so that mutations of
 * a genuine proof reach every check of §23.3.
 *
 * Input: q0 || q1 || proof bytes; q0 and q1 choose the label, the checkpoint, the kind and
 * version asked for, and whether the VRF cache is used (fz_kt_query_of in fuzz.h). The
 * seeds in fuzz/corpus/kt_lookup/ are genuine proofs of each kind and outcome.
 *
 * Invariants: only the documented codes, each with the reason it implies; on error the
 * result is all zero. On PL_OK the log really holds that label-version in that checkpoint
 * with exactly the value returned, it is the label's greatest version there for a greatest
 * lookup, its VRF output is the log's, and the state's seq is the version (soundness against
 * a log we know). Anything the decoder accepts re-encodes to the same bytes.
 */
#include <string.h>

#include "fuzz.h"
#include "kt_log.h"

typedef struct fixed_log {
    ktl_log log;
    uint8_t root[KTL_DEMO_SIZE + 1][PL_MERKLE_HASH_BYTES];
    pl_kt_vrf_cached cache[FZ_KT_LABELS][4];
} fixed_log;

static const fixed_log *get_log(void)
{
    static fixed_log f;
    static int ready;
    uint8_t pi[PL_VRF_PROOF_BYTES];

    if (ready)
        return &f;
    FZ_CHECK(pl_init() == PL_OK);
    FZ_CHECK(ktl_demo_log(&f.log) == PL_OK);
    for (uint64_t size = 1; size <= KTL_DEMO_SIZE; size++)
        FZ_CHECK(ktl_root(&f.log, size, f.root[size]) == PL_OK);
    for (unsigned l = 0; l < FZ_KT_LABELS; l++)
        for (uint32_t v = 0; v < 4; v++) {
            f.cache[l][v].version = v;
            FZ_CHECK(pl_kt_vrf_prove(f.log.vrf_seed, (const uint8_t *)fz_kt_label[l],
                                     strlen(fz_kt_label[l]), v, pi,
                                     f.cache[l][v].vrf_out) == PL_OK);
        }
    ready = 1;
    return &f;
}

/* The label-version of the log, if it is in the tree of the first size entries. */
static const ktl_label_version *logged(const ktl_log *log, const char *label, uint32_t v,
                                       uint64_t size)
{
    size_t len = strlen(label);

    for (size_t i = 0; i < log->n_lv; i++)
        if (log->lv[i].label_len == len && memcmp(log->lv[i].label, label, len) == 0 &&
            log->lv[i].version == v && log->lv[i].entry < size)
            return &log->lv[i];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pl_kt_lookup l;
    static pl_kt_lookup_result res;
    static uint8_t again[PL_KT_LOOKUP_MAX_BYTES];
    const fixed_log *f = get_log();
    const ktl_label_version *lv;
    pl_kt_lookup_failure why = (pl_kt_lookup_failure)-1;
    fz_kt_query q;
    const uint8_t *in;
    size_t len, again_len;
    unsigned label_index;
    int rc;

    if (size < 2)
        return 0;
    q = fz_kt_query_of(data[0], data[1]);
    label_index = data[0] & 3u;
    in = data + 2;
    len = size - 2;

    rc = pl_kt_lookup_decode(&l, in, len);
    FZ_CHECK(rc == PL_OK || rc == PL_E_TRUNCATED || rc == PL_E_MALFORMED || rc == PL_E_VERSION);
    if (rc == PL_OK) {
        FZ_CHECK(pl_kt_lookup_encode(&l, again, sizeof again, &again_len) == PL_OK);
        FZ_CHECK(again_len == len && memcmp(again, in, len) == 0);
        FZ_CHECK(l.value >= in && l.value + l.value_len <= in + len);
    } else {
        FZ_CHECK(fz_is_zero(&l, sizeof l));
    }

    memset(&res, 0xa5, sizeof res);
    rc = pl_kt_lookup_verify(f->log.vrf_pk, (const uint8_t *)q.label, strlen(q.label), q.size,
                             f->root[q.size], q.kind, q.want_version,
                             q.cached ? f->cache[label_index] : NULL, q.cached ? 4 : 0, in, len,
                             &res, &why);
    FZ_CHECK_RC(rc);
    switch (rc) {
    case PL_OK:
        FZ_CHECK(why == PL_KT_LOOKUP_OK);
        break;
    case PL_E_TRUNCATED:
    case PL_E_MALFORMED:
    case PL_E_VERSION:
        FZ_CHECK(why == PL_KT_LOOKUP_MALFORMED);
        break;
    case PL_E_BAD_PROOF:
        FZ_CHECK(why > PL_KT_LOOKUP_MALFORMED && why <= PL_KT_LOOKUP_VERSION_MISMATCH);
        break;
    default:
        FZ_CHECK(!"undocumented return code");
    }
    if (rc != PL_OK) {
        FZ_CHECK(fz_is_zero(&res, sizeof res));
        return 0;
    }
    /* Soundness: only what the log holds gets through. */
    FZ_CHECK(res.kind == q.kind && res.tree_size == q.size);
    FZ_CHECK(res.timestamp_ms == f->log.timestamp_ms[q.size - 1]);
    lv = logged(&f->log, q.label, res.version, q.size);
    FZ_CHECK(lv != NULL);
    FZ_CHECK(res.value_len == lv->value_len && memcmp(res.value, lv->value, lv->value_len) == 0);
    FZ_CHECK(res.value >= in && res.value + res.value_len <= in + len);
    FZ_CHECK(memcmp(res.vrf_out, lv->vrf_out, 32) == 0);
    FZ_CHECK(res.state.seq == res.version);
    if (q.kind == PL_KT_LOOKUP_FIXED)
        FZ_CHECK(res.version == q.want_version);
    else
        FZ_CHECK(res.version < UINT32_MAX &&
                 logged(&f->log, q.label, res.version + 1, q.size) == NULL);
    return 0;
}
