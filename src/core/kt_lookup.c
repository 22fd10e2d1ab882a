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
