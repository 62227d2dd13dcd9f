/*
 * email.c - wraps the digest's Subject, text and HTML in a MIME message,
 * and pipes a message to sendmail.
 *
 * The message is written here, not with GMime (which tlsrpt-ingest uses to
 * parse mail): loading GMime and what it pulls in (gio, gobject, gpgme and
 * 12 more shared objects) cost every run of every tlsrpt-report command
 * 2.5-3 ms, a quarter of trend's 10 ms budget (BENCHMARKS.md), and every
 * part of this one message is ours.  What it takes:
 *  - bodies: UTF-8, quoted-printable (RFC 2045 6.7), so the message is
 *    7-bit whatever the reports contained;
 *  - Subject and display names: as they are when printable ASCII, else
 *    RFC 2047 "B" encoded words split at UTF-8 character boundaries;
 *  - header lines folded before 78 columns where there is a space;
 *  - addresses: a strict subset of RFC 5322 (see parse_address), ASCII.
 */
#include "email.h"
#include "tlsrpt/codes.h"

#include <errno.h>
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
/* Header lines are folded to stay within this many columns where they can
 * be (RFC 5322 2.1.1); an encoded word is at most 75 (RFC 2047 2). */
#define RPT_HEADER_COLS 78
#define RPT_EWORD_MAX 75
/* A header line holding encoded words: at most 76 (RFC 2047 2). */
#define RPT_EWORD_LINE 76
/* A longer run without a space is sent as encoded words, which can be
 * split: a header line must stay under 998 characters (RFC 5322 2.1.1). */
#define RPT_WORD_MAX 200
/* Quoted-printable lines: at most 76 characters (RFC 2045 6.7 (5)). */
#define RPT_QP_COLS 76
/* Random bytes in the boundary and the Message-ID. */
#define RPT_RANDOM_BYTES 12

/* The message being written; full once an append would pass the cap. */
struct out {
    struct tr_buf b;
    int full;
};

static void add(struct out *o, const void *p, size_t n)
{
    if (tr_buf_append(&o->b, p, n) < 0)
        o->full = 1;
}

static void put(struct out *o, const char *s)
{
    add(o, s, strlen(s));
}

/* Fills buf with cap-1 chars of host name safe in a Message-ID and an
 * address: letters, digits, '-' and '.', else "localhost". */
static void hostname(char *buf, size_t cap)
{
    int ok;

    if (gethostname(buf, cap) != 0)
        buf[0] = '\0';
    buf[cap - 1] = '\0';
    ok = buf[0] != '\0' && strspn(buf, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") ==
                                strlen(buf);
    if (!ok)
        snprintf(buf, cap, "localhost");
}

/* Hex of RPT_RANDOM_BYTES random bytes (getrandom; time and pid mixed in
 * when the kernel has none to give: uniqueness, not secrecy, is needed). */
static void random_hex(char out[2 * RPT_RANDOM_BYTES + 1])
{
    unsigned char r[RPT_RANDOM_BYTES];
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        uint64_t x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof r; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            r[i] = (unsigned char)(x >> 56);
        }
    }
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static void put_base64(struct out *b, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        add(b, q, 4);
    }
}

/* Printable ASCII without "=?" (which a reader would take for an encoded
 * word) and no word too long to fold: a header may carry it as it is. */
static int plain_ascii(const char *s)
{
    size_t word = 0;
    for (const char *p = s; *p; p++) {
        if (*p < 0x20 || *p > 0x7e || (p[0] == '=' && p[1] == '?'))
            return 0;
        word = *p == ' ' ? 0 : word + 1;
        if (word > RPT_WORD_MAX)
            return 0;
    }
    return 1;
}

/* s as RFC 2047 encoded words, *col being the column the first starts at;
 * each word holds whole UTF-8 characters (a stray byte is a character),
 * words are separated by a fold. */
