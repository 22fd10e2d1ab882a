/*
 * test_audit_parleyd.c: parley-audit (the real binary) against a real parleyd whose
 * `[kt] witnesses` is the auditor's vkey with quorum 1:
 *   - an account registered over the wire is published only once `parley-audit once` has
 *     cosigned the entry that logs it, and the published checkpoint carries its cosignature;
 *   - a new process reloads the state from its own database and replays only new entries;
 *     `run` cosigns on KtWatch pushes and stops cleanly on SIGTERM;
 *   - a FORK: a second parleyd with the same DATA/kt keys and another history (grown by a
 *     second auditor holding a copy of the same witness key) is refused by the first
 *     auditor's state, again after a restart and even after `resume`, and nothing is
 *     cosigned for it;
 *   - a ROLLBACK: parleyd's store restored from an older copy is refused.
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "parley/parley.h"
#include "parleyd_test.h"
#include "testutil.h"
#include "tls_cert.h"

#define WITNESS_NAME "audit.example.org/w1"
#define AUDIT_TIMEOUT_MS 60000u

typedef struct audit_dir {
    char dir[256];
    char log[300];
    char vkey[PL_NOTE_VKEY_MAX_BYTES + 1];
    pl_note_verifier me;
} audit_dir;

static ph_server *srv_a, *srv_b;
static audit_dir *aud1, *aud2;

/* ------------------------------------------------------------------ running parley-audit */

static void dump_audit_log(const audit_dir *a)
{
    char *text;
    size_t len;

    if (!a)
        return;
    text = (char *)tu_read_file(a->log, &len);
    fprintf(stderr, "---- %s ----\n%s----\n", a->log,
            text ? text + (len > 6000 ? len - 6000 : 0) : "");
    free(text);
}

/* Runs parley-audit with args (NULL-terminated, without argv[0]), its stderr appended to
 * a->log, its stdout into out. Returns the exit status, or fails the test after a timeout. */
static int audit_cmd(const audit_dir *a, const char *const *args, char *out, size_t cap)
{
    const char *argv[16];
    int pfd[2], status;
    size_t n = 0, got = 0;
    uint64_t deadline = ph_mono_ms() + AUDIT_TIMEOUT_MS;
    pid_t pid;

    argv[n++] = "parley-audit";
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (pipe(pfd) != 0)
        fail_msg("pipe: %s", strerror(errno));
    if ((pid = fork()) < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(a->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

        dup2(pfd[1], STDOUT_FILENO);
        if (fd >= 0)
            dup2(fd, STDERR_FILENO);
        close(pfd[0]);
        execv(PARLEY_AUDIT_PATH, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    for (;;) {
        ssize_t r = read(pfd[0], out + got, cap - 1 - got);

        if (r > 0 && (got += (size_t)r) < cap - 1)
            continue;
        if (r < 0 && errno == EINTR)
            continue;
        break;
    }
    close(pfd[0]);
    out[got] = '\0';
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (ph_mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            dump_audit_log(a);
            fail_msg("parley-audit %s did not finish in time", args[0]);
        }
        ph_sleep_ms(20);
    }
    if (!WIFEXITED(status)) {
        dump_audit_log(a);
        fail_msg("parley-audit %s died (status 0x%x)", args[0], status);
    }
    return WEXITSTATUS(status);
}

/* Asserts an exit status and a prefix of stdout, with the auditor's log on failure. */
static void expect_audit(const audit_dir *a, int got, const char *out, int want,
                         const char *want_prefix, int line)
{
    if (got != want || strncmp(out, want_prefix, strlen(want_prefix)) != 0) {
        dump_audit_log(a);
        fail_msg("line %d: parley-audit exited %d with \"%s\"; expected %d and \"%s...\"", line,
                 got, out, want, want_prefix);
    }
}

static audit_dir *audit_new(void)
{
    audit_dir *a = calloc(1, sizeof *a);
    char out[1024];
    int st;

    if (!a)
        fail_msg("out of memory");
    strcpy(a->dir, "/tmp/parley-audit-it-XXXXXX");
    if (!mkdtemp(a->dir))
        fail_msg("mkdtemp: %s", strerror(errno));
    snprintf(a->log, sizeof a->log, "%s.log", a->dir);
    st =
        audit_cmd(a, (const char *const[]){"init", "--state", a->dir, "--name", WITNESS_NAME, NULL},
                  out, sizeof out);
    expect_audit(a, st, out, 0, WITNESS_NAME "+", __LINE__);
    out[strcspn(out, "\n")] = '\0';
    snprintf(a->vkey, sizeof a->vkey, "%.*s", (int)(sizeof a->vkey - 1), out);
    if (pl_note_verifier_parse(a->vkey, strlen(a->vkey), &a->me) != PL_OK)
        fail_msg("init printed \"%s\", not a vkey", a->vkey);
    assert_int_equal(a->me.type, PL_NOTE_TYPE_COSIGNATURE_V1);
    return a;
}

static void audit_free(audit_dir *a)
{
    char path[300];

    if (!a)
        return;
    ph_rm_rf(a->dir);
    snprintf(path, sizeof path, "%s", a->log);
    unlink(path);
    free(a);
}

/* `parley-audit once` against s: exit status, result line in out. */
static int audit_once(const audit_dir *a, const ph_server *s, char *out, size_t cap)
{
    char server[64];

    snprintf(server, sizeof server, "127.0.0.1:%u", s->port);
    return audit_cmd(a,
                     (const char *const[]){"once", "--state", a->dir, "--server", server, "--ca",
                                           s->cert_path, NULL},
                     out, cap);
}

#define EXPECT_ONCE(a, s, want, prefix)                                                            \
    do {                                                                                           \
        char out_[1024];                                                                           \
        int st_ = audit_once((a), (s), out_, sizeof out_);                                         \
        expect_audit((a), st_, out_, (want), (prefix), __LINE__);                                  \
    } while (0)

/* ------------------------------------------------------------------ parleyd's log */

static void copy_file(const char *from, const char *to)
{
    size_t len;
    uint8_t *data = tu_read_file(from, &len);
    int fd;

    if (!data)
        fail_msg("cannot read %s", from);
    fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) != 0)
        fail_msg("cannot write %s", to);
    free(data);
}

