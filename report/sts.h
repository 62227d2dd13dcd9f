/*
 * sts.h - fetching an MTA-STS policy file the way a sender does (RFC 8461
 * 3.3): HTTPS only, no redirect followed, size and time capped, the
 * certificate checked for mta-sts.DOMAIN.  libcurl connects to the
 * address check found through dns.c (CURLOPT_RESOLVE), never to one the
 * system resolver would pick.
 */
#ifndef RPT_STS_H
#define RPT_STS_H

#include <stddef.h>

/* The policy file's size cap (what senders commonly allow). */
#define STS_BODY_MAX (64 * 1024)

struct sts_fetch {
    int transport_ok;             /* 1: an HTTP response came */
    int webpki_fail;              /* the certificate of mta-sts.D was refused */
    int too_big, timed_out;
    long status;                  /* HTTP status */
    char content_type[128];       /* "" when absent */
    char location[256];           /* Location of a 3xx */
    char error[256];              /* libcurl's error text when !transport_ok */
    char *body;                   /* owned, NUL-terminated, body_len bytes */
    size_t body_len;
};

/* GET https://HOST/.well-known/mta-sts.txt at addr (IPv4/IPv6 text),
 * ca_file (NULL: system store), at most timeout_s seconds in all.
 * *f is always filled; free with sts_fetch_free. */
void sts_fetch(const char *host, const char *addr, const char *ca_file, long timeout_s, struct sts_fetch *f);
void sts_fetch_free(struct sts_fetch *f);

#endif
