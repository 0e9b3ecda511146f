
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_HTML_H_INCLUDED_
#define _NGX_HTTP_CONSENT_HTML_H_INCLUDED_


/*
 * A streaming HTML scanner: the tokenizer states of the HTML standard that
 * decide where tags, comments and raw text (script, style, iframe, ...)
 * begin and end, with no tree construction and no allocation.  The
 * character references of the attribute values it keeps are decoded.  Its
 * state persists between calls, so input may be cut anywhere.  It reports,
 * through events, the start tags and end tags its caller watches, with the
 * attributes that matter for consent gating, and any start tag holding one
 * of the attributes in watch_attrs.  Positions are absolute offsets from
 * the start of the input.
 */


#include <stddef.h>
#include <stdint.h>

#include "ngx_http_consent_slice.h"


#define NGX_HTTP_CONSENT_HTML_NAME_LEN    16
#define NGX_HTTP_CONSENT_HTML_ANAME_LEN   32
#define NGX_HTTP_CONSENT_HTML_VALUE_LEN   256
#define NGX_HTTP_CONSENT_HTML_ANY_ATTRS   8
#define NGX_HTTP_CONSENT_HTML_ANY_VALUE   128
#define NGX_HTTP_CONSENT_HTML_NESTS       32
#define NGX_HTTP_CONSENT_HTML_LANG_LEN    35


/* elements the scanner tells apart */
typedef enum {
    NGX_HTTP_CONSENT_HTML_OTHER = 0,
    NGX_HTTP_CONSENT_HTML_SCRIPT,
    NGX_HTTP_CONSENT_HTML_IFRAME,
    NGX_HTTP_CONSENT_HTML_IMG,
    NGX_HTTP_CONSENT_HTML_LINK,
    NGX_HTTP_CONSENT_HTML_HEAD,
    NGX_HTTP_CONSENT_HTML_BODY,
    NGX_HTTP_CONSENT_HTML_NOSCRIPT,
    NGX_HTTP_CONSENT_HTML_STYLE,
    NGX_HTTP_CONSENT_HTML_XMP,
    NGX_HTTP_CONSENT_HTML_NOEMBED,
    NGX_HTTP_CONSENT_HTML_NOFRAMES,
    NGX_HTTP_CONSENT_HTML_TITLE,
    NGX_HTTP_CONSENT_HTML_TEXTAREA,
    NGX_HTTP_CONSENT_HTML_PLAINTEXT,
    NGX_HTTP_CONSENT_HTML_SOURCE,
    NGX_HTTP_CONSENT_HTML_VIDEO,
    NGX_HTTP_CONSENT_HTML_AUDIO,
    NGX_HTTP_CONSENT_HTML_TRACK,
    NGX_HTTP_CONSENT_HTML_OBJECT,
    NGX_HTTP_CONSENT_HTML_EMBED,
    NGX_HTTP_CONSENT_HTML_INPUT,
    NGX_HTTP_CONSENT_HTML_IMAGE,     /* SVG's, or img in HTML */
    NGX_HTTP_CONSENT_HTML_USE,       /* SVG */
    NGX_HTTP_CONSENT_HTML_BASE,
    NGX_HTTP_CONSENT_HTML_META,
    NGX_HTTP_CONSENT_HTML_SVG,
    NGX_HTTP_CONSENT_HTML_MATH,
    NGX_HTTP_CONSENT_HTML_FEIMAGE,   /* SVG's feImage */
    NGX_HTTP_CONSENT_HTML_HTML,      /* for its lang */
    NGX_HTTP_CONSENT_HTML_NELEMENTS
} ngx_http_consent_html_element_e;


#define NGX_HTTP_CONSENT_HTML_BIT(e)  ((uint32_t) 1 << (e))


/* the byte classes of the standard, for the scanner and the gate */

#define ngx_http_consent_html_lower(c)                                        \
    (unsigned char) (((c) >= 'A' && (c) <= 'Z') ? ((c) | 0x20) : (c))

#define ngx_http_consent_html_alpha(c)                                        \
    ((((c) | 0x20) >= 'a') && (((c) | 0x20) <= 'z'))

