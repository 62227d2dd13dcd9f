/*
 * test_mime.c - finding report parts in mail (mime.h).
 *
 * Runs over every real message in external-samples/ (skipped with a note
 * when absent) and the project's samples/ *.eml files, then over hostile messages
 * built here at run time: 10,000 parts, deep nesting, no closing boundary,
 * no transfer encoding, path and control characters in file names, several
 * reports in one message.  The whole run checks that GMime prints nothing
 * on stderr.
 */
#include "check.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/gunzip.h"
#include "tlsrpt/mime.h"
#include "tlsrpt/util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GZ_B64 "H4sIAAAAAAACA6tWKkotyC8qUbJSKk7MLchJVaoFAK4VqHsTAAAA"   /* gzip of {"report":"sample"} */

static struct tr_limits lim;

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    struct tr_buf b;
    unsigned char chunk[4096];
    size_t k;

    if (f == NULL)
        return NULL;
    tr_buf_init(&b, (size_t)64 << 20);
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        tr_buf_append(&b, chunk, k);
    fclose(f);
    return tr_buf_steal(&b, n);
}

/* Parses a NUL-terminated message; returns the message or NULL (err set). */
static struct tr_message *parse_str(const char *s, struct tr_err *err)
{
    struct tr_message *m = NULL;
    tr_err_clear(err);
    if (tr_message_parse((const unsigned char *)s, strlen(s), &lim, &m, err) < 0)
        return NULL;
    return m;
}

/* A part's data looks like a report: gzip that inflates to JSON, zip, or JSON. */
static int report_data(const struct tr_part *p)
{
    unsigned char *out;
    size_t n;
    struct tr_err err;
    int ok;

    if (tr_is_zip(p->data, p->len)) {
        if (tr_unzip_first(p->data, p->len, lim.inflated_size, &out, &n, &err) < 0)
            return 0;
        ok = n > 0 && out[0] == '{';
        free(out);
        return ok;
    }
    if (!tr_is_gzip(p->data, p->len)) {
        size_t i = 0;
        while (i < p->len && (p->data[i] == ' ' || p->data[i] == '\n' || p->data[i] == '\r'))
            i++;
        return i < p->len && p->data[i] == '{';
    }
    if (tr_gunzip(p->data, p->len, lim.inflated_size, &out, &n, &err) < 0)
        return 0;
    ok = n > 0 && out[0] == '{';
    free(out);
    return ok;
}

struct expect_msg {
    const char *path;
    size_t n_parts;
    const char *domain, *submitter, *message_id, *from, *type0, *file0;
    size_t n_auth;
};

