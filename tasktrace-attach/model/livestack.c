/* The live stacks of the threads inside a poll, and of every thread with
 * --threads.  See livestack.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tasktrace/clock.h>

#include "model/dump.h"
#include "model/livestack.h"
#include "model/tree.h"
#include "model/trim.h"
#include "symbols/unwind.h"

/* A polling slot of the registry, where it lives, and the copy that the
 * thread's stop is checked against. */
struct livestack_slot {
    uint64_t id;
    pid_t nstid;    /* the slot's tid: an id of the target's PID namespace */
    pid_t tid;      /* the same thread in this tool's namespace; 0 if gone */
    uint64_t addr;  /* 0: not found in the registry any more */
    uint64_t polls; /* the task's poll count when the dump read it */
    struct trt_task_slot before;
    struct trt_task_slot after; /* as read after the stop (id 0: unread) */
    bool ok;                    /* the same poll before and after the stop */
    bool left;                  /* the task left that poll meanwhile: it is not stuck, and
                  its poll's end reported it like any other's */
    bool reread_failed;         /* the slot could not be read after the stop */
};

/* Finds the address of each wanted slot by id, reading the registry at
 * ADDR chunk by chunk (its header checked as target/rtread.c does).
 * Slots not found keep addr 0.  Returns 0, -ENOMEM, or a proc_read error. */
static int livestack_locate(struct proc_target *t, uint64_t addr, struct livestack_slot *ls,
                            size_t n)
{
    struct trt_registry reg;
    int err = proc_read(t, addr, &reg, sizeof(reg));
    if (err < 0)
        return err;
    if (reg.magic != TRT_REGISTRY_MAGIC || reg.version != TRT_PROTOCOL_VERSION ||
        reg.size != sizeof(reg) || reg.chunk_slots != TRT_REGISTRY_CHUNK_SLOTS ||
        reg.slot_size != sizeof(struct trt_task_slot) || reg.nchunks > TRT_REGISTRY_MAX_CHUNKS)
        return -EPROTO;
    struct trt_task_slot *chunk = malloc(TRT_REGISTRY_CHUNK_SLOTS * sizeof(*chunk));
    if (!chunk)
        return -ENOMEM;
    size_t found = 0;
    for (uint32_t c = 0; c < reg.nchunks && found < n; c++) {
        if (proc_read(t, reg.chunks[c], chunk, TRT_REGISTRY_CHUNK_SLOTS * sizeof(*chunk)) < 0)
            continue;
        for (uint32_t i = 0; i < TRT_REGISTRY_CHUNK_SLOTS; i++) {
            if (chunk[i].id == 0)
                continue;
            for (size_t k = 0; k < n; k++) {
                if (ls[k].id == chunk[i].id && ls[k].addr == 0) {
                    ls[k].addr = reg.chunks[c] + (uint64_t)i * sizeof(*chunk);
                    found++;
                }
            }
        }
    }
    free(chunk);
    return 0;
}

/* Whether the slot at LS->addr shows the task polling on its thread:
 * into LS->before when BEFORE, else compared with it (the same poll:
 * same id, thread, poll count and start). */
static bool livestack_slot_check(struct proc_target *t, struct livestack_slot *ls, bool before)
{
    struct trt_task_slot s;
    if (ls->addr == 0 || proc_read(t, ls->addr, &s, sizeof(s)) < 0) {
        ls->reread_failed = !before && ls->addr != 0;
        return false;
    }
    bool polling = s.id == ls->id && s.state == TRT_TASK_POLLING && s.tid == ls->nstid;
    if (before) {
        ls->before = s;
        ls->after.id = 0;
        return polling;
    }
    ls->after = s;
    return polling && s.polls == ls->before.polls && s.poll_start_ns == ls->before.poll_start_ns;
}

static void livestack_error(char *buf, size_t len, int err)
{
    switch (err) {
    case -ESRCH:
        snprintf(buf, len, "the thread exited");
        break;
    case -EPERM:
        snprintf(buf, len, "the thread could not be stopped: not permitted (another tracer?)");
        break;
    case -ETIMEDOUT:
        snprintf(buf, len, "the thread did not stop within %u ms (uninterruptible sleep?)",
                 THREAD_STOP_WAIT_MS);
        break;
    case -ENOTSUP:
        snprintf(buf, len, "live thread stacks are not supported on this architecture");
        break;
    default:
        snprintf(buf, len, "the thread could not be read: %s", strerror(-err));
        break;
    }
}

