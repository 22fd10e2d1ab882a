/*
 * test_store_sqlite.c: the SQLite backend of store.h, part 1: opening (options, newer,
 * foreign and corrupted files, migration from schema version 1), accounts, devices (removed
 * ids are never reused) and prekeys, including one-time prekeys claimed concurrently from
 * two handles. Mailboxes are in test_store_sqlite_mailbox.c.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, pthread_barrier_t, nanosleep */

#include <pthread.h>
#include <time.h>

#include <sqlite3.h>

#include "store_fixture.h"
#include "testutil.h"

/* ---- Opening and errors ---------------------------------------------------------------- */

static void error_names_and_messages_are_distinct(void **state)
{
    (void)state;
    assert_string_equal(pl_store_errname(PL_STORE_E_QUOTA), "PL_STORE_E_QUOTA");
    assert_string_equal(pl_store_errname(PL_STORE_OK), "PL_STORE_OK");
    assert_string_equal(pl_store_errname(-99), "PL_STORE_E_UNKNOWN");
    assert_string_equal(pl_store_strerror(-99), "unknown store error");
    assert_string_not_equal(pl_store_strerror(PL_STORE_E_EXISTS),
                            pl_store_strerror(PL_STORE_E_NOT_FOUND));
}

static void open_creates_a_database_and_reopens_it(void **state)
{
    fixture *f = *state;

    open_store(f, NULL);
    assert_string_equal(pl_store_backend(f->s), "sqlite");
    add_account(f->s, "alice");
    open_store(f, NULL);
    {
        pl_store_account a;
        RC(pl_store_account_get(f->s, "alice", &a), PL_STORE_OK);
    }
}

static void open_rejects_out_of_range_options(void **state)
{
    fixture *f = *state;
    pl_store_options o = {.max_devices = PL_STORE_DEVICES_MAX + 1};
    pl_store *s = (pl_store *)1;
    char err[256] = "";

    RC(pl_store_open_sqlite(f->path, &o, &s, err, sizeof err), PL_STORE_E_INVALID_ARG);
    assert_null(s);
    assert_true(strlen(err) > 0);
    o.max_devices = 0;
    o.max_onetime_prekeys = PL_STORE_ONETIME_PREKEYS_MAX + 1;
    RC(pl_store_open_sqlite(f->path, &o, &s, err, sizeof err), PL_STORE_E_INVALID_ARG);
    assert_null(s);
}

static void open_in_a_missing_directory_is_io(void **state)
{
    pl_store *s = NULL;
    char err[256] = "";

    (void)state;
    RC(pl_store_open_sqlite("/nonexistent-parley-dir/x/parleyd.db", NULL, &s, err, sizeof err),
       PL_STORE_E_IO);
    assert_null(s);
    assert_non_null(strstr(err, "nonexistent-parley-dir"));
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Runs sql (one row, one integer column) on the file directly and returns the value. */
static int64_t raw_count(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return v;
}

static void open_refuses_a_newer_schema_version(void **state)
{
    fixture *f = *state;
    pl_store *s = NULL;
    char err[256] = "";

    open_store(f, NULL);
    pl_store_close(f->s);
    f->s = NULL;
    raw_exec(f->path, "UPDATE schema_version SET version = 6");
    RC(pl_store_open_sqlite(f->path, NULL, &s, err, sizeof err), PL_STORE_E_VERSION);
    assert_null(s);
    assert_non_null(strstr(err, "newer"));
    /* Refusing changed nothing: the version is still 5, so a second try refuses again. */
    RC(pl_store_open_sqlite(f->path, NULL, &s, err, sizeof err), PL_STORE_E_VERSION);
}

static void open_refuses_another_applications_database(void **state)
{
    fixture *f = *state;
    pl_store *s = NULL;
    char err[256] = "";

    raw_exec(f->path, "PRAGMA application_id = 1234; CREATE TABLE t(x)");
    RC(pl_store_open_sqlite(f->path, NULL, &s, err, sizeof err), PL_STORE_E_CORRUPT);
    assert_null(s);
}

static void overwrite(const char *path, long offset, size_t len, uint8_t byte)
{
    FILE *fp = fopen(path, "r+b");
    size_t i;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, offset, SEEK_SET), 0);
    for (i = 0; i < len; i++)
        assert_int_equal(fputc(byte, fp), byte);
    assert_int_equal(fclose(fp), 0);
}

