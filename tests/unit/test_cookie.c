
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

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_http_consent_cookie.h"


static const unsigned char  key[] = "0123456789abcdef0123456789abcdef";
static const unsigned char  other[] = "fedcba9876543210fedcba9876543210";

static ngx_http_consent_hmac_t  hkey, hother, hshort;


static int
setup(void **state)
{
    (void) state;

    if (ngx_http_consent_hmac_init(&hkey, key, 32) != 0
        || ngx_http_consent_hmac_init(&hother, other, 32) != 0
        || ngx_http_consent_hmac_init(&hshort, key, 31) != 0)
    {
        return -1;
    }

    return 0;
}


static int
teardown(void **state)
{
    (void) state;

    ngx_http_consent_hmac_free(&hkey);
    ngx_http_consent_hmac_free(&hother);
    ngx_http_consent_hmac_free(&hshort);

    return 0;
}


static void
make_cookie(ngx_http_consent_cookie_t *c)
{
    size_t  i;

    memset(c, 0, sizeof(*c));

    for (i = 0; i < NGX_HTTP_CONSENT_ID_LEN; i++) {
        c->id[i] = (unsigned char) (i * 17 + 3);
    }

    c->iat = 1790000000;
    c->revision = 3;
    c->granted[0].data = (const unsigned char *) "necessary";
    c->granted[0].len = 9;
    c->granted[1].data = (const unsigned char *) "analytics";
    c->granted[1].len = 9;
    c->ngranted = 2;
    c->refused[0].data = (const unsigned char *) "marketing";
    c->refused[0].len = 9;
    c->nrefused = 1;

    ngx_http_consent_cookie_kid(c->kid, key, 32);
}


static size_t
encode(unsigned char *out, size_t size)
{
    long                       n;
    ngx_http_consent_cookie_t  c;

    make_cookie(&c);
    n = ngx_http_consent_cookie_encode(out, size, &c, &hkey);
    assert_true(n > 0);

    return (size_t) n;
}


static void
test_round_trip(void **state)
{
    size_t                     len;
    unsigned char              buf[512];
    ngx_http_consent_cookie_t  in, out;

    (void) state;

    len = encode(buf, sizeof(buf));
    make_cookie(&in);

    assert_int_equal(ngx_http_consent_cookie_parse(buf, len, &out),
                     NGX_HTTP_CONSENT_COOKIE_OK);
    assert_int_equal(ngx_http_consent_cookie_verify(&out, &hkey),
                     NGX_HTTP_CONSENT_COOKIE_OK);

    assert_memory_equal(out.id, in.id, NGX_HTTP_CONSENT_ID_LEN);
    assert_int_equal(out.iat, in.iat);
    assert_int_equal(out.revision, 3);
    assert_int_equal(out.ngranted, 2);
    assert_int_equal(out.nrefused, 1);
    assert_memory_equal(out.granted[1].data, "analytics", 9);
    assert_memory_equal(out.refused[0].data, "marketing", 9);
    assert_memory_equal(out.kid, in.kid, NGX_HTTP_CONSENT_KID_LEN);

    /* every character is a cookie-octet: no quoting needed */

    for (size_t i = 0; i < len; i++) {
        assert_true(buf[i] > 0x20 && buf[i] < 0x7f && buf[i] != '"'
                    && buf[i] != ',' && buf[i] != ';' && buf[i] != '\\');
    }
}


static void
test_empty_lists(void **state)
{
    long                       n;
    unsigned char              buf[512];
    ngx_http_consent_cookie_t  c, out;

    (void) state;

    make_cookie(&c);
    c.ngranted = 0;
    c.nrefused = 0;

    n = ngx_http_consent_cookie_encode(buf, sizeof(buf), &c, &hkey);
    assert_true(n > 0);
    assert_int_equal(ngx_http_consent_cookie_parse(buf, n, &out),
                     NGX_HTTP_CONSENT_COOKIE_OK);
    assert_int_equal(ngx_http_consent_cookie_verify(&out, &hkey),
                     NGX_HTTP_CONSENT_COOKIE_OK);
    assert_int_equal(out.ngranted, 0);
    assert_int_equal(out.nrefused, 0);
}


/* any single byte changed to any other value is refused */

