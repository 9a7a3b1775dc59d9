/* model/dump.c: the problems of a dump, kept up to TT_MAX_PROBLEMS and
 * counted past it. */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "model/dump.h"
#include "suites.h"

START_TEST(test_dump_problem_cap)
{
    struct tt_dump d = {0};
    for (int i = 0; i < TT_MAX_PROBLEMS; i++)
        ck_assert_ptr_eq(dump_problem(&d, "timeout", "problem %d of %s", i, "many"),
                         &d.problems[i]);
    ck_assert_uint_eq(d.nproblems, TT_MAX_PROBLEMS);
    ck_assert_uint_eq(d.problems_dropped, 0);
    ck_assert_str_eq(d.problems[0].cause, "timeout");
    ck_assert_str_eq(d.problems[0].message, "problem 0 of many");
    ck_assert_str_eq(d.problems[TT_MAX_PROBLEMS - 1].message, "problem 15 of many");

    /* Past the cap: counted, not kept, the kept ones untouched. */
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_null(dump_problem(&d, "deadline", "dropped %d", i));
    ck_assert_uint_eq(d.nproblems, TT_MAX_PROBLEMS);
    ck_assert_uint_eq(d.problems_dropped, 3);
    ck_assert_str_eq(d.problems[TT_MAX_PROBLEMS - 1].cause, "timeout");
    dump_free(&d);
}
END_TEST

START_TEST(test_dump_problem_cut)
{
    /* A message longer than tt_problem.message is cut to fit, terminated. */
    struct tt_dump d = {0};
    char longer[2 * sizeof(d.problems[0].message)];
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    dump_problem(&d, "cap_pcs", "%s", longer);
    ck_assert_uint_eq(d.nproblems, 1);
    ck_assert_uint_eq(strlen(d.problems[0].message), sizeof(d.problems[0].message) - 1);
    dump_free(&d);
}
END_TEST

Suite *suite_dump(void)
{
    Suite *s = suite_create("dump");
    TCase *tc = tcase_create("problems");
    tcase_add_test(tc, test_dump_problem_cap);
    tcase_add_test(tc, test_dump_problem_cut);
    suite_add_tcase(s, tc);
    return s;
}
