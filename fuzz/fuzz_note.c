/*
 * fuzz_note.c: parley/note.h on hostile bytes: pl_note_open() under fixed verifiers,
 * pl_checkpoint_parse(), pl_note_verifier_parse() and pl_cosignature_verify().
 *
 * The verifiers: the C2SP signed-note example key (example.com/foo), a log key and a witness
 * cosignature key made from fixed seeds (0x11 and 0x44, as tests/test_note.c). The seeds in
 * fuzz/corpus/note/ are the C2SP example note, checkpoints signed by that log key and
 * cosigned by that witness, bare checkpoints and vkeys.
 *
 * Invariants: only the documented codes; a failed call leaves its output zeroed. An opened
 * note's text is a prefix of the input ending in "\n", only given verifiers are reported and
 * only cosignature keys carry a time. An accepted checkpoint or vkey formats back to exactly
 * the input bytes.
 */
#include <string.h>

#include <sodium.h>

#include "fuzz.h"

#define LOG_NAME "parley.example/kt/v1/0123456789abcdef"
#define WITNESS_NAME "witness.example/w1"
#define C2SP_VKEY "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
#define NV 3

static const char checkpoint[] = "example.com/behind-the-sofa\n"
                                 "20852163\n"
                                 "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

static const pl_note_verifier *verifiers(void)
{
    static pl_note_verifier v[NV];
    static int ready;
    uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES],
        sk[crypto_sign_SECRETKEYBYTES];

    if (ready)
        return v;
    FZ_CHECK(pl_init() == PL_OK);
    FZ_CHECK(pl_note_verifier_parse(C2SP_VKEY, strlen(C2SP_VKEY), &v[0]) == PL_OK);
    memset(seed, 0x11, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    FZ_CHECK(pl_note_verifier_init(LOG_NAME, strlen(LOG_NAME), PL_NOTE_TYPE_ED25519, pk, &v[1]) ==
             PL_OK);
    memset(seed, 0x44, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    FZ_CHECK(pl_note_verifier_init(WITNESS_NAME, strlen(WITNESS_NAME), PL_NOTE_TYPE_COSIGNATURE_V1,
                                   pk, &v[2]) == PL_OK);
    ready = 1;
    return v;
}

static void check_open(const uint8_t *data, size_t size)
{
    const pl_note_verifier *v = verifiers();
    pl_note_opened o;
    pl_checkpoint cp;
    int rc;

    memset(&o, 0xA5, sizeof o);
    rc = pl_note_open((const char *)data, size, v, NV, &o);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(rc == PL_E_MALFORMED || rc == PL_E_BAD_SIGNATURE || rc == PL_E_TOO_LARGE);
        FZ_CHECK(fz_is_zero(&o, sizeof o));
        return;
    }
    FZ_CHECK(o.text == (const char *)data && o.text_len >= 1 && o.text_len + 2 < size);
    FZ_CHECK(o.text[o.text_len - 1] == '\n' && o.text[o.text_len] == '\n');
    FZ_CHECK(o.verified != 0 && (o.verified >> NV) == 0);
    FZ_CHECK(o.signature_lines >= 1 && o.signature_lines <= PL_NOTE_MAX_SIGNATURES);
    for (size_t i = 0; i < NV; i++)
        FZ_CHECK(v[i].type == PL_NOTE_TYPE_COSIGNATURE_V1 || o.cosigned_at[i] == 0);
    for (size_t i = NV; i < PL_NOTE_MAX_VERIFIERS; i++)
        FZ_CHECK(o.cosigned_at[i] == 0);
    FZ_CHECK(o.cosigned_at[2] <= PL_COSIGNATURE_MAX_TIME);
    /* what one verifier accepted, it accepts alone */
    for (size_t i = 0; i < NV; i++) {
        pl_note_opened one;

        if (o.verified & (1u << i)) {
            FZ_CHECK(pl_note_open((const char *)data, size, &v[i], 1, &one) == PL_OK);
            FZ_CHECK(one.verified == 1u && one.cosigned_at[0] == o.cosigned_at[i]);
        }
    }
    /* a witness cosigns checkpoints only, and the library makes no other kind */
    if (o.verified & 4u)
        FZ_CHECK_RC(pl_checkpoint_parse(o.text, o.text_len, &cp));
}

static void check_checkpoint(const uint8_t *data, size_t size)
{
    pl_checkpoint cp;
    char *again;
    size_t len = 0;
    int rc;

    memset(&cp, 0xA5, sizeof cp);
    rc = pl_checkpoint_parse((const char *)data, size, &cp);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(rc == PL_E_MALFORMED || rc == PL_E_TOO_LARGE);
        FZ_CHECK(fz_is_zero(&cp, sizeof cp));
        return;
    }
    FZ_CHECK(cp.origin_len >= 1 && cp.origin_len <= PL_NOTE_NAME_MAX_BYTES);
    FZ_CHECK(cp.origin[cp.origin_len] == '\0');
    FZ_CHECK(cp.extensions == NULL ||
             cp.extensions + cp.extensions_len == (const char *)data + size);
    again = (char *)fz_alloc(size);
    FZ_CHECK(pl_checkpoint_format(&cp, again, size, &len) == PL_OK);
    FZ_CHECK(len == size && memcmp(again, data, size) == 0);
    if (size > 0)
        FZ_CHECK(pl_checkpoint_format(&cp, again, size - 1, &len) == PL_E_BUFFER_TOO_SMALL);
    free(again);
}

static void check_vkey(const uint8_t *data, size_t size)
{
    pl_note_verifier v;
    char *again;
    size_t len = 0;
    int rc;

    memset(&v, 0xA5, sizeof v);
    rc = pl_note_verifier_parse((const char *)data, size, &v);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(rc == PL_E_MALFORMED || rc == PL_E_TOO_LARGE || rc == PL_E_KEY_TYPE ||
                 rc == PL_E_BAD_KEY);
        FZ_CHECK(fz_is_zero(&v, sizeof v));
        return;
    }
    FZ_CHECK(v.type == PL_NOTE_TYPE_ED25519 || v.type == PL_NOTE_TYPE_COSIGNATURE_V1);
    FZ_CHECK(v.key_id == pl_note_key_id(v.name, v.name_len, v.type, v.public_key));
    again = (char *)fz_alloc(size);
    FZ_CHECK(pl_note_verifier_format(&v, again, size, &len) == PL_OK);
    FZ_CHECK(len == size && memcmp(again, data, size) == 0);
    free(again);
}

static void check_cosignature_line(const uint8_t *data, size_t size)
{
    uint64_t t = 1;
    int rc = pl_cosignature_verify(&verifiers()[2], checkpoint, sizeof checkpoint - 1,
                                   (const char *)data, size, &t);

    FZ_CHECK_RC(rc);
    FZ_CHECK(rc == PL_OK || rc == PL_E_MALFORMED || rc == PL_E_TOO_LARGE ||
             rc == PL_E_IDENTITY_MISMATCH || rc == PL_E_BAD_SIGNATURE);
    FZ_CHECK(rc == PL_OK ? t <= PL_COSIGNATURE_MAX_TIME : t == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_open(data, size);
    check_checkpoint(data, size);
    check_vkey(data, size);
    check_cosignature_line(data, size);
    return 0;
}
