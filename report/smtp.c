/*
 * smtp.c - probing an MX on port 25 with OpenSSL (smtp.h).
 *
 * The socket is non-blocking throughout; each read, write, connect and
 * handshake step waits with poll up to the step timeout.  Verification is
 * done by OpenSSL during the handshake with a callback that records every
 * error and lets the handshake go on, so one session tells an expired
 * certificate from an untrusted one; the name is checked afterwards with
 * X509_check_host (RFC 6125 wildcards: whole leftmost label only).
 */
#include "smtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    SSL *ssl;
    int timeout_ms;
    char buf[SMTP_REPLY_MAX + 1];
    size_t len;
};

/* Verification errors seen during the handshake. */
struct vseen {
    int expired, untrusted, other;
    char first[160];
};

static int vseen_idx = -1;

static int on_verify(int ok, X509_STORE_CTX *x)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct vseen *v = SSL_get_ex_data(ssl, vseen_idx);
    int e = X509_STORE_CTX_get_error(x);
    if (!ok && v != NULL) {
        if (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID)
            v->expired = 1;
        else if (e == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || e == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                 e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY || e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
                 e == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE || e == X509_V_ERR_CERT_UNTRUSTED)
            v->untrusted = 1;
        else
            v->other = 1;
        if (v->first[0] == '\0' && !(e == X509_V_ERR_CERT_HAS_EXPIRED))
            snprintf(v->first, sizeof v->first, "%s", X509_verify_cert_error_string(e));
    }
    return 1;                       /* go on: the probe reports, it does not refuse */
}

static int wait_fd(struct conn *c, short events)
{
    struct pollfd p = {.fd = c->fd, .events = events};
    int r;
    do
        r = poll(&p, 1, c->timeout_ms);
    while (r < 0 && errno == EINTR);
    return r > 0 ? 0 : -1;
}

/* Reads one complete reply (last line "NNN " ...) into c->buf.  Returns the
 * code, 0 on timeout, -1 on a closed connection or a malformed reply. */
static int read_reply(struct conn *c, int *timed_out)
{
    c->len = 0;
    for (;;) {
        /* a complete reply ends with a line whose 4th byte is ' ' */
        char *line = c->buf;
        c->buf[c->len] = '\0';
        for (char *nl; (nl = strstr(line, "\r\n")) != NULL || (nl = strchr(line, '\n')) != NULL;) {
            if (nl - line < 3)
                return -1;
            if (nl - line == 3 || line[3] == ' ')
                return atoi(line) >= 200 && atoi(line) <= 599 ? atoi(line) : -1;
            line = nl + (nl[0] == '\r' ? 2 : 1);
        }
        if (c->len == SMTP_REPLY_MAX)
            return -1;
        ssize_t n;
        if (c->ssl != NULL) {
            int r = SSL_read(c->ssl, c->buf + c->len, (int)(SMTP_REPLY_MAX - c->len));
            if (r > 0) { c->len += (size_t)r; continue; }
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                return -1;
            if (wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) < 0) { *timed_out = 1; return 0; }
            continue;
        }
        if (wait_fd(c, POLLIN) < 0) { *timed_out = 1; return 0; }
        n = recv(c->fd, c->buf + c->len, SMTP_REPLY_MAX - c->len, 0);
        if (n <= 0)
            return -1;
        c->len += (size_t)n;
    }
}

