/*
 * callbacks.c - what tlsrpt-milter does with each SMTP transaction.
 *
 * State: one struct conn per SMTP connection (smfi_setpriv, set up in
 * negotiate or connect, freed in close), holding the client address, and
 * while a message is under way, one struct msg.  A msg lives from MAIL
 * FROM until the filter gives its final answer for that message (accept,
 * discard, reject, tempfail) or the MTA aborts it; msg_end() is the one
 * place that frees it.
 *
 * Flow:
 *   MAIL     new msg, with a reference to the live config
 *   RCPT     remember rua recipients (as given, for smfi_delrcpt) and the
 *            queue ID (macro "i", available from RCPT on)
 *   DATA     no rua recipient: ACCEPT now, the message costs nothing more
 *   header   "Name: value" CRLF into the buffer (capped: 552 5.3.4)
 *   EOH      the empty line
 *   body     chunks as received (CRLF line ends), capped
 *   EOM      tr_spool_write(); then ACCEPT, or with Action discard,
 *            DISCARD (all recipients rua) or delete the rua recipients;
 *            a spool failure is 451 4.3.0 and TEMPFAIL
 *
 * The header bytes: Postfix sends a header's value without the space
 * after the colon unless SMFIP_HDR_LEADSPC is negotiated.  We ask for it
 * and then write "Name:" + value exactly; without it we write "Name: " +
 * value.  Line breaks inside folded values are written as CRLF.
 */
#include "callbacks.h"
#include "config.h"
#include "log.h"
#include "mstats.h"
#include "worker.h"
#include "tlsrpt/spool.h"
#include "tlsrpt/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MSG_RCPT_MAX 1000        /* rua recipients remembered per message */
#define CLIENT_ADDR_MAX 64
#define QID_MAX 64
#define NOQUEUE "NOQUEUE"

struct msg {
    struct mconf *conf;          /* reference taken at MAIL FROM */
    char *sender;
    char *rua[MSG_RCPT_MAX];     /* rua recipients as given to RCPT */
    size_t n_rua;
    size_t n_rcpt;               /* all recipients */
    char qid[QID_MAX];
    struct tr_buf buf;           /* header block + body, cap MaxMessageSize */
};

struct conn {
    char client[CLIENT_ADDR_MAX];
    int leadspc;                 /* SMFIP_HDR_LEADSPC negotiated */
    struct msg *msg;
};

static atomic_int in_flight;
static atomic_int stopping;      /* callbacks_stop_new(): new transactions get 4xx */

int callbacks_in_flight(void)
{
    return atomic_load(&in_flight);
}

void callbacks_stop_new(void)
{
    atomic_store(&stopping, 1);
}

static struct conn *conn_of(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);
    if (c == NULL) {
        c = xcalloc(1, sizeof *c);
        smfi_setpriv(ctx, c);
    }
    return c;
}

/* Frees the connection's message, if any. */
static void msg_end(struct conn *c)
{
    struct msg *m = c->msg;
    if (m == NULL)
        return;
    c->msg = NULL;
    mconf_put(m->conf);
    free(m->sender);
    for (size_t i = 0; i < m->n_rua; i++)
        free(m->rua[i]);
    tr_buf_free(&m->buf);
    free(m);
    atomic_fetch_sub(&in_flight, 1);
}

/* Records the queue ID once the MTA tells it. */
static void take_qid(SMFICTX *ctx, struct msg *m)
{
    const char *q;
    if (strcmp(m->qid, NOQUEUE) != 0)
        return;
    q = smfi_getsymval(ctx, "i");
    if (q != NULL && q[0] != '\0')
        snprintf(m->qid, sizeof m->qid, "%s", q);
}

/* Ends the message with a final answer. */
static sfsistat finish(struct conn *c, sfsistat rc)
{
    msg_end(c);
    return rc;
}

