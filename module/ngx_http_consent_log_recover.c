
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_log.h"


/*
 * A new shared memory zone (nginx started): the tree loaded from the files
 * beside the log, the records they lack added from the log, and the last
 * checkpoint checked against the tree.
 */


#define NGX_HTTP_CONSENT_LOG_CHUNK        (1024 * 1024)


static void ngx_http_consent_log_recover(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log);
static int ngx_http_consent_log_read_hash(void *data, uint64_t index,
    unsigned char *out);
static void ngx_http_consent_log_load_checkpoint(
    ngx_http_consent_log_conf_t *lcf, ngx_log_t *log);


ngx_int_t
ngx_http_consent_log_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_consent_log_conf_t  *olcf = data;

    ngx_http_consent_log_conf_t  *lcf;

    lcf = shm_zone->data;

    if (olcf != NULL) {
        /* reload: the tree goes on */
        lcf->shpool = olcf->shpool;
        lcf->sh = olcf->sh;

        ngx_shmtx_lock(&lcf->shpool->mutex);
        lcf->generation = ++lcf->sh->generation;
        ngx_shmtx_unlock(&lcf->shpool->mutex);

        return NGX_OK;
    }

    lcf->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        lcf->sh = lcf->shpool->data;
        return NGX_OK;
    }

    lcf->sh = ngx_slab_alloc(lcf->shpool, sizeof(ngx_http_consent_log_sh_t));
    if (lcf->sh == NULL) {
        return NGX_ERROR;
    }

    lcf->shpool->data = lcf->sh;

    ngx_memzero(lcf->sh, sizeof(ngx_http_consent_log_sh_t));
    lcf->generation = lcf->sh->generation = 1;

    lcf->sh->hashes_buf = ngx_slab_alloc(lcf->shpool,
                                         NGX_HTTP_CONSENT_LOG_HASHES_BUF);
    lcf->sh->leaves_buf = ngx_slab_alloc(lcf->shpool,
                                         NGX_HTTP_CONSENT_LOG_LEAVES_BUF);
    lcf->sh->index_buf = ngx_slab_alloc(lcf->shpool,
                                        NGX_HTTP_CONSENT_LOG_INDEX_BUF);

    if (lcf->sh->hashes_buf == NULL || lcf->sh->leaves_buf == NULL
        || lcf->sh->index_buf == NULL)
    {
        return NGX_ERROR;
    }

    if (!ngx_test_config) {
        ngx_http_consent_log_recover(lcf, shm_zone->shm.log);
    }

    return NGX_OK;
}


/*
 * A new zone (nginx started): the tree is loaded from PATH.hashes, the
 * files beside the log are cut back to the last leaf they all have, and
 * the records of the log that they lack (written just before a crash, or
 * all of them for a log of the first format) are added. A line cut by a
 * crash is closed with a newline, so that the next record starts on its
 * own line. Then a checkpoint, when the last one does not cover the tree.
 */

