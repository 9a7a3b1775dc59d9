/* Collecting one generation's whole records from a ring that writers may be
 * changing while it is copied.  The ring is read in windows, the header
 * read again after each; only the records kept and one window are held in
 * memory.  The runtime's own reader of the ring is libtargetrt/
 * rawdump_ring.c (records.c says why there are two). */
#ifndef TT_RINGREAD_H
#define TT_RINGREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tasktrace/protocol.h>

/* Copies `len` bytes at `addr` of the ring's address space; 0 or -errno. */
typedef int (*records_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* At most this many records are read from one ring, whatever it claims:
 * two per task of a million-task process.  A record kept takes 40 bytes,
 * and each distinct list of PCs is kept once (at most 512 bytes). */
#define RECORDS_MAX_RECORDS (1u << 21)

/* One record kept: the ring's record without its copy of the PCs, which
 * point into a list shared by every record with the same PCs and chain. */
struct records_rec {
    uint64_t task_id;
    uint64_t pos; /* its position in the ring: capture order */
    uint32_t gen;
    uint32_t flags;  /* TRT_RECORD_F_* */
    uint32_t npc;    /* <= TRT_RECORD_MAX_PCS */
    uint32_t nchain; /* chain entries after the PCs (trt_record_nchain) */
    uint32_t list;   /* which of the distinct lists pc is, < nlists */
    uint64_t *pc;    /* npc return addresses, innermost first, then the
                        chain; shared */
};

struct records_result {
    struct records_rec *recs; /* whole records of the generation */
    size_t n;
    size_t nlists;   /* distinct lists of PCs and chain among them */
    uint64_t *words; /* the lists, back to back (recs[i].pc points here) */
    uint64_t lost;   /* positions of the generation no longer in the ring */
    uint64_t cut;    /* positions past RECORDS_MAX_RECORDS, not read */
    uint64_t torn;   /* records rejected: being written, overwritten, corrupt
                       (bad stamp, npc or checksum), or their slot possibly
                       reused by a writer a lap ahead during the copy */
};

/* Reads the ring at `ring_addr` and keeps the whole records of `gen`.
 * Returns 0; -EPROTO for a header that is not a ring of this protocol;
 * -ESTALE when the ring has moved on to another generation, or given this
 * one's pages back (ring.released == gen), before or while it was read;
 * -ENOMEM; -errno from `read`.  On success the caller frees *out with
 * records_free. */
int records_collect(records_fn read, void *ctx, uint64_t ring_addr, uint32_t gen,
                    struct records_result *out);

/* Frees what records_collect kept (a zeroed result too). */
void records_free(struct records_result *r);

/* A read in steps (zeroed to start): the records of the generation read
 * while the target is still writing them, so that the final read has
 * less left to copy. */
struct records_progress {
    struct records_state *state; /* NULL: nothing kept */
    bool gave_up;                /* a step failed: the final read reads all */
};

/* Keeps the records of `gen` that are whole from where the last step
 * stopped up to the first one not whole yet.  Returns 0, or -errno after
 * which the progress is dropped (gave_up) and the final read reads all:
 * -ESTALE (another ring or generation), -E2BIG (more than a lap or
 * RECORDS_MAX_RECORDS: the final read decides what is lost or cut),
 * -EPROTO, -ENOMEM, the read's error. */
int records_step(records_fn read, void *ctx, uint64_t ring_addr, uint32_t gen,
                 struct records_progress *p);

/* records_collect, going on from what the steps of `p` (which may be
 * NULL) kept when they read this same ring and generation; `p` is empty
 * after. */
int records_finish(records_fn read, void *ctx, uint64_t ring_addr, uint32_t gen,
                   struct records_progress *p, struct records_result *out);

/* Drops what the steps kept. */
void records_progress_free(struct records_progress *p);

#endif
