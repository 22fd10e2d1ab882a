/*
 * note.c: C2SP signed notes, tlog-checkpoints and cosignature/v1 (parley/note.h,
 * docs/PROTOCOL.md §18).
 *
 * Signed note (c2sp.org/signed-note):
 *   note      = text "\n" 1*sigline          text: UTF-8 ending in "\n"; the separator
 *                                             is the note's last blank line
 *   sigline   = "\xE2\x80\x94" " " name " " base64(key id[4] || signature) "\n"
 *   key id    = SHA-256(name || 0x0A || type || public key)[0:4]
 * The whole note is UTF-8 with no control character but "\n" (so no NUL, no CR).
 *
 * Checkpoint (c2sp.org/tlog-checkpoint): "<origin>\n<size>\n<base64 root>\n" *(ext "\n").
 * cosignature/v1 (c2sp.org/tlog-cosignature): type 0x04; the signed message is
 *   "cosignature/v1\ntime " decimal(T) "\n" || checkpoint text
 * and the signature carries key id || u64 T || Ed25519 signature (76 bytes).
 *
 * Parsing checks every byte of the grammar before any signature is verified, and every
 * base64 string must be the one canonical, padded encoding of its bytes, so that a note has
 * exactly one spelling.
 */
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "parley/error.h"
#include "parley/note.h"

#define SIG_PREFIX "\xE2\x80\x94 " /* em dash U+2014, space */
#define SIG_PREFIX_BYTES 4u
#define KEY_ID_BYTES 4u
#define NOTE_SIG_PAYLOAD_BYTES (KEY_ID_BYTES + crypto_sign_BYTES)   /* type 0x01: 68 */
#define COSIG_PAYLOAD_BYTES (KEY_ID_BYTES + 8u + crypto_sign_BYTES) /* type 0x04: 76 */
#define COSIG_HEADER "cosignature/v1\ntime "
#define COSIG_HEADER_BYTES (sizeof COSIG_HEADER - 1u)
#define U64_DIGITS_MAX 20u
#define COSIG_MESSAGE_MAX (COSIG_HEADER_BYTES + U64_DIGITS_MAX + 1u + PL_NOTE_MAX_BYTES)
#define VKEY_KEY_BYTES (1u + PL_NOTE_ED25519_PUBLIC_KEY_BYTES) /* type || public key */
#define VKEY_KEY_B64_BYTES 44u
#define ROOT_B64_BYTES 44u
/* base64 of the longest payload we encode, with libsodium's NUL */
#define B64_BUF_BYTES                                                                              \
    (sodium_base64_ENCODED_LEN(COSIG_PAYLOAD_BYTES, sodium_base64_VARIANT_ORIGINAL))

/* One parsed signature line; every pointer points into the note. */
typedef struct sig_line {
    const char *name;
    size_t name_len;
    const char *b64;
    size_t b64_len;
    size_t payload_len; /* decoded bytes, key id included */
    uint32_t key_id;
} sig_line;

/* ---- Text ---------------------------------------------------------------------------------- */

/* Decodes one UTF-8 sequence from p[0..n) (n >= 1) into *cp and returns its length, or 0 for
 * an invalid one: truncated, overlong, a surrogate, or above U+10FFFF. */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint32_t c;
    size_t len;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        len = 2;
        c = p[0] & 0x1Fu;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        len = 3;
        c = p[0] & 0x0Fu;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        len = 4;
        c = p[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3Fu);
    }
    if (len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF)))
        return 0;
    if (len == 4 && (c < 0x10000 || c > 0x10FFFF))
        return 0;
    *cp = c;
    return len;
}

/* PL_OK if p[0..n) is UTF-8 with no control character (below U+0020) but "\n". */
static int text_check(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t off = 0, step;
    uint32_t cp;

    while (off < n) {
        if (!(step = utf8_next(p + off, n - off, &cp)))
            return PL_E_MALFORMED;
        if (cp < 0x20 && cp != '\n')
            return PL_E_MALFORMED;
        off += step;
    }
    return PL_OK;
}

