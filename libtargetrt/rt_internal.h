/* libtargetrt internals shared by its modules.  Not installed.
 *
 * The runtime's files, each with one job, listed from the top (the public
 * API) down.  A file calls only files listed below it, never one above, so
 * reading them in this order meets no back-reference:
 *
 *   traced.c      the public traced-task API: the wrapper future, its normal
 *                 and its tracing poll, trt_traced_new / _free / _id
 *   selfdump.c    the public API of dumps from inside the process: the dump
 *                 future, trt_dump_write, trt_dump_on_signal
 *   fork.c        the pthread_atfork handlers: what a fork does to the
 *                 doorbell, the registry and the control block
 *   doorbell.c    the doorbell thread: starting it (and publishing why it
 *                 could not start), its wait for requests, the linger after
 *                 a generation and the giving back of the ring's pages
 *   dumpreq.c     requests for dumps from inside: their queue, the signal
 *                 handler and TASKTRACE_SIGNAL, the doorbell's serving
 *   dumpdest.c    a signal's dump destination: its template checked,
 *                 expanded, opened through no link, removed if it failed
 *   rawdump.c     the raw dump: a generation written as unsymbolized JSON,
 *                 its parts (rawdump.h) in the four files below
 *   rawdump_stacks.c   a task's stacks in it: its records found in the
 *                 ring, identical stacks listed once and counted
 *   rawdump_modules.c  its module table (dl_iterate_phdr, build ids read in
 *                 memory) and the frames that name a module
 *   rawdump_ring.c     its reader of the ring: records copied whole the
 *                 way the tool copies them, in place, lock-free
 *   rawdump_writer.c   its bounded output (a buffer to a sink, or to a
 *                 descriptor through trt__write_bounded) and JSON pieces
 *   generation.c  dump generations: starting one (marking and waking every
 *                 live task), counting the tasks that still owe it,
 *                 publishing `done`; the in-process request used by tests
 *   capture.c     the ring's lifetime (mapped ahead, swapped for a larger
 *                 one, never unmapped once published) and the stack capture
 *                 into it
 *   stackwalk.c   the capture's stack walk: DWARF CFI rules interpreted
 *                 once per address and generation, kept in a fixed table
 *   registry.c    the registry of live tasks and its mutex
 *   task.c        a task's cached waker and the spin lock that guards it
 *   ring.c        the ring as a data structure (ring.h)
 *   control.c     the exported control block and the thread-id cache
 *   waker.c       the ABI's helpers, thin calls through a vtable, and the
 *                 chain of polled futures kept under a dump generation
 *
 * exec/ (the reference executor) uses only the public headers.
 */
#ifndef TRT_RT_INTERNAL_H
#define TRT_RT_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <tasktrace/clock.h>
#include <tasktrace/protocol.h>
#include <tasktrace/rt.h>

/* Relaxed atomic access to protocol fields that another thread, or a process
 * outside, may read at any moment.  On the platforms we support these are
 * plain loads and stores. */
