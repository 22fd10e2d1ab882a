/*
 * tjson.h: a tiny JSON field reader for test vectors. TEST-ONLY: not part of libparley and
 * not a JSON parser for anything that comes from a network.
 *
 * It reads one flat object whose values are unsigned integers, strings (without escapes
 * other than \" and \\), booleans, null, or arrays of strings, which is all that the RFC 9162
 * vectors of transparency-dev/merkle (shared/vectors/rfc9162/) hold. A file it does not
 * understand fails the test: nothing is skipped silently.
 *
 * Header-only (static inline) because tests/CMakeLists.txt links each test with testutil.c
 * only. Strings are decoded from base64 with libsodium's sodium_base642bin().
 */
#ifndef PARLEY_TEST_TJSON_H
#define PARLEY_TEST_TJSON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

static inline const char *tj_skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return p;
}

/* p at an opening quote; returns the character after the closing one. */
static inline const char *tj_skip_string(const char *p)
{
    assert_true(*p == '"');
    for (p++; *p != '"'; p++) {
        assert_true(*p != '\0');
        if (*p == '\\') {
            p++;
            assert_true(*p == '"' || *p == '\\');
        }
    }
    return p + 1;
}

/* p at a value; returns the character after it. */
static inline const char *tj_skip_value(const char *p)
{
    if (*p == '"')
        return tj_skip_string(p);
    if (*p == '[') {
        p = tj_skip_ws(p + 1);
        if (*p == ']')
            return p + 1;
        for (;;) {
            p = tj_skip_ws(tj_skip_string(p));
            if (*p == ']')
                return p + 1;
            assert_true(*p == ',');
            p = tj_skip_ws(p + 1);
        }
    }
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    assert_true(*p >= '0' && *p <= '9');
    while (*p >= '0' && *p <= '9')
        p++;
    return p;
}

/* Walks the top-level object and returns the start of key's value, or NULL if absent. */
static inline const char *tj_find(const char *json, const char *key)
{
    const char *p = tj_skip_ws(json), *k, *value = NULL;
    size_t key_len = strlen(key);

    assert_true(*p == '{');
    p = tj_skip_ws(p + 1);
    if (*p == '}')
        return NULL;
    for (;;) {
        k = p + 1;
        p = tj_skip_ws(tj_skip_string(p));
        assert_true(*p == ':');
        p = tj_skip_ws(p + 1);
        if ((size_t)(p - k) >= key_len + 1 && strncmp(k, key, key_len) == 0 && k[key_len] == '"') {
            assert_null(value); /* a key given twice would make the file ambiguous */
            value = p;
        }
        p = tj_skip_ws(tj_skip_value(p));
        if (*p == '}')
            break;
        assert_true(*p == ',');
        p = tj_skip_ws(p + 1);
    }
    assert_true(*tj_skip_ws(p + 1) == '\0');
    return value;
}

static inline const char *tj_require(const char *json, const char *key)
{
    const char *v = tj_find(json, key);

    if (!v)
        fail_msg("field \"%s\" missing", key);
    return v;
}

static inline uint64_t tj_u64(const char *json, const char *key)
{
    const char *p = tj_require(json, key);
    uint64_t v = 0;

    assert_true(*p >= '0' && *p <= '9');
    for (; *p >= '0' && *p <= '9'; p++) {
        assert_true(v <= (UINT64_MAX - (uint64_t)(*p - '0')) / 10);
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v;
}

static inline int tj_bool(const char *json, const char *key)
{
    const char *p = tj_require(json, key);

    if (strncmp(p, "true", 4) == 0)
        return 1;
    assert_true(strncmp(p, "false", 5) == 0);
    return 0;
}

/* Decodes the base64 string at p (the opening quote) into out[0..cap); returns the byte
 * count. */
static inline size_t tj_b64_at(const char *p, uint8_t *out, size_t cap)
{
    const char *end = tj_skip_string(p) - 1;
    size_t len = 0;

    if (end == p + 1)
        return 0;
    if (sodium_base642bin(out, cap, p + 1, (size_t)(end - p - 1), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        fail_msg("bad base64 or longer than %zu bytes: %.*s", cap, (int)(end - p - 1), p + 1);
    return len;
}

static inline size_t tj_b64(const char *json, const char *key, uint8_t *out, size_t cap)
{
    const char *p = tj_require(json, key);

    assert_true(*p == '"');
    return tj_b64_at(p, out, cap);
}

/* Decodes an array of base64 strings (or null, read as empty) into out[i][0..cap), with each
 * length in lens[i]; returns the element count (at most max). */
static inline size_t tj_b64_array(const char *json, const char *key, uint8_t *out, size_t cap,
                                  size_t *lens, size_t max)
{
    const char *p = tj_require(json, key);
    size_t n = 0;

    if (strncmp(p, "null", 4) == 0)
        return 0;
    assert_true(*p == '[');
    p = tj_skip_ws(p + 1);
    if (*p == ']')
        return 0;
    for (;;) {
        assert_true(n < max);
        lens[n] = tj_b64_at(p, out + n * cap, cap);
        n++;
        p = tj_skip_ws(tj_skip_string(p));
        if (*p == ']')
            return n;
        assert_true(*p == ',');
        p = tj_skip_ws(p + 1);
    }
}

#endif
