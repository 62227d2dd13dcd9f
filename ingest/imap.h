/*
 * imap.h - tlsrpt-ingest --imap: an IMAP mailbox as a source of messages.
 *
 * Two parts, both in the tlsrpt-ingest program (not in tlsrpt_core, so the
 * daemons do not link libcurl):
 *   imap.c      the client: libcurl's IMAP over TLS (imaps://, or imap://
 *               with STARTTLS required), one connection for the whole run;
 *               STATUS, a listing of UID, size and \Seen flag, one message
 *               fetched whole or only its first bytes, flag and move
 *               commands.  Nothing here prints or exits.  The server's
 *               answers are parsed in imapparse.c (imapparse.h), apart
 *               from libcurl so that they can be fuzzed alone.
 *   imapsync.c  one run: the mailbox's UIDVALIDITY and last UID from the
 *               database (schema/010-imap.sql imap_state), each new message
 *               through tr_ingest_input() and the caller's sink, the last
 *               UID recorded in the same transaction as the message's
 *               reports, then the --imap-after action; the parsing of
 *               --imap-after and of the password file.
 */
#ifndef TLSRPT_INGEST_IMAP_H
#define TLSRPT_INGEST_IMAP_H

#include <stddef.h>
#include <stdint.h>
#include "tlsrpt/ingest.h"
#include "tlsrpt/util.h"

/* Error codes of this module (struct tr_err.code). */
#define IMAP_E_SERVER "imap-server"   /* unreachable, TLS refused, a command refused, connection lost */
#define IMAP_E_LOGIN  "imap-login"    /* the server refused the user name or password */
#define IMAP_E_GONE   "imap-gone"     /* the message was no longer there when fetched */
#define IMAP_E_URL    "usage"         /* a URL or mailbox name this client does not take */

/* Bytes of a message over the message-size limit that are fetched
 * (BODY[]<0.N>: the headers and the start) and quarantined with reason
 * limit-message-size. */
#define IMAP_HEAD_BYTES ((size_t)64 << 10)

/* Most password bytes (a password file's first line). */
#define IMAP_PASSWORD_MAX 1024

/* Most bytes of a mailbox or --imap-after move: folder name: quoted in a
 * command, it must leave room in imap.c's IMAP_COMMAND_MAX. */
#define IMAP_MAILBOX_MAX 1000

struct imap_conf {
    const char *url;           /* imaps://USER@HOST[:PORT]/MAILBOX or imap:// (STARTTLS) */
    const char *password;      /* borrowed; NULL: set later with imap_set_password */
    const char *ca_file;       /* CA bundle for the server's certificate, or NULL: the system's */
};

/* One message of a listing. */
struct imap_msg {
    uint32_t uid;
    uint64_t size;             /* RFC822.SIZE as the server states it */
    int seen;                  /* \Seen was set before this run fetched it */
};

struct imap_conn;

/* Parses the URL and prepares a libcurl handle (nothing is sent yet).
 * Errors: IMAP_E_URL (a password in the URL, another scheme, a query, a
 * mailbox name with control characters, quotes, ';' or non-ASCII bytes,
 * or over IMAP_MAILBOX_MAX bytes).
 * *out is caller-owned (imap_close). */
int imap_open(const struct imap_conf *conf, struct imap_conn **out, struct tr_err *err);
void imap_close(struct imap_conn *ic);            /* NULL is a no-op */
/* Sets the password (libcurl keeps a copy). */
void imap_set_password(struct imap_conn *ic, const char *password);

/* The mailbox's state key "USER@HOST:PORT/MAILBOX" (host in lower case,
 * PORT a number, the scheme's default 993 or 143 when the URL has none)
 * and a display name "imaps://USER@HOST:PORT/MAILBOX"; borrowed. */
const char *imap_key(const struct imap_conn *ic);
const char *imap_display(const struct imap_conn *ic);

/* STATUS of mailbox (NULL: the URL's): UIDVALIDITY and UIDNEXT.  The
 * first call connects, starts TLS and logs in. */
