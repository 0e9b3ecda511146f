
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>

#include "ngx_http_consent_module.h"


/* an id as hex, the form $consent_id, the log and the auditor share */
#define NGX_HTTP_CONSENT_ID_HEX_LEN  (2 * NGX_HTTP_CONSENT_ID_LEN)

/* slots of the cache of valid cookies, and the longest value it keeps */
#define NGX_HTTP_CONSENT_CACHE_SLOTS  32
#define NGX_HTTP_CONSENT_CACHE_VALUE  320


/*
 * A reader sends the same cookie with every request: the verdict of a valid
 * one is kept, per worker, so that the next request is a constant-time
 * comparison instead of a parse and an HMAC. Only values that verified are
 * kept, under the configuration that verified them; expiry is checked on
 * every hit.
 */

struct ngx_http_consent_cache_s {
    size_t                          len;
    u_char                          value[NGX_HTTP_CONSENT_CACHE_VALUE];
    u_char                          id[NGX_HTTP_CONSENT_ID_LEN];
    time_t                          iat;
    ngx_uint_t                      revision;
    uint64_t                        granted;
    uint64_t                        refused;
    ngx_uint_t                      reissue;
    ngx_uint_t                      regime;
};


static ngx_int_t ngx_http_consent_scan_header(ngx_http_request_t *r,
    ngx_table_elt_t *header, void *data);
static ngx_http_consent_state_e ngx_http_consent_check(ngx_http_request_t *r,
    ngx_http_consent_main_conf_t *mcf, u_char *value, size_t len,
    ngx_http_consent_ctx_t *ctx);
static ngx_http_consent_cache_t *ngx_http_consent_cache_slot(
    ngx_http_consent_main_conf_t *mcf, u_char *value, size_t len);
static ngx_uint_t ngx_http_consent_gpc(ngx_http_request_t *r);
static ngx_uint_t ngx_http_consent_list_has(u_char *p, u_char *last,
    const char *name, size_t len);
static void ngx_http_consent_header_in_forget(ngx_http_request_t *r,
    ngx_table_elt_t *h);
static void ngx_http_consent_var(ngx_http_variable_value_t *v, u_char *data,
    size_t len);
static ngx_int_t ngx_http_consent_state_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_consent_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_consent_categories_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_consent_gpc_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_consent_category_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_consent_regime_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_consent_states[] = {
    ngx_string("none"),
    ngx_string("valid"),
    ngx_string("outdated"),
    ngx_string("invalid")
};


static ngx_str_t  ngx_http_consent_regime_names[] = {
    ngx_string("opt-in"),
    ngx_string("opt-out")
};


static ngx_str_t  ngx_http_consent_samesite_values[] = {
    ngx_string("Lax"),
    ngx_string("Strict"),
    ngx_string("None")
};


