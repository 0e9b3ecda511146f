
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * SHA256_Init() and the others, deprecated in OpenSSL 3, are kept on
 * purpose: the EVP interface fetches the algorithm, under a lock, on
 * every digest, which cost verify a third of its time (two hashes a
 * record). They are in OpenSSL 3.x; EVP with a fetched EVP_MD is the way
 * out should they go.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>

#include <openssl/sha.h>

#include "ngx_http_consent_tree.h"


static int ngx_http_consent_tree_path(uint64_t index, uint64_t lo,
    uint64_t hi, ngx_http_consent_tree_read_pt read, void *data,
    ngx_http_consent_tree_hash_t *proof, size_t *n);
static uint64_t ngx_http_consent_tree_split(uint64_t n);


void
ngx_http_consent_tree_leaf_hash(const void *leaf, size_t len,
    unsigned char *out)
{
    SHA256_CTX     ctx;
    unsigned char  prefix;

    prefix = 0x00;

    SHA256_Init(&ctx);
    SHA256_Update(&ctx, &prefix, 1);
    SHA256_Update(&ctx, leaf, len);
    SHA256_Final(out, &ctx);
}


void
ngx_http_consent_tree_node_hash(const unsigned char *left,
    const unsigned char *right, unsigned char *out)
{
    SHA256_CTX     ctx;
    unsigned char  buf[1 + 2 * NGX_HTTP_CONSENT_TREE_HASH_LEN];

    buf[0] = 0x01;
    memcpy(buf + 1, left, NGX_HTTP_CONSENT_TREE_HASH_LEN);
    memcpy(buf + 1 + NGX_HTTP_CONSENT_TREE_HASH_LEN, right,
           NGX_HTTP_CONSENT_TREE_HASH_LEN);

    SHA256_Init(&ctx);
    SHA256_Update(&ctx, buf, sizeof(buf));
    SHA256_Final(out, &ctx);
}


/*
 * Where the hash of the subtree n at level (the leaves 2^level n up to
 * 2^level (n + 1)) is in the hash file, counted in hashes: as tlog's
 * StoredHashIndex.
 */

uint64_t
ngx_http_consent_tree_stored_index(unsigned level, uint64_t n)
{
    unsigned  l;
    uint64_t  i;

    for (l = level; l > 0; l--) {
        n = 2 * n + 1;
    }

    for (i = 0; n > 0; n >>= 1) {
        i += n;
    }

    return i + level;
}


/* how many hashes the file holds for a tree of n leaves */

uint64_t
ngx_http_consent_tree_stored_count(uint64_t n)
{
    uint64_t  count, i;

    if (n == 0) {
        return 0;
    }

    count = ngx_http_consent_tree_stored_index(0, n - 1) + 1;

    for (i = n - 1; i & 1; i >>= 1) {
        count++;
    }

    return count;
}


void
ngx_http_consent_tree_init(ngx_http_consent_tree_t *tree)
{
    memset(tree, 0, sizeof(ngx_http_consent_tree_t));
}


/*
 * Adds a leaf hash. stored receives the hashes to append to the hash file,
 * in their order there (the leaf, then each node it completes); returns
 * their number, 1 to 64.
 */

size_t
ngx_http_consent_tree_append(ngx_http_consent_tree_t *tree,
    const unsigned char *leaf, ngx_http_consent_tree_hash_t *stored)
{
    size_t    n;
    unsigned  l;

    memcpy(stored[0], leaf, NGX_HTTP_CONSENT_TREE_HASH_LEN);
    n = 1;

    for (l = 0; tree->size & ((uint64_t) 1 << l); l++) {
        ngx_http_consent_tree_node_hash(tree->edge[l], stored[n - 1],
                                        stored[n]);
        n++;
    }

    memcpy(tree->edge[l], stored[n - 1], NGX_HTTP_CONSENT_TREE_HASH_LEN);
    tree->size++;

    return n;
}


/* the root: the edge's subtrees folded from the smallest, right to left */

void
ngx_http_consent_tree_root(const ngx_http_consent_tree_t *tree,
    unsigned char *out)
{
    int            found;
    unsigned       l;
    unsigned char  h[NGX_HTTP_CONSENT_TREE_HASH_LEN];

    if (tree->size == 0) {
        SHA256((const unsigned char *) "", 0, out);
        return;
    }

    found = 0;

    for (l = 0; l < NGX_HTTP_CONSENT_TREE_HEIGHT; l++) {

        if (!(tree->size & ((uint64_t) 1 << l))) {
            continue;
        }

        if (!found) {
            memcpy(h, tree->edge[l], NGX_HTTP_CONSENT_TREE_HASH_LEN);
            found = 1;
            continue;
        }

        ngx_http_consent_tree_node_hash(tree->edge[l], h, h);
    }

    memcpy(out, h, NGX_HTTP_CONSENT_TREE_HASH_LEN);
}


/* the right edge of a tree of size leaves, from the hash file */

