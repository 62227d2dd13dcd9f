/*
 * test_source.c - walking PATHs into inputs (source.h).
 *
 * Builds its trees in a fresh temporary directory: single files, mboxes
 * (LF and CRLF, escaped and unescaped From lines), a Maildir, nested
 * directories with dotfiles, symlinks (one a loop) and a FIFO, oversize
 * files under a small message-size, and standard input.
 */
#include "check.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/limits.h"
#include "tlsrpt/source.h"
#include "tlsrpt/util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SEEN 64

/* What the callback saw, copied (the tr_input is borrowed). */
struct seen {
    char *source, *filename, *data;
    size_t len, full_len;
    int truncated;
};

struct collect {
    struct seen s[MAX_SEEN];
    size_t n;
    size_t errors;
    size_t skipped;           /* TR_E_SKIPPED reports, not in errors */
    int stop_after;            /* return 7 after this many inputs; 0: never */
    char last_error[2048];
    char last_skipped[2048];
};

static int on_input(void *ctx, const struct tr_input *in)
{
    struct collect *c = ctx;

    if (c->n < MAX_SEEN) {
        struct seen *s = &c->s[c->n];
        s->source = xstrdup(in->source);
        s->filename = in->filename ? xstrdup(in->filename) : NULL;
        s->data = xstrndup((const char *)in->data, in->len);
        s->len = in->len;
        s->full_len = in->full_len;
        s->truncated = in->truncated;
    }
    c->n++;
    return c->stop_after && c->n >= (size_t)c->stop_after ? 7 : 0;
}

static void on_error(void *ctx, const char *path, const struct tr_err *err)
{
    struct collect *c = ctx;
    char *last = c->last_error;
    size_t cap = sizeof c->last_error;

    if (tr_err_is(err, TR_E_SKIPPED)) {
        c->skipped++;
        last = c->last_skipped;
        cap = sizeof c->last_skipped;
    } else {
        c->errors++;
    }
    snprintf(last, cap, "%s: %s: %s", path, err->code, err->detail);
}

static void collect_free(struct collect *c)
{
    for (size_t i = 0; i < c->n && i < MAX_SEEN; i++) {
        free(c->s[i].source);
        free(c->s[i].filename);
        free(c->s[i].data);
    }
    memset(c, 0, sizeof *c);
}

static char root[] = "/tmp/test_source.XXXXXX";
static struct tr_limits lim;

static char *at(const char *rel)
{
    return xasprintf("%s/%s", root, rel);
}

static void put(const char *rel, const char *content)
{
    char *p = at(rel);
    FILE *f = fopen(p, "wb");
    if (f == NULL) {
        check_fail(__FILE__, __LINE__, "cannot create %s", p);
    } else {
        fputs(content, f);
        fclose(f);
    }
    free(p);
}

static void mkdirs(const char *rel)
{
    char *p = at(rel);
    if (mkdir(p, 0755) != 0)
        check_fail(__FILE__, __LINE__, "cannot mkdir %s", p);
    free(p);
}

/* Walks rel (under root) and returns the walk's result. */
static int walk(const char *rel, struct collect *c, struct tr_err *err)
{
    char *p = rel[0] == '-' && rel[1] == '\0' ? xstrdup("-") : at(rel);
    int rc;
    tr_err_clear(err);
    rc = tr_source_walk(p, &lim, on_input, on_error, c, err);
    free(p);
    return rc;
}

/* Checks input i: source relative to root ("" prefix when absolute is off). */
static void expect_input(const struct collect *c, size_t i, const char *rel_source, const char *filename,
                         const char *data)
{
    char *src;

    if (i >= c->n) {
        check_fail(__FILE__, __LINE__, "input %zu missing (%zu seen)", i, c->n);
        return;
    }
    src = strcmp(rel_source, "stdin") == 0 || strncmp(rel_source, "stdin:", 6) == 0 ? xstrdup(rel_source)
                                                                                     : at(rel_source);
    CHECK_STR(c->s[i].source, src);
    CHECK_STR(c->s[i].filename, filename);
    if (data) {
        CHECK_STR(c->s[i].data, data);
        CHECK_INT(c->s[i].len, strlen(data));
        CHECK_INT(c->s[i].full_len, strlen(data));
        CHECK_INT(c->s[i].truncated, 0);
    }
    free(src);
}

