/*
 * hconf.h - tlsrpt-httpd's configuration (tlsrpt-httpd(8)), read with the
 * parser shared with the milter (conf.h).  Loaded once at start and never
 * changed after (a change needs a restart), so the threads read it
 * without locks.
 */
#ifndef TLSRPT_HTTPD_HCONF_H
#define TLSRPT_HTTPD_HCONF_H

#include <stddef.h>
#include <sys/socket.h>
#include "tlsrpt/ingest.h"

struct hconf {
    char *path;                   /* the file it came from */
    char *listen;                 /* ADDR:PORT or [ADDR6]:PORT, as written */
    struct sockaddr_storage addr; /* listen, parsed */
    socklen_t addr_len;
    char *url_path;               /* Path: the one URL path that takes POSTs */
    char *spool_dir;
    char *database;
    char *tls_cert;               /* TLSCertificate file; NULL: plain HTTP */
    char *tls_key;                /* TLSKey file */
    char *user_id;                /* "user" or "user:group"; NULL: none */
    char *pid_file;
    int syslog_facility;
    int log_level;
    unsigned max_connections;     /* MaxConnections */
    unsigned max_per_client;      /* MaxConnectionsPerClient */
    unsigned idle_timeout;        /* IdleTimeout, seconds without a byte */
    unsigned request_timeout;     /* RequestTimeout, seconds for a whole connection's request */
    unsigned retry_after;         /* RetryAfter, seconds, in a 503 */
    unsigned drain_interval;
    unsigned retry_max;
    struct tr_ingest_opts ingest; /* limits: MaxBodySize is its message-size */
};

/* Reads and checks path; *out caller-owned (hconf_free).  On failure -1
 * with why = "FILE:LINE: KEY: what is wrong". */
int hconf_load(const char *path, struct hconf **out, char *why, size_t why_cap);
void hconf_free(struct hconf *c);       /* NULL is a no-op */

#endif
