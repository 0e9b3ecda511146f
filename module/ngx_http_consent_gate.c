
/*
 * Copyright (C) nginx-consent developers
 */


#include <string.h>
#include <strings.h>

#include "ngx_http_consent_gate.h"


/* the elements the gate reads, and those whose content it may drop */

#define NGX_HTTP_CONSENT_GATE_CONSENT                                         \
    (NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_SCRIPT)                  \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_IFRAME)                \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_IMG)                   \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_LINK))

#define NGX_HTTP_CONSENT_GATE_FETCH                                           \
    (NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_SOURCE)                  \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_VIDEO)                 \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_AUDIO)                 \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_TRACK)                 \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_OBJECT)                \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_EMBED)                 \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_INPUT)                 \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_IMAGE)                 \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_USE)                   \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_BASE)                  \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_META)                  \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_FEIMAGE)               \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_STYLE))

#define NGX_HTTP_CONSENT_GATE_RAW                                             \
    (NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_SCRIPT)                  \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_IFRAME)                \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_STYLE))

/* with consent_placeholder: what has a placeholder, and what plays */
#define NGX_HTTP_CONSENT_GATE_EMBED                                           \
    (NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_IFRAME)                  \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_EMBED)                 \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_OBJECT)                \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_VIDEO)                 \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_AUDIO))

#define NGX_HTTP_CONSENT_GATE_PLAYER                                          \
    (NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_VIDEO)                   \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_AUDIO))

/* the attributes whose refusal leaves a player or an object empty */
#define NGX_HTTP_CONSENT_GATE_CONTENT_ATTRS                                   \
    (((uint32_t) 1 << NGX_HTTP_CONSENT_HTML_A_SRC)                            \
     | ((uint32_t) 1 << NGX_HTTP_CONSENT_HTML_A_DATA))

/* attributes that fetch on any element */
#define NGX_HTTP_CONSENT_GATE_ANY_ATTRS                                       \
    (((uint32_t) 1 << NGX_HTTP_CONSENT_HTML_A_BACKGROUND)                     \
     | ((uint32_t) 1 << NGX_HTTP_CONSENT_HTML_A_STYLE)                        \
     | ((uint32_t) 1 << NGX_HTTP_CONSENT_HTML_A_PING))

/* a value decoded on the stack up to this length, in scratch beyond */
#define NGX_HTTP_CONSENT_GATE_SHORT   1024

#define ngx_http_consent_gate_bit(c)  ((uint64_t) 1 << (c))

/* an element removed, counted by its kind */
#define ngx_http_consent_gate_count(g, e)                                     \
    ((g)->removed++, (g)->removed_by.elements[e]++)


enum {
    gate_pass = 0,
    gate_hold,      /* an inline script or style, held until its end */
    gate_drop       /* a removed element's content */
};


/* the gate's decisions on a start tag */
enum {
    gate_keep = 0,
    gate_remove,    /* the element */
    gate_live,      /* a granted text/plain script made live */
    gate_inline,    /* hold the content, decide at its end */
    gate_edit,      /* attributes removed or rewritten: g->edits */
    gate_error
};


/* what an edit does to an attribute */
enum {
    edit_drop = 0,
    edit_srcset     /* only its refused candidates go */
};


typedef struct {
    uint64_t                         ustart;   /* offsets in the value */
    uint64_t                         uend;
    uint64_t                         end;      /* with its descriptors */
} ngx_http_consent_gate_candidate_t;


static int ngx_http_consent_gate_event(ngx_http_consent_gate_t *g);
static int ngx_http_consent_gate_banner(ngx_http_consent_gate_t *g,
    uint64_t at);
static int ngx_http_consent_gate_start_tag(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag);
static int ngx_http_consent_gate_lang(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag);
static const unsigned char *ngx_http_consent_gate_tag_text(
    ngx_http_consent_gate_t *g, ngx_http_consent_html_tag_t *tag);
static unsigned ngx_http_consent_gate_decide(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text);
static int ngx_http_consent_gate_value_refused(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text,
    ngx_http_consent_html_attr_e k);
static unsigned ngx_http_consent_gate_consent(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag);
static int ngx_http_consent_gate_names_allow(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_attr_t *a);
static int ngx_http_consent_gate_link_fetches(ngx_http_consent_html_attr_t *a);
static int ngx_http_consent_gate_attr_refused(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text,
    ngx_http_consent_html_attr_e k);
static int ngx_http_consent_gate_srcset(ngx_http_consent_gate_t *g,
    const unsigned char *v, size_t len, unsigned *kept);
static int ngx_http_consent_gate_srcset_next(const unsigned char *v,
    size_t len, size_t *pos, ngx_http_consent_gate_candidate_t *c);
static int ngx_http_consent_gate_srcdoc(ngx_http_consent_gate_t *g,
    const unsigned char *v, size_t len);
static int ngx_http_consent_gate_decoded(ngx_http_consent_gate_t *g,
    const unsigned char *v, size_t len, unsigned char *buf,
    const unsigned char **out, size_t *out_len);
static uint64_t ngx_http_consent_gate_url_need(ngx_http_consent_gate_t *g,
    const unsigned char *url, size_t len);
static uint64_t ngx_http_consent_gate_text_need(ngx_http_consent_gate_t *g,
    const unsigned char *text, size_t len);
static uint64_t ngx_http_consent_gate_css_need(ngx_http_consent_gate_t *g,
    const unsigned char *css, size_t len);
static int ngx_http_consent_gate_css(ngx_http_consent_gate_t *g,
    const unsigned char *css, size_t len, uint64_t off, unsigned rewrite,
    uint64_t *rest, uint64_t *urls);
static size_t ngx_http_consent_gate_css_unescape(unsigned char *p,
    size_t len);
static unsigned ngx_http_consent_gate_held(ngx_http_consent_gate_t *g,
    const unsigned char *text, size_t len);
static int ngx_http_consent_gate_embed(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text,
    unsigned d);
static int ngx_http_consent_gate_source(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text,
    unsigned d);
static int ngx_http_consent_gate_media_end(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag);
static size_t ngx_http_consent_gate_attr_host(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text,
    ngx_http_consent_html_attr_e k, unsigned char *host);
static int ngx_http_consent_gate_remove(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag);
static int ngx_http_consent_gate_apply(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text);
static int ngx_http_consent_gate_make_live(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag);
static int ngx_http_consent_gate_emit(ngx_http_consent_gate_t *g,
    uint64_t to);
static void ngx_http_consent_gate_skip(ngx_http_consent_gate_t *g,
    uint64_t to);
static int ngx_http_consent_gate_keep(ngx_http_consent_gate_t *g);
static void ngx_http_consent_gate_compact(ngx_http_consent_gate_t *g,
    uint64_t off);
static int ngx_http_consent_gate_overflow(ngx_http_consent_gate_t *g);
static int ngx_http_consent_gate_unread(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag);
static void *ngx_http_consent_gate_scratch(ngx_http_consent_gate_t *g);
static int ngx_http_consent_gate_send(ngx_http_consent_gate_t *g,
    ngx_http_consent_gate_out_e kind, const unsigned char *p, size_t len);
static int ngx_http_consent_gate_hex(unsigned char ch);


void
ngx_http_consent_gate_init(ngx_http_consent_gate_t *g,
    const ngx_http_consent_gate_rules_t *rules, uint64_t granted,
    unsigned head, unsigned banner, size_t hold_cap,
    ngx_http_consent_gate_out_pt out, ngx_http_consent_gate_alloc_pt alloc,
    void *data)
{
    size_t  i;

    /* the scanner, the first member, zeroes what it reads */

    ngx_http_consent_html_init(&g->scanner);

    memset(&g->rules, 0, sizeof(ngx_http_consent_gate_t)
                         - offsetof(ngx_http_consent_gate_t, rules));

    g->rules = rules;
    g->granted = granted;
    g->out = out;
    g->alloc = alloc;
    g->data = data;
    g->hold_cap = hold_cap;
    g->head = head ? 1 : 0;
    g->banner = banner;
    g->mode = gate_pass;

    if (rules->index) {
        g->gated = ngx_http_consent_hosts_all(rules->index);

    } else {
        for (i = 0; i < rules->nhosts; i++) {
            g->gated |= ngx_http_consent_gate_bit(rules->hosts[i].category);
        }
    }

    g->all = (rules->ncategories >= 64) ? ~(uint64_t) 0
             : ((ngx_http_consent_gate_bit(rules->ncategories)) - 1);

    g->scanner.watch_start = NGX_HTTP_CONSENT_GATE_CONSENT;
    g->scanner.watch_end = NGX_HTTP_CONSENT_GATE_RAW;

    if (rules->nhosts) {
        /* what fetches from a host: read only where there are hosts */
        g->scanner.watch_start |= NGX_HTTP_CONSENT_GATE_FETCH;
        g->scanner.watch_attrs = NGX_HTTP_CONSENT_GATE_ANY_ATTRS;
    }

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

    if (g->banner == NGX_HTTP_CONSENT_GATE_BANNER_BODY) {
        g->scanner.watch_start |= NGX_HTTP_CONSENT_HTML_BIT(
                                                  NGX_HTTP_CONSENT_HTML_BODY);
    }
}


