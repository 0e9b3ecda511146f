
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * Compressed answers.  nginx runs this module's body filter before its own
 * gzip and gunzip filters: an answer an upstream compressed reaches the gate
 * compressed.  It is never passed on unread.  What the upstream may send is
 * narrowed first (its Accept-Encoding keeps gzip, deflate and identity
 * only); gzip and deflate are inflated here, in fixed buffers, before the
 * gate, and Content-Encoding goes, so that nginx's gzip filter compresses
 * toward the reader where "gzip on"; any other encoding is answered with a
 * 502 by the header filter (ngx_http_consent_filter.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <zlib.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_inflate.h"


/* at most this much inflated text is held per request, whatever the ratio */
#define NGX_HTTP_CONSENT_INFLATE_BUFS      8
#define NGX_HTTP_CONSENT_INFLATE_BUF_SIZE  8192

/* r->buffered while inflating (the image filter's bit: never on HTML) */
#define NGX_HTTP_CONSENT_BUFFERED          0x08

/* a coding in Accept-Encoding: one the module reads, or not */
#define NGX_HTTP_CONSENT_CODING_NONE       0
#define NGX_HTTP_CONSENT_CODING_READABLE   1
#define NGX_HTTP_CONSENT_CODING_OTHER      2


struct ngx_http_consent_inflate_s {
    z_stream                      zstream;

    ngx_http_request_t           *request;

    ngx_chain_t                  *in;
    ngx_chain_t                  *free;
    ngx_chain_t                  *busy;
    ngx_chain_t                  *out;
    ngx_chain_t                 **last_out;

    ngx_buf_t                    *in_buf;
    ngx_buf_t                    *out_buf;

    off_t                         inflated;
    off_t                         max;
    ngx_uint_t                    bufs;

    ngx_http_consent_encoding_e   encoding;

    unsigned                      started:1;
    unsigned                      ended:1;     /* a stream ended */
    unsigned                      redo:1;      /* zlib has more to give */
    unsigned                      nomem:1;     /* every buffer is busy */
    unsigned                      done:1;
};


static size_t ngx_http_consent_readable_codings(u_char *p, size_t len);
static ngx_int_t ngx_http_consent_coding(u_char *p, size_t len);
static ngx_int_t ngx_http_consent_inflate_run(ngx_http_request_t *r,
    ngx_http_consent_inflate_t *ctx);
static ngx_int_t ngx_http_consent_inflate_start(ngx_http_request_t *r,
    ngx_http_consent_inflate_t *ctx);
static ngx_int_t ngx_http_consent_inflate_get_buf(ngx_http_request_t *r,
    ngx_http_consent_inflate_t *ctx);
static ngx_int_t ngx_http_consent_inflate_emit(ngx_http_request_t *r,
    ngx_http_consent_inflate_t *ctx, ngx_uint_t flush, ngx_uint_t last);
static ngx_int_t ngx_http_consent_inflate_failed(ngx_http_request_t *r,
    ngx_http_consent_inflate_t *ctx, char *what, int rc);
static void *ngx_http_consent_inflate_alloc(void *opaque, u_int items,
    u_int size);
static void ngx_http_consent_inflate_free(void *opaque, void *address);


/* marks the inflater's own buffers */
static ngx_uint_t  ngx_http_consent_inflate_tag;


/*
 * The Accept-Encoding the upstream sees keeps only the codings the gate
 * reads ("gzip, deflate, br, zstd" becomes "gzip, deflate"), and goes when
 * none is left.  nginx's gzip toward the reader reads the same header: it
 * still finds "gzip".  A precontent phase handler
 * (ngx_http_consent_filter_init).
 */

ngx_int_t
ngx_http_consent_accept_encoding(ngx_http_request_t *r)
{
    size_t                        len;
    ngx_table_elt_t              *h;
    ngx_http_consent_headers_t    it;
    ngx_http_consent_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);

    if (!lcf->enable || lcf->endpoint || r != r->main) {
        return NGX_DECLINED;
    }

    ngx_memzero(&it, sizeof(ngx_http_consent_headers_t));

    while ((h = ngx_http_consent_header_next(&r->headers_in.headers, &it,
                                             "Accept-Encoding",
                                             sizeof("Accept-Encoding") - 1))
           != NULL)
    {
        len = ngx_http_consent_readable_codings(h->value.data, h->value.len);

        if (len == h->value.len) {
            continue;
        }

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "consent accept-encoding: \"%V\" -> \"%*s\"",
                       &h->value, len, h->value.data);

        h->value.len = len;

        if (len == 0
            && ngx_http_consent_header_in_remove(r, h) == NGX_ERROR)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return NGX_DECLINED;
}


