/*
 * test_config.c - tlsrpt-milter.conf parsing (milter/config.c): a table of
 * files with the error each must give (or none), and a table of envelope
 * recipients against the rua addresses.
 */
#include "check.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP 256

#define X10 "xxxxxxxxxx"
/* A path of 107 bytes (the most sun_path holds) and one of 108. */
#define LONG_107 "/" X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 "xxxxxx"
#define LONG_108 "/" X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 "xxxxxxx"

struct conf_case {
    const char *text;
    const char *want_error;    /* substring of the error after "FILE", NULL: must load */
};

static const struct conf_case conf_cases[] = {
    { "RuaAddress tlsrpt@example.com\n", NULL },
    { "# comment\n\n  RuaAddress   tlsrpt@example.com   # trailing\n", NULL },
    { "ruaaddress mailto:A@B.example, <c@d.example>\nRuaAddress e@f.example\n", NULL },
    { "RuaAddress a@b\nAction discard\nRequireDKIM yes\nTrustedAuthservIDs mx.b, mx2.b\n"
      "MaxMessageSize 10M\nMaxJsonDepth 8\nSyslogFacility local3\nLogLevel debug\n"
      "DrainInterval 10\nSocket inet:8893@127.0.0.1\nSpoolDir /s\nDatabase /d/x.db\n", NULL },
    { "", ": RuaAddress: required" },
    { "RuaAddress a@b\nBogus 1\n", ":2: Bogus: unknown key" },
    { "RuaAddress a@b\nAction\n", ":2: Action: no value" },
    { "RuaAddress a@b\nAction maybe\n", ":2: Action: \"maybe\": want accept or discard" },
    { "RuaAddress not-an-address\n", ":1: RuaAddress: \"not-an-address\": want an address local@domain" },
    { "RuaAddress a@b\nSpoolDir relative/dir\n", ":2: SpoolDir: must be an absolute path" },
    { "RuaAddress a@b\nSocket /tmp/x\n", ":2: Socket: \"/tmp/x\": want unix:/PATH or inet:PORT@HOST" },
    { "RuaAddress a@b\nRequireDKIM perhaps\n", ":2: RequireDKIM: \"perhaps\": want yes or no" },
    { "RuaAddress a@b\nRequireDKIM yes\n", ": RequireDKIM: needs TrustedAuthservIDs" },
    { "RuaAddress a@b\nMaxPolicies many\n", ":2: MaxPolicies: " },
    { "RuaAddress a@b\nDrainInterval 0\n", ":2: DrainInterval: \"0\": want seconds from 1 to 86400" },
    { "RuaAddress a@b\nDrainInterval -5\n", ":2: DrainInterval: " },
    { "RuaAddress a@b\nLogLevel loud\n", ":2: LogLevel: " },
    { "RuaAddress a@b\nSyslogFacility kern\n", ":2: SyslogFacility: " },
    { "RuaAddress a@b\nAction accept\nAction discard\n", ":3: Action: set twice (first on line 2)" },
    /* What a start would fail on (libmilter truncates ports to 16 bits,
     * sun_path holds 107 bytes). */
    { "RuaAddress a@b\nSocket inet:99999@127.0.0.1\n", ":2: Socket: port \"99999\": want a port from 1 to 65535" },
    { "RuaAddress a@b\nSocket inet:0@127.0.0.1\n", ":2: Socket: port \"0\"" },
    { "RuaAddress a@b\nSocket inet6:65536\n", ":2: Socket: port \"65536\"" },
    { "RuaAddress a@b\nSocket inet:@127.0.0.1\n", ":2: Socket: " },
    { "RuaAddress a@b\nSocket inet:nosuchservice@127.0.0.1\n", ":2: Socket: port \"nosuchservice\"" },
    { "RuaAddress a@b\nSocket inet:65535@127.0.0.1\n", NULL },
    { "RuaAddress a@b\nSocket unix:" LONG_108 "\n", ":2: Socket: socket path of 108 bytes" },
    { "RuaAddress a@b\nSocket unix:" LONG_107 "\n", NULL },
};