/*
 * Feeds len bytes; last is set with the final bytes (len may be 0).
 * Returns 0, or -1 when out() or alloc() failed.
 */

int
ngx_http_consent_gate(ngx_http_consent_gate_t *g, const unsigned char *p,
    size_t len, int last)
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

        if (ngx_http_consent_gate_event(g) != 0) {
            return -1;
        }
    }

    if (!last) {

        switch (g->mode) {

        case gate_pass:
            if (g->scanner.is_pending) {
                if (ngx_http_consent_gate_emit(g, g->scanner.pending) != 0) {
                    return -1;
                }

                return ngx_http_consent_gate_keep(g);
            }

            return ngx_http_consent_gate_emit(g, g->scanner.offset);

        case gate_hold:
            return ngx_http_consent_gate_keep(g);

        default: /* gate_drop */
            ngx_http_consent_gate_skip(g, g->scanner.offset);
            return 0;
        }
    }

    g->done = 1;

    switch (g->mode) {

    case gate_hold:
        /* an unterminated inline script or style: decide on what there is */

        if (ngx_http_consent_gate_keep(g) != 0) {
            return -1;
        }

        if (g->mode == gate_hold) {
            switch (ngx_http_consent_gate_held(g,
                        g->hold + (g->text_start - g->hold_off),
                        g->hold_len - (size_t) (g->text_start - g->hold_off)))
            {
            case gate_remove:
                ngx_http_consent_gate_count(g, g->held);
                ngx_http_consent_gate_skip(g, g->scanner.offset);
                break;

            case gate_error:
                return -1;

            default:
                break;
            }
        }

        break;

    case gate_drop:
        ngx_http_consent_gate_skip(g, g->scanner.offset);
        break;

    default: /* gate_pass */

        if (g->scanner.is_pending
            && g->scanner.offset - g->scanner.pending > g->hold_cap
            && !ngx_http_consent_gate_unread(g, &g->scanner.tag))
        {
            /* an unterminated tag, too long: as if it had overflowed */
            g->overflows++;
            ngx_http_consent_gate_count(g, g->scanner.tag.element);

            if (ngx_http_consent_gate_emit(g, g->scanner.pending) != 0) {
                return -1;
            }

            ngx_http_consent_gate_skip(g, g->scanner.offset);
        }

        break;
    }

    if (ngx_http_consent_gate_emit(g, g->scanner.offset) != 0) {
        return -1;
    }

    if (g->banner) {
        g->banner = 0;

        if (ngx_http_consent_gate_send(g, NGX_HTTP_CONSENT_GATE_OUT_BANNER,
                                       NULL, 0)
            != 0)
        {
            return -1;
        }
    }

    return 0;
}


static int
ngx_http_consent_gate_event(ngx_http_consent_gate_t *g)
{
    unsigned                      d;
    uint64_t                      hold_end;
    const unsigned char          *text;
    ngx_http_consent_html_tag_t  *tag;

    tag = &g->scanner.tag;

    switch (g->scanner.event) {

    case NGX_HTTP_CONSENT_HTML_EV_END_NAME:
        /* </body: for a link, or in a page without a <body> tag */
        if (g->mode != gate_pass || !g->banner) {
            return 0;
        }

        return ngx_http_consent_gate_banner(g, tag->start);

    case NGX_HTTP_CONSENT_HTML_EV_END_TAG:

        if (g->media && tag->element == g->media_element
            && g->mode == gate_pass)
        {
            return ngx_http_consent_gate_media_end(g, tag);
        }

        if (g->mode == gate_drop) {
            g->mode = gate_pass;
            ngx_http_consent_gate_skip(g, tag->end);
            return 0;
        }

        if (g->mode != gate_hold) {
            return 0;
        }

        if (tag->end - g->cursor > g->hold_cap) {
            /* longer than consent_gate_buffer, wherever it was cut */
            if (ngx_http_consent_gate_overflow(g) != 0) {
                return -1;
            }

            if (g->mode == gate_drop) {
                ngx_http_consent_gate_skip(g, tag->end);
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

        d = ngx_http_consent_gate_held(g, text,
                                       (size_t) (tag->start - g->text_start));

        if (d == gate_error) {
            return -1;
        }

        if (d == gate_remove) {
            ngx_http_consent_gate_count(g, g->held);
            ngx_http_consent_gate_skip(g, tag->end);
        }

        return 0;

    case NGX_HTTP_CONSENT_HTML_EV_START_TAG:
        if (ngx_http_consent_gate_start_tag(g, tag) != 0) {
            return -1;
        }

        if (tag->element == NGX_HTTP_CONSENT_HTML_BODY && !tag->foreign
            && g->banner == NGX_HTTP_CONSENT_GATE_BANNER_BODY
            && g->mode == gate_pass
            && tag->end - tag->start <= g->hold_cap)
        {
            /*
             * right after <body>: the first thing a keyboard reaches; a
             * <body> longer than consent_gate_buffer passes as it overflows
             * (cut or not), and the banner goes before </body> then
             */
            return ngx_http_consent_gate_banner(g, tag->end);
        }

        return 0;

    default:
        return 0;
    }
}


/* the banner at the offset at, once */

static int
ngx_http_consent_gate_banner(ngx_http_consent_gate_t *g, uint64_t at)
{
    g->banner = 0;
    g->scanner.watch_end_name = 0;
    g->scanner.watch_start &=
                         ~NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_BODY);

    if (ngx_http_consent_gate_emit(g, at) != 0) {
        return -1;
    }

    return ngx_http_consent_gate_send(g, NGX_HTTP_CONSENT_GATE_OUT_BANNER,
                                      NULL, 0);
}


static int
ngx_http_consent_gate_start_tag(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag)
{
    unsigned              d;
    const unsigned char  *text;

    if (g->drop_tag) {
        /* the end of a tag removed on overflow */
        g->drop_tag = 0;
        ngx_http_consent_gate_skip(g, tag->end);

        if (!(NGX_HTTP_CONSENT_GATE_RAW
              & NGX_HTTP_CONSENT_HTML_BIT(tag->element))
            || tag->foreign)
        {
            g->mode = gate_pass;
        }

        return 0;
    }

    if (g->mode != gate_pass) {
        return 0;
    }

    if (tag->element == NGX_HTTP_CONSENT_HTML_HTML) {
        /* kept as it is, however long: only its lang is read */
        return ngx_http_consent_gate_lang(g, tag);
    }

    if (tag->end - tag->start > g->hold_cap) {
        /* as if it had overflowed the hold: the same answer for any cut */
        g->overflows++;

        if (ngx_http_consent_gate_unread(g, tag)) {
            return 0;
        }

        return ngx_http_consent_gate_remove(g, tag);
    }

    if (tag->element == NGX_HTTP_CONSENT_HTML_HEAD) {
        g->head = 0;
        g->scanner.watch_start &=
                         ~NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_HEAD);

        if (ngx_http_consent_gate_emit(g, tag->end) != 0) {
            return -1;
        }

        return ngx_http_consent_gate_send(g, NGX_HTTP_CONSENT_GATE_OUT_HEAD,
                                          NULL, 0);
    }

    if (ngx_http_consent_gate_emit(g, tag->start) != 0) {
        return -1;
    }

    if (g->head && tag->element == NGX_HTTP_CONSENT_HTML_SCRIPT) {
        /* no <head> tag (it may be left out): before the first script */
        g->head = 0;
        g->scanner.watch_start &=
                         ~NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_HEAD);

        if (ngx_http_consent_gate_send(g, NGX_HTTP_CONSENT_GATE_OUT_HEAD,
                                       NULL, 0)
            != 0)
        {
            return -1;
        }
    }

    text = ngx_http_consent_gate_tag_text(g, tag);
    if (text == NULL) {
        return -1;
    }

    d = ngx_http_consent_gate_decide(g, tag, text);

    if (g->placeholder && !tag->foreign && d != gate_error) {

        if (NGX_HTTP_CONSENT_GATE_EMBED
            & NGX_HTTP_CONSENT_HTML_BIT(tag->element))
        {
            if (ngx_http_consent_gate_embed(g, tag, text, d) != 0) {
                return -1;
            }

        } else if (g->media && tag->element == NGX_HTTP_CONSENT_HTML_SOURCE
                   && ngx_http_consent_gate_source(g, tag, text, d) != 0)
        {
            return -1;
        }
    }

    switch (d) {

    case gate_remove:
        return ngx_http_consent_gate_remove(g, tag);

    case gate_live:
        g->made_live++;
        return ngx_http_consent_gate_make_live(g, tag);

    case gate_inline:
        g->mode = gate_hold;
        g->held = tag->element;
        g->text_start = tag->end;
        return 0;

    case gate_edit:
        if (ngx_http_consent_gate_apply(g, tag, text) != 0) {
            return -1;
        }

        if (!g->hide) {
            return 0;
        }

        /* an emptied player or object, behind its placeholder */

        g->hide = 0;

        if (ngx_http_consent_gate_emit(g, tag->end - 1) != 0) {
            return -1;
        }

        return ngx_http_consent_gate_send(g, NGX_HTTP_CONSENT_GATE_OUT_COPY,
                                          (const unsigned char *) " hidden",
                                          sizeof(" hidden") - 1);

    case gate_error:
        return -1;

    default: /* gate_keep */
        return 0;
    }
}


