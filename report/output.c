/*
 * output.c - the table model and its writers: aligned terminal table, RFC
 * 4180 CSV, JSON; plus the escaping every report-derived string goes
 * through on its way out.
 *
 * Layout of a table: cols[ncols] describe the columns; cells is one
 * row-major array of nrows * ncols cells, grown by doubling.  Text cells own
 * their strings.  Escaping happens only here, at the edge: the model holds
 * strings exactly as stored in the database.
 */
#include "output.h"
#include "tlsrpt/dates.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct rpt_table *rpt_table_new(void)
{
    return xcalloc(1, sizeof(struct rpt_table));
}

void rpt_table_free(struct rpt_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i].s);
    for (size_t c = 0; c < t->ncols; c++)
        free(t->cols[c].name);
    free(t->cells);
    free(t->cols);
    free(t);
}

void rpt_table_add_col(struct rpt_table *t, const char *name, enum rpt_col_style style)
{
    size_t old = t->ncols;

    t->cols = xrealloc(t->cols, (old + 1) * sizeof *t->cols);
    t->cols[old].name = xstrdup(name);
    t->cols[old].style = style;
    t->ncols++;
    if (t->alloc_rows == 0)
        return;
    /* Rows exist: re-lay them for the wider row, last row first. */
    t->cells = xrealloc(t->cells, t->alloc_rows * t->ncols * sizeof *t->cells);
    for (size_t r = t->nrows; r-- > 0;) {
        memmove(&t->cells[r * t->ncols], &t->cells[r * old], old * sizeof *t->cells);
        memset(&t->cells[r * t->ncols + old], 0, sizeof *t->cells);
    }
}

size_t rpt_table_add_row(struct rpt_table *t)
{
    if (t->nrows == t->alloc_rows) {
        t->alloc_rows = t->alloc_rows ? t->alloc_rows * 2 : 64;
        t->cells = xrealloc(t->cells, t->alloc_rows * t->ncols * sizeof *t->cells);
    }
    memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof *t->cells);
    return t->nrows++;
}

struct rpt_cell *rpt_table_cell(const struct rpt_table *t, size_t row, size_t col)
{
    return &t->cells[row * t->ncols + col];
}

static struct rpt_cell *reset_cell(struct rpt_table *t, size_t row, size_t col)
{
    struct rpt_cell *c = rpt_table_cell(t, row, col);
    free(c->s);
    memset(c, 0, sizeof *c);
    return c;
}

void rpt_table_set_int(struct rpt_table *t, size_t row, size_t col, int64_t v)
{
    struct rpt_cell *c = reset_cell(t, row, col);
    c->kind = RPT_INT;
    c->i = v;
}

void rpt_table_set_real(struct rpt_table *t, size_t row, size_t col, double v)
{
    struct rpt_cell *c = reset_cell(t, row, col);
    c->kind = RPT_REAL;
    c->d = v;
}

void rpt_table_set_text(struct rpt_table *t, size_t row, size_t col, const char *s)
{
    struct rpt_cell *c = reset_cell(t, row, col);
    if (s != NULL) {
        c->kind = RPT_TEXT;
        c->s = xstrdup(s);
    }
}

int rpt_table_col(const struct rpt_table *t, const char *name)
{
    for (size_t c = 0; c < t->ncols; c++)
        if (strcmp(t->cols[c].name, name) == 0)
            return (int)c;
    return -1;
}

