/* The test waker and leaf of twaker.h. */
#include "twaker.h"

static trt_waker tw_clone(const void *data);
static void tw_wake(const void *data);
static void tw_wake_by_ref(const void *data);
static void tw_drop(const void *data);

static const trt_waker_vtable tw_vtable = {tw_clone, tw_wake, tw_wake_by_ref, tw_drop};

static trt_waker tw_clone(const void *data)
{
    struct twaker *tw = (struct twaker *)data;
    atomic_fetch_add(&tw->refs, 1);
    return (trt_waker){data, &tw_vtable};
}

static void tw_wake_by_ref(const void *data)
{
    struct twaker *tw = (struct twaker *)data;
    atomic_fetch_add(&tw->wakes, 1);
    atomic_store(&tw->woken, true);
}

static void tw_wake(const void *data)
{
    tw_wake_by_ref(data);
    tw_drop(data);
}

static void tw_drop(const void *data)
{
    struct twaker *tw = (struct twaker *)data;
    atomic_fetch_sub(&tw->refs, 1);
}

trt_waker twaker_borrow(struct twaker *tw)
{
    return (trt_waker){tw, &tw_vtable};
}

static trt_poll tleaf_poll(trt_future *f, trt_context *cx)
{
    struct tleaf *l = (struct tleaf *)f;
    if (l->ready)
        return TRT_READY;
    if (l->no_clone)
        return TRT_PENDING;
    if (!l->have || !trt_waker_will_wake(&l->kept, cx->waker)) {
        trt_waker fresh = trt_waker_clone(cx->waker);
        if (l->have)
            trt_waker_drop(l->kept);
        l->kept = fresh;
        l->have = true;
    }
    return TRT_PENDING;
}

void tleaf_init(struct tleaf *l)
{
    *l = (struct tleaf){.base = {tleaf_poll}};
}

void tleaf_drop(struct tleaf *l)
{
    if (l->have)
        trt_waker_drop(l->kept);
    l->have = false;
}
