/* Traced tasks: the wrapper future an executor polls in place of the task's
 * own future, and the public API that creates, frees and names them.
 *
 * A normal poll updates the task's slot and calls the inner future: no
 * syscall and no allocation; it reads the coarse clock once (vDSO), and it
 * takes the task's waker spin lock only when the executor passes a waker
 * other than the one cached (task.c).  A poll of a task that owes a dump
 * generation passes a tracing waker instead, whose clone and wake_by_ref
 * record the stack before forwarding to the real waker. */
#include <errno.h>
#include <stdlib.h>

#include "rt_internal.h"

/* The tracing waker's data: lives on the stack of one traced poll. */
struct tracer {
    const trt_waker *real;
    uint64_t task_id;
    uint32_t gen;
    uint32_t calls;   /* clone and wake_by_ref calls: the waker was used */
    uint32_t records; /* captures that made it into the ring */
};

static trt_waker trt__tracer_clone(const void *data);
static void trt__tracer_wake(const void *data);
static void trt__tracer_wake_by_ref(const void *data);
static void trt__tracer_drop(const void *data);

static const trt_waker_vtable tracer_vtable = {
    trt__tracer_clone,
    trt__tracer_wake,
    trt__tracer_wake_by_ref,
    trt__tracer_drop,
};

/* Counts a use of the tracing waker and captures the stack.  Relaxed
 * atomics: a leaf may hand the waker to another thread. */
static void tracer_use(struct tracer *tr, uint32_t flags)
{
    __atomic_add_fetch(&tr->calls, 1, __ATOMIC_RELAXED);
    if (trt__capture(tr->gen, tr->task_id, flags) != -ENOMEM)
        __atomic_add_fetch(&tr->records, 1, __ATOMIC_RELAXED);
}

/* Named frames the tool cuts the stack at: TRT_FN_TRACER_CLONE and
 * TRT_FN_TRACER_WAKE_BY_REF. */
TRT_NAMED_FRAME static trt_waker trt__tracer_clone(const void *data)
{
    struct tracer *tr = (struct tracer *)data;
    tracer_use(tr, 0);
    /* The leaf keeps the real waker: nothing refers to this poll's stack
     * once it returns. */
    return trt_waker_clone(tr->real);
}

TRT_NAMED_FRAME static void trt__tracer_wake_by_ref(const void *data)
{
    struct tracer *tr = (struct tracer *)data;
    tracer_use(tr, TRT_RECORD_F_WAKE);
    trt_waker_wake_by_ref(tr->real);
}

/* The context's waker is borrowed, so consuming it is a caller's error;
 * treat it as wake_by_ref so the task still wakes. */
static void trt__tracer_wake(const void *data)
{
    trt__tracer_wake_by_ref(data);
}

static void trt__tracer_drop(const void *data)
{
    (void)data;
}

/* The poll under a dump generation (TRT_FN_TRACED_POLL_TRACING).  Not
 * counted as an executor poll, so the slot's poll count and times still
 * describe the task as it was. */
TRT_NAMED_FRAME static trt_poll trt__traced_poll_tracing(struct trt__task *t, trt_context *cx,
                                                         uint32_t gen)
{
    struct trt_task_slot *s = t->slot;
    struct tracer tr = {cx->waker, TRT_LOAD(&s->id), gen, 0, 0};
    trt_waker tw = {&tr, &tracer_vtable};
    trt_context tcx = {&tw};
    TRT_STORE(&s->tid, trt__tid());
    TRT_STORE(&s->state, TRT_TASK_POLLING);
    /* The chain of polled futures starts at the task's own future, whose
     * frame a tail call can remove too.  A traced poll nested in another
     * (a task polled from inside one) keeps the outer chain aside. */
    struct trt__chain chain = {1, {(uint64_t)(uintptr_t)t->inner->poll}};
    struct trt__chain *outer = trt__chain_cur;
    trt__chain_cur = &chain;
    trt_poll r = t->inner->poll(t->inner, &tcx);
    trt__chain_cur = outer;
    TRT_STORE(&s->traced_records, tr.records);
    uint32_t flags = TRT_LOAD(&s->flags) & ~TRT_TASK_F_SUSPECT;
    /* Suspect: pending without using the waker at all.  A capture that
     * failed (no ring) still counts as a use. */
    if (r == TRT_PENDING && tr.calls == 0)
        flags |= TRT_TASK_F_SUSPECT;
    TRT_STORE(&s->flags, flags);
    TRT_STORE(&s->traced_gen, gen);
    TRT_STORE(&s->tid, 0);
    TRT_STORE(&s->state, r == TRT_READY ? TRT_TASK_DONE : TRT_TASK_IDLE);
    uint32_t owed = gen;
    if (__atomic_compare_exchange_n(&s->pending_gen, &owed, 0, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED))
        trt__gen_finish_one(gen);
    return r;
}