static void fill_some_data(pl_store *s)
{
    pl_store_envelope e[20];
    size_t failed, i;

    add_account(s, "alice");
    add_device(s, "alice", 1);
    for (i = 0; i < 20; i++)
        e[i] = make_env("alice", 1, 100 + i, (unsigned)i);
    RC(pl_store_mailbox_append(s, e, 20, &failed), PL_STORE_OK);
}

static void open_of_a_file_with_a_damaged_header_is_corrupt(void **state)
{
    fixture *f = *state;
    pl_store *s = NULL;
    char err[256] = "";

    open_store(f, NULL);
    fill_some_data(f->s);
    pl_store_close(f->s);
    f->s = NULL;
    overwrite(f->path, 0, 100, 0xa5);
    RC(pl_store_open_sqlite(f->path, NULL, &s, err, sizeof err), PL_STORE_E_CORRUPT);
    assert_null(s);
    assert_true(strlen(err) > 0);
}

static void open_of_a_text_file_is_corrupt(void **state)
{
    fixture *f = *state;
    pl_store *s = NULL;
    char err[256] = "";
    FILE *fp = fopen(f->path, "wb");

    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database, just some text\n", fp);
    assert_int_equal(fclose(fp), 0);
    RC(pl_store_open_sqlite(f->path, NULL, &s, err, sizeof err), PL_STORE_E_CORRUPT);
    assert_null(s);
}

static int is_store_code(int r)
{
    return r <= 0 && r >= PL_STORE_E_VERSION;
}

static int ignore_cb(void *ctx, const pl_store_envelope *e)
{
    (void)ctx;
    (void)e;
    return 0;
}

static void copy_file(const char *from, const char *to)
{
    size_t len = 0;
    uint8_t *buf = tu_read_file(from, &len);
    FILE *fp = fopen(to, "wb");

    assert_non_null(buf);
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    free(buf);
}

/* Runs every kind of operation on s; each must answer with a store code. */
static void exercise(pl_store *s)
{
    pl_store_envelope e = make_env("alice", 1, 1, 1);
    pl_store_device devs[PL_STORE_DEVICES_MAX], d = make_device(2);
    pl_store_onetime_prekey k = make_otk(1);
    uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES] = {0};
    pl_store_account a;
    uint64_t n = 0;
    size_t cnt = 0, failed = 0;

    assert_true(is_store_code(pl_store_account_get(s, "alice", &a)));
    assert_true(is_store_code(pl_store_device_list(s, "alice", devs, &cnt)));
    assert_true(is_store_code(pl_store_device_get(s, "alice", 1, &d)));
    assert_true(is_store_code(pl_store_device_add(s, "alice", &d)));
    assert_true(is_store_code(pl_store_signed_prekey_get(s, "alice", 1, spk)));
    assert_true(is_store_code(pl_store_onetime_prekeys_add(s, "alice", 1, &k, 1)));
    assert_true(is_store_code(pl_store_onetime_prekey_claim(s, "alice", 1, &k, &cnt)));
    assert_true(is_store_code(pl_store_mailbox_count(s, "alice", 1, &n)));
    assert_true(
        is_store_code(pl_store_mailbox_fetch(s, "alice", 1, 0, 100, ignore_cb, NULL, NULL)));
    assert_true(is_store_code(pl_store_mailbox_append(s, &e, 1, &failed)));
    assert_true(is_store_code(pl_store_mailbox_ack(s, "alice", 1, &(uint64_t){3}, 1, NULL)));
    assert_true(is_store_code(pl_store_mailbox_expire(s, UINT64_MAX / 2, NULL, NULL, &n)));
    assert_true(is_store_code(pl_store_device_remove(s, "alice", 1)));
}

/* Damage beyond the header, one page at a time: whatever the store notices, at open or
 * later, it must answer with an error code, never crash (ASan watches these runs). */
