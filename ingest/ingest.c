/*
 * ingest.c - one input in, outcomes out.
 *
 * The input is classified by its bytes, never by its name: gzip or zip
 * magic, or JSON text ('{' after optional whitespace), is a report file;
 * anything that looks like a mail message goes through MIME extraction;
 * everything else is not a report.  Each report part then goes the same
 * way: bounded decompression, parse and normalize, and the sink.
 *
 * What is quarantined: a message-level failure (too large, unparsable, no
 * report part, unauthenticated under RequireDKIM) keeps the whole message;
 * a part-level failure keeps that part as decoded from its transfer
 * encoding (still compressed), with the message's headers in the
 * provenance, so --retry-quarantine sees exactly what this run saw.
 */
#include "tlsrpt/ingest.h"
#include "tlsrpt/authres.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/gunzip.h"
#include "tlsrpt/mime.h"
#include "tlsrpt/parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void tr_ingest_opts_default(struct tr_ingest_opts *o)
{
    memset(o, 0, sizeof *o);
    tr_limits_default(&o->limits);
}

static int db_sink_report(void *ctx, const struct tr_report *r, const struct tr_provenance *p,
                          const unsigned char *raw_json, size_t raw_len, struct tr_err *err)
{
    return tr_db_store_report(ctx, r, p, raw_json, raw_len, err);
}

static int db_sink_reject(void *ctx, const struct tr_provenance *p, const char *code,
                          const char *detail, const unsigned char *raw, size_t raw_len,
                          size_t full_len, struct tr_err *err)
{
    return tr_db_quarantine(ctx, p, code, detail, raw, raw_len, full_len, err);
}

void tr_db_sink(struct tr_sink *s, struct tr_db *db)
{
    s->report = db_sink_report;
    s->reject = db_sink_reject;
    s->ctx = db;
    s->report_owned = NULL;
}

/* Hands a rejection to the sink and counts it. */
static int reject(const struct tr_sink *sink, const struct tr_provenance *p, const struct tr_err *why,
                  const unsigned char *raw, size_t raw_len, size_t full_len,
                  struct tr_counts *counts, struct tr_err *err)
{
    if (sink->reject(sink->ctx, p, why->code, why->detail, raw, raw_len, full_len, err) < 0)
        return -1;
    counts->quarantined++;
    return 0;
}

/* 1 when the first non-whitespace byte opens a JSON value. */
static int looks_like_json(const unsigned char *p, size_t len)
{
    size_t i = 0;
    /* A UTF-8 byte order mark is tolerated in front of JSON text. */
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        i = 3;
    while (i < len && isspace(p[i]))
        i++;
    return i < len && (p[i] == '{' || p[i] == '[');
}

static int ingest_report_bytes(const struct tr_ingest_opts *o, const struct tr_sink *sink,
                               const unsigned char *data, size_t len,
                               const struct tr_parse_hints *hints, const struct tr_provenance *p,
                               struct tr_counts *counts, struct tr_err *err);

/* Bytes of a zip entry's name kept for hints and warnings. */
#define ZIP_NAME_MAX 256

/* One inflated zip entry, held until the whole archive has been read. */
struct zip_file {
    unsigned char *data;        /* owned */
    size_t len;
    char name[ZIP_NAME_MAX];
    int is_report;              /* gzip or JSON text */
};

/* The sink in front of the real one while a zip's reports are handed on:
 * adds the archive's skipped entries to each report as named warnings. */
struct zip_sink {
    const struct tr_sink *next;
    char **named;               /* borrowed: "zip-entry-skipped=NAME" tokens */
    size_t n_named;
};

/* Adds the skipped-entry warnings to r (owned by the caller). */
static void zip_mark(const struct zip_sink *zs, struct tr_report *r)
{
    if (zs->n_named == 0)
        return;
    r->warnings |= TR_W_ZIP_ENTRY_SKIPPED;
    for (size_t i = 0; i < zs->n_named && r->n_named_warnings < TR_NAMED_WARNINGS_MAX; i++) {
        r->named_warnings = xrealloc(r->named_warnings, (r->n_named_warnings + 1) * sizeof(char *));
        r->named_warnings[r->n_named_warnings++] = xstrdup(zs->named[i]);
    }
}

static int zip_sink_owned(void *ctx, struct tr_report *r, const struct tr_provenance *p,
                          const unsigned char *raw, size_t raw_len, struct tr_err *err)
{
    const struct zip_sink *zs = ctx;
    int rc;

    zip_mark(zs, r);
    if (zs->next->report_owned)
        return zs->next->report_owned(zs->next->ctx, r, p, raw, raw_len, err);
    rc = zs->next->report(zs->next->ctx, r, p, raw, raw_len, err);
    tr_report_free(r);
    return rc;
}

