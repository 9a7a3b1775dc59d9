/* The views of a dump: a human-readable await tree per task
 * (render_text.c), one JSON document (render_json.c) and the folded lines
 * of flame graph tools (render_folded.c), over render_out.c's checked
 * writer; and the report of a comparison of dumps (render_compare.c).
 * Included by those five and by cli/, which prints with them.  Escaping
 * target bytes and formatting durations are util's (util/escape.h,
 * util/duration.h), so that the layers below use the same: the model
 * escapes what it puts in a problem's message and symbols what it says
 * on stderr.
 *
 * They only read the dump; they are thread-safe as long as no one writes
 * to the dump or the FILE concurrently. */
#ifndef TT_RENDER_H
#define TT_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/compare.h"
#include "model/model.h"
#include "util/escape.h"

struct render_opts {
    bool raw;       /* keep every captured frame (no tree_trim_stack) */
    bool no_source; /* text: omit " at file:line:col" */
    bool color;     /* text: ANSI SGR styling; false writes no escapes */
    int group;      /* group alike tasks (group.h): 1 always, 0 never, -1
                       in text when more than 50 tasks are shown.  JSON
                       writes each task's "group", "tasks_total" and
                       "groups" unless this is 0 (--no-group, and the
                       dumps a --repeat child writes for its parent), and
                       with 1 the groups instead of the tasks */
    bool summary;   /* text: end with the summary line (render_text) */
};

/* Writes every task of DUMP to F: a header line such as
 *   task 1 "foo" idle 1.52s since last poll, 3 polls
 * then the task's await tree, one frame per line, with a blank line
 * between tasks; then, after a blank line, one line per problem of the
 * dump: "incomplete: " and its message.  Task names and every string from the target's debug
 * info are escaped so that they can't drive the terminal: control bytes,
 * DEL, invalid UTF-8 and C1 controls as \xNN; in names also \" and \\.
 * OPTS may be NULL (all options off).
 * Returns 0, or -errno of the first failed write (-EIO if errno was not
 * set), or -ENOMEM; output may be partial then. */
int render_text(FILE *f, const struct tt_dump *dump, const struct render_opts *opts);

/* Writes DUMP to F as one JSON document followed by a newline:
 *   {"version":1,"pid":..,"complete":..,"generation":..,"records_lost":..,
 *    "tasks":[{"id":..,"name":..,"state":..,"polls":..,"idle_ns":..,
 *      "tid":..,"reported":..,"suspect":..,"stacks":[[frame, ...], ...],
 *      "truncated":..,"inherited":..}, ...],
 *    "records_torn":..,"problems":[{"cause":..,"message":..}, ...],
 *    ..., "taken_at":.. (when DUMP->taken_at_ms is set),
 *    "tasks_total":..,"groups":.. (when OPTS->group is not 0)}
 * with frames {"function","file","line","column","inlined","module","pc"}
 * in that key order (docs/json.md describes every key).  Each stack is root first and trimmed as in the text
 * view unless OPTS->raw.  Unknown values are null (idle_ns < 0, line or
 * column 0, tid unless polling, NULL strings); pc is a "0x..." string.
 * Strings are valid JSON whatever bytes they hold: '"', '\\' and control
 * characters are escaped, and each byte that is not part of a valid UTF-8
 * sequence becomes U+FFFD ("\ufffd"), so the output is always valid UTF-8.
 * OPTS may be NULL.  Returns as render_text. */
int render_json(FILE *f, const struct tt_dump *dump, const struct render_opts *opts);

/* Writes where DUMP's tasks wait in the folded format of flame graph
 * tools (render_folded.c says it whole): one line per distinct
 * root-to-leaf path, "frame;frame;frame COUNT", sorted.  Returns as
 * render_text. */
int render_folded(FILE *f, const struct tt_dump *dump, const struct render_opts *opts);

/* Writes the document that stands for a dump that could not be taken:
 *   {"version":1,"error":{"code":CODE,"message":MESSAGE},"pid":PID,
 *    "taken_at":...}
 * PID 0 is written null.  Returns as render_json. */
int render_json_error(FILE *f, int pid, const char *code, const char *message, int64_t taken_at_ms);

/* Writes the comparison of the first and the last dump added to C (at
 * least two; model/compare.h) to OUT: text, or one JSON document with
 * JSON (docs/json.md).  Returns its enum compare_verdict (compare.h), also when the reader of OUT went away (EPIPE: it has
 * what it wanted); or -1 with WHY and *CODE: "OUTPUT" when OUT could not
 * be written, "ENOMEM", "FAILED" with fewer than two dumps. */
int compare_print(struct compare *c, bool json, FILE *out, char *why, size_t whylen,
                  const char **code);

/* The lowercase name of a TRT_TASK_* state ("idle", "polling", "done",
 * "free"), or "unknown".  A static string. */
const char *render_state_name(uint32_t state);

/* Internal to the renderers: a FILE writer that keeps its first error
 * (0 or -errno); once set, nothing more is written. */
struct render__out {
    FILE *f;
    int err;
};
void render__out_fail(struct render__out *o);
void render__out_printf(struct render__out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void render__out_write(struct render__out *o, const char *s, size_t len);
void render__out_puts(struct render__out *o, const char *s);
/* A sink for the escapers (util/escape.h) writing to O, stopping at its
 * first error. */
struct esc_sink render__out_sink(struct render__out *o);

/* Internal to the renderers: what a view made of a frames array that
 * stacks share (tt_stack.shared: every task with the same PCs), kept by
 * the array's address so that it is made once.  TEXT is the memo's own
 * (freed by render__memo_free) when OWNS, else the caller's. */
struct render__memo_entry {
    const void *key;
    char *text;
    size_t len;
    uint64_t aux;
};
struct render__memo {
    struct render__memo_entry *e;
    size_t cap, n;
    bool owns;
};
/* The entry of KEY, or NULL. */
struct render__memo_entry *render__memo_find(struct render__memo *m, const void *key);
/* Adds *ADD (its key not there yet); on allocation failure nothing is
 * kept (only slower) and an owned text is freed. */
void render__memo_add(struct render__memo *m, const struct render__memo_entry *add);
void render__memo_free(struct render__memo *m);

#endif
