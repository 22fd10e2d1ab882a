/*
 * group_state.c: group membership state and its signed changes (PROTOCOL.md §30).
 *
 * Invariants of a pl_group_state (checked when one is built, by state_check_shape):
 * 1 <= n_members <= max_members <= PL_GROUP_MAX_MEMBERS; members strictly ascending by
 * username (byte order, a prefix first), so no duplicates; every member has 1..16 devices
 * with strictly ascending ids; name 1..255 bytes; `hash` is SHA-256 of the encoding.
 *
 * pl_group_apply never touches its input state: it parses and checks the change on locals,
 * builds the next state in new memory, and hands it over only when everything passed.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "keys_internal.h"
#include "parley/error.h"
#include "parley/group_state.h"

#define LABEL_CHANGE "parley/group-change/v1"
/* version, kind, group id, epoch, prev_state_hash */
#define CHANGE_FIXED_BYTES (1u + 1u + PL_GROUP_ID_BYTES + 4u + PL_GROUP_HASH_BYTES)

struct pl_group_state {
    uint8_t group_id[PL_GROUP_ID_BYTES];
    uint32_t epoch;
    uint16_t max_members;
    uint8_t last_change_hash[PL_GROUP_HASH_BYTES];
    uint8_t name_len;
    uint8_t name[PL_GROUP_NAME_MAX];
    size_t n_members;
    pl_group_member *members; /* malloc'd, n_members entries (at least one) */
    uint8_t hash[PL_GROUP_HASH_BYTES];
};

/* A parsed, not yet verified change. Borrowed pointers into the input. */
typedef struct parsed_change {
    uint8_t kind;
    uint8_t group_id[PL_GROUP_ID_BYTES];
    uint32_t epoch;
    uint8_t prev_hash[PL_GROUP_HASH_BYTES];
    uint8_t author_len;
    const uint8_t *author;
    uint32_t author_device_id;
    uint16_t max_members;
    uint8_t name_len;
    const uint8_t *name;
    size_t n_members;
    pl_group_member *members; /* malloc'd: create (n_members), add and devices (one) */
    uint8_t username_len;     /* remove */
    const uint8_t *username;
    size_t signed_len; /* bytes before the signature */
    const uint8_t *signature;
} parsed_change;

/* ---- Members ---------------------------------------------------------------------------- */

/* Byte order, a prefix before the longer name. */
static int name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static size_t member_size(const pl_group_member *m)
{
    return 1u + m->username_len + PL_PUBKEY_BYTES + 1u + (size_t)m->n_devices * (4u + 33u);
}

static void member_write(pl__writer *w, const pl_group_member *m)
{
    pl__put_u8(w, m->username_len);
    pl__put_bytes(w, m->username, m->username_len);
    pl__put_bytes(w, m->account_key, PL_PUBKEY_BYTES);
    pl__put_u8(w, m->n_devices);
    for (size_t i = 0; i < m->n_devices; i++) {
        pl__put_u32(w, m->devices[i].device_id);
        pl__put_bytes(w, m->devices[i].identity_key, PL_PUBKEY_BYTES);
    }
}

/* Checks a member's shape without keys: PL_OK or PL_E_MALFORMED. */
static int member_shape(const pl_group_member *m)
{
    if (m->username_len == 0 || m->n_devices == 0 || m->n_devices > PL_GROUP_MAX_DEVICES)
        return PL_E_MALFORMED;
    for (size_t i = 1; i < m->n_devices; i++)
        if (m->devices[i].device_id <= m->devices[i - 1].device_id)
            return PL_E_MALFORMED;
    return PL_OK;
}

static int member_read(pl__reader *r, pl_group_member *m)
{
    int e;

    memset(m, 0, sizeof *m);
    m->username_len = pl__get_u8(r);
    pl__get_copy(r, m->username, m->username_len);
    pl__get_copy(r, m->account_key, PL_PUBKEY_BYTES);
    if (r->err)
        return r->err;
    if ((e = pl__ed25519_key_decode(m->account_key, NULL)) != PL_OK)
        return e;
    m->n_devices = pl__get_u8(r);
    if (m->n_devices == 0 || m->n_devices > PL_GROUP_MAX_DEVICES)
        return r->err ? r->err : PL_E_MALFORMED;
    for (size_t i = 0; i < m->n_devices; i++) {
        m->devices[i].device_id = pl__get_u32(r);
        pl__get_copy(r, m->devices[i].identity_key, PL_PUBKEY_BYTES);
        if (r->err)
            return r->err;
        if ((e = pl__ed25519_key_decode(m->devices[i].identity_key, NULL)) != PL_OK)
            return e;
    }
    return member_shape(m);
}

