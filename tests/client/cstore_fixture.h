/*
 * cstore_fixture.h: helpers shared by the local store's tests: a fresh mkdtemp directory per
 * test with the home inside it (both removed by the teardown), raw file and SQLite access for
 * damaging a store on purpose, and an error-naming assertion.
 *
 * Header-only (static inline) because each test program is one .c file plus testutil.c.
 */
#ifndef PARLEY_TEST_CSTORE_FIXTURE_H
#define PARLEY_TEST_CSTORE_FIXTURE_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "cstore.h"

/* Fails the test unless got == want, naming both codes. */
#define RC(got, want) cs_assert_rc((got), (want), __FILE__, __LINE__)

static inline void cs_assert_rc(int got, int want, const char *file, int line)
{
    if (got != want) {
        print_error("got %d (%s), want %d (%s)\n", got, pl_cstore_strerror(got), want,
                    pl_cstore_strerror(want));
        _fail(file, line);
    }
}

typedef struct fixture {
    char dir[64];
    char home[128];
    pl_cstore *s;
} fixture;

static inline int cs_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/parley-cstore-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->home, sizeof f->home, "%s/home", f->dir);
    *state = f;
    return 0;
}

/* Removes the files of dir (one level) and dir itself. */
static inline void cs_rmdir(const char *dir)
{
    char path[1024];
    struct dirent *e;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(path, sizeof path, "%.500s/%.255s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (unlink(path) != 0)
            cs_rmdir(path);
    }
    closedir(d);
    rmdir(dir);
}

static inline int cs_teardown(void **state)
{
    fixture *f = *state;

    pl_cstore_close(f->s);
    chmod(f->home, 0700);
    cs_rmdir(f->dir);
    free(f);
    return 0;
}

/* home/name into out. */
static inline const char *cs_path(const fixture *f, const char *name, char out[256])
{
    snprintf(out, 256, "%s/%s", f->home, name);
    return out;
}

static inline void cs_create(fixture *f, const char *passphrase)
{
    char err[256] = "";

    RC(pl_cstore_create(&f->s, f->home, passphrase, err, sizeof err), PL_CSTORE_OK);
    assert_non_null(f->s);
}

/* Closes f->s and opens the home again (without a passphrase). */
static inline void cs_reopen(fixture *f)
{
    char err[256] = "";

    pl_cstore_close(f->s);
    f->s = NULL;
    RC(pl_cstore_open(&f->s, f->home, NULL, err, sizeof err), PL_CSTORE_OK);
}

/* Opens the home with passphrase and expects want (and a NULL handle unless OK). */
static inline void cs_open_expect(fixture *f, const char *passphrase, int want)
{
    char err[256] = "";
    pl_cstore *s = (pl_cstore *)1;

    RC(pl_cstore_open(&s, f->home, passphrase, err, sizeof err), want);
    if (want == PL_CSTORE_OK) {
        assert_non_null(s);
        pl_cstore_close(s);
    } else {
        assert_null(s);
        assert_true(strlen(err) > 0);
    }
}

static inline void cs_write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, 0600), 0);
}

/* Runs sql on home/parley.db directly (the store must be closed). */
static inline void cs_raw_exec(fixture *f, const char *sql)
{
    char path[256];
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(cs_path(f, "parley.db", path), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static inline mode_t cs_mode(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

#endif
