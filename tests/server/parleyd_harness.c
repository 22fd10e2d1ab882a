/*
 * parleyd_harness.c: start, stop, kill and restart a real parleyd in a temporary directory
 * (see parleyd_harness.h).
 */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "parleyd_harness.h"

#define PH_START_TIMEOUT_MS 10000u
#define PH_STOP_TIMEOUT_MS 10000u
#define PH_POLL_MS 5u
#define PH_ADMIN_TIMEOUT_MS 5000u

/* The settings every server gets unless a test overrides them. */
static const char *const default_settings[] = {
    "server.listen=127.0.0.1:0",
    "server.log_level=debug",
    "admin.listen=127.0.0.1:0",
    "accounts.registrations_per_address_per_minute=10000",
};

uint64_t ph_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t ph_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ph_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};

    nanosleep(&ts, NULL);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void ph_rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* One "section.key=value" split into its parts; returns 0, or -1 if malformed. */
static int split_setting(const char *s, char *section, size_t scap, char *key, size_t kcap,
                         const char **value)
{
    const char *dot = strchr(s, '.');
    const char *eq = strchr(s, '=');

    if (!dot || !eq || dot > eq || (size_t)(dot - s) >= scap || (size_t)(eq - dot - 1) >= kcap)
        return -1;
    memcpy(section, s, (size_t)(dot - s));
    section[dot - s] = '\0';
    memcpy(key, dot + 1, (size_t)(eq - dot - 1));
    key[eq - dot - 1] = '\0';
    *value = eq + 1;
    return 0;
}

/* Writes DIR/parleyd.conf: defaults, then settings (a later key replaces an earlier one),
 * grouped by section. */
static void write_config(const ph_server *s, const char *const *settings)
{
    const char *all[PH_MAX_SETTINGS + 8];
    size_t n = 0;
    static const char *const sections[] = {"server",  "tls",    "admin", "accounts", "prekeys",
                                           "mailbox", "limits", "blobs", "kt"};
    FILE *f;

    for (size_t i = 0; i < sizeof default_settings / sizeof *default_settings; i++)
        all[n++] = default_settings[i];
    for (size_t i = 0; settings && settings[i]; i++) {
        if (i >= PH_MAX_SETTINGS)
            fail_msg("more than %d settings", PH_MAX_SETTINGS);
        all[n++] = settings[i];
    }
    /* A setting of a section not listed here would be dropped silently: refuse it. */
    for (size_t i = 0; i < n; i++) {
        char sec[32], key[64];
        const char *value = NULL;
        int known = 0;

        if (split_setting(all[i], sec, sizeof sec, key, sizeof key, &value) != 0)
            fail_msg("bad setting \"%s\" (want section.key=value)", all[i]);
        for (size_t j = 0; j < sizeof sections / sizeof *sections; j++)
            known |= strcmp(sec, sections[j]) == 0;
        if (!known)
            fail_msg("setting \"%s\": the harness knows no section [%s]", all[i], sec);
    }
    if (!(f = fopen(s->conf_path, "w")))
        fail_msg("cannot write %s: %s", s->conf_path, strerror(errno));
    for (size_t j = 0; j < sizeof sections / sizeof *sections; j++) {
        int header = 0;

        if (strcmp(sections[j], "server") == 0) {
            fprintf(f, "[server]\ndata_dir = %s\n", s->data_dir);
            header = 1;
        }
        for (size_t i = 0; i < n; i++) {
            char sec[32], key[64], sec2[32], key2[64];
            const char *value = NULL, *value2 = NULL;
            int replaced = 0;

            if (split_setting(all[i], sec, sizeof sec, key, sizeof key, &value) != 0)
                fail_msg("bad setting \"%s\" (want section.key=value)", all[i]);
            if (strcmp(sec, sections[j]) != 0)
                continue;
            for (size_t k = i + 1; k < n; k++) {
                if (split_setting(all[k], sec2, sizeof sec2, key2, sizeof key2, &value2) == 0 &&
                    strcmp(sec, sec2) == 0 && strcmp(key, key2) == 0)
                    replaced = 1;
            }
            if (replaced)
                continue;
            if (!header) {
                fprintf(f, "[%s]\n", sections[j]);
                header = 1;
            }
            fprintf(f, "%s = %s\n", key, value);
        }
    }
    if (fclose(f) != 0)
        fail_msg("cannot write %s", s->conf_path);
}