#define ngx_http_consent_html_space(c)                                        \
    ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\f' || (c) == '\r')


/* attributes the scanner keeps for a watched tag */
typedef enum {
    NGX_HTTP_CONSENT_HTML_A_CONSENT = 0,     /* data-consent */
    NGX_HTTP_CONSENT_HTML_A_CATEGORY,        /* data-category */
    NGX_HTTP_CONSENT_HTML_A_COOKIECONSENT,   /* data-cookieconsent */
    NGX_HTTP_CONSENT_HTML_A_TYPE,
    NGX_HTTP_CONSENT_HTML_A_DATA_TYPE,       /* data-type */
    NGX_HTTP_CONSENT_HTML_A_SRC,
    NGX_HTTP_CONSENT_HTML_A_HREF,
    NGX_HTTP_CONSENT_HTML_A_REL,
    NGX_HTTP_CONSENT_HTML_A_AS,
    NGX_HTTP_CONSENT_HTML_A_SRCSET,
    NGX_HTTP_CONSENT_HTML_A_IMAGESRCSET,
    NGX_HTTP_CONSENT_HTML_A_POSTER,
    NGX_HTTP_CONSENT_HTML_A_DATA,
    NGX_HTTP_CONSENT_HTML_A_PING,
    NGX_HTTP_CONSENT_HTML_A_BACKGROUND,
    NGX_HTTP_CONSENT_HTML_A_STYLE,
    NGX_HTTP_CONSENT_HTML_A_SRCDOC,
    NGX_HTTP_CONSENT_HTML_A_XLINK_HREF,      /* xlink:href */
    NGX_HTTP_CONSENT_HTML_A_HTTP_EQUIV,      /* http-equiv */
    NGX_HTTP_CONSENT_HTML_A_CONTENT,
    NGX_HTTP_CONSENT_HTML_A_ENCODING,        /* annotation-xml's */
    NGX_HTTP_CONSENT_HTML_A_COLOR,           /* font's, in SVG */
    NGX_HTTP_CONSENT_HTML_A_FACE,
    NGX_HTTP_CONSENT_HTML_A_SIZE,
    NGX_HTTP_CONSENT_HTML_A_LANG,            /* <html lang> */
    NGX_HTTP_CONSENT_HTML_NATTRS
} ngx_http_consent_html_attr_e;


typedef enum {
    NGX_HTTP_CONSENT_HTML_EV_NONE = 0,   /* all input consumed */
    NGX_HTTP_CONSENT_HTML_EV_START_TAG,  /* a watched start tag ended, '>' */
    NGX_HTTP_CONSENT_HTML_EV_END_TAG,    /* a watched end tag ended, '>' */
    NGX_HTTP_CONSENT_HTML_EV_END_NAME,   /* a watched end tag's name is read */
    NGX_HTTP_CONSENT_HTML_EV_COMMENT     /* comment, doctype (trace only) */
} ngx_http_consent_html_event_e;


/*
 * A kept attribute: where it is in the input, and the first bytes of its
 * value with the character references decoded.
 */

typedef struct {
    uint64_t                         start;   /* offset of the name */
    uint64_t                         end;     /* offset after the value */
    uint64_t                         vstart;  /* the value, as written, */
    uint64_t                         vend;    /* without its quotes */
    size_t                           len;     /* bytes kept in value */
    unsigned                         present:1;
    unsigned                         has_value:1;
    unsigned                         truncated:1;
    unsigned char                    value[NGX_HTTP_CONSENT_HTML_VALUE_LEN];
} ngx_http_consent_html_attr_t;


/* any attribute, in trace mode (tests) */
typedef struct {
    size_t                           name_len;
    size_t                           value_len;
    unsigned                         truncated:1;
    unsigned char                    name[NGX_HTTP_CONSENT_HTML_ANAME_LEN];
    unsigned char                    value[NGX_HTTP_CONSENT_HTML_ANY_VALUE];
} ngx_http_consent_html_any_attr_t;


