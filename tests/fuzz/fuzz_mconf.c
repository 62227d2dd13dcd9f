/*
 * fuzz_mconf.c - the tlsrpt-milter configuration parser (mconf_load) and
 * the rua address matcher (mconf_is_rua).
 *
 * The input is written to a private temporary file (mconf_load reads a
 * path; see below).  Invariants: a loaded config has 1..MCONF_RUA_MAX rua addresses,
 * lower case, local part and domain non-empty, each matching itself
 * (also with a +detail and in <>), an absolute spool directory and
 * database, and RequireDKIM only with trusted authserv-ids; a rejected
 * one says why, naming the file.
 */
#include "fuzz.h"
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <unistd.h>

/* The file is unlinked at once and read through /proc/self/fd, so that no
 * temporary file is left behind, even by a crash or a killed fork-mode job
 * (a named file, removed at exit, when /proc is missing). */
static char conf_path[256];
static int conf_fd = -1;

static void remove_conf(void)
{
    if (conf_path[0] && strncmp(conf_path, "/proc/", 6) != 0)
        unlink(conf_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");
    char name[256], proc[64];

    snprintf(name, sizeof name, "%s/tlsrpt-fuzz-mconf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    conf_fd = mkstemp(name);
    FUZZ_CHECK(conf_fd >= 0);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", conf_fd);
    if (access(proc, R_OK) == 0) {
        unlink(name);
        snprintf(conf_path, sizeof conf_path, "%s", proc);
    } else {
        snprintf(conf_path, sizeof conf_path, "%s", name);
        atexit(remove_conf);
    }
    return 0;
}

static void check_lower(const char *s)
{
    FUZZ_CHECK(s != NULL);
    for (; *s; s++)
        FUZZ_CHECK(!isupper((unsigned char)*s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mconf *c = NULL;
    char why[MCONF_WHY_MAX];

    if (conf_fd < 0)
        LLVMFuzzerInitialize(NULL, NULL);
    FUZZ_CHECK(ftruncate(conf_fd, 0) == 0);
    FUZZ_CHECK(pwrite(conf_fd, data, size, 0) == (ssize_t)size);

    memset(why, 'X', sizeof why);
    if (mconf_load(conf_path, &c, why, sizeof why) == 0) {
        FUZZ_CHECK(c != NULL);
        FUZZ_CHECK(c->n_rua >= 1 && c->n_rua <= MCONF_RUA_MAX);
        FUZZ_CHECK(c->socket != NULL);
        FUZZ_CHECK(c->spool_dir != NULL && c->spool_dir[0] == '/');
        FUZZ_CHECK(c->database != NULL && c->database[0] == '/');
        FUZZ_CHECK(!c->require_dkim || c->n_trusted > 0);
        FUZZ_CHECK(c->n_trusted <= TR_MAX_TRUSTED_AUTHSERV);
        FUZZ_CHECK(c->ingest.n_trusted_authserv == c->n_trusted);
        for (size_t i = 0; i < c->n_rua; i++) {
            char addr[2 * MCONF_LINE_MAX + 16];
            check_lower(c->rua_local[i]);
            check_lower(c->rua_domain[i]);
            FUZZ_CHECK(c->rua_local[i][0] != '\0' && c->rua_domain[i][0] != '\0');
            snprintf(addr, sizeof addr, "%s@%s", c->rua_local[i], c->rua_domain[i]);
            FUZZ_CHECK(mconf_is_rua(c, addr));
            snprintf(addr, sizeof addr, "<%s+tlsrpt@%s>", c->rua_local[i], c->rua_domain[i]);
            FUZZ_CHECK(mconf_is_rua(c, addr));
        }
        /* Every line of the input as an envelope address: no crash. */
        {
            char *text = fuzz_strndup(data, size), *save = NULL;
            for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                (void)mconf_is_rua(c, l);
            free(text);
        }
        (void)mconf_action_name(c->action);
        mconf_put(c);
    } else {
        FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL);
        FUZZ_CHECK(strncmp(why, conf_path, strlen(conf_path)) == 0);
    }
    return 0;
}
