/*
 * jobs.h - tlsrpt-ingest --jobs N: parse in N threads, store in one.
 *
 * Private to tlsrpt-ingest (not part of the library).  One walker thread
 * turns PATHs into inputs (tr_source_walk) and copies each into a job; N
 * parser threads run each job through tr_ingest_input (MIME, gunzip,
 * parse) and compress the JSON as sent (tr_zblob), collecting the
 * outcomes; the calling thread, the only one that touches the database,
 * hands them to the writer callbacks in the order jobs finish.  Jobs in
 * flight are bounded (JOBS_PER_THREAD per parser thread, JOBS_MAX_BYTES of
 * input, both in jobs.c), so
 * memory does not grow with the number of inputs.
 *
 * Counts are those the writer's callbacks return, so stored, duplicate and
 * quarantined numbers are exactly those of a serial run over the same
 * inputs; only the order of outcomes may differ.
 */
#ifndef TLSRPT_INGEST_JOBS_H
#define TLSRPT_INGEST_JOBS_H

#include "tlsrpt/ingest.h"
#include "tlsrpt/source.h"

#define JOBS_MAX 64                          /* --jobs upper bound */

/* What the calling thread does with the outcomes.  Each callback runs in
 * the thread that called jobs_run(); arguments are borrowed for the call. */
struct jobs_writer {
    /* Stores a report whose JSON (raw_len bytes) is compressed in z:
     * TR_STORED, TR_DUPLICATE, TR_CONFLICTING, TR_QUARANTINED, or -1
     * with err set. */
    int (*report_z)(void *ctx, const struct tr_report *r, const struct tr_provenance *p,
                    const unsigned char *z, size_t z_len, size_t raw_len, struct tr_err *err);
    /* As tr_sink.reject: 0 or -1 with err set. */
    int (*reject)(void *ctx, const struct tr_provenance *p, const char *code, const char *detail,
                  const unsigned char *raw, size_t raw_len, size_t full_len, struct tr_err *err);
    /* After the outcomes of one input (batch commits, progress): 0, or -1
     * with err set to stop. */
    int (*input_done)(void *ctx, struct tr_err *err);
    void *ctx;
};

/*
 * Ingests every input under paths[0..n_paths) with n_threads parser
 * threads (1..JOBS_MAX).  on_error (may be NULL) is called from the walker
 * thread for each unreadable entry, and for a PATH that cannot be opened.
 * Adds to *counts.  Returns 0, or -1 with err set when a writer callback
 * failed (the remaining inputs are then read but not stored).  All
 * arguments borrowed.
 */
int jobs_run(char *const *paths, int n_paths, int n_threads, const struct tr_ingest_opts *o,
             const struct jobs_writer *w, tr_source_error_cb on_error, void *err_ctx,
             struct tr_counts *counts, struct tr_err *err);

#endif