static void damaged_pages_give_errors_not_crashes(void **state)
{
    fixture *f = *state;
    char pristine[160], err[256];
    size_t size = 0, page, opened = 0, failed_ops = 0;
    uint8_t *buf;
    pl_store *s;
    int r;

    open_store(f, NULL);
    fill_some_data(f->s);
    pl_store_close(f->s);
    f->s = NULL;
    snprintf(pristine, sizeof pristine, "%s.raw", f->path);
    copy_file(f->path, pristine);
    buf = tu_read_file(pristine, &size);
    assert_non_null(buf);
    free(buf);
    assert_true(size > 4096 && size % 4096 == 0);
    for (page = 1; page < size / 4096; page++) {
        copy_file(pristine, f->path);
        overwrite(f->path, (long)(page * 4096 + 8), 4096 - 8, (uint8_t)(0x5a + page));
        s = NULL;
        err[0] = '\0';
        r = pl_store_open_sqlite(f->path, NULL, &s, err, sizeof err);
        assert_true(is_store_code(r));
        if (r != PL_STORE_OK) {
            assert_null(s);
            assert_true(strlen(err) > 0);
            continue;
        }
        opened++;
        exercise(s);
        if (pl_store_mailbox_fetch(s, "alice", 1, 0, 100, ignore_cb, NULL, NULL) != PL_STORE_OK)
            failed_ops++;
        pl_store_close(s);
    }
    print_message("%zu damaged pages: %zu opened, %zu of those failed a fetch\n", size / 4096 - 1,
                  opened, failed_ops);
}

/* ---- Accounts --------------------------------------------------------------------------- */

static void account_create_get_and_refuse_duplicates(void **state)
{
    fixture *f = *state;
    uint8_t key[PL_PUBKEY_BYTES], other[PL_PUBKEY_BYTES];
    pl_store_account a;

    open_store(f, NULL);
    fill_key(key, sizeof key, 3);
    fill_key(other, sizeof other, 4);
    RC(pl_store_account_create(f->s, "bob.smith-1_x", key, 77), PL_STORE_OK);
    RC(pl_store_account_create(f->s, "bob.smith-1_x", other, 78), PL_STORE_E_EXISTS);
    assert_true(strlen(pl_store_last_error(f->s)) > 0);
    RC(pl_store_account_get(f->s, "bob.smith-1_x", &a), PL_STORE_OK);
    assert_string_equal(a.username, "bob.smith-1_x");
    assert_memory_equal(a.account_key, key, sizeof key);
    assert_int_equal(a.created_at_ms, 77);
    RC(pl_store_account_get(f->s, "nobody", &a), PL_STORE_E_NOT_FOUND);
    assert_string_equal(a.username, "");
}

static void account_username_length_is_checked(void **state)
{
    fixture *f = *state;
    uint8_t key[PL_PUBKEY_BYTES] = {1};
    char name[40];
    pl_store_account a;

    open_store(f, NULL);
    memset(name, 'a', sizeof name);
    name[PL_STORE_USERNAME_MAX] = '\0';
    RC(pl_store_account_create(f->s, name, key, 1), PL_STORE_OK);
    name[PL_STORE_USERNAME_MAX] = 'a';
    name[PL_STORE_USERNAME_MAX + 1] = '\0';
    RC(pl_store_account_create(f->s, name, key, 1), PL_STORE_E_INVALID_ARG);
    RC(pl_store_account_get(f->s, name, &a), PL_STORE_E_INVALID_ARG);
    RC(pl_store_account_create(f->s, "", key, 1), PL_STORE_E_INVALID_ARG);
}

/* ---- Devices ---------------------------------------------------------------------------- */

