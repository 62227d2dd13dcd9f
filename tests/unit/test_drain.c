/*
 * test_drain.c - draining a spool into a real SQLite file (drain.h):
 * batches (more entries than TR_DRAIN_BATCH_MAX), the order of the log
 * callback, entries written while a drain is under way, max_entries, and
 * a batch whose transaction fails in the middle: every entry of it goes
 * back to new/, none of its reports is stored, and the next drain stores
 * them all once; an entry with a Reject line is quarantined, not ingested.
 */
#include "check.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/drain.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT_CAP 1024
#define PATH_CAP 4096
#define REPORT_CAP 1024
#define ENTRIES (2 * TR_DRAIN_BATCH_MAX + 7)   /* three batches, the last one short */
#define BOOM_AT 9                              /* the entry the trigger refuses, 0-based */

static char root[ROOT_CAP], spool[ROOT_CAP + 16], dbpath[ROOT_CAP + 16];

/* A minimal RFC 8460 report, distinct per n; org "Boom Org" for the one
 * the test trigger refuses. */
static void write_report(int n, const char *org)
{
    char json[REPORT_CAP], name[TR_SPOOL_NAME_MAX], qid[32];
    const char *rcpt[] = { "tlsrpt@example.net" };
    struct tr_envelope env = { "<r@example.org>", rcpt, 1, "192.0.2.1", qid, 1700000000 + n, NULL, NULL };
    struct tr_err err;
    int len = snprintf(json, sizeof json,
                       "{\"organization-name\":\"%s\",\"date-range\":{\"start-datetime\":"
                       "\"2026-11-01T00:00:00Z\",\"end-datetime\":\"2026-11-01T23:59:59Z\"},"
                       "\"contact-info\":\"tls@example.org\",\"report-id\":\"drain-%d\","
                       "\"policies\":[{\"policy\":{\"policy-type\":\"no-policy-found\","
                       "\"policy-domain\":\"example.net\"},\"summary\":{"
                       "\"total-successful-session-count\":%d,\"total-failure-session-count\":0}}]}",
                       org, n, n + 1);

    snprintf(qid, sizeof qid, "Q%d", n);
    if (tr_spool_write(spool, &env, (const unsigned char *)json, (size_t)len, name, sizeof name, &err) < 0)
        check_fail(__FILE__, __LINE__, "tr_spool_write: %s", err.detail);
}

struct log_seen {
    long done, retry, other;
    int64_t last_time;        /* entries are logged in the order written */
    int in_order;
};

static void on_entry(void *ctx, const struct tr_spool_entry *e, enum tr_drain_outcome outcome,
                     const struct tr_counts *delta, const struct tr_err *err)
{
    struct log_seen *s = ctx;

    (void)delta;
    if (outcome == TR_DRAIN_DONE) {
        s->done++;
        if (e->time < s->last_time)
            s->in_order = 0;
        s->last_time = e->time;
    } else if (outcome == TR_DRAIN_RETRY && err != NULL) {
        s->retry++;
    } else {
        s->other++;
    }
}

