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

#endif
