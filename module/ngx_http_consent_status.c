
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * consent_status: numbers for the operator, in the spirit of stub_status.
 * Every consent the endpoint records is counted in a shared memory zone, by
 * action and, for each category, granted or refused, each under the
 * regime (consent_regime) the choice was made in; a location with
 * "consent_status;" prints the counters in the Prometheus text exposition
 * format (version 0.0.4).
 *
 * The zone outlives a reload (nginx keeps a zone of the same name, size and
 * tag), so the counters run from the start of nginx. Categories are kept
 * in the zone by name: a reload that adds, drops or reorders categories
 * keeps each one's counts.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"


#define NGX_HTTP_CONSENT_STATUS_ZONE_SIZE  (64 * 1024)
#define NGX_HTTP_CONSENT_STATUS_NONE       ((ngx_uint_t) -1)


#define NGX_HTTP_CONSENT_STATUS_REGIMES  2   /* opt-in, opt-out */


/* one category's counts, under its name, by regime */
typedef struct {
    u_char                      name[NGX_HTTP_CONSENT_NAME_MAX];
    size_t                      len;
    ngx_atomic_t                granted[NGX_HTTP_CONSENT_STATUS_REGIMES];
    ngx_atomic_t                refused[NGX_HTTP_CONSENT_STATUS_REGIMES];
} ngx_http_consent_status_category_t;


/* the shared part */
typedef struct {
    time_t                      start;
    ngx_atomic_t                actions[NGX_HTTP_CONSENT_STATUS_REGIMES]
                                       [NGX_HTTP_CONSENT_WITHDRAW + 1];
    ngx_uint_t                  ncategories;
    ngx_http_consent_status_category_t
                                categories[NGX_HTTP_CONSENT_MAX_CATEGORIES];
} ngx_http_consent_status_shm_t;


/* this configuration's view of the zone */
struct ngx_http_consent_status_s {
    ngx_http_consent_status_shm_t  *sh;
    ngx_http_consent_main_conf_t   *mcf;

    /* the zone's slot of each configured category, by index */
    ngx_uint_t                      slot[NGX_HTTP_CONSENT_MAX_CATEGORIES];
};


static ngx_int_t ngx_http_consent_status_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_consent_status_handler(ngx_http_request_t *r);


static ngx_str_t  ngx_http_consent_status_zone = ngx_string("consent_status");

static const char  *ngx_http_consent_status_regimes[] = {
    "opt-in", "opt-out"                /* NGX_HTTP_CONSENT_REGIME_* */
};

static ngx_str_t  ngx_http_consent_status_choices = ngx_string(
    "# HELP nginx_consent_choices_total Consents recorded since nginx "
    "started, by action and regime.\n"
    "# TYPE nginx_consent_choices_total counter\n");

static ngx_str_t  ngx_http_consent_status_categories = ngx_string(
    "# HELP nginx_consent_category_choices_total Consents recorded since "
    "nginx started, by category, answer and regime.\n"
    "# TYPE nginx_consent_category_choices_total counter\n");

static ngx_str_t  ngx_http_consent_status_start = ngx_string(
    "# HELP nginx_consent_start_time_seconds When the counters started, "
    "in seconds since the epoch.\n"
    "# TYPE nginx_consent_start_time_seconds gauge\n"
    "nginx_consent_start_time_seconds ");

char *
ngx_http_consent_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_shm_zone_t                *shm_zone;
    ngx_http_consent_status_t     *status;
    ngx_http_consent_main_conf_t  *mcf;

    if (ngx_http_consent_set_handler(cf, cmd, ngx_http_consent_status_handler)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);

    if (mcf->status != NULL) {
        return NGX_CONF_OK;
    }

    status = ngx_pcalloc(cf->pool, sizeof(ngx_http_consent_status_t));
    if (status == NULL) {
        return NGX_CONF_ERROR;
    }

    status->mcf = mcf;

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_consent_status_zone,
                                     NGX_HTTP_CONSENT_STATUS_ZONE_SIZE,
                                     &ngx_http_consent_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the shared memory zone \"consent_status\" is "
                           "already used; rename the other zone");
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_consent_status_init_zone;
    shm_zone->data = status;

    mcf->status = status;

    return NGX_CONF_OK;
}


/*
 * Runs in the master, once the configuration is read and before workers
 * start: after a reload the old workers may still be counting, but only
 * in slots that exist already, and this only appends.
 */

static ngx_int_t
ngx_http_consent_status_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_consent_status_t *ostatus = data;

    ngx_uint_t                           i, j;
    ngx_slab_pool_t                     *shpool;
    ngx_http_consent_status_t           *status;
    ngx_http_consent_category_t         *c;
    ngx_http_consent_status_shm_t       *sh;
    ngx_http_consent_status_category_t  *sc;

    status = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (ostatus != NULL) {
        sh = ostatus->sh;

    } else if (shm_zone->shm.exists) {
        sh = shpool->data;

    } else {
        sh = ngx_slab_calloc(shpool, sizeof(ngx_http_consent_status_shm_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        sh->start = ngx_time();
        shpool->data = sh;
    }

    status->sh = sh;

    c = status->mcf->categories->elts;

    for (i = 0; i < status->mcf->categories->nelts; i++) {
        sc = sh->categories;

        for (j = 0; j < sh->ncategories; j++) {
            if (sc[j].len == c[i].name.len
                && ngx_memcmp(sc[j].name, c[i].name.data, sc[j].len) == 0)
            {
                break;
            }
        }

        if (j == sh->ncategories) {
            if (j == NGX_HTTP_CONSENT_MAX_CATEGORIES) {

                /* a zone full of names from earlier configurations */

                ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                              "consent_status: no room left for category "
                              "\"%V\", it is not counted; restart nginx "
                              "to start the counters afresh", &c[i].name);
                status->slot[i] = NGX_HTTP_CONSENT_STATUS_NONE;
                continue;
            }

            ngx_memcpy(sc[j].name, c[i].name.data, c[i].name.len);
            sc[j].len = c[i].name.len;
            sh->ncategories++;
        }

        status->slot[i] = j;
    }

    return NGX_OK;
}


