/*
 * test_username.c: username rules (src/server/username.h) as a numbered table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "username.h"

struct ucase {
    const char *in;
    size_t len;       /* 0: strlen(in) */
    const char *want; /* canonical form, NULL if refused */
    pl_username_reason why;
};

#define OK(in, want)                                                                               \
    {                                                                                              \
        in, 0, want, PL_USERNAME_OK                                                                \
    }
#define NO(in, why)                                                                                \
    {                                                                                              \
        in, 0, NULL, why                                                                           \
    }

static const struct ucase cases[] = {
    /* Lengths: 2, 3, 32, 33. */
    NO("ab", PL_USERNAME_TOO_SHORT),                                            /* 1 */
    OK("abc", "abc"),                                                           /* 2 */
    OK("abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345"), /* 3 */
    NO("abcdefghijklmnopqrstuvwxyz0123456", PL_USERNAME_TOO_LONG),              /* 4 */
    NO("", PL_USERNAME_TOO_SHORT),                                              /* 5 */
    NO("a", PL_USERNAME_TOO_SHORT),                                             /* 6 */
    NO("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", PL_USERNAME_TOO_LONG),           /* 7 */
    /* Each allowed class. */
    OK("alice", "alice"),                           /* 8 */
    OK("007", "007"),                               /* 9 */
    OK("a.b", "a.b"),                               /* 10 */
    OK("a_b", "a_b"),                               /* 11 */
    OK("a-b", "a-b"),                               /* 12 */
    OK("j.r.r-tolkien_1892", "j.r.r-tolkien_1892"), /* 13 */
    OK("0a9", "0a9"),                               /* 14 */
    /* Upper case folds. */
    OK("Alice", "alice"),                                           /* 15 */
    OK("ALICE", "alice"),                                           /* 16 */
    OK("AbCdEfGhIjKlMnOpQrStUvWxYz", "abcdefghijklmnopqrstuvwxyz"), /* 17 */
    OK("X-Ray_9", "x-ray_9"),                                       /* 18 */
    /* Punctuation at the edges, or doubled. */
    NO(".alice", PL_USERNAME_BAD_EDGE),   /* 19 */
    NO("alice.", PL_USERNAME_BAD_EDGE),   /* 20 */
    NO("-rf", PL_USERNAME_BAD_EDGE),      /* 21 */
    NO("_ab", PL_USERNAME_BAD_EDGE),      /* 22 */
    NO("ab_", PL_USERNAME_BAD_EDGE),      /* 23 */
    NO("...", PL_USERNAME_BAD_EDGE),      /* 24 */
    NO("a..b", PL_USERNAME_DOUBLE_PUNCT), /* 25 */
    NO("a._b", PL_USERNAME_DOUBLE_PUNCT), /* 26 */
    NO("a-_b", PL_USERNAME_DOUBLE_PUNCT), /* 27 */
    NO("a__b", PL_USERNAME_DOUBLE_PUNCT), /* 28 */
    /* Characters outside the set (ASCII), including the neighbours of each range. */
    NO("a b", PL_USERNAME_BAD_CHAR),    /* 29 */
    NO("a@b", PL_USERNAME_BAD_CHAR),    /* 30: below A */
    NO("a/b", PL_USERNAME_BAD_CHAR),    /* 31: below 0 */
    NO("a+b", PL_USERNAME_BAD_CHAR),    /* 32 */
    NO("a:b", PL_USERNAME_BAD_CHAR),    /* 33: above 9 */
    NO("a\tb", PL_USERNAME_BAD_CHAR),   /* 34 */
    NO("a\nb", PL_USERNAME_BAD_CHAR),   /* 35 */
    NO("a\177b", PL_USERNAME_BAD_CHAR), /* 36: DEL */
    NO("ab\001", PL_USERNAME_BAD_CHAR), /* 37 */
    NO("a`b", PL_USERNAME_BAD_CHAR),    /* 38: below a */
    NO("a{b", PL_USERNAME_BAD_CHAR),    /* 39: above z */
    NO("a[b", PL_USERNAME_BAD_CHAR),    /* 40: above Z */
    NO("a,b", PL_USERNAME_BAD_CHAR),    /* 41: below - */
    NO("a^b", PL_USERNAME_BAD_CHAR),    /* 42: below _ */
    NO("a~b", PL_USERNAME_BAD_CHAR),    /* 43 */
    NO("a%b", PL_USERNAME_BAD_CHAR),    /* 44 */
    NO("a\"b", PL_USERNAME_BAD_CHAR),   /* 45 */
    NO("a'b", PL_USERNAME_BAD_CHAR),    /* 46 */
    NO("a\\b", PL_USERNAME_BAD_CHAR),   /* 47 */
    NO("a=b", PL_USERNAME_BAD_CHAR),    /* 48 */
    /* NUL inside: the length says where the name ends, not a NUL. */
    {"ab\0cd", 5, NULL, PL_USERNAME_BAD_CHAR}, /* 49 */
    {"abc\0", 4, NULL, PL_USERNAME_BAD_CHAR},  /* 50 */
    {"abcdef", 3, "abc", PL_USERNAME_OK},      /* 51 */
    /* UTF-8 lookalikes and other non-ASCII (octal escapes: UTF-8 bytes). */
    NO("\320\260lice", PL_USERNAME_BAD_CHAR),                         /* 52: Cyrillic a */
    NO("\357\275\201\357\275\202\357\275\203", PL_USERNAME_BAD_CHAR), /* 53: fullwidth */
    NO("\342\204\252elvin", PL_USERNAME_BAD_CHAR),                    /* 54: Kelvin K */
    NO("stra\303\237e", PL_USERNAME_BAD_CHAR),                        /* 55: sharp s */
    NO("caf\303\251", PL_USERNAME_BAD_CHAR),                          /* 56: e acute */
    NO("cafe\314\201", PL_USERNAME_BAD_CHAR),                         /* 57: combining */
    NO("a\342\200\213bc", PL_USERNAME_BAD_CHAR),                      /* 58: zero width */
    NO("\304\261nfo", PL_USERNAME_BAD_CHAR),                          /* 59: dotless i */
    NO("ab\377", PL_USERNAME_BAD_CHAR),                               /* 60: not UTF-8 */
    NO("\301\241bc", PL_USERNAME_BAD_CHAR),                           /* 61: overlong a */
    NO("a\302\240b", PL_USERNAME_BAD_CHAR),                           /* 62: NBSP */
    NO("\306\226nfo", PL_USERNAME_BAD_CHAR),                          /* 63: Latin iota */
    /* Length is checked before characters. */
    NO("\377\377", PL_USERNAME_TOO_SHORT),                          /* 64 */
    NO("..................................", PL_USERNAME_TOO_LONG), /* 65 */
};

