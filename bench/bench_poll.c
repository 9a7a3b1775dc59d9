/* bench_poll: what tracing costs a program, in figures (no pass/fail).
 *
 *   1. A poll with no dump in flight: a trivial future polled directly,
 *      against the same future wrapped by trt_traced_new and polled through
 *      the wrapper; then the same for a chain of three non-inlined futures.
 *   2. A poll during a dump: one generation per measurement, the time of the
 *      task's traced poll, whose leaf clones the tracing waker.
 *   3. One stack capture (trt__capture) at a shallow and a deep stack.
 *   4. A whole in-process dump generation of many tasks, from the request
 *      until every task has reported.
 *
 * Each figure is the best (minimum) of several rounds, or the median where
 * a single measurement is one event.  Usage:
 *   bench_poll [--polls N] [--rounds R] [--tasks T]
 * Exit status 0, 1 on a runtime error, 64 on bad usage. */
#include <errno.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tasktrace/clock.h>
#include <tasktrace/rt.h>

#include "../libtargetrt/rt_internal.h"

#define NOINLINE __attribute__((noinline))
/* Hides a value from the optimizer, so it can neither hoist nor drop the
 * work that produces or uses it. */
#define OPAQUE(v) __asm__ volatile("" : "+r"(v))
/* Keeps a call from becoming a tail call, so each poll is a frame. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

static volatile uint64_t sink;

static uint64_t now_ns(void)
{
    return trt_clock_ns(CLOCK_MONOTONIC);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts V and returns its median. */
static uint64_t median(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---------------------------------------------------------------- waker */

/* An executor's task handle, reduced to a flag: every waker of the bench
 * points at one of these, and clones are free (the tasks outlive them). */
struct handle {
    atomic_uint woken;
};

static trt_waker handle_clone(const void *data);
static void handle_wake(const void *data);
static void handle_drop(const void *data);

static const trt_waker_vtable handle_vtable = {
    handle_clone,
    handle_wake,
    handle_wake,
    handle_drop,
};

static trt_waker handle_clone(const void *data)
{
    return (trt_waker){data, &handle_vtable};
}

static void handle_wake(const void *data)
{
    struct handle *h = (struct handle *)data;
    atomic_store_explicit(&h->woken, 1, memory_order_release);
}

static void handle_drop(const void *data)
{
    (void)data;
}

/* ---------------------------------------------------------------- futures */

/* A leaf that never completes and keeps a clone of its waker, replacing it
 * only when the context's waker would wake something else: the shape of a
 * well-behaved leaf, and a clone on every traced poll. */
struct leaf {
    trt_future base;
    trt_waker kept; /* vtable NULL until the first poll */
    uint64_t polls;
};

static NOINLINE trt_poll leaf_poll(trt_future *f, trt_context *cx)
{
    struct leaf *l = (struct leaf *)f;
    l->polls++;
    if (!l->kept.vtable || !trt_waker_will_wake(&l->kept, cx->waker)) {
        if (l->kept.vtable)
            trt_waker_drop(l->kept);
        l->kept = trt_waker_clone(cx->waker);
    }
    return TRT_PENDING;
}

/* A level of a chain: polls its child through the ABI helper, the way
 * generated or hand-written combinators do. */
struct level {
    trt_future base;
    trt_future *child;
};

static NOINLINE trt_poll level_poll(trt_future *f, trt_context *cx)
{
    struct level *l = (struct level *)f;
    trt_poll r = trt_future_poll(l->child, cx);
    KEEP_FRAME();
    return r;
}

/* Distinct functions, so a symbolized stack would read as three levels. */
static NOINLINE trt_poll outer_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = level_poll(f, cx);
    KEEP_FRAME();
    return r;
}

static NOINLINE trt_poll middle_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = level_poll(f, cx);
    KEEP_FRAME();
    return r;
}

/* outer -> middle -> leaf. */
struct chain {
    struct level outer, middle;
    struct leaf leaf;
};

static void chain_init(struct chain *c)
{
    memset(c, 0, sizeof(*c));
    c->leaf.base.poll = leaf_poll;
    c->middle = (struct level){{middle_poll}, &c->leaf.base};
    c->outer = (struct level){{outer_poll}, &c->middle.base};
}

