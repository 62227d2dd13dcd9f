/*
 * socket.h - the milter socket, opened before the privilege drop.
 */
#ifndef TLSRPT_MILTER_SOCKET_H
#define TLSRPT_MILTER_SOCKET_H

#include "privs.h"

/*
 * Opens the milter socket (smfi_setconn() done by the caller) with umask
 * 007, so a unix socket is 0770; as root it is then owned by the user, and
 * by the UserID group when one was named, else it keeps the group its
 * directory gives it (a setgid directory of the MTA's group).
 */
int privs_open_socket(const char *socket, const struct privs *pv, char *why, size_t cap);

/* The address the opened socket is bound to, for the log: the path of a
 * unix socket, "HOST port N" of an inet one (read from the socket). */
void privs_bound_address(const char *socket, char *buf, size_t cap);

#endif
