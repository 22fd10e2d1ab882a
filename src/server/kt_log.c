/*
 * kt_log.c: the key-transparency log: rebuild from the store, the sequencer, cosignatures and
 * publication, and the proofs of checkpoints, lookups and audits (kt_log.h).
 *
 * Invariants (checked by check_invariants after every change, and at start):
 *   published_size <= signed_size <= published_size + 1   at most one entry ahead
 *   logtree size == signed_size
 *   signed_note signs (origin, signed_size, logtree root)   when signed_size > 0
 *   signed_pt holds every leaf of entries 0..signed_size-1; published_pt those of
 *   0..published_size-1; new_leaves are the leaves of entry signed_size-1
 */
#include "kt_log.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "kt_logtree.h"
#include "log.h"

#define ST(x) PARLEY__STATUS_CODE__STATUS_##x
#define LEAF PL_WIRE_KT_LEAF_BYTES

struct pl_kt_log {
    pl_kt_keys *keys;
    pl_note_verifier witnesses[PL_CONFIG_KT_MAX_WITNESSES];
    size_t n_witnesses;
    uint32_t quorum;
    uint64_t heartbeat_ms;

    pl_kt_logtree *tree;
    pl_prefix_tree *signed_pt, *published_pt; /* the same tree when quorum is 0 */
    uint64_t signed_size, published_size;
    char *signed_note;
    size_t signed_note_len;
    char *published_note;
    size_t published_note_len;
    uint64_t last_ts;      /* timestamp of entry signed_size - 1 */
    uint64_t published_ts; /* ... and of entry published_size - 1 */
    uint8_t published_root[PL_PREFIX_HASH_BYTES];
    uint8_t last_root[PL_PREFIX_HASH_BYTES];
    uint8_t (*new_leaves)[LEAF]; /* leaves of entry signed_size - 1 */
    size_t n_new_leaves;
    char *cosig[PL_CONFIG_KT_MAX_WITNESSES]; /* lines for the newest signed checkpoint */
    size_t cosig_len[PL_CONFIG_KT_MAX_WITNESSES];

    pl_store_kt_version *scratch; /* PL_WIRE_KT_MAX_ENTRY_LEAVES, the sequencer's */
    int stale;                    /* memory may be ahead of the store: rebuild first */
};

static int shared_trees(const pl_kt_log *l)
{
    return l->signed_pt == l->published_pt;
}

static char *dup_text(const char *p, size_t n)
{
    char *c = malloc(n + 1);

    if (c) {
        memcpy(c, p, n);
        c[n] = '\0';
    }
    return c;
}

static void clear_cosigs(pl_kt_log *l)
{
    for (size_t i = 0; i < PL_CONFIG_KT_MAX_WITNESSES; i++) {
        free(l->cosig[i]);
        l->cosig[i] = NULL;
        l->cosig_len[i] = 0;
    }
}

/* Frees the rebuildable state (everything but keys, config and scratch). */
static void drop_state(pl_kt_log *l)
{
    if (!shared_trees(l))
        pl_prefix_tree_free(l->published_pt);
    pl_prefix_tree_free(l->signed_pt);
    l->signed_pt = l->published_pt = NULL;
    pl_kt_logtree_free(l->tree);
    l->tree = NULL;
    free(l->signed_note);
    free(l->published_note);
    free(l->new_leaves);
    l->signed_note = l->published_note = NULL;
    l->signed_note_len = l->published_note_len = 0;
    l->new_leaves = NULL;
    l->n_new_leaves = 0;
    l->signed_size = l->published_size = 0;
    l->last_ts = l->published_ts = 0;
    memset(l->published_root, 0, sizeof l->published_root);
    memset(l->last_root, 0, sizeof l->last_root);
    clear_cosigs(l);
}

void pl_kt_log_free(pl_kt_log *l)
{
    if (!l)
        return;
    drop_state(l);
    free(l->scratch);
    pl_kt_keys_free(l->keys);
    free(l);
}

const pl_kt_keys *pl_kt_log_keys(const pl_kt_log *l)
{
    return l->keys;
}

uint64_t pl_kt_log_signed_size(const pl_kt_log *l)
{
    return l->signed_size;
}

uint64_t pl_kt_log_published_size(const pl_kt_log *l)
{
    return l->published_size;
}

/* The checkpoint text (origin, size, root) signed for the first `size` entries. */
static int checkpoint_text(const pl_kt_log *l, uint64_t size, char *out, size_t cap, size_t *len)
{
    pl_checkpoint cp;

    memset(&cp, 0, sizeof cp);
    memcpy(cp.origin, l->keys->origin, l->keys->origin_len + 1);
    cp.origin_len = l->keys->origin_len;
    cp.size = size;
    if (pl_kt_logtree_root(l->tree, size, cp.root) != 0)
        return -1;
    return pl_checkpoint_format(&cp, out, cap, len) == PL_OK ? 0 : -1;
}