/*
 * Rewrites a list of codings in place, keeping the readable ones; it only
 * gets shorter, since each coding kept had a "," before it.
 */

static size_t
ngx_http_consent_readable_codings(u_char *p, size_t len)
{
    u_char  *last, *start, *end, *name, *d;

    last = p + len;
    d = p;

    for (start = p; start < last; start = end + 1) {

        end = ngx_strlchr(start, last, ',');
        if (end == NULL) {
            end = last;
        }

        for (name = start; name < end && (*name == ' ' || *name == '\t');
             name++)
        { /* void */ }

        if (ngx_http_consent_coding(name, end - name)
            != NGX_HTTP_CONSENT_CODING_READABLE)
        {
            continue;
        }

        if (d != p) {
            *d++ = ',';

            if (d < name) {
                *d++ = ' ';
            }
        }

        while (end[-1] == ' ' || end[-1] == '\t') {
            end--;
        }

        d = ngx_movemem(d, name, end - name);

        end = ngx_strlchr(end, last, ',');
        if (end == NULL) {
            break;
        }
    }

    return d - p;
}


/* "gzip;q=0.8" is readable, "br" is not; the name ends at ";" or a blank */

static ngx_int_t
ngx_http_consent_coding(u_char *p, size_t len)
{
    size_t  n;

    static ngx_str_t  readable[] = {
        ngx_string("gzip"),
        ngx_string("x-gzip"),
        ngx_string("deflate"),
        ngx_string("identity"),
        ngx_null_string
    };

    for (n = 0; n < len && p[n] != ';' && p[n] != ' ' && p[n] != '\t'; n++) {
        /* void */
    }

    if (n == 0) {
        return NGX_HTTP_CONSENT_CODING_NONE;
    }

    for (len = 0; readable[len].len; len++) {
        if (readable[len].len == n
            && ngx_strncasecmp(readable[len].data, p, n) == 0)
        {
            return NGX_HTTP_CONSENT_CODING_READABLE;
        }
    }

    return NGX_HTTP_CONSENT_CODING_OTHER;
}


/*
 * The answer's encoding, from every Content-Encoding line: "identity" is
 * none; one gzip or deflate is readable; anything else, or two codings
 * stacked, is not.
 */

ngx_http_consent_encoding_e
ngx_http_consent_encoding(ngx_http_request_t *r)
{
    u_char                       *p, *last, *end;
    ngx_uint_t                    n;
    ngx_table_elt_t              *h;
    ngx_http_consent_headers_t    it;
    ngx_http_consent_encoding_e   e;

    if (r->headers_out.content_encoding == NULL
        || r->headers_out.content_encoding->value.len == 0)
    {
        return NGX_HTTP_CONSENT_ENCODING_IDENTITY;
    }

    e = NGX_HTTP_CONSENT_ENCODING_IDENTITY;
    n = 0;

    ngx_memzero(&it, sizeof(ngx_http_consent_headers_t));

    while ((h = ngx_http_consent_header_next(&r->headers_out.headers, &it,
                                             "Content-Encoding",
                                             sizeof("Content-Encoding") - 1))
           != NULL)
    {
        p = h->value.data;
        last = p + h->value.len;

        for ( /* void */ ; p < last; p = end + 1) {

            while (p < last && (*p == ' ' || *p == '\t')) {
                p++;
            }

            end = ngx_strlchr(p, last, ',');
            if (end == NULL) {
                end = last;
            }

            while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }

            if (end == p) {
                end = ngx_strlchr(p, last, ',');
                if (end == NULL) {
                    break;
                }

                continue;
            }

            if ((size_t) (end - p) == sizeof("identity") - 1
                && ngx_strncasecmp(p, (u_char *) "identity", end - p) == 0)
            {
                /* void */

            } else if (((size_t) (end - p) == sizeof("gzip") - 1
                        && ngx_strncasecmp(p, (u_char *) "gzip", end - p)
                           == 0)
                       || ((size_t) (end - p) == sizeof("x-gzip") - 1
                           && ngx_strncasecmp(p, (u_char *) "x-gzip", end - p)
                              == 0))
            {
                e = NGX_HTTP_CONSENT_ENCODING_GZIP;
                n++;

            } else if ((size_t) (end - p) == sizeof("deflate") - 1
                       && ngx_strncasecmp(p, (u_char *) "deflate", end - p)
                          == 0)
            {
                e = NGX_HTTP_CONSENT_ENCODING_DEFLATE;
                n++;

            } else {
                return NGX_HTTP_CONSENT_ENCODING_UNREADABLE;
            }

            end = ngx_strlchr(end, last, ',');
            if (end == NULL) {
                break;
            }
        }
    }

    return (n > 1) ? NGX_HTTP_CONSENT_ENCODING_UNREADABLE : e;
}


