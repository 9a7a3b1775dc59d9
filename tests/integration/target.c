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
 *   c1-names          a task and the main thread named with UTF-8-encoded
 *                     C1 controls (U+009B, a terminal's CSI; U+0085)
 *   corrupt-control   the control block's version is wrong
 *   corrupt-registry  the registry's slot size is wrong
 *   dup-chunks        the registry lists its one chunk 1024 times
 *   torn              "torn" corrupts the record its dump poll captured
 *   ring-errno        the runtime says it had no ring for the dump
 *   doorbell-errno    the runtime says it could not start its doorbell
 *   inherited         "heir" is marked inherited at a fork and not polled
 *   block-esc         as block, the stuck task's name holds escapes
 *   many-stacks       "fan" captures 65,536 distinct stacks (4,096 of
 *                     them twice) beside 16,384 filler tasks that make
 *                     the runtime's ring large enough
 *   movers            "ticker-1" and "ticker-2" are woken every 10 ms and
 *                     polled; "parked-3" and "parked-4" never are: two
 *                     dumps apart tell the moving from the still
 * Prints "pid N" and runs until killed. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <tasktrace/clock.h>
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

/* The record the last capture of this thread wrote: the newest of the
 * ring, as only one task runs at a time here. */
static struct trt_record *newest_record(void)
{
    struct trt_ring *r = (struct trt_ring *)(uintptr_t)tasktrace_control.ring_addr;
    if (r == NULL || r->head == 0)
        return NULL;
    struct trt_record *recs = (struct trt_record *)((char *)r + r->size);
    return &recs[(r->head - 1) & (r->capacity - 1)];
}

/* From its second poll (the dump's) on, breaks the record it captured:
 * one PC changed, the checksum not. */
__attribute__((noinline)) static trt_poll torn_leaf_poll(trt_future *f, trt_context *cx)
{
    struct fut *s = (struct fut *)f;
    trt_waker w = trt_waker_clone(cx->waker);
    trt_waker_drop(w);
    if (++s->polls >= 2) {
        struct trt_record *rec = newest_record();
        if (rec != NULL && rec->task_id == 2)
            rec->pc[0] ^= 0x10;
    }
    return TRT_PENDING;
}

/* From its second poll on, reports that the runtime could not map the
 * generation's ring, as a failed mmap would. */
__attribute__((noinline)) static trt_poll ring_errno_poll(trt_future *f, trt_context *cx)
{
    struct fut *s = (struct fut *)f;
    trt_waker w = trt_waker_clone(cx->waker);
    trt_waker_drop(w);
    if (++s->polls >= 2) {
        tasktrace_control.ring_errno_gen = tasktrace_control.active;
        tasktrace_control.ring_errno = ENOMEM;
    }
    return TRT_PENDING;
}

/* 2^FAN_DEPTH distinct stacks: each level calls the next from one of two
 * call sites, chosen by one bit of `bits`. */
#define FAN_DEPTH 16
static volatile unsigned twice = 2;
/* One capture, or for one stack in 16 two from the same call site (a loop
 * the compiler cannot unroll: `twice` is volatile), which the tool must
 * keep once. */
__attribute__((noinline)) static void fan_leaf(unsigned bits, trt_context *cx)
{
    for (unsigned i = 0; i < ((bits & 15) == 0 ? twice : 1); i++) {
        trt_waker w = trt_waker_clone(cx->waker);
        trt_waker_drop(w);
    }
    sink++;
}
__attribute__((noinline)) static void fan_b(int depth, unsigned bits, trt_context *cx);
__attribute__((noinline)) static void fan_a(int depth, unsigned bits, trt_context *cx)
{
    if (depth == FAN_DEPTH)
        fan_leaf(bits, cx);
    else if (bits >> depth & 1)
        fan_a(depth + 1, bits, cx);
    else
        fan_b(depth + 1, bits, cx);
    sink++;
}
__attribute__((noinline)) static void fan_b(int depth, unsigned bits, trt_context *cx)
{
    if (depth == FAN_DEPTH)
        fan_leaf(bits, cx);
    else if (bits >> depth & 1)
        fan_a(depth + 1, bits, cx);
    else
        fan_b(depth + 1, bits, cx);
    sink += 2; /* unlike fan_a: the compiler must not fold them into one */
}

__attribute__((noinline)) static trt_poll fan_poll(trt_future *f, trt_context *cx)
{
    struct fut *s = (struct fut *)f;
    if (++s->polls >= 2)
        for (unsigned bits = 0; bits < 1u << FAN_DEPTH; bits++)
            fan_a(0, bits, cx);
    else
        fan_a(FAN_DEPTH, 0, cx);
    return TRT_PENDING;
}

/* The filler tasks of many-stacks: polled whenever woken, never capturing. */
#define NFILL 16384
static trt_future fill_leaf = {lazy_leaf_poll};
static trt_future *fill[NFILL];
static atomic_int fill_woken[NFILL];

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

/* movers: the first `nticking` tasks are woken every 10 ms. */
static int nticking;

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
    } else if (strcmp(mode, "c1-names") == 0) {
        spawn("c1\xc2\x9b"
              "31mred",
              leaf_poll);
        prctl(PR_SET_NAME, "t\xc2\x85"
                           "c1");
    } else if (strcmp(mode, "corrupt-control") == 0) {
        spawn("foo", leaf_poll);
        tasktrace_control.version = 99;
    } else if (strcmp(mode, "corrupt-registry") == 0) {
        spawn("foo", leaf_poll);
        trt__registry_get()->slot_size = 7;
    } else if (strcmp(mode, "dup-chunks") == 0) {
        spawn("foo", leaf_poll);
        /* The tool reads the registry the control block points to; the
         * runtime keeps using its own, intact. */
        static struct trt_registry copy;
        copy = *trt__registry_get();
        for (unsigned i = 1; i < TRT_REGISTRY_MAX_CHUNKS; i++)
            copy.chunks[i] = copy.chunks[0];
        copy.nchunks = TRT_REGISTRY_MAX_CHUNKS;
        tasktrace_control.registry_addr = (uint64_t)(uintptr_t)&copy;
    } else if (strcmp(mode, "torn") == 0) {
        spawn("ok", leaf_poll);
        spawn("torn", torn_leaf_poll);
    } else if (strcmp(mode, "ring-errno") == 0) {
        spawn("foo", ring_errno_poll);
    } else if (strcmp(mode, "doorbell-errno") == 0) {
        spawn("foo", leaf_poll);
        /* As if the doorbell thread had failed to start: the tool cannot
         * ring, and must say why.  The thread publishes its id once it
         * runs: wait for that first. */
        while (__atomic_load_n(&tasktrace_control.doorbell_tid, __ATOMIC_ACQUIRE) == 0)
            usleep(1000);
        tasktrace_control.doorbell_tid = 0;
        tasktrace_control.doorbell_errno = EAGAIN;
        tasktrace_control.doorbell_fails = 3;
    } else if (strcmp(mode, "inherited") == 0) {
        spawn("ok", leaf_poll);
        spawn("heir", leaf_poll);
        poll_task(0);
        poll_task(1);
        /* As a fork would leave it: registered before, never polled
         * after, the executor that polled it left in the parent. */
        struct trt_task_slot *slots =
            (struct trt_task_slot *)(uintptr_t)trt__registry_get()->chunks[0];
        for (unsigned i = 0; i < TRT_REGISTRY_CHUNK_SLOTS; i++)
            if (slots[i].id != 0 && strcmp(slots[i].name, "heir") == 0)
                slots[i].flags |= TRT_TASK_F_INHERITED;
        tasktrace_control.fork_ns = trt_clock_ns(CLOCK_MONOTONIC_COARSE) + 1;
        ntasks = 1;
    } else if (strcmp(mode, "block-esc") == 0) {
        spawn("ok", leaf_poll);
        spawn("esc\x1b]0;owned\x07\x1b[2Jx", trouble_poll);
    } else if (strcmp(mode, "many-stacks") == 0) {
        spawn("fan", fan_poll);
        for (int i = 0; i < NFILL; i++) {
            if (!(fill[i] = trt_traced_new(&fill_leaf, "fill"))) {
                perror("trt_traced_new");
                exit(1);
            }
            atomic_store(&fill_woken[i], 1);
        }
    } else if (strcmp(mode, "movers") == 0) {
        spawn("ticker-1", leaf_poll);
        spawn("ticker-2", leaf_poll);
        spawn("parked-3", leaf_poll);
        spawn("parked-4", leaf_poll);
        nticking = 2;
    } else if (strcmp(mode, "notask") != 0) {
        fprintf(stderr, "target: unknown mode %s\n", mode);
        return 64;
    }
    printf("pid %d\n", (int)getpid());
    fflush(stdout);
    for (unsigned long round = 0;; round++) {
        for (int i = 0; i < nticking && round % 10 == 0; i++)
            atomic_store(&woken[i], 1);
        for (int i = 0; i < ntasks; i++)
            poll_task(i);
        for (int i = 0; i < NFILL && fill[i] != NULL; i++) {
            if (!atomic_exchange(&fill_woken[i], 0))
                continue;
            trt_waker w = {&fill_woken[i], &vt};
            trt_context cx = {&w};
            trt_future_poll(fill[i], &cx);
        }
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