/* <html lang>: the banner speaks the page's language; the tag is kept */

static int
ngx_http_consent_gate_lang(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag)
{
    ngx_http_consent_html_attr_t  *a;

    g->scanner.watch_start &=
                         ~NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_HTML);

    a = &tag->attrs[NGX_HTTP_CONSENT_HTML_A_LANG];

    if (a->present && !a->truncated && !tag->foreign
        && a->len <= NGX_HTTP_CONSENT_HTML_LANG_LEN)
    {
        memcpy(g->lang, a->value, a->len);
        g->lang_len = a->len;
    }

    return 0;
}


/*
 * The tag's bytes in one piece: in the input, or, when it began in an
 * earlier buffer, in the hold with the rest of it copied after its start.
 * The cursor is at the tag's start.
 */

static const unsigned char *
ngx_http_consent_gate_tag_text(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag)
{
    uint64_t  hold_end;

    if (g->hold_len == 0) {
        /* a tag begun in an earlier buffer is always held: never here */
        return (tag->start >= g->in_off) ? g->in + (tag->start - g->in_off)
                                         : NULL;
    }

    ngx_http_consent_gate_compact(g, tag->start);

    hold_end = g->hold_off + g->hold_len;

    if (tag->end > hold_end) {
        memcpy(g->hold + g->hold_len, g->in + (hold_end - g->in_off),
               (size_t) (tag->end - hold_end));
        g->hold_len += (size_t) (tag->end - hold_end);
    }

    return g->hold;
}


/*
 * What each element fetches (docs/gating.md): the URL attributes for which
 * it goes whole, where it is nothing but the fetch (script, img, embed...),
 * and those that go alone, where it stays useful without them (video's
 * src, object's data...).  On any element: background, ping and style go
 * alone; srcset candidates one by one.
 */

#define A(k)  ((uint32_t) 1 << NGX_HTTP_CONSENT_HTML_A_ ## k)

static const struct {
    uint32_t                         whole;
    uint32_t                         alone;
} ngx_http_consent_gate_fetches[NGX_HTTP_CONSENT_HTML_NELEMENTS] = {
    [NGX_HTTP_CONSENT_HTML_SCRIPT]  = { A(SRC), 0 },
    [NGX_HTTP_CONSENT_HTML_IFRAME]  = { A(SRC), 0 },
    [NGX_HTTP_CONSENT_HTML_EMBED]   = { A(SRC), 0 },
    [NGX_HTTP_CONSENT_HTML_TRACK]   = { A(SRC), 0 },
    [NGX_HTTP_CONSENT_HTML_SOURCE]  = { A(SRC), 0 },
    [NGX_HTTP_CONSENT_HTML_IMG]     = { A(SRC) | A(HREF) | A(XLINK_HREF), 0 },
    [NGX_HTTP_CONSENT_HTML_IMAGE]   = { A(SRC) | A(HREF) | A(XLINK_HREF), 0 },
    [NGX_HTTP_CONSENT_HTML_FEIMAGE] = { A(HREF) | A(XLINK_HREF), 0 },
    [NGX_HTTP_CONSENT_HTML_LINK]    = { A(HREF), 0 },      /* if rel fetches */
    [NGX_HTTP_CONSENT_HTML_BASE]    = { A(HREF), 0 },      /* relative URLs */
    [NGX_HTTP_CONSENT_HTML_META]    = { A(CONTENT), 0 },   /* refresh */
    [NGX_HTTP_CONSENT_HTML_VIDEO]   = { 0, A(SRC) | A(POSTER) },
    [NGX_HTTP_CONSENT_HTML_AUDIO]   = { 0, A(SRC) },
    [NGX_HTTP_CONSENT_HTML_OBJECT]  = { 0, A(DATA) },
    [NGX_HTTP_CONSENT_HTML_INPUT]   = { 0, A(SRC) },       /* type=image */
    [NGX_HTTP_CONSENT_HTML_USE]     = { 0, A(HREF) | A(XLINK_HREF) }
};

#define NGX_HTTP_CONSENT_GATE_ALONE  (A(BACKGROUND) | A(PING) | A(STYLE))

#define NGX_HTTP_CONSENT_GATE_SRCSET                                          \
    (NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_IMG)                     \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_IMAGE)                 \
     | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_SOURCE))


static unsigned
ngx_http_consent_gate_decide(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text)
{
    int                            rc;
    size_t                         i, n;
    unsigned                       d, kept;
    uint32_t                       whole, alone;
    ngx_http_consent_html_attr_t  *a;

    a = tag->attrs;
    g->need = 0;

    if (tag->foreign
        && (tag->element == NGX_HTTP_CONSENT_HTML_SCRIPT
            || tag->element == NGX_HTTP_CONSENT_HTML_STYLE))
    {
        /*
         * SVG's script and style: their content is markup, not text to
         * hold and search; the start tag goes (its content is then inert
         * character data) unless every gated category is granted
         */
        return ((g->granted & g->gated) != g->gated) ? gate_remove
                                                      : gate_keep;
    }

    if (NGX_HTTP_CONSENT_GATE_CONSENT
        & NGX_HTTP_CONSENT_HTML_BIT(tag->element))
    {
        d = ngx_http_consent_gate_consent(g, tag);

        if (d != gate_inline) {
            return d;
        }
    }

    whole = ngx_http_consent_gate_fetches[tag->element].whole & tag->present;
    alone = ngx_http_consent_gate_fetches[tag->element].alone & tag->present;

    switch (tag->element) {

    case NGX_HTTP_CONSENT_HTML_IFRAME:
        rc = ngx_http_consent_gate_value_refused(g, tag, text,
                                             NGX_HTTP_CONSENT_HTML_A_SRCDOC);
        if (rc != 0) {
            return (rc < 0) ? gate_error : gate_remove;
        }

        break;

    case NGX_HTTP_CONSENT_HTML_LINK:
        if (!ngx_http_consent_gate_link_fetches(
                 &a[NGX_HTTP_CONSENT_HTML_A_REL]))
        {
            whole = 0;
            break;
        }

        rc = ngx_http_consent_gate_value_refused(g, tag, text,
                                        NGX_HTTP_CONSENT_HTML_A_IMAGESRCSET);
        if (rc != 0) {
            return (rc < 0) ? gate_error : gate_remove;
        }

        break;

    case NGX_HTTP_CONSENT_HTML_META:
        if (!ngx_http_consent_html_attr_is(
                 &a[NGX_HTTP_CONSENT_HTML_A_HTTP_EQUIV], "refresh"))
        {
            whole = 0;
        }

        break;

    case NGX_HTTP_CONSENT_HTML_INPUT:
        if (!ngx_http_consent_html_attr_is(&a[NGX_HTTP_CONSENT_HTML_A_TYPE],
                                           "image"))
        {
            alone = 0;
        }

        break;

    case NGX_HTTP_CONSENT_HTML_STYLE:
        if (g->rules->nhosts) {
            return gate_inline;
        }

        break;

    default:
        break;
    }

    /* the element goes */

    for (i = 0; whole; i++, whole >>= 1) {
        if (!(whole & 1)) {
            continue;
        }

        rc = ngx_http_consent_gate_attr_refused(g, tag, text,
                                             (ngx_http_consent_html_attr_e) i);
        if (rc != 0) {
            return (rc < 0) ? gate_error : gate_remove;
        }
    }

    if (tag->element == NGX_HTTP_CONSENT_HTML_SCRIPT
        && !a[NGX_HTTP_CONSENT_HTML_A_SRC].present
        && g->rules->nhosts
        && ngx_http_consent_gate_script_type_js(tag))
    {
        return gate_inline;
    }

    /* or only attributes */

    alone |= NGX_HTTP_CONSENT_GATE_ALONE & tag->present;
    n = 0;

    for (i = 0; alone; i++, alone >>= 1) {
        if (!(alone & 1)) {
            continue;
        }

        rc = ngx_http_consent_gate_attr_refused(g, tag, text,
                                             (ngx_http_consent_html_attr_e) i);
        if (rc < 0) {
            return gate_error;
        }

        if (rc) {
            g->edits[n].attr = (unsigned) i;
            g->edits[n++].kind = edit_drop;
        }
    }

    /* or srcset candidates */

    if ((NGX_HTTP_CONSENT_GATE_SRCSET
         & NGX_HTTP_CONSENT_HTML_BIT(tag->element))
        && a[NGX_HTTP_CONSENT_HTML_A_SRCSET].present)
    {
        rc = ngx_http_consent_gate_srcset(g,
                 text + (a[NGX_HTTP_CONSENT_HTML_A_SRCSET].vstart - tag->start),
                 (size_t) (a[NGX_HTTP_CONSENT_HTML_A_SRCSET].vend
                           - a[NGX_HTTP_CONSENT_HTML_A_SRCSET].vstart),
                 &kept);
        if (rc < 0) {
            return gate_error;
        }

        if (rc) {
            g->edits[n].attr = NGX_HTTP_CONSENT_HTML_A_SRCSET;
            g->edits[n++].kind = kept ? edit_srcset : edit_drop;
        }
    }

    g->nedits = n;

    return n ? gate_edit : gate_keep;
}


