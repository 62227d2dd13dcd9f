/*
 * NAME
 *   tlsrpt-httpd - receive TLS-RPT reports (RFC 8460) by HTTPS POST
 *
 * SYNOPSIS
 *   tlsrpt-httpd [-c FILE] [-n] [-f]
 *   tlsrpt-httpd -V | -h
 *
 * DESCRIPTION
 *   The https: rua receiver (RFC 8460 section 5.4).  A POST of
 *   application/tlsrpt+gzip or application/tlsrpt+json to Path is
 *   written to the spool durably before it is answered 200; the ingest
 *   worker thread (the milter's, worker.h) then stores it in the
 *   database.  See tlsrpt-httpd(8).
 *
 * STARTUP, IN ORDER (this file)
 *   1. options; the configuration and, as UserID, that SpoolDir and
 *      Database can be written (-n: check them and exit);
 *   2. as root: UserID is required; the listening socket is opened, the
 *      TLS certificate and key are read, SpoolDir and the database's
 *      directory are created for UserID if missing;
 *   3. daemon (unless -f), PidFile, the drop to UserID; files a dead
 *      writer left in the spool's tmp/ are removed;
 *   4. signals are blocked in every thread; the worker and libmicrohttpd
 *      start; this thread waits: SIGTERM or SIGINT stops (no new
 *      connections, the open ones end, the spool is drained, exit 0).
 *      SIGHUP only logs that changes need a restart.
 *
 * EXIT STATUS
 *   0 stopped by a signal, or -n found the file good; 64 usage; 78
 *   configuration; 71 system error (socket, user, fork, TLS files).
 */
#include "hconf.h"
#include "log.h"
#include "privs.h"
#include "receiver.h"
#include "worker.h"
#include "conf.h"
#include "tlsrpt/spool.h"
#include "tlsrpt/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define PROG "tlsrpt-httpd"
#define DEFAULT_CONF "/etc/tlsrpt/tlsrpt-httpd.conf"
#define LISTEN_BACKLOG 128

static void usage(FILE *out)
{
    fprintf(out,
        "usage: " PROG " [-c FILE] [-n] [-f]\n"
        "       " PROG " -V | -h\n"
        "Receives TLS-RPT reports by HTTP(S) POST into a spool and a database.\n"
        "  -c FILE    configuration file (default " DEFAULT_CONF ")\n"
        "  -n         check the configuration (and that UserID can write SpoolDir, Database) and exit\n"
        "  -f         stay in the foreground and log to stderr\n"
        "  -V         print the version and exit\n"
        "  -h, --help this help\n"
        "Signals: SIGTERM stops.  See tlsrpt-httpd(8).\n");
}

static struct hconf *conf;

static void *worker_get(struct worker_settings *s)
{
    s->spool_dir = conf->spool_dir;
    s->database = conf->database;
    s->ingest = &conf->ingest;
    s->drain_interval = conf->drain_interval;
    s->retry_max = conf->retry_max;
    return conf;
}

static void worker_put(void *ref)
{
}

/* After every drain (the worker thread): the counters to
 * <SpoolDir>/tlsrpt-httpd.stats (tlsrpt/stats.h), for tlsrpt-report
 * metrics.  Refusals by status, named since stat names have no digits. */
static void write_stats(const char *spool_dir, const struct tr_counts *counts, int ok)
{
    static const char *const refused[6] = {
        "posts_bad_request_total", "posts_not_found_total", "posts_bad_method_total",
        "posts_too_large_total", "posts_bad_type_total", "posts_unavailable_total",
    };
    static uint64_t stored, duplicates, quarantined, failures, last_drain, started;
    struct tr_stat st[16];
    struct recv_counts rc;
    struct tr_err err;
    long backlog = tr_spool_pending(spool_dir);
    size_t n = 0;
    char *path;

    if (started == 0)
        started = (uint64_t)time(NULL);
    if (counts != NULL) {
        stored += (uint64_t)counts->stored;
        duplicates += (uint64_t)counts->duplicates;
        quarantined += (uint64_t)counts->quarantined;
    }
    if (ok)
        last_drain = (uint64_t)time(NULL);
    else
        failures++;
    receiver_counts(&rc);
#define PUT(nm, v) (snprintf(st[n].name, sizeof st[n].name, "%s", nm), st[n++].value = (uint64_t)(v))
    PUT("posts_received_total", rc.posts);
    PUT("posts_stored_total", rc.stored);
    for (int i = 0; i < 6; i++)
        PUT(refused[i], rc.refused[i]);
    PUT("reports_stored_total", stored);
    PUT("reports_duplicate_total", duplicates);
    PUT("reports_quarantined_total", quarantined);
    PUT("drain_failures_total", failures);
    PUT("spool_backlog", backlog > 0 ? backlog : 0);
    PUT("last_drain_time", last_drain);
    PUT("started_time", started);
#undef PUT
    path = tr_stats_path(spool_dir, PROG);
    if (tr_stats_write(path, st, n, &err) < 0)
        mlog(LOG_WARNING, NULL, "cannot write the counters: %s", err.detail);
    free(path);
}

static const struct worker_source httpd_worker_source = { worker_get, worker_put, write_stats };

