
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_MODULE_H_INCLUDED_
#define _NGX_HTTP_CONSENT_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_consent_cookie.h"
#include "ngx_http_consent_form.h"
#include "ngx_http_consent_slice.h"


/* what an answer varies on: a header filter's steps set these */
#define NGX_HTTP_CONSENT_VARY_COOKIE    0x01
#define NGX_HTTP_CONSENT_VARY_LANGUAGE  0x02

#define NGX_HTTP_CONSENT_SAMESITE_LAX     0
#define NGX_HTTP_CONSENT_SAMESITE_STRICT  1
#define NGX_HTTP_CONSENT_SAMESITE_NONE    2

#define NGX_HTTP_CONSENT_SECURE_AUTO      0
#define NGX_HTTP_CONSENT_SECURE_ON        1
#define NGX_HTTP_CONSENT_SECURE_OFF       2

/* consent_regime: what holds before the reader chooses */
#define NGX_HTTP_CONSENT_REGIME_OPT_IN    0  /* nothing optional */
#define NGX_HTTP_CONSENT_REGIME_OPT_OUT   1  /* all optional, until refused */

/* CNIL: a choice is kept at most 13 months */
#define NGX_HTTP_CONSENT_MAX_AGE_LIMIT    (395 * 86400)


/* state shared between files, each type defined in the file that owns it */
typedef struct ngx_http_consent_cache_s       ngx_http_consent_cache_t;
typedef struct ngx_http_consent_page_s        ngx_http_consent_page_t;
typedef struct ngx_http_consent_gate_tables_s  ngx_http_consent_gate_tables_t;


typedef enum {
    NGX_HTTP_CONSENT_STATE_NONE = 0,
    NGX_HTTP_CONSENT_STATE_VALID,
    NGX_HTTP_CONSENT_STATE_OUTDATED,
    NGX_HTTP_CONSENT_STATE_INVALID
} ngx_http_consent_state_e;


/* consent_status (ngx_http_consent_status.c) */
typedef struct ngx_http_consent_status_s  ngx_http_consent_status_t;


typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  index;       /* bit in the masks below */
    ngx_uint_t                  required;    /* unsigned flag */
    ngx_uint_t                  gpc;         /* refused under Sec-GPC: 1 */
} ngx_http_consent_category_t;


typedef struct {
    ngx_http_consent_key_t      key;         /* key id and HMAC state */
    ngx_str_t                   file;
    ngx_str_t                   ip_key;      /* SHA-256 of a label and the
                                                key: keys the log's IP hash */
} ngx_http_consent_secret_t;


/* the texts of one language, loaded and validated at configuration time */
typedef struct {
    ngx_str_t                   lang;        /* "en", "fr", ... */
    json_t                     *json;        /* the whole validated object */
    u_char                      hash[32];    /* SHA-256 of its canonical form */
    ngx_str_t                   banner_categories;  /* rendered once */
    ngx_str_t                   banner;      /* the banner's fixed parts */
    ngx_array_t                *banner_holes;  /* what goes between them */
} ngx_http_consent_texts_t;


typedef struct {
    ngx_array_t                *secrets;     /* ngx_http_consent_secret_t */
    ngx_array_t                *categories;  /* ngx_http_consent_category_t */
    ngx_array_t                *aliases;     /* consent_category_alias,
                                                ngx_http_consent_catalogue.c */
    ngx_array_t                *cookie_info; /* consent_cookie_info, sorted
                                                by name once parsed,
                                                ngx_http_consent_disclose.c */
    ngx_int_t                   revision;

    ngx_str_t                   cookie_name;
    ngx_str_t                   cookie_domain;
    ngx_str_t                   cookie_path;
    time_t                      cookie_max_age;
    ngx_uint_t                  cookie_samesite;
    ngx_uint_t                  cookie_secure;
    unsigned                    cookie_set:1; /* consent_cookie was given */

    uint64_t                    all_mask;
    uint64_t                    required_mask;
    uint64_t                    gpc_mask;

    /* what a cookie must be: names, keys, revision, built once */
    ngx_http_consent_policy_t   policy;

    /* valid cookies this worker saw lately (ngx_http_consent_request.c) */
    ngx_http_consent_cache_t   *cache;

    /* URL prefix of the first consent_endpoint: where the banner posts */
    ngx_str_t                   endpoint;
    ngx_array_t                *endpoints;   /* ngx_http_consent_loc_conf_t *:
                                                every endpoint's, for the
                                                policy's lists of cookies */

    /* texts (ngx_http_consent_texts.c) */
    ngx_str_t                   texts_dir;
    ngx_str_t                   language;    /* fallback language */
    ngx_array_t                *languages;   /* consent_languages, or NULL:
                                                every language with texts */
    ngx_array_t                *texts;       /* ngx_http_consent_texts_t */
    ngx_http_consent_slice_t   *texts_avail; /* their tags, for
                                                ngx_http_consent_lang_pick */
    ngx_uint_t                  texts_fallback; /* consent_language's */

    /* consent log (ngx_http_consent_log.c), its own type */
    void                       *log;

    /* counters in shared memory, when a consent_status is configured */
    ngx_http_consent_status_t  *status;
} ngx_http_consent_main_conf_t;