/*
 * A srcdoc or an imagesrcset refused: 1, else 0, or -1 when alloc()
 * failed
 */

static int
ngx_http_consent_gate_value_refused(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text,
    ngx_http_consent_html_attr_e k)
{
    size_t                         len;
    unsigned                       kept;
    const unsigned char           *v;
    ngx_http_consent_html_attr_t  *a;

    a = &tag->attrs[k];

    if (!a->present) {
        return 0;
    }

    v = text + (a->vstart - tag->start);
    len = (size_t) (a->vend - a->vstart);

    if (k == NGX_HTTP_CONSENT_HTML_A_SRCDOC) {
        return ngx_http_consent_gate_srcdoc(g, v, len);
    }

    return ngx_http_consent_gate_srcset(g, v, len, &kept);
}

#undef A


/*
 * data-consent; cookieconsent's data-category; Cookiebot's: gate_inline
 * when none of them is there.
 */

static unsigned
ngx_http_consent_gate_consent(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag)
{
    int                            plain;
    ngx_http_consent_html_attr_t  *a, *names;

    a = tag->attrs;
    plain = ngx_http_consent_html_attr_is(&a[NGX_HTTP_CONSENT_HTML_A_TYPE],
                                          "text/plain");
    names = NULL;

    if (a[NGX_HTTP_CONSENT_HTML_A_CONSENT].present) {
        names = &a[NGX_HTTP_CONSENT_HTML_A_CONSENT];

    } else if (plain || tag->element == NGX_HTTP_CONSENT_HTML_IFRAME) {

        if (a[NGX_HTTP_CONSENT_HTML_A_CATEGORY].present) {
            names = &a[NGX_HTTP_CONSENT_HTML_A_CATEGORY];

        } else if (a[NGX_HTTP_CONSENT_HTML_A_COOKIECONSENT].present
                   && !ngx_http_consent_html_attr_is(
                           &a[NGX_HTTP_CONSENT_HTML_A_COOKIECONSENT], "ignore"))
        {
            names = &a[NGX_HTTP_CONSENT_HTML_A_COOKIECONSENT];
        }
    }

    if (names == NULL) {
        return gate_inline;
    }

    if (!ngx_http_consent_gate_names_allow(g, names)) {
        return gate_remove;
    }

    return plain ? gate_live : gate_keep;
}


/*
 * "analytics", "analytics marketing", "statistics, marketing": every name
 * must be granted; "!analytics" (cookieconsent): analytics must not be.
 * An undeclared name is never granted.
 */

