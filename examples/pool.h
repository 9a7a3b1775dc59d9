/* pool: the examples' thread-pool executor (examples/pool.c), written
 * against <tasktrace/rt.h> only.  One pool per process. */
#ifndef TT_EXAMPLES_POOL_H
#define TT_EXAMPLES_POOL_H

#include <tasktrace/rt.h>

/* A task of the pool: caller-allocated, lives as long as the process. */
struct pool_task {
    trt_future *traced; /* the wrapper the workers poll */
    _Atomic int state;
    struct pool_task *next; /* run queue link */
};

/* Starts NWORKERS worker threads named "worker-1" ... "worker-N".
 * Returns 0 or -errno. */
int pool_start(int nworkers);

/* Wraps F as a traced task named NAME (spawned at the caller) and queues
 * its first poll.  Returns 0 or -errno. */
int pool_spawn(struct pool_task *t, trt_future *f, const char *name);

/* Polls the workers have made so far. */
unsigned long long pool_polls(void);

#endif
