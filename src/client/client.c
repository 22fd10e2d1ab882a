/*
 * client.c: the client runtime's frame: opening a home, errors, the identity, connecting to
 * parleyd and authenticating as our device, and keeping our prekeys stocked (client.h).
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client_internal.h"

const char *pl_client_strerror(int code)
{
    switch (code) {
#define CL_STR(name, value, msg)                                                                   \
    case (value):                                                                                  \
        return (msg);
        PL_CLIENT_ERRNO_MAP(CL_STR)
#undef CL_STR
    }
    return "unknown error";
}

const char *pl_client_errname(int code)
{
    switch (code) {
#define CL_NAME(name, value, msg)                                                                  \
    case (value):                                                                                  \
        return "PL_CLIENT_" #name;
        PL_CLIENT_ERRNO_MAP(CL_NAME)
#undef CL_NAME
    }
    return "PL_CLIENT_E_UNKNOWN";
}

int cl_fail(pl_client *c, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return code;
}

int cl_store_fail(pl_client *c, int store_error, const char *what)
{
    int code;

    switch (store_error) {
    case PL_CSTORE_E_LOCKED:
        code = PL_CLIENT_E_LOCKED;
        break;
    case PL_CSTORE_E_PASSPHRASE:
        code = PL_CLIENT_E_PASSPHRASE;
        break;
    case PL_CSTORE_E_NEED_PASSPHRASE:
        code = PL_CLIENT_E_NEED_PASSPHRASE;
        break;
    case PL_CSTORE_E_CORRUPT:
    case PL_CSTORE_E_VERSION:
        code = PL_CLIENT_E_CORRUPT;
        break;
    case PL_CSTORE_E_PERMISSIONS:
        code = PL_CLIENT_E_PERMISSIONS;
        break;
    case PL_CSTORE_E_NO_HOME:
        code = PL_CLIENT_E_NOT_INITIALISED;
        break;
    case PL_CSTORE_E_NOMEM:
        code = PL_CLIENT_E_NOMEM;
        break;
    default:
        code = PL_CLIENT_E_STORE;
        break;
    }
    return cl_fail(c, code, "%s: %s", what,
                   c->store ? pl_cstore_last_error(c->store) : pl_cstore_strerror(store_error));
}

const char *cl_status_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&parley__status_code__descriptor, code);

    return v ? v->name : "STATUS_UNKNOWN";
}

int cl_status(const Parley__ServerFrame *f)
{
    return (int)f->response->status->code;
}

int cl_refused(pl_client *c, const Parley__ServerFrame *f, const char *what)
{
    const Parley__Status *st = f->response->status;
    int code = PL_CLIENT_E_REFUSED;

    switch (st->code) {
    case PARLEY__STATUS_CODE__STATUS_USERNAME_TAKEN:
        code = PL_CLIENT_E_USERNAME_TAKEN;
        break;
    case PARLEY__STATUS_CODE__STATUS_NOT_FOUND:
        code = PL_CLIENT_E_UNKNOWN_USER;
        break;
    case PARLEY__STATUS_CODE__STATUS_BAD_USERNAME:
        code = PL_CLIENT_E_BAD_USERNAME;
        break;
    default:
        break;
    }
    return cl_fail(c, code, "%s: the server refused: %s (%s)", what, st->message,
                   cl_status_name((int)st->code));
}

uint64_t cl_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cl_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int cl_setting_u32(pl_client *c, const char *name, uint32_t *out)
{
    char buf[32];
    char *end;
    unsigned long v;
    int r = pl_cstore_setting_get(c->store, name, buf, sizeof buf);

    if (r != PL_CSTORE_OK)
        return r;
    errno = 0;
    v = strtoul(buf, &end, 10);
    if (errno || *end || end == buf || v > UINT32_MAX)
        return PL_CSTORE_E_CORRUPT;
    *out = (uint32_t)v;
    return PL_CSTORE_OK;
}

int cl_setting_set_u32(pl_client *c, const char *name, uint32_t v)
{
    char buf[16];

    snprintf(buf, sizeof buf, "%u", v);
    return pl_cstore_setting_set(c->store, name, buf);
}

/* ---- Opening -------------------------------------------------------------------------------- */

