/*
 * cmd_status.c: `parley-audit status --state DIR`: prints the auditor's state without
 * touching the network or taking the state's lock (it runs beside `parley-audit run`):
 * the witness's vkey, the pinned log, the last cosigned size and root, what was replayed,
 * whether it is halted, and the most recent evidence.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "parley/error.h"

#include "alog.h"
#include "audit_db.h"
#include "cli.h"
#include "witness_key.h"

#define EVIDENCE_SHOWN 10u

static void print_time(const char *label, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000u);
    struct tm tm;
    char buf[64];

    if (!gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, sizeof buf, "%" PRIu64 " ms", ms);
    printf("%s%s\n", label, buf);
}

static void print_evidence(void *arg, int64_t id, uint64_t at_ms, const char *reason,
                           const char *code, const char *detail, uint64_t known_size,
                           const char *note)
{
    char clean[600];

    (void)arg;
    (void)note;
    printf("  #%" PRId64 " %s (%s) held size %" PRIu64 ": %s\n", id, reason, code, known_size,
           pl_alog_clean(detail, clean, sizeof clean));
    print_time("     at ", at_ms);
}

int cmd_status(int argc, char **argv)
{
    audit_opts o;
    pl_audit_db *db = NULL;
    pl_audit_db_state st;
    pl_audit_key *key = NULL;
    pl_note_verifier me;
    char err[512] = "", vkey[PL_NOTE_VKEY_MAX_BYTES + 1] = "(witness.key unreadable)", b64[64];
    size_t vlen;
    int r, code = AUDIT_EXIT_LOCAL;

    if ((r = audit_parse("status", "s", argc, argv, &o)) != 0)
        return r > 0 ? AUDIT_EXIT_OK : AUDIT_EXIT_USAGE;
    if (pl_audit_db_open(o.state, 1, &db, err, sizeof err) != 0) {
        fprintf(stderr, "parley-audit status: %s\n", err);
        return AUDIT_EXIT_LOCAL;
    }
    if (pl_audit_db_state_get(db, &st) != 0) {
        fprintf(stderr, "parley-audit status: %s\n", pl_audit_db_error(db));
        goto out;
    }
    if (pl_audit_key_load(o.state, &key, err, sizeof err) == 0 &&
        pl_audit_key_verifier(key, st.witness_name, strlen(st.witness_name), &me) == PL_OK &&
        pl_note_verifier_format(&me, vkey, sizeof vkey - 1, &vlen) == PL_OK)
        vkey[vlen] = '\0';
    else
        fprintf(stderr, "parley-audit status: %s\n", err);
    pl_audit_key_free(key);
    printf("witness:       %s\n", st.witness_name);
    printf("vkey:          %s\n", vkey);
    if (!st.pinned) {
        printf("log:           none pinned yet (the first `once` or `run` pins it)\n");
    } else {
        printf("log:           %s\n", st.origin);
        printf("log key:       %s\n", st.log_vkey);
    }
    if (st.has_witness) {
        sodium_bin2base64(b64, sizeof b64, st.root, sizeof st.root, sodium_base64_VARIANT_ORIGINAL);
        printf("cosigned size: %" PRIu64 "\n", st.size);
        printf("cosigned root: %s\n", b64);
    } else {
        printf("cosigned size: none yet\n");
    }
    printf("replayed:      %" PRIu64 " entries, %" PRIu64 " prefix-tree leaves\n", st.n_entries,
           st.n_leaves);
    printf("cosignatures:  %" PRIu64 " released\n", st.n_cosignatures);
    if (st.halted) {
        printf("state:         HALTED by a %s (evidence #%" PRId64 "): refusing to cosign\n",
               st.halt_reason, st.halt_evidence_id);
        print_time("halted since:  ", st.halt_since_ms);
    } else {
        printf("state:         running\n");
    }
    printf("evidence:      %" PRIu64 " refusals kept\n", st.n_evidence);
    if (st.n_evidence > 0 &&
        pl_audit_db_list_evidence(db, EVIDENCE_SHOWN, print_evidence, NULL) != 0) {
        fprintf(stderr, "parley-audit status: %s\n", pl_audit_db_error(db));
        goto out;
    }
    code = st.halted ? AUDIT_EXIT_REFUSED : AUDIT_EXIT_OK;
out:
    pl_audit_db_close(db);
    return code;
}
