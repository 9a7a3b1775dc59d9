/* Ringing the runtime's doorbell from outside the process. */
#ifndef TT_BELL_H
#define TT_BELL_H

#include <stdint.h>
#include <sys/types.h>

#include "target/proc.h"

/* Requests a dump generation from the target whose control block is at
 * CONTROL_ADDR: seizes only the doorbell thread TID, writes the request
 * word, interrupts the thread's futex wait and detaches as soon as it has
 * stopped.  Seizing also keeps a second tool from ringing at the same
 * moment.  The generation is chosen while the thread is held, so that
 * concurrent tools never ask for one twice: *GEN (at least its value on
 * entry) is raised past the request word and the active generation as
 * they are then; on return *GEN is the generation requested.
 * Returns 0; -EPERM (not permitted, or already traced), -ESRCH (thread or
 * process gone), -ETIMEDOUT (the thread did not stop within a second), or
 * another -errno.  *STOPPED_NS receives how long the thread was stopped.
 * HOLD_MS keeps the thread stopped that much longer before the write: a
 * test hook for killing the tool at its worst moment; 0 in normal use. */
int doorbell_ring_next(struct proc_target *t, pid_t tid, uint64_t control_addr, uint32_t *gen,
                       unsigned hold_ms, uint64_t *stopped_ns);

#endif
