/*
 * test_client_engine.c: the client runtime (client.h) against a real parleyd: accounts,
 * messages both ways, offline delivery, multi-device copies, linking, removal, verification
 * and key changes, redelivery after a crash. The `parley` command's own end-to-end tests
 * (tests/cli) drive the same paths through the binary.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <sodium.h>

#include "client.h"
#include "client_internal.h"
#include "cstore.h"
#include "kdf.h"
#include "parleyd_harness.h"
#include "wire_client.h"
#include "wire_ops.h"

static ph_server *srv;
static char server_addr[64];
static char base[256];

typedef struct inbox {
    char text[16][256];
    char from[16][33];
    char peer[16][33];
    int outgoing[16];
    int notice[16];
    int n;
} inbox;

static int collect(void *ctx, const pl_client_message *m)
{
    inbox *in = ctx;

    if (in->n < 16) {
        snprintf(in->text[in->n], sizeof in->text[0], "%.*s", (int)m->text_len, m->text);
        snprintf(in->from[in->n], sizeof in->from[0], "%s", m->from);
        snprintf(in->peer[in->n], sizeof in->peer[0], "%s", m->peer);
        in->outgoing[in->n] = m->outgoing;
        in->notice[in->n] = m->notice;
        in->n++;
    }
    return 0;
}

static void home_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", base, name);
}

#define OK(expr)                                                                                   \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != PL_CLIENT_OK)                                                                   \
            fail_msg("%s: %s (%s)", #expr, pl_client_errname(rc_), cl ? pl_client_error(cl) : ""); \
    } while (0)

static pl_client *open_home(const char *name, int create)
{
    char home[512], err[512];
    pl_client *c = NULL;
    int r;

    home_path(home, sizeof home, name);
    r = pl_client_open(&c, home, NULL, create, err, sizeof err);
    if (r != PL_CLIENT_OK)
        fail_msg("open %s: %s: %s", name, pl_client_errname(r), err);
    return c;
}

static pl_client *new_user(const char *name)
{
    char fp[96];
    pl_client *cl = open_home(name, 1);

    OK(pl_client_init(cl, server_addr, srv->cert_path, name, "laptop", fp));
    return cl;
}

static int receive_at(pl_client *cl, inbox *in, int wait_ms, int line)
{
    (void)line;
    memset(in, 0, sizeof *in);
    OK(pl_client_receive(cl, wait_ms, collect, in));
    return in->n;
}

#define receive(cl, in, wait_ms) receive_at((cl), (in), (wait_ms), __LINE__)

static void two_users_exchange_messages(void **state)
{
    pl_client *cl, *alice, *bob;
    char id[33];
    inbox in;

    (void)state;
    cl = alice = new_user("alice");
    cl = bob = new_user("bob");
    cl = alice;
    OK(pl_client_send(alice, "bob", "hello bob", 9, id));
    assert_int_equal(strlen(id), 32);
    cl = bob;
    assert_int_equal(receive(bob, &in, 2000), 1);
    assert_string_equal(in.text[0], "hello bob");
    assert_string_equal(in.from[0], "alice");
    OK(pl_client_send(bob, "alice", "hi alice", 8, id));
    OK(pl_client_send(bob, "alice", "second", 6, id));
    cl = alice;
    assert_int_equal(receive(alice, &in, 2000), 2);
    assert_string_equal(in.text[0], "hi alice");
    assert_string_equal(in.text[1], "second");
    /* Nothing is delivered twice. */
    assert_int_equal(receive(alice, &in, 0), 0);
    pl_client_close(alice);
    pl_client_close(bob);
}