/* ---------------------------------------------------------------- 1. polls */

/* Polls F N times with CX; returns the nanoseconds per poll. */
static NOINLINE double poll_loop(trt_future *f, trt_context *cx, uint64_t n)
{
    uint64_t acc = 0;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        trt_future *g = f;
        OPAQUE(g);
        acc += (uint64_t)g->poll(g, cx);
    }
    uint64_t t1 = now_ns();
    sink += acc;
    return (double)(t1 - t0) / (double)n;
}

/* Times BARE and TRACED in alternating rounds (so that a frequency change
 * hits both alike) and prints the best of each. */
static void bench_pair(const char *what, trt_future *bare, trt_future *traced, trt_context *cx,
                       uint64_t n, int rounds)
{
    double best_bare = 1e30, best_traced = 1e30;
    /* Warm up: caches, branch predictors, the first clone. */
    poll_loop(bare, cx, n / 50 + 1);
    poll_loop(traced, cx, n / 50 + 1);
    for (int r = 0; r < rounds; r++) {
        double b = poll_loop(bare, cx, n);
        double t = poll_loop(traced, cx, n);
        if (b < best_bare)
            best_bare = b;
        if (t < best_traced)
            best_traced = t;
    }
    printf("poll %s bare:   %6.2f ns/poll\n", what, best_bare);
    printf("poll %s traced: %6.2f ns/poll (%+.2f ns)\n", what, best_traced,
           best_traced - best_bare);
}

/* ---------------------------------------------------------------- 2. dump poll */

/* The traced poll of one task during a dump, ROUNDS generations.  The task
 * must be the only live one.  Returns 0 or -errno. */
static int bench_dump_poll(trt_future *traced, struct handle *h, trt_context *cx, int rounds)
{
    uint64_t *t = calloc((size_t)rounds, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (int r = 0; r < rounds; r++) {
        atomic_store(&h->woken, 0);
        uint32_t gen = trt__dump_request();
        /* The doorbell thread marks the task, then wakes it. */
        while (!atomic_load_explicit(&h->woken, memory_order_acquire))
            ;
        uint64_t t0 = now_ns();
        sink += (uint64_t)traced->poll(traced, cx);
        t[r] = now_ns() - t0;
        if (trt__dump_wait(gen, 1000) < 0) {
            free(t);
            return -ETIMEDOUT;
        }
    }
    uint64_t med = median(t, (size_t)rounds);
    printf("poll chain during a dump (1 capture): %.2f us median, %.2f us min (%d generations)\n",
           (double)med / 1e3, (double)t[0] / 1e3, rounds);
    free(t);
    return 0;
}

/* ---------------------------------------------------------------- 3. capture */

struct capture_run {
    uint32_t gen;
    uint64_t id;
    int reps;
    int frames;        /* stack depth seen by backtrace() at the capture */
    double capture_ns; /* trt__capture, per call */
    double bt_ns;      /* backtrace() alone, per call */
};

static NOINLINE void capture_at_bottom(struct capture_run *c)
{
    void *pcs[TRT_RECORD_MAX_PCS + 1];
    c->frames = backtrace(pcs, TRT_RECORD_MAX_PCS + 1);
    double best_cap = 1e30, best_bt = 1e30;
    for (int round = 0; round < 5; round++) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < c->reps; i++)
            sink += (uint64_t)trt__capture(c->gen, c->id, 0);
        uint64_t t1 = now_ns();
        for (int i = 0; i < c->reps; i++)
            sink += (uint64_t)backtrace(pcs, TRT_RECORD_MAX_PCS + 1);
        uint64_t t2 = now_ns();
        double cap = (double)(t1 - t0) / c->reps, bt = (double)(t2 - t1) / c->reps;
        if (cap < best_cap)
            best_cap = cap;
        if (bt < best_bt)
            best_bt = bt;
    }
    c->capture_ns = best_cap;
    c->bt_ns = best_bt;
}

/* Recurses LEVELS frames deep, then measures. */
static NOINLINE int capture_descend(struct capture_run *c, int levels)
{
    if (levels <= 0)
        capture_at_bottom(c);
    else
        capture_descend(c, levels - 1);
    KEEP_FRAME();
    return levels;
}

