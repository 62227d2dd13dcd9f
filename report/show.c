/*
 * show.c - single objects: one stored report (normalized, and the JSON as
 * sent) and one quarantined input (their listings: listing.c).
 *
 * The normalized report is built as a jansson object whose keys follow
 * tlsrpt-ingest's --dump names; commands.c writes it as JSON, as indented
 * text or as field,value CSV.  Stored blobs are inflated with tr_zinflate()
 * capped at RPT_SHOW_MAX_RAW.
 */
#include "query.h"
#include "sql.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/gunzip.h"

#include <stdlib.h>
#include <string.h>

/* Sets key to the text of column c, or null. */
static void set_text(json_t *o, const char *key, sqlite3_stmt *st, int c)
{
    const char *v = (const char *)sqlite3_column_text(st, c);
    json_t *j = v ? json_string(v) : json_null();
    json_object_set_new(o, key, j ? j : json_null());
}

static void set_time(json_t *o, const char *key, sqlite3_stmt *st, int c)
{
    char buf[RPT_LABEL_MAX];
    if (sqlite3_column_type(st, c) == SQLITE_NULL) {
        json_object_set_new(o, key, json_null());
        return;
    }
    rpt_fmt_datetime(sqlite3_column_int64(st, c), buf);
    json_object_set_new(o, key, json_string(buf));
}

/* A stored JSON array column (policy_strings, mx_hosts) as a JSON value:
 * the array, null when absent, the text when it is not valid JSON. */
static void set_array(json_t *o, const char *key, sqlite3_stmt *st, int c)
{
    const char *v = (const char *)sqlite3_column_text(st, c);
    json_t *j = NULL;
    if (v != NULL)
        j = json_loads(v, JSON_DECODE_ANY, NULL);
    if (j == NULL)
        j = v ? json_string(v) : json_null();
    json_object_set_new(o, key, j ? j : json_null());
}

/* Inflates column c into *raw (NUL-terminated, caller frees). */
static void inflate_col(sqlite3_stmt *st, int c, char **raw, size_t *raw_len, struct tr_err *raw_err)
{
    unsigned char *out = NULL;
    size_t len = 0;
    const unsigned char *z = sqlite3_column_blob(st, c);
    int zlen = sqlite3_column_bytes(st, c);

    *raw = NULL;
    *raw_len = 0;
    if (tr_zinflate(z ? z : (const unsigned char *)"", (size_t)zlen, RPT_SHOW_MAX_RAW, &out, &len, raw_err) < 0)
        return;
    *raw = xrealloc(out, len + 1);
    (*raw)[len] = '\0';
    *raw_len = len;
}

static int step_one(sqlite3 *db, sqlite3_stmt *st, const char *what, int64_t id, struct tr_err *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        tr_err_set(err, RPT_E_NOT_FOUND, "no %s with id %lld", what, (long long)id);
    else
        tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(db));
    return -1;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct tr_err *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
        tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

