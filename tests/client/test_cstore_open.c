/*
 * test_cstore_open.c: the local store's home: create and open, file modes whatever the umask,
 * refused permissions, the lock, passphrases (Argon2id with the cheap limits of
 * PARLEY_TEST_FAST_KDF=1), and hostile files: truncated keys, absurd KDF limits, a foreign
 * database, a key that does not fit the database.
 */
#include <sys/stat.h>

#include "cstore_fixture.h"
#include "testutil.h"

static void strerror_names_every_code(void **state)
{
    (void)state;
    assert_string_equal(pl_cstore_strerror(PL_CSTORE_E_LOCKED),
                        "another parley process is using this home directory");
    assert_string_equal(pl_cstore_strerror(-99), "unknown store error");
    assert_string_not_equal(pl_cstore_strerror(PL_CSTORE_E_PASSPHRASE),
                            pl_cstore_strerror(PL_CSTORE_E_NEED_PASSPHRASE));
}

static void create_then_open_round_trip(void **state)
{
    fixture *f = *state;
    char v[64];

    cs_create(f, NULL);
    RC(pl_cstore_setting_set(f->s, "server", "chat.example:7443"), PL_CSTORE_OK);
    RC(pl_cstore_secret_put(f->s, "account", (const uint8_t *)"k", 1), PL_CSTORE_OK);
    cs_reopen(f);
    RC(pl_cstore_setting_get(f->s, "server", v, sizeof v), PL_CSTORE_OK);
    assert_string_equal(v, "chat.example:7443");
}

static void files_are_private_whatever_the_umask(void **state)
{
    fixture *f = *state;
    char p[256];
    mode_t old = umask(0);

    cs_create(f, NULL);
    umask(old);
    RC(pl_cstore_setting_set(f->s, "x", "y"), PL_CSTORE_OK);
    assert_int_equal(cs_mode(f->home), 0700);
    assert_int_equal(cs_mode(cs_path(f, "store.key", p)), 0600);
    assert_int_equal(cs_mode(cs_path(f, "parley.db", p)), 0600);
    assert_int_equal(cs_mode(cs_path(f, "parley.db-wal", p)), 0600);
    assert_int_equal(cs_mode(cs_path(f, "lock", p)), 0600);
    assert_int_equal(access(cs_path(f, "store.key.enc", p), F_OK), -1);
    {
        size_t len = 0;
        uint8_t *key = tu_read_file(cs_path(f, "store.key", p), &len);

        assert_non_null(key);
        assert_int_equal(len, 32);
        free(key);
    }
}

static void a_home_readable_by_others_is_refused(void **state)
{
    fixture *f = *state;
    char err[256] = "";
    pl_cstore *s = NULL;

    cs_create(f, NULL);
    pl_cstore_close(f->s);
    f->s = NULL;
    assert_int_equal(chmod(f->home, 0750), 0);
    cs_open_expect(f, NULL, PL_CSTORE_E_PERMISSIONS);
    assert_int_equal(chmod(f->home, 0702), 0);
    cs_open_expect(f, NULL, PL_CSTORE_E_PERMISSIONS);
    assert_int_equal(chmod(f->home, 0700), 0);
    cs_open_expect(f, NULL, PL_CSTORE_OK);

    /* create refuses an existing, open directory too, naming it */
    assert_int_equal(chmod(f->dir, 0755), 0);
    RC(pl_cstore_create(&s, f->dir, NULL, err, sizeof err), PL_CSTORE_E_PERMISSIONS);
    assert_null(s);
    assert_non_null(strstr(err, f->dir));
    assert_int_equal(chmod(f->dir, 0700), 0);
}

