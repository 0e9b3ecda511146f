
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * Edit plans of static files.  The gate's answer for a static file is a
 * pure function of the file, the location's configuration, the reader's
 * granted set and whether the head snippet and the banner go in: the
 * first request scans the file and records what the gate sent (ranges of
 * the file, bytes it made, the places of the snippet and the banner); the
 * next ones send the recorded ranges from the file by sendfile, as nginx's
 * range filter does, without reading it.  The snippet (its nonce) and the
 * banner (its language and return path) are made per request.
 *
 * The file is the one the static module opened (its descriptor, so that
 * open_file_cache's and a rename's answers stay whole): fstat() keys the
 * plan on device, inode, size, mtime and ctime.  A file that changes while
 * it is scanned is scanned again; one that changes while it is being sent
 * is cut before the last chunk, never completed with a mix.
 *
 * One cache per consent_plan_cache directive, per worker: lookups take no
 * lock, and a worker scans a file once.  Its memory is a slab of the set
 * size, allocated when the worker starts; the least recently used plans
 * make room for a new one.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_plan.h"


#define NGX_HTTP_CONSENT_PLAN_READ   65536
#define NGX_HTTP_CONSENT_PLAN_TRIES  3
#define NGX_HTTP_CONSENT_PLAN_MIN    (64 * 1024)

/* ranges shorter than this are sent from memory, up to a total */
#define NGX_HTTP_CONSENT_PLAN_INLINE 8192
#define NGX_HTTP_CONSENT_PLAN_INLINE_TOTAL  (64 * 1024)

/* the most a plan's ranges and bytes take: a page changed more is scanned */
#define NGX_HTTP_CONSENT_PLAN_MAX    (256 * 1024)


/* $consent_plan */
typedef enum {
    NGX_HTTP_CONSENT_PLAN_WAIT = 0,      /* no body yet */
    NGX_HTTP_CONSENT_PLAN_BYPASS,        /* the full scan, in memory */
    NGX_HTTP_CONSENT_PLAN_MISS,
    NGX_HTTP_CONSENT_PLAN_HIT
} ngx_http_consent_plan_status_e;


typedef enum {
    NGX_HTTP_CONSENT_PLAN_FILE = 0,      /* a range of the file, as is */
    NGX_HTTP_CONSENT_PLAN_DATA,          /* bytes of the plan's own */
    NGX_HTTP_CONSENT_PLAN_HEAD,          /* the head snippet */
    NGX_HTTP_CONSENT_PLAN_BANNER         /* the banner */
} ngx_http_consent_plan_op_e;


typedef struct {
    off_t                           start;   /* in the file or the data */
    off_t                           len;
    ngx_http_consent_plan_op_e      kind;
} ngx_http_consent_plan_op_t;


/* what the answer depends on: zeroed, then filled, compared whole */
typedef struct {
    dev_t                           dev;
    ino_t                           ino;
    off_t                           size;
    time_t                          mtime;
    time_t                          ctime;
    long                            mtime_nsec;
    long                            ctime_nsec;
    void                           *conf;    /* consent's loc conf */
    uint64_t                        granted;
    ngx_uint_t                      head;
    ngx_uint_t                      banner;
} ngx_http_consent_plan_key_t;


typedef struct {
    ngx_http_consent_plan_op_t     *ops;
    ngx_uint_t                      nops;
    u_char                         *data;
    size_t                          data_len;
    ngx_uint_t                      none;    /* too large: the full scan */
    /* <html lang>, which the banner's language prefers */
    size_t                          lang_len;
    u_char                          lang[NGX_HTTP_CONSENT_HTML_LANG_LEN];
    /* $consent_removed: no scan on a hit */
    ngx_http_consent_gate_removed_t removed;
} ngx_http_consent_plan_t;


/* a cached plan: its ops and data follow it in the same allocation */
typedef struct {
    ngx_rbtree_node_t               node;    /* key: hash of the key */
    ngx_queue_t                     queue;   /* least recently used last */
    ngx_http_consent_plan_key_t     key;
    ngx_http_consent_plan_t         plan;
} ngx_http_consent_plan_node_t;


typedef struct {
    size_t                          size;
    ngx_slab_pool_t                *pool;    /* the worker's, or NULL */
    ngx_rbtree_t                    rbtree;
    ngx_rbtree_node_t               sentinel;
    ngx_queue_t                     lru;
} ngx_http_consent_plan_cache_t;


typedef struct {
    ngx_array_t                     caches;  /* plan_cache_t * */
} ngx_http_consent_plan_main_conf_t;


typedef struct {
    ngx_http_consent_plan_cache_t  *cache;   /* NULL: off */
} ngx_http_consent_plan_loc_conf_t;


typedef struct {
    ngx_http_consent_plan_cache_t  *cache;
    ngx_http_consent_plan_key_t     key;
    ngx_file_t                      hfile;   /* the descriptor found */
    ngx_file_t                     *file;    /* the buffer's, in the body */
    ngx_http_consent_gate_t        *gate;
    ngx_str_t                      *snippet;
    ngx_pool_t                     *pool;    /* the request's */
    ngx_http_output_body_filter_pt  next;

    ngx_array_t                     ops;     /* recorded on a miss */
    ngx_array_t                     data;

    ngx_http_consent_plan_t         plan;    /* this answer's, pooled */
    ngx_chain_t                    *banner;
    off_t                           length;

    ngx_chain_t                    *sent;    /* our links, until sent */

    /* no sendfile: the plan applied to the copy filter's buffers */
    ngx_uint_t                      memory;
    ngx_uint_t                      op;      /* the op being sent */
    off_t                           done;    /* of its bytes */
    off_t                           offset;  /* of the file, given so far */
    ngx_chain_t                    *busy;    /* our links, until sent */

    ngx_http_consent_plan_status_e  status;
    ngx_uint_t                      too_big;
} ngx_http_consent_plan_ctx_t;


