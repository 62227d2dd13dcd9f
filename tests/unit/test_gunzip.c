/*
 * test_gunzip.c - bounded gzip / zip / zlib decompression (gunzip.h).
 *
 * Every compressed input is built here with zlib at run time (bombs too:
 * 100 MiB of zeros deflated in chunks, never held in memory), except three
 * small archives made by Info-ZIP in tests/data/mime/ and one real report
 * from external-samples/ (skipped when absent).
 */
#include "check.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/gunzip.h"
#include "tlsrpt/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define MiB ((size_t)1 << 20)

/* Compresses `reps` copies of in[0..len) with the given zlib window bits
 * (16+15 gzip, -15 raw deflate) into a malloc'd buffer. */
static unsigned char *deflate_reps(int wbits, const void *in, size_t len, size_t reps, size_t *out_len)
{
    z_stream zs;
    struct tr_buf b;
    unsigned char chunk[65536];
    int rc;

    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, wbits, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    tr_buf_init(&b, (size_t)1 << 30);
    for (size_t r = 0; r <= reps; r++) {
        int flush = r == reps ? Z_FINISH : Z_NO_FLUSH;
        zs.next_in = (unsigned char *)(r == reps ? (const void *)"" : in);
        zs.avail_in = r == reps ? 0 : (uInt)len;
        do {
            zs.next_out = chunk;
            zs.avail_out = sizeof chunk;
            rc = deflate(&zs, flush);
            tr_buf_append(&b, chunk, sizeof chunk - zs.avail_out);
        } while (zs.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    }
    deflateEnd(&zs);
    return tr_buf_steal(&b, out_len);
}

static unsigned char *gz(const char *s, size_t *n)
{
    return deflate_reps(16 + 15, s, strlen(s), 1, n);
}

static unsigned char *cat2(const unsigned char *a, size_t an, const void *b, size_t bn, size_t *n)
{
    unsigned char *p = xmalloc(an + bn);
    memcpy(p, a, an);
    memcpy(p + an, b, bn);
    *n = an + bn;
    return p;
}

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    struct tr_buf b;
    unsigned char chunk[4096];
    size_t k;

    if (f == NULL)
        return NULL;
    tr_buf_init(&b, 64 * MiB);
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        tr_buf_append(&b, chunk, k);
    fclose(f);
    return tr_buf_steal(&b, n);
}

enum op { GUNZIP, UNZIP, ZINFLATE };

/* Runs one decompression and checks the outcome: want_code NULL means
 * success with exactly want[0..want_len). */
static void expect(const char *name, enum op op, const unsigned char *in, size_t len, size_t max_out,
                   const char *want_code, const void *want, size_t want_len)
{
    unsigned char *out = NULL;
    size_t out_len = 0;
    struct tr_err err;
    int rc;

    tr_err_clear(&err);
    rc = op == GUNZIP ? tr_gunzip(in, len, max_out, &out, &out_len, &err)
       : op == UNZIP ? tr_unzip_first(in, len, max_out, &out, &out_len, &err)
       : tr_zinflate(in, len, max_out, &out, &out_len, &err);
    if (want_code == NULL) {
        if (rc != 0)
            fprintf(stderr, "case %s: %s: %s\n", name, err.code, err.detail);
        CHECK_INT(rc, 0);
        CHECK_INT(out_len, want_len);
        CHECK(rc == 0 && out_len == want_len && memcmp(out, want, want_len) == 0);
        CHECK(rc == 0 && out[out_len] == '\0');
    } else {
        if (rc == 0)
            fprintf(stderr, "case %s: unexpected success\n", name);
        CHECK_INT(rc, -1);
        CHECK_STR(err.code, want_code);
        CHECK(err.detail[0] != '\0');
    }
    free(out);
}

