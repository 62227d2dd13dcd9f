/*
 * metrics.c - Prometheus text exposition of the database and the daemons'
 * counters (metrics.h).
 *
 * The session and failure figures come from the same queries as
 * `summary` (rpt_q_sessions, rpt_q_failed), so the two always agree; the
 * rest are small aggregate queries.  Each family is written whole (HELP,
 * TYPE, then its samples), as the format requires.
 */
#include "metrics.h"
#include "args.h"
#include "output.h"
#include "query.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/stats.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define METRICS_STATS_FILES_MAX 32    /* .stats files read per directory */

struct labels {
    const char *k[2];
    const char *v[2];
    size_t n;
};

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const struct labels *l, long long value)
{
    fputs(name, f);
    for (size_t i = 0; l && i < l->n; i++) {
        char *e = rpt_prom_label(l->v[i] ? l->v[i] : "");
        fprintf(f, "%s%s=\"%s\"", i ? "," : "{", l->k[i], e);
        free(e);
    }
    fprintf(f, "%s %lld\n", l && l->n ? "}" : "", value);
}

static const char *text_of(const struct rpt_table *t, size_t r, size_t c)
{
    const struct rpt_cell *cell = rpt_table_cell(t, r, c);
    return cell->kind == RPT_TEXT ? cell->s : "";
}

/* Sessions per policy domain, successful and failed, in one window. */
static int sessions(FILE *f, sqlite3 *db, const struct rpt_scope *s, const char *name,
                    const char *type, const char *help, struct tr_err *err)
{
    static const enum rpt_key k[] = {RPT_K_DOMAIN};
    struct rpt_table *t = rpt_table_new();
    int rc = rpt_q_sessions(db, s, k, 1, t, err);

    if (rc == 0) {
        family(f, name, type, help);
        for (size_t r = 0; r < t->nrows; r++)
            for (int ok = 1; ok >= 0; ok--) {
                struct labels l = {{"policy_domain", "result"},
                                   {text_of(t, r, 0), ok ? "successful" : "failed"}, 2};
                sample(f, name, &l, (long long)rpt_table_cell(t, r, ok ? 2 : 3)->i);
            }
    }
    rpt_table_free(t);
    return rc;
}

/* Failed sessions per policy domain and result type, in one window. */
static int failures(FILE *f, sqlite3 *db, const struct rpt_scope *s, const char *name,
                    const char *type, const char *help, struct tr_err *err)
{
    static const enum rpt_key k[] = {RPT_K_DOMAIN, RPT_K_TYPE};
    struct rpt_table *t = rpt_table_new();
    int rc = rpt_q_failed(db, s, k, 2, t, err);

    if (rc == 0) {
        family(f, name, type, help);
        for (size_t r = 0; r < t->nrows; r++) {
            struct labels l = {{"policy_domain", "result_type"}, {text_of(t, r, 0), text_of(t, r, 1)}, 2};
            sample(f, name, &l, (long long)rpt_table_cell(t, r, 2)->i);
        }
    }
    rpt_table_free(t);
    return rc;
}

/* A family from SQL: rows of (label value, number), or one number when
 * label is NULL.  No value is ever spliced into sql. */