/* Reads n members, strictly ascending by username, into a new array. */
static int members_read(pl__reader *r, size_t n, pl_group_member **out)
{
    pl_group_member *ms;
    int e = PL_OK;

    *out = NULL;
    /* A valid member takes at least 73 bytes: refuse a list the input cannot hold before
     * allocating for it (a single member is read as it comes, for the exact error). */
    if (n > 1 && pl__reader_left(r) / (1u + 1u + PL_PUBKEY_BYTES + 1u + 4u + PL_PUBKEY_BYTES) < n)
        return PL_E_TRUNCATED;
    if (!(ms = calloc(n ? n : 1, sizeof *ms)))
        return PL_E_NOMEM;
    for (size_t i = 0; i < n && e == PL_OK; i++) {
        e = member_read(r, &ms[i]);
        if (e == PL_OK && i > 0 &&
            name_cmp(ms[i - 1].username, ms[i - 1].username_len, ms[i].username,
                     ms[i].username_len) >= 0)
            e = PL_E_MALFORMED;
    }
    if (e != PL_OK) {
        free(ms);
        return e;
    }
    *out = ms;
    return PL_OK;
}

static long find_member(const pl_group_member *ms, size_t n, const uint8_t *name, size_t len)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(ms[mid].username, ms[mid].username_len, name, len);

        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const pl_group_device *find_device_of(const pl_group_member *m, uint32_t device_id)
{
    for (size_t i = 0; i < m->n_devices; i++)
        if (m->devices[i].device_id == device_id)
            return &m->devices[i];
    return NULL;
}

/* ---- States ----------------------------------------------------------------------------- */

size_t pl_group_state_encoded_size(const pl_group_state *s)
{
    size_t n = 1u + PL_GROUP_ID_BYTES + 4u + 2u + PL_GROUP_HASH_BYTES + 1u + s->name_len + 2u;

    for (size_t i = 0; i < s->n_members; i++)
        n += member_size(&s->members[i]);
    return n;
}

int pl_group_state_encode(const pl_group_state *s, uint8_t *out, size_t cap, size_t *out_len)
{
    pl__writer w = pl__writer_init(out, cap);

    *out_len = 0;
    pl__put_u8(&w, PL_GROUP_VERSION);
    pl__put_bytes(&w, s->group_id, PL_GROUP_ID_BYTES);
    pl__put_u32(&w, s->epoch);
    pl__put_u16(&w, s->max_members);
    pl__put_bytes(&w, s->last_change_hash, PL_GROUP_HASH_BYTES);
    pl__put_u8(&w, s->name_len);
    pl__put_bytes(&w, s->name, s->name_len);
    pl__put_u16(&w, (uint16_t)s->n_members);
    for (size_t i = 0; i < s->n_members; i++)
        member_write(&w, &s->members[i]);
    if (w.err)
        return w.err;
    *out_len = w.off;
    return PL_OK;
}

/* Sets s->hash from the encoding. Returns PL_OK or PL_E_NOMEM. */
static int state_rehash(pl_group_state *s)
{
    size_t n = pl_group_state_encoded_size(s), got;
    uint8_t *buf = malloc(n);
    int r;

    if (buf == NULL)
        return PL_E_NOMEM;
    r = pl_group_state_encode(s, buf, n, &got);
    if (r == PL_OK)
        crypto_hash_sha256(s->hash, buf, got);
    free(buf);
    return r;
}

void pl_group_state_free(pl_group_state *state)
{
    if (state == NULL)
        return;
    free(state->members);
    free(state);
}

