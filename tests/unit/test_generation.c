/* A whole dump generation inside one process: request, every task traced,
 * done published; tasks freed mid-dump; a task that waits without a waker. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../libtargetrt/rt_internal.h"
#include "target/records.h"
#include "gen_util.h"
#include "suites.h"

#define N 16

static struct tleaf leaves[N];
static struct ttask tasks[N];

static void setup_tasks(void)
{
    for (int i = 0; i < N; i++) {
        tleaf_init(&leaves[i]);
        memset(&tasks[i], 0, sizeof(tasks[i]));
        tasks[i].inner = &leaves[i].base;
        tasks[i].traced = trt_traced_new(tasks[i].inner, "gen");
        ck_assert_ptr_nonnull(tasks[i].traced);
        ck_assert_int_eq(ttask_poll(&tasks[i]), TRT_PENDING);
    }
}

static size_t records_of(uint32_t gen, uint64_t id, const struct records_result *res)
{
    size_t n = 0;
    for (size_t i = 0; i < res->n; i++)
        n += res->recs[i].gen == gen && res->recs[i].task_id == id;
    return n;
}

START_TEST(every_task_traced)
{
    setup_tasks();
    uint64_t polls_before = ((struct trt__task *)tasks[0].traced)->slot->polls;
    uint32_t gen = trt__dump_request();
    ck_assert_int_eq(ttask_run_until_done(tasks, N, gen, 5000), 0);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.done), gen);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.gen_tasks), N);
    struct records_result res;
    ck_assert_int_eq(
        records_collect(tt_mem_read, NULL, TRT_LOAD(&tasktrace_control.ring_addr), gen, &res), 0);
    for (int i = 0; i < N; i++) {
        struct trt_task_slot *s = ((struct trt__task *)tasks[i].traced)->slot;
        ck_assert_uint_eq(s->traced_gen, gen);
        ck_assert_uint_eq(s->pending_gen, 0);
        ck_assert_uint_eq(s->traced_records, 1);
        ck_assert_uint_eq(s->flags & TRT_TASK_F_SUSPECT, 0);
        ck_assert_uint_eq(records_of(gen, s->id, &res), 1);
        /* Every task was woken once by the doorbell. */
        ck_assert_int_eq(atomic_load(&tasks[i].waker.wakes), 1);
    }
    /* Dump polls are not executor polls. */
    ck_assert_uint_eq(((struct trt__task *)tasks[0].traced)->slot->polls, polls_before);
    records_free(&res);
    /* A second dump works the same way. */
    uint32_t gen2 = trt__dump_request();
    ck_assert_int_gt((int32_t)(gen2 - gen), 0);
    ck_assert_int_eq(ttask_run_until_done(tasks, N, gen2, 5000), 0);
    for (int i = 0; i < N; i++) {
        tleaf_drop(&leaves[i]);
        trt_traced_free(tasks[i].traced);
        ck_assert_int_eq(atomic_load(&tasks[i].waker.refs), 0);
    }
}
END_TEST

START_TEST(tasks_freed_mid_dump)
{
    setup_tasks();
    uint32_t gen = trt__dump_request();
    /* Wait until the doorbell has marked the tasks. */
    for (int i = 0; i < 5000 && TRT_LOAD(&tasktrace_control.active) != gen; i++)
        trt__dump_wait(gen, 1);
    for (int i = 0; i < 5000 && (uint32_t)TRT_LOAD(&tasktrace_control.gen_pending) != N; i++)
        trt__dump_wait(gen, 1);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.active), gen);
    /* Half the tasks go away before their traced poll. */
    for (int i = 0; i < N; i += 2) {
        tleaf_drop(&leaves[i]);
        trt_traced_free(tasks[i].traced);
        tasks[i].traced = NULL;
    }
    ck_assert_int_eq(trt__dump_wait(gen, 0), -ETIMEDOUT);
    ck_assert_int_eq(ttask_run_until_done(tasks, N, gen, 5000), 0);
    for (int i = 1; i < N; i += 2) {
        tleaf_drop(&leaves[i]);
        trt_traced_free(tasks[i].traced);
    }
}
END_TEST

