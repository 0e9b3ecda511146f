
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * The consent log record core: encodings, canonical form, sealing and
 * checking one line, and the chain verifier against tampering: a changed
 * byte, a deleted line, an inserted line, two lines swapped, a record from
 * another log spliced in, a truncated last line.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "ngx_http_consent_cookie.h"
#include "ngx_http_consent_record.h"
#include "consent_audit_chain.h"
#include "ed25519_keys.h"

/*
 * The chain verifier lives in tools/ (consent-audit only); the unit and
 * fuzz rules link the pure cores alone, so it is built in here.
 */
#include "consent_audit_chain.c"


#define LOG_MAX    (64 * 1024)
#define ERR_MAX    32


typedef struct {
    size_t                          n;
    size_t                          line[ERR_MAX];
    consent_audit_chain_error_e  error[ERR_MAX];
    uint64_t                        records;
} errors_t;


/* a log of n records, the first a policy record, signed with k */

static size_t
make_log(EVP_PKEY *k, uint64_t n, const char *node, char *out, size_t size)
{
    char           *p, id[8];
    size_t          len;
    json_t         *rec;
    uint64_t        seq;
    unsigned char   prev[32];

    memcpy(prev, ngx_http_consent_record_genesis, 32);
    p = out;

    for (seq = 1; seq <= n; seq++) {
        snprintf(id, sizeof(id), "id%llu", (unsigned long long) seq);

        if (seq == 1) {
            rec = json_pack("{s:s, s:i, s:{s:{s:s}}, s:s}", "type", "policy",
                            "revision", 1, "texts", "fr", "title",
                            "Vos choix \xc3\xa0 propos des cookies",
                            "node", node);

        } else {
            rec = json_pack("{s:s, s:s, s:s, s:[s], s:[s], s:s, s:b}",
                            "type", "consent", "id", id,
                            "action", "save", "granted", "analytics",
                            "denied", "marketing", "node", node,
                            "gpc", 0);
        }

        assert_non_null(rec);

        len = ngx_http_consent_record_seal(rec, seq, prev, k, p,
                                           size - (p - out), prev);
        assert_true(len > 0 && len <= size - (size_t) (p - out));
        assert_int_equal(p[len - 1], '\n');

        p += len;
        json_decref(rec);
    }

    *p = '\0';

    return p - out;
}


static void
report(void *data, const char *file, size_t line,
    consent_audit_chain_error_e error, const char *message)
{
    errors_t  *e = data;

    (void) file;
    (void) message;

    if (e->n < ERR_MAX) {
        e->line[e->n] = line;
        e->error[e->n] = error;
        e->n++;
    }
}


/* what consent-audit verify does, for one buffer */

static void
verify(const char *log, size_t size, EVP_PKEY *k, errors_t *e)
{
    char                             *scratch;
    size_t                            line;
    const char                       *p, *end, *nl;
    consent_audit_chain_t          chain;
    ngx_http_consent_record_check_t   r;

    memset(e, 0, sizeof(*e));
    scratch = malloc(LOG_MAX);
    assert_non_null(scratch);

    consent_audit_chain_init(&chain, report, e);

    p = log;
    end = log + size;
    line = 0;

    while (p < end) {
        line++;
        nl = memchr(p, '\n', end - p);

        ngx_http_consent_record_check(p, (nl ? nl : end) - p, k, scratch,
                                      LOG_MAX, &r);

        if (nl == NULL) {
            r.status = NGX_HTTP_CONSENT_RECORD_TRUNCATED;
        }

        consent_audit_chain_feed(&chain, "test.log", line, &r);
        p = nl ? nl + 1 : end;
    }

    consent_audit_chain_end(&chain);
    e->records = chain.records;

    free(scratch);
}


/* what consent-audit verify --fast does: scan all, check the last line */

static void
verify_fast(const char *log, size_t size, EVP_PKEY *k, errors_t *e)
{
    char                             *scratch;
    size_t                            line;
    const char                       *p, *end, *nl;
    consent_audit_chain_t          chain;
    ngx_http_consent_record_check_t   r;

    memset(e, 0, sizeof(*e));
    scratch = malloc(LOG_MAX);
    assert_non_null(scratch);

    consent_audit_chain_init(&chain, report, e);

    p = log;
    end = log + size;
    line = 0;

    while (p < end) {
        line++;
        nl = memchr(p, '\n', end - p);

        if (nl == NULL || nl + 1 == end
            || consent_audit_record_scan(p, nl - p, scratch, LOG_MAX, &r)
               != 0)
        {
            ngx_http_consent_record_check(p, (nl ? nl : end) - p, k, scratch,
                                          LOG_MAX, &r);
        }

        if (nl == NULL) {
            r.status = NGX_HTTP_CONSENT_RECORD_TRUNCATED;
        }

        consent_audit_chain_feed(&chain, "test.log", line, &r);
        p = nl ? nl + 1 : end;
    }

    consent_audit_chain_end(&chain);
    e->records = chain.records;

    free(scratch);
}


