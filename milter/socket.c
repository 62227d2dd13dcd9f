/*
 * socket.c - the milter's socket, opened as root (socket.h).
 */
#include "socket.h"

#include <errno.h>
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file system path of a unix: or local: socket, else NULL. */
static const char *unix_path(const char *socket)
{
    if (strncasecmp(socket, "unix:", 5) == 0)
        return socket + 5;
    if (strncasecmp(socket, "local:", 6) == 0)
        return socket + 6;
    return NULL;
}

int privs_open_socket(const char *socket, const struct privs *pv, char *why, size_t cap)
{
    const char *path = unix_path(socket);
    mode_t old = umask(007);
    int rc = smfi_opensocket(1);

    umask(old);
    if (rc == MI_FAILURE) {
        snprintf(why, cap, "cannot open socket %s%s", socket,
                 path ? " (does its directory exist and is it writable?)" : " (address in use?)");
        return -1;
    }
    if (path != NULL && pv->drop && geteuid() == 0
        && chown(path, pv->uid, pv->explicit_group ? pv->gid : (gid_t)-1) < 0) {
        snprintf(why, cap, "chown %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

