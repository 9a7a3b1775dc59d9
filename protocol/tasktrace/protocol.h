/* The protocol between libtargetrt (inside the target) and tasktrace-attach
 * (outside it).  Every struct that crosses the process boundary is here:
 * fixed-width fields only, a magic/version/size prefix, reserved space for
 * growth, offsets pinned with _Static_assert.  docs/protocol.md is the prose
 * twin of this header; change both together.
 *
 * Everything the tool reads through these structs is untrusted: it bounds
 * every count and checks every address it follows.
 */
#ifndef TASKTRACE_PROTOCOL_H
#define TASKTRACE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The name of the exported control block object. */
#define TRT_CONTROL_SYMBOL "tasktrace_control"
/* The doorbell thread's name (comm). */
#define TRT_DOORBELL_NAME "tasktrace"

/* Names of runtime functions that the tool relies on to trim stacks.  They
 * are a contract: a unit test resolves each one in the built library, so a
 * rename in the runtime fails the tests instead of silently breaking dumps.
 *   TRT_FN_TRACED_POLL, TRT_FN_TRACED_POLL_TRACING: the task wrapper's poll
 *     (normal, and under a dump generation); a trimmed stack starts below
 *     the innermost of them.
 *   TRT_FN_TRACER_CLONE, TRT_FN_TRACER_WAKE_BY_REF: the tracing waker's
 *     entry points; TRT_FN_CAPTURE: the capture itself.
 *   TRT_FN_INTERNAL_PREFIX: every runtime-internal function starts with it;
 *     below the wrapper, the first such frame is where the capture begins.
 *   TRT_FN_ABI_HELPERS: the public ABI helpers a future goes through; they
 *     say nothing about what a task awaits and are hidden wherever they
 *     stand (an initializer list of strings). */
#define TRT_FN_TRACED_POLL "trt__traced_poll"
#define TRT_FN_TRACED_POLL_TRACING "trt__traced_poll_tracing"
#define TRT_FN_TRACER_CLONE "trt__tracer_clone"
#define TRT_FN_TRACER_WAKE_BY_REF "trt__tracer_wake_by_ref"
#define TRT_FN_CAPTURE "trt__capture"
#define TRT_FN_INTERNAL_PREFIX "trt__"
#define TRT_FN_ABI_HELPERS                                                           \
    "trt_future_poll", "trt_waker_clone", "trt_waker_wake", "trt_waker_wake_by_ref", \
        "trt_waker_drop", "trt_waker_will_wake", TRT_FN_FUTURE_POLL_CHAINED
/* trt_future_poll's path under a dump generation, which keeps the chain of
 * polled futures (TRT_RECORD_F_CHAIN); an ABI helper like the others. */
#define TRT_FN_FUTURE_POLL_CHAINED "trt_future_poll_chained"

/* Frames of language bindings' glue that the default view trims, as
 * prefixes of demangled function names (an initializer list of strings
 * each).  They belong to the bindings (bindings/rust: the tasktrace crate
 * names every glue function tasktrace_rs_*), not to the runtime, so no
 * unit test resolves them in the library.
 *   TRT_FN_GLUE_ENTRY_PREFIXES: the glue between the runtime's wrapper and
 *     the task's own future (the crate's poll shim, the standard library's
 *     panic catching it calls through, its last inlined step); a trimmed
 *     stack starts below the innermost frame matching one, as it does
 *     below the wrapper.
 *   TRT_FN_GLUE_HIDDEN_PREFIXES: the glue a leaf goes through to reach the
 *     runtime's waker (the crate's waker bridge and the language's own
 *     Waker methods); hidden wherever they stand, like TRT_FN_ABI_HELPERS. */
#define TRT_FN_GLUE_ENTRY_PREFIXES "tasktrace::tasktrace_rs_poll", "tasktrace::tasktrace_rs_enter"
#define TRT_FN_GLUE_HIDDEN_PREFIXES                                                       \
    "tasktrace::tasktrace_rs_", "<core::task::wake::Waker as core::clone::Clone>::clone", \
        "core::task::wake::Waker::wake_by_ref"
/*   TRT_FN_GLUE_SPAWN_PREFIXES: bindings' functions that register a task
 *     for their caller and are inlined into it (the crate's traced()); the
 *     place a task was spawned is the innermost frame of the spawn address
 *     that is not one of them. */
