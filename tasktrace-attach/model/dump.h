/* Building the model of one dump (model.h) from the runtime's data. */
#ifndef TT_DUMP_H
#define TT_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tasktrace/protocol.h>

#include "model/model.h"
#include "target/records.h"
#include "symbols/lookup.h"

/* Whether the task in slot `s` goes into the dump (a --task filter). */
typedef bool (*dump_select_fn)(void *arg, const struct trt_task_slot *s);

/* At most this many distinct addresses are symbolized in one dump; the
 * rest are printed as bare addresses and counted in pcs_over.  Far more
 * call sites than a program's await trees hold, and it bounds the
 * symbolizer's memory and time. */
#define DUMP_MAX_PCS (1u << 16)

/* What dump_build needs besides the data it reads. */
struct dump_in {
    uint32_t gen;          /* the generation read; 0 when no dump ran */
    bool started;          /* the runtime started `gen` */
    bool complete;         /* the runtime completed `gen` */
    bool raw;              /* keep every frame (no trimming) */
    uint64_t fork_ns;      /* trt_control.fork_ns */
    uint64_t deadline_ns;  /* CLOCK_MONOTONIC time after which nothing more
                             is symbolized; 0 for none */
    uint64_t now_ns;       /* the moment ages are measured to (a core's);
                           0: now (CLOCK_MONOTONIC_COARSE); UINT64_MAX:
                           unknown, every age is -1 */
    bool all_tasks;        /* list every task, not only those of `gen`; the
                           records of `gen` still go to those that
                           reported it (a core: the last dump's stacks) */
    dump_select_fn select; /* may be NULL: every task */
    void *arg;
};

/* Fills *d (zeroed by the caller, which also sets pid and may already have
 * recorded problems) with the tasks of generation in->gen: those that
 * reported (traced_gen == gen) and those that still owe it, or, when the
 * runtime never `started` the generation, every task not done.  `gen` 0
 * means no dump ran: every slot is listed as is, reported only if
 * in->complete.  Sorts `slots` and `ring->recs` in place.  Each task gets
 * its records as stacks, symbolized through `sym`, identical ones once
 * (hashed: linear in the records); unless `raw`, only up to the task
 * wrapper.  Addresses past DUMP_MAX_PCS distinct ones, or met after
 * in->deadline_ns, are not symbolized (counted in pcs_over, pcs_late).
 * d->complete is set from in->complete and ring->lost, a first guess:
 * the caller sets it for good once it has named the dump's problems.
 * Returns 0 or -ENOMEM; free with dump_free either way. */
int dump_build(struct tt_dump *d, lookup_ctx *sym, struct trt_task_slot *slots, size_t nslots,
               struct records_result *ring, const struct dump_in *in);

/* Makes OUT the frame a tail call removed, from ENTRY, the outermost
 * frame symbolized at a future's poll function's entry (a chain entry):
 * marked tail_call, at the function's declaration, its name without a
 * symbol-table offset (written into NAME, room for strlen(function) + 1,
 * which OUT then points to). */
void dump_tail_call_frame(const struct frame *entry, struct frame *out, char *name);

/* Puts back, into the root-first FRAMES (room for LEN + NCHAIN), the
 * futures of a capture's chain (CHAIN, outermost first, their tail-call
 * frames; NULL entries are skipped) that the unwound stack lacks: an entry
 * whose function is not among the frames (searched in order, from below
 * the task wrapper) goes just before the frame of the next entry that is,
 * or, for the innermost ones, before the runtime's frames at the leaf
 * end.  Returns the new length. */
size_t dump_chain_insert(const struct frame **frames, size_t len, const struct frame *const *chain,
                         size_t nchain);

/* Whether F is a binding's spawn function (TRT_FN_GLUE_SPAWN_PREFIXES)
 * inlined into its caller, whose frame holds the line that created the
 * task. */
bool dump_spawn_glue(const struct frame *f);

/* Sets T's thread_error (printf-style, at most 127 bytes), replacing any;
 * on allocation failure it stays as it was. */
void dump_task_error(struct tt_task *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records one problem of D: CAUSE, a stable identifier (docs/json.md),
 * borrowed for D's lifetime, and the message FMT formats (cut to fit
 * tt_problem.message), which holds target bytes only escaped.  Past
 * TT_MAX_PROBLEMS the problem is counted in d->problems_dropped, not
 * kept.  The one way problems are added, whatever the dump came from.
 * Returns the problem kept, or NULL when it was dropped. */
struct tt_problem *dump_problem(struct tt_dump *d, const char *cause, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Frees what dump_build allocated and the live stacks and threads
 * livestack_fill and corethreads_fill added; leaves the strings (the
 * symbolizer's). */
void dump_free(struct tt_dump *d);

#endif
