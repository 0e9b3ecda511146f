
/*
 * Copyright (C) nginx-consent developers
 *
 * The streaming HTML scanner and the gate: hand-written cases, the
 * html5lib-tests tokenizer cases on comments, raw text and script data,
 * the vendors' snippets, and split invariance.
 */


#define _GNU_SOURCE

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>

#include "ngx_http_consent_gate.h"


/* make passes $CONSENT_CORPUS: ../shared/corpus, wherever that is */
#define CORPUS     "../shared/corpus"
#define TOKENIZER  "html5lib-tests/tokenizer"
#define FIXTURES   "tests/fixtures"

#if defined(__SANITIZE_ADDRESS__)
#define SLOW  1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLOW  1
#endif
#endif

#ifndef SLOW
#define SLOW  0
#endif


#define NECESSARY  ((uint64_t) 1 << 0)
#define ANALYTICS  ((uint64_t) 1 << 1)
#define MARKETING  ((uint64_t) 1 << 2)
#define ALL        (NECESSARY | ANALYTICS | MARKETING)


typedef struct mem_s  mem_t;

struct mem_s {
    mem_t          *next;
    size_t          size;
};


typedef struct {
    unsigned char  *data;
    size_t          len;
    size_t          cap;
    mem_t          *mem;      /* what the gate asked for */
    size_t          asked;    /* bytes */
    unsigned        placeholder:1;
    ngx_http_consent_gate_t  *gate;
} buf_t;


static const ngx_http_consent_slice_t  categories[] = {
    { (const unsigned char *) "necessary", 9 },
    { (const unsigned char *) "analytics", 9 },
    { (const unsigned char *) "marketing", 9 }
};


#define H(s, c)  { (const unsigned char *) s, sizeof(s) - 1, c }

static const ngx_http_consent_gate_host_t  hosts[] = {
    H("www.google-analytics.com", 1),
    H("*.googletagmanager.com", 1),
    H("static.hotjar.com", 1),
    H("*.matomo.cloud", 1),
    H("www.clarity.ms", 1),
    H("connect.facebook.net", 2),
    H("*.facebook.com", 2),
    H("snap.licdn.com", 2),
    H("*.linkedin.com", 2),
    H("analytics.tiktok.com", 2)
};

static const ngx_http_consent_gate_rules_t  rules = {
    hosts, sizeof(hosts) / sizeof(hosts[0]),
    categories, 3, NULL
};

/* the rules gate_cuts() runs with */
static const ngx_http_consent_gate_rules_t  *gate_rules = &rules;

static const char  *tracker_names[] = {
    "googletagmanager.com", "google-analytics.com", "hotjar.com",
    "matomo.cloud", "clarity.ms", "facebook", "licdn.com", "linkedin.com",
    "tiktok.com", NULL
};

static const char  *fixtures[] = {
    "vendors/ga4", "vendors/gtm", "vendors/meta-pixel", "vendors/hotjar",
    "vendors/matomo", "vendors/linkedin", "vendors/tiktok", "vendors/clarity",
    "vendors/cookieconsent", "vendors/clean", "vendors/article",
    "constructs", "placeholder", NULL
};


static void
buf_add(buf_t *b, const void *p, size_t len)
{
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2 + 64;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }

    if (len) {
        memcpy(b->data + b->len, p, len);
    }

    b->len += len;
}


static int
out(void *data, ngx_http_consent_gate_out_e kind, const unsigned char *p,
    size_t len)
{
    int     n;
    char    tmp[320];
    buf_t  *b = data;

    switch (kind) {
    case NGX_HTTP_CONSENT_GATE_OUT_HEAD:
        buf_add(b, "<!--HEAD-->", 11);
        break;
    case NGX_HTTP_CONSENT_GATE_OUT_BANNER:
        buf_add(b, "<!--BANNER-->", 13);
        break;
    case NGX_HTTP_CONSENT_GATE_OUT_PLACEHOLDER:
    case NGX_HTTP_CONSENT_GATE_OUT_ANCHOR:
    case NGX_HTTP_CONSENT_GATE_OUT_AFTER:
        n = snprintf(tmp, sizeof(tmp), "<!--%s %u %u%s%.*s-->",
                     (kind == NGX_HTTP_CONSENT_GATE_OUT_ANCHOR) ? "A"
                     : (kind == NGX_HTTP_CONSENT_GATE_OUT_AFTER) ? "F" : "P",
                     b->gate->embed, b->gate->embed_category,
                     len ? " " : "", (int) len, p);
        buf_add(b, tmp, n);
        break;
    default:
        buf_add(b, p, len);
    }

    return 0;
}


/* the gate's memory, freed after the run */

static void *
gate_alloc(void *data, size_t size)
{
    buf_t  *b = data;
    mem_t  *m;

    m = malloc(sizeof(mem_t) + size);
    assert_non_null(m);

    m->next = b->mem;
    m->size = size;
    b->mem = m;
    b->asked += size;

    return m + 1;
}


static void
gate_free(buf_t *b)
{
    mem_t  *m;

    while (b->mem != NULL) {
        m = b->mem;
        b->mem = m->next;
        free(m);
    }
}


/* runs the gate over the input cut at the given places (sorted) */

static buf_t
gate_cuts(const unsigned char *in, size_t len, const size_t *cuts,
    size_t ncuts, size_t chunk, uint64_t granted, unsigned flags, size_t cap)
{
    buf_t                     b;
    size_t                    i, from, to;
    unsigned char            *piece;
    ngx_http_consent_gate_t  *g;

    memset(&b, 0, sizeof(buf_t));
    buf_add(&b, "", 0);

    g = malloc(sizeof(ngx_http_consent_gate_t));
    assert_non_null(g);

    /* flags & 2: the banner, after <body>; flags & 8: a link, at </body> */
    ngx_http_consent_gate_init(g, gate_rules, granted, flags & 1,
                               (flags & 8) ? NGX_HTTP_CONSENT_GATE_BANNER_END
                               : (flags & 2) ? NGX_HTTP_CONSENT_GATE_BANNER_BODY
                               : 0,
                               cap, out, gate_alloc, &b);

    /* flags & 4: consent_placeholder */
    g->placeholder = (flags & 4) ? 1 : 0;
    b.gate = g;

    from = 0;
    i = 0;

    for ( ;; ) {
        if (chunk) {
            to = (from + chunk < len) ? from + chunk : len;
        } else {
            to = (i < ncuts) ? cuts[i++] : len;
        }

        /* a copy of exactly the piece, so that ASan sees any overread */
        piece = malloc(to - from + 1);
        memcpy(piece, in + from, to - from);
        assert_int_equal(ngx_http_consent_gate(g, piece, to - from,
                                                    to == len), 0);
        free(piece);

        from = to;

        if (to == len) {
            break;
        }
    }

    gate_free(&b);
    free(g);

    return b;
}


static buf_t
gate(const char *in, uint64_t granted, unsigned flags)
{
    return gate_cuts((const unsigned char *) in, strlen(in), NULL, 0, 0,
                     granted, flags, 65536);
}


static void
expect(const char *in, uint64_t granted, unsigned flags, const char *want)
{
    buf_t  b;

    b = gate(in, granted, flags);
    buf_add(&b, "", 1);

    if (strcmp((char *) b.data, want) != 0) {
        print_error("input: %s\n  got: %s\n want: %s\n", in, b.data, want);
        fail();
    }

    free(b.data);
}