/* Loads the identity from the store, if there is one. */
static int load_identity(pl_client *c)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    int r;

    r = pl_cstore_setting_get(c->store, "username", c->username, sizeof c->username);
    if (r == PL_CSTORE_E_NOT_FOUND)
        return PL_CLIENT_OK;
    if (r != PL_CSTORE_OK || (r = cl_setting_u32(c, "device_id", &c->device_id)) != PL_CSTORE_OK ||
        (r = pl_cstore_setting_get(c->store, "server", c->server, sizeof c->server)) !=
            PL_CSTORE_OK)
        return cl_store_fail(c, r, "reading the identity");
    if (pl_cstore_setting_get(c->store, "device_name", c->device_name, sizeof c->device_name) !=
        PL_CSTORE_OK)
        c->device_name[0] = '\0';
    if (pl_cstore_setting_get(c->store, "pin", c->pin, sizeof c->pin) != PL_CSTORE_OK)
        c->pin[0] = '\0';
    if (pl_cstore_setting_get(c->store, "ca", c->ca_path, sizeof c->ca_path) != PL_CSTORE_OK)
        c->ca_path[0] = '\0';
    if ((r = pl_cstore_secret_get(c->store, "account", &blob, &len)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "reading the account key");
    r = pl_account_load(&c->account, blob, len);
    pl_cstore_free_secret(blob, len);
    if (r != PL_OK)
        return cl_fail(c, PL_CLIENT_E_CORRUPT, "the stored account key is unreadable: %s",
                       pl_strerror(r));
    if ((r = pl_cstore_secret_get(c->store, "device", &blob, &len)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "reading the device key");
    r = pl_device_load(&c->device, blob, len);
    pl_cstore_free_secret(blob, len);
    if (r != PL_OK || pl_device_id(c->device) != c->device_id)
        return cl_fail(c, PL_CLIENT_E_CORRUPT, "the stored device key is unreadable");
    pl_account_public_key(c->account, c->account_key);
    c->have_identity = 1;
    return PL_CLIENT_OK;
}

int pl_client_open(pl_client **out, const char *home, const char *passphrase, int create, char *err,
                   size_t err_len)
{
    pl_client *c = calloc(1, sizeof *c);
    char serr[512] = "";
    int r = PL_CLIENT_E_NOMEM, s;

    *out = NULL;
    if (!c || pl_init() != PL_OK) {
        snprintf(err, err_len, "out of memory");
        free(c);
        return r;
    }
    snprintf(c->home, sizeof c->home, "%s", home);
    s = pl_cstore_open(&c->store, home, passphrase, serr, sizeof serr);
    if (s == PL_CSTORE_E_NO_HOME && create)
        s = pl_cstore_create(&c->store, home, passphrase, serr, sizeof serr);
    if (s != PL_CSTORE_OK) {
        r = cl_store_fail(c, s, "opening the local store");
        snprintf(c->err, sizeof c->err, "%s", serr[0] ? serr : pl_cstore_strerror(s));
        goto out;
    }
    if ((r = load_identity(c)) != PL_CLIENT_OK)
        goto out;
    if (create && c->have_identity) {
        r = cl_fail(c, PL_CLIENT_E_ALREADY_INITIALISED, "%s already holds the account %s", home,
                    c->username);
        goto out;
    }
    if (!create && !c->have_identity) {
        r = cl_fail(c, PL_CLIENT_E_NOT_INITIALISED,
                    "%s has no account yet: run `parley init` or `parley link`", home);
        goto out;
    }
    *out = c;
    c = NULL;
    r = PL_CLIENT_OK;
out:
    if (c) {
        snprintf(err, err_len, "%s", c->err);
        pl_client_close(c);
    }
    return r;
}

void pl_client_close(pl_client *c)
{
    if (!c)
        return;
    cl_disconnect(c);
    pl_account_free(c->account);
    pl_device_free(c->device);
    pl_cstore_close(c->store);
    sodium_memzero(&c->link, sizeof c->link);
    free(c);
}

const char *pl_client_error(const pl_client *c)
{
    return c->err;
}

void pl_client_on_notice(pl_client *c, pl_client_notice_cb cb, void *ctx)
{
    c->notice = cb;
    c->notice_ctx = ctx;
}

int cl_save_identity(pl_client *c)
{
    uint8_t acct[PL_ACCOUNT_SAVED_BYTES], dev[PL_DEVICE_SAVED_BYTES];
    int r;

    pl_account_save(c->account, acct);
    pl_device_save(c->device, dev);
    if ((r = pl_cstore_secret_put(c->store, "account", acct, sizeof acct)) == PL_CSTORE_OK &&
        (r = pl_cstore_secret_put(c->store, "device", dev, sizeof dev)) == PL_CSTORE_OK &&
        (r = pl_cstore_setting_set(c->store, "username", c->username)) == PL_CSTORE_OK &&
        (r = cl_setting_set_u32(c, "device_id", c->device_id)) == PL_CSTORE_OK &&
        (r = pl_cstore_setting_set(c->store, "device_name", c->device_name)) == PL_CSTORE_OK &&
        (r = pl_cstore_setting_set(c->store, "server", c->server)) == PL_CSTORE_OK &&
        (r = pl_cstore_setting_set(c->store, "pin", c->pin)) == PL_CSTORE_OK)
        r = pl_cstore_setting_set(c->store, "ca", c->ca_path);
    sodium_memzero(acct, sizeof acct);
    sodium_memzero(dev, sizeof dev);
    return r;
}

/* ---- Connecting ----------------------------------------------------------------------------- */

int cl_connect_anonymous(pl_client *c)
{
    char fp[PL_TLS_FINGERPRINT_BYTES] = "", err[256] = "";
    int r;

    if (c->conn)
        return PL_CLIENT_OK;
    r = pl_cconn_open(&c->conn, c->server, c->ca_path[0] ? c->ca_path : NULL, c->pin, fp, err,
                      sizeof err);
    if (r != PL_CLIENT_OK)
        return cl_fail(c, r, "%s", err);
    if (!c->pin[0])
        memcpy(c->pin, fp, sizeof fp); /* trust on first use; the caller stores it */
    return PL_CLIENT_OK;
}

void cl_disconnect(pl_client *c)
{
    pl_cconn_close(c->conn);
    c->conn = NULL;
    c->authenticated = 0;
    c->backlog_done = 0;
}

/* Sends a request on the open connection. A RATE_LIMITED answer with a short retry_after_ms
 * (the connection's frame rate, [server] frames_per_second: the server did not run the
 * request) is retried after that wait, a few times: a long transfer (attachments) can empty
 * the connection's token bucket for the requests that follow it. */
#define RATE_RETRIES 20
#define RATE_RETRY_MAX_MS 2000u
static int request_raw(pl_client *c, Parley__Request *req, Parley__ServerFrame **out)
{
    for (int tries = 0;; tries++) {
        int r = pl_cconn_request(c->conn, req, out, CL_REQUEST_TIMEOUT_MS);
        uint32_t ms;

        if (r != PL_CLIENT_OK) {
            cl_fail(c, r, "%s: %s", c->server, pl_cconn_error(c->conn));
            cl_disconnect(c);
            return r;
        }
        ms = (*out)->response->status->retry_after_ms;
        if (cl_status(*out) != PARLEY__STATUS_CODE__STATUS_RATE_LIMITED || tries >= RATE_RETRIES ||
            ms > RATE_RETRY_MAX_MS)
            return PL_CLIENT_OK;
        pl_frame_server_free(*out);
        *out = NULL;
        ms = ms ? ms : 1;
        nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
    }
}

int cl_request(pl_client *c, Parley__Request *req, Parley__ServerFrame **out)
{
    int r = cl_connect(c);

    *out = NULL;
    if (r != PL_CLIENT_OK)
        return r;
    return request_raw(c, req, out);
}

static int authenticate(pl_client *c, uint32_t *otk_count, int *has_spk)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__AuthChallengeRequest ch = PARLEY__AUTH_CHALLENGE_REQUEST__INIT;
    Parley__AuthProof proof = PARLEY__AUTH_PROOF__INIT;
    Parley__ServerFrame *f = NULL;
    uint8_t challenge[32], exporter[PL_TLS_EXPORTER_BYTES], sig[PL_SIGNATURE_BYTES];
    int r;

    req.body_case = PARLEY__REQUEST__BODY_AUTH_CHALLENGE;
    req.auth_challenge = &ch;
    if ((r = request_raw(c, &req, &f)) != PL_CLIENT_OK)
        return r;
    if (cl_status(f) != 0 || f->response->auth_challenge->challenge.len != 32) {
        r = cl_refused(c, f, "authentication");
        goto out;
    }
    memcpy(challenge, f->response->auth_challenge->challenge.data, 32);
    pl_frame_server_free(f);
    f = NULL;
    if ((r = pl_cconn_exporter(c->conn, exporter)) != PL_CLIENT_OK ||
        pl_auth_sign(c->device, challenge, exporter, c->username, strlen(c->username), c->device_id,
                     sig) != PL_OK) {
        r = cl_fail(c, PL_CLIENT_E_PROTOCOL, "cannot sign the authentication challenge");
        goto out;
    }
    memset(&req, 0, sizeof req);
    parley__request__init(&req);
    proof.username = c->username;
    proof.device_id = c->device_id;
    proof.signature.data = sig;
    proof.signature.len = sizeof sig;
    req.body_case = PARLEY__REQUEST__BODY_AUTH_PROOF;
    req.auth_proof = &proof;
    if ((r = request_raw(c, &req, &f)) != PL_CLIENT_OK)
        return r;
    if (cl_status(f) != 0) {
        r = cl_status(f) == PARLEY__STATUS_CODE__STATUS_AUTH_FAILED
                ? cl_fail(c, PL_CLIENT_E_REFUSED,
                          "%s does not know this device (%s, device %u): was it removed?",
                          c->server, c->username, c->device_id)
                : cl_refused(c, f, "authentication");
        goto out;
    }
    *otk_count = f->response->auth_proof->onetime_prekeys;
    *has_spk = f->response->auth_proof->has_signed_prekey;
    c->authenticated = 1;
    r = PL_CLIENT_OK;
out:
    pl_frame_server_free(f);
    return r;
}

