/*
 * tlsrpt-report - what the stored TLS-RPT reports say.
 *
 * SYNOPSIS
 *   tlsrpt-report [options] summary [--by KEY,...]
 *   tlsrpt-report [options] trend [--interval day|week|month]
 *   tlsrpt-report [options] failures
 *   tlsrpt-report [options] reports
 *   tlsrpt-report [options] show ID
 *   tlsrpt-report [options] quarantine [show ID]
 *   tlsrpt-report [options] email [--to ADDR] [--from ADDR] [--sendmail PATH]
 *                                 [--only-if-failures] [--only-if-findings]
 *   tlsrpt-report [options] check [--resolver IP[:PORT]] [--ca-file FILE]
 *                                 [--timeout SECONDS] [DOMAIN...]
 *   tlsrpt-report [options] metrics [-o FILE] [--spool DIR]...
 *   tlsrpt-report [options] findings [--warn-rate P] [--crit-rate P] [--silent-days N]
 *                                    [--stopped-days N] [--ready-days N] [--check-days N]
 *   tlsrpt-report [options] html [-o FILE]
 *
 * COMMON OPTIONS
 *   --db FILE                  the database (else $TLSRPT_DB, else the default)
 *   --since WHEN, --until WHEN the window of report start times, UTC
 *                              (default the last 30 days; email: yesterday)
 *   --now DATETIME             what "now" is (also $TLSRPT_NOW), for tests
 *   --domain D, --org O, --mx M, --type T   filters, repeatable, '*' wildcard
 *   --format table|csv|json
 *
 * EXIT STATUS
 *   0 success, 1 database or I/O error, 2 usage error, 3 no such ID.
 *   check: 0 all ok, 1 a warning, 2 a failure, 3 usage error, 4 resolver
 *   error, 5 database or I/O error (check.h).
 *   findings: 0 no finding or only info, 1 the worst is a warning, 2 a
 *   critical one, 3 usage error, 5 database or I/O error.
 *
 * The manual page tlsrpt-report(1) is the full reference; this file only
 * dispatches: each subcommand queries (query.c, listing.c, show.c,
 * trend.c, digest.c, findings.c, dashboard.c), then hands a table or a JSON document to the writers in
 * output.c.  Only this file writes to stdout and stderr directly.
 */
#include "args.h"
#include "backlog.h"
#include "check.h"
#include "dashboard.h"
#include "digest.h"
#include "email.h"
#include "findings.h"
#include "hint.h"
#include "metrics.h"
#include "output.h"
#include "query.h"
#include "summary.h"
#include "trend.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/db.h"

#include <errno.h>
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>



enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_NOT_FOUND = 3 };

/* What a subcommand accepts besides --db and --help. */
enum {
    A_WINDOW = 1 << 0, A_FILTER = 1 << 1, A_FORMAT = 1 << 2, A_BY = 1 << 3,
    A_INTERVAL = 1 << 4, A_LIMIT = 1 << 5, A_EMAIL = 1 << 6,
    A_CHECK = 1 << 7,
    A_METRICS = 1 << 8,
    A_FIND = 1 << 9,
};

struct ctx {
    struct rpt_opts *o;
    sqlite3 *db;
    struct rpt_out out;
    struct rpt_scope scope;
};

#include "help.h"

static void die_usage_hint(void)
{
    fprintf(stderr, "Try '" PROG " --help'.\n");
}

static int report_err(const struct tr_err *err)
{
    fprintf(stderr, PROG ": %s\n", err->detail);
    if (err->code != NULL && strcmp(err->code, RPT_E_NOT_FOUND) == 0)
        return EXIT_NOT_FOUND;
    if (err->code != NULL && strcmp(err->code, TR_E_USAGE) == 0)
        return EXIT_USAGE;
    return EXIT_ERROR;
}

static int write_failed(void)
{
    fprintf(stderr, PROG ": writing output failed\n");
    return EXIT_ERROR;
}

/* summary's row limit: --limit, else RPT_SUMMARY_TERM_LIMIT for a table
 * on a terminal, else every row. */
