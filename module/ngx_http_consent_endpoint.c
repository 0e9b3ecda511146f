
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/rand.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_log.h"
#include "ngx_http_consent_form.h"


/* a consent POST is small: actions, a few names and a path */
#define NGX_HTTP_CONSENT_BODY_MAX  16384


static ngx_int_t ngx_http_consent_endpoint_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_consent_send_page(ngx_http_request_t *r);
static ngx_int_t ngx_http_consent_send_state(ngx_http_request_t *r);
static ngx_int_t ngx_http_consent_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *reason);
static ngx_int_t ngx_http_consent_same_origin(ngx_http_request_t *r);
static void ngx_http_consent_post(ngx_http_request_t *r);
static ngx_int_t ngx_http_consent_read_body(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_consent_record(ngx_http_request_t *r,
    ngx_http_consent_form_t *form, ngx_uint_t json);
static ngx_int_t ngx_http_consent_add_header(ngx_http_request_t *r,
    char *key, char *value);


static ngx_str_t  ngx_http_consent_form_type =
    ngx_string("application/x-www-form-urlencoded");
static ngx_str_t  ngx_http_consent_json_type =
    ngx_string("application/json");


char *
ngx_http_consent_endpoint(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_loc_conf_t *lcf = conf;

    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_consent_main_conf_t  *mcf;

    if (ngx_http_consent_set_handler(cf, cmd,
                                     ngx_http_consent_endpoint_handler)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->name.len == 0 || clcf->name.data[clcf->name.len - 1] != '/'
#if (NGX_PCRE)
        || clcf->regex != NULL
#endif
        || clcf->named || clcf->exact_match)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"consent_endpoint\" needs a prefix location "
                           "that ends with \"/\", e.g. "
                           "\"location /consent/ { consent_endpoint; }\"");
        return NGX_CONF_ERROR;
    }

    lcf->endpoint = 1;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);

    if (mcf->endpoint.len == 0) {
        mcf->endpoint = clcf->name;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_consent_endpoint_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_str_t                  rest;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    rest.data = r->uri.data + clcf->name.len;
    rest.len = r->uri.len - clcf->name.len;

    if (r->method & NGX_HTTP_POST) {
        if (rest.len != 0) {
            return NGX_HTTP_NOT_FOUND;
        }

        if (ngx_http_consent_same_origin(r) != NGX_OK) {
            return ngx_http_consent_send_error(r, NGX_HTTP_FORBIDDEN,
                                     "cross-site consent requests are refused");
        }

        if (r->headers_in.content_length_n > NGX_HTTP_CONSENT_BODY_MAX) {
            return ngx_http_consent_send_error(r,
                                     NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "the body is too large");
        }

        r->request_body_in_single_buf = 1;

        rc = ngx_http_read_client_request_body(r, ngx_http_consent_post);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_http_consent_add_header(r, "Allow", "GET, HEAD, POST")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (rest.len == 0) {
        return ngx_http_consent_send_page(r);
    }

    if (rest.len == sizeof("state") - 1
        && ngx_strncmp(rest.data, "state", rest.len) == 0)
    {
        return ngx_http_consent_send_state(r);
    }

    /* the consent log's receipt and checkpoint: ngx_http_consent_receipt.c */

    if (rest.len == sizeof("receipt") - 1
        && ngx_strncmp(rest.data, "receipt", rest.len) == 0)
    {
        return ngx_http_consent_receipt_send(r);
    }

    if (rest.len == sizeof("checkpoint") - 1
        && ngx_strncmp(rest.data, "checkpoint", rest.len) == 0)
    {
        return ngx_http_consent_checkpoint_send(r);
    }

    rc = ngx_http_consent_send_asset(r, &rest);

    if (rc == NGX_DECLINED) {
        return NGX_HTTP_NOT_FOUND;
    }

    return rc;
}


static ngx_int_t
ngx_http_consent_send_page(ngx_http_request_t *r)
{
    off_t         len;
    ngx_int_t     rc;
    ngx_chain_t  *out, *cl;

    if (ngx_http_consent_get_ctx(r) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_consent_render_page(r, &out) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = 0;

    for (cl = out; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);

        if (cl->next == NULL) {
            cl->buf->last_buf = 1;
            cl->buf->last_in_chain = 1;
        }
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/html") - 1;

    /* a page that reflects a reader's choice is private and not framed */

    if (ngx_http_consent_add_header(r, "Cache-Control", "no-store") != NGX_OK
        || ngx_http_consent_add_header(r, "X-Frame-Options", "DENY")
           != NGX_OK
        || ngx_http_consent_add_header(r, "Content-Security-Policy",
                                       "frame-ancestors 'none'")
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/*
 * The reader's state as one line of JSON, printed into the pool:
 *
 *     {"categories":{"necessary":true,"analytics":false},"state":"valid",
 *      "revision":1,"gpc":false,"regime":"opt-in","id":"<32 hex digits>"}
 */

static ngx_int_t
ngx_http_consent_send_state(ngx_http_request_t *r)
{
    u_char                        *p;
    size_t                         len;
    ngx_buf_t                     *b;
    ngx_uint_t                     i;
    ngx_http_consent_ctx_t        *ctx;
    ngx_http_consent_category_t   *c;
    ngx_http_consent_main_conf_t  *mcf;

    static const char  *states[] = { "none", "valid", "outdated", "invalid" };

    ctx = ngx_http_consent_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    c = mcf->categories->elts;

    len = sizeof("{\"categories\":{},\"state\":\"outdated\",\"revision\":"
                 ",\"gpc\":false,\"regime\":\"opt-out\",\"id\":\"\"}" CRLF)
          + NGX_INT_T_LEN + 2 * NGX_HTTP_CONSENT_ID_LEN;

    for (i = 0; i < mcf->categories->nelts; i++) {
        len += sizeof("\"\":false,") - 1 + c[i].name.len
               + ngx_escape_json(NULL, c[i].name.data, c[i].name.len);
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(b->last, "{\"categories\":{",
                   sizeof("{\"categories\":{") - 1);

    for (i = 0; i < mcf->categories->nelts; i++) {
        if (i != 0) {
            *p++ = ',';
        }

        *p++ = '"';
        p = (u_char *) ngx_escape_json(p, c[i].name.data, c[i].name.len);
        p = ngx_sprintf(p, "\":%s",
                        (ctx->granted & ((uint64_t) 1 << i)) ? "true"
                                                             : "false");
    }

    p = ngx_sprintf(p, "},\"state\":\"%s\",\"revision\":%i,\"gpc\":%s,"
                    "\"regime\":\"%s\",\"id\":", states[ctx->state],
                    mcf->revision, ctx->gpc ? "true" : "false",
                    ctx->regime == NGX_HTTP_CONSENT_REGIME_OPT_OUT
                    ? "opt-out" : "opt-in");

    if (ctx->state == NGX_HTTP_CONSENT_STATE_VALID) {
        *p++ = '"';
        p = ngx_hex_dump(p, ctx->id, NGX_HTTP_CONSENT_ID_LEN);
        *p++ = '"';

    } else {
        p = ngx_cpymem(p, "null", sizeof("null") - 1);
    }

    *p++ = '}';
    *p++ = LF;

    b->last = p;

    return ngx_http_consent_send_buf(r, NGX_HTTP_OK, "application/json", b);
}


/* a one-line reason as text/plain; the body is read or discarded first */

static ngx_int_t
ngx_http_consent_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason)
{
    size_t      len;
    ngx_buf_t  *b;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "consent request refused: %s", reason);

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    len = ngx_strlen(reason);

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, reason, len);
    *b->last++ = LF;

    return ngx_http_consent_send_buf(r, status, "text/plain", b);
}


/* a short answer, whole in one buffer, never cached */

ngx_int_t
ngx_http_consent_send_buf(ngx_http_request_t *r, ngx_uint_t status,
    char *type, ngx_buf_t *b)
{
    u_char       *p;
    ngx_int_t     rc;
    ngx_chain_t   out;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type.data = (u_char *) type;

    /* the type without its parameters, as nginx compares types */

    p = ngx_strlchr((u_char *) type, (u_char *) type
                    + r->headers_out.content_type.len, ';');
    r->headers_out.content_type_len = (p != NULL)
                                      ? (size_t) (p - (u_char *) type)
                                      : r->headers_out.content_type.len;

    if (ngx_http_consent_add_header(r, "Cache-Control", "no-store")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * Another site must not record a consent for a reader: the Origin (or,
 * lacking it, the Referer) must name this host. Either scheme is accepted
 * so that a TLS-terminating proxy in front of nginx does not break the
 * check; a request carrying neither header is refused.
 */

static ngx_int_t
ngx_http_consent_same_origin(ngx_http_request_t *r)
{
    u_char           *p, *last, *host;
    ngx_str_t        *server;
    ngx_table_elt_t  *h;

    h = ngx_http_consent_header_in(r, "Sec-Fetch-Site",
                                sizeof("Sec-Fetch-Site") - 1);

    if (h != NULL
        && !(h->value.len == sizeof("same-origin") - 1
             && ngx_strncasecmp(h->value.data, (u_char *) "same-origin",
                                h->value.len) == 0))
    {
        return NGX_DECLINED;
    }

    h = ngx_http_consent_header_in(r, "Origin", sizeof("Origin") - 1);

    if (h == NULL) {
        h = r->headers_in.referer;
    }

    if (h == NULL || r->headers_in.host == NULL) {
        return NGX_DECLINED;
    }

    p = h->value.data;
    last = p + h->value.len;

    if (last - p > 7 && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0) {
        p += 7;

    } else if (last - p > 8
               && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0)
    {
        p += 8;

    } else {
        return NGX_DECLINED;
    }

    host = p;

    while (p < last && *p != '/' && *p != '?' && *p != '#') {
        p++;
    }

    server = &r->headers_in.host->value;

    if ((size_t) (p - host) != server->len
        || ngx_strncasecmp(host, server->data, server->len) != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void
ngx_http_consent_post(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_str_t                 body, *type;
    ngx_uint_t                json;
    ngx_http_consent_form_t  *form;

    if (ngx_http_consent_read_body(r, &body) != NGX_OK) {
        ngx_http_finalize_request(r,
                          ngx_http_consent_send_error(r,
                                     NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "the body is too large"));
        return;
    }

    form = ngx_palloc(r->pool, sizeof(ngx_http_consent_form_t));
    if (form == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    if (type != NULL && type->len >= ngx_http_consent_json_type.len
        && ngx_strncasecmp(type->data, ngx_http_consent_json_type.data,
                           ngx_http_consent_json_type.len) == 0)
    {
        json = 1;
        rc = ngx_http_consent_json_parse(body.data, body.len, form);

    } else if (type != NULL && type->len >= ngx_http_consent_form_type.len
               && ngx_strncasecmp(type->data, ngx_http_consent_form_type.data,
                                  ngx_http_consent_form_type.len) == 0)
    {
        json = 0;
        rc = ngx_http_consent_form_parse(body.data, body.len, form);

    } else {
        ngx_http_finalize_request(r,
                          ngx_http_consent_send_error(r,
                                     NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "send application/x-www-form-urlencoded "
                                     "or application/json"));
        return;
    }

    if (rc != 0) {
        ngx_http_finalize_request(r,
                          ngx_http_consent_send_error(r, NGX_HTTP_BAD_REQUEST,
                                                      form->error));
        return;
    }

    ngx_http_finalize_request(r, ngx_http_consent_record(r, form, json));
}


/* the body, in one piece of pool memory that the parsers may decode into */

static ngx_int_t
ngx_http_consent_read_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    off_t         len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    len = 0;

    if (r->request_body == NULL) {
        ngx_str_set(body, "");
        return NGX_OK;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len > NGX_HTTP_CONSENT_BODY_MAX) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                              b->file_pos);
            if (n != b->file_last - b->file_pos) {
                return NGX_ERROR;
            }

            p += n;
            continue;
        }

        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    body->len = p - body->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_record(ngx_http_request_t *r, ngx_http_consent_form_t *form,
    ngx_uint_t json)
{
    ngx_int_t                      n, rc;
    ngx_uint_t                     i;
    ngx_time_t                    *tp;
    ngx_http_consent_ctx_t        *ctx;
    ngx_http_consent_choice_t     *choice;
    ngx_http_consent_texts_t      *texts;
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);

    ctx = ngx_http_consent_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    choice = ngx_pcalloc(r->pool, sizeof(ngx_http_consent_choice_t));
    if (choice == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    choice->action = form->action;
    choice->source = form->source;
    choice->regime = ctx->regime;

    switch (form->action) {

    case NGX_HTTP_CONSENT_ACCEPT_ALL:
        choice->granted = mcf->all_mask;
        break;

    case NGX_HTTP_CONSENT_SAVE:
        choice->granted = mcf->required_mask;

        for (i = 0; i < form->ncategories; i++) {
            n = ngx_http_consent_category_find(mcf,
                                       (u_char *) form->categories[i].data,
                                       form->categories[i].len);
            if (n == NGX_ERROR) {
                return ngx_http_consent_send_error(r, NGX_HTTP_BAD_REQUEST,
                                                   "unknown category");
            }

            choice->granted |= (uint64_t) 1 << n;
        }

        break;

    default: /* reject_all, withdraw: what is required only */
        choice->granted = mcf->required_mask;
    }

    choice->denied = mcf->all_mask & ~choice->granted;

    /* a reader who changes their mind keeps the id of their consent */

    if (ctx->state == NGX_HTTP_CONSENT_STATE_VALID
        || ctx->state == NGX_HTTP_CONSENT_STATE_OUTDATED)
    {
        ngx_memcpy(choice->id, ctx->id, NGX_HTTP_CONSENT_ID_LEN);

    } else if (RAND_bytes(choice->id, NGX_HTTP_CONSENT_ID_LEN) != 1) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "RAND_bytes() failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    tp = ngx_timeofday();
    choice->sec = tp->sec;
    choice->msec = tp->msec;

    if (form->lang.len) {
        /* the banner's language, which may be the page's <html lang> */
        ngx_http_consent_texts_prefer(r, (u_char *) form->lang.data,
                                      form->lang.len);
    }

    texts = ngx_http_consent_texts_pick(r);

    if (texts != NULL) {
        choice->lang = texts->lang;

    } else {
        choice->lang = mcf->language;
    }

    /* no consent without proof: the record first, then the cookie */

    rc = ngx_http_consent_log_write(r, choice);

    if (rc == NGX_AGAIN) {
        /* on disk soon: ngx_http_consent_log.c runs the request again */
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        return ngx_http_consent_send_error(r,
                                     NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "the consent could not be recorded, "
                                     "please try again later");
    }

    if (ngx_http_consent_set_cookie(r, choice) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (choice->denied
        && ngx_http_consent_delete_cookies(r, choice->denied) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_consent_status_count(mcf, choice);

    ctx->choice = choice;
    ctx->state = NGX_HTTP_CONSENT_STATE_VALID;
    ctx->granted = choice->granted;
    ctx->refused = choice->denied;
    ctx->reissue = 0;
    ctx->cookie_regime = choice->regime;
    ngx_memcpy(ctx->id, choice->id, NGX_HTTP_CONSENT_ID_LEN);

    if (json) {
        return ngx_http_consent_send_state(r);
    }

    r->headers_out.location = form->ret.len
        ? ngx_http_consent_header_out(r, "Location", (u_char *) form->ret.data,
                                      form->ret.len)
        : ngx_http_consent_header_out(r, "Location", (u_char *) "/", 1);

    if (r->headers_out.location == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_HTTP_SEE_OTHER;
}


static ngx_int_t
ngx_http_consent_add_header(ngx_http_request_t *r, char *key, char *value)
{
    if (ngx_http_consent_header_out(r, key, (u_char *) value,
                                    ngx_strlen(value))
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}
