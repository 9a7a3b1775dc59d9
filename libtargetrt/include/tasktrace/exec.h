/* tasktrace reference executor: a single-threaded, epoll-based executor with
 * the leaf futures, channels and combinators that the examples and tests are
 * built from.  It uses only the public API of <tasktrace/rt.h>, so it is also
 * a worked example of how any executor adopts tasktrace.
 *
 * Conventions:
 *   - Functions return 0 or a negative errno; functions returning a pointer
 *     give NULL with errno set.
 *   - Futures are caller-allocated structs: `_init` prepares one, and `_drop`
 *     releases what it holds (a waker clone, an epoll registration, a
 *     timerfd).  A leaf releases everything itself when it returns
 *     TRT_READY, so `_drop` is needed only to abandon a future early; calling
 *     it after TRT_READY, or twice, is harmless.  Fields marked private must
 *     not be touched; fields marked public may be read after TRT_READY.
 *   - Everything runs on the thread that runs the executor unless a
 *     declaration says it is thread-safe.  Leaves must be polled only by
 *     tasks of the executor they were initialized with, and dropped before
 *     that executor is freed.
 *   - Poll functions are real, non-inlined functions with stable names
 *     (trt_pending_poll, trt_sleep_poll, trt_fd_readable_poll,
 *     trt_fd_writable_poll, trt_oneshot_recv_poll, trt_chan_recv_poll,
 *     trt_join_poll, trt_select_poll), so a task dump names what each task
 *     is waiting on.  Every receive's poll function has `recv` in its name.
 *
 * Fork: a child gets a copy of every executor, its tasks and leaves, but
 * only the thread that called fork().  An executor that was running on that
 * thread (fork() called from inside a poll) or not running at all may go on
 * in the child, on that thread; one that was running on another thread
 * stays marked running in the child (trt_exec_run returns -EBUSY) and must
 * only be freed there, or left alone.  The epoll instance and the eventfd
 * are never shared with the parent: the child's first use of an executor's
 * epoll (a wait, a leaf registering or dropping an fd) replaces them with
 * its own, keeping their descriptor numbers, and registers the pending
 * leaves' fds again, so the parent's wakes, I/O and dumps are not taken by
 * the child.  The fds the leaves wait on are the program's and stay shared
 * as fork() shares them (a timerfd fires in both).  The tasks the child
 * inherits are marked so in a dump (see the runtime's fork note in
 * <tasktrace/rt.h>).
 */
#ifndef TASKTRACE_EXEC_H
#define TASKTRACE_EXEC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tasktrace/rt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ executor */

typedef struct trt_exec trt_exec;

/* Called once per spawned task on the executor's thread: with status 0 after
 * the task's future returned TRT_READY, or with -ECANCELED when
 * trt_exec_free discards an unfinished task.  The task's traced wrapper is
 * already freed, so the callback may free the future and `arg`.  It may spawn
 * tasks; it must not free or run the executor. */
typedef void (*trt_exec_done_fn)(void *arg, int status);

/* Returns a new executor, or NULL with errno set (ENOMEM, or the error of
 * epoll_create1 / eventfd).  The caller owns it and frees it with
 * trt_exec_free. */
TRT_EXPORT trt_exec *trt_exec_new(void);

/* Cancels the tasks still spawned (each gets on_done(arg, -ECANCELED)),
 * then frees the executor.  Wakers of its tasks that other threads still
 * hold stay valid: waking them does nothing, and the last drop frees what
 * remains.  Not while the executor runs; NULL is ignored. */
TRT_EXPORT void trt_exec_free(trt_exec *ex);

/* Spawns `fut` as a traced task named `name` (see trt_traced_new: copied,
 * NULL names it "task").  The executor polls the task's traced wrapper, not
 * `fut` itself; `fut` stays owned by the caller and must live until
 * `on_done` (which may be NULL) is called.  Call it on the executor's thread,
 * before trt_exec_run or from inside a poll or an on_done callback.  Returns
 * 0, -EINVAL for a NULL argument, or the error of trt_traced_new (-ENOMEM,
 * -ENOSPC).  The task's spawn place (trt_traced_new_at) is the caller of
 * trt_exec_spawn, or of trt_exec_block_on. */
TRT_EXPORT int trt_exec_spawn(trt_exec *ex, trt_future *fut, const char *name,
                              trt_exec_done_fn on_done, void *arg);

