
/*
 * Copyright (C) nginx-consent developers
 *
 * The texts of the banner and the preferences page, one JSON file per
 * language: the built-in ones (ui/texts, carried in the module) and the
 * operator's (consent_texts DIR), validated when the configuration is read.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/sha.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_lang.h"
#include "ngx_http_consent_ui_data.h"


/* an operator's texts file is small; this one is not */
#define NGX_HTTP_CONSENT_TEXTS_MAX_SIZE  (1024 * 1024)


static ngx_int_t ngx_http_consent_texts_load(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_str_t *lang, ngx_str_t *file);
static ngx_int_t ngx_http_consent_texts_read(ngx_conf_t *cf, ngx_str_t *file,
    ngx_str_t *content);
static ngx_uint_t ngx_http_consent_texts_utf8(u_char *p, size_t len);
static const char *ngx_http_consent_texts_check(json_t *json,
    const char **key);
static const char *ngx_http_consent_texts_builtin_check(json_t *json,
    const char **key);
static const char *ngx_http_consent_texts_durations(json_t *json,
    const char **key);
static ngx_int_t ngx_http_consent_texts_fill(ngx_conf_t *cf, ngx_str_t *lang,
    json_t *json);
static ngx_int_t ngx_http_consent_texts_add(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_str_t *lang, json_t *json);
static ngx_uint_t ngx_http_consent_texts_offered(
    ngx_http_consent_main_conf_t *mcf, ngx_str_t *lang);
static ngx_http_consent_texts_t *ngx_http_consent_texts_find(
    ngx_http_consent_main_conf_t *mcf, u_char *lang, size_t len);
static ngx_int_t ngx_http_consent_texts_hash(ngx_conf_t *cf,
    ngx_http_consent_texts_t *t);
static ngx_table_elt_t *ngx_http_consent_accept_language(
    ngx_http_request_t *r);
static void ngx_http_consent_texts_cleanup(void *data);


/* the strings every language must have */
static const char  *ngx_http_consent_texts_keys[] = {
    "banner_title",
    "banner_body",
    "accept_all",
    "reject_all",
    "customise",
    "continue",
    "save",
    "policy",
    "page_title",
    "page_intro",
    "always_on",
    "cookies",
    "state_none",
    "state_valid",
    "state_outdated",
    "withdraw",
    "back",
    NULL
};


/*
 * the strings every built-in language has, that an operator's file may
 * leave out: it then takes them from the built-in file of its language, or
 * the English one
 */
static const char  *ngx_http_consent_texts_filled[] = {
    "placeholder",
    "placeholder_nohost",
    "placeholder_accept",
    "do_not_sell",
    "cookie_name",
    "cookie_purpose",
    "cookie_duration",
    "cookie_provider",
    "cookie_first_party",
    "cookie_consent_purpose",
    NULL
};


/*
 * "durations": how the preferences page says how long a cookie lasts, by
 * ngx_http_consent_duration_e; each a string, or its forms by CLDR plural
 * category (ngx_http_consent_plural.c), "other" among them. An operator's
 * file may leave the whole object out, not a part of it.
 */
const char  *ngx_http_consent_durations[] = {
    NULL,                              /* NGX_HTTP_CONSENT_DURATION_TEXT */
    "session",
    "second",
    "minute",
    "hour",
    "day",
    "month",
    "year",
    NULL
};


