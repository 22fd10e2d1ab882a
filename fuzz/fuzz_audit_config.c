/*
 * fuzz_audit_config.c: the auditor's check of a hostile KtConfig before it pins it
 * (src/audit/log_config.c).
 *
 * Input: the KtConfig's protobuf encoding. The auditor's own witness key is the fixed
 * cosignature key of seed 0x44 named "audit.example.org/w1" (gen_corpus.c writes configs
 * listing it, made from the log key of seed 0x11 and the VRF key of seed 0x22).
 *
 * Invariants: on refusal an error sentence and a zeroed result; on acceptance the origin is
 * the log key's name and ends in /kt/v1/ and 16 hex digits, the canonical text is
 * NUL-terminated, fits, holds one line per field and per witness, and is the same whatever
 * the order of the witnesses (checking the config with them reversed gives the same text).
 */
#include <string.h>

#include "fuzz.h"
#include "log_config.h"
#include "parley.pb-c.h"

#define ME_NAME "audit.example.org/w1"

static const pl_note_verifier *me(void)
{
    static pl_note_verifier v;
    static int ready;
    uint8_t seed[32], pk[32], sk[64];

    if (!ready) {
        memset(seed, 0x44, sizeof seed);
        crypto_sign_seed_keypair(pk, sk, seed);
        FZ_CHECK(pl_note_verifier_init(ME_NAME, strlen(ME_NAME), PL_NOTE_TYPE_COSIGNATURE_V1, pk,
                                       &v) == PL_OK);
        ready = 1;
    }
    return &v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pl_audit_config out, again;
    Parley__KtConfig *c;
    char err[256];
    size_t lines = 0;
    int r;

    FZ_CHECK(pl_init() == PL_OK);
    if (!(c = parley__kt_config__unpack(NULL, size, data)))
        return 0;
    err[0] = '\0';
    r = pl_audit_config_check(c, me(), &out, err, sizeof err);
    if (r != 0) {
        FZ_CHECK(r == -1 && err[0] != '\0');
        FZ_CHECK(fz_is_zero(&out, sizeof out));
        goto done;
    }
    FZ_CHECK(out.origin_len > 0 && out.origin_len <= PL_NOTE_NAME_MAX_BYTES);
    FZ_CHECK(out.log_key.type == PL_NOTE_TYPE_ED25519);
    FZ_CHECK(out.log_key.name_len == out.origin_len &&
             memcmp(out.log_key.name, out.origin, out.origin_len) == 0);
    FZ_CHECK(out.origin_len > 23 && memcmp(out.origin + out.origin_len - 23, "/kt/v1/", 7) == 0);
    FZ_CHECK(out.text_len < sizeof out.text && out.text[out.text_len] == '\0' &&
             strlen(out.text) == out.text_len);
    for (size_t i = 0; i < out.text_len; i++)
        lines += out.text[i] == '\n';
    FZ_CHECK(lines == 6 + c->n_witness_vkeys);
    FZ_CHECK(c->quorum <= c->n_witness_vkeys);
    /* the witnesses' order does not change the pinned text */
    for (size_t i = 0, j = c->n_witness_vkeys; i + 1 < j; i++, j--) {
        char *t = c->witness_vkeys[i];

        c->witness_vkeys[i] = c->witness_vkeys[j - 1];
        c->witness_vkeys[j - 1] = t;
    }
    FZ_CHECK(pl_audit_config_check(c, me(), &again, err, sizeof err) == 0);
    FZ_CHECK(again.text_len == out.text_len && memcmp(again.text, out.text, out.text_len) == 0);
    FZ_CHECK(again.lists_me == out.lists_me);
done:
    parley__kt_config__free_unpacked(c, NULL);
    return 0;
}
