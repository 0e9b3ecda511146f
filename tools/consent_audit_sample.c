
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
#include "ngx_http_consent_note.h"
#include "ngx_http_consent_tree.h"


#define CONSENT_AUDIT_LINE_MAX  65536


static int consent_audit_sample_leaf(json_t *rec, uint64_t seq,
    EVP_PKEY *key, const char *origin, uint64_t every, int last,
    ngx_http_consent_tree_t *t, char *buf, char *note,
    ngx_http_consent_tree_hash_t *stored);


int
consent_audit_sample(int argc, char **argv)
{
    int             i, tree;
    char           *buf, *note, err[512];
    char            ts[NGX_HTTP_CONSENT_RECORD_TS_LEN + 1];
    char            id[33], ip[NGX_HTTP_CONSENT_RECORD_IP_LEN];
    char            hex[NGX_HTTP_CONSENT_RECORD_HEX_LEN + 1];
    size_t          n;
    json_t         *rec, *texts;
    uint64_t        k, count, start;
    EVP_PKEY       *key;
    uint64_t        every;
    const char     *keyfile, *origin;
    ngx_http_consent_tree_t       t;
    ngx_http_consent_tree_hash_t  stored[NGX_HTTP_CONSENT_TREE_HEIGHT];
    unsigned char   prev[NGX_HTTP_CONSENT_RECORD_HASH_LEN], raw[16];
    unsigned char   th[NGX_HTTP_CONSENT_RECORD_HASH_LEN];

    keyfile = NULL;
    origin = "sample.example/consent-log";
    tree = 0;
    every = 1000;
    count = 0;
    start = 1700000000;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--sign") == 0 && i + 1 < argc) {
            keyfile = argv[++i];

        } else if (strcmp(argv[i], "--tree") == 0) {
            tree = 1;

        } else if (strcmp(argv[i], "--origin") == 0 && i + 1 < argc) {
            origin = argv[++i];

        } else if (strcmp(argv[i], "--checkpoint") == 0 && i + 1 < argc) {
            every = strtoull(argv[++i], NULL, 10);

        } else if (strcmp(argv[i], "--start") == 0 && i + 1 < argc) {
            start = strtoull(argv[++i], NULL, 10);

        } else {
            count = strtoull(argv[i], NULL, 10);
        }
    }

    if (count == 0 || keyfile == NULL || every == 0) {
        fprintf(stderr, "usage: consent-audit sample N --sign KEY.pem "
                "[--start EPOCH] [--tree [--origin NAME] [--checkpoint N]]"
                "\n");
        return CONSENT_AUDIT_USAGE;
    }

    key = ngx_http_consent_record_load_key(keyfile, 1, err, sizeof(err));
    if (key == NULL) {
        fprintf(stderr, "consent-audit sample: %s\n", err);
        return CONSENT_AUDIT_USAGE;
    }

    buf = malloc(CONSENT_AUDIT_LINE_MAX);
    note = malloc(8 * NGX_HTTP_CONSENT_NOTE_LEN);
    ngx_http_consent_tree_init(&t);

    if (buf == NULL || note == NULL) {
        free(buf);
        free(note);
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

        if (tree) {
            if (consent_audit_sample_leaf(rec, k, key, origin, every,
                                          k == count, &t, buf, note, stored)
                != 0)
            {
                break;
            }

            continue;
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
    free(note);
    EVP_PKEY_free(key);

    return k > count ? CONSENT_AUDIT_OK : CONSENT_AUDIT_USAGE;
}


/*
 * --tree: the record as the module writes it now (seq, no prev, no sig), a
 * leaf of the tree, and a checkpoint every N records and after the last.
 */

static int
consent_audit_sample_leaf(json_t *rec, uint64_t seq, EVP_PKEY *key,
    const char *origin, uint64_t every, int last, ngx_http_consent_tree_t *t,
    char *buf, char *note, ngx_http_consent_tree_hash_t *stored)
{
    char           *p;
    size_t          n;
    unsigned char   leaf[NGX_HTTP_CONSENT_TREE_HASH_LEN];
    unsigned char   root[NGX_HTTP_CONSENT_TREE_HASH_LEN];

    if (json_object_set_new(rec, "seq", json_integer((json_int_t) seq)) != 0)
    {
        return -1;
    }

    n = json_dumpb(rec, buf, CONSENT_AUDIT_LINE_MAX - 1,
                   NGX_HTTP_CONSENT_RECORD_FLAGS);

    if (n == 0 || n >= CONSENT_AUDIT_LINE_MAX - 1) {
        fprintf(stderr, "consent-audit sample: cannot write a record\n");
        return -1;
    }

    ngx_http_consent_tree_leaf_hash(buf, n, leaf);

    buf[n++] = '\n';
    fwrite(buf, 1, n, stdout);

    (void) ngx_http_consent_tree_append(t, leaf, stored);

    if (seq % every && !last) {
        return 0;
    }

    ngx_http_consent_tree_root(t, root);

    n = ngx_http_consent_note_checkpoint(key, origin, strlen(origin),
                                         t->size, root, note,
                                         NGX_HTTP_CONSENT_NOTE_LEN);
    if (n == 0) {
        fprintf(stderr, "consent-audit sample: cannot sign a checkpoint "
                "(is --origin a valid note name?)\n");
        return -1;
    }

    p = buf;
    p += sprintf(p, "{\"note\":");
    p += ngx_http_consent_record_json_string((unsigned char *) note, n, p);
    p += sprintf(p, ",\"ts\":\"2026-01-01T00:00:00.000Z\","
                 "\"type\":\"checkpoint\"}\n");

    fwrite(buf, 1, p - buf, stdout);

    return 0;
}
