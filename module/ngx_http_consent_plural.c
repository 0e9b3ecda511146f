
/*
 * Copyright (C) nginx-consent developers
 *
 * CLDR plural categories of whole numbers, for the durations of the
 * preferences page ("1 day", "2 days"; "1 dzień", "2 dni", "5 dni").
 */


#include <string.h>

#include "ngx_http_consent_plural.h"


typedef enum {
    NGX_HTTP_CONSENT_PLURAL_OTHER = 0,    /* ja, ko, zh */
    NGX_HTTP_CONSENT_PLURAL_ONE,          /* one: n = 1 */
    NGX_HTTP_CONSENT_PLURAL_ONE_MILLIONS, /* one: n = 1; many: millions
                                             (ca, es, it) */
    NGX_HTTP_CONSENT_PLURAL_ZERO_ONE,     /* one: n = 0, 1; many: millions
                                             (fr, pt) */
    NGX_HTTP_CONSENT_PLURAL_ICELANDIC,
    NGX_HTTP_CONSENT_PLURAL_CZECH,        /* cs, sk */
    NGX_HTTP_CONSENT_PLURAL_POLISH,
    NGX_HTTP_CONSENT_PLURAL_UKRAINIAN,
    NGX_HTTP_CONSENT_PLURAL_CROATIAN,
    NGX_HTTP_CONSENT_PLURAL_SLOVENIAN,
    NGX_HTTP_CONSENT_PLURAL_LITHUANIAN,
    NGX_HTTP_CONSENT_PLURAL_LATVIAN,
    NGX_HTTP_CONSENT_PLURAL_ROMANIAN,
    NGX_HTTP_CONSENT_PLURAL_MALTESE,
    NGX_HTTP_CONSENT_PLURAL_IRISH,
    NGX_HTTP_CONSENT_PLURAL_ARABIC,
    NGX_HTTP_CONSENT_PLURAL_HEBREW
} ngx_http_consent_plural_rule_e;


typedef struct {
    char                            lang[4];
    ngx_http_consent_plural_rule_e  rule;
} ngx_http_consent_plural_lang_t;


static ngx_http_consent_plural_rule_e ngx_http_consent_plural_rule(
    const unsigned char *lang, size_t len);


static const ngx_http_consent_plural_lang_t  ngx_http_consent_plural_langs[] = {
    { "ar", NGX_HTTP_CONSENT_PLURAL_ARABIC },
    { "bg", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "ca", NGX_HTTP_CONSENT_PLURAL_ONE_MILLIONS },
    { "cs", NGX_HTTP_CONSENT_PLURAL_CZECH },
    { "da", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "de", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "el", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "en", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "es", NGX_HTTP_CONSENT_PLURAL_ONE_MILLIONS },
    { "et", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "eu", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "fi", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "fr", NGX_HTTP_CONSENT_PLURAL_ZERO_ONE },
    { "ga", NGX_HTTP_CONSENT_PLURAL_IRISH },
    { "gl", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "he", NGX_HTTP_CONSENT_PLURAL_HEBREW },
    { "hr", NGX_HTTP_CONSENT_PLURAL_CROATIAN },
    { "hu", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "is", NGX_HTTP_CONSENT_PLURAL_ICELANDIC },
    { "it", NGX_HTTP_CONSENT_PLURAL_ONE_MILLIONS },
    { "ja", NGX_HTTP_CONSENT_PLURAL_OTHER },
    { "ko", NGX_HTTP_CONSENT_PLURAL_OTHER },
    { "lt", NGX_HTTP_CONSENT_PLURAL_LITHUANIAN },
    { "lv", NGX_HTTP_CONSENT_PLURAL_LATVIAN },
    { "mt", NGX_HTTP_CONSENT_PLURAL_MALTESE },
    { "nb", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "nl", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "pl", NGX_HTTP_CONSENT_PLURAL_POLISH },
    { "pt", NGX_HTTP_CONSENT_PLURAL_ZERO_ONE },
    { "ro", NGX_HTTP_CONSENT_PLURAL_ROMANIAN },
    { "sk", NGX_HTTP_CONSENT_PLURAL_CZECH },
    { "sl", NGX_HTTP_CONSENT_PLURAL_SLOVENIAN },
    { "sv", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "tr", NGX_HTTP_CONSENT_PLURAL_ONE },
    { "uk", NGX_HTTP_CONSENT_PLURAL_UKRAINIAN },
    { "zh", NGX_HTTP_CONSENT_PLURAL_OTHER }
};