static int
has_error(errors_t *e, size_t line, consent_audit_chain_error_e error)
{
    size_t  i;

    for (i = 0; i < e->n; i++) {
        if (e->line[i] == line && e->error[i] == error) {
            return 1;
        }
    }

    return 0;
}


/* the start of line n (1-based) */

static char *
line_at(char *log, size_t n)
{
    while (--n) {
        log = strchr(log, '\n') + 1;
    }

    return log;
}


static size_t
line_len(const char *line)
{
    return strchr(line, '\n') - line + 1;
}


static void
test_encodings(void **state)
{
    char           out[128];
    size_t         n;
    unsigned char  raw[64], back[64];

    (void) state;

    ngx_http_consent_record_hex((unsigned char *) "\x00\xff\x10", 3, out);
    assert_string_equal(out, "00ff10");
    assert_int_equal(ngx_http_consent_record_unhex("00ff10", 6, back), 0);
    assert_memory_equal(back, "\x00\xff\x10", 3);
    assert_int_equal(ngx_http_consent_record_unhex("00FF", 4, back), -1);
    assert_int_equal(ngx_http_consent_record_unhex("0", 1, back), -1);

    /* base64url is the cookie core's (ngx_http_consent_cookie.c) */

    assert_int_equal(ngx_http_consent_base64url_encode((unsigned char *) out,
                         (unsigned char *) "\xfb\xff", 2), 3);
    assert_memory_equal(out, "-_8", 3);

    for (n = 0; n < sizeof(raw); n++) {
        raw[n] = (unsigned char) (n * 37 + 11);
    }

    for (n = 0; n <= sizeof(raw); n++) {
        size_t  len;

        len = ngx_http_consent_base64url_encode((unsigned char *) out, raw, n);
        assert_int_equal(len, (n * 4 + 2) / 3);
        assert_int_equal(ngx_http_consent_base64url_decode(back, sizeof(back),
                             (unsigned char *) out, len),
                         (int) n);
        assert_memory_equal(back, raw, n);
    }

    assert_int_equal(ngx_http_consent_base64url_decode(back, sizeof(back),
                         (unsigned char *) "a+b=", 4), -1);
    /* non-zero unused bits: not the canonical encoding */
    assert_int_equal(ngx_http_consent_base64url_decode(back, sizeof(back),
                         (unsigned char *) "-_9", 3), -1);

    assert_int_equal(ngx_http_consent_record_ts(0, 0, out), 24);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    ngx_http_consent_record_ts(1764150945, 7, out);
    assert_string_equal(out, "2025-11-26T09:55:45.007Z");
    assert_int_equal(ngx_http_consent_record_ts(1, 1000, out), 0);
}


