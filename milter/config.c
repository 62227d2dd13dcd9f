/*
 * config.c - tlsrpt-milter.conf(5) (see config.h).
 *
 * The file is "Key value" lines, like opendkim.conf: keys are matched
 * without case, the value is the rest of the line with surrounding blanks
 * removed, '#' starts a comment at the start of a line or after a blank.
 * Every key is one row of params[]: its name, its setter and its default.
 * Defaults go through the same setters as the file's values, so they obey
 * the same checks.  A key set twice is an error unless it is a list.
 * Errors read "FILE:LINE: KEY: why".
 */
#include "config.h"
#include "tlsrpt/limits.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

struct param;
typedef int (*setter)(struct mconf *c, const struct param *p, const char *value,
                      char *why, size_t cap);

struct param {
    const char *name;
    setter set;
    const char *dflt;     /* NULL: no default */
    size_t off;           /* for the generic setters: offset in struct mconf */
    const char *limit;    /* for set_limit: the tr_limits name */
    int list;             /* may be repeated; values accumulate */
};

static int set_path(struct mconf *c, const struct param *p, const char *v, char *why, size_t cap)
{
    if (v[0] != '/') {
        snprintf(why, cap, "must be an absolute path");
        return -1;
    }
    free(*(char **)((char *)c + p->off));
    *(char **)((char *)c + p->off) = xstrdup(v);
    return 0;
}

static int set_string(struct mconf *c, const struct param *p, const char *v, char *why, size_t cap)
{
    free(*(char **)((char *)c + p->off));
    *(char **)((char *)c + p->off) = xstrdup(v);
    return 0;
}

/* inet:PORT[@HOST]: PORT is 1..65535 or a tcp service name (libmilter
 * would silently truncate 99999 to 16 bits and listen elsewhere). */
static int check_port(const char *spec, char *why, size_t cap)
{
    char port[64];
    size_t n = strcspn(spec, "@");
    char *end;
    unsigned long v;

    if (n == 0 || n >= sizeof port) {
        snprintf(why, cap, "\"%s\": want a port from 1 to 65535", spec);
        return -1;
    }
    memcpy(port, spec, n);
    port[n] = '\0';
    if (isdigit((unsigned char)port[0])) {
        errno = 0;
        v = strtoul(port, &end, 10);
        if (errno == 0 && *end == '\0' && v >= 1 && v <= 65535)
            return 0;
    } else if (getservbyname(port, "tcp") != NULL) {
        return 0;
    }
    snprintf(why, cap, "port \"%s\": want a port from 1 to 65535", port);
    return -1;
}

static int set_socket(struct mconf *c, const struct param *p, const char *v, char *why, size_t cap)
{
    static const char *const kinds[] = { "unix:/", "local:/", "inet:", "inet6:" };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t k = strlen(kinds[i]);
        if (strncasecmp(v, kinds[i], k) != 0 || v[k] == '\0')
            continue;
        if (i < 2) {
            const char *path = strchr(v, ':') + 1;
            struct sockaddr_un sun;
            if (strlen(path) >= sizeof sun.sun_path) {
                snprintf(why, cap, "socket path of %zu bytes: a unix socket path has at most %zu",
                         strlen(path), sizeof sun.sun_path - 1);
                return -1;
            }
        } else if (check_port(v + k, why, cap) < 0) {
            return -1;
        }
        return set_string(c, p, v, why, cap);
    }
    snprintf(why, cap, "\"%s\": want unix:/PATH or inet:PORT@HOST", v);
    return -1;
}

/* Seconds, 1 .. one day. */
static int set_seconds(struct mconf *c, const struct param *p, const char *v, char *why, size_t cap)
{
    char *end;
    unsigned long n;

    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < 1 || n > 86400 || v[0] == '-') {
        snprintf(why, cap, "\"%s\": want seconds from 1 to 86400", v);
        return -1;
    }
    *(unsigned *)((char *)c + p->off) = (unsigned)n;
    return 0;
}

