/*
 * dns.c - libunbound lookups for tlsrpt-report check (dns.h).
 */
#include "dns.h"
#include "tlsrpt/codes.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>
#include <unistd.h>

struct dns {
    struct ub_ctx *ub;
    long timeout_ms;
    int anchored;                 /* a trust anchor is loaded */
};

/* "IP", "IP:PORT", "[v6]:PORT", "v6" -> unbound's "IP@PORT". */
static int fwd_addr(const char *s, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN + 1] = "", port[8] = "";
    unsigned char buf[16];
    const char *colon = strrchr(s, ':');

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || (size_t)(end - s - 1) >= sizeof host)
            return -1;
        snprintf(host, sizeof host, "%.*s", (int)(end - s - 1), s + 1);
        if (end[1] == ':')
            snprintf(port, sizeof port, "%s", end + 2);
        else if (end[1] != '\0')
            return -1;
    } else if (colon != NULL && strchr(s, ':') == colon) {   /* one colon: v4:port */
        if ((size_t)(colon - s) >= sizeof host)
            return -1;
        snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
        snprintf(port, sizeof port, "%s", colon + 1);
    } else {
        if (strlen(s) >= sizeof host)
            return -1;
        snprintf(host, sizeof host, "%s", s);
    }
    if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1)
        return -1;
    if (port[0] != '\0') {
        char *end;
        long p = strtol(port, &end, 10);
        if (*end != '\0' || p < 1 || p > 65535)
            return -1;
        snprintf(out, cap, "%s@%ld", host, p);
    } else {
        snprintf(out, cap, "%s", host);
    }
    return 0;
}

int dns_new(const char *resolver, long timeout_s, struct dns **out, struct tr_err *err)
{
    static const char *const special[] = {"test. transparent", "invalid. transparent", "local. transparent",
                                          "home.arpa. transparent", "onion. transparent"};
    struct dns *d = xcalloc(1, sizeof *d);
    int rc;

    *out = NULL;
    d->timeout_ms = timeout_s * 1000;
    d->ub = ub_ctx_create();
    if (d->ub == NULL) {
        tr_err_set(err, "resolver", "libunbound: cannot create a context");
        free(d);
        return -1;
    }
    if (resolver != NULL) {
        char fwd[INET6_ADDRSTRLEN + 16];
        if (fwd_addr(resolver, fwd, sizeof fwd) < 0) {
            tr_err_set(err, TR_E_USAGE, "--resolver: '%.80s' is not IP, IP:PORT or [IPv6]:PORT", resolver);
            dns_free(d);
            return -1;
        }
        rc = ub_ctx_set_fwd(d->ub, fwd);
        /* libunbound answers the special-use names of RFC 6761 itself
         * (NXDOMAIN for "test.", "invalid."...); the server named with
         * --resolver is asked for every name, private zones included. */
        for (size_t i = 0; rc == 0 && i < sizeof special / sizeof special[0]; i++)
            rc = ub_ctx_set_option(d->ub, "local-zone:", special[i]);
    } else {
        rc = ub_ctx_resolvconf(d->ub, NULL);
        if (rc == 0 && access(DNS_TRUST_ANCHOR_DEFAULT, R_OK) == 0 &&
            ub_ctx_add_ta_file(d->ub, DNS_TRUST_ANCHOR_DEFAULT) == 0)
            d->anchored = 1;
    }
    if (rc != 0) {
        tr_err_set(err, "resolver", "libunbound: %s", ub_strerror(rc));
        dns_free(d);
        return -1;
    }
    /* Answers are waited for asynchronously with our own deadline, in a
     * thread of libunbound's (its default for async is a forked process). */
    (void)ub_ctx_async(d->ub, 1);
    *out = d;
    return 0;
}

void dns_free(struct dns *d)
{
    if (d == NULL)
        return;
    if (d->ub != NULL)
        ub_ctx_delete(d->ub);
    free(d);
}

struct pending {
    int done, err;
    struct ub_result *res;
};

static void on_result(void *arg, int err, struct ub_result *res)
{
    struct pending *p = arg;
    p->done = 1;
    p->err = err;
    p->res = res;
}

