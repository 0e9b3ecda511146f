
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * consent-audit show ID: the records of one consent id, each followed by
 * the texts the reader was shown. Policy records are remembered by the
 * text_hash of each language (the latest wins); a consent record names the
 * text_hash it was shown, which finds them. The hash is recomputed from
 * the texts, so a policy record whose texts do not match says so.
 *
 * One configuration's policy is a run of consecutive policy records: the
 * texts in the first ones, the categories' cookies in the last ones, list
 * 0 (the http block's) and, marked "list":N, those of endpoints with
 * rules of their own. The list a consent names (cookie_list, or 0) of the
 * run its texts are in is the table the reader's preferences page showed
 * (consent_cookie_info), shown after the texts.
 */


#include <stdlib.h>
#include <string.h>

#include "consent_audit.h"


typedef struct {
    const char  *id;
    json_t      *texts;      /* text_hash -> {lang, texts, seq, where,
                                cookies} */
    json_t      *cookies;    /* of the current run of policy records:
                                list -> category -> [cookie] */
    size_t       found;
} consent_audit_show_ctx_t;


static int consent_audit_show_record(void *data, const char *file,
    size_t line, json_t *record);
static void consent_audit_show_policy(consent_audit_show_ctx_t *ctx,
    const char *file, size_t line, json_t *record);
static void consent_audit_show_cookies(json_t *cookies);


int
consent_audit_show(int argc, char **argv)
{
    int                        rc;
    consent_audit_show_ctx_t   ctx;

    if (argc < 2 || argv[0][0] == '-') {
        fprintf(stderr, "usage: consent-audit show ID FILE...\n");
        return CONSENT_AUDIT_USAGE;
    }

    ctx.id = argv[0];
    ctx.found = 0;
    ctx.cookies = NULL;
    ctx.texts = json_object();

    if (ctx.texts == NULL) {
        return CONSENT_AUDIT_USAGE;
    }

    rc = consent_audit_each(argv + 1, argc - 1, consent_audit_show_record,
                            &ctx);

    json_decref(ctx.texts);
    json_decref(ctx.cookies);

    if (rc != CONSENT_AUDIT_OK) {
        return rc;
    }

    if (ctx.found == 0) {
        printf("no record of consent id \"%s\"\n", ctx.id);
        return CONSENT_AUDIT_FAILED;
    }

    printf("%zu record%s of consent id \"%s\"; run \"consent-audit verify\" "
           "to know that the log is whole\n", ctx.found,
           ctx.found == 1 ? "" : "s", ctx.id);

    return CONSENT_AUDIT_OK;
}


static int
consent_audit_show_record(void *data, const char *file, size_t line,
    json_t *record)
{
    consent_audit_show_ctx_t  *ctx = data;

    char        *s;
    json_t      *shown, *v;
    json_int_t   list;
    const char  *type, *id, *hash;
    char         key[32];

    type = json_string_value(json_object_get(record, "type"));
    if (type == NULL) {
        return 0;
    }

    if (strcmp(type, "policy") == 0) {
        consent_audit_show_policy(ctx, file, line, record);
        return 0;
    }

    /* the run of policy records is over */

    json_decref(ctx->cookies);
    ctx->cookies = NULL;

    id = json_string_value(json_object_get(record, "id"));

    if (strcmp(type, "consent") != 0 || id == NULL
        || strcmp(id, ctx->id) != 0)
    {
        return 0;
    }

    ctx->found++;

    s = json_dumps(record, JSON_INDENT(2)|JSON_PRESERVE_ORDER);
    printf("== %s:%zu\n%s\n", file, line, s ? s : "");
    free(s);

    hash = json_string_value(json_object_get(record, "text_hash"));
    shown = hash ? json_object_get(ctx->texts, hash) : NULL;

    if (shown == NULL) {
        printf("-- texts shown: text_hash %s is in no earlier policy "
               "record of these files\n\n", hash ? hash : "(none)");
        return 0;
    }

    v = json_object_get(shown, "match");

    printf("-- texts shown (language %s, policy record seq %lld at %s, "
           "text_hash %s):\n",
           json_string_value(json_object_get(shown, "lang")),
           (long long) json_integer_value(json_object_get(shown, "seq")),
           json_string_value(json_object_get(shown, "where")),
           json_is_true(v) ? "matches the texts"
                           : "DOES NOT match the texts");

    s = json_dumps(json_object_get(shown, "texts"),
                   JSON_INDENT(2)|JSON_SORT_KEYS);
    printf("%s\n", s ? s : "");
    free(s);

    list = json_integer_value(json_object_get(record, "cookie_list"));
    snprintf(key, sizeof(key), "%lld", (long long) list);

    printf("-- list %lld of cookies:\n", (long long) list);
    consent_audit_show_cookies(json_object_get(
                                   json_object_get(shown, "cookies"), key));

    return 0;
}


/* the table of each category's cookies, as the preferences page had it */

static void
consent_audit_show_cookies(json_t *cookies)
{
    size_t       i;
    json_t      *list, *c;
    const char  *category, *controller, *policy;

    if (json_object_size(cookies) == 0) {
        printf("-- cookies listed: none in this policy (a log written "
               "before consent_cookie_info lists none)\n\n");
        return;
    }

    printf("-- cookies listed, by category (name; purpose; duration; set "
           "and read by):\n");

    json_object_foreach(cookies, category, list) {
        printf("%s:\n", category);

        json_array_foreach(list, i, c) {
            controller = json_string_value(json_object_get(c, "controller"));
            policy = json_string_value(json_object_get(c, "policy"));

            printf("  %s; %s; %s; %s",
                   json_string_value(json_object_get(c, "name")),
                   json_string_value(json_object_get(c, "purpose")),
                   json_string_value(json_object_get(c, "duration")),
                   (controller && controller[0]) ? controller : "the site");

            if (policy && policy[0]) {
                printf(" (%s)", policy);
            }

            printf("\n");
        }
    }

    printf("\n");
}


static void
consent_audit_show_policy(consent_audit_show_ctx_t *ctx, const char *file,
    size_t line, json_t *record)
{
    char           where[4200];
    size_t         i;
    json_t        *texts, *hashes, *t, *h, *c, *list, *all, *table;
    const char    *lang, *name;
    char           key[32];
    unsigned char  md[NGX_HTTP_CONSENT_RECORD_HASH_LEN];
    char           hex[NGX_HTTP_CONSENT_RECORD_HEX_LEN + 1];

    /* a run of policy records shares one table of cookies */

    if (ctx->cookies == NULL) {
        ctx->cookies = json_object();
        if (ctx->cookies == NULL) {
            return;
        }
    }

    snprintf(key, sizeof(key), "%lld",
             (long long) json_integer_value(json_object_get(record, "list")));

    table = json_object_get(ctx->cookies, key);

    if (table == NULL) {
        table = json_object();
        if (table == NULL
            || json_object_set_new(ctx->cookies, key, table) != 0)
        {
            return;
        }
    }

    json_array_foreach(json_object_get(record, "categories"), i, c) {
        name = json_string_value(json_object_get(c, "name"));
        list = json_object_get(c, "cookies");

        if (name == NULL || !json_is_array(list)) {
            continue;
        }

        all = json_object_get(table, name);

        if (all == NULL) {
            all = json_array();
            if (all == NULL || json_object_set_new(table, name, all) != 0) {
                continue;
            }
        }

        (void) json_array_extend(all, list);
    }

    texts = json_object_get(record, "texts");
    hashes = json_object_get(record, "text_hash");

    if (!json_is_object(texts) || !json_is_object(hashes)) {
        return;
    }

    snprintf(where, sizeof(where), "%s:%zu", file, line);

    json_object_foreach(hashes, lang, h) {
        t = json_object_get(texts, lang);

        if (!json_is_string(h) || t == NULL) {
            continue;
        }

        hex[0] = '\0';

        if (ngx_http_consent_record_json_hash(t, md) == 0) {
            ngx_http_consent_record_hex(md, sizeof(md), hex);
        }

        json_object_set_new(ctx->texts, json_string_value(h),
            json_pack("{s:s, s:O, s:I, s:s, s:b, s:O}",
                      "lang", lang, "texts", t,
                      "seq", json_object_get(record, "seq")
                             ? json_integer_value(
                                   json_object_get(record, "seq"))
                             : 0,
                      "where", where,
                      "match", strcmp(hex, json_string_value(h)) == 0,
                      "cookies", ctx->cookies));
    }
}
