/*
 * client_attach.c: sending and fetching attachments (client.h, PROTOCOL.md §27).
 *
 * Sending a file, resumably:
 *   1. The upload is named by the file (its absolute path, size and modification time):
 *      secret "attach/up/<hex>" in the client store holds its descriptor (a packed
 *      Parley__Attachment: blob id, key, size, name, type, hash). Found: go to 3.
 *   2. Encrypt the file (client_attach_crypt.c) into HOME/attach/<blob id>.up, fsync, create
 *      the blob (BlobCreate, one expected fetch per device of the recipient), store the
 *      descriptor: from here an interrupted run resumes.
 *   3. Ask the server how much it holds (BlobStatus.received: the server's count is the
 *      truth, since it acknowledges only fsynced bytes), then BlobPut the rest in pieces of
 *      CL_ATTACH_PUT_BYTES, BlobComplete.
 *   4. Send the message (pl_client_send) with Content.attachment; then forget the upload.
 *
 * Receiving: client_recv.c hands every incoming Content.attachment to
 * cl_attach_record_incoming inside the transaction that stores the message, which adds it to
 * the pending list (secret "attach/pending": 16-byte message ids) with its descriptor
 * ("attach/down/<message id>"). pl_client_fetch_files then downloads each into
 * HOME/attach/<blob id>.down (resuming from the file's length), decrypts it into
 * SAVE_DIR/.<name>.part, checks it (client_attach.h), renames it to a free name in SAVE_DIR,
 * tells the server (BlobFetched) and forgets it. A blob that fails its check is deleted
 * locally and reported; it is never fetched again.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client_attach.h"
#include "client_internal.h"
#include "client_kt.h"

#define PENDING_SECRET "attach/pending"
#define PENDING_MAX 256u /* downloads waiting at once; more are refused (reported) */
#define ATTACH_DIR "attach"

static int attach_dir(pl_client *c, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", c->home, ATTACH_DIR);

    if (n < 0 || (size_t)n >= cap)
        return cl_fail(c, PL_CLIENT_E_USAGE, "the home path is too long");
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return cl_fail(c, PL_CLIENT_E_STORE, "cannot create %s: %s", out, strerror(errno));
    return PL_CLIENT_OK;
}

/* HOME/attach/<hex id><suffix>. */
static int blob_file(pl_client *c, const uint8_t id[CL_ATTACH_BLOB_ID_BYTES], const char *suffix,
                     char *out, size_t cap)
{
    char dir[CL_PATH_MAX + 16], hex[2 * CL_ATTACH_BLOB_ID_BYTES + 1];
    int r, n;

    if ((r = attach_dir(c, dir, sizeof dir)) != PL_CLIENT_OK)
        return r;
    cl_hex(id, CL_ATTACH_BLOB_ID_BYTES, hex);
    n = snprintf(out, cap, "%s/%s%s", dir, hex, suffix);
    if (n < 0 || (size_t)n >= cap)
        return cl_fail(c, PL_CLIENT_E_USAGE, "the home path is too long");
    return PL_CLIENT_OK;
}

/* Checks the answer f to a request of body_case; a refusal becomes a client error naming
 * `what`. Frees f unless it returns PL_CLIENT_OK. */
static int check_answer(pl_client *c, Parley__ServerFrame *f, int body_case, const char *what)
{
    int r;

    if (cl_status(f) == PARLEY__STATUS_CODE__STATUS_NOT_FOUND) {
        r = cl_fail(c, PL_CLIENT_E_NOT_FOUND,
                    "%s: the server does not hold that file (expired, or "
                    "every device fetched it)",
                    what);
        pl_frame_server_free(f);
        return r;
    }
    if (cl_status(f) != 0) {
        r = cl_refused(c, f, what);
        pl_frame_server_free(f);
        return r;
    }
    if ((int)f->response->body_case != body_case) {
        pl_frame_server_free(f);
        return cl_fail(c, PL_CLIENT_E_PROTOCOL, "the server answered %s with another body", what);
    }
    return PL_CLIENT_OK;
}

/* One request; a refusal becomes a client error naming `what`. *out only on OK. */
static int blob_call(pl_client *c, Parley__Request *req, Parley__ServerFrame **out,
                     const char *what)
{
    Parley__ServerFrame *f = NULL;
    int r;

    *out = NULL;
    if ((r = cl_request(c, req, &f)) != PL_CLIENT_OK)
        return r;
    if ((r = check_answer(c, f, (int)req->body_case, what)) != PL_CLIENT_OK)
        return r;
    *out = f;
    return PL_CLIENT_OK;
}

/*
 * Pipelining (PROTOCOL.md §27.1): BlobPut and BlobGet requests go PIPE_DEPTH at a time on the
 * connection, each answered in the order sent. The server reads at most 2 MiB of requests
 * ahead of its answers (PL_SERVER_MAX_REQUEST_BYTES_IN_FLIGHT): 8 puts of 256 KiB keep it
 * busy without the client waiting on a full socket. Any failure drops the connection: the
 * answers still in flight would otherwise be read as answers to later requests. The next
 * request reconnects (cl_request).
 */
