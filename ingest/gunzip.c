/*
 * gunzip.c - bounded decompression with zlib: gzip (every member, nested
 * gzip up to TR_GUNZIP_MAX_LAYERS), every file of a zip archive, and
 * the zlib-wrapped blobs the database stores.
 *
 * Every inflate runs through one loop, inflate_bounded(), which feeds the
 * input in chunks and appends the output, 64 KiB at a time, to a struct
 * tr_buf capped at the caller's max_out.  The first byte past the cap fails
 * the call with TR_E_LIMIT_INFLATED_SIZE, so a gzip bomb costs at most
 * max_out bytes of memory (plus one 64 KiB chunk) however far it would
 * inflate.  Nested gzip keeps at most two layers' output alive at a time.
 *
 * Ownership: inputs are borrowed; every *out is caller-owned (free()) and
 * NUL-terminated (the NUL is not counted in *out_len).  Nothing here prints.
 */
#include "tlsrpt/gunzip.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/limits.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CHUNK 65536            /* inflate output granule */
#define WBITS_GZIP (16 + 15)   /* gzip wrapper only */
#define WBITS_ZLIB 15          /* zlib wrapper (tr_zdeflate's format) */
#define WBITS_RAW (-15)        /* raw deflate (zip method 8) */
#define ZIP_LOCAL_HEADER 30    /* fixed part of a zip local file header */

/* See gunzip.h. */
int tr_is_gzip(const unsigned char *p, size_t len)
{
    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* See gunzip.h: a zip local file header signature. */
int tr_is_zip(const unsigned char *p, size_t len)
{
    return len >= 4 && p[0] == 'P' && p[1] == 'K' && p[2] == 3 && p[3] == 4;
}

/*
 * Inflates one stream (or, with members, every concatenated gzip member)
 * from in[0..len) into out, which must be initialized with the caller's cap.
 * *used receives the number of input bytes consumed.  When all_input is set,
 * input left after the (last) stream is an error; otherwise the caller
 * checks *used.  Returns 0, or -1 with err set (BAD_GZIP or the limit).
 */
static int inflate_bounded(int wbits, int members, int all_input, const unsigned char *in,
                           size_t len, struct tr_buf *out, size_t *used, struct tr_err *err)
{
    z_stream zs;
    unsigned char chunk[CHUNK];
    size_t pos = 0;
    int rc, ret = -1;

    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, wbits) != Z_OK) {
        tr_err_set(err, TR_E_BAD_GZIP, "inflateInit2 failed");
        return -1;
    }
    for (;;) {
        if (zs.avail_in == 0 && pos < len) {
            size_t n = len - pos < UINT_MAX ? len - pos : UINT_MAX;
            zs.next_in = (unsigned char *)(uintptr_t)(in + pos); /* zlib never writes it */
            zs.avail_in = (uInt)n;
            pos += n;
        }
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (tr_buf_append(out, chunk, sizeof chunk - zs.avail_out) < 0) {
            tr_err_set(err, TR_E_LIMIT_INFLATED_SIZE,
                       "inflated data exceeds the inflated-size limit of %zu bytes", out->cap);
            goto done;
        }
        if (rc == Z_STREAM_END) {
            size_t consumed = pos - zs.avail_in;
            if (members && consumed < len && tr_is_gzip(in + consumed, len - consumed)) {
                inflateReset(&zs);   /* next gzip member; keep unread input */
                continue;
            }
            *used = consumed;
            if (all_input && consumed != len) {
                tr_err_set(err, TR_E_BAD_GZIP, "%zu bytes of trailing garbage after the compressed data",
                           len - consumed);
                goto done;
            }
            ret = 0;
            goto done;
        }
        if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR) {
            tr_err_set(err, TR_E_BAD_GZIP, "corrupt compressed data: %s", zs.msg ? zs.msg : "inflate error");
            goto done;
        }
        /* Z_OK or Z_BUF_ERROR: progress needs more input or more output.
         * (Z_BUF_ERROR with both input and output space left cannot
         * happen; treat it as corrupt rather than loop.) */
        if (rc == Z_BUF_ERROR && zs.avail_in != 0 && zs.avail_out != 0) {
            tr_err_set(err, TR_E_BAD_GZIP, "inflate made no progress");
            goto done;
        }
        if (zs.avail_in == 0 && pos == len && zs.avail_out != 0) {
            tr_err_set(err, TR_E_BAD_GZIP, "truncated compressed data (%zu bytes)", len);
            goto done;
        }
    }
done:
    inflateEnd(&zs);
    return ret;
}

