/*
 * source.c - turn a command-line PATH into inputs (source.h).
 *
 * What a PATH can be, and what becomes an input:
 *  - "-": standard input, read up to message-size bytes;
 *  - a regular file: the whole file, or, when it starts with "From ", each
 *    message of the mbox ("path:1", "path:2", ...);
 *  - a Maildir (a directory holding cur/, new/ and tmp/): the files in cur/
 *    then new/, each sorted by name; tmp/ (deliveries in progress) and
 *    Maildir++ sub-folders (dot directories) are skipped;
 *  - any other directory: every entry, recursively, sorted by name (byte
 *    order), skipping names that start with '.' (silently: dot files and
 *    Maildir++ folders), and symbolic links and anything that is neither a
 *    file nor a directory (each reported to on_error as TR_E_SKIPPED);
 *  - anything else named explicitly (a FIFO, /dev/stdin, <(zcat f)): read
 *    like standard input.
 * Symbolic links are followed only for PATH itself.  Below it every entry
 * is examined with fstatat(AT_SYMLINK_NOFOLLOW) and opened relative to its
 * directory's descriptor with O_NOFOLLOW, then checked again with fstat,
 * so a link swapped in meanwhile is refused rather than followed; without
 * links there are no loops, and nesting is cut at TR_SOURCE_MAX_DEPTH.
 *
 * Size: an input over message-size is still handed over, truncated to its
 * first message-size bytes, with truncated=1 and full_len its real size, so
 * the caller can quarantine it.  Files up to message-size are read() into
 * memory; a bigger file is mmap()ed read-only, so an mbox of any size costs
 * no more than its largest message (a file truncated by someone else while
 * mapped would raise SIGBUS: ingest is not meant for files still being
 * written).  A stream (stdin, FIFO) over message-size is drained and
 * counted for at most TR_SOURCE_DRAIN_MAX more bytes, then full_len is a
 * lower bound; such a stream is not split as an mbox (pass big mboxes as
 * files).  mbox messages are passed as they are between separators: the
 * From_ line and the blank line before the next one are excluded, and
 * ">From " lines are NOT unescaped (report parts are base64; nothing that
 * matters starts with ">From ").  A separator is a "From " line at the
 * start of the file or after an empty line.
 *
 * Ownership: every tr_input and its strings are borrowed by the callback
 * for the duration of the call only.  Nothing here prints.
 */
#include "tlsrpt/source.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TR_SOURCE_MAX_DEPTH 32                     /* directory nesting below PATH */
#define TR_SOURCE_DRAIN_MAX ((size_t)1 << 30)      /* stream bytes counted past the cap */

struct walker {
    const struct tr_limits *lim;
    tr_input_cb cb;
    tr_source_error_cb on_error;
    void *ctx;
};

/* Reports a problem with one entry through on_error; the walk goes on. */
static void entry_error(struct walker *w, const char *path, const char *what, int errnum)
{
    struct tr_err e;

    tr_err_set(&e, TR_E_IO, "%s: %s", what, strerror(errnum));
    if (w->on_error)
        w->on_error(w->ctx, path, &e);
}

/* Reports an entry below PATH that is not read (TR_E_SKIPPED), saying
 * what it is: never following a link keeps the walk inside what the user
 * named and free of loops; a FIFO or device could block or never end. */
static void entry_skipped(struct walker *w, const char *path, const struct stat *st)
{
    struct tr_err e;
    const char *what = S_ISLNK(st->st_mode) ? "symbolic link, not followed below a PATH"
                     : S_ISFIFO(st->st_mode) ? "FIFO, not read"
                     : S_ISSOCK(st->st_mode) ? "socket, not read"
                     : S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ? "device, not read"
                     : S_ISDIR(st->st_mode) ? "directory inside a Maildir's cur/ or new/, not read"
                     : "not a regular file, not read";

    tr_err_set(&e, TR_E_SKIPPED, "%s", what);
    if (w->on_error)
        w->on_error(w->ctx, path, &e);
}

/* Hands one input to the callback, truncating it to message-size. */
static int emit(struct walker *w, const char *source, const char *filename,
                const unsigned char *data, size_t len, size_t full_len, int64_t mtime)
{
    struct tr_input in;

    in.source = source;
    in.filename = filename;
    in.data = data;
    in.len = len < w->lim->message_size ? len : w->lim->message_size;
    in.full_len = full_len > len ? full_len : len;
    in.truncated = in.full_len > in.len;
    in.mtime = mtime;
    return w->cb(w->ctx, &in);
}

/* Offset of the next mbox separator ("From " after an empty line) at or
 * after the line starting at off, or len. */
static size_t next_separator(const unsigned char *d, size_t len, size_t off)
{
    while (off < len) {
        const unsigned char *nl;
        if (len - off >= 5 && memcmp(d + off, "From ", 5) == 0 && off >= 2 && d[off - 1] == '\n' &&
            (d[off - 2] == '\n' || (off >= 3 && d[off - 2] == '\r' && d[off - 3] == '\n')))
            return off;
        nl = memchr(d + off, '\n', len - off);
        if (nl == NULL)
            break;
        off = (size_t)(nl - d) + 1;
    }
    return len;
}