/* The Unicode White_Space characters (Go's unicode.IsSpace), which a key name may not hold. */
static int is_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

/* 1 if s[0..n) is a key name: 1..PL_NOTE_NAME_MAX_BYTES bytes of UTF-8 with no control
 * character, no Unicode space and no '+'. */
static int name_ok(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t off = 0, step;
    uint32_t cp;

    if (n == 0 || n > PL_NOTE_NAME_MAX_BYTES)
        return 0;
    while (off < n) {
        if (!(step = utf8_next(p + off, n - off, &cp)))
            return 0;
        if (cp < 0x20 || cp == 0x7F || cp == '+' || is_space(cp))
            return 0;
        off += step;
    }
    return 1;
}

/* Writes v in decimal (no leading zero) to out and returns the digit count. */
static size_t u64_format(uint64_t v, char out[U64_DIGITS_MAX])
{
    char tmp[U64_DIGITS_MAX];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* 1 and *v if s[0..n) is a decimal u64 with no sign and no leading zero (but "0"). */
static int u64_parse(const char *s, size_t n, uint64_t *v)
{
    uint64_t acc = 0;

    *v = 0;
    if (n == 0 || n > U64_DIGITS_MAX || (n > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');

        if (s[i] < '0' || s[i] > '9' || acc > (UINT64_MAX - d) / 10u)
            return 0;
        acc = acc * 10u + d;
    }
    *v = acc;
    return 1;
}

/* ---- Base64 (RFC 4648 §4, padded) -------------------------------------------------------- */

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* 1 and the decoded length if s[0..n) is canonical padded base64: a multiple of four
 * characters, '=' only as the last one or two, and zero bits after the last byte (so
 * exactly one string encodes given bytes). */
static int b64_ok(const char *s, size_t n, size_t *decoded)
{
    size_t pad = 0;

    *decoded = 0;
    if (n == 0 || n % 4u != 0)
        return 0;
    if (s[n - 1] == '=')
        pad = s[n - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < n - pad; i++)
        if (b64_value(s[i]) < 0)
            return 0;
    if (pad == 1 && (b64_value(s[n - 2]) & 0x03) != 0)
        return 0;
    if (pad == 2 && (b64_value(s[n - 3]) & 0x0F) != 0)
        return 0;
    *decoded = n / 4u * 3u - pad;
    return 1;
}

/* Decodes canonical base64 s[0..n) that must hold exactly `want` bytes into out. */
static int b64_decode_exact(const char *s, size_t n, uint8_t *out, size_t want)
{
    size_t decoded, bin_len = 0;

    if (!b64_ok(s, n, &decoded) || decoded != want)
        return PL_E_MALFORMED;
    if (sodium_base642bin(out, want, s, n, NULL, &bin_len, NULL, sodium_base64_VARIANT_ORIGINAL) !=
            0 ||
        bin_len != want)
        return PL_E_MALFORMED;
    return PL_OK;
}

/* Appends base64(in[0..n)) (n <= COSIG_PAYLOAD_BYTES) to w. */
static void put_b64(pl__writer *w, const uint8_t *in, size_t n)
{
    char b64[B64_BUF_BYTES];

    if (n > COSIG_PAYLOAD_BYTES)
        sodium_misuse();
    sodium_bin2base64(b64, sizeof b64, in, n, sodium_base64_VARIANT_ORIGINAL);
    pl__put_bytes(w, b64, strlen(b64));
}

/* ---- Keys and signature lines ------------------------------------------------------------ */

uint32_t pl_note_key_id(const char *name, size_t name_len, uint8_t type,
                        const uint8_t public_key[PL_NOTE_ED25519_PUBLIC_KEY_BYTES])
{
    static const uint8_t newline = 0x0A;
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)name, name_len);
    crypto_hash_sha256_update(&st, &newline, 1);
    crypto_hash_sha256_update(&st, &type, 1);
    crypto_hash_sha256_update(&st, public_key, PL_NOTE_ED25519_PUBLIC_KEY_BYTES);
    crypto_hash_sha256_final(&st, h);
    return ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) | ((uint32_t)h[2] << 8) | h[3];
}

