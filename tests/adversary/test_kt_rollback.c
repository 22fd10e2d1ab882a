/*
 * test_kt_rollback.c: the operator rolls the log back (docs/ADVERSARY.md, attack d). It takes
 * a copy of parleyd's store; later, after bob has linked a second device (his version 1) and
 * alice has verified it, it restores the old copy and restarts parleyd, whose log is now
 * smaller than the checkpoint alice holds. alice's next lookup is refused as a rollback of the
 * log (PL_CLIENT_E_KT_VIEW, alert "view"), both signed checkpoints are kept as evidence and
 * can be exported, her view and her verified state of bob do not move, and the alert, being
 * evidence against the whole log, blocks sending until she acknowledges it.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "adv_kt.h"
#include "adv_world.h"
#include "testutil.h"

/* Reads an exported evidence file and checks it is a signed checkpoint of size `size`. */
static void check_note_file(const char *dir, int64_t id, const char *name, uint64_t size)
{
    char path[1024];
    size_t len;
    uint8_t *note;
    pl_checkpoint cp;

    snprintf(path, sizeof path, "%s/alert-%lld/%s", dir, (long long)id, name);
    if (!(note = tu_read_file(path, &len)))
        fail_msg("no evidence file %s", path);
    adv_note_text((const char *)note, len, &cp);
    assert_int_equal(cp.size, size);
    free(note);
}

static void restored_store_is_a_rollback(void **state)
{
    adv_world w;
    pl_client *alice, *bob, *bob2;
    pl_client_kt_status st;
    pl_client_alert al;
    adv_snapshot before, after;
    char backup[512], export_dir[512], id[33];
    uint64_t old_size, new_size;
    size_t n_files = 0;

    (void)state;
    adv_world_start(&w, "rollback", NULL);
    alice = adv_client_new(&w, "alice");
    bob = adv_client_new(&w, "bob");
    ADV_RC(alice, pl_client_send(alice, "bob", "hi bob", 6, id), PL_CLIENT_OK);

    /* The operator's backup, taken while bob has one device. */
    old_size = adv_published_size(&w);
    adv_client_close(&w, alice);
    adv_client_close(&w, bob);
    ph_stop(w.srv);
    snprintf(backup, sizeof backup, "%s/backup", w.dir);
    adv_store_backup(&w, backup);
    adv_world_restart(&w);
    alice = adv_client_open(&w, "alice");
    bob = adv_client_open(&w, "bob");

    /* bob links a phone (version 1); alice verifies it. */
    bob2 = adv_client_link(&w, bob, "bob2", NULL);
    adv_wait_published(&w, "bob", 1);
    ADV_RC(alice, pl_client_kt_status_get(alice, "bob", 1, &st), PL_CLIENT_OK);
    assert_int_equal(st.version, 1);
    new_size = adv_published_size(&w);
    assert_true(new_size > old_size);

    /* The operator restores the old store. */
    adv_client_close(&w, alice);
    adv_client_close(&w, bob);
    adv_client_close(&w, bob2);
    ph_stop(w.srv);
    adv_store_restore(&w, backup);
    adv_world_restart(&w);
    assert_int_equal(adv_published_size(&w), old_size);
    alice = adv_client_open(&w, "alice");

    adv_snapshot_take(alice, "bob", &before);
    assert_int_equal(before.size, new_size);
    assert_int_equal(before.version, 1);
    ADV_RC(alice, pl_client_kt_status_get(alice, "bob", 1, &st), PL_CLIENT_E_KT_VIEW);
    adv_snapshot_take(alice, "bob", &after);
    adv_assert_kt_unchanged(&before, &after);
    adv_assert_alert(alice, &before, "view", "rollback", 1);

    /* The evidence: the checkpoint alice held and the smaller one the server showed. */
    adv_newest_alert(alice, &al);
    snprintf(export_dir, sizeof export_dir, "%s/evidence", w.dir);
    ADV_RC(alice, pl_client_alerts_export(alice, export_dir, al.id, &n_files), PL_CLIENT_OK);
    assert_true(n_files >= 2);
    check_note_file(export_dir, al.id, "old-checkpoint.note", new_size);
    check_note_file(export_dir, al.id, "new-checkpoint.note", old_size);

    /* Evidence against the log: no message leaves until the user has looked at it. */
    ADV_RC(alice, pl_client_send(alice, "bob", "hello?", 6, id), PL_CLIENT_E_KT_BLOCKED);

    adv_client_close(&w, alice);
    adv_world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(restored_store_is_a_rollback),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