static void multi_device_link_and_removal(void **state)
{
    pl_client *cl, *carol, *carol2, *dave;
    char code[32], qr[128], fp[96], name[65], id[33];
    uint32_t new_id = 0;
    inbox in;

    (void)state;
    cl = carol = new_user("carol");
    cl = dave = new_user("dave");
    OK(pl_client_send(dave, "carol", "before link", 11, id));
    /* carol links a second device. */
    cl = carol2 = open_home("carol2", 1);
    OK(pl_client_link_start(carol2, server_addr, srv->cert_path, "phone", code, qr, fp));
    assert_int_equal(strlen(code), 19);
    cl = carol;
    OK(pl_client_approve(carol, code, &new_id, name));
    assert_string_equal(name, "phone");
    cl = carol2;
    OK(pl_client_link_wait(carol2, 10000, NULL));
    /* dave's next message reaches both of carol's devices; carol2 sees its own sent copy
     * on carol. */
    cl = dave;
    OK(pl_client_send(dave, "carol", "after link", 10, id));
    cl = carol;
    assert_int_equal(receive(carol, &in, 2000), 2);
    assert_string_equal(in.text[1], "after link");
    cl = carol2;
    assert_int_equal(receive(carol2, &in, 2000), 1);
    assert_string_equal(in.text[0], "after link");
    OK(pl_client_send(carol2, "dave", "from the phone", 14, id));
    cl = carol;
    assert_int_equal(receive(carol, &in, 2000), 1);
    assert_string_equal(in.text[0], "from the phone");
    assert_true(in.outgoing[0]);
    assert_string_equal(in.peer[0], "dave");
    cl = dave;
    assert_int_equal(receive(dave, &in, 2000), 1);
    assert_string_equal(in.text[0], "from the phone");
    /* carol removes the phone: it stops receiving. */
    cl = carol;
    OK(pl_client_remove_device(carol, new_id));
    cl = dave;
    OK(pl_client_send(dave, "carol", "after removal", 13, id));
    cl = carol;
    assert_int_equal(receive(carol, &in, 2000), 1);
    cl = carol2;
    assert_int_not_equal(pl_client_receive(carol2, 500, collect, &in), PL_CLIENT_OK);
    pl_client_close(carol);
    pl_client_close(carol2);
    pl_client_close(dave);
}

static void tampered_link_code_is_refused(void **state)
{
    pl_client *cl, *erin, *erin2;
    char code[32], qr[128], fp[96], name[65];
    uint32_t new_id = 0;

    (void)state;
    cl = erin = new_user("erin");
    cl = erin2 = open_home("erin2", 1);
    OK(pl_client_link_start(erin2, server_addr, srv->cert_path, "tablet", code, qr, fp));
    code[0] = code[0] == 'A' ? 'B' : 'A'; /* another rendezvous: nothing there */
    assert_int_equal(pl_client_approve(erin, code, &new_id, name), PL_CLIENT_E_LINK_CODE);
    assert_int_equal(pl_client_approve(erin, "not a code", &new_id, name), PL_CLIENT_E_LINK_CODE);
    pl_client_close(erin);
    pl_client_close(erin2);
}

/* Replaces the account key a store holds for `user` (and the verified one, if verified) by
 * another, as if that other key had been seen and verified before: the next fetch from the
 * server sees a key change. */
static void plant_other_key(const char *home_name, const char *user)
{
    char home[512], err[512];
    pl_cstore *st = NULL;
    pl_cstore_contact ct;

    home_path(home, sizeof home, home_name);
    assert_int_equal(pl_cstore_open(&st, home, NULL, err, sizeof err), PL_CSTORE_OK);
    assert_int_equal(pl_cstore_contact_get(st, user, &ct), PL_CSTORE_OK);
    ct.account_key[5] ^= 0x40;
    if (ct.verified)
        memcpy(ct.verified_key, ct.account_key, sizeof ct.verified_key);
    assert_int_equal(pl_cstore_contact_put(st, &ct), PL_CSTORE_OK);
    pl_cstore_close(st);
}

static int count_notices(void *ctx, const pl_client_message *m)
{
    if (m->notice)
        ++*(int *)ctx;
    return 0;
}

/* The server (or anyone who can write the rendezvous) puts its own offer where a code's
 * device would: the approver must refuse it and add nothing. */
static void forged_link_offer_is_refused(void **state)
{
    pl_client *cl, *jo;
    uint8_t s[CL_LINK_SECRET_BYTES], rdv[16], blob[200];
    char code[32], name[65];
    uint32_t new_id = 0;
    pl_client_device *devs = NULL;
    size_t n = 0;
    wc_conn *w = NULL;

    (void)state;
    cl = jo = new_user("josie");
    randombytes_buf(s, sizeof s);
    cl_link_code_encode(s, code);
    assert_int_equal(pl__hkdf_sha256(rdv, sizeof rdv, NULL, 0, s, sizeof s,
                                     (const uint8_t *)"parley/link/v1/rendezvous", 25),
                     0);
    randombytes_buf(blob, sizeof blob); /* sealed under a key the forger cannot know */
    assert_int_equal(wc_connect(&w, srv->port, srv->cert_path), WC_OK);
    assert_int_equal(wo_link_put(w, rdv, sizeof rdv, 0, blob, sizeof blob), 0);
    wc_close(w);
    assert_int_equal(pl_client_approve(jo, code, &new_id, name), PL_CLIENT_E_LINK_CODE);
    assert_non_null(strstr(pl_client_error(jo), "tampered"));
    OK(pl_client_devices(jo, &devs, &n));
    assert_int_equal(n, 1); /* nothing was added */
    free(devs);
    pl_client_close(jo);
}