/* The length of the signature line for a name and a payload of n bytes. */
static size_t sig_line_len(size_t name_len, size_t n)
{
    return SIG_PREFIX_BYTES + name_len + 1u + (n + 2u) / 3u * 4u + 1u;
}

/* Appends "— name base64(payload)\n" to w. */
static void put_sig_line(pl__writer *w, const char *name, size_t name_len, const uint8_t *payload,
                         size_t n)
{
    pl__put_bytes(w, SIG_PREFIX, SIG_PREFIX_BYTES);
    pl__put_bytes(w, name, name_len);
    pl__put_u8(w, ' ');
    put_b64(w, payload, n);
    pl__put_u8(w, '\n');
}

/* Parses one signature line s[0..n) (without its "\n", already UTF-8 and control-checked):
 * prefix, a valid name, one space, canonical base64 of at least key id + 1 bytes. */
static int sig_line_parse(const char *s, size_t n, sig_line *out)
{
    const char *rest, *space;
    size_t rest_len;
    uint64_t id = 0;

    memset(out, 0, sizeof *out);
    if (n < SIG_PREFIX_BYTES || memcmp(s, SIG_PREFIX, SIG_PREFIX_BYTES) != 0)
        return PL_E_MALFORMED;
    rest = s + SIG_PREFIX_BYTES;
    rest_len = n - SIG_PREFIX_BYTES;
    if (!(space = memchr(rest, ' ', rest_len)))
        return PL_E_MALFORMED;
    out->name = rest;
    out->name_len = (size_t)(space - rest);
    out->b64 = space + 1;
    out->b64_len = rest_len - out->name_len - 1u;
    if (!name_ok(out->name, out->name_len) || !b64_ok(out->b64, out->b64_len, &out->payload_len) ||
        out->payload_len < KEY_ID_BYTES + 1u)
        return PL_E_MALFORMED;
    /* the first six characters are data (the payload has at least five bytes): 36 bits */
    for (size_t i = 0; i < 6; i++)
        id = (id << 6) | (uint64_t)b64_value(out->b64[i]);
    out->key_id = (uint32_t)(id >> 4);
    return PL_OK;
}

/* 1 if line s names the key of v. */
static int sig_line_matches(const sig_line *s, const pl_note_verifier *v)
{
    return s->name_len == v->name_len && memcmp(s->name, v->name, s->name_len) == 0 &&
           s->key_id == v->key_id;
}

/* Writes "cosignature/v1\ntime T\n" || text to msg and returns its length. */
static size_t cosig_message(uint8_t msg[COSIG_MESSAGE_MAX], uint64_t t, const char *text,
                            size_t text_len)
{
    pl__writer w = pl__writer_init(msg, COSIG_MESSAGE_MAX);
    char digits[U64_DIGITS_MAX];
    size_t n = u64_format(t, digits);

    pl__put_bytes(&w, COSIG_HEADER, COSIG_HEADER_BYTES);
    pl__put_bytes(&w, digits, n);
    pl__put_u8(&w, '\n');
    pl__put_bytes(&w, text, text_len);
    if (w.err) /* text_len <= PL_NOTE_MAX_BYTES always fits */
        sodium_misuse();
    return w.off;
}

/* Verifies line s, which names v's key, over text (at most PL_NOTE_MAX_BYTES). Returns PL_OK
 * and *t (0 for a note signature), or PL_E_BAD_SIGNATURE. */