static size_t summary_limit(const struct ctx *c)
{
    if (c->o->limit_given)
        return (size_t)c->o->limit;
    return c->out.fmt == RPT_FMT_TABLE && isatty(fileno(c->out.fp)) ? RPT_SUMMARY_TERM_LIMIT : 0;
}

/* 1 when the rows can carry sessions: every key is report-level and no
 * --mx or --type filter (sessions are not counted per MX or type). */
static int rows_take_sessions(const struct ctx *c, const enum rpt_key *by, size_t n_by)
{
    if (c->o->f.mx.n > 0 || c->o->f.type.n > 0)
        return 0;
    for (size_t i = 0; i < n_by; i++)
        if (!rpt_key_is_report_level(by[i]))
            return 0;
    return 1;
}

static int cmd_summary(struct ctx *c)
{
    static const enum rpt_key default_by[] = {RPT_K_ORG, RPT_K_MX, RPT_K_TYPE};
    struct rpt_summary_req req = {c->o->n_by ? c->o->by : default_by, c->o->n_by ? c->o->n_by : 3, 0, 0};
    struct rpt_summary_cut cut = {0, 0};
    struct tr_err err = {0};
    int rc;

    req.limit = summary_limit(c);
    req.with_sessions = rows_take_sessions(c, req.by, req.n_by);
    rc = rpt_summary_write(c->db, &c->scope, &req, &c->out, &cut, &err);
    if (rc == RPT_SUMMARY_QUERY_FAILED)
        return report_err(&err);
    if (rc == RPT_SUMMARY_WRITE_FAILED)
        return write_failed();
    if (cut.dropped > 0 && c->out.fmt == RPT_FMT_CSV)
        fprintf(stderr, PROG ": %zu more rows (%lld failed sessions) left out; --limit 0 shows all\n",
                cut.dropped, (long long)cut.dropped_failed);
    return EXIT_OK;
}

/* Failure-type columns a narrow terminal keeps before it leaves out the
 * change columns of the trend table. */
#define RPT_TREND_NARROW_TYPES 2

/* The trend table; on the terminal the change columns may be left out. */
static struct rpt_table *trend_table(const struct rpt_trend *t, size_t types, int term)
{
    struct rpt_table *tab = rpt_trend_table(t, types, term);
    if (term) {
        rpt_table_set_drop(tab, "sessions_change", 2);
        rpt_table_set_drop(tab, "rate_change", 1);
    }
    return tab;
}

static int cmd_trend(struct ctx *c)
{
    struct rpt_trend *t = NULL;
    struct tr_err err = {0};
    int w = 0;

    if (rpt_trend_build(c->db, &c->scope, c->o->interval, c->o->now, &t, &err) < 0)
        return report_err(&err);
    if (c->out.fmt == RPT_FMT_JSON) {
        json_t *doc = rpt_trend_json(t);
        w = rpt_out_json(&c->out, doc);
        json_decref(doc);
    } else {
        int term = c->out.fmt == RPT_FMT_TABLE;
        size_t types = term ? RPT_TREND_TABLE_TYPES : RPT_TREND_MAX_TYPES;
        struct rpt_table *tab = trend_table(t, types, term);
        /* On a narrow terminal fold failure-type columns into "(other
         * types)" down to RPT_TREND_NARROW_TYPES, then leave out the change
         * columns (the series below show the latest change), then fold on. */
        while (term && types > RPT_TREND_NARROW_TYPES && !rpt_table_fits(&c->out, tab, 0)) {
            rpt_table_free(tab);
            tab = trend_table(t, --types, term);
        }
        while (term && types > 0 && !rpt_table_fits(&c->out, tab, 1)) {
            rpt_table_free(tab);
            tab = trend_table(t, --types, term);
        }
        w |= rpt_out_table(&c->out, tab);
        rpt_table_free(tab);
        if (term && rpt_trend_has_partial(t))
            w |= rpt_out_printf(&c->out, RPT_TREND_PARTIAL_MARK " partial: the window covers only part of the"
                                " bucket, or its reports may still\n  be arriving (a day's reports come during"
                                " the next day); it is not compared,\n  and the series below end at the last"
                                " complete bucket.\n");
        if (term) {
            struct rpt_table *series = rpt_trend_series(t);
            rpt_table_set_cut_last(series, "series");
            w |= rpt_out_printf(&c->out, "\n");
            w |= rpt_out_table(&c->out, series);
            rpt_table_free(series);
        }
    }
    rpt_trend_free(t);
    return w ? write_failed() : EXIT_OK;
}

