/* Collecting one generation's whole records from a ring that writers may be
 * changing while it is copied.  The ring is read in windows, each copied
 * twice; only the records kept and two windows are held in memory. */
#ifndef TT_RINGREAD_H
#define TT_RINGREAD_H

#include <stddef.h>
#include <stdint.h>

#include <tasktrace/protocol.h>

/* Copies `len` bytes at `addr` of the ring's address space; 0 or -errno. */
typedef int (*ringread_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* At most this many records are read from one ring, whatever it claims:
 * two per task of a million-task process.  The records kept take up to
 * 512 bytes each (1 GiB at the cap). */
#define RINGREAD_MAX_RECORDS (1u << 21)

struct ringread_result {
    struct trt_record *recs; /* whole records of the generation, malloc'd */
    size_t n;
    uint64_t lost; /* positions of the generation no longer in the ring */
    uint64_t cut;  /* positions past RINGREAD_MAX_RECORDS, not read */
    uint64_t torn; /* records rejected: being written, overwritten, corrupt
                       (bad stamp, npc or checksum, or changed between the
                       two copies) */
};

/* Reads the ring at `ring_addr` and keeps the whole records of `gen`.
 * Returns 0; -EPROTO for a header that is not a ring of this protocol;
 * -ESTALE when the ring has moved on to another generation, or given this
 * one's pages back (ring.released == gen), before or while it was read; -errno from
 * `read`.  On success the caller frees out->recs. */
int ringread_collect(ringread_fn read, void *ctx, uint64_t ring_addr, uint32_t gen,
                     struct ringread_result *out);

#endif
