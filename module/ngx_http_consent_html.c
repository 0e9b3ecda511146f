
/*
 * Copyright (C) nginx-consent developers
 */


#include <string.h>

#if (__SSE2__)
#include <emmintrin.h>
#endif

#include "ngx_http_consent_html.h"


/* the tokenizer states of the HTML standard, section 13.2.5 */
enum {
    sw_data = 0,
    sw_tag_open,
    sw_end_tag_open,
    sw_tag_name,
    sw_before_attr_name,
    sw_attr_name,
    sw_after_attr_name,
    sw_before_attr_value,
    sw_attr_value_dq,
    sw_attr_value_sq,
    sw_attr_value_uq,
    sw_after_attr_value,
    sw_self_closing,
    sw_markup_decl,
    sw_markup_dash,
    sw_markup_doctype,
    sw_comment_start,
    sw_comment_start_dash,
    sw_comment,
    sw_comment_end_dash,
    sw_comment_end,
    sw_comment_end_bang,
    sw_bogus_comment,
    sw_raw,
    sw_raw_lt,
    sw_rt_end_open,
    sw_rt_end_name,
    sw_script,
    sw_script_lt,
    sw_script_esc_start,
    sw_script_esc_start_dash,
    sw_script_esc,
    sw_script_esc_dash,
    sw_script_esc_dash_dash,
    sw_script_esc_lt,
    sw_script_dbl_esc_start,
    sw_script_dbl_esc,
    sw_script_dbl_esc_dash,
    sw_script_dbl_esc_dash_dash,
    sw_script_dbl_esc_lt,
    sw_script_dbl_esc_end,
    sw_plaintext,
    sw_markup_cdata,    /* "<![CDATA[" in SVG or MathML */
    sw_cdata,
    sw_cdata_bracket,
    sw_cdata_end
};


/* how the attribute reader goes through a tag */
enum {
    attrs_read = 0,
    attrs_sniff,
    attrs_record
};


/* what ends a tag name, an attribute's name, an unquoted value: one load */
#define NGX_HTTP_CONSENT_HTML_END_NAME   1      /* white space, "/", ">" */
#define NGX_HTTP_CONSENT_HTML_END_ANAME  2      /* the same, and "=" */
#define NGX_HTTP_CONSENT_HTML_END_VALUE  4      /* white space, ">" */

#define NGX_HTTP_CONSENT_HTML_END_ALL                                         \
    (NGX_HTTP_CONSENT_HTML_END_NAME | NGX_HTTP_CONSENT_HTML_END_ANAME          \
     | NGX_HTTP_CONSENT_HTML_END_VALUE)

static const unsigned char  ngx_http_consent_html_end[256] = {
    ['\t'] = NGX_HTTP_CONSENT_HTML_END_ALL,
    ['\n'] = NGX_HTTP_CONSENT_HTML_END_ALL,
    ['\f'] = NGX_HTTP_CONSENT_HTML_END_ALL,
    ['\r'] = NGX_HTTP_CONSENT_HTML_END_ALL,
    [' '] = NGX_HTTP_CONSENT_HTML_END_ALL,
    ['>'] = NGX_HTTP_CONSENT_HTML_END_ALL,
    ['/'] = NGX_HTTP_CONSENT_HTML_END_NAME | NGX_HTTP_CONSENT_HTML_END_ANAME,
    ['='] = NGX_HTTP_CONSENT_HTML_END_ANAME
};

