/*
 * email.c - the summary message: the digest's Subject, text and HTML in a
 * multipart/alternative message written with mailfmt.c, and a message
 * piped to sendmail.
 *
 * tlsrpt-report writes this message itself rather than with GMime (which
 * tlsrpt-ingest uses to parse mail): loading GMime and what it pulls in
 * (gio, gobject, gpgme and 12 more shared objects) cost every run of every
 * tlsrpt-report command 2.5-3 ms, a quarter of trend's 10 ms budget
 * (BENCHMARKS.md), and every part of this one message is ours.
 */
#include "email.h"
#include "mailfmt.h"
#include "tlsrpt/codes.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Longest host name used in the default From and in the Message-ID. */
#define RPT_HOSTNAME_MAX 256
/* Cap on the whole message (the digest's text and HTML are far smaller). */
#define RPT_MESSAGE_MAX ((size_t)32 << 20)
/* Random bytes in the boundary and the Message-ID. */
#define RPT_RANDOM_BYTES 12

static int host_safe(const char *h)
{
    return h[0] != '\0' && strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == strlen(h);
}

/* Fills buf with a fully-qualified host name safe in a Message-ID and an
 * address (letters, digits, '-' and '.'), since a remote MX may refuse an
 * unqualified sender domain: Debian's /etc/mailname, else the host name
 * when it has a dot, else its canonical name (getaddrinfo: /etc/hosts,
 * then DNS), else the bare host name, else "localhost". */
static void hostname(char *buf, size_t cap)
{
    FILE *f = fopen("/etc/mailname", "r");
    struct addrinfo hints, *ai = NULL;

    if (f != NULL) {
        int got = fgets(buf, (int)cap, f) != NULL;
        fclose(f);
        if (got) {
            buf[strcspn(buf, "\r\n")] = '\0';
            if (host_safe(buf) && strchr(buf, '.') != NULL)
                return;
        }
    }
    if (gethostname(buf, cap) != 0)
        buf[0] = '\0';
    buf[cap - 1] = '\0';
    if (!host_safe(buf)) {
        snprintf(buf, cap, "localhost");
        return;
    }
    if (strchr(buf, '.') != NULL)
        return;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_CANONNAME;
    if (getaddrinfo(buf, NULL, &hints, &ai) == 0 && ai != NULL && ai->ai_canonname != NULL
        && host_safe(ai->ai_canonname) && strchr(ai->ai_canonname, '.') != NULL
        && strlen(ai->ai_canonname) < cap)
        snprintf(buf, cap, "%s", ai->ai_canonname);
    if (ai != NULL)
        freeaddrinfo(ai);
}

/* n random bytes: getrandom(), else /dev/urandom, else (neither can give
 * any) the time, the pid and a counter mixed: a Message-ID needs
 * uniqueness, not secrecy. */
static void random_bytes(unsigned char *r, size_t n)
{
    static uint64_t calls;
    struct timespec ts;
    uint64_t x;
    int fd;

    if (getrandom(r, n, GRND_NONBLOCK) == (ssize_t)n)
        return;
    fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t got = read(fd, r, n);
        close(fd);
        if (got == (ssize_t)n)
            return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (++calls << 20);
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        r[i] = (unsigned char)(x >> 56);
    }
}

