/*
 * fuzz_ingest.c - the whole ingest of one input (a message, gzip, zip or
 * JSON file) into a fresh in-memory database with the database sink.
 *
 * Invariants: ingest never fails on a working database; every input has
 * at least one outcome; the report table holds exactly the stored reports,
 * each with at least one policy; ingesting the same input again stores
 * nothing new (every report a duplicate, every quarantine the same entry
 * seen once more); the database stays consistent (foreign keys,
 * quick_check) and so do the rollups folded at commit (check_rollups).
 */
#include "fuzz.h"
#include "tlsrpt/db.h"
#include "tlsrpt/ingest.h"
#include "tlsrpt/mime.h"

#include <sqlite3.h>
#include <string.h>

/* One in-memory database for the process (migrations are costly); each
 * input leaves it empty again. */
static struct tr_db *g_db;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct tr_err err;
    tr_mime_init();
    FUZZ_CHECK(tr_db_open(":memory:", 0, &g_db, &err) == 0);
    return 0;
}

static int64_t q1(struct tr_db *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v;
    FUZZ_CHECK(sqlite3_prepare_v2(tr_db_handle(db), sql, -1, &st, NULL) == SQLITE_OK);
    FUZZ_CHECK(sqlite3_step(st) == SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *qtext(struct tr_db *db, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *st;
    FUZZ_CHECK(sqlite3_prepare_v2(tr_db_handle(db), sql, -1, &st, NULL) == SQLITE_OK);
    buf[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

/*
 * The rollup tables (schema 002, folded at commit by 003) against the raw rows:
 * each report counted once, each failure detail once at every granularity
 * that has days; after every report is deleted, nothing is left.  Skipped
 * when the schema has no rollups.
 */
static void check_rollups(struct tr_db *db, int emptied)
{
    if (q1(db, "SELECT count(*) FROM sqlite_master WHERE name = 'roll_sess'") == 0)
        return;
    if (!emptied) {
        int64_t failures = q1(db, "SELECT count(*) FROM failure");
        FUZZ_CHECK(q1(db, "SELECT count(*) FROM roll_policy") == q1(db, "SELECT count(*) FROM policy"));
        FUZZ_CHECK(q1(db, "SELECT coalesce(sum(r), 0) FROM roll_sess WHERE g = 0")
                   == q1(db, "SELECT count(*) FROM report"));
        FUZZ_CHECK(q1(db, "SELECT coalesce(sum(c), 0) FROM roll_fail") == failures);
        FUZZ_CHECK(q1(db, "SELECT coalesce(sum(c), 0) FROM roll_fail_mx WHERE g = 0") == failures);
        FUZZ_CHECK(q1(db, "SELECT coalesce(sum(c), 0) FROM roll_fail_ip WHERE g = 0") == failures);
        return;
    }
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM roll_policy") == 0);
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM roll_multidom") == 0);
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM roll_sess WHERE n <> 0 OR r <> 0 OR ok <> 0 OR bad <> 0") == 0);
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM roll_fail WHERE c <> 0 OR n <> 0 OR d <> 0") == 0);
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM roll_fail_mx WHERE c <> 0 OR n <> 0 OR d <> 0") == 0);
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM roll_fail_ip WHERE c <> 0 OR n <> 0 OR d <> 0") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char trusted[] = "mx.example.net";
    struct tr_ingest_opts o;
    struct tr_sink sink;
    struct tr_input in;
    struct tr_provenance base;
    struct tr_counts c1 = { 0, 0, 0, 0 }, c2 = { 0, 0, 0, 0 };
    struct tr_err err;
    int64_t reports, quarantined;
    int batch;
    struct tr_db *db;
    char buf[64];
    uint8_t *copy = malloc(size ? size : 1);

    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    tr_ingest_opts_default(&o);
    o.limits.message_size = (size_t)1 << 20;
    o.limits.inflated_size = (size_t)1 << 20;
    o.limits.policies = 64;
    o.limits.failure_details = 4096;
    o.limits.string_length = 4096;
    o.limits.mime_parts = 64;
    o.trusted_authserv[0] = trusted;
    o.n_trusted_authserv = 1;

    memset(&in, 0, sizeof in);
    in.source = "fuzz";
    in.data = copy;
    in.len = in.full_len = size;
    in.mtime = 1700000000;
    memset(&base, 0, sizeof base);
    base.received_time = 1700000000;

    /* Odd sizes go through a batch (each report a savepoint, as the CLI
     * does), even sizes store each report in its own transaction. */
    batch = size & 1;
    if (g_db == NULL)
        LLVMFuzzerInitialize(NULL, NULL);
    db = g_db;
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM report") == 0);
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM quarantine") == 0);
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM policy") == 0);
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM failure") == 0);
    memset(&sink, 0, sizeof sink);
    tr_db_sink(&sink, db);
    if (batch)
        FUZZ_CHECK(tr_db_begin(db, &err) == 0);

    if (tr_ingest_input(&o, &sink, &in, &base, &c1, &err) < 0) {
        fprintf(stderr, "ingest failed: %s: %s\n", err.code, err.detail);
        FUZZ_CHECK(!"ingest into a working database succeeds");
    }
    FUZZ_CHECK(c1.stored >= 0 && c1.duplicates >= 0 && c1.quarantined >= 0);
    FUZZ_CHECK(c1.stored + c1.duplicates + c1.quarantined >= 1);
    reports = q1(db, "SELECT count(*) FROM report");
    quarantined = q1(db, "SELECT count(*) FROM quarantine");
    FUZZ_CHECK(reports == c1.stored);
    FUZZ_CHECK(quarantined <= c1.quarantined && (quarantined > 0) == (c1.quarantined > 0));
    FUZZ_CHECK(q1(db, "SELECT coalesce(sum(times_seen), 0) FROM quarantine") == c1.quarantined);
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM report WHERE id NOT IN (SELECT report FROM policy)") == 0);
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM report WHERE end_time <= start_time") == 0);

    /* The same input again: nothing new. */
    if (tr_ingest_input(&o, &sink, &in, &base, &c2, &err) < 0) {
        fprintf(stderr, "second ingest failed: %s: %s\n", err.code, err.detail);
        FUZZ_CHECK(!"ingest into a working database succeeds");
    }
    FUZZ_CHECK(c2.stored == 0);
    FUZZ_CHECK(c2.duplicates == c1.stored + c1.duplicates);
    FUZZ_CHECK(c2.quarantined == c1.quarantined);
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM report") == reports);
    FUZZ_CHECK(q1(db, "SELECT count(*) FROM quarantine") == quarantined);
    FUZZ_CHECK(q1(db, "SELECT coalesce(sum(times_seen), 0) FROM quarantine") == 2 * c1.quarantined);

    FUZZ_CHECK(q1(db, "SELECT count(*) FROM pragma_foreign_key_check") == 0);
    if (batch) {
        FUZZ_CHECK(tr_db_commit(db, &err) == 0);
        FUZZ_CHECK(q1(db, "SELECT count(*) FROM report") == reports);
    }
    FUZZ_CHECK(strcmp(qtext(db, "PRAGMA quick_check", buf, sizeof buf), "ok") == 0);
    check_rollups(db, 0);
    /* Policies and failure details go with their report (ON DELETE CASCADE). */
    if (sqlite3_exec(tr_db_handle(db), "DELETE FROM report; DELETE FROM quarantine;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "emptying the database: %s\n", sqlite3_errmsg(tr_db_handle(db)));
        FUZZ_CHECK(!"the database can be emptied after an input");
    }
    check_rollups(db, 1);
    free(copy);
    return 0;
}
