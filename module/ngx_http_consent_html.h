
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_HTML_H_INCLUDED_
#define _NGX_HTTP_CONSENT_HTML_H_INCLUDED_


/*
 * A streaming HTML scanner: the tokenizer states of the HTML standard that
 * decide where tags, comments and raw text (script, style, iframe, ...)
 * begin and end, with no tree construction, no character references and no
 * allocation.  Its state persists between calls, so input may be cut
 * anywhere.  It reports, through events, the start tags and end tags its
 * caller watches, with the attributes that matter for consent gating.
 * Positions are absolute offsets from the start of the input.
 */


#include <stddef.h>
#include <stdint.h>

#include "ngx_http_consent_slice.h"


#define NGX_HTTP_CONSENT_HTML_NAME_LEN    16
#define NGX_HTTP_CONSENT_HTML_ANAME_LEN   32
#define NGX_HTTP_CONSENT_HTML_VALUE_LEN   256
#define NGX_HTTP_CONSENT_HTML_ANY_ATTRS   8
#define NGX_HTTP_CONSENT_HTML_ANY_VALUE   128
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
    NGX_HTTP_CONSENT_HTML_HTML,
    NGX_HTTP_CONSENT_HTML_NELEMENTS
} ngx_http_consent_html_element_e;


#define NGX_HTTP_CONSENT_HTML_BIT(e)  (1u << (e))


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
    NGX_HTTP_CONSENT_HTML_A_LANG,
    NGX_HTTP_CONSENT_HTML_NATTRS
} ngx_http_consent_html_attr_e;


typedef enum {
    NGX_HTTP_CONSENT_HTML_EV_NONE = 0,   /* all input consumed */
    NGX_HTTP_CONSENT_HTML_EV_START_TAG,  /* a watched start tag ended, '>' */
    NGX_HTTP_CONSENT_HTML_EV_END_TAG,    /* a watched end tag ended, '>' */
    NGX_HTTP_CONSENT_HTML_EV_END_NAME,   /* a watched end tag's name is read */
    NGX_HTTP_CONSENT_HTML_EV_COMMENT     /* comment, doctype (trace only) */
} ngx_http_consent_html_event_e;


typedef struct {
    uint64_t                         start;  /* offset of the name */
    uint64_t                         end;    /* offset after the value */
    size_t                           len;    /* bytes kept in value */
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
    unsigned char                    name[NGX_HTTP_CONSENT_HTML_NAME_LEN];

    ngx_http_consent_html_attr_t     attrs[NGX_HTTP_CONSENT_HTML_NATTRS];

    size_t                           nany;
    ngx_http_consent_html_any_attr_t any[NGX_HTTP_CONSENT_HTML_ANY_ATTRS];
} ngx_http_consent_html_tag_t;


typedef struct {
    /* set by the caller */
    unsigned                         watch_start;     /* element bits */
    unsigned                         watch_end;       /* element bits */
    unsigned                         watch_end_name;  /* element bits */
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
    unsigned                         eqv:1;    /* "=" starts a value */
    unsigned                         record:1;
    unsigned                         attr_long:1;
    uint64_t                         lt;       /* offset of the last '<' */
    uint64_t                         attr_start;
    int                              attr;     /* recorded attr, or -1 */
    int                              any;      /* recorded any, or -1 */
    size_t                           aname_len;
    unsigned char                    aname[NGX_HTTP_CONSENT_HTML_ANAME_LEN];
} ngx_http_consent_html_t;


/*
 * The gate: consent rules applied to a stream of HTML.  It tells its
 * caller, through out(), what to send: spans of the input just given
 * (to be sent without copying), bytes it held (to be copied before the
 * next call), and the places where the head snippet and the banner go.
 */