static int zip_sink_reject(void *ctx, const struct tr_provenance *p, const char *code, const char *detail,
                           const unsigned char *raw, size_t raw_len, size_t full_len, struct tr_err *err)
{
    const struct zip_sink *zs = ctx;
    return zs->next->reject(zs->next->ctx, p, code, detail, raw, raw_len, full_len, err);
}

/*
 * A zip archive: every file entry is read first (bounded by the zip-entries
 * and zip-inflated-size limits, each entry by inflated-size), so a corrupt
 * or oversized archive is quarantined whole before any of its reports is
 * stored.  Then each entry that is a report (gzip, even gzip of gzip, or
 * JSON text) goes the way of any report part, with its entry name as the
 * file-name hint; the others are skipped, and named on every report of the
 * archive (zip-entry-skipped).  An archive with no report entry is
 * not-a-report.
 */
static int ingest_zip(const struct tr_ingest_opts *o, const struct tr_sink *sink,
                      const unsigned char *data, size_t len, const struct tr_parse_hints *hints,
                      const struct tr_provenance *p, struct tr_counts *counts, struct tr_err *err)
{
    const struct tr_limits *lim = &o->limits;
    struct tr_unzip z;
    struct zip_file *files = NULL;
    size_t n = 0, n_reports = 0;
    struct zip_sink zs = { sink, NULL, 0 };
    struct tr_sink wrap = { NULL, zip_sink_reject, &zs, zip_sink_owned };
    struct tr_err why;
    int rc = 0;

    tr_err_clear(&why);
    tr_unzip_init(&z, data, len, lim->zip_entries, lim->zip_inflated_size);
    for (;;) {
        struct zip_file f;
        int got = tr_unzip_next(&z, lim->inflated_size, &f.data, &f.len, f.name, sizeof f.name, &why);
        if (got < 0) {
            rc = reject(sink, p, &why, data, len, len, counts, err);
            goto out;
        }
        if (got == 0)
            break;
        f.is_report = tr_is_gzip(f.data, f.len) || looks_like_json(f.data, f.len);
        n_reports += f.is_report;
        if (!f.is_report)
            tr_warn_named(&zs.named, &zs.n_named, tr_warning_name_of(TR_W_ZIP_ENTRY_SKIPPED), f.name);
        files = xrealloc(files, (n + 1) * sizeof *files);
        files[n++] = f;
    }
    if (n_reports == 0) {
        tr_err_set(&why, TR_E_NOT_A_REPORT, "zip archive holds no report (%zu entries, none gzip or JSON)", n);
        rc = reject(sink, p, &why, data, len, len, counts, err);
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct tr_parse_hints h = { hints ? hints->report_domain : NULL, files[i].name };
        if (files[i].is_report)
            rc = ingest_report_bytes(o, &wrap, files[i].data, files[i].len, &h, p, counts, err);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(files[i].data);
    free(files);
    for (size_t i = 0; i < zs.n_named; i++)
        free(zs.named[i]);
    free(zs.named);
    return rc;
}

/*
 * One report candidate: compressed or plain bytes.  Returns 0 when the
 * outcome reached the sink, -1 when the sink failed.
 */
static int ingest_report_bytes(const struct tr_ingest_opts *o, const struct tr_sink *sink,
                               const unsigned char *data, size_t len,
                               const struct tr_parse_hints *hints, const struct tr_provenance *p,
                               struct tr_counts *counts, struct tr_err *err)
{
    const struct tr_limits *lim = &o->limits;
    unsigned char *inflated = NULL;
    const unsigned char *json = data;
    size_t json_len = len;
    struct tr_report *r = NULL;
    struct tr_provenance pz = *p;     /* p, with the sender's gzip bytes if kept */
    struct tr_err why;
    int rc;

    tr_err_clear(&why);
    if (tr_is_gzip(data, len)) {
        if (tr_gunzip(data, len, lim->inflated_size, &inflated, &json_len, &why) < 0)
            return reject(sink, p, &why, data, len, len, counts, err);
        json = inflated;
        /* Kept as the report as sent unless it is larger than the JSON
         * itself (then deflating it is worth its cost). */
        if (len <= json_len) {
            pz.sent_gz = data;
            pz.sent_gz_len = len;
        }
    } else if (tr_is_zip(data, len)) {
        return ingest_zip(o, sink, data, len, hints, p, counts, err);
    } else if (len > lim->inflated_size) {
        tr_err_set(&why, TR_E_LIMIT_INFLATED_SIZE, "report of %zu bytes exceeds the inflated-size limit of %zu",
                   len, lim->inflated_size);
        return reject(sink, p, &why, data, len, len, counts, err);
    }
    if (!looks_like_json(json, json_len)) {
        tr_err_set(&why, TR_E_NOT_A_REPORT, "%s is not JSON", inflated ? "decompressed data" : "data");
        rc = reject(sink, p, &why, data, len, len, counts, err);
    } else if (tr_parse_report(json, json_len, hints, lim, &r, &why) < 0) {
        rc = reject(sink, p, &why, data, len, len, counts, err);
    } else {
        if (sink->report_owned) {
            struct tr_report *given = r;
            r = NULL;                          /* the sink owns it now */
            rc = sink->report_owned(sink->ctx, given, &pz, json, json_len, err);
        } else {
            rc = sink->report(sink->ctx, r, &pz, json, json_len, err);
        }
        if (rc == TR_STORED)
            counts->stored++;
        else if (rc == TR_DUPLICATE)
            counts->duplicates++;
        else if (rc == TR_CONFLICTING)
            counts->conflicting++;
        else if (rc == TR_QUARANTINED)
            counts->quarantined++;
        rc = rc < 0 ? -1 : 0;
    }
    tr_report_free(r);
    free(inflated);
    return rc;
}

/* The domain part of an address or the address itself; borrowed. */
static const char *domain_of(const char *addr)
{
    const char *at;
    if (addr == NULL)
        return NULL;
    at = strrchr(addr, '@');
    return at ? at + 1 : addr;
}

static int ingest_message(const struct tr_ingest_opts *o, const struct tr_sink *sink,
                          const struct tr_input *in, struct tr_provenance *p,
                          struct tr_counts *counts, struct tr_err *err)
{
    struct tr_message *m = NULL;
    struct tr_err why;
    enum tr_dkim dkim = TR_DKIM_UNCHECKED;
    int rc = 0;

    tr_err_clear(&why);
    if (tr_message_parse(in->data, in->len, &o->limits, &m, &why) < 0)
        return reject(sink, p, &why, in->data, in->len, in->full_len, counts, err);
    p->message_id = m->message_id;
    if (m->report_domain)
        p->report_domain = m->report_domain;
    if (m->report_submitter)
        p->report_submitter = m->report_submitter;
    if (o->n_trusted_authserv > 0) {
        const char *submitter = m->report_submitter ? m->report_submitter : domain_of(m->from);
        dkim = tr_authres_dkim(m->auth_results, m->n_auth_results, o->trusted_authserv,
                               o->n_trusted_authserv, submitter);
    }
    p->dkim = tr_dkim_name(dkim);

    if (m->n_parts == 0) {
        tr_err_set(&why, TR_E_NOT_A_REPORT, "message has no report part (Subject: %.200s)",
                   m->subject ? m->subject : "");
        rc = reject(sink, p, &why, in->data, in->len, in->full_len, counts, err);
    } else if (o->require_dkim && dkim != TR_DKIM_PASS) {
        tr_err_set(&why, TR_E_UNAUTHENTICATED, "no passing DKIM signature from %s seen by a trusted "
                   "authserv-id (dkim=%s)", m->report_submitter ? m->report_submitter : "the submitter",
                   tr_dkim_name(dkim) ? tr_dkim_name(dkim) : "unchecked");
        rc = reject(sink, p, &why, in->data, in->len, in->full_len, counts, err);
    } else {
        for (size_t i = 0; i < m->n_parts && rc == 0; i++) {
            const struct tr_part *part = &m->parts[i];
            struct tr_parse_hints hints = { p->report_domain, part->filename };
            p->attachment_name = part->filename;
            rc = ingest_report_bytes(o, sink, part->data, part->len, &hints, p, counts, err);
        }
    }
    tr_message_free(m);
    return rc;
}

int tr_ingest_input(const struct tr_ingest_opts *o, const struct tr_sink *sink,
                    const struct tr_input *in, const struct tr_provenance *base,
                    struct tr_counts *counts, struct tr_err *err)
{
    struct tr_provenance p;
    struct tr_err why;

    memset(&p, 0, sizeof p);
    if (base)
        p = *base;
    if (p.source == NULL)
        p.source = in->source;
    if (p.received_time == 0)
        p.received_time = (int64_t)time(NULL);
    tr_err_clear(&why);

    if (in->truncated || in->full_len > o->limits.message_size) {
        tr_err_set(&why, TR_E_LIMIT_MESSAGE_SIZE, "input of %zu bytes exceeds the message-size limit of %zu",
                   in->full_len, o->limits.message_size);
        return reject(sink, &p, &why, in->data, in->len, in->full_len, counts, err);
    }
    if (tr_is_gzip(in->data, in->len) || tr_is_zip(in->data, in->len) ||
        looks_like_json(in->data, in->len)) {
        struct tr_parse_hints hints = { p.report_domain, in->filename };
        if (p.attachment_name == NULL)
            p.attachment_name = in->filename;
        return ingest_report_bytes(o, sink, in->data, in->len, &hints, &p, counts, err);
    }
    if (tr_looks_like_message(in->data, in->len))
        return ingest_message(o, sink, in, &p, counts, err);
    tr_err_set(&why, TR_E_NOT_A_REPORT, "neither a mail message, gzip, zip nor JSON");
    return reject(sink, &p, &why, in->data, in->len, in->full_len, counts, err);
}