int
ngx_http_consent_tree_load(ngx_http_consent_tree_t *tree, uint64_t size,
    ngx_http_consent_tree_read_pt read, void *data)
{
    unsigned  l;
    uint64_t  start;

    ngx_http_consent_tree_init(tree);

    start = 0;

    for (l = NGX_HTTP_CONSENT_TREE_HEIGHT; l-- > 0; ) {

        if (!(size & ((uint64_t) 1 << l))) {
            continue;
        }

        if (read(data, ngx_http_consent_tree_stored_index(l, start >> l),
                 tree->edge[l])
            != 0)
        {
            return -1;
        }

        start += (uint64_t) 1 << l;
    }

    tree->size = size;

    return 0;
}


/*
 * The hash of the leaves lo up to hi, as RFC 6962's MTH, for the ranges
 * its proofs use (lo a multiple of the largest power of two not above
 * hi - lo): the aligned complete subtrees of the range, largest first,
 * folded right to left.
 */

int
ngx_http_consent_tree_range_hash(uint64_t lo, uint64_t hi,
    ngx_http_consent_tree_read_pt read, void *data, unsigned char *out)
{
    size_t                        n;
    unsigned                      l;
    ngx_http_consent_tree_hash_t  part[NGX_HTTP_CONSENT_TREE_HEIGHT];

    if (lo >= hi) {
        return -1;
    }

    n = 0;

    while (lo < hi) {

        for (l = 0; l < NGX_HTTP_CONSENT_TREE_HEIGHT - 1; l++) {
            if ((lo & ((uint64_t) 1 << l))
                || hi - lo < ((uint64_t) 2 << l))
            {
                break;
            }
        }

        if (read(data, ngx_http_consent_tree_stored_index(l, lo >> l),
                 part[n])
            != 0)
        {
            return -1;
        }

        n++;
        lo += (uint64_t) 1 << l;
    }

    memcpy(out, part[n - 1], NGX_HTTP_CONSENT_TREE_HASH_LEN);

    while (--n > 0) {
        ngx_http_consent_tree_node_hash(part[n - 1], out, out);
    }

    return 0;
}


/*
 * The inclusion proof of leaf index in the tree of size leaves (RFC 6962
 * section 2.1.1, PATH), from the leaf up: at most 64 hashes.
 */

int
ngx_http_consent_tree_prove(uint64_t index, uint64_t size,
    ngx_http_consent_tree_read_pt read, void *data,
    ngx_http_consent_tree_hash_t *proof, size_t *n)
{
    *n = 0;

    if (index >= size) {
        return -1;
    }

    return ngx_http_consent_tree_path(index, 0, size, read, data, proof, n);
}


static int
ngx_http_consent_tree_path(uint64_t index, uint64_t lo, uint64_t hi,
    ngx_http_consent_tree_read_pt read, void *data,
    ngx_http_consent_tree_hash_t *proof, size_t *n)
{
    int       rc;
    uint64_t  k;

    if (hi - lo == 1) {
        return 0;
    }

    k = ngx_http_consent_tree_split(hi - lo);

    if (index < lo + k) {
        rc = ngx_http_consent_tree_path(index, lo, lo + k, read, data, proof,
                                        n);
        if (rc != 0) {
            return rc;
        }

        rc = ngx_http_consent_tree_range_hash(lo + k, hi, read, data,
                                              proof[*n]);

    } else {
        rc = ngx_http_consent_tree_path(index, lo + k, hi, read, data, proof,
                                        n);
        if (rc != 0) {
            return rc;
        }

        rc = ngx_http_consent_tree_range_hash(lo, lo + k, read, data,
                                              proof[*n]);
    }

    if (rc != 0) {
        return rc;
    }

    (*n)++;

    return 0;
}


/* the largest power of two smaller than n, n > 1 */

static uint64_t
ngx_http_consent_tree_split(uint64_t n)
{
    uint64_t  k;

    for (k = 1; k << 1 < n; k <<= 1) {
        /* void */
    }

    return k;
}


/*
 * Checks an inclusion proof (RFC 9162 section 2.1.3.2): 0 when the leaf
 * hash at index, with the proof, gives root for a tree of size leaves.
 */

int
ngx_http_consent_tree_check(uint64_t index, uint64_t size,
    const unsigned char *leaf, const ngx_http_consent_tree_hash_t *proof,
    size_t n, const unsigned char *root)
{
    size_t         i;
    uint64_t       fn, sn;
    unsigned char  r[NGX_HTTP_CONSENT_TREE_HASH_LEN];

    if (index >= size) {
        return -1;
    }

    fn = index;
    sn = size - 1;
    memcpy(r, leaf, NGX_HTTP_CONSENT_TREE_HASH_LEN);

    for (i = 0; i < n; i++) {

        if (sn == 0) {
            return -1;
        }

        if ((fn & 1) || fn == sn) {
            ngx_http_consent_tree_node_hash(proof[i], r, r);

            if (!(fn & 1)) {
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }

        } else {
            ngx_http_consent_tree_node_hash(r, proof[i], r);
        }

        fn >>= 1;
        sn >>= 1;
    }

    if (sn != 0
        || memcmp(r, root, NGX_HTTP_CONSENT_TREE_HASH_LEN) != 0)
    {
        return -1;
    }

    return 0;
}
