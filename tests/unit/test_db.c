/*
 * test_db.c - the store (db.c) and the ingest pipeline (ingest.c) on real
 * SQLite files: migrations, whole-or-nothing reports, dedup, batches with
 * savepoints, quarantine dedup, a database that cannot be written.
 */
#include "check.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/db.h"
#include "tlsrpt/ingest.h"
#include "tlsrpt/mime.h"
#include "tlsrpt/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/tlsrpt-test-db.XXXXXX";

static const char *report_json(int n)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"organization-name\":\"Org %d\",\"report-id\":\"id-%d\","
             "\"date-range\":{\"start-datetime\":\"2026-11-10T00:00:00Z\","
             "\"end-datetime\":\"2026-11-10T23:59:59Z\"},"
             "\"policies\":[{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":\"example.net\"},"
             "\"summary\":{\"total-successful-session-count\":10,\"total-failure-session-count\":2},"
             "\"failure-details\":[{\"result-type\":\"certificate-expired\",\"failed-session-count\":2,"
             "\"receiving-mx-hostname\":\"mx1.example.net\"}]}]}", n, n);
    return buf;
}

static struct tr_input input_of(const char *s, const char *source)
{
    struct tr_input in;
    memset(&in, 0, sizeof in);
    in.source = source;
    in.data = (const unsigned char *)s;
    in.len = in.full_len = strlen(s);
    return in;
}

