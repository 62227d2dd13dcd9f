/*
 * socket.c - the milter's socket, opened as root, and where it is bound
 * (socket.h).
 */
#include "socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRIVS_FD_SCAN 1024        /* fds searched for the listening socket */

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
void privs_bound_address(const char *socket, char *buf, size_t cap)
{
    const char *path = unix_path(socket);

    if (path != NULL) {
        snprintf(buf, cap, "%s", path);
        return;
    }
    /* libmilter does not hand out its descriptor: find the listening one. */
    for (int fd = 0; fd < PRIVS_FD_SCAN; fd++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int on = 0;
        socklen_t olen = sizeof on;
        char host[INET6_ADDRSTRLEN];

        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) < 0 || !on
            || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
            continue;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
            snprintf(buf, cap, "%s port %u", host, ntohs(a->sin_port));
            return;
        }
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
            snprintf(buf, cap, "[%s] port %u", host, ntohs(a->sin6_port));
            return;
        }
    }
    snprintf(buf, cap, "(unknown)");
}
