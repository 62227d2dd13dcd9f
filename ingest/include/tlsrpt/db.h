/*
 * db.h - the SQLite store: open with migrations, store reports whole or not
 * at all, dedup, quarantine.
 *
 * A struct tr_db is one connection; use it from one thread at a time.
 * Every statement is prepared once per connection and bound; no SQL is ever
 * built from data.
 */
#ifndef TLSRPT_DB_H
#define TLSRPT_DB_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "tlsrpt/report.h"
#include "tlsrpt/util.h"

/* Where a report or a quarantined input came from.  All borrowed. */
struct tr_provenance {
    const char *source;            /* file path, "path:N", "stdin", "spool:NAME" */
    const char *message_id;
    const char *report_domain;     /* TLS-Report-Domain header */
    const char *report_submitter;  /* TLS-Report-Submitter header */
    const char *attachment_name;
    const char *dkim;              /* tr_dkim_name(): "pass", "fail", "none" or NULL */
    int64_t received_time;
    /* The report as sent when it arrived gzip-compressed (tr_gunzip of
     * these bytes is the JSON): stored as they are instead of deflating
     * the JSON again.  NULL otherwise; borrowed. */
    const unsigned char *sent_gz;
    size_t sent_gz_len;
};

struct tr_db;

#define TR_DB_READONLY 1
#define TR_DB_BUSY_TIMEOUT_MS 5000

/* Opens (creating it and its directory's file if needed, mode 0640) and
 * migrates to the current schema; WAL mode, foreign keys on.  *out is
 * caller-owned (tr_db_close).  Errors: TR_E_DB with SQLite's message. */
int tr_db_open(const char *path, int flags, struct tr_db **out, struct tr_err *err);
void tr_db_close(struct tr_db *db);            /* NULL is a no-op */
sqlite3 *tr_db_handle(struct tr_db *db);       /* borrowed */

/* The database path: --db value if given, else $TLSRPT_DB, else the
 * compiled-in default.  Borrowed. */
const char *tr_db_default_path(const char *cli_value);

/* Batches (bulk imports): reports stored between begin and commit share one
 * transaction; each report is still all-or-nothing (a savepoint). */
int tr_db_begin(struct tr_db *db, struct tr_err *err);
int tr_db_commit(struct tr_db *db, struct tr_err *err);
void tr_db_rollback(struct tr_db *db);

enum { TR_STORED = 1, TR_DUPLICATE = 2, TR_QUARANTINED = 3, TR_CONFLICTING = 4 };

/* Stores r with its provenance and the JSON as sent (compressed).  Returns
 * TR_STORED, TR_DUPLICATE (same org + report-id + range already present
 * with the same content: nothing written), TR_CONFLICTING (the same key
 * but different content, conflict.h: the stored report kept, this one
 * quarantined as TR_E_CONFLICTING_DUPLICATE with the fields that differ),
 * TR_QUARANTINED (the database refused the report's rows,
 * a constraint or a trigger of its own: the JSON went to the quarantine
 * with reason TR_E_DB_REFUSED and SQLite's message instead, so that a
 * --retry-quarantine can store it once the cause is gone), or -1 with err
 * (nothing written; TR_E_DB_REFUSED when even the quarantine row was
 * refused). */
int tr_db_store_report(struct tr_db *db, const struct tr_report *r, const struct tr_provenance *p,
                       const unsigned char *raw_json, size_t raw_len, struct tr_err *err);

/* The same with the JSON already compressed (tr_zblob_deflate or
 * tr_zdeflate of the raw_len bytes as sent; raw_z borrowed), so a caller
 * can compress in another thread than the one that owns db. */
int tr_db_store_report_z(struct tr_db *db, const struct tr_report *r, const struct tr_provenance *p,
                         const unsigned char *raw_z, size_t z_len, size_t raw_len,
                         struct tr_err *err);

/* Records an input that yielded no report.  raw is stored compressed, at
 * most raw_len bytes; full_len is the input's real size (raw_truncated set
 * when larger).  The same bytes quarantined again bump times_seen.
 * Returns 0 or -1 with err. */
int tr_db_quarantine(struct tr_db *db, const struct tr_provenance *p, const char *code,
                     const char *detail, const unsigned char *raw, size_t raw_len,
                     size_t full_len, struct tr_err *err);

/* The store's one classification of an SQLite failure on h (db.c and
 * rollup.c): sets err to TR_E_DB_REFUSED when the database refused the
 * statement's rows (SQLITE_CONSTRAINT, including a trigger's RAISE, or
 * SQLITE_TOOBIG: a retry would meet it again), else TR_E_DB (locked,
 * full, read-only, I/O: retryable), with "what: SQLite's message".
 * Returns -1. */
int tr_db_fail(sqlite3 *h, struct tr_err *err, const char *what);

/* Marks a quarantine row resolved (a retry stored its report). */
int tr_db_quarantine_resolve(struct tr_db *db, int64_t id, struct tr_err *err);

#endif