static long count(struct tr_db *db, const char *sql)
{
    sqlite3_stmt *st;
    long n = -1;
    if (sqlite3_prepare_v2(tr_db_handle(db), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void test_open_and_migrate(void)
{
    char *path = xasprintf("%s/m.db", tmpdir);
    struct tr_db *db;
    struct tr_err err;
    struct stat sb;

    CHECK(tr_db_open(path, 0, &db, &err) == 0);
    CHECK_INT(count(db, "PRAGMA user_version"), tr_schema_version);
    CHECK(count(db, "SELECT count(*) FROM sqlite_master WHERE name = 'report'") == 1);
    tr_db_close(db);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 077) == 040);
    /* Reopening applies nothing twice. */
    CHECK(tr_db_open(path, 0, &db, &err) == 0);
    CHECK_INT(count(db, "PRAGMA user_version"), tr_schema_version);
    /* A database from the future is refused with a clear error. */
    sqlite3_exec(tr_db_handle(db), "PRAGMA user_version = 999", NULL, NULL, NULL);
    tr_db_close(db);
    CHECK(tr_db_open(path, 0, &db, &err) == -1);
    CHECK_STR(err.code, TR_E_DB);
    CHECK(strstr(err.detail, "newer") != NULL);
    free(path);
}

static void test_store_dedup(void)
{
    char *path = xasprintf("%s/s.db", tmpdir);
    struct tr_ingest_opts o;
    struct tr_sink sink;
    struct tr_counts c = { 0, 0, 0, 0 };
    struct tr_db *db;
    struct tr_err err;
    struct tr_input in = input_of(report_json(1), "test");

    tr_ingest_opts_default(&o);
    CHECK(tr_db_open(path, 0, &db, &err) == 0);
    tr_db_sink(&sink, db);
    CHECK(tr_ingest_input(&o, &sink, &in, NULL, &c, &err) == 0);
    CHECK(tr_ingest_input(&o, &sink, &in, NULL, &c, &err) == 0);
    CHECK_INT(c.stored, 1);
    CHECK_INT(c.duplicates, 1);
    CHECK_INT(count(db, "SELECT count(*) FROM report"), 1);
    CHECK_INT(count(db, "SELECT count(*) FROM policy"), 1);
    CHECK_INT(count(db, "SELECT count(*) FROM failure"), 1);
    /* Stored half-open: one day exactly. */
    CHECK_INT(count(db, "SELECT end_time - start_time FROM report"), 86400);
    CHECK_INT(count(db, "SELECT raw_json_size FROM report"), (long)strlen(report_json(1)));

    /* The same bad bytes twice: one quarantine row seen twice. */
    in = input_of("{\"organization-name\":\"x\"", "bad");
    CHECK(tr_ingest_input(&o, &sink, &in, NULL, &c, &err) == 0);
    CHECK(tr_ingest_input(&o, &sink, &in, NULL, &c, &err) == 0);
    CHECK_INT(c.quarantined, 2);
    CHECK_INT(count(db, "SELECT count(*) FROM quarantine"), 1);
    CHECK_INT(count(db, "SELECT times_seen FROM quarantine"), 2);
    tr_db_close(db);
    free(path);
}

static void test_batch(void)
{
    char *path = xasprintf("%s/b.db", tmpdir);
    struct tr_ingest_opts o;
    struct tr_sink sink;
    struct tr_counts c = { 0, 0, 0, 0 };
    struct tr_db *db;
    struct tr_err err;

    tr_ingest_opts_default(&o);
    CHECK(tr_db_open(path, 0, &db, &err) == 0);
    tr_db_sink(&sink, db);
    CHECK(tr_db_begin(db, &err) == 0);
    for (int i = 0; i < 50; i++) {
        struct tr_input in = input_of(report_json(i % 40), "batch");
        CHECK(tr_ingest_input(&o, &sink, &in, NULL, &c, &err) == 0);
    }
    CHECK(tr_db_commit(db, &err) == 0);
    CHECK_INT(c.stored, 40);
    CHECK_INT(c.duplicates, 10);
    CHECK_INT(count(db, "SELECT count(*) FROM report"), 40);
    CHECK_INT(count(db, "SELECT count(*) FROM failure"), 40);

    /* A rolled-back batch leaves nothing. */
    CHECK(tr_db_begin(db, &err) == 0);
    for (int i = 100; i < 110; i++) {
        struct tr_input in = input_of(report_json(i), "batch");
        CHECK(tr_ingest_input(&o, &sink, &in, NULL, &c, &err) == 0);
    }
    tr_db_rollback(db);
    CHECK_INT(count(db, "SELECT count(*) FROM report"), 40);
    CHECK_INT(count(db, "SELECT count(*) FROM policy"), 40);
    tr_db_close(db);
    free(path);
}

/* A store failure in the middle of a report leaves none of its rows.  A
 * refusal of the rows (a trigger's RAISE(ABORT): a constraint) quarantines
 * the report as db-refused; when that is refused too, or the database
 * fails otherwise, tr_ingest_input says so (-1) so the caller keeps the
 * input. */
static void test_whole_or_nothing(void)
{
    char *path = xasprintf("%s/w.db", tmpdir);
    struct tr_ingest_opts o;
    struct tr_sink sink;
    struct tr_counts c = { 0, 0, 0, 0 };
    struct tr_db *db;
    struct tr_err err;
    struct tr_input in = input_of(report_json(7), "w");

    tr_ingest_opts_default(&o);
    CHECK(tr_db_open(path, 0, &db, &err) == 0);
    tr_db_sink(&sink, db);
    /* Failure details cannot be inserted: the report row must go too. */
    CHECK(sqlite3_exec(tr_db_handle(db),
                       "CREATE TRIGGER no_failures BEFORE INSERT ON failure "
                       "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(tr_ingest_input(&o, &sink, &in, NULL, &c, &err) == 0);
    CHECK_INT(count(db, "SELECT count(*) FROM report"), 0);
    CHECK_INT(count(db, "SELECT count(*) FROM policy"), 0);
    CHECK_INT(count(db, "SELECT count(*) FROM quarantine WHERE reason = 'db-refused' "
                        "AND message LIKE '%disk on fire%'"), 1);
    CHECK_INT(c.stored, 0);
    CHECK_INT(c.quarantined, 1);
    /* The quarantine row refused as well: nothing written, -1. */
    CHECK(sqlite3_exec(tr_db_handle(db),
                       "CREATE TRIGGER no_quarantine BEFORE INSERT ON quarantine "
                       "BEGIN SELECT RAISE(ABORT, 'no room either'); END", NULL, NULL, NULL) == SQLITE_OK);
    in = input_of(report_json(6), "w");
    CHECK(tr_ingest_input(&o, &sink, &in, NULL, &c, &err) == -1);
    CHECK_STR(err.code, TR_E_DB_REFUSED);
    CHECK(strstr(err.detail, "no room either") != NULL);
    CHECK_INT(count(db, "SELECT count(*) FROM report"), 0);
    CHECK_INT(count(db, "SELECT count(*) FROM quarantine"), 1);
    /* Any other failure (a run-time SQL error here): -1 with TR_E_DB. */
    CHECK(sqlite3_exec(tr_db_handle(db),
                       "DROP TRIGGER no_quarantine; DROP TRIGGER no_failures; "
                       "CREATE TRIGGER no_failures BEFORE INSERT ON failure "
                       "BEGIN SELECT json('disk on fire'); END", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(tr_ingest_input(&o, &sink, &in, NULL, &c, &err) == -1);
    CHECK_STR(err.code, TR_E_DB);
    CHECK_INT(count(db, "SELECT count(*) FROM report"), 0);
    CHECK_INT(count(db, "SELECT count(*) FROM policy"), 0);
    CHECK_INT(c.stored, 0);

    /* The same inside a batch: the savepoint goes, the batch survives. */
    CHECK(tr_db_begin(db, &err) == 0);
    CHECK(sqlite3_exec(tr_db_handle(db), "DROP TRIGGER no_failures", NULL, NULL, NULL) == SQLITE_OK);
    in = input_of(report_json(8), "w");
    CHECK(tr_ingest_input(&o, &sink, &in, NULL, &c, &err) == 0);
    CHECK(sqlite3_exec(tr_db_handle(db),
                       "CREATE TRIGGER no_failures BEFORE INSERT ON failure "
                       "BEGIN SELECT json('disk on fire'); END", NULL, NULL, NULL) == SQLITE_OK);
    in = input_of(report_json(9), "w");
    CHECK(tr_ingest_input(&o, &sink, &in, NULL, &c, &err) == -1);
    CHECK(tr_db_commit(db, &err) == 0);
    CHECK_INT(count(db, "SELECT count(*) FROM report"), 1);
    CHECK_INT(count(db, "SELECT count(*) FROM report WHERE report_id = 'id-8'"), 1);
    CHECK_INT(count(db, "SELECT count(*) FROM policy"), 1);
    tr_db_close(db);
    free(path);
}

/* A refusal met inside the rollup sums (tr_rollup_add: a trigger on a
 * rollup table) is classified like one on the report's own rows: the
 * report is quarantined as db-refused and the input counted, not handed
 * back as a retryable failure (which a spool would retry forever). */
static void test_rollup_refused(void)
{
    char *path = xasprintf("%s/ru.db", tmpdir);
    struct tr_ingest_opts o;
    struct tr_sink sink;
    struct tr_counts c = { 0, 0, 0, 0 };
    struct tr_db *db;
    struct tr_err err;
    struct tr_input in = input_of(report_json(11), "ru");

    tr_ingest_opts_default(&o);
    CHECK(tr_db_open(path, 0, &db, &err) == 0);
    tr_db_sink(&sink, db);
    CHECK(sqlite3_exec(tr_db_handle(db),
                       "CREATE TRIGGER no_org BEFORE INSERT ON dim_org WHEN NEW.name = 'Org 11' "
                       "BEGIN SELECT RAISE(ABORT, 'org refused'); END", NULL, NULL, NULL) == SQLITE_OK);
    tr_err_clear(&err);
    CHECK_INT(tr_ingest_input(&o, &sink, &in, NULL, &c, &err), 0);
    CHECK_INT(c.quarantined, 1);
    CHECK_INT(c.stored, 0);
    CHECK_INT(count(db, "SELECT count(*) FROM report"), 0);
    CHECK_INT(count(db, "SELECT count(*) FROM quarantine WHERE reason = 'db-refused' "
                        "AND message LIKE '%org refused%'"), 1);
    /* The same inside a batch: the batch's other report survives. */
    CHECK(tr_db_begin(db, &err) == 0);
    in = input_of(report_json(12), "ru");
    CHECK_INT(tr_ingest_input(&o, &sink, &in, NULL, &c, &err), 0);
    in = input_of(report_json(11), "ru2");
    CHECK_INT(tr_ingest_input(&o, &sink, &in, NULL, &c, &err), 0);
    CHECK(tr_db_commit(db, &err) == 0);
    CHECK_INT(c.stored, 1);
    CHECK_INT(count(db, "SELECT count(*) FROM report WHERE report_id = 'id-12'"), 1);
    CHECK_INT(count(db, "SELECT count(*) FROM roll_pending"), 0);
    tr_db_close(db);
    free(path);
}

static void test_readonly(void)
{
    char *path = xasprintf("%s/r.db", tmpdir);
    struct tr_db *db;
    struct tr_err err;

    CHECK(tr_db_open(path, 0, &db, &err) == 0);
    tr_db_close(db);
    CHECK(tr_db_open(path, TR_DB_READONLY, &db, &err) == 0);
    CHECK_INT(count(db, "SELECT count(*) FROM report"), 0);
    tr_db_close(db);
    free(path);
    path = xasprintf("%s/missing/dir/x.db", tmpdir);
    CHECK(tr_db_open(path, 0, &db, &err) == -1);
    CHECK_STR(err.code, TR_E_DB);
    free(path);
}

static void test_default_path(void)
{
    unsetenv("TLSRPT_DB");
    CHECK_STR(tr_db_default_path("x.db"), "x.db");
    CHECK_STR(tr_db_default_path(NULL), TLSRPT_DEFAULT_DB);
    setenv("TLSRPT_DB", "/env.db", 1);
    CHECK_STR(tr_db_default_path(NULL), "/env.db");
    CHECK_STR(tr_db_default_path("cli.db"), "cli.db");
    unsetenv("TLSRPT_DB");
}

int main(void)
{
    char *cmd;

    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    tr_mime_init();
    test_open_and_migrate();
    test_store_dedup();
    test_batch();
    test_whole_or_nothing();
    test_rollup_refused();
    test_readonly();
    test_default_path();
    cmd = xasprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    free(cmd);
    return check_done();
}