#define ngx_http_consent_html_ends(c, what)                                   \
    (ngx_http_consent_html_end[(unsigned char) (c)]                           \
     & NGX_HTTP_CONSENT_HTML_END_ ## what)


/* the size of a list's index of names (a power of two) */
#define NGX_HTTP_CONSENT_HTML_INDEX  128


typedef struct {
    const char                      *name;
    size_t                           len;
} ngx_http_consent_html_name_t;


typedef struct {
    const char                      *name;
    size_t                           len;
    const char                      *value;
} ngx_http_consent_html_entity_t;


static const unsigned char *ngx_http_consent_html_attrs(
    ngx_http_consent_html_t *s, unsigned *state, const unsigned char *p,
    const unsigned char *last, uint64_t off, unsigned how);
static const unsigned char *ngx_http_consent_html_skip_tag(
    ngx_http_consent_html_t *s, const unsigned char *p,
    const unsigned char *last);
static ngx_http_consent_html_element_e ngx_http_consent_html_element_of(
    const unsigned char *name, size_t len);
static int ngx_http_consent_html_sniff(ngx_http_consent_html_t *s,
    const unsigned char *name, size_t len);
static int ngx_http_consent_html_attr_of(const unsigned char *name,
    size_t len);
static int ngx_http_consent_html_lookup(
    const ngx_http_consent_html_name_t *names, size_t n, uint32_t *index,
    unsigned *indexed, const unsigned char *name, size_t len);
static int ngx_http_consent_html_name_is(const ngx_http_consent_html_name_t *n,
    const unsigned char *name, size_t len);
static void ngx_http_consent_html_tag_begin(ngx_http_consent_html_t *s,
    uint64_t start, unsigned end_tag);
static void ngx_http_consent_html_tag_name_end(ngx_http_consent_html_t *s);
static void ngx_http_consent_html_attr_begin(ngx_http_consent_html_t *s,
    uint64_t start);
static void ngx_http_consent_html_attr_name_end(ngx_http_consent_html_t *s,
    uint64_t end);
static void ngx_http_consent_html_attr_append(ngx_http_consent_html_t *s,
    const unsigned char *p, size_t len);
static void ngx_http_consent_html_attr_value_start(
    ngx_http_consent_html_t *s, uint64_t start);
static void ngx_http_consent_html_attr_value_end(ngx_http_consent_html_t *s,
    uint64_t vend, uint64_t end);
static unsigned ngx_http_consent_html_tag_end(ngx_http_consent_html_t *s,
    uint64_t end, unsigned *state);
static int ngx_http_consent_html_foreign(ngx_http_consent_html_t *s);
static unsigned ngx_http_consent_html_nest_start(ngx_http_consent_html_t *s);
static void ngx_http_consent_html_nest_end(ngx_http_consent_html_t *s);
static void ngx_http_consent_html_nest_close(ngx_http_consent_html_t *s);
static int ngx_http_consent_html_breakout(ngx_http_consent_html_t *s);
static int ngx_http_consent_html_ip(ngx_http_consent_html_t *s,
    unsigned math);
static int ngx_http_consent_html_in(const char **names,
    const unsigned char *name, size_t len);
static unsigned ngx_http_consent_html_match(ngx_http_consent_html_t *s,
    unsigned char ch, ngx_http_consent_html_element_e element);
static size_t ngx_http_consent_html_utf8(uint32_t cp, unsigned char *out);


static const ngx_http_consent_html_name_t  ngx_http_consent_html_elements[] = {
    { "", 0 },
    { "script", 6 },
    { "iframe", 6 },
    { "img", 3 },
    { "link", 4 },
    { "head", 4 },
    { "body", 4 },
    { "noscript", 8 },
    { "style", 5 },
    { "xmp", 3 },
    { "noembed", 7 },
    { "noframes", 8 },
    { "title", 5 },
    { "textarea", 8 },
    { "plaintext", 9 },
    { "source", 6 },
    { "video", 5 },
    { "audio", 5 },
    { "track", 5 },
    { "object", 6 },
    { "embed", 5 },
    { "input", 5 },
    { "image", 5 },
    { "use", 3 },
    { "base", 4 },
    { "meta", 4 },
    { "svg", 3 },
    { "math", 4 },
    { "feimage", 7 },
    { "html", 4 }
};


static const ngx_http_consent_html_name_t
    ngx_http_consent_html_attrs_names[] =
{
    { "data-consent", 12 },
    { "data-category", 13 },
    { "data-cookieconsent", 18 },
    { "type", 4 },
    { "data-type", 9 },
    { "src", 3 },
    { "href", 4 },
    { "rel", 3 },
    { "as", 2 },
    { "srcset", 6 },
    { "imagesrcset", 11 },
    { "poster", 6 },
    { "data", 4 },
    { "ping", 4 },
    { "background", 10 },
    { "style", 5 },
    { "srcdoc", 6 },
    { "xlink:href", 10 },
    { "http-equiv", 10 },
    { "content", 7 },
    { "encoding", 8 },
    { "color", 5 },
    { "face", 4 },
    { "size", 4 },
    { "lang", 4 }
};


/* the named references that stand for ASCII (from the standard's list) */

static const ngx_http_consent_html_entity_t
    ngx_http_consent_html_entities[] =
{
    { "AMP", 3, "&" },
    { "AMP;", 4, "&" },
    { "DiacriticalGrave;", 17, "`" },
    { "GT", 2, ">" },
    { "GT;", 3, ">" },
    { "Hat;", 4, "^" },
    { "LT", 2, "<" },
    { "LT;", 3, "<" },
    { "NewLine;", 8, "\n" },
    { "QUOT", 4, "\"" },
    { "QUOT;", 5, "\"" },
    { "Tab;", 4, "\t" },
    { "UnderBar;", 9, "_" },
    { "VerticalLine;", 13, "|" },
    { "amp", 3, "&" },
    { "amp;", 4, "&" },
    { "apos;", 5, "'" },
    { "ast;", 4, "*" },
    { "bsol;", 5, "\\" },
    { "colon;", 6, ":" },
    { "comma;", 6, "," },
    { "commat;", 7, "@" },
    { "dollar;", 7, "$" },
    { "equals;", 7, "=" },
    { "excl;", 5, "!" },
    { "fjlig;", 6, "fj" },
    { "grave;", 6, "`" },
    { "gt", 2, ">" },
    { "gt;", 3, ">" },
    { "lbrace;", 7, "{" },
    { "lbrack;", 7, "[" },
    { "lcub;", 5, "{" },
    { "lowbar;", 7, "_" },
    { "lpar;", 5, "(" },
    { "lsqb;", 5, "[" },
    { "lt", 2, "<" },
    { "lt;", 3, "<" },
    { "midast;", 7, "*" },
    { "num;", 4, "#" },
    { "percnt;", 7, "%" },
    { "period;", 7, "." },
    { "plus;", 5, "+" },
    { "quest;", 6, "?" },
    { "quot", 4, "\"" },
    { "quot;", 5, "\"" },
    { "rbrace;", 7, "}" },
    { "rbrack;", 7, "]" },
    { "rcub;", 5, "}" },
    { "rpar;", 5, ")" },
    { "rsqb;", 5, "]" },
    { "semi;", 5, ";" },
    { "sol;", 4, "/" },
    { "verbar;", 7, "|" },
    { "vert;", 5, "|" },
    { NULL, 0, NULL }
};


/* windows-1252 for the numeric references 0x80 to 0x9f; 0: as is */

static const uint16_t  ngx_http_consent_html_cp1252[32] = {
    0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
    0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178
};




void
ngx_http_consent_html_init(ngx_http_consent_html_t *s)
{
    size_t  i;

    /*
     * All but the tag's attributes and the open elements, 10 KB that each
     * request would zero: an attribute is read only while it is present,
     * and only up to its length; an open element only below nnests.
     */

    memset(s, 0, offsetof(ngx_http_consent_html_t, tag));
    memset(&s->tag, 0, offsetof(ngx_http_consent_html_tag_t, attrs));
    memset(&s->offset, 0, offsetof(ngx_http_consent_html_t, nests)
                          - offsetof(ngx_http_consent_html_t, offset));

    for (i = 0; i < NGX_HTTP_CONSENT_HTML_NATTRS; i++) {
        s->tag.attrs[i].present = 0;
        s->tag.attrs[i].has_value = 0;
        s->tag.attrs[i].truncated = 0;
        s->tag.attrs[i].len = 0;
    }

    s->tag.nany = 0;

    s->state = sw_data;
    s->attr = -1;
    s->any = -1;
}


void
ngx_http_consent_html_set_raw(ngx_http_consent_html_t *s,
    ngx_http_consent_html_element_e element)
{
    s->raw = element;

    switch (element) {

    case NGX_HTTP_CONSENT_HTML_SCRIPT:
        s->state = sw_script;
        break;

    case NGX_HTTP_CONSENT_HTML_PLAINTEXT:
        s->state = sw_plaintext;
        break;

    default:
        s->state = sw_raw;
        break;
    }
}


/*
 * The caller gives up a pending tag (it grew too long to hold): no event
 * will be reported for it.
 */

void
ngx_http_consent_html_release(ngx_http_consent_html_t *s)
{
    s->is_pending = 0;
    s->released = 1;     /* reports nothing when it ends */
}


/* does the end of the input, here, end a comment or a doctype? */

int
ngx_http_consent_html_eof_comment(ngx_http_consent_html_t *s)
{
    switch (s->state) {

    case sw_markup_decl:
    case sw_markup_dash:
    case sw_markup_doctype:
    case sw_comment_start:
    case sw_comment_start_dash:
    case sw_comment:
    case sw_comment_end_dash:
    case sw_comment_end:
    case sw_comment_end_bang:
    case sw_bogus_comment:
        return 1;

    default:
        return 0;
    }
}


/* is it inside a tag whose name is read (s->tag.start is valid)? */

int
ngx_http_consent_html_in_tag(ngx_http_consent_html_t *s)
{
    switch (s->state) {

    case sw_tag_name:
    case sw_before_attr_name:
    case sw_attr_name:
    case sw_after_attr_name:
    case sw_before_attr_value:
    case sw_attr_value_dq:
    case sw_attr_value_sq:
    case sw_attr_value_uq:
    case sw_after_attr_value:
    case sw_self_closing:
        return 1;

    default:
        return 0;
    }
}



const unsigned char *
ngx_http_consent_html_scan(ngx_http_consent_html_t *s, const unsigned char *p,
    const unsigned char *last)
{
    unsigned              state;
    unsigned char         ch;
    const unsigned char  *base, *q;

#define off(pp)  (s->offset + (uint64_t) ((pp) - base))

    base = p;
    state = s->state;
    s->event = NGX_HTTP_CONSENT_HTML_EV_NONE;

    while (p < last) {

        ch = *p;

        switch (state) {

        case sw_data:
            q = ngx_http_consent_html_find(p, last, '<');
            if (q == NULL) {
                p = last;
                continue;
            }

            p = q;

            if (!s->trace && s->nnests == 0) {
                /* not in SVG or MathML, where most names may end it */
                q = ngx_http_consent_html_skip_tag(s, p, last);

                if (q != NULL) {
                    /* a whole tag of no interest: skipped */
                    p = q;
                    continue;
                }
            }

            s->lt = off(p);
            state = sw_tag_open;

            if (s->watch_start | s->watch_end_name | s->watch_attrs) {
                s->is_pending = 1;
                s->pending = s->lt;
            }

            break;

        case sw_tag_open:
            if (ch == '!') {
                s->is_pending = 0;
                s->comment_start = s->lt;
                state = sw_markup_decl;
                break;
            }

            if (ch == '/') {
                state = sw_end_tag_open;
                break;
            }

            if (ngx_http_consent_html_alpha(ch)) {
                ngx_http_consent_html_tag_begin(s, s->lt, 0);
                state = sw_tag_name;
                continue;
            }

            s->is_pending = 0;

            if (ch == '?') {
                s->comment_start = s->lt;
                state = sw_bogus_comment;
                continue;
            }

            state = sw_data;
            continue;

        case sw_end_tag_open:
            if (ngx_http_consent_html_alpha(ch)) {
                ngx_http_consent_html_tag_begin(s, s->lt, 1);
                state = sw_tag_name;
                continue;
            }

            s->is_pending = 0;

            if (ch == '>') {
                state = sw_data;
                break;
            }

            s->comment_start = s->lt;
            state = sw_bogus_comment;
            continue;

        case sw_tag_name:
            if (ngx_http_consent_html_ends(ch, NAME)) {

                if (!s->name_done) {
                    s->name_done = 1;
                    ngx_http_consent_html_tag_name_end(s);

                    if (s->tag.end_tag
                        && (s->watch_end_name
                            & NGX_HTTP_CONSENT_HTML_BIT(s->tag.element)))
                    {
                        /* reported before the delimiter is consumed */
                        s->event = NGX_HTTP_CONSENT_HTML_EV_END_NAME;
                        goto done;
                    }
                }

                if (ch == '>') {
                    if (ngx_http_consent_html_tag_end(s, off(p) + 1, &state)) {
                        p++;
                        goto done;
                    }
                    break;
                }

                state = (ch == '/') ? sw_self_closing : sw_before_attr_name;
                break;
            }

            if (s->tag.name_len < NGX_HTTP_CONSENT_HTML_NAME_LEN) {
                s->tag.name[s->tag.name_len++] =
                                               ngx_http_consent_html_lower(ch);

                /* the rest of a name, in a tight loop */
                while (p + 1 < last
                       && s->tag.name_len < NGX_HTTP_CONSENT_HTML_NAME_LEN)
                {
                    ch = p[1];

                    if (ngx_http_consent_html_ends(ch, NAME)) {
                        break;
                    }

                    s->tag.name[s->tag.name_len++] =
                                               ngx_http_consent_html_lower(ch);
                    p++;
                }

            } else {
                /* longer than any watched name: pending for watch_attrs */
                s->tag.name_long = 1;

                if (!s->watch_attrs) {
                    s->is_pending = 0;
                }
            }

            break;

        /* the attribute states, up to the '>' that ends the tag */

        case sw_before_attr_name:
        case sw_attr_name:
        case sw_after_attr_name:
        case sw_before_attr_value:
        case sw_attr_value_dq:
        case sw_attr_value_sq:
        case sw_attr_value_uq:
        case sw_after_attr_value:
        case sw_self_closing:
            p = ngx_http_consent_html_attrs(s, &state, p, last, off(p),
                                            s->record ? attrs_record
                                                      : attrs_read);
            if (p == last) {
                continue;
            }

            if (state == sw_self_closing) {
                s->tag.self_closing = 1;
            }

            if (ngx_http_consent_html_tag_end(s, off(p) + 1, &state)) {
                p++;
                goto done;
            }

            break;

        /* markup declaration open: "--", "DOCTYPE" or a bogus comment */

        case sw_markup_decl:
            if (ch == '-') {
                state = sw_markup_dash;
                break;
            }

            if (ngx_http_consent_html_lower(ch) == 'd') {
                s->match = 1;
                state = sw_markup_doctype;
                break;
            }

            if (ch == '[' && ngx_http_consent_html_foreign(s)) {
                s->match = 1;
                state = sw_markup_cdata;
                break;
            }

            /* "[CDATA[" outside foreign content is a bogus comment */
            state = sw_bogus_comment;
            continue;

        case sw_markup_cdata:
            if (s->match < 7 && ch == "[CDATA["[s->match]) {
                if (++s->match == 7) {
                    state = sw_cdata;
                }
                break;
            }

            state = sw_bogus_comment;
            continue;

        /* a CDATA section, to "]]>": text */

        case sw_cdata:
            q = memchr(p, ']', last - p);
            if (q == NULL) {
                p = last;
                continue;
            }

            p = q;
            state = sw_cdata_bracket;
            break;

        case sw_cdata_bracket:
            state = (ch == ']') ? sw_cdata_end : sw_cdata;
            if (ch == ']') {
                break;
            }
            continue;

        case sw_cdata_end:
            if (ch == '>') {
                state = sw_data;
                break;
            }

            if (ch == ']') {
                break;
            }

            state = sw_cdata;
            continue;

        case sw_markup_dash:
            if (ch == '-') {
                state = sw_comment_start;
                break;
            }

            state = sw_bogus_comment;
            continue;

        case sw_markup_doctype:
            if (s->match < 7
                && ngx_http_consent_html_lower(ch) == "doctype"[s->match])
            {
                if (++s->match == 7) {
                    /* every doctype state ends at the first '>' */
                    state = sw_bogus_comment;
                }
                break;
            }

            state = sw_bogus_comment;
            continue;

        /* comments */

        case sw_comment_start:
            if (ch == '-') {
                state = sw_comment_start_dash;
                break;
            }

            if (ch == '>') {
                goto comment_end;
            }

            state = sw_comment;
            continue;

        case sw_comment_start_dash:
            if (ch == '-') {
                state = sw_comment_end;
                break;
            }

            if (ch == '>') {
                goto comment_end;
            }

            state = sw_comment;
            continue;

        case sw_comment:
            /*
             * the comment less-than sign states only report errors: after
             * "<!--" they reach the comment end state as this does
             */
            q = memchr(p, '-', last - p);
            if (q == NULL) {
                p = last;
                continue;
            }

            p = q;
            state = sw_comment_end_dash;
            break;

        case sw_comment_end_dash:
            if (ch == '-') {
                state = sw_comment_end;
                break;
            }

            state = sw_comment;
            continue;

        case sw_comment_end:
            if (ch == '>') {
                goto comment_end;
            }

            if (ch == '!') {
                state = sw_comment_end_bang;
                break;
            }

            if (ch == '-') {
                break;
            }

            state = sw_comment;
            continue;

        case sw_comment_end_bang:
            if (ch == '-') {
                state = sw_comment_end_dash;
                break;
            }

            if (ch == '>') {
                goto comment_end;
            }

            state = sw_comment;
            continue;

        case sw_bogus_comment:
            q = memchr(p, '>', last - p);
            if (q == NULL) {
                p = last;
                continue;
            }

            p = q;
            goto comment_end;

        /* RAWTEXT and RCDATA: style, xmp, iframe, noembed, noframes, ... */

        case sw_raw:
            q = memchr(p, '<', last - p);
            if (q == NULL) {
                p = last;
                continue;
            }

            p = q;
            s->lt = off(p);
            state = sw_raw_lt;
            break;

        case sw_raw_lt:
            if (ch == '/') {
                s->return_state = sw_raw;
                state = sw_rt_end_open;
                break;
            }

            state = sw_raw;
            continue;

        /* an end tag in raw text, script data or escaped script data */

        case sw_rt_end_open:
            if (ngx_http_consent_html_alpha(ch)) {
                s->match = 0;
                s->mismatch = 0;
                state = sw_rt_end_name;
                continue;
            }

            state = s->return_state;
            continue;

        case sw_rt_end_name:
            if (ngx_http_consent_html_alpha(ch)) {
                ngx_http_consent_html_match(s, ch, s->raw);
                break;
            }

            if (ngx_http_consent_html_ends(ch, NAME)
                && !s->mismatch
                && s->match == ngx_http_consent_html_elements[s->raw].len)
            {
                /* an appropriate end tag */
                ngx_http_consent_html_tag_begin(s, s->lt, 1);
                memcpy(s->tag.name, ngx_http_consent_html_elements[s->raw].name,
                       s->match);
                s->tag.name_len = s->match;
                state = sw_tag_name;
                continue;
            }

            state = s->return_state;
            continue;

        /* script data, with its escaped and double escaped states */

        case sw_script:
            q = memchr(p, '<', last - p);
            if (q == NULL) {
                p = last;
                continue;
            }

            p = q;
            s->lt = off(p);
            state = sw_script_lt;
            break;

        case sw_script_lt:
            if (ch == '/') {
                s->return_state = sw_script;
                state = sw_rt_end_open;
                break;
            }

            if (ch == '!') {
                state = sw_script_esc_start;
                break;
            }

            state = sw_script;
            continue;

        case sw_script_esc_start:
            if (ch == '-') {
                state = sw_script_esc_start_dash;
                break;
            }

            state = sw_script;
            continue;

        case sw_script_esc_start_dash:
            if (ch == '-') {
                state = sw_script_esc_dash_dash;
                break;
            }

            state = sw_script;
            continue;

        case sw_script_esc:
            if (ch == '-') {
                state = sw_script_esc_dash;
                break;
            }

            if (ch == '<') {
                s->lt = off(p);
                state = sw_script_esc_lt;
            }

            break;

        case sw_script_esc_dash:
            if (ch == '-') {
                state = sw_script_esc_dash_dash;
                break;
            }

            if (ch == '<') {
                s->lt = off(p);
                state = sw_script_esc_lt;
                break;
            }

            state = sw_script_esc;
            break;

        case sw_script_esc_dash_dash:
            if (ch == '-') {
                break;
            }

            if (ch == '<') {
                s->lt = off(p);
                state = sw_script_esc_lt;
                break;
            }

            state = (ch == '>') ? sw_script : sw_script_esc;
            break;

        case sw_script_esc_lt:
            if (ch == '/') {
                s->return_state = sw_script_esc;
                state = sw_rt_end_open;
                break;
            }

            if (ngx_http_consent_html_alpha(ch)) {
                s->match = 0;
                s->mismatch = 0;
                state = sw_script_dbl_esc_start;
                continue;
            }

            state = sw_script_esc;
            continue;

        case sw_script_dbl_esc_start:
            if (ngx_http_consent_html_ends(ch, NAME)) {
                state = (!s->mismatch && s->match == 6)
                           ? sw_script_dbl_esc : sw_script_esc;
                break;
            }

            if (ngx_http_consent_html_alpha(ch)) {
                ngx_http_consent_html_match(s, ch,
                                            NGX_HTTP_CONSENT_HTML_SCRIPT);
                break;
            }

            state = sw_script_esc;
            continue;

        case sw_script_dbl_esc:
            if (ch == '-') {
                state = sw_script_dbl_esc_dash;
            } else if (ch == '<') {
                state = sw_script_dbl_esc_lt;
            }

            break;

        case sw_script_dbl_esc_dash:
            if (ch == '-') {
                state = sw_script_dbl_esc_dash_dash;
            } else if (ch == '<') {
                state = sw_script_dbl_esc_lt;
            } else {
                state = sw_script_dbl_esc;
            }

            break;

        case sw_script_dbl_esc_dash_dash:
            if (ch == '-') {
                break;
            }

            if (ch == '<') {
                state = sw_script_dbl_esc_lt;
                break;
            }

            state = (ch == '>') ? sw_script : sw_script_dbl_esc;
            break;

        case sw_script_dbl_esc_lt:
            if (ch == '/') {
                s->match = 0;
                s->mismatch = 0;
                state = sw_script_dbl_esc_end;
                break;
            }

            state = sw_script_dbl_esc;
            continue;

        case sw_script_dbl_esc_end:
            if (ngx_http_consent_html_ends(ch, NAME)) {
                state = (!s->mismatch && s->match == 6)
                           ? sw_script_esc : sw_script_dbl_esc;
                break;
            }

            if (ngx_http_consent_html_alpha(ch)) {
                ngx_http_consent_html_match(s, ch,
                                            NGX_HTTP_CONSENT_HTML_SCRIPT);
                break;
            }

            state = sw_script_dbl_esc;
            continue;

        case sw_plaintext:
        default:
            p = last;
            continue;
        }

        p++;
        continue;

    comment_end:

        p++;
        state = sw_data;

        if (s->trace) {
            s->event = NGX_HTTP_CONSENT_HTML_EV_COMMENT;
            goto done;
        }
    }

done:

    s->state = state;
    s->offset += (uint64_t) (p - base);

    return p;

#undef off
}



/*
 * memchr() for the short runs that make most of a page: the text between
 * two tags, an attribute's value.  The first 32 bytes are looked at here,
 * 16 at a time with SSE2 where the compiler has it (every x86-64), so that
 * a run of a few bytes costs no call; a longer one goes to memchr().
 * Nothing is read at or past last; fuzz_find holds it to memchr().
 */

const unsigned char *
ngx_http_consent_html_find(const unsigned char *p, const unsigned char *last,
    unsigned char ch)
{
#if (__SSE2__)
    unsigned  i, m;
    __m128i   c, v;

    c = _mm_set1_epi8((char) ch);

    for (i = 0; i < 2 && last - p >= 16; i++) {
        v = _mm_loadu_si128((const __m128i *) p);
        m = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v, c));

        if (m) {
            return p + __builtin_ctz(m);
        }

        p += 16;
    }
