/*
 * cmd_once.c: `parley-audit once --state DIR --server HOST:PORT (--ca FILE | --pin SHA256)`:
 * one round (round.h) and exit, for tests and cron. Prints one line to stdout:
 *     cosigned <size> <delivered|not-delivered> <entries replayed>
 *     refused <reason> <detail>          (exit 4)
 *     halted <reason> <detail>           (exit 4)
 *     transient <detail>                 (exit 3)
 */
#include <inttypes.h>
#include <stdio.h>

#include "alog.h"
#include "audit_conn.h"
#include "auditor.h"
#include "cli.h"

/* Prints the result line of a round. */
static void print_result(const pl_audit_round_result *res)
{
    switch (res->outcome) {
    case PL_AUDIT_ROUND_COSIGNED:
        printf("cosigned %" PRIu64 " %s %" PRIu64 "\n", res->size,
               res->accepted ? "delivered" : "not-delivered", res->replayed);
        break;
    case PL_AUDIT_ROUND_REFUSED:
    case PL_AUDIT_ROUND_HALTED:
        printf("%s %s %s\n", pl_audit_outcome_name(res->outcome), res->reason, res->detail);
        break;
    default:
        printf("%s %s\n", pl_audit_outcome_name(res->outcome), res->detail);
        break;
    }
    fflush(stdout);
}

int cmd_once(int argc, char **argv)
{
    audit_opts o;
    pl_auditor *a = NULL;
    pl_audit_conn *c = NULL;
    pl_audit_round_result res = {0};
    char err[512];
    int r, code;

    if ((r = audit_parse("once", "sScp", argc, argv, &o)) != 0)
        return r > 0 ? AUDIT_EXIT_OK : AUDIT_EXIT_USAGE;
    audit_catch_signals();
    if (pl_auditor_open(&a, o.state, &audit_stop, err, sizeof err) != 0) {
        pl_alog(PL_ALOG_ERROR, "%s", err);
        return AUDIT_EXIT_LOCAL;
    }
    if (a->st.halted) {
        pl_audit_round(a, NULL, &res); /* refuses before any I/O */
    } else if ((r = pl_audit_conn_open(&c, o.server, o.ca, o.pin, &audit_stop, err, sizeof err)) !=
               PL_AUDIT_CONN_OK) {
        pl_alog(PL_ALOG_ERROR, "%s: %s", o.server, err);
        printf("transient %s\n", err);
        pl_auditor_close(a);
        return r == PL_AUDIT_CONN_E_USAGE ? AUDIT_EXIT_USAGE : AUDIT_EXIT_UNREACHABLE;
    } else {
        pl_audit_round(a, c, &res);
    }
    if (res.outcome != PL_AUDIT_ROUND_COSIGNED && res.outcome != PL_AUDIT_ROUND_REFUSED)
        pl_alog(res.outcome == PL_AUDIT_ROUND_HALTED ? PL_ALOG_ERROR : PL_ALOG_WARN, "%s: %s",
                pl_audit_outcome_name(res.outcome), res.detail);
    print_result(&res);
    code = audit_exit_for(&res);
    pl_audit_conn_close(c);
    pl_auditor_close(a);
    return code;
}