static sfsistat too_big(SMFICTX *ctx, struct conn *c)
{
    struct msg *m = c->msg;
    mlog(LOG_NOTICE, m->qid, "rejected: message to a rua address larger than MaxMessageSize (%zu bytes)",
         m->buf.cap);
    smfi_setreply(ctx, "552", "5.3.4", "Message too big for the TLS report receiver");
    mstats_inc(MSTAT_REJECTED);
    return finish(c, SMFIS_REJECT);
}

/* A message with no rua recipient is let go at the first chance. */
static int pass_through(struct conn *c)
{
    return c->msg == NULL || c->msg->n_rua == 0;
}

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
    struct conn *c = conn_of(ctx);

    *pf0 = f0 & (SMFIF_DELRCPT | SMFIF_SETSYMLIST);
    *pf1 = f1 & (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC);
    *pf2 = *pf3 = 0;
    c->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
    if (*pf0 & SMFIF_SETSYMLIST) {
        smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i");
        smfi_setsymlist(ctx, SMFIM_EOM, "i");
    }
    return SMFIS_CONTINUE;
}

static sfsistat cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    struct conn *c = conn_of(ctx);

    snprintf(c->client, sizeof c->client, "unknown");
    if (sa != NULL && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)sa)->sin_addr, c->client, sizeof c->client);
    else if (sa != NULL && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr, c->client, sizeof c->client);
    return SMFIS_CONTINUE;
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    struct conn *c = conn_of(ctx);
    struct msg *m;

    msg_end(c);                                  /* a transaction the MTA never closed */
    if (atomic_load(&stopping)) {
        smfi_setreply(ctx, "451", "4.3.2", "TLS report receiver restarting, try again later");
        return SMFIS_TEMPFAIL;
    }
    m = xcalloc(1, sizeof *m);
    m->conf = mconf_get();
    m->sender = xstrdup(argv[0] ? argv[0] : "");
    snprintf(m->qid, sizeof m->qid, NOQUEUE);
    tr_buf_init(&m->buf, m->conf->ingest.limits.message_size);
    c->msg = m;
    atomic_fetch_add(&in_flight, 1);
    return SMFIS_CONTINUE;
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
    struct conn *c = conn_of(ctx);
    struct msg *m = c->msg;

    if (m == NULL || argv[0] == NULL)
        return SMFIS_CONTINUE;
    take_qid(ctx, m);
    m->n_rcpt++;
    if (mconf_is_rua(m->conf, argv[0])) {
        if (m->n_rua < MSG_RCPT_MAX)
            m->rua[m->n_rua++] = xstrdup(argv[0]);
        mlog(LOG_DEBUG, m->qid, "rua recipient %s", argv[0]);
    }
    return SMFIS_CONTINUE;
}

static sfsistat cb_data(SMFICTX *ctx)
{
    struct conn *c = conn_of(ctx);
    return pass_through(c) ? finish(c, SMFIS_ACCEPT) : SMFIS_CONTINUE;
}

/* Appends a header value, turning bare LF line breaks into CRLF. */
static int append_value(struct tr_buf *b, const char *v)
{
    for (const char *p = v; *p != '\0'; p++) {
        if (*p == '\n' && (p == v || p[-1] != '\r')) {
            if (tr_buf_append(b, "\r\n", 2) < 0)
                return -1;
        } else if (tr_buf_append(b, p, 1) < 0) {
            return -1;
        }
    }
    return 0;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    struct conn *c = conn_of(ctx);
    struct msg *m = c->msg;

    if (pass_through(c))
        return finish(c, SMFIS_ACCEPT);
    if (tr_buf_append(&m->buf, name, strlen(name)) < 0
        || tr_buf_append(&m->buf, c->leadspc ? ":" : ": ", c->leadspc ? 1 : 2) < 0
        || append_value(&m->buf, value ? value : "") < 0
        || tr_buf_append(&m->buf, "\r\n", 2) < 0)
        return too_big(ctx, c);
    return SMFIS_CONTINUE;
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
    struct conn *c = conn_of(ctx);

    if (pass_through(c))
        return finish(c, SMFIS_ACCEPT);
    if (tr_buf_append(&c->msg->buf, "\r\n", 2) < 0)
        return too_big(ctx, c);
    return SMFIS_CONTINUE;
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    struct conn *c = conn_of(ctx);

    if (pass_through(c))
        return finish(c, SMFIS_ACCEPT);
    if (tr_buf_append(&c->msg->buf, chunk, len) < 0)
        return too_big(ctx, c);
    return SMFIS_CONTINUE;
}

