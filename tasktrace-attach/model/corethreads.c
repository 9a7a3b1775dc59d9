/* The threads of a core: their stacks under the tasks they polled, and the
 * crash.  See corethreads.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/corethreads.h"
#include "model/dump.h"
#include "model/livestack.h"
#include "model/tree.h"
#include "model/trim.h"
#include "symbols/unwind.h"

/* The polling slot that names thread TID, or NULL. */
static const struct trt_task_slot *corethreads_slot(const struct trt_task_slot *slots, size_t n,
                                                    pid_t tid)
{
    for (size_t i = 0; i < n; i++)
        if (slots[i].state == TRT_TASK_POLLING && slots[i].tid == tid && tid > 0)
            return &slots[i];
    return NULL;
}

/* Whether any polling task of D runs on TID. */
static bool corethreads_wanted(const struct tt_dump *d, pid_t tid)
{
    for (size_t i = 0; i < d->ntasks; i++)
        if (d->tasks[i].state == TRT_TASK_POLLING && d->tasks[i].tid == tid)
            return true;
    return false;
}

/* The crash: the signal, the thread, the task whose poll it struck (its
 * slot names the thread and the stack goes through the wrapper), and the
 * innermost frame of the stack as it is shown. */
static void corethreads_crash(struct tt_dump *d, const struct core_file *c,
                              const struct trt_task_slot *slots, size_t nslots,
                              const struct tt_stack *stack, bool have_stack, bool raw)
{
    struct tt_crash *k = &d->crash;
    d->has_crash = true;
    k->signo = c->signo;
    k->signal = core_signal_name(c->signo);
    k->code = c->have_siginfo ? c->sigcode : 0;
    k->has_addr = c->have_siginfo && c->has_sigaddr;
    k->addr = c->sigaddr;
    k->thread = c->threads[0].tid;
    const struct trt_task_slot *s = corethreads_slot(slots, nslots, c->threads[0].tid);
    if (s != NULL && have_stack && livestack_in_poll(stack)) {
        k->task = s->id;
        snprintf(k->task_name, sizeof(k->task_name), "%.*s", (int)sizeof(s->name), s->name);
    }
    if (have_stack && stack->n > 0) {
        const struct frame **f = malloc(stack->n * sizeof(*f));
        if (f != NULL) {
            size_t n = trim_live_stack(stack, raw, f);
            k->frame = n > 0 ? f[n - 1] : stack->frames[stack->n - 1];
            free(f);
        }
    }
}

/* What reading one thread of a core needs. */
struct corethreads_run {
    struct tt_dump *d;
    const struct core_file *c;
    unwind_ctx *uw;     /* NULL when the unwinder could not be set up */
    char uw_error[128]; /* why, then */
    lookup_ctx *sym;
    const struct trt_task_slot *slots;
    size_t nslots;
    bool raw;
};

/* Unwinds core thread CT into STACK, or says in ERROR (LIVESTACK_ERROR_LEN bytes) why it
 * has none.  Returns 0 or -ENOMEM. */
static int corethreads_unwind(struct corethreads_run *r, const struct core_thread *ct,
                              struct tt_stack *stack, char *error)
{
    if (!r->uw) {
        snprintf(error, LIVESTACK_ERROR_LEN, "%s", r->uw_error);
        return 0;
    }
    char why[128] = "";
    int e = unwind_stack(r->uw, r->sym, &ct->regs, stack, why, sizeof(why));
    if (e == -ENOMEM)
        return e;
    if (e < 0)
        snprintf(error, LIVESTACK_ERROR_LEN, "%s", why);
    return 0;
}

/* Gives thread TID's STACK (IN_POLL: through a task's poll), or ERROR, to
 * the polling tasks of D that ran on it and have no stack yet.  Returns 0
 * or -ENOMEM. */