TRT_NAMED_FRAME trt_poll trt__traced_poll(trt_future *f, trt_context *cx)
{
    struct trt__task *t = (struct trt__task *)f;
    struct trt_task_slot *s = t->slot;
    /* trt_waker_will_wake, inline: the exported one is a PLT call here. */
    if (t->waker.data != cx->waker->data || t->waker.vtable != cx->waker->vtable)
        trt__task_waker_set(t, cx->waker);
    uint32_t gen = __atomic_load_n(&s->pending_gen, __ATOMIC_ACQUIRE);
    if (gen != 0)
        return trt__traced_poll_tracing(t, cx, gen);
    /* One clock read per poll, at its start: poll_start_ns is the true
     * start (to one coarse tick), and poll_end_ns, stored when the poll
     * returns, is that same reading.  "Idle since" is then measured from
     * the start of the last poll, too long by the poll's duration, which a
     * tool can bound: a task still inside its poll is state POLLING. */
    uint64_t now = trt__now_coarse_ns();
    TRT_STORE(&s->tid, trt__tid());
    TRT_STORE(&s->poll_start_ns, now);
    TRT_STORE(&s->state, TRT_TASK_POLLING);
    trt_poll r = t->inner->poll(t->inner, cx);
    TRT_STORE(&s->poll_end_ns, now);
    TRT_STORE(&s->polls, s->polls + 1);
    TRT_STORE(&s->tid, 0);
    TRT_STORE(&s->state, r == TRT_READY ? TRT_TASK_DONE : TRT_TASK_IDLE);
    return r;
}

/* Both public constructors: spawn_pc is where the task was created. */
static trt_future *traced_new(trt_future *inner, const char *name, uint64_t spawn_pc)
{
    if (!inner || !inner->poll) {
        errno = EINVAL;
        return NULL;
    }
    struct trt__task *t = calloc(1, sizeof(*t));
    if (!t) {
        errno = ENOMEM;
        return NULL;
    }
    t->base.poll = trt__traced_poll;
    t->inner = inner;
    atomic_flag_clear(&t->lock);
    int err = trt__registry_add(t, name, spawn_pc);
    if (err < 0) {
        free(t);
        errno = -err;
        return NULL;
    }
    /* A process whose doorbell cannot start still runs its tasks; it only
     * cannot be dumped, which doorbell_errno tells the tool.  Neither the
     * fork handlers nor a spare ring are needed to run tasks either. */
    (void)trt__fork_init();
    (void)trt__capture_reserve(trt__registry_live());
    (void)trt__doorbell_ensure();
    return &t->base;
}

/* noinline: the return address must be the one into the caller's code,
 * not into a function this one was inlined into (within the library). */
__attribute__((noinline)) trt_future *trt_traced_new(trt_future *inner, const char *name)
{
    return traced_new(inner, name, (uint64_t)(uintptr_t)__builtin_return_address(0));
}

trt_future *trt_traced_new_at(trt_future *inner, const char *name, const void *spawn_pc)
{
    return traced_new(inner, name, (uint64_t)(uintptr_t)spawn_pc);
}

void trt_traced_free(trt_future *traced)
{
    if (!traced || traced->poll != trt__traced_poll)
        return;
    struct trt__task *t = (struct trt__task *)traced;
    uint32_t owed = trt__registry_remove(t);
    if (owed)
        trt__gen_finish_one(owed);
    /* Out of the registry now, so the doorbell cannot be cloning it. */
    if (t->waker.vtable)
        trt_waker_drop(t->waker);
    free(t);
}

unsigned long long trt_traced_id(const trt_future *traced)
{
    if (!traced || traced->poll != trt__traced_poll)
        return 0;
    const struct trt__task *t = (const struct trt__task *)traced;
    return TRT_LOAD(&t->slot->id);
}