static long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dns_query(struct dns *d, const char *name, int rrtype, struct dns_ans *a)
{
    struct pending p = {0};
    int id = 0, rc;
    long deadline = ms_now() + d->timeout_ms;

    memset(a, 0, sizeof *a);
    rc = ub_resolve_async(d->ub, name, rrtype, 1, &p, on_result, &id);
    if (rc != 0) {
        snprintf(a->why, sizeof a->why, "%s", ub_strerror(rc));
        return;
    }
    while (!p.done) {
        long left = deadline - ms_now();
        struct pollfd pfd = {.fd = ub_fd(d->ub), .events = POLLIN};
        if (left <= 0) {
            ub_cancel(d->ub, id);
            a->timeout = 1;
            snprintf(a->why, sizeof a->why, "no answer within %ld s", d->timeout_ms / 1000);
            return;
        }
        if (poll(&pfd, 1, (int)left) > 0 && ub_process(d->ub) != 0)
            break;
    }
    if (!p.done || p.err != 0) {
        snprintf(a->why, sizeof a->why, "%s", p.done ? ub_strerror(p.err) : "resolver failure");
        if (p.res)
            ub_resolve_free(p.res);
        return;
    }
    a->ok = 1;
    a->rcode = p.res->rcode;
    if (!d->anchored)
        a->sec = DNS_NOT_VALIDATED;
    else if (p.res->secure)
        a->sec = DNS_SECURE;
    else if (p.res->bogus)
        a->sec = DNS_BOGUS;
    else
        a->sec = DNS_INSECURE;
    if (p.res->why_bogus)
        snprintf(a->why, sizeof a->why, "%s", p.res->why_bogus);
    if (p.res->havedata)
        for (int i = 0; p.res->data[i] != NULL && a->n < DNS_RR_MAX; i++) {
            size_t n = (size_t)p.res->len[i];
            a->rr[a->n].data = xmalloc(n ? n : 1);
            memcpy(a->rr[a->n].data, p.res->data[i], n);
            a->rr[a->n++].len = n;
        }
    ub_resolve_free(p.res);
}

void dns_ans_free(struct dns_ans *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->rr[i].data);
    a->n = 0;
}

const char *dns_sec_name(enum dns_sec s)
{
    switch (s) {
    case DNS_SECURE: return "secure";
    case DNS_INSECURE: return "insecure";
    case DNS_BOGUS: return "bogus";
    default: return "not validated";
    }
}

const char *dns_status_text(const struct dns_ans *a)
{
    static const char *const rcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
    if (a->timeout)
        return "timeout";
    if (!a->ok)
        return "resolver error";
    if (a->rcode >= 0 && a->rcode < 6)
        return rcodes[a->rcode];
    return "error rcode";
}

int dns_txt(const struct dns_rr *rr, char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < rr->len) {
        size_t n = rr->data[i++];
        if (i + n > rr->len || o + n >= cap)
            return -1;
        if (memchr(rr->data + i, '\0', n) != NULL)
            return -1;
        memcpy(out + o, rr->data + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    return 0;
}

int dns_mx(const struct dns_rr *rr, int *pref, char *name, size_t cap)
{
    size_t i = 2, o = 0;
    if (rr->len < 3)
        return -1;
    *pref = rr->data[0] << 8 | rr->data[1];
    /* Uncompressed wire-format name (libunbound hands out rdata as is;
     * MX names in answers are decompressed by it). */
    while (i < rr->len) {
        size_t n = rr->data[i++];
        if (n == 0)
            break;
        if (n > 63 || i + n > rr->len || o + n + 2 > cap)
            return -1;
        if (o > 0)
            name[o++] = '.';
        for (size_t k = 0; k < n; k++) {
            unsigned char c = rr->data[i + k];
            if (c <= ' ' || c >= 0x7f || c == '.')
                return -1;          /* names check could not type: refused */
            name[o++] = (char)c;
        }
        i += n;
    }
    if (o == 0) {
        if (cap < 2)
            return -1;
        name[o++] = '.';            /* the null MX "." (RFC 7505) */
    }
    name[o] = '\0';
    return 0;
}

int dns_addr(const struct dns_rr *rr, int rrtype, char *out, size_t cap)
{
    if (rrtype == DNS_T_A && rr->len == 4)
        return inet_ntop(AF_INET, rr->data, out, (socklen_t)cap) ? 0 : -1;
    if (rrtype == DNS_T_AAAA && rr->len == 16)
        return inet_ntop(AF_INET6, rr->data, out, (socklen_t)cap) ? 0 : -1;
    return -1;
}