/* Writes a listing; JSON as {"since","until","rows","more","left_out"}.
 * left_out: rows past --limit (0: none), said on stderr with how to see
 * them. */
static int write_listing(struct ctx *c, const struct rpt_table *t, int64_t left_out, int window)
{
    int w;
    if (c->out.fmt == RPT_FMT_JSON) {
        json_t *doc = json_object();
        if (window)
            rpt_window_json(doc, c->scope.since, c->scope.until);
        json_object_set_new(doc, "rows", rpt_table_to_json(t));
        json_object_set_new(doc, "more", json_boolean(left_out != 0));
        json_object_set_new(doc, "left_out", json_integer(left_out));
        w = rpt_out_json(&c->out, doc);
        json_decref(doc);
    } else {
        w = rpt_out_table(&c->out, t);
    }
    if (left_out != 0) {
        char shown[RPT_NUM_MAX], rest[RPT_NUM_MAX];
        rpt_fmt_count((int64_t)t->nrows, shown);
        fprintf(stderr, PROG ": showing the newest %s rows; %s older %s left out"
                " (--limit N shows N, --limit 0 all)\n", shown, rpt_fmt_count(left_out, rest),
                left_out == 1 ? "row was" : "rows were");
    }
    return w ? write_failed() : EXIT_OK;
}

static int cmd_failures(struct ctx *c)
{
    struct rpt_table *t = rpt_table_new();
    struct tr_err err = {0};
    int64_t left_out = 0;
    int rc;
    if (rpt_q_failure_list(c->db, &c->scope, c->o->limit, t, &left_out, &err) < 0) {
        rc = report_err(&err);
    } else {
        /* What a narrow terminal leaves out first (layout.h). */
        rpt_table_set_drop(t, "receiving_ip", 6);
        rpt_table_set_drop(t, "ip", 5);
        rpt_table_set_drop(t, "report", 4);
        rpt_table_set_drop(t, "reason_code", 3);
        rpt_table_set_drop(t, "domain", 2);
        rpt_table_set_cut_last(t, "type");
        rc = write_listing(c, t, left_out, 1);
    }
    rpt_table_free(t);
    return rc;
}

/* The terminal form of the reports listing: start and end (UTC seconds
 * from the query; exact datetimes for CSV and JSON) shown as the days
 * covered, "2026-11-08 to 2026-11-14". */
static struct rpt_table *reports_for_terminal(const struct rpt_table *t)
{
    struct rpt_table *v = rpt_table_new();
    int cs = rpt_table_col(t, "start"), ce = rpt_table_col(t, "end");

    for (size_t col = 0; col < t->ncols; col++)
        if ((int)col != ce)
            rpt_table_add_col(v, (int)col == cs ? "days" : t->cols[col].name, t->cols[col].style);
    for (size_t r = 0; r < t->nrows; r++) {
        size_t row = rpt_table_add_row(v), out = 0;
        for (size_t col = 0; col < t->ncols; col++) {
            const struct rpt_cell *cell = rpt_table_cell(t, r, col);
            if ((int)col == ce)
                continue;
            if ((int)col == cs) {
                char days[RPT_PERIOD_MAX];
                const struct rpt_cell *end = rpt_table_cell(t, r, (size_t)ce);
                if (cell->kind == RPT_INT && end->kind == RPT_INT && end->i > cell->i) {
                    rpt_digest_period(cell->i, end->i, days);
                    rpt_table_set_text(v, row, out, days);
                }
            } else if (cell->kind == RPT_TEXT) {
                rpt_table_set_text(v, row, out, cell->s);
            } else if (cell->kind == RPT_INT) {
                rpt_table_set_int(v, row, out, cell->i);
            }
            out++;
        }
    }
    return v;
}

