
/*
 * Copyright (C) nginx-consent developers
 *
 * The banner the body filter inserts, and the preferences page the endpoint
 * serves: server-rendered HTML that works without JavaScript (every choice
 * is a form that POSTs to the endpoint), in the reader's language, with
 * every operator text HTML-escaped.  Styles and script come from the
 * endpoint (consent.css, consent.js): nothing inline, so a strict CSP holds.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_log.h"
#include "ngx_http_consent_form.h"
#include "ngx_http_consent_plural.h"
#include "ngx_http_consent_ui_data.h"


#define NGX_HTTP_CONSENT_RENDER_CHUNK  4096

/* a return path longer than this is not carried along */
#define NGX_HTTP_CONSENT_RETURN_MAX    2048


/*
 * What the banner takes from the request, between the parts it takes from
 * the configuration and the language, which are rendered once at start
 */
typedef enum {
    NGX_HTTP_CONSENT_HOLE_NONCE = 0,   /* the asset's nonce="..." */
    NGX_HTTP_CONSENT_HOLE_POLICY,      /* the location's policy link */
    NGX_HTTP_CONSENT_HOLE_RETURN,      /* the return path, HTML-escaped */
    NGX_HTTP_CONSENT_HOLE_PAGE_RETURN  /* the return path, URI-escaped */
} ngx_http_consent_hole_e;


typedef struct {
    size_t                             at;      /* in texts->banner */
    ngx_http_consent_hole_e            hole;
} ngx_http_consent_hole_t;


typedef struct {
    ngx_http_request_t                *r;       /* NULL at configuration */
    ngx_pool_t                        *pool;
    ngx_chain_t                       *out;
    ngx_chain_t                      **last;
    ngx_buf_t                         *buf;
    ngx_http_consent_texts_t          *texts;
    ngx_http_consent_main_conf_t      *mcf;
    ngx_http_consent_loc_conf_t       *lcf;
    ngx_str_t                          nonce;
    ngx_str_t                         *ret;
    ngx_array_t                       *holes;   /* rendering the fixed
                                                   parts: where the holes
                                                   are */
    size_t                             size;    /* of the output so far */
    ngx_int_t                          rc;
} ngx_http_consent_render_t;


static void ngx_http_consent_render_banner_parts(
    ngx_http_consent_render_t *rd);
static ngx_int_t ngx_http_consent_render_banner_init(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_texts_t *t);
static void ngx_http_consent_render_hole(ngx_http_consent_render_t *rd,
    ngx_http_consent_hole_e hole);
static ngx_int_t ngx_http_consent_render_flatten(ngx_http_consent_render_t *rd,
    ngx_pool_t *pool, ngx_str_t *s);
static ngx_int_t ngx_http_consent_render_init(ngx_http_request_t *r,
    ngx_http_consent_render_t *rd);
static ngx_int_t ngx_http_consent_render_choices(
    ngx_http_consent_render_t *rd, ngx_str_t *ret, const char *key,
    ngx_chain_t **out);
static void ngx_http_consent_render_page_url(ngx_http_consent_render_t *rd);
static ngx_int_t ngx_http_consent_render_arg_return(ngx_http_request_t *r,
    ngx_str_t *ret);
static void ngx_http_consent_render_lang(ngx_http_consent_render_t *rd);
static void ngx_http_consent_render_asset(ngx_http_consent_render_t *rd,
    char *name);
static void ngx_http_consent_render_category(ngx_http_consent_render_t *rd,
    ngx_http_consent_category_t *c, ngx_uint_t checked, ngx_uint_t page);
static void ngx_http_consent_render_cookies(ngx_http_consent_render_t *rd,
    ngx_array_t *cookies);
static void ngx_http_consent_render_disclosures(
    ngx_http_consent_render_t *rd, ngx_array_t *cookies, u_char *id,
    size_t len);
static void ngx_http_consent_render_provider(ngx_http_consent_render_t *rd,
    ngx_http_consent_cookie_info_t *info);
static void ngx_http_consent_render_duration(ngx_http_consent_render_t *rd,
    ngx_http_consent_cookie_info_t *info);
static void ngx_http_consent_render_text(ngx_http_consent_render_t *rd,
    const char *key);
static void ngx_http_consent_render_cat_text(ngx_http_consent_render_t *rd,
    ngx_http_consent_category_t *c, const char *key);
static void ngx_http_consent_render_escaped(ngx_http_consent_render_t *rd,
    u_char *p, size_t len);
static void ngx_http_consent_render_put(ngx_http_consent_render_t *rd,
    u_char *p, size_t len);
static u_char *ngx_http_consent_render_reserve(ngx_http_consent_render_t *rd,
    size_t len);
static ngx_uint_t ngx_http_consent_render_english(
    ngx_http_consent_render_t *rd);


#define ngx_http_consent_render_lit(rd, s)                                   \
    ngx_http_consent_render_put(rd, (u_char *) s, sizeof(s) - 1)


/*
 * The banner of the reader's language: its fixed parts, rendered at start
 * (ngx_http_consent_render_banner_parts), with the request's return path,
 * nonce and the location's policy link between them.  No last_buf: it goes
 * inside a page.  Once the reader has chosen (the filter asks only with
 * consent_choices_link on), the "privacy choices" link instead.
 */

