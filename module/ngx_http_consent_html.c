
/*
 * Copyright (C) nginx-consent developers
 */


#include <string.h>

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
    sw_skip_tag,        /* the attribute states, for a tag not recorded */
    sw_skip_value,
    sw_skip_dq,
    sw_skip_sq,
    sw_skip_uq
};


/* the gate's modes, and its decisions on an element */

#define NGX_HTTP_CONSENT_HTML_GATED                                           \
    (NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_SCRIPT)                  \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_IFRAME)                \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_IMG)                   \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_LINK))

#define NGX_HTTP_CONSENT_HTML_RAW_GATED                                       \
    (NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_SCRIPT)                  \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_IFRAME))


enum {
    gate_pass = 0,
    gate_hold,      /* an inline script, held until its end */
    gate_drop       /* a removed element's content */
};


enum {
    gate_keep = 0,
    gate_remove,
    gate_live,
    gate_inline
};


typedef struct {
    const char                      *name;
    size_t                           len;
} ngx_http_consent_html_name_t;


static void ngx_http_consent_html_tag_begin(ngx_http_consent_html_t *s,
    uint64_t start, unsigned end_tag);
static void ngx_http_consent_html_tag_name_end(ngx_http_consent_html_t *s);
static void ngx_http_consent_html_attr_begin(ngx_http_consent_html_t *s,
    uint64_t start);
static void ngx_http_consent_html_attr_name_end(ngx_http_consent_html_t *s,
    uint64_t end);
static void ngx_http_consent_html_attr_value(ngx_http_consent_html_t *s,
    unsigned char ch);
static void ngx_http_consent_html_attr_append(ngx_http_consent_html_t *s,
    const unsigned char *p, size_t len);
static void ngx_http_consent_html_attr_value_end(ngx_http_consent_html_t *s,
    uint64_t end);
static unsigned ngx_http_consent_html_tag_end(ngx_http_consent_html_t *s,
    uint64_t end, unsigned *state);
static unsigned ngx_http_consent_html_match(ngx_http_consent_html_t *s,
    unsigned char ch, ngx_http_consent_html_element_e element);
static const unsigned char *ngx_http_consent_html_skip_tag(
    const unsigned char *p, const unsigned char *last);
static int ngx_http_consent_html_host_char(unsigned char ch);


static int ngx_http_consent_html_emit(ngx_http_consent_html_gate_t *g,
    uint64_t to);
static void ngx_http_consent_html_skip(ngx_http_consent_html_gate_t *g,
    uint64_t to);
static int ngx_http_consent_html_keep(ngx_http_consent_html_gate_t *g,
    const unsigned char *from, const unsigned char *last);
static int ngx_http_consent_html_gate_event(ngx_http_consent_html_gate_t *g);
static unsigned ngx_http_consent_html_decide(ngx_http_consent_html_gate_t *g,
    ngx_http_consent_html_tag_t *tag);
static int ngx_http_consent_html_names_allow(ngx_http_consent_html_gate_t *g,
    ngx_http_consent_html_attr_t *a);
static int ngx_http_consent_html_make_live(ngx_http_consent_html_gate_t *g,
    ngx_http_consent_html_tag_t *tag);
static unsigned ngx_http_consent_html_text_decide(
    ngx_http_consent_html_gate_t *g, const unsigned char *text, size_t len);
static int ngx_http_consent_html_overflow(ngx_http_consent_html_gate_t *g,
    const unsigned char *last);


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
    { "html", 4 }
};


static const ngx_http_consent_html_name_t  ngx_http_consent_html_attrs[] = {
    { "data-consent", 12 },
    { "data-category", 13 },
    { "data-cookieconsent", 18 },
    { "type", 4 },
    { "data-type", 9 },
    { "src", 3 },
    { "href", 4 },
    { "rel", 3 },
    { "as", 2 },
    { "lang", 4 }
};


#define ngx_http_consent_html_lower(c)                                        \
    (unsigned char) (((c) >= 'A' && (c) <= 'Z') ? ((c) | 0x20) : (c))

#define ngx_http_consent_html_alpha(c)                                        \
    ((((c) | 0x20) >= 'a') && (((c) | 0x20) <= 'z'))

#define ngx_http_consent_html_space(c)                                        \
    ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\f' || (c) == '\r')


void
ngx_http_consent_html_init(ngx_http_consent_html_t *s)
{
    memset(s, 0, sizeof(ngx_http_consent_html_t));

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
    return s->state >= sw_markup_decl && s->state <= sw_bogus_comment;
}


/* is it inside a tag whose name is read (s->tag.start is valid)? */

