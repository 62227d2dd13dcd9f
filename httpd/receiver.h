/*
 * receiver.h - the HTTP(S) side of tlsrpt-httpd: libmicrohttpd, one
 * thread per connection, the POST handler that spools a report before it
 * answers, and the reaper that cuts off connections past RequestTimeout.
 */
#ifndef TLSRPT_HTTPD_RECEIVER_H
#define TLSRPT_HTTPD_RECEIVER_H

#include <stddef.h>
#include "hconf.h"

#define RECV_TLS_FILE_MAX ((size_t)1 << 20)   /* bytes of a certificate or key file */

/* What the handler counts (read with receiver_counts; logged at stop). */
struct recv_counts {
    unsigned long posts;          /* requests that reached the handler */
    unsigned long stored;         /* answered 2xx: spooled */
    unsigned long refused[6];     /* 400, 404, 405, 413, 415, 503 */
};
extern const int recv_refused_codes[6];

/*
 * Serves the listening socket listen_fd (opened as root by main.c; owned
 * by libmicrohttpd from here) with c (borrowed until receiver_stop); with
 * cert_pem and key_pem (NUL-terminated PEM, borrowed, copied by
 * libmicrohttpd) over TLS.  0, or -1 with why.
 */
int receiver_start(const struct hconf *c, int listen_fd, const char *cert_pem, const char *key_pem,
                   char *why, size_t cap);

/* Stops accepting, ends the connections, joins the threads. */
void receiver_stop(void);

void receiver_counts(struct recv_counts *out);

#endif
