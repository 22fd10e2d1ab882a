/*
 * fuzz_account_state.c: pl_account_state_verify() on hostile bytes (PROTOCOL.md §19).
 *
 * Invariants: no crash; only parley error codes; on error the output is zeroed. An accepted
 * state has 1..16 devices and exactly the size they imply, its device ids strictly ascend,
 * every parsed record is the input's bytes and re-verifies under the state's own account key
 * to the same fields, and a state never extends itself. When the key is a fixture account's,
 * re-signing the parsed fields gives exactly the input (Ed25519 is deterministic), so an
 * accepted encoding is canonical.
 */
#include <string.h>

#include "fuzz.h"

static void check_accepted(const fz_fixtures *f, const pl_account_state *st, const uint8_t *data,
                           size_t size)
{
    const pl_account *signer = NULL;
    uint8_t hash[PL_ACCOUNT_STATE_HASH_BYTES];

    FZ_CHECK(st->n_devices >= 1 && st->n_devices <= PL_ACCOUNT_STATE_MAX_DEVICES);
    FZ_CHECK(size == PL_ACCOUNT_STATE_BYTES(st->n_devices));
    FZ_CHECK(st->seq != 0 || fz_is_zero(st->prev_state_hash, sizeof st->prev_state_hash));
    for (size_t i = 0; i < st->n_devices; i++) {
        pl_device_record again;

        FZ_CHECK(memcmp(st->device_records[i],
                        data + PL_ACCOUNT_STATE_HEADER_BYTES + i * PL_DEVICE_RECORD_BYTES,
                        PL_DEVICE_RECORD_BYTES) == 0);
        FZ_CHECK(pl_device_record_verify(st->device_records[i], PL_DEVICE_RECORD_BYTES,
                                         st->account_key, &again) == PL_OK);
        FZ_CHECK(memcmp(&again, &st->devices[i], sizeof again) == 0);
        if (i > 0)
            FZ_CHECK(st->devices[i].device_id > st->devices[i - 1].device_id);
    }
    pl_account_state_hash(data, size, hash);
    FZ_CHECK(pl_account_state_extends(st, hash, st) == PL_E_STATE_CHAIN);

    if (memcmp(st->account_key, f->alice_account_key, PL_PUBKEY_BYTES) == 0)
        signer = f->alice_account;
    if (memcmp(st->account_key, f->bob_account_key, PL_PUBKEY_BYTES) == 0)
        signer = f->bob_account;
    if (signer) {
        uint8_t *again = fz_alloc(size);
        size_t len = 0;

        FZ_CHECK(pl_account_state_sign(signer, st->seq, st->prev_state_hash, st->created_at_ms,
                                       st->publisher_device_id,
                                       (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])st->device_records,
                                       st->n_devices, again, size, &len) == PL_OK);
        FZ_CHECK(len == size && memcmp(again, data, size) == 0);
        free(again);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fz_fixtures *f = fz_fixtures_get();
    pl_account_state *st = malloc(sizeof *st);
    int rc;

    if (st == NULL)
        fz_fail(__FILE__, __LINE__, "malloc");
    memset(st, 0xA5, sizeof *st);
    rc = pl_account_state_verify(data, size, st);
    FZ_CHECK_RC(rc);
    if (rc == PL_OK)
        check_accepted(f, st, data, size);
    else
        FZ_CHECK(fz_is_zero(st, sizeof *st));
    free(st);
    return 0;
}
