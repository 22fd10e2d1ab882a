/*
 * test_content_receipt.c: the check of a received receipt (cl_content_parse and
 * cl_receipt_check, PROTOCOL.md §28): a known kind, 1..CL_RECEIPT_IDS_MAX ids of exactly 16
 * bytes, no text; anything else is refused as a whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client_internal.h"

/* Packs a Content {id, text, receipt{kind, n ids of id_len bytes}} and parses it. */
static int parse(const char *text, int kind, size_t n, size_t id_len)
{
    Parley__Content ct = PARLEY__CONTENT__INIT;
    Parley__Receipt rc = PARLEY__RECEIPT__INIT;
    ProtobufCBinaryData *ids = calloc(n ? n : 1, sizeof *ids);
    uint8_t id[16] = {1}, *bytes = calloc(n ? n : 1, 16), *buf;
    Parley__Content *out = NULL;
    size_t len;
    int r;

    assert_non_null(ids);
    assert_non_null(bytes);
    for (size_t i = 0; i < n; i++) {
        ids[i].data = bytes;
        ids[i].len = id_len;
    }
    ct.message_id.data = id;
    ct.message_id.len = 16;
    ct.text = (char *)text;
    rc.kind = (Parley__Receipt__Kind)kind;
    rc.n_message_ids = n;
    rc.message_ids = ids;
    ct.receipt = &rc;
    len = parley__content__get_packed_size(&ct);
    buf = malloc(len);
    assert_non_null(buf);
    parley__content__pack(&ct, buf);
    r = cl_content_parse(buf, len, &out);
    if (r == 0) {
        assert_non_null(out->receipt);
        assert_int_equal(out->receipt->n_message_ids, n);
    } else {
        assert_null(out);
    }
    parley__content__free_unpacked(out, NULL);
    free(buf);
    free(bytes);
    free(ids);
    return r;
}

static void receipts_are_checked(void **state)
{
    (void)state;
    assert_int_equal(parse("", PARLEY__RECEIPT__KIND__DELIVERED, 1, 16), 0);
    assert_int_equal(parse("", PARLEY__RECEIPT__KIND__READ, CL_RECEIPT_IDS_MAX, 16), 0);
    assert_int_equal(parse("", PARLEY__RECEIPT__KIND__READ, CL_RECEIPT_IDS_MAX + 1, 16), -1);
    assert_int_equal(parse("", PARLEY__RECEIPT__KIND__READ, 0, 16), -1);
    assert_int_equal(parse("", PARLEY__RECEIPT__KIND__KIND_UNSPECIFIED, 1, 16), -1);
    assert_int_equal(parse("", 7, 1, 16), -1);
    assert_int_equal(parse("", PARLEY__RECEIPT__KIND__READ, 2, 15), -1);
    assert_int_equal(parse("", PARLEY__RECEIPT__KIND__READ, 2, 17), -1);
    assert_int_equal(parse("a receipt with text", PARLEY__RECEIPT__KIND__READ, 1, 16), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(receipts_are_checked),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
