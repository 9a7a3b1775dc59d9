/* busy_target: a pool of worker threads whose tasks enter and leave their
 * polls all the time.  Each poll sleeps a few hundred microseconds (inside
 * the poll, so a dump finds threads there), wakes its own task and returns
 * pending: a healthy, busy process, every dump of which must be complete.
 *
 *   busy_target [NTASKS]     (default 24; prints "pid N" once running) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <tasktrace/rt.h>

#include "../../examples/pool.h"

#define NWORKERS 3
#define MAX_TASKS 256

static __attribute__((noinline)) void busy_work(unsigned us)
{
    struct timespec ts = {0, (long)us * 1000};
    nanosleep(&ts, NULL);
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) trt_poll busy_poll(trt_future *f, trt_context *cx)
{
    (void)f;
    busy_work(100 + (unsigned)(rand() % 400));
    trt_waker_wake_by_ref(cx->waker);
    __asm__ volatile("" ::: "memory");
    return TRT_PENDING;
}

int main(int argc, char **argv)
{
    static struct pool_task tasks[MAX_TASKS];
    static trt_future futs[MAX_TASKS];
    int n = argc > 1 ? atoi(argv[1]) : 24;
    if (n < 1 || n > MAX_TASKS) {
        fprintf(stderr, "usage: busy_target [NTASKS 1-%d]\n", MAX_TASKS);
        return 64;
    }
    if (pool_start(NWORKERS) != 0) {
        fprintf(stderr, "busy_target: cannot start the workers\n");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "busy-%d", i);
        futs[i].poll = busy_poll;
        if (pool_spawn(&tasks[i], &futs[i], name) != 0) {
            fprintf(stderr, "busy_target: cannot spawn a task\n");
            return 1;
        }
    }
    printf("pid %d\n", (int)getpid());
    fflush(stdout);
    for (;;)
        pause();
}