/* See gunzip.h.  Each layer's output is capped at max_out; more than
 * TR_GUNZIP_MAX_LAYERS layers fail with TR_E_UNSUPPORTED. */
int tr_gunzip(const unsigned char *in, size_t len, size_t max_out,
              unsigned char **out, size_t *out_len, struct tr_err *err)
{
    unsigned char *layer = NULL;   /* output of the previous layer, owned */
    size_t layer_len = 0;

    if (!tr_is_gzip(in, len)) {
        tr_err_set(err, TR_E_BAD_GZIP, "not gzip data (no 1f 8b magic)");
        return -1;
    }
    for (int i = 0; i < TR_GUNZIP_MAX_LAYERS; i++) {
        struct tr_buf b;
        size_t used;
        const unsigned char *src = layer ? layer : in;
        size_t src_len = layer ? layer_len : len;

        tr_buf_init(&b, max_out);
        if (inflate_bounded(WBITS_GZIP, 1, 1, src, src_len, &b, &used, err) < 0) {
            tr_buf_free(&b);
            free(layer);
            return -1;
        }
        free(layer);
        layer = tr_buf_steal(&b, &layer_len);
        if (!tr_is_gzip(layer, layer_len)) {
            *out = layer;
            *out_len = layer_len;
            return 0;
        }
    }
    free(layer);
    tr_err_set(err, TR_E_UNSUPPORTED, "gzip nested more than %d layers deep", TR_GUNZIP_MAX_LAYERS);
    return -1;
}

