/*
 * test_client_kt.c: key-transparency verification in the client runtime (client_kt*.c)
 * against a real parleyd (quorum 0): a contact is verified in the log before the first
 * message and only its logged devices are used; the account's own history lists register,
 * link and removal; and a client whose pinned VRF key or saved checkpoint was altered in its
 * store refuses to send with a specific error, keeps the evidence, and stays blocked until
 * the alert is acknowledged.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "client.h"
#include "parleyd_harness.h"

/* Another VRF public key (a valid-looking 32 bytes), planted in place of the pinned one. */
#define KEY32 "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0"

static ph_server *srv;
static char server_addr[64];
static char base[256];

#define OK(cl, expr)                                                                               \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != PL_CLIENT_OK)                                                                   \
            fail_msg("%s: %s (%s)", #expr, pl_client_errname(rc_), pl_client_error(cl));           \
    } while (0)

#define EXPECT(cl, expr, want)                                                                     \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != (want))                                                                         \
            fail_msg("%s: %s, want %s (%s)", #expr, pl_client_errname(rc_),                        \
                     pl_client_errname(want), pl_client_error(cl));                                \
    } while (0)

static pl_client *open_home(const char *name, int create)
{
    char home[512], err[512];
    pl_client *c = NULL;
    int r;

    snprintf(home, sizeof home, "%s/%s", base, name);
    r = pl_client_open(&c, home, NULL, create, err, sizeof err);
    if (r != PL_CLIENT_OK)
        fail_msg("open %s: %s: %s", name, pl_client_errname(r), err);
    return c;
}

static pl_client *new_user(const char *name)
{
    char fp[96];
    pl_client *cl = open_home(name, 1);

    OK(cl, pl_client_init(cl, server_addr, srv->cert_path, name, "laptop", fp));
    return cl;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Runs sql on the closed home's database (a person with access to the disk). */
static void tamper(const char *name, const char *sql)
{
    char path[600];
    sqlite3 *db = NULL;
    char *msg = NULL;

    snprintf(path, sizeof path, "%s/%s/parley.db", base, name);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_close(db);
}

typedef struct alerts {
    char kind[8][32];
    char user[8][33];
    int64_t id[8];
    size_t evidence[8];
    int high[8];
    size_t n;
} alerts;

static int collect_alert(void *ctx, const pl_client_alert *a)
{
    alerts *x = ctx;

    if (x->n < 8) {
        snprintf(x->kind[x->n], sizeof x->kind[0], "%s", a->kind);
        snprintf(x->user[x->n], sizeof x->user[0], "%s", a->user);
        x->id[x->n] = a->id;
        x->evidence[x->n] = a->n_evidence;
        x->high[x->n] = a->high;
        x->n++;
    }
    return 0;
}

static void contact_verified_before_the_first_message(void **state)
{
    pl_client *alice, *bob;
    pl_client_kt_status st;
    alerts al;
    char id[33];

    (void)state;
    alice = new_user("alice");
    bob = new_user("bob");
    /* Nothing verified about bob before the first message... */
    OK(alice, pl_client_kt_status_get(alice, "bob", 0, &st));
    assert_true(st.pinned);
    assert_false(st.verified);
    /* ...and the send looks him up (waiting for his first entry if it is pending). */
    OK(alice, pl_client_send(alice, "bob", "hello", 5, id));
    OK(alice, pl_client_kt_status_get(alice, "bob", 0, &st));
    assert_true(st.verified);
    assert_int_equal(st.version, 0);
    assert_int_equal(st.n_devices, 1);
    assert_int_equal(st.devices[0].id, 1);
    assert_true(st.has_checkpoint);
    assert_true(st.checkpoint_size >= 1);
    assert_false(st.blocked);
    /* Our own label was verified on the way (the sender's devices come from it too). */
    OK(alice, pl_client_kt_status_get(alice, "alice", 0, &st));
    assert_true(st.verified);
    /* A fresh lookup through the public call agrees, and nothing was raised. */
    OK(alice, pl_client_kt_status_get(alice, "BOB", 1, &st));
    assert_int_equal(st.version, 0);
    memset(&al, 0, sizeof al);
    OK(alice, pl_client_alerts(alice, 1, collect_alert, &al));
    assert_int_equal(al.n, 0);
    /* Owner monitoring on bob's side finds only his own version 0. */
    OK(bob, pl_client_kt_monitor(bob, 1));
    pl_client_close(alice);
    pl_client_close(bob);
}

typedef struct history {
    pl_client_log_entry e[8];
    size_t n;
} history;

static int collect_entry(void *ctx, const pl_client_log_entry *e)
{
    history *h = ctx;

    if (h->n < 8)
        h->e[h->n++] = *e;
    return 0;
}

static void own_log_lists_register_link_and_removal(void **state)
{
    pl_client *carol, *carol2;
    char code[32], qr[128], fp[96], name[65];
    uint32_t new_id = 0;
    history *h = calloc(1, sizeof *h);
    int tries;

    (void)state;
    assert_non_null(h);
    carol = new_user("carol");
    carol2 = open_home("carol2", 1);
    OK(carol2, pl_client_link_start(carol2, server_addr, srv->cert_path, "phone", code, qr, fp));
    OK(carol, pl_client_approve(carol, code, &new_id, name));
    OK(carol2, pl_client_link_wait(carol2, 10000, NULL));
    pl_client_close(carol2);
    OK(carol, pl_client_remove_device(carol, new_id));
    /* The log publishes about 1 s after each change. */
    for (tries = 0; tries < 20; tries++) {
        int r;

        memset(h, 0, sizeof *h);
        r = pl_client_account_log(carol, collect_entry, h);
        if (r != PL_CLIENT_E_KT_UNLOGGED)
            OK(carol, r);
        if (h->n == 3)
            break;
        sleep_ms(500);
    }
    assert_int_equal(h->n, 3);
    assert_int_equal(h->e[0].version, 0);
    assert_int_equal(h->e[0].n_added, 1);
    assert_int_equal(h->e[0].added[0].id, 1);
    assert_int_equal(h->e[0].n_removed, 0);
    assert_int_equal(h->e[1].version, 1);
    assert_int_equal(h->e[1].n_added, 1);
    assert_int_equal(h->e[1].added[0].id, new_id);
    assert_int_equal(h->e[1].publisher_device_id, 1);
    assert_int_equal(h->e[2].n_removed, 1);
    assert_int_equal(h->e[2].removed[0].id, new_id);
    assert_int_equal(h->e[2].n_devices, 1);
    for (size_t i = 0; i < 3; i++)
        if (h->e[i].unexpected[0])
            fail_msg("version %zu flagged: %s", i, h->e[i].unexpected);
    /* Monitoring walks the same chain from what carol verified before. */
    OK(carol, pl_client_kt_monitor(carol, 1));
    free(h);
    pl_client_close(carol);
}

/* Counts the files under dir/alert-ID. */
static int exported(const char *dir, int64_t id, const char *file)
{
    char path[700];
    struct stat st;

    snprintf(path, sizeof path, "%s/alert-%lld/%s", dir, (long long)id, file);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) == 0 && st.st_size > 0;
}

