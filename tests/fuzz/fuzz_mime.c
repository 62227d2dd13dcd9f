/*
 * fuzz_mime.c - report extraction from a mail message (tr_message_parse,
 * GMime) and the message sniffer (tr_looks_like_message).
 *
 * Invariants (mime.h): no more parts than the mime-parts limit; every part
 * has a lower-case content type and data; a file name never contains '/',
 * NUL or control characters (it must never be usable as a path).
 */
#include "fuzz.h"
#include "tlsrpt/limits.h"
#include "tlsrpt/mime.h"

#include <ctype.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    tr_mime_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tr_limits lim;
    struct tr_message *m = NULL;
    struct tr_err err;
    uint8_t *copy = malloc(size ? size : 1);

    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    tr_limits_default(&lim);
    lim.mime_parts = 64;
    lim.message_size = (size_t)1 << 20;
    (void)tr_looks_like_message(copy, size);
    tr_err_clear(&err);
    if (tr_message_parse(copy, size, &lim, &m, &err) == 0) {
        FUZZ_CHECK(m != NULL);
        FUZZ_CHECK(m->n_parts <= lim.mime_parts);
        FUZZ_CHECK(m->n_parts == 0 || m->parts != NULL);
        FUZZ_CHECK(m->n_auth_results == 0 || m->auth_results != NULL);
        for (size_t i = 0; i < m->n_auth_results; i++)
            FUZZ_CHECK(m->auth_results[i] != NULL);
        for (size_t i = 0; i < m->n_parts; i++) {
            const struct tr_part *p = &m->parts[i];
            FUZZ_CHECK(p->content_type != NULL);
            for (const char *c = p->content_type; *c; c++)
                FUZZ_CHECK(!isupper((unsigned char)*c));
            FUZZ_CHECK(p->data != NULL || p->len == 0);
            if (p->filename != NULL) {
                FUZZ_CHECK(strchr(p->filename, '/') == NULL);
                for (const unsigned char *c = (const unsigned char *)p->filename; *c; c++)
                    FUZZ_CHECK(*c >= 0x20 && *c != 0x7f);
            }
        }
        tr_message_free(m);
    } else {
        FUZZ_CHECK(m == NULL);
        FUZZ_CHECK(err.code != NULL);
    }
    free(copy);
    return 0;
}