static void test_gzip(void)
{
    const char *json = "{\"organization-name\":\"Example\"}";
    size_t n1, n2, n, nb;
    unsigned char *a = gz(json, &n1), *b = gz("second member", &n2), *p;

    CHECK(tr_is_gzip(a, n1));
    CHECK(!tr_is_gzip((const unsigned char *)"{}", 2));
    CHECK(!tr_is_gzip(a, 1));
    expect("valid", GUNZIP, a, n1, MiB, NULL, json, strlen(json));
    expect("exact cap", GUNZIP, a, n1, strlen(json), NULL, json, strlen(json));
    expect("cap - 1", GUNZIP, a, n1, strlen(json) - 1, TR_E_LIMIT_INFLATED_SIZE, NULL, 0);
    p = cat2(a, n1, b, n2, &n);
    expect("two members", GUNZIP, p, n, MiB, NULL, "{\"organization-name\":\"Example\"}second member",
           strlen(json) + 13);
    expect("second member truncated", GUNZIP, p, n - 4, MiB, TR_E_BAD_GZIP, NULL, 0);
    free(p);
    p = cat2(a, n1, "xyz", 3, &n);
    expect("trailing garbage", GUNZIP, p, n, MiB, TR_E_BAD_GZIP, NULL, 0);
    free(p);
    p = cat2(a, n1, "\0\0\0\0", 4, &n);
    expect("trailing zeros", GUNZIP, p, n, MiB, TR_E_BAD_GZIP, NULL, 0);
    free(p);
    expect("truncated trailer", GUNZIP, a, n1 - 3, MiB, TR_E_BAD_GZIP, NULL, 0);
    expect("truncated half", GUNZIP, a, n1 / 2, MiB, TR_E_BAD_GZIP, NULL, 0);
    expect("header only", GUNZIP, a, 10, MiB, TR_E_BAD_GZIP, NULL, 0);
    expect("magic only", GUNZIP, a, 2, MiB, TR_E_BAD_GZIP, NULL, 0);
    expect("empty", GUNZIP, (const unsigned char *)"", 0, MiB, TR_E_BAD_GZIP, NULL, 0);
    expect("json", GUNZIP, (const unsigned char *)json, strlen(json), MiB, TR_E_BAD_GZIP, NULL, 0);
    p = cat2(a, n1, "", 0, &n);
    p[n - 6] ^= 0xff;   /* CRC32 in the trailer */
    expect("bad crc", GUNZIP, p, n, MiB, TR_E_BAD_GZIP, NULL, 0);
    memcpy(p, a, n);
    p[3] = 0xe0;        /* reserved flag bits */
    expect("bad header flags", GUNZIP, p, n, MiB, TR_E_BAD_GZIP, NULL, 0);
    memcpy(p, a, n);
    p[12] ^= 0x55;      /* inside the deflate data */
    expect("corrupt data", GUNZIP, p, n, MiB, TR_E_BAD_GZIP, NULL, 0);
    free(p);

    /* gzip of gzip, up to TR_GUNZIP_MAX_LAYERS in all. */
    unsigned char *l2 = deflate_reps(16 + 15, a, n1, 1, &n);
    expect("two layers", GUNZIP, l2, n, MiB, NULL, json, strlen(json));
    unsigned char *l3 = deflate_reps(16 + 15, l2, n, 1, &nb);
    expect("three layers", GUNZIP, l3, nb, MiB, NULL, json, strlen(json));
    unsigned char *l4 = deflate_reps(16 + 15, l3, nb, 1, &n);
    expect("four layers", GUNZIP, l4, n, MiB, TR_E_UNSUPPORTED, NULL, 0);
    free(l2);
    free(l3);
    free(l4);
    free(a);
    free(b);
}

static void test_bombs(void)
{
    static unsigned char zeros[MiB];
    size_t n, n2;
    clock_t t0 = clock();

    /* 100 MiB of zeros: about 100 KB of gzip. */
    unsigned char *bomb = deflate_reps(16 + 15, zeros, sizeof zeros, 100, &n);
    CHECK(n < 200000);
    expect("bomb", GUNZIP, bomb, n, MiB, TR_E_LIMIT_INFLATED_SIZE, NULL, 0);
    /* The same bomb wrapped in a second gzip layer. */
    unsigned char *bomb2 = deflate_reps(16 + 15, bomb, n, 1, &n2);
    expect("bomb in gzip", GUNZIP, bomb2, n2, MiB, TR_E_LIMIT_INFLATED_SIZE, NULL, 0);
    /* A zip entry that is the same bomb as raw deflate, declared small. */
    free(bomb);
    free(bomb2);
    bomb = deflate_reps(-15, zeros, sizeof zeros, 100, &n);
    unsigned char *zip = xcalloc(1, 30 + 5 + n);
    memcpy(zip, "PK\3\4\24\0\10\0\10\0", 10);      /* data descriptor, method 8 */
    zip[26] = 5;
    memcpy(zip + 30, "b.bin", 5);
    memcpy(zip + 35, bomb, n);
    expect("zip bomb", UNZIP, zip, 35 + n, MiB, TR_E_LIMIT_INFLATED_SIZE, NULL, 0);
    free(zip);
    free(bomb);
    /* Within its limit the whole 100 MiB inflates fine. */
    bomb = deflate_reps(16 + 15, zeros, sizeof zeros, 100, &n);
    unsigned char *out;
    size_t out_len;
    struct tr_err err;
    CHECK_INT(tr_gunzip(bomb, n, 100 * MiB, &out, &out_len, &err), 0);
    CHECK_INT(out_len, 100 * MiB);
    free(out);
    free(bomb);
    CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 60.0);
}

