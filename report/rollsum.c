/*
 * rollsum.c - rollup rows summed per key in a dense table (rollsum.h):
 * one pass over the rows where SQLite's GROUP BY would sort them all.
 */
#include "rollsum.h"
#include "tlsrpt/codes.h"

#include <stdlib.h>

/* The JSON handed back to SQLite: at most RPT_ROLLSUM_CELLS_MAX entries of
 * up to 8 integers; past this, the caller groups in SQL. */
#define RPT_ROLLSUM_JSON_MAX ((size_t)16 << 20)

struct cell {
    int64_t m[2];
};

/* The cell index of the row's keys, or -1 when a key is not an integer id
 * within its span or a measure not an integer (SQL's SUM would not be
 * an integer sum then). */
static int64_t cell_of(sqlite3_stmt *st, size_t n_keys, const int64_t *span)
{
    int64_t at = 0;

    for (size_t i = 0; i < n_keys + 2; i++)
        if (sqlite3_column_type(st, (int)i) != SQLITE_INTEGER)
            return -1;
    for (size_t i = 0; i < n_keys; i++) {
        int64_t id = sqlite3_column_int64(st, (int)i);
        if (id < 0 || id >= span[i])
            return -1;
        at = at * span[i] + id;
    }
    return at;
}

/* Appends the non-zero cells as "[[k0, ..., m0, m1], ...]": 0, or 1 past
 * RPT_ROLLSUM_JSON_MAX. */
static int write_json(const struct cell *cells, int64_t n_cells, size_t n_keys, const int64_t *span,
                      struct tr_buf *b)
{
    int first = 1, bad = tr_buf_append(b, "[", 1);

    for (int64_t at = 0; at < n_cells && bad == 0; at++) {
        int64_t id[RPT_ROLLSUM_KEYS_MAX], rest = at;
        if (cells[at].m[0] == 0 && cells[at].m[1] == 0)
            continue;
        for (size_t i = n_keys; i-- > 0;) {
            id[i] = rest % span[i];
            rest /= span[i];
        }
        bad |= tr_buf_append(b, first ? "[" : ",[", first ? 1 : 2);
        for (size_t i = 0; i < n_keys; i++)
            bad |= tr_buf_printf(b, "%lld,", (long long)id[i]);
        bad |= tr_buf_printf(b, "%lld,%lld]", (long long)cells[at].m[0], (long long)cells[at].m[1]);
        first = 0;
    }
    bad |= tr_buf_append(b, "]", 1);
    return bad ? 1 : 0;
}

int rpt_rollsum_json(sqlite3_stmt *st, size_t n_keys, const int64_t *span, char **json, struct tr_err *err)
{
    struct cell *cells;
    struct tr_buf b;
    int64_t n_cells = 1;
    int rc;

    *json = NULL;
    if (n_keys == 0 || n_keys > RPT_ROLLSUM_KEYS_MAX || sqlite3_column_count(st) != (int)n_keys + 2)
        return 1;
    for (size_t i = 0; i < n_keys; i++) {
        if (span[i] <= 0 || span[i] > RPT_ROLLSUM_CELLS_MAX / n_cells)
            return 1;
        n_cells *= span[i];
    }
    cells = xcalloc((size_t)n_cells, sizeof *cells);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t at = cell_of(st, n_keys, span);
        if (at < 0 || __builtin_add_overflow(cells[at].m[0], sqlite3_column_int64(st, (int)n_keys), &cells[at].m[0]) ||
            __builtin_add_overflow(cells[at].m[1], sqlite3_column_int64(st, (int)n_keys + 1), &cells[at].m[1])) {
            free(cells);
            return 1;
        }
    }
    if (rc != SQLITE_DONE) {
        tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
        free(cells);
        return -1;
    }
    tr_buf_init(&b, RPT_ROLLSUM_JSON_MAX);
    rc = write_json(cells, n_cells, n_keys, span, &b);
    free(cells);
    if (rc == 0)
        *json = (char *)tr_buf_steal(&b, NULL);
    tr_buf_free(&b);
    return rc;
}
