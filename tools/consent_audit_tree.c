
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * consent-audit for the log as a Merkle tree (ngx_http_consent_tree.h):
 * verify (every leaf against every checkpoint), checkpoint (the latest
 * one), prove (a c2sp.org/tlog-proof@v1 for a consent id) and vkey (the
 * note verifier key for Go's sumdb/note). One pass over the lines, in
 * file order, with the tree's right edge in memory: a leaf hash and about
 * one node hash a record.
 */


#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "consent_audit.h"
#include "ngx_http_consent_note.h"
#include "ngx_http_consent_tree.h"


#define CONSENT_AUDIT_SCRATCH  (1024 * 1024)


typedef struct {
    uint64_t                        size;
    ngx_http_consent_tree_hash_t    root;
    const char                     *file;
    size_t                          line;
} consent_audit_cp_t;


typedef struct {
    EVP_PKEY                       *key;
    char                           *scratch;
    ngx_http_consent_tree_t         tree;

    uint64_t                        errors;
    uint64_t                        printed;
    uint64_t                        max_errors;
    uint64_t                        policies;
    uint64_t                        consents;
    uint64_t                        legacy;
    uint64_t                        last_seq;

    /* a jump in seq, reported once the next line says gap or swap */
    unsigned                        pending:1;
    uint64_t                        pending_seq;
    uint64_t                        pending_expected;
    const char                     *pending_file;
    size_t                          pending_line;

    consent_audit_cp_t             *cps;        /* every checkpoint seen */
    size_t                          ncps;
    size_t                          cps_size;
    uint64_t                        covered;    /* by a good checkpoint */
    char                            origin[NGX_HTTP_CONSENT_NOTE_ORIGIN_LEN
                                           + 1];

    consent_audit_cp_t             *kept;       /* --checkpoint FILE */
    size_t                          nkept;
    size_t                          next_kept;
} consent_audit_tree_ctx_t;


typedef struct {
    char                           *scratch;
    unsigned char                   id[16];
    ngx_http_consent_tree_t         tree;
    ngx_http_consent_tree_hash_t   *stored;
    uint64_t                        nstored;
    uint64_t                        stored_size;

    int                             found;
    uint64_t                        index;
    char                           *leaf;
    size_t                          leaf_len;

    char                           *note;       /* the latest checkpoint */
    size_t                          note_len;
    uint64_t                        note_size;
} consent_audit_prove_ctx_t;


static int consent_audit_fields(const char *p, size_t len,
    ngx_http_consent_record_line_t *f);
static int consent_audit_tree_line(void *data, const char *file,
    size_t line, const char *p, size_t len, int truncated);
static void consent_audit_tree_checkpoint(consent_audit_tree_ctx_t *ctx,
    const char *file, size_t line, ngx_http_consent_record_line_t *f);
static void consent_audit_tree_kept(consent_audit_tree_ctx_t *ctx);
static void consent_audit_tree_flush(consent_audit_tree_ctx_t *ctx);
static void consent_audit_tree_error(consent_audit_tree_ctx_t *ctx,
    const char *file, size_t line, const char *reason, const char *fmt, ...);
static int consent_audit_read_kept(consent_audit_tree_ctx_t *ctx,
    const char *name, EVP_PKEY *key);
static int consent_audit_leaf(char *scratch, const char *p, size_t len,
    ngx_http_consent_record_line_t *f, unsigned char *hash);
static char *consent_audit_note(const char *value, size_t len,
    size_t *outlen);
static int consent_audit_prove_line(void *data, const char *file,
    size_t line, const char *p, size_t len, int truncated);
static int consent_audit_prove_read(void *data, uint64_t index,
    unsigned char *out);
static int consent_audit_cp_cmp(const void *a, const void *b);


/*
 * verify, for a log with checkpoints. Returns CONSENT_AUDIT_OK only when
 * every line is a whole record or checkpoint, every seq follows the one
 * before, every checkpoint is signed by key and has the root of the
 * records before it, and the last checkpoint covers every record.
 */

int
consent_audit_verify_tree(char **files, int nfiles, EVP_PKEY *key,
    char **kept, int nkept, uint64_t max_errors)
{
    int                        i, rc;
    consent_audit_tree_ctx_t   ctx;

    memset(&ctx, 0, sizeof(ctx));

    ctx.key = key;
    ctx.max_errors = max_errors;
    ctx.scratch = malloc(CONSENT_AUDIT_SCRATCH);

    if (ctx.scratch == NULL) {
        rc = CONSENT_AUDIT_USAGE;
        goto done;
    }

    ngx_http_consent_tree_init(&ctx.tree);

    for (i = 0; i < nkept; i++) {
        if (consent_audit_read_kept(&ctx, kept[i], key) != 0) {
            rc = CONSENT_AUDIT_USAGE;
            goto done;
        }
    }

    if (ctx.nkept) {
        qsort(ctx.kept, ctx.nkept, sizeof(consent_audit_cp_t),
              consent_audit_cp_cmp);
    }

    rc = consent_audit_lines(files, nfiles, consent_audit_tree_line, &ctx);
    if (rc != CONSENT_AUDIT_OK) {
        goto done;
    }

    consent_audit_tree_flush(&ctx);

    if (ctx.next_kept < ctx.nkept) {
        consent_audit_tree_error(&ctx, ctx.kept[ctx.next_kept].file, 0,
                                 "records removed",
                                 "a kept checkpoint of %llu records, and the "
                                 "log has only %llu: records were removed "
                                 "from its end",
                                 (unsigned long long)
                                     ctx.kept[ctx.next_kept].size,
                                 (unsigned long long) ctx.tree.size);
    }

    if (ctx.tree.size == 0) {
        consent_audit_tree_error(&ctx, files[nfiles - 1], 0, "no record",
                                 "the files hold no record");

    } else if (ctx.covered < ctx.tree.size) {
        consent_audit_tree_error(&ctx, files[nfiles - 1], 0, "not covered",
                                 "seq %llu to %llu are in no checkpoint "
                                 "(nginx writes one every checkpoint= "
                                 "records or checkpoint_interval=, and at "
                                 "shutdown): nothing vouches for them yet",
                                 (unsigned long long) ctx.covered + 1,
                                 (unsigned long long) ctx.tree.size);
    }

    if (ctx.errors) {
        if (ctx.errors > ctx.printed) {
            printf("... and %llu more\n",
                   (unsigned long long) (ctx.errors - ctx.printed));
        }

        printf("FAILED: %llu fault%s in %llu records\n",
               (unsigned long long) ctx.errors, ctx.errors == 1 ? "" : "s",
               (unsigned long long) ctx.tree.size);

        rc = CONSENT_AUDIT_FAILED;

    } else {
        printf("OK: %llu records (%llu policy, %llu consent), seq 1 to "
               "%llu, %d file%s; %zu checkpoint%s of %s, the last of all "
               "%llu records\n",
               (unsigned long long) ctx.tree.size,
               (unsigned long long) ctx.policies,
               (unsigned long long) ctx.consents,
               (unsigned long long) ctx.tree.size,
               nfiles, nfiles == 1 ? "" : "s", ctx.ncps,
               ctx.ncps == 1 ? "" : "s", ctx.origin,
               (unsigned long long) ctx.covered);

        if (ctx.nkept) {
            printf("and %zu kept checkpoint%s agree%s with the log\n",
                   ctx.nkept, ctx.nkept == 1 ? "" : "s",
                   ctx.nkept == 1 ? "s" : "");
        }

        if (ctx.legacy) {
            printf("note: %llu records of the first format (a signature "
                   "each) are leaves too, without their sig\n",
                   (unsigned long long) ctx.legacy);
        }
    }

done:

    free(ctx.scratch);
    free(ctx.cps);
    free(ctx.kept);

    return rc;
}


static int
consent_audit_tree_line(void *data, const char *file, size_t line,
    const char *p, size_t len, int truncated)
{
    consent_audit_tree_ctx_t  *ctx = data;

    uint64_t                         expected;
    unsigned char                    hash[NGX_HTTP_CONSENT_TREE_HASH_LEN];
    ngx_http_consent_record_line_t   f;
    ngx_http_consent_tree_hash_t     stored[NGX_HTTP_CONSENT_TREE_HEIGHT];

    if (truncated) {
        consent_audit_tree_error(ctx, file, line, "truncated line",
                                 "the last line ends without a newline: it "
                                 "was cut, and is not taken as a record");
        return 0;
    }

    if (consent_audit_fields(p, len, &f) != 0) {
        consent_audit_tree_error(ctx, file, line, "malformed record",
                                 "not a consent log record (not compact "
                                 "JSON, or no type)");
        return 0;
    }

    if (f.type == NGX_HTTP_CONSENT_RECORD_CHECKPOINT) {
        consent_audit_tree_checkpoint(ctx, file, line, &f);
        return 0;
    }

    if (f.seq == 0) {
        consent_audit_tree_error(ctx, file, line, "malformed record",
                                 "a record without seq");
        return 0;
    }

    expected = ctx->last_seq + 1;

    if (ctx->pending) {

        if (f.seq == ctx->pending_expected) {
            ctx->pending = 0;
            consent_audit_tree_error(ctx, file, line, "out of order",
                                     "seq %llu comes after seq %llu (line "
                                     "%zu): the two lines were swapped",
                                     (unsigned long long) f.seq,
                                     (unsigned long long) ctx->pending_seq,
                                     ctx->pending_line);
            goto leaf;
        }

        consent_audit_tree_flush(ctx);
    }

    if (f.seq > expected) {
        ctx->pending = 1;
        ctx->pending_seq = f.seq;
        ctx->pending_expected = expected;
        ctx->pending_file = file;
        ctx->pending_line = line;

    } else if (f.seq < expected) {
        consent_audit_tree_error(ctx, file, line, "duplicate",
                                 "seq %llu after seq %llu: a seq used "
                                 "twice, or a record inserted",
                                 (unsigned long long) f.seq,
                                 (unsigned long long) expected - 1);
    }

leaf:

    if (f.seq > ctx->last_seq) {
        ctx->last_seq = f.seq;
    }

    if (f.sig || f.prev) {
        ctx->legacy++;
    }

    if (f.type == NGX_HTTP_CONSENT_RECORD_POLICY) {
        ctx->policies++;

    } else {
        ctx->consents++;
    }

    if (consent_audit_leaf(ctx->scratch, p, len, &f, hash) != 0) {
        return CONSENT_AUDIT_USAGE;
    }

    (void) ngx_http_consent_tree_append(&ctx->tree, hash, stored);

    consent_audit_tree_kept(ctx);

    return 0;
}


/* a checkpoint record: its signature, its size, its root, forks */

static void
consent_audit_tree_checkpoint(consent_audit_tree_ctx_t *ctx,
    const char *file, size_t line, ngx_http_consent_record_line_t *f)
{
    char                            *note;
    size_t                           i, len;
    consent_audit_cp_t              *cp;
    ngx_http_consent_note_status_e   status;
    ngx_http_consent_checkpoint_t    c;
    unsigned char                    root[NGX_HTTP_CONSENT_TREE_HASH_LEN];

    note = consent_audit_note(f->note, f->note_len, &len);

    if (note == NULL) {
        consent_audit_tree_error(ctx, file, line, "malformed checkpoint",
                                 "a checkpoint record without a note");
        return;
    }

    status = ngx_http_consent_note_open(note, len, ctx->key, &c);

    if (status == NGX_HTTP_CONSENT_NOTE_MALFORMED) {
        consent_audit_tree_error(ctx, file, line, "malformed checkpoint",
                                 "the note is not a signed checkpoint");
        goto done;
    }

    if (ctx->origin[0] == '\0') {
        memcpy(ctx->origin, c.origin, c.origin_len);
        ctx->origin[c.origin_len] = '\0';

    } else if (strlen(ctx->origin) != c.origin_len
               || memcmp(ctx->origin, c.origin, c.origin_len) != 0)
    {
        consent_audit_tree_error(ctx, file, line, "another log",
                                 "a checkpoint of \"%.*s\" in the log of "
                                 "\"%s\": spliced in from another log",
                                 (int) c.origin_len, c.origin, ctx->origin);
        goto done;
    }

    if (status == NGX_HTTP_CONSENT_NOTE_UNKNOWN_KEY) {
        consent_audit_tree_error(ctx, file, line, "another key",
                                 "the checkpoint of %llu records is not "
                                 "signed by this public key",
                                 (unsigned long long) c.size);
        goto done;
    }

    if (status == NGX_HTTP_CONSENT_NOTE_BAD_SIG) {
        consent_audit_tree_error(ctx, file, line, "bad signature",
                                 "the checkpoint's signature does not match "
                                 "its text: it was altered");
        goto done;
    }

    /* forks: a checkpoint of the same size with another root */

    for (i = 0; i < ctx->ncps; i++) {
        if (ctx->cps[i].size == c.size
            && memcmp(ctx->cps[i].root, c.root,
                      NGX_HTTP_CONSENT_TREE_HASH_LEN) != 0)
        {
            consent_audit_tree_error(ctx, file, line, "forked history",
                                     "two checkpoints of %llu records with "
                                     "different roots (this one and %s:%zu): "
                                     "the log was rewritten",
                                     (unsigned long long) c.size,
                                     ctx->cps[i].file, ctx->cps[i].line);
            goto done;
        }
    }

    if (ctx->ncps == ctx->cps_size) {
        ctx->cps_size = ctx->cps_size ? 2 * ctx->cps_size : 64;
        cp = realloc(ctx->cps, ctx->cps_size * sizeof(consent_audit_cp_t));

        if (cp == NULL) {
            goto done;
        }

        ctx->cps = cp;
    }

    cp = &ctx->cps[ctx->ncps++];
    cp->size = c.size;
    memcpy(cp->root, c.root, NGX_HTTP_CONSENT_TREE_HASH_LEN);
    cp->file = file;
    cp->line = line;

    if (c.size != ctx->tree.size) {
        consent_audit_tree_error(ctx, file, line, "checkpoint misplaced",
                                 "a checkpoint of %llu records after %llu: "
                                 "records were %s before it",
                                 (unsigned long long) c.size,
                                 (unsigned long long) ctx->tree.size,
                                 c.size > ctx->tree.size ? "deleted"
                                                         : "inserted");
        goto done;
    }

    ngx_http_consent_tree_root(&ctx->tree, root);

    if (memcmp(root, c.root, NGX_HTTP_CONSENT_TREE_HASH_LEN) != 0) {
        consent_audit_tree_error(ctx, file, line, "root mismatch",
                                 "the checkpoint's root is not the root of "
                                 "the %llu records before it: a record was "
                                 "changed, replaced or spliced in",
                                 (unsigned long long) c.size);
        goto done;
    }

    ctx->covered = c.size;

done:

    free(note);
}


/* the kept checkpoints whose size the tree has just reached */

static void
consent_audit_tree_kept(consent_audit_tree_ctx_t *ctx)
{
    unsigned char        root[NGX_HTTP_CONSENT_TREE_HASH_LEN];
    consent_audit_cp_t  *k;

    while (ctx->next_kept < ctx->nkept
           && ctx->kept[ctx->next_kept].size == ctx->tree.size)
    {
        k = &ctx->kept[ctx->next_kept++];
        ngx_http_consent_tree_root(&ctx->tree, root);

        if (memcmp(root, k->root, NGX_HTTP_CONSENT_TREE_HASH_LEN) != 0) {
            consent_audit_tree_error(ctx, k->file, 0, "forked history",
                                     "the kept checkpoint of %llu records "
                                     "has another root than the log: the "
                                     "log was rewritten since",
                                     (unsigned long long) k->size);
        }
    }
}


static void
consent_audit_tree_flush(consent_audit_tree_ctx_t *ctx)
{
    uint64_t  missing;

    if (!ctx->pending) {
        return;
    }

    ctx->pending = 0;
    missing = ctx->pending_seq - ctx->pending_expected;

    consent_audit_tree_error(ctx, ctx->pending_file, ctx->pending_line, "gap",
                             "seq %llu follows seq %llu: %llu record%s "
                             "missing",
                             (unsigned long long) ctx->pending_seq,
                             (unsigned long long) ctx->pending_expected - 1,
                             (unsigned long long) missing,
                             missing == 1 ? "" : "s");
}


static void
consent_audit_tree_error(consent_audit_tree_ctx_t *ctx, const char *file,
    size_t line, const char *reason, const char *fmt, ...)
{
    va_list  args;

    ctx->errors++;

    if (ctx->printed == ctx->max_errors) {
        return;
    }

    ctx->printed++;

    if (line) {
        printf("%s:%zu: %s: ", file, line, reason);

    } else {
        printf("%s: %s: ", file, reason);
    }

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    putchar('\n');
}


static int
consent_audit_read_kept(consent_audit_tree_ctx_t *ctx, const char *name,
    EVP_PKEY *key)
{
    consent_audit_cp_t             *k;
    consent_audit_file_t            f;
    ngx_http_consent_checkpoint_t   c;

    if (consent_audit_map(&f, name) != 0) {
        return -1;
    }

    if (ngx_http_consent_note_open(f.data, f.size, key, &c)
        != NGX_HTTP_CONSENT_NOTE_OK)
    {
        fprintf(stderr, "consent-audit verify: \"%s\" is not a checkpoint "
                "signed by this public key\n", name);
        consent_audit_unmap(&f);
        return -1;
    }

    consent_audit_unmap(&f);

    k = realloc(ctx->kept, (ctx->nkept + 1) * sizeof(consent_audit_cp_t));
    if (k == NULL) {
        return -1;
    }

    ctx->kept = k;
    k = &ctx->kept[ctx->nkept++];
    k->size = c.size;
    memcpy(k->root, c.root, NGX_HTTP_CONSENT_TREE_HASH_LEN);
    k->file = name;
    k->line = 0;

    return 0;
}


/* a record's leaf hash: of the line, or of a first-format line cut */

static int
consent_audit_leaf(char *scratch, const char *p, size_t len,
    ngx_http_consent_record_line_t *f, unsigned char *hash)
{
    if (!f->sig) {
        ngx_http_consent_tree_leaf_hash(p, len, hash);
        return 0;
    }

    if (f->canonical + 1 > CONSENT_AUDIT_SCRATCH) {
        return -1;
    }

    memcpy(scratch, p, f->canonical);
    scratch[f->canonical] = '}';

    ngx_http_consent_tree_leaf_hash(scratch, f->canonical + 1, hash);

    return 0;
}


/* the note of a checkpoint record, its JSON string decoded (malloc) */

static char *
consent_audit_note(const char *value, size_t len, size_t *outlen)
{
    char    *s;
    json_t  *v;

    if (value == NULL) {
        return NULL;
    }

    v = json_loadb(value, len, JSON_DECODE_ANY, NULL);

    if (!json_is_string(v)) {
        json_decref(v);
        return NULL;
    }

    *outlen = json_string_length(v);
    s = malloc(*outlen + 1);

    if (s != NULL) {
        memcpy(s, json_string_value(v), *outlen + 1);
    }

    json_decref(v);

    return s;
}


/*
 * The fields of a line as nginx writes it, found without walking the JSON:
 * "type" is the last key of every record in canonical order, and the first
 * ,"seq": is the top-level one (no member before it has a key "seq" of its
 * own). A line that is not exactly as written may fool this scan, but not
 * the tree: its bytes are the leaf, and its root will not match. Anything
 * else takes the full scan.
 */

static int
consent_audit_fields(const char *p, size_t len,
    ngx_http_consent_record_line_t *f)
{
    const char  *s, *end;

    static const char  consent[] = ",\"type\":\"consent\"}";
    static const char  policy[] = ",\"type\":\"policy\"}";

    end = p + len;

    if (len > sizeof(consent) && p[0] == '{'
        && (memcmp(end - (sizeof(consent) - 1), consent, sizeof(consent) - 1)
            == 0
            || memcmp(end - (sizeof(policy) - 1), policy, sizeof(policy) - 1)
               == 0))
    {
        s = memmem(p, len, ",\"seq\":", 7);

        if (s != NULL && s[7] >= '1' && s[7] <= '9') {
            memset(f, 0, sizeof(*f));

            f->type = end[-3] == 't' ? NGX_HTTP_CONSENT_RECORD_CONSENT
                                     : NGX_HTTP_CONSENT_RECORD_POLICY;
            f->canonical = len;

            for (s += 7; s < end && *s >= '0' && *s <= '9'; s++) {
                f->seq = f->seq * 10 + (uint64_t) (*s - '0');
            }

            if (s < end && (*s == ',' || *s == '}')) {
                return 0;
            }
        }
    }

    return ngx_http_consent_record_fields(p, len, f);
}


/*
 * checkpoint FILE... [--pubkey PEM]: the latest checkpoint of the log,
 * verbatim, checked when a key is given.
 */

int
consent_audit_checkpoint(int argc, char **argv)
{
    int                             i, nfiles, rc;
    char                          **files, err[512];
    EVP_PKEY                       *key;
    const char                     *pubkey;
    consent_audit_prove_ctx_t       ctx;
    ngx_http_consent_checkpoint_t   c;

    files = calloc((size_t) argc + 1, sizeof(char *));
    if (files == NULL) {
        return CONSENT_AUDIT_USAGE;
    }

    pubkey = NULL;
    nfiles = 0;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--pubkey") == 0 && i + 1 < argc) {
            pubkey = argv[++i];

        } else {
            files[nfiles++] = argv[i];
        }
    }

    if (nfiles == 0) {
        fprintf(stderr, "usage: consent-audit checkpoint FILE... "
                "[--pubkey PEM]\n");
        free(files);
        return CONSENT_AUDIT_USAGE;
    }

    memset(&ctx, 0, sizeof(ctx));
    ctx.found = -1;                      /* checkpoints only */

    rc = consent_audit_lines(files, nfiles, consent_audit_prove_line, &ctx);

    if (rc == CONSENT_AUDIT_OK && ctx.note == NULL) {
        fprintf(stderr, "consent-audit checkpoint: no checkpoint in the "
                "files\n");
        rc = CONSENT_AUDIT_FAILED;
    }

    if (rc == CONSENT_AUDIT_OK && pubkey != NULL) {
        key = ngx_http_consent_record_load_key(pubkey, 0, err, sizeof(err));

        if (key == NULL) {
            fprintf(stderr, "consent-audit checkpoint: %s\n", err);
            rc = CONSENT_AUDIT_USAGE;

        } else {
            if (ngx_http_consent_note_open(ctx.note, ctx.note_len, key, &c)
                != NGX_HTTP_CONSENT_NOTE_OK)
            {
                fprintf(stderr, "consent-audit checkpoint: the latest "
                        "checkpoint is not signed by this key\n");
                rc = CONSENT_AUDIT_FAILED;
            }

            EVP_PKEY_free(key);
        }
    }

    if (rc == CONSENT_AUDIT_OK) {
        fwrite(ctx.note, 1, ctx.note_len, stdout);
    }

    free(ctx.note);
    free(files);

    return rc;
}