typedef struct {
    uint64_t                         start;  /* offset of '<' */
    uint64_t                         end;    /* offset after '>' */
    ngx_http_consent_html_element_e  element;
    size_t                           name_len;
    unsigned                         end_tag:1;
    unsigned                         self_closing:1;
    unsigned                         name_long:1;
    unsigned                         foreign:1;  /* in SVG or MathML */
    unsigned char                    name[NGX_HTTP_CONSENT_HTML_NAME_LEN];

    uint32_t                         present;  /* attribute bits */
    ngx_http_consent_html_attr_t     attrs[NGX_HTTP_CONSENT_HTML_NATTRS];

    size_t                           nany;
    ngx_http_consent_html_any_attr_t any[NGX_HTTP_CONSENT_HTML_ANY_ATTRS];
} ngx_http_consent_html_tag_t;


/*
 * An open element of SVG or MathML content, or an integration point in it
 * (foreignObject, desc, title, mi, annotation-xml...) whose content is
 * HTML again: enough of the tree builder's stack to know where raw text
 * and CDATA sections are.
 */

typedef struct {
    size_t                           len;
    unsigned                         ip:1;
    unsigned                         math:1;
    unsigned char                    name[NGX_HTTP_CONSENT_HTML_NAME_LEN];
} ngx_http_consent_html_nest_t;


typedef struct {
    /* set by the caller */
    unsigned                         watch_start;     /* element bits */
    unsigned                         watch_end;       /* element bits */
    unsigned                         watch_end_name;  /* element bits */
    uint32_t                         watch_attrs;  /* attribute bits that
                                                      report any start tag */
    unsigned                         trace:1;  /* report every token */

    /* read by the caller */
    ngx_http_consent_html_event_e    event;
    ngx_http_consent_html_tag_t      tag;
    uint64_t                         offset;   /* bytes consumed so far */
    uint64_t                         pending;  /* valid if is_pending */
    uint64_t                         comment_start;
    unsigned                         is_pending:1;

    /* internal */
    unsigned                         state;
    unsigned                         return_state;
    unsigned                         raw;      /* element of raw text */
    unsigned                         match;    /* end tag name matched */
    unsigned                         mismatch:1;
    unsigned                         name_done:1;
    unsigned                         released:1;
    unsigned                         record:1;
    unsigned                         attr_long:1;
    uint64_t                         lt;       /* offset of the last '<' */
    uint64_t                         attr_start;
    int                              attr;     /* recorded attr, or -1 */
    int                              any;      /* recorded any, or -1 */
    size_t                           aname_len;
    unsigned char                    aname[NGX_HTTP_CONSENT_HTML_ANAME_LEN];

    size_t                           nnests;
    size_t                           lost;     /* nests past the last */
    ngx_http_consent_html_nest_t     nests[NGX_HTTP_CONSENT_HTML_NESTS];
} ngx_http_consent_html_t;


void ngx_http_consent_html_init(ngx_http_consent_html_t *s);
void ngx_http_consent_html_set_raw(ngx_http_consent_html_t *s,
    ngx_http_consent_html_element_e element);
const unsigned char *ngx_http_consent_html_scan(ngx_http_consent_html_t *s,
    const unsigned char *p, const unsigned char *last);
void ngx_http_consent_html_release(ngx_http_consent_html_t *s);
int ngx_http_consent_html_eof_comment(ngx_http_consent_html_t *s);
int ngx_http_consent_html_in_tag(ngx_http_consent_html_t *s);
const unsigned char *ngx_http_consent_html_find(const unsigned char *p,
    const unsigned char *last, unsigned char ch);

int ngx_http_consent_html_attr_is(ngx_http_consent_html_attr_t *a,
    const char *value);
int ngx_http_consent_html_attr_has_token(ngx_http_consent_html_attr_t *a,
    const char *token);
size_t ngx_http_consent_html_charref(const unsigned char *p,
    const unsigned char *last, unsigned char *out, size_t *n);
size_t ngx_http_consent_html_decode(unsigned char *p, size_t len);


#endif /* _NGX_HTTP_CONSENT_HTML_H_INCLUDED_ */
