/* model/compare.c: two dumps of one process, written by the JSON view
 * from models made here, compared as --compare compares the files: which
 * tasks did not move, moved, appeared and finished, and the documents it
 * refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <tasktrace/protocol.h>

#include "model/compare.h"
#include "views/render.h"
#include "suites.h"

#define SRC "/abs/examples/taskdump.c"
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct frame f_traced = {.function = TRT_FN_TRACED_POLL, .file = SRC, .line = 4};
static const struct frame f_foo = {.function = "foo_poll", .file = SRC, .line = 41};
static const struct frame f_bar = {.function = "bar_poll", .file = SRC, .line = 52};
static const struct frame f_baz = {.function = "baz_poll", .file = SRC, .line = 60};

static const struct frame *stack_bar[] = {&f_traced, &f_foo, &f_bar};
static const struct frame *stack_baz[] = {&f_traced, &f_foo, &f_baz};

/* The JSON document of D, malloc'd (*LEN bytes). */
static char *document(const struct tt_dump *d, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(render_json(f, d, NULL), 0);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

/* Adds D to C and checks it was taken. */
static void add(struct compare *c, const struct tt_dump *d, char *causes, size_t causeslen)
{
    size_t len;
    char *doc = document(d, &len);
    char why[256] = "";
    const char *code = NULL;
    int err = compare_add(c, doc, len, causes, causeslen, why, sizeof(why), &code);
    ck_assert_msg(err == 0, "compare_add: %s (%s)", why, code ? code : "?");
    free(doc);
}

/* Prints C (as JSON with JSON) and checks that the output is WANT and
 * the verdict VERDICT. */
static void expect_print(struct compare *c, bool json, int verdict, const char *want)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    char why[256] = "";
    const char *code = NULL;
    int got = compare_print(c, json, f, why, sizeof(why), &code);
    ck_assert_msg(got >= 0, "compare_print: %s", why);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(got, verdict);
    ck_assert_str_eq(buf, want);
    free(buf);
}

/* The first dump: task 1 waits in bar, 2 in baz, 3 in bar; 1.5 s later
 * task 1 is where it was with as many polls, 2 polled once more, 3 has
 * finished and 4 appeared. */
static void make_dumps(struct tt_dump *a, struct tt_dump *b, struct tt_task ta[3],
                       struct tt_task tb[3], struct tt_stack st[2])
{
    st[0] = (struct tt_stack){NELEM(stack_bar), stack_bar, false, false};
    st[1] = (struct tt_stack){NELEM(stack_baz), stack_baz, false, false};
    ta[0] = (struct tt_task){.id = 1,
                             .name = "stuck",
                             .state = TRT_TASK_IDLE,
                             .polls = 3,
                             .idle_ns = 1000000000,
                             .reported = true,
                             .nstacks = 1,
                             .stacks = &st[0],
                             .poll_ns = -1};
    ta[1] = (struct tt_task){.id = 2,
                             .name = "busy",
                             .state = TRT_TASK_IDLE,
                             .polls = 10,
                             .idle_ns = 5000000,
                             .reported = true,
                             .nstacks = 1,
                             .stacks = &st[1],
                             .poll_ns = -1};
    ta[2] = (struct tt_task){.id = 3,
                             .name = "short",
                             .state = TRT_TASK_IDLE,
                             .polls = 1,
                             .idle_ns = 1000,
                             .reported = true,
                             .nstacks = 1,
                             .stacks = &st[0],
                             .poll_ns = -1};
    tb[0] = ta[0];
    tb[0].idle_ns = 2500000000;
    tb[1] = ta[1];
    tb[1].polls = 11;
    tb[2] = (struct tt_task){.id = 4,
                             .name = "new",
                             .state = TRT_TASK_IDLE,
                             .polls = 1,
                             .idle_ns = 1000,
                             .reported = true,
                             .nstacks = 1,
                             .stacks = &st[1],
                             .poll_ns = -1};
    *a = (struct tt_dump){.pid = 4242,
                          .complete = true,
                          .generation = 1,
                          .ntasks = 3,
                          .tasks = ta,
                          .taken_at_ms = 1795000000000};
    *b = *a;
    b->generation = 2;
    b->tasks = tb;
    b->taken_at_ms = a->taken_at_ms + 1500;
}

