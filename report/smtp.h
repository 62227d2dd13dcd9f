/*
 * smtp.h - one MX on port 25 as a sender meets it: banner, EHLO, STARTTLS,
 * the TLS handshake (1.2 or later), the certificate (chain, name, expiry)
 * and the TLSA records at _25._tcp.MX when there are any.  Every wait is
 * bounded (poll with the step timeout); an MX that never answers is a
 * result.
 */
#ifndef RPT_SMTP_H
#define RPT_SMTP_H

#include "check.h"
#include "dns.h"

#define SMTP_PORT 25
/* One SMTP reply (all its lines) at most. */
#define SMTP_REPLY_MAX (16 * 1024)

/* What the probe saw, for the comparisons with the reports. */
struct smtp_probe {
    int connected, greeted, starttls, tls;
    int chain_ok, name_ok, expired;
    long days_left;               /* days until notAfter (negative: expired) */
    char not_after[32];           /* "YYYY-MM-DD", "" when no certificate */
    int tlsa_present, tlsa_match;
};

/* Probes host (the MX name, for EHLO checks, SNI and the name match) at
 * addr; appends its results (subject = host) to l.  ca_file NULL: the
 * system trust store.  timeout_s bounds each step. */
void smtp_probe(struct dns *dns, const char *host, const char *addr, const char *ca_file, long timeout_s,
                int64_t now, struct chk_list *l, struct smtp_probe *p);

#endif