ngx_int_t
ngx_http_consent_render_banner(ngx_http_request_t *r, ngx_chain_t **out)
{
    u_char                     *p;
    ngx_str_t                   ret;
    ngx_uint_t                  i;
    ngx_http_consent_ctx_t     *ctx;
    ngx_http_consent_hole_t    *hole;
    ngx_http_consent_render_t   rd;

    if (ngx_http_consent_render_init(r, &rd) != NGX_OK) {
        return NGX_ERROR;
    }

    if (rd.mcf->endpoint.len == 0 || rd.texts == NULL
        || rd.texts->banner_holes == NULL)
    {
        /* nowhere to send a choice: no banner */
        return NGX_DECLINED;
    }

    ngx_http_consent_render_return(r, &ret);

    ctx = ngx_http_consent_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ctx->state == NGX_HTTP_CONSENT_STATE_VALID) {
        return ngx_http_consent_render_choices(&rd, &ret, "page_title", out);
    }

    /* opt-out: everything runs until refused, and this is where to */

    if (ctx->regime == NGX_HTTP_CONSENT_REGIME_OPT_OUT) {
        return ngx_http_consent_render_choices(&rd, &ret, "do_not_sell", out);
    }

    /* the fixed parts, rendered at start, and the request's between */

    rd.ret = &ret;

    hole = rd.texts->banner_holes->elts;
    p = rd.texts->banner.data;

    for (i = 0; i < rd.texts->banner_holes->nelts; i++) {
        ngx_http_consent_render_put(&rd, p, rd.texts->banner.data + hole[i].at
                                            - p);
        ngx_http_consent_render_hole(&rd, hole[i].hole);
        p = rd.texts->banner.data + hole[i].at;
    }

    ngx_http_consent_render_put(&rd, p, rd.texts->banner.data
                                        + rd.texts->banner.len - p);

    if (rd.rc != NGX_OK) {
        return NGX_ERROR;
    }

    *out = rd.out;

    return NGX_OK;
}


/*
 * The banner: <div role=region> with the title, the text, three equal
 * buttons (accept all, refuse all, customise: a link to the preferences
 * page that consent.js turns into a panel in place) and "continue without
 * accepting", which records a refusal; with holes for what the request
 * gives.
 */

static void
ngx_http_consent_render_banner_parts(ngx_http_consent_render_t *rd)
{
    ngx_http_consent_render_lit(rd,
        "<div class=\"consent consent-banner\" id=\"consent-banner\""
        " role=\"region\" aria-labelledby=\"consent-title\""
        " tabindex=\"-1\"");
    ngx_http_consent_render_lang(rd);
    ngx_http_consent_render_lit(rd, "><link rel=\"stylesheet\" href=\"");
    ngx_http_consent_render_asset(rd, "consent.css");

    ngx_http_consent_render_lit(rd,
        "><form class=\"consent-box\" method=\"post\" action=\"");
    ngx_http_consent_render_escaped(rd, rd->mcf->endpoint.data,
                                    rd->mcf->endpoint.len);
    ngx_http_consent_render_lit(rd,
        "\"><div class=\"consent-inner\"><div class=\"consent-head\">"
        "<h2 id=\"consent-title\">");
    ngx_http_consent_render_text(rd, "banner_title");
    ngx_http_consent_render_lit(rd,
        "</h2><button class=\"consent-close\" type=\"submit\""
        " name=\"action\" value=\"reject_all\">");
    ngx_http_consent_render_text(rd, "continue");
    ngx_http_consent_render_lit(rd, "</button></div><p>");
    ngx_http_consent_render_text(rd, "banner_body");

    ngx_http_consent_render_hole(rd, NGX_HTTP_CONSENT_HOLE_POLICY);

    ngx_http_consent_render_lit(rd,
        "</p><input type=\"hidden\" name=\"return\" value=\"");
    ngx_http_consent_render_hole(rd, NGX_HTTP_CONSENT_HOLE_RETURN);
    ngx_http_consent_render_lit(rd,
        "\"><input type=\"hidden\" name=\"source\" value=\"banner\">");

    /* the language shown, which may be the page's: the log records it */
    ngx_http_consent_render_lit(rd, "<input type=\"hidden\" name=\"lang\""
                                     " value=\"");
    ngx_http_consent_render_escaped(rd, rd->texts->lang.data,
                                    rd->texts->lang.len);
    ngx_http_consent_render_lit(rd,
        "\"><div class=\"consent-cats\" id=\"consent-panel\" role=\"group\""
        " aria-labelledby=\"consent-title\" hidden>");

    /* the categories, the same for every reader: rendered at start */

    ngx_http_consent_render_put(rd, rd->texts->banner_categories.data,
                                rd->texts->banner_categories.len);

    ngx_http_consent_render_lit(rd,
        "</div><div class=\"consent-actions\">"
        "<button class=\"consent-btn\" type=\"submit\" name=\"action\""
        " value=\"accept_all\">");
    ngx_http_consent_render_text(rd, "accept_all");
    ngx_http_consent_render_lit(rd,
        "</button><button class=\"consent-btn\" type=\"submit\""
        " name=\"action\" value=\"reject_all\">");
    ngx_http_consent_render_text(rd, "reject_all");
    ngx_http_consent_render_lit(rd,
        "</button><a class=\"consent-btn\" id=\"consent-customise\" href=\"");
    ngx_http_consent_render_page_url(rd);
    ngx_http_consent_render_lit(rd, "\">");
    ngx_http_consent_render_text(rd, "customise");
    ngx_http_consent_render_lit(rd,
        "</a><button class=\"consent-btn\" id=\"consent-save\""
        " type=\"submit\" name=\"action\" value=\"save\" hidden>");
    ngx_http_consent_render_text(rd, "save");
    ngx_http_consent_render_lit(rd,
        "</button></div></div></form><script src=\"");
    ngx_http_consent_render_asset(rd, "consent.js");
    ngx_http_consent_render_lit(rd, " defer></script></div>");
}


