/* A small bounded JSON reader for documents this tool wrote and a user
 * hands back (--compare): untrusted input.  It reads from a buffer, never
 * allocates, bounds nesting to JSONR_MAX_DEPTH, and fails with a reason
 * and a byte offset on the first error.  Only what --compare needs:
 * objects walked key by key, strings decoded into a bounded buffer or
 * skipped, integers, literals, and whole values skipped (with their bytes
 * available to hash). */
#ifndef TT_JSONR_H
#define TT_JSONR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONR_MAX_DEPTH 63

struct jsonr {
    const char *start, *p, *end;
    int depth;
    uint64_t first; /* bit D: the container open at depth D has no
                       element yet */
    bool failed;
    char why[160]; /* the first error, with its offset */
};

void jsonr_init(struct jsonr *j, const char *buf, size_t len);

/* Skips white space; returns the next byte, or 0 at the end. */
char jsonr_peek(struct jsonr *j);

/* Fails J (the first failure is kept) with a reason; returns false. */
bool jsonr_fail(struct jsonr *j, const char *what);

/* Consumes byte C after white space, else fails. */
bool jsonr_expect(struct jsonr *j, char c);

/* Walks an object: call jsonr_object_begin, then while jsonr_object_next
 * gives a key (decoded into KEY, KEYLEN bytes, longer keys cut), read its
 * value.  jsonr_object_next consumes the ',' or '}' between members. */
bool jsonr_object_begin(struct jsonr *j);
bool jsonr_object_next(struct jsonr *j, char *key, size_t keylen);

/* The same for arrays: jsonr_array_next is true while there is an
 * element to read. */
bool jsonr_array_begin(struct jsonr *j);
bool jsonr_array_next(struct jsonr *j);

/* A string decoded into BUF (LEN bytes with the NUL; a longer one is cut
 * at a character boundary, not an error).  \u escapes become UTF-8;
 * unpaired surrogates U+FFFD. */
bool jsonr_string(struct jsonr *j, char *buf, size_t len);

/* An integer without fraction or exponent into *V (int64 range), or null
 * (*IS_NULL true, *V 0); IS_NULL may be NULL to refuse null. */
bool jsonr_int(struct jsonr *j, int64_t *v, bool *is_null);
/* The same for unsigned 64-bit integers. */
bool jsonr_uint(struct jsonr *j, uint64_t *v, bool *is_null);
bool jsonr_bool(struct jsonr *j, bool *v);
/* Whether the next value is null (then consumed). */
bool jsonr_null(struct jsonr *j);

/* Skips one whole value of any kind, checking its syntax; *FROM and *TO,
 * when not NULL, get the span of its bytes. */
bool jsonr_skip(struct jsonr *j, const char **from, const char **to);

#endif
