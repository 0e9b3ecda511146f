
/*
 * Copyright (C) nginx-consent developers
 *
 * CLDR plural categories of whole numbers: for each rule, the integer
 * samples CLDR's plurals.xml gives for each category, and tags that are
 * not a plain language.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_http_consent_plural.h"


typedef struct {
    const char  *lang;
    const char  *category;
    uint64_t     samples[12];       /* ended by UINT64_MAX */
} sample_t;


#define END  UINT64_MAX


static const sample_t  samples[] = {
    { "en", "one", { 1, END } },
    { "en", "other", { 0, 2, 11, 21, 100, 1000000, END } },
    { "de", "one", { 1, END } },
    { "de", "other", { 0, 2, 16, 101, END } },
    { "fr", "one", { 0, 1, END } },
    { "fr", "other", { 2, 17, 100, 1000, 1000001, 1100000, END } },
    { "fr", "many", { 1000000, 2000000, 5000000000, END } },
    { "pt", "one", { 0, 1, END } },
    { "pt", "other", { 2, 10, 100, 999999, END } },
    { "pt", "many", { 1000000, 3000000, END } },
    { "es", "one", { 1, END } },
    { "es", "other", { 0, 2, 100, 1000001, END } },
    { "es", "many", { 1000000, 7000000, END } },
    { "it", "one", { 1, END } },
    { "it", "other", { 0, 2, 11, 1000100, END } },
    { "it", "many", { 1000000, END } },
    { "ca", "one", { 1, END } },
    { "ca", "other", { 0, 2, 500000, END } },
    { "ca", "many", { 1000000, 10000000, END } },
    { "is", "one", { 1, 21, 31, 41, 101, 1001, END } },
    { "is", "other", { 0, 2, 11, 12, 111, 1011, END } },
    { "cs", "one", { 1, END } },
    { "cs", "few", { 2, 3, 4, END } },
    { "cs", "other", { 0, 5, 19, 21, 22, 100, END } },
    { "sk", "few", { 2, 3, 4, END } },
    { "pl", "one", { 1, END } },
    { "pl", "few", { 2, 3, 4, 22, 23, 24, 32, 102, 1002, END } },
    { "pl", "many", { 0, 5, 11, 12, 13, 14, 19, 21, 25, 100, 112, END } },
    { "uk", "one", { 1, 21, 31, 41, 101, 1001, END } },
    { "uk", "few", { 2, 3, 4, 22, 23, 24, 102, END } },
    { "uk", "many", { 0, 5, 11, 12, 14, 19, 20, 100, 111, END } },
    { "hr", "one", { 1, 21, 31, 101, END } },
    { "hr", "few", { 2, 3, 4, 22, 23, 24, 102, END } },
    { "hr", "other", { 0, 5, 11, 12, 14, 19, 20, 100, 111, END } },
    { "sl", "one", { 1, 101, 201, 1001, END } },
    { "sl", "two", { 2, 102, 202, END } },
    { "sl", "few", { 3, 4, 103, 104, 203, END } },
    { "sl", "other", { 0, 5, 11, 19, 100, 111, END } },
    { "lt", "one", { 1, 21, 31, 41, 101, END } },
    { "lt", "few", { 2, 3, 9, 22, 29, 102, END } },
    { "lt", "other", { 0, 10, 11, 12, 19, 20, 30, 111, 112, END } },
    { "lv", "zero", { 0, 10, 11, 12, 19, 20, 30, 100, 111, END } },
    { "lv", "one", { 1, 21, 31, 101, END } },
    { "lv", "other", { 2, 9, 22, 29, 102, END } },
    { "ro", "one", { 1, END } },
    { "ro", "few", { 0, 2, 16, 19, 101, 102, 119, 1001, END } },
    { "ro", "other", { 20, 35, 100, 120, 1000, END } },
    { "mt", "one", { 1, END } },
    { "mt", "two", { 2, END } },
    { "mt", "few", { 0, 3, 10, 103, 110, END } },
    { "mt", "many", { 11, 19, 111, 119, END } },
    { "mt", "other", { 20, 35, 100, 102, 120, END } },
    { "ga", "one", { 1, END } },
    { "ga", "two", { 2, END } },
    { "ga", "few", { 3, 4, 5, 6, END } },
    { "ga", "many", { 7, 8, 9, 10, END } },
    { "ga", "other", { 0, 11, 25, 100, END } },
    { "ar", "zero", { 0, END } },
    { "ar", "one", { 1, END } },
    { "ar", "two", { 2, END } },
    { "ar", "few", { 3, 10, 103, 110, 1003, END } },
    { "ar", "many", { 11, 26, 99, 111, 1011, END } },
    { "ar", "other", { 100, 101, 102, 200, 1000, END } },
    { "he", "one", { 1, END } },
    { "he", "two", { 2, END } },
    { "he", "other", { 0, 3, 10, 17, 20, 100, END } },
    { "ja", "other", { 0, 1, 2, 100, END } },
    { "ko", "other", { 0, 1, 2, END } },
    { "zh", "other", { 0, 1, 2, END } },
    { "tr", "one", { 1, END } },
    { "tr", "other", { 0, 2, 21, END } }
};


static void
test_cldr_samples(void **state)
{
    size_t         i, j;
    const char    *got;
    const sample_t  *s;

    (void) state;

    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        s = &samples[i];

        for (j = 0; s->samples[j] != END; j++) {
            got = ngx_http_consent_plural((const unsigned char *) s->lang,
                                          strlen(s->lang), s->samples[j]);

            if (strcmp(got, s->category) != 0) {
                fail_msg("%s %llu: \"%s\", CLDR says \"%s\"", s->lang,
                         (unsigned long long) s->samples[j], got,
                         s->category);
            }
        }
    }
}


static void
test_tags(void **state)
{
    (void) state;

    /* a region, a script, upper case: the language's rule */
    assert_string_equal(ngx_http_consent_plural(
                        (const unsigned char *) "pt-BR", 5, 0), "one");
    assert_string_equal(ngx_http_consent_plural(
                        (const unsigned char *) "PL", 2, 5), "many");
    assert_string_equal(ngx_http_consent_plural(
                        (const unsigned char *) "uk-UA", 5, 2), "few");

    /* another language, a longer subtag, nothing: "other" only */
    assert_string_equal(ngx_http_consent_plural(
                        (const unsigned char *) "sw", 2, 1), "other");
    assert_string_equal(ngx_http_consent_plural(
                        (const unsigned char *) "plx", 3, 1), "other");
    assert_string_equal(ngx_http_consent_plural(
                        (const unsigned char *) "", 0, 1), "other");
    assert_string_equal(ngx_http_consent_plural(
                        (const unsigned char *) "-pl", 3, 1), "other");

    /* the largest number */
    assert_string_equal(ngx_http_consent_plural(
                        (const unsigned char *) "en", 2, UINT64_MAX),
                        "other");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_cldr_samples),
        cmocka_unit_test(test_tags),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
