/*
 * output.h - the result model of tlsrpt-report and its three writers.
 *
 * Every subcommand turns its query results into a struct rpt_table: named
 * columns with a display style, and rows of typed cells.  The same table is
 * then written as an aligned terminal table, as RFC 4180 CSV, or as JSON
 * (an array of objects keyed by column name).  Free-form documents (show,
 * the JSON envelopes) are jansson values written by rpt_out_json() or, for
 * the table format, rendered as indented "key: value" lines.
 *
 * Every string that reaches a writer may come from a report and is treated
 * as hostile: terminal output neutralizes control characters, escape
 * sequences, C1 controls and bidi overrides (shown as \xNN or \uNNNN); CSV
 * quotes as needed and makes cells starting with = + - @ TAB CR inert; JSON
 * is ASCII-only with every control character escaped.
 *
 * These writers are the only code outside main.c and the subcommands
 * (commands.c, monitoring.c) that writes to a stream, and only to the
 * FILE * that main.c hands them.
 */
#ifndef RPT_OUTPUT_H
#define RPT_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "tlsrpt/util.h"

enum rpt_format { RPT_FMT_TABLE, RPT_FMT_CSV, RPT_FMT_JSON };

/* Longest cell a terminal table shows before truncating it with an ellipsis
 * when no terminal width is known. */
#define RPT_CELL_DISPLAY_MAX 200
/* Narrowest a text column is squeezed to when fitting the terminal width. */
#define RPT_COL_MIN_WIDTH 12
/* Cap on the bytes of one escaped string (terminal or CSV form). */
#define RPT_ESCAPED_MAX ((size_t)64 << 20)

enum rpt_cell_kind { RPT_NULL = 0, RPT_INT, RPT_REAL, RPT_TEXT };

/* One value.  s is owned by the table that holds the cell. */
struct rpt_cell {
    enum rpt_cell_kind kind;
    int64_t i;
    double d;
    char *s;
};

/* How a column is displayed in the table format (CSV and JSON write the raw
 * value: integers without separators, reals rounded to 2 decimals). */
enum rpt_col_style {
    RPT_S_TEXT,    /* left-aligned, untrusted text */
    RPT_S_COUNT,   /* right-aligned integer with thousands separators */
    RPT_S_FAIL,    /* like COUNT, shown in red on a colour terminal when > 0 */
    RPT_S_ID,      /* right-aligned integer without separators */
    RPT_S_RATE,    /* percentage, "99.75%" */
    RPT_S_PP,      /* signed change in percentage points, "+0.10pp" */
    RPT_S_PCT,     /* signed relative change, "+3.2%" */
    RPT_S_RTEXT,   /* right-aligned text formatted by the program */
    RPT_S_SPARK,   /* left-aligned sparkline, never squeezed */
    RPT_S_SEVERITY,/* a finding's severity: "critical" red, "warning" yellow on a colour terminal */
};

struct rpt_col {
    char *name;              /* owned; the CSV header and the JSON key */
    enum rpt_col_style style;
    int drop;                /* 0: always shown; >0: may be left out on a narrow
                                terminal, the highest first (rpt_table_set_drop) */
    int cut_last;            /* text cut only once the others are at their floor */
};

/* A table owns its column names and every text cell. */
struct rpt_table {
    struct rpt_col *cols;
    size_t ncols;
    struct rpt_cell *cells;  /* nrows * ncols, row-major */
    size_t nrows;
    size_t alloc_rows;
};

struct rpt_table *rpt_table_new(void);
void rpt_table_free(struct rpt_table *t);          /* NULL is a no-op */
void rpt_table_add_col(struct rpt_table *t, const char *name, enum rpt_col_style style);
/* Columns may be added after rows (their new cells are NULL). */
/* Appends a row of NULL cells and returns its index. */
size_t rpt_table_add_row(struct rpt_table *t);
struct rpt_cell *rpt_table_cell(const struct rpt_table *t, size_t row, size_t col);
void rpt_table_set_int(struct rpt_table *t, size_t row, size_t col, int64_t v);
void rpt_table_set_real(struct rpt_table *t, size_t row, size_t col, double v);
/* Copies s; NULL stores a NULL cell. */
void rpt_table_set_text(struct rpt_table *t, size_t row, size_t col, const char *s);
/* Turns the integer cells of column col (UTC seconds from the store)
 * into "YYYY-MM-DDTHH:MM:SSZ" text (dates.h), which unlike SQLite's
 * strftime() prints years past 9999 too; NULL cells stay NULL. */
void rpt_table_datetimes(struct rpt_table *t, size_t col);
/* Column index by name, or -1. */
int rpt_table_col(const struct rpt_table *t, const char *name);
/* Lets the terminal table leave out column name (if any) when it does not
 * fit the terminal even with text cut and headers on two lines; rank > 0,
 * the highest left out first.  CSV and JSON always carry it. */
void rpt_table_set_drop(struct rpt_table *t, const char *name, int rank);
/* Cuts column name's text on a narrow terminal only once the other text
 * columns are as narrow as they go (the failure types: whole names read
 * best). */
void rpt_table_set_cut_last(struct rpt_table *t, const char *name);

/* Where and how output goes.  fp is borrowed (main.c's stdout). */
struct rpt_out {
    FILE *fp;
    enum rpt_format fmt;
    int color;       /* ANSI colour: only on a terminal and without NO_COLOR */
    int width;       /* terminal columns, 0 = unlimited (not a terminal) */
};

