/*
 * client_account.c: our own account: creating it (parley init), who we are, our devices,
 * removing one, and the account states each change carries (PROTOCOL.md §24.3).
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

/* Inserts add (id add_id) into, or takes remove_id out of, base[0..n) (ascending ids) into
 * out; returns the new count, or 0 when the change does not apply. */
static size_t change_list(const uint8_t (*base)[PL_DEVICE_RECORD_BYTES], const uint32_t *ids,
                          size_t n, const uint8_t *add, uint32_t add_id, uint32_t remove_id,
                          uint8_t (*out)[PL_DEVICE_RECORD_BYTES])
{
    size_t k = 0;
    int placed = 0, found = 0;

    for (size_t i = 0; i < n; i++) {
        if (add && ids[i] == add_id)
            return 0;
        if (!add && ids[i] == remove_id) {
            found = 1;
            continue;
        }
        if (add && !placed && add_id < ids[i]) {
            memcpy(out[k++], add, PL_DEVICE_RECORD_BYTES);
            placed = 1;
        }
        memcpy(out[k++], base[i], PL_DEVICE_RECORD_BYTES);
    }
    if (add && !placed)
        memcpy(out[k++], add, PL_DEVICE_RECORD_BYTES);
    if (!add && !found)
        return 0;
    return k > PL_ACCOUNT_STATE_MAX_DEVICES ? 0 : k;
}

int cl_next_state(pl_client *c, const uint8_t *add_record, uint32_t remove_id,
                  uint8_t out[PL_ACCOUNT_STATE_MAX_BYTES], size_t *len)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__ListDevices ld = PARLEY__LIST_DEVICES__INIT;
    Parley__ServerFrame *f = NULL;
    pl_account_state *prev = NULL;
    uint8_t(*base)[PL_DEVICE_RECORD_BYTES] = NULL, (*next)[PL_DEVICE_RECORD_BYTES] = NULL;
    uint8_t hash[PL_ACCOUNT_STATE_HASH_BYTES];
    uint32_t ids[PL_ACCOUNT_STATE_MAX_DEVICES], seq = 0, add_id = 0;
    pl_device_record rec;
    size_t n = 0, k;
    int r;

    *len = 0;
    if (add_record) {
        if (pl_device_record_verify(add_record, PL_DEVICE_RECORD_BYTES, c->account_key, &rec) !=
            PL_OK)
            return cl_fail(c, PL_CLIENT_E_PROTOCOL, "the new device record does not verify");
        add_id = rec.device_id;
    }
    if (!(prev = malloc(sizeof *prev)) ||
        !(base = calloc(PL_ACCOUNT_STATE_MAX_DEVICES, sizeof *base)) ||
        !(next = calloc(PL_ACCOUNT_STATE_MAX_DEVICES + 1, sizeof *next))) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    ld.username = c->username;
    req.body_case = PARLEY__REQUEST__BODY_LIST_DEVICES;
    req.list_devices = &ld;
    if ((r = cl_request(c, &req, &f)) != PL_CLIENT_OK)
        goto out;
    if (cl_status(f) != 0) {
        r = cl_refused(c, f, "fetching the account's devices");
        goto out;
    }
    {
        const Parley__DeviceList *dl = f->response->list_devices;

        if (dl->account_state.len) {
            /* The server's copy is only a copy: it must be ours, signed by our key. */
            if (pl_account_state_verify(dl->account_state.data, dl->account_state.len, prev) !=
                    PL_OK ||
                sodium_memcmp(prev->account_key, c->account_key, PL_PUBKEY_BYTES) != 0 ||
                prev->seq == UINT32_MAX) {
                r = cl_fail(c, PL_CLIENT_E_PROTOCOL,
                            "the server's account state for %s is not signed by this account's "
                            "key: refusing to build on it",
                            c->username);
                goto out;
            }
            pl_account_state_hash(dl->account_state.data, dl->account_state.len, hash);
            seq = prev->seq + 1;
            n = prev->n_devices;
            for (size_t i = 0; i < n; i++) {
                memcpy(base[i], prev->device_records[i], PL_DEVICE_RECORD_BYTES);
                ids[i] = prev->devices[i].device_id;
            }
        } else {
            /* No state yet (an account made before states): seq 0 of the verified list. */
            if (dl->n_device_records > PL_ACCOUNT_STATE_MAX_DEVICES) {
                r = cl_fail(c, PL_CLIENT_E_PROTOCOL, "the server lists too many devices");
                goto out;
            }
            for (size_t i = 0; i < dl->n_device_records; i++) {
                if (dl->device_records[i].len != PL_DEVICE_RECORD_BYTES ||
                    pl_device_record_verify(dl->device_records[i].data, PL_DEVICE_RECORD_BYTES,
                                            c->account_key, &rec) != PL_OK ||
                    (n && rec.device_id <= ids[n - 1])) {
                    r = cl_fail(c, PL_CLIENT_E_PROTOCOL,
                                "the server lists a device this account did not sign");
                    goto out;
                }
                memcpy(base[n], dl->device_records[i].data, PL_DEVICE_RECORD_BYTES);
                ids[n++] = rec.device_id;
            }
        }
    }
    if (!(k = change_list((const uint8_t(*)[PL_DEVICE_RECORD_BYTES])base, ids, n, add_record,
                          add_id, remove_id, next))) {
        r = cl_fail(c, add_record ? PL_CLIENT_E_PROTOCOL : PL_CLIENT_E_NOT_FOUND,
                    add_record ? "the account already lists this device id"
                               : "the account has no device %u",
                    remove_id);
        goto out;
    }
    if (pl_account_state_sign(c->account, seq, seq ? hash : NULL, cl_now_ms(), c->device_id,
                              (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])next, k, out,
                              PL_ACCOUNT_STATE_MAX_BYTES, len) != PL_OK) {
        r = cl_fail(c, PL_CLIENT_E_NOMEM, "cannot sign the account state");
        goto out;
    }
    r = PL_CLIENT_OK;
