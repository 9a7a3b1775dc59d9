/* The raw dump: a finished (or abandoned) generation written from inside
 * the process as the JSON document of `tasktrace-attach --json`, without
 * symbols.  Each frame has its module's path, build id, the offset of its
 * address in the module and the address itself; function, file, line and
 * column are null, and the document says "raw": true.  A tool elsewhere
 * symbolizes it (`tasktrace-attach --symbolize FILE`).
 *
 * This file writes the document; its parts are in rawdump.h.  Only the
 * doorbell thread writes raw dumps (dumpreq.c), one at a time, so the
 * module table, the output buffer and a task's stacks are static: a dump
 * allocates nothing (but for what glibc's gmtime_r sets up once per
 * process, rawdump_writer.c).  The stacks are read from the ring the way
 * the tool reads them (stamp before and after, checksum); the tasks are
 * copied one at a time under the registry mutex and written with no lock
 * held, so a slow destination never holds up task creation.  Output goes
 * through a bounded buffer to write(2) or to the caller's sink; no stdio.
 *
 * System calls: getpid, readlink("/proc/self/exe") (rawdump_modules.c),
 * poll and write for the output (rawdump_writer.c), the loader's lock
 * taken by dl_iterate_phdr (a futex only when contended) and, once per
 * process, glibc's read of the time-zone file for gmtime_r; the clocks are
 * read through the vDSO.  Not async-signal-safe: it never runs in a signal
 * handler (rawdump.h). */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rawdump.h"

struct task_copy {
    struct trt_task_slot slot;
    bool have;
};

/* Copies one task's slot under the registry mutex, then stops the walk. */
static bool copy_one(struct trt__task *t, void *arg)
{
    struct task_copy *c = arg;
    if (c->have)
        return false;
    const struct trt_task_slot *s = t->slot;
    c->slot.id = TRT_LOAD(&s->id);
    c->slot.polls = TRT_LOAD(&s->polls);
    c->slot.poll_end_ns = TRT_LOAD(&s->poll_end_ns);
    c->slot.poll_start_ns = TRT_LOAD(&s->poll_start_ns);
    c->slot.state = TRT_LOAD(&s->state);
    c->slot.tid = TRT_LOAD(&s->tid);
    c->slot.pending_gen = __atomic_load_n(&s->pending_gen, __ATOMIC_ACQUIRE);
    c->slot.traced_gen = TRT_LOAD(&s->traced_gen);
    c->slot.flags = TRT_LOAD(&s->flags);
    c->slot.traced_records = TRT_LOAD(&s->traced_records);
    c->slot.spawn_pc = TRT_LOAD(&s->spawn_pc);
    /* The name is written under the same mutex. */
    memcpy(c->slot.name, s->name, sizeof(c->slot.name));
    c->slot.name[sizeof(c->slot.name) - 1] = '\0';
    c->have = true;
    return true;
}

/* The captures a task's slot says its traced poll of `gen` wrote, or
 * UINT64_MAX when it has not reported (a poll may be writing them). */
static uint64_t task_want(const struct trt_task_slot *s, uint32_t gen)
{
    return s->traced_gen == gen && s->pending_gen != gen ? s->traced_records : UINT64_MAX;
}

/* What one dump knows before it writes its first byte, and what it
 * counts while it writes. */
struct dump_state {
    uint32_t gen;
    struct trt__stack_search search;
    uint64_t torn;
    uint64_t fork_ns;
    uint64_t now_coarse;
    struct timespec taken;
    bool gen_done;
    uint64_t owing; /* tasks that did not report, when not gen_done */
    uint32_t ring_errno;
    bool ring_short; /* the ring could not be enlarged for this generation */
    bool complete;
    uint64_t listed; /* tasks written */
};

/* The id, name and state of task s, up to "suspect". */
static void out_task_state(struct trt__out *o, const struct dump_state *d,
                           const struct trt_task_slot *s, bool reported)
{
    trt__out_u64(o, s->id);
    trt__out_text(o, ",\"name\":");
    trt__out_string(o, s->name, strnlen(s->name, sizeof(s->name)));
    trt__out_text(o, ",\"state\":\"");
    trt__out_text(o, trt_task_state_name(s->state));
    trt__out_text(o, "\",\"polls\":");
    trt__out_u64(o, s->polls);
    trt__out_text(o, ",\"idle_ns\":");
    if (s->poll_end_ns == 0)
        trt__out_text(o, "null");
    else
        trt__out_u64(o, d->now_coarse > s->poll_end_ns ? d->now_coarse - s->poll_end_ns : 0);
    trt__out_text(o, ",\"tid\":");
    if (s->state == TRT_TASK_POLLING && s->tid > 0)
        trt__out_u64(o, (uint64_t)s->tid);
    else
        trt__out_text(o, "null");
    trt__out_text(o, reported ? ",\"reported\":true" : ",\"reported\":false");
    trt__out_text(o, reported && (s->flags & TRT_TASK_F_SUSPECT) ? ",\"suspect\":true"
                                                                 : ",\"suspect\":false");
}

