/*
 * username.c: account name rules and case folding (the rules are in username.h).
 */
#include <string.h>

#include "username.h"

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_punct(char c)
{
    return c == '.' || c == '_' || c == '-';
}

int pl_username_normalize(const char *in, size_t len, char out[PL_USERNAME_MAX + 1],
                          pl_username_reason *why)
{
    char tmp[PL_USERNAME_MAX + 1];
    pl_username_reason reason = PL_USERNAME_OK;
    int r = PL_E_MALFORMED;

    memset(out, 0, PL_USERNAME_MAX + 1);
    if (len > PL_USERNAME_MAX) {
        reason = PL_USERNAME_TOO_LONG;
        r = PL_E_TOO_LARGE;
        goto out;
    }
    if (len < PL_USERNAME_MIN) {
        reason = PL_USERNAME_TOO_SHORT;
        goto out;
    }
    for (size_t i = 0; i < len; i++) {
        char c = in[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!is_alnum(c) && !is_punct(c)) {
            reason = PL_USERNAME_BAD_CHAR;
            goto out;
        }
        tmp[i] = c;
    }
    tmp[len] = '\0';
    if (!is_alnum(tmp[0]) || !is_alnum(tmp[len - 1])) {
        reason = PL_USERNAME_BAD_EDGE;
        goto out;
    }
    for (size_t i = 1; i < len; i++) {
        if (is_punct(tmp[i]) && is_punct(tmp[i - 1])) {
            reason = PL_USERNAME_DOUBLE_PUNCT;
            goto out;
        }
    }
    memcpy(out, tmp, len + 1);
    r = PL_OK;
out:
    if (why != NULL)
        *why = reason;
    return r;
}

const char *pl_username_reason_str(pl_username_reason reason)
{
    switch (reason) {
    case PL_USERNAME_OK:
        return "valid username";
    case PL_USERNAME_TOO_SHORT:
        return "a username has at least 3 characters";
    case PL_USERNAME_TOO_LONG:
        return "a username has at most 32 characters";
    case PL_USERNAME_BAD_CHAR:
        return "a username uses only letters a-z, digits, '.', '_' and '-'";
    case PL_USERNAME_BAD_EDGE:
        return "a username starts and ends with a letter or a digit";
    case PL_USERNAME_DOUBLE_PUNCT:
        return "a username has no two of '.', '_', '-' in a row";
    }
    return "invalid username";
}
