/*
 * findings.c - the findings of a window (findings.h): the build (which
 * runs the rules of findings_fail.c, findings_diag.c, findings_rules.c,
 * findings_capture.c and findings_live.c over shared state,
 * findings_int.h), the order of the
 * findings, and their table, JSON and terminal forms.
 *
 * Numbers come from the same queries as summary (rpt_q_sessions,
 * rpt_q_failed over the rollups), so they agree with it; only reason codes
 * and policy strings are read from the raw rows of the window.
 */
#include "findings_int.h"
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rpt_severity_name(enum rpt_severity s)
{
    switch (s) {
    case RPT_SEV_CRITICAL: return "critical";
    case RPT_SEV_WARNING: return "warning";
    case RPT_SEV_INFO: return "info";
    default: return "none";
    }
}

void rpt_find_opts_default(struct rpt_find_opts *fo)
{
    fo->crit_rate = RPT_FIND_CRIT_RATE;
    fo->warn_rate = RPT_FIND_WARN_RATE;
    fo->silent_days = RPT_FIND_SILENT_DAYS;
    fo->stopped_days = RPT_FIND_STOPPED_DAYS;
    fo->ready_days = RPT_FIND_READY_DAYS;
    fo->check_days = RPT_FIND_CHECK_DAYS;
}

/* ---------------------------------------------------------------- build state */

struct rpt_finding *fb_add(struct fb *b, const char *code, enum rpt_severity sev, const char *domain)
{
    struct rpt_finding *x;
    if (b->f->n == b->alloc) {
        b->alloc = b->alloc ? 2 * b->alloc : 32;
        b->f->v = xrealloc(b->f->v, b->alloc * sizeof *b->f->v);
    }
    x = &b->f->v[b->f->n++];
    memset(x, 0, sizeof *x);
    x->code = code;
    x->severity = sev;
    x->domain = domain ? xstrdup(domain) : NULL;
    x->sessions = x->failed = -1;
    x->rate = -1;
    x->first_day = x->last_day = -1;
    return x;
}

struct fdomain *fb_domain(struct fb *b, const char *name)
{
    size_t i = fmap_get(&b->dom_map, name);
    struct fdomain *d;
    if (i != (size_t)-1)
        return &b->dom[i];
    if (b->n_dom == b->alloc_dom) {
        b->alloc_dom = b->alloc_dom ? 2 * b->alloc_dom : 32;
        b->dom = xrealloc(b->dom, b->alloc_dom * sizeof *b->dom);
    }
    d = &b->dom[b->n_dom];
    memset(d, 0, sizeof *d);
    d->name = xstrdup(name);
    d->first = d->last = d->np_first = d->np_last = -1;
    fmap_put(&b->dom_map, name, b->n_dom++);
    return d;
}

enum rpt_severity fb_rate_severity(const struct fb *b, double rate)
{
    if (rate >= b->fo->crit_rate)
        return RPT_SEV_CRITICAL;
    if (rate >= b->fo->warn_rate)
        return RPT_SEV_WARNING;
    return RPT_SEV_NONE;
}

double fb_pct(int64_t part, int64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : -1;
}

const char *fb_cell_text(const struct rpt_table *t, size_t r, size_t c)
{
    const struct rpt_cell *x = rpt_table_cell(t, r, c);
    return x->kind == RPT_TEXT ? x->s : "";
}

int64_t fb_cell_int(const struct rpt_table *t, size_t r, size_t c)
{
    const struct rpt_cell *x = rpt_table_cell(t, r, c);
    return x->kind == RPT_INT ? x->i : x->kind == RPT_REAL ? (int64_t)x->d : 0;
}

void fb_widen(int64_t *first, int64_t *last, int64_t day)
{
    if (*first < 0 || day < *first)
        *first = day;
    if (*last < 0 || day > *last)
        *last = day;
}

void fb_date(int64_t t, char *buf)
{
    if (t < 0)
        snprintf(buf, RPT_LABEL_MAX, "-");
    else
        rpt_fmt_date(t, buf);
}

/* tmpl with its one "%s" replaced by what (the templates are the tables'
 * constants; no printf on them). */
char *fb_fix_text(const char *tmpl, const char *what)
{
    const char *at = strstr(tmpl, "%s");
    if (at == NULL)
        return xstrdup(tmpl);
    return xasprintf("%.*s%s%s", (int)(at - tmpl), tmpl, what ? what : "", at + 2);
}

void fb_set_numbers(struct rpt_finding *x, int64_t failed, int64_t sessions)
{
    x->failed = failed;
    x->sessions = sessions;
    x->rate = fb_pct(failed, sessions);
}


/* ---------------------------------------------------------------- order, build */

