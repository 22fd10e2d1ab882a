/*
 * handle_account.c: RegisterAccount, AddDevice, RemoveDevice, ListDevices
 * (PROTOCOL.md §11.3). The account key's signature is the only authority for the first
 * three, so they need no authenticated connection; the server cannot make such a
 * signature, so it cannot add a device of its own.
 *
 * Each of the three carries the account's next state (§24.3, kt_account.h), checked on the
 * store thread against the account's last one; the device change and the state (pending
 * for the key-transparency log) are committed in one store group, before the answer.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "handlers.h"
#include "kt_account.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

typedef struct account_rq {
    pl_request rq;
    char username[PL_USERNAME_MAX + 1];
    uint8_t account_key[PL_PUBKEY_BYTES];
    pl_store_device device;                        /* RegisterAccount, AddDevice */
    uint32_t device_id;                            /* RemoveDevice */
    pl_store_device devices[PL_STORE_DEVICES_MAX]; /* ListDevices; the legacy state check */
    size_t n_devices;
    pl_account_state next;    /* the request's account state, parsed */
    pl_store_kt_version last; /* the account's last state (ListDevices: the answer) */
    int has_last;
} account_rq;

#define ST(x) PARLEY__STATUS_CODE__STATUS_##x

/* Verifies a device record under account_key and fills a->device from it. Returns 1, or 0
 * with the refusal recorded in a->rq. */
static int take_record(account_rq *a, const uint8_t *record, size_t len,
                       const uint8_t account_key[PL_PUBKEY_BYTES])
{
    pl_device_record parsed;
    int r = pl_device_record_verify(record, len, account_key, &parsed);

    if (r != PL_OK) {
        pl_request_fail(&a->rq, ST(BAD_SIGNATURE),
                        r == PL_E_IDENTITY_MISMATCH
                            ? "the device record names another account"
                            : "the device record does not verify under the account key");
        return 0;
    }
    a->device.device_id = parsed.device_id;
    memcpy(a->device.record, record, PL_DEVICE_RECORD_BYTES);
    memcpy(a->device.identity_key, parsed.identity_key, PL_PUBKEY_BYTES);
    return 1;
}

/* Parses the request's account state into a->next. Returns 1, or 0 with the refusal. */
static int take_state(account_rq *a, ProtobufCBinaryData state)
{
    const char *why = "";
    Parley__StatusCode st = pl_kt_state_parse(state.data, state.len, &a->next, &why);

    if (st != ST(OK)) {
        pl_request_fail(&a->rq, st, why);
        return 0;
    }
    return 1;
}

/* Checks a->next against the account's last state (read here) for a change that adds
 * add_record (or removes remove_id). Returns 1, or 0 with the refusal recorded. */
static int check_change(account_rq *a, pl_store *s, const uint8_t account_key[PL_PUBKEY_BYTES],
                        const uint8_t *add_record, uint32_t add_id, uint32_t remove_id)
{
    const char *why = "";
    Parley__StatusCode st;
    int r = pl_store_kt_version_get(s, a->username, UINT32_MAX, UINT64_MAX, &a->last);

    a->n_devices = 0;
    if (r == PL_STORE_E_NOT_FOUND)
        r = pl_store_device_list(s, a->username, a->devices, &a->n_devices);
    else
        a->has_last = r == PL_STORE_OK;
    if (r != PL_STORE_OK) {
        pl_request_fail(&a->rq, ST(INTERNAL), pl_store_strerror(r));
        return 0;
    }
    st = pl_kt_state_check_change(a->has_last ? &a->last : NULL, account_key, a->devices,
                                  a->n_devices, &a->next, add_record, add_id, remove_id, &why);
    if (st != ST(OK)) {
        pl_request_fail(&a->rq, st, why);
        return 0;
    }
    return 1;
}

