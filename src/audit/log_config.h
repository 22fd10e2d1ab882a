/*
 * log_config.h: the log's KtConfig as the auditor pins it (docs/PROTOCOL.md §24.1, §24.4).
 *
 * The first run stores the config's canonical text; every later run must receive a config
 * with exactly that text, or the auditor refuses (it never re-pins: a new log key, VRF key
 * or witness policy is a different log, or an attack, for an operator to decide). The check
 * of a config received from the network (hostile):
 *   - origin: 1..255 bytes, a valid note name, of the form <name>/kt/v1/<16 hex digits>,
 *     the digits being SHA-256("parley/kt-config/v1" || log_pk || vrf_pk)[0..8) in hex;
 *   - log_vkey: a vkey of type Ed25519 whose name is the origin;
 *   - vrf_public_key: 32 bytes;
 *   - witness_vkeys: at most PL_AUDIT_CONFIG_MAX_WITNESSES vkeys of type cosignature/v1,
 *     none twice; quorum at most their number.
 * Canonical text (witnesses sorted, so the server's order does not matter):
 *     origin <origin>\nlog_vkey <vkey>\nvrf_public_key <64 hex>\n(witness <vkey>\n)*
 *     quorum <n>\nmax_ahead_ms <n>\nmax_behind_ms <n>\n
 */
#ifndef PARLEY_AUDIT_LOG_CONFIG_H
#define PARLEY_AUDIT_LOG_CONFIG_H

#include <stddef.h>

#include "parley/note.h"

#include "parley.pb-c.h"

#define PL_AUDIT_CONFIG_MAX_WITNESSES 8u
#define PL_AUDIT_CONFIG_TEXT_MAX 4096u

typedef struct pl_audit_config {
    char origin[PL_NOTE_NAME_MAX_BYTES + 1];
    size_t origin_len;
    pl_note_verifier log_key;
    int lists_me; /* the auditor's own vkey is one of the witnesses */
    char text[PL_AUDIT_CONFIG_TEXT_MAX];
    size_t text_len;
} pl_audit_config;

/*
 * Checks the config c (hostile) as above and writes *out, with lists_me set when `me` (the
 * auditor's verifier, may be NULL) is among the witnesses. Returns 0, or -1 with a sentence
 * in err naming the field and *out zeroed.
 */
int pl_audit_config_check(const Parley__KtConfig *c, const pl_note_verifier *me,
                          pl_audit_config *out, char *err, size_t err_len);

#endif
