/* Dumps from inside the process, the public API: a future a task awaits,
 * a blocking call for threads that poll no task, and a signal handed to
 * the runtime.  Each queues a request (dumpreq.c) that the doorbell thread
 * serves with a raw dump (rawdump.c).
 *
 * The future needs no thread of its own, also on a single-threaded
 * executor: the task awaiting it owes the generation it requested like
 * every other live task.  The doorbell wakes it; its executor polls it
 * once more, with the tracing waker; the future, not yet complete, clones
 * that waker as any pending future does, which records where the task
 * waits and is its report.  Once every task has reported the doorbell
 * writes the dump and wakes the task a last time. */
#include <errno.h>
#include <stdlib.h>

#include "rt_internal.h"

struct dump_future {
    trt_future base; /* poll == dump_future_poll */
    struct trt__dumpreq req;
    bool submitted;
};

static trt_poll dump_future_poll(trt_future *f, trt_context *cx)
{
    struct dump_future *df = (struct dump_future *)f;
    if (!df->submitted) {
        int err = trt__doorbell_ensure();
        if (err < 0) {
            df->req.result = err;
            df->req.state = TRT__REQ_DONE;
            df->submitted = true;
            return TRT_READY;
        }
        df->submitted = true;
        /* The waker first: the dump may be served before submit returns. */
        trt__dumpreq_set_waker(&df->req, cx->waker);
        trt__dumpreq_submit(&df->req);
        return TRT_PENDING;
    }
    if (trt__dumpreq_state(&df->req) == TRT__REQ_DONE)
        return TRT_READY;
    /* Also the report of this task's traced poll, when it owes the
     * generation: the clone is where it waits. */
    trt__dumpreq_set_waker(&df->req, cx->waker);
    return TRT_PENDING;
}

static trt_future *dump_future_new(int fd, trt_dump_sink_fn sink, void *arg, int timeout_ms)
{
    if ((sink == NULL && fd < 0) || timeout_ms < 0) {
        errno = EINVAL;
        return NULL;
    }
    struct dump_future *df = calloc(1, sizeof(*df));
    if (!df) {
        errno = ENOMEM;
        return NULL;
    }
    df->base.poll = dump_future_poll;
    df->req.dest.fd = fd;
    df->req.dest.sink = sink;
    df->req.dest.arg = arg;
    df->req.timeout_ms = (uint32_t)timeout_ms;
    df->req.state = TRT__REQ_IDLE;
    return &df->base;
}

trt_future *trt_dump_future_new(int fd, int timeout_ms)
{
    return dump_future_new(fd, NULL, NULL, timeout_ms);
}

trt_future *trt_dump_future_new_sink(trt_dump_sink_fn sink, void *arg, int timeout_ms)
{
    if (!sink) {
        errno = EINVAL;
        return NULL;
    }
    return dump_future_new(-1, sink, arg, timeout_ms);
}

int trt_dump_future_result(const trt_future *f)
{
    if (!f || f->poll != dump_future_poll)
        return -EINVAL;
    struct dump_future *df = (struct dump_future *)f;
    if (__atomic_load_n(&df->req.state, __ATOMIC_ACQUIRE) != TRT__REQ_DONE)
        return -EINPROGRESS;
    return df->req.result;
}

void trt_dump_future_free(trt_future *f)
{
    if (!f || f->poll != dump_future_poll)
        return;
    struct dump_future *df = (struct dump_future *)f;
    if (df->submitted)
        trt__dumpreq_cancel(&df->req);
    else if (df->req.waker.vtable)
        trt_waker_drop(df->req.waker);
    free(df);
}

/* Inside a poll of a traced task on this thread?  Such a caller would
 * wait for its own task's report. */
static bool polling_here(struct trt__task *t, void *arg)
{
    bool *found = arg;
    if (TRT_LOAD(&t->slot->state) == TRT_TASK_POLLING && TRT_LOAD(&t->slot->tid) == trt__tid()) {
        *found = true;
        return false;
    }
    return true;
}

int trt_dump_write(int fd, int timeout_ms)
{
    if (fd < 0 || timeout_ms < 0)
        return -EINVAL;
    if (__atomic_load_n(&tasktrace_control.doorbell_tid, __ATOMIC_ACQUIRE) == trt__tid())
        return -EDEADLK;
    bool found = false;
    uint32_t cursor = 0;
    while (cursor != UINT32_MAX && !found)
        trt__registry_walk(&cursor, polling_here, &found);
    if (found)
        return -EDEADLK;
    int err = trt__doorbell_ensure();
    if (err < 0)
        return err;
    struct trt__dumpreq req = {
        .dest = {fd, NULL, NULL},
        .timeout_ms = (uint32_t)timeout_ms,
    };
    uint64_t start = trt_clock_ns(CLOCK_MONOTONIC);
    trt__dumpreq_submit(&req);
    /* The doorbell bounds the wait for the tasks by timeout_ms; a doorbell
     * that does not take the request within that and a second more (it is
     * not running) gets it withdrawn. */
    return trt__dumpreq_wait(&req, start + ((uint64_t)timeout_ms + 1000u) * 1000000u);
}

int trt_dump_on_signal(int signo, const char *dest)
{
    int err = trt__dumpreq_signal(signo, dest);
    if (err < 0 || !dest)
        return err;
    (void)trt__fork_init();
    /* A doorbell that cannot start now is retried by the next
     * trt_traced_new; the handler is in place meanwhile. */
    (void)trt__doorbell_ensure();
    return 0;
}
