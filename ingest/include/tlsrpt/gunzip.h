/*
 * gunzip.h - bounded decompression with zlib.
 */
#ifndef TLSRPT_GUNZIP_H
#define TLSRPT_GUNZIP_H

#include <stddef.h>
#include "tlsrpt/util.h"

/* 1 when the bytes start with the gzip magic (1f 8b). */
int tr_is_gzip(const unsigned char *p, size_t len);

/*
 * Inflates gzip data (all members), stopping with TR_E_LIMIT_INFLATED_SIZE
 * as soon as the output would exceed max_out bytes, so a bomb costs at most
 * max_out of memory.  If the result is itself gzip (gzip of gzip) it is
 * inflated again, at most TR_GUNZIP_MAX_LAYERS times in all.  Truncated or
 * corrupt input fails with TR_E_BAD_GZIP.  On success *out is caller-owned.
 */
#define TR_GUNZIP_MAX_LAYERS 3
int tr_gunzip(const unsigned char *in, size_t len, size_t max_out,
              unsigned char **out, size_t *out_len, struct tr_err *err);

/* 1 when the bytes start a zip archive ("PK\3\4"). */
int tr_is_zip(const unsigned char *p, size_t len);

/*
 * Reads the file entries of a zip archive one by one, in archive order
 * (local headers; directory entries skipped): stored or deflated, each
 * bounded like tr_gunzip by max_out, all of them together by max_total
 * (TR_E_LIMIT_ZIP_SIZE), at most max_entries headers
 * (TR_E_LIMIT_ZIP_ENTRIES).  Other methods, encryption and zip64 fail with
 * TR_E_UNSUPPORTED.  The archive in[0..len) is borrowed and must outlive z.
 */
struct tr_unzip {
    const unsigned char *in;
    size_t len, off;            /* off: the next local header */
    size_t n_entries, max_entries;
    size_t total, max_total;    /* bytes inflated so far, and the cap */
};
void tr_unzip_init(struct tr_unzip *z, const unsigned char *in, size_t len, size_t max_entries,
                   size_t max_total);
/* The next file entry: 1 with *out caller-owned (NUL-terminated, *out_len
 * bytes) and its name (cut to name_cap - 1 bytes, raw bytes of the
 * archive: not printable as is) in name; 0 when there are no more
 * (name_cap may be 0); -1 with err (the archive is corrupt or over a
 * limit: the entries already returned came from a bad archive too). */
int tr_unzip_next(struct tr_unzip *z, size_t max_out, unsigned char **out, size_t *out_len,
                  char *name, size_t name_cap, struct tr_err *err);

/* The first file of a zip archive (tr_unzip_next with the default
 * zip-entries limit); no file at all is TR_E_NOT_A_REPORT. */
int tr_unzip_first(const unsigned char *in, size_t len, size_t max_out,
                   unsigned char **out, size_t *out_len, struct tr_err *err);

/* zlib compress/uncompress of stored blobs (raw JSON, quarantined input).
 * *out is caller-owned.  tr_zinflate fails if the result exceeds max_out.
 * tr_zinflate also reads a blob that is gzip data (1f 8b: a report kept as
 * the sender's own gzip bytes, see tr_provenance.sent_gz) with tr_gunzip. */
int tr_zdeflate(const unsigned char *in, size_t len, unsigned char **out, size_t *out_len,
                struct tr_err *err);
int tr_zinflate(const unsigned char *in, size_t len, size_t max_out, unsigned char **out,
                size_t *out_len, struct tr_err *err);

/*
 * A reusable compressor for stored blobs: the same zlib format and level as
 * tr_zdeflate, without allocating and zeroing zlib's state for every blob
 * (which cost more than compressing a typical 3 KB report).  Blobs up to
 * TR_ZBLOB_SMALL bytes use a stream whose window covers all of them (and
 * whose hash is cheap to reset); larger ones zlib's default parameters.
 * A struct tr_zblob is used by one thread at a time; caller-owned.
 */
#define TR_ZBLOB_LEVEL 6
#define TR_ZBLOB_SMALL 8192
struct tr_zblob;
struct tr_zblob *tr_zblob_new(void);
void tr_zblob_free(struct tr_zblob *zb);      /* NULL is a no-op */
/* Compresses in[0..len).  *out is borrowed from zb, valid until the next
 * call on zb.  Returns 0 or -1 with err set. */
int tr_zblob_deflate(struct tr_zblob *zb, const unsigned char *in, size_t len,
                     const unsigned char **out, size_t *out_len, struct tr_err *err);

#endif