ngx_http_consent_inflate_t *
ngx_http_consent_inflate_create(ngx_http_request_t *r,
    ngx_http_consent_encoding_e encoding, off_t max)
{
    ngx_http_consent_inflate_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_consent_inflate_t));
    if (ctx == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     ctx->in = NULL;
     *     ctx->free = NULL;
     *     ctx->busy = NULL;
     *     ctx->out = NULL;
     *     ctx->inflated = 0;
     *     ctx->started = 0;
     *     ...
     */

    ctx->request = r;
    ctx->encoding = encoding;
    ctx->max = max;
    ctx->last_out = &ctx->out;

    return ctx;
}


/*
 * The first step of the body filter: the answer inflated, in at most
 * NGX_HTTP_CONSENT_INFLATE_BUFS buffers, each passed to next (the gate)
 * and used again once the gate's output is sent.  While every buffer is
 * busy the compressed input waits, unread, as in nginx's gunzip filter.
 */

ngx_int_t
ngx_http_consent_inflate_body(ngx_http_request_t *r,
    ngx_http_consent_inflate_t *ctx, ngx_chain_t *in,
    ngx_http_output_body_filter_pt next)
{
    ngx_int_t     rc;
    ngx_uint_t    flush;
    ngx_chain_t  *cl;

    if (ctx->done) {

        /* nothing after the end of the answer reaches the reader */

        for (cl = in; cl; cl = cl->next) {
            cl->buf->pos = cl->buf->last;
        }

        return next(r, NULL);
    }

    if (in != NULL && ngx_chain_add_copy(r->pool, &ctx->in, in) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->nomem) {

        /* every buffer was busy: let the gate send what it holds */

        if (next(r, NULL) == NGX_ERROR) {
            return NGX_ERROR;
        }

        cl = NULL;

        ngx_chain_update_chains(r->pool, &ctx->free, &ctx->busy, &cl,
                                (ngx_buf_tag_t) &ngx_http_consent_inflate_tag);
        ctx->nomem = 0;
        flush = 0;

    } else {
        flush = ctx->busy ? 1 : 0;
    }

    for ( ;; ) {

        if (ngx_http_consent_inflate_run(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ctx->in != NULL || ctx->redo
            || (ctx->zstream.avail_in && !ctx->done))
        {
            r->buffered |= NGX_HTTP_CONSENT_BUFFERED;

        } else {
            r->buffered &= ~NGX_HTTP_CONSENT_BUFFERED;
        }

        if (ctx->out == NULL && !flush) {
            return ctx->busy ? NGX_AGAIN : NGX_OK;
        }

        rc = next(r, ctx->out);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        ngx_chain_update_chains(r->pool, &ctx->free, &ctx->busy, &ctx->out,
                                (ngx_buf_tag_t) &ngx_http_consent_inflate_tag);
        ctx->last_out = &ctx->out;
        flush = 0;

        if (ctx->done) {
            return rc;
        }

        if (ctx->nomem && ctx->free == NULL) {
            return NGX_AGAIN;
        }

        ctx->nomem = 0;
    }
}


/* inflates while there is input and a free buffer; output on ctx->out */

static ngx_int_t
ngx_http_consent_inflate_run(ngx_http_request_t *r,
    ngx_http_consent_inflate_t *ctx)
{
    int           rc;
    u_char       *start;
    ngx_chain_t  *cl;

    for ( ;; ) {

        if (ctx->zstream.avail_in == 0 && !ctx->redo) {

            /* the current input buffer is read: its marks, then the next */

            if (ctx->in_buf != NULL) {

                if (ctx->in_buf->last_buf || ctx->in_buf->last_in_chain) {

                    /* an empty body is an empty page, as browsers read it */

                    if (!ctx->ended && ctx->started) {
                        return ngx_http_consent_inflate_failed(r, ctx,
                                              "ends before its stream does",
                                              Z_BUF_ERROR);
                    }

                    if (ctx->started) {
                        (void) inflateEnd(&ctx->zstream);
                    }

                    ctx->done = 1;

                    return ngx_http_consent_inflate_emit(r, ctx, 0, 1);
                }

                if (ctx->in_buf->flush
                    && ngx_http_consent_inflate_emit(r, ctx, 1, 0) != NGX_OK)
                {
                    return NGX_ERROR;
                }

                ctx->in_buf = NULL;
            }

            if (ctx->in == NULL) {
                /* all read: what is inflated so far goes on */
                return ngx_http_consent_inflate_emit(r, ctx, 0, 0);
            }

            cl = ctx->in;
            ctx->in_buf = cl->buf;
            ctx->in = cl->next;

            ngx_free_chain(r->pool, cl);

            if (!ngx_buf_in_memory(ctx->in_buf) && ngx_buf_size(ctx->in_buf)) {
                ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                              "consent inflate: a file buffer reached the "
                              "filter");
                return NGX_ERROR;
            }

            ctx->zstream.next_in = ctx->in_buf->pos;
            ctx->zstream.avail_in = ctx->in_buf->last - ctx->in_buf->pos;

            continue;
        }

        if (ctx->out_buf == NULL) {
            if (ngx_http_consent_inflate_get_buf(r, ctx) != NGX_OK) {
                return ctx->nomem ? NGX_OK : NGX_ERROR;
            }
        }

        if (!ctx->started) {
            if (ngx_http_consent_inflate_start(r, ctx) != NGX_OK) {
                return NGX_ERROR;
            }

        } else if (ctx->ended && ctx->zstream.avail_in) {

            /* more after the end: a second gzip member, as gunzip reads */

            rc = inflateReset(&ctx->zstream);
            if (rc != Z_OK) {
                return ngx_http_consent_inflate_failed(r, ctx,
                                                       "cannot be reset", rc);
            }

            ctx->ended = 0;
        }

        start = ctx->zstream.next_out;

        rc = inflate(&ctx->zstream, Z_NO_FLUSH);

        if (ctx->in_buf != NULL) {
            ctx->in_buf->pos = ctx->zstream.next_in;
        }

        ctx->out_buf->last = ctx->zstream.next_out;
        ctx->inflated += ctx->zstream.next_out - start;

        if (rc == Z_STREAM_END) {
            ctx->ended = 1;

        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return ngx_http_consent_inflate_failed(r, ctx, "does not inflate",
                                                   rc);
        }

        if (ctx->inflated > ctx->max) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "consent: a compressed HTML answer inflates past "
                          "consent_inflate_max_size (%O bytes): the "
                          "reader's connection is closed; raise "
                          "\"consent_inflate_max_size\" if the page is "
                          "genuine", ctx->max);
            return NGX_ERROR;
        }

        ctx->redo = (ctx->zstream.avail_out == 0 && rc != Z_STREAM_END);

        if (ctx->zstream.avail_out == 0
            && ngx_http_consent_inflate_emit(r, ctx, 0, 0) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (rc == Z_BUF_ERROR && ctx->zstream.avail_in == 0) {
            ctx->redo = 0;
        }
    }
}


