
/*
 * Copyright (C) nginx-consent developers
 */


#include <stdint.h>
#include <string.h>

#include "ngx_http_consent_form.h"
#include "ngx_http_consent_lang.h"


/* a reader over a JSON body */
typedef struct {
    const unsigned char        *p;
    const unsigned char        *last;
    int                         deep;        /* nested too deeply */
} ngx_http_consent_json_t;


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
static int ngx_http_consent_hex_digit(unsigned char c);
static int ngx_http_consent_is(const unsigned char *value, size_t len,
    const char *word);
static int ngx_http_consent_json_value(ngx_http_consent_json_t *j,
    int depth);
static int ngx_http_consent_json_string(ngx_http_consent_json_t *j,
    unsigned char *dst, size_t size, size_t *len);
static size_t ngx_http_consent_json_utf8(const unsigned char *p,
    const unsigned char *last);
static int ngx_http_consent_json_hex4(ngx_http_consent_json_t *j,
    uint32_t *cp);
static size_t ngx_http_consent_json_put(unsigned char *dst, size_t size,
    size_t n, const unsigned char *s, size_t k);
static int ngx_http_consent_json_number(ngx_http_consent_json_t *j);
static int ngx_http_consent_json_literal(ngx_http_consent_json_t *j,
    const char *word);
static void ngx_http_consent_json_space(ngx_http_consent_json_t *j);


/* the words of the enums, as forms, JSON, the log and the counters say them */

const char *const  ngx_http_consent_action_names[] = {
    "accept_all", "reject_all", "save", "withdraw", NULL
};

const char *const  ngx_http_consent_source_names[] = {
    "banner", "page", "api", NULL
};


int
ngx_http_consent_form_parse(unsigned char *body, size_t len,
    ngx_http_consent_form_t *form)
{
    size_t          klen, vlen;
    unsigned char  *p, *last, *key, *value;

    memset(form, 0, offsetof(ngx_http_consent_form_t, buf));

    form->action = NGX_HTTP_CONSENT_ACTION_NONE;
    form->source = NGX_HTTP_CONSENT_SOURCE_NONE;

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

    if (form->action == NGX_HTTP_CONSENT_ACTION_NONE) {
        form->error = "the form has no \"action\"";
        return -1;
    }

    if (form->source == NGX_HTTP_CONSENT_SOURCE_NONE) {
        form->source = NGX_HTTP_CONSENT_SOURCE_PAGE;
    }

    return 0;
}


/*
 * A consent POST in JSON is one flat object:
 *
 *     {"action": "save", "source": "banner", "categories": ["analytics"]}
 *
 * It is read without allocating: a first pass checks that the whole body is
 * JSON (RFC 8259: UTF-8, no lone surrogates, no "\u0000", members nested at
 * most NGX_HTTP_CONSENT_JSON_DEPTH deep), a second one finds the three
 * members and "lang", each at most once; other members are ignored. Names
 * are decoded into form->buf, so the body itself is left as it is.
 */

