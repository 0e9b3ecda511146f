
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"


/* stub: the banner and the preferences page land here */


static ngx_int_t
ngx_http_consent_render_text(ngx_http_request_t *r, ngx_chain_t **out,
    char *text)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);
    if (b == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    b->pos = (u_char *) text;
    b->last = b->pos + ngx_strlen(text);
    b->memory = 1;

    cl->buf = b;
    cl->next = NULL;
    *out = cl;

    return NGX_OK;
}


ngx_int_t
ngx_http_consent_render_banner(ngx_http_request_t *r, ngx_chain_t **out)
{
    return ngx_http_consent_render_text(r, out,
                                        "<div id=\"consent-banner\"></div>");
}


ngx_int_t
ngx_http_consent_render_page(ngx_http_request_t *r, ngx_chain_t **out)
{
    return ngx_http_consent_render_text(r, out,
               "<!DOCTYPE html><html lang=\"en\"><title>Consent</title>"
               "<form method=\"post\"><button name=\"action\""
               " value=\"accept_all\">Accept all</button></form></html>");
}