static void
ngx_http_consent_log_recover(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log)
{
    off_t                          size;
    uint64_t                       lo, hi, mid, count, n;
    ngx_fd_t                       fd;
    ngx_file_info_t                fi;
    ngx_http_consent_log_sh_t     *sh;
    ngx_http_consent_log_entry_t   e;

    sh = lcf->sh;

    if (lcf->hashes == NULL || lcf->main->fd == NGX_INVALID_FILE) {
        return;
    }

    if (ngx_fd_info(lcf->hashes->fd, &fi) == NGX_FILE_ERROR) {
        goto broken;
    }

    /* the largest tree whose hashes are all there */

    count = (uint64_t) ngx_file_size(&fi) / NGX_HTTP_CONSENT_TREE_HASH_LEN;
    lo = 0;
    hi = count;

    while (lo < hi) {
        mid = lo + (hi - lo + 1) / 2;

        if (ngx_http_consent_tree_stored_count(mid) <= count) {
            lo = mid;

        } else {
            hi = mid - 1;
        }
    }

    n = lo;

    if (ngx_fd_info(lcf->index->fd, &fi) == NGX_FILE_ERROR) {
        goto broken;
    }

    count = (uint64_t) ngx_file_size(&fi)
            / sizeof(ngx_http_consent_log_entry_t);

    if (count < n) {
        n = count;
    }

    fd = ngx_open_file(lcf->index->name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN,
                       0);
    if (fd == NGX_INVALID_FILE) {
        goto broken;
    }

    sh->leaves_size = 0;

    if (n > 0
        && pread(fd, &e, sizeof(e), (off_t) ((n - 1) * sizeof(e)))
           != (ssize_t) sizeof(e))
    {
        (void) ngx_close_file(fd);
        goto broken;
    }

    (void) ngx_close_file(fd);

    if (n > 0) {
        sh->leaves_size = (off_t) (e.offset + e.len + 1);
    }

    sh->hashes_size = (off_t) (ngx_http_consent_tree_stored_count(n)
                               * NGX_HTTP_CONSENT_TREE_HASH_LEN);
    sh->index_size = (off_t) (n * sizeof(ngx_http_consent_log_entry_t));

    if (ftruncate(lcf->hashes->fd, sh->hashes_size) == -1
        || ftruncate(lcf->index->fd, sh->index_size) == -1
        || ftruncate(lcf->leaves->fd, sh->leaves_size) == -1)
    {
        goto broken;
    }

    if (ngx_http_consent_tree_load(&sh->tree, n,
                                   ngx_http_consent_log_read_hash, lcf)
        != 0)
    {
        goto broken;
    }

    sh->synced = n;

    /* the records of the log beyond the tree */

    fd = ngx_open_file(lcf->main->name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN,
                       0);

    if (fd != NGX_INVALID_FILE) {

        if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR && S_ISREG(fi.st_mode)) {
            size = ngx_file_size(&fi);
            sh->log_ino = ngx_file_uniq(&fi);
            sh->log_size = size;

            ngx_http_consent_log_replay(lcf, fd, 0, size, log);
        }

        (void) ngx_close_file(fd);
    }

    /* what the log had more: on disk before the checkpoint is checked */

    (void) ngx_http_consent_log_flush(lcf, log);

    if (sh->tree.size) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "consent log \"%V\": the tree goes on after %uL "
                      "records", &lcf->main->name, sh->tree.size);
    }

    sh->synced = sh->tree.size;

    ngx_http_consent_log_load_checkpoint(lcf, log);
    ngx_http_consent_log_checkpoint(lcf, log);

    return;

broken:

    ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                  "consent log \"%V\": the files beside it cannot be read "
                  "or repaired; receipts are off until they are, and the "
                  "tree starts again: check %V.hashes", &lcf->main->name,
                  &lcf->main->name);

    ngx_http_consent_tree_init(&sh->tree);
    sh->broken = 1;
}


static int
ngx_http_consent_log_read_hash(void *data, uint64_t index, unsigned char *out)
{
    ngx_http_consent_log_conf_t  *lcf = data;

    ngx_fd_t  fd;
    ssize_t   n;

    fd = lcf->read_fd[0];

    if (fd == NGX_INVALID_FILE) {
        fd = ngx_open_file(lcf->hashes->name.data, NGX_FILE_RDONLY,
                           NGX_FILE_OPEN, 0);
        if (fd == NGX_INVALID_FILE) {
            return -1;
        }

        lcf->read_fd[0] = fd;
    }

    n = pread(fd, out, NGX_HTTP_CONSENT_TREE_HASH_LEN,
              (off_t) (index * NGX_HTTP_CONSENT_TREE_HASH_LEN));

    return n == NGX_HTTP_CONSENT_TREE_HASH_LEN ? 0 : -1;
}


/*
 * Adds the whole lines of the log from offset from on whose seq is the
 * next leaf; earlier ones are skipped. A cut last line is closed.
 */

