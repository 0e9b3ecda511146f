
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"


/* stub: texts and languages land here */


char *
ngx_http_consent_texts(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_consent_texts_init(ngx_conf_t *cf)
{
    return NGX_OK;
}


ngx_http_consent_texts_t *
ngx_http_consent_texts_pick(ngx_http_request_t *r)
{
    return NULL;
}
