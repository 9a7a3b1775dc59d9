/* util/duration.c: durations as the views and the tool's messages print
 * them, truncated (never rounded up) at every unit's edge. */
#include <stdint.h>

#include <check.h>

#include <tasktrace/protocol.h>

#include "util/duration.h"
#include "views/render.h"
#include "suites.h"

START_TEST(test_duration_units)
{
    char buf[DURATION_MAX];
    ck_assert_str_eq(duration_format(0, buf), "0ns");
    ck_assert_str_eq(duration_format(999, buf), "999ns");
    ck_assert_str_eq(duration_format(420000, buf), "420us");
    ck_assert_str_eq(duration_format(850000000, buf), "850ms");
    ck_assert_str_eq(duration_format(1520000000, buf), "1.52s");
    ck_assert_str_eq(duration_format(59999999999, buf), "59.99s");
    ck_assert_str_eq(duration_format(192000000000, buf), "3m12s");
    ck_assert_str_eq(duration_format(7500000000000, buf), "2h05m");
    ck_assert_str_eq(duration_format(INT64_MAX, buf), "106751d23h");
    ck_assert_str_eq(duration_format(-1, buf), "unknown");
    ck_assert_str_eq(render_state_name(TRT_TASK_IDLE), "idle");
    ck_assert_str_eq(render_state_name(99), "unknown");
}
END_TEST

START_TEST(test_duration_edges)
{
    char buf[DURATION_MAX];
    /* One below each unit stays in the smaller one: truncated, so that a
     * task idle 999.9 ms is never shown as idle a second. */
    ck_assert_str_eq(duration_format(999999, buf), "999us");
    ck_assert_str_eq(duration_format(999999999, buf), "999ms");
    ck_assert_str_eq(duration_format(1000000000, buf), "1.00s");
    ck_assert_str_eq(duration_format(60000000000, buf), "1m00s");
    ck_assert_str_eq(duration_format(3600000000000, buf), "1h00m");
    ck_assert_str_eq(duration_format(86400000000000, buf), "1d00h");
    ck_assert_str_eq(duration_format(INT64_MIN, buf), "unknown");
    /* BUF is what it returns. */
    ck_assert_ptr_eq(duration_format(1, buf), buf);
}
END_TEST

Suite *suite_duration(void)
{
    Suite *s = suite_create("duration");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, test_duration_units);
    tcase_add_test(tc, test_duration_edges);
    suite_add_tcase(s, tc);
    return s;
}
