
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_INFLATE_H_INCLUDED_
#define _NGX_HTTP_CONSENT_INFLATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef enum {
    NGX_HTTP_CONSENT_ENCODING_IDENTITY = 0,
    NGX_HTTP_CONSENT_ENCODING_GZIP,
    NGX_HTTP_CONSENT_ENCODING_DEFLATE,
    NGX_HTTP_CONSENT_ENCODING_UNREADABLE   /* br, zstd, stacked, unknown */
} ngx_http_consent_encoding_e;


typedef struct ngx_http_consent_inflate_s  ngx_http_consent_inflate_t;


ngx_int_t ngx_http_consent_accept_encoding(ngx_http_request_t *r);
ngx_http_consent_encoding_e ngx_http_consent_encoding(ngx_http_request_t *r);
ngx_http_consent_inflate_t *ngx_http_consent_inflate_create(
    ngx_http_request_t *r, ngx_http_consent_encoding_e encoding, off_t max);
ngx_int_t ngx_http_consent_inflate_body(ngx_http_request_t *r,
    ngx_http_consent_inflate_t *ctx, ngx_chain_t *in,
    ngx_http_output_body_filter_pt next);


#endif /* _NGX_HTTP_CONSENT_INFLATE_H_INCLUDED_ */
