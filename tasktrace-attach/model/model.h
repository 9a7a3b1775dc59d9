/* The tool's in-memory picture of one dump: tasks, their captured stacks
 * (already symbolized), and every way the dump is incomplete.
 * symbols/lookup.c makes its frames; dump.c builds it from what
 * target/rtread.c and target/records.c read, of a process or of a core;
 * livestack.c (a process) and corethreads.c (a core) add the stacks of the
 * threads inside a poll; symbolize.c builds it from a saved document.
 * filter.c and group.c read it for the views, tree.c (captured stacks)
 * and trim.c (live stacks) trim its stacks as printed, and the views
 * (views/render_text.c, render_json.c, render_folded.c) print it. */
#ifndef TT_MODEL_H
#define TT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbols/frame.h"

struct tt_task {
    uint64_t id;
    char name[65];  /* sanitized copy of the slot's name */
    uint32_t state; /* TRT_TASK_* */
    uint64_t polls;
    int64_t idle_ns; /* time since its last poll ended, -1 if unknown */
    int32_t tid;     /* polling thread while state == POLLING, else 0 */
    bool reported;   /* its traced poll finished within the dump */
    bool suspect;    /* traced poll returned PENDING with no waker use */
    bool inherited;  /* registered before the fork that made this process
                        (TRT_TASK_F_INHERITED) and no executor poll of it
                        ended since */
    size_t nstacks;
    struct tt_stack *stacks;
    /* Parallel to stacks: how many captures of that same stack (same PCs)
     * each stands for, as when one poll of a task joins 16 like leaves.
     * Owned; NULL reads as 1 each. */
    size_t *stack_counts;
    bool pooled; /* stacks and stack_counts point into the dump's pools */
    /* Where the task was created: the innermost frame (inlined ones
     * included) of the slot's spawn_pc, or NULL when the runtime recorded
     * none (an older runtime, or trt_traced_new_at given NULL). */
    const struct frame *spawned_at;
    /* Some of the captures its traced poll made were lost (overwritten in
     * the capture ring, or torn): `stacks` misses some leaves.
     * captures is how many reached the ring, found how many were read. */
    bool stacks_lost;
    uint32_t captures, captures_found;
    /* While polling at the end of the dump: the live stack of the thread
     * polling it (livestack.c), unwound from a copy taken while the thread
     * was briefly stopped. */
    int64_t poll_ns;              /* time inside the current poll so far,
                                     -1 unless polling (or unknown) */
    char thread_name[16];         /* the polling thread's comm, raw bytes;
                                     "" if unknown */
    bool has_thread_stack;        /* thread_stack holds the live stack */
    struct tt_stack thread_stack; /* root first, every frame (renderers
                                     trim it with trim_live_stack, model/trim.h); the frames
                                     array is owned, the frames are not */
    char *thread_error;           /* why a polling task has no live stack
                                     (malloc'd, dump_task_error); NULL when
                                     it has one or nothing is known */
};

/* One thread of the process (--threads), with its live stack. */
struct tt_thread {
    int32_t tid;
    char name[16];  /* comm, raw bytes; "" if unknown */
    char state;     /* from /proc: R, S, D, T, t, Z...; 0 unknown */
    char wchan[64]; /* kernel wait channel, "" if none or unknown */
    uint64_t task;  /* id of the task it is polling, 0 if none */
    bool has_stack;
    struct tt_stack stack; /* root first, raw; frames array owned */
    char error[128];       /* why there is no stack, "" when there is */
};

/* The fatal signal a core was written for, and where it struck. */
struct tt_crash {
    int signo;
    const char *signal; /* "SIGSEGV", or NULL for a number only */
    int code;           /* si_code, 0 unknown */
    bool has_addr;
    uint64_t addr;             /* the faulting address (SIGSEGV, SIGBUS...) */
    int32_t thread;            /* the thread that received it */
    uint64_t task;             /* the task whose poll it was in, 0 if none */
    char task_name[65];        /* that task's name, sanitized */
    const struct frame *frame; /* innermost frame of the thread's
                                      stack (trimmed as shown), or NULL */
};

/* One way a dump is incomplete.  The same line goes to stderr and into
 * the output, so that a reader of either learns it. */
struct tt_problem {
    const char *cause; /* a stable identifier, listed in docs/json.md */
    char message[400]; /* one line, no program name, target bytes escaped */
};

#define TT_MAX_PROBLEMS 16

struct tt_dump {
    int pid;
    bool complete; /* every task reported and nothing is missing:
                               no problem was recorded */
    uint32_t generation;
    uint64_t records_lost; /* records of this generation lost */
    uint64_t records_torn; /* records of this generation unreadable */
    size_t ntasks;
    struct tt_task *tasks;
    uint64_t pcs_late;         /* addresses left unsymbolized: deadline */
    uint64_t pcs_over;         /* addresses left unsymbolized: too many */
    struct frame **raw_frames; /* frames of unsymbolized addresses, owned */
    size_t nraw_frames, raw_frames_cap;
    /* The symbolized frames of each distinct list of PCs the ring held,
     * owned, shared by the stacks (tt_stack.shared) of every task that
     * recorded that list; and the tasks' stacks and stack_counts, one
     * array of each for all the tasks dump_build filled (tt_task.pooled). */
    const struct frame ***list_frames;
    size_t nlist_frames;
    struct tt_stack *stack_pool;
    size_t *count_pool;
    struct tt_problem problems[TT_MAX_PROBLEMS];
    size_t nproblems; /* problems kept; more are counted, not kept */
    size_t problems_dropped;
    bool passive;        /* --passive: nothing was polled */
    bool threads_listed; /* --threads: `threads` lists the threads */
    int64_t taken_at_ms; /* wall clock (CLOCK_REALTIME) at the start of the
                               dump, in milliseconds since the epoch */
    uint64_t elapsed_ns; /* from the start of the dump to its printing */
    size_t ntasks_total; /* tasks before the filters (filter.h) kept
                               `ntasks` of them; 0 when nothing was filtered.
                               tasks[ntasks .. ntasks_total) are the ones
                               left out, still owned */
    size_t nthreads;
    struct tt_thread *threads; /* owned */
    /* A dump of a core file (--core) instead of a live process. */
    const char *core;      /* the core's path as given, or NULL */
    int64_t stacks_age_ns; /* a core: how long before the core's moment
                               the runtime completed the dump generation
                               whose stacks are shown; -1 if unknown */
    bool has_crash;        /* a core written for a fatal signal */
    struct tt_crash crash;
};

#endif