/* consent_gate_host and consent_strip_cookie: a category and a pattern */
typedef struct {
    ngx_uint_t                  category;    /* index into categories */
    ngx_str_t                   pattern;     /* "host", "*.host", "_ga_*" */
} ngx_http_consent_rule_t;


/*
 * A cookie's duration as the page says it, in the reader's language: a
 * number of units ("durations" of the texts, ngx_http_consent_durations),
 * the browser's session, or the text as the operator wrote it.
 */
typedef enum {
    NGX_HTTP_CONSENT_DURATION_TEXT = 0,
    NGX_HTTP_CONSENT_DURATION_SESSION,
    NGX_HTTP_CONSENT_DURATION_SECOND,
    NGX_HTTP_CONSENT_DURATION_MINUTE,
    NGX_HTTP_CONSENT_DURATION_HOUR,
    NGX_HTTP_CONSENT_DURATION_DAY,
    NGX_HTTP_CONSENT_DURATION_MONTH,
    NGX_HTTP_CONSENT_DURATION_YEAR
} ngx_http_consent_duration_e;


/* consent_cookie_info: what the preferences page tells of a cookie */
typedef struct {
    ngx_str_t                   name;        /* a name or pattern, as in
                                                consent_strip_cookie */
    ngx_str_t                   purpose;
    ngx_str_t                   duration;    /* as written, or in English */
    ngx_http_consent_duration_e  unit;       /* of duration, as read */
    uint64_t                    count;       /* of units */
    ngx_str_t                   controller;  /* empty: the site itself */
    ngx_str_t                   policy;      /* the controller's policy URL */
    ngx_int_t                   category;    /* category=, or NGX_ERROR */
    ngx_uint_t                  catalogue;   /* "catalogue": trackers.conf's,
                                                never replaces another */
    ngx_uint_t                  builtin;     /* the consent cookie's own,
                                                shown in the reader's
                                                language */
} ngx_http_consent_cookie_info_t;


/* a cookie of a category as disclosed; info is NULL when none is known */
typedef struct {
    ngx_str_t                       *name;
    ngx_http_consent_cookie_info_t  *info;
} ngx_http_consent_disclosure_t;


/* consent_google_mode: a Google consent signal and the category behind it */
typedef struct {
    ngx_str_t                   signal;      /* "ad_storage" */
    ngx_uint_t                  category;
} ngx_http_consent_signal_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_uint_t                  banner;      /* consent_banner on|off */
    ngx_http_complex_value_t   *banner_value; /* consent_banner $variable */
    ngx_uint_t                  regime;      /* consent_regime opt-in|out */
    ngx_http_complex_value_t   *regime_value; /* consent_regime $variable */
    ngx_flag_t                  endpoint;    /* this location is the endpoint */
    ngx_uint_t                  cookie_list; /* of an endpoint: the policy
                                                record's list its
                                                preferences page shows */
    ngx_flag_t                  choices_link; /* a way back, once chosen */

    ngx_array_t                *gate_hosts;      /* ngx_http_consent_rule_t */
    ngx_array_t                *strip_cookies;   /* ngx_http_consent_rule_t */
    ngx_array_t                *google_mode;     /* ngx_http_consent_signal_t */
    size_t                      gate_buffer;
    off_t                       inflate_max; /* consent_inflate_max_size */

    /* gate_hosts and the category names as the gate reads them, built
       once at merge time (ngx_http_consent_filter.c) */
    ngx_http_consent_gate_tables_t *gate_tables;
    ngx_flag_t                  placeholder;     /* consent_placeholder */

    unsigned                    banner_set:1;    /* consent_banner given */
    unsigned                    regime_set:1;    /* consent_regime given */

    ngx_http_complex_value_t   *csp_nonce;
    ngx_str_t                   policy_url;
} ngx_http_consent_loc_conf_t;


