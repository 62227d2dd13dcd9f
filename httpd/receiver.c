/*
 * receiver.c - see receiver.h.
 *
 * A request's life (the access handler is called several times):
 *  1. headers complete: method POST (else 405), URL == Path (else 404),
 *     Content-Type application/tlsrpt+gzip or +json (else 415), a
 *     Content-Length over MaxBodySize answered 413 before any body is read
 *     (and before "100 Continue");
 *  2. body chunks: appended to a buffer capped at MaxBodySize; past it (a
 *     chunked body, or more than its Content-Length) the rest is dropped
 *     and answered 413 at its end (libmicrohttpd answers only then), or
 *     the connection cut after MaxBodySize more bytes;
 *  3. end of body: checked against the declared type (gzip inflating
 *     within MaxInflatedSize), then read as a report by the ingest's own
 *     parser (check_body), so what the drain would quarantine is refused
 *     now, with the drain's reason code; then written to the spool with
 *     tr_spool_write (fsync, rename) and only then answered 200.  A
 *     refused body is spooled too, with a Reject line (spool.h), so the
 *     drain keeps it in the quarantine, and answered 400 (413 for a gzip
 *     bomb).  A failed write is a 503 with Retry-After: the sender keeps
 *     the report and tries again.
 *
 * Time: IdleTimeout is libmicrohttpd's inactivity timeout.  A client that
 * sends one byte a second is never idle, so every connection is also
 * listed with its start time, and a reaper thread shuts down the socket of
 * any connection older than RequestTimeout (libmicrohttpd then sees the
 * end of the stream and closes it).
 */
#include "receiver.h"
#include "log.h"
#include "worker.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/gunzip.h"
#include "tlsrpt/parse.h"
#include "tlsrpt/spool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RECV_QID_MAX 32
#define RECV_ADDR_MAX 64
#define REAPER_TICK_MS 250

const int recv_refused_codes[6] = { 400, 404, 405, 413, 415, 503 };

static const struct hconf *conf;
static struct MHD_Daemon *daemon_h;
static atomic_ulong n_posts, n_stored, n_refused[6], n_ids;

/* Connections, for the reaper.  Guarded by conn_lock. */
struct conn {
    int fd;
    time_t start;              /* CLOCK_MONOTONIC seconds */
    struct conn *prev, *next;
};
static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reaper_wake;
static struct conn *conns;
static int reaper_stop;
static pthread_t reaper;

enum body_type { BODY_GZIP, BODY_JSON };

/* One request; owned by libmicrohttpd's con_cls, freed in request_done. */
struct request {
    enum body_type type;
    struct tr_buf body;
    int too_big;               /* over MaxBodySize: the rest is dropped, then 413 */
    size_t discarded;          /* bytes dropped since */
    int answered;
    char qid[RECV_QID_MAX];
    char client[RECV_ADDR_MAX];
};

static time_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void count_refused(int code)
{
    for (int i = 0; i < 6; i++)
        if (recv_refused_codes[i] == code)
            atomic_fetch_add(&n_refused[i], 1);
}

/* Queues a short text answer; extra header (may be NULL) "Name", value. */
static enum MHD_Result answer(struct MHD_Connection *c, struct request *r, int code, const char *text,
                              const char *hname, const char *hvalue)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                                MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (hname != NULL)
        MHD_add_response_header(resp, hname, hvalue);
    rc = MHD_queue_response(c, (unsigned)code, resp);
    MHD_destroy_response(resp);
    if (r != NULL)
        r->answered = 1;
    if (code / 100 == 2)
        atomic_fetch_add(&n_stored, 1);
    else
        count_refused(code);
    return rc;
}

static void client_name(struct MHD_Connection *c, char *buf, size_t cap)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(buf, cap, "?");
    if (sa != NULL && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)cap);
    else if (sa != NULL && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)cap);
}

