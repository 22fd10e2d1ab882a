/*
 * cmd_resume.c: `parley-audit resume --state DIR`: the operator's intervention after a halt.
 * Clears the halt so that rounds run again; the evidence stays, and so does the witness state,
 * so a resumed auditor still refuses the very fork or rollback that halted it (the witness
 * never cosigns a tree inconsistent with what it cosigned). Use it once the log's operator
 * has explained and repaired the log, e.g. restored the newest store.
 */
#include <stdio.h>

#include "audit_db.h"
#include "cli.h"

int cmd_resume(int argc, char **argv)
{
    audit_opts o;
    pl_audit_db *db = NULL;
    pl_audit_db_state st;
    char err[512];
    int r, code = AUDIT_EXIT_LOCAL;

    if ((r = audit_parse("resume", "s", argc, argv, &o)) != 0)
        return r > 0 ? AUDIT_EXIT_OK : AUDIT_EXIT_USAGE;
    if (pl_audit_db_open(o.state, 0, &db, err, sizeof err) != 0) {
        fprintf(stderr, "parley-audit resume: %s\n", err);
        return AUDIT_EXIT_LOCAL;
    }
    if (pl_audit_db_state_get(db, &st) != 0 || pl_audit_db_resume(db) != 0) {
        fprintf(stderr, "parley-audit resume: %s\n", pl_audit_db_error(db));
        goto out;
    }
    if (st.halted)
        printf("resumed: the halt by a %s is cleared; the evidence is kept\n", st.halt_reason);
    else
        printf("not halted: nothing to resume\n");
    code = AUDIT_EXIT_OK;
out:
    pl_audit_db_close(db);
    return code;
}
