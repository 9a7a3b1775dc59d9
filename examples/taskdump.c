/* taskdump: the task tree of the README, waiting forever to be dumped.
 *
 *   foo -> bar -> join -+- fiz -> pending
 *                       +- buz -> baz -> pending
 *
 * Every future is a hand-written struct with a poll function named after
 * it, kept out of line and calling (not jumping to) its child, so each is a
 * frame of its own in the stack a dump records at pending_poll's waker
 * clone.  Usage: taskdump [--tasks N]; prints "pid <PID>" once every task
 * has been polled, then runs until killed.  Exit status 1 on error, 64 on
 * bad usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tasktrace/exec.h>

#include "example.h"

/* Puts an instruction after a child's poll, so the call is never turned
 * into a tail jump that would take the parent's frame off the stack. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
#define POLL_FN __attribute__((noinline))

struct pending {
    trt_future base;
    trt_waker waker;
};

struct baz {
    trt_future base;
    struct pending pending;
};

struct fiz {
    trt_future base;
    struct pending pending;
};

struct buz {
    trt_future base;
    struct baz baz;
};

struct bar {
    trt_future base;
    struct fiz fiz;
    struct buz buz;
    trt_future *children[2];
    bool done[2];
    trt_join join;
};

struct foo {
    trt_future base;
    struct bar bar;
};

/* Keeps a clone of the waker and never completes. */
static POLL_FN trt_poll pending_poll(trt_future *f, trt_context *cx)
{
    struct pending *p = (struct pending *)f;
    if (!p->waker.vtable || !trt_waker_will_wake(&p->waker, cx->waker)) {
        trt_waker old = p->waker;
        p->waker = trt_waker_clone(cx->waker);
        if (old.vtable)
            trt_waker_drop(old);
    }
    return TRT_PENDING;
}

static POLL_FN trt_poll baz_poll(trt_future *f, trt_context *cx)
{
    struct baz *z = (struct baz *)f;
    trt_poll r = trt_future_poll(&z->pending.base, cx);
    KEEP_FRAME();
    return r;
}

static POLL_FN trt_poll fiz_poll(trt_future *f, trt_context *cx)
{
    struct fiz *z = (struct fiz *)f;
    trt_poll r = trt_future_poll(&z->pending.base, cx);
    KEEP_FRAME();
    return r;
}

static POLL_FN trt_poll buz_poll(trt_future *f, trt_context *cx)
{
    struct buz *b = (struct buz *)f;
    trt_poll r = trt_future_poll(&b->baz.base, cx);
    KEEP_FRAME();
    return r;
}

static POLL_FN trt_poll bar_poll(trt_future *f, trt_context *cx)
{
    struct bar *b = (struct bar *)f;
    trt_poll r = trt_future_poll(&b->join.base, cx);
    KEEP_FRAME();
    return r;
}

static POLL_FN trt_poll foo_poll(trt_future *f, trt_context *cx)
{
    struct foo *o = (struct foo *)f;
    trt_poll r = trt_future_poll(&o->bar.base, cx);
    KEEP_FRAME();
    return r;
}

static void foo_init(struct foo *o)
{
    memset(o, 0, sizeof(*o));
    o->base.poll = foo_poll;
    struct bar *b = &o->bar;
    b->base.poll = bar_poll;
    b->fiz.base.poll = fiz_poll;
    b->fiz.pending.base.poll = pending_poll;
    b->buz.base.poll = buz_poll;
    b->buz.baz.base.poll = baz_poll;
    b->buz.baz.pending.base.poll = pending_poll;
    b->children[0] = &b->fiz.base;
    b->children[1] = &b->buz.base;
    trt_join_init(&b->join, b->children, b->done, 2);
}

int main(int argc, char **argv)
{
    unsigned long ntasks = 1;
    int rc = example_option(argc, argv, "taskdump", "--tasks", 1, 10000000, &ntasks);
    if (rc != 0)
        return rc;

    trt_exec *ex = trt_exec_new();
    if (!ex) {
        perror("taskdump: trt_exec_new");
        return 1;
    }
    struct foo *foos = calloc(ntasks, sizeof(*foos));
    if (!foos) {
        perror("taskdump: calloc");
        return 1;
    }
    for (unsigned long i = 0; i < ntasks; i++) {
        char name[32] = "foo";
        if (i > 0)
            snprintf(name, sizeof(name), "foo-%lu", i + 1);
        foo_init(&foos[i]);
        int err = trt_exec_spawn(ex, &foos[i].base, name, NULL, NULL);
        if (err < 0) {
            fprintf(stderr, "taskdump: spawn %s: %s\n", name, strerror(-err));
            return 1;
        }
    }
    return example_serve(ex, "taskdump", NULL);
}
