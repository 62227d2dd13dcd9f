/*
 * privs.c - see privs.h.  Runs before any thread exists.  Shared by
 * tlsrpt-milter and tlsrpt-httpd (the tlsrpt_daemon library).
 */
#include "privs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRIVS_PATH_MAX 4096

int privs_resolve(const char *user_id, struct privs *pv, char *why, size_t cap)
{
    char user[PRIVS_NAME_MAX];
    const char *colon;
    struct passwd *pw;

    memset(pv, 0, sizeof *pv);
    if (user_id == NULL)
        return 0;
    colon = strchr(user_id, ':');
    snprintf(user, sizeof user, "%.*s", colon ? (int)(colon - user_id) : (int)strlen(user_id), user_id);
    if ((pw = getpwnam(user)) == NULL) {
        snprintf(why, cap, "no such user: %s", user);
        return -1;
    }
    if (pw->pw_uid == 0) {
        snprintf(why, cap, "%s is root; name an unprivileged user", user);
        return -1;
    }
    pv->drop = 1;
    pv->uid = pw->pw_uid;
    pv->gid = pw->pw_gid;
    snprintf(pv->user, sizeof pv->user, "%s", user);
    if (colon != NULL) {
        struct group *gr = getgrnam(colon + 1);
        if (gr == NULL) {
            snprintf(why, cap, "no such group: %s", colon + 1);
            return -1;
        }
        pv->gid = gr->gr_gid;
        pv->explicit_group = 1;
    }
    return 0;
}

/* Creates dir with mode if missing, for the user when root. */
static int make_dir(const char *dir, mode_t mode, const struct privs *pv, char *why, size_t cap)
{
    struct stat st;

    if (stat(dir, &st) == 0)
        return 0;
    if (errno != ENOENT || mkdir(dir, mode) < 0) {
        snprintf(why, cap, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (pv->drop && geteuid() == 0 && chown(dir, pv->uid, pv->gid) < 0) {
        snprintf(why, cap, "chown %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int privs_prepare_dirs(const char *spool_dir, const char *database, const struct privs *pv,
                       char *why, size_t cap)
{
    char dbdir[PRIVS_PATH_MAX];
    char *slash;

    if (make_dir(spool_dir, 0700, pv, why, cap) < 0)
        return -1;
    snprintf(dbdir, sizeof dbdir, "%s", database);
    slash = strrchr(dbdir, '/');
    if (slash == NULL || slash == dbdir)
        return 0;
    *slash = '\0';
    return make_dir(dbdir, 0750, pv, why, cap);
}

int privs_daemonize(char *why, size_t cap)
{
    pid_t pid = fork();
    int fd;

    if (pid < 0) {
        snprintf(why, cap, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid > 0)
        _exit(0);
    setsid();
    if (chdir("/") < 0) {
        snprintf(why, cap, "chdir /: %s", strerror(errno));
        return -1;
    }
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    return 0;
}

int privs_write_pidfile(const char *path, char *why, size_t cap)
{
    FILE *f;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);

    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        snprintf(why, cap, "PidFile %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0) {
        snprintf(why, cap, "PidFile %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int privs_drop(const struct privs *pv, char *why, size_t cap)
{
    if (!pv->drop)
        return 0;
    if (geteuid() != 0) {
        if (geteuid() == pv->uid)
            return 0;
        snprintf(why, cap, "cannot become %s: not running as root", pv->user);
        return -1;
    }
    if (initgroups(pv->user, pv->gid) < 0 || setgid(pv->gid) < 0 || setuid(pv->uid) < 0) {
        snprintf(why, cap, "cannot become %s: %s", pv->user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) {
        snprintf(why, cap, "still able to become root after dropping to %s", pv->user);
        return -1;
    }
    return 0;
}
