/* thread.c, unwind.c: a real child process whose thread blocks in read()
 * under two known functions is stopped, copied, released and unwound with
 * the real libdwfl; the trimming of live stacks on frames made up here. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <check.h>

#include "suites.h"
#include "model/livestack.h"
#include "target/thread.h"
#include "model/trim.h"
#include "symbols/unwind.h"

/* ------------------------------------------------------------ the child */

static int child_block_fd;

static __attribute__((noinline)) void tt_thread_blocked_leaf(void)
{
    char c;
    /* Nobody writes: blocks until the child is killed. */
    while (read(child_block_fd, &c, 1) < 0 && errno == EINTR)
        ;
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void tt_thread_blocked_caller(void)
{
    tt_thread_blocked_leaf();
    __asm__ volatile("" ::: "memory");
}

static int child_tid_fd;

static void *child_thread(void *arg)
{
    (void)arg;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (write(child_tid_fd, &tid, sizeof(tid)) != sizeof(tid))
        _exit(3);
    tt_thread_blocked_caller();
    return NULL;
}

static pid_t child_pid, child_tid;

/* Forks a child whose second thread blocks in tt_thread_blocked_leaf, and
 * waits until it is there. */
static void child_start(void)
{
    int block[2], tidp[2];
    ck_assert_int_eq(pipe(block), 0);
    ck_assert_int_eq(pipe(tidp), 0);
    child_pid = fork();
    ck_assert_int_ge(child_pid, 0);
    if (child_pid == 0) {
        pthread_t th;
        child_block_fd = block[0];
        child_tid_fd = tidp[1];
        if (pthread_create(&th, NULL, child_thread, NULL) != 0)
            _exit(2);
        pause();
        _exit(0);
    }
    ck_assert_int_eq(read(tidp[0], &child_tid, sizeof(child_tid)), (int)sizeof(child_tid));
    /* Wait until the thread sleeps in read(). */
    struct thread_info info = {0};
    for (int i = 0; i < 400 && info.state != 'S'; i++) {
        usleep(5000);
        thread_read_info(child_pid, child_tid, &info);
    }
    ck_assert_int_eq(info.state, 'S');
}

static void child_stop(void)
{
    if (child_pid > 0) {
        kill(child_pid, SIGKILL);
        waitpid(child_pid, NULL, 0);
        child_pid = 0;
    }
}

/* The TracerPid and State lines of a thread's status. */
static void status_of(pid_t pid, pid_t tid, int *tracer, char *state)
{
    char path[96], line[256];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    *tracer = -1;
    *state = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "TracerPid:", 10) == 0)
            *tracer = atoi(line + 10);
        if (strncmp(line, "State:", 6) == 0)
            sscanf(line + 6, " %c", state);
    }
    fclose(f);
}

/* False, after saying so on stderr, when this machine forbids ptrace or
 * the build cannot unwind threads. */
static bool ptrace_allowed(const char *test)
{
    if (!THREAD_SUPPORTED) {
        fprintf(stderr, "SKIP %s: no thread unwinding on this architecture\n", test);
        return false;
    }
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
    int scope = 0;
    if (f) {
        if (fscanf(f, "%d", &scope) != 1)
            scope = 0;
        fclose(f);
    }
    if (scope >= 3)
        fprintf(stderr, "SKIP %s: kernel.yama.ptrace_scope=3 forbids ptrace\n", test);
    return scope < 3;
}

/* ------------------------------------------------------------ tests */