const char *
ngx_http_consent_plural(const unsigned char *lang, size_t len, uint64_t n)
{
    uint64_t                        n10, n100;
    ngx_http_consent_plural_rule_e  rule;

    n10 = n % 10;
    n100 = n % 100;
    rule = ngx_http_consent_plural_rule(lang, len);

    switch (rule) {

    case NGX_HTTP_CONSENT_PLURAL_OTHER:
        return "other";

    case NGX_HTTP_CONSENT_PLURAL_ONE:
        return (n == 1) ? "one" : "other";

    case NGX_HTTP_CONSENT_PLURAL_ONE_MILLIONS:
    case NGX_HTTP_CONSENT_PLURAL_ZERO_ONE:
        if (n == 1 || (n == 0 && rule == NGX_HTTP_CONSENT_PLURAL_ZERO_ONE)) {
            return "one";
        }

        /* "un million de jours", "2 millones de días" */
        return (n != 0 && n % 1000000 == 0) ? "many" : "other";

    case NGX_HTTP_CONSENT_PLURAL_ICELANDIC:
        return (n10 == 1 && n100 != 11) ? "one" : "other";

    case NGX_HTTP_CONSENT_PLURAL_CZECH:
        if (n == 1) {
            return "one";
        }

        return (n >= 2 && n <= 4) ? "few" : "other";

    case NGX_HTTP_CONSENT_PLURAL_POLISH:
        if (n == 1) {
            return "one";
        }

        if (n10 >= 2 && n10 <= 4 && (n100 < 12 || n100 > 14)) {
            return "few";
        }

        return "many";

    case NGX_HTTP_CONSENT_PLURAL_UKRAINIAN:
    case NGX_HTTP_CONSENT_PLURAL_CROATIAN:
        if (n10 == 1 && n100 != 11) {
            return "one";
        }

        if (n10 >= 2 && n10 <= 4 && (n100 < 12 || n100 > 14)) {
            return "few";
        }

        return (rule == NGX_HTTP_CONSENT_PLURAL_UKRAINIAN) ? "many" : "other";

    case NGX_HTTP_CONSENT_PLURAL_SLOVENIAN:
        switch (n100) {
        case 1:
            return "one";
        case 2:
            return "two";
        case 3:
        case 4:
            return "few";
        default:
            return "other";
        }

    case NGX_HTTP_CONSENT_PLURAL_LITHUANIAN:
        if (n100 >= 11 && n100 <= 19) {
            return "other";
        }

        if (n10 == 1) {
            return "one";
        }

        return (n10 >= 2) ? "few" : "other";

    case NGX_HTTP_CONSENT_PLURAL_LATVIAN:
        if (n10 == 0 || (n100 >= 11 && n100 <= 19)) {
            return "zero";
        }

        return (n10 == 1) ? "one" : "other";

    case NGX_HTTP_CONSENT_PLURAL_ROMANIAN:
        if (n == 1) {
            return "one";
        }

        return (n == 0 || (n100 >= 1 && n100 <= 19)) ? "few" : "other";

    case NGX_HTTP_CONSENT_PLURAL_MALTESE:
        if (n == 1) {
            return "one";
        }

        if (n == 2) {
            return "two";
        }

        if (n == 0 || (n100 >= 3 && n100 <= 10)) {
            return "few";
        }

        return (n100 >= 11 && n100 <= 19) ? "many" : "other";

    case NGX_HTTP_CONSENT_PLURAL_IRISH:
        if (n == 1) {
            return "one";
        }

        if (n == 2) {
            return "two";
        }

        if (n >= 3 && n <= 6) {
            return "few";
        }

        return (n >= 7 && n <= 10) ? "many" : "other";

    case NGX_HTTP_CONSENT_PLURAL_ARABIC:
        if (n <= 2) {
            return (n == 0) ? "zero" : (n == 1) ? "one" : "two";
        }

        if (n100 >= 3 && n100 <= 10) {
            return "few";
        }

        return (n100 >= 11) ? "many" : "other";

    case NGX_HTTP_CONSENT_PLURAL_HEBREW:
        return (n == 1) ? "one" : (n == 2) ? "two" : "other";
    }

    return "other";
}


/* the rule of the tag's first subtag, in any case */

static ngx_http_consent_plural_rule_e
ngx_http_consent_plural_rule(const unsigned char *lang, size_t len)
{
    size_t  i, n;
    char    primary[4];

    for (n = 0; n < len && lang[n] != '-' && lang[n] != '_'; n++) {
        if (n == sizeof(primary) - 1) {
            return NGX_HTTP_CONSENT_PLURAL_OTHER;
        }

        primary[n] = (char) ((lang[n] >= 'A' && lang[n] <= 'Z')
                             ? lang[n] | 0x20 : lang[n]);
    }

    primary[n] = '\0';

    for (i = 0;
         i < sizeof(ngx_http_consent_plural_langs)
             / sizeof(ngx_http_consent_plural_langs[0]);
         i++)
    {
        if (strcmp(ngx_http_consent_plural_langs[i].lang, primary) == 0) {
            return ngx_http_consent_plural_langs[i].rule;
        }
    }

    return NGX_HTTP_CONSENT_PLURAL_OTHER;
}
