
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * The Merkle tree core and checkpoints: RFC 6962's test vectors (the eight
 * leaves of certificate-transparency's merkle tree tests, their roots and
 * inclusion proofs), tlog's hash file order, proofs for every leaf of
 * every tree up to 70 leaves, and signed-note checkpoints: the key ID as
 * c2sp.org/signed-note defines it, a changed byte, another key.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "ngx_http_consent_note.h"
#include "ngx_http_consent_record.h"
#include "ngx_http_consent_tree.h"
#include "ed25519_keys.h"


#define STORE_MAX  4096


typedef struct {
    uint64_t                      n;
    ngx_http_consent_tree_hash_t  h[STORE_MAX];
} store_t;


static const char  *leaves_hex[] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f"
};


static const char  *roots_hex[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
};


static void
unhex(const char *hex, unsigned char *out, size_t *len)
{
    size_t  n;

    n = strlen(hex);
    assert_int_equal(ngx_http_consent_record_unhex(hex, n, out), 0);
    *len = n / 2;
}


static int
store_read(void *data, uint64_t index, unsigned char *out)
{
    store_t  *s = data;

    if (index >= s->n) {
        return -1;
    }

    memcpy(out, s->h[index], NGX_HTTP_CONSENT_TREE_HASH_LEN);

    return 0;
}


/* a tree of n leaves "leaf i", its hashes in s */

static void
grow(ngx_http_consent_tree_t *t, store_t *s, uint64_t n)
{
    char                          buf[32];
    size_t                        k, i;
    uint64_t                      j;
    unsigned char                 leaf[32];
    ngx_http_consent_tree_hash_t  stored[NGX_HTTP_CONSENT_TREE_HEIGHT];

    ngx_http_consent_tree_init(t);
    s->n = 0;

    for (j = 0; j < n; j++) {
        snprintf(buf, sizeof(buf), "leaf %llu", (unsigned long long) j);
        ngx_http_consent_tree_leaf_hash(buf, strlen(buf), leaf);

        /* the leaf goes where tlog puts record j */
        assert_int_equal(ngx_http_consent_tree_stored_index(0, j), s->n);

        k = ngx_http_consent_tree_append(t, leaf, stored);

        for (i = 0; i < k; i++) {
            assert_true(s->n < STORE_MAX);
            memcpy(s->h[s->n++], stored[i], 32);
        }

        assert_int_equal(ngx_http_consent_tree_stored_count(j + 1), s->n);
    }
}


static void
test_empty(void **state)
{
    char                     hex[65];
    unsigned char            root[32];
    ngx_http_consent_tree_t  t;

    (void) state;

    ngx_http_consent_tree_init(&t);
    ngx_http_consent_tree_root(&t, root);
    ngx_http_consent_record_hex(root, 32, hex);

    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                             "27ae41e4649b934ca495991b7852b855");
}


static void
test_rfc6962_roots(void **state)
{
    char                          hex[65];
    size_t                        i, len;
    unsigned char                 data[16], leaf[32], root[32], r2[32];
    store_t                      *s;
    ngx_http_consent_tree_t       t, loaded;
    ngx_http_consent_tree_hash_t  stored[NGX_HTTP_CONSENT_TREE_HEIGHT];

    (void) state;

    s = calloc(1, sizeof(store_t));
    assert_non_null(s);

    ngx_http_consent_tree_init(&t);

    for (i = 0; i < 8; i++) {
        unhex(leaves_hex[i], data, &len);
        ngx_http_consent_tree_leaf_hash(data, len, leaf);

        len = ngx_http_consent_tree_append(&t, leaf, stored);
        memcpy(s->h[s->n], stored, len * 32);
        s->n += len;

        ngx_http_consent_tree_root(&t, root);
        ngx_http_consent_record_hex(root, 32, hex);
        assert_string_equal(hex, roots_hex[i]);

        /* the same root from the hash file, and the edge loaded back */
        assert_int_equal(ngx_http_consent_tree_range_hash(0, i + 1,
                                                          store_read, s, r2),
                         0);
        assert_memory_equal(root, r2, 32);

        assert_int_equal(ngx_http_consent_tree_load(&loaded, i + 1,
                                                    store_read, s),
                         0);
        ngx_http_consent_tree_root(&loaded, r2);
        assert_memory_equal(root, r2, 32);
    }

    free(s);
}