static void
test_ip(void **state)
{
    char           out[NGX_HTTP_CONSENT_RECORD_IP_LEN], out2[64];
    unsigned char  v4[4], v6[16];

    (void) state;

    inet_pton(AF_INET, "203.0.113.77", v4);
    inet_pton(AF_INET6, "2001:db8:1234:5678::1", v6);

    assert_int_equal(ngx_http_consent_record_ip(AF_INET, v4, 0, NULL, 0, out,
                                                sizeof(out)), 0);
    assert_string_equal(out, "203.0.113.0/24");

    assert_int_equal(ngx_http_consent_record_ip(AF_INET6, v6, 0, NULL, 0,
                                                out, sizeof(out)), 0);
    assert_string_equal(out, "2001:db8:1234::/48");

    assert_int_equal(ngx_http_consent_record_ip(AF_INET, v4,
                         NGX_HTTP_CONSENT_RECORD_IP_NONE, NULL, 0, out,
                         sizeof(out)), 0);
    assert_string_equal(out, "");

    /* hash: keyed, stable, different per key and per address */
    assert_int_equal(ngx_http_consent_record_ip(AF_INET, v4,
                         NGX_HTTP_CONSENT_RECORD_IP_HASH,
                         (unsigned char *) "k1", 2, out, sizeof(out)), 0);
    assert_int_equal(strlen(out), 32);
    assert_int_equal(ngx_http_consent_record_ip(AF_INET, v4,
                         NGX_HTTP_CONSENT_RECORD_IP_HASH,
                         (unsigned char *) "k2", 2, out2, sizeof(out2)), 0);
    assert_string_not_equal(out, out2);
    assert_int_equal(ngx_http_consent_record_ip(AF_INET, v4,
                         NGX_HTTP_CONSENT_RECORD_IP_HASH,
                         (unsigned char *) "k1", 2, out2, sizeof(out2)), 0);
    assert_string_equal(out, out2);
    assert_null(strstr(out, "203"));

    assert_int_equal(ngx_http_consent_record_ip(AF_INET, v4,
                         NGX_HTTP_CONSENT_RECORD_IP_HASH, NULL, 0, out,
                         sizeof(out)), -1);
    assert_int_equal(ngx_http_consent_record_ip(AF_UNIX, v4, 0, NULL, 0,
                                                out, sizeof(out)), -1);
}


static void
test_canonical(void **state)
{
    char     buf[256];
    size_t   n;
    json_t  *rec;

    (void) state;

    rec = json_pack("{s:s, s:i, s:[s, s], s:{s:b, s:n}, s:s, s:s}",
                    "type", "consent", "seq", 7, "b", "x", "/",
                    "a", "z", 1, "y", "sig", "AAAA",
                    "t", "\xc3\xa9\n\x01\"\\");
    assert_non_null(rec);

    n = ngx_http_consent_record_canonical(rec, buf, sizeof(buf));
    assert_string_equal(buf,
        "{\"a\":{\"y\":null,\"z\":true},\"b\":[\"x\",\"/\"],\"seq\":7,"
        "\"t\":\"\xc3\xa9\\n\\u0001\\\"\\\\\",\"type\":\"consent\"}");
    assert_int_equal(n, strlen(buf));

    /* sig is left out but kept in the object */
    assert_non_null(json_object_get(rec, "sig"));

    /* too small: the size needed */
    assert_int_equal(ngx_http_consent_record_canonical(rec, buf, 10), n);

    /* the same bytes after a parse of the dump: the verifier's view */
    {
        json_t  *back;
        char     buf2[256];

        back = json_loads(buf, 0, NULL);
        assert_non_null(back);
        ngx_http_consent_record_canonical(back, buf2, sizeof(buf2));
        assert_string_equal(buf, buf2);
        json_decref(back);
    }

    json_decref(rec);

    rec = json_string("x");
    assert_int_equal(ngx_http_consent_record_canonical(rec, buf, sizeof(buf)),
                     0);
    json_decref(rec);
}