static int
ngx_http_consent_gate_names_allow(ngx_http_consent_gate_t *g,
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

                if (!neg) {
                    g->need |= ngx_http_consent_gate_bit(i);
                }

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


/*
 * Does a <link> fetch its href?  Every rel does (stylesheet, icon,
 * manifest, preload, prefetch, prerender, modulepreload, preconnect,
 * dns-prefetch, and those to come) except the few that only name a page.
 */

static int
ngx_http_consent_gate_link_fetches(ngx_http_consent_html_attr_t *a)
{
    size_t                i, n;
    const unsigned char  *p, *last, *t;

    static const char  *names[] = {
        "alternate", "canonical", "author", "bookmark", "help", "license",
        "next", "prev", "search", "me", "nofollow", "noopener",
        "noreferrer", "opener", "tag", "external", "shortlink", "amphtml",
        "pingback", "webmention", "privacy-policy", "terms-of-service",
        NULL
    };

    if (!a->present || a->truncated) {
        return 1;
    }

    p = a->value;
    last = a->value + a->len;

    while (p < last) {

        while (p < last && ngx_http_consent_html_space(*p)) {
            p++;
        }

        if (p == last) {
            break;
        }

        t = p;

        while (p < last && !ngx_http_consent_html_space(*p)) {
            p++;
        }

        n = (size_t) (p - t);

        for (i = 0; names[i] != NULL; i++) {
            if (strlen(names[i]) == n && strncasecmp(names[i],
                                                     (const char *) t, n) == 0)
            {
                break;
            }
        }

        if (names[i] == NULL) {
            return 1;
        }
    }

    return 0;
}


/*
 * Does the attribute fetch from a host the reader refused?  1 yes, 0 no,
 * -1 alloc() failed.  Its value is decoded first, as the browser does.
 */

static int
ngx_http_consent_gate_attr_refused(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text,
    ngx_http_consent_html_attr_e k)
{
    size_t                         len, i, t;
    uint64_t                       need;
    unsigned char                  buf[NGX_HTTP_CONSENT_GATE_SHORT];
    const unsigned char           *v;
    ngx_http_consent_html_attr_t  *a;

    a = &tag->attrs[k];

    if (!a->present || !a->has_value || a->vend == a->vstart
        || g->rules->nhosts == 0)
    {
        return 0;
    }

    if (ngx_http_consent_gate_decoded(g, text + (a->vstart - tag->start),
                                      (size_t) (a->vend - a->vstart), buf,
                                      &v, &len)
        != 0)
    {
        return -1;
    }

    switch (k) {

    case NGX_HTTP_CONSENT_HTML_A_STYLE:
        /* with an escape, v is a copy of ours (in buf or in scratch) */
        len = ngx_http_consent_gate_css_unescape((unsigned char *) v, len);
        need = ngx_http_consent_gate_css_need(g, v, len);
        break;

    case NGX_HTTP_CONSENT_HTML_A_CONTENT:
        need = ngx_http_consent_gate_text_need(g, v, len);

        /* "0;url=//host/": the URL after the first ";" or "," */
        for (i = 0; i < len && v[i] != ';' && v[i] != ','; i++) {
            /* void */
        }

        while (i < len && (v[i] == ';' || v[i] == ','
                           || ngx_http_consent_html_space(v[i])))
        {
            i++;
        }

        if (len - i > 3 && strncasecmp((const char *) v + i, "url", 3) == 0) {
            for (t = i + 3; t < len && ngx_http_consent_html_space(v[t]); t++)
            {
                /* void */
            }

            if (t < len && v[t] == '=') {
                i = t + 1;
            }
        }

        while (i < len && (ngx_http_consent_html_space(v[i]) || v[i] == '"'
                           || v[i] == '\''))
        {
            i++;
        }

        need |= ngx_http_consent_gate_url_need(g, v + i, len - i);
        break;

    case NGX_HTTP_CONSENT_HTML_A_PING:
        /* URLs, by spaces */
        need = 0;

        for (i = 0; i < len; i = t) {
            while (i < len && ngx_http_consent_html_space(v[i])) {
                i++;
            }

            for (t = i; t < len && !ngx_http_consent_html_space(v[t]); t++) {
                /* void */
            }

            if (t > i) {
                need |= ngx_http_consent_gate_url_need(g, v + i, t - i);
            }
        }

        break;

    default:
        need = ngx_http_consent_gate_url_need(g, v, len);
        break;
    }

    g->need |= need;

    return (need & g->granted) != need;
}


/*
 * srcset: 1 when a candidate is refused, with *kept whether any other is
 * left; -1 when alloc() failed.
 */

static int
ngx_http_consent_gate_srcset(ngx_http_consent_gate_t *g,
    const unsigned char *v, size_t len, unsigned *kept)
{
    int                                refused;
    size_t                             pos, n;
    uint64_t                           need;
    unsigned char                      buf[NGX_HTTP_CONSENT_GATE_SHORT];
    const unsigned char               *url;
    ngx_http_consent_gate_candidate_t  c;

    refused = 0;
    *kept = 0;
    pos = 0;

    if (g->rules->nhosts == 0) {
        return 0;
    }

    while (ngx_http_consent_gate_srcset_next(v, len, &pos, &c)) {

        if (ngx_http_consent_gate_decoded(g, v + c.ustart,
                                          (size_t) (c.uend - c.ustart), buf,
                                          &url, &n)
            != 0)
        {
            return -1;
        }

        need = ngx_http_consent_gate_url_need(g, url, n);
        g->need |= need;

        if ((need & g->granted) != need) {
            refused = 1;

        } else {
            *kept = 1;
        }
    }

    return refused;
}


/*
 * The next candidate of a srcset value as written (its references not yet
 * decoded), as the standard parses it (4.8.4.3.10): the URL runs to a
 * space, less the commas that end it; descriptors to a comma outside
 * parentheses.  A comma or a space written as a reference counts as one.
 */

static int
ngx_http_consent_gate_srcset_next(const unsigned char *v, size_t len,
    size_t *pos, ngx_http_consent_gate_candidate_t *c)
{
    size_t          p, k, n, nc;
    unsigned        paren;
    unsigned char   ch, out[4];

#define next_char()                                                           \
    ch = v[p];                                                                \
    k = 1;                                                                    \
    if (ch == '&') {                                                          \
        k = ngx_http_consent_html_charref(v + p, v + len, out, &n);           \
        if (k) {                                                              \
            ch = (n == 1) ? out[0] : 0x80;                                    \
        } else {                                                              \
            k = 1;                                                            \
        }                                                                     \
    }

    p = *pos;

    for ( ;; ) {
        if (p >= len) {
            *pos = p;
            return 0;
        }

        next_char();

        if (!ngx_http_consent_html_space(ch) && ch != ',') {
            break;
        }

        p += k;
    }

    c->ustart = p;
    nc = p;

    while (p < len) {
        next_char();

        if (ngx_http_consent_html_space(ch)) {
            break;
        }

        p += k;

        if (ch != ',') {
            nc = p;
        }
    }

    c->uend = nc;
    c->end = nc;

    if (nc == p) {
        /* descriptors */
        paren = 0;

        while (p < len) {
            next_char();
            p += k;

            if (paren) {
                if (ch == ')') {
                    paren = 0;
                }

                c->end = p;
                continue;
            }

            if (ch == ',') {
                break;
            }

            if (ch == '(') {
                paren = 1;
            }

            if (!ngx_http_consent_html_space(ch)) {
                c->end = p;
            }
        }
    }

    *pos = p;

    return 1;

#undef next_char
}


/*
 * iframe srcdoc is a page of its own: gated as one (with its own srcdoc,
 * NGX_HTTP_CONSENT_GATE_DEPTH deep).  1 when it would lose anything, so
 * that the iframe goes; -1 when alloc() failed.
 */

static int
ngx_http_consent_gate_srcdoc(ngx_http_consent_gate_t *g,
    const unsigned char *v, size_t len)
{
    size_t                    n;
    unsigned char             buf[NGX_HTTP_CONSENT_GATE_SHORT];
    unsigned char            *hold, *scratch;
    const unsigned char      *doc;
    ngx_http_consent_gate_t  *in, *inner;

    if (g->depth >= NGX_HTTP_CONSENT_GATE_DEPTH) {
        return (g->granted & g->gated) != g->gated;
    }

    if (g->inner == NULL) {
        g->inner = g->alloc(g->data, sizeof(ngx_http_consent_gate_t));
        if (g->inner == NULL) {
            return -1;
        }

        memset(g->inner, 0, sizeof(ngx_http_consent_gate_t));
    }

    if (ngx_http_consent_gate_decoded(g, v, len, buf, &doc, &n) != 0) {
        return -1;
    }

    in = g->inner;
    hold = in->hold;
    scratch = in->scratch;
    inner = in->inner;

    ngx_http_consent_gate_init(in, g->rules, g->granted, 0, 0, g->hold_cap,
                               g->out, g->alloc, g->data);

    in->hold = hold;
    in->scratch = scratch;
    in->inner = inner;
    in->depth = g->depth + 1;

    if (ngx_http_consent_gate(in, doc, n, 1) != 0) {
        return -1;
    }

    return in->removed != 0;
}


/*
 * An attribute value with its references decoded: as it is when it has
 * none (nor a CSS escape), else in buf when short enough, else in scratch
 * (a tag is never longer than the hold); a copy may be written to.
 */

static int
ngx_http_consent_gate_decoded(ngx_http_consent_gate_t *g,
    const unsigned char *v, size_t len, unsigned char *buf,
    const unsigned char **out, size_t *out_len)
{
    unsigned char  *p;

    if (memchr(v, '&', len) == NULL && memchr(v, '\\', len) == NULL) {
        /* nothing to decode, nor to unescape in CSS: as it is */
        *out = v;
        *out_len = len;
        return 0;
    }

    if (len <= NGX_HTTP_CONSENT_GATE_SHORT) {
        p = buf;

    } else {
        p = ngx_http_consent_gate_scratch(g);
        if (p == NULL) {
            return -1;
        }
    }

    memcpy(p, v, len);

    *out = p;
    *out_len = ngx_http_consent_html_decode(p, len);

    return 0;
}


/*
 * The categories a URL needs: those of the gated hosts it names, none for
 * this site's own, every gated one for a host that cannot be read for sure
 * (characters beyond ASCII, an undecoded reference): closed.
 */

static uint64_t
ngx_http_consent_gate_url_need(ngx_http_consent_gate_t *g,
    const unsigned char *url, size_t len)
{
    int            rc;
    size_t         i, hlen;
    uint64_t       need;
    unsigned char  host[NGX_HTTP_CONSENT_GATE_HOST_LEN];

    if (g->rules->nhosts == 0) {
        return 0;
    }

    rc = ngx_http_consent_gate_url_host(url, len, host, &hlen);

    if (rc == 0) {
        return 0;
    }

    if (rc < 0) {
        return g->gated;
    }

    if (g->rules->index) {
        return ngx_http_consent_hosts_url(g->rules->index, host, hlen);
    }

    need = 0;

    for (i = 0; i < g->rules->nhosts; i++) {
        if (ngx_http_consent_gate_host_match(host, hlen,
                                             g->rules->hosts[i].data,
                                             g->rules->hosts[i].len))
        {
            need |= ngx_http_consent_gate_bit(g->rules->hosts[i].category);
        }
    }

    return need;
}


/* the categories of the hosts a text (an inline script) names */

static uint64_t
ngx_http_consent_gate_text_need(ngx_http_consent_gate_t *g,
    const unsigned char *text, size_t len)
{
    size_t                               i;
    uint64_t                             need, bit;
    const ngx_http_consent_gate_host_t  *h;

    if (g->rules->index) {
        return ngx_http_consent_hosts_text(g->rules->index, text, len);
    }

    need = 0;

    for (i = 0; i < g->rules->nhosts; i++) {
        h = &g->rules->hosts[i];
        bit = ngx_http_consent_gate_bit(h->category);

        if ((need & bit) == 0
            && ngx_http_consent_gate_text_has_host(text, len, h->data, h->len))
        {
            need |= bit;
        }
    }

    return need;
}


/* CSS, its escapes undone: every host it names, in a URL or not */

static uint64_t
ngx_http_consent_gate_css_need(ngx_http_consent_gate_t *g,
    const unsigned char *css, size_t len)
{
    uint64_t  rest, urls;

    (void) ngx_http_consent_gate_css(g, css, len, 0, 0, &rest, &urls);

    return rest | urls;
}


/*
 * CSS: the categories of every url() and every string (@import "...",
 * image-set("..."), src: "...") naming a URL, in *urls, and of the hosts
 * named anywhere else, in *rest.  With rewrite, the text (at offset off of
 * the input) is sent with the refused URLs made "about:invalid", which
 * fetches nothing.  Returns -1 when out() failed.
 */

static int
ngx_http_consent_gate_css(ngx_http_consent_gate_t *g,
    const unsigned char *css, size_t len, uint64_t off, unsigned rewrite,
    uint64_t *rest, uint64_t *urls)
{
    size_t    i, s, e, seg;
    uint64_t  need;

    *rest = 0;
    *urls = 0;
    seg = 0;

    for (i = 0; i < len; i++) {

        if (css[i] == '"' || css[i] == '\'') {
            s = i + 1;

            for (e = s; e < len && css[e] != css[i]; e++) {
                /* void */
            }

        } else if (len - i >= 4 && (css[i] | 0x20) == 'u'
                   && strncasecmp((const char *) css + i, "url(", 4) == 0)
        {
            for (s = i + 4; s < len && ngx_http_consent_html_space(css[s]);
                 s++)
            {
                /* void */
            }

            if (s < len && (css[s] == '"' || css[s] == '\'')) {
                /* the string itself, next */
                i = s - 1;
                continue;
            }

            for (e = s; e < len && css[e] != ')'
                        && !ngx_http_consent_html_space(css[e]); e++)
            {
                /* void */
            }

        } else {
            continue;
        }

        need = ngx_http_consent_gate_url_need(g, css + s, e - s);
        *urls |= need;
        i = e;

        if ((need & g->granted) == need) {
            continue;
        }

        *rest |= ngx_http_consent_gate_text_need(g, css + seg, s - seg);
        seg = e;

        if (rewrite) {
            if (ngx_http_consent_gate_emit(g, off + s) != 0) {
                return -1;
            }

            ngx_http_consent_gate_skip(g, off + e);

            if (ngx_http_consent_gate_send(g, NGX_HTTP_CONSENT_GATE_OUT_COPY,
                                        (const unsigned char *) "about:invalid",
                                        sizeof("about:invalid") - 1)
                != 0)
            {
                return -1;
            }
        }
    }

    *rest |= ngx_http_consent_gate_text_need(g, css + seg, len - seg);

    return 0;
}


/*
 * CSS escapes undone in place: "\67 " is "g", "\:" is ":"; any character
 * beyond ASCII is left as one byte 0x80, enough to tell hosts apart.
 */

static size_t
ngx_http_consent_gate_css_unescape(unsigned char *p, size_t len)
{
    size_t    r, w, k;
    uint32_t  cp;

    if (memchr(p, '\\', len) == NULL) {
        /* nothing to undo, nothing written */
        return len;
    }

    r = 0;
    w = 0;

    while (r < len) {

        if (p[r] != '\\' || r + 1 == len) {
            p[w++] = p[r++];
            continue;
        }

        r++;

        if (p[r] == '\n') {
            /* a newline escaped: nothing */
            r++;
            continue;
        }

        cp = 0;

        for (k = 0; k < 6 && r < len; k++, r++) {
            if (p[r] >= '0' && p[r] <= '9') {
                cp = cp * 16 + (p[r] - '0');

            } else if ((p[r] | 0x20) >= 'a' && (p[r] | 0x20) <= 'f') {
                cp = cp * 16 + ((p[r] | 0x20) - 'a' + 10);

            } else {
                break;
            }
        }

        if (k == 0) {
            p[w++] = p[r++];
            continue;
        }

        if (r < len && ngx_http_consent_html_space(p[r])) {
            r++;
        }

        p[w++] = (cp > 0 && cp < 0x80) ? (unsigned char) cp : 0x80;
    }

    return w;
}


/* an inline script or style, read to its end */

static unsigned
ngx_http_consent_gate_held(ngx_http_consent_gate_t *g,
    const unsigned char *text, size_t len)
{
    uint64_t        need, urls;
    unsigned char  *css;

    if (g->held == NGX_HTTP_CONSENT_HTML_STYLE) {

        if (memchr(text, '\\', len) != NULL) {
            /* escapes: undone in a copy, all of it goes if anything is */
            css = ngx_http_consent_gate_scratch(g);
            if (css == NULL) {
                return gate_error;
            }

            memcpy(css, text, len);
            len = ngx_http_consent_gate_css_unescape(css, len);
            need = ngx_http_consent_gate_css_need(g, css, len);

            return ((need & g->granted) == need) ? gate_keep : gate_remove;
        }

        /* the refused URLs made harmless; a host named elsewhere: all */

        (void) ngx_http_consent_gate_css(g, text, len, 0, 0, &need, &urls);

        if ((need & g->granted) != need) {
            return gate_remove;
        }

        if ((urls & g->granted) == urls) {
            return gate_keep;
        }

        g->removed++;
        g->removed_by.css++;

        if (ngx_http_consent_gate_css(g, text, len, g->text_start, 1, &need,
                                      &urls)
            != 0)
        {
            return gate_error;
        }

        return gate_edit;

    } else {
        need = ngx_http_consent_gate_text_need(g, text, len);
    }

    return ((need & g->granted) == need) ? gate_keep : gate_remove;
}


/*
 * consent_placeholder.  An iframe or embed that goes leaves in its place a
 * placeholder for the category refused and the host of its URL; a video,
 * audio or object whose src or data goes stays, hidden, behind one (a
 * poster alone goes alone: the video still plays).  One that stays has before it an anchor of the same number, so that
 * the placeholder's form comes back to it.  Every video and audio has its
 * number and anchor: whether its <source> children are all refused is known
 * only at its end tag (ngx_http_consent_gate_media_end()).  The numbers
 * depend on the hosts only, not on the grants: the page the form comes
 * back to numbers alike.
 */

static int
ngx_http_consent_gate_embed(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text,
    unsigned d)
{
    size_t                        i, hlen;
    uint64_t                      refused;
    ngx_http_consent_html_attr_e  k;

    refused = 0;
    k = NGX_HTTP_CONSENT_HTML_A_SRC;

    switch (tag->element) {

    case NGX_HTTP_CONSENT_HTML_IFRAME:
    case NGX_HTTP_CONSENT_HTML_EMBED:
        if (g->need == 0) {
            return 0;
        }

        if (d == gate_remove) {
            refused = g->need & ~g->granted;

            if (refused == 0) {
                refused = g->need;
            }
        }

        break;

    default: /* object, video, audio */

        for (i = 0; d == gate_edit && i < g->nedits; i++) {
            if (g->edits[i].kind == edit_drop
                && ((NGX_HTTP_CONSENT_GATE_CONTENT_ATTRS >> g->edits[i].attr)
                    & 1))
            {
                k = (ngx_http_consent_html_attr_e) g->edits[i].attr;
                refused = g->need & ~g->granted;
                break;
            }
        }

        if (g->need == 0
            && !(NGX_HTTP_CONSENT_GATE_PLAYER
                 & NGX_HTTP_CONSENT_HTML_BIT(tag->element)))
        {
            return 0;
        }

        break;
    }

    g->embed = ++g->embeds;

    if (refused == 0) {
        g->embed_category = g->need ? (unsigned) __builtin_ctzll(g->need) : 0;

        if ((NGX_HTTP_CONSENT_GATE_PLAYER
             & NGX_HTTP_CONSENT_HTML_BIT(tag->element))
            && g->media == 0)
        {
            g->media = g->embed;
            g->media_element = tag->element;
            g->media_refused = 0;
            g->media_plays = tag->attrs[NGX_HTTP_CONSENT_HTML_A_SRC].present;
            g->scanner.watch_end |= NGX_HTTP_CONSENT_GATE_PLAYER;
        }

        return ngx_http_consent_gate_send(g, NGX_HTTP_CONSENT_GATE_OUT_ANCHOR,
                                          NULL, 0);
    }

    g->embed_category = (unsigned) __builtin_ctzll(refused);
    g->hide = (d == gate_edit);

    hlen = ngx_http_consent_gate_attr_host(g, tag, text, k, g->embed_host);
    if (hlen == (size_t) -1) {
        return -1;
    }

    return ngx_http_consent_gate_send(g,
                                      NGX_HTTP_CONSENT_GATE_OUT_PLACEHOLDER,
                                      g->embed_host, hlen);
}


/* a <source> of the video or audio open: refused, or one it plays */

static int
ngx_http_consent_gate_source(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text,
    unsigned d)
{
    size_t    hlen;
    uint64_t  refused;

    if (!tag->attrs[NGX_HTTP_CONSENT_HTML_A_SRC].present) {
        return 0;
    }

    if (d != gate_remove) {
        g->media_plays = 1;
        return 0;
    }

    if (g->media_refused) {
        return 0;
    }

    hlen = ngx_http_consent_gate_attr_host(g, tag, text,
                                           NGX_HTTP_CONSENT_HTML_A_SRC,
                                           g->media_host);
    if (hlen == (size_t) -1) {
        return -1;
    }

    refused = g->need & ~g->granted;

    g->media_refused = 1;
    g->media_category = refused ? (unsigned) __builtin_ctzll(refused) : 0;
    g->media_host_len = hlen;

    return 0;
}


/*
 * </video>, </audio>: where every source it had went, a placeholder after
 * it (the anchor before it has the number)
 */

static int
ngx_http_consent_gate_media_end(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag)
{
    g->embed = g->media;
    g->media = 0;

    if (!g->media_refused || g->media_plays) {
        return 0;
    }

    if (ngx_http_consent_gate_emit(g, tag->end) != 0) {
        return -1;
    }

    g->embed_category = g->media_category;

    return ngx_http_consent_gate_send(g, NGX_HTTP_CONSENT_GATE_OUT_AFTER,
                                      g->media_host, g->media_host_len);
}


/* the host of a URL attribute into host, its length; 0 if none, -1 */

static size_t
ngx_http_consent_gate_attr_host(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text,
    ngx_http_consent_html_attr_e k, unsigned char *host)
{
    size_t                         n, hlen;
    unsigned char                  buf[NGX_HTTP_CONSENT_GATE_SHORT];
    const unsigned char           *url;
    ngx_http_consent_html_attr_t  *a;

    a = &tag->attrs[k];

    if (!a->present) {
        return 0;
    }

    if (ngx_http_consent_gate_decoded(g, text + (a->vstart - tag->start),
                                      (size_t) (a->vend - a->vstart), buf,
                                      &url, &n)
        != 0)
    {
        return (size_t) -1;
    }

    hlen = 0;

    if (ngx_http_consent_gate_url_host(url, n, host, &hlen) != 1) {
        return 0;
    }

    return hlen;
}


/*
 * The element goes, with its content for script, iframe and style (their
 * raw text; not in SVG, where it is markup)
 */

static int
ngx_http_consent_gate_remove(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag)
{
    ngx_http_consent_gate_count(g, tag->element);

    if (ngx_http_consent_gate_emit(g, tag->start) != 0) {
        return -1;
    }

    ngx_http_consent_gate_skip(g, tag->end);

    if ((NGX_HTTP_CONSENT_GATE_RAW & NGX_HTTP_CONSENT_HTML_BIT(tag->element))
        && !tag->foreign)
    {
        g->mode = gate_drop;
    }

    return 0;
}


/* the edits of decide(), in the order of the attributes */

static int
ngx_http_consent_gate_apply(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag, const unsigned char *text)
{
    int                                 first;
    size_t                              i, k, pos, len;
    uint64_t                            need;
    unsigned char                       buf[NGX_HTTP_CONSENT_GATE_SHORT];
    const unsigned char                *v, *url;
    ngx_http_consent_html_attr_t       *a;
    ngx_http_consent_gate_edit_t        e;
    ngx_http_consent_gate_candidate_t   c;

    for (i = 1; i < g->nedits; i++) {
        e = g->edits[i];

        for (k = i; k > 0 && tag->attrs[g->edits[k - 1].attr].start
                             > tag->attrs[e.attr].start; k--)
        {
            g->edits[k] = g->edits[k - 1];
        }

        g->edits[k] = e;
    }

    g->removed += (unsigned) g->nedits;
    g->removed_by.attrs += (unsigned) g->nedits;

    for (i = 0; i < g->nedits; i++) {
        a = &tag->attrs[g->edits[i].attr];

        if (g->edits[i].kind == edit_drop) {
            if (ngx_http_consent_gate_emit(g, a->start) != 0) {
                return -1;
            }

            ngx_http_consent_gate_skip(g, a->end);
            continue;
        }

        /* srcset: the granted candidates, as written, by ", " */

        if (ngx_http_consent_gate_emit(g, a->vstart) != 0) {
            return -1;
        }

        v = text + (a->vstart - tag->start);
        len = (size_t) (a->vend - a->vstart);
        pos = 0;
        first = 1;

        while (ngx_http_consent_gate_srcset_next(v, len, &pos, &c)) {

            if (ngx_http_consent_gate_decoded(g, v + c.ustart,
                                              (size_t) (c.uend - c.ustart),
                                              buf, &url, &k)
                != 0)
            {
                return -1;
            }

            need = ngx_http_consent_gate_url_need(g, url, k);

            if ((need & g->granted) != need) {
                continue;
            }

            ngx_http_consent_gate_skip(g, a->vstart + c.ustart);

            if (!first
                && ngx_http_consent_gate_send(g,
                       NGX_HTTP_CONSENT_GATE_OUT_COPY,
                       (const unsigned char *) ", ", 2) != 0)
            {
                return -1;
            }

            first = 0;

            if (ngx_http_consent_gate_emit(g, a->vstart + c.end) != 0) {
                return -1;
            }
        }

        ngx_http_consent_gate_skip(g, a->vend);
    }

    return 0;
}


/* a granted text/plain element: type from data-type, or no type */

static int
ngx_http_consent_gate_make_live(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag)
{
    size_t                         i, n;
    const unsigned char           *v;
    ngx_http_consent_html_attr_t  *type, *dtype;

    type = &tag->attrs[NGX_HTTP_CONSENT_HTML_A_TYPE];
    dtype = &tag->attrs[NGX_HTTP_CONSENT_HTML_A_DATA_TYPE];

    if (ngx_http_consent_gate_emit(g, type->start) != 0) {
        return -1;
    }

    ngx_http_consent_gate_skip(g, type->end);

    if (dtype->present && dtype->len && !dtype->truncated) {
        if (ngx_http_consent_gate_send(g, NGX_HTTP_CONSENT_GATE_OUT_COPY,
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
                && ngx_http_consent_gate_send(g,
                       NGX_HTTP_CONSENT_GATE_OUT_COPY, v + n, i - n) != 0)
            {
                return -1;
            }

            if (i < dtype->len
                && ngx_http_consent_gate_send(g,
                       NGX_HTTP_CONSENT_GATE_OUT_COPY,
                       (const unsigned char *) "&quot;", 6) != 0)
            {
                return -1;
            }

            n = i + 1;
        }

        if (ngx_http_consent_gate_send(g, NGX_HTTP_CONSENT_GATE_OUT_COPY,
                                       (const unsigned char *) "\"", 1)
            != 0)
        {
            return -1;
        }
    }

    return ngx_http_consent_gate_emit(g, tag->end);
}


/* sends what lies between the cursor and "to", from the hold or the input */

static int
ngx_http_consent_gate_emit(ngx_http_consent_gate_t *g, uint64_t to)
{
    size_t    n;
    uint64_t  hold_end;

    if (to <= g->cursor) {
        return 0;
    }

    hold_end = g->hold_off + g->hold_len;

    if (g->hold_len && g->cursor < hold_end) {
        n = (size_t) (((to < hold_end) ? to : hold_end) - g->cursor);

        if (ngx_http_consent_gate_send(g, NGX_HTTP_CONSENT_GATE_OUT_COPY,
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
        if (ngx_http_consent_gate_send(g, NGX_HTTP_CONSENT_GATE_OUT_INPUT,
                                       g->in + (g->cursor - g->in_off),
                                       (size_t) (to - g->cursor))
            != 0)
        {
            return -1;
        }

        g->cursor = to;
    }

    return 0;
}


static void
ngx_http_consent_gate_skip(ngx_http_consent_gate_t *g, uint64_t to)
{
    if (to > g->cursor) {
        g->cursor = to;
    }

    if (g->hold_len && g->cursor >= g->hold_off + g->hold_len) {
        g->hold_len = 0;
    }
}


/*
 * Holds what lies between the cursor and the end of the input: the hold
 * is asked for here, the first time there is something to hold.
 */

static int
ngx_http_consent_gate_keep(ngx_http_consent_gate_t *g)
{
    size_t    n;
    uint64_t  hold_end, start;

    ngx_http_consent_gate_compact(g, g->cursor);

    hold_end = g->hold_off + g->hold_len;

    start = (hold_end > g->in_off) ? hold_end : g->in_off;
    if (start < g->cursor) {
        start = g->cursor;
    }

    n = (size_t) (g->scanner.offset - start);

    if (n == 0) {
        return 0;
    }

    if (g->hold_len + n > g->hold_cap) {
        return ngx_http_consent_gate_overflow(g);
    }

    if (g->hold == NULL) {
        g->hold = g->alloc(g->data, g->hold_cap);
        if (g->hold == NULL) {
            return -1;
        }
    }

    memcpy(g->hold + g->hold_len, g->in + (start - g->in_off), n);
    g->hold_len += n;

    return 0;
}


/* the hold from "off" on: what lies before it was sent or dropped */

static void
ngx_http_consent_gate_compact(ngx_http_consent_gate_t *g, uint64_t off)
{
    size_t  skip;

    if (g->hold_len) {
        skip = (size_t) (off - g->hold_off);

        if (skip) {
            memmove(g->hold, g->hold + skip, g->hold_len - skip);
            g->hold_len -= skip;
        }
    }

    g->hold_off = off;
}


/*
 * The hold is full: decide now.  An inline script naming no host of a
 * refused category so far, or any element while every category is
 * granted, is let through; anything else is removed (fail closed).
 */

static int
ngx_http_consent_gate_overflow(ngx_http_consent_gate_t *g)
{
    g->overflows++;

    if (g->mode == gate_hold) {
        if ((g->granted & g->gated) == g->gated) {
            g->mode = gate_pass;
            return ngx_http_consent_gate_emit(g, g->scanner.offset);
        }

        ngx_http_consent_gate_count(g, g->held);
        g->mode = gate_drop;
        ngx_http_consent_gate_skip(g, g->scanner.offset);

        return 0;
    }

    /* a watched start tag, still open */

    if (ngx_http_consent_gate_unread(g, &g->scanner.tag)) {
        ngx_http_consent_html_release(&g->scanner);
        return ngx_http_consent_gate_emit(g, g->scanner.offset);
    }

    ngx_http_consent_gate_count(g, g->scanner.tag.element);
    g->mode = gate_drop;
    g->drop_tag = 1;
    ngx_http_consent_gate_skip(g, g->scanner.offset);

    return 0;
}


/*
 * The host of an absolute or scheme-relative URL, as the URL parser reads
 * it: leading and trailing spaces and controls dropped, tabs and newlines
 * dropped anywhere, "\\" for "/", any number of slashes after a special
 * scheme (with none, too: "https:host" is that host on an http page), no
 * userinfo nor port, percent-encoding undone, lowercase.  Returns 1 with
 * the host, 0 for no host (a relative URL: this site's own; another
 * scheme), -1 for a host that holds characters beyond ASCII or an "&", or
 * too long to read: the caller fails closed.
 */

int
ngx_http_consent_gate_url_host(const unsigned char *url, size_t len,
    unsigned char *host, size_t *host_len)
{
    size_t                i, n, k;
    unsigned              cut;
    unsigned char         ch, buf[NGX_HTTP_CONSENT_GATE_HOST_LEN * 2];
    const unsigned char  *p, *last, *h, *e;

    static const char  *special[] = {
        "http", "https", "ws", "wss", "ftp", "file", NULL
    };

    while (len && url[0] <= 0x20) {
        url++;
        len--;
    }

    while (len && url[len - 1] <= 0x20) {
        len--;
    }

    n = 0;
    cut = 0;

    /*
     * up to the "/", "\\", "?" or "#" that ends what follows the first
     * ":" and slashes: past the host, whatever the URL is
     */

    for (i = 0, k = 0; i < len; i++) {
        ch = url[i];

        if (ch == '\t' || ch == '\n' || ch == '\r') {
            continue;
        }

        if (n == sizeof(buf)) {
            cut = 1;
            break;
        }

        if ((ch == '/' || ch == '\\' || ch == '?' || ch == '#')
            && k && n && buf[n - 1] != '/' && buf[n - 1] != '\\'
            && buf[n - 1] != ':')
        {
            break;
        }

        if (ch == '/' || ch == '\\' || ch == ':') {
            k = 1;
        }

        buf[n++] = ch;
    }

    p = buf;
    last = buf + n;

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
            for (k = 0; special[k] != NULL; k++) {
                if (strlen(special[k]) == (size_t) (h - p)
                    && strncasecmp(special[k], (const char *) p, h - p) == 0)
                {
                    break;
                }
            }

            if (special[k] == NULL) {
                /* javascript:, data:, mailto:, blob:... */
                return 0;
            }

            p = h + 1;
            goto authority;
        }
    }

    if (last - p < 2 || (p[0] != '/' && p[0] != '\\')
        || (p[1] != '/' && p[1] != '\\'))
    {
        return 0;
    }

authority:

    while (p < last && (*p == '/' || *p == '\\')) {
        p++;
    }

    for (e = p; e < last; e++) {
        if (*e == '/' || *e == '\\' || *e == '?' || *e == '#') {
            break;
        }
    }

    if (e == last && cut) {
        return -1;
    }

    /* userinfo */

    for (h = e; h > p; h--) {
        if (h[-1] == '@') {
            p = h;
            break;
        }
    }

    if (p < e && *p == '[') {
        /* an IPv6 literal is never a gated host name */
        return 0;
    }

    n = 0;

    for (h = p; h < e && *h != ':'; h++) {
        ch = *h;

        if (ch == '%' && e - h > 2 && ngx_http_consent_gate_hex(h[1]) >= 0
            && ngx_http_consent_gate_hex(h[2]) >= 0)
        {
            ch = (unsigned char) (ngx_http_consent_gate_hex(h[1]) * 16
                                  + ngx_http_consent_gate_hex(h[2]));
            h += 2;
        }

        if (n == NGX_HTTP_CONSENT_GATE_HOST_LEN) {
            return -1;
        }

        host[n++] = ngx_http_consent_html_lower(ch);
    }

    while (n && host[n - 1] == '.') {
        n--;
    }

    if (n == 0) {
        return 0;
    }

    /*
     * beyond ASCII, the browser's IDNA mapping may make a gated name of it
     * (fullwidth letters, a soft hyphen); an "&" left is a reference the
     * browser may read otherwise: not read for sure.  Other ASCII it keeps
     * as it is: compared as it is.
     */

    for (i = 0; i < n; i++) {
        if (host[i] >= 0x80 || host[i] == '&') {
            return -1;
        }
    }

    *host_len = n;

    return 1;
}


static int
ngx_http_consent_gate_hex(unsigned char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }

    ch |= 0x20;

    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }

    return -1;
}


