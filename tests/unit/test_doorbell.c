/* The doorbell thread: rung from a child process through ptrace exactly as
 * tasktrace-attach rings it, twice; started lazily in a forked child;
 * published when it cannot be created, and started later. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../libtargetrt/rt_internal.h"
#include "target/doorbell.h"
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

/* Rings the doorbell `tid` for generation `gen` from a child process, as the
 * tool does.  The child's exit status says how it went. */
static void ring_from_child(pid_t tid, uint32_t gen)
{
    pid_t parent = getpid();
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct proc_target t;
        uint64_t stopped;
        if (proc_open(&t, parent) < 0)
            _exit(10);
        uint32_t asked = gen;
        int err = doorbell_ring_next(&t, tid, (uint64_t)(uintptr_t)&tasktrace_control, &asked, 0,
                                     &stopped);
        /* GEN is past the request word and the active generation: it is
         * the one asked for. */
        _exit(err == 0 && asked == gen ? 0 : err == -EPERM ? 77 : err == 0 ? 12 : 11);
    }
    int st;
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    ck_assert(WIFEXITED(st));
    /* Check has no skip: a machine that forbids the ring fails here, with
     * the reason. */
    ck_assert_msg(WEXITSTATUS(st) != 77,
                  "ptrace of the parent refused (EPERM): kernel.yama.ptrace_scope or a sandbox");
    ck_assert_int_eq(WEXITSTATUS(st), 0);
}

/* The tracer of thread `tid` of this process, from /proc; -1 if unknown. */
static int tracer_of(pid_t tid)
{
    char path[96], line[128];
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int tracer = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "TracerPid: %d", &tracer) == 1)
            break;
    fclose(f);
    return tracer;
}

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
    /* The tool asks for an odd generation past the active one. */
    uint32_t gen = trt_gen_tool_next(TRT_LOAD(&tasktrace_control.active));
    ck_assert_uint_eq(gen & 1u, 1);
    ring_from_child(tid, gen);
    /* The doorbell woke up, started the generation and woke the task. */
    ck_assert_int_eq(ttask_run_until_done(&task, 1, gen, 5000), 0);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.active), gen);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.done), gen);
    ck_assert_uint_eq(((struct trt__task *)task.traced)->slot->traced_gen, gen);
    /* The thread runs on, untraced... */
    ck_assert_int_eq(tracer_of(tid), 0);
    /* ...and a second ring works too: back in its futex wait, it answers. */
    uint32_t gen2 = trt_gen_tool_next(gen);
    ck_assert_uint_eq(gen2, gen + 2);
    ring_from_child(tid, gen2);
    ck_assert_int_eq(ttask_run_until_done(&task, 1, gen2, 5000), 0);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.done), gen2);
    ck_assert_uint_eq(((struct trt__task *)task.traced)->slot->traced_gen, gen2);
    ck_assert_int_eq(tracer_of(tid), 0);
    ck_assert_int_eq(TRT_LOAD(&tasktrace_control.doorbell_tid), tid);
    tleaf_drop(&l);
    trt_traced_free(task.traced);
}
END_TEST

START_TEST(forked_child_starts_its_doorbell_lazily)
{
    struct tleaf l, l2;
    tleaf_init(&l);
    tleaf_init(&l2);
    /* tasks[1] is the child's own. */
    struct ttask tasks[2] = {{.inner = &l.base}, {.inner = &l2.base}};
    struct ttask *task = &tasks[0];
    task->traced = trt_traced_new(&l.base, "forked");
    ttask_poll(task);
    pid_t parent_tid = wait_doorbell();
    ck_assert_int_gt(parent_tid, 0);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.fork_ns), 0);
    uint64_t before = trt__now_coarse_ns();
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        alarm(20);
        struct trt_task_slot *s = ((struct trt__task *)task->traced)->slot;
        /* No thread is created in the fork handler: no doorbell yet. */
        if (TRT_LOAD(&tasktrace_control.doorbell_tid) != 0)
            _exit(20);
        /* The fork is published, and the parent's task is marked. */
        uint64_t fork_ns = TRT_LOAD(&tasktrace_control.fork_ns);
        if (fork_ns < before || fork_ns > trt__now_coarse_ns())
            _exit(21);
        if (!(TRT_LOAD(&s->flags) & TRT_TASK_F_INHERITED))
            _exit(22);
        /* The cached tid is the child's own, not the forking thread's. */
        if (trt__tid() != getpid())
            _exit(23);
        /* The child's first task starts its doorbell; it is not inherited. */
        tasks[1].traced = trt_traced_new(&l2.base, "child");
        if (!tasks[1].traced)
            _exit(24);
        if (TRT_LOAD(&((struct trt__task *)tasks[1].traced)->slot->flags) & TRT_TASK_F_INHERITED)
            _exit(25);
        ttask_poll(&tasks[1]);
        pid_t tid = wait_doorbell();
        char comm[64];
        if (tid <= 0 || tid == parent_tid)
            _exit(10);
        if (proc_thread_comm(getpid(), tid, comm, sizeof(comm)) < 0 ||
            strcmp(comm, TRT_DOORBELL_NAME) != 0)
            _exit(11);
        /* The child dumps both tasks, the inherited one too. */
        uint32_t gen = trt__dump_request();
        if (ttask_run_until_done(tasks, 2, gen, 5000) < 0)
            _exit(12);
        if (s->traced_gen != gen)
            _exit(13);
        if (!(TRT_LOAD(&s->flags) & TRT_TASK_F_INHERITED))
            _exit(14);
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    ck_assert_msg(WIFEXITED(st), "child killed by signal %d", WTERMSIG(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    /* The parent is untouched: its task is not inherited, it has no fork
     * time, and its doorbell still answers. */
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.fork_ns), 0);
    ck_assert_uint_eq(((struct trt__task *)task->traced)->slot->flags & TRT_TASK_F_INHERITED, 0);
    uint32_t gen = trt__dump_request();
    ck_assert_int_eq(ttask_run_until_done(task, 1, gen, 5000), 0);
    tleaf_drop(&l);
    trt_traced_free(task->traced);
}
END_TEST

