/* Leaf futures: the ones that actually wait.  Each pending poll keeps a
 * clone of the context's waker, from its own poll function, which is what a
 * dump records as the task's stack. */
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <tasktrace/clock.h>

#include "exec_internal.h"

/* ------------------------------------------------------------ pending */

__attribute__((noinline)) trt_poll trt_pending_poll(trt_future *f, trt_context *cx)
{
    trt_pending *p = (trt_pending *)f;
    trt__exec_waker_keep(&p->waker, cx->waker);
    return TRT_PENDING;
}

void trt_pending_init(trt_pending *p)
{
    p->base.poll = trt_pending_poll;
    p->waker.data = NULL;
    p->waker.vtable = NULL;
}

void trt_pending_drop(trt_pending *p)
{
    trt__exec_waker_forget(&p->waker);
}

/* ------------------------------------------------------------ sleep */

static uint64_t now_ns(void)
{
    return trt_clock_ns(CLOCK_MONOTONIC);
}

void trt_sleep_init(trt_sleep *s, trt_exec *ex, uint64_t ns)
{
    s->base.poll = trt_sleep_poll;
    s->err = 0;
    s->ex = ex;
    uint64_t now = now_ns();
    s->deadline_ns = ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
    s->tfd = -1;
    s->io.waker.data = NULL;
    s->io.waker.vtable = NULL;
    s->io.revents = 0;
}

void trt_sleep_drop(trt_sleep *s)
{
    if (s->tfd >= 0) {
        trt__exec_io_del(s->ex, s->tfd);
        close(s->tfd);
        s->tfd = -1;
    }
    trt__exec_waker_forget(&s->io.waker);
}

/* Creates the timerfd for the deadline and registers it.  0 or -errno. */
static int sleep_arm(trt_sleep *s)
{
    int err;
    s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->tfd < 0)
        return -errno;
    struct itimerspec its = {.it_value = trt_ns_timespec(s->deadline_ns)};
    if (timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
        err = -errno;
        goto fail;
    }
    err = trt__exec_io_add(s->ex, s->tfd, EPOLLIN, &s->io);
    if (err < 0)
        goto fail;
    return 0;
fail:
    close(s->tfd);
    s->tfd = -1;
    return err;
}

__attribute__((noinline)) trt_poll trt_sleep_poll(trt_future *f, trt_context *cx)
{
    trt_sleep *s = (trt_sleep *)f;
    /* The clock decides as well as the timerfd's event: a deadline already
     * past needs no timerfd at all. */
    if (s->io.revents || now_ns() >= s->deadline_ns)
        goto ready;
    if (s->tfd < 0) {
        s->err = sleep_arm(s);
        if (s->err < 0)
            goto ready;
    }
    trt__exec_waker_keep(&s->io.waker, cx->waker);
    return TRT_PENDING;
ready:
    trt_sleep_drop(s);
    return TRT_READY;
}

/* ------------------------------------------------------------ fd readiness */

static void fd_wait_init(trt_fd_wait *w, trt_exec *ex, int fd, trt_poll_fn poll)
{
    w->base.poll = poll;
    w->err = 0;
    w->revents = 0;
    w->ex = ex;
    w->fd = fd;
    w->registered = false;
    w->io.waker.data = NULL;
    w->io.waker.vtable = NULL;
    w->io.revents = 0;
}

void trt_fd_readable_init(trt_fd_wait *w, trt_exec *ex, int fd)
{
    fd_wait_init(w, ex, fd, trt_fd_readable_poll);
}

void trt_fd_writable_init(trt_fd_wait *w, trt_exec *ex, int fd)
{
    fd_wait_init(w, ex, fd, trt_fd_writable_poll);
}

void trt_fd_wait_drop(trt_fd_wait *w)
{
    if (w->registered) {
        trt__exec_io_del(w->ex, w->fd);
        w->registered = false;
    }
    trt__exec_waker_forget(&w->io.waker);
}

/* Whether the wait is over: epoll reported the fd, or registering it
 * failed.  Registers the fd the first time.  The waker clone stays in each
 * direction's own poll function, so a dump ends there. */
static bool fd_wait_over(trt_fd_wait *w, uint32_t events)
{
    if (w->io.revents) {
        w->revents = w->io.revents;
        return true;
    }
    if (!w->registered) {
        w->err = trt__exec_io_add(w->ex, w->fd, events, &w->io);
        if (w->err < 0)
            return true;
        w->registered = true;
    }
    return false;
}

__attribute__((noinline)) trt_poll trt_fd_readable_poll(trt_future *f, trt_context *cx)
{
    trt_fd_wait *w = (trt_fd_wait *)f;
    if (fd_wait_over(w, EPOLLIN | EPOLLRDHUP)) {
        trt_fd_wait_drop(w);
        return TRT_READY;
    }
    trt__exec_waker_keep(&w->io.waker, cx->waker);
    return TRT_PENDING;
}

__attribute__((noinline)) trt_poll trt_fd_writable_poll(trt_future *f, trt_context *cx)
{
    trt_fd_wait *w = (trt_fd_wait *)f;
    if (fd_wait_over(w, EPOLLOUT)) {
        trt_fd_wait_drop(w);
        return TRT_READY;
    }
    trt__exec_waker_keep(&w->io.waker, cx->waker);
    return TRT_PENDING;
}
