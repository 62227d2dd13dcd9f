/*
 * fuzz.h - what every fuzz target in tests/fuzz/ shares.
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput (and may define
 * LLVMFuzzerInitialize).  The same file is linked either with libFuzzer
 * (-fsanitize=fuzzer, clang only) or with replay.c, a plain main() that
 * feeds it every file of a corpus directory, so CTest checks the corpora
 * with any compiler.
 *
 * FUZZ_CHECK states an invariant of the code under test.  A broken one
 * aborts, which libFuzzer reports as a crash and replay as a failed test.
 */
#ifndef TLSRPT_FUZZ_H
#define TLSRPT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, \
                    #cond);                                                     \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* A NUL-terminated, exactly sized heap copy of the input, so that a read
 * one byte past the end is caught by ASan.  Caller frees. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        abort();
    for (size_t i = 0; i < size; i++)
        s[i] = (char)data[i];
    s[size] = '\0';
    return s;
}

#endif