static void
test_seal_and_check(void **state)
{
    char                             *log, scratch[4096], *sig;
    size_t                            len;
    json_t                           *rec;
    unsigned char                     prev[32], hash[32], md[32];
    ngx_http_consent_record_check_t   r;

    (void) state;

    log = malloc(LOG_MAX);
    assert_non_null(log);

    rec = json_pack("{s:s, s:s}", "type", "consent", "id", "abc");
    memset(prev, 0xab, sizeof(prev));

    /* too small: the size needed comes back, larger than the buffer */
    len = ngx_http_consent_record_seal(rec, 42, prev, key, log, 20, hash);
    assert_true(len > 20);

    len = ngx_http_consent_record_seal(rec, 42, prev, key, log, LOG_MAX,
                                       hash);
    assert_true(len > 0 && len < LOG_MAX);
    log[len] = '\0';

    /* the line: the canonical form, then sig, then '\n' */
    assert_string_equal(json_string_value(json_object_get(rec, "prev")),
                        "abababababababababababababababababababababababab"
                        "abababababababab");
    sig = strstr(log, ",\"sig\":\"");
    assert_non_null(sig);
    assert_int_equal(strlen(sig), 8 + 86 + 3);
    assert_int_equal(strncmp(log, "{\"id\":\"abc\",\"prev\":\"abab", 24), 0);

    {
        static const char  canon[] =
            "{\"id\":\"abc\",\"prev\":\"abababababababababababababababab"
            "abababababababababababababababab\",\"seq\":42,"
            "\"type\":\"consent\"}";

        assert_int_equal((size_t) (sig - log) + 1, sizeof(canon) - 1);
        ngx_http_consent_record_sha256(canon, sizeof(canon) - 1, md);
    }

    assert_memory_equal(md, hash, 32);

    ngx_http_consent_record_check(log, len - 1, key, scratch,
                                  sizeof(scratch), &r);
    assert_int_equal(r.status, NGX_HTTP_CONSENT_RECORD_OK);
    assert_int_equal(r.type, NGX_HTTP_CONSENT_RECORD_CONSENT);
    assert_int_equal(r.seq, 42);
    assert_memory_equal(r.prev, prev, 32);
    assert_memory_equal(r.hash, hash, 32);

    /* a scratch too small for the canonical form still works */
    ngx_http_consent_record_check(log, len - 1, key, scratch, 16, &r);
    assert_int_equal(r.status, NGX_HTTP_CONSENT_RECORD_OK);

    /* another key */
    ngx_http_consent_record_check(log, len - 1, other_key, scratch,
                                  sizeof(scratch), &r);
    assert_int_equal(r.status, NGX_HTTP_CONSENT_RECORD_BAD_SIG);

    /* no key: the chain only */
    ngx_http_consent_record_check(log, len - 1, NULL, scratch,
                                  sizeof(scratch), &r);
    assert_int_equal(r.status, NGX_HTTP_CONSENT_RECORD_OK);

    /* one changed byte in the content, in the signature */
    log[8] = 'X';
    ngx_http_consent_record_check(log, len - 1, key, scratch,
                                  sizeof(scratch), &r);
    assert_int_equal(r.status, NGX_HTTP_CONSENT_RECORD_BAD_SIG);
    log[8] = 'b';

    sig[20] = sig[20] == 'A' ? 'B' : 'A';
    ngx_http_consent_record_check(log, len - 1, key, scratch,
                                  sizeof(scratch), &r);
    assert_int_equal(r.status, NGX_HTTP_CONSENT_RECORD_BAD_SIG);

    /* whitespace added: the canonical form, hence the record, is the same */
    ngx_http_consent_record_check("{ \"type\" : \"consent\" }", 23, key,
                                  scratch, sizeof(scratch), &r);
    assert_int_equal(r.status, NGX_HTTP_CONSENT_RECORD_MALFORMED);

    /* no sig: missing with a key, fine without */
    json_object_del(rec, "sig");
    len = json_dumpb(rec, log, LOG_MAX, NGX_HTTP_CONSENT_RECORD_FLAGS);
    ngx_http_consent_record_check(log, len, key, scratch, sizeof(scratch),
                                  &r);
    assert_int_equal(r.status, NGX_HTTP_CONSENT_RECORD_NO_SIG);

    /* duplicate keys are refused: a parser could pick either */
    ngx_http_consent_record_check("{\"type\":\"consent\",\"seq\":1,"
                                  "\"seq\":2}", 36, NULL, scratch,
                                  sizeof(scratch), &r);
    assert_int_equal(r.status, NGX_HTTP_CONSENT_RECORD_MALFORMED);

    ngx_http_consent_record_check("[1]", 3, NULL, scratch, sizeof(scratch),
                                  &r);
    assert_int_equal(r.status, NGX_HTTP_CONSENT_RECORD_MALFORMED);

    json_decref(rec);
    free(log);
}


static void
test_whole_log(void **state)
{
    char      *log;
    size_t     size;
    errors_t   e;

    (void) state;

    log = malloc(LOG_MAX);
    size = make_log(key, 10, "a", log, LOG_MAX);

    verify(log, size, key, &e);
    assert_int_equal(e.n, 0);
    assert_int_equal(e.records, 10);

    /* with another key, every line is named */
    verify(log, size, other_key, &e);
    assert_int_equal(e.n, 10);
    assert_true(has_error(&e, 1, CONSENT_AUDIT_CHAIN_BAD_SIG));
    assert_true(has_error(&e, 10, CONSENT_AUDIT_CHAIN_BAD_SIG));

    free(log);
}


