/*
 * trend.c - per-bucket series from two queries: sessions by bucket from
 * the summaries and failed sessions by (bucket, type) from the details,
 * laid onto a dense array of buckets covering the window.
 */
#include "trend.h"
#include "tlsrpt/codes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const enum rpt_key bucket_key[] = {RPT_K_DAY, RPT_K_WEEK, RPT_K_MONTH};
static const char *const interval_names[] = {"day", "week", "month"};

void rpt_trend_free(struct rpt_trend *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_types; i++)
        free(t->types[i]);
    free(t->types);
    free(t->start);
    free(t->partial);
    free(t->reports);
    free(t->ok);
    free(t->bad);
    free(t->by_type);
    free(t);
}

/* Index of the bucket starting at second start among the n sorted bucket
 * starts, or -1.  (The queries give each row's bucket as its first second,
 * scope.epoch_keys: formatting and comparing labels was 8% of a 90-day
 * trend's instructions, and formatting every bucket's label for every row
 * once 60%.) */
static long find_bucket(const int64_t *starts, size_t n, const struct rpt_cell *start)
{
    size_t lo = 0, hi = n;
    if (start->kind != RPT_INT)
        return -1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (starts[mid] == start->i)
            return (long)mid;
        if (starts[mid] < start->i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* A failure type's failed sessions over the whole window. */
struct type_total {
    const char *name;            /* borrowed from the result table */
    int64_t n;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct type_total *)a)->name, ((const struct type_total *)b)->name);
}