static ngx_http_variable_t  ngx_http_consent_vars[] = {

    { ngx_string("consent_state"), NULL,
      ngx_http_consent_state_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("consent_id"), NULL,
      ngx_http_consent_id_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("consent_categories"), NULL,
      ngx_http_consent_categories_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("consent_gpc"), NULL,
      ngx_http_consent_gpc_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("consent_regime"), NULL,
      ngx_http_consent_regime_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_consent_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_consent_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_consent_add_category_variable(ngx_conf_t *cf,
    ngx_http_consent_category_t *category)
{
    ngx_str_t             name;
    ngx_http_variable_t  *var;

    name.len = sizeof("consent_") - 1 + category->name.len;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(name.data, "consent_", sizeof("consent_") - 1),
               category->name.data, category->name.len);

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_consent_category_variable;
    var->data = category->index;

    return NGX_OK;
}


ngx_int_t
ngx_http_consent_request_init(ngx_conf_t *cf)
{
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);

    mcf->cache = ngx_pcalloc(cf->pool, NGX_HTTP_CONSENT_CACHE_SLOTS
                                        * sizeof(ngx_http_consent_cache_t));
    if (mcf->cache == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Without a valid cookie, the regime decides: opt-in grants the required
 * categories only (Sec-GPC: 1 refuses those marked "gpc"); opt-out grants
 * every category but those refused, by Sec-GPC: 1 (every optional one: a
 * refusal of sale and sharing), or by an outdated cookie, whose refusals
 * still stand.  A valid cookie is the reader's choice and wins.
 */

ngx_http_consent_ctx_t *
ngx_http_consent_get_ctx(ngx_http_request_t *r)
{
    uint64_t                       optional;
    ngx_http_consent_ctx_t        *ctx;
    ngx_http_consent_loc_conf_t   *lcf;
    ngx_http_consent_main_conf_t  *mcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_consent_module);
    if (ctx != NULL) {
        return ctx;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_consent_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_consent_module);

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);

    /*
     * set by ngx_pcalloc():
     *
     *     ctx->state = NGX_HTTP_CONSENT_STATE_NONE;
     *     ctx->granted = 0;
     *     ctx->refused = 0;
     *     ctx->reissue = 0;
     *     ctx->cookie_regime = NGX_HTTP_CONSENT_REGIME_OPT_IN;
     */

    ctx->gpc = ngx_http_consent_gpc(r);
    ctx->regime = ngx_http_consent_regime_of(r, lcf);

    if (mcf->secrets != NULL) {
        (void) ngx_http_consent_cookie_lines(r, ngx_http_consent_scan_header,
                                             ctx);
    }

    if (ctx->state != NGX_HTTP_CONSENT_STATE_VALID
        && ctx->regime == NGX_HTTP_CONSENT_REGIME_OPT_OUT)
    {
        optional = mcf->all_mask & ~mcf->required_mask;

        if (ctx->state != NGX_HTTP_CONSENT_STATE_OUTDATED) {
            ctx->refused = 0;
        }

        if (ctx->gpc) {
            ctx->refused |= optional;
        }

        ctx->refused &= optional;
        ctx->granted = mcf->all_mask & ~ctx->refused;
        ctx->reissue = 0;
        ctx->cookie_regime = NGX_HTTP_CONSENT_REGIME_OPT_IN;

    } else if (ctx->state != NGX_HTTP_CONSENT_STATE_VALID) {
        ctx->granted = mcf->required_mask;
        ctx->refused = ctx->gpc ? mcf->gpc_mask : 0;
        ctx->reissue = 0;
        ctx->cookie_regime = NGX_HTTP_CONSENT_REGIME_OPT_IN;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "consent state: %V granted:%uL gpc:%ui regime:%V",
                   &ngx_http_consent_states[ctx->state],
                   (uint64_t) ctx->granted, (ngx_uint_t) ctx->gpc,
                   &ngx_http_consent_regime_names[ctx->regime]);

    return ctx;
}


/*
 * One Cookie header may hold our cookie more than once (a host cookie and
 * a domain cookie, say); the best state found wins: valid, then outdated,
 * then invalid.
 */

static ngx_int_t
ngx_http_consent_scan_header(ngx_http_request_t *r, ngx_table_elt_t *header,
    void *data)
{
    ngx_http_consent_ctx_t  *ctx = data;

    u_char                          *p, *value, *end;
    ngx_http_consent_ctx_t           try;
    ngx_http_consent_state_e         state;
    ngx_http_consent_cookie_pair_t   pair;
    ngx_http_consent_main_conf_t    *mcf;

    static ngx_uint_t  rank[] = { 0, 3, 2, 1 };

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);

    p = header->value.data;

    while (ngx_http_consent_cookie_pair(&p, header->value.data
                                            + header->value.len, &pair)
           == NGX_OK)
    {
        if (pair.value.data == NULL
            || pair.name.len != mcf->cookie_name.len
            || ngx_strncmp(pair.name.data, mcf->cookie_name.data,
                           pair.name.len) != 0)
        {
            continue;
        }

        value = pair.value.data;
        end = value + pair.value.len;

        if (end - value >= 2 && value[0] == '"' && end[-1] == '"') {
            value++;
            end--;
        }

        try.reissue = 0;

        state = ngx_http_consent_check(r, mcf, value, end - value, &try);

        if (rank[state] > rank[ctx->state]) {
            ctx->state = state;

            if (state != NGX_HTTP_CONSENT_STATE_INVALID) {
                ngx_memcpy(ctx->id, try.id, NGX_HTTP_CONSENT_ID_LEN);
                ctx->iat = try.iat;
                ctx->revision = try.revision;
                ctx->granted = try.granted;
                ctx->refused = try.refused;
                ctx->reissue = try.reissue;
                ctx->cookie_regime = try.cookie_regime;
            }
        }
    }

    return NGX_OK;
}