int cl_connect(pl_client *c)
{
    uint32_t otks = 0;
    int has_spk = 0, r, pinned = c->pin[0] != 0;

    if (c->conn && c->authenticated)
        return PL_CLIENT_OK;
    if (!c->have_identity)
        return cl_fail(c, PL_CLIENT_E_NOT_INITIALISED, "no account in %s", c->home);
    if ((r = cl_connect_anonymous(c)) != PL_CLIENT_OK)
        return r;
    if (!pinned && (r = pl_cstore_setting_set(c->store, "pin", c->pin)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "storing the server's fingerprint");
    if ((r = authenticate(c, &otks, &has_spk)) != PL_CLIENT_OK) {
        cl_disconnect(c);
        return r;
    }
    if (!has_spk || otks < CL_OTK_REFILL_BELOW)
        return cl_upload_prekeys(c, !has_spk, otks < CL_OTK_STOCK ? CL_OTK_STOCK - otks : 0);
    return PL_CLIENT_OK;
}

/* ---- Prekeys -------------------------------------------------------------------------------- */

static int upload_signed(pl_client *c)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__UploadSignedPrekey up = PARLEY__UPLOAD_SIGNED_PREKEY__INIT;
    Parley__ServerFrame *f = NULL;
    uint8_t pub[PL_SIGNED_PREKEY_PUBLIC_BYTES], saved[PL_SIGNED_PREKEY_SAVED_BYTES];
    pl_signed_prekey *spk = NULL;
    uint32_t id = 0;
    char name[32];
    int r;

    (void)cl_setting_u32(c, "next_spk_id", &id);
    id = id ? id : 1;
    if (pl_signed_prekey_generate(&spk, NULL, c->device, id, cl_now_ms() / 1000u) != PL_OK)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    pl_signed_prekey_public(spk, pub);
    pl_signed_prekey_save(spk, saved);
    pl_signed_prekey_free(spk);
    snprintf(name, sizeof name, "spk/%u", id);
    /* The private part is stored before the public part is published. */
    if ((r = pl_cstore_secret_put(c->store, name, saved, sizeof saved)) != PL_CSTORE_OK ||
        (r = cl_setting_set_u32(c, "next_spk_id", id + 1)) != PL_CSTORE_OK) {
        sodium_memzero(saved, sizeof saved);
        return cl_store_fail(c, r, "storing a signed prekey");
    }
    sodium_memzero(saved, sizeof saved);
    up.signed_prekey.data = pub;
    up.signed_prekey.len = sizeof pub;
    req.body_case = PARLEY__REQUEST__BODY_UPLOAD_SIGNED_PREKEY;
    req.upload_signed_prekey = &up;
    if ((r = request_raw(c, &req, &f)) != PL_CLIENT_OK)
        return r;
    r = cl_status(f) == 0 ? PL_CLIENT_OK : cl_refused(c, f, "uploading a signed prekey");
    pl_frame_server_free(f);
    return r;
}