/* a reader's choice, as the endpoint records it */
typedef struct {
    ngx_http_consent_action_e   action;
    ngx_http_consent_source_e   source;
    uint64_t                    granted;
    uint64_t                    denied;
    u_char                      id[NGX_HTTP_CONSENT_ID_LEN];
    time_t                      sec;
    ngx_msec_t                  msec;
    ngx_str_t                   lang;
    ngx_uint_t                  regime;      /* under which it was made */
} ngx_http_consent_choice_t;


/* per request; the cookie is parsed once and shared by all parts */
typedef struct {
    ngx_http_consent_state_e    state;
    uint64_t                    granted;     /* effective grants */
    uint64_t                    refused;     /* refused by cookie or GPC */
    u_char                      id[NGX_HTTP_CONSENT_ID_LEN];
    time_t                      iat;
    ngx_uint_t                  revision;
    ngx_str_t                   lang;        /* set by texts, lazily */
    ngx_http_consent_choice_t  *choice;      /* set by a POST */

    ngx_http_consent_page_t    *page;        /* ngx_http_consent_filter.c */

    unsigned                    reissue:1;   /* verified by an older key */
    unsigned                    gpc:1;       /* Sec-GPC: 1 */
    unsigned                    regime:1;    /* this request's regime */
    unsigned                    cookie_regime:1; /* the valid cookie's */
} ngx_http_consent_ctx_t;


/* one "name=value" of a Cookie line, as ngx_http_consent_cookie_pair reads */
typedef struct {
    ngx_str_t                   name;        /* blanks around it trimmed */
    ngx_str_t                   value;       /* trimmed; NULL data: no "=" */
    ngx_str_t                   pair;        /* as written, up to the ";" */
} ngx_http_consent_cookie_pair_t;


/* where ngx_http_consent_header_next is in a list of headers */
typedef struct {
    ngx_list_part_t            *part;
    ngx_uint_t                  i;
} ngx_http_consent_headers_t;


/* ngx_http_consent_module.c */
ngx_int_t ngx_http_consent_category_find(ngx_http_consent_main_conf_t *mcf,
    u_char *name, size_t len);
char *ngx_http_consent_category_arg(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_str_t *name, ngx_uint_t *index);
ngx_int_t ngx_http_consent_set_handler(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_handler_pt handler);
ngx_uint_t ngx_http_consent_banner_on(ngx_http_request_t *r,
    ngx_http_consent_loc_conf_t *lcf);
ngx_uint_t ngx_http_consent_regime_of(ngx_http_request_t *r,
    ngx_http_consent_loc_conf_t *lcf);