/* The failure details of policy pid as a JSON array. */
static int failures_json(sqlite3 *db, int64_t pid, json_t *arr, struct tr_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (prepare(db, "SELECT result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo,"
                    " receiving_ip, failed_sessions, additional_information, failure_reason_code"
                    " FROM failure WHERE policy = ? ORDER BY id", &st, err) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, pid);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *f = json_object();
        set_text(f, "result_type", st, 0);
        set_text(f, "sending_mta_ip", st, 1);
        set_text(f, "receiving_mx_hostname", st, 2);
        set_text(f, "receiving_mx_helo", st, 3);
        set_text(f, "receiving_ip", st, 4);
        json_object_set_new(f, "failed_sessions", json_integer(sqlite3_column_int64(st, 5)));
        set_text(f, "additional_information", st, 6);
        set_text(f, "failure_reason_code", st, 7);
        json_array_append_new(arr, f);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static int policies_json(sqlite3 *db, int64_t rid, json_t *arr, struct tr_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (prepare(db, "SELECT id, policy_type, policy_domain, policy_strings, mx_hosts,"
                    " successful_sessions, failed_sessions FROM policy WHERE report = ? ORDER BY idx",
                &st, err) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, rid);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *p = json_object(), *fails = json_array();
        set_text(p, "policy_type", st, 1);
        set_text(p, "policy_domain", st, 2);
        set_array(p, "policy_strings", st, 3);
        set_array(p, "mx_hosts", st, 4);
        json_object_set_new(p, "successful_sessions", json_integer(sqlite3_column_int64(st, 5)));
        json_object_set_new(p, "failed_sessions", json_integer(sqlite3_column_int64(st, 6)));
        json_object_set_new(p, "failure_details", fails);
        json_array_append_new(arr, p);
        if (failures_json(db, sqlite3_column_int64(st, 0), fails, err) < 0) {
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

int rpt_q_report_show(sqlite3 *db, int64_t id, json_t **normalized, char **raw, size_t *raw_len,
                      struct tr_err *raw_err, struct tr_err *err)
{
    sqlite3_stmt *st;
    json_t *o, *pols;
    const char *w;

    *normalized = NULL;
    *raw = NULL;
    if (prepare(db, "SELECT id, org_name, report_id, contact_info, start_time, end_time,"
                    " received_time, source, message_id, hdr_report_domain, hdr_report_submitter,"
                    " attachment_name, dkim, warnings, parser_version, raw_json_size, raw_json_z"
                    " FROM report WHERE id = ?", &st, err) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    if (step_one(db, st, "report", id, err) < 0) {
        sqlite3_finalize(st);
        return -1;
    }
    o = json_object();
    json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
    set_text(o, "organization_name", st, 1);
    set_text(o, "report_id", st, 2);
    set_text(o, "contact_info", st, 3);
    set_time(o, "start", st, 4);
    set_time(o, "end", st, 5);
    set_time(o, "received", st, 6);
    set_text(o, "source", st, 7);
    set_text(o, "message_id", st, 8);
    set_text(o, "report_domain_header", st, 9);
    set_text(o, "report_submitter_header", st, 10);
    set_text(o, "attachment_name", st, 11);
    set_text(o, "dkim", st, 12);
    {
        json_t *warn = json_array();
        char *copy, *save = NULL;
        w = (const char *)sqlite3_column_text(st, 13);
        copy = xstrdup(w ? w : "");
        for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
            json_array_append_new(warn, json_string(t));
        free(copy);
        json_object_set_new(o, "warnings", warn);
    }
    json_object_set_new(o, "parser_version", json_integer(sqlite3_column_int64(st, 14)));
    json_object_set_new(o, "raw_json_size", json_integer(sqlite3_column_int64(st, 15)));
    inflate_col(st, 16, raw, raw_len, raw_err);
    sqlite3_finalize(st);

    pols = json_array();
    json_object_set_new(o, "policies", pols);
    if (policies_json(db, id, pols, err) < 0) {
        json_decref(o);
        free(*raw);
        *raw = NULL;
        return -1;
    }
    *normalized = o;
    return 0;
}

int rpt_q_quarantine_show(sqlite3 *db, int64_t id, json_t **meta, char **raw, size_t *raw_len,
                          struct tr_err *raw_err, struct tr_err *err)
{
    sqlite3_stmt *st;
    json_t *o;

    *meta = NULL;
    *raw = NULL;
    if (prepare(db, "SELECT id, first_seen, last_seen, times_seen, source, message_id,"
                    " hdr_report_domain, hdr_report_submitter, attachment_name, reason, message,"
                    " digest, raw_size, raw_truncated, resolved_time, raw_z"
                    " FROM quarantine WHERE id = ?", &st, err) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    if (step_one(db, st, "quarantined input", id, err) < 0) {
        sqlite3_finalize(st);
        return -1;
    }
    o = json_object();
    json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
    set_time(o, "first_seen", st, 1);
    set_time(o, "last_seen", st, 2);
    json_object_set_new(o, "times_seen", json_integer(sqlite3_column_int64(st, 3)));
    set_text(o, "source", st, 4);
    set_text(o, "message_id", st, 5);
    set_text(o, "report_domain_header", st, 6);
    set_text(o, "report_submitter_header", st, 7);
    set_text(o, "attachment_name", st, 8);
    set_text(o, "reason", st, 9);
    set_text(o, "message", st, 10);
    set_text(o, "digest", st, 11);
    json_object_set_new(o, "raw_size", json_integer(sqlite3_column_int64(st, 12)));
    json_object_set_new(o, "raw_truncated", json_boolean(sqlite3_column_int64(st, 13) != 0));
    set_time(o, "resolved", st, 14);
    inflate_col(st, 15, raw, raw_len, raw_err);
    sqlite3_finalize(st);
    *meta = o;
    return 0;
}
