/* livestack.c: the function a stuck task is in (livestack_where), for the
 * one-line messages about it, on stacks made up here. */
#include <check.h>

#include "suites.h"
#include "model/livestack.h"

START_TEST(test_where)
{
    static const struct frame wrap = {.function = "trt__traced_poll", .module = "/app"};
    static const struct frame lock_poll = {.function = "locker_poll", .module = "/app"};
    static const struct frame lock = {.function = "___pthread_mutex_lock", .module = "/libc"};
    static const struct frame lock_in = {
        .function = "lll_mutex_lock_optimized", .module = "/libc", .inlined = true};
    static const struct frame wait = {.function = "__lll_lock_wait", .module = "/libc"};
    static const struct frame futex = {
        .function = "futex_wait", .module = "/libc", .inlined = true};
    static const struct frame spin_poll = {.function = "spinner_poll", .module = "/app"};
    static const struct frame spin = {.function = "checksum_spin", .module = "/app"};
    static const struct frame read_poll = {.function = "read_frame_poll", .module = "/app"};
    static const struct frame rd = {.function = "__GI___libc_read+0x12", .module = "/libc"};
    char buf[64];
    struct tt_task t = {.state = TRT_TASK_POLLING, .has_thread_stack = true};
    /* Inside a library: the function of it the task's code called. */
    const struct frame *locker[] = {&wrap, &lock_poll, &lock, &lock_in, &wait, &futex};
    t.thread_stack = (struct tt_stack){6, locker, false, false};
    ck_assert_str_eq(livestack_where(&t, buf, sizeof(buf)), "pthread_mutex_lock");
    /* Inside the task's own code: the innermost function. */
    const struct frame *spinner[] = {&wrap, &spin_poll, &spin};
    t.thread_stack = (struct tt_stack){3, spinner, false, false};
    ck_assert_str_eq(livestack_where(&t, buf, sizeof(buf)), "checksum_spin");
    /* libc's internal names and a symbol table offset give the public name. */
    const struct frame *reader[] = {&wrap, &read_poll, &rd};
    t.thread_stack = (struct tt_stack){3, reader, false, false};
    ck_assert_str_eq(livestack_where(&t, buf, sizeof(buf)), "read");
    t.has_thread_stack = false;
    ck_assert_ptr_null(livestack_where(&t, buf, sizeof(buf)));
    ck_assert_str_eq(buf, "");
}
END_TEST

Suite *suite_livestack(void)
{
    Suite *s = suite_create("live");
    TCase *tc = tcase_create("where");
    tcase_add_test(tc, test_where);
    suite_add_tcase(s, tc);
    return s;
}
