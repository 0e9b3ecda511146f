
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


typedef struct ngx_http_consent_hosts_s  ngx_http_consent_hosts_t;


ngx_http_consent_hosts_t *ngx_http_consent_hosts_index(
    const ngx_http_consent_gate_host_t *hosts, size_t n,
    void *(*alloc)(void *data, size_t size), void *data);
uint64_t ngx_http_consent_hosts_url(const ngx_http_consent_hosts_t *ix,
    const unsigned char *host, size_t len);
uint64_t ngx_http_consent_hosts_text(const ngx_http_consent_hosts_t *ix,
    const unsigned char *text, size_t len);
uint64_t ngx_http_consent_hosts_all(const ngx_http_consent_hosts_t *ix);


#endif /* _NGX_HTTP_CONSENT_HOSTS_H_INCLUDED_ */
