
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * Cookies of refused categories, on headers: removed from the upstream's
 * Set-Cookie, removed from the Cookie header passed upstream, and deleted
 * in the browser (Max-Age=0) when a reader refuses or withdraws, which a
 * JavaScript tool cannot do for HttpOnly cookies.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"


/* a cookie set for a parent domain is deleted on at most this many */
#define NGX_HTTP_CONSENT_DELETE_DOMAINS  4


static ngx_int_t ngx_http_consent_strip_line(ngx_http_request_t *r,
    ngx_table_elt_t *line, void *data);
static ngx_int_t ngx_http_consent_match(u_char *pattern, size_t plen,
    u_char *name, size_t len);
static ngx_int_t ngx_http_consent_refused_name(ngx_array_t *rules,
    uint64_t granted, u_char *name, size_t len);
static ngx_int_t ngx_http_consent_delete_line(ngx_http_request_t *r,
    ngx_table_elt_t *line, void *data);
static ngx_int_t ngx_http_consent_delete(ngx_http_request_t *r, u_char *name,
    size_t len);
static ngx_int_t ngx_http_consent_push_set_cookie(ngx_http_request_t *r,
    u_char *name, size_t len, u_char *domain, size_t dlen);


char *
ngx_http_consent_strip_cookie(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_loc_conf_t *lcf = conf;

    u_char                        *p;
    ngx_str_t                     *value;
    ngx_uint_t                     i, category;
    ngx_http_consent_rule_t       *rule;
    ngx_http_consent_category_t   *c;
    ngx_http_consent_main_conf_t  *mcf;

    value = cf->args->elts;
    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);

    if (ngx_http_consent_category_arg(cf, mcf, &value[1], &category)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    c = mcf->categories->elts;

    if (c[category].required) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "category \"%V\" is required and never refused: "
                           "its cookies would never be stripped; name an "
                           "optional category", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (lcf->strip_cookies == NULL) {
        lcf->strip_cookies = ngx_array_create(cf->pool, 4,
                                              sizeof(ngx_http_consent_rule_t));
        if (lcf->strip_cookies == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    for (i = 2; i < cf->args->nelts; i++) {

        for (p = value[i].data; p < value[i].data + value[i].len; p++) {
            if (*p <= ' ' || *p >= 127
                || ngx_strchr("()<>@,;:\\\"/[]?={}", *p) != NULL)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid cookie name pattern \"%V\" in "
                                   "\"consent_strip_cookie\"; use a cookie "
                                   "name, with \"*\" for any characters, "
                                   "e.g. \"_ga_*\"", &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        if (value[i].len == 1 && value[i].data[0] == '*') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"*\" in \"consent_strip_cookie\" would strip "
                               "every cookie, the consent cookie too; name "
                               "the cookies of the category");
            return NGX_CONF_ERROR;
        }

        rule = ngx_array_push(lcf->strip_cookies);
        if (rule == NULL) {
            return NGX_CONF_ERROR;
        }

        rule->category = category;
        rule->pattern = value[i];
    }

    return NGX_CONF_OK;
}


/*
 * Set-Cookie of a category the reader has not granted never leaves: a step
 * of the header filter (ngx_http_consent_filter.c); *vary is set when the
 * answer depends on the reader's cookie.
 */

ngx_int_t
ngx_http_consent_strip_set_cookie(ngx_http_request_t *r, ngx_uint_t *vary)
{
    u_char                       *p, *last;
    ngx_table_elt_t              *h;
    ngx_http_consent_ctx_t       *ctx;
    ngx_http_consent_headers_t    it;
    ngx_http_consent_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);

    /* the endpoint's own answers carry the deletions: they stay */

    if (!lcf->enable || lcf->strip_cookies == NULL || lcf->endpoint) {
        return NGX_OK;
    }

    ctx = ngx_http_consent_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&it, sizeof(ngx_http_consent_headers_t));

    while ((h = ngx_http_consent_header_next(&r->headers_out.headers, &it,
                                             "Set-Cookie",
                                             sizeof("Set-Cookie") - 1))
           != NULL)
    {
        p = h->value.data;
        last = p + h->value.len;

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        last = ngx_strlchr(p, last, '=');
        if (last == NULL) {
            continue;
        }

        while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
            last--;
        }

        /* granted or not, the answer now depends on the reader's cookie */

        if (ngx_http_consent_refused_name(lcf->strip_cookies, 0, p, last - p))
        {
            *vary |= NGX_HTTP_CONSENT_VARY_COOKIE;
        }

        if (ngx_http_consent_refused_name(lcf->strip_cookies, ctx->granted,
                                          p, last - p))
        {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "consent strips Set-Cookie \"%V\"", &h->value);

            h->hash = 0;
        }
    }

    return NGX_OK;
}


/*
 * The Cookie header passed upstream loses the cookies not granted: a
 * precontent phase handler (ngx_http_consent_filter_init).
 */

ngx_int_t
ngx_http_consent_strip_request(ngx_http_request_t *r)
{
    ngx_http_consent_ctx_t       *ctx;
    ngx_http_consent_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);

    /* the endpoint reads the cookies it is to delete */

    if (!lcf->enable || lcf->strip_cookies == NULL || lcf->endpoint
        || r != r->main)
    {
        return NGX_DECLINED;
    }

    ctx = ngx_http_consent_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_consent_cookie_lines(r, ngx_http_consent_strip_line,
                                      &ctx->granted)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


/*
 * Rewrites one Cookie line in place: it only ever gets shorter.  A line
 * left empty is removed, so that the upstream gets no empty "Cookie:".
 */