static void
test_every_byte_flip(void **state)
{
    int                        v, rc;
    size_t                     len, i;
    unsigned char              buf[512], copy[512];
    ngx_http_consent_cookie_t  out;

    (void) state;

    len = encode(buf, sizeof(buf));

    for (i = 0; i < len; i++) {
        for (v = 0; v < 256; v++) {
            if (v == buf[i]) {
                continue;
            }

            memcpy(copy, buf, len);
            copy[i] = (unsigned char) v;

            rc = ngx_http_consent_cookie_parse(copy, len, &out);

            if (rc == NGX_HTTP_CONSENT_COOKIE_OK) {
                rc = ngx_http_consent_cookie_verify(&out, &hkey);
            }

            if (rc == NGX_HTTP_CONSENT_COOKIE_OK) {
                fail_msg("byte %zu set to %d still verifies", i, v);
            }
        }
    }
}


static void
test_wrong_key(void **state)
{
    size_t                     len;
    unsigned char              buf[512];
    ngx_http_consent_cookie_t  out;

    (void) state;

    len = encode(buf, sizeof(buf));

    assert_int_equal(ngx_http_consent_cookie_parse(buf, len, &out),
                     NGX_HTTP_CONSENT_COOKIE_OK);
    assert_int_equal(ngx_http_consent_cookie_verify(&out, &hother),
                     NGX_HTTP_CONSENT_COOKIE_BAD_MAC);
    assert_int_equal(ngx_http_consent_cookie_verify(&out, &hshort),
                     NGX_HTTP_CONSENT_COOKIE_BAD_MAC);
}


static void
test_kid(void **state)
{
    unsigned char  a[NGX_HTTP_CONSENT_KID_LEN], b[NGX_HTTP_CONSENT_KID_LEN];
    unsigned char  c[NGX_HTTP_CONSENT_KID_LEN];

    (void) state;

    ngx_http_consent_cookie_kid(a, key, 32);
    ngx_http_consent_cookie_kid(b, other, 32);
    ngx_http_consent_cookie_kid(c, key, 32);

    assert_memory_not_equal(a, b, NGX_HTTP_CONSENT_KID_LEN);
    assert_memory_equal(a, c, NGX_HTTP_CONSENT_KID_LEN);
}


static void
expect_malformed(const char *s)
{
    ngx_http_consent_cookie_t  out;

    if (ngx_http_consent_cookie_parse((const unsigned char *) s, strlen(s),
                                      &out)
        != NGX_HTTP_CONSENT_COOKIE_MALFORMED)
    {
        fail_msg("accepted: \"%s\"", s);
    }
}


static void
test_malformed(void **state)
{
    size_t                     len;
    unsigned char              buf[NGX_HTTP_CONSENT_COOKIE_MAX * 2];
    ngx_http_consent_cookie_t  out;

    (void) state;

    expect_malformed("");
    expect_malformed("1");
    expect_malformed("1.");
    expect_malformed("2.AAAAAAAAAAAAAAAAAAAAAA.1.1...00000000."
                     "AAAAAAAAAAAAAAAAAAAAAA");
    expect_malformed("1.AAAAAAAAAAAAAAAAAAAAAA.1.1...0000000."
                     "AAAAAAAAAAAAAAAAAAAAAA");
    expect_malformed("1.AAAAAAAAAAAAAAAAAAAAA.1.1...00000000."
                     "AAAAAAAAAAAAAAAAAAAAAA");
    expect_malformed("1.AAAAAAAAAAAAAAAAAAAAAA.01.1...00000000."
                     "AAAAAAAAAAAAAAAAAAAAAA");
    expect_malformed("1.AAAAAAAAAAAAAAAAAAAAAA.-1.1...00000000."
                     "AAAAAAAAAAAAAAAAAAAAAA");
    expect_malformed("1.AAAAAAAAAAAAAAAAAAAAAA.99999999999999999999.1..."
                     "00000000.AAAAAAAAAAAAAAAAAAAAAA");
    expect_malformed("1.AAAAAAAAAAAAAAAAAAAAAA.1.1.Bad...00000000."
                     "AAAAAAAAAAAAAAAAAAAAAA");
    expect_malformed("1.AAAAAAAAAAAAAAAAAAAAAA.1.1.a~~b..00000000."
                     "AAAAAAAAAAAAAAAAAAAAAA");
    expect_malformed("1.AAAAAAAAAAAAAAAAAAAAAA.1.1.a.b.0000000g."
                     "AAAAAAAAAAAAAAAAAAAAAA");
    expect_malformed("1.AAAAAAAAAAAAAAAAAAAAAA.1.1.a.b.00000000."
                     "AAAAAAAAAAAAAAAAAAAAA=");
    expect_malformed("1.AAAAAAAAAAAAAAAAAAAAAA.1.1.a.b.00000000."
                     "AAAAAAAAAAAAAAAAAAAAAB");
    expect_malformed("1.AAAAAAAAAAAAAAAAAAAAAA.1.1.a.b.00000000."
                     "AAAAAAAAAAAAAAAAAAAAAA.");
    expect_malformed("1.AAAAAAAAAAAAAAAAAAAAAA.1.1.a.b.c.00000000."
                     "AAAAAAAAAAAAAAAAAAAAAA");

    /* oversized: a valid start padded with a huge category list */

    memset(buf, 'a', sizeof(buf));
    memcpy(buf, "1.AAAAAAAAAAAAAAAAAAAAAA.1.1.", 29);
    len = sizeof(buf);
    assert_int_equal(ngx_http_consent_cookie_parse(buf, len, &out),
                     NGX_HTTP_CONSENT_COOKIE_MALFORMED);

    /* NUL bytes inside */

    len = encode(buf, sizeof(buf));
    buf[30] = '\0';
    assert_int_not_equal(ngx_http_consent_cookie_parse(buf, len, &out),
                         NGX_HTTP_CONSENT_COOKIE_OK);
}


