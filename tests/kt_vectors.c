/*
 * kt_vectors.c: the generator of tests/vectors/kt_lookup.json (kt_vectors.h).
 *
 * Each vector is one flat JSON object (so tests/tjson.h reads it) holding everything needed
 * to check it with pl_kt_lookup_verify() alone: the pinned VRF key, the label, the verified
 * checkpoint (size and root), the kind and version asked for, the proof bytes, and the
 * expected outcome. The expected outcome is what pl_kt_lookup_verify returns here at
 * generation time; the generator refuses to write a vector whose outcome is not the one its
 * table says, so a file written by a broken verifier cannot come out.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "kt_log.h"
#include "kt_vectors.h"

const char *ktv_failure_token(pl_kt_lookup_failure f)
{
    static const char *const names[] = {
        "ok",
        "malformed",
        "wrong_kind",
        "wrong_tree",
        "bad_inclusion",
        "bad_vrf",
        "bad_commitment",
        "bad_prefix",
        "not_greatest",
        "bad_state",
        "version_mismatch",
    };

    if ((size_t)f >= sizeof names / sizeof names[0])
        return NULL;
    return names[f];
}

/* How a vector's proof is damaged after the honest server made it. */
typedef enum mutation {
    AS_MADE,
    FLIP_VRF_PROOF,
    FLIP_OPENING,
    FLIP_PREFIX_ELEMENT,
    FLIP_INCLUSION,
    DROP_LAST_BYTE,
} mutation;

typedef struct vector_spec {
    const char *name;
    const char *description;
    const char *label;
    uint64_t proof_size; /* the checkpoint the server proves against */
    uint8_t proof_kind;
    uint32_t proof_version;
    mutation damage;
    uint64_t check_size; /* the checkpoint the client verified */
    uint8_t want_kind;
    uint32_t want_version;
    int expect_rc;
    pl_kt_lookup_failure expect_failure;
} vector_spec;

#define G PL_KT_LOOKUP_GREATEST
#define F PL_KT_LOOKUP_FIXED

static const vector_spec specs[] = {
    {"greatest_v0", "bob's only state is his current one", "bob", 5, G, 0, AS_MADE, 5, G, 0, PL_OK,
     PL_KT_LOOKUP_OK},
    {"greatest_v2", "alice's current state after two changes", "alice", 5, G, 2, AS_MADE, 5, G, 0,
     PL_OK, PL_KT_LOOKUP_OK},
    {"greatest_v0_size_1", "a one-entry log: empty inclusion proof", "alice", 1, G, 0, AS_MADE, 1,
     G, 0, PL_OK, PL_KT_LOOKUP_OK},
    {"fixed_v1", "alice's history: version 1 is in the tree", "alice", 5, F, 1, AS_MADE, 5, F, 1,
     PL_OK, PL_KT_LOOKUP_OK},
    {"fixed_v0", "alice's history: version 0 is in the tree", "alice", 5, F, 0, AS_MADE, 5, F, 0,
     PL_OK, PL_KT_LOOKUP_OK},
    {"not_greatest", "alice's version 1 replayed as current while version 2 exists", "alice", 5, G,
     1, AS_MADE, 5, G, 0, PL_E_BAD_PROOF, PL_KT_LOOKUP_NOT_GREATEST},
    {"bad_state", "a logged value that is not an account state", "mallory", 5, G, 0, AS_MADE, 5, G,
     0, PL_E_BAD_PROOF, PL_KT_LOOKUP_BAD_STATE},
    {"version_mismatch", "eve's version 1 holds her state of seq 0", "eve", 5, G, 1, AS_MADE, 5, G,
     0, PL_E_BAD_PROOF, PL_KT_LOOKUP_VERSION_MISMATCH},
    {"wrong_tree", "a proof for 4 entries checked against the checkpoint of 5", "alice", 4, G, 2,
     AS_MADE, 5, G, 0, PL_E_BAD_PROOF, PL_KT_LOOKUP_WRONG_TREE},
    {"wrong_kind", "a fixed proof where a greatest one was asked for", "alice", 5, F, 2, AS_MADE, 5,
     G, 0, PL_E_BAD_PROOF, PL_KT_LOOKUP_WRONG_KIND},
    {"fixed_wrong_version", "a fixed proof of version 2 where version 1 was asked for", "alice", 5,
     F, 2, AS_MADE, 5, F, 1, PL_E_BAD_PROOF, PL_KT_LOOKUP_WRONG_KIND},
    {"bad_inclusion", "the first inclusion hash has one bit flipped", "alice", 5, G, 2,
     FLIP_INCLUSION, 5, G, 0, PL_E_BAD_PROOF, PL_KT_LOOKUP_BAD_INCLUSION},
    {"bad_vrf", "the VRF proof of the version has one bit flipped", "alice", 5, G, 2,
     FLIP_VRF_PROOF, 5, G, 0, PL_E_BAD_PROOF, PL_KT_LOOKUP_BAD_VRF},
    {"bad_prefix", "the first copath hash of the prefix proof has one bit flipped", "alice", 5, G,
     2, FLIP_PREFIX_ELEMENT, 5, G, 0, PL_E_BAD_PROOF, PL_KT_LOOKUP_BAD_PREFIX},
    {"bad_commitment", "the opening has one bit flipped", "alice", 5, G, 2, FLIP_OPENING, 5, G, 0,
     PL_E_BAD_PROOF, PL_KT_LOOKUP_BAD_COMMITMENT},
    {"truncated", "the last byte of a greatest proof is missing", "alice", 5, G, 2, DROP_LAST_BYTE,
     5, G, 0, PL_E_TRUNCATED, PL_KT_LOOKUP_MALFORMED},
};

