/* Filters of the tasks shown (--match, --state, --min-idle): a view of
 * the dump, applied once it is built and its problems are named, so that
 * they change what is printed, never whether the dump is complete nor the
 * exit status.  All filters given must hold (AND), and they AND with
 * --task, which selects what is dumped in the first place. */
#ifndef TT_FILTER_H
#define TT_FILTER_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"

struct filter {
    bool has_match;
    regex_t match;       /* --match: POSIX extended, no sub-matches */
    unsigned states;     /* --state: bit 1 << TRT_TASK_*; 0 for any */
    int64_t min_idle_ns; /* --min-idle: -1 for none */
};

/* An empty filter: keeps every task. */
void filter_init(struct filter *f);

/* Compiles REGEX as --match.  Returns 0, or -EINVAL with regerror's
 * reason in WHY. */
int filter_set_match(struct filter *f, const char *regex, char *why, size_t whylen);

/* Adds the states of ARG, "idle", "polling", "done" or a comma list of
 * them, to --state.  Returns 0 or -EINVAL. */
int filter_add_states(struct filter *f, const char *arg);

/* Parses SECONDS (a decimal number, 0 to 10^9) as --min-idle.  Returns 0
 * or -EINVAL. */
int filter_set_min_idle(struct filter *f, const char *seconds);

/* Whether any filter is set (filter_apply leaves D as it is without).
 * Exported, with filter_task, for the filter suite, which tests each rule
 * on tasks made up there; the tool calls filter_apply only. */
bool filter_active(const struct filter *f);

/* Whether task T passes every filter: one of the --state states; for
 * --min-idle, idle at least that long (idle_ns), or for a task inside a
 * poll, in that poll at least that long (poll_ns), unknown times failing;
 * for --match, a frame of its stacks or of its live thread stack, trimmed
 * as printed unless RAW, whose function or source file matches.  The rule
 * filter_apply applies to each task (exported for the filter suite). */
bool filter_task(const struct filter *f, const struct tt_task *t, bool raw);

/* Keeps in D->tasks[0 .. ntasks) the tasks that pass, in their order, and
 * moves the others after them (D->ntasks_total counts all; dump_free's
 * caller frees them all).  Returns 0 or -ENOMEM (D unchanged). */
int filter_apply(const struct filter *f, struct tt_dump *d, bool raw);

void filter_free(struct filter *f);

#endif
