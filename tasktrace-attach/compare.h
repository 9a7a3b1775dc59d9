/* Comparing two dumps of one process taken some time apart (--compare
 * A.json B.json): the tasks that did not move between them (the same poll
 * count and the same stacks: stuck, or waiting for something that did not
 * come), the tasks whose poll count grew (busy or slow, but moving), and
 * those that appeared or finished.  The files are `tasktrace-attach
 * --json` documents, untrusted: read with jsonr.h, whole files of at most
 * COMPARE_MAX_BYTES, at most COMPARE_MAX_TASKS tasks each. */
#ifndef TT_COMPARE_H
#define TT_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define COMPARE_MAX_BYTES (1024ull << 20)
#define COMPARE_MAX_TASKS (1u << 21)

/* The exit status when some task did not move; 0 when every task found in
 * both dumps moved (or none was in both). */
#define COMPARE_EXIT_STILL 3

/* Compares the dumps in files A and B, B taken after A, and writes the
 * comparison to OUT: text, or one JSON document with JSON.  Returns 0
 * (every task in both moved), COMPARE_EXIT_STILL, or -1 with a one-line
 * reason in WHY and a stable error code in *CODE (docs/json.md): "EIO"
 * and other errno names for a file that cannot be read, "BAD_INPUT" for
 * one that is not a dump, "NOT_SAME_PROCESS", "ENOMEM". */
int compare_files(const char *a, const char *b, bool json, FILE *out, char *why, size_t whylen,
                  const char **code);

#endif
