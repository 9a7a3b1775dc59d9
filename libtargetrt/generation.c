/* Dump generations.  The doorbell starts one: it marks every live task as
 * owing it and wakes each through its cached waker.  The executor polls
 * them as usual; the wrapper traces those polls (traced.c) and reports each
 * here, as does trt_traced_free for a task that still owed it.  The last
 * report publishes `done`.  The runtime never polls a task itself. */
#include <errno.h>
#include <linux/futex.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "rt_internal.h"

/* Wakers cloned per batch of the registry walk: the doorbell wakes them
 * with no lock held, from its own stack, with no allocation. */
#define WAKE_BATCH 64

static void publish_done(uint32_t gen)
{
    TRT_STORE(&tasktrace_control.gen_done_ns, trt_clock_ns(CLOCK_MONOTONIC));
    __atomic_store_n(&tasktrace_control.done, gen, __ATOMIC_RELEASE);
    /* For in-process waiters (tests); a tool outside polls the word. */
    syscall(SYS_futex, &tasktrace_control.done, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

void trt__gen_finish_one(uint32_t gen)
{
    uint64_t v = __atomic_load_n(&tasktrace_control.gen_pending, __ATOMIC_ACQUIRE);
    for (;;) {
        /* A stale generation, superseded by a newer request: nothing owed. */
        if ((uint32_t)(v >> 32) != gen || (uint32_t)v == 0)
            return;
        if (__atomic_compare_exchange_n(&tasktrace_control.gen_pending, &v, v - 1, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
    }
    if ((uint32_t)(v - 1) == 0)
        publish_done(gen);
}

struct mark_batch {
    uint32_t gen;
    size_t marked;
    size_t nwakers;
    trt_waker wakers[WAKE_BATCH];
};

/* Marks one task (under the registry mutex) and takes a clone of its
 * waker; stops the walk when the batch is full. */
static bool mark_one(struct trt__task *t, void *arg)
{
    struct mark_batch *b = arg;
    if (b->nwakers == WAKE_BATCH)
        return false;
    if (TRT_LOAD(&t->slot->state) == TRT_TASK_DONE)
        return true;
    /* Count before marking: the task may be traced at once. */
    __atomic_add_fetch(&tasktrace_control.gen_pending, 1, __ATOMIC_ACQ_REL);
    __atomic_store_n(&t->slot->pending_gen, b->gen, __ATOMIC_RELEASE);
    b->marked++;
    if (trt__task_waker_clone(t, &b->wakers[b->nwakers]))
        b->nwakers++;
    return true;
}

void trt__gen_start(uint32_t gen)
{
    trt__capture_begin_gen(gen, trt__registry_live());
    TRT_STORE(&tasktrace_control.gen_start_ns, trt_clock_ns(CLOCK_MONOTONIC));
    /* The doorbell holds one count until every task has been marked, so that
     * the generation cannot complete half-way through the walk. */
    __atomic_store_n(&tasktrace_control.gen_pending, ((uint64_t)gen << 32) | 1, __ATOMIC_RELEASE);
    __atomic_store_n(&tasktrace_control.active, gen, __ATOMIC_RELEASE);
    struct mark_batch b = {.gen = gen};
    uint32_t cursor = 0;
    while (cursor != UINT32_MAX) {
        b.nwakers = 0;
        trt__registry_walk(&cursor, mark_one, &b);
        /* A dump is a spurious wake-up: every task is polled once more by
         * its own executor, which must tolerate it anyway.  Wakes run with
         * no lock held; a task created meanwhile is not part of this
         * generation, and one freed meanwhile reported itself when freed. */
        for (size_t i = 0; i < b.nwakers; i++)
            trt_waker_wake(b.wakers[i]);
    }
    TRT_STORE(&tasktrace_control.gen_tasks,
              (uint32_t)(b.marked > UINT32_MAX ? UINT32_MAX : b.marked));
    trt__gen_finish_one(gen);
}

/* The last generation the runtime asked for itself (trt__dump_request):
 * the doorbell takes a request word holding any other value for a tool's.
 * The value can outlive its request (a tool overwrote the word before the
 * doorbell took it); a tool's requests are odd and this one's even, so a
 * later tool's request never matches it. */
static uint32_t inner_req;

uint32_t trt__dump_request(void)
{
    uint32_t req = __atomic_load_n(&tasktrace_control.request, __ATOMIC_ACQUIRE);
    for (;;) {
        uint32_t active = __atomic_load_n(&tasktrace_control.active, __ATOMIC_ACQUIRE);
        /* A request not started yet, a tool's or ours, serves this one too
         * (the doorbell takes every queued request when it starts): never
         * overwrite a tool's, whose generation it waits for. */
        if (req != 0 && req != active)
            break;
        /* Even, where a tool's are odd (protocol.h). */
        uint32_t gen = trt_gen_inner_next(active);
        uint32_t prev = __atomic_exchange_n(&inner_req, gen, __ATOMIC_SEQ_CST);
        if (__atomic_compare_exchange_n(&tasktrace_control.request, &req, gen, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE)) {
            req = gen;
            break;
        }
        /* Someone else wrote the word first.  Unless it was another of
         * ours with the same value, take back the mark. */
        if (req != gen)
            __atomic_compare_exchange_n(&inner_req, &gen, prev, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED);
    }
    syscall(SYS_futex, &tasktrace_control.request, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    return req;
}

bool trt__gen_inner(uint32_t gen)
{
    return (gen & 1u) == 0 && __atomic_load_n(&inner_req, __ATOMIC_SEQ_CST) == gen;
}

int trt__dump_wait(uint32_t gen, int timeout_ms)
{
    uint64_t deadline = trt_clock_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        uint32_t done = __atomic_load_n(&tasktrace_control.done, __ATOMIC_ACQUIRE);
        if ((int32_t)(done - gen) >= 0)
            return 0;
        uint64_t now = trt_clock_ns(CLOCK_MONOTONIC);
        if (now >= deadline)
            return -ETIMEDOUT;
        struct timespec ts =
            trt_ns_timespec(deadline - now < 10000000u ? deadline - now : 10000000u);
        syscall(SYS_futex, &tasktrace_control.done, FUTEX_WAIT_PRIVATE, done, &ts, NULL, 0);
    }
}
