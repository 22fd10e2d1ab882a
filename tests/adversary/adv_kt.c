/*
 * adv_kt.c: a malicious operator's surgery on key-transparency messages (see adv_kt.h).
 *
 * A signed note (PROTOCOL.md §18) is text "\n" followed by signature lines
 * "\xE2\x80\x94 " name " " base64 "\n"; the text ends at the first "\n" of the note's last
 * "\n\n". The functions here rely on that grammar and fail the test on a note without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>

#include "adv_kt.h"

#define EM_DASH "\xE2\x80\x94 "
#define EM_DASH_LEN 4u

/* The offset where the signature lines start (just after the blank line). */
static size_t sig_start(const char *note, size_t len)
{
    for (size_t i = len; i >= 2; i--) {
        if (note[i - 1] == '\n' && note[i - 2] == '\n')
            return i;
    }
    fail_msg("adv_kt: not a signed note (no blank line)");
    return 0;
}

/* The line starting at off: its end (one past its "\n") and its name. */
static size_t line_end(const char *note, size_t len, size_t off, const char **name,
                       size_t *name_len)
{
    const char *nl = memchr(note + off, '\n', len - off);
    const char *sp;

    if (!nl || len - off < EM_DASH_LEN || memcmp(note + off, EM_DASH, EM_DASH_LEN) != 0)
        fail_msg("adv_kt: not a signature line at offset %zu", off);
    *name = note + off + EM_DASH_LEN;
    sp = memchr(*name, ' ', (size_t)(nl - *name));
    if (!sp)
        fail_msg("adv_kt: signature line without a space");
    *name_len = (size_t)(sp - *name);
    return (size_t)(nl - note) + 1;
}

static void put(char *out, size_t cap, size_t *at, const char *p, size_t n)
{
    if (*at + n > cap)
        fail_msg("adv_kt: output buffer too small");
    memcpy(out + *at, p, n);
    *at += n;
}

size_t adv_note_keep_only(const char *note, size_t len, const char *keep_name, char *out,
                          size_t cap, size_t *out_len)
{
    size_t start = sig_start(note, len), at = 0, removed = 0;

    put(out, cap, &at, note, start);
    for (size_t off = start; off < len;) {
        const char *name;
        size_t name_len, end = line_end(note, len, off, &name, &name_len);

        if (name_len == strlen(keep_name) && memcmp(name, keep_name, name_len) == 0)
            put(out, cap, &at, note + off, end - off);
        else
            removed++;
        off = end;
    }
    *out_len = at;
    return removed;
}

void adv_note_corrupt_line(const char *note, size_t len, const char *name, char *out, size_t cap,
                           size_t *out_len)
{
    size_t start = sig_start(note, len), at = 0;
    int done = 0;

    put(out, cap, &at, note, start);
    for (size_t off = start; off < len;) {
        const char *n;
        size_t n_len, end = line_end(note, len, off, &n, &n_len);

        if (!done && n_len == strlen(name) && memcmp(n, name, n_len) == 0) {
            const char *b64 = n + n_len + 1;
            size_t b64_len = (size_t)(note + end - 1 - b64), bin_len;
            uint8_t bin[128];
            char enc[256];

            if (sodium_base642bin(bin, sizeof bin, b64, b64_len, NULL, &bin_len, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) != 0 ||
                bin_len < 5)
                fail_msg("adv_kt: the line of %s is not base64", name);
            bin[bin_len - 1] ^= 0x01; /* the signature's last byte */
            sodium_bin2base64(enc, sizeof enc, bin, bin_len, sodium_base64_VARIANT_ORIGINAL);
            put(out, cap, &at, note + off, (size_t)(b64 - (note + off)));
            put(out, cap, &at, enc, strlen(enc));
            put(out, cap, &at, "\n", 1);
            done = 1;
        } else {
            put(out, cap, &at, note + off, end - off);
        }
        off = end;
    }
    if (!done)
        fail_msg("adv_kt: no signature line named %s", name);
    *out_len = at;
}

size_t adv_note_text(const char *note, size_t len, pl_checkpoint *cp)
{
    size_t text_len = sig_start(note, len) - 1;

    if (cp && pl_checkpoint_parse(note, text_len, cp) != PL_OK)
        fail_msg("adv_kt: the note's text is not a checkpoint");
    return text_len;
}

size_t adv_note_signers(const char *note, size_t len, char (*names)[256], size_t max)
{
    size_t n = 0;

    for (size_t off = sig_start(note, len); off < len; n++) {
        const char *name;
        size_t name_len, end = line_end(note, len, off, &name, &name_len);

        if (n < max)
            snprintf(names[n], 256, "%.*s", (int)name_len, name);
        off = end;
    }
    return n;
}

void adv_lookup_mutate(const uint8_t *in, size_t len, adv_lookup_mutation mutate, void *arg,
                       uint8_t *out, size_t cap, size_t *out_len)
{
    static pl_kt_lookup l; /* large (two prefix proofs); the tests run one at a time */
    int r;

    if ((r = pl_kt_lookup_decode(&l, in, len)) != PL_OK)
        fail_msg("adv_kt: the server's lookup proof does not decode: %s", pl_errname(r));
    mutate(&l, arg);
    if ((r = pl_kt_lookup_encode(&l, out, cap, out_len)) != PL_OK)
        fail_msg("adv_kt: the mutated lookup proof does not encode: %s", pl_errname(r));
}