static ngx_int_t ngx_http_consent_plan_open(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_http_core_loc_conf_t *clcf);
static ngx_int_t ngx_http_consent_plan_stat(ngx_http_request_t *r,
    ngx_file_t *file, ngx_http_consent_plan_key_t *key);
static ngx_int_t ngx_http_consent_plan_same(ngx_http_request_t *r,
    ngx_file_t *file, ngx_http_consent_plan_key_t *key,
    ngx_http_consent_plan_key_t *now);
static ngx_http_consent_plan_node_t *ngx_http_consent_plan_lookup(
    ngx_http_consent_plan_cache_t *cache, ngx_http_consent_plan_key_t *key,
    uint32_t hash);
static ngx_int_t ngx_http_consent_plan_scan(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_http_consent_plan_t *plan);
static ngx_int_t ngx_http_consent_plan_read(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_http_consent_plan_t *plan);
static void *ngx_http_consent_plan_alloc(void *data, size_t size);
static int ngx_http_consent_plan_record(void *data,
    ngx_http_consent_gate_out_e kind, const unsigned char *p, size_t len);
static ngx_int_t ngx_http_consent_plan_op(ngx_http_consent_plan_ctx_t *ctx,
    ngx_http_consent_plan_op_e kind, off_t start, off_t len);
static ngx_int_t ngx_http_consent_plan_inline(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx);
static void ngx_http_consent_plan_store(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, uint32_t hash,
    ngx_http_consent_plan_t *plan);
static ngx_int_t ngx_http_consent_plan_prepare(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_http_consent_plan_t *plan);
static ngx_int_t ngx_http_consent_plan_send(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx);
static ngx_int_t ngx_http_consent_plan_emit(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_http_consent_plan_op_t *op,
    ngx_chain_t ***llp, ngx_buf_t **bp);
static ngx_int_t ngx_http_consent_plan_slice(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_chain_t *in,
    ngx_http_output_body_filter_pt next);
static ngx_int_t ngx_http_consent_plan_link(ngx_http_request_t *r,
    ngx_chain_t ***llp, ngx_buf_t **bp);
static ngx_int_t ngx_http_consent_plan_check(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx);
static ngx_int_t ngx_http_consent_plan_unchanged(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_file_t *file);
static ngx_int_t ngx_http_consent_plan_cut(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx);
static void ngx_http_consent_plan_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);

static ngx_int_t ngx_http_consent_plan_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static ngx_int_t ngx_http_consent_plan_add_variables(ngx_conf_t *cf);
static char *ngx_http_consent_plan_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_consent_plan_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_consent_plan_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_consent_plan_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_consent_plan_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_consent_plan_commands[] = {

    { ngx_string("consent_plan_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_consent_plan_cache,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_str_t  ngx_http_consent_plan_statuses[] = {
    ngx_null_string,
    ngx_string("BYPASS"),
    ngx_string("MISS"),
    ngx_string("HIT")
};


static ngx_http_module_t  ngx_http_consent_plan_module_ctx = {
    ngx_http_consent_plan_add_variables,   /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_consent_plan_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_consent_plan_create_loc_conf, /* create location configuration */
    ngx_http_consent_plan_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_consent_plan_module = {
    NGX_MODULE_V1,
    &ngx_http_consent_plan_module_ctx,     /* module context */
    ngx_http_consent_plan_commands,        /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_consent_plan_init_process,    /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * The gate is started (its rules, the reader's grants, the snippet): for
 * a static file of a location with a plan cache, sent by sendfile, the
 * plan is found or made now, from the static module's descriptor, so that
 * the answer gets its length.  The file buffer is then taken as it is,
 * not read into memory by the copy filter.
 */

ngx_int_t
ngx_http_consent_plan_start(ngx_http_request_t *r,
    ngx_http_consent_gate_t *gate, ngx_str_t *snippet)
{
    uint32_t                           hash;
    ngx_int_t                          rc;
    ngx_http_core_loc_conf_t          *clcf;
    ngx_http_consent_plan_ctx_t       *ctx;
    ngx_http_consent_plan_node_t      *pn;
    ngx_http_consent_plan_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_plan_module);

    if (plcf->cache == NULL || plcf->cache->pool == NULL) {
        return NGX_OK;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_consent_plan_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->cache = plcf->cache;
    ctx->gate = gate;
    ctx->pool = r->pool;
    ctx->snippet = snippet;
    ctx->status = NGX_HTTP_CONSENT_PLAN_BYPASS;

    ngx_http_set_ctx(r, ctx, ngx_http_consent_plan_module);

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    /*
     * what the static module sends: a whole file, its size and mtime
     * known, not by directio (which makes the copy filter read it in its
     * own way); by sendfile, or else (sendfile off, SSL) read by the copy
     * filter into buffers the plan is applied to, without a scan; not
     * with consent_placeholder, whose placeholders are per request
     */

    if (r->upstream != NULL
        || gate->placeholder
        || r->headers_out.last_modified_time == -1
        || r->headers_out.content_length_n < 0
        || r->headers_out.content_length_n >= clcf->directio
        || r->main_filter_need_in_memory)
    {
        return NGX_OK;
    }

    ctx->memory = !r->connection->sendfile;

    rc = ngx_http_consent_plan_open(r, ctx, clcf);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : rc;
    }

    /* the key: padding zeroed, as it is hashed and compared whole */

    ngx_memzero(&ctx->key, sizeof(ngx_http_consent_plan_key_t));

    ctx->key.conf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);
    ctx->key.granted = gate->granted;
    ctx->key.head = gate->head;
    ctx->key.banner = gate->banner;

    if (ngx_http_consent_plan_stat(r, &ctx->hfile, &ctx->key) != NGX_OK) {
        return NGX_ERROR;
    }

    hash = ngx_murmur_hash2((u_char *) &ctx->key, sizeof(ctx->key));

    pn = ngx_http_consent_plan_lookup(ctx->cache, &ctx->key, hash);

    if (pn != NULL) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "consent plan: hit, %ui ops", pn->plan.nops);

        ngx_queue_remove(&pn->queue);
        ngx_queue_insert_head(&ctx->cache->lru, &pn->queue);

        if (pn->plan.none) {
            return NGX_OK;                 /* BYPASS */
        }

        ctx->status = NGX_HTTP_CONSENT_PLAN_HIT;

        rc = ngx_http_consent_plan_prepare(r, ctx, &pn->plan);

    } else {
        ctx->status = NGX_HTTP_CONSENT_PLAN_MISS;

        rc = ngx_http_consent_plan_scan(r, ctx, &ctx->plan);

        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "consent plan: \"%V\" changes in more places "
                          "than a plan holds (%uzk); it takes the full scan",
                          &ctx->hfile.name,
                          (size_t) NGX_HTTP_CONSENT_PLAN_MAX / 1024);

            ngx_memzero(&ctx->plan, sizeof(ngx_http_consent_plan_t));
            ctx->plan.none = 1;

            hash = ngx_murmur_hash2((u_char *) &ctx->key, sizeof(ctx->key));
            ngx_http_consent_plan_store(r, ctx, hash, &ctx->plan);

            ctx->status = NGX_HTTP_CONSENT_PLAN_BYPASS;
            return NGX_OK;
        }

        if (rc == NGX_OK) {
            /* the key may be that of the file as it was when scanned */
            hash = ngx_murmur_hash2((u_char *) &ctx->key, sizeof(ctx->key));

            ngx_http_consent_plan_store(r, ctx, hash, &ctx->plan);

            rc = ngx_http_consent_plan_prepare(r, ctx, &ctx->plan);
        }
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (!ctx->memory) {
        /* a filter after us that needs memory sets it again */
        r->filter_need_in_memory = 0;
    }

    return NGX_OK;
}