static void verification_and_key_change(void **state)
{
    pl_client *cl, *frank, *gina;
    pl_client_safety sf, sg;
    char id[33];
    int notices = 0;

    (void)state;
    cl = frank = new_user("frank");
    cl = gina = new_user("gina");
    OK(pl_client_send(frank, "gina", "hi", 2, id));
    OK(pl_client_safety_number(frank, "gina", &sf));
    OK(pl_client_safety_number(gina, "frank", &sg));
    assert_string_equal(sf.safety_number, sg.safety_number);
    assert_int_equal(pl_client_verify_confirm(frank, "gina", "12345"), PL_CLIENT_E_MISMATCH);
    OK(pl_client_verify_confirm(frank, "gina", sf.safety_number));
    OK(pl_client_safety_number(frank, "gina", &sf));
    assert_true(sf.verified);

    /* A verified contact's key changes: sending is blocked until verified again. */
    pl_client_close(frank);
    plant_other_key("frank", "gina");
    cl = frank = open_home("frank", 0);
    assert_int_equal(pl_client_send(frank, "gina", "blocked?", 8, id), PL_CLIENT_E_KEY_CHANGED);
    assert_non_null(strstr(pl_client_error(frank), "verify"));
    assert_int_equal(pl_client_send(frank, "gina", "still?", 6, id), PL_CLIENT_E_KEY_CHANGED);
    OK(pl_client_safety_number(frank, "gina", &sf));
    assert_false(sf.verified);
    assert_true(sf.key_changed);
    OK(pl_client_verify_confirm(frank, "gina", sf.safety_number));
    OK(pl_client_send(frank, "gina", "unblocked", 9, id));
    OK(pl_client_history(frank, "gina", 0, count_notices, &notices));
    assert_int_equal(notices, 1);

    /* An unverified contact's key changes: announced and recorded, not blocked. */
    pl_client_close(gina);
    plant_other_key("gina", "frank");
    cl = gina = open_home("gina", 0);
    OK(pl_client_send(gina, "frank", "hello again", 11, id));
    notices = 0;
    OK(pl_client_history(gina, "frank", 0, count_notices, &notices));
    assert_int_equal(notices, 1);
    pl_client_close(frank);
    pl_client_close(gina);
}

static void crash_before_ack_shows_once(void **state)
{
    pl_client *cl, *hank, *ivy;
    char id[33], home[512], err[512];
    pid_t pid;
    int status;
    inbox in;

    (void)state;
    cl = hank = new_user("hank");
    cl = ivy = new_user("ivy");
    OK(pl_client_send(hank, "ivy", "exactly once", 12, id));
    pl_client_close(ivy);
    home_path(home, sizeof home, "ivy");
    pid = fork();
    if (pid == 0) {
        pl_client *c2 = NULL;
        inbox in2;

        setenv("PARLEY_TEST_CRASH_BEFORE_ACK", "1", 1);
        if (pl_client_open(&c2, home, NULL, 0, err, sizeof err) != PL_CLIENT_OK)
            _exit(3);
        (void)pl_client_receive(c2, 2000, collect, &in2);
        _exit(4);
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 99);
    cl = ivy = open_home("ivy", 0);
    assert_int_equal(receive(ivy, &in, 500), 0); /* redelivered, recognised, acknowledged */
    memset(&in, 0, sizeof in);
    OK(pl_client_history(ivy, "hank", 0, collect, &in));
    assert_int_equal(in.n, 1);
    assert_string_equal(in.text[0], "exactly once");
    pl_client_close(hank);
    pl_client_close(ivy);
}

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof base, "/tmp/parley-engine-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    setenv("PARLEY_TEST_FAST_KDF", "1", 1);
    srv = ph_start(NULL);
    snprintf(server_addr, sizeof server_addr, "127.0.0.1:%u", srv->port);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    ph_stop(srv);
    ph_free(srv);
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_users_exchange_messages),
        cmocka_unit_test(multi_device_link_and_removal),
        cmocka_unit_test(tampered_link_code_is_refused),
        cmocka_unit_test(forged_link_offer_is_refused),
        cmocka_unit_test(verification_and_key_change),
        cmocka_unit_test(crash_before_ack_shows_once),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
