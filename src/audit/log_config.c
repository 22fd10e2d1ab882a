/* log_config.c: the log's KtConfig as the auditor pins it (log_config.h). */
#include "log_config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "parley/error.h"
#include "parley/vrf.h"

#define ORIGIN_MARK "/kt/v1/"
#define ORIGIN_HEX 16u
#define CONFIG_DOMAIN "parley/kt-config/v1"

static int failf(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failf(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* Appends to out->text; returns 0, or -1 when it does not fit. */
static int append(pl_audit_config *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int append(pl_audit_config *out, const char *fmt, ...)
{
    size_t room = sizeof out->text - out->text_len;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out->text + out->text_len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        return -1;
    out->text_len += (size_t)n;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* §24.1: origin = <name>/kt/v1/<hex(SHA-256("parley/kt-config/v1" || log_pk || vrf_pk))[0:16]> */
static int check_origin_hash(const char *origin, size_t len, const uint8_t log_pk[32],
                             const uint8_t vrf_pk[32])
{
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];
    char hex[2 * sizeof h + 1];
    size_t mark = sizeof ORIGIN_MARK - 1;

    if (len < mark + ORIGIN_HEX + 1 ||
        memcmp(origin + len - ORIGIN_HEX - mark, ORIGIN_MARK, mark) != 0)
        return -1;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)CONFIG_DOMAIN, sizeof CONFIG_DOMAIN - 1);
    crypto_hash_sha256_update(&st, log_pk, 32);
    crypto_hash_sha256_update(&st, vrf_pk, 32);
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    return memcmp(origin + len - ORIGIN_HEX, hex, ORIGIN_HEX) == 0 ? 0 : -1;
}

static int check(const Parley__KtConfig *c, const pl_note_verifier *me, pl_audit_config *out,
                 char *err, size_t err_len)
{
    char *sorted[PL_AUDIT_CONFIG_MAX_WITNESSES];
    char vrf_hex[2 * PL_VRF_PUBLIC_KEY_BYTES + 1];
    size_t i, len;

    memset(out, 0, sizeof *out);
    if (!c->origin || !c->log_vkey || c->vrf_public_key.len != PL_VRF_PUBLIC_KEY_BYTES)
        return failf(err, err_len, "config: origin, log_vkey or a 32-byte VRF key is missing");
    len = strlen(c->origin);
    if (len == 0 || len > PL_NOTE_NAME_MAX_BYTES)
        return failf(err, err_len, "config: the origin is empty or longer than 255 bytes");
    memcpy(out->origin, c->origin, len);
    out->origin_len = len;
    if (pl_note_verifier_parse(c->log_vkey, strlen(c->log_vkey), &out->log_key) != PL_OK ||
        out->log_key.type != PL_NOTE_TYPE_ED25519)
        return failf(err, err_len, "config: log_vkey is not an Ed25519 note key");
    if (out->log_key.name_len != len || memcmp(out->log_key.name, c->origin, len) != 0)
        return failf(err, err_len, "config: the log key's name is not the origin");
    if (check_origin_hash(c->origin, len, out->log_key.public_key, c->vrf_public_key.data) != 0)
        return failf(err, err_len,
                     "config: the origin does not end in /kt/v1/ and the hash of the log and "
                     "VRF keys (PROTOCOL.md §24.1)");
    if (c->n_witness_vkeys > PL_AUDIT_CONFIG_MAX_WITNESSES)
        return failf(err, err_len, "config: more than %u witnesses", PL_AUDIT_CONFIG_MAX_WITNESSES);
    if (c->quorum > c->n_witness_vkeys)
        return failf(err, err_len, "config: quorum %" PRIu32 " of %zu witnesses", c->quorum,
                     c->n_witness_vkeys);
    for (i = 0; i < c->n_witness_vkeys; i++) {
        pl_note_verifier w;
        const char *v = c->witness_vkeys[i];

        if (!v || pl_note_verifier_parse(v, strlen(v), &w) != PL_OK ||
            w.type != PL_NOTE_TYPE_COSIGNATURE_V1)
            return failf(err, err_len, "config: witness %zu is not a cosignature/v1 vkey", i + 1);
        if (me && w.key_id == me->key_id && w.name_len == me->name_len &&
            memcmp(w.name, me->name, w.name_len) == 0 &&
            memcmp(w.public_key, me->public_key, sizeof w.public_key) == 0)
            out->lists_me = 1;
        sorted[i] = c->witness_vkeys[i];
    }
    qsort(sorted, c->n_witness_vkeys, sizeof sorted[0], cmp_str);
    for (i = 1; i < c->n_witness_vkeys; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0)
            return failf(err, err_len, "config: a witness is listed twice");
    sodium_bin2hex(vrf_hex, sizeof vrf_hex, c->vrf_public_key.data, PL_VRF_PUBLIC_KEY_BYTES);
    if (append(out, "origin %s\nlog_vkey %s\nvrf_public_key %s\n", c->origin, c->log_vkey,
               vrf_hex) != 0)
        return failf(err, err_len, "config: too long");
    for (i = 0; i < c->n_witness_vkeys; i++)
        if (append(out, "witness %s\n", sorted[i]) != 0)
            return failf(err, err_len, "config: too long");
    if (append(out, "quorum %" PRIu32 "\nmax_ahead_ms %" PRIu64 "\nmax_behind_ms %" PRIu64 "\n",
               c->quorum, c->max_ahead_ms, c->max_behind_ms) != 0)
        return failf(err, err_len, "config: too long");
    return 0;
}

int pl_audit_config_check(const Parley__KtConfig *c, const pl_note_verifier *me,
                          pl_audit_config *out, char *err, size_t err_len)
{
    int r = check(c, me, out, err, err_len);

    if (r != 0)
        memset(out, 0, sizeof *out);
    return r;
}