void rpt_out_init(struct rpt_out *o, FILE *fp, enum rpt_format fmt)
{
    const char *nc = getenv("NO_COLOR"), *cols = getenv("COLUMNS");
    int tty = isatty(fileno(fp));
    struct winsize ws;

    o->fp = fp;
    o->fmt = fmt;
    o->color = tty && (nc == NULL || nc[0] == '\0');
    o->width = 0;
    if (cols != NULL && atoi(cols) > 0)
        o->width = atoi(cols);
    else if (tty && ioctl(fileno(fp), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        o->width = ws.ws_col;
}

/* --- numbers --- */

char *rpt_fmt_count(int64_t n, char *buf)
{
    char digits[RPT_NUM_MAX];
    uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    int nd = 0, pos = 0;

    do {
        digits[nd++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (n < 0)
        buf[pos++] = '-';
    while (nd > 0) {
        buf[pos++] = digits[--nd];
        if (nd > 0 && nd % 3 == 0)
            buf[pos++] = ',';
    }
    buf[pos] = '\0';
    return buf;
}

double rpt_success_rate(int64_t ok, int64_t failed)
{
    double total = (double)ok + (double)failed;
    if (total <= 0)
        return -1.0;
    return floor((double)ok * 10000.0 / total) / 100.0;
}

double rpt_round2(double v)
{
    return round(v * 100.0) / 100.0;
}

/* --- cells as text --- */

/* The display form of a cell in the table format; caller owns it. */
static char *cell_display(const struct rpt_cell *c, enum rpt_col_style st)
{
    char num[RPT_NUM_MAX];

    switch (c->kind) {
    case RPT_NULL:
        return xstrdup("-");
    case RPT_TEXT:
        return rpt_term_escape(c->s, strlen(c->s), 0);
    case RPT_INT:
        if (st == RPT_S_ID || st == RPT_S_TEXT)
            return xasprintf("%lld", (long long)c->i);
        return xstrdup(rpt_fmt_count(c->i, num));
    case RPT_REAL:
        switch (st) {
        case RPT_S_RATE: return xasprintf("%.2f%%", c->d);
        case RPT_S_PP:   return xasprintf("%+.2fpp", c->d);
        case RPT_S_PCT:  return xasprintf("%+.1f%%", c->d);
        default:         return xasprintf("%.2f", c->d);
        }
    }
    return xstrdup("");
}

/* The CSV form of a cell (already a complete field); caller owns it. */
static char *cell_csv(const struct rpt_cell *c)
{
    switch (c->kind) {
    case RPT_NULL: return xstrdup("");
    case RPT_TEXT: return rpt_csv_field(c->s);
    case RPT_INT:  return xasprintf("%lld", (long long)c->i);
    case RPT_REAL: return xasprintf("%.2f", c->d);
    }
    return xstrdup("");
}

static int right_aligned(enum rpt_col_style st)
{
    return st != RPT_S_TEXT && st != RPT_S_SPARK && st != RPT_S_SEVERITY;
}

/* Fits the column widths into o->width by squeezing text columns, widest
 * first, no narrower than RPT_COL_MIN_WIDTH (or their header). */
static void fit_widths(const struct rpt_out *o, const struct rpt_table *t, size_t *w)
{
    size_t total = 0, limit;

    for (size_t c = 0; c < t->ncols; c++) {
        if (o->width == 0 && w[c] > RPT_CELL_DISPLAY_MAX)
            w[c] = RPT_CELL_DISPLAY_MAX;
        total += w[c] + (c ? 2 : 0);
    }
    if (o->width == 0)
        return;
    limit = (size_t)o->width > 0 ? (size_t)o->width - 1 : 0;  /* keep off the last column */
    while (total > limit) {
        size_t best = t->ncols;
        for (size_t c = 0; c < t->ncols; c++) {
            size_t floor_w = strlen(t->cols[c].name) > RPT_COL_MIN_WIDTH ? strlen(t->cols[c].name)
                                                                       : RPT_COL_MIN_WIDTH;
            if (t->cols[c].style == RPT_S_TEXT && w[c] > floor_w && (best == t->ncols || w[c] > w[best]))
                best = c;
        }
        if (best == t->ncols)
            break;   /* nothing left to squeeze: let the terminal wrap */
        w[best]--;
        total--;
    }
}

size_t rpt_table_width(const struct rpt_table *t)
{
    size_t total = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        size_t w = strlen(t->cols[c].name);
        for (size_t r = 0; r < t->nrows; r++) {
            char *d = cell_display(rpt_table_cell(t, r, c), t->cols[c].style);
            size_t dw = rpt_display_width(d);
            free(d);
            if (dw > w)
                w = dw;
        }
        total += w + (c ? 2 : 0);
    }
    return total;
}

static int put_padded(struct rpt_out *o, const char *s, size_t width, int right, int last)
{
    size_t dw = rpt_display_width(s);
    size_t pad = dw < width ? width - dw : 0;
    size_t cut = strlen(s);

    if (dw > width) {                      /* truncate with an ellipsis */
        cut = width > 0 ? rpt_width_offset(s, width - 1) : 0;
        pad = 0;
    }
    if (right && fprintf(o->fp, "%*s", (int)pad, "") < 0)
        return -1;
    if (fwrite(s, 1, cut, o->fp) != cut)
        return -1;
    if (dw > width && width > 0 && fputs("\u2026", o->fp) < 0)
        return -1;
    if (!right && !last && fprintf(o->fp, "%*s", (int)pad, "") < 0)
        return -1;
    return 0;
}

/* The colour of an RPT_S_SEVERITY cell, or NULL. */
static const char *severity_colour(enum rpt_col_style style, const struct rpt_cell *cell)
{
    if (style != RPT_S_SEVERITY || cell->kind != RPT_TEXT)
        return NULL;
    if (strcmp(cell->s, "critical") == 0)
        return RPT_ANSI_RED;
    if (strcmp(cell->s, "warning") == 0)
        return RPT_ANSI_YELLOW;
    return NULL;
}

static int write_text_table(struct rpt_out *o, const struct rpt_table *t)
{
    size_t *w = xcalloc(t->ncols, sizeof *w);
    char **hdr = xcalloc(t->ncols, sizeof *hdr);
    char **disp = xcalloc(t->nrows * t->ncols + 1, sizeof *disp);
    int rc = 0;

    if (t->nrows == 0) {
        free(w);
        free(hdr);
        free(disp);
        return fputs("(no rows)\n", o->fp) < 0 ? -1 : 0;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        /* Column names can be report data (trend's failure types). */
        char *h = rpt_term_escape(t->cols[c].name, strlen(t->cols[c].name), 0);
        for (char *p = h; *p; p++)
            *p = *p == '_' ? ' ' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        hdr[c] = h;
        w[c] = rpt_display_width(h);
    }
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            char *d = cell_display(rpt_table_cell(t, r, c), t->cols[c].style);
            size_t dw = rpt_display_width(d);
            disp[r * t->ncols + c] = d;
            if (dw > w[c])
                w[c] = dw;
        }
    fit_widths(o, t, w);

    rpt_out_style(o, RPT_ANSI_BOLD);
    for (size_t c = 0; c < t->ncols && rc == 0; c++) {
        rc |= c ? (fputs("  ", o->fp) < 0 ? -1 : 0) : 0;
        rc |= put_padded(o, hdr[c], w[c], right_aligned(t->cols[c].style), c + 1 == t->ncols);
    }
    rpt_out_style(o, RPT_ANSI_RESET);
    rc |= fputc('\n', o->fp) == EOF ? -1 : 0;
    for (size_t r = 0; r < t->nrows && rc == 0; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const struct rpt_cell *cell = rpt_table_cell(t, r, c);
            const char *colour = t->cols[c].style == RPT_S_FAIL && cell->kind == RPT_INT && cell->i > 0
                                     ? RPT_ANSI_RED : severity_colour(t->cols[c].style, cell);
            rc |= c ? (fputs("  ", o->fp) < 0 ? -1 : 0) : 0;
            if (colour)
                rpt_out_style(o, colour);
            rc |= put_padded(o, disp[r * t->ncols + c], w[c], right_aligned(t->cols[c].style),
                             c + 1 == t->ncols);
            if (colour)
                rpt_out_style(o, RPT_ANSI_RESET);
        }
        rc |= fputc('\n', o->fp) == EOF ? -1 : 0;
    }
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(disp[i]);
    for (size_t c = 0; c < t->ncols; c++)
        free(hdr[c]);
    free(hdr);
    free(disp);
    free(w);
    return rc;
}

static int write_csv(struct rpt_out *o, const struct rpt_table *t)
{
    int rc = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        char *f = rpt_csv_field(t->cols[c].name);
        rc |= fprintf(o->fp, "%s%s", c ? "," : "", f) < 0 ? -1 : 0;
        free(f);
    }
    rc |= fputs("\r\n", o->fp) < 0 ? -1 : 0;
    for (size_t r = 0; r < t->nrows && rc == 0; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const struct rpt_cell *cell = rpt_table_cell(t, r, c);
            if (c > 0 && putc(',', o->fp) == EOF)
                rc = -1;
            if (cell->kind == RPT_INT) {   /* numbers: no string made */
                rc |= fprintf(o->fp, "%lld", (long long)cell->i) < 0 ? -1 : 0;
            } else if (cell->kind == RPT_REAL) {
                rc |= fprintf(o->fp, "%.2f", cell->d) < 0 ? -1 : 0;
            } else {
                char *f = cell_csv(cell);
                rc |= fputs(f, o->fp) < 0 ? -1 : 0;
                free(f);
            }
        }
        rc |= fputs("\r\n", o->fp) < 0 ? -1 : 0;
    }
    return rc;
}