static int sig_line_verify(const sig_line *s, const pl_note_verifier *v, const char *text,
                           size_t text_len, uint64_t *t)
{
    uint8_t payload[COSIG_PAYLOAD_BYTES];
    uint8_t msg[COSIG_MESSAGE_MAX];
    pl__reader rd;
    size_t msg_len;
    int r;

    *t = 0;
    r = PL_E_BAD_SIGNATURE;
    if (v->type == PL_NOTE_TYPE_ED25519) {
        if (b64_decode_exact(s->b64, s->b64_len, payload, NOTE_SIG_PAYLOAD_BYTES) != PL_OK)
            goto out;
        if (crypto_sign_verify_detached(payload + KEY_ID_BYTES, (const uint8_t *)text, text_len,
                                        v->public_key) != 0)
            goto out;
    } else if (v->type == PL_NOTE_TYPE_COSIGNATURE_V1) {
        uint64_t when;

        if (b64_decode_exact(s->b64, s->b64_len, payload, COSIG_PAYLOAD_BYTES) != PL_OK)
            goto out;
        rd = pl__reader_init(payload + KEY_ID_BYTES, 8);
        when = pl__get_u64(&rd);
        if (when > PL_COSIGNATURE_MAX_TIME)
            goto out;
        msg_len = cosig_message(msg, when, text, text_len);
        if (crypto_sign_verify_detached(payload + KEY_ID_BYTES + 8u, msg, msg_len, v->public_key) !=
            0)
            goto out;
        *t = when;
    } else {
        goto out;
    }
    r = PL_OK;
out:
    return r;
}

/* ---- Verifier keys ------------------------------------------------------------------------- */

int pl_note_verifier_init(const char *name, size_t name_len, uint8_t type,
                          const uint8_t public_key[32], pl_note_verifier *out)
{
    pl_note_verifier v;
    int r;

    memset(out, 0, sizeof *out);
    memset(&v, 0, sizeof v);
    r = PL_E_INVALID_ARG;
    if (!name || !name_ok(name, name_len))
        goto out;
    r = PL_E_KEY_TYPE;
    if (type != PL_NOTE_TYPE_ED25519 && type != PL_NOTE_TYPE_COSIGNATURE_V1)
        goto out;
    r = PL_E_BAD_KEY;
    if (!crypto_core_ed25519_is_valid_point(public_key))
        goto out;
    memcpy(v.name, name, name_len);
    v.name_len = name_len;
    v.type = type;
    memcpy(v.public_key, public_key, sizeof v.public_key);
    v.key_id = pl_note_key_id(name, name_len, type, public_key);
    *out = v;
    r = PL_OK;
out:
    return r;
}

/* 1 and *v if s[0..8) is eight lowercase hex digits. */
static int hex32_parse(const char *s, uint32_t *v)
{
    uint32_t acc = 0;

    for (size_t i = 0; i < 8; i++) {
        uint32_t d;

        if (s[i] >= '0' && s[i] <= '9')
            d = (uint32_t)(s[i] - '0');
        else if (s[i] >= 'a' && s[i] <= 'f')
            d = (uint32_t)(s[i] - 'a' + 10);
        else
            return 0;
        acc = (acc << 4) | d;
    }
    *v = acc;
    return 1;
}

int pl_note_verifier_parse(const char *vkey, size_t len, pl_note_verifier *out)
{
    uint8_t key[VKEY_KEY_BYTES];
    pl_note_verifier v;
    const char *plus, *hex, *b64;
    size_t name_len;
    uint32_t id;
    int r;

    memset(out, 0, sizeof *out);
    memset(&v, 0, sizeof v);
    r = PL_E_TOO_LARGE;
    if (len > PL_NOTE_VKEY_MAX_BYTES)
        goto out;
    /* <name>+<hex>+<base64>: the name has no '+', so the first one ends it */
    r = PL_E_MALFORMED;
    if (!(plus = memchr(vkey, '+', len)))
        goto out;
    name_len = (size_t)(plus - vkey);
    hex = plus + 1;
    b64 = hex + 9;
    if (!name_ok(vkey, name_len) || len - name_len - 1u != 9u + VKEY_KEY_B64_BYTES ||
        hex[8] != '+' || !hex32_parse(hex, &id))
        goto out;
    if ((r = b64_decode_exact(b64, VKEY_KEY_B64_BYTES, key, sizeof key)) != PL_OK)
        goto out;
    if ((r = pl_note_verifier_init(vkey, name_len, key[0], key + 1, &v)) != PL_OK)
        goto out;
    r = PL_E_MALFORMED;
    if (v.key_id != id)
        goto out;
    *out = v;
    r = PL_OK;
out:
    return r;
}

