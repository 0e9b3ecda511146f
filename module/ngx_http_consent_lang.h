
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_LANG_H_INCLUDED_
#define _NGX_HTTP_CONSENT_LANG_H_INCLUDED_


#include <stddef.h>

#include "ngx_http_consent_slice.h"


/* ranges of an Accept-Language header that are looked at; the rest is not */
#define NGX_HTTP_CONSENT_LANG_MAX_RANGES  32

/* bytes of an Accept-Language header that are looked at */
#define NGX_HTTP_CONSENT_LANG_MAX_HEADER  4096

/* the longest language tag kept, as "zh-Hant-TW" */
#define NGX_HTTP_CONSENT_LANG_MAX_TAG     35


/*
 * Picks the best of the available languages "avail" (n of them, lowercase
 * or not) for an Accept-Language header.  Returns the index of that
 * language in avail, or "fallback" when the header names none of them (or
 * excludes all of them); "fallback" may be -1.
 *
 * A range matches a language when they are equal, or when one is a prefix
 * of the other ending at a "-": "fr-FR" and "fr" match each other, as do
 * "fr" and "fr-CA".  For each language the most specific matching range
 * gives its quality; q=0 excludes it.  "*" gives its quality to every
 * language no other range matches.  Ties go to the range that comes first
 * in the header, then to the closer match ("fr-CA" prefers "fr-ca" to
 * "fr"), then to the fallback, then to the first language in avail.  The
 * work is bounded by the constants above; nothing is allocated.
 */
int ngx_http_consent_lang_pick(const unsigned char *header, size_t len,
    const ngx_http_consent_slice_t *avail, size_t n, int fallback);

/* returns 1 if s is a well-formed language tag of at most MAX_TAG bytes */
int ngx_http_consent_lang_valid(const unsigned char *s, size_t len);


#endif /* _NGX_HTTP_CONSENT_LANG_H_INCLUDED_ */
