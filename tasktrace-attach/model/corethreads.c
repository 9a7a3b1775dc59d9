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

/* Whether STACK goes through a task's poll: only a stack through the task
 * wrapper is inside one (a slot may name a thread that left it, or whose
 * id another thread has since), as livestack.c decides. */
static bool corethreads_in_poll(const struct tt_stack *stack)
{
    bool in = stack->truncated; /* the wrapper may be past the cut */
    for (size_t i = 0; i < stack->n && !in; i++)
        in = stack->frames[i] && tree_frame_is_wrapper(stack->frames[i]);
    return in;
}

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
    if (s != NULL && have_stack && corethreads_in_poll(stack)) {
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

int corethreads_fill(struct tt_dump *d, struct core_file *c, Dwfl *dwfl, lookup_ctx *sym,
                     const struct trt_task_slot *slots, size_t nslots, bool threads, bool raw,
                     struct corethreads_stats *st)
{
    char uw_error[128] = "";
    int err = 0, uerr = 0;
    memset(st, 0, sizeof(*st));
    bool crash = core_signal_fatal(c->signo) && c->threads[0].cursig == c->signo;
    unwind_ctx *uw =
        unwind_new_reader(dwfl, c->pid, core_read, c, &uerr, uw_error, sizeof(uw_error));
    if (!uw && uerr == -ENOMEM)
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
        struct tt_stack stack = {0};
        char error[128] = "";
        if (!uw) {
            snprintf(error, sizeof(error), "%s", uw_error);
        } else {
            char why[128] = "";
            int e = unwind_stack(uw, sym, &ct->regs, &stack, why, sizeof(why));
            if (e == -ENOMEM) {
                err = e;
                goto out;
            }
            if (e < 0)
                snprintf(error, sizeof(error), "%s", why);
        }
        bool in_poll = !error[0] && corethreads_in_poll(&stack);
        for (size_t t = 0; t < d->ntasks; t++) {
            struct tt_task *task = &d->tasks[t];
            if (task->state != TRT_TASK_POLLING || task->tid != ct->tid || task->has_thread_stack)
                continue;
            if (error[0])
                dump_task_error(task, "%s", error);
            else if (!in_poll)
                dump_task_error(task,
                                "the stack of thread %d shows no task poll: the thread that polled "
                                "the task exited, and its id is another thread's",
                                (int)ct->tid);
            else if ((err = livestack_copy(&task->thread_stack, &stack)) < 0)
                goto next;
            else
                task->has_thread_stack = true;
        }
        if (listed) {
            struct tt_thread *th = &d->threads[d->nthreads++];
            th->tid = ct->tid;
            const struct trt_task_slot *s = corethreads_slot(slots, nslots, ct->tid);
            if (s && (in_poll || error[0]))
                th->task = s->id;
            if (error[0])
                snprintf(th->error, sizeof(th->error), "%s", error);
            else if ((err = livestack_copy(&th->stack, &stack)) < 0)
                goto next;
            else
                th->has_stack = true;
        }
        if (is_crash)
            corethreads_crash(d, c, slots, nslots, &stack, !error[0], raw);
    next:
        free(stack.frames);
        if (err < 0)
            goto out;
    }
    if (crash && !d->has_crash)
        corethreads_crash(d, c, slots, nslots, NULL, false, raw);
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
out:
    unwind_free(uw);
    return err;
}
