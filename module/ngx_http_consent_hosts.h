
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_HOSTS_H_INCLUDED_
#define _NGX_HTTP_CONSENT_HOSTS_H_INCLUDED_


/*
 * The gate's hosts: consent_gate_host's patterns ("example.com" exactly,
 * "*.example.com" any name below it) by name in a hash table, so that a
 * URL's host, and the host names an inline script holds, are looked up at
 * a cost that does not grow with the number of patterns (conf/trackers.conf
 * has over 300).  The answers are those of going through the patterns one
 * by one with ngx_http_consent_gate_host_match() and
 * ngx_http_consent_gate_text_has_host(), which fuzz_html holds it to.
 */


#include <stddef.h>
#include <stdint.h>


typedef struct {
    const unsigned char             *data;     /* lowercase */
    size_t                           len;
    unsigned                         category;
} ngx_http_consent_gate_host_t;


/* memory for as long as data lives, or NULL */
typedef void *(*ngx_http_consent_gate_alloc_pt)(void *data, size_t size);


typedef struct ngx_http_consent_hosts_s  ngx_http_consent_hosts_t;


/*
 * the characters of a host name in a text (letters, digits, "-", ".",
 * "_"), for the index and the list alike
 */
#define ngx_http_consent_hosts_char(ch)                                       \
    ngx_http_consent_hosts_chars[(unsigned char) (ch)]

extern const unsigned char  ngx_http_consent_hosts_chars[256];


ngx_http_consent_hosts_t *ngx_http_consent_hosts_index(
    const ngx_http_consent_gate_host_t *hosts, size_t n,
    ngx_http_consent_gate_alloc_pt alloc, void *data);
uint64_t ngx_http_consent_hosts_url(const ngx_http_consent_hosts_t *ix,
    const unsigned char *host, size_t len);
uint64_t ngx_http_consent_hosts_text(const ngx_http_consent_hosts_t *ix,
    const unsigned char *text, size_t len);
uint64_t ngx_http_consent_hosts_all(const ngx_http_consent_hosts_t *ix);


#endif /* _NGX_HTTP_CONSENT_HOSTS_H_INCLUDED_ */
