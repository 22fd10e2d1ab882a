/*
 * loadgen_server.c: starting, watching and stopping the parleyd under test (loadgen_server.h).
 *
 * The configuration lifts what would throttle a benchmark from one address (frame rate,
 * registrations per minute) and keeps the rest at parleyd's defaults, so the figures are
 * those of a stock server: group commit, fsync and TLS as shipped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "loadgen_server.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static int write_config(const lg_server *s, const char *path, uint32_t max_connections,
                        const char *extra)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    fprintf(f,
            "[server]\n"
            "listen = 127.0.0.1:0\n"
            "data_dir = %s/data\n"
            "max_connections = %u\n"
            "frames_per_second = 100000\n"
            "frames_burst = 1000000\n"
            "log_level = warn\n"
            "[admin]\n"
            "listen = 127.0.0.1:0\n"
            "[accounts]\n"
            "registrations_per_address_per_minute = 10000\n"
            "[prekeys]\n"
            "low_watermark = 0\n",
            s->dir, max_connections);
    if (extra)
        fputs(extra, f);
    return fclose(f) == 0 ? 0 : -1;
}

/* Parses "listen HOST:PORT\nadmin HOST:PORT\n". Returns 0 once both are there. */
static int read_addr_file(lg_server *s)
{
    char path[300], buf[512], *line, *save = NULL, *colon;
    FILE *f;
    size_t n;
    int have = 0;

    snprintf(path, sizeof path, "%s/data/parleyd.addr", s->dir);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int is_listen = strncmp(line, "listen ", 7) == 0;
        int is_admin = strncmp(line, "admin ", 6) == 0;
        char *addr = line + (is_listen ? 7 : 6);

        if ((!is_listen && !is_admin) || !(colon = strrchr(addr, ':')))
            continue;
        *colon = '\0';
        if (is_listen) {
            snprintf(s->host, sizeof s->host, "%s", addr);
            s->port = atoi(colon + 1);
            have |= 1;
        } else {
            snprintf(s->admin_host, sizeof s->admin_host, "%s", addr);
            s->admin_port = atoi(colon + 1);
            have |= 2;
        }
    }
    return have == 3 && s->port > 0 ? 0 : -1;
}

int lg_server_start(lg_server *s, const char *bin, uint32_t max_connections, char *err,
                    size_t err_len)
{
    return lg_server_start_with(s, bin, max_connections, NULL, err, err_len);
}

int lg_server_start_with(lg_server *s, const char *bin, uint32_t max_connections,
                         const char *extra_config, char *err, size_t err_len)
{
    char conf[300], log[300], data[300];
    const char *tmp = getenv("TMPDIR");
    int status, i, fd;
    pid_t pid;

    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/parley-loadgen.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        snprintf(err, err_len, "mkdtemp %s: %s", s->dir, strerror(errno));
        s->dir[0] = '\0';
        return -1;
    }
    snprintf(conf, sizeof conf, "%s/parleyd.conf", s->dir);
    snprintf(log, sizeof log, "%s/parleyd.log", s->dir);
    snprintf(data, sizeof data, "%s/data", s->dir);
    snprintf(s->ca, sizeof s->ca, "%s/data/tls/cert.pem", s->dir);
    if (mkdir(data, 0700) != 0 || write_config(s, conf, max_connections, extra_config) != 0) {
        snprintf(err, err_len, "cannot write %s: %s", conf, strerror(errno));
        return -1;
    }
    if ((pid = fork()) < 0) {
        snprintf(err, err_len, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
        }
        execl(bin, bin, "--config", conf, (char *)NULL);
        fprintf(stderr, "loadgen: exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    s->pid = pid;
    for (i = 0; i < 2000; i++) {
        if (read_addr_file(s) == 0)
            return 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            snprintf(err, err_len, "%s exited at start-up (status %d); see %s", bin,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
            return -1;
        }
        sleep_ms(10);
    }
    snprintf(err, err_len, "%s wrote no %s/parleyd.addr within 20 s", bin, data);
    lg_server_stop(s, 1);
    return -1;
}

/* Removes path and everything under it. */
static void remove_tree(const char *path)
{
    struct stat st;
    struct dirent *e;
    char sub[1024];
    DIR *d;

    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        closedir(d);
        rmdir(path);
        return;
    }
    unlink(path);
}

