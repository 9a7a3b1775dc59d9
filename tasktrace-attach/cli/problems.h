/* The ways a dump is incomplete, each recorded once, whatever the dump
 * came from (a process, a core, a saved dump): printed on stderr after the
 * output, and in the output itself.  Each is added by dump_problem
 * (model/dump.h). */
#ifndef TT_CLI_PROBLEMS_H
#define TT_CLI_PROBLEMS_H

#include <stddef.h>

#include "model/model.h"
#include "cli/session.h"
#include "target/rtread.h"

/* The problems of a task registry REG read from WHERE ("PID 42", "core
 * FILE"): repeated chunks or ids, more tasks than were read. */
void problems_registry(struct tt_dump *d, const char *where, const struct rtread_registry *reg);

/* FAILED threads inside a poll of WHERE whose STACK ("live stack",
 * "stack") could not be read, the first for the reason FIRST_ERROR. */
void problems_thread_stacks(struct tt_dump *d, const char *where, const char *stack, size_t failed,
                            const char *first_error);

/* --threads and a process or core with more than THREAD_LIST_MAX
 * threads (TOTAL of them). */
void problems_threads_cap(struct tt_dump *d, const char *where, size_t total);

/* Names what is missing from the built model of SS: --task options that
 * matched nothing, tasks that did not report (and why the doorbell did
 * not run), unsymbolized addresses; and says how many problems were
 * dropped. */
void problems_of_dump(struct session *ss);

#endif