static int by_total_then_name(const void *a, const void *b)
{
    const struct type_total *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Type index, adding it (or folding into "(other)" past the cap). */
static size_t type_index(struct rpt_trend *t, const char *type)
{
    for (size_t i = 0; i < t->n_types; i++)
        if (strcmp(t->types[i], type) == 0)
            return i;
    if (t->n_types == RPT_TREND_MAX_TYPES)
        return type_index(t, "(other)");
    t->types = xrealloc(t->types, (t->n_types + 1) * sizeof *t->types);
    t->types[t->n_types] = xstrdup(type);
    return t->n_types++;
}

int rpt_trend_build(sqlite3 *db, const struct rpt_scope *s, enum rpt_interval iv, int64_t now,
                    struct rpt_trend **out, struct tr_err *err)
{
    struct rpt_trend *t = xcalloc(1, sizeof *t);
    struct rpt_table *sess = rpt_table_new(), *fail = rpt_table_new();
    enum rpt_key keys[2] = {bucket_key[iv], RPT_K_TYPE};
    struct rpt_scope sess_scope, fail_scope;
    int rc = -1;

    t->iv = iv;
    t->since = s->since;
    t->until = s->until;
    for (int64_t b = rpt_bucket_start(iv, s->since); b < s->until; b = rpt_bucket_next(iv, b)) {
        if (t->n == RPT_TREND_MAX_BUCKETS) {
            tr_err_set(err, TR_E_USAGE, "more than %d %ss: use a longer --interval or a shorter window",
                       RPT_TREND_MAX_BUCKETS, interval_names[iv]);
            goto done;
        }
        t->start = xrealloc(t->start, (t->n + 1) * sizeof *t->start);
        t->start[t->n++] = b;
    }
    t->partial = xcalloc(t->n ? t->n : 1, 1);
    for (size_t i = 0; i < t->n; i++)
        t->partial[i] = t->start[i] < s->since || rpt_bucket_next(iv, t->start[i]) > s->until ||
                        rpt_bucket_next(iv, t->start[i]) > now - RPT_REPORT_LAG;
    t->reports = xcalloc(t->n, sizeof(int64_t));
    t->ok = xcalloc(t->n, sizeof(int64_t));
    t->bad = xcalloc(t->n, sizeof(int64_t));

    sess_scope = *s;
    sess_scope.epoch_keys = 1;
    fail_scope = sess_scope;
    fail_scope.any_order = 1;       /* summed and ordered below */
    if (rpt_q_sessions(db, &sess_scope, keys, 1, sess, err) < 0 ||
        rpt_q_failed(db, &fail_scope, keys, 2, fail, err) < 0)
        goto done;
    for (size_t r = 0; r < sess->nrows; r++) {
        long b = find_bucket(t->start, t->n, rpt_table_cell(sess, r, 0));
        if (b < 0)
            continue;
        t->reports[b] = rpt_table_cell(sess, r, 1)->i;
        t->ok[b] = rpt_table_cell(sess, r, 2)->i;
        t->bad[b] = rpt_table_cell(sess, r, 3)->i;
    }
    /* Types in order of failed sessions over the whole window, then by
     * name: summed here from the (bucket, type) rows, not asked of SQLite
     * in a second pass over the same rollup rows (that query was 13% of a
     * 90-day trend's instructions at 1,000,000 reports). */
    if (fail->nrows > 0) {
        struct type_total *tot = xcalloc(fail->nrows, sizeof *tot);
        size_t n_tot = 0;

        for (size_t r = 0; r < fail->nrows; r++) {
            const char *name = rpt_table_cell(fail, r, 1)->s;
            tot[r].name = name ? name : "";
            tot[r].n = rpt_table_cell(fail, r, 2)->i;
        }
        qsort(tot, fail->nrows, sizeof *tot, by_name);
        for (size_t r = 0; r < fail->nrows; r++) {
            if (n_tot > 0 && strcmp(tot[n_tot - 1].name, tot[r].name) == 0)
                tot[n_tot - 1].n += tot[r].n;
            else
                tot[n_tot++] = tot[r];
        }
        qsort(tot, n_tot, sizeof *tot, by_total_then_name);
        for (size_t i = 0; i < n_tot; i++)
            type_index(t, tot[i].name);
        free(tot);
    }
    t->by_type = xcalloc(t->n * (t->n_types ? t->n_types : 1), sizeof(int64_t));
    for (size_t r = 0; r < fail->nrows; r++) {
        long b = find_bucket(t->start, t->n, rpt_table_cell(fail, r, 0));
        if (b >= 0)
            t->by_type[(size_t)b * t->n_types + type_index(t, rpt_table_cell(fail, r, 1)->s)] +=
                rpt_table_cell(fail, r, 2)->i;
    }
    rc = 0;
done:
    rpt_table_free(sess);
    rpt_table_free(fail);
    if (rc < 0)
        rpt_trend_free(t);
    else
        *out = t;
    return rc;
}

/* Success rate of bucket i, NaN when it had no sessions. */
static double rate_at(const struct rpt_trend *t, size_t i)
{
    double r = rpt_success_rate(t->ok[i], t->bad[i]);
    return r < 0 ? NAN : r;
}

int rpt_trend_has_partial(const struct rpt_trend *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->partial[i])
            return 1;
    return 0;
}

struct rpt_table *rpt_trend_table(const struct rpt_trend *t, size_t max_types, int for_terminal)
{
    struct rpt_table *tab = rpt_table_new();
    size_t shown = t->n_types <= max_types ? t->n_types : max_types;
    int other = t->n_types > max_types;
    size_t first = for_terminal ? 1 : 2;          /* the column after bucket (and partial) */
    char label[RPT_LABEL_MAX + sizeof RPT_TREND_PARTIAL_MARK];

