/*
 * rawcost.c - what jansson, zlib and SQLite cost per report on this
 * machine, measured apart from tlsrpt's own code, so BENCHMARKS.md can say
 * which limit an ingest figure runs into.
 *
 * Usage: bench_rawcost DIR [PASSES]
 *   DIR holds .json.gz reports (tests/bench/gen.py).  All are read into
 *   memory first; each stage then runs over all of them PASSES times
 *   (default 5) and the median pass is printed as microseconds per report:
 *
 *   inflate        gunzip with one z_stream reused (inflateReset)
 *   jansson        json_loadb(JSON_REJECT_DUPLICATES) + json_decref
 *   jansson-nodup  the same without JSON_REJECT_DUPLICATES
 *   jsonfast       tr_json_fast_load (jsonfast.h) + json_decref: the same
 *                  tree from tlsrpt's reader
 *   deflate-6      zlib level 6 of the JSON, one stream reused (deflateReset)
 *   deflate-1      the same at level 1
 *   deflate-6-small  level 6 with an 8 KiB window and memLevel 6 (db.c's
 *                  stream for blobs up to 8 KiB; larger ones use zlib's
 *                  defaults), and deflate-1-small the same at level 1
 *   parse          tr_parse_report (pre-scans + JSON reading + normalization)
 *   store          tr_db_store_report into a fresh database, batches of
 *                  1000 (savepoint per report, deflate, every row)
 *   store-gz       the same with each report's gzip bytes kept as sent
 *                  (no deflate): what a report that arrived as .json.gz
 *                  or a gzip mail part costs the store
 *   sqlite-rows    the same rows with plain prepared INSERTs in one
 *                  transaction per 1000 reports, no savepoints, no blob
 *                  compression: SQLite's floor for this schema
 *
 * Output: one line "stage us_per_report" each, then "reports N".
 * Benchmark tool: it prints and exits, unlike the library.
 */
#include "tlsrpt/db.h"
#include "tlsrpt/jsonfast.h"
#include "tlsrpt/parse.h"
#include "tlsrpt/report.h"

#include <dirent.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_PASSES 15
#define MAX_JSON ((size_t)64 << 20)

struct item {
    unsigned char *gz, *json;
    size_t gz_len, json_len;
    struct tr_report *r;
};

static struct item *items;
static size_t n_items;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_rawcost: %s\n", what);
    exit(2);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
        die(path);
    p = malloc((size_t)n + 1);
    if (p == NULL || fread(p, 1, (size_t)n, f) != (size_t)n)
        die(path);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static z_stream inf;
static unsigned char *out_buf;

/* Gunzips in into out_buf (MAX_JSON) with the reused stream inf. */
static size_t gunzip(const unsigned char *in, size_t len)
{
    inflateReset(&inf);
    inf.next_in = (unsigned char *)(uintptr_t)in;
    inf.avail_in = (uInt)len;
    inf.next_out = out_buf;
    inf.avail_out = (uInt)MAX_JSON;
    if (inflate(&inf, Z_FINISH) != Z_STREAM_END)
        die("inflate");
    return MAX_JSON - inf.avail_out;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef void (*stage_fn)(void);

static void st_inflate(void)
{
    for (size_t i = 0; i < n_items; i++)
        gunzip(items[i].gz, items[i].gz_len);
}

static void jansson_flags(size_t flags)
{
    for (size_t i = 0; i < n_items; i++) {
        json_error_t e;
        json_t *v = json_loadb((const char *)items[i].json, items[i].json_len, flags, &e);
        if (v == NULL)
            die("json_loadb");
        json_decref(v);
    }
}

static void st_jansson(void) { jansson_flags(JSON_REJECT_DUPLICATES); }
static void st_jansson_nodup(void) { jansson_flags(0); }

/* The same tree from tlsrpt's fast reader (jsonfast.h), malloc'd like
 * jansson's (no arena): what parse.c pays for the JSON now. */
static void st_jsonfast(void)
{
    for (size_t i = 0; i < n_items; i++) {
        json_t *v = tr_json_fast_load((const char *)items[i].json, items[i].json_len);
        if (v == NULL)
            die("tr_json_fast_load");
        json_decref(v);
    }
}

static void deflate_params(int level, int wbits, int memlevel)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, wbits, memlevel, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit");
    for (size_t i = 0; i < n_items; i++) {
        deflateReset(&zs);
        zs.next_in = items[i].json;
        zs.avail_in = (uInt)items[i].json_len;
        zs.next_out = out_buf;
        zs.avail_out = (uInt)MAX_JSON;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
            die("deflate");
    }
    deflateEnd(&zs);
}

