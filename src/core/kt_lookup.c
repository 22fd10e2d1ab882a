/*
 * kt_lookup.c: the combined key-transparency lookup proof (parley/kt_lookup.h,
 * docs/PROTOCOL.md §23): its log entry and VRF input, its encoding, and its verification.
 *
 * Encoding (§23.2, big-endian):
 *   format u8 = 1 | kind u8 | tree_size u64 | timestamp_ms u64 | prefix_root 32
 *   | n_inclusion u8 | inclusion n x 32 | version u32 | vrf_proof 80 | opening 16
 *   | value_len u16 | value | prefix_len u16 | prefix proof (§20.3)
 *   kind 1 only: | next_vrf_proof 80 | next_prefix_len u16 | prefix proof
 * The decoder accepts exactly what the encoder writes: a greatest proof of version
 * 2^32 - 1 (whose v + 1 does not exist) is refused by both.
 *
 * pl_kt_lookup_verify() runs the checks of §23.3 in their order on locals and writes *out
 * only once all of them have passed.
 */
#include <string.h>

#include <sodium.h>

#include "parley/error.h"
#include "parley/kt_lookup.h"
#include "buf.h"

#define VRF_INPUT_MAX_BYTES (1u + PL_KT_LABEL_MAX_BYTES + 4u)

void pl_kt_log_entry(uint64_t timestamp_ms, const uint8_t prefix_root[PL_PREFIX_HASH_BYTES],
                     uint8_t out[PL_KT_LOG_ENTRY_BYTES])
{
    pl__writer w = pl__writer_init(out, PL_KT_LOG_ENTRY_BYTES);

    pl__put_u64(&w, timestamp_ms);
    pl__put_bytes(&w, prefix_root, PL_PREFIX_HASH_BYTES);
}

int pl_kt_vrf_input(const uint8_t *label, size_t label_len, uint32_t version, uint8_t *out,
                    size_t cap, size_t *out_len)
{
    pl__writer w = pl__writer_init(out, cap);

    *out_len = 0;
    if (label_len > PL_KT_LABEL_MAX_BYTES)
        return PL_E_TOO_LARGE;
    if (cap < 1u + label_len + 4u)
        return PL_E_BUFFER_TOO_SMALL;
    pl__put_u8(&w, (uint8_t)label_len);
    pl__put_bytes(&w, label, label_len);
    pl__put_u32(&w, version);
    *out_len = w.off;
    return PL_OK;
}

int pl_kt_vrf_prove(const uint8_t seed[PL_VRF_SECRET_KEY_BYTES], const uint8_t *label,
                    size_t label_len, uint32_t version, uint8_t pi[PL_VRF_PROOF_BYTES],
                    uint8_t vrf_out[PL_KT_VRF_OUT_BYTES])
{
    uint8_t alpha[VRF_INPUT_MAX_BYTES], beta[PL_VRF_OUTPUT_BYTES];
    size_t alpha_len;
    int r;

    memset(pi, 0, PL_VRF_PROOF_BYTES);
    memset(vrf_out, 0, PL_KT_VRF_OUT_BYTES);
    if ((r = pl_kt_vrf_input(label, label_len, version, alpha, sizeof alpha, &alpha_len)) != PL_OK)
        return r;
    if ((r = pl_vrf_prove(seed, alpha, alpha_len, pi)) != PL_OK)
        return r;
    /* Our own proof: its output needs no verification. */
    if ((r = pl_vrf_proof_to_hash(pi, beta)) != PL_OK) {
        memset(pi, 0, PL_VRF_PROOF_BYTES);
        return r;
    }
    memcpy(vrf_out, beta, PL_KT_VRF_OUT_BYTES);
    return PL_OK;
}

/* ---- Encoding ---------------------------------------------------------------------------- */

/* The bounds pl_prefix_proof_encode() checks, checked up front so that an unencodable proof
 * is PL_E_INVALID_ARG whatever the buffer size. */
static int prefix_encodable(const pl_prefix_proof *p)
{
    return p->result_type >= PL_PREFIX_INCLUSION &&
           p->result_type <= PL_PREFIX_NONINCLUSION_PARENT && p->depth <= PL_PREFIX_MAX_DEPTH;
}

/* Writes u16 len || the encoding of p. */
static void put_prefix(pl__writer *w, const pl_prefix_proof *p)
{
    uint8_t *len_at = pl__put_space(w, 2);
    size_t n;
    int r;

    if (!len_at)
        return;
    if ((r = pl_prefix_proof_encode(p, w->p + w->off, w->cap - w->off, &n)) != PL_OK) {
        w->err = r;
        return;
    }
    len_at[0] = (uint8_t)(n >> 8);
    len_at[1] = (uint8_t)n;
    w->off += n;
}

