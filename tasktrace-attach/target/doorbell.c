/* PTRACE_SEIZE + PTRACE_INTERRUPT of the doorbell thread alone, a write of
 * the request word, PTRACE_DETACH.  The interrupted FUTEX_WAIT restarts on
 * detach, finds the word changed and returns to the runtime's loop.  If this
 * process dies at any point, the kernel detaches and the thread resumes. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <tasktrace/clock.h>
#include <tasktrace/protocol.h>

#include "target/doorbell.h"
#include "target/watchdog.h"

/* Waits for the interrupt stop, up to a second: a thread in uninterruptible
 * sleep must not hang the tool. */
static int wait_stop(pid_t tid)
{
    uint64_t start = trt_clock_ns(CLOCK_MONOTONIC), deadline = start + 1000000000u;
    for (;;) {
        int st;
        pid_t r = waitpid(tid, &st, __WALL | WNOHANG);
        if (r == tid) {
            if (WIFEXITED(st) || WIFSIGNALED(st))
                return -ESRCH;
            if (WIFSTOPPED(st))
                return 0;
            continue;
        }
        if (r < 0)
            return errno == ECHILD ? -ESRCH : -errno;
        uint64_t now = trt_clock_ns(CLOCK_MONOTONIC);
        if (now > deadline)
            return -ETIMEDOUT;
        /* The stop normally comes within microseconds: yield for the first
         * 50 us, then sleep, so that a target thread waiting for this CPU
         * (its others busy, e.g. with a spinning task) gets it. */
        if (now - start > 50000u) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        } else {
            sched_yield();
        }
    }
}

int doorbell_ring_next(struct proc_target *t, pid_t tid, uint64_t control_addr, uint32_t *gen,
                       unsigned hold_ms, uint64_t *stopped_ns)
{
    int err;
    *stopped_ns = 0;
    /* Seize first: it fails while another tool holds the thread, so two
     * tools never interleave their requests. */
    if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0)
        return -errno;
    /* Of the tools, only the one holding the thread writes the request
     * word: read now, no other tool's request comes before our write.  A
     * generation chosen from an earlier read could be one another tool
     * already asked for, and the runtime would run it again, backwards.
     * The program's own request (even) may still replace the word
     * meanwhile: ours overwrites it, and our generation serves that dump
     * too. */
    uint32_t words[2]; /* request, active */
    _Static_assert(offsetof(struct trt_control, active) ==
                       offsetof(struct trt_control, request) + 4,
                   "request and active are adjacent");
    err = proc_read(t, control_addr + offsetof(struct trt_control, request), words, sizeof(words));
    if (err < 0)
        goto detach;
    for (int i = 0; i < 2; i++)
        if ((int32_t)(trt_gen_tool_next(words[i]) - *gen) > 0)
            *gen = trt_gen_tool_next(words[i]);
    /* Odd, so that the runtime never takes it for one of its own. */
    *gen |= 1u;
    /* The write goes before the interrupt, so the thread is stopped only
     * for the time it takes to notice the stop and be let go. */
    err = proc_write(t, control_addr + offsetof(struct trt_control, request), gen, sizeof(*gen));
    if (err < 0)
        goto detach;
    uint64_t t0 = trt_clock_ns(CLOCK_MONOTONIC);
    /* From here the thread may be stopped until the detach: the watchdog
     * bounds that if this process stops meanwhile. */
    watchdog_hold_begin(t->pid, tid);
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
        err = -errno;
        goto detach;
    }
    err = wait_stop(tid);
    if (err == 0 && hold_ms) {
        struct timespec hold = {hold_ms / 1000, (long)(hold_ms % 1000) * 1000000};
        nanosleep(&hold, NULL);
    }
    *stopped_ns = trt_clock_ns(CLOCK_MONOTONIC) - t0;
detach:
    /* Detaching from a thread that is not stopped fails with ESRCH; the
     * kernel still drops the tie when this process exits, so the target
     * never stays stopped because of us. */
    ptrace(PTRACE_DETACH, tid, 0, 0);
    watchdog_hold_end();
    return err;
}
