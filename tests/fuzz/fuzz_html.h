
/*
 * Copyright (C) nginx-consent developers
 *
 * What the HTML fuzzers share: the rules, the output and memory of the
 * gate, a run over the input in pieces, and a digest of the watched tags.
 */


#ifndef _FUZZ_HTML_H_INCLUDED_
#define _FUZZ_HTML_H_INCLUDED_


#define _GNU_SOURCE

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ngx_http_consent_gate.h"


typedef struct {
    unsigned char  *data;
    size_t          len;
    size_t          cap;
    void           *mem[32];   /* the gate's */
    size_t          nmem;
    ngx_http_consent_gate_removed_t  removed;   /* $consent_removed */
} fuzz_buf_t;


static const ngx_http_consent_slice_t  categories[] = {
    { (const unsigned char *) "necessary", 9 },
    { (const unsigned char *) "analytics", 9 },
    { (const unsigned char *) "marketing", 9 }
};

static const ngx_http_consent_gate_host_t  hosts[] = {
    { (const unsigned char *) "*.googletagmanager.com", 22, 1 },
    { (const unsigned char *) "connect.facebook.net", 20, 2 },
    { (const unsigned char *) "a.b", 3, 1 }
};

static const ngx_http_consent_gate_rules_t  rules = {
    hosts, 3, categories, 3, NULL
};


static int
out(void *data, ngx_http_consent_gate_out_e kind, const unsigned char *p,
    size_t len)
{
    fuzz_buf_t  *b = data;

    if (kind == NGX_HTTP_CONSENT_GATE_OUT_HEAD) {
        p = (const unsigned char *) "{H}";
        len = 3;

    } else if (kind == NGX_HTTP_CONSENT_GATE_OUT_BANNER) {
        p = (const unsigned char *) "{B}";
        len = 3;
    }

    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2 + 16;
        b->data = realloc(b->data, b->cap);
        if (b->data == NULL) {
            abort();
        }
    }

    if (len) {
        memcpy(b->data + b->len, p, len);
    }

    b->len += len;

    return 0;
}


static void *
alloc(void *data, size_t size)
{
    fuzz_buf_t  *b = data;

    if (b->nmem == sizeof(b->mem) / sizeof(b->mem[0])) {
        abort();
    }

    b->mem[b->nmem] = malloc(size);
    if (b->mem[b->nmem] == NULL) {
        abort();
    }

    return b->mem[b->nmem++];
}


/* the gate over the input, cut at "cut" (0: none), then every "chunk" */

static void
run_rules(const ngx_http_consent_gate_rules_t *rules, const uint8_t *in,
    size_t len, size_t cut, size_t chunk, uint64_t granted, unsigned flags,
    size_t cap, fuzz_buf_t *b)
{
    size_t                    from, to;
    unsigned char            *piece;
    ngx_http_consent_gate_t   g;

    ngx_http_consent_gate_init(&g, rules, granted, flags & 1,
                               (flags & 8) ? NGX_HTTP_CONSENT_GATE_BANNER_END
                               : (flags & 2) ? NGX_HTTP_CONSENT_GATE_BANNER_BODY
                               : 0,
                               cap, out, alloc, b);
    g.placeholder = (flags & 4) ? 1 : 0;

    for (from = 0; ; from = to) {
        if (cut > from && cut < len) {
            to = cut;

        } else {
            to = (chunk && from + chunk < len) ? from + chunk : len;
        }

        if (from == 0 && to == len) {
            /* libFuzzer's copy is of exactly the input: ASan sees past it */
            if (ngx_http_consent_gate(&g, in, len, 1) != 0) {
                abort();
            }

            break;
        }

        /* a copy of exactly the piece, so that ASan sees any overread */
        piece = malloc(to - from + 1);
        memcpy(piece, in + from, to - from);

        if (ngx_http_consent_gate(&g, piece, to - from, to == len) != 0) {
            abort();
        }

        free(piece);

        if (to == len) {
            break;
        }
    }

    b->removed = g.removed_by;

    while (b->nmem) {
        free(b->mem[--b->nmem]);
    }
}


static void
run(const uint8_t *in, size_t len, size_t cut, size_t chunk,
    uint64_t granted, unsigned flags, size_t cap, fuzz_buf_t *b)
{
    run_rules(&rules, in, len, cut, chunk, granted, flags, cap, b);
}


static void
fuzz_free(fuzz_buf_t *b)
{
    free(b->data);
}


#endif /* _FUZZ_HTML_H_INCLUDED_ */