static unsigned char *
read_file(const char *path, size_t *len)
{
    long            n;
    FILE           *f;
    unsigned char  *p;

    f = fopen(path, "rb");
    if (f == NULL) {
        print_error("cannot open %s (run from the repository's root)\n",
                    path);
        fail();
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    p = malloc(n + 1);
    assert_int_equal(fread(p, 1, n, f), (size_t) n);
    p[n] = '\0';
    fclose(f);

    *len = (size_t) n;

    return p;
}


/* hand-written cases */

static void
test_pass_through(void **state)
{
    (void) state;

    expect("", 0, 0, "");
    expect("<p>plain <b>text</b></p>", 0, 0, "<p>plain <b>text</b></p>");
    expect("<script src=/a.js></script>", 0, 0,
           "<script src=/a.js></script>");
    expect("a < b <3 <!doctype html> <? pi ?> </ > x", 0, 0,
           "a < b <3 <!doctype html> <? pi ?> </ > x");
    expect("<img src=\"//example.org/x.png\">", 0, 0,
           "<img src=\"//example.org/x.png\">");
    expect("<script>var a = 1;</script>", 0, 0,
           "<script>var a = 1;</script>");
    expect("<script type=application/json>{\"u\":"
           "\"https://www.google-analytics.com/\"}</script>", 0, 0,
           "<script type=application/json>{\"u\":"
           "\"https://www.google-analytics.com/\"}</script>");
}


static void
test_hosts(void **state)
{
    (void) state;

    expect("a<script async src=\"https://www.googletagmanager.com/gtag/js\">"
           "</script>b", NECESSARY, 0, "ab");
    expect("a<script async src=\"https://www.googletagmanager.com/gtag/js\">"
           "</script>b", ALL, 0,
           "a<script async src=\"https://www.googletagmanager.com/gtag/js\">"
           "</script>b");
    /* scheme-relative, port, case, userinfo */
    expect("<script src=//WWW.Google-Analytics.com:443/a.js></script>",
           NECESSARY, 0, "");
    expect("<script src='https://u:p@static.hotjar.com/c.js'></script>x",
           NECESSARY, 0, "x");
    /* "*.facebook.com" is not "facebook.com" nor "notfacebook.com" */
    expect("<img src=https://facebook.com/p.gif>", NECESSARY, 0,
           "<img src=https://facebook.com/p.gif>");
    expect("<img src=https://evilfacebook.com/p.gif>", NECESSARY, 0,
           "<img src=https://evilfacebook.com/p.gif>");
    expect("<img src=https://www.facebook.com/tr?id=1>", NECESSARY, 0, "");
    expect("<img src=https://www.facebook.com/tr?id=1>", MARKETING, 0,
           "<img src=https://www.facebook.com/tr?id=1>");
    /* relative URLs are the site's own */
    expect("<script src=\"www.google-analytics.com/a.js\"></script>",
           NECESSARY, 0,
           "<script src=\"www.google-analytics.com/a.js\"></script>");
    /* iframe content goes with it */
    expect("<noscript><iframe src=\"https://www.googletagmanager.com/ns\">"
           "<p>x</p></iframe></noscript>", NECESSARY, 0,
           "<noscript></noscript>");
    /* link: every rel that fetches (issue 9); canonical names a page */
    expect("<link rel=preload as=script href=https://www.clarity.ms/t.js>"
           "<link rel=preconnect href=https://static.hotjar.com>"
           "<link rel=stylesheet href=https://static.hotjar.com/a.css>"
           "<link rel=canonical href=https://static.hotjar.com/a>",
           NECESSARY, 0,
           "<link rel=canonical href=https://static.hotjar.com/a>");
}


static void
test_inline(void **state)
{
    (void) state;

    expect("1<script>f('https://connect.facebook.net/en_US/fbevents.js')"
           "</script>2", ANALYTICS, 0, "12");
    expect("1<script>f('https://connect.facebook.net/en_US/fbevents.js')"
           "</script>2", MARKETING, 0,
           "1<script>f('https://connect.facebook.net/en_US/fbevents.js')"
           "</script>2");
    /* a host name inside a longer name does not count */
    expect("<script>u='https://xconnect.facebook.net.example/'</script>",
           NECESSARY, 0,
           "<script>u='https://xconnect.facebook.net.example/'</script>");
    /* any case; at the very start and end of the text; wildcards */
    expect("<script>WWW.Clarity.MS</script>x", NECESSARY, 0, "x");
    expect("<script>www.clarity.ms</script>x", ANALYTICS, 0,
           "<script>www.clarity.ms</script>x");
    expect("<script>u='//x.GoogleTagManager.com/gtm.js'</script>x",
           NECESSARY, 0, "x");
    expect("<script>u='googletagmanager.com'</script>x", NECESSARY, 0,
           "<script>u='googletagmanager.com'</script>x");
    expect("<script>u='.googletagmanager.com'</script>x", NECESSARY, 0,
           "<script>u='.googletagmanager.com'</script>x");
    expect("<script>u='www.googletagmanager.community'</script>x",
           NECESSARY, 0,
           "<script>u='www.googletagmanager.community'</script>x");
    expect("<script>u='www.clarity.msx'+'ww.clarity.ms'</script>x",
           NECESSARY, 0,
           "<script>u='www.clarity.msx'+'ww.clarity.ms'</script>x");

    /* script data escapes: the element ends where the standard says */
    expect("<script><!--<script>'</script>www.clarity.ms</script>z",
           NECESSARY, 0, "z");
    expect("<script><!--<script>'</script>'</script>www.clarity.ms",
           NECESSARY, 0,
           "<script><!--<script>'</script>'</script>www.clarity.ms");
    expect("<script>a='<!--'; b='www.clarity.ms'</script>z", NECESSARY, 0,
           "z");
    expect("<script>a='</scripty>www.clarity.ms'</script >z", NECESSARY, 0,
           "z");
}


static void
test_attributes(void **state)
{
    (void) state;

    expect("<script data-consent=analytics src=/a.js></script>", NECESSARY,
           0, "");
    expect("<script data-consent=analytics src=/a.js></script>",
           ANALYTICS, 0, "<script data-consent=analytics src=/a.js></script>");
    /* several names: all needed */
    expect("<img data-consent=\"analytics, marketing\" src=/p.gif>",
           ANALYTICS, 0, "");
    expect("<img data-consent=\"analytics marketing\" src=/p.gif>x",
           ANALYTICS | MARKETING, 0,
           "<img data-consent=\"analytics marketing\" src=/p.gif>x");
    /* undeclared category: never granted */
    expect("<img data-consent=other src=/p.gif>", ALL, 0, "");
    /* cookieconsent: text/plain made live, type from data-type */
    expect("<script type=\"text/plain\" data-category=\"analytics\" "
           "src=/s.js></script>", ANALYTICS, 0,
           "<script  data-category=\"analytics\" src=/s.js></script>");
    expect("<script TYPE='text/plain' data-type='module' "
           "data-category=analytics>x()</script>", ANALYTICS, 0,
           "<script type=\"module\" data-type='module' "
           "data-category=analytics>x()</script>");
    expect("<script type=text/plain data-category=analytics>x()</script>y",
           0, 0, "y");
    /* the negation: live only while refused */
    expect("<script type=text/plain data-category=!analytics>d()</script>",
           0, 0, "<script  data-category=!analytics>d()</script>");
    expect("<script type=text/plain data-category=!analytics>d()</script>",
           ANALYTICS, 0, "");
    /* data-category without text/plain is someone else's attribute */
    expect("<img data-category=analytics src=/p.gif>", 0, 0,
           "<img data-category=analytics src=/p.gif>");
    /* Cookiebot */
    expect("<script type=\"text/plain\" data-cookieconsent=\"marketing\">"
           "m()</script>", MARKETING, 0,
           "<script  data-cookieconsent=\"marketing\">m()</script>");
    expect("<script type=\"text/plain\" data-cookieconsent=\"marketing\">"
           "m()</script>!", ANALYTICS, 0, "!");
    expect("<script data-cookieconsent=ignore src=/x.js></script>", 0, 0,
           "<script data-cookieconsent=ignore src=/x.js></script>");
    /* the first of duplicate attributes counts */
    expect("<img data-consent=analytics data-consent=necessary src=/p>", 0,
           0, "");
    /* quoted '>' does not end a tag */
    expect("<img alt='a>b' data-consent=analytics src=/p>c", 0, 0, "c");
    /* a '"' from data-type is escaped */
    expect("<script type=text/plain data-type='a\"b' data-consent=analytics>"
           "</script>", ANALYTICS, 0,
           "<script type=\"a&quot;b\" data-type='a\"b' "
           "data-consent=analytics></script>");
}


static void
test_insertions(void **state)
{
    (void) state;

    expect("<html><head><title>t</title></head><body>x</body></html>", 0, 3,
           "<html><head><!--HEAD--><title>t</title></head><body>"
           "<!--BANNER-->x</body></html>");
    /* right after the real <body> tag, its attributes gated first */
    expect("<body class=a background=//www.google-analytics.com/b.gif>x", 0, 2,
           "<body class=a ><!--BANNER-->x");
    /* only the real <body>: not in comments, scripts, attributes, rcdata */
    expect("<!-- <body> --><script>'<body>'</script>"
           "<a title='<body>'></a><textarea><body></textarea>"
           "<title><body></title><BODY foo='>'>x<body>", 0, 2,
           "<!-- <body> --><script>'<body>'</script>"
           "<a title='<body>'></a><textarea><body></textarea>"
           "<title><body></title><BODY foo='>'><!--BANNER-->x<body>");
    /* no <body> tag: before the real </body> */
    expect("<p><!-- </body> --><script>'</body>'</script>"
           "<a title='</body>'></a><textarea></body></textarea>"
           "<style>/*</body>*/</style><title></body></title>"
           "</BODY foo='>'>", 0, 2,
           "<p><!-- </body> --><script>'</body>'</script>"
           "<a title='</body>'></a><textarea></body></textarea>"
           "<style>/*</body>*/</style><title></body></title>"
           "<!--BANNER--></BODY foo='>'>");
    /* neither: at the end; only once */
    expect("<p>x", 0, 2, "<p>x<!--BANNER-->");
    expect("</body></body>", 0, 2, "<!--BANNER--></body></body>");
    expect("<body><body>", 0, 2, "<body><!--BANNER--><body>");
    /* a link (privacy choices, do not sell): before </body>, as a footer's */
    expect("<body><p>x</p></body>", 0, 8, "<body><p>x</p><!--BANNER--></body>");
    expect("<body><p>x</p>", 0, 8, "<body><p>x</p><!--BANNER-->");
    /* <head> in a comment is not the head; <header> neither */
    expect("<!--<head>--><header></header><head lang=x>", 0, 1,
           "<!--<head>--><header></header><head lang=x><!--HEAD-->");
    /* no <head> tag: the snippet goes before the first script */
    expect("<title>t</title><script src=/a.js></script><head>", 0, 1,
           "<title>t</title><!--HEAD--><script src=/a.js></script><head>");
    expect("<p><script data-consent=analytics>x</script><script>y</script>",
           0, 1, "<p><!--HEAD--><script>y</script>");

    /* the banner is not put into a removed element */
    expect("<script data-consent=analytics></body></script></body>", 0, 2,
           "<!--BANNER--></body>");
    expect("<script data-consent=analytics><body></script><body>", 0, 2,
           "<body><!--BANNER-->");
}


static void
test_overflow(void **state)
{
    buf_t        b;
    size_t       chunk;
    const char  *in;

    (void) state;

    /* an inline script longer than the buffer: removed while refused */
    in = "<p><script>var a = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';"
         "</script></p>";

    b = gate_cuts((const unsigned char *) in, strlen(in), NULL, 0, 0,
                  NECESSARY, 0, 64);
    buf_add(&b, "", 1);
    assert_string_equal(b.data, "<p></p>");
    free(b.data);

    b = gate_cuts((const unsigned char *) in, strlen(in), NULL, 0, 7,
                  NECESSARY, 0, 64);
    buf_add(&b, "", 1);
    assert_string_equal(b.data, "<p></p>");
    free(b.data);

    /* every category granted: nothing to remove */
    b = gate_cuts((const unsigned char *) in, strlen(in), NULL, 0, 5,
                  ALL, 0, 64);
    buf_add(&b, "", 1);
    assert_string_equal(b.data, in);
    free(b.data);

    /*
     * a <body> longer than the buffer: the banner before </body>, whole or
     * cut (cut, the tag overflows before the scanner sees its end)
     */
    in = "<body class=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"><p>x</p></body>";

    for (chunk = 0; chunk < 9; chunk++) {
        b = gate_cuts((const unsigned char *) in, strlen(in), NULL, 0, chunk,
                      NECESSARY, 2, 64);
        buf_add(&b, "", 1);
        assert_non_null(strstr((char *) b.data, "<p>x</p><!--BANNER--></body>"));
        assert_null(strstr((char *) b.data, "><!--BANNER--><p>"));
        free(b.data);
    }
}


/* every way a page fetches (issue 9): refused, then granted */

static void
kept(const char *in, uint64_t granted)
{
    expect(in, granted, 0, in);
}


static void
refused(const char *in, uint64_t granted, const char *want)
{
    expect(in, granted, 0, want);
    kept(in, ALL);
}


static void
test_constructs(void **state)
{
    (void) state;

    /* srcset: only the refused candidates go; all of them: the attribute */
    refused("<img src=/a.png srcset=\"/a.png 1x, "
            "https://www.facebook.com/b.png 2x,/c.png 3x\">",
            ANALYTICS, "<img src=/a.png srcset=\"/a.png 1x, /c.png 3x\">");
    refused("<img src=/a.png srcset='https://www.facebook.com/b.png 2x'>",
            NECESSARY, "<img src=/a.png >");
    refused("<picture><source srcset=\"//www.facebook.com/s.webp 1x, "
            "/s.webp 2x\" type=image/webp></picture>", NECESSARY,
            "<picture><source srcset=\"/s.webp 2x\" type=image/webp>"
            "</picture>");
    kept("<img srcset=\"/a.png 1x, https://www.facebook.com/b.png 2x\">",
         MARKETING);
    /* a comma in a URL is the URL's; descriptors with parentheses */
    refused("<img srcset=\"/a,b.png 1x,//www.clarity.ms/c.png (x, y) 2x, "
            "/d.png\">", NECESSARY,
            "<img srcset=\"/a,b.png 1x, /d.png\">");
    /* a comma written as a reference still separates */
    refused("<img srcset=\"/a.png 1x&comma;//www.clarity.ms/c.png 2x\">",
            NECESSARY, "<img srcset=\"/a.png 1x\">");

    /* the element goes: source src, track, embed, image, base, link */
    refused("<video><source src=https://analytics.tiktok.com/v.webm>"
            "<track src=//static.hotjar.com/t.vtt></video>", NECESSARY,
            "<video></video>");
    refused("a<embed src=https://www.clarity.ms/e.svg>b", NECESSARY, "ab");
    refused("<svg><image href=https://www.facebook.com/i.png /></svg>",
            NECESSARY, "<svg></svg>");
    refused("<svg><image xlink:href=https://www.facebook.com/i.png /></svg>",
            NECESSARY, "<svg></svg>");
    refused("<image src=//www.facebook.com/i.png>", NECESSARY, "");
    refused("<head><base href=\"https://www.google-analytics.com/\"></head>",
            NECESSARY, "<head></head>");
    refused("<link rel=icon href=//www.clarity.ms/f.ico>"
            "<link rel=manifest href=//www.clarity.ms/m.json>"
            "<link rel=\"prefetch\" href=//www.clarity.ms/p.js>"
            "<link rel=prerender href=//www.clarity.ms/p.html>"
            "<link rel=modulepreload href=//www.clarity.ms/m.js>"
            "<link rel=dns-prefetch href=//www.clarity.ms>"
            "<link rel=\"alternate stylesheet\" href=//www.clarity.ms/s.css>"
            "<link rel=alternate href=//www.clarity.ms/feed>", NECESSARY,
            "<link rel=alternate href=//www.clarity.ms/feed>");
    refused("<link rel=preload as=image href=/a.png "
            "imagesrcset=\"//www.clarity.ms/a.png 1x\">", NECESSARY, "");
    refused("<meta http-equiv=Refresh content=\"0; URL='https://www."
            "google-analytics.com/r'\">x", NECESSARY, "x");
    refused("<meta http-equiv=refresh content=\"5;url=//x.googletagmanager"
            ".com\">", NECESSARY, "");
    kept("<meta http-equiv=refresh content=\"5; url=/next\">", NECESSARY);

    /* only the attribute goes: video, audio, object, input, use, ping */
    refused("<video src=https://www.linkedin.com/v.mp4 "
            "poster=//snap.licdn.com/p.png controls></video>", ANALYTICS,
            "<video   controls></video>");
    refused("<audio controls src=https://connect.facebook.net/a.mp3>"
            "</audio>", NECESSARY, "<audio controls ></audio>");
    refused("<object data=//www.clarity.ms/o.svg type=image/svg+xml>"
            "fallback</object>", NECESSARY,
            "<object  type=image/svg+xml>fallback</object>");
    refused("<input type=image src=//www.clarity.ms/b.png alt=Go>",
            NECESSARY, "<input type=image  alt=Go>");
    kept("<input type=text src=//www.clarity.ms/b.png>", NECESSARY);
    refused("<svg><use href=\"//static.hotjar.com/s.svg#i\"/></svg>",
            NECESSARY, "<svg><use /></svg>");
    refused("<a href=/next ping=\"/own https://www.google-analytics.com/p\">"
            "n</a><area href=/a ping=//x.googletagmanager.com/p>",
            NECESSARY, "<a href=/next >n</a><area href=/a >");

    /* on any element: background, style */
    refused("<body background=https://www.facebook.com/bg.gif>", ANALYTICS,
            "<body >");
    refused("<td background=//www.facebook.com/bg.gif>x</td>", ANALYTICS,
            "<td >x</td>");
    refused("<div class=a style=\"background:url('//www.clarity.ms/d.png')\">"
            "</div>", NECESSARY, "<div class=a ></div>");
    refused("<p style='background: url(\\2F\\2Fwww.clarity.ms/e.png)'>",
            NECESSARY, "<p >");
    refused("<p style=\"background: url(&#x2F;&#x2F;www&period;clarity"
            "&period;ms/e.png)\">", NECESSARY, "<p >");
    refused("<p style=\"background-image: image-set('//www.clarity.ms/a.png'"
            " 1x)\">", NECESSARY, "<p >");
    refused("<p style=\"background:url(//www.google%2danalytics.com/x)\">",
            NECESSARY, "<p >");
    kept("<p style=\"color: red; background: url(/own.png)\">", NECESSARY);

    /* <style>: the refused @import and url() made harmless */
    refused("<style>@import \"https://static.hotjar.com/i.css\";</style>x",
            NECESSARY, "<style>@import \"about:invalid\";</style>x");
    refused("<style>.a{background:url(//www.clarity.ms/b.png)}"
            ".b{background:url( '/own.png' )}"
            "@font-face{src:url(\"//www.clarity.ms/f.woff\")}</style>x",
            NECESSARY,
            "<style>.a{background:url(about:invalid)}"
            ".b{background:url( '/own.png' )}"
            "@font-face{src:url(\"about:invalid\")}</style>x");
    refused("<style>.a{background:url(//www.clarity.ms/b.png)}</style>x",
            MARKETING,
            "<style>.a{background:url(about:invalid)}</style>x");
    /* a host named outside a URL: the whole element */
    refused("<style>/* www.clarity.ms */ .a{}</style>x", NECESSARY, "x");
    refused("<style>.a{background:u\\72l(//www.cl\\61rity.ms/b.png)}</style>",
            NECESSARY, "");
    kept("<style>.a{background:url(/b.png)}</style>x", NECESSARY);

    /* iframe srcdoc: a page of its own */
    refused("<iframe srcdoc=\"&lt;img src=&quot;//www.facebook.com/p.png"
            "&quot;&gt;\"></iframe>x", ANALYTICS, "x");
    refused("<iframe srcdoc=\"&lt;iframe srcdoc=&quot;&amp;lt;script src="
            "//www.clarity.ms/t.js&amp;gt;&amp;lt;/script&amp;gt;&quot;&gt;"
            "&lt;/iframe&gt;\"></iframe>x", NECESSARY, "x");
    kept("<iframe srcdoc=\"&lt;p&gt;www.clarity.ms is a name&lt;/p&gt;\">"
         "</iframe>", NECESSARY);
}


/*
 * SVG and MathML: no raw text there, CDATA sections, HTML tags breaking
 * out, integration points holding HTML: the gate sees every tag the
 * browser builds an element of
 */

static void
test_foreign(void **state)
{
    (void) state;

    refused("<svg><style><img src=\"//www&period;clarity&period;ms/x\">"
            "</style></svg>", NECESSARY, "<svg></style></svg>");
    refused("<svg><title><img src=//www.clarity.ms/x></title></svg>",
            NECESSARY, "<svg><title></title></svg>");
    refused("<svg><![CDATA[ a > b <!-- ]]><img src=//www.clarity.ms/x></svg>",
            NECESSARY, "<svg><![CDATA[ a > b <!-- ]]></svg>");
    refused("<![CDATA[ x ]]><img src=//www.clarity.ms/x>", NECESSARY,
            "<![CDATA[ x ]]>");
    refused("<div><svg></div><style>/*<!--*/</style>"
            "<img src=//www.clarity.ms/x>", NECESSARY,
            "<div><svg></div><style>/*<!--*/</style>");
    refused("<svg><font color=red><style>/*<!--*/</style>"
            "<img src=//www.clarity.ms/x>", NECESSARY,
            "<svg><font color=red><style>/*<!--*/</style>");
    refused("<svg><font><style><img src=//www.clarity.ms/x></style>",
            NECESSARY, "<svg><font></style>");
    refused("<math><annotation-xml encoding=\"text/html\"><style>/*<!--*/"
            "</style><img src=//www.clarity.ms/x>", NECESSARY,
            "<math><annotation-xml encoding=\"text/html\"><style>/*<!--*/"
            "</style>");
    refused("<math><annotation-xml><style><img src=//www.clarity.ms/x>"
            "</style>", NECESSARY, "<math><annotation-xml></style>");
    refused("<math><mi><style>/*<!--*/</style><img src=//www.clarity.ms/x>",
            NECESSARY, "<math><mi><style>/*<!--*/</style>");
    refused("<svg><script href=//www.clarity.ms/t.js></script></svg>",
            NECESSARY, "<svg></script></svg>");
    refused("<svg><filter><feImage href=//www.facebook.com/x.png /></filter>"
            "</svg>", ANALYTICS, "<svg><filter></filter></svg>");
    refused("<svg><g><svg></svg></g><style><img src=//www.clarity.ms/x>",
            NECESSARY, "<svg><g><svg></svg></g>");
    kept("<svg><path d=\"M0 0\"/></svg><style>.a{}</style>", NECESSARY);
    kept("<svg><foreignObject><style>/*<svg>*/</style></foreignObject>"
         "</svg><p>x</p>", NECESSARY);
}


/* a host written with references, case, spaces or escapes is that host */

static void
test_disguised(void **state)
{
    (void) state;

    refused("<img src=\"https:&sol;&sol;www.google-analytics&period;com/\">",
            NECESSARY, "");
    refused("<img src=\"&#x68;ttps&#58;&#x2F;&#47;www.google-analytics.com/"
            "\">", NECESSARY, "");
    /* without the semicolon, as HTML reads numeric references */
    refused("<img src=\"//www&#46google-analytics&#x2e;com/\">", NECESSARY,
            "");
    refused("<img src=//WWW.Google-Analytics.COM/a.gif>", NECESSARY, "");
    refused("<img src=\" \t//www.google-anal\tytics.com/ \">", NECESSARY, "");
    refused("<img src=\"//www.google-anal&#9;ytics.com/\">", NECESSARY, "");
    refused("<img src=\"https:/\\/www.google-analytics.com/\">", NECESSARY,
            "");
    refused("<img src=\"https:www.google-analytics.com/a\">", NECESSARY, "");
    refused("<img src=\"////www.google-analytics.com/a\">", NECESSARY, "");
    refused("<img src=\"//www.google%2Danalytics.com/\">", NECESSARY, "");
    refused("<img src=\"//www.google-analytics.com./\">", NECESSARY, "");
    refused("<script src=\"//u@www.clarity.ms:8080/t.js\"></script>",
            NECESSARY, "");
    refused("<script type=\"text&sol;javascript\">www.clarity.ms</script>",
            NECESSARY, "");
    /* a host that cannot be read for sure: closed while anything gated is
       refused (soft hyphen, fullwidth letters, an unknown reference) */
    refused("<img src=\"//www.google-anal&shy;ytics.com/\">", ANALYTICS, "");
    refused("<img src=\"//www.google-analytics.\xef\xbd\x83om/\">", ANALYTICS,
            "");
    refused("<img src=\"//www.google-&ascr;nalytics.com/\">", ANALYTICS,
            "");
    kept("<img src=\"//www.google-anal&shy;ytics.com/\">",
         ANALYTICS | MARKETING);
    /* a name without ";" before "=" or a letter is not decoded in values */
    kept("<img src=\"/a?x=1&ampb=2\" alt=\"&amp=\">", NECESSARY);
    /* relative, other schemes: the site's own */
    kept("<img src=\"www.google-analytics.com/a.gif\">", NECESSARY);
    kept("<img src=\"data:image/gif;base64,R0lGOD\">", NECESSARY);
}


static void
test_decode(void **state)
{
    size_t         n;
    unsigned char  v[64];

    (void) state;

#define DECODES(in, want)                                                     \
    memcpy(v, in, sizeof(in) - 1);                                            \
    n = ngx_http_consent_html_decode(v, sizeof(in) - 1);                      \
    assert_int_equal(n, sizeof(want) - 1);                                    \
    assert_memory_equal(v, want, n)

    DECODES("a&amp;b", "a&b");
    DECODES("&lt&gt&quot;", "<>\"");
    DECODES("&#x2F;&#47;&sol;&period;&colon;", "///.:");
    DECODES("&#X41&#66;c", "ABc");
    DECODES("&#0;", "\xef\xbf\xbd");
    DECODES("&#x80;", "\xe2\x82\xac");
    DECODES("&#xd800;&#x110000;", "\xef\xbf\xbd\xef\xbf\xbd");
    DECODES("&#;&#x;&;&unknown;", "&#;&#x;&;&unknown;");
    DECODES("&ampx &amp=", "&ampx &amp=");
    DECODES("&fjlig;&NewLine;&Tab;", "fj\n\t");
#undef DECODES
}


/* consent_placeholder: a placeholder where an iframe goes, an anchor
   where it stays, numbered alike */

static void
test_placeholder(void **state)
{
    const char  *in;

    (void) state;

    in = "<iframe src=https://www.facebook.com/v></iframe>"
         "<iframe src=/own></iframe>"
         "<iframe data-consent=analytics src=/a></iframe>"
         "<iframe src=//static.hotjar.com/h></iframe>";

    expect(in, NECESSARY, 4,
           "<!--P 1 2 www.facebook.com--><iframe src=/own></iframe>"
           "<!--P 2 1--><!--P 3 1 static.hotjar.com-->");
    expect(in, ANALYTICS, 4,
           "<!--P 1 2 www.facebook.com--><iframe src=/own></iframe>"
           "<!--A 2 1-->"
           "<iframe data-consent=analytics src=/a></iframe><!--A 3 1-->"
           "<iframe src=//static.hotjar.com/h></iframe>");
    /* off: only the removal */
    expect(in, NECESSARY, 0, "<iframe src=/own></iframe>");
    /* a removed script is no embed */
    expect("<script src=//www.clarity.ms/t.js></script>", NECESSARY, 4, "");
}


/* occurrences of s in b */

static size_t
occurs(buf_t *b, const char *s)
{
    size_t  i, n, len;

    len = strlen(s);
    n = 0;

    for (i = 0; i + len <= b->len; i++) {
        if (memcmp(b->data + i, s, len) == 0) {
            n++;
        }
    }

    return n;
}


/*
 * tests/fixtures/placeholder.html: each embed of every kind, refused then
 * granted, in one pass or by the byte
 */

static void
test_placeholder_fixture(void **state)
{
    size_t          len, chunk;
    buf_t           b;
    unsigned char  *in;

    (void) state;

    in = read_file(FIXTURES "/placeholder.html", &len);

    for (chunk = 0; chunk < 2; chunk++) {
        b = gate_cuts(in, len, NULL, 0, chunk, NECESSARY, 4, 65536);

        /* iframe, embed, object, video, the nested video */
        assert_int_equal(occurs(&b, "<!--P "), 5);
        /* the video and the audio without a source left */
        assert_int_equal(occurs(&b, "<!--F "), 2);
        assert_int_equal(occurs(&b, " hidden>"), 3);
        assert_int_equal(occurs(&b, "<!--F 5 2 www.facebook.com-->"), 1);
        assert_int_equal(occurs(&b, "<!--A 5 0--><video controls width"), 1);
        assert_int_equal(occurs(&b, "facebook.com/"), 0);
        assert_int_equal(occurs(&b, "hotjar"), 0);
        assert_int_equal(occurs(&b, "<p>After everything.</p>"), 1);
        free(b.data);

        b = gate_cuts(in, len, NULL, 0, chunk, ALL, 4, 65536);
        assert_int_equal(occurs(&b, "<!--P "), 0);
        assert_int_equal(occurs(&b, "<!--F "), 0);
        assert_int_equal(occurs(&b, " hidden>"), 0);
        assert_int_equal(occurs(&b, "<!--A 5 0--><video controls width"), 1);
        /* all but the iframe and the object of our own, nested included */
        assert_int_equal(occurs(&b, "<!--A "), 11);
        assert_int_equal(occurs(&b, "facebook.com/"), 11);
        free(b.data);
    }

    free(in);
}


/* consent_placeholder for embed, object, video and audio */

static void
test_placeholder_media(void **state)
{
    const char  *in;

    (void) state;

    /* an embed goes as an iframe does */
    expect("<embed src=https://www.facebook.com/e>", NECESSARY, 4,
           "<!--P 1 2 www.facebook.com-->");
    expect("<embed src=https://www.facebook.com/e>", MARKETING, 4,
           "<!--A 1 2--><embed src=https://www.facebook.com/e>");

    /* a video or object emptied stays, hidden, behind its placeholder */
    in = "<video src=https://www.facebook.com/v.mp4 controls>old</video>";
    expect(in, NECESSARY, 4,
           "<!--P 1 2 www.facebook.com--><video  controls hidden>old</video>");
    expect(in, MARKETING, 4, "<!--A 1 2-->" "<video src=https://www.facebook"
                             ".com/v.mp4 controls>old</video>");
    expect(in, NECESSARY, 0, "<video  controls>old</video>");

    expect("<object data=\"https://www.facebook.com/o\">fb</object>",
           NECESSARY, 4, "<!--P 1 2 www.facebook.com--><object  hidden>fb"
                         "</object>");
    /* an object with nothing gated has no number */
    expect("<object data=/o.pdf></object><embed src=//www.facebook.com/e>",
           NECESSARY, 4, "<object data=/o.pdf></object>"
                         "<!--P 1 2 www.facebook.com-->");

    /* a poster alone: the video still plays */
    expect("<video src=/v.mp4 poster=//www.facebook.com/p.jpg></video>",
           NECESSARY, 4, "<!--A 1 2--><video src=/v.mp4 ></video>");

    /* every source refused: the placeholder after the player */
    in = "<video controls><source src=https://www.facebook.com/a.mp4>"
         "<source src=//static.hotjar.com/b.webm></video><p>";
    expect(in, NECESSARY, 4,
           "<!--A 1 0--><video controls></video>"
           "<!--F 1 2 www.facebook.com--><p>");
    expect(in, MARKETING, 4,
           "<!--A 1 0--><video controls>"
           "<source src=https://www.facebook.com/a.mp4></video><p>");
    expect(in, MARKETING | ANALYTICS, 4, "<!--A 1 0-->" "<video controls>"
           "<source src=https://www.facebook.com/a.mp4>"
           "<source src=//static.hotjar.com/b.webm></video><p>");

    /* one it may play: no placeholder */
    expect("<audio><source src=//www.facebook.com/a.mp3>"
           "<source src=/a.ogg></audio>", NECESSARY, 4,
           "<!--A 1 0--><audio><source src=/a.ogg></audio>");

    /* numbered alike, whatever is granted */
    in = "<iframe src=https://www.facebook.com/v></iframe><video></video>"
         "<iframe src=//static.hotjar.com/h></iframe>";
    expect(in, NECESSARY, 4,
           "<!--P 1 2 www.facebook.com--><!--A 2 0--><video></video>"
           "<!--P 3 1 static.hotjar.com-->");
    expect(in, MARKETING | ANALYTICS, 4,
           "<!--A 1 2--><iframe src=https://www.facebook.com/v></iframe>"
           "<!--A 2 0--><video></video>"
           "<!--A 3 1--><iframe src=//static.hotjar.com/h></iframe>");

    /* a video in SVG is none */
    expect("<svg><video src=//www.facebook.com/v></video></svg>", NECESSARY,
           4, "<svg><video ></video></svg>");
}


/* the hold is asked for only when an element spans two buffers */

static void
test_lazy_hold(void **state)
{
    buf_t        b;
    size_t       cut;
    const char  *in;

    (void) state;

    in = "<p>a page <img src=/a.png> with <script>var a;</script></p>";

    b = gate_cuts((const unsigned char *) in, strlen(in), NULL, 0, 0,
                  NECESSARY, 0, 4096);
    assert_int_equal(b.asked, 0);
    free(b.data);

    /* cut between elements: nothing held either */
    cut = 3;
    b = gate_cuts((const unsigned char *) in, strlen(in), &cut, 1, 0,
                  NECESSARY, 0, 4096);
    assert_int_equal(b.asked, 0);
    free(b.data);

    /* cut inside the inline script: the hold, once */
    cut = strlen("<p>a page <img src=/a.png> with <script>var");
    b = gate_cuts((const unsigned char *) in, strlen(in), &cut, 1, 0,
                  NECESSARY, 0, 4096);
    assert_int_equal(b.asked, 4096);
    free(b.data);

    /* in 1-byte pieces, still once */
    b = gate_cuts((const unsigned char *) in, strlen(in), NULL, 0, 1,
                  NECESSARY, 0, 4096);
    assert_int_equal(b.asked, 4096);
    free(b.data);
}


/* the vendors' snippets */

static void
check_no_tracker(const char *name, buf_t *b)
{
    size_t  i, n;

    for (i = 0; tracker_names[i]; i++) {
        n = strlen(tracker_names[i]);

        if (b->len >= n
            && memmem(b->data, b->len, tracker_names[i], n) != NULL)
        {
            print_error("%s: \"%s\" left while refused\n", name,
                        tracker_names[i]);
            fail();
        }
    }
}


/* the banner right after the first <body ...> tag, and only there */

static const unsigned char *
body_banner(buf_t *b)
{
    const unsigned char  *p, *q;

    p = memmem(b->data, b->len, "<body", 5);
    if (p == NULL) {
        return NULL;
    }

    q = memchr(p, '>', b->len - (p - b->data));
    if (q == NULL || (size_t) (b->data + b->len - q) < 14
        || memcmp(q + 1, "<!--BANNER-->", 13) != 0
        || memmem(q + 14, b->len - (q + 14 - b->data), "<!--BANNER-->", 13)
           != NULL)
    {
        return NULL;
    }

    return q + 1;
}


static void
test_vendors(void **state)
{
    char            path[256];
    size_t          i, len;
    buf_t           b;
    unsigned char  *in;
    const char     *tail;

    (void) state;

    tail = "</body>\n</html>\n";

    for (i = 0; fixtures[i]; i++) {
        snprintf(path, sizeof(path), FIXTURES "/%s.html", fixtures[i]);
        in = read_file(path, &len);

        /* refused: no tracker left, the banner after the real <body> */
        b = gate_cuts(in, len, NULL, 0, 0, NECESSARY, 2, 65536);

        if (strcmp(fixtures[i], "vendors/clean") != 0) {
            check_no_tracker(fixtures[i], &b);
            assert_true(b.len < len);
        }

        assert_true(b.len > strlen(tail));
        assert_memory_equal(b.data + b.len - strlen(tail), tail,
                            strlen(tail));
        assert_non_null(body_banner(&b));
        free(b.data);

        /* granted: byte for byte (no text/plain markup there) */
        if (memmem(in, len, "text/plain", 10) == NULL) {
            b = gate_cuts(in, len, NULL, 0, 0, ALL, 0, 65536);
            assert_int_equal(b.len, len);
            assert_memory_equal(b.data, in, len);
            free(b.data);
        }

        free(in);
    }

    /* the clean page passes byte-identical whatever the reader chose */
    in = read_file(FIXTURES "/vendors/clean.html", &len);
    b = gate_cuts(in, len, NULL, 0, 0, 0, 0, 65536);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, in, len);
    free(b.data);
    free(in);
}