static ngx_http_consent_state_e
ngx_http_consent_check(ngx_http_request_t *r,
    ngx_http_consent_main_conf_t *mcf, u_char *value, size_t len,
    ngx_http_consent_ctx_t *ctx)
{
    time_t                       now;
    ngx_http_consent_cache_t    *c;
    ngx_http_consent_verdict_t   v;

    now = ngx_time();
    c = ngx_http_consent_cache_slot(mcf, value, len);

    if (c != NULL && c->len == len
        && CRYPTO_memcmp(c->value, value, len) == 0
        && now - c->iat <= mcf->cookie_max_age)
    {
        ngx_memcpy(ctx->id, c->id, NGX_HTTP_CONSENT_ID_LEN);
        ctx->iat = c->iat;
        ctx->revision = c->revision;
        ctx->granted = c->granted;
        ctx->refused = c->refused;
        ctx->reissue = c->reissue;
        ctx->cookie_regime = c->regime;

        return NGX_HTTP_CONSENT_STATE_VALID;
    }

    (void) ngx_http_consent_cookie_check(value, len, &mcf->policy, now, &v);

    if (v.state == NGX_HTTP_CONSENT_CHECK_INVALID) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "consent cookie %s", v.reason);
        return NGX_HTTP_CONSENT_STATE_INVALID;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "consent cookie %s",
                   v.reason != NULL ? v.reason : "is valid");

    ngx_memcpy(ctx->id, v.cookie.id, NGX_HTTP_CONSENT_ID_LEN);
    ctx->iat = (time_t) v.cookie.iat;
    ctx->revision = (ngx_uint_t) v.cookie.revision;
    ctx->reissue = (v.key != 0);
    ctx->granted = v.granted;
    ctx->refused = v.refused;
    ctx->cookie_regime = v.cookie.opt_out ? NGX_HTTP_CONSENT_REGIME_OPT_OUT
                                          : NGX_HTTP_CONSENT_REGIME_OPT_IN;

    if (c != NULL && v.state == NGX_HTTP_CONSENT_CHECK_VALID) {
        c->len = len;
        ngx_memcpy(c->value, value, len);
        ngx_memcpy(c->id, ctx->id, NGX_HTTP_CONSENT_ID_LEN);
        c->iat = ctx->iat;
        c->revision = ctx->revision;
        c->granted = ctx->granted;
        c->refused = ctx->refused;
        c->reissue = ctx->reissue;
        c->regime = ctx->cookie_regime;
    }

    return (ngx_http_consent_state_e) v.state;
}


/* the slot a value would have: its last characters are MAC, hence random */

static ngx_http_consent_cache_t *
ngx_http_consent_cache_slot(ngx_http_consent_main_conf_t *mcf, u_char *value,
    size_t len)
{
    ngx_uint_t  n;

    if (mcf->cache == NULL || len < 2 || len > NGX_HTTP_CONSENT_CACHE_VALUE) {
        return NULL;
    }

    n = (ngx_uint_t) value[len - 1] * 31 + value[len - 2];

    return mcf->cache + n % NGX_HTTP_CONSENT_CACHE_SLOTS;
}


static ngx_uint_t
ngx_http_consent_gpc(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    h = ngx_http_consent_header_in(r, "Sec-GPC", sizeof("Sec-GPC") - 1);

    return h != NULL && h->value.len == 1 && h->value.data[0] == '1';
}


/* the first request header of a name that nginx keeps no field for */

ngx_table_elt_t *
ngx_http_consent_header_in(ngx_http_request_t *r, char *name, size_t len)
{
    ngx_http_consent_headers_t  it;

    ngx_memzero(&it, sizeof(ngx_http_consent_headers_t));

    return ngx_http_consent_header_next(&r->headers_in.headers, &it, name,
                                        len);
}