static const struct expect_msg external[] = {
    { "deltachat/tlsrpt.eml", 1, "nine.testrun.org", "google.com", "000000000000cc154d060f720057@google.com",
      "noreply-smtp-tls-reporting@google.com", "application/tlsrpt+gzip",
      "google.com!nine.testrun.org!1705708800!1705795199!001.json.gz", 0 },
    { "isseis-tlsrpt-digest/tlsrpt_failure.eml", 1, "example.com", "google.com",
      "6a049c05.00000000.3554e0.3524tls@google.com", "noreply-smtp-tls-reporting@google.com",
      "application/tlsrpt+gzip", "google.com!example.com!1778544000!1778630399!001.json.gz", 1 },
    { "isseis-tlsrpt-digest/tlsrpt_success_google_1.eml", 1, "example.com", "google.com",
      "6a034af0.00000000.3a4de4.4c68tls@google.com", "noreply-smtp-tls-reporting@google.com",
      "application/tlsrpt+gzip", "google.com!example.com!1778457600!1778543999!001.json.gz", 4 },
    { "isseis-tlsrpt-digest/tlsrpt_success_google_2.eml", 1, "example.com", "google.com",
      "6a049c05.00000000.3554e0.3524tls@google.com", "noreply-smtp-tls-reporting@google.com",
      "application/tlsrpt+gzip", "google.com!example.com!1778544000!1778630399!001.json.gz", 4 },
    { "isseis-tlsrpt-digest/tlsrpt_success_microsoft.eml", 1, "example.com", "microsoft.com",
      "134232617934286362+example.com@example.com", "tlsrpt-noreply@microsoft.com", "application/tlsrpt+gzip",
      "microsoft.com!example.com!1778630400!1778716799!134232617934286362.json.gz", 4 },
    { "kravietz-tlsrpt-rs/empty.eml", 0, NULL, NULL, "66ed5733.9c33.6d95655f@nagual.krvtz.net",
      "root@nagual.krvtz.net", NULL, NULL, 0 },
    { "kravietz-tlsrpt-rs/google1.eml", 1, "krvtz.net", "google.com", "66e813b9.050a0220.395bc2.4615tls@google.com",
      "noreply-smtp-tls-reporting@google.com", "application/tlsrpt+gzip",
      "google.com!krvtz.net!1726358400!1726444799!001.json.gz", 0 },
    { "kravietz-tlsrpt-rs/google2.eml", 1, "krvtz.net", "google.com", "66ec0644.050a0220.86df2.1302tls@google.com",
      "noreply-smtp-tls-reporting@google.com", "application/tlsrpt+gzip",
      "google.com!krvtz.net!1726617600!1726703999!001.json.gz", 0 },
    { "kravietz-tlsrpt-rs/mail.ru.eml", 1, "krvtz.net", "mail.ru", "c96d67df-0440-57f7-6e96-c83824d0fdf2@mail.ru",
      "noreply-smtp-tls-reporting@corp.mail.ru", "application/tlsrpt+gzip",
      "mail.ru!krvtz.net!1674604800!1674691200!001.json.gz", 1 },
    { "kravietz-tlsrpt-rs/microsoft1.eml", 1, "krvtz.net", "microsoft.com", "133708152202987951+krvtz.net@krvtz.net",
      "tlsrpt-noreply@microsoft.com", "application/tlsrpt+gzip",
      "microsoft.com!krvtz.net!1726185600!1726271999!133708152202987951.json.gz", 0 },
    { "mox/example.eml", 1, "test.xmox.nl", "google.com", "000000000000f47cc505e8c8905c@google.com",
      "noreply-smtp-tls-reporting@google.com", "application/tlsrpt+gzip",
      "google.com!test.xmox.nl!1663200000!1663286399!001.json.gz", 1 },
    { "mox/microsoft.eml", 1, "test.xmox.nl", "microsoft.com", "133198585438131172+test.xmox.nl@test.xmox.nl",
      "tlsrpt-noreply@microsoft.com", "application/tlsrpt+gzip",
      "microsoft.com!test.xmox.nl!1673308800!1673395199!133198585438131172.json.gz", 1 },
    { "parsedmarc/google.com_smtp_tls_report.eml", 1, "cardinalhealth.ca", "google.com",
      "66d83c20.050a0220.a0566.1e8dtls@google.com", "noreply-smtp-tls-reporting@google.com",
      "application/tlsrpt+gzip", "google.com!cardinalhealth.ca!1725321600!1725407999!001.json.gz", 0 },
    { "stalwart-mail-auth/rpt01.eml", 1, "example.net", "mail.sender.example.com", NULL,
      "tlsrpt@mail.sender.example.com", "application/tlsrpt+gzip",
      "mail.sender.example!example.com!1013662812!1013749130.json.gz", 0 },
    { "stalwart-mail-auth/rpt02.eml", 1, "example.net", "mail.sender.example.com", NULL,
      "tlsrpt@mail.sender.example.com", "application/tlsrpt",
      "mail.sender.example!example.com!1013662812!1013749130.json", 0 },
};

