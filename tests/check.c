/* check.c - see check.h. */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int check_passed, check_failed;

void check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    check_failed++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int check_done(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

const char *check_external_dir(void)
{
    const char *env = getenv("TLSRPT_EXTERNAL_SAMPLES");
    struct stat st;

    if (env == NULL || *env == '\0' || stat(env, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return env;
}
