
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * consent-audit stats, export --csv and report: the consent records,
 * counted per day (UTC, from "ts") and per category. The consent rate of a
 * category is the share of the choices that decided it (granted or denied)
 * which granted it.
 */


#include <stdlib.h>
#include <string.h>

#include "consent_audit.h"


#define CONSENT_AUDIT_CATEGORIES  64
#define CONSENT_AUDIT_ACTIONS     5


typedef struct {
    char          day[11];
    uint64_t      choices;
    uint64_t      actions[CONSENT_AUDIT_ACTIONS];
    uint64_t      granted[CONSENT_AUDIT_CATEGORIES];
    uint64_t      denied[CONSENT_AUDIT_CATEGORIES];
} consent_audit_day_t;


typedef struct {
    consent_audit_day_t  *days;
    size_t                ndays;
    size_t                nalloc;
    char                 *categories[CONSENT_AUDIT_CATEGORIES];
    size_t                ncategories;
    uint64_t              gpc;
    uint64_t              opt_out;     /* made under consent_regime opt-out */
    FILE                 *csv;
} consent_audit_stats_ctx_t;


static int consent_audit_stats_collect(char **files, int nfiles,
    consent_audit_stats_ctx_t *ctx);
static int consent_audit_stats_record(void *data, const char *file,
    size_t line, json_t *record);
static consent_audit_day_t *consent_audit_stats_day(
    consent_audit_stats_ctx_t *ctx, const char *ts);
static int consent_audit_stats_category(consent_audit_stats_ctx_t *ctx,
    const char *name);
static void consent_audit_stats_free(consent_audit_stats_ctx_t *ctx);
static int consent_audit_csv_record(void *data, const char *file,
    size_t line, json_t *record);
static void consent_audit_csv_field(FILE *out, const char *s);
static void consent_audit_csv_names(FILE *out, json_t *names);
static void consent_audit_html(FILE *out, const char *s);
static void consent_audit_report_chart(FILE *out,
    consent_audit_stats_ctx_t *ctx);


static const char  *consent_audit_actions[CONSENT_AUDIT_ACTIONS] = {
    "accept_all", "reject_all", "save", "withdraw", "other"
};


static const char  *consent_audit_colors[] = {
    "#0b6bcb", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0f766e",
    "#a16207", "#be185d"
};


int
consent_audit_stats(int argc, char **argv)
{
    size_t                      i, c, a;
    uint64_t                    g, d, choices;
    consent_audit_day_t        *day;
    consent_audit_stats_ctx_t   ctx;

    if (argc < 1) {
        fprintf(stderr, "usage: consent-audit stats FILE...\n");
        return CONSENT_AUDIT_USAGE;
    }

    if (consent_audit_stats_collect(argv, argc, &ctx) != 0) {
        return CONSENT_AUDIT_USAGE;
    }

    printf("%-10s %8s", "day", "choices");

    for (a = 0; a < CONSENT_AUDIT_ACTIONS; a++) {
        printf(" %10s", consent_audit_actions[a]);
    }

    printf("\n");

    choices = 0;

    for (i = 0; i < ctx.ndays; i++) {
        day = &ctx.days[i];
        choices += day->choices;

        printf("%-10s %8llu", day->day, (unsigned long long) day->choices);

        for (a = 0; a < CONSENT_AUDIT_ACTIONS; a++) {
            printf(" %10llu", (unsigned long long) day->actions[a]);
        }

        printf("\n");
    }

    printf("\n%-20s %10s %10s %8s\n", "category", "granted", "denied",
           "rate");

    for (c = 0; c < ctx.ncategories; c++) {
        g = 0;
        d = 0;

        for (i = 0; i < ctx.ndays; i++) {
            g += ctx.days[i].granted[c];
            d += ctx.days[i].denied[c];
        }

        printf("%-20s %10llu %10llu %7.1f%%\n", ctx.categories[c],
               (unsigned long long) g, (unsigned long long) d,
               g + d ? 100.0 * (double) g / (double) (g + d) : 0.0);
    }

    printf("\n%llu choices in %zu day%s, %llu with Sec-GPC: 1, %llu under "
           "opt-out\n",
           (unsigned long long) choices, ctx.ndays,
           ctx.ndays == 1 ? "" : "s", (unsigned long long) ctx.gpc,
           (unsigned long long) ctx.opt_out);

    consent_audit_stats_free(&ctx);

    return CONSENT_AUDIT_OK;
}


int
consent_audit_export(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[0], "--csv") != 0) {
        fprintf(stderr, "usage: consent-audit export --csv FILE...\n");
        return CONSENT_AUDIT_USAGE;
    }

    printf("ts,id,action,granted,denied,revision,text_hash,lang,source,gpc,"
           "ip,host,node,seq,regime\r\n");

    return consent_audit_each(argv + 1, argc - 1, consent_audit_csv_record,
                              stdout);
}