static const struct expect_msg own[] = {
    { "samples/google-like.eml", 1, "example.net", "sender-g.example", "00000000000077a1b2c3d4e5f6g7@sender-g.example",
      "noreply-smtp-tls-reporting@sender-g.example", "application/tlsrpt+gzip",
      "sender-g.example!example.net!1793577600!1793663999!001.json.gz", 1 },
    { "samples/microsoft-like.eml", 1, "example.net", "sender-m.example",
      "134427712000000001+example.net@example.net", "tlsrpt-noreply@sender-m.example", "application/tlsrpt+gzip",
      "sender-m.example!example.net!1793750400!1793836799!134427712000000001.json.gz", 1 },
    { "samples/mailru-like.eml", 1, "example.org", "sender-r.example",
      "5b0c7e2a-91d4-4f3e-8a6b-2c9d0e1f3a47@sender-r.example", "noreply-smtp-tls-reporting@sender-r.example",
      "application/tlsrpt+gzip", "sender-r.example!example.org!1793923200!1794009600!001.json.gz", 0 },
    { "samples/postfix-like.eml", 1, "example.net", "mx1.example.org", "177273600412.2231.1534201@mx1.example.org",
      "tlsrpt-noreply@mx1.example.org", "application/tlsrpt+gzip",
      "mx1.example.org!example.net!1794182400!1794268799!2026-11-09T00:00:00Z_idx1_example.net.json.gz", 1 },
    { "samples/stalwart-like.eml", 1, "example.net", "mail.example.com", "1794441612.5c1f.9a7e@mail.example.com",
      "noreply-tls@mail.example.com", "application/tlsrpt+gzip",
      "mail.example.com!example.net!1794355200!1794441600.json.gz", 1 },
    { "samples/two-reports.eml", 2, NULL, "relay.example.com", "two-reports-20261115@relay.example.com",
      "tlsrpt@relay.example.com", "application/tlsrpt+gzip",
      "relay.example.com!example.net!1794614400!1794700799!a1.json.gz", 0 },
    { "samples/raw-json.eml", 1, "example.net", "hosting.example.com", "hosting-7f3e-20261116@hosting.example.com",
      "tls@hosting.example.com", "application/tlsrpt+json",
      "hosting.example.com!example.net!1794787200!1794873599!7f3e.json", 0 },
    { "samples/zip-attachment.eml", 1, "example.net", "gateway.example.org", "gw-0f9e8d7c@gateway.example.org",
      "tlsrpt-noreply@gateway.example.org", "application/zip",
      "gateway.example.org!example.net!1795132800!1795219199!0f9e8d7c.json.zip", 0 },
    { "samples/spam.eml", 0, NULL, NULL, "promo-99231@bulk.example.com", "promo@bulk.example.com", NULL, NULL, 1 },
};

static void check_message(const struct expect_msg *e, const char *path)
{
    size_t n;
    unsigned char *data = read_file(path, &n);
    struct tr_message *m = NULL;
    struct tr_err err;

    CHECK(data != NULL);
    if (data == NULL)
        return;
    CHECK(tr_looks_like_message(data, n));
    if (tr_message_parse(data, n, &lim, &m, &err) < 0) {
        check_fail(__FILE__, __LINE__, "%s: %s: %s", path, err.code, err.detail);
        free(data);
        return;
    }
    CHECK_INT(m->n_parts, e->n_parts);
    CHECK_STR(m->report_domain, e->domain);
    CHECK_STR(m->report_submitter, e->submitter);
    CHECK_STR(m->message_id, e->message_id);
    CHECK_STR(m->from, e->from);
    CHECK(m->subject != NULL);
    CHECK_INT(m->n_auth_results, e->n_auth);
    for (size_t i = 0; i < m->n_auth_results; i++)
        CHECK(strpbrk(m->auth_results[i], "\r\n") == NULL && m->auth_results[i][0] != ' ');
    if (m->n_parts > 0) {
        CHECK_STR(m->parts[0].content_type, e->type0);
        CHECK_STR(m->parts[0].filename, e->file0);
    }
    for (size_t i = 0; i < m->n_parts; i++)
        if (!report_data(&m->parts[i]))
            check_fail(__FILE__, __LINE__, "%s: part %zu does not hold a report", path, i);
    tr_message_free(m);
    free(data);
}

