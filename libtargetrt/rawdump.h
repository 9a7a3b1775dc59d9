/* The raw dump's parts, shared by its files only (rawdump*.c).  Listed
 * from the top down, as rt_internal.h lists the runtime's files: a part
 * calls only those listed below it (and the runtime's, rt_internal.h).
 *
 *   rawdump.c          the document (trt__rawdump_write, in rt_internal.h)
 *   rawdump_stacks.c   a task's stacks: its records found, listed, counted
 *   rawdump_modules.c  the module table and the frames that name a module
 *   rawdump_ring.c     the in-process reader of the capture ring
 *   rawdump_writer.c   the bounded output and the document's JSON pieces
 *
 * The declarations below come bottom first, as in rt_internal.h.
 *
 * All of it runs on the doorbell thread, one dump at a time, never in a
 * signal handler: the module table, the output buffer and a task's stacks
 * are static, and a dump as a whole is not async-signal-safe
 * (dl_iterate_phdr, gmtime_r and the registry mutex are not).  A signal
 * only requests a dump (dumpreq.c). */
#ifndef TRT_RAWDUMP_H
#define TRT_RAWDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rt_internal.h"

/* ---------------------------------------------------- rawdump_writer.c */

/* The document on its way out: a buffer flushed to dest when full.  The
 * first error stops all writing and stays in err.  (trt__write_bounded,
 * which a flush to a descriptor calls, is in rt_internal.h: dumpreq.c uses
 * it too.) */
struct trt__out {
    const struct trt__dump_dest *dest;
    int err; /* first error; nothing more is written after it */
    size_t len;
    char buf[8192];
};

/* Starts an empty output to dest. */
void trt__out_begin(struct trt__out *o, const struct trt__dump_dest *dest);
/* Hands what the buffer holds to the sink, or writes it to the descriptor
 * (trt__write_bounded, giving up after 5 s without progress); sets err on
 * failure. */
void trt__out_flush(struct trt__out *o);
/* n bytes as they are. */
void trt__out_bytes(struct trt__out *o, const char *s, size_t n);
/* A NUL-terminated piece of the document as it is (JSON already). */
void trt__out_text(struct trt__out *o, const char *s);
/* v in decimal. */
void trt__out_u64(struct trt__out *o, uint64_t v);
/* v as the JSON string "0x...", lowercase, no leading zeros. */
void trt__out_hex(struct trt__out *o, uint64_t v);
/* A JSON string of the n bytes at str, which the program holds (a task's
 * name, a module's path), escaped as docs/json.md says the tool escapes
 * them, over the same UTF-8 check (tasktrace/utf8.h): control characters,
 * DEL and the C1 controls become \u00XX, each byte outside valid UTF-8
 * one \ufffd. */
void trt__out_string(struct trt__out *o, const char *str, size_t n);
/* RFC 3339 in UTC with milliseconds, quoted ("2026-11-27T09:54:50.123Z"),
 * or null if the time cannot be converted. */
void trt__out_time(struct trt__out *o, const struct timespec *ts);

/* ------------------------------------------------------ rawdump_ring.c */

/* The records a generation still has in the ring, as one look at the
 * ring's header found them. */
struct trt__ring_reader {
    const struct trt_ring *r; /* NULL: no ring, or not this generation's */
    const struct trt_record *recs;
    uint64_t start, end; /* positions of the generation still in the ring */
    uint64_t lost;       /* positions of it overwritten already */
};

/* Looks at the published ring: v->r stays NULL if there is none or it
 * holds another generation than gen. */
void trt__ring_reader_open(struct trt__ring_reader *v, uint32_t gen);
/* Copies the record at position pos (v->r set); false if it is not whole
 * (being written, overwritten, or its checksum fails). */
bool trt__ring_reader_copy(const struct trt__ring_reader *v, uint64_t pos, struct trt_record *out);
/* Whether the record at pos may be task id's of generation gen: a look at
 * three words before trt__ring_reader_copy copies all of it. */
bool trt__ring_reader_may_be(const struct trt__ring_reader *v, uint64_t pos, uint32_t gen,
                             uint64_t id);
/* The records of the generation that cannot be read whole: one pass. */
uint64_t trt__ring_reader_torn(const struct trt__ring_reader *v);

/* --------------------------------------------------- rawdump_modules.c */

/* Fills the module table again from the loaded modules and forgets which
 * were listed. */
void trt__modules_load(void);
/* The frame of address pc (function, file and line null; module, build
 * id and offset from the table, null outside every module); its module
 * is listed by trt__modules_write_used from then on. */
void trt__modules_write_frame(struct trt__out *o, uint64_t pc);
/* The JSON array "modules": each module a frame named, in first-seen
 * order, with its path, build id and load bias. */
void trt__modules_write_used(struct trt__out *o);

/* ---------------------------------------------------- rawdump_stacks.c */

/* Ring records visited in all, over every task of one dump: the stacks of
 * tasks met after that are left out and the dump says so (cap_records). */
#define TRT__VISIT_MAX (64ull << 20)
/* Distinct stacks listed per task; identical ones are listed once. */
#define TRT__TASK_STACKS_MAX 256

/* The search for every task's records over one dump. */
struct trt__stack_search {
    struct trt__ring_reader ring;
    uint64_t visits;
    uint64_t visit_max; /* TRT__VISIT_MAX, twice that when writing (rawdump.c) */
    uint64_t cursor;    /* just past the last record found of the last task */
    bool cap_records;   /* visit_max was reached */
};

/* The distinct stacks of one task and how often each was captured. */
struct trt__task_stacks {
    uint64_t hash[TRT__TASK_STACKS_MAX];
    uint64_t count[TRT__TASK_STACKS_MAX];
    /* Each stack's chain of polled futures (TRT_RECORD_F_CHAIN): their
     * poll functions, outermost first. */
    uint64_t chain[TRT__TASK_STACKS_MAX][TRT_RECORD_CHAIN_MAX];
    uint8_t nchain[TRT__TASK_STACKS_MAX];
    bool any_chain;
    unsigned n;
    uint64_t read; /* captures of the task read whole */
};

/* Searches for task id's records of gen, up to `want` (UINT64_MAX when
 * unknown), writing nothing: the visits it makes count as the writing
 * will. */
void trt__stacks_search(struct trt__stack_search *d, uint32_t gen, uint64_t id, uint64_t want);
/* The JSON array of task id's distinct stacks, each root first, found as
 * trt__stacks_search finds them; fills ts (emptied first).  Returns
 * whether a stack listed was cut short (TRT_RECORD_F_TRUNCATED). */
bool trt__stacks_write(struct trt__out *o, struct trt__stack_search *d, uint32_t gen, uint64_t id,
                       uint64_t want, struct trt__task_stacks *ts);
/* ,"stack_counts":[...] of ts, and ,"chains":[...] if a stack has one. */
void trt__stacks_write_counts(struct trt__out *o, const struct trt__task_stacks *ts);

#endif