int livestack_copy(struct tt_stack *dst, const struct tt_stack *src)
{
    *dst = *src;
    dst->frames = malloc((src->n ? src->n : 1) * sizeof(*dst->frames));
    if (!dst->frames)
        return -ENOMEM;
    if (src->n)
        memcpy(dst->frames, src->frames, src->n * sizeof(*dst->frames));
    return 0;
}

/* The slot read after the stop shows the task's poll over (another poll
 * count, another state): the task was busy, not stuck, and it reports to
 * the dump through that poll's end like any other task.  Its model is
 * brought up to date (not polling, or polling anew without a live stack)
 * and no stack is owed.  A slot that could not be read again (the process
 * exited, or the registry changed) proves nothing: returns false then. */
static bool livestack_left_poll(struct livestack_slot *ls, struct tt_task *task)
{
    const struct trt_task_slot *s = &ls->after;
    /* The poll count rises as each poll ends: a higher one than the dump
     * saw is a poll that ended. */
    if (s->id != ls->id || (int64_t)(s->polls - ls->polls) <= 0)
        return false;
    ls->left = true;
    free(task->thread_error);
    task->thread_error = NULL;
    task->polls = s->polls;
    if (s->state == TRT_TASK_POLLING) {
        task->tid = s->tid;
        uint64_t now = trt_clock_ns(CLOCK_MONOTONIC_COARSE);
        task->poll_ns =
            s->poll_start_ns && now > s->poll_start_ns ? (int64_t)(now - s->poll_start_ns) : -1;
        return true;
    }
    task->state = s->state;
    task->tid = 0;
    task->poll_ns = -1;
    if (s->poll_end_ns) {
        uint64_t now = trt_clock_ns(CLOCK_MONOTONIC_COARSE);
        task->idle_ns = now > s->poll_end_ns ? (int64_t)(now - s->poll_end_ns) : 0;
    }
    return true;
}

struct livestack_run {
    struct tt_dump *d;
    struct proc_target *t;
    lookup_ctx *sym;
    unwind_ctx *uw;     /* NULL when the unwinder could not be set up */
    char uw_error[128]; /* why, then */
    const struct livestack_opts *o;
    struct livestack_stats *st;
    struct thread_buf buf;
    struct livestack_slot *ls; /* every polling slot */
    size_t nls;
};

/* thread_capture, retried while another instance of this tool holds the
 * thread: it does so for microseconds (a dump of its own), and the
 * thread is not at fault.  A tracer already gone when looked at was such
 * a hold too.  On a loaded machine that tool may be off the CPU while it
 * holds the thread, and its watchdog bounds the hold at 500 ms: up to
 * 1,000 tries, 1 to 2 ms apart (past that bound), never past the
 * deadline. */
static int livestack_capture(struct livestack_run *r, pid_t tid, struct thread_snap *snap)
{
    char self[64] = "";
    proc_thread_comm(getpid(), 0, self, sizeof(self));
    unsigned seed = (unsigned)getpid() ^ (unsigned)tid;
    for (int attempt = 0;; attempt++) {
        int err = thread_capture(r->t->pid, tid, r->o->hold_ms, &r->buf, snap);
        if (err != -EPERM || attempt == 1000 ||
            (r->o->deadline_ns && trt_clock_ns(CLOCK_MONOTONIC) >= r->o->deadline_ns))
            return err;
        /* The tracer read here is the one judged: read again, it may
         * already have let go (0), which is a hold that ended, not
         * another debugger. */
        pid_t tracer = proc_tracer(r->t->pid, tid);
        char name[64];
        if (tracer < 0 || (tracer > 0 && proc_thread_comm(tracer, 0, name, sizeof(name)) == 0 &&
                           strcmp(name, self) != 0))
            return err;
        seed = seed * 1103515245u + 12345u;
        struct timespec ts = {0, 1000000 + (long)(seed >> 8) % 1000000};
        nanosleep(&ts, NULL);
    }
}

/* Notes which polling slots name thread TID, each read before the stop
 * (ok: still in its poll).  Returns whether any does. */
