/*
 * cstore_home.c: the local store's home directory: its permission checks, the flock lock
 * that keeps a second process out, and the small files (the store key) written atomically
 * with temp file, fsync, rename and a directory fsync.
 *
 * Permissions: the home must be owned by us and neither group nor others may read or write
 * it; every parley file in it must be a regular file owned by us with no group or other
 * bits. Files are created 0600 and directories 0700 whatever the umask (fchmod / chmod after
 * creating them), as ssh does for its keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cstore_internal.h"

void pl__cstore_set_err(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    if (!err || err_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

int pl__cstore_join(char out[PL__CSTORE_PATH_MAX], const char *dir, const char *name)
{
    int n = snprintf(out, PL__CSTORE_PATH_MAX, "%s/%s", dir, name);

    if (n < 0 || n >= PL__CSTORE_PATH_MAX)
        return PL_CSTORE_E_INVALID_ARG;
    return PL_CSTORE_OK;
}

int pl__cstore_home_check(const char *home, int create, char *err, size_t err_len)
{
    struct stat st;

    if (create && mkdir(home, 0700) == 0) {
        /* mkdir's mode passed through the umask; make it exactly 0700. */
        if (chmod(home, 0700) != 0) {
            pl__cstore_set_err(err, err_len, "%s: chmod: %s", home, strerror(errno));
            return PL_CSTORE_E_IO;
        }
    } else if (create && errno != EEXIST) {
        pl__cstore_set_err(err, err_len, "%s: cannot create: %s", home, strerror(errno));
        return PL_CSTORE_E_IO;
    }
    if (stat(home, &st) != 0) {
        pl__cstore_set_err(err, err_len, "%s: %s", home, strerror(errno));
        return errno == ENOENT || errno == ENOTDIR ? PL_CSTORE_E_NO_HOME : PL_CSTORE_E_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        pl__cstore_set_err(err, err_len, "%s: not a directory", home);
        return PL_CSTORE_E_NO_HOME;
    }
    if (st.st_uid != geteuid()) {
        pl__cstore_set_err(err, err_len, "%s: owned by another user", home);
        return PL_CSTORE_E_PERMISSIONS;
    }
    if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
        pl__cstore_set_err(err, err_len,
                           "%s: group or others may read or write it (mode %03o; chmod 700 it)",
                           home, (unsigned)(st.st_mode & 0777));
        return PL_CSTORE_E_PERMISSIONS;
    }
    return PL_CSTORE_OK;
}

int pl__cstore_file_check(const char *home, const char *name, int *exists, char *err,
                          size_t err_len)
{
    char path[PL__CSTORE_PATH_MAX];
    struct stat st;

    *exists = 0;
    if (pl__cstore_join(path, home, name) != PL_CSTORE_OK) {
        pl__cstore_set_err(err, err_len, "%s: path too long", home);
        return PL_CSTORE_E_INVALID_ARG;
    }
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return PL_CSTORE_OK;
        pl__cstore_set_err(err, err_len, "%s: %s", path, strerror(errno));
        return PL_CSTORE_E_IO;
    }
    *exists = 1;
    if (!S_ISREG(st.st_mode)) {
        pl__cstore_set_err(err, err_len, "%s: not a regular file", path);
        return PL_CSTORE_E_PERMISSIONS;
    }
    if (st.st_uid != geteuid()) {
        pl__cstore_set_err(err, err_len, "%s: owned by another user", path);
        return PL_CSTORE_E_PERMISSIONS;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        pl__cstore_set_err(err, err_len,
                           "%s: group or others may access it (mode %03o; chmod 600 it)", path,
                           (unsigned)(st.st_mode & 0777));
        return PL_CSTORE_E_PERMISSIONS;
    }
    return PL_CSTORE_OK;
}

