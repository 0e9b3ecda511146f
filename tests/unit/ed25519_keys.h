
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * Two Ed25519 keys made for a test group, and freed after it: the
 * signing key and another one (a signature it made must not verify).
 * Included after cmocka.h by the tests that sign:
 *
 *     return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
 */


#ifndef _ED25519_KEYS_H_INCLUDED_
#define _ED25519_KEYS_H_INCLUDED_


#include <openssl/evp.h>


static EVP_PKEY  *key, *other_key;


static EVP_PKEY *
make_key(void)
{
    EVP_PKEY      *k;
    EVP_PKEY_CTX  *ctx;

    k = NULL;
    ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
    assert_int_equal(EVP_PKEY_keygen(ctx, &k), 1);
    EVP_PKEY_CTX_free(ctx);

    return k;
}


static int
keys_setup(void **state)
{
    (void) state;

    key = make_key();
    other_key = make_key();

    return 0;
}


static int
keys_teardown(void **state)
{
    (void) state;

    EVP_PKEY_free(key);
    EVP_PKEY_free(other_key);

    return 0;
}


#endif /* _ED25519_KEYS_H_INCLUDED_ */
