
/*
 * Copyright (C) nginx-consent developers
 *
 * consent_cookie_info: what the law asks to be told of each cookie (its
 * purpose, how long it lasts, who sets and reads it: Planet49, CNIL
 * 2020-092), and the cookies of a category with what is known of them, as
 * the preferences page shows them and the consent log's policy record
 * carries them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_consent_module.h"


static void ngx_http_consent_disclose_duration(
    ngx_http_consent_cookie_info_t *info);
static ngx_int_t ngx_http_consent_disclose_value(ngx_str_t *arg,
    const char *key, ngx_str_t *value);
static ngx_uint_t ngx_http_consent_disclose_utf8(u_char *p, size_t len);
static int ngx_libc_cdecl ngx_http_consent_disclose_cmp(const void *one,
    const void *two);
static ngx_http_consent_cookie_info_t *ngx_http_consent_disclose_find(
    ngx_http_consent_main_conf_t *mcf, ngx_str_t *name);
static ngx_int_t ngx_http_consent_disclose_add(ngx_array_t *a,
    ngx_http_consent_main_conf_t *mcf, ngx_str_t *name);
static json_t *ngx_http_consent_disclose_str(ngx_str_t *s);


/*
 * consent_cookie_info name [catalogue] purpose=text [duration=text]
 *                     [controller=name [policy=URL]] [category=name];
 *
 * One list for the whole configuration, in whichever block a line is (the
 * catalogue may be included in a server or location block).  A later line
 * for the same name replaces an earlier one, but a "catalogue" line (those
 * of trackers.conf) never replaces the operator's: the catalogue included
 * again in a server block leaves the operator's lines in force.
 */