/* 0 when note opens under the log key and its text is the checkpoint of `size`. */
static int note_matches(const pl_kt_log *l, const char *note, size_t len, uint64_t size)
{
    char text[PL_NOTE_MAX_BYTES];
    size_t tlen;
    pl_note_opened o;

    if (pl_note_open(note, len, &l->keys->log_verifier, 1, &o) != PL_OK || !(o.verified & 1u) ||
        checkpoint_text(l, size, text, sizeof text, &tlen) != 0 || o.text_len != tlen ||
        memcmp(o.text, text, tlen) != 0)
        return -1;
    return 0;
}

static int check_invariants(const pl_kt_log *l)
{
    if (l->published_size > l->signed_size || l->signed_size > l->published_size + 1 ||
        pl_kt_logtree_size(l->tree) != l->signed_size)
        return -1;
    if (l->signed_size > 0 &&
        (!l->signed_note || note_matches(l, l->signed_note, l->signed_note_len, l->signed_size)))
        return -1;
    if (l->published_size > 0 && !l->published_note)
        return -1;
    return 0;
}

/* ---- Rebuilding from the store ----------------------------------------------------------- */

typedef struct load_ctx {
    pl_kt_log *l;
    uint8_t (*roots)[PL_PREFIX_HASH_BYTES]; /* per entry, to check the replay */
    uint64_t *ts;
    size_t cap;
    uint64_t n;
    char *published; /* the newest published note */
    size_t published_len;
    uint64_t published_size;
    char *last_note;
    size_t last_note_len;
    uint64_t at; /* leaf replay: the entry whose leaves are being inserted */
    int failed;
    const char *why;
} load_ctx;

static int load_entry(void *arg, const pl_store_kt_entry *e)
{
    load_ctx *c = arg;
    uint8_t entry[PL_KT_LOG_ENTRY_BYTES], leaf[PL_MERKLE_HASH_BYTES];

    if (e->position != c->n) {
        c->failed = 1;
        c->why = "log positions are not 0, 1, 2, ...";
        return 1;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        void *r = realloc(c->roots, cap * sizeof *c->roots), *t;

        if (!r) {
            c->failed = 1;
            c->why = "out of memory";
            return 1;
        }
        c->roots = r;
        if (!(t = realloc(c->ts, cap * sizeof *c->ts))) {
            c->failed = 1;
            c->why = "out of memory";
            return 1;
        }
        c->ts = t;
        c->cap = cap;
    }
    memcpy(c->roots[c->n], e->prefix_root, PL_PREFIX_HASH_BYTES);
    c->ts[c->n] = e->timestamp_ms;
    pl_kt_log_entry(e->timestamp_ms, e->prefix_root, entry);
    pl_merkle_leaf_hash(entry, sizeof entry, leaf);
    if (pl_kt_logtree_append(c->l->tree, leaf) != 0) {
        c->failed = 1;
        c->why = "out of memory";
        return 1;
    }
    free(c->last_note);
    if (!(c->last_note = dup_text(e->checkpoint, e->checkpoint_len))) {
        c->failed = 1;
        c->why = "out of memory";
        return 1;
    }
    c->last_note_len = e->checkpoint_len;
    if (e->published) {
        free(c->published);
        if (!(c->published = dup_text(e->published, e->published_len))) {
            c->failed = 1;
            c->why = "out of memory";
            return 1;
        }
        c->published_len = e->published_len;
        c->published_size = e->position + 1;
    }
    c->n++;
    return 0;
}

/* Checks that the tree after entry `pos` has that entry's root. */
static int entry_root_ok(load_ctx *c, uint64_t pos)
{
    uint8_t root[PL_PREFIX_HASH_BYTES];

    pl_prefix_tree_root(c->l->signed_pt, root);
    if (sodium_memcmp(root, c->roots[pos], sizeof root) != 0) {
        c->failed = 1;
        c->why = "a log entry's prefix root does not match its replayed leaves";
        return -1;
    }
    return 0;
}

static int load_leaf(void *arg, uint64_t position, const uint8_t vrf_out[32],
                     const uint8_t commitment[32])
{
    load_ctx *c = arg;
    pl_kt_log *l = c->l;

    if (position >= c->n || position < c->at) {
        c->failed = 1;
        c->why = "a label-version is logged at an unknown position";
        return 1;
    }
    while (c->at < position) {
        if (entry_root_ok(c, c->at) != 0)
            return 1;
        c->at++;
    }
    if (pl_prefix_tree_insert(l->signed_pt, vrf_out, commitment) != PL_OK ||
        (!shared_trees(l) && position < l->published_size &&
         pl_prefix_tree_insert(l->published_pt, vrf_out, commitment) != PL_OK)) {
        c->failed = 1;
        c->why = "a label-version is logged twice";
        return 1;
    }
    if (position + 1 == c->n) {
        void *p = realloc(l->new_leaves, (l->n_new_leaves + 1) * sizeof *l->new_leaves);

        if (!p) {
            c->failed = 1;
            c->why = "out of memory";
            return 1;
        }
        l->new_leaves = p;
        memcpy(l->new_leaves[l->n_new_leaves], vrf_out, 32);
        memcpy(l->new_leaves[l->n_new_leaves] + 32, commitment, 32);
        l->n_new_leaves++;
    }
    return 0;
}