/* Appends a local file header for name/data to b. */
static void zip_entry(struct tr_buf *b, unsigned flags, unsigned method, const char *name,
                      const unsigned char *data, size_t dlen, uint32_t crc, uint32_t usize)
{
    unsigned char h[30] = { 'P', 'K', 3, 4, 20, 0 };
    size_t nl = strlen(name);
    uint32_t cs = (flags & 8) ? 0 : (uint32_t)dlen;

    h[6] = (unsigned char)flags;
    h[8] = (unsigned char)method;
    for (int i = 0; i < 4; i++) {
        h[14 + i] = (unsigned char)((flags & 8 ? 0 : crc) >> (8 * i));
        h[18 + i] = (unsigned char)(cs >> (8 * i));
        h[22 + i] = (unsigned char)((flags & 8 ? 0 : usize) >> (8 * i));
    }
    h[26] = (unsigned char)nl;
    tr_buf_append(b, h, sizeof h);
    tr_buf_append(b, name, nl);
    tr_buf_append(b, data, dlen);
}

static void test_zip(void)
{
    const char *text = "{\"report-id\":\"zip\",\"policies\":[]} {\"report-id\":\"zip\",\"policies\":[]}";
    size_t tl = strlen(text), rn, n;
    uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)text, (uInt)tl);
    unsigned char *raw = deflate_reps(-15, text, tl, 1, &rn);
    struct tr_buf b;
    const struct { const char *name; unsigned flags, method; int deflated; size_t max; const char *code; } cases[] = {
        { "stored", 0, 0, 0, MiB, NULL },
        { "deflated", 0, 8, 1, MiB, NULL },
        { "deflated, data descriptor", 8, 8, 1, MiB, NULL },
        { "stored over the cap", 0, 0, 0, 10, TR_E_LIMIT_INFLATED_SIZE },
        { "deflated over the cap", 0, 8, 1, 10, TR_E_LIMIT_INFLATED_SIZE },
        { "stored, data descriptor", 8, 0, 0, MiB, TR_E_UNSUPPORTED },
        { "bzip2", 0, 12, 0, MiB, TR_E_UNSUPPORTED },
        { "encrypted", 1, 8, 1, MiB, TR_E_UNSUPPORTED },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_buf_init(&b, MiB);
        zip_entry(&b, cases[i].flags, cases[i].method, "report.json",
                  cases[i].deflated ? raw : (const unsigned char *)text, cases[i].deflated ? rn : tl,
                  crc, (uint32_t)tl);
        CHECK(tr_is_zip(b.data, b.len));
        expect(cases[i].name, UNZIP, b.data, b.len, cases[i].max, cases[i].code, text, tl);
        if (cases[i].code == NULL && !(cases[i].flags & 8))
            expect(cases[i].name, UNZIP, b.data, b.len - 1, MiB, TR_E_BAD_GZIP, NULL, 0);
        tr_buf_free(&b);
    }
    /* Directory entries first, then the file. */
    tr_buf_init(&b, MiB);
    zip_entry(&b, 0, 0, "dir/", NULL, 0, 0, 0);
    zip_entry(&b, 0, 0, "dir/sub/", NULL, 0, 0, 0);
    zip_entry(&b, 0, 8, "dir/sub/r.json", raw, rn, crc, (uint32_t)tl);
    expect("after directories", UNZIP, b.data, b.len, MiB, NULL, text, tl);
    tr_buf_free(&b);
    /* Wrong CRC, wrong size. */
    tr_buf_init(&b, MiB);
    zip_entry(&b, 0, 8, "r.json", raw, rn, crc ^ 1, (uint32_t)tl);
    expect("bad crc", UNZIP, b.data, b.len, MiB, TR_E_BAD_GZIP, NULL, 0);
    tr_buf_free(&b);
    tr_buf_init(&b, MiB);
    zip_entry(&b, 0, 8, "r.json", raw, rn, crc, (uint32_t)tl + 1);
    expect("bad size", UNZIP, b.data, b.len, MiB, TR_E_BAD_GZIP, NULL, 0);
    tr_buf_free(&b);
    expect("header cut", UNZIP, (const unsigned char *)"PK\3\4\24\0", 6, MiB, TR_E_BAD_GZIP, NULL, 0);
    expect("not zip", UNZIP, (const unsigned char *)"{\"a\":1}", 7, MiB, TR_E_BAD_GZIP, NULL, 0);
    CHECK(!tr_is_zip((const unsigned char *)"PK\5\6", 4));
    free(raw);

    /* Archives made by Info-ZIP. */
    unsigned char *want = read_file("tests/data/mime/zip-report.json", &tl);
    CHECK(want != NULL);
    const char *files[] = { "tests/data/mime/info-zip-deflated.zip", "tests/data/mime/info-zip-stored.zip",
                            "tests/data/mime/info-zip-streamed.zip" };
    for (size_t i = 0; want && i < 3; i++) {
        unsigned char *z = read_file(files[i], &n);
        CHECK(z != NULL);
        if (z)
            expect(files[i], UNZIP, z, n, MiB, NULL, want, tl);
        free(z);
    }
    free(want);
}