START_TEST(test_list_and_info)
{
    child_start();
    pid_t tids[8];
    long n = thread_list(child_pid, tids, 8);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(tids[0], child_pid);
    ck_assert_int_eq(tids[1], child_tid);
    /* A cap smaller than the threads: the count says so. */
    ck_assert_int_eq(thread_list(child_pid, tids, 1), 2);
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
    if (!ptrace_allowed("test_capture_releases"))
        return;
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
    status_of(child_pid, child_tid, &tracer, &state);
    ck_assert_int_eq(tracer, 0);
    ck_assert_int_ne(state, 't');
    ck_assert_int_ne(state, 'T');
    /* The other thread was never touched. */
    status_of(child_pid, child_pid, &tracer, &state);
    ck_assert_int_eq(tracer, 0);
    /* A tid that is not the process's: refused before any stop. */
    ck_assert_int_eq(thread_capture(child_pid, getpid(), 0, &buf, &snap), -ESRCH);
    ck_assert_int_eq(thread_capture(child_pid, 0, 0, &buf, &snap), -ESRCH);
    thread_buf_free(&buf);
    child_stop();
}
END_TEST

START_TEST(test_unwind_child)
{
    if (!ptrace_allowed("test_unwind_child"))
        return;
    child_start();
    struct proc_target t;
    ck_assert_int_eq(proc_open(&t, child_pid), 0);
    int err;
    Dwfl *dwfl = sym_dwfl_open_pid(child_pid, &err);
    ck_assert_ptr_nonnull(dwfl);
    sym_ctx *sym = sym_new(dwfl);
    ck_assert_ptr_nonnull(sym);
    char why[160];
    unwind_ctx *u = unwind_new(dwfl, &t, &err, why, sizeof(why));
    ck_assert_msg(u != NULL, "unwind_new: %s", why);
    struct thread_buf buf;
    ck_assert_int_eq(thread_buf_init(&buf), 0);
    struct thread_snap snap;
    ck_assert_int_eq(thread_capture(child_pid, child_tid, 0, &buf, &snap), 0);
    struct tt_stack st;
    ck_assert_int_eq(unwind_stack(u, sym, &snap, &st, why, sizeof(why)), 0);
    /* Root first: the caller, then the leaf, then (innermost) read. */
    long caller = -1, leaf = -1;
    for (size_t i = 0; i < st.n; i++) {
        const char *fn = st.frames[i]->function;
        if (fn && strcmp(fn, "tt_thread_blocked_caller") == 0)
            caller = (long)i;
        if (fn && strcmp(fn, "tt_thread_blocked_leaf") == 0)
            leaf = (long)i;
    }
    ck_assert_int_ge(caller, 0);
    ck_assert_int_eq(leaf, caller + 1);
    ck_assert_int_lt(leaf, (long)st.n - 1);
    const char *inner = st.frames[st.n - 1]->function;
    ck_assert_ptr_nonnull(inner);
    ck_assert_msg(strstr(inner, "read") != NULL, "innermost frame %s", inner);
    /* The leaf's line is the call's: a return address looked up as one. */
    ck_assert_ptr_nonnull(st.frames[leaf]->file);
    ck_assert_int_gt(st.frames[leaf]->line, 0);
    /* A second unwind of the same copy gives the same frames. */
    struct tt_stack again;
    ck_assert_int_eq(unwind_stack(u, sym, &snap, &again, why, sizeof(why)), 0);
    ck_assert_uint_eq(again.n, st.n);
    ck_assert_int_eq(memcmp(again.frames, st.frames, st.n * sizeof(*st.frames)), 0);
    free(again.frames);
    free(st.frames);
    thread_buf_free(&buf);
    unwind_free(u);
    sym_free(sym);
    dwfl_end(dwfl);
    proc_close(&t);
    child_stop();
}
END_TEST

static const struct sym_frame F_exec = {.function = "worker_main"};
static const struct sym_frame F_wrap = {.function = "trt__traced_poll"};
static const struct sym_frame F_task = {.function = "request_poll"};
static const struct sym_frame F_help = {.function = "trt_future_poll"};
static const struct sym_frame F_leaf = {.function = "read_frame_poll"};
static const struct sym_frame F_intl = {.function = "trt__capture"};
static const struct sym_frame F_read = {.function = "read"};

