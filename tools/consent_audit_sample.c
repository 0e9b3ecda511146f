
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * consent-audit sample N --sign KEY.pem: a synthetic, correctly signed log
 * of one policy record and N-1 consent records on standard output, written
 * with the same sealing code as the module. For trying the tool and for
 * benchmarks and tests; it is not a record of anyone's consent.
 */


#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/rand.h>

#include "consent_audit.h"


#define CONSENT_AUDIT_LINE_MAX  65536


int
consent_audit_sample(int argc, char **argv)
{
    int             i;
    char           *buf, err[512], ts[NGX_HTTP_CONSENT_RECORD_TS_LEN + 1];
    char            id[33], ip[NGX_HTTP_CONSENT_RECORD_IP_LEN];
    char            hex[NGX_HTTP_CONSENT_RECORD_HEX_LEN + 1];
    size_t          n;
    json_t         *rec, *texts;
    uint64_t        k, count, start;
    EVP_PKEY       *key;
    const char     *keyfile;
    unsigned char   prev[NGX_HTTP_CONSENT_RECORD_HASH_LEN], raw[16];
    unsigned char   th[NGX_HTTP_CONSENT_RECORD_HASH_LEN];

    keyfile = NULL;
    count = 0;
    start = 1700000000;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--sign") == 0 && i + 1 < argc) {
            keyfile = argv[++i];

        } else if (strcmp(argv[i], "--start") == 0 && i + 1 < argc) {
            start = strtoull(argv[++i], NULL, 10);

        } else {
            count = strtoull(argv[i], NULL, 10);
        }
    }

    if (count == 0 || keyfile == NULL) {
        fprintf(stderr, "usage: consent-audit sample N --sign KEY.pem "
                "[--start EPOCH]\n");
        return CONSENT_AUDIT_USAGE;
    }

    key = ngx_http_consent_record_load_key(keyfile, 1, err, sizeof(err));
    if (key == NULL) {
        fprintf(stderr, "consent-audit sample: %s\n", err);
        return CONSENT_AUDIT_USAGE;
    }

    buf = malloc(CONSENT_AUDIT_LINE_MAX);
    if (buf == NULL) {
        EVP_PKEY_free(key);
        return CONSENT_AUDIT_USAGE;
    }

    memcpy(prev, ngx_http_consent_record_genesis, sizeof(prev));

    texts = json_pack("{s:s, s:s, s:s}", "title", "Cookies",
                      "text", "We use cookies for analytics and marketing.",
                      "accept_all", "Accept all");
    ngx_http_consent_record_json_hash(texts, th);
    ngx_http_consent_record_hex(th, sizeof(th), hex);

    ngx_http_consent_record_ts((int64_t) start, 0, ts);

    rec = json_pack("{s:s, s:s, s:i, s:[{s:s, s:b, s:b}, {s:s, s:b, s:b},"
                    " {s:s, s:b, s:b}], s:{s:o}, s:{s:s}, s:s}",
                    "type", "policy", "ts", ts, "revision", 1,
                    "categories",
                    "name", "necessary", "required", 1, "gpc", 0,
                    "name", "analytics", "required", 0, "gpc", 0,
                    "name", "marketing", "required", 0, "gpc", 1,
                    "texts", "en", texts,
                    "text_hash", "en", hex,
                    "node", "sample");

    for (k = 1; k <= count; k++) {

        if (k > 1) {
            json_decref(rec);

            RAND_bytes(raw, sizeof(raw));
            ngx_http_consent_record_hex(raw, sizeof(raw), id);
            ngx_http_consent_record_ts((int64_t) (start + k * 37),
                                       (unsigned) (k % 1000), ts);
            ngx_http_consent_record_ip(AF_INET, raw, 0, NULL, 0, ip,
                                       sizeof(ip));

            rec = json_pack("{s:s, s:s, s:s, s:s, s:[s, s*], s:[s*, s],"
                            " s:i, s:s, s:s, s:s, s:b, s:s, s:s, s:s}",
                            "type", "consent", "ts", ts, "id", id,
                            "action", k % 3 ? "save" : "accept_all",
                            "granted", "necessary",
                            k % 2 ? "analytics" : NULL,
                            "denied", k % 2 ? NULL : "analytics",
                            "marketing",
                            "revision", 1, "text_hash", hex, "lang", "en",
                            "source", "banner", "gpc", (int) (k % 5 == 0),
                            "ip", ip, "host", "example.org",
                            "node", "sample");
        }

        if (rec == NULL) {
            fprintf(stderr, "consent-audit sample: json_pack failed\n");
            break;
        }

        n = ngx_http_consent_record_seal(rec, k, prev, key, buf,
                                         CONSENT_AUDIT_LINE_MAX, prev);

        if (n == 0 || n > CONSENT_AUDIT_LINE_MAX) {
            fprintf(stderr, "consent-audit sample: cannot seal a record\n");
            break;
        }

        fwrite(buf, 1, n, stdout);
    }

    json_decref(rec);
    free(buf);
    EVP_PKEY_free(key);

    return k > count ? CONSENT_AUDIT_OK : CONSENT_AUDIT_USAGE;
}
