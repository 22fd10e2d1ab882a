/*
 * client_account.c: our own account: creating it (parley init), who we are, our devices,
 * removing one.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "client_internal.h"

/* Copies the CA file into HOME/ca.pem (0600), so the home keeps working if the original
 * moves, and points c->ca_path at the copy. */
int cl_copy_ca(pl_client *c, const char *ca_file)
{
    char dst[CL_PATH_MAX + 16];
    uint8_t buf[65536];
    ssize_t n;
    size_t total = 0;
    int in, out, r = PL_CLIENT_OK;

    snprintf(dst, sizeof dst, "%s/ca.pem", c->home);
    if ((in = open(ca_file, O_RDONLY | O_CLOEXEC)) < 0)
        return cl_fail(c, PL_CLIENT_E_USAGE, "cannot read %s: %s", ca_file, strerror(errno));
    if ((out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        close(in);
        return cl_fail(c, PL_CLIENT_E_STORE, "cannot write %s: %s", dst, strerror(errno));
    }
    while ((n = read(in, buf, sizeof buf)) > 0) {
        total += (size_t)n;
        if (total > 1024 * 1024 || write(out, buf, (size_t)n) != n) {
            r = cl_fail(c, PL_CLIENT_E_USAGE, "%s is not a certificate file we can copy", ca_file);
            break;
        }
    }
    if (n < 0)
        r = cl_fail(c, PL_CLIENT_E_USAGE, "cannot read %s: %s", ca_file, strerror(errno));
    close(in);
    if (close(out) != 0 && r == PL_CLIENT_OK)
        r = cl_fail(c, PL_CLIENT_E_STORE, "cannot write %s", dst);
    if (r == PL_CLIENT_OK)
        snprintf(c->ca_path, sizeof c->ca_path, "%s", dst);
    return r;
}

int pl_client_init(pl_client *c, const char *server, const char *ca_file, const char *username,
                   const char *device_name, char fingerprint_out[96])
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__RegisterAccount reg = PARLEY__REGISTER_ACCOUNT__INIT;
    Parley__ServerFrame *f = NULL;
    uint8_t identity[PL_PUBKEY_BYTES], record[PL_DEVICE_RECORD_BYTES];
    int r;

    fingerprint_out[0] = '\0';
    if (c->have_identity)
        return cl_fail(c, PL_CLIENT_E_ALREADY_INITIALISED, "%s already holds the account %s",
                       c->home, c->username);
    if (strlen(username) > CL_USERNAME_MAX || strlen(server) >= sizeof c->server)
        return cl_fail(c, PL_CLIENT_E_BAD_USERNAME, "a username has at most 32 characters");
    snprintf(c->server, sizeof c->server, "%s", server);
    snprintf(c->device_name, sizeof c->device_name, "%s", device_name ? device_name : "");
    /* The server folds case; the name we sign in with must be the canonical one. */
    for (size_t i = 0; username[i]; i++)
        c->username[i] =
            (char)((username[i] >= 'A' && username[i] <= 'Z') ? username[i] + 32 : username[i]);
    c->username[strlen(username)] = '\0';
    if (ca_file && (r = cl_copy_ca(c, ca_file)) != PL_CLIENT_OK)
        return r;
    c->device_id = 1;
    if (pl_account_generate(&c->account, NULL) != PL_OK ||
        pl_device_generate(&c->device, NULL, c->device_id) != PL_OK)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    pl_account_public_key(c->account, c->account_key);
    pl_device_identity_key(c->device, identity);
    if (pl_account_sign_device(c->account, c->device_id, identity, cl_now_ms() / 1000u, record) !=
        PL_OK)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "cannot sign the device record");
    if ((r = cl_connect_anonymous(c)) != PL_CLIENT_OK)
        return r;
    memcpy(fingerprint_out, c->pin, PL_TLS_FINGERPRINT_BYTES);
    reg.username = c->username;
    reg.account_key.data = c->account_key;
    reg.account_key.len = PL_PUBKEY_BYTES;
    reg.device_record.data = record;
    reg.device_record.len = sizeof record;
    req.body_case = PARLEY__REQUEST__BODY_REGISTER_ACCOUNT;
    req.register_account = &reg;
    if ((r = pl_cconn_request(c->conn, &req, &f, CL_REQUEST_TIMEOUT_MS)) != PL_CLIENT_OK) {
        r = cl_fail(c, r, "%s: %s", c->server, pl_cconn_error(c->conn));
        cl_disconnect(c);
        return r;
    }
    if (cl_status(f) != 0) {
        r = cl_refused(c, f, "registering");
        if (r == PL_CLIENT_E_USERNAME_TAKEN)
            r = cl_fail(c, r, "the username %s is taken on %s", c->username, c->server);
        pl_frame_server_free(f);
        return r;
    }
    pl_frame_server_free(f);
    /* Registered: keep the identity before anything else can fail. */
    if ((r = pl_cstore_begin(c->store)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "storing the new account");
    if ((r = cl_save_identity(c)) != PL_CSTORE_OK) {
        pl_cstore_rollback(c->store);
        return cl_store_fail(c, r, "storing the new account");
    }
    {
        pl_cstore_device self;

        memset(&self, 0, sizeof self);
        self.device_id = c->device_id;
        memcpy(self.record, record, sizeof record);
        snprintf(self.name, sizeof self.name, "%s", c->device_name);
        if ((r = pl_cstore_devices_set(c->store, c->username, &self, 1)) != PL_CSTORE_OK) {
            pl_cstore_rollback(c->store);
            return cl_store_fail(c, r, "storing the new account");
        }
    }
    if ((r = pl_cstore_commit(c->store)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "storing the new account");
    c->have_identity = 1;
    /* Authenticating uploads the signed prekey and the one-time prekeys. */
    return cl_kt_pin_at_setup(c, cl_connect(c)); /* then pins the KT log (client_kt.c) */
}

int pl_client_whoami_get(pl_client *c, pl_client_whoami *out)
{
    uint8_t identity[PL_PUBKEY_BYTES];
    char digits[PL_ACCOUNT_FINGERPRINT_DIGITS + 1];
    size_t o = 0;

    memset(out, 0, sizeof *out);
    snprintf(out->username, sizeof out->username, "%s", c->username);
    out->device_id = c->device_id;
    snprintf(out->device_name, sizeof out->device_name, "%s", c->device_name);
    snprintf(out->server, sizeof out->server, "%s", c->server);
    snprintf(out->server_fingerprint, sizeof out->server_fingerprint, "%s", c->pin);
    if (pl_account_fingerprint(c->account_key, c->username, strlen(c->username), digits) == PL_OK)
        for (size_t i = 0; i < PL_ACCOUNT_FINGERPRINT_DIGITS; i++) {
            if (i && i % 5 == 0)
                out->account_fingerprint[o++] = ' ';
            out->account_fingerprint[o++] = digits[i];
        }
    pl_device_identity_key(c->device, identity);
    pl_key_fingerprint(identity, out->device_fingerprint);
    return PL_CLIENT_OK;
}

int pl_client_devices(pl_client *c, pl_client_device **devs, size_t *n)
{
    pl_cstore_device known[CL_DEVICES_MAX];
    cl_device_list dl;
    size_t nk = 0;
    int r;

    *devs = NULL;
    *n = 0;
    if ((r = cl_fetch_devices(c, c->username, &dl)) != PL_CLIENT_OK)
        return r;
    if (pl_cstore_devices_get(c->store, c->username, known, &nk) != PL_CSTORE_OK)
        nk = 0;
    if (dl.n && !(*devs = calloc(dl.n, sizeof **devs)))
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < dl.n; i++) {
        pl_client_device *d = &(*devs)[i];

        d->id = dl.records[i].device_id;
        pl_key_fingerprint(dl.records[i].identity_key, d->fingerprint);
        d->added_at_ms = dl.records[i].created_at * 1000u;
        d->current = d->id == c->device_id;
        for (size_t k = 0; k < nk; k++)
            if (known[k].device_id == d->id)
                snprintf(d->name, sizeof d->name, "%s", known[k].name);
        if (d->current && !d->name[0])
            snprintf(d->name, sizeof d->name, "%s", c->device_name);
    }
    *n = dl.n;
    return PL_CLIENT_OK;
}