/* Runs tasks on the calling thread until none is left; tasks that never
 * finish keep it running forever.  Returns 0, -EBUSY if the executor is
 * already running (a poll called it), or -errno if epoll_wait fails (or, in
 * a forked child, making the child's own epoll instance does: see Fork). */
TRT_EXPORT int trt_exec_run(trt_exec *ex);

/* Spawns `fut` as a task named `name` and runs the executor until that task
 * finishes; other tasks may remain, and run again at the next run or
 * block_on.  `fut` is the caller's and is done when this returns 0.  Returns
 * 0, or the errors of trt_exec_spawn and trt_exec_run; on error the task is
 * cancelled. */
TRT_EXPORT int trt_exec_block_on(trt_exec *ex, trt_future *fut, const char *name);

/* Private: the part of a leaf that the executor's epoll loop reports to.
 * epoll's data pointer is this struct; the executor ORs the reported events
 * into `revents` and wakes `waker` (vtable NULL when none). */
typedef struct trt_exec_io {
    trt_waker waker;
    uint32_t revents;
} trt_exec_io;

/* ------------------------------------------------------------ leaves */

/* Pending forever: keeps a clone of the waker and never completes.  The
 * simplest leaf that honours the waker contract; a dump shows it. */
typedef struct trt_pending {
    trt_future base; /* poll == trt_pending_poll */
    trt_waker waker; /* private */
} trt_pending;

TRT_EXPORT void trt_pending_init(trt_pending *p);
/* Drops the kept waker clone. */
TRT_EXPORT void trt_pending_drop(trt_pending *p);

/* Sleep: ready `ns` nanoseconds (CLOCK_MONOTONIC) after trt_sleep_init.  The
 * first pending poll arms a timerfd watched by the executor's epoll. */
typedef struct trt_sleep {
    trt_future base; /* poll == trt_sleep_poll */
    int err;         /* public: 0, or -errno if the timer failed (ready early) */
    trt_exec *ex;    /* private from here on */
    uint64_t deadline_ns;
    int tfd;
    trt_exec_io io;
} trt_sleep;

TRT_EXPORT void trt_sleep_init(trt_sleep *s, trt_exec *ex, uint64_t ns);
/* Closes the timerfd and drops the waker clone. */
TRT_EXPORT void trt_sleep_drop(trt_sleep *s);

/* Readiness of a file descriptor: ready once epoll reports the fd readable
 * (trt_fd_readable_init: EPOLLIN, which includes end of file) or writable
 * (trt_fd_writable_init: EPOLLOUT).  Errors and hang-ups also make it ready;
 * the following read or write reports them.  The fd is registered with the
 * executor's epoll while the future is pending and deregistered when it is
 * ready or dropped, so an fd has one waiting future at a time (epoll keeps
 * one registration per fd): await readable and writable one after the other,
 * not both at once.  The fd stays owned by the caller and must stay open
 * while a future waits on it; it should be non-blocking. */
typedef struct trt_fd_wait {
    trt_future base;  /* poll == trt_fd_readable_poll or trt_fd_writable_poll */
    int err;          /* public: 0, or -errno if epoll_ctl failed */
    uint32_t revents; /* public: the epoll events that made it ready */
    trt_exec *ex;     /* private from here on */
    int fd;
    bool registered;
    trt_exec_io io;
} trt_fd_wait;

TRT_EXPORT void trt_fd_readable_init(trt_fd_wait *w, trt_exec *ex, int fd);
TRT_EXPORT void trt_fd_writable_init(trt_fd_wait *w, trt_exec *ex, int fd);
/* Deregisters the fd and drops the waker clone. */
TRT_EXPORT void trt_fd_wait_drop(trt_fd_wait *w);

/* ------------------------------------------------------------ channels */

/* Oneshot channel: one value, sent once from any thread.  The oneshot is
 * itself the receiving future: polling it is ready once a value was sent,
 * and the value is then in `value`.  One task receives. */
typedef struct trt_oneshot {
    trt_future base;      /* poll == trt_oneshot_recv_poll */
    void *value;          /* public: the value sent */
    pthread_mutex_t lock; /* private from here on */
    bool sent;
    trt_waker waker;
} trt_oneshot;

TRT_EXPORT void trt_oneshot_init(trt_oneshot *o);
/* Stores `value` and wakes the receiver.  Returns 0, or -EALREADY if a value
 * was already sent.  Thread-safe. */
TRT_EXPORT int trt_oneshot_send(trt_oneshot *o, void *value);
/* Drops the receiver's waker clone and destroys the lock.  No send may run
 * concurrently or follow. */