json_t *rpt_table_to_json(const struct rpt_table *t)
{
    json_t *arr = json_array();
    for (size_t r = 0; r < t->nrows; r++) {
        json_t *row = json_object();
        for (size_t c = 0; c < t->ncols; c++) {
            const struct rpt_cell *cell = rpt_table_cell(t, r, c);
            json_t *v;
            switch (cell->kind) {
            case RPT_INT:  v = json_integer(cell->i); break;
            case RPT_REAL: v = json_real(rpt_round2(cell->d)); break;
            case RPT_TEXT: v = json_string(cell->s); break;
            default:       v = json_null(); break;
            }
            if (v == NULL)           /* not UTF-8: cannot happen for stored data */
                v = json_null();
            json_object_set_new(row, t->cols[c].name, v);
        }
        json_array_append_new(arr, row);
    }
    return arr;
}

int rpt_out_table(struct rpt_out *o, const struct rpt_table *t)
{
    switch (o->fmt) {
    case RPT_FMT_TABLE:
        return write_text_table(o, t);
    case RPT_FMT_CSV:
        return write_csv(o, t);
    case RPT_FMT_JSON: {
        json_t *j = rpt_table_to_json(t);
        int rc = rpt_out_json(o, j);
        json_decref(j);
        return rc;
    }
    }
    return -1;
}

