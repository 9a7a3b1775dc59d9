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
 * The executor is stuck.c's: a run queue under a mutex, tasks scheduled at
 * most once at a time. */
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

/* Keeps each poll a frame of its own (see taskdump.c). */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
#define POLL_FN __attribute__((noinline))

#define NWORKERS 2

/* ------------------------------------------------------------ executor */

/* A task's scheduling state: a task is in the queue or on a worker at most
 * once; a wake during its poll makes the worker queue it again. */
enum { T_IDLE, T_QUEUED, T_RUNNING, T_NOTIFIED, T_DONE };

struct task {
    trt_future *traced; /* the wrapper the workers poll */
    _Atomic int state;
    struct task *next; /* run queue link */
};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static struct task *queue_head, *queue_tail;
static _Atomic unsigned long long executor_polls;

static void queue_push(struct task *t)
{
    pthread_mutex_lock(&queue_lock);
    t->next = NULL;
    if (queue_tail)
        queue_tail->next = t;
    else
        queue_head = t;
    queue_tail = t;
    pthread_cond_signal(&queue_cond);
    pthread_mutex_unlock(&queue_lock);
}

static struct task *queue_pop(void)
{
    pthread_mutex_lock(&queue_lock);
    while (!queue_head)
        pthread_cond_wait(&queue_cond, &queue_lock);
    struct task *t = queue_head;
    queue_head = t->next;
    if (!queue_head)
        queue_tail = NULL;
    pthread_mutex_unlock(&queue_lock);
    return t;
}

/* Queues an idle task; marks a running one to be polled again. */
static void task_schedule(struct task *t)
{
    int s = atomic_load(&t->state);
    for (;;) {
        int next = s == T_IDLE ? T_QUEUED : s == T_RUNNING ? T_NOTIFIED : -1;
        if (next < 0)
            return;
        if (atomic_compare_exchange_weak(&t->state, &s, next))
            break;
    }
    if (s == T_IDLE)
        queue_push(t);
}

/* The waker's data is the task; tasks live as long as the process, so a
 * clone is the same pointer and a drop does nothing. */
static trt_waker pool_waker_clone(const void *data);
static void pool_waker_wake(const void *data)
{
    task_schedule((struct task *)data);
}
static void pool_waker_drop(const void *data)
{
    (void)data;
}
static const trt_waker_vtable pool_vtable = {pool_waker_clone, pool_waker_wake, pool_waker_wake,
                                             pool_waker_drop};
static trt_waker pool_waker_clone(const void *data)
{
    return (trt_waker){data, &pool_vtable};
}

static void *worker_main(void *arg)
{
    char name[16];
    snprintf(name, sizeof(name), "worker-%d", (int)(intptr_t)arg);
    pthread_setname_np(pthread_self(), name);
    for (;;) {
        struct task *t = queue_pop();
        atomic_store(&t->state, T_RUNNING);
        trt_waker w = {t, &pool_vtable};
        trt_context cx = {&w};
        atomic_fetch_add(&executor_polls, 1);
        if (t->traced->poll(t->traced, &cx) == TRT_READY) {
            atomic_store(&t->state, T_DONE);
            continue;
        }
        int s = T_RUNNING;
        if (!atomic_compare_exchange_strong(&t->state, &s, T_IDLE)) {
            atomic_store(&t->state, T_QUEUED);
            queue_push(t);
        }
    }
    return NULL;
}

static int spawn(struct task *t, trt_future *f, const char *name)
{
    t->traced = trt_traced_new(f, name);
    if (!t->traced)
        return -errno;
    atomic_store(&t->state, T_IDLE);
    task_schedule(t);
    return 0;
}

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
    static struct task tasks[3];
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
    for (int i = 0; i < NWORKERS; i++) {
        pthread_t th;
        int err = pthread_create(&th, NULL, worker_main, (void *)(intptr_t)(i + 1));
        if (err) {
            fprintf(stderr, "crash: pthread_create: %s\n", strerror(err));
            return 1;
        }
    }
    int err = spawn(&tasks[0], &parked[0].base, "parked-1");
    if (!err)
        err = spawn(&tasks[1], &parked[1].base, "parked-2");
    if (!err)
        err = spawn(&tasks[2], &conn.base, "conn-17");
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
