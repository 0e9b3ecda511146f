
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_log.h"


/*
 * The endpoint's P+receipt and P+checkpoint. A receipt is the proof, in
 * c2sp.org/tlog-proof@v1, that the latest checkpoint includes the latest
 * record of the reader's consent id:
 *
 *     c2sp.org/tlog-proof@v1
 *     extra BASE64(the record's leaf bytes)
 *     index TREE-INDEX
 *     BASE64(hash)            one line per hash of the inclusion path
 *     ...
 *                             an empty line
 *     the signed checkpoint, verbatim
 *
 * Everything comes from the files beside the log (ngx_http_consent_log.h),
 * so any worker answers, after a restart too: the record is found in
 * PATH.index from its end, read from PATH.leaves, and its path from
 * PATH.hashes, at most 2 log2(size) reads of 32 bytes.
 */


#define NGX_HTTP_CONSENT_RECEIPT_CHUNK  256     /* index entries a read */


static ngx_uint_t ngx_http_consent_receipt_pending(
    ngx_http_consent_log_sh_t *sh, u_char *id);
static ngx_int_t ngx_http_consent_receipt_find(
    ngx_http_consent_log_conf_t *lcf, u_char *id, uint64_t entries,
    uint64_t *index, ngx_http_consent_log_entry_t *found);
static ngx_fd_t ngx_http_consent_receipt_fd(ngx_http_consent_log_conf_t *lcf,
    ngx_uint_t n, ngx_open_file_t *file);
static int ngx_http_consent_receipt_hash(void *data, uint64_t index,
    unsigned char *out);
static ngx_int_t ngx_http_consent_receipt_error(ngx_http_request_t *r,
    ngx_uint_t status, char *message);
static ngx_int_t ngx_http_consent_receipt_text(ngx_http_request_t *r,
    ngx_uint_t status, u_char *data, size_t len, char *disposition);


