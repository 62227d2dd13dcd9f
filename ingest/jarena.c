/*
 * jarena.c - the per-thread bump allocator for jansson's parse trees
 * (jarena.h).
 *
 * Each thread has a list of chunks: allocations are carved from the
 * newest one, 16-byte aligned; one larger than a quarter of a chunk gets
 * a chunk of its own.  tr_jarena_end() frees every chunk but one of
 * TR_JARENA_CHUNK bytes, which the next parse reuses (freeing it after
 * every report could make glibc return it to the kernel and take it back
 * again, as it did with the deflate state the first session made reusable).
 * The kept chunk is freed when its thread exits (a pthread key's
 * destructor) or, for the main thread, stays reachable until exit.
 *
 * jansson's allocation functions are global: they are set once, and
 * outside a window they are plain malloc and free, so any other use of
 * jansson in the process (--json output, tlsrpt-report) is unchanged.
 */
#include "tlsrpt/jarena.h"
#include "tlsrpt/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

/* Under AddressSanitizer every allocation is unpoisoned alone and followed
 * by a poisoned gap, and a chunk's bytes are poisoned again when the window
 * ends, so an overflow within a chunk or a use after tr_jarena_end() (even
 * of the chunk that is kept) is reported as with malloc. */
#if defined(__SANITIZE_ADDRESS__)
#define TR_JARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TR_JARENA_ASAN 1
#endif
#endif
#ifdef TR_JARENA_ASAN
#include <sanitizer/asan_interface.h>
#define TR_JARENA_REDZONE ((size_t)16)      /* poisoned bytes after each allocation */
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define TR_JARENA_REDZONE ((size_t)0)
#endif

/* Bytes of a chunk (header included): the trees of gen.py's reports take
 * 14.6 KB on average (57.8 KB at most), one chunk; the 20,000-failure
 * report's 20.3 MB, 307 chunks. */
#define TR_JARENA_CHUNK ((size_t)64 * 1024)
#define TR_JARENA_ALIGN ((size_t)16)

struct chunk {
    struct chunk *next;
    size_t size, used;          /* bytes of data[], bytes handed out */
    _Alignas(16) unsigned char data[];
};

static __thread struct chunk *chunks;      /* owned: newest first */
static __thread int in_window;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key;                   /* destructor frees a thread's chunks */

static void free_chunks(void *p)
{
    struct chunk *c = p;
    while (c != NULL) {
        struct chunk *next = c->next;
        ASAN_UNPOISON_MEMORY_REGION(c->data, c->size);
        free(c);
        c = next;
    }
}

static struct chunk *new_chunk(size_t size)
{
    struct chunk *c = xmalloc(offsetof(struct chunk, data) + size);
    c->size = size;
    c->used = 0;
    c->next = NULL;
    ASAN_POISON_MEMORY_REGION(c->data, size);
    return c;
}

static void *jalloc(size_t n)
{
    struct chunk *c = chunks;
    size_t asked = n;
    void *p;

    if (!in_window)
        return malloc(n);
    n = (n + TR_JARENA_REDZONE + TR_JARENA_ALIGN - 1) & ~(TR_JARENA_ALIGN - 1);
    if (n > TR_JARENA_CHUNK / 4) {
        /* Large (a lexer buffer or hash table of a big report): a chunk
         * of its own behind the current one, which goes on serving. */
        struct chunk *big = new_chunk(n);
        big->used = n;
        if (c == NULL) {
            chunks = big;
        } else {
            big->next = c->next;
            c->next = big;
        }
        ASAN_UNPOISON_MEMORY_REGION(big->data, asked);
        return big->data;
    }
    if (c == NULL || c->size - c->used < n) {
        c = new_chunk(TR_JARENA_CHUNK - offsetof(struct chunk, data));
        c->next = chunks;
        chunks = c;
    }
    p = c->data + c->used;
    c->used += n;
    ASAN_UNPOISON_MEMORY_REGION(p, asked);
    return p;
}

static void jfree(void *p)
{
    if (!in_window)
        free(p);
}

static void init(void)
{
    pthread_key_create(&key, free_chunks);
    json_set_alloc_funcs(jalloc, jfree);
}

void tr_jarena_begin(void)
{
    pthread_once(&once, init);
    in_window = 1;
}

void tr_jarena_end(void)
{
    const size_t standard = TR_JARENA_CHUNK - offsetof(struct chunk, data);
    struct chunk *c = chunks, *keep = NULL;

    in_window = 0;
    /* The oldest chunk (the list's last) is kept when it is a standard one. */
    while (c != NULL) {
        struct chunk *next = c->next;
        if (next == NULL && c->size == standard) {
            keep = c;
        } else {
            ASAN_UNPOISON_MEMORY_REGION(c->data, c->size);
            free(c);
        }
        c = next;
    }
    if (keep != NULL) {
        keep->used = 0;
        ASAN_POISON_MEMORY_REGION(keep->data, keep->size);
    }
    chunks = keep;
    pthread_setspecific(key, keep);
}
