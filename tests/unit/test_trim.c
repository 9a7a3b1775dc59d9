/* model/trim.c: a live thread stack trimmed to the frames of the task it
 * polls, on frames made up here. */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "model/trim.h"
#include "suites.h"

static const struct frame F_exec = {.function = "worker_main"};
static const struct frame F_wrap = {.function = "trt__traced_poll"};
static const struct frame F_task = {.function = "request_poll"};
static const struct frame F_help = {.function = "trt_future_poll"};
static const struct frame F_leaf = {.function = "read_frame_poll"};
static const struct frame F_intl = {.function = "trt__capture"};
static const struct frame F_read = {.function = "read"};

START_TEST(test_trim)
{
    const struct frame *frames[] = {&F_exec, &F_wrap, &F_task, &F_help, &F_leaf, &F_intl, &F_read};
    struct tt_stack st = {7, frames, false, false};
    const struct frame *out[7];
    /* Cut above the wrapper, helpers hidden, and unlike a captured stack
     * the runtime-internal frame and what is below it stay. */
    ck_assert_uint_eq(trim_live_stack(&st, false, out), 4);
    ck_assert_ptr_eq(out[0], &F_task);
    ck_assert_ptr_eq(out[1], &F_leaf);
    ck_assert_ptr_eq(out[2], &F_intl);
    ck_assert_ptr_eq(out[3], &F_read);
    ck_assert_uint_eq(trim_live_stack(&st, true, out), 7);
    /* No wrapper (a thread outside any poll): kept whole, helpers hidden. */
    const struct frame *plain[] = {&F_exec, &F_help, &F_read};
    struct tt_stack ps = {3, plain, false, false};
    ck_assert_uint_eq(trim_live_stack(&ps, false, out), 2);
    ck_assert_ptr_eq(out[1], &F_read);
}
END_TEST

START_TEST(test_trim_nested_and_unknown)
{
    /* Two wrappers (a task polled from inside another's poll): the cut is
     * at the innermost, whose task the thread is polling now. */
    const struct frame *nested[] = {&F_exec, &F_wrap, &F_task, &F_wrap, &F_leaf, &F_read};
    struct tt_stack st = {6, nested, false, false};
    const struct frame *out[6];
    ck_assert_uint_eq(trim_live_stack(&st, false, out), 2);
    ck_assert_ptr_eq(out[0], &F_leaf);
    ck_assert_ptr_eq(out[1], &F_read);
    /* A frame without a name (no symbol) is kept, never taken for a
     * wrapper or a helper. */
    const struct frame bare = {.pc = 0x1234};
    const struct frame *unk[] = {&F_wrap, &bare, &F_read};
    struct tt_stack us = {3, unk, false, false};
    ck_assert_uint_eq(trim_live_stack(&us, false, out), 2);
    ck_assert_ptr_eq(out[0], &bare);
    /* An empty stack gives nothing, and a wrapper alone leaves nothing. */
    struct tt_stack empty = {0, NULL, false, false};
    ck_assert_uint_eq(trim_live_stack(&empty, false, out), 0);
    const struct frame *only[] = {&F_wrap};
    struct tt_stack os = {1, only, false, false};
    ck_assert_uint_eq(trim_live_stack(&os, false, out), 0);
}
END_TEST

Suite *suite_trim(void)
{
    Suite *s = suite_create("trim");
    TCase *tc = tcase_create("live");
    tcase_add_test(tc, test_trim);
    tcase_add_test(tc, test_trim_nested_and_unknown);
    suite_add_tcase(s, tc);
    return s;
}
