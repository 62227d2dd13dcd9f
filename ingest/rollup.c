/*
 * rollup.c - rollup sums computed by the writer (rollup.h).
 *
 * The rules, as in schema/002-rollups.sql (and tlsrpt-report(1) COUNTING),
 * per stored report whose start falls on UTC day `day`:
 *  - policies are grouped by policy domain (a missing domain is one group,
 *    dim id 0); a group of several policies is "multi";
 *  - roll_sess gets, per group, n 1, r 1 if the group holds the report's
 *    first policy, ok and bad the maxima over the group's policies;
 *  - a failure detail of a single-policy group counts as itself: c 1,
 *    n = d = its failed sessions;
 *  - in a multi group, details are keyed by (result type, sending IP,
 *    receiving MX, receiving IP, reason code); per key and policy type,
 *    c and n are the sums over the group's policies of that type, and d is
 *    the largest per-policy sum of the key (over all the group's
 *    policies), given to the policy type whose own largest sum it is (the
 *    smallest type id on a tie), 0 for the others.
 * Sums are keyed like the rollup tables' primary keys and written at
 * tr_rollup_flush().
 */
#include "tlsrpt/rollup.h"
#include "tlsrpt/db.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/dates.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Interned ids kept per dimension; past this many the cache is emptied
 * (a long-running milter sees ever new sending IPs). */
#define TR_ROLLUP_CACHE_MAX 65536

enum dim { DIM_ORG, DIM_DOMAIN, DIM_PTYPE, DIM_MX, DIM_TYPE, DIM_IP, N_DIMS };
static const char *const dim_table[N_DIMS] = {
    "dim_org", "dim_domain", "dim_ptype", "dim_mx", "dim_type", "dim_ip",
};

enum roll { R_SESS, R_FAIL, R_FAIL_MX, R_FAIL_IP, N_ROLLS };
#define SUM_KEYS 6
#define SUM_VALS 4
static const int roll_nkeys[N_ROLLS] = {4, 6, 6, 6};
static const int roll_nvals[N_ROLLS] = {4, 3, 3, 3};
/* Each rollup's upsert in two parts around its VALUES rows, so that one
 * statement can carry ROLL_CHUNK rows (see tr_rollup_flush). */
static const char *const roll_head[N_ROLLS] = {
    [R_SESS] = "INSERT INTO roll_sess (dom, g, t, org, n, r, ok, bad) VALUES ",
    [R_FAIL] = "INSERT INTO roll_fail (dom, t, org, mx, ty, pt, c, n, d) VALUES ",
    [R_FAIL_MX] = "INSERT INTO roll_fail_mx (dom, g, t, mx, ty, pt, c, n, d) VALUES ",
    [R_FAIL_IP] = "INSERT INTO roll_fail_ip (g, t, org, ip, ty, pt, c, n, d) VALUES ",
};
static const char *const roll_tail[N_ROLLS] = {
    [R_SESS] = " ON CONFLICT (dom, g, t, org) DO UPDATE SET n = n + excluded.n, r = r + excluded.r,"
               " ok = ok + excluded.ok, bad = bad + excluded.bad",
    [R_FAIL] = " ON CONFLICT (dom, t, org, mx, ty, pt) DO UPDATE SET c = c + excluded.c, n = n + excluded.n,"
               " d = d + excluded.d",
    [R_FAIL_MX] = " ON CONFLICT (dom, g, t, mx, ty, pt) DO UPDATE SET c = c + excluded.c, n = n + excluded.n,"
                  " d = d + excluded.d",
    [R_FAIL_IP] = " ON CONFLICT (g, t, org, ip, ty, pt) DO UPDATE SET c = c + excluded.c, n = n + excluded.n,"
                  " d = d + excluded.d",
};

/* Rows per multi-row upsert: one statement step per ROLL_CHUNK rollup
 * rows instead of one per row (9 x 64 = 576 parameters, far below
 * SQLite's limit of 32,766). */
#define ROLL_CHUNK 64

