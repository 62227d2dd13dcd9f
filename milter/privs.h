/*
 * privs.h - the root part of a daemon's start (tlsrpt-milter,
 * tlsrpt-httpd): the user to become, the directories, the daemon, the pid
 * file, the drop.  The milter's socket is in socket.h.
 * Each function fills the caller's why buffer on failure.
 */
#ifndef TLSRPT_MILTER_PRIVS_H
#define TLSRPT_MILTER_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

#define PRIVS_NAME_MAX 64

struct privs {
    int drop;                  /* 1 when UserID names someone to become */
    uid_t uid;
    gid_t gid;                 /* the named group, else the user's primary group */
    int explicit_group;        /* UserID was "user:group" */
    char user[PRIVS_NAME_MAX];
};

/* Looks up UserID ("user", "user:group", NULL for none). */
int privs_resolve(const char *user_id, struct privs *pv, char *why, size_t cap);


/* Creates SpoolDir (0700), the database's directory (0750) and the
 * PidFile's directory (0755) when they are missing, owned by the user
 * when running as root. */
int privs_prepare_dirs(const char *spool_dir, const char *database, const char *pid_file,
                       const struct privs *pv, char *why, size_t cap);

/*
 * The start's verdict before anything is opened: as root a UserID is
 * required; then, as that user (a child process drops to it when root),
 * SpoolDir and Database must be writable, or creatable by the start.
 * why names the user and the path ("user tlsrpt cannot write ...").
 * Not root: only as the user itself (privs_drop's rule).
 */
int privs_check(const char *conf_path, const char *spool_dir, const char *database, const struct privs *pv,
                char *why, size_t cap);

/* The name of the effective user (static storage of getpwuid). */
const char *privs_whoami(void);


int privs_daemonize(char *why, size_t cap);
int privs_write_pidfile(const char *path, char *why, size_t cap);

/* Becomes the user (groups, gid, uid) and checks that root is gone.
 * Not root: succeeds only when already that user. */
int privs_drop(const struct privs *pv, char *why, size_t cap);

#endif