static int upload_onetime(pl_client *c, uint32_t n)
{
    uint8_t pubs[PL_WIRE_MAX_ONETIME_PREKEYS_PER_UPLOAD][PL_ONETIME_PREKEY_PUBLIC_BYTES];
    ProtobufCBinaryData items[PL_WIRE_MAX_ONETIME_PREKEYS_PER_UPLOAD];
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__UploadOnetimePrekeys up = PARLEY__UPLOAD_ONETIME_PREKEYS__INIT;
    Parley__ServerFrame *f = NULL;
    uint32_t next = 0;
    int r;

    if (n > PL_WIRE_MAX_ONETIME_PREKEYS_PER_UPLOAD)
        n = PL_WIRE_MAX_ONETIME_PREKEYS_PER_UPLOAD;
    (void)cl_setting_u32(c, "next_otk_id", &next);
    next = next ? next : 1;
    if (pl_cstore_begin(c->store) != PL_CSTORE_OK)
        return cl_store_fail(c, PL_CSTORE_E_IO, "storing one-time prekeys");
    for (uint32_t i = 0; i < n; i++) {
        uint8_t saved[PL_ONETIME_PREKEY_SAVED_BYTES];
        pl_onetime_prekey *k = NULL;
        char name[32];

        if (pl_onetime_prekey_generate(&k, NULL, next + i) != PL_OK) {
            pl_cstore_rollback(c->store);
            return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        }
        pl_onetime_prekey_public(k, pubs[i]);
        pl_onetime_prekey_save(k, saved);
        pl_onetime_prekey_free(k);
        snprintf(name, sizeof name, "otk/%u", next + i);
        r = pl_cstore_secret_put(c->store, name, saved, sizeof saved);
        sodium_memzero(saved, sizeof saved);
        if (r != PL_CSTORE_OK) {
            pl_cstore_rollback(c->store);
            return cl_store_fail(c, r, "storing one-time prekeys");
        }
        items[i].data = pubs[i];
        items[i].len = PL_ONETIME_PREKEY_PUBLIC_BYTES;
    }
    if ((r = cl_setting_set_u32(c, "next_otk_id", next + n)) != PL_CSTORE_OK ||
        (r = pl_cstore_commit(c->store)) != PL_CSTORE_OK) {
        pl_cstore_rollback(c->store);
        return cl_store_fail(c, r, "storing one-time prekeys");
    }
    up.onetime_prekeys = items;
    up.n_onetime_prekeys = n;
    req.body_case = PARLEY__REQUEST__BODY_UPLOAD_ONETIME_PREKEYS;
    req.upload_onetime_prekeys = &up;
    if ((r = request_raw(c, &req, &f)) != PL_CLIENT_OK)
        return r;
    r = cl_status(f) == 0 ? PL_CLIENT_OK : cl_refused(c, f, "uploading one-time prekeys");
    pl_frame_server_free(f);
    return r;
}

int cl_upload_prekeys(pl_client *c, int signed_prekey, uint32_t n)
{
    int r = PL_CLIENT_OK;

    if (signed_prekey && (r = upload_signed(c)) != PL_CLIENT_OK)
        return r;
    if (n > 0)
        r = upload_onetime(c, n);
    return r;
}