int
consent_audit_report(int argc, char **argv)
{
    int                         i, nfiles;
    FILE                       *out;
    size_t                      d, c, a;
    uint64_t                    g, n;
    char                      **files;
    const char                 *path;
    consent_audit_day_t        *day;
    consent_audit_stats_ctx_t   ctx;

    path = NULL;
    nfiles = 0;

    files = calloc((size_t) argc + 1, sizeof(char *));
    if (files == NULL) {
        return CONSENT_AUDIT_USAGE;
    }

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            path = argv[++i];

        } else {
            files[nfiles++] = argv[i];
        }
    }

    if (path == NULL || nfiles == 0) {
        fprintf(stderr, "usage: consent-audit report -o FILE.html FILE...\n");
        free(files);
        return CONSENT_AUDIT_USAGE;
    }

    if (consent_audit_stats_collect(files, nfiles, &ctx) != 0) {
        free(files);
        return CONSENT_AUDIT_USAGE;
    }

    out = fopen(path, "w");
    if (out == NULL) {
        perror(path);
        consent_audit_stats_free(&ctx);
        free(files);
        return CONSENT_AUDIT_USAGE;
    }

    fprintf(out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<title>Consent report</title>\n"
        "<style>\n"
        "body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;"
        "max-width:60em;padding:0 1em;color:#1a1a1a}\n"
        "table{border-collapse:collapse;margin:1em 0}\n"
        "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}\n"
        "th:first-child,td:first-child{text-align:left}\n"
        "svg{max-width:100%%;height:auto}\n"
        ".legend span{display:inline-block;margin-right:1.2em}\n"
        ".legend i{display:inline-block;width:1em;height:.3em;"
        "vertical-align:middle;margin-right:.3em}\n"
        "</style>\n</head>\n<body>\n"
        "<h1>Consent report</h1>\n<p>From");

    for (i = 0; i < nfiles; i++) {
        fputs(i ? ", " : " ", out);
        consent_audit_html(out, files[i]);
    }

    fprintf(out, ". Run <code>consent-audit verify</code> to know that "
            "the log is whole.</p>\n");

    fprintf(out, "<h2>Consent rate per category, per day</h2>\n");
    consent_audit_report_chart(out, &ctx);

    fprintf(out, "<h2>Categories</h2>\n<table>\n<tr><th>category</th>"
            "<th>granted</th><th>denied</th><th>rate</th></tr>\n");

    for (c = 0; c < ctx.ncategories; c++) {
        g = 0;
        n = 0;

        for (d = 0; d < ctx.ndays; d++) {
            g += ctx.days[d].granted[c];
            n += ctx.days[d].granted[c] + ctx.days[d].denied[c];
        }

        fprintf(out, "<tr><td>");
        consent_audit_html(out, ctx.categories[c]);
        fprintf(out, "</td><td>%llu</td><td>%llu</td><td>%.1f%%</td></tr>\n",
                (unsigned long long) g, (unsigned long long) (n - g),
                n ? 100.0 * (double) g / (double) n : 0.0);
    }

    fprintf(out, "</table>\n<h2>Choices per day</h2>\n<table>\n"
            "<tr><th>day (UTC)</th><th>choices</th>");

    for (a = 0; a < CONSENT_AUDIT_ACTIONS; a++) {
        fprintf(out, "<th>%s</th>", consent_audit_actions[a]);
    }

    fprintf(out, "</tr>\n");

    for (d = 0; d < ctx.ndays; d++) {
        day = &ctx.days[d];

        fprintf(out, "<tr><td>%s</td><td>%llu</td>", day->day,
                (unsigned long long) day->choices);

        for (a = 0; a < CONSENT_AUDIT_ACTIONS; a++) {
            fprintf(out, "<td>%llu</td>",
                    (unsigned long long) day->actions[a]);
        }

        fprintf(out, "</tr>\n");
    }

    fprintf(out, "</table>\n</body>\n</html>\n");

    consent_audit_stats_free(&ctx);
    free(files);

    if (fclose(out) != 0) {
        perror(path);
        return CONSENT_AUDIT_USAGE;
    }

    return CONSENT_AUDIT_OK;
}