static int from_sql(FILE *f, sqlite3 *db, const char *sql, const char *name, const char *type,
                    const char *help, const char *label, struct tr_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        tr_err_set(err, TR_E_DB, "metrics: %s", sqlite3_errmsg(db));
        return -1;
    }
    family(f, name, type, help);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (label != NULL) {
            struct labels l = {{label}, {(const char *)sqlite3_column_text(st, 0)}, 1};
            sample(f, name, &l, sqlite3_column_int64(st, 1));
        } else {
            sample(f, name, NULL, sqlite3_column_int64(st, 0));
        }
    }
    if (rc != SQLITE_DONE)
        tr_err_set(err, TR_E_DB, "metrics: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---------------------------------------------------------------- latest
 *
 * The last-received families (per policy domain, per organization, and the
 * last ingest) need report.received_time, which no index holds.  Three
 * queries read the report table three times (one through the organization
 * index, a row lookup per report; one from every policy, then sorted):
 * 4.5 s of CPU at 1,000,000 reports.  Here report and policy are read once
 * each, in table order, and folded per name in C to the same values:
 * SQLite's GROUP BY (BINARY: the bytes, then the length), a NULL policy
 * domain shown as "" as before, a report without policies counted for its
 * organization and the last ingest only, a policy whose report is missing
 * not at all (the queries' join). */

#define METRICS_NAMES_MAX ((size_t)1 << 24)   /* distinct names kept per family */
/* Report ids (largest - smallest + 1) whose received times are held at once,
 * 8 bytes each (128 MiB at most; 8 MiB at 1,000,000 reports). */
#define METRICS_ID_SPAN_MAX ((int64_t)1 << 24)

struct latest {
    char *name;                  /* owned; len bytes and a NUL */
    size_t len;
    int64_t when;
};

struct latest_set {
    struct latest *v;
    size_t n;
    size_t *slot;                /* index + 1 into v, 0 = free; n_slot a power of 2 */
    size_t n_slot;
};

static size_t name_hash(const void *p, size_t len)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return (size_t)h;
}

static void latest_slot_in(struct latest_set *s, size_t idx)
{
    size_t i = name_hash(s->v[idx].name, s->v[idx].len) & (s->n_slot - 1);
    while (s->slot[i] != 0)
        i = (i + 1) & (s->n_slot - 1);
    s->slot[i] = idx + 1;
}

/* Keeps the later of when and name's time: 0, or -1 past METRICS_NAMES_MAX names. */
static int latest_add(struct latest_set *s, const void *name, size_t len, int64_t when)
{
    size_t i;

    if (2 * (s->n + 1) > s->n_slot) {
        free(s->slot);
        s->n_slot = s->n_slot ? 2 * s->n_slot : 64;
        s->slot = xcalloc(s->n_slot, sizeof *s->slot);
        for (size_t k = 0; k < s->n; k++)
            latest_slot_in(s, k);
    }
    for (i = name_hash(name, len) & (s->n_slot - 1); s->slot[i] != 0; i = (i + 1) & (s->n_slot - 1)) {
        struct latest *e = &s->v[s->slot[i] - 1];
        if (e->len == len && memcmp(e->name, name, len) == 0) {
            if (when > e->when)
                e->when = when;
            return 0;
        }
    }
    if (s->n == METRICS_NAMES_MAX)
        return -1;
    if ((s->n & (s->n - 1)) == 0)   /* 0, 1, 2, 4, ...: grow v by doubling */
        s->v = xrealloc(s->v, (s->n ? 2 * s->n : 1) * sizeof *s->v);
    s->v[s->n].name = xmalloc(len + 1);   /* the bytes as they are: a name may hold a NUL */
    memcpy(s->v[s->n].name, name, len);
    s->v[s->n].name[len] = '\0';
    s->v[s->n].len = len;
    s->v[s->n].when = when;
    s->slot[i] = ++s->n;
    return 0;
}

/* SQLite's BINARY collation: the common bytes, then the shorter first. */
static int by_bytes(const void *a, const void *b)
{
    const struct latest *x = a, *y = b;
    int c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void latest_free(struct latest_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].name);
    free(s->v);
    free(s->slot);
}

/* Folds column col of st's row (a name; NULL is "") with time when. */
static int fold_row(struct latest_set *set, sqlite3_stmt *st, int col, int64_t when)
{
    const void *name = sqlite3_column_text(st, col);
    size_t len = name ? (size_t)sqlite3_column_bytes(st, col) : 0;
    return latest_add(set, name ? name : "", len, when);
}

static int names_overflow(struct tr_err *err)
{
    tr_err_set(err, TR_E_LIMIT_MESSAGE_SIZE, "metrics: more than %zu names", METRICS_NAMES_MAX);
    return -1;
}

static int step_error(sqlite3 *db, int rc, struct tr_err *err)
{
    if (rc == SQLITE_DONE)
        return 0;
    tr_err_set(err, TR_E_DB, "metrics: %s", sqlite3_errmsg(db));
    return -1;
}

/* Every report with its policies in one statement (ids too far apart). */
static int latest_join(sqlite3 *db, struct latest_set *domains, struct latest_set *orgs, int64_t *last, int *any,
                       struct tr_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(db, "SELECT r.org_name, r.received_time, p.id IS NOT NULL, p.policy_domain"
                               " FROM report r LEFT JOIN policy p ON p.report = r.id", -1, &st, NULL) != SQLITE_OK)
        return step_error(db, SQLITE_ERROR, err);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t when = sqlite3_column_int64(st, 1);
        if (fold_row(orgs, st, 0, when) < 0 || (sqlite3_column_int(st, 2) && fold_row(domains, st, 3, when) < 0)) {
            sqlite3_finalize(st);
            return names_overflow(err);
        }
        if (!*any || when > *last)
            *last = when;
        *any = 1;
    }
    rc = step_error(db, rc, err);   /* before finalize: its message */
    sqlite3_finalize(st);
    return rc;
}

/* The reports, then the policies, each read in table order (no row lookup
 * per policy): the reports' times kept by id in between.  1 when a policy's
 * report is not an integer (then latest_join). */
