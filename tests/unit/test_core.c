/* target/core.c: a real core the kernel wrote of a child of this runner
 * (a case that needs cores: tcase_core_file, run apart by need-core.sh):
 * its process, threads, signal and memory as the child left them; and
 * the files core_open refuses: cut short, no core, no ELF. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <check.h>
#include <elf.h>

#include "target/core.h"
#include "suites.h"
#include "tcore.h"

/* Written by the child just before it aborts: found in its core. */
static volatile char core_marker[32] = "before";

static void *core_idle_thread(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void core_body(void)
{
    pthread_t th;
    if (pthread_create(&th, NULL, core_idle_thread, NULL) != 0)
        _exit(4);
    prctl(PR_SET_NAME, "tt-core-child");
    strcpy((char *)core_marker, "in the core");
}

START_TEST(test_core_open)
{
    char path[4096];
    pid_t pid = core_child_make(core_body, path, sizeof(path));
    struct core_file c;
    char why[256] = "";
    int err = core_open(&c, path, why, sizeof(why));
    ck_assert_msg(err == 0, "core_open %s: %s", path, why);
    ck_assert_int_eq(c.pid, pid);
    ck_assert_str_eq(c.fname, "tt-core-child");
    /* Both threads, the aborting one first, with its signal. */
    ck_assert_uint_eq(c.nthreads, 2);
    ck_assert_uint_eq(c.threads_cut, 0);
    ck_assert_int_eq(c.threads[0].tid, pid);
    ck_assert_int_eq(c.threads[0].cursig, SIGABRT);
    ck_assert_int_eq(c.signo, SIGABRT);
    ck_assert(c.have_siginfo);
    ck_assert(!c.has_sigaddr);
    ck_assert_uint_ne(c.entry, 0);
    ck_assert_ptr_nonnull(c.files);
    ck_assert_uint_eq(c.cred.uids[0], getuid());
    /* Its memory as the child left it, writable where it was. */
    char buf[sizeof(core_marker)];
    ck_assert_int_eq(core_read(&c, (uintptr_t)core_marker, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "in the core");
    const struct core_segment *seg = core_segment_at(&c, (uintptr_t)core_marker);
    ck_assert_ptr_nonnull(seg);
    ck_assert(seg->flags & PF_W);
    /* Never mapped: not in the core. */
    ck_assert_int_eq(core_read(&c, 0x1000, buf, 8), -EFAULT);
    ck_assert_ptr_null(core_segment_at(&c, 0x1000));
    /* The segments are sorted, as core_segment_at needs. */
    for (size_t i = 1; i < c.nsegs; i++)
        ck_assert_uint_ge(c.segs[i].vaddr, c.segs[i - 1].vaddr);

    /* The same core cut short: refused, not half read. */
    char cut[4200];
    snprintf(cut, sizeof(cut), "%s.cut", path);
    core_close(&c);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(truncate(path, sb.st_size / 2), 0);
    ck_assert_int_eq(rename(path, cut), 0);
    struct core_file t;
    ck_assert_int_eq(core_open(&t, cut, why, sizeof(why)), -EFBIG);
    ck_assert_str_ne(why, "");
    rename(cut, path);
    core_child_remove(path);
}
END_TEST

START_TEST(test_core_refused)
{
    struct core_file c;
    char why[256];
    /* An ELF file that is no core: this runner. */
    ck_assert_int_eq(core_open(&c, "/proc/self/exe", why, sizeof(why)), -ENOEXEC);
    ck_assert_str_ne(why, "");
    /* No ELF at all. */
    char path[] = "/tmp/tt-test-core-text-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "not an ELF file\n", 16), 16);
    close(fd);
    ck_assert_int_eq(core_open(&c, path, why, sizeof(why)), -ENOEXEC);
    unlink(path);
    ck_assert_int_eq(core_open(&c, "/nonexistent/core", why, sizeof(why)), -ENOENT);
}
END_TEST

START_TEST(test_core_signals)
{
    ck_assert_str_eq(core_signal_name(SIGSEGV), "SIGSEGV");
    ck_assert_str_eq(core_signal_name(SIGABRT), "SIGABRT");
    ck_assert_ptr_null(core_signal_name(0));
    ck_assert_ptr_null(core_signal_name(1000));
    ck_assert(core_signal_fatal(SIGSEGV));
    ck_assert(core_signal_fatal(SIGABRT));
    ck_assert(core_signal_fatal(SIGQUIT));
    /* A core from gcore names no signal (0), and SIGTERM ends a process
     * without a core: neither is a crash. */
    ck_assert(!core_signal_fatal(0));
    ck_assert(!core_signal_fatal(SIGTERM));
}
END_TEST

Suite *suite_core(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, test_core_refused);
    tcase_add_test(tc, test_core_signals);
    suite_add_tcase(s, tc);
    return s;
}

TCase *tcase_core_file(void)
{
    TCase *tc = tcase_create("core_file");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_core_open);
    return tc;
}