static bool livestack_slots_before(struct livestack_run *r, pid_t tid)
{
    bool any = false;
    for (size_t k = 0; k < r->nls; k++)
        if (r->ls[k].tid == tid) {
            r->ls[k].ok = livestack_slot_check(r->t, &r->ls[k], true);
            any = true;
        }
    return any;
}

/* Stops TID once and unwinds it into STACK, or says in ERROR (LIVESTACK_ERROR_LEN bytes)
 * why it has none: no unwinder, no time left, a thread in uninterruptible
 * sleep, a stop or an unwind that failed.  Records the stop in the
 * stats.  Returns 0 or -ENOMEM. */
static int livestack_read(struct livestack_run *r, pid_t tid, struct tt_stack *stack, char *error)
{
    /* A thread in uninterruptible sleep would not stop until it leaves it
     * (and would stay seized, then stopped, until this tool let it go):
     * it is not tried.  One entering it right after this read costs the
     * stop's timeout. */
    struct thread_info info;
    bool asleep = thread_read_info(r->t->pid, tid, &info) == 0 && info.state == 'D';
    if (!r->uw) {
        snprintf(error, LIVESTACK_ERROR_LEN, "%s", r->uw_error);
        return 0;
    }
    if (r->o->deadline_ns && trt_clock_ns(CLOCK_MONOTONIC) >= r->o->deadline_ns) {
        snprintf(error, LIVESTACK_ERROR_LEN, "not read: the time for thread stacks ran out");
        if (r->st->out_of_time < LIVESTACK_MAX_UNREAD)
            r->st->unread[r->st->out_of_time] = tid;
        r->st->out_of_time++;
        return 0;
    }
    if (asleep) {
        snprintf(error, LIVESTACK_ERROR_LEN, "in uninterruptible sleep%s%s: not stopped",
                 info.wchan[0] ? " in " : "", info.wchan);
        return 0;
    }
    struct thread_snap snap;
    int cerr = livestack_capture(r, tid, &snap);
    if (snap.stopped_ns && r->st->nstops < LIVESTACK_MAX_STOPS) {
        r->st->held_ns[r->st->nstops] = snap.held_ns;
        r->st->stop_ns[r->st->nstops++] = snap.stopped_ns;
    }
    if (cerr < 0) {
        livestack_error(error, LIVESTACK_ERROR_LEN, cerr);
        return 0;
    }
    char why[128] = "";
    int uerr = unwind_stack(r->uw, r->sym, &snap, stack, why, sizeof(why));
    if (uerr == -ENOMEM)
        return uerr;
    if (uerr < 0)
        snprintf(error, LIVESTACK_ERROR_LEN, "%s", why);
    return 0;
}

int livestack_give(struct tt_task *task, pid_t tid, const struct tt_stack *stack, const char *error,
                   bool in_poll)
{
    if (error[0])
        dump_task_error(task, "%s", error);
    else if (!in_poll)
        dump_task_error(task,
                        "the stack of thread %d shows no task poll: the thread that polled "
                        "the task exited, and its id is another thread's",
                        (int)tid);
    else if (!task->has_thread_stack) { /* the same thread seen twice: the first stays */
        int err = livestack_copy(&task->thread_stack, stack);
        if (err < 0)
            return err;
        task->has_thread_stack = true;
    }
    return 0;
}

bool livestack_in_poll(const struct tt_stack *stack)
{
    bool in_poll = stack->truncated; /* the wrapper may be past the cut */
    for (size_t i = 0; i < stack->n && !in_poll; i++)
        in_poll = stack->frames[i] && tree_frame_is_wrapper(stack->frames[i]);
    return in_poll;
}

/* Gives TASK, polling on thread TID in slot LS (SAME: the same poll
 * before and after the stop), the thread's STACK, or the reason it gets
 * none: ERROR, a poll it left, a slot not read again, a stack outside
 * any poll (IN_POLL false).  Returns 0 or -ENOMEM. */
