
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"


/* stub: Set-Cookie and Cookie enforcement land here */


ngx_int_t
ngx_http_consent_headers_init(ngx_conf_t *cf)
{
    return NGX_OK;
}


char *
ngx_http_consent_strip_cookie(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_consent_strip_set_cookie(ngx_http_request_t *r)
{
    return NGX_OK;
}


ngx_int_t
ngx_http_consent_delete_cookies(ngx_http_request_t *r, uint64_t refused)
{
    return NGX_OK;
}