static int cmp_opt(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int cmp_finding(const void *pa, const void *pb)
{
    const struct rpt_finding *a = pa, *b = pb;
    int c;
    if (a->severity != b->severity)
        return a->severity > b->severity ? -1 : 1;
    if ((c = cmp_opt(a->domain, b->domain)) != 0)
        return c;
    if ((c = strcmp(a->code, b->code)) != 0)
        return c;
    if ((c = cmp_opt(a->mx, b->mx)) != 0)
        return c;
    if ((c = cmp_opt(a->type, b->type)) != 0)
        return c;
    return cmp_opt(a->reasons, b->reasons);
}

static void finding_free(struct rpt_finding *x)
{
    free(x->domain);
    free(x->mx);
    free(x->type);
    free(x->orgs);
    free(x->reasons);
    free(x->policies);
    free(x->evidence);
    free(x->meaning);
    free(x->fix);
}

void rpt_findings_free(struct rpt_findings *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++)
        finding_free(&f->v[i]);
    free(f->v);
    free(f);
}

static void fb_free(struct fb *b)
{
    for (size_t i = 0; i < b->n_dom; i++) {
        struct fdomain *d = &b->dom[i];
        free(d->name);
        fnames_free(&d->orgs);
        fnames_free(&d->mxs);
        fnames_free(&d->types);
        fnames_free(&d->no_policy_orgs);
        fnames_free(&d->sts_orgs);
        fr_free_policies(d);
    }
    free(b->dom);
    fmap_free(&b->dom_map);
}

int rpt_findings_build(sqlite3 *db, const struct rpt_scope *s, const struct rpt_find_opts *fo,
                       int64_t now, struct rpt_findings **out, struct tr_err *err)
{
    struct fb b;
    struct rpt_findings *f = xcalloc(1, sizeof *f);
    int rc = -1;

    memset(&b, 0, sizeof b);
    b.db = db;
    b.fo = fo;
    b.now = now;
    b.f = f;
    b.win = *s;
    b.win.any_order = 1;
    b.win.epoch_keys = 1;
    b.prev = b.win;
    b.prev.until = s->since;
    /* the same number of days before (whole days when the window is) */
    b.prev.since = s->since - (s->until - s->since + 86399) / 86400 * 86400;
    f->since = s->since;
    f->until = s->until;
    f->prev_since = b.prev.since;

    /* The policies first (validation-failure and mx-not-in-policy read
     * them), the pipeline before the reporters (a stopped pipeline
     * silences every reporter: that is one finding, not one each). */
    b.detail_filter = s->f->mx.n > 0 || s->f->type.n > 0;
    if (fr_load_policies(&b, err) < 0 || ff_failure_rules(&b, err) < 0 || fr_pipeline_rules(&b, err) < 0)
        goto done;
    /* --mx and --type narrow the failure details only: what is not about
     * them (policies, reporters) does not match such a filter. */
    if (!b.detail_filter && (fr_policy_rules(&b, err) < 0 || fr_reporter_rules(&b, err) < 0))
        goto done;
    /* The live checks last: they add notes to the findings made so far.
     * Not with --mx or --type (a check is about a whole domain). */
    if (!b.detail_filter && fl_live_rules(&b, err) < 0)
        goto done;

    if (f->n > 1)
        qsort(f->v, f->n, sizeof *f->v, cmp_finding);
    while (f->n > RPT_FIND_MAX) {
        finding_free(&f->v[--f->n]);
        f->dropped++;
    }
    f->worst = RPT_SEV_NONE;
    for (size_t i = 0; i < f->n; i++) {
        struct rpt_finding *x = &f->v[i];
        f->n_critical += x->severity == RPT_SEV_CRITICAL;
        f->n_warning += x->severity == RPT_SEV_WARNING;
        f->n_info += x->severity == RPT_SEV_INFO;
        if (x->severity > f->worst)
            f->worst = x->severity;
        if (strcmp(x->code, "capture-stopped") == 0)
            f->pipeline_stopped = 1;
    }
    rc = 0;
done:
    fb_free(&b);
    if (rc < 0) {
        rpt_findings_free(f);
        f = NULL;
    }
    *out = f;
    return rc;
}

/* ---------------------------------------------------------------- table, JSON */

static const struct { const char *name; enum rpt_col_style style; } table_cols[] = {
    {"severity", RPT_S_SEVERITY}, {"code", RPT_S_TEXT}, {"domain", RPT_S_TEXT}, {"mx", RPT_S_TEXT},
    {"type", RPT_S_TEXT}, {"orgs", RPT_S_TEXT}, {"sessions", RPT_S_COUNT}, {"failed", RPT_S_FAIL},
    {"rate", RPT_S_RATE}, {"reasons", RPT_S_TEXT}, {"first_day", RPT_S_TEXT}, {"last_day", RPT_S_TEXT},
    {"policies", RPT_S_TEXT}, {"evidence", RPT_S_TEXT}, {"meaning", RPT_S_TEXT}, {"fix", RPT_S_TEXT},
};
#define N_TABLE_COLS (sizeof table_cols / sizeof table_cols[0])

