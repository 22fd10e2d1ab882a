/*
 * test_link_table.c: the device-link rendezvous table (src/server/link_table.c): offer and
 * answer, write-once slots, deletion after the answer is read, expiry by the clock passed
 * in, the entry bound, and probe runs staying intact under deletion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "link_table.h"

#define T0 UINT64_C(5000000000)
#define TTL_NS ((uint64_t)PL_LINK_TTL_MS * 1000000u)

static uint8_t out[PL_WIRE_LINK_MAX_BLOB_BYTES];

/* Rendezvous id number n. */
static void rdv(uint8_t r[PL_WIRE_LINK_RENDEZVOUS_BYTES], uint32_t n)
{
    memset(r, 0xa5, PL_WIRE_LINK_RENDEZVOUS_BYTES);
    memcpy(r, &n, sizeof n);
}

static int put(pl_link_table *t, uint32_t n, uint32_t slot, const char *blob, uint64_t now)
{
    uint8_t r[PL_WIRE_LINK_RENDEZVOUS_BYTES];
    uint32_t retry = 99;
    int rc;

    rdv(r, n);
    rc = pl_link_table_put(t, r, slot, (const uint8_t *)blob, strlen(blob), now, &retry);
    if (rc != PL_LINK_E_FULL)
        assert_int_equal(retry, 0);
    return rc;
}

/* Gets slot of entry n and, if found, checks it holds `want`. */
static int get(pl_link_table *t, uint32_t n, uint32_t slot, const char *want, uint64_t now)
{
    uint8_t r[PL_WIRE_LINK_RENDEZVOUS_BYTES];
    size_t len = 99;
    int rc;

    rdv(r, n);
    rc = pl_link_table_get(t, r, slot, now, out, &len);
    if (rc == PL_LINK_OK) {
        assert_int_equal(len, strlen(want));
        assert_memory_equal(out, want, len);
    } else {
        assert_int_equal(len, 0);
    }
    return rc;
}

static int setup(void **state)
{
    pl_link_table *t = malloc(sizeof *t);

    assert_non_null(t);
    assert_int_equal(pl_link_table_init(t), 0);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    pl_link_table_free(*state);
    free(*state);
    return 0;
}

static void offer_then_answer_then_gone(void **state)
{
    pl_link_table *t = *state;

    assert_int_equal(get(t, 1, 0, "", T0), PL_LINK_E_NOT_FOUND);
    assert_int_equal(put(t, 1, 0, "offer", T0), PL_LINK_OK);
    assert_int_equal(t->count, 1);
    assert_int_equal(get(t, 1, 0, "offer", T0 + 1), PL_LINK_OK);
    assert_int_equal(get(t, 1, 0, "offer", T0 + 2), PL_LINK_OK); /* slot 0: read any time */
    assert_int_equal(get(t, 1, 1, "", T0 + 3), PL_LINK_E_NOT_FOUND);
    assert_int_equal(get(t, 2, 0, "", T0 + 3), PL_LINK_E_NOT_FOUND);
    assert_int_equal(put(t, 1, 1, "answer", T0 + 4), PL_LINK_OK);
    assert_int_equal(t->count, 1);
    assert_int_equal(get(t, 1, 1, "answer", T0 + 5), PL_LINK_OK);
    /* The answer was read: the whole entry is gone. */
    assert_int_equal(t->count, 0);
    assert_int_equal(get(t, 1, 1, "", T0 + 6), PL_LINK_E_NOT_FOUND);
    assert_int_equal(get(t, 1, 0, "", T0 + 6), PL_LINK_E_NOT_FOUND);
}

