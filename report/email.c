/*
 * email.c - wraps the digest's Subject, text and HTML in a MIME message
 * with GMime, and pipes a message to sendmail.
 *
 * GMime owns the encodings: the Subject and display names are RFC 2047
 * encoded when they are not ASCII, both bodies are UTF-8 and
 * quoted-printable so the message is 7-bit clean whatever the reports
 * contained.
 */
#include "email.h"
#include "tlsrpt/codes.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Longest host name used in the default From and in the Message-ID. */
#define RPT_HOSTNAME_MAX 256

static void hostname(char *buf, size_t cap)
{
    if (gethostname(buf, cap) != 0 || buf[0] == '\0')
        snprintf(buf, cap, "localhost");
    buf[cap - 1] = '\0';
}

/* Parses an address list into the message's list of that type. */
static int add_addresses(GMimeMessage *m, GMimeAddressType type, const char *opt, const char *value,
                         struct tr_err *err)
{
    InternetAddressList *list;

    if (strlen(value) > RPT_ADDR_MAX || strpbrk(value, "\r\n") != NULL) {
        tr_err_set(err, TR_E_USAGE, "--%s: not a usable address", opt);
        return -1;
    }
    list = internet_address_list_parse(NULL, value);
    if (list == NULL || internet_address_list_length(list) == 0) {
        if (list)
            g_object_unref(list);
        tr_err_set(err, TR_E_USAGE, "--%s: cannot parse address '%s'", opt, value);
        return -1;
    }
    internet_address_list_append(g_mime_message_get_addresses(m, type), list);
    g_object_unref(list);
    return 0;
}

static GMimeObject *text_part(const char *subtype, const char *text)
{
    GMimeTextPart *p = g_mime_text_part_new_with_subtype(subtype);
    g_mime_text_part_set_text(p, text);
    g_mime_text_part_set_charset(p, "utf-8");
    g_mime_part_set_content_encoding(GMIME_PART(p), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    return GMIME_OBJECT(p);
}

int rpt_email_build(const struct rpt_digest *d, const struct rpt_email_opts *o, char **out,
                    size_t *out_len, struct tr_err *err)
{
    char host[RPT_HOSTNAME_MAX], *from_default = NULL, *subject, *text, *html, *msgid;
    GMimeMessage *m;
    GMimeMultipart *alt;
    GMimeObject *part;
    GMimeStream *stream;
    GByteArray *bytes;
    GDateTime *date;
    int rc = -1;

    g_mime_init();
    hostname(host, sizeof host);
    m = g_mime_message_new(TRUE);
    if (o->from == NULL)
        from_default = xasprintf("tlsrpt-report@%s", host);
    if (add_addresses(m, GMIME_ADDRESS_TYPE_FROM, "from", o->from ? o->from : from_default, err) < 0 ||
        add_addresses(m, GMIME_ADDRESS_TYPE_TO, "to", o->to ? o->to : "postmaster", err) < 0)
        goto done;

    subject = rpt_digest_subject(d);
    g_mime_message_set_subject(m, subject, "utf-8");
    free(subject);
    date = g_date_time_new_from_unix_utc(o->date);
    g_mime_message_set_date(m, date);
    g_date_time_unref(date);
    msgid = g_mime_utils_generate_message_id(host);
    g_mime_message_set_message_id(m, msgid);
    g_free(msgid);
    g_mime_object_set_header(GMIME_OBJECT(m), "Auto-Submitted", "auto-generated", NULL);
    g_mime_object_set_header(GMIME_OBJECT(m), "X-Mailer", "tlsrpt-report " TLSRPT_VERSION, NULL);

    alt = g_mime_multipart_new_with_subtype("alternative");
    text = rpt_digest_text(d);
    part = text_part("plain", text);
    g_mime_multipart_add(alt, part);
    g_object_unref(part);
    free(text);
    html = rpt_digest_html(d);
    part = text_part("html", html);
    g_mime_multipart_add(alt, part);
    g_object_unref(part);
    free(html);
    g_mime_message_set_mime_part(m, GMIME_OBJECT(alt));
    g_object_unref(alt);

    stream = g_mime_stream_mem_new();
    if (g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, stream) < 0) {
        tr_err_set(err, TR_E_IO, "cannot serialize the message");
        g_object_unref(stream);
        goto done;
    }
    bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
    *out = xmalloc(bytes->len + 1);
    memcpy(*out, bytes->data, bytes->len);
    (*out)[bytes->len] = '\0';
    *out_len = bytes->len;
    g_object_unref(stream);
    rc = 0;
done:
    free(from_default);
    g_object_unref(m);
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
