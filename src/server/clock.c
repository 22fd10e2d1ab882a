/*
 * clock.c: wall and monotonic time, with the test clock file of clock.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Set once by pl_clock_init before threads start, read-only afterwards. */
static const char *test_clock_path;

const char *pl_clock_init(void)
{
    const char *p = getenv(PL_CLOCK_TEST_ENV);

    test_clock_path = (p && *p) ? p : NULL;
    return test_clock_path;
}

/* Returns 1 and *ms if the test clock file holds a decimal number, else 0. */
static int read_test_clock(uint64_t *ms)
{
    char buf[32];
    ssize_t n;
    int fd = open(test_clock_path, O_RDONLY | O_CLOEXEC);
    uint64_t v = 0;
    ssize_t i;

    if (fd < 0)
        return 0;
    do
        n = read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return 0;
    for (i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(buf[i] - '0');
    }
    if (i == 0 || (i < n && buf[i] != '\n'))
        return 0;
    *ms = v;
    return 1;
}

uint64_t pl_clock_now_ms(void)
{
    struct timespec ts;
    uint64_t ms;

    if (test_clock_path && read_test_clock(&ms))
        return ms;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t pl_clock_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