static void
test_changed_byte(void **state)
{
    char      *log, *l;
    size_t     size, i, len;
    errors_t   e;

    (void) state;

    log = malloc(LOG_MAX);
    size = make_log(key, 10, "a", log, LOG_MAX);

    /* every byte of line 5, one at a time, except the final '\n' */
    l = line_at(log, 5);
    len = line_len(l) - 1;

    for (i = 0; i < len; i++) {
        char  c = l[i];

        l[i] = (c == '1') ? '2' : '1';
        verify(log, size, key, &e);
        l[i] = c;

        assert_true(e.n > 0);
        /* the key "sig" itself changed: the signature is missing */
        assert_true(has_error(&e, 5, CONSENT_AUDIT_CHAIN_BAD_SIG)
                    || has_error(&e, 5, CONSENT_AUDIT_CHAIN_NO_SIG)
                    || has_error(&e, 5, CONSENT_AUDIT_CHAIN_MALFORMED));
    }

    /* a changed content byte also breaks the next link */
    l[3] = l[3] == 'a' ? 'b' : 'a';
    verify(log, size, key, &e);
    assert_true(has_error(&e, 5, CONSENT_AUDIT_CHAIN_BAD_SIG));
    assert_true(has_error(&e, 6, CONSENT_AUDIT_CHAIN_BROKEN_LINK));

    free(log);
}


static void
test_deleted_line(void **state)
{
    char      *log, *l;
    size_t     size, len;
    errors_t   e;

    (void) state;

    log = malloc(LOG_MAX);
    size = make_log(key, 10, "a", log, LOG_MAX);

    l = line_at(log, 4);
    len = line_len(l);
    memmove(l, l + len, size - (l - log) - len);
    size -= len;

    verify(log, size, key, &e);
    assert_int_equal(e.n, 1);
    assert_true(has_error(&e, 4, CONSENT_AUDIT_CHAIN_GAP));

    /* the last line deleted: a cut at the tail, which no chain can see */
    size = make_log(key, 10, "a", log, LOG_MAX);
    size -= line_len(line_at(log, 10));
    verify(log, size, key, &e);
    assert_int_equal(e.n, 0);

    free(log);
}


static void
test_inserted_line(void **state)
{
    char      *log, *copy, *l;
    size_t     size, len;
    errors_t   e;

    (void) state;

    log = malloc(LOG_MAX);
    copy = malloc(LOG_MAX);

    /* a replayed record: line 3 again after line 6 */
    size = make_log(key, 10, "a", log, LOG_MAX);
    l = line_at(log, 3);
    len = line_len(l);
    memcpy(copy, l, len);
    l = line_at(log, 7);
    memmove(l + len, l, size - (l - log));
    memcpy(l, copy, len);
    size += len;

    verify(log, size, key, &e);
    assert_int_equal(e.n, 1);
    assert_true(has_error(&e, 7, CONSENT_AUDIT_CHAIN_DUPLICATE));

    /* a forged record: a copy of line 5 with seq 6, prev as it should be */
    size = make_log(key, 10, "a", log, LOG_MAX);
    {
        json_t         *rec;
        char            hex[65];
        unsigned char   h[32];
        char            scratch[4096];
        ngx_http_consent_record_check_t  r;

        l = line_at(log, 5);
        len = line_len(l);
        ngx_http_consent_record_check(l, len - 1, key, scratch,
                                      sizeof(scratch), &r);
        memcpy(h, r.hash, 32);

        rec = json_loadb(l, len - 1, 0, NULL);
        ngx_http_consent_record_hex(h, 32, hex);
        json_object_set_new(rec, "seq", json_integer(6));
        json_object_set_new(rec, "prev", json_string(hex));
        json_object_set_new(rec, "id", json_string("forged"));

        len = json_dumpb(rec, copy, LOG_MAX, JSON_COMPACT);
        copy[len++] = '\n';
        json_decref(rec);
    }

    l = line_at(log, 6);
    memmove(l + len, l, size - (l - log));
    memcpy(l, copy, len);
    size += len;

    verify(log, size, key, &e);
    assert_true(has_error(&e, 6, CONSENT_AUDIT_CHAIN_BAD_SIG));
    assert_true(has_error(&e, 7, CONSENT_AUDIT_CHAIN_BROKEN_LINK)
                || has_error(&e, 7, CONSENT_AUDIT_CHAIN_DUPLICATE));

    free(copy);
    free(log);
}


