
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"


/*
 * consent_placeholder: in place of an iframe the reader refused, the host
 * it came from, what it needs and a button granting that category, that
 * works without JavaScript: a form posting the reader's grants and this
 * one to the endpoint, which comes back to the page at the placeholder's
 * number (the kept iframe carries an anchor of the same number).  A
 * native form and button: keyboard and screen readers need nothing more;
 * no inline style nor script, for a strict CSP.
 */


typedef struct {
    const char                  *lang;
    const char                  *text;     /* then, with a host: */
    const char                  *from;     /* and the host */
    const char                  *needs;    /* then the category, quoted */
    const char                  *end;
    const char                  *accept;   /* then the category */
    const char                  *show;
} ngx_http_consent_placeholder_texts_t;


static u_char *ngx_http_consent_placeholder_cpy(u_char *p, const char *s);
static u_char *ngx_http_consent_placeholder_input(u_char *p,
    const char *name, ngx_str_t *value);


static ngx_http_consent_placeholder_texts_t
    ngx_http_consent_placeholder_texts[] =
{
    { "en", "This content", " from ",
            " is not shown: it needs your consent to \xe2\x80\x9c",
            "\xe2\x80\x9d.", "Accept ", " and show" },
    { "fr", "Ce contenu", " de ",
            " n\xe2\x80\x99" "est pas affich\xc3\xa9 : il demande votre"
            " accord pour \xc2\xab\xc2\xa0",
            "\xc2\xa0\xc2\xbb.", "Accepter ", " et afficher" },
    { NULL, NULL, NULL, NULL, NULL, NULL, NULL }
};


/* a fixed part; the fields' names hold nothing to escape */
#define NGX_HTTP_CONSENT_PLACEHOLDER_INPUT                                    \
    "<input type=\"hidden\" name=\"\" value=\"\">"


ngx_int_t
ngx_http_consent_placeholder(ngx_http_request_t *r, ngx_uint_t n,
    ngx_uint_t category, uint64_t granted, ngx_uint_t anchor,
    const u_char *host, size_t host_len, ngx_str_t *html)
{
    u_char                                *p;
    size_t                                 len;
    ngx_str_t                              ret, name, *cat;
    ngx_uint_t                             i, k;
    ngx_http_consent_texts_t              *texts;
    ngx_http_consent_category_t           *c;
    ngx_http_consent_main_conf_t          *mcf;
    ngx_http_consent_placeholder_texts_t  *t;
    u_char                                 id[NGX_INT_T_LEN + 16];

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);

    name.len = ngx_sprintf(id, "consent-embed-%ui", n) - id;
    name.data = id;

    if (anchor || mcf->endpoint.len == 0) {
        /* where a granted iframe stays; without an endpoint, only that */
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

    texts = ngx_http_consent_texts_pick(r);
    t = ngx_http_consent_placeholder_texts;

    for (k = 0; texts != NULL && t[k].lang != NULL; k++) {
        if (texts->lang.len >= 2
            && ngx_strncmp(texts->lang.data, t[k].lang, 2) == 0)
        {
            t = &t[k];
            break;
        }
    }

    ngx_http_consent_render_return(r, &ret);

    /* the length, then the markup */

    len = sizeof("<div class=\"consent consent-placeholder\" id=\"\""
                 " role=\"group\" aria-labelledby=\"-text\" lang=\"\">"
                 "<p id=\"-text\"></p><form method=\"post\" action=\"\">"
                 "<button class=\"consent-btn\" type=\"submit\">"
                 "</button></form></div>#")
          + 4 * name.len + 2
          + ngx_strlen(t->text)
          + ngx_strlen(t->from)
          + ngx_escape_html(NULL, (u_char *) host, host_len) + host_len
          + ngx_strlen(t->needs)
          + ngx_strlen(t->end)
          + ngx_strlen(t->accept)
          + ngx_strlen(t->show)
          + 2 * ngx_escape_html(NULL, cat->data, cat->len) + 2 * cat->len
          + ngx_escape_html(NULL, mcf->endpoint.data, mcf->endpoint.len)
          + mcf->endpoint.len
          + ngx_escape_html(NULL, ret.data, ret.len) + ret.len
          + (mcf->categories->nelts + 3)
            * (sizeof(NGX_HTTP_CONSENT_PLACEHOLDER_INPUT) + sizeof("category"));

    for (i = 0; i < mcf->categories->nelts; i++) {
        len += ngx_escape_html(NULL, c[i].name.data, c[i].name.len)
               + c[i].name.len;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    html->data = p;

    p = ngx_sprintf(p, "<div class=\"consent consent-placeholder\""
                       " id=\"%V\" role=\"group\""
                       " aria-labelledby=\"%V-text\" lang=\"%s\">"
                       "<p id=\"%V-text\">", &name, &name,
                       (u_char *) t->lang, &name);
    p = ngx_http_consent_placeholder_cpy(p, t->text);

    if (host_len) {
        p = ngx_http_consent_placeholder_cpy(p, t->from);
        p = (u_char *) ngx_escape_html(p, (u_char *) host, host_len);
    }

    p = ngx_http_consent_placeholder_cpy(p, t->needs);
    p = (u_char *) ngx_escape_html(p, cat->data, cat->len);
    p = ngx_http_consent_placeholder_cpy(p, t->end);
    p = ngx_cpymem(p, "</p><form method=\"post\" action=\"",
                   sizeof("</p><form method=\"post\" action=\"") - 1);
    p = (u_char *) ngx_escape_html(p, mcf->endpoint.data, mcf->endpoint.len);
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
    p = (u_char *) ngx_escape_html(p, ret.data, ret.len);
    p = ngx_sprintf(p, "#%V\"><button class=\"consent-btn\" type=\"submit\">",
                    &name);
    p = ngx_http_consent_placeholder_cpy(p, t->accept);
    p = (u_char *) ngx_escape_html(p, cat->data, cat->len);
    p = ngx_http_consent_placeholder_cpy(p, t->show);
    p = ngx_cpymem(p, "</button></form></div>",
                   sizeof("</button></form></div>") - 1);

    html->len = p - html->data;

    return NGX_OK;
}


static u_char *
ngx_http_consent_placeholder_cpy(u_char *p, const char *s)
{
    return ngx_cpymem(p, s, ngx_strlen(s));
}


static u_char *
ngx_http_consent_placeholder_input(u_char *p, const char *name,
    ngx_str_t *value)
{
    p = ngx_sprintf(p, "<input type=\"hidden\" name=\"%s\" value=\"", name);
    p = (u_char *) ngx_escape_html(p, value->data, value->len);

    return ngx_cpymem(p, "\">", 2);
}
