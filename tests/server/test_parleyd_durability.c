/*
 * test_parleyd_durability.c: what survives a restart of parleyd: envelopes across a clean
 * stop (SIGTERM) and across kill -9 in the middle of a stream of sends (every acknowledged
 * Send is delivered afterwards), and the TLS certificate reload on SIGHUP.
 */
#define _DEFAULT_SOURCE

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parleyd_test.h"
#include "testutil.h"
#include "tls_cert.h"

static ph_server *own;

static int teardown(void **state)
{
    (void)state;
    ph_test_teardown(NULL);
    ph_free(own);
    own = NULL;
    return 0;
}

static void test_restart_keeps_envelopes(void **state)
{
    wi_account *a, *b;
    wc_conn *ca, *cb;
    char text[32], path[PH_PATH_MAX + 32];

    (void)state;
    ph_test_begin();
    own = ph_start(NULL);
    a = wo_new_user(own->port, own->cert_path, "da", NULL);
    b = wo_new_user(own->port, own->cert_path, "db", NULL);
    ca = wo_login(own->port, own->cert_path, a, &a->devices[0]);
    for (int i = 0; i < 10; i++) {
        snprintf(text, sizeof text, "before restart %d", i);
        EXPECT(wo_send_text(ca, a, 1, b, text, NULL, NULL), ST(OK));
    }
    /* A clean stop with a client still connected, and parleyd.addr is removed. */
    ph_stop(own);
    own->passed = 0;
    snprintf(path, sizeof path, "%s/parleyd.addr", own->data_dir);
    if (access(path, F_OK) == 0)
        fail_msg("%s still exists after a clean exit", path);
    EXPECT(wc_wait_eof(ca, WC_TIMEOUT_MS), WC_OK);
    wc_close(ca);

    ph_restart(own);
    cb = wo_login(own->port, own->cert_path, b, &b->devices[0]);
    for (int i = 0; i < 10; i++) {
        Parley__ServerFrame *f = NULL;

        snprintf(text, sizeof text, "before restart %d", i);
        EXPECT(wo_next_envelope(cb, &f, WC_TIMEOUT_MS), WC_OK);
        assert_int_equal(f->push->envelope->ciphertext.len, strlen(text));
        assert_memory_equal(f->push->envelope->ciphertext.data, text, strlen(text));
        pl_frame_server_free(f);
    }
    EXPECT(wo_expect_queue_empty(cb, WC_TIMEOUT_MS), WC_OK);
    wc_close(cb);
    wi_account_free(a);
    wi_account_free(b);
    ph_stop(own);
    ph_test_end();
}

#define STREAM_MAX 5000
#define KILL_AFTER 40

struct stream {
    wc_conn *c;
    wi_account *from, *to;
    atomic_int acked; /* Sends 0..acked-1 got STATUS_OK */
    int last_result;
};

/* Sends "m<i>" for i = 0, 1, ... until a Send fails (the server was killed). */
static void *stream_thread(void *arg)
{
    struct stream *st = arg;

    for (int i = 0; i < STREAM_MAX; i++) {
        char text[16];
        int r;

        snprintf(text, sizeof text, "m%d", i);
        r = wo_send_text(st->c, st->from, 1, st->to, text, NULL, NULL);
        if (r != ST(OK)) {
            st->last_result = r;
            return NULL;
        }
        atomic_store(&st->acked, i + 1);
    }
    return NULL;
}