/* A copy of s with room for `extra` more members. */
static pl_group_state *state_copy(const pl_group_state *s, size_t extra)
{
    pl_group_state *c = malloc(sizeof *c);

    if (c == NULL)
        return NULL;
    *c = *s;
    if (!(c->members = malloc((s->n_members + extra) * sizeof *c->members))) {
        free(c);
        return NULL;
    }
    memcpy(c->members, s->members, s->n_members * sizeof *c->members);
    return c;
}

int pl_group_state_decode(const uint8_t *in, size_t len, pl_group_state **out)
{
    pl__reader r = pl__reader_init(in, len);
    pl_group_state *s;
    int e;

    *out = NULL;
    if (!(s = calloc(1, sizeof *s)))
        return PL_E_NOMEM;
    if (pl__get_u8(&r) != PL_GROUP_VERSION) {
        e = r.err ? r.err : PL_E_VERSION;
        goto fail;
    }
    pl__get_copy(&r, s->group_id, PL_GROUP_ID_BYTES);
    s->epoch = pl__get_u32(&r);
    s->max_members = pl__get_u16(&r);
    pl__get_copy(&r, s->last_change_hash, PL_GROUP_HASH_BYTES);
    s->name_len = pl__get_u8(&r);
    pl__get_copy(&r, s->name, s->name_len);
    s->n_members = pl__get_u16(&r);
    if ((e = r.err) != PL_OK)
        goto fail;
    if (s->name_len == 0 || s->max_members == 0 || s->max_members > PL_GROUP_MAX_MEMBERS ||
        s->n_members == 0) {
        e = PL_E_MALFORMED;
        goto fail;
    }
    if (s->n_members > s->max_members) {
        e = PL_E_TOO_LARGE;
        goto fail;
    }
    if ((e = members_read(&r, s->n_members, &s->members)) != PL_OK ||
        (e = pl__reader_finish(&r)) != PL_OK || (e = state_rehash(s)) != PL_OK)
        goto fail;
    *out = s;
    return PL_OK;
fail:
    pl_group_state_free(s);
    return e;
}

void pl_group_state_id(const pl_group_state *s, uint8_t out[PL_GROUP_ID_BYTES])
{
    memcpy(out, s->group_id, PL_GROUP_ID_BYTES);
}

uint32_t pl_group_state_epoch(const pl_group_state *s)
{
    return s->epoch;
}

uint16_t pl_group_state_max_members(const pl_group_state *s)
{
    return s->max_members;
}

const uint8_t *pl_group_state_name(const pl_group_state *s, size_t *len)
{
    *len = s->name_len;
    return s->name;
}

size_t pl_group_state_member_count(const pl_group_state *s)
{
    return s->n_members;
}

const pl_group_member *pl_group_state_member(const pl_group_state *s, size_t index)
{
    if (index >= s->n_members)
        abort(); /* misuse */
    return &s->members[index];
}

long pl_group_state_find_member(const pl_group_state *s, const uint8_t *username,
                                size_t username_len)
{
    return find_member(s->members, s->n_members, username, username_len);
}

long pl_group_state_find_device(const pl_group_state *s, uint32_t device_id,
                                const uint8_t identity_key[PL_PUBKEY_BYTES])
{
    for (size_t i = 0; i < s->n_members; i++) {
        const pl_group_device *d = find_device_of(&s->members[i], device_id);

        if (d && sodium_memcmp(d->identity_key, identity_key, PL_PUBKEY_BYTES) == 0)
            return (long)i;
    }
    return -1;
}

void pl_group_state_hash(const pl_group_state *s, uint8_t out[PL_GROUP_HASH_BYTES])
{
    memcpy(out, s->hash, PL_GROUP_HASH_BYTES);
}

int pl_group_member_check_account_state(const pl_group_member *m, const pl_account_state *a)
{
    if (sodium_memcmp(m->account_key, a->account_key, PL_PUBKEY_BYTES) != 0 ||
        m->n_devices != a->n_devices)
        return PL_E_IDENTITY_MISMATCH;
    /* Both lists are in ascending device id order. */
    for (size_t i = 0; i < m->n_devices; i++)
        if (m->devices[i].device_id != a->devices[i].device_id ||
            sodium_memcmp(m->devices[i].identity_key, a->devices[i].identity_key,
                          PL_PUBKEY_BYTES) != 0)
            return PL_E_IDENTITY_MISMATCH;
    return PL_OK;
}

