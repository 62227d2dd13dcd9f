/*
 * query.c - the aggregate queries and listings (counting rules in query.h).
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
#include "sql.h"
#include "tlsrpt/codes.h"

#include <string.h>

/* Grouping expressions over the middle level's column aliases:
 * rid, org, st (report start), pd (policy domain), pt (policy type), ty,
 * sip, mxh, rip, rc.  Indexed by enum rpt_key. */
static const char *const key_expr[RPT_K__COUNT] = {
    [RPT_K_ORG] = "org",
    [RPT_K_DOMAIN] = "coalesce(pd, '(none)')",
    [RPT_K_MX] = "CASE WHEN mxh <> '' THEN mxh WHEN rip <> '' THEN '[' || rip || ']' ELSE '(none)' END",
    [RPT_K_TYPE] = "ty",
    [RPT_K_IP] = "coalesce(nullif(sip, ''), '(none)')",
    [RPT_K_POLICY] = "pt",
    [RPT_K_DAY] = "strftime('%Y-%m-%d', st, 'unixepoch')",
    [RPT_K_WEEK] = "strftime('%Y-%m-%d', st - ((st / 86400 + 3) % 7) * 86400, 'unixepoch')",
    [RPT_K_MONTH] = "strftime('%Y-%m', st, 'unixepoch')",
};

/* The same mx expression over the failure table, for --mx. */
#define MX_EXPR_F "CASE WHEN f.receiving_mx_hostname <> '' THEN f.receiving_mx_hostname " \
                  "WHEN f.receiving_ip <> '' THEN '[' || f.receiving_ip || ']' ELSE '(none)' END"

static int is_time_key(enum rpt_key k)
{
    return k == RPT_K_DAY || k == RPT_K_WEEK || k == RPT_K_MONTH;
}

int rpt_key_is_report_level(enum rpt_key k)
{
    return k == RPT_K_ORG || k == RPT_K_DOMAIN || k == RPT_K_POLICY || is_time_key(k);
}