int
ngx_http_consent_html_in_tag(ngx_http_consent_html_t *s)
{
    return (s->state >= sw_tag_name && s->state <= sw_self_closing)
           || s->state >= sw_skip_tag;
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
            q = memchr(p, '<', last - p);
            if (q == NULL) {
                p = last;
                continue;
            }

            p = q;

            if (!s->trace) {
                q = ngx_http_consent_html_skip_tag(p, last);

                if (q != NULL) {
                    /* a whole tag of no interest: skipped */
                    p = q;
                    continue;
                }
            }

            s->lt = off(p);
            state = sw_tag_open;

            if (s->watch_start | s->watch_end_name) {
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
            if (ngx_http_consent_html_space(ch) || ch == '/' || ch == '>') {

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

                if (!s->record) {
                    /* nothing to keep: the fast attribute states */
                    s->eqv = 0;
                    state = sw_skip_tag;
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

                    if (ngx_http_consent_html_space(ch) || ch == '/'
                        || ch == '>')
                    {
                        break;
                    }

                    s->tag.name[s->tag.name_len++] =
                                               ngx_http_consent_html_lower(ch);
                    p++;
                }

            } else {
                /* longer than any watched name */
                s->tag.name_long = 1;
                s->is_pending = 0;
            }

            break;

        case sw_before_attr_name:
            if (ngx_http_consent_html_space(ch)) {
                break;
            }

            if (ch == '/' || ch == '>') {
                state = sw_after_attr_name;
                continue;
            }

            ngx_http_consent_html_attr_begin(s, off(p));
            state = sw_attr_name;

            if (ch == '=') {
                /* unexpected-equals-sign-before-attribute-name */
                if (s->aname_len < NGX_HTTP_CONSENT_HTML_ANAME_LEN) {
                    s->aname[s->aname_len++] = ch;
                }
                break;
            }

            continue;

        case sw_attr_name:
            if (ngx_http_consent_html_space(ch) || ch == '/' || ch == '>') {
                ngx_http_consent_html_attr_name_end(s, off(p));
                state = sw_after_attr_name;
                continue;
            }

            if (ch == '=') {
                ngx_http_consent_html_attr_name_end(s, off(p));
                state = sw_before_attr_value;
                break;
            }

            if (s->record) {
                if (s->aname_len < NGX_HTTP_CONSENT_HTML_ANAME_LEN) {
                    s->aname[s->aname_len++] = ngx_http_consent_html_lower(ch);
                } else {
                    s->attr_long = 1;
                }

                break;
            }

            /* not recorded: the rest of the name in a tight loop */
            while (p + 1 < last) {
                ch = p[1];

                if (ngx_http_consent_html_space(ch) || ch == '/' || ch == '>'
                    || ch == '=')
                {
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
                state = sw_self_closing;
                break;
            }

            if (ch == '=') {
                state = sw_before_attr_value;
                break;
            }

            if (ch == '>') {
                if (ngx_http_consent_html_tag_end(s, off(p) + 1, &state)) {
                    p++;
                    goto done;
                }
                break;
            }

            ngx_http_consent_html_attr_begin(s, off(p));
            state = sw_attr_name;
            continue;

        case sw_before_attr_value:
            if (ngx_http_consent_html_space(ch)) {
                break;
            }

            if (ch == '"') {
                state = sw_attr_value_dq;
                break;
            }

            if (ch == '\'') {
                state = sw_attr_value_sq;
                break;
            }

            if (ch == '>') {
                /* missing-attribute-value */
                ngx_http_consent_html_attr_value_end(s, off(p));
                if (ngx_http_consent_html_tag_end(s, off(p) + 1, &state)) {
                    p++;
                    goto done;
                }
                break;
            }

            state = sw_attr_value_uq;
            continue;

        case sw_attr_value_dq:
        case sw_attr_value_sq:
            q = memchr(p, (state == sw_attr_value_dq) ? '"' : '\'',
                       last - p);

            if (s->attr >= 0 || s->any >= 0) {
                ngx_http_consent_html_attr_append(s, p,
                                                  (q ? q : last) - p);
            }

            if (q == NULL) {
                p = last;
                continue;
            }

            p = q;
            ngx_http_consent_html_attr_value_end(s, off(p) + 1);
            state = sw_after_attr_value;
            break;

        case sw_attr_value_uq:
            if (ngx_http_consent_html_space(ch)) {
                ngx_http_consent_html_attr_value_end(s, off(p));
                state = sw_before_attr_name;
                break;
            }

            if (ch == '>') {
                ngx_http_consent_html_attr_value_end(s, off(p));
                if (ngx_http_consent_html_tag_end(s, off(p) + 1, &state)) {
                    p++;
                    goto done;
                }
                break;
            }

            if (s->attr < 0 && s->any < 0) {
                /* not recorded: the rest of the value in a tight loop */
                while (p + 1 < last) {
                    ch = p[1];

                    if (ngx_http_consent_html_space(ch) || ch == '>') {
                        break;
                    }

                    p++;
                }

                break;
            }

            ngx_http_consent_html_attr_value(s, ch);
            break;

        case sw_after_attr_value:
            if (ngx_http_consent_html_space(ch)) {
                state = sw_before_attr_name;
                break;
            }

            if (ch == '/') {
                state = sw_self_closing;
                break;
            }

            if (ch == '>') {
                if (ngx_http_consent_html_tag_end(s, off(p) + 1, &state)) {
                    p++;
                    goto done;
                }
                break;
            }

            state = sw_before_attr_name;
            continue;

        case sw_self_closing:
            if (ch == '>') {
                s->tag.self_closing = 1;
                if (ngx_http_consent_html_tag_end(s, off(p) + 1, &state)) {
                    p++;
                    goto done;
                }
                break;
            }

            state = sw_before_attr_name;
            continue;

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

            /* "[CDATA[" outside foreign content is a bogus comment too */
            state = sw_bogus_comment;
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

            if ((ngx_http_consent_html_space(ch) || ch == '/' || ch == '>')
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
            if (ngx_http_consent_html_space(ch) || ch == '/' || ch == '>') {
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
            if (ngx_http_consent_html_space(ch) || ch == '/' || ch == '>') {
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

        /*
         * The attribute states when nothing is kept: before, in and after
         * an attribute name, and after a quoted value, differ only in
         * whether "=" starts a value (eqv); "/" is self-closing.
         */

        case sw_skip_tag:
            if (ch == '>') {
                if (ngx_http_consent_html_tag_end(s, off(p) + 1, &state)) {
                    p++;
                    goto done;
                }
                break;
            }

            if (ch == '=') {
                if (s->eqv) {
                    state = sw_skip_value;
                } else {
                    s->eqv = 1;
                }
                break;
            }

            if (ch == '/') {
                s->eqv = 0;

            } else if (!ngx_http_consent_html_space(ch)) {
                s->eqv = 1;
            }

            break;

        case sw_skip_value:
            if (ngx_http_consent_html_space(ch)) {
                break;
            }

            if (ch == '"') {
                state = sw_skip_dq;
                break;
            }

            if (ch == '\'') {
                state = sw_skip_sq;
                break;
            }

            if (ch == '>') {
                state = sw_skip_tag;
                continue;
            }

            state = sw_skip_uq;
            break;

        case sw_skip_dq:
        case sw_skip_sq:
            q = memchr(p, (state == sw_skip_dq) ? '"' : '\'', last - p);
            if (q == NULL) {
                p = last;
                continue;
            }

            p = q;
            s->eqv = 0;
            state = sw_skip_tag;
            break;

        case sw_skip_uq:
            if (ngx_http_consent_html_space(ch)) {
                s->eqv = 0;
                state = sw_skip_tag;
                break;
            }

            if (ch == '>') {
                state = sw_skip_tag;
                continue;
            }

            break;

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
 * The fast path for the tags that make most of a page (p, a, div, li...):
 * at "<", a start or end tag whose name cannot be one the scanner tells
 * apart, and whose end is in this buffer, is skipped in a tight loop, with
 * the same attribute states as sw_skip_tag.  Returns the position after its
 * ">", or NULL to take the slow path.
 */

static const unsigned char *
ngx_http_consent_html_skip_tag(const unsigned char *p,
    const unsigned char *last)
{
    unsigned              eqv;
    unsigned char         ch;
    const unsigned char  *name, *q;

    p++;

    if (p < last && *p == '/') {
        p++;
    }

    if (p == last || !ngx_http_consent_html_alpha(*p)) {
        return NULL;
    }

    name = p;

    while (p < last && !ngx_http_consent_html_space(*p) && *p != '/'
           && *p != '>')
    {
        p++;
    }

    if (p == last) {
        return NULL;
    }

    /* a name that may be ours: script, iframe, img, link, head, body... */

    if (p - name >= 3 && p - name <= 9
        && memchr("silhbnxtp", ngx_http_consent_html_lower(*name), 9) != NULL)
    {
        return NULL;
    }

    eqv = 0;

    while (p < last) {
        ch = *p++;

        if (ch == '>') {
            return p;
        }

        if (ch == '/') {
            eqv = 0;
            continue;
        }

        if (ngx_http_consent_html_space(ch)) {
            continue;
        }

        if (ch != '=') {
            eqv = 1;
            continue;
        }

        if (!eqv) {
            /* "=" starting an attribute name */
            eqv = 1;
            continue;
        }

        /* before the attribute value */

        while (p < last && ngx_http_consent_html_space(*p)) {
            p++;
        }

        if (p == last) {
            return NULL;
        }

        if (*p == '"' || *p == '\'') {
            q = memchr(p + 1, *p, last - p - 1);
            if (q == NULL) {
                return NULL;
            }

            p = q + 1;
            eqv = 0;
            continue;
        }

        if (*p == '>') {
            continue;
        }

        /* unquoted */

        while (p < last && !ngx_http_consent_html_space(*p) && *p != '>') {
            p++;
        }

        eqv = 0;
    }

    return NULL;
}


static void
ngx_http_consent_html_tag_begin(ngx_http_consent_html_t *s, uint64_t start,
    unsigned end_tag)
{
    s->tag.start = start;
    s->tag.end = start;
    s->tag.element = NGX_HTTP_CONSENT_HTML_OTHER;
    s->tag.name_len = 0;
    s->tag.end_tag = end_tag;
    s->tag.self_closing = 0;
    s->tag.name_long = 0;
    s->tag.nany = 0;
    s->name_done = 0;
    s->released = 0;
    s->record = 0;
    s->attr = -1;
    s->any = -1;
}


static void
ngx_http_consent_html_tag_name_end(ngx_http_consent_html_t *s)
{
    unsigned                             bit;
    size_t                               i;
    const ngx_http_consent_html_name_t  *n;

    s->tag.element = NGX_HTTP_CONSENT_HTML_OTHER;

    /* most tags are none of ours: p, a, li, div, span... */

    if (!s->tag.name_long && s->tag.name_len >= 3 && s->tag.name_len <= 9
        && memchr("silhbnxtp", s->tag.name[0], 9) != NULL)
    {
        for (i = 1; i < NGX_HTTP_CONSENT_HTML_NELEMENTS; i++) {
            n = &ngx_http_consent_html_elements[i];

            if (n->len == s->tag.name_len
                && memcmp(n->name, s->tag.name, n->len) == 0)
            {
                s->tag.element = (ngx_http_consent_html_element_e) i;
                break;
            }
        }
    }

    bit = NGX_HTTP_CONSENT_HTML_BIT(s->tag.element);

    if (s->tag.end_tag) {
        s->is_pending = 0;
        s->record = s->trace;
        return;
    }

    if (s->tag.element != NGX_HTTP_CONSENT_HTML_OTHER
        && (s->watch_start & bit))
    {
        s->record = 1;

        for (i = 0; i < NGX_HTTP_CONSENT_HTML_NATTRS; i++) {
            s->tag.attrs[i].present = 0;
        }

        return;
    }

    s->is_pending = 0;
    s->record = s->trace;

    if (s->trace) {
        for (i = 0; i < NGX_HTTP_CONSENT_HTML_NATTRS; i++) {
            s->tag.attrs[i].present = 0;
        }
    }
}


static void
ngx_http_consent_html_attr_begin(ngx_http_consent_html_t *s, uint64_t start)
{
    s->attr = -1;
    s->any = -1;

    if (s->record) {
        s->aname_len = 0;
        s->attr_long = 0;
        s->attr_start = start;
    }
}


static void
ngx_http_consent_html_attr_name_end(ngx_http_consent_html_t *s, uint64_t end)
{
    size_t                               i;
    ngx_http_consent_html_attr_t        *a;
    ngx_http_consent_html_any_attr_t    *any;
    const ngx_http_consent_html_name_t  *n;

    if (!s->record || s->attr_long) {
        return;
    }

    for (i = 0; i < NGX_HTTP_CONSENT_HTML_NATTRS; i++) {
        n = &ngx_http_consent_html_attrs[i];

        if (n->len == s->aname_len
            && memcmp(n->name, s->aname, n->len) == 0)
        {
            a = &s->tag.attrs[i];

            if (!a->present) {
                /* a duplicate attribute is dropped: the first one counts */
                a->present = 1;
                a->has_value = 0;
                a->truncated = 0;
                a->len = 0;
                a->start = s->attr_start;
                a->end = end;
                s->attr = (int) i;
            }

            break;
        }
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


static void
ngx_http_consent_html_attr_value(ngx_http_consent_html_t *s, unsigned char ch)
{
    ngx_http_consent_html_attr_t      *a;
    ngx_http_consent_html_any_attr_t  *any;

    if (s->attr >= 0) {
        a = &s->tag.attrs[s->attr];

        if (a->len < NGX_HTTP_CONSENT_HTML_VALUE_LEN) {
            a->value[a->len++] = ch;
        } else {
            a->truncated = 1;
        }
    }

    if (s->any >= 0) {
        any = &s->tag.any[s->any];

        if (any->value_len < NGX_HTTP_CONSENT_HTML_ANY_VALUE) {
            any->value[any->value_len++] = ch;
        } else {
            any->truncated = 1;
        }
    }
}


/* a run of a quoted value, at once */

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
ngx_http_consent_html_attr_value_end(ngx_http_consent_html_t *s, uint64_t end)
{
    ngx_http_consent_html_attr_t  *a;

    if (s->attr >= 0) {
        a = &s->tag.attrs[s->attr];
        a->has_value = 1;
        a->end = end;
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

        if (s->trace
            || (e != NGX_HTTP_CONSENT_HTML_OTHER && (s->watch_end & bit)))
        {
            s->event = NGX_HTTP_CONSENT_HTML_EV_END_TAG;
            return 1;
        }

        return 0;
    }

    switch (e) {

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
             || (e != NGX_HTTP_CONSENT_HTML_OTHER && (s->watch_start & bit))))
    {
        return 0;
    }

    s->event = NGX_HTTP_CONSENT_HTML_EV_START_TAG;

    return 1;
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
 * The host of an absolute or scheme-relative URL, without userinfo and
 * port; 0 for a relative URL (this site's own).
 */

int
ngx_http_consent_html_url_host(const unsigned char *url, size_t len,
    const unsigned char **host, size_t *host_len)
{
    const unsigned char  *p, *last, *h, *e;

    p = url;
    last = url + len;

    while (p < last && ngx_http_consent_html_space(*p)) {
        p++;
    }

    /* a scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */

    if (p < last && ngx_http_consent_html_alpha(*p)) {
        for (h = p + 1; h < last; h++) {
            if (!(ngx_http_consent_html_alpha(*h)
                  || (*h >= '0' && *h <= '9')
                  || *h == '+' || *h == '-' || *h == '.'))
            {
                break;
            }
        }

        if (h < last && *h == ':') {
            p = h + 1;
        }
    }

    /* browsers take "\" for "/" in special schemes */

    if (last - p < 2 || (p[0] != '/' && p[0] != '\\')
        || (p[1] != '/' && p[1] != '\\'))
    {
        return 0;
    }

    p += 2;

    for (e = p; e < last; e++) {
        if (*e == '/' || *e == '\\' || *e == '?' || *e == '#') {
            break;
        }
    }

    /* userinfo */

    for (h = e; h > p; h--) {
        if (h[-1] == '@') {
            p = h;
            break;
        }
    }

    h = p;

    if (h < e && *h == '[') {
        /* an IPv6 literal is never a gated host name */
        return 0;
    }

    while (h < e && *h != ':') {
        h++;
    }

    while (h > p && h[-1] == '.') {
        h--;
    }

    if (h == p) {
        return 0;
    }

    *host = p;
    *host_len = (size_t) (h - p);

    return 1;
}


/* "example.com" exactly, or "*.example.com": any name below it */

int
ngx_http_consent_html_host_match(const unsigned char *host, size_t len,
    const unsigned char *pattern, size_t plen)
{
    size_t  i;

    if (plen > 2 && pattern[0] == '*' && pattern[1] == '.') {
        pattern++;
        plen--;

        if (len <= plen) {
            return 0;
        }

        host += len - plen;
        len = plen;

    } else if (len != plen) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (ngx_http_consent_html_lower(host[i]) != pattern[i]) {
            return 0;
        }
    }

    return 1;
}


static int
ngx_http_consent_html_host_char(unsigned char ch)
{
    ch = ngx_http_consent_html_lower(ch);

    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
           || ch == '-' || ch == '.' || ch == '_';
}


/*
 * Does the text (an inline script) name the host?  "*.example.com" is
 * found as ".example.com" ending a host name, "example.com" as a whole
 * host name.  The pattern is lowercase.
 */

int
ngx_http_consent_html_text_has_host(const unsigned char *text, size_t len,
    const unsigned char *pattern, size_t plen)
{
    int                   wild;
    size_t                i;
    unsigned char         lo, up;
    const unsigned char  *p, *last, *at_lo, *at_up;

    wild = (plen > 2 && pattern[0] == '*' && pattern[1] == '.');

    if (wild) {
        /* "googletagmanager.com" after a "." after a host character */
        pattern += 2;
        plen -= 2;
    }

    if (plen == 0 || len < plen) {
        return 0;
    }

    lo = pattern[0];
    up = (lo >= 'a' && lo <= 'z') ? (unsigned char) (lo - 0x20) : lo;
    last = text + len - plen;

    /* the candidates: the first character, in either case, by memchr */

    at_lo = memchr(text, lo, last - text + 1);
    at_up = (up != lo) ? memchr(text, up, last - text + 1) : NULL;

    for ( ;; ) {

        if (at_lo == NULL && at_up == NULL) {
            return 0;
        }

        if (at_up == NULL || (at_lo != NULL && at_lo < at_up)) {
            p = at_lo;
            at_lo = (p < last) ? memchr(p + 1, lo, last - p) : NULL;

        } else {
            p = at_up;
            at_up = (p < last) ? memchr(p + 1, up, last - p) : NULL;
        }

        for (i = 1; i < plen; i++) {
            if (ngx_http_consent_html_lower(p[i]) != pattern[i]) {
                break;
            }
        }

        if (i != plen) {
            continue;
        }

        if (p + plen < text + len
            && ngx_http_consent_html_host_char(p[plen])
            && p[plen] != '.')
        {
            continue;
        }

        if (wild) {
            if (p - text >= 2 && p[-1] == '.'
                && ngx_http_consent_html_host_char(p[-2]))
            {
                return 1;
            }

            continue;
        }

        if (p > text && ngx_http_consent_html_host_char(p[-1])) {
            continue;
        }

        return 1;
    }
}


/* a script the browser runs: no type, a JavaScript type, or "module" */

int
ngx_http_consent_html_script_type_js(ngx_http_consent_html_tag_t *tag)
{
    size_t                         i, n;
    ngx_http_consent_html_attr_t  *a;

    static const char  *types[] = {
        "", "module", "text/javascript", "application/javascript",
        "application/ecmascript", "application/x-ecmascript",
        "application/x-javascript", "text/ecmascript",
        "text/javascript1.0", "text/javascript1.1", "text/javascript1.2",
        "text/javascript1.3", "text/javascript1.4", "text/javascript1.5",
        "text/jscript", "text/livescript", "text/x-ecmascript",
        "text/x-javascript"
    };

    a = &tag->attrs[NGX_HTTP_CONSENT_HTML_A_TYPE];

    if (!a->present || !a->has_value) {
        return 1;
    }

    n = sizeof(types) / sizeof(types[0]);

    for (i = 0; i < n; i++) {
        if (ngx_http_consent_html_attr_is(a, types[i])) {
            return 1;
        }
    }

    return 0;
}


/* the gate */

void
ngx_http_consent_html_gate_init(ngx_http_consent_html_gate_t *g,
    const ngx_http_consent_html_rules_t *rules, uint64_t granted,
    unsigned head, unsigned banner, unsigned char *hold, size_t hold_cap,
    ngx_http_consent_html_out_pt out, void *data)
{
    size_t  i;

    memset(g, 0, sizeof(ngx_http_consent_html_gate_t));

    ngx_http_consent_html_init(&g->scanner);

    g->rules = rules;
    g->granted = granted;
    g->out = out;
    g->data = data;
    g->hold = hold;
    g->hold_cap = hold_cap;
    g->head = head ? 1 : 0;
    g->banner = banner ? 1 : 0;
    g->mode = gate_pass;

    for (i = 0; i < rules->nhosts; i++) {
        g->gated |= (uint64_t) 1 << rules->hosts[i].category;
    }

    g->all = (rules->ncategories >= 64) ? ~(uint64_t) 0
             : (((uint64_t) 1 << rules->ncategories) - 1);

    g->scanner.watch_start = NGX_HTTP_CONSENT_HTML_GATED;
    g->scanner.watch_end = NGX_HTTP_CONSENT_HTML_RAW_GATED;

    if (g->head) {
        g->scanner.watch_start |= NGX_HTTP_CONSENT_HTML_BIT(
                                                  NGX_HTTP_CONSENT_HTML_HEAD);
    }

    if (g->banner) {
        g->scanner.watch_end_name = NGX_HTTP_CONSENT_HTML_BIT(
                                                  NGX_HTTP_CONSENT_HTML_BODY);
        g->scanner.watch_start |= NGX_HTTP_CONSENT_HTML_BIT(
                                                  NGX_HTTP_CONSENT_HTML_HTML);
    }
}


/*
 * Feeds len bytes; last is set with the final bytes (len may be 0).
 * Returns 0, or -1 when out() failed.
 */

int
ngx_http_consent_html_gate(ngx_http_consent_html_gate_t *g,
    const unsigned char *p, size_t len, int last)
{
    const unsigned char  *end;

    if (g->done) {
        return 0;
    }

    g->in = p;
    g->in_off = g->scanner.offset;
    end = p + len;

    while (p < end) {
        p = ngx_http_consent_html_scan(&g->scanner, p, end);

        if (g->scanner.event == NGX_HTTP_CONSENT_HTML_EV_NONE) {
            continue;
        }

        if (ngx_http_consent_html_gate_event(g) != 0) {
            return -1;
        }
    }

    if (!last) {

        switch (g->mode) {

        case gate_pass:
            if (g->scanner.is_pending) {
                if (ngx_http_consent_html_emit(g, g->scanner.pending) != 0) {
                    return -1;
                }

                return ngx_http_consent_html_keep(g, p, end);
            }

            return ngx_http_consent_html_emit(g, g->scanner.offset);

        case gate_hold:
            return ngx_http_consent_html_keep(g, p, end);

        default: /* gate_drop */
            ngx_http_consent_html_skip(g, g->scanner.offset);
            return 0;
        }
    }

    g->done = 1;

    switch (g->mode) {

    case gate_hold:
        /* an unterminated inline script: decide on what there is */

        if (ngx_http_consent_html_keep(g, p, end) != 0) {
            return -1;
        }

        if (g->mode == gate_hold
            && ngx_http_consent_html_text_decide(g,
                   g->hold + (g->text_start - g->hold_off),
                   g->hold_len - (size_t) (g->text_start - g->hold_off))
               == gate_remove)
        {
            g->removed++;
            ngx_http_consent_html_skip(g, g->scanner.offset);
        }

        break;

    case gate_drop:
        ngx_http_consent_html_skip(g, g->scanner.offset);
        break;

    default: /* gate_pass */

        if (g->scanner.is_pending
            && g->scanner.offset - g->scanner.pending > g->hold_cap
            && (g->granted & g->all) != g->all
            && g->scanner.tag.element != NGX_HTTP_CONSENT_HTML_HEAD
            && g->scanner.tag.element != NGX_HTTP_CONSENT_HTML_HTML)
        {
            /* an unterminated tag, too long: as if it had overflowed */
            g->overflows++;
            g->removed++;

            if (ngx_http_consent_html_emit(g, g->scanner.pending) != 0) {
                return -1;
            }

            ngx_http_consent_html_skip(g, g->scanner.offset);
        }

        break;
    }

    if (ngx_http_consent_html_emit(g, g->scanner.offset) != 0) {
        return -1;
    }

    if (g->banner) {
        g->banner = 0;

        if (g->out(g->data, NGX_HTTP_CONSENT_HTML_OUT_BANNER, NULL, 0) != 0) {
            return -1;
        }
    }

    return 0;
}


/* sends what lies between the cursor and "to", from the hold or the input */

static int
ngx_http_consent_html_emit(ngx_http_consent_html_gate_t *g, uint64_t to)
{
    size_t    n;
    uint64_t  hold_end;

    if (to <= g->cursor) {
        return 0;
    }

    hold_end = g->hold_off + g->hold_len;

    if (g->hold_len && g->cursor < hold_end) {
        n = (size_t) (((to < hold_end) ? to : hold_end) - g->cursor);

        if (g->out(g->data, NGX_HTTP_CONSENT_HTML_OUT_COPY,
                   g->hold + (g->cursor - g->hold_off), n)
            != 0)
        {
            return -1;
        }

        g->cursor += n;
    }

    if (g->hold_len && g->cursor >= hold_end) {
        g->hold_len = 0;
    }

    if (to > g->cursor) {
        if (g->out(g->data, NGX_HTTP_CONSENT_HTML_OUT_INPUT,
                   g->in + (g->cursor - g->in_off), (size_t) (to - g->cursor))
            != 0)
        {
            return -1;
        }

        g->cursor = to;
    }

    return 0;
}


static void
ngx_http_consent_html_skip(ngx_http_consent_html_gate_t *g, uint64_t to)
{
    if (to > g->cursor) {
        g->cursor = to;
    }

    if (g->hold_len && g->cursor >= g->hold_off + g->hold_len) {
        g->hold_len = 0;
    }
}


/* holds what lies between the cursor and the end of the input */

static int
ngx_http_consent_html_keep(ngx_http_consent_html_gate_t *g,
    const unsigned char *from, const unsigned char *last)
{
    size_t    n, skip;
    uint64_t  hold_end, start;

    if (g->hold_len) {
        skip = (size_t) (g->cursor - g->hold_off);

        if (skip) {
            memmove(g->hold, g->hold + skip, g->hold_len - skip);
            g->hold_len -= skip;
        }

    } else {
        g->hold_len = 0;
    }

    g->hold_off = g->cursor;
    hold_end = g->hold_off + g->hold_len;

    start = (hold_end > g->in_off) ? hold_end : g->in_off;
    if (start < g->cursor) {
        start = g->cursor;
    }

    n = (size_t) (g->scanner.offset - start);

    if (g->hold_len + n > g->hold_cap) {
        return ngx_http_consent_html_overflow(g, last);
    }

    (void) from;

    memcpy(g->hold + g->hold_len, g->in + (start - g->in_off), n);
    g->hold_len += n;

    return 0;
}


/*
 * The hold is full: decide now.  An inline script naming no host of a
 * refused category so far, or any element while every category is
 * granted, is let through; anything else is removed (fail closed).
 */

static int
ngx_http_consent_html_overflow(ngx_http_consent_html_gate_t *g,
    const unsigned char *last)
{
    g->overflows++;

    if (g->mode == gate_hold) {
        if ((g->granted & g->gated) == g->gated) {
            g->mode = gate_pass;
            return ngx_http_consent_html_emit(g, g->scanner.offset);
        }

        g->removed++;
        g->mode = gate_drop;
        ngx_http_consent_html_skip(g, g->scanner.offset);

        return 0;
    }

    /* a watched start tag, still open */

    if ((g->granted & g->all) == g->all
        || g->scanner.tag.element == NGX_HTTP_CONSENT_HTML_HEAD
        || g->scanner.tag.element == NGX_HTTP_CONSENT_HTML_HTML)
    {
        ngx_http_consent_html_release(&g->scanner);
        return ngx_http_consent_html_emit(g, g->scanner.offset);
    }

    g->removed++;
    g->mode = gate_drop;
    g->drop_tag = 1;
    ngx_http_consent_html_skip(g, g->scanner.offset);

    (void) last;

    return 0;
}


static int
ngx_http_consent_html_gate_event(ngx_http_consent_html_gate_t *g)
{
    unsigned                      d;
    uint64_t                      hold_end;
    const unsigned char          *text;
    ngx_http_consent_html_tag_t  *tag;

    tag = &g->scanner.tag;

    switch (g->scanner.event) {

    case NGX_HTTP_CONSENT_HTML_EV_END_NAME:
        /* </body */
        if (g->mode != gate_pass || !g->banner) {
            return 0;
        }

        g->banner = 0;
        g->scanner.watch_end_name = 0;

        if (ngx_http_consent_html_emit(g, tag->start) != 0) {
            return -1;
        }

        return g->out(g->data, NGX_HTTP_CONSENT_HTML_OUT_BANNER, NULL, 0);

    case NGX_HTTP_CONSENT_HTML_EV_END_TAG:

        if (g->mode == gate_drop) {
            g->mode = gate_pass;
            ngx_http_consent_html_skip(g, tag->end);
            return 0;
        }

        if (g->mode != gate_hold) {
            return 0;
        }

        if (tag->end - g->cursor > g->hold_cap) {
            /* longer than consent_gate_buffer, wherever it was cut */
            if (ngx_http_consent_html_overflow(g, NULL) != 0) {
                return -1;
            }

            if (g->mode == gate_drop) {
                ngx_http_consent_html_skip(g, tag->end);
            }

            g->mode = gate_pass;
            return 0;
        }

        g->mode = gate_pass;

        if (g->hold_len) {
            /* the whole element into the hold, to search its text */
            hold_end = g->hold_off + g->hold_len;

            memcpy(g->hold + g->hold_len, g->in + (hold_end - g->in_off),
                   (size_t) (tag->end - hold_end));
            g->hold_len += (size_t) (tag->end - hold_end);

            text = g->hold + (g->text_start - g->hold_off);

        } else {
            text = g->in + (g->text_start - g->in_off);
        }

        d = ngx_http_consent_html_text_decide(g, text,
                                         (size_t) (tag->start - g->text_start));

        if (d == gate_remove) {
            g->removed++;
            ngx_http_consent_html_skip(g, tag->end);
        }

        return 0;

    case NGX_HTTP_CONSENT_HTML_EV_START_TAG:
        break;

    default:
        return 0;
    }

    if (g->drop_tag) {
        /* the end of a tag removed on overflow */
        g->drop_tag = 0;
        ngx_http_consent_html_skip(g, tag->end);

        if (tag->element != NGX_HTTP_CONSENT_HTML_SCRIPT
            && tag->element != NGX_HTTP_CONSENT_HTML_IFRAME)
        {
            g->mode = gate_pass;
        }

        return 0;
    }

    if (g->mode != gate_pass) {
        return 0;
    }

    if (tag->element == NGX_HTTP_CONSENT_HTML_HTML) {
        ngx_http_consent_html_attr_t  *a;

        /* <html lang>: the banner speaks the page's language */

        g->scanner.watch_start &=
                         ~NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_HTML);

        a = &tag->attrs[NGX_HTTP_CONSENT_HTML_A_LANG];

        if (a->present && !a->truncated
            && a->len <= NGX_HTTP_CONSENT_HTML_LANG_LEN)
        {
            memcpy(g->lang, a->value, a->len);
            g->lang_len = a->len;
        }

        return 0;
    }

    if (tag->end - tag->start > g->hold_cap) {
        /* as if it had overflowed the hold: the same answer for any cut */
        g->overflows++;

        if ((g->granted & g->all) == g->all
            || tag->element == NGX_HTTP_CONSENT_HTML_HEAD)
        {
            return 0;
        }

        g->removed++;

        if (ngx_http_consent_html_emit(g, tag->start) != 0) {
            return -1;
        }

        ngx_http_consent_html_skip(g, tag->end);

        if (tag->element == NGX_HTTP_CONSENT_HTML_SCRIPT
            || tag->element == NGX_HTTP_CONSENT_HTML_IFRAME)
        {
            g->mode = gate_drop;
        }

        return 0;
    }

    if (tag->element == NGX_HTTP_CONSENT_HTML_HEAD) {
        g->head = 0;
        g->scanner.watch_start &=
                         ~NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_HEAD);

        if (ngx_http_consent_html_emit(g, tag->end) != 0) {
            return -1;
        }

        return g->out(g->data, NGX_HTTP_CONSENT_HTML_OUT_HEAD, NULL, 0);
    }

    if (g->head && tag->element == NGX_HTTP_CONSENT_HTML_SCRIPT) {
        /* no <head> tag (it may be left out): before the first script */
        g->head = 0;
        g->scanner.watch_start &=
                         ~NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_HEAD);

        if (ngx_http_consent_html_emit(g, tag->start) != 0
            || g->out(g->data, NGX_HTTP_CONSENT_HTML_OUT_HEAD, NULL, 0) != 0)
        {
            return -1;
        }
    }

    switch (ngx_http_consent_html_decide(g, tag)) {

    case gate_remove:
        g->removed++;

        if (ngx_http_consent_html_emit(g, tag->start) != 0) {
            return -1;
        }

        ngx_http_consent_html_skip(g, tag->end);

        if (tag->element == NGX_HTTP_CONSENT_HTML_SCRIPT
            || tag->element == NGX_HTTP_CONSENT_HTML_IFRAME)
        {
            g->mode = gate_drop;
        }

        return 0;

    case gate_live:
        g->made_live++;
        return ngx_http_consent_html_make_live(g, tag);

    case gate_inline:
        if (ngx_http_consent_html_emit(g, tag->start) != 0) {
            return -1;
        }

        g->mode = gate_hold;
        g->text_start = tag->end;
        return 0;

    default: /* gate_keep */
        return 0;
    }
}


static unsigned
ngx_http_consent_html_decide(ngx_http_consent_html_gate_t *g,
    ngx_http_consent_html_tag_t *tag)
{
    int                            plain;
    size_t                         i, hlen;
    uint64_t                       need;
    const unsigned char           *host;
    ngx_http_consent_html_attr_t  *a, *url;

    a = tag->attrs;
    plain = ngx_http_consent_html_attr_is(&a[NGX_HTTP_CONSENT_HTML_A_TYPE],
                                          "text/plain");

    /* data-consent; cookieconsent's data-category; Cookiebot's */

    url = NULL;

    if (a[NGX_HTTP_CONSENT_HTML_A_CONSENT].present) {
        url = &a[NGX_HTTP_CONSENT_HTML_A_CONSENT];

    } else if (plain || tag->element == NGX_HTTP_CONSENT_HTML_IFRAME) {

        if (a[NGX_HTTP_CONSENT_HTML_A_CATEGORY].present) {
            url = &a[NGX_HTTP_CONSENT_HTML_A_CATEGORY];

        } else if (a[NGX_HTTP_CONSENT_HTML_A_COOKIECONSENT].present
                   && !ngx_http_consent_html_attr_is(
                           &a[NGX_HTTP_CONSENT_HTML_A_COOKIECONSENT], "ignore"))
        {
            url = &a[NGX_HTTP_CONSENT_HTML_A_COOKIECONSENT];
        }
    }

    if (url != NULL) {
        if (!ngx_http_consent_html_names_allow(g, url)) {
            return gate_remove;
        }

        return plain ? gate_live : gate_keep;
    }

    /* consent_gate_host */

    url = NULL;

    switch (tag->element) {

    case NGX_HTTP_CONSENT_HTML_LINK:
        if (ngx_http_consent_html_attr_has_token(
                &a[NGX_HTTP_CONSENT_HTML_A_REL], "modulepreload")
            || ngx_http_consent_html_attr_has_token(
                   &a[NGX_HTTP_CONSENT_HTML_A_REL], "preconnect")
            || ngx_http_consent_html_attr_has_token(
                   &a[NGX_HTTP_CONSENT_HTML_A_REL], "dns-prefetch")
            || ((ngx_http_consent_html_attr_has_token(
                     &a[NGX_HTTP_CONSENT_HTML_A_REL], "preload")
                 || ngx_http_consent_html_attr_has_token(
                        &a[NGX_HTTP_CONSENT_HTML_A_REL], "prefetch"))
                && ngx_http_consent_html_attr_is(
                       &a[NGX_HTTP_CONSENT_HTML_A_AS], "script")))
        {
            url = &a[NGX_HTTP_CONSENT_HTML_A_HREF];
        }

        break;

    default:
        url = &a[NGX_HTTP_CONSENT_HTML_A_SRC];
        break;
    }

    if (url == NULL || !url->present) {

        if (tag->element == NGX_HTTP_CONSENT_HTML_SCRIPT
            && g->rules->nhosts
            && ngx_http_consent_html_script_type_js(tag))
        {
            return gate_inline;
        }

        return gate_keep;
    }

    if (!ngx_http_consent_html_url_host(url->value, url->len, &host, &hlen)) {
        return gate_keep;
    }

    need = 0;

    for (i = 0; i < g->rules->nhosts; i++) {
        if (ngx_http_consent_html_host_match(host, hlen,
                                             g->rules->hosts[i].data,
                                             g->rules->hosts[i].len))
        {
            need |= (uint64_t) 1 << g->rules->hosts[i].category;
        }
    }

    return ((need & g->granted) == need) ? gate_keep : gate_remove;
}


/*
 * "analytics", "analytics marketing", "statistics, marketing": every name
 * must be granted; "!analytics" (cookieconsent): analytics must not be.
 * An undeclared name is never granted.
 */

static int
ngx_http_consent_html_names_allow(ngx_http_consent_html_gate_t *g,
    ngx_http_consent_html_attr_t *a)
{
    int                   neg, granted, any;
    size_t                i;
    const unsigned char  *p, *last, *t;

    p = a->value;
    last = a->value + a->len;
    any = 0;

    if (a->truncated) {
        return 0;
    }

    while (p < last) {

        while (p < last && (ngx_http_consent_html_space(*p) || *p == ',')) {
            p++;
        }

        if (p == last) {
            break;
        }

        neg = (*p == '!');
        if (neg) {
            p++;
        }

        t = p;

        while (p < last && !ngx_http_consent_html_space(*p) && *p != ',') {
            p++;
        }

        granted = 0;

        for (i = 0; i < g->rules->ncategories; i++) {
            if (g->rules->categories[i].len == (size_t) (p - t)
                && memcmp(g->rules->categories[i].data, t, p - t) == 0)
            {
                granted = (g->granted >> i) & 1;
                break;
            }
        }

        if (granted == neg) {
            return 0;
        }

        any = 1;
    }

    return any;
}


/* a granted text/plain element: type from data-type, or no type */

static int
ngx_http_consent_html_make_live(ngx_http_consent_html_gate_t *g,
    ngx_http_consent_html_tag_t *tag)
{
    size_t                         i, n;
    const unsigned char           *v;
    ngx_http_consent_html_attr_t  *type, *dtype;

    type = &tag->attrs[NGX_HTTP_CONSENT_HTML_A_TYPE];
    dtype = &tag->attrs[NGX_HTTP_CONSENT_HTML_A_DATA_TYPE];

    if (ngx_http_consent_html_emit(g, type->start) != 0) {
        return -1;
    }

    ngx_http_consent_html_skip(g, type->end);

    if (dtype->present && dtype->len && !dtype->truncated) {
        if (g->out(g->data, NGX_HTTP_CONSENT_HTML_OUT_COPY,
                   (const unsigned char *) "type=\"", 6)
            != 0)
        {
            return -1;
        }

        v = dtype->value;
        n = 0;

        for (i = 0; i <= dtype->len; i++) {
            if (i < dtype->len && v[i] != '"') {
                continue;
            }

            if (i > n
                && g->out(g->data, NGX_HTTP_CONSENT_HTML_OUT_COPY, v + n,
                          i - n) != 0)
            {
                return -1;
            }

            if (i < dtype->len
                && g->out(g->data, NGX_HTTP_CONSENT_HTML_OUT_COPY,
                          (const unsigned char *) "&quot;", 6) != 0)
            {
                return -1;
            }

            n = i + 1;
        }

        if (g->out(g->data, NGX_HTTP_CONSENT_HTML_OUT_COPY,
                   (const unsigned char *) "\"", 1)
            != 0)
        {
            return -1;
        }
    }

    return ngx_http_consent_html_emit(g, tag->end);
}


static unsigned
ngx_http_consent_html_text_decide(ngx_http_consent_html_gate_t *g,
    const unsigned char *text, size_t len)
{
    size_t                               i;
    uint64_t                             need, bit;
    const ngx_http_consent_html_host_t  *h;

    need = 0;

    for (i = 0; i < g->rules->nhosts; i++) {
        h = &g->rules->hosts[i];
        bit = (uint64_t) 1 << h->category;

        if ((need & bit) == 0
            && ngx_http_consent_html_text_has_host(text, len, h->data, h->len))
        {
            need |= bit;
        }
    }

    return ((need & g->granted) == need) ? gate_keep : gate_remove;
}
