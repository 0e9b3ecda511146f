
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_TREE_H_INCLUDED_
#define _NGX_HTTP_CONSENT_TREE_H_INCLUDED_


/*
 * The Merkle tree over the consent log (RFC 6962 section 2.1, RFC 9162
 * section 2.1): a pure core, free of nginx types, shared by the module,
 * consent-audit, the unit tests and the fuzzer.
 *
 *     leaf hash  SHA-256(0x00 || the record's canonical bytes)
 *     node hash  SHA-256(0x01 || left || right)
 *     empty tree SHA-256("")
 *
 * The tree grows one leaf at a time; its right edge (one hash per set bit
 * of the size) is all that is needed to add a leaf and to compute the root.
 * Every hash ever completed is kept in a hash file in the order of Go's
 * golang.org/x/mod/sumdb/tlog (StoredHashIndex): the leaf of record n,
 * then the nodes it completes, bottom up; about two hashes a record. Any
 * subtree hash is then one read away, and an inclusion proof is at most
 * 2 log2(size) reads.
 */


#include <stddef.h>
#include <stdint.h>


#define NGX_HTTP_CONSENT_TREE_HASH_LEN    32
#define NGX_HTTP_CONSENT_TREE_HEIGHT      64


typedef unsigned char  ngx_http_consent_tree_hash_t[
    NGX_HTTP_CONSENT_TREE_HASH_LEN];


typedef struct {
    uint64_t                      size;
    /* edge[l]: the complete subtree of 2^l leaves, when bit l of size is 1 */
    ngx_http_consent_tree_hash_t  edge[NGX_HTTP_CONSENT_TREE_HEIGHT];
} ngx_http_consent_tree_t;


/* reads the stored hash at index into out; 0, or -1 when it cannot */
typedef int (*ngx_http_consent_tree_read_pt)(void *data, uint64_t index,
    unsigned char *out);


void ngx_http_consent_tree_leaf_hash(const void *leaf, size_t len,
    unsigned char *out);
void ngx_http_consent_tree_node_hash(const unsigned char *left,
    const unsigned char *right, unsigned char *out);

uint64_t ngx_http_consent_tree_stored_index(unsigned level, uint64_t n);
uint64_t ngx_http_consent_tree_stored_count(uint64_t n);

void ngx_http_consent_tree_init(ngx_http_consent_tree_t *tree);
size_t ngx_http_consent_tree_append(ngx_http_consent_tree_t *tree,
    const unsigned char *leaf, ngx_http_consent_tree_hash_t *stored);
void ngx_http_consent_tree_root(const ngx_http_consent_tree_t *tree,
    unsigned char *out);

int ngx_http_consent_tree_load(ngx_http_consent_tree_t *tree, uint64_t size,
    ngx_http_consent_tree_read_pt read, void *data);
int ngx_http_consent_tree_range_hash(uint64_t lo, uint64_t hi,
    ngx_http_consent_tree_read_pt read, void *data, unsigned char *out);
int ngx_http_consent_tree_prove(uint64_t index, uint64_t size,
    ngx_http_consent_tree_read_pt read, void *data,
    ngx_http_consent_tree_hash_t *proof, size_t *n);
int ngx_http_consent_tree_check(uint64_t index, uint64_t size,
    const unsigned char *leaf, const ngx_http_consent_tree_hash_t *proof,
    size_t n, const unsigned char *root);


#endif /* _NGX_HTTP_CONSENT_TREE_H_INCLUDED_ */