static void
test_rfc6962_proofs(void **state)
{
    char                          hex[65];
    size_t                        i, j, n, len;
    unsigned char                 data[16], leaf[32], root[32];
    store_t                      *s;
    ngx_http_consent_tree_t       t;
    ngx_http_consent_tree_hash_t  stored[NGX_HTTP_CONSENT_TREE_HEIGHT];
    ngx_http_consent_tree_hash_t  proof[NGX_HTTP_CONSENT_TREE_HEIGHT];

    static const struct {
        uint64_t     index;
        uint64_t     size;
        const char  *path[3];
    } vectors[] = {
        { 0, 8, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a"
                  "09cfc7",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50d"
                  "e3031e",
                  "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca3"
                  "9bf6e4" } },
        { 5, 8, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88"
                  "599e6b",
                  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d597"
                  "5a0ae0",
                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd9520"
                  "9614b7" } },
        { 2, 3, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00"
                  "e3c125", NULL, NULL } },
        { 1, 5, { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617"
                  "afa01d",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50d"
                  "e3031e",
                  "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88"
                  "599e6b" } }
    };

    (void) state;

    s = calloc(1, sizeof(store_t));
    assert_non_null(s);

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        ngx_http_consent_tree_init(&t);
        s->n = 0;

        for (j = 0; j < vectors[i].size; j++) {
            unhex(leaves_hex[j], data, &len);
            ngx_http_consent_tree_leaf_hash(data, len, leaf);
            len = ngx_http_consent_tree_append(&t, leaf, stored);
            memcpy(s->h[s->n], stored, len * 32);
            s->n += len;
        }

        assert_int_equal(ngx_http_consent_tree_prove(vectors[i].index,
                                                     vectors[i].size,
                                                     store_read, s, proof,
                                                     &n),
                         0);

        for (j = 0; j < 3 && vectors[i].path[j] != NULL; j++) {
            assert_true(j < n);
            ngx_http_consent_record_hex(proof[j], 32, hex);
            assert_string_equal(hex, vectors[i].path[j]);
        }

        assert_int_equal(n, j);

        unhex(leaves_hex[vectors[i].index], data, &len);
        ngx_http_consent_tree_leaf_hash(data, len, leaf);
        ngx_http_consent_tree_root(&t, root);

        assert_int_equal(ngx_http_consent_tree_check(vectors[i].index,
                                                     vectors[i].size, leaf,
                                                     proof, n, root),
                         0);
    }

    free(s);
}


/* every leaf of every tree up to 70 leaves; a wrong index or root fails */

static void
test_all_proofs(void **state)
{
    char                          buf[32];
    size_t                        n;
    uint64_t                      size, i;
    unsigned char                 leaf[32], root[32], bad[32];
    store_t                      *s;
    ngx_http_consent_tree_t       t;
    ngx_http_consent_tree_hash_t  proof[NGX_HTTP_CONSENT_TREE_HEIGHT];

    (void) state;

    s = calloc(1, sizeof(store_t));
    assert_non_null(s);

    for (size = 1; size <= 70; size++) {
        grow(&t, s, size);
        ngx_http_consent_tree_root(&t, root);
        memcpy(bad, root, 32);
        bad[7] ^= 1;

        for (i = 0; i < size; i++) {
            snprintf(buf, sizeof(buf), "leaf %llu", (unsigned long long) i);
            ngx_http_consent_tree_leaf_hash(buf, strlen(buf), leaf);

            assert_int_equal(ngx_http_consent_tree_prove(i, size, store_read,
                                                         s, proof, &n),
                             0);
            assert_int_equal(ngx_http_consent_tree_check(i, size, leaf,
                                                         proof, n, root),
                             0);
            assert_int_not_equal(ngx_http_consent_tree_check(i, size, leaf,
                                                             proof, n, bad),
                                 0);

            if (size > 1) {
                assert_int_not_equal(ngx_http_consent_tree_check(
                                         (i + 1) % size, size, leaf, proof,
                                         n, root),
                                     0);
            }
        }

        assert_int_not_equal(ngx_http_consent_tree_prove(size, size,
                                                         store_read, s,
                                                         proof, &n),
                             0);
    }

    free(s);
}