typedef struct cosig_ctx {
    pl_kt_log *l;
    const char *text;
    size_t text_len;
} cosig_ctx;

/* A stored cosignature of the newest signed checkpoint: kept if it still verifies under a
 * configured witness (the configuration may have changed since). */
static int load_cosig(void *arg, const char *witness, const char *line, size_t len)
{
    cosig_ctx *c = arg;
    uint64_t t;

    for (size_t i = 0; i < c->l->n_witnesses; i++) {
        if (strcmp(c->l->witnesses[i].name, witness) != 0 ||
            pl_cosignature_verify(&c->l->witnesses[i], c->text, c->text_len, line, len, &t) !=
                PL_OK)
            continue;
        free(c->l->cosig[i]);
        if ((c->l->cosig[i] = dup_text(line, len)))
            c->l->cosig_len[i] = len;
    }
    return 0;
}

/* Rebuilds the whole state from the store. 0, or -1 with *why. */
static int rebuild(pl_kt_log *l, pl_store *s, const char **why)
{
    load_ctx c;
    int r = -1;

    drop_state(l);
    memset(&c, 0, sizeof c);
    c.l = l;
    *why = "out of memory";
    if (!(l->tree = pl_kt_logtree_new()) || pl_prefix_tree_new(&l->signed_pt) != PL_OK)
        goto out;
    if (pl_store_kt_entries(s, 0, UINT64_MAX, load_entry, &c) != PL_STORE_OK) {
        *why = pl_store_last_error(s);
        goto out;
    }
    if (c.failed) {
        *why = c.why;
        goto out;
    }
    l->signed_size = c.n;
    l->published_size = c.published_size;
    /* One tree serves both when they hold the same leaves and always will (quorum 0). */
    if (l->quorum == 0 && l->signed_size == l->published_size)
        l->published_pt = l->signed_pt;
    else if (pl_prefix_tree_new(&l->published_pt) != PL_OK)
        goto out;
    if (l->signed_size > l->published_size + 1) {
        *why = "more than one log entry is signed but not published";
        goto out;
    }
    if (pl_store_kt_leaves(s, 0, c.n, load_leaf, &c) != PL_STORE_OK) {
        *why = pl_store_last_error(s);
        goto out;
    }
    while (!c.failed && c.at < c.n)
        if (entry_root_ok(&c, c.at++) != 0)
            break;
    if (c.failed) {
        *why = c.why;
        goto out;
    }
    if (c.n > 0) {
        l->signed_note = c.last_note;
        l->signed_note_len = c.last_note_len;
        c.last_note = NULL;
        l->last_ts = c.ts[c.n - 1];
        memcpy(l->last_root, c.roots[c.n - 1], PL_PREFIX_HASH_BYTES);
    }
    if (l->published_size > 0) {
        l->published_note = c.published;
        l->published_note_len = c.published_len;
        c.published = NULL;
        l->published_ts = c.ts[l->published_size - 1];
        memcpy(l->published_root, c.roots[l->published_size - 1], PL_PREFIX_HASH_BYTES);
        /* The published note is the signed note of its size plus cosignature lines. */
        if (note_matches(l, l->published_note, l->published_note_len, l->published_size) != 0) {
            *why = "the published checkpoint is not signed by this log's key (DATA/kt replaced?)";
            goto out;
        }
    }
    if (check_invariants(l) != 0) {
        *why = "the newest checkpoint is not signed by this log's key (DATA/kt replaced?)";
        goto out;
    }
    if (l->signed_size > l->published_size) {
        pl_note_opened o;
        cosig_ctx cc;

        if (pl_note_open(l->signed_note, l->signed_note_len, &l->keys->log_verifier, 1, &o) !=
            PL_OK)
            goto out;
        cc.l = l;
        cc.text = o.text;
        cc.text_len = o.text_len;
        if (pl_store_kt_cosignatures(s, l->signed_size, load_cosig, &cc) != PL_STORE_OK) {
            *why = pl_store_last_error(s);
            goto out;
        }
    }
    l->stale = 0;
    r = 0;
out:
    free(c.roots);
    free(c.ts);
    free(c.published);
    free(c.last_note);
    if (r != 0) {
        drop_state(l);
        l->stale = 1;
    }
    return r;
}