static void
test_swapped_lines(void **state)
{
    char      *log, *a, *b, *tmp;
    size_t     size, la, lb;
    errors_t   e;

    (void) state;

    log = malloc(LOG_MAX);
    tmp = malloc(LOG_MAX);
    size = make_log(key, 10, "a", log, LOG_MAX);

    a = line_at(log, 5);
    la = line_len(a);
    b = a + la;
    lb = line_len(b);
    memcpy(tmp, b, lb);
    memcpy(tmp + lb, a, la);
    memcpy(a, tmp, la + lb);

    verify(log, size, key, &e);
    assert_int_equal(e.n, 1);
    assert_true(has_error(&e, 6, CONSENT_AUDIT_CHAIN_OUT_OF_ORDER));

    free(tmp);
    free(log);
}


static void
test_spliced_record(void **state)
{
    char      *log, *other, *l, *o;
    size_t     size, len, olen;
    errors_t   e;

    (void) state;

    log = malloc(LOG_MAX);
    other = malloc(LOG_MAX);
    size = make_log(key, 10, "a", log, LOG_MAX);

    /* line 6 of another log, same seq, another key */
    make_log(other_key, 10, "b", other, LOG_MAX);

    l = line_at(log, 6);
    len = line_len(l);
    o = line_at(other, 6);
    olen = line_len(o);

    memmove(l + olen, l + len, size - (l - log) - len);
    memcpy(l, o, olen);
    size = size - len + olen;

    verify(log, size, key, &e);
    assert_true(has_error(&e, 6, CONSENT_AUDIT_CHAIN_BAD_SIG));
    assert_true(has_error(&e, 6, CONSENT_AUDIT_CHAIN_BROKEN_LINK));
    assert_true(has_error(&e, 7, CONSENT_AUDIT_CHAIN_BROKEN_LINK));

    /* even signed with the same key, the links name it */
    make_log(key, 10, "b", other, LOG_MAX);
    size = make_log(key, 10, "a", log, LOG_MAX);
    l = line_at(log, 6);
    len = line_len(l);
    o = line_at(other, 6);
    olen = line_len(o);
    memmove(l + olen, l + len, size - (l - log) - len);
    memcpy(l, o, olen);
    size = size - len + olen;

    verify(log, size, key, &e);
    assert_int_equal(e.n, 2);
    assert_true(has_error(&e, 6, CONSENT_AUDIT_CHAIN_BROKEN_LINK));
    assert_true(has_error(&e, 7, CONSENT_AUDIT_CHAIN_BROKEN_LINK));

    free(other);
    free(log);
}


static void
test_truncated_line(void **state)
{
    char      *log;
    size_t     size;
    errors_t   e;

    (void) state;

    log = malloc(LOG_MAX);
    size = make_log(key, 10, "a", log, LOG_MAX);

    /* cut inside the last line */
    verify(log, size - 30, key, &e);
    assert_int_equal(e.n, 1);
    assert_true(has_error(&e, 10, CONSENT_AUDIT_CHAIN_TRUNCATED));

    /* only the newline missing */
    verify(log, size - 1, key, &e);
    assert_int_equal(e.n, 1);
    assert_true(has_error(&e, 10, CONSENT_AUDIT_CHAIN_TRUNCATED));

    free(log);
}


static void
test_new_chain(void **state)
{
    char      *log;
    size_t     size;
    errors_t   e;

    (void) state;

    /* nginx restarted and lost the head: seq 1 again */
    log = malloc(LOG_MAX);
    size = make_log(key, 5, "a", log, LOG_MAX);
    size += make_log(key, 5, "a", log + size, LOG_MAX - size);

    verify(log, size, key, &e);
    assert_int_equal(e.n, 1);
    assert_true(has_error(&e, 6, CONSENT_AUDIT_CHAIN_NEW_CHAIN));

    assert_string_equal(consent_audit_chain_error_name(
                            CONSENT_AUDIT_CHAIN_GAP), "gap");
    assert_string_equal(consent_audit_chain_error_name(
                            CONSENT_AUDIT_CHAIN_BAD_SIG), "bad signature");

    free(log);
}


