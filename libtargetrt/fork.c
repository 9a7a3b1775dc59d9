/* What fork() does to the runtime.  The child has a copy of every task (the
 * thread that forked may be polling one, and the program may go on polling
 * them) but none of the parent's other threads: no doorbell, no executor
 * thread other than the forking one, no writer in the ring.
 *
 * Prepare takes, in this order, the doorbell's start mutex, the registry
 * mutex with every task's waker lock, and the ring mutex; parent and child
 * release them, so the child inherits every lock free and every structure
 * consistent.  The child's handler then:
 *   - marks the doorbell not started: it starts at the child's next
 *     trt_traced_new (creating a thread here is not allowed);
 *   - publishes fork_ns and flags every inherited task
 *     TRT_TASK_F_INHERITED, so a tool can tell "inherited, polled by
 *     nobody since" (poll_end_ns < fork_ns) from a task that is stuck;
 *   - forgets the forking thread's cached tid, which is the parent's. */
#include <errno.h>

#include "rt_internal.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_err;

static void atfork_prepare(void)
{
    trt__doorbell_atfork_prepare();
    trt__registry_atfork_prepare();
    trt__capture_atfork_prepare();
}

static void atfork_parent(void)
{
    trt__capture_atfork_release();
    trt__registry_atfork_parent();
    trt__doorbell_atfork_parent();
}

static void atfork_child(void)
{
    trt__tid_cache = 0;
    trt__capture_atfork_release();
    uint64_t inherited = trt__registry_atfork_child();
    TRT_STORE(&tasktrace_control.fork_ns, inherited ? trt__now_coarse_ns() : 0);
    trt__doorbell_atfork_child();
}

static void init(void)
{
    init_err = pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

int trt__fork_init(void)
{
    pthread_once(&once, init);
    return -init_err;
}