struct rua_case {
    const char *addr;
    int want;
};

/* Against "RuaAddress tlsrpt@example.com, TLS-Reports@Example.ORG." */
static const struct rua_case rua_cases[] = {
    { "<tlsrpt@example.com>", 1 },
    { "tlsrpt@example.com", 1 },
    { "<TLSRPT@EXAMPLE.COM>", 1 },
    { "<tlsrpt+google@example.com>", 1 },
    { "<tlsrpt+@example.com>", 1 },
    { "<tlsrpt@example.com.>", 1 },
    { "<tls-reports@example.org>", 1 },
    { "<@relay.example:tlsrpt@example.com>", 1 },
    { "<tlsrptx@example.com>", 0 },
    { "<xtlsrpt@example.com>", 0 },
    { "<tlsrpt-google@example.com>", 0 },
    { "<tlsrpt@sub.example.com>", 0 },
    { "<tlsrpt@example.com.evil>", 0 },
    { "<tlsrpt@example.co>", 0 },
    { "<tlsrpt>", 0 },
    { "<>", 0 },
    { "", 0 },
    { "<tls-reports@example.com>", 0 },
};

static char dir[PATH_CAP];

static int write_conf(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

int main(void)
{
    char path[PATH_CAP + 16], why[MCONF_WHY_MAX];
    struct mconf *c;

    alarm(30);              /* a blocking open fails the test, not CI's clock */
    snprintf(dir, sizeof dir, "%s/test_config.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof path, "%s/t.conf", dir);

    for (size_t i = 0; i < sizeof conf_cases / sizeof conf_cases[0]; i++) {
        const struct conf_case *k = &conf_cases[i];
        int rc;

        CHECK_INT(write_conf(path, k->text), 0);
        why[0] = '\0';
        rc = mconf_load(path, &c, why, sizeof why);
        if (k->want_error == NULL) {
            if (rc != 0)
                check_fail(__FILE__, __LINE__, "case %zu: unexpected error: %s", i, why);
            else
                check_passed++;
            if (rc == 0)
                mconf_put(c);
        } else if (rc == 0) {
            check_fail(__FILE__, __LINE__, "case %zu: loaded, want error \"%s\"", i, k->want_error);
            mconf_put(c);
        } else if (strncmp(why, path, strlen(path)) != 0 || strstr(why, k->want_error) == NULL) {
            check_fail(__FILE__, __LINE__, "case %zu: error \"%s\", want \"FILE%s\"", i, why, k->want_error);
        } else {
            check_passed++;
        }
    }

    /* NUL bytes: reported with file:line, also on a last line without a
     * newline (fputs above cannot write them). */
    {
        static const struct { const char *text; size_t len; const char *want; } nul[] = {
            { "RuaAddress a@b\nAction discard\0junk", 34, ":2: NUL byte" },
            { "RuaAddress a@b\nAction discard\0junk\n", 35, ":2: NUL byte" },
            { "RuaAddress a@b\0\n", 16, ":1: NUL byte" },
        };
        for (size_t i = 0; i < sizeof nul / sizeof nul[0]; i++) {
            FILE *f = fopen(path, "w");
            CHECK(f != NULL && fwrite(nul[i].text, 1, nul[i].len, f) == nul[i].len && fclose(f) == 0);
            why[0] = '\0';
            if (mconf_load(path, &c, why, sizeof why) == 0) {
                check_fail(__FILE__, __LINE__, "NUL case %zu: loaded", i);
                mconf_put(c);
            } else {
                CHECK(strstr(why, nul[i].want) != NULL);
            }
        }
        /* The last line without a newline still counts. */
        CHECK_INT(write_conf(path, "RuaAddress a@b\nAction discard"), 0);
        CHECK_INT(mconf_load(path, &c, why, sizeof why), 0);
        CHECK_INT(c->action, MCONF_DISCARD);
        mconf_put(c);
    }

    /* Not a regular file: a FIFO must not block, a directory is named. */
    {
        char fifo[PATH_CAP + 16];
        snprintf(fifo, sizeof fifo, "%s/fifo", dir);
        CHECK_INT(mkfifo(fifo, 0600), 0);
        CHECK_INT(mconf_load(fifo, &c, why, sizeof why), -1);
        CHECK(strstr(why, ": is not a regular file") != NULL);
        unlink(fifo);
        CHECK_INT(mconf_load(dir, &c, why, sizeof why), -1);
        CHECK(strstr(why, ": is a directory") != NULL);
    }

    /* Values of a full file. */
    CHECK_INT(write_conf(path, conf_cases[3].text), 0);
    CHECK_INT(mconf_load(path, &c, why, sizeof why), 0);
    CHECK_INT(c->action, MCONF_DISCARD);
    CHECK_INT(c->require_dkim, 1);
    CHECK_INT(c->n_trusted, 2);
    CHECK_INT(c->ingest.n_trusted_authserv, 2);
    CHECK_STR(c->ingest.trusted_authserv[1], "mx2.b");
    CHECK_INT(c->ingest.require_dkim, 1);
    CHECK_INT(c->ingest.limits.message_size, 10 << 20);
    CHECK_INT(c->ingest.limits.json_depth, 8);
    CHECK_INT(c->syslog_facility, LOG_LOCAL3);
    CHECK_INT(c->log_level, LOG_DEBUG);
    CHECK_INT(c->drain_interval, 10);
    CHECK_INT(c->retry_max, 300);
    CHECK_STR(c->socket, "inet:8893@127.0.0.1");
    CHECK_STR(c->database, "/d/x.db");
    mconf_put(c);

    /* Defaults. */
    CHECK_INT(write_conf(path, "RuaAddress a@b\n"), 0);
    CHECK_INT(mconf_load(path, &c, why, sizeof why), 0);
    CHECK_INT(c->action, MCONF_ACCEPT);
    CHECK(c->user_id == NULL && c->pid_file == NULL);
    CHECK_STR(c->spool_dir, "/var/spool/tlsrpt");
    CHECK_STR(c->database, TLSRPT_DEFAULT_DB);
    CHECK_INT(c->ingest.n_trusted_authserv, 0);
    mconf_put(c);

    CHECK_INT(write_conf(path, "RuaAddress tlsrpt@example.com, TLS-Reports@Example.ORG.\n"), 0);
    CHECK_INT(mconf_load(path, &c, why, sizeof why), 0);
    for (size_t i = 0; i < sizeof rua_cases / sizeof rua_cases[0]; i++) {
        int got = mconf_is_rua(c, rua_cases[i].addr);
        if (got != rua_cases[i].want)
            check_fail(__FILE__, __LINE__, "rua \"%s\": got %d, want %d", rua_cases[i].addr, got,
                       rua_cases[i].want);
        else
            check_passed++;
    }
    /* The live pointer: install, get, reinstall; the old one lives on
     * while referenced. */
    mconf_install(c);
    {
        struct mconf *held = mconf_get(), *c2;
        CHECK(held == c);
        CHECK_INT(write_conf(path, "RuaAddress other@example.net\n"), 0);
        CHECK_INT(mconf_load(path, &c2, why, sizeof why), 0);
        mconf_install(c2);
        CHECK(mconf_is_rua(held, "<tlsrpt@example.com>"));
        mconf_put(held);
        held = mconf_get();
        CHECK(held == c2 && mconf_is_rua(held, "<other@example.net>"));
        mconf_put(held);
        mconf_install(NULL);
    }
    CHECK_STR(mconf_action_name(MCONF_DISCARD), "discard");

    unlink(path);
    rmdir(dir);
    return check_done();
}