/* Adds the request's state as the label's next version, pending for the log. */
static int add_state(account_rq *a, pl_store *s, ProtobufCBinaryData state)
{
    return pl_store_kt_state_add(s, a->username, a->next.seq, state.data, state.len);
}

/* Answers an Empty success (or the recorded refusal), with a log line and a metric. */
static void finish_empty(pl_job *job, int body_case, const char *event, enum pl_metric_counter m,
                         uint32_t device_id)
{
    account_rq *a = (account_rq *)job;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__Empty empty = PARLEY__EMPTY__INIT;

    pl_response_ok(&resp, &st, a->rq.id, body_case, &empty);
    if (!job->commit_failed && a->rq.status == ST(OK)) {
        pl_metrics_inc(m);
        pl_metrics_inc(PL_M_KT_STATES_ACCEPTED);
        pl_metrics_gauge_add(PL_G_KT_PENDING, 1);
        pl_log(PL_CONFIG_LOG_INFO, event, PL_LOG_U64("conn", a->rq.conn->id),
               PL_LOG_STR("user", a->username), PL_LOG_U64("device", device_id));
    }
    pl_request_finish(&a->rq, &resp);
}

static account_rq *new_rq(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t bytes,
                          const char *username, void (*run)(pl_job *, pl_store *),
                          void (*done)(pl_job *))
{
    char name[PL_USERNAME_MAX + 1];
    const char *why;
    account_rq *a;

    if (!pl_wire_username(username, name, &why)) {
        pl_refuse(c, slot, f, ST(BAD_USERNAME), why, 0);
        return NULL;
    }
    if (!(a = (account_rq *)pl_request_new(sizeof *a, c, slot, f, bytes, run, done)))
        return NULL;
    memcpy(a->username, name, sizeof name);
    return a;
}

/* ---- RegisterAccount ----------------------------------------------------------------------- */

static void register_run(pl_job *job, pl_store *s)
{
    account_rq *a = (account_rq *)job;
    ProtobufCBinaryData state = a->rq.frame->request->register_account->account_state;
    const char *why = "";
    Parley__StatusCode st;
    int r;

    if (!take_state(a, state))
        return;
    if ((st = pl_kt_state_check_register(&a->next, a->account_key, a->device.record, &why)) !=
        ST(OK)) {
        pl_request_fail(&a->rq, st, why);
        return;
    }
    a->device.created_at_ms = pl_clock_now_ms();
    if ((r = pl_store_group_begin(s)) == PL_STORE_OK) {
        r = pl_store_account_create(s, a->username, a->account_key, a->device.created_at_ms);
        if (r == PL_STORE_OK)
            r = pl_store_device_add(s, a->username, &a->device);
        if (r == PL_STORE_OK)
            r = add_state(a, s, state);
        (void)pl_store_group_end(s, r == PL_STORE_OK);
    }
    if (r != PL_STORE_OK)
        pl_request_fail(&a->rq, pl_status_from_store(r, ST(USERNAME_TAKEN), ST(TOO_MANY_DEVICES)),
                        r == PL_STORE_E_EXISTS ? "the username is taken" : pl_store_strerror(r));
}

static void register_done(pl_job *job)
{
    finish_empty(job, PARLEY__RESPONSE__BODY_REGISTER_ACCOUNT, "account registered",
                 PL_M_ACCOUNTS_REGISTERED, ((account_rq *)job)->device.device_id);
}

void pl_handle_register_account(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f,
                                size_t frame_bytes)
{
    const Parley__RegisterAccount *m = f->request->register_account;
    uint32_t retry_ms;
    account_rq *a;

    if (!pl_addr_limit_take(&c->srv->registrations, c->peer_ip, pl_clock_mono_ns(), &retry_ms)) {
        pl_refuse(c, slot, f, ST(RATE_LIMITED),
                  "too many registrations from this address; retry later", retry_ms);
        return;
    }
    if (!(a = new_rq(c, slot, f, frame_bytes, m->username, register_run, register_done)))
        return;
    memcpy(a->account_key, m->account_key.data, PL_PUBKEY_BYTES);
    if (!take_record(a, m->device_record.data, m->device_record.len, a->account_key)) {
        pl_refuse(c, slot, f, a->rq.status, a->rq.message, 0);
        free(a);
        return;
    }
    pl_request_submit(&a->rq);
}

