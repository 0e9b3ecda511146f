
/*
 * Copyright (C) nginx-consent developers
 *
 * Accept-Language: q-values, prefixes, exclusions, hostile input.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ngx_http_consent_lang.h"


#define L(s)  { (const unsigned char *) s, sizeof(s) - 1 }


static const ngx_http_consent_slice_t  en_fr[] = { L("en"), L("fr") };
static const ngx_http_consent_slice_t  many[] = {
    L("en"), L("fr"), L("de"), L("fr-ca"), L("pt-BR"), L("zh-Hant")
};


static int
pick(const char *h, const ngx_http_consent_slice_t *avail, size_t n,
    int fallback)
{
    return ngx_http_consent_lang_pick((const unsigned char *) h, strlen(h),
                                      avail, n, fallback);
}


static void
test_simple(void **state)
{
    (void) state;

    assert_int_equal(pick("fr", en_fr, 2, 0), 1);
    assert_int_equal(pick("en", en_fr, 2, 1), 0);
    assert_int_equal(pick("FR", en_fr, 2, 0), 1);
    assert_int_equal(pick("de", en_fr, 2, 0), 0);
    assert_int_equal(pick("de", en_fr, 2, 1), 1);
    assert_int_equal(pick("de", en_fr, 2, -1), -1);
    assert_int_equal(pick("", en_fr, 2, 0), 0);
}


static void
test_region(void **state)
{
    (void) state;

    /* the example */
    assert_int_equal(pick("fr-FR,fr;q=0.9", en_fr, 2, 0), 1);
    assert_int_equal(pick("fr-FR", en_fr, 2, 0), 1);
    assert_int_equal(pick("en-GB,en;q=0.9,fr;q=0.8", en_fr, 2, 1), 0);

    /* a prefix ends at a "-" */
    assert_int_equal(pick("fra", en_fr, 2, 0), 0);
    assert_int_equal(pick("frx-FR", en_fr, 2, 0), 0);

    /* the most specific language wins among equals */
    assert_int_equal(pick("fr-CA", many, 6, 0), 3);
    assert_int_equal(pick("fr-ca;q=0.5, fr", many, 6, 0), 1);
    assert_int_equal(pick("pt", many, 6, 0), 4);
    assert_int_equal(pick("zh-Hant-TW", many, 6, 0), 5);
    assert_int_equal(pick("zh-Hans", many, 6, 0), 0);
}


static void
test_qvalues(void **state)
{
    (void) state;

    assert_int_equal(pick("en;q=0.5, fr;q=0.8", en_fr, 2, 0), 1);
    assert_int_equal(pick("fr;q=0.5, en;q=0.8", en_fr, 2, 1), 0);
    assert_int_equal(pick("fr ; Q = 0.5 , en ; q=0.501", en_fr, 2, 1), 1);
    assert_int_equal(pick("fr ;q=0.5 ,en ;q=0.501", en_fr, 2, 1), 0);
    assert_int_equal(pick("fr;q=0.123,en;q=0.122", en_fr, 2, 0), 1);
    assert_int_equal(pick("fr;q=1.000,en;q=0.999", en_fr, 2, 0), 1);
    assert_int_equal(pick("de;q=1,fr;q=0.1", en_fr, 2, 0), 1);

    /* equal q: the first in the header */
    assert_int_equal(pick("fr, en", en_fr, 2, 0), 1);
    assert_int_equal(pick("en, fr", en_fr, 2, 1), 0);
    assert_int_equal(pick("fr;q=0.7, en;q=0.7", en_fr, 2, 0), 1);

    /* a bad q-value drops the range */
    assert_int_equal(pick("fr;q=2", en_fr, 2, 0), 0);
    assert_int_equal(pick("fr;q=1.5, en;q=0.1", en_fr, 2, 1), 0);
    assert_int_equal(pick("fr;q=abc", en_fr, 2, 0), 0);
    assert_int_equal(pick("fr;q=0.8888", en_fr, 2, 0), 0);
    assert_int_equal(pick("fr;q=", en_fr, 2, 0), 0);

    /* other parameters are ignored */
    assert_int_equal(pick("fr;level=1;q=0.9, en;q=0.5", en_fr, 2, 0), 1);
}


