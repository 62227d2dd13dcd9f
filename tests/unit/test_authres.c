/*
 * test_authres.c - tr_authres_dkim() against a table of Authentication-Results
 * headers: which verifier is trusted, which domain signed, what passed.
 */
#include "check.h"
#include "tlsrpt/authres.h"

#include <stdio.h>
#include <string.h>

#define MAX_VALUES 3

struct authres_case {
    const char *name;
    const char *values[MAX_VALUES];    /* header values; NULL ends the list */
    const char *trusted;               /* space-separated authserv-ids, "" for none */
    const char *submitter;
    enum tr_dkim want;
};

static const struct authres_case cases[] = {
    { "plain pass", { "mx.example.net; dkim=pass header.d=google.com" },
      "mx.example.net", "google.com", TR_DKIM_PASS },
    { "nothing trusted: not evaluated", { "mx.example.net; dkim=pass header.d=google.com" },
      "", "google.com", TR_DKIM_UNCHECKED },
    { "untrusted authserv-id is ignored", { "evil.example; dkim=pass header.d=google.com" },
      "mx.example.net", "google.com", TR_DKIM_NONE },
    { "no headers at all", { NULL }, "mx.example.net", "google.com", TR_DKIM_NONE },
    { "trusted but no dkim result", { "mx.example.net; spf=pass smtp.mailfrom=google.com" },
      "mx.example.net", "google.com", TR_DKIM_NONE },
    { "no-result form", { "mx.example.net; none" }, "mx.example.net", "google.com", TR_DKIM_NONE },
    { "dkim fail", { "mx.example.net; dkim=fail (bad signature) header.d=google.com" },
      "mx.example.net", "google.com", TR_DKIM_FAIL },
    { "pass for another domain", { "mx.example.net; dkim=pass header.d=evil.example" },
      "mx.example.net", "google.com", TR_DKIM_FAIL },
    { "case-insensitive everything", { "MX.Example.NET; DKIM=Pass Header.D=GOOGLE.com" },
      "mx.example.net", "google.COM", TR_DKIM_PASS },
    { "header.i with @domain", { "mx.example.net; dkim=pass header.i=@microsoft.com" },
      "mx.example.net", "microsoft.com", TR_DKIM_PASS },
    { "header.i with local part", { "mx.example.net; dkim=pass header.i=reports@mail.ru" },
      "mx.example.net", "mail.ru", TR_DKIM_PASS },
    { "signer is a subdomain of the submitter",
      { "mx.example.net; dkim=pass header.d=tlsrpt.google.com" },
      "mx.example.net", "google.com", TR_DKIM_PASS },
    { "submitter is a subdomain of the signer",
      { "mx.example.net; dkim=pass header.d=google.com" },
      "mx.example.net", "smtp.google.com", TR_DKIM_PASS },
    { "suffix without a dot boundary does not match",
      { "mx.example.net; dkim=pass header.d=notgoogle.com" },
      "mx.example.net", "google.com", TR_DKIM_FAIL },
    { "trailing dot", { "mx.example.net; dkim=pass header.d=google.com." },
      "mx.example.net", "google.com", TR_DKIM_PASS },
    { "version after authserv-id", { "mx.example.net 1; dkim=pass header.d=google.com" },
      "mx.example.net", "google.com", TR_DKIM_PASS },
    { "comments everywhere",
      { "mx.example.net (Postfix (nested) \\) here); dkim (one) = (two) pass (good \\( sig) "
        "header.d=(x)google.com header.b=AbC1" },
      "mx.example.net", "google.com", TR_DKIM_PASS },
    { "comment that looks like a pass",
      { "mx.example.net; dkim=fail (dkim=pass header.d=google.com) header.d=google.com" },
      "mx.example.net", "google.com", TR_DKIM_FAIL },
    { "quoted values", { "\"mx.example.net\"; dkim=pass reason=\"a; b\" header.d=\"google.com\"" },
      "mx.example.net", "google.com", TR_DKIM_PASS },
    { "second signature passes",
      { "mx.example.net; dkim=fail header.d=google.com; dkim=pass header.d=google.com; spf=none" },
      "mx.example.net", "google.com", TR_DKIM_PASS },
    { "method version", { "mx.example.net; dkim/1=pass header.d=google.com" },
      "mx.example.net", "google.com", TR_DKIM_PASS },
    { "folded header value",
      { "mx.example.net;\r\n\tdkim=pass (2048-bit key; unprotected)\r\n header.d=google.com" },
      "mx.example.net", "google.com", TR_DKIM_PASS },
    { "second trusted id, second header",
      { "evil.example; dkim=pass header.d=google.com", "relay.example.net; dkim=pass header.d=google.com" },
      "mx.example.net relay.example.net", "google.com", TR_DKIM_PASS },
    { "pass without header.d", { "mx.example.net; dkim=pass" },
      "mx.example.net", "google.com", TR_DKIM_FAIL },
    { "no submitter known", { "mx.example.net; dkim=pass header.d=google.com" },
      "mx.example.net", NULL, TR_DKIM_FAIL },
    { "garbage", { ";;;==(((", "mx.example.net;=;dkim", "mx.example.net; dkim=" },
      "mx.example.net", "google.com", TR_DKIM_FAIL },
    { "unterminated comment and quote", { "mx.example.net; dkim=pass (oops", "mx.example.net; \"dkim" },
      "mx.example.net", "google.com", TR_DKIM_FAIL },
    { "empty value", { "" }, "mx.example.net", "google.com", TR_DKIM_NONE },
};

/* Splits s into at most max words (into buf); returns the count. */
static size_t split_words(const char *s, char *buf, size_t cap, char **words, size_t max)
{
    size_t n = 0;
    snprintf(buf, cap, "%s", s);
    for (char *tok = strtok(buf, " "); tok != NULL && n < max; tok = strtok(NULL, " "))
        words[n++] = tok;
    return n;
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct authres_case *c = &cases[i];
        char *values[MAX_VALUES], *trusted[4], buf[256];
        size_t n_values = 0, n_trusted;
        enum tr_dkim got;

        while (n_values < MAX_VALUES && c->values[n_values] != NULL) {
            values[n_values] = (char *)c->values[n_values];
            n_values++;
        }
        n_trusted = split_words(c->trusted, buf, sizeof buf, trusted, 4);
        got = tr_authres_dkim(values, n_values, trusted, n_trusted, c->submitter);
        if (got != c->want)
            check_fail(__FILE__, __LINE__, "%s: got %d (%s), want %d (%s)", c->name, (int)got,
                       tr_dkim_name(got) ? tr_dkim_name(got) : "unchecked", (int)c->want,
                       tr_dkim_name(c->want) ? tr_dkim_name(c->want) : "unchecked");
        else
            check_passed++;
    }
    CHECK_STR(tr_dkim_name(TR_DKIM_PASS), "pass");
    CHECK_STR(tr_dkim_name(TR_DKIM_FAIL), "fail");
    CHECK_STR(tr_dkim_name(TR_DKIM_NONE), "none");
    CHECK(tr_dkim_name(TR_DKIM_UNCHECKED) == NULL);
    return check_done();
}