static int cmd_reports(struct ctx *c)
{
    struct rpt_table *t = rpt_table_new();
    struct tr_err err = {0};
    int64_t left_out = 0;
    int rc;
    if (rpt_q_report_list(c->db, &c->scope, c->o->limit, t, &left_out, &err) < 0) {
        rc = report_err(&err);
    } else if (c->out.fmt == RPT_FMT_TABLE) {
        struct rpt_table *v = reports_for_terminal(t);
        rpt_table_set_drop(v, "source", 2);
        rpt_table_set_drop(v, "dkim", 1);
        rc = write_listing(c, v, left_out, 1);
        rpt_table_free(v);
    } else {
        rpt_table_datetimes(t, (size_t)rpt_table_col(t, "start"));
        rpt_table_datetimes(t, (size_t)rpt_table_col(t, "end"));
        rc = write_listing(c, t, left_out, 1);
    }
    rpt_table_free(t);
    return rc;
}

/* Parses a positive ID argument. */
static int parse_id(const char *s, int64_t *id)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || v <= 0) {
        fprintf(stderr, PROG ": '%s' is not an ID\n", s);
        return -1;
    }
    *id = v;
    return 0;
}

/* Prints a document and its raw bytes (show, quarantine show). */
static int write_object(struct ctx *c, const char *key, json_t *obj, const char *raw_key,
                        const char *raw_title, char *raw, size_t raw_len, const struct tr_err *raw_err)
{
    int w = 0;
    if (c->out.fmt == RPT_FMT_JSON) {
        json_t *doc = json_object(), *r = NULL;
        json_object_set(doc, key, obj);
        if (raw != NULL)
            r = json_stringn(raw, raw_len);
        if (raw != NULL && r == NULL) {          /* not UTF-8: escaped text */
            char *e = rpt_term_escape(raw, raw_len, 1);
            r = json_string(e);
            free(e);
            json_object_set_new(doc, "raw_escaped", json_true());
        }
        json_object_set_new(doc, raw_key, r ? r : json_null());
        if (raw == NULL)
            json_object_set_new(doc, "raw_error", json_string(raw_err->detail));
        w = rpt_out_json(&c->out, doc);
        json_decref(doc);
    } else if (c->out.fmt == RPT_FMT_CSV) {
        json_object_set_new(obj, raw_key, raw ? json_stringn(raw, raw_len) : json_null());
        if (raw != NULL && json_is_null(json_object_get(obj, raw_key))) {
            char *e = rpt_term_escape(raw, raw_len, 1);
            json_object_set_new(obj, raw_key, json_string(e));
            free(e);
        }
        w = rpt_out_tree(&c->out, obj);
    } else {
        w |= rpt_out_tree(&c->out, obj);
        if (raw != NULL) {
            w |= rpt_out_printf(&c->out, "\n%s (%zu bytes):\n", raw_title, raw_len);
            w |= rpt_out_text(&c->out, raw, raw_len);
            if (raw_len > 0 && raw[raw_len - 1] != '\n')
                w |= rpt_out_printf(&c->out, "\n");
        } else {
            fprintf(stderr, PROG ": %s: %s\n", raw_title, raw_err->detail);
        }
    }
    return w ? write_failed() : EXIT_OK;
}

static int cmd_show(struct ctx *c)
{
    json_t *obj;
    char *raw;
    size_t raw_len = 0;
    struct tr_err err = {0}, raw_err = {0};
    int64_t id;
    int rc;

    if (c->o->n_args != 1) {
        fprintf(stderr, PROG ": show needs one report ID\n");
        return EXIT_USAGE;
    }
    if (parse_id(c->o->args[0], &id) < 0)
        return EXIT_USAGE;
    if (rpt_q_report_show(c->db, id, &obj, &raw, &raw_len, &raw_err, &err) < 0)
        return report_err(&err);
    rc = write_object(c, "report", obj, "raw_json", "As sent", raw, raw_len, &raw_err);
    json_decref(obj);
    free(raw);
    return rc;
}

