/*
 * fuzz_jsonfast.c - the fast JSON reader (tr_json_fast_load, jsonfast.h)
 * against jansson's json_loadb(JSON_REJECT_DUPLICATES), differentially.
 *
 * Input: any bytes, handed to both readers as they are.
 *
 * Invariants (jsonfast.h):
 *  - whatever the fast reader accepts, jansson accepts too, with an equal
 *    tree: the same types, the same object keys in the same order (byte
 *    for byte, lengths included), the same strings and integers, and
 *    json_equal() agrees;
 *  - the one documented exception is the precondition: the text must be
 *    valid UTF-8 without NUL (parse.c checks both first).  On a text that
 *    breaks it the fast reader may accept what jansson refuses, but only
 *    for that reason (jansson's error is invalid UTF-8), and it never
 *    accepts a NUL byte;
 *  - tr_utf8_valid and jansson agree on what UTF-8 is on texts without
 *    NUL (else the fast reader's acceptance would be wrong in parse.c).
 *    jansson (2.14) itself accepts some texts with a NUL byte: one right
 *    after a number is skipped ("[5\0]" is [5]: its stream takes the NUL
 *    it pushed back for an empty buffer), so its acceptance says nothing
 *    about NUL (crash-* inputs of corpus/jsonfast/ found that).
 * Refusing is always allowed (jansson then decides).
 */
#include "fuzz.h"
#include "tlsrpt/jsonfast.h"
#include "tlsrpt/util.h"

#include <jansson.h>
#include <string.h>

/* Walks both trees in step: 1 when they are the same, key order included. */
static int same_tree(json_t *a, json_t *b)
{
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        void *ia = json_object_iter(a), *ib = json_object_iter(b);
        if (json_object_size(a) != json_object_size(b))
            return 0;
        while (ia != NULL && ib != NULL) {
            size_t la = json_object_iter_key_len(ia), lb = json_object_iter_key_len(ib);
            if (la != lb || memcmp(json_object_iter_key(ia), json_object_iter_key(ib), la) != 0)
                return 0;
            if (!same_tree(json_object_iter_value(ia), json_object_iter_value(ib)))
                return 0;
            ia = json_object_iter_next(a, ia);
            ib = json_object_iter_next(b, ib);
        }
        return ia == NULL && ib == NULL;
    }
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_tree(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b)
               && memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_INTEGER:
        return json_integer_value(a) == json_integer_value(b);
    case JSON_REAL:
        return 0;                   /* the fast reader builds no reals */
    default:
        return 1;                   /* true, false, null */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    int precondition = memchr(text, '\0', size) == NULL && tr_utf8_valid(text, size);
    json_error_t jerr;
    json_t *fast = tr_json_fast_load(text, size);
    json_t *ref = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);

    if (fast != NULL) {
        FUZZ_CHECK(memchr(text, '\0', size) == NULL);
        if (precondition) {
            FUZZ_CHECK(ref != NULL);
            FUZZ_CHECK(same_tree(fast, ref));
            FUZZ_CHECK(json_equal(fast, ref));
        } else {
            FUZZ_CHECK(ref == NULL && json_error_code(&jerr) == json_error_invalid_utf8);
        }
    }
    /* jansson refusing UTF-8 that tr_utf8_valid calls valid (or the other
     * way round, on a text jansson reads) would let parse.c pass the
     * wrong texts to the fast reader. */
    if (ref == NULL && memchr(text, '\0', size) == NULL)
        FUZZ_CHECK(json_error_code(&jerr) != json_error_invalid_utf8 || !tr_utf8_valid(text, size));
    if (ref != NULL && memchr(text, '\0', size) == NULL)
        FUZZ_CHECK(tr_utf8_valid(text, size));
    json_decref(fast);
    json_decref(ref);
    free(text);
    return 0;
}
