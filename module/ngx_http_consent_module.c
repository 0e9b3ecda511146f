
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/sha.h>

#include "ngx_http_consent_module.h"


#define NGX_HTTP_CONSENT_SECRET_MAX  4096


/* consent_banner and consent_regime: a value, or variables that give one */
typedef struct {
    ngx_str_t                   name;
    ngx_conf_enum_t            *values;
    char                       *names;       /* the values, for messages */
    ngx_uint_t                  fallback;    /* what any other value gives */
    char                       *fallback_is; /* and what that means */
} ngx_http_consent_value_t;


static ngx_int_t ngx_http_consent_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_consent_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_consent_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_consent_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_consent_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_consent_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);

static char *ngx_http_consent_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_consent_read_secret(ngx_conf_t *cf,
    ngx_http_consent_secret_t *secret);
static void ngx_http_consent_free_secret(void *data);
static char *ngx_http_consent_revision(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_consent_cookie(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_consent_enum(ngx_conf_enum_t *e, ngx_str_t *v,
    ngx_uint_t *value);
static char *ngx_http_consent_category(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_consent_banner(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_consent_regime(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_consent_value_conf(ngx_conf_t *cf,
    ngx_http_consent_value_t *desc, ngx_uint_t *v,
    ngx_http_complex_value_t **cv);
static ngx_uint_t ngx_http_consent_value_of(ngx_http_request_t *r,
    ngx_http_consent_value_t *desc, ngx_uint_t v,
    ngx_http_complex_value_t *cv);


static ngx_conf_enum_t  ngx_http_consent_samesite[] = {
    { ngx_string("lax"), NGX_HTTP_CONSENT_SAMESITE_LAX },
    { ngx_string("strict"), NGX_HTTP_CONSENT_SAMESITE_STRICT },
    { ngx_string("none"), NGX_HTTP_CONSENT_SAMESITE_NONE },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_consent_secure[] = {
    { ngx_string("auto"), NGX_HTTP_CONSENT_SECURE_AUTO },
    { ngx_string("on"), NGX_HTTP_CONSENT_SECURE_ON },
    { ngx_string("off"), NGX_HTTP_CONSENT_SECURE_OFF },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_consent_banner_values[] = {
    { ngx_string("off"), 0 },
    { ngx_string("on"), 1 },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_consent_regimes[] = {
    { ngx_string("opt-in"), NGX_HTTP_CONSENT_REGIME_OPT_IN },
    { ngx_string("opt-out"), NGX_HTTP_CONSENT_REGIME_OPT_OUT },
    { ngx_null_string, 0 }
};


static ngx_http_consent_value_t  ngx_http_consent_banner_value = {
    ngx_string("consent_banner"),
    ngx_http_consent_banner_values,
    "\"on\" or \"off\"",
    1,
    "the banner is shown"
};


static ngx_http_consent_value_t  ngx_http_consent_regime_value = {
    ngx_string("consent_regime"),
    ngx_http_consent_regimes,
    "\"opt-in\" or \"opt-out\"",
    NGX_HTTP_CONSENT_REGIME_OPT_IN,
    "opt-in applies"
};


static ngx_str_t  ngx_http_consent_reserved[] = {
    ngx_string("state"),
    ngx_string("id"),
    ngx_string("categories"),
    ngx_string("gpc"),
    ngx_string("plan"),
    ngx_string("removed"),
    ngx_string("regime"),
    ngx_null_string
};


static ngx_command_t  ngx_http_consent_commands[] = {

    { ngx_string("consent"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_consent_loc_conf_t, enable),
      NULL },

    { ngx_string("consent_banner"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_consent_banner,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_regime"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_consent_regime,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_choices_link"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_consent_loc_conf_t, choices_link),
      NULL },

    { ngx_string("consent_gate_buffer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_consent_loc_conf_t, gate_buffer),
      NULL },

    { ngx_string("consent_inflate_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_consent_loc_conf_t, inflate_max),
      NULL },

    { ngx_string("consent_placeholder"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_consent_loc_conf_t, placeholder),
      NULL },

    { ngx_string("consent_csp_nonce"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_consent_loc_conf_t, csp_nonce),
      NULL },

    { ngx_string("consent_policy_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_consent_loc_conf_t, policy_url),
      NULL },

    { ngx_string("consent_language"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_consent_main_conf_t, language),
      NULL },

    { ngx_string("consent_languages"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_consent_languages,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_revision"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_consent_revision,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_secret"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_consent_secret,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_consent_cookie,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_category"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_http_consent_category,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_category_alias"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_consent_category_alias,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_texts"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_consent_texts,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_log"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_consent_log,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_endpoint"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_consent_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_consent_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_gate_host"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_consent_gate_host,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_strip_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_consent_strip_cookie,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_cookie_info"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_consent_cookie_info,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("consent_google_mode"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_consent_google_mode,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_consent_module_ctx = {
    ngx_http_consent_preconfiguration,     /* preconfiguration */
    ngx_http_consent_postconfiguration,    /* postconfiguration */

    ngx_http_consent_create_main_conf,     /* create main configuration */
    ngx_http_consent_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_consent_create_loc_conf,      /* create location configuration */
    ngx_http_consent_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_consent_module = {
    NGX_MODULE_V1,
    &ngx_http_consent_module_ctx,          /* module context */
    ngx_http_consent_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_consent_preconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_consent_add_variables(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_consent_filter_add_variables(cf);
}


/*
 * What each file needs built (texts, log, the cookie cache), then the
 * request path: the phase handlers and the module's one header filter and
 * one body filter, all set in ngx_http_consent_filter_init, which calls the
 * other files' steps in the order written there.
 */

static ngx_int_t
ngx_http_consent_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_consent_texts_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_consent_render_init_conf(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_consent_log_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_consent_request_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_consent_filter_init(cf);
}


static void *
ngx_http_consent_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_consent_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->secrets = NULL;
     *     mcf->aliases = NULL;
     *     mcf->cookie_info = NULL;
     *     mcf->cookie_name = { 0, NULL };
     *     mcf->cookie_domain = { 0, NULL };
     *     mcf->cookie_path = { 0, NULL };
     *     mcf->cookie_set = 0;
     *     mcf->all_mask = 0;
     *     mcf->required_mask = 0;
     *     mcf->gpc_mask = 0;
     *     mcf->endpoint = { 0, NULL };
     *     mcf->endpoints = NULL;
     *     mcf->texts_dir = { 0, NULL };
     *     mcf->language = { 0, NULL };
     *     mcf->languages = NULL;
     *     mcf->texts = NULL;
     *     mcf->log = NULL;
     *     mcf->status = NULL;
     */

    mcf->categories = ngx_array_create(cf->pool, 4,
                                        sizeof(ngx_http_consent_category_t));
    if (mcf->categories == NULL) {
        return NULL;
    }

    mcf->revision = NGX_CONF_UNSET;
    mcf->cookie_max_age = NGX_CONF_UNSET;
    mcf->cookie_samesite = NGX_CONF_UNSET_UINT;
    mcf->cookie_secure = NGX_CONF_UNSET_UINT;

    return mcf;
}


static char *
ngx_http_consent_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_consent_main_conf_t *mcf = conf;

    ngx_uint_t                    i;
    ngx_http_consent_key_t       *keys;
    ngx_http_consent_slice_t     *names;
    ngx_http_consent_policy_t    *policy;
    ngx_http_consent_secret_t    *secret;
    ngx_http_consent_category_t  *c;

    ngx_conf_init_value(mcf->revision, 1);
    ngx_conf_init_value(mcf->cookie_max_age, 180 * 86400);
    ngx_conf_init_uint_value(mcf->cookie_samesite,
                             NGX_HTTP_CONSENT_SAMESITE_LAX);
    ngx_conf_init_uint_value(mcf->cookie_secure,
                             NGX_HTTP_CONSENT_SECURE_AUTO);

    if (mcf->cookie_name.data == NULL) {
        ngx_str_set(&mcf->cookie_name, "consent");
    }

    if (mcf->cookie_path.data == NULL) {
        ngx_str_set(&mcf->cookie_path, "/");
    }

    if (mcf->language.data == NULL && mcf->languages != NULL) {
        mcf->language = ((ngx_str_t *) mcf->languages->elts)[0];
    }

    if (mcf->language.data == NULL) {
        ngx_str_set(&mcf->language, "en");
    }

    c = mcf->categories->elts;

    names = ngx_palloc(cf->pool, (mcf->categories->nelts + 1)
                                 * sizeof(ngx_http_consent_slice_t));
    if (names == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < mcf->categories->nelts; i++) {
        names[i].data = c[i].name.data;
        names[i].len = c[i].name.len;

        mcf->all_mask |= (uint64_t) 1 << i;

        if (c[i].required) {
            mcf->required_mask |= (uint64_t) 1 << i;
        }

        if (c[i].gpc) {
            mcf->gpc_mask |= (uint64_t) 1 << i;
        }
    }

    if (ngx_http_consent_disclose_init(cf, mcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    policy = &mcf->policy;

    policy->names = names;
    policy->nnames = mcf->categories->nelts;
    policy->required = mcf->required_mask;
    policy->revision = mcf->revision;
    policy->max_age = mcf->cookie_max_age;

    if (mcf->secrets != NULL) {
        secret = mcf->secrets->elts;

        keys = ngx_palloc(cf->pool, mcf->secrets->nelts
                                    * sizeof(ngx_http_consent_key_t));
        if (keys == NULL) {
            return NGX_CONF_ERROR;
        }

        for (i = 0; i < mcf->secrets->nelts; i++) {
            keys[i] = secret[i].key;
        }

        policy->keys = keys;
        policy->nkeys = mcf->secrets->nelts;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_consent_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_consent_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_consent_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->gate_hosts = NULL;
     *     conf->strip_cookies = NULL;
     *     conf->google_mode = NULL;
     *     conf->csp_nonce = NULL;
     *     conf->policy_url = { 0, NULL };
     *     conf->gate_tables = NULL;
     *     conf->banner_value = NULL;
     *     conf->regime_value = NULL;
     *     conf->banner_set = 0;
     *     conf->regime_set = 0;
     */

    conf->enable = NGX_CONF_UNSET;
    conf->banner = NGX_CONF_UNSET_UINT;
    conf->regime = NGX_CONF_UNSET_UINT;
    conf->endpoint = NGX_CONF_UNSET;
    conf->choices_link = NGX_CONF_UNSET;
    conf->gate_buffer = NGX_CONF_UNSET_SIZE;
    conf->inflate_max = NGX_CONF_UNSET;
    conf->placeholder = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_consent_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_consent_loc_conf_t *prev = parent;
    ngx_http_consent_loc_conf_t *conf = child;

    ngx_http_consent_loc_conf_t   **endpoint;
    ngx_http_consent_main_conf_t   *mcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    if (conf->banner == NGX_CONF_UNSET_UINT) {
        conf->banner_value = prev->banner_value;
    }

    ngx_conf_merge_uint_value(conf->banner, prev->banner, 1);

    if (conf->regime == NGX_CONF_UNSET_UINT) {
        conf->regime_value = prev->regime_value;
    }

    ngx_conf_merge_uint_value(conf->regime, prev->regime,
                              NGX_HTTP_CONSENT_REGIME_OPT_IN);

    ngx_conf_merge_value(conf->endpoint, prev->endpoint, 0);
    ngx_conf_merge_value(conf->choices_link, prev->choices_link, 0);
    ngx_conf_merge_size_value(conf->gate_buffer, prev->gate_buffer,
                              64 * 1024);
    ngx_conf_merge_value(conf->placeholder, prev->placeholder, 0);
    ngx_conf_merge_str_value(conf->policy_url, prev->policy_url, "");
    ngx_conf_merge_off_value(conf->inflate_max, prev->inflate_max,
                             32 * 1024 * 1024);

    if (conf->gate_hosts == NULL) {
        conf->gate_hosts = prev->gate_hosts;
    }

    if (conf->strip_cookies == NULL) {
        conf->strip_cookies = prev->strip_cookies;
    }

    if (conf->google_mode == NULL) {
        conf->google_mode = prev->google_mode;
    }

    if (conf->csp_nonce == NULL) {
        conf->csp_nonce = prev->csp_nonce;
    }

    if (!conf->enable && !conf->endpoint) {
        return NGX_CONF_OK;
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);

    if (mcf->secrets == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"consent\" is on but no \"consent_secret\" is "
                           "set; add \"consent_secret /path/to/key;\" to the "
                           "http block (32 random bytes or more, e.g. made "
                           "with \"openssl rand -out key 32\")");
        return NGX_CONF_ERROR;
    }

    if (mcf->categories->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"consent\" is on but no category is declared; "
                           "add e.g. \"consent_category analytics;\" to the "
                           "http block");
        return NGX_CONF_ERROR;
    }

    if (conf->endpoint) {
        /* its preferences page's cookies go into the policy record */

        if (mcf->endpoints == NULL) {
            mcf->endpoints = ngx_array_create(cf->pool, 4,
                                         sizeof(ngx_http_consent_loc_conf_t *));
            if (mcf->endpoints == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        endpoint = ngx_array_push(mcf->endpoints);
        if (endpoint == NULL) {
            return NGX_CONF_ERROR;
        }

        *endpoint = conf;
    }

    return ngx_http_consent_filter_merge(cf, prev, conf);
}


static char *
ngx_http_consent_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_main_conf_t *mcf = conf;

    ngx_str_t                  *value;
    ngx_uint_t                  i;
    ngx_http_consent_secret_t  *secret, *s;

    value = cf->args->elts;

    if (mcf->secrets == NULL) {
        mcf->secrets = ngx_array_create(cf->pool, 2,
                                         sizeof(ngx_http_consent_secret_t));
        if (mcf->secrets == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    secret = ngx_array_push(mcf->secrets);
    if (secret == NULL) {
        return NGX_CONF_ERROR;
    }

    secret->file = value[1];

    if (ngx_conf_full_name(cf->cycle, &secret->file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_consent_read_secret(cf, secret) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    s = mcf->secrets->elts;

    for (i = 0; i < mcf->secrets->nelts - 1; i++) {
        if (ngx_memcmp(s[i].key.kid, secret->key.kid,
                       NGX_HTTP_CONSENT_KID_LEN)
            == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"consent_secret\" \"%V\" holds the same key "
                               "as \"%V\"; remove one of them",
                               &secret->file, &s[i].file);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_consent_read_secret(ngx_conf_t *cf, ngx_http_consent_secret_t *secret)
{
    u_char              *p, *label;
    size_t               len;
    ssize_t              n;
    ngx_fd_t             fd;
    ngx_int_t            rc;
    ngx_file_info_t      fi;
    ngx_pool_cleanup_t  *cln;

    rc = NGX_ERROR;
    p = NULL;

    fd = ngx_open_file(secret->file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"consent_secret\" cannot open \"%V\"; create it "
                           "with \"openssl rand -out %V 32 && chmod 600 %V\"",
                           &secret->file, &secret->file, &secret->file);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", &secret->file);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_CONSENT_SECRET_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"consent_secret\" \"%V\" is larger than %d "
                           "bytes; a key needs 32 to 64 random bytes",
                           &secret->file, NGX_HTTP_CONSENT_SECRET_MAX);
        goto done;
    }

    if (fi.st_mode & (S_IROTH|S_IWOTH)) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"consent_secret\" \"%V\" is readable by other "
                           "users; run \"chmod 600 %V\"",
                           &secret->file, &secret->file);
    }

    p = ngx_pnalloc(cf->pool, NGX_HTTP_CONSENT_SECRET_MAX);
    if (p == NULL) {
        goto done;
    }

    n = ngx_read_fd(fd, p, NGX_HTTP_CONSENT_SECRET_MAX);

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%V\" failed", &secret->file);
        goto done;
    }

    /*
     * A key written by an editor may end with a newline, which is not key;
     * but a random key may end with a byte that looks like one ("openssl
     * rand -out FILE 32" does, 1 time in 128), and that is key: newlines
     * go only while at least NGX_HTTP_CONSENT_KEY_MIN bytes remain.
     */

    len = n;

    while (len > NGX_HTTP_CONSENT_KEY_MIN
           && (p[len - 1] == LF || p[len - 1] == CR))
    {
        len--;
    }

    if (len < NGX_HTTP_CONSENT_KEY_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"consent_secret\" \"%V\" holds %uz bytes, "
                           "at least %d are needed; make a new key with "
                           "\"openssl rand -out %V 32\"",
                           &secret->file, len, NGX_HTTP_CONSENT_KEY_MIN,
                           &secret->file);
        goto done;
    }

    ngx_http_consent_cookie_kid(secret->key.kid, p, len);

    /* a key of its own for hashing IPs, so the two uses never meet */

    secret->ip_key.data = ngx_pnalloc(cf->pool, SHA256_DIGEST_LENGTH);
    if (secret->ip_key.data == NULL) {
        goto done;
    }

    secret->ip_key.len = SHA256_DIGEST_LENGTH;

    label = ngx_pnalloc(cf->pool, sizeof("nginx-consent ip hash") - 1 + len);
    if (label == NULL) {
        goto done;
    }

    ngx_memcpy(ngx_cpymem(label, "nginx-consent ip hash",
                          sizeof("nginx-consent ip hash") - 1),
               p, len);

    SHA256(label, sizeof("nginx-consent ip hash") - 1 + len,
           secret->ip_key.data);

    ngx_explicit_memzero(label, sizeof("nginx-consent ip hash") - 1 + len);

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        goto done;
    }

    if (ngx_http_consent_hmac_init(&secret->key.hmac, p, len) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "HMAC-SHA256 is not available in OpenSSL; build "
                           "nginx with an OpenSSL that provides SHA-256");
        goto done;
    }

    cln->handler = ngx_http_consent_free_secret;
    cln->data = secret;

    rc = NGX_OK;

done:

    /* only the HMAC state keeps the key from here on */

    if (p != NULL) {
        ngx_explicit_memzero(p, NGX_HTTP_CONSENT_SECRET_MAX);
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &secret->file);
    }

    return rc;
}


static void
ngx_http_consent_free_secret(void *data)
{
    ngx_http_consent_secret_t  *secret = data;

    ngx_http_consent_hmac_free(&secret->key.hmac);
}


static char *
ngx_http_consent_revision(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_main_conf_t *mcf = conf;

    ngx_str_t  *value;

    if (mcf->revision != NGX_CONF_UNSET) {
        return "is duplicate: keep one \"consent_revision\" line";
    }

    value = cf->args->elts;

    mcf->revision = ngx_atoi(value[1].data, value[1].len);

    if (mcf->revision == NGX_ERROR || value[1].len > 9) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"consent_revision\" \"%V\"; use a whole "
                           "number from 0 to 999999999, and raise it to ask "
                           "every reader again", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_consent_cookie(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_main_conf_t *mcf = conf;

    u_char      *p;
    time_t       age;
    ngx_str_t   *value, v;
    ngx_uint_t   i;

    if (mcf->cookie_set) {
        return "is duplicate: give all its parameters in one "
               "\"consent_cookie\" line";
    }

    mcf->cookie_set = 1;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "name=", 5) == 0) {
            v.data = value[i].data + 5;
            v.len = value[i].len - 5;

            if (!ngx_http_consent_cookie_name_valid(v.data, v.len)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid cookie name in \"%V\" of "
                                   "\"consent_cookie\"; use letters, "
                                   "digits, \"_\" or \"-\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            mcf->cookie_name = v;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_age=", 8) == 0) {
            v.data = value[i].data + 8;
            v.len = value[i].len - 8;

            age = ngx_parse_time(&v, 1);

            if (age == (time_t) NGX_ERROR || age <= 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"max_age\" value \"%V\" in "
                                   "\"consent_cookie\"; use a duration such "
                                   "as \"180d\" or \"6M\"", &v);
                return NGX_CONF_ERROR;
            }

            if (age > NGX_HTTP_CONSENT_MAX_AGE_LIMIT) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"max_age\" \"%V\" in \"consent_cookie\" "
                                   "is longer than 13 months, which the "
                                   "CNIL does not allow for a consent; use "
                                   "at most \"395d\" (\"180d\" is advised)",
                                   &v);
                return NGX_CONF_ERROR;
            }

            mcf->cookie_max_age = age;
            continue;
        }

        if (ngx_strncmp(value[i].data, "domain=", 7) == 0) {
            mcf->cookie_domain.data = value[i].data + 7;
            mcf->cookie_domain.len = value[i].len - 7;

            for (p = mcf->cookie_domain.data;
                 p < mcf->cookie_domain.data + mcf->cookie_domain.len;
                 p++)
            {
                if (!(isalnum(*p) || *p == '.' || *p == '-')) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "invalid \"domain\" \"%V\" in "
                                       "\"consent_cookie\"; use a host name "
                                       "such as \"example.com\"",
                                       &mcf->cookie_domain);
                    return NGX_CONF_ERROR;
                }
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "path=", 5) == 0) {
            v.data = value[i].data + 5;
            v.len = value[i].len - 5;

            if (v.len == 0 || v.data[0] != '/'
                || ngx_strlchr(v.data, v.data + v.len, ';') != NULL)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"path\" \"%V\" in "
                                   "\"consent_cookie\"; it must start with "
                                   "\"/\" and hold no \";\"", &v);
                return NGX_CONF_ERROR;
            }

            mcf->cookie_path = v;
            continue;
        }

        if (ngx_strncmp(value[i].data, "samesite=", 9) == 0) {
            v.data = value[i].data + 9;
            v.len = value[i].len - 9;

            if (ngx_http_consent_enum(ngx_http_consent_samesite, &v,
                                      &mcf->cookie_samesite)
                != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"samesite\" value \"%V\" in "
                                   "\"consent_cookie\"; use \"lax\", "
                                   "\"strict\" or \"none\"", &v);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "secure=", 7) == 0) {
            v.data = value[i].data + 7;
            v.len = value[i].len - 7;

            if (ngx_http_consent_enum(ngx_http_consent_secure, &v,
                                      &mcf->cookie_secure)
                != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"secure\" value \"%V\" in "
                                   "\"consent_cookie\"; use \"auto\", "
                                   "\"on\" or \"off\"", &v);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"consent_cookie\"; "
                           "known ones are name=, max_age=, domain=, path=, "
                           "samesite= and secure=", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (mcf->cookie_samesite == NGX_HTTP_CONSENT_SAMESITE_NONE
        && mcf->cookie_secure == NGX_HTTP_CONSENT_SECURE_OFF)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"samesite=none\" needs a secure cookie, which "
                           "browsers require; remove \"secure=off\" from "
                           "\"consent_cookie\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_consent_enum(ngx_conf_enum_t *e, ngx_str_t *v, ngx_uint_t *value)
{
    for ( /* void */ ; e->name.len; e++) {
        if (e->name.len == v->len
            && ngx_strncasecmp(e->name.data, v->data, v->len) == 0)
        {
            *value = e->value;
            return NGX_OK;
        }
    }

    return NGX_ERROR;
}


static char *
ngx_http_consent_category(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_main_conf_t *mcf = conf;

    ngx_str_t                    *value;
    ngx_uint_t                    i;
    ngx_http_consent_category_t  *c;

    value = cf->args->elts;

    if (!ngx_http_consent_valid_name(value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid category name \"%V\"; use 1 to %d "
                           "lowercase letters, digits or \"_\", starting "
                           "with a letter", &value[1],
                           NGX_HTTP_CONSENT_NAME_MAX);
        return NGX_CONF_ERROR;
    }

    for (i = 0; ngx_http_consent_reserved[i].len; i++) {
        if (ngx_http_consent_reserved[i].len == value[1].len
            && ngx_strncmp(ngx_http_consent_reserved[i].data, value[1].data,
                           value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "category name \"%V\" is reserved: "
                               "$consent_%V is a variable of its own; choose "
                               "another name", &value[1], &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_consent_category_find(mcf, value[1].data, value[1].len)
        != NGX_ERROR)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate category \"%V\"; declare each "
                           "category once", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_consent_alias_find(mcf, value[1].data, value[1].len)
        != NGX_ERROR)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "category \"%V\" is already an alias given by "
                           "\"consent_category_alias\"; declare the "
                           "categories first, then their aliases", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (mcf->categories->nelts == NGX_HTTP_CONSENT_MAX_CATEGORIES) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many categories: at most %d can be "
                           "declared; merge some of them into one",
                           NGX_HTTP_CONSENT_MAX_CATEGORIES);
        return NGX_CONF_ERROR;
    }

    c = ngx_array_push(mcf->categories);
    if (c == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(c, sizeof(ngx_http_consent_category_t));

    c->name = value[1];
    c->index = mcf->categories->nelts - 1;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "required") == 0 && !c->required) {
            c->required = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "gpc") == 0 && !c->gpc) {
            c->gpc = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"consent_category "
                           "%V\"; use \"required\" or \"gpc\", once each",
                           &value[i], &value[1]);
        return NGX_CONF_ERROR;
    }

    if (c->required && c->gpc) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "category \"%V\" cannot be both \"required\" and "
                           "\"gpc\": a required category is never refused; "
                           "drop one of the two", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_consent_add_category_variable(cf, c) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_consent_category_find(ngx_http_consent_main_conf_t *mcf,
    u_char *name, size_t len)
{
    ngx_uint_t                    i;
    ngx_http_consent_category_t  *c;

    c = mcf->categories->elts;

    for (i = 0; i < mcf->categories->nelts; i++) {
        if (c[i].name.len == len && ngx_strncmp(c[i].name.data, name, len) == 0)
        {
            return i;
        }
    }

    return NGX_ERROR;
}


char *
ngx_http_consent_category_arg(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_str_t *name, ngx_uint_t *index)
{
    ngx_int_t  n;

    n = ngx_http_consent_category_find(mcf, name->data, name->len);

    if (n == NGX_ERROR) {
        n = ngx_http_consent_alias_find(mcf, name->data, name->len);
    }

    if (n == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown category \"%V\"; declare it first with "
                           "\"consent_category %V;\" in the http block, "
                           "before the server blocks, or map it onto one "
                           "of yours with \"consent_category_alias\"",
                           name, name);
        return NGX_CONF_ERROR;
    }

    *index = n;

    return NGX_CONF_OK;
}