/* Splits an mbox (d starts with "From ") into messages "source:N". */
static int split_mbox(struct walker *w, const char *source, const unsigned char *d, size_t len,
                      int64_t mtime)
{
    size_t pos = 0;
    unsigned long n = 0;

    while (pos < len) {
        const unsigned char *nl = memchr(d + pos, '\n', len - pos);
        size_t start = nl ? (size_t)(nl - d) + 1 : len;
        size_t end = next_separator(d, len, start), mend = end;
        char *name;
        int rc;

        if (end < len) {                   /* drop the blank line before the separator */
            mend--;
            if (mend > start && d[mend - 1] == '\r')
                mend--;
        }
        name = xasprintf("%s:%lu", source, ++n);
        rc = emit(w, name, NULL, d + start, mend - start, mend - start, mtime);
        free(name);
        if (rc != 0)
            return rc;
        pos = end;
    }
    return 0;
}

/* 1 when the bytes start like an mbox (a From_ line). */
static int is_mbox(const unsigned char *d, size_t len)
{
    return len >= 5 && memcmp(d, "From ", 5) == 0;
}

/*
 * Reads fd into b (capped at b->cap).  Past the cap, reads on and counts at
 * most drain more bytes.  *total gets the bytes seen.  Returns 0 or -1
 * (errno set).
 */
static int read_capped(int fd, struct tr_buf *b, size_t drain, size_t *total)
{
    unsigned char chunk[65536];

    *total = 0;
    for (;;) {
        size_t want = sizeof chunk;
        ssize_t n;
        if (b->len == b->cap && *total - b->len >= drain)
            return 0;
        if (b->len < b->cap && b->cap - b->len < want)
            want = b->cap - b->len;
        n = read(fd, chunk, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        *total += (size_t)n;
        if (b->len < b->cap)
            tr_buf_append(b, chunk, (size_t)n);   /* fits: want <= cap - len */
    }
}

/* A stream (stdin, FIFO): read capped, split as an mbox if whole. */
static int walk_stream(struct walker *w, int fd, const char *source, struct tr_err *err)
{
    struct tr_buf b;
    size_t total;
    int64_t now = (int64_t)time(NULL);
    int rc;

    tr_buf_init(&b, w->lim->message_size);
    if (read_capped(fd, &b, TR_SOURCE_DRAIN_MAX, &total) < 0) {
        tr_err_set(err, TR_E_IO, "%s: read: %s", source, strerror(errno));
        tr_buf_free(&b);
        return -1;
    }
    if (total == b.len && is_mbox(b.data, b.len))
        rc = split_mbox(w, source, b.data, b.len, now);
    else
        rc = emit(w, source, NULL, b.data ? b.data : (const unsigned char *)"", b.len, total, now);
    tr_buf_free(&b);
    return rc;
}

/*
 * A regular file open on fd.  Returns the callback's result, 0, or -1 with
 * err set when it cannot be read.
 */
static int walk_file(struct walker *w, int fd, const struct stat *st, const char *path,
                     struct tr_err *err)
{
    const char *base = tr_basename(path);
    size_t size = (size_t)st->st_size;
    int64_t mtime = (int64_t)st->st_mtime;
    int rc;

    if ((off_t)size != st->st_size) {
        tr_err_set(err, TR_E_IO, "%s: file too large to map", path);
        return -1;
    }
    if (size <= w->lim->message_size) {
        struct tr_buf b;
        size_t total;
        tr_buf_init(&b, w->lim->message_size);
        if (read_capped(fd, &b, 1, &total) < 0) {
            tr_err_set(err, TR_E_IO, "%s: read: %s", path, strerror(errno));
            tr_buf_free(&b);
            return -1;
        }
        if (is_mbox(b.data, b.len))
            rc = split_mbox(w, path, b.data, b.len, mtime);
        else
            rc = emit(w, path, base, b.data ? b.data : (const unsigned char *)"", b.len,
                      total > size ? total : size, mtime);
        tr_buf_free(&b);
        return rc;
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        tr_err_set(err, TR_E_IO, "%s: mmap: %s", path, strerror(errno));
        return -1;
    }
    if (is_mbox(map, size))
        rc = split_mbox(w, path, map, size, mtime);
    else
        rc = emit(w, path, base, map, size, size, mtime);
    munmap(map, size);
    return rc;
}

/* qsort comparator: names in byte order. */
static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in the directory dfd, dot names skipped.  *names and each
 * name are caller-owned.  Returns the count, or -1 (errno set). */
static long list_dir(int dfd, char ***names)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    size_t n = 0, alloc = 0;

    *names = NULL;
    if (d == NULL) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        errno = e;
        return -1;
    }
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == alloc) {
            alloc = alloc ? 2 * alloc : 32;
            *names = xrealloc(*names, alloc * sizeof **names);
        }
        (*names)[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(*names, n, sizeof **names, name_cmp);
    return (long)n;
}