/* The declared type, from Content-Type without parameters; -1 for another. */
static int body_type(const char *ct)
{
    size_t n;

    if (ct == NULL)
        return -1;
    while (*ct == ' ')
        ct++;
    n = strcspn(ct, "; \t");
    if (n == strlen("application/tlsrpt+gzip") && strncasecmp(ct, "application/tlsrpt+gzip", n) == 0)
        return BODY_GZIP;
    if (n == strlen("application/tlsrpt+json") && strncasecmp(ct, "application/tlsrpt+json", n) == 0)
        return BODY_JSON;
    return -1;
}

/*
 * Checks a whole body as the drain will read it: gzip when declared so
 * (inflated within MaxInflatedSize), then the JSON text through the
 * ingest's own tr_parse_report with the limits the drain uses, so a body
 * is refused here exactly when the ingest would quarantine it (jansson's
 * loader alone took a NUL byte after a number, duplicate keys, a JSON
 * object that is no report, and refused a byte order mark the ingest
 * skips).  0 when it reads as a report; else the reason code (codes.h)
 * and HTTP status to answer.
 */
static int check_body(const struct request *r, const char **code, int *status, char *detail, size_t cap)
{
    const struct tr_limits *lim = &conf->ingest.limits;
    const unsigned char *json = r->body.data;
    size_t json_len = r->body.len;
    unsigned char *inflated = NULL;
    struct tr_report *report = NULL;
    struct tr_err err;
    int rc;

    if (r->type == BODY_GZIP) {
        if (!tr_is_gzip(r->body.data, r->body.len)) {
            *code = TR_E_BAD_GZIP;
            *status = 400;
            snprintf(detail, cap, "declared application/tlsrpt+gzip, not gzip data");
            return -1;
        }
        if (tr_gunzip(r->body.data, r->body.len, lim->inflated_size, &inflated, &json_len, &err) < 0) {
            *code = tr_err_is(&err, TR_E_LIMIT_INFLATED_SIZE) ? TR_E_LIMIT_INFLATED_SIZE : TR_E_BAD_GZIP;
            *status = tr_err_is(&err, TR_E_LIMIT_INFLATED_SIZE) ? 413 : 400;
            snprintf(detail, cap, "%.200s", err.detail);
            return -1;
        }
        json = inflated;
    } else if (json_len > lim->inflated_size) {
        /* As the ingest: plain JSON is held to the inflated-size limit. */
        *code = TR_E_LIMIT_INFLATED_SIZE;
        *status = 413;
        snprintf(detail, cap, "report of %zu bytes exceeds the inflated-size limit of %zu", json_len,
                 lim->inflated_size);
        return -1;
    }
    tr_err_clear(&err);
    rc = tr_parse_report(json, json_len, NULL, lim, &report, &err);
    tr_report_free(report);
    free(inflated);
    if (rc < 0) {
        *code = err.code;          /* a static TR_E_* string */
        *status = 400;
        snprintf(detail, cap, "%.200s", err.detail);
        return -1;
    }
    return 0;
}

/* Controls in a detail (parser messages quote the sender's bytes) become '?'. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* Step 3: check, spool, answer. */
static enum MHD_Result finish(struct MHD_Connection *c, struct request *r)
{
    char detail[256], name[TR_SPOOL_NAME_MAX], reply[TR_SPOOL_NAME_MAX + 64];
    const char *code = NULL;
    int status = 200;
    struct tr_envelope env;
    struct tr_err err;

