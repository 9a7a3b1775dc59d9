/* The capture ring (see struct trt_ring in protocol.h): fixed-size records,
 * many writers, lock-free, readable from outside the process. */
#ifndef TRT_RING_H
#define TRT_RING_H

#include <stdint.h>

#include <tasktrace/protocol.h>

/* Maps a ring of `capacity` records (rounded up to a power of two, at least
 * 64).  Returns NULL with errno set.  Free with trt__ring_free. */
struct trt_ring *trt__ring_new(uint64_t capacity);
void trt__ring_free(struct trt_ring *r);

/* Starts generation `gen`: records of it begin at the current head.  Gives
 * the memory of earlier records back to the system.  Single caller. */
void trt__ring_begin_gen(struct trt_ring *r, uint32_t gen);

/* Gives the pages of the current generation's records back to the system
 * and marks the ring `released`: a reader still copying them sees that.
 * Single caller, the same as trt__ring_begin_gen. */
void trt__ring_release(struct trt_ring *r);

/* Writes one record; any thread.  `n` is clamped to TRT_RECORD_MAX_PCS.
 * Returns 0, or 1 when the record overwrote one of the ring's current
 * generation (a loss the caller counts). */
int trt__ring_write(struct trt_ring *r, uint32_t gen, uint64_t task_id,
                    uint32_t flags, const uint64_t *pcs, uint32_t n);

/* Bytes mapped for a ring of `capacity` records. */
size_t trt__ring_bytes(uint64_t capacity);

#endif
