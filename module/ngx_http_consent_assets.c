
/*
 * Copyright (C) nginx-consent developers
 *
 * consent.css and consent.js, served by the endpoint from the copies built
 * into the module (ui/embed.sh), with a strong ETag and a long cache: the
 * banner links them with "?v=" and the ETag's CRC, so a new module version
 * is fetched at once.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_ui_data.h"


typedef struct {
    ngx_str_t                          name;
    ngx_str_t                          type;
    size_t                             type_len;   /* without charset */
} ngx_http_consent_asset_t;


static ngx_int_t ngx_http_consent_asset_not_modified(ngx_http_request_t *r,
    const ngx_http_consent_ui_file_t *f);


/* what is served: nothing else of ui/ leaves the module this way */
static ngx_http_consent_asset_t  ngx_http_consent_assets[] = {
    { ngx_string("consent.css"), ngx_string("text/css; charset=utf-8"),
      sizeof("text/css") - 1 },
    { ngx_string("consent.js"), ngx_string("text/javascript; charset=utf-8"),
      sizeof("text/javascript") - 1 },
    { ngx_null_string, ngx_null_string, 0 }
};


ngx_int_t
ngx_http_consent_send_asset(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_int_t                          rc;
    ngx_buf_t                         *b;
    ngx_chain_t                        out;
    ngx_table_elt_t                   *h;
    ngx_http_consent_asset_t          *a;
    const ngx_http_consent_ui_file_t  *f;

    for (a = ngx_http_consent_assets; a->name.len; a++) {
        if (a->name.len == name->len
            && ngx_strncmp(a->name.data, name->data, name->len) == 0)
        {
            break;
        }
    }

    if (a->name.len == 0) {
        return NGX_DECLINED;
    }

    f = ngx_http_consent_ui_find(a->name.data, a->name.len);
    if (f == NULL) {
        return NGX_DECLINED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    r->headers_out.content_type = a->type;
    r->headers_out.content_type_len = a->type_len;
    r->headers_out.last_modified_time = -1;

    h = ngx_http_consent_header_out(r, "ETag", (u_char *) f->etag,
                                    ngx_strlen(f->etag));
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.etag = h;

    if (ngx_http_consent_header_out(r, "Cache-Control", (u_char *)
                                    "public, max-age=31536000, immutable",
                                    sizeof("public, max-age=31536000, "
                                           "immutable") - 1)
        == NULL
        || ngx_http_consent_header_out(r, "X-Content-Type-Options",
                                       (u_char *) "nosniff",
                                       sizeof("nosniff") - 1)
           == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_consent_asset_not_modified(r, f)) {
        r->headers_out.status = NGX_HTTP_NOT_MODIFIED;
        r->headers_out.content_length_n = -1;
        r->header_only = 1;

        return ngx_http_send_header(r);
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = f->len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = (u_char *) f->data;
    b->last = b->pos + f->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


const ngx_http_consent_ui_file_t *
ngx_http_consent_ui_find(const unsigned char *name, size_t len)
{
    const ngx_http_consent_ui_file_t  *f;

    for (f = ngx_http_consent_ui_files; f->name != NULL; f++) {
        if (ngx_strlen(f->name) == len
            && ngx_strncmp(f->name, (const char *) name, len) == 0)
        {
            return f;
        }
    }

    return NULL;
}


/* If-None-Match: "*" or a list of ETags, weak ones compared weakly */

static ngx_int_t
ngx_http_consent_asset_not_modified(ngx_http_request_t *r,
    const ngx_http_consent_ui_file_t *f)
{
    size_t            len;
    u_char           *p, *end, *start;
    ngx_table_elt_t  *inm;

    inm = r->headers_in.if_none_match;

    if (inm == NULL) {
        return 0;
    }

    len = ngx_strlen(f->etag);
    p = inm->value.data;
    end = p + inm->value.len;

    for ( ;; ) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        if (p == end) {
            return 0;
        }

        if (*p == '*') {
            return 1;
        }

        if (end - p > 2 && p[0] == 'W' && p[1] == '/') {
            p += 2;
        }

        start = p;

        while (p < end && *p != ',') {
            p++;
        }

        while (p > start && (p[-1] == ' ' || p[-1] == '\t')) {
            p--;
        }

        if ((size_t) (p - start) == len
            && ngx_strncmp(start, f->etag, len) == 0)
        {
            return 1;
        }

        while (p < end && *p != ',') {
            p++;
        }
    }
}
