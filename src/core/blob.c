/*
 * blob.c: framing, checksum and version checks for saved state.
 */
#include <sodium.h>

#include "blob.h"

void pl__blob_begin(pl__writer *w, uint8_t kind, uint32_t body_len)
{
    pl__put_u8(w, 'P');
    pl__put_u8(w, 'L');
    pl__put_u8(w, kind);
    pl__put_u8(w, PL__BLOB_VERSION);
    pl__put_u32(w, body_len);
}

void pl__blob_end(pl__writer *w)
{
    uint8_t sum[PL__BLOB_CHECKSUM_BYTES];

    if (w->err)
        return;
    crypto_generichash(sum, sizeof sum, w->p, w->off, NULL, 0);
    pl__put_bytes(w, sum, sizeof sum);
}

int pl__blob_open(const uint8_t *in, size_t len, uint8_t kind, pl__reader *body, uint8_t *version)
{
    uint8_t sum[PL__BLOB_CHECKSUM_BYTES];
    pl__reader r = pl__reader_init(in, len);
    uint8_t m0, m1, got_kind, got_version;
    uint32_t body_len;

    m0 = pl__get_u8(&r);
    m1 = pl__get_u8(&r);
    got_kind = pl__get_u8(&r);
    got_version = pl__get_u8(&r);
    body_len = pl__get_u32(&r);
    if (r.err)
        return PL_E_TRUNCATED;
    if (m0 != 'P' || m1 != 'L')
        return PL_E_CORRUPT;
    if (len - PL__BLOB_HEADER_BYTES < (size_t)body_len + PL__BLOB_CHECKSUM_BYTES)
        return PL_E_TRUNCATED;
    if (len - PL__BLOB_HEADER_BYTES > (size_t)body_len + PL__BLOB_CHECKSUM_BYTES)
        return PL_E_MALFORMED;

    crypto_generichash(sum, sizeof sum, in, PL__BLOB_HEADER_BYTES + body_len, NULL, 0);
    if (sodium_memcmp(sum, in + PL__BLOB_HEADER_BYTES + body_len, sizeof sum) != 0)
        return PL_E_CORRUPT;
    if (got_kind != kind)
        return PL_E_WRONG_KIND;
    /* Every version up to ours is readable; later versions are not. */
    if (got_version == 0 || got_version > PL__BLOB_VERSION)
        return PL_E_VERSION;

    *body = pl__reader_init(in + PL__BLOB_HEADER_BYTES, body_len);
    *version = got_version;
    return PL_OK;
}