/*
 * Starts a parleyd whose log is witnessed by vkey alone, quorum 1. With kt_from (another
 * server's data directory), the server is started once to make its directory, stopped, its
 * data directory emptied and the other server's DATA/kt keys copied in before it starts
 * again: the same log keys, the same origin, a history of its own.
 */
static ph_server *start_server(const char *vkey, const char *kt_from)
{
    char witnesses[PL_NOTE_VKEY_MAX_BYTES + 32], from[PH_PATH_MAX + 32], to[PH_PATH_MAX + 32];
    const char *settings[] = {witnesses, "kt.quorum=1", "kt.batch_interval=100ms", NULL};
    static const char *const keys[] = {"log.key", "vrf.key", "open.key"};
    ph_server *s;

    snprintf(witnesses, sizeof witnesses, "kt.witnesses=%s", vkey);
    s = ph_start(settings);
    if (!kt_from)
        return s;
    ph_stop(s);
    s->passed = 0;
    ph_rm_rf(s->data_dir);
    snprintf(to, sizeof to, "%s/kt", s->data_dir);
    if (mkdir(s->data_dir, 0700) != 0 || mkdir(to, 0700) != 0)
        fail_msg("mkdir %s: %s", to, strerror(errno));
    for (size_t i = 0; i < 3; i++) {
        snprintf(from, sizeof from, "%s/kt/%s", kt_from, keys[i]);
        snprintf(to, sizeof to, "%s/kt/%s", s->data_dir, keys[i]);
        copy_file(from, to);
    }
    ph_restart(s);
    return s;
}

/* Sends one KT request and returns its Response frame (status OK or not). */
static Parley__ServerFrame *kt_request(const ph_server *s, Parley__Request *req)
{
    Parley__ServerFrame *f = NULL;
    wc_conn *c = NULL;

    EXPECT(wc_connect(&c, s->port, s->cert_path), WC_OK);
    EXPECT(wc_request(c, req, &f, WC_TIMEOUT_MS), WC_OK);
    wc_close(c);
    return f;
}

