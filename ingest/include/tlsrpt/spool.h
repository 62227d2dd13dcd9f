/*
 * spool.h - the durable hand-off between tlsrpt-milter and ingest.
 *
 * Layout of a spool directory (all 0700, owned by the milter's user):
 *   tmp/     entries being written (O_EXCL temp files, locked by the writer)
 *   new/     complete entries waiting for ingest
 *   cur/     entries claimed by an ingest process
 *   failed/  entries whose input was quarantined but could not be kept
 *            whole in the database (kept here so nothing is lost)
 *
 * An entry is written to tmp/, fsynced, renamed into new/, and new/ is
 * fsynced: once tr_spool_write() returns 0 the message survives a crash.
 *
 * Entry file format: the line "TLSRPT-SPOOL 1", then envelope lines
 * "Key: value" (Sender, Recipient (repeated), Client, Queue-ID, Time,
 * Size, Reject), an empty line, then the message bytes exactly as
 * received.  Values are sanitized (no CR/LF/NUL).  "Reject: CODE DETAIL"
 * marks an entry its writer refused (tlsrpt-httpd's 400 for a body that
 * is not what its Content-Type says): the drain quarantines the bytes with
 * that reason code instead of ingesting them.
 *
 * Claiming (several drainers at once, e.g. the milter's worker and
 * `tlsrpt-ingest --spool`): open new/NAME, take flock(LOCK_EX|LOCK_NB),
 * rename it into cur/.  The lock travels with the inode, so a cur/ entry
 * whose lock can be taken belongs to a process that died: it is taken
 * over.  Processing is idempotent anyway (the database dedups reports).
 */
#ifndef TLSRPT_SPOOL_H
#define TLSRPT_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include "tlsrpt/util.h"

#define TR_SPOOL_NAME_MAX 128
/* Cap on the envelope part of an entry (tr_spool_write keeps within it by
 * capping each value and the number of Recipient lines).  A drainer passes
 * message-size limit + TR_SPOOL_ENVELOPE_MAX as max_len. */
#define TR_SPOOL_ENVELOPE_MAX ((size_t)256 << 10)

/* Envelope of a captured message; all borrowed. */
struct tr_envelope {
    const char *sender;
    const char *const *recipients;
    size_t n_recipients;
    const char *client_addr;
    const char *queue_id;
    int64_t time;
    const char *reject_code;     /* NULL, or a codes.h reason: quarantine, do not ingest */
    const char *reject_detail;   /* with reject_code: why (may be NULL) */
};

/* Creates dir and its subdirectories (mode 0700) if missing. */
int tr_spool_init(const char *dir, struct tr_err *err);

/* Writes one entry durably (see above).  name_out receives the entry's
 * file name (at least TR_SPOOL_NAME_MAX bytes).  On any failure nothing is
 * left in new/ and -1 is returned with err set (the milter answers 4xx). */
int tr_spool_write(const char *dir, const struct tr_envelope *env,
                   const unsigned char *msg, size_t len,
                   char *name_out, size_t name_cap, struct tr_err *err);

/* A claimed entry.  Owns its fd (holding the lock) and its data. */
struct tr_spool_entry {
    char name[TR_SPOOL_NAME_MAX];
    int fd;
    char *sender;
    char *queue_id;
    char *client_addr;
    char *reject;              /* the Reject line's value ("CODE DETAIL"), or NULL */
    int64_t time;
    unsigned char *data;       /* the whole file */
    size_t len;
    const unsigned char *msg;  /* points into data: the message bytes */
    size_t msg_len;
    size_t msg_full_len;       /* the message's size on disk; > msg_len when max_len cut it */
};

/* Removes the files in tmp/ whose writer is gone: a writer holds
 * flock(LOCK_EX) on its temporary file while writing it, so a file whose
 * lock can be taken was left by a process that died before the rename
 * (its message was never acknowledged).  For a writer at start-up (the
 * milter).  Returns the number removed, or -1 (err set) when tmp/ cannot
 * be read. */
long tr_spool_sweep_tmp(const char *dir, struct tr_err *err);

/* Claims the oldest entry in new/ (or an abandoned one in cur/).  Returns 1
 * with *out set (caller-owned), 0 when there is nothing to claim, -1 on
 * error.  max_len caps the bytes read (message-size limit plus envelope).
 * Reads the directory once per call: to claim many, use a scan. */
int tr_spool_claim(const char *dir, size_t max_len, struct tr_spool_entry **out, struct tr_err *err);

/*
 * A scan claims entries one after another from one listing of the
 * directory, in name (time) order, and lists again only when that listing
 * is used up: draining N entries reads new/ about once, not N times (a
 * backlog of 5,000 entries took 15.8 s to drain that way, most of it
 * listing).  Entries written after the listing are found by the next one.
 * tr_spool_scan_new copies dir; the scan is the caller's, freed with
 * tr_spool_scan_free (NULL is fine).
 */
struct tr_spool_scan;
struct tr_spool_scan *tr_spool_scan_new(const char *dir);
void tr_spool_scan_free(struct tr_spool_scan *s);

/* As tr_spool_claim, from the scan: 1 with *out set, 0 when a fresh
 * listing of new/ and then of cur/ has nothing claimable, -1 on error. */
int tr_spool_claim_next(struct tr_spool_scan *s, size_t max_len, struct tr_spool_entry **out,
                        struct tr_err *err);

/* Frees a claimed entry's bytes (data, msg) once they are ingested; its
 * name, envelope strings, sizes (msg_len, msg_full_len), fd and lock stay
 * until it is finished. */
void tr_spool_entry_unload(struct tr_spool_entry *e);

/* Finishing a claimed entry; each frees e. */
int tr_spool_done(const char *dir, struct tr_spool_entry *e, struct tr_err *err);    /* unlink */
int tr_spool_fail(const char *dir, struct tr_spool_entry *e, struct tr_err *err);    /* move to failed/ */
int tr_spool_release(const char *dir, struct tr_spool_entry *e, struct tr_err *err); /* back to new/, retry later */
void tr_spool_entry_free(struct tr_spool_entry *e);

/* Number of entries waiting in new/ and cur/ (for logs and tests). */
long tr_spool_pending(const char *dir);

#endif