/* at start: a language's banner, its fixed parts and where the holes are */

static ngx_int_t
ngx_http_consent_render_banner_init(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_texts_t *t)
{
    ngx_http_consent_render_t  rd;

    ngx_memzero(&rd, sizeof(ngx_http_consent_render_t));

    rd.pool = cf->pool;
    rd.last = &rd.out;
    rd.rc = NGX_OK;
    rd.mcf = mcf;
    rd.texts = t;

    rd.holes = ngx_array_create(cf->pool, 8, sizeof(ngx_http_consent_hole_t));
    if (rd.holes == NULL) {
        return NGX_ERROR;
    }

    ngx_http_consent_render_banner_parts(&rd);

    if (rd.rc != NGX_OK
        || ngx_http_consent_render_flatten(&rd, cf->pool, &t->banner)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    t->banner_holes = rd.holes;

    return NGX_OK;
}


/* a hole: where it is, at start; what the request puts there, after */

static void
ngx_http_consent_render_hole(ngx_http_consent_render_t *rd,
    ngx_http_consent_hole_e hole)
{
    u_char                   *p;
    uintptr_t                 n;
    ngx_http_consent_hole_t  *h;

    if (rd->holes != NULL) {
        h = ngx_array_push(rd->holes);
        if (h == NULL) {
            rd->rc = NGX_ERROR;
            return;
        }

        h->at = rd->size;
        h->hole = hole;
        return;
    }

    switch (hole) {

    case NGX_HTTP_CONSENT_HOLE_NONCE:
        if (rd->nonce.len) {
            ngx_http_consent_render_lit(rd, " nonce=\"");
            ngx_http_consent_render_escaped(rd, rd->nonce.data,
                                            rd->nonce.len);
            ngx_http_consent_render_lit(rd, "\"");
        }

        break;

    case NGX_HTTP_CONSENT_HOLE_POLICY:
        if (rd->lcf->policy_url.len) {
            ngx_http_consent_render_lit(rd, " <a href=\"");
            ngx_http_consent_render_escaped(rd, rd->lcf->policy_url.data,
                                            rd->lcf->policy_url.len);
            ngx_http_consent_render_lit(rd, "\">");
            ngx_http_consent_render_text(rd, "policy");
            ngx_http_consent_render_lit(rd, "</a>");
        }

        break;

    case NGX_HTTP_CONSENT_HOLE_RETURN:
        ngx_http_consent_render_escaped(rd, rd->ret->data, rd->ret->len);
        break;

    case NGX_HTTP_CONSENT_HOLE_PAGE_RETURN:
        n = ngx_escape_uri(NULL, rd->ret->data, rd->ret->len,
                           NGX_ESCAPE_URI_COMPONENT);
        p = ngx_http_consent_render_reserve(rd, rd->ret->len + 2 * n);
        if (p != NULL) {
            ngx_escape_uri(p, rd->ret->data, rd->ret->len,
                           NGX_ESCAPE_URI_COMPONENT);
        }

        break;
    }
}


/* the output in one piece, from the pool */

static ngx_int_t
ngx_http_consent_render_flatten(ngx_http_consent_render_t *rd,
    ngx_pool_t *pool, ngx_str_t *s)
{
    u_char       *p;
    ngx_chain_t  *cl;

    p = ngx_pnalloc(pool, rd->size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    s->data = p;
    s->len = rd->size;

    for (cl = rd->out; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    return NGX_OK;
}


/*
 * The banner's categories in each language, which depend on the
 * configuration only: a third of the banner's cost, once per start
 * instead of once per first visit.
 */

ngx_int_t
ngx_http_consent_render_init_conf(ngx_conf_t *cf)
{
    ngx_uint_t                     i, k;
    ngx_http_consent_texts_t      *t;
    ngx_http_consent_category_t   *c;
    ngx_http_consent_render_t      rd;
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);

    if (mcf->texts == NULL || mcf->categories == NULL) {
        return NGX_OK;
    }

    t = mcf->texts->elts;
    c = mcf->categories->elts;

    for (k = 0; k < mcf->texts->nelts; k++) {

        ngx_memzero(&rd, sizeof(ngx_http_consent_render_t));

        rd.pool = cf->pool;
        rd.last = &rd.out;
        rd.rc = NGX_OK;
        rd.mcf = mcf;
        rd.texts = &t[k];

        for (i = 0; i < mcf->categories->nelts; i++) {
            ngx_http_consent_render_category(&rd, &c[i], c[i].required, 0);
        }

        if (rd.rc != NGX_OK
            || ngx_http_consent_render_flatten(&rd, cf->pool,
                                               &t[k].banner_categories)
               != NGX_OK
            || ngx_http_consent_render_banner_init(cf, mcf, &t[k]) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Once the reader has chosen, with consent_choices_link on: a small link
 * back to the preferences page, so that withdrawing is as easy as
 * consenting. A link (no JavaScript), named like the page it opens, in a
 * corner of the page, themed by the same custom properties as the banner.
 * Under consent_regime opt-out, before a choice, the same link says "Do
 * not sell or share my personal information" (key "do_not_sell").
 */

static ngx_int_t
ngx_http_consent_render_choices(ngx_http_consent_render_t *rd,
    ngx_str_t *ret, const char *key, ngx_chain_t **out)
{
    ngx_http_consent_render_lit(rd,
        "<div class=\"consent consent-choices\"");
    ngx_http_consent_render_lang(rd);
    ngx_http_consent_render_lit(rd, "><link rel=\"stylesheet\" href=\"");
    ngx_http_consent_render_asset(rd, "consent.css");
    ngx_http_consent_render_lit(rd,
        "><a class=\"consent-choices-link\" href=\"");
    rd->ret = ret;
    ngx_http_consent_render_page_url(rd);
    ngx_http_consent_render_lit(rd, "\">");
    ngx_http_consent_render_text(rd, key);
    ngx_http_consent_render_lit(rd, "</a></div>");

    if (rd->rc != NGX_OK) {
        return NGX_ERROR;
    }

    *out = rd->out;

    return NGX_OK;
}


/*
 * The preferences page: a whole HTML document, one form with a checkbox per
 * category (required ones on and disabled), the reader's current choice
 * when the cookie is valid, nothing ticked otherwise, the cookies of each
 * category and the privacy policy.  The endpoint sends it.
 */

ngx_int_t
ngx_http_consent_render_page(ngx_http_request_t *r, ngx_chain_t **out)
{
    ngx_str_t                     ret;
    ngx_uint_t                    i, valid, optout;
    ngx_http_consent_ctx_t       *ctx;
    ngx_http_consent_category_t  *c;
    ngx_http_consent_render_t     rd;

    if (ngx_http_consent_render_init(r, &rd) != NGX_OK) {
        return NGX_ERROR;
    }

    if (rd.texts == NULL) {
        return NGX_ERROR;
    }

    ctx = ngx_http_consent_get_ctx(r);
    valid = (ctx != NULL && ctx->state == NGX_HTTP_CONSENT_STATE_VALID);

    /* under opt-out, what holds until refused is ticked */
    optout = (ctx != NULL && ctx->regime == NGX_HTTP_CONSENT_REGIME_OPT_OUT);

    if (ngx_http_consent_render_arg_return(r, &ret) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_consent_render_lit(&rd, "<!DOCTYPE html>\n<html");
    ngx_http_consent_render_lang(&rd);
    ngx_http_consent_render_lit(&rd,
        ">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width,"
        " initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n"
        "<title>");
    ngx_http_consent_render_text(&rd, "page_title");
    ngx_http_consent_render_lit(&rd,
        "</title>\n<link rel=\"stylesheet\" href=\"");
    ngx_http_consent_render_asset(&rd, "consent.css");
    ngx_http_consent_render_lit(&rd,
        ">\n</head>\n<body class=\"consent consent-page\">\n<main>\n<h1>");
    ngx_http_consent_render_text(&rd, "page_title");
    ngx_http_consent_render_lit(&rd, "</h1>\n<p>");
    ngx_http_consent_render_text(&rd, "page_intro");
    ngx_http_consent_render_lit(&rd, "</p>\n<p class=\"consent-status\">");

    if (valid) {
        ngx_http_consent_render_text(&rd, "state_valid");

    } else if (ctx != NULL && ctx->state == NGX_HTTP_CONSENT_STATE_OUTDATED) {
        ngx_http_consent_render_text(&rd, "state_outdated");

    } else {
        ngx_http_consent_render_text(&rd, "state_none");
    }

    ngx_http_consent_render_lit(&rd,
        "</p>\n<form method=\"post\" action=\"");
    ngx_http_consent_render_escaped(&rd, rd.mcf->endpoint.data,
                                    rd.mcf->endpoint.len);
    ngx_http_consent_render_lit(&rd,
        "\">\n<input type=\"hidden\" name=\"source\" value=\"page\">\n");

    if (ret.len) {
        ngx_http_consent_render_lit(&rd,
            "<input type=\"hidden\" name=\"return\" value=\"");
        ngx_http_consent_render_escaped(&rd, ret.data, ret.len);
        ngx_http_consent_render_lit(&rd, "\">\n");
    }

    ngx_http_consent_render_lit(&rd, "<div class=\"consent-cats\">\n");

    c = rd.mcf->categories->elts;

    for (i = 0; i < rd.mcf->categories->nelts; i++) {
        ngx_http_consent_render_category(&rd, &c[i],
                                         c[i].required
                                         || ((valid || optout)
                                             && (ctx->granted
                                                 & ((uint64_t) 1 << i))),
                                         1);
    }

    ngx_http_consent_render_lit(&rd,
        "</div>\n<div class=\"consent-actions\">\n"
        "<button class=\"consent-btn\" type=\"submit\" name=\"action\""
        " value=\"save\">");
    ngx_http_consent_render_text(&rd, "save");
    ngx_http_consent_render_lit(&rd,
        "</button>\n<button class=\"consent-btn\" type=\"submit\""
        " name=\"action\" value=\"accept_all\">");
    ngx_http_consent_render_text(&rd, "accept_all");
    ngx_http_consent_render_lit(&rd,
        "</button>\n<button class=\"consent-btn\" type=\"submit\""
        " name=\"action\" value=\"reject_all\">");
    ngx_http_consent_render_text(&rd, "reject_all");
    ngx_http_consent_render_lit(&rd, "</button>\n</div>\n");

    if (valid) {
        ngx_http_consent_render_lit(&rd,
            "<p><button class=\"consent-close\" type=\"submit\""
            " name=\"action\" value=\"withdraw\">");
        ngx_http_consent_render_text(&rd, "withdraw");
        ngx_http_consent_render_lit(&rd, "</button></p>\n");
    }

    ngx_http_consent_render_lit(&rd, "</form>\n<p>");

    /* the consent log's receipt (ngx_http_consent_receipt.c) */

    if (valid && ngx_http_consent_receipt_available(r)) {
        ngx_http_consent_render_lit(&rd, "<a href=\"");
        ngx_http_consent_render_escaped(&rd, rd.mcf->endpoint.data,
                                        rd.mcf->endpoint.len);
        ngx_http_consent_render_lit(&rd, "receipt\" download>");
        ngx_http_consent_render_text(&rd, "receipt");
        ngx_http_consent_render_lit(&rd, "</a> &middot; ");
    }

    if (rd.lcf->policy_url.len) {
        ngx_http_consent_render_lit(&rd, "<a href=\"");
        ngx_http_consent_render_escaped(&rd, rd.lcf->policy_url.data,
                                        rd.lcf->policy_url.len);
        ngx_http_consent_render_lit(&rd, "\">");
        ngx_http_consent_render_text(&rd, "policy");
        ngx_http_consent_render_lit(&rd, "</a> &middot; ");
    }

    ngx_http_consent_render_lit(&rd, "<a href=\"");

    if (ret.len) {
        ngx_http_consent_render_escaped(&rd, ret.data, ret.len);

    } else {
        ngx_http_consent_render_lit(&rd, "/");
    }

    ngx_http_consent_render_lit(&rd, "\">");
    ngx_http_consent_render_text(&rd, "back");
    ngx_http_consent_render_lit(&rd, "</a></p>\n</main>\n</body>\n</html>\n");

    if (rd.rc != NGX_OK) {
        return NGX_ERROR;
    }

    *out = rd.out;

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_render_init(ngx_http_request_t *r,
    ngx_http_consent_render_t *rd)
{
    ngx_memzero(rd, sizeof(ngx_http_consent_render_t));

    rd->r = r;
    rd->pool = r->pool;
    rd->last = &rd->out;
    rd->rc = NGX_OK;
    rd->mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    rd->lcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);
    rd->texts = ngx_http_consent_texts_pick(r);

    if (rd->lcf->csp_nonce != NULL
        && ngx_http_complex_value(r, rd->lcf->csp_nonce, &rd->nonce)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the preferences page, and where it sends the reader back to */

static void
ngx_http_consent_render_page_url(ngx_http_consent_render_t *rd)
{
    ngx_http_consent_render_escaped(rd, rd->mcf->endpoint.data,
                                    rd->mcf->endpoint.len);
    ngx_http_consent_render_lit(rd, "?return=");
    ngx_http_consent_render_hole(rd, NGX_HTTP_CONSENT_HOLE_PAGE_RETURN);
}


/* the page the reader is on: where the banner's form comes back to */

void
ngx_http_consent_render_return(ngx_http_request_t *r, ngx_str_t *ret)
{
    if (r->unparsed_uri.len <= NGX_HTTP_CONSENT_RETURN_MAX
        && ngx_http_consent_safe_return(r->unparsed_uri.data,
                                           r->unparsed_uri.len))
    {
        *ret = r->unparsed_uri;
        return;
    }

    if (r->uri.len <= NGX_HTTP_CONSENT_RETURN_MAX
        && ngx_http_consent_safe_return(r->uri.data, r->uri.len))
    {
        *ret = r->uri;
        return;
    }

    ngx_str_set(ret, "/");
}


/* "?return=/path" of the preferences page, if it is a path of this site */

static ngx_int_t
ngx_http_consent_render_arg_return(ngx_http_request_t *r, ngx_str_t *ret)
{
    u_char     *dst, *src;
    ngx_str_t   arg;

    ngx_str_null(ret);

    if (ngx_http_arg(r, (u_char *) "return", 6, &arg) != NGX_OK
        || arg.len == 0 || arg.len > NGX_HTTP_CONSENT_RETURN_MAX)
    {
        return NGX_OK;
    }

    dst = ngx_pnalloc(r->pool, arg.len);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    ret->data = dst;
    src = arg.data;

    ngx_unescape_uri(&dst, &src, arg.len, 0);

    ret->len = dst - ret->data;

    if (!ngx_http_consent_safe_return(ret->data, ret->len)) {
        ngx_str_null(ret);
    }

    return NGX_OK;
}


/* lang="xx", and dir="rtl" for a language written right to left */

static void
ngx_http_consent_render_lang(ngx_http_consent_render_t *rd)
{
    size_t      len;
    u_char     *lang, *dash;
    ngx_str_t  *rtl;

    static ngx_str_t  rtl_languages[] = {
        ngx_string("ar"), ngx_string("ckb"), ngx_string("dv"),
        ngx_string("fa"), ngx_string("he"), ngx_string("iw"),
        ngx_string("ps"), ngx_string("sd"), ngx_string("ug"),
        ngx_string("ur"), ngx_string("yi"), ngx_null_string
    };

    lang = rd->texts->lang.data;
    len = rd->texts->lang.len;

    ngx_http_consent_render_lit(rd, " lang=\"");
    ngx_http_consent_render_escaped(rd, lang, len);
    ngx_http_consent_render_lit(rd, "\"");

    dash = ngx_strlchr(lang, lang + len, '-');

    if (dash != NULL) {
        len = dash - lang;
    }

    for (rtl = rtl_languages; rtl->len; rtl++) {
        if (rtl->len == len && ngx_strncasecmp(rtl->data, lang, len) == 0) {
            ngx_http_consent_render_lit(rd, " dir=\"rtl\"");
            break;
        }
    }
}


/* ENDPOINT/name?v=CRC" plus the nonce attribute when there is one */

static void
ngx_http_consent_render_asset(ngx_http_consent_render_t *rd, char *name)
{
    size_t                             len;
    const char                        *e;
    const ngx_http_consent_ui_file_t  *f;

    ngx_http_consent_render_escaped(rd, rd->mcf->endpoint.data,
                                    rd->mcf->endpoint.len);
    ngx_http_consent_render_put(rd, (u_char *) name, ngx_strlen(name));

    f = ngx_http_consent_ui_find((u_char *) name, ngx_strlen(name));

    if (f != NULL) {
        e = f->etag + 1;
        len = ngx_strlen(e) - 1;

        ngx_http_consent_render_lit(rd, "?v=");
        ngx_http_consent_render_put(rd, (u_char *) e, len);
    }

    ngx_http_consent_render_lit(rd, "\"");
    ngx_http_consent_render_hole(rd, NGX_HTTP_CONSENT_HOLE_NONCE);
}


static void
ngx_http_consent_render_category(ngx_http_consent_render_t *rd,
    ngx_http_consent_category_t *c, ngx_uint_t checked, ngx_uint_t page)
{
    u_char       *p, id[NGX_INT_T_LEN];
    ngx_array_t  *cookies;

    p = ngx_sprintf(id, "%ui", c->index);
    cookies = NULL;

    if (page) {
        cookies = ngx_http_consent_disclose(rd->pool, rd->mcf, rd->lcf, c);
        if (cookies == NULL) {
            rd->rc = NGX_ERROR;
            return;
        }

        if (cookies->nelts == 0) {
            cookies = NULL;
        }
    }

    ngx_http_consent_render_lit(rd,
        "<div class=\"consent-cat\"><input type=\"checkbox\" id=\"consent-c");
    ngx_http_consent_render_put(rd, id, p - id);
    ngx_http_consent_render_lit(rd, "\" aria-describedby=\"consent-d");
    ngx_http_consent_render_put(rd, id, p - id);

    if (cookies) {
        ngx_http_consent_render_lit(rd, " consent-k");
        ngx_http_consent_render_put(rd, id, p - id);
    }

    ngx_http_consent_render_lit(rd, "\"");

    if (c->required) {
        ngx_http_consent_render_lit(rd, " checked disabled");

    } else {
        ngx_http_consent_render_lit(rd, " name=\"category\" value=\"");
        ngx_http_consent_render_escaped(rd, c->name.data, c->name.len);
        ngx_http_consent_render_lit(rd, "\"");

        if (checked) {
            ngx_http_consent_render_lit(rd, " checked");
        }
    }

    ngx_http_consent_render_lit(rd, "><label for=\"consent-c");
    ngx_http_consent_render_put(rd, id, p - id);
    ngx_http_consent_render_lit(rd, "\">");
    ngx_http_consent_render_cat_text(rd, c, "title");

    if (c->required) {
        ngx_http_consent_render_lit(rd, " (");
        ngx_http_consent_render_text(rd, "always_on");
        ngx_http_consent_render_lit(rd, ")");
    }

    ngx_http_consent_render_lit(rd, "</label><p id=\"consent-d");
    ngx_http_consent_render_put(rd, id, p - id);
    ngx_http_consent_render_lit(rd, "\">");
    ngx_http_consent_render_cat_text(rd, c, "description");
    ngx_http_consent_render_lit(rd, "</p>");

    if (cookies) {
        ngx_http_consent_render_lit(rd, "<p id=\"consent-k");
        ngx_http_consent_render_put(rd, id, p - id);
        ngx_http_consent_render_lit(rd, "\">");
        ngx_http_consent_render_cookies(rd, cookies);
        ngx_http_consent_render_lit(rd, "</p>");
        ngx_http_consent_render_disclosures(rd, cookies, id, p - id);
    }

    ngx_http_consent_render_lit(rd, "</div>\n");
}


/* "Cookies: <code>consent</code>, <code>_ga</code>" */

static void
ngx_http_consent_render_cookies(ngx_http_consent_render_t *rd,
    ngx_array_t *cookies)
{
    ngx_uint_t                      i;
    ngx_http_consent_disclosure_t  *d;

    d = cookies->elts;

    ngx_http_consent_render_text(rd, "cookies");

    for (i = 0; i < cookies->nelts; i++) {
        ngx_http_consent_render_put(rd, (u_char *) (i ? ", " : " "),
                                    i ? 2 : 1);
        ngx_http_consent_render_lit(rd, "<code>");
        ngx_http_consent_render_escaped(rd, d[i].name->data,
                                        d[i].name->len);
        ngx_http_consent_render_lit(rd, "</code>");
    }
}


/*
 * What the law asks to be told of each cookie (Planet49, CNIL 2020-092):
 * a table of name, purpose, duration and who sets and reads it, labelled
 * by the list above; a cookie with no consent_cookie_info has its name
 * only.
 */

static void
ngx_http_consent_render_disclosures(ngx_http_consent_render_t *rd,
    ngx_array_t *cookies, u_char *id, size_t len)
{
    ngx_uint_t                       i, english;
    ngx_http_consent_disclosure_t   *d;
    ngx_http_consent_cookie_info_t  *info;

    ngx_http_consent_render_lit(rd,
        "<div class=\"consent-cookies\"><table aria-labelledby=\"consent-k");
    ngx_http_consent_render_put(rd, id, len);
    ngx_http_consent_render_lit(rd, "\"><thead><tr><th scope=\"col\">");
    ngx_http_consent_render_text(rd, "cookie_name");
    ngx_http_consent_render_lit(rd, "</th><th scope=\"col\">");
    ngx_http_consent_render_text(rd, "cookie_purpose");
    ngx_http_consent_render_lit(rd, "</th><th scope=\"col\">");
    ngx_http_consent_render_text(rd, "cookie_duration");
    ngx_http_consent_render_lit(rd, "</th><th scope=\"col\">");
    ngx_http_consent_render_text(rd, "cookie_provider");
    ngx_http_consent_render_lit(rd, "</th></tr></thead><tbody>");

    d = cookies->elts;

    for (i = 0; i < cookies->nelts; i++) {
        info = d[i].info;

        ngx_http_consent_render_lit(rd, "<tr><th scope=\"row\"><code>");
        ngx_http_consent_render_escaped(rd, d[i].name->data,
                                        d[i].name->len);
        ngx_http_consent_render_lit(rd, "</code></th>");

        if (info != NULL && info->builtin) {
            ngx_http_consent_render_lit(rd, "<td>");
            ngx_http_consent_render_text(rd, "cookie_consent_purpose");
            ngx_http_consent_render_lit(rd, "</td><td>");
            ngx_http_consent_render_duration(rd, info);
            ngx_http_consent_render_lit(rd, "</td><td>");
            ngx_http_consent_render_text(rd, "cookie_first_party");

        } else if (info != NULL) {
            /*
             * the catalogue's words are English only: said so to screen
             * readers in a page of another language (WCAG 3.1.2)
             */

            english = info->catalogue && !ngx_http_consent_render_english(rd);

            if (english) {
                ngx_http_consent_render_lit(rd, "<td lang=\"en\">");

            } else {
                ngx_http_consent_render_lit(rd, "<td>");
            }
            ngx_http_consent_render_escaped(rd, info->purpose.data,
                                            info->purpose.len);
            ngx_http_consent_render_lit(rd, "</td><td");

            if (english && info->unit == NGX_HTTP_CONSENT_DURATION_TEXT) {
                ngx_http_consent_render_lit(rd, " lang=\"en\"");
            }

            ngx_http_consent_render_lit(rd, ">");
            ngx_http_consent_render_duration(rd, info);
            ngx_http_consent_render_lit(rd, "</td><td>");
            ngx_http_consent_render_provider(rd, info);

        } else {
            ngx_http_consent_render_lit(rd, "<td></td><td></td><td>");
        }

        ngx_http_consent_render_lit(rd, "</td></tr>");
    }

    ngx_http_consent_render_lit(rd, "</tbody></table></div>");
}


/* are the reader's texts English? */

static ngx_uint_t
ngx_http_consent_render_english(ngx_http_consent_render_t *rd)
{
    ngx_str_t  *lang;

    lang = &rd->texts->lang;

    return lang->len >= 2 && ngx_strncasecmp(lang->data, (u_char *) "en", 2)
                             == 0
           && (lang->len == 2 || lang->data[2] == '-');
}


/*
 * "13 months" in the reader's language: the form of the count's plural
 * category, or "other"; a duration the module did not read, as written
 */

static void
ngx_http_consent_render_duration(ngx_http_consent_render_t *rd,
    ngx_http_consent_cookie_info_t *info)
{
    u_char      *p, *m, num[NGX_INT64_LEN];
    size_t       len;
    json_t      *v, *form_v;
    const char  *form;

    v = NULL;

    if (info->unit != NGX_HTTP_CONSENT_DURATION_TEXT) {
        v = json_object_get(json_object_get(rd->texts->json, "durations"),
                            ngx_http_consent_durations[info->unit]);
    }

    if (v == NULL) {
        ngx_http_consent_render_escaped(rd, info->duration.data,
                                        info->duration.len);
        return;
    }

    if (json_is_object(v)) {
        form = ngx_http_consent_plural(rd->texts->lang.data,
                                       rd->texts->lang.len, info->count);

        form_v = json_object_get(v, form);
        v = form_v ? form_v : json_object_get(v, "other");
    }

    p = (u_char *) json_string_value(v);
    len = json_string_length(v);

    m = ngx_strlcasestrn(p, p + len, (u_char *) "{n}", sizeof("{n}") - 2);

    if (m == NULL) {
        ngx_http_consent_render_escaped(rd, p, len);
        return;
    }

    ngx_http_consent_render_escaped(rd, p, m - p);
    ngx_http_consent_render_put(rd, num,
                                ngx_sprintf(num, "%uL", info->count) - num);
    m += sizeof("{n}") - 1;
    ngx_http_consent_render_escaped(rd, m, p + len - m);
}


/* the site itself, or the controller linked to its privacy policy */

static void
ngx_http_consent_render_provider(ngx_http_consent_render_t *rd,
    ngx_http_consent_cookie_info_t *info)
{
    if (info->controller.len == 0) {
        ngx_http_consent_render_text(rd, "cookie_first_party");
        return;
    }

    if (info->policy.len == 0) {
        ngx_http_consent_render_escaped(rd, info->controller.data,
                                        info->controller.len);
        return;
    }

    ngx_http_consent_render_lit(rd, "<a href=\"");
    ngx_http_consent_render_escaped(rd, info->policy.data, info->policy.len);
    ngx_http_consent_render_lit(rd, "\" rel=\"noopener\">");
    ngx_http_consent_render_escaped(rd, info->controller.data,
                                    info->controller.len);
    ngx_http_consent_render_lit(rd, "</a>");
}


static void
ngx_http_consent_render_text(ngx_http_consent_render_t *rd, const char *key)
{
    json_t  *v;

    v = json_object_get(rd->texts->json, key);

    if (json_is_string(v)) {
        ngx_http_consent_render_escaped(rd, (u_char *) json_string_value(v),
                                        json_string_length(v));
    }
}


/*
 * the title or description of a category: its own, or that of "*" with
 * "{name}" replaced by the category's name
 */

static void
ngx_http_consent_render_cat_text(ngx_http_consent_render_t *rd,
    ngx_http_consent_category_t *c, const char *key)
{
    u_char  *p, *end, *m;
    json_t  *cats, *cat, *v;

    cats = json_object_get(rd->texts->json, "categories");
    cat = json_object_getn(cats, (const char *) c->name.data, c->name.len);

    if (cat == NULL) {
        cat = json_object_get(cats, "*");
    }

    v = json_object_get(cat, key);

    if (!json_is_string(v)) {
        ngx_http_consent_render_escaped(rd, c->name.data, c->name.len);
        return;
    }

    p = (u_char *) json_string_value(v);
    end = p + json_string_length(v);

    for ( ;; ) {
        m = ngx_strlcasestrn(p, end, (u_char *) "{name}", 6 - 1);

        if (m == NULL) {
            ngx_http_consent_render_escaped(rd, p, end - p);
            return;
        }

        ngx_http_consent_render_escaped(rd, p, m - p);
        ngx_http_consent_render_escaped(rd, c->name.data, c->name.len);
        p = m + 6;
    }
}


static void
ngx_http_consent_render_escaped(ngx_http_consent_render_t *rd, u_char *p,
    size_t len)
{
    u_char     *dst;
    uintptr_t   n;

    if (len == 0) {
        return;
    }

    n = ngx_escape_html(NULL, p, len);

    dst = ngx_http_consent_render_reserve(rd, len + n);
    if (dst == NULL) {
        return;
    }

    if (n == 0) {
        ngx_memcpy(dst, p, len);

    } else {
        ngx_escape_html(dst, p, len);
    }
}


static void
ngx_http_consent_render_put(ngx_http_consent_render_t *rd, u_char *p,
    size_t len)
{
    u_char  *dst;

    if (len == 0) {
        return;
    }

    dst = ngx_http_consent_render_reserve(rd, len);
    if (dst != NULL) {
        ngx_memcpy(dst, p, len);
    }
}


/* room for len more bytes at the end of the output, already counted in */

static u_char *
ngx_http_consent_render_reserve(ngx_http_consent_render_t *rd, size_t len)
{
    u_char       *p;
    size_t        size;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (rd->rc != NGX_OK) {
        return NULL;
    }

    rd->size += len;

    b = rd->buf;

    if (b == NULL || (size_t) (b->end - b->last) < len) {
        size = ngx_max(len, NGX_HTTP_CONSENT_RENDER_CHUNK);

        b = ngx_create_temp_buf(rd->pool, size);
        cl = ngx_alloc_chain_link(rd->pool);

        if (b == NULL || cl == NULL) {
            rd->rc = NGX_ERROR;
            return NULL;
        }

        cl->buf = b;
        cl->next = NULL;
        *rd->last = cl;
        rd->last = &cl->next;
        rd->buf = b;
    }

    p = b->last;
    b->last += len;

    return p;
}