static void test_samples(void)
{
    const char *ext = check_external_dir();
    char path[4600];

    if (ext == NULL) {
        printf("skip: the external samples ($TLSRPT_EXTERNAL_SAMPLES) are not present\n");
    } else {
        for (size_t i = 0; i < sizeof external / sizeof external[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", ext, external[i].path);
            check_message(&external[i], path);
        }
    }
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        check_message(&own[i], own[i].path);
}

static void test_looks_like(void)
{
    static const struct { const char *in; size_t len; int want; } cases[] = {
        { "Return-Path: <a@example.net>\r\n", 0, 1 },
        { "Received: from x by y\n", 0, 1 },
        { "From: a@example.net\n", 0, 1 },
        { "From a@example.net Sat Nov  7 00:00:00 2026\n", 0, 1 },
        { "X-Weird-Header:value\n", 0, 1 },
        { "Subject : obsolete spacing\n", 0, 1 },
        { "{\"organization-name\": \"x\"}", 0, 0 },
        { "[1,2]", 0, 0 },
        { "\x1f\x8b\x08\0\0\0\0\0", 8, 0 },
        { "PK\3\4", 0, 0 },
        { "  {\"a\":1}", 0, 0 },
        { "\r\nFrom: x\n", 0, 0 },
        { "no colon on this line\n", 0, 0 },
        { ": empty name\n", 0, 0 },
        { "", 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        int got = tr_looks_like_message((const unsigned char *)cases[i].in, len);
        if (got != cases[i].want)
            check_fail(__FILE__, __LINE__, "looks_like_message case %zu: got %d", i, got);
        else
            check_passed++;
    }
}

/* A multipart/mixed message with n text/plain parts. */
static char *many_parts(size_t n)
{
    struct tr_buf b;
    const char head[] = "From: a@example.net\nContent-Type: multipart/mixed; boundary=b\n\n";
    const char part[] = "--b\nContent-Type: text/plain\n\nx\n";

    tr_buf_init(&b, (size_t)64 << 20);
    tr_buf_append(&b, head, sizeof head - 1);
    for (size_t i = 0; i < n; i++)
        tr_buf_append(&b, part, sizeof part - 1);
    tr_buf_append(&b, "--b--\n", 6);
    return (char *)tr_buf_steal(&b, NULL);
}

static void test_limits(void)
{
    struct tr_err err;
    struct tr_message *m;
    char *s;
    clock_t t0 = clock();
    const struct { size_t parts, limit; const char *code; } cases[] = {
        { 10000, 1000, TR_E_LIMIT_MIME_PARTS },   /* caught by the boundary pre-scan */
        { 1500, 1000, TR_E_LIMIT_MIME_PARTS },    /* caught by the walk */
        { 1000, 1000, TR_E_LIMIT_MIME_PARTS },    /* 1001 objects with the root */
        { 999, 1000, NULL },
        { 4, 5, NULL },
        { 5, 5, TR_E_LIMIT_MIME_PARTS },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lim.mime_parts = cases[i].limit;
        s = many_parts(cases[i].parts);
        m = parse_str(s, &err);
        if (cases[i].code) {
            CHECK(m == NULL);
            CHECK_STR(err.code, cases[i].code);
        } else {
            CHECK(m != NULL);
            CHECK(m == NULL || m->n_parts == 0);
        }
        tr_message_free(m);
        free(s);
    }
    lim.mime_parts = TR_LIMIT_MIME_PARTS_DEFAULT;
    CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 10.0);

    /* 200 nested multiparts: fails on nesting, does not recurse without bound. */
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    const char *top = "From: a@example.net\nContent-Type: multipart/mixed; boundary=b0\n\n";
    tr_buf_append(&b, top, strlen(top));
    for (int d = 1; d < 200; d++) {
        char line[128];
        int k = snprintf(line, sizeof line, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", d - 1, d);
        tr_buf_append(&b, line, (size_t)k);
    }
    const char *leaf = "--b199\nContent-Type: application/tlsrpt+json\n\n{}\n";
    tr_buf_append(&b, leaf, strlen(leaf));
    s = (char *)tr_buf_steal(&b, NULL);
    m = parse_str(s, &err);
    CHECK(m == NULL || m->n_parts <= 1);
    if (m == NULL)
        CHECK_STR(err.code, TR_E_LIMIT_MIME_PARTS);
    tr_message_free(m);
    free(s);

    /* Cheap to write, costly for GMime to build: refused by the pre-scan. */
    const struct { const char *name, *head, *unit, *tail; size_t reps; int ok; } bombs[] = {
        { "1M header fields", "From: a@example.net\n", "X: y\n", "\nbody\n", 1000000, 0 },
        { "5000 header fields", "From: a@example.net\n", "X: y\n", "\nbody\n", 5000, 1 },
        { "one header of 1M words", "From: a@example.net\nX-Junk:", " <a@b>", "\n\nbody\n", 1000000, 0 },
        { "folded header of 1M words", "From: a@example.net\nReceived: x", "\n a", "\n\nbody\n", 1000000, 0 },
        { "1M parameters", "From: a@example.net\nContent-Type: text/plain", ";a=b", "\n\nbody\n", 1000000, 0 },
        { "1M addresses", "From: a@example.net\nTo: a@b", ",a@b", "\n\nbody\n", 1000000, 0 },
        { "message/rfc822 chains", "From: a@example.net\nContent-Type: multipart/mixed; boundary=b\n\n",
          "--b\nContent-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n"
          "Content-Type: text/plain\n\nx\n", "--b--\n", 600, 0 },
    };
    t0 = clock();
    for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++) {
        tr_buf_init(&b, (size_t)64 << 20);
        tr_buf_append(&b, bombs[i].head, strlen(bombs[i].head));
        for (size_t r = 0; r < bombs[i].reps; r++)
            tr_buf_append(&b, bombs[i].unit, strlen(bombs[i].unit));
        tr_buf_append(&b, bombs[i].tail, strlen(bombs[i].tail));
        s = (char *)tr_buf_steal(&b, NULL);
        m = parse_str(s, &err);
        if ((m != NULL) != bombs[i].ok)
            check_fail(__FILE__, __LINE__, "%s: got %s", bombs[i].name, m ? "success" : err.detail);
        else
            check_passed++;
        if (!bombs[i].ok)
            CHECK_STR(err.code, TR_E_LIMIT_MIME_PARTS);
        tr_message_free(m);
        free(s);
    }
    CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 10.0);

    /* Over message-size. */
    lim.message_size = 10;
    m = parse_str("From: a@example.net\n\nbody\n", &err);
    CHECK(m == NULL);
    CHECK_STR(err.code, TR_E_LIMIT_MESSAGE_SIZE);
    lim.message_size = TR_LIMIT_MESSAGE_SIZE_DEFAULT;
}

