/*
 * test_rollup.c - the writer's rollup sums (ingest/rollup.c, rollup.h).
 *
 * Table-driven: each case is a report (JSON, ' for ") stored through
 * tr_db_store_report into a fresh database, whose rollups are then read:
 * the sessions of roll_sess (ok, bad: the sts+tlsa rule takes the larger
 * of a domain's policies, not their sum) and the failure sums of roll_fail
 * (c details, n sessions as listed, d sessions counted once: a detail
 * listed under both the sts and the tlsa policy of one domain counts
 * once).  Each case's rollups are also compared, row for row by names,
 * with what schema/003's roll_fold trigger makes of the same rows, as any
 * other writer would fold them.
 */
#include "check.h"
#include "tlsrpt/db.h"
#include "tlsrpt/parse.h"
#include "tlsrpt/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEAD "{'organization-name':'Org','report-id':'r1','date-range':{'start-datetime':" \
             "'2026-11-10T00:00:00Z','end-datetime':'2026-11-10T23:59:59Z'},'policies':["
#define POL(type, dom, ok, bad, details) \
    "{'policy':{'policy-type':'" type "','policy-domain':'" dom "'},'summary':{" \
    "'total-successful-session-count':" #ok ",'total-failure-session-count':" #bad "}," \
    "'failure-details':[" details "]}"
#define DET(type, mx, n) "{'result-type':'" type "','receiving-mx-hostname':'" mx "'," \
                         "'sending-mta-ip':'192.0.2.1','failed-session-count':" #n "}"

struct rcase {
    const char *name;
    const char *json;
    long ok, bad;          /* SUM(ok), SUM(bad) of roll_sess, day rows */
    long c, n, d;          /* SUM(c), SUM(n), SUM(d) of roll_fail */
    long fail_rows;        /* rows of roll_fail */
};

static const struct rcase cases[] = {
    { "one policy, one detail",
      HEAD POL("sts", "example.net", 10, 2, DET("certificate-expired", "mx1.example.net", 2)) "]}",
      10, 2, 1, 2, 2, 1 },
    { "one policy, no details",
      HEAD POL("sts", "example.net", 7, 0, "") "]}", 7, 0, 0, 0, 0, 0 },
    { "sts and tlsa of one domain, the same detail: sessions and failures counted once",
      HEAD POL("sts", "example.net", 10, 3, DET("certificate-expired", "mx1.example.net", 3)) ","
           POL("tlsa", "example.net", 10, 3, DET("certificate-expired", "mx1.example.net", 3)) "]}",
      10, 3, 2, 6, 3, 2 },
    { "sts and tlsa of one domain, different counts: the larger",
      HEAD POL("sts", "example.net", 8, 2, DET("certificate-expired", "mx1.example.net", 2)) ","
           POL("tlsa", "example.net", 10, 3, DET("certificate-expired", "mx1.example.net", 3)) "]}",
      10, 3, 2, 5, 3, 2 },
    { "sts and tlsa of one domain, different details: both count",
      HEAD POL("sts", "example.net", 10, 3, DET("certificate-expired", "mx1.example.net", 3)) ","
           POL("tlsa", "example.net", 10, 2, DET("dane-required", "mx2.example.net", 2)) "]}",
      10, 3, 2, 5, 5, 2 },
    { "a detail repeated within a policy: its sum, then the sts+tlsa rule",
      HEAD POL("sts", "example.net", 10, 4, DET("certificate-expired", "mx1.example.net", 2) ","
                                            DET("certificate-expired", "mx1.example.net", 2)) ","
           POL("tlsa", "example.net", 10, 4, DET("certificate-expired", "mx1.example.net", 4)) "]}",
      10, 4, 3, 8, 4, 2 },
    { "two policy domains: nothing shared, everything counts",
      HEAD POL("sts", "example.net", 10, 3, DET("certificate-expired", "mx1.example.net", 3)) ","
           POL("sts", "example.org", 5, 3, DET("certificate-expired", "mx1.example.net", 3)) "]}",
      15, 6, 2, 6, 6, 2 },
    { "two sts policies of one domain: a multi group like sts+tlsa",
      HEAD POL("sts", "example.net", 10, 3, DET("certificate-expired", "mx1.example.net", 3)) ","
           POL("sts", "example.net", 10, 3, DET("certificate-expired", "mx1.example.net", 3)) "]}",
      10, 3, 2, 6, 3, 1 },
};