/*
 * What the plan of this answer says the gate removed: known from the
 * header filter on, for a hit as for a miss.  NULL when the answer takes
 * the full scan, which counts as it goes.
 */

ngx_http_consent_gate_removed_t *
ngx_http_consent_plan_removed(ngx_http_request_t *r)
{
    ngx_http_consent_plan_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_consent_plan_module);

    if (ctx == NULL
        || (ctx->status != NGX_HTTP_CONSENT_PLAN_HIT
            && ctx->status != NGX_HTTP_CONSENT_PLAN_MISS))
    {
        return NULL;
    }

    return &ctx->plan.removed;
}


/* the header filter has cleared Content-Length: the plan's answer has one */

void
ngx_http_consent_plan_header(ngx_http_request_t *r)
{
    ngx_http_consent_plan_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_consent_plan_module);

    if (ctx != NULL && ctx->status != NGX_HTTP_CONSENT_PLAN_BYPASS) {
        r->headers_out.content_length_n = ctx->length;
    }
}


ngx_int_t
ngx_http_consent_plan_body(ngx_http_request_t *r, ngx_chain_t *in,
    ngx_http_output_body_filter_pt next)
{
    ngx_buf_t                    *b;
    ngx_int_t                     rc;
    ngx_http_consent_plan_key_t   now;
    ngx_http_consent_plan_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_consent_plan_module);

    if (ctx == NULL || ctx->status == NGX_HTTP_CONSENT_PLAN_BYPASS) {
        return NGX_DECLINED;
    }

    if (ctx->memory) {
        return ngx_http_consent_plan_slice(r, ctx, in, next);
    }

    if (ctx->file != NULL) {
        /* the plan is given: what is left is to write it */

        if (ngx_http_consent_plan_check(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        return next(r, in);
    }

    if (in == NULL) {
        return NGX_DECLINED;
    }

    b = in->buf;

    if (ngx_buf_in_memory(b) || !b->in_file) {
        /*
         * a filter after us asked for memory (gzip, sub_filter, ...): the
         * full scan, which makes the same bytes
         */
        ctx->status = NGX_HTTP_CONSENT_PLAN_BYPASS;
        return NGX_DECLINED;
    }

    if (in->next != NULL || !b->last_buf || b->file_pos != 0
        || b->file == NULL)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "consent plan: a file buffer other than a whole "
                      "file reached the filter");
        return NGX_ERROR;
    }

    if (b->file->fd != ctx->hfile.fd) {
        /* not the descriptor the plan was found for: the same file? */

        rc = ngx_http_consent_plan_same(r, b->file, &ctx->key, &now);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "consent plan: \"%V\" changed as it was opened; "
                          "the answer is cut rather than mixed",
                          &b->file->name);
            return NGX_ERROR;
        }
    }

    ctx->file = b->file;
    ctx->next = next;

    /* the buffer is consumed: its ranges go out as buffers of our own */
    b->file_pos = b->file_last;

    return ngx_http_consent_plan_send(r, ctx);
}


/*
 * The static module's descriptor: the file of the request's path among the
 * request pool's cleanups, or, under open_file_cache, the cached one it was
 * given.  NGX_DECLINED: none (the full scan then).
 */

static ngx_int_t
ngx_http_consent_plan_open(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_http_core_loc_conf_t *clcf)
{
    u_char                    *last;
    size_t                     root;
    ngx_str_t                  path;
    ngx_pool_cleanup_t        *cln;
    ngx_open_file_info_t       of;
    ngx_pool_cleanup_file_t   *clnf;

    last = ngx_http_map_uri_to_path(r, &path, &root, 0);
    if (last == NULL) {
        return NGX_ERROR;
    }

    path.len = last - path.data;

    ctx->hfile.log = r->connection->log;
    ctx->hfile.name = path;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_pool_cleanup_file) {
            clnf = cln->data;

            if (ngx_strcmp(clnf->name, path.data) == 0) {
                ctx->hfile.fd = clnf->fd;
                return NGX_OK;
            }
        }
    }

    if (clcf->open_file_cache == NULL) {
        return NGX_DECLINED;
    }

    ngx_memzero(&of, sizeof(ngx_open_file_info_t));

    of.read_ahead = clcf->read_ahead;
    of.directio = clcf->directio;
    of.valid = clcf->open_file_cache_valid;
    of.min_uses = clcf->open_file_cache_min_uses;
    of.errors = clcf->open_file_cache_errors;
    of.events = clcf->open_file_cache_events;

    if (ngx_http_set_disable_symlinks(r, clcf, &path, &of) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_open_cached_file(clcf->open_file_cache, &path, &of, r->pool)
        != NGX_OK || !of.is_file)
    {
        return NGX_DECLINED;
    }

    ctx->hfile.fd = of.fd;

    return NGX_OK;
}