static void slots_are_written_once(void **state)
{
    pl_link_table *t = *state;
    uint8_t big[PL_WIRE_LINK_MAX_BLOB_BYTES], r[PL_WIRE_LINK_RENDEZVOUS_BYTES];
    uint32_t retry;
    size_t len;

    assert_int_equal(put(t, 7, 0, "first", T0), PL_LINK_OK);
    assert_int_equal(put(t, 7, 0, "second", T0 + 1), PL_LINK_E_TAKEN);
    assert_int_equal(get(t, 7, 0, "first", T0 + 2), PL_LINK_OK);
    /* An answer may come first; it creates the entry too. */
    assert_int_equal(put(t, 8, 1, "answer", T0), PL_LINK_OK);
    assert_int_equal(put(t, 8, 1, "again", T0), PL_LINK_E_TAKEN);
    assert_int_equal(put(t, 8, 0, "offer", T0), PL_LINK_OK);
    assert_int_equal(t->count, 2);
    /* The largest blob round-trips whole. */
    memset(big, 0x3c, sizeof big);
    big[sizeof big - 1] = 0x01;
    rdv(r, 9);
    assert_int_equal(pl_link_table_put(t, r, 0, big, sizeof big, T0, &retry), PL_LINK_OK);
    assert_int_equal(pl_link_table_get(t, r, 0, T0, out, &len), PL_LINK_OK);
    assert_int_equal(len, sizeof big);
    assert_memory_equal(out, big, sizeof big);
}

static void entries_expire_from_their_first_put(void **state)
{
    pl_link_table *t = *state;

    assert_int_equal(put(t, 1, 0, "offer", T0), PL_LINK_OK);
    assert_int_equal(put(t, 2, 0, "later", T0 + TTL_NS / 2), PL_LINK_OK);
    /* A later put to the other slot does not extend the entry's life. */
    assert_int_equal(put(t, 1, 1, "answer", T0 + TTL_NS - 10), PL_LINK_OK);
    assert_int_equal(get(t, 1, 0, "offer", T0 + TTL_NS - 1), PL_LINK_OK);
    assert_int_equal(get(t, 1, 0, "", T0 + TTL_NS), PL_LINK_E_NOT_FOUND);
    assert_int_equal(get(t, 1, 1, "", T0 + TTL_NS), PL_LINK_E_NOT_FOUND);
    /* Expired but not swept: a put starts a fresh entry, its slots empty. */
    assert_int_equal(put(t, 1, 1, "new answer", T0 + TTL_NS + 1), PL_LINK_OK);
    assert_int_equal(get(t, 1, 0, "", T0 + TTL_NS + 2), PL_LINK_E_NOT_FOUND);
    assert_int_equal(t->count, 2);
    /* The sweep frees what is due and nothing else. */
    assert_int_equal(pl_link_table_expire(t, T0 + TTL_NS + 2), 0);
    assert_int_equal(pl_link_table_expire(t, T0 + TTL_NS / 2 + TTL_NS), 1);
    assert_int_equal(t->count, 1);
    assert_int_equal(get(t, 2, 0, "", T0 + TTL_NS / 2 + TTL_NS), PL_LINK_E_NOT_FOUND);
    assert_int_equal(get(t, 1, 1, "new answer", T0 + TTL_NS + 40), PL_LINK_OK);
    assert_int_equal(t->count, 0);
}

static void the_table_is_bounded(void **state)
{
    pl_link_table *t = *state;
    uint8_t r[PL_WIRE_LINK_RENDEZVOUS_BYTES];
    uint32_t retry = 0;

    for (uint32_t i = 0; i < PL_LINK_MAX_ENTRIES; i++)
        assert_int_equal(put(t, i, 0, "offer", T0 + i), PL_LINK_OK);
    assert_int_equal(t->count, PL_LINK_MAX_ENTRIES);
    /* A new entry is refused, with the time until the oldest one expires. */
    rdv(r, PL_LINK_MAX_ENTRIES);
    assert_int_equal(pl_link_table_put(t, r, 0, (const uint8_t *)"x", 1, T0 + TTL_NS / 2, &retry),
                     PL_LINK_E_FULL);
    assert_int_equal(retry, PL_LINK_TTL_MS / 2);
    assert_int_equal(get(t, PL_LINK_MAX_ENTRIES, 0, "", T0), PL_LINK_E_NOT_FOUND);
    /* An existing entry still takes its answer. */
    assert_int_equal(put(t, 5, 1, "answer", T0 + 10), PL_LINK_OK);
    /* Reading an answer makes room. */
    assert_int_equal(get(t, 5, 1, "answer", T0 + 11), PL_LINK_OK);
    assert_int_equal(put(t, PL_LINK_MAX_ENTRIES, 0, "x", T0 + 12), PL_LINK_OK);
    assert_int_equal(put(t, PL_LINK_MAX_ENTRIES + 1, 0, "y", T0 + 13), PL_LINK_E_FULL);
    /* So does the sweep: entry 0 (created at T0) expires first. */
    assert_int_equal(pl_link_table_expire(t, T0 + TTL_NS), 1);
    assert_int_equal(put(t, PL_LINK_MAX_ENTRIES + 1, 0, "y", T0 + TTL_NS), PL_LINK_OK);
    assert_int_equal(pl_link_table_expire(t, T0 + 2 * TTL_NS), PL_LINK_MAX_ENTRIES);
    assert_int_equal(t->count, 0);
}

