/* A target whose futures poll their inner future in tail position:
 * `return trt_future_poll(&inner, cx);`, which -O2 compiles into a jump,
 * so the wrapper has no frame when the leaf clones the waker.
 *
 * Task "chain": chain_outer -> chain_middle -> chain_inner -> trt_pending.
 * Task "joined": trt_join of two chain_inner wrappers around trt_pending,
 * and of a trt_select of one more.
 * Prints "pid N" once both are waiting, then runs until killed. */
#include <stdio.h>
#include <string.h>

#include <tasktrace/exec.h>

#include "../../examples/example.h"

struct wrap {
    trt_future base;
    trt_future *inner;
};

/* Each ends in a tail call: the test checks the jump in the binary. */
static __attribute__((noinline)) trt_poll chain_inner_poll(trt_future *f, trt_context *cx)
{
    struct wrap *w = (struct wrap *)f;
    return trt_future_poll(w->inner, cx);
}

static __attribute__((noinline)) trt_poll chain_middle_poll(trt_future *f, trt_context *cx)
{
    struct wrap *w = (struct wrap *)f;
    return trt_future_poll(w->inner, cx);
}

static __attribute__((noinline)) trt_poll chain_outer_poll(trt_future *f, trt_context *cx)
{
    struct wrap *w = (struct wrap *)f;
    return trt_future_poll(w->inner, cx);
}

static void wrap_init(struct wrap *w, trt_poll_fn poll, trt_future *inner)
{
    w->base.poll = poll;
    w->inner = inner;
}

int main(void)
{
    trt_exec *ex = trt_exec_new();
    if (!ex) {
        perror("tailcall_target: trt_exec_new");
        return 1;
    }
    /* "chain" */
    static trt_pending leaf;
    static struct wrap inner, middle, outer;
    trt_pending_init(&leaf);
    wrap_init(&inner, chain_inner_poll, &leaf.base);
    wrap_init(&middle, chain_middle_poll, &inner.base);
    wrap_init(&outer, chain_outer_poll, &middle.base);
    /* "joined": join(inner(leaf), inner(leaf), select(inner(leaf))) */
    static trt_pending jleaf[3];
    static struct wrap jwrap[3];
    for (int i = 0; i < 3; i++) {
        trt_pending_init(&jleaf[i]);
        wrap_init(&jwrap[i], chain_inner_poll, &jleaf[i].base);
    }
    static trt_future *sel_children[1];
    static trt_select sel;
    sel_children[0] = &jwrap[2].base;
    trt_select_init(&sel, sel_children, 1);
    static trt_future *join_children[3];
    static bool join_done[3];
    static trt_join join;
    join_children[0] = &jwrap[0].base;
    join_children[1] = &jwrap[1].base;
    join_children[2] = &sel.base;
    trt_join_init(&join, join_children, join_done, 3);
    int err = trt_exec_spawn(ex, &outer.base, "chain", NULL, NULL);
    if (err == 0)
        err = trt_exec_spawn(ex, &join.base, "joined", NULL, NULL);
    if (err < 0) {
        fprintf(stderr, "tailcall_target: spawn: %s\n", strerror(-err));
        return 1;
    }
    return example_serve(ex, "tailcall_target", NULL);
}
