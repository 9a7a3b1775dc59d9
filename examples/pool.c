/* pool: the examples' thread-pool executor, written against
 * <tasktrace/rt.h> only (the reference executor is single threaded): a run
 * queue under a mutex, worker threads named "worker-N", tasks scheduled at
 * most once at a time. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "pool.h"

/* A task's scheduling state: a task is in the queue or on a worker at most
 * once; a wake during its poll makes the worker queue it again. */
enum { T_IDLE, T_QUEUED, T_RUNNING, T_NOTIFIED, T_DONE };

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static struct pool_task *queue_head, *queue_tail;
static _Atomic unsigned long long executor_polls;

static void queue_push(struct pool_task *t)
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

static struct pool_task *queue_pop(void)
{
    pthread_mutex_lock(&queue_lock);
    while (!queue_head)
        pthread_cond_wait(&queue_cond, &queue_lock);
    struct pool_task *t = queue_head;
    queue_head = t->next;
    if (!queue_head)
        queue_tail = NULL;
    pthread_mutex_unlock(&queue_lock);
    return t;
}

/* Queues an idle task; marks a running one to be polled again. */
static void task_schedule(struct pool_task *t)
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
    task_schedule((struct pool_task *)data);
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
        struct pool_task *t = queue_pop();
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

__attribute__((noinline)) int pool_spawn(struct pool_task *t, trt_future *f, const char *name)
{
    /* Spawned where the example called pool_spawn. */
    t->traced = trt_traced_new_at(f, name, __builtin_return_address(0));
    if (!t->traced)
        return -errno;
    atomic_store(&t->state, T_IDLE);
    task_schedule(t);
    return 0;
}

int pool_start(int nworkers)
{
    for (int i = 0; i < nworkers; i++) {
        pthread_t th;
        int err = pthread_create(&th, NULL, worker_main, (void *)(intptr_t)(i + 1));
        if (err)
            return -err;
        pthread_detach(th);
    }
    return 0;
}

unsigned long long pool_polls(void)
{
    return atomic_load(&executor_polls);
}
