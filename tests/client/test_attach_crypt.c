/*
 * test_attach_crypt.c: an attachment's encryption (client_attach_crypt.c, PROTOCOL.md §27.2):
 * round trips at the chunk boundaries, the blob's exact length, and every way a blob can be
 * tampered with (a flipped byte in the header, a chunk or a tag; truncation; bytes appended;
 * a chunk dropped or two swapped; the final chunk removed; a wrong key, size or hash),
 * each refused; and the descriptor check on names and lengths.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "client_attach.h"

#define CHUNK CL_ATTACH_CHUNK_BYTES
#define CT_CHUNK (CHUNK + CL_ATTACH_ABYTES)

static int mem_fd(const uint8_t *p, size_t len)
{
    int fd = memfd_create("attach", 0);

    assert_true(fd >= 0);
    if (len)
        assert_int_equal(write(fd, p, len), (ssize_t)len);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static uint8_t *fd_bytes(int fd, size_t *len)
{
    off_t end = lseek(fd, 0, SEEK_END);
    uint8_t *p = malloc(end ? (size_t)end : 1);

    assert_non_null(p);
    assert_int_equal(pread(fd, p, (size_t)end, 0), end);
    *len = (size_t)end;
    return p;
}

typedef struct sealed {
    uint8_t key[CL_ATTACH_KEY_BYTES], hash[32], id[16];
    uint8_t *blob;
    size_t blob_len;
    Parley__Attachment a;
} sealed;

static void seal(sealed *s, const uint8_t *plain, size_t len)
{
    int in = mem_fd(plain, len), out = mem_fd(NULL, 0);
    uint64_t size;

    randombytes_buf(s->key, sizeof s->key);
    randombytes_buf(s->id, sizeof s->id);
    assert_int_equal(cl_attach_encrypt_fd(in, out, s->key, &size, s->hash), 0);
    assert_int_equal(size, len);
    s->blob = fd_bytes(out, &s->blob_len);
    assert_int_equal(s->blob_len, cl_attach_cipher_size(len, CHUNK));
    parley__attachment__init(&s->a);
    s->a.blob_id.data = s->id;
    s->a.blob_id.len = sizeof s->id;
    s->a.key.data = s->key;
    s->a.key.len = sizeof s->key;
    s->a.sha256.data = s->hash;
    s->a.sha256.len = sizeof s->hash;
    s->a.size = len;
    s->a.chunk_bytes = CHUNK;
    s->a.name = (char *)"photo.jpg";
    s->a.media_type = (char *)"image/jpeg";
    close(in);
    close(out);
}

/* Decrypts blob[0..len) under s->a; returns the result and, on 0, checks the plaintext. */
static int open_blob(const sealed *s, const uint8_t *blob, size_t len, const uint8_t *plain)
{
    int in = mem_fd(blob, len), out = mem_fd(NULL, 0);
    int r = cl_attach_decrypt_fd(in, out, &s->a);

    if (r == 0) {
        size_t n;
        uint8_t *got = fd_bytes(out, &n);

        assert_int_equal(n, s->a.size);
        assert_memory_equal(got, plain, n);
        free(got);
    }
    close(in);
    close(out);
    return r;
}

static void round_trips_at_chunk_boundaries(void **state)
{
    static const size_t sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 77};
    uint8_t *plain = malloc(4 * CHUNK);

    (void)state;
    randombytes_buf(plain, 4 * CHUNK);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        sealed s;
        uint8_t want[32];

        seal(&s, plain, sizes[i]);
        crypto_hash_sha256(want, plain, sizes[i]);
        assert_memory_equal(s.hash, want, 32);
        assert_int_equal(open_blob(&s, s.blob, s.blob_len, plain), 0);
        free(s.blob);
    }
    free(plain);
}

