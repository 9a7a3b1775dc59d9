/* tasktrace runtime: the C waker / future ABI and traced tasks.
 *
 * A future is a struct whose first member is `trt_future`; an executor drives
 * it by calling its poll function with a context that lends it a waker.  The
 * waker is shaped like Rust's RawWaker (a data pointer and a pointer to a
 * table of four functions: clone, wake, wake_by_ref, drop), but the two are
 * not interchangeable as they are: this vtable holds C-ABI functions, and
 * Rust's RawWakerVTable holds Rust-ABI ones.  A bridge between the two
 * builds a vtable of its own on each side whose entries are shims (extern
 * "C" functions on the Rust side that call the Rust waker; Rust functions
 * that call through a trt_waker_vtable on the other), carrying the other
 * side's waker as the data pointer.
 *
 * The contract every future keeps:
 *   - A poll that returns TRT_PENDING has arranged to be woken: it cloned the
 *     context's waker (trt_waker_clone) to call later, called wake_by_ref on it,
 *     or arranged a wake some other way (that last case is invisible to dumps
 *     and is reported as a lost wake-up suspect).
 *   - The waker in a trt_context is borrowed for the duration of one poll call
 *     and must not be kept; keep a clone instead.
 *   - A future tolerates spurious polls: being polled when nothing it waits
 *     for has happened returns TRT_PENDING again.  A dump relies on this.
 *   - Every vtable function may be called from any thread, concurrently.
 *     The runtime's doorbell thread clones cached wakers while it holds
 *     the registry lock and the task's waker spin lock, so a waker's clone
 *     must not create or free traced tasks, nor poll the task; it wakes
 *     them (and drops those clones) with no lock held.
 *
 * Executors keep one contract: a wake (from any thread) leads to a later poll
 * of the task's top-level future, the one returned by trt_traced_new.
 *
 * Fork: a child inherits the parent's traced tasks (they stay valid and may
 * be polled and freed there) but not its doorbell thread; the child's
 * doorbell starts at its first trt_traced_new, never inside fork().  Until
 * then the child cannot be dumped.  Its inherited tasks are flagged
 * TRT_TASK_F_INHERITED and the control block's fork_ns says when the fork
 * happened, so a dump can tell inherited tasks that nothing polls since.
 */
#ifndef TASKTRACE_RT_H
#define TASKTRACE_RT_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TRT_BUILDING_LIBRARY)
#define TRT_EXPORT __attribute__((visibility("default")))
#else
#define TRT_EXPORT
#endif

/* The version of these headers, which is the package's version (configure
 * reads it from here).  Compare TRT_VERSION_NUMBER at compile time with
 * trt_version_number() at run time to learn which library was loaded. */
#define TRT_VERSION_MAJOR 0
#define TRT_VERSION_MINOR 1
#define TRT_VERSION_PATCH 0
#define TRT_VERSION_STRING "0.1.0"
#define TRT_VERSION_NUMBER \
    ((TRT_VERSION_MAJOR << 16) | (TRT_VERSION_MINOR << 8) | TRT_VERSION_PATCH)

/* Returns the version of the loaded library as a static string, such as
 * "0.1.0".  Thread-safe. */
TRT_EXPORT const char *trt_version(void);
/* Returns the version of the loaded library as (major << 16) | (minor << 8)
 * | patch, the form of TRT_VERSION_NUMBER.  Thread-safe. */
TRT_EXPORT unsigned trt_version_number(void);

typedef enum trt_poll { TRT_PENDING = 0, TRT_READY = 1 } trt_poll;

typedef struct trt_waker_vtable trt_waker_vtable;

typedef struct trt_waker {
    const void *data;
    const trt_waker_vtable *vtable;
} trt_waker;

struct trt_waker_vtable {
    /* Returns a new waker for the same task; the caller owns it. */
    trt_waker (*clone)(const void *data);
    /* Wakes the task and consumes the waker. */
    void (*wake)(const void *data);
    /* Wakes the task; the waker stays owned by the caller. */
    void (*wake_by_ref)(const void *data);
    /* Releases the waker without waking. */
    void (*drop)(const void *data);
};

/* Borrowed for one poll: `waker` is valid only until poll returns. */
typedef struct trt_context {
    const trt_waker *waker;
} trt_context;