/* gzip, zlib's deflate, or a raw deflate stream as some servers send */

static ngx_int_t
ngx_http_consent_inflate_start(ngx_http_request_t *r,
    ngx_http_consent_inflate_t *ctx)
{
    int     rc, bits;
    u_char  c;

    if (ctx->encoding == NGX_HTTP_CONSENT_ENCODING_GZIP) {
        bits = MAX_WBITS + 16;

    } else {
        c = *ctx->zstream.next_in;
        bits = ((c & 0x0f) == Z_DEFLATED && (c >> 4) <= 7) ? MAX_WBITS
                                                           : -MAX_WBITS;
    }

    ctx->zstream.zalloc = ngx_http_consent_inflate_alloc;
    ctx->zstream.zfree = ngx_http_consent_inflate_free;
    ctx->zstream.opaque = ctx;

    rc = inflateInit2(&ctx->zstream, bits);

    if (rc != Z_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "consent inflate: inflateInit2() failed: %d", rc);
        return NGX_ERROR;
    }

    ctx->started = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_inflate_get_buf(ngx_http_request_t *r,
    ngx_http_consent_inflate_t *ctx)
{
    ngx_chain_t  *cl;

    if (ctx->free != NULL) {
        cl = ctx->free;
        ctx->out_buf = cl->buf;
        ctx->free = cl->next;

        ngx_free_chain(r->pool, cl);

    } else if (ctx->bufs < NGX_HTTP_CONSENT_INFLATE_BUFS) {

        ctx->out_buf = ngx_create_temp_buf(r->pool,
                                           NGX_HTTP_CONSENT_INFLATE_BUF_SIZE);
        if (ctx->out_buf == NULL) {
            return NGX_ERROR;
        }

        ctx->out_buf->tag = (ngx_buf_tag_t) &ngx_http_consent_inflate_tag;
        ctx->out_buf->recycled = 1;
        ctx->bufs++;

    } else {
        ctx->nomem = 1;
        return NGX_DECLINED;
    }

    ctx->out_buf->flush = 0;
    ctx->out_buf->pos = ctx->out_buf->start;
    ctx->out_buf->last = ctx->out_buf->start;

    ctx->zstream.next_out = ctx->out_buf->pos;
    ctx->zstream.avail_out = NGX_HTTP_CONSENT_INFLATE_BUF_SIZE;

    return NGX_OK;
}


