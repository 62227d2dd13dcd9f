/*
 * spool.c - the durable hand-off between tlsrpt-milter and ingest (spool.h).
 *
 * Layout and entry format are described in spool.h.  Two rules hold
 * everywhere in this file:
 *
 *  - Writing: an entry appears in new/ only complete and on disk.  It is
 *    written under tmp/ (O_CREAT|O_EXCL, 0600), fsynced, closed, renamed
 *    into new/, and new/ is fsynced; any failure on the way unlinks what
 *    was made, so the caller can answer 4xx and nothing half-written is
 *    ever drained.  (OpenSMTPD queue_fs.c, Postfix mail_stream.c.)  The
 *    writer holds flock(LOCK_EX) on the temporary file until it closes it,
 *    so a file in tmp/ whose lock can be taken was left by a writer that
 *    died (kill -9, power loss) and is removed by tr_spool_sweep_tmp().
 *    Should a sweep remove a live writer's file (in the instants between
 *    its open and flock, or its close and rename), the writer's rename
 *    fails and it answers 4xx: never an acknowledged entry lost.
 *
 *  - Claiming: an entry is owned by whoever holds flock(LOCK_EX) on its
 *    inode.  A drainer opens new/NAME, takes the lock without blocking, and
 *    renames the file into cur/; the lock stays with the inode through the
 *    rename, so every later move (done, fail, release) happens under it.
 *    An entry in cur/ whose lock can be taken was left by a process that
 *    died, and is taken over.  Opening, locking and renaming race with
 *    other drainers; each step that loses the race (ENOENT, EWOULDBLOCK)
 *    just moves on to the next name.
 *
 * Entry names: TIME.PID_COUNTER.RANDOM[.QUEUEID], with the queue ID reduced
 * to [A-Za-z0-9] so the name can be matched with the MTA's log.  Sorting
 * names sorts by time (TIME is ten digits until the year 2286).
 *
 * Files are read with O_NOFOLLOW and must be regular with one link: the
 * directories are 0700, so only their owner (and root) can put files there,
 * but a drainer run as root should still not be led elsewhere by a link.
 * A file in new/ without the "TLSRPT-SPOOL 1" first line is taken as a bare
 * message (an administrator may drop .eml files there).
 */
#include "tlsrpt/spool.h"
#include "tlsrpt/codes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_MAGIC "TLSRPT-SPOOL 1"
#define SPOOL_VALUE_MAX 1000        /* bytes of one envelope value, after sanitizing */
#define SPOOL_RECIPIENTS_MAX 200    /* Recipient lines; more are counted, not listed */
#define SPOOL_QID_MAX 32            /* queue-ID characters kept in a name */
#define SPOOL_PATH_MAX 4096
#define SPOOL_SCAN_MAX 100000       /* names considered by one claim */
#define SPOOL_WRITE_TRIES 5         /* O_EXCL collisions tolerated */

static const char *const subdirs[] = { "tmp", "new", "cur", "failed" };

/* Joins dir/sub/name into buf; -1 (err set) when it does not fit. */
static int spool_path(char *buf, size_t cap, const char *dir, const char *sub, const char *name,
                      struct tr_err *err)
{
    int n = name ? snprintf(buf, cap, "%s/%s/%s", dir, sub, name)
                 : snprintf(buf, cap, "%s/%s", dir, sub);
    if (n < 0 || (size_t)n >= cap) {
        tr_err_set(err, TR_E_IO, "spool path too long: %s/%s", dir, sub);
        return -1;
    }
    return 0;
}

/* fsync of a directory, so a rename into it survives a crash. */
static int fsync_dir(const char *dir, const char *sub, struct tr_err *err)
{
    char path[SPOOL_PATH_MAX];
    int fd, rc;

    if (spool_path(path, sizeof path, dir, sub, NULL, err) < 0)
        return -1;
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        tr_err_set(err, TR_E_IO, "%s: %s", path, strerror(errno));
        return -1;
    }
    rc = fsync(fd);
    if (rc < 0)
        tr_err_set(err, TR_E_IO, "fsync %s: %s", path, strerror(errno));
    close(fd);
    return rc < 0 ? -1 : 0;
}

