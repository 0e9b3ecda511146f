
/*
 * Copyright (C) nginx-consent developers
 */


#include "ngx_http_consent_lang.h"


typedef struct {
    const unsigned char    *data;
    size_t                  len;
    int                     q;           /* 0 .. 1000 */
} ngx_http_consent_lang_range_t;


static size_t ngx_http_consent_lang_parse(const unsigned char *p,
    const unsigned char *end, ngx_http_consent_lang_range_t *ranges);
static const unsigned char *ngx_http_consent_lang_qvalue(
    const unsigned char *p, const unsigned char *end, int *q);
static int ngx_http_consent_lang_match(ngx_http_consent_lang_range_t *range,
    const ngx_http_consent_slice_t *tag);
static int ngx_http_consent_lang_lower(int c);


#define ngx_http_consent_lang_ows(c)  ((c) == ' ' || (c) == '\t')
#define ngx_http_consent_lang_alpha(c)                                       \
    (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')
#define ngx_http_consent_lang_digit(c)  ((c) >= '0' && (c) <= '9')


int
ngx_http_consent_lang_pick(const unsigned char *header, size_t len,
    const ngx_http_consent_slice_t *avail, size_t n, int fallback)
{
    int                            best, best_q, best_pos, best_spec, q,
                                   pos, spec, q_spec, pos_spec, zero_spec;
    size_t                         i, j, nranges;
    ngx_http_consent_lang_range_t  ranges[NGX_HTTP_CONSENT_LANG_MAX_RANGES];

    if (header == NULL || avail == NULL || n == 0) {
        return fallback;
    }

    if (len > NGX_HTTP_CONSENT_LANG_MAX_HEADER) {
        len = NGX_HTTP_CONSENT_LANG_MAX_HEADER;
    }

    nranges = ngx_http_consent_lang_parse(header, header + len, ranges);

    best = -1;
    best_q = 0;
    best_pos = 0;
    best_spec = 0;

    for (i = 0; i < n; i++) {

        /*
         * q: the highest quality of a range that matches this language;
         * pos: where the first such range is, q_spec: how specific its
         * match is; pos_spec: how specific the most specific positive
         * range is; zero_spec: the same for the ranges with q=0 that
         * cover the language
         */

        q = 0;
        pos = -1;
        q_spec = 0;
        pos_spec = -1;
        zero_spec = -1;

        for (j = 0; j < nranges; j++) {
            spec = ngx_http_consent_lang_match(&ranges[j], &avail[i]);

            if (spec < 0) {
                continue;
            }

            if (ranges[j].q == 0) {
                /* "fr-CA;q=0" says nothing against plain "fr" */

                if (ranges[j].len <= avail[i].len && spec > zero_spec) {
                    zero_spec = spec;
                }

                continue;
            }

            if (ranges[j].q > q) {
                q = ranges[j].q;
                pos = (int) j;
                q_spec = spec;
            }

            if (spec > pos_spec) {
                pos_spec = spec;
            }
        }

        if (pos < 0 || zero_spec >= pos_spec) {
            continue;
        }

        if (best >= 0) {
            if (q < best_q) {
                continue;
            }

            if (q == best_q) {
                if (pos > best_pos) {
                    continue;
                }

                /*
                 * the same range: the closer match first, then the
                 * fallback, then avail's order
                 */

                if (pos == best_pos && q_spec < best_spec) {
                    continue;
                }

                if (pos == best_pos && q_spec == best_spec
                    && (best == fallback || (int) i != fallback))
                {
                    continue;
                }
            }
        }

        best = (int) i;
        best_q = q;
        best_pos = pos;
        best_spec = q_spec;
    }

    return best >= 0 ? best : fallback;
}


int
ngx_http_consent_lang_valid(const unsigned char *s, size_t len)
{
    size_t  i, sub, primary;

    /* 1*8ALPHA *( "-" 1*8alphanum ) */

    if (len == 0 || len > NGX_HTTP_CONSENT_LANG_MAX_TAG) {
        return 0;
    }

    sub = 0;
    primary = 1;

    for (i = 0; i < len; i++) {

        if (s[i] == '-') {
            if (sub == 0) {
                return 0;
            }

            sub = 0;
            primary = 0;
            continue;
        }

        if (!ngx_http_consent_lang_alpha(s[i])
            && (primary || !ngx_http_consent_lang_digit(s[i])))
        {
            return 0;
        }

        if (++sub > 8) {
            return 0;
        }
    }

    return sub > 0;
}


/*
 * language-range *( OWS ";" OWS "q=" qvalue ) separated by commas; an
 * element that does not parse is skipped up to the next comma
 */

static size_t
ngx_http_consent_lang_parse(const unsigned char *p, const unsigned char *end,
    ngx_http_consent_lang_range_t *ranges)
{
    int                   q, bad;
    size_t                n;
    const unsigned char  *start, *last;

    n = 0;

    while (p < end && n < NGX_HTTP_CONSENT_LANG_MAX_RANGES) {

        while (p < end && (ngx_http_consent_lang_ows(*p) || *p == ',')) {
            p++;
        }

        start = p;

        while (p < end
               && (ngx_http_consent_lang_alpha(*p)
                   || ngx_http_consent_lang_digit(*p)
                   || *p == '-' || *p == '*'))
        {
            p++;
        }

        last = p;
        q = 1000;
        bad = (last == start
               || last - start > NGX_HTTP_CONSENT_LANG_MAX_TAG
               || (*start == '*' && last - start != 1));

        for ( ;; ) {
            while (p < end && ngx_http_consent_lang_ows(*p)) {
                p++;
            }

            if (p == end || *p == ',') {
                break;
            }

            if (*p != ';') {
                bad = 1;
                break;
            }

            p++;

            while (p < end && ngx_http_consent_lang_ows(*p)) {
                p++;
            }

            if (p + 1 < end && (*p | 0x20) == 'q' && p[1] == '=') {
                p = ngx_http_consent_lang_qvalue(p + 2, end, &q);

                if (q < 0) {
                    bad = 1;
                }

                continue;
            }

            /* another parameter: ignored */

            while (p < end && *p != ';' && *p != ',') {
                p++;
            }
        }

        while (p < end && *p != ',') {
            p++;
        }

        if (bad) {
            continue;
        }

        ranges[n].data = start;
        ranges[n].len = last - start;
        ranges[n].q = q;
        n++;
    }

    return n;
}


/* "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3"0" ]; q is -1 when it is not that */

static const unsigned char *
ngx_http_consent_lang_qvalue(const unsigned char *p, const unsigned char *end,
    int *q)
{
    int  digits, v, scale;

    if (p == end || (*p != '0' && *p != '1')) {
        *q = -1;
        return p;
    }

    v = (*p++ - '0') * 1000;

    if (p < end && *p == '.') {
        p++;
        scale = 100;

        for (digits = 0;
             digits < 3 && p < end && ngx_http_consent_lang_digit(*p);
             digits++)
        {
            v += (*p++ - '0') * scale;
            scale /= 10;
        }
    }

    if (v > 1000) {
        v = -1;
    }

    *q = v;

    return p;
}


/*
 * -1 if the range does not match the tag; otherwise how specific the match
 * is: "*" 0, a prefix match twice the common length, an exact match one more
 */

static int
ngx_http_consent_lang_match(ngx_http_consent_lang_range_t *range,
    const ngx_http_consent_slice_t *tag)
{
    size_t  i, m;

    if (range->len == 1 && range->data[0] == '*') {
        return 0;
    }

    m = range->len < tag->len ? range->len : tag->len;

    for (i = 0; i < m; i++) {
        if (ngx_http_consent_lang_lower(range->data[i])
            != ngx_http_consent_lang_lower(tag->data[i]))
        {
            return -1;
        }
    }

    if (range->len == tag->len) {
        return (int) (2 * m + 1);
    }

    if (range->len > tag->len && range->data[m] != '-') {
        return -1;
    }

    if (tag->len > range->len && tag->data[m] != '-') {
        return -1;
    }

    return (int) (2 * m);
}


static int
ngx_http_consent_lang_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c | 0x20 : c;
}
