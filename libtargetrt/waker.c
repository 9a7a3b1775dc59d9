/* The ABI's helpers: thin calls through the waker's vtable. */
#include "rt_internal.h"

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

trt_poll trt_future_poll(trt_future *f, trt_context *cx)
{
    return f->poll(f, cx);
}