/*
 * conf/trackers.conf's hosts, over 300, by their index and one by one:
 * the same bytes for every fixture, grant and insertion, and no tracker
 * left for a reader who refused
 */

static void
test_catalogue_index(void **state)
{
    char                            path[256], *p, *end, *word;
    size_t                          i, k, n, len;
    buf_t                           a, b, mem;
    unsigned                        category;
    unsigned char                  *conf, *in;
    ngx_http_consent_gate_host_t   *many;
    ngx_http_consent_gate_rules_t   list, index;

    static const uint64_t  grants[] = {
        NECESSARY, NECESSARY | ANALYTICS, NECESSARY | MARKETING, ALL
    };
    static const unsigned  flags[] = { 0, 2, 4, 8 };

    (void) state;

    conf = read_file("conf/trackers.conf", &len);
    many = malloc(1024 * sizeof(ngx_http_consent_gate_host_t));
    assert_non_null(many);
    n = 0;

    /* "consent_gate_host CATEGORY HOST...;", over lines: replay and abtest
       are analytics, as docs/operators.md aliases them, the rest marketing */

    for (p = (char *) conf; (p = strstr(p, "\nconsent_gate_host ")); p = end) {
        p += sizeof("\nconsent_gate_host ") - 1;
        end = strchr(p, ';');
        assert_non_null(end);
        *end++ = '\0';

        word = strtok(p, " \t\n");
        assert_non_null(word);
        category = (strcmp(word, "analytics") == 0
                    || strcmp(word, "replay") == 0
                    || strcmp(word, "abtest") == 0) ? 1 : 2;

        while ((word = strtok(NULL, " \t\n")) != NULL) {
            assert_true(n < 1024);
            many[n].data = (const unsigned char *) word;
            many[n].len = strlen(word);
            many[n].category = category;
            n++;
        }
    }

    assert_true(n > 300);

    memset(&mem, 0, sizeof(buf_t));

    list = rules;
    list.hosts = many;
    list.nhosts = n;
    index = list;
    index.index = ngx_http_consent_hosts_index(many, n, gate_alloc, &mem);
    assert_non_null(index.index);

    for (i = 0; fixtures[i]; i++) {
        snprintf(path, sizeof(path), FIXTURES "/%s.html", fixtures[i]);
        in = read_file(path, &len);

        for (k = 0; k < sizeof(grants) / sizeof(grants[0]) * 4; k++) {
            gate_rules = &list;
            a = gate_cuts(in, len, NULL, 0, 0, grants[k / 4], flags[k % 4],
                          65536);
            gate_rules = &index;
            b = gate_cuts(in, len, NULL, 0, 0, grants[k / 4], flags[k % 4],
                          65536);
            gate_rules = &rules;

            if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
                print_error("%s, grants %llx, flags %u: the index differs "
                            "from the list\n", fixtures[i],
                            (unsigned long long) grants[k / 4], flags[k % 4]);
                fail();
            }

            /* the vendors' own snippets (the constructs fixture names made
               up hosts); a placeholder names the host it stands for */
            if (k / 4 == 0 && flags[k % 4] != 4
                && strncmp(fixtures[i], "vendors/", 8) == 0
                && strcmp(fixtures[i], "vendors/clean") != 0)
            {
                check_no_tracker(fixtures[i], &b);
            }

            free(a.data);
            free(b.data);
        }

        free(in);
    }

    gate_free(&mem);
    free(many);
    free(conf);
}