static void test_file(void)
{
    struct collect c = { 0 };
    struct tr_err err;

    put("report.json", "{\"report-id\":\"x\"}\n");
    CHECK_INT(walk("report.json", &c, &err), 0);
    CHECK_INT(c.n, 1);
    expect_input(&c, 0, "report.json", "report.json", "{\"report-id\":\"x\"}\n");
    collect_free(&c);

    put("empty.eml", "");
    CHECK_INT(walk("empty.eml", &c, &err), 0);
    CHECK_INT(c.n, 1);
    expect_input(&c, 0, "empty.eml", "empty.eml", "");
    collect_free(&c);

    CHECK_INT(walk("does-not-exist", &c, &err), -1);
    CHECK_STR(err.code, TR_E_IO);
    CHECK_INT(c.n, 0);
    collect_free(&c);
}

static void test_mbox(void)
{
    struct collect c = { 0 };
    struct tr_err err;

    put("lf.mbox",
        "From a@example.org Mon Nov  2 00:00:00 2026\nFrom: a@example.org\n\none\n>From the escaped line\n\n"
        "From b@example.org Mon Nov  2 00:00:01 2026\nFrom: b@example.org\n\ntwo\nFrom here, not a separator\n\n"
        "From c@example.org Mon Nov  2 00:00:02 2026\nFrom: c@example.org\n\nthree\n");
    CHECK_INT(walk("lf.mbox", &c, &err), 0);
    CHECK_INT(c.n, 3);
    expect_input(&c, 0, "lf.mbox:1", NULL, "From: a@example.org\n\none\n>From the escaped line\n");
    expect_input(&c, 1, "lf.mbox:2", NULL, "From: b@example.org\n\ntwo\nFrom here, not a separator\n");
    expect_input(&c, 2, "lf.mbox:3", NULL, "From: c@example.org\n\nthree\n");
    collect_free(&c);

    put("crlf.mbox", "From a Mon Nov  2 00:00:00 2026\r\nX: 1\r\n\r\nbody\r\n\r\nFrom b Mon Nov  2 00:00:00 2026\r\nX: 2\r\n");
    CHECK_INT(walk("crlf.mbox", &c, &err), 0);
    CHECK_INT(c.n, 2);
    expect_input(&c, 0, "crlf.mbox:1", NULL, "X: 1\r\n\r\nbody\r\n");
    expect_input(&c, 1, "crlf.mbox:2", NULL, "X: 2\r\n");
    collect_free(&c);

    /* An mbox bigger than message-size (read through mmap), one message too big. */
    lim.message_size = 64;
    put("big.mbox", "From a\nX: small\n\nshort\n\nFrom b\nX: big\n\n"
                    "0123456789012345678901234567890123456789012345678901234567890123456789\n\nFrom c\nX: last\n");
    CHECK_INT(walk("big.mbox", &c, &err), 0);
    CHECK_INT(c.n, 3);
    expect_input(&c, 0, "big.mbox:1", NULL, "X: small\n\nshort\n");
    expect_input(&c, 1, "big.mbox:2", NULL, NULL);
    CHECK_INT(c.s[1].truncated, 1);
    CHECK_INT(c.s[1].len, 64);
    CHECK_INT(c.s[1].full_len, 79);
    CHECK(strncmp(c.s[1].data, "X: big\n\n0123", 12) == 0);
    expect_input(&c, 2, "big.mbox:3", NULL, "X: last\n");
    lim.message_size = TR_LIMIT_MESSAGE_SIZE_DEFAULT;
    collect_free(&c);
}

