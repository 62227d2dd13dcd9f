/*
 * prune.c - retention (prune.h): tlsrpt-ingest --prune-before.
 *
 * Deleting reports one by one runs 002's delete trigger per report, which
 * subtracts the report's contributions through a view that scans every
 * failure row (907 reports took 155 s).  A prune works on sets instead,
 * in one transaction:
 *
 *  1. the queue of reports other writers left unfolded is folded (003), so
 *     every stored report is in the rollups;
 *  2. the reports to go (end_time <= before, found through report_start)
 *     are listed in a temporary table with their UTC start day; the days
 *     they start on are listed, each marked whole when no report that
 *     stays starts that day;
 *  3. the day rows (g = 0, and roll_fail) of all those days are deleted,
 *     after their roll_fail rows were subtracted from roll_fail_tot (004)
 *     in one statement; the reports that stay on a day not whole are then
 *     folded again (003's roll_fold: their day rows back, right);
 *  4. every week (g = 1) and month (g = 2) bucket holding one of those days
 *     is summed again from its day rows, as 002's backfill builds them
 *     (a report counts in the buckets of its start day, so a week or month
 *     is the sum of its days);
 *  5. the rollup bookkeeping rows of the pruned reports (roll_policy,
 *     roll_multidom, roll_fdup) and their failure, policy and report rows
 *     are deleted with schema/011's roll_state.pruning set, which turns the
 *     per-row delete triggers off; then the quarantine entries last seen
 *     before the time.
 *
 * Rollup tables keyed by domain first (roll_sess, roll_fail, roll_fail_mx)
 * are read by (domain, day) through their primary keys: the domain ids
 * are listed first (prune_dom), so a bucket costs one seek per domain
 * instead of a scan of the table.  Interned names (dim_*) stay.
 */
#include "tlsrpt/prune.h"
#include "tlsrpt/codes.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The day number of a start_time column, floor(t / 86400) as 002. */
#define DAY_OF(col) "((" col " - ((" col " % 86400) + 86400) % 86400) / 86400)"

/* Step 2: the reports to go and their days (?1 = before). */
static const char *const collect_sql[] = {
    "DROP TABLE IF EXISTS temp.prune_report",
    "DROP TABLE IF EXISTS temp.prune_day",
    "CREATE TEMP TABLE prune_report (id INTEGER PRIMARY KEY, day INTEGER NOT NULL)",
    /* tlsrpt stores only end_time > start_time (parse.c refuses the
     * others), so start_time < ?1 finds them all through the index. */
    "INSERT INTO prune_report (id, day) SELECT id, " DAY_OF("start_time") " FROM report"
    " WHERE start_time < ?1 AND end_time <= ?1",
    "CREATE TEMP TABLE prune_day (day INTEGER PRIMARY KEY, whole INTEGER NOT NULL)",
    "INSERT INTO prune_day (day, whole) SELECT DISTINCT day, 1 FROM prune_report",
    /* A day is whole when no report that stays starts on it. */
    "UPDATE prune_day SET whole = 0 WHERE day IN (SELECT " DAY_OF("r.start_time") " FROM report r"
    " WHERE r.start_time >= (SELECT MIN(day) FROM prune_day) * 86400"
    " AND r.start_time < ((SELECT MAX(day) FROM prune_day) + 1) * 86400"
    " AND NOT EXISTS (SELECT 1 FROM prune_report q WHERE q.id = r.id))",
    NULL,
};

/* What goes (?1 = before). */
static const char count_sql[] =
    "SELECT (SELECT COUNT(*) FROM prune_report),"
    " (SELECT COUNT(*) FROM prune_report q CROSS JOIN policy p ON p.report = q.id),"
    " (SELECT COUNT(*) FROM prune_report q CROSS JOIN policy p ON p.report = q.id"
    "  CROSS JOIN failure f ON f.policy = p.id),"
    " (SELECT COUNT(*) FROM quarantine WHERE last_seen < ?1),"
    " (SELECT coalesce(MIN(r.start_time), 0) FROM prune_report q CROSS JOIN report r ON r.id = q.id),"
    " (SELECT coalesce(MAX(r.end_time), 0) FROM prune_report q CROSS JOIN report r ON r.id = q.id)";