START_TEST(waiting_without_waker_is_suspect)
{
    setup_tasks();
    leaves[3].no_clone = true;
    uint32_t gen = trt__dump_request();
    ck_assert_int_eq(ttask_run_until_done(tasks, N, gen, 5000), 0);
    struct trt_task_slot *s = ((struct trt__task *)tasks[3].traced)->slot;
    ck_assert_uint_eq(s->flags & TRT_TASK_F_SUSPECT, TRT_TASK_F_SUSPECT);
    ck_assert_uint_eq(s->traced_records, 0);
    s = ((struct trt__task *)tasks[4].traced)->slot;
    ck_assert_uint_eq(s->flags & TRT_TASK_F_SUSPECT, 0);
    for (int i = 0; i < N; i++) {
        tleaf_drop(&leaves[i]);
        trt_traced_free(tasks[i].traced);
    }
}
END_TEST

START_TEST(no_tasks_completes_at_once)
{
    struct tleaf l;
    tleaf_init(&l);
    /* Start the doorbell, then leave no task behind. */
    trt_future *t = trt_traced_new(&l.base, "gone");
    trt_traced_free(t);
    uint32_t gen = trt__dump_request();
    ck_assert_int_eq(trt__dump_wait(gen, 5000), 0);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.gen_tasks), 0);
}
END_TEST

START_TEST(stale_generation_is_superseded)
{
    setup_tasks();
    uint32_t g1 = trt__dump_request();
    for (int i = 0; i < 5000 && TRT_LOAD(&tasktrace_control.active) != g1; i++)
        trt__dump_wait(g1, 1);
    /* Nobody polls: g1 never completes; a newer request takes over. */
    uint32_t g2 = trt__dump_request();
    ck_assert_int_gt((int32_t)(g2 - g1), 0);
    ck_assert_int_eq(ttask_run_until_done(tasks, N, g2, 5000), 0);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.done), g2);
    for (int i = 0; i < N; i++) {
        tleaf_drop(&leaves[i]);
        trt_traced_free(tasks[i].traced);
    }
}
END_TEST

/* A tool's generations are odd and the runtime's own even, past the value
 * each saw, never 0, across the wrap: a request of the runtime's that a
 * tool overwrote leaves a mark (the value it asked for) that no later
 * tool's request can match, so a tool's generation is always kept for it
 * (selfdump-busy once saw a tool's request taken for the runtime's own). */
START_TEST(tool_and_inner_requests_never_alike)
{
    static const uint32_t seen[] = {
        0, 1, 2, 3, 41, 42, 0x7ffffffe, 0x7fffffff, 0x80000000, 0xfffffffd, 0xfffffffe, 0xffffffff};
    for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++) {
        uint32_t tool = trt_gen_tool_next(seen[i]), inner = trt_gen_inner_next(seen[i]);
        ck_assert_uint_eq(tool & 1u, 1);
        ck_assert_uint_eq(inner & 1u, 0);
        ck_assert_uint_ne(inner, 0);
        ck_assert_int_gt((int32_t)(tool - seen[i]), 0);
        ck_assert_int_gt((int32_t)(inner - seen[i]), 0);
        ck_assert_int_le((int32_t)(tool - seen[i]), 2);
        ck_assert_int_le((int32_t)(inner - seen[i]), 4); /* 4: past 0, skipped */
    }
    /* The runtime's own request is marked as its own; the odd value a tool
     * would write past it, or in its place, is not. */
    setup_tasks();
    uint32_t g = trt__dump_request();
    ck_assert_uint_eq(g & 1u, 0);
    ck_assert(!trt__gen_inner(g - 1));
    ck_assert(!trt__gen_inner(g + 1));
    ck_assert_int_eq(ttask_run_until_done(tasks, N, g, 5000), 0);
    for (int i = 0; i < N; i++) {
        tleaf_drop(&leaves[i]);
        trt_traced_free(tasks[i].traced);
    }
}
END_TEST

Suite *suite_generation(void)
{
    Suite *s = suite_create("generation");
    TCase *tc = tcase_create("generation");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, every_task_traced);
    tcase_add_test(tc, tasks_freed_mid_dump);
    tcase_add_test(tc, waiting_without_waker_is_suspect);
    tcase_add_test(tc, no_tasks_completes_at_once);
    tcase_add_test(tc, stale_generation_is_superseded);
    tcase_add_test(tc, tool_and_inner_requests_never_alike);
    suite_add_tcase(s, tc);
    return s;
}