enum { ST_POLICY, ST_MULTIDOM, ST_UNPEND, N_ST };
static const char *const st_sql[N_ST] = {
    [ST_POLICY] = "INSERT INTO roll_policy (id, report, day, wk, mo, org, dom, pt, multi, first)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_MULTIDOM] = "INSERT INTO roll_multidom (report, day) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    [ST_UNPEND] = "DELETE FROM roll_pending WHERE report = ?1",
};

struct sum {
    int64_t key[SUM_KEYS];
    int64_t val[SUM_VALS];
};

/* Slots of a rollup's sums table at first use (a power of two), and the
 * most kept allocated between transactions (80 bytes a slot: 5 MiB; a
 * --batch of 1,000 typical reports needs 32,768 slots for roll_fail_mx). */
#define TR_ROLLUP_SUMS_MIN 1024
#define TR_ROLLUP_SUMS_KEEP 65536

struct sumtab {
    struct sum *slots;          /* owned, cap of them */
    unsigned char *used;        /* owned: 1 where slots[i] holds a key */
    size_t cap, n;
};

struct tr_rollup {
    sqlite3 *h;                             /* borrowed */
    sqlite3_stmt *dim_ins[N_DIMS], *dim_sel[N_DIMS], *upsert[N_ROLLS], *upsert_chunk[N_ROLLS], *st[N_ST];
    GHashTable *ids[N_DIMS];                /* name -> int64 id, both owned */
    struct sumtab sums[N_ROLLS];            /* the open transaction's sums */
};

static size_t sum_hash(const int64_t *key)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < SUM_KEYS; i++)
        h = (h ^ (uint64_t)key[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 32));
}

/* The sum of key in tab, added (values 0) when new.  Open addressing,
 * linear probing, at most half full: one lookup and no allocation per
 * rollup contribution (GHashTable with a g_memdup2 per key and g_free at
 * every commit cost 5% of the writer). */
static struct sum *sumtab_get(struct sumtab *tab, const int64_t *key)
{
    size_t i;

    if (2 * (tab->n + 1) > tab->cap) {
        struct sumtab old = *tab;
        tab->cap = old.cap ? 2 * old.cap : TR_ROLLUP_SUMS_MIN;
        tab->slots = xcalloc(tab->cap, sizeof *tab->slots);
        tab->used = xcalloc(tab->cap, 1);
        tab->n = 0;
        for (size_t k = 0; k < old.cap; k++)
            if (old.used[k])
                *sumtab_get(tab, old.slots[k].key) = old.slots[k];
        free(old.slots);
        free(old.used);
    }
    for (i = sum_hash(key) & (tab->cap - 1); tab->used[i]; i = (i + 1) & (tab->cap - 1))
        if (memcmp(tab->slots[i].key, key, sizeof tab->slots[i].key) == 0)
            return &tab->slots[i];
    tab->used[i] = 1;
    tab->n++;
    memcpy(tab->slots[i].key, key, sizeof tab->slots[i].key);
    memset(tab->slots[i].val, 0, sizeof tab->slots[i].val);
    return &tab->slots[i];
}

/* Empties tab; a table grown past TR_ROLLUP_SUMS_KEEP slots by one large
 * transaction is freed rather than kept. */
static void sumtab_clear(struct sumtab *tab)
{
    if (tab->cap > TR_ROLLUP_SUMS_KEEP) {
        free(tab->slots);
        free(tab->used);
        memset(tab, 0, sizeof *tab);
    } else if (tab->n > 0) {
        memset(tab->used, 0, tab->cap);
        tab->n = 0;
    }
}

/* Classified like every store failure (tr_db_fail): a refusal is
 * TR_E_DB_REFUSED, so db.c quarantines the report instead of retrying it. */
static int fail(struct tr_rollup *ru, struct tr_err *err, const char *what)
{
    return tr_db_fail(ru->h, err, what);
}

