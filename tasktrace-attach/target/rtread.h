/* Finding the runtime in a target and reading its control block, registry
 * and ring: all of it untrusted input, checked and bounded here. */
#ifndef TT_SNAP_H
#define TT_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <elfutils/libdwfl.h>
#include <tasktrace/protocol.h>

#include "target/proc.h"
#include "target/records.h"

/* Finds TRT_CONTROL_SYMBOL in the target's modules (libtargetrt first, then
 * the executable, then the rest).  Returns 0 and its address, or -ENOENT. */
int snap_locate(Dwfl *dwfl, uint64_t *addr);

/* Copies `len` bytes at `addr` of the target's address space into `buf`;
 * 0 or -errno.  The readers below go through one, so that they can read a
 * live process (snap_proc_read) as well as any memory image. */
typedef ringread_fn snap_read_fn;

/* At most this many tasks are read from one registry, whatever it claims.
 * Twice the largest process we aim to dump (a million tasks); the slots
 * kept then take 256 MiB. */
#define SNAP_MAX_TASKS (1u << 21)

/* Reads the control block at `addr` through `read` and checks it.
 * Returns 0; -EPROTO with a reason in `why` (magic, version, size); or an
 * error of `read`. */
int snap_control_read(snap_read_fn read, void *ctx, uint64_t addr, struct trt_control *out,
                      char *why, size_t whylen);

/* The registered tasks of one registry, as snap_registry_read found them. */
struct snap_registry {
    struct trt_task_slot *slots; /* n slots, id != 0, ids distinct; malloc'd */
    size_t n;
    uint32_t dup_chunks; /* chunk pointers that repeat an earlier one: skipped */
    uint64_t dup_ids;    /* slots whose id an earlier slot had: dropped */
    uint64_t cut;        /* slots past SNAP_MAX_TASKS: not read */
};

/* Reads every registered slot (id != 0) of the registry at `addr` through
 * `read`, in chunk order.  A repeated chunk pointer is read once and a
 * repeated task id kept once (both mean corrupt data; they are counted in
 * *out), and at most SNAP_MAX_TASKS slots are kept: the work and memory are
 * bounded whatever the registry claims.  Every name is NUL-terminated.
 * Returns 0 (free with snap_registry_free), -EPROTO with a reason in `why`
 * for a corrupt header, -ENOMEM, or an error of `read`; *out is empty on
 * error. */
int snap_registry_read(snap_read_fn read, void *ctx, uint64_t addr, struct snap_registry *out,
                       char *why, size_t whylen);

/* Frees out->slots and empties *r. */
void snap_registry_free(struct snap_registry *r);

/* The ring's reader through a callback is ringread_collect (ringread.h). */

/* A snap_read_fn over a live process: `ctx` is a struct proc_target *. */
int snap_proc_read(void *ctx, uint64_t addr, void *buf, size_t len);

/* The same readers on a live process (snap_proc_read); snap_read_ring is
 * ringread_collect. */
int snap_read_control(struct proc_target *t, uint64_t addr, struct trt_control *out, char *why,
                      size_t whylen);
int snap_read_registry(struct proc_target *t, uint64_t addr, struct snap_registry *out, char *why,
                       size_t whylen);
int snap_read_ring(struct proc_target *t, uint64_t ring_addr, uint32_t gen,
                   struct ringread_result *out);

#endif