struct rpt_table *rpt_findings_table(const struct rpt_findings *f)
{
    struct rpt_table *t = rpt_table_new();
    char day[RPT_LABEL_MAX];

    for (size_t c = 0; c < N_TABLE_COLS; c++)
        rpt_table_add_col(t, table_cols[c].name, table_cols[c].style);
    for (size_t i = 0; i < f->n; i++) {
        const struct rpt_finding *x = &f->v[i];
        size_t r = rpt_table_add_row(t);
        rpt_table_set_text(t, r, 0, rpt_severity_name(x->severity));
        rpt_table_set_text(t, r, 1, x->code);
        rpt_table_set_text(t, r, 2, x->domain);
        rpt_table_set_text(t, r, 3, x->mx);
        rpt_table_set_text(t, r, 4, x->type);
        rpt_table_set_text(t, r, 5, x->orgs);
        if (x->sessions >= 0)
            rpt_table_set_int(t, r, 6, x->sessions);
        if (x->failed >= 0)
            rpt_table_set_int(t, r, 7, x->failed);
        if (x->rate >= 0)
            rpt_table_set_real(t, r, 8, x->rate);
        rpt_table_set_text(t, r, 9, x->reasons);
        if (x->first_day >= 0) {
            rpt_fmt_date(x->first_day, day);
            rpt_table_set_text(t, r, 10, day);
        }
        if (x->last_day >= 0) {
            rpt_fmt_date(x->last_day, day);
            rpt_table_set_text(t, r, 11, day);
        }
        rpt_table_set_text(t, r, 12, x->policies);
        rpt_table_set_text(t, r, 13, x->evidence);
        rpt_table_set_text(t, r, 14, x->meaning);
        rpt_table_set_text(t, r, 15, x->fix);
    }
    return t;
}

static void set_datetime(json_t *o, const char *key, int64_t t)
{
    char buf[RPT_LABEL_MAX];
    rpt_fmt_datetime(t, buf);
    json_object_set_new(o, key, json_string(buf));
}

json_t *rpt_findings_json(const struct rpt_findings *f)
{
    json_t *doc = json_object(), *counts = json_object();
    struct rpt_table *t = rpt_findings_table(f);

    set_datetime(doc, "since", f->since);
    set_datetime(doc, "until", f->until);
    set_datetime(doc, "previous_since", f->prev_since);
    json_object_set_new(counts, "critical", json_integer((json_int_t)f->n_critical));
    json_object_set_new(counts, "warning", json_integer((json_int_t)f->n_warning));
    json_object_set_new(counts, "info", json_integer((json_int_t)f->n_info));
    json_object_set_new(counts, "dropped", json_integer((json_int_t)f->dropped));
    json_object_set_new(doc, "counts", counts);
    json_object_set_new(doc, "worst", f->worst == RPT_SEV_NONE ? json_null()
                                                               : json_string(rpt_severity_name(f->worst)));
    json_object_set_new(doc, "pipeline_stopped", json_boolean(f->pipeline_stopped));
    json_object_set_new(doc, "findings", rpt_table_to_json(t));
    rpt_table_free(t);
    return doc;
}

/* ---------------------------------------------------------------- the terminal form */

/* "2026-11-24 to 2026-11-30" for whole days, else both datetimes, into
 * buf (RPT_PERIOD_MAX bytes). */
static void window_text(int64_t since, int64_t until, char *buf)
{
    char a[RPT_LABEL_MAX], b[RPT_LABEL_MAX];
    if (since % 86400 == 0 && until % 86400 == 0) {
        rpt_digest_period(since, until, buf);
        return;
    }
    rpt_fmt_datetime(since, a);
    rpt_fmt_datetime(until, b);
    snprintf(buf, RPT_PERIOD_MAX, "%s to %s", a, b);
}