/*
 * prove ID FILE...: for the latest record of consent id ID (32 hex
 * digits), its inclusion proof in the latest checkpoint, as
 * c2sp.org/tlog-proof@v1.
 */

int
consent_audit_prove(int argc, char **argv)
{
    int                            rc;
    char                          *b64;
    size_t                         i, n;
    consent_audit_prove_ctx_t      ctx;
    ngx_http_consent_tree_hash_t   proof[NGX_HTTP_CONSENT_TREE_HEIGHT];

    if (argc < 2 || strlen(argv[0]) != 32) {
        fprintf(stderr, "usage: consent-audit prove ID FILE...  (ID: the "
                "32 hex digits of $consent_id)\n");
        return CONSENT_AUDIT_USAGE;
    }

    memset(&ctx, 0, sizeof(ctx));

    if (ngx_http_consent_record_unhex(argv[0], 32, ctx.id) != 0) {
        fprintf(stderr, "consent-audit prove: \"%s\" is not 32 lower-case "
                "hex digits\n", argv[0]);
        return CONSENT_AUDIT_USAGE;
    }

    ctx.scratch = malloc(CONSENT_AUDIT_SCRATCH);
    b64 = malloc(4 * ((CONSENT_AUDIT_SCRATCH + 2) / 3) + 1);

    if (ctx.scratch == NULL || b64 == NULL) {
        rc = CONSENT_AUDIT_USAGE;
        goto done;
    }

    rc = consent_audit_lines(argv + 1, argc - 1, consent_audit_prove_line,
                             &ctx);
    if (rc != CONSENT_AUDIT_OK) {
        goto done;
    }

    if (!ctx.found) {
        fprintf(stderr, "consent-audit prove: no record of consent id %s\n",
                argv[0]);
        rc = CONSENT_AUDIT_FAILED;
        goto done;
    }

    if (ctx.note == NULL || ctx.note_size <= ctx.index) {
        fprintf(stderr, "consent-audit prove: no checkpoint covers the "
                "record yet (tree index %llu); the next one will\n",
                (unsigned long long) ctx.index);
        rc = CONSENT_AUDIT_FAILED;
        goto done;
    }

    if (ctx.note_size > ctx.tree.size
        || ngx_http_consent_tree_prove(ctx.index, ctx.note_size,
                                       consent_audit_prove_read, &ctx, proof,
                                       &n)
           != 0)
    {
        fprintf(stderr, "consent-audit prove: the latest checkpoint is of "
                "%llu records, and the files hold %llu: run verify\n",
                (unsigned long long) ctx.note_size,
                (unsigned long long) ctx.tree.size);
        rc = CONSENT_AUDIT_FAILED;
        goto done;
    }

    EVP_EncodeBlock((unsigned char *) b64, (unsigned char *) ctx.leaf,
                    (int) ctx.leaf_len);

    printf("c2sp.org/tlog-proof@v1\nextra %s\nindex %llu\n", b64,
           (unsigned long long) ctx.index);

    for (i = 0; i < n; i++) {
        EVP_EncodeBlock((unsigned char *) b64, proof[i],
                        NGX_HTTP_CONSENT_TREE_HASH_LEN);
        printf("%s\n", b64);
    }

    putchar('\n');
    fwrite(ctx.note, 1, ctx.note_len, stdout);

done:

    free(ctx.scratch);
    free(ctx.stored);
    free(ctx.leaf);
    free(ctx.note);
    free(b64);

    return rc;
}