static void
test_too_many_names(void **state)
{
    char                       s[4096];
    size_t                     i, n;
    ngx_http_consent_cookie_t  out;

    (void) state;

    n = (size_t) sprintf(s, "1.AAAAAAAAAAAAAAAAAAAAAA.1.1.");

    for (i = 0; i < NGX_HTTP_CONSENT_MAX_CATEGORIES + 1; i++) {
        n += (size_t) sprintf(s + n, "%sc%zu", i ? "~" : "", i);
    }

    n += (size_t) sprintf(s + n, "..00000000.AAAAAAAAAAAAAAAAAAAAAA");

    assert_int_equal(ngx_http_consent_cookie_parse((unsigned char *) s, n,
                                                   &out),
                     NGX_HTTP_CONSENT_COOKIE_MALFORMED);
}


static void
test_small_buffer(void **state)
{
    long                       n;
    size_t                     len, size;
    unsigned char              buf[512];
    ngx_http_consent_cookie_t  c;

    (void) state;

    len = encode(buf, sizeof(buf));
    make_cookie(&c);

    for (size = 0; size < len; size++) {
        n = ngx_http_consent_cookie_encode(buf, size, &c, &hkey);
        assert_int_equal(n, NGX_HTTP_CONSENT_COOKIE_TOO_SMALL);
    }

    assert_int_equal(ngx_http_consent_cookie_encode(buf, len, &c, &hkey),
                     (long) len);
}


static void
test_base64url(void **state)
{
    int            n;
    size_t         len, i;
    unsigned char  src[64], enc[128], dec[64];

    (void) state;

    for (i = 0; i < sizeof(src); i++) {
        src[i] = (unsigned char) (i * 37 + 11);
    }

    for (len = 0; len < sizeof(src); len++) {
        size_t  elen = ngx_http_consent_base64url_encode(enc, src, len);

        n = ngx_http_consent_base64url_decode(dec, sizeof(dec), enc, elen);
        assert_int_equal(n, (int) len);
        assert_memory_equal(dec, src, len);
    }

    assert_int_equal(ngx_http_consent_base64url_decode(dec, 1,
                         (const unsigned char *) "AAAA", 4), -1);
    assert_int_equal(ngx_http_consent_base64url_decode(dec, 8,
                         (const unsigned char *) "A", 1), -1);
    assert_int_equal(ngx_http_consent_base64url_decode(dec, 8,
                         (const unsigned char *) "AA+A", 4), -1);
}


static void
test_valid_name(void **state)
{
    (void) state;

    assert_true(ngx_http_consent_valid_name((const unsigned char *) "a", 1));
    assert_true(ngx_http_consent_valid_name(
                    (const unsigned char *) "ad_storage2", 11));
    assert_false(ngx_http_consent_valid_name((const unsigned char *) "", 0));
    assert_false(ngx_http_consent_valid_name((const unsigned char *) "1a", 2));
    assert_false(ngx_http_consent_valid_name((const unsigned char *) "a-b",
                                             3));
    assert_false(ngx_http_consent_valid_name((const unsigned char *) "aB",
                                             2));
    assert_false(ngx_http_consent_valid_name(
        (const unsigned char *) "abcdefghijabcdefghijabcdefghijabc", 33));
}