int pl_kt_log_open(pl_kt_log **out, const pl_config *cfg, pl_kt_keys *keys, pl_store *store,
                   char *err, size_t err_len)
{
    pl_kt_log *l = calloc(1, sizeof *l);
    const char *why = "out of memory";

    *out = NULL;
    if (!l || !(l->scratch = calloc(PL_WIRE_KT_MAX_ENTRY_LEAVES, sizeof *l->scratch))) {
        free(l);
        pl_kt_keys_free(keys);
        snprintf(err, err_len, "%s", why);
        return -1;
    }
    l->keys = keys;
    l->n_witnesses = cfg->kt.n_witnesses;
    memcpy(l->witnesses, cfg->kt.witnesses, sizeof l->witnesses);
    l->quorum = pl_config_kt_quorum(cfg);
    l->heartbeat_ms = cfg->kt.heartbeat_ms;
    if (rebuild(l, store, &why) != 0) {
        snprintf(err, err_len, "the key-transparency log cannot be loaded: %s", why);
        pl_kt_log_free(l);
        return -1;
    }
    *out = l;
    return 0;
}

/* ---- Publication -------------------------------------------------------------------------- */

static size_t cosig_count(const pl_kt_log *l)
{
    size_t n = 0;

    for (size_t i = 0; i < l->n_witnesses; i++)
        n += l->cosig[i] != NULL;
    return n;
}

/* The signed note with every collected cosignature line appended (witness order). */
static char *published_form(const pl_kt_log *l, size_t *len)
{
    size_t n = l->signed_note_len;
    char *p;

    for (size_t i = 0; i < l->n_witnesses; i++)
        n += l->cosig_len[i];
    if (n > PL_NOTE_MAX_BYTES || !(p = malloc(n + 1)))
        return NULL;
    memcpy(p, l->signed_note, l->signed_note_len);
    *len = l->signed_note_len;
    for (size_t i = 0; i < l->n_witnesses; i++)
        if (l->cosig[i]) {
            memcpy(p + *len, l->cosig[i], l->cosig_len[i]);
            *len += l->cosig_len[i];
        }
    p[*len] = '\0';
    return p;
}

/* After the commit that stored note as published: the published state catches up with the
 * signed one. Returns 0, or -1 (out of memory in the tree: the state is marked stale). */
static int publish_in_memory(pl_kt_log *l, char *note, size_t len)
{
    if (!shared_trees(l) && l->published_size < l->signed_size)
        for (size_t i = 0; i < l->n_new_leaves; i++)
            if (pl_prefix_tree_insert(l->published_pt, l->new_leaves[i], l->new_leaves[i] + 32) !=
                PL_OK) {
                free(note);
                l->stale = 1;
                return -1;
            }
    free(l->published_note);
    l->published_note = note;
    l->published_note_len = len;
    l->published_size = l->signed_size;
    l->published_ts = l->last_ts;
    memcpy(l->published_root, l->last_root, sizeof l->published_root);
    return 0;
}

/* Publishes the newest signed checkpoint in its own transaction (standalone jobs). */
static int publish(pl_kt_log *l, pl_store *s)
{
    size_t len = 0;
    char *note = published_form(l, &len);
    int r;

    if (!note)
        return -1;
    if ((r = pl_store_batch_begin(s)) == PL_STORE_OK) {
        r = pl_store_kt_entry_publish(s, l->signed_size - 1, note, len);
        if (r == PL_STORE_OK)
            r = pl_store_batch_commit(s);
        else
            pl_store_batch_rollback(s);
    }
    if (r != PL_STORE_OK) {
        pl_log(PL_CONFIG_LOG_ERROR, "KT: could not store the published checkpoint",
               PL_LOG_STR("error", pl_store_last_error(s)));
        free(note);
        return -1;
    }
    return publish_in_memory(l, note, len);
}

/* ---- The sequencer ------------------------------------------------------------------------ */

/*
 * The VRF proof and output of (label, v->version) when an earlier proof can be reused: version
 * v - 1 proved (label, v) for its greatest-version lookups (next_vrf_proof), either in a
 * logged row or earlier in this batch (batch[0..n)). ECVRF proofs are deterministic (RFC 9381
 * §5.4.2.2), so the stored proof is the one proving again would make, at half the cost of an
 * update. Returns 1 when reused, 0 when the caller must prove.
 */
