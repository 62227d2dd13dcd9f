/*
 * NAME
 *   tlsrpt-milter - capture TLS-RPT reports (RFC 8460) at the MTA
 *
 * SYNOPSIS
 *   tlsrpt-milter [-c FILE] [-n] [-f]
 *   tlsrpt-milter -V | -h
 *
 * DESCRIPTION
 *   A milter for Postfix or Sendmail.  Mail to a configured rua address is
 *   written to a spool durably before the MTA answers 250; an ingest
 *   worker thread then stores it in the database.  Other mail is let go at
 *   DATA.  See tlsrpt-milter(8) and tlsrpt-milter.conf(5).
 *
 * STARTUP, IN ORDER (this file)
 *   1. options; the configuration; as root UserID is required; SpoolDir
 *      and Database must be writable by UserID (-n: these checks, exit);
 *   2. as root: the socket is opened (umask 007, then
 *      handed to UserID), SpoolDir and the database's directory are
 *      created for UserID if missing;
 *   3. daemon (unless -f), PidFile, then the drop to UserID; files a dead
 *      milter left in the spool's tmp/ are removed;
 *   4. signals are blocked in every thread; the worker thread and the
 *      libmilter thread start; this thread waits for signals:
 *        SIGHUP, SIGUSR1  reload the configuration (on error, keep the old)
 *        SIGTERM, SIGINT  stop: new transactions get 451 at MAIL FROM,
 *                         messages in flight finish (up to
 *                         ShutdownTimeout), then libmilter stops, the
 *                         spool is drained, exit 0.
 *
 * libmilter has its own signal thread, which also waits for SIGHUP and
 * SIGTERM and stops the milter on either.  Linux hands a signal sent to
 * the process to its main thread first when that thread is waiting for
 * it, which this thread always is; should libmilter ever get one first,
 * smfi_main() returns, and the milter thread tells this one (SIGUSR2), so
 * the daemon still stops cleanly.
 *
 * EXIT STATUS
 *   0 stopped by a signal, or -n found the file good; 64 usage; 78
 *   configuration; 71 system error (socket, user, fork).
 */
#include "callbacks.h"
#include "config.h"
#include "log.h"
#include "mstats.h"
#include "privs.h"
#include "socket.h"
#include "worker.h"
#include "tlsrpt/mime.h"
#include "tlsrpt/spool.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define PROG "tlsrpt-milter"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: " PROG " [-c FILE] [-n] [-f]\n"
        "       " PROG " -V | -h\n"
        "Captures TLS-RPT reports mailed to the rua address into a spool and a database.\n"
        "  -c FILE    configuration file (default " TLSRPT_DEFAULT_CONF ")\n"
        "  -n         check what a start needs (the file, UserID, writable SpoolDir\n"
        "             and Database as UserID) and exit\n"
        "  -f         stay in the foreground and log to stderr\n"
        "  -V         print the version and exit\n"
        "  -h, --help this help\n"
        "Signals: SIGHUP or SIGUSR1 reloads the configuration; SIGTERM stops.\n"
        "See tlsrpt-milter(8) and tlsrpt-milter.conf(5).\n");
}

/* The worker's view of the live configuration (worker.h). */
static void *worker_get(struct worker_settings *s)
{
    struct mconf *c = mconf_get();
    s->spool_dir = c->spool_dir;
    s->database = c->database;
    s->ingest = &c->ingest;
    s->drain_interval = c->drain_interval;
    s->retry_max = c->retry_max;
    return c;
}

static void worker_put(void *ref)
{
    mconf_put(ref);
}

static const struct worker_source milter_worker_source = { worker_get, worker_put, mstats_drained };

static pthread_t main_thread;

/* Set once smfi_main() returned: open sessions are no longer served. */
static atomic_int milter_stopped;

/* Runs libmilter; tells the main thread when it returns. */
static void *milter_main(void *arg)
{
    int *rc = arg;
    *rc = smfi_main();
    atomic_store(&milter_stopped, 1);
    pthread_kill(main_thread, SIGUSR2);
    return NULL;
}

