/*
 * test_utf8.c - tr_utf8_valid (util.h) against a validator written here
 * byte by byte from RFC 3629 (no overlong forms, no surrogates, nothing
 * past U+10FFFF) that also refuses NUL, on seeded random buffers: ASCII
 * runs with a multi-byte sequence, a NUL, a stray continuation byte or a
 * truncated sequence at every offset of the 8-byte steps util.c takes.
 */
#include "check.h"
#include "tlsrpt/util.h"

#include <stdlib.h>
#include <string.h>

#define BUFS 20000
#define BUF_MAX 40

static int reference(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], cp, need;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) need = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) need = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) need = 3, cp = c & 0x07;
        else return 0;
        if (i + need >= n)
            return 0;
        for (unsigned k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

static unsigned long long rng = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

int main(void)
{
    static const char *const pieces[] = {
        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "", "\x80", "\xc3", "\xe2\x82", "\xc0\xaf",
        "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "\x7f",
    };
    int valid = 0, invalid = 0;

    for (int t = 0; t < BUFS; t++) {
        unsigned char buf[BUF_MAX + 8];
        size_t n = rnd(BUF_MAX - 4), at = n ? rnd((unsigned)n + 1) : 0;
        unsigned kind = rnd(8);
        const char *piece = kind == 0 ? "" : kind == 1 ? "\0" : pieces[rnd(sizeof pieces / sizeof pieces[0])];
        size_t pl = kind == 1 ? 1 : strlen(piece);  /* plain ASCII, a NUL, or a piece */
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)(' ' + rnd(95));
        memmove(buf + at + pl, buf + at, n - at);
        memcpy(buf + at, piece, pl);
        n += pl;
        {
            int want = reference(buf, n), got = tr_utf8_valid((const char *)buf, n);
            if (want == got)
                check_passed++;
            else
                check_fail(__FILE__, __LINE__, "buffer %d (%zu bytes, piece at %zu): got %d, want %d",
                           t, n, at, got, want);
            valid += want;
            invalid += !want;
        }
    }
    CHECK(valid > 1000 && invalid > 1000);
    CHECK(tr_utf8_valid("", 0) == 1);
    CHECK(tr_utf8_valid("abcdefgh\0", 9) == 0);
    CHECK(tr_utf8_valid("abcdefghijklmnop", 16) == 1);
    CHECK(tr_utf8_valid("abcdefghijklmno\xc3", 16) == 0);
    return check_done();
}