/*
 * The next header of a name in a list (request or answer), removed ones
 * (hash 0) skipped: the one loop over nginx's lists of headers.  A zeroed
 * iterator starts at the beginning.
 */

ngx_table_elt_t *
ngx_http_consent_header_next(ngx_list_t *list,
    ngx_http_consent_headers_t *it, char *name, size_t len)
{
    ngx_table_elt_t  *h;

    if (it->part == NULL) {
        it->part = &list->part;
        it->i = 0;
    }

    for ( ;; ) {

        while (it->i >= it->part->nelts) {
            if (it->part->next == NULL) {
                return NULL;
            }

            it->part = it->part->next;
            it->i = 0;
        }

        h = (ngx_table_elt_t *) it->part->elts + it->i++;

        if (h->hash != 0 && h->key.len == len
            && ngx_strncasecmp(h->key.data, (u_char *) name, len) == 0)
        {
            return h;
        }
    }
}


/* a header added to the answer; the value is not copied */

ngx_table_elt_t *
ngx_http_consent_header_out(ngx_http_request_t *r, char *key, u_char *value,
    size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key.len = ngx_strlen(key);
    h->key.data = (u_char *) key;
    h->value.len = len;
    h->value.data = value;

    return h;
}


/*
 * An answer whose bytes depend on the reader's consent must not be given by
 * a shared cache to another reader: it varies on Cookie, and, where the
 * banner's language may come from Accept-Language, on that too; each once,
 * in one line for those no Vary line names yet.
 */

ngx_int_t
ngx_http_consent_vary(ngx_http_request_t *r, ngx_uint_t vary)
{
    u_char                      *p, *last;
    ngx_str_t                    value;
    ngx_table_elt_t             *h;
    ngx_http_consent_headers_t   it;

    ngx_memzero(&it, sizeof(ngx_http_consent_headers_t));

    while ((h = ngx_http_consent_header_next(&r->headers_out.headers, &it,
                                             "Vary", 4))
           != NULL)
    {
        p = h->value.data;
        last = p + h->value.len;

        if (ngx_strlchr(p, last, '*') != NULL) {
            return NGX_OK;
        }

        if (ngx_http_consent_list_has(p, last, "cookie",
                                      sizeof("cookie") - 1))
        {
            vary &= ~NGX_HTTP_CONSENT_VARY_COOKIE;
        }

        if (ngx_http_consent_list_has(p, last, "accept-language",
                                      sizeof("accept-language") - 1))
        {
            vary &= ~NGX_HTTP_CONSENT_VARY_LANGUAGE;
        }
    }

    switch (vary) {

    case 0:
        return NGX_OK;

    case NGX_HTTP_CONSENT_VARY_COOKIE:
        ngx_str_set(&value, "Cookie");
        break;

    case NGX_HTTP_CONSENT_VARY_LANGUAGE:
        ngx_str_set(&value, "Accept-Language");
        break;

    default:
        ngx_str_set(&value, "Cookie, Accept-Language");
        break;
    }

    h = ngx_http_consent_header_out(r, "Vary", value.data, value.len);

    return h != NULL ? NGX_OK : NGX_ERROR;
}


/* does a comma-separated list of tokens name this one, in any case? */

