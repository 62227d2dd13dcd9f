/*
 * imapsync.c - one tlsrpt-ingest --imap run (imap.h): the messages of a
 * mailbox not yet processed, each through the ingest path, resumable.
 *
 * State: imap_state (schema/010-imap.sql) holds, per mailbox, the
 * UIDVALIDITY and the highest UID processed.  A run lists the UIDs above
 * it with their sizes, fetches each message (only its first
 * IMAP_HEAD_BYTES when it is over the message-size limit, which ingest
 * then quarantines as limit-message-size) and hands it to
 * tr_ingest_input() with the caller's sink, like a file or a spool entry.
 * The UID is written in the same transaction as the message's reports;
 * every IMAP_COMMIT_MESSAGES messages the transaction commits and only
 * then are those messages flagged \Seen or moved (--imap-after).  Killed
 * anywhere, the next run fetches again exactly the messages whose
 * transaction did not commit: each report is stored once, none is
 * skipped.  A run killed after a commit but before its move leaves those
 * messages in the mailbox; in move mode each run first moves every
 * message at or below the recorded UID.
 *
 * Also the run's options from the command line: --imap-after and the
 * password file.
 */
#include "imap.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IMAP_COMMIT_MESSAGES  50      /* messages per transaction (and per flag/move command) */
#define IMAP_RUN_MESSAGES_MAX 100000  /* new messages one run takes; the next run goes on */
#define IMAP_UID_SET_MAX      (IMAP_COMMIT_MESSAGES * 11 + 1)  /* "u1,u2,..." of one commit */

struct sync {
    struct imap_conn *ic;
    const struct imap_sync_opts *so;
    struct tr_db *db;
    sqlite3_stmt *put;
    uint32_t uidvalidity;
    uint32_t pending[IMAP_COMMIT_MESSAGES];   /* UIDs in the open transaction */
    size_t n_pending;
    struct imap_tally *t;
};

/* ---- imap_state ---- */

static int state_get(sqlite3 *h, const char *key, uint32_t *v, uint32_t *last, int *found,
                     struct tr_err *err)
{
    sqlite3_stmt *st;
    int rc;