/* The stacks of task s and what is known of them, "stacks" to
 * "stacks_lost". */
static void out_task_stacks(struct trt__out *o, struct dump_state *d, const struct trt_task_slot *s,
                            bool reported)
{
    /* Static: 36 KiB, too much for the doorbell's stack; one raw dump is
     * written at a time. */
    static struct trt__task_stacks ts;
    trt__out_text(o, ",\"stacks\":");
    bool truncated = trt__stacks_write(o, &d->search, d->gen, s->id, task_want(s, d->gen), &ts);
    trt__out_text(o, truncated ? ",\"truncated\":true" : ",\"truncated\":false");
    bool inherited =
        (s->flags & TRT_TASK_F_INHERITED) && d->fork_ns != 0 && s->poll_end_ns <= d->fork_ns;
    trt__out_text(o, inherited ? ",\"inherited\":true" : ",\"inherited\":false");
    trt__stacks_write_counts(o, &ts);
    /* Fewer captures read than its traced poll wrote: some were lost. */
    trt__out_text(o, reported && ts.read < s->traced_records ? ",\"stacks_lost\":true"
                                                             : ",\"stacks_lost\":false");
}

/* Where task s was spawned and what it is doing now, "spawned_at" to the
 * end of the task. */
static void out_task_where(struct trt__out *o, const struct dump_state *d,
                           const struct trt_task_slot *s)
{
    trt__out_text(o, ",\"spawned_at\":");
    if ((s->flags & TRT_TASK_F_SPAWN_PC) && s->spawn_pc)
        trt__modules_write_frame(o, s->spawn_pc);
    else
        trt__out_text(o, "null");
    trt__out_text(o, ",\"poll_ns\":");
    if (s->state == TRT_TASK_POLLING && s->poll_start_ns != 0 && d->now_coarse > s->poll_start_ns)
        trt__out_u64(o, d->now_coarse - s->poll_start_ns);
    else
        trt__out_text(o, "null");
    trt__out_text(o, ",\"thread_name\":null,\"thread_stack\":null,\"thread_stack_error\":");
    trt__out_text(o, s->state == TRT_TASK_POLLING ? "\"not read: a dump from inside the process "
                                                    "reads no thread's stack\"}"
                                                  : "null}");
}

static void out_task(struct trt__out *o, struct dump_state *d, const struct trt_task_slot *s,
                     bool *first)
{
    bool reported = s->traced_gen == d->gen && s->pending_gen != d->gen;
    bool owing = s->pending_gen == d->gen;
    /* Tasks created after the generation began, and tasks done before it,
     * are not part of it. */
    if (!reported && !owing)
        return;
    trt__out_text(o, *first ? "{\"id\":" : ",{\"id\":");
    *first = false;
    out_task_state(o, d, s, reported);
    out_task_stacks(o, d, s, reported);
    d->listed++;
    out_task_where(o, d, s);
}

/* Makes once, writing nothing, the searches the tasks' stacks will take:
 * whether they all fit TRT__VISIT_MAX is said at the top of the document
 * (cap_records). */
static void plan_searches(struct dump_state *d)
{
    uint32_t cursor = 0;
    d->search.visit_max = TRT__VISIT_MAX;
    while (d->search.ring.r && cursor != UINT32_MAX && !d->search.cap_records) {
        struct task_copy c;
        memset(&c, 0, sizeof(c));
        trt__registry_walk(&cursor, copy_one, &c);
        bool part = c.have && (c.slot.traced_gen == d->gen || c.slot.pending_gen == d->gen);
        if (part)
            trt__stacks_search(&d->search, d->gen, c.slot.id, task_want(&c.slot, d->gen));
    }
}

/* Everything that makes the dump incomplete is known before the first
 * task is written: whether the generation finished, and what the ring
 * lost or holds torn (one pass over it), or more than one dump reads. */