static ngx_uint_t
ngx_http_consent_list_has(u_char *p, u_char *last, const char *name,
    size_t len)
{
    u_char  *start;

    while (p < last) {

        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < last && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        if ((size_t) (p - start) == len
            && ngx_strncasecmp(start, (u_char *) name, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Calls the handler for every Cookie line of the request: nginx 1.23 keeps
 * them in a linked list, earlier versions in an array.  The handler may
 * remove its line (ngx_http_consent_header_in_remove).
 */

ngx_int_t
ngx_http_consent_cookie_lines(ngx_http_request_t *r,
    ngx_int_t (*handler)(ngx_http_request_t *r, ngx_table_elt_t *line,
    void *data), void *data)
{
#if (nginx_version >= 1023000)
    ngx_table_elt_t   *h, *next;

    for (h = r->headers_in.cookie; h; h = next) {
        next = h->next;

        if (handler(r, h, data) != NGX_OK) {
            return NGX_ERROR;
        }
    }
#else
    ngx_uint_t         i, n;
    ngx_table_elt_t  **h;

    h = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; /* void */) {
        n = r->headers_in.cookies.nelts;

        if (handler(r, h[i], data) != NGX_OK) {
            return NGX_ERROR;
        }

        /* a line removed moves the next one to i */

        if (r->headers_in.cookies.nelts == n) {
            i++;
        }
    }
#endif

    return NGX_OK;
}


/*
 * The one reader of Cookie lines: the next "name=value" from *pos, skipping
 * empty pairs; NGX_DONE at the end of the line.  A pair without "=" comes
 * with a NULL value: the stripping drops it by name, the others skip it.
 */

ngx_int_t
ngx_http_consent_cookie_pair(u_char **pos, u_char *last,
    ngx_http_consent_cookie_pair_t *pair)
{
    u_char  *p, *end, *eq;

    p = *pos;

    while (p < last && (*p == ' ' || *p == '\t' || *p == ';')) {
        p++;
    }

    if (p == last) {
        *pos = p;
        return NGX_DONE;
    }

    pair->pair.data = p;

    while (p < last && *p != ';') {
        p++;
    }

    pair->pair.len = p - pair->pair.data;
    *pos = p;

    pair->name.data = pair->pair.data;

    eq = ngx_strlchr(pair->pair.data, p, '=');
    end = (eq != NULL) ? eq : p;

    while (end > pair->name.data && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    pair->name.len = end - pair->name.data;

    if (eq == NULL) {
        pair->value.data = NULL;
        pair->value.len = 0;
        return NGX_OK;
    }

    end = p;

    for (eq++; eq < end && (*eq == ' ' || *eq == '\t'); eq++) { /* void */ }

    while (end > eq && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    pair->value.data = eq;
    pair->value.len = end - eq;

    return NGX_OK;
}


/*
 * A request header taken out of the list that nginx passes upstream, so
 * that no empty "Cookie:" or "Accept-Encoding:" is sent.  No element moves
 * (nginx keeps pointers to them): the list part is split around it, as
 * headers-more does.  Two rules keep the list sound for nginx's loops and
 * for ngx_list_push(): no part but the first is ever empty, and the last
 * part always has room for nalloc elements from its start, so a split of
 * the last part lowers nalloc by what lies before its rest.
 */

ngx_int_t
ngx_http_consent_header_in_remove(ngx_http_request_t *r, ngx_table_elt_t *h)
{
    u_char           *elts;
    ngx_uint_t        i, n;
    ngx_list_t       *list;
    ngx_list_part_t  *part, *prev, *rest;

    list = &r->headers_in.headers;
    prev = NULL;

    for (part = &list->part; part; prev = part, part = part->next) {
        elts = part->elts;

        if ((u_char *) h >= elts
            && (u_char *) h < elts + part->nelts * list->size)
        {
            break;
        }
    }

    if (part == NULL) {
        return NGX_DECLINED;
    }

    i = ((u_char *) h - elts) / list->size;
    n = part->nelts;

    if (i + 1 < n) {
        rest = ngx_palloc(r->pool, sizeof(ngx_list_part_t));
        if (rest == NULL) {
            return NGX_ERROR;
        }

        rest->elts = elts + (i + 1) * list->size;
        rest->nelts = n - i - 1;
        rest->next = part->next;
        part->next = rest;

        if (list->last == part) {
            list->last = rest;
            list->nalloc -= i + 1;
        }
    }

    part->nelts = i;

    if (i == 0 && prev != NULL) {

        /* an empty part goes out of the chain */

        prev->next = part->next;

        if (list->last == part) {
            list->last = prev;
            list->nalloc = prev->nelts ? prev->nelts : 1;
        }
    }

    ngx_http_consent_header_in_forget(r, h);

    h->hash = 0;

    return NGX_OK;
}


/* nginx's own pointers to a removed header: the Cookie lines, the encoding */

static void
ngx_http_consent_header_in_forget(ngx_http_request_t *r, ngx_table_elt_t *h)
{
#if (nginx_version >= 1023000)
    ngx_table_elt_t   **pp;

    for (pp = &r->headers_in.cookie; *pp; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    }
#else
    ngx_uint_t          i;
    ngx_table_elt_t   **c;

    c = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        if (c[i] == h) {
            ngx_memmove(&c[i], &c[i + 1], (r->headers_in.cookies.nelts - i - 1)
                                          * sizeof(ngx_table_elt_t *));
            r->headers_in.cookies.nelts--;
            break;
        }
    }
#endif

#if (NGX_HTTP_GZIP || NGX_HTTP_HEADERS)
    if (r->headers_in.accept_encoding == h) {
        r->headers_in.accept_encoding = NULL;
    }
#endif
}


ngx_int_t
ngx_http_consent_is_secure(ngx_http_request_t *r)
{
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);

    switch (mcf->cookie_secure) {

    case NGX_HTTP_CONSENT_SECURE_ON:
        return 1;

    case NGX_HTTP_CONSENT_SECURE_OFF:
        return 0;

    default:
#if (NGX_HTTP_SSL)
        return r->connection->ssl != NULL;
#else
        return 0;
#endif
    }
}


ngx_int_t
ngx_http_consent_set_cookie(ngx_http_request_t *r,
    ngx_http_consent_choice_t *choice)
{
    u_char                        *p;
    long                           n;
    time_t                         age;
    size_t                         len;
    ngx_uint_t                     i;
    ngx_table_elt_t               *set_cookie;
    ngx_http_consent_cookie_t      cookie;
    const ngx_http_consent_key_t  *key;
    ngx_http_consent_category_t   *c;
    ngx_http_consent_main_conf_t  *mcf;
    u_char                         value[NGX_HTTP_CONSENT_COOKIE_MAX];

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    key = &mcf->policy.keys[0];
    c = mcf->categories->elts;

    ngx_memzero(&cookie, sizeof(ngx_http_consent_cookie_t));

    ngx_memcpy(cookie.id, choice->id, NGX_HTTP_CONSENT_ID_LEN);
    cookie.iat = choice->sec;
    cookie.revision = mcf->revision;
    cookie.opt_out = (choice->regime == NGX_HTTP_CONSENT_REGIME_OPT_OUT);
    ngx_memcpy(cookie.kid, key->kid, NGX_HTTP_CONSENT_KID_LEN);

    for (i = 0; i < mcf->categories->nelts; i++) {
        if (choice->granted & ((uint64_t) 1 << i)) {
            cookie.granted[cookie.ngranted].data = c[i].name.data;
            cookie.granted[cookie.ngranted++].len = c[i].name.len;

        } else if (choice->denied & ((uint64_t) 1 << i)) {
            cookie.refused[cookie.nrefused].data = c[i].name.data;
            cookie.refused[cookie.nrefused++].len = c[i].name.len;
        }
    }

    n = ngx_http_consent_cookie_encode(value, sizeof(value), &cookie,
                                       (ngx_http_consent_hmac_t *) &key->hmac);
    if (n < 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "consent cookie does not fit in %uz bytes",
                      sizeof(value));
        return NGX_ERROR;
    }

    age = choice->sec + mcf->cookie_max_age - ngx_time();

    if (age < 0) {
        age = 0;
    }

    len = mcf->cookie_name.len + 1 + n
          + sizeof("; Max-Age=") - 1 + NGX_TIME_T_LEN
          + sizeof("; Path=") - 1 + mcf->cookie_path.len
          + sizeof("; Domain=") - 1 + mcf->cookie_domain.len
          + sizeof("; HttpOnly; SameSite=Strict; Secure") - 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    set_cookie = ngx_http_consent_header_out(r, "Set-Cookie", p, 0);
    if (set_cookie == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(p, "%V=%*s; Max-Age=%T; Path=%V", &mcf->cookie_name,
                    (size_t) n, value, age, &mcf->cookie_path);

    if (mcf->cookie_domain.len) {
        p = ngx_sprintf(p, "; Domain=%V", &mcf->cookie_domain);
    }

    p = ngx_sprintf(p, "; HttpOnly; SameSite=%V",
                    &ngx_http_consent_samesite_values[mcf->cookie_samesite]);

    if (ngx_http_consent_is_secure(r)) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    set_cookie->value.len = p - set_cookie->value.data;

    return NGX_OK;
}


/*
 * A cookie verified by an older key is signed again with the current one:
 * a step of the header filter (ngx_http_consent_filter.c), after the
 * upstream's Set-Cookie are stripped.
 */

ngx_int_t
ngx_http_consent_reissue(ngx_http_request_t *r, ngx_uint_t *vary)
{
    ngx_http_consent_ctx_t        *ctx;
    ngx_http_consent_choice_t      choice;
    ngx_http_consent_loc_conf_t   *lcf;
    ngx_http_consent_main_conf_t  *mcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_consent_module);

    if (ctx == NULL) {
        lcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);
        mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);

        /* with one key, nothing is ever signed again */

        if (!lcf->enable || mcf->policy.nkeys < 2) {
            return NGX_OK;
        }

        ctx = ngx_http_consent_get_ctx(r);
        if (ctx == NULL) {
            return NGX_ERROR;
        }
    }

    if (!ctx->reissue || ctx->choice != NULL) {
        return NGX_OK;
    }

    ctx->reissue = 0;

    ngx_memzero(&choice, sizeof(ngx_http_consent_choice_t));

    ngx_memcpy(choice.id, ctx->id, NGX_HTTP_CONSENT_ID_LEN);
    choice.sec = ctx->iat;
    choice.granted = ctx->granted;
    choice.denied = ctx->refused;
    choice.regime = ctx->cookie_regime;

    /* the reader's own cookie, signed again: not for a shared cache */

    *vary |= NGX_HTTP_CONSENT_VARY_COOKIE;

    return ngx_http_consent_set_cookie(r, &choice);
}