#define PIPE_DEPTH 8u
/* Gets go one at a time, of the full 256 KiB: the server closes a connection whose queued
 * output would pass 512 KiB (PL_TLS_DEFAULT_OUTPUT_BOUND, less a margin) and has no way to
 * hold back the answers to gets it already accepted, so the answers in flight must fit in it
 * whatever the client's (or the network's) pace: two 256 KiB answers do not (eight in flight
 * were closed at once on loopback). Smaller gets in flight would fit but cost more frames
 * against the server's frame rate, the ceiling of a long transfer. */
#define CL_ATTACH_GET_BYTES (256u * 1024u)
#define CL_ATTACH_GET_DEPTH 1u

static int pipe_send(pl_client *c, Parley__Request *req, uint64_t *id)
{
    int r = pl_cconn_send(c->conn, req, CL_REQUEST_TIMEOUT_MS);

    if (r != PL_CLIENT_OK) {
        cl_fail(c, r, "%s: %s", c->server, pl_cconn_error(c->conn));
        cl_disconnect(c);
        return r;
    }
    *id = req->id;
    return PL_CLIENT_OK;
}

/* PIPE_RETRY: the server asked to slow down (RATE_LIMITED: its per-connection frame rate,
 * [server] frames_per_second, or BlobGet's read budget). The pipeline drains,
 * waits and resends from the last acknowledged byte; PIPE_RETRIES waits in a row without
 * progress fail the transfer. */
#define PIPE_RETRY 1
#define PIPE_RETRIES 100
#define PIPE_RETRY_MAX_MS 2000u

static int pipe_await(pl_client *c, uint64_t id, int body_case, Parley__ServerFrame **out,
                      uint32_t *retry_ms, const char *what)
{
    Parley__ServerFrame *f = NULL;
    int r = pl_cconn_await(c->conn, id, &f, CL_REQUEST_TIMEOUT_MS);

    *out = NULL;
    if (r != PL_CLIENT_OK) {
        cl_fail(c, r, "%s: %s", c->server, pl_cconn_error(c->conn));
        cl_disconnect(c);
        return r;
    }
    if (retry_ms && cl_status(f) == PARLEY__STATUS_CODE__STATUS_RATE_LIMITED) {
        *retry_ms = f->response->status->retry_after_ms;
        pl_frame_server_free(f);
        return PIPE_RETRY;
    }
    if ((r = check_answer(c, f, body_case, what)) != PL_CLIENT_OK) {
        cl_disconnect(c);
        return r;
    }
    *out = f;
    return PL_CLIENT_OK;
}

/* After a PIPE_RETRY at the head: reads and drops the n - 1 answers behind it (refused, or
 * for bytes that will be asked again), then waits long enough for the whole window to pass
 * the server's limit (retry_ms is for one frame). 0, or a connection error. */
static int pipe_back_off(pl_client *c, const uint64_t *ids, size_t head, size_t n, size_t depth,
                         uint32_t retry_ms, int *retries)
{
    uint64_t wait_ms = (uint64_t)(retry_ms ? retry_ms : 1) * depth;
    struct timespec ts;

    for (size_t k = 1; k < n; k++) {
        Parley__ServerFrame *f = NULL;
        int r = pl_cconn_await(c->conn, ids[(head + k) % PIPE_DEPTH], &f, CL_REQUEST_TIMEOUT_MS);

        if (r != PL_CLIENT_OK) {
            cl_fail(c, r, "%s: %s", c->server, pl_cconn_error(c->conn));
            cl_disconnect(c);
            return r;
        }
        pl_frame_server_free(f);
    }
    if (++*retries > PIPE_RETRIES)
        return cl_fail(c, PL_CLIENT_E_REFUSED,
                       "the server kept refusing the transfer as too fast (rate limited)");
    if (wait_ms > PIPE_RETRY_MAX_MS)
        wait_ms = PIPE_RETRY_MAX_MS;
    ts.tv_sec = (time_t)(wait_ms / 1000);
    ts.tv_nsec = (long)(wait_ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
    return PL_CLIENT_OK;
}

/* ---- Sending ---------------------------------------------------------------------------- */

static int blob_status(pl_client *c, const uint8_t *id, uint64_t *received)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__BlobStatusGet body = PARLEY__BLOB_STATUS_GET__INIT;
    Parley__ServerFrame *f;
    int r;

    body.blob_id.data = (uint8_t *)id;
    body.blob_id.len = CL_ATTACH_BLOB_ID_BYTES;
    req.body_case = PARLEY__REQUEST__BODY_BLOB_STATUS;
    req.blob_status = &body;
    if ((r = blob_call(c, &req, &f, "resuming an upload")) != PL_CLIENT_OK)
        return r;
    *received = f->response->blob_status->received;
    pl_frame_server_free(f);
    return PL_CLIENT_OK;
}

