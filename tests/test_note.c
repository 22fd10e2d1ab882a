/*
 * test_note.c: parley/note.h: C2SP signed notes, tlog-checkpoints and cosignature/v1.
 *
 * The signed-note example of c2sp.org/signed-note is read from the shared vectors
 * (../shared/vectors/c2sp/signed-note-example.json from the project root); the checkpoint
 * and the two signature lines of c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature are
 * typed in from those specifications. Everything else signs with fixed-seed keys.
 */
#include <sodium.h>

#include "fixture.h"

#define C2SP_VECTOR PARLEY_TEST_VECTORS_DIR "/../../../shared/vectors/c2sp/signed-note-example.json"
#define EM "\xE2\x80\x94"
#define NOTE_CAP (PL_NOTE_MAX_BYTES + 4096u)

/* c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature, "example.com/behind-the-sofa" */
static const char spec_checkpoint[] = "example.com/behind-the-sofa\n"
                                      "20852163\n"
                                      "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
static const char spec_log_line[] =
    EM " example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
       "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
static const char spec_cosig_line[] = EM
    " witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2o"
    "yin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

#define LOG_NAME "parley.example/kt/v1/0123456789abcdef"
#define WITNESS_NAME "witness.example/w1"

typedef struct key {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
} key;

static key key_make(uint8_t seed_byte)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    key k;

    memset(seed, seed_byte, sizeof seed);
    crypto_sign_seed_keypair(k.pk, k.sk, seed);
    return k;
}

static pl_note_verifier verifier(const char *name, uint8_t type, const key *k)
{
    pl_note_verifier v;

    FX_RC(pl_note_verifier_init(name, strlen(name), type, k->pk, &v), PL_OK);
    return v;
}

/* Signs text with k under name into a malloc'd NUL-terminated note. */
static char *sign(const char *text, const char *name, const key *k, size_t *len)
{
    char *note = fx_malloc(NOTE_CAP + 1);

    FX_RC(pl_note_sign(text, strlen(text), name, strlen(name), k->sk, note, NOTE_CAP, len), PL_OK);
    note[*len] = '\0';
    return note;
}

static int open_str(const char *note, const pl_note_verifier *v, size_t nv, pl_note_opened *o)
{
    return pl_note_open(note, strlen(note), v, nv, o);
}

/* ---- The C2SP example -------------------------------------------------------------------- */

/* Copies the JSON string value of "key" in json to out (UTF-8, NUL-terminated), decoding the
 * escapes the vector files use (\" \\ \/ \n \uXXXX of the BMP); returns its length. A test
 * helper only: it trusts the file's shape and fails the test when it is not as expected. */
