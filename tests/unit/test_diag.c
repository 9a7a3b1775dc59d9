/* util/diag.c: the warning lines of the layers below cli, written to
 * stderr after what stdout holds, a module's path escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "util/diag.h"
#include "suites.h"

START_TEST(test_diag_lines)
{
    /* stdout and stderr into one file, as on a terminal: the order the
     * reader sees. */
    char path[] = "/tmp/tt-test-diag-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stdout);
    fflush(stderr);
    ck_assert_int_ge(dup2(fd, STDOUT_FILENO), 0);
    ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
    /* Buffered output before the line lands before it. */
    setvbuf(stdout, NULL, _IOFBF, BUFSIZ);
    fputs("task 1 \"a\"\n", stdout);
    diag_line("cannot read %s: %s", "the ring", "Bad address");
    diag_module("/tmp/lib\x1b[2J\n.so", "build id %s differs", "abcd");
    diag_module(NULL, "no file");
    fflush(stdout);
    fflush(stderr);
    char buf[1024];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    close(fd);
    unlink(path);
    ck_assert_str_eq(buf,
                     "task 1 \"a\"\n"
                     "tasktrace-attach: cannot read the ring: Bad address\n"
                     "tasktrace-attach: module /tmp/lib\\x1b[2J\\x0a.so: build id abcd differs\n"
                     "tasktrace-attach: module (null): no file\n");
}
END_TEST

Suite *suite_diag(void)
{
    Suite *s = suite_create("diag");
    TCase *tc = tcase_create("lines");
    tcase_add_test(tc, test_diag_lines);
    suite_add_tcase(s, tc);
    return s;
}
