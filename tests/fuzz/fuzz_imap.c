/*
 * fuzz_imap.c - the parsing of an IMAP server's answers (ingest/
 * imapparse.c): the line splitter of custom commands' answers, the STATUS
 * and listing (UID FETCH) line parsers, the tagged answer kept for errors.
 *
 * Input: byte 0 the seed of the chunk sizes and bit 0 STATUS (else a
 * listing), bytes 1..4 and 5..8 the window's lo and hi (big-endian), byte
 * 9 the listing's max, byte 10 the line cap (0: none); the rest is the
 * server's answer, fed once whole and once in chunks of 1..64 bytes.
 *
 * Invariants: every line handed on is NUL-terminated, shorter than
 * IMAP_LINE_MAX, without LF and without a trailing CR; no more lines than
 * the cap, and the feed stops (returns 0) only past it; chunking changes
 * nothing (same lines, same parse); a listing keeps at most max messages,
 * n = min(hits, max), truncated exactly when hits > max, every UID inside
 * lo..hi and every \Seen 0 or 1; the kept tagged answer fits its buffer
 * and is printable ASCII.
 */
#include "fuzz.h"
#include "imapparse.h"

#include <string.h>

#define FUZZ_IMAP_HEADER 11

struct run {
    struct imap_lines *l;
    struct imap_status_answer st;
    struct imap_listing ls;
    int status;                     /* parse STATUS lines, else listing lines */
    size_t lines;                   /* lines handed on */
    uint64_t hash;                  /* FNV-1a of every line handed on, with its length */
    char tagged[IMAP_SERVER_TEXT_MAX];
};

static void on_line(void *ctx, const char *s)
{
    struct run *r = ctx;
    size_t n = strlen(s);

    FUZZ_CHECK(n < IMAP_LINE_MAX);
    FUZZ_CHECK(memchr(s, '\n', n) == NULL);
    FUZZ_CHECK(n == 0 || s[n - 1] != '\r');
    r->lines++;
    FUZZ_CHECK(r->l->max_lines == 0 || r->lines <= r->l->max_lines);
    for (size_t i = 0; i <= n; i++)
        r->hash = (r->hash ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
    if (r->status)
        imap_status_line(&r->st, s);
    else
        imap_listing_line(&r->ls, s);
    /* libcurl hands a tagged answer with its CR LF, not NUL-terminated. */
    {
        char *copy = malloc(n + 2);
        FUZZ_CHECK(copy != NULL);
        memcpy(copy, s, n);
        memcpy(copy + n, "\r\n", 2);
        imap_keep_tagged(r->tagged, sizeof r->tagged, copy, n + 2);
        free(copy);
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Feeds data[0..size) in chunks (chunk_seed 0: whole); 1 when the feed
 * stopped at the line cap. */
static int feed(struct run *r, const uint8_t *data, size_t size, unsigned chunk_seed)
{
    size_t off = 0;
    uint32_t x = chunk_seed * 2654435761u + 1;

    while (off < size) {
        size_t n = size - off, got;
        char *chunk;
        if (chunk_seed != 0) {
            x = x * 1103515245u + 12345u;
            if (n > 1 + (x >> 16) % 64)
                n = 1 + (x >> 16) % 64;
        }
        chunk = fuzz_strndup(data + off, n);    /* exactly sized: reads past it are caught */
        got = imap_lines_feed(r->l, chunk, n);
        free(chunk);
        if (got == 0 && n > 0) {
            FUZZ_CHECK(r->l->over_cap);
            FUZZ_CHECK(r->l->lines == r->l->max_lines + 1 && r->lines <= r->l->max_lines);
            return 1;
        }
        FUZZ_CHECK(got == n);
        FUZZ_CHECK(!r->l->over_cap);
        off += n;
    }
    return 0;
}

static void run(struct run *r, const uint8_t *data, size_t size, unsigned chunk_seed)
{
    const uint8_t *answer = data + FUZZ_IMAP_HEADER;
    size_t n = size - FUZZ_IMAP_HEADER;
    uint32_t lo = be32(data + 1), hi = be32(data + 5);

    memset(r, 0, sizeof *r);
    r->l = calloc(1, sizeof *r->l);
    FUZZ_CHECK(r->l != NULL);
    r->l->line = on_line;
    r->l->ctx = r;
    r->l->max_lines = data[10];
    r->status = data[0] & 1;
    r->ls.lo = lo <= hi ? lo : hi;
    r->ls.hi = lo <= hi ? hi : lo;
    r->ls.max = data[9];
    feed(r, answer, n, chunk_seed);

    FUZZ_CHECK(r->ls.n <= r->ls.max);
    FUZZ_CHECK(r->ls.n == (r->ls.hits < r->ls.max ? r->ls.hits : r->ls.max));
    FUZZ_CHECK(r->ls.truncated == (r->ls.hits > r->ls.max));
    FUZZ_CHECK(r->ls.n == 0 || r->ls.v != NULL);
    for (size_t i = 0; i < r->ls.n; i++) {
        FUZZ_CHECK(r->ls.v[i].uid >= r->ls.lo && r->ls.v[i].uid <= r->ls.hi);
        FUZZ_CHECK(r->ls.v[i].seen == 0 || r->ls.v[i].seen == 1);
    }
    FUZZ_CHECK(r->status || !r->st.seen);
    FUZZ_CHECK(strlen(r->tagged) < sizeof r->tagged);
    for (const char *p = r->tagged; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run *whole, *chunked;

    if (size < FUZZ_IMAP_HEADER)
        return 0;
    whole = malloc(sizeof *whole);
    chunked = malloc(sizeof *chunked);
    FUZZ_CHECK(whole != NULL && chunked != NULL);
    run(whole, data, size, 0);
    run(chunked, data, size, data[0] | 0x100u);

    FUZZ_CHECK(whole->lines == chunked->lines && whole->hash == chunked->hash);
    FUZZ_CHECK(whole->l->too_long == chunked->l->too_long && whole->l->over_cap == chunked->l->over_cap);
    FUZZ_CHECK(whole->st.seen == chunked->st.seen && whole->st.uidvalidity == chunked->st.uidvalidity
               && whole->st.uidnext == chunked->st.uidnext);
    FUZZ_CHECK(whole->ls.n == chunked->ls.n && whole->ls.hits == chunked->ls.hits
               && whole->ls.truncated == chunked->ls.truncated);
    for (size_t i = 0; i < whole->ls.n; i++)
        FUZZ_CHECK(whole->ls.v[i].uid == chunked->ls.v[i].uid && whole->ls.v[i].size == chunked->ls.v[i].size
                   && whole->ls.v[i].seen == chunked->ls.v[i].seen);
    FUZZ_CHECK(strcmp(whole->tagged, chunked->tagged) == 0);

    free(whole->ls.v);
    free(whole->l);
    free(whole);
    free(chunked->ls.v);
    free(chunked->l);
    free(chunked);
    return 0;
}