static void test_oversize(void)
{
    struct collect c = { 0 };
    struct tr_err err;
    char big[1001];

    memset(big, 'j', 1000);
    big[1000] = '\0';
    put("big.json", big);
    lim.message_size = 100;
    CHECK_INT(walk("big.json", &c, &err), 0);
    CHECK_INT(c.n, 1);
    expect_input(&c, 0, "big.json", "big.json", NULL);
    CHECK_INT(c.s[0].truncated, 1);
    CHECK_INT(c.s[0].len, 100);
    CHECK_INT(c.s[0].full_len, 1000);
    collect_free(&c);
    /* Exactly at the limit is not truncated. */
    big[100] = '\0';
    put("edge.json", big);
    CHECK_INT(walk("edge.json", &c, &err), 0);
    expect_input(&c, 0, "edge.json", "edge.json", big);
    lim.message_size = TR_LIMIT_MESSAGE_SIZE_DEFAULT;
    collect_free(&c);
}

static void test_maildir(void)
{
    struct collect c = { 0 };
    struct tr_err err;

    mkdirs("Maildir");
    mkdirs("Maildir/cur");
    mkdirs("Maildir/new");
    mkdirs("Maildir/tmp");
    mkdirs("Maildir/.Archive");
    put("Maildir/new/1700000002.M2.host", "X: new2\n");
    put("Maildir/new/1700000001.M1.host", "X: new1\n");
    put("Maildir/cur/1600000000.M0.host:2,S", "X: cur\n");
    put("Maildir/tmp/1700000003.M3.host", "X: in progress\n");
    put("Maildir/.Archive/ignored", "X: sub-folder\n");
    put("Maildir/dovecot-uidlist", "not mail\n");
    CHECK_INT(walk("Maildir", &c, &err), 0);
    CHECK_INT(c.n, 3);
    expect_input(&c, 0, "Maildir/cur/1600000000.M0.host:2,S", "1600000000.M0.host:2,S", "X: cur\n");
    expect_input(&c, 1, "Maildir/new/1700000001.M1.host", "1700000001.M1.host", "X: new1\n");
    expect_input(&c, 2, "Maildir/new/1700000002.M2.host", "1700000002.M2.host", "X: new2\n");
    CHECK_INT(c.errors, 0);
    collect_free(&c);
}

/* Walks tree/ expecting 5 inputs and one error naming unreadable.json.
 * Returns 0 when so (an exit status for the forked case). */
static int unreadable_case(void)
{
    struct collect c = { 0 };
    struct tr_err err;
    int ok = walk("tree", &c, &err) == 0 && c.n == 5 && c.errors == 1 &&
             strstr(c.last_error, "unreadable.json") != NULL && strstr(c.last_error, TR_E_IO) != NULL;
    if (!ok)
        fprintf(stderr, "unreadable case: %zu inputs, %zu errors, last: %s\n", c.n, c.errors, c.last_error);
    collect_free(&c);
    return ok ? 0 : 1;
}

