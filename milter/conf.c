/*
 * conf.c - the shared configuration file parser (conf.h).
 *
 * Defaults go through the same setters as the file's values, so they obey
 * the same checks.
 */
#include "conf.h"
#include "tlsrpt/limits.h"
#include "tlsrpt/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define CONF_PARAMS_MAX 64        /* rows of one table */

#define AT(obj, p, type) ((type *)((char *)(obj) + (p)->off))

int conf_set_path(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    if (v[0] != '/') {
        snprintf(why, cap, "must be an absolute path");
        return -1;
    }
    return conf_set_string(obj, p, v, why, cap);
}

int conf_set_string(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    free(*AT(obj, p, char *));
    *AT(obj, p, char *) = xstrdup(v);
    return 0;
}

static int set_unsigned(void *obj, const struct conf_param *p, const char *v, unsigned long max,
                        const char *what, char *why, size_t cap)
{
    char *end;
    unsigned long n;

    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < 1 || n > max || v[0] == '-') {
        snprintf(why, cap, "\"%s\": want %s from 1 to %lu", v, what, max);
        return -1;
    }
    *AT(obj, p, unsigned) = (unsigned)n;
    return 0;
}

int conf_set_seconds(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    return set_unsigned(obj, p, v, 86400, "seconds", why, cap);
}

int conf_set_count(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    return set_unsigned(obj, p, v, 1000000, "a number", why, cap);
}

int conf_set_bool(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
            *AT(obj, p, int) = strcasecmp(v, yes[i]) == 0;
            return 0;
        }
    }
    snprintf(why, cap, "\"%s\": want yes or no", v);
    return -1;
}

int conf_set_facility(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    static const struct { const char *name; int value; } f[] = {
        { "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
        { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
        { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
        { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (strcasecmp(v, f[i].name) == 0) {
            *AT(obj, p, int) = f[i].value;
            return 0;
        }
    snprintf(why, cap, "\"%s\": want mail, daemon, user or local0 to local7", v);
    return -1;
}

int conf_set_level(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    static const struct { const char *name; int value; } l[] = {
        { "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
        { "info", LOG_INFO }, { "debug", LOG_DEBUG },
    };
    for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
        if (strcasecmp(v, l[i].name) == 0) {
            *AT(obj, p, int) = l[i].value;
            return 0;
        }
    snprintf(why, cap, "\"%s\": want error, warning, notice, info or debug", v);
    return -1;
}

int conf_set_limit(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    struct tr_err err;
    if (tr_limits_set(AT(obj, p, struct tr_limits), p->limit, v, &err) < 0) {
        snprintf(why, cap, "%s", err.detail);
        return -1;
    }
    return 0;
}

const char *conf_next_item(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    while (*s == ',' || isspace((unsigned char)*s))
        s++;
    while (*s != '\0' && *s != ',' && !isspace((unsigned char)*s)) {
        if (n + 1 < cap)
            buf[n++] = *s;
        s++;
    }
    buf[n] = '\0';
    return s;
}

enum { LINE_OK, LINE_EOF, LINE_LONG, LINE_NUL };

/*
 * Opens path for reading without blocking on a FIFO or a device, and only
 * when it is a regular file.
 */
static FILE *open_regular(const char *path, char *why, size_t cap)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    FILE *f;

    if (fd < 0) {
        snprintf(why, cap, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, cap, "%s: %s", path, fstat(fd, &st) < 0 ? strerror(errno)
                 : S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file");
        close(fd);
        return NULL;
    }
    if (fcntl(fd, F_SETFL, 0) < 0 || (f = fdopen(fd, "r")) == NULL) {
        snprintf(why, cap, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    return f;
}
/* One line into buf (cap - 1 bytes at most, without the newline, NUL
 * terminated), the last line with or without a newline.  A NUL byte or a
 * line longer than cap - 1 is reported, never truncated silently. */
static int read_line(FILE *f, char *buf, size_t cap)
{
    size_t n = 0;
    int ch, bad = LINE_OK;

    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (ch == '\0' && bad == LINE_OK)
            bad = LINE_NUL;
        else if (n + 1 >= cap && bad == LINE_OK)
            bad = LINE_LONG;
        if (n + 1 < cap)
            buf[n++] = (char)ch;
    }
    buf[n] = '\0';
    if (ch == EOF && n == 0 && bad == LINE_OK)
        return LINE_EOF;
    return bad;
}
/* Splits a line in place into key and value; 0 for a blank or comment line. */
static int split_line(char *line, char **key, char **value)
{
    char *p = line, *end;

    for (char *h = line; (h = strchr(h, '#')) != NULL; h++)
        if (h == line || isspace((unsigned char)h[-1])) {
            *h = '\0';
            break;
        }
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0')
        return 0;
    *key = p;
    while (*p != '\0' && !isspace((unsigned char)*p))
        p++;
    if (*p != '\0')
        *p++ = '\0';
    while (isspace((unsigned char)*p))
        p++;
    end = p + strlen(p);
    while (end > p && isspace((unsigned char)end[-1]))
        *--end = '\0';
    *value = p;
    return 1;
}

int conf_parse(const char *path, const struct conf_param *params, size_t n_params, void *obj,
               char *why, size_t why_cap)
{
    int line_no[CONF_PARAMS_MAX] = { 0 };
    char line[CONF_LINE_MAX + 1], reason[CONF_WHY_MAX];
    FILE *f;
    int n = 0, got;

    if (n_params > CONF_PARAMS_MAX) {
        snprintf(why, why_cap, "%s: more than %d parameters in the table", path, CONF_PARAMS_MAX);
        return -1;
    }
    for (size_t i = 0; i < n_params; i++)
        if (params[i].dflt != NULL && params[i].set(obj, &params[i], params[i].dflt, reason, sizeof reason) < 0) {
            snprintf(why, why_cap, "%s: %s: bad default: %s", path, params[i].name, reason);
            return -1;
        }
    if ((f = open_regular(path, why, why_cap)) == NULL)
        return -1;
    while ((got = read_line(f, line, sizeof line)) != LINE_EOF) {
        char *key, *value;
        size_t i;

        n++;
        if (got == LINE_LONG || got == LINE_NUL) {
            if (got == LINE_LONG)
                snprintf(why, why_cap, "%s:%d: line longer than %d bytes", path, n, CONF_LINE_MAX);
            else
                snprintf(why, why_cap, "%s:%d: NUL byte in the line", path, n);
            fclose(f);
            return -1;
        }
        if (!split_line(line, &key, &value))
            continue;
        for (i = 0; i < n_params && strcasecmp(key, params[i].name) != 0; i++)
            ;
        if (i == n_params)
            snprintf(reason, sizeof reason, "unknown key");
        else if (value[0] == '\0')
            snprintf(reason, sizeof reason, "no value");
        else if (line_no[i] && !params[i].list)
            snprintf(reason, sizeof reason, "set twice (first on line %d)", line_no[i]);
        else if (params[i].set(obj, &params[i], value, reason, sizeof reason) == 0) {
            line_no[i] = n;
            continue;
        }
        snprintf(why, why_cap, "%s:%d: %s: %s", path, n, key, reason);
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}