#define TRT_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define TRT_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* A function the tool finds by name (the TRT_FN_* contract in protocol.h):
 * never inlined, and never cloned by the optimizer under another name
 * (GCC's .isra / .constprop copies), so its frames carry exactly that name.
 * tests/unit/test_contract.c checks the built library. */
#if defined(__has_attribute)
#if __has_attribute(noclone)
#define TRT_NAMED_FRAME __attribute__((noinline, noclone))
#endif
#endif
#ifndef TRT_NAMED_FRAME
#define TRT_NAMED_FRAME __attribute__((noinline))
#endif

/* ------------------------------------------------------------ waker.c */

/* The futures polled through trt_future_poll on this thread, on the path
 * from the traced task's own future down to the poll in progress: a wrapper
 * whose poll ends in `return trt_future_poll(&inner, cx)` is compiled into
 * a jump, and leaves no frame for a capture to unwind; this chain still
 * names it.  Kept only while a traced poll runs (traced.c points
 * trt__chain_cur at one on its stack), so a normal poll pays one load and
 * one branch.  fn[0 .. min(depth, TRT_RECORD_CHAIN_MAX)) are poll
 * functions, outermost first. */
struct trt__chain {
    uint32_t depth;
    uint64_t fn[TRT_RECORD_CHAIN_MAX];
};

extern __thread struct trt__chain *trt__chain_cur __attribute__((tls_model("initial-exec")));

/* ------------------------------------------------------------ control.c */

extern struct trt_control tasktrace_control;

/* The calling thread's kernel id, cached per thread (initial-exec TLS, so
 * reading it is one load). */
extern __thread pid_t trt__tid_cache __attribute__((tls_model("initial-exec")));

static inline pid_t trt__tid(void)
{
    if (trt__tid_cache == 0)
        trt__tid_cache = trt_gettid();
    return trt__tid_cache;
}

/* CLOCK_MONOTONIC in nanoseconds, coarse (one tick) resolution, no syscall. */
static inline uint64_t trt__now_coarse_ns(void)
{
    return trt_clock_ns(CLOCK_MONOTONIC_COARSE);
}

/* ------------------------------------------------------------ task.c */

/* A traced task: the wrapper future returned by trt_traced_new. */
struct trt__task {
    trt_future base; /* poll == trt__traced_poll */
    trt_future *inner;
    struct trt_task_slot *slot;
    uint32_t index;   /* slot index in the registry */
    atomic_flag lock; /* guards `waker` (task.c) */
    trt_waker waker;  /* clone of the last poll's waker; vtable NULL if none */
};

/* Keeps a clone of `w` as the task's cached waker and drops the one it
 * replaces.  The clone and the drop run outside the spin lock. */
void trt__task_waker_set(struct trt__task *t, const trt_waker *w);
/* Stores a clone of the cached waker in *out; false if there is none.  The
 * waker's clone runs under the spin lock. */
bool trt__task_waker_clone(struct trt__task *t, trt_waker *out);
/* Takes and releases the spin lock alone: fork.c holds every task's lock
 * across fork() so that no child inherits one locked. */
void trt__task_lock(struct trt__task *t);
void trt__task_unlock(struct trt__task *t);

/* ------------------------------------------------------------ registry.c */

/* add/remove take the registry mutex; add returns 0 or -errno.  A
 * spawn_pc of 0 leaves the slot without one (no TRT_TASK_F_SPAWN_PC). */
int trt__registry_add(struct trt__task *t, const char *name, uint64_t spawn_pc);
/* Removes `t` and returns the generation it still owed (0 if none). */
uint32_t trt__registry_remove(struct trt__task *t);
uint64_t trt__registry_live(void);
struct trt_registry *trt__registry_get(void);
/* Calls fn(t, arg) for each registered task whose slot index is at least
 * *cursor, in index order, under the registry mutex, until fn returns false
 * (the walk stops before the next task; *cursor is left at that task, so a
 * later call resumes there) or every task was visited (*cursor is then
 * UINT32_MAX).  fn must not call back into the registry. */
void trt__registry_walk(uint32_t *cursor, bool (*fn)(struct trt__task *t, void *arg), void *arg);
/* Fork: prepare takes the mutex and every task's waker lock; parent and
 * child release them.  The child's handler also marks every live task
 * TRT_TASK_F_INHERITED and returns how many there were. */
void trt__registry_atfork_prepare(void);
void trt__registry_atfork_parent(void);
uint64_t trt__registry_atfork_child(void);

/* ------------------------------------------------------------ capture.c */

/* Maps (ahead of any dump) a spare ring large enough for `live` tasks if
 * neither the current ring nor the spare one is.  Called when tasks are
 * created and when the doorbell starts, never during a dump.  0 or -errno;
 * a failure only leaves the next generation to try again. */
int trt__capture_reserve(uint64_t live);
/* Start of generation `gen` (doorbell thread): makes the current ring large
 * enough for `live` tasks (the spare ring if there is one, otherwise one
 * mmap), starts the generation in it and publishes ring_errno /
 * ring_errno_gen.  A ring that could not be enlarged keeps serving. */
void trt__capture_begin_gen(uint32_t gen, uint64_t live);
/* Gives the pages of the current ring's records (if its generation is `gen`)
 * and of every retired ring back to the system (doorbell thread), after
 * mapping ahead a spare ring as large as generation `gen` showed the next
 * dump needs (within the memory cap).  Returns 0 or the -errno of a refused
 * mmap of the give-back; the pages then stay, nothing else changes. */
int trt__capture_give_back(uint32_t gen);
/* Records the caller's stack for task `id` in generation `gen` into the
 * current ring.  Returns 0, or -ENOSPC if it overwrote a record of the same
 * generation, or -ENOMEM without a ring.  Named by TRT_FN_CAPTURE. */
int trt__capture(uint32_t gen, uint64_t id, uint32_t flags);
/* Fork: the ring mutex is held across fork(). */
void trt__capture_atfork_prepare(void);
void trt__capture_atfork_release(void);

/* ---------------------------------------------------------- stackwalk.c */

/* Stores the return addresses of the caller's stack, innermost first (the
 * caller's own frame first, as backtrace() does), at most `max`; returns
 * how many, like backtrace().  Rules are cached for generation `gen`.
 * Returns -ENOTSUP when a frame's CFI is not of the kinds the walk models
 * and -ENOSYS where it cannot run at all: the caller uses backtrace(). */
int trt__stackwalk(uint64_t *pcs, int max, uint32_t gen);

/* ------------------------------------------------------------ dumpreq.c */

/* Where one raw dump goes: sink(arg, ...) if sink is set, else fd. */
struct trt__dump_dest {
    int fd;
    trt_dump_sink_fn sink;
    void *arg;
};

/* trt__dumpreq.state, a futex word. */
enum { TRT__REQ_IDLE = 0, TRT__REQ_QUEUED = 1, TRT__REQ_TAKEN = 2, TRT__REQ_DONE = 3 };

/* One request for a dump from inside, in its owner's memory.  The owner
 * fills dest and timeout_ms; the rest belongs to dumpreq.c. */
struct trt__dumpreq {
    struct trt__dumpreq *next;
    struct trt__dump_dest dest;
    uint32_t timeout_ms; /* longest wait for the tasks to report */
    uint32_t state;      /* TRT__REQ_* */
    int result;          /* once DONE: 0 complete, 1 partial, or -errno */
    trt_waker waker;     /* woken once DONE; vtable NULL if none */
};

/* What the doorbell takes before a generation: the queued requests and,
 * if the signal came, a copy of its destination. */
struct trt__dumpbatch {
    struct trt__dumpreq *list;
    bool signal;
    char sig_dest[4096];
};

/* Queues r and requests a generation. */
void trt__dumpreq_submit(struct trt__dumpreq *r);
/* Keeps a clone of w, woken when r completes (at once if it has). */
void trt__dumpreq_set_waker(struct trt__dumpreq *r, const trt_waker *w);
uint32_t trt__dumpreq_state(struct trt__dumpreq *r);
/* Waits for r to complete; a request still queued at deadline_ns
 * (CLOCK_MONOTONIC) is withdrawn with -ETIMEDOUT.  Returns r's result. */
int trt__dumpreq_wait(struct trt__dumpreq *r, uint64_t deadline_ns);
/* Withdraws r (or waits while the doorbell serves it) and drops its waker. */
void trt__dumpreq_cancel(struct trt__dumpreq *r);
/* Doorbell: a request is queued or the signal came. */
bool trt__dumpreq_pending(void);
/* Doorbell, just before starting a generation: takes every request. */
void trt__dumpreq_take(struct trt__dumpbatch *b);
/* Doorbell, just after: waits for the generation (each request as long
 * as its timeout), writes the dumps, completes the requests. */
void trt__dumpreq_serve(struct trt__dumpbatch *b, uint32_t gen);
/* Hands signo to the runtime (dest "stderr" or a path template), or with
 * dest NULL gives it back.  0 or -errno: -EBUSY if the program has a
 * handler for it, -EINVAL for a signal that cannot serve, and the errors
 * of trt__dest_check for a destination refused. */
int trt__dumpreq_signal(int signo, const char *dest);
/* TASKTRACE_SIGNAL and TASKTRACE_DUMP, read when the doorbell starts. */
void trt__dumpreq_env(void);
/* Fork: the request mutex is held across fork(); the child completes
 * every inherited request with -ECANCELED (see dumpreq.c). */
void trt__dumpreq_atfork_prepare(void);
void trt__dumpreq_atfork_parent(void);
void trt__dumpreq_atfork_child(void);

/* ------------------------------------------------------------ dumpdest.c */

/* One opened destination of a signal's dump. */
struct trt__dest_file {
    int fd;              /* where the dump goes */
    int dirfd;           /* its directory, -1 for stdout/stderr */
    bool created;        /* fd is a file this dump created */
    char path[PATH_MAX]; /* the expanded path, "" for stdout/stderr */
};

/* Checks a destination template ("stderr" or a path with %p, %t, %%)
 * when it is handed over: 0, -EINVAL (empty, or % followed by anything
 * else), -EISDIR (ends in '/'), -ENAMETOOLONG (too long once expanded). */
int trt__dest_check(const char *tmpl);
/* Expands tmpl and opens it through no symbolic link (dumpdest.c says
 * how).  0 with f filled, or -errno: -ELOOP for a link in the path, -ENXIO
 * for a FIFO without a reader, -EPERM for another user's FIFO, -EEXIST if
 * every name was taken. */
int trt__dest_open(const char *tmpl, struct trt__dest_file *f);
/* Closes f; with err < 0 (the dump failed) removes the file it created.
 * Returns err, or the close's -errno if err was 0. */
int trt__dest_close(struct trt__dest_file *f, int err);

/* ---------------------------------------------------- rawdump_writer.c */

/* Writes all of BUF to FD, waiting for it to be writable (poll) and
 * writing at most PIPE_BUF at once, until CLOCK_MONOTONIC deadline_ns:
 * never blocked for longer by a reader that stopped reading.  Returns 0,
 * -ETIMEDOUT or -errno.  Async-signal-safe (poll, write and the vDSO's
 * clock only), though no signal handler calls it.  The raw dump's other
 * parts are declared in rawdump.h. */
int trt__write_bounded(int fd, const char *buf, size_t len, uint64_t deadline_ns);

/* ------------------------------------------------------------ rawdump.c */

/* Writes the raw dump of generation gen (doorbell thread only); waited_ms
 * is how long the tasks were waited for.  0 if complete, 1 if partial,
 * -errno if it could not be written whole. */
int trt__rawdump_write(uint32_t gen, uint64_t waited_ms, const struct trt__dump_dest *dest);

/* ------------------------------------------------------------ generation.c */

/* Starts generation `gen` (doorbell thread): marks every live task as owing
 * it and wakes each through its cached waker. */
void trt__gen_start(uint32_t gen);
/* A task owing `gen` was traced, completed or freed. */
void trt__gen_finish_one(uint32_t gen);
/* Requests a generation from inside the process (dumpreq.c, the doorbell,
 * tests, bench) and wakes the doorbell; returns the generation that will
 * serve it.  A request already pending, a tool's or ours, is left as it
 * is; otherwise the word becomes the least even value past active
 * (trt_gen_inner_next), which no tool picks: a tool's are odd
 * (protocol.h).  Lock-free and async-signal-safe. */
uint32_t trt__dump_request(void);
/* Whether generation `gen` is even and was the last one requested from
 * inside: the doorbell takes any other request for a tool's. */
bool trt__gen_inner(uint32_t gen);
/* Waits up to timeout_ms for done >= gen; 0, or -ETIMEDOUT. */
int trt__dump_wait(uint32_t gen, int timeout_ms);

/* ------------------------------------------------------------ doorbell.c */

/* Starts the doorbell thread if this process has none.  0 or -errno; a
 * failure is published in doorbell_errno / doorbell_fails and the next call
 * (at most every DOORBELL_RETRY_NS) tries again. */
int trt__doorbell_ensure(void);
/* Fork: the start mutex is held across fork(); in the child the doorbell
 * is marked not started (it starts at the child's next trt_traced_new). */
void trt__doorbell_atfork_prepare(void);
void trt__doorbell_atfork_parent(void);
void trt__doorbell_atfork_child(void);

/* ------------------------------------------------------------ fork.c */

/* Registers the fork handlers once.  0 or -errno. */
int trt__fork_init(void);

/* ------------------------------------------------------------ traced.c */

/* The wrapper's poll (TRT_FN_TRACED_POLL). */
trt_poll trt__traced_poll(trt_future *f, trt_context *cx);

#endif