typedef enum {
    NGX_HTTP_CONSENT_HTML_OUT_INPUT = 0,  /* a span of the current input */
    NGX_HTTP_CONSENT_HTML_OUT_COPY,       /* bytes valid during the call */
    NGX_HTTP_CONSENT_HTML_OUT_HEAD,       /* insert the head snippet */
    NGX_HTTP_CONSENT_HTML_OUT_BANNER      /* insert the banner */
} ngx_http_consent_html_out_e;


typedef int (*ngx_http_consent_html_out_pt)(void *data,
    ngx_http_consent_html_out_e kind, const unsigned char *p, size_t len);


typedef struct {
    const unsigned char             *data;     /* lowercase */
    size_t                           len;
    unsigned                         category;
} ngx_http_consent_html_host_t;


typedef struct {
    const ngx_http_consent_html_host_t  *hosts;
    size_t                               nhosts;
    const ngx_http_consent_slice_t   *categories;  /* by index */
    size_t                               ncategories;
} ngx_http_consent_html_rules_t;


typedef struct {
    ngx_http_consent_html_t              scanner;

    const ngx_http_consent_html_rules_t *rules;
    uint64_t                             granted;
    uint64_t                             gated;    /* categories with hosts */
    uint64_t                             all;

    ngx_http_consent_html_out_pt         out;
    void                                *data;

    unsigned char                       *hold;
    size_t                               hold_len;
    size_t                               hold_cap;
    uint64_t                             hold_off;

    uint64_t                             cursor;   /* all before is done */
    uint64_t                             in_off;   /* offset of input */
    const unsigned char                 *in;
    uint64_t                             text_start;

    unsigned                             mode;

    /* counters, for the caller's log */
    unsigned                             removed;
    unsigned                             made_live;
    unsigned                             overflows;

    /* <html lang>, for the banner's language; 0 if the page says none */
    size_t                               lang_len;
    unsigned char                        lang[NGX_HTTP_CONSENT_HTML_LANG_LEN];

    unsigned                             head:1;    /* wants the snippet */
    unsigned                             banner:1;  /* wants the banner */
    unsigned                             done:1;
    unsigned                             drop_tag:1;
} ngx_http_consent_html_gate_t;


void ngx_http_consent_html_gate_init(ngx_http_consent_html_gate_t *g,
    const ngx_http_consent_html_rules_t *rules, uint64_t granted,
    unsigned head, unsigned banner, unsigned char *hold, size_t hold_cap,
    ngx_http_consent_html_out_pt out, void *data);
int ngx_http_consent_html_gate(ngx_http_consent_html_gate_t *g,
    const unsigned char *p, size_t len, int last);

void ngx_http_consent_html_init(ngx_http_consent_html_t *s);
void ngx_http_consent_html_set_raw(ngx_http_consent_html_t *s,
    ngx_http_consent_html_element_e element);
const unsigned char *ngx_http_consent_html_scan(ngx_http_consent_html_t *s,
    const unsigned char *p, const unsigned char *last);
void ngx_http_consent_html_release(ngx_http_consent_html_t *s);
int ngx_http_consent_html_eof_comment(ngx_http_consent_html_t *s);
int ngx_http_consent_html_in_tag(ngx_http_consent_html_t *s);

/* helpers for the caller's rules */
int ngx_http_consent_html_attr_is(ngx_http_consent_html_attr_t *a,
    const char *value);
int ngx_http_consent_html_attr_has_token(ngx_http_consent_html_attr_t *a,
    const char *token);
int ngx_http_consent_html_url_host(const unsigned char *url, size_t len,
    const unsigned char **host, size_t *host_len);
int ngx_http_consent_html_host_match(const unsigned char *host, size_t len,
    const unsigned char *pattern, size_t plen);
int ngx_http_consent_html_text_has_host(const unsigned char *text,
    size_t len, const unsigned char *pattern, size_t plen);
int ngx_http_consent_html_script_type_js(ngx_http_consent_html_tag_t *tag);


#endif /* _NGX_HTTP_CONSENT_HTML_H_INCLUDED_ */