char *
ngx_http_consent_texts(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_main_conf_t *mcf = conf;

    size_t       len;
    u_char      *name;
    ngx_str_t   *value, file, lang;
    ngx_dir_t    dir;
    ngx_err_t    err;
    ngx_uint_t   n;

    if (mcf->texts_dir.data != NULL) {
        return "is duplicate: keep one \"consent_texts\" directory, "
               "with one file per language";
    }

    value = cf->args->elts;
    mcf->texts_dir = value[1];

    if (ngx_conf_full_name(cf->cycle, &mcf->texts_dir, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_open_dir(&mcf->texts_dir, &dir) == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_dir_n " \"%V\" failed: make it a "
                           "directory nginx can read, with one file per "
                           "language such as en.json",
                           &mcf->texts_dir);
        return NGX_CONF_ERROR;
    }

    n = 0;

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&dir) == NGX_ERROR) {
            err = ngx_errno;

            if (err == NGX_ENOMOREFILES) {
                break;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, err,
                               ngx_read_dir_n " \"%V\" failed",
                               &mcf->texts_dir);
            goto failed;
        }

        name = ngx_de_name(&dir);
        len = ngx_de_namelen(&dir);

        if (len < 5 || name[0] == '.'
            || ngx_strcmp(name + len - 5, ".json") != 0)
        {
            continue;
        }

        file.len = mcf->texts_dir.len + 1 + len;
        file.data = ngx_pnalloc(cf->pool, file.len + 1);
        if (file.data == NULL) {
            goto failed;
        }

        ngx_sprintf(file.data, "%V/%s%Z", &mcf->texts_dir, name);

        lang.len = len - 5;
        lang.data = ngx_pnalloc(cf->pool, lang.len);
        if (lang.data == NULL) {
            goto failed;
        }

        ngx_memcpy(lang.data, name, lang.len);

        if (!ngx_http_consent_lang_valid(lang.data, lang.len)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "texts file \"%V\": the name must be a "
                               "language tag and \".json\", such as "
                               "\"fr.json\" or \"pt-BR.json\"", &file);
            goto failed;
        }

        if (ngx_http_consent_texts_find(mcf, lang.data, lang.len) != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "texts file \"%V\": language \"%V\" is "
                               "already loaded: keep one file per language",
                               &file, &lang);
            goto failed;
        }

        if (ngx_http_consent_texts_load(cf, mcf, &lang, &file) != NGX_OK) {
            goto failed;
        }

        n++;
    }

    ngx_close_dir(&dir);

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no texts in \"%V\": add one file per language, "
                           "such as en.json, with the keys of ui/texts/en.json",
                           &mcf->texts_dir);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

failed:

    ngx_close_dir(&dir);

    return NGX_CONF_ERROR;
}


/*
 * consent_languages TAG ...: the languages offered, built-in or from
 * consent_texts; the first is the default unless consent_language says
 */

char *
ngx_http_consent_languages(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_main_conf_t *mcf = conf;

    u_char      *p;
    ngx_str_t   *value, *tag;
    ngx_uint_t   i;

    if (mcf->languages != NULL) {
        return "is duplicate: list every language in one "
               "\"consent_languages\"";
    }

    mcf->languages = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                      sizeof(ngx_str_t));
    if (mcf->languages == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        for (p = value[i].data; p < value[i].data + value[i].len; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                  || (*p >= '0' && *p <= '9') || *p == '-'))
            {
                break;
            }
        }

        if (value[i].len == 0 || value[i].len > NGX_HTTP_CONSENT_LANG_MAX_TAG
            || p != value[i].data + value[i].len)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" is not a language tag: write one "
                               "as the texts file is named, such as \"de\" "
                               "or \"pt-BR\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        tag = ngx_array_push(mcf->languages);
        if (tag == NULL) {
            return NGX_CONF_ERROR;
        }

        *tag = value[i];
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_consent_texts_init(ngx_conf_t *cf)
{
    json_t                            *json;
    ngx_str_t                          lang, *tag;
    ngx_uint_t                         i, n;
    const char                        *err, *key;
    json_error_t                       jerr;
    ngx_http_consent_texts_t          *t;
    ngx_http_consent_main_conf_t      *mcf;
    const ngx_http_consent_ui_file_t  *f;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);

    if (mcf->texts == NULL) {
        mcf->texts = ngx_array_create(cf->pool, 4,
                                       sizeof(ngx_http_consent_texts_t));
        if (mcf->texts == NULL) {
            return NGX_ERROR;
        }
    }

    /* the built-in languages, unless the operator has given their own */

    for (f = ngx_http_consent_ui_files; f->name != NULL; f++) {

        if (ngx_strncmp(f->name, "texts/", 6) != 0) {
            continue;
        }

        lang.data = (u_char *) f->name + 6;
        lang.len = ngx_strlen(lang.data) - 5;

        if (ngx_http_consent_texts_find(mcf, lang.data, lang.len) != NULL
            || !ngx_http_consent_texts_offered(mcf, &lang))
        {
            continue;
        }

        json = json_loadb((const char *) f->data, f->len,
                          JSON_REJECT_DUPLICATES, &jerr);
        if (json == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "built-in texts \"%s\": %s", f->name, jerr.text);
            return NGX_ERROR;
        }

        err = ngx_http_consent_texts_builtin_check(json, &key);
        if (err != NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "built-in texts \"%s\": \"%s\" %s",
                          f->name, key, err);
            json_decref(json);
            return NGX_ERROR;
        }

        if (ngx_http_consent_texts_add(cf, mcf, &lang, json) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /* consent_languages: every language it names, and only those */

    t = mcf->texts->elts;

    if (mcf->languages != NULL) {
        tag = mcf->languages->elts;

        for (i = 0; i < mcf->languages->nelts; i++) {
            if (ngx_http_consent_texts_find(mcf, tag[i].data, tag[i].len)
                == NULL)
            {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "\"consent_languages\": there are no texts "
                              "in \"%V\": use a built-in language "
                              "(docs/operators.md lists them), or add "
                              "%V.json to the \"consent_texts\" directory",
                              &tag[i], &tag[i]);
                return NGX_ERROR;
            }
        }

        n = 0;

        for (i = 0; i < mcf->texts->nelts; i++) {
            if (ngx_http_consent_texts_offered(mcf, &t[i].lang)) {
                t[n++] = t[i];
            }
        }

        mcf->texts->nelts = n;
    }

    for (i = 0; i < mcf->texts->nelts; i++) {
        if (ngx_http_consent_texts_hash(cf, &t[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_consent_texts_find(mcf, mcf->language.data,
                                    mcf->language.len)
        == NULL)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"consent_language %V\": there are no texts in "
                      "that language: use a built-in one (docs/operators.md "
                      "lists them), or add %V.json to the \"consent_texts\" "
                      "directory",
                      &mcf->language, &mcf->language);
        return NGX_ERROR;
    }

    /* what each request would otherwise work out again */

    mcf->texts_avail = ngx_palloc(cf->pool, mcf->texts->nelts
                                            * sizeof(ngx_http_consent_slice_t));
    if (mcf->texts_avail == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < mcf->texts->nelts; i++) {
        mcf->texts_avail[i].data = t[i].lang.data;
        mcf->texts_avail[i].len = t[i].lang.len;

        if (t[i].lang.len == mcf->language.len
            && ngx_strncasecmp(t[i].lang.data, mcf->language.data,
                               mcf->language.len)
               == 0)
        {
            mcf->texts_fallback = i;
        }
    }

    return NGX_OK;
}