static int livestack_give_task(struct livestack_slot *ls, struct tt_task *task, pid_t tid,
                               bool same, const struct tt_stack *stack, const char *error,
                               bool in_poll)
{
    if (ls->before.id == ls->id && ls->before.state == TRT_TASK_POLLING &&
        ls->before.poll_start_ns != 0) {
        uint64_t now = trt_clock_ns(CLOCK_MONOTONIC_COARSE);
        task->poll_ns =
            now > ls->before.poll_start_ns ? (int64_t)(now - ls->before.poll_start_ns) : 0;
    }
    if (!same && livestack_left_poll(ls, task))
        return 0;
    if (!same && ls->reread_failed)
        dump_task_error(task,
                        "the task's slot could not be read again after thread %d was "
                        "stopped",
                        (int)tid);
    else if (!same)
        dump_task_error(task, "the task left its poll on thread %d before its stack was read",
                        (int)tid);
    else
        return livestack_give(task, tid, stack, error, in_poll);
    return 0;
}

/* Hands thread TID's STACK (or ERROR) to the tasks of the dump whose
 * slots name TID, each slot checked after the stop: a thread that moved
 * on to other work meanwhile must not be shown as a task's.  Returns 0
 * or -ENOMEM. */
static int livestack_give_tasks(struct livestack_run *r, pid_t tid, const struct tt_stack *stack,
                                const char *error, bool in_poll)
{
    for (size_t k = 0; k < r->nls; k++) {
        struct livestack_slot *ls = &r->ls[k];
        if (ls->tid != tid)
            continue;
        bool same = livestack_slot_check(r->t, ls, false) && ls->ok;
        ls->ok = same;
        for (size_t i = 0; i < r->d->ntasks; i++) {
            struct tt_task *task = &r->d->tasks[i];
            if (task->id != ls->id || task->state != TRT_TASK_POLLING)
                continue;
            int err = livestack_give_task(ls, task, tid, same, stack, error, in_poll);
            if (err < 0)
                return err;
        }
    }
    return 0;
}

/* Gives the --threads entry THREAD of TID its STACK or ERROR, and the
 * task it polls: a slot that names TID through the stop, when the stack
 * shows a poll (or could not be read).  Returns 0 or -ENOMEM. */
static int livestack_give_thread(struct livestack_run *r, pid_t tid, struct tt_thread *thread,
                                 const struct tt_stack *stack, const char *error, bool in_poll)
{
    if (error[0]) {
        snprintf(thread->error, sizeof(thread->error), "%s", error);
    } else {
        int err = livestack_copy(&thread->stack, stack);
        if (err < 0)
            return err;
        thread->has_stack = true;
    }
    for (size_t k = 0; k < r->nls; k++)
        if (r->ls[k].tid == tid && r->ls[k].ok && (in_poll || error[0]))
            thread->task = r->ls[k].id;
    return 0;
}

/* Stops TID once, unwinds it, and hands the stack to the tasks it polls
 * (when their slot shows the same poll before and after) and, when
 * THREAD is not NULL, to that --threads entry.  Returns 0 or -ENOMEM. */
static int livestack_thread(struct livestack_run *r, pid_t tid, struct tt_thread *thread)
{
    struct tt_stack stack = {0};
    char error[LIVESTACK_ERROR_LEN] = "";
    bool any = livestack_slots_before(r, tid);
    int err = livestack_read(r, tid, &stack, error);
    if (err < 0)
        return err;
    bool in_poll = livestack_in_poll(&stack);
    if (any && (err = livestack_give_tasks(r, tid, &stack, error, in_poll)) < 0)
        goto out;
    if (thread)
        err = livestack_give_thread(r, tid, thread, &stack, error, in_poll);
out:
    free(stack.frames);
    return err;
}

static int pid_cmp(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return x < y ? -1 : x > y;
}

/* Every polling slot of SLOTS into R->ls, whether or not its task is in
 * the dump (with --threads a thread names the task it polls), with its
 * thread's id in this tool's namespace. */
static void livestack_slots(struct livestack_run *r, const struct trt_task_slot *slots,
                            size_t nslots)
{
    for (size_t i = 0; i < nslots; i++) {
        if (slots[i].state != TRT_TASK_POLLING || slots[i].tid <= 0)
            continue;
        struct livestack_slot *ls = &r->ls[r->nls++];
        *ls = (struct livestack_slot){
            .id = slots[i].id, .nstid = slots[i].tid, .polls = slots[i].polls};
        /* The runtime publishes the thread's id in its own namespace. */
        if (proc_thread_from_ns(r->t->pid, ls->nstid, &ls->tid) < 0)
            ls->tid = 0;
    }
}