int pl__cstore_lock(const char *home, int *fd, char *err, size_t err_len)
{
    char path[PL__CSTORE_PATH_MAX];
    int f = -1;
    int r;

    *fd = -1;
    r = PL_CSTORE_E_INVALID_ARG;
    if (pl__cstore_join(path, home, PL__CSTORE_LOCK) != PL_CSTORE_OK) {
        pl__cstore_set_err(err, err_len, "%s: path too long", home);
        goto out;
    }
    r = PL_CSTORE_E_IO;
    if ((f = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
        pl__cstore_set_err(err, err_len, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            pl__cstore_set_err(err, err_len, "%s: another parley process is using this home", home);
            r = PL_CSTORE_E_LOCKED;
        } else {
            pl__cstore_set_err(err, err_len, "%s: flock: %s", path, strerror(errno));
        }
        goto out;
    }
    *fd = f; /* hand over */
    f = -1;
    r = PL_CSTORE_OK;
out:
    if (f >= 0)
        close(f);
    return r;
}

/* Writes all of data to fd, retrying short writes and EINTR. */
static int write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int pl__cstore_write_file(const char *home, const char *name, const uint8_t *data, size_t len,
                          char *err, size_t err_len)
{
    char path[PL__CSTORE_PATH_MAX], tmp[PL__CSTORE_PATH_MAX], tname[128];
    struct stat st;
    int fd = -1, made = 0;
    int r;

    r = PL_CSTORE_E_INVALID_ARG;
    snprintf(tname, sizeof tname, "%s.tmp", name);
    if (pl__cstore_join(path, home, name) != PL_CSTORE_OK ||
        pl__cstore_join(tmp, home, tname) != PL_CSTORE_OK) {
        pl__cstore_set_err(err, err_len, "%s: path too long", home);
        goto out;
    }
    r = PL_CSTORE_E_EXISTS;
    if (lstat(path, &st) == 0) {
        pl__cstore_set_err(err, err_len, "%s: already exists", path);
        goto out;
    }
    r = PL_CSTORE_E_IO;
    /* A temporary file left by a crash: we hold the lock, so nobody else is writing it. */
    (void)unlink(tmp);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
        pl__cstore_set_err(err, err_len, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    made = 1;
    if (fchmod(fd, 0600) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        pl__cstore_set_err(err, err_len, "%s: write: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        pl__cstore_set_err(err, err_len, "%s: close: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        pl__cstore_set_err(err, err_len, "%s: rename: %s", path, strerror(errno));
        goto out;
    }
    made = 0;
    if (fsync_dir(home) != 0) {
        pl__cstore_set_err(err, err_len, "%s: fsync: %s", home, strerror(errno));
        (void)unlink(path);
        goto out;
    }
    r = PL_CSTORE_OK;
out:
    if (fd >= 0)
        close(fd);
    if (made)
        (void)unlink(tmp);
    return r;
}

int pl__cstore_read_file(const char *home, const char *name, uint8_t *out, size_t len, char *err,
                         size_t err_len)
{
    char path[PL__CSTORE_PATH_MAX];
    struct stat st;
    size_t got = 0;
    int fd = -1;
    int r;

    r = PL_CSTORE_E_INVALID_ARG;
    if (pl__cstore_join(path, home, name) != PL_CSTORE_OK) {
        pl__cstore_set_err(err, err_len, "%s: path too long", home);
        goto out;
    }
    r = PL_CSTORE_E_IO;
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        pl__cstore_set_err(err, err_len, "%s: %s", path, strerror(errno));
        goto out;
    }
    r = PL_CSTORE_E_CORRUPT;
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size != len) {
        pl__cstore_set_err(err, err_len, "%s: damaged (%lld bytes, expected %zu)", path,
                           (long long)st.st_size, len);
        goto out;
    }
    while (got < len) {
        ssize_t n = read(fd, out + got, len - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            pl__cstore_set_err(err, err_len, "%s: read: %s", path, strerror(errno));
            r = PL_CSTORE_E_IO;
            goto out;
        }
        if (n == 0) {
            pl__cstore_set_err(err, err_len, "%s: damaged (shorter than expected)", path);
            goto out;
        }
        got += (size_t)n;
    }
    r = PL_CSTORE_OK;
out:
    if (fd >= 0)
        close(fd);
    return r;
}