ngx_http_consent_texts_t *
ngx_http_consent_texts_pick(ngx_http_request_t *r)
{
    int                            i, fallback;
    ngx_uint_t                     n;
    ngx_table_elt_t               *h;
    ngx_http_consent_ctx_t        *ctx;
    ngx_http_consent_texts_t      *t;
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);

    if (mcf->texts == NULL || mcf->texts->nelts == 0) {
        return NULL;
    }

    ctx = ngx_http_consent_get_ctx(r);

    if (ctx != NULL && ctx->lang.len) {
        t = ngx_http_consent_texts_find(mcf, ctx->lang.data, ctx->lang.len);
        if (t != NULL) {
            return t;
        }
    }

    t = mcf->texts->elts;
    n = mcf->texts->nelts;

    fallback = (int) mcf->texts_fallback;

    i = fallback;
    h = ngx_http_consent_accept_language(r);

    if (h != NULL) {
        i = ngx_http_consent_lang_pick(h->value.data, h->value.len,
                                       mcf->texts_avail, n, fallback);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "consent texts: \"%V\"", &t[i].lang);

    if (ctx != NULL) {
        ctx->lang = t[i].lang;
    }

    return &t[i];
}


/*
 * The page's own language (<html lang>), when there are texts for it: the
 * banner speaks it then, whatever Accept-Language says.  "fr-CA" gets "fr".
 */

void
ngx_http_consent_texts_prefer(ngx_http_request_t *r, u_char *lang,
    size_t len)
{
    int                            i;
    ngx_http_consent_ctx_t        *ctx;
    ngx_http_consent_texts_t      *t;
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    ctx = ngx_http_consent_get_ctx(r);

    if (ctx == NULL || mcf->texts == NULL || mcf->texts->nelts == 0
        || !ngx_http_consent_lang_valid(lang, len))
    {
        return;
    }

    /* most pages say a language there are texts in, as written */

    t = ngx_http_consent_texts_find(mcf, lang, len);

    if (t != NULL) {
        ctx->lang = t->lang;
        return;
    }

    i = ngx_http_consent_lang_pick(lang, len, mcf->texts_avail,
                                   mcf->texts->nelts, -1);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "consent texts: the page says \"%*s\", texts %d",
                   len, lang, i);

    if (i >= 0) {
        t = mcf->texts->elts;
        ctx->lang = t[i].lang;
    }
}