/* One synthetic message and what must come out of it. */
struct synth {
    const char *name, *msg;
    size_t n_parts;
    const char *types[4];
    const char *files[4];
    const char *data0;         /* exact decoded bytes of part 0, or NULL */
};

static const struct synth synths[] = {
    { "no closing boundary",
      "From: r@example.org\nContent-Type: multipart/report; report-type=tlsrpt; boundary=\"x\"\n\n"
      "--x\nContent-Type: text/plain\n\nreport\n\n--x\nContent-Type: application/tlsrpt+gzip\n"
      "Content-Transfer-Encoding: base64\n\n" GZ_B64 "\n",
      1, { "application/tlsrpt+gzip" }, { NULL }, NULL },
    { "no transfer encoding",
      "From: r@example.org\r\nContent-Type: multipart/report; boundary=x\r\n\r\n"
      "--x\r\nContent-Type: application/tlsrpt+json\r\n\r\n{\"a\": 1}\r\n--x--\r\n",
      1, { "application/tlsrpt+json" }, { NULL }, "{\"a\": 1}" },
    { "quoted-printable json",
      "From: r@example.org\nContent-Type: multipart/mixed; boundary=x\n\n"
      "--x\nContent-Type: application/json\nContent-Transfer-Encoding: quoted-printable\n\n"
      "{\"k\":\"a=3Db\",=\n\"long\":1}\n--x--\n",
      1, { "application/json" }, { NULL }, "{\"k\":\"a=b\",\"long\":1}" },
    { "single-part gzip message",
      "From: r@example.org\nMIME-Version: 1.0\nContent-Type: application/tlsrpt+gzip; name=r.json.gz\n"
      "Content-Transfer-Encoding: base64\n\n" GZ_B64 "\n",
      1, { "application/tlsrpt+gzip" }, { "r.json.gz" }, NULL },
    { "single-part json, no type",
      "From: r@example.org\nSubject: json in the body\n\n{\"a\":1}\n", 0, { NULL }, { NULL }, NULL },
    { "several reports and decoys",
      "From: r@example.org\nContent-Type: multipart/mixed; boundary=x\n\n"
      "--x\nContent-Type: text/html\n\n<p>hi</p>\n"
      "--x\nContent-Type: application/tlsrpt+gzip; name=\"a.json.gz\"\nContent-Transfer-Encoding: base64\n\n" GZ_B64 "\n"
      "--x\nContent-Type: application/octet-stream; name=\"invoice.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
      "--x\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n" GZ_B64 "\n"
      "--x\nContent-Type: text/plain; name=\"notes.txt\"\n\n{\"not\":\"a report by name or type\"}\n"
      "--x\nContent-Type: text/plain\nContent-Disposition: attachment; filename=\"b.json\"\n\n  {\"b\":2}\n"
      "--x\nContent-Type: image/png; name=\"fake.gz\"\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
      "--x\nContent-Type: application/tlsrpt+json\n\n{\"c\":3}\n"
      "--x--\n",
      4, { "application/tlsrpt+gzip", "application/octet-stream", "text/plain", "application/tlsrpt+json" },
      { "a.json.gz", NULL, "b.json", NULL }, NULL },
    { "name only in Content-Description",
      "From: r@example.org\nContent-Type: multipart/report; boundary=x\n\n"
      "--x\nContent-Type: application/octet-stream\nContent-Description:\n microsoft.example!example.net!1!2!3.json.gz\n"
      "Content-Transfer-Encoding: base64\n\n" GZ_B64 "\n--x--\n",
      1, { "application/octet-stream" }, { "microsoft.example!example.net!1!2!3.json.gz" }, NULL },
    { "forwarded report",
      "From: fwd@example.org\nContent-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: text/plain\n\nFYI\n"
      "--o\nContent-Type: message/rfc822\n\nFrom: r@example.org\nContent-Type: multipart/report; boundary=i\n\n"
      "--i\nContent-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\n\n" GZ_B64 "\n--i--\n\n--o--\n",
      1, { "application/tlsrpt+gzip" }, { NULL }, NULL },
    { "Content-Type in upper case",
      "From: r@example.org\nContent-Type: MULTIPART/REPORT; boundary=x\n\n--x\nContent-Type: Application/TLSRPT+GZIP\n"
      "Content-Transfer-Encoding: BASE64\n\n" GZ_B64 "\n--x--\n",
      1, { "application/tlsrpt+gzip" }, { NULL }, NULL },
    { "filename with a path", "From: r@example.org\nContent-Type: application/tlsrpt+json; name=\"../../etc/passwd\"\n\n{}\n",
      1, { "application/tlsrpt+json" }, { "passwd" }, NULL },
    { "filename with backslashes",
      "From: r@example.org\nContent-Type: application/tlsrpt+json\nContent-Disposition: attachment; filename=\"C:\\\\x\\\\..\\\\r.json\"\n\n{}\n",
      1, { "application/tlsrpt+json" }, { "r.json" }, NULL },
    { "filename with control characters",
      "From: r@example.org\nContent-Type: application/tlsrpt+json; name=\"a\x01\x1b[31mb\x7f.json\"\n\n{}\n",
      1, { "application/tlsrpt+json" }, { "a[31mb.json" }, NULL },
    { "filename ..", "From: r@example.org\nContent-Type: application/tlsrpt+json; name=\"..\"\n\n{}\n",
      1, { "application/tlsrpt+json" }, { NULL }, NULL },
    { "filename RFC 2231 with %00 and a path",
      "From: r@example.org\nContent-Type: application/tlsrpt+json\n"
      "Content-Disposition: attachment; filename*=utf-8''..%2F..%2Fetc%2Fpasswd%00.json\n\n{}\n",
      1, { "application/tlsrpt+json" }, { NULL }, NULL },
    { "mbox From_ line first",
      "From r@example.org Mon Nov  2 00:00:00 2026\nFrom: r@example.org\nContent-Type: application/tlsrpt+json\n\n{}\n",
      1, { "application/tlsrpt+json" }, { NULL }, NULL },
};

