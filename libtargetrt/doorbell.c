/* The doorbell thread.
 *
 * It sleeps in FUTEX_WAIT on control.request.  A tool outside the process
 * writes a new request value and interrupts this one thread with ptrace; the
 * interrupted wait restarts, sees the new value and returns.  The thread
 * then starts the generation (generation.c), lingers until the tool says it
 * has read the records, and gives the ring's pages back (capture.c).
 *
 * It is started by the first trt_traced_new of a process (and of a forked
 * child: never from a fork handler).  If pthread_create fails, the reason is
 * published in doorbell_errno, doorbell_fails counts the attempt, and a
 * later trt_traced_new tries again; the program's tasks run as before. */
#include <errno.h>
#include <execinfo.h>
#include <linux/futex.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "rt_internal.h"

/* After a failed start, the next attempt waits at least this long, so that
 * a program creating many tasks under a thread limit does not pay for a
 * failing pthread_create each time. */
#define DOORBELL_RETRY_NS (100ull * 1000000u)

/* After starting a generation the doorbell lingers: it looks for the
 * tool's read_done every so often (1 ms, doubling to 1 s) for up to a
 * minute, and gives the ring's pages back RELEASE_GRACE_NS after it (a
 * second tool may still be copying), or at the end of the minute without
 * it.  Then it sleeps without a timeout. */
#define LINGER_NS (60ull * 1000000000u)
#define RELEASE_GRACE_NS (200ull * 1000000u)

/* A tool's generation is kept for it: until it writes read_done, the
 * doorbell starts no generation for a dump from inside the process (that
 * would replace the records the tool is reading, and a program dumping
 * itself in a loop would keep the tool from ever reading its own).  A
 * tool that died leaves dumps from inside waiting at most HOLD_DONE_NS
 * after the generation is done, or HOLD_MAX_NS after it started when it
 * never is (a task stuck in a poll).  A tool's next request is never held. */
#define HOLD_DONE_NS (1000ull * 1000000u)
#define HOLD_MAX_NS (10ull * 1000000000u)
#define HOLD_NAP_MAX_NS (2ull * 1000000u)

/* Guards starting the thread; held across fork(). */
static pthread_mutex_t start_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool started;
/* CLOCK_MONOTONIC_COARSE of the last failed start, 0 if none. */
static uint64_t failed_at;

static void futex_wait(uint32_t *word, uint32_t val, uint64_t timeout_ns)
{
    struct timespec ts = trt_ns_timespec(timeout_ns);
    /* EINTR, EAGAIN and ETIMEDOUT all mean: look again. */
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, timeout_ns ? &ts : NULL, NULL, 0);
}

/* Whether a request from inside must wait for the tool reading generation
 * `held` (0: none) that started at started_ns. */
static bool hold_for_tool(uint32_t held, uint64_t started_ns)
{
    if (held == 0 || __atomic_load_n(&tasktrace_control.read_done, __ATOMIC_ACQUIRE) == held)
        return false;
    uint64_t now = trt_clock_ns(CLOCK_MONOTONIC);
    if ((int32_t)(__atomic_load_n(&tasktrace_control.done, __ATOMIC_ACQUIRE) - held) >= 0) {
        uint64_t done_ns = TRT_LOAD(&tasktrace_control.gen_done_ns);
        return now < done_ns + HOLD_DONE_NS;
    }
    return now < started_ns + HOLD_MAX_NS;
}

