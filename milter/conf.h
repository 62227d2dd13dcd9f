/*
 * conf.h - the "Key value" configuration file format shared by
 * tlsrpt-milter.conf(5) and tlsrpt-httpd(8): one table of parameters
 * (name, setter, default, where the value goes), keys matched without
 * case, '#' comments, a key set twice an error unless it is a list,
 * errors "FILE:LINE: KEY: why".  Each daemon has its own struct and
 * table; the generic setters write at an offset into it.
 */
#ifndef TLSRPT_CONF_H
#define TLSRPT_CONF_H

#include <stddef.h>

#define CONF_LINE_MAX 4096        /* bytes of one config line */
#define CONF_WHY_MAX 1024         /* an error message */

struct conf_param;
/* Sets one value into obj (the daemon's config struct); 0, or -1 with why. */
typedef int (*conf_setter)(void *obj, const struct conf_param *p, const char *value,
                           char *why, size_t cap);

struct conf_param {
    const char *name;
    conf_setter set;
    const char *dflt;     /* NULL: no default */
    size_t off;           /* for the generic setters: offset in obj */
    const char *limit;    /* for conf_set_limit: the tr_limits name */
    int list;             /* may be repeated; values accumulate */
};

/*
 * Applies the defaults of params[0..n) to obj, then reads path into it.
 * 0, or -1 with why = "FILE:LINE: KEY: what is wrong".  Strings already
 * set in obj are freed by the setters that replace them; on failure the
 * caller frees obj as usual.
 */
int conf_parse(const char *path, const struct conf_param *params, size_t n, void *obj,
               char *why, size_t why_cap);

/* Generic setters (off: where the value goes in obj). */
int conf_set_path(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap);    /* char *, absolute */
int conf_set_string(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap);  /* char * */
int conf_set_seconds(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap); /* unsigned, 1..86400 */
int conf_set_count(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap);   /* unsigned, 1..1000000 */
int conf_set_bool(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap);    /* int */
int conf_set_facility(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap);/* int, LOG_MAIL.. */
int conf_set_level(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap);   /* int, LOG_ERR.. */
/* off points to a struct tr_limits; p->limit names the limit. */
int conf_set_limit(void *obj, const struct conf_param *p, const char *v, char *why, size_t cap);

/* The next item of a comma- or blank-separated list, copied into buf. */
const char *conf_next_item(const char *s, char *buf, size_t cap);

#endif