/*
 * The key's file part, from the descriptor that will be sent from; the
 * rest of the key as it is in *key.
 */

static ngx_int_t
ngx_http_consent_plan_stat(ngx_http_request_t *r, ngx_file_t *file,
    ngx_http_consent_plan_key_t *key)
{
    ngx_file_info_t  fi;

    if (ngx_fd_info(file->fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_fd_info_n " \"%V\" failed", &file->name);
        return NGX_ERROR;
    }

    key->dev = fi.st_dev;
    key->ino = fi.st_ino;
    key->size = fi.st_size;
    key->mtime = fi.st_mtime;
    key->ctime = fi.st_ctime;
#if (NGX_LINUX)
    key->mtime_nsec = fi.st_mtim.tv_nsec;
    key->ctime_nsec = fi.st_ctim.tv_nsec;
#endif

    return NGX_OK;
}


/* NGX_OK: the file is as *key says; NGX_DECLINED: changed, as *now says */

static ngx_int_t
ngx_http_consent_plan_same(ngx_http_request_t *r, ngx_file_t *file,
    ngx_http_consent_plan_key_t *key, ngx_http_consent_plan_key_t *now)
{
    *now = *key;

    if (ngx_http_consent_plan_stat(r, file, now) != NGX_OK) {
        return NGX_ERROR;
    }

    return (ngx_memcmp(now, key, sizeof(ngx_http_consent_plan_key_t)) == 0)
           ? NGX_OK : NGX_DECLINED;
}


static ngx_http_consent_plan_node_t *
ngx_http_consent_plan_lookup(ngx_http_consent_plan_cache_t *cache,
    ngx_http_consent_plan_key_t *key, uint32_t hash)
{
    ngx_int_t                      rc;
    ngx_rbtree_node_t             *node, *sentinel;
    ngx_http_consent_plan_node_t  *pn;

    node = cache->rbtree.root;
    sentinel = cache->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        pn = (ngx_http_consent_plan_node_t *) node;

        rc = ngx_memcmp(key, &pn->key, sizeof(ngx_http_consent_plan_key_t));

        if (rc == 0) {
            return pn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * A miss: the file is read in pieces and given to the gate, which records
 * what it would send.  Nothing is sent before the whole file is scanned,
 * and a file that changed meanwhile (a short read, another fstat()) is
 * scanned again: the plan is that of one version of the file.
 */

static ngx_int_t
ngx_http_consent_plan_scan(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_http_consent_plan_t *plan)
{
    void                            *data;
    ngx_int_t                        rc;
    ngx_http_consent_gate_t         *g;
    ngx_http_consent_gate_out_pt     out;
    ngx_http_consent_gate_alloc_pt   alloc;

    /* the filter's gate is lent, and given back as it came */

    g = ctx->gate;
    out = g->out;
    alloc = g->alloc;
    data = g->data;

    rc = ngx_http_consent_plan_read(r, ctx, plan);

    ngx_http_consent_gate_init(g, g->rules, ctx->key.granted, ctx->key.head,
                               ctx->key.banner, g->hold_cap, out, alloc,
                               data);

    return rc;
}


static ngx_int_t
ngx_http_consent_plan_read(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_http_consent_plan_t *plan)
{
    off_t                                 off;
    size_t                                n, cap, hold_cap;
    u_char                               *buf;
    ssize_t                               got;
    uint64_t                              granted;
    ngx_int_t                             rc, whole;
    ngx_uint_t                            tries, head, banner, last;
    ngx_http_consent_plan_key_t           now;
    ngx_http_consent_gate_t              *g;
    const ngx_http_consent_gate_rules_t  *rules;

    g = ctx->gate;

    rules = g->rules;
    granted = g->granted;
    head = g->head;
    banner = g->banner;
    hold_cap = g->hold_cap;

    if (ngx_array_init(&ctx->ops, r->pool, 16,
                       sizeof(ngx_http_consent_plan_op_t))
        != NGX_OK
        || ngx_array_init(&ctx->data, r->pool, 1024, 1) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the file's size now, it may be more when read again: no matter */

    cap = (size_t) ngx_min((off_t) NGX_HTTP_CONSENT_PLAN_READ,
                           ctx->key.size + 1);

    buf = ngx_pnalloc(r->pool, cap);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    for (tries = 1; /* void */; tries++) {

        ctx->ops.nelts = 0;
        ctx->data.nelts = 0;

        ngx_http_consent_gate_init(g, rules, granted, head, banner,
                                   hold_cap, ngx_http_consent_plan_record,
                                   ngx_http_consent_plan_alloc, ctx);

        off = 0;
        last = 0;

        do {
            n = (size_t) ngx_min((off_t) cap, ctx->key.size - off);
            got = 0;

            if (n) {
                got = ngx_read_file(&ctx->hfile, buf, n, off);

                if (got == NGX_ERROR) {
                    return NGX_ERROR;
                }

                if ((size_t) got < n) {
                    break;                 /* shorter now */
                }
            }

            off += n;
            last = (off == ctx->key.size);

            if (ngx_http_consent_gate(g, buf, n, last) != 0) {
                return ctx->too_big ? NGX_DECLINED : NGX_ERROR;
            }

        } while (!last);

        whole = (off == ctx->key.size) ? ngx_http_consent_plan_inline(r, ctx)
                                       : NGX_DECLINED;
        if (whole == NGX_ERROR) {
            return NGX_ERROR;
        }

        rc = ngx_http_consent_plan_same(r, &ctx->hfile, &ctx->key, &now);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK && whole == NGX_OK) {
            break;
        }

        if (tries == NGX_HTTP_CONSENT_PLAN_TRIES) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "consent plan: \"%V\" changed each of the %ui "
                          "times it was read; the request fails rather "
                          "than mix versions", &ctx->hfile.name, tries);
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "consent plan: \"%V\" changed while it was read, "
                      "reading it again", &ctx->hfile.name);

        ctx->key = now;
    }

    if (g->overflows) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "consent: %ui element(s) of \"%V\" longer than "
                      "consent_gate_buffer decided without being read in "
                      "full (removed unless every category is granted); "
                      "raise \"consent_gate_buffer\"",
                      (ngx_uint_t) g->overflows, &ctx->hfile.name);
    }

    ngx_memzero(plan, sizeof(ngx_http_consent_plan_t));

    plan->ops = ctx->ops.elts;
    plan->nops = ctx->ops.nelts;
    plan->data = ctx->data.elts;
    plan->data_len = ctx->data.nelts;

    plan->lang_len = g->lang_len;
    ngx_memcpy(plan->lang, g->lang, g->lang_len);
    plan->removed = g->removed_by;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "consent plan: miss, %ui ops, %uz bytes, removed:%ui",
                   plan->nops, plan->data_len, (ngx_uint_t) g->removed);

    return NGX_OK;
}