/* Action discard: drop the message for the rua recipients only. */
static sfsistat discard_rua(SMFICTX *ctx, struct conn *c)
{
    struct msg *m = c->msg;

    if (m->n_rua >= m->n_rcpt)
        return finish(c, SMFIS_DISCARD);
    for (size_t i = 0; i < m->n_rua; i++) {
        if (smfi_delrcpt(ctx, m->rua[i]) != MI_SUCCESS) {
            mlog(LOG_ERR, m->qid, "could not remove recipient %s (is SMFIF_DELRCPT allowed?)", m->rua[i]);
            smfi_setreply(ctx, "451", "4.3.0", "TLS report receiver: try again later");
            mstats_inc(MSTAT_TEMPFAILED);
            return finish(c, SMFIS_TEMPFAIL);
        }
    }
    mlog(LOG_INFO, m->qid, "removed %zu rua recipient(s), delivering to the other %zu", m->n_rua,
         m->n_rcpt - m->n_rua);
    return finish(c, SMFIS_ACCEPT);
}

static sfsistat cb_eom(SMFICTX *ctx)
{
    struct conn *c = conn_of(ctx);
    struct msg *m = c->msg;
    struct tr_envelope env;
    struct tr_err err;
    char name[TR_SPOOL_NAME_MAX];

    if (pass_through(c))
        return finish(c, SMFIS_ACCEPT);
    take_qid(ctx, m);
    env.sender = m->sender;
    env.recipients = (const char *const *)m->rua;
    env.n_recipients = m->n_rua;
    env.client_addr = c->client;
    env.queue_id = m->qid;
    env.time = (int64_t)time(NULL);
    env.reject_code = env.reject_detail = NULL;
    if (tr_spool_write(m->conf->spool_dir, &env, m->buf.data ? m->buf.data : (const unsigned char *)"",
                       m->buf.len, name, sizeof name, &err) < 0) {
        mlog(LOG_ERR, m->qid, "cannot spool the report, asking the sender to retry: %s", err.detail);
        smfi_setreply(ctx, "451", "4.3.0", "TLS report receiver: cannot store the report now, try again later");
        mstats_inc(MSTAT_TEMPFAILED);
        return finish(c, SMFIS_TEMPFAIL);
    }
    mstats_inc(MSTAT_CAPTURED);
    mlog(LOG_INFO, m->qid, "spooled %s (%zu bytes from %s, client %s)", name, m->buf.len,
         m->sender, c->client);
    worker_kick();
    if (m->conf->action == MCONF_DISCARD)
        return discard_rua(ctx, c);
    return finish(c, SMFIS_ACCEPT);
}

static sfsistat cb_abort(SMFICTX *ctx)
{
    msg_end(conn_of(ctx));
    return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);
    if (c != NULL) {
        msg_end(c);
        free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

struct smfiDesc tlsrpt_milter_desc = {
    .xxfi_name = "tlsrpt-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_DELRCPT,
    .xxfi_connect = cb_connect,
    .xxfi_helo = NULL,
    .xxfi_envfrom = cb_envfrom,
    .xxfi_envrcpt = cb_envrcpt,
    .xxfi_header = cb_header,
    .xxfi_eoh = cb_eoh,
    .xxfi_body = cb_body,
    .xxfi_eom = cb_eom,
    .xxfi_abort = cb_abort,
    .xxfi_close = cb_close,
    .xxfi_unknown = NULL,
    .xxfi_data = cb_data,
    .xxfi_negotiate = cb_negotiate,
};