int pl_client_remove_device(pl_client *c, uint32_t device_id)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__RemoveDevice rm = PARLEY__REMOVE_DEVICE__INIT;
    Parley__ServerFrame *f = NULL;
    uint8_t sig[PL_SIGNATURE_BYTES];
    cl_device_list dl;
    int r;

    if (device_id == c->device_id)
        return cl_fail(c, PL_CLIENT_E_USAGE,
                       "this is the device you are using: remove it from another device");
    pl_removal_sign(c->account, device_id, sig);
    rm.username = c->username;
    rm.device_id = device_id;
    rm.signature.data = sig;
    rm.signature.len = sizeof sig;
    req.body_case = PARLEY__REQUEST__BODY_REMOVE_DEVICE;
    req.remove_device = &rm;
    if ((r = cl_request(c, &req, &f)) != PL_CLIENT_OK)
        return r;
    if (cl_status(f) == PARLEY__STATUS_CODE__STATUS_NOT_FOUND)
        r = cl_fail(c, PL_CLIENT_E_NOT_FOUND, "the account has no device %u", device_id);
    else if (cl_status(f) != 0)
        r = cl_refused(c, f, "removing the device");
    pl_frame_server_free(f);
    if (r != PL_CLIENT_OK)
        return r;
    (void)pl_cstore_session_delete(c->store, c->username, device_id);
    return cl_fetch_devices(c, c->username, &dl); /* refresh the stored list */
}
