/* The control block, the doorbell thread and dump generations.
 *
 * The doorbell thread sleeps in FUTEX_WAIT on control.request.  A tool
 * outside the process writes a new request value and interrupts this one
 * thread with ptrace; the interrupted wait restarts, sees the new value and
 * returns.  The thread then starts the generation: it marks every live task
 * as owing it and wakes each through its cached waker.  The executor polls
 * them as usual; the wrapper traces those polls.  The runtime never polls a
 * task itself. */
#include <errno.h>
#include <execinfo.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "ring.h"
#include "rt_internal.h"

__attribute__((visibility("default"), used)) struct trt_control tasktrace_control = {
    .magic = TRT_CONTROL_MAGIC,
    .version = TRT_PROTOCOL_VERSION,
    .size = sizeof(struct trt_control),
};

/* Records the ring holds per live task before it overwrites its own
 * generation: room for a few leaves each. */
#define RING_RECORDS_PER_TASK 4
#define RING_MIN_RECORDS 1024

static pthread_mutex_t start_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool started, atfork_registered;
static struct trt_ring *_Atomic current_ring;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void publish_done(uint32_t gen)
{
    TRT_STORE(&tasktrace_control.gen_done_ns, now_ns());
    __atomic_store_n(&tasktrace_control.done, gen, __ATOMIC_RELEASE);
    /* For in-process waiters (tests); a tool outside polls the word. */
    syscall(SYS_futex, &tasktrace_control.done, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

void trt__gen_finish_one(uint32_t gen)
{
    uint64_t v = __atomic_load_n(&tasktrace_control.gen_pending, __ATOMIC_ACQUIRE);
    for (;;) {
        /* A stale generation, superseded by a newer request: nothing owed. */
        if ((uint32_t)(v >> 32) != gen || (uint32_t)v == 0)
            return;
        if (__atomic_compare_exchange_n(&tasktrace_control.gen_pending, &v, v - 1, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
    }
    if ((uint32_t)(v - 1) == 0)
        publish_done(gen);
}

/* Writers take the current ring with a user count so that the doorbell never
 * unmaps a ring under them. */
static struct trt_ring *ring_enter(void)
{
    for (;;) {
        struct trt_ring *r = atomic_load(&current_ring);
        if (!r)
            return NULL;
        __atomic_add_fetch(&r->users, 1, __ATOMIC_SEQ_CST);
        if (atomic_load(&current_ring) == r)
            return r;
        __atomic_sub_fetch(&r->users, 1, __ATOMIC_SEQ_CST);
    }
}

static void ring_leave(struct trt_ring *r)
{
    __atomic_sub_fetch(&r->users, 1, __ATOMIC_SEQ_CST);
}

__attribute__((noinline)) int trt__capture(uint32_t gen, uint64_t id, uint32_t flags)
{
    /* One spare slot to tell a stack that fits from one that was cut. */
    void *pcs[TRT_RECORD_MAX_PCS + 1];
    int n = backtrace(pcs, TRT_RECORD_MAX_PCS + 1);
    if (n > TRT_RECORD_MAX_PCS) {
        n = TRT_RECORD_MAX_PCS;
        flags |= TRT_RECORD_F_TRUNCATED;
    }
    uint64_t words[TRT_RECORD_MAX_PCS];
    for (int i = 0; i < n; i++)
        words[i] = (uint64_t)(uintptr_t)pcs[i];
    struct trt_ring *r = ring_enter();
    if (!r)
        return -ENOMEM;
    int lost = trt__ring_write(r, gen, id, flags, words, (uint32_t)n);
    ring_leave(r);
    __atomic_add_fetch(&tasktrace_control.records_written, 1, __ATOMIC_RELAXED);
    if (lost) {
        __atomic_add_fetch(&tasktrace_control.records_lost, 1, __ATOMIC_RELAXED);
        return -ENOSPC;
    }
    return 0;
}

/* Makes sure the ring holds a few records per live task, replacing it with a
 * larger one when it does not. */
static struct trt_ring *ring_prepare(uint64_t live)
{
    uint64_t want = live * RING_RECORDS_PER_TASK;
    if (want < RING_MIN_RECORDS)
        want = RING_MIN_RECORDS;
    struct trt_ring *old = atomic_load(&current_ring);
    if (old && old->capacity >= want)
        return old;
    struct trt_ring *fresh = trt__ring_new(want);
    if (!fresh)
        return old; /* a smaller ring loses records, it still works */
    atomic_store(&current_ring, fresh);
    TRT_STORE(&tasktrace_control.ring_addr, (uint64_t)(uintptr_t)fresh);
    if (old) {
        while (__atomic_load_n(&old->users, __ATOMIC_SEQ_CST) != 0)
            sched_yield();
        trt__ring_free(old);
    }
    return fresh;
}

static void gen_start(uint32_t gen)
{
    struct trt_ring *r = ring_prepare(trt__registry_live());
    TRT_STORE(&tasktrace_control.gen_start_ns, now_ns());
    if (r)
        trt__ring_begin_gen(r, gen);
    /* The doorbell holds one count until every task has been marked, so that
     * the generation cannot complete half-way through the walk. */
    __atomic_store_n(&tasktrace_control.gen_pending, ((uint64_t)gen << 32) | 1, __ATOMIC_RELEASE);
    __atomic_store_n(&tasktrace_control.active, gen, __ATOMIC_RELEASE);
    trt_waker *wakers = NULL;
    size_t nwakers = 0;
    size_t marked = trt__registry_mark(gen, &wakers, &nwakers);
    TRT_STORE(&tasktrace_control.gen_tasks, (uint32_t)(marked > UINT32_MAX ? UINT32_MAX : marked));
    /* A dump is a spurious wake-up: every task is polled once more by its
     * own executor, which must tolerate it anyway. */
    for (size_t i = 0; i < nwakers; i++)
        trt_waker_wake(wakers[i]);
    free(wakers);
    trt__gen_finish_one(gen);
}

/* After starting a generation the doorbell lingers: it looks for the
 * tool's read_done every so often (1 ms, doubling to 1 s) for up to a
 * minute, and gives the ring's pages back RELEASE_GRACE_NS after it (a
 * second tool may still be copying).  Then it sleeps without a timeout. */
#define LINGER_NS (60ull * 1000000000u)
#define RELEASE_GRACE_NS (200ull * 1000000u)

static void *doorbell_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), TRT_DOORBELL_NAME);
    /* backtrace() loads the unwinder on first use; do it here, not inside
     * an executor's poll. */
    void *warm[2];
    backtrace(warm, 2);
    __atomic_store_n(&tasktrace_control.doorbell_tid, (int32_t)trt__tid(), __ATOMIC_RELEASE);
    uint32_t lingering = 0;
    uint64_t since = 0, acked_at = 0, nap = 0;
    for (;;) {
        uint32_t req = __atomic_load_n(&tasktrace_control.request, __ATOMIC_ACQUIRE);
        if (req != 0 && req != __atomic_load_n(&tasktrace_control.active, __ATOMIC_RELAXED)) {
            gen_start(req);
            lingering = req;
            since = now_ns();
            acked_at = 0;
            nap = 1000000;
            continue;
        }
        if (!lingering) {
            /* EINTR and EAGAIN both mean: look again. */
            syscall(SYS_futex, &tasktrace_control.request, FUTEX_WAIT_PRIVATE, req, NULL, NULL, 0);
            continue;
        }
        uint64_t now = now_ns();
        if (acked_at == 0 &&
            __atomic_load_n(&tasktrace_control.read_done, __ATOMIC_ACQUIRE) == lingering)
            acked_at = now;
        if (acked_at != 0 && now - acked_at >= RELEASE_GRACE_NS) {
            struct trt_ring *r = atomic_load(&current_ring);
            if (r && __atomic_load_n(&r->gen, __ATOMIC_RELAXED) == lingering)
                trt__ring_release(r);
            lingering = 0;
            continue;
        }
        if (now - since >= LINGER_NS) {
            lingering = 0;
            continue;
        }
        struct timespec ts = {(time_t)(nap / 1000000000u), (long)(nap % 1000000000u)};
        syscall(SYS_futex, &tasktrace_control.request, FUTEX_WAIT_PRIVATE, req, &ts, NULL, 0);
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
        return -err;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    /* The thread inherits a full mask: process signals go to the program's
     * own threads, never to the doorbell. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&th, &attr, doorbell_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (err)
        return -err;
    __atomic_store_n(&started, true, __ATOMIC_RELEASE);
    return 0;
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&start_mutex);
    trt__registry_atfork_prepare();
}

static void atfork_parent(void)
{
    trt__registry_atfork_parent();
    pthread_mutex_unlock(&start_mutex);
}

/* The child has the parent's tasks but none of its other threads: no
 * doorbell and no writer inside the ring.  Start a doorbell of its own. */
static void atfork_child(void)
{
    trt__registry_atfork_child();
    struct trt_ring *r = atomic_load(&current_ring);
    if (r)
        __atomic_store_n(&r->users, 0, __ATOMIC_RELAXED);
    TRT_STORE(&tasktrace_control.doorbell_tid, 0);
    __atomic_store_n(&started, false, __ATOMIC_RELAXED);
    if (trt__registry_live() > 0)
        doorbell_start();
    pthread_mutex_unlock(&start_mutex);
}

int trt__doorbell_ensure(void)
{
    if (__atomic_load_n(&started, __ATOMIC_ACQUIRE))
        return 0;
    int err = 0;
    pthread_mutex_lock(&start_mutex);
    if (!atfork_registered) {
        err = pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
        if (err) {
            err = -err;
            goto out;
        }
        atfork_registered = true;
    }
    if (!started)
        err = doorbell_start();
out:
    pthread_mutex_unlock(&start_mutex);
    return err;
}

uint32_t trt__dump_request(void)
{
    uint32_t gen = __atomic_load_n(&tasktrace_control.active, __ATOMIC_ACQUIRE) + 1;
    if (gen == 0)
        gen = 1;
    __atomic_store_n(&tasktrace_control.request, gen, __ATOMIC_RELEASE);
    syscall(SYS_futex, &tasktrace_control.request, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    return gen;
}

int trt__dump_wait(uint32_t gen, int timeout_ms)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        uint32_t done = __atomic_load_n(&tasktrace_control.done, __ATOMIC_ACQUIRE);
        if ((int32_t)(done - gen) >= 0)
            return 0;
        uint64_t now = now_ns();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct timespec ts = {0, (long)((deadline - now) < 10000000u ? deadline - now : 10000000u)};
        syscall(SYS_futex, &tasktrace_control.done, FUTEX_WAIT_PRIVATE, done, &ts, NULL, 0);
    }
}
