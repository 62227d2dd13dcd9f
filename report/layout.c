/*
 * layout.c - fitting a terminal table into the terminal's width (the
 * steps are in layout.h).  Widths are display columns, one per code point
 * of the already terminal-safe strings (rpt_display_width).
 */
#include "layout.h"

#include <stdlib.h>
#include <string.h>

/* Display columns of the first n bytes of s. */
static size_t cols_of(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n && s[i]; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            w++;
    return w;
}

size_t rpt_layout_second(const char *hdr, size_t split)
{
    return hdr[split] == ' ' ? split + 1 : split;
}

/* The narrowest two-line form of header h: its width, and the bytes of
 * its first line in *split (0 when it cannot be split). */
static size_t header_min(const char *h, size_t *split)
{
    size_t len = strlen(h), best = cols_of(h, len);

    *split = 0;
    for (size_t i = 1; i + 1 < len; i++) {
        size_t first, w;
        if (h[i] != ' ' && h[i] != '-')
            continue;
        first = h[i] == ' ' ? i : i + 1;
        w = cols_of(h, first);
        if (cols_of(h + rpt_layout_second(h, first), len) > w)
            w = cols_of(h + rpt_layout_second(h, first), len);
        if (w < best) {
            best = w;
            *split = first;
        }
    }
    return best;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The narrowest width at which the distinct values of column c still look
 * distinct once cut (a cut value shows width - 1 columns and an ellipsis):
 * over neighbours in sorted order, min(the shorter's width, their common
 * prefix + 2). */
static size_t distinct_floor(const struct rpt_table *t, char *const *disp, size_t c)
{
    char **v = xcalloc(t->nrows ? t->nrows : 1, sizeof *v);
    size_t floor_w = 0;

    for (size_t r = 0; r < t->nrows; r++)
        v[r] = disp[r * t->ncols + c];
    qsort(v, t->nrows, sizeof *v, by_text);
    for (size_t r = 1; r < t->nrows; r++) {
        const char *a = v[r - 1], *b = v[r];
        size_t l = 0, common, shorter, need;
        if (strcmp(a, b) == 0)
            continue;
        while (a[l] && a[l] == b[l])
            l++;
        while (l > 0 && ((unsigned char)a[l] & 0xC0) == 0x80)   /* not inside a character */
            l--;
        common = cols_of(a, l);
        shorter = rpt_display_width(a) < rpt_display_width(b) ? rpt_display_width(a) : rpt_display_width(b);
        need = common + 2 < shorter ? common + 2 : shorter;
        if (need > floor_w)
            floor_w = need;
    }
    free(v);
    return floor_w;
}

/* Cuts text columns, the widest first, down to their floors until the
 * visible columns fit in limit.  Returns the total width. */
static size_t squeeze(const struct rpt_table *t, struct rpt_layout *l, const size_t *floor_w, size_t limit)
{
    size_t total = 0, shown = 0;

    for (size_t c = 0; c < t->ncols; c++)
        if (!l->hidden[c])
            total += l->w[c] + (shown++ ? 2 : 0);
    for (int last = 0; last < 2; last++)          /* the cut_last columns in the second round */
        while (total > limit) {
            size_t best = t->ncols;
            for (size_t c = 0; c < t->ncols; c++)
                if (!l->hidden[c] && l->w[c] > floor_w[c] && t->cols[c].cut_last <= last &&
                    (best == t->ncols || l->w[c] > l->w[best]))
                    best = c;
            if (best == t->ncols)
                break;
            l->w[best]--;
            total--;
        }
    return total;
}

void rpt_layout_make(const struct rpt_out *o, const struct rpt_table *t, char *const *hdr, char *const *disp,
                     int may_drop, struct rpt_layout *l)
{
    size_t n = t->ncols ? t->ncols : 1, limit = o->width > 1 ? (size_t)o->width - 1 : 0;
    size_t *content = xcalloc(n, sizeof *content), *hw = xcalloc(n, sizeof *hw);
    size_t *hmin = xcalloc(n, sizeof *hmin), *floor_w = xcalloc(n, sizeof *floor_w);
    size_t *cut = xcalloc(n, sizeof *cut), *distinct = xcalloc(n, sizeof *distinct);

    memset(l, 0, sizeof *l);
    l->w = xcalloc(n, sizeof *l->w);
    l->hidden = xcalloc(n, 1);
    l->split = xcalloc(n, sizeof *l->split);
    for (size_t c = 0; c < t->ncols; c++) {
        hw[c] = rpt_display_width(hdr[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t dw = rpt_display_width(disp[r * t->ncols + c]);
            if (dw > content[c])
                content[c] = dw;
        }
        l->w[c] = content[c] > hw[c] ? content[c] : hw[c];
        if (o->width == 0 && l->w[c] > RPT_CELL_DISPLAY_MAX)
            l->w[c] = RPT_CELL_DISPLAY_MAX;
        l->total += l->w[c] + (c ? 2 : 0);
    }
    if (o->width == 0 || l->total <= limit)      /* fits as it is (or no width) */
        goto done;
    for (size_t c = 0; c < t->ncols; c++) {
        hmin[c] = header_min(hdr[c], &cut[c]);
        if (t->cols[c].style == RPT_S_TEXT)
            distinct[c] = distinct_floor(t, disp, c);
    }
    /* Headers on two lines where that helps, text cut to its floors, then
     * droppable columns left out until it fits; headers go back on one
     * line below where room is left. */
    for (;;) {
        for (size_t c = 0; c < t->ncols; c++) {
            size_t head = hmin[c], base = content[c] > head ? content[c] : head;
            size_t keep = distinct[c] > RPT_COL_MIN_WIDTH ? distinct[c] : RPT_COL_MIN_WIDTH;
            l->w[c] = l->hidden[c] ? 0 : base;
            floor_w[c] = l->w[c];
            if (t->cols[c].style == RPT_S_TEXT && !l->hidden[c])
                floor_w[c] = keep < base ? (keep > head ? keep : head) : base;
        }
        l->total = squeeze(t, l, floor_w, limit);
        if (l->total <= limit)
            break;
        {
            size_t drop = t->ncols;
            for (size_t c = 0; c < t->ncols; c++)
                if (!l->hidden[c] && t->cols[c].drop > 0 && (drop == t->ncols || t->cols[c].drop >= t->cols[drop].drop))
                    drop = c;
            if (!may_drop || drop == t->ncols)
                break;
            l->hidden[drop] = 1;
            l->w[drop] = 0;
            l->n_hidden++;
        }
    }
    /* Room left: headers back on one line, from the left. */
    for (size_t c = 0; c < t->ncols; c++)
        if (!l->hidden[c] && l->w[c] < hw[c] && l->total + hw[c] - l->w[c] <= limit) {
            l->total += hw[c] - l->w[c];
            l->w[c] = hw[c];
        }
    for (size_t c = 0; c < t->ncols; c++)
        if (!l->hidden[c] && l->w[c] < hw[c] && cut[c] > 0 && hmin[c] <= l->w[c]) {
            l->split[c] = cut[c];
            l->two_lines = 1;
        }
done:
    free(content);
    free(hw);
    free(hmin);
    free(floor_w);
    free(cut);
    free(distinct);
}

void rpt_layout_free(struct rpt_layout *l)
{
    free(l->w);
    free(l->hidden);
    free(l->split);
    memset(l, 0, sizeof *l);
}

char *rpt_layout_note(const struct rpt_out *o, const struct rpt_table *t, char *const *hdr,
                      const struct rpt_layout *l)
{
    struct tr_buf b, out;
    char *note, *p;
    size_t k = 0, col = 0, limit = o->width > 1 ? (size_t)o->width - 1 : 0;

    tr_buf_init(&b, RPT_ESCAPED_MAX);
    note = xasprintf("(left out to fit %d columns:", o->width);
    (void)tr_buf_append(&b, note, strlen(note));
    free(note);
    for (size_t c = 0; c < t->ncols; c++)
        if (l->hidden[c]) {
            (void)tr_buf_append(&b, k > 0 ? ", " : " ", k > 0 ? 2 : 1);
            k++;
            (void)tr_buf_append(&b, hdr[c], strlen(hdr[c]));
        }
    (void)tr_buf_append(&b, "; see --format csv)", 19);
    note = (char *)tr_buf_steal(&b, NULL);
    tr_buf_init(&out, RPT_ESCAPED_MAX);
    for (p = note; *p;) {
        size_t word = p == note ? strcspn(p, " ") : strcspn(p + 1, " ") + 1;   /* a blank and a word */
        if (col > 0 && col + cols_of(p, word) > limit) {
            (void)tr_buf_append(&out, "\n ", 2);
            col = 1;
            if (*p == ' ') {
                p++;
                word--;
            }
        }
        (void)tr_buf_append(&out, p, word);
        col += cols_of(p, word);
        p += word;
    }
    (void)tr_buf_append(&out, "\n", 1);
    free(note);
    return (char *)tr_buf_steal(&out, NULL);
}
