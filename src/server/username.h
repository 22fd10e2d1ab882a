/*
 * username.h: what an account name may be, and its one canonical form.
 *
 * A username is what people type and read to find each other, and what the transparency
 * log and the safety number (PROTOCOL.md §8.1) bind keys to, so two names that a person
 * would take for the same must not both exist. The server stores and compares only the
 * canonical form that pl_username_normalize returns.
 *
 * Rules, in the order they are checked:
 *  1. 3 to 32 bytes (PL_USERNAME_MIN, PL_USERNAME_MAX), checked first so that a long input
 *     is refused without being scanned.
 *  2. ASCII A-Z fold to a-z; then every character is one of [a-z0-9._-]. Nothing else:
 *     no byte >= 0x80 (so no UTF-8 at all, hence no Unicode lookalikes such as Cyrillic
 *     "а", fullwidth letters or the Kelvin sign, and no Unicode case folding to get
 *     wrong), no control character, no NUL, no space.
 *  3. The first and the last character are a letter or a digit: a name such as "-rf"
 *     reads as an option on a command line, ".." and "." as paths, and a trailing dot
 *     vanishes at the end of a sentence ("write to bob.").
 *  4. No two punctuation characters in a row ("a..b", "a._b"): in most fonts "a__b" and
 *     "a_b", or "a..b" and "a.b", are hard to tell apart.
 * These go beyond the minimum (3-32 of [a-z0-9._-] after case folding) only by
 * rules 3 and 4. ASCII confusables ("rn"/"m", "l"/"1", "0"/"o") are not handled here;
 * reserved names (admin, root, ...) are a policy of the registration handler.
 */
#ifndef PARLEYD_USERNAME_H
#define PARLEYD_USERNAME_H

#include <stddef.h>

#include "parley/parley.h"

#define PL_USERNAME_MIN 3
#define PL_USERNAME_MAX 32

/* Why a name was refused; pl_username_reason_str() gives a sentence for the client. */
typedef enum pl_username_reason {
    PL_USERNAME_OK = 0,
    PL_USERNAME_TOO_SHORT,   /* fewer than PL_USERNAME_MIN characters */
    PL_USERNAME_TOO_LONG,    /* more than PL_USERNAME_MAX characters */
    PL_USERNAME_BAD_CHAR,    /* a character outside [A-Za-z0-9._-] */
    PL_USERNAME_BAD_EDGE,    /* starts or ends with '.', '_' or '-' */
    PL_USERNAME_DOUBLE_PUNCT /* two of '.', '_', '-' in a row */
} pl_username_reason;

/*
 * Checks in[0..len) (not NUL-terminated; a NUL inside is refused) and writes its
 * canonical form, NUL-terminated, to out. why (may be NULL) gets the reason.
 * Returns PL_OK; PL_E_TOO_LARGE for more than PL_USERNAME_MAX bytes; PL_E_MALFORMED for
 * every other refusal. On failure out is all zeros.
 */
PL_NODISCARD int pl_username_normalize(const char *in, size_t len, char out[PL_USERNAME_MAX + 1],
                                       pl_username_reason *why);

/* A static sentence for reason, such as "a username has at most 32 characters". */
const char *pl_username_reason_str(pl_username_reason reason);

#endif
