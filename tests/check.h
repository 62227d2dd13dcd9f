/*
 * check.h - the smallest test harness that does the job: CHECK() records a
 * failure with file and line and goes on; check_done() prints
 * "N passed, N failed" and returns the exit status for main().
 */
#ifndef TLSRPT_CHECK_H
#define TLSRPT_CHECK_H

#include <stdint.h>

extern int check_passed, check_failed;

void check_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int check_done(void);

/* The external samples directory CTest passes in $TLSRPT_EXTERNAL_SAMPLES
 * (tests/unit/CMakeLists.txt); NULL when unset or absent (the caller
 * skips).  Borrowed from the environment. */
const char *check_external_dir(void);

#define CHECK(cond) \
    do { if (cond) check_passed++; else check_fail(__FILE__, __LINE__, "%s", #cond); } while (0)
#define CHECK_STR(got, want) \
    do { const char *g_ = (got), *w_ = (want); \
         if ((g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0)) check_passed++; \
         else check_fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", #got, \
                         g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } while (0)
#define CHECK_INT(got, want) \
    do { long long g_ = (long long)(got), w_ = (long long)(want); \
         if (g_ == w_) check_passed++; \
         else check_fail(__FILE__, __LINE__, "%s: got %lld, want %lld", #got, g_, w_); } while (0)

#endif
