/*
 * test_buf.c - the capped buffer's printf (util.h: tr_buf_printf): text
 * appended exactly, a text longer than the formatter's stack buffer, and
 * past the cap the bytes that fit kept with -1 returned, nothing after.
 */
#include "check.h"
#include "tlsrpt/util.h"

#include <stdlib.h>
#include <string.h>

static void test_exact(void)
{
    struct tr_buf b;

    tr_buf_init(&b, 64);
    CHECK_INT(tr_buf_printf(&b, "%s=%d", "a", 42), 0);
    CHECK_INT(tr_buf_printf(&b, ", %s", "b"), 0);
    CHECK_STR((const char *)b.data, "a=42, b");
    CHECK_INT((long)b.len, 7);
    tr_buf_free(&b);
}

/* Longer than the 512 bytes formatted on the stack: the heap path. */
static void test_long(void)
{
    struct tr_buf b;
    char *big = malloc(3001);

    memset(big, 'x', 3000);
    big[3000] = '\0';
    tr_buf_init(&b, 8192);
    CHECK_INT(tr_buf_printf(&b, "<%s>", big), 0);
    CHECK_INT((long)b.len, 3002);
    CHECK(b.data[0] == '<' && b.data[3001] == '>' && b.data[3002] == '\0');
    CHECK(strspn((const char *)b.data + 1, "x") == 3000);
    tr_buf_free(&b);
    free(big);
}

static void test_cap(void)
{
    struct tr_buf b;

    tr_buf_init(&b, 10);
    CHECK_INT(tr_buf_printf(&b, "%s", "12345"), 0);
    CHECK_INT(tr_buf_printf(&b, "%s", "6789abcdef"), -1);
    CHECK_STR((const char *)b.data, "123456789a");
    CHECK_INT((long)b.len, 10);
    CHECK_INT(tr_buf_printf(&b, "%s", "z"), -1);
    CHECK_INT(tr_buf_printf(&b, "%s", ""), 0);
    CHECK_STR((const char *)b.data, "123456789a");
    tr_buf_free(&b);
}

int main(void)
{
    test_exact();
    test_long();
    test_cap();
    return check_done();
}
