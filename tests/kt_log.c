/*
 * kt_log.c: a small key-transparency log built as the server builds it (kt_log.h).
 */
#include <string.h>

#include <sodium.h>

#include "kt_log.h"

void ktl_init(ktl_log *log, uint8_t vrf_seed_byte, uint8_t open_key_byte)
{
    memset(log, 0, sizeof *log);
    memset(log->vrf_seed, vrf_seed_byte, sizeof log->vrf_seed);
    memset(log->open_key, open_key_byte, sizeof log->open_key);
    pl_vrf_keypair_from_seed(log->vrf_seed, log->vrf_pk);
}

static const ktl_label_version *find(const ktl_log *log, const char *label, uint32_t version)
{
    size_t len = strlen(label);

    for (size_t i = 0; i < log->n_lv; i++)
        if (log->lv[i].label_len == len && memcmp(log->lv[i].label, label, len) == 0 &&
            log->lv[i].version == version)
            return &log->lv[i];
    return NULL;
}

int ktl_add(ktl_log *log, const char *label, uint32_t version, const uint8_t *value,
            size_t value_len)
{
    ktl_label_version *lv;
    uint8_t pi[PL_VRF_PROOF_BYTES], opening[PL_KT_OPENING_BYTES];
    size_t label_len = strlen(label);
    int r;

    if (label_len > PL_KT_LABEL_MAX_BYTES || value_len > PL_ACCOUNT_STATE_MAX_BYTES)
        return PL_E_TOO_LARGE;
    if (log->n_lv == KTL_MAX_LABEL_VERSIONS || log->n_entries == KTL_MAX_ENTRIES ||
        find(log, label, version))
        return PL_E_INVALID_ARG;
    lv = &log->lv[log->n_lv];
    memset(lv, 0, sizeof *lv);
    memcpy(lv->label, label, label_len);
    lv->label_len = label_len;
    lv->version = version;
    memcpy(lv->value, value, value_len);
    lv->value_len = value_len;
    lv->entry = log->n_entries;
    if ((r = pl_kt_vrf_prove(log->vrf_seed, lv->label, label_len, version, pi, lv->vrf_out)) !=
            PL_OK ||
        (r = pl_kt_opening(opening, log->open_key, lv->label, label_len, version)) != PL_OK ||
        (r = pl_kt_commitment(lv->commitment, opening, lv->label, label_len, version, value,
                              value_len)) != PL_OK)
        return r;
    log->n_lv++;
    return PL_OK;
}

int ktl_tree(const ktl_log *log, uint64_t size, pl_prefix_tree **out)
{
    pl_prefix_tree *t = NULL;
    int r;

    *out = NULL;
    if ((r = pl_prefix_tree_new(&t)) != PL_OK)
        return r;
    for (size_t i = 0; i < log->n_lv; i++)
        if (log->lv[i].entry < size &&
            (r = pl_prefix_tree_insert(t, log->lv[i].vrf_out, log->lv[i].commitment)) != PL_OK) {
            pl_prefix_tree_free(t);
            return r;
        }
    *out = t;
    return PL_OK;
}

int ktl_close_entry(ktl_log *log, uint64_t timestamp_ms)
{
    pl_prefix_tree *t = NULL;
    uint8_t entry[PL_KT_LOG_ENTRY_BYTES];
    size_t i = log->n_entries;
    int r;

    if (i == KTL_MAX_ENTRIES)
        return PL_E_INVALID_ARG;
    if ((r = ktl_tree(log, i + 1, &t)) != PL_OK)
        return r;
    pl_prefix_tree_root(t, log->prefix_root[i]);
    pl_prefix_tree_free(t);
    log->timestamp_ms[i] = timestamp_ms;
    pl_kt_log_entry(timestamp_ms, log->prefix_root[i], entry);
    pl_merkle_leaf_hash(entry, sizeof entry, log->leaves[i]);
    log->n_entries++;
    return PL_OK;
}

int ktl_root(const ktl_log *log, uint64_t size, uint8_t root[PL_MERKLE_HASH_BYTES])
{
    if (size > log->n_entries)
        return PL_E_INVALID_ARG;
    return pl_merkle_root((const uint8_t(*)[PL_MERKLE_HASH_BYTES])log->leaves, size, root);
}

