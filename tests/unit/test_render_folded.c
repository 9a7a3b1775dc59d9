/* views/render_folded.c: the folded lines of flame graph tools, written
 * whole for small hand-made dumps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <tasktrace/protocol.h>

#include "views/render.h"
#include "suites.h"

#define SRC "/abs/examples/taskdump.c"
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct frame f_traced = {.function = TRT_FN_TRACED_POLL, .file = SRC};
static const struct frame f_foo = {.function = "foo_poll", .file = SRC, .line = 41};
static const struct frame f_bar = {.function = "bar_poll", .file = SRC, .line = 52};
static const struct frame f_fiz = {.function = "fiz_poll", .file = SRC, .line = 60};
static const struct frame f_pend = {.function = "pending_poll", .file = SRC, .line = 20};
static const struct frame f_capture = {.function = TRT_FN_CAPTURE, .file = SRC};
static const struct frame f_semi = {.function = "ns;odd\x1b", .file = SRC};
static const struct frame f_nosym = {.module = "/usr/lib/libx.so.1", .module_off = 0x1a2b};
static const struct frame f_nomod = {.pc = 0xdeadbeef};

static const struct frame *stack_fiz[] = {&f_traced, &f_foo, &f_bar, &f_fiz, &f_pend, &f_capture};
static const struct frame *stack_bar[] = {&f_traced, &f_foo, &f_bar, &f_pend, &f_capture};
static const struct frame *stack_odd[] = {&f_traced, &f_semi, &f_nosym, &f_nomod, &f_capture};
static const struct frame *live[] = {&f_traced, &f_foo, &f_pend};

static char *folded(const struct tt_dump *d, const struct render_opts *opts)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(render_folded(f, d, opts), 0);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

START_TEST(test_folded_counts)
{
    struct tt_stack a[] = {
        {NELEM(stack_fiz), stack_fiz, false, false},
        {NELEM(stack_bar), stack_bar, false, false},
    };
    struct tt_stack b[] = {{NELEM(stack_fiz), stack_fiz, false, false}};
    struct tt_task tasks[] = {
        {.id = 1, .name = "a", .state = TRT_TASK_IDLE, .nstacks = 2, .stacks = a},
        {.id = 2, .name = "b", .state = TRT_TASK_IDLE, .nstacks = 1, .stacks = b},
        /* A task inside a poll: its live stack, trimmed at the wrapper. */
        {.id = 3,
         .name = "c",
         .state = TRT_TASK_POLLING,
         .has_thread_stack = true,
         .thread_stack = {NELEM(live), live, false, false}},
        /* Neither stacks nor a live one: still counted. */
        {.id = 4, .name = "d", .state = TRT_TASK_IDLE},
        {.id = 5, .name = "e", .state = TRT_TASK_POLLING},
    };
    struct tt_dump d = {.pid = 1, .ntasks = NELEM(tasks), .tasks = tasks};
    char *out = folded(&d, NULL);
    ck_assert_str_eq(out, "[no stack: idle] 1\n"
                          "[no stack: polling] 1\n"
                          "foo_poll;bar_poll;fiz_poll;pending_poll 2\n"
                          "foo_poll;bar_poll;pending_poll 1\n"
                          "foo_poll;pending_poll 1\n");
    free(out);
    /* Raw: every frame kept. */
    d.ntasks = 1;
    struct render_opts raw = {.raw = true};
    out = folded(&d, &raw);
    ck_assert_str_eq(out,
                     TRT_FN_TRACED_POLL ";foo_poll;bar_poll;fiz_poll;pending_poll;" TRT_FN_CAPTURE
                                        " 1\n" TRT_FN_TRACED_POLL
                                        ";foo_poll;bar_poll;pending_poll;" TRT_FN_CAPTURE " 1\n");
    free(out);
}
END_TEST

START_TEST(test_folded_names)
{
    /* The separator inside a name, a terminal escape, a frame known only
     * by its module and offset, one only by its address. */
    struct tt_stack st = {NELEM(stack_odd), stack_odd, false, false};
    struct tt_task task = {.id = 1, .state = TRT_TASK_IDLE, .nstacks = 1, .stacks = &st};
    struct tt_dump d = {.pid = 1, .ntasks = 1, .tasks = &task};
    char *out = folded(&d, NULL);
    ck_assert_str_eq(out, "ns\\x3bodd\\x1b;libx.so.1+0x1a2b;0xdeadbeef 1\n");
    free(out);
    /* No tasks: no lines. */
    d.ntasks = 0;
    out = folded(&d, NULL);
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(test_folded_write_error)
{
    struct tt_stack st = {NELEM(stack_fiz), stack_fiz, false, false};
    struct tt_task task = {.id = 1, .state = TRT_TASK_IDLE, .nstacks = 1, .stacks = &st};
    struct tt_dump d = {.pid = 1, .ntasks = 1, .tasks = &task};
    FILE *f = fopen("/dev/full", "w");
    if (f == NULL) {
        fprintf(stderr, "SKIP: test_folded_write_error: no /dev/full here\n");
        return;
    }
    ck_assert_int_eq(render_folded(f, &d, NULL), -ENOSPC);
    fclose(f);
}
END_TEST

Suite *suite_render_folded(void)
{
    Suite *s = suite_create("render_folded");
    TCase *tc = tcase_create("folded");
    tcase_add_test(tc, test_folded_counts);
    tcase_add_test(tc, test_folded_names);
    tcase_add_test(tc, test_folded_write_error);
    suite_add_tcase(s, tc);
    return s;
}
