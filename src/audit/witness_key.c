/* witness_key.c: the auditor's witness key file (witness_key.h). */
#define _POSIX_C_SOURCE 200809L
#include "witness_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "parley/error.h"

/* Writes all of p[0..n) to fd. Returns 0 or -1 (errno set). */
static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r;

    if (fd < 0)
        return -1;
    r = fsync(fd);
    close(fd);
    return r;
}

int pl_audit_key_create(const char *dir, char *err, size_t err_len)
{
    char path[4096], tmp[4096];
    uint8_t seed[PL_AUDIT_KEY_SEED_BYTES];
    int fd = -1, r = -1, n1, n2;

    n1 = snprintf(path, sizeof path, "%s/%s", dir, PL_AUDIT_KEY_FILE);
    n2 = snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, PL_AUDIT_KEY_FILE);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof path || (size_t)n2 >= sizeof tmp) {
        snprintf(err, err_len, "state directory path too long");
        return -1;
    }
    randombytes_buf(seed, sizeof seed);
    (void)unlink(tmp); /* a leftover of an interrupted init; never the key itself */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_len, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (write_all(fd, seed, sizeof seed) != 0 || fsync(fd) != 0) {
        snprintf(err, err_len, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    /* link() refuses an existing target: an init never replaces a key that is in use */
    if (link(tmp, path) != 0) {
        snprintf(err, err_len, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    if (fsync_dir(dir) != 0) {
        snprintf(err, err_len, "cannot sync %s: %s", dir, strerror(errno));
        goto out;
    }
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    (void)unlink(tmp);
    sodium_memzero(seed, sizeof seed);
    return r;
}

int pl_audit_key_load(const char *dir, pl_audit_key **out, char *err, size_t err_len)
{
    char path[4096];
    uint8_t seed[PL_AUDIT_KEY_SEED_BYTES + 1];
    pl_audit_key *k = NULL;
    struct stat st;
    ssize_t got;
    int fd = -1, r = -1, n;

    *out = NULL;
    n = snprintf(path, sizeof path, "%s/%s", dir, PL_AUDIT_KEY_FILE);
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(err, err_len, "state directory path too long");
        return -1;
    }
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s is not a regular file", path);
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        snprintf(err, err_len, "%s is accessible to group or others (mode %03o); chmod 600 it",
                 path, (unsigned)(st.st_mode & 0777));
        goto out;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, err_len, "%s belongs to another user", path);
        goto out;
    }
    do
        got = read(fd, seed, sizeof seed);
    while (got < 0 && errno == EINTR);
    if (got != (ssize_t)PL_AUDIT_KEY_SEED_BYTES) {
        snprintf(err, err_len, "%s is not a witness key (%u bytes expected)", path,
                 PL_AUDIT_KEY_SEED_BYTES);
        goto out;
    }
    if (!(k = sodium_malloc(sizeof *k))) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
    *out = k;
    k = NULL;
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    pl_audit_key_free(k);
    sodium_memzero(seed, sizeof seed);
    return r;
}

void pl_audit_key_free(pl_audit_key *k)
{
    if (k)
        sodium_free(k); /* wipes */
}

int pl_audit_key_verifier(const pl_audit_key *k, const char *name, size_t name_len,
                          pl_note_verifier *out)
{
    return pl_note_verifier_init(name, name_len, PL_NOTE_TYPE_COSIGNATURE_V1, k->pk, out);
}