#endif

    return memchr(p, ch, last - p);
}


/*
 * The attribute states of the standard, from "before attribute name" to
 * "self-closing start tag", run from *state up to the '>' that ends the
 * tag: it is returned, not consumed, with *state the state that read it.
 * Returns last when the input ends first.  This is the one reader of
 * attributes: the scanner's states and the fast path for whole tags of no
 * interest both go through it, so that they cannot read a tag apart.
 *
 *   attrs_read    reads only;
 *   attrs_sniff   returns NULL at an attribute in watch_attrs (the fast
 *                 path then leaves the tag to the scanner's states);
 *   attrs_record  keeps names, positions and values for s->tag.
 */

static const unsigned char *
ngx_http_consent_html_attrs(ngx_http_consent_html_t *s, unsigned *state,
    const unsigned char *p, const unsigned char *last, uint64_t off,
    unsigned how)
{
    unsigned              st;
    unsigned char         ch, quote;
    const unsigned char  *base, *name, *q;

#define aoff(pp)  (off + (uint64_t) ((pp) - base))

    base = p;
    name = p;
    st = *state;

    while (p < last) {

        ch = *p;

        switch (st) {

        case sw_before_attr_name:
            if (ngx_http_consent_html_space(ch)) {
                break;
            }

            if (ch == '/' || ch == '>') {
                st = sw_after_attr_name;
                continue;
            }

            name = p;
            st = sw_attr_name;

            if (how == attrs_record) {
                ngx_http_consent_html_attr_begin(s, aoff(p));

                if (ch == '=') {
                    /* unexpected-equals-sign-before-attribute-name */
                    s->aname[s->aname_len++] = ch;
                    break;
                }
            }

            if (ch == '=') {
                break;
            }

            continue;

        case sw_attr_name:
            if (ngx_http_consent_html_ends(ch, ANAME)) {
                if (how == attrs_record) {
                    ngx_http_consent_html_attr_name_end(s, aoff(p));

                } else if (how == attrs_sniff
                           && ngx_http_consent_html_sniff(s, name, p - name))
                {
                    return NULL;
                }

                if (ch == '=') {
                    st = sw_before_attr_value;
                    break;
                }

                st = sw_after_attr_name;
                continue;
            }

            if (how == attrs_record) {
                if (s->aname_len < NGX_HTTP_CONSENT_HTML_ANAME_LEN) {
                    s->aname[s->aname_len++] = ngx_http_consent_html_lower(ch);
                } else {
                    s->attr_long = 1;
                }

                break;
            }

            /* not kept: the rest of the name in a tight loop */
            while (p + 1 < last) {
                ch = p[1];

                if (ngx_http_consent_html_ends(ch, ANAME)) {
                    break;
                }

                p++;
            }

            break;

        case sw_after_attr_name:
            if (ngx_http_consent_html_space(ch)) {
                break;
            }

            if (ch == '/') {
                st = sw_self_closing;
                break;
            }

            if (ch == '=') {
                st = sw_before_attr_value;
                break;
            }

            if (ch == '>') {
                goto tag_end;
            }

            st = sw_before_attr_name;
            continue;

        case sw_before_attr_value:
            if (ngx_http_consent_html_space(ch)) {
                break;
            }

            if (ch == '"' || ch == '\'') {
                if (how == attrs_record) {
                    ngx_http_consent_html_attr_value_start(s, aoff(p) + 1);
                }

                st = (ch == '"') ? sw_attr_value_dq : sw_attr_value_sq;
                break;
            }

            if (how == attrs_record) {
                ngx_http_consent_html_attr_value_start(s, aoff(p));
            }

            if (ch == '>') {
                /* missing-attribute-value */
                if (how == attrs_record) {
                    ngx_http_consent_html_attr_value_end(s, aoff(p),
                                                         aoff(p));
                }

                goto tag_end;
            }

            st = sw_attr_value_uq;
            continue;

        case sw_attr_value_dq:
        case sw_attr_value_sq:
            quote = (st == sw_attr_value_dq) ? '"' : '\'';
            q = ngx_http_consent_html_find(p, last, quote);

            if (how == attrs_record && (s->attr >= 0 || s->any >= 0)) {
                ngx_http_consent_html_attr_append(s, p, (q ? q : last) - p);
            }

            if (q == NULL) {
                p = last;
                continue;
            }

            p = q;

            if (how == attrs_record) {
                ngx_http_consent_html_attr_value_end(s, aoff(p),
                                                     aoff(p) + 1);
            }

            st = sw_after_attr_value;
            break;

        case sw_attr_value_uq:
            if (ngx_http_consent_html_ends(ch, VALUE)) {
                if (how == attrs_record) {
                    ngx_http_consent_html_attr_value_end(s, aoff(p),
                                                         aoff(p));
                }

                if (ch == '>') {
                    goto tag_end;
                }

                st = sw_before_attr_name;
                break;
            }

            if (how == attrs_record && (s->attr >= 0 || s->any >= 0)) {
                ngx_http_consent_html_attr_append(s, p, 1);
                break;
            }

            /* not kept: the rest of the value in a tight loop */
            while (p + 1 < last) {
                ch = p[1];

                if (ngx_http_consent_html_ends(ch, VALUE)) {
                    break;
                }

                p++;
            }

            break;

        case sw_after_attr_value:
            if (ngx_http_consent_html_space(ch)) {
                st = sw_before_attr_name;
                break;
            }

            if (ch == '/') {
                st = sw_self_closing;
                break;
            }

            if (ch == '>') {
                goto tag_end;
            }

            st = sw_before_attr_name;
            continue;

        default: /* sw_self_closing */
            if (ch == '>') {
                goto tag_end;
            }

            st = sw_before_attr_name;
            continue;
        }

        p++;
    }

    *state = st;

    return last;

tag_end:

    *state = st;

    return p;

#undef aoff
}