typedef struct trt_future trt_future;
typedef trt_poll (*trt_poll_fn)(trt_future *self, trt_context *cx);

/* First member of every future struct. */
struct trt_future {
    trt_poll_fn poll;
};

/* Returns an owned clone of the borrowed waker `w`. */
TRT_EXPORT trt_waker trt_waker_clone(const trt_waker *w);
/* Wakes the task and consumes `w`. */
TRT_EXPORT void trt_waker_wake(trt_waker w);
/* Wakes the task; `w` stays owned by the caller. */
TRT_EXPORT void trt_waker_wake_by_ref(const trt_waker *w);
/* Releases `w` without waking. */
TRT_EXPORT void trt_waker_drop(trt_waker w);
/* True when `a` and `b` certainly wake the same task (same data and vtable);
 * false may be a false negative, never a false positive. */
TRT_EXPORT bool trt_waker_will_wake(const trt_waker *a, const trt_waker *b);
/* Polls `f` with the context `cx`; returns what its poll function returns.
 * Poll child futures through it rather than through `f->poll` directly:
 * under a dump it records each future it polls, so a future whose poll ends
 * in `return trt_future_poll(&inner, cx);` (a tail call, which leaves no
 * stack frame at -O2) still appears in the dump, marked [tail call].  A
 * future polled as `f->poll(f, cx)` is not recorded, and a tail call
 * through it loses its frame.  Outside a dump it costs one thread-local
 * load and a branch more than `f->poll(f, cx)`. */
TRT_EXPORT trt_poll trt_future_poll(trt_future *f, trt_context *cx);

/* Wraps `inner` as a traced task and registers it.  Returns the wrapper
 * future, which the executor polls in place of `inner`; NULL with errno set
 * (ENOMEM, or ENOSPC past the registry's limit) on failure.  `name` is copied
 * (the first 55 bytes are kept; NULL names the task "task").  `inner` stays
 * owned by the caller and must outlive the wrapper.  The first call starts
 * the runtime's doorbell thread, named "tasktrace"; if that thread cannot be
 * created (a thread limit), the task is still created and a later call
 * tries again.  Thread-safe. */
TRT_EXPORT trt_future *trt_traced_new(trt_future *inner, const char *name);

/* Where a task was spawned: trt_traced_new records its own return address
 * (an address in the function that called it, at no cost per poll) and a
 * dump shows it as the task's "spawned at FILE:LINE (FUNCTION)".  A caller
 * that ends in a tail call to trt_traced_new (`return trt_traced_new(...)`)
 * leaves no frame of its own, so the address is its caller's.  Glue that
 * creates tasks for others (an executor's spawn, a language binding) passes
 * its own caller's return address instead, with trt_traced_new_at, e.g.
 * __builtin_return_address(0) in C; NULL records no place.  Otherwise the
 * same as trt_traced_new. */
TRT_EXPORT trt_future *trt_traced_new_at(trt_future *inner, const char *name, const void *spawn_pc);

/* Unregisters and frees a wrapper returned by trt_traced_new, after it
 * returned TRT_READY or to cancel the task.  Must not race with a poll of the
 * same wrapper.  Drops the waker the wrapper kept.  A dump in flight stops
 * waiting for this task.  Thread-safe; NULL is ignored. */
TRT_EXPORT void trt_traced_free(trt_future *traced);

/* Returns the id of a traced task (never reused within a process), or 0 if
 * `traced` is not a wrapper returned by trt_traced_new. */
TRT_EXPORT unsigned long long trt_traced_id(const trt_future *traced);

/* ---------------------------------------------------------------------
 * Dumps from inside the process.
 *
 * The runtime can dump its own tasks, for hosts where no tasktrace-attach
 * runs or ptrace is not allowed.  It runs a dump generation as for the
 * tool and writes a raw dump: the document of `tasktrace-attach --json`
 * (docs/json.md) with "raw": true, whose frames have module, build_id,
 * offset and pc but function, file, line and column null (there is no
 * symbolizer in the process).  `tasktrace-attach --symbolize FILE`
 * symbolizes it on any machine that has the same binaries or their debug
 * files.  The runtime's doorbell thread writes every raw dump, with
 * poll(2) and write(2) (or the caller's sink), one at a time.
 *
 * Results: 0 when the dump was written complete, 1 when it was written
 * partial (tasks did not report within the timeout, records were lost:
 * its "problems" say what), or -errno when it could not be written
 * (the first error of write(2) or of the sink; -ETIMEDOUT when the fd
 * took nothing for 5 seconds, a pipe or terminal nobody reads: the dump is
 * given up rather than holding the doorbell thread).
 */

