/* The doorbell thread, rung from a child process through ptrace exactly as
 * tasktrace-attach rings it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../libtargetrt/rt_internal.h"
#include "../../tasktrace-attach/bell.h"
#include "gen_util.h"
#include "suites.h"

static int wait_doorbell(void)
{
    for (int i = 0; i < 5000 && TRT_LOAD(&tasktrace_control.doorbell_tid) == 0; i++)
        usleep(1000);
    return TRT_LOAD(&tasktrace_control.doorbell_tid);
}

START_TEST(doorbell_thread_named_and_blocked)
{
    struct tleaf l;
    tleaf_init(&l);
    trt_future *t = trt_traced_new(&l.base, "x");
    pid_t tid = wait_doorbell();
    ck_assert_int_gt(tid, 0);
    char comm[64];
    ck_assert_int_eq(proc_thread_comm(getpid(), tid, comm, sizeof(comm)), 0);
    ck_assert_str_eq(comm, TRT_DOORBELL_NAME);
    trt_traced_free(t);
}
END_TEST

START_TEST(rung_by_child_through_ptrace)
{
    struct tleaf l;
    tleaf_init(&l);
    struct ttask task = {.inner = &l.base};
    task.traced = trt_traced_new(&l.base, "rung");
    ttask_poll(&task);
    pid_t tid = wait_doorbell();
    ck_assert_int_gt(tid, 0);
    /* Under kernel.yama.ptrace_scope=1 a child may trace its parent only
     * when the parent allows it. */
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    uint32_t gen = TRT_LOAD(&tasktrace_control.active) + 1;
    pid_t parent = getpid();
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct proc_target t;
        uint64_t stopped;
        if (proc_open(&t, parent) < 0)
            _exit(10);
        int err = bell_ring(&t, tid, (uint64_t)(uintptr_t)&tasktrace_control, gen, 0, &stopped);
        _exit(err == 0 ? 0 : err == -EPERM ? 77 : 11);
    }
    int st;
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    /* The doorbell woke up, started the generation and woke the task. */
    ck_assert_int_eq(ttask_run_until_done(&task, 1, gen, 5000), 0);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.active), gen);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.done), gen);
    /* The thread runs on, untraced, and a second ring works too. */
    char path[96], line[128];
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int tracer = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "TracerPid: %d", &tracer) == 1)
            break;
    fclose(f);
    ck_assert_int_eq(tracer, 0);
    tleaf_drop(&l);
    trt_traced_free(task.traced);
}
END_TEST

START_TEST(forked_child_gets_its_own_doorbell)
{
    struct tleaf l;
    tleaf_init(&l);
    struct ttask task = {.inner = &l.base};
    task.traced = trt_traced_new(&l.base, "forked");
    ttask_poll(&task);
    pid_t parent_tid = wait_doorbell();
    ck_assert_int_gt(parent_tid, 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        /* The parent's tasks came along; so must a doorbell to dump them. */
        pid_t tid = wait_doorbell();
        char comm[64];
        if (tid <= 0 || tid == parent_tid)
            _exit(10);
        if (proc_thread_comm(getpid(), tid, comm, sizeof(comm)) < 0 ||
            strcmp(comm, TRT_DOORBELL_NAME) != 0)
            _exit(11);
        uint32_t gen = trt__dump_request();
        if (ttask_run_until_done(&task, 1, gen, 5000) < 0)
            _exit(12);
        _exit(((struct trt__task *)task.traced)->slot->traced_gen == gen ? 0 : 13);
    }
    int st;
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    tleaf_drop(&l);
    trt_traced_free(task.traced);
}
END_TEST

Suite *suite_doorbell(void)
{
    Suite *s = suite_create("doorbell");
    TCase *tc = tcase_create("doorbell");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, doorbell_thread_named_and_blocked);
    tcase_add_test(tc, rung_by_child_through_ptrace);
    tcase_add_test(tc, forked_child_gets_its_own_doorbell);
    suite_add_tcase(s, tc);
    return s;
}
