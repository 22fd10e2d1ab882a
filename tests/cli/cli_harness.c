/*
 * cli_harness.c: fork/exec of the `parley` binary with captured output (cli_harness.h).
 */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_harness.h"

#ifndef PARLEY_PATH
#define PARLEY_PATH "parley-not-built"
#endif

static char scratch[CH_PATH_MAX / 2];
static char path_buf[4][CH_PATH_MAX];
static unsigned path_next;
static unsigned run_counter;
static int keep_scratch;

void ch_setup(void)
{
    snprintf(scratch, sizeof scratch, "%s/parley-cli-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(scratch))
        fail_msg("mkdtemp: %s", strerror(errno));
    setenv("PARLEY_TEST_FAST_KDF", "1", 1);
    unsetenv("PARLEY_HOME");
    unsetenv("PARLEY_PASSPHRASE");
    unsetenv("PARLEY_TEST_CRASH_BEFORE_ACK");
    keep_scratch = 0;
}

void ch_keep(void)
{
    keep_scratch = 1;
}

void ch_teardown(void)
{
    if (!scratch[0])
        return;
    if (keep_scratch)
        fprintf(stderr, "cli_harness: kept %s\n", scratch);
    else
        ph_rm_rf(scratch);
    scratch[0] = '\0';
}

const char *ch_path(const char *name)
{
    char *p = path_buf[path_next++ % 4];

    snprintf(p, CH_PATH_MAX, "%s/%s", scratch, name);
    return p;
}

const char *ch_home(const char *name)
{
    return ch_path(name);
}

const char *ch_server_addr(const ph_server *s)
{
    char *p = path_buf[path_next++ % 4];

    snprintf(p, CH_PATH_MAX, "127.0.0.1:%u", (unsigned)s->port);
    return p;
}

char *ch_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0, got;

    if (!f)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            char *grown = realloc(buf, cap + 65536 + 1);

            if (!grown)
                fail_msg("out of memory");
            buf = grown;
            cap += 65536;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

size_t ch_count(const char *haystack, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    const char *p = haystack;

    if (len == 0)
        return 0;
    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += len;
    }
    return n;
}

static int decode_status(int ws)
{
    if (WIFEXITED(ws))
        return WEXITSTATUS(ws);
    if (WIFSIGNALED(ws))
        return 128 + WTERMSIG(ws);
    return -1;
}

/* Child side: environment, redirections, exec. Never returns. */
static void exec_parley(const char *const *env, const char *in_path, const char *out_path,
                        const char *err_path, const char *const *args)
{
    const char *argv[64];
    size_t n = 0, i;
    int fd;

    for (i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');

        if (eq) {
            char name[128];

            snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
            setenv(name, eq + 1, 1);
        } else {
            unsetenv(env[i]);
        }
    }
    fd = open(in_path ? in_path : "/dev/null", O_RDONLY);
    if (fd < 0 || dup2(fd, 0) < 0)
        _exit(126);
    close(fd);
    fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || dup2(fd, 1) < 0)
        _exit(126);
    close(fd);
    fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || dup2(fd, 2) < 0)
        _exit(126);
    close(fd);
    argv[n++] = PARLEY_PATH;
    for (i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    execv(PARLEY_PATH, (char *const *)argv);
    _exit(127);
}

static void start(ch_proc *p, const char *const *env, const char *input, const char *const *args)
{
    char in_path[CH_PATH_MAX];
    unsigned id = ++run_counter;

    in_path[0] = '\0';
    snprintf(p->out_path, sizeof p->out_path, "%s/run%u.out", scratch, id);
    snprintf(p->err_path, sizeof p->err_path, "%s/run%u.err", scratch, id);
    if (input) {
        FILE *f;

        snprintf(in_path, sizeof in_path, "%s/run%u.in", scratch, id);
        if (!(f = fopen(in_path, "wb")) || fwrite(input, 1, strlen(input), f) != strlen(input) ||
            fclose(f) != 0)
            fail_msg("cannot write %s", in_path);
    }
    fflush(NULL);
    p->status = -1;
    p->pid = fork();
    if (p->pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (p->pid == 0)
        exec_parley(env, input ? in_path : NULL, p->out_path, p->err_path, args);
}

int ch_proc_stop(ch_proc *p, int sig, unsigned timeout_ms)
{
    uint64_t deadline = ph_mono_ms() + timeout_ms;
    int ws;
    pid_t got;

    if (p->pid == 0)
        return p->status;
    if (sig)
        kill(p->pid, sig);
    for (;;) {
        got = waitpid(p->pid, &ws, WNOHANG);
        if (got == p->pid) {
            p->pid = 0;
            p->status = decode_status(ws);
            return p->status;
        }
        if (ph_mono_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &ws, 0);
            p->pid = 0;
            p->status = -1;
            return -1;
        }
        ph_sleep_ms(10);
    }
}