/* the precomputed HMAC agrees with OpenSSL's HMAC() for any key length */

static void
test_cookie_name_valid(void **state)
{
    size_t       i;
    const char  *good[] = { "consent", "_ga_*", "a-b.c", "X!#$%&'*+^`|~" };
    const char  *bad[] = { "", "a b", "a;b", "a=b", "a,b", "a\"b", "a\\b",
                           "a/b", "a\tb", "caf\xc3\xa9", "a\x7f" };

    (void) state;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_true(ngx_http_consent_cookie_name_valid(
                        (const unsigned char *) good[i], strlen(good[i])));
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(ngx_http_consent_cookie_name_valid(
                         (const unsigned char *) bad[i], strlen(bad[i])));
    }

    /* a NUL in the middle is not the end of the name */

    assert_false(ngx_http_consent_cookie_name_valid(
                     (const unsigned char *) "a\0b", 3));
}


static void
test_hmac_reference(void **state)
{
    long                       n;
    size_t                     klen;
    unsigned int               mlen;
    unsigned char              k[200], out[512], ref[32];
    ngx_http_consent_hmac_t    h;
    ngx_http_consent_cookie_t  c, p;

    (void) state;

    for (klen = 0; klen < sizeof(k); klen++) {
        k[klen] = (unsigned char) (klen * 7 + 1);
    }

    make_cookie(&c);

    for (klen = 1; klen <= sizeof(k); klen += 13) {
        assert_int_equal(ngx_http_consent_hmac_init(&h, k, klen), 0);

        n = ngx_http_consent_cookie_encode(out, sizeof(out), &c, &h);
        assert_true(n > 0);
        assert_int_equal(ngx_http_consent_cookie_parse(out, n, &p), 0);

        HMAC(EVP_sha256(), k, (int) klen, p.signed_part.data,
             p.signed_part.len, ref, &mlen);

        assert_memory_equal(p.mac, ref, NGX_HTTP_CONSENT_MAC_LEN);
        assert_int_equal(ngx_http_consent_cookie_verify(&p, &h), 0);

        ngx_http_consent_hmac_free(&h);
    }
}


/* the state a cookie has under a configuration */

static const ngx_http_consent_slice_t  names[] = {
    { (const unsigned char *) "necessary", 9 },
    { (const unsigned char *) "analytics", 9 },
    { (const unsigned char *) "marketing", 9 },
    { (const unsigned char *) "video", 5 },
};


static int
check(ngx_http_consent_cookie_t *c, ngx_http_consent_hmac_t *h,
    size_t nnames, uint64_t revision, ngx_http_consent_verdict_t *v)
{
    long                       n;
    unsigned char              buf[512];
    ngx_http_consent_key_t     keys[2];
    ngx_http_consent_policy_t  p;

    n = ngx_http_consent_cookie_encode(buf, sizeof(buf), c, h);
    assert_true(n > 0);

    memcpy(keys[0].kid, "00000000", 8);
    keys[0].hmac = hother;
    ngx_http_consent_cookie_kid(keys[0].kid, other, 32);
    keys[1].hmac = hkey;
    ngx_http_consent_cookie_kid(keys[1].kid, key, 32);

    memset(&p, 0, sizeof(p));
    p.names = names;
    p.nnames = nnames;
    p.required = 1;
    p.revision = revision;
    p.max_age = 180 * 86400;
    p.keys = keys;
    p.nkeys = 2;

    return ngx_http_consent_cookie_check(buf, (size_t) n, &p,
                                         1790000000 + 3600, v);
}


