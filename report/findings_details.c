/*
 * findings_details.c - what the rollups do not hold, from the window's raw
 * failure rows (findings_fail.c's groups): per (policy domain, MX, failure
 * type) the organizations, the days, and the reason codes with their
 * failed sessions under the dedup rule of query.h, applied per report
 * while the rows are read in report order.
 */
#include "findings_int.h"
#include "sql.h"
#include "tlsrpt/codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds n failed sessions on day st with reason code rc to group x. */
static void add_reason(struct fgroup *x, const char *rc, int64_t n, int64_t st)
{
    struct freason *e = NULL;
    for (size_t i = 0; i < x->n_rc && e == NULL; i++)
        if (strcmp(x->rc[i].rc, rc) == 0)
            e = &x->rc[i];
    if (e == NULL) {
        if (x->n_rc == FIND_NAMES_TRACK)        /* a hostile number of codes: the rest uncounted */
            return;
        if (x->n_rc == x->alloc_rc) {
            x->alloc_rc = x->alloc_rc ? 2 * x->alloc_rc : 4;
            x->rc = xrealloc(x->rc, x->alloc_rc * sizeof *x->rc);
        }
        e = &x->rc[x->n_rc++];
        e->rc = xstrdup(rc);
        e->failed = 0;
        e->first = e->last = -1;
    }
    e->failed += n;
    fb_widen(&e->first, &e->last, st);
}

/* ---------------------------------------------------------------- reason codes per report
 *
 * A reason code's failed sessions follow the dedup rule (query.h,
 * COUNTING): across the policies of one (report, policy domain) the same
 * detail counts once, at its maximum over the policies (summed within
 * each).  ff_load_details reads the rows in report order, so the rule is
 * applied here per report instead of by two GROUP BY sorts in SQL (those
 * were a third of the findings' time at 1,000,000 reports, BENCHMARKS.md).
 * A report with more reason rows than these limits has its reason codes
 * read again through rpt_q_failure_rows, which applies the rule in SQL. */
#define FIND_REPORT_ROWS 65536                  /* reason rows kept for one report */
#define FIND_REPORT_BYTES ((size_t)8 << 20)     /* their strings, bytes */
#define RR_NULL ((size_t)-1)                    /* an offset for a NULL string */

struct rrow {
    int64_t pid, n;
    size_t grp;                   /* index in the groups (domain, MX as shown, type) */
    int pd_null;                  /* policy_domain NULL (shown as "(none)" like a domain of that name) */
    size_t off[4];                /* sending IP, MX host, receiving IP, reason code in the arena, or RR_NULL */
    const char *s[4];             /* the same as pointers (set before sorting) */
};

struct rbuf {
    struct rrow *v;
    size_t n, alloc;
    struct tr_buf arena;
    int over;                     /* past a limit: the report goes through SQL */
    int64_t rid, st, day;
};

static int cmp_opt_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

/* Same detail of the same domain (not comparing the policy). */
static int cmp_ident(const struct rrow *a, const struct rrow *b)
{
    int c;
    if (a->grp != b->grp)
        return a->grp < b->grp ? -1 : 1;
    if (a->pd_null != b->pd_null)
        return a->pd_null < b->pd_null ? -1 : 1;
    for (int i = 0; i < 4; i++)
        if ((c = cmp_opt_str(a->s[i], b->s[i])) != 0)
            return c;
    return 0;
}

static int cmp_rrow(const void *pa, const void *pb)
{
    const struct rrow *a = pa, *b = pb;
    int c = cmp_ident(a, b);
    if (c != 0)
        return c;
    return (a->pid > b->pid) - (a->pid < b->pid);
}

static void rbuf_add(struct rbuf *rb, int64_t pid, size_t grp, int pd_null, const char *const str[4], int64_t n)
{
    struct rrow *r;
    if (rb->over)
        return;
    if (rb->n == FIND_REPORT_ROWS) {
        rb->over = 1;
        return;
    }
    if (rb->n == rb->alloc) {
        rb->alloc = rb->alloc ? 2 * rb->alloc : 64;
        rb->v = xrealloc(rb->v, rb->alloc * sizeof *rb->v);
    }
    r = &rb->v[rb->n];
    r->pid = pid;
    r->n = n;
    r->grp = grp;
    r->pd_null = pd_null;
    for (int i = 0; i < 4; i++) {
        r->off[i] = RR_NULL;
        if (str[i] == NULL)
            continue;
        r->off[i] = rb->arena.len;
        if (tr_buf_append(&rb->arena, str[i], strlen(str[i]) + 1) < 0) {
            rb->over = 1;
            return;
        }
    }
    rb->n++;
}