    rpt_table_add_col(tab, "bucket", RPT_S_TEXT);
    if (!for_terminal)
        rpt_table_add_col(tab, "partial", RPT_S_ID);
    rpt_table_add_col(tab, "reports", RPT_S_COUNT);
    rpt_table_add_col(tab, "sessions", RPT_S_COUNT);
    rpt_table_add_col(tab, "failed_sessions", RPT_S_FAIL);
    rpt_table_add_col(tab, "success_rate", RPT_S_RATE);
    rpt_table_add_col(tab, "rate_change", RPT_S_PP);
    rpt_table_add_col(tab, "sessions_change", RPT_S_PCT);
    for (size_t k = 0; k < shown; k++)
        rpt_table_add_col(tab, t->types[k], RPT_S_FAIL);
    if (other)
        rpt_table_add_col(tab, "(other types)", RPT_S_FAIL);
    for (size_t i = 0; i < t->n; i++) {
        size_t r = rpt_table_add_row(tab), c = first + 6;
        int64_t sessions = t->ok[i] + t->bad[i], rest = 0;
        int compare = i > 0 && !t->partial[i] && !t->partial[i - 1];
        rpt_bucket_label(t->iv, t->start[i], label);
        if (for_terminal && t->partial[i])
            strcat(label, RPT_TREND_PARTIAL_MARK);
        rpt_table_set_text(tab, r, 0, label);
        if (!for_terminal)
            rpt_table_set_int(tab, r, 1, t->partial[i]);
        rpt_table_set_int(tab, r, first, t->reports[i]);
        rpt_table_set_int(tab, r, first + 1, sessions);
        rpt_table_set_int(tab, r, first + 2, t->bad[i]);
        if (!isnan(rate_at(t, i)))
            rpt_table_set_real(tab, r, first + 3, rate_at(t, i));
        if (compare && !isnan(rate_at(t, i)) && !isnan(rate_at(t, i - 1)))
            rpt_table_set_real(tab, r, first + 4, rpt_round2(rate_at(t, i) - rate_at(t, i - 1)));
        if (compare && t->ok[i - 1] + t->bad[i - 1] > 0) {
            double prev = (double)(t->ok[i - 1] + t->bad[i - 1]);
            rpt_table_set_real(tab, r, first + 5, round(((double)sessions - prev) * 1000.0 / prev) / 10.0);
        }
        for (size_t k = 0; k < t->n_types; k++) {
            if (k < shown)
                rpt_table_set_int(tab, r, c++, t->by_type[i * t->n_types + k]);
            else
                rest += t->by_type[i * t->n_types + k];
        }
        if (other)
            rpt_table_set_int(tab, r, c, rest);
    }
    return tab;
}

char *rpt_sparkline(const double *v, size_t n)
{
    static const char *const bars[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                        "\u2585", "\u2586", "\u2587", "\u2588"};
    double lo = INFINITY, hi = -INFINITY;
    struct tr_buf b;

    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i])) {
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
    tr_buf_init(&b, n * 3 + 1);
    for (size_t i = 0; i < n; i++) {
        int level;
        if (isnan(v[i])) {
            tr_buf_append(&b, " ", 1);
            continue;
        }
        if (hi > lo)
            level = (int)floor((v[i] - lo) / (hi - lo) * 7.0 + 0.5);
        else
            level = hi > 0 ? 3 : 0;        /* flat: mid-height, or the floor for all-zero */
        tr_buf_append(&b, bars[level], 3);
    }
    return (char *)tr_buf_steal(&b, NULL);
}

/* Adds one series row: sparkline over the last buckets, previous and
 * latest values, and the change between them (none when !compare). */
static void series_row(struct rpt_table *tab, const char *name, const double *v, size_t n, int is_rate,
                       int compare)
{
    size_t r = rpt_table_add_row(tab), from = n > RPT_SPARK_MAX ? n - RPT_SPARK_MAX : 0;
    char *spark = rpt_sparkline(v + from, n - from);
    char num[RPT_NUM_MAX];
    char *cell;

    rpt_table_set_text(tab, r, 0, name);
    rpt_table_set_text(tab, r, 1, spark);
    free(spark);
    for (int k = 0; k < 2; k++) {
        size_t i = n - 1 - (size_t)(1 - k);
        if (n < 2 && k == 0)
            continue;
        if (isnan(v[i]))
            continue;
        cell = is_rate ? xasprintf("%.2f%%", v[i]) : xstrdup(rpt_fmt_count((int64_t)v[i], num));
        rpt_table_set_text(tab, r, 2 + (size_t)k, cell);
        free(cell);
    }
    if (compare && n >= 2 && !isnan(v[n - 1]) && !isnan(v[n - 2])) {
        if (is_rate)
            cell = xasprintf("%+.2fpp", v[n - 1] - v[n - 2]);
        else if (v[n - 2] > 0)
            cell = xasprintf("%+.1f%%", (v[n - 1] - v[n - 2]) * 100.0 / v[n - 2]);
        else
            cell = xstrdup(v[n - 1] > 0 ? "new" : "");
        rpt_table_set_text(tab, r, 4, cell);
        free(cell);
    }
}