static void devices_add_get_list_in_id_order_and_remove(void **state)
{
    fixture *f = *state;
    pl_store_device list[PL_STORE_DEVICES_MAX], d, want;
    size_t n = 99;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_account(f->s, "bob");
    RC(pl_store_device_list(f->s, "alice", list, &n), PL_STORE_OK);
    assert_int_equal(n, 0);
    add_device(f->s, "alice", 5);
    add_device(f->s, "alice", 1);
    add_device(f->s, "alice", 3);
    add_device(f->s, "bob", 1);
    RC(pl_store_device_list(f->s, "alice", list, &n), PL_STORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].device_id, 1);
    assert_int_equal(list[1].device_id, 3);
    assert_int_equal(list[2].device_id, 5);
    want = make_device(3);
    assert_memory_equal(&list[1], &want, sizeof want);

    RC(pl_store_device_get(f->s, "alice", 5, &d), PL_STORE_OK);
    want = make_device(5);
    assert_memory_equal(&d, &want, sizeof want);
    RC(pl_store_device_get(f->s, "alice", 2, &d), PL_STORE_E_NOT_FOUND);
    RC(pl_store_device_get(f->s, "carol", 1, &d), PL_STORE_E_NOT_FOUND);

    want = make_device(3);
    RC(pl_store_device_add(f->s, "alice", &want), PL_STORE_E_EXISTS);
    RC(pl_store_device_add(f->s, "carol", &want), PL_STORE_E_NOT_FOUND);
    RC(pl_store_device_list(f->s, "carol", list, &n), PL_STORE_E_NOT_FOUND);
    assert_int_equal(n, 0);

    RC(pl_store_device_remove(f->s, "alice", 3), PL_STORE_OK);
    RC(pl_store_device_remove(f->s, "alice", 3), PL_STORE_E_NOT_FOUND);
    RC(pl_store_device_remove(f->s, "carol", 1), PL_STORE_E_NOT_FOUND);
    RC(pl_store_device_list(f->s, "alice", list, &n), PL_STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].device_id, 1);
    assert_int_equal(list[1].device_id, 5);
    RC(pl_store_device_list(f->s, "bob", list, &n), PL_STORE_OK);
    assert_int_equal(n, 1);
}

static void device_limit_default_is_six_and_is_configurable(void **state)
{
    fixture *f = *state;
    pl_store_options o = {.max_devices = 2};
    pl_store_device d;
    uint32_t i;

    open_store(f, NULL);
    add_account(f->s, "alice");
    for (i = 1; i <= PL_STORE_DEFAULT_MAX_DEVICES; i++)
        add_device(f->s, "alice", i);
    d = make_device(100);
    RC(pl_store_device_add(f->s, "alice", &d), PL_STORE_E_LIMIT);

    open_store(f, &o);
    add_account(f->s, "bob");
    add_device(f->s, "bob", 1);
    add_device(f->s, "bob", 2);
    RC(pl_store_device_add(f->s, "bob", &d), PL_STORE_E_LIMIT);
    RC(pl_store_device_remove(f->s, "bob", 1), PL_STORE_OK);
    RC(pl_store_device_add(f->s, "bob", &d), PL_STORE_OK);
}

static void device_remove_drops_its_prekeys_and_mailbox(void **state)
{
    fixture *f = *state;
    uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES] = {7};
    pl_store_onetime_prekey k = make_otk(1);
    pl_store_envelope e = make_env("alice", 1, 10, 1);
    size_t failed, n = 9;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    RC(pl_store_signed_prekey_put(f->s, "alice", 1, spk), PL_STORE_OK);
    RC(pl_store_onetime_prekeys_add(f->s, "alice", 1, &k, 1), PL_STORE_OK);
    RC(pl_store_mailbox_append(f->s, &e, 1, &failed), PL_STORE_OK);
    RC(pl_store_send_record(f->s, "alice", 1, spk, 10, NULL), PL_STORE_OK);
    RC(pl_store_device_remove(f->s, "alice", 1), PL_STORE_OK);
    RC(pl_store_mailbox_count(f->s, "alice", 1, &(uint64_t){0}), PL_STORE_E_NOT_FOUND);
    RC(pl_store_signed_prekey_get(f->s, "alice", 1, spk), PL_STORE_E_NOT_FOUND);
    RC(pl_store_onetime_prekey_count(f->s, "alice", 1, &n), PL_STORE_E_NOT_FOUND);

    /* The id is retired, so look at the tables themselves: no row is left behind. */
    pl_store_close(f->s);
    f->s = NULL;
    assert_int_equal(raw_count(f->path, "SELECT (SELECT count(*) FROM signed_prekeys) +"
                                        " (SELECT count(*) FROM onetime_prekeys) +"
                                        " (SELECT count(*) FROM envelopes) +"
                                        " (SELECT count(*) FROM sent_messages)"),
                     0);
}