/* a consent was recorded and its cookie set: count it */

void
ngx_http_consent_status_count(ngx_http_consent_main_conf_t *mcf,
    ngx_http_consent_choice_t *choice)
{
    ngx_uint_t                           i, g;
    ngx_http_consent_status_t           *status;
    ngx_http_consent_status_category_t  *sc;

    status = mcf->status;

    if (status == NULL || status->sh == NULL) {
        return;
    }

    g = (choice->regime == NGX_HTTP_CONSENT_REGIME_OPT_OUT);

    (void) ngx_atomic_fetch_add(&status->sh->actions[g][choice->action], 1);

    for (i = 0; i < mcf->categories->nelts; i++) {
        if (status->slot[i] == NGX_HTTP_CONSENT_STATUS_NONE) {
            continue;
        }

        sc = &status->sh->categories[status->slot[i]];

        if (choice->granted & ((uint64_t) 1 << i)) {
            (void) ngx_atomic_fetch_add(&sc->granted[g], 1);

        } else {
            (void) ngx_atomic_fetch_add(&sc->refused[g], 1);
        }
    }
}


static ngx_int_t
ngx_http_consent_status_handler(ngx_http_request_t *r)
{
    u_char                              *p;
    size_t                               len;
    ngx_int_t                            rc;
    ngx_buf_t                           *b;
    ngx_uint_t                           i, g;
    const char                          *regime;
    ngx_http_consent_status_t           *status;
    ngx_http_consent_category_t         *c;
    ngx_http_consent_main_conf_t        *mcf;
    ngx_http_consent_status_category_t  *sc;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    status = mcf->status;
    c = mcf->categories->elts;

    len = ngx_http_consent_status_choices.len
          + ngx_http_consent_status_categories.len
          + ngx_http_consent_status_start.len + NGX_TIME_T_LEN + 1
          + NGX_HTTP_CONSENT_STATUS_REGIMES * (NGX_HTTP_CONSENT_WITHDRAW + 1)
            * (sizeof("nginx_consent_choices_total{action=\"reject_all\","
                      "regime=\"opt-out\"} \n")
               - 1 + NGX_ATOMIC_T_LEN)
          + NGX_HTTP_CONSENT_STATUS_REGIMES * mcf->categories->nelts * 2
            * (sizeof("nginx_consent_category_choices_total{category=\"\","
                      "answer=\"granted\",regime=\"opt-out\"} \n") - 1
               + NGX_HTTP_CONSENT_NAME_MAX + NGX_ATOMIC_T_LEN);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(b->last, ngx_http_consent_status_choices.data,
                   ngx_http_consent_status_choices.len);

    for (g = 0; g < NGX_HTTP_CONSENT_STATUS_REGIMES; g++) {
        for (i = 0; i <= NGX_HTTP_CONSENT_WITHDRAW; i++) {
            p = ngx_sprintf(p, "nginx_consent_choices_total"
                            "{action=\"%s\",regime=\"%s\"} %uA\n",
                            ngx_http_consent_action_names[i],
                            ngx_http_consent_status_regimes[g],
                            status->sh->actions[g][i]);
        }
    }

    p = ngx_cpymem(p, ngx_http_consent_status_categories.data,
                   ngx_http_consent_status_categories.len);

    /* category names are [a-z][a-z0-9_]*: label values need no escaping */

    for (g = 0; g < NGX_HTTP_CONSENT_STATUS_REGIMES; g++) {
        regime = ngx_http_consent_status_regimes[g];

        for (i = 0; i < mcf->categories->nelts; i++) {
            if (status->slot[i] == NGX_HTTP_CONSENT_STATUS_NONE) {
                continue;
            }

            sc = &status->sh->categories[status->slot[i]];

            p = ngx_sprintf(p, "nginx_consent_category_choices_total"
                            "{category=\"%V\",answer=\"granted\","
                            "regime=\"%s\"} %uA\n"
                            "nginx_consent_category_choices_total"
                            "{category=\"%V\",answer=\"refused\","
                            "regime=\"%s\"} %uA\n",
                            &c[i].name, regime, sc->granted[g],
                            &c[i].name, regime, sc->refused[g]);
        }
    }

    p = ngx_cpymem(p, ngx_http_consent_status_start.data,
                   ngx_http_consent_status_start.len);
    p = ngx_sprintf(p, "%T\n", status->sh->start);

    b->last = p;

    return ngx_http_consent_send_buf(r, NGX_HTTP_OK,
                                     "text/plain; version=0.0.4; "
                                     "charset=utf-8", b);
}