/* the gate's out(): what it would send, as ops */

static int
ngx_http_consent_plan_record(void *data, ngx_http_consent_gate_out_e kind,
    const unsigned char *p, size_t len)
{
    ngx_http_consent_plan_ctx_t *ctx = data;

    u_char                        *d;
    off_t                          start;
    ngx_http_consent_gate_t       *g;

    switch (kind) {

    case NGX_HTTP_CONSENT_GATE_OUT_INPUT:
        if (len == 0) {
            return 0;
        }

        g = ctx->gate;
        start = (off_t) (g->in_off + (uint64_t) (p - g->in));

        return ngx_http_consent_plan_op(ctx, NGX_HTTP_CONSENT_PLAN_FILE,
                                        start, (off_t) len) == NGX_OK
               ? 0 : -1;

    case NGX_HTTP_CONSENT_GATE_OUT_COPY:
        if (len == 0) {
            return 0;
        }

        if (ctx->data.nelts + len > NGX_HTTP_CONSENT_PLAN_MAX) {
            ctx->too_big = 1;
            return -1;
        }

        start = (off_t) ctx->data.nelts;

        d = ngx_array_push_n(&ctx->data, len);
        if (d == NULL) {
            return -1;
        }

        ngx_memcpy(d, p, len);

        return ngx_http_consent_plan_op(ctx, NGX_HTTP_CONSENT_PLAN_DATA,
                                        start, (off_t) len) == NGX_OK
               ? 0 : -1;

    case NGX_HTTP_CONSENT_GATE_OUT_HEAD:
        return ngx_http_consent_plan_op(ctx, NGX_HTTP_CONSENT_PLAN_HEAD, 0, 0)
               == NGX_OK ? 0 : -1;

    case NGX_HTTP_CONSENT_GATE_OUT_BANNER:
        return ngx_http_consent_plan_op(ctx, NGX_HTTP_CONSENT_PLAN_BANNER,
                                        0, 0)
               == NGX_OK ? 0 : -1;

    default:
        /* placeholders are per request: a location with them has no plans */
        return -1;
    }
}


/* the hold, when the scan needs one: from the request's pool */

static void *
ngx_http_consent_plan_alloc(void *data, size_t size)
{
    ngx_http_consent_plan_ctx_t *ctx = data;

    return ngx_palloc(ctx->pool, size);
}


/* an op at the end of the plan, merged with the last one if it goes on */

static ngx_int_t
ngx_http_consent_plan_op(ngx_http_consent_plan_ctx_t *ctx,
    ngx_http_consent_plan_op_e kind, off_t start, off_t len)
{
    ngx_http_consent_plan_op_t  *op;

    if (ctx->ops.nelts && len) {
        op = (ngx_http_consent_plan_op_t *) ctx->ops.elts
             + ctx->ops.nelts - 1;

        if (op->kind == kind && op->start + op->len == start) {
            op->len += len;
            return NGX_OK;
        }
    }

    if ((ctx->ops.nelts + 1) * sizeof(ngx_http_consent_plan_op_t)
        + ctx->data.nelts > NGX_HTTP_CONSENT_PLAN_MAX)
    {
        ctx->too_big = 1;
        return NGX_ERROR;
    }

    op = ngx_array_push(&ctx->ops);
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->kind = kind;
    op->start = start;
    op->len = len;

    return NGX_OK;
}


/*
 * Short ranges of the file join the plan's bytes, read again (before the
 * file is looked at again): one buffer and one writev(), not a sendfile()
 * and a packet each.  NGX_DECLINED: the file is shorter now.
 */