int rpt_out_json(struct rpt_out *o, const json_t *v)
{
    size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15);
    if (json_dumpf(v, o->fp, flags) != 0)
        return -1;
    return fputc('\n', o->fp) == EOF ? -1 : 0;
}

/* Scalar JSON value as text (caller owns), NULL for containers. */
static char *scalar_text(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:  return xstrndup(json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return xasprintf("%lld", (long long)json_integer_value(v));
    case JSON_REAL:    return xasprintf("%.2f", json_real_value(v));
    case JSON_TRUE:    return xstrdup("true");
    case JSON_FALSE:   return xstrdup("false");
    case JSON_NULL:    return xstrdup("-");
    default:           return NULL;
    }
}

static int tree_rec(struct rpt_out *o, const json_t *v, const char *path, int depth)
{
    int rc = 0;
    const char *key;
    json_t *child;
    size_t idx;

    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, child) {
            char *sub = path[0] ? xasprintf("%s.%s", path, key) : xstrdup(key);
            char *text = scalar_text(child);
            if (o->fmt == RPT_FMT_TABLE) {
                char *ek = rpt_term_escape(key, strlen(key), 0);   /* keys can be report data */
                rc |= fprintf(o->fp, "%*s%s:", depth * 2, "", ek) < 0 ? -1 : 0;
                free(ek);
                if (text != NULL) {
                    char *e = rpt_term_escape(text, strlen(text), 0);
                    rc |= fprintf(o->fp, " %s\n", e) < 0 ? -1 : 0;
                    free(e);
                } else {
                    rc |= fputc('\n', o->fp) == EOF ? -1 : 0;
                }
            } else if (text != NULL) {
                char *f1 = rpt_csv_field(sub), *f2 = rpt_csv_field(text);
                rc |= fprintf(o->fp, "%s,%s\r\n", f1, f2) < 0 ? -1 : 0;
                free(f1);
                free(f2);
            }
            if (text == NULL)
                rc |= tree_rec(o, child, sub, depth + 1);
            free(text);
            free(sub);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, idx, child) {
            char *sub = xasprintf("%s.%zu", path, idx + 1);
            char *text = scalar_text(child);
            if (o->fmt == RPT_FMT_TABLE) {
                if (text != NULL) {
                    char *e = rpt_term_escape(text, strlen(text), 0);
                    rc |= fprintf(o->fp, "%*s- %s\n", depth * 2, "", e) < 0 ? -1 : 0;
                    free(e);
                } else {
                    rc |= fprintf(o->fp, "%*s[%zu]\n", depth * 2, "", idx + 1) < 0 ? -1 : 0;
                }
            } else if (text != NULL) {
                char *f1 = rpt_csv_field(sub), *f2 = rpt_csv_field(text);
                rc |= fprintf(o->fp, "%s,%s\r\n", f1, f2) < 0 ? -1 : 0;
                free(f1);
                free(f2);
            }
            if (text == NULL)
                rc |= tree_rec(o, child, sub, depth + 1);
            free(text);
            free(sub);
        }
    }
    return rc;
}