/* split invariance: every cut in two, and 1-byte buffers */

static void
test_split(void **state)
{
    char            path[256];
    size_t          i, k, len, cut, step;
    unsigned        flags;
    buf_t           whole, b;
    uint64_t        grants[] = { 0, NECESSARY | MARKETING, ALL };
    unsigned char  *in;

    (void) state;

    for (i = 0; fixtures[i]; i++) {
        snprintf(path, sizeof(path), FIXTURES "/%s.html", fixtures[i]);
        in = read_file(path, &len);

        step = (SLOW && len > 4096) ? 61 : 1;

        for (k = 0; k < 3; k++) {
            /* placeholders too, but for all granted */
            flags = (k < 2) ? 7 : 3;

            whole = gate_cuts(in, len, NULL, 0, 0, grants[k], flags, 65536);

            for (cut = 0; cut <= len; cut += step) {
                b = gate_cuts(in, len, &cut, 1, 0, grants[k], flags, 65536);

                if (b.len != whole.len
                    || memcmp(b.data, whole.data, b.len) != 0)
                {
                    print_error("%s: cut at %zu changes the output\n",
                                fixtures[i], cut);
                    fail();
                }

                free(b.data);
            }

            b = gate_cuts(in, len, NULL, 0, 1, grants[k], flags, 65536);
            assert_int_equal(b.len, whole.len);
            assert_memory_equal(b.data, whole.data, b.len);
            free(b.data);

            /* a small hold: overflow decisions must not depend on cuts */
            free(whole.data);
            whole = gate_cuts(in, len, NULL, 0, 0, grants[k], flags, 300);

            b = gate_cuts(in, len, NULL, 0, 1, grants[k], flags, 300);
            assert_int_equal(b.len, whole.len);
            assert_memory_equal(b.data, whole.data, b.len);
            free(b.data);

            b = gate_cuts(in, len, NULL, 0, 97, grants[k], flags, 300);
            assert_int_equal(b.len, whole.len);
            assert_memory_equal(b.data, whole.data, b.len);
            free(b.data);

            free(whole.data);
        }

        free(in);
    }
}