static ngx_int_t
ngx_http_consent_texts_load(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_str_t *lang, ngx_str_t *file)
{
    json_t        *json;
    ngx_str_t      content;
    ngx_uint_t     line;
    const char    *err, *key;
    json_error_t   jerr;

    if (ngx_http_consent_texts_read(cf, file, &content) != NGX_OK) {
        return NGX_ERROR;
    }

    line = ngx_http_consent_texts_utf8(content.data, content.len);

    if (line) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "texts file \"%V\" is not valid UTF-8 at line "
                           "%ui: save it with the UTF-8 encoding",
                           file, line);
        return NGX_ERROR;
    }

    json = json_loadb((const char *) content.data, content.len,
                      JSON_REJECT_DUPLICATES, &jerr);
    if (json == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "texts file \"%V\" is not valid JSON at line %d, "
                           "column %d: %s: fix the syntax (a JSON "
                           "validator will point at it)",
                           file, jerr.line, jerr.column, jerr.text);
        return NGX_ERROR;
    }

    err = ngx_http_consent_texts_check(json, &key);

    if (err != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "texts file \"%V\": \"%s\" %s: the built-in "
                           "ui/texts/en.json shows every key",
                           file, key, err);
        json_decref(json);
        return NGX_ERROR;
    }

    if (ngx_http_consent_texts_fill(cf, lang, json) != NGX_OK) {
        json_decref(json);
        return NGX_ERROR;
    }

    return ngx_http_consent_texts_add(cf, mcf, lang, json);
}


/* the strings an operator's file left out, from the built-in ones */

static ngx_int_t
ngx_http_consent_texts_fill(ngx_conf_t *cf, ngx_str_t *lang, json_t *json)
{
    u_char                             name[64];
    json_t                            *builtin;
    const char                       **k;
    json_error_t                       jerr;
    const ngx_http_consent_ui_file_t  *f;

    for (k = ngx_http_consent_texts_filled; *k != NULL; k++) {
        if (json_object_get(json, *k) == NULL) {
            break;
        }
    }

    if (*k == NULL && json_object_get(json, "durations") != NULL) {
        return NGX_OK;
    }

    f = NULL;

    if (lang->len < sizeof(name) - sizeof("texts/.json")) {
        f = ngx_http_consent_ui_find(name,
                                     ngx_sprintf(name, "texts/%V.json", lang)
                                     - name);
    }

    if (f == NULL) {
        f = ngx_http_consent_ui_find((u_char *) "texts/en.json",
                                     sizeof("texts/en.json") - 1);
    }

    if (f == NULL) {
        return NGX_ERROR;
    }

    builtin = json_loadb((const char *) f->data, f->len, 0, &jerr);
    if (builtin == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "built-in texts \"%s\": %s",
                           f->name, jerr.text);
        return NGX_ERROR;
    }

    for (k = ngx_http_consent_texts_filled; *k != NULL; k++) {
        if (json_object_get(json, *k) == NULL
            && json_object_set(json, *k, json_object_get(builtin, *k)) != 0)
        {
            json_decref(builtin);
            return NGX_ERROR;
        }
    }

    if (json_object_get(json, "durations") == NULL
        && json_object_set(json, "durations",
                           json_object_get(builtin, "durations"))
           != 0)
    {
        json_decref(builtin);
        return NGX_ERROR;
    }

    json_decref(builtin);

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_texts_read(ngx_conf_t *cf, ngx_str_t *file,
    ngx_str_t *content)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_t       f;
    ngx_file_info_t  fi;

    fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed: make the texts "
                           "file readable by nginx", file);
        return NGX_ERROR;
    }

    ngx_memzero(&f, sizeof(ngx_file_t));

    f.fd = fd;
    f.name = *file;
    f.log = cf->log;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", file);
        goto failed;
    }

    if (!ngx_is_file(&fi)
        || ngx_file_size(&fi) > NGX_HTTP_CONSENT_TEXTS_MAX_SIZE)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "texts file \"%V\" is not a regular file of at "
                           "most %d bytes", file,
                           NGX_HTTP_CONSENT_TEXTS_MAX_SIZE);
        goto failed;
    }

    content->len = (size_t) ngx_file_size(&fi);
    content->data = ngx_pnalloc(cf->temp_pool, content->len + 1);
    if (content->data == NULL) {
        goto failed;
    }

    n = ngx_read_file(&f, content->data, content->len, 0);

    if (n == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_file_n " \"%V\" failed: make the texts "
                           "file readable by nginx", file);
        goto failed;
    }

    if ((size_t) n != content->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           ngx_read_file_n " \"%V\" returned only %z "
                           "bytes", file, n);
        goto failed;
    }

    content->data[content->len] = '\0';

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", file);
    }

    return NGX_OK;