static char tmpdir[] = "/tmp/tlsrpt-test-rollup.XXXXXX";

static long one(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    long v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Every rollup row, by names, as one string (caller-owned). */
static char *rollups_by_name(sqlite3 *h)
{
    static const char *const sql =
        "SELECT (SELECT group_concat(x, ';') FROM (SELECT coalesce(d.name, '-') || ',' || s.g || ','"
        "  || s.t || ',' || o.name || ',' || s.n || ',' || s.r || ',' || s.ok || ',' || s.bad AS x"
        "  FROM roll_sess s LEFT JOIN dim_domain d ON d.id = s.dom JOIN dim_org o ON o.id = s.org ORDER BY x))"
        " || '|' || (SELECT group_concat(x, ';') FROM (SELECT coalesce(d.name, '-') || ',' || f.t || ','"
        "  || o.name || ',' || coalesce(m.name, '-') || ',' || ty.name || ',' || p.name || ','"
        "  || f.c || ',' || f.n || ',' || f.d AS x FROM roll_fail f LEFT JOIN dim_domain d ON d.id = f.dom"
        "  JOIN dim_org o ON o.id = f.org LEFT JOIN dim_mx m ON m.id = f.mx JOIN dim_type ty ON ty.id = f.ty"
        "  JOIN dim_ptype p ON p.id = f.pt ORDER BY x))"
        " || '|' || (SELECT group_concat(x, ';') FROM (SELECT coalesce(d.name, '-') || ',' || f.g || ','"
        "  || f.t || ',' || coalesce(m.name, '-') || ',' || ty.name || ',' || p.name || ','"
        "  || f.c || ',' || f.n || ',' || f.d AS x FROM roll_fail_mx f LEFT JOIN dim_domain d ON d.id = f.dom"
        "  LEFT JOIN dim_mx m ON m.id = f.mx JOIN dim_type ty ON ty.id = f.ty"
        "  JOIN dim_ptype p ON p.id = f.pt ORDER BY x))"
        " || '|' || (SELECT group_concat(x, ';') FROM (SELECT f.g || ',' || f.t || ',' || o.name || ','"
        "  || coalesce(i.name, '-') || ',' || ty.name || ',' || p.name || ',' || f.c || ',' || f.n || ','"
        "  || f.d AS x FROM roll_fail_ip f JOIN dim_org o ON o.id = f.org LEFT JOIN dim_ip i ON i.id = f.ip"
        "  JOIN dim_type ty ON ty.id = f.ty JOIN dim_ptype p ON p.id = f.pt ORDER BY x))";
    sqlite3_stmt *st;
    char *out = NULL;

    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        out = xstrdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
    sqlite3_finalize(st);
    return out ? out : xstrdup("(query failed)");
}

/* The same rows copied into a fresh database and folded by roll_fold. */
static char *folded_by_sql(const char *from, const char *path)
{
    struct tr_db *db;
    struct tr_err err;
    char *sql, *out;

    CHECK(tr_db_open(path, 0, &db, &err) == 0);
    sql = xasprintf("ATTACH '%s' AS a; BEGIN; INSERT INTO report SELECT * FROM a.report;"
                    " INSERT INTO policy SELECT * FROM a.policy; INSERT INTO failure SELECT * FROM a.failure;"
                    " UPDATE roll_state SET folds = folds + 1 WHERE id = 1; COMMIT; DETACH a", from);
    CHECK(sqlite3_exec(tr_db_handle(db), sql, NULL, NULL, NULL) == SQLITE_OK);
    CHECK_INT(one(tr_db_handle(db), "SELECT count(*) FROM roll_pending"), 0);
    free(sql);
    out = rollups_by_name(tr_db_handle(db));
    tr_db_close(db);
    return out;
}

static void run_case(const struct rcase *c, int i)
{
    char *json = xstrdup(c->json), *path = xasprintf("%s/c%d.db", tmpdir, i);
    char *path2 = xasprintf("%s/f%d.db", tmpdir, i), *mine, *theirs;
    struct tr_report *r = NULL;
    struct tr_provenance p;
    struct tr_db *db;
    struct tr_err err;
    sqlite3 *h;

    for (char *q = json; *q; q++)
        if (*q == '\'')
            *q = '"';
    memset(&p, 0, sizeof p);
    p.source = "test";
    if (tr_parse_report((const unsigned char *)json, strlen(json), NULL, NULL, &r, &err) < 0) {
        check_fail(__FILE__, __LINE__, "%s: %s: %s", c->name, err.code, err.detail);
        goto out;
    }
    CHECK(tr_db_open(path, 0, &db, &err) == 0);
    CHECK_INT(tr_db_store_report(db, r, &p, (const unsigned char *)json, strlen(json), &err), TR_STORED);
    h = tr_db_handle(db);
    if (one(h, "SELECT coalesce(sum(ok), 0) FROM roll_sess WHERE g = 0") != c->ok
        || one(h, "SELECT coalesce(sum(bad), 0) FROM roll_sess WHERE g = 0") != c->bad
        || one(h, "SELECT coalesce(sum(c), 0) FROM roll_fail") != c->c
        || one(h, "SELECT coalesce(sum(n), 0) FROM roll_fail") != c->n
        || one(h, "SELECT coalesce(sum(d), 0) FROM roll_fail") != c->d
        || one(h, "SELECT count(*) FROM roll_fail") != c->fail_rows)
        check_fail(__FILE__, __LINE__, "%s: ok %ld bad %ld c %ld n %ld d %ld rows %ld, want %ld %ld %ld %ld %ld %ld",
                   c->name, one(h, "SELECT coalesce(sum(ok), 0) FROM roll_sess WHERE g = 0"),
                   one(h, "SELECT coalesce(sum(bad), 0) FROM roll_sess WHERE g = 0"),
                   one(h, "SELECT coalesce(sum(c), 0) FROM roll_fail"), one(h, "SELECT coalesce(sum(n), 0) FROM roll_fail"),
                   one(h, "SELECT coalesce(sum(d), 0) FROM roll_fail"), one(h, "SELECT count(*) FROM roll_fail"),
                   c->ok, c->bad, c->c, c->n, c->d, c->fail_rows);
    else
        check_passed++;
    /* The week and month rows of roll_sess hold the same sums. */
    CHECK_INT(one(h, "SELECT coalesce(sum(ok), 0) FROM roll_sess WHERE g = 2"), c->ok);
    CHECK_INT(one(h, "SELECT coalesce(sum(d), 0) FROM roll_fail_mx WHERE g = 0"), c->d);
    CHECK_INT(one(h, "SELECT count(*) FROM roll_pending"), 0);
    mine = rollups_by_name(h);
    tr_db_close(db);
    theirs = folded_by_sql(path, path2);
    if (strcmp(mine, theirs) != 0)
        check_fail(__FILE__, __LINE__, "%s: C sums differ from roll_fold:\n  C:   %s\n  SQL: %s", c->name, mine, theirs);
    else
        check_passed++;
    free(mine);
    free(theirs);
out:
    tr_report_free(r);
    free(json);
    free(path);
    free(path2);
}

int main(void)
{
    char *cmd;

    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i], (int)i);
    cmd = xasprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    free(cmd);
    return check_done();
}