static size_t json_string(const char *json, const char *name, char *out, size_t cap)
{
    char pattern[64];
    const char *p;
    size_t n = 0;

    snprintf(pattern, sizeof pattern, "\"%s\"", name);
    p = strstr(json, pattern);
    assert_non_null(p);
    p += strlen(pattern);
    while (*p == ' ' || *p == ':')
        p++;
    assert_int_equal(*p, '"');
    for (p++; *p != '"'; p++) {
        unsigned cp = (unsigned char)*p;

        assert_true(*p != '\0' && n + 4 < cap);
        if (*p == '\\') {
            p++;
            if (*p == 'n') {
                cp = '\n';
            } else if (*p == 'u') {
                char hex[5] = {0};

                memcpy(hex, p + 1, 4);
                cp = (unsigned)strtoul(hex, NULL, 16);
                p += 4;
            } else {
                cp = (unsigned char)*p;
            }
        }
        if (cp < 0x80) {
            out[n++] = (char)cp;
        } else if (cp < 0x800) {
            out[n++] = (char)(0xC0 | (cp >> 6));
            out[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[n++] = (char)(0xE0 | (cp >> 12));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    out[n] = '\0';
    return n;
}

static void c2sp_signed_note_example_verifies(void **state)
{
    char vkey[256], text[256], line[256], expect[16], note[600], again[PL_NOTE_VKEY_MAX_BYTES];
    size_t vkey_len, note_len, again_len;
    pl_note_verifier v;
    pl_note_opened o;
    uint8_t *file;
    size_t file_len;

    (void)state;
    file = tu_read_file(C2SP_VECTOR, &file_len);
    if (!file)
        fail_msg("cannot read %s", C2SP_VECTOR);
    vkey_len = json_string((const char *)file, "verifier_key", vkey, sizeof vkey);
    json_string((const char *)file, "note_text", text, sizeof text);
    json_string((const char *)file, "signature_line", line, sizeof line);
    json_string((const char *)file, "expect", expect, sizeof expect);
    free(file);
    assert_string_equal(expect, "verifies");

    FX_RC(pl_note_verifier_parse(vkey, vkey_len, &v), PL_OK);
    assert_string_equal(v.name, "example.com/foo");
    assert_int_equal(v.type, PL_NOTE_TYPE_ED25519);
    assert_int_equal(v.key_id, 0x530d903au);
    assert_int_equal(pl_note_key_id("example.com/foo", 15, 0x01, v.public_key), 0x530d903au);
    FX_RC(pl_note_verifier_format(&v, again, sizeof again, &again_len), PL_OK);
    assert_int_equal(again_len, vkey_len);
    assert_memory_equal(again, vkey, vkey_len);

    note_len = (size_t)snprintf(note, sizeof note, "%s\n%s\n", text, line);
    FX_RC(pl_note_open(note, note_len, &v, 1, &o), PL_OK);
    assert_int_equal(o.verified, 1u);
    assert_int_equal(o.signature_lines, 1u);
    assert_int_equal(o.text_len, strlen(text));
    assert_memory_equal(o.text, text, o.text_len);
    assert_ptr_equal(o.text, note);

    /* the same note under a key of another type, or with its text changed, is refused */
    v.type = PL_NOTE_TYPE_COSIGNATURE_V1;
    v.key_id = pl_note_key_id(v.name, v.name_len, v.type, v.public_key);
    FX_RC(pl_note_open(note, note_len, &v, 1, &o), PL_E_BAD_SIGNATURE);
    FX_ZEROED(&o, sizeof o);
    FX_RC(pl_note_verifier_parse(vkey, vkey_len, &v), PL_OK);
    note[0] ^= 0x20;
    FX_RC(pl_note_open(note, note_len, &v, 1, &o), PL_E_BAD_SIGNATURE);
}

/* ---- Verifier keys ------------------------------------------------------------------------- */

static void verifier_keys_round_trip_and_refusals(void **state)
{
    static const char good[] =
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    static const struct {
        const char *vkey;
        int want;
    } bad[] = {
        /* 1 */ {"example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
                 PL_E_MALFORMED},
        /* 2 */
        {"example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PL_E_MALFORMED},
        /* 3 */
        {"example.com/fop+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PL_E_MALFORMED},
        /* 4 */
        {"example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PL_E_MALFORMED},
        /* 5 */
        {"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2", PL_E_MALFORMED},
        /* 6 */
        {"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2=", PL_E_MALFORMED},
        /* 7 */
        {"example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PL_E_KEY_TYPE},
        /* 8 */ {"+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PL_E_MALFORMED},
        /* 9 */
        {"example.com foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PL_E_MALFORMED},
        /* 10 */ {"example.com/foo", PL_E_MALFORMED},
        /* 11 */
        {"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k\n", PL_E_MALFORMED},
        /* 12: a small-order point */
        {"example.com/foo+530d903a+AQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", PL_E_BAD_KEY},
    };
    char big[PL_NOTE_VKEY_MAX_BYTES + 2];
    pl_note_verifier v;

    (void)state;
    FX_RC(pl_note_verifier_parse(good, strlen(good), &v), PL_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&v, 0xA5, sizeof v);
        if (pl_note_verifier_parse(bad[i].vkey, strlen(bad[i].vkey), &v) != bad[i].want)
            fail_msg("case %zu: want %s", i + 1, pl_errname(bad[i].want));
        FX_ZEROED(&v, sizeof v);
    }
    memset(big, 'a', sizeof big);
    FX_RC(pl_note_verifier_parse(big, sizeof big, &v), PL_E_TOO_LARGE);

    /* a cosignature key (type 0x04) round trips through its vkey */
    {
        key w = key_make(0x44);
        pl_note_verifier wv = verifier(WITNESS_NAME, PL_NOTE_TYPE_COSIGNATURE_V1, &w), back;
        char text[PL_NOTE_VKEY_MAX_BYTES];
        size_t len;

        FX_RC(pl_note_verifier_format(&wv, text, sizeof text, &len), PL_OK);
        FX_RC(pl_note_verifier_parse(text, len, &back), PL_OK);
        assert_memory_equal(&back, &wv, sizeof back);
        FX_RC(pl_note_verifier_format(&wv, text, len - 1, &len), PL_E_BUFFER_TOO_SMALL);
        assert_int_equal(len, 0);
        FX_RC(pl_note_verifier_init("a+b", 3, 0x01, w.pk, &back), PL_E_INVALID_ARG);
        FX_RC(pl_note_verifier_init("ab", 2, 0x02, w.pk, &back), PL_E_KEY_TYPE);
        FX_RC(pl_note_verifier_init("a\xC2\xA0"
                                    "b",
                                    4, 0x01, w.pk, &back),
              PL_E_INVALID_ARG);
    }
}

/* ---- Signed notes ------------------------------------------------------------------------ */

static void sign_open_round_trip(void **state)
{
    key log = key_make(0x11);
    pl_note_verifier v = verifier(LOG_NAME, PL_NOTE_TYPE_ED25519, &log);
    const char *text = "hello\n\nworld\n";
    char expect_prefix[128], small[32];
    pl_note_opened o;
    size_t len;
    char *note = sign(text, LOG_NAME, &log, &len);

    (void)state;
    snprintf(expect_prefix, sizeof expect_prefix, "%s\n" EM " %s ", text, LOG_NAME);
    assert_memory_equal(note, expect_prefix, strlen(expect_prefix));
    assert_int_equal(note[len - 1], '\n');
    /* key id || 64-byte signature is 68 bytes: 92 base64 characters */
    assert_int_equal(len, strlen(expect_prefix) + 92 + 1);

    FX_RC(pl_note_open(note, len, &v, 1, &o), PL_OK);
    assert_int_equal(o.verified, 1u);
    assert_int_equal(o.text_len, strlen(text));
    assert_memory_equal(o.text, text, o.text_len);
    assert_int_equal(o.cosigned_at[0], 0);

    /* what was signed is the text itself, as RFC 8032 Ed25519 */
    {
        uint8_t payload[68];
        size_t bin_len;
        const char *b64 = note + strlen(expect_prefix);

        assert_int_equal(sodium_base642bin(payload, sizeof payload, b64, 92, NULL, &bin_len, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        assert_int_equal(((uint32_t)payload[0] << 24 | (uint32_t)payload[1] << 16 |
                          (uint32_t)payload[2] << 8 | payload[3]),
                         v.key_id);
        assert_int_equal(
            crypto_sign_verify_detached(payload + 4, (const uint8_t *)text, strlen(text), log.pk),
            0);
    }

    /* no verifier, or only unknown ones: refused */
    FX_RC(pl_note_open(note, len, NULL, 0, &o), PL_E_BAD_SIGNATURE);
    FX_RC(pl_note_open(note, len, &v, PL_NOTE_MAX_VERIFIERS + 1, &o), PL_E_INVALID_ARG);

    /* refused texts, names and buffers leave nothing behind */
    FX_RC(pl_note_sign("no newline", 10, "n", 1, log.sk, small, sizeof small, &len),
          PL_E_INVALID_ARG);
    FX_ZEROED(small, sizeof small);
    assert_int_equal(len, 0);
    FX_RC(pl_note_sign("", 0, "n", 1, log.sk, small, sizeof small, &len), PL_E_INVALID_ARG);
    FX_RC(pl_note_sign("a\rb\n", 4, "n", 1, log.sk, small, sizeof small, &len), PL_E_INVALID_ARG);
    FX_RC(pl_note_sign("a\n", 2, "a b", 3, log.sk, small, sizeof small, &len), PL_E_INVALID_ARG);
    FX_RC(pl_note_sign("a\n", 2, "", 0, log.sk, small, sizeof small, &len), PL_E_INVALID_ARG);
    FX_RC(pl_note_sign("a\n", 2, "n", 1, log.sk, small, sizeof small, &len), PL_E_BUFFER_TOO_SMALL);
    FX_ZEROED(small, sizeof small);
    free(note);
}

static void any_flipped_bit_is_refused(void **state)
{
    key log = key_make(0x11);
    pl_note_verifier v = verifier(LOG_NAME, PL_NOTE_TYPE_ED25519, &log);
    pl_note_opened o;
    size_t len;
    char *note = sign("example.com/log\n42\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
                      LOG_NAME, &log, &len);

    (void)state;
    FX_RC(pl_note_open(note, len, &v, 1, &o), PL_OK);
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            int r;

            note[i] ^= (char)(1u << bit);
            r = pl_note_open(note, len, &v, 1, &o);
            if (r != PL_E_MALFORMED && r != PL_E_BAD_SIGNATURE)
                fail_msg("byte %zu bit %u: %s", i, bit, pl_errname(r));
            FX_ZEROED(&o, sizeof o);
            note[i] ^= (char)(1u << bit);
        }
    }
    free(note);
}

static void unknown_signers_are_ignored(void **state)
{
    key log = key_make(0x11), other = key_make(0x22), w = key_make(0x44);
    pl_note_verifier v[2] = {verifier(LOG_NAME, PL_NOTE_TYPE_ED25519, &log),
                             verifier(WITNESS_NAME, PL_NOTE_TYPE_COSIGNATURE_V1, &w)};
    pl_note_verifier same_name = verifier(LOG_NAME, PL_NOTE_TYPE_ED25519, &other);
    char *ours, *theirs, *same, note[2 * NOTE_CAP];
    size_t ours_len, theirs_len, same_len;
    pl_note_opened o;
    const char *text = spec_checkpoint;

    (void)state;
    ours = sign(text, LOG_NAME, &log, &ours_len);
    theirs = sign(text, "other.example/log", &other, &theirs_len);
    same = sign(text, LOG_NAME, &other, &same_len); /* our name, another key id */

    /* the spec's own signature lines (unknown keys), another log's, a line under our name
     * with another key id, then ours */
    snprintf(note, sizeof note, "%s\n%s%s%s%s%s", text, spec_log_line, spec_cosig_line,
             theirs + strlen(text) + 1, same + strlen(text) + 1, ours + strlen(text) + 1);
    FX_RC(open_str(note, v, 2, &o), PL_OK);
    assert_int_equal(o.verified, 1u);
    assert_int_equal(o.signature_lines, 5u);
    assert_int_equal(o.text_len, strlen(text));

    /* only unknown signers: refused */
    snprintf(note, sizeof note, "%s\n%s%s", text, spec_log_line, spec_cosig_line);
    FX_RC(open_str(note, v, 2, &o), PL_E_BAD_SIGNATURE);

    /* a known key whose signature fails refuses the note, even beside a good one: a verifier
     * with our name and key id but another public key matches our line, which fails under it */
    same_name.key_id = v[0].key_id;
    memcpy(same_name.public_key, other.pk, sizeof other.pk);
    snprintf(note, sizeof note, "%s", ours);
    FX_RC(open_str(note, &same_name, 1, &o), PL_E_BAD_SIGNATURE);
    {
        pl_note_verifier both[2] = {v[0], same_name};

        FX_RC(open_str(note, both, 2, &o), PL_E_BAD_SIGNATURE);
        FX_ZEROED(&o, sizeof o);
    }
    free(ours);
    free(theirs);
    free(same);
}

static void malformed_notes_are_refused(void **state)
{
    key log = key_make(0x11);
    pl_note_verifier v = verifier(LOG_NAME, PL_NOTE_TYPE_ED25519, &log);
    size_t len, sig_at;
    char *good = sign("line one\nline two\n", LOG_NAME, &log, &len);
    const char *sig = NULL;
    char b64[128], note[1024];
    pl_note_opened o;
    /* '@' stands for "<name> <base64>" of a good signature, '#' for its base64 alone */
#define T(s)                                                                                       \
    {                                                                                              \
        s, sizeof s - 1                                                                            \
    }
    static const struct {
        const char *t;
        size_t len;
    } bad[] = {
        /* 1 no blank line */ T("text\n" EM " @\n"),
        /* 2 no final newline */ T("text\n\n" EM " @"),
        /* 3 hyphens */ T("text\n\n-- @\n"),
        /* 4 en dash */ T("text\n\n\xE2\x80\x93 @\n"),
        /* 5 no space after the dash */ T("text\n\n" EM "@\n"),
        /* 6 two spaces */ T("text\n\n" EM " " LOG_NAME "  #\n"),
        /* 7 NUL in the text */ T("te\0xt\n\n" EM " @\n"),
        /* 8 CRLF */ T("text\r\n\r\n" EM " @\r\n"),
        /* 9 CR before the signature's newline */ T("text\n\n" EM " @\r\n"),
        /* 10 a blank line after the signatures */ T("text\n\n" EM " @\n\n"),
        /* 11 text without a final newline */ T("text\n" EM " @\n"),
        /* 12 a tab */ T("te\txt\n\n" EM " @\n"),
        /* 13 invalid UTF-8 */ T("te\xFFxt\n\n" EM " @\n"),
        /* 14 overlong UTF-8 */ T("te\xC0\xAExt\n\n" EM " @\n"),
        /* 15 a truncated em dash */ T("text\n\n\xE2\x80 @\n"),
        /* 16 trailing bytes */ T("text\n\n" EM " @\nx"),
        /* 17 nothing after the blank line */ T("text\n\n"),
        /* 18 a NUL after the signatures */ T("text\n\n" EM " @\n\0"),
        /* 19 a NUL in the name */ T("text\n\n" EM " a\0b #\n"),
    };
#undef T

    (void)state;
    sig_at = strlen("line one\nline two\n\n" EM " " LOG_NAME " ");
    sig = good + sig_at;
    memcpy(b64, sig, len - sig_at - 1);
    b64[len - sig_at - 1] = '\0';
    FX_RC(pl_note_open(good, len, &v, 1, &o), PL_OK);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t note_len = 0;

        for (size_t j = 0; j < bad[i].len; j++) {
            const char *put = bad[i].t[j] == '@' ? LOG_NAME " " : "";

            if (bad[i].t[j] != '@' && bad[i].t[j] != '#') {
                note[note_len++] = bad[i].t[j];
                continue;
            }
            memcpy(note + note_len, put, strlen(put));
            note_len += strlen(put);
            memcpy(note + note_len, b64, strlen(b64));
            note_len += strlen(b64);
        }
        memset(&o, 0xA5, sizeof o);
        if (pl_note_open(note, note_len, &v, 1, &o) != PL_E_MALFORMED)
            fail_msg("case %zu is not refused as malformed", i + 1);
        FX_ZEROED(&o, sizeof o);
    }

    /* bad base64 in the signature line */
    {
        static const char *const bad_b64[] = {
            /* 1 */ "!",
            /* 2 */ "AAAAAAA",
            /* 3: unpadded */ "AAAAAAA",
            /* 4: too short */ "AAAA",
            /* 5: non-zero trailing bits */ "AAAAAAB=",
            /* 6: padding inside */ "AA==AAAA",
            /* 7: URL alphabet */ "AAAA-_AA",
            /* 8: empty */ "",
        };

        for (size_t i = 0; i < sizeof bad_b64 / sizeof bad_b64[0]; i++) {
            snprintf(note, sizeof note, "text\n\n" EM " %s %s\n", LOG_NAME, bad_b64[i]);
            if (open_str(note, &v, 1, &o) != PL_E_MALFORMED)
                fail_msg("base64 case %zu is not refused as malformed", i + 1);
        }
        /* a good signature spelled with a character changed to '!' */
        snprintf(note, sizeof note, "%s", good);
        note[sig_at + 10] = '!';
        FX_RC(open_str(note, &v, 1, &o), PL_E_MALFORMED);
        /* names: empty, with '+' */
        snprintf(note, sizeof note, "text\n\n" EM "  %s\n", b64);
        FX_RC(open_str(note, &v, 1, &o), PL_E_MALFORMED);
        snprintf(note, sizeof note, "text\n\n" EM " a+b %s\n", b64);
        FX_RC(open_str(note, &v, 1, &o), PL_E_MALFORMED);
    }
    free(good);
}

static void size_and_signature_limits(void **state)
{
    key log = key_make(0x11), other = key_make(0x22);
    pl_note_verifier v = verifier(LOG_NAME, PL_NOTE_TYPE_ED25519, &log);
    const char *text = "t\n";
    char *ours, *theirs, *note = fx_malloc(2 * NOTE_CAP), *big = fx_malloc(NOTE_CAP);
    size_t ours_len, theirs_len, off, line_len;
    pl_note_opened o;

    (void)state;
    ours = sign(text, LOG_NAME, &log, &ours_len);
    theirs = sign(text, "other.example/log", &other, &theirs_len);
    line_len = theirs_len - strlen(text) - 1;

    /* 16 signature lines must be accepted; PL_NOTE_MAX_SIGNATURES too; one more is refused */
    for (size_t lines = 16; lines <= PL_NOTE_MAX_SIGNATURES + 1; lines++) {
        off = (size_t)snprintf(note, NOTE_CAP, "%s", ours);
        for (size_t i = 1; i < lines; i++) {
            memcpy(note + off, theirs + strlen(text) + 1, line_len);
            off += line_len;
        }
        memset(&o, 0xA5, sizeof o);
        FX_RC(pl_note_open(note, off, &v, 1, &o),
              lines <= PL_NOTE_MAX_SIGNATURES ? PL_OK : PL_E_TOO_LARGE);
        if (lines <= PL_NOTE_MAX_SIGNATURES)
            assert_int_equal(o.signature_lines, lines);
        else
            FX_ZEROED(&o, sizeof o);
    }

    /* a note past PL_NOTE_MAX_BYTES, and a text too long to sign */
    memset(big, 'a', NOTE_CAP);
    big[PL_NOTE_MAX_BYTES] = '\n';
    FX_RC(pl_note_open(big, PL_NOTE_MAX_BYTES + 1, &v, 1, &o), PL_E_TOO_LARGE);
    FX_RC(pl_note_sign(big, PL_NOTE_MAX_BYTES + 1, "n", 1, log.sk, note, NOTE_CAP, &off),
          PL_E_TOO_LARGE);
    big[PL_NOTE_MAX_BYTES - 1] = '\n';
    FX_RC(pl_note_sign(big, PL_NOTE_MAX_BYTES, "n", 1, log.sk, note, NOTE_CAP, &off),
          PL_E_TOO_LARGE);
    /* the longest text that fits */
    big[PL_NOTE_MAX_BYTES - 1 - 1 - (4 + 1 + 1 + 92 + 1)] = '\n';
    FX_RC(pl_note_sign(big, PL_NOTE_MAX_BYTES - 1 - (4 + 1 + 1 + 92 + 1), "n", 1, log.sk, note,
                       NOTE_CAP, &off),
          PL_OK);
    assert_int_equal(off, PL_NOTE_MAX_BYTES);
    {
        pl_note_verifier n = verifier("n", PL_NOTE_TYPE_ED25519, &log);

        FX_RC(pl_note_open(note, off, &n, 1, &o), PL_OK);
    }
    free(ours);
    free(theirs);
    free(note);
    free(big);
}

/* ---- Checkpoints ------------------------------------------------------------------------- */

static void checkpoint_parse_format_round_trip(void **state)
{
    static const uint8_t spec_root[32] = {0x0a, 0xc5, 0x18, 0x6a, 0x91, 0x86, 0x3e, 0x8e,
                                          0x1d, 0x90, 0xc8, 0x08, 0x01, 0x4a, 0xa8, 0x9b,
                                          0xf5, 0xda, 0x8e, 0x3e, 0xe1, 0xd9, 0xf0, 0x76,
                                          0x30, 0xf0, 0x37, 0x8f, 0x68, 0xf1, 0xab, 0x62};
    static const char *const good[] = {
        spec_checkpoint,
        "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n18446744073709551615\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\n\xE2\x80\x94 ext two\n",
    };
    char out[512];
    size_t len;
    pl_checkpoint cp, back;

    (void)state;
    FX_RC(pl_checkpoint_parse(spec_checkpoint, strlen(spec_checkpoint), &cp), PL_OK);
    assert_string_equal(cp.origin, "example.com/behind-the-sofa");
    assert_int_equal(cp.origin_len, 27);
    assert_int_equal(cp.size, 20852163u);
    assert_memory_equal(cp.root, spec_root, 32);
    assert_null(cp.extensions);
    assert_int_equal(cp.extensions_len, 0);

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        FX_RC(pl_checkpoint_parse(good[i], strlen(good[i]), &cp), PL_OK);
        FX_RC(pl_checkpoint_format(&cp, out, sizeof out, &len), PL_OK);
        assert_int_equal(len, strlen(good[i]));
        assert_memory_equal(out, good[i], len);
        FX_RC(pl_checkpoint_parse(out, len, &back), PL_OK);
        assert_string_equal(back.origin, cp.origin);
        assert_int_equal(back.size, cp.size);
        assert_memory_equal(back.root, cp.root, 32);
        assert_int_equal(back.extensions_len, cp.extensions_len);
        FX_RC(pl_checkpoint_format(&cp, out, len - 1, &len), PL_E_BUFFER_TOO_SMALL);
        assert_int_equal(len, 0);
    }
    assert_int_equal(cp.size, 1);
    assert_string_equal(cp.extensions, "ext one\n\xE2\x80\x94 ext two\n");

    /* formatting refuses what parsing would */
    FX_RC(pl_checkpoint_parse(spec_checkpoint, strlen(spec_checkpoint), &cp), PL_OK);
    cp.origin_len = 0;
    FX_RC(pl_checkpoint_format(&cp, out, sizeof out, &len), PL_E_INVALID_ARG);
    cp.origin_len = 3;
    memcpy(cp.origin, "a\nb", 3);
    FX_RC(pl_checkpoint_format(&cp, out, sizeof out, &len), PL_E_INVALID_ARG);
    memcpy(cp.origin, "abc", 3);
    cp.extensions = "no newline";
    cp.extensions_len = 10;
    FX_RC(pl_checkpoint_format(&cp, out, sizeof out, &len), PL_E_INVALID_ARG);
    cp.extensions = "a\n\nb\n";
    cp.extensions_len = 5;
    FX_RC(pl_checkpoint_format(&cp, out, sizeof out, &len), PL_E_INVALID_ARG);
}

static void checkpoint_refusals(void **state)
{
#define ROOT "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    static const struct {
        const char *text;
        int want;
    } bad[] = {
        /* 1 leading zero */ {"o\n020852163\n" ROOT "\n", PL_E_MALFORMED},
        /* 2 zero, twice */ {"o\n00\n" ROOT "\n", PL_E_MALFORMED},
        /* 3 2^64 */ {"o\n18446744073709551616\n" ROOT "\n", PL_E_MALFORMED},
        /* 4 far past 2^64 */ {"o\n99999999999999999999999\n" ROOT "\n", PL_E_MALFORMED},
        /* 5 sign */ {"o\n+1\n" ROOT "\n", PL_E_MALFORMED},
        /* 6 minus */ {"o\n-1\n" ROOT "\n", PL_E_MALFORMED},
        /* 7 space */ {"o\n 1\n" ROOT "\n", PL_E_MALFORMED},
        /* 8 hex */ {"o\n0x10\n" ROOT "\n", PL_E_MALFORMED},
        /* 9 empty size */ {"o\n\n" ROOT "\n", PL_E_MALFORMED},
        /* 10 bad base64 */
        {"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2!=\n", PL_E_MALFORMED},
        /* 11 non-canonical */
        {"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n", PL_E_MALFORMED},
        /* 12 unpadded */ {"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n", PL_E_MALFORMED},
        /* 13 31 bytes */ {"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n", PL_E_MALFORMED},
        /* 14 33 bytes */ {"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2IA\n", PL_E_MALFORMED},
        /* 15 no root */ {"o\n1\n", PL_E_MALFORMED},
        /* 16 origin only */ {"o\n", PL_E_MALFORMED},
        /* 17 empty */ {"", PL_E_MALFORMED},
        /* 18 empty origin */ {"\n1\n" ROOT "\n", PL_E_MALFORMED},
        /* 19 no final newline */ {"o\n1\n" ROOT, PL_E_MALFORMED},
        /* 20 empty extension line */ {"o\n1\n" ROOT "\n\n", PL_E_MALFORMED},
        /* 21 empty line among extensions */ {"o\n1\n" ROOT "\na\n\nb\n", PL_E_MALFORMED},
        /* 22 extension without newline */ {"o\n1\n" ROOT "\nabc", PL_E_MALFORMED},
        /* 23 CRLF */ {"o\r\n1\r\n" ROOT "\r\n", PL_E_MALFORMED},
        /* 24 control character in origin */ {"o\x01\n1\n" ROOT "\n", PL_E_MALFORMED},
        /* 25 invalid UTF-8 */ {"o\xFE\n1\n" ROOT "\n", PL_E_MALFORMED},
        /* 26 a signed note, not a body */
        {"o\n1\n" ROOT "\n\n" EM " o AAAAAAAA\n", PL_E_MALFORMED},
    };
    char long_origin[PL_NOTE_NAME_MAX_BYTES + 64];
    pl_checkpoint cp;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&cp, 0xA5, sizeof cp);
        if (pl_checkpoint_parse(bad[i].text, strlen(bad[i].text), &cp) != bad[i].want)
            fail_msg("case %zu: want %s", i + 1, pl_errname(bad[i].want));
        FX_ZEROED(&cp, sizeof cp);
    }
    memset(long_origin, 'o', sizeof long_origin);
    snprintf(long_origin + PL_NOTE_NAME_MAX_BYTES + 1, 64, "\n1\n" ROOT "\n");
    FX_RC(pl_checkpoint_parse(long_origin, strlen(long_origin), &cp), PL_E_TOO_LARGE);
    snprintf(long_origin + PL_NOTE_NAME_MAX_BYTES, 64, "\n1\n" ROOT "\n");
    FX_RC(pl_checkpoint_parse(long_origin, strlen(long_origin), &cp), PL_OK);
    assert_int_equal(cp.origin_len, PL_NOTE_NAME_MAX_BYTES);
#undef ROOT
}

/* ---- Cosignatures ------------------------------------------------------------------------ */

/* Rebuilds a cosignature line with its timestamp replaced by t (signature unchanged). */
static size_t retime(const char *line, size_t len, uint64_t t, char *out, size_t cap)
{
    uint8_t payload[76];
    const char *b64 = strchr(line + 4, ' ') + 1;
    size_t bin_len, prefix = (size_t)(b64 - line);
    char enc[128];

    assert_int_equal(sodium_base642bin(payload, sizeof payload, b64, len - prefix - 1, NULL,
                                       &bin_len, NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(bin_len, 76);
    for (int i = 0; i < 8; i++)
        payload[4 + i] = (uint8_t)(t >> (56 - 8 * i));
    sodium_bin2base64(enc, sizeof enc, payload, sizeof payload, sodium_base64_VARIANT_ORIGINAL);
    return (size_t)snprintf(out, cap, "%.*s%s\n", (int)prefix, line, enc);
}

/* Signs a cosignature line by hand, with any time t (the library refuses t >= 2^63). */
static size_t cosign_by_hand(const char *cp, const char *name, const key *k, uint64_t t, char *out,
                             size_t cap)
{
    uint8_t payload[76], msg[512];
    char enc[128];
    uint32_t id = pl_note_key_id(name, strlen(name), PL_NOTE_TYPE_COSIGNATURE_V1, k->pk);
    int n = snprintf((char *)msg, sizeof msg, "cosignature/v1\ntime %llu\n%s",
                     (unsigned long long)t, cp);

    for (int i = 0; i < 4; i++)
        payload[i] = (uint8_t)(id >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        payload[4 + i] = (uint8_t)(t >> (56 - 8 * i));
    crypto_sign_detached(payload + 12, NULL, msg, (size_t)n, k->sk);
    sodium_bin2base64(enc, sizeof enc, payload, sizeof payload, sodium_base64_VARIANT_ORIGINAL);
    return (size_t)snprintf(out, cap, EM " %s %s\n", name, enc);
}

static void cosignature_round_trip_and_tampering(void **state)
{
    key log = key_make(0x11), w = key_make(0x44), w2 = key_make(0x55);
    pl_note_verifier lv = verifier(LOG_NAME, PL_NOTE_TYPE_ED25519, &log);
    pl_note_verifier wv = verifier(WITNESS_NAME, PL_NOTE_TYPE_COSIGNATURE_V1, &w);
    pl_note_verifier w2v = verifier("witness.example/w2", PL_NOTE_TYPE_COSIGNATURE_V1, &w2);
    const uint64_t t = 1679315147u;
    const char *cp = spec_checkpoint;
    size_t cp_len = strlen(cp), line_len, len;
    char line[256], other[256], text[256];
    uint64_t got;

    (void)state;
    FX_RC(pl_cosignature_sign(cp, cp_len, WITNESS_NAME, strlen(WITNESS_NAME), w.sk, t, line,
                              sizeof line, &line_len),
          PL_OK);
    /* key id || u64 time || signature: 76 bytes, 104 base64 characters */
    assert_int_equal(line_len, 4 + strlen(WITNESS_NAME) + 1 + 104 + 1);
    FX_RC(pl_cosignature_verify(&wv, cp, cp_len, line, line_len, &got), PL_OK);
    assert_int_equal(got, t);

    /* the signed message is "cosignature/v1\ntime <t>\n" || checkpoint */
    {
        uint8_t payload[76];
        size_t bin_len;
        char msg[256];
        int n = snprintf(msg, sizeof msg, "cosignature/v1\ntime 1679315147\n%s", cp);

        assert_int_equal(sodium_base642bin(payload, sizeof payload,
                                           line + 4 + strlen(WITNESS_NAME) + 1, 104, NULL, &bin_len,
                                           NULL, sodium_base64_VARIANT_ORIGINAL),
                         0);
        assert_int_equal(((uint32_t)payload[0] << 24 | (uint32_t)payload[1] << 16 |
                          (uint32_t)payload[2] << 8 | payload[3]),
                         wv.key_id);
        assert_int_equal(payload[4 + 7], t & 0xFF);
        assert_int_equal(
            crypto_sign_verify_detached(payload + 12, (const uint8_t *)msg, (size_t)n, w.pk), 0);
    }

    /* time */
    len = retime(line, line_len, t + 1, other, sizeof other);
    FX_RC(pl_cosignature_verify(&wv, cp, cp_len, other, len, &got), PL_E_BAD_SIGNATURE);
    assert_int_equal(got, 0);
    len = retime(line, line_len, PL_COSIGNATURE_MAX_TIME + 1, other, sizeof other);
    FX_RC(pl_cosignature_verify(&wv, cp, cp_len, other, len, &got), PL_E_BAD_SIGNATURE);
    /* a line signed by hand the same way verifies; signed with a time past 2^63 - 1, not */
    len = cosign_by_hand(cp, WITNESS_NAME, &w, t, other, sizeof other);
    assert_int_equal(len, line_len);
    assert_memory_equal(other, line, len);
    len = cosign_by_hand(cp, WITNESS_NAME, &w, PL_COSIGNATURE_MAX_TIME + 1, other, sizeof other);
    FX_RC(pl_cosignature_verify(&wv, cp, cp_len, other, len, &got), PL_E_BAD_SIGNATURE);
    len = cosign_by_hand(cp, WITNESS_NAME, &w, PL_COSIGNATURE_MAX_TIME, other, sizeof other);
    FX_RC(pl_cosignature_verify(&wv, cp, cp_len, other, len, &got), PL_OK);
    /* text */
    snprintf(text, sizeof text, "%s", cp);
    text[30] = '3';
    FX_RC(pl_cosignature_verify(&wv, text, cp_len, line, line_len, &got), PL_E_BAD_SIGNATURE);
    FX_RC(pl_cosignature_verify(&wv, cp, cp_len - 1, line, line_len, &got), PL_E_BAD_SIGNATURE);
    /* key: another witness, a note key, a forged key under the same name and id */
    FX_RC(pl_cosignature_verify(&w2v, cp, cp_len, line, line_len, &got), PL_E_IDENTITY_MISMATCH);
    FX_RC(pl_cosignature_verify(&lv, cp, cp_len, line, line_len, &got), PL_E_KEY_TYPE);
    {
        pl_note_verifier forged = wv;

        memcpy(forged.public_key, w2.pk, sizeof w2.pk);
        FX_RC(pl_cosignature_verify(&forged, cp, cp_len, line, line_len, &got), PL_E_BAD_SIGNATURE);
    }
    /* the line itself */
    FX_RC(pl_cosignature_verify(&wv, cp, cp_len, line, line_len - 1, &got), PL_E_MALFORMED);
    line[0] = '-';
    FX_RC(pl_cosignature_verify(&wv, cp, cp_len, line, line_len, &got), PL_E_MALFORMED);

    /* the largest time round trips; a larger one, a bad name or a non-checkpoint is refused */
    FX_RC(pl_cosignature_sign(cp, cp_len, WITNESS_NAME, strlen(WITNESS_NAME), w.sk,
                              PL_COSIGNATURE_MAX_TIME, line, sizeof line, &line_len),
          PL_OK);
    FX_RC(pl_cosignature_verify(&wv, cp, cp_len, line, line_len, &got), PL_OK);
    assert_int_equal(got, PL_COSIGNATURE_MAX_TIME);
    FX_RC(pl_cosignature_sign(cp, cp_len, WITNESS_NAME, strlen(WITNESS_NAME), w.sk,
                              PL_COSIGNATURE_MAX_TIME + 1, line, sizeof line, &line_len),
          PL_E_INVALID_ARG);
    FX_ZEROED(line, sizeof line);
    assert_int_equal(line_len, 0);
    FX_RC(pl_cosignature_sign(cp, cp_len, "w 1", 3, w.sk, t, line, sizeof line, &line_len),
          PL_E_INVALID_ARG);
    FX_RC(pl_cosignature_sign("hello\n", 6, "w", 1, w.sk, t, line, sizeof line, &line_len),
          PL_E_MALFORMED);
    FX_RC(pl_cosignature_sign(cp, cp_len, "w", 1, w.sk, t, line, 20, &line_len),
          PL_E_BUFFER_TOO_SMALL);
}

static void cosigned_checkpoint_opens(void **state)
{
    key log = key_make(0x11), w = key_make(0x44), w2 = key_make(0x55);
    pl_note_verifier v[3] = {verifier(LOG_NAME, PL_NOTE_TYPE_ED25519, &log),
                             verifier(WITNESS_NAME, PL_NOTE_TYPE_COSIGNATURE_V1, &w),
                             verifier("witness.example/w2", PL_NOTE_TYPE_COSIGNATURE_V1, &w2)};
    const char *cp = spec_checkpoint;
    char line[256], *note, full[1024];
    size_t len, line_len;
    pl_note_opened o;

    (void)state;
    note = sign(cp, LOG_NAME, &log, &len);
    FX_RC(pl_cosignature_sign(cp, strlen(cp), WITNESS_NAME, strlen(WITNESS_NAME), w.sk, 1700000000u,
                              line, sizeof line, &line_len),
          PL_OK);
    snprintf(full, sizeof full, "%s%.*s", note, (int)line_len, line);
    FX_RC(open_str(full, v, 3, &o), PL_OK);
    assert_int_equal(o.verified, 3u);
    assert_int_equal(o.cosigned_at[0], 0);
    assert_int_equal(o.cosigned_at[1], 1700000000u);
    assert_int_equal(o.cosigned_at[2], 0);
    /* the witness alone is enough for pl_note_open; a policy is the caller's */
    FX_RC(open_str(full, v + 1, 1, &o), PL_OK);
    assert_int_equal(o.verified, 1u);
    /* a cosignature carried over to another checkpoint fails */
    free(note);
    note = sign("example.com/behind-the-sofa\n20852164\n"
                "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
                LOG_NAME, &log, &len);
    snprintf(full, sizeof full, "%s%.*s", note, (int)line_len, line);
    FX_RC(open_str(full, v, 3, &o), PL_E_BAD_SIGNATURE);
    FX_RC(open_str(full, v, 1, &o), PL_OK);
    free(note);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(c2sp_signed_note_example_verifies),
        cmocka_unit_test(verifier_keys_round_trip_and_refusals),
        cmocka_unit_test(sign_open_round_trip),
        cmocka_unit_test(any_flipped_bit_is_refused),
        cmocka_unit_test(unknown_signers_are_ignored),
        cmocka_unit_test(malformed_notes_are_refused),
        cmocka_unit_test(size_and_signature_limits),
        cmocka_unit_test(checkpoint_parse_format_round_trip),
        cmocka_unit_test(checkpoint_refusals),
        cmocka_unit_test(cosignature_round_trip_and_tampering),
        cmocka_unit_test(cosigned_checkpoint_opens),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