    memset(&env, 0, sizeof env);
    if (check_body(r, &code, &status, detail, sizeof detail) < 0) {
        sanitize(detail);
        env.reject_code = code;
        env.reject_detail = detail;
    }
    env.client_addr = r->client;
    env.queue_id = r->qid;
    env.time = (int64_t)time(NULL);
    if (tr_spool_write(conf->spool_dir, &env, r->body.data, r->body.len, name, sizeof name, &err) < 0) {
        char after[16];
        mlog(LOG_ERR, r->qid, "503 to %s: cannot spool %zu bytes: %s", r->client, r->body.len, err.detail);
        snprintf(after, sizeof after, "%u", conf->retry_after);
        return answer(c, r, 503, "cannot store the report now; retry later\n", MHD_HTTP_HEADER_RETRY_AFTER,
                      after);
    }
    worker_kick();
    if (code != NULL) {
        mlog(LOG_NOTICE, r->qid, "%d to %s: %s (%s); %zu bytes kept for the quarantine as %s", status,
             r->client, code, detail, r->body.len, name);
        snprintf(reply, sizeof reply, "refused: %s (kept for inspection)\n", code);
        return answer(c, r, status, reply, NULL, NULL);
    }
    mlog(LOG_INFO, r->qid, "200 to %s: %zu bytes spooled as %s", r->client, r->body.len, name);
    snprintf(reply, sizeof reply, "accepted %s\n", r->qid);
    return answer(c, r, 200, reply, NULL, NULL);
}

/* Step 1: the headers. */
static enum MHD_Result begin(struct MHD_Connection *c, const char *url, const char *method, void **con_cls)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    struct request *r = xcalloc(1, sizeof *r);
    int type;

    atomic_fetch_add(&n_posts, 1);
    snprintf(r->qid, sizeof r->qid, "H%lx%04lx", (unsigned long)time(NULL),
             atomic_fetch_add(&n_ids, 1) & 0xffffUL);
    client_name(c, r->client, sizeof r->client);
    tr_buf_init(&r->body, conf->ingest.limits.message_size);
    *con_cls = r;
    if (strcmp(url, conf->url_path) != 0) {
        mlog(LOG_INFO, r->qid, "404 to %s: not the configured Path", r->client);
        return answer(c, r, 404, "not found\n", NULL, NULL);
    }
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
        mlog(LOG_INFO, r->qid, "405 to %s: method %s", r->client, method);
        return answer(c, r, 405, "only POST\n", MHD_HTTP_HEADER_ALLOW, "POST");
    }
    if ((type = body_type(ct)) < 0) {
        mlog(LOG_INFO, r->qid, "415 to %s: Content-Type not application/tlsrpt+gzip or +json", r->client);
        return answer(c, r, 415, "want Content-Type application/tlsrpt+gzip or application/tlsrpt+json\n",
                      NULL, NULL);
    }
    r->type = (enum body_type)type;
    if (cl != NULL) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (*end == '\0' && n > conf->ingest.limits.message_size) {
            r->too_big = 1;
            mlog(LOG_NOTICE, r->qid, "413 to %s: Content-Length %llu over MaxBodySize %zu", r->client, n,
                 conf->ingest.limits.message_size);
            return answer(c, r, 413, "over MaxBodySize\n", NULL, NULL);
        }
    }
    return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    struct request *r = *con_cls;

    if (r == NULL)
        return begin(c, url, method, con_cls);
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->answered)
            return MHD_YES;                    /* the rest of a refused body: dropped */
        if (r->too_big) {
            /* libmicrohttpd cannot answer before the body ends: the rest
             * is read and dropped, up to MaxBodySize more, then cut. */
            r->discarded += n;
            return r->discarded > conf->ingest.limits.message_size ? MHD_NO : MHD_YES;
        }
        if (tr_buf_append(&r->body, upload_data, n) < 0) {
            r->too_big = 1;
            r->discarded = n;
            tr_buf_free(&r->body);
            tr_buf_init(&r->body, 0);
        }
        return MHD_YES;
    }
    if (r->answered)
        return MHD_YES;
    if (r->too_big) {
        mlog(LOG_NOTICE, r->qid, "413 to %s: body over MaxBodySize %zu", r->client,
             conf->ingest.limits.message_size);
        return answer(c, r, 413, "over MaxBodySize\n", NULL, NULL);
    }
    return finish(c, r);
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request *r = *con_cls;

    if (r == NULL)
        return;
    if (!r->answered)
        mlog(LOG_NOTICE, r->qid, "%s: connection ended before an answer (%s)", r->client,
             toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "idle timeout"
             : toe == MHD_REQUEST_TERMINATED_READ_ERROR ? "cut off or closed by the client" : "aborted");
    tr_buf_free(&r->body);
    free(r);
    *con_cls = NULL;
}

