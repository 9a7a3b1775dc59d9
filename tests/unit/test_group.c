/* group.c: hand-made tasks and threads that would print the same tree are
 * one group, the largest first; counts with thousands separators. */
#include <string.h>

#include <check.h>

#include <tasktrace/protocol.h>

#include "suites.h"
#include "model/group.h"

static const struct frame F_wrap = {.function = "trt__traced_poll", .module = "/app"};
static const struct frame F_conn = {
    .function = "conn_poll", .file = "/src/server.c", .line = 10, .module = "/app"};
static const struct frame F_read = {
    .function = "read_frame_poll", .file = "/src/frame.c", .line = 20, .module = "/app"};
static const struct frame F_lock = {
    .function = "locker_poll", .file = "/src/lock.c", .line = 30, .module = "/app"};

static const struct frame *reader[] = {&F_wrap, &F_conn, &F_read};
static const struct frame *locker[] = {&F_wrap, &F_conn, &F_lock};

static struct tt_task task(uint64_t id, const struct frame **frames, struct tt_stack *st)
{
    *st = (struct tt_stack){3, frames, false, false};
    return (struct tt_task){.id = id,
                            .state = TRT_TASK_IDLE,
                            .idle_ns = (int64_t)id * 1000,
                            .polls = id,
                            .nstacks = 1,
                            .stacks = st};
}

START_TEST(test_tasks)
{
    struct tt_stack st[6];
    struct tt_task t[6];
    /* Readers 0, 2, 5 (names and times differ); lockers 1, 3; reader 4 is
     * suspect, which its tree shows. */
    for (int i = 0; i < 6; i++)
        t[i] = task((uint64_t)i + 1, i == 1 || i == 3 ? locker : reader, &st[i]);
    strcpy(t[0].name, "a");
    strcpy(t[2].name, "b");
    t[4].suspect = true;
    struct tt_dump d = {.ntasks = 6, .tasks = t};
    struct group_set g;
    ck_assert_int_eq(group_tasks(&d, false, &g), 0);
    ck_assert_uint_eq(g.n, 3);
    ck_assert_uint_eq(g.groups[0].count, 3);
    ck_assert_uint_eq(g.groups[1].count, 2);
    ck_assert_uint_eq(g.groups[2].count, 1);
    const size_t *m = g.members + g.groups[0].first;
    ck_assert(m[0] == 0 && m[1] == 2 && m[2] == 5);
    m = g.members + g.groups[1].first;
    ck_assert(m[0] == 1 && m[1] == 3);
    ck_assert_uint_eq(g.members[g.groups[2].first], 4);
    const size_t of[] = {0, 1, 0, 1, 2, 0};
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(g.of[i], of[i]);
    group_free(&g);
    /* Another state is another group. */
    t[5].state = TRT_TASK_DONE;
    ck_assert_int_eq(group_tasks(&d, false, &g), 0);
    ck_assert_uint_eq(g.n, 4);
    ck_assert_uint_eq(g.groups[0].count, 2);
    ck_assert_uint_eq(g.groups[1].count, 2);
    /* Ties in the order of their first member: readers (0) before lockers. */
    ck_assert_uint_eq(g.members[g.groups[0].first], 0);
    ck_assert_uint_eq(g.members[g.groups[1].first], 1);
    group_free(&g);
    /* No tasks: no group. */
    d.ntasks = 0;
    ck_assert_int_eq(group_tasks(&d, false, &g), 0);
    ck_assert_uint_eq(g.n, 0);
    group_free(&g);
}
END_TEST

START_TEST(test_threads)
{
    const struct frame *stack[] = {&F_conn, &F_read};
    struct tt_thread th[3] = {
        {.tid = 10, .state = 'S', .has_stack = true, .stack = {2, stack, false, false}},
        {.tid = 11, .state = 'S', .has_stack = true, .stack = {2, stack, false, false}},
        {.tid = 12, .state = 'R', .has_stack = true, .stack = {2, stack, false, false}},
    };
    strcpy(th[0].wchan, "do_epoll_wait");
    strcpy(th[1].wchan, "do_epoll_wait");
    struct tt_dump d = {.nthreads = 3, .threads = th, .threads_listed = true};
    struct group_set g;
    ck_assert_int_eq(group_threads(&d, &g), 0);
    ck_assert_uint_eq(g.n, 2);
    ck_assert_uint_eq(g.groups[0].count, 2);
    ck_assert_uint_eq(g.members[g.groups[1].first], 2);
    group_free(&g);
    /* Another wait channel: apart. */
    strcpy(th[1].wchan, "futex_wait_queue");
    ck_assert_int_eq(group_threads(&d, &g), 0);
    ck_assert_uint_eq(g.n, 3);
    group_free(&g);
}
END_TEST

START_TEST(test_count)
{
    char buf[28];
    ck_assert_str_eq(group_count(0, buf), "0");
    ck_assert_str_eq(group_count(999, buf), "999");
    ck_assert_str_eq(group_count(1000, buf), "1,000");
    ck_assert_str_eq(group_count(1832, buf), "1,832");
    ck_assert_str_eq(group_count(123456789, buf), "123,456,789");
    ck_assert_str_eq(group_count((size_t)-1, buf),
                     sizeof(size_t) == 8 ? "18,446,744,073,709,551,615" : "4,294,967,295");
}
END_TEST

Suite *suite_group(void)
{
    Suite *s = suite_create("group");
    TCase *tc = tcase_create("group");
    tcase_add_test(tc, test_tasks);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_count);
    suite_add_tcase(s, tc);
    return s;
}
