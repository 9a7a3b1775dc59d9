/* The reference executor: one thread polls tasks from a ready queue and
 * sleeps in epoll_wait when there is none.  Wakes may come from any thread
 * (the runtime's doorbell thread wakes every task during a dump): they take
 * the queue's mutex and, when the queue was empty and the waker is not the
 * executor's own thread, write an eventfd that the epoll set watches.
 *
 * Fork: a child shares the parent's epoll instance and eventfd (the same
 * open files), so a child that went on waiting on them would take the
 * parent's events and kicks, and a registration it removed would be the
 * parent's.  Each executor therefore notes the fork epoch it was made in;
 * in a child (a fork handler advances the epoch) its first use of epoll
 * re-creates the epoll instance and the eventfd and registers again every
 * fd its leaves wait on, before it touches the shared ones in any way. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "exec_internal.h"

/* A spawned task.  The waker's data is this handle, refcounted: the executor
 * holds one reference until the task finishes and every waker clone holds
 * one, so a wake after the task finished finds the handle alive and does
 * nothing. */
struct trt__exec_task {
    atomic_size_t refs;
    trt_exec *ex;
    trt_future *traced; /* the wrapper; NULL once finished */
    trt_exec_done_fn on_done;
    void *arg;
    struct trt__exec_task *live_prev, *live_next; /* executor thread only */
    struct trt__exec_task *ready_next;            /* under ex->lock */
    bool queued;                                  /* under ex->lock */
    bool done;                                    /* under ex->lock */
};

/* One fd the executor's epoll watches for a leaf: indexed by fd. */
struct io_reg {
    trt_exec_io *io; /* NULL when the fd is not registered */
    uint32_t events;
};

/* Refcounted too: one reference for the owner and one per task handle, so a
 * waker held by another thread can still take the lock after
 * trt_exec_free. */
struct trt_exec {
    atomic_size_t refs;
    int epfd, efd;
    unsigned fork_epoch; /* the fork epoch epfd and efd belong to */
    struct io_reg *regs; /* executor thread only */
    size_t nregs;
    bool running;
    size_t live;
    struct trt__exec_task *live_head; /* executor thread only */
    pthread_mutex_t lock;             /* guards what follows and task->queued/done */
    struct trt__exec_task *ready_head, *ready_tail;
    bool closed;
};

/* The executor running on this thread, if any: its own wakes need no
 * eventfd, since it looks at the queue before it sleeps. */
static __thread trt_exec *current;

/* Advanced in every child by the fork handler registered below. */
static atomic_uint fork_epoch;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void atfork_child(void)
{
    atomic_fetch_add_explicit(&fork_epoch, 1, memory_order_relaxed);
}

static void fork_init(void)
{
    /* Without the handler a child keeps the shared epoll; nothing else. */
    (void)pthread_atfork(NULL, NULL, atfork_child);
}

/* Makes a new epoll instance and eventfd, the eventfd registered.  0 or
 * -errno; on error nothing is left open. */
