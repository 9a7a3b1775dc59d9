/* A test target for the runtime's own hazards, built on the reference
 * executor (trt_exec), in modes:
 *   fork           two executors on two threads; task "forker" forks from
 *                  inside its poll on the main executor's thread.  The
 *                  parent keeps "sleeper", "pender" (main executor) and
 *                  "worker" (second executor); the child goes on running the
 *                  main executor, inherits all three, and creates
 *                  "child-task", which starts its doorbell.  The child's
 *                  "worker" is inherited and polled by nobody.  Prints
 *                  "child N" for the child.  "napper", a sleep of 1.5 s
 *                  registered before the fork, prints "napped N" in each
 *                  process when it completes (the child's executor must
 *                  have registered its timerfd again).
 *   sandbox-eperm  after startup, a seccomp filter (all threads, TSYNC)
 *                  makes mmap, munmap and madvise fail with EPERM; then
 *                  "grow" more tasks than the ring was sized for are
 *                  created (argument 2, default 0)
 *   sandbox-kill   after startup, a seccomp filter kills the process on
 *                  madvise or munmap, which a dump must never call
 *   dumploop       a thread takes raw dumps of the process (trt_dump_write
 *                  to /dev/null) back to back, as fast as they come, and
 *                  prints "dumps N" after each thousand
 *   sanitizer      prints "sanitizer yes" if built with ASan or TSan (whose
 *                  runtimes make mmap, munmap and madvise calls of their
 *                  own, which the sandbox modes' filters refuse), else
 *                  "sanitizer no", and exits
 * A thread prints "done G ring_errno E ring_errno_gen R" each time the
 * control block's `done` changes.  Prints "pid N" and runs until killed. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <tasktrace/exec.h>
#include <tasktrace/rt.h>

#include "../../libtargetrt/rt_internal.h"

#define HOUR (3600ull * 1000000000u)
#define MAXGROW 4000

static trt_exec *ex_main, *ex_second;
static trt_sleep sleeper, worker, child_sleep;
static trt_pending pender;
static trt_pending grown[MAXGROW];
static trt_sleep napper;

static void napped(void *arg, int status)
{
    (void)arg;
    printf("napped %d status %d\n", (int)getpid(), status);
    fflush(stdout);
}

static void die(const char *what, int err)
{
    fprintf(stderr, "rt_target: %s: %s\n", what, strerror(err));
    exit(1);
}

static void spawn(trt_exec *ex, trt_future *f, const char *name)
{
    int err = trt_exec_spawn(ex, f, name, NULL, NULL);
    if (err < 0)
        die(name, -err);
}

/* ------------------------------------------------------------ fork */

struct forker {
    trt_future base;
};

__attribute__((noinline)) static trt_poll forker_poll(trt_future *f, trt_context *cx)
{
    (void)f;
    (void)cx;
    fflush(stdout);
    pid_t child = fork();
    if (child < 0)
        die("fork", errno);
    if (child > 0) {
        printf("child %d\n", (int)child);
        fflush(stdout);
        return TRT_READY;
    }
    /* The child: its first task starts its doorbell.  Its main executor
     * goes on on this thread; the second executor's thread is gone. */
    trt_sleep_init(&child_sleep, ex_main, HOUR);
    spawn(ex_main, &child_sleep.base, "child-task");
    return TRT_READY;
}

static void *second_main(void *arg)
{
    (void)arg;
    int err = trt_exec_run(ex_second);
    die("second executor", -err);
    return NULL;
}

/* ------------------------------------------------------------ sandbox */

#if defined(__x86_64__)
#define AUDIT_ARCH_SELF AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_SELF AUDIT_ARCH_AARCH64
#endif

/* Installs on every thread a filter that returns `action` for mmap, munmap
 * and madvise (mmap only when `with_mmap`) and allows everything else. */
static void sandbox(uint32_t action, int with_mmap)
{
#ifdef AUDIT_ARCH_SELF
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_SELF, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_munmap, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, with_mmap ? SYS_mmap : SYS_madvise, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, action),
    };
    struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die("PR_SET_NO_NEW_PRIVS", errno);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
        die("seccomp", errno);
