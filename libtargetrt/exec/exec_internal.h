/* Reference executor internals shared by exec.c, leaf.c, chan.c and
 * combine.c.  Not installed.  Of the runtime only <tasktrace/rt.h> and
 * <tasktrace/exec.h> are used (and the build's shared clock helpers in
 * <tasktrace/clock.h>): the executor is a client of the runtime like any
 * other. */
#ifndef TRT_EXEC_INTERNAL_H
#define TRT_EXEC_INTERNAL_H

#include <stdint.h>

#include <tasktrace/exec.h>
#include <tasktrace/rt.h>

/* Registers `fd` with the executor's epoll for one report of `events`
 * (EPOLLONESHOT), made to `io`.  Returns 0 or -errno (EEXIST when the fd is
 * already registered). */
int trt__exec_io_add(trt_exec *ex, int fd, uint32_t events, trt_exec_io *io);
/* Deregisters `fd`; errors are ignored (the fd may already be closed). */
void trt__exec_io_del(trt_exec *ex, int fd);

/* Keeps a clone of the poll's waker `w` in `slot` (vtable NULL when empty),
 * replacing the one kept unless it already wakes the same task.  Inlined
 * even at -O0 so that the clone is called from the leaf's own poll function:
 * a dump then ends at the leaf, not at a helper. */
static inline __attribute__((always_inline)) void trt__exec_waker_keep(trt_waker *slot,
                                                                       const trt_waker *w)
{
    if (slot->vtable && trt_waker_will_wake(slot, w))
        return;
    trt_waker old = *slot;
    *slot = trt_waker_clone(w);
    if (old.vtable)
        trt_waker_drop(old);
}

/* Drops the waker kept in `slot`, if any, and empties it. */
static inline void trt__exec_waker_forget(trt_waker *slot)
{
    trt_waker old = *slot;
    slot->data = NULL;
    slot->vtable = NULL;
    if (old.vtable)
        trt_waker_drop(old);
}

#endif
