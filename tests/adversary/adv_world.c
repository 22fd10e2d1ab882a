/*
 * adv_world.c: the stage of one attack test (see adv_world.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>

#include "adv_world.h"
#include "client_internal.h"
#include "cstore.h"
#include "frame.h"
#include "testutil.h"
#include "wire_client.h"

#define ADV_WITNESS_NAME "witness.test/adv"
#define ADV_PUBLISH_TIMEOUT_MS 10000u
#define ADV_POLL_MS 20u

void adv_world_start(adv_world *w, const char *tag, const adv_world_opts *opts)
{
    const char *settings[PH_MAX_SETTINGS + 1];
    char batch[64], witnesses[PL_NOTE_VKEY_MAX_BYTES + 32];
    size_t n = 0;

    memset(w, 0, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "/tmp/parley-adv-%s-XXXXXX", tag);
    if (!mkdtemp(w->dir))
        fail_msg("adv_world: mkdtemp %s failed", w->dir);
    /* The clients' store keys at test strength, as tests/client do. */
    setenv("PARLEY_TEST_FAST_KDF", "1", 1);
    snprintf(batch, sizeof batch, "kt.batch_interval=%ums", ADV_BATCH_MS);
    settings[n++] = batch;
    /* No heartbeat entries during a test: a lie built from the log's own proofs must be about
     * the tree the client is shown, and a snapshot must not move for an honest reason. */
    settings[n++] = "kt.heartbeat=24h";
    w->with_witness = opts && opts->with_witness;
    if (w->with_witness) {
        adv_witness_init(&w->wit, ADV_WITNESS_NAME, 0x5a);
        snprintf(witnesses, sizeof witnesses, "kt.witnesses=%s", w->wit.vkey);
        settings[n++] = witnesses;
        settings[n++] = "kt.quorum=1";
    } else {
        settings[n++] = "kt.quorum=0";
    }
    for (size_t i = 0; opts && opts->settings && opts->settings[i]; i++) {
        if (n >= PH_MAX_SETTINGS)
            fail_msg("adv_world: too many settings");
        settings[n++] = opts->settings[i];
    }
    settings[n] = NULL;
    w->srv = ph_start(settings);
    w->px = mp_start(w->srv->cert_path, w->srv->key_path, w->srv->port, w->srv->cert_path);
    mp_set_auth_signer(w->px, adv_keyring_sign, &w->ring);
    snprintf(w->addr, sizeof w->addr, "127.0.0.1:%u", mp_port(w->px));
    if (w->with_witness)
        adv_witness_start(&w->wit, w->srv->port, w->srv->cert_path);
}

void adv_world_stop(adv_world *w)
{
    if (w->with_witness)
        adv_witness_free(&w->wit);
    mp_stop(w->px);
    w->px = NULL;
    ph_stop(w->srv);
    ph_free(w->srv);
    w->srv = NULL;
    ph_rm_rf(w->dir);
}

void adv_world_restart(adv_world *w)
{
    if (w->srv->pid)
        ph_stop(w->srv);
    ph_restart(w->srv);
    mp_set_upstream(w->px, w->srv->port, w->srv->cert_path);
    mp_cut_all(w->px);
    if (w->with_witness)
        adv_witness_start(&w->wit, w->srv->port, w->srv->cert_path);
}

static pl_client *open_home(adv_world *w, const char *name, int create)
{
    char home[512], err[512];
    pl_client *c = NULL;
    int r;

    snprintf(home, sizeof home, "%s/%s", w->dir, name);
    if ((r = pl_client_open(&c, home, NULL, create, err, sizeof err)) != PL_CLIENT_OK)
        fail_msg("adv_world: open %s: %s: %s", name, pl_client_errname(r), err);
    adv_keyring_add_client(&w->ring, c);
    return c;
}

pl_client *adv_client_new(adv_world *w, const char *name)
{
    char fp[96];
    pl_client *c = open_home(w, name, 1);
    int r;

    if ((r = pl_client_init(c, w->addr, w->srv->cert_path, name, "laptop", fp)) != PL_CLIENT_OK)
        fail_msg("adv_world: init %s: %s: %s", name, pl_client_errname(r), pl_client_error(c));
    return c;
}

pl_client *adv_client_open(adv_world *w, const char *name)
{
    return open_home(w, name, 0);
}

void adv_client_close(adv_world *w, pl_client *c)
{
    adv_keyring_remove_client(&w->ring, c);
    pl_client_close(c);
}

