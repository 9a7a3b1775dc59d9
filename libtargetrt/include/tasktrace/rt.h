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
/* Polls `f` with the context `cx`; returns what its poll function returns. */
TRT_EXPORT trt_poll trt_future_poll(trt_future *f, trt_context *cx);

/* Wraps `inner` as a traced task and registers it.  Returns the wrapper
 * future, which the executor polls in place of `inner`; NULL with errno set
 * (ENOMEM, or ENOSPC past the registry's limit) on failure.  `name` is copied
 * (the first 63 bytes are kept; NULL names the task "task").  `inner` stays
 * owned by the caller and must outlive the wrapper.  The first call starts
 * the runtime's doorbell thread, named "tasktrace"; if that thread cannot be
 * created (a thread limit), the task is still created and a later call
 * tries again.  Thread-safe. */
TRT_EXPORT trt_future *trt_traced_new(trt_future *inner, const char *name);

/* Unregisters and frees a wrapper returned by trt_traced_new, after it
 * returned TRT_READY or to cancel the task.  Must not race with a poll of the
 * same wrapper.  Drops the waker the wrapper kept.  A dump in flight stops
 * waiting for this task.  Thread-safe; NULL is ignored. */
TRT_EXPORT void trt_traced_free(trt_future *traced);

/* Returns the id of a traced task (never reused within a process), or 0 if
 * `traced` is not a wrapper returned by trt_traced_new. */
TRT_EXPORT unsigned long long trt_traced_id(const trt_future *traced);

#ifdef __cplusplus
}
#endif

#endif
