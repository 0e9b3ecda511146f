
/*
 * Copyright (C) nginx-consent developers
 */


#include <string.h>

#include "ngx_http_consent_html.h"
#include "ngx_http_consent_hosts.h"


/* a name and the categories of its patterns; a free slot has no name */
typedef struct {
    const unsigned char             *name;     /* lowercase */
    size_t                           len;
    uint64_t                         exact;    /* of "name" */
    uint64_t                         below;    /* of "*.name" */
} ngx_http_consent_hosts_slot_t;


/* open addressing, at most half full */
struct ngx_http_consent_hosts_s {
    ngx_http_consent_hosts_slot_t   *slots;
    size_t                           mask;
    size_t                           min;      /* the shortest name */
    size_t                           max;      /* the longest */
    uint64_t                         all;      /* every category */
    unsigned                         dotless:1; /* an exact name, no dot */
};


/* ngx_http_consent_hosts_char(): letters, digits, "-", ".", "_" */
const unsigned char  ngx_http_consent_hosts_chars[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* FNV-1a, of the lowercase bytes */
#define NGX_HTTP_CONSENT_HOSTS_FNV  2166136261u
#define ngx_http_consent_hosts_fnv(h, c)                                      \
    (((h) ^ ngx_http_consent_html_lower(c)) * 16777619u)


static size_t ngx_http_consent_hosts_slot(const ngx_http_consent_hosts_t *ix,
    const unsigned char *name, size_t len, uint32_t hash);
static uint32_t ngx_http_consent_hosts_hash(const unsigned char *name,
    size_t len);
static uint64_t ngx_http_consent_hosts_run(const ngx_http_consent_hosts_t *ix,
    const unsigned char *run, size_t n);


/*
 * The index of n patterns, in memory from alloc(), or NULL where it cannot
 * stand for them (a name of a character no host name in a text has, a
 * category past 64, no memory): the caller then goes through the list.
 */

ngx_http_consent_hosts_t *
ngx_http_consent_hosts_index(const ngx_http_consent_gate_host_t *hosts,
    size_t n, ngx_http_consent_gate_alloc_pt alloc, void *data)
{
    size_t                          i, k, len, size;
    uint64_t                        bit;
    unsigned                        below;
    const unsigned char            *name;
    ngx_http_consent_hosts_t       *ix;
    ngx_http_consent_hosts_slot_t  *slot;

    for (size = 16; size < 2 * n; size <<= 1) { /* void */ }

    ix = alloc(data, sizeof(ngx_http_consent_hosts_t));
    if (ix == NULL) {
        return NULL;
    }

    ix->slots = alloc(data, size * sizeof(ngx_http_consent_hosts_slot_t));
    if (ix->slots == NULL) {
        return NULL;
    }

    memset(ix->slots, 0, size * sizeof(ngx_http_consent_hosts_slot_t));
    ix->mask = size - 1;
    ix->min = (size_t) -1;
    ix->max = 0;
    ix->all = 0;
    ix->dotless = 0;

    for (i = 0; i < n; i++) {
        name = hosts[i].data;
        len = hosts[i].len;
        below = (len > 2 && name[0] == '*' && name[1] == '.');

        if (below) {
            name += 2;
            len -= 2;
        }

        if (len == 0 || hosts[i].category >= 64) {
            return NULL;
        }

        for (k = 0; k < len; k++) {
            if (!ngx_http_consent_hosts_char(name[k])) {
                return NULL;
            }
        }

        slot = &ix->slots[ngx_http_consent_hosts_slot(ix, name, len,
                                      ngx_http_consent_hosts_hash(name, len))];

        if (slot->name == NULL) {
            slot->name = name;
            slot->len = len;
        }

        bit = (uint64_t) 1 << hosts[i].category;

        if (below) {
            slot->below |= bit;

        } else {
            slot->exact |= bit;

            if (memchr(name, '.', len) == NULL) {
                ix->dotless = 1;
            }
        }

        ix->min = (len < ix->min) ? len : ix->min;
        ix->max = (len > ix->max) ? len : ix->max;
        ix->all |= bit;
    }

    return ix;
}


/* the categories of the patterns a URL's host matches */

uint64_t
ngx_http_consent_hosts_url(const ngx_http_consent_hosts_t *ix,
    const unsigned char *host, size_t len)
{
    size_t                                k, rest;
    uint64_t                              need;
    const ngx_http_consent_hosts_slot_t  *slot;

    need = 0;

    if (len >= ix->min && len <= ix->max) {
        slot = &ix->slots[ngx_http_consent_hosts_slot(ix, host, len,
                                      ngx_http_consent_hosts_hash(host, len))];
        need = slot->exact;
    }

    /* "*.example.com": a dot with a name before it, and the rest */

    for (k = 1; k + 1 < len; k++) {
        rest = len - k - 1;

        if (host[k] != '.' || rest < ix->min || rest > ix->max) {
            continue;
        }

        slot = &ix->slots[ngx_http_consent_hosts_slot(ix, host + k + 1, rest,
                              ngx_http_consent_hosts_hash(host + k + 1, rest))];
        need |= slot->below;
    }

    return need;
}


/*
 * The categories of the patterns a text names: in each run of host
 * characters, "example.com" is its first names up to a dot or its end,
 * "*.example.com" any names after a dot that has one before it, up to a
 * dot or the end.
 */

uint64_t
ngx_http_consent_hosts_text(const ngx_http_consent_hosts_t *ix,
    const unsigned char *text, size_t len)
{
    uint64_t              need;
    const unsigned char  *p, *last, *run;

    need = 0;
    p = text;
    last = text + len;

    while (p < last) {

        if (!ngx_http_consent_hosts_char(*p)) {
            p++;
            continue;
        }

        for (run = p; p < last && ngx_http_consent_hosts_char(*p); p++) {
            /* void */
        }

        if ((size_t) (p - run) >= ix->min) {
            need |= ngx_http_consent_hosts_run(ix, run, p - run);

            if (need == ix->all) {
                break;
            }
        }
    }

    return need;
}


uint64_t
ngx_http_consent_hosts_all(const ngx_http_consent_hosts_t *ix)
{
    return ix->all;
}


/* the slot of the name, or the free one where it would go */

static size_t
ngx_http_consent_hosts_slot(const ngx_http_consent_hosts_t *ix,
    const unsigned char *name, size_t len, uint32_t hash)
{
    size_t                                i, k;
    const ngx_http_consent_hosts_slot_t  *slot;

    for (i = hash & ix->mask; ; i = (i + 1) & ix->mask) {
        slot = &ix->slots[i];

        if (slot->name == NULL) {
            return i;
        }

        if (slot->len != len) {
            continue;
        }

        for (k = 0; k < len; k++) {
            if (ngx_http_consent_html_lower(name[k]) != slot->name[k]) {
                break;
            }
        }

        if (k == len) {
            return i;
        }
    }
}


static uint32_t
ngx_http_consent_hosts_hash(const unsigned char *name, size_t len)
{
    size_t    k;
    uint32_t  h;

    h = NGX_HTTP_CONSENT_HOSTS_FNV;

    for (k = 0; k < len; k++) {
        h = ngx_http_consent_hosts_fnv(h, name[k]);
    }

    return h;
}


/* one run of host characters, of n bytes */

static uint64_t
ngx_http_consent_hosts_run(const ngx_http_consent_hosts_t *ix,
    const unsigned char *run, size_t n)
{
    size_t                                i, j, dots;
    uint32_t                              h;
    uint64_t                              need;
    const ngx_http_consent_hosts_slot_t  *slot;

    need = 0;
    dots = 0;
    h = NGX_HTTP_CONSENT_HOSTS_FNV;

    /* "example.com": the run's first names */

    for (j = 0; j <= n; j++) {

        if (j == n || run[j] == '.') {

            if (j >= ix->min && j <= ix->max && (dots || ix->dotless)) {
                slot = &ix->slots[ngx_http_consent_hosts_slot(ix, run, j, h)];
                need |= slot->exact;
            }

            if (j == n) {
                break;
            }

            dots++;
        }

        h = ngx_http_consent_hosts_fnv(h, run[j]);
    }

    if (dots == 0) {
        return need;
    }

    /* "*.example.com": the names after each dot but one that starts it */

    for (i = 2; i < n; i++) {

        if (run[i - 1] != '.') {
            continue;
        }

        h = NGX_HTTP_CONSENT_HOSTS_FNV;

        for (j = i; j <= n && j - i <= ix->max; j++) {

            if ((j == n || run[j] == '.') && j - i >= ix->min) {
                slot = &ix->slots[ngx_http_consent_hosts_slot(ix, run + i,
                                                              j - i, h)];
                need |= slot->below;
            }

            if (j == n) {
                break;
            }

            h = ngx_http_consent_hosts_fnv(h, run[j]);
        }
    }

    return need;
}
