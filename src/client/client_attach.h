/*
 * client_attach.h: attachments (PROTOCOL.md §27): a file encrypted with libsodium's
 * crypto_secretstream_xchacha20poly1305 under a fresh random key, uploaded as a blob, and
 * described to the recipients by a Content.attachment (content.proto) inside the Double
 * Ratchet.
 *
 * The encrypted form (the blob) is
 *
 *   header (24 bytes) || c_1 || ... || c_n
 *
 * where c_i is the secretstream message of the i-th chunk_bytes of plaintext (17 bytes
 * longer), tagged TAG_MESSAGE except c_n, tagged TAG_FINAL. n = max(1, ceil(size / chunk)):
 * an empty file is one empty final message. A blob that ends early, continues after the final
 * message, or has any chunk altered, reordered or dropped fails to decrypt; the plaintext's
 * SHA-256 is checked besides (it also binds the name and size the sender announced).
 *
 * The file functions stream through buffers of one chunk: memory stays bounded whatever the
 * file's size (up to CL_ATTACH_MAX_SIZE).
 */
#ifndef PARLEY_CLIENT_ATTACH_H
#define PARLEY_CLIENT_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "content.pb-c.h"

#define CL_ATTACH_KEY_BYTES crypto_secretstream_xchacha20poly1305_KEYBYTES       /* 32 */
#define CL_ATTACH_HEADER_BYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES /* 24 */
#define CL_ATTACH_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES            /* 17 */
#define CL_ATTACH_CHUNK_BYTES (64u * 1024u) /* what this client writes */
#define CL_ATTACH_MIN_CHUNK (1024u)         /* what it accepts from others */
#define CL_ATTACH_MAX_CHUNK (1024u * 1024u)
#define CL_ATTACH_MAX_SIZE (2ull * 1024u * 1024u * 1024u) /* plaintext bytes */
#define CL_ATTACH_MAX_NAME 255u
#define CL_ATTACH_MAX_MEDIA_TYPE 127u
#define CL_ATTACH_BLOB_ID_BYTES 16u
/* Blob bytes per BlobPut and per BlobGet: the wire maximum (256 KiB). A server must allow
 * frames of at least this plus 1 KiB ([server] max_frame_bytes; the default is 1 MiB + 64 KiB). */
#define CL_ATTACH_PUT_BYTES (256u * 1024u)

/* The blob's length for size bytes of plaintext in chunks of chunk bytes. */
uint64_t cl_attach_cipher_size(uint64_t size, uint32_t chunk);

/* Checks a received Content.attachment: lengths of id, key and hash, size within
 * CL_ATTACH_MAX_SIZE, chunk within [MIN, MAX], a name of 1..255 bytes that is a plain file
 * name (no '/', not "." or "..", no control characters), a media type of printable ASCII.
 * Returns 0 or -1. */
int cl_attachment_check(const Parley__Attachment *a);

/*
 * Encrypts the file open at in_fd (read to its end) into out_fd (written from its current
 * position) under key, in chunks of CL_ATTACH_CHUNK_BYTES. Writes the plaintext's length and
 * SHA-256. Returns 0, -1 on an I/O error (errno set), -2 if the file exceeds
 * CL_ATTACH_MAX_SIZE.
 */
int cl_attach_encrypt_fd(int in_fd, int out_fd, const uint8_t key[CL_ATTACH_KEY_BYTES],
                         uint64_t *size, uint8_t sha256[32]);

/*
 * Decrypts the blob open at in_fd (from its start, exactly cl_attach_cipher_size(a->size,
 * a->chunk_bytes) bytes) into out_fd, checking every chunk's tag, the final tag at the end and
 * nowhere else, the length and the SHA-256 against a. Returns 0; -1 on an I/O error; -3 when
 * the blob does not authenticate or does not match a (out_fd then holds garbage the caller
 * must delete).
 */
int cl_attach_decrypt_fd(int in_fd, int out_fd, const Parley__Attachment *a);

#endif
