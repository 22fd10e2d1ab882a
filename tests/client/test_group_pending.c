/*
 * test_group_pending.c: the bound on sender keys kept for groups this device does not know
 * yet (client_group_pending.c, PROTOCOL.md §32.3): the pure list (append once, oldest out
 * beyond the bound) and, on a real store, that a sender filling it loses its oldest chains,
 * that another sender is counted apart, and that a chain of a group joined since is kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client_group_devices.h"
#include "cstore_fixture.h"
#include "testutil.h"

void cl_group_rx_name(char out[64], const uint8_t group_id[16], const char *user, uint32_t dev);

static void entry(uint8_t e[CL_GROUP_PENDING_ENTRY], uint8_t group, uint32_t device)
{
    memset(e, group, 16);
    e[16] = (uint8_t)(device >> 24);
    e[17] = (uint8_t)(device >> 16);
    e[18] = (uint8_t)(device >> 8);
    e[19] = (uint8_t)device;
}

static void list_appends_once_and_drops_the_oldest(void **state)
{
    uint8_t list[4 * CL_GROUP_PENDING_ENTRY], e[CL_GROUP_PENDING_ENTRY];
    uint8_t out[CL_GROUP_PENDING_ENTRY], want[CL_GROUP_PENDING_ENTRY];
    size_t n = 0;
    int ev = -1;

    (void)state;
    for (uint8_t g = 1; g <= 3; g++) {
        entry(e, g, 7);
        n = cl_group_pending_add(list, n, 3, e, out, &ev);
        assert_int_equal(ev, 0);
        assert_int_equal(n, g);
    }
    /* Already there: nothing changes. */
    entry(e, 2, 7);
    assert_int_equal(cl_group_pending_add(list, n, 3, e, out, &ev), 3);
    assert_int_equal(ev, 0);
    /* Same group, another device: a new entry; the oldest (group 1) goes. */
    entry(e, 2, 8);
    n = cl_group_pending_add(list, n, 3, e, out, &ev);
    assert_int_equal(n, 3);
    assert_int_equal(ev, 1);
    entry(want, 1, 7);
    assert_memory_equal(out, want, CL_GROUP_PENDING_ENTRY);
    entry(want, 2, 7);
    assert_memory_equal(list, want, CL_GROUP_PENDING_ENTRY);
    entry(want, 2, 8);
    assert_memory_equal(list + 2 * CL_GROUP_PENDING_ENTRY, want, CL_GROUP_PENDING_ENTRY);
}

static int has_secret(fixture *f, const char *name)
{
    uint8_t *b = NULL;
    size_t len = 0;
    int r = pl_cstore_secret_get(f->s, name, &b, &len);

    pl_cstore_free_secret(b, len);
    return r == PL_CSTORE_OK;
}

/* What store_key does for a chain of an unknown group: note it, then store it. */
static void store_chain(pl_client *c, fixture *f, const char *sender, const uint8_t gid[16],
                        uint32_t device)
{
    char name[64];

    assert_int_equal(cl_group_pending_note(c, sender, gid, device), PL_CLIENT_OK);
    cl_group_rx_name(name, gid, sender, device);
    RC(pl_cstore_secret_put(f->s, name, (const uint8_t *)"chain", 5), PL_CSTORE_OK);
}

static void a_sender_cannot_fill_the_store(void **state)
{
    fixture *f = *state;
    pl_client *c = calloc(1, sizeof *c);
    uint8_t gid[16], joined[16];
    char name[64];
    const uint32_t total = CL_GROUP_PENDING_MAX + 8;

    assert_non_null(c);
    cs_create(f, NULL);
    c->store = f->s;
    /* mallory's chain of a group we then join is kept whatever follows. */
    memset(joined, 0xee, sizeof joined);
    store_chain(c, f, "mallory", joined, 1);
    {
        pl_cstore_group g;

        memset(&g, 0, sizeof g);
        memcpy(g.group_id, joined, 16);
        strcpy(g.name, "real");
        RC(pl_cstore_group_add(f->s, &g), PL_CSTORE_OK);
    }
    for (uint32_t i = 0; i < total; i++) {
        memset(gid, 0, sizeof gid);
        memcpy(gid, &i, sizeof i);
        store_chain(c, f, "mallory", gid, 1);
    }
    /* eve's one chain counts for eve only. */
    memset(gid, 0x55, sizeof gid);
    store_chain(c, f, "eve", gid, 3);
    for (uint32_t i = 0; i < total; i++) {
        memset(gid, 0, sizeof gid);
        memcpy(gid, &i, sizeof i);
        cl_group_rx_name(name, gid, "mallory", 1);
        if (has_secret(f, name) != (i >= total - CL_GROUP_PENDING_MAX))
            fail_msg("chain %u of %u: kept %d", i, total, has_secret(f, name));
    }
    cl_group_rx_name(name, joined, "mallory", 1);
    assert_true(has_secret(f, name));
    memset(gid, 0x55, sizeof gid);
    cl_group_rx_name(name, gid, "eve", 3);
    assert_true(has_secret(f, name));
    /* The list itself stays bounded. */
    {
        uint8_t *b = NULL;
        size_t len = 0;

        RC(pl_cstore_secret_get(f->s, "gkp/mallory", &b, &len), PL_CSTORE_OK);
        assert_int_equal(len, CL_GROUP_PENDING_MAX * CL_GROUP_PENDING_ENTRY);
        pl_cstore_free_secret(b, len);
    }
    /* A damaged list starts again: it never makes us keep more. */
    RC(pl_cstore_secret_put(f->s, "gkp/mallory", (const uint8_t *)"xyz", 3), PL_CSTORE_OK);
    memset(gid, 0x77, sizeof gid);
    store_chain(c, f, "mallory", gid, 2);
    {
        uint8_t *b = NULL;
        size_t len = 0;

        RC(pl_cstore_secret_get(f->s, "gkp/mallory", &b, &len), PL_CSTORE_OK);
        assert_int_equal(len, CL_GROUP_PENDING_ENTRY);
        pl_cstore_free_secret(b, len);
    }
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list_appends_once_and_drops_the_oldest),
        cmocka_unit_test_setup_teardown(a_sender_cannot_fill_the_store, cs_setup, cs_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