/* Parses parleyd.addr if it is complete; returns 0 once the listen port is known. */
static int read_addr_file(ph_server *s)
{
    char path[PH_PATH_MAX + 32], line[256];
    FILE *f;
    int found = 0;

    snprintf(path, sizeof path, "%s/parleyd.addr", s->data_dir);
    if (!(f = fopen(path, "r")))
        return -1;
    s->admin_port = 0;
    while (fgets(line, sizeof line, f)) {
        char *colon = strrchr(line, ':');
        unsigned long port;

        if (!colon)
            continue;
        port = strtoul(colon + 1, NULL, 10);
        if (port == 0 || port > 65535)
            continue;
        if (strncmp(line, "listen ", 7) == 0) {
            s->port = (uint16_t)port;
            found = 1;
        } else if (strncmp(line, "admin ", 6) == 0) {
            s->admin_port = (uint16_t)port;
        }
    }
    fclose(f);
    return found ? 0 : -1;
}

static void spawn(ph_server *s)
{
#ifndef PARLEYD_PATH
    (void)s;
    (void)read_addr_file;
    fail_msg("parleyd is not built (no CMake target parleyd): integration test skipped as failed");
#else
    char addr_path[PH_PATH_MAX + 32];
    uint64_t deadline;
    pid_t pid;

    snprintf(addr_path, sizeof addr_path, "%s/parleyd.addr", s->data_dir);
    unlink(addr_path); /* a kill -9 leaves the old one behind */
    s->port = 0;
    s->admin_port = 0;
    if ((pid = fork()) < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);

        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        setenv("PARLEYD_TEST_CLOCK_FILE", s->clock_path, 1);
        execl(PARLEYD_PATH, "parleyd", "--config", s->conf_path, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    deadline = ph_mono_ms() + PH_START_TIMEOUT_MS;
    for (;;) {
        int status;

        if (read_addr_file(s) == 0)
            return;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            ph_dump_log(s, 4096);
            fail_msg("parleyd exited during start-up (status 0x%x); log in %s", status,
                     s->log_path);
        }
        if (ph_mono_ms() > deadline) {
            ph_dump_log(s, 4096);
            fail_msg("parleyd wrote no %s within %u ms", addr_path, PH_START_TIMEOUT_MS);
        }
        ph_sleep_ms(PH_POLL_MS);
    }
#endif
}

ph_server *ph_start(const char *const *settings)
{
    ph_server *s = calloc(1, sizeof *s);

    if (!s)
        fail_msg("out of memory");
    strcpy(s->dir, "/tmp/parleyd-it-XXXXXX");
    if (!mkdtemp(s->dir))
        fail_msg("mkdtemp: %s", strerror(errno));
    snprintf(s->data_dir, sizeof s->data_dir, "%s/data", s->dir);
    snprintf(s->conf_path, sizeof s->conf_path, "%s/parleyd.conf", s->dir);
    snprintf(s->log_path, sizeof s->log_path, "%s/parleyd.log", s->dir);
    snprintf(s->clock_path, sizeof s->clock_path, "%s/clock", s->dir);
    snprintf(s->cert_path, sizeof s->cert_path, "%s/tls/cert.pem", s->data_dir);
    snprintf(s->key_path, sizeof s->key_path, "%s/tls/key.pem", s->data_dir);
    if (mkdir(s->data_dir, 0700) != 0)
        fail_msg("mkdir %s: %s", s->data_dir, strerror(errno));
    write_config(s, settings);
    spawn(s);
    return s;
}

void ph_restart(ph_server *s)
{
    if (s->pid != 0)
        fail_msg("ph_restart: parleyd is still running");
    spawn(s);
}

/* Waits up to timeout_ms for the child to exit; returns its status, or -1 on timeout. */
static int reap(ph_server *s, unsigned timeout_ms)
{
    uint64_t deadline = ph_mono_ms() + timeout_ms;
    int status;

    while (ph_mono_ms() <= deadline) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);

        if (r == s->pid) {
            s->pid = 0;
            return status;
        }
        if (r < 0 && errno != EINTR) {
            s->pid = 0;
            return -1;
        }
        ph_sleep_ms(PH_POLL_MS);
    }
    return -1;
}