/* Uploads enc_path's bytes from what the server holds, PIPE_DEPTH puts in flight; then
 * completes the blob. Each answer must acknowledge exactly the bytes up to its put's end. */
static int upload(pl_client *c, const uint8_t *id, const char *enc_path, uint64_t total,
                  pl_client_progress_cb progress, void *pctx)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__BlobPut put = PARLEY__BLOB_PUT__INIT;
    Parley__BlobComplete done = PARLEY__BLOB_COMPLETE__INIT;
    Parley__ServerFrame *f = NULL;
    uint8_t *buf = malloc(CL_ATTACH_PUT_BYTES); /* a put is encoded and written when sent */
    uint64_t at = 0, sent, ids[PIPE_DEPTH], ends[PIPE_DEPTH];
    size_t head = 0, n = 0;
    uint32_t retry_ms = 0;
    int fd = -1, r, retries = 0;

    if (!buf)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    if ((r = blob_status(c, id, &at)) != PL_CLIENT_OK)
        goto out;
    if ((fd = open(enc_path, O_RDONLY | O_CLOEXEC)) < 0) {
        r = cl_fail(c, PL_CLIENT_E_STORE, "cannot open %s: %s", enc_path, strerror(errno));
        goto out;
    }
    if ((r = cl_connect(c)) != PL_CLIENT_OK)
        goto out;
    put.blob_id.data = (uint8_t *)id;
    put.blob_id.len = CL_ATTACH_BLOB_ID_BYTES;
    req.body_case = PARLEY__REQUEST__BODY_BLOB_PUT;
    req.blob_put = &put;
    sent = at;
    while (at < total) {
        while (n < PIPE_DEPTH && sent < total) {
            size_t want =
                total - sent < CL_ATTACH_PUT_BYTES ? (size_t)(total - sent) : CL_ATTACH_PUT_BYTES;
            size_t slot = (head + n) % PIPE_DEPTH;

            if (pread(fd, buf, want, (off_t)sent) != (ssize_t)want) {
                r = cl_fail(c, PL_CLIENT_E_STORE, "cannot read %s", enc_path);
                goto out;
            }
            put.offset = sent;
            put.data.data = buf;
            put.data.len = want;
            if ((r = pipe_send(c, &req, &ids[slot])) != PL_CLIENT_OK) {
                n = 0; /* dropped with the connection */
                goto out;
            }
            sent += want;
            ends[slot] = sent;
            n++;
        }
        r = pipe_await(c, ids[head], PARLEY__REQUEST__BODY_BLOB_PUT, &f, &retry_ms,
                       "uploading a file");
        if (r == PIPE_RETRY) {
            /* The puts behind it find received short of their offset: none is written. */
            if ((r = pipe_back_off(c, ids, head, n, PIPE_DEPTH, retry_ms, &retries)) !=
                PL_CLIENT_OK) {
                n = 0;
                goto out;
            }
            head = n = 0;
            sent = at;
            continue;
        }
        if (r != PL_CLIENT_OK) {
            n = 0;
            goto out;
        }
        retries = 0;
        at = f->response->blob_put->received;
        pl_frame_server_free(f);
        f = NULL;
        if (at != ends[head]) {
            r = cl_fail(c, PL_CLIENT_E_PROTOCOL, "the server acknowledged another length");
            goto out;
        }
        head = (head + 1) % PIPE_DEPTH;
        n--;
        if (progress)
            progress(pctx, at, total);
    }
    done.blob_id.data = (uint8_t *)id;
    done.blob_id.len = CL_ATTACH_BLOB_ID_BYTES;
    req.body_case = PARLEY__REQUEST__BODY_BLOB_COMPLETE;
    req.blob_complete = &done;
    if ((r = blob_call(c, &req, &f, "completing an upload")) == PL_CLIENT_OK)
        pl_frame_server_free(f);
out:
    if (n > 0 && c->conn)
        cl_disconnect(c); /* answers still in flight */
    if (fd >= 0)
        close(fd);
    free(buf);
    return r;
}

/* The upload's name: hex of a hash of the target ("@user" or "#group": the blob's expected
 * fetches are the target's), the absolute path, size and modification time. */
static int upload_name(pl_client *c, const char *target, const char *path, const struct stat *st,
                       char out[64])
{
    char abs[PATH_MAX], hex[33];
    uint8_t h[16];
    crypto_generichash_state gs;

    if (!realpath(path, abs))
        return cl_fail(c, PL_CLIENT_E_USAGE, "cannot resolve %s: %s", path, strerror(errno));
    crypto_generichash_init(&gs, NULL, 0, sizeof h);
    crypto_generichash_update(&gs, (const uint8_t *)target, strlen(target) + 1);
    crypto_generichash_update(&gs, (const uint8_t *)abs, strlen(abs) + 1);
    crypto_generichash_update(&gs, (const uint8_t *)&st->st_size, sizeof st->st_size);
    crypto_generichash_update(&gs, (const uint8_t *)&st->st_mtim, sizeof st->st_mtim);
    crypto_generichash_final(&gs, h, sizeof h);
    cl_hex(h, sizeof h, hex);
    snprintf(out, 64, "attach/up/%s", hex);
    return PL_CLIENT_OK;
}