/*
 * The fast path for the tags that make most of a page (p, a, div, li...):
 * at "<", a start or end tag whose name is none the scanner tells apart,
 * with no attribute in watch_attrs, and whose end is in this buffer, is
 * read at once by the attribute reader.  Returns the position after its
 * ">", or NULL to take the scanner's states.
 */

static const unsigned char *
ngx_http_consent_html_skip_tag(ngx_http_consent_html_t *s,
    const unsigned char *p, const unsigned char *last)
{
    unsigned              state, how;
    const unsigned char  *name;

    p++;
    how = s->watch_attrs ? attrs_sniff : attrs_read;

    if (p < last && *p == '/') {
        /* the attributes of an end tag are dropped */
        how = attrs_read;
        p++;
    }

    if (p == last || !ngx_http_consent_html_alpha(*p)) {
        return NULL;
    }

    name = p;

    while (p < last && !ngx_http_consent_html_ends(*p, NAME)) {
        p++;
    }

    if (p == last
        || ngx_http_consent_html_element_of(name, p - name)
           != NGX_HTTP_CONSENT_HTML_OTHER)
    {
        return NULL;
    }

    if (*p == '>') {
        return p + 1;
    }

    state = (*p == '/') ? sw_self_closing : sw_before_attr_name;

    p = ngx_http_consent_html_attrs(s, &state, p + 1, last, 0, how);

    if (p == NULL || p == last) {
        return NULL;
    }

    return p + 1;
}


