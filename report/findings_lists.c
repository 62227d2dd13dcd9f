/*
 * findings_lists.c - the two small containers the findings rules use
 * (findings_int.h): a list of distinct names that prints as "a, b ... and
 * N more", and a string-keyed hash map (open addressing, seeded FNV-1a)
 * from a tuple of names to an index.
 */
#include "findings_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

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
    size_t shown = l->n < RPT_FIND_MAX_NAMES ? l->n : RPT_FIND_MAX_NAMES;
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
    out = fb_buf_text(&b);
    return out;
}

/* tr_buf grows in 4 KiB steps: a finding's short strings would keep
 * them (16,000 findings held 200 MB). */
char *fb_buf_text(struct tr_buf *b)
{
    size_t len;
    char *s = (char *)tr_buf_steal(b, &len);
    return xrealloc(s, len + 1);
}

/* ---------------------------------------------------------------- map */

/* splitmix64's finalizer: every bit of the key reaches the low bits. */
static uint64_t mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* The keys are names from reports: with a fixed hash, a sender could
 * send names that all land in one probe run and make every lookup walk
 * it.  So the hash starts from a seed of this process (getrandom; the time
 * and pid if that fails) and is mixed into every bit; the map is never
 * iterated, so nothing printed depends on the seed. */
static uint64_t hash_seed(void)
{
    static uint64_t seed;
    static int have;

    if (!have) {
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
            seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        have = 1;
    }
    return seed;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL ^ hash_seed();   /* FNV-1a from the seed */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return mix64(h);
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

/* Writes "LEN:" and s at o; returns the end. */
static char *put_part(char *o, const char *s, size_t n)
{
    char digits[24];
    size_t k = 0;
    do {
        digits[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    while (k > 0)
        *o++ = digits[--k];
    *o++ = ':';
    memcpy(o, s, strlen(s));
    return o + strlen(s);
}

/* Bytes of the key of (a, b, c) with its NUL. */
static size_t key3_size(size_t la, size_t lb, size_t lc)
{
    return la + lb + lc + 3 * (20 + 1) + 1;
}

const char *fmap_key3_buf(char *buf, size_t cap, const char *a, const char *b, const char *c)
{
    size_t la, lb, lc;
    char *o;
    a = a ? a : "";
    b = b ? b : "";
    c = c ? c : "";
    la = strlen(a);
    lb = strlen(b);
    lc = strlen(c);
    if (key3_size(la, lb, lc) > cap)
        return NULL;
    o = put_part(buf, a, la);
    o = put_part(o, b, lb);
    o = put_part(o, c, lc);
    *o = '\0';
    return buf;
}

char *fmap_key3(const char *a, const char *b, const char *c)
{
    /* lengths first: no name can make two tuples one key */
    size_t cap = key3_size(strlen(a ? a : ""), strlen(b ? b : ""), strlen(c ? c : ""));
    char *k = xmalloc(cap);
    fmap_key3_buf(k, cap, a, b, c);
    return k;
}

/* ---------------------------------------------------------------- pair set */

int fset_add(struct fset *s, uint64_t key)
{
    key++;                                   /* 0 marks a free slot */
    if (2 * (s->n + 1) > s->cap) {
        struct fset g = {0};
        g.cap = s->cap ? 2 * s->cap : 1024;
        g.v = xcalloc(g.cap, sizeof *g.v);
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i] != 0) {
                size_t j = (size_t)mix64(s->v[i]) & (g.cap - 1);
                while (g.v[j] != 0)
                    j = (j + 1) & (g.cap - 1);
                g.v[j] = s->v[i];
            }
        g.n = s->n;
        free(s->v);
        *s = g;
    }
    for (size_t i = (size_t)mix64(key) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->v[i] == key)
            return 0;
        if (s->v[i] == 0) {
            s->v[i] = key;
            s->n++;
            return 1;
        }
    }
}

void fset_free(struct fset *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