/* The newest checkpoint (signed, or published): its size, and its note in note (may be NULL).
 * 0 when there is none yet. */
static uint64_t checkpoint(const ph_server *s, int latest_signed, char *note, size_t cap)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtCheckpointGet get = PARLEY__KT_CHECKPOINT_GET__INIT;
    Parley__ServerFrame *f;
    const char *nl;
    uint64_t size = 0;

    req.body_case = PARLEY__REQUEST__BODY_KT_CHECKPOINT;
    req.kt_checkpoint = &get;
    get.latest_signed = latest_signed;
    f = kt_request(s, &req);
    if (wc_status(f) == ST(OK)) {
        nl = strchr(f->response->kt_checkpoint->note, '\n');
        assert_non_null(nl);
        size = strtoull(nl + 1, NULL, 10);
        if (note)
            snprintf(note, cap, "%s", f->response->kt_checkpoint->note);
    } else {
        EXPECT(wc_status(f), ST(NOT_FOUND));
    }
    pl_frame_server_free(f);
    return size;
}

/* Waits until the newest signed checkpoint is larger than size; returns its size. */
static uint64_t wait_signed_above(const ph_server *s, uint64_t size)
{
    uint64_t deadline = ph_mono_ms() + 20000u, now;

    while ((now = checkpoint(s, 1, NULL, 0)) <= size) {
        if (ph_mono_ms() > deadline) {
            ph_dump_log(s, 4096);
            fail_msg("no signed checkpoint above %llu within 20 s", (unsigned long long)size);
        }
        ph_sleep_ms(50);
    }
    return now;
}

/* The status of a greatest-version lookup of username. */
static int lookup(const ph_server *s, const char *username)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtLookup l = PARLEY__KT_LOOKUP__INIT;
    Parley__ServerFrame *f;
    int st;

    req.body_case = PARLEY__REQUEST__BODY_KT_LOOKUP;
    req.kt_lookup = &l;
    l.username = (char *)username;
    f = kt_request(s, &req);
    st = wc_status(f);
    pl_frame_server_free(f);
    return st;
}

/* Registers a fresh user and waits for the signed entry that logs it; returns its size. */
static uint64_t register_and_sequence(const ph_server *s, const char *prefix, wi_account **out)
{
    uint64_t before = checkpoint(s, 1, NULL, 0);
    wi_account *a = wo_new_user(s->port, s->cert_path, prefix, NULL);

    if (out)
        *out = a;
    return wait_signed_above(s, before);
}

/* Waits for the log's first entry (parleyd makes one at start) and has a cosign it: until
 * then the sequencer makes no entry, since the newest signed one is unpublished. Returns
 * its size. */
static uint64_t first_cosigned(const audit_dir *a, const ph_server *s)
{
    uint64_t size = wait_signed_above(s, 0);

    EXPECT_ONCE(a, s, 0, "cosigned ");
    return size;
}

/* `parley-audit status` output. */
static void audit_status(const audit_dir *a, char *out, size_t cap, int want_exit)
{
    int st = audit_cmd(a, (const char *const[]){"status", "--state", a->dir, NULL}, out, cap);

    expect_audit(a, st, out, want_exit, "witness:", __LINE__);
}

static void expect_in(const audit_dir *a, const char *text, const char *needle)
{
    if (!strstr(text, needle)) {
        dump_audit_log(a);
        fail_msg("\"%s\" not in:\n%s", needle, text);
    }
}

/* ------------------------------------------------------------------ tests */

static int teardown(void **state)
{
    (void)state;
    ph_test_teardown(NULL);
    ph_free(srv_a);
    ph_free(srv_b);
    srv_a = srv_b = NULL;
    audit_free(aud1);
    audit_free(aud2);
    aud1 = aud2 = NULL;
    return 0;
}