static int latest_scans(sqlite3 *db, int64_t lo, int64_t hi, struct latest_set *domains, struct latest_set *orgs,
                        int64_t *last, int *any, struct tr_err *err)
{
    size_t n = (size_t)(hi - lo + 1);
    int64_t *when_of = xmalloc(n * sizeof *when_of);
    unsigned char *have = xcalloc(n / 8 + 1, 1);
    sqlite3_stmt *st = NULL;
    int rc, out = -1;

    if (sqlite3_prepare_v2(db, "SELECT id, org_name, received_time FROM report", -1, &st, NULL) != SQLITE_OK) {
        step_error(db, SQLITE_ERROR, err);
        goto done;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0) - lo, when = sqlite3_column_int64(st, 2);
        if (fold_row(orgs, st, 1, when) < 0) {
            names_overflow(err);
            goto done;
        }
        if (id >= 0 && (size_t)id < n) {   /* always: lo and hi are the ids' bounds */
            when_of[id] = when;
            have[id / 8] |= (unsigned char)(1u << (id % 8));
        }
        if (!*any || when > *last)
            *last = when;
        *any = 1;
    }
    rc = step_error(db, rc, err);
    sqlite3_finalize(st);
    st = NULL;
    if (rc < 0)
        goto done;
    if (sqlite3_prepare_v2(db, "SELECT report, policy_domain FROM policy", -1, &st, NULL) != SQLITE_OK) {
        step_error(db, SQLITE_ERROR, err);
        goto done;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (sqlite3_column_type(st, 0) != SQLITE_INTEGER) {
            out = 1;
            goto done;
        }
        if (id < lo || (id -= lo) >= (int64_t)n || !(have[id / 8] & (1u << (id % 8))))
            continue;   /* no such report: the join drops it */
        if (fold_row(domains, st, 1, when_of[id]) < 0) {
            names_overflow(err);
            goto done;
        }
    }
    out = step_error(db, rc, err);
done:
    sqlite3_finalize(st);
    free(when_of);
    free(have);
    return out;
}

/* Every report with its policies: *domains and *orgs the last received
 * time per name, sorted; *last the latest of all, *any 0 when there is no
 * report.  Reads report and policy once each in table order (report ids
 * no more than METRICS_ID_SPAN_MAX apart), else through one join. */
static int latest_received(sqlite3 *db, struct latest_set *domains, struct latest_set *orgs, int64_t *last,
                           int *any, struct tr_err *err)
{
    sqlite3_stmt *st;
    int64_t lo = 0, hi = -1;
    int rc = 1;

    *last = 0;
    *any = 0;
    if (sqlite3_prepare_v2(db, "SELECT min(id), max(id) FROM report", -1, &st, NULL) != SQLITE_OK)
        return step_error(db, SQLITE_ERROR, err);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
        lo = sqlite3_column_int64(st, 0);
        hi = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (lo >= 0 && hi >= lo && hi - lo < METRICS_ID_SPAN_MAX)   /* lo >= 0: no overflow in id - lo */
        rc = latest_scans(db, lo, hi, domains, orgs, last, any, err);
    if (rc == 1) {
        latest_free(domains);
        latest_free(orgs);
        memset(domains, 0, sizeof *domains);
        memset(orgs, 0, sizeof *orgs);
        *last = 0;
        *any = 0;
        rc = latest_join(db, domains, orgs, last, any, err);
    }
    if (rc < 0)
        return -1;
    if (domains->n > 0)   /* v is NULL when empty */
        qsort(domains->v, domains->n, sizeof *domains->v, by_bytes);
    if (orgs->n > 0)
        qsort(orgs->v, orgs->n, sizeof *orgs->v, by_bytes);
    return 0;
}

static void latest_family(FILE *f, const struct latest_set *s, const char *name, const char *help, const char *label)
{
    family(f, name, "gauge", help);
    for (size_t i = 0; i < s->n; i++) {
        struct labels l = {{label}, {s->v[i].name}, 1};
        sample(f, name, &l, s->v[i].when);
    }
}

static long long file_size(const char *path, const char *suffix)
{
    char *p = xasprintf("%s%s", path, suffix);
    struct stat sb;
    long long n = stat(p, &sb) == 0 ? (long long)sb.st_size : 0;
    free(p);
    return n;
}

/* One counter read from a stats file, with the program that wrote it. */
struct dstat {
    char program[TR_STAT_NAME_MAX];
    struct tr_stat st;
};

static int by_name(const void *a, const void *b)
{
    const struct dstat *x = a, *y = b;
    int c = strcmp(x->st.name, y->st.name);
    return c ? c : strcmp(x->program, y->program);
}

