
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"


/*
 * consent_placeholder: in place of an embed the reader refused, the host
 * it came from, the category it needs, the operator's words for it, and a
 * button granting that category, that works without JavaScript: a form
 * posting the reader's grants and this one to the endpoint, which comes
 * back to the page at the placeholder's number (an embed that stays has an
 * anchor of the same number).  A native form and button: keyboard and
 * screen readers need nothing more; no inline style nor script, for a
 * strict CSP.  The words are the texts' "placeholder", "placeholder_nohost"
 * and "placeholder_accept", with {host} and {category} (its title), and the
 * category's own "placeholder", if it has one; all escaped.
 */


static ngx_int_t ngx_http_consent_placeholder_title(ngx_http_request_t *r,
    json_t *cats, ngx_str_t *name, ngx_str_t *title);
static size_t ngx_http_consent_placeholder_fill(u_char *dst, json_t *v,
    ngx_str_t *host, ngx_str_t *title);
static size_t ngx_http_consent_placeholder_escape(u_char *dst, u_char *src,
    size_t len);
static u_char *ngx_http_consent_placeholder_input(u_char *p,
    const char *name, ngx_str_t *value);


/* a fixed part; the fields' names hold nothing to escape */
#define NGX_HTTP_CONSENT_PLACEHOLDER_INPUT                                    \
    "<input type=\"hidden\" name=\"\" value=\"\">"


