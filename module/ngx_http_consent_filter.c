
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_gate.h"
#include "ngx_http_consent_inflate.h"
#include "ngx_http_consent_plan.h"


#define NGX_HTTP_CONSENT_COPY_SIZE    4096
#define NGX_HTTP_CONSENT_MIN_BUFFER   1024
#define NGX_HTTP_CONSENT_ETAG_SUFFIX_LEN  (sizeof("-cn\"") - 1 + 16)

/* up to this many consent_gate_host patterns are gone through one by one */
#define NGX_HTTP_CONSENT_FILTER_HOSTS_LIST  16


/* what the gate reads of a location's rules, built once at merge time */
struct ngx_http_consent_gate_tables_s {
    ngx_http_consent_gate_rules_t   html;
};


/* one gated page: the gate, its output chains, the inflater if compressed */
struct ngx_http_consent_page_s {
    ngx_http_consent_gate_t         gate;

    ngx_http_request_t             *request;
    ngx_http_consent_inflate_t     *inflate;  /* a gzip or deflate answer */

    ngx_chain_t                    *in;
    ngx_chain_t                    *out;
    ngx_chain_t                   **last_out;
    ngx_chain_t                    *busy;
    ngx_chain_t                    *free;
    ngx_chain_t                    *free_copy;

    ngx_buf_t                      *copy;      /* the last link's, if copy */
    ngx_buf_t                      *buf;       /* the input buffer */

    ngx_str_t                       snippet;   /* consent_google_mode */

    ngx_event_t                     release;   /* of a hold, if the end */
                                               /* did not come with it */

    unsigned                        done:1;    /* the page's last_buf seen */
    unsigned                        unheld:1;  /* no more holds */
};


typedef struct ngx_http_consent_page_s  ngx_http_consent_filter_ctx_t;


static ngx_int_t ngx_http_consent_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_consent_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_consent_page_header(ngx_http_request_t *r,
    ngx_http_consent_loc_conf_t *lcf, ngx_uint_t *vary);