static void removed_device_ids_are_never_reused(void **state)
{
    fixture *f = *state;
    pl_store_device d = make_device(2);
    pl_store_options o = {.max_devices = 2};

    open_store(f, &o);
    add_account(f->s, "alice");
    add_account(f->s, "bob");
    add_device(f->s, "alice", 1);
    add_device(f->s, "alice", 2);
    RC(pl_store_device_add(f->s, "alice", &d), PL_STORE_E_EXISTS); /* current */
    RC(pl_store_device_remove(f->s, "alice", 2), PL_STORE_OK);
    RC(pl_store_device_add(f->s, "alice", &d), PL_STORE_E_EXISTS); /* retired */
    RC(pl_store_device_get(f->s, "alice", 2, &d), PL_STORE_E_NOT_FOUND);
    d = make_device(2);

    /* Another account's ids are its own; a fresh id still fits under the limit. */
    add_device(f->s, "bob", 2);
    add_device(f->s, "alice", 3);

    /* Retirement is stored, not remembered by the handle. */
    open_store(f, &o);
    RC(pl_store_device_add(f->s, "alice", &d), PL_STORE_E_EXISTS);
    RC(pl_store_device_remove(f->s, "alice", 1), PL_STORE_OK);
    RC(pl_store_device_remove(f->s, "alice", 3), PL_STORE_OK);
    d.device_id = 1;
    RC(pl_store_device_add(f->s, "alice", &d), PL_STORE_E_EXISTS);
    d.device_id = 3;
    RC(pl_store_device_add(f->s, "alice", &d), PL_STORE_E_EXISTS);
    /* Refusals changed nothing: the account has no device and takes new ids. */
    {
        pl_store_device list[PL_STORE_DEVICES_MAX];
        size_t n = 9;
        RC(pl_store_device_list(f->s, "alice", list, &n), PL_STORE_OK);
        assert_int_equal(n, 0);
    }
    add_device(f->s, "alice", 4);
    add_device(f->s, "alice", 5);
}

/* A database written by schema version 1 is migrated in place and keeps its envelopes,
 * which read back with an all-zero client message id. */
static void a_version_1_database_is_migrated_to_version_5(void **state)
{
    fixture *f = *state;
    static const uint8_t zero[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    pl_store_envelope e = make_env("alice", 1, 100, 3);
    pl_store_device d = make_device(1);
    collected c;
    size_t failed;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    RC(pl_store_mailbox_append(f->s, &e, 1, &failed), PL_STORE_OK);
    pl_store_close(f->s);
    f->s = NULL;
    /* Undo migrations 2 to 5 by hand: what version 1 left on disk. */
    raw_exec(f->path, "DROP TRIGGER envelopes_release_payload; DROP INDEX envelopes_by_payload;"
                      " ALTER TABLE envelopes DROP COLUMN payload_id;"
                      " ALTER TABLE envelopes DROP COLUMN is_group; DROP TABLE group_payloads;"
                      " DROP TABLE blob_fetches; DROP TABLE blobs;"
                      " DROP TABLE kt_versions; DROP TABLE kt_entries; DROP TABLE kt_cosignatures;"
                      " DROP TABLE removed_devices; DROP TABLE sent_messages;"
                      " ALTER TABLE envelopes DROP COLUMN client_message_id;"
                      " UPDATE schema_version SET version = 1");
    assert_int_equal(raw_count(f->path, "SELECT version FROM schema_version"), 1);

    open_store(f, NULL);
    assert_int_equal(raw_count(f->path, "SELECT version FROM schema_version"), 5);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM kt_versions"), 0);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM blobs"), 0);
    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(f->s, "alice", 1, 0, 10, collect_cb, &c, NULL), PL_STORE_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.first_byte[0], 3);
    assert_memory_equal(c.cmid[0], zero, sizeof zero);
    RC(pl_store_device_remove(f->s, "alice", 1), PL_STORE_OK);
    RC(pl_store_device_add(f->s, "alice", &d), PL_STORE_E_EXISTS);
}

/* ---- Attachment blobs (schema version 4) ---------------------------------------------------- */

static pl_store_blob make_blob(uint8_t tag, const char *owner, uint64_t size, uint32_t fetches,
                               uint64_t expires)
{
    pl_store_blob b;

    memset(&b, 0, sizeof b);
    memset(b.id, tag, sizeof b.id);
    snprintf(b.owner, sizeof b.owner, "%s", owner);
    b.size = size;
    b.expected_fetches = fetches;
    b.created_at_ms = 1000;
    b.expires_at_ms = expires;
    return b;
}

