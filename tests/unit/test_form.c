
/*
 * Copyright (C) nginx-consent developers
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_http_consent_form.h"


static ngx_http_consent_form_t  form;


static int
parse_form(const char *s)
{
    static unsigned char  buf[8192];
    size_t                len;

    len = strlen(s);
    memcpy(buf, s, len);

    return ngx_http_consent_form_parse(buf, len, &form);
}


static int
parse_json(const char *s)
{
    return ngx_http_consent_json_parse((const unsigned char *) s, strlen(s),
                                       &form);
}


static void
test_form_save(void **state)
{
    (void) state;

    assert_int_equal(parse_form("action=save&category=analytics"
                                "&category=marketing&category=analytics"
                                "&return=%2Fnews%3Fp%3D2&source=banner"
                                "&submit=OK"), 0);
    assert_int_equal(form.action, NGX_HTTP_CONSENT_SAVE);
    assert_int_equal(form.source, NGX_HTTP_CONSENT_SOURCE_BANNER);
    assert_int_equal(form.ncategories, 2);
    assert_memory_equal(form.categories[1].data, "marketing", 9);
    assert_int_equal(form.ret.len, 9);
    assert_memory_equal(form.ret.data, "/news?p=2", 9);
}


static void
test_form_errors(void **state)
{
    (void) state;

    assert_int_equal(parse_form(""), -1);
    assert_string_equal(form.error, "the form has no \"action\"");

    assert_int_equal(parse_form("action=accept_all&action=save"), -1);
    assert_string_equal(form.error, "\"action\" is given twice");

    assert_int_equal(parse_form("action=maybe"), -1);
    assert_int_equal(parse_form("action=save&category=Ads"), -1);
    assert_string_equal(form.error, "invalid category name");

    assert_int_equal(parse_form("action=save&category=%zz"), -1);
    assert_string_equal(form.error, "bad percent-encoding in the form");

    assert_int_equal(parse_form("action=save&category=a%"), -1);
    assert_int_equal(parse_form("action=save&source=elsewhere"), -1);

    /* defaults */

    assert_int_equal(parse_form("action=reject_all"), 0);
    assert_int_equal(form.source, NGX_HTTP_CONSENT_SOURCE_PAGE);
    assert_int_equal(form.ret.len, 0);
}