void
ngx_http_consent_log_replay(ngx_http_consent_log_conf_t *lcf, ngx_fd_t fd,
    off_t from, off_t size, ngx_log_t *log)
{
    u_char                          *buf, *p, *nl, *end, *canon;
    size_t                           len, have;
    ssize_t                          n;
    ngx_http_consent_log_sh_t       *sh;
    ngx_http_consent_record_line_t   f;

    sh = lcf->sh;

    buf = ngx_alloc(NGX_HTTP_CONSENT_LOG_CHUNK + 1, log);
    canon = ngx_alloc(NGX_HTTP_CONSENT_LOG_CHUNK + 1, log);

    if (buf == NULL || canon == NULL) {
        goto done;
    }

    have = 0;

    while (from < size) {
        n = pread(fd, buf + have, NGX_HTTP_CONSENT_LOG_CHUNK - have,
                  from + (off_t) have);

        if (n <= 0) {
            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          "consent log \"%V\": cannot read it",
                          &lcf->main->name);
            goto done;
        }

        end = buf + have + n;
        p = buf;

        for ( ;; ) {
            nl = ngx_strlchr(p, end, '\n');

            if (nl == NULL) {
                break;
            }

            len = nl - p;

            if (ngx_http_consent_record_fields((char *) p, len, &f) == 0
                && f.type != NGX_HTTP_CONSENT_RECORD_CHECKPOINT
                && f.seq == sh->tree.size + 1)
            {
                /* a signed record of the first format: without its sig */
                ngx_memcpy(canon, p, f.canonical);
                canon[f.canonical] = '}';

                if (ngx_http_consent_log_leaf(lcf, f.sig ? canon : p,
                                              f.sig ? f.canonical + 1 : len,
                                              (ngx_uint_t) f.type,
                                              f.has_id ? f.id : NULL, log)
                    != NGX_OK)
                {
                    goto done;
                }
            }

            p = nl + 1;
        }

        have = end - p;
        from += p - buf;

        if (have == NGX_HTTP_CONSENT_LOG_CHUNK) {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "consent log \"%V\": a line of more than 1 MiB",
                          &lcf->main->name);
            goto done;
        }

        if (from + (off_t) have >= size) {
            break;
        }

        ngx_memmove(buf, p, have);
    }

    if (have) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "consent log \"%V\" ends with a cut line; it is "
                      "closed, and consent-audit verify will name it",
                      &lcf->main->name);

        if (ngx_write_fd(lcf->main->fd, (u_char *) "\n", 1) != 1) {
            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          "consent log \"%V\": write() failed",
                          &lcf->main->name);

        } else if (sh->log_size == size) {
            sh->log_size++;
        }
    }

done:

    if (buf != NULL) {
        ngx_free(buf);
    }

    if (canon != NULL) {
        ngx_free(canon);
    }
}


/* the latest checkpoint, if it is this log's and it still holds */

static void
ngx_http_consent_log_load_checkpoint(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log)
{
    ssize_t                         n;
    ngx_fd_t                        fd;
    ngx_http_consent_log_sh_t      *sh;
    ngx_http_consent_checkpoint_t   cp;
    u_char                          root[NGX_HTTP_CONSENT_TREE_HASH_LEN];
    u_char                          note[NGX_HTTP_CONSENT_NOTE_LEN];

    sh = lcf->sh;

    if (lcf->key == NULL) {
        return;
    }

    fd = ngx_open_file(lcf->checkpoint.data, NGX_FILE_RDONLY, NGX_FILE_OPEN,
                       0);
    if (fd == NGX_INVALID_FILE) {
        return;
    }

    n = ngx_read_fd(fd, note, sizeof(note));
    (void) ngx_close_file(fd);

    if (n <= 0 || n == (ssize_t) sizeof(note)
        || ngx_http_consent_note_open((char *) note, (size_t) n, lcf->key,
                                      &cp)
           != NGX_HTTP_CONSENT_NOTE_OK
        || cp.origin_len != lcf->origin.len
        || ngx_strncmp(cp.origin, lcf->origin.data, cp.origin_len) != 0
        || cp.size > sh->tree.size
        || cp.size == 0
        || ngx_http_consent_tree_range_hash(0, cp.size,
                                            ngx_http_consent_log_read_hash,
                                            lcf, root)
           != 0
        || ngx_memcmp(root, cp.root, NGX_HTTP_CONSENT_TREE_HASH_LEN) != 0)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "consent log \"%V\": the checkpoint in \"%V\" is not "
                      "one of this tree; a new one replaces it",
                      &lcf->main->name, &lcf->checkpoint);
        return;
    }

    ngx_memcpy(sh->note, note, (size_t) n);
    sh->note_len = (size_t) n;
    sh->cp_size = cp.size;
}

