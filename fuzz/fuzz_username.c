/*
 * fuzz_username.c: pl_username_normalize (src/server/username.c) on hostile bytes.
 *
 * Invariants: only the documented codes; on success the output is 3 to 32 characters of
 * [a-z0-9._-], starting and ending with [a-z0-9], no two marks in a row, equal to the
 * input with A-Z folded, and normalizing it again changes nothing; on failure the output
 * is all zeros.
 */
#include <string.h>

#include "fuzz.h"
#include "username.h"

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[PL_USERNAME_MAX + 1], again[PL_USERNAME_MAX + 1];
    pl_username_reason why;
    size_t len;
    int r;

    memset(out, 0x55, sizeof out);
    r = pl_username_normalize((const char *)data, size, out, &why);
    FZ_CHECK_RC(r);
    if (r != PL_OK) {
        FZ_CHECK(r == PL_E_MALFORMED || r == PL_E_TOO_LARGE);
        FZ_CHECK(why != PL_USERNAME_OK);
        FZ_CHECK((r == PL_E_TOO_LARGE) == (why == PL_USERNAME_TOO_LONG));
        FZ_CHECK(fz_is_zero(out, sizeof out));
        return 0;
    }
    FZ_CHECK(why == PL_USERNAME_OK);
    len = strlen(out);
    FZ_CHECK(len == size && len >= PL_USERNAME_MIN && len <= PL_USERNAME_MAX);
    FZ_CHECK(is_alnum(out[0]) && is_alnum(out[len - 1]));
    for (size_t i = 0; i < len; i++) {
        char in = (char)data[i];
        int mark = out[i] == '.' || out[i] == '_' || out[i] == '-';

        FZ_CHECK(is_alnum(out[i]) || mark);
        FZ_CHECK(out[i] == ((in >= 'A' && in <= 'Z') ? in - 'A' + 'a' : in));
        if (mark)
            FZ_CHECK(i > 0 && is_alnum(out[i - 1]));
    }
    FZ_CHECK(pl_username_normalize(out, len, again, NULL) == PL_OK);
    FZ_CHECK(memcmp(out, again, sizeof out) == 0);
    return 0;
}
