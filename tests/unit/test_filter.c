/* filter.c: the arguments of --state, --min-idle and --match, and which
 * hand-made tasks pass them, with the stacks trimmed as printed. */
#include <errno.h>
#include <string.h>

#include <check.h>

#include <tasktrace/protocol.h>

#include "suites.h"
#include "model/filter.h"

START_TEST(test_args)
{
    struct filter f;
    filter_init(&f);
    ck_assert(!filter_active(&f));
    ck_assert_int_eq(filter_add_states(&f, "idle,done"), 0);
    ck_assert_uint_eq(f.states, (1u << TRT_TASK_IDLE) | (1u << TRT_TASK_DONE));
    ck_assert(filter_active(&f));
    ck_assert_int_eq(filter_add_states(&f, "polling"), 0);
    ck_assert_uint_eq(f.states,
                      (1u << TRT_TASK_IDLE) | (1u << TRT_TASK_DONE) | (1u << TRT_TASK_POLLING));
    const char *bad_states[] = {"", "idle,", ",idle", "Idle", "idl", "idle,bogus", "polling "};
    for (size_t i = 0; i < sizeof(bad_states) / sizeof(bad_states[0]); i++)
        ck_assert_msg(filter_add_states(&f, bad_states[i]) == -EINVAL, "--state '%s'",
                      bad_states[i]);
    ck_assert_int_eq(filter_set_min_idle(&f, "1.5"), 0);
    ck_assert_int_eq(f.min_idle_ns, 1500000000);
    ck_assert_int_eq(filter_set_min_idle(&f, "0"), 0);
    ck_assert_int_eq(f.min_idle_ns, 0);
    ck_assert_int_eq(filter_set_min_idle(&f, "1e9"), 0);
    const char *bad_idle[] = {"", "-1", "x", "1s", "1e10", "nan", "inf", " "};
    for (size_t i = 0; i < sizeof(bad_idle) / sizeof(bad_idle[0]); i++)
        ck_assert_msg(filter_set_min_idle(&f, bad_idle[i]) == -EINVAL, "--min-idle '%s'",
                      bad_idle[i]);
    char why[128] = "";
    ck_assert_int_eq(filter_set_match(&f, "(", why, sizeof(why)), -EINVAL);
    ck_assert_str_ne(why, "");
    ck_assert(!f.has_match);
    ck_assert_int_eq(filter_set_match(&f, "^read_", why, sizeof(why)), 0);
    /* A second --match replaces the first. */
    ck_assert_int_eq(filter_set_match(&f, "x|y", why, sizeof(why)), 0);
    ck_assert(f.has_match);
    filter_free(&f);
    ck_assert(!f.has_match);
}
END_TEST

static const struct frame F_exec = {.function = "worker_main", .file = "/src/exec.c"};
static const struct frame F_wrap = {.function = "trt__traced_poll"};
static const struct frame F_conn = {.function = "conn_poll", .file = "/src/server.c"};
static const struct frame F_read = {.function = "read_frame_poll", .file = "/src/frame.c"};
static const struct frame F_lock = {.function = "locker_poll", .file = "/src/lock.c"};
static const struct frame F_anon = {.function = NULL, .file = NULL};