static ngx_int_t
ngx_http_consent_plan_inline(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx)
{
    off_t                        start;
    size_t                       len;
    u_char                      *d, *old;
    ssize_t                      got;
    ngx_uint_t                   i, n;
    ngx_array_t                  data;
    ngx_http_consent_plan_op_t  *op;

    if (ngx_array_init(&data, r->pool, ctx->data.nelts + 1024, 1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    op = ctx->ops.elts;
    old = ctx->data.elts;
    n = 0;

    for (i = 0; i < ctx->ops.nelts; i++) {

        if (op[i].kind == NGX_HTTP_CONSENT_PLAN_HEAD
            || op[i].kind == NGX_HTTP_CONSENT_PLAN_BANNER
            || (op[i].kind == NGX_HTTP_CONSENT_PLAN_FILE
                && (op[i].len >= NGX_HTTP_CONSENT_PLAN_INLINE
                    || data.nelts + op[i].len
                       > NGX_HTTP_CONSENT_PLAN_INLINE_TOTAL)))
        {
            op[n++] = op[i];
            continue;
        }

        len = (size_t) op[i].len;
        start = (off_t) data.nelts;

        d = ngx_array_push_n(&data, len);
        if (d == NULL) {
            return NGX_ERROR;
        }

        if (op[i].kind == NGX_HTTP_CONSENT_PLAN_DATA) {
            ngx_memcpy(d, old + op[i].start, len);

        } else {
            got = ngx_read_file(&ctx->hfile, d, len, op[i].start);

            if (got == NGX_ERROR) {
                return NGX_ERROR;
            }

            if ((size_t) got < len) {
                return NGX_DECLINED;
            }
        }

        if (n && op[n - 1].kind == NGX_HTTP_CONSENT_PLAN_DATA
            && op[n - 1].start + op[n - 1].len == start)
        {
            op[n - 1].len += len;
            continue;
        }

        op[n].kind = NGX_HTTP_CONSENT_PLAN_DATA;
        op[n].start = start;
        op[n].len = len;
        n++;
    }

    ctx->ops.nelts = n;
    ctx->data = data;

    return NGX_OK;
}


/* into the cache, the least recently used plans making room */

static void
ngx_http_consent_plan_store(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, uint32_t hash,
    ngx_http_consent_plan_t *plan)
{
    size_t                          size;
    ngx_queue_t                    *q;
    ngx_http_consent_plan_node_t   *pn, *old;
    ngx_http_consent_plan_cache_t  *cache;

    cache = ctx->cache;

    if (ngx_http_consent_plan_lookup(cache, &ctx->key, hash) != NULL) {
        return;
    }

    size = sizeof(ngx_http_consent_plan_node_t)
           + plan->nops * sizeof(ngx_http_consent_plan_op_t)
           + plan->data_len;

    for ( ;; ) {
        pn = ngx_slab_alloc_locked(cache->pool, size);

        if (pn != NULL) {
            break;
        }

        if (ngx_queue_empty(&cache->lru)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "consent plan: the plan of \"%V\" (%uz bytes) "
                          "does not fit in consent_plan_cache (%uz); "
                          "it is scanned on every request",
                          &ctx->hfile.name, size, cache->size);
            return;
        }

        q = ngx_queue_last(&cache->lru);
        old = ngx_queue_data(q, ngx_http_consent_plan_node_t, queue);

        ngx_queue_remove(q);
        ngx_rbtree_delete(&cache->rbtree, &old->node);
        ngx_slab_free_locked(cache->pool, old);
    }

    pn->node.key = hash;
    pn->key = ctx->key;

    pn->plan = *plan;
    pn->plan.ops = (ngx_http_consent_plan_op_t *) (pn + 1);
    pn->plan.data = (u_char *) (pn->plan.ops + plan->nops);

    /* a verdict ("too big", "no plan") has no ops and no data */

    if (plan->nops) {
        ngx_memcpy(pn->plan.ops, plan->ops,
                   plan->nops * sizeof(ngx_http_consent_plan_op_t));
    }

    if (plan->data_len) {
        ngx_memcpy(pn->plan.data, plan->data, plan->data_len);
    }

    ngx_rbtree_insert(&cache->rbtree, &pn->node);
    ngx_queue_insert_head(&cache->lru, &pn->queue);
}


/*
 * The plan of this answer, in the request's pool (the cache may drop it
 * before the answer is sent), the banner of this request, the length.
 */

static ngx_int_t
ngx_http_consent_plan_prepare(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_http_consent_plan_t *plan)
{
    off_t                        len;
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_chain_t                 *cl;
    ngx_http_consent_plan_t     *p;
    ngx_http_consent_plan_op_t  *op;

    p = &ctx->plan;

    if (plan != p) {
        *p = *plan;

        p->ops = ngx_palloc(r->pool,
                            plan->nops * sizeof(ngx_http_consent_plan_op_t)
                            + plan->data_len);
        if (p->ops == NULL) {
            return NGX_ERROR;
        }

        p->data = (u_char *) (p->ops + plan->nops);

        if (plan->nops) {
            ngx_memcpy(p->ops, plan->ops,
                       plan->nops * sizeof(ngx_http_consent_plan_op_t));
        }

        if (plan->data_len) {
            ngx_memcpy(p->data, plan->data, plan->data_len);
        }
    }

    len = 0;

    for (i = 0; i < p->nops; i++) {
        op = &p->ops[i];

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "consent plan: op %d @%O %O",
                       (int) op->kind, op->start, op->len);

        switch (op->kind) {

        case NGX_HTTP_CONSENT_PLAN_HEAD:
            len += ctx->snippet->len;
            break;

        case NGX_HTTP_CONSENT_PLAN_BANNER:
            if (ctx->banner != NULL) {
                break;
            }

            if (p->lang_len) {
                /* <html lang>: the page's language before the reader's */
                ngx_http_consent_texts_prefer(r, p->lang, p->lang_len);
            }

            rc = ngx_http_consent_render_banner(r, &ctx->banner);

            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (rc != NGX_OK) {
                ctx->banner = NULL;
                break;
            }

            for (cl = ctx->banner; cl; cl = cl->next) {
                cl->buf->last_buf = 0;
                cl->buf->last_in_chain = 0;
                len += ngx_buf_size(cl->buf);
            }

            break;

        default: /* FILE, DATA */
            len += op->len;
            break;
        }
    }

    ctx->length = len;

    return NGX_OK;
}


/*
 * The answer: file buffers for the ranges, memory for the plan's bytes,
 * the snippet and the banner of this request.
 */

