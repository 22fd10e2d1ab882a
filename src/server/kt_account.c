/*
 * kt_account.c: the account-state rules of a device change (kt_account.h).
 */
#include "kt_account.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define ST(x) PARLEY__STATUS_CODE__STATUS_##x

Parley__StatusCode pl_kt_state_parse(const uint8_t *state, size_t len, pl_account_state *out,
                                     const char **why)
{
    int r = pl_account_state_verify(state, len, out);

    if (r == PL_E_BAD_SIGNATURE) {
        *why = "the account state does not verify under its account key";
        return ST(BAD_SIGNATURE);
    }
    if (r == PL_E_IDENTITY_MISMATCH) {
        *why = "the account state lists a device record of another account";
        return ST(BAD_REQUEST);
    }
    if (r != PL_OK) {
        *why = "the account state is not a valid encoding (PROTOCOL.md §19.1)";
        return ST(BAD_REQUEST);
    }
    if (out->seq == UINT32_MAX) {
        *why = "the account state's seq is at its maximum";
        return ST(BAD_REQUEST);
    }
    return ST(OK);
}

Parley__StatusCode pl_kt_state_check_register(const pl_account_state *next,
                                              const uint8_t account_key[PL_PUBKEY_BYTES],
                                              const uint8_t record[PL_DEVICE_RECORD_BYTES],
                                              const char **why)
{
    if (next->seq != 0) {
        *why = "a new account's state must have seq 0";
        return ST(BAD_REQUEST);
    }
    if (sodium_memcmp(next->account_key, account_key, PL_PUBKEY_BYTES) != 0) {
        *why = "the account state is signed by another account key";
        return ST(BAD_REQUEST);
    }
    if (next->n_devices != 1 ||
        memcmp(next->device_records[0], record, PL_DEVICE_RECORD_BYTES) != 0) {
        *why = "a new account's state must list exactly its first device";
        return ST(BAD_REQUEST);
    }
    return ST(OK);
}

/* The device list the next state must carry: base[0..n) (ascending ids) with add inserted or
 * remove_id taken out, into out; *n_out its length. */
static Parley__StatusCode expected_list(const uint8_t (*base)[PL_DEVICE_RECORD_BYTES],
                                        const uint32_t *ids, size_t n, const uint8_t *add,
                                        uint32_t add_id, uint32_t remove_id,
                                        uint8_t (*out)[PL_DEVICE_RECORD_BYTES], size_t *n_out,
                                        const char **why)
{
    size_t k = 0;
    int placed = 0, removed = 0;

    for (size_t i = 0; i < n; i++) {
        if (add && ids[i] == add_id) {
            *why = "the device id is in use";
            return ST(DEVICE_EXISTS);
        }
        if (!add && ids[i] == remove_id) {
            removed = 1;
            continue;
        }
        if (add && !placed && add_id < ids[i]) {
            memcpy(out[k++], add, PL_DEVICE_RECORD_BYTES);
            placed = 1;
        }
        memcpy(out[k++], base[i], PL_DEVICE_RECORD_BYTES);
    }
    if (add && !placed)
        memcpy(out[k++], add, PL_DEVICE_RECORD_BYTES);
    if (!add && !removed) {
        *why = "no such device";
        return ST(NOT_FOUND);
    }
    *n_out = k;
    return ST(OK);
}

Parley__StatusCode pl_kt_state_check_change(const pl_store_kt_version *last,
                                            const uint8_t account_key[PL_PUBKEY_BYTES],
                                            const pl_store_device *current, size_t n_current,
                                            const pl_account_state *next, const uint8_t *add_record,
                                            uint32_t add_id, uint32_t remove_id, const char **why)
{
    pl_account_state *prev = NULL;
    uint8_t(*base)[PL_DEVICE_RECORD_BYTES] = NULL, (*want)[PL_DEVICE_RECORD_BYTES] = NULL;
    uint32_t ids[PL_ACCOUNT_STATE_MAX_DEVICES];
    uint8_t prev_hash[PL_ACCOUNT_STATE_HASH_BYTES];
    size_t n = 0, n_want = 0;
    Parley__StatusCode st = ST(INTERNAL);

    *why = "out of memory";
    if (!(prev = malloc(sizeof *prev)) ||
        !(base = calloc(PL_ACCOUNT_STATE_MAX_DEVICES, sizeof *base)) ||
        !(want = calloc(PL_ACCOUNT_STATE_MAX_DEVICES + 1, sizeof *want)))
        goto out;
    if (sodium_memcmp(next->account_key, account_key, PL_PUBKEY_BYTES) != 0) {
        *why = "the account state is signed by another account key";
        st = ST(BAD_REQUEST);
        goto out;
    }
    if (last) {
        if (pl_account_state_verify(last->state, last->state_len, prev) != PL_OK ||
            prev->seq != last->version ||
            sodium_memcmp(prev->account_key, account_key, PL_PUBKEY_BYTES) != 0) {
            *why = "the account's stored state is damaged";
            goto out;
        }
        pl_account_state_hash(last->state, last->state_len, prev_hash);
        if (pl_account_state_extends(prev, prev_hash, next) != PL_OK) {
            *why = "the account state does not extend the account's last state (seq + 1, "
                   "previous hash)";
            st = ST(BAD_REQUEST);
            goto out;
        }
        n = prev->n_devices;
        for (size_t i = 0; i < n; i++) {
            memcpy(base[i], prev->device_records[i], PL_DEVICE_RECORD_BYTES);
            ids[i] = prev->devices[i].device_id;
        }
    } else {
        if (next->seq != 0) {
            *why = "this account has no state yet: the first one has seq 0";
            st = ST(BAD_REQUEST);
            goto out;
        }
        if (n_current > PL_ACCOUNT_STATE_MAX_DEVICES)
            goto out;
        n = n_current;
        for (size_t i = 0; i < n; i++) {
            memcpy(base[i], current[i].record, PL_DEVICE_RECORD_BYTES);
            ids[i] = current[i].device_id;
        }
    }
    if ((st = expected_list((const uint8_t(*)[PL_DEVICE_RECORD_BYTES])base, ids, n, add_record,
                            add_id, remove_id, want, &n_want, why)) != ST(OK))
        goto out;
    st = ST(BAD_REQUEST);
    if (n_want == 0) {
        *why = "an account keeps at least one device";
        goto out;
    }
    if (n_want > PL_ACCOUNT_STATE_MAX_DEVICES || next->n_devices != n_want) {
        *why = add_record ? "the account state must list the account's devices plus the new one"
                          : "the account state must list the account's devices but the removed one";
        goto out;
    }
    for (size_t i = 0; i < n_want; i++)
        if (memcmp(next->device_records[i], want[i], PL_DEVICE_RECORD_BYTES) != 0) {
            *why = add_record
                       ? "the account state must list the account's devices plus the new one"
                       : "the account state must list the account's devices but the removed one";
            goto out;
        }
    st = ST(OK);
    *why = "";
out:
    free(prev);
    free(base);
    free(want);
    return st;
}
