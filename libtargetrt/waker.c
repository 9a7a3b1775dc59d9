/* The ABI's helpers: thin calls through the waker's vtable, and
 * trt_future_poll, which under a dump generation keeps the chain of polled
 * futures (rt_internal.h). */
#include "rt_internal.h"

__thread struct trt__chain *trt__chain_cur __attribute__((tls_model("initial-exec")));

trt_waker trt_waker_clone(const trt_waker *w)
{
    return w->vtable->clone(w->data);
}

void trt_waker_wake(trt_waker w)
{
    w.vtable->wake(w.data);
}

void trt_waker_wake_by_ref(const trt_waker *w)
{
    w->vtable->wake_by_ref(w->data);
}

void trt_waker_drop(trt_waker w)
{
    w.vtable->drop(w.data);
}

bool trt_waker_will_wake(const trt_waker *a, const trt_waker *b)
{
    return a->data == b->data && a->vtable == b->vtable;
}

/* Polls `f` with its poll function pushed on the thread's chain
 * (TRT_FN_FUTURE_POLL_CHAINED, hidden in dumps like trt_future_poll).
 * Deeper than TRT_RECORD_CHAIN_MAX, only the depth is counted. */
TRT_NAMED_FRAME static trt_poll trt_future_poll_chained(struct trt__chain *c, trt_future *f,
                                                        trt_context *cx)
{
    uint32_t d = c->depth;
    if (d < TRT_RECORD_CHAIN_MAX)
        c->fn[d] = (uint64_t)(uintptr_t)f->poll;
    c->depth = d + 1;
    trt_poll r = f->poll(f, cx);
    c->depth = d;
    return r;
}

trt_poll trt_future_poll(trt_future *f, trt_context *cx)
{
    /* A normal poll: one thread-local load and a branch, then the same
     * tail jump as ever. */
    struct trt__chain *c = trt__chain_cur;
    if (__builtin_expect(c != NULL, 0))
        return trt_future_poll_chained(c, f, cx);
    return f->poll(f, cx);
}