static int reuse_vrf_proof(pl_store *s, const pl_store_kt_version *batch, size_t n,
                           pl_store_kt_version *v)
{
    static const uint8_t none[PL_VRF_PROOF_BYTES];
    const uint8_t *pi = NULL;
    pl_store_kt_version *prev;
    uint8_t beta[PL_VRF_OUTPUT_BYTES];
    int reused = 0;

    if (v->version == 0)
        return 0;
    for (size_t j = n; j-- > 0 && !pi;)
        if (batch[j].version + 1 == v->version && strcmp(batch[j].label, v->label) == 0)
            pi = batch[j].next_vrf_proof;
    if (!pi && (prev = malloc(sizeof *prev)) != NULL) {
        if (pl_store_kt_version_get(s, v->label, v->version - 1, UINT64_MAX, prev) == PL_STORE_OK &&
            prev->position >= 0 && sodium_memcmp(prev->next_vrf_proof, none, sizeof none) != 0 &&
            pl_vrf_proof_to_hash(prev->next_vrf_proof, beta) == PL_OK) {
            memcpy(v->vrf_proof, prev->next_vrf_proof, sizeof v->vrf_proof);
            memcpy(v->vrf_out, beta, sizeof v->vrf_out);
            reused = 1;
        }
        free(prev);
        return reused;
    }
    if (!pi || pl_vrf_proof_to_hash(pi, beta) != PL_OK)
        return 0;
    memcpy(v->vrf_proof, pi, sizeof v->vrf_proof);
    memcpy(v->vrf_out, beta, sizeof v->vrf_out);
    return 1;
}

/* Proves, commits and inserts batch[i] into the signed tree; fills its log fields. */
static int prepare_version(pl_kt_log *l, pl_store *s, pl_store_kt_version *batch, size_t i)
{
    pl_store_kt_version *v = &batch[i];
    const uint8_t *label = (const uint8_t *)v->label;
    size_t label_len = strlen(v->label);
    uint8_t opening[PL_KT_OPENING_BYTES], next_out[PL_KT_VRF_OUT_BYTES];
    int r;

    if (v->version == UINT32_MAX)
        return -1; /* refused at acceptance; a greatest proof needs version + 1 */
    if ((!reuse_vrf_proof(s, batch, i, v) &&
         (r = pl_kt_vrf_prove(l->keys->vrf_seed, label, label_len, v->version, v->vrf_proof,
                              v->vrf_out)) != PL_OK) ||
        (r = pl_kt_vrf_prove(l->keys->vrf_seed, label, label_len, v->version + 1, v->next_vrf_proof,
                             next_out)) != PL_OK ||
        (r = pl_kt_opening(opening, l->keys->open_key, label, label_len, v->version)) != PL_OK ||
        (r = pl_kt_commitment(v->commitment, opening, label, label_len, v->version, v->state,
                              v->state_len)) != PL_OK)
        return -1;
    sodium_memzero(opening, sizeof opening);
    return pl_prefix_tree_insert(l->signed_pt, v->vrf_out, v->commitment) == PL_OK ? 0 : -1;
}

int pl_kt_log_step(pl_kt_log *l, pl_store *s, uint64_t now_ms, pl_kt_step *out)
{
    pl_store_kt_entry e;
    uint8_t entry[PL_KT_LOG_ENTRY_BYTES], leaf[PL_MERKLE_HASH_BYTES];
    char text[PL_NOTE_MAX_BYTES];
    char *note = NULL;
    uint8_t(*leaves)[LEAF] = NULL;
    size_t n = 0, tlen = 0, nlen = 0;
    const char *why = "";
    int r;

    memset(out, 0, sizeof *out);
    if (l->stale && rebuild(l, s, &why) != 0) {
        pl_log(PL_CONFIG_LOG_ERROR, "KT: the log could not be rebuilt from the store",
               PL_LOG_STR("error", why));
        return -1;
    }
    if (l->signed_size > l->published_size) {
        if (cosig_count(l) < l->quorum)
            goto done; /* waiting for witnesses */
        if (publish(l, s) != 0)
            return -1;
        out->published = 1;
    }
    if (pl_store_kt_pending(s, l->scratch, PL_WIRE_KT_MAX_ENTRY_LEAVES, &n) != PL_STORE_OK) {
        pl_log(PL_CONFIG_LOG_ERROR, "KT: could not read pending updates",
               PL_LOG_STR("error", pl_store_last_error(s)));
        return -1;
    }
    if (n == 0 && l->signed_size > 0 && now_ms < l->last_ts + l->heartbeat_ms)
        goto done;
    if (n && !(leaves = malloc(n * sizeof *leaves)))
        return -1;
    /* From the first insert on, memory is ahead of the store until the commit. */
    l->stale = 1;
    for (size_t i = 0; i < n; i++) {
        if (prepare_version(l, s, l->scratch, i) != 0) {
            pl_log(PL_CONFIG_LOG_ERROR, "KT: a pending version could not be logged",
                   PL_LOG_STR("user", l->scratch[i].label),
                   PL_LOG_U64("version", l->scratch[i].version));
            goto fail;
        }
        memcpy(leaves[i], l->scratch[i].vrf_out, 32);
        memcpy(leaves[i] + 32, l->scratch[i].commitment, 32);
    }
    memset(&e, 0, sizeof e);
    e.position = l->signed_size;
    e.timestamp_ms = now_ms > l->last_ts ? now_ms : l->last_ts; /* never backwards */
    pl_prefix_tree_root(l->signed_pt, e.prefix_root);
    pl_kt_log_entry(e.timestamp_ms, e.prefix_root, entry);
    pl_merkle_leaf_hash(entry, sizeof entry, leaf);
    if (pl_kt_logtree_append(l->tree, leaf) != 0 ||
        checkpoint_text(l, e.position + 1, text, sizeof text, &tlen) != 0 ||
        !(note = malloc(PL_NOTE_MAX_BYTES + 1)) ||
        pl_note_sign(text, tlen, l->keys->origin, l->keys->origin_len, l->keys->log_sk, note,
                     PL_NOTE_MAX_BYTES, &nlen) != PL_OK)
        goto fail;
    note[nlen] = '\0';
    e.checkpoint = note;
    e.checkpoint_len = nlen;
    if ((r = pl_store_batch_begin(s)) == PL_STORE_OK) {
        r = pl_store_kt_entry_append(s, &e, l->scratch, n);
        if (r == PL_STORE_OK && l->quorum == 0)
            r = pl_store_kt_entry_publish(s, e.position, note, nlen);
        if (r == PL_STORE_OK)
            r = pl_store_batch_commit(s);
        else
            pl_store_batch_rollback(s);
    }
    if (r != PL_STORE_OK) {
        pl_log(PL_CONFIG_LOG_ERROR, "KT: could not store a log entry",
               PL_LOG_STR("error", pl_store_last_error(s)));
        goto fail;
    }
    /* Committed: the memory is the store's again. */
    l->stale = 0;
    l->signed_size = e.position + 1;
    l->last_ts = e.timestamp_ms;
    memcpy(l->last_root, e.prefix_root, sizeof l->last_root);
    free(l->signed_note);
    l->signed_note = note;
    l->signed_note_len = nlen;
    free(l->new_leaves);
    l->new_leaves = leaves;
    l->n_new_leaves = n;
    leaves = NULL;
    clear_cosigs(l);
    out->signed_new = 1;
    out->logged = n;
    out->note = dup_text(note, nlen);
    out->note_len = out->note ? nlen : 0;
    if (l->quorum == 0) {
        char *pub = dup_text(note, nlen);

        if (!pub || publish_in_memory(l, pub, nlen) != 0)
            l->stale = 1;
        else
            out->published = 1;
    }
done:
    out->signed_size = l->signed_size;
    out->published_size = l->published_size;
    return 0;
fail:
    free(note);
    free(leaves);
    return -1;
}

