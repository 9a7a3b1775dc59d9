/* unwind.c: the live stack of a real child's thread, blocked in read()
 * under two known functions, unwound with the real libdwfl from the copy
 * thread.c took (a case that needs ptrace: tcase_unwind_ptrace); the
 * trimming of live stacks (model/trim.c) on frames made up here. */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "suites.h"
#include "tchild.h"
#include "target/proc.h"
#include "target/thread.h"
#include "symbols/unwind.h"
#include "model/trim.h"

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

START_TEST(test_unwind_child)
{
    child_start();
    struct proc_target t;
    ck_assert_int_eq(proc_open(&t, child_pid), 0);
    int err;
    Dwfl *dwfl = lookup_dwfl_open_pid(child_pid, &err);
    ck_assert_ptr_nonnull(dwfl);
    lookup_ctx *sym = lookup_new(dwfl);
    ck_assert_ptr_nonnull(sym);
    char why[160];
    unwind_ctx *u = unwind_new(dwfl, &t, &err, why, sizeof(why));
    ck_assert_msg(u != NULL, "unwind_new: %s", why);
    struct thread_buf buf;
    ck_assert_int_eq(thread_buf_init(&buf), 0);
    struct thread_snap snap;
    ck_assert_int_eq(thread_capture(child_pid, child_tid, 0, &buf, &snap), 0);
    struct tt_stack st;
    ck_assert_int_eq(unwind_stack(u, sym, &snap, &st, why, sizeof(why)), 0);
    /* Root first: the caller, then the leaf, then (innermost) read. */
    long caller = -1, leaf = -1;
    for (size_t i = 0; i < st.n; i++) {
        const char *fn = st.frames[i]->function;
        if (fn && strcmp(fn, "tt_thread_blocked_caller") == 0)
            caller = (long)i;
        if (fn && strcmp(fn, "tt_thread_blocked_leaf") == 0)
            leaf = (long)i;
    }
    ck_assert_int_ge(caller, 0);
    ck_assert_int_eq(leaf, caller + 1);
    ck_assert_int_lt(leaf, (long)st.n - 1);
    const char *inner = st.frames[st.n - 1]->function;
    ck_assert_ptr_nonnull(inner);
    ck_assert_msg(strstr(inner, "read") != NULL, "innermost frame %s", inner);
    /* The leaf's line is the call's: a return address looked up as one. */
    ck_assert_ptr_nonnull(st.frames[leaf]->file);
    ck_assert_int_gt(st.frames[leaf]->line, 0);
    /* A second unwind of the same copy gives the same frames. */
    struct tt_stack again;
    ck_assert_int_eq(unwind_stack(u, sym, &snap, &again, why, sizeof(why)), 0);
    ck_assert_uint_eq(again.n, st.n);
    ck_assert_int_eq(memcmp(again.frames, st.frames, st.n * sizeof(*st.frames)), 0);
    free(again.frames);
    free(st.frames);
    thread_buf_free(&buf);
    unwind_free(u);
    lookup_free(sym);
    dwfl_end(dwfl);
    proc_close(&t);
    child_stop();
}
END_TEST

Suite *suite_unwind(void)
{
    Suite *s = suite_create("unwind");
    TCase *tc = tcase_create("trim");
    tcase_add_test(tc, test_trim);
    suite_add_tcase(s, tc);
    return s;
}

TCase *tcase_unwind_ptrace(void)
{
    TCase *tc = tcase_create("unwind_child");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_unwind_child);
    return tc;
}