static void
test_checkpoint(void **state)
{
    char                            note[NGX_HTTP_CONSENT_NOTE_LEN];
    char                            vkey[NGX_HTTP_CONSENT_NOTE_VKEY_LEN];
    char                            expect[16];
    size_t                          n, k, publen;
    uint32_t                        id;
    unsigned char                   root[32], md[32], buf[64];
    ngx_http_consent_checkpoint_t   cp;

    static const char  origin[] = "example.com/consent-log";

    (void) state;

    memset(root, 0xab, sizeof(root));

    n = ngx_http_consent_note_checkpoint(key, origin, sizeof(origin) - 1,
                                         1000, root, note, sizeof(note));
    assert_true(n > 0);
    assert_int_equal(strlen(note), n);

    assert_true(strncmp(note, "example.com/consent-log\n1000\n"
                        "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
                        "\xe2\x80\x94 example.com/consent-log ", 102) == 0);
    assert_int_equal(note[n - 1], '\n');

    assert_int_equal(ngx_http_consent_note_open(note, n, key, &cp),
                     NGX_HTTP_CONSENT_NOTE_OK);
    assert_int_equal(cp.size, 1000);
    assert_memory_equal(cp.root, root, 32);
    assert_int_equal(cp.origin_len, sizeof(origin) - 1);

    /* the key ID: SHA-256(name || '\n' || 0x01 || public key)[:4] */

    memcpy(buf, origin, sizeof(origin) - 1);
    buf[sizeof(origin) - 1] = '\n';
    buf[sizeof(origin)] = 0x01;
    publen = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(key, buf + sizeof(origin)
                                                 + 1, &publen), 1);
    SHA256(buf, sizeof(origin) + 1 + 32, md);

    assert_int_equal(ngx_http_consent_note_key_id(key, origin,
                                                  sizeof(origin) - 1, &id),
                     0);
    assert_int_equal(id, ((uint32_t) md[0] << 24 | (uint32_t) md[1] << 16
                          | (uint32_t) md[2] << 8 | md[3]));

    k = ngx_http_consent_note_vkey(key, origin, sizeof(origin) - 1, vkey,
                                   sizeof(vkey));
    snprintf(expect, sizeof(expect), "+%08x+", id);
    assert_int_equal(k, sizeof(origin) - 1 + 10 + 44);
    assert_memory_equal(vkey + sizeof(origin) - 1, expect, 10);
    assert_memory_equal(vkey + k - 44, "A", 1);   /* 0x01: "AQ" or "Ab" */

    /* another key: no signature of its own */
    assert_int_equal(ngx_http_consent_note_open(note, n, other_key, &cp),
                     NGX_HTTP_CONSENT_NOTE_UNKNOWN_KEY);

    /* a changed size: the signature no longer matches */
    note[24] = '2';
    assert_int_equal(ngx_http_consent_note_open(note, n, key, &cp),
                     NGX_HTTP_CONSENT_NOTE_BAD_SIG);
    note[24] = '1';

    /* cut: not a note */
    assert_int_equal(ngx_http_consent_note_open(note, 60, key, &cp),
                     NGX_HTTP_CONSENT_NOTE_MALFORMED);

    /* names a note cannot carry */
    assert_int_equal(ngx_http_consent_note_checkpoint(key, "a b", 3, 1, root,
                                                      note, sizeof(note)),
                     0);
    assert_int_equal(ngx_http_consent_note_checkpoint(key, "a+b", 3, 1, root,
                                                      note, sizeof(note)),
                     0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_rfc6962_roots),
        cmocka_unit_test(test_rfc6962_proofs),
        cmocka_unit_test(test_all_proofs),
        cmocka_unit_test(test_checkpoint),
    };

    return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