static void
test_check(void **state)
{
    ngx_http_consent_cookie_t   c;
    ngx_http_consent_verdict_t  v;

    (void) state;

    /* signed by the second key: valid, and flagged for re-issue */

    make_cookie(&c);
    assert_int_equal(check(&c, &hkey, 3, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_VALID);
    assert_int_equal(v.key, 1);
    assert_int_equal(v.granted, 3);
    assert_int_equal(v.refused, 4);

    /* signed by the first key: no re-issue */

    ngx_http_consent_cookie_kid(c.kid, other, 32);
    assert_int_equal(check(&c, &hother, 3, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_VALID);
    assert_int_equal(v.key, 0);

    /* a kid naming one key, a MAC of the other */

    make_cookie(&c);
    assert_int_equal(check(&c, &hother, 3, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_INVALID);
    assert_string_equal(v.reason, "has a bad signature");
    assert_int_equal(v.granted, 1);

    /* an unknown key */

    make_cookie(&c);
    memcpy(c.kid, "deadbeef", 8);
    assert_int_equal(check(&c, &hkey, 3, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_INVALID);
    assert_string_equal(v.reason, "is signed by an unknown key");

    /* another revision */

    make_cookie(&c);
    assert_int_equal(check(&c, &hkey, 3, 4, &v),
                     NGX_HTTP_CONSENT_CHECK_OUTDATED);
    assert_string_equal(v.reason, "is of another revision");

    /* expiry: 180 days and one second before now, and exactly 180 days */

    make_cookie(&c);
    c.iat = 1790000000 + 3600 - 180 * 86400 - 1;
    assert_int_equal(check(&c, &hkey, 3, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_OUTDATED);
    assert_string_equal(v.reason, "is older than max_age");
    c.iat += 1;
    assert_int_equal(check(&c, &hkey, 3, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_VALID);

    /* issued in the future, beyond the clock skew */

    make_cookie(&c);
    c.iat = 1790000000 + 3600 + NGX_HTTP_CONSENT_CLOCK_SKEW + 1;
    assert_int_equal(check(&c, &hkey, 3, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_INVALID);
    assert_string_equal(v.reason, "was issued in the future");

    /* a category declared since: outdated */

    make_cookie(&c);
    assert_int_equal(check(&c, &hkey, 4, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_OUTDATED);
    assert_string_equal(v.reason, "does not decide every category");

    /* a retired name is ignored */

    make_cookie(&c);
    c.granted[2].data = (const unsigned char *) "retired";
    c.granted[2].len = 7;
    c.ngranted = 3;
    assert_int_equal(check(&c, &hkey, 3, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_VALID);
    assert_int_equal(v.granted, 3);

    /* a required category cannot be refused; refused wins over granted */

    make_cookie(&c);
    c.refused[0].data = (const unsigned char *) "necessary";
    c.refused[1].data = (const unsigned char *) "analytics";
    c.refused[1].len = 9;
    c.refused[2].data = (const unsigned char *) "marketing";
    c.refused[2].len = 9;
    c.nrefused = 3;
    assert_int_equal(check(&c, &hkey, 3, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_VALID);
    assert_int_equal(v.granted, 1);
    assert_int_equal(v.refused, 6);

    /* a required category need not be named */

    make_cookie(&c);
    c.granted[0] = c.granted[1];
    c.ngranted = 1;
    assert_int_equal(check(&c, &hkey, 3, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_VALID);
    assert_int_equal(v.granted, 3);
}


/*
 * consent_regime opt-out: format 2, "2.ID.IAT.REV.GRANTED.REFUSED.out.KID
 * .MAC", under the MAC; opt-in keeps format 1, which means opt-in
 */

static void
test_regime(void **state)
{
    long                        n, m;
    size_t                      i, len;
    unsigned char               buf[512], bad[512], *p;
    ngx_http_consent_cookie_t   c, out;
    ngx_http_consent_verdict_t  v;

    (void) state;

    memset(buf, 0, sizeof(buf));
    memset(bad, 0, sizeof(bad));

    make_cookie(&c);
    c.opt_out = 1;

    n = ngx_http_consent_cookie_encode(buf, sizeof(buf), &c, &hkey);
    assert_true(n > 0);
    assert_memory_equal(buf, "2.", 2);

    p = (unsigned char *) strstr((char *) buf, ".marketing.out.");
    assert_non_null(p);
    assert_true(p < buf + n);

    memset(&out, 0, sizeof(out));
    assert_int_equal(ngx_http_consent_cookie_parse(buf, (size_t) n, &out),
                     NGX_HTTP_CONSENT_COOKIE_OK);
    assert_int_equal(out.opt_out, 1);
    assert_int_equal(out.ngranted, 2);
    assert_int_equal(out.nrefused, 1);
    assert_memory_equal(out.refused[0].data, "marketing", 9);
    assert_memory_equal(out.kid, c.kid, NGX_HTTP_CONSENT_KID_LEN);
    assert_int_equal(ngx_http_consent_cookie_verify(&out, &hkey),
                     NGX_HTTP_CONSENT_COOKIE_OK);

    /* "in" is no value: opt-in is format 1, one encoding per value */

    len = (size_t) n;
    memcpy(bad, buf, len);
    i = (size_t) (p - buf) + sizeof(".marketing.") - 1;
    memmove(bad + i, bad + i + 1, len - i - 1);
    bad[i] = 'i';
    bad[i + 1] = 'n';

    assert_int_equal(ngx_http_consent_cookie_parse(bad, len - 1, &out),
                     NGX_HTTP_CONSENT_COOKIE_MALFORMED);

    /* the regime is signed: format 2 made format 1 fails the MAC */

    memcpy(bad, buf, len);
    memmove(bad + i, bad + i + 4, len - i - 4);
    bad[0] = '1';

    assert_int_equal(ngx_http_consent_cookie_parse(bad, len - 4, &out),
                     NGX_HTTP_CONSENT_COOKIE_OK);
    assert_int_equal(out.opt_out, 0);
    assert_int_equal(ngx_http_consent_cookie_verify(&out, &hkey),
                     NGX_HTTP_CONSENT_COOKIE_BAD_MAC);

    /* nor does a byte flipped anywhere pass */

    for (i = 0; i < len; i++) {
        memcpy(bad, buf, len);
        bad[i] ^= 0x01;

        assert_false(ngx_http_consent_cookie_parse(bad, len, &out)
                         == NGX_HTTP_CONSENT_COOKIE_OK
                     && ngx_http_consent_cookie_verify(&out, &hkey)
                         == NGX_HTTP_CONSENT_COOKIE_OK);
    }

    /* format 1 is opt-in, and is what an opt-in choice is written in */

    c.opt_out = 0;

    memset(bad, 0, sizeof(bad));
    m = ngx_http_consent_cookie_encode(bad, sizeof(bad), &c, &hkey);
    assert_int_equal(m, n - (long) (sizeof("out.") - 1));
    assert_memory_equal(bad, "1.", 2);
    assert_null(strstr((char *) bad, ".out."));

    out.opt_out = 1;
    assert_int_equal(ngx_http_consent_cookie_parse(bad, (size_t) m, &out),
                     NGX_HTTP_CONSENT_COOKIE_OK);
    assert_int_equal(out.opt_out, 0);

    /* a format 1 value with a regime, or a format 2 one without: no */

    memcpy(bad, buf, len);
    bad[0] = '1';
    assert_int_equal(ngx_http_consent_cookie_parse(bad, len, &out),
                     NGX_HTTP_CONSENT_COOKIE_MALFORMED);

    m = ngx_http_consent_cookie_encode(bad, sizeof(bad), &c, &hkey);
    bad[0] = '2';
    assert_int_equal(ngx_http_consent_cookie_parse(bad, (size_t) m, &out),
                     NGX_HTTP_CONSENT_COOKIE_MALFORMED);

    /* another word for the regime, or format 3: no */

    memcpy(bad, buf, len);
    i = (size_t) (p - buf) + sizeof(".marketing.") - 1;
    memcpy(bad + i, "opt", 3);
    assert_int_equal(ngx_http_consent_cookie_parse(bad, len, &out),
                     NGX_HTTP_CONSENT_COOKIE_MALFORMED);

    memcpy(bad, buf, len);
    bad[0] = '3';
    assert_int_equal(ngx_http_consent_cookie_parse(bad, len, &out),
                     NGX_HTTP_CONSENT_COOKIE_MALFORMED);

    /* too small a buffer for the regime */

    assert_true(ngx_http_consent_cookie_encode(bad, len - 1, &c, &hkey) > 0);
    c.opt_out = 1;
    assert_int_equal(ngx_http_consent_cookie_encode(bad, len - 1, &c, &hkey),
                     NGX_HTTP_CONSENT_COOKIE_TOO_SMALL);

    /* under a policy: valid, and the verdict carries the regime */

    assert_int_equal(check(&c, &hkey, 3, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_VALID);
    assert_int_equal(v.cookie.opt_out, 1);
    assert_int_equal(v.granted, 3);
    assert_int_equal(v.refused, 4);

    c.opt_out = 0;
    assert_int_equal(check(&c, &hkey, 3, 3, &v),
                     NGX_HTTP_CONSENT_CHECK_VALID);
    assert_int_equal(v.cookie.opt_out, 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_lists),
        cmocka_unit_test(test_every_byte_flip),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_kid),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_too_many_names),
        cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_valid_name),
        cmocka_unit_test(test_cookie_name_valid),
        cmocka_unit_test(test_hmac_reference),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_regime),
    };

    return cmocka_run_group_tests_name("cookie", tests, setup, teardown);
}
