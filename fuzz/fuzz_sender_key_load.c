/*
 * fuzz_sender_key_load.c: loading saved group chains (PROTOCOL.md §29, §9 frame kinds 6, 7).
 *
 * Input: selector byte (even: a sending chain, odd: a receiving chain) || blob. The frame's
 * checksum is rewritten (fz_fix_checksum) so the body parser sees the mutations.
 * Invariants: no crash; only parley error codes; a failed load allocates nothing; an
 * accepted blob saves back to exactly its bytes (only canonical state loads).
 */
#include "group_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *blob;
    size_t len;
    int rc;

    fzg_init();
    if (size < 1)
        return 0;
    len = size - 1;
    blob = fz_fix_checksum(data + 1, len);
    if (data[0] % 2 == 0) {
        pl_sender_key *k = (pl_sender_key *)&k;
        uint8_t again[PL_SENDER_KEY_SAVED_BYTES];

        rc = pl_sender_key_load(&k, blob, len);
        FZ_CHECK_RC(rc);
        if (rc == PL_OK) {
            FZ_CHECK(len == PL_SENDER_KEY_SAVED_BYTES);
            pl_sender_key_save(k, again);
            FZ_CHECK(memcmp(again, blob, len) == 0);
            pl_sender_key_free(k);
        } else {
            FZ_CHECK(k == NULL);
        }
    } else {
        pl_sender_key_receiver *r = (pl_sender_key_receiver *)&r;

        rc = pl_sender_key_receiver_load(&r, blob, len);
        FZ_CHECK_RC(rc);
        if (rc == PL_OK) {
            uint8_t *again = fz_alloc(len);
            size_t got = 0;

            FZ_CHECK(pl_sender_key_receiver_saved_size(r) == len);
            fzg_must(pl_sender_key_receiver_save(r, again, len, &got), "save");
            FZ_CHECK(got == len && memcmp(again, blob, len) == 0);
            free(again);
            pl_sender_key_receiver_free(r);
        } else {
            FZ_CHECK(r == NULL);
        }
    }
    free(blob);
    return 0;
}