int ch_run(ch_result *res, const char *const *env, const char *input, const char *const *args)
{
    ch_proc p;

    start(&p, env, input, args);
    res->status = ch_proc_stop(&p, 0, CH_RUN_TIMEOUT_MS);
    res->out = ch_read_file(p.out_path, NULL);
    res->err = ch_read_file(p.err_path, NULL);
    if (!res->out)
        res->out = strdup("");
    if (!res->err)
        res->err = strdup("");
    if (res->status == -1) {
        ch_keep();
        fail_msg("parley %s %s timed out\nstdout:\n%s\nstderr:\n%s", args[0],
                 args[1] ? args[1] : "", res->out, res->err);
    }
    return res->status;
}

void ch_result_free(ch_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

void ch_spawn(ch_proc *p, const char *const *env, const char *const *args)
{
    start(p, env, NULL, args);
}

char *ch_proc_read(const ch_proc *p, int in_stderr)
{
    char *s = ch_read_file(in_stderr ? p->err_path : p->out_path, NULL);

    return s ? s : strdup("");
}

int ch_proc_wait_output(ch_proc *p, const char *needle, int in_stderr, unsigned timeout_ms)
{
    uint64_t deadline = ph_mono_ms() + timeout_ms;
    int ws;
    char *s;

    for (;;) {
        s = ch_proc_read(p, in_stderr);
        if (strstr(s, needle)) {
            free(s);
            return 0;
        }
        free(s);
        if (p->pid && waitpid(p->pid, &ws, WNOHANG) == p->pid) {
            p->pid = 0;
            p->status = decode_status(ws);
        }
        if (p->pid == 0) {
            /* Exited: one last look, the output may have landed just before. */
            s = ch_proc_read(p, in_stderr);
            ws = strstr(s, needle) ? 0 : -1;
            free(s);
            return ws;
        }
        if (ph_mono_ms() > deadline)
            return -1;
        ph_sleep_ms(20);
    }
}

/* ---- A small JSON validator (RFC 8259 syntax only) ---------------------------------------- */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

static const char *json_string(const char *p)
{
    int i;

    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (i = 1; i <= 4; i++) {
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                }
                p += 5;
                continue;
            }
            if (!*p || !strchr("\"\\/bfnrt", *p))
                return NULL;
        }
        p++;
    }
    return p + 1;
}

static const char *json_number(const char *p)
{
    const char *start;

    if (*p == '-')
        p++;
    start = p;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == start)
        return NULL;
    if (*p == '.') {
        start = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == start)
            return NULL;
    }
    return p;
}

