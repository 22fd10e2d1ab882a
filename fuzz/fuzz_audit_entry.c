/*
 * fuzz_audit_entry.c: the auditor's replay of one hostile KtAuditEntry (src/audit/wire_kt.c,
 * replay.c) into a fixed log (audit_fixture.h).
 *
 * Input: u8 selector || the KtAuditEntry's protobuf encoding. selector % FZ_AUDIT_STATES
 * picks how many fixed entries the replay holds; bit 0x80 overrides the entry's position with
 * the expected one, so that mutations reach the checks past the position.
 *
 * Invariants: only the documented codes; a refusal states its reason and leaves the replay
 * exactly as it was unless it is marked poisoned (only after PREFIX_ROOT or an allocation
 * failure); an accepted entry advances the log by one, adds exactly its leaves, makes its
 * prefix root the tree's, and the log root stays RFC 9162's root over every entry's leaf.
 */
#include <string.h>

#include "audit_fixture.h"
#include "fuzz.h"
#include "parley/kt_lookup.h"
#include "parley.pb-c.h"
#include "wire_kt.h"

static void log_leaf(const pl_audit_entry *e, uint8_t out[32])
{
    uint8_t entry[PL_KT_LOG_ENTRY_BYTES];

    pl_kt_log_entry(e->timestamp_ms, e->prefix_root, entry);
    pl_merkle_leaf_hash(entry, sizeof entry, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t fixed_leaves[13][PL_AUDIT_LEAF_BYTES];
    uint8_t log[4][32], before_prefix[32], before_log[32], after[32], want[32];
    uint8_t(*leaves)[PL_AUDIT_LEAF_BYTES] = NULL;
    Parley__KtAuditEntry *w;
    pl_audit_replay *r = NULL;
    pl_audit_entry fixed, e;
    pl_audit_failure why = PL_AUDIT_LOG_ROOT;
    uint64_t before_size, before_leaves, before_ts;
    const char *wire_why;
    unsigned held;
    int rc;

    if (size < 1)
        return 0;
    FZ_CHECK(pl_init() == PL_OK);
    held = data[0] % FZ_AUDIT_STATES;
    w = parley__kt_audit_entry__unpack(NULL, size - 1, data + 1);
    if (!w)
        return 0;
    rc = pl_audit_entry_from_wire(w, &e, &leaves, &wire_why);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(rc == PL_E_MALFORMED || rc == PL_E_TOO_LARGE || rc == PL_E_NOMEM);
        FZ_CHECK(leaves == NULL && *wire_why);
        goto out;
    }
    FZ_CHECK(e.n_leaves == w->n_leaves && e.position == w->position);
    if (data[0] & 0x80)
        e.position = held;

    FZ_CHECK(pl_audit_replay_new(&r) == PL_OK);
    for (unsigned i = 0; i < held; i++) {
        fz_audit_entry(i, i, &fixed, fixed_leaves);
        FZ_CHECK(pl_audit_replay_entry(r, &fixed, NULL) == PL_OK);
        log_leaf(&fixed, log[i]);
    }
    before_size = pl_audit_replay_size(r);
    before_leaves = pl_audit_replay_leaves(r);
    before_ts = pl_audit_replay_last_timestamp(r);
    pl_audit_replay_prefix_root(r, before_prefix);
    pl_audit_replay_log_root(r, before_log);

    rc = pl_audit_replay_entry(r, &e, &why);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(rc == PL_E_BAD_PROOF || rc == PL_E_TOO_LARGE || rc == PL_E_NOMEM);
        FZ_CHECK((rc == PL_E_BAD_PROOF) == (why != PL_AUDIT_OK && why != PL_AUDIT_TREE_FULL));
        FZ_CHECK(pl_audit_replay_size(r) == before_size);
        if (pl_audit_replay_poisoned(r)) {
            FZ_CHECK(why == PL_AUDIT_PREFIX_ROOT || rc == PL_E_NOMEM);
            goto out;
        }
        FZ_CHECK(pl_audit_replay_leaves(r) == before_leaves);
        FZ_CHECK(pl_audit_replay_last_timestamp(r) == before_ts);
        pl_audit_replay_prefix_root(r, after);
        FZ_CHECK(memcmp(after, before_prefix, 32) == 0);
        pl_audit_replay_log_root(r, after);
        FZ_CHECK(memcmp(after, before_log, 32) == 0);
        FZ_CHECK(pl_audit_replay_check_root(r, before_size, before_log, NULL) == PL_OK);
        goto out;
    }
    FZ_CHECK(why == PL_AUDIT_OK && e.position == held);
    FZ_CHECK(pl_audit_replay_size(r) == before_size + 1);
    FZ_CHECK(pl_audit_replay_leaves(r) == before_leaves + e.n_leaves);
    FZ_CHECK(held == 0 || e.timestamp_ms >= before_ts);
    pl_audit_replay_prefix_root(r, after);
    FZ_CHECK(memcmp(after, e.prefix_root, 32) == 0);
    log_leaf(&e, log[held]);
    FZ_CHECK(pl_merkle_root((const uint8_t(*)[32])log, held + 1, want) == PL_OK);
    FZ_CHECK(pl_audit_replay_check_root(r, held + 1, want, NULL) == PL_OK);
out:
    pl_audit_replay_free(r);
    free(leaves);
    parley__kt_audit_entry__free_unpacked(w, NULL);
    return 0;
}