/* A doorbell thread that cannot be created: this test process drops to an
 * unprivileged user (root ignores RLIMIT_NPROC) under a process limit of 0,
 * so pthread_create really fails with EAGAIN. */
START_TEST(doorbell_failure_published_and_retried)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NPROC, &rl), 0);
    rlim_t soft = rl.rlim_cur;
    rl.rlim_cur = 0;
    ck_assert_int_eq(setrlimit(RLIMIT_NPROC, &rl), 0);
    if (geteuid() == 0)
        ck_assert_msg(setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0,
                      "cannot drop to uid 65534 to make RLIMIT_NPROC apply: %s", strerror(errno));
    struct tleaf l[3];
    struct ttask tasks[3];
    for (int i = 0; i < 3; i++) {
        tleaf_init(&l[i]);
        tasks[i] = (struct ttask){.inner = &l[i].base};
    }
    /* The task is created and runs; the doorbell's failure is published. */
    tasks[0].traced = trt_traced_new(&l[0].base, "no-doorbell");
    ck_assert_ptr_nonnull(tasks[0].traced);
    ck_assert_int_eq(ttask_poll(&tasks[0]), TRT_PENDING);
    ck_assert_int_eq(TRT_LOAD(&tasktrace_control.doorbell_errno), EAGAIN);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.doorbell_fails), 1);
    ck_assert_int_eq(TRT_LOAD(&tasktrace_control.doorbell_tid), 0);
    /* A second task at once does not pay for another failing attempt. */
    tasks[1].traced = trt_traced_new(&l[1].base, "soon");
    ck_assert_ptr_nonnull(tasks[1].traced);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.doorbell_fails), 1);
    /* Once threads may be created again, a later task starts it. */
    rl.rlim_cur = soft;
    ck_assert_int_eq(setrlimit(RLIMIT_NPROC, &rl), 0);
    usleep(150 * 1000);
    tasks[2].traced = trt_traced_new(&l[2].base, "later");
    ck_assert_ptr_nonnull(tasks[2].traced);
    ck_assert_int_gt(wait_doorbell(), 0);
    ck_assert_int_eq(TRT_LOAD(&tasktrace_control.doorbell_errno), 0);
    ck_assert_uint_eq(TRT_LOAD(&tasktrace_control.doorbell_fails), 1);
    /* Every task, the ones made without a doorbell too, is dumped. */
    ttask_poll(&tasks[1]);
    ttask_poll(&tasks[2]);
    uint32_t gen = trt__dump_request();
    ck_assert_int_eq(ttask_run_until_done(tasks, 3, gen, 5000), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(((struct trt__task *)tasks[i].traced)->slot->traced_gen, gen);
        tleaf_drop(&l[i]);
        trt_traced_free(tasks[i].traced);
    }
}
END_TEST

static void *dump_write_main(void *arg)
{
    int *result = arg;
    __atomic_store_n(&result[0], trt_dump_write(result[1], 5000), __ATOMIC_RELEASE);
    return NULL;
}

/* A tool's generation is not replaced by the program's own dumps before
 * the tool has read it: a dump from inside waits for read_done, then is
 * served by a generation of its own. */
START_TEST(tools_generation_kept_from_inside_dumps)
{
    struct tleaf l;
    tleaf_init(&l);
    struct ttask task = {.inner = &l.base};
    task.traced = trt_traced_new(&l.base, "x");
    ck_assert_int_gt(wait_doorbell(), 0);
    ttask_poll(&task);
    /* What a tool writes (it then interrupts the doorbell's wait). */
    uint32_t gen = __atomic_load_n(&tasktrace_control.active, __ATOMIC_ACQUIRE) + 1;
    __atomic_store_n(&tasktrace_control.request, gen, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &tasktrace_control.request, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    ck_assert_int_eq(ttask_run_until_done(&task, 1, gen, 5000), 0);
    int arg[2] = {-EINPROGRESS, open("/dev/null", O_WRONLY | O_CLOEXEC)};
    ck_assert_int_ge(arg[1], 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, dump_write_main, arg), 0);
    /* For 200 ms the tool has not read its generation: it stays. */
    for (int i = 0; i < 200; i++) {
        ttask_poll(&task);
        usleep(1000);
    }
    ck_assert_uint_eq(__atomic_load_n(&tasktrace_control.active, __ATOMIC_ACQUIRE), gen);
    ck_assert_int_eq(__atomic_load_n(&arg[0], __ATOMIC_ACQUIRE), -EINPROGRESS);
    /* The tool is done with it: the program's dump runs. */
    __atomic_store_n(&tasktrace_control.read_done, gen, __ATOMIC_RELEASE);
    for (int i = 0; i < 5000 && __atomic_load_n(&arg[0], __ATOMIC_ACQUIRE) == -EINPROGRESS; i++) {
        ttask_poll(&task);
        usleep(1000);
    }
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(arg[0], 0);
    ck_assert_int_gt((int32_t)(__atomic_load_n(&tasktrace_control.done, __ATOMIC_ACQUIRE) - gen),
                     0);
    close(arg[1]);
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
    tcase_add_test(tc, forked_child_starts_its_doorbell_lazily);
    tcase_add_test(tc, doorbell_failure_published_and_retried);
    tcase_add_test(tc, tools_generation_kept_from_inside_dumps);
    suite_add_tcase(s, tc);
    return s;
}
