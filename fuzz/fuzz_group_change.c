/*
 * fuzz_group_change.c: pl_group_apply() and pl_group_state_decode() on hostile bytes
 * (PROTOCOL.md §30).
 *
 * Input: selector byte || bytes. Selector 0: a change applied to no state (a create);
 * 1: a change applied to the fixed group (group_fixture.h); 2: a saved state to decode.
 * Invariants: no crash; only parley error codes; on error no state and a zeroed result; an
 * accepted change gives a state of epoch + 1 (0 for a create) within its member limit, whose
 * encoding decodes to the same bytes and hash, and the same change never applies twice.
 */
#include "group_fixture.h"

static void check_state(const pl_group_state *s)
{
    size_t n = pl_group_state_encoded_size(s), got = 0;
    uint8_t *b = fz_alloc(n), *b2 = fz_alloc(n), h[32], h2[32];
    pl_group_state *d = NULL;

    FZ_CHECK(pl_group_state_member_count(s) >= 1 &&
             pl_group_state_member_count(s) <= pl_group_state_max_members(s) &&
             pl_group_state_max_members(s) <= PL_GROUP_MAX_MEMBERS);
    fzg_must(pl_group_state_encode(s, b, n, &got), "encode");
    FZ_CHECK(got == n);
    fzg_must(pl_group_state_decode(b, n, &d), "decode");
    fzg_must(pl_group_state_encode(d, b2, n, &got), "encode");
    FZ_CHECK(got == n && memcmp(b, b2, n) == 0);
    pl_group_state_hash(s, h);
    pl_group_state_hash(d, h2);
    FZ_CHECK(memcmp(h, h2, 32) == 0);
    pl_group_state_free(d);
    free(b);
    free(b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fzg_cast *c = fzg_cast_get();
    const pl_group_state *prev = NULL;
    pl_group_state *next = (pl_group_state *)&next, *again = NULL;
    pl_group_applied info;
    int rc;

    if (size < 1)
        return 0;
    if (data[0] == 2) {
        rc = pl_group_state_decode(data + 1, size - 1, &next);
        FZ_CHECK_RC(rc);
        if (rc == PL_OK) {
            check_state(next);
            pl_group_state_free(next);
        } else {
            FZ_CHECK(next == NULL);
        }
        return 0;
    }
    if (data[0] == 1)
        prev = c->state;
    memset(&info, 0xA5, sizeof info);
    rc = pl_group_apply(prev, data + 1, size - 1, &next, &info);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(next == NULL);
        FZ_CHECK(fz_is_zero(&info, sizeof info));
        return 0;
    }
    FZ_CHECK(pl_group_state_epoch(next) == (prev ? pl_group_state_epoch(prev) + 1 : 0));
    FZ_CHECK(info.rotate_sender_keys == 0 || info.rotate_sender_keys == 1);
    check_state(next);
    FZ_CHECK(pl_group_apply(next, data + 1, size - 1, &again, NULL) != PL_OK);
    FZ_CHECK(again == NULL);
    pl_group_state_free(next);
    return 0;
}
