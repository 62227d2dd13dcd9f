/*
 * test_imapparse.c - the parsing of IMAP answers (ingest/imapparse.c):
 * lines cut at LF whatever the chunks, a line over IMAP_LINE_MAX dropped
 * alone (the lines after it still read), STATUS values, the listing's
 * window, max and \Seen, the tagged answer kept (a NO over the OK after).
 */
#include "check.h"
#include "imapparse.h"

#include <stdlib.h>
#include <string.h>

static void feed_all(struct imap_lines *l, const char *text, size_t chunk)
{
    size_t n = strlen(text);
    for (size_t off = 0; off < n; off += chunk)
        (void)imap_lines_feed(l, text + off, n - off < chunk ? n - off : chunk);
}

static void test_status(void)
{
    for (size_t chunk = 1; chunk <= 100; chunk += 33) {
        struct imap_lines *l = calloc(1, sizeof *l);
        struct imap_status_answer st = { 0, 0, 0 };
        l->line = imap_status_line;
        l->ctx = &st;
        feed_all(l, "* OK [ALERT] hello\r\n* STATUS \"a (b\" (UIDNEXT 42 UIDVALIDITY 1700000000)\r\n"
                    "A3 OK done\r\n", chunk);
        CHECK(st.seen);
        CHECK_INT(st.uidvalidity, 1700000000);
        CHECK_INT(st.uidnext, 42);
        free(l);
    }
    {
        /* A line over the cap is dropped alone: the STATUS line after it
         * is still read (it was not before), and too_long tells. */
        size_t n = IMAP_LINE_MAX + 100;
        char *text = malloc(n + 64);
        struct imap_lines *l = calloc(1, sizeof *l);
        struct imap_status_answer st = { 0, 0, 0 };
        memcpy(text, "* STATUS x (UIDVALIDITY 1 ", 26);
        memset(text + 26, '9', n - 26);
        strcpy(text + n, ")\r\n* STATUS y (UIDVALIDITY 5 UIDNEXT 6)\r\n");
        l->line = imap_status_line;
        l->ctx = &st;
        feed_all(l, text, 4096);
        CHECK(l->too_long);
        CHECK_INT(st.uidvalidity, 5);
        CHECK_INT(st.uidnext, 6);
        free(l);
        free(text);
    }
}

/* A line with a NUL byte is dropped whole: the parsers never see its
 * first half as a line ("...UIDVALIDITY 9\r" here, fuzz_imap found it). */
static void test_nul(void)
{
    static const char text[] = "* STATUS y (UIDVALIDITY 4 UIDNEXT 5)\r\n* STATUS x (UIDVALIDITY 9\r\0UIDNEXT 3)\r\n";
    struct imap_lines *l = calloc(1, sizeof *l);
    struct imap_status_answer st = { 0, 0, 0 };
    l->line = imap_status_line;
    l->ctx = &st;
    CHECK_INT(imap_lines_feed(l, text, sizeof text - 1), sizeof text - 1);
    CHECK_INT(st.uidvalidity, 4);
    CHECK_INT(st.uidnext, 5);
    CHECK(!l->too_long);
    free(l);
}

static void test_listing(void)
{
    struct imap_lines *l = calloc(1, sizeof *l);
    struct imap_listing ls = { NULL, 0, 0, 2, 5, 40, 0, 0 };
    l->line = imap_listing_line;
    l->ctx = &ls;
    feed_all(l, "* 1 FETCH (UID 4 RFC822.SIZE 10 FLAGS (\\Seen))\r\n"        /* below the window */
                "* 2 FETCH (UID 5 RFC822.SIZE 18446744073709551615 FLAGS (\\Seen))\r\n"
                "* 3 FETCH (FLAGS (\\Deleted) UID 7)\r\n"                      /* a flags update */
                "* 4 FETCH (UID 9 RFC822.SIZE 7 FLAGS (\\Seenx \\Recent))\r\n"
                "* 5 FETCH (UID 40 RFC822.SIZE 1 FLAGS ())\r\n"              /* over max */
                "* 6 FETCH (UID 41 RFC822.SIZE 1 FLAGS ())\r\n", 7);
    CHECK_INT(ls.n, 2);
    CHECK_INT(ls.hits, 3);
    CHECK(ls.truncated);
    CHECK_INT(ls.v[0].uid, 5);
    CHECK(ls.v[0].size == UINT64_MAX);
    CHECK_INT(ls.v[0].seen, 1);
    CHECK_INT(ls.v[1].uid, 9);
    CHECK_INT(ls.v[1].size, 7);
    CHECK_INT(ls.v[1].seen, 0);
    free(ls.v);

    /* The line cap: the feed stops at the line past it. */
    memset(l, 0, sizeof *l);
    l->line = imap_listing_line;
    l->ctx = &ls;
    l->max_lines = 2;
    CHECK_INT(imap_lines_feed(l, "a\nb\n", 4), 4);
    CHECK_INT(imap_lines_feed(l, "c\n", 2), 0);
    CHECK(l->over_cap);
    free(l);
}

static void test_tagged(void)
{
    char kept[IMAP_SERVER_TEXT_MAX] = "";
    const char *no = "A1 NO [AUTHENTICATIONFAILED] bad \x01 OK\r\n";
    imap_keep_tagged(kept, sizeof kept, "* OK hi\r\n", 9);
    CHECK_STR(kept, "");
    imap_keep_tagged(kept, sizeof kept, "A0 OK fine\r\n", 12);
    CHECK_STR(kept, "A0 OK fine");
    imap_keep_tagged(kept, sizeof kept, no, strlen(no));
    CHECK_STR(kept, "A1 NO [AUTHENTICATIONFAILED] bad ? OK");
    /* The LOGOUT's OK does not replace a NO, even one whose text says OK. */
    imap_keep_tagged(kept, sizeof kept, "A2 OK Logout completed.\r\n", 25);
    CHECK_STR(kept, "A1 NO [AUTHENTICATIONFAILED] bad ? OK");
}

int main(void)
{
    test_status();
    test_nul();
    test_listing();
    test_tagged();
    return check_done();
}