static void
test_scan(void **state)
{
    char                             *log, *l, scratch[4096], buf[4096];
    size_t                            size, i, len;
    errors_t                          e;
    ngx_http_consent_record_check_t   a, b;

    (void) state;

    log = malloc(LOG_MAX);
    size = make_log(key, 10, "a", log, LOG_MAX);

    /* as written: the scan reads what the full check reads */
    for (i = 1; i <= 10; i++) {
        l = line_at(log, i);
        len = line_len(l) - 1;

        assert_int_equal(consent_audit_record_scan(l, len, scratch,
                                                      sizeof(scratch), &a),
                         0);
        ngx_http_consent_record_check(l, len, key, scratch, sizeof(scratch),
                                      &b);
        assert_int_equal(b.status, NGX_HTTP_CONSENT_RECORD_OK);
        assert_int_equal(a.status, NGX_HTTP_CONSENT_RECORD_OK);
        assert_int_equal(a.seq, b.seq);
        assert_int_equal(a.type, b.type);
        assert_memory_equal(a.prev, b.prev, 32);
        assert_memory_equal(a.hash, b.hash, 32);
    }

    /* anything else takes the full path */
    {
        static const char  *bad[] = {
            "{\"prev\":\"00\",\"seq\":1,\"type\":\"consent\",\"sig\":\"x\"}",
            "{\"seq\":1,\"type\":\"consent\"}",
            "{\"seq\": 1}",
            "[1]",
            "",
            "{",
            "{\"a\":\"\\\"}"
        };

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            assert_int_equal(consent_audit_record_scan(bad[i],
                                 strlen(bad[i]), scratch, sizeof(scratch),
                                 &a), -1);
        }
    }

    /* seq 01, sig not last, whitespace, a string that hides a member */
    l = line_at(log, 3);
    len = line_len(l) - 1;

    memcpy(buf, l, len);
    buf[len] = '\0';
    memcpy(strstr(buf, "\"seq\":3") + 6, "0", 1);
    assert_int_equal(consent_audit_record_scan(buf, len, scratch,
                                                  sizeof(scratch), &a), -1);

    snprintf(buf, sizeof(buf), "%.*s,\"z\":1}", (int) len - 1, l);
    assert_int_equal(consent_audit_record_scan(buf, strlen(buf), scratch,
                                                  sizeof(scratch), &a), -1);

    snprintf(buf, sizeof(buf), "{ %.*s", (int) len - 1, l + 1);
    assert_int_equal(consent_audit_record_scan(buf, strlen(buf), scratch,
                                                  sizeof(scratch), &a), -1);

    /* tampering, --fast style: every case is still named */
    verify_fast(log, size, key, &e);
    assert_int_equal(e.n, 0);

    l = line_at(log, 5);
    l[12] = l[12] == 'a' ? 'b' : 'a';
    verify_fast(log, size, key, &e);
    assert_true(has_error(&e, 6, CONSENT_AUDIT_CHAIN_BROKEN_LINK));
    l[12] = l[12] == 'a' ? 'b' : 'a';

    /* the last line: checked in full */
    l = line_at(log, 10);
    l[12] = l[12] == 'a' ? 'b' : 'a';
    verify_fast(log, size, key, &e);
    assert_true(has_error(&e, 10, CONSENT_AUDIT_CHAIN_BAD_SIG));
    l[12] = l[12] == 'a' ? 'b' : 'a';

    verify_fast(log, size - 20, key, &e);
    assert_true(has_error(&e, 10, CONSENT_AUDIT_CHAIN_TRUNCATED));

    verify_fast(log, size, other_key, &e);
    assert_int_equal(e.n, 1);
    assert_true(has_error(&e, 10, CONSENT_AUDIT_CHAIN_BAD_SIG));

    free(log);
}


/*
 * The escaper the module prints records with must give jansson's bytes:
 * every string of a set of awkward ones, and random bytes, which are
 * either refused by both (not UTF-8) or printed alike.
 */

static void
check_string(const unsigned char *in, size_t len)
{
    char     mine[6 * 64 + 3], theirs[6 * 64 + 3];
    size_t   n, m;
    json_t  *v;

    assert_true(len <= 64);

    n = ngx_http_consent_record_json_string(in, len, mine);
    v = json_stringn((const char *) in, len);

    if (v == NULL) {
        assert_int_equal(n, 0);
        return;
    }

    m = json_dumpb(v, theirs, sizeof(theirs),
                   JSON_ENCODE_ANY|NGX_HTTP_CONSENT_RECORD_FLAGS);
    json_decref(v);

    assert_int_equal(n, m);
    assert_memory_equal(mine, theirs, n);
}