TRT_EXPORT void trt_oneshot_drop(trt_oneshot *o);

/* Multi-producer, single-consumer channel of pointers, FIFO.  Sends come
 * from any thread; one task receives with trt_chan_recv futures, one at a
 * time.  Pass integers through uintptr_t. */
typedef struct trt_chan {
    pthread_mutex_t lock; /* private */
    void **buf;
    size_t size, head, len, capacity;
    bool closed;
    trt_waker rx_waker;
} trt_chan;

/* Prepares an empty channel holding at most `capacity` values, or any number
 * when `capacity` is 0.  Returns 0 or -ENOMEM. */
TRT_EXPORT int trt_chan_init(trt_chan *c, size_t capacity);
/* Queues `value` and wakes the receiver.  Returns 0, -EAGAIN if the channel
 * is full, -EPIPE if it is closed, or -ENOMEM.  Thread-safe. */
TRT_EXPORT int trt_chan_send(trt_chan *c, void *value);
/* Closes the channel: later sends fail with -EPIPE, and the receiver gets
 * the values still queued, then -EPIPE.  Wakes the receiver.  Thread-safe;
 * closing twice is harmless. */
TRT_EXPORT void trt_chan_close(trt_chan *c);
/* Frees the queue and drops the receiver's waker clone.  No send, close or
 * receive may run concurrently or follow. */
TRT_EXPORT void trt_chan_drop(trt_chan *c);

/* One receive from a trt_chan: ready with the oldest value in `value` and
 * `err` 0, or with `err` -EPIPE once the channel is closed and empty.  Its
 * poll function is trt_chan_recv_poll.  To receive again, init it again. */
typedef struct trt_chan_recv {
    trt_future base; /* poll == trt_chan_recv_poll */
    void *value;     /* public */
    int err;         /* public */
    trt_chan *chan;  /* private */
} trt_chan_recv;

/* `c` must outlive the receive. */
TRT_EXPORT void trt_chan_recv_init(trt_chan_recv *r, trt_chan *c);
/* Abandons a pending receive: drops the waker clone it left in the channel. */
TRT_EXPORT void trt_chan_recv_drop(trt_chan_recv *r);

/* ------------------------------------------------------------ combinators */

/* Join: ready when all `n` children are.  Each poll polls every child not
 * yet ready, in order, from one call site, passing the context through; a
 * dump therefore shows one trt_join_poll frame branching to the children.
 * `children` and `done` (n flags, set by init) are the caller's and must
 * outlive the join; so must the children, which the caller drops. */
typedef struct trt_join {
    trt_future base;       /* poll == trt_join_poll */
    trt_future **children; /* private from here on */
    bool *done;
    size_t n, left;
} trt_join;

TRT_EXPORT void trt_join_init(trt_join *j, trt_future **children, bool *done, size_t n);

/* Select: ready when any of the `n` children is, polling them in order and
 * stopping at the first ready one, whose position is then in `index`.  The
 * others are left pending and still hold wakers: the caller drops them.
 * `children` is the caller's and must outlive the select.  n must be > 0. */
typedef struct trt_select {
    trt_future base;       /* poll == trt_select_poll */
    size_t index;          /* public */
    trt_future **children; /* private from here on */
    size_t n;
} trt_select;

TRT_EXPORT void trt_select_init(trt_select *s, trt_future **children, size_t n);

/* The poll functions, for callers that embed these futures and want to poll
 * them directly; trt_future_poll(&x.base, cx) is equivalent. */
TRT_EXPORT trt_poll trt_pending_poll(trt_future *f, trt_context *cx);
TRT_EXPORT trt_poll trt_sleep_poll(trt_future *f, trt_context *cx);
TRT_EXPORT trt_poll trt_fd_readable_poll(trt_future *f, trt_context *cx);
TRT_EXPORT trt_poll trt_fd_writable_poll(trt_future *f, trt_context *cx);
TRT_EXPORT trt_poll trt_oneshot_recv_poll(trt_future *f, trt_context *cx);
TRT_EXPORT trt_poll trt_chan_recv_poll(trt_future *f, trt_context *cx);
TRT_EXPORT trt_poll trt_join_poll(trt_future *f, trt_context *cx);
TRT_EXPORT trt_poll trt_select_poll(trt_future *f, trt_context *cx);

#ifdef __cplusplus
}
#endif

#endif
