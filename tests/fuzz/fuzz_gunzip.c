/*
 * fuzz_gunzip.c - bounded decompression: tr_gunzip (gzip, gzip of gzip),
 * tr_unzip_first (zip) and tr_zinflate/tr_zdeflate (stored blobs).
 *
 * Invariants: output never exceeds the bound (1 MiB here, to stay fast);
 * a bound one byte below a successful output's size fails with
 * limit-inflated-size; every failure carries a code; deflate then inflate
 * gives back the input exactly, and inflating into one byte less fails.
 * The reusable blob compressor (tr_zblob, when gunzip.h has it) is one
 * object for the whole process, as a thread keeps it: whatever came
 * before, its output inflates back to the input.
 */
#include "fuzz.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/gunzip.h"

#include <string.h>

#define MAX_OUT ((size_t)1 << 20)

typedef int (*inflater)(const unsigned char *, size_t, size_t, unsigned char **, size_t *,
                        struct tr_err *);

static void bounded(inflater f, const uint8_t *data, size_t size)
{
    unsigned char *out = NULL, *again = NULL;
    size_t out_len = 0, again_len = 0;
    struct tr_err err;

    tr_err_clear(&err);
    if (f(data, size, MAX_OUT, &out, &out_len, &err) < 0) {
        FUZZ_CHECK(err.code != NULL);
        return;
    }
    FUZZ_CHECK(out != NULL || out_len == 0);
    FUZZ_CHECK(out_len <= MAX_OUT);
    if (out_len > 0) {
        tr_err_clear(&err);
        FUZZ_CHECK(f(data, size, out_len - 1, &again, &again_len, &err) < 0);
        FUZZ_CHECK(err.code != NULL && strcmp(err.code, TR_E_LIMIT_INFLATED_SIZE) == 0);
        free(again);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *z = NULL, *back = NULL;
    size_t z_len = 0, back_len = 0;
    struct tr_err err;

    if (tr_is_gzip(data, size))
        FUZZ_CHECK(size >= 2 && data[0] == 0x1f && data[1] == 0x8b);
    /* Each decoder is tried on every input: they must all fail cleanly on
     * bytes that are not theirs. */
    bounded(tr_gunzip, data, size);
    bounded(tr_unzip_first, data, size);
    bounded(tr_zinflate, data, size);

    tr_err_clear(&err);
    FUZZ_CHECK(tr_zdeflate(data, size, &z, &z_len, &err) == 0);
    FUZZ_CHECK(tr_zinflate(z, z_len, size, &back, &back_len, &err) == 0);
    FUZZ_CHECK(back_len == size && (size == 0 || memcmp(back, data, size) == 0));
    free(back);
    back = NULL;
    if (size > 0) {
        FUZZ_CHECK(tr_zinflate(z, z_len, size - 1, &back, &back_len, &err) < 0);
        free(back);
    }
    free(z);

#ifdef TR_ZBLOB_SMALL
    {
        static struct tr_zblob *zb;
        const unsigned char *bz;
        size_t bz_len;
        if (zb == NULL)
            zb = tr_zblob_new();
        FUZZ_CHECK(zb != NULL);
        FUZZ_CHECK(tr_zblob_deflate(zb, data, size, &bz, &bz_len, &err) == 0);
        back = NULL;
        FUZZ_CHECK(tr_zinflate(bz, bz_len, size, &back, &back_len, &err) == 0);
        FUZZ_CHECK(back_len == size && (size == 0 || memcmp(back, data, size) == 0));
        free(back);
    }
#endif
    return 0;
}