/* ---- Changes ---------------------------------------------------------------------------- */

static void parsed_free(parsed_change *c)
{
    free(c->members);
    c->members = NULL;
}

static int change_parse(const uint8_t *in, size_t len, parsed_change *c)
{
    pl__reader r;
    int e;

    memset(c, 0, sizeof *c);
    if (len < CHANGE_FIXED_BYTES + 1u + 4u + PL_SIGNATURE_BYTES)
        return PL_E_TRUNCATED;
    if (len > PL_GROUP_CHANGE_MAX_BYTES)
        return PL_E_TOO_LARGE;
    c->signed_len = len - PL_SIGNATURE_BYTES;
    c->signature = in + c->signed_len;
    r = pl__reader_init(in, c->signed_len);
    if (pl__get_u8(&r) != PL_GROUP_VERSION)
        return PL_E_VERSION;
    c->kind = pl__get_u8(&r);
    if (c->kind < PL_GROUP_CHANGE_CREATE || c->kind > PL_GROUP_CHANGE_DEVICES)
        return PL_E_MALFORMED;
    pl__get_copy(&r, c->group_id, PL_GROUP_ID_BYTES);
    c->epoch = pl__get_u32(&r);
    pl__get_copy(&r, c->prev_hash, PL_GROUP_HASH_BYTES);
    c->author_len = pl__get_u8(&r);
    c->author = pl__get_bytes(&r, c->author_len);
    c->author_device_id = pl__get_u32(&r);
    if (r.err)
        return r.err;
    if (c->author_len == 0)
        return PL_E_MALFORMED;

    switch (c->kind) {
    case PL_GROUP_CHANGE_CREATE:
        c->max_members = pl__get_u16(&r);
        c->name_len = pl__get_u8(&r);
        c->name = pl__get_bytes(&r, c->name_len);
        c->n_members = pl__get_u16(&r);
        if (r.err)
            return r.err;
        if (c->max_members == 0 || c->max_members > PL_GROUP_MAX_MEMBERS || c->name_len == 0 ||
            c->n_members == 0)
            return PL_E_MALFORMED;
        if (c->n_members > c->max_members)
            return PL_E_TOO_LARGE;
        if ((e = members_read(&r, c->n_members, &c->members)) != PL_OK)
            return e;
        break;
    case PL_GROUP_CHANGE_ADD:
    case PL_GROUP_CHANGE_DEVICES:
        c->n_members = 1;
        if ((e = members_read(&r, 1, &c->members)) != PL_OK)
            return e;
        break;
    case PL_GROUP_CHANGE_REMOVE:
        c->username_len = pl__get_u8(&r);
        c->username = pl__get_bytes(&r, c->username_len);
        if (r.err)
            return r.err;
        if (c->username_len == 0)
            return PL_E_MALFORMED;
        break;
    case PL_GROUP_CHANGE_LEAVE:
        break;
    case PL_GROUP_CHANGE_RENAME:
        c->name_len = pl__get_u8(&r);
        c->name = pl__get_bytes(&r, c->name_len);
        if (r.err)
            return r.err;
        if (c->name_len == 0)
            return PL_E_MALFORMED;
        break;
    default:
        return PL_E_MALFORMED;
    }
    if ((e = pl__reader_finish(&r)) != PL_OK) {
        parsed_free(c);
        /* Trailing bytes: the members' end is not where the signature begins. */
        return e;
    }
    return PL_OK;
}

static int change_verify_signature(const uint8_t *in, const parsed_change *c,
                                   const uint8_t identity_key[PL_PUBKEY_BYTES])
{
    size_t llen = sizeof LABEL_CHANGE - 1;
    uint8_t *buf = malloc(llen + c->signed_len);
    int ok;

    if (buf == NULL)
        return PL_E_NOMEM;
    memcpy(buf, LABEL_CHANGE, llen);
    memcpy(buf + llen, in, c->signed_len);
    ok =
        crypto_sign_verify_detached(c->signature, buf, llen + c->signed_len, identity_key + 1) == 0;
    free(buf);
    return ok ? PL_OK : PL_E_BAD_SIGNATURE;
}

