/*
 * test_group_fork.c: the rule that makes two sibling group changes converge
 * (cl_group_sibling_order, client_group_devices.c, PROTOCOL.md §32.2): two state encodings
 * equal but for last_change_hash are siblings, the smaller hash wins on both sides; any
 * other difference is no sibling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client_group_devices.h"

#define AT 23u /* last_change_hash in a state's encoding (§30.1) */

static void state(uint8_t s[100], uint8_t hash_byte)
{
    for (size_t i = 0; i < 100; i++)
        s[i] = (uint8_t)(i * 7);
    memset(s + AT, hash_byte, 32);
}

static void the_smaller_change_hash_wins_on_both_sides(void **st)
{
    uint8_t a[100], b[100];

    (void)st;
    state(a, 0x10);
    state(b, 0x20);
    assert_int_equal(cl_group_sibling_order(a, 100, b, 100), CL_GROUP_SIBLING_KEEP);
    assert_int_equal(cl_group_sibling_order(b, 100, a, 100), CL_GROUP_SIBLING_ADOPT);
    /* The last byte of the hash decides too. */
    state(b, 0x10);
    b[AT + 31] = 0x0f;
    assert_int_equal(cl_group_sibling_order(a, 100, b, 100), CL_GROUP_SIBLING_ADOPT);
    /* The same state: kept. */
    assert_int_equal(cl_group_sibling_order(a, 100, a, 100), CL_GROUP_SIBLING_KEEP);
}

static void any_other_difference_is_no_sibling(void **st)
{
    uint8_t a[100], b[100];

    (void)st;
    state(a, 0x10);
    for (size_t i = 0; i < 100; i++) {
        if (i >= AT && i < AT + 32)
            continue;
        state(b, 0x20);
        b[i] ^= 1;
        if (cl_group_sibling_order(a, 100, b, 100) != CL_GROUP_SIBLING_NOT)
            fail_msg("a difference at byte %zu was taken for a sibling", i);
    }
    state(b, 0x20);
    assert_int_equal(cl_group_sibling_order(a, 100, b, 99), CL_GROUP_SIBLING_NOT);
    assert_int_equal(cl_group_sibling_order(a, 40, b, 40), CL_GROUP_SIBLING_NOT);
    assert_int_equal(cl_group_sibling_order(a, 10, b, 10), CL_GROUP_SIBLING_NOT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_smaller_change_hash_wins_on_both_sides),
        cmocka_unit_test(any_other_difference_is_no_sibling),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
