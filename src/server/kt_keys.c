/*
 * kt_keys.c: loading and first-start creation of the log's keys (kt_keys.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "kt_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"

static const char *const files[3] = {"log.key", "vrf.key", "open.key"};

static void say(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (!err || !len)
        return;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* Reads exactly 32 bytes from path, refusing a file others may read. 0, -1 on error. */
static int read_key(const char *path, uint8_t out[PL_KT_KEY_FILE_BYTES], char *err, size_t len)
{
    struct stat st;
    uint8_t extra;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = -1;

    if (fd < 0) {
        say(err, len, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        say(err, len, "%s is not a regular file", path);
        goto out;
    }
    if (st.st_mode & 077) {
        say(err, len, "%s is readable by group or others; chmod 600 it", path);
        goto out;
    }
    while (got < PL_KT_KEY_FILE_BYTES) {
        ssize_t n = read(fd, out + got, PL_KT_KEY_FILE_BYTES - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != PL_KT_KEY_FILE_BYTES || read(fd, &extra, 1) != 0) {
        say(err, len, "%s is not a 32-byte key file", path);
        goto out;
    }
    r = 0;
out:
    close(fd);
    return r;
}

/* Writes a new key file durably: temporary file (0600), fsync, rename. */
static int write_key(const char *path, const uint8_t key[PL_KT_KEY_FILE_BYTES], char *err,
                     size_t len)
{
    char tmp[PL_CONFIG_PATH_MAX + 32];
    size_t done = 0;
    int fd, n = snprintf(tmp, sizeof tmp, "%s.tmp", path);

    if (n < 0 || (size_t)n >= sizeof tmp) {
        say(err, len, "key path too long");
        return -1;
    }
    (void)unlink(tmp);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        say(err, len, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    while (done < PL_KT_KEY_FILE_BYTES) {
        ssize_t w = write(fd, key + done, PL_KT_KEY_FILE_BYTES - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    if (done != PL_KT_KEY_FILE_BYTES || fsync(fd) != 0) {
        say(err, len, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        say(err, len, "cannot rename %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

void pl_kt_keys_free(pl_kt_keys *k)
{
    if (!k)
        return;
    sodium_free(k->log_sk);
    sodium_free(k->vrf_seed);
    sodium_free(k->open_key);
    sodium_memzero(k, sizeof *k);
    free(k);
}

/* origin = name "/kt/v1/" hex(SHA-256("parley/kt-config/v1" || log_pk || vrf_pk)[0:8]) */
static int make_origin(pl_kt_keys *k, const char *name)
{
    static const char label[] = "parley/kt-config/v1";
    crypto_hash_sha256_state h;
    uint8_t digest[32];
    char hex[17];
    int n;

    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)label, sizeof label - 1);
    crypto_hash_sha256_update(&h, k->log_pk, sizeof k->log_pk);
    crypto_hash_sha256_update(&h, k->vrf_pk, sizeof k->vrf_pk);
    crypto_hash_sha256_final(&h, digest);
    sodium_bin2hex(hex, sizeof hex, digest, 8);
    n = snprintf(k->origin, sizeof k->origin, "%s/kt/v1/%s", name, hex);
    if (n < 0 || (size_t)n >= sizeof k->origin)
        return -1;
    k->origin_len = (size_t)n;
    return 0;
}

int pl_kt_keys_load(pl_kt_keys **out, const char *data_dir, const char *name, int *created,
                    char *err, size_t err_len)
{
    char dir[PL_CONFIG_PATH_MAX], path[3][PL_CONFIG_PATH_MAX + 16];
    uint8_t seeds[3][PL_KT_KEY_FILE_BYTES];
    uint8_t *dst[3];
    pl_kt_keys *k = NULL;
    size_t vlen = 0;
    int present = 0, r = -1;

    *out = NULL;
    *created = 0;
    if (strlen(data_dir) + sizeof "/kt/open.key.tmp" > sizeof dir) {
        say(err, err_len, "data directory path too long");
        return -1;
    }
    snprintf(dir, sizeof dir, "%s/kt", data_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        say(err, err_len, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", dir, files[i]);
        present += access(path[i], F_OK) == 0;
    }
    if (present != 0 && present != 3) {
        say(err, err_len,
            "%s holds only some of log.key, vrf.key and open.key; restore the missing ones "
            "from a backup (making new ones would start a new log)",
            dir);
        return -1;
    }
    if (!(k = calloc(1, sizeof *k)) ||
        !(k->log_sk = sodium_malloc(PL_NOTE_ED25519_SECRET_KEY_BYTES)) ||
        !(k->vrf_seed = sodium_malloc(PL_VRF_SECRET_KEY_BYTES)) ||
        !(k->open_key = sodium_malloc(PL_KT_OPEN_KEY_BYTES))) {
        say(err, err_len, "out of memory");
        goto out;
    }
    if (present == 0) {
        for (int i = 0; i < 3; i++)
            randombytes_buf(seeds[i], sizeof seeds[i]);
        for (int i = 0; i < 3; i++)
            if (write_key(path[i], seeds[i], err, err_len) != 0)
                goto out;
        fsync_dir(dir);
        *created = 1;
    } else {
        for (int i = 0; i < 3; i++)
            if (read_key(path[i], seeds[i], err, err_len) != 0)
                goto out;
    }
    dst[0] = NULL;
    dst[1] = k->vrf_seed;
    dst[2] = k->open_key;
    crypto_sign_seed_keypair(k->log_pk, k->log_sk, seeds[0]);
    for (int i = 1; i < 3; i++)
        memcpy(dst[i], seeds[i], PL_KT_KEY_FILE_BYTES);
    pl_vrf_keypair_from_seed(k->vrf_seed, k->vrf_pk);
    if (make_origin(k, name) != 0 ||
        pl_note_verifier_init(k->origin, k->origin_len, PL_NOTE_TYPE_ED25519, k->log_pk,
                              &k->log_verifier) != PL_OK ||
        pl_note_verifier_format(&k->log_verifier, k->log_vkey, sizeof k->log_vkey - 1, &vlen) !=
            PL_OK) {
        say(err, err_len, "the log name \"%s\" does not make a valid origin", name);
        goto out;
    }
    k->log_vkey[vlen] = '\0';
    *out = k;
    k = NULL;
    r = 0;
out:
    sodium_memzero(seeds, sizeof seeds);
    pl_kt_keys_free(k);
    return r;
}
