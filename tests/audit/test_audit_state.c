/*
 * test_audit_state.c: the auditor's own state (src/audit/witness_key.c, audit_db.c,
 * auditor.c, log_config.c): the key file's permissions, the database's lock, its reload with
 * every entry checked again (so a damaged or edited database is refused, never trusted),
 * evidence and halts, and the check of the log's config before it is pinned.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "parley/parley.h"
#include "parley/kt_lookup.h"

#include "audit_db.h"
#include "auditor.h"
#include "log_config.h"
#include "witness_key.h"

#define NAME "witness.example.org/w1"

static char dir[256];

static void rm_state(void)
{
    char path[512];
    static const char *const files[] = {"witness.key", "audit.db", "audit.db-wal", "audit.db-shm",
                                        "audit.lock"};

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_audit_state.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    rm_state();
    return 0;
}

static void make_state(void)
{
    char err[512];

    assert_int_equal(pl_audit_key_create(dir, err, sizeof err), 0);
    assert_int_equal(pl_audit_db_create(dir, NAME, err, sizeof err), 0);
}

static void test_key_created_0600_and_never_replaced(void **state)
{
    char err[512], path[512];
    pl_audit_key *k = NULL, *k2 = NULL;
    struct stat st;

    (void)state;
    assert_int_equal(pl_audit_key_create(dir, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/witness.key", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(pl_audit_key_load(dir, &k, err, sizeof err), 0);
    /* a second init refuses, and the key stays the same */
    assert_int_equal(pl_audit_key_create(dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "exists"));
    assert_int_equal(pl_audit_key_load(dir, &k2, err, sizeof err), 0);
    assert_memory_equal(k->pk, k2->pk, sizeof k->pk);
    pl_audit_key_free(k);
    pl_audit_key_free(k2);
}

