
/*
 * Copyright (C) nginx-consent developers
 */


#include <string.h>

#include <jansson.h>

#include "ngx_http_consent_form.h"
#include "ngx_http_consent_lang.h"


static int ngx_http_consent_form_decode(unsigned char *p, size_t *len);
static int ngx_http_consent_form_field(ngx_http_consent_form_t *form,
    const unsigned char *key, size_t key_len, const unsigned char *value,
    size_t len);
static int ngx_http_consent_form_action(ngx_http_consent_form_t *form,
    const unsigned char *value, size_t len);
static int ngx_http_consent_form_source(ngx_http_consent_form_t *form,
    const unsigned char *value, size_t len);
static int ngx_http_consent_form_category(ngx_http_consent_form_t *form,
    const unsigned char *value, size_t len);
static int ngx_http_consent_form_return(ngx_http_consent_form_t *form,
    const unsigned char *value, size_t len);
static int ngx_http_consent_is(const unsigned char *value, size_t len,
    const char *word);


int
ngx_http_consent_form_parse(unsigned char *body, size_t len,
    ngx_http_consent_form_t *form)
{
    size_t          klen, vlen;
    unsigned char  *p, *last, *key, *value;

    memset(form, 0, offsetof(ngx_http_consent_form_t, buf));

    p = body;
    last = body + len;

    while (p < last) {
        key = p;

        while (p < last && *p != '&' && *p != '=') {
            p++;
        }

        klen = p - key;
        value = p;
        vlen = 0;

        if (p < last && *p == '=') {
            value = ++p;

            while (p < last && *p != '&') {
                p++;
            }

            vlen = p - value;
        }

        if (p < last) {
            p++;
        }

        if (klen == 0) {
            continue;
        }

        if (ngx_http_consent_form_decode(key, &klen) != 0
            || ngx_http_consent_form_decode(value, &vlen) != 0)
        {
            form->error = "bad percent-encoding in the form";
            return -1;
        }

        if (ngx_http_consent_form_field(form, key, klen, value, vlen) != 0) {
            return -1;
        }
    }

    if (form->action == NGX_HTTP_CONSENT_FORM_NONE) {
        form->error = "the form has no \"action\"";
        return -1;
    }

    if (form->source == NGX_HTTP_CONSENT_FORM_SOURCE_NONE) {
        form->source = NGX_HTTP_CONSENT_FORM_SOURCE_PAGE;
    }

    return 0;
}


int
ngx_http_consent_json_parse(const unsigned char *body, size_t len,
    ngx_http_consent_form_t *form)
{
    int            rc;
    size_t         i, n, before;
    json_t        *root, *v, *item;
    const char    *s;
    json_error_t   err;

    memset(form, 0, offsetof(ngx_http_consent_form_t, buf));

    root = json_loadb((const char *) body, len,
                      JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        form->error = "the body is not valid JSON";
        return -1;
    }

    rc = -1;
    n = 0;

    if (!json_is_object(root)) {
        form->error = "the JSON body is not an object";
        goto done;
    }

    v = json_object_get(root, "action");

    if (!json_is_string(v)) {
        form->error = "the JSON body has no \"action\" string";
        goto done;
    }

    s = json_string_value(v);

    if (ngx_http_consent_form_action(form, (const unsigned char *) s,
                                     json_string_length(v))
        != 0)
    {
        goto done;
    }

    v = json_object_get(root, "source");

    if (v != NULL) {
        if (!json_is_string(v)) {
            form->error = "\"source\" is not a string";
            goto done;
        }

        s = json_string_value(v);

        if (ngx_http_consent_form_source(form, (const unsigned char *) s,
                                         json_string_length(v))
            != 0)
        {
            goto done;
        }

    } else {
        form->source = NGX_HTTP_CONSENT_FORM_SOURCE_API;
    }

    v = json_object_get(root, "categories");

    if (v != NULL) {
        if (!json_is_array(v)) {
            form->error = "\"categories\" is not an array";
            goto done;
        }

        json_array_foreach(v, i, item) {
            if (!json_is_string(item)) {
                form->error = "\"categories\" holds something else than "
                              "strings";
                goto done;
            }

            s = json_string_value(item);

            if (json_string_length(item) > NGX_HTTP_CONSENT_NAME_MAX) {
                form->error = "invalid category name";
                goto done;
            }

            memcpy(form->buf + n, s, json_string_length(item));
            before = form->ncategories;

            if (ngx_http_consent_form_category(form, form->buf + n,
                                               json_string_length(item))
                != 0)
            {
                goto done;
            }

            if (form->ncategories != before) {
                n += json_string_length(item);
            }
        }
    }

    v = json_object_get(root, "lang");

    if (json_is_string(v)
        && ngx_http_consent_lang_valid(
               (const unsigned char *) json_string_value(v),
               json_string_length(v)))
    {
        /* the banner's language, kept after the names */
        memcpy(form->buf + n, json_string_value(v), json_string_length(v));
        form->lang.data = form->buf + n;
        form->lang.len = json_string_length(v);
    }

    rc = 0;

done:

    json_decref(root);

    return rc;
}


int
ngx_http_consent_safe_return(const unsigned char *path, size_t len)
{
    size_t  i;

    /* a path of this site only: not "//host", not "/\host", no scheme */

    if (len == 0 || len > NGX_HTTP_CONSENT_RETURN_MAX || path[0] != '/') {
        return 0;
    }

    if (len > 1 && (path[1] == '/' || path[1] == '\\')) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (path[i] <= 0x20 || path[i] >= 0x7f || path[i] == '\\') {
            return 0;
        }
    }

    return 1;
}