static int set_bool(struct mconf *c, const struct param *p, const char *v, char *why, size_t cap)
{
    static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
            *(int *)((char *)c + p->off) = strcasecmp(v, yes[i]) == 0;
            return 0;
        }
    }
    snprintf(why, cap, "\"%s\": want yes or no", v);
    return -1;
}

static int set_action(struct mconf *c, const struct param *p, const char *v, char *why, size_t cap)
{
    if (strcasecmp(v, "accept") == 0)
        c->action = MCONF_ACCEPT;
    else if (strcasecmp(v, "discard") == 0)
        c->action = MCONF_DISCARD;
    else {
        snprintf(why, cap, "\"%s\": want accept or discard", v);
        return -1;
    }
    return 0;
}

static int set_facility(struct mconf *c, const struct param *p, const char *v, char *why, size_t cap)
{
    static const struct { const char *name; int value; } f[] = {
        { "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
        { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
        { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
        { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (strcasecmp(v, f[i].name) == 0) {
            c->syslog_facility = f[i].value;
            return 0;
        }
    snprintf(why, cap, "\"%s\": want mail, daemon, user or local0 to local7", v);
    return -1;
}

static int set_level(struct mconf *c, const struct param *p, const char *v, char *why, size_t cap)
{
    static const struct { const char *name; int value; } l[] = {
        { "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
        { "info", LOG_INFO }, { "debug", LOG_DEBUG },
    };
    for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
        if (strcasecmp(v, l[i].name) == 0) {
            c->log_level = l[i].value;
            return 0;
        }
    snprintf(why, cap, "\"%s\": want error, warning, notice, info or debug", v);
    return -1;
}

static int set_limit(struct mconf *c, const struct param *p, const char *v, char *why, size_t cap)
{
    struct tr_err err;
    if (tr_limits_set(&c->ingest.limits, p->limit, v, &err) < 0) {
        snprintf(why, cap, "%s", err.detail);
        return -1;
    }
    return 0;
}

/* The next item of a comma- or blank-separated list, copied into buf. */
static const char *next_item(const char *s, char *buf, size_t cap)
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

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static int set_rua(struct mconf *c, const struct param *p, const char *v, char *why, size_t cap)
{
    char item[MCONF_LINE_MAX];

    for (const char *s = next_item(v, item, sizeof item); item[0] != '\0'; s = next_item(s, item, sizeof item)) {
        char *a = item, *at;
        size_t n;
        if (strncasecmp(a, "mailto:", 7) == 0)        /* as copied from the TXT record */
            a += 7;
        n = strlen(a);
        if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
            a[n - 1] = '\0';
            a++;
        }
        at = strchr(a, '@');
        if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
            strpbrk(a, "<>\"") != NULL) {
            snprintf(why, cap, "\"%s\": want an address local@domain", item);
            return -1;
        }
        if (c->n_rua == MCONF_RUA_MAX) {
            snprintf(why, cap, "more than %d addresses", MCONF_RUA_MAX);
            return -1;
        }
        *at = '\0';
        n = strlen(at + 1);
        if (at[n] == '.')
            at[n] = '\0';
        /* A domain that no recipient can ever match is an error, not a
         * silent pass-through: empty, leading dot, "..", trailing dot. */
        if (at[1] == '\0' || at[1] == '.' || strstr(at + 1, "..") != NULL ||
            at[strlen(at + 1)] == '.') {
            snprintf(why, cap, "\"%s\": want a domain name after '@'", item);
            return -1;
        }
        c->rua_local[c->n_rua] = xstrdup(a);
        c->rua_domain[c->n_rua] = xstrdup(at + 1);
        lower(c->rua_local[c->n_rua]);
        lower(c->rua_domain[c->n_rua]);
        c->n_rua++;
    }
    return 0;
}

static int set_trusted(struct mconf *c, const struct param *p, const char *v, char *why, size_t cap)
{
    char item[MCONF_LINE_MAX];

    for (const char *s = next_item(v, item, sizeof item); item[0] != '\0'; s = next_item(s, item, sizeof item)) {
        if (c->n_trusted == TR_MAX_TRUSTED_AUTHSERV) {
            snprintf(why, cap, "more than %d authserv-ids", TR_MAX_TRUSTED_AUTHSERV);
            return -1;
        }
        c->trusted[c->n_trusted++] = xstrdup(item);
    }
    return 0;
}

#define OFF(field) offsetof(struct mconf, field)
static const struct param params[] = {
    { "Socket",             set_socket,   "unix:/run/tlsrpt-milter/tlsrpt-milter.sock", OFF(socket), NULL, 0 },
    { "RuaAddress",         set_rua,      NULL, 0, NULL, 1 },
    { "Action",             set_action,   "accept", 0, NULL, 0 },
    { "SpoolDir",           set_path,     "/var/spool/tlsrpt", OFF(spool_dir), NULL, 0 },
    { "Database",           set_path,     TLSRPT_DEFAULT_DB, OFF(database), NULL, 0 },
    { "UserID",             set_string,   NULL, OFF(user_id), NULL, 0 },
    { "PidFile",            set_path,     NULL, OFF(pid_file), NULL, 0 },
    { "SyslogFacility",     set_facility, "mail", 0, NULL, 0 },
    { "LogLevel",           set_level,    "info", 0, NULL, 0 },
    { "TrustedAuthservIDs", set_trusted,  NULL, 0, NULL, 1 },
    { "RequireDKIM",        set_bool,     "no", OFF(require_dkim), NULL, 0 },
    { "DrainInterval",      set_seconds,  "60", OFF(drain_interval), NULL, 0 },
    { "DrainRetryMax",      set_seconds,  "300", OFF(retry_max), NULL, 0 },
    { "ShutdownTimeout",    set_seconds,  "30", OFF(shutdown_timeout), NULL, 0 },
    { "MaxMessageSize",     set_limit,    NULL, 0, "message-size", 0 },
    { "MaxInflatedSize",    set_limit,    NULL, 0, "inflated-size", 0 },
    { "MaxJsonDepth",       set_limit,    NULL, 0, "json-depth", 0 },
    { "MaxPolicies",        set_limit,    NULL, 0, "policies", 0 },
    { "MaxFailureDetails",  set_limit,    NULL, 0, "failure-details", 0 },
    { "MaxStringLength",    set_limit,    NULL, 0, "string-length", 0 },
    { "MaxMimeParts",       set_limit,    NULL, 0, "mime-parts", 0 },
};
#define N_PARAMS (sizeof params / sizeof params[0])

static void mconf_free(struct mconf *c)
{
    if (c == NULL)
        return;
    free(c->path);
    free(c->socket);
    for (size_t i = 0; i < c->n_rua; i++) {
        free(c->rua_local[i]);
        free(c->rua_domain[i]);
    }
    free(c->spool_dir);
    free(c->database);
    free(c->user_id);
    free(c->pid_file);
    for (size_t i = 0; i < c->n_trusted; i++)
        free(c->trusted[i]);
    free(c);
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

/* Checks that involve several keys, after the whole file. */
static int check_whole(const struct mconf *c, char *why, size_t cap)
{
    if (c->n_rua == 0) {
        snprintf(why, cap, "%s: RuaAddress: required (the address of your rua=mailto: record)", c->path);
        return -1;
    }
    if (c->require_dkim && c->n_trusted == 0) {
        snprintf(why, cap, "%s: RequireDKIM: needs TrustedAuthservIDs (whose Authentication-Results to believe)",
                 c->path);
        return -1;
    }
    return 0;
}

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

enum { LINE_OK, LINE_EOF, LINE_LONG, LINE_NUL };

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

int mconf_load(const char *path, struct mconf **out, char *why, size_t why_cap)
{
    struct mconf *c = xcalloc(1, sizeof *c);
    int line_no[N_PARAMS] = { 0 };
    char line[MCONF_LINE_MAX + 1], reason[MCONF_WHY_MAX];
    FILE *f;
    int n = 0, got;

    c->path = xstrdup(path);
    tr_ingest_opts_default(&c->ingest);
    for (size_t i = 0; i < N_PARAMS; i++)
        if (params[i].dflt != NULL && params[i].set(c, &params[i], params[i].dflt, reason, sizeof reason) < 0) {
            snprintf(why, why_cap, "%s: %s: bad default: %s", path, params[i].name, reason);
            goto fail;
        }
    if ((f = open_regular(path, why, why_cap)) == NULL)
        goto fail;
    while ((got = read_line(f, line, sizeof line)) != LINE_EOF) {
        char *key, *value;
        size_t i;

        n++;
        if (got == LINE_LONG || got == LINE_NUL) {
            if (got == LINE_LONG)
                snprintf(why, why_cap, "%s:%d: line longer than %d bytes", path, n, MCONF_LINE_MAX);
            else
                snprintf(why, why_cap, "%s:%d: NUL byte in the line", path, n);
            fclose(f);
            goto fail;
        }
        if (!split_line(line, &key, &value))
            continue;
        for (i = 0; i < N_PARAMS && strcasecmp(key, params[i].name) != 0; i++)
            ;
        if (i == N_PARAMS)
            snprintf(reason, sizeof reason, "unknown key");
        else if (value[0] == '\0')
            snprintf(reason, sizeof reason, "no value");
        else if (line_no[i] && !params[i].list)
            snprintf(reason, sizeof reason, "set twice (first on line %d)", line_no[i]);
        else if (params[i].set(c, &params[i], value, reason, sizeof reason) == 0) {
            line_no[i] = n;
            continue;
        }
        snprintf(why, why_cap, "%s:%d: %s: %s", path, n, key, reason);
        fclose(f);
        goto fail;
    }
    fclose(f);
    for (size_t i = 0; i < c->n_trusted; i++)
        c->ingest.trusted_authserv[i] = c->trusted[i];
    c->ingest.n_trusted_authserv = c->n_trusted;
    c->ingest.require_dkim = c->require_dkim;
    if (check_whole(c, why, why_cap) < 0)
        goto fail;
    c->refs = 1;
    *out = c;
    return 0;
fail:
    mconf_free(c);
    return -1;
}

int mconf_is_rua(const struct mconf *c, const char *addr)
{
    const char *a = addr, *end, *at, *plus;
    size_t local_len, dom_len;

    while (*a == ' ' || *a == '<')
        a++;
    end = a + strlen(a);
    while (end > a && (end[-1] == '>' || end[-1] == ' '))
        end--;
    if (*a == '@') {                              /* source route "@a,@b:user@dom" */
        const char *colon = memchr(a, ':', (size_t)(end - a));
        if (colon != NULL)
            a = colon + 1;
    }
    for (at = end; at > a && at[-1] != '@'; at--)
        ;
    if (at == a)
        return 0;
    at--;                                         /* at points to the '@' */
    dom_len = (size_t)(end - at - 1);
    if (dom_len > 0 && at[dom_len] == '.')
        dom_len--;
    for (size_t i = 0; i < c->n_rua; i++) {
        size_t rl = strlen(c->rua_local[i]);
        local_len = (size_t)(at - a);
        plus = (local_len > rl && a[rl] == '+') ? a + rl : NULL;
        if ((local_len == rl || plus != NULL) && strncasecmp(a, c->rua_local[i], rl) == 0
            && strlen(c->rua_domain[i]) == dom_len && strncasecmp(at + 1, c->rua_domain[i], dom_len) == 0)
            return 1;
    }
    return 0;
}

const char *mconf_action_name(enum mconf_action a)
{
    return a == MCONF_DISCARD ? "discard" : "accept";
}

/* The live configuration and its lock. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mconf *live;

void mconf_install(struct mconf *c)
{
    struct mconf *old;
    pthread_mutex_lock(&live_lock);
    old = live;
    live = c;
    pthread_mutex_unlock(&live_lock);
    mconf_put(old);
}

struct mconf *mconf_get(void)
{
    struct mconf *c;
    pthread_mutex_lock(&live_lock);
    c = live;
    if (c != NULL)
        c->refs++;
    pthread_mutex_unlock(&live_lock);
    return c;
}

void mconf_put(struct mconf *c)
{
    int last;
    if (c == NULL)
        return;
    pthread_mutex_lock(&live_lock);
    last = --c->refs == 0;
    pthread_mutex_unlock(&live_lock);
    if (last)
        mconf_free(c);
}