static int corethreads_give_tasks(struct tt_dump *d, pid_t tid, const struct tt_stack *stack,
                                  const char *error, bool in_poll)
{
    for (size_t t = 0; t < d->ntasks; t++) {
        struct tt_task *task = &d->tasks[t];
        if (task->state != TRT_TASK_POLLING || task->tid != tid || task->has_thread_stack)
            continue;
        if (livestack_give(task, tid, stack, error, in_poll) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Lists thread TID in d->threads (--threads) with its STACK or ERROR, and
 * the task whose slot names it when the stack shows a poll (or could not
 * be read).  Returns 0 or -ENOMEM. */
static int corethreads_give_thread(struct corethreads_run *r, pid_t tid,
                                   const struct tt_stack *stack, const char *error, bool in_poll)
{
    struct tt_thread *th = &r->d->threads[r->d->nthreads++];
    th->tid = tid;
    const struct trt_task_slot *s = corethreads_slot(r->slots, r->nslots, tid);
    if (s && (in_poll || error[0]))
        th->task = s->id;
    if (error[0])
        snprintf(th->error, sizeof(th->error), "%s", error);
    else if (livestack_copy(&th->stack, stack) < 0)
        return -ENOMEM;
    else
        th->has_stack = true;
    return 0;
}

/* Unwinds core thread CT once and hands its stack to the tasks it polled,
 * to its --threads entry when LISTED, and to the crash when IS_CRASH.
 * Returns 0 or -ENOMEM. */
static int corethreads_thread(struct corethreads_run *r, const struct core_thread *ct, bool listed,
                              bool is_crash)
{
    struct tt_stack stack = {0};
    char error[LIVESTACK_ERROR_LEN] = "";
    int err = corethreads_unwind(r, ct, &stack, error);
    if (err < 0)
        return err;
    bool in_poll = !error[0] && livestack_in_poll(&stack);
    if ((err = corethreads_give_tasks(r->d, ct->tid, &stack, error, in_poll)) < 0 ||
        (listed && (err = corethreads_give_thread(r, ct->tid, &stack, error, in_poll)) < 0))
        goto out;
    if (is_crash)
        corethreads_crash(r->d, r->c, r->slots, r->nslots, &stack, !error[0], r->raw);
out:
    free(stack.frames);
    return err;
}

/* Says why each polling task of D has no stack, the first in ST: a task
 * whose thread the core does not hold was polled by a thread that exited
 * inside the poll. */
static void corethreads_note_tasks(struct tt_dump *d, struct corethreads_stats *st)
{
    for (size_t t = 0; t < d->ntasks; t++) {
        struct tt_task *task = &d->tasks[t];
        if (task->state != TRT_TASK_POLLING || task->has_thread_stack)
            continue;
        if (!task->thread_error)
            dump_task_error(task,
                            "the core holds no thread %d: the thread polling it exited (inside the "
                            "poll)",
                            (int)task->tid);
        if (st->failed++ == 0)
            snprintf(st->first_error, sizeof(st->first_error), "task %llu: %s",
                     (unsigned long long)task->id,
                     task->thread_error ? task->thread_error : "out of memory");
    }
}

int corethreads_fill(struct tt_dump *d, struct core_file *c, Dwfl *dwfl, lookup_ctx *sym,
                     const struct trt_task_slot *slots, size_t nslots, bool threads, bool raw,
                     struct corethreads_stats *st)
{
    struct corethreads_run r = {
        .d = d, .c = c, .sym = sym, .slots = slots, .nslots = nslots, .raw = raw};
    int err = 0, uerr = 0;
    memset(st, 0, sizeof(*st));
    bool crash = core_signal_fatal(c->signo) && c->threads[0].cursig == c->signo;
    r.uw = unwind_new_reader(dwfl, c->pid, core_read, c, &uerr, r.uw_error, sizeof(r.uw_error));
    if (!r.uw && uerr == -ENOMEM)
        return uerr;
    size_t kept = c->nthreads < THREAD_LIST_MAX ? c->nthreads : THREAD_LIST_MAX;
    if (threads) {
        d->threads_listed = true;
        d->threads = calloc(kept ? kept : 1, sizeof(*d->threads));
        if (!d->threads) {
            err = -ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < c->nthreads; i++) {
        const struct core_thread *ct = &c->threads[i];
        bool listed = threads && i < kept;
        bool is_crash = crash && i == 0;
        if (!listed && !is_crash && !corethreads_wanted(d, ct->tid))
            continue;
        if ((err = corethreads_thread(&r, ct, listed, is_crash)) < 0)
            goto out;
    }
    if (crash && !d->has_crash)
        corethreads_crash(d, c, slots, nslots, NULL, false, raw);
    corethreads_note_tasks(d, st);
out:
    unwind_free(r.uw);
    return err;
}