static void
consent_audit_report_chart(FILE *out, consent_audit_stats_ctx_t *ctx)
{
    size_t                d, c, every;
    double                x, y, w, h, left, top, step;
    uint64_t              n;
    const char           *color;
    consent_audit_day_t  *day;

    left = 50;
    top = 20;
    w = 700;
    h = 240;

    if (ctx->ndays == 0) {
        fprintf(out, "<p>No consent record.</p>\n");
        return;
    }

    step = ctx->ndays > 1 ? w / (double) (ctx->ndays - 1) : 0;
    every = ctx->ndays / 10 + 1;

    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
            "viewBox=\"0 0 800 310\" width=\"800\" height=\"310\" "
            "role=\"img\" aria-label=\"consent rate per category per day\">\n"
            "<g font-size=\"11\" fill=\"#555\">\n");

    for (c = 0; c <= 4; c++) {
        y = top + h - h * (double) c / 4;
        fprintf(out, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" "
                "stroke=\"#ddd\"/><text x=\"%.0f\" y=\"%.1f\" "
                "text-anchor=\"end\">%zu%%</text>\n",
                left, y, left + w, y, left - 6, y + 4, c * 25);
    }

    for (d = 0; d < ctx->ndays; d += every) {
        x = ctx->ndays > 1 ? left + step * (double) d : left + w / 2;
        fprintf(out, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">"
                "%s</text>\n", x, top + h + 18, ctx->days[d].day);
    }

    fprintf(out, "</g>\n");

    for (c = 0; c < ctx->ncategories; c++) {
        color = consent_audit_colors[c % (sizeof(consent_audit_colors)
                                          / sizeof(char *))];

        fprintf(out, "<polyline fill=\"none\" stroke-width=\"2\" "
                "stroke=\"%s\" points=\"", color);

        for (d = 0; d < ctx->ndays; d++) {
            day = &ctx->days[d];
            n = day->granted[c] + day->denied[c];

            if (n == 0) {
                continue;
            }

            x = ctx->ndays > 1 ? left + step * (double) d : left + w / 2;
            y = top + h - h * (double) day->granted[c] / (double) n;
            fprintf(out, "%.1f,%.1f ", x, y);
        }

        fprintf(out, "\"/>\n");

        for (d = 0; d < ctx->ndays; d++) {
            day = &ctx->days[d];
            n = day->granted[c] + day->denied[c];

            if (n == 0) {
                continue;
            }

            x = ctx->ndays > 1 ? left + step * (double) d : left + w / 2;
            y = top + h - h * (double) day->granted[c] / (double) n;
            fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
                    "fill=\"%s\"><title>", x, y, color);
            consent_audit_html(out, ctx->categories[c]);
            fprintf(out, " %s: %.1f%% of %llu</title></circle>\n", day->day,
                    100.0 * (double) day->granted[c] / (double) n,
                    (unsigned long long) n);
        }
    }

    fprintf(out, "</svg>\n<p class=\"legend\">");

    for (c = 0; c < ctx->ncategories; c++) {
        fprintf(out, "<span><i style=\"background:%s\"></i>",
                consent_audit_colors[c % (sizeof(consent_audit_colors)
                                          / sizeof(char *))]);
        consent_audit_html(out, ctx->categories[c]);
        fprintf(out, "</span>");
    }

    fprintf(out, "</p>\n");
}


static int
consent_audit_stats_collect(char **files, int nfiles,
    consent_audit_stats_ctx_t *ctx)
{
    memset(ctx, 0, sizeof(*ctx));

    if (consent_audit_each(files, nfiles, consent_audit_stats_record, ctx)
        != CONSENT_AUDIT_OK)
    {
        consent_audit_stats_free(ctx);
        return -1;
    }

    return 0;
}


static int
consent_audit_stats_record(void *data, const char *file, size_t line,
    json_t *record)
{
    consent_audit_stats_ctx_t  *ctx = data;

    int                   c;
    size_t                a, i;
    json_t               *v;
    const char           *type, *ts, *action, *regime;
    consent_audit_day_t  *day;

    (void) file;
    (void) line;

    type = json_string_value(json_object_get(record, "type"));
    ts = json_string_value(json_object_get(record, "ts"));

    if (type == NULL || strcmp(type, "consent") != 0 || ts == NULL
        || strlen(ts) < 10)
    {
        return 0;
    }

    day = consent_audit_stats_day(ctx, ts);
    if (day == NULL) {
        return CONSENT_AUDIT_USAGE;
    }

    day->choices++;

    if (json_is_true(json_object_get(record, "gpc"))) {
        ctx->gpc++;
    }

    regime = json_string_value(json_object_get(record, "regime"));

    if (regime != NULL && strcmp(regime, "opt-out") == 0) {
        ctx->opt_out++;
    }

    action = json_string_value(json_object_get(record, "action"));

    for (a = 0; a < CONSENT_AUDIT_ACTIONS - 1; a++) {
        if (action && strcmp(action, consent_audit_actions[a]) == 0) {
            break;
        }
    }

    day->actions[a]++;

    json_array_foreach(json_object_get(record, "granted"), i, v) {
        c = consent_audit_stats_category(ctx, json_string_value(v));
        if (c >= 0) {
            day->granted[c]++;
        }
    }

    json_array_foreach(json_object_get(record, "denied"), i, v) {
        c = consent_audit_stats_category(ctx, json_string_value(v));
        if (c >= 0) {
            day->denied[c]++;
        }
    }

    return 0;
}


