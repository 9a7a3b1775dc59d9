/* Trimming and merging of hand-made stacks. */
#include <stdlib.h>
#include <string.h>

#include <tasktrace/protocol.h>

#include "model/tree.h"
#include "suites.h"

#define MOD "/abs/examples/taskdump"
#define SRC "/abs/examples/taskdump.c"

#define FRAME(fn, ln)                                                            \
    {                                                                            \
        .function = (fn), .file = SRC, .line = (ln), .column = 5, .module = MOD, \
        .pc = 0x1000 + (ln), .module_off = (ln)                                  \
    }

/* What a capture in the taskdump example looks like, root first. */
static const struct frame f_start = FRAME("__libc_start_main", 1);
static const struct frame f_main = FRAME("main", 2);
static const struct frame f_run = FRAME("trt_exec_run", 3);
static const struct frame f_traced = FRAME(TRT_FN_TRACED_POLL, 4);
static const struct frame f_foo = FRAME("foo_poll", 41);
static const struct frame f_bar = FRAME("bar_poll", 52);
static const struct frame f_join = FRAME("trt_join_poll", 30);
static const struct frame f_fiz = FRAME("fiz_poll", 60);
static const struct frame f_buz = FRAME("buz_poll", 66);
static const struct frame f_baz = FRAME("baz_poll", 72);
static const struct frame f_pend1 = FRAME("pending_poll", 20);
static const struct frame f_pend2 = FRAME("pending_poll", 20);
static const struct frame f_clone = FRAME("trt_waker_clone", 90);
static const struct frame f_wake = FRAME("trt_waker_wake_by_ref", 91);
static const struct frame f_fpoll = FRAME("trt_future_poll", 92);
static const struct frame f_tclone = FRAME(TRT_FN_TRACER_CLONE, 93);
static const struct frame f_capture = FRAME(TRT_FN_CAPTURE, 94);
static const struct frame f_bt = {
    .function = "backtrace+0x1c", .module = "/lib/libc.so.6", .pc = 0x77};
static const struct frame f_unwind = {
    .function = "_Unwind_Backtrace+0x5b", .module = "/lib/libgcc_s.so.1", .pc = 0x78};

