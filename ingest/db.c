/*
 * db.c - the SQLite store.
 *
 * Opening a database applies the embedded migrations (schema.h) one
 * transaction each, then sets WAL mode and foreign keys.  Storing a report
 * is all-or-nothing: outside a batch it is its own IMMEDIATE transaction,
 * inside a batch (tr_db_begin .. tr_db_commit) it is a savepoint that is
 * rolled back alone if any of its rows fails.  Duplicates are detected by
 * the UNIQUE dedup key (org, report-id, start, end) with INSERT .. ON
 * CONFLICT DO NOTHING, so two processes storing the same report at once
 * still end with one row.
 *
 * Every statement is prepared once per connection and kept in struct
 * tr_db; values are always bound, never spliced into SQL.  That includes
 * the per-report SAVEPOINT/RELEASE pair (sqlite3_exec would parse them
 * for every report).
 *
 * Speed (see BENCHMARKS.md): a report that arrived gzip-compressed is kept
 * as the sender's gzip bytes (tr_provenance.sent_gz; tr_zinflate reads
 * both); for any other the connection keeps a tr_zblob (gunzip.h)
 * for the JSON as sent, reset per report instead of allocated, zeroed and
 * freed (compress2), which was a third of the time of a bulk import; and a page cache large enough that a batch's dirty
 * pages are written to the WAL once, at commit, not spilled early; and
 * temp_store = MEMORY, which keeps each report's savepoint sub-journal (the
 * original of every page the report touches, ~9 pages) in memory: in a
 * temporary file it was 350 MB of pwrite() per 10,000 reports.
 *
 * Rollups: each stored report's contributions are summed in memory
 * (rollup.c) and written with one upsert per rollup key just before the
 * transaction commits; the same statement then folds reports that other
 * writers left queued (schema/003-rollup-fold.sql).  The transaction's
 * duplicates are added to ingest_total (schema/012) by the same commit.
 */
#include "tlsrpt/db.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/conflict.h"
#include "tlsrpt/gunzip.h"
#include "tlsrpt/rollup.h"
#include "tlsrpt/schema.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define TR_STR_(x) #x
#define TR_STR(x) TR_STR_(x)

/* Bumped when the parser's normalization changes, so rows stored by an
 * older version can be found and re-parsed from raw_json_z. */
#define TR_PARSER_VERSION 1

/* Page cache of a writing connection, in KiB (SQLite's default is 2 MiB):
 * a --batch of 1000 typical reports dirties ~3 MiB of pages. */
#define TR_DB_CACHE_KIB 32768

/* Failure details per multi-row INSERT (9 parameters each): one statement
 * step for TR_DB_FAILURE_CHUNK rows instead of one per row. */
#define TR_DB_FAILURE_CHUNK 8

enum stmt_id {
    ST_INSERT_REPORT,
    ST_INSERT_POLICY,
    ST_INSERT_FAILURE,
    ST_INSERT_FAILURES,
    ST_QUARANTINE,
    ST_RESOLVE,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_FOLD,
    ST_DUPLICATES,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_INSERT_REPORT] =
        "INSERT INTO report (org_name, report_id, start_time, end_time, contact_info,"
        " received_time, source, message_id, hdr_report_domain, hdr_report_submitter,"
        " attachment_name, dkim, warnings, raw_json_z, raw_json_size, parser_version)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        " ON CONFLICT (org_name, report_id, start_time, end_time) DO NOTHING",
    [ST_INSERT_POLICY] =
        "INSERT INTO policy (report, idx, policy_type, policy_domain, policy_strings, mx_hosts,"
        " successful_sessions, failed_sessions) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_INSERT_FAILURE] =
        "INSERT INTO failure (policy, result_type, sending_mta_ip, receiving_mx_hostname,"
        " receiving_mx_helo, receiving_ip, failed_sessions, additional_information,"
        " failure_reason_code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    /* The same, TR_DB_FAILURE_CHUNK rows (the VALUES rows are added at
     * prepare time: prepare_failures). */
    [ST_INSERT_FAILURES] =
        "INSERT INTO failure (policy, result_type, sending_mta_ip, receiving_mx_hostname,"
        " receiving_mx_helo, receiving_ip, failed_sessions, additional_information,"
        " failure_reason_code) VALUES ",
    [ST_QUARANTINE] =
        "INSERT INTO quarantine (first_seen, last_seen, source, message_id, hdr_report_domain,"
        " hdr_report_submitter, attachment_name, reason, message, digest, raw_z, raw_size,"
        " raw_truncated) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        " ON CONFLICT (digest) DO UPDATE SET last_seen = excluded.last_seen,"
        " times_seen = times_seen + 1, reason = excluded.reason, message = excluded.message",
    [ST_RESOLVE] =
        "UPDATE quarantine SET resolved_time = ?2 WHERE id = ?1",
    [ST_SAVEPOINT] = "SAVEPOINT report",
    [ST_RELEASE] = "RELEASE report",
    /* Folds the reports stored in this transaction into the rollups
     * (schema/003-rollup-fold.sql): set-based, once per commit. */
    [ST_FOLD] = "UPDATE roll_state SET folds = folds + 1 WHERE id = 1"
                " AND EXISTS (SELECT 1 FROM roll_pending)",
    /* The transaction's duplicates, once per commit (schema/012). */
    [ST_DUPLICATES] = "UPDATE ingest_total SET duplicates = duplicates + ?1 WHERE id = 1",
};

