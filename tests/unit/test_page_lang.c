
/*
 * Copyright (C) nginx-consent developers
 *
 * The page's language for the banner: the gate keeps the lang attribute of
 * the <html> start tag when it is to insert a banner, whatever the cuts
 * between buffers, and never removes or alters the <html> tag itself, not
 * even one longer than its hold.
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

#include "ngx_http_consent_gate.h"


#define BANNER  "<!--BANNER-->"


typedef struct {
    unsigned char  *data;
    size_t          len;
    void           *mem[4];    /* what the gate asked for, freed after */
    size_t          nmem;
} out_t;


typedef struct {
    size_t          lang_len;
    unsigned char   lang[NGX_HTTP_CONSENT_HTML_LANG_LEN];
    out_t           out;
} result_t;


static const ngx_http_consent_slice_t  categories[] = {
    { (const unsigned char *) "necessary", 9 },
    { (const unsigned char *) "analytics", 9 }
};

static const ngx_http_consent_gate_rules_t  rules = {
    NULL, 0, categories, 2, NULL
};


static int
collect(void *data, ngx_http_consent_gate_out_e kind,
    const unsigned char *p, size_t len)
{
    out_t  *o = data;

    if (kind == NGX_HTTP_CONSENT_GATE_OUT_BANNER) {
        p = (const unsigned char *) BANNER;
        len = sizeof(BANNER) - 1;

    } else if (kind == NGX_HTTP_CONSENT_GATE_OUT_HEAD) {
        return 0;
    }

    o->data = realloc(o->data, o->len + len + 1);
    assert_non_null(o->data);
    memcpy(o->data + o->len, p, len);
    o->len += len;
    o->data[o->len] = '\0';

    return 0;
}


/* the hold and the scratch the gate asks for, once each */

static void *
gate_alloc(void *data, size_t size)
{
    out_t  *o = data;

    assert_true(o->nmem < sizeof(o->mem) / sizeof(o->mem[0]));
    o->mem[o->nmem] = malloc(size);
    assert_non_null(o->mem[o->nmem]);

    return o->mem[o->nmem++];
}


/* the gate over "in" cut at "cut" (0: whole) or in pieces of "chunk" */

static result_t
run(const char *in, size_t cut, size_t chunk, unsigned banner, size_t cap)
{
    size_t                    len, from, to, i;
    result_t                  r;
    unsigned char            *piece;
    ngx_http_consent_gate_t  *g;

    memset(&r, 0, sizeof(result_t));
    len = strlen(in);

    g = malloc(sizeof(ngx_http_consent_gate_t));
    assert_non_null(g);

    ngx_http_consent_gate_init(g, &rules, 0, 0,
                               banner ? NGX_HTTP_CONSENT_GATE_BANNER_BODY : 0,
                               cap, collect,
                               gate_alloc, &r.out);

    for (from = 0; ; from = to) {
        to = chunk ? from + chunk : (from < cut ? cut : len);
        to = to < len ? to : len;

        /* exactly the piece, so that ASan sees any overread */
        piece = malloc(to - from + 1);
        assert_non_null(piece);
        memcpy(piece, in + from, to - from);
        assert_int_equal(ngx_http_consent_gate(g, piece, to - from,
                                               to == len), 0);
        free(piece);

        if (to == len) {
            break;
        }
    }

    r.lang_len = g->lang_len;
    memcpy(r.lang, g->lang, g->lang_len);

    for (i = 0; i < r.out.nmem; i++) {
        free(r.out.mem[i]);
    }

    r.out.nmem = 0;
    free(g);

    return r;
}


/*
 * "in" with the banner right after <body>, before </body> without one, or
 * at the end, as the gate must send it (no input here has them elsewhere)
 */

static char *
with_banner(const char *in)
{
    char        *s;
    size_t       n;
    const char  *body;

    body = strcasestr(in, "<body");

    if (body != NULL) {
        n = (size_t) (strchr(body, '>') + 1 - in);

    } else {
        body = strcasestr(in, "</body");
        n = body ? (size_t) (body - in) : strlen(in);
    }

    s = malloc(strlen(in) + sizeof(BANNER));
    assert_non_null(s);
    memcpy(s, in, n);
    strcpy(s + n, BANNER);
    strcat(s, in + n);

    return s;
}


