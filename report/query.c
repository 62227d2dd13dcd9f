/*
 * query.c - the aggregate queries (counting rules in query.h); the
 * listings built on them are in listing.c.
 *
 * Every failure-detail query is built on one three-level shape:
 *
 *   inner:  the window's failure details joined to their policy and report,
 *           summed per (policy, detail identity);
 *   middle: per (report, policy domain, detail identity) the maximum over
 *           the policies, so sts and tlsa copies of a detail count once;
 *   outer:  grouped by the requested keys.
 *
 * The inner level is driven by the report(start_time) index and reaches
 * policies through their (report, idx) key and failures through
 * failure(policy), so the work is proportional to the window, not the
 * database.  Session totals use the same idea on the policy summaries.
 */
#include "query.h"
#include "rollsum.h"
#include "sql.h"
#include "tlsrpt/codes.h"

#include <stdlib.h>
#include <string.h>

/* Grouping expressions over the aliases every failure and session source
 * yields: org, st (report start, or a rollup bucket's first second), pd
 * (policy domain), pt (policy type), ty, ip (sending IP as shown), mx (MX as
 * shown).  Indexed by enum rpt_key. */
static const char *const key_expr[RPT_K__COUNT] = {
    [RPT_K_ORG] = "org",
    [RPT_K_DOMAIN] = RPT_Q_DOMAIN_EXPR,
    [RPT_K_MX] = "mx",
    [RPT_K_TYPE] = "ty",
    [RPT_K_IP] = "ip",
    [RPT_K_POLICY] = "pt",
    [RPT_K_DAY] = RPT_Q_DAY_EXPR,
    [RPT_K_WEEK] = "strftime('%Y-%m-%d', st - ((st / 86400 + 3) % 7) * 86400, 'unixepoch')",
    [RPT_K_MONTH] = "strftime('%Y-%m', st, 'unixepoch')",
};

/* The time keys as their bucket's first second (INTEGER) instead of a
 * label, for a scope with epoch_keys: integer arithmetic where strftime
 * per result row was 8% of a 90-day trend's instructions.  DAY_START
 * floors st to its UTC day (for st < 0 too); weeks start on Monday
 * (day 0, 1970-01-01, was a Thursday). */
#define DAY_START "(st - ((st % 86400) + 86400) % 86400)"
static const char *const epoch_key_expr[RPT_K__COUNT] = {
    [RPT_K_DAY] = DAY_START,
    [RPT_K_WEEK] = "(" DAY_START " - (((" DAY_START " / 86400) % 7 + 10) % 7) * 86400)",
    [RPT_K_MONTH] = "CAST(strftime('%s', st, 'unixepoch', 'start of month') AS INTEGER)",
};

/* mx and ip as shown, over the raw core's mxh, rip and sip (query.h). */
#define MX_EXPR_RAW RPT_Q_MX_EXPR_RAW
#define IP_EXPR_RAW "coalesce(nullif(sip, ''), '(none)')"
#define MX_EXPR_F RPT_Q_MX_EXPR_F

static int is_time_key(enum rpt_key k)
{
    return k == RPT_K_DAY || k == RPT_K_WEEK || k == RPT_K_MONTH;
}

int rpt_key_is_report_level(enum rpt_key k)
{
    return k == RPT_K_ORG || k == RPT_K_DOMAIN || k == RPT_K_POLICY || is_time_key(k);
}

void rpt_q_report_where(struct rpt_sql *q, const struct rpt_scope *s, int64_t lo, int64_t hi)
{
    rpt_sql_add(q, " WHERE r.start_time >= ? AND r.start_time < ?");
    rpt_sql_bind_int(q, lo);
    rpt_sql_bind_int(q, hi);
    rpt_sql_filter(q, "p.policy_domain", &s->f->domain);
    rpt_sql_filter(q, "r.org_name", &s->f->org);
    if (s->f->received_since != 0) {
        rpt_sql_add(q, " AND r.received_time >= ?");
        rpt_sql_bind_int(q, s->f->received_since);
    }
}

