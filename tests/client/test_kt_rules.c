/*
 * test_kt_rules.c: the client rules of PROTOCOL.md §25 (client_kt_rules.c) on hand-built,
 * really signed account states: no rollback and no equivocation for any label, and for our
 * own label the chain (same account key, seq + 1, the previous state's hash), plus the stable
 * strings the CLI and the adversarial harness read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "client_kt.h"
#include "testutil.h"

typedef struct chain {
    pl_account *acct;
    uint8_t key[PL_PUBKEY_BYTES];
    uint8_t rec[3][PL_DEVICE_RECORD_BYTES];
    uint8_t raw[4][PL_ACCOUNT_STATE_MAX_BYTES];
    size_t len[4];
    pl_account_state st[4];
    uint8_t hash[4][PL_ACCOUNT_STATE_HASH_BYTES];
} chain;

/* Signs a state of seq with records rec[0..n) after prev_hash into slot i. */
static void make_state(chain *c, int i, uint32_t seq, const uint8_t *prev_hash, size_t n,
                       const uint8_t (*recs)[PL_DEVICE_RECORD_BYTES])
{
    assert_int_equal(pl_account_state_sign(c->acct, seq, prev_hash, 1700000000000ull + seq, 1, recs,
                                           n, c->raw[i], sizeof c->raw[i], &c->len[i]),
                     PL_OK);
    assert_int_equal(pl_account_state_verify(c->raw[i], c->len[i], &c->st[i]), PL_OK);
    pl_account_state_hash(c->raw[i], c->len[i], c->hash[i]);
}

/* st[0]: seq 0 {1}; st[1]: seq 1 {1, 2} after st[0]; st[2]: seq 1 {1, 3} after st[0] (a fork
 * of st[1]); st[3]: seq 2 {1} after st[1]. */
static void make_chain(chain *c)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(pl_account_generate(&c->acct, NULL), PL_OK);
    pl_account_public_key(c->acct, c->key);
    for (uint32_t d = 0; d < 3; d++) {
        uint8_t idk[PL_PUBKEY_BYTES];
        pl_device *dev = NULL;

        assert_int_equal(pl_device_generate(&dev, NULL, d + 1), PL_OK);
        pl_device_identity_key(dev, idk);
        assert_int_equal(pl_account_sign_device(c->acct, d + 1, idk, 1700000000u, c->rec[d]),
                         PL_OK);
        pl_device_free(dev);
    }
    make_state(c, 0, 0, NULL, 1, (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])c->rec);
    make_state(c, 1, 1, c->hash[0], 2, (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])c->rec);
    {
        uint8_t two[2][PL_DEVICE_RECORD_BYTES];

        memcpy(two[0], c->rec[0], PL_DEVICE_RECORD_BYTES);
        memcpy(two[1], c->rec[2], PL_DEVICE_RECORD_BYTES);
        make_state(c, 2, 1, c->hash[0], 2, (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])two);
    }
    make_state(c, 3, 2, c->hash[1], 1, (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])c->rec);
}

static void version_rule_table(void **state)
{
    chain c;

    (void)state;
    make_chain(&c);
    /* 1: nothing verified before: anything goes */
    assert_int_equal(cl_kt_rule_version(0, 0, NULL, 0, c.hash[0]), CL_KT_RULE_OK);
    /* 2: a higher version */
    assert_int_equal(cl_kt_rule_version(1, 0, c.hash[0], 1, c.hash[1]), CL_KT_RULE_OK);
    /* 3: the same version, the same state */
    assert_int_equal(cl_kt_rule_version(1, 1, c.hash[1], 1, c.hash[1]), CL_KT_RULE_OK);
    /* 4: a lower version: rollback */
    assert_int_equal(cl_kt_rule_version(1, 2, c.hash[3], 1, c.hash[1]), CL_KT_RULE_ROLLBACK);
    /* 5: version 0 after version 1 */
    assert_int_equal(cl_kt_rule_version(1, 1, c.hash[1], 0, c.hash[0]), CL_KT_RULE_ROLLBACK);
    /* 6: the same version, another state: equivocation */
    assert_int_equal(cl_kt_rule_version(1, 1, c.hash[1], 1, c.hash[2]), CL_KT_RULE_EQUIVOCATION);
    pl_account_free(c.acct);
}

