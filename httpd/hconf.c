/*
 * hconf.c - tlsrpt-httpd's parameter table (hconf.h).
 */
#include "hconf.h"
#include "conf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* "ADDR:PORT" or "[ADDR6]:PORT", numeric only (no name lookups at start). */
static int set_listen(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    struct hconf *c = obj;
    char host[64];
    const char *colon, *h = v;
    size_t hlen;
    char *end;
    long port;

    if (v[0] == '[') {
        const char *close = strchr(v, ']');
        if (close == NULL || close[1] != ':')
            goto bad;
        h = v + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        if ((colon = strrchr(v, ':')) == NULL)
            goto bad;
        hlen = (size_t)(colon - v);
    }
    if (hlen == 0 || hlen >= sizeof host)
        goto bad;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
        goto bad;
    memset(&c->addr, 0, sizeof c->addr);
    if (v[0] != '[') {
        struct sockaddr_in *a = (struct sockaddr_in *)&c->addr;
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            goto bad;
        a->sin_family = AF_INET;
        a->sin_port = htons((unsigned short)port);
        c->addr_len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&c->addr;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            goto bad;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((unsigned short)port);
        c->addr_len = sizeof *a;
    }
    return conf_set_string(obj, p, v, why, cap);
bad:
    snprintf(why, cap, "\"%s\": want ADDRESS:PORT or [IPV6]:PORT (numeric)", v);
    return -1;
}

static int set_url_path(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap)
{
    if (v[0] != '/' || strpbrk(v, "?# ") != NULL) {
        snprintf(why, cap, "\"%s\": want a URL path starting with / (no query)", v);
        return -1;
    }
    return conf_set_string(obj, p, v, why, cap);
}

#define OFF(field) offsetof(struct hconf, field)
static const struct conf_param params[] = {
    { "Listen",                  set_listen,        "127.0.0.1:8080", OFF(listen), NULL, 0 },
    { "Path",                    set_url_path,      "/", OFF(url_path), NULL, 0 },
    { "SpoolDir",                conf_set_path,     "/var/spool/tlsrpt", OFF(spool_dir), NULL, 0 },
    { "Database",                conf_set_path,     TLSRPT_DEFAULT_DB, OFF(database), NULL, 0 },
    { "TLSCertificate",          conf_set_path,     NULL, OFF(tls_cert), NULL, 0 },
    { "TLSKey",                  conf_set_path,     NULL, OFF(tls_key), NULL, 0 },
    { "UserID",                  conf_set_string,   NULL, OFF(user_id), NULL, 0 },
    { "PidFile",                 conf_set_path,     NULL, OFF(pid_file), NULL, 0 },
    { "SyslogFacility",          conf_set_facility, "daemon", OFF(syslog_facility), NULL, 0 },
    { "LogLevel",                conf_set_level,    "info", OFF(log_level), NULL, 0 },
    { "MaxConnections",          conf_set_count,    "64", OFF(max_connections), NULL, 0 },
    { "MaxConnectionsPerClient", conf_set_count,    "8", OFF(max_per_client), NULL, 0 },
    { "IdleTimeout",             conf_set_seconds,  "10", OFF(idle_timeout), NULL, 0 },
    { "RequestTimeout",          conf_set_seconds,  "60", OFF(request_timeout), NULL, 0 },
    { "RetryAfter",              conf_set_seconds,  "60", OFF(retry_after), NULL, 0 },
    { "DrainInterval",           conf_set_seconds,  "60", OFF(drain_interval), NULL, 0 },
    { "DrainRetryMax",           conf_set_seconds,  "300", OFF(retry_max), NULL, 0 },
    { "MaxBodySize",             conf_set_limit,    "10M", OFF(ingest.limits), "message-size", 0 },
    { "MaxInflatedSize",         conf_set_limit,    NULL, OFF(ingest.limits), "inflated-size", 0 },
    { "MaxJsonDepth",            conf_set_limit,    NULL, OFF(ingest.limits), "json-depth", 0 },
    { "MaxPolicies",             conf_set_limit,    NULL, OFF(ingest.limits), "policies", 0 },
    { "MaxFailureDetails",       conf_set_limit,    NULL, OFF(ingest.limits), "failure-details", 0 },
    { "MaxStringLength",         conf_set_limit,    NULL, OFF(ingest.limits), "string-length", 0 },
};
#define N_PARAMS (sizeof params / sizeof params[0])

void hconf_free(struct hconf *c)
{
    if (c == NULL)
        return;
    free(c->path);
    free(c->listen);
    free(c->url_path);
    free(c->spool_dir);
    free(c->database);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->user_id);
    free(c->pid_file);
    free(c);
}

int hconf_load(const char *path, struct hconf **out, char *why, size_t why_cap)
{
    struct hconf *c = xcalloc(1, sizeof *c);

    c->path = xstrdup(path);
    tr_ingest_opts_default(&c->ingest);
    if (conf_parse(path, params, N_PARAMS, c, why, why_cap) < 0)
        goto fail;
    if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
        snprintf(why, why_cap, "%s: %s: needs %s as well", path, c->tls_cert ? "TLSCertificate" : "TLSKey",
                 c->tls_cert ? "TLSKey" : "TLSCertificate");
        goto fail;
    }
    if (c->max_per_client > c->max_connections) {
        snprintf(why, why_cap, "%s: MaxConnectionsPerClient: above MaxConnections (%u)", path,
                 c->max_connections);
        goto fail;
    }
    *out = c;
    return 0;
fail:
    hconf_free(c);
    return -1;
}
