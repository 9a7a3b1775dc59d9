/* Stopping one thread at a time, copying its registers and stack, and
 * reading what /proc says about it.  See thread.h. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#include <tasktrace/clock.h>

#include "target/thread.h"
#include "target/watchdog.h"

#define THREAD_PAGE 4096u
/* Threads given up on while not yet stopped, released later. */
#define THREAD_LATE_MAX 64

static pid_t thread_late[THREAD_LATE_MAX];
static size_t thread_nlate;

static uint64_t mono_ns(void)
{
    return trt_clock_ns(CLOCK_MONOTONIC);
}

int thread_buf_init(struct thread_buf *b)
{
    b->mem = malloc(THREAD_STACK_COPY_MAX);
    if (!b->mem)
        return -ENOMEM;
    /* Touch every page now: a fault during a stop would lengthen it. */
    memset(b->mem, 0, THREAD_STACK_COPY_MAX);
    return 0;
}

void thread_buf_free(struct thread_buf *b)
{
    free(b->mem);
    b->mem = NULL;
}

/* Interrupts the blocking waitpid of thread_wait_stop at its deadline. */
static void thread_on_alarm(int sig)
{
    (void)sig;
}

/* Waits up to THREAD_STOP_WAIT_MS for TID's stop.  A blocking waitpid: the
 * kernel wakes this process the moment the thread stops, where a polling
 * loop would lose a scheduler slice to every yield on a busy machine; an
 * interval timer (SIGALRM, no SA_RESTART) ends the wait at the deadline.
 * Returns 0 with the signal to hand back on detach in *sig (0 for the
 * interrupt's own stop), -ESRCH if it exited, -ETIMEDOUT, or -errno. */
static int thread_wait_stop(pid_t tid, int *sig)
{
    uint64_t deadline = mono_ns() + THREAD_STOP_WAIT_MS * 1000000ull;
    *sig = 0;
    for (;;) {
        int st;
        pid_t r = waitpid(tid, &st, __WALL);
        if (r == tid) {
            if (WIFEXITED(st) || WIFSIGNALED(st))
                return -ESRCH;
            if (!WIFSTOPPED(st))
                continue;
            /* A signal arriving first gives a signal-delivery stop: the
             * registers are as good, and the signal must be passed on. */
            if ((st >> 16) != PTRACE_EVENT_STOP)
                *sig = WSTOPSIG(st);
            return 0;
        }
        if (r < 0 && errno != EINTR)
            return errno == ECHILD ? -ESRCH : -errno;
        /* Interrupted: by the alarm at the deadline, or by another signal
         * (SIGINT) before it. */
        if (mono_ns() >= deadline)
            return -ETIMEDOUT;
    }
}

/* Arms (MS > 0) or disarms (0) the alarm that ends thread_wait_stop. */
static void thread_alarm(unsigned ms, struct sigaction *saved)
{
    struct itimerval it = {{0, 0}, {ms / 1000, (long)(ms % 1000) * 1000}};
    if (ms) {
        struct sigaction sa = {.sa_handler = thread_on_alarm};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, saved);
        setitimer(ITIMER_REAL, &it, NULL);
    } else {
        setitimer(ITIMER_REAL, &it, NULL);
        sigaction(SIGALRM, saved, NULL);
    }
}

void thread_regs_from_user(const struct user_regs_struct *r, struct thread_snap *out)
{
#if defined(__x86_64__)
    const uint64_t dwarf[17] = {r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi,
                                r->rbp, r->rsp, r->r8,  r->r9,  r->r10, r->r11,
                                r->r12, r->r13, r->r14, r->r15, r->rip};
    memcpy(out->regs, dwarf, sizeof(dwarf));
    out->nregs = 17;
    out->pc = r->rip;
    out->sp = r->rsp;
#elif defined(__aarch64__)
    for (int i = 0; i < 31; i++)
        out->regs[i] = r->regs[i];
    out->regs[31] = r->sp;
    out->nregs = 32;
    out->pc = r->pc;
    out->sp = r->sp;
#else
    (void)r;
    (void)out;
#endif
}

/* Copies the registers of stopped TID into OUT in DWARF numbering. */
static int thread_get_regs(pid_t tid, struct thread_snap *out)
{
#if defined(__x86_64__) || defined(__aarch64__)
    struct user_regs_struct r;
    struct iovec iov = {&r, sizeof(r)};
    if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
        return -errno;
    thread_regs_from_user(&r, out);
    return 0;
#else
    (void)tid;
    (void)out;
    return -ENOTSUP;
#endif
}

/* Copies [sp, sp + THREAD_STACK_COPY_MAX) of PID up to the first unreadable
 * page into BUF.  One iovec per page: process_vm_readv stops at the first
 * element it cannot read, so the copy ends at a page boundary.  Returns the
 * bytes copied. */
static size_t thread_copy_stack(pid_t pid, uint64_t sp, uint8_t *buf)
{
    struct iovec remote[THREAD_STACK_COPY_MAX / THREAD_PAGE + 1];
    struct iovec local = {buf, THREAD_STACK_COPY_MAX};
    size_t n = 0, total = 0;
    uint64_t at = sp;
    while (total < THREAD_STACK_COPY_MAX && n < sizeof(remote) / sizeof(remote[0])) {
        uint64_t page_end = (at | (THREAD_PAGE - 1)) + 1;
        size_t len = (size_t)(page_end - at);
        if (len > THREAD_STACK_COPY_MAX - total)
            len = THREAD_STACK_COPY_MAX - total;
        if (at + len < at) /* the top of the address space */
            break;
        remote[n].iov_base = (void *)(uintptr_t)at;
        remote[n].iov_len = len;
        n++;
        total += len;
        at += len;
    }
    ssize_t got = process_vm_readv(pid, &local, 1, remote, n, 0);
    return got > 0 ? (size_t)got : 0;
}

