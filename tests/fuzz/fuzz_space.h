/* The input of the fuzz target: a fake target address space.
 *
 * An input is a head followed by regions, all little-endian:
 *   struct fuzz_head
 *   { struct fuzz_region, then `nbytes` bytes } ...
 * A region maps [addr, addr + size) of the fake target; its first `nbytes`
 * bytes are given, the rest reads as zeroes, so a registry chunk of 512 KiB
 * costs only the slots that are set.  A read inside one region succeeds,
 * any other fails with -EFAULT, as proc_read does for unmapped memory.
 * The last region's bytes stop where the input does. */
#ifndef TT_FUZZ_SPACE_H
#define TT_FUZZ_SPACE_H

#include <stdint.h>

/* fuzz_head.flags */
#define FUZZ_F_RAW 0x1u         /* render_opts.raw and dump_build's raw */
#define FUZZ_F_NO_SOURCE 0x2u   /* render_opts.no_source */
#define FUZZ_F_COLOR 0x4u       /* render_opts.color */
#define FUZZ_F_NOT_STARTED 0x8u /* the runtime did not start the generation */
#define FUZZ_F_SELECT 0x10u     /* a --task filter keeping odd task ids */
/* FUZZ_F_SEAL: before reading, the fuzz target gives the newest 256
 * records of the ring that the control block names their stamp and
 * checksum, so that mutated records reach dump building. */
#define FUZZ_F_SEAL 0x20u
#define FUZZ_F_ALL_TASKS 0x40u /* dump_in.all_tasks, as for a core file */
#define FUZZ_F_NO_CLOCK 0x80u  /* no time to measure ages to: all unknown */
#define FUZZ_F_PASSIVE 0x100u  /* a --passive dump: nothing was polled */

/* Ages are measured to this CLOCK_MONOTONIC time, so that a dump prints
 * the same on every run (unless FUZZ_F_NO_CLOCK). */
#define FUZZ_NOW_NS 10000000000ull

struct fuzz_head {
    uint64_t control_addr; /* where the control block is */
    uint32_t flags;        /* FUZZ_F_* */
    uint32_t reserved;
};

struct fuzz_region {
    uint64_t addr;
    uint64_t size;   /* bytes mapped */
    uint32_t nbytes; /* bytes given (at most size); the rest are zero */
    uint32_t reserved;
};

/* At most this many regions are decoded; later bytes are ignored. */
#define FUZZ_MAX_REGIONS 64

/* A record's PC below FUZZ_PC_NAMED is not an address: the fuzz target
 * turns it into the return address of its own function number
 * pc % FUZZ_NFUNCS (see fuzz_readers.c), so stacks have real names to trim
 * and merge: the runtime's wrapper and capture functions, the ABI helpers
 * and a few task functions. */
#define FUZZ_PC_NAMED 0x100u

/* The functions, in the order of those numbers. */
enum {
    FUZZ_FN_CAPTURE,        /* TRT_FN_CAPTURE */
    FUZZ_FN_TRACER_CLONE,   /* TRT_FN_TRACER_CLONE */
    FUZZ_FN_TRACER_WAKE,    /* TRT_FN_TRACER_WAKE_BY_REF */
    FUZZ_FN_WAKER_CLONE,    /* an ABI helper */
    FUZZ_FN_LEAF_READ,      /* task code */
    FUZZ_FN_LEAF_SLEEP,     /* task code */
    FUZZ_FN_TASK_MAIN,      /* task code */
    FUZZ_FN_FUTURE_POLL,    /* an ABI helper */
    FUZZ_FN_TRACED_POLL,    /* TRT_FN_TRACED_POLL */
    FUZZ_FN_TRACED_TRACING, /* TRT_FN_TRACED_POLL_TRACING */
    FUZZ_FN_EXEC_RUN,       /* the executor */
    FUZZ_NFUNCS
};

#endif