static ngx_int_t
ngx_http_consent_state_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_consent_ctx_t  *ctx;

    ctx = ngx_http_consent_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_http_consent_var(v, ngx_http_consent_states[ctx->state].data,
                         ngx_http_consent_states[ctx->state].len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                  *p;
    ngx_http_consent_ctx_t  *ctx;

    ctx = ngx_http_consent_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ctx->state != NGX_HTTP_CONSENT_STATE_VALID) {
        ngx_http_consent_var(v, (u_char *) "", 0);
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_HTTP_CONSENT_ID_HEX_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_consent_var(v, p,
                         ngx_hex_dump(p, ctx->id, NGX_HTTP_CONSENT_ID_LEN) - p);

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_categories_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                        *p, *start;
    size_t                         len;
    ngx_uint_t                     i;
    ngx_http_consent_ctx_t        *ctx;
    ngx_http_consent_category_t   *c;
    ngx_http_consent_main_conf_t  *mcf;

    ctx = ngx_http_consent_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    c = mcf->categories->elts;

    len = 0;

    for (i = 0; i < mcf->categories->nelts; i++) {
        len += c[i].name.len + 1;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    start = p;

    for (i = 0; i < mcf->categories->nelts; i++) {
        if (ctx->granted & ((uint64_t) 1 << i)) {
            if (p != start) {
                *p++ = ',';
            }

            p = ngx_cpymem(p, c[i].name.data, c[i].name.len);
        }
    }

    ngx_http_consent_var(v, start, p - start);

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_gpc_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_consent_ctx_t  *ctx;

    ctx = ngx_http_consent_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_http_consent_var(v, (u_char *) (ctx->gpc ? "1" : "0"), 1);

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_regime_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_consent_ctx_t  *ctx;

    ctx = ngx_http_consent_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_http_consent_var(v, ngx_http_consent_regime_names[ctx->regime].data,
                         ngx_http_consent_regime_names[ctx->regime].len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_category_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_consent_ctx_t  *ctx;

    ctx = ngx_http_consent_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_http_consent_var(v, (u_char *) ((ctx->granted & ((uint64_t) 1 << data))
                                        ? "1" : "0"), 1);

    return NGX_OK;
}


static void
ngx_http_consent_var(ngx_http_variable_value_t *v, u_char *data, size_t len)
{
    v->len = len;
    v->data = data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
}
