/* Shared by the generation, doorbell and capture tests: a set of traced
 * tasks, each with its own test waker, and a loop that polls woken ones. */
#ifndef TT_GEN_UTIL_H
#define TT_GEN_UTIL_H

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

#endif
