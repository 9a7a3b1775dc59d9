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
    /* Word by word with relaxed atomic loads when aligned, as the ring's
     * writers store: a record read while written is then no data race
     * (the reader rejects it by its stamp), and TSan agrees. */
    if (addr % 8 == 0 && len % 8 == 0 && (uintptr_t)buf % 8 == 0) {
        const uint64_t *src = (const uint64_t *)(uintptr_t)addr;
        uint64_t *dst = buf;
        for (size_t i = 0; i < len / 8; i++)
            dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
        return 0;
    }
    memcpy(buf, (const void *)(uintptr_t)addr, len);
    return 0;
}
