/* many_tasks: many idle tasks, for benchmarking dumps.
 *
 * Each task "worker-<i>" waits in worker_poll -> step_poll ->
 * trt_pending_poll forever.  Usage: many_tasks [--tasks N] (default 10000);
 * prints "pid <PID>" once every task has been polled, then runs until
 * killed.  Exit status 1 on error, 64 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tasktrace/exec.h>

#include "example.h"

/* See taskdump.c: keeps each poll a frame of its own. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
#define POLL_FN __attribute__((noinline))

struct step {
    trt_future base;
    trt_pending pending;
};

struct worker {
    trt_future base;
    struct step step;
};

static POLL_FN trt_poll step_poll(trt_future *f, trt_context *cx)
{
    struct step *s = (struct step *)f;
    trt_poll r = trt_future_poll(&s->pending.base, cx);
    KEEP_FRAME();
    return r;
}

static POLL_FN trt_poll worker_poll(trt_future *f, trt_context *cx)
{
    struct worker *w = (struct worker *)f;
    trt_poll r = trt_future_poll(&w->step.base, cx);
    KEEP_FRAME();
    return r;
}

int main(int argc, char **argv)
{
    unsigned long ntasks = 10000;
    int rc = example_option(argc, argv, "many_tasks", "--tasks", 1, 10000000, &ntasks);
    if (rc != 0)
        return rc;

    trt_exec *ex = trt_exec_new();
    if (!ex) {
        perror("many_tasks: trt_exec_new");
        return 1;
    }
    struct worker *workers = calloc(ntasks, sizeof(*workers));
    if (!workers) {
        perror("many_tasks: calloc");
        return 1;
    }
    for (unsigned long i = 0; i < ntasks; i++) {
        char name[32];
        snprintf(name, sizeof(name), "worker-%lu", i);
        workers[i].base.poll = worker_poll;
        workers[i].step.base.poll = step_poll;
        trt_pending_init(&workers[i].step.pending);
        int err = trt_exec_spawn(ex, &workers[i].base, name, NULL, NULL);
        if (err < 0) {
            fprintf(stderr, "many_tasks: spawn %s: %s\n", name, strerror(-err));
            return 1;
        }
    }
    return example_serve(ex, "many_tasks", NULL);
}