static void test_published_only_after_audit_cosigns(void **state)
{
    char out[4096], note[8192], expect[128];
    wi_account *alice, *bob;
    uint64_t published, s0, s1, s2;
    pl_note_opened opened;

    (void)state;
    ph_test_begin();
    aud1 = audit_new();
    srv_a = start_server(aud1->vkey, NULL);
    /* the log's first entry is signed but, with no cosignature, not published */
    s0 = wait_signed_above(srv_a, 0);
    assert_int_equal(checkpoint(srv_a, 0, NULL, 0), 0);
    /* the first round pins the log, replays every entry and cosigns */
    snprintf(expect, sizeof expect, "cosigned %llu delivered %llu", (unsigned long long)s0,
             (unsigned long long)s0);
    EXPECT_ONCE(aud1, srv_a, 0, expect);
    published = checkpoint(srv_a, 0, NULL, 0);
    assert_int_equal(published, s0);

    s1 = register_and_sequence(srv_a, "au", &alice);
    /* signed, but no witness has cosigned: nobody can look alice up */
    assert_true(s1 > published);
    EXPECT(lookup(srv_a, alice->username), ST(NOT_FOUND));
    assert_int_equal(checkpoint(srv_a, 0, NULL, 0), published);
    snprintf(expect, sizeof expect, "cosigned %llu delivered %llu", (unsigned long long)s1,
             (unsigned long long)(s1 - s0));
    EXPECT_ONCE(aud1, srv_a, 0, expect);
    EXPECT(lookup(srv_a, alice->username), ST(OK));
    assert_int_equal(checkpoint(srv_a, 0, note, sizeof note), s1);
    /* the published checkpoint carries this auditor's cosignature */
    assert_int_equal(pl_note_open(note, strlen(note), &aud1->me, 1, &opened), PL_OK);
    assert_int_equal(opened.verified, 1u);

    /* a new process: the state comes from its own database; only the new entry is fetched */
    s2 = register_and_sequence(srv_a, "au", &bob);
    EXPECT(lookup(srv_a, bob->username), ST(NOT_FOUND));
    snprintf(expect, sizeof expect, "cosigned %llu delivered %llu", (unsigned long long)s2,
             (unsigned long long)(s2 - s1));
    EXPECT_ONCE(aud1, srv_a, 0, expect);
    EXPECT(lookup(srv_a, bob->username), ST(OK));
    /* nothing new: the same checkpoint is cosigned again, nothing replayed */
    snprintf(expect, sizeof expect, "cosigned %llu delivered 0", (unsigned long long)s2);
    EXPECT_ONCE(aud1, srv_a, 0, expect);

    /* --pin: the certificate's SHA-256 instead of a CA file, in either spelling */
    {
        char fp[PL_TLS_FINGERPRINT_BYTES], hex[65], server[64], terr[256];
        size_t k = 0;
        int st;

        assert_int_equal(pl_tls_cert_fingerprint_file(srv_a->cert_path, fp, terr, sizeof terr),
                         PL_TLS_OK);
        for (const char *p = fp; *p && k < 64; p++)
            if (*p != ':')
                hex[k++] = (char)(*p | 0x20);
        hex[k] = '\0';
        snprintf(server, sizeof server, "127.0.0.1:%u", srv_a->port);
        st = audit_cmd(aud1,
                       (const char *const[]){"once", "--state", aud1->dir, "--server", server,
                                             "--pin", fp, NULL},
                       out, sizeof out);
        expect_audit(aud1, st, out, 0, "cosigned ", __LINE__);
        st = audit_cmd(aud1,
                       (const char *const[]){"once", "--state", aud1->dir, "--server", server,
                                             "--pin", hex, NULL},
                       out, sizeof out);
        expect_audit(aud1, st, out, 0, "cosigned ", __LINE__);
        hex[0] = hex[0] == 'a' ? 'b' : 'a';
        st = audit_cmd(aud1,
                       (const char *const[]){"once", "--state", aud1->dir, "--server", server,
                                             "--pin", hex, NULL},
                       out, sizeof out);
        expect_audit(aud1, st, out, 3, "transient ", __LINE__);
        expect_in(aud1, out, "not the pinned");
    }

    audit_status(aud1, out, sizeof out, 0);
    snprintf(expect, sizeof expect, "cosigned size: %llu\n", (unsigned long long)s2);
    expect_in(aud1, out, expect);
    snprintf(expect, sizeof expect, "replayed:      %llu entries", (unsigned long long)s2);
    expect_in(aud1, out, expect);
    expect_in(aud1, out, "state:         running");
    expect_in(aud1, out, aud1->vkey);
    ph_stop(srv_a);
    ph_test_end();
}