static bool thread_of(pid_t pid, pid_t tid)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)tid);
    return tid > 0 && stat(path, &st) == 0;
}

int thread_capture(pid_t pid, pid_t tid, unsigned hold_ms, struct thread_buf *buf,
                   struct thread_snap *out)
{
    int err, sig = 0;
    uint64_t t1 = 0;
    memset(out, 0, sizeof(*out));
    out->tid = tid;
    if (!THREAD_SUPPORTED)
        return -ENOTSUP;
    if (!thread_of(pid, tid))
        return -ESRCH;
    if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0)
        return -errno;
    /* Armed before the stop, so that the stop itself costs no syscall
     * more than it needs. */
    struct sigaction saved;
    thread_alarm(THREAD_STOP_WAIT_MS, &saved);
    uint64_t t0 = mono_ns();
    /* From here the thread may be stopped until the detach: the watchdog
     * bounds that if this process stops meanwhile. */
    watchdog_hold_begin(pid, tid);
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
        err = -errno;
        thread_alarm(0, &saved);
        goto detach;
    }
    err = thread_wait_stop(tid, &sig);
    if (err != 0) {
        /* The thread runs (or is gone): nothing is waiting on the timer. */
        thread_alarm(0, &saved);
    }
    if (err == -ETIMEDOUT) {
        /* Still seized: it stops when it leaves its uninterruptible sleep,
         * and must then be let go. */
        if (thread_nlate < THREAD_LATE_MAX)
            thread_late[thread_nlate++] = tid;
        watchdog_hold_end();
        return err;
    }
    if (err < 0)
        goto detach;
    t1 = mono_ns();
    err = thread_get_regs(tid, out);
    if (err == 0) {
        out->stack = buf->mem;
        out->stack_len = thread_copy_stack(pid, out->sp, buf->mem);
    }
    if (hold_ms) {
        struct timespec hold = {hold_ms / 1000, (long)(hold_ms % 1000) * 1000000};
        while (nanosleep(&hold, &hold) < 0 && errno == EINTR)
            ;
    }
detach:
    /* Detaching a thread that is not stopped fails with ESRCH; the kernel
     * still drops the tie when this process exits. */
    ptrace(PTRACE_DETACH, tid, 0, (void *)(uintptr_t)sig);
    watchdog_hold_end();
    uint64_t t2 = mono_ns();
    out->stopped_ns = t2 - t0;
    if (err == 0) {
        out->held_ns = t2 - t1;
        thread_alarm(0, &saved);
    }
    return err;
}

size_t thread_release_late(unsigned wait_ms)
{
    uint64_t deadline = mono_ns() + wait_ms * 1000000ull;
    for (;;) {
        size_t kept = 0;
        for (size_t i = 0; i < thread_nlate; i++) {
            int st;
            pid_t r = waitpid(thread_late[i], &st, __WALL | WNOHANG);
            if (r == thread_late[i] && WIFSTOPPED(st)) {
                int sig = (st >> 16) == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(st);
                ptrace(PTRACE_DETACH, thread_late[i], 0, (void *)(uintptr_t)sig);
            } else if (r == 0) {
                thread_late[kept++] = thread_late[i];
            }
        }
        thread_nlate = kept;
        if (kept == 0 || mono_ns() >= deadline)
            return kept;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* Reads at most LEN - 1 bytes of a small /proc file into BUF, terminated.
 * Returns the length, or -errno. */
static long thread_read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, len - 1);
    int err = errno;
    close(fd);
    if (n < 0)
        return -err;
    buf[n] = '\0';
    return (long)n;
}

char thread_parse_stat_state(const char *line, size_t len)
{
    /* The name ends at the last ')': it may hold ')' itself. */
    const char *close = NULL;
    for (size_t i = 0; i < len; i++)
        if (line[i] == ')')
            close = line + i;
    if (!close || (size_t)(close - line) + 2 >= len || close[1] != ' ')
        return 0;
    char c = close[2];
    return c >= 'A' && c <= 'z' ? c : 0;
}

int thread_read_info(pid_t pid, pid_t tid, struct thread_info *out)
{
    char path[96], buf[1024];
    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    long n = thread_read_small(path, buf, sizeof(buf));
    if (n < 0)
        return n == -ENOENT ? -ESRCH : (int)n;
    out->state = thread_parse_stat_state(buf, (size_t)n);
    snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
    n = thread_read_small(path, out->name, sizeof(out->name));
    if (n > 0 && out->name[n - 1] == '\n')
        out->name[n - 1] = '\0';
    else if (n < 0)
        out->name[0] = '\0';
    /* "0" is the kernel's word for no wait channel (running). */
    snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
    n = thread_read_small(path, out->wchan, sizeof(out->wchan));
    if (n < 0 || strcmp(out->wchan, "0") == 0)
        out->wchan[0] = '\0';
    return 0;
}

static int tid_cmp(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return x < y ? -1 : x > y;
}

long thread_list(pid_t pid, pid_t *tids, size_t max)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *dir = opendir(path);
    if (!dir)
        return errno == ENOENT ? -ESRCH : -errno;
    size_t n = 0, kept = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || tid <= 0)
            continue;
        if (kept < max)
            tids[kept++] = (pid_t)tid;
        n++;
    }
    closedir(dir);
    qsort(tids, kept, sizeof(*tids), tid_cmp);
    return (long)n;
}
