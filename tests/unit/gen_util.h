/* Shared by the runtime's tests: a set of traced tasks, each with its own
 * test waker, a loop that polls woken ones, and a reader of this process's
 * memory for the tool's ring reader. */
#ifndef TT_GEN_UTIL_H
#define TT_GEN_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "twaker.h"

struct ttask {
    struct twaker waker;
    trt_future *inner;
    trt_future *traced;
};

/* Polls `t` once with its own waker. */
trt_poll ttask_poll(struct ttask *t);
/* Polls every woken task until generation `gen` is done or `ms` pass.
 * Returns 0 or -ETIMEDOUT. */
int ttask_run_until_done(struct ttask *tasks, int n, uint32_t gen, int ms);

/* A records_collect reader of the calling process's own memory. */
int tt_mem_read(void *ctx, uint64_t addr, void *buf, size_t len);

#endif