#define TRT_FN_GLUE_SPAWN_PREFIXES "tasktrace::traced"

#define TRT_PROTOCOL_VERSION 1u

/* "TRTCTRL1", "TRTREGS1", "TRTRING1" read as little-endian u64. */
#define TRT_CONTROL_MAGIC 0x314c525443545254ull
#define TRT_REGISTRY_MAGIC 0x3153474552545254ull
#define TRT_RING_MAGIC 0x31474e4952545254ull

/* The generation a tool asks for, having seen SEEN in the request word or
 * as the active generation: the least odd value past it (never 0). */
static inline uint32_t trt_gen_tool_next(uint32_t seen)
{
    return (seen + 1) | 1u;
}

/* The generation the runtime asks for itself while ACTIVE is the active
 * one: the least even value past it, never 0.  A tool that read the
 * request word before this one replaced it picks an odd value and
 * overwrites it; the two never look alike. */
static inline uint32_t trt_gen_inner_next(uint32_t active)
{
    uint32_t gen = (active + 2) & ~1u;
    return gen != 0 ? gen : 2;
}

/* Control block: one per process, exported as TRT_CONTROL_SYMBOL.
 *
 * Dump protocol: the tool writes request = G (odd, past the request and
 * active it read: trt_gen_tool_next), then makes the doorbell thread
 * re-check the word (see docs/protocol.md).  The runtime's own
 * generations, for dumps asked for from inside the process, are even
 * (trt_gen_inner_next), so that the doorbell never takes a tool's request
 * for its own, whatever raced with it.  The runtime sets active = G,
 * marks every live task as owing generation G, wakes them, and sets done = G
 * once each has been traced, completed or freed.  A tool that has read the
 * generation's records writes read_done = G; the runtime then gives the
 * ring's pages back to the system. */
struct trt_control {
    uint64_t magic;           /* TRT_CONTROL_MAGIC */
    uint32_t version;         /* TRT_PROTOCOL_VERSION */
    uint32_t size;            /* sizeof(struct trt_control) */
    uint32_t request;         /* futex word: generation requested by a tool */
    uint32_t active;          /* generation being (or last) started */
    uint32_t done;            /* last generation completed */
    int32_t doorbell_tid;     /* tid of the doorbell thread, 0 if none */
    uint64_t registry_addr;   /* struct trt_registry * */
    uint64_t ring_addr;       /* struct trt_ring *, 0 before the first dump;
                                 a replaced ring stays mapped */
    uint64_t records_written; /* records written, all generations */
    uint64_t records_lost;    /* records overwritten before their dump ended */
    uint64_t gen_pending;     /* (active << 32) | tasks still owing it */
    uint64_t gen_start_ns;    /* CLOCK_MONOTONIC when `active` started */
    uint64_t gen_done_ns;     /* CLOCK_MONOTONIC when `done` was published */
    uint32_t gen_tasks;       /* tasks live when `active` started */
    uint32_t read_done;       /* last generation a tool finished reading */
    uint64_t fork_ns;         /* CLOCK_MONOTONIC_COARSE when this process was
                                 forked from a parent with tasks, 0 if not */
    int32_t doorbell_errno;   /* why the doorbell thread could not start
                                 (a positive errno, from pthread_create),
                                 0 once it runs; the next trt_traced_new
                                 (100 ms later at the earliest) retries */
    uint32_t doorbell_fails;  /* failed attempts to start the doorbell */
    int32_t ring_errno;       /* why generation ring_errno_gen has no ring, or
                                 a smaller one than it needs (positive errno:
                                 the refused mmap's); 0 if it has.  Both are
                                 stored when a generation starts, this one
                                 first */
    uint32_t ring_errno_gen;  /* the generation ring_errno is about */
    uint32_t ring_max_mb;     /* the ring's memory cap in MiB (header
                                 included): TASKTRACE_RING_MAX_MB as read at
                                 the first traced task, or the default; 0
                                 before that.  A ring at the cap loses
                                 records, which records_lost counts */
    uint32_t reserved32;
    uint64_t reserved[16];
};