/* WHERE conditions on report r and policy p: the window, --domain, --org. */
static void add_report_scope(struct rpt_sql *q, const struct rpt_scope *s)
{
    rpt_sql_add(q, " WHERE r.start_time >= ? AND r.start_time < ?");
    rpt_sql_bind_int(q, s->since);
    rpt_sql_bind_int(q, s->until);
    rpt_sql_filter(q, "p.policy_domain", &s->f->domain);
    rpt_sql_filter(q, "r.org_name", &s->f->org);
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

static void add_failure_scope(struct rpt_sql *q, const struct rpt_scope *s)
{
    add_report_scope(q, s);
    rpt_sql_filter(q, MX_EXPR_F, &s->f->mx);
    rpt_sql_filter(q, "f.result_type", &s->f->type);
}

static void add_failure_core(struct rpt_sql *q, const struct rpt_scope *s, int by_policy)
{
    rpt_sql_add(q, "SELECT " FAIL_COLS ", f.failed_sessions AS n" FAIL_FROM);
    add_failure_scope(q, s);
    if (by_policy)
        return;
    rpt_sql_add(q, " AND NOT " SIBLING
        " UNION ALL SELECT rid, org, st, pd, pt, ty, sip, mxh, rip, rc, MAX(s) AS n FROM ("
        " SELECT " FAIL_COLS ", SUM(f.failed_sessions) AS s" FAIL_FROM);
    add_failure_scope(q, s);
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

static void add_key_selects(struct rpt_sql *q, const enum rpt_key *keys, size_t n)
{
    static const char *const as[RPT_K__COUNT] = {" AS k0, ", " AS k1, ", " AS k2, ", " AS k3, ",
                                                 " AS k4, ", " AS k5, ", " AS k6, ", " AS k7, ", " AS k8, "};
    for (size_t i = 0; i < n; i++) {
        rpt_sql_add(q, key_expr[keys[i]]);
        rpt_sql_add(q, as[i]);
    }
}

int rpt_q_failed(sqlite3 *db, const struct rpt_scope *s, const enum rpt_key *keys, size_t n_keys,
                 struct rpt_table *out, struct tr_err *err)
{
    static const char *const desc_alias[RPT_K__COUNT] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"};
    struct rpt_sql q;
    int by_policy = 0, rc, first = 1;

    for (size_t i = 0; i < n_keys; i++) {
        rpt_table_add_col(out, rpt_key_names[keys[i]], RPT_S_TEXT);
        by_policy |= keys[i] == RPT_K_POLICY;
    }
    rpt_table_add_col(out, "failed_sessions", RPT_S_FAIL);

    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT ");
    add_key_selects(&q, keys, n_keys);
    rpt_sql_add(&q, "SUM(n) AS failed FROM (");
    add_failure_core(&q, s, by_policy);
    rpt_sql_add(&q, ")");
    if (n_keys > 0) {
        rpt_sql_add(&q, " GROUP BY ");
        add_key_aliases(&q, n_keys);
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
    int by_policy = 0, rc;

    for (size_t i = 0; i < n_keys; i++) {
        if (!rpt_key_is_report_level(keys[i])) {
            tr_err_set(err, TR_E_USAGE, "sessions cannot be grouped by %s", rpt_key_names[keys[i]]);
            return -1;
        }
        rpt_table_add_col(out, rpt_key_names[keys[i]], RPT_S_TEXT);
        by_policy |= keys[i] == RPT_K_POLICY;
    }
    rpt_table_add_col(out, "reports", RPT_S_COUNT);
    rpt_table_add_col(out, "successful_sessions", RPT_S_COUNT);
    rpt_table_add_col(out, "failed_sessions", RPT_S_FAIL);

    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT ");
    add_key_selects(&q, keys, n_keys);
    rpt_sql_add(&q,
        "COUNT(DISTINCT rid), coalesce(SUM(ok), 0), coalesce(SUM(bad), 0) FROM ("
        " SELECT r.id AS rid, r.org_name AS org, r.start_time AS st, p.policy_domain AS pd,"
        "  p.policy_type AS pt, MAX(p.successful_sessions) AS ok, MAX(p.failed_sessions) AS bad"
        " FROM report r JOIN policy p ON p.report = r.id");
    add_report_scope(&q, s);
    rpt_sql_add(&q, by_policy ? " GROUP BY r.id, p.policy_domain, p.policy_type)"
                              : " GROUP BY r.id, p.policy_domain)");
    if (n_keys > 0) {
        rpt_sql_add(&q, " GROUP BY ");
        add_key_aliases(&q, n_keys);
        rpt_sql_add(&q, " ORDER BY ");
        add_key_aliases(&q, n_keys);
    }
    rc = rpt_sql_run(db, &q, out, err);
    rpt_sql_free(&q);
    return rc;
}

/* LIMIT for listings: one row more than asked, to tell whether there are
 * more; -1 (no limit) for 0. */
static void add_limit(struct rpt_sql *q, long limit)
{
    rpt_sql_add(q, " LIMIT ?");
    rpt_sql_bind_int(q, limit > 0 ? (int64_t)limit + 1 : -1);
}

static void trim_to_limit(struct rpt_table *t, long limit, int *more)
{
    *more = 0;
    if (limit > 0 && t->nrows > (size_t)limit) {
        for (size_t c = 0; c < t->ncols; c++)
            rpt_table_set_text(t, t->nrows - 1, c, NULL);
        t->nrows--;
        *more = 1;
    }
}

int rpt_q_failure_list(sqlite3 *db, const struct rpt_scope *s, long limit, struct rpt_table *out,
                       int *more, struct tr_err *err)
{
    static const struct { const char *name; enum rpt_col_style st; } cols[] = {
        {"day", RPT_S_TEXT}, {"report", RPT_S_ID}, {"org", RPT_S_TEXT}, {"domain", RPT_S_TEXT},
        {"mx", RPT_S_TEXT}, {"type", RPT_S_TEXT}, {"ip", RPT_S_TEXT}, {"receiving_ip", RPT_S_TEXT},
        {"failed_sessions", RPT_S_FAIL}, {"reason_code", RPT_S_TEXT},
    };
    struct rpt_sql q;
    int rc;

    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        rpt_table_add_col(out, cols[i].name, cols[i].st);
    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT ");
    rpt_sql_add(&q, key_expr[RPT_K_DAY]);
    rpt_sql_add(&q, ", rid, org, ");
    rpt_sql_add(&q, key_expr[RPT_K_DOMAIN]);
    rpt_sql_add(&q, " AS dom, ");
    rpt_sql_add(&q, key_expr[RPT_K_MX]);
    rpt_sql_add(&q, " AS mx, ty, sip, rip, n, rc FROM (");
    add_failure_core(&q, s, 0);
    rpt_sql_add(&q, ") ORDER BY st, org, dom, ty, mx, sip, rip, rc, rid");
    add_limit(&q, limit);
    rc = rpt_sql_run(db, &q, out, err);
    rpt_sql_free(&q);
    if (rc == 0)
        trim_to_limit(out, limit, more);
    return rc;
}

int rpt_q_report_list(sqlite3 *db, const struct rpt_scope *s, long limit, struct rpt_table *out,
                      int *more, struct tr_err *err)
{
    static const struct { const char *name; enum rpt_col_style st; } cols[] = {
        {"id", RPT_S_ID}, {"org", RPT_S_TEXT}, {"domains", RPT_S_TEXT}, {"start", RPT_S_TEXT},
        {"end", RPT_S_TEXT}, {"sessions", RPT_S_COUNT}, {"failed_sessions", RPT_S_FAIL},
        {"source", RPT_S_TEXT}, {"dkim", RPT_S_TEXT},
    };
    struct rpt_sql q;
    int rc;

    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        rpt_table_add_col(out, cols[i].name, cols[i].st);
    rpt_sql_init(&q);
    rpt_sql_add(&q,
        "SELECT rid, org, group_concat(pd, ' '),"
        " strftime('%Y-%m-%dT%H:%M:%SZ', st, 'unixepoch'),"
        " strftime('%Y-%m-%dT%H:%M:%SZ', et, 'unixepoch'),"
        " SUM(ok) + SUM(bad), SUM(bad), src, dkim FROM ("
        " SELECT r.id AS rid, r.org_name AS org, r.start_time AS st, r.end_time AS et,"
        "  r.source AS src, r.dkim AS dkim, coalesce(p.policy_domain, '(none)') AS pd,"
        "  MAX(p.successful_sessions) AS ok, MAX(p.failed_sessions) AS bad"
        " FROM report r JOIN policy p ON p.report = r.id");
    add_report_scope(&q, s);
    if (s->f->mx.n > 0 || s->f->type.n > 0) {
        rpt_sql_add(&q, " AND EXISTS (SELECT 1 FROM policy p2 JOIN failure f ON f.policy = p2.id"
                        " WHERE p2.report = r.id");
        rpt_sql_filter(&q, MX_EXPR_F, &s->f->mx);
        rpt_sql_filter(&q, "f.result_type", &s->f->type);
        rpt_sql_add(&q, ")");
    }
    rpt_sql_add(&q, " GROUP BY r.id, pd ORDER BY r.id, pd) GROUP BY rid ORDER BY st, rid");
    add_limit(&q, limit);
    rc = rpt_sql_run(db, &q, out, err);
    rpt_sql_free(&q);
    if (rc == 0)
        trim_to_limit(out, limit, more);
    return rc;
}

int rpt_q_policy_strings(sqlite3 *db, const struct rpt_scope *s, struct rpt_table *out,
                         struct tr_err *err)
{
    struct rpt_sql q;
    int rc;

    rpt_table_add_col(out, "domain", RPT_S_TEXT);
    rpt_table_add_col(out, "policy", RPT_S_TEXT);
    rpt_table_add_col(out, "policy_strings", RPT_S_TEXT);
    rpt_table_add_col(out, "reports", RPT_S_COUNT);
    rpt_table_add_col(out, "orgs", RPT_S_TEXT);
    rpt_sql_init(&q);
    /* policy_strings is stored as a JSON array; json_each turns it back
     * into lines, in order. */
    rpt_sql_add(&q,
        "SELECT pd, pt, lines, COUNT(DISTINCT rid), group_concat(DISTINCT org) FROM ("
        " SELECT coalesce(p.policy_domain, '(none)') AS pd, p.policy_type AS pt,"
        "  (SELECT group_concat(value, char(10)) FROM json_each(CASE WHEN json_valid(p.policy_strings)"
        "   THEN p.policy_strings ELSE '[]' END)) AS lines, r.id AS rid, r.org_name AS org"
        " FROM report r JOIN policy p ON p.report = r.id");
    add_report_scope(&q, s);
    rpt_sql_add(&q, " ORDER BY org) GROUP BY pd, pt, lines ORDER BY pd, pt, lines");
    rc = rpt_sql_run(db, &q, out, err);
    rpt_sql_free(&q);
    return rc;
}