ngx_int_t
ngx_http_consent_receipt_send(ngx_http_request_t *r)
{
    u_char                        *buf, *p;
    size_t                         i, n, len, note_len;
    ssize_t                        got;
    uint64_t                       index, cp_size, entries;
    ngx_fd_t                       fd;
    ngx_str_t                      src, dst;
    ngx_msec_t                     wait;
    ngx_uint_t                     broken, pending;
    ngx_table_elt_t               *h;
    ngx_http_consent_ctx_t        *ctx;
    ngx_http_consent_log_sh_t     *sh;
    ngx_http_consent_log_conf_t   *lcf;
    ngx_http_consent_log_entry_t   e;
    ngx_http_consent_main_conf_t  *mcf;
    u_char                         note[NGX_HTTP_CONSENT_NOTE_LEN];
    ngx_http_consent_tree_hash_t   proof[NGX_HTTP_CONSENT_TREE_HEIGHT];

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    lcf = mcf->log;

    if (lcf == NULL || lcf->off || lcf->sh == NULL || lcf->hashes == NULL
        || lcf->key == NULL)
    {
        return ngx_http_consent_receipt_error(r, NGX_HTTP_NOT_FOUND,
                                      "this site keeps no signed consent log "
                                      "to prove a choice with");
    }

    ctx = ngx_http_consent_get_ctx(r);

    if (ctx == NULL
        || (ctx->state != NGX_HTTP_CONSENT_STATE_VALID
            && ctx->state != NGX_HTTP_CONSENT_STATE_OUTDATED))
    {
        return ngx_http_consent_receipt_error(r, NGX_HTTP_NOT_FOUND,
                                      "this browser holds no consent "
                                      "to prove");
    }

    sh = lcf->sh;

    ngx_shmtx_lock(&lcf->shpool->mutex);

    broken = sh->broken;
    cp_size = sh->cp_size;
    entries = (uint64_t) (sh->index_size - (off_t) sh->index_pending)
              / sizeof(ngx_http_consent_log_entry_t);
    pending = ngx_http_consent_receipt_pending(sh, ctx->id);
    wait = ngx_current_msec - sh->cp_time;
    note_len = sh->note_len;
    ngx_memcpy(note, sh->note, note_len);

    ngx_shmtx_unlock(&lcf->shpool->mutex);

    if (broken) {
        return ngx_http_consent_receipt_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                      "proofs are unavailable: the log's "
                                      "hash files need repair");
    }

    /* a record still buffered for the files: no checkpoint covers it */

    switch (pending ? NGX_OK
                    : ngx_http_consent_receipt_find(lcf, ctx->id, entries,
                                                    &index, &e))
    {
    case NGX_OK:
        break;

    case NGX_DECLINED:
        return ngx_http_consent_receipt_error(r, NGX_HTTP_NOT_FOUND,
                                      "the log has no record of this "
                                      "browser's consent");

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* not yet: the next checkpoint covers it, at most an interval away */

    if (pending || index >= cp_size || note_len == 0) {
        wait = (wait < lcf->cp_interval) ? lcf->cp_interval - wait : 0;

        h = ngx_http_consent_header_out(r, "Retry-After", NULL, 0);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.len = ngx_sprintf(h->value.data, "%M", wait / 1000 + 1)
                       - h->value.data;

        p = ngx_pnalloc(r->pool, 128);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        len = ngx_sprintf(p, "not yet: no checkpoint covers your choice "
                          "yet; retry after %V s\n", &h->value) - p;

        return ngx_http_consent_receipt_text(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                             p, len, NULL);
    }

    if (ngx_http_consent_tree_prove(index, cp_size,
                                    ngx_http_consent_receipt_hash, lcf,
                                    proof, &n)
        != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, ngx_errno,
                      "consent receipt: cannot read \"%V\"",
                      &lcf->hashes->name);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    fd = ngx_http_consent_receipt_fd(lcf, 1, lcf->leaves);

    src.len = e.len;
    src.data = ngx_pnalloc(r->pool, e.len);

    if (fd == NGX_INVALID_FILE || src.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    got = pread(fd, src.data, e.len, (off_t) e.offset);

    if (got != (ssize_t) e.len) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, ngx_errno,
                      "consent receipt: cannot read \"%V\"",
                      &lcf->leaves->name);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = sizeof("c2sp.org/tlog-proof@v1\nextra \nindex \n\n")
          + ngx_base64_encoded_length(e.len) + NGX_INT64_LEN
          + n * (ngx_base64_encoded_length(NGX_HTTP_CONSENT_TREE_HASH_LEN)
                 + 1)
          + note_len;

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(buf, "c2sp.org/tlog-proof@v1\nextra ",
                   sizeof("c2sp.org/tlog-proof@v1\nextra ") - 1);

    dst.data = p;
    ngx_encode_base64(&dst, &src);
    p += dst.len;

    p = ngx_sprintf(p, "\nindex %uL\n", index);

    for (i = 0; i < n; i++) {
        src.data = proof[i];
        src.len = NGX_HTTP_CONSENT_TREE_HASH_LEN;
        dst.data = p;
        ngx_encode_base64(&dst, &src);
        p += dst.len;
        *p++ = '\n';
    }

    *p++ = '\n';
    p = ngx_cpymem(p, note, note_len);

    return ngx_http_consent_receipt_text(r, NGX_HTTP_OK, buf, p - buf,
                                    "attachment; "
                                    "filename=\"consent-receipt.txt\"");
}


/* whether the endpoint can give receipts: a log file, signed checkpoints */

ngx_int_t
ngx_http_consent_receipt_available(ngx_http_request_t *r)
{
    ngx_http_consent_log_conf_t   *lcf;
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    lcf = mcf->log;

    return lcf != NULL && !lcf->off && lcf->sh != NULL && lcf->hashes != NULL
           && lcf->key != NULL;
}