static void altered_vrf_key_blocks_sending_with_evidence(void **state)
{
    pl_client *erin, *frank;
    char id[33], dir[400];
    alerts al;
    size_t files = 0;

    (void)state;
    erin = new_user("erin");
    frank = new_user("frank");
    OK(frank, pl_client_send(frank, "frank", "note to self", 12, id)); /* frank is logged */
    pl_client_close(erin);
    /* Someone flips a bit of the VRF key erin pinned. */
    tamper("erin", "UPDATE kt_log SET vrf_key = x'" KEY32 "'");
    erin = open_home("erin", 0);
    EXPECT(erin, pl_client_send(erin, "frank", "hi", 2, id), PL_CLIENT_E_KT_PROOF);
    assert_non_null(strstr(pl_client_error(erin), "alert #"));
    memset(&al, 0, sizeof al);
    OK(erin, pl_client_alerts(erin, 0, collect_alert, &al));
    assert_true(al.n >= 1);
    assert_string_equal(al.kind[0], "lookup");
    assert_int_equal(al.evidence[0], 2);
    /* Nothing changed, and sending stays blocked until the alert is acknowledged. */
    EXPECT(erin, pl_client_send(erin, al.user[0], "again", 5, id), PL_CLIENT_E_KT_BLOCKED);
    snprintf(dir, sizeof dir, "%s/erin-evidence", base);
    OK(erin, pl_client_alerts_export(erin, dir, 0, &files));
    assert_true(files >= 2);
    assert_true(exported(dir, al.id[0], "proof.bin"));
    assert_true(exported(dir, al.id[0], "checkpoint.note"));
    /* Exporting again never overwrites. */
    EXPECT(erin, pl_client_alerts_export(erin, dir, al.id[0], &files), PL_CLIENT_E_STORE);
    OK(erin, pl_client_alert_ack(erin, al.id[0]));
    EXPECT(erin, pl_client_alert_ack(erin, 999999), PL_CLIENT_E_NOT_FOUND);
    /* Acknowledged, the next send looks up again, and fails again: the key is still wrong. */
    EXPECT(erin, pl_client_send(erin, "frank", "hi", 2, id), PL_CLIENT_E_KT_PROOF);
    pl_client_close(erin);
    pl_client_close(frank);
}

