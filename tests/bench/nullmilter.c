/*
 * nullmilter.c - the least a capturing milter can do, for the milter
 * figures of tests/bench/run: it takes every message to the rua address
 * through the whole milter protocol (headers, body, end of message), like
 * tlsrpt-milter, but keeps nothing: no spool, no database.  Postfix with
 * it in front shows what the milter protocol alone costs, so BENCHMARKS.md
 * can tell that cost apart from tlsrpt-milter's own (spool and drain).
 *
 * Usage: bench_nullmilter [-f] -c FILE
 *   Reads only the "Socket", "RuaAddress" (first one) and "Action" lines of
 *   a tlsrpt-milter.conf; -f is accepted and ignored (it always stays in
 *   the foreground).  Answers like tlsrpt-milter: ACCEPT at DATA for mail
 *   without a rua recipient; for the rest, at end of message, DISCARD with
 *   "Action discard", else ACCEPT.  Exits 0 on SIGTERM.
 * Benchmark tool: it prints and exits, unlike the library.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_LINE_MAX 1024

static char sock[CONF_LINE_MAX], rua[CONF_LINE_MAX];
static int discard;

/* Per connection: whether the current message has a rua recipient. */
static int *flag_of(SMFICTX *ctx)
{
    int *f = smfi_getpriv(ctx);
    if (f == NULL) {
        f = calloc(1, sizeof *f);
        if (f == NULL)
            abort();
        smfi_setpriv(ctx, f);
    }
    return f;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    (void)argv;
    *flag_of(ctx) = 0;
    return SMFIS_CONTINUE;
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    const char *r = argv[0] ? argv[0] : "";
    size_t n = strlen(r);

    if (n >= 2 && r[0] == '<' && r[n - 1] == '>') {
        r++;
        n -= 2;
    }
    if (n == strlen(rua) && strncasecmp(r, rua, n) == 0)
        *flag_of(ctx) = 1;
    return SMFIS_CONTINUE;
}

static sfsistat on_data(SMFICTX *ctx)
{
    return *flag_of(ctx) ? SMFIS_CONTINUE : SMFIS_ACCEPT;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
    (void)ctx, (void)name, (void)value;
    return SMFIS_CONTINUE;
}

static sfsistat on_eoh(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    (void)ctx, (void)chunk, (void)len;
    return SMFIS_CONTINUE;
}

static sfsistat on_eom(SMFICTX *ctx)
{
    (void)ctx;
    return discard ? SMFIS_DISCARD : SMFIS_ACCEPT;
}

static sfsistat on_close(SMFICTX *ctx)
{
    free(smfi_getpriv(ctx));
    smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
    .xxfi_name = "bench-nullmilter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_envfrom = on_envfrom,
    .xxfi_envrcpt = on_envrcpt,
    .xxfi_header = on_header,
    .xxfi_eoh = on_eoh,
    .xxfi_body = on_body,
    .xxfi_eom = on_eom,
    .xxfi_close = on_close,
    .xxfi_data = on_data,
};

static int read_conf(const char *path)
{
    char line[CONF_LINE_MAX], key[CONF_LINE_MAX], val[CONF_LINE_MAX];
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        perror(path);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%1023s %1023s", key, val) != 2)
            continue;
        if (strcmp(key, "Socket") == 0)
            snprintf(sock, sizeof sock, "%s", val);
        else if (strcmp(key, "RuaAddress") == 0 && rua[0] == '\0')
            snprintf(rua, sizeof rua, "%s", val);
        else if (strcmp(key, "Action") == 0)
            discard = strcmp(val, "discard") == 0;
    }
    fclose(f);
    if (sock[0] == '\0' || rua[0] == '\0') {
        fprintf(stderr, "%s: needs Socket and RuaAddress\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    int opt;

    while ((opt = getopt(argc, argv, "fc:")) != -1) {
        if (opt == 'c')
            conf = optarg;
        else if (opt != 'f') {
            fprintf(stderr, "usage: bench_nullmilter [-f] -c FILE\n");
            return 64;
        }
    }
    if (conf == NULL || read_conf(conf) < 0)
        return 64;
    umask(007);           /* the MTA (group of the socket's directory) connects */
    if (strncmp(sock, "unix:", 5) == 0)
        unlink(sock + 5);
    if (smfi_register(desc) == MI_FAILURE || smfi_setconn(sock) == MI_FAILURE) {
        fprintf(stderr, "bench_nullmilter: cannot register or set the socket %s\n", sock);
        return 71;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 71;
}