/* the element a tag name stands for, in any case */

static ngx_http_consent_html_element_e
ngx_http_consent_html_element_of(const unsigned char *name, size_t len)
{
    int              i;
    static uint32_t  index[NGX_HTTP_CONSENT_HTML_INDEX];
    static unsigned  indexed;

    /* most tags are none of ours: p, a, li, div, span... */

    if (len < 3 || len > 9) {
        return NGX_HTTP_CONSENT_HTML_OTHER;
    }

    i = ngx_http_consent_html_lookup(ngx_http_consent_html_elements,
                                     NGX_HTTP_CONSENT_HTML_NELEMENTS,
                                     index, &indexed, name, len);

    return (i > 0) ? (ngx_http_consent_html_element_e) i
                   : NGX_HTTP_CONSENT_HTML_OTHER;
}


/* is the name one of watch_attrs?  Found as the kept attributes are */

static int
ngx_http_consent_html_sniff(ngx_http_consent_html_t *s,
    const unsigned char *name, size_t len)
{
    int  i;

    i = ngx_http_consent_html_attr_of(name, len);

    return i >= 0 && (s->watch_attrs & ((uint32_t) 1 << i));
}


/* the kept attribute an attribute name stands for, in any case, or -1 */

static int
ngx_http_consent_html_attr_of(const unsigned char *name, size_t len)
{
    static uint32_t  index[NGX_HTTP_CONSENT_HTML_INDEX];
    static unsigned  indexed;

    return ngx_http_consent_html_lookup(ngx_http_consent_html_attrs_names,
                                        NGX_HTTP_CONSENT_HTML_NATTRS,
                                        index, &indexed, name, len);
}


