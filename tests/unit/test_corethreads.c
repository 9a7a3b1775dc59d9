/* model/corethreads.c: the live part of a real core's dump (a case that
 * needs cores: tcase_corethreads_file).  The child that crashed had one
 * thread blocked inside a task's poll and aborted on the other inside
 * another task's poll: the first task gets its thread's stack, unwound
 * from the core, the second is the task the crash struck, and --threads
 * lists both threads. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <check.h>

#include "../../libtargetrt/rt_internal.h"
#include "model/corethreads.h"
#include "model/dump.h"
#include "symbols/findcore.h"
#include "target/rtread.h"
#include "gen_util.h"
#include "suites.h"
#include "tcore.h"

static int block_fd;
static atomic_int blocked_tid;

__attribute__((noinline)) static trt_poll corethr_block_poll(trt_future *f, trt_context *cx)
{
    (void)f, (void)cx;
    char c;
    atomic_store(&blocked_tid, (int)syscall(SYS_gettid));
    /* Nobody writes: the thread stays inside the poll until the core. */
    while (read(block_fd, &c, 1) < 0)
        ;
    return TRT_PENDING;
}

__attribute__((noinline)) static trt_poll corethr_abort_poll(trt_future *f, trt_context *cx)
{
    (void)f, (void)cx;
    abort();
}

static trt_future block_leaf = {corethr_block_poll};
static trt_future abort_leaf = {corethr_abort_poll};
static struct ttask blocked_task, crash_task;

static void *corethr_thread(void *arg)
{
    (void)arg;
    ttask_poll(&blocked_task);
    return NULL;
}

/* Whether thread TID of this process sleeps ('S'). */
static bool corethr_sleeping(int tid)
{
    char path[96], buf[512];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] == 'S';
}

static void corethr_body(void)
{
    int p[2];
    if (pipe(p) < 0)
        _exit(4);
    block_fd = p[0];
    blocked_task.inner = &block_leaf;
    blocked_task.traced = trt_traced_new(&block_leaf, "core-blocked");
    crash_task.inner = &abort_leaf;
    crash_task.traced = trt_traced_new(&abort_leaf, "core-crash");
    pthread_t th;
    if (!blocked_task.traced || !crash_task.traced ||
        pthread_create(&th, NULL, corethr_thread, NULL) != 0)
        _exit(5);
    /* Until the thread sleeps in read(), inside its poll: at most 10 s. */
    for (int i = 0; i < 2000; i++) {
        int tid = atomic_load(&blocked_tid);
        if (tid > 0 && corethr_sleeping(tid))
            break;
        usleep(5000);
    }
    ttask_poll(&crash_task);
}

static const struct tt_task *task_named(const struct tt_dump *d, const char *name)
{
    for (size_t i = 0; i < d->ntasks; i++)
        if (strcmp(d->tasks[i].name, name) == 0)
            return &d->tasks[i];
    ck_abort_msg("no task \"%s\" in the core's dump", name);
    return NULL;
}

static bool stack_has(const struct tt_stack *st, const char *fn)
{
    for (size_t i = 0; i < st->n; i++)
        if (st->frames[i]->function && strcmp(st->frames[i]->function, fn) == 0)
            return true;
    return false;
}

START_TEST(test_corethreads_fill)
{
    char path[4096], why[1024] = "", warn[1024] = "";
    pid_t pid = core_child_make(corethr_body, path, sizeof(path));
    struct core_file c;
    ck_assert_msg(core_open(&c, path, why, sizeof(why)) == 0, "core_open: %s", why);
    int err;
    Dwfl *dwfl = findcore_dwfl_open(&c, NULL, &err, why, sizeof(why), warn, sizeof(warn));
    ck_assert_msg(dwfl != NULL, "findcore_dwfl_open: %s", why);
    uint64_t addr;
    ck_assert_int_eq(rtread_locate(dwfl, &addr), 0);
    struct trt_control ctl;
    ck_assert_int_eq(rtread_control_read(core_read, &c, addr, &ctl, why, sizeof(why)), 0);
    struct rtread_registry reg;
    ck_assert_int_eq(rtread_registry_read(core_read, &c, ctl.registry_addr, &reg, why, sizeof(why)),
                     0);
    ck_assert_uint_eq(reg.n, 2);
    lookup_ctx *sym = lookup_new(dwfl);
    ck_assert_ptr_nonnull(sym);
    struct tt_dump d = {.pid = c.pid, .passive = true, .stacks_age_ns = -1};
    struct records_result ring = {0};
    struct dump_in in = {.started = true, .now_ns = UINT64_MAX, .all_tasks = true};
    ck_assert_int_eq(dump_build(&d, sym, reg.slots, reg.n, &ring, &in), 0);
    struct corethreads_stats st;
    ck_assert_int_eq(corethreads_fill(&d, &c, dwfl, sym, reg.slots, reg.n, true, false, &st), 0);
    ck_assert_msg(st.failed == 0, "%zu tasks without a stack: %s", st.failed, st.first_error);

    const struct tt_task *blocked = task_named(&d, "core-blocked");
    const struct tt_task *crashed = task_named(&d, "core-crash");
    ck_assert_uint_eq(blocked->state, TRT_TASK_POLLING);
    ck_assert(blocked->has_thread_stack);
    ck_assert_ptr_null(blocked->thread_error);
    ck_assert(stack_has(&blocked->thread_stack, "corethr_block_poll"));
    ck_assert(stack_has(&blocked->thread_stack, "corethr_thread"));
    ck_assert_int_ne(blocked->tid, pid);
    /* The crash: SIGABRT, on the main thread, inside the other's poll. */
    ck_assert(d.has_crash);
    ck_assert_int_eq(d.crash.signo, SIGABRT);
    ck_assert_str_eq(d.crash.signal, "SIGABRT");
    ck_assert_int_eq(d.crash.thread, pid);
    ck_assert_uint_eq(d.crash.task, crashed->id);
    ck_assert_str_eq(d.crash.task_name, "core-crash");
    ck_assert_ptr_nonnull(d.crash.frame);
    ck_assert(crashed->has_thread_stack);
    ck_assert(stack_has(&crashed->thread_stack, "corethr_abort_poll"));
    /* --threads: every thread of the core (the runtime's doorbell too),
     * each with its stack and the task it polls, if any. */
    ck_assert(d.threads_listed);
    ck_assert_uint_eq(d.nthreads, c.nthreads);
    int polling = 0;
    for (size_t i = 0; i < d.nthreads; i++) {
        const struct tt_thread *th = &d.threads[i];
        ck_assert_msg(th->has_stack, "thread %d: %s", (int)th->tid, th->error);
        uint64_t want = th->tid == pid ? crashed->id : th->tid == blocked->tid ? blocked->id : 0;
        ck_assert_uint_eq(th->task, want);
        polling += want != 0;
    }
    ck_assert_int_eq(polling, 2);
    dump_free(&d);
    lookup_free(sym);
    rtread_registry_free(&reg);
    dwfl_end(dwfl);
    core_close(&c);
    core_child_remove(path);
}
END_TEST

TCase *tcase_corethreads_file(void)
{
    TCase *tc = tcase_create("corethreads_file");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_corethreads_fill);
    return tc;
}