static void blobs_quota_fetches_and_expiry(void **state)
{
    fixture *f = *state;
    pl_store_blob a = make_blob(1, "alice", 600, 2, 5000), b = make_blob(2, "alice", 400, 1, 9000);
    pl_store_blob c = make_blob(3, "alice", 1, 1, 9000), got;
    uint8_t ids[4][PL_STORE_BLOB_ID_BYTES];
    uint32_t fetched;
    size_t n;

    open_store(f, NULL);
    RC(pl_store_blob_create(f->s, &a, 1000, 10), PL_STORE_OK);
    RC(pl_store_blob_create(f->s, &a, 1000, 10), PL_STORE_E_QUOTA); /* 1200 > 1000 */
    a.size = 1;
    RC(pl_store_blob_create(f->s, &a, 1000, 10), PL_STORE_E_EXISTS);
    RC(pl_store_blob_create(f->s, &b, 1000, 10), PL_STORE_OK); /* exactly the quota */
    RC(pl_store_blob_create(f->s, &c, 1000, 10), PL_STORE_E_QUOTA);
    RC(pl_store_blob_create(f->s, &c, 5000, 2), PL_STORE_E_LIMIT);
    c.id[0] = 9;
    snprintf(c.owner, sizeof c.owner, "bob"); /* quotas are per owner */
    RC(pl_store_blob_create(f->s, &c, 1, 1), PL_STORE_OK);
    RC(pl_store_blob_get(f->s, a.id, &got), PL_STORE_OK);
    assert_string_equal(got.owner, "alice");
    assert_int_equal(got.size, 600);
    assert_int_equal(got.received, 0);
    assert_false(got.complete);
    assert_int_equal(got.expected_fetches, 2);
    assert_int_equal(got.expires_at_ms, 5000);
    RC(pl_store_blob_update(f->s, a.id, 600, 1, 5000), PL_STORE_OK);
    RC(pl_store_blob_fetched(f->s, a.id, "bob", 1, &fetched), PL_STORE_OK);
    assert_int_equal(fetched, 1);
    RC(pl_store_blob_fetched(f->s, a.id, "bob", 1, &fetched), PL_STORE_OK);
    assert_int_equal(fetched, 1); /* once per device */
    RC(pl_store_blob_fetched(f->s, a.id, "bob", 2, &fetched), PL_STORE_OK);
    assert_int_equal(fetched, 2);
    RC(pl_store_blob_get(f->s, a.id, &got), PL_STORE_OK);
    assert_int_equal(got.received, 600);
    assert_true(got.complete);
    assert_int_equal(got.fetched, 2);
    memset(got.id, 0x77, sizeof got.id);
    RC(pl_store_blob_fetched(f->s, got.id, "bob", 1, &fetched), PL_STORE_E_NOT_FOUND);
    RC(pl_store_blob_update(f->s, got.id, 1, 0, 1), PL_STORE_E_NOT_FOUND);
    /* Expiry deletes exactly what is due, with its fetch records. */
    RC(pl_store_blob_expire(f->s, 4999, ids, 4, &n), PL_STORE_OK);
    assert_int_equal(n, 0);
    RC(pl_store_blob_expire(f->s, 5000, ids, 4, &n), PL_STORE_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(ids[0], a.id, sizeof a.id);
    RC(pl_store_blob_get(f->s, a.id, &got), PL_STORE_E_NOT_FOUND);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM blob_fetches"), 0);
    /* The quota is freed with it. */
    c.id[0] = 3;
    snprintf(c.owner, sizeof c.owner, "alice");
    RC(pl_store_blob_create(f->s, &c, 1000, 10), PL_STORE_OK);
}

/* ---- Prekeys ---------------------------------------------------------------------------- */

static void signed_prekey_put_replaces_and_get_returns_it(void **state)
{
    fixture *f = *state;
    uint8_t a[PL_SIGNED_PREKEY_PUBLIC_BYTES], b[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    uint8_t got[PL_SIGNED_PREKEY_PUBLIC_BYTES];

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    fill_key(a, sizeof a, 1);
    fill_key(b, sizeof b, 2);
    RC(pl_store_signed_prekey_get(f->s, "alice", 1, got), PL_STORE_E_NOT_FOUND);
    RC(pl_store_signed_prekey_put(f->s, "alice", 1, a), PL_STORE_OK);
    RC(pl_store_signed_prekey_get(f->s, "alice", 1, got), PL_STORE_OK);
    assert_memory_equal(got, a, sizeof a);
    RC(pl_store_signed_prekey_put(f->s, "alice", 1, b), PL_STORE_OK);
    RC(pl_store_signed_prekey_get(f->s, "alice", 1, got), PL_STORE_OK);
    assert_memory_equal(got, b, sizeof b);
    RC(pl_store_signed_prekey_put(f->s, "alice", 2, a), PL_STORE_E_NOT_FOUND);
    RC(pl_store_signed_prekey_get(f->s, "bob", 1, got), PL_STORE_E_NOT_FOUND);
}

static void onetime_prekeys_are_claimed_once_lowest_id_first(void **state)
{
    fixture *f = *state;
    pl_store_onetime_prekey keys[5], got, want;
    size_t n = 0, left = 99;
    uint32_t i;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    for (i = 0; i < 5; i++)
        keys[i] = make_otk(50 - i * 10); /* 50, 40, 30, 20, 10 */
    RC(pl_store_onetime_prekeys_add(f->s, "alice", 1, keys, 5), PL_STORE_OK);
    RC(pl_store_onetime_prekey_count(f->s, "alice", 1, &n), PL_STORE_OK);
    assert_int_equal(n, 5);
    for (i = 1; i <= 5; i++) {
        RC(pl_store_onetime_prekey_claim(f->s, "alice", 1, &got, &left), PL_STORE_OK);
        want = make_otk(i * 10);
        assert_int_equal(got.id, want.id);
        assert_memory_equal(got.public_part, want.public_part, sizeof want.public_part);
        assert_int_equal(left, 5 - i);
    }
    left = 99;
    RC(pl_store_onetime_prekey_claim(f->s, "alice", 1, &got, &left), PL_STORE_E_EMPTY);
    assert_int_equal(left, 0);
    assert_int_equal(got.id, 0);
    RC(pl_store_onetime_prekey_claim(f->s, "alice", 1, &got, NULL), PL_STORE_E_EMPTY);
    RC(pl_store_onetime_prekey_claim(f->s, "alice", 2, &got, NULL), PL_STORE_E_NOT_FOUND);
    RC(pl_store_onetime_prekey_count(f->s, "alice", 2, &n), PL_STORE_E_NOT_FOUND);
    RC(pl_store_onetime_prekeys_add(f->s, "bob", 1, keys, 1), PL_STORE_E_NOT_FOUND);
}

static void onetime_prekey_batches_are_all_or_nothing(void **state)
{
    fixture *f = *state;
    pl_store_options o = {.max_onetime_prekeys = 10};
    pl_store_onetime_prekey keys[12];
    size_t n = 0;
    uint32_t i;

    open_store(f, &o);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    for (i = 0; i < 12; i++)
        keys[i] = make_otk(i + 1);
    RC(pl_store_onetime_prekeys_add(f->s, "alice", 1, keys, 11), PL_STORE_E_LIMIT);
    RC(pl_store_onetime_prekeys_add(f->s, "alice", 1, keys, 8), PL_STORE_OK);
    /* 8 + 3 > 10: refused whole. */
    RC(pl_store_onetime_prekeys_add(f->s, "alice", 1, keys + 8, 3), PL_STORE_E_LIMIT);
    RC(pl_store_onetime_prekey_count(f->s, "alice", 1, &n), PL_STORE_OK);
    assert_int_equal(n, 8);
    /* Id 9 is new, id 8 is in stock: refused whole, id 9 not stored either. */
    keys[9] = make_otk(8);
    RC(pl_store_onetime_prekeys_add(f->s, "alice", 1, keys + 8, 2), PL_STORE_E_EXISTS);
    RC(pl_store_onetime_prekey_count(f->s, "alice", 1, &n), PL_STORE_OK);
    assert_int_equal(n, 8);
    RC(pl_store_onetime_prekeys_add(f->s, "alice", 1, keys + 8, 1), PL_STORE_OK);
    RC(pl_store_onetime_prekey_count(f->s, "alice", 1, &n), PL_STORE_OK);
    assert_int_equal(n, 9);
}

#define CLAIM_KEYS 600u

typedef struct claimer {
    const char *path;
    pthread_barrier_t *start;
    uint32_t ids[CLAIM_KEYS];
    size_t n;
    int error;
} claimer;

static void *claim_until_empty(void *arg)
{
    claimer *c = arg;
    pl_store_options o = {.max_onetime_prekeys = CLAIM_KEYS, .busy_timeout_ms = 30000};
    pl_store *s = NULL;
    pl_store_onetime_prekey k;
    char err[256];
    int r;

    if (pl_store_open_sqlite(c->path, &o, &s, err, sizeof err) != PL_STORE_OK)
        c->error = 1;
    /* Both handles are open before either claims, so the claims really race. */
    pthread_barrier_wait(c->start);
    if (c->error)
        return NULL;
    while ((r = pl_store_onetime_prekey_claim(s, "alice", 1, &k, NULL)) == PL_STORE_OK) {
        if (c->n >= CLAIM_KEYS) {
            c->error = 2;
            break;
        }
        c->ids[c->n++] = k.id;
        /* A pause as a handler would take to send the bundle; without it one thread wins the
         * lock again and again and the other never gets in. */
        nanosleep(&(struct timespec){.tv_nsec = 100000}, NULL);
    }
    if (r != PL_STORE_E_EMPTY && !c->error)
        c->error = r;
    pl_store_close(s);
    return NULL;
}

static void onetime_prekeys_claimed_concurrently_go_out_once(void **state)
{
    fixture *f = *state;
    pl_store_options o = {.max_onetime_prekeys = CLAIM_KEYS};
    static pl_store_onetime_prekey keys[CLAIM_KEYS];
    static claimer c[2];
    static uint8_t seen[CLAIM_KEYS + 1];
    pthread_barrier_t start;
    pthread_t t[2];
    size_t i, j;

    open_store(f, &o);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    for (i = 0; i < CLAIM_KEYS; i++)
        keys[i] = make_otk((uint32_t)i + 1);
    RC(pl_store_onetime_prekeys_add(f->s, "alice", 1, keys, CLAIM_KEYS), PL_STORE_OK);
    memset(c, 0, sizeof c);
    memset(seen, 0, sizeof seen);
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    for (i = 0; i < 2; i++) {
        c[i].path = f->path;
        c[i].start = &start;
        assert_int_equal(pthread_create(&t[i], NULL, claim_until_empty, &c[i]), 0);
    }
    for (i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&start);
    for (i = 0; i < 2; i++) {
        assert_int_equal(c[i].error, 0);
        for (j = 0; j < c[i].n; j++) {
            assert_in_range(c[i].ids[j], 1, CLAIM_KEYS);
            assert_int_equal(seen[c[i].ids[j]], 0); /* no key handed out twice */
            seen[c[i].ids[j]] = 1;
        }
    }
    assert_int_equal(c[0].n + c[1].n, CLAIM_KEYS); /* so the union is the whole set */
    print_message("claims split %zu / %zu\n", c[0].n, c[1].n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(error_names_and_messages_are_distinct),
        T(open_creates_a_database_and_reopens_it),
        T(open_rejects_out_of_range_options),
        T(open_in_a_missing_directory_is_io),
        T(open_refuses_a_newer_schema_version),
        T(open_refuses_another_applications_database),
        T(open_of_a_file_with_a_damaged_header_is_corrupt),
        T(open_of_a_text_file_is_corrupt),
        T(damaged_pages_give_errors_not_crashes),
        T(account_create_get_and_refuse_duplicates),
        T(account_username_length_is_checked),
        T(devices_add_get_list_in_id_order_and_remove),
        T(device_limit_default_is_six_and_is_configurable),
        T(device_remove_drops_its_prekeys_and_mailbox),
        T(removed_device_ids_are_never_reused),
        T(a_version_1_database_is_migrated_to_version_5),
        T(blobs_quota_fetches_and_expiry),
        T(signed_prekey_put_replaces_and_get_returns_it),
        T(onetime_prekeys_are_claimed_once_lowest_id_first),
        T(onetime_prekey_batches_are_all_or_nothing),
        T(onetime_prekeys_claimed_concurrently_go_out_once),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