static ngx_int_t
ngx_http_consent_plan_send(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx)
{
    ngx_buf_t                   *b;
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_chain_t                 *out, **ll;
    ngx_http_consent_plan_op_t  *op;

    out = NULL;
    ll = &out;
    b = NULL;

    for (i = 0; i < ctx->plan.nops; i++) {
        op = &ctx->plan.ops[i];

        if (op->kind != NGX_HTTP_CONSENT_PLAN_FILE) {
            if (ngx_http_consent_plan_emit(r, ctx, op, &ll, &b) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_consent_plan_link(r, &ll, &b) != NGX_OK) {
            return NGX_ERROR;
        }

        b->in_file = 1;
        b->file = ctx->file;
        b->file_pos = op->start;
        b->file_last = op->start + op->len;
    }

    if (b == NULL && ngx_http_consent_plan_link(r, &ll, &b) != NGX_OK) {
        return NGX_ERROR;
    }

    b->last_buf = 1;
    b->last_in_chain = 1;

    ctx->sent = out;

    rc = ctx->next(r, out);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    return (ngx_http_consent_plan_check(r, ctx) == NGX_OK) ? rc : NGX_ERROR;
}


/* a DATA, HEAD or BANNER op at *llp; *bp is the last buffer linked */

static ngx_int_t
ngx_http_consent_plan_emit(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_http_consent_plan_op_t *op,
    ngx_chain_t ***llp, ngx_buf_t **bp)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    switch (op->kind) {

    case NGX_HTTP_CONSENT_PLAN_DATA:
        if (ngx_http_consent_plan_link(r, llp, &b) != NGX_OK) {
            return NGX_ERROR;
        }

        b->memory = 1;
        b->pos = ctx->plan.data + op->start;
        b->last = b->pos + op->len;
        break;

    case NGX_HTTP_CONSENT_PLAN_HEAD:
        if (ctx->snippet->len == 0) {
            return NGX_OK;
        }

        if (ngx_http_consent_plan_link(r, llp, &b) != NGX_OK) {
            return NGX_ERROR;
        }

        b->memory = 1;
        b->pos = ctx->snippet->data;
        b->last = ctx->snippet->data + ctx->snippet->len;
        break;

    default: /* NGX_HTTP_CONSENT_PLAN_BANNER */

        if (ctx->banner == NULL) {
            return NGX_OK;
        }

        for (cl = ctx->banner; cl; cl = cl->next) {
            b = cl->buf;
            **llp = cl;
            *llp = &cl->next;
        }

        ctx->banner = NULL;
        break;
    }

    *bp = b;

    return NGX_OK;
}


/*
 * No sendfile: the copy filter reads the file into its buffers, in order,
 * and the plan takes from them the ranges it keeps (buffers of our own
 * pointing into them, each given back once what points into it is sent)
 * with no scan.  The file is looked at before anything read from it goes
 * on: a change under the answer cuts it.
 */

static ngx_int_t
ngx_http_consent_plan_slice(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_chain_t *in,
    ngx_http_output_body_filter_pt next)
{
    off_t                         n, want;
    u_char                       *p;
    ngx_int_t                     rc;
    ngx_buf_t                    *b, *ib;
    ngx_chain_t                  *out, **ll, *cl;
    ngx_http_consent_plan_op_t   *op;

    out = NULL;
    ll = &out;

    for ( /* void */ ; in; in = in->next) {
        ib = in->buf;

        if (!ngx_buf_in_memory(ib) && ngx_buf_size(ib)) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "consent plan: a file buffer reached the filter "
                          "without sendfile");
            return NGX_ERROR;
        }

        p = ib->pos;

        while (ctx->op < ctx->plan.nops) {
            op = &ctx->plan.ops[ctx->op];

            if (op->kind != NGX_HTTP_CONSENT_PLAN_FILE) {
                if (ngx_http_consent_plan_emit(r, ctx, op, &ll, &b)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                ctx->op++;
                continue;
            }

            if (p == ib->last) {
                break;
            }

            want = op->start + ctx->done;

            if (want > ctx->offset) {
                /* removed: not sent */
                n = ngx_min(ib->last - p, want - ctx->offset);
                p += n;
                ctx->offset += n;
                continue;
            }

            n = ngx_min(ib->last - p, op->len - ctx->done);

            if (ngx_http_consent_plan_link(r, &ll, &b) != NGX_OK) {
                return NGX_ERROR;
            }

            b->memory = 1;
            b->pos = p;
            b->last = p + n;

            p += n;
            ctx->offset += n;
            ctx->done += n;

            if (ctx->done == op->len) {
                ctx->op++;
                ctx->done = 0;
            }
        }

        ctx->offset += ib->last - p;

        /* an empty link gives the buffer back once all before it is sent */

        if (ngx_http_consent_plan_link(r, &ll, &b) != NGX_OK) {
            return NGX_ERROR;
        }

        b->sync = 1;
        b->flush = ib->flush;
        b->last_buf = ib->last_buf;
        b->last_in_chain = ib->last_in_chain;
        b->shadow = ib;
        b->recycled = ib->recycled;       /* the writer flushes it */

        if (ib->last_buf
            && (ctx->op < ctx->plan.nops || ctx->offset != ctx->key.size))
        {
            return ngx_http_consent_plan_cut(r, ctx);
        }
    }

    if (out != NULL
        && ngx_http_consent_plan_unchanged(r, ctx, &ctx->hfile) != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = next(r, out);

    if (ctx->busy == NULL) {
        ctx->busy = out;

    } else {
        for (cl = ctx->busy; cl->next; cl = cl->next) { /* void */ }
        cl->next = out;
    }

    for (cl = ctx->busy; cl; cl = cl->next) {
        if (ngx_buf_size(cl->buf) != 0) {
            break;
        }

        if (cl->buf->shadow) {
            cl->buf->shadow->pos = cl->buf->shadow->last;
        }
    }

    ctx->busy = cl;

    return rc;
}


