/*
 * ingest.h - one input (a message or a report file) in, reports and
 * quarantine entries out.
 *
 * Detects what the bytes are (a mail message, gzip, zip, or JSON), extracts
 * report parts (mime.h), inflates them (gunzip.h), parses and normalizes
 * them (parse.h) and hands each outcome to a sink: the database sink stores
 * it, the --dump sink prints it.  Nothing here prints or exits.
 */
#ifndef TLSRPT_INGEST_H
#define TLSRPT_INGEST_H

#include <stddef.h>
#include "tlsrpt/db.h"
#include "tlsrpt/limits.h"
#include "tlsrpt/report.h"
#include "tlsrpt/source.h"

#define TR_MAX_TRUSTED_AUTHSERV 16

struct tr_ingest_opts {
    struct tr_limits limits;
    char *trusted_authserv[TR_MAX_TRUSTED_AUTHSERV];  /* borrowed strings */
    size_t n_trusted_authserv;                         /* 0: DKIM not evaluated */
    int require_dkim;          /* quarantine reports without dkim=pass as TR_E_UNAUTHENTICATED */
};

void tr_ingest_opts_default(struct tr_ingest_opts *o);

/*
 * Receives outcomes.  report() returns TR_STORED, TR_DUPLICATE,
 * TR_CONFLICTING, TR_QUARANTINED (the sink kept it as rejected instead: db.h), or -1 when
 * the store failed (err set): ingest then stops and returns -1 so the
 * caller can keep the input for later.  reject() likewise returns 0 or -1.
 * raw is the input the reason applies to (a whole message or one decoded
 * part), at most raw_len bytes of an input of full_len bytes.  For a
 * report that arrived gzip-compressed, p->sent_gz holds the bytes as sent
 * (db.h), valid for the call only.
 */
struct tr_sink {
    int (*report)(void *ctx, const struct tr_report *r, const struct tr_provenance *p,
                  const unsigned char *raw_json, size_t raw_len, struct tr_err *err);
    int (*reject)(void *ctx, const struct tr_provenance *p, const char *code, const char *detail,
                  const unsigned char *raw, size_t raw_len, size_t full_len, struct tr_err *err);
    void *ctx;
    /* Optional (NULL: report() is used).  Called instead of report() for a
     * sink that keeps reports past the call: it takes ownership of r (frees
     * it with tr_report_free) whatever it returns.  Same return values. */
    int (*report_owned)(void *ctx, struct tr_report *r, const struct tr_provenance *p,
                        const unsigned char *raw_json, size_t raw_len, struct tr_err *err);
};

struct tr_counts {
    long stored;
    long duplicates;
    long quarantined;
    long conflicting;          /* TR_CONFLICTING: quarantined, but counted here only */
};

/* A sink that stores into db (borrowed). */
void tr_db_sink(struct tr_sink *s, struct tr_db *db);

/*
 * Ingests one input.  Adds to *counts.  Returns 0 when every outcome was
 * handed to the sink (stored, duplicate or quarantined), -1 when the sink
 * failed (err set; the input must be kept and retried).  The input's
 * provenance fields not known from the input itself come from base (may be
 * NULL): source, received time, and for spool entries the envelope.
 */
int tr_ingest_input(const struct tr_ingest_opts *o, const struct tr_sink *sink,
                    const struct tr_input *in, const struct tr_provenance *base,
                    struct tr_counts *counts, struct tr_err *err);

#endif