START_TEST(test_compare_kinds)
{
    struct tt_dump a, b;
    struct tt_task ta[3], tb[3];
    struct tt_stack st[2];
    make_dumps(&a, &b, ta, tb, st);
    struct compare c = {0};
    char causes[128];
    add(&c, &a, causes, sizeof(causes));
    ck_assert_str_eq(causes, "");
    add(&c, &b, causes, sizeof(causes));
    expect_print(&c, true, COMPARE_VERDICT_STILL,
                 "{\"version\":1,\"pid\":4242,\"first_taken_at\":\"2026-11-18T11:06:40.000Z\","
                 "\"second_taken_at\":\"2026-11-18T11:06:41.500Z\",\"interval_ms\":1500,"
                 "\"dumps\":2,\"partial\":[],\"still\":[1],\"moved\":[2],"
                 "\"appeared\":[4],\"finished\":[3]}\n");
    expect_print(&c, false, COMPARE_VERDICT_STILL,
                 "PID 4242, dumps 1.50s apart: 1 did not move, 1 moved, 1 appeared, "
                 "1 finished\n"
                 "did not move (same poll count, same stacks):\n"
                 "  task 1 \"stuck\" idle, 3 polls, idle 2.50s\n"
                 "moved (polled in between):\n"
                 "  task 2 \"busy\"\n"
                 "appeared (not in the first dump):\n"
                 "  task 4 \"new\"\n"
                 "finished (not in the last dump):\n"
                 "  task 3 \"short\"\n");
    compare_free(&c);
}
END_TEST

START_TEST(test_compare_moved_and_partial)
{
    struct tt_dump a, b;
    struct tt_task ta[3], tb[3];
    struct tt_stack st[2];
    make_dumps(&a, &b, ta, tb, st);
    /* Task 1 kept its poll count but waits elsewhere now: it moved. */
    tb[0].stacks = &st[1];
    /* The second dump is partial: "none is stuck" is not certain. */
    b.complete = false;
    b.nproblems = 1;
    b.problems[0] = (struct tt_problem){.cause = "timeout", .message = "2 tasks did not report"};
    struct compare c = {0};
    char causes[128];
    add(&c, &a, causes, sizeof(causes));
    add(&c, &b, causes, sizeof(causes));
    ck_assert_str_eq(causes, "timeout");
    expect_print(&c, true, COMPARE_VERDICT_PARTIAL,
                 "{\"version\":1,\"pid\":4242,\"first_taken_at\":\"2026-11-18T11:06:40.000Z\","
                 "\"second_taken_at\":\"2026-11-18T11:06:41.500Z\",\"interval_ms\":1500,"
                 "\"dumps\":2,\"partial\":[2],\"still\":[],\"moved\":[1,2],"
                 "\"appeared\":[4],\"finished\":[3]}\n");
    expect_print(&c, false, COMPARE_VERDICT_PARTIAL,
                 "PID 4242, dumps 1.50s apart: 0 did not move, 2 moved, 1 appeared, "
                 "1 finished\n"
                 "moved (polled in between):\n"
                 "  2 tasks (ids 1-2: \"stuck\", \"busy\")\n"
                 "appeared (not in the first dump):\n"
                 "  task 4 \"new\"\n"
                 "finished (not in the last dump):\n"
                 "  task 3 \"short\"\n"
                 "incomplete: dump 2 of 2 is partial (timeout)\n");
    compare_free(&c);
}
END_TEST

START_TEST(test_compare_refused)
{
    struct tt_dump a, b;
    struct tt_task ta[3], tb[3];
    struct tt_stack st[2];
    make_dumps(&a, &b, ta, tb, st);
    struct compare c = {0};
    char causes[128], why[256];
    const char *code = NULL;
    /* Fewer than two dumps: nothing to compare. */
    add(&c, &a, causes, sizeof(causes));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(compare_print(&c, false, f, why, sizeof(why), &code), -1);
    ck_assert_str_eq(code, "FAILED");
    fclose(f);
    free(buf);
    /* Another process. */
    b.pid = 4343;
    char *doc = document(&b, &len);
    ck_assert_int_eq(compare_add(&c, doc, len, causes, sizeof(causes), why, sizeof(why), &code),
                     -1);
    ck_assert_str_eq(code, "NOT_SAME_PROCESS");
    ck_assert_str_eq(why, "the dumps are of two processes, PID 4242 and PID 4343");
    free(doc);
    /* Not a dump: an error document, not JSON, a task listed twice. */
    static const char *const bad[] = {
        "{\"version\":1,\"error\":{\"code\":\"ESRCH\",\"message\":\"gone\"},\"pid\":1}",
        "tasks",
        "{\"version\":1,\"pid\":4242,\"tasks\":[{\"id\":1,\"polls\":1},{\"id\":1,\"polls\":2}]}",
        "{\"version\":2,\"pid\":4242,\"tasks\":[]}",
    };
    for (size_t i = 0; i < NELEM(bad); i++) {
        code = NULL;
        ck_assert_int_eq(compare_add(&c, bad[i], strlen(bad[i]), causes, sizeof(causes), why,
                                     sizeof(why), &code),
                         -1);
        ck_assert_msg(code && strcmp(code, "BAD_INPUT") == 0, "%s: %s", bad[i], code);
    }
    compare_free(&c);
    compare_free(NULL);
}
END_TEST

Suite *suite_compare(void)
{
    Suite *s = suite_create("compare");
    TCase *tc = tcase_create("compare");
    tcase_add_test(tc, test_compare_kinds);
    tcase_add_test(tc, test_compare_moved_and_partial);
    tcase_add_test(tc, test_compare_refused);
    suite_add_tcase(s, tc);
    return s;
}