/* ---- Cosignatures ------------------------------------------------------------------------- */

typedef struct note_ctx {
    char *note;
    size_t len;
} note_ctx;

static int take_note(void *arg, const pl_store_kt_entry *e)
{
    note_ctx *c = arg;

    c->note = dup_text(e->checkpoint, e->checkpoint_len);
    c->len = e->checkpoint_len;
    return 1;
}

Parley__StatusCode pl_kt_log_cosign(pl_kt_log *l, pl_store *s, uint64_t size, const char *line,
                                    size_t len, int *published, const char **why)
{
    note_ctx nc = {NULL, 0};
    pl_note_opened o;
    const char *note;
    size_t note_len, w = SIZE_MAX;
    uint64_t t = 0;
    char *keep = NULL, *pub = NULL, *old = NULL;
    size_t pub_len = 0, old_len = 0;
    int r, completes;
    Parley__StatusCode st = ST(INTERNAL);

    *published = 0;
    *why = "the store failed; retry later";
    if (l->stale && rebuild(l, s, why) != 0)
        return ST(INTERNAL);
    if (size == 0 || size > l->signed_size) {
        *why = "no signed checkpoint of this size";
        return ST(NOT_FOUND);
    }
    if (size == l->signed_size) {
        note = l->signed_note;
        note_len = l->signed_note_len;
    } else {
        if (pl_store_kt_entries(s, size - 1, 1, take_note, &nc) != PL_STORE_OK || !nc.note)
            return ST(INTERNAL);
        note = nc.note;
        note_len = nc.len;
    }
    if (pl_note_open(note, note_len, &l->keys->log_verifier, 1, &o) != PL_OK)
        goto out;
    *why = "not a valid cosignature by a configured witness";
    st = ST(BAD_SIGNATURE);
    for (size_t i = 0; i < l->n_witnesses && w == SIZE_MAX; i++) {
        r = pl_cosignature_verify(&l->witnesses[i], o.text, o.text_len, line, len, &t);
        if (r == PL_OK)
            w = i;
        else if (r != PL_E_IDENTITY_MISMATCH)
            goto out;
    }
    if (w == SIZE_MAX)
        goto out;
    st = ST(INTERNAL);
    *why = "the store failed; retry later";
    if (!(keep = dup_text(line, len)))
        goto out;
    completes = size == l->signed_size && cosig_count(l) + (l->cosig[w] == NULL) >= l->quorum;
    if (size == l->signed_size) {
        /* Tentatively, to build the published form; undone below on failure. */
        old = l->cosig[w];
        old_len = l->cosig_len[w];
        l->cosig[w] = keep;
        l->cosig_len[w] = len;
        if (completes && !(pub = published_form(l, &pub_len))) {
            l->cosig[w] = old;
            l->cosig_len[w] = old_len;
            goto out;
        }
    }
    if ((r = pl_store_batch_begin(s)) == PL_STORE_OK) {
        r = pl_store_kt_cosignature_put(s, size, l->witnesses[w].name, line, len);
        if (r == PL_STORE_OK && pub)
            r = pl_store_kt_entry_publish(s, size - 1, pub, pub_len);
        if (r == PL_STORE_OK)
            r = pl_store_batch_commit(s);
        else
            pl_store_batch_rollback(s);
    }
    if (r != PL_STORE_OK) {
        pl_log(PL_CONFIG_LOG_ERROR, "KT: could not store a cosignature",
               PL_LOG_STR("error", pl_store_last_error(s)));
        if (size == l->signed_size) {
            l->cosig[w] = old;
            l->cosig_len[w] = old_len;
        }
        goto out;
    }
    if (size == l->signed_size) {
        free(old);
        keep = NULL; /* now l->cosig[w] */
        if (pub) {
            if (publish_in_memory(l, pub, pub_len) == 0)
                *published = 1;
            pub = NULL;
        }
    }
    st = ST(OK);
    *why = "";
out:
    free(nc.note);
    free(keep); /* NULL once it became l->cosig[w] */
    free(pub);
    return st;
}

