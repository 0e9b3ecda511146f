
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_GATE_H_INCLUDED_
#define _NGX_HTTP_CONSENT_GATE_H_INCLUDED_


/*
 * The gate: consent rules applied to a stream of HTML, read by the
 * scanner (ngx_http_consent_html.h).  It tells its caller, through out(),
 * what to send: spans of the input just given (to be sent without
 * copying), bytes it held (to be copied before the next call), and the
 * places where the head snippet and the banner go.  It holds bytes only
 * while an element it must read whole spans the input's buffers: the hold
 * is asked of alloc() then, once, and lives as long as the caller's data.
 */


#include <stddef.h>
#include <stdint.h>

#include "ngx_http_consent_slice.h"
#include "ngx_http_consent_html.h"
#include "ngx_http_consent_hosts.h"


#define NGX_HTTP_CONSENT_GATE_HOST_LEN    256
#define NGX_HTTP_CONSENT_GATE_DEPTH       3      /* srcdoc in srcdoc */


typedef enum {
    NGX_HTTP_CONSENT_GATE_OUT_INPUT = 0,  /* a span of the current input */
    NGX_HTTP_CONSENT_GATE_OUT_COPY,       /* bytes valid during the call */
    NGX_HTTP_CONSENT_GATE_OUT_HEAD,       /* insert the head snippet */
    NGX_HTTP_CONSENT_GATE_OUT_BANNER,     /* insert the banner */
    NGX_HTTP_CONSENT_GATE_OUT_PLACEHOLDER, /* g->embed-th, its host */
    NGX_HTTP_CONSENT_GATE_OUT_ANCHOR,     /* where a granted one stays */
    NGX_HTTP_CONSENT_GATE_OUT_AFTER       /* a placeholder after a player
                                             left without its sources: an
                                             anchor before it has the id */
} ngx_http_consent_gate_out_e;


typedef int (*ngx_http_consent_gate_out_pt)(void *data,
    ngx_http_consent_gate_out_e kind, const unsigned char *p, size_t len);

typedef struct {
    const ngx_http_consent_gate_host_t  *hosts;
    size_t                               nhosts;
    const ngx_http_consent_slice_t      *categories;  /* by index */
    size_t                               ncategories;
    const ngx_http_consent_hosts_t      *index;       /* of the hosts, or
                                                         NULL: the list */
} ngx_http_consent_gate_rules_t;


/*
 * What the gate removed from a page, by kind: elements by their element,
 * attributes removed or rewritten (srcset candidates included), inline
 * styles whose refused URLs were made harmless
 */
typedef struct {
    unsigned                         elements[
                                         NGX_HTTP_CONSENT_HTML_NELEMENTS];
    unsigned                         attrs;
    unsigned                         css;
} ngx_http_consent_gate_removed_t;


/* an attribute removed or rewritten in the tag at hand */
typedef struct {
    unsigned                         attr;
    unsigned                         kind;
} ngx_http_consent_gate_edit_t;


typedef struct ngx_http_consent_gate_s  ngx_http_consent_gate_t;

struct ngx_http_consent_gate_s {
    ngx_http_consent_html_t              scanner;

    const ngx_http_consent_gate_rules_t *rules;
    uint64_t                             granted;
    uint64_t                             gated;    /* categories with hosts */
    uint64_t                             all;

    ngx_http_consent_gate_out_pt         out;
    ngx_http_consent_gate_alloc_pt       alloc;
    void                                *data;

    unsigned char                       *hold;     /* NULL until needed */
    size_t                               hold_len;
    size_t                               hold_cap;
    uint64_t                             hold_off;

    unsigned char                       *scratch;  /* hold_cap, decoded */
    ngx_http_consent_gate_t             *inner;    /* for srcdoc */

    uint64_t                             cursor;   /* all before is done */
    uint64_t                             in_off;   /* offset of input */
    const unsigned char                 *in;
    uint64_t                             text_start;

    ngx_http_consent_gate_edit_t         edits[NGX_HTTP_CONSENT_HTML_NATTRS];
    size_t                               nedits;

    uint64_t                             need;     /* of the tag at hand */

    unsigned                             mode;
    unsigned                             depth;    /* of srcdoc */

    /*
     * consent_placeholder: the gated iframes, embeds and objects and every
     * video and audio, by number from 1; for out(), the one at hand
     */
    unsigned                             embeds;
    unsigned                             embed;
    unsigned                             embed_category;
    unsigned char                        embed_host[
                                             NGX_HTTP_CONSENT_GATE_HOST_LEN];

    /* the video or audio open, by its number: are its sources refused? */
    unsigned                             media;
    ngx_http_consent_html_element_e      media_element;
    unsigned                             media_category;
    size_t                               media_host_len;
    unsigned char                        media_host[
                                             NGX_HTTP_CONSENT_GATE_HOST_LEN];
    ngx_http_consent_html_element_e      held;     /* script or style */

    /* counters, for the caller's log */
    unsigned                             removed;  /* all of removed_by */
    ngx_http_consent_gate_removed_t      removed_by;
    unsigned                             made_live;
    unsigned                             overflows;

    /* <html lang>, for the banner's language; 0 if the page says none */
    size_t                               lang_len;
    unsigned char                        lang[NGX_HTTP_CONSENT_HTML_LANG_LEN];

    unsigned                             head:1;    /* wants the snippet */
    unsigned                             banner:2;  /* where, or 0 */
    unsigned                             done:1;
    unsigned                             drop_tag:1;
    unsigned                             placeholder:1;  /* set by caller */
    unsigned                             hide:1;         /* the tag at hand */
    unsigned                             media_refused:1;
    unsigned                             media_plays:1;  /* a source kept */
};


/*
 * Where the banner goes: the banner that asks, right after the real <body>
 * tag, the first thing a keyboard reaches; a link ("privacy choices", "do
 * not sell"), before the real </body>, where a footer's links are.  Either
 * before </body> in a page without a <body> tag, or at the end.
 */
#define NGX_HTTP_CONSENT_GATE_BANNER_END   1
#define NGX_HTTP_CONSENT_GATE_BANNER_BODY  2


void ngx_http_consent_gate_init(ngx_http_consent_gate_t *g,
    const ngx_http_consent_gate_rules_t *rules, uint64_t granted,
    unsigned head, unsigned banner, size_t hold_cap,
    ngx_http_consent_gate_out_pt out, ngx_http_consent_gate_alloc_pt alloc,
    void *data);
int ngx_http_consent_gate(ngx_http_consent_gate_t *g,
    const unsigned char *p, size_t len, int last);

/* the rules' parts, for tests */
int ngx_http_consent_gate_url_host(const unsigned char *url, size_t len,
    unsigned char *host, size_t *host_len);
int ngx_http_consent_gate_host_match(const unsigned char *host, size_t len,
    const unsigned char *pattern, size_t plen);
int ngx_http_consent_gate_text_has_host(const unsigned char *text,
    size_t len, const unsigned char *pattern, size_t plen);
int ngx_http_consent_gate_script_type_js(ngx_http_consent_html_tag_t *tag);


#endif /* _NGX_HTTP_CONSENT_GATE_H_INCLUDED_ */
