/*
 * fuzz_frame.c: parleyd's frame reader, decoder and validator (src/net/frame.c) on
 * hostile bytes.
 *
 * Input: one byte choosing the chunk rhythm, then the byte stream as it would come off TLS.
 * The stream is fed through a pl_frame_reader in chunks of 1 + (b % 16) and 1 + 97 * (b / 16)
 * bytes alternately; every frame that comes out is decoded as a ClientFrame and as a
 * ServerFrame.
 *
 * Invariants: the reader never takes more than it is given and, without a frame, takes it
 * all; a reader error is final. Decoding returns a frame-module code, and *out is NULL
 * exactly when it fails. What decodes and validates re-encodes into one frame that decodes
 * and validates again, to a frame of the same size.
 */
#include <string.h>

#include "frame.h"
#include "fuzz.h"

static void check_code(int rc)
{
    FZ_CHECK(rc <= 0 && rc >= PL_FRAME_E_BUFFER_TOO_SMALL);
    FZ_CHECK(strcmp(pl_frame_errname(rc), "PL_FRAME_E_UNKNOWN") != 0);
}

static void check_client(const uint8_t *p, size_t len)
{
    Parley__ClientFrame *f = NULL, *g = NULL;
    pl_frame_diag d;
    uint8_t *again;
    size_t cap, n = 0;
    int rc = pl_frame_decode_client(p, len, &f, &d);

    check_code(rc);
    FZ_CHECK(d.code == rc && d.detail != NULL);
    FZ_CHECK((rc == PL_FRAME_OK) == (f != NULL));
    if (rc != PL_FRAME_OK) {
        /* Only a request can be answered by id. */
        FZ_CHECK(d.request_id == 0 || rc <= PL_FRAME_E_UNKNOWN_REQUEST);
        return;
    }
    FZ_CHECK(pl_frame_validate_client(f, NULL) == PL_FRAME_OK);
    cap = pl_frame_client_size(f);
    FZ_CHECK(cap > PL_FRAME_HEADER_BYTES);
    again = fz_alloc(cap);
    FZ_CHECK(pl_frame_encode_client(f, again, cap, &n) == PL_FRAME_OK && n == cap);
    FZ_CHECK(fz_be32(again) == cap - PL_FRAME_HEADER_BYTES);
    FZ_CHECK(pl_frame_decode_client(again + 4, n - 4, &g, NULL) == PL_FRAME_OK);
    FZ_CHECK(pl_frame_client_size(g) == cap);
    pl_frame_client_free(g);
    pl_frame_client_free(f);
    free(again);
}

static void check_server(const uint8_t *p, size_t len)
{
    Parley__ServerFrame *f = NULL;
    uint8_t *again;
    size_t cap, n = 0;
    int rc = pl_frame_decode_server(p, len, &f, NULL);

    check_code(rc);
    FZ_CHECK((rc == PL_FRAME_OK) == (f != NULL));
    if (rc != PL_FRAME_OK)
        return;
    cap = pl_frame_server_size(f);
    again = fz_alloc(cap);
    FZ_CHECK(pl_frame_encode_server(f, again, cap, &n) == PL_FRAME_OK && n == cap);
    pl_frame_server_free(f);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pl_frame_reader *r = NULL;
    size_t sizes[2], pos, k = 0;
    int rc = PL_FRAME_OK;

    if (size < 1)
        return 0;
    sizes[0] = 1 + (size_t)(data[0] % 16);
    sizes[1] = 1 + 97 * (size_t)(data[0] / 16);
    data++;
    size--;
    FZ_CHECK(pl_frame_reader_new(&r, PL_FRAME_MIN_MAX_BYTES) == PL_FRAME_OK);
    for (pos = 0; pos < size && rc == PL_FRAME_OK;) {
        size_t chunk = sizes[k++ % 2], left;
        const uint8_t *p = data + pos;

        if (chunk > size - pos)
            chunk = size - pos;
        for (left = chunk; left > 0;) {
            const uint8_t *f;
            size_t used, flen;

            rc = pl_frame_reader_feed(r, p, left, &used, &f, &flen);
            check_code(rc);
            if (rc != PL_FRAME_OK) {
                FZ_CHECK(f == NULL && used == 0);
                /* Final: the same error again, nothing pending. */
                FZ_CHECK(pl_frame_reader_feed(r, p, left, &used, &f, &flen) == rc);
                FZ_CHECK(pl_frame_reader_finish(r) == rc && pl_frame_reader_pending(r) == 0);
                break;
            }
            FZ_CHECK(used <= left);
            if (f == NULL) {
                FZ_CHECK(used == left && flen == 0);
            } else {
                FZ_CHECK(flen >= 1 && flen <= PL_FRAME_MIN_MAX_BYTES);
                check_client(f, flen);
                check_server(f, flen);
            }
            p += used;
            left -= used;
        }
        pos += chunk;
    }
    if (rc == PL_FRAME_OK) {
        rc = pl_frame_reader_finish(r);
        FZ_CHECK(rc == PL_FRAME_OK || rc == PL_FRAME_E_TRUNCATED);
        FZ_CHECK((rc == PL_FRAME_OK) == (pl_frame_reader_pending(r) == 0));
    }
    pl_frame_reader_free(r);
    return 0;
}
