/*
 * test_parleyd_blobs.c: integration tests of attachment blobs against a running parleyd
 * (PROTOCOL.md §27): a resumable upload across a dropped connection and a SIGKILL of the
 * server, contiguous offsets, reading in chunks by another account, owner-only writes,
 * authentication, size limit and quotas, deletion after every expected fetch, and expiry with
 * the injected clock (rows and files both gone).
 */
#include <dirent.h>
#include <sodium.h>

#include "parleyd_test.h"

#define MIB (1024u * 1024u)
#define CHUNK PL_WIRE_BLOB_MAX_CHUNK
#define ID_BYTES PL_WIRE_BLOB_ID_BYTES

/* ---- Requests ------------------------------------------------------------------------ */

static int call(wc_conn *c, Parley__Request *req, Parley__ServerFrame **out)
{
    Parley__ServerFrame *f = NULL;
    int r = wc_request(c, req, &f, WC_TIMEOUT_MS);

    if (out)
        *out = NULL;
    if (r != WC_OK)
        return r;
    r = wc_status(f);
    if (out && r == ST(OK))
        *out = f;
    else
        pl_frame_server_free(f);
    return r;
}

static int blob_create(wc_conn *c, uint64_t size, uint32_t fetches, uint8_t id[ID_BYTES])
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__BlobCreate body = PARLEY__BLOB_CREATE__INIT;
    Parley__ServerFrame *f;
    int r;

    body.size = size;
    body.expected_fetches = fetches;
    req.body_case = PARLEY__REQUEST__BODY_BLOB_CREATE;
    req.blob_create = &body;
    if ((r = call(c, &req, &f)) == ST(OK)) {
        assert_int_equal(f->response->body_case, PARLEY__RESPONSE__BODY_BLOB_CREATE);
        memcpy(id, f->response->blob_create->blob_id.data, ID_BYTES);
        pl_frame_server_free(f);
    }
    return r;
}

static int blob_put(wc_conn *c, const uint8_t *id, size_t id_len, uint64_t offset,
                    const uint8_t *data, size_t len)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__BlobPut body = PARLEY__BLOB_PUT__INIT;

    body.blob_id.data = (uint8_t *)id;
    body.blob_id.len = id_len;
    body.offset = offset;
    body.data.data = (uint8_t *)data;
    body.data.len = len;
    req.body_case = PARLEY__REQUEST__BODY_BLOB_PUT;
    req.blob_put = &body;
    return call(c, &req, NULL);
}

/* BlobStatusGet (complete = 0) or BlobComplete (complete = 1); *received if OK. */
static int blob_status(wc_conn *c, const uint8_t id[ID_BYTES], int complete, uint64_t *received)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__BlobStatusGet st = PARLEY__BLOB_STATUS_GET__INIT;
    Parley__BlobComplete done = PARLEY__BLOB_COMPLETE__INIT;
    Parley__ServerFrame *f;
    const Parley__BlobStatus *s;
    int r;

    st.blob_id.data = done.blob_id.data = (uint8_t *)id;
    st.blob_id.len = done.blob_id.len = ID_BYTES;
    if (complete) {
        req.body_case = PARLEY__REQUEST__BODY_BLOB_COMPLETE;
        req.blob_complete = &done;
    } else {
        req.body_case = PARLEY__REQUEST__BODY_BLOB_STATUS;
        req.blob_status = &st;
    }
    if ((r = call(c, &req, &f)) == ST(OK)) {
        s = complete ? f->response->blob_complete : f->response->blob_status;
        assert_non_null(s);
        if (received)
            *received = s->received;
        if (complete)
            assert_true(s->complete);
        pl_frame_server_free(f);
    }
    return r;
}

static int blob_get(wc_conn *c, const uint8_t id[ID_BYTES], uint64_t offset, uint32_t max,
                    uint8_t *out, size_t *len)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__BlobGet body = PARLEY__BLOB_GET__INIT;
    Parley__ServerFrame *f;
    int r;

    *len = 0;
    body.blob_id.data = (uint8_t *)id;
    body.blob_id.len = ID_BYTES;
    body.offset = offset;
    body.max = max;
    req.body_case = PARLEY__REQUEST__BODY_BLOB_GET;
    req.blob_get = &body;
    if ((r = call(c, &req, &f)) == ST(OK)) {
        assert_int_equal(f->response->blob_get->offset, offset);
        assert_true(f->response->blob_get->data.len <= max);
        memcpy(out, f->response->blob_get->data.data, f->response->blob_get->data.len);
        *len = f->response->blob_get->data.len;
        pl_frame_server_free(f);
    }
    return r;
}

static int blob_fetched(wc_conn *c, const uint8_t id[ID_BYTES])
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__BlobFetched body = PARLEY__BLOB_FETCHED__INIT;

    body.blob_id.data = (uint8_t *)id;
    body.blob_id.len = ID_BYTES;
    req.body_case = PARLEY__REQUEST__BODY_BLOB_FETCHED;
    req.blob_fetched = &body;
    return call(c, &req, NULL);
}