START_TEST(test_task)
{
    const struct frame *reader[] = {&F_exec, &F_wrap, &F_conn, &F_read};
    const struct frame *locker[] = {&F_exec, &F_wrap, &F_lock, &F_anon};
    struct tt_stack rs = {4, reader, false, false};
    struct tt_task idle = {
        .state = TRT_TASK_IDLE, .idle_ns = 2000000000, .poll_ns = -1, .nstacks = 1, .stacks = &rs};
    struct tt_task polling = {
        .state = TRT_TASK_POLLING, .idle_ns = -1, .poll_ns = 500000000, .has_thread_stack = true};
    polling.thread_stack = (struct tt_stack){4, locker, false, false};
    struct tt_task unknown = {.state = TRT_TASK_DONE, .idle_ns = -1, .poll_ns = -1};
    struct filter f;
    filter_init(&f);
    /* An empty filter keeps everything. */
    ck_assert(filter_task(&f, &idle, false) && filter_task(&f, &unknown, false));
    ck_assert_int_eq(filter_add_states(&f, "polling,done"), 0);
    ck_assert(!filter_task(&f, &idle, false));
    ck_assert(filter_task(&f, &polling, false));
    ck_assert(filter_task(&f, &unknown, false));
    /* --min-idle: a polling task by its time in the poll; an unknown time
     * fails. */
    filter_init(&f);
    ck_assert_int_eq(filter_set_min_idle(&f, "1"), 0);
    ck_assert(filter_task(&f, &idle, false));
    ck_assert(!filter_task(&f, &polling, false));
    ck_assert(!filter_task(&f, &unknown, false));
    ck_assert_int_eq(filter_set_min_idle(&f, "0.5"), 0);
    ck_assert(filter_task(&f, &polling, false));
    /* --match: a function or a file of the stacks as printed, the live
     * stack of a polling task included; the frames the trimming hides
     * (the executor's, above the traced wrapper) only with --raw. */
    filter_init(&f);
    char why[128];
    ck_assert_int_eq(filter_set_match(&f, "^read_frame", why, sizeof(why)), 0);
    ck_assert(filter_task(&f, &idle, false));
    ck_assert(!filter_task(&f, &polling, false));
    ck_assert_int_eq(filter_set_match(&f, "lock\\.c$", why, sizeof(why)), 0);
    ck_assert(!filter_task(&f, &idle, false));
    ck_assert(filter_task(&f, &polling, false));
    ck_assert_int_eq(filter_set_match(&f, "worker_main", why, sizeof(why)), 0);
    ck_assert(!filter_task(&f, &idle, false));
    ck_assert(filter_task(&f, &idle, true));
    ck_assert(!filter_task(&f, &polling, false));
    ck_assert(filter_task(&f, &polling, true));
    /* The live stack of a task no longer polling is not printed. */
    polling.state = TRT_TASK_IDLE;
    ck_assert(!filter_task(&f, &polling, true));
    /* Every filter given must hold. */
    ck_assert_int_eq(filter_set_match(&f, "conn_poll", why, sizeof(why)), 0);
    ck_assert_int_eq(filter_add_states(&f, "idle"), 0);
    ck_assert(filter_task(&f, &idle, false));
    ck_assert_int_eq(filter_set_min_idle(&f, "3"), 0);
    ck_assert(!filter_task(&f, &idle, false));
    filter_free(&f);
}
END_TEST

START_TEST(test_apply)
{
    struct tt_task tasks[5];
    for (int i = 0; i < 5; i++)
        tasks[i] = (struct tt_task){.id = (uint64_t)i + 1,
                                    .state = i % 2 ? TRT_TASK_POLLING : TRT_TASK_IDLE,
                                    .idle_ns = -1,
                                    .poll_ns = -1};
    struct tt_dump d = {.ntasks = 5, .tasks = tasks};
    struct filter f;
    filter_init(&f);
    /* No filter: nothing moves, nothing is counted as filtered. */
    ck_assert_int_eq(filter_apply(&f, &d, false), 0);
    ck_assert_uint_eq(d.ntasks, 5);
    ck_assert_uint_eq(d.ntasks_total, 0);
    ck_assert_int_eq(filter_add_states(&f, "polling"), 0);
    ck_assert_int_eq(filter_apply(&f, &d, false), 0);
    ck_assert_uint_eq(d.ntasks, 2);
    ck_assert_uint_eq(d.ntasks_total, 5);
    /* The kept in their order, then the others, still all there. */
    const uint64_t order[] = {2, 4, 1, 3, 5};
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(d.tasks[i].id, order[i]);
    /* A filter nothing passes. */
    ck_assert_int_eq(filter_add_states(&f, "done"), 0);
    f.states = 1u << TRT_TASK_DONE;
    d.ntasks = 5;
    ck_assert_int_eq(filter_apply(&f, &d, false), 0);
    ck_assert_uint_eq(d.ntasks, 0);
    ck_assert_uint_eq(d.ntasks_total, 5);
    filter_free(&f);
}
END_TEST

Suite *suite_filter(void)
{
    Suite *s = suite_create("filter");
    TCase *tc = tcase_create("filter");
    tcase_add_test(tc, test_args);
    tcase_add_test(tc, test_task);
    tcase_add_test(tc, test_apply);
    suite_add_tcase(s, tc);
    return s;
}