/* "example.com" exactly, or "*.example.com": any name below it */

int
ngx_http_consent_gate_host_match(const unsigned char *host, size_t len,
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


/*
 * Does the text (an inline script) name the host?  "*.example.com" is
 * found as ".example.com" ending a host name, "example.com" as a whole
 * host name.  The pattern is lowercase.
 */

int
ngx_http_consent_gate_text_has_host(const unsigned char *text, size_t len,
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
            && ngx_http_consent_hosts_char(p[plen])
            && p[plen] != '.')
        {
            continue;
        }

        if (wild) {
            if (p - text >= 2 && p[-1] == '.'
                && ngx_http_consent_hosts_char(p[-2]))
            {
                return 1;
            }

            continue;
        }

        if (p > text && ngx_http_consent_hosts_char(p[-1])) {
            continue;
        }

        return 1;
    }
}


/* a script the browser runs: no type, a JavaScript type, or "module" */

int
ngx_http_consent_gate_script_type_js(ngx_http_consent_html_tag_t *tag)
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


/*
 * A start tag longer than the hold passes unread when every category is
 * granted, when it is the head, and when it is of no element the gate
 * reads for its fetches (a div, an SVG path...): removing it would break
 * the page, and its style, background and ping are read only when they
 * fit (the overflow is logged).  Any other element is removed.
 */

static int
ngx_http_consent_gate_unread(ngx_http_consent_gate_t *g,
    ngx_http_consent_html_tag_t *tag)
{
    return (g->granted & g->all) == g->all
           || !((NGX_HTTP_CONSENT_GATE_CONSENT | NGX_HTTP_CONSENT_GATE_FETCH)
                & NGX_HTTP_CONSENT_HTML_BIT(tag->element));
}


static void *
ngx_http_consent_gate_scratch(ngx_http_consent_gate_t *g)
{
    if (g->scratch == NULL) {
        g->scratch = g->alloc(g->data, g->hold_cap);
    }

    return g->scratch;
}


/* the gate of a srcdoc sends nothing: only its counters matter */

static int
ngx_http_consent_gate_send(ngx_http_consent_gate_t *g,
    ngx_http_consent_gate_out_e kind, const unsigned char *p, size_t len)
{
    if (g->depth) {
        return 0;
    }

    return g->out(g->data, kind, p, len);
}