int pl_kt_lookup_encode(const pl_kt_lookup *l, uint8_t *out, size_t cap, size_t *out_len)
{
    pl__writer w = pl__writer_init(out, cap);
    int greatest = l->kind == PL_KT_LOOKUP_GREATEST;

    *out_len = 0;
    if ((!greatest && l->kind != PL_KT_LOOKUP_FIXED) || l->tree_size == 0 ||
        l->n_inclusion > PL_MERKLE_MAX_PROOF || !l->value || l->value_len < 1 ||
        l->value_len > PL_ACCOUNT_STATE_MAX_BYTES || (greatest && l->version == UINT32_MAX) ||
        !prefix_encodable(&l->prefix) || (greatest && !prefix_encodable(&l->next_prefix)))
        return PL_E_INVALID_ARG;
    pl__put_u8(&w, PL_KT_LOOKUP_VERSION);
    pl__put_u8(&w, l->kind);
    pl__put_u64(&w, l->tree_size);
    pl__put_u64(&w, l->timestamp_ms);
    pl__put_bytes(&w, l->prefix_root, PL_PREFIX_HASH_BYTES);
    pl__put_u8(&w, (uint8_t)l->n_inclusion);
    pl__put_bytes(&w, l->inclusion, l->n_inclusion * PL_MERKLE_HASH_BYTES);
    pl__put_u32(&w, l->version);
    pl__put_bytes(&w, l->vrf_proof, PL_VRF_PROOF_BYTES);
    pl__put_bytes(&w, l->opening, PL_KT_OPENING_BYTES);
    pl__put_u16(&w, (uint16_t)l->value_len);
    pl__put_bytes(&w, l->value, l->value_len);
    put_prefix(&w, &l->prefix);
    if (greatest) {
        pl__put_bytes(&w, l->next_vrf_proof, PL_VRF_PROOF_BYTES);
        put_prefix(&w, &l->next_prefix);
    }
    if (w.err)
        return w.err;
    *out_len = w.off;
    return PL_OK;
}

/* ---- Decoding ---------------------------------------------------------------------------- */

/* Reads u16 len || a prefix proof of exactly len bytes. A proof that does not decode inside
 * its stated length is malformed, not truncated: the outer input did not end early. */
static int get_prefix(pl__reader *rd, pl_prefix_proof *p)
{
    size_t n = pl__get_u16(rd);
    const uint8_t *at = pl__get_bytes(rd, n);

    if (!at)
        return rd->err;
    return pl_prefix_proof_decode(p, at, n) == PL_OK ? PL_OK : PL_E_MALFORMED;
}

int pl_kt_lookup_decode(pl_kt_lookup *l, const uint8_t *in, size_t len)
{
    pl__reader rd = pl__reader_init(in, len);
    uint8_t format;
    int r;

    memset(l, 0, sizeof *l);
    format = pl__get_u8(&rd);
    r = PL_E_VERSION;
    if (!rd.err && format != PL_KT_LOOKUP_VERSION)
        goto out;
    l->kind = pl__get_u8(&rd);
    r = PL_E_MALFORMED;
    if (!rd.err && l->kind != PL_KT_LOOKUP_GREATEST && l->kind != PL_KT_LOOKUP_FIXED)
        goto out;
    l->tree_size = pl__get_u64(&rd);
    if (!rd.err && l->tree_size == 0)
        goto out;
    l->timestamp_ms = pl__get_u64(&rd);
    pl__get_copy(&rd, l->prefix_root, PL_PREFIX_HASH_BYTES);
    l->n_inclusion = pl__get_u8(&rd);
    if (!rd.err && l->n_inclusion > PL_MERKLE_MAX_PROOF)
        goto out;
    pl__get_copy(&rd, l->inclusion, l->n_inclusion * PL_MERKLE_HASH_BYTES);
    l->version = pl__get_u32(&rd);
    if (!rd.err && l->kind == PL_KT_LOOKUP_GREATEST && l->version == UINT32_MAX)
        goto out;
    pl__get_copy(&rd, l->vrf_proof, PL_VRF_PROOF_BYTES);
    pl__get_copy(&rd, l->opening, PL_KT_OPENING_BYTES);
    l->value_len = pl__get_u16(&rd);
    if (!rd.err && (l->value_len < 1 || l->value_len > PL_ACCOUNT_STATE_MAX_BYTES))
        goto out;
    l->value = pl__get_bytes(&rd, l->value_len);
    if ((r = get_prefix(&rd, &l->prefix)) != PL_OK)
        goto out;
    if (l->kind == PL_KT_LOOKUP_GREATEST) {
        pl__get_copy(&rd, l->next_vrf_proof, PL_VRF_PROOF_BYTES);
        if ((r = get_prefix(&rd, &l->next_prefix)) != PL_OK)
            goto out;
    }
    r = pl__reader_finish(&rd);
out:
    if (r != PL_OK)
        memset(l, 0, sizeof *l);
    return r;
}

