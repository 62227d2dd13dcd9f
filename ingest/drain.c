/*
 * drain.c - empty a spool into the database (drain.h).
 *
 * One loop: claim entries in name order (one scan of the directory, see
 * spool.h), hand each message to tr_ingest_input() with the database
 * sink, all inside one transaction of up to TR_DRAIN_BATCH_MAX entries;
 * after the commit, settle each entry by its outcome.  One commit (one
 * fsync of the WAL) per batch instead of per entry.  An entry holds its
 * lock from claim to settlement, so a concurrent drainer never sees it; a
 * crash in between leaves it in cur/ to be taken over and ingested again,
 * which the database's dedup makes harmless.
 */
#include "tlsrpt/drain.h"
#include "tlsrpt/codes.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define DRAIN_SOURCE_MAX (TR_SPOOL_NAME_MAX + 8)   /* "spool:" + name */

/* An entry its writer refused ("Reject: CODE DETAIL", spool.h): its bytes
 * go to the quarantine with that code, whatever they are. */
static int reject_entry(const struct tr_spool_entry *e, const struct tr_sink *sink,
                        const struct tr_provenance *base, struct tr_counts *delta, struct tr_err *err)
{
    char code[64];
    const char *sp = strchr(e->reject, ' ');
    size_t n = sp ? (size_t)(sp - e->reject) : strlen(e->reject);

    snprintf(code, sizeof code, "%.*s", (int)(n < sizeof code ? n : sizeof code - 1), e->reject);
    if (sink->reject(sink->ctx, base, code, sp ? sp + 1 : "", e->msg, e->msg_len, e->msg_full_len, err) < 0)
        return -1;
    delta->quarantined++;
    return 0;
}

/* Ingests one claimed entry; 0 when every outcome reached the sink. */
static int ingest_entry(const struct tr_spool_entry *e, const struct tr_ingest_opts *o,
                        const struct tr_sink *sink, struct tr_counts *delta, struct tr_err *err)
{
    char source[DRAIN_SOURCE_MAX];
    struct tr_input in;
    struct tr_provenance base;

    snprintf(source, sizeof source, "spool:%s", e->name);
    memset(&in, 0, sizeof in);
    in.source = source;
    in.filename = NULL;
    in.data = e->msg;
    in.len = e->msg_len;
    in.full_len = e->msg_full_len;
    in.truncated = e->msg_full_len > e->msg_len;
    in.mtime = e->time;
    memset(&base, 0, sizeof base);
    base.source = source;
    base.received_time = e->time;
    if (e->reject != NULL)
        return reject_entry(e, sink, &base, delta, err);
    return tr_ingest_input(o, sink, &in, &base, delta, err);
}

/* Gives claimed entries back to new/ after the transaction holding their
 * reports was rolled back; each is logged as TR_DRAIN_RETRY with why. */
static void release_all(const char *dir, struct tr_spool_entry **batch, size_t n,
                        tr_drain_log_cb log, void *log_ctx, const struct tr_err *why)
{
    static const struct tr_counts none = { 0, 0, 0, 0 };

    for (size_t i = 0; i < n; i++) {
        if (log)
            log(log_ctx, batch[i], TR_DRAIN_RETRY, &none, why);
        (void)tr_spool_release(dir, batch[i], NULL);   /* if this fails, cur/ is taken over later */
    }
}

/* ingest_batch's answer when it set one entry aside (nothing committed). */
#define BATCH_SET_ASIDE (-2)

/* An entry whose rows the database refuses even as a quarantine row
 * (TR_E_DB_REFUSED: a constraint or trigger of the database's own) would
 * fail its batch every time and block the spool behind it: it goes to
 * failed/, where its bytes stay, and the rest of its batch back to new/. */
static long set_aside(const char *dir, struct tr_spool_entry **batch, long n, tr_drain_log_cb log,
                      void *log_ctx, struct tr_err *err)
{
    static const struct tr_counts none = { 0, 0, 0, 0 };
    struct tr_err why = *err;

    release_all(dir, batch, (size_t)n, log, log_ctx, &why);
    if (log)
        log(log_ctx, batch[n], TR_DRAIN_FAILED, &none, &why);
    if (tr_spool_fail(dir, batch[n], err) < 0)
        return -1;
    return BATCH_SET_ASIDE;
}