/* Decides colour and width: colour only when fp is a terminal and NO_COLOR
 * is unset or empty (no-color.org); width from $COLUMNS, else the
 * terminal's size when fp is a terminal, else unlimited. */
void rpt_out_init(struct rpt_out *o, FILE *fp, enum rpt_format fmt);

/* Writes t in o's format.  Table: a header row and aligned columns (nothing
 * but "(no rows)" when empty), fitted to o->width as layout.h says (a note
 * under the table names columns left out); CSV: header row, CRLF line
 * ends; JSON: an array of row objects.  Returns 0, or -1 on a write error. */
int rpt_out_table(struct rpt_out *o, const struct rpt_table *t);

/* 1 when the table format fits t into o->width (always when 0) with text
 * cut and headers on two lines, leaving columns out only when may_drop. */
int rpt_table_fits(const struct rpt_out *o, const struct rpt_table *t, int may_drop);

/* The JSON array of row objects for t (new reference). */
json_t *rpt_table_to_json(const struct rpt_table *t);

/* Writes v as indented, key-order-preserving, ASCII-only JSON and a
 * newline.  Returns 0 or -1. */
int rpt_out_json(struct rpt_out *o, const json_t *v);

/* Renders an object as indented "key: value" lines (table format) or as
 * CSV rows "path,value" with a header "field,value" (CSV format).  Strings
 * are escaped for the destination. */
int rpt_out_tree(struct rpt_out *o, const json_t *v);

/* Writes text: on the table format escaped for a terminal (newlines and
 * tabs kept), otherwise as is.  len bytes, need not be NUL-terminated. */
int rpt_out_text(struct rpt_out *o, const char *s, size_t len);
/* printf-style for the program's own text (never for report data). */
int rpt_out_printf(struct rpt_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bytes exactly as given (the email message). */
int rpt_out_bytes(struct rpt_out *o, const void *p, size_t len);
/* Starts/ends bold or red text on a colour terminal; no-ops otherwise. */
int rpt_out_style(struct rpt_out *o, const char *ansi);
#define RPT_ANSI_BOLD "\033[1m"
#define RPT_ANSI_RED "\033[31m"
#define RPT_ANSI_YELLOW "\033[33m"
#define RPT_ANSI_RESET "\033[0m"

/* --- formatting and escaping helpers (also used by the email) --- */

/* Largest formatted number: "-9,223,372,036,854,775,808" plus NUL. */
#define RPT_NUM_MAX 32
/* n with thousands separators ("1,204") into buf (RPT_NUM_MAX bytes). */
char *rpt_fmt_count(int64_t n, char *buf);
/* Success rate of ok out of ok+failed in percent, floored to 2 decimals
 * so that any failure shows below 100.00; -1.0 when there are no sessions. */
double rpt_success_rate(int64_t ok, int64_t failed);
/* Rounds to 2 decimals (for JSON). */
double rpt_round2(double v);

/* Terminal-safe copy of len bytes of s: C0/C1 controls, DEL, invalid UTF-8
 * and bidi overrides become \xNN or \uNNNN; keep_nl keeps \n and \t.
 * Caller owns the result. */
char *rpt_term_escape(const char *s, size_t len, int keep_nl);
/* A name or other value from a report as one line, for the terminal and
 * both parts of the email: rpt_term_escape() without keep_nl, so CR, LF,
 * NEL, U+2028 and U+2029 are escaped too, and so are zero-width
 * characters, bidi controls and a BOM (two names that render alike are
 * told apart).  s NULL is "".  Caller owns the result. */
char *rpt_name_escape(const char *s);
/* Text of several lines joined by '\n' (the policy strings of the digest),
 * each line escaped by rpt_name_escape(); the '\n' between them kept.
 * Caller owns the result. */
char *rpt_lines_escape(const char *s);
/* Number of terminal columns of a terminal-safe UTF-8 string (one per code
 * point). */
size_t rpt_display_width(const char *s);
/* Byte offset at which s reaches w display columns. */
size_t rpt_width_offset(const char *s, size_t w);
/* CSV field for a text value: inert-prefixed and quoted as needed.  Caller
 * owns the result. */
char *rpt_csv_field(const char *s);
/* A Prometheus label value: valid UTF-8 without control characters
 * (others shown as escapes, as on a terminal), then \\, \" and \n escaped
 * as the text format requires.  Capped like the others.  Caller owns it. */
char *rpt_prom_label(const char *s);
/* Appends a string from a report to b as HTML text or an attribute value
 * (the email's HTML part and the dashboard): first made safe as on a
 * terminal (rpt_name_escape: one line, control characters, bidi and
 * zero-width characters visible as escapes; with keep_lines,
 * rpt_lines_escape: each line so, the newlines kept, for <pre>), then
 * & < > " ' as entities.  s NULL is "".  Returns 0, or -1 when b's cap
 * was reached (what fit is kept). */
int rpt_html_append(struct tr_buf *b, const char *s, int keep_lines);
/* n bytes already made safe (as above) as HTML text and attribute values:
 * & < > " ' as entities.  Returns 0, or -1 when b's cap was reached. */
int rpt_html_esc_bytes(struct tr_buf *b, const char *s, size_t n);

#endif