static const char *json_container(const char *p, int depth, char close, int object)
{
    p = json_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (object) {
            if (!(p = json_string(json_ws(p))))
                return NULL;
            p = json_ws(p);
            if (*p++ != ':')
                return NULL;
        }
        if (!(p = json_value(p, depth + 1)))
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static const char *json_value(const char *p, int depth)
{
    if (depth > 32)
        return NULL;
    p = json_ws(p);
    switch (*p) {
    case '{':
        return json_container(p, depth, '}', 1);
    case '[':
        return json_container(p, depth, ']', 0);
    case '"':
        return json_string(p);
    case 't':
        return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
        return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
        return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default:
        return json_number(p);
    }
}

int ch_json_lines(const char *text, size_t *n_objects)
{
    const char *line = text, *nl, *end;
    char *copy;
    size_t n = 0;

    while (*line) {
        if (!(nl = strchr(line, '\n')))
            return -1; /* every object ends its line */
        if (!(copy = strndup(line, (size_t)(nl - line))))
            return -1;
        end = copy[0] == '{' ? json_value(copy, 0) : NULL;
        end = end ? json_ws(end) : NULL;
        if (!end || *end != '\0') {
            fprintf(stderr, "not one JSON object: %s\n", copy);
            free(copy);
            return -1;
        }
        free(copy);
        n++;
        line = nl + 1;
    }
    if (n_objects)
        *n_objects = n;
    return 0;
}

int ch_json_field(const char *line, const char *key, char *out, size_t cap)
{
    char pattern[128];
    const char *p;
    size_t n = 0;

    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    if (!(p = strstr(line, pattern)))
        return -1;
    p += strlen(pattern);
    if (*p == '"') {
        p++;
        while (*p && *p != '"' && n + 1 < cap) {
            if (*p == '\\' && p[1])
                p++;
            out[n++] = *p++;
        }
    } else {
        while (*p && *p != ',' && *p != '}' && n + 1 < cap)
            out[n++] = *p++;
    }
    out[n] = '\0';
    return 0;
}

/* ---- Steps the scenarios share -------------------------------------------------------------- */

#define MAX_SENT 256
static char *sent_texts[MAX_SENT];
static size_t n_sent;

void ch_init_user(const ph_server *s, const char *home, const char *user)
{
    ch_result r;

    ch_run(&r, NULL, NULL,
           CH_ARGS("--home", home, "init", "--server", ch_server_addr(s), "--ca", s->cert_path,
                   "--user", user, "--device-name", "first"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
}

void ch_link_device(const ph_server *s, const char *from_home, const char *new_home,
                    const char *name)
{
    ch_proc p;
    ch_result r;
    char *out, code[64];

    ch_spawn(&p, NULL,
             CH_ARGS("--json", "--home", new_home, "link", "--server", ch_server_addr(s), "--ca",
                     s->cert_path, "--device-name", name));
    if (ch_proc_wait_output(&p, "\"code\":", 0, 30000) != 0) {
        char *err = ch_proc_read(&p, 1);

        ch_keep();
        ch_proc_stop(&p, SIGKILL, 5000);
        fail_msg("parley link printed no code; stderr: %s", err);
    }
    out = ch_proc_read(&p, 0);
    assert_int_equal(ch_json_field(out, "code", code, sizeof code), 0);
    free(out);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", from_home, "approve", code));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    if (ch_proc_stop(&p, 0, 30000) != 0) {
        char *err = ch_proc_read(&p, 1);

        ch_keep();
        fail_msg("parley link exited %d; stderr: %s", p.status, err);
    }
}

void ch_send(const char *home, const char *to, const char *text)
{
    ch_result r;

    if (n_sent < MAX_SENT)
        sent_texts[n_sent++] = strdup(text);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", home, "send", to, text));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
}

char *ch_recv_json(const char *home)
{
    ch_result r;
    char *out;

    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", home, "recv", "--wait", "2"));
    CH_ASSERT_STATUS(&r, 0);
    if (ch_json_lines(r.out, NULL) != 0) {
        ch_keep();
        fail_msg("recv --json output is not one JSON object per line:\n%s", r.out);
    }
    out = r.out;
    r.out = NULL;
    ch_result_free(&r);
    return out;
}

size_t ch_sent_texts(const char *const **texts)
{
    *texts = (const char *const *)sent_texts;
    return n_sent;
}

unsigned ch_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* ---- Groups ------------------------------------------------------------------------------ */

char *ch_group_recv(const char *home, int must_work)
{
    ch_result r;
    char *out;
    size_t a, b;

    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", home, "recv", "--wait", "1"));
    if (must_work) {
        CH_ASSERT_STATUS(&r, 0);
        if (ch_json_lines(r.out, NULL) != 0) {
            ch_keep();
            fail_msg("recv --json output is not one JSON object per line:\n%s", r.out);
        }
    }
    a = r.out ? strlen(r.out) : 0;
    b = r.err ? strlen(r.err) : 0;
    assert_non_null(out = malloc(a + b + 1));
    memcpy(out, r.out ? r.out : "", a);
    memcpy(out + a, r.err ? r.err : "", b);
    out[a + b] = '\0';
    ch_result_free(&r);
    return out;
}

void ch_group_sync(const char *const *homes, size_t n, char **outs, unsigned rounds)
{
    for (unsigned round = 0; round < rounds; round++)
        for (size_t i = 0; i < n; i++) {
            char *o = ch_group_recv(homes[i], 1);
            size_t a = outs[i] ? strlen(outs[i]) : 0, b = strlen(o);
            char *joined = realloc(outs[i], a + b + 1);

            assert_non_null(joined);
            memcpy(joined + a, o, b + 1);
            outs[i] = joined;
            free(o);
        }
}

void ch_outs_clear(char **outs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(outs[i]);
        outs[i] = NULL;
    }
}

void ch_group_send(const char *home, const char *group, const char *text)
{
    ch_result r;

    ch_run(&r, NULL, NULL, CH_ARGS("--home", home, "send", "--group", group, text));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
}

void ch_expect_count(const char *out, const char *text, size_t want, const char *who)
{
    size_t got = ch_count(out ? out : "", text);

    if (got != want) {
        ch_keep();
        fail_msg("%s: \"%s\" seen %zu times, expected %zu; output:\n%s", who, text, got, want,
                 out ? out : "");
    }
}