/* The verified devices of user (waiting, as pl_client_send does, for a new account's first
 * log entry), counting this device out when user is us. */
static int verified_devices(pl_client *c, const char *user, uint32_t *n)
{
    cl_kt_state *kt = malloc(sizeof *kt);
    cl_device_list list;
    int r, us = strcmp(user, c->username) == 0;

    *n = 0;
    if (!kt)
        return cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
    for (int i = 0;
         (r = cl_kt_current(c, user, i > 0, kt)) == PL_CLIENT_E_KT_UNLOGGED && i < CL_KT_RETRIES;
         i++) {
        struct timespec ts = {CL_KT_RETRY_MS / 1000, (CL_KT_RETRY_MS % 1000) * 1000000L};

        nanosleep(&ts, NULL);
    }
    if (r == PL_CLIENT_OK) {
        cl_kt_to_device_list(kt, &list);
        for (size_t i = 0; i < list.n; i++)
            if (!(us && list.records[i].device_id == c->device_id))
                (*n)++;
    }
    free(kt);
    return r;
}

/*
 * Expected fetches (PROTOCOL.md §27.4): every device that will receive the descriptor and
 * fetch the blob. One-to-one: the recipient's verified devices and our own other devices
 * (they get the sender copy); to ourselves, our other devices. A group: every member device
 * but this one (cl_group_recipient_devices, as pl_client_group_send addresses them). At least
 * 1 (the server's minimum): a blob no device fetches expires. More than the wire's maximum
 * (10,000) is refused (E_USAGE) rather than undercounted.
 */
static int recipient_devices(pl_client *c, const char *to, const char *group, uint32_t *n)
{
    uint32_t ours = 0, theirs = 0;
    int r;

    *n = 1;
    if (group) {
        size_t devices = 0;

        if ((r = cl_group_recipient_devices(c, group, &devices)) != PL_CLIENT_OK)
            return r;
        theirs = (uint32_t)devices;
    } else {
        if ((r = verified_devices(c, to, &theirs)) != PL_CLIENT_OK)
            return r;
        if (strcmp(to, c->username) != 0 &&
            (r = verified_devices(c, c->username, &ours)) != PL_CLIENT_OK)
            return r;
    }
    if ((uint64_t)theirs + ours > PL_WIRE_BLOB_MAX_FETCHES)
        /* Fewer expected fetches would delete the file before the last devices fetch it. */
        return cl_fail(c, PL_CLIENT_E_USAGE,
                       "a file cannot go to more than %u devices (the server's limit on a "
                       "blob's expected fetches); this one would reach %llu",
                       PL_WIRE_BLOB_MAX_FETCHES, (unsigned long long)theirs + ours);
    *n = theirs + ours > 0 ? theirs + ours : 1;
    return PL_CLIENT_OK;
}

/* Encrypts path into a new blob file and creates the blob; fills a (whose pointers point
 * into key, id, hash and name_buf) and the encrypted file's path. */
