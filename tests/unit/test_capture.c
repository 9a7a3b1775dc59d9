/* A capture's stack holds the leaf's callers: symbolized with libdw, the
 * record runs from the traced wrapper through every future to the leaf.
 * Captures survive the ring's replacement under them. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../libtargetrt/rt_internal.h"
#include "target/records.h"
#include "symbols/lookup.h"
#include "gen_util.h"
#include "suites.h"

struct chain {
    trt_future base;
    trt_future *next;
};

static volatile int sink;

/* noinline and work after the call: each stays a real frame. */
__attribute__((noinline)) static trt_poll capture_outer_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = trt_future_poll(((struct chain *)f)->next, cx);
    sink++;
    return r;
}

__attribute__((noinline)) static trt_poll capture_middle_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = trt_future_poll(((struct chain *)f)->next, cx);
    sink++;
    return r;
}

__attribute__((noinline)) static trt_poll capture_leaf_poll(trt_future *f, trt_context *cx)
{
    struct chain *c = (struct chain *)f;
    trt_waker w = trt_waker_clone(cx->waker);
    trt_waker_drop(w);
    sink++;
    (void)c;
    return TRT_PENDING;
}

static int index_of(const char **names, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], want) == 0)
            return (int)i;
    return -1;
}

START_TEST(stack_contains_callers)
{
    struct chain leaf = {{capture_leaf_poll}, NULL};
    struct chain middle = {{capture_middle_poll}, &leaf.base};
    struct chain outer = {{capture_outer_poll}, &middle.base};
    struct ttask task = {.inner = &outer.base};
    task.traced = trt_traced_new(&outer.base, "capture");
    ttask_poll(&task);
    uint32_t gen = trt__dump_request();
    ck_assert_int_eq(ttask_run_until_done(&task, 1, gen, 5000), 0);
    struct records_result res;
    ck_assert_int_eq(
        records_collect(tt_mem_read, NULL, TRT_LOAD(&tasktrace_control.ring_addr), gen, &res), 0);
    ck_assert_uint_eq(res.n, 1);
    int err;
    Dwfl *dwfl = lookup_dwfl_open_pid(getpid(), &err);
    ck_assert_ptr_nonnull(dwfl);
    lookup_ctx *sym = lookup_new(dwfl);
    const char *names[256];
    size_t n = 0;
    /* Innermost first in the record; list the frames root first. */
    for (uint32_t k = res.recs[0].npc; k-- > 0;) {
        const struct frame *const *f;
        size_t nf;
        if (lookup_pc(sym, res.recs[0].pc[k], true, &f, &nf) < 0)
            continue;
        for (size_t j = 0; j < nf && n < 256; j++)
            names[n++] = f[j]->function;
    }
    int wrapper = index_of(names, n, "trt__traced_poll_tracing");
    int outer_i = index_of(names, n, "capture_outer_poll");
    int middle_i = index_of(names, n, "capture_middle_poll");
    int leaf_i = index_of(names, n, "capture_leaf_poll");
    int clone_i = index_of(names, n, "trt__tracer_clone");
    ck_assert_int_ge(wrapper, 0);
    ck_assert_int_gt(outer_i, wrapper);
    ck_assert_int_gt(middle_i, outer_i);
    ck_assert_int_gt(leaf_i, middle_i);
    ck_assert_int_gt(clone_i, leaf_i);
    lookup_free(sym);
    dwfl_end(dwfl);
    records_free(&res);
    trt_traced_free(task.traced);
}
END_TEST

/* Writers capture while the ring is replaced by larger ones again and again
 * and its pages are given back: a published ring is never unmapped, so no
 * writer ever touches unmapped memory (a crash, or an ASan report, if one
 * did), and every ring ever published keeps a valid header. */
#define CAPTURE_WRITERS 4
#define RESIZES 8

static atomic_bool writers_stop;

static void *capture_loop(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg, n = 0;
    while (!atomic_load(&writers_stop)) {
        trt__capture(1, id, 0);
        n++;
    }
    return (void *)(uintptr_t)n;
}

START_TEST(ring_replaced_under_writers)
{
    struct trt_ring *seen[RESIZES + 1];
    /* The writers may write far more than the default memory cap holds:
     * a ring at the cap would not be replaced.  Read at the first use. */
    setenv("TASKTRACE_RING_MAX_MB", "65536", 1);
    trt__capture_begin_gen(1, 0);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.ring_max_mb), 65536);
    seen[0] = (struct trt_ring *)(uintptr_t)TRT_LOAD(&tasktrace_control.ring_addr);
    ck_assert_ptr_nonnull(seen[0]);
    pthread_t th[CAPTURE_WRITERS];
    for (int i = 0; i < CAPTURE_WRITERS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, capture_loop, (void *)(uintptr_t)(i + 1)), 0);
    for (int i = 1; i <= RESIZES; i++) {
        usleep(2000);
        /* Half the time the spare is mapped ahead, as task creation does.
         * A live count that wants twice the current ring: the ring is
         * also sized for what the last generation wrote (the writers'
         * records), which may ask for more, never for less. */
        uint64_t live = seen[i - 1]->capacity / 4 + 1;
        if (i % 2)
            ck_assert_int_eq(trt__capture_reserve(live), 0);
        trt__capture_begin_gen((uint32_t)(i + 1), live);
        ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.ring_errno_gen), i + 1);
        ck_assert_int_eq(TRT_LOAD(&tasktrace_control.ring_errno), 0);
        seen[i] = (struct trt_ring *)(uintptr_t)TRT_LOAD(&tasktrace_control.ring_addr);
        ck_assert_ptr_ne(seen[i], seen[i - 1]);
        ck_assert_uint_ge(seen[i]->capacity, live * 4);
        usleep(1000);
        ck_assert_int_eq(trt__capture_give_back((uint32_t)(i + 1)), 0);
    }
    atomic_store(&writers_stop, true);
    uint64_t total = 0;
    for (int i = 0; i < CAPTURE_WRITERS; i++) {
        void *n;
        pthread_join(th[i], &n);
        total += (uint64_t)(uintptr_t)n;
    }
    ck_assert_uint_gt(total, 0);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.records_written), total);
    for (int i = 0; i <= RESIZES; i++)
        ck_assert_uint_eq(seen[i]->magic, TRT_RING_MAGIC);
}
END_TEST

Suite *suite_capture(void)
{
    Suite *s = suite_create("capture");
    TCase *tc = tcase_create("capture");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, stack_contains_callers);
    tcase_add_test(tc, ring_replaced_under_writers);
    suite_add_tcase(s, tc);
    return s;
}
