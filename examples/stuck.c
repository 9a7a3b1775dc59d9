/* stuck: a thread-pool executor whose workers get caught inside polls.
 *
 * Four worker threads run traced tasks.  Three tasks block the worker that
 * polls them, the three ways async code most often gets stuck:
 *   "reader"  calls read() on a pipe nobody writes (a blocking syscall in
 *             async code);
 *   "spinner" spins in a busy loop that never ends (checksum_spin);
 *   "locker"  calls pthread_mutex_lock on a mutex the main thread holds.
 * The fourth worker keeps serving two ordinary tasks, "parked-1" and
 * "parked-2", which wait for a wake-up the way well-behaved futures do, so
 * a dump re-polls and reports them.
 *
 * Usage: stuck [--vanish].  Prints "pid <PID>" once the three workers are
 * stuck and the parked tasks waiting, then serves until killed.  Each
 * SIGUSR1 prints "polls <N>": the executor polls so far, so a test can tell
 * whether a dump polled anything.  With --vanish, a fifth worker polls a
 * task "vanished" whose poll ends the worker thread (pthread_exit): the
 * registry shows it polling, on a thread that no longer exists.  Exit
 * status 1 on error, 64 on a bad argument.
 *
 * The executor is examples/pool.c (the reference executor is single
 * threaded), written against <tasktrace/rt.h> only. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tasktrace/rt.h>

#include "pool.h"

/* Keeps each poll a frame of its own (see taskdump.c). */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
#define POLL_FN __attribute__((noinline))

#define NWORKERS 4

/* ------------------------------------------------------------ tasks */

/* How many of the three blocking tasks have entered their blocking call. */
static _Atomic int stuck_count;

/* "reader": a request handler that reads its request's frame from a pipe
 * with a blocking read(), which never returns: nobody writes the pipe. */
struct reader {
    trt_future base;
    trt_future frame; /* reads the frame */
    int fd;
    char buf[64];
};

static POLL_FN trt_poll read_frame_poll(trt_future *f, trt_context *cx)
{
    (void)cx;
    struct reader *r = (struct reader *)((char *)f - offsetof(struct reader, frame));
    atomic_fetch_add(&stuck_count, 1);
    ssize_t n = read(r->fd, r->buf, sizeof(r->buf));
    KEEP_FRAME();
    return n >= 0 ? TRT_READY : TRT_PENDING;
}

static POLL_FN trt_poll request_poll(trt_future *f, trt_context *cx)
{
    struct reader *r = (struct reader *)f;
    trt_poll p = trt_future_poll(&r->frame, cx);
    KEEP_FRAME();
    return p;
}

/* "spinner": a checksum loop that never ends.  noinline keeps it a frame. */
static volatile unsigned long spin_sink;

static __attribute__((noinline)) void checksum_spin(void)
{
    unsigned long x = 1;
    atomic_fetch_add(&stuck_count, 1);
    for (;;) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        spin_sink = x;
    }
}

static POLL_FN trt_poll spinner_poll(trt_future *f, trt_context *cx)
{
    (void)f;
    (void)cx;
    checksum_spin();
    KEEP_FRAME();
    return TRT_PENDING;
}

/* "locker": takes a mutex that the main thread holds for ever. */
static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;

static POLL_FN trt_poll locker_poll(trt_future *f, trt_context *cx)
{
    (void)f;
    (void)cx;
    atomic_fetch_add(&stuck_count, 1);
    pthread_mutex_lock(&big_lock);
    KEEP_FRAME();
    pthread_mutex_unlock(&big_lock);
    return TRT_READY;
}

/* "parked-N": waits for a wake-up that does not come, holding a clone of
 * its waker like any future waiting on an event. */
struct parked {
    trt_future base;
    trt_waker waker;
    _Atomic int polled;
};

static POLL_FN trt_poll parked_poll(trt_future *f, trt_context *cx)
{
    struct parked *p = (struct parked *)f;
    if (p->waker.vtable)
        trt_waker_drop(p->waker);
    p->waker = trt_waker_clone(cx->waker);
    atomic_fetch_add(&p->polled, 1);
    KEEP_FRAME();
    return TRT_PENDING;
}

/* "vanished": its poll ends the thread polling it, so the task stays
 * "polling" for ever on a thread that is gone. */
static POLL_FN trt_poll vanish_poll(trt_future *f, trt_context *cx)
{
    (void)f;
    (void)cx;
    atomic_fetch_add(&stuck_count, 1);
    pthread_exit(NULL);
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    static struct pool_task tasks[6];
    static trt_future vanished = {vanish_poll};
    bool vanish = argc == 2 && strcmp(argv[1], "--vanish") == 0;
    if (argc > 1 && !vanish) {
        fprintf(stderr, "usage: stuck [--vanish]\n");
        return 64;
    }
    static struct reader reader = {.base = {request_poll}, .frame = {read_frame_poll}};
    static trt_future spinner = {spinner_poll};
    static trt_future locker = {locker_poll};
    static struct parked parked[2] = {{.base = {parked_poll}}, {.base = {parked_poll}}};
    int fds[2];

    /* SIGUSR1 is taken by sigwait in the main thread only. */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    if (pipe(fds) < 0) {
        perror("stuck: pipe");
        return 1;
    }
    reader.fd = fds[0];
    pthread_mutex_lock(&big_lock);
    int perr = pool_start(NWORKERS + vanish);
    if (perr) {
        fprintf(stderr, "stuck: pthread_create: %s\n", strerror(-perr));
        return 1;
    }
    int err = pool_spawn(&tasks[0], &reader.base, "reader");
    if (!err)
        err = pool_spawn(&tasks[1], &spinner, "spinner");
    if (!err)
        err = pool_spawn(&tasks[2], &locker, "locker");
    if (!err)
        err = pool_spawn(&tasks[3], &parked[0].base, "parked-1");
    if (!err)
        err = pool_spawn(&tasks[4], &parked[1].base, "parked-2");
    if (!err && vanish)
        err = pool_spawn(&tasks[5], &vanished, "vanished");
    if (err) {
        fprintf(stderr, "stuck: spawn: %s\n", strerror(-err));
        return 1;
    }
    /* Ready once the three are inside their blocking calls (give them a
     * moment to get there) and the parked ones were polled. */
    int want = 3 + vanish;
    for (int i = 0;
         i < 1000 && (atomic_load(&stuck_count) < want || !atomic_load(&parked[0].polled) ||
                      !atomic_load(&parked[1].polled));
         i++) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&stuck_count) < want) {
        fprintf(stderr, "stuck: the workers did not get stuck\n");
        return 1;
    }
    struct timespec settle = {0, 20000000};
    nanosleep(&settle, NULL);
    printf("pid %d\n", (int)getpid());
    fflush(stdout);
    for (;;) {
        int sig;
        if (sigwait(&usr1, &sig) == 0) {
            printf("polls %llu\n", (unsigned long long)pool_polls());
            fflush(stdout);
        }
    }
}