static void own_chain_steps(void **state)
{
    chain c, other;

    (void)state;
    make_chain(&c);
    make_chain(&other);
    /* From nothing: only version 0. */
    assert_int_equal(cl_kt_rule_own_step(c.key, NULL, NULL, &c.st[0]), CL_KT_RULE_OK);
    assert_int_equal(cl_kt_rule_own_step(c.key, NULL, NULL, &c.st[1]), CL_KT_RULE_OWN_CHAIN);
    /* Each step of the honest chain. */
    assert_int_equal(cl_kt_rule_own_step(c.key, &c.st[0], c.hash[0], &c.st[1]), CL_KT_RULE_OK);
    assert_int_equal(cl_kt_rule_own_step(c.key, &c.st[1], c.hash[1], &c.st[3]), CL_KT_RULE_OK);
    /* A gap (0 -> 2), a fork (st[2] then st[3], which names st[1]), a replay (1 -> 1). */
    assert_int_equal(cl_kt_rule_own_step(c.key, &c.st[0], c.hash[0], &c.st[3]),
                     CL_KT_RULE_OWN_CHAIN);
    assert_int_equal(cl_kt_rule_own_step(c.key, &c.st[2], c.hash[2], &c.st[3]),
                     CL_KT_RULE_OWN_CHAIN);
    assert_int_equal(cl_kt_rule_own_step(c.key, &c.st[1], c.hash[1], &c.st[1]),
                     CL_KT_RULE_OWN_CHAIN);
    /* Another account key, from nothing or after our own state. */
    assert_int_equal(cl_kt_rule_own_step(c.key, NULL, NULL, &other.st[0]), CL_KT_RULE_OWN_KEY);
    assert_int_equal(cl_kt_rule_own_step(c.key, &c.st[0], c.hash[0], &other.st[1]),
                     CL_KT_RULE_OWN_KEY);
    /* A state of another account that extends ours in form is still not ours. */
    assert_int_equal(cl_kt_rule_own_step(other.key, &c.st[0], c.hash[0], &c.st[1]),
                     CL_KT_RULE_OWN_KEY);
    pl_account_free(c.acct);
    pl_account_free(other.acct);
}

static void devices_of_a_state(void **state)
{
    chain c;
    uint8_t wrong[PL_PUBKEY_BYTES];

    (void)state;
    make_chain(&c);
    assert_int_equal(cl_kt_state_has_device(&c.st[1], 1, c.st[1].devices[0].identity_key), 1);
    assert_int_equal(cl_kt_state_has_device(&c.st[1], 2, c.st[1].devices[1].identity_key), 1);
    /* Device 3 is not in st[1]; device 2 with device 1's key is not device 2. */
    assert_int_equal(cl_kt_state_has_device(&c.st[1], 3, c.st[2].devices[1].identity_key), 0);
    assert_int_equal(cl_kt_state_has_device(&c.st[1], 2, c.st[1].devices[0].identity_key), 0);
    memcpy(wrong, c.st[1].devices[0].identity_key, sizeof wrong);
    wrong[5] ^= 1;
    assert_int_equal(cl_kt_state_has_device(&c.st[1], 1, wrong), 0);
    {
        cl_kt_state ks;
        cl_device_list dl;

        memset(&ks, 0, sizeof ks);
        ks.state = c.st[1];
        cl_kt_to_device_list(&ks, &dl);
        assert_int_equal(dl.n, 2);
        assert_memory_equal(dl.account_key, c.key, PL_PUBKEY_BYTES);
        assert_memory_equal(dl.raw[1], c.rec[1], PL_DEVICE_RECORD_BYTES);
        assert_int_equal(dl.records[1].device_id, 2);
    }
    pl_account_free(c.acct);
}

static void view_reasons_are_stable(void **state)
{
    (void)state;
    assert_string_equal(cl_kt_view_reason_str(PL_KT_VIEW_FORK), "fork");
    assert_string_equal(cl_kt_view_reason_str(PL_KT_VIEW_ROLLBACK), "rollback");
    assert_string_equal(cl_kt_view_reason_str(PL_KT_VIEW_BAD_CONSISTENCY), "bad consistency proof");
    assert_string_equal(cl_kt_view_reason_str(PL_KT_VIEW_STALE), "stale cosignatures");
    assert_true(cl_kt_view_reason_transient(PL_KT_VIEW_STALE));
    assert_true(cl_kt_view_reason_transient(PL_KT_VIEW_NO_QUORUM));
    assert_true(cl_kt_view_reason_transient(PL_KT_VIEW_FROM_THE_FUTURE));
    assert_false(cl_kt_view_reason_transient(PL_KT_VIEW_FORK));
    assert_false(cl_kt_view_reason_transient(PL_KT_VIEW_ROLLBACK));
    assert_false(cl_kt_view_reason_transient(PL_KT_VIEW_BAD_SIGNATURE));
    assert_string_equal(pl_client_errname(PL_CLIENT_E_KT_PROOF), "PL_CLIENT_E_KT_PROOF");
    assert_string_equal(pl_client_errname(PL_CLIENT_E_KT_BLOCKED), "PL_CLIENT_E_KT_BLOCKED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_rule_table),
        cmocka_unit_test(own_chain_steps),
        cmocka_unit_test(devices_of_a_state),
        cmocka_unit_test(view_reasons_are_stable),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
