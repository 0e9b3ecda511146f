
/*
 * Copyright (C) nginx-consent developers
 *
 * consent_category_alias: other names for a declared category, so that
 * the shipped tracker catalogue (conf/trackers.conf), written with its own
 * category names (analytics, advertising, social, video, maps, replay,
 * abtest), files each service under one of the operator's categories.
 * Aliases are resolved while the configuration is read, wherever a
 * directive names a category; they never reach a cookie, a page or the log.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"


typedef struct {
    ngx_str_t                     name;
    ngx_uint_t                    category;    /* index into categories */
} ngx_http_consent_alias_t;


/* consent_category_alias CATEGORY ALIAS... */

char *
ngx_http_consent_category_alias(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_consent_main_conf_t *mcf = conf;

    ngx_int_t                  n;
    ngx_str_t                 *value;
    ngx_uint_t                 i, category;
    ngx_http_consent_alias_t  *alias;

    value = cf->args->elts;

    n = ngx_http_consent_category_find(mcf, value[1].data, value[1].len);

    if (n == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"consent_category_alias\" names unknown "
                           "category \"%V\"; declare it first with "
                           "\"consent_category %V;\"", &value[1], &value[1]);
        return NGX_CONF_ERROR;
    }

    category = n;

    if (mcf->aliases == NULL) {
        mcf->aliases = ngx_array_create(cf->pool, 8,
                                        sizeof(ngx_http_consent_alias_t));
        if (mcf->aliases == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (!ngx_http_consent_valid_name(value[i].data, value[i].len)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid alias \"%V\"; use 1 to %d lowercase "
                               "letters, digits or \"_\", starting with a "
                               "letter", &value[i], NGX_HTTP_CONSENT_NAME_MAX);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_consent_category_find(mcf, value[i].data, value[i].len)
            != NGX_ERROR)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" is a category of its own and cannot "
                               "be an alias; drop it from "
                               "\"consent_category_alias\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_consent_alias_find(mcf, value[i].data, value[i].len)
            != NGX_ERROR)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate alias \"%V\"; give each alias "
                               "one category", &value[i]);
            return NGX_CONF_ERROR;
        }

        alias = ngx_array_push(mcf->aliases);
        if (alias == NULL) {
            return NGX_CONF_ERROR;
        }

        alias->name = value[i];
        alias->category = category;
    }

    return NGX_CONF_OK;
}


/* the index of the category an alias stands for, or NGX_ERROR */

ngx_int_t
ngx_http_consent_alias_find(ngx_http_consent_main_conf_t *mcf, u_char *name,
    size_t len)
{
    ngx_uint_t                 i;
    ngx_http_consent_alias_t  *alias;

    if (mcf->aliases == NULL) {
        return NGX_ERROR;
    }

    alias = mcf->aliases->elts;

    for (i = 0; i < mcf->aliases->nelts; i++) {
        if (alias[i].name.len == len
            && ngx_strncmp(alias[i].name.data, name, len) == 0)
        {
            return alias[i].category;
        }
    }

    return NGX_ERROR;
}