/* Files in DATA/blobs (0 when the directory does not exist). */
static size_t blob_files(const ph_server *s)
{
    char path[PH_PATH_MAX + 16];
    struct dirent *e;
    size_t n = 0;
    DIR *d;

    snprintf(path, sizeof path, "%s/blobs", s->data_dir);
    if (!(d = opendir(path)))
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Waits up to 10 s for DATA/blobs to hold `want` files, pinging c meanwhile. */
static void wait_blob_files(const ph_server *s, wc_conn *c, size_t want)
{
    uint64_t deadline = ph_mono_ms() + 10000;

    while (blob_files(s) != want && ph_mono_ms() < deadline) {
        EXPECT(wo_ping(c), ST(OK));
        ph_sleep_ms(20);
    }
    assert_int_equal(blob_files(s), want);
}

/* The test's own server: killed, its log shown and its directory kept if the test failed. */
static ph_server *s;

static int teardown(void **state)
{
    (void)state;
    ph_test_teardown(s);
    ph_free(s);
    s = NULL;
    return 0;
}

/* ---- Tests ---------------------------------------------------------------------------- */

static void test_resumable_roundtrip(void **state)
{
    const size_t size = 3 * MIB + 12345; /* not a multiple of the chunk */
    uint8_t *plain = malloc(size), *back = malloc(size), id[ID_BYTES];
    uint64_t received = 0;
    size_t len, at;
    wi_account *a, *b;
    wc_conn *ca, *cb;

    (void)state;
    ph_test_begin();
    assert_non_null(plain);
    assert_non_null(back);
    randombytes_buf(plain, size);
    s = ph_start(NULL);
    a = wo_new_user(s->port, s->cert_path, "ba", NULL);
    b = wo_new_user(s->port, s->cert_path, "bb", NULL);
    ca = wo_login(s->port, s->cert_path, a, &a->devices[0]);
    EXPECT(blob_create(ca, size, 1, id), ST(OK));
    EXPECT(blob_status(ca, id, 0, &received), ST(OK));
    assert_int_equal(received, 0);
    /* Half the blob, then the connection drops. */
    for (at = 0; at < size / 2; at += CHUNK)
        EXPECT(blob_put(ca, id, ID_BYTES, at, plain + at, CHUNK), ST(OK));
    wc_close(ca);
    /* The server dies too (SIGKILL): every acknowledged byte must survive. */
    ph_kill(s);
    ph_restart(s);
    ca = wo_login(s->port, s->cert_path, a, &a->devices[0]);
    EXPECT(blob_status(ca, id, 0, &received), ST(OK));
    assert_int_equal(received, at);
    /* Offsets are contiguous: neither a gap nor a rewrite of stored bytes. */
    EXPECT(blob_put(ca, id, ID_BYTES, at + 1, plain + at + 1, 10), ST(BLOB_OFFSET));
    EXPECT(blob_put(ca, id, ID_BYTES, at - 10, plain + at - 10, 10), ST(BLOB_OFFSET));
    /* Not readable and not completable before every byte is there. */
    EXPECT(blob_get(ca, id, 0, CHUNK, back, &len), ST(BLOB_INCOMPLETE));
    EXPECT(blob_status(ca, id, 1, NULL), ST(BLOB_INCOMPLETE));
    /* Only the owner writes: another account sees no such blob. */
    cb = wo_login(s->port, s->cert_path, b, &b->devices[0]);
    EXPECT(blob_put(cb, id, ID_BYTES, at, plain + at, 10), ST(NOT_FOUND));
    EXPECT(blob_status(cb, id, 0, NULL), ST(NOT_FOUND));
    for (; at < size; at += len) {
        len = size - at < CHUNK ? size - at : CHUNK;
        EXPECT(blob_put(ca, id, ID_BYTES, at, plain + at, len), ST(OK));
    }
    /* Past the announced size. */
    EXPECT(blob_put(ca, id, ID_BYTES, size, plain, 1), ST(TOO_LARGE));
    EXPECT(blob_status(ca, id, 1, &received), ST(OK));
    assert_int_equal(received, size);
    EXPECT(blob_status(ca, id, 1, &received), ST(OK)); /* completing twice: same state */
    EXPECT(blob_put(ca, id, ID_BYTES, size - 1, plain, 1), ST(BLOB_COMPLETE));
    /* The recipient reads it back in odd-sized pieces. */
    for (at = 0; at < size; at += len) {
        EXPECT(blob_get(cb, id, at, 100000, back + at, &len), ST(OK));
        assert_true(len > 0);
    }
    assert_memory_equal(back, plain, size);
    EXPECT(blob_get(cb, id, size, 1, back, &len), ST(BAD_REQUEST));
    /* An unknown id, a malformed one. */
    id[0] ^= 1;
    EXPECT(blob_get(cb, id, 0, 1, back, &len), ST(NOT_FOUND));
    EXPECT(blob_put(ca, id, ID_BYTES - 1, 0, plain, 1), ST(BAD_REQUEST));
    wc_close(ca);
    wc_close(cb);
    wi_account_free(a);
    wi_account_free(b);
    ph_stop(s);
    free(plain);
    free(back);
    ph_test_end();
}

static void test_limits(void **state)
{
    uint8_t id[ID_BYTES], id2[ID_BYTES], data[16] = {0};
    wi_account *a;
    wc_conn *ca, *anon;

    (void)state;
    ph_test_begin();
    s = ph_start((const char *const[]){"blobs.max_size_mib=1", "blobs.quota_mib=2",
                                       "blobs.max_per_account=3", NULL});
    a = wo_new_user(s->port, s->cert_path, "la", &anon);
    /* Authenticated devices only. */
    EXPECT(blob_create(anon, 10, 1, id), ST(NOT_AUTHENTICATED));
    wc_close(anon);
    ca = wo_login(s->port, s->cert_path, a, &a->devices[0]);
    EXPECT(blob_create(ca, MIB + 1, 1, id), ST(TOO_LARGE));
    EXPECT(blob_create(ca, 0, 1, id), ST(BAD_REQUEST));
    EXPECT(blob_create(ca, 10, 0, id), ST(BAD_REQUEST));
    /* The quota counts announced sizes: 1 MiB + 1 MiB fit 2 MiB, one byte more does not. */
    EXPECT(blob_create(ca, MIB, 1, id), ST(OK));
    EXPECT(blob_create(ca, MIB - 10, 1, id2), ST(OK));
    EXPECT(blob_create(ca, 11, 1, id2), ST(BLOB_QUOTA));
    /* The count limit. */
    EXPECT(blob_create(ca, 10, 1, id2), ST(OK));
    EXPECT(blob_create(ca, 1, 1, id2), ST(BLOB_QUOTA));
    /* A put of more than the chunk maximum is a bad frame body, never a write. */
    EXPECT(blob_put(ca, id, ID_BYTES, 0, data, 0), ST(BAD_REQUEST));
    wc_close(ca);
    wi_account_free(a);
    ph_stop(s);
    ph_test_end();
}

static void test_deleted_after_fetches_and_expiry(void **state)
{
    uint8_t id[ID_BYTES], id2[ID_BYTES], data[1000], back[1000];
    uint64_t t0 = ph_now_ms();
    size_t len;
    wi_account *a, *b;
    wc_conn *ca, *cb;

    (void)state;
    ph_test_begin();
    randombytes_buf(data, sizeof data);
    s = ph_start((const char *const[]){"blobs.expiry=1h", "blobs.expire_interval=1s", NULL});
    ph_set_clock(s, t0);
    a = wo_new_user(s->port, s->cert_path, "ea", NULL);
    b = wo_new_user(s->port, s->cert_path, "eb", NULL);
    ca = wo_login(s->port, s->cert_path, a, &a->devices[0]);
    cb = wo_login(s->port, s->cert_path, b, &b->devices[0]);
    /* Two expected fetches: the first leaves it readable, a repeat counts once, the second
     * deletes it. */
    EXPECT(blob_create(ca, sizeof data, 2, id), ST(OK));
    EXPECT(blob_put(ca, id, ID_BYTES, 0, data, sizeof data), ST(OK));
    EXPECT(blob_status(ca, id, 1, NULL), ST(OK));
    EXPECT(blob_fetched(cb, id), ST(OK));
    EXPECT(blob_fetched(cb, id), ST(OK));
    EXPECT(blob_get(cb, id, 0, sizeof back, back, &len), ST(OK));
    assert_int_equal(len, sizeof data);
    assert_memory_equal(back, data, len);
    EXPECT(blob_fetched(ca, id), ST(OK));
    EXPECT(blob_get(cb, id, 0, sizeof back, back, &len), ST(NOT_FOUND));
    EXPECT(blob_fetched(cb, id), ST(NOT_FOUND));
    wait_blob_files(s, ca, 0);
    /* Expiry: unread, it is gone once its hour has passed. */
    EXPECT(blob_create(ca, sizeof data, 5, id2), ST(OK));
    EXPECT(blob_put(ca, id2, ID_BYTES, 0, data, sizeof data), ST(OK));
    EXPECT(blob_status(ca, id2, 1, NULL), ST(OK));
    ph_set_clock(s, t0 + 59 * 60 * 1000);
    EXPECT(blob_get(cb, id2, 0, sizeof back, back, &len), ST(OK));
    assert_int_equal(blob_files(s), 1);
    ph_set_clock(s, t0 + 61 * 60 * 1000);
    EXPECT(blob_get(cb, id2, 0, sizeof back, back, &len), ST(NOT_FOUND));
    EXPECT(blob_status(ca, id2, 0, NULL), ST(NOT_FOUND));
    wait_blob_files(s, ca, 0);
    wc_close(ca);
    wc_close(cb);
    wi_account_free(a);
    wi_account_free(b);
    ph_stop(s);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_resumable_roundtrip, teardown),
        cmocka_unit_test_teardown(test_limits, teardown),
        cmocka_unit_test_teardown(test_deleted_after_fetches_and_expiry, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
