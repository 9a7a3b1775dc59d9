/* libtargetrt internals shared by its modules.  Not installed. */
#ifndef TRT_RT_INTERNAL_H
#define TRT_RT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <tasktrace/protocol.h>
#include <tasktrace/rt.h>

/* Relaxed atomic access to protocol fields that another thread, or a process
 * outside, may read at any moment.  On the platforms we support these are
 * plain loads and stores. */
#define TRT_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define TRT_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* A traced task: the wrapper future returned by trt_traced_new. */
struct trt__task {
    trt_future base; /* poll == trt__traced_poll */
    trt_future *inner;
    struct trt_task_slot *slot;
    uint32_t index;   /* slot index in the registry */
    atomic_flag lock; /* guards `waker` against the doorbell's clone */
    trt_waker waker;  /* clone of the last poll's waker; vtable NULL if none */
};

extern struct trt_control tasktrace_control;

trt_poll trt__traced_poll(trt_future *f, trt_context *cx);

/* CLOCK_MONOTONIC in nanoseconds, coarse (one tick) resolution, no syscall. */
uint64_t trt__now_coarse_ns(void);
/* The calling thread's id, cached after the first call. */
pid_t trt__tid(void);

/* Registry (registry.c).  add/remove return 0 or -errno. */
int trt__registry_add(struct trt__task *t, const char *name);
/* Removes `t` and returns the generation it still owed (0 if none). */
uint32_t trt__registry_remove(struct trt__task *t);
/* Marks every live task as owing `gen`, adding one to the generation's
 * pending count per task, and hands back clones of their cached wakers
 * (*wakers, malloc'd, caller frees).  Returns the number of tasks marked. */
size_t trt__registry_mark(uint32_t gen, trt_waker **wakers, size_t *nwakers);
uint64_t trt__registry_live(void);
void trt__registry_lock(void);
void trt__registry_unlock(void);
struct trt_registry *trt__registry_get(void);
void trt__registry_atfork_prepare(void);
void trt__registry_atfork_parent(void);
void trt__registry_atfork_child(void);

/* Generations (doorbell.c). */
/* Starts the doorbell thread if this process has none.  0 or -errno. */
int trt__doorbell_ensure(void);
/* A task owing `gen` was traced, completed or freed. */
void trt__gen_finish_one(uint32_t gen);
/* Requests a dump from inside the process (tests); returns its generation. */
uint32_t trt__dump_request(void);
/* Waits up to timeout_ms for done >= gen; 0, or -ETIMEDOUT. */
int trt__dump_wait(uint32_t gen, int timeout_ms);

/* Stack capture (traced.c): records the caller's stack for task `id` in
 * generation `gen` into the current ring.  Returns 0, or -ENOSPC if it
 * overwrote a record of the same generation, or -ENOMEM without a ring. */
int trt__capture(uint32_t gen, uint64_t id, uint32_t flags);

#endif