static int epoll_make(int *epfd, int *efd)
{
    int err;
    *epfd = epoll_create1(EPOLL_CLOEXEC);
    if (*epfd < 0)
        return -errno;
    *efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (*efd < 0) {
        err = -errno;
        goto fail;
    }
    /* A NULL data pointer marks the eventfd among the leaves' trt_exec_io. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(*epfd, EPOLL_CTL_ADD, *efd, &ev) < 0) {
        err = -errno;
        close(*efd);
        goto fail;
    }
    return 0;
fail:
    close(*epfd);
    *epfd = *efd = -1;
    return err;
}

/* In a child forked since the executor's epoll was made: a new epoll
 * instance and eventfd take the inherited ones' descriptor numbers (dup3),
 * so a waker on another thread that read ex->efd writes to the child's own
 * eventfd, never to a closed or reused descriptor; the parent's stay open
 * in the parent.  Every registered fd is added again; one that cannot be
 * reports EPOLLERR to its leaf, which then completes and lets the caller's
 * next read or write see the error.  Returns 0 or -errno; on error the
 * executor has changed nothing and tries again at its next use. */
static int epoll_refork(trt_exec *ex)
{
    unsigned epoch = atomic_load_explicit(&fork_epoch, memory_order_relaxed);
    if (ex->fork_epoch == epoch || ex->epfd < 0)
        return 0;
    int err = 0;
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epfd < 0 || efd < 0 || dup3(efd, ex->efd, O_CLOEXEC) < 0 ||
        dup3(epfd, ex->epfd, O_CLOEXEC) < 0) {
        err = -errno;
        goto out;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    /* Past the dup3s the inherited ones are gone, so a failure here is not
     * undone: without its eventfd the executor still runs, woken by its own
     * thread and its fds. */
    (void)epoll_ctl(ex->epfd, EPOLL_CTL_ADD, ex->efd, &ev);
    for (size_t fd = 0; fd < ex->nregs; fd++) {
        struct io_reg *r = &ex->regs[fd];
        if (!r->io)
            continue;
        struct epoll_event rev = {.events = r->events | EPOLLONESHOT, .data.ptr = r->io};
        if (epoll_ctl(ex->epfd, EPOLL_CTL_ADD, (int)fd, &rev) < 0) {
            r->io->revents |= EPOLLERR;
            if (r->io->waker.vtable)
                trt_waker_wake_by_ref(&r->io->waker);
        }
    }
    ex->fork_epoch = epoch;
out:
    if (efd >= 0)
        close(efd);
    if (epfd >= 0)
        close(epfd);
    return err;
}

static void exec_unref(trt_exec *ex)
{
    if (atomic_fetch_sub_explicit(&ex->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&ex->lock);
    close(ex->efd);
    free(ex->regs);
    free(ex);
}

static trt_waker task_clone(const void *data);
static void task_wake(const void *data);
static void task_wake_by_ref(const void *data);
static void task_drop(const void *data);

static const trt_waker_vtable task_vtable = {
    task_clone,
    task_wake,
    task_wake_by_ref,
    task_drop,
};

static trt_waker task_clone(const void *data)
{
    struct trt__exec_task *t = (struct trt__exec_task *)data;
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return (trt_waker){t, &task_vtable};
}

static void task_drop(const void *data)
{
    struct trt__exec_task *t = (struct trt__exec_task *)data;
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    exec_unref(t->ex);
    free(t);
}

static void task_wake_by_ref(const void *data)
{
    struct trt__exec_task *t = (struct trt__exec_task *)data;
    trt_exec *ex = t->ex;
    bool kick = false;
    pthread_mutex_lock(&ex->lock);
    if (!t->queued && !t->done && !ex->closed) {
        /* The queue holds a reference: the task may finish, and its other
         * references go, before the queue gets to it. */
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
        t->queued = true;
        t->ready_next = NULL;
        if (ex->ready_tail) {
            ex->ready_tail->ready_next = t;
        } else {
            ex->ready_head = t;
            /* Only the first wake of an empty queue kicks: later ones find
             * the kick on its way, and the executor's own thread looks at
             * the queue before it sleeps. */
            kick = current != ex;
        }
        ex->ready_tail = t;
    }
    pthread_mutex_unlock(&ex->lock);
    if (kick) {
        uint64_t one = 1;
        /* EAGAIN means the counter is already non-zero: kicked enough. */
        ssize_t n = write(ex->efd, &one, sizeof(one));
        (void)n;
    }
}

static void task_wake(const void *data)
{
    task_wake_by_ref(data);
    task_drop(data);
}

trt_exec *trt_exec_new(void)
{
    pthread_once(&fork_once, fork_init);
    trt_exec *ex = calloc(1, sizeof(*ex));
    if (!ex)
        return NULL;
    int epfd, efd;
    int err = epoll_make(&epfd, &efd);
    if (err < 0) {
        free(ex);
        errno = -err;
        return NULL;
    }
    atomic_init(&ex->refs, 1);
    pthread_mutex_init(&ex->lock, NULL);
    ex->epfd = epfd;
    ex->efd = efd;
    ex->fork_epoch = atomic_load_explicit(&fork_epoch, memory_order_relaxed);
    return ex;
}

/* Retires a task that finished (status 0) or is cancelled: after this no
 * wake queues it, and only waker clones keep its handle alive. */
static void task_finish(trt_exec *ex, struct trt__exec_task *t, int status)
{
    pthread_mutex_lock(&ex->lock);
    t->done = true;
    pthread_mutex_unlock(&ex->lock);
    if (t->live_prev)
        t->live_prev->live_next = t->live_next;
    else
        ex->live_head = t->live_next;
    if (t->live_next)
        t->live_next->live_prev = t->live_prev;
    ex->live--;
    trt_traced_free(t->traced);
    t->traced = NULL;
    if (t->on_done)
        t->on_done(t->arg, status);
    task_drop(t);
}

void trt_exec_free(trt_exec *ex)
{
    if (!ex)
        return;
    pthread_mutex_lock(&ex->lock);
    ex->closed = true;
    struct trt__exec_task *t = ex->ready_head;
    ex->ready_head = ex->ready_tail = NULL;
    pthread_mutex_unlock(&ex->lock);
    /* Drop the queue's references; the tasks stay live until below. */
    while (t) {
        struct trt__exec_task *next = t->ready_next;
        task_drop(t);
        t = next;
    }
    /* The callbacks drop the tasks' leaves, which still use the epoll set. */
    while (ex->live_head)
        task_finish(ex, ex->live_head, -ECANCELED);
    close(ex->epfd);
    ex->epfd = -1;
    exec_unref(ex);
}

/* spawn_pc: the return address into the code that called the public
 * spawn function, recorded as where the task was spawned (trt_traced_new_at):
 * this file's own call would name the executor for every task. */
static int task_spawn(trt_exec *ex, trt_future *fut, const char *name, trt_exec_done_fn on_done,
                      void *arg, struct trt__exec_task **out, const void *spawn_pc)
{
    if (!ex || !fut)
        return -EINVAL;
    struct trt__exec_task *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->traced = trt_traced_new_at(fut, name, spawn_pc);
    if (!t->traced) {
        int err = -errno;
        free(t);
        return err;
    }
    atomic_init(&t->refs, 1);
    t->ex = ex;
    t->on_done = on_done;
    t->arg = arg;
    atomic_fetch_add_explicit(&ex->refs, 1, memory_order_relaxed);
    t->live_next = ex->live_head;
    if (ex->live_head)
        ex->live_head->live_prev = t;
    ex->live_head = t;
    ex->live++;
    task_wake_by_ref(t);
    if (out)
        *out = t;
    return 0;
}

/* noinline (both public spawns): __builtin_return_address(0) must be an
 * address in the caller's code, not in a function of this library that
 * one of them was inlined into. */
__attribute__((noinline)) int trt_exec_spawn(trt_exec *ex, trt_future *fut, const char *name,
                                             trt_exec_done_fn on_done, void *arg)
{
    return task_spawn(ex, fut, name, on_done, arg, NULL, __builtin_return_address(0));
}

/* Polls every task queued when the round starts; tasks woken meanwhile wait
 * for the next round, after the epoll set had its turn. */
static void run_round(trt_exec *ex)
{
    pthread_mutex_lock(&ex->lock);
    struct trt__exec_task *t = ex->ready_head;
    ex->ready_head = ex->ready_tail = NULL;
    pthread_mutex_unlock(&ex->lock);
    while (t) {
        /* Read the link before clearing `queued`: from then on a wake may
         * queue the task again and reuse it. */
        pthread_mutex_lock(&ex->lock);
        struct trt__exec_task *next = t->ready_next;
        t->queued = false;
        bool done = t->done;
        pthread_mutex_unlock(&ex->lock);
        if (!done) {
            /* Borrowed for this poll: the executor's own reference keeps
             * the handle alive, so no clone per poll. */
            trt_waker w = {t, &task_vtable};
            trt_context cx = {&w};
            if (trt_future_poll(t->traced, &cx) == TRT_READY)
                task_finish(ex, t, 0);
        }
        task_drop(t);
        t = next;
    }
}

/* Waits for I/O, timers or a kick; `block` says whether it may sleep. */
static int wait_events(trt_exec *ex, bool block)
{
    struct epoll_event evs[64];
    int err = epoll_refork(ex);
    if (err < 0)
        return err;
    int n = epoll_wait(ex->epfd, evs, 64, block ? -1 : 0);
    if (n < 0)
        /* A signal, or a ptrace stop from the dump tool, interrupts it. */
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        trt_exec_io *io = evs[i].data.ptr;
        if (!io) {
            uint64_t count;
            ssize_t r = read(ex->efd, &count, sizeof(count));
            (void)r;
            continue;
        }
        io->revents |= evs[i].events;
        if (io->waker.vtable)
            trt_waker_wake_by_ref(&io->waker);
    }
    return 0;
}

/* Runs until *stop is true, or with stop NULL until no task is left. */
static int run_until(trt_exec *ex, const bool *stop)
{
    if (ex->running)
        return -EBUSY;
    ex->running = true;
    trt_exec *outer = current;
    current = ex;
    int err = 0;
    for (;;) {
        run_round(ex);
        if (stop ? *stop : ex->live == 0)
            break;
        pthread_mutex_lock(&ex->lock);
        bool idle = ex->ready_head == NULL;
        pthread_mutex_unlock(&ex->lock);
        err = wait_events(ex, idle);
        if (err < 0)
            break;
    }
    current = outer;
    ex->running = false;
    return err;
}

int trt_exec_run(trt_exec *ex)
{
    if (!ex)
        return -EINVAL;
    return run_until(ex, NULL);
}

static void block_on_done(void *arg, int status)
{
    (void)status;
    *(bool *)arg = true;
}

__attribute__((noinline)) int trt_exec_block_on(trt_exec *ex, trt_future *fut, const char *name)
{
    bool done = false;
    struct trt__exec_task *t = NULL;
    int err = task_spawn(ex, fut, name, block_on_done, &done, &t, __builtin_return_address(0));
    if (err < 0)
        return err;
    err = run_until(ex, &done);
    /* `done` lives on this stack: the task must not outlive the call. */
    if (!done)
        task_finish(ex, t, -ECANCELED);
    return err;
}

int trt__exec_io_add(trt_exec *ex, int fd, uint32_t events, trt_exec_io *io)
{
    int err = epoll_refork(ex);
    if (err < 0)
        return err;
    if (fd < 0)
        return -EBADF;
    if ((size_t)fd >= ex->nregs) {
        size_t n = ex->nregs ? ex->nregs : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct io_reg *grown = realloc(ex->regs, n * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        memset(grown + ex->nregs, 0, (n - ex->nregs) * sizeof(*grown));
        ex->regs = grown;
        ex->nregs = n;
    }
    struct epoll_event ev = {.events = events | EPOLLONESHOT, .data.ptr = io};
    if (epoll_ctl(ex->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    ex->regs[fd] = (struct io_reg){io, events};
    return 0;
}

void trt__exec_io_del(trt_exec *ex, int fd)
{
    /* In a child, never on the shared epoll: the entry is the parent's. */
    (void)epoll_refork(ex);
    if (fd >= 0 && (size_t)fd < ex->nregs)
        ex->regs[fd].io = NULL;
    (void)epoll_ctl(ex->epfd, EPOLL_CTL_DEL, fd, NULL);
}
