/*
 * worker.h - the ingest worker thread of tlsrpt-milter: drains the spool
 * into the database right after each spooled message and on a timer, and
 * backs off (doubling, capped at DrainRetryMax) while the database cannot
 * be written.
 */
#ifndef TLSRPT_MILTER_WORKER_H
#define TLSRPT_MILTER_WORKER_H

/* Starts the thread (the live config must be installed).  0 or -1. */
int worker_start(void);

/* Asks for a drain soon (after a message was spooled).  Cheap; safe from
 * any thread.  Ignored while backing off. */
void worker_kick(void);

/* Stops the thread after one last drain of what is pending; joins it. */
void worker_stop(void);

#endif
