/*
 * parleyd_test.h: what every integration test program (test_parleyd_*.c) includes: the
 * harness, the test client, and assertions that print status names.
 */
#ifndef PARLEYD_TEST_H
#define PARLEYD_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "parleyd_harness.h"
#include "wire_client.h"
#include "wire_identity.h"
#include "wire_ops.h"

/* A status code by its short name: ST(OK), ST(BAD_USERNAME). */
#define ST(name) ((int)PARLEY__STATUS_CODE__STATUS_##name)

/* Asserts that a wo_* call or WC_* result equals want, naming both on failure. */
#define EXPECT(expr, want)                                                                         \
    do {                                                                                           \
        int got_ = (expr);                                                                         \
        int want_ = (want);                                                                        \
        if (got_ != want_)                                                                         \
            fail_msg("%s:%d: %s\n    expected %s (%d), got %s (%d)", __FILE__, __LINE__, #expr,    \
                     wc_name(want_), want_, wc_name(got_), got_);                                  \
    } while (0)

/* Asserts that expr is a Response status (>= 0) other than OK. */
#define EXPECT_REFUSED(expr)                                                                       \
    do {                                                                                           \
        int got_ = (expr);                                                                         \
        if (got_ <= 0)                                                                             \
            fail_msg("%s:%d: %s\n    expected a refusal status, got %s (%d)", __FILE__, __LINE__,  \
                     #expr, wc_name(got_), got_);                                                  \
    } while (0)

#endif