int pl_note_verifier_format(const pl_note_verifier *v, char *out, size_t cap, size_t *out_len)
{
    static const char hexdigits[] = "0123456789abcdef";
    pl__writer w = pl__writer_init((uint8_t *)out, cap);
    uint8_t key[VKEY_KEY_BYTES];

    *out_len = 0;
    key[0] = v->type;
    memcpy(key + 1, v->public_key, PL_NOTE_ED25519_PUBLIC_KEY_BYTES);
    pl__put_bytes(&w, v->name, v->name_len);
    pl__put_u8(&w, '+');
    for (int shift = 28; shift >= 0; shift -= 4)
        pl__put_u8(&w, (uint8_t)hexdigits[(v->key_id >> shift) & 0x0Fu]);
    pl__put_u8(&w, '+');
    put_b64(&w, key, sizeof key);
    if (w.err)
        return w.err;
    *out_len = w.off;
    return PL_OK;
}

/* ---- Signed notes ------------------------------------------------------------------------ */

int pl_note_sign(const char *text, size_t text_len, const char *name, size_t name_len,
                 const uint8_t sk[PL_NOTE_ED25519_SECRET_KEY_BYTES], char *out, size_t cap,
                 size_t *out_len)
{
    uint8_t payload[NOTE_SIG_PAYLOAD_BYTES];
    pl__writer w = pl__writer_init((uint8_t *)out, cap);
    pl__writer id = pl__writer_init(payload, KEY_ID_BYTES);
    int r;

    *out_len = 0;
    r = PL_E_TOO_LARGE;
    if (text_len > PL_NOTE_MAX_BYTES)
        goto out;
    r = PL_E_INVALID_ARG;
    if (!text || text_len == 0 || text[text_len - 1] != '\n' ||
        text_check(text, text_len) != PL_OK || !name || !name_ok(name, name_len))
        goto out;
    r = PL_E_TOO_LARGE;
    if (text_len + 1u + sig_line_len(name_len, sizeof payload) > PL_NOTE_MAX_BYTES)
        goto out;
    /* libsodium's secret key is seed || public key */
    pl__put_u32(&id,
                pl_note_key_id(name, name_len, PL_NOTE_TYPE_ED25519, sk + crypto_sign_SEEDBYTES));
    crypto_sign_detached(payload + KEY_ID_BYTES, NULL, (const uint8_t *)text, text_len, sk);
    pl__put_bytes(&w, text, text_len);
    pl__put_u8(&w, '\n');
    put_sig_line(&w, name, name_len, payload, sizeof payload);
    if ((r = w.err) != PL_OK)
        goto out;
    *out_len = w.off;
    r = PL_OK;
out:
    if (r != PL_OK && out && cap)
        memset(out, 0, cap);
    return r;
}

/* Finds the note's last "\n\n" and returns the offset of its first "\n", or len if none. */
static size_t last_blank_line(const char *note, size_t len)
{
    for (size_t i = len; i >= 2; i--)
        if (note[i - 1] == '\n' && note[i - 2] == '\n')
            return i - 2;
    return len;
}