static void put_encoded_words(struct out *b, const char *s, size_t *col)
{
    static const char pre[] = "=?utf-8?B?", post[] = "?=";
    size_t len = strlen(s), i = 0;

    do {
        size_t room = *col < RPT_EWORD_LINE ? RPT_EWORD_LINE - *col : 0, max, n;

        if (room > RPT_EWORD_MAX)
            room = RPT_EWORD_MAX;
        max = room >= sizeof pre + sizeof post + 2 ? (room - (sizeof pre - 1) - (sizeof post - 1)) / 4 * 3 : 0;

        if (max == 0) {              /* no room left on this line */
            put(b, "\n ");
            *col = 1;
            continue;
        }
        n = len - i < max ? len - i : max;
        while (n > 0 && i + n < len && ((unsigned char)s[i + n] & 0xC0) == 0x80 && n > max - 3)
            n--;                     /* do not end inside a character */
        put(b, pre);
        put_base64(b, (const unsigned char *)s + i, n);
        put(b, post);
        *col += (sizeof pre - 1) + (n + 2) / 3 * 4 + (sizeof post - 1);
        i += n;
        if (i < len) {
            put(b, "\n ");
            *col = 1;
        }
    } while (i < len);
}

/* "Name: value\n" for free text: as it is (folded at spaces) when it can
 * be, else encoded words. */
static void put_text_header(struct out *b, const char *name, const char *value)
{
    size_t col = strlen(name) + 2;

    put(b, name);
    put(b, ": ");
    if (!plain_ascii(value)) {
        put_encoded_words(b, value, &col);
    } else {
        const char *p = value;
        while (*p) {
            size_t word = strcspn(p + 1, " ") + 1;     /* up to the next space */
            if (col + word > RPT_HEADER_COLS && p != value && *p == ' ') {
                put(b, "\n");
                col = 0;
            }
            add(b, p, word);
            col += word;
            p += word;
        }
    }
    put(b, "\n");
}

/* ---------------------------------------------------------------- addresses
 *
 * Accepted, comma-separated:  addr-spec  |  [display-name] <addr-spec>
 * where addr-spec is local-part[@domain] in ASCII letters, digits and
 * !#$%&'*+-/=?^_`{|}~. (the domain: letters, digits, '-', '.', or an
 * address literal in brackets), and a display name is words or a
 * "quoted string" (backslash escapes), any UTF-8 but no control character.
 * A bare local part ("postmaster") is kept for sendmail to qualify. */

/* Longest addr-spec (RFC 5321 4.5.3.1.3: a path is at most 256 octets). */
#define RPT_ADDR_SPEC_MAX 254
#define CONTROLS "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14" \
                 "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f"
#define ATEXT "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~."
#define DTEXT "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."

static int valid_addr_spec(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    size_t local = at ? (size_t)(at - s) : n, dom = at ? n - local - 1 : 0;

    if (n > RPT_ADDR_SPEC_MAX || local == 0 || strspn(s, ATEXT) < local || s[0] == '.' || s[local - 1] == '.')
        return 0;
    if (at == NULL)
        return 1;
    at++;
    if (dom >= 2 && at[0] == '[' && at[dom - 1] == ']') {
        for (size_t i = 1; i + 1 < dom; i++)
            if (at[i] <= 0x20 || at[i] > 0x7e || at[i] == '[' || at[i] == ']' || at[i] == '\\')
                return 0;
        return 1;
    }
    return dom > 0 && strspn(at, DTEXT) >= dom && at[0] != '.' && at[0] != '-';
}

/* The display name of [s, e) (trimmed, quotes and escapes removed) into
 * *name (caller-owned, "" when none).  Returns 0, or -1 when malformed. */
static int display_name(const char *s, const char *e, char **name)
{
    char *out = xmalloc((size_t)(e - s) + 1), *o = out;
    int quoted = 0, space = 0;

    for (; s < e; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            goto bad;
        if (quoted) {
            if (c == '"') {
                quoted = 0;
                continue;
            }
            if (c == '\\' && ++s == e)
                goto bad;
            *o++ = *s;
        } else if (c == '"') {
            if (space)
                *o++ = ' ';
            space = 0;
            quoted = 1;
        } else if (c == ' ' || c == '\t') {
            space = o > out;
        } else if (strchr("<>@,;:\\[]()", c)) {
            goto bad;
        } else {
            if (space)
                *o++ = ' ';
            space = 0;
            *o++ = (char)c;
        }
    }
    if (quoted)
        goto bad;
    *o = '\0';
    *name = out;
    return 0;
bad:
    free(out);
    return -1;
}