/* ---- AddDevice ----------------------------------------------------------------------------- */

static void add_run(pl_job *job, pl_store *s)
{
    account_rq *a = (account_rq *)job;
    const Parley__AddDevice *m = a->rq.frame->request->add_device;
    pl_store_account acct;
    int r;

    if ((r = pl_store_account_get(s, a->username, &acct)) != PL_STORE_OK) {
        pl_request_fail(&a->rq, pl_status_from_store(r, ST(INTERNAL), ST(INTERNAL)),
                        r == PL_STORE_E_NOT_FOUND ? "no such user" : pl_store_strerror(r));
        return;
    }
    /* Verified here, on the store thread, against the key the store holds. */
    if (!take_record(a, m->device_record.data, m->device_record.len, acct.account_key))
        return;
    /* A taken id is refused as such before the state is looked at (no state can list it). */
    if ((r = pl_store_device_get(s, a->username, a->device.device_id, &a->devices[0])) !=
        PL_STORE_E_NOT_FOUND) {
        pl_request_fail(&a->rq, r == PL_STORE_OK ? ST(DEVICE_EXISTS) : ST(INTERNAL),
                        r == PL_STORE_OK ? "the device id is in use or was removed"
                                         : pl_store_strerror(r));
        return;
    }
    if (!take_state(a, m->account_state) ||
        !check_change(a, s, acct.account_key, a->device.record, a->device.device_id, 0))
        return;
    a->device.created_at_ms = pl_clock_now_ms();
    if ((r = pl_store_group_begin(s)) == PL_STORE_OK) {
        r = pl_store_device_add(s, a->username, &a->device);
        if (r == PL_STORE_OK)
            r = add_state(a, s, m->account_state);
        (void)pl_store_group_end(s, r == PL_STORE_OK);
    }
    if (r != PL_STORE_OK)
        pl_request_fail(&a->rq, pl_status_from_store(r, ST(DEVICE_EXISTS), ST(TOO_MANY_DEVICES)),
                        r == PL_STORE_E_EXISTS  ? "the device id is in use or was removed"
                        : r == PL_STORE_E_LIMIT ? "the account has the most devices allowed"
                                                : pl_store_strerror(r));
}

static void add_done(pl_job *job)
{
    finish_empty(job, PARLEY__RESPONSE__BODY_ADD_DEVICE, "device added", PL_M_DEVICES_ADDED,
                 ((account_rq *)job)->device.device_id);
}

void pl_handle_add_device(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    account_rq *a =
        new_rq(c, slot, f, frame_bytes, f->request->add_device->username, add_run, add_done);

    if (a)
        pl_request_submit(&a->rq);
}

/* ---- RemoveDevice -------------------------------------------------------------------------- */

static void remove_run(pl_job *job, pl_store *s)
{
    account_rq *a = (account_rq *)job;
    const Parley__RemoveDevice *m = a->rq.frame->request->remove_device;
    pl_store_account acct;
    int r;

    if ((r = pl_store_account_get(s, a->username, &acct)) != PL_STORE_OK) {
        pl_request_fail(&a->rq, pl_status_from_store(r, ST(INTERNAL), ST(INTERNAL)),
                        r == PL_STORE_E_NOT_FOUND ? "no such user" : pl_store_strerror(r));
        return;
    }
    if (pl_removal_verify(acct.account_key, a->device_id, m->signature.data) != PL_OK) {
        pl_request_fail(&a->rq, ST(BAD_SIGNATURE),
                        "the removal does not verify under the account key");
        return;
    }
    if (!take_state(a, m->account_state) ||
        !check_change(a, s, acct.account_key, NULL, 0, a->device_id))
        return;
    if ((r = pl_store_group_begin(s)) == PL_STORE_OK) {
        r = pl_store_device_remove(s, a->username, a->device_id);
        if (r == PL_STORE_OK)
            r = add_state(a, s, m->account_state);
        (void)pl_store_group_end(s, r == PL_STORE_OK);
    }
    if (r != PL_STORE_OK)
        pl_request_fail(&a->rq, pl_status_from_store(r, ST(INTERNAL), ST(INTERNAL)),
                        r == PL_STORE_E_NOT_FOUND ? "no such device" : pl_store_strerror(r));
}

