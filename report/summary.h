/*
 * summary.h - the summary command: its queries, its tables (sessions and
 * success rate joined onto rows grouped by report-level keys, the top N
 * rows by failed sessions, the domain totals worst first) and its three
 * output formats, written through output.h's writers to the stream main.c
 * hands over.  Nothing here writes to stderr.
 */
#ifndef RPT_SUMMARY_H
#define RPT_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "args.h"
#include "output.h"
#include "query.h"

/* Rows on a terminal when summary's --limit is not given (the table
 * format to a terminal only; CSV, JSON and pipes get every row). */
#define RPT_SUMMARY_TERM_LIMIT 50

/*
 * rows: rpt_q_failed()'s table grouped by keys[0..n_keys) (the key columns,
 * then failed_sessions); sess: rpt_q_sessions()'s table by the same keys
 * (keys, reports, successful_sessions, failed_sessions).  Adds the columns
 * reports, sessions and success_rate (from the report summaries) to rows,
 * appends the groups that have sessions but no failure detail (failed
 * sessions 0), and orders rows as rpt_q_failed does: time keys, then failed
 * sessions (most first), then the other keys.
 */
void rpt_summary_add_sessions(struct rpt_table *rows, const enum rpt_key *keys, size_t n_keys,
                              const struct rpt_table *sess);

/*
 * Keeps the limit rows with the most failed sessions (column fail_col; ties
 * keep the earlier row), in their order, and drops the others.  Returns the
 * number dropped (0 when limit is 0 or not exceeded) and their failed
 * sessions in *dropped_failed.
 */
size_t rpt_table_keep_top(struct rpt_table *t, size_t fail_col, size_t limit, int64_t *dropped_failed);

/*
 * Orders the per-domain totals (columns domain, reports,
 * successful_sessions, failed_sessions, success_rate) worst first: lowest
 * success rate, then most failed sessions, then by name; domains without
 * sessions last.
 */
void rpt_domains_worst_first(struct rpt_table *dom);

/* What summary shows: --by keys (borrowed), the row limit (0: all),
 * whether rows carry sessions (every key report-level, no --mx/--type). */
struct rpt_summary_req {
    const enum rpt_key *by;
    size_t n_by;
    size_t limit;
    int with_sessions;
};

/* The rows the limit left out and their failed sessions. */
struct rpt_summary_cut {
    size_t dropped;
    int64_t dropped_failed;
};

#define RPT_SUMMARY_QUERY_FAILED (-1)   /* err set */
#define RPT_SUMMARY_WRITE_FAILED (-2)

/* Runs summary over s and writes it to o in o's format: table (rows,
 * "... and M more rows", the Totals line, the domain table), CSV (rows
 * only; the caller says on stderr what was left out) or JSON (see
 * tlsrpt-report(1)).  Returns 0 or one of the two failures above. */
int rpt_summary_write(sqlite3 *db, const struct rpt_scope *s, const struct rpt_summary_req *req,
                      struct rpt_out *o, struct rpt_summary_cut *cut, struct tr_err *err);

/* "2026-11-01 to 2026-11-22" for whole days, else both datetimes, into
 * buf (cap bytes). */
void rpt_window_text(int64_t since, int64_t until, char *buf, size_t cap);
/* Sets "since" and "until" (datetimes) on doc. */
void rpt_window_json(json_t *doc, int64_t since, int64_t until);

#endif