/* One finding as a block of "label: value" lines under its title. */
static int write_block(struct rpt_out *o, const struct rpt_finding *x)
{
    static const char *const colour[] = {[RPT_SEV_INFO] = RPT_ANSI_BOLD, [RPT_SEV_WARNING] = RPT_ANSI_YELLOW,
                                         [RPT_SEV_CRITICAL] = RPT_ANSI_RED};
    const struct { const char *label, *value; } lines[] = {
        {"mx", x->mx}, {"type", x->type}, {"senders", x->orgs}, {"reasons", x->reasons},
        {"days", NULL}, {"evidence", x->evidence}, {"meaning", x->meaning}, {"fix", x->fix},
    };
    char day1[RPT_LABEL_MAX], day2[RPT_LABEL_MAX];
    int w = 0;

    w |= rpt_out_style(o, colour[x->severity]);
    w |= rpt_out_printf(o, "%s", rpt_severity_name(x->severity));
    w |= rpt_out_style(o, RPT_ANSI_RESET);
    w |= rpt_out_printf(o, " %s", x->code);
    if (x->domain != NULL) {
        w |= rpt_out_printf(o, " ");
        w |= rpt_out_text(o, x->domain, strlen(x->domain));
    }
    w |= rpt_out_printf(o, "\n");
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (strcmp(lines[i].label, "days") == 0 && x->last_day >= 0) {
            rpt_fmt_date(x->first_day >= 0 ? x->first_day : x->last_day, day1);
            rpt_fmt_date(x->last_day, day2);
            if (x->first_day >= 0)
                w |= rpt_out_printf(o, "  %-9s %s to %s\n", "days", day1, day2);
            else
                w |= rpt_out_printf(o, "  %-9s %s\n", "last day", day2);
        }
        if (lines[i].value == NULL)
            continue;
        w |= rpt_out_printf(o, "  %-9s ", lines[i].label);
        w |= rpt_out_text(o, lines[i].value, strlen(lines[i].value));
        w |= rpt_out_printf(o, "\n");
    }
    if (x->policies != NULL) {
        const char *p = x->policies;
        w |= rpt_out_printf(o, "  policies\n");
        while (*p) {
            size_t n = strcspn(p, "\n");
            w |= rpt_out_printf(o, "    ");
            w |= rpt_out_text(o, p, n);
            w |= rpt_out_printf(o, "\n");
            p += n + (p[n] == '\n');
        }
    }
    return w;
}

/* The terminal form: the counts, a table of the findings (severity, code,
 * where, numbers, days), then each finding with its evidence and fix. */
int rpt_findings_write_text(struct rpt_out *o, const struct rpt_findings *f)
{
    static const char *const brief[] = {"severity", "code", "domain", "mx", "type", "failed", "sessions", "rate",
                                        "first_day", "last_day", "reasons"};
    struct rpt_table *full = rpt_findings_table(f), *t = rpt_table_new();
    char win[RPT_PERIOD_MAX], prev[RPT_PERIOD_MAX];
    int w = 0;

    window_text(f->since, f->until, win);
    window_text(f->prev_since, f->since, prev);
    w |= rpt_out_printf(o, "Findings %s (UTC), compared with %s: ", win, prev);
    w |= rpt_out_style(o, f->n_critical ? RPT_ANSI_RED : "");
    w |= rpt_out_printf(o, "%zu critical", f->n_critical);
    w |= rpt_out_style(o, f->n_critical ? RPT_ANSI_RESET : "");
    w |= rpt_out_printf(o, ", %zu warning, %zu info\n", f->n_warning, f->n_info);
    if (f->n == 0) {
        w |= rpt_out_printf(o, "Nothing needs attention.\n");
        goto done;
    }
    w |= rpt_out_printf(o, "\n");
    for (size_t i = 0; i < sizeof brief / sizeof brief[0]; i++) {
        int col = rpt_table_col(full, brief[i]);
        rpt_table_add_col(t, brief[i], full->cols[col].style);
    }
    for (size_t r = 0; r < full->nrows; r++) {
        size_t row = rpt_table_add_row(t);
        for (size_t i = 0; i < sizeof brief / sizeof brief[0]; i++) {
            const struct rpt_cell *cell = rpt_table_cell(full, r, (size_t)rpt_table_col(full, brief[i]));
            if (cell->kind == RPT_TEXT)
                rpt_table_set_text(t, row, i, cell->s);
            else if (cell->kind == RPT_INT)
                rpt_table_set_int(t, row, i, cell->i);
            else if (cell->kind == RPT_REAL)
                rpt_table_set_real(t, row, i, cell->d);
        }
    }
    /* On a narrow terminal the code stays whole longest, and the evidence
     * columns the blocks below repeat are left out first. */
    rpt_table_set_cut_last(t, "code");
    rpt_table_set_drop(t, "reasons", 5);
    rpt_table_set_drop(t, "first_day", 4);
    rpt_table_set_drop(t, "sessions", 3);
    rpt_table_set_drop(t, "rate", 2);
    rpt_table_set_drop(t, "last_day", 1);
    w |= rpt_out_table(o, t);
    for (size_t i = 0; i < f->n; i++) {
        w |= rpt_out_printf(o, "\n");
        w |= write_block(o, &f->v[i]);
    }
    if (f->dropped > 0)
        w |= rpt_out_printf(o, "\n... and %zu more findings (the least severe) left out.\n", f->dropped);
done:
    rpt_table_free(full);
    rpt_table_free(t);
    return w;
}