/* Little-endian 16- and 32-bit fields of zip headers. */
static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Stores or inflates one zip entry whose data starts at in[0..avail).  csize
 * and usize come from the local header unless has_sizes is 0 (data
 * descriptor: the deflate stream's own end marks the end).  Checks crc when
 * the header has it.  Returns 0 or -1 with err set. */
static int zip_entry(unsigned method, int has_sizes, uint32_t crc, uint32_t csize, uint32_t usize,
                     const unsigned char *in, size_t avail, size_t max_out,
                     struct tr_buf *b, size_t *used, struct tr_err *err)
{

    if (has_sizes && csize > avail) {
        tr_err_set(err, TR_E_BAD_GZIP, "zip entry truncated: %lu of %lu bytes",
                   (unsigned long)avail, (unsigned long)csize);
        return -1;
    }
    if (method == 0) {
        if (!has_sizes) {
            tr_err_set(err, TR_E_UNSUPPORTED, "stored zip entry with a data descriptor");
            return -1;
        }
        if (csize > max_out) {
            tr_err_set(err, TR_E_LIMIT_INFLATED_SIZE,
                       "zip entry exceeds the inflated-size limit of %zu bytes", max_out);
            return -1;
        }
        tr_buf_append(b, in, csize);   /* fits: csize <= max_out = cap */
        *used = csize;
    } else if (inflate_bounded(WBITS_RAW, 0, 0, in, has_sizes ? csize : avail, b, used, err) < 0) {
        return -1;
    } else if (has_sizes) {
        *used = csize;                 /* the entry's data, whatever inflate needed of it */
    }
    if (has_sizes && (b->len != usize ||
                      crc32_z(0L, b->data ? b->data : (const Bytef *)"", b->len) != crc)) {
        tr_err_set(err, TR_E_BAD_GZIP, "zip entry size or CRC mismatch");
        return -1;
    }
    return 0;
}

void tr_unzip_init(struct tr_unzip *z, const unsigned char *in, size_t len, size_t max_entries,
                   size_t max_total)
{
    memset(z, 0, sizeof *z);
    z->in = in;
    z->len = len;
    z->max_entries = max_entries;
    z->max_total = max_total;
}

/* See gunzip.h.  Reads local file headers only (never the central
 * directory), in archive order: skips directory entries, refuses
 * encryption, zip64 and methods other than 0 and 8 (TR_E_UNSUPPORTED),
 * checks size and CRC when the header carries them, and steps over the
 * data descriptor that follows a streamed entry. */
int tr_unzip_next(struct tr_unzip *z, size_t max_out, unsigned char **out, size_t *out_len,
                  char *name, size_t name_cap, struct tr_err *err)
{
    const unsigned char *in = z->in;
    size_t len = z->len;

    for (;;) {
        size_t off = z->off;
        const unsigned char *h = in + off;
        unsigned flags, method, namelen, extralen;
        uint32_t crc, csize, usize;
        size_t data, cap, used;
        int has_sizes, by_total;
        struct tr_buf b;

        if (len - off < ZIP_LOCAL_HEADER || !tr_is_zip(h, len - off)) {
            if (off == 0) {
                tr_err_set(err, TR_E_BAD_GZIP, "not a zip local file header");
                return -1;
            }
            return 0;        /* the central directory, or the end: no more entries */
        }
        if (++z->n_entries > z->max_entries) {
            tr_err_set(err, TR_E_LIMIT_ZIP_ENTRIES, "zip archive has more than the zip-entries limit of %zu entries",
                       z->max_entries);
            return -1;
        }
        flags = get16(h + 6);
        method = get16(h + 8);
        crc = get32(h + 14);
        csize = get32(h + 18);
        usize = get32(h + 22);
        namelen = get16(h + 26);
        extralen = get16(h + 28);
        has_sizes = !(flags & 0x08);
        if (flags & 0x01) {
            tr_err_set(err, TR_E_UNSUPPORTED, "encrypted zip entry");
            return -1;
        }
        if (method != 0 && method != 8) {
            tr_err_set(err, TR_E_UNSUPPORTED, "zip compression method %u", method);
            return -1;
        }
        if (has_sizes && (csize == UINT32_MAX || usize == UINT32_MAX)) {
            tr_err_set(err, TR_E_UNSUPPORTED, "zip64 entry");
            return -1;
        }
        data = off + ZIP_LOCAL_HEADER + namelen + extralen;
        if (data > len) {
            tr_err_set(err, TR_E_BAD_GZIP, "zip local header truncated");
            return -1;
        }
        if (name_cap > 0) {
            size_t k = namelen < name_cap - 1 ? namelen : name_cap - 1;
            memcpy(name, h + ZIP_LOCAL_HEADER, k);
            name[k] = '\0';
        }
        /* A directory entry ("name/", no data): skip to the next header. */
        if (has_sizes && namelen > 0 && h[ZIP_LOCAL_HEADER + namelen - 1] == '/' && csize == 0) {
            z->off = data;
            continue;
        }
        /* Each entry is capped by max_out and by what is left of max_total. */
        by_total = z->max_total - z->total < max_out;
        cap = by_total ? z->max_total - z->total : max_out;
        tr_buf_init(&b, cap);
        if (zip_entry(method, has_sizes, crc, csize, usize, in + data, len - data, cap, &b, &used, err) < 0) {
            tr_buf_free(&b);
            if (by_total && tr_err_is(err, TR_E_LIMIT_INFLATED_SIZE))
                tr_err_set(err, TR_E_LIMIT_ZIP_SIZE, "zip entries inflate to more than the "
                           "zip-inflated-size limit of %zu bytes", z->max_total);
            return -1;
        }
        data += used;
        if (!has_sizes) {
            /* Data descriptor: crc, sizes (12 bytes), optionally signed. */
            size_t dd = len - data >= 4 && get32(in + data) == 0x08074b50 ? 16 : 12;
            data = len - data >= dd ? data + dd : len;
        }
        z->off = data;
        z->total += b.len;
        *out = tr_buf_steal(&b, out_len);
        return 1;
    }
}

/* See gunzip.h: the first file entry, bounded by the default zip limits. */
int tr_unzip_first(const unsigned char *in, size_t len, size_t max_out,
                   unsigned char **out, size_t *out_len, struct tr_err *err)
{
    struct tr_unzip z;
    int rc;

    tr_unzip_init(&z, in, len, TR_LIMIT_ZIP_ENTRIES_DEFAULT, max_out);
    rc = tr_unzip_next(&z, max_out, out, out_len, NULL, 0, err);
    if (rc == 0)
        tr_err_set(err, TR_E_NOT_A_REPORT, "zip archive holds no file");
    return rc > 0 ? 0 : -1;
}

/* See gunzip.h: zlib format, level 6.  Output is at most compressBound(len). */
int tr_zdeflate(const unsigned char *in, size_t len, unsigned char **out, size_t *out_len,
                struct tr_err *err)
{
    uLong bound = compressBound((uLong)len);
    uLongf dlen = bound;
    unsigned char *d;
    int rc;

    if ((size_t)(uLong)len != len || bound < len) {
        tr_err_set(err, TR_E_LIMIT_INFLATED_SIZE, "blob of %zu bytes too large to compress", len);
        return -1;
    }
    d = xmalloc(bound + 1);
    rc = compress2(d, &dlen, len ? in : (const Bytef *)"", (uLong)len, 6);
    if (rc != Z_OK) {
        free(d);
        tr_err_set(err, TR_E_IO, "compress2 failed (%d)", rc);
        return -1;
    }
    d[dlen] = '\0';
    *out = xrealloc(d, dlen + 1);
    *out_len = dlen;
    return 0;
}

/* See gunzip.h: one zlib stream, nothing after it, at most max_out bytes;
 * or a report kept as the sender's gzip bytes, read as tr_gunzip read it
 * when it arrived.  A zlib stream never starts with 1f 8b (its first byte
 * names method 8), so the magic tells the two apart. */
int tr_zinflate(const unsigned char *in, size_t len, size_t max_out, unsigned char **out,
                size_t *out_len, struct tr_err *err)
{
    struct tr_buf b;
    size_t used;

    if (tr_is_gzip(in, len))
        return tr_gunzip(in, len, max_out, out, out_len, err);
    tr_buf_init(&b, max_out);
    if (inflate_bounded(WBITS_ZLIB, 0, 1, in, len, &b, &used, err) < 0) {
        tr_buf_free(&b);
        return -1;
    }
    *out = tr_buf_steal(&b, out_len);
    return 0;
}

/*
 * tr_zblob: two lazily initialized deflate streams, reset per blob, and
 * one output buffer.  The small stream (windowBits 13 = an 8 KiB window,
 * memLevel 6) sees every byte of a blob up to TR_ZBLOB_SMALL, so it
 * compresses those as well as zlib's defaults (measured: 649 vs 648 bytes
 * for a typical report) while its hash table, which deflateReset zeroes,
 * is 16 KiB instead of 64 KiB.  Larger blobs use the default stream.  The
 * output buffer grows to deflateBound(); one over ZBLOB_KEEP bytes is
 * released at the next call so a huge blob does not pin its memory.
 */
#define ZBLOB_SMALL_WBITS 13
#define ZBLOB_SMALL_MEMLEVEL 6
#define ZBLOB_KEEP ((size_t)1 << 20)

struct tr_zblob {
    z_stream zs[2];            /* [0] small blobs, [1] the rest */
    int ready[2];
    unsigned char *out;        /* owned, out_cap bytes */
    size_t out_cap;
};

struct tr_zblob *tr_zblob_new(void)
{
    return xcalloc(1, sizeof(struct tr_zblob));
}

void tr_zblob_free(struct tr_zblob *zb)
{
    if (zb == NULL)
        return;
    for (int i = 0; i < 2; i++)
        if (zb->ready[i])
            deflateEnd(&zb->zs[i]);
    free(zb->out);
    free(zb);
}

/* See gunzip.h. */
int tr_zblob_deflate(struct tr_zblob *zb, const unsigned char *in, size_t len,
                     const unsigned char **out, size_t *out_len, struct tr_err *err)
{
    int k = len > TR_ZBLOB_SMALL;
    z_stream *zs = &zb->zs[k];
    uLong bound;
    int rc;

    if (!zb->ready[k]) {
        memset(zs, 0, sizeof *zs);
        if (deflateInit2(zs, TR_ZBLOB_LEVEL, Z_DEFLATED, k ? 15 : ZBLOB_SMALL_WBITS,
                         k ? 8 : ZBLOB_SMALL_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
            tr_err_set(err, TR_E_IO, "deflateInit2 failed");
            return -1;
        }
        zb->ready[k] = 1;
    } else if (deflateReset(zs) != Z_OK) {
        tr_err_set(err, TR_E_IO, "deflateReset failed");
        return -1;
    }
    bound = deflateBound(zs, (uLong)len);
    if ((size_t)(uLong)len != len || bound < len || bound > UINT_MAX) {
        tr_err_set(err, TR_E_LIMIT_INFLATED_SIZE, "blob of %zu bytes too large to compress", len);
        return -1;
    }
    if (zb->out_cap < bound || (zb->out_cap > ZBLOB_KEEP && bound <= ZBLOB_KEEP)) {
        free(zb->out);
        zb->out_cap = bound < 2 * TR_ZBLOB_SMALL ? 2 * TR_ZBLOB_SMALL : bound;
        zb->out = xmalloc(zb->out_cap);
    }
    zs->next_in = (unsigned char *)(uintptr_t)(len ? in : (const unsigned char *)""); /* never written */
    zs->avail_in = (uInt)len;
    zs->next_out = zb->out;
    zs->avail_out = (uInt)(zb->out_cap < UINT_MAX ? zb->out_cap : UINT_MAX);
    rc = deflate(zs, Z_FINISH);
    if (rc != Z_STREAM_END) {
        tr_err_set(err, TR_E_IO, "deflate failed (%d)", rc);
        return -1;
    }
    *out = zb->out;
    *out_len = zs->total_out;
    return 0;
}