failed:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", file);
    }

    return NGX_ERROR;
}


/* 0 if p is valid UTF-8 (no overlongs, no surrogates), or the bad line */

static ngx_uint_t
ngx_http_consent_texts_utf8(u_char *p, size_t len)
{
    u_char      *end;
    uint32_t     c, min;
    ngx_uint_t   line, n, i;

    end = p + len;
    line = 1;

    while (p < end) {
        c = *p++;

        if (c < 0x80) {
            if (c == '\n') {
                line++;
            }

            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            c &= 0x1f;
            min = 0x80;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            c &= 0x0f;
            min = 0x800;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            c &= 0x07;
            min = 0x10000;

        } else {
            return line;
        }

        if ((size_t) (end - p) < n) {
            return line;
        }

        for (i = 0; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return line;
            }

            c = (c << 6) | (p[i] & 0x3f);
        }

        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            return line;
        }

        p += n;
    }

    return 0;
}


/*
 * NULL if the texts have every key, or what is wrong, with *key set to the
 * key concerned
 */

static const char *
ngx_http_consent_texts_check(json_t *json, const char **key)
{
    json_t       *v, *cats, *cat, *s;
    const char  **k, *name, *err;

    static const char  *cat_keys[] = { "title", "description", NULL };

    *key = "(top)";

    if (!json_is_object(json)) {
        return "must be an object of strings and \"categories\"";
    }

    for (k = ngx_http_consent_texts_keys; *k != NULL; k++) {
        *key = *k;
        v = json_object_get(json, *k);

        if (v == NULL) {
            return "is missing";
        }

        if (!json_is_string(v) || json_string_length(v) == 0) {
            return "must be a non-empty string";
        }
    }

    for (k = ngx_http_consent_texts_filled; *k != NULL; k++) {
        *key = *k;
        v = json_object_get(json, *k);

        if (v != NULL && (!json_is_string(v) || json_string_length(v) == 0))
        {
            return "must be a non-empty string";
        }
    }

    *key = "cookie_consent_duration";

    if (json_object_get(json, *key) != NULL) {
        return "is no longer read: say the consent cookie's duration in "
               "\"durations\", with a form for each plural";
    }

    if (json_object_get(json, "durations") != NULL) {
        err = ngx_http_consent_texts_durations(json, key);
        if (err != NULL) {
            return err;
        }
    }

    *key = "categories";
    cats = json_object_get(json, "categories");

    if (cats == NULL) {
        return "is missing";
    }

    if (!json_is_object(cats)) {
        return "must be an object: category name to title and description";
    }

    *key = "categories.*";

    if (json_object_get(cats, "*") == NULL) {
        return "is missing (the title and description of other categories)";
    }

    json_object_foreach(cats, name, cat) {
        *key = name;

        if (!json_is_object(cat)) {
            return "must be an object with \"title\" and \"description\"";
        }

        for (k = cat_keys; *k != NULL; k++) {
            s = json_object_get(cat, *k);

            if (s == NULL) {
                return "lacks \"title\" or \"description\"";
            }

            if (!json_is_string(s) || json_string_length(s) == 0) {
                return "has a \"title\" or \"description\" that is not a "
                       "non-empty string";
            }
        }

        s = json_object_get(cat, "placeholder");

        if (s != NULL && (!json_is_string(s) || json_string_length(s) == 0)) {
            return "has a \"placeholder\" that is not a non-empty string";
        }
    }

    return NULL;
}


/* a built-in file: every key, those an operator may leave out too */

static const char *
ngx_http_consent_texts_builtin_check(json_t *json, const char **key)
{
    const char   *err;
    const char  **k;

    err = ngx_http_consent_texts_check(json, key);
    if (err != NULL) {
        return err;
    }

    for (k = ngx_http_consent_texts_filled; *k != NULL; k++) {
        *key = *k;

        if (json_object_get(json, *k) == NULL) {
            return "is missing";
        }
    }

    *key = "durations";

    if (json_object_get(json, *key) == NULL) {
        return "is missing";
    }

    return NULL;
}


/* every duration, a string or plural forms with "other" */

