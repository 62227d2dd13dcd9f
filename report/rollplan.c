/*
 * rollplan.c - the rollup planner of query.c: which rollup a failure or
 * session query reads, over which segments of its window, and the SQL of
 * that rollup part (rollplan.h).
 *
 * schema/002-rollups.sql keeps failed sessions and sessions summed per
 * bucket (day, ISO week, month) and per interned key ids, with the dedup
 * rules applied when the rows were written.  A query uses the smallest
 * rollup whose dimensions cover its keys and filters; the window is cut
 * into whole months, weeks and days of that rollup, and the partial days at
 * either end (a window that does not start or end at midnight) are read
 * from the raw rows.  A window that holds every stored report reads the
 * rollup's total table instead when it has one and the query has no time
 * key (schema/004-rollup-total.sql).  Queries no rollup covers (--by ip
 * with a domain or MX key or filter, sessions --by policy) read the raw
 * rows, as does every query when TLSRPT_NO_ROLLUP is set to anything but
 * "0" (a debugging aid: the test suite compares both).  A failure query
 * without time keys sums its rollup rows per key in C
 * (rpt_plan_presum_failures, rollsum.h) where SQLite's GROUP BY would sort
 * them all.
 */
#include "rollplan.h"
#include "rollsum.h"
#include "sql.h"
#include "tlsrpt/codes.h"

#include <stdlib.h>
#include <string.h>

enum { D_ORG = 1, D_DOM = 2, D_MX = 4, D_TYPE = 8, D_IP = 16, D_PT = 32, D_TIME = 64 };
enum { G_DAY = 1, G_WEEK = 2, G_MONTH = 4 };

struct rpt_rollup {
    const char *table;
    unsigned dims, grains;
    int has_g;                      /* a g column (else days only) */
    int dom_lead;                   /* the primary key starts with dom */
    const char *const cols[7];      /* key columns in primary-key order */
    const char *total;              /* the same sums over all time, or NULL */
};

static const struct rpt_rollup fail_rollups[] = {
    {"roll_fail_ip", D_ORG | D_IP | D_TYPE | D_PT, G_DAY | G_MONTH, 1, 0, {"t", "org", "ip", "ty", "pt"}, NULL},
    {"roll_fail_mx", D_DOM | D_MX | D_TYPE | D_PT, G_DAY | G_WEEK | G_MONTH, 1, 1, {"dom", "t", "mx", "ty", "pt"},
     NULL},
    {"roll_fail", D_ORG | D_DOM | D_MX | D_TYPE | D_PT, G_DAY, 0, 1, {"dom", "t", "org", "mx", "ty", "pt"},
     "roll_fail_tot"},
};
static const struct rpt_rollup sess_rollup = {
    "roll_sess", D_ORG | D_DOM, G_DAY | G_WEEK | G_MONTH, 1, 1, {"dom", "t", "org"}, NULL};

/* Rollup column -> its dimension, dim table and the uniform alias. */
static const struct { unsigned bit; const char *col, *dim, *alias; } dim_info[] = {
    {D_ORG, "org", "dim_org", "org"}, {D_DOM, "dom", "dim_domain", "pd"}, {D_MX, "mx", "dim_mx", "mx"},
    {D_TYPE, "ty", "dim_type", "ty"}, {D_IP, "ip", "dim_ip", "ip"}, {D_PT, "pt", "dim_ptype", "pt"},
};
#define N_DIMS (sizeof dim_info / sizeof dim_info[0])

static unsigned key_dim(enum rpt_key k)
{
    switch (k) {
    case RPT_K_ORG: return D_ORG;
    case RPT_K_DOMAIN: return D_DOM;
    case RPT_K_MX: return D_MX;
    case RPT_K_TYPE: return D_TYPE;
    case RPT_K_IP: return D_IP;
    case RPT_K_POLICY: return D_PT;
    default: return D_TIME;
    }
}

static unsigned col_dim(const char *col)
{
    for (size_t i = 0; i < N_DIMS; i++)
        if (strcmp(dim_info[i].col, col) == 0)
            return dim_info[i].bit;
    return D_TIME;   /* "t" */
}

