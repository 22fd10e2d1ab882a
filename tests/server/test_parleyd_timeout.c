/*
 * test_parleyd_timeout.c: parleyd closes connections that say nothing (PROTOCOL.md §11.2:
 * STATUS_TIMEOUT), with idle_timeout at its smallest value, 10 s. Both cases run at once, so
 * the program takes one timeout, not two.
 */
#include "parleyd_test.h"

static ph_server *own;

static int teardown(void **state)
{
    (void)state;
    ph_test_teardown(NULL);
    ph_free(own);
    own = NULL;
    return 0;
}

static void test_silent_connections_time_out(void **state)
{
    wc_conn *no_hello = NULL, *idle = NULL, *active = NULL;
    uint64_t start, deadline;
    int code_a = -1, code_b = -1;

    (void)state;
    ph_test_begin();
    own = ph_start((const char *const[]){"server.idle_timeout=10s", NULL});
    start = ph_mono_ms();
    EXPECT(wc_open(&no_hello, own->port, own->cert_path, NULL), WC_OK); /* TLS, no Hello */
    EXPECT(wc_connect(&idle, own->port, own->cert_path), WC_OK);        /* Hello, then nothing */
    EXPECT(wc_connect(&active, own->port, own->cert_path), WC_OK);      /* pings every 2 s */

    /* Keep `active` busy (a ping every second) until both silent ones are closed (at most
     * 25 s). */
    deadline = start + 25000;
    while (ph_mono_ms() < deadline && (code_a < 0 || code_b < 0)) {
        int r;

        EXPECT(wo_ping(active), ST(OK));
        if (code_a < 0 && (r = wc_wait_goodbye(no_hello, 500, &code_a)) != WC_TIMEOUT)
            EXPECT(r, WC_OK);
        if (code_b < 0 && (r = wc_wait_goodbye(idle, 500, &code_b)) != WC_TIMEOUT)
            EXPECT(r, WC_OK);
    }
    EXPECT(code_a, ST(TIMEOUT));
    EXPECT(code_b, ST(TIMEOUT));
    if (ph_mono_ms() - start < 9000)
        fail_msg("closed after %llu ms, before the 10 s timeouts",
                 (unsigned long long)(ph_mono_ms() - start));
    /* The busy connection outlived the timeout. */
    EXPECT(wo_ping(active), ST(OK));
    wc_close(no_hello);
    wc_close(idle);
    wc_close(active);
    ph_stop(own);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_silent_connections_time_out, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
