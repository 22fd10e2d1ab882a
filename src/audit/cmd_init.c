/*
 * cmd_init.c: `parley-audit init --state DIR --name NAME`: creates the state directory
 * (0700), its witness key (witness.key, 0600) and database (audit.db), and prints the
 * witness's vkey for the server operator's `[kt] witnesses` line. Refuses a directory that
 * already holds a key or a database: a witness key is never replaced.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "parley/error.h"
#include "parley/note.h"

#include "audit_db.h"
#include "cli.h"
#include "witness_key.h"

/* Checks that name can name a note key, before anything is written. */
static int check_name(const char *name)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    pl_note_verifier v;
    int r;

    crypto_sign_keypair(pk, sk);
    sodium_memzero(sk, sizeof sk);
    r = pl_note_verifier_init(name, strlen(name), PL_NOTE_TYPE_COSIGNATURE_V1, pk, &v);
    return r == PL_OK ? 0 : -1;
}

int cmd_init(int argc, char **argv)
{
    audit_opts o;
    struct stat st;
    pl_audit_key *key = NULL;
    pl_note_verifier me;
    char err[512], vkey[PL_NOTE_VKEY_MAX_BYTES + 1];
    size_t vlen;
    int r;

    if ((r = audit_parse("init", "sn", argc, argv, &o)) != 0)
        return r > 0 ? AUDIT_EXIT_OK : AUDIT_EXIT_USAGE;
    if (check_name(o.name) != 0) {
        fprintf(stderr,
                "parley-audit init: \"%s\" cannot name a witness key (1..255 bytes of UTF-8, no "
                "space, '+' or control character; e.g. witness.example.org/w1)\n",
                o.name);
        return AUDIT_EXIT_USAGE;
    }
    if (mkdir(o.state, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "parley-audit init: cannot create %s: %s\n", o.state, strerror(errno));
        return AUDIT_EXIT_LOCAL;
    }
    if (stat(o.state, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "parley-audit init: %s is not a directory\n", o.state);
        return AUDIT_EXIT_LOCAL;
    }
    if ((st.st_mode & 077) != 0) {
        fprintf(stderr,
                "parley-audit init: %s is accessible to group or others (mode %03o); "
                "chmod 700 it\n",
                o.state, (unsigned)(st.st_mode & 0777));
        return AUDIT_EXIT_LOCAL;
    }
    if (pl_audit_key_create(o.state, err, sizeof err) != 0) {
        fprintf(stderr, "parley-audit init: %s\n", err);
        return AUDIT_EXIT_LOCAL;
    }
    if (pl_audit_db_create(o.state, o.name, err, sizeof err) != 0 ||
        pl_audit_key_load(o.state, &key, err, sizeof err) != 0) {
        fprintf(stderr, "parley-audit init: %s\n", err);
        return AUDIT_EXIT_LOCAL;
    }
    r = pl_audit_key_verifier(key, o.name, strlen(o.name), &me);
    pl_audit_key_free(key);
    if (r != PL_OK || pl_note_verifier_format(&me, vkey, sizeof vkey - 1, &vlen) != PL_OK) {
        fprintf(stderr, "parley-audit init: cannot make the vkey\n");
        return AUDIT_EXIT_LOCAL;
    }
    vkey[vlen] = '\0';
    printf("%s\n", vkey);
    fprintf(stderr,
            "parley-audit: witness created in %s. Give the line above to the server's operator "
            "for parleyd.conf:\n  [kt]\n  witnesses = %s\n",
            o.state, vkey);
    return AUDIT_EXIT_OK;
}