static void tampered_blobs_are_refused(void **state)
{
    const size_t len = 3 * CHUNK + 10; /* four chunks: 3 full, 1 short final */
    uint8_t *plain = malloc(len), *b;
    sealed s;
    size_t n;

    (void)state;
    randombytes_buf(plain, len);
    seal(&s, plain, len);
    assert_int_equal(open_blob(&s, s.blob, s.blob_len, plain), 0);
    b = malloc(s.blob_len + 1);
    /* One flipped bit anywhere: header, first chunk, a tag, the final chunk. */
    {
        const size_t where[] = {
            0, 23, 24, 24 + 100, 24 + CT_CHUNK - 1, 24 + 2 * CT_CHUNK + 5, s.blob_len - 1};

        for (size_t i = 0; i < sizeof where / sizeof *where; i++) {
            memcpy(b, s.blob, s.blob_len);
            b[where[i]] ^= 0x01;
            assert_int_equal(open_blob(&s, b, s.blob_len, plain), -3);
        }
    }
    /* Truncated: by one byte, to the header, to nothing. */
    assert_int_equal(open_blob(&s, s.blob, s.blob_len - 1, plain), -3);
    assert_int_equal(open_blob(&s, s.blob, 24, plain), -3);
    assert_int_equal(open_blob(&s, s.blob, 0, plain), -3);
    /* A byte appended after the final message. */
    memcpy(b, s.blob, s.blob_len);
    b[s.blob_len] = 0;
    assert_int_equal(open_blob(&s, b, s.blob_len + 1, plain), -3);
    /* Chunks 1 and 2 swapped. */
    memcpy(b, s.blob, s.blob_len);
    memcpy(b + 24, s.blob + 24 + CT_CHUNK, CT_CHUNK);
    memcpy(b + 24 + CT_CHUNK, s.blob + 24, CT_CHUNK);
    assert_int_equal(open_blob(&s, b, s.blob_len, plain), -3);
    /* Chunk 2 dropped, the size claimed one chunk smaller to match. */
    n = 0;
    memcpy(b, s.blob, 24 + CT_CHUNK);
    n = 24 + CT_CHUNK;
    memcpy(b + n, s.blob + 24 + 2 * CT_CHUNK, s.blob_len - 24 - 2 * CT_CHUNK);
    n += s.blob_len - 24 - 2 * CT_CHUNK;
    s.a.size = len - CHUNK;
    assert_int_equal(open_blob(&s, b, n, plain), -3);
    /* The final chunk removed, the size claimed to end at a full chunk: no final tag there. */
    s.a.size = 3 * CHUNK;
    assert_int_equal(open_blob(&s, s.blob, 24 + 3 * CT_CHUNK, plain), -3);
    s.a.size = len;
    /* Wrong hash, wrong key. */
    s.hash[0] ^= 1;
    assert_int_equal(open_blob(&s, s.blob, s.blob_len, plain), -3);
    s.hash[0] ^= 1;
    s.key[5] ^= 1;
    assert_int_equal(open_blob(&s, s.blob, s.blob_len, plain), -3);
    s.key[5] ^= 1;
    assert_int_equal(open_blob(&s, s.blob, s.blob_len, plain), 0);
    free(b);
    free(s.blob);
    free(plain);
}

static void descriptors_are_checked(void **state)
{
    static const char *const bad_names[] = {"",     ".",    "..",        "a/b",
                                            "../x", "a\\b", "tab\there", "nl\n"};
    char long_name[CL_ATTACH_MAX_NAME + 2];
    uint8_t plain[10] = {0};
    sealed s;

    (void)state;
    seal(&s, plain, sizeof plain);
    assert_int_equal(cl_attachment_check(&s.a), 0);
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        s.a.name = (char *)bad_names[i];
        assert_int_equal(cl_attachment_check(&s.a), -1);
    }
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    s.a.name = long_name;
    assert_int_equal(cl_attachment_check(&s.a), -1);
    long_name[CL_ATTACH_MAX_NAME] = '\0';
    assert_int_equal(cl_attachment_check(&s.a), 0);
    s.a.media_type = (char *)"image/png; x=1"; /* a space */
    assert_int_equal(cl_attachment_check(&s.a), -1);
    s.a.media_type = (char *)"";
    assert_int_equal(cl_attachment_check(&s.a), 0);
    s.a.key.len = 31;
    assert_int_equal(cl_attachment_check(&s.a), -1);
    s.a.key.len = 32;
    s.a.blob_id.len = 15;
    assert_int_equal(cl_attachment_check(&s.a), -1);
    s.a.blob_id.len = 16;
    s.a.sha256.len = 0;
    assert_int_equal(cl_attachment_check(&s.a), -1);
    s.a.sha256.len = 32;
    s.a.size = CL_ATTACH_MAX_SIZE + 1;
    assert_int_equal(cl_attachment_check(&s.a), -1);
    s.a.size = 10;
    s.a.chunk_bytes = CL_ATTACH_MIN_CHUNK - 1;
    assert_int_equal(cl_attachment_check(&s.a), -1);
    s.a.chunk_bytes = CL_ATTACH_MAX_CHUNK + 1;
    assert_int_equal(cl_attachment_check(&s.a), -1);
    free(s.blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips_at_chunk_boundaries),
        cmocka_unit_test(tampered_blobs_are_refused),
        cmocka_unit_test(descriptors_are_checked),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