/* The failure rows of the window with the dedup rule applied, selecting
 * rid, org, st, pd, pt, ty, sip, mxh, rip, rc and n (failed sessions).
 * Two branches, so that the costly grouping only runs where it matters:
 * policies that are the only one for their (report, policy domain) --
 * nearly all of them -- are read straight; the others go through the
 * per-detail maximum.  by_policy (grouping by policy type) keeps every
 * policy apart, so it reads all rows straight. */
#define FAIL_COLS "r.id AS rid, r.org_name AS org, r.start_time AS st, p.policy_domain AS pd," \
    " p.policy_type AS pt, f.result_type AS ty, f.sending_mta_ip AS sip," \
    " f.receiving_mx_hostname AS mxh, f.receiving_ip AS rip, f.failure_reason_code AS rc"
#define FAIL_FROM " FROM report r JOIN policy p ON p.report = r.id JOIN failure f ON f.policy = p.id"
#define SIBLING "EXISTS (SELECT 1 FROM policy p2 WHERE p2.report = p.report AND p2.id <> p.id" \
    " AND p2.policy_domain IS p.policy_domain)"

static void add_failure_scope(struct rpt_sql *q, const struct rpt_scope *s, int64_t lo, int64_t hi)
{
    rpt_q_report_where(q, s, lo, hi);
    rpt_sql_filter(q, MX_EXPR_F, &s->f->mx);
    rpt_sql_filter(q, "f.result_type", &s->f->type);
}

void rpt_q_failure_rows(struct rpt_sql *q, const struct rpt_scope *s, int64_t lo, int64_t hi, int by_policy)
{
    rpt_sql_add(q, "SELECT " FAIL_COLS ", f.failed_sessions AS n" FAIL_FROM);
    add_failure_scope(q, s, lo, hi);
    if (by_policy)
        return;
    rpt_sql_add(q, " AND NOT " SIBLING
        " UNION ALL SELECT rid, org, st, pd, pt, ty, sip, mxh, rip, rc, MAX(s) AS n FROM ("
        " SELECT " FAIL_COLS ", SUM(f.failed_sessions) AS s" FAIL_FROM);
    add_failure_scope(q, s, lo, hi);
    rpt_sql_add(q, " AND " SIBLING
        " GROUP BY p.id, f.result_type, f.sending_mta_ip, f.receiving_mx_hostname,"
        "  f.receiving_ip, f.failure_reason_code"
        ") GROUP BY rid, pd, ty, sip, mxh, rip, rc");
}

/* ---------------------------------------------------------------- rollups
 *
 * schema/002-rollups.sql keeps failed sessions and sessions summed per
 * bucket (day, ISO week, month) and per interned key ids, with the dedup
 * rules applied when the rows were written.  A query uses the smallest
 * rollup whose dimensions cover its keys and filters; the window is cut
 * into whole months, weeks and days of that rollup, and the partial days at
 * either end (a window that does not start or end at midnight) are read
 * from the raw rows.  A window that holds every stored report reads the
 * rollup's total table instead when it has one and the query has no time
 * key (schema/004-rollup-total.sql).  Queries no rollup covers (--by ip with a domain or MX
 * key or filter, sessions --by policy) read the raw rows, as does every
 * query when TLSRPT_NO_ROLLUP is set to anything but "0" (a debugging aid:
 * the test suite compares both).  A failure query without time keys sums
 * its rollup rows per key in C (presum_failures, rollsum.h) where SQLite's
 * GROUP BY would sort them all. */

enum { D_ORG = 1, D_DOM = 2, D_MX = 4, D_TYPE = 8, D_IP = 16, D_PT = 32, D_TIME = 64 };
enum { G_DAY = 1, G_WEEK = 2, G_MONTH = 4 };

struct rollup {
    const char *table;
    unsigned dims, grains;
    int has_g;                      /* a g column (else days only) */
    int dom_lead;                   /* the primary key starts with dom */
    const char *const cols[7];      /* key columns in primary-key order */
    const char *total;              /* the same sums over all time, or NULL */
};