static void test_tree(void)
{
    struct collect c = { 0 };
    struct tr_err err;
    char *p, *q;

    mkdirs("tree");
    mkdirs("tree/b");
    mkdirs("tree/b/deeper");
    mkdirs("tree/.hidden");
    put("tree/c.json.gz", "c");
    put("tree/a.eml", "a");
    put("tree/b/z.json", "z");
    put("tree/b/deeper/m.mbox", "From x\nX: 1\n\nFrom y\nX: 2\n");
    put("tree/.dotfile", "hidden");
    put("tree/.hidden/h.json", "hidden");
    put("outside.json", "outside");
    p = at("tree/link-to-file");
    q = at("outside.json");
    CHECK_INT(symlink(q, p), 0);
    free(p);
    free(q);
    p = at("tree/b/loop");
    q = at("tree");
    CHECK_INT(symlink(q, p), 0);
    free(p);
    free(q);
    p = at("tree/fifo");
    CHECK_INT(mkfifo(p, 0600), 0);
    free(p);

    CHECK_INT(walk("tree", &c, &err), 0);
    CHECK_INT(c.n, 5);
    expect_input(&c, 0, "tree/a.eml", "a.eml", "a");
    expect_input(&c, 1, "tree/b/deeper/m.mbox:1", NULL, "X: 1\n");
    expect_input(&c, 2, "tree/b/deeper/m.mbox:2", NULL, "X: 2\n");
    expect_input(&c, 3, "tree/b/z.json", "z.json", "z");
    expect_input(&c, 4, "tree/c.json.gz", "c.json.gz", "c");
    CHECK_INT(c.errors, 0);
    /* b/loop, fifo and link-to-file: each named, none read. */
    CHECK_INT(c.skipped, 3);
    CHECK(strstr(c.last_skipped, "/tree/link-to-file: skipped: symbolic link, not followed below a PATH") != NULL);
    collect_free(&c);

    /* A trailing slash does not double up; a symlink named on the command line is followed. */
    CHECK_INT(walk("tree/b/", &c, &err), 0);
    CHECK_INT(c.n, 3);
    expect_input(&c, 2, "tree/b/z.json", "z.json", "z");
    collect_free(&c);
    CHECK_INT(walk("tree/b/loop", &c, &err), 0);
    CHECK_INT(c.n, 5);
    expect_input(&c, 0, "tree/b/loop/a.eml", "a.eml", "a");
    collect_free(&c);

    /* The callback stops the walk. */
    c.stop_after = 2;
    CHECK_INT(walk("tree", &c, &err), 7);
    CHECK_INT(c.n, 2);
    collect_free(&c);

    /* An unreadable entry is reported through on_error and skipped.  As
     * root, the walk runs in a child process that drops to nobody. */
    put("tree/b/unreadable.json", "u");
    p = at("tree/b/unreadable.json");
    chmod(p, 0);
    chmod(root, 0755);
    if (geteuid() != 0) {
        CHECK_INT(unreadable_case(), 0);
    } else {
        pid_t pid = fork();
        int status = -1;
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(3);
            _exit(unreadable_case());
        }
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK_INT(WEXITSTATUS(status), 0);
    }
    unlink(p);
    free(p);
}

/* Runs the walk on "-" with fd 0 reading content. */
static int walk_stdin(const char *content, size_t len, struct collect *c, struct tr_err *err)
{
    char *p = at("stdin.in");
    int fd, saved, rc;
    FILE *f = fopen(p, "wb");

    fwrite(content, 1, len, f);
    fclose(f);
    fd = open(p, O_RDONLY);
    saved = dup(STDIN_FILENO);
    dup2(fd, STDIN_FILENO);
    close(fd);
    rc = walk("-", c, err);
    dup2(saved, STDIN_FILENO);
    close(saved);
    unlink(p);
    free(p);
    return rc;
}

static void test_stdin(void)
{
    struct collect c = { 0 };
    struct tr_err err;
    char big[300];

    CHECK_INT(walk_stdin("X: 1\n\nbody\n", 11, &c, &err), 0);
    CHECK_INT(c.n, 1);
    expect_input(&c, 0, "stdin", NULL, "X: 1\n\nbody\n");
    collect_free(&c);

    CHECK_INT(walk_stdin("From a\nX: 1\n\nFrom b\nX: 2\n", 25, &c, &err), 0);
    CHECK_INT(c.n, 2);
    expect_input(&c, 0, "stdin:1", NULL, "X: 1\n");
    expect_input(&c, 1, "stdin:2", NULL, "X: 2\n");
    collect_free(&c);

    memset(big, 'x', sizeof big);
    lim.message_size = 100;
    CHECK_INT(walk_stdin(big, sizeof big, &c, &err), 0);
    CHECK_INT(c.n, 1);
    expect_input(&c, 0, "stdin", NULL, NULL);
    CHECK_INT(c.s[0].truncated, 1);
    CHECK_INT(c.s[0].len, 100);
    CHECK_INT(c.s[0].full_len, 300);
    lim.message_size = TR_LIMIT_MESSAGE_SIZE_DEFAULT;
    collect_free(&c);
}

static int rm_tree(const char *path)
{
    char *cmd = xasprintf("rm -rf '%s'", path);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

int main(void)
{
    tr_limits_default(&lim);
    if (mkdtemp(root) == NULL) {
        check_fail(__FILE__, __LINE__, "mkdtemp failed");
        return check_done();
    }
    test_file();
    test_mbox();
    test_oversize();
    test_maildir();
    test_tree();
    test_stdin();
    rm_tree(root);
    return check_done();
}
