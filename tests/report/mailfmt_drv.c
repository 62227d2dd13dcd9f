/*
 * mailfmt_drv.c - report/mailfmt.c alone, for report.email to decode its
 * output with Python's email package and compare with the input:
 *
 *   mailfmt_drv qp                   stdin as a quoted-printable body
 *   mailfmt_drv text NAME            stdin as the free-text field NAME
 *   mailfmt_drv addresses NAME OPT   stdin as the address field NAME
 *
 * The result goes to stdout; a refused address list exits 2 with the
 * message on stderr (as tlsrpt-report does), a bad call 64.
 */
#include "mailfmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Largest input read from stdin. */
#define DRV_INPUT_MAX ((size_t)1 << 20)

int main(int argc, char **argv)
{
    struct tr_err err = {0};
    struct rpt_mail m;
    unsigned char *in;
    size_t len;
    int rc = 0;

    if (argc < 2 || (strcmp(argv[1], "qp") != 0 && argc < 3) ||
        (strcmp(argv[1], "addresses") == 0 && argc < 4)) {
        fprintf(stderr, "usage: mailfmt_drv qp | text NAME | addresses NAME OPT\n");
        return 64;
    }
    if (tr_read_fd(STDIN_FILENO, DRV_INPUT_MAX, &in, &len, &err) < 0) {
        fprintf(stderr, "mailfmt_drv: %s\n", err.detail);
        return 1;
    }
    rpt_mail_init(&m, 4 * DRV_INPUT_MAX);
    if (strcmp(argv[1], "qp") == 0) {
        rpt_mail_qp(&m, (const char *)in, len);
    } else if (strcmp(argv[1], "text") == 0) {
        rpt_mail_text_header(&m, argv[2], (const char *)in);
    } else if (strcmp(argv[1], "addresses") == 0) {
        if (rpt_mail_address_header(&m, argv[2], argv[3], (const char *)in, &err) < 0) {
            fprintf(stderr, "mailfmt_drv: %s\n", err.detail);
            rc = 2;
        }
    } else {
        fprintf(stderr, "mailfmt_drv: unknown mode %s\n", argv[1]);
        rc = 64;
    }
    if (rc == 0 && (m.full || (m.b.len > 0 && fwrite(m.b.data, 1, m.b.len, stdout) != m.b.len) || fflush(stdout) != 0))
        rc = 1;
    tr_buf_free(&m.b);
    free(in);
    return rc;
}