/* The reason codes of report rid (starting at st) by the SQL rule. */
static int report_reasons_sql(struct fb *b, struct fgroups *g, int64_t rid, int64_t st, int64_t day,
                              struct tr_err *err)
{
    struct rpt_sql q;
    sqlite3_stmt *stmt;
    int rc;

    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT " RPT_Q_DOMAIN_EXPR ", " RPT_Q_MX_EXPR_RAW ", ty, rc, n FROM (");
    rpt_q_failure_rows(&q, &b->win, st, st + 1, 0);
    rpt_sql_add(&q, ") WHERE rid = ?");
    rpt_sql_bind_int(&q, rid);
    rc = rpt_sql_prepare(b->db, &q, &stmt, err);
    rpt_sql_free(&q);
    if (rc < 0)
        return -1;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *dom = (const char *)sqlite3_column_text(stmt, 0), *mx = (const char *)sqlite3_column_text(stmt, 1);
        const char *ty = (const char *)sqlite3_column_text(stmt, 2), *code = (const char *)sqlite3_column_text(stmt, 3);
        int64_t n = sqlite3_column_int64(stmt, 4);
        struct fgroup *x;
        if (dom == NULL || mx == NULL || ty == NULL || code == NULL || code[0] == '\0' || n <= 0)
            continue;
        if ((x = ff_group_get(g, dom, mx, ty, 0)) != NULL)
            add_reason(x, code, n, day);
    }
    if (rc != SQLITE_DONE) {
        tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(b->db));
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
    return 0;
}

/* The buffered report's reason codes into its groups: per detail the
 * maximum over the policies of its sum within each; then empty. */
static int rbuf_flush(struct fb *b, struct fgroups *g, struct rbuf *rb, struct tr_err *err)
{
    int rc = 0;
    if (rb->over) {
        rc = report_reasons_sql(b, g, rb->rid, rb->st, rb->day, err);
    } else if (rb->n > 0) {
        int one_policy = 1;
        for (size_t i = 0; i < rb->n; i++) {
            for (int k = 0; k < 4; k++)
                rb->v[i].s[k] = rb->v[i].off[k] == RR_NULL ? NULL : (const char *)rb->arena.data + rb->v[i].off[k];
            one_policy &= rb->v[i].pid == rb->v[0].pid;
        }
        /* one policy: every row adds its count, in any order */
        if (!one_policy)
            qsort(rb->v, rb->n, sizeof *rb->v, cmp_rrow);
        for (size_t i = 0, j; i < rb->n; i = j) {
            int64_t max = 0;
            for (j = i; j < rb->n && cmp_ident(&rb->v[i], &rb->v[j]) == 0;) {
                int64_t pid = rb->v[j].pid, sum = 0;
                for (; j < rb->n && rb->v[j].pid == pid && cmp_ident(&rb->v[i], &rb->v[j]) == 0; j++)
                    sum += rb->v[j].n;
                if (sum > max)
                    max = sum;
            }
            if (max > 0)
                add_reason(&g->v[rb->v[i].grp], rb->v[i].s[3], max, rb->day);
        }
    }
    rb->n = 0;
    rb->over = 0;
    rb->arena.len = 0;
    return rc;
}

/* What the counts of the rollups do not hold, from the window's raw
 * failure rows: per group the organizations, the days, and the reason
 * codes with their failed sessions (the dedup rule applied per report,
 * above).  The rows are summed here, not by a GROUP BY: sorting the
 * window's rows by their strings was half of the findings' time at
 * 1,000,000 reports, and the organizations by (domain, MX, type, org)
 * from the rollups took 100 MB there.  A row counts for the organizations
 * and days when its failed sessions are > 0, as its deduplicated detail
 * does (stored counts are never negative: the parser refuses them). */
