/* Finding the runtime in a target and reading its control block, registry
 * and ring: all of it untrusted input, checked and bounded here. */
#ifndef TT_SNAP_H
#define TT_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <elfutils/libdwfl.h>
#include <tasktrace/protocol.h>

#include "proc.h"
#include "ringread.h"

/* Finds TRT_CONTROL_SYMBOL in the target's modules (libtargetrt first, then
 * the executable, then the rest).  Returns 0 and its address, or -ENOENT. */
int snap_locate(Dwfl *dwfl, uint64_t *addr);

/* Reads and checks the control block.  Returns 0; -EPROTO with a reason in
 * `why` (magic, version, size); or a proc_read error. */
int snap_read_control(struct proc_target *t, uint64_t addr, struct trt_control *out,
                      char *why, size_t whylen);

/* Reads every registered slot (id != 0).  *slots is malloc'd, caller frees.
 * Returns 0, -EPROTO for a corrupt registry, or a proc_read error. */
int snap_read_registry(struct proc_target *t, uint64_t addr, struct trt_task_slot **slots,
                       size_t *n, char *why, size_t whylen);

/* Reads generation `gen`'s whole records from the ring; see ringread.h. */
int snap_read_ring(struct proc_target *t, uint64_t ring_addr, uint32_t gen,
                   struct ringread_result *out);

#endif