/* records come in time order: the day is almost always the last one */

static consent_audit_day_t *
consent_audit_stats_day(consent_audit_stats_ctx_t *ctx, const char *ts)
{
    size_t                i;
    consent_audit_day_t  *day;

    for (i = ctx->ndays; i > 0; i--) {
        if (memcmp(ctx->days[i - 1].day, ts, 10) == 0) {
            return &ctx->days[i - 1];
        }

        if (memcmp(ctx->days[i - 1].day, ts, 10) < 0) {
            break;
        }
    }

    if (ctx->ndays == ctx->nalloc) {
        ctx->nalloc = ctx->nalloc ? ctx->nalloc * 2 : 64;
        day = realloc(ctx->days, ctx->nalloc * sizeof(consent_audit_day_t));

        if (day == NULL) {
            return NULL;
        }

        ctx->days = day;
    }

    /* keep the days sorted: insert after position i */

    memmove(&ctx->days[i + 1], &ctx->days[i],
            (ctx->ndays - i) * sizeof(consent_audit_day_t));
    ctx->ndays++;

    day = &ctx->days[i];
    memset(day, 0, sizeof(*day));
    memcpy(day->day, ts, 10);

    return day;
}


static int
consent_audit_stats_category(consent_audit_stats_ctx_t *ctx,
    const char *name)
{
    size_t  i;

    if (name == NULL) {
        return -1;
    }

    for (i = 0; i < ctx->ncategories; i++) {
        if (strcmp(ctx->categories[i], name) == 0) {
            return (int) i;
        }
    }

    if (ctx->ncategories == CONSENT_AUDIT_CATEGORIES) {
        return -1;
    }

    ctx->categories[i] = strdup(name);
    if (ctx->categories[i] == NULL) {
        return -1;
    }

    ctx->ncategories++;

    return (int) i;
}


static void
consent_audit_stats_free(consent_audit_stats_ctx_t *ctx)
{
    size_t  i;

    for (i = 0; i < ctx->ncategories; i++) {
        free(ctx->categories[i]);
    }

    free(ctx->days);
}


static int
consent_audit_csv_record(void *data, const char *file, size_t line,
    json_t *record)
{
    FILE  *out = data;

    size_t       i;
    json_t      *v;
    const char  *type;
    char         num[32];

    static const char  *fields[] = {
        "ts", "id", "action", "granted", "denied", "revision", "text_hash",
        "lang", "source", "gpc", "ip", "host", "node", "seq", "regime"
    };

    (void) file;
    (void) line;

    type = json_string_value(json_object_get(record, "type"));
    if (type == NULL || strcmp(type, "consent") != 0) {
        return 0;
    }

    for (i = 0; i < sizeof(fields) / sizeof(char *); i++) {
        if (i) {
            fputc(',', out);
        }

        v = json_object_get(record, fields[i]);

        if (json_is_string(v)) {
            consent_audit_csv_field(out, json_string_value(v));

        } else if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%lld",
                     (long long) json_integer_value(v));
            fputs(num, out);

        } else if (json_is_boolean(v)) {
            fputs(json_is_true(v) ? "true" : "false", out);

        } else if (json_is_array(v)) {
            consent_audit_csv_names(out, v);
        }
    }

    fputs("\r\n", out);

    return 0;
}


/* RFC 4180 quoting; a leading = + - @ is defused for spreadsheets */

static void
consent_audit_csv_field(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL
        && (s[0] == '\0' || strchr("=+-@", s[0]) == NULL))
    {
        fputs(s, out);
        return;
    }

    fputc('"', out);

    if (s[0] != '\0' && strchr("=+-@", s[0]) != NULL) {
        fputc('\'', out);
    }

    for ( ; *s; s++) {
        if (*s == '"') {
            fputc('"', out);
        }

        fputc(*s, out);
    }

    fputc('"', out);
}


static void
consent_audit_csv_names(FILE *out, json_t *names)
{
    size_t   i, len;
    char    *s, *p;
    json_t  *v;

    len = 1;

    json_array_foreach(names, i, v) {
        len += json_string_length(v) + 1;
    }

    s = malloc(len);
    if (s == NULL) {
        return;
    }

    p = s;

    json_array_foreach(names, i, v) {
        if (!json_is_string(v)) {
            continue;
        }

        if (p != s) {
            *p++ = ' ';
        }

        memcpy(p, json_string_value(v), json_string_length(v));
        p += json_string_length(v);
    }

    *p = '\0';

    consent_audit_csv_field(out, s);
    free(s);
}


static void
consent_audit_html(FILE *out, const char *s)
{
    for ( ; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}