/* html5lib-tests: where raw text and script data end, tokens in data */

static json_t *
unescape(json_t *v, int double_escaped)
{
    /* "doubleEscaped" strings carry \uXXXX once more */
    size_t       i, n;
    const char  *s;
    buf_t        b;
    unsigned     c;
    json_t      *r;

    if (!double_escaped || !json_is_string(v)) {
        return json_incref(v);
    }

    s = json_string_value(v);
    n = json_string_length(v);
    memset(&b, 0, sizeof(buf_t));

    for (i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 5 < n + 0 && s[i + 1] == 'u'
            && sscanf(s + i + 2, "%4x", &c) == 1)
        {
            unsigned char  u[4];

            if (c < 0x80) {
                u[0] = c;
                buf_add(&b, u, 1);
            } else if (c < 0x800) {
                u[0] = 0xc0 | (c >> 6);
                u[1] = 0x80 | (c & 0x3f);
                buf_add(&b, u, 2);
            } else {
                u[0] = 0xe0 | (c >> 12);
                u[1] = 0x80 | ((c >> 6) & 0x3f);
                u[2] = 0x80 | (c & 0x3f);
                buf_add(&b, u, 3);
            }

            i += 5;
            continue;
        }

        buf_add(&b, s + i, 1);
    }

    r = json_stringn((char *) b.data ? (char *) b.data : "", b.len);
    free(b.data);

    return r;
}


