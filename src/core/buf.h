/*
 * buf.h: bounds-checked cursors for reading and writing byte formats.
 *
 * A reader never reads past its end: the first failed get sets `err` (PL_E_TRUNCATED) and
 * every later get fails too, so a decoder can read a whole structure and check once.
 * A writer never writes past its capacity, in the same sticky way (PL_E_BUFFER_TOO_SMALL).
 * All integers are big-endian.
 */
#ifndef PARLEY_CORE_BUF_H
#define PARLEY_CORE_BUF_H

#include <stdint.h>
#include <string.h>

#include "parley/error.h"

typedef struct pl__reader {
    const uint8_t *p;
    size_t len;
    size_t off;
    int err;
} pl__reader;

typedef struct pl__writer {
    uint8_t *p;
    size_t cap;
    size_t off;
    int err;
} pl__writer;

static inline pl__reader pl__reader_init(const uint8_t *p, size_t len)
{
    pl__reader r = {p, len, 0, PL_OK};
    return r;
}

static inline size_t pl__reader_left(const pl__reader *r)
{
    return r->err ? 0 : r->len - r->off;
}

/* Returns a pointer to the next n bytes and advances, or NULL (and sets err). */
static inline const uint8_t *pl__get_bytes(pl__reader *r, size_t n)
{
    const uint8_t *at;

    if (r->err || r->len - r->off < n) {
        r->err = PL_E_TRUNCATED;
        return NULL;
    }
    at = r->p + r->off;
    r->off += n;
    return at;
}

static inline void pl__get_copy(pl__reader *r, void *out, size_t n)
{
    const uint8_t *at = pl__get_bytes(r, n);

    if (at)
        memcpy(out, at, n);
    else
        memset(out, 0, n);
}

static inline uint8_t pl__get_u8(pl__reader *r)
{
    const uint8_t *at = pl__get_bytes(r, 1);
    return at ? at[0] : 0;
}

static inline uint16_t pl__get_u16(pl__reader *r)
{
    const uint8_t *at = pl__get_bytes(r, 2);
    return at ? (uint16_t)((at[0] << 8) | at[1]) : 0;
}

static inline uint32_t pl__get_u32(pl__reader *r)
{
    const uint8_t *at = pl__get_bytes(r, 4);
    return at ? ((uint32_t)at[0] << 24) | ((uint32_t)at[1] << 16) | ((uint32_t)at[2] << 8) | at[3]
              : 0;
}

static inline uint64_t pl__get_u64(pl__reader *r)
{
    uint64_t hi = pl__get_u32(r);
    return (hi << 32) | pl__get_u32(r);
}

/* Returns PL_OK if the whole input was consumed without error, else the error. */
static inline int pl__reader_finish(const pl__reader *r)
{
    if (r->err)
        return r->err;
    return r->off == r->len ? PL_OK : PL_E_MALFORMED;
}

static inline pl__writer pl__writer_init(uint8_t *p, size_t cap)
{
    pl__writer w = {p, cap, 0, PL_OK};
    return w;
}

/* Reserves n bytes and returns where to write them, or NULL (and sets err). */
static inline uint8_t *pl__put_space(pl__writer *w, size_t n)
{
    uint8_t *at;

    if (w->err || w->cap - w->off < n) {
        w->err = PL_E_BUFFER_TOO_SMALL;
        return NULL;
    }
    at = w->p + w->off;
    w->off += n;
    return at;
}

static inline void pl__put_bytes(pl__writer *w, const void *src, size_t n)
{
    uint8_t *at = pl__put_space(w, n);
    if (at && n)
        memcpy(at, src, n);
}

static inline void pl__put_u8(pl__writer *w, uint8_t v)
{
    pl__put_bytes(w, &v, 1);
}

static inline void pl__put_u16(pl__writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    pl__put_bytes(w, b, 2);
}

static inline void pl__put_u32(pl__writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    pl__put_bytes(w, b, 4);
}

static inline void pl__put_u64(pl__writer *w, uint64_t v)
{
    pl__put_u32(w, (uint32_t)(v >> 32));
    pl__put_u32(w, (uint32_t)v);
}

#endif