/* A display name as a header phrase: an atom sequence when it is one, a
 * quoted string when it has specials, encoded words when not ASCII. */
static void put_phrase(struct out *b, const char *name, size_t *col)
{
    if (!plain_ascii(name) || strlen(name) > RPT_HEADER_COLS) {
        put_encoded_words(b, name, col);
    } else if (name[strcspn(name, "()<>[]:;@\\,.\"")] == '\0') {
        put(b, name);
        *col += strlen(name);
    } else {
        put(b, "\"");
        for (const char *p = name; *p; p++) {
            if (*p == '"' || *p == '\\')
                put(b, "\\");
            add(b, p, 1);
        }
        put(b, "\"");
        *col += strlen(name) + 2;
    }
}

/* Splits at commas outside quotes and angle brackets; -1 on unbalanced. */
static const char *next_element(const char *s)
{
    int quoted = 0, angle = 0;
    for (; *s; s++) {
        if (quoted && *s == '\\' && s[1])
            s++;
        else if (*s == '"')
            quoted = !quoted;
        else if (!quoted && *s == '<')
            angle++;
        else if (!quoted && *s == '>')
            angle--;
        else if (!quoted && !angle && *s == ',')
            return s;
    }
    return s;
}

/* "Name: list\n" from an address list given on the command line. */
static int put_address_header(struct out *b, const char *name, const char *opt, const char *value,
                              struct tr_err *err)
{
    size_t col = strlen(name) + 2, n_addr = 0;
    const char *p = value;

    if (strlen(value) > RPT_ADDR_MAX) {
        tr_err_set(err, TR_E_USAGE, "--%s: longer than %d bytes", opt, RPT_ADDR_MAX);
        return -1;
    }
    put(b, name);
    put(b, ": ");
    for (;;) {
        const char *end = next_element(p), *lt, *gt, *a = p, *z = end;
        char *dname = NULL;

        while (a < z && (*a == ' ' || *a == '\t'))
            a++;
        while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
            z--;
        for (lt = z; lt > a && lt[-1] != '<'; lt--)   /* the last '<': a quoted name may hold one */
            ;
        lt = lt > a ? lt - 1 : NULL;
        gt = lt ? memchr(lt, '>', (size_t)(z - lt)) : NULL;
        if (a == z || (lt && (gt == NULL || gt + 1 != z)) || (!lt && memchr(a, '>', (size_t)(z - a))) ||
            (lt ? !valid_addr_spec(lt + 1, (size_t)(gt - lt - 1)) : !valid_addr_spec(a, (size_t)(z - a))) ||
            (lt && display_name(a, lt, &dname) < 0)) {
            if (a == z)
                tr_err_set(err, TR_E_USAGE, "--%s: an empty address in the list", opt);
            else if (strcspn(a, CONTROLS) < (size_t)(z - a))
                tr_err_set(err, TR_E_USAGE, "--%s: an address holds a control character", opt);
            else
                tr_err_set(err, TR_E_USAGE, "--%s: not an address: '%.*s' (use name@domain or Name <name@domain>)",
                           opt, (int)(z - a < 200 ? z - a : 200), a);
            return -1;
        }
        if (n_addr++ > 0) {
            put(b, ",\n ");
            col = 1;
        }
        if (dname && dname[0]) {
            put_phrase(b, dname, &col);
            put(b, " ");
            col++;
        }
        if (dname && dname[0]) {   /* name <addr>, else the bare addr-spec */
            add(b, lt, (size_t)(gt - lt + 1));
            col += (size_t)(gt - lt + 1);
        } else {
            add(b, lt ? lt + 1 : a, lt ? (size_t)(gt - lt - 1) : (size_t)(z - a));
            col += (size_t)(lt ? gt - lt - 1 : z - a);
        }
        free(dname);
        if (*end == '\0')
            break;
        p = end + 1;
    }
    put(b, "\n");
    return 0;
}

/* ---------------------------------------------------------------- bodies */

/* text as quoted-printable: LF is a line break; '=', controls, bytes over
 * 0x7e and a space or tab that ends a line are escaped; "From " at a line
 * start too (mbox readers would mangle it); soft breaks keep lines within
 * RPT_QP_COLS.  A CR is escaped (=0D), not dropped. */