static void username_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct ucase *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        char out[PL_USERNAME_MAX + 1];
        char zero[PL_USERNAME_MAX + 1] = {0};
        pl_username_reason why = (pl_username_reason)-1;
        int r, want_r;

        memset(out, 0xaa, sizeof out);
        r = pl_username_normalize(c->in, len, out, &why);
        want_r = c->want ? PL_OK : (why == PL_USERNAME_TOO_LONG ? PL_E_TOO_LARGE : PL_E_MALFORMED);
        if (why != c->why || r != want_r || (c->want && strcmp(out, c->want) != 0) ||
            (!c->want && memcmp(out, zero, sizeof out) != 0)) {
            print_error("case %zu: got %d (%s) why %d, want why %d \"%s\"\n", i + 1, r,
                        pl_errname(r), (int)why, (int)c->why, c->want ? c->want : "(refused)");
            fail();
        }
    }
}

/* Every byte value in the middle of a name: exactly [A-Za-z0-9] and the three marks pass. */
static void every_byte_value(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        char in[3] = {'a', (char)b, 'z'};
        char out[PL_USERNAME_MAX + 1];
        pl_username_reason why;
        int want = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
                   b == '.' || b == '_' || b == '-';
        int r = pl_username_normalize(in, sizeof in, out, &why);

        if ((r == PL_OK) != want) {
            print_error("byte 0x%02x: got %s\n", b, pl_errname(r));
            fail();
        }
        if (want)
            assert_int_equal(out[1], (b >= 'A' && b <= 'Z') ? b - 'A' + 'a' : b);
    }
}

/* The canonical form is a fixed point, and why may be NULL. */
static void normalizing_twice_changes_nothing(void **state)
{
    char once[PL_USERNAME_MAX + 1], twice[PL_USERNAME_MAX + 1];

    (void)state;
    assert_int_equal(pl_username_normalize("Bob.Smith-42", 12, once, NULL), PL_OK);
    assert_int_equal(pl_username_normalize(once, strlen(once), twice, NULL), PL_OK);
    assert_string_equal(once, "bob.smith-42");
    assert_string_equal(once, twice);
}

static void reasons_have_sentences(void **state)
{
    (void)state;
    assert_string_equal(pl_username_reason_str(PL_USERNAME_TOO_LONG),
                        "a username has at most 32 characters");
    for (int i = PL_USERNAME_OK; i <= PL_USERNAME_DOUBLE_PUNCT; i++)
        assert_true(strlen(pl_username_reason_str((pl_username_reason)i)) > 5);
    assert_string_equal(pl_username_reason_str((pl_username_reason)99), "invalid username");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(username_table),
        cmocka_unit_test(every_byte_value),
        cmocka_unit_test(normalizing_twice_changes_nothing),
        cmocka_unit_test(reasons_have_sentences),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