static const struct rollup fail_rollups[] = {
    {"roll_fail_ip", D_ORG | D_IP | D_TYPE | D_PT, G_DAY | G_MONTH, 1, 0, {"t", "org", "ip", "ty", "pt"}, NULL},
    {"roll_fail_mx", D_DOM | D_MX | D_TYPE | D_PT, G_DAY | G_WEEK | G_MONTH, 1, 1, {"dom", "t", "mx", "ty", "pt"},
     NULL},
    {"roll_fail", D_ORG | D_DOM | D_MX | D_TYPE | D_PT, G_DAY, 0, 1, {"dom", "t", "org", "mx", "ty", "pt"},
     "roll_fail_tot"},
};
static const struct rollup sess_rollup = {
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

/* The window cut into rollup segments and raw edges. */
#define MAX_SEGS 8
#define G_TOTAL (-1)   /* a segment's g: the total table, all of time */
struct plan {
    struct { int g; int64_t lo, hi; } seg[MAX_SEGS];   /* t in [lo, hi), day numbers */
    size_t n_seg;
    int64_t edge[2][2];                                /* raw start_time ranges */
    size_t n_edge;
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void add_edge(struct plan *p, int64_t lo, int64_t hi)
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
static int plan_window(const struct rpt_scope *s, unsigned grains, struct plan *p)
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
            if (p->n_seg == MAX_SEGS)
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
static void plan_total(struct plan *p)
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
static int rows_one_per_key(sqlite3 *db, const struct plan *p, const enum rpt_key *keys, size_t n_keys)
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
static void add_rollup_segments(struct rpt_sql *q, const struct rpt_scope *s, const struct rollup *ru,
                                const struct plan *p, unsigned keys, const char *seg_meas)
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

/* The segment rows of a failure query summed per key in C (rollsum.h)
 * instead of by SQLite's GROUP BY, which sorts every row: *json the sums
 * as [[key ids in ru->cols order..., n, c], ...], or NULL when they are
 * left to SQL (a time key, id ranges too large).  0, or -1 with err. */
static int presum_failures(sqlite3 *db, const struct rpt_scope *s, const struct rollup *ru, const struct plan *p,
                           unsigned keys, const char *seg_meas, char **json, struct tr_err *err)
{
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
 * presum_failures, measures n and c) those sums are read from it instead. */
static void add_rollup_part(struct rpt_sql *q, const struct rpt_scope *s, const struct rollup *ru,
                            const struct plan *p, unsigned keys, const char *seg_meas,
                            const char *meas_sum, const char *meas_out, const char *presummed)
{
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

/* Appends "k0, k1, ..." (the aliases of the key columns). */
static void add_key_aliases(struct rpt_sql *q, size_t n)
{
    static const char *const alias[RPT_K__COUNT] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"};
    for (size_t i = 0; i < n; i++) {
        rpt_sql_add(q, i ? ", " : "");
        rpt_sql_add(q, alias[i]);
    }
}

static void add_key_selects(struct rpt_sql *q, const struct rpt_scope *s, const enum rpt_key *keys,
                            size_t n)
{
    static const char *const as[RPT_K__COUNT] = {" AS k0, ", " AS k1, ", " AS k2, ", " AS k3, ",
                                                 " AS k4, ", " AS k5, ", " AS k6, ", " AS k7, ", " AS k8, "};
    for (size_t i = 0; i < n; i++) {
        rpt_sql_add(q, s->epoch_keys && is_time_key(keys[i]) ? epoch_key_expr[keys[i]] : key_expr[keys[i]]);
        rpt_sql_add(q, as[i]);
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

int rpt_q_failed(sqlite3 *db, const struct rpt_scope *s, const enum rpt_key *keys, size_t n_keys,
                 struct rpt_table *out, struct tr_err *err)
{
    static const char *const desc_alias[RPT_K__COUNT] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"};
    const struct rollup *ru = NULL;
    struct plan plan;
    struct rpt_sql q;
    unsigned need = filter_dims(s, 1), key_dims = 0;
    int by_policy = 0, rc, first = 1, branches = 0, flat;
    char *presummed = NULL;

    for (size_t i = 0; i < n_keys; i++) {
        rpt_table_add_col(out, rpt_key_names[keys[i]], RPT_S_TEXT);
        by_policy |= keys[i] == RPT_K_POLICY;
        key_dims |= key_dim(keys[i]);
    }
    need |= key_dims;
    rpt_table_add_col(out, "failed_sessions", RPT_S_FAIL);

    /* The rollups do not keep the received time. */
    if (rpt_rollups_usable(db) && s->f->received_since == 0)
        for (size_t i = 0; i < sizeof fail_rollups / sizeof fail_rollups[0] && ru == NULL; i++)
            if ((need & ~D_TIME & ~fail_rollups[i].dims) == 0)
                ru = &fail_rollups[i];
    if (ru != NULL && ru->total != NULL && !(need & D_TIME) && window_holds_all(db, s)) {
        plan_total(&plan);
    } else if (plan_window(s, ru ? grains_for(keys, n_keys) & ru->grains : 0, &plan) < 0) {
        ru = NULL;
        plan_window(s, 0, &plan);
    }
    flat = ru != NULL && rows_one_per_key(db, &plan, keys, n_keys);

    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT ");
    add_key_selects(&q, s, keys, n_keys);
    rpt_sql_add(&q, flat ? "n AS failed FROM (" : "SUM(n) AS failed FROM (");
    if (ru != NULL && plan.n_seg > 0) {
        const char *seg_meas = by_policy ? "n, c" : "d AS n, c";
        if (presum_failures(db, s, ru, &plan, key_dims, seg_meas, &presummed, err) < 0) {
            rpt_sql_free(&q);
            return -1;
        }
        add_rollup_part(&q, s, ru, &plan, key_dims, seg_meas, "SUM(n) AS n, SUM(c) AS c", "x.n AS n, x.c AS c",
                        presummed);
        free(presummed);
        branches++;
    }
    for (size_t e = 0; e < plan.n_edge || (branches == 0 && e == 0); e++) {
        int64_t lo = e < plan.n_edge ? plan.edge[e][0] : s->since, hi = e < plan.n_edge ? plan.edge[e][1] : s->since;
        rpt_sql_add(&q, branches++ ? " UNION ALL " : "");
        rpt_sql_add(&q, "SELECT st, org, pd, " MX_EXPR_RAW " AS mx, ty, " IP_EXPR_RAW " AS ip, pt, n, 1 AS c FROM (");
        rpt_q_failure_rows(&q, s, lo, hi, by_policy);
        rpt_sql_add(&q, ")");
    }
    rpt_sql_add(&q, ")");
    if (flat) {
        rpt_sql_add(&q, " WHERE c > 0");
    } else if (n_keys > 0) {
        rpt_sql_add(&q, " GROUP BY ");
        add_key_aliases(&q, n_keys);
        rpt_sql_add(&q, " HAVING SUM(c) > 0");
    }
    if (n_keys > 0 && !s->any_order) {
        rpt_sql_add(&q, " ORDER BY ");
        for (size_t i = 0; i < n_keys; i++)
            if (is_time_key(keys[i])) {
                rpt_sql_add(&q, first ? "" : ", ");
                rpt_sql_add(&q, desc_alias[i]);
                first = 0;
            }
        rpt_sql_add(&q, first ? "failed DESC" : ", failed DESC");
        for (size_t i = 0; i < n_keys; i++)
            if (!is_time_key(keys[i])) {
                rpt_sql_add(&q, ", ");
                rpt_sql_add(&q, desc_alias[i]);
            }
    }
    rc = rpt_sql_run(db, &q, out, err);
    rpt_sql_free(&q);
    /* Without keys an empty window yields one row of NULL: make it 0. */
    if (rc == 0 && n_keys == 0 && out->nrows == 1 && rpt_table_cell(out, 0, 0)->kind == RPT_NULL)
        rpt_table_set_int(out, 0, 0, 0);
    return rc;
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

int rpt_q_sessions(sqlite3 *db, const struct rpt_scope *s, const enum rpt_key *keys, size_t n_keys,
                   struct rpt_table *out, struct tr_err *err)
{
    struct rpt_sql q;
    struct plan plan;
    unsigned key_dims = 0;
    int by_policy = 0, by_domain = 0, rc, branches = 0, flat;
    int use = rpt_rollups_usable(db) && s->f->received_since == 0;   /* rollups keep no received time */

    for (size_t i = 0; i < n_keys; i++) {
        if (!rpt_key_is_report_level(keys[i])) {
            tr_err_set(err, TR_E_USAGE, "sessions cannot be grouped by %s", rpt_key_names[keys[i]]);
            return -1;
        }
        rpt_table_add_col(out, rpt_key_names[keys[i]], RPT_S_TEXT);
        by_policy |= keys[i] == RPT_K_POLICY;
        by_domain |= keys[i] == RPT_K_DOMAIN;
        key_dims |= key_dim(keys[i]);
    }
    rpt_table_add_col(out, "reports", RPT_S_COUNT);
    rpt_table_add_col(out, "successful_sessions", RPT_S_COUNT);
    rpt_table_add_col(out, "failed_sessions", RPT_S_FAIL);

    if (by_policy)
        use = 0;
    if (use && !by_domain && s->f->domain.n > 0) {
        int m = multidomain_reports(db, s, err);
        if (m < 0)
            return -1;
        use = !m;
    }
    if (plan_window(s, use ? grains_for(keys, n_keys) & sess_rollup.grains : 0, &plan) < 0)
        plan_window(s, 0, &plan);
    flat = rows_one_per_key(db, &plan, keys, n_keys);

    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT ");
    add_key_selects(&q, s, keys, n_keys);
    rpt_sql_add(&q, flat ? "rep, ok, bad FROM ("
                         : "coalesce(SUM(rep), 0), coalesce(SUM(ok), 0), coalesce(SUM(bad), 0) FROM (");
    if (plan.n_seg > 0) {
        /* reports: per domain n (pairs), else r (each report once) */
        add_rollup_part(&q, s, &sess_rollup, &plan, key_dims,
                        by_domain || s->f->domain.n ? "n AS rep, ok, bad" : "r AS rep, ok, bad",
                        "SUM(rep) AS rep, SUM(ok) AS ok, SUM(bad) AS bad", "x.rep AS rep, x.ok AS ok, x.bad AS bad", NULL);
        branches++;
    }
    for (size_t e = 0; e < plan.n_edge || (branches == 0 && e == 0); e++) {
        int64_t lo = e < plan.n_edge ? plan.edge[e][0] : s->since, hi = e < plan.n_edge ? plan.edge[e][1] : s->since;
        rpt_sql_add(&q, branches++ ? " UNION ALL " : "");
        /* One row per (report, policy domain[, policy type]); a report is
         * counted once per group: per row when grouped by domain (or by
         * policy: per type), else at its first row. */
        rpt_sql_add(&q, by_domain || by_policy
                            ? "SELECT st, org, pd, NULL AS mx, NULL AS ty, NULL AS ip, pt, 1 AS rep, ok, bad FROM ("
                            : "SELECT st, org, pd, NULL AS mx, NULL AS ty, NULL AS ip, pt,"
                              " row_number() OVER (PARTITION BY rid ORDER BY pd) = 1 AS rep, ok, bad FROM (");
        rpt_sql_add(&q,
            " SELECT r.id AS rid, r.org_name AS org, r.start_time AS st, p.policy_domain AS pd,"
            "  p.policy_type AS pt, MAX(p.successful_sessions) AS ok, MAX(p.failed_sessions) AS bad"
            " FROM report r JOIN policy p ON p.report = r.id");
        rpt_q_report_where(&q, s, lo, hi);
        rpt_sql_add(&q, by_policy ? " GROUP BY r.id, p.policy_domain, p.policy_type)"
                                  : " GROUP BY r.id, p.policy_domain)");
    }
    rpt_sql_add(&q, ")");
    if (n_keys > 0 && !flat) {
        rpt_sql_add(&q, " GROUP BY ");
        add_key_aliases(&q, n_keys);
    }
    if (n_keys > 0) {
        rpt_sql_add(&q, " ORDER BY ");
        add_key_aliases(&q, n_keys);
    }
    rc = rpt_sql_run(db, &q, out, err);
    rpt_sql_free(&q);
    return rc;
}