static int prepare(struct tr_rollup *ru, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v3(ru->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK ? 0 : -1;
}

/* Rollup t's upsert of rows VALUES rows. */
static int prepare_upsert(struct tr_rollup *ru, int t, int rows, sqlite3_stmt **st)
{
    int cols = roll_nkeys[t] + roll_nvals[t];
    GString *sql = g_string_new(roll_head[t]);
    int rc;

    for (int r = 0; r < rows; r++) {
        g_string_append(sql, r ? ", (" : "(");
        for (int c = 0; c < cols; c++)
            g_string_append(sql, c ? ", ?" : "?");
        g_string_append_c(sql, ')');
    }
    g_string_append(sql, roll_tail[t]);
    rc = prepare(ru, sql->str, st);
    g_string_free(sql, TRUE);
    return rc;
}

struct tr_rollup *tr_rollup_new(sqlite3 *h, struct tr_err *err)
{
    struct tr_rollup *ru = xcalloc(1, sizeof *ru);
    char sql[128];
    int ok = 0;

    ru->h = h;
    for (int d = 0; d < N_DIMS; d++) {
        snprintf(sql, sizeof sql, "INSERT INTO %s (name) VALUES (?1) ON CONFLICT DO NOTHING", dim_table[d]);
        ok |= prepare(ru, sql, &ru->dim_ins[d]);
        snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE name = ?1", dim_table[d]);
        ok |= prepare(ru, sql, &ru->dim_sel[d]);
        ru->ids[d] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    }
    for (int t = 0; t < N_ROLLS; t++) {
        ok |= prepare_upsert(ru, t, 1, &ru->upsert[t]);
        ok |= prepare_upsert(ru, t, ROLL_CHUNK, &ru->upsert_chunk[t]);
    }
    for (int i = 0; i < N_ST; i++)
        ok |= prepare(ru, st_sql[i], &ru->st[i]);
    if (ok != 0) {
        fail(ru, err, "preparing the rollup statements");
        tr_rollup_free(ru);
        return NULL;
    }
    return ru;
}

void tr_rollup_free(struct tr_rollup *ru)
{
    if (ru == NULL)
        return;
    for (int d = 0; d < N_DIMS; d++) {
        sqlite3_finalize(ru->dim_ins[d]);
        sqlite3_finalize(ru->dim_sel[d]);
        if (ru->ids[d])
            g_hash_table_destroy(ru->ids[d]);
    }
    for (int t = 0; t < N_ROLLS; t++) {
        sqlite3_finalize(ru->upsert[t]);
        sqlite3_finalize(ru->upsert_chunk[t]);
        free(ru->sums[t].slots);
        free(ru->sums[t].used);
    }
    for (int i = 0; i < N_ST; i++)
        sqlite3_finalize(ru->st[i]);
    free(ru);
}

void tr_rollup_discard(struct tr_rollup *ru, int to_savepoint)
{
    if (ru == NULL)
        return;
    for (int d = 0; d < N_DIMS; d++)
        g_hash_table_remove_all(ru->ids[d]);
    if (!to_savepoint)
        for (int t = 0; t < N_ROLLS; t++)
            sumtab_clear(&ru->sums[t]);
}

/* Steps st to completion; 0 or -1 (st reset either way, its bindings
 * kept: every statement here is bound whole before each step, as in db.c). */
static int step(struct tr_rollup *ru, sqlite3_stmt *st, struct tr_err *err, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(ru, err, what);
}

/* The id of name in dimension d, inserting it if new. */
static int intern(struct tr_rollup *ru, int d, const char *name, int64_t *id, struct tr_err *err)
{
    const int64_t *cached = g_hash_table_lookup(ru->ids[d], name);
    sqlite3_stmt *st = ru->dim_sel[d];
    int rc;

    if (cached) {
        *id = *cached;
        return 0;
    }
    sqlite3_bind_text(ru->dim_ins[d], 1, name, -1, SQLITE_STATIC);
    if (step(ru, ru->dim_ins[d], err, "interning a rollup key") < 0)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return fail(ru, err, "reading a rollup key");
    if (g_hash_table_size(ru->ids[d]) >= TR_ROLLUP_CACHE_MAX)
        g_hash_table_remove_all(ru->ids[d]);
    g_hash_table_insert(ru->ids[d], g_strdup(name), g_memdup2(id, sizeof *id));
    return 0;
}

static void add(struct tr_rollup *ru, int t, const int64_t *key, const int64_t *val)
{
    int64_t k[SUM_KEYS] = {0};
    struct sum *s;

    memcpy(k, key, (size_t)roll_nkeys[t] * sizeof *key);
    s = sumtab_get(&ru->sums[t], k);
    for (int i = 0; i < roll_nvals[t]; i++)
        s->val[i] += val[i];
}

/* The day a report counts on, and its week (Monday) and month (the 1st). */
struct when { int64_t day, wk, mo, org; };

static void add_detail(struct tr_rollup *ru, const struct when *w, int64_t dom, int64_t pt, const int64_t *mti,
                       int64_t c, int64_t n, int64_t d)
{
    const int64_t v[3] = {c, n, d};
    int64_t mx = mti[0], ty = mti[1], ip = mti[2];

    add(ru, R_FAIL, (const int64_t[]){dom, w->day, w->org, mx, ty, pt}, v);
    add(ru, R_FAIL_MX, (const int64_t[]){dom, 0, w->day, mx, ty, pt}, v);
    add(ru, R_FAIL_MX, (const int64_t[]){dom, 1, w->wk, mx, ty, pt}, v);
    add(ru, R_FAIL_MX, (const int64_t[]){dom, 2, w->mo, mx, ty, pt}, v);
    add(ru, R_FAIL_IP, (const int64_t[]){0, w->day, w->org, ip, ty, pt}, v);
    add(ru, R_FAIL_IP, (const int64_t[]){2, w->mo, w->org, ip, ty, pt}, v);
}

static int same_str(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* The dedup key of a detail (NULL and "" kept apart, as SQL's quote()). */
static char *detail_key(const struct tr_failure *f)
{
    const char *v[5] = {f->result_type, f->sending_mta_ip, f->receiving_mx_hostname, f->receiving_ip,
                        f->failure_reason_code};
    GString *k = g_string_sized_new(128);
    for (int i = 0; i < 5; i++) {
        if (v[i] == NULL) {
            g_string_append_len(k, "N|", 2);
        } else {
            /* "S<length>:<value>|", built without printf (a third of
             * tr_rollup_add's time for reports with sts+tlsa copies) */
            char num[24], *e = num + sizeof num;
            size_t len = strlen(v[i]);
            do
                *--e = (char)('0' + len % 10);
            while ((len /= 10) > 0);
            g_string_append_c(k, 'S');
            g_string_append_len(k, e, num + sizeof num - e);
            g_string_append_c(k, ':');
            g_string_append(k, v[i]);
            g_string_append_c(k, '|');
        }
    }
    return g_string_free(k, FALSE);
}

/* Per key of a multi group: its ids and, per policy type, the sums. */
struct kpt { int64_t pt, c, n, smax; };
struct kagg {
    const int64_t *mti;         /* borrowed: mx, type, ip ids of the key */
    struct kpt *pts;            /* owned */
    size_t n_pts;
};

static void kagg_free(gpointer p)
{
    struct kagg *a = p;
    free(a->pts);
    free(a);
}

/* The details of the multi group whose policies are members[0..n). */
static void add_multi_group(struct tr_rollup *ru, const struct tr_report *r, const struct when *w,
                            const size_t *members, size_t n, const int64_t *dom, const int64_t *pt,
                            int64_t *const *mti)
{
    GHashTable *keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, kagg_free);
    GHashTableIter it;
    gpointer kp, vp;

    for (size_t m = 0; m < n; m++) {
        size_t i = members[m];
        const struct tr_policy *p = &r->policies[i];
        /* This policy's own sums per key first: its largest sum is what
         * the types compete with. */
        GHashTable *mine = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        for (size_t k = 0; k < p->n_failures; k++) {
            char *key = detail_key(&p->failures[k]);
            int64_t *cs = g_hash_table_lookup(mine, key);
            struct kagg *a = g_hash_table_lookup(keys, key);
            if (a == NULL) {
                a = xcalloc(1, sizeof *a);
                a->mti = mti[i] + 3 * k;
                g_hash_table_insert(keys, g_strdup(key), a);
            }
            if (cs == NULL) {
                cs = g_new0(int64_t, 2);
                g_hash_table_insert(mine, key, cs);
            } else {
                g_free(key);
            }
            cs[0] += 1;
            cs[1] += p->failures[k].failed_sessions;
        }
        g_hash_table_iter_init(&it, mine);
        while (g_hash_table_iter_next(&it, &kp, &vp)) {
            struct kagg *a = g_hash_table_lookup(keys, kp);
            const int64_t *cs = vp;
            struct kpt *e = NULL;
            for (size_t j = 0; j < a->n_pts; j++)
                if (a->pts[j].pt == pt[i])
                    e = &a->pts[j];
            if (e == NULL) {
                a->pts = xrealloc(a->pts, (a->n_pts + 1) * sizeof *a->pts);
                e = &a->pts[a->n_pts++];
                memset(e, 0, sizeof *e);
                e->pt = pt[i];
            }
            e->c += cs[0];
            e->n += cs[1];
            if (cs[1] > e->smax)
                e->smax = cs[1];
        }
        g_hash_table_destroy(mine);
    }
    g_hash_table_iter_init(&it, keys);
    while (g_hash_table_iter_next(&it, &kp, &vp)) {
        const struct kagg *a = vp;
        size_t best = 0;
        for (size_t j = 1; j < a->n_pts; j++)
            if (a->pts[j].smax > a->pts[best].smax ||
                (a->pts[j].smax == a->pts[best].smax && a->pts[j].pt < a->pts[best].pt))
                best = j;
        for (size_t j = 0; j < a->n_pts; j++)
            add_detail(ru, w, dom[members[0]], a->pts[j].pt, a->mti, a->pts[j].c, a->pts[j].n,
                       j == best ? a->pts[best].smax : 0);
    }
    g_hash_table_destroy(keys);
}

/* The name a failure's receiving MX is shown and interned as: borrowed
 * from f, a literal, or *own (caller frees). */
static const char *mx_name(const struct tr_failure *f, char **own)
{
    *own = NULL;
    if (f->receiving_mx_hostname && f->receiving_mx_hostname[0])
        return f->receiving_mx_hostname;
    if (f->receiving_ip && f->receiving_ip[0])
        return *own = g_strdup_printf("[%s]", f->receiving_ip);
    return "(none)";
}

int tr_rollup_add(struct tr_rollup *ru, sqlite3_int64 rid, const sqlite3_int64 *pids,
                  const struct tr_report *r, struct tr_err *err)
{
    size_t np = r->n_policies;
    int64_t *dom = xcalloc(np, sizeof *dom), *pt = xcalloc(np, sizeof *pt);
    int64_t **mti = xcalloc(np, sizeof *mti);    /* per policy: 3 ids per detail */
    int *multi = xcalloc(np, sizeof *multi);
    size_t *members = xcalloc(np, sizeof *members);
    struct when w;
    int rc = -1, multidom = 0;

    w.day = tr_day_of(r->start);
    w.wk = tr_week_of_day(w.day);
    w.mo = tr_month_of_day(w.day);
    if (intern(ru, DIM_ORG, r->organization_name, &w.org, err) < 0)
        goto done;
    for (size_t i = 0; i < np; i++) {
        const struct tr_policy *p = &r->policies[i];
        if ((p->policy_domain && intern(ru, DIM_DOMAIN, p->policy_domain, &dom[i], err) < 0) ||
            intern(ru, DIM_PTYPE, p->policy_type, &pt[i], err) < 0)
            goto done;
        mti[i] = xcalloc(p->n_failures ? 3 * p->n_failures : 1, sizeof **mti);
        for (size_t k = 0; k < p->n_failures; k++) {
            const struct tr_failure *f = &p->failures[k];
            const char *ip = f->sending_mta_ip && f->sending_mta_ip[0] ? f->sending_mta_ip : "(none)";
            char *own;
            int bad = intern(ru, DIM_MX, mx_name(f, &own), &mti[i][3 * k], err) < 0 ||
                      intern(ru, DIM_TYPE, f->result_type, &mti[i][3 * k + 1], err) < 0 ||
                      intern(ru, DIM_IP, ip, &mti[i][3 * k + 2], err) < 0;
            g_free(own);
            if (bad)
                goto done;
        }
        for (size_t j = 0; j < np; j++)
            if (j != i && same_str(p->policy_domain, r->policies[j].policy_domain))
                multi[i] = 1;
    }
    for (size_t i = 0; i < np; i++) {
        sqlite3_stmt *st = ru->st[ST_POLICY];
        const int64_t v[10] = {pids[i], rid, w.day, w.wk, w.mo, w.org, dom[i], pt[i], multi[i], i == 0};
        for (int c = 0; c < 10; c++)
            sqlite3_bind_int64(st, c + 1, v[c]);
        if (step(ru, st, err, "storing a rollup policy row") < 0)
            goto done;
        multidom |= dom[i] != dom[0];
    }
    if (multidom) {
        sqlite3_bind_int64(ru->st[ST_MULTIDOM], 1, rid);
        sqlite3_bind_int64(ru->st[ST_MULTIDOM], 2, w.day);
        if (step(ru, ru->st[ST_MULTIDOM], err, "storing a rollup row") < 0)
            goto done;
    }
    sqlite3_bind_int64(ru->st[ST_UNPEND], 1, rid);
    if (step(ru, ru->st[ST_UNPEND], err, "updating roll_pending") < 0)
        goto done;

    /* Everything below is memory only: it cannot fail half-way. */
    for (size_t i = 0; i < np; i++) {
        size_t n = 0;
        int64_t ok = 0, bad = 0, first = 0;
        int leader = 1;
        for (size_t j = 0; j < i; j++)
            if (same_str(r->policies[i].policy_domain, r->policies[j].policy_domain))
                leader = 0;
        if (!leader)
            continue;
        for (size_t j = i; j < np; j++) {
            const struct tr_policy *p = &r->policies[j];
            if (!same_str(r->policies[i].policy_domain, p->policy_domain))
                continue;
            members[n++] = j;
            ok = p->successful_sessions > ok ? p->successful_sessions : ok;
            bad = p->failed_sessions > bad ? p->failed_sessions : bad;
            first |= j == 0;
        }
        for (int g = 0; g < 3; g++) {
            int64_t t = g == 0 ? w.day : g == 1 ? w.wk : w.mo;
            add(ru, R_SESS, (const int64_t[]){dom[i], g, t, w.org}, (const int64_t[]){1, first, ok, bad});
        }
        if (n > 1) {
            add_multi_group(ru, r, &w, members, n, dom, pt, mti);
        } else {
            const struct tr_policy *p = &r->policies[i];
            for (size_t k = 0; k < p->n_failures; k++)
                add_detail(ru, &w, dom[i], pt[i], &mti[i][3 * k], 1, p->failures[k].failed_sessions,
                           p->failures[k].failed_sessions);
        }
    }
    rc = 0;
done:
    for (size_t i = 0; i < np; i++)
        free(mti[i]);
    free(mti);
    free(dom);
    free(pt);
    free(multi);
    free(members);
    return rc;
}

int tr_rollup_flush(struct tr_rollup *ru, struct tr_err *err)
{
    for (int t = 0; t < N_ROLLS; t++) {
        struct sumtab *tab = &ru->sums[t];
        size_t left = tab->n, i = 0;

        while (left > 0) {
            /* ROLL_CHUNK rows per step while that many are left, then one. */
            size_t rows = left >= ROLL_CHUNK && t == R_FAIL ? ROLL_CHUNK : 1;
            sqlite3_stmt *st = rows > 1 ? ru->upsert_chunk[t] : ru->upsert[t];
            int c = 1;

            for (size_t r = 0; r < rows; i++) {
                const struct sum *s = &tab->slots[i];
                if (!tab->used[i])
                    continue;
                for (int k = 0; k < roll_nkeys[t]; k++)
                    sqlite3_bind_int64(st, c++, s->key[k]);
                for (int k = 0; k < roll_nvals[t]; k++)
                    sqlite3_bind_int64(st, c++, s->val[k]);
                r++;
            }
            if (step(ru, st, err, "updating the rollups") < 0)
                return -1;
            left -= rows;
        }
        sumtab_clear(tab);
    }
    return 0;
}
