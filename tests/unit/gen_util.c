#include <errno.h>
#include <string.h>
#include <time.h>

#include "../../libtargetrt/rt_internal.h"
#include "gen_util.h"

trt_poll ttask_poll(struct ttask *t)
{
    trt_waker w = twaker_borrow(&t->waker);
    trt_context cx = {&w};
    return trt_future_poll(t->traced, &cx);
}

int ttask_run_until_done(struct ttask *tasks, int n, uint32_t gen, int ms)
{
    for (int waited = 0; waited <= ms; waited++) {
        for (int i = 0; i < n; i++)
            if (tasks[i].traced && atomic_exchange(&tasks[i].waker.woken, false))
                ttask_poll(&tasks[i]);
        if (trt__dump_wait(gen, 1) == 0)
            return 0;
    }
    return -ETIMEDOUT;
}

int tt_mem_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    (void)ctx;
    memcpy(buf, (const void *)(uintptr_t)addr, len);
    return 0;
}
