/* target/watchdog.c: a real "tool" process (forked here) that holds a
 * thread of its own child in a ptrace stop and never lets it go is killed
 * by its watchdog past WATCHDOG_BOUND_MS, saying so on stderr, and the
 * thread runs on (a case that needs ptrace: tcase_watchdog_ptrace); a hold
 * that ends in time, or of a thread that is not stopped, kills nothing. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <check.h>

#include <tasktrace/clock.h>

#include "target/watchdog.h"
#include "suites.h"
#include "tchild.h"

/* What the tool process tells the test before it holds the thread. */
struct held {
    pid_t pid, tid;
    uint64_t since_ns; /* CLOCK_MONOTONIC just before the hold began */
};

enum tool_kind {
    TOOL_STUCK,   /* holds a stopped thread and never ends the hold */
    TOOL_IN_TIME, /* ends its hold and detaches at once */
    TOOL_NO_STOP, /* marks a hold of a thread that is not stopped */
};

static void tool_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Stops thread TID of the tool's child with PTRACE_INTERRUPT, as the
 * tool does; exits the tool on failure. */
static void tool_stop_thread(pid_t tid)
{
    int status;
    if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0 ||
        ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 || waitpid(tid, &status, __WALL) != tid ||
        !WIFSTOPPED(status))
        _exit(20);
}

/* The tool process: never returns. */
static _Noreturn void tool_main(enum tool_kind kind, int report_fd)
{
    struct held h = {0};
    if (kind == TOOL_NO_STOP) {
        h.pid = getpid();
        h.tid = (pid_t)syscall(SYS_gettid);
    } else {
        child_start();
        h.pid = child_pid;
        h.tid = child_tid;
    }
    if (watchdog_start(NULL) != 0)
        _exit(21);
    if (kind != TOOL_NO_STOP)
        tool_stop_thread(h.tid);
    h.since_ns = trt_clock_ns(CLOCK_MONOTONIC);
    watchdog_hold_begin(h.pid, h.tid);
    if (write(report_fd, &h, sizeof(h)) != sizeof(h))
        _exit(22);
    if (kind == TOOL_IN_TIME) {
        watchdog_hold_end();
        if (ptrace(PTRACE_DETACH, h.tid, NULL, NULL) < 0)
            _exit(23);
    }
    if (kind == TOOL_STUCK)
        for (;;)
            pause();
    /* Three bounds: time enough for a watchdog to strike, if it would. */
    tool_sleep_ms(3 * WATCHDOG_BOUND_MS);
    _exit(0);
}

struct tool {
    pid_t pid;
    int err_fd; /* its stderr, read end, non-blocking */
    struct held held;
};

static void tool_run(struct tool *t, enum tool_kind kind)
{
    int report[2], err[2];
    ck_assert_int_eq(pipe(report), 0);
    ck_assert_int_eq(pipe(err), 0);
    t->pid = fork();
    ck_assert_int_ge(t->pid, 0);
    if (t->pid == 0) {
        close(report[0]);
        close(err[0]);
        dup2(err[1], STDERR_FILENO);
        tool_main(kind, report[1]);
    }
    close(report[1]);
    close(err[1]);
    ck_assert_int_eq(read(report[0], &t->held, sizeof(t->held)), (ssize_t)sizeof(t->held));
    close(report[0]);
    t->err_fd = err[0];
    ck_assert_int_eq(fcntl(t->err_fd, F_SETFL, O_NONBLOCK), 0);
}

/* Waits, at most 20 s, for the tool to end; returns its wait status and
 * in *ENDED_NS when it was seen to have ended. */
static int tool_wait(const struct tool *t, uint64_t *ended_ns)
{
    int status;
    for (int i = 0; i < 4000; i++) {
        pid_t w = waitpid(t->pid, &status, WNOHANG);
        ck_assert_int_ge(w, 0);
        if (w == t->pid) {
            *ended_ns = trt_clock_ns(CLOCK_MONOTONIC);
            return status;
        }
        tool_sleep_ms(5);
    }
    kill(t->pid, SIGKILL);
    ck_abort_msg("the tool did not end within 20 s");
    return -1;
}

START_TEST(test_watchdog_kills_stuck_tool)
{
    struct tool t;
    tool_run(&t, TOOL_STUCK);
    uint64_t ended;
    int status = tool_wait(&t, &ended);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "the stuck tool was not killed: status 0x%x", status);
    /* Not before the bound. */
    ck_assert_uint_ge(ended - t.held.since_ns, WATCHDOG_BOUND_MS * 1000000ull);
    /* Its one line, on the tool's stderr. */
    char line[512], want[512];
    ssize_t n = read(t.err_fd, line, sizeof(line) - 1);
    ck_assert_int_gt(n, 0);
    line[n] = '\0';
    snprintf(want, sizeof(want),
             "tasktrace-attach: held thread %d of PID %d stopped for more than %u ms (was "
             "this tool stopped?): killed so that the thread runs on\n",
             (int)t.held.tid, (int)t.held.pid, WATCHDOG_BOUND_MS);
    ck_assert_str_eq(line, want);
    /* The kernel let the thread go: no tracer, out of the stop. */
    int tracer = -1;
    char state = 0;
    for (int i = 0; i < 2000; i++) {
        child_status_of(t.held.pid, t.held.tid, &tracer, &state);
        if (tracer == 0 && state != 't')
            break;
        tool_sleep_ms(5);
    }
    ck_assert_int_eq(tracer, 0);
    ck_assert_int_ne(state, 't');
    /* The target, the dead tool's child, is the test's to end. */
    kill(t.held.pid, SIGKILL);
    close(t.err_fd);
}
END_TEST

/* Runs a tool of KIND that the watchdog must leave alone: it exits 0,
 * having written nothing to stderr.  Returns how long it outlived the
 * start of its hold. */
static uint64_t tool_expect_unharmed(enum tool_kind kind, struct tool *t)
{
    tool_run(t, kind);
    uint64_t ended;
    int status = tool_wait(t, &ended);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the watchdog harmed a tool it should have left alone: status 0x%x", status);
    char line[512];
    ck_assert_int_le(read(t->err_fd, line, sizeof(line)), 0);
    close(t->err_fd);
    return ended - t->held.since_ns;
}

START_TEST(test_watchdog_hold_in_time)
{
    struct tool t;
    tool_expect_unharmed(TOOL_IN_TIME, &t);
    kill(t.held.pid, SIGKILL);
}
END_TEST

START_TEST(test_watchdog_thread_not_stopped)
{
    /* It outlived its hold by more than the bound, unharmed. */
    struct tool t;
    ck_assert_uint_ge(tool_expect_unharmed(TOOL_NO_STOP, &t),
                      2ull * WATCHDOG_BOUND_MS * 1000000ull);
}
END_TEST

Suite *suite_watchdog(void)
{
    Suite *s = suite_create("watchdog");
    TCase *tc = tcase_create("no_stop");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_watchdog_thread_not_stopped);
    suite_add_tcase(s, tc);
    return s;
}

TCase *tcase_watchdog_ptrace(void)
{
    TCase *tc = tcase_create("watchdog_hold");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_watchdog_kills_stuck_tool);
    tcase_add_test(tc, test_watchdog_hold_in_time);
    return tc;
}
