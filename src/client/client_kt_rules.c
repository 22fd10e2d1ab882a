/*
 * client_kt_rules.c: the client rules of PROTOCOL.md §25 as pure functions over values that
 * were already verified (a lookup result, a stored state verified again), so each rule is
 * tested on hand-built states without a server (tests/client/test_client_kt_rules.c).
 */
#include <string.h>

#include <sodium.h>

#include "client_kt.h"

int cl_kt_rule_version(int has_last, uint32_t last_version,
                       const uint8_t last_hash[PL_ACCOUNT_STATE_HASH_BYTES], uint32_t version,
                       const uint8_t hash[PL_ACCOUNT_STATE_HASH_BYTES])
{
    if (!has_last)
        return CL_KT_RULE_OK;
    if (version < last_version)
        return CL_KT_RULE_ROLLBACK;
    /* The log commits to each label-version once: the same version must be the same state. */
    if (version == last_version && sodium_memcmp(hash, last_hash, PL_ACCOUNT_STATE_HASH_BYTES) != 0)
        return CL_KT_RULE_EQUIVOCATION;
    return CL_KT_RULE_OK;
}

int cl_kt_rule_own_step(const uint8_t own_key[PL_PUBKEY_BYTES], const pl_account_state *prev,
                        const uint8_t prev_hash[PL_ACCOUNT_STATE_HASH_BYTES],
                        const pl_account_state *next)
{
    if (sodium_memcmp(next->account_key, own_key, PL_PUBKEY_BYTES) != 0)
        return CL_KT_RULE_OWN_KEY;
    if (!prev)
        return next->seq == 0 ? CL_KT_RULE_OK : CL_KT_RULE_OWN_CHAIN;
    switch (pl_account_state_extends(prev, prev_hash, next)) {
    case PL_OK:
        return CL_KT_RULE_OK;
    case PL_E_IDENTITY_MISMATCH:
        return CL_KT_RULE_OWN_KEY;
    default:
        return CL_KT_RULE_OWN_CHAIN;
    }
}

int cl_kt_state_has_device(const pl_account_state *s, uint32_t device_id,
                           const uint8_t identity_key[PL_PUBKEY_BYTES])
{
    for (size_t i = 0; i < s->n_devices && i < PL_ACCOUNT_STATE_MAX_DEVICES; i++)
        if (s->devices[i].device_id == device_id)
            return sodium_memcmp(s->devices[i].identity_key, identity_key, PL_PUBKEY_BYTES) == 0;
    return 0;
}

const char *cl_kt_view_reason_str(pl_kt_view_reason r)
{
    switch (r) {
    case PL_KT_VIEW_MALFORMED:
        return "malformed checkpoint";
    case PL_KT_VIEW_BAD_SIGNATURE:
        return "bad log signature";
    case PL_KT_VIEW_WRONG_ORIGIN:
        return "wrong origin";
    case PL_KT_VIEW_NO_QUORUM:
        return "no witness quorum";
    case PL_KT_VIEW_STALE:
        return "stale cosignatures";
    case PL_KT_VIEW_FROM_THE_FUTURE:
        return "cosignatures from the future";
    case PL_KT_VIEW_ROLLBACK:
        return "rollback";
    case PL_KT_VIEW_FORK:
        return "fork";
    case PL_KT_VIEW_BAD_CONSISTENCY:
        return "bad consistency proof";
    case PL_KT_VIEW_NONE:
    default:
        return "refused";
    }
}

int cl_kt_view_reason_transient(pl_kt_view_reason r)
{
    return r == PL_KT_VIEW_NO_QUORUM || r == PL_KT_VIEW_STALE || r == PL_KT_VIEW_FROM_THE_FUTURE;
}
