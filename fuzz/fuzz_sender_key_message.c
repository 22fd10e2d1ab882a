/*
 * fuzz_sender_key_message.c: pl_sender_key_receiver_decrypt() on hostile group messages
 * (PROTOCOL.md §29), against a fresh receiving chain of the fixed sender (group_fixture.h).
 *
 * Invariants: no crash; only parley error codes; a failure leaves the output zeroed, says
 * *out_len = 0 and leaves the chain as it was (saving it gives the same bytes); an accepted
 * message is exactly PL_GROUP_MESSAGE_OVERHEAD longer than its plaintext, carries the
 * chain's group and key id, and is refused as a replay the second time.
 */
#include "group_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t dist[PL_SENDER_KEY_DISTRIBUTION_BYTES];
    static int have_dist;
    pl_sender_key_receiver *r = NULL;
    pl_sender_key_info info;
    pl_group_message_header h;
    uint8_t before[PL_SENDER_KEY_SAVED_BYTES * 2], after[sizeof before];
    size_t before_len = 0, after_len = 0, out_len = 1, cap = size;
    uint8_t *out = fz_alloc(cap);
    int rc;

    if (!have_dist) {
        pl_device *device = NULL;
        pl_sender_key *key = fzg_sender(&device);

        pl_sender_key_distribution(key, dist);
        pl_sender_key_free(key);
        pl_device_free(device);
        have_dist = 1;
    }
    fzg_must(pl_sender_key_receiver_create(&r, dist, sizeof dist), "receiver");
    fzg_must(pl_sender_key_receiver_save(r, before, sizeof before, &before_len), "save");
    memset(out, 0xA5, cap);
    rc = pl_sender_key_receiver_decrypt(r, data, size, out, cap, &out_len);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(out_len == 0);
        FZ_CHECK(fz_is_zero(out, cap));
        fzg_must(pl_sender_key_receiver_save(r, after, sizeof after, &after_len), "save");
        FZ_CHECK(after_len == before_len && memcmp(before, after, after_len) == 0);
    } else {
        FZ_CHECK(out_len + PL_GROUP_MESSAGE_OVERHEAD == size);
        FZ_CHECK(pl_group_message_header_parse(data, size, &h) == PL_OK);
        pl_sender_key_receiver_get_info(r, &info);
        FZ_CHECK(memcmp(h.group_id, info.group_id, PL_GROUP_ID_BYTES) == 0);
        FZ_CHECK(info.iteration == h.iteration + 1);
        FZ_CHECK(pl_sender_key_receiver_decrypt(r, data, size, out, cap, &out_len) == PL_E_REPLAY);
    }
    pl_sender_key_receiver_free(r);
    free(out);
    return 0;
}