int rpt_out_tree(struct rpt_out *o, const json_t *v)
{
    if (o->fmt == RPT_FMT_JSON)
        return rpt_out_json(o, v);
    if (o->fmt == RPT_FMT_CSV && fputs("field,value\r\n", o->fp) < 0)
        return -1;
    return tree_rec(o, v, "", 0);
}

int rpt_out_text(struct rpt_out *o, const char *s, size_t len)
{
    if (o->fmt == RPT_FMT_TABLE) {
        char *e = rpt_term_escape(s, len, 1);
        int rc = fputs(e, o->fp) < 0 ? -1 : 0;
        free(e);
        return rc;
    }
    return rpt_out_bytes(o, s, len);
}

int rpt_out_printf(struct rpt_out *o, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vfprintf(o->fp, fmt, ap);
    va_end(ap);
    return n < 0 ? -1 : 0;
}

int rpt_out_bytes(struct rpt_out *o, const void *p, size_t len)
{
    return fwrite(p, 1, len, o->fp) == len ? 0 : -1;
}

int rpt_out_style(struct rpt_out *o, const char *ansi)
{
    if (!o->color || o->fmt != RPT_FMT_TABLE)
        return 0;
    return fputs(ansi, o->fp) < 0 ? -1 : 0;
}

void rpt_table_datetimes(struct rpt_table *t, size_t col)
{
    char buf[TR_DATETIME_MAX];

    for (size_t r = 0; r < t->nrows; r++) {
        const struct rpt_cell *c = rpt_table_cell(t, r, col);
        if (c->kind != RPT_INT)
            continue;
        tr_format_datetime(c->i, buf, sizeof buf);
        rpt_table_set_text(t, r, col, buf);
    }
}