/* Reads every <program>.stats in dir into *all; a file that cannot be read
 * is marked unreadable in *bad (program names, 0 values). */
static void read_dir(const char *dir, struct dstat **all, size_t *n, struct dstat **bad, size_t *nbad)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t files = 0;

    if (d == NULL) {
        *bad = xrealloc(*bad, (*nbad + 1) * sizeof **bad);
        snprintf((*bad)[*nbad].program, sizeof (*bad)[*nbad].program, "%s", "(spool)");
        (*nbad)++;
        return;
    }
    while ((de = readdir(d)) != NULL && files < METRICS_STATS_FILES_MAX) {
        size_t len = strlen(de->d_name), sl = strlen(TR_STATS_SUFFIX);
        struct tr_stat *st;
        struct tr_err err;
        size_t k;
        char *path, program[TR_STAT_NAME_MAX];

        if (de->d_name[0] == '.' || len <= sl || len - sl >= sizeof program ||
            strcmp(de->d_name + len - sl, TR_STATS_SUFFIX) != 0)
            continue;
        files++;
        snprintf(program, sizeof program, "%.*s", (int)(len - sl), de->d_name);
        path = xasprintf("%s/%s", dir, de->d_name);
        if (tr_stats_read(path, &st, &k, &err) < 0) {
            *bad = xrealloc(*bad, (*nbad + 1) * sizeof **bad);
            snprintf((*bad)[*nbad].program, sizeof (*bad)[*nbad].program, "%s", program);
            (*nbad)++;
        } else {
            *all = xrealloc(*all, (*n + k + 1) * sizeof **all);
            for (size_t i = 0; i < k; i++) {
                snprintf((*all)[*n].program, sizeof (*all)[*n].program, "%s", program);
                (*all)[(*n)++].st = st[i];
            }
            tr_stats_free(st);
        }
        free(path);
    }
    closedir(d);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The daemons' counters: tlsrpt_daemon_NAME{program}, one family per NAME;
 * a NAME_time becomes tlsrpt_daemon_NAME_timestamp_seconds. */
static void daemons(FILE *f, const char *const *spool, size_t n_spool)
{
    struct dstat *all = NULL, *bad = NULL;
    size_t n = 0, nbad = 0;

    for (size_t i = 0; i < n_spool; i++)
        read_dir(spool[i], &all, &n, &bad, &nbad);
    if (n > 0)   /* all is NULL when no file was read: not for qsort */
        qsort(all, n, sizeof *all, by_name);
    for (size_t i = 0; i < n; i++) {
        const char *nm = all[i].st.name;
        int counter = ends_with(nm, "_total"), when = ends_with(nm, "_time");
        char name[TR_STAT_NAME_MAX + 64];
        struct labels l = {{"program"}, {all[i].program}, 1};

        snprintf(name, sizeof name, "tlsrpt_daemon_%.*s%s", (int)(strlen(nm) - (when ? 5 : 0)), nm,
                 when ? "_timestamp_seconds" : "");
        if (i == 0 || strcmp(nm, all[i - 1].st.name) != 0)
            family(f, name, counter ? "counter" : "gauge",
                   counter ? "A daemon's counter since it started (see its man page)."
                   : when ? "A daemon's UNIX time (see its man page)."
                          : "A daemon's gauge (see its man page).");
        sample(f, name, &l, all[i].st.value > (uint64_t)INT64_MAX ? INT64_MAX : (long long)all[i].st.value);
    }
    if (n_spool > 0) {
        family(f, "tlsrpt_daemon_stats_unreadable", "gauge",
               "1 for a daemon's .stats file (or a --spool directory) that could not be read.");
        for (size_t i = 0; i < nbad; i++) {
            struct labels l = {{"program"}, {bad[i].program}, 1};
            sample(f, "tlsrpt_daemon_stats_unreadable", &l, 1);
        }
    }
    free(all);
    free(bad);
}

/* One integer from a fixed query (0 on error: the queries after it report it). */
static int64_t db_scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = 0;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* tlsrpt_last_ingest_timestamp_seconds: the later of the last report
 * received (report_last, NULL when none) and the last quarantine entry
 * seen, 0 when neither. */