static ngx_uint_t ngx_http_consent_page_vary(ngx_http_request_t *r);
static ngx_int_t ngx_http_consent_gate_body(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_consent_filter_start(ngx_http_request_t *r,
    ngx_http_consent_loc_conf_t *lcf, ngx_http_consent_ctx_t *cctx,
    ngx_http_consent_encoding_e encoding);
static void *ngx_http_consent_filter_conf_alloc(void *data, size_t size);
static ngx_int_t ngx_http_consent_is_html(ngx_http_request_t *r);
static ngx_int_t ngx_http_consent_state_etag(ngx_http_request_t *r,
    ngx_http_consent_ctx_t *cctx);
static u_char *ngx_http_consent_etag_suffix(u_char *p,
    ngx_http_consent_ctx_t *cctx);
static ngx_int_t ngx_http_consent_revalidate(ngx_http_request_t *r);
static ngx_int_t ngx_http_consent_revalidated(ngx_http_request_t *r,
    ngx_http_consent_ctx_t *cctx);
static ngx_int_t ngx_http_consent_google_snippet(ngx_http_request_t *r,
    ngx_http_consent_loc_conf_t *lcf, ngx_http_consent_ctx_t *cctx,
    ngx_str_t *snippet);
static ngx_int_t ngx_http_consent_gate_after(ngx_http_request_t *r,
    ngx_http_consent_filter_ctx_t *ctx, ngx_chain_t *in);
static int ngx_http_consent_filter_out(void *data,
    ngx_http_consent_gate_out_e kind, const unsigned char *p, size_t len);
static void *ngx_http_consent_filter_alloc(void *data, size_t size);
static ngx_int_t ngx_http_consent_filter_link(
    ngx_http_consent_filter_ctx_t *ctx, ngx_buf_t **bp);
static ngx_int_t ngx_http_consent_filter_copy(
    ngx_http_consent_filter_ctx_t *ctx, const u_char *p, size_t len);
static ngx_int_t ngx_http_consent_filter_hold(ngx_http_request_t *r,
    ngx_http_consent_filter_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_consent_filter_post_release(ngx_http_request_t *r,
    ngx_http_consent_filter_ctx_t *ctx);
static void ngx_http_consent_filter_release(ngx_event_t *ev);
static void ngx_http_consent_filter_release_cleanup(void *data);
static ngx_int_t ngx_http_consent_filter_output(ngx_http_request_t *r,
    ngx_http_consent_filter_ctx_t *ctx);
static ngx_int_t ngx_http_consent_removed_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_consent_google_signals[] = {
    ngx_string("ad_storage"),
    ngx_string("analytics_storage"),
    ngx_string("ad_user_data"),
    ngx_string("ad_personalization"),
    ngx_string("functionality_storage"),
    ngx_string("personalization_storage"),
    ngx_string("security_storage"),
    ngx_null_string
};


/*
 * $consent_removed: the elements' names, in the order of
 * ngx_http_consent_html_element_e (a name left out is said as "other")
 */
static ngx_str_t
    ngx_http_consent_removed_names[NGX_HTTP_CONSENT_HTML_NELEMENTS] =
{
    ngx_string("other"),
    ngx_string("script"),
    ngx_string("iframe"),
    ngx_string("img"),
    ngx_string("link"),
    ngx_string("head"),
    ngx_string("body"),
    ngx_string("noscript"),
    ngx_string("style"),
    ngx_string("xmp"),
    ngx_string("noembed"),
    ngx_string("noframes"),
    ngx_string("title"),
    ngx_string("textarea"),
    ngx_string("plaintext"),
    ngx_string("source"),
    ngx_string("video"),
    ngx_string("audio"),
    ngx_string("track"),
    ngx_string("object"),
    ngx_string("embed"),
    ngx_string("input"),
    ngx_string("image"),
    ngx_string("use"),
    ngx_string("base"),
    ngx_string("meta"),
    ngx_string("svg"),
    ngx_string("math"),
    ngx_string("feimage"),
    ngx_string("html")
};


/* marks our copy buffers, whose memory is reused */
static ngx_uint_t  ngx_http_consent_copy_tag;


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


/*
 * The module's request path: in the preaccess phase a revalidation gets the
 * file's ETag back (ngx_http_consent_revalidate); in the precontent phase
 * the request passed upstream loses the cookies not granted
 * (ngx_http_consent_strip_request) and the encodings the gate cannot read
 * (ngx_http_consent_accept_encoding); then the one header filter and the
 * one body filter below.
 */

ngx_int_t
ngx_http_consent_filter_init(ngx_conf_t *cf)
{
    ngx_uint_t                  i;
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    static struct {
        ngx_uint_t              phase;
        ngx_http_handler_pt     handler;
    } handlers[] = {
        { NGX_HTTP_PREACCESS_PHASE, ngx_http_consent_revalidate },
        { NGX_HTTP_PRECONTENT_PHASE, ngx_http_consent_strip_request },
        { NGX_HTTP_PRECONTENT_PHASE, ngx_http_consent_accept_encoding }
    };

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
        h = ngx_array_push(&cmcf->phases[handlers[i].phase].handlers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = handlers[i].handler;
    }

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_consent_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_consent_body_filter;

    return NGX_OK;
}


ngx_int_t
ngx_http_consent_filter_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    static ngx_str_t  name = ngx_string("consent_removed");

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_consent_removed_variable;

    return NGX_OK;
}


/* consent_gate_host CATEGORY HOST... */

char *
ngx_http_consent_gate_host(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_loc_conf_t *lcf = conf;

    u_char                        *p;
    ngx_str_t                     *value, host;
    ngx_uint_t                     i, index, j;
    ngx_http_consent_rule_t       *rule;
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);

    value = cf->args->elts;

    if (ngx_http_consent_category_arg(cf, mcf, &value[1], &index)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (lcf->gate_hosts == NULL) {
        lcf->gate_hosts = ngx_array_create(cf->pool, 8,
                                           sizeof(ngx_http_consent_rule_t));
        if (lcf->gate_hosts == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    for (i = 2; i < cf->args->nelts; i++) {
        host = value[i];

        /* "//host" is taken as "host" */
        if (host.len > 2 && host.data[0] == '/' && host.data[1] == '/') {
            host.data += 2;
            host.len -= 2;
        }

        if (host.len == 0
            || ngx_strlchr(host.data, host.data + host.len, '/') != NULL
            || ngx_strlchr(host.data, host.data + host.len, ':') != NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" is not a host name; give a name such "
                               "as \"www.example.com\" or \"*.example.com\" "
                               "(no scheme, port or path: any port matches)",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        for (j = 0; j < host.len; j++) {
            if (host.data[j] == '*' && !(j == 0 && host.len > 2
                                         && host.data[1] == '.'))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\": a wildcard is only allowed as "
                                   "\"*.\" at the start, as in "
                                   "\"*.example.com\"", &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        p = ngx_pnalloc(cf->pool, host.len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_strlow(p, host.data, host.len);

        rule = ngx_array_push(lcf->gate_hosts);
        if (rule == NULL) {
            return NGX_CONF_ERROR;
        }

        rule->category = index;
        rule->pattern.data = p;
        rule->pattern.len = host.len;
    }

    return NGX_CONF_OK;
}


/* consent_google_mode SIGNAL=CATEGORY... */

char *
ngx_http_consent_google_mode(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_loc_conf_t *lcf = conf;

    u_char                        *eq;
    ngx_str_t                     *value, name, category;
    ngx_uint_t                     i, k, index;
    ngx_http_consent_signal_t     *s;
    ngx_http_consent_main_conf_t  *mcf;

    if (lcf->google_mode != NULL) {
        return "is duplicate";
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);

    lcf->google_mode = ngx_array_create(cf->pool, cf->args->nelts,
                                        sizeof(ngx_http_consent_signal_t));
    if (lcf->google_mode == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        if (eq == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" should be SIGNAL=CATEGORY, as in "
                               "\"analytics_storage=analytics\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        name.data = value[i].data;
        name.len = eq - value[i].data;
        category.data = eq + 1;
        category.len = value[i].data + value[i].len - category.data;

        for (k = 0; ngx_http_consent_google_signals[k].len; k++) {
            if (ngx_http_consent_google_signals[k].len == name.len
                && ngx_strncmp(ngx_http_consent_google_signals[k].data,
                               name.data, name.len) == 0)
            {
                break;
            }
        }

        if (ngx_http_consent_google_signals[k].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown Google consent signal \"%V\"; use "
                               "ad_storage, analytics_storage, ad_user_data, "
                               "ad_personalization, functionality_storage, "
                               "personalization_storage or security_storage",
                               &name);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_consent_category_arg(cf, mcf, &category, &index)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(lcf->google_mode);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        s->signal = name;
        s->category = index;
    }

    return NGX_CONF_OK;
}


/*
 * The module's one header filter.  Its steps run in this order, each for a
 * reason:
 *
 *   1. the page (ngx_http_consent_page_header): whether the gate reads this
 *      answer, inflating it if compressed, its ETag; first, because an
 *      encoding the gate cannot read replaces the whole answer by a 502,
 *      and the steps below are for the answer actually sent;
 *   2. the upstream's Set-Cookie of categories not granted are removed
 *      (ngx_http_consent_strip_set_cookie, ngx_http_consent_headers.c);
 *   3. a cookie verified by an older key is signed again with the current
 *      one (ngx_http_consent_reissue, ngx_http_consent_request.c): after 2,
 *      so that a strip pattern such as "c*" never removes the module's own
 *      cookie;
 *   4. Vary: Cookie, once, if any step made the answer depend on the
 *      reader's cookie; and Accept-Language for a gated page where the
 *      banner's language may come from it.
 */

static ngx_int_t
ngx_http_consent_header_filter(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_uint_t                    vary;
    ngx_http_consent_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);

    /* the endpoint may be outside "consent on": its cookie is re-issued */

    if ((!lcf->enable && !lcf->endpoint) || r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    vary = 0;

    rc = ngx_http_consent_page_header(r, lcf, &vary);

    if (rc != NGX_OK) {
        /* NGX_ERROR, or the 502 already sent in place of the answer */
        return rc;
    }

    if (ngx_http_consent_strip_set_cookie(r, &vary) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_consent_reissue(r, &vary) != NGX_OK) {
        return NGX_ERROR;
    }

    if (vary && ngx_http_consent_vary(r, vary) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


/*
 * The module's one body filter: a compressed page is inflated (step 1,
 * ngx_http_consent_inflate.c), and what is inflated, or the page as it
 * came, goes through the gate (step 2) toward the next filter.
 */

static ngx_int_t
ngx_http_consent_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_http_consent_ctx_t  *cctx;

    if (r != r->main) {
        return ngx_http_next_body_filter(r, in);
    }

    cctx = ngx_http_get_module_ctx(r, ngx_http_consent_module);

    if (cctx == NULL || cctx->page == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    if (cctx->page->inflate != NULL) {
        return ngx_http_consent_inflate_body(r, cctx->page->inflate, in,
                                             ngx_http_consent_gate_body);
    }

    return ngx_http_consent_gate_body(r, in);
}


/*
 * Step 1 of the header filter: an HTML answer to a GET or HEAD, 200, is
 * gated; a 304 for a gated page gets its ETag back.  An encoding the gate
 * cannot read fails closed: a 502 instead of the answer.
 */

static ngx_int_t
ngx_http_consent_page_header(ngx_http_request_t *r,
    ngx_http_consent_loc_conf_t *lcf, ngx_uint_t *vary)
{
    ngx_table_elt_t              *h;
    ngx_http_consent_ctx_t       *cctx;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_consent_headers_t    it;
    ngx_http_consent_encoding_e   encoding;

    if (lcf->endpoint || (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) == 0) {
        return NGX_OK;
    }

    if (r->headers_out.status == NGX_HTTP_NOT_MODIFIED) {

        /* a 304 for a gated page: its ETag and Vary as the page had them */

        cctx = ngx_http_consent_get_ctx(r);
        if (cctx == NULL) {
            return NGX_ERROR;
        }

        switch (ngx_http_consent_revalidated(r, cctx)) {

        case NGX_ERROR:
            return NGX_ERROR;

        case NGX_OK:
            *vary |= ngx_http_consent_page_vary(r);
            return NGX_OK;

        default: /* NGX_DECLINED: not a gated page */
            return NGX_OK;
        }
    }

    if (r->headers_out.status != NGX_HTTP_OK
        || ngx_http_consent_is_html(r) != NGX_OK)
    {
        return NGX_OK;
    }

    encoding = ngx_http_consent_encoding(r);

    if (encoding == NGX_HTTP_CONSENT_ENCODING_UNREADABLE) {
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "consent: an HTML answer with \"Content-Encoding: %V\" "
                      "cannot be gated in location \"%V\", a 502 is sent "
                      "instead; let the upstream see the Accept-Encoding "
                      "the module leaves (gzip, deflate), e.g. remove "
                      "\"proxy_set_header Accept-Encoding\"",
                      &r->headers_out.content_encoding->value, &clcf->name);

        return ngx_http_filter_finalize_request(r, &ngx_http_consent_module,
                                                NGX_HTTP_BAD_GATEWAY);
    }

    cctx = ngx_http_consent_get_ctx(r);
    if (cctx == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_consent_filter_start(r, lcf, cctx, encoding) != NGX_OK) {
        return NGX_ERROR;
    }

    if (encoding != NGX_HTTP_CONSENT_ENCODING_IDENTITY) {

        /* inflated here; nginx's gzip filter compresses again if on */

        ngx_memzero(&it, sizeof(ngx_http_consent_headers_t));

        while ((h = ngx_http_consent_header_next(&r->headers_out.headers,
                                                 &it, "Content-Encoding",
                                                 sizeof("Content-Encoding")
                                                 - 1))
               != NULL)
        {
            h->hash = 0;
        }

        r->headers_out.content_encoding = NULL;
    }

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);

    ngx_http_consent_plan_header(r);

    /*
     * A HEAD answer has no body to store, and a gated page's length is not
     * known: proxy_store would keep an empty file (and leave a temporary
     * one) when the upstream, a gated nginx itself, sent no Content-Length.
     */

    if ((r->header_only || r->method == NGX_HTTP_HEAD)
        && r->upstream != NULL)
    {
        r->upstream->store = 0;
    }

    /*
     * The page depends on the file and on the reader's choice: the ETag
     * says both, and Last-Modified, which cannot, goes.  A browser that
     * revalidates after a choice then never gets a 304 for the page it
     * had before (nginx compares the file's own ETag).
     */

    ngx_http_clear_last_modified(r);

    if (ngx_http_consent_state_etag(r, cctx) != NGX_OK) {
        return NGX_ERROR;
    }

    *vary |= ngx_http_consent_page_vary(r);

    return NGX_OK;
}


/*
 * A gated page depends on the reader's cookie, and, where more than one
 * language is offered, on Accept-Language: a page without <html lang>
 * gets its banner, its placeholders and its "Privacy choices" in the
 * reader's language, and the page's language is known only once its
 * body is read.
 */

static ngx_uint_t
ngx_http_consent_page_vary(ngx_http_request_t *r)
{
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);

    if (mcf->texts != NULL && mcf->texts->nelts > 1) {
        return NGX_HTTP_CONSENT_VARY_COOKIE|NGX_HTTP_CONSENT_VARY_LANGUAGE;
    }

    return NGX_HTTP_CONSENT_VARY_COOKIE;
}


static ngx_int_t
ngx_http_consent_filter_start(ngx_http_request_t *r,
    ngx_http_consent_loc_conf_t *lcf, ngx_http_consent_ctx_t *cctx,
    ngx_http_consent_encoding_e encoding)
{
    size_t                            cap;
    uint64_t                          optional;
    ngx_uint_t                        banner, head, on;
    ngx_http_consent_main_conf_t     *mcf;
    ngx_http_consent_filter_ctx_t    *ctx;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);

    /*
     * no banner once chosen, nor when Sec-GPC: 1 refuses every option;
     * under opt-out, render_banner() gives the "do not sell" link instead
     */

    optional = mcf->all_mask & ~mcf->required_mask;
    on = ngx_http_consent_banner_on(r, lcf);

    if (cctx->state == NGX_HTTP_CONSENT_STATE_VALID) {

        /* once chosen, render_banner() gives the "privacy choices" link */
        banner = (on && lcf->choices_link) ? NGX_HTTP_CONSENT_GATE_BANNER_END
                                           : 0;

    } else if (cctx->regime == NGX_HTTP_CONSENT_REGIME_OPT_OUT) {
        banner = on ? NGX_HTTP_CONSENT_GATE_BANNER_END : 0;

    } else {
        banner = (on && !(cctx->gpc && optional
                          && (optional & ~mcf->gpc_mask) == 0))
                 ? NGX_HTTP_CONSENT_GATE_BANNER_BODY : 0;
    }

    head = (lcf->google_mode != NULL && lcf->google_mode->nelts);

    /*
     * A HEAD gets the gate as a GET does (r->header_only is not yet set
     * for one in the header filters): no body comes, but a plan gives
     * the length and $consent_removed a GET would have
     */

    if (r->header_only) {
        return NGX_OK;
    }

    if (lcf->gate_tables == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "consent filter: no gate rules for this location");
        return NGX_ERROR;
    }

    /* the gate is set up below by ngx_http_consent_gate_init() */

    ctx = ngx_palloc(r->pool, sizeof(ngx_http_consent_filter_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&ctx->request, sizeof(ngx_http_consent_filter_ctx_t)
                               - offsetof(ngx_http_consent_filter_ctx_t,
                                          request));

    if (encoding != NGX_HTTP_CONSENT_ENCODING_IDENTITY) {
        ctx->inflate = ngx_http_consent_inflate_create(r, encoding,
                                                       lcf->inflate_max);
        if (ctx->inflate == NULL) {
            return NGX_ERROR;
        }
    }

    if (head
        && ngx_http_consent_google_snippet(r, lcf, cctx, &ctx->snippet)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the hold is allocated only when an element spans buffers */

    cap = ngx_max(lcf->gate_buffer, NGX_HTTP_CONSENT_MIN_BUFFER);

    ngx_http_consent_gate_init(&ctx->gate, &lcf->gate_tables->html,
                               cctx->granted, head, banner, cap,
                               ngx_http_consent_filter_out,
                               ngx_http_consent_filter_alloc, ctx);
    ctx->gate.placeholder = lcf->placeholder ? 1 : 0;

    ctx->request = r;
    ctx->last_out = &ctx->out;

    cctx->page = ctx;

    r->filter_need_in_memory = 1;

    /* a static file the filter has seen: its edit plan, no scan */

    if (encoding == NGX_HTTP_CONSENT_ENCODING_IDENTITY
        && ngx_http_consent_plan_start(r, &ctx->gate, &ctx->snippet)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "consent filter: banner:%ui head:%ui hosts:%uz enc:%d",
                   banner, head, lcf->gate_tables->html.nhosts, encoding);

    return NGX_OK;
}


/*
 * The host table and the category names, as the gate reads them: built
 * once per location at merge time, shared with the enclosing level when
 * it has the same hosts.
 */

char *
ngx_http_consent_filter_merge(ngx_conf_t *cf,
    ngx_http_consent_loc_conf_t *prev, ngx_http_consent_loc_conf_t *conf)
{
    ngx_uint_t                       i, n;
    ngx_http_consent_rule_t         *rule;
    ngx_http_consent_slice_t        *names;
    ngx_http_consent_category_t     *cat;
    ngx_http_consent_gate_host_t    *hosts;
    ngx_http_consent_main_conf_t    *mcf;
    ngx_http_consent_gate_tables_t  *tables;

    if (conf->gate_tables != NULL) {
        return NGX_CONF_OK;
    }

    if (prev->gate_tables != NULL && prev->gate_hosts == conf->gate_hosts) {
        conf->gate_tables = prev->gate_tables;
        return NGX_CONF_OK;
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);

    tables = ngx_pcalloc(cf->pool, sizeof(ngx_http_consent_gate_tables_t));
    if (tables == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the category names, by index of category */

    cat = mcf->categories->elts;
    n = mcf->categories->nelts;

    names = ngx_palloc(cf->pool, (n + 1) * sizeof(ngx_http_consent_slice_t));
    if (names == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {
        names[cat[i].index].data = cat[i].name.data;
        names[cat[i].index].len = cat[i].name.len;
    }

    tables->html.categories = names;
    tables->html.ncategories = n;

    if (conf->gate_hosts != NULL && conf->gate_hosts->nelts) {
        rule = conf->gate_hosts->elts;
        n = conf->gate_hosts->nelts;

        hosts = ngx_palloc(cf->pool, n * sizeof(ngx_http_consent_gate_host_t));
        if (hosts == NULL) {
            return NGX_CONF_ERROR;
        }

        for (i = 0; i < n; i++) {
            hosts[i].data = rule[i].pattern.data;
            hosts[i].len = rule[i].pattern.len;
            hosts[i].category = rule[i].category;
        }

        tables->html.hosts = hosts;
        tables->html.nhosts = n;

        /*
         * more than a few, as with conf/trackers.conf, are looked up by
         * name; without the index (no memory, an odd name) the gate goes
         * through the list, which gives the same answers
         */

        if (n > NGX_HTTP_CONSENT_FILTER_HOSTS_LIST) {
            tables->html.index = ngx_http_consent_hosts_index(hosts, n,
                                             ngx_http_consent_filter_conf_alloc,
                                             cf->pool);
        }
    }

    conf->gate_tables = tables;

    return NGX_CONF_OK;
}


/* the hosts' index: the configuration's pool */

static void *
ngx_http_consent_filter_conf_alloc(void *data, size_t size)
{
    ngx_pool_t  *pool = data;

    return ngx_palloc(pool, size);
}


static ngx_int_t
ngx_http_consent_is_html(ngx_http_request_t *r)
{
    ngx_str_t  *t;

    t = &r->headers_out.content_type;

    if (t->len < 9 || ngx_strncasecmp(t->data, (u_char *) "text/html", 9)
                      != 0)
    {
        return NGX_DECLINED;
    }

    if (t->len > 9 && t->data[9] != ';' && t->data[9] != ' ') {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* W/"file-etag" becomes W/"file-etag-c" STATE GRANTED, a weak ETag */

static ngx_int_t
ngx_http_consent_state_etag(ngx_http_request_t *r,
    ngx_http_consent_ctx_t *cctx)
{
    u_char           *p, *start, *end;
    ngx_table_elt_t  *etag;

    ngx_http_weak_etag(r);

    etag = r->headers_out.etag;

    if (etag == NULL) {
        return NGX_OK;
    }

    start = etag->value.data;
    end = start + etag->value.len;

    if (etag->value.len < 4 || end[-1] != '"'
        || ngx_strncmp(start, "W/\"", 3) != 0)
    {
        ngx_http_clear_etag(r);
        return NGX_OK;
    }

    /*
     * a page filtered twice (proxied to an nginx that gated it already)
     * keeps one suffix: the one it has is replaced
     */

    for (p = end - 1; p > start + 3 && ngx_strchr("0123456789abcdef", p[-1]);
         p--)
    { /* void */ }

    if (p < end - 1 && p - start > 5 && ngx_strchr("nvoiNOI", p[-1]) != NULL
        && p[-2] == 'c' && p[-3] == '-')
    {
        end = p - 2;
    }

    p = ngx_pnalloc(r->pool, etag->value.len
                             + NGX_HTTP_CONSENT_ETAG_SUFFIX_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    etag->value.data = p;

    p = ngx_cpymem(p, start, end - 1 - start);
    p = ngx_http_consent_etag_suffix(p, cctx);

    etag->value.len = p - etag->value.data;

    return NGX_OK;
}


/*
 * "-c" STATE GRANTED and the closing quote; STATE is in capitals before a
 * choice under opt-out, whose page (a link, not the banner) differs from
 * opt-in's for the same grants
 */

static u_char *
ngx_http_consent_etag_suffix(u_char *p, ngx_http_consent_ctx_t *cctx)
{
    ngx_uint_t     n;

    static u_char  states[] = "nvoiNVOI";

    n = cctx->state & 3;

    if (cctx->regime == NGX_HTTP_CONSENT_REGIME_OPT_OUT
        && cctx->state != NGX_HTTP_CONSENT_STATE_VALID)
    {
        n += 4;
    }

    return ngx_sprintf(p, "-c%c%xL\"", states[n], (uint64_t) cctx->granted);
}


/*
 * A revalidation with the ETag of a page filtered for the same choice:
 * If-None-Match gets the file's own ETag added, for nginx to answer 304.
 * One filtered for another choice does not match, and gets the page anew.
 */

static ngx_int_t
ngx_http_consent_revalidate(ngx_http_request_t *r)
{
    u_char                       *p, *q, *last, *o;
    size_t                        n;
    ngx_str_t                    *v;
    ngx_uint_t                    found;
    ngx_http_consent_ctx_t       *cctx;
    ngx_http_consent_loc_conf_t  *lcf;
    u_char                        sfx[NGX_HTTP_CONSENT_ETAG_SUFFIX_LEN];

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);

    if (!lcf->enable || r != r->main || r->headers_in.if_none_match == NULL
        || lcf->endpoint)
    {
        return NGX_DECLINED;
    }

    cctx = ngx_http_consent_get_ctx(r);
    if (cctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ngx_http_consent_etag_suffix(sfx, cctx) - sfx;

    v = &r->headers_in.if_none_match->value;
    last = v->data + v->len;
    found = 0;

    for (p = v->data; p + n <= last; p++) {
        if (ngx_strncmp(p, sfx, n) == 0) {
            found = 1;
            break;
        }
    }

    if (!found) {
        return NGX_DECLINED;
    }

    o = ngx_pnalloc(r->pool, 2 * v->len + 2);
    if (o == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = ngx_cpymem(o, v->data, v->len);
    *q++ = ',';
    *q++ = ' ';

    for (p = v->data; p < last; /* void */) {
        if (p + n <= last && ngx_strncmp(p, sfx, n) == 0) {
            *q++ = '"';
            p += n;
            continue;
        }

        *q++ = *p++;
    }

    v->data = o;
    v->len = q - o;

    return NGX_DECLINED;
}


/*
 * A 304 for a gated page (revalidated with its ETag): the ETag as the
 * page had it.  NGX_DECLINED for any other 304.
 */

static ngx_int_t
ngx_http_consent_revalidated(ngx_http_request_t *r,
    ngx_http_consent_ctx_t *cctx)
{
    u_char      *p, *last;
    size_t       n;
    ngx_str_t   *v;
    u_char       sfx[NGX_HTTP_CONSENT_ETAG_SUFFIX_LEN];

    if (r->headers_in.if_none_match == NULL) {
        return NGX_DECLINED;
    }

    n = ngx_http_consent_etag_suffix(sfx, cctx) - sfx;

    v = &r->headers_in.if_none_match->value;
    last = v->data + v->len;

    for (p = v->data; p + n <= last; p++) {
        if (ngx_strncmp(p, sfx, n) == 0) {
            ngx_http_clear_last_modified(r);
            return ngx_http_consent_state_etag(r, cctx);
        }
    }

    return NGX_DECLINED;
}


/*
 * <script nonce="N">window.dataLayer=window.dataLayer||[];
 * function gtag(){dataLayer.push(arguments);}
 * gtag('consent','default',{'ad_storage':'denied',...});</script>
 */

static ngx_int_t
ngx_http_consent_google_snippet(ngx_http_request_t *r,
    ngx_http_consent_loc_conf_t *lcf, ngx_http_consent_ctx_t *cctx,
    ngx_str_t *snippet)
{
    size_t                      len;
    u_char                     *p;
    ngx_str_t                   nonce;
    ngx_uint_t                  i;
    ngx_http_consent_signal_t  *s;

    static u_char  start[] = "window.dataLayer=window.dataLayer||[];"
                             "function gtag(){dataLayer.push(arguments);}"
                             "gtag('consent','default',{";

    ngx_str_null(&nonce);

    if (lcf->csp_nonce != NULL
        && ngx_http_complex_value(r, lcf->csp_nonce, &nonce) != NGX_OK)
    {
        return NGX_ERROR;
    }

    s = lcf->google_mode->elts;

    len = sizeof("<script nonce=\"\">") - 1
          + ngx_escape_html(NULL, nonce.data, nonce.len)
          + nonce.len + sizeof(start) - 1 + sizeof("});</script>") - 1;

    for (i = 0; i < lcf->google_mode->nelts; i++) {
        len += s[i].signal.len + sizeof("'':'granted',") - 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    snippet->data = p;

    if (nonce.len) {
        p = ngx_cpymem(p, "<script nonce=\"", sizeof("<script nonce=\"") - 1);
        p = (u_char *) ngx_escape_html(p, nonce.data, nonce.len);
        p = ngx_cpymem(p, "\">", 2);

    } else {
        p = ngx_cpymem(p, "<script>", sizeof("<script>") - 1);
    }

    p = ngx_cpymem(p, start, sizeof(start) - 1);

    for (i = 0; i < lcf->google_mode->nelts; i++) {
        *p++ = '\'';
        p = ngx_cpymem(p, s[i].signal.data, s[i].signal.len);
        p = ngx_cpymem(p, "':'", 3);

        if (cctx->granted & ((uint64_t) 1 << s[i].category)) {
            p = ngx_cpymem(p, "granted'", sizeof("granted'") - 1);

        } else {
            p = ngx_cpymem(p, "denied'", sizeof("denied'") - 1);
        }

        if (i + 1 < lcf->google_mode->nelts) {
            *p++ = ',';
        }
    }

    p = ngx_cpymem(p, "});</script>", sizeof("});</script>") - 1);

    snippet->len = p - snippet->data;

    return NGX_OK;
}


/* step 2 of the body filter: the page through the gate */

static ngx_int_t
ngx_http_consent_gate_body(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t                      *b;
    ngx_int_t                       rc, hold;
    ngx_http_consent_ctx_t         *cctx;
    ngx_http_consent_loc_conf_t    *lcf;
    ngx_http_consent_filter_ctx_t  *ctx;

    cctx = ngx_http_get_module_ctx(r, ngx_http_consent_module);
    ctx = cctx->page;

    rc = ngx_http_consent_plan_body(r, in, ngx_http_next_body_filter);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (in == NULL && ctx->in == NULL && ctx->busy == NULL
        && ctx->out == NULL)
    {
        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->done) {
        return ngx_http_consent_gate_after(r, ctx, in);
    }

    if (in != NULL && ngx_chain_add_copy(r->pool, &ctx->in, in) != NGX_OK) {
        return NGX_ERROR;
    }

    hold = ngx_http_consent_filter_hold(r, ctx, in);

    while (ctx->in != NULL) {
        ctx->buf = ctx->in->buf;
        ctx->in = ctx->in->next;

        if (!ngx_buf_in_memory(ctx->buf) && ngx_buf_size(ctx->buf)) {
            /* filter_need_in_memory was not honoured: do not guess */
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "consent filter: a file buffer reached the "
                          "HTML filter");
            return NGX_ERROR;
        }

        rc = ngx_http_consent_gate(&ctx->gate, ctx->buf->pos,
                                   ctx->buf->last - ctx->buf->pos,
                                   ctx->buf->last_buf);
        if (rc != 0) {
            return NGX_ERROR;
        }

        /*
         * an empty link closes what came of this buffer: once it is sent,
         * the buffer is given back (its pos moved to its last)
         */

        if (ngx_http_consent_filter_link(ctx, &b) != NGX_OK) {
            return NGX_ERROR;
        }

        b->sync = 1;
        b->flush = ctx->buf->flush;
        b->last_buf = ctx->buf->last_buf;
        b->last_in_chain = ctx->buf->last_in_chain;
        b->shadow = ctx->buf;
        b->recycled = ctx->buf->recycled;

        ctx->copy = NULL;

        if (ctx->buf->last_buf) {
            ctx->done = 1;

            lcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);

            if (ctx->gate.overflows) {
                ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                              "consent: %ui element(s) longer than "
                              "consent_gate_buffer (%uz) decided without "
                              "being read in full (removed unless every "
                              "category is granted); raise "
                              "\"consent_gate_buffer\"",
                              (ngx_uint_t) ctx->gate.overflows,
                              lcf->gate_buffer);
            }

            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "consent filter: removed:%ui live:%ui",
                           (ngx_uint_t) ctx->gate.removed,
                           (ngx_uint_t) ctx->gate.made_live);
        }
    }

    if (hold && !ctx->done && ctx->out != NULL) {
        return ngx_http_consent_filter_post_release(r, ctx);
    }

    return ngx_http_consent_filter_output(r, ctx);
}


/*
 * The upstream's answer is read in full (its pipe is done): its end, a
 * buffer of its own, comes right after, from the upstream's finalization,
 * in the same event.  What is ready waits for it, so that the last chunk
 * ("0" CRLF CRLF) leaves in the same write as the rest of the page, not in
 * a write and a TCP segment of its own: on a proxied page that was one
 * write in eight.  A flush, which the upstream sends when it fails after
 * the header, sends everything.  Without buffering (no pipe) the upstream
 * waits for its buffer to be sent before it finalizes: no hold.
 *
 * The end does not always come: where the buffers held are ones used again
 * once sent (the inflater's; the copy filter's output_buffers reading an
 * answer the pipe wrote to a temporary file; a thread's read), the rest
 * waits for them.  So a hold posts an event, run once this event is done:
 * if the end has not come by then, what is held is sent, and this page is
 * held no more (ngx_http_consent_filter_release).
 */

static ngx_int_t
ngx_http_consent_filter_hold(ngx_http_request_t *r,
    ngx_http_consent_filter_ctx_t *ctx, ngx_chain_t *in)
{
    ngx_chain_t       *cl;
    ngx_event_pipe_t  *p;

    if (ctx->unheld || r->upstream == NULL || r->upstream->pipe == NULL
        || !r->upstream->buffering)
    {
        return 0;
    }

    p = r->upstream->pipe;

    if (!(p->upstream_done || (p->upstream_eof && p->length == -1))
        || p->upstream_error || p->downstream_error)
    {
        return 0;
    }

    for (cl = in; cl; cl = cl->next) {
        if (cl->buf->flush || cl->buf->last_buf) {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_http_consent_filter_post_release(ngx_http_request_t *r,
    ngx_http_consent_filter_ctx_t *ctx)
{
    ngx_pool_cleanup_t  *cln;

    if (ctx->release.posted) {
        return NGX_OK;
    }

    if (ctx->release.handler == NULL) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_consent_filter_release_cleanup;
        cln->data = ctx;

        ctx->release.handler = ngx_http_consent_filter_release;
        ctx->release.data = ctx;
        ctx->release.log = r->connection->log;
    }

    ngx_post_event(&ctx->release, &ngx_posted_events);

    return NGX_OK;
}


/*
 * The event of the hold is over and the page's end did not come with it:
 * what is held is sent, and the upstream's side is run as a write event
 * would, so that it sees its buffers free again and goes on.
 */

static void
ngx_http_consent_filter_release(ngx_event_t *ev)
{
    ngx_int_t                       rc;
    ngx_connection_t               *c;
    ngx_http_request_t             *r;
    ngx_http_consent_filter_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    if (ctx->done || ctx->out == NULL) {
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "consent filter: the page's end did not come, "
                   "hold released");

    ctx->unheld = 1;

    rc = ngx_http_consent_filter_output(r, ctx);

    if (rc == NGX_ERROR) {
        c->error = 1;
    }

    r->write_event_handler(r);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_consent_filter_release_cleanup(void *data)
{
    ngx_http_consent_filter_ctx_t  *ctx = data;

    if (ctx->release.posted) {
        ngx_delete_posted_event(&ctx->release);
    }
}


/*
 * After the page's end.  add_after_body, for one, sends its own last_buf
 * (ngx_http_send_special) from inside the call that passed ours on, that
 * is, while ctx->out is still being sent: that call must not touch the
 * gate's chains (it did, and the page came out twice), so what comes after
 * the end goes straight on; bytes there, which no handler sends, are
 * dropped.
 */

static ngx_int_t
ngx_http_consent_gate_after(ngx_http_request_t *r,
    ngx_http_consent_filter_ctx_t *ctx, ngx_chain_t *in)
{
    ngx_chain_t  *cl;

    for (cl = in; cl; cl = cl->next) {
        if (ngx_buf_size(cl->buf) != 0) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "consent filter: %O bytes after the end of the "
                          "page are dropped", ngx_buf_size(cl->buf));

            cl->buf->pos = cl->buf->last;
            cl->buf->file_pos = cl->buf->file_last;
        }
    }

    return ngx_http_next_body_filter(r, in);
}


static int
ngx_http_consent_filter_out(void *data, ngx_http_consent_gate_out_e kind,
    const unsigned char *p, size_t len)
{
    ngx_http_consent_filter_ctx_t *ctx = data;

    ngx_buf_t    *b;
    ngx_int_t     rc;
    ngx_str_t     html;
    ngx_chain_t  *cl, *banner;

    switch (kind) {

    case NGX_HTTP_CONSENT_GATE_OUT_INPUT:
        if (len == 0) {
            return 0;
        }

        if (ngx_http_consent_filter_link(ctx, &b) != NGX_OK) {
            return -1;
        }

        b->memory = 1;
        b->pos = (u_char *) p;
        b->last = (u_char *) p + len;

        ctx->copy = NULL;

        return 0;

    case NGX_HTTP_CONSENT_GATE_OUT_COPY:
        return (ngx_http_consent_filter_copy(ctx, p, len) == NGX_OK) ? 0 : -1;

    case NGX_HTTP_CONSENT_GATE_OUT_HEAD:
        return (ngx_http_consent_filter_copy(ctx, ctx->snippet.data,
                                             ctx->snippet.len) == NGX_OK)
               ? 0 : -1;

    case NGX_HTTP_CONSENT_GATE_OUT_PLACEHOLDER:
    case NGX_HTTP_CONSENT_GATE_OUT_ANCHOR:
    case NGX_HTTP_CONSENT_GATE_OUT_AFTER:
        if (ngx_http_consent_placeholder(ctx->request, ctx->gate.embed,
                ctx->gate.embed_category, ctx->gate.granted,
                (kind == NGX_HTTP_CONSENT_GATE_OUT_ANCHOR)
                ? NGX_HTTP_CONSENT_EMBED_ANCHOR
                : (kind == NGX_HTTP_CONSENT_GATE_OUT_AFTER)
                  ? NGX_HTTP_CONSENT_EMBED_AFTER
                  : NGX_HTTP_CONSENT_EMBED_PLACEHOLDER,
                p, len, &html)
            != NGX_OK)
        {
            return -1;
        }

        return (ngx_http_consent_filter_copy(ctx, html.data, html.len)
                == NGX_OK) ? 0 : -1;

    default: /* NGX_HTTP_CONSENT_GATE_OUT_BANNER */

        if (ctx->gate.lang_len) {
            /* <html lang>: the page's language before the reader's */
            ngx_http_consent_texts_prefer(ctx->request, ctx->gate.lang,
                                          ctx->gate.lang_len);
        }

        banner = NULL;
        rc = ngx_http_consent_render_banner(ctx->request, &banner);

        if (rc == NGX_ERROR) {
            return -1;
        }

        if (rc != NGX_OK || banner == NULL) {
            return 0;
        }

        for (cl = banner; cl; cl = cl->next) {
            cl->buf->last_buf = 0;
            cl->buf->last_in_chain = 0;
            *ctx->last_out = cl;
            ctx->last_out = &cl->next;
        }

        *ctx->last_out = NULL;
        ctx->copy = NULL;

        return 0;
    }
}


/* the gate's hold and scratch, when it needs them: the request's pool */

static void *
ngx_http_consent_filter_alloc(void *data, size_t size)
{
    ngx_http_consent_filter_ctx_t *ctx = data;

    return ngx_palloc(ctx->request->pool, size);
}


/* a link of our own at the end of the output, its buffer cleared */

static ngx_int_t
ngx_http_consent_filter_link(ngx_http_consent_filter_ctx_t *ctx,
    ngx_buf_t **bp)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    cl = ngx_chain_get_free_buf(ctx->request->pool, &ctx->free);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b = cl->buf;
    ngx_memzero(b, sizeof(ngx_buf_t));
    b->tag = (ngx_buf_tag_t) &ngx_http_consent_module;

    *ctx->last_out = cl;
    ctx->last_out = &cl->next;

    *bp = b;

    return NGX_OK;
}


/* bytes the gate held or made: copied into buffers whose memory is reused */

static ngx_int_t
ngx_http_consent_filter_copy(ngx_http_consent_filter_ctx_t *ctx,
    const u_char *p, size_t len)
{
    size_t        n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    while (len) {

        b = ctx->copy;

        if (b == NULL || b->last == b->end) {

            if (ctx->free_copy != NULL) {
                cl = ctx->free_copy;
                ctx->free_copy = cl->next;
                b = cl->buf;
                b->pos = b->start;
                b->last = b->start;

            } else {
                cl = ngx_alloc_chain_link(ctx->request->pool);
                if (cl == NULL) {
                    return NGX_ERROR;
                }

                b = ngx_create_temp_buf(ctx->request->pool,
                                        NGX_HTTP_CONSENT_COPY_SIZE);
                if (b == NULL) {
                    return NGX_ERROR;
                }

                cl->buf = b;
            }

            b->tag = (ngx_buf_tag_t) &ngx_http_consent_copy_tag;
            b->temporary = 1;
            b->flush = 0;
            b->sync = 0;
            b->last_buf = 0;
            b->last_in_chain = 0;
            b->shadow = NULL;
            b->recycled = 0;

            cl->next = NULL;
            *ctx->last_out = cl;
            ctx->last_out = &cl->next;

            ctx->copy = b;
        }

        n = ngx_min(len, (size_t) (b->end - b->last));
        b->last = ngx_cpymem(b->last, p, n);
        p += n;
        len -= n;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_filter_output(ngx_http_request_t *r,
    ngx_http_consent_filter_ctx_t *ctx)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    rc = ngx_http_next_body_filter(r, ctx->out);

    if (ctx->busy == NULL) {
        ctx->busy = ctx->out;

    } else {
        for (cl = ctx->busy; cl->next; cl = cl->next) { /* void */ }
        cl->next = ctx->out;
    }

    ctx->out = NULL;
    ctx->last_out = &ctx->out;
    ctx->copy = NULL;

    while (ctx->busy) {

        cl = ctx->busy;
        b = cl->buf;

        if (ngx_buf_size(b) != 0) {
            break;
        }

        if (b->shadow) {
            b->shadow->pos = b->shadow->last;
        }

        ctx->busy = cl->next;

        if (b->tag == (ngx_buf_tag_t) &ngx_http_consent_copy_tag) {
            cl->next = ctx->free_copy;
            ctx->free_copy = cl;

        } else if (b->tag == (ngx_buf_tag_t) &ngx_http_consent_module) {
            cl->next = ctx->free;
            ctx->free = cl;
        }
    }

    return rc;
}


/*
 * $consent_removed: what the gate removed from this answer, as
 * "script:3,img:2,attr:1" (elements in the scanner's order, then attr and
 * css), "none" when it removed nothing.  Known once the whole page has
 * passed, or from the header filter on when a plan gives the answer; not
 * found before, and for answers the gate does not read.
 */

static ngx_int_t
ngx_http_consent_removed_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                           *p;
    ngx_str_t                        *name;
    ngx_uint_t                        i;
    ngx_http_consent_ctx_t           *cctx;
    ngx_http_consent_gate_removed_t  *removed;

    cctx = ngx_http_get_module_ctx(r->main, ngx_http_consent_module);

    removed = ngx_http_consent_plan_removed(r->main);

    if (removed == NULL) {
        if (cctx == NULL || cctx->page == NULL || !cctx->page->done) {
            v->not_found = 1;
            return NGX_OK;
        }

        removed = &cctx->page->gate.removed_by;
    }

    p = ngx_pnalloc(r->pool, (NGX_HTTP_CONSENT_HTML_NELEMENTS + 2)
                             * (sizeof("plaintext:,") - 1 + NGX_INT_T_LEN));
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    for (i = 0; i < NGX_HTTP_CONSENT_HTML_NELEMENTS; i++) {
        if (removed->elements[i] == 0) {
            continue;
        }

        name = &ngx_http_consent_removed_names[i];

        if (name->len == 0) {
            name = &ngx_http_consent_removed_names[0];
        }

        p = ngx_sprintf(p, "%V:%ui,", name,
                        (ngx_uint_t) removed->elements[i]);
    }

    if (removed->attrs) {
        p = ngx_sprintf(p, "attr:%ui,", (ngx_uint_t) removed->attrs);
    }

    if (removed->css) {
        p = ngx_sprintf(p, "css:%ui,", (ngx_uint_t) removed->css);
    }

    if (p == v->data) {
        p = ngx_cpymem(p, "none,", sizeof("none,") - 1);
    }

    v->len = p - 1 - v->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