pl_client *adv_client_link(adv_world *w, pl_client *owner, const char *new_home,
                           uint32_t *device_id)
{
    char code[32], qr[128], fp[96], name[65];
    pl_client *c = open_home(w, new_home, 1);
    uint32_t id = 0;
    int r;

    if ((r = pl_client_link_start(c, w->addr, w->srv->cert_path, "phone", code, qr, fp)) !=
            PL_CLIENT_OK ||
        (r = pl_client_approve(owner, code, &id, name)) != PL_CLIENT_OK ||
        (r = pl_client_link_wait(c, 10000, NULL)) != PL_CLIENT_OK)
        fail_msg("adv_world: linking %s: %s: %s / %s", new_home, pl_client_errname(r),
                 pl_client_error(c), pl_client_error(owner));
    if (device_id)
        *device_id = id;
    return c;
}

int adv_direct_lookup(adv_world *w, const char *user, int fixed, uint32_t version, uint8_t *proof,
                      size_t cap, size_t *proof_len, uint32_t *proven_version, uint64_t *tree_size)
{
    Parley__Request rq = PARLEY__REQUEST__INIT;
    Parley__KtLookup kl = PARLEY__KT_LOOKUP__INIT;
    Parley__ServerFrame *f = NULL;
    pl_kt_lookup *l = NULL;
    wc_conn *c = NULL;
    int r = -1;

    if (wc_connect(&c, w->srv->port, w->srv->cert_path) != WC_OK)
        return -1;
    kl.username = (char *)user;
    kl.fixed = fixed ? 1 : 0;
    kl.version = version;
    rq.body_case = PARLEY__REQUEST__BODY_KT_LOOKUP;
    rq.kt_lookup = &kl;
    if (wc_request(c, &rq, &f, 3000) != WC_OK)
        goto out;
    r = (int)f->response->status->code;
    if (r != 0)
        goto out;
    r = -1;
    if (f->response->body_case != PARLEY__RESPONSE__BODY_KT_LOOKUP || !(l = malloc(sizeof *l)) ||
        pl_kt_lookup_decode(l, f->response->kt_lookup->proof.data,
                            f->response->kt_lookup->proof.len) != PL_OK)
        goto out;
    if (proof) {
        if (f->response->kt_lookup->proof.len > cap)
            goto out;
        memcpy(proof, f->response->kt_lookup->proof.data, f->response->kt_lookup->proof.len);
        *proof_len = f->response->kt_lookup->proof.len;
    }
    if (proven_version)
        *proven_version = l->version;
    if (tree_size)
        *tree_size = l->tree_size;
    r = 0;
out:
    free(l);
    pl_frame_server_free(f);
    wc_close(c);
    return r;
}

void adv_wait_published(adv_world *w, const char *user, uint32_t min_version)
{
    uint64_t deadline = ph_mono_ms() + ADV_PUBLISH_TIMEOUT_MS, size;
    uint32_t version = 0;
    int r = -1;

    while (ph_mono_ms() < deadline) {
        if ((r = adv_direct_lookup(w, user, 0, 0, NULL, 0, NULL, &version, &size)) == 0 &&
            version >= min_version)
            return;
        ph_sleep_ms(ADV_POLL_MS);
    }
    fail_msg("adv_world: %s version %u not published within %u ms (last status %d, version %u)",
             user, min_version, ADV_PUBLISH_TIMEOUT_MS, r, version);
}

uint64_t adv_published_size(adv_world *w)
{
    Parley__Request rq = PARLEY__REQUEST__INIT;
    Parley__KtCheckpointGet get = PARLEY__KT_CHECKPOINT_GET__INIT;
    Parley__ServerFrame *f = NULL;
    wc_conn *c = NULL;
    uint64_t size = 0;

    if (wc_connect(&c, w->srv->port, w->srv->cert_path) != WC_OK)
        fail_msg("adv_world: cannot reach parleyd");
    rq.body_case = PARLEY__REQUEST__BODY_KT_CHECKPOINT;
    rq.kt_checkpoint = &get;
    if (wc_request(c, &rq, &f, 3000) == WC_OK && f->response->status->code == 0 &&
        f->response->body_case == PARLEY__RESPONSE__BODY_KT_CHECKPOINT &&
        f->response->kt_checkpoint->note) {
        const char *note = f->response->kt_checkpoint->note;
        const char *sep = strstr(note, "\n\n");
        pl_checkpoint cp;

        if (sep && pl_checkpoint_parse(note, (size_t)(sep - note) + 1, &cp) == PL_OK)
            size = cp.size;
    }
    pl_frame_server_free(f);
    wc_close(c);
    return size;
}

/* ---- the operator's store ---- */

struct sqlite3 *adv_store_open(adv_world *w)
{
    char path[PH_PATH_MAX];
    sqlite3 *db = NULL;