static int
consent_audit_prove_line(void *data, const char *file, size_t line,
    const char *p, size_t len, int truncated)
{
    consent_audit_prove_ctx_t  *ctx = data;

    char                            *note, *leaf;
    size_t                           n, k, nlen;
    unsigned char                    hash[NGX_HTTP_CONSENT_TREE_HASH_LEN];
    ngx_http_consent_record_line_t   f;
    ngx_http_consent_checkpoint_t    c;
    ngx_http_consent_tree_hash_t     stored[NGX_HTTP_CONSENT_TREE_HEIGHT];
    ngx_http_consent_tree_hash_t    *s;

    (void) file;
    (void) line;

    if (truncated || ngx_http_consent_record_fields(p, len, &f) != 0) {
        return 0;
    }

    if (f.type == NGX_HTTP_CONSENT_RECORD_CHECKPOINT) {
        note = consent_audit_note(f.note, f.note_len, &nlen);

        if (note == NULL) {
            return 0;
        }

        /* its size, unchecked: verify checks, prove only chooses */

        if (ngx_http_consent_note_open(note, nlen, NULL, &c)
            == NGX_HTTP_CONSENT_NOTE_MALFORMED)
        {
            free(note);
            return 0;
        }

        free(ctx->note);
        ctx->note = note;
        ctx->note_len = nlen;
        ctx->note_size = c.size;

        return 0;
    }

    if (ctx->found == -1) {
        return 0;
    }

    if (consent_audit_leaf(ctx->scratch, p, len, &f, hash) != 0) {
        return CONSENT_AUDIT_USAGE;
    }

    if (f.has_id && memcmp(f.id, ctx->id, 16) == 0) {
        n = f.sig ? f.canonical + 1 : len;
        leaf = malloc(n);

        if (leaf == NULL) {
            return CONSENT_AUDIT_USAGE;
        }

        memcpy(leaf, f.sig ? ctx->scratch : p, n);

        free(ctx->leaf);
        ctx->leaf = leaf;
        ctx->leaf_len = n;
        ctx->index = ctx->tree.size;
        ctx->found = 1;
    }

    n = ngx_http_consent_tree_append(&ctx->tree, hash, stored);

    if (ctx->nstored + n > ctx->stored_size) {
        ctx->stored_size = ctx->stored_size ? 2 * ctx->stored_size : 4096;
        s = realloc(ctx->stored, ctx->stored_size
                                 * sizeof(ngx_http_consent_tree_hash_t));
        if (s == NULL) {
            return CONSENT_AUDIT_USAGE;
        }

        ctx->stored = s;
    }

    for (k = 0; k < n; k++) {
        memcpy(ctx->stored[ctx->nstored++], stored[k],
               NGX_HTTP_CONSENT_TREE_HASH_LEN);
    }

    return 0;
}


