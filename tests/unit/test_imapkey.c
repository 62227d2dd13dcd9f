/*
 * test_imapkey.c - the imap_state key of a --imap URL (ingest/imap.c,
 * imap_open; nothing is sent): USER@HOST:PORT/MAILBOX with the port always
 * written, the scheme's IANA default (imaps 993, imap 143) when the URL
 * has none, so the same mailbox written two ways is one key and two
 * servers on one host (other ports) are two.
 */
#include "check.h"
#include "imap.h"

#include <stdlib.h>
#include <string.h>

/* The key of url, or "" when imap_open refuses it; caller frees. */
static char *key_of(const char *url)
{
    struct imap_conf conf = { url, NULL, NULL };
    struct imap_conn *ic = NULL;
    struct tr_err err;
    char *key;

    if (imap_open(&conf, &ic, &err) < 0)
        return xstrdup("");
    key = xstrdup(imap_key(ic));
    imap_close(ic);
    return key;
}

static void check_key(const char *url, const char *want)
{
    char *got = key_of(url);
    CHECK_STR(got, want);
    free(got);
}

static void test_default_ports(void)
{
    check_key("imaps://rua@imap.example.net/INBOX", "rua@imap.example.net:993/INBOX");
    check_key("imaps://rua@imap.example.net:993/INBOX", "rua@imap.example.net:993/INBOX");
    check_key("imaps://rua@IMAP.Example.NET/INBOX", "rua@imap.example.net:993/INBOX");
    check_key("imaps://rua@imap.example.net", "rua@imap.example.net:993/INBOX");
    check_key("imap://rua@imap.example.net/INBOX", "rua@imap.example.net:143/INBOX");
    check_key("imap://rua@imap.example.net:143/INBOX", "rua@imap.example.net:143/INBOX");
}

static void test_other_ports(void)
{
    /* Two servers on one host: two keys. */
    check_key("imaps://rua@127.0.20.1:10993/INBOX", "rua@127.0.20.1:10993/INBOX");
    check_key("imaps://rua@127.0.20.1:20993/INBOX", "rua@127.0.20.1:20993/INBOX");
    check_key("imap://rua@127.0.20.1:993/INBOX", "rua@127.0.20.1:993/INBOX");
    /* A user name with '@' and a mailbox with '/' are kept whole. */
    check_key("imaps://tlsrpt%40example.com@imap.example.net:1993/Reports/TLS",
              "tlsrpt@example.com@imap.example.net:1993/Reports/TLS");
    check_key("imaps://rua@[::1]:10993/INBOX", "rua@[::1]:10993/INBOX");
}

int main(void)
{
    test_default_ports();
    test_other_ports();
    return check_done();
}
