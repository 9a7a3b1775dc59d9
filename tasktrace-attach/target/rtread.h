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
int rtread_locate(Dwfl *dwfl, uint64_t *addr);

/* Copies `len` bytes at `addr` of the target's address space into `buf`;
 * 0 or -errno.  The readers below go through one, so that they can read a
 * live process (rtread_proc_read) as well as any memory image. */
typedef records_fn rtread_read_fn;

/* At most this many tasks are read from one registry, whatever it claims.
 * Twice the largest process we aim to dump (a million tasks); the slots
 * kept then take 256 MiB. */
#define RTREAD_MAX_TASKS (1u << 21)

/* Reads the control block at `addr` through `read` and checks it.
 * Returns 0; -EPROTO with a reason in `why` (magic, version, size); or an
 * error of `read`. */
int rtread_control_read(rtread_read_fn read, void *ctx, uint64_t addr, struct trt_control *out,
                        char *why, size_t whylen);

/* The registered tasks of one registry, as rtread_registry_read found them. */
struct rtread_registry {
    struct trt_task_slot *slots; /* n slots, id != 0, ids distinct; malloc'd */
    size_t n;
    uint32_t dup_chunks; /* chunk pointers that repeat an earlier one: skipped */
    uint64_t dup_ids;    /* slots whose id an earlier slot had: dropped */
    uint64_t cut;        /* slots past RTREAD_MAX_TASKS: not read */
};

/* Reads every registered slot (id != 0) of the registry at `addr` through
 * `read`, in chunk order.  A repeated chunk pointer is read once and a
 * repeated task id kept once (both mean corrupt data; they are counted in
 * *out), and at most RTREAD_MAX_TASKS slots are kept: the work and memory are
 * bounded whatever the registry claims.  Every name is NUL-terminated.
 * Returns 0 (free with rtread_registry_free), -EPROTO with a reason in `why`
 * for a corrupt header, -ENOMEM, or an error of `read`; *out is empty on
 * error. */
int rtread_registry_read(rtread_read_fn read, void *ctx, uint64_t addr, struct rtread_registry *out,
                         char *why, size_t whylen);

/* Frees out->slots and empties *r. */
void rtread_registry_free(struct rtread_registry *r);

/* The ring's reader through a callback is records_collect (records.h). */

/* A rtread_read_fn over a live process: `ctx` is a struct proc_target *. */
int rtread_proc_read(void *ctx, uint64_t addr, void *buf, size_t len);

/* The same readers on a live process (rtread_proc_read); rtread_read_ring is
 * records_collect. */
int rtread_read_control(struct proc_target *t, uint64_t addr, struct trt_control *out, char *why,
                        size_t whylen);
int rtread_read_registry(struct proc_target *t, uint64_t addr, struct rtread_registry *out,
                         char *why, size_t whylen);
int rtread_read_ring(struct proc_target *t, uint64_t ring_addr, uint32_t gen,
                     struct records_result *out);

#endif