static int
consent_audit_prove_read(void *data, uint64_t index, unsigned char *out)
{
    consent_audit_prove_ctx_t  *ctx = data;

    if (index >= ctx->nstored) {
        return -1;
    }

    memcpy(out, ctx->stored[index], NGX_HTTP_CONSENT_TREE_HASH_LEN);

    return 0;
}


/* vkey --pubkey PEM --origin NAME */

int
consent_audit_vkey(int argc, char **argv)
{
    int          i;
    char         err[512], vkey[NGX_HTTP_CONSENT_NOTE_VKEY_LEN];
    EVP_PKEY    *key;
    const char  *pubkey, *origin;

    pubkey = NULL;
    origin = NULL;

    for (i = 0; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--pubkey") == 0) {
            pubkey = argv[i + 1];

        } else if (strcmp(argv[i], "--origin") == 0) {
            origin = argv[i + 1];
        }
    }

    if (pubkey == NULL || origin == NULL || i != argc) {
        fprintf(stderr, "usage: consent-audit vkey --pubkey PEM --origin "
                "NAME\n");
        return CONSENT_AUDIT_USAGE;
    }

    key = ngx_http_consent_record_load_key(pubkey, 0, err, sizeof(err));
    if (key == NULL) {
        fprintf(stderr, "consent-audit vkey: %s\n", err);
        return CONSENT_AUDIT_USAGE;
    }

    if (ngx_http_consent_note_vkey(key, origin, strlen(origin), vkey,
                                   sizeof(vkey))
        == 0)
    {
        fprintf(stderr, "consent-audit vkey: \"%s\" cannot name a note key "
                "(1 to 255 printable characters, no space, no '+')\n",
                origin);
        EVP_PKEY_free(key);
        return CONSENT_AUDIT_USAGE;
    }

    printf("%s\n", vkey);
    EVP_PKEY_free(key);

    return CONSENT_AUDIT_OK;
}


static int
consent_audit_cp_cmp(const void *a, const void *b)
{
    const consent_audit_cp_t  *x = a, *y = b;

    return (x->size > y->size) - (x->size < y->size);
}