/* The listening socket, opened as root (a port below 1024 needs it). */
static int open_listener(const struct hconf *c, char *why, size_t cap)
{
    int one = 1, fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        snprintf(why, cap, "socket: %s", strerror(errno));
        return -1;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)&c->addr, c->addr_len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        snprintf(why, cap, "Listen %s: %s", c->listen, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* A PEM file into a NUL-terminated string (caller frees). */
static char *read_pem(const char *key, const char *path, char *why, size_t cap)
{
    unsigned char *data;
    size_t len;
    struct tr_err err;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(why, cap, "%s %s: %s", key, path, strerror(errno));
        return NULL;
    }
    if (tr_read_fd(fd, RECV_TLS_FILE_MAX, &data, &len, &err) < 0) {
        snprintf(why, cap, "%s %s: %s", key, path, err.detail);
        close(fd);
        return NULL;
    }
    close(fd);
    return (char *)data;       /* tr_read_fd NUL-terminates */
}

static int signal_loop(void)
{
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP)
            mlog(LOG_NOTICE, NULL, "SIGHUP: configuration changes take effect at restart");
        else
            return sig;
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
    };
    const char *conf_path = DEFAULT_CONF;
    int check_only = 0, foreground = 0, opt, sig, listen_fd;
    char why[CONF_WHY_MAX], *cert = NULL, *key = NULL;
    struct privs pv;
    struct tr_err err;
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
    if (hconf_load(conf_path, &conf, why, sizeof why) < 0) {
        fprintf(stderr, PROG ": %s\n", why);
        return EX_CONFIG;
    }
    if (privs_resolve(conf->user_id, &pv, why, sizeof why) < 0) {
        fprintf(stderr, PROG ": %s: UserID: %s\n", conf_path, why);
        hconf_free(conf);
        return EX_CONFIG;
    }
    /* The start's own verdict (root without UserID, paths the user
     * cannot write), for -n and before the start opens anything. */
    if (privs_check(conf_path, conf->spool_dir, conf->database, &pv, why, sizeof why) < 0) {
        fprintf(stderr, PROG ": %s\n", why);
        hconf_free(conf);
        return EX_CONFIG;
    }
    if (check_only) {
        printf("%s: OK (Listen %s, Path %s, %s)\n", conf_path, conf->listen, conf->url_path,
               conf->tls_cert ? "TLS" : "plain HTTP");
        hconf_free(conf);
        return 0;
    }
    mlog_open(PROG, foreground, conf->syslog_facility, conf->log_level);

    /* 2. As root: the socket, the TLS files, the directories. */
    if (pv.drop == 0 && geteuid() == 0) {
        mlog(LOG_ERR, NULL, "refusing to run as root: set UserID in %s", conf_path);
        return EX_CONFIG;
    }
    if ((listen_fd = open_listener(conf, why, sizeof why)) < 0
        || (conf->tls_cert && ((cert = read_pem("TLSCertificate", conf->tls_cert, why, sizeof why)) == NULL
                               || (key = read_pem("TLSKey", conf->tls_key, why, sizeof why)) == NULL))
        || privs_prepare_dirs(conf->spool_dir, conf->database, conf->pid_file, &pv, why, sizeof why) < 0) {
        mlog(LOG_ERR, NULL, "%s", why);
        return EX_OSERR;
    }

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
    umask(027);
    if (tr_spool_init(conf->spool_dir, &err) < 0) {
        mlog(LOG_ERR, NULL, "SpoolDir: %s (reports will be answered 503 until fixed)", err.detail);
    } else {
        long swept = tr_spool_sweep_tmp(conf->spool_dir, &err);
        if (swept < 0)
            mlog(LOG_WARNING, NULL, "SpoolDir: %s", err.detail);
        else if (swept > 0)
            mlog(LOG_NOTICE, NULL, "removed %ld unfinished spool file(s) left in tmp/ by a process that died",
                 swept);
    }

    /* 4. Threads. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);        /* past RLIMIT_FSIZE: a 503, not death */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (worker_start(&httpd_worker_source) < 0)
        return EX_OSERR;
    if (receiver_start(conf, listen_fd, cert, key, why, sizeof why) < 0) {
        mlog(LOG_ERR, NULL, "%s", why);
        worker_stop();
        return EX_OSERR;
    }
    free(cert);
    if (key != NULL)
        explicit_bzero(key, strlen(key));
    free(key);
    mlog(LOG_NOTICE, NULL, "started " TLSRPT_VERSION " on %s%s, Path %s, spool %s", conf->listen,
         conf->tls_cert ? " (TLS)" : "", conf->url_path, conf->spool_dir);

    sig = signal_loop();
    mlog(LOG_NOTICE, NULL, "stopping (%s)", strsignal(sig));
    receiver_stop();
    worker_stop();
    {
        struct recv_counts n;
        receiver_counts(&n);
        mlog(LOG_NOTICE, NULL, "served %lu request(s): 200 %lu, 400 %lu, 404 %lu, 405 %lu, 413 %lu, 415 %lu, 503 %lu",
             n.posts, n.stored, n.refused[0], n.refused[1], n.refused[2], n.refused[3], n.refused[4], n.refused[5]);
    }
    if (conf->pid_file != NULL)
        unlink(conf->pid_file);
    mlog(LOG_NOTICE, NULL, "stopped");
    mlog_close();
    hconf_free(conf);
    return 0;
}