static int cmd_quarantine(struct ctx *c)
{
    struct tr_err err = {0}, raw_err = {0};
    int rc;

    if (c->o->n_args == 0) {
        struct rpt_table *t = rpt_table_new();
        int more = 0;
        if (rpt_q_quarantine_list(c->db, &c->scope, c->o->since_given || c->o->until_given, c->o->limit,
                                  t, &more, &err) < 0)
            rc = report_err(&err);
        else
            rc = write_listing(c, t, more, c->o->since_given || c->o->until_given);
        rpt_table_free(t);
        return rc;
    }
    if (strcmp(c->o->args[0], "show") == 0 && c->o->n_args == 2) {
        json_t *obj;
        char *raw;
        size_t raw_len = 0;
        int64_t id;
        if (parse_id(c->o->args[1], &id) < 0)
            return EXIT_USAGE;
        if (rpt_q_quarantine_show(c->db, id, &obj, &raw, &raw_len, &raw_err, &err) < 0)
            return report_err(&err);
        rc = write_object(c, "quarantine", obj, "raw", "Input as received", raw, raw_len, &raw_err);
        json_decref(obj);
        free(raw);
        return rc;
    }
    fprintf(stderr, PROG ": usage: quarantine [show ID]\n");
    return EXIT_USAGE;
}

static int cmd_email(struct ctx *c)
{
    struct rpt_digest *d = NULL;
    struct rpt_find_opts fo;
    struct rpt_email_opts eo = {c->o->from, c->o->to, c->o->now};
    struct tr_err err = {0};
    char *msg = NULL;
    size_t len = 0;
    int rc = EXIT_OK;

    if (!c->o->since_given && !c->o->until_given) {     /* the last complete UTC day */
        c->scope.until = rpt_day_start(c->o->now);
        c->scope.since = c->scope.until - 86400;
    }
    if (rpt_digest_find_opts(c->o, &fo, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err.detail);
        return EXIT_USAGE;
    }
    if (rpt_digest_build(c->db, &c->scope, &fo, c->o->now, &d, &err) < 0)
        return report_err(&err);
    {
        int64_t oldest;
        d->backlog = rpt_backlog_count(rpt_backlog_dir(), (int64_t)time(NULL), &oldest);
    }
    /* --only-if-*: nothing to send when each condition given is quiet
     * (with both, either one sends). */
    if ((c->o->only_if_failures || c->o->only_if_findings) && (!c->o->only_if_failures || rpt_digest_clean(d))
        && (!c->o->only_if_findings || rpt_digest_quiet(d))) {
        rpt_digest_free(d);
        return EXIT_OK;
    }
    if (rpt_email_build(d, &eo, &msg, &len, &err) < 0)
        rc = report_err(&err);
    else if (c->o->sendmail != NULL) {
        if (rpt_email_sendmail(c->o->sendmail, msg, len, &err) < 0)
            rc = report_err(&err);
    } else if (rpt_out_bytes(&c->out, msg, len) < 0) {
        rc = write_failed();
    }
    free(msg);
    rpt_digest_free(d);
    return rc;
}

/* check opens its own read-write connection (it stores its runs), so main
 * calls it before the read-only open; see check.c. */
static int cmd_check(struct ctx *c)
{
    struct chk_opts co = {c->o->resolver, c->o->ca_file, c->o->timeout, c->o->now};
    return rpt_check_main(c->o, &co, tr_db_default_path(c->o->db));
}

/* text to -o FILE atomically (a temporary file renamed: a reader never
 * sees half of it), else to stdout.  Returns the exit status. */
static int write_output(struct ctx *c, const char *text, size_t len)
{
    struct tr_err err = {0};

    if (c->o->output != NULL)
        return tr_write_file_atomic(c->o->output, text, len, 0644, &err) < 0 ? report_err(&err) : EXIT_OK;
    return rpt_out_bytes(&c->out, text, len) < 0 ? write_failed() : EXIT_OK;
}

/* metrics: to stdout, or with -o atomically to FILE (node_exporter reads
 * the textfile collector's directory at any moment). */
