/*
 * fuzz_kt_client.c: the client's parsers of key-transparency input (src/client/
 * client_kt_parse.c) on hostile bytes. The first byte chooses:
 *   0  a KtLookupResult (protobuf) -> cl_kt_answer_parse
 *   1  a KtConfig (protobuf)       -> cl_kt_config_parse
 *   2  u64 size || root[32] || note: a saved checkpoint read back from the store, against a
 *      fixed pinned log (key from FZ_KT_LOG_SEED, origin FZ_KT_ORIGIN) -> cl_kt_saved_view
 *
 * Invariants: no crash; an accepted answer has the documented bounds and points into the
 * message; an accepted config builds the same view again; an accepted saved view carries
 * exactly the saved size and root.
 */
#include <string.h>

#include "client_kt.h"
#include "fuzz.h"
#include "fuzz_kt_client.h"

static void lookup_answer(const uint8_t *p, size_t n)
{
    Parley__KtLookupResult *lr = parley__kt_lookup_result__unpack(NULL, n, p);
    cl_kt_answer a;

    if (!lr)
        return;
    memset(&a, 0, sizeof a);
    if (cl_kt_answer_parse(lr, &a) == 0) {
        FZ_CHECK(a.note_len >= 1 && a.note_len <= PL_NOTE_MAX_BYTES);
        FZ_CHECK(a.note == lr->checkpoint->note);
        FZ_CHECK(a.n_cons <= PL_MERKLE_MAX_PROOF);
        FZ_CHECK(a.proof_len >= 1 && a.proof_len <= PL_KT_LOOKUP_MAX_BYTES);
    }
    parley__kt_lookup_result__free_unpacked(lr, NULL);
}

static void config(const uint8_t *p, size_t n)
{
    Parley__KtConfig *kc = parley__kt_config__unpack(NULL, n, p);
    static pl_cstore_kt_log log;
    static pl_kt_view v, v2;

    if (!kc)
        return;
    if (cl_kt_config_parse(kc, &log, &v) == 0) {
        FZ_CHECK(log.n_witnesses <= PL_CSTORE_KT_WITNESSES_MAX && log.quorum <= log.n_witnesses);
        FZ_CHECK(strcmp(log.origin, kc->origin) == 0);
        FZ_CHECK(cl_kt_view_from_log(&log, &v2) == 0);
        FZ_CHECK(memcmp(&v, &v2, sizeof v) == 0);
    } else {
        FZ_CHECK(fz_is_zero(&log, sizeof log));
    }
    parley__kt_config__free_unpacked(kc, NULL);
}

static void saved(const uint8_t *p, size_t n)
{
    static pl_cstore_kt_log log;
    static pl_kt_view v;
    int r;

    if (n < 40 || n - 40 > sizeof log.note)
        return;
    fz_kt_pinned_log(&log);
    log.has_checkpoint = n > 40;
    log.size = 0;
    for (int i = 0; i < 8; i++)
        log.size = log.size << 8 | p[i];
    memcpy(log.root, p + 8, 32);
    memcpy(log.note, p + 40, n - 40);
    log.note_len = n - 40;
    r = cl_kt_saved_view(&log, &v);
    FZ_CHECK(r == 0 || r == -2);
    if (r == 0 && log.has_checkpoint) {
        FZ_CHECK(v.has_checkpoint && v.size == log.size);
        FZ_CHECK(memcmp(v.root, log.root, 32) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0]) {
    case 0:
        lookup_answer(data + 1, size - 1);
        break;
    case 1:
        config(data + 1, size - 1);
        break;
    case 2:
        saved(data + 1, size - 1);
        break;
    default:
        break;
    }
    return 0;
}
