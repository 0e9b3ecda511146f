
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"


/* stub: consent.js and consent.css land here */


ngx_int_t
ngx_http_consent_send_asset(ngx_http_request_t *r, ngx_str_t *name)
{
    return NGX_DECLINED;
}
