/* The tool's one JSON reader, small and bounded, for the documents it
 * reads back: a saved dump given to --symbolize, the dumps --compare and
 * --repeat compare.  The input is untrusted: nesting depth,
 * string lengths, the number of values and the input size are bounded, and
 * a document that breaks a bound is refused, never read in part.
 *
 * The whole document becomes a tree of jr_value; strings are decoded
 * (escapes, \uXXXX with surrogate pairs) into NUL-terminated UTF-8 that
 * may hold NUL bytes (len says how many bytes); numbers keep their text
 * and are converted on request.  A tree costs some 56 bytes a value and
 * a copy of each string and number, all bounded by JR_MAX_VALUES and
 * JR_MAX_INPUT.  Not thread-safe per document. */
#ifndef TT_JSONREAD_H
#define TT_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Deepest nesting of arrays and objects. */
#define JR_MAX_DEPTH 64
/* Longest string, decoded, in bytes. */
#define JR_MAX_STRING (1u << 20)
/* Most values in one document (every array, object, member, string...). */
#define JR_MAX_VALUES (16u << 20)
/* Largest document read, in bytes. */
#define JR_MAX_INPUT (512u << 20)

enum jr_type { JR_NULL, JR_FALSE, JR_TRUE, JR_NUMBER, JR_STRING, JR_ARRAY, JR_OBJECT };

struct jr_value {
    enum jr_type type;
    const char *key; /* the member's name inside an object, else NULL */
    size_t key_len;
    const char *str; /* JR_STRING: decoded bytes; JR_NUMBER: its text */
    size_t len;
    struct jr_value *items; /* JR_ARRAY, JR_OBJECT: n values (members) */
    size_t n;
};

struct jr_doc {
    struct jr_value root;
    size_t nvalues;
};

/* Called by jr_parse_each with each element ITEM of the array it streams,
 * in order; ITEM and what it holds are freed on return.  Returns 0 to go
 * on, or -errno to stop the parse with that error. */
typedef int (*jr_each_fn)(void *arg, const struct jr_value *item);

/* Reads one JSON document, surrounded by white space only, from F.
 * Returns 0 with *DOC filled (free with jr_free), or -errno: -EINVAL for
 * a document that is not JSON, -E2BIG when it breaks a bound, -ENOMEM, or
 * the read's error.  On error WHY (WHYLEN bytes) says what and where
 * ("line 3, column 7: expected ':'"), for a message; *DOC is left empty. */
int jr_read(FILE *f, struct jr_doc *doc, char *why, size_t whylen);

/* Reads all of F, at most JR_MAX_INPUT bytes, into a malloc'd *TEXT
 * (*TEXTLEN bytes, not NUL-terminated; the caller frees it).  Returns 0,
 * or -E2BIG, -ENOMEM or the read's -errno with WHY (WHYLEN bytes) set. */
int jr_read_all(FILE *f, char **text, size_t *textlen, char *why, size_t whylen);

/* Reads all of FD as jr_read_all reads F: a regular file larger than
 * JR_MAX_INPUT is refused before a byte is read, anything else (a pipe,
 * a terminal) is refused at the first byte past the bound.  FD stays
 * open.  Returns what jr_read_all returns. */
int jr_read_fd(int fd, char **text, size_t *textlen, char *why, size_t whylen);

/* Reads the document at PATH, a regular file, as jr_read_fd reads it.
 * What is not a regular file (a FIFO, a device, a directory) is refused
 * with -EINVAL before a byte is read, without waiting for a FIFO's
 * writer.  The one reader of the files --compare and --symbolize are
 * given.  Returns 0, or -EINVAL, -E2BIG, -ENOMEM or open's or read's
 * -errno, with WHY (WHYLEN bytes) set ("not a regular file"). */
int jr_read_path(const char *path, char **text, size_t *textlen, char *why, size_t whylen);

/* Parses the LEN bytes at TEXT as jr_read does. */
int jr_parse(const char *text, size_t len, struct jr_doc *doc, char *why, size_t whylen);

/* Parses as jr_parse does, except that the elements of the array that is
 * the root object's member KEY (the first such member; none when the root
 * is not an object or that member is not an array) are handed one at a
 * time to FN with ARG, each freed when FN returns, and that member stays
 * an empty array in *DOC: a document of a million tasks costs the memory
 * of one, and JR_MAX_VALUES bounds each element, not their sum.  An error
 * FN returns stops the parse and is returned, with WHY "line L, column C:
 * the reader stopped".  FN NULL: jr_parse. */
int jr_parse_each(const char *text, size_t len, const char *key, jr_each_fn fn, void *arg,
                  struct jr_doc *doc, char *why, size_t whylen);

/* Frees everything DOC holds and leaves it empty.  NULL is allowed. */
void jr_free(struct jr_doc *doc);

/* The member KEY of the object V (the first one, if repeated), or NULL
 * when V is not an object or has no such member. */
const struct jr_value *jr_get(const struct jr_value *v, const char *key);

/* The string member KEY of OBJ into BUF (LEN > 0 bytes, NUL-terminated,
 * cut to fit); "" when it is absent or not a string. */
void jr_copy_str(const struct jr_value *obj, const char *key, char *buf, size_t len);

/* The number V as an unsigned or signed 64-bit integer: plain digits
 * (and '-' for jr_i64), no fraction, no exponent, in range.  Returns 0,
 * or -EINVAL (V is NULL, not a number, or not such an integer). */
int jr_u64(const struct jr_value *v, uint64_t *out);
int jr_i64(const struct jr_value *v, int64_t *out);

/* Whether V is true (false for anything else, NULL included). */
bool jr_true(const struct jr_value *v);

/* The string V, or NULL when V is NULL, null or not a string. */
const char *jr_str(const struct jr_value *v);

#endif