/* The threads polling the dump's polling tasks, as their slots name
 * them, into TIDS (room for d->ntasks, repeats allowed).  Returns how
 * many. */
static size_t livestack_polling_tids(const struct livestack_run *r, pid_t *tids)
{
    const struct tt_dump *d = r->d;
    size_t ntids = 0;
    for (size_t i = 0; i < d->ntasks; i++) {
        const struct tt_task *task = &d->tasks[i];
        if (task->state != TRT_TASK_POLLING)
            continue;
        for (size_t k = 0; k < r->nls; k++)
            if (r->ls[k].id == task->id && r->ls[k].nstid == task->tid && r->ls[k].tid > 0 &&
                ntids < d->ntasks)
                tids[ntids++] = r->ls[k].tid;
    }
    return ntids;
}

/* --threads: lists the process's threads into ALL (room for
 * THREAD_LIST_MAX), the first THREAD_LIST_MAX of them (*KEPT) into
 * d->threads, and stops and reads each once.  Returns 0 or -ENOMEM. */
static int livestack_list_threads(struct livestack_run *r, pid_t *all, size_t *kept)
{
    struct tt_dump *d = r->d;
    pid_t pid = r->t->pid;
    long n = thread_list(pid, all, THREAD_LIST_MAX);
    d->threads_listed = true;
    /* A process gone meanwhile has no threads to list. */
    r->st->threads_total = n < 0 ? 0 : (size_t)n;
    *kept = n < 0 ? 0 : (size_t)n < THREAD_LIST_MAX ? (size_t)n : THREAD_LIST_MAX;
    d->threads = calloc(*kept ? *kept : 1, sizeof(*d->threads));
    if (!d->threads)
        return -ENOMEM;
    for (size_t i = 0; i < *kept; i++) {
        struct tt_thread *th = &d->threads[d->nthreads++];
        th->tid = all[i];
        struct thread_info info;
        if (thread_read_info(pid, all[i], &info) == 0) {
            memcpy(th->name, info.name, sizeof(th->name));
            th->state = info.state;
            memcpy(th->wchan, info.wchan, sizeof(th->wchan));
        }
        int err = livestack_thread(r, all[i], th);
        if (err < 0)
            return err;
    }
    return 0;
}

/* Names the thread of each polling task of the dump, and for each that
 * got no live stack (not one that left its poll: it reported) why, the
 * first in the stats. */
static void livestack_note_tasks(struct livestack_run *r)
{
    struct tt_dump *d = r->d;
    struct livestack_stats *st = r->st;
    for (size_t i = 0; i < d->ntasks; i++) {
        struct tt_task *task = &d->tasks[i];
        if (task->state != TRT_TASK_POLLING)
            continue;
        pid_t host = 0;
        bool left = false;
        for (size_t k = 0; k < r->nls; k++)
            if (r->ls[k].id == task->id) {
                left = left || r->ls[k].left;
                if (r->ls[k].nstid == task->tid)
                    host = r->ls[k].tid;
            }
        if (left)
            continue;
        struct thread_info info;
        if (host > 0 && thread_read_info(r->t->pid, host, &info) == 0)
            memcpy(task->thread_name, info.name, sizeof(task->thread_name));
        if (!task->has_thread_stack) {
            if (!task->thread_error)
                dump_task_error(task, host > 0 ? "its thread was not read"
                                               : "the thread polling it exited (inside the poll)");
            if (st->failed++ == 0)
                snprintf(st->first_error, sizeof(st->first_error), "task %llu: %s",
                         (unsigned long long)task->id,
                         task->thread_error ? task->thread_error : "out of memory");
        }
    }
}

/* A process killed meanwhile takes its threads with it: that is the
 * cause to name, not each task's.  A SIGKILL takes a moment to end a
 * process whose thread this tool just released: up to 100 ms are given
 * to the signs of its end (a dump with a failure only). */
static void livestack_note_exit(pid_t pid, struct livestack_stats *st)
{
    for (int look = 0; st->failed && !st->exited && look < 20; look++) {
        st->exited = proc_exiting(pid);
        if (!st->exited) {
            struct timespec nap = {0, 5000000};
            nanosleep(&nap, NULL);
        }
    }
}

