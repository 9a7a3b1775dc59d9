/* thread.c: the threads of a real child process listed and read from
 * /proc; one of them, blocked in read(), stopped, copied and released
 * (a case that needs ptrace: tcase_thread_ptrace). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "suites.h"
#include "tchild.h"
#include "target/thread.h"

START_TEST(test_list_and_info)
{
    child_start();
    pid_t tids[8];
    long n = thread_list(child_pid, tids, 8);
    /* The child's main thread and its reader; a sanitizer's runtime may
     * add a thread of its own (ThreadSanitizer's background thread). */
    ck_assert_int_ge(n, 2);
    ck_assert_int_le(n, 8);
    ck_assert_int_eq(tids[0], child_pid);
    bool found = false;
    for (long i = 1; i < n; i++)
        found |= tids[i] == child_tid;
    ck_assert_msg(found, "thread %d not listed", (int)child_tid);
    /* A cap smaller than the threads: the count says so. */
    ck_assert_int_eq(thread_list(child_pid, tids, 1), n);
    struct thread_info info;
    ck_assert_int_eq(thread_read_info(child_pid, child_tid, &info), 0);
    ck_assert_int_eq(info.state, 'S');
    ck_assert_str_ne(info.name, "");
    pid_t gone = child_pid;
    child_stop();
    ck_assert_int_eq(thread_list(gone, tids, 8), -ESRCH);
    ck_assert_int_eq(thread_read_info(gone, gone, &info), -ESRCH);
}
END_TEST

START_TEST(test_parse_stat_state)
{
    const char *plain = "123 (worker) S 1 2 3";
    ck_assert_int_eq(thread_parse_stat_state(plain, strlen(plain)), 'S');
    /* A name holding ") R (" must not fool it: the last ')' ends it. */
    const char *tricky = "123 (a) R (b) D 1 2";
    ck_assert_int_eq(thread_parse_stat_state(tricky, strlen(tricky)), 'D');
    ck_assert_int_eq(thread_parse_stat_state("123 (x", 6), 0);
    ck_assert_int_eq(thread_parse_stat_state("123 (x)", 7), 0);
}
END_TEST

START_TEST(test_capture_releases)
{
    child_start();
    struct thread_buf buf;
    ck_assert_int_eq(thread_buf_init(&buf), 0);
    struct thread_snap snap;
    ck_assert_int_eq(thread_capture(child_pid, child_tid, 0, &buf, &snap), 0);
    ck_assert_int_eq(snap.tid, child_tid);
    ck_assert_uint_gt(snap.nregs, 0);
    ck_assert_uint_ne(snap.pc, 0);
    ck_assert_uint_gt(snap.stack_len, 64);
    ck_assert_uint_le(snap.stack_len, THREAD_STACK_COPY_MAX);
    ck_assert_uint_gt(snap.stopped_ns, 0);
    /* Released at once: neither traced nor stopped. */
    int tracer;
    char state;
    child_status_of(child_pid, child_tid, &tracer, &state);
    ck_assert_int_eq(tracer, 0);
    ck_assert_int_ne(state, 't');
    ck_assert_int_ne(state, 'T');
    /* The other thread was never touched. */
    child_status_of(child_pid, child_pid, &tracer, &state);
    ck_assert_int_eq(tracer, 0);
    /* A tid that is not the process's: refused before any stop. */
    ck_assert_int_eq(thread_capture(child_pid, getpid(), 0, &buf, &snap), -ESRCH);
    ck_assert_int_eq(thread_capture(child_pid, 0, 0, &buf, &snap), -ESRCH);
    thread_buf_free(&buf);
    child_stop();
}
END_TEST

Suite *suite_thread(void)
{
    Suite *s = suite_create("thread");
    TCase *tc = tcase_create("proc");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_list_and_info);
    tcase_add_test(tc, test_parse_stat_state);
    suite_add_tcase(s, tc);
    return s;
}

TCase *tcase_thread_ptrace(void)
{
    TCase *tc = tcase_create("thread_capture");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_capture_releases);
    return tc;
}
