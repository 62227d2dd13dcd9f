/*
 * listing.c - the listings of tlsrpt-report (query.h): failure details
 * (failures), stored reports (reports), quarantined inputs (quarantine)
 * and the distinct policies seen (findings, the dashboard, the email).
 *
 * Newest first; a limit asks for one row more than shown, so that a cut
 * listing is known and its rest counted.  The failure rows come from
 * query.c's rpt_q_failure_rows, so failures counts as summary does.
 */
#include "query.h"
#include "sql.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A listing's columns, in order. */
struct listing_col {
    const char *name;
    enum rpt_col_style st;
};

static void add_cols(struct rpt_table *out, const struct listing_col *cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rpt_table_add_col(out, cols[i].name, cols[i].st);
}

/* LIMIT for listings: one row more than asked, to tell whether there are
 * more; -1 (no limit) for 0. */
static void add_limit(struct rpt_sql *q, long limit)
{
    rpt_sql_add(q, " LIMIT ?");
    rpt_sql_bind_int(q, limit > 0 ? (int64_t)limit + 1 : -1);
}

/* Cuts the extra row add_limit() asked for; *left_out 0 when nothing was
 * left out, else -1 (the caller counts them: count_left_out()). */
static void trim_to_limit(struct rpt_table *t, long limit, int64_t *left_out)
{
    *left_out = 0;
    if (limit > 0 && t->nrows > (size_t)limit) {
        for (size_t c = 0; c < t->ncols; c++)
            rpt_table_set_text(t, t->nrows - 1, c, NULL);
        t->nrows--;
        *left_out = -1;
    }
}

/* Runs "SELECT COUNT(*) FROM (q)" (q without ORDER BY or LIMIT) and sets
 * *left_out to that count less the shown rows.  Only run when a listing
 * was cut: one more pass over the window's rows, no sorting. */
static int count_left_out(sqlite3 *db, struct rpt_sql *q, size_t shown, int64_t *left_out, struct tr_err *err)
{
    struct rpt_table *t = rpt_table_new();
    int rc;

    rpt_table_add_col(t, "n", RPT_S_COUNT);
    rc = rpt_sql_run(db, q, t, err);
    if (rc == 0 && t->nrows == 1 && rpt_table_cell(t, 0, 0)->kind == RPT_INT)
        *left_out = rpt_table_cell(t, 0, 0)->i - (int64_t)shown;
    rpt_table_free(t);
    return rc;
}

int rpt_q_failure_list(sqlite3 *db, const struct rpt_scope *s, long limit, struct rpt_table *out,
                       int64_t *left_out, struct tr_err *err)
{
    int64_t total = 0;
    static const struct listing_col cols[] = {
        {"day", RPT_S_TEXT}, {"report", RPT_S_ID}, {"org", RPT_S_TEXT}, {"domain", RPT_S_TEXT},
        {"mx", RPT_S_TEXT}, {"type", RPT_S_TEXT}, {"ip", RPT_S_TEXT}, {"receiving_ip", RPT_S_TEXT},
        {"failed_sessions", RPT_S_FAIL}, {"reason_code", RPT_S_TEXT},
    };
    struct rpt_sql q;
    int rc;

    add_cols(out, cols, sizeof cols / sizeof cols[0]);
    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT ");
    rpt_sql_add(&q, RPT_Q_DAY_EXPR);
    rpt_sql_add(&q, ", rid, org, ");
    rpt_sql_add(&q, RPT_Q_DOMAIN_EXPR);
    rpt_sql_add(&q, " AS dom, ");
    rpt_sql_add(&q, RPT_Q_MX_EXPR_RAW);
    rpt_sql_add(&q, " AS mx, ty, sip, rip, n, rc FROM (");
    rpt_q_failure_rows(&q, s, s->since, s->until, 0);
    /* Newest first: the day, then the report (latest stored first).  No
     * LIMIT: the rows past it are stepped over and counted (one pass; a
     * second COUNT(*) pass cost more). */
    rpt_sql_add(&q, ") ORDER BY st DESC, rid DESC, org, dom, ty, mx, sip, rip, rc");
    rc = rpt_sql_run_counted(db, &q, out, limit > 0 ? (size_t)limit : 0, &total, err);
    rpt_sql_free(&q);
    *left_out = rc == 0 ? total - (int64_t)out->nrows : 0;
    return rc;
}

/* The reports of the window matching every filter: "FROM report r JOIN
 * policy p ON p.report = r.id WHERE ..." (--mx and --type through a
 * failure of the report). */
static void add_report_list_scope(struct rpt_sql *q, const struct rpt_scope *s)
{
    rpt_sql_add(q, " FROM report r JOIN policy p ON p.report = r.id");
    rpt_q_report_where(q, s, s->since, s->until);
    if (s->f->mx.n > 0 || s->f->type.n > 0) {
        rpt_sql_add(q, " AND EXISTS (SELECT 1 FROM policy p2 JOIN failure f ON f.policy = p2.id"
                       " WHERE p2.report = r.id");
        rpt_sql_filter(q, RPT_Q_MX_EXPR_F, &s->f->mx);
        rpt_sql_filter(q, "f.result_type", &s->f->type);
        rpt_sql_add(q, ")");
    }
}

