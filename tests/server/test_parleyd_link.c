/*
 * test_parleyd_link.c: integration tests of the device-link rendezvous against a running
 * parleyd (PROTOCOL.md §11.3, LinkPut / LinkGet): offer and answer across two
 * unauthenticated connections, the entry gone once the answer was fetched, write-once slots,
 * empty and unknown slots, bad lengths, and the per-address LinkPut limit.
 */
#include <sodium.h>

#include "parleyd_test.h"
#include "server.h" /* PL_SERVER_LINK_PUTS_PER_MINUTE */

#define RDV_BYTES PL_WIRE_LINK_RENDEZVOUS_BYTES

static ph_server *srv;

static int group_setup(void **state)
{
    (void)state;
    srv = ph_start(NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (srv && srv->pid)
        ph_stop(srv);
    ph_free(srv);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ph_test_teardown(srv);
    return 0;
}

static wc_conn *connect_to(const ph_server *s)
{
    wc_conn *c = NULL;

    EXPECT(wc_connect(&c, s->port, s->cert_path), WC_OK);
    return c;
}

static void test_offer_and_answer(void **state)
{
    uint8_t rdv[RDV_BYTES], offer[300], answer[PL_WIRE_LINK_MAX_BLOB_BYTES];
    uint8_t got[PL_WIRE_LINK_MAX_BLOB_BYTES];
    double links = 0;
    size_t len;
    wc_conn *fresh, *approver;

    (void)state;
    ph_test_begin();
    randombytes_buf(rdv, sizeof rdv);
    randombytes_buf(offer, sizeof offer);
    randombytes_buf(answer, sizeof answer);
    fresh = connect_to(srv);    /* "parley link": no credentials yet */
    approver = connect_to(srv); /* "parley approve CODE" */
    /* The approver polls before the offer is there. */
    EXPECT(wo_link_get(approver, rdv, sizeof rdv, 0, got, sizeof got, &len), ST(NOT_FOUND));
    EXPECT(wo_link_put(fresh, rdv, sizeof rdv, 0, offer, sizeof offer), ST(OK));
    EXPECT(wo_link_get(approver, rdv, sizeof rdv, 0, got, sizeof got, &len), ST(OK));
    assert_int_equal(len, sizeof offer);
    assert_memory_equal(got, offer, sizeof offer);
    /* The new device polls for the answer. */
    EXPECT(wo_link_get(fresh, rdv, sizeof rdv, 1, got, sizeof got, &len), ST(NOT_FOUND));
    EXPECT(wo_link_put(approver, rdv, sizeof rdv, 1, answer, sizeof answer), ST(OK));
    EXPECT(wo_link_get(fresh, rdv, sizeof rdv, 1, got, sizeof got, &len), ST(OK));
    assert_int_equal(len, sizeof answer);
    assert_memory_equal(got, answer, sizeof answer);
    /* The link is complete: the entry is gone, both slots. */
    EXPECT(wo_link_get(fresh, rdv, sizeof rdv, 1, got, sizeof got, &len), ST(NOT_FOUND));
    EXPECT(wo_link_get(approver, rdv, sizeof rdv, 0, got, sizeof got, &len), ST(NOT_FOUND));
    /* Neither connection was ever authenticated, and both are still usable. */
    EXPECT(wo_ping(fresh), ST(OK));
    EXPECT(wo_ping(approver), ST(OK));
    assert_int_equal(ph_metric(srv, "parleyd_links_total", &links), 0);
    assert_true(links >= 1);
    wc_close(fresh);
    wc_close(approver);
    ph_test_end();
}

static void test_slot_taken(void **state)
{
    uint8_t rdv[RDV_BYTES], got[PL_WIRE_LINK_MAX_BLOB_BYTES];
    size_t len;
    wc_conn *c, *other;

    (void)state;
    ph_test_begin();
    randombytes_buf(rdv, sizeof rdv);
    c = connect_to(srv);
    other = connect_to(srv);
    EXPECT(wo_link_put(c, rdv, sizeof rdv, 0, (const uint8_t *)"offer-1", 7), ST(OK));
    EXPECT(wo_link_put(other, rdv, sizeof rdv, 0, (const uint8_t *)"offer-2", 7),
           ST(LINK_SLOT_TAKEN));
    EXPECT(wo_link_put(c, rdv, sizeof rdv, 0, (const uint8_t *)"offer-1", 7), ST(LINK_SLOT_TAKEN));
    /* Nothing changed. */
    EXPECT(wo_link_get(other, rdv, sizeof rdv, 0, got, sizeof got, &len), ST(OK));
    assert_int_equal(len, 7);
    assert_memory_equal(got, "offer-1", 7);
    /* Slot 1 is written once too, and the first answer is the one read. */
    EXPECT(wo_link_put(other, rdv, sizeof rdv, 1, (const uint8_t *)"answer-1", 8), ST(OK));
    EXPECT(wo_link_put(c, rdv, sizeof rdv, 1, (const uint8_t *)"answer-2", 8), ST(LINK_SLOT_TAKEN));
    EXPECT(wo_link_get(c, rdv, sizeof rdv, 1, got, sizeof got, &len), ST(OK));
    assert_memory_equal(got, "answer-1", 8);
    wc_close(c);
    wc_close(other);
    ph_test_end();
}

static void test_not_found(void **state)
{
    uint8_t rdv[RDV_BYTES], got[PL_WIRE_LINK_MAX_BLOB_BYTES];
    size_t len;
    wc_conn *c;

    (void)state;
    ph_test_begin();
    c = connect_to(srv);
    randombytes_buf(rdv, sizeof rdv);
    EXPECT(wo_link_get(c, rdv, sizeof rdv, 0, got, sizeof got, &len), ST(NOT_FOUND));
    EXPECT(wo_link_get(c, rdv, sizeof rdv, 1, got, sizeof got, &len), ST(NOT_FOUND));
    /* An answer written first: slot 0 stays empty. */
    EXPECT(wo_link_put(c, rdv, sizeof rdv, 1, (const uint8_t *)"answer", 6), ST(OK));
    EXPECT(wo_link_get(c, rdv, sizeof rdv, 0, got, sizeof got, &len), ST(NOT_FOUND));
    EXPECT(wo_link_get(c, rdv, sizeof rdv, 1, got, sizeof got, &len), ST(OK));
    wc_close(c);
    ph_test_end();
}

static void test_bad_lengths(void **state)
{
    uint8_t rdv[RDV_BYTES + 1], blob[PL_WIRE_LINK_MAX_BLOB_BYTES + 1], got[16];
    size_t len;
    wc_conn *c;

    (void)state;
    ph_test_begin();
    c = connect_to(srv);
    randombytes_buf(rdv, sizeof rdv);
    memset(blob, 0x42, sizeof blob);
    EXPECT(wo_link_put(c, rdv, 0, 0, blob, 10), ST(BAD_REQUEST));
    EXPECT(wo_link_put(c, rdv, RDV_BYTES - 1, 0, blob, 10), ST(BAD_REQUEST));
    EXPECT(wo_link_put(c, rdv, RDV_BYTES + 1, 0, blob, 10), ST(BAD_REQUEST));
    EXPECT(wo_link_put(c, rdv, RDV_BYTES, 2, blob, 10), ST(BAD_REQUEST));
    EXPECT(wo_link_put(c, rdv, RDV_BYTES, 0, blob, 0), ST(BAD_REQUEST));
    EXPECT(wo_link_put(c, rdv, RDV_BYTES, 0, blob, sizeof blob), ST(BAD_REQUEST));
    EXPECT(wo_link_get(c, rdv, 0, 0, got, sizeof got, &len), ST(BAD_REQUEST));
    EXPECT(wo_link_get(c, rdv, RDV_BYTES + 1, 0, got, sizeof got, &len), ST(BAD_REQUEST));
    EXPECT(wo_link_get(c, rdv, RDV_BYTES, 7, got, sizeof got, &len), ST(BAD_REQUEST));
    /* None of them wrote anything, and the connection stays open. */
    EXPECT(wo_link_get(c, rdv, RDV_BYTES, 0, got, sizeof got, &len), ST(NOT_FOUND));
    EXPECT(wo_ping(c), ST(OK));
    wc_close(c);
    ph_test_end();
}

/* On a server of its own, so the other tests' puts do not count against the address. */
static void test_put_rate_limit(void **state)
{
    ph_server *own;
    uint8_t rdv[RDV_BYTES], got[16];
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__LinkPut body = PARLEY__LINK_PUT__INIT;
    Parley__ServerFrame *f = NULL;
    size_t len;
    wc_conn *c, *other;

    (void)state;
    ph_test_begin();
    own = ph_start(NULL);
    c = connect_to(own);
    other = connect_to(own);
    for (uint32_t i = 0; i < PL_SERVER_LINK_PUTS_PER_MINUTE; i++) {
        randombytes_buf(rdv, sizeof rdv);
        EXPECT(wo_link_put(i % 2 ? c : other, rdv, sizeof rdv, 0, (const uint8_t *)"x", 1), ST(OK));
    }
    /* The limit is per address, not per connection; it says when to retry. */
    randombytes_buf(rdv, sizeof rdv);
    body.rendezvous.data = rdv;
    body.rendezvous.len = sizeof rdv;
    body.blob.data = (uint8_t *)"x";
    body.blob.len = 1;
    req.body_case = PARLEY__REQUEST__BODY_LINK_PUT;
    req.link_put = &body;
    EXPECT(wc_request(c, &req, &f, 5000), WC_OK);
    EXPECT(wc_status(f), ST(RATE_LIMITED));
    assert_true(f->response->status->retry_after_ms > 0);
    assert_true(f->response->status->retry_after_ms <= 60000);
    pl_frame_server_free(f);
    /* Refused before the table: nothing was stored. Gets are not limited. */
    EXPECT(wo_link_get(other, rdv, sizeof rdv, 0, got, sizeof got, &len), ST(NOT_FOUND));
    EXPECT(wo_link_put(other, rdv, sizeof rdv, 0, (const uint8_t *)"x", 1), ST(RATE_LIMITED));
    wc_close(c);
    wc_close(other);
    ph_stop(own);
    ph_free(own);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_offer_and_answer, teardown),
        cmocka_unit_test_teardown(test_slot_taken, teardown),
        cmocka_unit_test_teardown(test_not_found, teardown),
        cmocka_unit_test_teardown(test_bad_lengths, teardown),
        cmocka_unit_test_teardown(test_put_rate_limit, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
