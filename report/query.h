/*
 * query.h - every SQL query of tlsrpt-report.
 *
 * Counting rules (tlsrpt-report(1), COUNTING):
 *  - A report belongs to the window, day, week and month of its start time;
 *    a multi-day report is counted whole in the bucket where it starts.
 *  - Sessions come from the policy summaries.  Within one report, the
 *    policies for the same policy domain describe the same sessions
 *    (Microsoft reports them under both sts and tlsa), so per (report,
 *    policy domain) the maximum successful and the maximum failed count
 *    over those policies is taken, not the sum.
 *  - Failed sessions by detail (type, MX, IP, ...) come from the failure
 *    details.  Within one policy, details are summed; across the policies of
 *    one (report, policy domain), the same detail (result type, sending IP,
 *    receiving MX, receiving IP, reason code) counts once, at its maximum.
 *  - mx is receiving-mx-hostname, else "[receiving-ip]", else "(none)".
 *
 * The filters are applied with LIKE patterns bound as parameters: '*' is a
 * wildcard, matching is case-insensitive (ASCII).  --domain and --org narrow
 * everything; --mx and --type narrow failure details only (summaries carry
 * neither).  Grouping expressions come from a fixed table indexed by
 * enum rpt_key; no data is ever spliced into SQL.
 *
 * rpt_q_failed() and rpt_q_sessions() read the rollups (tables of
 * schema/002-rollups.sql, kept up to date at each commit by the writer's
 * fold of schema/003-rollup-fold.sql: ingest/rollup.c) where they cover
 * the keys and filters, and the raw rows otherwise (the planner:
 * rollplan.h).
 *
 * Functions return 0, or -1 with err (code TR_E_DB, or RPT_E_NOT_FOUND).
 * Tables passed in are filled by the function (caller owns them).
 */
#ifndef RPT_QUERY_H
#define RPT_QUERY_H

#include <stdint.h>
#include <sqlite3.h>
#include <jansson.h>

#include "args.h"
#include "output.h"

#define RPT_E_NOT_FOUND "not-found"
/* Longest SQL text a query builds (the whitelisted fragments and one
 * "LIKE ?" per filter value). */
#define RPT_SQL_MAX (1 << 20)
/* Page cache of the report's read-only connection (negative: KiB). */
#define RPT_CACHE_KIB "-65536"
/* Largest raw JSON or quarantined input that show inflates. */
#define RPT_SHOW_MAX_RAW ((size_t)64 << 20)

/* The window and filters of one query; all borrowed. */
struct rpt_scope {
    int64_t since, until;              /* report start_time in [since, until) */
    const struct rpt_filters *f;
    int any_order;                     /* rpt_q_failed: rows in any order (the caller orders them) */
    int epoch_keys;                    /* time keys as their bucket's first second (INTEGER),
                                          not as labels ("2026-11-23") */
};

/* SQL expressions over the columns of rpt_q_failure_rows: the day
 * ("2026-11-23"), the policy domain and the MX as shown (COUNTING);
 * RPT_Q_MX_EXPR_F is that MX over the failure table f, for --mx. */
#define RPT_Q_DAY_EXPR "strftime('%Y-%m-%d', st, 'unixepoch')"
#define RPT_Q_DOMAIN_EXPR "coalesce(pd, '(none)')"
#define RPT_Q_MX_EXPR_RAW "CASE WHEN mxh <> '' THEN mxh WHEN rip <> '' THEN '[' || rip || ']' ELSE '(none)' END"
#define RPT_Q_MX_EXPR_F "CASE WHEN f.receiving_mx_hostname <> '' THEN f.receiving_mx_hostname " \
                        "WHEN f.receiving_ip <> '' THEN '[' || f.receiving_ip || ']' ELSE '(none)' END"

/* Building blocks of the raw-row queries, shared with findings (findings_fail.c,
 * findings_rules.c), so that they count as the other commands do. */
struct rpt_sql;
/* Appends " WHERE" the conditions on report r and policy p: start_time in
 * [lo, hi), --domain, --org and --received-since of s. */
