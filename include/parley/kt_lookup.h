/*
 * parley/kt_lookup.h: the combined key-transparency lookup proof (docs/PROTOCOL.md §23): one
 * blob that proves which account state a label has in the newest entry of a verified
 * checkpoint. It joins the pieces of §16-§20:
 *   log entry      entry = u64 timestamp_ms || prefix_root[32], leaf tree_size - 1 of the log
 *   VRF            vrf_out(label, v) = ECVRF-TAI(vrf key, u8 len || label || u32 v)[0:32]
 *   commitment     commitment(opening, label, v, value) (§19.4), value = the account state
 *   prefix tree    vrf_out -> commitment, cumulative: an entry's tree holds every
 *                  label-version logged up to and including that entry
 * A "greatest" proof shows that version v of the label is in the newest entry's tree and
 * version v + 1 is not, so v is the label's current version for everyone who sees that
 * checkpoint. A "fixed" proof shows only that version v is there (an owner's history).
 * Parley's rule binds the two numberings: the KT version of an account state is its seq.
 * The server fills a pl_kt_lookup and encodes it; clients and tests decode and verify the
 * bytes as hostile input. Nothing here allocates, reads a clock or keeps state.
 */
#ifndef PARLEY_KT_LOOKUP_H
#define PARLEY_KT_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "parley/account_state.h"
#include "parley/defs.h"
#include "parley/kt_commit.h"
#include "parley/merkle.h"
#include "parley/prefix_tree.h"
#include "parley/vrf.h"

#define PL_KT_LOOKUP_VERSION 1u
#define PL_KT_LOOKUP_GREATEST 1u /* v is present and v + 1 absent */
#define PL_KT_LOOKUP_FIXED 2u    /* v is present */
#define PL_KT_LOG_ENTRY_BYTES 40u
#define PL_KT_VRF_OUT_BYTES 32u
/* Longest encoding (§23.2): header, inclusion proof, the value, two VRF proofs and two
 * prefix proofs. */
#define PL_KT_LOOKUP_MAX_BYTES                                                                     \
    (2u + 8u + 8u + 32u + 1u + PL_MERKLE_MAX_PROOF * 32u + 4u + PL_VRF_PROOF_BYTES +               \
     PL_KT_OPENING_BYTES + 2u + PL_ACCOUNT_STATE_MAX_BYTES +                                       \
     2u * (2u + PL_PREFIX_PROOF_MAX_BYTES) + PL_VRF_PROOF_BYTES)

/* The log entry bytes of §23.1: u64 timestamp_ms || prefix_root. */
PL_API void pl_kt_log_entry(uint64_t timestamp_ms, const uint8_t prefix_root[PL_PREFIX_HASH_BYTES],
                            uint8_t out[PL_KT_LOG_ENTRY_BYTES]);

/*
 * The VRF input of (label, version): u8 len || label || u32 version, written to
 * out[0..cap) with its length in *out_len. Returns PL_OK, PL_E_TOO_LARGE (label_len > 255)
 * or PL_E_BUFFER_TOO_SMALL (cap < 1 + label_len + 4).
 */
PL_API PL_NODISCARD int pl_kt_vrf_input(const uint8_t *label, size_t label_len, uint32_t version,
                                        uint8_t *out, size_t cap, size_t *out_len);

/*
 * Server side: proves (label, version) with the VRF secret seed, writing the proof and
 * vrf_out = beta[0:32]. Returns PL_OK, PL_E_TOO_LARGE, or pl_vrf_prove's error.
 */
PL_API PL_NODISCARD int pl_kt_vrf_prove(const uint8_t seed[PL_VRF_SECRET_KEY_BYTES],
                                        const uint8_t *label, size_t label_len, uint32_t version,
                                        uint8_t pi[PL_VRF_PROOF_BYTES],
                                        uint8_t vrf_out[PL_KT_VRF_OUT_BYTES]);

/*
 * A lookup proof, decoded or about to be encoded. Plain data; value points at bytes the
 * caller owns (the encoder's input, or the decoder's input buffer).
 */