int ff_load_details(struct fb *b, struct fgroups *g, struct tr_err *err)
{
    const struct rpt_scope *s = &b->win;
    struct rpt_sql q;
    struct fmap org_ids = {0};
    struct fset pairs = {0};
    struct rbuf rb;
    sqlite3_stmt *st;
    int rc, have = 0;

    memset(&rb, 0, sizeof rb);
    tr_buf_init(&rb.arena, FIND_REPORT_BYTES);
    rpt_sql_init(&q);
    /* In report order (the report_start index gives it without a sort),
     * so that a report's rows come together; st floored to its UTC day
     * (for st < 0 too), mx as shown. */
    rpt_sql_add(&q,
        "SELECT r.id, p.id, coalesce(p.policy_domain, '(none)'), " RPT_Q_MX_EXPR_F ", f.result_type,"
        " r.org_name, f.failure_reason_code, f.failed_sessions,"
        " r.start_time - ((r.start_time % 86400) + 86400) % 86400, f.sending_mta_ip,"
        " f.receiving_mx_hostname, f.receiving_ip, p.policy_domain IS NULL, r.start_time"
        " FROM report r JOIN policy p ON p.report = r.id JOIN failure f ON f.policy = p.id");
    rpt_q_report_where(&q, s, s->since, s->until);
    rpt_sql_filter(&q, RPT_Q_MX_EXPR_F, &s->f->mx);
    rpt_sql_filter(&q, "f.result_type", &s->f->type);
    rpt_sql_add(&q, " ORDER BY r.start_time, r.id");
    rc = rpt_sql_prepare(b->db, &q, &st, err);
    rpt_sql_free(&q);
    if (rc < 0) {
        tr_buf_free(&rb.arena);
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t rid = sqlite3_column_int64(st, 0), pid = sqlite3_column_int64(st, 1);
        const char *dom = (const char *)sqlite3_column_text(st, 2), *mx = (const char *)sqlite3_column_text(st, 3);
        const char *ty = (const char *)sqlite3_column_text(st, 4), *org = (const char *)sqlite3_column_text(st, 5);
        const char *code = (const char *)sqlite3_column_text(st, 6);
        int64_t n = sqlite3_column_int64(st, 7), day = sqlite3_column_int64(st, 8);
        struct fgroup *x;
        struct fdomain *d;
        size_t org_id;
        if (have && rid != rb.rid && rbuf_flush(b, g, &rb, err) < 0) {
            rc = -1;
            break;
        }
        have = 1;
        rb.rid = rid;
        rb.st = sqlite3_column_int64(st, 13);
        rb.day = day;
        if (dom == NULL || mx == NULL || ty == NULL || org == NULL || n <= 0)
            continue;
        if ((x = ff_group_get(g, dom, mx, ty, 0)) == NULL)
            continue;
        d = &b->dom[x->dom_idx];
        /* organizations as small ids: a list is searched once per new
         * (group, org) and (domain, org) pair, not once per row */
        if ((org_id = fmap_get(&org_ids, org)) == (size_t)-1)
            fmap_put(&org_ids, org, org_id = org_ids.n);
        if (fset_add(&pairs, (uint64_t)(x - g->v) << 32 | org_id))
            fnames_add(&x->orgs, org);
        if (fset_add(&pairs, (uint64_t)1 << 63 | (uint64_t)x->dom_idx << 32 | org_id))
            fnames_add(&d->orgs, org);
        fb_widen(&x->first, &x->last, day);
        fb_widen(&d->first, &d->last, day);
        if (code != NULL && code[0] != '\0') {
            const char *str[4] = {(const char *)sqlite3_column_text(st, 9), (const char *)sqlite3_column_text(st, 10),
                                  (const char *)sqlite3_column_text(st, 11), code};
            rbuf_add(&rb, pid, (size_t)(x - g->v), sqlite3_column_int(st, 12), str, n);
        }
    }
    if (rc == SQLITE_DONE && have && rbuf_flush(b, g, &rb, err) < 0)
        rc = -1;
    fmap_free(&org_ids);
    fset_free(&pairs);
    free(rb.v);
    tr_buf_free(&rb.arena);
    if (rc != SQLITE_DONE) {
        if (rc != -1)
            tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(b->db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