int livestack_fill(struct tt_dump *d, struct proc_target *t, Dwfl *dwfl, lookup_ctx *sym,
                   uint64_t registry_addr, const struct trt_task_slot *slots, size_t nslots,
                   const struct livestack_opts *o, struct livestack_stats *st)
{
    struct livestack_run r = {.d = d, .t = t, .sym = sym, .o = o, .st = st};
    pid_t *tids = NULL, *all = NULL;
    int err = 0;
    memset(st, 0, sizeof(*st));
    r.ls = calloc(nslots ? nslots : 1, sizeof(*r.ls));
    tids = calloc(d->ntasks ? d->ntasks : 1, sizeof(*tids));
    if (!r.ls || !tids) {
        err = -ENOMEM;
        goto out;
    }
    livestack_slots(&r, slots, nslots);
    size_t ntids = livestack_polling_tids(&r, tids);
    if (ntids == 0 && !o->threads)
        goto out;
    if (r.nls && (err = livestack_locate(t, registry_addr, r.ls, r.nls)) == -ENOMEM)
        goto out;
    err = 0;
    if ((err = thread_buf_init(&r.buf)) < 0)
        goto out;
    int uerr;
    r.uw = unwind_new(dwfl, t, &uerr, r.uw_error, sizeof(r.uw_error));
    if (!r.uw && uerr == -ENOMEM) {
        err = uerr;
        goto out;
    }
    /* With --threads, every thread (the polling ones included), each
     * stopped once; then the polling threads that list did not hold. */
    size_t kept = 0;
    if (o->threads) {
        all = calloc(THREAD_LIST_MAX, sizeof(*all));
        err = all ? livestack_list_threads(&r, all, &kept) : -ENOMEM;
        if (err < 0)
            goto out;
    }
    qsort(tids, ntids, sizeof(*tids), pid_cmp);
    for (size_t i = 0; i < ntids; i++) {
        if ((i > 0 && tids[i] == tids[i - 1]) ||
            (kept && bsearch(&tids[i], all, kept, sizeof(*all), pid_cmp)))
            continue;
        if ((err = livestack_thread(&r, tids[i], NULL)) < 0)
            goto out;
    }
    livestack_note_tasks(&r);
    livestack_note_exit(t->pid, st);
out:
    st->late = thread_release_late(50);
    unwind_free(r.uw);
    thread_buf_free(&r.buf);
    free(r.ls);
    free(tids);
    free(all);
    return err;
}

/* A library function's public name from its internal one: "__libc_read"
 * and "__GI___libc_read" read "read", "___pthread_mutex_lock"
 * "pthread_mutex_lock"; a "+0x..." offset is dropped. */
static void livestack_public_name(const char *fn, char *buf, size_t len)
{
    size_t n = strcspn(fn, "+");
    for (;;) {
        size_t skip = 0;
        while (skip < n && fn[skip] == '_')
            skip++;
        if (n - skip > 3 && strncmp(fn + skip, "GI_", 3) == 0)
            skip += 3;
        else if (skip > 0 && n - skip > 5 && strncmp(fn + skip, "libc_", 5) == 0)
            skip += 5;
        if (skip == 0 || skip == n)
            break;
        fn += skip;
        n -= skip;
    }
    snprintf(buf, len, "%.*s", (int)n, fn);
}

const char *livestack_where(const struct tt_task *task, char *buf, size_t len)
{
    const struct tt_stack *st = &task->thread_stack;
    const struct frame *pick = NULL;
    buf[0] = '\0';
    if (!task->has_thread_stack || st->n == 0)
        return NULL;
    const struct frame **f = malloc(st->n * sizeof(*f));
    if (!f)
        return NULL;
    size_t n = trim_live_stack(st, false, f);
    /* Inside a library the task's code called (libc's read, a mutex): the
     * function it called, the outermost of that library's frames.  Inside
     * the task's own code (a busy loop): the innermost named function. */
    const char *inner_mod = n ? f[n - 1]->module : NULL;
    bool library = inner_mod && f[0]->module && strcmp(inner_mod, f[0]->module) != 0;
    for (size_t i = n; i-- > 0;) {
        if (library && (!f[i]->module || strcmp(f[i]->module, inner_mod) != 0))
            break;
        if (f[i]->function && !f[i]->inlined && (library || !pick))
            pick = f[i];
    }
    if (pick)
        livestack_public_name(pick->function, buf, len);
    free(f);
    return pick ? buf : NULL;
}