/* Deleting from the middle of probe runs, in a scrambled order, never loses an entry. */
static void deletion_keeps_every_run_reachable(void **state)
{
    pl_link_table *t = *state;
    static uint8_t live[PL_LINK_MAX_ENTRIES];
    char blob[16];
    uint32_t n = PL_LINK_MAX_ENTRIES;

    for (uint32_t i = 0; i < n; i++) {
        snprintf(blob, sizeof blob, "b%u", (unsigned)i);
        assert_int_equal(put(t, i, 0, blob, T0), PL_LINK_OK);
        assert_int_equal(put(t, i, 1, blob, T0), PL_LINK_OK);
        live[i] = 1;
    }
    for (uint32_t round = 0; round < 3; round++) {
        /* Delete about a third, by reading their answers, in an order set by a multiplier. */
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = (k * 2654435761u + round) % n;

            if (live[i] && (i + round) % 3 == 0) {
                snprintf(blob, sizeof blob, "b%u", (unsigned)i);
                assert_int_equal(get(t, i, 1, blob, T0 + 10 * round + 1), PL_LINK_OK);
                live[i] = 0;
            }
        }
        for (uint32_t i = 0; i < n; i++) {
            snprintf(blob, sizeof blob, "b%u", (unsigned)i);
            if (live[i])
                assert_int_equal(get(t, i, 0, blob, T0 + 10 * round + 2), PL_LINK_OK);
            else
                assert_int_equal(get(t, i, 0, "", T0 + 10 * round + 2), PL_LINK_E_NOT_FOUND);
        }
        /* Put the deleted ones back, so the next round deletes from fuller runs. */
        for (uint32_t i = 0; i < n; i++) {
            if (!live[i]) {
                snprintf(blob, sizeof blob, "b%u", (unsigned)i);
                assert_int_equal(put(t, i, 0, blob, T0 + 10 * round + 3), PL_LINK_OK);
                assert_int_equal(put(t, i, 1, blob, T0 + 10 * round + 3), PL_LINK_OK);
                live[i] = 1;
            }
        }
        assert_int_equal(t->count, n);
    }
    /* The sweep in the middle of runs: half the entries are older. */
    for (uint32_t i = 0; i < n; i += 2) {
        snprintf(blob, sizeof blob, "b%u", (unsigned)i);
        assert_int_equal(get(t, i, 1, blob, T0 + 40), PL_LINK_OK);
        assert_int_equal(put(t, i, 0, blob, T0 + TTL_NS / 2), PL_LINK_OK);
    }
    assert_int_equal(pl_link_table_expire(t, T0 + TTL_NS + 40), n / 2);
    for (uint32_t i = 0; i < n; i++) {
        snprintf(blob, sizeof blob, "b%u", (unsigned)i);
        assert_int_equal(get(t, i, 0, i % 2 ? "" : blob, T0 + TTL_NS + 40),
                         i % 2 ? PL_LINK_E_NOT_FOUND : PL_LINK_OK);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(offer_then_answer_then_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(slots_are_written_once, setup, teardown),
        cmocka_unit_test_setup_teardown(entries_expire_from_their_first_put, setup, teardown),
        cmocka_unit_test_setup_teardown(the_table_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(deletion_keeps_every_run_reachable, setup, teardown),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
