/* The live part of a core's dump: the stack of every thread that was
 * inside a task's poll when the core was written, unwound from the core's
 * registers and memory and spliced under the task as livestack.c does for
 * a running process; with --threads every thread of the core; and the fatal
 * signal the core was written for, with the thread and task it struck. */
#ifndef TT_CORELIVE_H
#define TT_CORELIVE_H

#include <stdbool.h>
#include <stddef.h>

#include <elfutils/libdwfl.h>
#include <tasktrace/protocol.h>

#include "target/core.h"
#include "model/model.h"
#include "symbols/lookup.h"

struct corethreads_stats {
    size_t failed;         /* polling tasks without a stack */
    char first_error[160]; /* why, for the first of them */
};

/* Fills D (built by dump_build from SLOTS, read from core C) with the
 * stacks of the polling tasks' threads, D->threads with THREADS (at most
 * THREAD_LIST_MAX), and D->crash when C was written for a fatal signal
 * (core_signal_fatal) that its first thread received.  Frames are
 * symbolized through SYM; DWFL (SYM's, from findcore_dwfl_open) gets a thread
 * state attached.  RAW keeps every frame of the crash's frame lookup.
 * Returns 0 (per-thread failures are in the model and ST), or -ENOMEM. */
int corethreads_fill(struct tt_dump *d, struct core_file *c, Dwfl *dwfl, lookup_ctx *sym,
                     const struct trt_task_slot *slots, size_t nslots, bool threads, bool raw,
                     struct corethreads_stats *st);

#endif