typedef struct pl_kt_lookup {
    uint8_t kind;          /* PL_KT_LOOKUP_GREATEST or PL_KT_LOOKUP_FIXED */
    uint64_t tree_size;    /* the checkpoint size; the entry is leaf tree_size - 1 */
    uint64_t timestamp_ms; /* the entry's timestamp */
    uint8_t prefix_root[PL_PREFIX_HASH_BYTES];
    size_t n_inclusion; /* RFC 9162 inclusion proof of the entry in the checkpoint's tree */
    uint8_t inclusion[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES];
    uint32_t version;
    uint8_t vrf_proof[PL_VRF_PROOF_BYTES];
    uint8_t opening[PL_KT_OPENING_BYTES];
    const uint8_t *value; /* the encoded account state, 1..PL_ACCOUNT_STATE_MAX_BYTES */
    size_t value_len;
    pl_prefix_proof prefix; /* inclusion of vrf_out(label, version) */
    /* PL_KT_LOOKUP_GREATEST only: */
    uint8_t next_vrf_proof[PL_VRF_PROOF_BYTES];
    pl_prefix_proof next_prefix; /* non-inclusion of vrf_out(label, version + 1) */
} pl_kt_lookup;

/*
 * Encodes *l (§23.2) into out[0..cap). Returns PL_OK; PL_E_INVALID_ARG (unknown kind,
 * tree_size 0, n_inclusion > PL_MERKLE_MAX_PROOF, value NULL or its length outside
 * 1..PL_ACCOUNT_STATE_MAX_BYTES, version UINT32_MAX for a greatest proof, a prefix proof
 * pl_prefix_proof_encode refuses); PL_E_BUFFER_TOO_SMALL. On error *out_len is 0.
 */
PL_API PL_NODISCARD int pl_kt_lookup_encode(const pl_kt_lookup *l, uint8_t *out, size_t cap,
                                            size_t *out_len);

/*
 * Decodes in[0..len) (hostile) into *l (caller-owned; zeroed first and on error; l->value
 * points into in). Returns PL_OK, PL_E_TRUNCATED, PL_E_VERSION (format version not 1) or
 * PL_E_MALFORMED (unknown kind, tree_size 0, an inclusion proof longer than 64 hashes,
 * version UINT32_MAX in a greatest proof, a value length outside
 * 1..PL_ACCOUNT_STATE_MAX_BYTES, a prefix proof that does not decode within its stated
 * length, trailing bytes). It accepts exactly what pl_kt_lookup_encode() writes.
 */
PL_API PL_NODISCARD int pl_kt_lookup_decode(pl_kt_lookup *l, const uint8_t *in, size_t len);

/* A VRF output the client verified before, to skip the VRF verification on a repeat lookup
 * (the research note's VRF cache). */
typedef struct pl_kt_vrf_cached {
    uint32_t version;
    uint8_t vrf_out[PL_KT_VRF_OUT_BYTES];
} pl_kt_vrf_cached;

/* What a verified lookup proves. */
typedef struct pl_kt_lookup_result {
    uint8_t kind;
    uint64_t tree_size;
    uint64_t timestamp_ms;
    uint32_t version;
    pl_account_state state;                          /* the value, verified (§19.2) */
    uint8_t state_hash[PL_ACCOUNT_STATE_HASH_BYTES]; /* pl_account_state_hash of the value */
    uint8_t vrf_out[PL_KT_VRF_OUT_BYTES];            /* of version, for the caller's cache */
    uint8_t next_vrf_out[PL_KT_VRF_OUT_BYTES];       /* of version + 1 (greatest only) */
    const uint8_t *value;                            /* points into the caller's proof bytes */
    size_t value_len;
} pl_kt_lookup_result;