int lg_server_stop(lg_server *s, int keep)
{
    int status = 0, i, rc = -1;

    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        for (i = 0; i < 1000; i++) {
            if (waitpid(s->pid, &status, WNOHANG) == s->pid)
                break;
            sleep_ms(10);
        }
        if (i == 1000) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
        } else if (WIFEXITED(status)) {
            rc = WEXITSTATUS(status);
        }
        s->pid = 0;
    }
    if (!keep && s->dir[0])
        remove_tree(s->dir);
    return rc;
}

/* utime and stime (fields 14 and 15) of a stat line, in ns; the comm field may hold
 * spaces and parentheses, so fields are counted from its last ')'. */
static int parse_stat(const char *line, char *comm, size_t comm_cap, uint64_t *ns)
{
    const char *open = strchr(line, '('), *close = strrchr(line, ')'), *p;
    unsigned long long ut, st;
    long tck = sysconf(_SC_CLK_TCK);
    int field;

    if (!open || !close || close < open || tck <= 0)
        return -1;
    if (comm) {
        size_t n = (size_t)(close - open - 1);

        if (n >= comm_cap)
            n = comm_cap - 1;
        memcpy(comm, open + 1, n);
        comm[n] = '\0';
    }
    /* After ')': field 3 (state) onwards; utime is field 14. */
    p = close + 1;
    for (field = 3; field < 14 && p; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p, " %llu %llu", &ut, &st) != 2)
        return -1;
    *ns = (uint64_t)(ut + st) * (1000000000ull / (uint64_t)tck);
    return 0;
}

static int read_small(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return -1;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return 0;
}

int lg_proc_cpu_ns(pid_t pid, uint64_t *ns)
{
    char path[64], buf[1024];

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) != 0)
        return -1;
    return parse_stat(buf, NULL, 0, ns);
}

int lg_proc_status_kib(pid_t pid, const char *key, uint64_t *kib)
{
    char path[64], buf[4096], *p;
    size_t klen = strlen(key);

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (read_small(path, buf, sizeof buf) != 0)
        return -1;
    for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            *kib = strtoull(p + klen + 1, NULL, 10);
            return 0;
        }
    }
    return -1;
}

int lg_proc_threads(pid_t pid, lg_thread_cpu *out, size_t cap)
{
    char path[300], buf[1024];
    struct dirent *e;
    size_t n = 0;
    DIR *d;

    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    if (!(d = opendir(path)))
        return -1;
    while ((e = readdir(d)) != NULL && n < cap) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)pid, e->d_name);
        if (read_small(path, buf, sizeof buf) != 0 ||
            parse_stat(buf, out[n].comm, sizeof out[n].comm, &out[n].cpu_ns) != 0)
            continue;
        out[n].tid = atoi(e->d_name);
        n++;
    }
    closedir(d);
    return (int)n;
}

int lg_metrics_get(const char *host, int port, char *buf, size_t cap)
{
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    static const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    size_t len = 0;
    ssize_t n;
    char *body;
    int fd, r = -1;

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (cap < 2 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
        goto out;
    while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 200", 4) != 0 ||
        !(body = strstr(buf, "\r\n\r\n")))
        goto out;
    memmove(buf, body + 4, strlen(body + 4) + 1);
    r = 0;
out:
    close(fd);
    return r;
}

double lg_metric(const char *text, const char *name)
{
    size_t n = strlen(name);
    const char *p = text;

    while (p && *p) {
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}
