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
 * Where a rollup covers a query, its whole days come from the rollup
 * instead and only the partial days at either end from the raw rows: the
 * planner that decides this and writes the rollup part is rollplan.c.
 */
#include "query.h"
#include "rollplan.h"
#include "sql.h"
#include "tlsrpt/codes.h"

#include <stdlib.h>

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

int rpt_q_failed(sqlite3 *db, const struct rpt_scope *s, const enum rpt_key *keys, size_t n_keys,
                 struct rpt_table *out, struct tr_err *err)
{
    static const char *const desc_alias[RPT_K__COUNT] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"};
    struct rpt_plan plan;
    struct rpt_sql q;
    int by_policy = 0, rc, first = 1, branches = 0, flat;
    char *presummed = NULL;

    for (size_t i = 0; i < n_keys; i++) {
        rpt_table_add_col(out, rpt_key_names[keys[i]], RPT_S_TEXT);
        by_policy |= keys[i] == RPT_K_POLICY;
    }
    rpt_table_add_col(out, "failed_sessions", RPT_S_FAIL);

    rpt_plan_failed(db, s, keys, n_keys, &plan);
    flat = plan.one_per_key;

    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT ");
    add_key_selects(&q, s, keys, n_keys);
    rpt_sql_add(&q, flat ? "n AS failed FROM (" : "SUM(n) AS failed FROM (");
    if (plan.n_seg > 0) {
        const char *seg_meas = by_policy ? "n, c" : "d AS n, c";
        if (rpt_plan_presum_failures(db, s, &plan, seg_meas, &presummed, err) < 0) {
            rpt_sql_free(&q);
            return -1;
        }
        rpt_plan_add_rollup_part(&q, s, &plan, seg_meas, "SUM(n) AS n, SUM(c) AS c", "x.n AS n, x.c AS c",
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

int rpt_q_sessions(sqlite3 *db, const struct rpt_scope *s, const enum rpt_key *keys, size_t n_keys,
                   struct rpt_table *out, struct tr_err *err)
{
    struct rpt_sql q;
    struct rpt_plan plan;
    int by_policy = 0, by_domain = 0, rc, branches = 0, flat;

    for (size_t i = 0; i < n_keys; i++) {
        if (!rpt_key_is_report_level(keys[i])) {
            tr_err_set(err, TR_E_USAGE, "sessions cannot be grouped by %s", rpt_key_names[keys[i]]);
            return -1;
        }
        rpt_table_add_col(out, rpt_key_names[keys[i]], RPT_S_TEXT);
        by_policy |= keys[i] == RPT_K_POLICY;
        by_domain |= keys[i] == RPT_K_DOMAIN;
    }
    rpt_table_add_col(out, "reports", RPT_S_COUNT);
    rpt_table_add_col(out, "successful_sessions", RPT_S_COUNT);
    rpt_table_add_col(out, "failed_sessions", RPT_S_FAIL);

    if (rpt_plan_sessions(db, s, keys, n_keys, &plan, err) < 0)
        return -1;
    flat = plan.one_per_key;

    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT ");
    add_key_selects(&q, s, keys, n_keys);
    rpt_sql_add(&q, flat ? "rep, ok, bad FROM ("
                         : "coalesce(SUM(rep), 0), coalesce(SUM(ok), 0), coalesce(SUM(bad), 0) FROM (");
    if (plan.n_seg > 0) {
        /* reports: per domain n (pairs), else r (each report once) */
        rpt_plan_add_rollup_part(&q, s, &plan, by_domain || s->f->domain.n ? "n AS rep, ok, bad" : "r AS rep, ok, bad",
                                 "SUM(rep) AS rep, SUM(ok) AS ok, SUM(bad) AS bad",
                                 "x.rep AS rep, x.ok AS ok, x.bad AS bad", NULL);
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
