/*
 * callbacks.h - the libmilter callback table of tlsrpt-milter.
 */
#ifndef TLSRPT_MILTER_CALLBACKS_H
#define TLSRPT_MILTER_CALLBACKS_H

#include <libmilter/mfapi.h>

/* The filter description for smfi_register(). */
extern struct smfiDesc tlsrpt_milter_desc;

/* Messages between MAIL FROM and their end (for a clean SIGTERM). */
int callbacks_in_flight(void);

/* From now on every new transaction is answered 451 4.3.2 at MAIL FROM
 * (the MTA retries it), while those in flight go on: called when a stop
 * begins, before smfi_stop(), which ends open sessions too. */
void callbacks_stop_new(void);

#endif