int imap_status(struct imap_conn *ic, const char *mailbox, uint32_t *uidvalidity, uint32_t *uidnext,
                struct tr_err *err);

/* From now on every command selects the mailbox with this UIDVALIDITY
 * (libcurl checks it at SELECT: a change fails the command). */
void imap_pin_uidvalidity(struct imap_conn *ic, uint32_t uidvalidity);

/* The messages with a UID above after_uid and below uidnext (STATUS's
 * UIDNEXT; 0: no bound), in UID order, at most max (*truncated set when
 * there were more), asked in windows of UIDs whose answers stay small.
 * *out caller-owned (free). */
int imap_list(struct imap_conn *ic, uint32_t after_uid, uint32_t uidnext, size_t max, struct imap_msg **out,
              size_t *n, int *truncated, struct tr_err *err);

/* Fetches message uid into out (initialized by the caller with its cap):
 * the whole message, or with head > 0 its first head bytes.  Returns 0,
 * 1 when the message is larger than out's cap (out holds its first cap
 * bytes), -1 with err (IMAP_E_GONE: the server has no such message now).
 * Fetching sets \Seen on the server (RFC 3501 BODY[]). */
int imap_fetch(struct imap_conn *ic, uint32_t uid, size_t head, struct tr_buf *out, struct tr_err *err);

/* UID STORE set FLAGS (e.g. "-FLAGS.SILENT (\\Seen)"). */
int imap_store(struct imap_conn *ic, const char *uid_set, const char *flags, struct tr_err *err);

/* Moves the messages of uid_set to folder: UID MOVE (RFC 6851), or where
 * the server has no MOVE, UID COPY + \Deleted + UID EXPUNGE (UIDPLUS). */
int imap_move(struct imap_conn *ic, const char *uid_set, const char *folder, struct tr_err *err);

/* Checks a folder name as imap_open checks the mailbox (IMAP_E_URL). */
int imap_check_mailbox_name(const char *name, struct tr_err *err);

/* ---- imapsync.c ---- */

enum imap_after { IMAP_AFTER_KEEP, IMAP_AFTER_SEEN, IMAP_AFTER_MOVE };

struct imap_sync_opts {
    enum imap_after after;
    const char *folder;        /* IMAP_AFTER_MOVE: where processed messages go */
};

/* Parses --imap-after keep|seen|move:FOLDER (NULL: keep) into so; the
 * folder borrowed from s.  Returns 0 or -1 with err (TR_E_USAGE). */
int imap_parse_after(const char *s, struct imap_sync_opts *so, struct tr_err *err);

/* Reads the first line of file (without its line end) as the password:
 * at most IMAP_PASSWORD_MAX bytes, not empty.  *out caller-owned. */
int imap_read_password(const char *file, char **out, struct tr_err *err);

/* What one run did beyond the ingest counts. */
struct imap_tally {
    long messages;             /* messages fetched and ingested */
    long oversize;             /* of those, over message-size: only IMAP_HEAD_BYTES fetched */
    long gone;                 /* listed, but deleted by someone else before the fetch */
    int more;                  /* more new messages than one run takes: run again */
    int uidvalidity_changed;   /* the stored UIDVALIDITY differed: everything fetched again */
    uint32_t old_uidvalidity, uidvalidity;
    char warning[TR_ERR_DETAIL_MAX]; /* an --imap-after action that failed, or "" */
};

/*
 * One run over the mailbox of ic: new messages ingested into db through
 * sink (counts added to *counts).  Commits every IMAP_COMMIT_MESSAGES
 * messages with the last UID; the --imap-after action follows each
 * commit.  Returns 0; -1 when the database failed (db_err; the open batch
 * rolled back); -2 when the server failed (srv_err; what was committed
 * stays, the next run goes on from there).
 */
int imap_sync(struct imap_conn *ic, const struct imap_sync_opts *so, struct tr_db *db,
              const struct tr_ingest_opts *io, const struct tr_sink *sink, struct tr_counts *counts,
              struct imap_tally *t, struct tr_err *db_err, struct tr_err *srv_err);

#endif