static void
test_json(void **state)
{
    (void) state;

    assert_int_equal(parse_json("{\"action\":\"save\",\"categories\":"
                                "[\"analytics\",\"analytics\",\"ads\"]}"), 0);
    assert_int_equal(form.action, NGX_HTTP_CONSENT_SAVE);
    assert_int_equal(form.source, NGX_HTTP_CONSENT_SOURCE_API);
    assert_int_equal(form.ncategories, 2);
    assert_memory_equal(form.categories[1].data, "ads", 3);

    assert_int_equal(parse_json("{\"action\":\"withdraw\","
                                "\"source\":\"page\"}"), 0);
    assert_int_equal(form.action, NGX_HTTP_CONSENT_WITHDRAW);
    assert_int_equal(form.source, NGX_HTTP_CONSENT_SOURCE_PAGE);

    assert_int_equal(parse_json("{\"action\":"), -1);
    assert_string_equal(form.error, "the body is not valid JSON");
    assert_int_equal(parse_json("[]"), -1);
    assert_int_equal(parse_json("{\"categories\":[]}"), -1);
    assert_int_equal(parse_json("{\"action\":\"save\",\"categories\":\"a\"}"),
                     -1);
    assert_int_equal(parse_json("{\"action\":\"save\",\"categories\":[1]}"),
                     -1);
    assert_int_equal(parse_json("{\"action\":\"save\",\"action\":\"save\"}"),
                     -1);
    assert_int_equal(parse_json("{\"action\":\"save\",\"categories\":"
                                "[\"a\\u0000b\"]}"), -1);

    /* escapes are decoded, other members are checked and ignored */

    assert_int_equal(parse_json(" {\"x\":{\"y\":[1,-2.5e+3,true,null,"
                                "\"\\u00e9\\ud83d\\ude00\"]},"
                                "\"act\\u0069on\":\"accept\\u005fall\","
                                "\"source\":\"banner\"}\r\n"), 0);
    assert_int_equal(form.action, NGX_HTTP_CONSENT_ACCEPT_ALL);
    assert_int_equal(form.source, NGX_HTTP_CONSENT_SOURCE_BANNER);

    assert_int_equal(parse_json("{\"action\":\"save\",\"categories\":"
                                "[\"a\\u006ealytics\", \"ads\" ]}"), 0);
    assert_int_equal(form.ncategories, 2);
    assert_memory_equal(form.categories[0].data, "analytics", 9);
    assert_memory_equal(form.categories[1].data, "ads", 3);

    /* not JSON: each of these is refused as such */

    {
        size_t       i;
        const char  *bad[] = {
            "", "{", "{\"action\":\"save\",}", "{\"action\" \"save\"}",
            "{\"action\":\"save\"} x", "{\"a\":01}", "{\"a\":1.}",
            "{\"a\":-}", "{\"a\":1e}", "{\"a\":tru}", "{\"a\":[1,]}",
            "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
            "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\t\"}",
            "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
            "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe2\x82\"}",
            "{'action':'save'}"
        };

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            if (parse_json(bad[i]) != -1
                || strcmp(form.error, "the body is not valid JSON") != 0)
            {
                fail_msg("\"%s\" is not refused as not JSON", bad[i]);
            }
        }
    }

    /* JSON, but not a consent */

    assert_int_equal(parse_json("{\"action\":\"save\",\"action\":\"save\"}"),
                     -1);
    assert_string_equal(form.error, "a member of the JSON body is given twice");
    assert_int_equal(parse_json("{\"action\":\"savex\"}"), -1);
    assert_int_equal(parse_json("{\"action\":\"accept_all_accept_all\"}"),
                     -1);
    assert_int_equal(parse_json("{\"action\":1}"), -1);
    assert_string_equal(form.error, "the JSON body has no \"action\" string");
    assert_int_equal(parse_json("{\"action\":\"save\",\"source\":null}"),
                     -1);
    assert_string_equal(form.error, "\"source\" is not a string");
    assert_int_equal(parse_json("{\"action\":\"save\",\"categories\":"
                                "[\"abcdefghijabcdefghijabcdefghijabc\"]}"),
                     -1);
    assert_string_equal(form.error, "invalid category name");
    assert_int_equal(parse_json("\"save\""), -1);
    assert_string_equal(form.error, "the JSON body is not an object");

    {
        char    deep[200];
        size_t  i, n;

        /* 31 arrays inside the object: the limit; 32 are too many */

        for (n = 31; n <= 32; n++) {
            strcpy(deep, "{\"action\":\"save\",\"x\":");
            for (i = 0; i < n; i++) {
                strcat(deep, "[");
            }
            for (i = 0; i < n; i++) {
                strcat(deep, "]");
            }
            strcat(deep, "}");

            assert_int_equal(parse_json(deep), n == 31 ? 0 : -1);
        }

        assert_string_equal(form.error, "the JSON body is nested too deeply");
    }
}


static void
test_safe_return(void **state)
{
    size_t       i;
    const char  *good[] = { "/", "/news", "/a/b?c=d&e=%2F#top", "/%2F%2Fx" };
    const char  *bad[] = {
        "", "news", "//evil.example", "/\\evil.example", "\\\\evil",
        "http://evil.example/", "https:evil", "/a\r\nSet-Cookie: x=1",
        "/a\nb", "/a b", "/\t/evil.example", "/caf\xc3\xa9",
        "javascript:alert(1)", " /x"
    };

    (void) state;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!ngx_http_consent_safe_return((const unsigned char *) good[i],
                                          strlen(good[i])))
        {
            fail_msg("refused \"%s\"", good[i]);
        }
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ngx_http_consent_safe_return((const unsigned char *) bad[i],
                                         strlen(bad[i])))
        {
            fail_msg("accepted \"%s\"", bad[i]);
        }
    }

    /* an unsafe "return" in a form is dropped, not an error */

    assert_int_equal(parse_form("action=save&return=%2F%2Fevil.example"), 0);
    assert_int_equal(form.ret.len, 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_form_save),
        cmocka_unit_test(test_form_errors),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_safe_return),
    };

    return cmocka_run_group_tests_name("form", tests, NULL, NULL);
}