int ktl_prove(const ktl_log *log, uint64_t size, uint8_t kind, const char *label, uint32_t version,
              pl_kt_lookup *l)
{
    const ktl_label_version *lv = find(log, label, version);
    pl_prefix_tree *t = NULL;
    uint8_t next_out[PL_KT_VRF_OUT_BYTES], vrf_out[PL_KT_VRF_OUT_BYTES];
    int r;

    memset(l, 0, sizeof *l);
    if (!lv || size == 0 || size > log->n_entries ||
        (kind != PL_KT_LOOKUP_GREATEST && kind != PL_KT_LOOKUP_FIXED))
        return PL_E_INVALID_ARG;
    l->kind = kind;
    l->tree_size = size;
    l->timestamp_ms = log->timestamp_ms[size - 1];
    memcpy(l->prefix_root, log->prefix_root[size - 1], PL_PREFIX_HASH_BYTES);
    if ((r = pl_merkle_inclusion_proof((const uint8_t(*)[PL_MERKLE_HASH_BYTES])log->leaves, size,
                                       size - 1, l->inclusion, &l->n_inclusion)) != PL_OK)
        return r;
    l->version = version;
    if ((r = pl_kt_vrf_prove(log->vrf_seed, lv->label, lv->label_len, version, l->vrf_proof,
                             vrf_out)) != PL_OK ||
        (r = pl_kt_opening(l->opening, log->open_key, lv->label, lv->label_len, version)) != PL_OK)
        return r;
    l->value = lv->value;
    l->value_len = lv->value_len;
    if ((r = ktl_tree(log, size, &t)) != PL_OK)
        return r;
    r = pl_prefix_tree_prove(t, vrf_out, &l->prefix);
    if (r == PL_OK && kind == PL_KT_LOOKUP_GREATEST &&
        (r = pl_kt_vrf_prove(log->vrf_seed, lv->label, lv->label_len, version + 1,
                             l->next_vrf_proof, next_out)) == PL_OK)
        r = pl_prefix_tree_prove(t, next_out, &l->next_prefix);
    pl_prefix_tree_free(t);
    return r;
}

int ktl_prove_encoded(const ktl_log *log, uint64_t size, uint8_t kind, const char *label,
                      uint32_t version, uint8_t *out, size_t cap, size_t *out_len)
{
    static pl_kt_lookup l; /* large; the helpers are not re-entered */
    int r;

    *out_len = 0;
    if ((r = ktl_prove(log, size, kind, label, version, &l)) != PL_OK)
        return r;
    return pl_kt_lookup_encode(&l, out, cap, out_len);
}

int ktl_make_states(uint8_t account_seed, size_t n, ktl_states *out)
{
    pl_rng_deterministic rng_state;
    pl_rng rng;
    pl_account *account = NULL;
    pl_device *d = NULL;
    uint8_t seed[32], ik[PL_PUBKEY_BYTES], prev[PL_ACCOUNT_STATE_HASH_BYTES];
    uint8_t records[2][PL_DEVICE_RECORD_BYTES];
    int r;

    memset(out, 0, sizeof *out);
    if (n > KTL_MAX_STATES)
        return PL_E_INVALID_ARG;
    memset(seed, account_seed, sizeof seed);
    rng = pl_rng_deterministic_init(&rng_state, seed);
    if ((r = pl_account_generate(&account, &rng)) != PL_OK)
        goto out;
    for (uint32_t i = 0; i < 2; i++) {
        if ((r = pl_device_generate(&d, &rng, 1 + i)) != PL_OK)
            goto out;
        pl_device_identity_key(d, ik);
        pl_device_free(d);
        d = NULL;
        if ((r = pl_account_sign_device(account, 1 + i, ik, UINT64_C(1700000000) + i,
                                        records[i])) != PL_OK)
            goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if ((r = pl_account_state_sign(account, (uint32_t)i, i ? prev : NULL,
                                       KTL_DEMO_T0 + 1000 * i, 1,
                                       (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])records, 1 + i % 2,
                                       out->state[i], sizeof out->state[i], &out->len[i])) != PL_OK)
            goto out;
        pl_account_state_hash(out->state[i], out->len[i], prev);
    }
    out->n = n;
    r = PL_OK;
out:
    pl_account_free(account);
    return r;
}

int ktl_demo_log(ktl_log *log)
{
    static ktl_states alice, bob, eve;
    static const uint8_t garbage[] = "this is not an account state";
    int r;

    ktl_init(log, 0x01, 0x02);
    if ((r = ktl_make_states(0xa1, 3, &alice)) != PL_OK ||
        (r = ktl_make_states(0xb0, 1, &bob)) != PL_OK ||
        (r = ktl_make_states(0xe5, 1, &eve)) != PL_OK)
        return r;
    if ((r = ktl_add(log, "alice", 0, alice.state[0], alice.len[0])) != PL_OK ||
        (r = ktl_add(log, "bob", 0, bob.state[0], bob.len[0])) != PL_OK ||
        (r = ktl_close_entry(log, KTL_DEMO_T0)) != PL_OK ||
        (r = ktl_add(log, "alice", 1, alice.state[1], alice.len[1])) != PL_OK ||
        (r = ktl_close_entry(log, KTL_DEMO_T0 + 1000)) != PL_OK ||
        (r = ktl_add(log, "mallory", 0, garbage, sizeof garbage - 1)) != PL_OK ||
        (r = ktl_add(log, "eve", 1, eve.state[0], eve.len[0])) != PL_OK ||
        (r = ktl_close_entry(log, KTL_DEMO_T0 + 2000)) != PL_OK ||
        (r = ktl_add(log, "alice", 2, alice.state[2], alice.len[2])) != PL_OK ||
        (r = ktl_close_entry(log, KTL_DEMO_T0 + 3000)) != PL_OK ||
        (r = ktl_close_entry(log, KTL_DEMO_T0 + 4000)) != PL_OK)
        return r;
    return PL_OK;
}
