/* A task's stacks in the raw dump: its records found in the ring of the
 * generation, identical stacks listed once with how often each was
 * captured, and each stack's chain of polled futures.
 *
 * The search for one task's records costs ring visits; one budget
 * (visit_max) covers every task of a dump, so a ring far larger than its
 * tasks' captures cannot make a dump take unbounded time: what the budget
 * does not reach is left out and the dump says so (cap_records). */
#include "rawdump.h"

/* How far before where the last task's records ended the search for the
 * next task's starts: executor threads polling in parallel interleave
 * their tasks' captures by about this much. */
#define SCAN_BACK 1024

static uint64_t stack_hash(const struct trt_record *r)
{
    uint64_t h = 0xcbf29ce484222325ull ^ r->npc;
    for (uint32_t i = 0; i < r->npc; i++)
        h = (h ^ r->pc[i]) * 0x100000001b3ull;
    return h;
}

/* Visits the record at `pos` for task_scan: false once the visits are
 * spent (cap_records). */
static bool scan_one(struct trt__stack_search *d, uint64_t pos, uint32_t gen, uint64_t id,
                     uint64_t *seen, void (*found)(void *, const struct trt_record *), void *arg)
{
    if (d->visits >= d->visit_max) {
        d->cap_records = true;
        return false;
    }
    d->visits++;
    if (!trt__ring_reader_may_be(&d->ring, pos, gen, id))
        return true;
    struct trt_record rec;
    if (!trt__ring_reader_copy(&d->ring, pos, &rec) || rec.gen != gen || rec.task_id != id)
        return true;
    (*seen)++;
    d->cursor = pos + 1;
    if (found)
        found(arg, &rec);
    return true;
}

/* Finds the records of task `id`, calling found(arg, record) for each
 * read whole, until `want` were seen.  The executor polls tasks in about
 * the order the generation woke them, which is the registry's: the search
 * goes on from where the last task's records ended for SCAN_BACK records,
 * then, if some are still missing, round the generation's records once
 * from a little before there (executor threads polling in parallel
 * interleave their captures).  Linear in the records for a whole dump as
 * long as the executors keep that order; every visit counts in d->visits,
 * which stops at d->visit_max (cap_records). */
static void task_scan(struct trt__stack_search *d, uint32_t gen, uint64_t id, uint64_t want,
                      void (*found)(void *, const struct trt_record *), void *arg)
{
    const struct trt__ring_reader *v = &d->ring;
    if (!v->r || v->end == v->start || want == 0)
        return;
    uint64_t seen = 0;
    uint64_t ahead_from = d->cursor >= v->start && d->cursor < v->end ? d->cursor : v->start;
    uint64_t ahead_to = v->end - ahead_from > SCAN_BACK ? ahead_from + SCAN_BACK : v->end;
    for (uint64_t pos = ahead_from; pos < ahead_to && seen < want; pos++)
        if (!scan_one(d, pos, gen, id, &seen, found, arg))
            return;
    uint64_t span = v->end - v->start;
    uint64_t from = ahead_from > v->start + SCAN_BACK ? ahead_from - SCAN_BACK : v->start;
    for (uint64_t k = 0; k < span && seen < want; k++) {
        uint64_t pos = from + k < v->end ? from + k : from + k - span;
        if (pos >= ahead_from && pos < ahead_to)
            continue; /* seen above */
        if (!scan_one(d, pos, gen, id, &seen, found, arg))
            return;
    }
}

void trt__stacks_search(struct trt__stack_search *d, uint32_t gen, uint64_t id, uint64_t want)
{
    task_scan(d, gen, id, want, NULL, NULL);
}

/* What trt__stacks_write keeps while task_scan hands it a task's records. */
struct stacks_out {
    struct trt__out *o;
    struct trt__task_stacks *ts;
    bool truncated;
    bool first;
};

static void stack_found(void *arg, const struct trt_record *rec)
{
    struct stacks_out *so = arg;
    struct trt__task_stacks *ts = so->ts;
    uint64_t h = stack_hash(rec);
    ts->read++;
    for (unsigned i = 0; i < ts->n; i++)
        if (ts->hash[i] == h) {
            ts->count[i]++;
            return;
        }
    if (ts->n == TRT__TASK_STACKS_MAX)
        return;
    ts->count[ts->n] = 1;
    uint32_t nchain = trt_record_nchain(rec);
    for (uint32_t i = 0; i < nchain; i++)
        ts->chain[ts->n][i] = rec->pc[rec->npc + i];
    ts->nchain[ts->n] = (uint8_t)nchain;
    ts->any_chain = ts->any_chain || nchain > 0;
    ts->hash[ts->n++] = h;
    if (rec->flags & TRT_RECORD_F_TRUNCATED)
        so->truncated = true;
    trt__out_text(so->o, so->first ? "[" : ",[");
    so->first = false;
    for (uint32_t i = rec->npc; i-- > 0;) {
        trt__modules_write_frame(so->o, rec->pc[i]);
        if (i)
            trt__out_text(so->o, ",");
    }
    trt__out_text(so->o, "]");
}

bool trt__stacks_write(struct trt__out *o, struct trt__stack_search *d, uint32_t gen, uint64_t id,
                       uint64_t want, struct trt__task_stacks *ts)
{
    ts->n = 0;
    ts->read = 0;
    ts->any_chain = false;
    struct stacks_out so = {o, ts, false, true};
    trt__out_text(o, "[");
    task_scan(d, gen, id, want, stack_found, &so);
    trt__out_text(o, "]");
    return so.truncated;
}

void trt__stacks_write_counts(struct trt__out *o, const struct trt__task_stacks *ts)
{
    trt__out_text(o, ",\"stack_counts\":[");
    for (unsigned i = 0; i < ts->n; i++) {
        if (i)
            trt__out_text(o, ",");
        trt__out_u64(o, ts->count[i]);
    }
    trt__out_text(o, "]");
    if (!ts->any_chain)
        return;
    /* The futures each stack's capture polled on its way, outermost
     * first, which the tool puts back where a tail call left no frame. */
    trt__out_text(o, ",\"chains\":[");
    for (unsigned i = 0; i < ts->n; i++) {
        trt__out_text(o, i ? ",[" : "[");
        for (unsigned k = 0; k < ts->nchain[i]; k++) {
            if (k)
                trt__out_text(o, ",");
            trt__modules_write_frame(o, ts->chain[i][k]);
        }
        trt__out_text(o, "]");
    }
    trt__out_text(o, "]");
}