/* SIGHUP/SIGUSR1: load the file again; keys that need a restart keep
 * their old value in effect (with a warning). */
static void reload(const char *path)
{
    struct mconf *old = mconf_get(), *c;
    char why[MCONF_WHY_MAX];
    struct tr_err err;

    if (mconf_load(path, &c, why, sizeof why) < 0) {
        mlog(LOG_ERR, NULL, "reload failed, keeping the running configuration: %s", why);
        mconf_put(old);
        return;
    }
    if (strcmp(c->socket, old->socket) != 0)
        mlog(LOG_WARNING, NULL, "reload: Socket changed; takes effect at restart");
    if ((c->user_id == NULL) != (old->user_id == NULL)
        || (c->user_id && strcmp(c->user_id, old->user_id) != 0))
        mlog(LOG_WARNING, NULL, "reload: UserID changed; takes effect at restart");
    if (tr_spool_init(c->spool_dir, &err) < 0)
        mlog(LOG_ERR, NULL, "reload: SpoolDir: %s (reports will be answered 4xx)", err.detail);
    mlog_set_level(c->log_level);
    mlog(LOG_NOTICE, NULL, "configuration reloaded from %s: %zu rua address(es), Action %s", path,
         c->n_rua, mconf_action_name(c->action));
    mconf_put(old);
    mconf_install(c);
}

/* Waits for signals until told to stop.  Returns the signal. */
static int signal_loop(const char *conf_path)
{
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP || sig == SIGUSR1)
            reload(conf_path);
        else
            return sig;
    }
}

/* Waits until no message is in flight, at most seconds; not at all once
 * libmilter stopped (a second SIGTERM during the wait reaches libmilter's
 * own signal thread, since this one is not in sigwait: it stops at once). */