static void altered_saved_checkpoint_blocks_sending(void **state)
{
    pl_client *gina, *hal;
    pl_client_kt_status st;
    char id[33];
    alerts al;

    (void)state;
    gina = new_user("gina");
    hal = new_user("hal");
    OK(gina, pl_client_send(gina, "hal", "first", 5, id));
    OK(gina, pl_client_kt_status_get(gina, "hal", 0, &st));
    assert_true(st.has_checkpoint);
    pl_client_close(gina);
    /* The saved checkpoint's root no longer matches its signed note. */
    tamper("gina", "UPDATE kt_log SET root = zeroblob(32)");
    gina = open_home("gina", 0);
    EXPECT(gina, pl_client_send(gina, "hal", "second", 6, id), PL_CLIENT_E_KT_STATE);
    memset(&al, 0, sizeof al);
    OK(gina, pl_client_alerts(gina, 0, collect_alert, &al));
    assert_int_equal(al.n, 1);
    assert_string_equal(al.kind[0], "saved-state");
    assert_string_equal(al.user[0], "");
    assert_int_equal(al.high[0], 1);
    assert_int_equal(al.evidence[0], 1);
    /* A log-wide alert blocks every contact. */
    EXPECT(gina, pl_client_send(gina, "hal", "third", 5, id), PL_CLIENT_E_KT_BLOCKED);
    OK(gina, pl_client_kt_status_get(gina, "hal", 0, &st));
    assert_true(st.blocked);
    pl_client_close(gina);
    pl_client_close(hal);
}

/* Runs a shell command (copying the server's data directory). */
static void shell(const char *cmd)
{
    if (system(cmd) != 0)
        fail_msg("%s failed", cmd);
}

static void a_server_that_rolls_its_log_back_is_caught(void **state)
{
    pl_client *ivy, *jack, *kim;
    pl_client_kt_status st;
    char snap[400], id[33], cmd[1400];
    alerts al;
    int r;

    (void)state;
    ivy = new_user("ivy");
    jack = new_user("jack");
    OK(ivy, pl_client_send(ivy, "jack", "hi", 2, id));
    /* The operator keeps a copy of the server as it is now... */
    snprintf(snap, sizeof snap, "%s/server-snapshot", base);
    ph_stop(srv);
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", srv->data_dir, snap);
    shell(cmd);
    ph_restart(srv);
    pl_client_close(ivy); /* as a new `parley` command would: its connection is gone */
    ivy = open_home("ivy", 0);
    /* ...the log grows, and ivy sees it grow... */
    kim = new_user("kim");
    for (int tries = 0; tries < 20; tries++) {
        r = pl_client_kt_status_get(ivy, "kim", 1, &st);
        if (r != PL_CLIENT_E_KT_UNLOGGED)
            break;
        sleep_ms(300);
    }
    OK(ivy, r);
    /* ...then the operator puts the old copy back. */
    ph_stop(srv);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", srv->data_dir, snap, srv->data_dir);
    shell(cmd);
    ph_restart(srv);
    pl_client_close(ivy);
    ivy = open_home("ivy", 0);
    EXPECT(ivy, pl_client_kt_status_get(ivy, "jack", 1, &st), PL_CLIENT_E_KT_VIEW);
    memset(&al, 0, sizeof al);
    OK(ivy, pl_client_alerts(ivy, 0, collect_alert, &al));
    assert_int_equal(al.n, 1);
    assert_string_equal(al.kind[0], "view");
    assert_string_equal(al.user[0], "");
    assert_int_equal(al.high[0], 1);
    assert_int_equal(al.evidence[0], 3); /* both signed checkpoints and the (empty) proof */
    assert_non_null(strstr(pl_client_error(ivy), "rollback"));
    /* Every contact is blocked now: the log itself is not trustworthy. */
    EXPECT(ivy, pl_client_send(ivy, "jack", "again", 5, id), PL_CLIENT_E_KT_BLOCKED);
    pl_client_close(ivy);
    pl_client_close(jack);
    pl_client_close(kim);
}

