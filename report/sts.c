/*
 * sts.c - the policy file over HTTPS with libcurl (sts.h).
 */
#include "sts.h"
#include "tlsrpt/util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
    struct sts_fetch *f;
    size_t cap;
};

/* Keeps at most STS_BODY_MAX bytes; more aborts the transfer (a sender
 * would not accept it either). */
static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n;
    if (s->f->body_len + len > STS_BODY_MAX) {
        s->f->too_big = 1;
        return 0;
    }
    if (s->f->body_len + len + 1 > s->cap) {
        s->cap = s->f->body_len + len + 1 > s->cap * 2 ? s->f->body_len + len + 1 : s->cap * 2;
        s->f->body = xrealloc(s->f->body, s->cap);
    }
    memcpy(s->f->body + s->f->body_len, p, len);
    s->f->body_len += len;
    s->f->body[s->f->body_len] = '\0';
    return len;
}

void sts_fetch(const char *host, const char *addr, const char *ca_file, long timeout_s, struct sts_fetch *f)
{
    char url[512], pin[512], errbuf[CURL_ERROR_SIZE] = "";
    struct sink s = {f, 0};
    struct curl_slist *resolve = NULL;
    CURL *c;
    CURLcode rc;
    const char *ct = NULL, *loc = NULL;

    memset(f, 0, sizeof *f);
    f->body = xstrdup("");
    s.cap = 1;
    c = curl_easy_init();
    if (c == NULL) {
        snprintf(f->error, sizeof f->error, "libcurl: cannot create a handle");
        return;
    }
    snprintf(url, sizeof url, "https://%s/.well-known/mta-sts.txt", host);
    /* CURLOPT_RESOLVE wants "[v6]" brackets for IPv6 addresses. */
    snprintf(pin, sizeof pin, strchr(addr, ':') ? "%s:443:[%s]" : "%s:443:%s", host, addr);
    resolve = curl_slist_append(NULL, pin);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)STS_BODY_MAX);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (ca_file != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    }
    curl_easy_setopt(c, CURLOPT_USERAGENT, "tlsrpt-report-check");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && f->too_big) || rc == CURLE_FILESIZE_EXCEEDED) {
        f->transport_ok = 1;
        f->too_big |= rc == CURLE_FILESIZE_EXCEEDED;
        if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
            snprintf(f->content_type, sizeof f->content_type, "%s", ct);
        if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc != NULL)
            snprintf(f->location, sizeof f->location, "%s", loc);
    } else {
        f->webpki_fail = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE;
        f->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        snprintf(f->error, sizeof f->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    curl_slist_free_all(resolve);
    curl_easy_cleanup(c);
}

void sts_fetch_free(struct sts_fetch *f)
{
    free(f->body);
    f->body = NULL;
}
