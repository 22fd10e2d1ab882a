/* auditor.c: an auditor's state, opened and reloaded from its directory (auditor.h). */
#define _POSIX_C_SOURCE 200809L
#include "auditor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parley/error.h"

uint64_t pl_auditor_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int pl_auditor_reload(pl_auditor *a, char *err, size_t err_len)
{
    pl_audit_replay *rp = NULL;
    pl_note_verifier log_key;

    pl_audit_replay_free(a->replay);
    a->replay = NULL;
    if (pl_audit_db_state_get(a->db, &a->st) != 0) {
        snprintf(err, err_len, "%s", pl_audit_db_error(a->db));
        return -1;
    }
    memset(&a->ws, 0, sizeof a->ws);
    if (a->st.pinned) {
        if (pl_note_verifier_parse(a->st.log_vkey, strlen(a->st.log_vkey), &log_key) != PL_OK ||
            pl_kt_witness_state_init(a->st.origin, strlen(a->st.origin), &log_key, &a->ws) !=
                PL_OK) {
            snprintf(err, err_len, "audit.db is corrupt: the pinned log key or origin");
            return -1;
        }
        if (a->st.has_witness) {
            a->ws.has_state = 1;
            a->ws.size = a->st.size;
            memcpy(a->ws.root, a->st.root, sizeof a->ws.root);
        }
    } else if (a->st.has_witness) {
        snprintf(err, err_len, "audit.db is corrupt: a witness state but no pinned log");
        return -1;
    }
    if (pl_audit_db_load_replay(a->db, &a->st, &rp) != 0) {
        snprintf(err, err_len, "%s", pl_audit_db_error(a->db));
        return -1;
    }
    a->replay = rp;
    return 0;
}

int pl_auditor_open(pl_auditor **out, const char *dir, volatile sig_atomic_t *stop, char *err,
                    size_t err_len)
{
    pl_auditor *a = calloc(1, sizeof *a);
    int r = -1;

    *out = NULL;
    if (!a) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    a->stop = stop;
    if (pl_audit_db_open(dir, 0, &a->db, err, err_len) != 0 ||
        pl_audit_key_load(dir, &a->key, err, err_len) != 0)
        goto out;
    if (pl_audit_db_state_get(a->db, &a->st) != 0) {
        snprintf(err, err_len, "%s", pl_audit_db_error(a->db));
        goto out;
    }
    if (pl_audit_key_verifier(a->key, a->st.witness_name, strlen(a->st.witness_name), &a->me) !=
        PL_OK) {
        snprintf(err, err_len, "audit.db: the witness name is not a valid key name");
        goto out;
    }
    if (pl_auditor_reload(a, err, err_len) != 0)
        goto out;
    *out = a;
    a = NULL;
    r = 0;
out:
    pl_auditor_close(a);
    return r;
}

void pl_auditor_close(pl_auditor *a)
{
    if (!a)
        return;
    pl_audit_replay_free(a->replay);
    pl_audit_key_free(a->key);
    pl_audit_db_close(a->db);
    free(a);
}