/* ---- Verification (§23.3) ---------------------------------------------------------------- */

/* Sets *why and returns PL_E_BAD_PROOF: every refusal after decoding. */
static int refuse(pl_kt_lookup_failure *why, pl_kt_lookup_failure f)
{
    *why = f;
    return PL_E_BAD_PROOF;
}

/*
 * vrf_out(label, version) from the cache when the caller verified it before, else by
 * verifying pi under vrf_pk. A wrong cached output is not caught here: it leads the prefix
 * proof to another root, which step 6 refuses.
 */
static int vrf_output(const uint8_t vrf_pk[PL_VRF_PUBLIC_KEY_BYTES], const uint8_t *label,
                      size_t label_len, uint32_t version, const uint8_t pi[PL_VRF_PROOF_BYTES],
                      const pl_kt_vrf_cached *cache, size_t n_cache,
                      uint8_t vrf_out[PL_KT_VRF_OUT_BYTES])
{
    uint8_t alpha[VRF_INPUT_MAX_BYTES], beta[PL_VRF_OUTPUT_BYTES];
    size_t alpha_len;

    for (size_t i = 0; i < n_cache; i++)
        if (cache[i].version == version) {
            memcpy(vrf_out, cache[i].vrf_out, PL_KT_VRF_OUT_BYTES);
            return PL_OK;
        }
    if (pl_kt_vrf_input(label, label_len, version, alpha, sizeof alpha, &alpha_len) != PL_OK ||
        pl_vrf_verify(vrf_pk, alpha, alpha_len, pi, beta) != PL_OK)
        return PL_E_BAD_PROOF;
    memcpy(vrf_out, beta, PL_KT_VRF_OUT_BYTES);
    return PL_OK;
}

/* Evaluates p for key; PL_OK iff it gives prefix_root, with *found and the commitment. */
static int prefix_check(const pl_prefix_proof *p, const uint8_t key[PL_PREFIX_KEY_BYTES],
                        const uint8_t prefix_root[PL_PREFIX_HASH_BYTES], int *found,
                        uint8_t commitment[PL_PREFIX_HASH_BYTES])
{
    uint8_t got[PL_PREFIX_HASH_BYTES];

    if (pl_prefix_proof_evaluate(p, key, got, found, commitment) != PL_OK ||
        crypto_verify_32(got, prefix_root) != 0)
        return PL_E_BAD_PROOF;
    return PL_OK;
}