static ngx_int_t
ngx_http_consent_strip_line(ngx_http_request_t *r, ngx_table_elt_t *line,
    void *data)
{
    uint64_t granted = *(uint64_t *) data;

    u_char                          *p, *last, *d;
    ngx_http_consent_cookie_pair_t   pair;
    ngx_http_consent_loc_conf_t     *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);

    p = line->value.data;
    last = p + line->value.len;
    d = p;

    while (ngx_http_consent_cookie_pair(&p, last, &pair) == NGX_OK) {

        if (ngx_http_consent_refused_name(lcf->strip_cookies, granted,
                                          pair.name.data, pair.name.len))
        {
            continue;
        }

        if (d != line->value.data) {
            *d++ = ';';

            /* "a=1;b=2", written without a blank, has no room for one */

            if (d < pair.pair.data) {
                *d++ = ' ';
            }
        }

        d = ngx_movemem(d, pair.pair.data, pair.pair.len);
    }

    if ((size_t) (d - line->value.data) == line->value.len) {
        return NGX_OK;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "consent strips cookies: \"%*s\"",
                   d - line->value.data, line->value.data);

    line->value.len = d - line->value.data;

    if (line->value.len == 0
        && ngx_http_consent_header_in_remove(r, line) == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_refused_name(ngx_array_t *rules, uint64_t granted,
    u_char *name, size_t len)
{
    ngx_uint_t                i;
    ngx_http_consent_rule_t  *rule;

    rule = rules->elts;

    for (i = 0; i < rules->nelts; i++) {
        if (!(granted & ((uint64_t) 1 << rule[i].category))
            && ngx_http_consent_match(rule[i].pattern.data,
                                      rule[i].pattern.len, name, len))
        {
            return 1;
        }
    }

    return 0;
}


/* a pattern with "*" for any run of characters, matched case-sensitively */

static ngx_int_t
ngx_http_consent_match(u_char *pattern, size_t plen, u_char *name, size_t len)
{
    u_char  *p, *pl, *n, *nl, *star, *back;

    p = pattern;
    pl = pattern + plen;
    n = name;
    nl = name + len;
    star = NULL;
    back = NULL;

    while (n < nl) {
        if (p < pl && *p == '*') {
            star = ++p;
            back = n;
            continue;
        }

        if (p < pl && *p == *n) {
            p++;
            n++;
            continue;
        }

        if (star == NULL) {
            return 0;
        }

        p = star;
        n = ++back;
    }

    while (p < pl && *p == '*') {
        p++;
    }

    return p == pl;
}


/*
 * On a refusal or withdrawal, every cookie of a refused category that the
 * browser sent is deleted; a tracker's cookie is often set on a parent
 * domain, so the deletion is sent for the host and for its parents.
 */

ngx_int_t
ngx_http_consent_delete_cookies(ngx_http_request_t *r, uint64_t refused)
{
    ngx_http_consent_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);

    if (lcf->strip_cookies == NULL) {
        return NGX_OK;
    }

    return ngx_http_consent_cookie_lines(r, ngx_http_consent_delete_line,
                                         &refused);
}


static ngx_int_t
ngx_http_consent_delete_line(ngx_http_request_t *r, ngx_table_elt_t *line,
    void *data)
{
    uint64_t refused = *(uint64_t *) data;

    u_char                          *p;
    ngx_http_consent_cookie_pair_t   pair;
    ngx_http_consent_loc_conf_t     *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);

    p = line->value.data;

    while (ngx_http_consent_cookie_pair(&p, line->value.data
                                            + line->value.len, &pair)
           == NGX_OK)
    {
        if (pair.value.data != NULL && pair.name.len
            && ngx_http_consent_refused_name(lcf->strip_cookies, ~refused,
                                             pair.name.data, pair.name.len)
            && ngx_http_consent_delete(r, pair.name.data, pair.name.len)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_delete(ngx_http_request_t *r, u_char *name, size_t len)
{
    u_char      *host, *last, *dot;
    ngx_uint_t   n;

    if (ngx_http_consent_push_set_cookie(r, name, len, NULL, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (r->headers_in.server.len == 0) {
        return NGX_OK;
    }

    host = r->headers_in.server.data;
    last = host + r->headers_in.server.len;

    /* an address has no parent domain */

    if (ngx_inet_addr(host, last - host) != INADDR_NONE
        || ngx_strlchr(host, last, ':') != NULL)
    {
        return NGX_OK;
    }

    /* www.news.example.com, news.example.com, example.com; not com */

    for (n = 0; n < NGX_HTTP_CONSENT_DELETE_DOMAINS; n++) {
        dot = ngx_strlchr(host, last, '.');

        if (dot == NULL) {
            break;
        }

        if (ngx_http_consent_push_set_cookie(r, name, len, host, last - host)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        host = dot + 1;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_push_set_cookie(ngx_http_request_t *r, u_char *name,
    size_t len, u_char *domain, size_t dlen)
{
    u_char           *p;
    size_t            size;
    ngx_table_elt_t  *h;

    size = len + sizeof("=; Max-Age=0; Path=/; Domain=") - 1 + dlen
           + sizeof("; Expires=Thu, 01 Jan 1970 00:00:01 GMT") - 1;

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    h = ngx_http_consent_header_out(r, "Set-Cookie", p, 0);
    if (h == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(p, name, len);
    p = ngx_cpymem(p, "=; Max-Age=0; Path=/",
                   sizeof("=; Max-Age=0; Path=/") - 1);

    if (dlen) {
        p = ngx_cpymem(p, "; Domain=", sizeof("; Domain=") - 1);
        p = ngx_cpymem(p, domain, dlen);
    }

    p = ngx_cpymem(p, "; Expires=Thu, 01 Jan 1970 00:00:01 GMT",
                   sizeof("; Expires=Thu, 01 Jan 1970 00:00:01 GMT") - 1);

    h->value.len = p - h->value.data;

    return NGX_OK;
}