static void
test_json_string(void **state)
{
    size_t         i, k, len;
    unsigned char  buf[64];

    static const char  *cases[] = {
        "", "plain", "quote \" and \\ back", "/slash/", "tab\tnl\ncr\r",
        "\b\f\x01\x1f\x7f", "caf\xc3\xa9", "\xe2\x80\x94 dash",
        "\xe2\x80\xa8 line sep", "\xf0\x9f\x8d\xaa cookie",
        "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xe0\x80\xaf", "\xff", "a\xc3\xa9\xc3"
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_string((const unsigned char *) cases[i], strlen(cases[i]));
    }

    /* a NUL inside */
    check_string((const unsigned char *) "a\0b", 3);

    srand(11);

    for (i = 0; i < 20000; i++) {
        len = (size_t) rand() % 24;

        for (k = 0; k < len; k++) {
            /* mostly ASCII and UTF-8 lead and continuation bytes */
            buf[k] = (unsigned char) (rand() % 4 ? rand() % 0x80
                                                 : 0x80 + rand() % 0x80);
        }

        check_string(buf, len);
    }
}


/* the members the tree needs, from lines of both formats */

static void
test_fields(void **state)
{
    ngx_http_consent_record_line_t  f;

    static const char  consent[] =
        "{\"action\":\"save\",\"host\":\"a,\\\"seq\\\":9\","
        "\"id\":\"000102030405060708090a0b0c0d0e0f\",\"seq\":42,"
        "\"type\":\"consent\"}";
    static const char  legacy[] =
        "{\"prev\":\"00000000000000000000000000000000"
        "000000000000000000000000000000ff\",\"seq\":7,\"type\":\"policy\","
        "\"sig\":\"x\"}";
    static const char  checkpoint[] =
        "{\"note\":\"o\\n1\\n\",\"ts\":\"t\",\"type\":\"checkpoint\"}";

    (void) state;

    assert_int_equal(ngx_http_consent_record_fields(consent,
                                                    sizeof(consent) - 1, &f),
                     0);
    assert_int_equal(f.type, NGX_HTTP_CONSENT_RECORD_CONSENT);
    assert_int_equal(f.seq, 42);
    assert_true(f.has_id);
    assert_int_equal(f.id[15], 0x0f);
    assert_int_equal(f.canonical, sizeof(consent) - 1);
    assert_false(f.sig);

    assert_int_equal(ngx_http_consent_record_fields(legacy,
                                                    sizeof(legacy) - 1, &f),
                     0);
    assert_int_equal(f.type, NGX_HTTP_CONSENT_RECORD_POLICY);
    assert_true(f.sig && f.prev);
    assert_int_equal(f.prev_hash[31], 0xff);
    assert_int_equal(f.canonical, sizeof(legacy) - 1 - 11);

    assert_int_equal(ngx_http_consent_record_fields(checkpoint,
                                                    sizeof(checkpoint) - 1,
                                                    &f),
                     0);
    assert_int_equal(f.type, NGX_HTTP_CONSENT_RECORD_CHECKPOINT);
    assert_non_null(f.note);

    /* not compact, not an object, no type, cut */
    assert_int_equal(ngx_http_consent_record_fields("{\"seq\": 1}", 11, &f),
                     -1);
    assert_int_equal(ngx_http_consent_record_fields("[1]", 3, &f), -1);
    assert_int_equal(ngx_http_consent_record_fields("{\"seq\":1}", 9, &f),
                     -1);
    assert_int_equal(ngx_http_consent_record_fields(consent, 30, &f), -1);
}


static void
test_json_hash(void **state)
{
    json_t         *a, *b;
    unsigned char   ha[32], hb[32];

    (void) state;

    a = json_loads("{\"b\": 1, \"a\": \"\xc3\xa9\"}", 0, NULL);
    b = json_loads("{\"a\":\"\\u00e9\",\"b\":1}", 0, NULL);

    assert_int_equal(ngx_http_consent_record_json_hash(a, ha), 0);
    assert_int_equal(ngx_http_consent_record_json_hash(b, hb), 0);
    assert_memory_equal(ha, hb, 32);

    json_object_set_new(b, "b", json_integer(2));
    ngx_http_consent_record_json_hash(b, hb);
    assert_memory_not_equal(ha, hb, 32);

    json_decref(a);
    json_decref(b);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_ip),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_json_hash),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_seal_and_check),
        cmocka_unit_test(test_whole_log),
        cmocka_unit_test(test_changed_byte),
        cmocka_unit_test(test_deleted_line),
        cmocka_unit_test(test_inserted_line),
        cmocka_unit_test(test_swapped_lines),
        cmocka_unit_test(test_spliced_record),
        cmocka_unit_test(test_truncated_line),
        cmocka_unit_test(test_new_chain),
        cmocka_unit_test(test_scan),
    };

    return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