/* Lists each connection with its start for the reaper. */
static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    struct conn *k = *socket_context;

    pthread_mutex_lock(&conn_lock);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k = xcalloc(1, sizeof *k);
        k->fd = ci ? ci->connect_fd : -1;
        k->start = mono_now();
        k->next = conns;
        if (conns)
            conns->prev = k;
        conns = k;
        *socket_context = k;
    } else if (k != NULL) {
        if (k->prev)
            k->prev->next = k->next;
        else
            conns = k->next;
        if (k->next)
            k->next->prev = k->prev;
        free(k);
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&conn_lock);
}

static void *reaper_main(void *arg)
{
    pthread_mutex_lock(&conn_lock);
    while (!reaper_stop) {
        struct timespec ts;
        time_t now = mono_now();

        for (struct conn *k = conns; k != NULL; k = k->next)
            if (k->fd >= 0 && now - k->start >= (time_t)conf->request_timeout) {
                /* The fd stays libmicrohttpd's: shutdown, never close.
                 * Under conn_lock, so it is still this connection's. */
                shutdown(k->fd, SHUT_RDWR);
                k->fd = -1;
                mlog(LOG_NOTICE, NULL, "connection cut off after RequestTimeout (%u s)", conf->request_timeout);
            }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += REAPER_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&reaper_wake, &conn_lock, &ts);
    }
    pthread_mutex_unlock(&conn_lock);
    return NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char text[MLOG_LINE_MAX];
    size_t n;

    vsnprintf(text, sizeof text, fmt, ap);
    n = strlen(text);
    while (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    mlog(LOG_WARNING, NULL, "libmicrohttpd: %s", text);
}

int receiver_start(const struct hconf *c, int listen_fd, const char *cert_pem, const char *key_pem,
                   char *why, size_t cap)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    pthread_condattr_t attr;

    conf = c;
    if (cert_pem != NULL)
        flags |= MHD_USE_TLS;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&reaper_wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&reaper, NULL, reaper_main, NULL) != 0) {
        snprintf(why, cap, "cannot start the reaper thread");
        return -1;
    }
    if (cert_pem != NULL)
        daemon_h = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL,
            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
            MHD_OPTION_LISTEN_SOCKET, listen_fd,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->max_per_client,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->idle_timeout,
            MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
            MHD_OPTION_NOTIFY_CONNECTION, conn_notify, NULL,
            MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
            MHD_OPTION_HTTPS_MEM_KEY, key_pem,
            MHD_OPTION_END);
    else
        daemon_h = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL,
            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
            MHD_OPTION_LISTEN_SOCKET, listen_fd,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->max_per_client,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->idle_timeout,
            MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
            MHD_OPTION_NOTIFY_CONNECTION, conn_notify, NULL,
            MHD_OPTION_END);
    if (daemon_h == NULL) {
        snprintf(why, cap, "libmicrohttpd cannot serve %s%s", c->listen,
                 cert_pem ? " (are TLSCertificate and TLSKey a matching PEM pair?)" : "");
        receiver_stop();
        return -1;
    }
    return 0;
}

void receiver_stop(void)
{
    if (daemon_h != NULL)
        MHD_stop_daemon(daemon_h);
    daemon_h = NULL;
    pthread_mutex_lock(&conn_lock);
    reaper_stop = 1;
    pthread_cond_signal(&reaper_wake);
    pthread_mutex_unlock(&conn_lock);
    pthread_join(reaper, NULL);
}

void receiver_counts(struct recv_counts *out)
{
    out->posts = atomic_load(&n_posts);
    out->stored = atomic_load(&n_stored);
    for (int i = 0; i < 6; i++)
        out->refused[i] = atomic_load(&n_refused[i]);
}