/*
 * The entry of a list of names that a name, in any case, is, or -1.  Every
 * tag and every attribute of a page asks, most of them none of ours (div,
 * figure, class, id, alt...): an index keyed on the length and the first
 * and last letters gives the few entries that could match, as bits, so
 * that most names are answered without a comparison.  A list's index is
 * made on its first lookup; it depends on nothing but the list.  Entries
 * of no length are never found.
 */

#define ngx_http_consent_html_key(name, len)                                  \
    ((((len) << 2) + ngx_http_consent_html_lower((name)[0])                   \
      + 3 * ngx_http_consent_html_lower((name)[(len) - 1]))                   \
     & (NGX_HTTP_CONSENT_HTML_INDEX - 1))

static int
ngx_http_consent_html_lookup(const ngx_http_consent_html_name_t *names,
    size_t n, uint32_t *index, unsigned *indexed, const unsigned char *name,
    size_t len)
{
    size_t    i;
    uint32_t  bits;

    if (!*indexed) {
        for (i = 0; i < n; i++) {
            if (names[i].len) {
                index[ngx_http_consent_html_key(
                          (const unsigned char *) names[i].name,
                          names[i].len)]
                    |= (uint32_t) 1 << i;
            }
        }

        *indexed = 1;
    }

    if (len == 0) {
        return -1;
    }

    for (bits = index[ngx_http_consent_html_key(name, len)];
         bits;
         bits &= bits - 1)
    {
        i = __builtin_ctz(bits);

        if (ngx_http_consent_html_name_is(&names[i], name, len)) {
            return (int) i;
        }
    }

    return -1;
}


/* the name, in any case, is n's (lowercase) */

static int
ngx_http_consent_html_name_is(const ngx_http_consent_html_name_t *n,
    const unsigned char *name, size_t len)
{
    size_t  k;

    if (n->len != len) {
        return 0;
    }

    for (k = 0; k < len; k++) {
        if (ngx_http_consent_html_lower(name[k]) != (unsigned char) n->name[k])
        {
            return 0;
        }
    }

    return 1;
}



static void
ngx_http_consent_html_tag_begin(ngx_http_consent_html_t *s, uint64_t start,
    unsigned end_tag)
{
    uint32_t  bits;

    /* the kept attributes the last tag had, and only those, are cleared */

    for (bits = s->tag.present; bits; bits &= bits - 1) {
        s->tag.attrs[__builtin_ctz(bits)].present = 0;
    }

    s->tag.start = start;
    s->tag.end = start;
    s->tag.element = NGX_HTTP_CONSENT_HTML_OTHER;
    s->tag.name_len = 0;
    s->tag.end_tag = end_tag;
    s->tag.self_closing = 0;
    s->tag.name_long = 0;
    s->tag.foreign = 0;
    s->tag.nany = 0;
    s->tag.present = 0;
    s->name_done = 0;
    s->released = 0;
    s->record = 0;
    s->attr = -1;
    s->any = -1;
}


static void
ngx_http_consent_html_tag_name_end(ngx_http_consent_html_t *s)
{
    s->tag.element = s->tag.name_long
                     ? NGX_HTTP_CONSENT_HTML_OTHER
                     : ngx_http_consent_html_element_of(s->tag.name,
                                                        s->tag.name_len);

    if (s->tag.end_tag) {
        s->is_pending = 0;
        s->record = s->trace;
        return;
    }

    /* any start tag may hold an attribute in watch_attrs: it stays pending */

    s->record = s->trace
                || s->watch_attrs
                || s->nnests
                || (s->tag.element != NGX_HTTP_CONSENT_HTML_OTHER
                    && (s->watch_start
                        & NGX_HTTP_CONSENT_HTML_BIT(s->tag.element)));

    if (!s->record) {
        s->is_pending = 0;
    }
}


static void
ngx_http_consent_html_attr_begin(ngx_http_consent_html_t *s, uint64_t start)
{
    s->attr = -1;
    s->any = -1;
    s->aname_len = 0;
    s->attr_long = 0;
    s->attr_start = start;
}


static void
ngx_http_consent_html_attr_name_end(ngx_http_consent_html_t *s, uint64_t end)
{
    int                                k;
    size_t                             i;
    ngx_http_consent_html_attr_t      *a;
    ngx_http_consent_html_any_attr_t  *any;

    if (!s->record || s->attr_long) {
        return;
    }

    k = ngx_http_consent_html_attr_of(s->aname, s->aname_len);

    if (k >= 0 && !s->tag.attrs[k].present) {
        /* a duplicate attribute is dropped: the first one counts */
        a = &s->tag.attrs[k];
        a->present = 1;
        a->has_value = 0;
        a->truncated = 0;
        a->len = 0;
        a->start = s->attr_start;
        a->end = end;
        a->vstart = end;
        a->vend = end;
        s->tag.present |= (uint32_t) 1 << k;
        s->attr = k;
    }

    if (!s->trace) {
        return;
    }

    for (i = 0; i < s->tag.nany; i++) {
        any = &s->tag.any[i];

        if (any->name_len == s->aname_len
            && memcmp(any->name, s->aname, s->aname_len) == 0)
        {
            return;
        }
    }

    if (s->tag.nany == NGX_HTTP_CONSENT_HTML_ANY_ATTRS) {
        return;
    }

    any = &s->tag.any[s->tag.nany];
    any->name_len = s->aname_len;
    any->value_len = 0;
    any->truncated = 0;
    memcpy(any->name, s->aname, s->aname_len);
    s->any = (int) s->tag.nany++;
}


/* a run of a value, at once */

static void
ngx_http_consent_html_attr_append(ngx_http_consent_html_t *s,
    const unsigned char *p, size_t len)
{
    size_t                             n;
    ngx_http_consent_html_attr_t      *a;
    ngx_http_consent_html_any_attr_t  *any;

    if (s->attr >= 0) {
        a = &s->tag.attrs[s->attr];
        n = NGX_HTTP_CONSENT_HTML_VALUE_LEN - a->len;

        if (len > n) {
            a->truncated = 1;
        } else {
            n = len;
        }

        memcpy(a->value + a->len, p, n);
        a->len += n;
    }

    if (s->any >= 0) {
        any = &s->tag.any[s->any];
        n = NGX_HTTP_CONSENT_HTML_ANY_VALUE - any->value_len;

        if (len > n) {
            any->truncated = 1;
        } else {
            n = len;
        }

        memcpy(any->value + any->value_len, p, n);
        any->value_len += n;
    }
}


