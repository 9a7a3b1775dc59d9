/* The capture ring (see struct trt_ring in protocol.h): fixed-size records,
 * many writers, lock-free, readable from outside the process. */
#ifndef TRT_RING_H
#define TRT_RING_H

#include <stdint.h>

#include <tasktrace/protocol.h>

/* Maps a ring of `capacity` records (rounded up to a power of two, at least
 * 64), reserved but not committed (MAP_NORESERVE).  Returns NULL with errno
 * set.  trt__ring_free unmaps it: only for a ring no writer or reader can
 * hold (one never published, or a test's own). */
struct trt_ring *trt__ring_new(uint64_t capacity);
void trt__ring_free(struct trt_ring *r);

/* Starts generation `gen`: records of it begin at the current head.  No
 * system call.  Single caller. */
void trt__ring_begin_gen(struct trt_ring *r, uint32_t gen);

/* Marks the ring `released` for its current generation (a reader still
 * copying sees that) and gives the pages of all its records back to the
 * system with one mmap(MAP_FIXED) over them.  Returns 0, or -errno if the
 * mmap was refused: the pages then stay, and the ring works as before.
 * Single caller, the same as trt__ring_begin_gen. */
int trt__ring_release(struct trt_ring *r);

/* Writes one record; any thread.  `n` is clamped to TRT_RECORD_MAX_PCS.
 * Returns 0, or 1 when the record overwrote one of the ring's current
 * generation (a loss the caller counts). */
int trt__ring_write(struct trt_ring *r, uint32_t gen, uint64_t task_id, uint32_t flags,
                    const uint64_t *pcs, uint32_t n);
/* The same, with `nextra` more words after the `n` PCs (the chain of a
 * TRT_RECORD_F_CHAIN record); n + nextra is clamped to TRT_RECORD_MAX_PCS. */
int trt__ring_write_ex(struct trt_ring *r, uint32_t gen, uint64_t task_id, uint32_t flags,
                       const uint64_t *pcs, uint32_t n, uint32_t nextra);

/* Bytes mapped for a ring of `capacity` records. */
size_t trt__ring_bytes(uint64_t capacity);

#endif
