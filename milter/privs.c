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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
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



static void dir_of(const char *path, char *buf, size_t cap);

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

int privs_prepare_dirs(const char *spool_dir, const char *database, const char *pid_file,
                       const struct privs *pv, char *why, size_t cap)
{
    char dbdir[PRIVS_PATH_MAX];
    char *slash;

    if (make_dir(spool_dir, 0700, pv, why, cap) < 0)
        return -1;
    /* Without systemd's RuntimeDirectory nobody else makes the PidFile's
     * directory; owned by the user, the pid file can be removed at stop. */
    if (pid_file != NULL) {
        char piddir[PRIVS_PATH_MAX];
        dir_of(pid_file, piddir, sizeof piddir);
        if (make_dir(piddir, 0755, pv, why, cap) < 0)
            return -1;
    }
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

/* The directory part of path into buf ("/" for "/x"). */
static void dir_of(const char *path, char *buf, size_t cap)
{
    char *slash;
    snprintf(buf, cap, "%s", path);
    slash = strrchr(buf, '/');
    if (slash == buf)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
}

/*
 * Whether this process can write what key names: an existing directory
 * (and its subdirectories subs) or file (and its directory, for SQLite's
 * journal).  A missing one must be creatable: by root when root_creates
 * (the start makes it for the user), else in a writable parent.
 */
static int can_write(const char *key, const char *path, int is_dir, int root_creates, const char *user,
                     char *why, size_t cap)
{
    static const char *const subs[] = { "tmp", "new", "cur", "failed" };
    char dir[PRIVS_PATH_MAX], sub[PRIVS_PATH_MAX + 16];
    struct stat st;

    if (stat(path, &st) < 0) {
        dir_of(path, dir, sizeof dir);
        if (errno != ENOENT || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
            snprintf(why, cap, "%s %s: %s", key, path, errno == ENOENT ? "its directory does not exist"
                     : strerror(errno));
            return -1;
        }
        if (root_creates || access(dir, W_OK | X_OK) == 0)
            return 0;
        snprintf(why, cap, "user %s cannot create %s (%s) in %s: %s", user, path, key, dir, strerror(errno));
        return -1;
    }
    if (is_dir && !S_ISDIR(st.st_mode)) {
        snprintf(why, cap, "%s %s: not a directory", key, path);
        return -1;
    }
    if (access(path, W_OK | (is_dir ? X_OK : 0)) < 0) {
        snprintf(why, cap, "user %s cannot write %s (%s): %s", user, path, key, strerror(errno));
        return -1;
    }
    for (size_t i = 0; is_dir && i < sizeof subs / sizeof subs[0]; i++) {
        snprintf(sub, sizeof sub, "%s/%s", path, subs[i]);
        if (stat(sub, &st) == 0 && access(sub, W_OK | X_OK) < 0) {
            snprintf(why, cap, "user %s cannot write %s (%s): %s", user, sub, key, strerror(errno));
            return -1;
        }
    }
    if (!is_dir) {
        dir_of(path, dir, sizeof dir);
        if (access(dir, W_OK | X_OK) < 0) {
            snprintf(why, cap, "user %s cannot write %s, the directory of %s (%s; SQLite keeps its journal there): %s",
                     user, dir, path, key, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int check_paths(const char *spool_dir, const char *database, int root_creates, const char *user, char *why, size_t cap)
{
    char dbdir[PRIVS_PATH_MAX];

    if (can_write("SpoolDir", spool_dir, 1, root_creates, user, why, cap) < 0)
        return -1;
    /* A missing database directory is made by the start (for the user
     * when root), like SpoolDir; the database file then by the user. */
    dir_of(database, dbdir, sizeof dbdir);
    if (stat(dbdir, &(struct stat){ 0 }) < 0)
        return can_write("Database", dbdir, 1, root_creates, user, why, cap);
    return can_write("Database", database, 0, 0, user, why, cap);
}

const char *privs_whoami(void)
{
    struct passwd *pw = getpwuid(geteuid());
    return pw ? pw->pw_name : "(unknown user)";
}

int privs_check(const char *conf_path, const char *spool_dir, const char *database, const struct privs *pv,
                char *why, size_t cap)
{
    int fds[2], status;
    ssize_t n;
    pid_t pid;

    if (!pv->drop && geteuid() == 0) {
        snprintf(why, cap, "refusing to run as root: set UserID in %s", conf_path);
        return -1;
    }
    if (!pv->drop || geteuid() != 0) {
        if (privs_drop(pv, why, cap) < 0)
            return -1;
        return check_paths(spool_dir, database, 0, privs_whoami(), why, cap);
    }
    /* As root: look as the user, in a child that drops privileges and
     * sends back its verdict. */
    if (pipe(fds) < 0 || (pid = fork()) < 0) {
        snprintf(why, cap, "cannot check as %s: %s", pv->user, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int rc;
        close(fds[0]);
        why[0] = '\0';
        rc = privs_drop(pv, why, cap) < 0 || check_paths(spool_dir, database, 1, pv->user, why, cap) < 0;
        if (rc && write(fds[1], why, strlen(why)) < 0)
            rc = 2;
        _exit(rc);
    }
    close(fds[1]);
    n = read(fds[0], why, cap - 1);
    close(fds[0]);
    why[n > 0 ? n : 0] = '\0';
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (why[0] == '\0')
            snprintf(why, cap, "cannot check as %s: the check did not finish", pv->user);
        return -1;
    }
    return 0;
}

