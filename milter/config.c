/*
 * config.c - tlsrpt-milter.conf(5) (see config.h).
 *
 * The file is "Key value" lines, like opendkim.conf, read by the parser
 * shared with tlsrpt-httpd (conf.h): keys are matched without case, the
 * value is the rest of the line with surrounding blanks removed, '#'
 * starts a comment at the start of a line or after a blank.  Every key is
 * one row of params[]: its name, its setter and its default.  A key set
 * twice is an error unless it is a list.  Errors read "FILE:LINE: KEY: why".
 */
#include "config.h"
#include "conf.h"
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

static int set_socket(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
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
        return conf_set_string(obj, p, v, why, cap);
    }
    snprintf(why, cap, "\"%s\": want unix:/PATH or inet:PORT@HOST", v);
    return -1;
}



static int set_action(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    struct mconf *c = obj;
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





static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static int set_rua(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    struct mconf *c = obj;
    char item[MCONF_LINE_MAX];

    for (const char *s = conf_next_item(v, item, sizeof item); item[0] != '\0'; s = conf_next_item(s, item, sizeof item)) {
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

static int set_trusted(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    struct mconf *c = obj;
    char item[MCONF_LINE_MAX];

    for (const char *s = conf_next_item(v, item, sizeof item); item[0] != '\0'; s = conf_next_item(s, item, sizeof item)) {
        if (c->n_trusted == TR_MAX_TRUSTED_AUTHSERV) {
            snprintf(why, cap, "more than %d authserv-ids", TR_MAX_TRUSTED_AUTHSERV);
            return -1;
        }
        c->trusted[c->n_trusted++] = xstrdup(item);
    }
    return 0;
}

#define OFF(field) offsetof(struct mconf, field)
static const struct conf_param params[] = {
    { "Socket",             set_socket,   "unix:/run/tlsrpt-milter/tlsrpt-milter.sock", OFF(socket), NULL, 0 },
    { "RuaAddress",         set_rua,      NULL, 0, NULL, 1 },
    { "Action",             set_action,   "accept", 0, NULL, 0 },
    { "SpoolDir",           conf_set_path,     "/var/spool/tlsrpt", OFF(spool_dir), NULL, 0 },
    { "Database",           conf_set_path,     TLSRPT_DEFAULT_DB, OFF(database), NULL, 0 },
    { "UserID",             conf_set_string,   NULL, OFF(user_id), NULL, 0 },
    { "PidFile",            conf_set_path,     NULL, OFF(pid_file), NULL, 0 },
    { "SyslogFacility",     conf_set_facility, "mail", OFF(syslog_facility), NULL, 0 },
    { "LogLevel",           conf_set_level,    "info", OFF(log_level), NULL, 0 },
    { "TrustedAuthservIDs", set_trusted,  NULL, 0, NULL, 1 },
    { "RequireDKIM",        conf_set_bool,     "no", OFF(require_dkim), NULL, 0 },
    { "DrainInterval",      conf_set_seconds,  "60", OFF(drain_interval), NULL, 0 },
    { "DrainRetryMax",      conf_set_seconds,  "300", OFF(retry_max), NULL, 0 },
    { "ShutdownTimeout",    conf_set_seconds,  "30", OFF(shutdown_timeout), NULL, 0 },
    { "MaxMessageSize",     conf_set_limit, NULL, OFF(ingest.limits), "message-size", 0 },
    { "MaxInflatedSize",    conf_set_limit, NULL, OFF(ingest.limits), "inflated-size", 0 },
    { "MaxJsonDepth",       conf_set_limit, NULL, OFF(ingest.limits), "json-depth", 0 },
    { "MaxPolicies",        conf_set_limit, NULL, OFF(ingest.limits), "policies", 0 },
    { "MaxFailureDetails",  conf_set_limit, NULL, OFF(ingest.limits), "failure-details", 0 },
    { "MaxStringLength",    conf_set_limit, NULL, OFF(ingest.limits), "string-length", 0 },
    { "MaxMimeParts",       conf_set_limit, NULL, OFF(ingest.limits), "mime-parts", 0 },
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



int mconf_load(const char *path, struct mconf **out, char *why, size_t why_cap)
{
    struct mconf *c = xcalloc(1, sizeof *c);

    c->path = xstrdup(path);
    tr_ingest_opts_default(&c->ingest);
    if (conf_parse(path, params, N_PARAMS, c, why, why_cap) < 0)
        goto fail;
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