/*
 * Claims and ingests up to cap entries in one transaction; on success
 * returns how many (0: the spool had none), with batch[] and delta[]
 * filled; the caller settles them.  On failure everything claimed is
 * released and -1 returned with err set; BATCH_SET_ASIDE when one entry
 * went to failed/ instead (set_aside) and the rest were released.
 */
static long ingest_batch(const char *dir, struct tr_spool_scan *scan, size_t max_len,
                         const struct tr_ingest_opts *o, struct tr_db *db,
                         const struct tr_sink *sink, long cap, struct tr_spool_entry **batch,
                         struct tr_counts *delta, tr_drain_log_cb log, void *log_ctx,
                         struct tr_err *err)
{
    long n = 0;
    int rc;

    /* The first entry is claimed before the transaction begins, so an
     * empty spool never takes the database's write lock. */
    rc = tr_spool_claim_next(scan, max_len, &batch[0], err);
    if (rc <= 0)
        return rc;
    if (tr_db_begin(db, err) < 0) {
        release_all(dir, batch, 1, log, log_ctx, err);
        return -1;
    }
    for (;;) {
        memset(&delta[n], 0, sizeof delta[n]);
        if (ingest_entry(batch[n], o, sink, &delta[n], err) < 0) {
            tr_db_rollback(db);
            if (tr_err_is(err, TR_E_DB_REFUSED))
                return set_aside(dir, batch, n, log, log_ctx, err);
            release_all(dir, batch, (size_t)n + 1, log, log_ctx, err);
            return -1;
        }
        tr_spool_entry_unload(batch[n]);       /* only its name and lock are needed now */
        n++;
        if (n == cap)
            break;
        rc = tr_spool_claim_next(scan, max_len, &batch[n], err);
        if (rc < 0) {
            tr_db_rollback(db);
            release_all(dir, batch, (size_t)n, log, log_ctx, err);
            return -1;
        }
        if (rc == 0)
            break;
    }
    if (tr_db_commit(db, err) < 0) {
        release_all(dir, batch, (size_t)n, log, log_ctx, err);
        return -1;
    }
    return n;
}

long tr_spool_drain_log(const char *dir, const struct tr_ingest_opts *o, struct tr_db *db,
                        struct tr_counts *counts, long max_entries,
                        tr_drain_log_cb log, void *log_ctx, struct tr_err *err)
{
    struct tr_spool_entry *batch[TR_DRAIN_BATCH_MAX];
    struct tr_counts delta[TR_DRAIN_BATCH_MAX];
    struct tr_spool_scan *scan = tr_spool_scan_new(dir);
    struct tr_sink sink;
    long done = 0;
    int failed = 0;
    /* The message-size limit, plus room for the envelope. */
    size_t max_len = o->limits.message_size > SIZE_MAX - TR_SPOOL_ENVELOPE_MAX
                         ? SIZE_MAX : o->limits.message_size + TR_SPOOL_ENVELOPE_MAX;

    tr_db_sink(&sink, db);
    while (!failed && (max_entries < 0 || done < max_entries)) {
        long cap = TR_DRAIN_BATCH_MAX, n;

        if (max_entries >= 0 && max_entries - done < cap)
            cap = max_entries - done;
        n = ingest_batch(dir, scan, max_len, o, db, &sink, cap, batch, delta, log, log_ctx, err);
        if (n == BATCH_SET_ASIDE) {
            done++;                            /* in failed/; the rest are claimed again */
            continue;
        }
        if (n <= 0) {
            failed = n < 0;
            break;
        }
        /* Committed: settle every entry, even after one fails to move
         * (it stays in cur/ and is ingested again later, as a duplicate). */
        for (long i = 0; i < n; i++) {
            struct tr_spool_entry *e = batch[i];
            int truncated = e->msg_full_len > e->msg_len;
            struct tr_err serr;

            counts->stored += delta[i].stored;
            counts->duplicates += delta[i].duplicates;
            counts->quarantined += delta[i].quarantined;
            counts->conflicting += delta[i].conflicting;
            if (log)
                log(log_ctx, e, truncated ? TR_DRAIN_FAILED : TR_DRAIN_DONE, &delta[i], NULL);
            if ((truncated ? tr_spool_fail(dir, e, &serr) : tr_spool_done(dir, e, &serr)) < 0 && !failed) {
                *err = serr;
                failed = 1;
            }
        }
        done += n;
    }
    tr_spool_scan_free(scan);
    return failed ? -1 : done;
}