    if (w->srv->pid)
        fail_msg("adv_world: parleyd must be stopped before its store is tampered with");
    snprintf(path, sizeof path, "%s/parleyd.db", w->srv->data_dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fail_msg("adv_world: cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
    sqlite3_busy_timeout(db, 5000);
    return db;
}

int adv_store_exec(struct sqlite3 *db, const char *sql, const void *b, size_t b_len, const char *t)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("adv_world: %s: %s", sql, sqlite3_errmsg(db));
    if (b)
        sqlite3_bind_blob(st, 1, b, (int)b_len, SQLITE_TRANSIENT);
    if (t)
        sqlite3_bind_text(st, 2, t, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        fail_msg("adv_world: %s: %s", sql, sqlite3_errmsg(db));
    return sqlite3_changes(db);
}

size_t adv_store_blob(struct sqlite3 *db, const char *sql, const char *t, void *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    size_t len;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("adv_world: %s: %s", sql, sqlite3_errmsg(db));
    if (t)
        sqlite3_bind_text(st, 1, t, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) != SQLITE_BLOB)
        fail_msg("adv_world: no row for %s", sql);
    len = (size_t)sqlite3_column_bytes(st, 0);
    if (len > cap)
        fail_msg("adv_world: a blob of %zu bytes for %s", len, sql);
    memcpy(out, sqlite3_column_blob(st, 0), len);
    sqlite3_finalize(st);
    return len;
}

void adv_copy_file(const char *src, const char *dst, unsigned mode)
{
    size_t len;
    uint8_t *data = tu_read_file(src, &len);
    FILE *f;

    if (!data)
        fail_msg("adv_world: cannot read %s", src);
    unlink(dst);
    if (!(f = fopen(dst, "wb")) || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        fail_msg("adv_world: cannot write %s", dst);
    free(data);
    if (chmod(dst, (mode_t)mode) != 0)
        fail_msg("adv_world: chmod %s", dst);
}

static const char *const store_files[] = {"parleyd.db", "parleyd.db-wal", "parleyd.db-shm"};

void adv_store_backup(adv_world *w, const char *backup_dir)
{
    char src[PH_PATH_MAX], dst[PH_PATH_MAX];

    if (w->srv->pid)
        fail_msg("adv_world: stop parleyd before copying its store");
    if (mkdir(backup_dir, 0700) != 0 && errno != EEXIST)
        fail_msg("adv_world: mkdir %s", backup_dir);
    for (size_t i = 0; i < sizeof store_files / sizeof *store_files; i++) {
        snprintf(src, sizeof src, "%s/%s", w->srv->data_dir, store_files[i]);
        snprintf(dst, sizeof dst, "%s/%s", backup_dir, store_files[i]);
        unlink(dst);
        if (access(src, F_OK) == 0)
            adv_copy_file(src, dst, 0600);
    }
}

void adv_store_restore(adv_world *w, const char *backup_dir)
{
    char src[PH_PATH_MAX], dst[PH_PATH_MAX];

    if (w->srv->pid)
        fail_msg("adv_world: stop parleyd before replacing its store");
    for (size_t i = 0; i < sizeof store_files / sizeof *store_files; i++) {
        snprintf(src, sizeof src, "%s/%s", backup_dir, store_files[i]);
        snprintf(dst, sizeof dst, "%s/%s", w->srv->data_dir, store_files[i]);
        unlink(dst);
        if (access(src, F_OK) == 0)
            adv_copy_file(src, dst, 0600);
    }
}

ph_server *adv_fork_server(adv_world *w, const char *const *settings)
{
    static const char *const keys[] = {"kt/log.key", "kt/vrf.key", "kt/open.key", "tls/cert.pem",
                                       "tls/key.pem"};
    char src[PH_PATH_MAX], dst[PH_PATH_MAX];
    ph_server *b = ph_start(settings);

    ph_stop(b);
    for (size_t i = 0; i < sizeof store_files / sizeof *store_files; i++) {
        snprintf(dst, sizeof dst, "%s/%s", b->data_dir, store_files[i]);
        unlink(dst);
    }
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        snprintf(src, sizeof src, "%s/%s", w->srv->data_dir, keys[i]);
        snprintf(dst, sizeof dst, "%s/%s", b->data_dir, keys[i]);
        adv_copy_file(src, dst, strstr(keys[i], "cert") ? 0644 : 0600);
    }
    ph_restart(b);
    return b;
}

mp_verdict adv_answer_from(mp_frame_ctx *fx, const Parley__ServerFrame *f, uint16_t port,
                           const char *cert)
{
    Parley__Request rq;
    Parley__ServerFrame *g = NULL;
    wc_conn *c = NULL;
    mp_verdict v = MP_CLOSE;

    if (!fx->request || f->kind_case != PARLEY__SERVER_FRAME__KIND_RESPONSE)
        return MP_CLOSE;
    if (wc_connect(&c, port, cert) != WC_OK)
        return MP_CLOSE;
    rq = *fx->request;
    rq.id = 0; /* the other connection's own numbering */
    if (wc_request(c, &rq, &g, 3000) == WC_OK) {
        g->response->id = f->response->id;
        v = mp_emit_server(fx, g);
    }
    pl_frame_server_free(g);
    wc_close(c);
    return v;
}

/* ---- what a client verified ---- */

typedef struct alert_acc {
    pl_client_alert newest;
    size_t n;
} alert_acc;

static int take_alert(void *ctx, const pl_client_alert *a)
{
    alert_acc *acc = ctx;

    acc->n++;
    if (acc->n == 1 || a->id > acc->newest.id)
        acc->newest = *a;
    return 0;
}

size_t adv_newest_alert(pl_client *c, pl_client_alert *out)
{
    alert_acc acc;
    int r;

    memset(&acc, 0, sizeof acc);
    if ((r = pl_client_alerts(c, 1, take_alert, &acc)) != PL_CLIENT_OK)
        fail_msg("adv_world: listing alerts: %s: %s", pl_client_errname(r), pl_client_error(c));
    *out = acc.newest;
    return acc.n;
}

void adv_snapshot_take(pl_client *c, const char *label, adv_snapshot *out)
{
    static pl_cstore_kt_log log;
    static pl_cstore_kt_label row;
    pl_client_alert newest;
    int r;

    memset(out, 0, sizeof *out);
    r = pl_cstore_kt_log_get(c->store, &log);
    if (r == PL_CSTORE_OK) {
        out->pinned = 1;
        out->has_checkpoint = log.has_checkpoint;
        out->size = log.size;
        memcpy(out->root, log.root, sizeof out->root);
        crypto_hash_sha256(out->note_hash, (const uint8_t *)log.note, log.note_len);
    } else if (r != PL_CSTORE_E_NOT_FOUND) {
        fail_msg("adv_world: reading the client's KT log row: %d", r);
    }
    if (label) {
        r = pl_cstore_kt_label_get(c->store, label, &row);
        if (r == PL_CSTORE_OK) {
            out->has_label = 1;
            out->version = row.version;
            crypto_hash_sha256(out->state_hash, row.state, row.state_len);
            out->label_tree_size = row.tree_size;
        } else if (r != PL_CSTORE_E_NOT_FOUND) {
            fail_msg("adv_world: reading the client's KT row of %s: %d", label, r);
        }
    }
    out->n_alerts = adv_newest_alert(c, &newest);
}

void adv_assert_kt_unchanged(const adv_snapshot *before, const adv_snapshot *after)
{
    if (before->pinned != after->pinned || before->has_checkpoint != after->has_checkpoint)
        fail_msg("the client's pinned log changed (pinned %d -> %d, checkpoint %d -> %d)",
                 before->pinned, after->pinned, before->has_checkpoint, after->has_checkpoint);
    if (before->size != after->size || memcmp(before->root, after->root, 32) != 0 ||
        memcmp(before->note_hash, after->note_hash, 32) != 0)
        fail_msg("the client's view moved: size %llu -> %llu", (unsigned long long)before->size,
                 (unsigned long long)after->size);
    if (before->has_label != after->has_label || before->version != after->version ||
        memcmp(before->state_hash, after->state_hash, 32) != 0 ||
        before->label_tree_size != after->label_tree_size)
        fail_msg("the client's verified state changed: version %u -> %u (tree %llu -> %llu)",
                 before->version, after->version, (unsigned long long)before->label_tree_size,
                 (unsigned long long)after->label_tree_size);
}

void adv_assert_alert(pl_client *c, const adv_snapshot *before, const char *kind,
                      const char *reason_part, int want_evidence)
{
    pl_client_alert a;
    size_t n = adv_newest_alert(c, &a);

    if (n <= before->n_alerts)
        fail_msg("no new alert (still %zu), expected one of kind %s", n, kind);
    if (strcmp(a.kind, kind) != 0)
        fail_msg("the newest alert is of kind %s (%s), expected %s", a.kind, a.reason, kind);
    if (reason_part && !strstr(a.reason, reason_part))
        fail_msg("the %s alert says \"%s\", expected it to mention \"%s\"", kind, a.reason,
                 reason_part);
    if (want_evidence && a.n_evidence == 0)
        fail_msg("the %s alert (%s) kept no evidence", kind, a.reason);
}
