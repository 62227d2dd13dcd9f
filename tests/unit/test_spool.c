/*
 * test_spool.c - the spool (spool.h): layout and modes, the entry format,
 * claim / release / done / fail, takeover of abandoned entries, truncation,
 * failure to write leaving nothing behind, the sweep of a dead writer's
 * tmp/ files, and several processes draining one spool at once (claiming
 * one by one and from scans) without taking any entry twice.
 */
#include "check.h"
#include "tlsrpt/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATH_CAP 4096
#define ROOT_CAP 1024
#define DRAINERS 4
#define RACE_ENTRIES 200

static char root[ROOT_CAP];

static void path_of(char *buf, const char *sub, const char *name)
{
    if (name)
        snprintf(buf, PATH_CAP, "%s/%s/%s", root, sub, name);
    else
        snprintf(buf, PATH_CAP, "%s/%s", root, sub);
}

static long count_in(const char *sub)
{
    char p[PATH_CAP];
    DIR *d;
    struct dirent *de;
    long n = 0;

    path_of(p, sub, NULL);
    if ((d = opendir(p)) == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static char *slurp(const char *sub, const char *name, size_t *len)
{
    char p[PATH_CAP];
    unsigned char *data = NULL;
    struct tr_err err;
    int fd;

    path_of(p, sub, name);
    fd = open(p, O_RDONLY);
    if (fd < 0)
        return NULL;
    if (tr_read_fd(fd, 1 << 20, &data, len, &err) < 0)
        data = NULL;
    close(fd);
    return (char *)data;
}

static int write_one(const char *sender, const char *qid, const char *msg, char *name)
{
    const char *rcpts[] = { "tlsrpt@example.net", "other@example.net" };
    struct tr_envelope env = { sender, rcpts, 2, "192.0.2.1", qid, 1700000000, NULL, NULL };
    struct tr_err err;
    int rc = tr_spool_write(root, &env, (const unsigned char *)msg, strlen(msg), name,
                            TR_SPOOL_NAME_MAX, &err);
    if (rc < 0)
        fprintf(stderr, "tr_spool_write: %s\n", err.detail);
    return rc;
}

static void test_layout(void)
{
    static const char *const subs[] = { "tmp", "new", "cur", "failed" };
    struct tr_err err;
    struct stat st;
    char p[PATH_CAP];

    CHECK_INT(tr_spool_init(root, &err), 0);
    CHECK_INT(tr_spool_init(root, &err), 0);          /* idempotent */
    for (size_t i = 0; i < 4; i++) {
        path_of(p, subs[i], NULL);
        CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    }
    CHECK_INT(tr_spool_pending(root), 0);
}

/* Envelope values as written: a table of (given, stored) pairs. */
static void test_format(void)
{
    static const struct { const char *sender, *qid, *want_sender, *name_suffix; } rows[] = {
        { "<reports@google.com>", "4ABC12", "<reports@google.com>", ".4ABC12" },
        { "a\r\nX-Injected: 1", "Q-1/../x", "a??X-Injected: 1", ".Q1x" },
        { "", NULL, "", NULL },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char name[TR_SPOOL_NAME_MAX], want[1024];
        const char *msg = "Subject: t\r\n\r\nbody\r\n";
        size_t len;
        char *data;

        CHECK_INT(write_one(rows[i].sender, rows[i].qid, msg, name), 0);
        CHECK(strchr(name, '/') == NULL && name[0] != '.');
        if (rows[i].name_suffix)
            CHECK(strlen(name) > strlen(rows[i].name_suffix)
                  && strcmp(name + strlen(name) - strlen(rows[i].name_suffix), rows[i].name_suffix) == 0);
        data = slurp("new", name, &len);
        CHECK(data != NULL);
        if (data == NULL)
            continue;
        snprintf(want, sizeof want,
                 "TLSRPT-SPOOL 1\nSender: %s\nRecipient: tlsrpt@example.net\n"
                 "Recipient: other@example.net\nClient: 192.0.2.1\n%s%s%s"
                 "Time: 1700000000\nSize: %zu\n\n%s",
                 rows[i].want_sender, rows[i].qid ? "Queue-ID: " : "",
                 rows[i].qid ? rows[i].qid : "", rows[i].qid ? "\n" : "", strlen(msg), msg);
        CHECK_STR(data, want);
        free(data);
    }
    CHECK_INT(count_in("tmp"), 0);
    CHECK_INT(count_in("new"), 3);
}

/* Claims everything in the spool and removes it. */
static long claim_all_done(void)
{
    struct tr_spool_entry *e;
    struct tr_err err;
    long n = 0;
    while (tr_spool_claim(root, 1 << 20, &e, &err) == 1) {
        tr_spool_done(root, e, &err);
        n++;
    }
    return n;
}

static void test_claim_cycle(void)
{
    struct tr_spool_entry *e, *e2;
    struct tr_err err;
    char name[TR_SPOOL_NAME_MAX];
    const char *msg = "From: a@b\r\n\r\nhello\r\n";

    CHECK_INT(claim_all_done(), 3);
    CHECK_INT(write_one("<s@example.org>", "QID1", msg, name), 0);
    CHECK_INT(tr_spool_pending(root), 1);

    CHECK_INT(tr_spool_claim(root, 1 << 20, &e, &err), 1);
    CHECK_STR(e->name, name);
    CHECK_STR(e->sender, "<s@example.org>");
    CHECK_STR(e->queue_id, "QID1");
    CHECK_STR(e->client_addr, "192.0.2.1");
    CHECK_INT(e->time, 1700000000);
    CHECK_INT(e->msg_len, strlen(msg));
    CHECK_INT(e->msg_full_len, strlen(msg));
    CHECK(memcmp(e->msg, msg, strlen(msg)) == 0);
    CHECK_INT(count_in("new"), 0);
    CHECK_INT(count_in("cur"), 1);

    /* Held: a second drainer finds nothing, not even in cur/. */
    CHECK_INT(tr_spool_claim(root, 1 << 20, &e2, &err), 0);

    CHECK_INT(tr_spool_release(root, e, &err), 0);
    CHECK_INT(count_in("new"), 1);
    CHECK_INT(count_in("cur"), 0);

    CHECK_INT(tr_spool_claim(root, 1 << 20, &e, &err), 1);
    CHECK_INT(tr_spool_fail(root, e, &err), 0);
    CHECK_INT(count_in("failed"), 1);
    CHECK_INT(tr_spool_pending(root), 0);
    CHECK_INT(tr_spool_claim(root, 1 << 20, &e, &err), 0);
}

static void test_takeover_and_bare(void)
{
    struct tr_spool_entry *e;
    struct tr_err err;
    char name[TR_SPOOL_NAME_MAX], a[PATH_CAP], b[PATH_CAP];
    const char *bare = "Subject: dropped by hand\n\nx\n";
    int fd;

    /* An entry left in cur/ by a drainer that died (no lock held). */
    CHECK_INT(write_one("<dead@example.org>", "DEAD", "m\r\n", name), 0);
    path_of(a, "new", name);
    path_of(b, "cur", name);
    CHECK_INT(rename(a, b), 0);
    CHECK_INT(tr_spool_claim(root, 1 << 20, &e, &err), 1);
    CHECK_STR(e->queue_id, "DEAD");
    CHECK_INT(tr_spool_done(root, e, &err), 0);
    CHECK_INT(tr_spool_pending(root), 0);

    /* A bare message dropped into new/ is taken whole. */
    path_of(a, "new", "9999999999.hand");
    fd = open(a, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && write(fd, bare, strlen(bare)) == (ssize_t)strlen(bare));
    close(fd);
    CHECK_INT(tr_spool_claim(root, 1 << 20, &e, &err), 1);
    CHECK(e->sender == NULL && e->queue_id == NULL);
    CHECK_INT(e->msg_len, strlen(bare));
    CHECK(e->time > 0);
    CHECK_INT(tr_spool_done(root, e, &err), 0);

    /* A symlink is never followed. */
    path_of(a, "new", "1000000000.link");
    CHECK_INT(symlink("/etc/passwd", a), 0);
    CHECK_INT(tr_spool_claim(root, 1 << 20, &e, &err), 0);
    unlink(a);
}

/* tmp/ files of a writer that died are swept; a live writer's (locked)
 * file is kept; entries in new/ are never touched. */
static void test_sweep_tmp(void)
{
    struct tr_err err;
    char dead[PATH_CAP], live[PATH_CAP], name[TR_SPOOL_NAME_MAX];
    int fd_dead, fd_live;

    CHECK_INT(write_one("<kept@example.org>", "KEPT", "m\r\n", name), 0);
    path_of(dead, "tmp", "1700000000.dead");
    path_of(live, "tmp", "1700000000.live");
    fd_dead = open(dead, O_WRONLY | O_CREAT | O_EXCL, 0600);
    fd_live = open(live, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd_dead >= 0 && fd_live >= 0);
    close(fd_dead);                                   /* its writer is gone: no lock */
    CHECK_INT(flock(fd_live, LOCK_EX | LOCK_NB), 0);  /* a writer still at work */
    CHECK_INT(tr_spool_sweep_tmp(root, &err), 1);
    CHECK(access(dead, F_OK) != 0 && errno == ENOENT);
    CHECK_INT(access(live, F_OK), 0);
    CHECK_INT(count_in("new"), 1);
    close(fd_live);
    CHECK_INT(tr_spool_sweep_tmp(root, &err), 1);     /* now its writer is gone too */
    CHECK_INT(count_in("tmp"), 0);
    CHECK_INT(count_in("new"), 1);
    path_of(dead, "new", name);
    CHECK_INT(unlink(dead), 0);
}

static void test_truncation(void)
{
    struct tr_spool_entry *e;
    struct tr_err err;
    char name[TR_SPOOL_NAME_MAX], msg[4096];
    size_t hdr;

    memset(msg, 'x', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    CHECK_INT(write_one("<big@example.org>", "BIG", msg, name), 0);
    CHECK_INT(tr_spool_claim(root, 1000, &e, &err), 1);
    hdr = (size_t)(e->msg - e->data);
    CHECK_INT(e->len, 1000);
    CHECK_INT(e->msg_len, 1000 - hdr);
    CHECK_INT(e->msg_full_len, sizeof msg - 1);
    CHECK_STR(e->queue_id, "BIG");
    CHECK_INT(tr_spool_done(root, e, &err), 0);
}

static void test_write_failure(void)
{
    struct tr_err err;
    char name[TR_SPOOL_NAME_MAX], p[PATH_CAP];

    path_of(p, "tmp", NULL);
    CHECK_INT(rmdir(p), 0);
    CHECK_INT(write_one("<x@example.org>", "NOTMP", "m\r\n", name), -1);
    CHECK_INT(count_in("new"), 0);
    CHECK_INT(tr_spool_init(root, &err), 0);
}

/* DRAINERS processes claim RACE_ENTRIES entries at once; each name must be
 * claimed exactly once. */
static void test_concurrent_drainers(void)
{
    char names[RACE_ENTRIES][TR_SPOOL_NAME_MAX], log[PATH_CAP];
    int seen[RACE_ENTRIES] = { 0 };
    pid_t pids[DRAINERS];
    FILE *f;
    char line[TR_SPOOL_NAME_MAX + 2];
    long total = 0;

    for (int i = 0; i < RACE_ENTRIES; i++) {
        CHECK_INT(write_one("<r@example.org>", "RACE", "m\r\n", names[i]), 0);
    }
    snprintf(log, sizeof log, "%s/claims.log", root);
    for (int k = 0; k < DRAINERS; k++) {
        pids[k] = fork();
        if (pids[k] == 0) {
            struct tr_spool_entry *e;
            struct tr_err err;
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
            /* Half claim one by one, half from a scan (a listing that
             * goes stale as the others take its entries). */
            struct tr_spool_scan *scan = k % 2 ? tr_spool_scan_new(root) : NULL;
            while ((scan ? tr_spool_claim_next(scan, 1 << 20, &e, &err)
                         : tr_spool_claim(root, 1 << 20, &e, &err)) == 1) {
                dprintf(fd, "%s\n", e->name);
                tr_spool_done(root, e, &err);
            }
            tr_spool_scan_free(scan);
            close(fd);
            _exit(0);
        }
    }
    for (int k = 0; k < DRAINERS; k++)
        waitpid(pids[k], NULL, 0);
    f = fopen(log, "r");
    CHECK(f != NULL);
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        total++;
        for (int i = 0; i < RACE_ENTRIES; i++)
            if (strcmp(line, names[i]) == 0)
                seen[i]++;
    }
    if (f)
        fclose(f);
    CHECK_INT(total, RACE_ENTRIES);
    for (int i = 0; i < RACE_ENTRIES; i++)
        if (seen[i] != 1)
            check_fail(__FILE__, __LINE__, "entry %s claimed %d times", names[i], seen[i]);
    CHECK_INT(tr_spool_pending(root), 0);
    unlink(log);
}

int main(void)
{
    char cmd[ROOT_CAP + 16];
    const char *tmp = getenv("TMPDIR");

    snprintf(root, sizeof root, "%s/test_spool.XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    strcat(root, "/spool");                           /* tr_spool_init creates it */
    test_layout();
    test_format();
    test_claim_cycle();
    test_takeover_and_bare();
    test_sweep_tmp();
    test_truncation();
    test_write_failure();
    test_concurrent_drainers();
    *strrchr(root, '/') = '\0';
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_done();
}