static int cmd_metrics(struct ctx *c)
{
    struct tr_err err = {0};
    char *text;
    size_t len;
    int rc;

    if (rpt_metrics_build(c->db, tr_db_default_path(c->o->db), c->o->spool, c->o->n_spool, c->o->now,
                          &text, &len, &err) < 0)
        return report_err(&err);
    rc = write_output(c, text, len);
    free(text);
    return rc;
}

/* The thresholds of findings and html: the defaults (findings.h) with
 * what the command line changed; and their window: the last
 * RPT_FIND_DEFAULT_DAYS complete UTC days (reports cover whole days and
 * arrive after them), or the RPT_FIND_DEFAULT_DAYS days before --until.
 * Returns 0, or -1 after saying why on stderr (a usage error). */
static int findings_setup(struct ctx *c, struct rpt_find_opts *fo)
{
    rpt_find_opts_default(fo);
    if (c->o->warn_rate >= 0)
        fo->warn_rate = c->o->warn_rate;
    if (c->o->crit_rate >= 0)
        fo->crit_rate = c->o->crit_rate;
    if (c->o->silent_days >= 0)
        fo->silent_days = c->o->silent_days;
    if (c->o->stopped_days >= 0)
        fo->stopped_days = c->o->stopped_days;
    if (c->o->ready_days >= 0)
        fo->ready_days = c->o->ready_days;
    if (c->o->check_days >= 0)
        fo->check_days = c->o->check_days;
    if (fo->warn_rate > fo->crit_rate) {
        fprintf(stderr, PROG ": --warn-rate %.2f is above --crit-rate %.2f\n", fo->warn_rate, fo->crit_rate);
        return -1;
    }
    if (!c->o->until_given && !c->o->since_given)
        c->scope.until = rpt_day_start(c->o->now);
    if (!c->o->since_given)
        c->scope.since = c->scope.until - (int64_t)RPT_FIND_DEFAULT_DAYS * 86400;
    if (c->scope.until <= c->scope.since) {
        fprintf(stderr, PROG ": --until must be later than --since\n");
        return -1;
    }
    return 0;
}

/* html: the dashboard page for the window (default as findings: the last
 * RPT_FIND_DEFAULT_DAYS complete days), its findings first; to stdout or with -o
 * atomically to FILE (a web server may read it at any moment). */
static int cmd_html(struct ctx *c)
{
    struct rpt_find_opts fo;
    struct rpt_findings *f = NULL;
    struct tr_err err = {0};
    char *page = NULL;
    size_t len;
    int rc = EXIT_OK;

    if (c->o->n_spool > 0) {
        fprintf(stderr, PROG ": --spool: not an option of 'html'\n");
        return EXIT_USAGE;
    }
    if (findings_setup(c, &fo) < 0)
        return EXIT_USAGE;
    if (rpt_findings_build(c->db, &c->scope, &fo, c->o->now, &f, &err) < 0 ||
        rpt_dashboard_build(c->db, &c->scope, f, c->o->now, &page, &len, &err) < 0)
        rc = report_err(&err);
    else
        rc = write_output(c, page, len);
    free(page);
    rpt_findings_free(f);
    return rc;
}

/* findings: its own exit statuses, like check's (a monitoring check). */
enum { FIND_EXIT_OK = 0, FIND_EXIT_WARNING = 1, FIND_EXIT_CRITICAL = 2, FIND_EXIT_USAGE = 3, FIND_EXIT_ERROR = 5 };

static int cmd_findings(struct ctx *c)
{
    struct rpt_find_opts fo;
    struct rpt_findings *f = NULL;
    struct tr_err err = {0};
    int w = 0, rc;

    if (findings_setup(c, &fo) < 0)
        return FIND_EXIT_USAGE;
    if (rpt_findings_build(c->db, &c->scope, &fo, c->o->now, &f, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err.detail);
        return FIND_EXIT_ERROR;
    }
    if (c->out.fmt == RPT_FMT_JSON) {
        json_t *doc = rpt_findings_json(f);
        w = rpt_out_json(&c->out, doc);
        json_decref(doc);
    } else if (c->out.fmt == RPT_FMT_CSV) {
        struct rpt_table *t = rpt_findings_table(f);
        w = rpt_out_table(&c->out, t);
        rpt_table_free(t);
    } else {
        w = rpt_findings_write_text(&c->out, f);
    }
    rc = f->worst == RPT_SEV_CRITICAL ? FIND_EXIT_CRITICAL
         : f->worst == RPT_SEV_WARNING ? FIND_EXIT_WARNING : FIND_EXIT_OK;
    rpt_findings_free(f);
    if (w != 0) {
        fprintf(stderr, PROG ": writing output failed\n");
        return FIND_EXIT_ERROR;
    }
    return rc;
}