_Static_assert(offsetof(struct trt_control, request) == 16, "protocol");
_Static_assert(offsetof(struct trt_control, active) == 20, "protocol");
_Static_assert(offsetof(struct trt_control, done) == 24, "protocol");
_Static_assert(offsetof(struct trt_control, doorbell_tid) == 28, "protocol");
_Static_assert(offsetof(struct trt_control, registry_addr) == 32, "protocol");
_Static_assert(offsetof(struct trt_control, ring_addr) == 40, "protocol");
_Static_assert(offsetof(struct trt_control, records_written) == 48, "protocol");
_Static_assert(offsetof(struct trt_control, records_lost) == 56, "protocol");
_Static_assert(offsetof(struct trt_control, gen_pending) == 64, "protocol");
_Static_assert(offsetof(struct trt_control, gen_start_ns) == 72, "protocol");
_Static_assert(offsetof(struct trt_control, gen_done_ns) == 80, "protocol");
_Static_assert(offsetof(struct trt_control, gen_tasks) == 88, "protocol");
_Static_assert(offsetof(struct trt_control, read_done) == 92, "protocol");
_Static_assert(offsetof(struct trt_control, fork_ns) == 96, "protocol");
_Static_assert(offsetof(struct trt_control, doorbell_errno) == 104, "protocol");
_Static_assert(offsetof(struct trt_control, doorbell_fails) == 108, "protocol");
_Static_assert(offsetof(struct trt_control, ring_errno) == 112, "protocol");
_Static_assert(offsetof(struct trt_control, ring_errno_gen) == 116, "protocol");
_Static_assert(offsetof(struct trt_control, ring_max_mb) == 120, "protocol");
_Static_assert(sizeof(struct trt_control) == 256, "protocol");

/* Task states in trt_task_slot.state. */
enum {
    TRT_TASK_FREE = 0,    /* slot unused */
    TRT_TASK_IDLE = 1,    /* registered, not being polled */
    TRT_TASK_POLLING = 2, /* a poll is in progress on thread `tid` */
    TRT_TASK_DONE = 3     /* returned TRT_READY, not yet freed */
};

/* A state's name in dumps, text and JSON alike ("free", "idle",
 * "polling", "done"), "unknown" for any other value. */
static inline const char *trt_task_state_name(uint32_t state)
{
    switch (state) {
    case TRT_TASK_FREE:
        return "free";
    case TRT_TASK_IDLE:
        return "idle";
    case TRT_TASK_POLLING:
        return "polling";
    case TRT_TASK_DONE:
        return "done";
    default:
        return "unknown";
    }
}

/* trt_task_slot.flags */
#define TRT_TASK_F_SUSPECT 0x1u /* last traced poll: PENDING, no waker use */
#define TRT_TASK_F_INHERITED \
    0x2u /* registered before the fork that made this
                                     process (see trt_control.fork_ns) */
#define TRT_TASK_F_SPAWN_PC \
    0x4u /* spawn_pc holds where the task was
                                     created; a slot without this flag (an
                                     older runtime, whose name filled all of
                                     bytes 64..127) has no spawn_pc */

/* The name's size in the slot, its NUL included.  It was 64 before
 * spawn_pc took the last 8 bytes; a tool reads at most 56 bytes of name
 * and takes spawn_pc only from a slot flagged TRT_TASK_F_SPAWN_PC, so
 * either side may be the older one. */
#define TRT_TASK_NAME_MAX 56

/* One registered task.  Written by the thread polling the task, read from
 * outside without locks: fields may be momentarily inconsistent. */
struct trt_task_slot {
    uint64_t id;                  /* never reused; 0 = free slot */
    uint64_t polls;               /* executor polls (dump re-polls not counted) */
    uint64_t created_ns;          /* CLOCK_MONOTONIC */
    uint64_t poll_start_ns;       /* start of the current (state POLLING) or last
                                executor poll, CLOCK_MONOTONIC_COARSE read
                                as it began; 0 if never polled */
    uint64_t poll_end_ns;         /* stored when the last executor poll returned:
                                the same reading as that poll's
                                poll_start_ns (one clock read per poll), so
                                "idle since" measured from it includes the
                                poll's own duration; 0 if none returned */
    uint32_t state;               /* TRT_TASK_* */
    int32_t tid;                  /* polling thread while state == POLLING */
    uint32_t pending_gen;         /* generation this task still owes, 0 if none */
    uint32_t traced_gen;          /* last generation it was traced in */
    uint32_t traced_records;      /* records its last traced poll wrote */
    uint32_t flags;               /* TRT_TASK_F_* */
    char name[TRT_TASK_NAME_MAX]; /* NUL-terminated unless corrupt */
    uint64_t spawn_pc;            /* valid with TRT_TASK_F_SPAWN_PC: a return
                                address in the code that created the task
                                (the caller of trt_traced_new, or the
                                address given to trt_traced_new_at) */
};