static void test_synthetic(void)
{
    for (size_t i = 0; i < sizeof synths / sizeof synths[0]; i++) {
        const struct synth *s = &synths[i];
        struct tr_err err;
        struct tr_message *m = parse_str(s->msg, &err);
        if (m == NULL) {
            check_fail(__FILE__, __LINE__, "%s: %s: %s", s->name, err.code, err.detail);
            continue;
        }
        if (m->n_parts != s->n_parts)
            check_fail(__FILE__, __LINE__, "%s: %zu parts, want %zu", s->name, m->n_parts, s->n_parts);
        for (size_t k = 0; k < m->n_parts && k < s->n_parts; k++) {
            const char *f = m->parts[k].filename;
            CHECK_STR(m->parts[k].content_type, s->types[k]);
            if (strcmp(s->name, "filename RFC 2231 with %00 and a path") == 0)
                CHECK(f == NULL || (strchr(f, '/') == NULL && strstr(f, "..") == NULL));
            else
                CHECK_STR(f, s->files[k]);
            CHECK(report_data(&m->parts[k]));
        }
        if (s->data0 && m->n_parts > 0) {
            CHECK_INT(m->parts[0].len, strlen(s->data0));
            CHECK(memcmp(m->parts[0].data, s->data0, m->parts[0].len) == 0);
        }
        tr_message_free(m);
    }
}