struct tr_db {
    sqlite3 *h;
    sqlite3_stmt *st[ST_COUNT];
    int in_batch;
    struct tr_zblob *zb;        /* owned: compressor of the stored blobs, reused */
    struct tr_rollup *ru;       /* owned: rollup sums of the open transaction */
    int64_t duplicates;         /* TR_DUPLICATE outcomes of the open transaction */
};

/* See db.h: TR_E_DB_REFUSED when the database refused the statement's own
 * rows (a constraint, a trigger's RAISE, a value too big): the same rows
 * would be refused every time, unlike a locked, full or read-only
 * database, which a retry can get past (TR_E_DB). */
int tr_db_fail(sqlite3 *h, struct tr_err *err, const char *what)
{
    int primary = sqlite3_errcode(h) & 0xff;
    tr_err_set(err, primary == SQLITE_CONSTRAINT || primary == SQLITE_TOOBIG ? TR_E_DB_REFUSED : TR_E_DB,
               "%s: %s", what, sqlite3_errmsg(h));
    return -1;
}

static int db_fail(struct tr_db *db, struct tr_err *err, const char *what)
{
    return tr_db_fail(db->h, err, what);
}

static int exec(struct tr_db *db, const char *sql, struct tr_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        /* SQLite's message first, then the statement's first line (a
         * migration's names its version): the whole text would bury it. */
        tr_err_set(err, TR_E_DB, "%s (in: %.*s)", msg ? msg : sqlite3_errmsg(db->h),
                   (int)strcspn(sql, "\n"), sql);
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int user_version(struct tr_db *db, int *out, struct tr_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading the schema version");
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_fail(db, err, "reading the schema version");
    }
    *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* Brings the schema up to tr_schema_version, one transaction per step. */
static int migrate(struct tr_db *db, int readonly, struct tr_err *err)
{
    int v;

    if (user_version(db, &v, err) < 0)
        return -1;
    if (v > tr_schema_version) {
        tr_err_set(err, TR_E_DB, "database schema version %d is newer than this program's (%d)",
                   v, tr_schema_version);
        return -1;
    }
    if (v < tr_schema_version && readonly) {
        tr_err_set(err, TR_E_DB, "database schema version %d needs upgrading to %d; "
                   "open it once with tlsrpt-ingest", v, tr_schema_version);
        return -1;
    }
    while (v < tr_schema_version) {
        char pragma[64];
        int now;

        if (exec(db, "BEGIN IMMEDIATE", err) < 0)
            return -1;
        /* Another process may have migrated while we waited for the lock. */
        if (user_version(db, &now, err) < 0 || now != v) {
            exec(db, "ROLLBACK", NULL);
            if (err->code)
                return -1;
            v = now;
            continue;
        }
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (exec(db, tr_schema_migrations[v], err) < 0 || exec(db, pragma, err) < 0) {
            exec(db, "ROLLBACK", NULL);
            return -1;
        }
        if (exec(db, "COMMIT", err) < 0) {
            exec(db, "ROLLBACK", NULL);
            return -1;
        }
        v++;
    }
    return 0;
}

/* Creates the file with mode 0640 so the database (and its -wal/-shm files,
 * which SQLite creates with the database's mode) is not world-readable. */
static int precreate(const char *path, struct tr_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        tr_err_set(err, TR_E_DB, "%s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

/* ST_INSERT_FAILURES with its TR_DB_FAILURE_CHUNK rows of parameters;
 * caller frees. */
static char *failures_sql(void)
{
    const char *row = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
    size_t head = strlen(stmt_sql[ST_INSERT_FAILURES]), rl = strlen(row);
    char *sql = xmalloc(head + TR_DB_FAILURE_CHUNK * (rl + 2) + 1), *o = sql;

    memcpy(o, stmt_sql[ST_INSERT_FAILURES], head);
    o += head;
    for (int r = 0; r < TR_DB_FAILURE_CHUNK; r++) {
        if (r > 0) {
            memcpy(o, ", ", 2);
            o += 2;
        }
        memcpy(o, row, rl);
        o += rl;
    }
    *o = '\0';
    return sql;
}

int tr_db_open(const char *path, int flags, struct tr_db **out, struct tr_err *err)
{
    struct tr_db *db = xcalloc(1, sizeof *db);
    int readonly = (flags & TR_DB_READONLY) != 0;
    int oflags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

    *out = NULL;
    if (!readonly && strcmp(path, ":memory:") != 0 && precreate(path, err) < 0) {
        free(db);
        return -1;
    }
    if (sqlite3_open_v2(path, &db->h, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        tr_err_set(err, TR_E_DB, "%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "cannot open");
        tr_db_close(db);
        return -1;
    }
    sqlite3_extended_result_codes(db->h, 1);
    sqlite3_busy_timeout(db->h, TR_DB_BUSY_TIMEOUT_MS);
    /* synchronous=FULL: a report whose spool entry is removed after the
     * commit must survive a power loss. */
    if ((!readonly && (exec(db, "PRAGMA journal_mode = WAL", err) < 0 ||
                       exec(db, "PRAGMA cache_size = -" TR_STR(TR_DB_CACHE_KIB), err) < 0 ||
                       exec(db, "PRAGMA temp_store = MEMORY", err) < 0)) ||
        exec(db, "PRAGMA foreign_keys = ON", err) < 0 ||
        exec(db, "PRAGMA synchronous = FULL", err) < 0 ||
        migrate(db, readonly, err) < 0) {
        tr_db_close(db);
        return -1;
    }
    if (!readonly) {
        for (int i = 0; i < ST_COUNT; i++) {
            char *sql = i == ST_INSERT_FAILURES ? failures_sql() : NULL;
            int rc = sqlite3_prepare_v3(db->h, sql ? sql : stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                        &db->st[i], NULL);
            free(sql);
            if (rc != SQLITE_OK) {
                db_fail(db, err, "preparing statements");
                tr_db_close(db);
                return -1;
            }
        }
        db->zb = tr_zblob_new();
        db->ru = tr_rollup_new(db->h, err);
        if (db->ru == NULL) {
            tr_db_close(db);
            return -1;
        }
    }
    *out = db;
    return 0;
}

void tr_db_close(struct tr_db *db)
{
    if (db == NULL)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(db->st[i]);
    tr_rollup_free(db->ru);
    sqlite3_close(db->h);
    tr_zblob_free(db->zb);
    free(db);
}

sqlite3 *tr_db_handle(struct tr_db *db)
{
    return db->h;
}

const char *tr_db_default_path(const char *cli_value)
{
    const char *env;
    if (cli_value && *cli_value)
        return cli_value;
    env = getenv("TLSRPT_DB");
    if (env && *env)
        return env;
    return TLSRPT_DEFAULT_DB;
}

int tr_db_begin(struct tr_db *db, struct tr_err *err)
{
    if (exec(db, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    db->in_batch = 1;
    return 0;
}

/*
 * SQLite goes on writing into a database file that was deleted or renamed
 * under it, and a commit "succeeds" into a file nobody will open again: the
 * caller would then drop the input (a spool entry, say) as stored.  Checked
 * before every commit; fails with TR_E_DB.
 */
static int check_not_moved(struct tr_db *db, struct tr_err *err)
{
    int moved = 0;
    if (sqlite3_file_control(db->h, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved) {
        tr_err_set(err, TR_E_DB, "the database file was deleted or renamed while in use");
        return -1;
    }
    return 0;
}

static int step_done(struct tr_db *db, sqlite3_stmt *st, struct tr_err *err, const char *what);

/* Ends the open transaction: folds its reports into the rollups, checks
 * the file is still there, commits.  Rolls back on failure. */
static int fold_and_commit(struct tr_db *db, struct tr_err *err)
{
    int64_t dups = db->duplicates;

    db->in_batch = 0;
    db->duplicates = 0;
    if (dups > 0)
        sqlite3_bind_int64(db->st[ST_DUPLICATES], 1, dups);
    if ((dups > 0 && step_done(db, db->st[ST_DUPLICATES], err, "counting duplicates") < 0) ||
        tr_rollup_flush(db->ru, err) < 0 ||
        step_done(db, db->st[ST_FOLD], err, "updating the rollups") < 0 ||
        check_not_moved(db, err) < 0 || exec(db, "COMMIT", err) < 0) {
        tr_db_rollback(db);
        return -1;
    }
    return 0;
}

int tr_db_commit(struct tr_db *db, struct tr_err *err)
{
    return fold_and_commit(db, err);
}

void tr_db_rollback(struct tr_db *db)
{
    db->in_batch = 0;
    db->duplicates = 0;
    tr_rollup_discard(db->ru, 0);
    if (!sqlite3_get_autocommit(db->h))
        exec(db, "ROLLBACK", NULL);
}

/* Binds a string or NULL. */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Steps an INSERT/UPDATE to completion and resets it.  Its bindings are
 * kept, not cleared: every statement here has all its parameters bound
 * before each step (clearing 29,000 statements' parameters was 1% of a
 * bulk import), and SQLite reads bound values only while stepping. */
static int step_done(struct tr_db *db, sqlite3_stmt *st, struct tr_err *err, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(db, err, what);
    return 0;
}

/* Inserts the policy rows and their failure details of report row rid. */
static int insert_policies(struct tr_db *db, sqlite3_int64 rid, const struct tr_report *r,
                           sqlite3_int64 *pids, struct tr_err *err)
{
    sqlite3_stmt *sp = db->st[ST_INSERT_POLICY], *sf = db->st[ST_INSERT_FAILURE];
    sqlite3_stmt *sm = db->st[ST_INSERT_FAILURES];

    for (size_t i = 0; i < r->n_policies; i++) {
        const struct tr_policy *p = &r->policies[i];
        char *strings = tr_strings_to_json(p->policy_strings, p->n_policy_strings);
        char *mx = tr_strings_to_json(p->mx_hosts, p->n_mx_hosts);
        sqlite3_int64 pid;
        int rc;

        sqlite3_bind_int64(sp, 1, rid);
        sqlite3_bind_int64(sp, 2, (sqlite3_int64)i);
        bind_text(sp, 3, p->policy_type);
        bind_text(sp, 4, p->policy_domain);
        bind_text(sp, 5, strings);
        bind_text(sp, 6, mx);
        sqlite3_bind_int64(sp, 7, p->successful_sessions);
        sqlite3_bind_int64(sp, 8, p->failed_sessions);
        rc = step_done(db, sp, err, "storing a policy");
        free(strings);
        free(mx);
        if (rc < 0)
            return -1;
        pid = sqlite3_last_insert_rowid(db->h);
        pids[i] = pid;
        for (size_t k = 0; k < p->n_failures;) {
            /* TR_DB_FAILURE_CHUNK rows per step while that many are left. */
            size_t rows = p->n_failures - k >= TR_DB_FAILURE_CHUNK ? TR_DB_FAILURE_CHUNK : 1;
            sqlite3_stmt *st = rows > 1 ? sm : sf;
            for (size_t row = 0; row < rows; row++, k++) {
                const struct tr_failure *f = &p->failures[k];
                int c = (int)(9 * row);
                sqlite3_bind_int64(st, c + 1, pid);
                bind_text(st, c + 2, f->result_type);
                bind_text(st, c + 3, f->sending_mta_ip);
                bind_text(st, c + 4, f->receiving_mx_hostname);
                bind_text(st, c + 5, f->receiving_mx_helo);
                bind_text(st, c + 6, f->receiving_ip);
                sqlite3_bind_int64(st, c + 7, f->failed_sessions);
                bind_text(st, c + 8, f->additional_information);
                bind_text(st, c + 9, f->failure_reason_code);
            }
            if (step_done(db, st, err, "storing a failure detail") < 0)
                return -1;
        }
    }
    return 0;
}

/* The report row itself.  Returns TR_STORED with *rid set, TR_DUPLICATE, or -1. */
static int insert_report(struct tr_db *db, const struct tr_report *r, const struct tr_provenance *p,
                         const unsigned char *z, size_t zlen, size_t raw_len,
                         sqlite3_int64 *rid, struct tr_err *err)
{
    sqlite3_stmt *st = db->st[ST_INSERT_REPORT];
    char *warnings = tr_report_warnings_string(r);
    int rc;

    bind_text(st, 1, r->organization_name);
    bind_text(st, 2, r->report_id);
    sqlite3_bind_int64(st, 3, r->start);
    sqlite3_bind_int64(st, 4, r->end);
    bind_text(st, 5, r->contact_info);
    sqlite3_bind_int64(st, 6, p->received_time ? p->received_time : (int64_t)time(NULL));
    bind_text(st, 7, p->source ? p->source : "unknown");
    bind_text(st, 8, p->message_id);
    bind_text(st, 9, p->report_domain);
    bind_text(st, 10, p->report_submitter);
    bind_text(st, 11, p->attachment_name);
    bind_text(st, 12, p->dkim);
    bind_text(st, 13, warnings[0] ? warnings : NULL);
    sqlite3_bind_blob(st, 14, z, (int)zlen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 15, (sqlite3_int64)raw_len);
    sqlite3_bind_int(st, 16, TR_PARSER_VERSION);
    rc = step_done(db, st, err, "storing a report");
    free(warnings);
    if (rc < 0)
        return -1;
    if (sqlite3_changes(db->h) == 0)
        return TR_DUPLICATE;
    *rid = sqlite3_last_insert_rowid(db->h);
    return TR_STORED;
}

/* A report whose rows the database refused (TR_E_DB_REFUSED in why) is
 * quarantined with that reason instead, so that one report cannot stop an
 * import or block a spool; z is its JSON compressed.  The transaction (if
 * any) is still open, the report's savepoint rolled back.  Returns
 * TR_QUARANTINED or -1 with err. */
static int quarantine_refused(struct tr_db *db, const struct tr_provenance *p, const unsigned char *z,
                              size_t zlen, size_t raw_len, const struct tr_err *why, struct tr_err *err)
{
    unsigned char *raw;
    size_t n;
    int rc;

    if (tr_zinflate(z, zlen, raw_len, &raw, &n, err) < 0)
        return -1;
    rc = tr_db_quarantine(db, p, TR_E_DB_REFUSED, why->detail, raw, n, n, err);
    free(raw);
    return rc < 0 ? -1 : TR_QUARANTINED;
}

/* A duplicate whose normalized content differs from the stored report
 * (conflict.h) is kept as a quarantine entry, reason
 * TR_E_CONFLICTING_DUPLICATE, naming the fields that differ; the stored
 * report stays.  Returns TR_DUPLICATE, TR_CONFLICTING or -1 with err. */
static int quarantine_conflict(struct tr_db *db, const struct tr_report *r, const struct tr_provenance *p,
                               const unsigned char *z, size_t zlen, size_t raw_len, struct tr_err *err)
{
    char what[TR_ERR_DETAIL_MAX];
    unsigned char *raw;
    size_t n;
    int rc = tr_conflict_check(db->h, r, what, sizeof what, err);

    if (rc <= 0)
        return rc < 0 ? -1 : TR_DUPLICATE;
    if (tr_zinflate(z, zlen, raw_len, &raw, &n, err) < 0)
        return -1;
    rc = tr_db_quarantine(db, p, TR_E_CONFLICTING_DUPLICATE, what, raw, n, n, err);
    free(raw);
    return rc < 0 ? -1 : TR_CONFLICTING;
}

/* Stores r with its blob z (zlen bytes, the JSON of raw_len bytes
 * compressed): see tr_db_store_report. */
static int store(struct tr_db *db, const struct tr_report *r, const struct tr_provenance *p,
                 const unsigned char *z, size_t zlen, size_t raw_len, struct tr_err *err)
{
    sqlite3_int64 rid = 0;
    int was_batch = db->in_batch;
    int rc;

    if (zlen > INT32_MAX) {
        tr_err_set(err, TR_E_DB, "compressed report too large to store (%zu bytes)", zlen);
        return -1;
    }
    if (db->in_batch ? step_done(db, db->st[ST_SAVEPOINT], err, "SAVEPOINT report") < 0
                     : exec(db, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    rc = insert_report(db, r, p, z, zlen, raw_len, &rid, err);
    if (rc == TR_DUPLICATE)
        rc = quarantine_conflict(db, r, p, z, zlen, raw_len, err);
    if (rc == TR_STORED) {
        sqlite3_int64 *pids = xcalloc(r->n_policies ? r->n_policies : 1, sizeof *pids);
        if (insert_policies(db, rid, r, pids, err) < 0 || tr_rollup_add(db->ru, rid, pids, r, err) < 0)
            rc = -1;
        free(pids);
    }
    if (rc < 0) {
        if (db->in_batch) {
            /* A failed statement can have ended the whole transaction
             * (SQLITE_FULL, IOERR): then there is no savepoint left. */
            if (sqlite3_get_autocommit(db->h)) {
                db->in_batch = 0;
                db->duplicates = 0;
                tr_rollup_discard(db->ru, 0);
            } else {
                exec(db, "ROLLBACK TO report; RELEASE report", NULL);
                tr_rollup_discard(db->ru, 1);
            }
        } else {
            tr_db_rollback(db);
        }
        /* Not when the refusal ended the whole batch (a trigger's
         * RAISE(ROLLBACK)): the batch's earlier reports are gone too. */
        if (tr_err_is(err, TR_E_DB_REFUSED) && db->in_batch == was_batch) {
            struct tr_err why = *err;
            return quarantine_refused(db, p, z, zlen, raw_len, &why, err);
        }
        return -1;
    }
    if (rc == TR_DUPLICATE)
        db->duplicates++;
    if (db->in_batch) {
        if (step_done(db, db->st[ST_RELEASE], err, "RELEASE report") < 0) {
            tr_db_rollback(db);
            return -1;
        }
    } else if (fold_and_commit(db, err) < 0) {
        return -1;
    }
    return rc;
}

int tr_db_store_report(struct tr_db *db, const struct tr_report *r, const struct tr_provenance *p,
                       const unsigned char *raw_json, size_t raw_len, struct tr_err *err)
{
    const unsigned char *z;     /* borrowed from db->zb or p */
    size_t zlen;

    if (p->sent_gz) {
        z = p->sent_gz;         /* the report as sent: no deflate at all */
        zlen = p->sent_gz_len;
    } else if (tr_zblob_deflate(db->zb, raw_json, raw_len, &z, &zlen, err) < 0) {
        return -1;
    }
    return store(db, r, p, z, zlen, raw_len, err);
}

int tr_db_store_report_z(struct tr_db *db, const struct tr_report *r, const struct tr_provenance *p,
                         const unsigned char *raw_z, size_t z_len, size_t raw_len,
                         struct tr_err *err)
{
    return store(db, r, p, raw_z, z_len, raw_len, err);
}

int tr_db_quarantine(struct tr_db *db, const struct tr_provenance *p, const char *code,
                     const char *detail, const unsigned char *raw, size_t raw_len,
                     size_t full_len, struct tr_err *err)
{
    sqlite3_stmt *st = db->st[ST_QUARANTINE];
    const unsigned char *z = NULL;   /* borrowed from db->zb */
    size_t zlen = 0;
    char *digest;
    int rc;

    if (!db->in_batch && check_not_moved(db, err) < 0)
        return -1;
    if (tr_zblob_deflate(db->zb, raw, raw_len, &z, &zlen, err) < 0)
        return -1;
    if (zlen > INT32_MAX) {
        tr_err_set(err, TR_E_DB, "compressed input too large to store (%zu bytes)", zlen);
        return -1;
    }
    /* The digest names the input; a truncated input also mixes in its full
     * length so that two different oversize inputs with the same first
     * bytes stay apart. */
    {
        GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
        char lenbuf[32];
        g_checksum_update(sum, raw, (gssize)raw_len);
        if (full_len > raw_len) {
            snprintf(lenbuf, sizeof lenbuf, "/%zu", full_len);
            g_checksum_update(sum, (const guchar *)lenbuf, (gssize)strlen(lenbuf));
        }
        digest = xstrdup(g_checksum_get_string(sum));
        g_checksum_free(sum);
    }
    sqlite3_bind_int64(st, 1, p->received_time ? p->received_time : (int64_t)time(NULL));
    bind_text(st, 2, p->source ? p->source : "unknown");
    bind_text(st, 3, p->message_id);
    bind_text(st, 4, p->report_domain);
    bind_text(st, 5, p->report_submitter);
    bind_text(st, 6, p->attachment_name);
    bind_text(st, 7, code);
    bind_text(st, 8, detail ? detail : "");
    bind_text(st, 9, digest);
    sqlite3_bind_blob(st, 10, z, (int)zlen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)full_len);
    sqlite3_bind_int(st, 12, full_len > raw_len);
    rc = step_done(db, st, err, "storing a quarantine entry");
    free(digest);
    return rc;
}

int tr_db_quarantine_resolve(struct tr_db *db, int64_t id, struct tr_err *err)
{
    sqlite3_stmt *st = db->st[ST_RESOLVE];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
    return step_done(db, st, err, "resolving a quarantine entry");
}