static NOINLINE int stack_depth_here(void)
{
    void *pcs[TRT_RECORD_MAX_PCS + 1];
    return backtrace(pcs, TRT_RECORD_MAX_PCS + 1);
}

static void bench_capture(uint32_t gen, uint64_t id, int depth)
{
    /* capture_descend(c, 0) adds two frames to ours: itself and the bottom. */
    int levels = depth - (stack_depth_here() - 1) - 2;
    struct capture_run c = {gen, id, 20000, 0, 0, 0};
    capture_descend(&c, levels > 0 ? levels : 0);
    printf("capture: %.2f us/record (depth %d frames; backtrace() alone %.2f us)\n",
           c.capture_ns / 1e3, c.frames, c.bt_ns / 1e3);
}

/* ---------------------------------------------------------------- 4. whole dump */

struct task {
    struct chain fut;
    struct handle handle;
    trt_future *traced;
};

/* An executor's loop, reduced to the part a dump uses: poll every woken task
 * until generation GEN is done.  Returns the tasks polled, or -ETIMEDOUT. */
static long run_until_done(struct task *tasks, size_t n, uint32_t gen)
{
    long polled = 0;
    uint64_t deadline = now_ns() + 10ull * 1000000000u;
    while (trt__dump_wait(gen, 0) != 0) {
        for (size_t i = 0; i < n; i++) {
            struct task *t = &tasks[i];
            if (!atomic_load_explicit(&t->handle.woken, memory_order_acquire))
                continue;
            atomic_store_explicit(&t->handle.woken, 0, memory_order_relaxed);
            trt_waker w = {&t->handle, &handle_vtable};
            trt_context cx = {&w};
            sink += (uint64_t)t->traced->poll(t->traced, &cx);
            polled++;
        }
        if (now_ns() > deadline)
            return -ETIMEDOUT;
    }
    return polled;
}

static int bench_dump(size_t ntasks, int rounds)
{
    int err = 0;
    struct task *tasks = calloc(ntasks, sizeof(*tasks));
    uint64_t *ms = calloc((size_t)rounds, sizeof(*ms));
    size_t made = 0;
    if (!tasks || !ms) {
        err = -ENOMEM;
        goto out;
    }
    for (; made < ntasks; made++) {
        struct task *t = &tasks[made];
        chain_init(&t->fut);
        t->traced = trt_traced_new(&t->fut.outer.base, "bench-task");
        if (!t->traced) {
            err = -errno;
            goto out;
        }
        /* The executor's first poll: the leaf keeps a clone of the waker. */
        trt_waker w = {&t->handle, &handle_vtable};
        trt_context cx = {&w};
        sink += (uint64_t)t->traced->poll(t->traced, &cx);
    }
    uint64_t lost0 = __atomic_load_n(&tasktrace_control.records_lost, __ATOMIC_RELAXED);
    long polled = 0;
    /* One generation more than measured: the first one sizes the ring. */
    for (int r = -1; r < rounds; r++) {
        uint64_t t0 = now_ns();
        uint32_t gen = trt__dump_request();
        polled = run_until_done(tasks, ntasks, gen);
        uint64_t t1 = now_ns();
        if (polled < 0) {
            err = (int)polled;
            goto out;
        }
        if (r >= 0)
            ms[r] = t1 - t0;
    }
    uint64_t lost = __atomic_load_n(&tasktrace_control.records_lost, __ATOMIC_RELAXED) - lost0;
    uint64_t med = median(ms, (size_t)rounds);
    printf("dump in-process: %.2f ms median, %.2f ms min for %zu tasks "
           "(%.2f us/task; %ld traced polls, %llu records lost; %d generations)\n",
           (double)med / 1e6, (double)ms[0] / 1e6, ntasks, (double)med / 1e3 / (double)ntasks,
           polled, (unsigned long long)lost, rounds);
out:
    for (size_t i = 0; i < made; i++)
        trt_traced_free(tasks[i].traced);
    free(tasks);
    free(ms);
    return err;
}