static void test_run_cosigns_on_push_and_stops_on_sigterm(void **state)
{
    char server[64], out[64];
    wi_account *carol;
    uint64_t deadline;
    pid_t pid;
    int status;

    (void)state;
    ph_test_begin();
    aud1 = audit_new();
    srv_a = start_server(aud1->vkey, NULL);
    first_cosigned(aud1, srv_a);
    snprintf(server, sizeof server, "127.0.0.1:%u", srv_a->port);
    if ((pid = fork()) == 0) {
        int fd = open(aud1->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

        dup2(fd, STDERR_FILENO);
        execl(PARLEY_AUDIT_PATH, "parley-audit", "run", "--state", aud1->dir, "--server", server,
              "--ca", srv_a->cert_path, (char *)NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    /* while it runs, the state is locked: a second writer is refused */
    ph_sleep_ms(300);
    EXPECT_ONCE(aud1, srv_a, 5, "");
    register_and_sequence(srv_a, "ar", &carol);
    deadline = ph_mono_ms() + 20000u;
    while (lookup(srv_a, carol->username) != ST(OK)) {
        if (ph_mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            dump_audit_log(aud1);
            fail_msg("`run` did not cosign the entry of a new account within 20 s");
        }
        ph_sleep_ms(50);
    }
    kill(pid, SIGTERM);
    deadline = ph_mono_ms() + 10000u;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (ph_mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            dump_audit_log(aud1);
            fail_msg("`run` did not stop within 10 s of SIGTERM");
        }
        ph_sleep_ms(20);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        dump_audit_log(aud1);
        fail_msg("`run` ended with status 0x%x after SIGTERM", status);
    }
    (void)out;
    ph_stop(srv_a);
    ph_test_end();
}

static void test_fork_refused_even_after_restart(void **state)
{
    char out[4096], from[512], to[512], expect[128];
    uint64_t cosigned_a, size_b;

    (void)state;
    ph_test_begin();
    aud1 = audit_new();
    srv_a = start_server(aud1->vkey, NULL);
    first_cosigned(aud1, srv_a);
    register_and_sequence(srv_a, "fa", NULL);
    EXPECT_ONCE(aud1, srv_a, 0, "cosigned ");
    cosigned_a = register_and_sequence(srv_a, "fa", NULL);
    EXPECT_ONCE(aud1, srv_a, 0, "cosigned ");

    /* server B: A's log keys, its own history, witnessed by a second state holding a copy
     * of the same witness key (so its config is A's), until it is at least as long */
    aud2 = audit_new();
    snprintf(from, sizeof from, "%s/witness.key", aud1->dir);
    snprintf(to, sizeof to, "%s/witness.key", aud2->dir);
    copy_file(from, to);
    srv_b = start_server(aud1->vkey, srv_a->data_dir);
    size_b = first_cosigned(aud2, srv_b);
    while (size_b <= cosigned_a + 1) {
        EXPECT_ONCE(aud2, srv_b, 0, "cosigned ");
        size_b = register_and_sequence(srv_b, "fb", NULL);
    }
    EXPECT_ONCE(aud2, srv_b, 0, "cosigned ");

    /* the first auditor sees B's tree: not consistent with what it cosigned for A */
    EXPECT_ONCE(aud1, srv_b, 4, "refused fork ");
    /* a new process: still refusing, now without even asking */
    EXPECT_ONCE(aud1, srv_b, 4, "halted fork ");
    EXPECT_ONCE(aud1, srv_a, 4, "halted fork ");
    audit_status(aud1, out, sizeof out, 4);
    expect_in(aud1, out, "HALTED by a fork");
    expect_in(aud1, out, "fork (PL_E_BAD_PROOF)");
    snprintf(expect, sizeof expect, "cosigned size: %llu\n", (unsigned long long)cosigned_a);
    expect_in(aud1, out, expect);
    expect_in(aud1, out, "cosignatures:  3 released");
    /* `run` refuses to start */
    {
        char server[64];
        int st;

        snprintf(server, sizeof server, "127.0.0.1:%u", srv_b->port);
        st = audit_cmd(aud1,
                       (const char *const[]){"run", "--state", aud1->dir, "--server", server,
                                             "--ca", srv_b->cert_path, NULL},
                       out, sizeof out);
        assert_int_equal(st, 4);
    }
    /* an operator resumes: the witness state still refuses B's tree, and halts again */
    assert_int_equal(audit_cmd(aud1, (const char *const[]){"resume", "--state", aud1->dir, NULL},
                               out, sizeof out),
                     0);
    expect_in(aud1, out, "resumed");
    EXPECT_ONCE(aud1, srv_b, 4, "refused fork ");
    audit_status(aud1, out, sizeof out, 4);
    expect_in(aud1, out, "cosignatures:  3 released");
    expect_in(aud1, out, "evidence:      2 refusals kept");
    /* and A, the log it audited, is still fine once resumed */
    assert_int_equal(audit_cmd(aud1, (const char *const[]){"resume", "--state", aud1->dir, NULL},
                               out, sizeof out),
                     0);
    EXPECT_ONCE(aud1, srv_a, 0, "cosigned ");
    ph_stop(srv_a);
    ph_stop(srv_b);
    ph_test_end();
}

/* Copies (or, with restore, brings back) parleyd's store files. */
static void store_copy(const ph_server *s, const char *backup, int restore)
{
    static const char *const files[] = {"parleyd.db", "parleyd.db-wal", "parleyd.db-shm"};
    char live[PH_PATH_MAX + 32], saved[PH_PATH_MAX + 32];

    for (size_t i = 0; i < 3; i++) {
        snprintf(live, sizeof live, "%s/%s", s->data_dir, files[i]);
        snprintf(saved, sizeof saved, "%s/%s", backup, files[i]);
        if (restore) {
            unlink(live);
            if (access(saved, F_OK) == 0)
                copy_file(saved, live);
        } else {
            unlink(saved);
            if (access(live, F_OK) == 0)
                copy_file(live, saved);
        }
    }
}

static void test_rollback_refused(void **state)
{
    char backup[PH_PATH_MAX + 16], out[4096], expect[128];
    uint64_t at_backup, later;

    (void)state;
    ph_test_begin();
    aud1 = audit_new();
    srv_a = start_server(aud1->vkey, NULL);
    first_cosigned(aud1, srv_a);
    at_backup = register_and_sequence(srv_a, "ra", NULL);
    EXPECT_ONCE(aud1, srv_a, 0, "cosigned ");

    /* the operator's backup, taken with parleyd stopped */
    ph_stop(srv_a);
    srv_a->passed = 0;
    snprintf(backup, sizeof backup, "%s/backup", srv_a->dir);
    if (mkdir(backup, 0700) != 0)
        fail_msg("mkdir %s: %s", backup, strerror(errno));
    store_copy(srv_a, backup, 0);
    ph_restart(srv_a);

    /* the log grows by two cosigned entries */
    for (int i = 0; i < 2; i++) {
        register_and_sequence(srv_a, "ra", NULL);
        EXPECT_ONCE(aud1, srv_a, 0, "cosigned ");
    }
    later = checkpoint(srv_a, 0, NULL, 0);
    assert_true(later >= at_backup + 2);

    /* the store is restored from the backup: the log is back at its older size */
    ph_stop(srv_a);
    srv_a->passed = 0;
    store_copy(srv_a, backup, 1);
    ph_restart(srv_a);
    assert_true(checkpoint(srv_a, 1, NULL, 0) < later);
    EXPECT_ONCE(aud1, srv_a, 4, "refused rollback ");
    EXPECT_ONCE(aud1, srv_a, 4, "halted rollback ");
    audit_status(aud1, out, sizeof out, 4);
    expect_in(aud1, out, "HALTED by a rollback");
    snprintf(expect, sizeof expect, "cosigned size: %llu\n", (unsigned long long)later);
    expect_in(aud1, out, expect);
    ph_stop(srv_a);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_published_only_after_audit_cosigns, teardown),
        cmocka_unit_test_teardown(test_run_cosigns_on_push_and_stops_on_sigterm, teardown),
        cmocka_unit_test_teardown(test_fork_refused_even_after_restart, teardown),
        cmocka_unit_test_teardown(test_rollback_refused, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