/* A destination for a raw dump: called on the doorbell thread with the
 * next `len` bytes of the document (in pieces of at most 8 KiB); returns
 * 0, or -errno to end the dump with that error.  It must not create,
 * free or poll tasks, nor ask for another dump. */
typedef int (*trt_dump_sink_fn)(void *arg, const char *buf, size_t len);

/* A future that dumps every task of the process, itself included, to the
 * file descriptor `fd` (which stays the caller's), waiting at most
 * timeout_ms for the tasks to report.  Await it from a task (on any
 * executor, single-threaded ones included: the task awaiting it reports
 * like any other), then read trt_dump_future_result and free it with
 * trt_dump_future_free.  Polling it the first time starts the dump.
 * NULL with errno set (EINVAL, ENOMEM) on failure. */
TRT_EXPORT trt_future *trt_dump_future_new(int fd, int timeout_ms);
/* The same, writing through `sink` instead of a file descriptor. */
TRT_EXPORT trt_future *trt_dump_future_new_sink(trt_dump_sink_fn sink, void *arg, int timeout_ms);
/* The result of a dump future that returned TRT_READY (see Results above);
 * -EINPROGRESS before, -EINVAL for a future that is not one. */
TRT_EXPORT int trt_dump_future_result(const trt_future *f);
/* Frees a dump future, ready or not.  A dump in progress is waited for
 * (the doorbell thread is writing into it): freed from a poll of a task
 * that owes that dump, for as long as the dump's timeout, since the task
 * cannot report meanwhile; free it once it returned TRT_READY instead.
 * A future inherited by a forked child is complete there, with
 * -ECANCELED.  NULL is ignored. */
TRT_EXPORT void trt_dump_future_free(trt_future *f);

/* Dumps every task to `fd` and returns when the dump is written, waiting
 * at most timeout_ms for the tasks to report (and at most a second more
 * for the doorbell thread to take the request).  For threads that poll no
 * task (a main thread, a watchdog): a task inside a poll on the calling
 * thread could never report, so called from a traced task's poll (or
 * from a sink, on the doorbell thread) it returns -EDEADLK at once; await
 * trt_dump_future_new there instead.  It cannot see a thread polling
 * futures that are not traced tasks: do not call it there.  Thread-safe;
 * see Results above, and -ETIMEDOUT if the doorbell thread did not run. */
TRT_EXPORT int trt_dump_write(int fd, int timeout_ms);

/* Hands the signal `signo` to the runtime: each time it arrives, the
 * doorbell thread writes a raw dump to `dest`, "stderr" or a path in
 * which %p stands for the process id, %t for the time (seconds since the
 * epoch) and %% for a percent sign.  The file is created anew, mode 0600,
 * never through a symbolic link and never over an existing file (the name
 * taken, ".1" to ".99" is appended).  The handler only asks for the dump
 * (async-signal-safe); signals that arrive while that dump is being made
 * are served by it.  Each dump waits at most 5 s for the tasks.  Only a
 * signal whose action is the default or "ignore" is taken (-EBUSY if the
 * program has a handler for it; -EINVAL for SIGKILL, SIGSTOP, SIGCHLD,
 * SIGPIPE and the signals of faults); it is installed with SA_RESTART.
 * Called again for the same signal, it changes `dest`; for another
 * signal, it gives the first one back.  `dest` NULL gives `signo` back
 * (its action before the first call).  Starts the doorbell thread.
 *
 * Without a call, the environment can hand a signal over when the first
 * traced task is created: TASKTRACE_SIGNAL=USR2 (a name, with or without
 * SIG, or a number) and TASKTRACE_DUMP=stderr or a path as above (stderr
 * if unset).  A value that cannot be used is said on stderr and ignored.
 * Returns 0 or -errno. */
TRT_EXPORT int trt_dump_on_signal(int signo, const char *dest);

#ifdef __cplusplus
}
#endif

#endif