char *
ngx_http_consent_cookie_info(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_main_conf_t *mcf = conf;

    u_char                          *p;
    ngx_str_t                       *value, cat;
    ngx_uint_t                       i, index;
    ngx_http_consent_cookie_info_t  *info, new;

    value = cf->args->elts;

    ngx_memzero(&new, sizeof(ngx_http_consent_cookie_info_t));

    new.name = value[1];
    new.category = NGX_ERROR;

    for (p = new.name.data; p < new.name.data + new.name.len; p++) {
        if (*p <= ' ' || *p >= 127
            || ngx_strchr("()<>@,;:\\\"/[]?={}", *p) != NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid cookie name \"%V\" in "
                               "\"consent_cookie_info\"; use the name as "
                               "consent_strip_cookie gives it, e.g. "
                               "\"_ga\" or \"_ga_*\"", &new.name);
            return NGX_CONF_ERROR;
        }
    }

    ngx_str_null(&cat);

    for (i = 2; i < cf->args->nelts; i++) {

        if (i == 2 && value[i].len == sizeof("catalogue") - 1
            && ngx_strncmp(value[i].data, "catalogue", value[i].len) == 0)
        {
            new.catalogue = 1;
            continue;
        }

        if (!ngx_http_consent_disclose_utf8(value[i].data, value[i].len)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"consent_cookie_info %V\": \"%V\" is not "
                               "UTF-8 text without control characters; "
                               "save the file as UTF-8", &new.name,
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_consent_disclose_value(&value[i], "purpose=",
                                            &new.purpose) == NGX_OK
            || ngx_http_consent_disclose_value(&value[i], "duration=",
                                               &new.duration) == NGX_OK
            || ngx_http_consent_disclose_value(&value[i], "controller=",
                                               &new.controller) == NGX_OK
            || ngx_http_consent_disclose_value(&value[i], "policy=",
                                               &new.policy) == NGX_OK
            || ngx_http_consent_disclose_value(&value[i], "category=",
                                               &cat) == NGX_OK)
        {
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in "
                           "\"consent_cookie_info\"; use purpose=, "
                           "duration=, controller=, policy= or category=, "
                           "each once and not empty", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (new.purpose.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"consent_cookie_info %V\" has no purpose; add "
                           "\"purpose=...\" saying what the cookie is for",
                           &new.name);
        return NGX_CONF_ERROR;
    }

    if (new.policy.len && new.controller.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"policy=\" of \"consent_cookie_info %V\" needs "
                           "\"controller=\": the site's own policy is "
                           "consent_policy_url", &new.name);
        return NGX_CONF_ERROR;
    }

    if (new.policy.len
        && ngx_strncasecmp(new.policy.data, (u_char *) "https://", 8) != 0
        && ngx_strncasecmp(new.policy.data, (u_char *) "http://", 7) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"policy=%V\" of \"consent_cookie_info %V\" is "
                           "not a URL; give the controller's privacy policy "
                           "as https://...", &new.policy, &new.name);
        return NGX_CONF_ERROR;
    }

    ngx_http_consent_disclose_duration(&new);

    if (cat.len) {
        if (ngx_http_consent_category_arg(cf, mcf, &cat, &index)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        new.category = index;
    }

    if (mcf->cookie_info == NULL) {
        mcf->cookie_info = ngx_array_create(cf->pool, 64,
                                      sizeof(ngx_http_consent_cookie_info_t));
        if (mcf->cookie_info == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    /* a later line for the same name overrides: at most a few hundred */

    info = mcf->cookie_info->elts;

    for (i = 0; i < mcf->cookie_info->nelts; i++) {
        if (info[i].name.len == new.name.len
            && ngx_strncmp(info[i].name.data, new.name.data, new.name.len)
               == 0)
        {
            if (!new.catalogue || info[i].catalogue) {
                info[i] = new;
            }

            return NGX_CONF_OK;
        }
    }

    info = ngx_array_push(mcf->cookie_info);
    if (info == NULL) {
        return NGX_CONF_ERROR;
    }

    *info = new;

    return NGX_CONF_OK;
}


/*
 * A duration the page can say in the reader's language: "13 months",
 * "1 Year", "30 days" (a number, a unit, its plural), "session" or "End
 * of session (browser)"; any other text is shown as written.
 */

static void
ngx_http_consent_disclose_duration(ngx_http_consent_cookie_info_t *info)
{
    u_char      *p, *last;
    size_t       len;
    uint64_t     n;
    ngx_uint_t   u;

    p = info->duration.data;
    last = p + info->duration.len;
    info->unit = NGX_HTTP_CONSENT_DURATION_TEXT;

    if (p == NULL) {
        return;
    }

    if ((info->duration.len == sizeof("session") - 1
         || info->duration.len == sizeof("session cookie") - 1)
        && ngx_strncasecmp(p, (u_char *) "session cookie",
                           info->duration.len) == 0)
    {
        info->unit = NGX_HTTP_CONSENT_DURATION_SESSION;
        return;
    }

    if (info->duration.len >= sizeof("end of session") - 1
        && ngx_strncasecmp(p, (u_char *) "end of session",
                           sizeof("end of session") - 1) == 0)
    {
        info->unit = NGX_HTTP_CONSENT_DURATION_SESSION;
        return;
    }

    for (n = 0; p < last && *p >= '0' && *p <= '9'; p++) {
        if (n >= 1000000000) {
            return;
        }

        n = n * 10 + (*p - '0');
    }

    if (p == info->duration.data || p == last || *p++ != ' ') {
        return;
    }

    len = last - p;

    if (len && (p[len - 1] == 's' || p[len - 1] == 'S')) {
        len--;
    }

    for (u = NGX_HTTP_CONSENT_DURATION_SECOND;
         ngx_http_consent_durations[u] != NULL;
         u++)
    {
        if (len == ngx_strlen(ngx_http_consent_durations[u])
            && ngx_strncasecmp(p, (u_char *) ngx_http_consent_durations[u],
                               len)
               == 0)
        {
            info->unit = u;
            info->count = n;
            return;
        }
    }
}


/* "key=value": NGX_OK and the value, NGX_DECLINED for another key */

static ngx_int_t
ngx_http_consent_disclose_value(ngx_str_t *arg, const char *key,
    ngx_str_t *value)
{
    size_t  len;

    len = ngx_strlen(key);

    if (arg->len <= len || ngx_strncmp(arg->data, key, len) != 0
        || value->data != NULL)
    {
        return NGX_DECLINED;
    }

    value->data = arg->data + len;
    value->len = arg->len - len;

    return NGX_OK;
}


/* valid UTF-8 and no control characters (a tab or line break included) */

static ngx_uint_t
ngx_http_consent_disclose_utf8(u_char *p, size_t len)
{
    u_char    *last;
    uint32_t   c;

    last = p + len;

    while (p < last) {

        if (*p < 0x80) {
            if (*p < 0x20 || *p == 0x7f) {
                return 0;
            }

            p++;
            continue;
        }

        c = ngx_utf8_decode(&p, last - p);

        if (c > 0x10ffff || c < 0xa0) {
            return 0;
        }
    }

    return 1;
}


/*
 * The consent cookie is the module's own: unless the operator describes
 * it, it is described as the site's, kept for max_age; the page says so
 * in the reader's language, the policy record in English.  Then the list
 * is sorted by name, for a binary search at each page.
 */

ngx_int_t
ngx_http_consent_disclose_init(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf)
{
    time_t                           age;
    ngx_uint_t                       i;
    ngx_http_consent_cookie_info_t  *info;

    if (mcf->cookie_info == NULL) {
        mcf->cookie_info = ngx_array_create(cf->pool, 1,
                                      sizeof(ngx_http_consent_cookie_info_t));
        if (mcf->cookie_info == NULL) {
            return NGX_ERROR;
        }
    }

    info = mcf->cookie_info->elts;

    for (i = 0; i < mcf->cookie_info->nelts; i++) {
        if (info[i].name.len == mcf->cookie_name.len
            && ngx_strncmp(info[i].name.data, mcf->cookie_name.data,
                           mcf->cookie_name.len)
               == 0)
        {
            break;
        }
    }

    if (i == mcf->cookie_info->nelts) {
        info = ngx_array_push(mcf->cookie_info);
        if (info == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(info, sizeof(ngx_http_consent_cookie_info_t));

        info->name = mcf->cookie_name;
        ngx_str_set(&info->purpose,
                    "Remembers your choice about cookies, so that the "
                    "banner does not ask again");

        /* in the largest unit that divides it: "180 days", "2 hours" */

        age = mcf->cookie_max_age;

        if (age % 86400 == 0) {
            info->unit = NGX_HTTP_CONSENT_DURATION_DAY;
            info->count = age / 86400;

        } else if (age % 3600 == 0) {
            info->unit = NGX_HTTP_CONSENT_DURATION_HOUR;
            info->count = age / 3600;

        } else if (age % 60 == 0) {
            info->unit = NGX_HTTP_CONSENT_DURATION_MINUTE;
            info->count = age / 60;

        } else {
            info->unit = NGX_HTTP_CONSENT_DURATION_SECOND;
            info->count = age;
        }

        info->duration.data = ngx_pnalloc(cf->pool, NGX_INT64_LEN
                                                    + sizeof(" minutes"));
        if (info->duration.data == NULL) {
            return NGX_ERROR;
        }

        info->duration.len = ngx_sprintf(info->duration.data, "%uL %s%s",
                                  info->count,
                                  ngx_http_consent_durations[info->unit],
                                  info->count == 1 ? "" : "s")
                             - info->duration.data;

        info->category = NGX_ERROR;
        info->builtin = 1;
    }

    if (mcf->cookie_info->nelts > 1) {
        ngx_qsort(mcf->cookie_info->elts, mcf->cookie_info->nelts,
                  sizeof(ngx_http_consent_cookie_info_t),
                  ngx_http_consent_disclose_cmp);
    }

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_consent_disclose_cmp(const void *one, const void *two)
{
    ngx_int_t                              rc;
    const ngx_http_consent_cookie_info_t  *a, *b;

    a = one;
    b = two;

    rc = ngx_memn2cmp(a->name.data, b->name.data, a->name.len, b->name.len);

    return (rc > 0) - (rc < 0);
}


static ngx_http_consent_cookie_info_t *
ngx_http_consent_disclose_find(ngx_http_consent_main_conf_t *mcf,
    ngx_str_t *name)
{
    ngx_int_t                        rc;
    ngx_uint_t                       lo, hi, mid;
    ngx_http_consent_cookie_info_t  *info;

    if (mcf->cookie_info == NULL) {
        return NULL;
    }

    info = mcf->cookie_info->elts;
    lo = 0;
    hi = mcf->cookie_info->nelts;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        rc = ngx_memn2cmp(name->data, info[mid].name.data, name->len,
                          info[mid].name.len);

        if (rc == 0) {
            return &info[mid];
        }

        if (rc < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


/*
 * The cookies of a category, in the order the page lists them: the
 * consent cookie under the first required category, the patterns of
 * consent_strip_cookie, then those of consent_cookie_info category=;
 * each name once.  An array of ngx_http_consent_disclosure_t.
 */

ngx_array_t *
ngx_http_consent_disclose(ngx_pool_t *pool,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_loc_conf_t *lcf,
    ngx_http_consent_category_t *c)
{
    uint64_t                         before;
    ngx_uint_t                       i;
    ngx_array_t                     *a;
    ngx_http_consent_rule_t         *rule;
    ngx_http_consent_cookie_info_t  *info;

    a = ngx_array_create(pool, 8, sizeof(ngx_http_consent_disclosure_t));
    if (a == NULL) {
        return NULL;
    }

    before = ((uint64_t) 1 << c->index) - 1;

    if (c->required && (mcf->required_mask & before) == 0) {
        if (ngx_http_consent_disclose_add(a, mcf, &mcf->cookie_name)
            != NGX_OK)
        {
            return NULL;
        }
    }

    if (lcf->strip_cookies != NULL) {
        rule = lcf->strip_cookies->elts;

        for (i = 0; i < lcf->strip_cookies->nelts; i++) {
            if (rule[i].category == c->index
                && ngx_http_consent_disclose_add(a, mcf, &rule[i].pattern)
                   != NGX_OK)
            {
                return NULL;
            }
        }
    }

    if (mcf->cookie_info != NULL) {
        info = mcf->cookie_info->elts;

        for (i = 0; i < mcf->cookie_info->nelts; i++) {
            if (info[i].category == (ngx_int_t) c->index
                && ngx_http_consent_disclose_add(a, mcf, &info[i].name)
                   != NGX_OK)
            {
                return NULL;
            }
        }
    }

    return a;
}


static ngx_int_t
ngx_http_consent_disclose_add(ngx_array_t *a,
    ngx_http_consent_main_conf_t *mcf, ngx_str_t *name)
{
    ngx_uint_t                      i;
    ngx_http_consent_disclosure_t  *d;

    d = a->elts;

    for (i = 0; i < a->nelts; i++) {
        if (d[i].name->len == name->len
            && ngx_strncmp(d[i].name->data, name->data, name->len) == 0)
        {
            return NGX_OK;
        }
    }

    d = ngx_array_push(a);
    if (d == NULL) {
        return NGX_ERROR;
    }

    d->name = name;
    d->info = ngx_http_consent_disclose_find(mcf, name);

    return NGX_OK;
}


/*
 * The same list for the policy record: [{"name", "purpose", "duration",
 * "controller", "policy"}], "" where nothing is known, "controller" ""
 * for the site itself.
 */

json_t *
ngx_http_consent_disclose_json(ngx_pool_t *pool,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_loc_conf_t *lcf,
    ngx_http_consent_category_t *c)
{
    json_t                          *list, *v;
    ngx_uint_t                       i;
    ngx_array_t                     *a;
    ngx_http_consent_disclosure_t   *d;
    ngx_http_consent_cookie_info_t  *info, empty;

    a = ngx_http_consent_disclose(pool, mcf, lcf, c);
    if (a == NULL) {
        return NULL;
    }

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    ngx_memzero(&empty, sizeof(ngx_http_consent_cookie_info_t));

    d = a->elts;

    for (i = 0; i < a->nelts; i++) {
        info = d[i].info ? d[i].info : &empty;

        v = json_pack("{s:o, s:o, s:o, s:o, s:o}",
                      "name", ngx_http_consent_disclose_str(d[i].name),
                      "purpose", ngx_http_consent_disclose_str(&info->purpose),
                      "duration",
                      ngx_http_consent_disclose_str(&info->duration),
                      "controller",
                      ngx_http_consent_disclose_str(&info->controller),
                      "policy", ngx_http_consent_disclose_str(&info->policy));

        if (v == NULL || json_array_append_new(list, v) != 0) {
            json_decref(list);
            return NULL;
        }
    }

    return list;
}


static json_t *
ngx_http_consent_disclose_str(ngx_str_t *s)
{
    return json_stringn(s->data ? (const char *) s->data : "", s->len);
}