START_TEST(test_trim)
{
    const struct sym_frame *frames[] = {&F_exec, &F_wrap, &F_task, &F_help,
                                        &F_leaf, &F_intl, &F_read};
    struct tt_stack st = {7, frames, false, false};
    const struct sym_frame *out[7];
    /* Cut above the wrapper, helpers hidden, and unlike a captured stack
     * the runtime-internal frame and what is below it stay. */
    ck_assert_uint_eq(trim_live_stack(&st, false, out), 4);
    ck_assert_ptr_eq(out[0], &F_task);
    ck_assert_ptr_eq(out[1], &F_leaf);
    ck_assert_ptr_eq(out[2], &F_intl);
    ck_assert_ptr_eq(out[3], &F_read);
    ck_assert_uint_eq(trim_live_stack(&st, true, out), 7);
    /* No wrapper (a thread outside any poll): kept whole, helpers hidden. */
    const struct sym_frame *plain[] = {&F_exec, &F_help, &F_read};
    struct tt_stack ps = {3, plain, false, false};
    ck_assert_uint_eq(trim_live_stack(&ps, false, out), 2);
    ck_assert_ptr_eq(out[1], &F_read);
}
END_TEST

/* live_where: the function a stuck task is in, for one-line messages. */
START_TEST(test_where)
{
    static const struct sym_frame wrap = {.function = "trt__traced_poll", .module = "/app"};
    static const struct sym_frame lock_poll = {.function = "locker_poll", .module = "/app"};
    static const struct sym_frame lock = {.function = "___pthread_mutex_lock", .module = "/libc"};
    static const struct sym_frame lock_in = {
        .function = "lll_mutex_lock_optimized", .module = "/libc", .inlined = true};
    static const struct sym_frame wait = {.function = "__lll_lock_wait", .module = "/libc"};
    static const struct sym_frame futex = {
        .function = "futex_wait", .module = "/libc", .inlined = true};
    static const struct sym_frame spin_poll = {.function = "spinner_poll", .module = "/app"};
    static const struct sym_frame spin = {.function = "checksum_spin", .module = "/app"};
    static const struct sym_frame read_poll = {.function = "read_frame_poll", .module = "/app"};
    static const struct sym_frame rd = {.function = "__GI___libc_read+0x12", .module = "/libc"};
    char buf[64];
    struct tt_task t = {.state = TRT_TASK_POLLING, .has_thread_stack = true};
    /* Inside a library: the function of it the task's code called. */
    const struct sym_frame *locker[] = {&wrap, &lock_poll, &lock, &lock_in, &wait, &futex};
    t.thread_stack = (struct tt_stack){6, locker, false, false};
    ck_assert_str_eq(live_where(&t, buf, sizeof(buf)), "pthread_mutex_lock");
    /* Inside the task's own code: the innermost function. */
    const struct sym_frame *spinner[] = {&wrap, &spin_poll, &spin};
    t.thread_stack = (struct tt_stack){3, spinner, false, false};
    ck_assert_str_eq(live_where(&t, buf, sizeof(buf)), "checksum_spin");
    /* libc's internal names and a symbol table offset give the public name. */
    const struct sym_frame *reader[] = {&wrap, &read_poll, &rd};
    t.thread_stack = (struct tt_stack){3, reader, false, false};
    ck_assert_str_eq(live_where(&t, buf, sizeof(buf)), "read");
    t.has_thread_stack = false;
    ck_assert_ptr_null(live_where(&t, buf, sizeof(buf)));
    ck_assert_str_eq(buf, "");
}
END_TEST

Suite *suite_thread(void)
{
    Suite *s = suite_create("thread");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_list_and_info);
    tcase_add_test(tc, test_parse_stat_state);
    tcase_add_test(tc, test_capture_releases);
    tcase_add_test(tc, test_unwind_child);
    tcase_add_test(tc, test_trim);
    tcase_add_test(tc, test_where);
    suite_add_tcase(s, tc);
    return s;
}
