/* Comparing dumps of one process taken some time apart (--compare A.json
 * B.json, and --repeat N, which takes the dumps itself): the tasks that did
 * not move (the same poll count and the same stacks in every dump: stuck,
 * or waiting for something that did not come), the tasks whose poll count
 * or stacks changed (busy or slow, but moving), and those that appeared or
 * finished between the first dump and the last.
 *
 * The dumps are `tasktrace-attach --json` documents, untrusted: parsed with
 * jsonread.h (its bounds: size, nesting, string lengths, values), a task
 * at a time (jsonread_parse_each), at most COMPARE_MAX_TASKS tasks each.  Each
 * task is reduced to what the comparison needs (id, poll count, a hash of
 * state and stacks) and let go, so N dumps cost the memory of two such
 * lists and of the document being read. */
#ifndef TT_COMPARE_H
#define TT_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COMPARE_MAX_TASKS (1u << 21)
/* Most dumps in one comparison (--repeat's bound). */
#define COMPARE_MAX_DUMPS 100

/* What a comparison found, which the tool's exit status tells
 * (cli/exitcodes.h maps it). */
enum compare_verdict {
    /* Every task found in the first and the last dump moved (or none was
     * in both). */
    COMPARE_VERDICT_MOVED,
    /* No task was found still but some dump was partial (its "complete"
     * false): a task whose stacks the partial dump missed may look as if
     * it moved, so "none is stuck" is not certain. */
    COMPARE_VERDICT_PARTIAL,
    /* Some task did not move.  A task still in every dump is still
     * whatever the dumps missed (its poll count did not change), so this
     * wins over COMPARE_VERDICT_PARTIAL. */
    COMPARE_VERDICT_STILL,
};

struct compare_dump;

/* A comparison being built: zero it, add the dumps in the order they were
 * taken with compare_add, compute what it found with compare_result_build
 * (compare_print, views/render.h, prints that), free with compare_free.
 * Not thread-safe. */
struct compare {
    struct compare_dump *first, *last;
    bool *still; /* parallel to first's tasks: same polls and stacks so far */
    size_t ndumps;
    size_t partial[COMPARE_MAX_DUMPS]; /* the partial dumps, 1-based */
    char partial_causes[COMPARE_MAX_DUMPS][128];
    size_t npartial;
};

/* Reads all of PATH, a regular file of at most JSONREAD_MAX_INPUT bytes, into a
 * malloc'd buffer *BUF (*LEN bytes; the caller frees it), with the checks
 * of jsonread_read_path (jsonread.h).  Returns 0, or
 * -1 with a one-line reason in WHY and a stable error code in *CODE
 * (docs/json.md): errno names ("ENOENT"...) for a file that cannot be
 * read, "BAD_INPUT" for one that is not a regular file or too large. */
int compare_read_file(const char *path, char **buf, size_t *len, char *why, size_t whylen,
                      const char **code);

/* Adds the dump in the LEN bytes at DOC, taken after the dumps added
 * before.  When that dump is partial, CAUSES (CAUSESLEN bytes) gets the
 * causes of its problems, escaped, comma-separated ("timeout, ring"), for
 * a line on stderr; else "".  Returns 0, or -1 with a one-line reason in
 * WHY and *CODE: "BAD_INPUT" for a document that is not a dump (not JSON,
 * an error document, a --group one, over the bounds), "NOT_SAME_PROCESS",
 * "ENOMEM", or "E2BIG" past COMPARE_MAX_DUMPS. */
int compare_add(struct compare *c, const char *doc, size_t len, char *causes, size_t causeslen,
                char *why, size_t whylen, const char **code);

/* What became of a task between the first and the last dump, in the order
 * the report lists them. */
enum compare_kind {
    COMPARE_STILL,    /* in every dump, with the same poll count and stacks */
    COMPARE_MOVED,    /* in the first and the last, polled in between */
    COMPARE_APPEARED, /* not in the first dump */
    COMPARE_FINISHED, /* not in the last dump */
    COMPARE_KINDS
};

/* What one task of a dump says, as far as the comparison needs. */
struct compare_task {
    uint64_t id, polls;
    uint64_t hash;   /* of its state and stacks, as the tool wrote them */
    int64_t idle_ns; /* -1 unknown */
    char name[96];   /* decoded, possibly cut; not escaped */
    char state[12];  /* not escaped */
};

/* One task of the comparison: its kind and its entry in the last dump,
 * or in the first when it finished. */
struct compare_entry {
    int kind; /* enum compare_kind */
    const struct compare_task *t;
};

/* The comparison of the first and the last dump added, as a view prints
 * it.  Its strings and tasks point into the struct compare it was built
 * from, valid while that is neither added to nor freed. */
struct compare_result {
    int pid;                 /* the last dump's */
    const char *taken_at[2]; /* the first and the last dump's, as written; "" unknown */
    int64_t taken_ms[2];     /* the same in ms since the epoch; -1 unknown or malformed */
    struct compare_entry *e; /* n entries by kind; the still ones alike together (same
                                hash), each kind's by id otherwise; malloc'd */
    size_t n;
    size_t count[COMPARE_KINDS]; /* entries of each kind */
    int verdict;                 /* enum compare_verdict */
};

/* Compares the first and the last dump added to C (at least two) into *R
 * (free with compare_result_free).  Returns 0, or -1 with WHY and *CODE:
 * "ENOMEM", "FAILED" with fewer than two dumps. */
int compare_result_build(const struct compare *c, struct compare_result *r, char *why,
                         size_t whylen, const char **code);

/* Frees what R holds and zeroes it. */
void compare_result_free(struct compare_result *r);

/* Frees what C holds and zeroes it.  NULL is allowed. */
void compare_free(struct compare *c);

#endif