static void wait_in_flight(unsigned seconds)
{
    struct timespec tick = { 0, 100 * 1000 * 1000 };
    for (unsigned i = 0; i < seconds * 10 && callbacks_in_flight() > 0 && !atomic_load(&milter_stopped); i++)
        nanosleep(&tick, NULL);
    if (callbacks_in_flight() > 0)
        mlog(LOG_WARNING, NULL, "stopping with %d message(s) still in flight (the MTA will retry them)",
             callbacks_in_flight());
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
    };
    const char *conf_path = TLSRPT_DEFAULT_CONF;
    char conf_abs[PATH_MAX], bound[128];
    int check_only = 0, foreground = 0, opt, sig, milter_rc = 0;
    char why[MCONF_WHY_MAX];
    struct mconf *conf;
    struct privs pv;
    struct tr_err err;
    pthread_t milter_thread;
    sigset_t set;

    while ((opt = getopt_long(argc, argv, "c:nfVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': conf_path = optarg; break;
        case 'n': check_only = 1; break;
        case 'f': foreground = 1; break;
        case 'V': printf(PROG " " TLSRPT_VERSION "\n"); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, PROG ": unexpected argument: %s (try --help)\n", argv[optind]);
        return EX_USAGE;
    }

    /* 1. The configuration. */
    if (mconf_load(conf_path, &conf, why, sizeof why) < 0) {
        fprintf(stderr, PROG ": %s\n", why);
        return EX_CONFIG;
    }
    if (privs_resolve(conf->user_id, &pv, why, sizeof why) < 0) {
        fprintf(stderr, PROG ": %s: UserID: %s\n", conf_path, why);
        mconf_put(conf);
        return EX_CONFIG;
    }
    /* The start's own verdict (root without UserID, paths the user
     * cannot write), for -n and before the start opens anything. */
    if (privs_check(conf_path, conf->spool_dir, conf->database, &pv, why, sizeof why) < 0) {
        fprintf(stderr, PROG ": %s\n", why);
        mconf_put(conf);
        return EX_CONFIG;
    }
    if (check_only) {
        printf("%s: OK (%zu rua address(es), Action %s; socket %s; user %s can write SpoolDir %s and Database %s)\n",
               conf_path, conf->n_rua, mconf_action_name(conf->action), conf->socket,
               pv.drop ? pv.user : privs_whoami(), conf->spool_dir, conf->database);
        mconf_put(conf);
        return 0;
    }
    if (realpath(conf_path, conf_abs) != NULL)  /* reloads happen after chdir("/") */
        conf_path = conf_abs;
    mconf_install(conf);
    mlog_open(PROG, foreground, conf->syslog_facility, conf->log_level);

    /* 2. As root: the socket, the directories. */
    if (smfi_register(tlsrpt_milter_desc) == MI_FAILURE || smfi_setconn(conf->socket) == MI_FAILURE) {
        mlog(LOG_ERR, NULL, "libmilter refused the filter or the socket %s", conf->socket);
        return EX_SOFTWARE;
    }
    if (privs_open_socket(conf->socket, &pv, why, sizeof why) < 0
        || privs_prepare_dirs(conf->spool_dir, conf->database, conf->pid_file, &pv, why, sizeof why) < 0) {
        mlog(LOG_ERR, NULL, "%s", why);
        return EX_OSERR;
    }
    privs_bound_address(conf->socket, bound, sizeof bound);

    /* 3. Daemon, pid file, then no more root. */
    if (!foreground && privs_daemonize(why, sizeof why) < 0) {
        mlog(LOG_ERR, NULL, "%s", why);
        return EX_OSERR;
    }
    if (conf->pid_file != NULL && privs_write_pidfile(conf->pid_file, why, sizeof why) < 0)
        mlog(LOG_WARNING, NULL, "%s", why);
    if (privs_drop(&pv, why, sizeof why) < 0) {
        mlog(LOG_ERR, NULL, "%s", why);
        return EX_OSERR;
    }
    umask(027);                           /* spool 0700/0600, database 0640 */
    if (tr_spool_init(conf->spool_dir, &err) < 0) {
        mlog(LOG_ERR, NULL, "SpoolDir: %s (reports will be answered 4xx until fixed)", err.detail);
    } else {
        /* Temporary files of a milter that died while writing (never
         * answered 250): nothing else ever removes them. */
        long swept = tr_spool_sweep_tmp(conf->spool_dir, &err);
        if (swept < 0)
            mlog(LOG_WARNING, NULL, "SpoolDir: %s", err.detail);
        else if (swept > 0)
            mlog(LOG_NOTICE, NULL, "removed %ld unfinished spool file(s) left in tmp/ by a process that died",
                 swept);
    }

    /* 4. Threads. */
    tr_mime_init();
    signal(SIGPIPE, SIG_IGN);
    /* Past RLIMIT_FSIZE a write must fail with EFBIG (a 4xx for the
     * message), not kill the daemon with SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    main_thread = pthread_self();
    if (worker_start(&milter_worker_source) < 0)
        return EX_OSERR;
    if (pthread_create(&milter_thread, NULL, milter_main, &milter_rc) != 0) {
        mlog(LOG_ERR, NULL, "cannot start the milter thread");
        worker_stop();
        return EX_OSERR;
    }
    mlog(LOG_NOTICE, NULL, "started " TLSRPT_VERSION " on %s (bound to %s): %zu rua address(es), Action %s, spool %s",
         conf->socket, bound, conf->n_rua, mconf_action_name(conf->action), conf->spool_dir);

    sig = signal_loop(conf_path);
    mlog(LOG_NOTICE, NULL, "stopping (%s)", sig == SIGUSR2 ? "libmilter stopped" : strsignal(sig));
    /* libmilter stops serving open sessions too once smfi_stop() is
     * called: messages in flight finish first, new ones are told to come
     * back (451), for at most ShutdownTimeout. */
    if (sig != SIGUSR2) {
        callbacks_stop_new();
        conf = mconf_get();
        wait_in_flight(conf->shutdown_timeout);
        mconf_put(conf);
    }
    smfi_stop();
    pthread_join(milter_thread, NULL);
    worker_stop();
    conf = mconf_get();
    if (conf->pid_file != NULL)
        unlink(conf->pid_file);
    mconf_put(conf);
    mlog(LOG_NOTICE, NULL, "stopped");
    mlog_close();
    return milter_rc == MI_SUCCESS ? 0 : EX_SOFTWARE;
}
