/* The tool's one JSON reader, small and bounded, for the documents it
 * reads back: a saved dump given to --symbolize, the dumps --compare and
 * --repeat compare.  The input is untrusted: nesting depth,
 * string lengths, the number of values and the input size are bounded, and
 * a document that breaks a bound is refused, never read in part.
 *
 * The whole document becomes a tree of jsonread_value; strings are decoded
 * (escapes, \uXXXX with surrogate pairs) into NUL-terminated UTF-8 that
 * may hold NUL bytes (len says how many bytes); numbers keep their text
 * and are converted on request.  A tree costs some 56 bytes a value and
 * a copy of each string and number, all bounded by JSONREAD_MAX_VALUES and
 * JSONREAD_MAX_INPUT.  Not thread-safe per document. */
#ifndef TT_JSONREAD_H
#define TT_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of arrays and objects. */
#define JSONREAD_MAX_DEPTH 64
/* Longest string, decoded, in bytes. */
#define JSONREAD_MAX_STRING (1u << 20)
/* Most values in one document (every array, object, member, string...). */
#define JSONREAD_MAX_VALUES (16u << 20)
/* Largest document read, in bytes.  The readers below never grow their
 * buffer past it but by the one byte that shows a document is larger. */
#define JSONREAD_MAX_INPUT (512u << 20)

enum jsonread_type {
    JSONREAD_NULL,
    JSONREAD_FALSE,
    JSONREAD_TRUE,
    JSONREAD_NUMBER,
    JSONREAD_STRING,
    JSONREAD_ARRAY,
    JSONREAD_OBJECT
};

struct jsonread_value {
    enum jsonread_type type;
    const char *key; /* the member's name inside an object, else NULL */
    size_t key_len;
    const char *str; /* JSONREAD_STRING: decoded bytes; JSONREAD_NUMBER: its text */
    size_t len;
    struct jsonread_value *items; /* JSONREAD_ARRAY, JSONREAD_OBJECT: n values (members) */
    size_t n;
};

struct jsonread_doc {
    struct jsonread_value root;
    size_t nvalues;
};

/* Called by jsonread_parse_each with each element ITEM of the array it streams,
 * in order; ITEM and what it holds are freed on return.  Returns 0 to go
 * on, or -errno to stop the parse with that error. */
typedef int (*jsonread_each_fn)(void *arg, const struct jsonread_value *item);

/* Called by jsonread_read_fd with ARG before each read of its FD, one
 * cut short by a signal included: a reader of a child's pipe passes an
 * interrupt on to the child there (cli/spawn.h). */
typedef void (*jsonread_wait_fn)(void *arg);

/* Reads all of FD, at most JSONREAD_MAX_INPUT bytes, into a malloc'd
 * *TEXT (*TEXTLEN bytes, not NUL-terminated; the caller frees it): a
 * regular file larger than the bound is refused before a byte is read,
 * anything else (a pipe, a terminal) at the first byte past it, which is
 * left unread for the caller to drain.  WAIT (may be NULL) is called with
 * WAIT_ARG before each read.  FD stays open.  The one reader of a whole
 * document from a descriptor: --symbolize's standard input, a file, a
 * --repeat child's pipe.  Returns 0, or -E2BIG, -ENOMEM or the read's
 * -errno with WHY (WHYLEN bytes) set. */
int jsonread_read_fd(int fd, jsonread_wait_fn wait, void *wait_arg, char **text, size_t *textlen,
                     char *why, size_t whylen);

/* Reads the document at PATH, a regular file, as jsonread_read_fd reads it.
 * What is not a regular file (a FIFO, a device, a directory) is refused
 * with -EINVAL before a byte is read, without waiting for a FIFO's
 * writer.  The one reader of the files --compare and --symbolize are
 * given.  Returns 0, or -EINVAL, -E2BIG, -ENOMEM or open's or read's
 * -errno, with WHY (WHYLEN bytes) set ("not a regular file"). */
int jsonread_read_path(const char *path, char **text, size_t *textlen, char *why, size_t whylen);

/* Parses the LEN bytes at TEXT, one JSON document surrounded by white
 * space only.  Returns 0 with *DOC filled (free with jsonread_free), or
 * -errno: -EINVAL for a document that is not JSON, -E2BIG when it breaks
 * a bound, -ENOMEM.  On error WHY (WHYLEN bytes) says what and where
 * ("line 3, column 7: expected ':'"), for a message; *DOC is left empty. */
int jsonread_parse(const char *text, size_t len, struct jsonread_doc *doc, char *why,
                   size_t whylen);

/* Parses as jsonread_parse does, except that the elements of the array that is
 * the root object's member KEY (the first such member; none when the root
 * is not an object or that member is not an array) are handed one at a
 * time to FN with ARG, each freed when FN returns, and that member stays
 * an empty array in *DOC: a document of a million tasks costs the memory
 * of one, and JSONREAD_MAX_VALUES bounds each element, not their sum.  An error
 * FN returns stops the parse and is returned, with WHY "line L, column C:
 * the reader stopped".  FN NULL: jsonread_parse. */
int jsonread_parse_each(const char *text, size_t len, const char *key, jsonread_each_fn fn,
                        void *arg, struct jsonread_doc *doc, char *why, size_t whylen);

/* Frees everything DOC holds and leaves it empty.  NULL is allowed. */
void jsonread_free(struct jsonread_doc *doc);

/* The member KEY of the object V (the first one, if repeated), or NULL
 * when V is not an object or has no such member. */
const struct jsonread_value *jsonread_get(const struct jsonread_value *v, const char *key);

/* The string member KEY of OBJ into BUF (LEN > 0 bytes, NUL-terminated,
 * cut to fit); "" when it is absent or not a string. */
void jsonread_copy_str(const struct jsonread_value *obj, const char *key, char *buf, size_t len);

/* The number V as an unsigned or signed 64-bit integer: plain digits
 * (and '-' for jsonread_i64), no fraction, no exponent, in range.  Returns 0,
 * or -EINVAL (V is NULL, not a number, or not such an integer). */
int jsonread_u64(const struct jsonread_value *v, uint64_t *out);
int jsonread_i64(const struct jsonread_value *v, int64_t *out);

/* Whether V is true (false for anything else, NULL included). */
bool jsonread_true(const struct jsonread_value *v);

/* The string V, or NULL when V is NULL, null or not a string. */
const char *jsonread_str(const struct jsonread_value *v);

#endif
