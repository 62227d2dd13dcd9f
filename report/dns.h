/*
 * dns.h - the lookups of tlsrpt-report check through libunbound: TXT, MX,
 * A/AAAA and TLSA, each with the DNSSEC status libunbound reports.  Every
 * name check looks up goes through here (the hosts it connects to
 * included), so --resolver applies to all of them.
 *
 * Queries are asynchronous underneath so that each one waits at most the
 * timeout given to dns_new (poll on ub_fd, then ub_cancel).
 */
#ifndef RPT_DNS_H
#define RPT_DNS_H

#include <stddef.h>
#include "tlsrpt/util.h"

/* Records kept from one answer, and the bytes of one record's data. */
#define DNS_RR_MAX 64
#define DNS_TRUST_ANCHOR_DEFAULT "/usr/share/dns/root.key"

enum dns_sec { DNS_NOT_VALIDATED, DNS_SECURE, DNS_INSECURE, DNS_BOGUS };

struct dns_rr {
    unsigned char *data;          /* owned */
    size_t len;
};

struct dns_ans {
    int ok;                       /* 1: an answer came (maybe empty), 0: error/timeout */
    int timeout;
    int rcode;                    /* 0 NOERROR, 3 NXDOMAIN, 2 SERVFAIL... */
    enum dns_sec sec;
    char why[256];                /* why_bogus or the resolver error */
    struct dns_rr rr[DNS_RR_MAX];
    size_t n;
};

struct dns;

/* resolver: "IP", "IP:PORT", "[IPv6]:PORT" or NULL (the system's
 * resolv.conf).  With NULL a trust anchor file (DNS_TRUST_ANCHOR_DEFAULT)
 * is loaded if present, so answers are validated; a forwarder named with
 * --resolver is not second-guessed (status "not validated").
 * Returns 0 or -1 with err (bad address, libunbound error). */
int dns_new(const char *resolver, long timeout_s, struct dns **out, struct tr_err *err);
void dns_free(struct dns *d);

/* One query; *a is always filled (dns_ans_free). */
void dns_query(struct dns *d, const char *name, int rrtype, struct dns_ans *a);
void dns_ans_free(struct dns_ans *a);

const char *dns_sec_name(enum dns_sec s);
/* "NOERROR", "NXDOMAIN", "timeout" ... of an answer, for details. */
const char *dns_status_text(const struct dns_ans *a);

/* Record data decoders.  Each returns 0, or -1 when the data is malformed.
 * dns_txt: the character-strings concatenated, NULs or over cap: -1. */
int dns_txt(const struct dns_rr *rr, char *out, size_t cap);
/* dns_mx: preference and the exchange name (presentation, no final dot). */
int dns_mx(const struct dns_rr *rr, int *pref, char *name, size_t cap);
/* dns_addr: an A (4 bytes) or AAAA (16 bytes) record as text. */
int dns_addr(const struct dns_rr *rr, int rrtype, char *out, size_t cap);

enum { DNS_T_A = 1, DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_TLSA = 52 };

#endif
