
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"


/* stub: the gating and banner filter lands here */


ngx_int_t
ngx_http_consent_filter_init(ngx_conf_t *cf)
{
    return NGX_OK;
}


char *
ngx_http_consent_gate_host(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return NGX_CONF_OK;
}


char *
ngx_http_consent_google_mode(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return NGX_CONF_OK;
}
