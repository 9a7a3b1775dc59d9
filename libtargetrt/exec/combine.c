/* Combinators.  They pass the context straight through to their children
 * and poll them from a single call site, so every child's stack goes through
 * the same return address and a dump merges them into one frame with
 * branches.  They poll through trt_future_poll, so that under a dump each
 * child is on the chain of polled futures, and a child whose poll ends in
 * a tail call still shows in its stacks. */
#include "exec_internal.h"

void trt_join_init(trt_join *j, trt_future **children, bool *done, size_t n)
{
    j->base.poll = trt_join_poll;
    j->children = children;
    j->done = done;
    j->n = n;
    j->left = n;
    for (size_t i = 0; i < n; i++)
        done[i] = false;
}

__attribute__((noinline)) trt_poll trt_join_poll(trt_future *f, trt_context *cx)
{
    trt_join *j = (trt_join *)f;
    for (size_t i = 0; i < j->n; i++) {
        if (j->done[i])
            continue;
        trt_future *c = j->children[i];
        if (trt_future_poll(c, cx) == TRT_READY) {
            j->done[i] = true;
            j->left--;
        }
    }
    return j->left == 0 ? TRT_READY : TRT_PENDING;
}

void trt_select_init(trt_select *s, trt_future **children, size_t n)
{
    s->base.poll = trt_select_poll;
    s->index = n;
    s->children = children;
    s->n = n;
}

__attribute__((noinline)) trt_poll trt_select_poll(trt_future *f, trt_context *cx)
{
    trt_select *s = (trt_select *)f;
    /* A finished child must not be polled again. */
    if (s->index < s->n)
        return TRT_READY;
    for (size_t i = 0; i < s->n; i++) {
        trt_future *c = s->children[i];
        if (trt_future_poll(c, cx) == TRT_READY) {
            s->index = i;
            return TRT_READY;
        }
    }
    return TRT_PENDING;
}