static void
test_exclusion(void **state)
{
    (void) state;

    assert_int_equal(pick("fr;q=0", en_fr, 2, 1), 1);
    assert_int_equal(pick("fr;q=0, *", en_fr, 2, 1), 0);
    assert_int_equal(pick("fr;q=0.0, *", en_fr, 2, 1), 0);
    assert_int_equal(pick("*, en;q=0", en_fr, 2, 0), 1);
    assert_int_equal(pick("fr;q=0, en;q=0", en_fr, 2, 1), 1);

    /* "*;q=0" leaves the named ones */
    assert_int_equal(pick("fr, *;q=0", en_fr, 2, 0), 1);

    /* excluding a region does not exclude the language */
    assert_int_equal(pick("fr-CA;q=0, fr;q=0.5", en_fr, 2, 0), 1);
    assert_int_equal(pick("fr-CA;q=0", many, 6, 1), 1);

    /* excluding the language excludes its regions, unless named */
    assert_int_equal(pick("fr;q=0, fr-CA;q=0.5, en;q=0.1", many, 6, 0), 3);
    assert_int_equal(pick("fr;q=0, *", many, 6, 1), 0);
}


static void
test_star(void **state)
{
    (void) state;

    /* "*" prefers the fallback */
    assert_int_equal(pick("*", en_fr, 2, 1), 1);
    assert_int_equal(pick("*", en_fr, 2, 0), 0);
    assert_int_equal(pick("de, *;q=0.5", en_fr, 2, 1), 1);
    assert_int_equal(pick("*;q=0.5, en;q=0.6", en_fr, 2, 1), 0);
    assert_int_equal(pick("*;q=0.5, en;q=0.4", en_fr, 2, 1), 1);
    assert_int_equal(pick("*", en_fr, 2, -1), 0);
    assert_int_equal(pick("**", en_fr, 2, 1), 1);
}


static void
test_hostile(void **state)
{
    int     r;
    char   *h;
    size_t  i, n;

    (void) state;

    assert_int_equal(pick(",,,;;;===", en_fr, 2, 0), 0);
    assert_int_equal(pick(";q=1,fr", en_fr, 2, 0), 1);
    assert_int_equal(pick("fr\x01, en", en_fr, 2, 1), 0);
    assert_int_equal(pick("en;q=0.5;q=0.9;q", en_fr, 2, 1), 0);
    assert_int_equal(pick("en;q=0.5;q=0", en_fr, 2, 1), 1);
    assert_int_equal(ngx_http_consent_lang_pick(NULL, 5, en_fr, 2, 1), 1);
    assert_int_equal(ngx_http_consent_lang_pick((const unsigned char *) "fr",
                                                2, NULL, 0, -1), -1);

    /* a range beyond the 32nd is not looked at */
    n = 64 * 4 + 3;
    h = malloc(n + 1);
    assert_non_null(h);

    for (i = 0; i < 64; i++) {
        memcpy(h + i * 4, "de, ", 4);
    }

    memcpy(h + 64 * 4, "fr", 3);
    assert_int_equal(pick(h, en_fr, 2, 0), 0);
    memcpy(h, "fr, ", 4);
    assert_int_equal(pick(h, en_fr, 2, 0), 1);
    free(h);

    /* a huge header: bounded, and the tail is not read */
    n = 1024 * 1024;
    h = malloc(n + 1);
    assert_non_null(h);
    memset(h, 'a', n);
    h[n] = '\0';
    memcpy(h + n - 3, ",fr", 3);
    r = pick(h, en_fr, 2, 0);
    assert_int_equal(r, 0);

    memset(h, ',', n);
    memcpy(h + n - 3, ",fr", 3);
    assert_int_equal(pick(h, en_fr, 2, 0), 0);
    free(h);

    /* an overlong tag is no range */
    assert_int_equal(pick("fr-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                          en_fr, 2, 0), 0);
}


static void
test_valid(void **state)
{
    (void) state;

#define V(s)  ngx_http_consent_lang_valid((const unsigned char *) s,         \
                                          sizeof(s) - 1)

    assert_true(V("en"));
    assert_true(V("fr-FR"));
    assert_true(V("zh-Hant-TW"));
    assert_true(V("es-419"));
    assert_true(V("x"));
    assert_false(V(""));
    assert_false(V("-"));
    assert_false(V("en-"));
    assert_false(V("-en"));
    assert_false(V("en--gb"));
    assert_false(V("e1"));
    assert_false(V("123"));
    assert_false(V("en_GB"));
    assert_false(V("en.json"));
    assert_false(V("../x"));
    assert_false(V("abcdefghi"));
    assert_false(V("en-abcdefghi"));
    assert_true(V("aaaaaaaa-bbbbbbbb-cccccccc-dddddddd"));
    assert_false(V("aaaaaaaa-bbbbbbbb-cccccccc-dddddddd-e"));

#undef V
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_simple),
        cmocka_unit_test(test_region),
        cmocka_unit_test(test_qvalues),
        cmocka_unit_test(test_exclusion),
        cmocka_unit_test(test_star),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_valid),
    };

    return cmocka_run_group_tests_name("lang", tests, NULL, NULL);
}
