/*
 * findings_lists.c - the two small containers the findings rules use
 * (findings_int.h): a list of distinct names that prints as "a, b ... and
 * N more", and a string-keyed hash map (open addressing, FNV-1a) from a
 * tuple of names to an index.
 */
#include "findings_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Index of s in l (added when new), or -1 past FIND_NAMES_TRACK. */
static long fnames_index(struct fnames *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return (long)i;
    if (l->n == FIND_NAMES_TRACK) {
        l->more++;
        return -1;
    }
    if (l->n == l->alloc) {
        l->alloc = l->alloc ? 2 * l->alloc : 8;
        l->v = xrealloc(l->v, l->alloc * sizeof *l->v);
        l->num = xrealloc(l->num, l->alloc * sizeof *l->num);
    }
    l->num[l->n] = 0;
    l->v[l->n] = xstrdup(s);
    return (long)l->n++;
}

void fnames_add(struct fnames *l, const char *s)
{
    if (s != NULL)
        (void)fnames_index(l, s);
}

void fnames_addn(struct fnames *l, const char *s, int64_t n)
{
    long i = s != NULL ? fnames_index(l, s) : -1;
    if (i >= 0)
        l->num[i] += n;
}

void fnames_free(struct fnames *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    free(l->num);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *fnames_join(const struct fnames *l, const char *sep)
{
    struct tr_buf b;
    size_t shown = l->n < RPT_FIND_MAX_NAMES ? l->n : RPT_FIND_MAX_NAMES, len;
    char **sorted;
    char *out;

    if (l->n == 0)
        return NULL;
    /* Sorted, so that the output does not depend on the row order. */
    sorted = xmalloc(l->n * sizeof *sorted);
    memcpy(sorted, l->v, l->n * sizeof *sorted);
    qsort(sorted, l->n, sizeof *sorted, cmp_str);
    tr_buf_init(&b, FIND_TEXT_MAX);
    for (size_t i = 0; i < shown; i++) {
        if (i > 0)
            tr_buf_append(&b, sep, strlen(sep));
        tr_buf_append(&b, sorted[i], strlen(sorted[i]));
    }
    if (l->n + l->more > shown) {
        char more[64];
        snprintf(more, sizeof more, " ... and %zu more", l->n + l->more - shown);
        tr_buf_append(&b, more, strlen(more));
    }
    free(sorted);
    out = (char *)tr_buf_steal(&b, &len);
    return out;
}

/* ---------------------------------------------------------------- map */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;           /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

size_t fmap_get(const struct fmap *m, const char *key)
{
    if (m->cap == 0)
        return (size_t)-1;
    for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == NULL)
            return (size_t)-1;
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
    }
}

void fmap_put(struct fmap *m, const char *key, size_t val)
{
    if (2 * (m->n + 1) > m->cap) {              /* grow: at most half full */
        struct fmap g = {0};
        g.cap = m->cap ? 2 * m->cap : 64;
        g.keys = xcalloc(g.cap, sizeof *g.keys);
        g.vals = xcalloc(g.cap, sizeof *g.vals);
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i] != NULL) {
                size_t j = hash_str(m->keys[i]) & (g.cap - 1);
                while (g.keys[j] != NULL)
                    j = (j + 1) & (g.cap - 1);
                g.keys[j] = m->keys[i];
                g.vals[j] = m->vals[i];
            }
        g.n = m->n;
        free(m->keys);
        free(m->vals);
        *m = g;
    }
    for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == NULL) {
            m->keys[i] = xstrdup(key);
            m->vals[i] = val;
            m->n++;
            return;
        }
        if (strcmp(m->keys[i], key) == 0) {
            m->vals[i] = val;
            return;
        }
    }
}

void fmap_free(struct fmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

char *fmap_key3(const char *a, const char *b, const char *c)
{
    return xasprintf("%s\x1f%s\x1f%s", a ? a : "", b ? b : "", c ? c : "");
}