/* ---------------------------------------------------------------- main */

static void print_context(uint64_t polls, int rounds)
{
    char model[128] = "unknown", clocksrc[64] = "unknown", line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        while (fgets(line, sizeof(line), f))
            if (strncmp(line, "model name", 10) == 0) {
                char *colon = strchr(line, ':');
                if (colon) {
                    snprintf(model, sizeof(model), "%s", colon + 2);
                    model[strcspn(model, "\n")] = '\0';
                }
                break;
            }
        fclose(f);
    }
    f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (f) {
        if (fgets(clocksrc, sizeof(clocksrc), f))
            clocksrc[strcspn(clocksrc, "\n")] = '\0';
        fclose(f);
    }
    printf("machine: %ld CPUs online, %s, clocksource %s\n", sysconf(_SC_NPROCESSORS_ONLN), model,
           clocksrc);
#ifdef __OPTIMIZE__
    const char *opt = "optimized";
#else
    const char *opt = "not optimized";
#endif
#if defined(__clang__)
    const char *cc = "clang";
#elif defined(__GNUC__)
    const char *cc = "gcc";
#else
    const char *cc = "cc";
#endif
    printf("compiler: %s %s (%s)\n", cc, __VERSION__, opt);
    printf("rounds: %d x %llu polls, best round reported\n", rounds, (unsigned long long)polls);
}

static int parse_count(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long long polls = 50000000, rounds = 7, ntasks = 10000;
    for (int i = 1; i < argc; i++) {
        unsigned long long *dst = NULL, max = 0;
        if (strcmp(argv[i], "--polls") == 0)
            dst = &polls, max = 1ull << 40;
        else if (strcmp(argv[i], "--rounds") == 0)
            dst = &rounds, max = 1000;
        else if (strcmp(argv[i], "--tasks") == 0)
            dst = &ntasks, max = 1000000;
        if (!dst || i + 1 >= argc || parse_count(argv[++i], max, dst) < 0) {
            fprintf(stderr, "usage: bench_poll [--polls N] [--rounds R] [--tasks T]\n");
            return 64;
        }
    }
    print_context(polls, (int)rounds);

    struct handle h = {0};
    trt_waker w = {&h, &handle_vtable};
    trt_context cx = {&w};

    /* 1. No dump in flight.  Two futures of each shape, so the bare one and
     * the traced one keep their own state. */
    struct leaf bare_leaf = {{leaf_poll}, {0}, 0}, inner_leaf = {{leaf_poll}, {0}, 0};
    struct chain bare_chain, inner_chain;
    chain_init(&bare_chain);
    chain_init(&inner_chain);
    trt_future *traced_leaf = trt_traced_new(&inner_leaf.base, "bench-leaf");
    trt_future *traced_chain = trt_traced_new(&inner_chain.outer.base, "bench-chain");
    if (!traced_leaf || !traced_chain) {
        perror("bench_poll: trt_traced_new");
        return 1;
    }
    bench_pair("leaf", &bare_leaf.base, traced_leaf, &cx, polls, (int)rounds);
    bench_pair("chain", &bare_chain.outer.base, traced_chain, &cx, polls, (int)rounds);
    trt_traced_free(traced_leaf);

    /* 2. During a dump; the chain task is the only one left. */
    int err = bench_dump_poll(traced_chain, &h, &cx, 1001);
    if (err < 0) {
        fprintf(stderr, "bench_poll: dump of one task: %s\n", strerror(-err));
        return 1;
    }

    /* 3. Captures, into the ring the generations above created, tagged with
     * the last generation (overwriting its own records is fine here). */
    uint32_t gen = __atomic_load_n(&tasktrace_control.done, __ATOMIC_ACQUIRE);
    uint64_t id = trt_traced_id(traced_chain);
    bench_capture(gen, id, 10);
    bench_capture(gen, id, 30);
    trt_traced_free(traced_chain);

    /* 4. A whole generation of many tasks. */
    err = bench_dump((size_t)ntasks, 5);
    if (err < 0) {
        fprintf(stderr, "bench_poll: dump of %llu tasks: %s\n", ntasks, strerror(-err));
        return 1;
    }
    return 0;
}
