/*
 * fuzz_sender_key_distribution.c: pl_sender_key_receiver_create() on hostile distribution
 * messages (PROTOCOL.md §29).
 *
 * Invariants: no crash; only parley error codes; on error no receiver; an accepted message is
 * exactly PL_SENDER_KEY_DISTRIBUTION_BYTES long, its info repeats its fields, and the chain
 * it makes saves, loads and saves again to the same bytes.
 */
#include "group_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pl_sender_key_receiver *r = (pl_sender_key_receiver *)&r, *again = NULL;
    pl_sender_key_info info;
    uint8_t s1[PL_SENDER_KEY_SAVED_BYTES * 2], s2[sizeof s1];
    size_t n1 = 0, n2 = 0;
    int rc;

    fzg_init();
    rc = pl_sender_key_receiver_create(&r, data, size);

    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(r == NULL);
        return 0;
    }
    FZ_CHECK(size == PL_SENDER_KEY_DISTRIBUTION_BYTES);
    pl_sender_key_receiver_get_info(r, &info);
    FZ_CHECK(memcmp(info.group_id, data + 1, PL_GROUP_ID_BYTES) == 0);
    FZ_CHECK(info.key_id == fz_be32(data + 17) && info.device_id == fz_be32(data + 21));
    FZ_CHECK(memcmp(info.identity_key, data + 25, PL_PUBKEY_BYTES) == 0);
    FZ_CHECK(info.iteration == fz_be32(data + 58));
    FZ_CHECK(memcmp(info.signing_key, data + size - PL_PUBKEY_BYTES, PL_PUBKEY_BYTES) == 0);
    fzg_must(pl_sender_key_receiver_save(r, s1, sizeof s1, &n1), "save");
    fzg_must(pl_sender_key_receiver_load(&again, s1, n1), "load");
    fzg_must(pl_sender_key_receiver_save(again, s2, sizeof s2, &n2), "save");
    FZ_CHECK(n1 == n2 && memcmp(s1, s2, n1) == 0);
    pl_sender_key_receiver_free(again);
    pl_sender_key_receiver_free(r);
    return 0;
}