/* The domain ids every domain-first rollup key can start with (0: no
 * domain); the weeks and months touched, each with its end (day number). */
#define IN_DOMS "dom IN (SELECT id FROM prune_dom)"
#define WEEK_OF(d) "(" d " - (" d " + 3) % 7)"
#define MONTH_OF(d) "(CAST(strftime('%s', " d " * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400)"

/* Steps 3 to 5 (?1 = before). */
static const char *const prune_sql[] = {
    "DROP TABLE IF EXISTS temp.prune_dom",
    "DROP TABLE IF EXISTS temp.prune_bucket",
    "DROP TABLE IF EXISTS temp.prune_refold",
    "CREATE TEMP TABLE prune_dom (id INTEGER PRIMARY KEY)",
    "INSERT INTO prune_dom (id) SELECT 0 UNION SELECT id FROM dim_domain",
    "CREATE TEMP TABLE prune_bucket (g INTEGER NOT NULL, t INTEGER NOT NULL, e INTEGER NOT NULL,"
    " PRIMARY KEY (g, t))",
    "INSERT OR IGNORE INTO prune_bucket (g, t, e) SELECT 1, " WEEK_OF("day") ", " WEEK_OF("day") " + 7"
    " FROM prune_day",
    "INSERT OR IGNORE INTO prune_bucket (g, t, e) SELECT 2, " MONTH_OF("day") ","
    " CAST(strftime('%s', day * 86400, 'unixepoch', 'start of month', '+1 month') AS INTEGER) / 86400"
    " FROM prune_day",
    /* Reports that stay and start on a day not whole: folded again. */
    "CREATE TEMP TABLE prune_refold (id INTEGER PRIMARY KEY)",
    "INSERT INTO prune_refold (id) SELECT r.id FROM prune_day d CROSS JOIN report r"
    " ON r.start_time >= d.day * 86400 AND r.start_time < d.day * 86400 + 86400"
    " WHERE d.whole = 0 AND NOT EXISTS (SELECT 1 FROM prune_report q WHERE q.id = r.id)",

    "UPDATE roll_state SET pruning = 1 WHERE id = 1",
    /* 3. The days' rows; roll_fail's subtracted from roll_fail_tot first. */
    "INSERT INTO roll_fail_tot (dom, org, mx, ty, pt, c, n, d)"
    " SELECT f.dom, f.org, f.mx, f.ty, f.pt, -SUM(f.c), -SUM(f.n), -SUM(f.d)"
    " FROM prune_dom x CROSS JOIN prune_day y CROSS JOIN roll_fail f ON f.dom = x.id AND f.t = y.day"
    " WHERE true GROUP BY f.dom, f.org, f.mx, f.ty, f.pt"
    " ON CONFLICT DO UPDATE SET c = c + excluded.c, n = n + excluded.n, d = d + excluded.d",
    "DELETE FROM roll_fail WHERE " IN_DOMS " AND t IN (SELECT day FROM prune_day)",
    "DELETE FROM roll_sess WHERE " IN_DOMS " AND g = 0 AND t IN (SELECT day FROM prune_day)",
    "DELETE FROM roll_fail_mx WHERE " IN_DOMS " AND g = 0 AND t IN (SELECT day FROM prune_day)",
    "DELETE FROM roll_fail_ip WHERE g = 0 AND t IN (SELECT day FROM prune_day)",
    "DELETE FROM roll_fail_tot WHERE c = 0 AND n = 0 AND d = 0",
    "DELETE FROM roll_policy WHERE id IN (SELECT p.id FROM prune_refold q CROSS JOIN policy p"
    " ON p.report = q.id)",
    "DELETE FROM roll_multidom WHERE report IN (SELECT id FROM prune_refold)",
    "INSERT INTO roll_pending (report) SELECT id FROM prune_refold",
    "UPDATE roll_state SET folds = folds + 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM roll_pending)",

    /* 4. Weeks and months again from their days. */
    "DELETE FROM roll_sess WHERE " IN_DOMS " AND g = 1 AND t IN (SELECT t FROM prune_bucket WHERE g = 1)",
    "DELETE FROM roll_sess WHERE " IN_DOMS " AND g = 2 AND t IN (SELECT t FROM prune_bucket WHERE g = 2)",
    "DELETE FROM roll_fail_mx WHERE " IN_DOMS " AND g = 1 AND t IN (SELECT t FROM prune_bucket WHERE g = 1)",
    "DELETE FROM roll_fail_mx WHERE " IN_DOMS " AND g = 2 AND t IN (SELECT t FROM prune_bucket WHERE g = 2)",
    "DELETE FROM roll_fail_ip WHERE g = 2 AND t IN (SELECT t FROM prune_bucket WHERE g = 2)",
    "INSERT INTO roll_sess (dom, g, t, org, n, r, ok, bad)"
    " SELECT s.dom, b.g, b.t, s.org, SUM(s.n), SUM(s.r), SUM(s.ok), SUM(s.bad)"
    " FROM prune_bucket b CROSS JOIN prune_dom x CROSS JOIN roll_sess s"
    " ON s.dom = x.id AND s.g = 0 AND s.t >= b.t AND s.t < b.e"
    " GROUP BY s.dom, b.g, b.t, s.org",
    "INSERT INTO roll_fail_mx (dom, g, t, mx, ty, pt, c, n, d)"
    " SELECT s.dom, b.g, b.t, s.mx, s.ty, s.pt, SUM(s.c), SUM(s.n), SUM(s.d)"
    " FROM prune_bucket b CROSS JOIN prune_dom x CROSS JOIN roll_fail_mx s"
    " ON s.dom = x.id AND s.g = 0 AND s.t >= b.t AND s.t < b.e"
    " GROUP BY s.dom, b.g, b.t, s.mx, s.ty, s.pt",
    "INSERT INTO roll_fail_ip (g, t, org, ip, ty, pt, c, n, d)"
    " SELECT 2, b.t, s.org, s.ip, s.ty, s.pt, SUM(s.c), SUM(s.n), SUM(s.d)"
    " FROM prune_bucket b CROSS JOIN roll_fail_ip s ON s.g = 0 AND s.t >= b.t AND s.t < b.e"
    " WHERE b.g = 2 GROUP BY b.t, s.org, s.ip, s.ty, s.pt",

    /* 5. The pruned reports' rows, per-row triggers off. */
    "DELETE FROM roll_policy WHERE id IN (SELECT p.id FROM prune_report q CROSS JOIN policy p"
    " ON p.report = q.id)",
    "DELETE FROM roll_multidom WHERE report IN (SELECT id FROM prune_report)",
    "DELETE FROM roll_fdup WHERE report IN (SELECT id FROM prune_report)",
    "DELETE FROM failure WHERE policy IN (SELECT p.id FROM prune_report q CROSS JOIN policy p"
    " ON p.report = q.id)",
    "DELETE FROM policy WHERE report IN (SELECT id FROM prune_report)",
    "DELETE FROM report WHERE id IN (SELECT id FROM prune_report)",
    "DELETE FROM quarantine WHERE last_seen < ?1",
    "UPDATE roll_state SET pruning = 0 WHERE id = 1",
    "DROP TABLE prune_dom",
    "DROP TABLE prune_bucket",
    "DROP TABLE prune_refold",
    "DROP TABLE prune_report",
    "DROP TABLE prune_day",
    NULL,
};