/*
 * Makes the location's content handler one of ours (consent_endpoint,
 * consent_status): a location answers in one way only.
 */

ngx_int_t
ngx_http_consent_set_handler(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_handler_pt handler)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == handler) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" directive is duplicate: one \"%V\" per "
                           "location is enough", &cmd->name, &cmd->name);
        return NGX_ERROR;
    }

    if (clcf->handler != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs a location of its own; this one "
                           "already has a handler, e.g. \"consent_endpoint\", "
                           "\"consent_status\" or \"proxy_pass\"",
                           &cmd->name);
        return NGX_ERROR;
    }

    clcf->handler = handler;

    return NGX_OK;
}



/*
 * consent_banner on | off | $variable, and consent_regime opt-in | opt-out
 * | $variable: a value is checked here; one with variables is evaluated
 * per request (ngx_http_consent_banner_on, ngx_http_consent_regime_of),
 * and what it then gives that is neither value fails closed.
 */

static char *
ngx_http_consent_banner(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_loc_conf_t *lcf = conf;

    if (lcf->banner_set) {
        return "is duplicate: keep one \"consent_banner\" line per block";
    }

    lcf->banner_set = 1;

    return ngx_http_consent_value_conf(cf, &ngx_http_consent_banner_value,
                                       &lcf->banner, &lcf->banner_value);
}