static const char *
ngx_http_consent_texts_durations(json_t *json, const char **key)
{
    json_t       *d, *v, *form;
    const char  **k, **c, *name;

    static const char  *categories[] = {
        "zero", "one", "two", "few", "many", "other", NULL
    };

    static u_char  dotted[sizeof("durations.") + 16];

    *key = "durations";
    d = json_object_get(json, "durations");

    if (!json_is_object(d)) {
        return "must be an object: \"session\", \"second\", \"minute\", "
               "\"hour\", \"day\", \"month\" and \"year\"";
    }

    for (k = &ngx_http_consent_durations[1]; *k != NULL; k++) {
        *key = (const char *) dotted;
        (void) ngx_sprintf(dotted, "durations.%s%Z", *k);

        v = json_object_get(d, *k);

        if (v == NULL) {
            return "is missing";
        }

        if (json_is_string(v) && json_string_length(v) != 0) {
            continue;
        }

        if (!json_is_object(v) || !json_is_string(json_object_get(v, "other")))
        {
            return "must be a non-empty string, or an object of plural "
                   "forms (\"one\", \"few\", ...) with \"other\"";
        }

        json_object_foreach(v, name, form) {
            for (c = categories; *c != NULL; c++) {
                if (ngx_strcmp(name, *c) == 0) {
                    break;
                }
            }

            if (*c == NULL || !json_is_string(form)
                || json_string_length(form) == 0)
            {
                return "has a form that is not \"zero\", \"one\", "
                       "\"two\", \"few\", \"many\" or \"other\" with a "
                       "non-empty string";
            }
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_consent_texts_add(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_str_t *lang, json_t *json)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_consent_texts_t  *t;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        json_decref(json);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_consent_texts_cleanup;
    cln->data = json;

    if (mcf->texts == NULL) {
        mcf->texts = ngx_array_create(cf->pool, 4,
                                       sizeof(ngx_http_consent_texts_t));
        if (mcf->texts == NULL) {
            return NGX_ERROR;
        }
    }

    t = ngx_array_push(mcf->texts);
    if (t == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(t, sizeof(ngx_http_consent_texts_t));

    t->lang = *lang;
    t->json = json;

    return NGX_OK;
}


/* a language consent_languages offers (every one, without it) */

static ngx_uint_t
ngx_http_consent_texts_offered(ngx_http_consent_main_conf_t *mcf,
    ngx_str_t *lang)
{
    ngx_str_t   *tag;
    ngx_uint_t   i;

    if (mcf->languages == NULL) {
        return 1;
    }

    tag = mcf->languages->elts;

    for (i = 0; i < mcf->languages->nelts; i++) {
        if (tag[i].len == lang->len
            && ngx_strncasecmp(tag[i].data, lang->data, lang->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static ngx_http_consent_texts_t *
ngx_http_consent_texts_find(ngx_http_consent_main_conf_t *mcf, u_char *lang,
    size_t len)
{
    ngx_uint_t                 i;
    ngx_http_consent_texts_t  *t;

    if (mcf->texts == NULL) {
        return NULL;
    }

    t = mcf->texts->elts;

    /* ctx->lang, once picked, is one of the tags themselves */

    for (i = 0; i < mcf->texts->nelts; i++) {
        if (t[i].lang.data == lang && t[i].lang.len == len) {
            return &t[i];
        }
    }

    for (i = 0; i < mcf->texts->nelts; i++) {
        if (t[i].lang.len == len
            && ngx_strncasecmp(t[i].lang.data, lang, len) == 0)
        {
            return &t[i];
        }
    }

    return NULL;
}


/* the languages there are texts for, as the language matcher takes them */

/*
 * SHA-256 of the canonical form, the one the consent log records: compact,
 * keys sorted, UTF-8 as is (json_dumps with JSON_COMPACT|JSON_SORT_KEYS)
 */

static ngx_int_t
ngx_http_consent_texts_hash(ngx_conf_t *cf, ngx_http_consent_texts_t *t)
{
    char  *s;

    s = json_dumps(t->json, JSON_COMPACT|JSON_SORT_KEYS);
    if (s == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "json_dumps() of the \"%V\" texts failed", &t->lang);
        return NGX_ERROR;
    }

    SHA256((u_char *) s, ngx_strlen(s), t->hash);

    free(s);

    return NGX_OK;
}


static ngx_table_elt_t *
ngx_http_consent_accept_language(ngx_http_request_t *r)
{
    return ngx_http_consent_header_in(r, "Accept-Language",
                                      sizeof("Accept-Language") - 1);
}


static void
ngx_http_consent_texts_cleanup(void *data)
{
    json_t  *json = data;

    json_decref(json);
}