static void test_kill9_keeps_acknowledged_sends(void **state)
{
    struct stream st;
    pthread_t thread;
    wc_conn *cb;
    uint64_t deadline;
    static unsigned char seen[STREAM_MAX];
    int acked, delivered = 0;

    (void)state;
    ph_test_begin();
    own = ph_start(NULL);
    memset(&st, 0, sizeof st);
    memset(seen, 0, sizeof seen);
    st.from = wo_new_user(own->port, own->cert_path, "ka", NULL);
    st.to = wo_new_user(own->port, own->cert_path, "kb", NULL);
    st.c = wo_login(own->port, own->cert_path, st.from, &st.from->devices[0]);
    atomic_init(&st.acked, 0);
    assert_int_equal(pthread_create(&thread, NULL, stream_thread, &st), 0);
    deadline = ph_mono_ms() + 20000;
    while (atomic_load(&st.acked) < KILL_AFTER && ph_mono_ms() < deadline)
        ph_sleep_ms(1);
    ph_kill(own); /* in the middle of the stream */
    pthread_join(thread, NULL);
    acked = atomic_load(&st.acked);
    if (acked < KILL_AFTER)
        fail_msg("only %d sends were acknowledged before the kill (last: %s)", acked,
                 wc_name(st.last_result));
    wc_close(st.c);

    ph_restart(own);
    cb = wo_login(own->port, own->cert_path, st.to, &st.to->devices[0]);
    for (int n = 0; n <= STREAM_MAX; n++) {
        Parley__ServerFrame *f = NULL;
        char text[16];
        int idx;

        EXPECT(wc_next_push(cb, &f, WC_TIMEOUT_MS), WC_OK);
        if (f->push->kind_case == PARLEY__PUSH__KIND_QUEUE_EMPTY) {
            pl_frame_server_free(f);
            break;
        }
        if (f->push->kind_case == PARLEY__PUSH__KIND_PREKEYS_LOW) {
            pl_frame_server_free(f); /* the device has no one-time prekeys */
            continue;
        }
        assert_int_equal(f->push->kind_case, PARLEY__PUSH__KIND_ENVELOPE);
        assert_in_range(f->push->envelope->ciphertext.len, 2, sizeof text - 1);
        memcpy(text, f->push->envelope->ciphertext.data, f->push->envelope->ciphertext.len);
        text[f->push->envelope->ciphertext.len] = '\0';
        idx = atoi(text + 1);
        assert_in_range(idx, 0, STREAM_MAX - 1);
        if (seen[idx]++)
            fail_msg("envelope %s delivered twice", text);
        delivered++;
        pl_frame_server_free(f);
    }
    for (int i = 0; i < acked; i++)
        if (!seen[i])
            fail_msg("Send m%d was acknowledged (STATUS_OK) but is lost after kill -9", i);
    fprintf(stderr, "[kill9] %d acknowledged, %d delivered after restart\n", acked, delivered);
    wc_close(cb);
    wi_account_free(st.from);
    wi_account_free(st.to);
    ph_stop(own);
    ph_test_end();
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    char tmp[PH_PATH_MAX + 8];
    size_t len;
    uint8_t *data = tu_read_file(from, &len);
    FILE *f;

    assert_non_null(data);
    snprintf(tmp, sizeof tmp, "%s.new", to);
    unlink(tmp);
    assert_non_null(f = fopen(tmp, "w"));
    assert_int_equal(chmod(tmp, mode), 0);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, to), 0);
    free(data);
}

static void test_cert_reload_on_sighup(void **state)
{
    char dir[] = "/tmp/parleyd-newcert-XXXXXX", cert[256], key[256], err[256];
    char old_cert[256];
    wi_account *a;
    wc_conn *old_conn, *c = NULL;
    int created = 0, ok = 0;
    uint64_t deadline;

    (void)state;
    ph_test_begin();
    own = ph_start(NULL);
    a = wo_new_user(own->port, own->cert_path, "cert", NULL);
    old_conn = wo_login(own->port, own->cert_path, a, &a->devices[0]);
    assert_non_null(mkdtemp(dir));
    assert_int_equal(pl_tls_cert_ensure(dir, NULL, 0, &created, err, sizeof err), PL_TLS_OK);
    assert_int_equal(created, 1);
    assert_int_equal(pl_tls_cert_default_paths(dir, cert, key, sizeof cert), PL_TLS_OK);
    /* The new certificate is not trusted by a client of the old one, and vice versa. */
    EXPECT(wc_open(&c, own->port, cert, NULL), WC_ERROR);
    snprintf(old_cert, sizeof old_cert, "%s/old.pem", dir);
    copy_file(own->cert_path, old_cert, 0644);

    copy_file(key, own->key_path, 0600);
    copy_file(cert, own->cert_path, 0644);
    ph_sighup(own);
    /* The reload is done when its counter moves (bounded poll); then a client trusting only
     * the new certificate connects. */
    deadline = ph_mono_ms() + 10000;
    while (!ok && ph_mono_ms() < deadline) {
        double reloads = 0;

        if (ph_metric(own, "parleyd_tls_reloads_total", &reloads) == 0 && reloads >= 1)
            ok = 1;
        else
            ph_sleep_ms(20);
    }
    if (!ok)
        fail_msg("parleyd_tls_reloads_total did not reach 1 within 10 s of SIGHUP");
    EXPECT(wc_connect(&c, own->port, cert), WC_OK);
    EXPECT(wo_ping(c), ST(OK));
    /* The connection made before the reload keeps working, still authenticated. */
    EXPECT(wo_ping(old_conn), ST(OK));
    EXPECT(wo_prekey_status(old_conn, NULL), ST(OK));
    /* New connections get the new certificate only. */
    {
        wc_conn *stale = NULL;

        EXPECT(wc_open(&stale, own->port, old_cert, NULL), WC_ERROR);
    }
    wc_close(c);
    ph_rm_rf(dir);
    wc_close(old_conn);
    wi_account_free(a);
    ph_stop(own);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_restart_keeps_envelopes, teardown),
        cmocka_unit_test_teardown(test_kill9_keeps_acknowledged_sends, teardown),
        cmocka_unit_test_teardown(test_cert_reload_on_sighup, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