static long count(struct tr_db *db, const char *sql)
{
    sqlite3_stmt *st;
    long n = -1;

    if (sqlite3_prepare_v2(tr_db_handle(db), sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void exec_sql(struct tr_db *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(tr_db_handle(db), sql, NULL, NULL, &msg) != SQLITE_OK)
        check_fail(__FILE__, __LINE__, "%s: %s", sql, msg ? msg : "?");
    sqlite3_free(msg);
}

/* Three batches, then max_entries, then entries that arrive later. */
static void test_batches(struct tr_db *db, const struct tr_ingest_opts *o)
{
    struct tr_counts counts = { 0, 0, 0, 0 };
    struct log_seen seen = { 0, 0, 0, 0, 1 };
    struct tr_err err;

    for (int i = 0; i < ENTRIES; i++)
        write_report(i, "Drain Org");
    CHECK_INT(tr_spool_drain_log(spool, o, db, &counts, 5, on_entry, &seen, &err), 5);
    CHECK_INT(tr_spool_pending(spool), ENTRIES - 5);
    CHECK_INT(tr_spool_drain_log(spool, o, db, &counts, -1, on_entry, &seen, &err), ENTRIES - 5);
    CHECK_INT(counts.stored, ENTRIES);
    CHECK_INT(counts.duplicates, 0);
    CHECK_INT(seen.done, ENTRIES);
    CHECK_INT(seen.retry + seen.other, 0);
    CHECK(seen.in_order);
    CHECK_INT(count(db, "SELECT count(*) FROM report WHERE org_name = 'Drain Org'"), ENTRIES);
    CHECK_INT(tr_spool_pending(spool), 0);
    /* Nothing left: the next drain takes no lock and finds nothing. */
    CHECK_INT(tr_spool_drain_log(spool, o, db, &counts, -1, on_entry, &seen, &err), 0);
}

/* The database fails (not a refusal of the rows: an SQL error at run
 * time, as a broken trigger of another tool gives) at a report in the
 * middle of the first batch. */
static void test_failed_batch(struct tr_db *db, const struct tr_ingest_opts *o)
{
    struct tr_counts counts = { 0, 0, 0, 0 };
    struct log_seen seen = { 0, 0, 0, 0, 1 };
    struct tr_err err;
    const int base = 1000;

    for (int i = 0; i < 20; i++)
        write_report(base + i, i == BOOM_AT ? "Boom Org" : "Batch Org");
    exec_sql(db, "CREATE TEMP TRIGGER boom BEFORE INSERT ON main.report WHEN NEW.org_name = 'Boom Org' "
                 "BEGIN SELECT json('broken by the test'); END");
    tr_err_clear(&err);
    CHECK_INT(tr_spool_drain_log(spool, o, db, &counts, -1, on_entry, &seen, &err), -1);
    CHECK(strstr(err.detail, "malformed JSON") != NULL);
    CHECK_STR(err.code, TR_E_DB);
    /* The batch up to and with the failed entry was rolled back and given back. */
    CHECK_INT(seen.retry, BOOM_AT + 1);
    CHECK_INT(seen.done, 0);
    CHECK_INT(counts.stored, 0);
    CHECK_INT(count(db, "SELECT count(*) FROM report WHERE org_name IN ('Batch Org', 'Boom Org')"), 0);
    CHECK_INT(count(db, "SELECT count(*) FROM roll_pending"), 0);
    CHECK_INT(tr_spool_pending(spool), 20);
    {
        char cur[PATH_CAP];
        snprintf(cur, sizeof cur, "%s/cur", spool);
        CHECK_INT(rmdir(cur), 0);                 /* empty: everything is back in new/ */
        CHECK_INT(tr_spool_init(spool, &err), 0);
    }
    exec_sql(db, "DROP TRIGGER temp.boom");
    seen.retry = 0;
    CHECK_INT(tr_spool_drain_log(spool, o, db, &counts, -1, on_entry, &seen, &err), 20);
    CHECK_INT(counts.stored, 20);
    CHECK_INT(seen.done, 20);
    CHECK_INT(seen.retry, 0);
    CHECK_INT(count(db, "SELECT count(*) FROM report WHERE org_name IN ('Batch Org', 'Boom Org')"), 20);
    CHECK_INT(tr_spool_pending(spool), 0);
}

static int failed_entries(void)
{
    char dir[PATH_CAP];
    struct dirent *d;
    DIR *dh;
    int n = 0;

    snprintf(dir, sizeof dir, "%s/failed", spool);
    if ((dh = opendir(dir)) == NULL)
        return -1;
    while ((d = readdir(dh)) != NULL)
        n += d->d_name[0] != '.';
    closedir(dh);
    return n;
}

/* The database refuses one report's rows (a constraint or trigger): that
 * entry's report is quarantined as db-refused and the batch goes on; when
 * its quarantine row is refused too, the entry moves to failed/ and the
 * rest of its batch is drained all the same. */
static void test_refused_entry(struct tr_db *db, const struct tr_ingest_opts *o)
{
    struct tr_counts counts = { 0, 0, 0, 0 };
    struct log_seen seen = { 0, 0, 0, 0, 1 };
    struct tr_err err;
    const int base = 2000;

    for (int i = 0; i < 10; i++)
        write_report(base + i, i == 3 ? "Boom Org" : "Refused Org");
    exec_sql(db, "CREATE TEMP TRIGGER boom BEFORE INSERT ON main.report WHEN NEW.org_name = 'Boom Org' "
                 "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    CHECK_INT(tr_spool_drain_log(spool, o, db, &counts, -1, on_entry, &seen, &err), 10);
    CHECK_INT(counts.stored, 9);
    CHECK_INT(counts.quarantined, 1);
    CHECK_INT(seen.done, 10);
    CHECK_INT(seen.retry + seen.other, 0);
    CHECK_INT(count(db, "SELECT count(*) FROM quarantine WHERE reason = 'db-refused' "
                        "AND message LIKE '%refused by the test%' AND source LIKE 'spool:%'"), 1);
    CHECK_INT(tr_spool_pending(spool), 0);
    CHECK_INT(failed_entries(), 0);

    /* And the quarantine row refused as well. */
    for (int i = 10; i < 20; i++)
        write_report(base + i, i == 13 ? "Boom Org" : "Refused Org");
    exec_sql(db, "CREATE TEMP TRIGGER boom_q BEFORE INSERT ON main.quarantine "
                 "BEGIN SELECT RAISE(ABORT, 'quarantine refused by the test'); END");
    counts = (struct tr_counts){ 0, 0, 0, 0 };
    seen = (struct log_seen){ 0, 0, 0, 0, 1 };
    CHECK_INT(tr_spool_drain_log(spool, o, db, &counts, -1, on_entry, &seen, &err), 10);
    CHECK_INT(counts.stored, 9);
    CHECK_INT(counts.quarantined, 0);
    CHECK_INT(seen.done, 9);
    CHECK_INT(seen.other, 1);                    /* TR_DRAIN_FAILED with the refusal */
    CHECK_INT(seen.retry, 3);                    /* the three before it, given back once */
    CHECK_INT(count(db, "SELECT count(*) FROM report WHERE org_name = 'Refused Org'"), 18);
    CHECK_INT(tr_spool_pending(spool), 0);
    CHECK_INT(failed_entries(), 1);
    exec_sql(db, "DROP TRIGGER temp.boom");
    exec_sql(db, "DROP TRIGGER temp.boom_q");
}

/* An entry its writer refused ("Reject: CODE DETAIL", as tlsrpt-httpd
 * writes for a 400): quarantined with that code, even a valid report. */
static void test_reject_line(struct tr_db *db, const struct tr_ingest_opts *o)
{
    static const char json[] = "{\"organization-name\":\"Reject Org\",\"date-range\":{\"start-datetime\":"
        "\"2026-11-01T00:00:00Z\",\"end-datetime\":\"2026-11-01T23:59:59Z\"},\"contact-info\":\"x\","
        "\"report-id\":\"reject-1\",\"policies\":[]}";
    struct tr_envelope env = { NULL, NULL, 0, "192.0.2.9", "H1", 1700000000, TR_E_BAD_GZIP,
                               "declared gzip\nnot gzip" };
    struct tr_counts counts = { 0, 0, 0, 0 };
    char name[TR_SPOOL_NAME_MAX];
    struct tr_err err;

    CHECK_INT(tr_spool_write(spool, &env, (const unsigned char *)json, sizeof json - 1, name, sizeof name, &err), 0);
    CHECK_INT(tr_spool_drain_log(spool, o, db, &counts, -1, NULL, NULL, &err), 1);
    CHECK_INT(counts.stored, 0);
    CHECK_INT(counts.quarantined, 1);
    CHECK_INT(count(db, "SELECT count(*) FROM report WHERE org_name = 'Reject Org'"), 0);
    CHECK_INT(count(db, "SELECT count(*) FROM quarantine WHERE reason = 'bad-gzip' "
                        "AND message = 'declared gzip?not gzip' AND source LIKE 'spool:%'"), 1);
    CHECK_INT(tr_spool_pending(spool), 0);
}

int main(void)
{
    char cmd[ROOT_CAP + 16];
    const char *tmp = getenv("TMPDIR");
    struct tr_ingest_opts o;
    struct tr_db *db = NULL;
    struct tr_err err;

    snprintf(root, sizeof root, "%s/test_drain.XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(spool, sizeof spool, "%s/spool", root);
    snprintf(dbpath, sizeof dbpath, "%s/tlsrpt.db", root);
    CHECK_INT(tr_spool_init(spool, &err), 0);
    if (tr_db_open(dbpath, 0, &db, &err) < 0) {
        check_fail(__FILE__, __LINE__, "tr_db_open: %s", err.detail);
        return check_done();
    }
    tr_ingest_opts_default(&o);
    test_batches(db, &o);
    test_failed_batch(db, &o);
    test_refused_entry(db, &o);
    test_reject_line(db, &o);
    tr_db_close(db);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_done();
}
