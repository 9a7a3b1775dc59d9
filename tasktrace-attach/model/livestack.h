/* The live part of a dump: once the dump's generation has ended (or timed
 * out, or with --passive instead of one), the stacks of the threads that
 * are inside a task's poll, and with --threads of every thread.  One thread
 * is stopped at a time, for the copy of its registers and stack only
 * (thread.h); the unwinding (unwind.h) happens after it runs again.  A
 * task's slot is read before and after its thread is stopped, so a thread
 * that left the poll meanwhile is never misattributed; a task whose poll
 * ended meanwhile was busy, not stuck, and reported like any other: it
 * owes no live stack.  A watchdog (watchdog.h) bounds each stop. */
#ifndef TT_LIVE_H
#define TT_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <elfutils/libdwfl.h>
#include <tasktrace/protocol.h>

#include "model/model.h"
#include "target/proc.h"
#include "symbols/lookup.h"
#include "target/thread.h"

struct livestack_opts {
    bool threads;         /* --threads: every thread of the process too */
    unsigned hold_ms;     /* test hook: keep each thread stopped this long */
    uint64_t deadline_ns; /* CLOCK_MONOTONIC time after which no more
                             threads are stopped (their stacks are
                             reported missing); 0 for none */
};

/* Most stops recorded in livestack_stats (each thread is stopped at most once). */
#define LIVESTACK_MAX_STOPS (THREAD_LIST_MAX + 256u)

/* Threads not read for want of time named in livestack_stats. */
#define LIVESTACK_MAX_UNREAD 8u

struct livestack_stats {
    size_t nstops;                         /* threads stopped */
    uint64_t stop_ns[LIVESTACK_MAX_STOPS]; /* how long each was stopped, from
                                         the interrupt to the detach */
    uint64_t held_ns[LIVESTACK_MAX_STOPS]; /* of which after the stop was seen */
    size_t threads_total;                  /* with --threads: threads the process
                                         had; more than THREAD_LIST_MAX means
                                         the list was cut */
    size_t failed;                         /* polling tasks without a live stack
                                         (not those that left their poll:
                                         they reported like any other) */
    bool exited;                           /* the process was gone at the end:
                                         why those stacks are missing */
    char first_error[160];                 /* why, for the first of them */
    size_t late;                           /* threads still seized at the end
                                         (in uninterruptible sleep) */
    size_t out_of_time;                    /* threads not read: the deadline */
    pid_t unread[LIVESTACK_MAX_UNREAD];    /* the first of them */
};

/* Fills the live part of D (built by dump_build from SLOTS): for each task
 * of D that is polling, thread_name, poll_ns and thread_stack (or
 * thread_error); with O->threads, D->threads (the first THREAD_LIST_MAX
 * threads).  SLOTS (any order) say which task each thread polls; the
 * registry at REGISTRY_ADDR is read again around each stop.  Frames are
 * symbolized through SYM; DWFL (SYM's) gets a thread state attached.
 * What it adds is the dump's, freed by dump_free (dump.h).
 * Returns 0 (per-thread failures are in the model and ST), or -ENOMEM. */
int livestack_fill(struct tt_dump *d, struct proc_target *t, Dwfl *dwfl, lookup_ctx *sym,
                   uint64_t registry_addr, const struct trt_task_slot *slots, size_t nslots,
                   const struct livestack_opts *o, struct livestack_stats *st);

/* Writes into BUF the function a stuck task is "in", for one-line
 * messages: of its live stack, the innermost function whose name does not
 * start with '_' (libc's internal names), else the innermost with a name,
 * without a "+0x..." offset.  Raw bytes: escape them to print.  Returns
 * BUF, or NULL (BUF empty) when there is none. */
const char *livestack_where(const struct tt_task *task, char *buf, size_t len);

/* Room for why a thread has no stack (a stop or an unwind that failed),
 * here and in corethreads.c: dump_task_error keeps 127 bytes of it. */
#define LIVESTACK_ERROR_LEN 128

/* Whether STACK, a thread's stack, is inside a task's poll: a slot may
 * name a thread that left the poll (a thread that exited in a poll leaves
 * its slot behind, and its id may since belong to another thread), but
 * only a stack through the task wrapper is in one.  A truncated stack
 * counts as inside: the wrapper may be past the cut.  For the live
 * stacks and a core's (corethreads.h). */
bool livestack_in_poll(const struct tt_stack *stack);

/* Gives TASK, polled by thread TID, that thread's STACK (a copy of its
 * frames array, livestack_copy) when IN_POLL (livestack_in_poll) and the
 * task has none yet (the first stays); else sets its thread_error to
 * ERROR, when not "", or to a stack that shows no poll.  For the live
 * stacks and a core's.  Returns 0 or -ENOMEM. */
int livestack_give(struct tt_task *task, pid_t tid, const struct tt_stack *stack, const char *error,
                   bool in_poll);

/* Copies SRC into DST with a frames array of DST's own (malloc'd; the
 * frames themselves stay borrowed).  Returns 0 or -ENOMEM. */
int livestack_copy(struct tt_stack *dst, const struct tt_stack *src);

#endif