static char *
ngx_http_consent_regime(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_loc_conf_t *lcf = conf;

    if (lcf->regime_set) {
        return "is duplicate: keep one \"consent_regime\" line per block";
    }

    lcf->regime_set = 1;

    return ngx_http_consent_value_conf(cf, &ngx_http_consent_regime_value,
                                       &lcf->regime, &lcf->regime_value);
}


/* one of the values, or a value with variables, compiled */

static char *
ngx_http_consent_value_conf(ngx_conf_t *cf, ngx_http_consent_value_t *desc,
    ngx_uint_t *v, ngx_http_complex_value_t **cv)
{
    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    if (ngx_http_script_variables_count(&value[1]) == 0) {

        if (ngx_http_consent_enum(desc->values, &value[1], v) == NGX_OK) {
            return NGX_CONF_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\"; use %s or a "
                           "variable that gives one of them", &value[1],
                           &value[0], desc->names);
        return NGX_CONF_ERROR;
    }

    *cv = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (*cv == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = *cv;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* what an unknown value of the variables gives */

    *v = desc->fallback;

    return NGX_CONF_OK;
}


ngx_uint_t
ngx_http_consent_banner_on(ngx_http_request_t *r,
    ngx_http_consent_loc_conf_t *lcf)
{
    return ngx_http_consent_value_of(r, &ngx_http_consent_banner_value,
                                     lcf->banner, lcf->banner_value);
}


ngx_uint_t
ngx_http_consent_regime_of(ngx_http_request_t *r,
    ngx_http_consent_loc_conf_t *lcf)
{
    return ngx_http_consent_value_of(r, &ngx_http_consent_regime_value,
                                     lcf->regime, lcf->regime_value);
}


static ngx_uint_t
ngx_http_consent_value_of(ngx_http_request_t *r,
    ngx_http_consent_value_t *desc, ngx_uint_t v,
    ngx_http_complex_value_t *cv)
{
    ngx_str_t  s;

    if (cv == NULL) {
        return v;
    }

    if (ngx_http_complex_value(r, cv, &s) != NGX_OK) {
        return desc->fallback;
    }

    if (ngx_http_consent_enum(desc->values, &s, &v) == NGX_OK) {
        return v;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "%V \"%V\" gave \"%V\", which is not %s: %s; make "
                  "the variable give %s for every request (a map's "
                  "default)",
                  &desc->name, &cv->value, &s, desc->names, desc->fallback_is,
                  desc->names);

    return desc->fallback;
}
