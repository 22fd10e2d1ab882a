/*
 * client_kt_parse.c: the client's parsers of key-transparency input, pure so that each is
 * fuzzed (fuzz/fuzz_kt_client.c): a KtConfig from the server, a KtLookupResult's shape, and
 * the pinned log with its saved checkpoint read back from the store (hostile disk). Each
 * returns 0 or a negative value and never keeps a pointer it was not documented to keep.
 */
#include <string.h>

#include <sodium.h>

#include "client_kt.h"

int cl_kt_answer_parse(const Parley__KtLookupResult *lr, cl_kt_answer *a)
{
    const Parley__KtCheckpoint *cp = lr ? lr->checkpoint : NULL;
    size_t note_len;

    a->note = NULL;
    a->note_len = a->n_cons = a->proof_len = 0;
    a->proof = NULL;
    if (!cp || !cp->note)
        return -1;
    note_len = strnlen(cp->note, PL_NOTE_MAX_BYTES + 1);
    if (note_len == 0 || note_len > PL_NOTE_MAX_BYTES || cp->n_consistency > PL_MERKLE_MAX_PROOF ||
        lr->proof.len == 0 || lr->proof.len > PL_KT_LOOKUP_MAX_BYTES || !lr->proof.data)
        return -1;
    for (size_t i = 0; i < cp->n_consistency; i++) {
        if (cp->consistency[i].len != PL_MERKLE_HASH_BYTES || !cp->consistency[i].data)
            return -1;
        memcpy(a->cons[i], cp->consistency[i].data, PL_MERKLE_HASH_BYTES);
    }
    a->n_cons = cp->n_consistency;
    a->note = cp->note;
    a->note_len = note_len;
    a->proof = lr->proof.data;
    a->proof_len = lr->proof.len;
    return 0;
}

int cl_kt_view_from_log(const pl_cstore_kt_log *log, pl_kt_view *v)
{
    pl_note_verifier key, wit[PL_CSTORE_KT_WITNESSES_MAX];
    size_t olen = strnlen(log->origin, sizeof log->origin);

    memset(v, 0, sizeof *v);
    if (log->n_witnesses > PL_CSTORE_KT_WITNESSES_MAX ||
        pl_note_verifier_parse(log->log_vkey, strnlen(log->log_vkey, sizeof log->log_vkey), &key) !=
            PL_OK)
        return -1;
    /* §24.1: the log's note key is an Ed25519 key named by the origin. */
    if (key.type != PL_NOTE_TYPE_ED25519 || key.name_len != olen ||
        memcmp(key.name, log->origin, olen) != 0)
        return -1;
    for (size_t i = 0; i < log->n_witnesses; i++) {
        if (pl_note_verifier_parse(log->witness_vkeys[i],
                                   strnlen(log->witness_vkeys[i], sizeof log->witness_vkeys[i]),
                                   &wit[i]) != PL_OK ||
            wit[i].type != PL_NOTE_TYPE_COSIGNATURE_V1)
            return -1;
    }
    if (pl_kt_view_init(v, log->origin, olen, &key, wit, log->n_witnesses, log->quorum,
                        log->max_ahead_ms, log->max_behind_ms) != PL_OK)
        return -1;
    return 0;
}

int cl_kt_config_parse(const Parley__KtConfig *kc, pl_cstore_kt_log *out, pl_kt_view *v)
{
    memset(out, 0, sizeof *out);
    if (!kc || !kc->origin || !kc->log_vkey || kc->vrf_public_key.len != 32 ||
        !kc->vrf_public_key.data || kc->n_witness_vkeys > PL_CSTORE_KT_WITNESSES_MAX ||
        kc->quorum > kc->n_witness_vkeys)
        return -1;
    if (strnlen(kc->origin, sizeof out->origin) == 0 ||
        strnlen(kc->origin, sizeof out->origin) >= sizeof out->origin ||
        strnlen(kc->log_vkey, sizeof out->log_vkey) == 0 ||
        strnlen(kc->log_vkey, sizeof out->log_vkey) >= sizeof out->log_vkey)
        return -1;
    memcpy(out->origin, kc->origin, strlen(kc->origin));
    memcpy(out->log_vkey, kc->log_vkey, strlen(kc->log_vkey));
    memcpy(out->vrf_key, kc->vrf_public_key.data, 32);
    for (size_t i = 0; i < kc->n_witness_vkeys; i++) {
        const char *w = kc->witness_vkeys[i];
        size_t n = w ? strnlen(w, sizeof out->witness_vkeys[i]) : 0;

        if (n == 0 || n >= sizeof out->witness_vkeys[i])
            goto fail;
        memcpy(out->witness_vkeys[i], w, n);
    }
    out->n_witnesses = kc->n_witness_vkeys;
    out->quorum = kc->quorum;
    out->max_ahead_ms = kc->max_ahead_ms;
    out->max_behind_ms = kc->max_behind_ms;
    if (cl_kt_view_from_log(out, v) == 0)
        return 0;
fail:
    memset(out, 0, sizeof *out); /* the contract: nothing half-parsed is left */
    return -1;
}

int cl_kt_saved_view(const pl_cstore_kt_log *log, pl_kt_view *v)
{
    pl_note_opened op;
    pl_checkpoint cp;

    if (cl_kt_view_from_log(log, v) != 0)
        return -1;
    if (!log->has_checkpoint)
        return 0;
    if (log->note_len == 0 || log->note_len > sizeof v->note ||
        pl_note_open(log->note, log->note_len, &v->log_key, 1, &op) != PL_OK ||
        pl_checkpoint_parse(op.text, op.text_len, &cp) != PL_OK || cp.origin_len != v->origin_len ||
        memcmp(cp.origin, v->origin, cp.origin_len) != 0 || cp.size != log->size ||
        sodium_memcmp(cp.root, log->root, sizeof cp.root) != 0)
        return -2;
    v->has_checkpoint = 1;
    v->size = log->size;
    memcpy(v->root, log->root, sizeof v->root);
    memcpy(v->note, log->note, log->note_len);
    v->note_len = log->note_len;
    return 0;
}