static void
ngx_http_consent_html_attr_value_start(ngx_http_consent_html_t *s,
    uint64_t start)
{
    if (s->attr >= 0) {
        s->tag.attrs[s->attr].vstart = start;
    }
}


/* vend: after the value, end: after its closing quote */

static void
ngx_http_consent_html_attr_value_end(ngx_http_consent_html_t *s,
    uint64_t vend, uint64_t end)
{
    ngx_http_consent_html_attr_t  *a;

    if (s->attr >= 0) {
        a = &s->tag.attrs[s->attr];
        a->has_value = 1;
        a->vend = vend;
        a->end = end;
        a->len = ngx_http_consent_html_decode(a->value, a->len);
    }

    s->attr = -1;
    s->any = -1;
}


/* returns 1 when an event is to be reported */

static unsigned
ngx_http_consent_html_tag_end(ngx_http_consent_html_t *s, uint64_t end,
    unsigned *state)
{
    unsigned                         bit;
    ngx_http_consent_html_element_e  e;

    s->tag.end = end;
    s->attr = -1;
    s->any = -1;

    e = s->tag.element;
    bit = NGX_HTTP_CONSENT_HTML_BIT(e);

    if (s->tag.end_tag) {
        *state = sw_data;
        ngx_http_consent_html_nest_end(s);

        if (s->trace
            || (e != NGX_HTTP_CONSENT_HTML_OTHER && (s->watch_end & bit)))
        {
            s->event = NGX_HTTP_CONSENT_HTML_EV_END_TAG;
            return 1;
        }

        return 0;
    }

    /* in SVG and MathML, no element has raw text */

    switch (ngx_http_consent_html_nest_start(s) ? NGX_HTTP_CONSENT_HTML_OTHER
                                                : e)
    {

    case NGX_HTTP_CONSENT_HTML_SCRIPT:
        s->raw = e;
        *state = sw_script;
        break;

    case NGX_HTTP_CONSENT_HTML_PLAINTEXT:
        s->raw = e;
        *state = sw_plaintext;
        break;

    case NGX_HTTP_CONSENT_HTML_IFRAME:
    case NGX_HTTP_CONSENT_HTML_STYLE:
    case NGX_HTTP_CONSENT_HTML_XMP:
    case NGX_HTTP_CONSENT_HTML_NOEMBED:
    case NGX_HTTP_CONSENT_HTML_NOFRAMES:
    case NGX_HTTP_CONSENT_HTML_TITLE:
    case NGX_HTTP_CONSENT_HTML_TEXTAREA:
        s->raw = e;
        *state = sw_raw;
        break;

    default:
        /* noscript content is markup: the view without scripting */
        *state = sw_data;
        break;
    }

    s->is_pending = 0;

    if (s->released
        || !(s->trace
             || (s->tag.present & s->watch_attrs)
             || (e != NGX_HTTP_CONSENT_HTML_OTHER && (s->watch_start & bit))))
    {
        return 0;
    }

    s->event = NGX_HTTP_CONSENT_HTML_EV_START_TAG;

    return 1;
}


/*
 * SVG and MathML, as the tree builder reads them (13.2.6.5): their start
 * tags open no raw text, a "breakout" HTML start tag (p, div, img...) or
 * an end tag of no open foreign element closes them, and an integration
 * point (foreignObject, desc, title; mi, mo, mn, ms, mtext, annotation-xml
 * of HTML) holds HTML.  Returns 1 when the start tag is a foreign
 * element's.  Deeper than NGX_HTTP_CONSENT_HTML_NESTS, elements are only
 * counted (the scanner then stays in the foreign content they open).
 */

static int
ngx_http_consent_html_foreign(ngx_http_consent_html_t *s)
{
    return s->lost || (s->nnests && !s->nests[s->nnests - 1].ip);
}


static unsigned
ngx_http_consent_html_nest_start(ngx_http_consent_html_t *s)
{
    unsigned                       ip, math;
    ngx_http_consent_html_tag_t   *t;
    ngx_http_consent_html_nest_t  *n;

    t = &s->tag;

    if (!ngx_http_consent_html_foreign(s)) {

        if (t->element != NGX_HTTP_CONSENT_HTML_SVG
            && t->element != NGX_HTTP_CONSENT_HTML_MATH)
        {
            return 0;
        }

        ip = 0;
        math = (t->element == NGX_HTTP_CONSENT_HTML_MATH);

    } else if (ngx_http_consent_html_breakout(s)) {
        ngx_http_consent_html_nest_close(s);
        return 0;

    } else {
        t->foreign = 1;
        math = s->lost ? 0 : s->nests[s->nnests - 1].math;
        ip = ngx_http_consent_html_ip(s, math);
    }

    if (t->self_closing || t->name_long) {
        return t->foreign;
    }

    if (s->lost || s->nnests == NGX_HTTP_CONSENT_HTML_NESTS) {
        s->lost++;
        return t->foreign;
    }

    n = &s->nests[s->nnests++];
    n->ip = ip;
    n->math = math;
    n->len = t->name_len;
    memcpy(n->name, t->name, t->name_len);

    return t->foreign;
}


static void
ngx_http_consent_html_nest_end(ngx_http_consent_html_t *s)
{
    size_t                         i;
    ngx_http_consent_html_nest_t  *n;

    if (s->lost) {
        s->lost--;
        return;
    }

    /* the open element of this name, down to an integration point */

    for (i = s->nnests; i > 0; i--) {
        n = &s->nests[i - 1];

        if (n->len == s->tag.name_len
            && memcmp(n->name, s->tag.name, n->len) == 0)
        {
            s->nnests = i - 1;
            return;
        }

        if (n->ip) {
            break;
        }
    }

    if (ngx_http_consent_html_foreign(s)) {
        /* an HTML end tag: it closes the foreign content */
        ngx_http_consent_html_nest_close(s);
    }
}


/* back to the HTML around: the integration point, or the page */

static void
ngx_http_consent_html_nest_close(ngx_http_consent_html_t *s)
{
    s->lost = 0;

    while (s->nnests && !s->nests[s->nnests - 1].ip) {
        s->nnests--;
    }
}


static int
ngx_http_consent_html_breakout(ngx_http_consent_html_t *s)
{
    ngx_http_consent_html_tag_t  *t;

    static const char  *names[] = {
        "b", "big", "blockquote", "body", "br", "center", "code", "dd",
        "div", "dl", "dt", "em", "embed", "h1", "h2", "h3", "h4", "h5",
        "h6", "head", "hr", "i", "img", "li", "listing", "menu", "meta",
        "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong",
        "strike", "sub", "sup", "table", "tt", "u", "ul", "var", NULL
    };

    t = &s->tag;

    if (t->name_len == 4 && memcmp(t->name, "font", 4) == 0) {
        return (t->present & (((uint32_t) 1 << NGX_HTTP_CONSENT_HTML_A_COLOR)
                              | ((uint32_t) 1 << NGX_HTTP_CONSENT_HTML_A_FACE)
                              | ((uint32_t) 1 << NGX_HTTP_CONSENT_HTML_A_SIZE)))
               != 0;
    }

    return !t->name_long && ngx_http_consent_html_in(names, t->name,
                                                     t->name_len);
}