static void *doorbell_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), TRT_DOORBELL_NAME);
    /* backtrace() loads the unwinder on first use; do it here, not inside
     * an executor's poll (and not during a dump, under a sandbox). */
    void *warm[2];
    backtrace(warm, 2);
    /* Map the ring now, not when the first dump comes. */
    (void)trt__capture_reserve(trt__registry_live());
    __atomic_store_n(&tasktrace_control.doorbell_tid, (int32_t)trt__tid(), __ATOMIC_RELEASE);
    uint32_t lingering = 0, held = 0;
    uint64_t since = 0, acked_at = 0, nap = 0, held_since = 0, hold_nap = 0;
    for (;;) {
        uint32_t req = __atomic_load_n(&tasktrace_control.request, __ATOMIC_SEQ_CST);
        uint32_t active = __atomic_load_n(&tasktrace_control.active, __ATOMIC_SEQ_CST);
        /* A dump asked for from inside (dumpreq.c) whose request the
         * generation just started absorbed: ask for one more.  Checked
         * after loading req, so a request queued after this check also
         * changed the request word, and the wait below returns. */
        if ((req == 0 || req == active) && trt__dumpreq_pending()) {
            (void)trt__dump_request();
            continue;
        }
        bool inner = req != 0 && req != active && trt__gen_inner(req);
        if (inner && hold_for_tool(held, held_since)) {
            /* A tool's request wakes this wait: the word changes. */
            hold_nap = hold_nap ? hold_nap : 100000;
            futex_wait(&tasktrace_control.request, req, hold_nap);
            if (hold_nap < HOLD_NAP_MAX_NS)
                hold_nap *= 2;
            continue;
        }
        if (req != 0 && req != active) {
            /* Requests from inside are taken before the generation starts,
             * so each is served by a generation that began after it. */
            struct trt__dumpbatch batch;
            trt__dumpreq_take(&batch);
            held = inner ? 0 : req;
            held_since = trt_clock_ns(CLOCK_MONOTONIC);
            hold_nap = 0;
            trt__gen_start(req);
            trt__dumpreq_serve(&batch, req);
            lingering = req;
            since = trt_clock_ns(CLOCK_MONOTONIC);
            acked_at = 0;
            nap = 1000000;
            continue;
        }
        if (!lingering) {
            futex_wait(&tasktrace_control.request, req, 0);
            continue;
        }
        uint64_t now = trt_clock_ns(CLOCK_MONOTONIC);
        if (acked_at == 0 &&
            __atomic_load_n(&tasktrace_control.read_done, __ATOMIC_ACQUIRE) == lingering)
            acked_at = now;
        if ((acked_at != 0 && now - acked_at >= RELEASE_GRACE_NS) || now - since >= LINGER_NS) {
            /* A refused mmap leaves the pages where they are: harmless. */
            (void)trt__capture_give_back(lingering);
            lingering = 0;
            continue;
        }
        futex_wait(&tasktrace_control.request, req, nap);
        if (acked_at == 0 && nap < 1000000000u)
            nap *= 2;
        else if (acked_at != 0)
            nap = RELEASE_GRACE_NS;
    }
    return NULL;
}

/* Called with start_mutex held. */
static int doorbell_start(void)
{
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_t th;
    int err = pthread_attr_init(&attr);
    if (err)
        goto out;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    /* TASKTRACE_SIGNAL: the signal's handler is in place before the
     * program's first task runs. */
    trt__dumpreq_env();
    /* The thread inherits a full mask: process signals go to the program's
     * own threads, never to the doorbell. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&th, &attr, doorbell_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
out:
    if (err) {
        failed_at = trt__now_coarse_ns();
        TRT_STORE(&tasktrace_control.doorbell_errno, (int32_t)err);
        TRT_STORE(&tasktrace_control.doorbell_fails, tasktrace_control.doorbell_fails + 1);
        return -err;
    }
    failed_at = 0;
    TRT_STORE(&tasktrace_control.doorbell_errno, 0);
    __atomic_store_n(&started, true, __ATOMIC_RELEASE);
    return 0;
}

int trt__doorbell_ensure(void)
{
    if (__atomic_load_n(&started, __ATOMIC_ACQUIRE))
        return 0;
    int err = 0;
    pthread_mutex_lock(&start_mutex);
    if (!started) {
        if (failed_at != 0 && trt__now_coarse_ns() - failed_at < DOORBELL_RETRY_NS)
            err = -TRT_LOAD(&tasktrace_control.doorbell_errno);
        else
            err = doorbell_start();
    }
    pthread_mutex_unlock(&start_mutex);
    return err;
}

/* The request queue of dumps from inside (dumpreq.c) is held with the
 * start mutex: both are the doorbell's. */
void trt__doorbell_atfork_prepare(void)
{
    pthread_mutex_lock(&start_mutex);
    trt__dumpreq_atfork_prepare();
}

void trt__doorbell_atfork_parent(void)
{
    trt__dumpreq_atfork_parent();
    pthread_mutex_unlock(&start_mutex);
}

/* The child has none of the parent's other threads, so no doorbell.  It is
 * not started here (pthread_create is not allowed in the child of a
 * multi-threaded process) but by the child's next trt_traced_new. */
void trt__doorbell_atfork_child(void)
{
    TRT_STORE(&tasktrace_control.doorbell_tid, 0);
    TRT_STORE(&tasktrace_control.doorbell_errno, 0);
    __atomic_store_n(&started, false, __ATOMIC_RELAXED);
    failed_at = 0;
    trt__dumpreq_atfork_child();
    pthread_mutex_unlock(&start_mutex);
}