static int send_line(struct conn *c, const char *s)
{
    size_t len = strlen(s), off = 0;
    while (off < len) {
        if (c->ssl != NULL) {
            int r = SSL_write(c->ssl, s + off, (int)(len - off));
            if (r > 0) { off += (size_t)r; continue; }
            int e = SSL_get_error(c->ssl, r);
            if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
                wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) < 0)
                return -1;
            continue;
        }
        if (wait_fd(c, POLLOUT) < 0)
            return -1;
        ssize_t n = send(c->fd, s + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

static int tcp_connect(const char *addr, int timeout_ms, char *why, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    int fd, err = 0;
    socklen_t el = sizeof err;

    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(SMTP_PORT);
        sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(SMTP_PORT);
        sl = sizeof *s6;
    } else {
        snprintf(why, cap, "not an address");
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, cap, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
        snprintf(why, cap, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, timeout_ms) <= 0) {
        snprintf(why, cap, "no connection within %d s", timeout_ms / 1000);
        close(fd);
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
        snprintf(why, cap, "%s", strerror(err ? err : errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Digest (or copy, mtype 0) of one selector's bytes == the TLSA data. */
static int tlsa_matches(const unsigned char *der, int len, int mtype, const unsigned char *want, size_t wlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (mtype == 0)
        return (size_t)len == wlen && memcmp(der, want, wlen) == 0;
    if (EVP_Digest(der, (size_t)len, md, &mdlen, mtype == 1 ? EVP_sha256() : EVP_sha512(), NULL) != 1)
        return 0;
    return mdlen == wlen && memcmp(md, want, wlen) == 0;
}

static int cert_matches_tlsa(X509 *x, int selector, int mtype, const unsigned char *d, size_t dl)
{
    unsigned char *der = NULL;
    int len = selector == 0 ? i2d_X509(x, &der) : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    int m = len > 0 && tlsa_matches(der, len, mtype, d, dl);
    OPENSSL_free(der);
    return m;
}

static void check_tlsa(struct dns *dns, const char *host, SSL *ssl, struct chk_list *l, struct smtp_probe *p)
{
    char name[300];
    struct dns_ans a;
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);     /* leaf first (client side) */
    int usable = 0;

    snprintf(name, sizeof name, "_25._tcp.%s", host);
    dns_query(dns, name, DNS_T_TLSA, &a);
    if (!a.ok || (a.rcode != 0 && a.rcode != 3)) {
        chk_add(l, "mx-tlsa", CHK_WARN, host, "Make the TLSA lookup answer (a DANE sender defers mail when it fails).",
                "TLSA lookup of %s failed: %s %s", name, dns_status_text(&a), a.why);
        dns_ans_free(&a);
        return;
    }
    if (a.n == 0) {
        dns_ans_free(&a);
        return;                                     /* no DANE: nothing to check */
    }
    p->tlsa_present = 1;
    for (size_t i = 0; i < a.n && !p->tlsa_match; i++) {
        const struct dns_rr *rr = &a.rr[i];
        if (rr->len < 4)
            continue;
        int usage = rr->data[0], sel = rr->data[1], mt = rr->data[2];
        if ((usage != 2 && usage != 3) || sel > 1 || mt > 2)
            continue;                               /* RFC 7672: only DANE-TA and DANE-EE */
        usable++;
        for (int k = 0; chain != NULL && k < sk_X509_num(chain) && !p->tlsa_match; k++) {
            if ((usage == 3) != (k == 0))
                continue;
            if (cert_matches_tlsa(sk_X509_value(chain, k), sel, mt, rr->data + 3, rr->len - 3))
                p->tlsa_match = 1;
        }
    }
    if (p->tlsa_match)
        chk_add(l, "mx-tlsa", a.sec == DNS_INSECURE ? CHK_WARN : CHK_OK, host,
                a.sec == DNS_INSECURE ? "Sign the zone with DNSSEC: senders ignore unsigned TLSA records." : NULL,
                "%zu TLSA record(s) at %s, one matches the presented chain (DNSSEC: %s)", a.n, name,
                dns_sec_name(a.sec));
    else
        chk_add(l, "mx-tlsa", CHK_FAIL, host,
                "Publish TLSA records for the certificate or key the MX presents now (roll TLSA before the "
                "certificate), or remove the stale ones.",
                "%zu TLSA record(s) at %s (%d usable: usage 2/3), none matches the presented chain", a.n, name,
                usable);
    dns_ans_free(&a);
}

static void check_cert(SSL *ssl, const struct vseen *v, const char *host, int64_t now, struct chk_list *l,
                       struct smtp_probe *p)
{
    X509 *x = SSL_get1_peer_certificate(ssl);
    int days = 0, secs = 0;
    char subj[200] = "";

    if (x == NULL) {
        chk_add(l, "mx-cert-chain", CHK_FAIL, host, "Configure a certificate on the MX.", "no certificate presented");
        return;
    }
    X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof subj);
    p->chain_ok = !v->untrusted && !v->other;
    if (p->chain_ok)
        chk_add(l, "mx-cert-chain", CHK_OK, host, NULL, "chain of %s verifies", subj);
    else
        chk_add(l, "mx-cert-chain", CHK_FAIL, host,
                "Use a certificate from a CA senders trust and send the full chain (intermediates included).",
                "chain of %s does not verify: %s", subj, v->first[0] ? v->first : "untrusted");

    p->name_ok = X509_check_host(x, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
    if (p->name_ok)
        chk_add(l, "mx-cert-name", CHK_OK, host, NULL, "certificate names %s", host);
    else
        chk_add(l, "mx-cert-name", CHK_FAIL, host,
                "Put the MX host name in the certificate's subjectAltName (a wildcard covers one label).",
                "certificate (%s) does not name %s", subj, host);

    const ASN1_TIME *na = X509_get0_notAfter(x);
    time_t t = (time_t)now;
    ASN1_TIME *nowt = ASN1_TIME_set(NULL, t);
    struct tm tm;
    if (ASN1_TIME_to_tm(na, &tm) == 1)
        strftime(p->not_after, sizeof p->not_after, "%Y-%m-%d", &tm);
    if (nowt != NULL && ASN1_TIME_diff(&days, &secs, nowt, na) == 1) {
        p->days_left = days;
        p->expired = days < 0 || (days == 0 && secs < 0);
        if (p->expired)
            chk_add(l, "mx-cert-expiry", CHK_FAIL, host, "Renew the certificate and reload the MX.",
                    "certificate expired on %s", p->not_after);
        else if (days < CHK_CERT_WARN_DAYS)
            chk_add(l, "mx-cert-expiry", CHK_WARN, host, "Renew the certificate now (automate renewal).",
                    "certificate expires in %d days (%s)", days, p->not_after);
        else
            chk_add(l, "mx-cert-expiry", CHK_OK, host, NULL, "certificate valid until %s (%d days)", p->not_after,
                    days);
    }
    ASN1_TIME_free(nowt);
    X509_free(x);
}

void smtp_probe(struct dns *dns, const char *host, const char *addr, const char *ca_file, long timeout_s,
                int64_t now, struct chk_list *l, struct smtp_probe *p)
{
    struct conn *c = xcalloc(1, sizeof *c);
    SSL_CTX *ctx = NULL;
    struct vseen v = {0};
    char why[200], ehlo[300];
    int to = 0, code;

    memset(p, 0, sizeof *p);
    c->timeout_ms = (int)(timeout_s * 1000);
    c->fd = tcp_connect(addr, c->timeout_ms, why, sizeof why);
    if (c->fd < 0) {
        chk_add(l, "mx-connect", CHK_FAIL, host, "Make the MX reachable on port 25 from the internet.",
                "%s port 25: %s", addr, why);
        goto out;
    }
    p->connected = 1;
    code = read_reply(c, &to);
    if (code != 220) {
        chk_add(l, "mx-banner", CHK_FAIL, host, "Make the MX greet with 220 promptly.",
                to ? "%s: no greeting within %ld s" : "%s: greeting was not 220 (got %ld)", addr,
                to ? timeout_s : (long)code);
        goto out;
    }
    p->greeted = 1;
    snprintf(ehlo, sizeof ehlo, "EHLO check.tlsrpt.invalid\r\n");
    if (send_line(c, ehlo) < 0 || (code = read_reply(c, &to)) != 250) {
        chk_add(l, "mx-ehlo", CHK_FAIL, host, "Make the MX answer EHLO with 250.",
                to ? "no EHLO answer within %ld s" : "EHLO refused or connection closed (%ld)",
                to ? timeout_s : (long)code);
        goto out;
    }
    /* STARTTLS among the EHLO keywords ("250-STARTTLS" or "250 STARTTLS") */
    for (char *s = c->buf; s != NULL && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
        if (strncasecmp(s + 4 > c->buf + c->len ? c->buf + c->len : s + 4, "STARTTLS", 8) == 0 &&
            strchr("\r\n ", s[12]) != NULL)
            p->starttls = 1;
    if (!p->starttls) {
        chk_add(l, "mx-starttls", CHK_FAIL, host,
                "Enable STARTTLS on the MX (Postfix: smtpd_tls_security_level = may, with a certificate).",
                "%s does not offer STARTTLS after EHLO", addr);
        goto out;
    }
    if (send_line(c, "STARTTLS\r\n") < 0 || (code = read_reply(c, &to)) != 220) {
        chk_add(l, "mx-starttls", CHK_FAIL, host, "Make STARTTLS work on the MX.",
                to ? "no answer to STARTTLS within %ld s" : "STARTTLS refused (%ld)", to ? timeout_s : (long)code);
        goto out;
    }
    chk_add(l, "mx-starttls", CHK_OK, host, NULL, "STARTTLS offered and accepted");

    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1
                        : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        chk_add(l, "mx-tls", CHK_FAIL, host, "Check --ca-file.", "cannot load the trust store%s%s",
                ca_file ? " " : "", ca_file ? ca_file : "");
        goto out;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_verify);
    if (vseen_idx < 0)
        vseen_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    c->ssl = SSL_new(ctx);
    SSL_set_ex_data(c->ssl, vseen_idx, &v);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, host);
    for (;;) {
        int r = SSL_connect(c->ssl);
        if (r == 1)
            break;
        int e = SSL_get_error(c->ssl, r);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
            wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) == 0)
            continue;
        unsigned long ose = ERR_peek_last_error();
        chk_add(l, "mx-tls", CHK_FAIL, host, "Offer TLS 1.2 or 1.3 with current ciphers on the MX.",
                "TLS handshake failed: %s", e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE
                                                 ? "timeout" : ose ? ERR_reason_error_string(ose) : "closed");
        ERR_clear_error();
        SSL_free(c->ssl);
        c->ssl = NULL;
        goto out;
    }
    p->tls = 1;
    chk_add(l, "mx-tls", CHK_OK, host, NULL, "%s, %s", SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
    check_cert(c->ssl, &v, host, now, l, p);
    check_tlsa(dns, host, c->ssl, l, p);
    if (send_line(c, "QUIT\r\n") == 0)
        (void)read_reply(c, &to);
out:
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    SSL_CTX_free(ctx);
    if (c->fd >= 0 && p->connected)
        close(c->fd);
    free(c);
}
