/*
 * imap.c - the IMAP client of tlsrpt-ingest --imap (imap.h), on libcurl.
 *
 * One easy handle for the whole run, so libcurl keeps one connection (TLS
 * and login once).  libcurl selects the URL's mailbox itself (SELECT) and,
 * once imap_pin_uidvalidity() was called, checks its UIDVALIDITY there.
 * A message is fetched with libcurl's own FETCH (";UID=n", ";PARTIAL="),
 * which reads the literal by its length; custom commands (CUSTOMREQUEST)
 * are used only where the answer has no literal: STATUS, the listing of
 * UID, RFC822.SIZE and FLAGS, STORE, MOVE, COPY, EXPUNGE.
 *
 * TLS is always verified (peer and host name, TLS 1.2 at least): imaps://
 * is TLS from the start, imap:// must upgrade with STARTTLS
 * (CURLUSESSL_ALL) or the run fails; there is no plain-text mode.  Every
 * wait is capped by the IMAP_*_S limits below.  Text from the server
 * (its last tagged answer, kept for error messages) is made printable
 * with tr_printable() before it reaches an error detail.
 */
#include "imap.h"
#include "imapparse.h"
#include "tlsrpt/codes.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IMAP_CONNECT_TIMEOUT_S  30    /* TCP connect and TLS handshake */
#define IMAP_RESPONSE_TIMEOUT_S 60    /* waiting for any one server response */
#define IMAP_LOW_SPEED_BYTES    256   /* a transfer slower than this many bytes/s ... */
#define IMAP_LOW_SPEED_TIME_S   60    /* ... for this long is aborted */
#define IMAP_REQUEST_TIMEOUT_S  900   /* one command with its answer, at most (25 MiB at 30 KB/s) */
#define IMAP_COMMAND_MAX        4096  /* one custom command (UID sets are capped by the caller,
                                         mailbox names at IMAP_MAILBOX_MAX) */
/* The listing goes in windows of UIDs.  libcurl counts every line of a
 * custom command's answer as a response header and refuses more than
 * 300 KiB of them, counting the unread rest of its buffer again at each
 * line (measured with Debian 12's libcurl: 256 lines of 47 bytes fail,
 * 32 pass).  So a window's answer is cut after IMAP_LIST_LINES_MAX lines
 * (or when libcurl refuses it) and asked again IMAP_LIST_SHRINK times
 * smaller; a window with few messages makes the next one IMAP_LIST_GROW
 * times larger, so sparse UIDs cost few round trips. */
#define IMAP_LIST_WINDOW        32           /* UIDs of the first window (and of a dense mailbox) */
#define IMAP_LIST_WINDOW_MAX    (1u << 24)   /* UIDs of the largest window */
#define IMAP_LIST_LINES_MAX     64           /* lines of one window's answer */
#define IMAP_LIST_GROW          4
#define IMAP_LIST_SHRINK        16

struct imap_conn {
    CURL *c;
    char *base;                /* "imaps://HOST:PORT/" */
    char *mailbox;             /* as given (decoded) */
    char *mbox_url;            /* base + escaped mailbox [+ ";UIDVALIDITY=V"] */
    char *key, *display;
    char errbuf[CURL_ERROR_SIZE];
    char tagged[IMAP_SERVER_TEXT_MAX];  /* last "TAG OK/NO/BAD text" line, printable */
};

/* ---- names ---- */

int imap_check_mailbox_name(const char *name, struct tr_err *err)
{
    if (name[0] == '\0') {
        tr_err_set(err, IMAP_E_URL, "empty mailbox name");
        return -1;
    }
    if (strlen(name) > IMAP_MAILBOX_MAX) {
        tr_err_set(err, IMAP_E_URL, "mailbox name '%.40s...': over %d bytes", name, IMAP_MAILBOX_MAX);
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\' || *p == ';') {
            tr_err_set(err, IMAP_E_URL, "mailbox name '%.100s': only printable ASCII without "
                       "\", \\ and ; (a non-ASCII name in its modified UTF-7 form)", name);
            return -1;
        }
    }
    return 0;
}

/* ---- libcurl callbacks ---- */

/* Keeps the server's last tagged answer line ("A004 NO [...] text"),
 * or its first NO or BAD. */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
    struct imap_conn *ic = arg;
    (void)c;
    if (type == CURLINFO_HEADER_IN)
        imap_keep_tagged(ic->tagged, sizeof ic->tagged, data, size);
    return 0;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p; (void)arg;
    return size * n;
}