static const struct command {
    const char *name;
    int (*run)(struct ctx *c);
    const char *help;
    int accepts;
} commands[] = {
    {"summary", cmd_summary, help_summary, A_WINDOW | A_FILTER | A_FORMAT | A_BY | A_LIMIT},
    {"trend", cmd_trend, help_trend, A_WINDOW | A_FILTER | A_FORMAT | A_INTERVAL},
    {"failures", cmd_failures, help_failures, A_WINDOW | A_FILTER | A_FORMAT | A_LIMIT},
    {"reports", cmd_reports, help_reports, A_WINDOW | A_FILTER | A_FORMAT | A_LIMIT},
    {"show", cmd_show, help_show, A_FORMAT},
    {"quarantine", cmd_quarantine, help_quarantine, A_WINDOW | A_FORMAT | A_LIMIT},
    {"email", cmd_email, help_email, A_WINDOW | A_FILTER | A_EMAIL | A_FIND},
    {"check", cmd_check, help_check, A_FORMAT | A_CHECK},
    {"metrics", cmd_metrics, help_metrics, A_METRICS},
    {"findings", cmd_findings, help_findings, A_WINDOW | A_FILTER | A_FORMAT | A_FIND},
    {"html", cmd_html, help_html, A_WINDOW | A_FILTER | A_METRICS | A_FIND},   /* -o; --spool refused */
};

/* check and findings are monitoring checks: 1 and 2 are their verdicts,
 * so their usage and database errors have codes of their own. */
static int usage_status(const char *command)
{
    if (command != NULL && strcmp(command, "check") == 0)
        return CHK_EXIT_USAGE;
    if (command != NULL && strcmp(command, "findings") == 0)
        return FIND_EXIT_USAGE;
    return EXIT_USAGE;
}

static int error_status(const char *command)
{
    return command != NULL && strcmp(command, "findings") == 0 ? FIND_EXIT_ERROR : EXIT_ERROR;
}

/* Names the first option given that cmd does not accept, or NULL. */
static const char *misplaced_option(const struct command *cmd, const struct rpt_opts *o)
{
    if (!(cmd->accepts & A_WINDOW) && (o->since_given || o->until_given)) return "--since/--until";
    if (!(cmd->accepts & A_FILTER) && o->filter_given) return "--domain/--org/--mx/--type";
    if (!(cmd->accepts & A_FORMAT) && o->format_given) return "--format";
    if (!(cmd->accepts & A_BY) && o->n_by) return "--by";
    if (!(cmd->accepts & A_INTERVAL) && o->interval_given) return "--interval";
    if (!(cmd->accepts & A_LIMIT) && o->limit_given) return "--limit";
    if (!(cmd->accepts & A_EMAIL) && o->email_given) return "--to/--from/--sendmail/--only-if-failures/--only-if-findings";
    if (!(cmd->accepts & A_CHECK) && o->check_given) return "--resolver/--ca-file/--timeout";
    if (!(cmd->accepts & A_METRICS) && o->metrics_given) return "-o/--spool";
    if (!(cmd->accepts & A_FIND) && o->find_given)
        return "--warn-rate/--crit-rate/--silent-days/--stopped-days/--ready-days/--check-days";
    return NULL;
}