static void test_zlib(void)
{
    static unsigned char big[300000];
    const struct { const char *name; size_t len; } sizes[] = {
        { "empty", 0 }, { "one byte", 1 }, { "text", 1000 }, { "big", sizeof big },
    };
    struct tr_err err;

    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)("{\"a\":[1,2,3]}"[i % 13] + (i / 4096) % 3);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *z, *p;
        size_t zn;
        CHECK_INT(tr_zdeflate(big, sizes[i].len, &z, &zn, &err), 0);
        CHECK(sizes[i].len < 1000 || zn < sizes[i].len / 2);
        expect(sizes[i].name, ZINFLATE, z, zn, sizeof big, NULL, big, sizes[i].len);
        if (sizes[i].len > 1) {
            expect("over max_out", ZINFLATE, z, zn, sizes[i].len - 1, TR_E_LIMIT_INFLATED_SIZE, NULL, 0);
            expect("truncated", ZINFLATE, z, zn - 1, sizeof big, TR_E_BAD_GZIP, NULL, 0);
            p = cat2(z, zn, "!", 1, &zn);
            expect("trailing garbage", ZINFLATE, p, zn, sizeof big, TR_E_BAD_GZIP, NULL, 0);
            p[2] ^= 0x40;
            expect("corrupt", ZINFLATE, p, zn - 1, sizeof big, TR_E_BAD_GZIP, NULL, 0);
            free(p);
        }
        free(z);
    }
    expect("gzip is not zlib", ZINFLATE, (const unsigned char *)"\x1f\x8b\x08\0", 4, MiB, TR_E_BAD_GZIP, NULL, 0);
}

/* A report kept as the sender's gzip bytes (tr_provenance.sent_gz) reads
 * back through tr_zinflate exactly as tr_gunzip read it on arrival. */
static void test_blob_as_sent(void)
{
    const char *json = "{\"organization-name\":\"Example\"}";
    size_t n1, n2, n, nn;
    unsigned char *a = gz(json, &n1), *b = gz("{}", &n2), *p = cat2(a, n1, b, n2, &n), *nested;

    expect("as sent", ZINFLATE, a, n1, MiB, NULL, json, strlen(json));
    expect("as sent, two members", ZINFLATE, p, n, MiB, NULL, "{\"organization-name\":\"Example\"}{}",
           strlen(json) + 2);
    expect("as sent, over max_out", ZINFLATE, a, n1, strlen(json) - 1, TR_E_LIMIT_INFLATED_SIZE, NULL, 0);
    expect("as sent, truncated", ZINFLATE, a, n1 - 3, MiB, TR_E_BAD_GZIP, NULL, 0);
    nested = deflate_reps(16 + 15, a, n1, 1, &nn);
    expect("as sent, gzip of gzip", ZINFLATE, nested, nn, MiB, NULL, json, strlen(json));
    free(nested);
    free(p);
    free(a);
    free(b);
}

/* A real report gzipped by a real tool, when external-samples/ is present. */
static void test_external(void)
{
    static const char base[] = "aldy505-mailweave/google.com!example.com!1747094400!1747180799!001.json";
    const char *ext = check_external_dir();
    char path[4200];
    size_t gn = 0, jn = 0;
    unsigned char *g = NULL, *j = NULL;

    if (ext != NULL) {
        snprintf(path, sizeof path, "%s/%s.gz", ext, base);
        g = read_file(path, &gn);
        snprintf(path, sizeof path, "%s/%s", ext, base);
        j = read_file(path, &jn);
    }
    if (g == NULL || j == NULL)
        printf("skip: the external samples ($TLSRPT_EXTERNAL_SAMPLES) are not present\n");
    else
        expect("aldy505 .json.gz", GUNZIP, g, gn, MiB, NULL, j, jn);
    free(g);
    free(j);
}

int main(void)
{
    test_gzip();
    test_bombs();
    test_zip();
    test_zlib();
    test_blob_as_sent();
    test_external();
    return check_done();
}
