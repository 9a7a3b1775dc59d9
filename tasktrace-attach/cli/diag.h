/* What the command line says on stderr, written through the tool's one
 * stderr writer (util/diag.h, which the layers below call too): every line
 * starts with the program's name, and the last one said is kept with the
 * code of the failure it names, for the error document --json writes on
 * exit status 2 (docs/json.md). */
#ifndef TT_CLI_DIAG_H
#define TT_CLI_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern const char *progname;

/* The longest line kept for the error document. */
#define DIAG_LINE_MAX 512

/* Says one line on stderr, after what stdout holds so far. */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2), nonnull(1)));
/* Says why the tool cannot go on, as msg, and names the failure by CODE
 * (a stable identifier of docs/json.md, a string literal). */
void fatal(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Names the failure CODE (copied) with LINE as its message, without
 * saying anything: a child of --repeat already said it. */
void diag_set_failure(const char *code, const char *line);
/* The code of the failure said, or NULL. */
const char *diag_fail_code(void);
/* The last line said. */
const char *diag_last_message(void);

/* Escapes S (target bytes: a name, a path, a message naming a process)
 * into BUF for stderr, exactly as the text view would print it. */
const char *esc(char *buf, size_t len, const char *s, bool quote);

/* Records that the output was printed, or that printing began: a failure
 * after it writes no error document. */
void diag_output_written(void);
/* With --json, a failure (exit status 2) is a document too, for scripts to
 * branch on: writes it to stdout unless the output was written or it was
 * the output that failed.  PID 0 for none. */
void diag_error_document(int pid, int64_t taken_at_ms);

#endif
