/*
 * kt_account.h: which account state a device change must carry (PROTOCOL.md §24.3).
 *
 *   RegisterAccount  seq 0, the request's account key, exactly the request's device record
 *   AddDevice        extends (§19.3) the account's last state, listing every device it listed
 *                    plus exactly the request's record
 *   RemoveDevice     extends the last state, listing every device it listed but the removed one
 *
 * The state itself is verified first (§19.2: encoding, signature, every record). An account
 * registered before the server kept states (schema v2) has no last state: its next change
 * carries a seq-0 state listing the devices the store holds, changed as the request says.
 * Anything else is STATUS_BAD_REQUEST, a signature failure STATUS_BAD_SIGNATURE. The store's
 * own last state is re-verified: the disk is not trusted, and a damaged one is
 * STATUS_INTERNAL. Pure functions: no store, no clock.
 */
#ifndef PARLEYD_KT_ACCOUNT_H
#define PARLEYD_KT_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "store.h"

/* Verifies state[0..len) (§19.2) into *out. STATUS_OK, STATUS_BAD_SIGNATURE (a signature or
 * a record does not verify) or STATUS_BAD_REQUEST (anything else, or seq 2^32 - 1). */
Parley__StatusCode pl_kt_state_parse(const uint8_t *state, size_t len, pl_account_state *out,
                                     const char **why);

/* A registration's state (already parsed): seq 0, account_key, exactly record. */
Parley__StatusCode pl_kt_state_check_register(const pl_account_state *next,
                                              const uint8_t account_key[PL_PUBKEY_BYTES],
                                              const uint8_t record[PL_DEVICE_RECORD_BYTES],
                                              const char **why);

/*
 * A change's state (already parsed) against the account's last one (last NULL: none yet, then
 * current[0..n_current) are the store's devices in id order). add_record non-NULL: the device
 * being added (verified by the caller, with its id add_id); else remove_id is the device
 * being removed. account_key is the store's.
 * Returns STATUS_OK, STATUS_BAD_REQUEST, STATUS_DEVICE_EXISTS (the added id is listed already),
 * STATUS_NOT_FOUND (the removed id is not listed) or STATUS_INTERNAL (the stored state is
 * damaged).
 */
Parley__StatusCode pl_kt_state_check_change(const pl_store_kt_version *last,
                                            const uint8_t account_key[PL_PUBKEY_BYTES],
                                            const pl_store_device *current, size_t n_current,
                                            const pl_account_state *next, const uint8_t *add_record,
                                            uint32_t add_id, uint32_t remove_id, const char **why);

#endif