struct rpt_table *rpt_trend_series(const struct rpt_trend *t)
{
    struct rpt_table *tab = rpt_table_new();
    double *v = xcalloc(t->n ? t->n : 1, sizeof *v);
    /* The complete buckets [a, b): partial ones are at either end only
     * (the window's edges, the last day still filling).  None complete:
     * every bucket, without a change. */
    size_t a = 0, b = t->n;
    int compare;

    while (a < b && t->partial[a])
        a++;
    while (b > a && t->partial[b - 1])
        b--;
    compare = a < b;

    if (!compare) {
        a = 0;
        b = t->n;
    }
    rpt_table_add_col(tab, "series", RPT_S_TEXT);
    rpt_table_add_col(tab, "trend", RPT_S_SPARK);
    rpt_table_add_col(tab, "previous", RPT_S_RTEXT);
    rpt_table_add_col(tab, "latest", RPT_S_RTEXT);
    rpt_table_add_col(tab, "change", RPT_S_RTEXT);
    if (b > a) {
        size_t n = b - a;
        for (size_t i = a; i < b; i++)
            v[i - a] = (double)(t->ok[i] + t->bad[i]);
        series_row(tab, "sessions", v, n, 0, compare);
        for (size_t i = a; i < b; i++)
            v[i - a] = (double)t->bad[i];
        series_row(tab, "failed sessions", v, n, 0, compare);
        for (size_t i = a; i < b; i++)
            v[i - a] = rate_at(t, i);
        series_row(tab, "success rate", v, n, 1, compare);
        for (size_t k = 0; k < t->n_types; k++) {
            for (size_t i = a; i < b; i++)
                v[i - a] = (double)t->by_type[i * t->n_types + k];
            series_row(tab, t->types[k], v, n, 0, compare);
        }
    }
    free(v);
    return tab;
}

json_t *rpt_trend_json(const struct rpt_trend *t)
{
    json_t *doc = json_object(), *types = json_array(), *buckets;
    struct rpt_table *tab = rpt_trend_table(t, 0, 0);
    char buf[RPT_LABEL_MAX];
    size_t idx;
    json_t *row;

    rpt_fmt_datetime(t->since, buf);
    json_object_set_new(doc, "since", json_string(buf));
    rpt_fmt_datetime(t->until, buf);
    json_object_set_new(doc, "until", json_string(buf));
    json_object_set_new(doc, "interval", json_string(interval_names[t->iv]));
    for (size_t k = 0; k < t->n_types; k++)
        json_array_append_new(types, json_string(t->types[k]));
    json_object_set_new(doc, "types", types);
    buckets = rpt_table_to_json(tab);
    json_array_foreach(buckets, idx, row) {
        json_t *bt = json_object();
        /* With max_types 0 every type is folded into "(other types)";
         * JSON carries the per-type object instead. */
        json_object_del(row, "(other types)");
        json_object_set_new(row, "partial", json_boolean(t->partial[idx]));
        for (size_t k = 0; k < t->n_types; k++)
            json_object_set_new(bt, t->types[k], json_integer(t->by_type[idx * t->n_types + k]));
        json_object_set_new(row, "failures_by_type", bt);
    }
    json_object_set_new(doc, "buckets", buckets);
    rpt_table_free(tab);
    return doc;
}
