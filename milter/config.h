/*
 * config.h - tlsrpt-milter.conf(5): loading, checking, and the live
 * configuration shared by the milter's threads.
 *
 * A struct mconf is immutable once loaded.  The live one sits behind a
 * single reference-counted pointer: mconf_get() hands out a reference
 * (a message keeps the one it took at MAIL FROM until it is done), and
 * mconf_install() swaps in a reloaded config; the old one is freed when
 * its last user puts it back.
 */
#ifndef TLSRPT_MILTER_CONFIG_H
#define TLSRPT_MILTER_CONFIG_H

#include <stddef.h>
#include "tlsrpt/ingest.h"

#define MCONF_RUA_MAX 64          /* RuaAddress entries */
#define MCONF_LINE_MAX 4096       /* bytes of one config line */
#define MCONF_WHY_MAX 1024        /* an error message */

enum mconf_action { MCONF_ACCEPT, MCONF_DISCARD };

struct mconf {
    char *path;                   /* the file it came from */
    char *socket;                 /* libmilter form: unix:/path, inet:port@host */
    char *rua_local[MCONF_RUA_MAX];   /* lower case, without +detail */
    char *rua_domain[MCONF_RUA_MAX];  /* lower case, no trailing dot */
    size_t n_rua;
    enum mconf_action action;
    char *spool_dir;
    char *database;
    char *user_id;                /* "user" or "user:group"; NULL: none */
    char *pid_file;               /* NULL: none */
    int syslog_facility;          /* LOG_MAIL, ... */
    int log_level;                /* LOG_ERR .. LOG_DEBUG */
    char *trusted[TR_MAX_TRUSTED_AUTHSERV];
    size_t n_trusted;
    int require_dkim;
    unsigned drain_interval;      /* seconds between timed drains */
    unsigned retry_max;           /* cap of the back-off after a failed drain, seconds */
    unsigned shutdown_timeout;    /* seconds SIGTERM waits for messages in flight */
    struct tr_ingest_opts ingest; /* limits; trusted ids borrowed from trusted[] */
    int refs;                     /* guarded by config.c's mutex */
};

/*
 * Reads and checks path.  On success *out is caller-owned (one reference).
 * On failure returns -1 with why = "FILE:LINE: KEY: what is wrong".
 */
int mconf_load(const char *path, struct mconf **out, char *why, size_t why_cap);

/* 1 when the envelope address (as given to RCPT, with or without <>)
 * is one of the rua addresses: local part and domain compared without
 * case, a "+detail" after the local part allowed. */
int mconf_is_rua(const struct mconf *c, const char *addr);

/* The live configuration.  install takes over the caller's reference. */
void mconf_install(struct mconf *c);
struct mconf *mconf_get(void);          /* a new reference, never NULL after install */
void mconf_put(struct mconf *c);        /* drops a reference; NULL is a no-op */

/* Names of values, for logs and the manual. */
const char *mconf_action_name(enum mconf_action a);

#endif
