/* A task's cached waker: the clone of the waker its last executor poll
 * passed, which the doorbell clones to wake the task for a dump.  A spin
 * lock guards it; it is taken only when the poll's waker differs from the
 * cached one (a normal poll with an unchanged waker takes no lock), by the
 * doorbell for each task it wakes, and by fork.c across fork(). */
#include "rt_internal.h"

void trt__task_lock(struct trt__task *t)
{
    while (atomic_flag_test_and_set_explicit(&t->lock, memory_order_acquire))
        ;
}

void trt__task_unlock(struct trt__task *t)
{
    atomic_flag_clear_explicit(&t->lock, memory_order_release);
}

void trt__task_waker_set(struct trt__task *t, const trt_waker *w)
{
    trt_waker fresh = trt_waker_clone(w);
    trt__task_lock(t);
    trt_waker old = t->waker;
    t->waker = fresh;
    trt__task_unlock(t);
    if (old.vtable)
        trt_waker_drop(old);
}

bool trt__task_waker_clone(struct trt__task *t, trt_waker *out)
{
    trt__task_lock(t);
    bool have = t->waker.vtable != NULL;
    if (have)
        *out = trt_waker_clone(&t->waker);
    trt__task_unlock(t);
    return have;
}