    *found = 0;
    if (sqlite3_prepare_v2(h, "SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return tr_db_fail(h, err, "imap_state");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *v = (uint32_t)sqlite3_column_int64(st, 0);
        *last = (uint32_t)sqlite3_column_int64(st, 1);
        *found = 1;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return tr_db_fail(h, err, "imap_state");
    return 0;
}

/* Records uid as processed (never lowering last_uid under the same
 * UIDVALIDITY, should two runs overlap). */
static int state_put(struct sync *s, uint32_t uid, struct tr_err *err)
{
    sqlite3 *h = tr_db_handle(s->db);
    int rc;

    if (s->put == NULL &&
        sqlite3_prepare_v2(h, "INSERT INTO imap_state (mailbox, uidvalidity, last_uid, updated)"
                              " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (mailbox) DO UPDATE SET"
                              " last_uid = CASE WHEN uidvalidity = excluded.uidvalidity"
                              " THEN max(last_uid, excluded.last_uid) ELSE excluded.last_uid END,"
                              " uidvalidity = excluded.uidvalidity, updated = excluded.updated",
                           -1, &s->put, NULL) != SQLITE_OK)
        return tr_db_fail(h, err, "imap_state");
    sqlite3_bind_text(s->put, 1, imap_key(s->ic), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->put, 2, s->uidvalidity);
    sqlite3_bind_int64(s->put, 3, uid);
    sqlite3_bind_int64(s->put, 4, (sqlite3_int64)time(NULL));
    rc = sqlite3_step(s->put);
    sqlite3_reset(s->put);
    if (rc != SQLITE_DONE)
        return tr_db_fail(h, err, "imap_state");
    return 0;
}

/* ---- after a commit ---- */

/* Flags or moves the messages of the transaction just committed.  Returns
 * 0 or -1 with err (the server's). */
static int after_commit(struct sync *s, struct tr_err *err)
{
    char set[IMAP_UID_SET_MAX];
    size_t len = 0;
    int rc = 0;

    if (s->n_pending == 0 || s->so->after == IMAP_AFTER_KEEP) {
        s->n_pending = 0;
        return 0;
    }
    for (size_t i = 0; i < s->n_pending; i++)
        len += (size_t)snprintf(set + len, sizeof set - len, "%s%lu", i ? "," : "",
                                (unsigned long)s->pending[i]);
    if (s->so->after == IMAP_AFTER_SEEN)
        rc = imap_store(s->ic, set, "+FLAGS.SILENT (\\Seen)", err);
    else
        rc = imap_move(s->ic, set, s->so->folder, err);
    s->n_pending = 0;
    return rc;
}

/* Commits the open transaction, then the after action; reopens one when
 * reopen.  Returns 0, -1 (database: db_err) or -2 (server: srv_err). */
static int flush(struct sync *s, int reopen, struct tr_err *db_err, struct tr_err *srv_err)
{
    if (tr_db_commit(s->db, db_err) < 0)
        return -1;
    if (after_commit(s, srv_err) < 0)
        return -2;
    if (reopen && tr_db_begin(s->db, db_err) < 0)
        return -1;
    return 0;
}

/* ---- one message ---- */

/* Fetches and ingests one listed message.  Returns 0, -1 (database) or
 * -2 (server). */
static int one_message(struct sync *s, const struct imap_msg *m, const struct tr_ingest_opts *io,
                       const struct tr_sink *sink, struct tr_counts *counts,
                       struct tr_err *db_err, struct tr_err *srv_err)
{
    size_t limit = io->limits.message_size;
    size_t head = limit < IMAP_HEAD_BYTES ? limit : IMAP_HEAD_BYTES;
    int over = m->size > limit;
    struct tr_buf b;
    struct tr_input in;
    struct tr_err e;
    char *source;
    int r, rc = 0;

    tr_buf_init(&b, over ? head : limit);
    r = imap_fetch(s->ic, m->uid, over ? head : 0, &b, &e);
    if (r < 0 && !tr_err_is(&e, IMAP_E_GONE)) {
        *srv_err = e;
        tr_buf_free(&b);
        return -2;
    }
    if (r < 0) {
        s->t->gone++;
    } else {
        memset(&in, 0, sizeof in);
        source = xasprintf("%s;UIDVALIDITY=%lu;UID=%lu", imap_display(s->ic),
                           (unsigned long)s->uidvalidity, (unsigned long)m->uid);
        in.source = source;
        in.data = b.data;
        in.len = b.len;
        in.truncated = over || r == 1;
        in.full_len = !in.truncated ? b.len : m->size > b.len ? (size_t)m->size : b.len + 1;
        in.mtime = (int64_t)time(NULL);
        s->t->messages++;
        s->t->oversize += over;
        rc = tr_ingest_input(io, sink, &in, NULL, counts, db_err);
        free(source);
    }
    tr_buf_free(&b);
    if (rc < 0 || state_put(s, m->uid, db_err) < 0)
        return -1;
    s->pending[s->n_pending++] = m->uid;
    /* Fetching set \Seen; keep means as it was. */
    if (r >= 0 && s->so->after == IMAP_AFTER_KEEP && !m->seen) {
        char uid[16];
        snprintf(uid, sizeof uid, "%lu", (unsigned long)m->uid);
        if (imap_store(s->ic, uid, "-FLAGS.SILENT (\\Seen)", srv_err) < 0)
            return -2;
    }
    return 0;
}

int imap_sync(struct imap_conn *ic, const struct imap_sync_opts *so, struct tr_db *db,
              const struct tr_ingest_opts *io, const struct tr_sink *sink, struct tr_counts *counts,
              struct imap_tally *t, struct tr_err *db_err, struct tr_err *srv_err)
{
    struct sync s;
    uint32_t v = 0, last = 0, stored_v = 0, uidnext, folder_v, folder_next;
    struct imap_msg *msgs = NULL;
    size_t n = 0;
    int found, rc = 0;

    memset(&s, 0, sizeof s);
    memset(t, 0, sizeof *t);
    s.ic = ic;
    s.so = so;
    s.db = db;
    s.t = t;
    if (state_get(tr_db_handle(db), imap_key(ic), &stored_v, &last, &found, db_err) < 0)
        return -1;
    if (imap_status(ic, NULL, &v, &uidnext, srv_err) < 0)
        return -2;
    /* The folder must exist before anything is fetched. */
    if (so->after == IMAP_AFTER_MOVE && imap_status(ic, so->folder, &folder_v, &folder_next, srv_err) < 0) {
        char detail[TR_ERR_DETAIL_MAX];
        memcpy(detail, srv_err->detail, sizeof detail);
        tr_err_set(srv_err, srv_err->code, "--imap-after move: folder %s cannot be used (%s)", so->folder,
                   detail);
        return -2;
    }
    t->uidvalidity = s.uidvalidity = v;
    if (found && stored_v != v) {
        t->uidvalidity_changed = 1;
        t->old_uidvalidity = stored_v;
        last = 0;
    }
    imap_pin_uidvalidity(ic, v);
    /* Messages committed by a run killed before its move. */
    if (so->after == IMAP_AFTER_MOVE && last > 0) {
        char set[32];
        snprintf(set, sizeof set, "1:%lu", (unsigned long)last);
        if (imap_move(ic, set, so->folder, srv_err) < 0)
            return -2;
    }
    if (imap_list(ic, last, uidnext, IMAP_RUN_MESSAGES_MAX, &msgs, &n, &t->more, srv_err) < 0)
        return -2;

    if (tr_db_begin(db, db_err) < 0) {
        free(msgs);
        return -1;
    }
    if ((!found || t->uidvalidity_changed) && state_put(&s, 0, db_err) < 0)
        rc = -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = one_message(&s, &msgs[i], io, sink, counts, db_err, srv_err);
        if (rc == 0 && s.n_pending == IMAP_COMMIT_MESSAGES)
            rc = flush(&s, 1, db_err, srv_err);
    }
    if (rc == 0) {
        rc = flush(&s, 0, db_err, srv_err);
    } else if (rc == -2 && !sqlite3_get_autocommit(tr_db_handle(db))) {
        /* The server failed: keep what is done, then report it. */
        struct tr_err ignored;
        if (tr_db_commit(db, db_err) < 0)
            rc = -1;
        else
            (void)after_commit(&s, &ignored);
    }
    if (rc == -1)
        tr_db_rollback(db);
    sqlite3_finalize(s.put);
    free(msgs);
    return rc;
}

/* ---- the options ---- */

int imap_parse_after(const char *s, struct imap_sync_opts *so, struct tr_err *err)
{
    memset(so, 0, sizeof *so);
    if (s == NULL || strcmp(s, "keep") == 0)
        so->after = IMAP_AFTER_KEEP;
    else if (strcmp(s, "seen") == 0)
        so->after = IMAP_AFTER_SEEN;
    else if (strncmp(s, "move:", 5) == 0) {
        so->after = IMAP_AFTER_MOVE;
        so->folder = s + 5;
        return imap_check_mailbox_name(so->folder, err);
    } else {
        tr_err_set(err, TR_E_USAGE, "--imap-after wants keep, seen or move:FOLDER, not '%.100s'", s);
        return -1;
    }
    return 0;
}

int imap_read_password(const char *file, char **out, struct tr_err *err)
{
    char buf[IMAP_PASSWORD_MAX + 2];
    FILE *f = fopen(file, "r");
    size_t len;

    *out = NULL;
    if (f == NULL) {
        tr_err_set(err, TR_E_IO, "password file %.200s: %s", file, strerror(errno));
        return -1;
    }
    if (fgets(buf, sizeof buf, f) == NULL)
        buf[0] = '\0';
    fclose(f);
    len = strlen(buf);
    if (len > 0 && buf[len - 1] != '\n' && len > IMAP_PASSWORD_MAX) {
        explicit_bzero(buf, sizeof buf);
        tr_err_set(err, TR_E_USAGE, "password file %.200s: first line over %d bytes", file, IMAP_PASSWORD_MAX);
        return -1;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    if (len == 0) {
        tr_err_set(err, TR_E_USAGE, "password file %.200s: the first line is empty", file);
        return -1;
    }
    *out = xstrdup(buf);
    explicit_bzero(buf, sizeof buf);
    return 0;
}
