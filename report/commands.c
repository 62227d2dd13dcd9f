/*
 * commands.c - the subcommands of tlsrpt-report that show what is stored
 * (commands.h): summary, trend, the failures and reports listings, show
 * ID, quarantine [show ID]; and the error helpers every subcommand uses.
 * Each queries (summary.c, trend.c, query.c, listing.c, show.c) and hands
 * a table or a JSON document to the writers of output.c.
 */
#include "commands.h"
#include "digest.h"
#include "help.h"
#include "summary.h"
#include "trend.h"
#include "tlsrpt/codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int rpt_cmd_error(const struct tr_err *err)
{
    fprintf(stderr, PROG ": %s\n", err->detail);
    if (err->code != NULL && strcmp(err->code, RPT_E_NOT_FOUND) == 0)
        return EXIT_NOT_FOUND;
    if (err->code != NULL && strcmp(err->code, TR_E_USAGE) == 0)
        return EXIT_USAGE;
    return EXIT_ERROR;
}

int rpt_cmd_write_failed(void)
{
    fprintf(stderr, PROG ": writing output failed\n");
    return EXIT_ERROR;
}

/* summary's row limit: --limit, else RPT_SUMMARY_TERM_LIMIT for a table
 * on a terminal, else every row. */
static size_t summary_limit(const struct rpt_ctx *c)
{
    if (c->o->limit_given)
        return (size_t)c->o->limit;
    return c->out.fmt == RPT_FMT_TABLE && isatty(fileno(c->out.fp)) ? RPT_SUMMARY_TERM_LIMIT : 0;
}

/* 1 when the rows can carry sessions: every key is report-level and no
 * --mx or --type filter (sessions are not counted per MX or type). */
static int rows_take_sessions(const struct rpt_ctx *c, const enum rpt_key *by, size_t n_by)
{
    if (c->o->f.mx.n > 0 || c->o->f.type.n > 0)
        return 0;
    for (size_t i = 0; i < n_by; i++)
        if (!rpt_key_is_report_level(by[i]))
            return 0;
    return 1;
}

int rpt_cmd_summary(struct rpt_ctx *c)
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
        return rpt_cmd_error(&err);
    if (rc == RPT_SUMMARY_WRITE_FAILED)
        return rpt_cmd_write_failed();
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

int rpt_cmd_trend(struct rpt_ctx *c)
{
    struct rpt_trend *t = NULL;
    struct tr_err err = {0};
    int w = 0;

    if (rpt_trend_build(c->db, &c->scope, c->o->interval, c->o->now, &t, &err) < 0)
        return rpt_cmd_error(&err);
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
    return w ? rpt_cmd_write_failed() : EXIT_OK;
}

/* Writes a listing; JSON as {"since","until","rows","more","left_out"}.
 * left_out: rows past --limit (0: none), said on stderr with how to see
 * them. */
static int write_listing(struct rpt_ctx *c, const struct rpt_table *t, int64_t left_out, int window)
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
    return w ? rpt_cmd_write_failed() : EXIT_OK;
}

int rpt_cmd_failures(struct rpt_ctx *c)
{
    struct rpt_table *t = rpt_table_new();
    struct tr_err err = {0};
    int64_t left_out = 0;
    int rc;
    if (rpt_q_failure_list(c->db, &c->scope, c->o->limit, t, &left_out, &err) < 0) {
        rc = rpt_cmd_error(&err);
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

int rpt_cmd_reports(struct rpt_ctx *c)
{
    struct rpt_table *t = rpt_table_new();
    struct tr_err err = {0};
    int64_t left_out = 0;
    int rc;
    if (rpt_q_report_list(c->db, &c->scope, c->o->limit, t, &left_out, &err) < 0) {
        rc = rpt_cmd_error(&err);
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
static int write_object(struct rpt_ctx *c, const char *key, json_t *obj, const char *raw_key,
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
    return w ? rpt_cmd_write_failed() : EXIT_OK;
}

/* The query of show or quarantine show (query.h). */
typedef int (*show_query)(sqlite3 *db, int64_t id, json_t **obj, char **raw, size_t *raw_len,
                          struct tr_err *raw_err, struct tr_err *err);

/* show ID, quarantine show ID: the object with ID id_arg from query,
 * written by write_object under key, its raw bytes under raw_key. */
static int show_object(struct rpt_ctx *c, const char *id_arg, show_query query, const char *key,
                       const char *raw_key, const char *raw_title)
{
    json_t *obj;
    char *raw;
    size_t raw_len = 0;
    struct tr_err err = {0}, raw_err = {0};
    int64_t id;
    int rc;

    if (parse_id(id_arg, &id) < 0)
        return EXIT_USAGE;
    if (query(c->db, id, &obj, &raw, &raw_len, &raw_err, &err) < 0)
        return rpt_cmd_error(&err);
    rc = write_object(c, key, obj, raw_key, raw_title, raw, raw_len, &raw_err);
    json_decref(obj);
    free(raw);
    return rc;
}

int rpt_cmd_show(struct rpt_ctx *c)
{
    if (c->o->n_args != 1) {
        fprintf(stderr, PROG ": show needs one report ID\n");
        return EXIT_USAGE;
    }
    return show_object(c, c->o->args[0], rpt_q_report_show, "report", "raw_json", "As sent");
}

int rpt_cmd_quarantine(struct rpt_ctx *c)
{
    struct tr_err err = {0};
    int rc;

    if (c->o->n_args == 0) {
        struct rpt_table *t = rpt_table_new();
        int more = 0;
        if (rpt_q_quarantine_list(c->db, &c->scope, c->o->since_given || c->o->until_given, c->o->limit,
                                  t, &more, &err) < 0)
            rc = rpt_cmd_error(&err);
        else
            rc = write_listing(c, t, more, c->o->since_given || c->o->until_given);
        rpt_table_free(t);
        return rc;
    }
    if (strcmp(c->o->args[0], "show") == 0 && c->o->n_args == 2)
        return show_object(c, c->o->args[1], rpt_q_quarantine_show, "quarantine", "raw", "Input as received");
    fprintf(stderr, PROG ": usage: quarantine [show ID]\n");
    return EXIT_USAGE;
}