int pl_note_open(const char *note, size_t len, const pl_note_verifier *v, size_t nv,
                 pl_note_opened *out)
{
    sig_line lines[PL_NOTE_MAX_SIGNATURES];
    pl_note_opened o;
    size_t split, off, n = 0;
    uint32_t seen = 0;
    int r;

    memset(out, 0, sizeof *out);
    memset(&o, 0, sizeof o);
    r = PL_E_INVALID_ARG;
    if (nv > PL_NOTE_MAX_VERIFIERS || (nv && !v))
        goto out;
    r = PL_E_TOO_LARGE;
    if (len > PL_NOTE_MAX_BYTES)
        goto out;
    r = PL_E_MALFORMED;
    if (!note || text_check(note, len) != PL_OK)
        goto out;
    /* The text is separated from the signatures by the last blank line: signature lines
     * cannot be empty, so no other split leaves a valid signature block. */
    if ((split = last_blank_line(note, len)) == len)
        goto out;
    o.text = note;
    o.text_len = split + 1u;
    off = split + 2u;
    if (off == len)
        goto out;
    /* The grammar first, every line of it, then the signatures. */
    while (off < len) {
        const char *nl = memchr(note + off, '\n', len - off);

        r = PL_E_MALFORMED;
        if (!nl)
            goto out;
        r = PL_E_TOO_LARGE;
        if (n == PL_NOTE_MAX_SIGNATURES)
            goto out;
        if ((r = sig_line_parse(note + off, (size_t)(nl - (note + off)), &lines[n])) != PL_OK)
            goto out;
        n++;
        off = (size_t)(nl - note) + 1u;
    }
    o.signature_lines = n;
    for (size_t l = 0; l < n; l++) {
        for (size_t i = 0; i < nv; i++) {
            uint64_t t;

            if (!sig_line_matches(&lines[l], &v[i]))
                continue;
            if ((r = sig_line_verify(&lines[l], &v[i], o.text, o.text_len, &t)) != PL_OK)
                goto out;
            if (!(seen & (UINT32_C(1) << i)))
                o.cosigned_at[i] = t;
            seen |= UINT32_C(1) << i;
        }
    }
    r = PL_E_BAD_SIGNATURE;
    if (seen == 0)
        goto out;
    o.verified = seen;
    *out = o;
    r = PL_OK;
out:
    return r;
}

/* ---- Checkpoints ------------------------------------------------------------------------- */

/* PL_OK if ext[0..n) is zero or more non-empty lines, each ending in "\n", of clean text. */
static int extensions_check(const char *ext, size_t n)
{
    if (n == 0)
        return PL_OK;
    if (!ext || ext[0] == '\n' || ext[n - 1] != '\n' || text_check(ext, n) != PL_OK)
        return PL_E_MALFORMED;
    for (size_t i = 1; i < n; i++)
        if (ext[i] == '\n' && ext[i - 1] == '\n')
            return PL_E_MALFORMED;
    return PL_OK;
}

int pl_checkpoint_parse(const char *text, size_t len, pl_checkpoint *out)
{
    const char *line[3];
    size_t line_len[3], off = 0;
    pl_checkpoint cp;
    int r;

    memset(out, 0, sizeof *out);
    memset(&cp, 0, sizeof cp);
    r = PL_E_TOO_LARGE;
    if (len > PL_NOTE_MAX_BYTES)
        goto out;
    r = PL_E_MALFORMED;
    if (!text || len == 0 || text[len - 1] != '\n' || text_check(text, len) != PL_OK)
        goto out;
    /* origin, size, root: three non-empty lines */
    for (size_t i = 0; i < 3; i++) {
        const char *nl = memchr(text + off, '\n', len - off);

        if (!nl || nl == text + off)
            goto out;
        line[i] = text + off;
        line_len[i] = (size_t)(nl - line[i]);
        off += line_len[i] + 1u;
    }
    if (extensions_check(text + off, len - off) != PL_OK)
        goto out;
    if (!u64_parse(line[1], line_len[1], &cp.size))
        goto out;
    if (b64_decode_exact(line[2], line_len[2], cp.root, sizeof cp.root) != PL_OK)
        goto out;
    r = PL_E_TOO_LARGE;
    if (line_len[0] > PL_NOTE_NAME_MAX_BYTES)
        goto out;
    memcpy(cp.origin, line[0], line_len[0]);
    cp.origin_len = line_len[0];
    if (off < len) {
        cp.extensions = text + off;
        cp.extensions_len = len - off;
    }
    *out = cp;
    r = PL_OK;
out:
    return r;
}