/* ---- Reads -------------------------------------------------------------------------------- */

static Parley__StatusCode answer_checkpoint(pl_kt_log *l, uint64_t size, const char *note,
                                            size_t note_len, uint64_t known_size,
                                            pl_kt_checkpoint_answer *out, const char **why)
{
    if (size == 0) {
        *why = "the log has no checkpoint yet";
        return ST(NOT_FOUND);
    }
    if (known_size > size) {
        *why = "known_size is larger than the checkpoint";
        return ST(BAD_REQUEST);
    }
    if (known_size != 0 && known_size != size &&
        pl_kt_logtree_consistency(l->tree, known_size, size, out->consistency,
                                  &out->n_consistency) != 0) {
        *why = "internal: no consistency proof";
        return ST(INTERNAL);
    }
    if (!(out->note = dup_text(note, note_len))) {
        *why = "out of memory";
        return ST(INTERNAL);
    }
    out->note_len = note_len;
    out->size = size;
    return ST(OK);
}

Parley__StatusCode pl_kt_log_checkpoint(pl_kt_log *l, uint64_t known_size, int latest_signed,
                                        pl_kt_checkpoint_answer *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (l->stale) {
        *why = "the log is being rebuilt; retry later";
        return ST(INTERNAL);
    }
    if (latest_signed)
        return answer_checkpoint(l, l->signed_size, l->signed_note, l->signed_note_len, known_size,
                                 out, why);
    return answer_checkpoint(l, l->published_size, l->published_note, l->published_note_len,
                             known_size, out, why);
}

Parley__StatusCode pl_kt_log_lookup(pl_kt_log *l, pl_store *s, const char *label,
                                    uint64_t known_size, int fixed, uint32_t version,
                                    pl_kt_checkpoint_answer *cp, uint8_t **proof, size_t *proof_len,
                                    const char **why)
{
    pl_store_kt_version *v = NULL;
    pl_kt_lookup *lk = NULL;
    uint8_t beta[PL_VRF_OUTPUT_BYTES];
    uint8_t *buf = NULL;
    size_t label_len = strlen(label), n = 0;
    Parley__StatusCode st;
    int r;

    *proof = NULL;
    *proof_len = 0;
    if ((st = pl_kt_log_checkpoint(l, known_size, 0, cp, why)) != ST(OK))
        return st;
    st = ST(INTERNAL);
    *why = "out of memory";
    if (!(v = malloc(sizeof *v)) || !(lk = calloc(1, sizeof *lk)) ||
        !(buf = malloc(PL_KT_LOOKUP_MAX_BYTES)))
        goto out;
    r = pl_store_kt_version_get(s, label, fixed ? version : UINT32_MAX, l->published_size, v);
    if (r == PL_STORE_E_NOT_FOUND || (r == PL_STORE_OK && v->position < 0)) {
        st = ST(NOT_FOUND);
        *why = fixed ? "the label has no published version of that number"
                     : "the label has no published version";
        goto out;
    }
    if (r != PL_STORE_OK) {
        *why = "the store failed; retry later";
        goto out;
    }
    *why = "internal: the lookup proof could not be built";
    lk->kind = fixed ? PL_KT_LOOKUP_FIXED : PL_KT_LOOKUP_GREATEST;
    lk->tree_size = l->published_size;
    lk->timestamp_ms = l->published_ts;
    memcpy(lk->prefix_root, l->published_root, sizeof lk->prefix_root);
    if (pl_kt_logtree_inclusion(l->tree, l->published_size - 1, l->published_size, lk->inclusion,
                                &lk->n_inclusion) != 0)
        goto out;
    lk->version = v->version;
    memcpy(lk->vrf_proof, v->vrf_proof, sizeof lk->vrf_proof);
    if (pl_kt_opening(lk->opening, l->keys->open_key, (const uint8_t *)label, label_len,
                      v->version) != PL_OK)
        goto out;
    lk->value = v->state;
    lk->value_len = v->state_len;
    if (pl_prefix_tree_prove(l->published_pt, v->vrf_out, &lk->prefix) != PL_OK ||
        lk->prefix.result_type != PL_PREFIX_INCLUSION)
        goto out;
    if (!fixed) {
        memcpy(lk->next_vrf_proof, v->next_vrf_proof, sizeof lk->next_vrf_proof);
        if (pl_vrf_proof_to_hash(v->next_vrf_proof, beta) != PL_OK ||
            pl_prefix_tree_prove(l->published_pt, beta, &lk->next_prefix) != PL_OK ||
            lk->next_prefix.result_type == PL_PREFIX_INCLUSION)
            goto out;
    }
    if (pl_kt_lookup_encode(lk, buf, PL_KT_LOOKUP_MAX_BYTES, &n) != PL_OK)
        goto out;
    *proof = buf;
    *proof_len = n;
    buf = NULL;
    st = ST(OK);
    *why = "";
out:
    if (lk)
        sodium_memzero(lk->opening, sizeof lk->opening);
    free(buf);
    free(lk);
    free(v);
    if (st != ST(OK)) {
        free(cp->note);
        memset(cp, 0, sizeof *cp);
    }
    return st;
}