int main(int argc, char **argv)
{
    struct rpt_opts o;
    struct tr_err err = {0};
    const struct command *cmd = NULL;
    struct tr_db *tdb = NULL;
    struct ctx c;
    const char *bad, *path;
    int rc;

    if (rpt_parse_args(argc, argv, &o, &err) < 0) {
        const char *peek = rpt_peek_command(argc, argv);
        fprintf(stderr, PROG ": %s\n", err.detail);
        die_usage_hint();
        return usage_status(peek);
    }
    if (o.version) {
        printf(PROG " " TLSRPT_VERSION "\n");
        return EXIT_OK;
    }
    if (o.command != NULL && strcmp(o.command, "help") == 0) {
        o.help = 1;
        o.command = o.n_args ? o.args[0] : NULL;
    }
    for (size_t i = 0; o.command && i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(o.command, commands[i].name) == 0)
            cmd = &commands[i];
    if (o.help) {
        fputs(cmd ? cmd->help : usage_text, stdout);
        return ferror(stdout) ? EXIT_ERROR : EXIT_OK;
    }
    if (o.command == NULL) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (cmd == NULL) {
        fprintf(stderr, PROG ": unknown command '%s'\n", o.command);
        die_usage_hint();
        return EXIT_USAGE;
    }
    if ((bad = misplaced_option(cmd, &o)) != NULL) {
        fprintf(stderr, PROG ": %s: not an option of '%s'\n", bad, cmd->name);
        return usage_status(cmd->name);
    }
    if (cmd->run == cmd_check) {
        memset(&c, 0, sizeof c);
        c.o = &o;
        return cmd_check(&c);
    }
    if (o.n_args > 0 && cmd->run != cmd_show && cmd->run != cmd_quarantine) {
        fprintf(stderr, PROG ": %s: unexpected argument '%s'\n", cmd->name, o.args[0]);
        return usage_status(cmd->name);
    }

    /* One thread, one connection: SQLite's mutexes and memory statistics
     * were 4% of a 90-day trend's instructions (BENCHMARKS.md).  Must come
     * before SQLite is first used; failure only costs speed. */
    (void)sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    /* Reports the milter spooled but could not store: say so on every
     * command, or the database just looks quiet (backlog.h). */
    rpt_backlog_warn(stderr, rpt_backlog_dir(), (int64_t)time(NULL));
    path = tr_db_default_path(o.db);
    if (access(path, F_OK) < 0 && errno == ENOENT) {
        fprintf(stderr, PROG ": no database at %s (run tlsrpt-ingest first)\n", path);
        return error_status(cmd->name);
    }
    if (tr_db_open(path, TR_DB_READONLY, &tdb, &err) < 0) {
        /* Name the file: SQLite's "file is not a database" does not. */
        if (strncmp(err.detail, path, strlen(path)) == 0)
            fprintf(stderr, PROG ": %s\n", err.detail);
        else
            fprintf(stderr, PROG ": %s: %s\n", path, err.detail);
        if (access(path, R_OK) < 0)     /* SQLite's own text does not say why */
            fprintf(stderr, PROG ": %s: %s (run as a user who can read it, e.g. tlsrpt or root)\n", path,
                    strerror(errno));
        return error_status(cmd->name);
    }
    memset(&c, 0, sizeof c);
    c.o = &o;
    c.db = tr_db_handle(tdb);
    /* Large windows re-read index pages: a larger page cache (query.h).
     * Failure only costs speed. */
    sqlite3_exec(c.db, "PRAGMA cache_size = " RPT_CACHE_KIB, NULL, NULL, NULL);
    rpt_out_init(&c.out, stdout, o.format);
    if (cmd->accepts & A_FILTER) {      /* a typo in a filter: say so, name the nearest values */
        char **hints;
        size_t n = rpt_filter_hints(c.db, &o.f, &hints);
        for (size_t i = 0; i < n; i++) {
            fprintf(stderr, PROG ": %s\n", hints[i]);
            free(hints[i]);
        }
        free(hints);
    }
    c.scope.since = o.since;
    c.scope.until = o.until;
    c.scope.f = &o.f;
    rc = cmd->run(&c);
    if (fflush(stdout) != 0 && (rc == EXIT_OK || cmd->run == cmd_findings)) {
        write_failed();
        rc = error_status(cmd->name);
    }
    tr_db_close(tdb);
    return rc;
}
