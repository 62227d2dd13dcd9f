/*
 * stats.c - a daemon's counters file (stats.h): atomic write, strict read.
 */
#include "tlsrpt/stats.h"
#include "tlsrpt/codes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATS_LINE_MAX (TR_STAT_NAME_MAX + 24)   /* name, space, 20 digits, newline */

int tr_stat_name_valid(const char *name)
{
    size_t i;

    for (i = 0; name[i] != '\0'; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || name[i] == '_') || i + 1 >= TR_STAT_NAME_MAX)
            return 0;
    return i > 0;
}

char *tr_stats_path(const char *spool_dir, const char *program)
{
    return xasprintf("%s/%s%s", spool_dir, program, TR_STATS_SUFFIX);
}

/* Checks the names: valid, and no name twice (n is small: quadratic is fine). */
static int check_names(const struct tr_stat *stats, size_t n, struct tr_err *err)
{
    if (n > TR_STATS_MAX) {
        tr_err_set(err, TR_E_USAGE, "%zu counters, more than %d", n, TR_STATS_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (memchr(stats[i].name, '\0', sizeof stats[i].name) == NULL || !tr_stat_name_valid(stats[i].name)) {
            tr_err_set(err, TR_E_USAGE, "invalid counter name at index %zu", i);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(stats[i].name, stats[j].name) == 0) {
                tr_err_set(err, TR_E_USAGE, "counter %s given twice", stats[i].name);
                return -1;
            }
    }
    return 0;
}

int tr_stats_write(const char *path, const struct tr_stat *stats, size_t n, struct tr_err *err)
{
    struct tr_buf text;
    char line[STATS_LINE_MAX];
    int rc;

    if (check_names(stats, n, err) < 0)
        return -1;
    tr_buf_init(&text, TR_STATS_FILE_MAX);
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(line, sizeof line, "%s %llu\n", stats[i].name,
                           (unsigned long long)stats[i].value);
        (void)tr_buf_append(&text, line, (size_t)len);   /* 256 lines of < 88 bytes fit */
    }
    rc = tr_write_file_atomic(path, text.data ? text.data : (unsigned char *)"", text.len, 0640, err);
    tr_buf_free(&text);
    return rc;
}

/* Parses one line [p, end) (without its newline) into *st; 0 or -1. */
static int parse_line(const char *p, const char *end, struct tr_stat *st)
{
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    uint64_t v = 0;

    if (sp == NULL || sp == p || (size_t)(sp - p) >= TR_STAT_NAME_MAX ||
        memchr(p, '\0', (size_t)(sp - p)) != NULL)
        return -1;
    memcpy(st->name, p, (size_t)(sp - p));
    st->name[sp - p] = '\0';
    if (!tr_stat_name_valid(st->name))
        return -1;
    p = sp + 1;
    if (p == end || (*p == '0' && end - p > 1))
        return -1;                      /* empty, or a leading zero */
    for (; p < end; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    st->value = v;
    return 0;
}

int tr_stats_read(const char *path, struct tr_stat **out, size_t *n, struct tr_err *err)
{
    struct stat sb;
    unsigned char *data = NULL;
    size_t len = 0, count = 0, lineno = 0;
    struct tr_stat *stats = NULL;
    int fd;

    *out = NULL;
    *n = 0;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        tr_err_set(err, TR_E_IO, "open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        tr_err_set(err, TR_E_IO, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if (tr_read_fd(fd, TR_STATS_FILE_MAX, &data, &len, err) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    for (const char *p = (const char *)data, *end = p + len; p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL || count >= TR_STATS_MAX) {
            tr_err_set(err, TR_E_BAD_FIELD, "%s: line %zu: %s", path, lineno + 1,
                       nl == NULL ? "no newline at the end" : "too many lines");
            goto fail;
        }
        if (count % 16 == 0)
            stats = xrealloc(stats, (count + 16) * sizeof *stats);
        if (parse_line(p, nl, &stats[count]) < 0) {
            tr_err_set(err, TR_E_BAD_FIELD, "%s: line %zu: not \"name value\"", path, lineno + 1);
            goto fail;
        }
        for (size_t j = 0; j < count; j++)
            if (strcmp(stats[j].name, stats[count].name) == 0) {
                tr_err_set(err, TR_E_BAD_FIELD, "%s: line %zu: %s given twice", path, lineno + 1,
                           stats[count].name);
                goto fail;
            }
        count++;
        p = nl + 1;
    }
    free(data);
    *out = stats;
    *n = count;
    return 0;
fail:
    free(data);
    free(stats);
    return -1;
}

void tr_stats_free(struct tr_stat *stats)
{
    free(stats);
}