/* Why pl_kt_lookup_verify() refused, for the user and the evidence kept. */
typedef enum pl_kt_lookup_failure {
    PL_KT_LOOKUP_OK = 0,
    PL_KT_LOOKUP_MALFORMED,       /* the bytes do not decode */
    PL_KT_LOOKUP_WRONG_KIND,      /* not the kind (or fixed version) asked for */
    PL_KT_LOOKUP_WRONG_TREE,      /* tree_size is not the verified checkpoint's */
    PL_KT_LOOKUP_BAD_INCLUSION,   /* the entry is not the checkpoint's last leaf */
    PL_KT_LOOKUP_BAD_VRF,         /* a VRF proof fails under the pinned VRF key */
    PL_KT_LOOKUP_BAD_COMMITMENT,  /* the value and opening do not give the included commitment */
    PL_KT_LOOKUP_BAD_PREFIX,      /* a prefix proof fails against prefix_root, or omits the key */
    PL_KT_LOOKUP_NOT_GREATEST,    /* version + 1 is in the tree too: an old state replayed */
    PL_KT_LOOKUP_BAD_STATE,       /* the value is not a valid signed account state */
    PL_KT_LOOKUP_VERSION_MISMATCH /* the state's seq is not the proven version */
} pl_kt_lookup_failure;

/*
 * Verifies the lookup proof in[0..len) (hostile) for label against a checkpoint the caller
 * has already verified (pl_kt_view_update): its size and root. want_kind is the kind asked
 * for; for PL_KT_LOOKUP_FIXED, want_version is the version asked for (ignored otherwise).
 * vrf_pk is the pinned VRF public key. cache[0..n_cache) are VRF outputs of this label the
 * caller verified before (cache may be NULL when n_cache is 0); a cached version's output is
 * used in place of verifying its VRF proof. Checks, in this order:
 *   1. decode                                                    MALFORMED
 *   2. kind (and for fixed, version) as asked                    WRONG_KIND
 *   3. tree_size = size                                          WRONG_TREE
 *   4. the entry's leaf hash is leaf size - 1 under root         BAD_INCLUSION
 *   5. the VRF proof(s) of version (and version + 1)             BAD_VRF
 *   6. the prefix proof for vrf_out evaluates to prefix_root     BAD_PREFIX
 *      and includes vrf_out (absence is BAD_PREFIX too)
 *   7. its commitment is commitment(opening, label, version,
 *      value)                                                    BAD_COMMITMENT
 *   8. greatest: the next prefix proof shows vrf_out(version+1)
 *      absent under the same prefix_root                         NOT_GREATEST (present),
 *                                                                BAD_PREFIX (does not verify)
 *   9. the value verifies as an account state (§19.2)            BAD_STATE
 *  10. its seq equals version                                    VERSION_MISMATCH
 * Whether the state's account key is the pinned one, and whether the version moved forward
 * from the last one seen, are the caller's checks. A cached output is trusted as given:
 * a wrong one for version leads the prefix proof to another root (BAD_PREFIX), but one for
 * version + 1 is caught only if the absence proof's path differs, so keep in the cache
 * only the vrf_out / next_vrf_out of results this function returned.
 * Returns PL_OK with *out filled; PL_E_BAD_PROOF for every failure above (with *why set),
 * or the decoder's code for MALFORMED; PL_E_INVALID_ARG for NULL arguments or a label
 * longer than 255 bytes. On error *out is zeroed. why may be NULL.
 */
PL_API PL_NODISCARD int pl_kt_lookup_verify(const uint8_t vrf_pk[PL_VRF_PUBLIC_KEY_BYTES],
                                            const uint8_t *label, size_t label_len, uint64_t size,
                                            const uint8_t root[PL_MERKLE_HASH_BYTES],
                                            uint8_t want_kind, uint32_t want_version,
                                            const pl_kt_vrf_cached *cache, size_t n_cache,
                                            const uint8_t *in, size_t len, pl_kt_lookup_result *out,
                                            pl_kt_lookup_failure *why);

/* A short English phrase for a failure, for logs and the CLI ("not the greatest version"). */
PL_API const char *pl_kt_lookup_failure_str(pl_kt_lookup_failure f);

#endif