static void dump_prepare(struct dump_state *d, uint32_t gen)
{
    memset(d, 0, sizeof(*d));
    d->gen = gen;
    trt__modules_load();
    trt__ring_reader_open(&d->search.ring, gen);
    d->fork_ns = TRT_LOAD(&tasktrace_control.fork_ns);
    d->now_coarse = trt__now_coarse_ns();
    clock_gettime(CLOCK_REALTIME, &d->taken);
    uint32_t done = __atomic_load_n(&tasktrace_control.done, __ATOMIC_ACQUIRE);
    d->gen_done = (int32_t)(done - gen) >= 0;
    uint64_t pending = __atomic_load_n(&tasktrace_control.gen_pending, __ATOMIC_ACQUIRE);
    d->owing = !d->gen_done && (uint32_t)(pending >> 32) == gen ? (uint32_t)pending : 0;
    d->torn = trt__ring_reader_torn(&d->search.ring);
    plan_searches(d);
    /* Writing makes the same searches.  A generation that is done takes
     * no more captures, and only this thread starts another, so they find
     * what the first pass found; one that is not done is said incomplete
     * already, and its late captures, which may move records, get twice
     * the budget before cap_records. */
    d->search.visits = 0;
    d->search.visit_max = 2 * TRT__VISIT_MAX;
    d->search.cursor = 0;
    d->ring_errno = TRT_LOAD(&tasktrace_control.ring_errno);
    d->ring_short = d->ring_errno && TRT_LOAD(&tasktrace_control.ring_errno_gen) == gen;
    d->complete =
        d->gen_done && !d->ring_short && !d->search.ring.lost && !d->torn && !d->search.cap_records;
}

/* Every task of the generation, copied one at a time from the registry
 * and written with no lock held. */
static void out_tasks(struct trt__out *o, struct dump_state *d)
{
    bool first = true;
    uint32_t cursor = 0;
    while (cursor != UINT32_MAX && o->err == 0) {
        struct task_copy c;
        memset(&c, 0, sizeof(c));
        trt__registry_walk(&cursor, copy_one, &c);
        if (c.have)
            out_task(o, d, &c.slot, &first);
    }
}

static void out_problem(struct trt__out *o, bool *first, const char *cause, const char *m1,
                        uint64_t n, const char *m2)
{
    trt__out_text(o, *first ? "{\"cause\":\"" : ",{\"cause\":\"");
    *first = false;
    trt__out_text(o, cause);
    trt__out_text(o, "\",\"message\":\"");
    trt__out_text(o, m1);
    if (m2) {
        trt__out_u64(o, n);
        trt__out_text(o, m2);
    }
}

/* The entries of "problems": every way this dump is incomplete. */
static void out_problems(struct trt__out *o, const struct dump_state *d, uint64_t waited_ms)
{
    bool first = true;
    if (!d->gen_done) {
        out_problem(o, &first, "timeout", "timed out after ", waited_ms, " ms: ");
        trt__out_u64(o, d->owing);
        trt__out_text(o, " of ");
        trt__out_u64(o, TRT_LOAD(&tasktrace_control.gen_tasks));
        trt__out_text(o, " tasks did not report (reported false); their executor did not poll "
                         "them after the wake-up (is it blocked or busy?)\"}");
    }
    if (d->ring_short)
        out_problem(o, &first, "ring",
                    "the runtime could not map a large enough capture "
                    "ring (errno ",
                    d->ring_errno, "): stacks may be missing\"}");
    if (d->search.ring.lost)
        out_problem(o, &first, "records_lost", "", d->search.ring.lost,
                    " captured stacks were overwritten in the ring\"}");
    if (d->torn)
        out_problem(o, &first, "records_torn", "", d->torn,
                    " captured stacks could not be read whole\"}");
    if (d->search.cap_records)
        out_problem(o, &first, "cap_records",
                    "the ring holds more records than one dump "
                    "reads: the stacks of some tasks were left out\"}",
                    0, NULL);
}

int trt__rawdump_write(uint32_t gen, uint64_t waited_ms, const struct trt__dump_dest *dest)
{
    static struct trt__out o;
    struct dump_state d;
    trt__out_begin(&o, dest);
    dump_prepare(&d, gen);
    trt__out_text(&o, "{\"version\":1,\"pid\":");
    trt__out_u64(&o, (uint64_t)getpid());
    trt__out_text(&o, d.complete ? ",\"complete\":true" : ",\"complete\":false");
    trt__out_text(&o, ",\"generation\":");
    trt__out_u64(&o, gen);
    trt__out_text(&o, ",\"records_lost\":");
    trt__out_u64(&o, d.search.ring.lost);
    trt__out_text(&o, ",\"tasks\":[");
    out_tasks(&o, &d);
    trt__out_text(&o, "],\"records_torn\":");
    trt__out_u64(&o, d.torn);
    trt__out_text(&o, ",\"problems\":[");
    out_problems(&o, &d, waited_ms);
    trt__out_text(&o, "],\"passive\":false,\"threads\":null,\"taken_at\":");
    trt__out_time(&o, &d.taken);
    trt__out_text(&o, ",\"tasks_total\":");
    trt__out_u64(&o, d.listed);
    trt__out_text(&o, ",\"groups\":null,\"modules\":");
    trt__modules_write_used(&o);
    trt__out_text(&o, ",\"raw\":true}\n");
    trt__out_flush(&o);
    if (o.err)
        return o.err;
    return d.complete ? 0 : 1;
}
