/*
 * client_attach_crypt.c: an attachment's encryption and decryption, file to file, in bounded
 * memory (client_attach.h, PROTOCOL.md §27.2), and the check of a received descriptor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_attach.h"

typedef crypto_secretstream_xchacha20poly1305_state ss_state;

uint64_t cl_attach_cipher_size(uint64_t size, uint32_t chunk)
{
    uint64_t n = size == 0 ? 1 : (size + chunk - 1) / chunk;

    return CL_ATTACH_HEADER_BYTES + n * CL_ATTACH_ABYTES + size;
}

int cl_attachment_check(const Parley__Attachment *a)
{
    size_t n;

    if (a->blob_id.len != CL_ATTACH_BLOB_ID_BYTES || a->key.len != CL_ATTACH_KEY_BYTES ||
        a->sha256.len != 32 || a->size > CL_ATTACH_MAX_SIZE ||
        a->chunk_bytes < CL_ATTACH_MIN_CHUNK || a->chunk_bytes > CL_ATTACH_MAX_CHUNK || !a->name ||
        !a->media_type)
        return -1;
    n = strnlen(a->name, CL_ATTACH_MAX_NAME + 1);
    if (n == 0 || n > CL_ATTACH_MAX_NAME || strcmp(a->name, ".") == 0 || strcmp(a->name, "..") == 0)
        return -1;
    /* A name is shown and used as a file name in the save directory: never a path. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)a->name[i] < 0x20 || a->name[i] == 0x7f || a->name[i] == '/' ||
            a->name[i] == '\\')
            return -1;
    n = strnlen(a->media_type, CL_ATTACH_MAX_MEDIA_TYPE + 1);
    if (n > CL_ATTACH_MAX_MEDIA_TYPE)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)a->media_type[i] <= 0x20 || (unsigned char)a->media_type[i] >= 0x7f)
            return -1;
    return 0;
}

/* Reads up to len bytes, fewer only at the end of the file. Returns the count or -1. */
static ssize_t read_full(int fd, uint8_t *p, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int write_full(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int cl_attach_encrypt_fd(int in_fd, int out_fd, const uint8_t key[CL_ATTACH_KEY_BYTES],
                         uint64_t *size, uint8_t sha256[32])
{
    uint8_t header[CL_ATTACH_HEADER_BYTES];
    uint8_t *pt = malloc(CL_ATTACH_CHUNK_BYTES), *next = malloc(CL_ATTACH_CHUNK_BYTES);
    uint8_t *ct = malloc(CL_ATTACH_CHUNK_BYTES + CL_ATTACH_ABYTES);
    crypto_hash_sha256_state h;
    ss_state st;
    ssize_t have, more;
    uint64_t total = 0;
    int r = -1;

    *size = 0;
    memset(sha256, 0, 32);
    if (!pt || !next || !ct)
        goto out;
    crypto_hash_sha256_init(&h);
    crypto_secretstream_xchacha20poly1305_init_push(&st, header, key);
    if (write_full(out_fd, header, sizeof header) != 0)
        goto out;
    /* One chunk of look-ahead: the last chunk (maybe empty) is the one tagged FINAL. */
    if ((have = read_full(in_fd, pt, CL_ATTACH_CHUNK_BYTES)) < 0)
        goto out;
    for (;;) {
        unsigned long long clen;
        uint8_t *tmp;
        int final;

        more = 0;
        if (have == CL_ATTACH_CHUNK_BYTES &&
            (more = read_full(in_fd, next, CL_ATTACH_CHUNK_BYTES)) < 0)
            goto out;
        final = more == 0;
        total += (uint64_t)have;
        if (total > CL_ATTACH_MAX_SIZE) {
            r = -2;
            goto out;
        }
        crypto_hash_sha256_update(&h, pt, (unsigned long long)have);
        crypto_secretstream_xchacha20poly1305_push(
            &st, ct, &clen, pt, (unsigned long long)have, NULL, 0,
            final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
        if (write_full(out_fd, ct, (size_t)clen) != 0)
            goto out;
        if (final)
            break;
        tmp = pt;
        pt = next;
        next = tmp;
        have = more;
    }
    crypto_hash_sha256_final(&h, sha256);
    *size = total;
    r = 0;
out:
    sodium_memzero(&st, sizeof st);
    if (pt)
        sodium_memzero(pt, CL_ATTACH_CHUNK_BYTES);
    if (next)
        sodium_memzero(next, CL_ATTACH_CHUNK_BYTES);
    free(pt);
    free(next);
    free(ct);
    return r;
}

int cl_attach_decrypt_fd(int in_fd, int out_fd, const Parley__Attachment *a)
{
    const uint32_t chunk = a->chunk_bytes;
    uint8_t header[CL_ATTACH_HEADER_BYTES], digest[32], extra;
    uint8_t *ct = malloc((size_t)chunk + CL_ATTACH_ABYTES), *pt = malloc(chunk);
    crypto_hash_sha256_state h;
    ss_state st;
    uint64_t left = a->size;
    int r = -1;

    if (!ct || !pt)
        goto out;
    crypto_hash_sha256_init(&h);
    if (read_full(in_fd, header, sizeof header) != (ssize_t)sizeof header) {
        r = -3;
        goto out;
    }
    if (crypto_secretstream_xchacha20poly1305_init_pull(&st, header, a->key.data) != 0) {
        r = -3;
        goto out;
    }
    for (;;) {
        size_t want = left < chunk ? (size_t)left : chunk;
        unsigned long long plen;
        unsigned char tag;
        int last = left <= chunk; /* by the announced size, this chunk must be the final one */
        ssize_t got = read_full(in_fd, ct, want + CL_ATTACH_ABYTES);

        if (got < 0)
            goto out;
        if ((size_t)got != want + CL_ATTACH_ABYTES ||
            crypto_secretstream_xchacha20poly1305_pull(&st, pt, &plen, &tag, ct, (size_t)got, NULL,
                                                       0) != 0 ||
            plen != want || (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) != last) {
            r = -3;
            goto out;
        }
        crypto_hash_sha256_update(&h, pt, plen);
        if (write_full(out_fd, pt, (size_t)plen) != 0)
            goto out;
        left -= plen;
        if (last)
            break;
    }
    /* Nothing may follow the final message. */
    if (read_full(in_fd, &extra, 1) != 0) {
        r = -3;
        goto out;
    }
    crypto_hash_sha256_final(&h, digest);
    if (sodium_memcmp(digest, a->sha256.data, sizeof digest) != 0) {
        r = -3;
        goto out;
    }
    r = 0;
out:
    sodium_memzero(&st, sizeof st);
    if (pt)
        sodium_memzero(pt, chunk);
    free(ct);
    free(pt);
    return r;
}
