/*
 * jarena.h - a per-thread bump allocator for jansson's parse trees.
 *
 * Used by parse.c around its JSON reading.  jansson allocates every
 * value, key, hash table and lexer buffer of a parse with its own malloc
 * and frees them one by one (json_decref): for a typical 3.4 KB report a
 * tree of ~15 KB and a walk to free it.  Between tr_jarena_begin() and
 * tr_jarena_end() on a thread, jansson's allocations on that thread come
 * from chunks owned by the thread, its frees do nothing, and
 * tr_jarena_end() drops the whole tree at once.  Outside that window (and
 * on every other thread) jansson uses malloc and free as before.
 *
 * The rule that makes this safe: nothing jansson allocates inside the
 * window is used after tr_jarena_end() (tr_parse_report copies every value
 * it keeps), and nothing allocated outside it is freed inside it.
 */
#ifndef TLSRPT_INGEST_JARENA_H
#define TLSRPT_INGEST_JARENA_H

/* Starts the window on the calling thread (windows do not nest). */
void tr_jarena_begin(void);

/* Ends it: everything jansson allocated in the window is freed. */
void tr_jarena_end(void);

#endif