/* 1 when name in dfd is a directory (not a symlink to one). */
static int is_dir_at(int dfd, const char *name)
{
    struct stat st;
    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int walk_dir(struct walker *w, int dfd, const char *dpath, int depth, int maildir_sub);

/* Opens and walks the entry name of directory dfd (display path path). */
static int walk_entry(struct walker *w, int dfd, const char *name, const char *path, int depth,
                      int files_only)
{
    struct stat st, st2;
    struct tr_err e;
    int fd, rc;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        entry_error(w, path, "stat", errno);
        return 0;
    }
    if (!S_ISREG(st.st_mode) && !(S_ISDIR(st.st_mode) && !files_only)) {
        entry_skipped(w, path, &st);        /* symlinks, devices, FIFOs, sockets */
        return 0;
    }
    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
                               (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
    if (fd < 0) {
        entry_error(w, path, "open", errno);
        return 0;
    }
    if (fstat(fd, &st2) < 0 || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev ||
        (st2.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
        entry_error(w, path, "changed while being read", EAGAIN);
        close(fd);
        return 0;
    }
    tr_err_clear(&e);
    if (S_ISDIR(st2.st_mode)) {
        rc = walk_dir(w, fd, path, depth + 1, 0);
    } else {
        rc = walk_file(w, fd, &st2, path, &e);
        if (rc == -1 && e.code != NULL) {
            if (w->on_error)
                w->on_error(w->ctx, path, &e);
            rc = 0;
        }
    }
    close(fd);
    return rc;
}

/*
 * Walks the directory open on dfd.  A Maildir yields its cur/ and new/
 * files; any other directory every entry.  With maildir_sub set, dfd is a
 * Maildir's cur/ or new/: files only.  Returns 0 or the callback's result.
 */
static int walk_dir(struct walker *w, int dfd, const char *dpath, int depth, int maildir_sub)
{
    static const char *const maildir_subs[] = { "cur", "new" };
    size_t dlen = strlen(dpath);
    const char *sep = dlen > 0 && dpath[dlen - 1] == '/' ? "" : "/";
    char **names;
    long n;
    int rc = 0;

    if (depth > TR_SOURCE_MAX_DEPTH) {
        entry_error(w, dpath, "directories nested too deep", ELOOP);
        return 0;
    }
    if (!maildir_sub && is_dir_at(dfd, "cur") && is_dir_at(dfd, "new") && is_dir_at(dfd, "tmp")) {
        for (size_t i = 0; i < 2 && rc == 0; i++) {
            char *sub = xasprintf("%s%s%s", dpath, sep, maildir_subs[i]);
            int sfd = openat(dfd, maildir_subs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sfd < 0)
                entry_error(w, sub, "open", errno);
            else {
                rc = walk_dir(w, sfd, sub, depth + 1, 1);
                close(sfd);
            }
            free(sub);
        }
        return rc;
    }
    if ((n = list_dir(dfd, &names)) < 0) {
        entry_error(w, dpath, "read directory", errno);
        return 0;
    }
    for (long i = 0; i < n; i++) {
        if (rc == 0) {
            char *path = xasprintf("%s%s%s", dpath, sep, names[i]);
            rc = walk_entry(w, dfd, names[i], path, depth, maildir_sub);
            free(path);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* See source.h; PATH itself is opened following symlinks. */
int tr_source_walk(const char *path, const struct tr_limits *lim, tr_input_cb cb,
                   tr_source_error_cb on_error, void *ctx, struct tr_err *err)
{
    struct walker w = { lim, cb, on_error, ctx };
    struct stat st;
    int fd, rc, flags;

    if (strcmp(path, "-") == 0)
        return walk_stream(&w, STDIN_FILENO, "stdin", err);
    /* PATH itself may be a symlink; O_NONBLOCK keeps a FIFO's open() from hanging. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        tr_err_set(err, TR_E_IO, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = walk_dir(&w, fd, path, 0, 0);
    } else if (S_ISREG(st.st_mode)) {
        rc = walk_file(&w, fd, &st, path, err);
    } else {
        if (S_ISFIFO(st.st_mode)) {
            /* Opened without a writer, a FIFO reads as empty at once: open
             * it again, waiting for the writer as cat(1) does (the user
             * named it; walk_dir never opens one). */
            struct stat st2;
            int again = open(path, O_RDONLY | O_CLOEXEC);
            if (again < 0 || fstat(again, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
                tr_err_set(err, TR_E_IO, "%s: %s", path, again < 0 ? strerror(errno) : "replaced while opened");
                if (again >= 0)
                    close(again);
                close(fd);
                return -1;
            }
            close(fd);
            fd = again;
        }
        flags = fcntl(fd, F_GETFL);
        if (flags >= 0)
            fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        rc = walk_stream(&w, fd, path, err);
    }
    close(fd);
    return rc;
}