static int
ngx_http_consent_html_ip(ngx_http_consent_html_t *s, unsigned math)
{
    ngx_http_consent_html_tag_t  *t;

    static const char  *svg[] = { "foreignobject", "desc", "title", NULL };
    static const char  *mathml[] = { "mi", "mo", "mn", "ms", "mtext", NULL };

    t = &s->tag;

    if (t->name_long) {
        return 0;
    }

    if (!math) {
        return ngx_http_consent_html_in(svg, t->name, t->name_len);
    }

    if (t->name_len == 14 && memcmp(t->name, "annotation-xml", 14) == 0) {
        return ngx_http_consent_html_attr_is(
                   &t->attrs[NGX_HTTP_CONSENT_HTML_A_ENCODING], "text/html")
               || ngx_http_consent_html_attr_is(
                   &t->attrs[NGX_HTTP_CONSENT_HTML_A_ENCODING],
                   "application/xhtml+xml");
    }

    return ngx_http_consent_html_in(mathml, t->name, t->name_len);
}


static int
ngx_http_consent_html_in(const char **names, const unsigned char *name,
    size_t len)
{
    size_t  i;

    for (i = 0; names[i] != NULL; i++) {
        if (names[i][0] == (char) name[0] && strlen(names[i]) == len
            && memcmp(names[i], name, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static unsigned
ngx_http_consent_html_match(ngx_http_consent_html_t *s, unsigned char ch,
    ngx_http_consent_html_element_e element)
{
    const ngx_http_consent_html_name_t  *n;

    n = &ngx_http_consent_html_elements[element];

    if (s->mismatch || s->match >= n->len
        || ngx_http_consent_html_lower(ch) != (unsigned char) n->name[s->match])
    {
        s->mismatch = 1;
        return 0;
    }

    s->match++;

    return 1;
}



/* helpers for the rules */

int
ngx_http_consent_html_attr_is(ngx_http_consent_html_attr_t *a,
    const char *value)
{
    size_t                len, i;
    const unsigned char  *p, *last;

    if (!a->present) {
        return 0;
    }

    p = a->value;
    last = a->value + a->len;

    while (p < last && ngx_http_consent_html_space(*p)) {
        p++;
    }

    while (last > p && ngx_http_consent_html_space(last[-1])) {
        last--;
    }

    len = strlen(value);

    if ((size_t) (last - p) != len) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (ngx_http_consent_html_lower(p[i]) != (unsigned char) value[i]) {
            return 0;
        }
    }

    return 1;
}


int
ngx_http_consent_html_attr_has_token(ngx_http_consent_html_attr_t *a,
    const char *token)
{
    size_t                len, i;
    const unsigned char  *p, *last, *t;

    if (!a->present) {
        return 0;
    }

    len = strlen(token);
    p = a->value;
    last = a->value + a->len;

    while (p < last) {

        while (p < last && ngx_http_consent_html_space(*p)) {
            p++;
        }

        t = p;

        while (p < last && !ngx_http_consent_html_space(*p)) {
            p++;
        }

        if ((size_t) (p - t) != len) {
            continue;
        }

        for (i = 0; i < len; i++) {
            if (ngx_http_consent_html_lower(t[i])
                != (unsigned char) token[i])
            {
                break;
            }
        }

        if (i == len) {
            return 1;
        }
    }

    return 0;
}


/*
 * The character reference at p, an "&" in an attribute value: returns its
 * length in the input, with its UTF-8 bytes in out (*n of them, at most
 * 4), or 0 when the "&" stands for itself.  Numeric references are read
 * as the standard says (13.2.5.80 on); of the named ones, those that
 * stand for ASCII, with and without ";" as attribute values allow.  Any
 * other name is left as written: its "&" stays, which no host name holds.
 */

size_t
ngx_http_consent_html_charref(const unsigned char *p,
    const unsigned char *last, unsigned char *out, size_t *n)
{
    int                                   hex;
    size_t                                i, k, best;
    uint32_t                              cp;
    const unsigned char                  *q;
    const ngx_http_consent_html_entity_t *e;

    if (last - p < 2) {
        return 0;
    }

    if (p[1] == '#') {
        q = p + 2;
        hex = (q < last && (*q | 0x20) == 'x');

        if (hex) {
            q++;
        }

        cp = 0;
        k = 0;

        for ( ;; ) {
            if (q == last) {
                break;
            }

            if (*q >= '0' && *q <= '9') {
                i = *q - '0';

            } else if (hex && (*q | 0x20) >= 'a' && (*q | 0x20) <= 'f') {
                i = (*q | 0x20) - 'a' + 10;

            } else {
                break;
            }

            if (cp <= 0x10ffff) {
                cp = cp * (hex ? 16 : 10) + (uint32_t) i;
            }

            q++;
            k++;
        }

        if (k == 0) {
            return 0;
        }

        if (q < last && *q == ';') {
            q++;
        }

        if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            cp = 0xfffd;

        } else if (cp >= 0x80 && cp <= 0x9f
                   && ngx_http_consent_html_cp1252[cp - 0x80])
        {
            cp = ngx_http_consent_html_cp1252[cp - 0x80];
        }

        *n = ngx_http_consent_html_utf8(cp, out);

        return q - p;
    }

    /* the longest name that matches */

    best = 0;
    e = NULL;

    for (i = 0; ngx_http_consent_html_entities[i].name != NULL; i++) {
        k = ngx_http_consent_html_entities[i].len;

        if (k > best && (size_t) (last - p - 1) >= k
            && memcmp(p + 1, ngx_http_consent_html_entities[i].name, k) == 0)
        {
            best = k;
            e = &ngx_http_consent_html_entities[i];
        }
    }

    if (e == NULL) {
        return 0;
    }

    q = p + 1 + best;

    if (e->name[best - 1] != ';' && q < last
        && (*q == '=' || ngx_http_consent_html_alpha(*q)
            || (*q >= '0' && *q <= '9')))
    {
        /* a name without ";" followed by "=" or alphanumerics: as is */
        return 0;
    }

    out[0] = (unsigned char) e->value[0];
    *n = 1;

    if (e->value[1] != '\0') {
        /* "&fjlig;" */
        out[1] = (unsigned char) e->value[1];
        *n = 2;
    }

    return q - p;
}


/* decodes the references of an attribute value in place: never longer */

size_t
ngx_http_consent_html_decode(unsigned char *p, size_t len)
{
    size_t          r, w, k, n;
    unsigned char   out[4], *amp;

    amp = memchr(p, '&', len);
    if (amp == NULL) {
        return len;
    }

    r = amp - p;
    w = r;

    while (r < len) {
        if (p[r] == '&') {
            k = ngx_http_consent_html_charref(p + r, p + len, out, &n);

            if (k) {
                memcpy(p + w, out, n);
                w += n;
                r += k;
                continue;
            }
        }

        p[w++] = p[r++];
    }

    return w;
}


static size_t
ngx_http_consent_html_utf8(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char) cp;
        return 1;
    }

    if (cp < 0x800) {
        out[0] = (unsigned char) (0xc0 | (cp >> 6));
        out[1] = (unsigned char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        out[0] = (unsigned char) (0xe0 | (cp >> 12));
        out[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char) (0x80 | (cp & 0x3f));
        return 3;
    }

    out[0] = (unsigned char) (0xf0 | (cp >> 18));
    out[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char) (0x80 | (cp & 0x3f));
    return 4;
}