_Static_assert(offsetof(struct trt_task_slot, state) == 40, "protocol");
_Static_assert(offsetof(struct trt_task_slot, pending_gen) == 48, "protocol");
_Static_assert(offsetof(struct trt_task_slot, name) == 64, "protocol");
_Static_assert(offsetof(struct trt_task_slot, spawn_pc) == 120, "protocol");
_Static_assert(sizeof(struct trt_task_slot) == 128, "protocol");

#define TRT_REGISTRY_CHUNK_SLOTS 4096u
#define TRT_REGISTRY_MAX_CHUNKS 1024u

/* The registry: slots in chunks of TRT_REGISTRY_CHUNK_SLOTS, allocated on
 * demand and never freed; chunks[0 .. nchunks) are valid. */
struct trt_registry {
    uint64_t magic;       /* TRT_REGISTRY_MAGIC */
    uint32_t version;     /* TRT_PROTOCOL_VERSION */
    uint32_t size;        /* sizeof(struct trt_registry) */
    uint32_t chunk_slots; /* TRT_REGISTRY_CHUNK_SLOTS */
    uint32_t slot_size;   /* sizeof(struct trt_task_slot) */
    uint32_t nchunks;     /* chunks published */
    uint32_t max_chunks;  /* TRT_REGISTRY_MAX_CHUNKS */
    uint64_t live;        /* registered tasks */
    uint64_t next_id;     /* next task id to hand out */
    uint64_t reserved[10];
    uint64_t chunks[TRT_REGISTRY_MAX_CHUNKS]; /* struct trt_task_slot * */
};

_Static_assert(offsetof(struct trt_registry, nchunks) == 24, "protocol");
_Static_assert(offsetof(struct trt_registry, live) == 32, "protocol");
_Static_assert(offsetof(struct trt_registry, chunks) == 128, "protocol");

#define TRT_RECORD_MAX_PCS 60

/* trt_record.flags */
#define TRT_RECORD_F_TRUNCATED 0x1u /* the stack was deeper than pc[] */
#define TRT_RECORD_F_WAKE 0x2u      /* captured in wake_by_ref, not clone */
#define TRT_RECORD_F_CHAIN \
    0x4u /* pc[npc .. npc + nchain) hold the poll
                                       functions of the futures polled
                                       through trt_future_poll on the way to
                                       this capture, outermost first (the
                                       task's own future first); nchain is
                                       flags bits 8..15 */
#define TRT_RECORD_CHAIN_SHIFT 8
#define TRT_RECORD_CHAIN_MAX 16 /* entries kept, the outermost */

/* One captured stack.  stamp is position + 1 once the record is whole and 0
 * while it is being written; a record is accepted only if its stamp equals
 * position + 1 both before and after its payload was copied. */
struct trt_record {
    uint64_t stamp;
    uint32_t gen;
    uint32_t npc; /* valid entries in pc[], <= TRT_RECORD_MAX_PCS */
    uint64_t task_id;
    uint32_t flags;                  /* TRT_RECORD_F_* */
    uint32_t check;                  /* trt_record_check() of the fields above and pc[] */
    uint64_t pc[TRT_RECORD_MAX_PCS]; /* return addresses, innermost first */
};

_Static_assert(offsetof(struct trt_record, task_id) == 16, "protocol");
_Static_assert(offsetof(struct trt_record, pc) == 32, "protocol");
_Static_assert(sizeof(struct trt_record) == 512, "protocol");

/* The number of chain entries after the PCs (TRT_RECORD_F_CHAIN), 0 when
 * there are none or the count does not fit the record. */
