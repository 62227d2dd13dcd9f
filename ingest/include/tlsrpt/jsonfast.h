/*
 * jsonfast.h - a JSON reader for the common case, building the tree
 * json_loadb(JSON_REJECT_DUPLICATES) builds, about five times cheaper.
 *
 * jansson's lexer reads its input through a callback a character at a
 * time and appends every character of a token to a buffer with memcpy:
 * ~150 instructions a byte, a third of a bulk import (BENCHMARKS.md).
 * tr_json_fast_load scans the text directly and builds the same jansson
 * values (objects in key order, strings, integers, true, false, null).
 *
 * It decides only what it is sure of: for any text it does not accept
 * (a syntax error, a duplicate key, a real number, \u0000, a lone
 * surrogate, an integer of more than 18 digits, nesting past jansson's
 * JSON_PARSER_MAX_DEPTH) it returns NULL and the caller runs json_loadb,
 * which builds the tree or words the error exactly as before.  So a text
 * it accepts is one jansson accepts, with an equal tree
 * (tests/unit/test_jsonfast.c checks that on mutated reports).
 *
 * The text must be valid UTF-8 without NUL bytes (parse.c checks both
 * first; bytes >= 0x80 are copied as they are).
 */
#ifndef TLSRPT_INGEST_JSONFAST_H
#define TLSRPT_INGEST_JSONFAST_H

#include <jansson.h>
#include <stddef.h>

/* The tree of text[0..len) (an object or an array, as json_loadb without
 * JSON_DECODE_ANY), new reference; NULL when the caller must ask jansson. */
json_t *tr_json_fast_load(const char *text, size_t len);

#endif