#else
    (void)action;
    (void)with_mmap;
    fprintf(stderr, "rt_target: no seccomp filter for this architecture\n");
    exit(77);
#endif
}

/* Reports each completed generation and what the ring said about it. */
static void *watch_main(void *arg)
{
    (void)arg;
    uint32_t seen = 0;
    for (;;) {
        uint32_t done = __atomic_load_n(&tasktrace_control.done, __ATOMIC_ACQUIRE);
        if (done != seen) {
            seen = done;
            printf("done %u ring_errno %d ring_errno_gen %u\n", done,
                   (int)TRT_LOAD(&tasktrace_control.ring_errno),
                   TRT_LOAD(&tasktrace_control.ring_errno_gen));
            fflush(stdout);
        }
        usleep(10000);
    }
    return NULL;
}

/* ------------------------------------------------------------ dumploop */

static void *dumploop_main(void *arg)
{
    int fd = *(int *)arg;
    for (unsigned long n = 1;; n++) {
        int r = trt_dump_write(fd, 5000);
        if (r < 0)
            die("trt_dump_write", -r);
        if (n % 1000 == 0) {
            printf("dumps %lu\n", n);
            fflush(stdout);
        }
    }
    return NULL;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "fork";
    if (strcmp(mode, "sanitizer") == 0) {
#ifdef SANITIZED
        puts("sanitizer yes");
#else
        puts("sanitizer no");
#endif
        return 0;
    }
    int grow = argc > 2 ? atoi(argv[2]) : 0;
    if (grow < 0 || grow > MAXGROW)
        grow = MAXGROW;
    ex_main = trt_exec_new();
    ex_second = trt_exec_new();
    if (!ex_main || !ex_second)
        die("trt_exec_new", errno);
    trt_sleep_init(&sleeper, ex_main, HOUR);
    trt_pending_init(&pender);
    trt_sleep_init(&worker, ex_second, HOUR);
    spawn(ex_main, &sleeper.base, "sleeper");
    spawn(ex_main, &pender.base, "pender");
    spawn(ex_second, &worker.base, "worker");
    pthread_t th;
    int err = pthread_create(&th, NULL, second_main, NULL);
    if (err)
        die("pthread_create", err);
    static struct forker forker = {{forker_poll}};
    if (strcmp(mode, "fork") == 0) {
        printf("pid %d\n", (int)getpid());
        fflush(stdout);
        trt_sleep_init(&napper, ex_main, 1500000000u);
        err = trt_exec_spawn(ex_main, &napper.base, "napper", napped, NULL);
        if (err < 0)
            die("napper", -err);
        /* The executors settle (first polls) before the fork. */
        usleep(100000);
        spawn(ex_main, &forker.base, "forker");
    } else if (strcmp(mode, "sandbox-eperm") == 0 || strcmp(mode, "sandbox-kill") == 0) {
        err = pthread_create(&th, NULL, watch_main, NULL);
        if (err)
            die("pthread_create", err);
        /* Let the doorbell map the ring before the filter. */
        usleep(100000);
        if (strcmp(mode, "sandbox-eperm") == 0)
            sandbox(SECCOMP_RET_ERRNO | EPERM, 1);
        else
            sandbox(SECCOMP_RET_KILL_PROCESS, 0);
        for (int i = 0; i < grow; i++) {
            trt_pending_init(&grown[i]);
            spawn(ex_main, &grown[i].base, "grown");
        }
        printf("pid %d\n", (int)getpid());
        fflush(stdout);
    } else if (strcmp(mode, "dumploop") == 0) {
        static int null_fd;
        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null_fd < 0)
            die("/dev/null", errno);
        err = pthread_create(&th, NULL, dumploop_main, &null_fd);
        if (err)
            die("pthread_create", err);
        printf("pid %d\n", (int)getpid());
        fflush(stdout);
    } else {
        fprintf(stderr, "rt_target: unknown mode %s\n", mode);
        return 64;
    }
    err = trt_exec_run(ex_main);
    die("main executor", -err);
}
