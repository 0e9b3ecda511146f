
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_PLURAL_H_INCLUDED_
#define _NGX_HTTP_CONSENT_PLURAL_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * The CLDR plural category ("zero", "one", "two", "few", "many" or
 * "other") of the whole number n in the language of the tag lang (its
 * first subtag: "pt-BR" is "pt"), for the languages the module ships
 * texts in; any other language has "other" only.  The rules are CLDR's
 * for integers (plurals.xml, version 46); the "many" that French,
 * Spanish, Italian, Portuguese and Catalan use for millions is left out,
 * and "other" stands for it.
 */
const char *ngx_http_consent_plural(const unsigned char *lang, size_t len,
    uint64_t n);


#endif /* _NGX_HTTP_CONSENT_PLURAL_H_INCLUDED_ */