out:
    pl_frame_server_free(f);
    free(prev);
    free(base);
    free(next);
    return r;
}

int pl_client_init(pl_client *c, const char *server, const char *ca_file, const char *username,
                   const char *device_name, char fingerprint_out[96])
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__RegisterAccount reg = PARLEY__REGISTER_ACCOUNT__INIT;
    Parley__ServerFrame *f = NULL;
    uint8_t identity[PL_PUBKEY_BYTES], record[PL_DEVICE_RECORD_BYTES];
    uint8_t state[PL_ACCOUNT_STATE_BYTES(1)];
    size_t state_len = 0;
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
    /* The account's first state: seq 0, exactly this device, made by the account key. */
    if (pl_account_state_sign(c->account, 0, NULL, cl_now_ms(), 0,
                              (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])record, 1, state,
                              sizeof state, &state_len) != PL_OK)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "cannot sign the account state");
    if ((r = cl_connect_anonymous(c)) != PL_CLIENT_OK)
        return r;
    memcpy(fingerprint_out, c->pin, PL_TLS_FINGERPRINT_BYTES);
    reg.username = c->username;
    reg.account_key.data = c->account_key;
    reg.account_key.len = PL_PUBKEY_BYTES;
    reg.device_record.data = record;
    reg.device_record.len = sizeof record;
    reg.account_state.data = state;
    reg.account_state.len = state_len;
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
    uint8_t sig[PL_SIGNATURE_BYTES], state[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t state_len = 0;
    cl_device_list dl;
    int r;

    if (device_id == c->device_id)
        return cl_fail(c, PL_CLIENT_E_USAGE,
                       "this is the device you are using: remove it from another device");
    if ((r = cl_next_state(c, NULL, device_id, state, &state_len)) != PL_CLIENT_OK)
        return r;
    pl_removal_sign(c->account, device_id, sig);
    rm.username = c->username;
    rm.device_id = device_id;
    rm.signature.data = sig;
    rm.signature.len = sizeof sig;
    rm.account_state.data = state;
    rm.account_state.len = state_len;
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