int pl_kt_lookup_verify(const uint8_t vrf_pk[PL_VRF_PUBLIC_KEY_BYTES], const uint8_t *label,
                        size_t label_len, uint64_t size, const uint8_t root[PL_MERKLE_HASH_BYTES],
                        uint8_t want_kind, uint32_t want_version, const pl_kt_vrf_cached *cache,
                        size_t n_cache, const uint8_t *in, size_t len, pl_kt_lookup_result *out,
                        pl_kt_lookup_failure *why)
{
    pl_kt_lookup_failure why_local;
    pl_kt_lookup l;
    pl_kt_lookup_result res;
    uint8_t entry[PL_KT_LOG_ENTRY_BYTES], leaf[PL_MERKLE_HASH_BYTES];
    uint8_t commitment[PL_PREFIX_HASH_BYTES];
    int found, r;

    if (!why)
        why = &why_local;
    *why = PL_KT_LOOKUP_MALFORMED;
    if (out)
        memset(out, 0, sizeof *out);
    if (!vrf_pk || (!label && label_len > 0) || label_len > PL_KT_LABEL_MAX_BYTES || !root ||
        (!cache && n_cache > 0) || (!in && len > 0) || !out ||
        (want_kind != PL_KT_LOOKUP_GREATEST && want_kind != PL_KT_LOOKUP_FIXED))
        return PL_E_INVALID_ARG;
    memset(&res, 0, sizeof res);

    /* 1. decode */
    if ((r = pl_kt_lookup_decode(&l, in, len)) != PL_OK)
        goto out;
    /* 2. kind (and for fixed, version) as asked */
    if (l.kind != want_kind || (want_kind == PL_KT_LOOKUP_FIXED && l.version != want_version)) {
        r = refuse(why, PL_KT_LOOKUP_WRONG_KIND);
        goto out;
    }
    /* 3. tree_size = size */
    if (l.tree_size != size) {
        r = refuse(why, PL_KT_LOOKUP_WRONG_TREE);
        goto out;
    }
    /* 4. the entry's leaf hash is leaf size - 1 under root */
    pl_kt_log_entry(l.timestamp_ms, l.prefix_root, entry);
    pl_merkle_leaf_hash(entry, sizeof entry, leaf);
    if (pl_merkle_verify_inclusion(size - 1, size, leaf,
                                   (const uint8_t(*)[PL_MERKLE_HASH_BYTES])l.inclusion,
                                   l.n_inclusion, root) != PL_OK) {
        r = refuse(why, PL_KT_LOOKUP_BAD_INCLUSION);
        goto out;
    }
    /* 5. the VRF proof(s) of version (and version + 1) */
    if (vrf_output(vrf_pk, label, label_len, l.version, l.vrf_proof, cache, n_cache, res.vrf_out) !=
            PL_OK ||
        (l.kind == PL_KT_LOOKUP_GREATEST &&
         vrf_output(vrf_pk, label, label_len, l.version + 1, l.next_vrf_proof, cache, n_cache,
                    res.next_vrf_out) != PL_OK)) {
        r = refuse(why, PL_KT_LOOKUP_BAD_VRF);
        goto out;
    }
    /* 6. the prefix proof for vrf_out evaluates to prefix_root and includes vrf_out */
    if (prefix_check(&l.prefix, res.vrf_out, l.prefix_root, &found, commitment) != PL_OK ||
        !found) {
        r = refuse(why, PL_KT_LOOKUP_BAD_PREFIX);
        goto out;
    }
    /* 7. its commitment is commitment(opening, label, version, value) */
    if (pl_kt_commitment_verify(commitment, l.opening, label, label_len, l.version, l.value,
                                l.value_len) != PL_OK) {
        r = refuse(why, PL_KT_LOOKUP_BAD_COMMITMENT);
        goto out;
    }
    /* 8. greatest: vrf_out(version + 1) absent under the same prefix_root */
    if (l.kind == PL_KT_LOOKUP_GREATEST) {
        if (prefix_check(&l.next_prefix, res.next_vrf_out, l.prefix_root, &found, commitment) !=
            PL_OK) {
            r = refuse(why, PL_KT_LOOKUP_BAD_PREFIX);
            goto out;
        }
        if (found) {
            r = refuse(why, PL_KT_LOOKUP_NOT_GREATEST);
            goto out;
        }
    }
    /* 9. the value verifies as an account state (§19.2) */
    if (pl_account_state_verify(l.value, l.value_len, &res.state) != PL_OK) {
        r = refuse(why, PL_KT_LOOKUP_BAD_STATE);
        goto out;
    }
    /* 10. its seq equals version */
    if (res.state.seq != l.version) {
        r = refuse(why, PL_KT_LOOKUP_VERSION_MISMATCH);
        goto out;
    }
    res.kind = l.kind;
    res.tree_size = l.tree_size;
    res.timestamp_ms = l.timestamp_ms;
    res.version = l.version;
    pl_account_state_hash(l.value, l.value_len, res.state_hash);
    res.value = l.value;
    res.value_len = l.value_len;
    *out = res;
    *why = PL_KT_LOOKUP_OK;
    r = PL_OK;
out:
    return r;
}

const char *pl_kt_lookup_failure_str(pl_kt_lookup_failure f)
{
    switch (f) {
    case PL_KT_LOOKUP_OK:
        return "verified";
    case PL_KT_LOOKUP_MALFORMED:
        return "malformed proof";
    case PL_KT_LOOKUP_WRONG_KIND:
        return "not the kind of lookup asked for";
    case PL_KT_LOOKUP_WRONG_TREE:
        return "proof for another tree size than the verified checkpoint";
    case PL_KT_LOOKUP_BAD_INCLUSION:
        return "log entry not included in the checkpoint";
    case PL_KT_LOOKUP_BAD_VRF:
        return "bad VRF proof";
    case PL_KT_LOOKUP_BAD_COMMITMENT:
        return "value does not match the logged commitment";
    case PL_KT_LOOKUP_BAD_PREFIX:
        return "bad prefix-tree proof";
    case PL_KT_LOOKUP_NOT_GREATEST:
        return "not the greatest version";
    case PL_KT_LOOKUP_BAD_STATE:
        return "value is not a valid account state";
    case PL_KT_LOOKUP_VERSION_MISMATCH:
        return "account state seq is not the proven version";
    }
    return "unknown lookup failure";
}