static void a_file_readable_by_others_is_refused(void **state)
{
    fixture *f = *state;
    const char *names[] = {"store.key", "parley.db", "parley.db-wal"};
    char p[256];
    size_t i;

    cs_create(f, NULL);
    RC(pl_cstore_setting_set(f->s, "x", "y"), PL_CSTORE_OK);
    /* keep the WAL file: a second connection stays open while the store closes */
    {
        sqlite3 *db = NULL;

        assert_int_equal(sqlite3_open(cs_path(f, "parley.db", p), &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM settings", NULL, NULL, NULL),
                         SQLITE_OK);
        pl_cstore_close(f->s);
        f->s = NULL;
        for (i = 0; i < sizeof names / sizeof names[0]; i++) {
            assert_int_equal(chmod(cs_path(f, names[i], p), 0644), 0);
            cs_open_expect(f, NULL, PL_CSTORE_E_PERMISSIONS);
            assert_int_equal(chmod(p, 0600), 0);
        }
        sqlite3_close(db);
    }
    cs_open_expect(f, NULL, PL_CSTORE_OK);
}

static void a_second_open_is_locked(void **state)
{
    fixture *f = *state;

    cs_create(f, NULL);
    cs_open_expect(f, NULL, PL_CSTORE_E_LOCKED);
    pl_cstore_close(f->s);
    f->s = NULL;
    cs_open_expect(f, NULL, PL_CSTORE_OK);
}

static void create_refuses_an_existing_store_and_open_a_missing_one(void **state)
{
    fixture *f = *state;
    char err[256] = "";
    pl_cstore *s = NULL;

    cs_open_expect(f, NULL, PL_CSTORE_E_NO_HOME); /* no directory */
    assert_int_equal(mkdir(f->home, 0700), 0);
    cs_open_expect(f, NULL, PL_CSTORE_E_NO_HOME); /* empty directory */
    {
        char p[256];

        assert_int_equal(access(cs_path(f, "lock", p), F_OK), -1); /* left nothing behind */
    }
    cs_create(f, NULL);
    pl_cstore_close(f->s);
    f->s = NULL;
    RC(pl_cstore_create(&s, f->home, NULL, err, sizeof err), PL_CSTORE_E_EXISTS);
    assert_null(s);
    RC(pl_cstore_create(&s, f->home, "pw", err, sizeof err), PL_CSTORE_E_EXISTS);
    cs_open_expect(f, NULL, PL_CSTORE_OK);
}

static void a_passphrase_protects_the_key(void **state)
{
    fixture *f = *state;
    char p[256], v[16];

    cs_create(f, "correct horse");
    RC(pl_cstore_setting_set(f->s, "user", "alice"), PL_CSTORE_OK);
    pl_cstore_close(f->s);
    f->s = NULL;
    assert_int_equal(access(cs_path(f, "store.key", p), F_OK), -1);
    assert_int_equal(cs_mode(cs_path(f, "store.key.enc", p)), 0600);
    cs_open_expect(f, NULL, PL_CSTORE_E_NEED_PASSPHRASE);
    cs_open_expect(f, "", PL_CSTORE_E_NEED_PASSPHRASE);
    cs_open_expect(f, "correct horsf", PL_CSTORE_E_PASSPHRASE);
    {
        char err[256] = "";

        RC(pl_cstore_open(&f->s, f->home, "correct horse", err, sizeof err), PL_CSTORE_OK);
    }
    RC(pl_cstore_setting_get(f->s, "user", v, sizeof v), PL_CSTORE_OK);
    assert_string_equal(v, "alice");
}

/* Rewrites bytes [off, off + len) of home/name. */
static void patch(fixture *f, const char *name, size_t off, const void *bytes, size_t len)
{
    char p[256];
    size_t n = 0;
    uint8_t *data = tu_read_file(cs_path(f, name, p), &n);

    assert_non_null(data);
    assert_true(off + len <= n);
    memcpy(data + off, bytes, len);
    cs_write_file(p, data, n);
    free(data);
}

static void key_enc_limits_are_bounded(void **state)
{
    fixture *f = *state;
    static const uint8_t huge[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    static const uint8_t zero[8] = {0};
    char p[256];
    size_t n = 0;
    uint8_t *orig;

    cs_create(f, "pw");
    pl_cstore_close(f->s);
    f->s = NULL;
    orig = tu_read_file(cs_path(f, "store.key.enc", p), &n);
    assert_non_null(orig);
    assert_int_equal(n, 112);
    patch(f, "store.key.enc", 16, huge, 8); /* memlimit */
    cs_open_expect(f, "pw", PL_CSTORE_E_CORRUPT);
    cs_write_file(p, orig, n);
    patch(f, "store.key.enc", 8, huge, 8); /* opslimit */
    cs_open_expect(f, "pw", PL_CSTORE_E_CORRUPT);
    cs_write_file(p, orig, n);
    patch(f, "store.key.enc", 8, zero, 8);
    cs_open_expect(f, "pw", PL_CSTORE_E_CORRUPT);
    cs_write_file(p, orig, n);
    patch(f, "store.key.enc", 0, "XXXX", 4); /* magic */
    cs_open_expect(f, "pw", PL_CSTORE_E_CORRUPT);
    cs_write_file(p, orig, n);
    {
        /* One ciphertext byte flipped (never a no-op, as writing a fixed byte could be): it
         * looks like a wrong passphrase. */
        uint8_t flipped = (uint8_t)(orig[100] ^ 0x01);

        patch(f, "store.key.enc", 100, &flipped, 1);
    }
    cs_open_expect(f, "pw", PL_CSTORE_E_PASSPHRASE);
    cs_write_file(p, orig, n - 1); /* truncated */
    cs_open_expect(f, "pw", PL_CSTORE_E_CORRUPT);
    cs_write_file(p, orig, 0);
    cs_open_expect(f, "pw", PL_CSTORE_E_CORRUPT);
    cs_write_file(p, orig, n);
    cs_open_expect(f, "pw", PL_CSTORE_OK);
    free(orig);
}

static void a_damaged_or_foreign_key_file_is_corrupt(void **state)
{
    fixture *f = *state;
    uint8_t other[33];
    char p[256], q[256];

    cs_create(f, NULL);
    pl_cstore_close(f->s);
    f->s = NULL;
    memset(other, 0x42, sizeof other);
    cs_write_file(cs_path(f, "store.key", p), other, 16); /* truncated */
    cs_open_expect(f, NULL, PL_CSTORE_E_CORRUPT);
    cs_write_file(p, other, 33); /* too long */
    cs_open_expect(f, NULL, PL_CSTORE_E_CORRUPT);
    cs_write_file(p, other, 32); /* a key that is not this store's */
    cs_open_expect(f, NULL, PL_CSTORE_E_CORRUPT);
    cs_write_file(cs_path(f, "store.key.enc", q), other, 32); /* both key files */
    cs_open_expect(f, "pw", PL_CSTORE_E_CORRUPT);
    unlink(q);
    unlink(p);
    cs_open_expect(f, NULL, PL_CSTORE_E_NO_HOME);
}

static void a_foreign_database_is_corrupt(void **state)
{
    fixture *f = *state;
    static const char junk[] = "this is not a database, just a text file with some words in it";
    char p[256];
    size_t n = 0;
    uint8_t *orig;

    cs_create(f, NULL);
    pl_cstore_close(f->s);
    f->s = NULL;
    orig = tu_read_file(cs_path(f, "parley.db", p), &n);
    assert_non_null(orig);
    cs_write_file(p, junk, sizeof junk);
    cs_open_expect(f, NULL, PL_CSTORE_E_CORRUPT);
    unlink(p);
    cs_raw_exec(f, "CREATE TABLE t(x); PRAGMA application_id = 1234");
    assert_int_equal(chmod(p, 0600), 0);
    cs_open_expect(f, NULL, PL_CSTORE_E_CORRUPT);
    unlink(p);
    cs_open_expect(f, NULL, PL_CSTORE_E_CORRUPT); /* key without a database */
    cs_write_file(p, orig, n);
    cs_open_expect(f, NULL, PL_CSTORE_OK);
    free(orig);
}

static void a_newer_schema_is_refused(void **state)
{
    fixture *f = *state;

    cs_create(f, NULL);
    pl_cstore_close(f->s);
    f->s = NULL;
    cs_raw_exec(f, "UPDATE schema_version SET version = 99");
    cs_open_expect(f, NULL, PL_CSTORE_E_VERSION);
    cs_raw_exec(f, "DELETE FROM meta");
    cs_raw_exec(f, "UPDATE schema_version SET version = 4"); /* the current version */
    cs_open_expect(f, NULL, PL_CSTORE_E_CORRUPT);            /* no key check */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strerror_names_every_code),
        cmocka_unit_test_setup_teardown(create_then_open_round_trip, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(files_are_private_whatever_the_umask, cs_setup,
                                        cs_teardown),
        cmocka_unit_test_setup_teardown(a_home_readable_by_others_is_refused, cs_setup,
                                        cs_teardown),
        cmocka_unit_test_setup_teardown(a_file_readable_by_others_is_refused, cs_setup,
                                        cs_teardown),
        cmocka_unit_test_setup_teardown(a_second_open_is_locked, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(create_refuses_an_existing_store_and_open_a_missing_one,
                                        cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(a_passphrase_protects_the_key, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(key_enc_limits_are_bounded, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(a_damaged_or_foreign_key_file_is_corrupt, cs_setup,
                                        cs_teardown),
        cmocka_unit_test_setup_teardown(a_foreign_database_is_corrupt, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(a_newer_schema_is_refused, cs_setup, cs_teardown),
    };

    if (setenv("PARLEY_TEST_FAST_KDF", "1", 1) != 0 || sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
