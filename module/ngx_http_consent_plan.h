
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_PLAN_H_INCLUDED_
#define _NGX_HTTP_CONSENT_PLAN_H_INCLUDED_


/*
 * The edit plan of a static file: what the gate makes of it, as ranges of
 * the file sent as they are (by sendfile), bytes of the plan's own, and the
 * places of the head snippet and the banner, which are made per request.
 * Kept per worker, keyed on the file (device, inode, size, mtime, ctime),
 * the location's configuration, the reader's granted set and whether the
 * snippet and the banner go in; consent_plan_cache sets its size.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_gate.h"


/* the header filter, once the gate is started: a static file or not */
ngx_int_t ngx_http_consent_plan_start(ngx_http_request_t *r,
    ngx_http_consent_gate_t *gate, ngx_str_t *snippet);

/* the header filter, once it cleared Content-Length: the plan's length */
void ngx_http_consent_plan_header(ngx_http_request_t *r);

/* $consent_removed: the plan's counts, or NULL for the full scan's */
ngx_http_consent_gate_removed_t *ngx_http_consent_plan_removed(
    ngx_http_request_t *r);

/* the body filter: NGX_DECLINED leaves the answer to the full scan */
ngx_int_t ngx_http_consent_plan_body(ngx_http_request_t *r, ngx_chain_t *in,
    ngx_http_output_body_filter_pt next);


extern ngx_module_t  ngx_http_consent_plan_module;


#endif /* _NGX_HTTP_CONSENT_PLAN_H_INCLUDED_ */
