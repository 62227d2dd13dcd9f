/*
 * layout.h - fitting a terminal table into the terminal's width (used by
 * output.c's table writer only).
 *
 * A table wider than o->width - 1 columns is fitted, in order:
 *   1. headers wider than their column's values are set on two lines,
 *      split at a blank or after a '-' ("FAILED" over "SESSIONS");
 *   2. text columns are cut, the widest first, but never below
 *      RPT_COL_MIN_WIDTH, their header, nor the width at which two
 *      different values would look the same ("certificate-e…" and
 *      "certificate-h…" stay apart; a cut value ends in an ellipsis);
 *      columns marked rpt_table_set_cut_last only once the others are
 *      at their floors;
 *   3. columns the caller marked droppable (rpt_table_set_drop) are left
 *      out, the highest rank first, and named under the table.
 * Room left over puts headers back on one line, from the left.  What
 * still does not fit is left to the terminal to wrap.
 */
#ifndef RPT_LAYOUT_H
#define RPT_LAYOUT_H

#include <stddef.h>

#include "output.h"

/* Owns its arrays (not the strings they point into). */
struct rpt_layout {
    size_t *w;                 /* width per column; hidden columns 0 */
    unsigned char *hidden;     /* 1: left out (step 3) */
    size_t *split;             /* header bytes on the first line; 0: one line */
    int two_lines;             /* some header is on two lines */
    size_t n_hidden;
    size_t total;              /* display width of a row */
};

/* The display form of a cell in the table format (output.c); caller owns it. */
char *rpt_cell_display(const struct rpt_cell *c, enum rpt_col_style st);

/* Lays out t whose header texts are hdr[ncols] and cells' display forms
 * disp[nrows * ncols] for o (steps 3 only when may_drop).  l is the
 * caller's, freed with rpt_layout_free. */
void rpt_layout_make(const struct rpt_out *o, const struct rpt_table *t, char *const *hdr, char *const *disp,
                     int may_drop, struct rpt_layout *l);
void rpt_layout_free(struct rpt_layout *l);

/* The first line of a header split after `split` bytes (the blank it was
 * split at left out) and the start of its second line. */
size_t rpt_layout_second(const char *hdr, size_t split);

/* The note under a table with columns left out, "(left out to fit 80
 * columns: IP, RECEIVING IP; see --format csv)", wrapped at blanks to the
 * width, ending in a newline.  Caller frees it. */
char *rpt_layout_note(const struct rpt_out *o, const struct rpt_table *t, char *const *hdr,
                      const struct rpt_layout *l);

#endif