ngx_int_t
ngx_http_consent_placeholder(ngx_http_request_t *r, ngx_uint_t n,
    ngx_uint_t category, uint64_t granted, ngx_uint_t what,
    const u_char *host, size_t host_len, ngx_str_t *html)
{
    u_char                        *p;
    size_t                         len;
    json_t                        *text, *accept, *cats, *own, *words;
    ngx_str_t                      ret, name, title, h, *cat;
    ngx_uint_t                     i;
    ngx_http_consent_texts_t      *texts;
    ngx_http_consent_category_t   *c;
    ngx_http_consent_main_conf_t  *mcf;
    u_char                         id[NGX_INT_T_LEN + 16];

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);

    name.len = ngx_sprintf(id, "consent-embed-%ui", n) - id;
    name.data = id;

    texts = ngx_http_consent_texts_pick(r);

    if (what == NGX_HTTP_CONSENT_EMBED_ANCHOR
        || mcf->endpoint.len == 0 || texts == NULL)
    {
        /*
         * where a granted embed stays; without an endpoint, only that, and
         * after an emptied player nothing: the anchor before it is there
         */

        if (what == NGX_HTTP_CONSENT_EMBED_AFTER) {
            html->data = NULL;
            html->len = 0;
            return NGX_OK;
        }

        html->len = sizeof("<span id=\"\"></span>") - 1 + name.len;
        html->data = ngx_pnalloc(r->pool, html->len);
        if (html->data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(html->data, "<span id=\"%V\"></span>", &name);
        return NGX_OK;
    }

    if (mcf->categories == NULL) {
        return NGX_ERROR;
    }

    c = mcf->categories->elts;
    cat = NULL;

    for (i = 0; i < mcf->categories->nelts; i++) {
        if (c[i].index == category) {
            cat = &c[i].name;
        }
    }

    if (cat == NULL) {
        return NGX_ERROR;
    }

    cats = json_object_get(texts->json, "categories");

    if (ngx_http_consent_placeholder_title(r, cats, cat, &title) != NGX_OK) {
        return NGX_ERROR;
    }

    text = json_object_get(texts->json, host_len ? "placeholder"
                                                 : "placeholder_nohost");
    accept = json_object_get(texts->json, "placeholder_accept");
    own = json_object_getn(cats, (const char *) cat->data, cat->len);
    words = json_object_get(own, "placeholder");

    h.data = (u_char *) host;
    h.len = host_len;

    ngx_http_consent_render_return(r, &ret);

    /* the length, then the markup */

    len = sizeof("<div class=\"consent consent-placeholder\" id=\"\""
                 " role=\"group\" aria-labelledby=\"-text\" lang=\"\">"
                 "<p id=\"-text\"></p><p></p>"
                 "<form method=\"post\" action=\"\">"
                 "<button class=\"consent-btn\" type=\"submit\">"
                 "</button></form></div>#")
          + 4 * name.len + texts->lang.len
          + ngx_http_consent_placeholder_fill(NULL, text, &h, &title)
          + ngx_http_consent_placeholder_fill(NULL, words, &h, &title)
          + ngx_http_consent_placeholder_fill(NULL, accept, &h, &title)
          + ngx_http_consent_placeholder_escape(NULL, mcf->endpoint.data,
                                                mcf->endpoint.len)
          + ngx_http_consent_placeholder_escape(NULL, ret.data, ret.len)
          + (mcf->categories->nelts + 3)
            * (sizeof(NGX_HTTP_CONSENT_PLACEHOLDER_INPUT) + sizeof("category"));

    for (i = 0; i < mcf->categories->nelts; i++) {
        len += ngx_http_consent_placeholder_escape(NULL, c[i].name.data,
                                                   c[i].name.len);
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    html->data = p;

    p = ngx_cpymem(p, "<div class=\"consent consent-placeholder\"",
                   sizeof("<div class=\"consent consent-placeholder\"") - 1);

    if (what == NGX_HTTP_CONSENT_EMBED_PLACEHOLDER) {
        /* after a player, the anchor before it has the id */
        p = ngx_sprintf(p, " id=\"%V\"", &name);
    }

    p = ngx_sprintf(p, " role=\"group\" aria-labelledby=\"%V-text\""
                       " lang=\"%V\"><p id=\"%V-text\">",
                    &name, &texts->lang, &name);
    p += ngx_http_consent_placeholder_fill(p, text, &h, &title);
    p = ngx_cpymem(p, "</p>", sizeof("</p>") - 1);

    if (json_is_string(words)) {
        p = ngx_cpymem(p, "<p>", sizeof("<p>") - 1);
        p += ngx_http_consent_placeholder_fill(p, words, &h, &title);
        p = ngx_cpymem(p, "</p>", sizeof("</p>") - 1);
    }

    p = ngx_cpymem(p, "<form method=\"post\" action=\"",
                   sizeof("<form method=\"post\" action=\"") - 1);
    p += ngx_http_consent_placeholder_escape(p, mcf->endpoint.data,
                                             mcf->endpoint.len);
    *p++ = '"';
    *p++ = '>';

    /* save: the optional categories granted, and this one */

    p = ngx_http_consent_placeholder_input(p, "action",
                                           &(ngx_str_t) ngx_string("save"));
    p = ngx_http_consent_placeholder_input(p, "source",
                                           &(ngx_str_t) ngx_string("banner"));

    for (i = 0; i < mcf->categories->nelts; i++) {
        if (!c[i].required
            && (c[i].index == category || ((granted >> c[i].index) & 1)))
        {
            p = ngx_http_consent_placeholder_input(p, "category", &c[i].name);
        }
    }

    p = ngx_cpymem(p, "<input type=\"hidden\" name=\"return\" value=\"",
                   sizeof("<input type=\"hidden\" name=\"return\" value=\"")
                   - 1);
    p += ngx_http_consent_placeholder_escape(p, ret.data, ret.len);
    p = ngx_sprintf(p, "#%V\"><button class=\"consent-btn\" type=\"submit\">",
                    &name);
    p += ngx_http_consent_placeholder_fill(p, accept, &h, &title);
    p = ngx_cpymem(p, "</button></form></div>",
                   sizeof("</button></form></div>") - 1);

    html->len = p - html->data;

    return NGX_OK;
}


/*
 * the category's title in the reader's language: its own, or that of "*"
 * with "{name}" replaced by its name, or its name
 */

static ngx_int_t
ngx_http_consent_placeholder_title(ngx_http_request_t *r, json_t *cats,
    ngx_str_t *name, ngx_str_t *title)
{
    u_char  *s, *end, *m, *p;
    size_t   len;
    json_t  *cat, *v;

    cat = json_object_getn(cats, (const char *) name->data, name->len);
    v = json_object_get(cat, "title");

    if (json_is_string(v)) {
        title->data = (u_char *) json_string_value(v);
        title->len = json_string_length(v);
        return NGX_OK;
    }

    v = json_object_get(json_object_get(cats, "*"), "title");

    if (!json_is_string(v)) {
        *title = *name;
        return NGX_OK;
    }

    s = (u_char *) json_string_value(v);
    end = s + json_string_length(v);
    len = 0;

    for (p = s; (m = ngx_strlcasestrn(p, end, (u_char *) "{name}", 5));
         p = m + 6)
    {
        len += (m - p) + name->len;
    }

    len += end - p;

    title->data = ngx_pnalloc(r->pool, len);
    if (title->data == NULL) {
        return NGX_ERROR;
    }

    title->len = len;

    for (p = s, s = title->data;
         (m = ngx_strlcasestrn(p, end, (u_char *) "{name}", 5));
         p = m + 6)
    {
        s = ngx_cpymem(s, p, m - p);
        s = ngx_cpymem(s, name->data, name->len);
    }

    ngx_memcpy(s, p, end - p);

    return NGX_OK;
}


/*
 * a text with {host} and {category} replaced, escaped, into dst: its
 * length, which dst NULL only counts; nothing if v is no string
 */

static size_t
ngx_http_consent_placeholder_fill(u_char *dst, json_t *v, ngx_str_t *host,
    ngx_str_t *title)
{
    u_char     *p, *end, *m;
    size_t      len, skip;
    ngx_str_t  *value;

    if (!json_is_string(v)) {
        return 0;
    }

    p = (u_char *) json_string_value(v);
    end = p + json_string_length(v);
    len = 0;

    while (p < end) {
        m = ngx_strlchr(p, end, '{');

        if (m == NULL) {
            m = end;
        }

        len += ngx_http_consent_placeholder_escape(dst ? dst + len : NULL,
                                                   p, m - p);
        p = m;

        if (p == end) {
            break;
        }

        if (end - p >= 6 && ngx_strncmp(p, "{host}", 6) == 0) {
            value = host;
            skip = 6;

        } else if (end - p >= 10 && ngx_strncmp(p, "{category}", 10) == 0) {
            value = title;
            skip = 10;

        } else {
            value = NULL;
            skip = 1;
        }

        len += ngx_http_consent_placeholder_escape(dst ? dst + len : NULL,
                                                   value ? value->data : p,
                                                   value ? value->len : skip);
        p += skip;
    }

    return len;
}


/* len bytes HTML-escaped into dst: their length; dst NULL only counts */

static size_t
ngx_http_consent_placeholder_escape(u_char *dst, u_char *src, size_t len)
{
    if (dst == NULL) {
        return len + ngx_escape_html(NULL, src, len);
    }

    return (u_char *) ngx_escape_html(dst, src, len) - dst;
}


static u_char *
ngx_http_consent_placeholder_input(u_char *p, const char *name,
    ngx_str_t *value)
{
    p = ngx_sprintf(p, "<input type=\"hidden\" name=\"%s\" value=\"", name);
    p = (u_char *) ngx_escape_html(p, value->data, value->len);

    return ngx_cpymem(p, "\">", 2);
}