/* a link at *llp, its buffer zeroed and ours */

static ngx_int_t
ngx_http_consent_plan_link(ngx_http_request_t *r, ngx_chain_t ***llp,
    ngx_buf_t **bp)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b->tag = (ngx_buf_tag_t) &ngx_http_consent_plan_module;

    cl->buf = b;
    cl->next = NULL;

    **llp = cl;
    *llp = &cl->next;

    *bp = b;

    return NGX_OK;
}


/*
 * While the answer is not all written, each time nginx writes more, the
 * file is looked at again: changed under the answer (written over in
 * place, truncated), the answer is cut (the connection closed short of
 * its length) rather than completed as a mix of two versions.
 */

static ngx_int_t
ngx_http_consent_plan_check(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx)
{
    ngx_chain_t  *cl;

    for (cl = ctx->sent; cl; cl = cl->next) {
        if (ngx_buf_size(cl->buf) != 0) {
            return ngx_http_consent_plan_unchanged(r, ctx, ctx->file);
        }
    }

    ctx->sent = NULL;                      /* all written */

    return NGX_OK;
}


/* the file still as the plan's key says, or the answer is cut */

static ngx_int_t
ngx_http_consent_plan_unchanged(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx, ngx_file_t *file)
{
    ngx_int_t                     rc;
    ngx_http_consent_plan_key_t   now;

    rc = ngx_http_consent_plan_same(r, file, &ctx->key, &now);

    return (rc == NGX_DECLINED) ? ngx_http_consent_plan_cut(r, ctx) : rc;
}


static ngx_int_t
ngx_http_consent_plan_cut(ngx_http_request_t *r,
    ngx_http_consent_plan_ctx_t *ctx)
{
    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "consent plan: \"%V\" changed while it was sent; "
                  "the answer is cut rather than mixed", &ctx->hfile.name);

    return NGX_ERROR;
}


static void
ngx_http_consent_plan_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t            **p;
    ngx_http_consent_plan_node_t  *n, *t;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            n = (ngx_http_consent_plan_node_t *) node;
            t = (ngx_http_consent_plan_node_t *) temp;

            p = (ngx_memcmp(&n->key, &t->key,
                            sizeof(ngx_http_consent_plan_key_t)) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


/* $consent_plan: HIT, MISS, BYPASS, or not found for other answers */

static ngx_int_t
ngx_http_consent_plan_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                    *s;
    ngx_http_consent_plan_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_consent_plan_module);

    if (ctx == NULL || ctx->status == NGX_HTTP_CONSENT_PLAN_WAIT) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = &ngx_http_consent_plan_statuses[ctx->status];

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_plan_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    static ngx_str_t  name = ngx_string("consent_plan");

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_consent_plan_variable;

    return NGX_OK;
}


/* consent_plan_cache off | SIZE */

static char *
ngx_http_consent_plan_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_plan_loc_conf_t *plcf = conf;

    ssize_t                             size;
    ngx_str_t                          *value;
    ngx_http_consent_plan_cache_t      *cache, **cp;
    ngx_http_consent_plan_main_conf_t  *pmcf;

    if (plcf->cache != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        plcf->cache = NULL;
        return NGX_CONF_OK;
    }

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid size \"%V\"; give \"off\" or a size "
                           "such as \"1m\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < NGX_HTTP_CONSENT_PLAN_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is too small for a plan cache; give at "
                           "least \"64k\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    pmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_consent_plan_module);

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_consent_plan_cache_t));
    if (cache == NULL) {
        return NGX_CONF_ERROR;
    }

    cache->size = size;

    cp = ngx_array_push(&pmcf->caches);
    if (cp == NULL) {
        return NGX_CONF_ERROR;
    }

    *cp = cache;
    plcf->cache = cache;

    return NGX_CONF_OK;
}


static void *
ngx_http_consent_plan_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_consent_plan_main_conf_t  *pmcf;

    pmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_consent_plan_main_conf_t));
    if (pmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&pmcf->caches, cf->pool, 4,
                       sizeof(ngx_http_consent_plan_cache_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return pmcf;
}


static void *
ngx_http_consent_plan_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_consent_plan_loc_conf_t  *plcf;

    plcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_consent_plan_loc_conf_t));
    if (plcf == NULL) {
        return NULL;
    }

    plcf->cache = NGX_CONF_UNSET_PTR;

    return plcf;
}


static char *
ngx_http_consent_plan_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_consent_plan_loc_conf_t *prev = parent;
    ngx_http_consent_plan_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->cache, prev->cache, NULL);

    return NGX_CONF_OK;
}


/* each cache's memory, in each worker: a slab of its own, with no lock */

static ngx_int_t
ngx_http_consent_plan_init_process(ngx_cycle_t *cycle)
{
    u_char                              *p;
    ngx_uint_t                           i;
    ngx_slab_pool_t                     *sp;
    ngx_http_consent_plan_cache_t      **caches, *cache;
    ngx_http_consent_plan_main_conf_t   *pmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    pmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_consent_plan_module);
    if (pmcf == NULL) {
        return NGX_OK;
    }

    caches = pmcf->caches.elts;

    for (i = 0; i < pmcf->caches.nelts; i++) {
        cache = caches[i];

        p = ngx_memalign(ngx_pagesize, cache->size, cycle->log);
        if (p == NULL) {
            return NGX_ERROR;
        }

        sp = (ngx_slab_pool_t *) p;

        sp->end = p + cache->size;
        sp->min_shift = 3;
        sp->addr = p;

        ngx_slab_init(sp);

        sp->log_nomem = 0;

        ngx_rbtree_init(&cache->rbtree, &cache->sentinel,
                        ngx_http_consent_plan_insert);
        ngx_queue_init(&cache->lru);

        cache->pool = sp;
    }

    return NGX_OK;
}