int
ngx_http_consent_json_parse(const unsigned char *body, size_t len,
    ngx_http_consent_form_t *form)
{
    size_t                    n, klen;
    unsigned char             key[16], *p;
    const unsigned char     **member, *action, *source, *categories, *lang;
    ngx_http_consent_json_t   j;

    memset(form, 0, offsetof(ngx_http_consent_form_t, buf));

    form->action = NGX_HTTP_CONSENT_ACTION_NONE;
    form->source = NGX_HTTP_CONSENT_SOURCE_NONE;

    j.p = body;
    j.last = body + len;
    j.deep = 0;

    ngx_http_consent_json_space(&j);

    if (ngx_http_consent_json_value(&j, 0) != 0) {
        form->error = j.deep ? "the JSON body is nested too deeply"
                                    : "the body is not valid JSON";
        return -1;
    }

    ngx_http_consent_json_space(&j);

    if (j.p != j.last) {
        form->error = "the body is not valid JSON";
        return -1;
    }

    /* valid JSON from here on: no bound needs checking again */

    j.p = body;
    ngx_http_consent_json_space(&j);

    if (*j.p != '{') {
        form->error = "the JSON body is not an object";
        return -1;
    }

    action = NULL;
    source = NULL;
    categories = NULL;
    lang = NULL;

    j.p++;
    ngx_http_consent_json_space(&j);

    while (*j.p != '}') {
        (void) ngx_http_consent_json_string(&j, key, sizeof(key), &klen);

        ngx_http_consent_json_space(&j);
        j.p++;                                              /* ':' */
        ngx_http_consent_json_space(&j);

        member = NULL;

        if (ngx_http_consent_is(key, klen, "action")) {
            member = &action;

        } else if (ngx_http_consent_is(key, klen, "source")) {
            member = &source;

        } else if (ngx_http_consent_is(key, klen, "categories")) {
            member = &categories;

        } else if (ngx_http_consent_is(key, klen, "lang")) {
            member = &lang;
        }

        if (member != NULL) {
            if (*member != NULL) {
                form->error = "a member of the JSON body is given twice";
                return -1;
            }

            *member = j.p;
        }

        (void) ngx_http_consent_json_value(&j, 1);
        ngx_http_consent_json_space(&j);

        if (*j.p == ',') {
            j.p++;
            ngx_http_consent_json_space(&j);
        }
    }

    if (action == NULL || *action != '"') {
        form->error = "the JSON body has no \"action\" string";
        return -1;
    }

    j.p = action;
    (void) ngx_http_consent_json_string(&j, key, sizeof(key), &klen);

    if (ngx_http_consent_form_action(form, key, klen) != 0) {
        return -1;
    }

    if (source == NULL) {
        form->source = NGX_HTTP_CONSENT_SOURCE_API;

    } else {
        if (*source != '"') {
            form->error = "\"source\" is not a string";
            return -1;
        }

        j.p = source;
        (void) ngx_http_consent_json_string(&j, key, sizeof(key), &klen);

        if (ngx_http_consent_form_source(form, key, klen) != 0) {
            return -1;
        }
    }

    if (lang != NULL && *lang == '"') {
        /*
         * the banner's language, kept after the room of the names;
         * anything but a language tag is ignored
         */

        p = form->buf + NGX_HTTP_CONSENT_MAX_CATEGORIES
                        * NGX_HTTP_CONSENT_NAME_MAX;
        j.p = lang;
        (void) ngx_http_consent_json_string(&j, p,
                                            NGX_HTTP_CONSENT_LANG_MAX_TAG,
                                            &klen);

        if (klen <= NGX_HTTP_CONSENT_LANG_MAX_TAG
            && ngx_http_consent_lang_valid(p, klen))
        {
            form->lang.data = p;
            form->lang.len = klen;
        }
    }

    if (categories == NULL) {
        return 0;
    }

    if (*categories != '[') {
        form->error = "\"categories\" is not an array";
        return -1;
    }

    n = 0;
    j.p = categories + 1;
    ngx_http_consent_json_space(&j);

    while (*j.p != ']') {
        if (*j.p != '"') {
            form->error = "\"categories\" holds something else than strings";
            return -1;
        }

        (void) ngx_http_consent_json_string(&j, form->buf + n,
                                            NGX_HTTP_CONSENT_NAME_MAX, &klen);

        if (ngx_http_consent_form_category(form, form->buf + n, klen) != 0) {
            return -1;
        }

        /* a name kept (not a repeat) keeps its bytes in form->buf */

        if (form->categories[form->ncategories - 1].data == form->buf + n) {
            n += klen;
        }

        ngx_http_consent_json_space(&j);

        if (*j.p == ',') {
            j.p++;
            ngx_http_consent_json_space(&j);
        }
    }

    return 0;
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

        hi = ngx_http_consent_hex_digit(s[1]);
        lo = ngx_http_consent_hex_digit(s[2]);

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
        if (form->action != NGX_HTTP_CONSENT_ACTION_NONE) {
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
        if (form->source != NGX_HTTP_CONSENT_SOURCE_NONE) {
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
    int  a;

    for (a = 0; ngx_http_consent_action_names[a] != NULL; a++) {
        if (ngx_http_consent_is(value, len, ngx_http_consent_action_names[a]))
        {
            form->action = (ngx_http_consent_action_e) a;
            return 0;
        }
    }

    form->error = "unknown \"action\": use accept_all, reject_all, save or "
                  "withdraw";
    return -1;
}


static int
ngx_http_consent_form_source(ngx_http_consent_form_t *form,
    const unsigned char *value, size_t len)
{
    int  a;

    for (a = 0; ngx_http_consent_source_names[a] != NULL; a++) {
        if (ngx_http_consent_is(value, len, ngx_http_consent_source_names[a]))
        {
            form->source = (ngx_http_consent_source_e) a;
            return 0;
        }
    }

    form->error = "unknown \"source\": use banner, page or api";
    return -1;
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
ngx_http_consent_hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


static int
ngx_http_consent_is(const unsigned char *value, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(value, word, len) == 0;
}


/* one value, checked and skipped; objects and arrays at most so deep */

static int
ngx_http_consent_json_value(ngx_http_consent_json_t *j, int depth)
{
    int            object;
    size_t         len;
    unsigned char  close;

    if (j->p == j->last) {
        return -1;
    }

    switch (*j->p) {

    case '"':
        return ngx_http_consent_json_string(j, NULL, 0, &len);

    case 't':
        return ngx_http_consent_json_literal(j, "true");

    case 'f':
        return ngx_http_consent_json_literal(j, "false");

    case 'n':
        return ngx_http_consent_json_literal(j, "null");

    case '{':
    case '[':
        break;

    default:
        return ngx_http_consent_json_number(j);
    }

    if (depth == NGX_HTTP_CONSENT_JSON_DEPTH) {
        j->deep = 1;
        return -1;
    }

    object = (*j->p == '{');
    close = object ? '}' : ']';

    j->p++;
    ngx_http_consent_json_space(j);

    if (j->p < j->last && *j->p == close) {
        j->p++;
        return 0;
    }

    for ( ;; ) {
        if (object) {
            if (j->p == j->last || *j->p != '"'
                || ngx_http_consent_json_string(j, NULL, 0, &len) != 0)
            {
                return -1;
            }

            ngx_http_consent_json_space(j);

            if (j->p == j->last || *j->p != ':') {
                return -1;
            }

            j->p++;
            ngx_http_consent_json_space(j);
        }

        if (ngx_http_consent_json_value(j, depth + 1) != 0) {
            return -1;
        }

        ngx_http_consent_json_space(j);

        if (j->p == j->last) {
            return -1;
        }

        if (*j->p == close) {
            j->p++;
            return 0;
        }

        if (*j->p != ',') {
            return -1;
        }

        j->p++;
        ngx_http_consent_json_space(j);
    }
}


/*
 * A string, decoded into dst (NULL to only check it): *len is its decoded
 * length, even when that is more than size and only size bytes were kept.
 */

static int
ngx_http_consent_json_string(ngx_http_consent_json_t *j, unsigned char *dst,
    size_t size, size_t *len)
{
    size_t          n, k;
    uint32_t        cp, lo;
    unsigned char   c, utf8[4];

    n = 0;
    j->p++;                                                 /* '"' */

    for ( ;; ) {
        if (j->p == j->last) {
            return -1;
        }

        c = *j->p;

        if (c == '"') {
            j->p++;
            *len = n;
            return 0;
        }

        if (c < 0x20) {
            return -1;
        }

        if (c >= 0x80) {

            /* a UTF-8 sequence, kept as it is once checked */

            k = ngx_http_consent_json_utf8(j->p, j->last);
            if (k == 0) {
                return -1;
            }

            n = ngx_http_consent_json_put(dst, size, n, j->p, k);
            j->p += k;
            continue;
        }

        if (c != '\\') {
            n = ngx_http_consent_json_put(dst, size, n, j->p, 1);
            j->p++;
            continue;
        }

        if (j->last - j->p < 2) {
            return -1;
        }

        c = j->p[1];
        j->p += 2;

        switch (c) {
        case '"':
        case '\\':
        case '/':
            cp = c;
            break;
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;

        case 'u':
            if (ngx_http_consent_json_hex4(j, &cp) != 0) {
                return -1;
            }

            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return -1;
            }

            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (j->last - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u') {
                    return -1;
                }

                j->p += 2;

                if (ngx_http_consent_json_hex4(j, &lo) != 0
                    || lo < 0xdc00 || lo > 0xdfff)
                {
                    return -1;
                }

                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }

            /* as jansson does, a NUL is refused: no name holds one */

            if (cp == 0) {
                return -1;
            }

            break;

        default:
            return -1;
        }

        if (cp < 0x80) {
            utf8[0] = (unsigned char) cp;
            k = 1;

        } else if (cp < 0x800) {
            utf8[0] = (unsigned char) (0xc0 | cp >> 6);
            utf8[1] = (unsigned char) (0x80 | (cp & 0x3f));
            k = 2;

        } else if (cp < 0x10000) {
            utf8[0] = (unsigned char) (0xe0 | cp >> 12);
            utf8[1] = (unsigned char) (0x80 | (cp >> 6 & 0x3f));
            utf8[2] = (unsigned char) (0x80 | (cp & 0x3f));
            k = 3;

        } else {
            utf8[0] = (unsigned char) (0xf0 | cp >> 18);
            utf8[1] = (unsigned char) (0x80 | (cp >> 12 & 0x3f));
            utf8[2] = (unsigned char) (0x80 | (cp >> 6 & 0x3f));
            utf8[3] = (unsigned char) (0x80 | (cp & 0x3f));
            k = 4;
        }

        n = ngx_http_consent_json_put(dst, size, n, utf8, k);
    }
}


/* the length of the UTF-8 sequence at p (RFC 3629), 0 if it is not one */

static size_t
ngx_http_consent_json_utf8(const unsigned char *p, const unsigned char *last)
{
    size_t         i, k;
    unsigned char  lo, hi;

    lo = 0x80;
    hi = 0xbf;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        k = 2;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        k = 3;
        lo = (p[0] == 0xe0) ? 0xa0 : 0x80;          /* no overlong form */
        hi = (p[0] == 0xed) ? 0x9f : 0xbf;          /* no surrogate */

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        k = 4;
        lo = (p[0] == 0xf0) ? 0x90 : 0x80;          /* no overlong form */
        hi = (p[0] == 0xf4) ? 0x8f : 0xbf;          /* not past U+10FFFF */

    } else {
        return 0;
    }

    if ((size_t) (last - p) < k || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < k; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return k;
}


static int
ngx_http_consent_json_hex4(ngx_http_consent_json_t *j, uint32_t *cp)
{
    int  i, d;

    if (j->last - j->p < 4) {
        return -1;
    }

    *cp = 0;

    for (i = 0; i < 4; i++) {
        d = ngx_http_consent_hex_digit(j->p[i]);
        if (d < 0) {
            return -1;
        }

        *cp = *cp << 4 | (uint32_t) d;
    }

    j->p += 4;

    return 0;
}


/* bytes of a decoded string, kept while they fit: the new length */

static size_t
ngx_http_consent_json_put(unsigned char *dst, size_t size, size_t n,
    const unsigned char *s, size_t k)
{
    size_t  i;

    for (i = 0; dst != NULL && i < k && n + i < size; i++) {
        dst[n + i] = s[i];
    }

    return n + k;
}


static int
ngx_http_consent_json_number(ngx_http_consent_json_t *j)
{
    const unsigned char  *p;

    p = j->p;

    if (p < j->last && *p == '-') {
        p++;
    }

    if (p == j->last || *p < '0' || *p > '9') {
        return -1;
    }

    if (*p++ != '0') {
        while (p < j->last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < j->last && *p == '.') {
        if (++p == j->last || *p < '0' || *p > '9') {
            return -1;
        }

        while (p < j->last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < j->last && (*p == 'e' || *p == 'E')) {
        if (++p < j->last && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == j->last || *p < '0' || *p > '9') {
            return -1;
        }

        while (p < j->last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    j->p = p;

    return 0;
}


static int
ngx_http_consent_json_literal(ngx_http_consent_json_t *j, const char *word)
{
    size_t  len;

    len = strlen(word);

    if ((size_t) (j->last - j->p) < len || memcmp(j->p, word, len) != 0) {
        return -1;
    }

    j->p += len;

    return 0;
}


static void
ngx_http_consent_json_space(ngx_http_consent_json_t *j)
{
    while (j->p < j->last
           && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n'
               || *j->p == '\r'))
    {
        j->p++;
    }
}
