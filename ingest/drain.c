/*
 * drain.c - empty a spool into the database (drain.h).
 *
 * One loop: claim the oldest entry, hand its message to tr_ingest_input()
 * with the database sink, settle the entry by the outcome.  An entry holds
 * its lock from claim to settlement, so a concurrent drainer never sees
 * it; a crash in between leaves it in cur/ to be taken over and ingested
 * again, which the database's dedup makes harmless.
 */
#include "tlsrpt/drain.h"
#include "tlsrpt/codes.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define DRAIN_SOURCE_MAX (TR_SPOOL_NAME_MAX + 8)   /* "spool:" + name */

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
    return tr_ingest_input(o, sink, &in, &base, delta, err);
}

long tr_spool_drain_log(const char *dir, const struct tr_ingest_opts *o, struct tr_db *db,
                        struct tr_counts *counts, long max_entries,
                        tr_drain_log_cb log, void *log_ctx, struct tr_err *err)
{
    struct tr_sink sink;
    long done = 0;
    /* The message-size limit, plus room for the envelope. */
    size_t max_len = o->limits.message_size > SIZE_MAX - TR_SPOOL_ENVELOPE_MAX
                         ? SIZE_MAX : o->limits.message_size + TR_SPOOL_ENVELOPE_MAX;

    tr_db_sink(&sink, db);
    while (max_entries < 0 || done < max_entries) {
        struct tr_spool_entry *e;
        struct tr_counts delta = { 0, 0, 0 };
        struct tr_err ierr;
        int rc;

        rc = tr_spool_claim(dir, max_len, &e, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        tr_err_clear(&ierr);
        if (ingest_entry(e, o, &sink, &delta, &ierr) < 0) {
            if (log)
                log(log_ctx, e, TR_DRAIN_RETRY, &delta, &ierr);
            *err = ierr;
            (void)tr_spool_release(dir, e, NULL);   /* if this fails, cur/ is taken over later */
            return -1;
        }
        counts->stored += delta.stored;
        counts->duplicates += delta.duplicates;
        counts->quarantined += delta.quarantined;
        if (e->msg_full_len > e->msg_len) {
            if (log)
                log(log_ctx, e, TR_DRAIN_FAILED, &delta, NULL);
            rc = tr_spool_fail(dir, e, err);
        } else {
            if (log)
                log(log_ctx, e, TR_DRAIN_DONE, &delta, NULL);
            rc = tr_spool_done(dir, e, err);
        }
        if (rc < 0)
            return -1;
        done++;
    }
    return done;
}

int tr_spool_drain(const char *dir, const struct tr_ingest_opts *o, struct tr_db *db,
                   struct tr_counts *counts, long max_entries, struct tr_err *err)
{
    return tr_spool_drain_log(dir, o, db, counts, max_entries, NULL, NULL, err) < 0 ? -1 : 0;
}