static inline uint32_t trt_record_nchain(const struct trt_record *r)
{
    if (!(r->flags & TRT_RECORD_F_CHAIN) || r->npc > TRT_RECORD_MAX_PCS)
        return 0;
    uint32_t n = (r->flags >> TRT_RECORD_CHAIN_SHIFT) & 0xffu;
    return n <= TRT_RECORD_CHAIN_MAX && n <= TRT_RECORD_MAX_PCS - r->npc ? n : 0;
}

/* The record's checksum: a 64-bit multiply-xor hash over gen, npc, task_id,
 * flags, the valid PCs and the chain entries, folded to 32 bits.  It
 * catches a payload torn by a writer that was lapped by the ring, which the
 * stamp alone cannot see.  A record without TRT_RECORD_F_CHAIN hashes as it
 * did before the chain existed. */
static inline uint32_t trt_record_check(const struct trt_record *r)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    uint32_t n = r->npc <= TRT_RECORD_MAX_PCS ? r->npc : TRT_RECORD_MAX_PCS;
    n += trt_record_nchain(r);
    h = (h ^ (((uint64_t)r->gen << 32) | r->npc)) * 0x100000001b3ull;
    h = (h ^ r->task_id) * 0x100000001b3ull;
    h = (h ^ r->flags) * 0x100000001b3ull;
    for (uint32_t i = 0; i < n; i++) {
        h = (h ^ r->pc[i]) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    return (uint32_t)(h ^ (h >> 32));
}

/* Whether R, a copy of the record at position POS, is whole: its stamp
 * says POS, its npc is in bounds and its checksum holds.  The test both
 * readers of the ring apply to what they copied (the runtime's raw dump,
 * libtargetrt/rawdump_ring.c, and the tool, target/records.c); each also
 * makes sure, its own way, that no writer changed the record during the
 * copy (docs/protocol.md, the ring). */
static inline bool trt_record_whole(const struct trt_record *r, uint64_t pos)
{
    return r->stamp == pos + 1 && r->npc <= TRT_RECORD_MAX_PCS && r->check == trt_record_check(r);
}

/* The ring: `capacity` records (a power of two) follow the header.  Writers
 * reserve positions with a fetch-add on `head`; position p lives in slot
 * p & (capacity - 1).  Records of generation `gen` are at positions
 * [gen_start, head). */
struct trt_ring {
    uint64_t magic;       /* TRT_RING_MAGIC */
    uint32_t version;     /* TRT_PROTOCOL_VERSION */
    uint32_t size;        /* sizeof(struct trt_ring), the records' offset */
    uint64_t capacity;    /* records, a power of two */
    uint32_t record_size; /* sizeof(struct trt_record) */
    uint32_t gen;         /* generation that gen_start belongs to */
    uint64_t gen_start;   /* first position of generation `gen` */
    uint64_t head;        /* next position to reserve */
    uint64_t users;       /* unused, 0: published rings are never unmapped,
                                so writers need no count */
    uint32_t released;    /* generation whose records' pages were given back */
    uint32_t reserved32;
    uint64_t reserved[8];
};

_Static_assert(offsetof(struct trt_ring, capacity) == 16, "protocol");
_Static_assert(offsetof(struct trt_ring, gen_start) == 32, "protocol");
_Static_assert(offsetof(struct trt_ring, head) == 40, "protocol");
_Static_assert(offsetof(struct trt_ring, released) == 56, "protocol");
_Static_assert(sizeof(struct trt_ring) == 128, "protocol");

/* The slot of position POS in a ring of CAPACITY records (a power of two). */
static inline uint64_t trt_ring_slot(uint64_t pos, uint64_t capacity)
{
    return pos & (capacity - 1);
}

/* The positions of a ring's generation still in it, from its header's
 * GEN_START, HEAD and CAPACITY (read once, by the caller): [*FIRST, HEAD),
 * the last CAPACITY of [GEN_START, HEAD).  Returns how many positions of
 * the generation were overwritten already (its records lost). */
static inline uint64_t trt_ring_gen_first(uint64_t gen_start, uint64_t head, uint64_t capacity,
                                          uint64_t *first)
{
    if (head - gen_start > capacity) {
        *first = head - capacity;
        return head - gen_start - capacity;
    }
    *first = gen_start;
    return 0;
}

#endif