/* Prepares sql, binds ?1 (when it has one) to before, steps it to the
 * end.  Returns 0 or -1 with err. */
static int run1(sqlite3 *h, const char *sql, int64_t before, struct tr_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return tr_db_fail(h, err, "preparing the prune");
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, before);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return tr_db_fail(h, err, "pruning");
    return 0;
}

static int run_all(sqlite3 *h, const char *const *sql, int64_t before, struct tr_err *err)
{
    for (; *sql != NULL; sql++)
        if (run1(h, *sql, before, err) < 0)
            return -1;
    return 0;
}

static int count(sqlite3 *h, int64_t before, struct tr_prune_counts *out, struct tr_err *err)
{
    sqlite3_stmt *st;
    int64_t *v[6] = { &out->reports, &out->policies, &out->failures, &out->quarantine,
                      &out->first_start, &out->last_end };

    if (sqlite3_prepare_v2(h, count_sql, -1, &st, NULL) != SQLITE_OK)
        return tr_db_fail(h, err, "counting what to prune");
    sqlite3_bind_int64(st, 1, before);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return tr_db_fail(h, err, "counting what to prune");
    }
    for (int i = 0; i < 6; i++)
        *v[i] = sqlite3_column_int64(st, i);
    sqlite3_finalize(st);
    return 0;
}

