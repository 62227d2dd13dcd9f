/*
 * drain.h - empty a spool (spool.h) into the database, in batches.
 *
 * Used by tlsrpt-milter's worker thread and by `tlsrpt-ingest --spool`;
 * both may drain the same spool at the same time (entries are claimed by
 * lock and rename, see spool.h).  Nothing here prints or exits: callers
 * that want a line per entry pass a tr_drain_log_cb.
 *
 * Outcome of one entry:
 *  - every outcome reached the database (stored, duplicate, quarantined):
 *    the entry is removed (tr_spool_done);
 *  - the same, but the message had been cut at the message-size limit:
 *    the quarantine holds only a prefix, so the entry moves to failed/
 *    (tr_spool_fail) where the whole bytes survive;
 *  - the database refused the rows of a report in it (a constraint or
 *    trigger of its own, TR_E_DB_REFUSED): the report is quarantined with
 *    that reason (db.h) and the entry removed as above; when even the
 *    quarantine row is refused, the entry moves to failed/ and the other
 *    entries of its batch are ingested again, so it cannot block the spool;
 *  - the database could not be written (locked, read-only, full): the
 *    entry goes back to new/ (tr_spool_release) and draining stops with
 *    -1, so the caller backs off and tries again later.
 *
 * Entries are ingested in batches of up to TR_DRAIN_BATCH_MAX, one
 * database transaction each, and settled only after it commits; when the
 * transaction fails, every entry of the batch goes back to new/ (the
 * rollback took all their rows).  Each entry's bytes are freed once
 * ingested, so a batch holds one message in memory at a time.
 */
#ifndef TLSRPT_DRAIN_H
#define TLSRPT_DRAIN_H

#include "tlsrpt/db.h"
#include "tlsrpt/ingest.h"
#include "tlsrpt/spool.h"

#define TR_DRAIN_BATCH_MAX 64   /* entries per transaction (and open fds) */

/* What became of one entry, for the log callback. */
enum tr_drain_outcome {
    TR_DRAIN_DONE,       /* removed from the spool */
    TR_DRAIN_FAILED,     /* moved to failed/ (truncated message, quarantined;
                            or refused by the database: err says why) */
    TR_DRAIN_RETRY,      /* released to new/: its batch failed (err says why) */
};

/*
 * Called once per claimed entry when its outcome is decided, just before
 * the entry is moved accordingly.  e is borrowed, valid during the call
 * only; its message bytes are already freed (name and envelope remain).
 * delta holds what this entry added to the counts; err is the error that
 * rolled its batch back for TR_DRAIN_RETRY, or the database's refusal for
 * TR_DRAIN_FAILED, else NULL.
 */
typedef void (*tr_drain_log_cb)(void *ctx, const struct tr_spool_entry *e,
                                enum tr_drain_outcome outcome, const struct tr_counts *delta,
                                const struct tr_err *err);

/*
 * Drains up to max_entries entries (max_entries < 0: until the spool is
 * empty) from dir into db (borrowed) with the options o (borrowed), adding
 * to *counts.  Each entry is ingested with provenance source "spool:NAME"
 * and its envelope's receive time.  Returns the number of entries
 * finished (>= 0), or -1 with err set when an entry had to be released
 * because the database failed, or the spool itself failed (unreadable
 * directory, rename error).
 */
long tr_spool_drain_log(const char *dir, const struct tr_ingest_opts *o, struct tr_db *db,
                        struct tr_counts *counts, long max_entries,
                        tr_drain_log_cb log, void *log_ctx, struct tr_err *err);

#endif
