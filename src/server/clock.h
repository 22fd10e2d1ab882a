/*
 * clock.h: parleyd's two clocks.
 *
 * Wall time (milliseconds since the Unix epoch) stamps envelopes and drives retention;
 * monotonic time (nanoseconds) measures timeouts, rate limits and latencies. Only this file
 * reads them, so tests can move the wall clock: when the environment variable
 * PARLEYD_TEST_CLOCK_FILE names a file at start-up, wall time is the decimal number of
 * milliseconds in that file, re-read on every call (the real clock if the file is missing or
 * does not hold a number). main logs a warning when this is on; it is for tests only.
 */
#ifndef PARLEYD_CLOCK_H
#define PARLEYD_CLOCK_H

#include <stdint.h>

#define PL_CLOCK_TEST_ENV "PARLEYD_TEST_CLOCK_FILE"

/* Reads the environment once; call before any thread starts. Returns the test clock file's
 * path, or NULL when the real clock is used. */
const char *pl_clock_init(void);

/* Wall time in milliseconds since the Unix epoch. Thread-safe. */
uint64_t pl_clock_now_ms(void);

/* Monotonic time in nanoseconds from an arbitrary origin. Thread-safe. */
uint64_t pl_clock_mono_ns(void);

#endif