mp_verdict adv_emit_lookup_result(mp_frame_ctx *fx, const Parley__ServerFrame *f, const char *note,
                                  size_t note_len, const uint8_t *proof, size_t proof_len)
{
    static char note_z[PL_NOTE_MAX_BYTES + 1];
    Parley__ServerFrame nf;
    Parley__Response resp;
    Parley__KtLookupResult res;
    Parley__KtCheckpoint cp;

    if (f->kind_case != PARLEY__SERVER_FRAME__KIND_RESPONSE ||
        f->response->body_case != PARLEY__RESPONSE__BODY_KT_LOOKUP || !f->response->kt_lookup)
        return MP_CLOSE;
    nf = *f;
    resp = *f->response;
    res = *f->response->kt_lookup;
    if (note) {
        if (note_len > PL_NOTE_MAX_BYTES)
            return MP_CLOSE;
        memcpy(note_z, note, note_len);
        note_z[note_len] = '\0';
        cp = res.checkpoint ? *res.checkpoint : (Parley__KtCheckpoint)PARLEY__KT_CHECKPOINT__INIT;
        cp.note = note_z;
        res.checkpoint = &cp;
    }
    if (proof) {
        res.proof.data = (uint8_t *)proof;
        res.proof.len = proof_len;
    }
    resp.kt_lookup = &res;
    nf.response = &resp;
    return mp_emit_server(fx, &nf);
}

mp_verdict adv_emit_refusal(mp_frame_ctx *fx, const Parley__ServerFrame *f, Parley__StatusCode code,
                            const char *message)
{
    Parley__ServerFrame nf = PARLEY__SERVER_FRAME__INIT;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;

    if (f->kind_case != PARLEY__SERVER_FRAME__KIND_RESPONSE)
        return MP_CLOSE;
    st.code = code;
    st.message = (char *)message;
    resp.id = f->response->id;
    resp.status = &st;
    nf.kind_case = PARLEY__SERVER_FRAME__KIND_RESPONSE;
    nf.response = &resp;
    return mp_emit_server(fx, &nf);
}

const Parley__KtCheckpoint *adv_frame_checkpoint(const Parley__ServerFrame *f)
{
    if (f->kind_case == PARLEY__SERVER_FRAME__KIND_RESPONSE) {
        const Parley__Response *r = f->response;

        if (r->body_case == PARLEY__RESPONSE__BODY_KT_CHECKPOINT)
            return r->kt_checkpoint;
        if (r->body_case == PARLEY__RESPONSE__BODY_KT_LOOKUP && r->kt_lookup)
            return r->kt_lookup->checkpoint;
    } else if (f->kind_case == PARLEY__SERVER_FRAME__KIND_PUSH &&
               f->push->kind_case == PARLEY__PUSH__KIND_KT_CHECKPOINT) {
        return f->push->kt_checkpoint;
    }
    return NULL;
}

mp_verdict adv_emit_with_note(mp_frame_ctx *fx, const Parley__ServerFrame *f, const char *note,
                              size_t note_len)
{
    static char note_z[PL_NOTE_MAX_BYTES + 1];
    const Parley__KtCheckpoint *orig = adv_frame_checkpoint(f);
    Parley__ServerFrame nf = *f;
    Parley__Response resp;
    Parley__KtLookupResult res;
    Parley__Push push;
    Parley__KtCheckpoint cp;

    if (!orig || note_len > PL_NOTE_MAX_BYTES)
        return MP_CLOSE;
    memcpy(note_z, note, note_len);
    note_z[note_len] = '\0';
    cp = *orig;
    cp.note = note_z;
    if (f->kind_case == PARLEY__SERVER_FRAME__KIND_PUSH) {
        push = *f->push;
        push.kt_checkpoint = &cp;
        nf.push = &push;
    } else {
        resp = *f->response;
        if (resp.body_case == PARLEY__RESPONSE__BODY_KT_LOOKUP) {
            res = *resp.kt_lookup;
            res.checkpoint = &cp;
            resp.kt_lookup = &res;
        } else {
            resp.kt_checkpoint = &cp;
        }
        nf.response = &resp;
    }
    return mp_emit_server(fx, &nf);
}

void adv_state_forge(const pl_account *account, uint32_t seq, const uint8_t *prev_hash,
                     uint32_t device_id, uint64_t created_at_ms, uint8_t *out, size_t cap,
                     size_t *out_len)
{
    pl_device *dev = NULL;
    uint8_t ik[PL_PUBKEY_BYTES];
    uint8_t records[1][PL_DEVICE_RECORD_BYTES];

    if (pl_device_generate(&dev, NULL, device_id) != PL_OK)
        fail_msg("adv_kt: cannot generate a device");
    pl_device_identity_key(dev, ik);
    pl_device_free(dev);
    if (pl_account_sign_device(account, device_id, ik, created_at_ms, records[0]) != PL_OK ||
        pl_account_state_sign(account, seq, prev_hash, created_at_ms, 0, records, 1, out, cap,
                              out_len) != PL_OK)
        fail_msg("adv_kt: cannot sign the forged state");
}
