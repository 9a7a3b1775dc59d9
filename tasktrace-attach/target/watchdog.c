/* The watchdog of the tool's holds.  See watchdog.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <tasktrace/clock.h>

#include "target/watchdog.h"

/* The page the tool and its watchdog share. */
struct watchdog_shared {
    uint64_t since_ns; /* CLOCK_MONOTONIC start of the hold, 0: none */
    int32_t pid, tid;  /* the thread held */
    uint32_t asleep;   /* futex word: the watchdog waits for a hold */
};

static struct watchdog_shared *wd;

static void watchdog_futex(uint32_t *word, int op, uint32_t val)
{
    syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/* Whether thread TID of PID is in a ptrace stop ('t'), from its stat. */
static int watchdog_traced_stop(pid_t pid, pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 't';
}

static void watchdog_sleep_until(uint64_t ns)
{
    struct timespec ts = trt_ns_timespec(ns);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static _Noreturn void watchdog_main(pid_t tool)
{
    for (;;) {
        uint64_t since = __atomic_load_n(&wd->since_ns, __ATOMIC_SEQ_CST);
        if (since == 0) {
            /* Announce the sleep, then look again: a hold begun in
             * between either is seen here or sees the word set. */
            __atomic_store_n(&wd->asleep, 1, __ATOMIC_SEQ_CST);
            if (__atomic_load_n(&wd->since_ns, __ATOMIC_SEQ_CST) == 0)
                watchdog_futex(&wd->asleep, FUTEX_WAIT, 1);
            __atomic_store_n(&wd->asleep, 0, __ATOMIC_SEQ_CST);
            continue;
        }
        watchdog_sleep_until(since + WATCHDOG_BOUND_MS * 1000000ull);
        pid_t pid = __atomic_load_n(&wd->pid, __ATOMIC_SEQ_CST);
        pid_t tid = __atomic_load_n(&wd->tid, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&wd->since_ns, __ATOMIC_SEQ_CST) != since)
            continue; /* that hold ended; look at the next */
        if (!watchdog_traced_stop(pid, tid)) {
            /* Not stopped (yet, or any more): nothing is kept waiting.
             * Look again a little later. */
            watchdog_sleep_until(trt_clock_ns(CLOCK_MONOTONIC) + WATCHDOG_BOUND_MS * 250000ull);
            continue;
        }
        if (getppid() != tool)
            _exit(0);
        char line[256];
        int len = snprintf(line, sizeof(line),
                           "tasktrace-attach: held thread %d of PID %d stopped for more than "
                           "%u ms (was this tool stopped?): killed so that the thread runs on\n",
                           (int)tid, (int)pid, WATCHDOG_BOUND_MS);
        if (len > 0 && write(STDERR_FILENO, line, (size_t)len) < 0) {
            /* Nothing more to do about a closed stderr. */
        }
        kill(tool, SIGKILL);
        _exit(0);
    }
}

int watchdog_start(uint64_t *start_ns)
{
    uint64_t t0 = trt_clock_ns(CLOCK_MONOTONIC);
    if (start_ns)
        *start_ns = 0;
    if (wd)
        return 0;
    struct watchdog_shared *shared =
        mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        return -errno;
    pid_t tool = getpid();
    pid_t child = fork();
    if (child < 0) {
        int err = -errno;
        munmap(shared, sizeof(*shared));
        return err;
    }
    if (child == 0) {
        wd = shared;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != tool)
            _exit(0);
        /* Out of the tool's process group: a stop of the group (Ctrl-Z,
         * kill -STOP -PGID) leaves it running.  Signals the tool handles
         * are not this process's business. */
        setpgid(0, 0);
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        /* It holds none of the tool's files but stderr: a reader of the
         * tool's output sees its end when the tool ends. */
        for (int fd = 0; fd < 1024; fd++)
            if (fd != STDERR_FILENO)
                close(fd);
        watchdog_main(tool);
    }
    wd = shared;
    if (start_ns)
        *start_ns = trt_clock_ns(CLOCK_MONOTONIC) - t0;
    return 0;
}

void watchdog_hold_begin(pid_t pid, pid_t tid)
{
    if (!wd)
        return;
    __atomic_store_n(&wd->pid, pid, __ATOMIC_SEQ_CST);
    __atomic_store_n(&wd->tid, tid, __ATOMIC_SEQ_CST);
    uint64_t now = trt_clock_ns(CLOCK_MONOTONIC);
    __atomic_store_n(&wd->since_ns, now ? now : 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&wd->asleep, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&wd->asleep, 0, __ATOMIC_SEQ_CST);
        watchdog_futex(&wd->asleep, FUTEX_WAKE, 1);
    }
}

void watchdog_hold_end(void)
{
    if (wd)
        __atomic_store_n(&wd->since_ns, 0, __ATOMIC_SEQ_CST);
}