/* Hex of RPT_RANDOM_BYTES random bytes. */
static void random_hex(char out[2 * RPT_RANDOM_BYTES + 1])
{
    unsigned char r[RPT_RANDOM_BYTES];

    random_bytes(r, sizeof r);
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static void put_part(struct rpt_mail *m, const char *boundary, const char *subtype, const char *text)
{
    rpt_mail_put(m, "\n--");
    rpt_mail_put(m, boundary);
    rpt_mail_put(m, "\nContent-Type: text/");
    rpt_mail_put(m, subtype);
    rpt_mail_put(m, "; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n");
    rpt_mail_qp(m, text, strlen(text));
}

int rpt_email_build(const struct rpt_digest *d, const struct rpt_email_opts *o, char **out,
                    size_t *out_len, struct tr_err *err)
{
    char host[RPT_HOSTNAME_MAX], rnd[2 * RPT_RANDOM_BYTES + 1], boundary[64], *from_default = NULL, *s;
    struct rpt_mail m;
    int rc = -1;

    rpt_mail_init(&m, RPT_MESSAGE_MAX);
    hostname(host, sizeof host);
    if (o->from == NULL)
        from_default = xasprintf("tlsrpt-report@%s", host);
    if (rpt_mail_address_header(&m, "From", "from", o->from ? o->from : from_default, err) < 0 ||
        rpt_mail_address_header(&m, "To", "to", o->to ? o->to : "postmaster", err) < 0)
        goto done;
    s = rpt_digest_subject(d);
    rpt_mail_text_header(&m, "Subject", s);
    free(s);
    rpt_mail_date_header(&m, o->date);
    random_hex(rnd);
    s = xasprintf("Message-ID: <%lld.%ld.%s@%s>\n", (long long)o->date, (long)getpid(), rnd, host);
    rpt_mail_put(&m, s);
    free(s);
    /* Quoted-printable never writes "=_" ('=' starts "=XX" or a soft
     * break), so no body line can contain the boundary. */
    random_hex(rnd);
    snprintf(boundary, sizeof boundary, "=_tlsrpt_%s", rnd);
    rpt_mail_put(&m, "MIME-Version: 1.0\nAuto-Submitted: auto-generated\nX-Mailer: tlsrpt-report " TLSRPT_VERSION "\n");
    rpt_mail_put(&m, "Content-Type: multipart/alternative;\n boundary=\"");
    rpt_mail_put(&m, boundary);
    rpt_mail_put(&m, "\"\n");
    s = rpt_digest_text(d);
    put_part(&m, boundary, "plain", s);
    free(s);
    s = rpt_digest_html(d);
    put_part(&m, boundary, "html", s);
    free(s);
    /* The LF before "--" belongs to the delimiter (RFC 2046 5.1.1): a part
     * is exactly its text. */
    rpt_mail_put(&m, "\n--");
    rpt_mail_put(&m, boundary);
    rpt_mail_put(&m, "--\n");
    if (m.full) {
        tr_err_set(err, TR_E_IO, "the message would exceed %zu bytes", RPT_MESSAGE_MAX);
        goto done;
    }
    *out = (char *)tr_buf_steal(&m.b, out_len);
    rc = 0;
done:
    free(from_default);
    tr_buf_free(&m.b);
    return rc;
}

int rpt_email_sendmail(const char *path, const char *msg, size_t len, struct tr_err *err)
{
    struct sigaction ign, old;
    int fds[2], status;
    pid_t pid;
    size_t off = 0;
    int werr = 0;

    if (pipe(fds) != 0) {
        tr_err_set(err, TR_E_IO, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        tr_err_set(err, TR_E_IO, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        char *const argv[] = {(char *)path, (char *)"-t", (char *)"-i", NULL};
        close(fds[1]);
        if (dup2(fds[0], STDIN_FILENO) < 0)
            _exit(127);
        close(fds[0]);
        execv(path, argv);
        _exit(127);
    }
    close(fds[0]);
    /* A sendmail that exits early must not kill us with SIGPIPE. */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    while (off < len) {
        ssize_t n = write(fds[1], msg + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            werr = errno;
            break;
        }
        off += (size_t)n;
    }
    close(fds[1]);
    sigaction(SIGPIPE, &old, NULL);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            tr_err_set(err, TR_E_IO, "waitpid: %s", strerror(errno));
            return -1;
        }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            tr_err_set(err, TR_E_IO, "%s: cannot be run", path);
        else if (WIFEXITED(status))
            tr_err_set(err, TR_E_IO, "%s exited with status %d", path, WEXITSTATUS(status));
        else
            tr_err_set(err, TR_E_IO, "%s was killed by signal %d", path, WTERMSIG(status));
        return -1;
    }
    if (werr != 0) {
        tr_err_set(err, TR_E_IO, "writing to %s: %s", path, strerror(werr));
        return -1;
    }
    return 0;
}