int rpt_q_report_list(sqlite3 *db, const struct rpt_scope *s, long limit, struct rpt_table *out,
                      int64_t *left_out, struct tr_err *err)
{
    static const struct listing_col cols[] = {
        {"id", RPT_S_ID}, {"org", RPT_S_TEXT}, {"domains", RPT_S_TEXT}, {"start", RPT_S_TEXT},
        {"end", RPT_S_TEXT}, {"sessions", RPT_S_COUNT}, {"failed_sessions", RPT_S_FAIL},
        {"source", RPT_S_TEXT}, {"dkim", RPT_S_TEXT},
    };
    struct rpt_sql q;
    int rc;

    add_cols(out, cols, sizeof cols / sizeof cols[0]);
    rpt_sql_init(&q);
    rpt_sql_add(&q,
        "SELECT rid, org, group_concat(pd, ' '),"
        " st, et,"
        " SUM(ok) + SUM(bad), SUM(bad), src, dkim FROM ("
        " SELECT r.id AS rid, r.org_name AS org, r.start_time AS st, r.end_time AS et,"
        "  r.source AS src, r.dkim AS dkim, coalesce(p.policy_domain, '(none)') AS pd,"
        "  MAX(p.successful_sessions) AS ok, MAX(p.failed_sessions) AS bad");
    add_report_list_scope(&q, s);
    /* Newest first: by start, then the latest stored. */
    rpt_sql_add(&q, " GROUP BY r.id, pd ORDER BY r.id, pd) GROUP BY rid ORDER BY st DESC, rid DESC");
    add_limit(&q, limit);
    rc = rpt_sql_run(db, &q, out, err);
    rpt_sql_free(&q);
    if (rc == 0)
        trim_to_limit(out, limit, left_out);
    if (rc == 0 && *left_out < 0) {
        rpt_sql_init(&q);
        rpt_sql_add(&q, "SELECT COUNT(DISTINCT r.id)");
        add_report_list_scope(&q, s);
        rc = count_left_out(db, &q, out->nrows, left_out, err);
        rpt_sql_free(&q);
    }
    return rc;
}

/* *more is how many rows --limit left out (0: none; capped at INT_MAX), the
 * count the other listings give as left_out. */
int rpt_q_quarantine_list(sqlite3 *db, const struct rpt_scope *s, int window, long limit,
                          struct rpt_table *out, int *more, struct tr_err *err)
{
    static const struct listing_col cols[] = {
        {"id", RPT_S_ID}, {"last_seen", RPT_S_TEXT}, {"times_seen", RPT_S_COUNT},
        {"reason", RPT_S_TEXT}, {"source", RPT_S_TEXT}, {"domain", RPT_S_TEXT},
        {"submitter", RPT_S_TEXT}, {"size", RPT_S_COUNT}, {"resolved", RPT_S_TEXT},
        {"message", RPT_S_TEXT},
    };
    struct rpt_sql q;
    int64_t total = 0, left_out;
    int rc;

    add_cols(out, cols, sizeof cols / sizeof cols[0]);
    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT id, last_seen, times_seen,"
                    " reason, source, hdr_report_domain, hdr_report_submitter, raw_size,"
                    " CASE WHEN resolved_time IS NULL THEN 'no' ELSE 'yes' END, message"
                    " FROM quarantine");
    if (window) {
        rpt_sql_add(&q, " WHERE last_seen >= ? AND last_seen < ?");
        rpt_sql_bind_int(&q, s->since);
        rpt_sql_bind_int(&q, s->until);
    }
    /* No LIMIT: the rows past it are stepped over and counted, as in
     * rpt_q_failure_list. */
    rpt_sql_add(&q, " ORDER BY last_seen DESC, id DESC");
    rc = rpt_sql_run_counted(db, &q, out, limit > 0 ? (size_t)limit : 0, &total, err);
    rpt_sql_free(&q);
    rpt_table_datetimes(out, 1);
    left_out = rc == 0 ? total - (int64_t)out->nrows : 0;
    *more = left_out <= 0 ? 0 : left_out > INT_MAX ? INT_MAX : (int)left_out;
    return rc;
}

int rpt_q_policy_strings(sqlite3 *db, const struct rpt_scope *s, struct rpt_table *out,
                         struct tr_err *err)
{
    static const struct listing_col cols[] = {
        {"domain", RPT_S_TEXT}, {"policy", RPT_S_TEXT}, {"policy_strings", RPT_S_TEXT},
        {"reports", RPT_S_COUNT}, {"orgs", RPT_S_TEXT}, {"first_start", RPT_S_ID}, {"last_start", RPT_S_ID},
    };
    struct rpt_sql q;
    int rc;

    add_cols(out, cols, sizeof cols / sizeof cols[0]);
    rpt_sql_init(&q);
    /* policy_strings is stored as a JSON array; json_each turns it back
     * into lines, in order. */
    rpt_sql_add(&q,
        "SELECT pd, pt, lines, COUNT(DISTINCT rid), group_concat(DISTINCT org), MIN(st), MAX(st) FROM ("
        " SELECT coalesce(p.policy_domain, '(none)') AS pd, p.policy_type AS pt,"
        "  (SELECT group_concat(value, char(10)) FROM json_each(CASE WHEN json_valid(p.policy_strings)"
        "   THEN p.policy_strings ELSE '[]' END)) AS lines, r.id AS rid, r.org_name AS org,"
        "  r.start_time AS st"
        " FROM report r JOIN policy p ON p.report = r.id");
    rpt_q_report_where(&q, s, s->since, s->until);
    rpt_sql_add(&q, " ORDER BY org) GROUP BY pd, pt, lines ORDER BY pd, pt, lines");
    rc = rpt_sql_run(db, &q, out, err);
    rpt_sql_free(&q);
    return rc;
}