void ph_stop(ph_server *s)
{
    int status;

    if (s->pid == 0)
        fail_msg("ph_stop: parleyd is not running");
    kill(s->pid, SIGTERM);
    if ((status = reap(s, PH_STOP_TIMEOUT_MS)) == -1) {
        kill(s->pid, SIGKILL);
        reap(s, PH_STOP_TIMEOUT_MS);
        ph_dump_log(s, 4096);
        fail_msg("parleyd did not exit within %u ms of SIGTERM", PH_STOP_TIMEOUT_MS);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ph_dump_log(s, 8192);
        fail_msg("parleyd did not exit cleanly after SIGTERM: status 0x%x (signal %d, exit %d)",
                 status, WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    s->passed = 1;
}

void ph_kill(ph_server *s)
{
    if (s->pid == 0)
        return;
    kill(s->pid, SIGKILL);
    if (reap(s, PH_STOP_TIMEOUT_MS) == -1)
        fail_msg("parleyd survived SIGKILL for %u ms", PH_STOP_TIMEOUT_MS);
}

void ph_sighup(ph_server *s)
{
    if (s->pid == 0 || kill(s->pid, SIGHUP) != 0)
        fail_msg("cannot send SIGHUP to parleyd");
}

void ph_set_clock(ph_server *s, uint64_t ms)
{
    char tmp[PH_PATH_MAX + 8];
    FILE *f;

    snprintf(tmp, sizeof tmp, "%s.tmp", s->clock_path);
    if (!(f = fopen(tmp, "w")))
        fail_msg("cannot write %s", tmp);
    fprintf(f, "%llu\n", (unsigned long long)ms);
    if (fclose(f) != 0 || rename(tmp, s->clock_path) != 0)
        fail_msg("cannot write %s", s->clock_path);
}

void ph_dump_log(const ph_server *s, size_t max_bytes)
{
    FILE *f = fopen(s->log_path, "r");
    char buf[1024];
    size_t n;
    long size;

    if (!f) {
        fprintf(stderr, "[harness] no log at %s\n", s->log_path);
        return;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    if (size > 0 && (size_t)size > max_bytes)
        fseek(f, size - (long)max_bytes, SEEK_SET);
    else
        fseek(f, 0, SEEK_SET);
    fprintf(stderr, "[harness] ---- tail of %s ----\n", s->log_path);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stderr);
    fprintf(stderr, "[harness] ---- end of log ----\n");
    fclose(f);
}

int ph_admin_get(const ph_server *s, const char *path, char *body, size_t cap)
{
    struct sockaddr_in sa = {0};
    char req[512];
    char *buf = NULL, *p;
    size_t len = 0, bufcap = 1u << 20;
    uint64_t deadline = ph_mono_ms() + PH_ADMIN_TIMEOUT_MS;
    int fd = -1, status = -1;

    body[0] = '\0';
    if (s->admin_port == 0)
        return -1;
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || !(buf = malloc(bufcap + 1)))
        goto out;
    sa.sin_family = AF_INET;
    sa.sin_port = htons(s->admin_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        goto out;
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             path);
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
        goto out;
    while (len < bufcap) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint64_t now = ph_mono_ms();
        ssize_t n;

        if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
            goto out;
        if ((n = recv(fd, buf + len, bufcap - len, 0)) < 0)
            goto out;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        status = -1;
        goto out;
    }
    if ((p = strstr(buf, "\r\n\r\n")) != NULL)
        snprintf(body, cap, "%s", p + 4);
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return status;
}

int ph_metric(const ph_server *s, const char *name, double *value)
{
    size_t cap = 1u << 20, nlen = strlen(name);
    char *body = malloc(cap);
    char *line, *save = NULL;
    int r = -1;

    if (!body || ph_admin_get(s, "/metrics", body, cap) != 200)
        goto out;
    for (line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *v;

        if (line[0] == '#' || strncmp(line, name, nlen) != 0 ||
            (line[nlen] != ' ' && line[nlen] != '{'))
            continue;
        v = line[nlen] == '{' ? strchr(line, '}') : line + nlen;
        if (!v)
            continue;
        *value = strtod(v + (*v == '}'), NULL);
        r = 0;
        break;
    }
out:
    free(body);
    return r;
}

static int test_running;

void ph_test_begin(void)
{
    test_running = 1;
}

void ph_test_end(void)
{
    test_running = 0;
}

void ph_test_teardown(ph_server *shared)
{
    if (test_running && shared) {
        ph_dump_log(shared, 6000);
        shared->keep = 1;
    }
    test_running = 0;
}

void ph_free(ph_server *s)
{
    if (!s)
        return;
    if (s->pid != 0) {
        kill(s->pid, SIGKILL);
        reap(s, PH_STOP_TIMEOUT_MS);
    }
    if (s->passed && !s->keep) {
        ph_rm_rf(s->dir);
    } else {
        ph_dump_log(s, 6000);
        fprintf(stderr, "[harness] test failed: kept %s\n", s->dir);
    }
    free(s);
}
