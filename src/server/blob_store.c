/*
 * blob_store.c: attachment blobs' bytes as files under DATA/blobs/ (blob_store.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob_store.h"

#define BLOB_DIR "blobs"

/* DATA/blobs/<hex id>, or DATA/blobs when id is NULL. Returns 0 or -ENAMETOOLONG. */
static int blob_path(char *out, size_t cap, const char *data_dir,
                     const uint8_t id[PL_STORE_BLOB_ID_BYTES])
{
    static const char hex[] = "0123456789abcdef";
    char name[2 * PL_STORE_BLOB_ID_BYTES + 1];
    int n;

    if (!id) {
        n = snprintf(out, cap, "%s/%s", data_dir, BLOB_DIR);
    } else {
        for (size_t i = 0; i < PL_STORE_BLOB_ID_BYTES; i++) {
            name[2 * i] = hex[id[i] >> 4];
            name[2 * i + 1] = hex[id[i] & 15];
        }
        name[sizeof name - 1] = '\0';
        n = snprintf(out, cap, "%s/%s/%s", data_dir, BLOB_DIR, name);
    }
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) != 0)
        r = -errno;
    close(fd);
    return r;
}

int pl_blob_file_write(const char *data_dir, const uint8_t id[PL_STORE_BLOB_ID_BYTES],
                       uint64_t offset, const uint8_t *data, size_t len)
{
    char dir[1200], path[1200];
    int fd, r = 0, created = 0;

    if (offset > (uint64_t)INT64_MAX - len)
        return -EINVAL;
    if ((r = blob_path(dir, sizeof dir, data_dir, NULL)) != 0 ||
        (r = blob_path(path, sizeof path, data_dir, id)) != 0)
        return r;
    if (mkdir(dir, 0700) == 0) {
        if ((r = fsync_dir(data_dir)) != 0)
            return r;
    } else if (errno != EEXIST) {
        return -errno;
    }
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        created = 1;
    }
    if (fd < 0)
        return -errno;
    for (size_t done = 0; done < len;) {
        ssize_t w = pwrite(fd, data + done, len - done, (off_t)(offset + done));

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            r = w < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)w;
    }
    /* A new file's directory entry now; its data with the batch (pl_blob_file_sync). */
    if (close(fd) != 0 && r == 0)
        r = -errno;
    if (r == 0 && created)
        r = fsync_dir(dir);
    return r;
}

int pl_blob_file_sync(const char *data_dir, const uint8_t id[PL_STORE_BLOB_ID_BYTES])
{
    char path[1200];
    int fd, r;

    if ((r = blob_path(path, sizeof path, data_dir, id)) != 0)
        return r;
    if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
        return -errno;
    r = fsync(fd) != 0 ? -errno : 0;
    if (close(fd) != 0 && r == 0)
        r = -errno;
    return r;
}

int pl_blob_file_read(const char *data_dir, const uint8_t id[PL_STORE_BLOB_ID_BYTES],
                      uint64_t offset, uint8_t *out, size_t len)
{
    char path[1200];
    int fd, r = 0;

    if (offset > (uint64_t)INT64_MAX - len)
        return -EINVAL;
    if ((r = blob_path(path, sizeof path, data_dir, id)) != 0)
        return r;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -errno;
    for (size_t done = 0; done < len;) {
        ssize_t got = pread(fd, out + done, len - done, (off_t)(offset + done));

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            r = got < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)got;
    }
    close(fd);
    return r;
}

int pl_blob_file_remove(const char *data_dir, const uint8_t id[PL_STORE_BLOB_ID_BYTES])
{
    char path[1200];
    int r;

    if ((r = blob_path(path, sizeof path, data_dir, id)) != 0)
        return r;
    if (unlink(path) != 0 && errno != ENOENT)
        return -errno;
    return 0;
}