static int
ngx_http_consent_form_decode(unsigned char *p, size_t *len)
{
    int             hi, lo;
    unsigned char  *s, *d, *last;

    s = p;
    d = p;
    last = p + *len;

    while (s < last) {
        if (*s == '+') {
            *d++ = ' ';
            s++;
            continue;
        }

        if (*s != '%') {
            *d++ = *s++;
            continue;
        }

        if (last - s < 3) {
            return -1;
        }

        hi = (s[1] >= '0' && s[1] <= '9') ? s[1] - '0'
             : ((s[1] | 0x20) >= 'a' && (s[1] | 0x20) <= 'f')
               ? (s[1] | 0x20) - 'a' + 10 : -1;
        lo = (s[2] >= '0' && s[2] <= '9') ? s[2] - '0'
             : ((s[2] | 0x20) >= 'a' && (s[2] | 0x20) <= 'f')
               ? (s[2] | 0x20) - 'a' + 10 : -1;

        if (hi < 0 || lo < 0) {
            return -1;
        }

        *d++ = (unsigned char) (hi << 4 | lo);
        s += 3;
    }

    *len = d - p;

    return 0;
}


static int
ngx_http_consent_form_field(ngx_http_consent_form_t *form,
    const unsigned char *key, size_t key_len, const unsigned char *value,
    size_t len)
{
    if (ngx_http_consent_is(key, key_len, "action")) {
        if (form->action != NGX_HTTP_CONSENT_FORM_NONE) {
            form->error = "\"action\" is given twice";
            return -1;
        }

        return ngx_http_consent_form_action(form, value, len);
    }

    if (ngx_http_consent_is(key, key_len, "category")) {
        return ngx_http_consent_form_category(form, value, len);
    }

    if (ngx_http_consent_is(key, key_len, "return")) {
        return ngx_http_consent_form_return(form, value, len);
    }

    if (ngx_http_consent_is(key, key_len, "source")) {
        if (form->source != NGX_HTTP_CONSENT_FORM_SOURCE_NONE) {
            form->error = "\"source\" is given twice";
            return -1;
        }

        return ngx_http_consent_form_source(form, value, len);
    }

    if (ngx_http_consent_is(key, key_len, "lang")) {
        /* the banner's language; anything but a language tag is ignored */

        if (ngx_http_consent_lang_valid(value, len)) {
            form->lang.data = value;
            form->lang.len = len;
        }

        return 0;
    }

    /* other fields (a submit button's name, say) are ignored */

    return 0;
}


static int
ngx_http_consent_form_action(ngx_http_consent_form_t *form,
    const unsigned char *value, size_t len)
{
    if (ngx_http_consent_is(value, len, "accept_all")) {
        form->action = NGX_HTTP_CONSENT_FORM_ACCEPT_ALL;

    } else if (ngx_http_consent_is(value, len, "reject_all")) {
        form->action = NGX_HTTP_CONSENT_FORM_REJECT_ALL;

    } else if (ngx_http_consent_is(value, len, "save")) {
        form->action = NGX_HTTP_CONSENT_FORM_SAVE;

    } else if (ngx_http_consent_is(value, len, "withdraw")) {
        form->action = NGX_HTTP_CONSENT_FORM_WITHDRAW;

    } else {
        form->error = "unknown \"action\": use accept_all, reject_all, save "
                      "or withdraw";
        return -1;
    }

    return 0;
}


static int
ngx_http_consent_form_source(ngx_http_consent_form_t *form,
    const unsigned char *value, size_t len)
{
    if (ngx_http_consent_is(value, len, "banner")) {
        form->source = NGX_HTTP_CONSENT_FORM_SOURCE_BANNER;

    } else if (ngx_http_consent_is(value, len, "page")) {
        form->source = NGX_HTTP_CONSENT_FORM_SOURCE_PAGE;

    } else if (ngx_http_consent_is(value, len, "api")) {
        form->source = NGX_HTTP_CONSENT_FORM_SOURCE_API;

    } else {
        form->error = "unknown \"source\": use banner, page or api";
        return -1;
    }

    return 0;
}


static int
ngx_http_consent_form_category(ngx_http_consent_form_t *form,
    const unsigned char *value, size_t len)
{
    size_t  i;

    if (!ngx_http_consent_valid_name(value, len)) {
        form->error = "invalid category name";
        return -1;
    }

    for (i = 0; i < form->ncategories; i++) {
        if (form->categories[i].len == len
            && memcmp(form->categories[i].data, value, len) == 0)
        {
            return 0;
        }
    }

    if (form->ncategories == NGX_HTTP_CONSENT_MAX_CATEGORIES) {
        form->error = "too many categories";
        return -1;
    }

    form->categories[form->ncategories].data = value;
    form->categories[form->ncategories++].len = len;

    return 0;
}


static int
ngx_http_consent_form_return(ngx_http_consent_form_t *form,
    const unsigned char *value, size_t len)
{
    if (form->ret.data != NULL) {
        form->error = "\"return\" is given twice";
        return -1;
    }

    /* an unsafe "return" is not an error: the answer goes to "/" */

    form->ret.data = value;
    form->ret.len = ngx_http_consent_safe_return(value, len) ? len : 0;

    return 0;
}


static int
ngx_http_consent_is(const unsigned char *value, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(value, word, len) == 0;
}