/* Builds the next state from a verified change; sets what the result needs. */
static int change_effect(const pl_group_state *s, const parsed_change *c, long author_idx,
                         pl_group_state **next, pl_group_applied *applied)
{
    pl_group_state *n = NULL;
    long idx;

    switch (c->kind) {
    case PL_GROUP_CHANGE_CREATE:
        if (!(n = calloc(1, sizeof *n)))
            return PL_E_NOMEM;
        memcpy(n->group_id, c->group_id, PL_GROUP_ID_BYTES);
        n->max_members = c->max_members;
        n->n_members = c->n_members;
        n->members = c->members; /* handed over below by the caller clearing c->members */
        n->name_len = c->name_len;
        memcpy(n->name, c->name, c->name_len);
        break;
    case PL_GROUP_CHANGE_ADD:
        if (find_member(s->members, s->n_members, c->members[0].username,
                        c->members[0].username_len) >= 0)
            return PL_E_INVALID_ARG;
        if (s->n_members >= s->max_members)
            return PL_E_TOO_LARGE;
        if (!(n = state_copy(s, 1)))
            return PL_E_NOMEM;
        /* Insert in username order. */
        idx = 0;
        while ((size_t)idx < n->n_members &&
               name_cmp(n->members[idx].username, n->members[idx].username_len,
                        c->members[0].username, c->members[0].username_len) < 0)
            idx++;
        memmove(&n->members[idx + 1], &n->members[idx],
                (n->n_members - (size_t)idx) * sizeof *n->members);
        n->members[idx] = c->members[0];
        n->n_members++;
        applied->subject = c->members[0];
        break;
    case PL_GROUP_CHANGE_REMOVE:
    case PL_GROUP_CHANGE_LEAVE:
        if (c->kind == PL_GROUP_CHANGE_REMOVE) {
            idx = find_member(s->members, s->n_members, c->username, c->username_len);
            if (idx < 0)
                return PL_E_INVALID_ARG;
            if (idx == author_idx)
                return PL_E_IDENTITY_MISMATCH; /* leaving is a leave, signed as such */
        } else {
            idx = author_idx;
        }
        if (s->n_members == 1)
            return PL_E_INVALID_ARG; /* a group never becomes empty */
        if (!(n = state_copy(s, 0)))
            return PL_E_NOMEM;
        applied->subject = s->members[idx];
        memmove(&n->members[idx], &n->members[idx + 1],
                (n->n_members - (size_t)idx - 1) * sizeof *n->members);
        n->n_members--;
        applied->rotate_sender_keys = 1;
        break;
    case PL_GROUP_CHANGE_RENAME:
        if (!(n = state_copy(s, 0)))
            return PL_E_NOMEM;
        n->name_len = c->name_len;
        memset(n->name, 0, sizeof n->name);
        memcpy(n->name, c->name, c->name_len);
        break;
    case PL_GROUP_CHANGE_DEVICES: {
        const pl_group_member *old;

        idx = find_member(s->members, s->n_members, c->members[0].username,
                          c->members[0].username_len);
        if (idx < 0)
            return PL_E_INVALID_ARG;
        old = &s->members[idx];
        if (sodium_memcmp(old->account_key, c->members[0].account_key, PL_PUBKEY_BYTES) != 0)
            return PL_E_IDENTITY_MISMATCH; /* a new account is a remove and an add */
        if (!(n = state_copy(s, 0)))
            return PL_E_NOMEM;
        for (size_t i = 0; i < old->n_devices; i++) {
            const pl_group_device *d = find_device_of(&c->members[0], old->devices[i].device_id);

            if (d == NULL ||
                sodium_memcmp(d->identity_key, old->devices[i].identity_key, PL_PUBKEY_BYTES) != 0)
                applied->rotate_sender_keys = 1;
        }
        n->members[idx] = c->members[0];
        applied->subject = c->members[0];
        break;
    }
    default:
        return PL_E_MALFORMED;
    }
    n->epoch = c->epoch;
    *next = n;
    return PL_OK;
}