static void st_deflate6(void) { deflate_params(6, 15, 8); }
static void st_deflate1(void) { deflate_params(1, 15, 8); }
static void st_deflate6s(void) { deflate_params(6, 13, 6); }
static void st_deflate1s(void) { deflate_params(1, 13, 6); }

static void st_parse(void)
{
    for (size_t i = 0; i < n_items; i++) {
        struct tr_err err;
        tr_report_free(items[i].r);
        if (tr_parse_report(items[i].json, items[i].json_len, NULL, NULL, &items[i].r, &err) < 0)
            die(err.detail);
    }
}

static char db_path[64];

static void fresh_db(void)
{
    char wal[80], shm[80];
    snprintf(wal, sizeof wal, "%s-wal", db_path);
    snprintf(shm, sizeof shm, "%s-shm", db_path);
    unlink(db_path);
    unlink(wal);
    unlink(shm);
}

/* as_sent: each report with its gzip bytes (tr_provenance.sent_gz), as
 * tlsrpt-ingest stores a report that arrived gzip-compressed. */
static void store_all(int as_sent)
{
    struct tr_db *db;
    struct tr_err err;
    struct tr_provenance p = { .source = "bench", .received_time = 1 };

    fresh_db();
    if (tr_db_open(db_path, 0, &db, &err) < 0 || tr_db_begin(db, &err) < 0)
        die(err.detail);
    for (size_t i = 0; i < n_items; i++) {
        p.sent_gz = as_sent ? items[i].gz : NULL;
        p.sent_gz_len = as_sent ? items[i].gz_len : 0;
        if (tr_db_store_report(db, items[i].r, &p, items[i].json, items[i].json_len, &err) < 0)
            die(err.detail);
        if ((i + 1) % 1000 == 0 && (tr_db_commit(db, &err) < 0 || tr_db_begin(db, &err) < 0))
            die(err.detail);
    }
    if (tr_db_commit(db, &err) < 0)
        die(err.detail);
    tr_db_close(db);
}

static void st_store(void)
{
    store_all(0);
}

static void st_store_gz(void)
{
    store_all(1);
}

static void bind_s(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void step(sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        die("sqlite3_step");
    sqlite3_reset(st);
}

static void st_sqlite_rows(void)
{
    struct tr_db *db;
    struct tr_err err;
    sqlite3 *h;
    sqlite3_stmt *sr, *sp, *sf;

    fresh_db();
    if (tr_db_open(db_path, 0, &db, &err) < 0)   /* schema and pragmas as ingest has them */
        die(err.detail);
    h = tr_db_handle(db);
    if (sqlite3_prepare_v2(h, "INSERT INTO report (org_name, report_id, start_time, end_time,"
                           " contact_info, received_time, source, raw_json_z, raw_json_size,"
                           " parser_version) VALUES (?,?,?,?,?,1,'bench',x'00',0,1)"
                           " ON CONFLICT DO NOTHING", -1, &sr, NULL) != SQLITE_OK
        || sqlite3_prepare_v2(h, "INSERT INTO policy (report, idx, policy_type, policy_domain,"
                              " successful_sessions, failed_sessions) VALUES (?,?,?,?,?,?)",
                              -1, &sp, NULL) != SQLITE_OK
        || sqlite3_prepare_v2(h, "INSERT INTO failure (policy, result_type, sending_mta_ip,"
                              " receiving_mx_hostname, receiving_mx_helo, receiving_ip,"
                              " failed_sessions, additional_information, failure_reason_code)"
                              " VALUES (?,?,?,?,?,?,?,?,?)", -1, &sf, NULL) != SQLITE_OK)
        die(sqlite3_errmsg(h));
    sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < n_items; i++) {
        const struct tr_report *r = items[i].r;
        sqlite3_int64 rid;
        bind_s(sr, 1, r->organization_name);
        bind_s(sr, 2, r->report_id);
        sqlite3_bind_int64(sr, 3, r->start);
        sqlite3_bind_int64(sr, 4, r->end);
        bind_s(sr, 5, r->contact_info);
        step(sr);
        if (sqlite3_changes(h) == 0)
            continue;
        rid = sqlite3_last_insert_rowid(h);
        for (size_t k = 0; k < r->n_policies; k++) {
            const struct tr_policy *p = &r->policies[k];
            sqlite3_int64 pid;
            sqlite3_bind_int64(sp, 1, rid);
            sqlite3_bind_int64(sp, 2, (sqlite3_int64)k);
            bind_s(sp, 3, p->policy_type);
            bind_s(sp, 4, p->policy_domain);
            sqlite3_bind_int64(sp, 5, p->successful_sessions);
            sqlite3_bind_int64(sp, 6, p->failed_sessions);
            step(sp);
            pid = sqlite3_last_insert_rowid(h);
            for (size_t j = 0; j < p->n_failures; j++) {
                const struct tr_failure *f = &p->failures[j];
                sqlite3_bind_int64(sf, 1, pid);
                bind_s(sf, 2, f->result_type);
                bind_s(sf, 3, f->sending_mta_ip);
                bind_s(sf, 4, f->receiving_mx_hostname);
                bind_s(sf, 5, f->receiving_mx_helo);
                bind_s(sf, 6, f->receiving_ip);
                sqlite3_bind_int64(sf, 7, f->failed_sessions);
                bind_s(sf, 8, f->additional_information);
                bind_s(sf, 9, f->failure_reason_code);
                step(sf);
            }
        }
        if ((i + 1) % 1000 == 0)
            sqlite3_exec(h, "COMMIT; BEGIN", NULL, NULL, NULL);
    }
    sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(sr);
    sqlite3_finalize(sp);
    sqlite3_finalize(sf);
    tr_db_close(db);
}