/* ngx_http_consent_catalogue.c */
char *ngx_http_consent_category_alias(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_consent_alias_find(ngx_http_consent_main_conf_t *mcf,
    u_char *name, size_t len);

/* ngx_http_consent_request.c */
ngx_int_t ngx_http_consent_request_init(ngx_conf_t *cf);
ngx_int_t ngx_http_consent_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_consent_add_category_variable(ngx_conf_t *cf,
    ngx_http_consent_category_t *category);
ngx_http_consent_ctx_t *ngx_http_consent_get_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_consent_set_cookie(ngx_http_request_t *r,
    ngx_http_consent_choice_t *choice);
ngx_int_t ngx_http_consent_is_secure(ngx_http_request_t *r);
ngx_table_elt_t *ngx_http_consent_header_in(ngx_http_request_t *r,
    char *name, size_t len);
ngx_table_elt_t *ngx_http_consent_header_next(ngx_list_t *list,
    ngx_http_consent_headers_t *it, char *name, size_t len);
ngx_table_elt_t *ngx_http_consent_header_out(ngx_http_request_t *r,
    char *key, u_char *value, size_t len);
ngx_int_t ngx_http_consent_vary(ngx_http_request_t *r, ngx_uint_t vary);
ngx_int_t ngx_http_consent_cookie_lines(ngx_http_request_t *r,
    ngx_int_t (*handler)(ngx_http_request_t *r, ngx_table_elt_t *line,
    void *data), void *data);
ngx_int_t ngx_http_consent_cookie_pair(u_char **pos, u_char *last,
    ngx_http_consent_cookie_pair_t *pair);
ngx_int_t ngx_http_consent_header_in_remove(ngx_http_request_t *r,
    ngx_table_elt_t *h);
ngx_int_t ngx_http_consent_reissue(ngx_http_request_t *r,
    ngx_uint_t *vary);

/* ngx_http_consent_endpoint.c */
char *ngx_http_consent_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_consent_send_buf(ngx_http_request_t *r,
    ngx_uint_t status, char *type, ngx_buf_t *b);

/* ngx_http_consent_filter.c: the module's header and body filters, banner
   insertion and gating */
ngx_int_t ngx_http_consent_filter_init(ngx_conf_t *cf);
ngx_int_t ngx_http_consent_filter_add_variables(ngx_conf_t *cf);
char *ngx_http_consent_filter_merge(ngx_conf_t *cf,
    ngx_http_consent_loc_conf_t *prev, ngx_http_consent_loc_conf_t *conf);
char *ngx_http_consent_gate_host(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_consent_google_mode(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_consent_headers.c: Set-Cookie and Cookie enforcement */
ngx_int_t ngx_http_consent_strip_request(ngx_http_request_t *r);
char *ngx_http_consent_strip_cookie(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_consent_strip_set_cookie(ngx_http_request_t *r,
    ngx_uint_t *vary);
ngx_int_t ngx_http_consent_delete_cookies(ngx_http_request_t *r,
    uint64_t refused);

/* ngx_http_consent_placeholder.c: consent_placeholder */
#define NGX_HTTP_CONSENT_EMBED_PLACEHOLDER  0  /* in the place of an embed */
#define NGX_HTTP_CONSENT_EMBED_ANCHOR       1  /* before one that stays */
#define NGX_HTTP_CONSENT_EMBED_AFTER        2  /* after a player emptied */

ngx_int_t ngx_http_consent_placeholder(ngx_http_request_t *r, ngx_uint_t n,
    ngx_uint_t category, uint64_t granted, ngx_uint_t what,
    const u_char *host, size_t host_len, ngx_str_t *html);

/* ngx_http_consent_disclose.c: consent_cookie_info */
char *ngx_http_consent_cookie_info(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_consent_disclose_init(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf);
ngx_array_t *ngx_http_consent_disclose(ngx_pool_t *pool,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_loc_conf_t *lcf,
    ngx_http_consent_category_t *c);
json_t *ngx_http_consent_disclose_json(ngx_pool_t *pool,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_loc_conf_t *lcf,
    ngx_http_consent_category_t *c);

/* ngx_http_consent_texts.c: languages and texts */
char *ngx_http_consent_texts(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_consent_languages(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_consent_texts_init(ngx_conf_t *cf);
ngx_http_consent_texts_t *ngx_http_consent_texts_pick(ngx_http_request_t *r);
void ngx_http_consent_texts_prefer(ngx_http_request_t *r, u_char *lang,
    size_t len);

extern const char  *ngx_http_consent_durations[];

/* ngx_http_consent_render.c: banner and preferences page */
ngx_int_t ngx_http_consent_render_init_conf(ngx_conf_t *cf);
void ngx_http_consent_render_return(ngx_http_request_t *r, ngx_str_t *ret);
ngx_int_t ngx_http_consent_render_banner(ngx_http_request_t *r,
    ngx_chain_t **out);
ngx_int_t ngx_http_consent_render_page(ngx_http_request_t *r,
    ngx_chain_t **out);

/* ngx_http_consent_assets.c: consent.js and consent.css */
ngx_int_t ngx_http_consent_send_asset(ngx_http_request_t *r,
    ngx_str_t *name);

/* ngx_http_consent_status.c: counters for the operator */
char *ngx_http_consent_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_consent_status_count(ngx_http_consent_main_conf_t *mcf,
    ngx_http_consent_choice_t *choice);

/* ngx_http_consent_log.c: the consent log */
char *ngx_http_consent_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_consent_log_init(ngx_conf_t *cf);
ngx_int_t ngx_http_consent_log_write(ngx_http_request_t *r,
    ngx_http_consent_choice_t *choice);


extern ngx_module_t  ngx_http_consent_module;


#endif /* _NGX_HTTP_CONSENT_MODULE_H_INCLUDED_ */