static void another_log_config_is_an_alert_not_a_repin(void **state)
{
    pl_client *lea;
    alerts al;

    (void)state;
    lea = new_user("lea");
    pl_client_close(lea);
    /* What lea pinned no longer matches what the server offers. */
    tamper("lea", "UPDATE kt_log SET max_ahead = 1");
    lea = open_home("lea", 0);
    EXPECT(lea, pl_client_kt_monitor(lea, 1), PL_CLIENT_E_KT_CONFIG);
    memset(&al, 0, sizeof al);
    OK(lea, pl_client_alerts(lea, 0, collect_alert, &al));
    assert_int_equal(al.n, 1);
    assert_string_equal(al.kind[0], "config-changed");
    assert_int_equal(al.evidence[0], 2);
    /* Never a re-pin: the same alert again, and the pinned row is as it was. */
    EXPECT(lea, pl_client_kt_monitor(lea, 1), PL_CLIENT_E_KT_CONFIG);
    pl_client_close(lea);
}

static void a_device_the_log_does_not_show_is_never_used(void **state)
{
    pl_client *mia, *ned, *ned2;
    char code[32], qr[128], fp[96], name[65], id[33], dev[16];
    uint32_t new_id = 0;
    alerts al;
    FILE *conf;

    (void)state;
    mia = new_user("mia");
    ned = new_user("ned");
    OK(mia, pl_client_send(mia, "ned", "first", 5, id)); /* ned verified at version 0 */
    /* From now on the server publishes nothing: its log stops at what mia verified. */
    ph_stop(srv);
    assert_non_null(conf = fopen(srv->conf_path, "a"));
    fputs("\n[kt]\nbatch_interval = 1h\nheartbeat = 1h\n", conf);
    fclose(conf);
    ph_restart(srv);
    pl_client_close(mia);
    pl_client_close(ned);
    mia = open_home("mia", 0);
    ned = open_home("ned", 0);
    /* ned links a second device: the server lists it, the log does not show it. */
    ned2 = open_home("ned2", 1);
    OK(ned2, pl_client_link_start(ned2, server_addr, srv->cert_path, "phone", code, qr, fp));
    OK(ned, pl_client_approve(ned, code, &new_id, name));
    OK(ned2, pl_client_link_wait(ned2, 10000, NULL));
    /* The server insists (MISMATCHED_DEVICES); mia looks up again, a few times about 1 s
     * apart, and refuses to encrypt to it. */
    EXPECT(mia, pl_client_send(mia, "ned", "not to the phone", 16, id), PL_CLIENT_E_KT_UNLOGGED);
    snprintf(dev, sizeof dev, "device %u", new_id);
    assert_non_null(strstr(pl_client_error(mia), dev));
    memset(&al, 0, sizeof al);
    OK(mia, pl_client_alerts(mia, 0, collect_alert, &al));
    assert_int_equal(al.n, 1);
    assert_string_equal(al.kind[0], "unlogged-device");
    assert_string_equal(al.user[0], "ned");
    assert_int_equal(al.high[0], 0);
    /* It does not block by itself: the next send checks again (and fails again). */
    EXPECT(mia, pl_client_send(mia, "ned", "again", 5, id), PL_CLIENT_E_KT_UNLOGGED);
    pl_client_close(mia);
    pl_client_close(ned);
    pl_client_close(ned2);
}

/* A port that was free a moment ago, so that a restarted parleyd keeps its address. */
static unsigned free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return 0;
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int setup(void **state)
{
    static char listen[64];
    const char *settings[] = {listen, NULL};

    (void)state;
    snprintf(base, sizeof base, "/tmp/parley-kt-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    setenv("PARLEY_TEST_FAST_KDF", "1", 1);
    snprintf(listen, sizeof listen, "server.listen=127.0.0.1:%u", free_port());
    srv = ph_start(settings);
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
        cmocka_unit_test(contact_verified_before_the_first_message),
        cmocka_unit_test(own_log_lists_register_link_and_removal),
        cmocka_unit_test(altered_vrf_key_blocks_sending_with_evidence),
        cmocka_unit_test(altered_saved_checkpoint_blocks_sending),
        cmocka_unit_test(a_server_that_rolls_its_log_back_is_caught),
        cmocka_unit_test(another_log_config_is_an_alert_not_a_repin),
        /* Last: it stops the server's publication for the rest of the run. */
        cmocka_unit_test(a_device_the_log_does_not_show_is_never_used),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