static const struct {
    const char *name;
    stage_fn fn;
} stages[] = {
    { "inflate", st_inflate },
    { "jansson", st_jansson },
    { "jansson-nodup", st_jansson_nodup },
    { "jsonfast", st_jsonfast },
    { "deflate-6", st_deflate6 },
    { "deflate-1", st_deflate1 },
    { "deflate-6-small", st_deflate6s },
    { "deflate-1-small", st_deflate1s },
    { "parse", st_parse },
    { "store", st_store },
    { "store-gz", st_store_gz },
    { "sqlite-rows", st_sqlite_rows },
};

int main(int argc, char **argv)
{
    DIR *d;
    struct dirent *de;
    size_t alloc = 0;
    int passes = argc > 2 ? atoi(argv[2]) : 5;

    if (argc < 2 || passes < 1 || passes > MAX_PASSES)
        die("usage: bench_rawcost DIR [PASSES (1..15)]");
    if ((d = opendir(argv[1])) == NULL)
        die(argv[1]);
    out_buf = malloc(MAX_JSON);
    if (out_buf == NULL || inflateInit2(&inf, 16 + 15) != Z_OK)
        die("out of memory");
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        size_t n;
        if (de->d_name[0] == '.' || strstr(de->d_name, ".json.gz") == NULL)
            continue;
        snprintf(path, sizeof path, "%s/%s", argv[1], de->d_name);
        if (n_items == alloc) {
            alloc = alloc ? 2 * alloc : 1024;
            items = realloc(items, alloc * sizeof *items);
            if (items == NULL)
                die("out of memory");
        }
        memset(&items[n_items], 0, sizeof items[n_items]);
        items[n_items].gz = slurp(path, &items[n_items].gz_len);
        n = gunzip(items[n_items].gz, items[n_items].gz_len);
        items[n_items].json = malloc(n + 1);
        if (items[n_items].json == NULL)
            die("out of memory");
        memcpy(items[n_items].json, out_buf, n);
        items[n_items].json_len = n;
        n_items++;
    }
    closedir(d);
    if (n_items == 0)
        die("no .json.gz files");
    snprintf(db_path, sizeof db_path, "/tmp/bench_rawcost.%ld.db", (long)getpid());
    for (size_t s = 0; s < sizeof stages / sizeof stages[0]; s++) {
        double t[MAX_PASSES];
        for (int p = 0; p < passes; p++) {
            double t0 = now_s();
            stages[s].fn();
            t[p] = now_s() - t0;
        }
        qsort(t, (size_t)passes, sizeof t[0], cmp_double);
        printf("%s %.2f\n", stages[s].name, t[passes / 2] / (double)n_items * 1e6);
        fflush(stdout);
    }
    printf("reports %zu\n", n_items);
    fresh_db();
    for (size_t i = 0; i < n_items; i++) {
        free(items[i].gz);
        free(items[i].json);
        tr_report_free(items[i].r);
    }
    free(items);
    free(out_buf);
    inflateEnd(&inf);
    return 0;
}