static void test_key_refused_when_readable_or_wrong_size(void **state)
{
    char err[512], path[512];
    pl_audit_key *k = NULL;
    FILE *f;

    (void)state;
    assert_int_equal(pl_audit_key_create(dir, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/witness.key", dir);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(pl_audit_key_load(dir, &k, err, sizeof err), -1);
    assert_null(k);
    assert_non_null(strstr(err, "group or others"));
    assert_int_equal(chmod(path, 0600), 0);
    f = fopen(path, "ab");
    assert_non_null(f);
    fputc('x', f);
    fclose(f);
    assert_int_equal(pl_audit_key_load(dir, &k, err, sizeof err), -1);
    assert_null(k);
    assert_non_null(strstr(err, "not a witness key"));
    unlink(path);
    assert_int_equal(pl_audit_key_load(dir, &k, err, sizeof err), -1);
}

static void test_db_is_locked_by_one_writer(void **state)
{
    char err[512];
    pl_audit_db *a = NULL, *b = NULL, *ro = NULL;

    (void)state;
    make_state();
    assert_int_equal(pl_audit_db_create(dir, NAME, err, sizeof err), -1); /* exists */
    assert_int_equal(pl_audit_db_open(dir, 0, &a, err, sizeof err), 0);
    assert_int_equal(pl_audit_db_open(dir, 0, &b, err, sizeof err), -1);
    assert_null(b);
    assert_non_null(strstr(err, "another parley-audit"));
    assert_int_equal(pl_audit_db_open(dir, 1, &ro, err, sizeof err), 0); /* status */
    pl_audit_db_close(ro);
    pl_audit_db_close(a);
    assert_int_equal(pl_audit_db_open(dir, 0, &b, err, sizeof err), 0);
    pl_audit_db_close(b);
}

/* Makes entry i with leaf keys SHA-256(i || j) for j < n, sorted, against tree t. */
static void entry_for(pl_prefix_tree *t, uint64_t i, size_t n, uint8_t (*leaves)[64],
                      pl_audit_entry *e)
{
    for (size_t j = 0; j < n; j++) {
        uint8_t in[2] = {(uint8_t)i, (uint8_t)j};

        crypto_hash_sha256(leaves[j], in, 2);
        crypto_hash_sha256(leaves[j] + 32, leaves[j], 32);
    }
    for (size_t j = 1; j < n; j++)
        for (size_t k = j; k > 0 && memcmp(leaves[k - 1], leaves[k], 32) > 0; k--) {
            uint8_t tmp[64];

            memcpy(tmp, leaves[k], 64);
            memcpy(leaves[k], leaves[k - 1], 64);
            memcpy(leaves[k - 1], tmp, 64);
        }
    for (size_t j = 0; j < n; j++)
        assert_int_equal(pl_prefix_tree_insert(t, leaves[j], leaves[j] + 32), PL_OK);
    memset(e, 0, sizeof *e);
    e->position = i;
    e->timestamp_ms = 1700000000000u + i;
    pl_prefix_tree_root(t, e->prefix_root);
    e->leaves = (const uint8_t(*)[64])leaves;
    e->n_leaves = n;
}

/* Stores 5 entries and a witness state over them, as a round would. */
static void store_log(uint8_t root_out[32])
{
    char err[512];
    pl_audit_db *db = NULL;
    pl_prefix_tree *t = NULL;
    pl_audit_replay *r = NULL;
    uint8_t leaves[4][64];
    pl_audit_entry e;

    assert_int_equal(pl_audit_db_open(dir, 0, &db, err, sizeof err), 0);
    assert_int_equal(pl_prefix_tree_new(&t), PL_OK);
    assert_int_equal(pl_audit_replay_new(&r), PL_OK);
    assert_int_equal(pl_audit_db_pin_config(db, "o.example/kt/v1/0011223344556677",
                                            "o+00000000+AAAA", "origin o\n", 1),
                     0);
    assert_int_equal(pl_audit_db_begin(db), 0);
    for (uint64_t i = 0; i < 5; i++) {
        entry_for(t, i, i % 4, leaves, &e);
        assert_int_equal(pl_audit_replay_entry(r, &e, NULL), PL_OK);
        assert_int_equal(pl_audit_db_put_entry(db, &e), 0);
    }
    pl_audit_replay_log_root(r, root_out);
    assert_int_equal(pl_audit_db_put_witness(db, 5, root_out, "note\n", 5, "line\n", 5, 2), 0);
    assert_int_equal(pl_audit_db_commit(db), 0);
    pl_audit_replay_free(r);
    pl_prefix_tree_free(t);
    pl_audit_db_close(db);
}

static void test_db_reload_replays_own_entries(void **state)
{
    char err[512];
    pl_audit_db *db = NULL;
    pl_audit_db_state st;
    pl_audit_replay *r = NULL;
    uint8_t root[32], got[32];

    (void)state;
    make_state();
    store_log(root);
    assert_int_equal(pl_audit_db_open(dir, 0, &db, err, sizeof err), 0);
    assert_int_equal(pl_audit_db_state_get(db, &st), 0);
    assert_int_equal(st.has_witness, 1);
    assert_int_equal(st.size, 5);
    assert_int_equal(st.n_entries, 5);
    assert_int_equal(st.n_leaves, 0 + 1 + 2 + 3 + 0);
    assert_int_equal(st.n_cosignatures, 1);
    assert_string_equal(st.witness_name, NAME);
    assert_memory_equal(st.root, root, 32);
    assert_int_equal(pl_audit_db_load_replay(db, &st, &r), 0);
    assert_int_equal(pl_audit_replay_size(r), 5);
    pl_audit_replay_log_root(r, got);
    assert_memory_equal(got, root, 32);
    pl_audit_replay_free(r);
    pl_audit_db_close(db);
}

/* Runs sql on the database behind the auditor's back. */
static void tamper(const char *sql)
{
    char path[512];
    sqlite3 *s = NULL;

    snprintf(path, sizeof path, "%s/audit.db", dir);
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    assert_int_equal(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(s);
}

static void expect_corrupt(const char *sql, const char *phrase)
{
    char err[512];
    pl_audit_db *db = NULL;
    pl_audit_db_state st;
    pl_audit_replay *r = NULL;
    uint8_t root[32];

    make_state();
    store_log(root);
    tamper(sql);
    assert_int_equal(pl_audit_db_open(dir, 0, &db, err, sizeof err), 0);
    assert_int_equal(pl_audit_db_state_get(db, &st), 0);
    assert_int_equal(pl_audit_db_load_replay(db, &st, &r), -1);
    assert_null(r);
    if (!strstr(pl_audit_db_error(db), phrase))
        fail_msg("error \"%s\" lacks \"%s\"", pl_audit_db_error(db), phrase);
    pl_audit_db_close(db);
    rm_state();
    assert_int_equal(mkdir(dir, 0700), 0);
}

static void test_db_reload_refuses_tampering(void **state)
{
    (void)state;
    /* a stored prefix root edited */
    expect_corrupt("UPDATE entries SET prefix_root = zeroblob(32) WHERE position = 3",
                   "does not replay");
    /* a leaf removed: the tree would shrink */
    expect_corrupt("DELETE FROM leaves WHERE vrf_out IN (SELECT vrf_out FROM leaves LIMIT 1)",
                   "does not replay");
    /* an entry removed: a gap */
    expect_corrupt("DELETE FROM entries WHERE position = 2", "entry 2");
    /* the last entry removed: fewer entries than the witness state */
    expect_corrupt("DELETE FROM entries WHERE position = 4", "witness state holds 5");
    /* a witness root that the entries do not give */
    expect_corrupt("UPDATE witness SET root = zeroblob(32)", "cosigned root");
    /* a timestamp moved back */
    expect_corrupt("UPDATE entries SET timestamp_ms = 1 WHERE position = 4", "does not replay");
}

static void test_evidence_and_halt(void **state)
{
    char err[512];
    pl_audit_db *db = NULL;
    pl_audit_db_state st;
    pl_audit_evidence ev = {0};
    uint8_t proof[2][32] = {{1}, {2}}, entry[3] = {9, 8, 7};
    int64_t id = 0;

    (void)state;
    make_state();
    assert_int_equal(pl_audit_db_open(dir, 0, &db, err, sizeof err), 0);
    ev.reason = "fork";
    ev.code = "PL_E_BAD_PROOF";
    ev.detail = "two trees";
    ev.known_size = 7;
    ev.note = "the note\n";
    ev.note_len = 9;
    ev.consistency = proof[0];
    ev.n_consistency = 2;
    ev.has_entry = 1;
    ev.entry_position = 3;
    ev.entry = entry;
    ev.entry_len = 3;
    assert_int_equal(pl_audit_db_add_evidence(db, &ev, 1000, &id), 0);
    assert_true(id > 0);
    assert_int_equal(pl_audit_db_halt(db, "fork", id, 1000), 0);
    assert_int_equal(pl_audit_db_halt(db, "rollback", 0, 2000), 0); /* the first one stays */
    assert_int_equal(pl_audit_db_state_get(db, &st), 0);
    assert_int_equal(st.halted, 1);
    assert_string_equal(st.halt_reason, "fork");
    assert_int_equal(st.halt_evidence_id, id);
    assert_int_equal(st.n_evidence, 1);
    assert_int_equal(pl_audit_db_resume(db), 0);
    assert_int_equal(pl_audit_db_state_get(db, &st), 0);
    assert_int_equal(st.halted, 0);
    assert_int_equal(st.n_evidence, 1); /* evidence is kept */
    pl_audit_db_close(db);
}

static void test_auditor_open_rebuilds_state(void **state)
{
    char err[512];
    pl_auditor *a = NULL;
    uint8_t root[32];

    (void)state;
    make_state();
    /* a pinned config the auditor can turn into a witness state */
    {
        uint8_t pk[32], sk[64];
        pl_note_verifier v;
        char vkey[PL_NOTE_VKEY_MAX_BYTES + 1];
        size_t n;
        pl_audit_db *db = NULL;

        crypto_sign_keypair(pk, sk);
        assert_int_equal(pl_note_verifier_init("o.example/kt/v1/0011223344556677", 32,
                                               PL_NOTE_TYPE_ED25519, pk, &v),
                         PL_OK);
        assert_int_equal(pl_note_verifier_format(&v, vkey, sizeof vkey - 1, &n), PL_OK);
        vkey[n] = '\0';
        assert_int_equal(pl_audit_db_open(dir, 0, &db, err, sizeof err), 0);
        assert_int_equal(
            pl_audit_db_pin_config(db, "o.example/kt/v1/0011223344556677", vkey, "origin o\n", 1),
            0);
        pl_audit_db_close(db);
    }
    assert_int_equal(pl_auditor_open(&a, dir, NULL, err, sizeof err), 0);
    assert_int_equal(a->st.pinned, 1);
    assert_int_equal(a->ws.has_state, 0);
    assert_string_equal(a->ws.origin, "o.example/kt/v1/0011223344556677");
    assert_int_equal(pl_audit_replay_size(a->replay), 0);
    assert_string_equal(a->me.name, NAME);
    pl_auditor_close(a);
    (void)root;
}

/* ---- the log's config ---- */

typedef struct cfg_fixture {
    Parley__KtConfig c;
    char origin[300], log_vkey[400], w1[400], w2[400];
    char *witnesses[3];
    uint8_t vrf_pk[32];
    pl_note_verifier me;
} cfg_fixture;

static void make_config(cfg_fixture *f)
{
    uint8_t log_pk[32], log_sk[64], vrf_sk[64], w_pk[32], w_sk[64], h[32];
    crypto_hash_sha256_state hs;
    pl_note_verifier v;
    char hex[17];
    size_t n;

    memset(f, 0, sizeof *f);
    parley__kt_config__init(&f->c);
    crypto_sign_keypair(log_pk, log_sk);
    crypto_sign_keypair(f->vrf_pk, vrf_sk);
    crypto_hash_sha256_init(&hs);
    crypto_hash_sha256_update(&hs, (const uint8_t *)"parley/kt-config/v1", 19);
    crypto_hash_sha256_update(&hs, log_pk, 32);
    crypto_hash_sha256_update(&hs, f->vrf_pk, 32);
    crypto_hash_sha256_final(&hs, h);
    sodium_bin2hex(hex, sizeof hex, h, 8);
    snprintf(f->origin, sizeof f->origin, "parley.example/kt/v1/%s", hex);
    assert_int_equal(
        pl_note_verifier_init(f->origin, strlen(f->origin), PL_NOTE_TYPE_ED25519, log_pk, &v),
        PL_OK);
    assert_int_equal(pl_note_verifier_format(&v, f->log_vkey, sizeof f->log_vkey - 1, &n), PL_OK);
    crypto_sign_keypair(w_pk, w_sk);
    assert_int_equal(
        pl_note_verifier_init(NAME, strlen(NAME), PL_NOTE_TYPE_COSIGNATURE_V1, w_pk, &f->me),
        PL_OK);
    assert_int_equal(pl_note_verifier_format(&f->me, f->w1, sizeof f->w1 - 1, &n), PL_OK);
    crypto_sign_keypair(w_pk, w_sk);
    assert_int_equal(
        pl_note_verifier_init("other.example/w", 15, PL_NOTE_TYPE_COSIGNATURE_V1, w_pk, &v), PL_OK);
    assert_int_equal(pl_note_verifier_format(&v, f->w2, sizeof f->w2 - 1, &n), PL_OK);
    f->witnesses[0] = f->w2;
    f->witnesses[1] = f->w1;
    f->c.origin = f->origin;
    f->c.log_vkey = f->log_vkey;
    f->c.vrf_public_key.data = f->vrf_pk;
    f->c.vrf_public_key.len = 32;
    f->c.witness_vkeys = f->witnesses;
    f->c.n_witness_vkeys = 2;
    f->c.quorum = 1;
    f->c.max_ahead_ms = 120000;
    f->c.max_behind_ms = 600000;
}

static void test_config_accepted_and_canonical(void **state)
{
    cfg_fixture *f = malloc(sizeof *f);
    pl_audit_config *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    char err[256];

    (void)state;
    assert_non_null(f);
    assert_non_null(a);
    assert_non_null(b);
    make_config(f);
    assert_int_equal(pl_audit_config_check(&f->c, &f->me, a, err, sizeof err), 0);
    assert_int_equal(a->lists_me, 1);
    assert_string_equal(a->origin, f->origin);
    assert_non_null(strstr(a->text, "quorum 1\n"));
    /* the witnesses' order on the wire does not change the pinned text */
    f->witnesses[0] = f->w1;
    f->witnesses[1] = f->w2;
    assert_int_equal(pl_audit_config_check(&f->c, &f->me, b, err, sizeof err), 0);
    assert_string_equal(a->text, b->text);
    /* any other value does */
    f->c.max_behind_ms++;
    assert_int_equal(pl_audit_config_check(&f->c, &f->me, b, err, sizeof err), 0);
    assert_string_not_equal(a->text, b->text);
    /* without this auditor among the witnesses it is valid, but says so */
    f->c.n_witness_vkeys = 1;
    f->witnesses[0] = f->w2;
    assert_int_equal(pl_audit_config_check(&f->c, &f->me, b, err, sizeof err), 0);
    assert_int_equal(b->lists_me, 0);
    free(f);
    free(a);
    free(b);
}

static void test_config_refused(void **state)
{
    cfg_fixture *f = malloc(sizeof *f);
    pl_audit_config *out = malloc(sizeof *out);
    char err[256], saved;
    uint8_t other[32];

    (void)state;
    assert_non_null(f);
    assert_non_null(out);
    /* an origin whose hash is not of these keys */
    make_config(f);
    memset(other, 0x55, sizeof other);
    f->c.vrf_public_key.data = other;
    assert_int_equal(pl_audit_config_check(&f->c, &f->me, out, err, sizeof err), -1);
    assert_non_null(strstr(err, "origin"));
    /* a log key named for another origin */
    make_config(f);
    saved = f->origin[0];
    f->origin[0] = 'q';
    assert_int_equal(pl_audit_config_check(&f->c, &f->me, out, err, sizeof err), -1);
    f->origin[0] = saved;
    /* a VRF key of the wrong length */
    f->c.vrf_public_key.len = 31;
    assert_int_equal(pl_audit_config_check(&f->c, &f->me, out, err, sizeof err), -1);
    /* a witness listed twice, a log key as a witness, a quorum above the witnesses */
    make_config(f);
    f->witnesses[0] = f->w1;
    assert_int_equal(pl_audit_config_check(&f->c, &f->me, out, err, sizeof err), -1);
    assert_non_null(strstr(err, "twice"));
    make_config(f);
    f->witnesses[0] = f->log_vkey;
    assert_int_equal(pl_audit_config_check(&f->c, &f->me, out, err, sizeof err), -1);
    make_config(f);
    f->c.quorum = 3;
    assert_int_equal(pl_audit_config_check(&f->c, &f->me, out, err, sizeof err), -1);
    /* a witness vkey as the log key */
    make_config(f);
    f->c.log_vkey = f->w1;
    assert_int_equal(pl_audit_config_check(&f->c, &f->me, out, err, sizeof err), -1);
    make_config(f);
    f->c.origin = NULL;
    assert_int_equal(pl_audit_config_check(&f->c, &f->me, out, err, sizeof err), -1);
    free(f);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_created_0600_and_never_replaced, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_key_refused_when_readable_or_wrong_size, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_db_is_locked_by_one_writer, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_db_reload_replays_own_entries, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_db_reload_refuses_tampering, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_evidence_and_halt, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_auditor_open_rebuilds_state, setup_dir, teardown_dir),
        cmocka_unit_test(test_config_accepted_and_canonical),
        cmocka_unit_test(test_config_refused),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