static void put_qp(struct out *b, const char *text)
{
    size_t col = 0;

    for (const char *p = text; *p; p++) {
        unsigned char c = (unsigned char)*p;
        char esc[4];
        int lit;

        if (c == '\n') {
            put(b, "\n");
            col = 0;
            continue;
        }
        lit = (c >= 0x21 && c <= 0x7e && c != '=') || ((c == ' ' || c == '\t') && p[1] != '\n' && p[1] != '\0');
        /* A soft break ("=" then LF) takes a column: a char may use the
         * last one only when the line ends after it. */
        if (col + (lit ? 1u : 3u) > RPT_QP_COLS - (p[1] == '\n' || p[1] == '\0' ? 0u : 1u)) {
            put(b, "=\n");
            col = 0;
        }
        if (col == 0 && strncmp(p, "From ", 5) == 0)
            lit = 0;
        if (lit) {
            add(b, p, 1);
            col++;
        } else {
            snprintf(esc, sizeof esc, "=%02X", c);
            add(b, esc, 3);
            col += 3;
        }
    }
    if (col > 0)
        put(b, "\n");
}

static void put_part(struct out *b, const char *boundary, const char *subtype, const char *text)
{
    put(b, "\n--");
    put(b, boundary);
    put(b, "\nContent-Type: text/");
    put(b, subtype);
    put(b, "; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n");
    put_qp(b, text);
}

/* RFC 5322 date, English names whatever the locale. */
static void put_date(struct out *b, int64_t t)
{
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    char s[64];

    if (gmtime_r(&tt, &tm) == NULL)
        memset(&tm, 0, sizeof tm);
    snprintf(s, sizeof s, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\n", wd[tm.tm_wday % 7], tm.tm_mday,
             mo[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    put(b, s);
}

int rpt_email_build(const struct rpt_digest *d, const struct rpt_email_opts *o, char **out,
                    size_t *out_len, struct tr_err *err)
{
    char host[RPT_HOSTNAME_MAX], rnd[2 * RPT_RANDOM_BYTES + 1], boundary[64], *from_default = NULL, *s;
    struct out b = {{0}, 0};
    int rc = -1;

    tr_buf_init(&b.b, RPT_MESSAGE_MAX);
    hostname(host, sizeof host);
    if (o->from == NULL)
        from_default = xasprintf("tlsrpt-report@%s", host);
    if (put_address_header(&b, "From", "from", o->from ? o->from : from_default, err) < 0 ||
        put_address_header(&b, "To", "to", o->to ? o->to : "postmaster", err) < 0)
        goto done;
    s = rpt_digest_subject(d);
    put_text_header(&b, "Subject", s);
    free(s);
    put_date(&b, o->date);
    random_hex(rnd);
    s = xasprintf("Message-ID: <%lld.%ld.%s@%s>\n", (long long)o->date, (long)getpid(), rnd, host);
    put(&b, s);
    free(s);
    random_hex(rnd);
    /* QP never writes "=_" ('=' starts "=XX" or a soft break): a body
     * cannot contain the boundary. */
    snprintf(boundary, sizeof boundary, "=_tlsrpt_%s", rnd);
    put(&b, "MIME-Version: 1.0\nAuto-Submitted: auto-generated\nX-Mailer: tlsrpt-report " TLSRPT_VERSION "\n");
    put(&b, "Content-Type: multipart/alternative;\n boundary=\"");
    put(&b, boundary);
    put(&b, "\"\n");
    s = rpt_digest_text(d);
    put_part(&b, boundary, "plain", s);
    free(s);
    s = rpt_digest_html(d);
    put_part(&b, boundary, "html", s);
    free(s);
    put(&b, "\n--");
    put(&b, boundary);
    put(&b, "--\n");
    if (b.full) {
        tr_err_set(err, TR_E_IO, "the message would exceed %zu bytes", RPT_MESSAGE_MAX);
        goto done;
    }
    *out = (char *)tr_buf_steal(&b.b, out_len);
    rc = 0;
done:
    free(from_default);
    tr_buf_free(&b.b);
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