static void remove_done(pl_job *job)
{
    account_rq *a = (account_rq *)job;
    pl_conn *gone;

    if (!job->commit_failed && a->rq.status == ST(OK) &&
        (gone = pl_registry_find(&a->rq.conn->srv->registry, a->username, a->device_id)))
        pl_conn_goodbye(gone, ST(NOT_AUTHENTICATED), "this device was removed from its account");
    finish_empty(job, PARLEY__RESPONSE__BODY_REMOVE_DEVICE, "device removed", PL_M_DEVICES_REMOVED,
                 a->device_id);
}

void pl_handle_remove_device(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    const Parley__RemoveDevice *m = f->request->remove_device;
    account_rq *a = new_rq(c, slot, f, frame_bytes, m->username, remove_run, remove_done);

    if (!a)
        return;
    a->device_id = m->device_id;
    pl_request_submit(&a->rq);
}

/* ---- ListDevices --------------------------------------------------------------------------- */

static void list_run(pl_job *job, pl_store *s)
{
    account_rq *a = (account_rq *)job;
    pl_store_account acct;
    int r;

    if ((r = pl_store_account_get(s, a->username, &acct)) == PL_STORE_OK)
        r = pl_store_device_list(s, a->username, a->devices, &a->n_devices);
    if (r != PL_STORE_OK) {
        pl_request_fail(&a->rq, pl_status_from_store(r, ST(INTERNAL), ST(INTERNAL)),
                        r == PL_STORE_E_NOT_FOUND ? "no such user" : pl_store_strerror(r));
        return;
    }
    memcpy(a->account_key, acct.account_key, PL_PUBKEY_BYTES);
    /* The last accepted state, so a device can build the next one (an account registered
     * before states were kept has none). */
    r = pl_store_kt_version_get(s, a->username, UINT32_MAX, UINT64_MAX, &a->last);
    a->has_last = r == PL_STORE_OK;
    if (r != PL_STORE_OK && r != PL_STORE_E_NOT_FOUND)
        pl_request_fail(&a->rq, ST(INTERNAL), pl_store_strerror(r));
}

static void list_done(pl_job *job)
{
    account_rq *a = (account_rq *)job;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__DeviceList list = PARLEY__DEVICE_LIST__INIT;
    ProtobufCBinaryData records[PL_STORE_DEVICES_MAX];

    for (size_t i = 0; i < a->n_devices; i++) {
        records[i].data = a->devices[i].record;
        records[i].len = PL_DEVICE_RECORD_BYTES;
    }
    list.account_key.data = a->account_key;
    list.account_key.len = PL_PUBKEY_BYTES;
    list.device_records = records;
    list.n_device_records = a->n_devices;
    if (a->has_last) {
        list.account_state.data = a->last.state;
        list.account_state.len = a->last.state_len;
    }
    pl_response_ok(&resp, &st, a->rq.id, PARLEY__RESPONSE__BODY_LIST_DEVICES, &list);
    pl_request_finish(&a->rq, &resp);
}

void pl_handle_list_devices(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    account_rq *a =
        new_rq(c, slot, f, frame_bytes, f->request->list_devices->username, list_run, list_done);

    if (a)
        pl_request_submit(&a->rq);
}
