/*
 * test_stats.c - the daemons' counters file (stats.h): a write read back
 * exactly (extreme values included), atomic replacement leaving no
 * temporary file, names refused on write, and the strict reader refusing
 * each kind of malformed file (table of cases), a symlink and an
 * oversized file.
 */
#include "check.h"
#include "tlsrpt/stats.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[] = "/tmp/tlsrpt-stats-XXXXXX";

static void put(const char *path, const char *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        abort();
    fwrite(bytes, 1, len, f);
    fclose(f);
}

static long entries(void)
{
    DIR *d = opendir(root);
    struct dirent *de;
    long n = 0;

    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void test_roundtrip(void)
{
    struct tr_stat in[3] = { { "messages_captured_total", 0 }, { "last_drain_time", 1764720000 },
                             { "big", UINT64_MAX } };
    struct tr_stat *out;
    struct tr_err err;
    size_t n;
    char *path = tr_stats_path(root, "tlsrpt-test");

    CHECK_INT(tr_stats_write(path, in, 3, &err), 0);
    CHECK_INT(tr_stats_read(path, &out, &n, &err), 0);
    CHECK_INT(n, 3);
    for (size_t i = 0; i < n && i < 3; i++) {
        CHECK_STR(out[i].name, in[i].name);
        CHECK(out[i].value == in[i].value);
    }
    tr_stats_free(out);
    /* replaced whole; no temporary file left beside it */
    in[0].value = 7;
    CHECK_INT(tr_stats_write(path, in, 1, &err), 0);
    CHECK_INT(tr_stats_read(path, &out, &n, &err), 0);
    CHECK_INT(n, 1);
    CHECK(n == 1 && out[0].value == 7);
    tr_stats_free(out);
    CHECK_INT(entries(), 1);
    /* an empty set is an empty file */
    CHECK_INT(tr_stats_write(path, in, 0, &err), 0);
    CHECK_INT(tr_stats_read(path, &out, &n, &err), 0);
    CHECK_INT(n, 0);
    tr_stats_free(out);
    unlink(path);
    free(path);
}

static void test_bad_names(void)
{
    static const char *bad[] = { "", "Upper", "with1digit", "dash-ed", "sp ace",
                                 "a_name_that_is_far_too_long_for_the_sixty_four_byte_name_field_x" };
    struct tr_stat st[2] = { { "same", 1 }, { "same", 2 } };
    struct tr_err err;
    char *path = tr_stats_path(root, "bad");

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tr_stat one = { "", 1 };
        snprintf(one.name, sizeof one.name, "%s", bad[i]);
        if (strlen(bad[i]) >= sizeof one.name)   /* fill the field without a NUL */
            memset(one.name, 'a', sizeof one.name);
        CHECK_INT(tr_stats_write(path, &one, 1, &err), -1);
    }
    CHECK_INT(tr_stats_write(path, st, 2, &err), -1);
    CHECK(access(path, F_OK) != 0);             /* nothing written */
    CHECK_INT(entries(), 0);
    free(path);
}

/* Files the reader must refuse, and a few it must accept. */
#define S(lit) lit, sizeof(lit) - 1
static const struct {
    const char *bytes;
    size_t len;
    int ok;
    size_t n;
} cases[] = {
    { S("a 1\n"), 1, 1 },
    { S("a 0\nb_c 18446744073709551615\n"), 1, 2 },
    { S("a 1"), 0, 0 },                          /* no final newline */
    { S("a  1\n"), 0, 0 },                       /* two spaces */
    { S("a 01\n"), 0, 0 },                       /* leading zero */
    { S("a -1\n"), 0, 0 },
    { S("a +1\n"), 0, 0 },
    { S("a 18446744073709551616\n"), 0, 0 },    /* UINT64_MAX + 1 */
    { S("a 1 \n"), 0, 0 },                       /* trailing space */
    { S("a 1\r\n"), 0, 0 },
    { S("A 1\n"), 0, 0 },
    { S(" 1\n"), 0, 0 },
    { S("a \n"), 0, 0 },
    { S("\n"), 0, 0 },
    { S("a\0b 1\n"), 0, 0 },                     /* NUL in the name */
    { S("a 1\0\n"), 0, 0 },
    { S("a 1\na 2\n"), 0, 0 },                   /* a name twice */
    { S("x1 1\n"), 0, 0 },
};

static void test_strict_read(void)
{
    char *path = tr_stats_path(root, "case");
    struct tr_stat *out;
    struct tr_err err;
    size_t n;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc;
        put(path, cases[i].bytes, cases[i].len);
        rc = tr_stats_read(path, &out, &n, &err);
        if (rc != (cases[i].ok ? 0 : -1))
            fprintf(stderr, "case %zu\n", i);
        CHECK_INT(rc, cases[i].ok ? 0 : -1);
        if (rc == 0) {
            CHECK_INT(n, cases[i].n);
            tr_stats_free(out);
        } else {
            CHECK(out == NULL && n == 0);
        }
    }
    unlink(path);
    free(path);
}

static void test_caps(void)
{
    char *path = tr_stats_path(root, "caps");
    char *link = tr_stats_path(root, "link");
    struct tr_stat *out;
    struct tr_err err;
    size_t n, len = 0;
    char *big = malloc(TR_STATS_FILE_MAX + 16);

    /* too many lines (short ones, under the byte cap) */
    for (int i = 0; i <= TR_STATS_MAX; i++) {
        char name[8] = "a";
        for (int k = i, j = 1; j < 5; j++, k /= 26)
            name[j] = (char)('a' + k % 26);
        name[5] = '\0';
        len += (size_t)sprintf(big + len, "%s 1\n", name);
    }
    put(path, big, len);
    CHECK_INT(tr_stats_read(path, &out, &n, &err), -1);
    /* over the byte cap */
    memset(big, '\n', TR_STATS_FILE_MAX + 16);
    put(path, big, TR_STATS_FILE_MAX + 16);
    CHECK_INT(tr_stats_read(path, &out, &n, &err), -1);
    /* a symlink is not followed */
    put(path, "a 1\n", 4);
    CHECK_INT(symlink(path, link), 0);
    CHECK_INT(tr_stats_read(link, &out, &n, &err), -1);
    CHECK_INT(tr_stats_read(root, &out, &n, &err), -1);   /* a directory */
    unlink(link);
    unlink(path);
    free(big);
    free(link);
    free(path);
}

int main(void)
{
    if (mkdtemp(root) == NULL)
        return 1;
    test_roundtrip();
    test_bad_names();
    test_strict_read();
    test_caps();
    rmdir(root);
    return check_done();
}