static size_t on_lines(char *p, size_t size, size_t n, void *arg)
{
    return imap_lines_feed(arg, p, size * n);
}

/* A message's bytes into a capped buffer; over the cap the transfer stops. */
struct body {
    struct tr_buf *b;
    int over;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct body *bd = arg;
    size_t room = bd->b->cap - bd->b->len;

    if (size * n > room) {
        (void)tr_buf_append(bd->b, p, room);       /* keep the first cap bytes */
        bd->over = 1;
        return 0;
    }
    return tr_buf_append(bd->b, p, size * n) < 0 ? 0 : size * n;
}

/* ---- requests ---- */

static int fail(struct imap_conn *ic, CURLcode rc, const char *what, struct tr_err *err)
{
    const char *why = ic->errbuf[0] ? ic->errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_LOGIN_DENIED)
        tr_err_set(err, IMAP_E_LOGIN, "%s: login refused by the server (%s%s%s)", what, why,
                   ic->tagged[0] ? "; it said: " : "", ic->tagged);
    else
        tr_err_set(err, IMAP_E_SERVER, "%s: %s%s%s", what, why, ic->tagged[0] ? "; the server said: " : "",
                   ic->tagged);
    return -1;
}

/* One request on url: a custom command (NULL: libcurl's FETCH of the URL),
 * the answer to write(ctx).  Returns 0 or -1 with err. */
static int perform(struct imap_conn *ic, const char *url, const char *command,
                   size_t (*write)(char *, size_t, size_t, void *), void *ctx, CURLcode *rc_out,
                   struct tr_err *err)
{
    CURLcode rc;

    ic->errbuf[0] = '\0';
    ic->tagged[0] = '\0';
    curl_easy_setopt(ic->c, CURLOPT_URL, url);
    curl_easy_setopt(ic->c, CURLOPT_CUSTOMREQUEST, command);
    curl_easy_setopt(ic->c, CURLOPT_WRITEFUNCTION, write);
    curl_easy_setopt(ic->c, CURLOPT_WRITEDATA, ctx);
    rc = curl_easy_perform(ic->c);
    if (rc_out)
        *rc_out = rc;
    if (rc != CURLE_OK)
        return fail(ic, rc, command ? command : "FETCH", err);
    return 0;
}