static ngx_http_consent_html_element_e
element_of(const char *name)
{
    static const struct {
        const char                       *name;
        ngx_http_consent_html_element_e   e;
    } map[] = {
        { "script", NGX_HTTP_CONSENT_HTML_SCRIPT },
        { "xmp", NGX_HTTP_CONSENT_HTML_XMP },
        { "style", NGX_HTTP_CONSENT_HTML_STYLE },
        { "textarea", NGX_HTTP_CONSENT_HTML_TEXTAREA },
        { "title", NGX_HTTP_CONSENT_HTML_TITLE },
        { "iframe", NGX_HTTP_CONSENT_HTML_IFRAME },
        { "noembed", NGX_HTTP_CONSENT_HTML_NOEMBED },
        { "noframes", NGX_HTTP_CONSENT_HTML_NOFRAMES },
        { "plaintext", NGX_HTTP_CONSENT_HTML_PLAINTEXT }
    };

    size_t  i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(name, map[i].name) == 0) {
            return map[i].e;
        }
    }

    return NGX_HTTP_CONSENT_HTML_OTHER;
}


/*
 * The scanner's view of the input: a token string such as
 * "S:a[b=c]|T|C|E:script|" (start tag, text, comment, end tag), with the
 * text positions.  It is run on the given chunk size.
 */

