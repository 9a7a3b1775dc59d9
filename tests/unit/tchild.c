/* The blocked child of test_thread.c and test_unwind.c (tchild.h). */
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

#include "tchild.h"
#include "target/thread.h"

pid_t child_pid, child_tid;

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

void child_start(void)
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

void child_stop(void)
{
    if (child_pid > 0) {
        kill(child_pid, SIGKILL);
        waitpid(child_pid, NULL, 0);
        child_pid = 0;
    }
}

void child_status_of(pid_t pid, pid_t tid, int *tracer, char *state)
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

const char *child_ptrace_missing(void)
{
    if (!THREAD_SUPPORTED)
        return "no thread unwinding on this architecture";
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
    int scope = 0;
    if (f) {
        if (fscanf(f, "%d", &scope) != 1)
            scope = 0;
        fclose(f);
    }
    /* Scope 1 lets a process trace its descendants, as here; 2 asks for
     * CAP_SYS_PTRACE, which root has. */
    if (scope >= 3)
        return "kernel.yama.ptrace_scope=3 forbids ptrace";
    if (scope == 2 && geteuid() != 0)
        return "kernel.yama.ptrace_scope=2 and not root: ptrace is for CAP_SYS_PTRACE only";
    return NULL;
}
