/* crash: a task whose poll dereferences NULL, for post-mortem dumps.
 *
 * Two worker threads run traced tasks: "parked-1" and "parked-2" wait for
 * a wake-up the way well-behaved futures do; "conn-17" awaits its header,
 * which waits until the main thread receives SIGUSR1 and wakes it: its next
 * poll parses a NULL header (parse_header) and the process dies of SIGSEGV
 * inside that task's poll, leaving a core where the kernel's core_pattern
 * says (ulimit -c permitting).
 *
 * Usage: crash.  Prints "pid <PID>" once the tasks wait, then crashes on
 * SIGUSR1; a dump before that (tasktrace-attach PID) leaves its stacks in
 * the capture ring, for the core to hold.  Exit status 1 on error, 64 on an
 * argument.
 *
 * The executor is examples/pool.c, as for stuck.c. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tasktrace/rt.h>

#include "pool.h"

/* Keeps each poll a frame of its own (see taskdump.c). */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
#define POLL_FN __attribute__((noinline))

#define NWORKERS 2

/* ------------------------------------------------------------ tasks */

/* How many tasks have reached their waiting point. */
static _Atomic int waiting;

/* "parked-N": waits for a wake-up that does not come. */
struct parked {
    trt_future base;
    trt_waker waker;
};

static POLL_FN trt_poll parked_poll(trt_future *f, trt_context *cx)
{
    struct parked *p = (struct parked *)f;
    if (p->waker.vtable)
        trt_waker_drop(p->waker);
    else
        atomic_fetch_add(&waiting, 1);
    p->waker = trt_waker_clone(cx->waker);
    KEEP_FRAME();
    return TRT_PENDING;
}

/* "conn-17": a connection handler awaiting its request header. */
struct header {
    uint32_t len;
    uint32_t kind;
};

struct conn {
    trt_future base;
    trt_future header; /* awaits the header */
    trt_waker waker;
    /* NULL: the bug.  Volatile, so that the compiler cannot see the NULL
     * and fault in the caller instead (-fisolate-erroneous-paths). */
    const struct header *volatile hdr;
    pthread_mutex_t lock;
};

static _Atomic int crash_now;
static volatile uint32_t sink;

/* The NULL dereference must reach the hardware as it would in production:
 * UndefinedBehaviorSanitizer would end the process without a core. */
static __attribute__((noinline, no_sanitize("undefined"))) uint32_t
parse_header(const struct header *h)
{
    /* The pointer passes through an empty asm, so the compiler cannot move
     * the load into the caller (IPA-SRA): the fault is in this frame. */
    __asm__ volatile("" : "+r"(h));
    uint32_t len = h->len; /* SIGSEGV: h is NULL */
    KEEP_FRAME();
    return len;
}

static POLL_FN trt_poll header_poll(trt_future *f, trt_context *cx)
{
    struct conn *c = (struct conn *)((char *)f - offsetof(struct conn, header));
    if (!atomic_load(&crash_now)) {
        pthread_mutex_lock(&c->lock);
        if (c->waker.vtable)
            trt_waker_drop(c->waker);
        else
            atomic_fetch_add(&waiting, 1);
        c->waker = trt_waker_clone(cx->waker);
        pthread_mutex_unlock(&c->lock);
        return TRT_PENDING;
    }
    sink = parse_header(c->hdr);
    KEEP_FRAME();
    return TRT_READY;
}

static POLL_FN trt_poll conn_poll(trt_future *f, trt_context *cx)
{
    struct conn *c = (struct conn *)f;
    trt_poll p = trt_future_poll(&c->header, cx);
    KEEP_FRAME();
    return p;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    static struct pool_task tasks[3];
    static struct parked parked[2] = {{.base = {parked_poll}}, {.base = {parked_poll}}};
    static struct conn conn = {
        .base = {conn_poll}, .header = {header_poll}, .lock = PTHREAD_MUTEX_INITIALIZER};
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: crash\n");
        return 64;
    }
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    int perr = pool_start(NWORKERS);
    if (perr) {
        fprintf(stderr, "crash: pthread_create: %s\n", strerror(-perr));
        return 1;
    }
    int err = pool_spawn(&tasks[0], &parked[0].base, "parked-1");
    if (!err)
        err = pool_spawn(&tasks[1], &parked[1].base, "parked-2");
    if (!err)
        err = pool_spawn(&tasks[2], &conn.base, "conn-17");
    if (err) {
        fprintf(stderr, "crash: spawn: %s\n", strerror(-err));
        return 1;
    }
    for (int i = 0; i < 1000 && atomic_load(&waiting) < 3; i++) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&waiting) < 3) {
        fprintf(stderr, "crash: the tasks did not start waiting\n");
        return 1;
    }
    struct timespec settle = {0, 20000000};
    nanosleep(&settle, NULL);
    printf("pid %d\n", (int)getpid());
    fflush(stdout);
    int sig;
    while (sigwait(&usr1, &sig) != 0)
        ;
    atomic_store(&crash_now, 1);
    pthread_mutex_lock(&conn.lock);
    trt_waker_wake_by_ref(&conn.waker);
    pthread_mutex_unlock(&conn.lock);
    for (;;)
        pause();
}