int pl_checkpoint_format(const pl_checkpoint *cp, char *out, size_t cap, size_t *out_len)
{
    pl__writer w = pl__writer_init((uint8_t *)out, cap);
    char digits[U64_DIGITS_MAX];
    size_t n = u64_format(cp->size, digits);
    int r;

    *out_len = 0;
    r = PL_E_INVALID_ARG;
    if (cp->origin_len == 0 || cp->origin_len > PL_NOTE_NAME_MAX_BYTES ||
        memchr(cp->origin, '\n', cp->origin_len) ||
        text_check(cp->origin, cp->origin_len) != PL_OK ||
        extensions_check(cp->extensions, cp->extensions_len) != PL_OK)
        goto out;
    r = PL_E_TOO_LARGE;
    if (cp->origin_len + 1u + n + 1u + ROOT_B64_BYTES + 1u + cp->extensions_len > PL_NOTE_MAX_BYTES)
        goto out;
    pl__put_bytes(&w, cp->origin, cp->origin_len);
    pl__put_u8(&w, '\n');
    pl__put_bytes(&w, digits, n);
    pl__put_u8(&w, '\n');
    put_b64(&w, cp->root, sizeof cp->root);
    pl__put_u8(&w, '\n');
    pl__put_bytes(&w, cp->extensions, cp->extensions_len);
    if ((r = w.err) != PL_OK)
        goto out;
    *out_len = w.off;
    r = PL_OK;
out:
    return r;
}

/* ---- Cosignatures ------------------------------------------------------------------------ */

int pl_cosignature_sign(const char *checkpoint, size_t len, const char *name, size_t name_len,
                        const uint8_t sk[PL_NOTE_ED25519_SECRET_KEY_BYTES], uint64_t timestamp,
                        char *out, size_t cap, size_t *out_len)
{
    uint8_t payload[COSIG_PAYLOAD_BYTES];
    uint8_t msg[COSIG_MESSAGE_MAX];
    pl__writer w = pl__writer_init((uint8_t *)out, cap);
    pl__writer head = pl__writer_init(payload, KEY_ID_BYTES + 8u);
    pl_checkpoint cp;
    size_t msg_len;
    int r;

    *out_len = 0;
    r = PL_E_INVALID_ARG;
    if (!name || !name_ok(name, name_len) || timestamp > PL_COSIGNATURE_MAX_TIME)
        goto out;
    /* a witness states something about a checkpoint, so it signs nothing else */
    if ((r = pl_checkpoint_parse(checkpoint, len, &cp)) != PL_OK)
        goto out;
    pl__put_u32(&head, pl_note_key_id(name, name_len, PL_NOTE_TYPE_COSIGNATURE_V1,
                                      sk + crypto_sign_SEEDBYTES));
    pl__put_u64(&head, timestamp);
    msg_len = cosig_message(msg, timestamp, checkpoint, len);
    crypto_sign_detached(payload + KEY_ID_BYTES + 8u, NULL, msg, msg_len, sk);
    put_sig_line(&w, name, name_len, payload, sizeof payload);
    if ((r = w.err) != PL_OK)
        goto out;
    *out_len = w.off;
    r = PL_OK;
out:
    if (r != PL_OK && out && cap)
        memset(out, 0, cap);
    return r;
}

int pl_cosignature_verify(const pl_note_verifier *v, const char *checkpoint, size_t len,
                          const char *line, size_t line_len, uint64_t *timestamp)
{
    sig_line s;
    uint64_t t = 0;
    int r;

    *timestamp = 0;
    r = PL_E_KEY_TYPE;
    if (v->type != PL_NOTE_TYPE_COSIGNATURE_V1)
        goto out;
    r = PL_E_TOO_LARGE;
    if (len > PL_NOTE_MAX_BYTES || line_len > PL_NOTE_MAX_BYTES)
        goto out;
    r = PL_E_MALFORMED;
    if (!line || line_len == 0 || line[line_len - 1] != '\n' ||
        text_check(line, line_len) != PL_OK || memchr(line, '\n', line_len - 1u))
        goto out;
    if ((r = sig_line_parse(line, line_len - 1u, &s)) != PL_OK)
        goto out;
    r = PL_E_IDENTITY_MISMATCH;
    if (!sig_line_matches(&s, v))
        goto out;
    if ((r = sig_line_verify(&s, v, checkpoint, len, &t)) != PL_OK)
        goto out;
    *timestamp = t;
    r = PL_OK;
out:
    return r;
}