static int last_ingest(FILE *f, sqlite3 *db, const int64_t *report_last, struct tr_err *err)
{
    const char *name = "tlsrpt_last_ingest_timestamp_seconds";
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(db, "SELECT max(coalesce(?, 0), coalesce((SELECT max(last_seen) FROM quarantine), 0))",
                           -1, &st, NULL) != SQLITE_OK) {
        tr_err_set(err, TR_E_DB, "metrics: %s", sqlite3_errmsg(db));
        return -1;
    }
    if (report_last != NULL)
        sqlite3_bind_int64(st, 1, *report_last);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        family(f, name, "gauge", "Last time an ingest stored a report or a quarantine entry (UNIX time).");
        sample(f, name, NULL, sqlite3_column_int64(st, 0));
    } else {
        tr_err_set(err, TR_E_DB, "metrics: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

int rpt_metrics_build(sqlite3 *db, const char *db_path, const char *const *spool, size_t n_spool,
                      int64_t now, char **out, size_t *len, struct tr_err *err)
{
    struct rpt_filters nofilter;
    struct rpt_scope all, day;
    struct latest_set domains = {0}, orgs = {0};
    int64_t last;
    int any, snapshot;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    int rc = -1;

    if (f == NULL)
        tr_oom();
    /* One read transaction: every family from the same snapshot (several
     * families read the database twice or more), whatever commits meanwhile. */
    snapshot = sqlite3_get_autocommit(db) && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    memset(&nofilter, 0, sizeof nofilter);
    memset(&all, 0, sizeof all);
    /* All stored reports: from the first start day to the day after the
     * last (a window the rollups cover in whole days). */
    all.since = rpt_day_start(db_scalar(db, "SELECT coalesce(min(start_time), 0) FROM report"));
    all.until = rpt_day_start(db_scalar(db, "SELECT coalesce(max(start_time), 0) FROM report")) + 86400;
    all.f = &nofilter;
    day = all;
    day.until = rpt_day_start(now);
    day.since = day.until - 86400;
    if (sessions(f, db, &all, "tlsrpt_sessions_total", "counter",
                 "Sessions per policy domain in all stored reports, as summary counts them.", err) < 0 ||
        sessions(f, db, &day, "tlsrpt_sessions_last_day", "gauge",
                 "Sessions per policy domain in the reports of the last complete UTC day.", err) < 0 ||
        failures(f, db, &all, "tlsrpt_failed_sessions_total", "counter",
                 "Failed sessions per policy domain and result type in all stored reports.", err) < 0 ||
        failures(f, db, &day, "tlsrpt_failed_sessions_last_day", "gauge",
                 "Failed sessions per policy domain and result type, last complete UTC day.", err) < 0 ||
        latest_received(db, &domains, &orgs, &last, &any, err) < 0)
        goto done;
    latest_family(f, &domains, "tlsrpt_last_report_timestamp_seconds",
                  "When the last report for a policy domain was stored (UNIX time).", "policy_domain");
    latest_family(f, &orgs, "tlsrpt_reporter_last_report_timestamp_seconds",
                  "When the last report from an organization was stored (UNIX time).", "organization");
    if (from_sql(f, db, "SELECT count(*) FROM report", "tlsrpt_reports", "gauge",
                 "Reports stored in the database.", NULL, err) < 0 ||
        from_sql(f, db, "SELECT duplicates FROM ingest_total WHERE id = 1", "tlsrpt_duplicates_total",
                 "counter", "Reports met again with the same content (not stored twice), since the"
                 " database was made.", NULL, err) < 0 ||
        from_sql(f, db, "SELECT reason, count(*) FROM quarantine WHERE resolved_time IS NULL"
                 " GROUP BY 1 ORDER BY 1", "tlsrpt_quarantine_entries", "gauge",
                 "Quarantined inputs not yet stored by a retry, by reason code.", "reason", err) < 0 ||
        from_sql(f, db, "SELECT reason, sum(times_seen) FROM quarantine GROUP BY 1 ORDER BY 1",
                 "tlsrpt_quarantine_seen_total", "counter",
                 "Times an input was quarantined (the same input counts each time), by reason.",
                 "reason", err) < 0 ||
        last_ingest(f, db, any ? &last : NULL, err) < 0)
        goto done;
    family(f, "tlsrpt_database_size_bytes", "gauge", "Size of the database file and its write-ahead log.");
    sample(f, "tlsrpt_database_size_bytes", NULL, file_size(db_path, "") + file_size(db_path, "-wal"));
    daemons(f, spool, n_spool);
    rc = 0;
done:
    if (snapshot)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    latest_free(&domains);
    latest_free(&orgs);
    if (fclose(f) != 0)
        tr_oom();
    if (rc == 0 && size > RPT_METRICS_MAX) {
        tr_err_set(err, TR_E_LIMIT_MESSAGE_SIZE, "metrics: more than %zu bytes", RPT_METRICS_MAX);
        rc = -1;
    }
    if (rc < 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = size;
    return 0;
}