int pl_group_apply(const pl_group_state *s, const uint8_t *change, size_t len,
                   pl_group_state **next, pl_group_applied *applied)
{
    parsed_change c;
    pl_group_applied info;
    pl_group_state *n = NULL;
    const pl_group_member *members;
    const pl_group_device *device;
    size_t n_members;
    long author_idx;
    int e;

    *next = NULL;
    memset(&info, 0, sizeof info);
    if (applied)
        memset(applied, 0, sizeof *applied);
    if ((e = change_parse(change, len, &c)) != PL_OK)
        return e;

    /* Which kinds a state admits; then the group and the chain. */
    if ((s == NULL) != (c.kind == PL_GROUP_CHANGE_CREATE)) {
        e = PL_E_MALFORMED;
        goto out;
    }
    if (s == NULL) {
        if (c.epoch != 0 || !sodium_is_zero(c.prev_hash, PL_GROUP_HASH_BYTES)) {
            e = PL_E_STATE_CHAIN;
            goto out;
        }
        members = c.members;
        n_members = c.n_members;
    } else {
        if (sodium_memcmp(c.group_id, s->group_id, PL_GROUP_ID_BYTES) != 0) {
            e = PL_E_SESSION_MISMATCH;
            goto out;
        }
        if (s->epoch == UINT32_MAX || c.epoch != s->epoch + 1 ||
            sodium_memcmp(c.prev_hash, s->hash, PL_GROUP_HASH_BYTES) != 0) {
            e = PL_E_STATE_CHAIN;
            goto out;
        }
        members = s->members;
        n_members = s->n_members;
    }

    /* The author: a device of a member. */
    author_idx = find_member(members, n_members, c.author, c.author_len);
    device = author_idx < 0 ? NULL : find_device_of(&members[author_idx], c.author_device_id);
    if (device == NULL) {
        e = PL_E_IDENTITY_MISMATCH;
        goto out;
    }
    if ((e = change_verify_signature(change, &c, device->identity_key)) != PL_OK)
        goto out;
    info.kind = (enum pl_group_change_kind)c.kind;
    info.author = members[author_idx];
    info.author_device_id = c.author_device_id;

    if ((e = change_effect(s, &c, author_idx, &n, &info)) != PL_OK)
        goto out;
    if (c.kind == PL_GROUP_CHANGE_CREATE)
        c.members = NULL; /* now owned by n */
    crypto_hash_sha256(n->last_change_hash, change, len);
    if ((e = state_rehash(n)) != PL_OK)
        goto out;
    *next = n;
    n = NULL;
    if (applied)
        *applied = info;
    e = PL_OK;
out:
    pl_group_state_free(n);
    parsed_free(&c);
    return e;
}

/* ---- Building changes ------------------------------------------------------------------- */

static int body_member_ok(const pl_group_member *m)
{
    return m->username_len > 0 && member_shape(m) == PL_OK;
}