int rpt_rollups_usable(sqlite3 *db)
{
    const char *e = getenv("TLSRPT_NO_ROLLUP");
    sqlite3_stmt *st;
    int pending = 1;

    if (e != NULL && e[0] != '\0' && strcmp(e, "0") != 0)
        return 0;
    if (sqlite3_prepare_v2(db, "SELECT EXISTS (SELECT 1 FROM roll_pending)", -1, &st, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        pending = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return !pending;
}

#define G_TOTAL (-1)   /* a segment's g: the total table, all of time */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void add_edge(struct rpt_plan *p, int64_t lo, int64_t hi)
{
    if (lo < hi) {
        p->edge[p->n_edge][0] = lo;
        p->edge[p->n_edge][1] = hi;
        p->n_edge++;
    }
}

/* Whole months (G_MONTH), ISO weeks (G_WEEK) and days of [since, until)
 * as segments, the partial days as raw edges.  Everything raw when grains
 * is 0.  Returns 0, or -1 when the plan does not fit (then read raw). */
static int plan_window(const struct rpt_scope *s, unsigned grains, struct rpt_plan *p)
{
    int64_t a = -floor_div(-s->since, 86400), b = floor_div(s->until, 86400);

    memset(p, 0, sizeof *p);
    if (grains == 0 || a >= b) {
        add_edge(p, s->since, s->until);
        return 0;
    }
    add_edge(p, s->since, a * 86400);
    for (int64_t d = a; d < b;) {
        int g = 0;
        int64_t next = d + 1;
        if (grains & G_MONTH) {
            int64_t ms = rpt_bucket_start(RPT_I_MONTH, d * 86400) / 86400;
            int64_t mn = rpt_bucket_next(RPT_I_MONTH, ms * 86400) / 86400;
            if (ms == d && mn <= b) {
                g = 2;
                next = mn;
            }
        }
        if (g == 0 && (grains & G_WEEK) && ((d % 7) + 7 + 3) % 7 == 0 && d + 7 <= b) {
            g = 1;
            next = d + 7;
        }
        if (p->n_seg > 0 && p->seg[p->n_seg - 1].g == g && p->seg[p->n_seg - 1].hi == d) {
            p->seg[p->n_seg - 1].hi = next;
        } else {
            if (p->n_seg == RPT_PLAN_SEGS_MAX)
                return -1;
            p->seg[p->n_seg].g = g;
            p->seg[p->n_seg].lo = d;
            p->seg[p->n_seg].hi = next;
            p->n_seg++;
        }
        d = next;
    }
    add_edge(p, b * 86400, s->until);
    return 0;
}

/* 1 when no stored report starts outside [since, until) (two index
 * probes on report_start), 0 when one does or on error. */
static int window_holds_all(sqlite3 *db, const struct rpt_scope *s)
{
    sqlite3_stmt *st;
    int all = 0;

    if (sqlite3_prepare_v2(db, "SELECT NOT EXISTS (SELECT 1 FROM report WHERE start_time < ?1)"
                               " AND NOT EXISTS (SELECT 1 FROM report WHERE start_time >= ?2)",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, s->since);
    sqlite3_bind_int64(st, 2, s->until);
    if (sqlite3_step(st) == SQLITE_ROW)
        all = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return all;
}

/* The plan of a window that holds every stored report, for a rollup with
 * a total table and a query without time keys: that table alone. */
static void plan_total(struct rpt_plan *p)
{
    memset(p, 0, sizeof *p);
    p->seg[0].g = G_TOTAL;
    p->n_seg = 1;
}

/* 1 when a database has a policy domain literally named "(none)", what a
 * missing domain shows as (key_expr): the two then group together. */
static int domain_named_none(sqlite3 *db)
{
    sqlite3_stmt *st;
    int found = 1;

    if (sqlite3_prepare_v2(db, "SELECT EXISTS (SELECT 1 FROM dim_domain WHERE name = '(none)')", -1, &st,
                           NULL) != SQLITE_OK)
        return 1;
    if (sqlite3_step(st) == SQLITE_ROW)
        found = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return found;
}

/* 1 when the rollup part of plan p, alone (no raw edges), yields one row
 * per value of the keys: it is grouped by the keys' ids, and the time key,
 * if any, is that of every segment's grain (a day key over day rows; not
 * a week key over day rows).  The outer GROUP BY by names, which sorted
 * every row again, can then be left out.  Not when a policy domain is
 * literally named "(none)", what a missing one shows as. */
static int rows_one_per_key(sqlite3 *db, const struct rpt_plan *p, const enum rpt_key *keys, size_t n_keys)
{
    int grain = -1, by_domain = 0;

    if (n_keys == 0 || p->n_seg == 0 || p->n_edge > 0)
        return 0;
    for (size_t i = 0; i < n_keys; i++) {
        int g = keys[i] == RPT_K_DAY ? 0 : keys[i] == RPT_K_WEEK ? 1 : keys[i] == RPT_K_MONTH ? 2 : -1;
        if (g >= 0) {
            if (grain >= 0)
                return 0;
            grain = g;
        }
        by_domain |= keys[i] == RPT_K_DOMAIN;
    }
    for (size_t i = 0; i < p->n_seg; i++)
        if (grain >= 0 && p->seg[i].g != grain)
            return 0;
    return !by_domain || !domain_named_none(db);
}

/* Grains the time keys allow: day rows serve every time key; week rows
 * serve week keys, month rows month keys; none when both are asked. */
static unsigned grains_for(const enum rpt_key *keys, size_t n_keys)
{
    unsigned g = G_DAY | G_WEEK | G_MONTH;
    for (size_t i = 0; i < n_keys; i++) {
        if (keys[i] == RPT_K_DAY)
            g &= G_DAY;
        else if (keys[i] == RPT_K_WEEK)
            g &= G_DAY | G_WEEK;
        else if (keys[i] == RPT_K_MONTH)
            g &= G_DAY | G_MONTH;
    }
    return g;
}

/* " AND col IN (SELECT id FROM dim WHERE 1 AND (name = ? ...))" (sql.h). */
static void add_dim_filter(struct rpt_sql *q, const char *col, const char *dim, const struct rpt_filter *f)
{
    if (f->n == 0)
        return;
    rpt_sql_add(q, " AND ");
    rpt_sql_add(q, col);
    rpt_sql_add(q, " IN (SELECT id FROM ");
    rpt_sql_add(q, dim);
    rpt_sql_add(q, " WHERE 1");
    rpt_sql_filter(q, "name", f);
    rpt_sql_add(q, ")");
}

/* The rows of plan p's segments of rollup ru: "SELECT <key columns>,
 * seg_meas FROM <segment> WHERE ... UNION ALL ...", each row selecting
 * the key columns in `keys` (dimension bits, D_TIME for the bucket) in
 * ru->cols order.  A filter's dimension is applied in each segment's
 * WHERE and not selected: grouping by it would only split the sums. */
static void add_rollup_segments(struct rpt_sql *q, const struct rpt_scope *s, const struct rpt_rollup *ru,
                                const struct rpt_plan *p, unsigned keys, const char *seg_meas)
{
    for (size_t i = 0; i < p->n_seg; i++) {
        rpt_sql_add(q, i ? " UNION ALL SELECT " : "SELECT ");
        for (size_t c = 0; ru->cols[c]; c++)
            if (keys & col_dim(ru->cols[c])) {
                rpt_sql_add(q, ru->cols[c]);
                rpt_sql_add(q, ", ");
            }
        rpt_sql_add(q, seg_meas);
        rpt_sql_add(q, " FROM ");
        rpt_sql_add(q, p->seg[i].g == G_TOTAL ? ru->total : ru->table);
        rpt_sql_add(q, " WHERE 1");
        if (s->f->domain.n > 0)
            add_dim_filter(q, "dom", "dim_domain", &s->f->domain);
        else if (ru->dom_lead && p->seg[i].g != G_TOTAL)   /* seek per domain rather than scan */
            rpt_sql_add(q, " AND dom IN (SELECT 0 UNION ALL SELECT id FROM dim_domain)");
        if (ru->has_g && p->seg[i].g != G_TOTAL) {
            rpt_sql_add(q, " AND g = ?");
            rpt_sql_bind_int(q, p->seg[i].g);
        }
        if (p->seg[i].g != G_TOTAL) {
            rpt_sql_add(q, " AND t >= ? AND t < ?");
            rpt_sql_bind_int(q, p->seg[i].lo);
            rpt_sql_bind_int(q, p->seg[i].hi);
        }
        if (ru->dims & D_ORG)
            add_dim_filter(q, "org", "dim_org", &s->f->org);
        if (ru->dims & D_MX)
            add_dim_filter(q, "mx", "dim_mx", &s->f->mx);
        if (ru->dims & D_TYPE)
            add_dim_filter(q, "ty", "dim_type", &s->f->type);
    }
}

/* The sums in C (rollsum.h): *json [[key ids in ru->cols order..., n, c],
 * ...], or NULL when they are left to SQL. */
int rpt_plan_presum_failures(sqlite3 *db, const struct rpt_scope *s, const struct rpt_plan *p,
                             const char *seg_meas, char **json, struct tr_err *err)
{
    const struct rpt_rollup *ru = p->ru;
    unsigned keys = p->key_dims;
    int64_t span[RPT_ROLLSUM_KEYS_MAX];
    size_t n_keys = 0;
    sqlite3_stmt *st;
    struct rpt_sql q;
    int rc = 0;

    *json = NULL;
    if (keys & D_TIME)
        return 0;
    for (size_t c = 0; ru->cols[c] && rc == 0; c++) {
        unsigned bit = col_dim(ru->cols[c]);
        if (!(keys & bit))
            continue;
        if (n_keys == RPT_ROLLSUM_KEYS_MAX)
            return 0;
        /* ids run from 1 (0: no policy domain) to the dim table's largest */
        rpt_sql_init(&q);
        rpt_sql_add(&q, "SELECT coalesce(max(id), 0) + 1 FROM ");
        for (size_t i = 0; i < N_DIMS; i++)
            if (dim_info[i].bit == bit)
                rpt_sql_add(&q, dim_info[i].dim);
        rc = rpt_sql_prepare(db, &q, &st, err);
        if (rc == 0) {
            span[n_keys++] = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
            sqlite3_finalize(st);
        }
        rpt_sql_free(&q);
    }
    if (rc < 0)
        return -1;
    for (size_t i = 0, cells = 1; i < n_keys; i++) {
        if (span[i] <= 0 || span[i] > RPT_ROLLSUM_CELLS_MAX / (int64_t)cells)
            return 0;   /* do not read the rows only to give up */
        cells *= (size_t)span[i];
    }
    rpt_sql_init(&q);
    add_rollup_segments(&q, s, ru, p, keys, seg_meas);
    rc = rpt_sql_prepare(db, &q, &st, err);
    if (rc == 0) {
        rc = rpt_rollsum_json(st, n_keys, span, json, err);
        sqlite3_finalize(st);
    }
    rpt_sql_free(&q);
    return rc < 0 ? -1 : 0;
}

/* The rollup part of a query: rows of the uniform columns st, org, pd, mx,
 * ty, ip, pt (dim_info[] order, which the raw branches follow) and the
 * measures meas_out, from the window's segments of rollup ru
 * (add_rollup_segments: key columns and seg_meas) summed (meas_sum) per
 * key column first, then joined to the names.  With presummed (JSON from
 * rpt_plan_presum_failures, measures n and c) those sums are read from it
 * instead. */
void rpt_plan_add_rollup_part(struct rpt_sql *q, const struct rpt_scope *s, const struct rpt_plan *p,
                              const char *seg_meas, const char *meas_sum, const char *meas_out,
                              const char *presummed)
{
    const struct rpt_rollup *ru = p->ru;
    unsigned keys = p->key_dims;
    static const char *const element[] = {"value->>0 AS ", "value->>1 AS ", "value->>2 AS ", "value->>3 AS ",
                                          "value->>4 AS ", "value->>5 AS ", "value->>6 AS ", "value->>7 AS "};
    size_t n_cols = 0;
    int first;

    rpt_sql_add(q, "SELECT ");
    rpt_sql_add(q, (keys & D_TIME) ? "x.t * 86400 AS st" : "NULL AS st");
    for (size_t i = 0; i < N_DIMS; i++) {
        if ((ru->dims & dim_info[i].bit) && (keys & dim_info[i].bit)) {
            rpt_sql_add(q, ", ");
            rpt_sql_add(q, dim_info[i].dim);
            rpt_sql_add(q, ".name AS ");
        } else {
            rpt_sql_add(q, ", NULL AS ");
        }
        rpt_sql_add(q, dim_info[i].alias);
    }
    rpt_sql_add(q, ", ");
    rpt_sql_add(q, meas_out);
    rpt_sql_add(q, " FROM (SELECT ");
    for (size_t c = 0; ru->cols[c]; c++)
        if (keys & col_dim(ru->cols[c])) {
            if (presummed != NULL)
                rpt_sql_add(q, element[n_cols++]);
            rpt_sql_add(q, ru->cols[c]);
            rpt_sql_add(q, ", ");
        }
    if (presummed != NULL) {
        rpt_sql_add(q, element[n_cols]);
        rpt_sql_add(q, "n, ");
        rpt_sql_add(q, element[n_cols + 1]);
        rpt_sql_add(q, "c FROM json_each(?)) x");
        rpt_sql_bind_text(q, presummed);
    } else {
        rpt_sql_add(q, meas_sum);
        rpt_sql_add(q, " FROM (");
        add_rollup_segments(q, s, ru, p, keys, seg_meas);
        rpt_sql_add(q, ")");
        first = 1;
        for (size_t c = 0; ru->cols[c]; c++)
            if (keys & col_dim(ru->cols[c])) {
                rpt_sql_add(q, first ? " GROUP BY " : ", ");
                rpt_sql_add(q, ru->cols[c]);
                first = 0;
            }
        rpt_sql_add(q, ") x");
    }
    for (size_t i = 0; i < N_DIMS; i++)
        if ((ru->dims & dim_info[i].bit) && (keys & dim_info[i].bit)) {
            rpt_sql_add(q, " LEFT JOIN ");
            rpt_sql_add(q, dim_info[i].dim);
            rpt_sql_add(q, " ON ");
            rpt_sql_add(q, dim_info[i].dim);
            rpt_sql_add(q, ".id = x.");
            rpt_sql_add(q, dim_info[i].col);
        }
}

/* Dimensions the filters need (mx and type only for failure details). */
static unsigned filter_dims(const struct rpt_scope *s, int details)
{
    unsigned need = 0;
    need |= s->f->org.n ? D_ORG : 0;
    need |= s->f->domain.n ? D_DOM : 0;
    if (details) {
        need |= s->f->mx.n ? D_MX : 0;
        need |= s->f->type.n ? D_TYPE : 0;
    }
    return need;
}

/* 1 when a report with policies for several domains starts in the days
 * the window touches (then a report count under --domain cannot be summed
 * from roll_sess), 0 when none, -1 on error. */
static int multidomain_reports(sqlite3 *db, const struct rpt_scope *s, struct tr_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(db, "SELECT EXISTS (SELECT 1 FROM roll_multidom WHERE day >= ? AND day < ?)", -1, &st,
                           NULL) != SQLITE_OK) {
        tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, floor_div(s->since, 86400));
    sqlite3_bind_int64(st, 2, -floor_div(-s->until, 86400));
    rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    if (rc < 0)
        tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

/* The keys as the rollups' dimensions (D_TIME for a time key). */
static unsigned keys_dims(const enum rpt_key *keys, size_t n_keys)
{
    unsigned dims = 0;
    for (size_t i = 0; i < n_keys; i++)
        dims |= key_dim(keys[i]);
    return dims;
}

void rpt_plan_failed(sqlite3 *db, const struct rpt_scope *s, const enum rpt_key *keys, size_t n_keys,
                     struct rpt_plan *p)
{
    const struct rpt_rollup *ru = NULL;
    unsigned key_dims = keys_dims(keys, n_keys), need = filter_dims(s, 1) | key_dims;

    /* The rollups do not keep the received time. */
    if (rpt_rollups_usable(db) && s->f->received_since == 0)
        for (size_t i = 0; i < sizeof fail_rollups / sizeof fail_rollups[0] && ru == NULL; i++)
            if ((need & ~D_TIME & ~fail_rollups[i].dims) == 0)
                ru = &fail_rollups[i];
    if (ru != NULL && ru->total != NULL && !(need & D_TIME) && window_holds_all(db, s)) {
        plan_total(p);
    } else if (plan_window(s, ru ? grains_for(keys, n_keys) & ru->grains : 0, p) < 0) {
        ru = NULL;
        plan_window(s, 0, p);
    }
    p->ru = ru;
    p->key_dims = key_dims;
    p->one_per_key = ru != NULL && rows_one_per_key(db, p, keys, n_keys);
}

int rpt_plan_sessions(sqlite3 *db, const struct rpt_scope *s, const enum rpt_key *keys, size_t n_keys,
                      struct rpt_plan *p, struct tr_err *err)
{
    int by_policy = 0, by_domain = 0;
    int use = rpt_rollups_usable(db) && s->f->received_since == 0;   /* rollups keep no received time */

    for (size_t i = 0; i < n_keys; i++) {
        by_policy |= keys[i] == RPT_K_POLICY;
        by_domain |= keys[i] == RPT_K_DOMAIN;
    }
    if (by_policy)
        use = 0;
    if (use && !by_domain && s->f->domain.n > 0) {
        int m = multidomain_reports(db, s, err);
        if (m < 0)
            return -1;
        use = !m;
    }
    if (plan_window(s, use ? grains_for(keys, n_keys) & sess_rollup.grains : 0, p) < 0) {
        use = 0;
        plan_window(s, 0, p);
    }
    p->ru = use ? &sess_rollup : NULL;
    p->key_dims = keys_dims(keys, n_keys);
    p->one_per_key = rows_one_per_key(db, p, keys, n_keys);
    return 0;
}