/* NUL bytes in a header and in a body survive as far as they should. */
static void test_nul(void)
{
    static const char msg[] = "From: r@example.org\nContent-Type: application/tlsrpt+json; name=\"../../etc/passwd\0.json\"\n"
                              "\n{\"a\":\"\0\"}\n";
    struct tr_message *m = NULL;
    struct tr_err err;

    CHECK_INT(tr_message_parse((const unsigned char *)msg, sizeof msg - 1, &lim, &m, &err), 0);
    if (m == NULL)
        return;
    CHECK_INT(m->n_parts, 1);
    if (m->n_parts == 1) {
        const char *f = m->parts[0].filename;
        CHECK(f == NULL || strchr(f, '/') == NULL);
        CHECK(m->parts[0].len >= 9 && memcmp(m->parts[0].data, "{\"a\":\"\0\"}", 9) == 0);
    }
    tr_message_free(m);
}

static void test_headers(void)
{
    struct tr_err err;
    struct tr_message *m = parse_str(
        "Authentication-Results: mx.example.net;\r\n\tdkim=pass header.d=example.org;\r\n spf=pass\r\n"
        "Received: from x\r\n"
        "authentication-results: second.example.net; dkim=fail\r\n"
        "From: \"Reports, Inc.\" <Reports@Example.ORG>\r\n"
        "Subject: =?UTF-8?B?UmVwb3J0IERvbWFpbjogZXhhbXBsZS5uZXQg4pyT?=\r\n  folded\r\n"
        "Message-ID:   <abc.123@example.org>  \r\n"
        "TLS-Report-Domain:   Example.NET  \r\n"
        "TLS-Report-Submitter: \r\n  Mail.Example.ORG\r\n"
        "\r\nbody\r\n", &err);

    CHECK(m != NULL);
    if (m == NULL)
        return;
    CHECK_STR(m->report_domain, "example.net");
    CHECK_STR(m->report_submitter, "mail.example.org");
    CHECK_STR(m->from, "Reports@Example.ORG");
    CHECK_STR(m->message_id, "abc.123@example.org");
    CHECK_STR(m->subject, "Report Domain: example.net \xe2\x9c\x93 folded");
    CHECK_INT(m->n_auth_results, 2);
    if (m->n_auth_results == 2) {
        CHECK_STR(m->auth_results[0], "mx.example.net; dkim=pass header.d=example.org; spf=pass");
        CHECK_STR(m->auth_results[1], "second.example.net; dkim=fail");
    }
    CHECK_INT(m->n_parts, 0);
    tr_message_free(m);

    /* No headers of interest at all; a group address. */
    m = parse_str("To: x@example.net\nFrom: Reporters: a@example.org, b@example.org;\n\nhi\n", &err);
    CHECK(m != NULL);
    if (m) {
        CHECK_STR(m->from, "a@example.org");
        CHECK(m->message_id == NULL && m->subject == NULL && m->report_domain == NULL);
        CHECK_INT(m->n_auth_results, 0);
    }
    tr_message_free(m);
}