int pl_group_change_sign(const pl_device *author, const uint8_t *author_username,
                         size_t author_username_len, const pl_group_state *state,
                         const uint8_t group_id[PL_GROUP_ID_BYTES],
                         const pl_group_change_body *body, uint8_t **out, size_t *out_len)
{
    size_t llen = sizeof LABEL_CHANGE - 1, size;
    uint8_t *buf = NULL, *sig;
    pl__writer w;
    pl_group_state *check = NULL;
    int e = PL_E_INVALID_ARG;

    *out = NULL;
    *out_len = 0;
    if (author_username_len == 0 || author_username_len > PL_GROUP_USERNAME_MAX ||
        (state == NULL) != (body->kind == PL_GROUP_CHANGE_CREATE))
        return PL_E_INVALID_ARG;

    /* Size the encoding, checking every length it will write. */
    size = CHANGE_FIXED_BYTES + 1u + author_username_len + 4u + PL_SIGNATURE_BYTES;
    switch (body->kind) {
    case PL_GROUP_CHANGE_CREATE:
    case PL_GROUP_CHANGE_RENAME:
        if (body->name_len == 0 || body->name_len > PL_GROUP_NAME_MAX)
            return PL_E_INVALID_ARG;
        size += 1u + body->name_len;
        if (body->kind == PL_GROUP_CHANGE_RENAME)
            break;
        if (body->n_members == 0 || body->n_members > PL_GROUP_MAX_MEMBERS)
            return PL_E_INVALID_ARG;
        size += 2u + 2u;
        for (size_t i = 0; i < body->n_members; i++) {
            if (!body_member_ok(&body->members[i]))
                return PL_E_INVALID_ARG;
            size += member_size(&body->members[i]);
        }
        break;
    case PL_GROUP_CHANGE_ADD:
    case PL_GROUP_CHANGE_DEVICES:
        if (body->n_members != 1 || !body_member_ok(&body->members[0]))
            return PL_E_INVALID_ARG;
        size += member_size(&body->members[0]);
        break;
    case PL_GROUP_CHANGE_REMOVE:
        if (body->username_len == 0 || body->username_len > PL_GROUP_USERNAME_MAX)
            return PL_E_INVALID_ARG;
        size += 1u + body->username_len;
        break;
    case PL_GROUP_CHANGE_LEAVE:
        break;
    default:
        return PL_E_INVALID_ARG;
    }

    if (!(buf = malloc(llen + size)))
        return PL_E_NOMEM;
    memcpy(buf, LABEL_CHANGE, llen);
    w = pl__writer_init(buf + llen, size);
    pl__put_u8(&w, PL_GROUP_VERSION);
    pl__put_u8(&w, (uint8_t)body->kind);
    if (state) {
        pl__put_bytes(&w, state->group_id, PL_GROUP_ID_BYTES);
        pl__put_u32(&w, state->epoch + 1);
        pl__put_bytes(&w, state->hash, PL_GROUP_HASH_BYTES);
    } else {
        static const uint8_t no_prev[PL_GROUP_HASH_BYTES];

        pl__put_bytes(&w, group_id, PL_GROUP_ID_BYTES);
        pl__put_u32(&w, 0);
        pl__put_bytes(&w, no_prev, PL_GROUP_HASH_BYTES);
    }
    pl__put_u8(&w, (uint8_t)author_username_len);
    pl__put_bytes(&w, author_username, author_username_len);
    pl__put_u32(&w, pl_device_id(author));
    switch (body->kind) {
    case PL_GROUP_CHANGE_CREATE:
        pl__put_u16(&w, body->max_members ? body->max_members : (uint16_t)PL_GROUP_MAX_MEMBERS);
        pl__put_u8(&w, (uint8_t)body->name_len);
        pl__put_bytes(&w, body->name, body->name_len);
        pl__put_u16(&w, (uint16_t)body->n_members);
        for (size_t i = 0; i < body->n_members; i++)
            member_write(&w, &body->members[i]);
        break;
    case PL_GROUP_CHANGE_ADD:
    case PL_GROUP_CHANGE_DEVICES:
        member_write(&w, &body->members[0]);
        break;
    case PL_GROUP_CHANGE_REMOVE:
        pl__put_u8(&w, (uint8_t)body->username_len);
        pl__put_bytes(&w, body->username, body->username_len);
        break;
    case PL_GROUP_CHANGE_RENAME:
        pl__put_u8(&w, (uint8_t)body->name_len);
        pl__put_bytes(&w, body->name, body->name_len);
        break;
    default:
        break;
    }
    sig = pl__put_space(&w, PL_SIGNATURE_BYTES);
    if (w.err || sig == NULL || w.off != size)
        abort(); /* the size computed above is wrong: a bug here, not bad input */
    crypto_sign_detached(sig, NULL, buf, llen + size - PL_SIGNATURE_BYTES, author->sign_sk);
    memmove(buf, buf + llen, size);

    /* The builder refuses what apply would refuse (authority, duplicates, limits). */
    {
        int a = pl_group_apply(state, buf, size, &check, NULL);

        pl_group_state_free(check);
        if (a != PL_OK) {
            e = a == PL_E_NOMEM ? PL_E_NOMEM : PL_E_INVALID_ARG;
            goto out;
        }
    }
    *out = buf;
    *out_len = size;
    buf = NULL;
    e = PL_OK;
out:
    free(buf);
    return e;
}