int tr_spool_init(const char *dir, struct tr_err *err)
{
    char path[SPOOL_PATH_MAX];

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        tr_err_set(err, TR_E_IO, "mkdir %s: %s", dir, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        if (spool_path(path, sizeof path, dir, subdirs[i], NULL, err) < 0)
            return -1;
        if (mkdir(path, 0700) < 0 && errno != EEXIST) {
            tr_err_set(err, TR_E_IO, "mkdir %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Appends "Key: value\n" with value sanitized (controls become '?') and
 * capped at SPOOL_VALUE_MAX bytes.  A NULL value writes nothing. */
static void put_line(struct tr_buf *b, const char *key, const char *value)
{
    char v[SPOOL_VALUE_MAX + 1];
    size_t n = 0;

    if (value == NULL)
        return;
    for (; value[n] != '\0' && n < SPOOL_VALUE_MAX; n++) {
        unsigned char c = (unsigned char)value[n];
        v[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    v[n] = '\0';
    /* Cannot fail: the envelope buffer's cap is above what is appended. */
    (void)tr_buf_append(b, key, strlen(key));
    (void)tr_buf_append(b, ": ", 2);
    (void)tr_buf_append(b, v, n);
    (void)tr_buf_append(b, "\n", 1);
}

/* The envelope block, ending with the empty line.  Caller frees b. */
static void format_envelope(struct tr_buf *b, const struct tr_envelope *env, size_t len)
{
    char num[32];
    size_t n_rcpt = env->n_recipients < SPOOL_RECIPIENTS_MAX ? env->n_recipients : SPOOL_RECIPIENTS_MAX;

    tr_buf_init(b, TR_SPOOL_ENVELOPE_MAX);
    (void)tr_buf_append(b, SPOOL_MAGIC "\n", sizeof SPOOL_MAGIC);
    put_line(b, "Sender", env->sender ? env->sender : "");
    for (size_t i = 0; i < n_rcpt; i++)
        put_line(b, "Recipient", env->recipients[i]);
    if (env->n_recipients > n_rcpt) {
        snprintf(num, sizeof num, "%zu", env->n_recipients - n_rcpt);
        put_line(b, "Recipients-Omitted", num);
    }
    put_line(b, "Client", env->client_addr);
    put_line(b, "Queue-ID", env->queue_id);
    snprintf(num, sizeof num, "%lld", (long long)env->time);
    put_line(b, "Time", num);
    snprintf(num, sizeof num, "%zu", len);
    put_line(b, "Size", num);
    if (env->reject_code != NULL) {
        char r[SPOOL_VALUE_MAX + 1];
        snprintf(r, sizeof r, "%s %s", env->reject_code, env->reject_detail ? env->reject_detail : "");
        put_line(b, "Reject", r);
    }
    (void)tr_buf_append(b, "\n", 1);
}

/* A fresh entry name into buf (TR_SPOOL_NAME_MAX bytes). */
static void make_name(char *buf, size_t cap, int64_t when, const char *qid)
{
    static atomic_ulong counter;
    unsigned long c = atomic_fetch_add(&counter, 1);
    struct timespec ts;
    char q[SPOOL_QID_MAX + 1];
    size_t n = 0;
    unsigned r;

    clock_gettime(CLOCK_REALTIME, &ts);
    r = (unsigned)(ts.tv_nsec ^ (c * 2654435761u) ^ ((unsigned)getpid() << 16)) & 0xffffffu;
    for (const char *p = qid ? qid : ""; *p != '\0' && n < SPOOL_QID_MAX; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
            q[n++] = *p;
    q[n] = '\0';
    snprintf(buf, cap, "%010lld.%ld_%lu.%06x%s%s", (long long)when, (long)getpid(), c, r,
             n ? "." : "", q);
}

int tr_spool_write(const char *dir, const struct tr_envelope *env,
                   const unsigned char *msg, size_t len,
                   char *name_out, size_t name_cap, struct tr_err *err)
{
    char name[TR_SPOOL_NAME_MAX], tmp[SPOOL_PATH_MAX], dst[SPOOL_PATH_MAX];
    struct tr_buf hdr;
    int fd = -1, tries;

    format_envelope(&hdr, env, len);
    for (tries = 0; tries < SPOOL_WRITE_TRIES; tries++) {
        make_name(name, sizeof name, env->time ? env->time : (int64_t)time(NULL), env->queue_id);
        if (spool_path(tmp, sizeof tmp, dir, "tmp", name, err) < 0
            || spool_path(dst, sizeof dst, dir, "new", name, err) < 0)
            goto fail;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        tr_err_set(err, TR_E_IO, "create %s: %s", tmp, strerror(errno));
        goto fail;
    }
    /* Marks the file as being written, for tr_spool_sweep_tmp().  Should
     * the lock fail (a sweep holding it, no lock support), the entry is
     * written all the same: the rename then decides. */
    (void)flock(fd, LOCK_EX | LOCK_NB);
    if (tr_write_all(fd, hdr.data, hdr.len) < 0 || tr_write_all(fd, msg, len) < 0) {
        tr_err_set(err, TR_E_IO, "write %s: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    if (fsync(fd) < 0) {
        tr_err_set(err, TR_E_IO, "fsync %s: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    if (close(fd) < 0) {
        fd = -1;
        tr_err_set(err, TR_E_IO, "close %s: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    fd = -1;
    if (rename(tmp, dst) < 0) {
        tr_err_set(err, TR_E_IO, "rename %s to new/: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    if (fsync_dir(dir, "new", err) < 0) {
        /* Not known to be durable: take it back so the sender retries. */
        unlink(dst);
        goto fail;
    }
    tr_buf_free(&hdr);
    if (name_out != NULL && name_cap > 0)
        snprintf(name_out, name_cap, "%s", name);
    return 0;

fail_unlink:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
fail:
    tr_buf_free(&hdr);
    return -1;
}

void tr_spool_entry_free(struct tr_spool_entry *e)
{
    if (e == NULL)
        return;
    if (e->fd >= 0)
        close(e->fd);
    free(e->sender);
    free(e->queue_id);
    free(e->client_addr);
    free(e->reject);
    free(e->data);
    free(e);
}

/* Value of an envelope line "Key: value" if line (of n bytes, no LF) has
 * that key, else NULL.  Caller-owned. */
static char *line_value(const unsigned char *line, size_t n, const char *key)
{
    size_t k = strlen(key);
    if (n < k + 2 || memcmp(line, key, k) != 0 || line[k] != ':' || line[k + 1] != ' ')
        return NULL;
    return xstrndup((const char *)line + k + 2, n - k - 2);
}

/* Splits e->data into envelope and message; a file that is not in the
 * spool format is a bare message. */
static void parse_entry(struct tr_spool_entry *e, size_t file_size, int64_t mtime)
{
    const unsigned char *p = e->data, *end = e->data + e->len;
    size_t magic = sizeof SPOOL_MAGIC - 1;

    e->msg = e->data;
    e->msg_len = e->len;
    e->msg_full_len = file_size;
    e->time = mtime;
    if (e->len <= magic || memcmp(p, SPOOL_MAGIC "\n", magic + 1) != 0)
        return;
    p += magic + 1;
    while (p < end) {
        const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
        char *v;
        if (nl == NULL)
            break;
        if (nl == p) {                    /* the empty line: message follows */
            size_t hdr_len = (size_t)(nl + 1 - e->data);
            e->msg = nl + 1;
            e->msg_len = e->len - hdr_len;
            e->msg_full_len = file_size > hdr_len ? file_size - hdr_len : e->msg_len;
            return;
        }
        if ((v = line_value(p, (size_t)(nl - p), "Sender")) != NULL) {
            free(e->sender);
            e->sender = v;
        } else if ((v = line_value(p, (size_t)(nl - p), "Queue-ID")) != NULL) {
            free(e->queue_id);
            e->queue_id = v;
        } else if ((v = line_value(p, (size_t)(nl - p), "Client")) != NULL) {
            free(e->client_addr);
            e->client_addr = v;
        } else if ((v = line_value(p, (size_t)(nl - p), "Reject")) != NULL) {
            free(e->reject);
            e->reject = v;
        } else if ((v = line_value(p, (size_t)(nl - p), "Time")) != NULL) {
            char *stop;
            long long t = strtoll(v, &stop, 10);
            if (*v != '\0' && *stop == '\0' && t > 0)
                e->time = t;
            free(v);
        }
        p = nl + 1;
    }
    /* No end of envelope: not ours after all; keep it whole as a message. */
    free(e->sender);
    free(e->queue_id);
    free(e->client_addr);
    free(e->reject);
    e->sender = e->queue_id = e->client_addr = e->reject = NULL;
}

/* Reads at most max bytes of fd; the rest of a larger file is left. */
static int read_capped(int fd, size_t max, unsigned char **out, size_t *len, struct tr_err *err)
{
    struct tr_buf b;
    unsigned char chunk[65536];

    tr_buf_init(&b, max);
    while (b.len < max) {
        size_t want = max - b.len < sizeof chunk ? max - b.len : sizeof chunk;
        ssize_t n = read(fd, chunk, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            tr_err_set(err, TR_E_IO, "read: %s", strerror(errno));
            tr_buf_free(&b);
            return -1;
        }
        if (n == 0)
            break;
        (void)tr_buf_append(&b, chunk, (size_t)n);   /* within cap by construction */
    }
    *out = tr_buf_steal(&b, len);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entry names in dir/sub, sorted; caller frees each and the array.
 * Returns the count, or -1 (err set) when the directory cannot be read. */
static long list_names(const char *dir, const char *sub, char ***out, struct tr_err *err)
{
    char path[SPOOL_PATH_MAX];
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, alloc = 0;

    if (spool_path(path, sizeof path, dir, sub, NULL, err) < 0)
        return -1;
    if ((d = opendir(path)) == NULL) {
        tr_err_set(err, TR_E_IO, "%s: %s", path, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL && n < SPOOL_SCAN_MAX) {
        if (de->d_name[0] == '.' || strlen(de->d_name) >= TR_SPOOL_NAME_MAX)
            continue;
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 64;
            names = xrealloc(names, alloc * sizeof *names);
        }
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    return (long)n;
}

static void free_names(char **names, long n)
{
    for (long i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/*
 * Tries to claim dir/sub/name: 1 claimed (*out set), 0 lost a race or not
 * an entry (skip it), -1 hard error.  The entry ends up in cur/, locked.
 */
static int try_claim(const char *dir, const char *sub, const char *name, size_t max_len,
                     struct tr_spool_entry **out, struct tr_err *err)
{
    char src[SPOOL_PATH_MAX], dst[SPOOL_PATH_MAX];
    struct tr_spool_entry *e;
    struct stat st;
    int fd;

    if (spool_path(src, sizeof src, dir, sub, name, err) < 0
        || spool_path(dst, sizeof dst, dir, "cur", name, err) < 0)
        return 0;
    fd = open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;                      /* gone (claimed by another) or not a plain file */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &st) < 0
        || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        close(fd);
        return 0;
    }
    if (strcmp(sub, "cur") != 0 && rename(src, dst) < 0) {
        close(fd);                     /* ENOENT: another drainer had it first */
        return 0;
    }
    e = xcalloc(1, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->fd = fd;
    if (read_capped(fd, max_len, &e->data, &e->len, err) < 0) {
        /* Leave it in cur/: unlocked by the close, it is taken over later. */
        tr_spool_entry_free(e);
        return -1;
    }
    parse_entry(e, (size_t)st.st_size, (int64_t)st.st_mtime);
    *out = e;
    return 1;
}

struct tr_spool_scan {
    char *dir;
    const char *sub;      /* the directory listed: "new" or "cur" */
    char **names;         /* its entry names, sorted */
    long n, next;         /* listed, tried so far */
    int fresh;            /* nothing claimed since the listing was taken */
};

struct tr_spool_scan *tr_spool_scan_new(const char *dir)
{
    struct tr_spool_scan *s = xcalloc(1, sizeof *s);
    s->dir = xstrdup(dir);
    s->sub = "new";
    return s;
}

static void scan_drop(struct tr_spool_scan *s)
{
    free_names(s->names, s->n);
    s->names = NULL;
    s->n = s->next = 0;
}

void tr_spool_scan_free(struct tr_spool_scan *s)
{
    if (s == NULL)
        return;
    scan_drop(s);
    free(s->dir);
    free(s);
}

/*
 * Order of listings: new/ again after a listing that gave something; after
 * a fresh listing of new/ that gave nothing, cur/ (entries abandoned by a
 * dead drainer); after a fresh listing of cur/ that gave nothing, the scan
 * is done (0) and starts over with new/ on the next call.
 */
int tr_spool_claim_next(struct tr_spool_scan *s, size_t max_len, struct tr_spool_entry **out,
                        struct tr_err *err)
{
    *out = NULL;
    for (;;) {
        long n;

        while (s->next < s->n) {
            int rc = try_claim(s->dir, s->sub, s->names[s->next++], max_len, out, err);
            if (rc != 0) {
                if (rc > 0)
                    s->fresh = 0;
                return rc;
            }
        }
        scan_drop(s);
        if (s->fresh && strcmp(s->sub, "cur") == 0) {
            s->sub = "new";
            s->fresh = 0;
            return 0;
        }
        s->sub = s->fresh ? "cur" : "new";
        n = list_names(s->dir, s->sub, &s->names, err);
        if (n < 0)
            return -1;
        s->n = n;
        s->fresh = 1;
    }
}

int tr_spool_claim(const char *dir, size_t max_len, struct tr_spool_entry **out, struct tr_err *err)
{
    struct tr_spool_scan *s = tr_spool_scan_new(dir);
    int rc = tr_spool_claim_next(s, max_len, out, err);
    tr_spool_scan_free(s);
    return rc;
}

void tr_spool_entry_unload(struct tr_spool_entry *e)
{
    free(e->data);
    e->data = NULL;
    e->len = 0;
    e->msg = NULL;                  /* msg_len and msg_full_len stay: they tell truncation */
}

/* Moves a claimed entry from cur/ to sub/ (still locked), fsyncs sub/. */
static int move_entry(const char *dir, struct tr_spool_entry *e, const char *sub, struct tr_err *err)
{
    char src[SPOOL_PATH_MAX], dst[SPOOL_PATH_MAX];
    int rc = -1;

    if (spool_path(src, sizeof src, dir, "cur", e->name, err) == 0
        && spool_path(dst, sizeof dst, dir, sub, e->name, err) == 0) {
        if (rename(src, dst) < 0)
            tr_err_set(err, TR_E_IO, "rename %s to %s/: %s", src, sub, strerror(errno));
        else
            rc = fsync_dir(dir, sub, err);
    }
    tr_spool_entry_free(e);
    return rc;
}

int tr_spool_done(const char *dir, struct tr_spool_entry *e, struct tr_err *err)
{
    char path[SPOOL_PATH_MAX];
    int rc = -1;

    if (spool_path(path, sizeof path, dir, "cur", e->name, err) == 0) {
        rc = unlink(path);
        if (rc < 0)
            tr_err_set(err, TR_E_IO, "unlink %s: %s", path, strerror(errno));
    }
    tr_spool_entry_free(e);
    return rc;
}

int tr_spool_fail(const char *dir, struct tr_spool_entry *e, struct tr_err *err)
{
    return move_entry(dir, e, "failed", err);
}

int tr_spool_release(const char *dir, struct tr_spool_entry *e, struct tr_err *err)
{
    return move_entry(dir, e, "new", err);
}

long tr_spool_sweep_tmp(const char *dir, struct tr_err *err)
{
    char path[SPOOL_PATH_MAX];
    char **names = NULL;
    long n = list_names(dir, "tmp", &names, err), removed = 0;

    if (n < 0)
        return -1;
    for (long i = 0; i < n; i++) {
        struct stat st, cur;
        int fd;

        if (spool_path(path, sizeof path, dir, "tmp", names[i], NULL) < 0)
            continue;
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;                  /* gone (renamed by its writer) or a link */
        /* The lock taken: its writer is gone.  Still the same file at the
         * name (not renamed away meanwhile): remove it. */
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
            && lstat(path, &cur) == 0 && cur.st_ino == st.st_ino && cur.st_dev == st.st_dev
            && unlink(path) == 0)
            removed++;
        close(fd);
    }
    free_names(names, n);
    return removed;
}

/* Regular entries in dir/sub, or 0 when it cannot be read. */
static long count_entries(const char *dir, const char *sub)
{
    char path[SPOOL_PATH_MAX];
    DIR *d;
    struct dirent *de;
    long n = 0;

    if (spool_path(path, sizeof path, dir, sub, NULL, NULL) < 0 || (d = opendir(path)) == NULL)
        return 0;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

long tr_spool_pending(const char *dir)
{
    return count_entries(dir, "new") + count_entries(dir, "cur");
}