void rpt_q_report_where(struct rpt_sql *q, const struct rpt_scope *s, int64_t lo, int64_t hi);
/* Appends a SELECT of the failure rows of [lo, hi) within s's filters (all
 * four) with the dedup rule applied (COUNTING), columns rid, org, st
 * (start_time), pd, pt, ty, sip, mxh, rip, rc and n (failed sessions);
 * by_policy keeps every policy apart (no dedup across policy types). */
void rpt_q_failure_rows(struct rpt_sql *q, const struct rpt_scope *s, int64_t lo, int64_t hi, int by_policy);

/* Failed sessions from the failure details, grouped by keys (any of the
 * --by keys).  Columns: the key names, then failed_sessions.  Rows ordered
 * by the time keys, then failed_sessions descending, then the other keys
 * (in any order when s->any_order). */
int rpt_q_failed(sqlite3 *db, const struct rpt_scope *s, const enum rpt_key *keys, size_t n_keys,
                 struct rpt_table *out, struct tr_err *err);

/* Sessions from the summaries, grouped by report-level keys only (org,
 * domain, policy, day, week, month; n_keys may be 0 for one total row).
 * Columns: the key names, reports, successful_sessions, failed_sessions.
 * Ordered by the keys. */
int rpt_q_sessions(sqlite3 *db, const struct rpt_scope *s, const enum rpt_key *keys, size_t n_keys,
                   struct rpt_table *out, struct tr_err *err);

/* 1 when key can group rpt_q_sessions(). */
int rpt_key_is_report_level(enum rpt_key k);

/* The failure details themselves (deduplicated as above).  Columns: day,
 * report, org, domain, mx, type, ip, receiving_ip, failed_sessions,
 * reason_code; newest first (day, then report ID, both descending).
 * limit 0 = all; *left_out the number of rows left out past the limit
 * (the rows past it are stepped over, not kept). */
int rpt_q_failure_list(sqlite3 *db, const struct rpt_scope *s, long limit, struct rpt_table *out,
                       int64_t *left_out, struct tr_err *err);

/* Stored reports.  Columns: id, org, domains, start, end, sessions,
 * failed_sessions, source, dkim; start and end are UTC seconds
 * (rpt_table_datetimes() turns them into text).  Newest first (start,
 * then ID, both descending); limit and *left_out as above (counted by
 * a COUNT query only when the limit cut the listing). */
int rpt_q_report_list(sqlite3 *db, const struct rpt_scope *s, long limit, struct rpt_table *out,
                      int64_t *left_out, struct tr_err *err);

/* One report: *normalized is a new JSON object (see tlsrpt-report(1),
 * show); *raw the JSON as sent (caller frees), or NULL with *raw_err set
 * when it could not be inflated within RPT_SHOW_MAX_RAW. */
int rpt_q_report_show(sqlite3 *db, int64_t id, json_t **normalized, char **raw, size_t *raw_len,
                      struct tr_err *raw_err, struct tr_err *err);

/* Quarantined inputs, newest first; with a window (window != 0) only those
 * last seen in [since, until).  Columns: id, last_seen, times_seen, reason,
 * source, domain, submitter, size, resolved, message.  *more: how many
 * rows --limit left out (0: none; at most INT_MAX). */
int rpt_q_quarantine_list(sqlite3 *db, const struct rpt_scope *s, int window, long limit,
                          struct rpt_table *out, int *more, struct tr_err *err);

/* One quarantined input, like rpt_q_report_show. */
int rpt_q_quarantine_show(sqlite3 *db, int64_t id, json_t **meta, char **raw, size_t *raw_len,
                          struct tr_err *raw_err, struct tr_err *err);

/* Distinct policies seen: columns domain, policy, policy_strings (lines
 * joined by newlines, NULL when none sent), reports, orgs (comma-separated),
 * first_start and last_start (UTC seconds: the earliest and latest start
 * time of the reports that carried it). */
int rpt_q_policy_strings(sqlite3 *db, const struct rpt_scope *s, struct rpt_table *out,
                         struct tr_err *err);

#endif