static const struct frame *const stack_fiz[] = {
    &f_start, &f_main,  &f_run,   &f_traced, &f_foo,     &f_bar, &f_join,
    &f_fiz,   &f_pend1, &f_clone, &f_tclone, &f_capture, &f_bt,  &f_unwind,
};
static const struct frame *const stack_baz[] = {
    &f_start, &f_main, &f_run,   &f_traced, &f_foo,    &f_bar,     &f_join,
    &f_buz,   &f_baz,  &f_pend2, &f_wake,   &f_tclone, &f_capture, &f_bt,
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct tt_stack mkstack(const struct frame *const *frames, size_t n)
{
    /* tt_stack holds non-const pointer arrays; the tests never write
     * through them. */
    return (struct tt_stack){.n = n, .frames = (const struct frame **)frames};
}

static size_t trim(const struct frame *const *frames, size_t n, bool raw, const struct frame **out)
{
    struct tt_stack st = mkstack(frames, n);
    return tree_trim_stack(&st, raw, out);
}

START_TEST(test_trim_taskdump)
{
    const struct frame *out[NELEM(stack_fiz)];
    size_t n = trim(stack_fiz, NELEM(stack_fiz), false, out);
    ck_assert_uint_eq(n, 5);
    ck_assert_ptr_eq(out[0], &f_foo);
    ck_assert_ptr_eq(out[1], &f_bar);
    ck_assert_ptr_eq(out[2], &f_join);
    ck_assert_ptr_eq(out[3], &f_fiz);
    ck_assert_ptr_eq(out[4], &f_pend1);

    n = trim(stack_baz, NELEM(stack_baz), false, out);
    ck_assert_uint_eq(n, 6);
    ck_assert_ptr_eq(out[0], &f_foo);
    ck_assert_ptr_eq(out[5], &f_pend2);
}
END_TEST

START_TEST(test_trim_raw)
{
    const struct frame *out[NELEM(stack_fiz)];
    size_t n = trim(stack_fiz, NELEM(stack_fiz), true, out);
    ck_assert_uint_eq(n, NELEM(stack_fiz));
    for (size_t i = 0; i < n; i++)
        ck_assert_ptr_eq(out[i], stack_fiz[i]);
}
END_TEST

START_TEST(test_trim_last_wrapper)
{
    /* A task that blocks on a nested executor: the inner task's frames
     * are what it awaits. */
    const struct frame inner = FRAME("inner_poll", 100);
    const struct frame *const st[] = {
        &f_main, &f_traced, &f_foo, &f_run, &f_traced, &inner, &f_capture,
    };
    const struct frame *out[NELEM(st)];
    size_t n = trim(st, NELEM(st), false, out);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(out[0], &inner);
}
END_TEST

START_TEST(test_trim_no_wrapper)
{
    /* Truncated at the root: nothing to cut there, the leaf cut still
     * applies. */
    const struct frame *const st[] = {
        &f_bar, &f_join, &f_fiz, &f_clone, &f_capture, &f_bt,
    };
    const struct frame *out[NELEM(st)];
    size_t n = trim(st, NELEM(st), false, out);
    ck_assert_uint_eq(n, 3);
    ck_assert_ptr_eq(out[0], &f_bar);
    ck_assert_ptr_eq(out[2], &f_fiz);
}
END_TEST

START_TEST(test_trim_hide_helpers)
{
    const struct frame inl = {
        .function = "trt_waker_clone",
        .file = SRC,
        .line = 9,
        .inlined = true,
        .module = MOD,
    };
    const struct frame sym = {.function = "trt_future_poll+0x12", .module = MOD};
    const struct frame clone = {.function = "trt_waker_drop.part.0", .module = MOD};
    const struct frame lookalike = {.function = "trt_waker_cloned", .module = MOD};
    const struct frame nameless = {.module = MOD, .module_off = 4};
    const struct frame *const st[] = {
        &f_traced, &f_foo,    &f_fpoll,   &sym,    &f_bar,     &inl,
        &clone,    &nameless, &lookalike, &f_wake, &f_capture,
    };
    const struct frame *out[NELEM(st)];
    size_t n = trim(st, NELEM(st), false, out);
    ck_assert_uint_eq(n, 4);
    ck_assert_ptr_eq(out[0], &f_foo);
    ck_assert_ptr_eq(out[1], &f_bar);
    ck_assert_ptr_eq(out[2], &nameless);
    ck_assert_ptr_eq(out[3], &lookalike);
}
END_TEST

START_TEST(test_trim_symtab_names)
{
    /* Without DWARF, names carry "+0x..." and must still match. */
    const struct frame w = {.function = TRT_FN_TRACED_POLL "+0x40"};
    const struct frame c = {.function = TRT_FN_CAPTURE "+0x9"};
    const struct frame *const st[] = {&f_main, &w, &f_foo, &c, &f_bt};
    const struct frame *out[NELEM(st)];
    size_t n = trim(st, NELEM(st), false, out);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(out[0], &f_foo);
}
END_TEST

START_TEST(test_trim_empty)
{
    const struct frame *out[1] = {NULL};
    struct tt_stack st = {.n = 0, .frames = NULL};
    ck_assert_uint_eq(tree_trim_stack(&st, false, out), 0);
    ck_assert_uint_eq(tree_trim_stack(&st, true, out), 0);
    /* Only runtime frames: nothing left. */
    const struct frame *const only[] = {&f_traced, &f_capture, &f_bt};
    ck_assert_uint_eq(trim(only, NELEM(only), false, out), 0);
}
END_TEST

START_TEST(test_merge_taskdump)
{
    struct tt_stack stacks[] = {
        mkstack(stack_fiz, NELEM(stack_fiz)),
        mkstack(stack_baz, NELEM(stack_baz)),
    };
    struct tree t;
    ck_assert_int_eq(tree_build(stacks, 2, false, &t), 0);
    ck_assert_uint_eq(t.nroots, 1);
    ck_assert_uint_eq(t.leaves, 2);
    ck_assert_uint_eq(t.empty, 0);
    const struct tree_node *foo = &t.roots[0];
    ck_assert_ptr_eq(foo->frame, &f_foo);
    ck_assert_uint_eq(foo->leaves, 2);
    ck_assert_uint_eq(foo->nchildren, 1);
    const struct tree_node *bar = &foo->children[0];
    ck_assert_ptr_eq(bar->frame, &f_bar);
    ck_assert_uint_eq(bar->nchildren, 1);
    const struct tree_node *join = &bar->children[0];
    ck_assert_ptr_eq(join->frame, &f_join);
    ck_assert_uint_eq(join->nchildren, 2);
    ck_assert_uint_eq(join->leaves, 2);
    const struct tree_node *fiz = &join->children[0];
    const struct tree_node *buz = &join->children[1];
    ck_assert_ptr_eq(fiz->frame, &f_fiz);
    ck_assert_ptr_eq(buz->frame, &f_buz);
    ck_assert_uint_eq(fiz->leaves, 1);
    ck_assert_uint_eq(fiz->nchildren, 1);
    ck_assert_ptr_eq(fiz->children[0].frame, &f_pend1);
    ck_assert_uint_eq(fiz->children[0].nchildren, 0);
    ck_assert_uint_eq(buz->nchildren, 1);
    ck_assert_ptr_eq(buz->children[0].frame, &f_baz);
    ck_assert_ptr_eq(buz->children[0].children[0].frame, &f_pend2);
    tree_free(&t);
    ck_assert_uint_eq(t.nroots, 0);
    ck_assert_ptr_null(t.roots);
    tree_free(&t); /* idempotent */
    tree_free(NULL);
}
END_TEST

START_TEST(test_merge_raw)
{
    struct tt_stack stacks[] = {
        mkstack(stack_fiz, NELEM(stack_fiz)),
        mkstack(stack_baz, NELEM(stack_baz)),
    };
    struct tree t;
    ck_assert_int_eq(tree_build(stacks, 2, true, &t), 0);
    ck_assert_uint_eq(t.nroots, 1);
    ck_assert_ptr_eq(t.roots[0].frame, &f_start);
    ck_assert_uint_eq(t.leaves, 2);
    tree_free(&t);
}
END_TEST

START_TEST(test_merge_equality)
{
    /* Equal content at distinct addresses merges; a different line, the
     * inlined flag or (without a name) offset keeps frames apart. */
    struct frame a = FRAME("f", 10), b = FRAME("f", 10);
    struct frame c = FRAME("f", 11), d = FRAME("f", 10);
    d.inlined = true;
    char copy[] = "f";
    struct frame e = FRAME(copy, 10);
    ck_assert(tree_frame_equal(&a, &b));
    ck_assert(tree_frame_equal(&a, &e));
    ck_assert(!tree_frame_equal(&a, &c));
    ck_assert(!tree_frame_equal(&a, &d));
    struct frame u1 = {.module = MOD, .module_off = 5, .pc = 1};
    struct frame u2 = {.module = MOD, .module_off = 5, .pc = 2};
    struct frame u3 = {.module = MOD, .module_off = 6};
    struct frame u4 = {.module = "/other", .module_off = 5};
    ck_assert(tree_frame_equal(&u1, &u2));
    ck_assert(!tree_frame_equal(&u1, &u3));
    ck_assert(!tree_frame_equal(&u1, &u4));
    ck_assert(!tree_frame_equal(&u1, &a));
    struct frame nomod1 = {.pc = 7}, nomod2 = {.pc = 8};
    struct frame nomod3 = {.pc = 7};
    /* Without a module the offset says nothing: the address decides. */
    ck_assert(!tree_frame_equal(&nomod1, &nomod2));
    ck_assert(tree_frame_equal(&nomod1, &nomod3));
}
END_TEST

START_TEST(test_merge_roots_and_empty)
{
    /* Two truncated captures diverging at the root, one duplicate and
     * two stacks with nothing visible. */
    const struct frame *const s1[] = {&f_bar, &f_fiz, &f_capture};
    const struct frame *const s2[] = {&f_baz, &f_pend2, &f_capture};
    const struct frame *const s3[] = {&f_traced, &f_capture};
    struct tt_stack stacks[] = {
        mkstack(s1, NELEM(s1)), mkstack(s2, NELEM(s2)), mkstack(s1, NELEM(s1)),
        mkstack(s3, NELEM(s3)), mkstack(NULL, 0),
    };
    struct tree t;
    ck_assert_int_eq(tree_build(stacks, NELEM(stacks), false, &t), 0);
    ck_assert_uint_eq(t.nroots, 2);
    ck_assert_uint_eq(t.leaves, 3);
    ck_assert_uint_eq(t.empty, 2);
    ck_assert_ptr_eq(t.roots[0].frame, &f_bar);
    ck_assert_uint_eq(t.roots[0].leaves, 2);
    ck_assert_uint_eq(t.roots[0].nchildren, 1);
    ck_assert_uint_eq(t.roots[0].children[0].leaves, 2);
    ck_assert_ptr_eq(t.roots[1].frame, &f_baz);
    tree_free(&t);

    ck_assert_int_eq(tree_build(NULL, 0, false, &t), 0);
    ck_assert_uint_eq(t.nroots, 0);
    tree_free(&t);
}
END_TEST

START_TEST(test_merge_depth_bound)
{
    enum { N = TREE_MAX_DEPTH * 2 };
    struct frame *frames = calloc(N, sizeof(*frames));
    const struct frame **ptrs = calloc(N, sizeof(*ptrs));
    ck_assert_ptr_nonnull(frames);
    ck_assert_ptr_nonnull(ptrs);
    for (size_t i = 0; i < N; i++) {
        frames[i] = (struct frame){.module = MOD, .module_off = i};
        ptrs[i] = &frames[i];
    }
    struct tt_stack st = {.n = N, .frames = ptrs};
    struct tree t;
    ck_assert_int_eq(tree_build(&st, 1, false, &t), 0);
    size_t depth = 0;
    for (const struct tree_node *n = &t.roots[0];; n = &n->children[0]) {
        depth++;
        if (n->nchildren == 0)
            break;
        ck_assert_uint_eq(n->nchildren, 1);
    }
    ck_assert_uint_eq(depth, TREE_MAX_DEPTH);
    tree_free(&t);
    free(ptrs);
    free(frames);
}
END_TEST

START_TEST(test_merge_wide)
{
    /* Many leaves under one node keep first-seen order. */
    enum { N = 300 };
    static struct frame leaves[N];
    static const struct frame *stacks_frames[N][3];
    struct tt_stack stacks[N];
    for (size_t i = 0; i < N; i++) {
        leaves[i] = (struct frame){.function = "leaf", .line = (int)i};
        stacks_frames[i][0] = &f_traced;
        stacks_frames[i][1] = &f_join;
        stacks_frames[i][2] = &leaves[i];
        stacks[i] = mkstack(stacks_frames[i], 3);
    }
    struct tree t;
    ck_assert_int_eq(tree_build(stacks, N, false, &t), 0);
    ck_assert_uint_eq(t.nroots, 1);
    ck_assert_uint_eq(t.roots[0].nchildren, N);
    for (size_t i = 0; i < N; i++)
        ck_assert_ptr_eq(t.roots[0].children[i].frame, &leaves[i]);
    tree_free(&t);
}
END_TEST

START_TEST(test_trim_contract_names)
{
    /* The fixtures spell the ABI helpers out (protocol.h has them only as
     * a list): each must still be one the tool hides, and the executor's
     * public functions must be neither hidden nor runtime internals, or
     * the trimming tests above would test names the tool no longer knows. */
    static const char *const helpers[] = {TRT_FN_ABI_HELPERS};
    const char *const hidden[] = {f_clone.function, f_wake.function, f_fpoll.function,
                                  "trt_waker_drop"};
    const char *const shown[] = {f_run.function, f_join.function};
    for (size_t i = 0; i < NELEM(hidden); i++) {
        bool found = false;
        for (size_t k = 0; k < NELEM(helpers); k++)
            found = found || strcmp(hidden[i], helpers[k]) == 0;
        ck_assert_msg(found, "%s is not in TRT_FN_ABI_HELPERS", hidden[i]);
    }
    for (size_t i = 0; i < NELEM(shown); i++) {
        for (size_t k = 0; k < NELEM(helpers); k++)
            ck_assert_str_ne(shown[i], helpers[k]);
        ck_assert_int_ne(strncmp(shown[i], TRT_FN_INTERNAL_PREFIX, strlen(TRT_FN_INTERNAL_PREFIX)),
                         0);
    }
    /* The wrapper and capture fixtures are the contract's own names. */
    ck_assert(tree_frame_is_wrapper(&f_traced));
    ck_assert_int_eq(
        strncmp(f_tclone.function, TRT_FN_INTERNAL_PREFIX, strlen(TRT_FN_INTERNAL_PREFIX)), 0);
}
END_TEST

Suite *suite_tree(void)
{
    Suite *s = suite_create("tree");
    TCase *tc = tcase_create("trim");
    tcase_add_test(tc, test_trim_taskdump);
    tcase_add_test(tc, test_trim_raw);
    tcase_add_test(tc, test_trim_last_wrapper);
    tcase_add_test(tc, test_trim_no_wrapper);
    tcase_add_test(tc, test_trim_hide_helpers);
    tcase_add_test(tc, test_trim_symtab_names);
    tcase_add_test(tc, test_trim_empty);
    tcase_add_test(tc, test_trim_contract_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("merge");
    tcase_add_test(tc, test_merge_taskdump);
    tcase_add_test(tc, test_merge_raw);
    tcase_add_test(tc, test_merge_equality);
    tcase_add_test(tc, test_merge_roots_and_empty);
    tcase_add_test(tc, test_merge_depth_bound);
    tcase_add_test(tc, test_merge_wide);
    suite_add_tcase(s, tc);
    return s;
}