/* every cut in two, and byte by byte: the same language, the same bytes */

static void
expect(const char *in, const char *lang, size_t cap)
{
    char      *want;
    size_t     cut, len;
    result_t   r;

    want = with_banner(in);
    len = strlen(in);

    for (cut = 0; cut <= len + 1; cut++) {
        r = cut <= len ? run(in, cut, 0, 1, cap) : run(in, 0, 1, 1, cap);

        if (r.lang_len != strlen(lang)
            || memcmp(r.lang, lang, r.lang_len) != 0
            || r.out.len != strlen(want)
            || memcmp(r.out.data, want, r.out.len) != 0)
        {
            fail_msg("%s, cut %zu: lang \"%.*s\" (want \"%s\"), out \"%s\"",
                     in, cut, (int) r.lang_len, r.lang, lang,
                     r.out.data ? (char *) r.out.data : "");
        }

        free(r.out.data);
    }

    free(want);
}


static void
test_lang(void **state)
{
    (void) state;

    expect("<!DOCTYPE html><html lang=\"fr\"><head><title>x</title></head>"
           "<body><p>Bonjour</p></body></html>", "fr", 4096);
    expect("<html lang='pt-BR' dir=ltr><body>x</body>", "pt-BR", 4096);
    expect("<HTML LANG=DE><BODY>x</BODY>", "DE", 4096);
    expect("<html class=\"a b\"\n  lang=\"ar\"\n  dir=\"rtl\"><body></body>",
           "ar", 4096);
    expect("<html data-x='>' lang=he><body>x</body>", "he", 4096);

    /* the first <html> is the page's; one in a comment is not a tag */
    expect("<!-- <html lang=\"fr\"> --><html lang=\"nl\"><body>x</body>"
           "<html lang=\"de\">", "nl", 4096);

    /* no language said */
    expect("<html><body>x</body>", "", 4096);
    expect("<html lang><body>x</body>", "", 4096);
    expect("<html lang=\"\"><body>x</body>", "", 4096);
    expect("<body>x</body>", "", 4096);
    expect("<p lang=\"fr\">x</p><body>x</body>", "", 4096);

    /* longer than a language tag can be: not kept */
    expect("<html lang=\"abcdefgh-abcdefgh-abcdefgh-abcdefgh-ab\">"
           "<body>x</body>", "", 4096);
    expect("<html lang=\"abcdefgh-abcdefgh-abcdefgh-abcdefg\">"
           "<body>x</body>", "abcdefgh-abcdefgh-abcdefgh-abcdefg", 4096);
}


static void
test_no_banner(void **state)
{
    result_t     r;
    const char  *in = "<html lang=\"fr\"><body>x</body>";

    (void) state;

    /* no banner to insert: <html> is not even watched */
    r = run(in, 0, 0, 0, 4096);
    assert_int_equal(r.lang_len, 0);
    assert_string_equal((char *) r.out.data, in);
    free(r.out.data);
}


static void
test_long_tag(void **state)
{
    char      *in, *want;
    size_t     i, cut;
    result_t   r;

    (void) state;

    /* an <html> tag longer than the hold: sent whole, never removed */

    in = malloc(400);
    assert_non_null(in);
    strcpy(in, "<html class=\"");

    for (i = 0; i < 100; i++) {
        strcat(in, "c ");
    }

    strcat(in, "\" lang=\"fi\"><body>x</body>");
    want = with_banner(in);

    /* whole, the tag is seen in one piece: its lang is kept */
    r = run(in, 0, 0, 1, 64);
    assert_int_equal(r.lang_len, 2);
    assert_memory_equal(r.lang, "fi", 2);
    assert_string_equal((char *) r.out.data, want);
    free(r.out.data);

    /* cut anywhere, the bytes are the same (the lang may be lost then) */
    for (cut = 1; cut < strlen(in); cut++) {
        r = run(in, cut, 0, 1, 64);

        if (strcmp((char *) r.out.data, want) != 0) {
            fail_msg("cut %zu: \"%s\"", cut, (char *) r.out.data);
        }

        free(r.out.data);
    }

    free(want);
    free(in);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_lang),
        cmocka_unit_test(test_no_banner),
        cmocka_unit_test(test_long_tag),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