#undef G
#undef F

typedef struct out_text {
    char *p;
    size_t cap, len;
    int failed;
} out_text;

static void put(out_text *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out_text *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->failed)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->failed = 1;
        return;
    }
    o->len += (size_t)n;
}

static void put_b64(out_text *o, const char *key, const uint8_t *bin, size_t len)
{
    static char b64[2 * PL_KT_LOOKUP_MAX_BYTES];

    if (sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL) > sizeof b64) {
        o->failed = 1;
        return;
    }
    sodium_bin2base64(b64, sizeof b64, bin, len, sodium_base64_VARIANT_ORIGINAL);
    put(o, ",\n  \"%s\": \"%s\"", key, b64);
}

/* Makes the proof of one spec, damaged as it says, into proof[0..*len). */
static int make_proof(const ktl_log *log, const vector_spec *s, uint8_t *proof, size_t cap,
                      size_t *len)
{
    static pl_kt_lookup l;
    int r;

    if ((r = ktl_prove(log, s->proof_size, s->proof_kind, s->label, s->proof_version, &l)) != PL_OK)
        return r;
    switch (s->damage) {
    case AS_MADE:
    case DROP_LAST_BYTE:
        break;
    case FLIP_VRF_PROOF:
        l.vrf_proof[40] ^= 0x01;
        break;
    case FLIP_OPENING:
        l.opening[0] ^= 0x01;
        break;
    case FLIP_PREFIX_ELEMENT:
        if (l.prefix.depth == 0)
            return PL_E_INVALID_ARG;
        l.prefix.elements[0][0] ^= 0x01;
        break;
    case FLIP_INCLUSION:
        if (l.n_inclusion == 0)
            return PL_E_INVALID_ARG;
        l.inclusion[0][0] ^= 0x01;
        break;
    }
    if ((r = pl_kt_lookup_encode(&l, proof, cap, len)) != PL_OK)
        return r;
    if (s->damage == DROP_LAST_BYTE)
        (*len)--;
    return PL_OK;
}

size_t ktv_generate(char *out, size_t cap)
{
    static ktl_log log;
    static uint8_t proof[PL_KT_LOOKUP_MAX_BYTES];
    static pl_kt_lookup_result res;
    out_text o = {out, cap, 0, 0};
    uint8_t root[PL_MERKLE_HASH_BYTES];
    pl_kt_lookup_failure why;
    size_t n;
    int rc;

    if (cap == 0 || ktl_demo_log(&log) != PL_OK)
        return 0;
    out[0] = '\0';
    put(&o, "[");
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        const vector_spec *s = &specs[i];

        if (make_proof(&log, s, proof, sizeof proof, &n) != PL_OK ||
            ktl_root(&log, s->check_size, root) != PL_OK)
            return 0;
        rc = pl_kt_lookup_verify(log.vrf_pk, (const uint8_t *)s->label, strlen(s->label),
                                 s->check_size, root, s->want_kind, s->want_version, NULL, 0, proof,
                                 n, &res, &why);
        if (rc != s->expect_rc || why != s->expect_failure)
            return 0;
        put(&o, "%s\n {\n  \"name\": \"%s\",\n  \"description\": \"%s\"", i ? "," : "", s->name,
            s->description);
        put_b64(&o, "vrf_pk", log.vrf_pk, sizeof log.vrf_pk);
        put_b64(&o, "label", (const uint8_t *)s->label, strlen(s->label));
        put(&o, ",\n  \"tree_size\": %u", (unsigned)s->check_size);
        put_b64(&o, "root", root, sizeof root);
        put(&o, ",\n  \"want_kind\": %u,\n  \"want_version\": %u", (unsigned)s->want_kind,
            (unsigned)s->want_version);
        put_b64(&o, "proof", proof, n);
        put(&o, ",\n  \"expect_error\": \"%s\",\n  \"expect_failure\": \"%s\"", pl_errname(rc),
            ktv_failure_token(why));
        if (rc == PL_OK) {
            put(&o, ",\n  \"version\": %u,\n  \"timestamp_ms\": %llu", (unsigned)res.version,
                (unsigned long long)res.timestamp_ms);
            put_b64(&o, "state_hash", res.state_hash, sizeof res.state_hash);
            put_b64(&o, "vrf_out", res.vrf_out, sizeof res.vrf_out);
            put_b64(&o, "next_vrf_out", res.next_vrf_out,
                    res.kind == PL_KT_LOOKUP_GREATEST ? sizeof res.next_vrf_out : 0);
        }
        put(&o, "\n }");
    }
    put(&o, "\n]\n");
    return o.failed ? 0 : o.len;
}