static void
trace_run(const unsigned char *in, size_t len, size_t chunk,
    ngx_http_consent_html_element_e kind, ngx_http_consent_html_element_e raw,
    buf_t *tokens, buf_t *text, uint64_t *raw_end)
{
    char                          tmp[512];
    size_t                        i, from, to, n;
    uint64_t                      prev, start;
    const unsigned char          *p, *last;
    ngx_http_consent_html_t       s;
    ngx_http_consent_html_tag_t  *t;

    ngx_http_consent_html_init(&s);
    s.trace = 1;

    if (kind) {
        /* the state, and the last start tag (OTHER: none) */
        ngx_http_consent_html_set_raw(&s, kind);
        s.raw = raw;
    }

    *raw_end = (uint64_t) -1;
    prev = 0;

    for (from = 0; from < len || from == 0; from = to) {
        to = (chunk && from + chunk < len) ? from + chunk : len;
        p = in + from;
        last = in + to;

        while (p < last) {
            p = ngx_http_consent_html_scan(&s, p, last);

            if (s.event == NGX_HTTP_CONSENT_HTML_EV_NONE) {
                continue;
            }

            t = &s.tag;
            start = (s.event == NGX_HTTP_CONSENT_HTML_EV_COMMENT)
                    ? s.comment_start : t->start;

            if (start > prev) {
                buf_add(text, in + prev, start - prev);
            }

            prev = s.offset;

            if (s.event == NGX_HTTP_CONSENT_HTML_EV_COMMENT) {
                buf_add(tokens, "C|", 2);
                continue;
            }

            if (t->end_tag && *raw_end == (uint64_t) -1) {
                *raw_end = t->start;
            }

            n = snprintf(tmp, sizeof(tmp), "%s:%.*s%s",
                         t->end_tag ? "E" : "S", (int) t->name_len,
                         t->name, t->name_long ? "~" : "");
            buf_add(tokens, tmp, n);

            if (!t->end_tag) {
                buf_add(tokens, "[", 1);

                for (i = 0; i < t->nany; i++) {
                    n = snprintf(tmp, sizeof(tmp), "%s%.*s=%.*s",
                                 i ? " " : "", (int) t->any[i].name_len,
                                 t->any[i].name, (int) t->any[i].value_len,
                                 t->any[i].value);
                    buf_add(tokens, tmp, n);
                }

                buf_add(tokens, "]", 1);
            }

            buf_add(tokens, "|", 1);
        }

        if (to == len) {
            break;
        }
    }

    if (len > prev) {
        buf_add(text, in + prev, len - prev);
    }

    if (*raw_end == (uint64_t) -1 && ngx_http_consent_html_in_tag(&s)
        && s.tag.end_tag)
    {
        /* an end tag cut by the end of the input still ends raw text */
        *raw_end = s.tag.start;
    }

    /* the end of the input in a comment or doctype emits it */
    if (ngx_http_consent_html_eof_comment(&s)) {
        buf_add(tokens, "C|", 2);
    }
}


/* the expected token string, from html5lib's output */

static int
expected_tokens(json_t *output, int dbl, buf_t *tokens, buf_t *text,
    const char *input, size_t *raw_text_len)
{
    char         tmp[512];
    size_t       i, n, k, len;
    json_t      *tok, *v, *attrs, *name;
    const char  *type, *key, *s;
    int          seen_end;

    seen_end = 0;

    if (strpbrk(input, "&\r") != NULL) {
        return 0;   /* character references, newlines: not compared */
    }
    *raw_text_len = (size_t) -1;
    len = 0;

    json_array_foreach(output, i, tok) {
        type = json_string_value(json_array_get(tok, 0));

        if (strcmp(type, "Character") == 0) {
            v = unescape(json_array_get(tok, 1), dbl);
            s = json_string_value(v);


            buf_add(text, s, json_string_length(v));

            if (!seen_end) {
                len += json_string_length(v);
            }

            json_decref(v);
            continue;
        }

        if (strcmp(type, "Comment") == 0 || strcmp(type, "DOCTYPE") == 0) {
            buf_add(tokens, "C|", 2);
            continue;
        }

        name = unescape(json_array_get(tok, 1), dbl);
        s = json_string_value(name);

        for (k = 0; s[k]; k++) {
            if ((unsigned char) s[k] >= 0x80) {
                json_decref(name);
                return 0;   /* non-ASCII names: not compared */
            }
        }

        if (strlen(s) > NGX_HTTP_CONSENT_HTML_NAME_LEN) {
            json_decref(name);
            return 0;
        }

        if (strcmp(type, "EndTag") == 0) {
            if (!seen_end) {
                *raw_text_len = len;
                seen_end = 1;
            }

            n = snprintf(tmp, sizeof(tmp), "E:%s|", s);
            buf_add(tokens, tmp, n);
            json_decref(name);
            continue;
        }

        n = snprintf(tmp, sizeof(tmp), "S:%s[", s);
        buf_add(tokens, tmp, n);
        json_decref(name);

        attrs = json_array_get(tok, 2);
        k = 0;

        json_object_foreach(attrs, key, v) {
            (void) key;
            k++;
        }

        if (k > NGX_HTTP_CONSENT_HTML_ANY_ATTRS) {
            return 0;
        }

        /* jansson keeps the members in source order */
        k = 0;

        json_object_foreach(attrs, key, v) {
            if (strlen(key) >= NGX_HTTP_CONSENT_HTML_ANAME_LEN
                || json_string_length(v) > NGX_HTTP_CONSENT_HTML_ANY_VALUE
                || strchr(json_string_value(v), '&'))
            {
                return 0;
            }

            for (n = 0; key[n]; n++) {
                if ((unsigned char) key[n] >= 0x80) {
                    return 0;
                }
            }

            n = snprintf(tmp, sizeof(tmp), "%s%s=%s", k++ ? " " : "",
                         key, json_string_value(v));
            buf_add(tokens, tmp, n);
        }

        buf_add(tokens, "]|", 2);
    }

    return 1;
}