ngx_int_t
ngx_http_consent_checkpoint_send(ngx_http_request_t *r)
{
    u_char                        *p;
    size_t                         len;
    ngx_http_consent_log_conf_t   *lcf;
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    lcf = mcf->log;

    if (lcf == NULL || lcf->off || lcf->sh == NULL || lcf->key == NULL) {
        return ngx_http_consent_receipt_error(r, NGX_HTTP_NOT_FOUND,
                                      "this site keeps no signed consent "
                                      "log");
    }

    p = ngx_pnalloc(r->pool, NGX_HTTP_CONSENT_NOTE_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_shmtx_lock(&lcf->shpool->mutex);

    len = lcf->sh->note_len;
    ngx_memcpy(p, lcf->sh->note, len);

    ngx_shmtx_unlock(&lcf->shpool->mutex);

    if (len == 0) {
        return ngx_http_consent_receipt_error(r, NGX_HTTP_NOT_FOUND,
                                      "no checkpoint yet");
    }

    return ngx_http_consent_receipt_text(r, NGX_HTTP_OK, p, len, NULL);
}


/*
 * Under the mutex: whether id has a record among the index entries still
 * buffered for PATH.index, all beyond the latest checkpoint
 */

static ngx_uint_t
ngx_http_consent_receipt_pending(ngx_http_consent_log_sh_t *sh, u_char *id)
{
    size_t                         k;
    ngx_http_consent_log_entry_t  *e;

    e = (ngx_http_consent_log_entry_t *) sh->index_buf;

    for (k = sh->index_pending / sizeof(ngx_http_consent_log_entry_t);
         k-- > 0;
         /* void */)
    {
        if (e[k].type == NGX_HTTP_CONSENT_RECORD_CONSENT
            && ngx_memcmp(e[k].id, id, NGX_HTTP_CONSENT_LOG_ID_LEN) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* the latest entry of id in PATH.index, read from its end */

static ngx_int_t
ngx_http_consent_receipt_find(ngx_http_consent_log_conf_t *lcf, u_char *id,
    uint64_t entries, uint64_t *index, ngx_http_consent_log_entry_t *found)
{
    size_t                         k, n;
    ssize_t                        got;
    uint64_t                       end;
    ngx_fd_t                       fd;
    ngx_http_consent_log_entry_t   e[NGX_HTTP_CONSENT_RECEIPT_CHUNK];

    fd = ngx_http_consent_receipt_fd(lcf, 2, lcf->index);
    if (fd == NGX_INVALID_FILE) {
        return NGX_ERROR;
    }

    end = entries;

    while (end > 0) {
        n = end > NGX_HTTP_CONSENT_RECEIPT_CHUNK
            ? NGX_HTTP_CONSENT_RECEIPT_CHUNK : (size_t) end;

        got = pread(fd, e, n * sizeof(e[0]),
                    (off_t) ((end - n) * sizeof(e[0])));

        if (got != (ssize_t) (n * sizeof(e[0]))) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                          "consent receipt: cannot read \"%V\"",
                          &lcf->index->name);
            return NGX_ERROR;
        }

        for (k = n; k-- > 0; /* void */) {
            if (e[k].type == NGX_HTTP_CONSENT_RECORD_CONSENT
                && ngx_memcmp(e[k].id, id, NGX_HTTP_CONSENT_LOG_ID_LEN) == 0)
            {
                *index = end - n + k;
                *found = e[k];
                return NGX_OK;
            }
        }

        end -= n;
    }

    return NGX_DECLINED;
}


/* a worker's own read-only descriptor of a file beside the log */

static ngx_fd_t
ngx_http_consent_receipt_fd(ngx_http_consent_log_conf_t *lcf, ngx_uint_t n,
    ngx_open_file_t *file)
{
    if (lcf->read_fd[n] == NGX_INVALID_FILE) {
        lcf->read_fd[n] = ngx_open_file(file->name.data, NGX_FILE_RDONLY,
                                        NGX_FILE_OPEN, 0);

        if (lcf->read_fd[n] == NGX_INVALID_FILE) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                          ngx_open_file_n " \"%V\" failed", &file->name);
        }
    }

    return lcf->read_fd[n];
}


static int
ngx_http_consent_receipt_hash(void *data, uint64_t index, unsigned char *out)
{
    ngx_http_consent_log_conf_t  *lcf = data;

    ngx_fd_t  fd;

    fd = ngx_http_consent_receipt_fd(lcf, 0, lcf->hashes);

    if (fd == NGX_INVALID_FILE
        || pread(fd, out, NGX_HTTP_CONSENT_TREE_HASH_LEN,
                 (off_t) (index * NGX_HTTP_CONSENT_TREE_HASH_LEN))
           != NGX_HTTP_CONSENT_TREE_HASH_LEN)
    {
        return -1;
    }

    return 0;
}


static ngx_int_t
ngx_http_consent_receipt_error(ngx_http_request_t *r, ngx_uint_t status,
    char *message)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(message);

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, message, len);
    p[len] = '\n';

    return ngx_http_consent_receipt_text(r, status, p, len + 1, NULL);
}


static ngx_int_t
ngx_http_consent_receipt_text(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len, char *disposition)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "text/plain; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;

    if (ngx_http_consent_header_out(r, "Cache-Control",
                                    (u_char *) "no-store", 8)
        == NULL
        || (disposition != NULL
            && ngx_http_consent_header_out(r, "Content-Disposition",
                                           (u_char *) disposition,
                                           ngx_strlen(disposition))
               == NULL))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, &out);
}