static int prepare(pl_client *c, const char *to, const char *group, const char *path,
                   const char *media_type, Parley__Attachment *a, uint8_t key[32], uint8_t id[16],
                   uint8_t hash[32], char *enc_path, size_t enc_cap)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__BlobCreate body = PARLEY__BLOB_CREATE__INIT;
    Parley__ServerFrame *f = NULL;
    char tmp[CL_PATH_MAX + 64], dir[CL_PATH_MAX + 16];
    uint64_t size = 0;
    uint32_t fetches;
    int in = -1, out = -1, r, e;

    if ((r = attach_dir(c, dir, sizeof dir)) != PL_CLIENT_OK)
        return r;
    snprintf(tmp, sizeof tmp, "%s/upload-XXXXXX", dir);
    /* Counted first: a group we cannot send to stops the send before a long encryption. */
    if ((r = recipient_devices(c, to, group, &fetches)) != PL_CLIENT_OK) {
        tmp[0] = '\0';
        goto out;
    }
    if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        r = cl_fail(c, PL_CLIENT_E_USAGE, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    if ((out = mkstemp(tmp)) < 0) {
        r = cl_fail(c, PL_CLIENT_E_STORE, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    randombytes_buf(key, 32);
    e = cl_attach_encrypt_fd(in, out, key, &size, hash);
    if (e == -2) {
        r = cl_fail(c, PL_CLIENT_E_USAGE, "%s is larger than 2 GiB", path);
        goto out;
    }
    if (e != 0 || fsync(out) != 0) {
        r = cl_fail(c, PL_CLIENT_E_STORE, "cannot encrypt %s into %s", path, tmp);
        goto out;
    }
    body.size = cl_attach_cipher_size(size, CL_ATTACH_CHUNK_BYTES);
    body.expected_fetches = fetches;
    req.body_case = PARLEY__REQUEST__BODY_BLOB_CREATE;
    req.blob_create = &body;
    if ((r = blob_call(c, &req, &f, "uploading a file")) != PL_CLIENT_OK)
        goto out;
    memcpy(id, f->response->blob_create->blob_id.data, CL_ATTACH_BLOB_ID_BYTES);
    pl_frame_server_free(f);
    if ((r = blob_file(c, id, ".up", enc_path, enc_cap)) != PL_CLIENT_OK)
        goto out;
    if (rename(tmp, enc_path) != 0) {
        r = cl_fail(c, PL_CLIENT_E_STORE, "cannot rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    a->blob_id.data = id;
    a->blob_id.len = CL_ATTACH_BLOB_ID_BYTES;
    a->key.data = key;
    a->key.len = 32;
    a->sha256.data = hash;
    a->sha256.len = 32;
    a->size = size;
    a->chunk_bytes = CL_ATTACH_CHUNK_BYTES;
    a->media_type = (char *)(media_type ? media_type : "");
    r = PL_CLIENT_OK;
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (r != PL_CLIENT_OK && tmp[0])
        unlink(tmp);
    return r;
}

/* pl_client_send_file (group NULL) and pl_client_group_send_file (to NULL). */
static int send_file(pl_client *c, const char *to, const char *group, const char *path,
                     const char *media_type, const char *caption, pl_client_progress_cb progress,
                     void *pctx, char id_out[33])
{
    Parley__Attachment a = PARLEY__ATTACHMENT__INIT, *saved = NULL;
    uint8_t key[32], id[16], hash[32], *packed = NULL, *blob = NULL;
    char name[CL_ATTACH_MAX_NAME + 1], secret[64], enc_path[CL_PATH_MAX + 64], target[160];
    const char *base, *text;
    size_t packed_len = 0, blob_len = 0;
    struct stat st;
    int r;

    id_out[0] = '\0';
    if (stat(path, &st) != 0)
        return cl_fail(c, PL_CLIENT_E_USAGE, "cannot read %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return cl_fail(c, PL_CLIENT_E_USAGE, "%s is not a regular file", path);
    if ((uint64_t)st.st_size > CL_ATTACH_MAX_SIZE)
        return cl_fail(c, PL_CLIENT_E_USAGE, "%s is larger than 2 GiB", path);
    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(name, sizeof name, "%s", base);
    snprintf(target, sizeof target, "%c%s", group ? '#' : '@', group ? group : to);
    if ((r = upload_name(c, target, path, &st, secret)) != PL_CLIENT_OK)
        return r;
    if ((r = cl_connect(c)) != PL_CLIENT_OK)
        return r;
    a.name = name;
    r = pl_cstore_secret_get(c->store, secret, &blob, &blob_len);
    if (r == PL_CSTORE_OK && (saved = parley__attachment__unpack(NULL, blob_len, blob)) &&
        cl_attachment_check(saved) == 0 &&
        blob_file(c, saved->blob_id.data, ".up", enc_path, sizeof enc_path) == PL_CLIENT_OK &&
        access(enc_path, R_OK) == 0) {
        /* An interrupted upload of this very file: resume it. */
        a = *saved;
        a.name = name;
    } else {
        if (saved)
            parley__attachment__free_unpacked(saved, NULL);
        saved = NULL;
        if ((r = prepare(c, to, group, path, media_type, &a, key, id, hash, enc_path,
                         sizeof enc_path)) != PL_CLIENT_OK)
            goto out;
        packed_len = parley__attachment__get_packed_size(&a);
        if (!(packed = malloc(packed_len))) {
            r = cl_fail(c, PL_CLIENT_E_NOMEM, "out of memory");
            goto out;
        }
        parley__attachment__pack(&a, packed);
        if ((r = pl_cstore_secret_put(c->store, secret, packed, packed_len)) != PL_CSTORE_OK) {
            r = cl_store_fail(c, r, "recording an upload");
            goto out;
        }
    }
    r = upload(c, a.blob_id.data, enc_path, cl_attach_cipher_size(a.size, a.chunk_bytes), progress,
               pctx);
    if (r == PL_CLIENT_E_NOT_FOUND && saved) {
        /* The resumed blob expired on the server: forget it, the next run starts over. */
        (void)pl_cstore_secret_delete(c->store, secret);
        unlink(enc_path);
    }
    if (r != PL_CLIENT_OK)
        goto out;
    text = caption && *caption ? caption : name;
    c->attach_next = &a;
    r = group ? pl_client_group_send(c, group, text, strlen(text), id_out)
              : pl_client_send(c, to, text, strlen(text), id_out);
    c->attach_next = NULL;
    if (r != PL_CLIENT_OK)
        goto out;
    /* Sent: the upload is done. The blob stays on the server until fetched or expired. */
    (void)pl_cstore_secret_delete(c->store, secret);
    unlink(enc_path);
out:
    if (saved)
        parley__attachment__free_unpacked(saved, NULL);
    if (packed) {
        sodium_memzero(packed, packed_len);
        free(packed);
    }
    if (blob)
        pl_cstore_free_secret(blob, blob_len);
    sodium_memzero(key, sizeof key);
    return r;
}

int pl_client_send_file(pl_client *c, const char *to, const char *path, const char *media_type,
                        const char *caption, pl_client_progress_cb progress, void *pctx,
                        char id_out[33])
{
    return send_file(c, to, NULL, path, media_type, caption, progress, pctx, id_out);
}

int pl_client_group_send_file(pl_client *c, const char *group, const char *path,
                              const char *media_type, const char *caption,
                              pl_client_progress_cb progress, void *pctx, char id_out[33])
{
    return send_file(c, NULL, group, path, media_type, caption, progress, pctx, id_out);
}

/* ---- Receiving -------------------------------------------------------------------------- */

static void down_secret(const uint8_t msg_id[16], char out[64])
{
    char hex[33];

    cl_hex(msg_id, 16, hex);
    snprintf(out, 64, "attach/down/%s", hex);
}

int cl_attach_record_incoming(pl_client *c, const uint8_t msg_id[16], const char *from,
                              const Parley__Attachment *a)
{
    Parley__Attachment copy = *a;
    uint8_t *list = NULL, *packed = NULL, *grown = NULL;
    size_t list_len = 0, packed_len;
    char name[64];
    int r;

    (void)from;
    r = pl_cstore_secret_get(c->store, PENDING_SECRET, &list, &list_len);
    if (r == PL_CSTORE_E_NOT_FOUND)
        r = PL_CSTORE_OK;
    if (r != PL_CSTORE_OK)
        return r;
    if (list_len % 16 != 0 || list_len / 16 >= PENDING_MAX) {
        r = PL_CSTORE_OK; /* too many waiting: the message is kept, its file is not fetched */
        goto out;
    }
    copy.base.unknown_fields = NULL;
    copy.base.n_unknown_fields = 0;
    packed_len = parley__attachment__get_packed_size(&copy);
    if (!(packed = malloc(packed_len)) || !(grown = malloc(list_len + 16))) {
        r = PL_CSTORE_E_NOMEM;
        goto out;
    }
    parley__attachment__pack(&copy, packed);
    down_secret(msg_id, name);
    if (list_len)
        memcpy(grown, list, list_len);
    memcpy(grown + list_len, msg_id, 16);
    if ((r = pl_cstore_secret_put(c->store, name, packed, packed_len)) == PL_CSTORE_OK)
        r = pl_cstore_secret_put(c->store, PENDING_SECRET, grown, list_len + 16);
    if (r == PL_CSTORE_OK) {
        c->files_pending = 1;
        c->files_retry_at_ms = 0; /* a new file: try now */
    }
out:
    if (packed) {
        sodium_memzero(packed, packed_len);
        free(packed);
    }
    free(grown);
    if (list)
        pl_cstore_free_secret(list, list_len);
    return r;
}

/* Removes msg_id from the pending list and its descriptor. */
static void forget_download(pl_client *c, const uint8_t msg_id[16])
{
    uint8_t *list = NULL;
    size_t len = 0, kept = 0;
    char name[64];

    if (pl_cstore_secret_get(c->store, PENDING_SECRET, &list, &len) == PL_CSTORE_OK) {
        for (size_t i = 0; i + 16 <= len; i += 16)
            if (memcmp(list + i, msg_id, 16) != 0) {
                memmove(list + kept, list + i, 16);
                kept += 16;
            }
        (void)pl_cstore_secret_put(c->store, PENDING_SECRET, list, kept);
        pl_cstore_free_secret(list, len);
    }
    down_secret(msg_id, name);
    (void)pl_cstore_secret_delete(c->store, name);
}

/* Downloads the blob into dl_path from its current length, CL_ATTACH_GET_DEPTH gets in flight
 * (the ring's slots are PIPE_DEPTH). Each
 * answer must hold exactly the bytes asked for (the server sends min(max, size - offset)). */
static int download(pl_client *c, const Parley__Attachment *a, const char *dl_path,
                    pl_client_progress_cb progress, void *pctx)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__BlobGet get = PARLEY__BLOB_GET__INIT;
    Parley__ServerFrame *f = NULL;
    uint64_t total = cl_attach_cipher_size(a->size, a->chunk_bytes), at, sent, ids[PIPE_DEPTH];
    size_t head = 0, n = 0;
    uint32_t retry_ms = 0;
    struct stat st;
    int fd, r = PL_CLIENT_OK, retries = 0;

    if ((fd = open(dl_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0 || fstat(fd, &st) != 0) {
        r = cl_fail(c, PL_CLIENT_E_STORE, "cannot open %s: %s", dl_path, strerror(errno));
        goto out;
    }
    at = (uint64_t)st.st_size;
    if (at > total) { /* not ours to trust: start over */
        if (ftruncate(fd, 0) != 0) {
            r = cl_fail(c, PL_CLIENT_E_STORE, "cannot truncate %s", dl_path);
            goto out;
        }
        at = 0;
    }
    if (at < total && (r = cl_connect(c)) != PL_CLIENT_OK)
        goto out;
    get.blob_id = a->blob_id;
    get.max = CL_ATTACH_GET_BYTES;
    req.body_case = PARLEY__REQUEST__BODY_BLOB_GET;
    req.blob_get = &get;
    sent = at;
    while (at < total) {
        const Parley__BlobData *d;
        uint64_t want = total - at < CL_ATTACH_GET_BYTES ? total - at : CL_ATTACH_GET_BYTES;

        while (n < CL_ATTACH_GET_DEPTH && sent < total) {
            get.offset = sent;
            if ((r = pipe_send(c, &req, &ids[(head + n) % PIPE_DEPTH])) != PL_CLIENT_OK) {
                n = 0;
                goto out;
            }
            sent += total - sent < CL_ATTACH_GET_BYTES ? total - sent : CL_ATTACH_GET_BYTES;
            n++;
        }
        r = pipe_await(c, ids[head], PARLEY__REQUEST__BODY_BLOB_GET, &f, &retry_ms,
                       "downloading a file");
        if (r == PIPE_RETRY) {
            if ((r = pipe_back_off(c, ids, head, n, CL_ATTACH_GET_DEPTH, retry_ms, &retries)) !=
                PL_CLIENT_OK) {
                n = 0;
                goto out;
            }
            head = n = 0;
            sent = at;
            continue;
        }
        if (r != PL_CLIENT_OK) {
            n = 0;
            goto out;
        }
        retries = 0;
        head = (head + 1) % PIPE_DEPTH;
        n--;
        d = f->response->blob_get;
        if (d->offset != at || d->size != total || d->data.len != want) {
            pl_frame_server_free(f);
            r = cl_fail(c, PL_CLIENT_E_PROTOCOL, "the server sent a blob of another size");
            goto out;
        }
        if (pwrite(fd, d->data.data, d->data.len, (off_t)at) != (ssize_t)d->data.len) {
            pl_frame_server_free(f);
            r = cl_fail(c, PL_CLIENT_E_STORE, "cannot write %s", dl_path);
            goto out;
        }
        at += d->data.len;
        pl_frame_server_free(f);
        if (progress)
            progress(pctx, at, total);
    }
    if (fsync(fd) != 0)
        r = cl_fail(c, PL_CLIENT_E_STORE, "cannot write %s", dl_path);
out:
    if (n > 0 && c->conn)
        cl_disconnect(c); /* answers still in flight */
    if (fd >= 0)
        close(fd);
    return r;
}

/* Decrypts dl_path into a new file of dir named after a->name (made unique); writes its path.
 * -3 (as a client E_PROTOCOL) when the blob does not check. */
static int decrypt_into(pl_client *c, const Parley__Attachment *a, const char *dl_path,
                        const char *dir, char *final, size_t cap)
{
    char part[CL_PATH_MAX + 300];
    int in = -1, out = -1, r = PL_CLIENT_E_STORE, e;

    final[0] = '\0';
    snprintf(part, sizeof part, "%s/.%s.part", dir, a->name);
    if ((in = open(dl_path, O_RDONLY | O_CLOEXEC)) < 0 ||
        (out = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        r = cl_fail(c, PL_CLIENT_E_STORE, "cannot write into %s: %s", dir, strerror(errno));
        goto out;
    }
    e = cl_attach_decrypt_fd(in, out, a);
    if (e == -3) {
        r = cl_fail(c, PL_CLIENT_E_PROTOCOL,
                    "the file %s does not match what its sender announced (tampered with): "
                    "discarded",
                    a->name);
        goto out;
    }
    if (e != 0 || fsync(out) != 0) {
        r = cl_fail(c, PL_CLIENT_E_STORE, "cannot write %s", part);
        goto out;
    }
    /* A free name: "name", then "name (1)", ... never replacing an existing file. */
    for (unsigned i = 0; i < 1000; i++) {
        if (i == 0)
            snprintf(final, cap, "%s/%s", dir, a->name);
        else
            snprintf(final, cap, "%s/%s (%u)", dir, a->name, i);
        if (link(part, final) == 0) {
            unlink(part);
            part[0] = '\0';
            r = PL_CLIENT_OK;
            goto out;
        }
        if (errno != EEXIST)
            break;
    }
    r = cl_fail(c, PL_CLIENT_E_STORE, "cannot save %s into %s", a->name, dir);
    final[0] = '\0';
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (part[0] && r != PL_CLIENT_OK)
        unlink(part);
    return r;
}

static void blob_fetched(pl_client *c, const Parley__Attachment *a)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__BlobFetched body = PARLEY__BLOB_FETCHED__INIT;
    Parley__ServerFrame *f = NULL;

    body.blob_id = a->blob_id;
    req.body_case = PARLEY__REQUEST__BODY_BLOB_FETCHED;
    req.blob_fetched = &body;
    if (blob_call(c, &req, &f, "confirming a download") == PL_CLIENT_OK)
        pl_frame_server_free(f);
}

int pl_client_fetch_files(pl_client *c, const char *save_dir, pl_client_progress_cb progress,
                          void *pctx, pl_client_file_cb cb, void *ctx)
{
    uint8_t *list = NULL;
    size_t list_len = 0;
    char dir[CL_PATH_MAX + 16];
    int r, failed = PL_CLIENT_OK;

    if (save_dir) {
        snprintf(dir, sizeof dir, "%s", save_dir);
    } else if (snprintf(dir, sizeof dir, "%s/downloads", c->home) >= (int)sizeof dir) {
        return cl_fail(c, PL_CLIENT_E_USAGE, "the home path is too long");
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cl_fail(c, PL_CLIENT_E_USAGE, "cannot create %s: %s", dir, strerror(errno));
    r = pl_cstore_secret_get(c->store, PENDING_SECRET, &list, &list_len);
    if (r == PL_CSTORE_E_NOT_FOUND)
        return PL_CLIENT_OK;
    if (r != PL_CSTORE_OK)
        return cl_store_fail(c, r, "reading pending downloads");
    for (size_t i = 0; i + 16 <= list_len; i += 16) {
        const uint8_t *msg_id = list + i;
        Parley__Attachment *a = NULL;
        uint8_t *packed = NULL;
        size_t packed_len = 0;
        char name[64], dl_path[CL_PATH_MAX + 64], final[CL_PATH_MAX + 300], hex[65];
        pl_client_file file;

        down_secret(msg_id, name);
        if (pl_cstore_secret_get(c->store, name, &packed, &packed_len) != PL_CSTORE_OK ||
            !(a = parley__attachment__unpack(NULL, packed_len, packed)) ||
            cl_attachment_check(a) != 0) {
            forget_download(c, msg_id);
            goto next;
        }
        if ((r = blob_file(c, a->blob_id.data, ".down", dl_path, sizeof dl_path)) != PL_CLIENT_OK ||
            (r = download(c, a, dl_path, progress, pctx)) != PL_CLIENT_OK) {
            if (r == PL_CLIENT_E_NOT_FOUND) { /* expired or fetched by all: nothing to wait for */
                forget_download(c, msg_id);
                unlink(dl_path);
            }
            failed = r;
            goto next;
        }
        r = decrypt_into(c, a, dl_path, dir, final, sizeof final);
        if (r == PL_CLIENT_OK || r == PL_CLIENT_E_PROTOCOL) {
            /* Done with this blob either way: a tampered one is never fetched again. */
            unlink(dl_path);
            blob_fetched(c, a);
            forget_download(c, msg_id);
        }
        if (r != PL_CLIENT_OK) {
            failed = r;
            goto next;
        }
        memset(&file, 0, sizeof file);
        cl_hex(msg_id, 16, file.message_id);
        file.path = final;
        file.name = a->name;
        file.media_type = a->media_type;
        file.size = a->size;
        cl_hex(a->sha256.data, 32, hex);
        memcpy(file.sha256, hex, sizeof file.sha256);
        if (cb && cb(ctx, &file))
            i = list_len; /* stop */
    next:
        if (a)
            parley__attachment__free_unpacked(a, NULL);
        if (packed)
            pl_cstore_free_secret(packed, packed_len);
    }
    pl_cstore_free_secret(list, list_len);
    return failed;
}

int pl_client_on_files(pl_client *c, const char *save_dir, pl_client_progress_cb progress,
                       void *pctx, pl_client_file_cb cb, void *ctx)
{
    if (snprintf(c->files_dir, sizeof c->files_dir, "%s", save_dir ? save_dir : "") >=
        (int)sizeof c->files_dir)
        return cl_fail(c, PL_CLIENT_E_USAGE, "the save directory's path is too long");
    c->files_on = 1;
    c->files_pending = 1; /* what earlier runs left waiting */
    c->files_progress = progress;
    c->files_pctx = pctx;
    c->files_cb = cb;
    c->files_ctx = ctx;
    return PL_CLIENT_OK;
}

/* After a passing failure (connection, disk), the next try waits this long, unless a new
 * descriptor arrives first: one notice per try, not one per idle moment. */
#define FILES_RETRY_MS 30000u

void cl_attach_fetch_when_idle(pl_client *c)
{
    int r;

    if (!c->files_on || !c->files_pending || cl_now_ms() < c->files_retry_at_ms)
        return;
    c->files_pending = 0;
    c->files_retry_at_ms = 0;
    r = pl_client_fetch_files(c, c->files_dir[0] ? c->files_dir : NULL, c->files_progress,
                              c->files_pctx, c->files_cb, c->files_ctx);
    if (r == PL_CLIENT_OK)
        return;
    if (r != PL_CLIENT_E_NOT_FOUND && r != PL_CLIENT_E_PROTOCOL) {
        c->files_pending = 1; /* e.g. the connection dropped: try again later */
        c->files_retry_at_ms = cl_now_ms() + FILES_RETRY_MS;
    }
    if (c->notice)
        c->notice(c->notice_ctx, c->username, c->err);
}