/* the raw text as the tokenizer gives it: CR LF, NUL and RCDATA refs */

static int
normalise(buf_t *b, int rcdata)
{
    size_t  i, j;
    buf_t   r;

    memset(&r, 0, sizeof(buf_t));

    for (i = 0; i < b->len; i++) {
        if (b->data[i] == '\r') {
            buf_add(&r, "\n", 1);
            if (i + 1 < b->len && b->data[i + 1] == '\n') {
                i++;
            }
            continue;
        }

        if (b->data[i] == '\0') {
            buf_add(&r, "\xef\xbf\xbd", 3);
            continue;
        }

        if (b->data[i] == '&' && rcdata) {
            free(r.data);
            return 0;
        }

        buf_add(&r, b->data + i, 1);
    }

    j = r.len;
    free(b->data);
    *b = r;
    b->len = j;

    return 1;
}


static void
test_html5lib(void **state)
{
    int                              dbl, ok, compared_raw, compared_data;
    char                             path[512];
    size_t                           f, i, s, len, raw_len;
    buf_t                            want, want_text, got, got_text;
    json_t                          *root, *test, *states, *input, *output;
    json_error_t                     err;
    uint64_t                         raw_end;
    const char                      *st, *last_tag, *corpus;
    ngx_http_consent_html_element_e  kind, raw;

    static const char  *files[] = {
        "test1.test", "test2.test", "test3.test", "test4.test",
        "escapeFlag.test", "contentModelFlags.test", "domjs.test", NULL
    };

    (void) state;

    compared_raw = 0;
    compared_data = 0;

    corpus = getenv("CONSENT_CORPUS");
    if (corpus == NULL || corpus[0] == '\0') {
        corpus = CORPUS;
    }

    for (f = 0; files[f]; f++) {
        snprintf(path, sizeof(path), "%s/" TOKENIZER "/%s", corpus, files[f]);

        root = json_load_file(path, JSON_ALLOW_NUL, &err);
        if (root == NULL) {
            print_error("cannot load %s: %s (html5lib-tests are expected in "
                        "../shared/corpus beside the clone or its parent, "
                        "or in $CONSENT_CORPUS)\n", path, err.text);
            fail();
        }

        json_array_foreach(json_object_get(root, "tests"), i, test) {

            dbl = json_is_true(json_object_get(test, "doubleEscaped"));
            input = unescape(json_object_get(test, "input"), dbl);
            output = json_object_get(test, "output");
            states = json_object_get(test, "initialStates");
            last_tag = json_string_value(json_object_get(test,
                                                         "lastStartTag"));

            for (s = 0; s < (states ? json_array_size(states) : 1); s++) {
                st = states ? json_string_value(json_array_get(states, s))
                            : "Data state";
                kind = NGX_HTTP_CONSENT_HTML_OTHER;
                raw = element_of(last_tag ? last_tag : "");

                if (strcmp(st, "Script data state") == 0) {
                    kind = NGX_HTTP_CONSENT_HTML_SCRIPT;

                } else if (strcmp(st, "RAWTEXT state") == 0) {
                    kind = NGX_HTTP_CONSENT_HTML_XMP;

                } else if (strcmp(st, "RCDATA state") == 0) {
                    kind = NGX_HTTP_CONSENT_HTML_TEXTAREA;

                } else if (strcmp(st, "PLAINTEXT state") == 0) {
                    kind = NGX_HTTP_CONSENT_HTML_PLAINTEXT;

                } else if (strcmp(st, "Data state") != 0) {
                    continue;   /* CDATA sections: foreign content only */
                }

                if (last_tag != NULL && raw == NGX_HTTP_CONSENT_HTML_OTHER) {
                    continue;
                }

                memset(&want, 0, sizeof(buf_t));
                memset(&want_text, 0, sizeof(buf_t));
                memset(&got, 0, sizeof(buf_t));
                memset(&got_text, 0, sizeof(buf_t));

                ok = expected_tokens(output, dbl, &want, &want_text,
                                     json_string_value(input), &raw_len);

                if (kind) {
                    /* where does the raw text end? */
                    trace_run((const unsigned char *) json_string_value(input),
                              json_string_length(input), 0, kind, raw, &got,
                              &got_text, &raw_end);

                    free(got_text.data);
                    memset(&got_text, 0, sizeof(buf_t));

                    if (raw_end != (uint64_t) -1) {
                        buf_add(&got_text, json_string_value(input), raw_end);
                    } else {
                        buf_add(&got_text, json_string_value(input),
                                json_string_length(input));
                    }

                    free(want_text.data);
                    memset(&want_text, 0, sizeof(buf_t));

                    if (!normalise(&got_text,
                                   kind == NGX_HTTP_CONSENT_HTML_TEXTAREA))
                    {
                        goto next;
                    }

                    /* the characters before the first end tag */
                    {
                        size_t  k;
                        json_t *tok, *v;

                        json_array_foreach(output, k, tok) {
                            const char *ty = json_string_value(
                                                    json_array_get(tok, 0));
                            if (strcmp(ty, "Character") != 0) {
                                break;
                            }
                            v = unescape(json_array_get(tok, 1), dbl);
                            buf_add(&want_text, json_string_value(v),
                                    json_string_length(v));
                            json_decref(v);
                        }
                    }

                    if (want_text.len != got_text.len
                        || (want_text.len
                            && memcmp(want_text.data, got_text.data,
                                      want_text.len) != 0))
                    {
                        print_error("%s: \"%s\" (%s): raw text ends at "
                                    "%zu, the standard says after %zu "
                                    "characters\n", files[f],
                                    json_string_value(json_object_get(test,
                                                          "description")),
                                    st, (size_t) raw_end, want_text.len);
                        fail();
                    }

                    compared_raw++;
                    goto next;
                }

                if (!ok || memchr(json_string_value(input), '\0',
                                  json_string_length(input)) != NULL)
                {
                    goto next;   /* NUL becomes U+FFFD: not compared */
                }

                len = json_string_length(input);

                trace_run((const unsigned char *) json_string_value(input),
                          len, 0, kind, raw, &got, &got_text, &raw_end);

                if (want.len != got.len
                    || (want.len && memcmp(want.data, got.data, want.len)))
                {
                    buf_add(&want, "", 1);
                    buf_add(&got, "", 1);
                    print_error("%s: \"%s\"\n  input: %s\n  want: %s\n"
                                "   got: %s\n", files[f],
                                json_string_value(json_object_get(test,
                                                      "description")),
                                json_string_value(input), want.data,
                                got.data);
                    fail();
                }

                compared_data++;

                /* and the same in 1-byte pieces */
                free(got.data);
                free(got_text.data);
                memset(&got, 0, sizeof(buf_t));
                memset(&got_text, 0, sizeof(buf_t));

                trace_run((const unsigned char *) json_string_value(input),
                          len, 1, kind, raw, &got, &got_text, &raw_end);

                assert_int_equal(want.len, got.len);
                assert_memory_equal(want.data, got.data, want.len);

            next:
                free(want.data);
                free(want_text.data);
                free(got.data);
                free(got_text.data);
            }

            json_decref(input);
        }

        json_decref(root);
    }

    print_message("html5lib: %d raw text ends, %d token streams agree\n",
                  compared_raw, compared_data);

    /* the corpus was really read */
    assert_true(compared_raw >= 200);
    assert_true(compared_data >= 200);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_pass_through),
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_attributes),
        cmocka_unit_test(test_insertions),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_constructs),
        cmocka_unit_test(test_disguised),
        cmocka_unit_test(test_foreign),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_lazy_hold),
        cmocka_unit_test(test_placeholder),
        cmocka_unit_test(test_placeholder_media),
        cmocka_unit_test(test_placeholder_fixture),
        cmocka_unit_test(test_vendors),
        cmocka_unit_test(test_catalogue_index),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_html5lib),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