static void rollback(sqlite3 *h)
{
    if (!sqlite3_get_autocommit(h))
        sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
}

/* Opens the transaction (IMMEDIATE: a prune writes; a count only reads,
 * but folds the queue in its own transaction that it rolls back), folds
 * the queue, lists and counts what goes.  The transaction stays open. */
static int collect(sqlite3 *h, int64_t before, struct tr_prune_counts *out, struct tr_err *err)
{
    memset(out, 0, sizeof *out);
    if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return tr_db_fail(h, err, "starting the prune");
    if (run1(h, "UPDATE roll_state SET folds = folds + 1 WHERE id = 1"
                " AND EXISTS (SELECT 1 FROM roll_pending)", before, err) < 0 ||
        run_all(h, collect_sql, before, err) < 0 || count(h, before, out, err) < 0) {
        rollback(h);
        return -1;
    }
    return 0;
}

int tr_prune_count(struct tr_db *db, int64_t before, struct tr_prune_counts *out, struct tr_err *err)
{
    sqlite3 *h = tr_db_handle(db);

    if (collect(h, before, out, err) < 0)
        return -1;
    rollback(h);
    return 0;
}

int tr_prune(struct tr_db *db, int64_t before, struct tr_prune_counts *out, struct tr_err *err)
{
    sqlite3 *h = tr_db_handle(db);
    int moved = 0;

    if (collect(h, before, out, err) < 0)
        return -1;
    if (run_all(h, prune_sql, before, err) < 0) {
        rollback(h);
        return -1;
    }
    /* As db.c's commits: not into a file that was deleted or renamed. */
    if (sqlite3_file_control(h, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved) {
        tr_err_set(err, TR_E_DB, "the database file was deleted or renamed while in use");
        rollback(h);
        return -1;
    }
    if (sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        tr_db_fail(h, err, "committing the prune");
        rollback(h);
        return -1;
    }
    return 0;
}

/* The database file's size plus its WAL's, in bytes. */
static int64_t file_bytes(sqlite3 *h)
{
    const char *path = sqlite3_db_filename(h, "main");
    char wal[4096];
    struct stat sb;
    int64_t n = 0;

    if (path == NULL || path[0] == '\0')
        return 0;
    if (stat(path, &sb) == 0)
        n += (int64_t)sb.st_size;
    if ((size_t)snprintf(wal, sizeof wal, "%s-wal", path) < sizeof wal && stat(wal, &sb) == 0)
        n += (int64_t)sb.st_size;
    return n;
}

int tr_db_vacuum(struct tr_db *db, int64_t *bytes_before, int64_t *bytes_after, struct tr_err *err)
{
    sqlite3 *h = tr_db_handle(db);
    int rc;

    *bytes_before = file_bytes(h);
    /* The copy in a temporary file, not in memory (db.c sets MEMORY for
     * the savepoint journals of an import): a database of gigabytes. */
    if (sqlite3_exec(h, "PRAGMA temp_store = FILE", NULL, NULL, NULL) != SQLITE_OK)
        return tr_db_fail(h, err, "vacuum");
    rc = sqlite3_exec(h, "VACUUM", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        tr_db_fail(h, err, "vacuum");
        sqlite3_exec(h, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
        return -1;
    }
    sqlite3_exec(h, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
    /* VACUUM wrote every page into the WAL: back into the file, and the
     * WAL truncated (a reader holding an old snapshot can keep it; the
     * space then returns at the next checkpoint). */
    if (sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
        return tr_db_fail(h, err, "checkpoint after vacuum");
    *bytes_after = file_bytes(h);
    return 0;
}