/* A custom command on the mailbox, answer discarded. */
static int command(struct imap_conn *ic, struct tr_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int command(struct imap_conn *ic, struct tr_err *err, const char *fmt, ...)
{
    char cmd[IMAP_COMMAND_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd) {
        tr_err_set(err, IMAP_E_SERVER, "IMAP command longer than %d bytes", IMAP_COMMAND_MAX);
        return -1;
    }
    return perform(ic, ic->mbox_url, cmd, discard, NULL, NULL, err);
}

/* ---- open / close ---- */

static char *url_part(CURLU *u, CURLUPart what, unsigned flags)
{
    char *s = NULL, *copy;
    if (curl_url_get(u, what, &s, flags) != CURLUE_OK || s == NULL)
        return NULL;
    copy = xstrdup(s);
    curl_free(s);
    return copy;
}

int imap_open(const struct imap_conf *conf, struct imap_conn **out, struct tr_err *err)
{
    CURLU *u = curl_url();
    struct imap_conn *ic;
    char *scheme = NULL, *user = NULL, *pass = NULL, *opts = NULL, *host = NULL, *port = NULL;
    char *path = NULL, *raw_path = NULL, *query = NULL, *frag = NULL, *esc;
    int rc = -1;

    *out = NULL;
    if (u == NULL)
        tr_oom();
    if (curl_url_set(u, CURLUPART_URL, conf->url, 0) != CURLUE_OK) {
        tr_err_set(err, IMAP_E_URL, "'%.200s' is not a URL (imaps://USER@HOST[:PORT]/MAILBOX)", conf->url);
        goto out;
    }
    scheme = url_part(u, CURLUPART_SCHEME, 0);
    user = url_part(u, CURLUPART_USER, CURLU_URLDECODE);
    pass = url_part(u, CURLUPART_PASSWORD, 0);
    opts = url_part(u, CURLUPART_OPTIONS, 0);
    host = url_part(u, CURLUPART_HOST, 0);
    port = url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
    path = url_part(u, CURLUPART_PATH, CURLU_URLDECODE);
    raw_path = url_part(u, CURLUPART_PATH, 0);
    query = url_part(u, CURLUPART_QUERY, 0);
    frag = url_part(u, CURLUPART_FRAGMENT, 0);
    if (scheme == NULL || (strcmp(scheme, "imaps") != 0 && strcmp(scheme, "imap") != 0)) {
        tr_err_set(err, IMAP_E_URL, "--imap wants imaps://USER@HOST[:PORT]/MAILBOX (or imap:// with "
                   "STARTTLS), not '%.200s'", conf->url);
        goto out;
    }
    if (pass != NULL) {
        tr_err_set(err, IMAP_E_URL, "no password in the URL: give it with --imap-password-file or "
                   "$TLSRPT_IMAP_PASSWORD");
        goto out;
    }
    if (user == NULL || user[0] == '\0' || host == NULL || port == NULL) {
        tr_err_set(err, IMAP_E_URL, "the URL wants a user and a host: imaps://USER@HOST[:PORT]/MAILBOX");
        goto out;
    }
    for (const char *p = user; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            tr_err_set(err, IMAP_E_URL, "the user name in the URL has a control character");
            goto out;
        }
    }
    if (query || frag || opts) {
        tr_err_set(err, IMAP_E_URL, "the URL takes no ?query, #fragment or ;options");
        goto out;
    }
    /* libcurl will not decode %00: never fall back to INBOX for it. */
    if (path == NULL && raw_path != NULL && strcmp(raw_path, "/") != 0 && raw_path[0] != '\0') {
        tr_err_set(err, IMAP_E_URL, "the mailbox in the URL does not decode to a name (%%00?)");
        goto out;
    }
    ic = xcalloc(1, sizeof *ic);
    ic->mailbox = xstrdup(path && path[0] == '/' && path[1] ? path + 1 : "INBOX");
    if (imap_check_mailbox_name(ic->mailbox, err) < 0) {
        imap_close(ic);
        goto out;
    }
    for (char *p = host; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    ic->c = curl_easy_init();
    if (ic->c == NULL)
        tr_oom();
    esc = curl_easy_escape(ic->c, ic->mailbox, 0);
    if (esc == NULL)
        tr_oom();
    ic->base = xasprintf("%s://%s:%s/", scheme, host, port);
    ic->mbox_url = xasprintf("%s%s", ic->base, esc);
    curl_free(esc);
    /* The port as a number (libcurl gives the scheme's default, 993 or
     * 143, when the URL has none), so "imaps://u@h/INBOX" and
     * "imaps://u@h:993/INBOX" are one mailbox and two servers on one host
     * are two (schema/013-imap-port.sql). */
    ic->key = xasprintf("%s@%s:%lu/%s", user, host, strtoul(port, NULL, 10), ic->mailbox);
    ic->display = xasprintf("%s://%s@%s:%s/%s", scheme, user, host, port, ic->mailbox);

    curl_easy_setopt(ic->c, CURLOPT_USERNAME, user);
    if (conf->password)
        curl_easy_setopt(ic->c, CURLOPT_PASSWORD, conf->password);
    curl_easy_setopt(ic->c, CURLOPT_PROTOCOLS_STR, "imaps,imap");
    curl_easy_setopt(ic->c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    curl_easy_setopt(ic->c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(ic->c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(ic->c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (conf->ca_file != NULL) {
        curl_easy_setopt(ic->c, CURLOPT_CAINFO, conf->ca_file);
        curl_easy_setopt(ic->c, CURLOPT_CAPATH, NULL);
    }
    curl_easy_setopt(ic->c, CURLOPT_CONNECTTIMEOUT, (long)IMAP_CONNECT_TIMEOUT_S);
    curl_easy_setopt(ic->c, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)IMAP_RESPONSE_TIMEOUT_S);
    curl_easy_setopt(ic->c, CURLOPT_LOW_SPEED_LIMIT, (long)IMAP_LOW_SPEED_BYTES);
    curl_easy_setopt(ic->c, CURLOPT_LOW_SPEED_TIME, (long)IMAP_LOW_SPEED_TIME_S);
    curl_easy_setopt(ic->c, CURLOPT_TIMEOUT, (long)IMAP_REQUEST_TIMEOUT_S);
    curl_easy_setopt(ic->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(ic->c, CURLOPT_ERRORBUFFER, ic->errbuf);
    /* The debug callback sees the server's lines (it needs VERBOSE); it
     * keeps the last tagged answer and prints nothing. */
    curl_easy_setopt(ic->c, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(ic->c, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(ic->c, CURLOPT_DEBUGDATA, ic);
    *out = ic;
    rc = 0;
out:
    free(scheme); free(user); free(pass); free(opts); free(host); free(port);
    free(path); free(raw_path); free(query); free(frag);
    curl_url_cleanup(u);
    return rc;
}

void imap_close(struct imap_conn *ic)
{
    if (ic == NULL)
        return;
    if (ic->c)
        curl_easy_cleanup(ic->c);
    free(ic->base); free(ic->mailbox); free(ic->mbox_url); free(ic->key); free(ic->display);
    free(ic);
}

void imap_set_password(struct imap_conn *ic, const char *password)
{
    curl_easy_setopt(ic->c, CURLOPT_PASSWORD, password);
}

const char *imap_key(const struct imap_conn *ic) { return ic->key; }
const char *imap_display(const struct imap_conn *ic) { return ic->display; }

void imap_pin_uidvalidity(struct imap_conn *ic, uint32_t uidvalidity)
{
    char *esc = curl_easy_escape(ic->c, ic->mailbox, 0);
    if (esc == NULL)
        tr_oom();
    free(ic->mbox_url);
    ic->mbox_url = xasprintf("%s%s;UIDVALIDITY=%lu", ic->base, esc, (unsigned long)uidvalidity);
    curl_free(esc);
}

/* ---- STATUS ---- */

int imap_status(struct imap_conn *ic, const char *mailbox, uint32_t *uidvalidity, uint32_t *uidnext,
                struct tr_err *err)
{
    struct imap_lines *l = xcalloc(1, sizeof *l);
    struct imap_status_answer st = { 0, 0, 0 };
    char cmd[IMAP_COMMAND_MAX];
    int rc;

    if (mailbox == NULL)
        mailbox = ic->mailbox;
    if ((size_t)snprintf(cmd, sizeof cmd, "STATUS \"%s\" (UIDVALIDITY UIDNEXT)", mailbox) >= sizeof cmd) {
        tr_err_set(err, IMAP_E_URL, "IMAP command longer than %d bytes", IMAP_COMMAND_MAX);
        return -1;
    }
    l->line = imap_status_line;
    l->ctx = &st;
    rc = perform(ic, ic->base, cmd, on_lines, l, NULL, err);
    free(l);
    if (rc < 0)
        return -1;
    if (!st.seen || st.uidvalidity == 0 || st.uidvalidity > UINT32_MAX || st.uidnext > UINT32_MAX) {
        tr_err_set(err, IMAP_E_SERVER, "STATUS of mailbox %s: no UIDVALIDITY in the answer", mailbox);
        return -1;
    }
    *uidvalidity = (uint32_t)st.uidvalidity;
    *uidnext = (uint32_t)st.uidnext;
    return 0;
}

/* ---- the listing: UID FETCH lo:hi (UID RFC822.SIZE FLAGS) ---- */

static int by_uid(const void *a, const void *b)
{
    uint32_t x = ((const struct imap_msg *)a)->uid, y = ((const struct imap_msg *)b)->uid;
    return x < y ? -1 : x > y;
}

/* One window lo..hi into ls.  Returns 0, 1 when its answer was over
 * IMAP_LIST_LINES_MAX lines or refused by libcurl as too large (nothing of
 * it kept), -1 with err. */
static int list_window(struct imap_conn *ic, struct imap_listing *ls, uint32_t lo, uint32_t hi, struct tr_err *err)
{
    struct imap_lines *l = xcalloc(1, sizeof *l);
    size_t n0 = ls->n;
    char cmd[96];
    CURLcode crc;
    int rc, too_long, over;

    snprintf(cmd, sizeof cmd, "UID FETCH %lu:%lu (UID RFC822.SIZE FLAGS)", (unsigned long)lo, (unsigned long)hi);
    ls->lo = lo;
    ls->hi = hi;
    ls->hits = 0;
    l->line = imap_listing_line;
    l->ctx = ls;
    l->max_lines = IMAP_LIST_LINES_MAX;
    rc = perform(ic, ic->mbox_url, cmd, on_lines, l, &crc, err);
    too_long = l->too_long;
    over = l->over_cap || (rc < 0 && crc == CURLE_RECV_ERROR && hi > lo);
    free(l);
    if (over) {
        ls->n = n0;
        return 1;
    }
    if (rc == 0 && too_long) {
        tr_err_set(err, IMAP_E_SERVER, "the listing of %s has a line over %d bytes", ic->mailbox, IMAP_LINE_MAX);
        rc = -1;
    }
    return rc;
}

int imap_list(struct imap_conn *ic, uint32_t after_uid, uint32_t uidnext, size_t max, struct imap_msg **out,
              size_t *n, int *truncated, struct tr_err *err)
{
    struct imap_listing ls = { NULL, 0, 0, max, 0, 0, 0, 0 };
    uint64_t lo = (uint64_t)after_uid + 1, w = IMAP_LIST_WINDOW;
    uint64_t last = uidnext > 0 ? (uint64_t)uidnext - 1 : UINT32_MAX;

    while (lo <= last && !ls.truncated) {
        uint64_t hi = lo + w - 1 < last ? lo + w - 1 : last;
        int r = list_window(ic, &ls, (uint32_t)lo, (uint32_t)hi, err);
        if (r < 0) {
            free(ls.v);
            return -1;
        }
        if (r == 1) {
            if (w == 1) {
                tr_err_set(err, IMAP_E_SERVER, "the listing of UID %lu is over %d lines", (unsigned long)lo,
                           IMAP_LIST_LINES_MAX);
                free(ls.v);
                return -1;
            }
            w = w / IMAP_LIST_SHRINK ? w / IMAP_LIST_SHRINK : 1;
            continue;
        }
        lo = hi + 1;
        if (ls.hits < w / 4 && w < IMAP_LIST_WINDOW_MAX)
            w *= IMAP_LIST_GROW;
        else if (ls.hits >= w && w > IMAP_LIST_WINDOW)
            w /= IMAP_LIST_GROW;
    }
    /* Sequence order is UID order; sorted anyway, so state only grows. */
    if (ls.n > 1)
        qsort(ls.v, ls.n, sizeof *ls.v, by_uid);
    *out = ls.v;
    *n = ls.n;
    *truncated = ls.truncated;
    return 0;
}

/* ---- one message ---- */

int imap_fetch(struct imap_conn *ic, uint32_t uid, size_t head, struct tr_buf *out, struct tr_err *err)
{
    char *url = head ? xasprintf("%s;UID=%lu;PARTIAL=0.%zu", ic->mbox_url, (unsigned long)uid, head)
                     : xasprintf("%s;UID=%lu", ic->mbox_url, (unsigned long)uid);
    struct body bd = { out, 0 };
    CURLcode rc;
    int r = perform(ic, url, NULL, on_body, &bd, &rc, err);

    free(url);
    if (r == 0)
        return 0;
    if (rc == CURLE_WRITE_ERROR && bd.over)
        return 1;                     /* over out's cap: what fitted is kept */
    /* Deleted since the listing, the server answers without the message
     * (Dovecot: BODY[] NIL, or no FETCH at all).  Gone only when asking for
     * the UID again shows none: any other failure stops the run, so that
     * no message is passed over. */
    if (rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_REMOTE_FILE_NOT_FOUND) {
        struct imap_listing ls = { NULL, 0, 0, 1, 0, 0, 0, 0 };
        struct tr_err again;
        if (list_window(ic, &ls, uid, uid, &again) == 0 && ls.hits == 0)
            tr_err_set(err, IMAP_E_GONE, "UID %lu: the server has no such message now", (unsigned long)uid);
        free(ls.v);
    }
    return -1;
}

/* ---- flags, move ---- */

int imap_store(struct imap_conn *ic, const char *uid_set, const char *flags, struct tr_err *err)
{
    return command(ic, err, "UID STORE %s %s", uid_set, flags);
}

int imap_move(struct imap_conn *ic, const char *uid_set, const char *folder, struct tr_err *err)
{
    struct tr_err move_err;

    if (command(ic, &move_err, "UID MOVE %s \"%s\"", uid_set, folder) == 0)
        return 0;
    /* Without MOVE (RFC 6851) the server answers BAD; then copy, mark
     * \Deleted and expunge just these UIDs (UIDPLUS). */
    if (strstr(ic->tagged, " BAD") == NULL) {
        *err = move_err;
        return -1;
    }
    if (command(ic, err, "UID COPY %s \"%s\"", uid_set, folder) < 0 ||
        imap_store(ic, uid_set, "+FLAGS.SILENT (\\Deleted)", err) < 0 ||
        command(ic, err, "UID EXPUNGE %s", uid_set) < 0)
        return -1;
    return 0;
}
