/* A test target with its own minimal executor (not trt_exec: any executor
 * that speaks the ABI must work), in modes that misbehave on purpose:
 *   idle              task "foo" -> foo_poll -> bar_poll -> leaf_poll
 *   block             "ok" reports, then "stuck" blocks the executor inside
 *                     its dump poll: the dump times out
 *   exit              the process exits inside its dump poll
 *   nowaker           "lazy" returns pending without using the waker
 *   notask            links the runtime, never creates a task
 *   deep              a task awaiting through 80 nested futures
 *   names             tasks whose names hold quotes, control bytes, bad UTF-8
 *   corrupt-control   the control block's version is wrong
 *   corrupt-registry  the registry's slot size is wrong
 * Prints "pid N" and runs until killed. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tasktrace/rt.h>

#include "../../libtargetrt/rt_internal.h"

#define MAXT 8

static atomic_int woken[MAXT];
static const char *mode;

static trt_waker w_clone(const void *d);
static void w_wake_by_ref(const void *d)
{
    atomic_store((atomic_int *)d, 1);
}
static void w_drop(const void *d)
{
    (void)d;
}
static void w_wake(const void *d)
{
    w_wake_by_ref(d);
}
static const trt_waker_vtable vt = {w_clone, w_wake, w_wake_by_ref, w_drop};
static trt_waker w_clone(const void *d)
{
    return (trt_waker){d, &vt};
}

struct fut {
    trt_future base;
    trt_future *next;
    int polls;
};

static volatile int sink;

__attribute__((noinline)) static trt_poll leaf_poll(trt_future *f, trt_context *cx)
{
    struct fut *s = (struct fut *)f;
    s->polls++;
    trt_waker w = trt_waker_clone(cx->waker);
    trt_waker_drop(w);
    sink++;
    return TRT_PENDING;
}

__attribute__((noinline)) static trt_poll lazy_leaf_poll(trt_future *f, trt_context *cx)
{
    (void)f;
    (void)cx;
    sink++;
    return TRT_PENDING;
}

static void poll_task(int i);

/* Misbehaves from its second poll on, which is the dump's.  The doorbell
 * woke task 0 before this one, so poll it first if the loop has not: the
 * test expects it to report. */
__attribute__((noinline)) static trt_poll trouble_poll(trt_future *f, trt_context *cx)
{
    struct fut *s = (struct fut *)f;
    if (++s->polls >= 2) {
        poll_task(0);
        if (strcmp(mode, "exit") == 0)
            _exit(0);
        for (;;)
            pause();
    }
    trt_waker w = trt_waker_clone(cx->waker);
    trt_waker_drop(w);
    return TRT_PENDING;
}

__attribute__((noinline)) static trt_poll bar_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = trt_future_poll(((struct fut *)f)->next, cx);
    sink++;
    return r;
}

__attribute__((noinline)) static trt_poll foo_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = trt_future_poll(((struct fut *)f)->next, cx);
    sink++;
    return r;
}

#define DEEP 80
static struct fut deep[DEEP];

__attribute__((noinline)) static trt_poll deep_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = trt_future_poll(((struct fut *)f)->next, cx);
    sink++;
    return r;
}

static struct fut leaves[MAXT], bars[MAXT], foos[MAXT];
static trt_future *tasks[MAXT];
static int ntasks;

static void spawn(const char *name, trt_poll_fn leaf)
{
    int i = ntasks++;
    leaves[i].base.poll = leaf;
    bars[i] = (struct fut){{bar_poll}, &leaves[i].base, 0};
    foos[i] = (struct fut){{foo_poll}, &bars[i].base, 0};
    tasks[i] = trt_traced_new(&foos[i].base, name);
    if (!tasks[i]) {
        perror("trt_traced_new");
        exit(1);
    }
    atomic_store(&woken[i], 1);
}

int main(int argc, char **argv)
{
    mode = argc > 1 ? argv[1] : "idle";
    if (strcmp(mode, "idle") == 0) {
        spawn("foo", leaf_poll);
    } else if (strcmp(mode, "block") == 0 || strcmp(mode, "exit") == 0) {
        spawn("ok", leaf_poll);
        spawn("stuck", trouble_poll);
    } else if (strcmp(mode, "nowaker") == 0) {
        spawn("lazy", lazy_leaf_poll);
        spawn("fine", leaf_poll);
    } else if (strcmp(mode, "deep") == 0) {
        spawn("deep", leaf_poll);
        /* foo -> bar -> deep_poll x DEEP -> leaf */
        deep[DEEP - 1] = (struct fut){{deep_poll}, &leaves[0].base, 0};
        for (int i = DEEP - 1; i-- > 0;)
            deep[i] = (struct fut){{deep_poll}, &deep[i + 1].base, 0};
        bars[0].next = &deep[0].base;
    } else if (strcmp(mode, "names") == 0) {
        spawn("quote\"back\\slash", leaf_poll);
        spawn("ctl\x01\x1b[31mred", leaf_poll);
        spawn("bad\xff\xfeutf8", leaf_poll);
        spawn("caf\xc3\xa9", leaf_poll);
    } else if (strcmp(mode, "corrupt-control") == 0) {
        spawn("foo", leaf_poll);
        tasktrace_control.version = 99;
    } else if (strcmp(mode, "corrupt-registry") == 0) {
        spawn("foo", leaf_poll);
        trt__registry_get()->slot_size = 7;
    } else if (strcmp(mode, "notask") != 0) {
        fprintf(stderr, "target: unknown mode %s\n", mode);
        return 64;
    }
    printf("pid %d\n", (int)getpid());
    fflush(stdout);
    for (;;) {
        for (int i = 0; i < ntasks; i++)
            poll_task(i);
        usleep(1000);
    }
}

static void poll_task(int i)
{
    if (!atomic_exchange(&woken[i], 0))
        return;
    trt_waker w = {&woken[i], &vt};
    trt_context cx = {&w};
    trt_future_poll(tasks[i], &cx);
}