/* Over-long header values and file names are cut on a UTF-8 boundary. */
static void test_long_values(void)
{
    struct tr_buf b;
    struct tr_err err;
    struct tr_message *m;
    char *s;

    tr_buf_init(&b, 1 << 20);
    tr_buf_append(&b, "From: r@example.org\nSubject: ", 29);
    for (int i = 0; i < 40000; i++)
        tr_buf_append(&b, "\xc3\xa9", 2);                 /* é: 80,000 bytes */
    tr_buf_append(&b, "\nContent-Type: application/tlsrpt+json; name=\"", 46);
    for (int i = 0; i < 300; i++)
        tr_buf_append(&b, "\xe2\x9c\x93", 3);             /* ✓: 900 bytes */
    tr_buf_append(&b, ".json\"\n\n{}\n", 11);
    s = (char *)tr_buf_steal(&b, NULL);
    m = parse_str(s, &err);
    CHECK(m != NULL);
    if (m != NULL) {
        size_t n = m->subject ? strlen(m->subject) : 0;
        CHECK(n > 60000 && n <= 65536 && n % 2 == 0);
        CHECK(m->subject && tr_utf8_valid(m->subject, n));
        CHECK_INT(m->n_parts, 1);
        if (m->n_parts == 1 && m->parts[0].filename) {
            const char *f = m->parts[0].filename;
            CHECK_INT(strlen(f), 255);                      /* 85 whole ✓ */
            CHECK(tr_utf8_valid(f, strlen(f)) && strchr(f, '?') == NULL);
        } else {
            CHECK(!"long filename kept");
        }
    }
    tr_message_free(m);
    free(s);
}

/* Anything at all: never crashes; fails only with not-a-report. */
static void test_garbage(void)
{
    static const struct { const char *in; size_t len; } cases[] = {
        { "", 0 }, { "\x1f\x8b\x08\0\0\0\0\0\0\3", 10 }, { "{\"a\":1}", 7 }, { "\n\n\n", 3 },
        { "Content-Type: multipart/mixed\n\n--\n--\n", 0 }, { "Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\n", 0 },
        { "X: y", 0 }, { "From ", 5 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tr_message *m = NULL;
        struct tr_err err;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        int rc = tr_message_parse((const unsigned char *)cases[i].in, len, &lim, &m, &err);
        if (rc == 0)
            CHECK(m != NULL && m->n_parts == 0);
        else
            CHECK_STR(err.code, TR_E_NOT_A_REPORT);
        tr_message_free(m);
    }
}

static void *thread_main(void *arg)
{
    long *bad = arg;
    for (int round = 0; round < 10; round++)
        for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
            size_t n;
            unsigned char *d = read_file(own[i].path, &n);
            struct tr_message *m = NULL;
            struct tr_err err;
            if (d == NULL || tr_message_parse(d, n, &lim, &m, &err) < 0 || m->n_parts != own[i].n_parts)
                (*bad)++;
            tr_message_free(m);
            free(d);
        }
    return NULL;
}

static void test_threads(void)
{
    pthread_t t[4];
    long bad[4] = { 0 };

    for (int i = 0; i < 4; i++)
        CHECK_INT(pthread_create(&t[i], NULL, thread_main, &bad[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(bad[i], 0);
    }
}

int main(void)
{
    char errpath[] = "/tmp/test_mime_stderr.XXXXXX";
    int saved = dup(STDERR_FILENO), efd = mkstemp(errpath);
    struct stat st;

    tr_limits_default(&lim);
    tr_mime_init();
    tr_mime_init();
    /* Everything GMime might print goes to a file that must stay empty. */
    fflush(stderr);
    dup2(efd, STDERR_FILENO);
    test_samples();
    test_looks_like();
    test_limits();
    test_synthetic();
    test_nul();
    test_headers();
    test_long_values();
    test_garbage();
    test_threads();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    /* Our own CHECK failures also went there: show them, then judge. */
    fstat(efd, &st);
    if (st.st_size > 0) {
        char buf[4096];
        ssize_t k;
        lseek(efd, 0, SEEK_SET);
        while ((k = read(efd, buf, sizeof buf)) > 0)
            fwrite(buf, 1, (size_t)k, stderr);
    }
    CHECK_INT(st.st_size, 0);   /* fails on check failures too: they printed */
    close(efd);
    unlink(errpath);
    return check_done();
}