/*
 * The current buffer goes on, if it holds anything or carries a mark: a
 * flush (the upstream flushed) or the end of the answer.
 */

static ngx_int_t
ngx_http_consent_inflate_emit(ngx_http_request_t *r,
    ngx_http_consent_inflate_t *ctx, ngx_uint_t flush, ngx_uint_t last)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ctx->out_buf;

    if (b == NULL || ngx_buf_size(b) == 0) {

        if (!flush && !last) {
            return NGX_OK;
        }

        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }

    } else {
        ctx->out_buf = NULL;
    }

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b->flush = flush;

    if (last) {
        b->last_buf = (r == r->main) ? 1 : 0;
        b->last_in_chain = 1;
        b->sync = 1;
    }

    cl->buf = b;
    cl->next = NULL;
    *ctx->last_out = cl;
    ctx->last_out = &cl->next;

    return NGX_OK;
}


/* a broken stream: what was inflated was gated; the rest never leaves */

static ngx_int_t
ngx_http_consent_inflate_failed(ngx_http_request_t *r,
    ngx_http_consent_inflate_t *ctx, char *what, int rc)
{
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "consent: the upstream's %s answer %s (zlib %d, %O "
                  "bytes inflated): the reader's connection is closed",
                  ctx->encoding == NGX_HTTP_CONSENT_ENCODING_GZIP
                  ? "gzip" : "deflate", what, rc, ctx->inflated);

    if (ctx->started) {
        (void) inflateEnd(&ctx->zstream);
        ctx->started = 0;
    }

    ctx->done = 1;

    return NGX_ERROR;
}


static void *
ngx_http_consent_inflate_alloc(void *opaque, u_int items, u_int size)
{
    ngx_http_consent_inflate_t *ctx = opaque;

    return ngx_palloc(ctx->request->pool, items * size);
}


static void
ngx_http_consent_inflate_free(void *opaque, void *address)
{
    /* the request's pool frees it */
}