typedef struct audit_ctx {
    pl_kt_audit_batch *b;
    uint64_t cut; /* first position whose leaves did not fit */
    int oom;
} audit_ctx;

static int audit_entry(void *arg, const pl_store_kt_entry *e)
{
    audit_ctx *c = arg;
    pl_kt_audit_entry *a = &c->b->entries[c->b->n_entries++];

    a->position = e->position;
    a->timestamp_ms = e->timestamp_ms;
    memcpy(a->prefix_root, e->prefix_root, sizeof a->prefix_root);
    return c->b->n_entries == PL_WIRE_KT_MAX_AUDIT_ENTRIES;
}

static int audit_leaf(void *arg, uint64_t position, const uint8_t vrf_out[32],
                      const uint8_t commitment[32])
{
    audit_ctx *c = arg;
    pl_kt_audit_batch *b = c->b;
    size_t i;

    if (b->n_leaves == PL_WIRE_KT_MAX_AUDIT_LEAVES) {
        c->cut = position;
        return 1;
    }
    for (i = 0; i < b->n_entries && b->entries[i].position != position; i++)
        ;
    if (i == b->n_entries)
        return 0;
    if (b->entries[i].n_leaves == 0)
        b->entries[i].first_leaf = b->n_leaves;
    b->entries[i].n_leaves++;
    memcpy(b->leaves[b->n_leaves], vrf_out, 32);
    memcpy(b->leaves[b->n_leaves] + 32, commitment, 32);
    b->n_leaves++;
    return 0;
}

void pl_kt_audit_batch_clear(pl_kt_audit_batch *b)
{
    free(b->leaves);
    memset(b, 0, sizeof *b);
}

Parley__StatusCode pl_kt_log_audit(pl_kt_log *l, pl_store *s, uint64_t from, uint32_t max,
                                   pl_kt_audit_batch *out, const char **why)
{
    audit_ctx c;
    uint64_t count;

    memset(out, 0, sizeof *out);
    *why = "the store failed; retry later";
    if (l->stale)
        return ST(INTERNAL);
    if (from >= l->signed_size || max == 0)
        return ST(OK);
    count = l->signed_size - from;
    if (count > max)
        count = max;
    if (count > PL_WIRE_KT_MAX_AUDIT_ENTRIES)
        count = PL_WIRE_KT_MAX_AUDIT_ENTRIES;
    if (!(out->leaves = malloc(PL_WIRE_KT_MAX_AUDIT_LEAVES * sizeof *out->leaves))) {
        *why = "out of memory";
        return ST(INTERNAL);
    }
    memset(&c, 0, sizeof c);
    c.b = out;
    c.cut = UINT64_MAX;
    if (pl_store_kt_entries(s, from, count, audit_entry, &c) != PL_STORE_OK ||
        pl_store_kt_leaves(s, from, from + out->n_entries, audit_leaf, &c) != PL_STORE_OK) {
        pl_kt_audit_batch_clear(out);
        return ST(INTERNAL);
    }
    /* Entries from the one whose leaves did not all fit are left for the next request. */
    while (out->n_entries > 1 && out->entries[out->n_entries - 1].position >= c.cut)
        out->n_entries--;
    *why = "";
    return ST(OK);
}
