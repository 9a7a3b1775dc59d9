/* The problems of a dump, added and worded once for every source. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <tasktrace/clock.h>

#include "cli/diag.h"
#include "model/dump.h"
#include "model/livestack.h"
#include "cli/problems.h"
#include "util/duration.h"
#include "util/escape.h"
#include "views/render.h"
#include "target/thread.h"

void problems_registry(struct tt_dump *d, const char *where, const struct rtread_registry *reg)
{
    if (reg->dup_chunks || reg->dup_ids)
        dump_problem(d, "registry_corrupt",
                     "%s: the task registry is corrupt: %u repeated chunk pointers and %llu "
                     "repeated task ids; each task is listed once",
                     where, reg->dup_chunks, (unsigned long long)reg->dup_ids);
    if (reg->cut)
        dump_problem(d, "cap_tasks",
                     "%s: the task registry lists more than %u tasks; %llu were not read", where,
                     RTREAD_MAX_TASKS, (unsigned long long)reg->cut);
}

void problems_thread_stacks(struct tt_dump *d, const char *where, const char *stack, size_t failed,
                            const char *first_error)
{
    char safe[4 * 160 + 1]; /* livestack's and corethreads' first_error, escaped */
    if (failed)
        dump_problem(d, "thread_stack",
                     "%s: the %s of %zu thread%s inside a poll could not be read (%s)", where,
                     stack, failed, failed == 1 ? "" : "s",
                     esc(safe, sizeof(safe), first_error, false));
}

void problems_threads_cap(struct tt_dump *d, const char *where, size_t total)
{
    if (total > THREAD_LIST_MAX)
        dump_problem(d, "cap_threads", "%s has %zu threads; --threads lists the first %u", where,
                     total, THREAD_LIST_MAX);
}

/* Where a task stuck inside a poll is, for a one-line message:
 * `stuck 2.03s in pthread_mutex_lock (thread 4253 "worker-2")`, from its
 * live stack; "" when it is not polling.  FN is scratch space. */
static void task_where(const struct tt_task *t, char *buf, size_t len, char *fn, size_t fnlen)
{
    char dur[DURATION_MAX], thread[4 * 16 + 1], at[4 * 128 + 8] = "";
    buf[0] = '\0';
    if (t->state != TRT_TASK_POLLING)
        return;
    if (livestack_where(t, fn, fnlen)) {
        char safe[4 * 128 + 1];
        snprintf(at, sizeof(at), " in %s", esc_term(safe, sizeof(safe), fn, strlen(fn), false));
    }
    esc_term(thread, sizeof(thread), t->thread_name,
             strnlen(t->thread_name, sizeof(t->thread_name)), true);
    /* A long function name is cut: this is one line of a message. */
    if (snprintf(buf, len, "stuck %s%s (thread %d%s%s%s)", duration_format(t->poll_ns, dur), at,
                 (int)t->tid, thread[0] ? " \"" : "", thread, thread[0] ? "\"" : "") >= (int)len)
        buf[len - 1] = '\0';
}

/* Lists up to 8 tasks of `d` for which `pick` holds, as
 * `1 "name" (state)`, or for a task inside a poll `3 "locker" stuck 2.03s
 * in pthread_mutex_lock (thread 4253 "worker-2")`, names escaped.
 * Returns how many there are. */
static size_t task_list(const struct tt_dump *d, bool (*pick)(const struct tt_task *), char *list,
                        size_t len)
{
    size_t count = 0, used = 0, shown = 0;
    list[0] = '\0';
    for (size_t i = 0; i < d->ntasks; i++) {
        const struct tt_task *t = &d->tasks[i];
        if (!pick(t))
            continue;
        count++;
        if (shown == 8 || used >= len)
            continue;
        char name[4 * TRT_TASK_NAME_MAX + 1], where[200], fn[128];
        esc_term(name, sizeof(name), t->name, strnlen(t->name, sizeof(t->name)), true);
        task_where(t, where, sizeof(where), fn, sizeof(fn));
        int w = where[0]
                    ? snprintf(list + used, len - used, "%s%llu \"%s\" %s", shown ? ", " : "",
                               (unsigned long long)t->id, name, where)
                    : snprintf(list + used, len - used, "%s%llu \"%s\" (%s)", shown ? ", " : "",
                               (unsigned long long)t->id, name, render_state_name(t->state));
        if (w < 0 || (size_t)w >= len - used) {
            list[used] = '\0';
            used = len;
            continue;
        }
        used += (size_t)w;
        shown++;
    }
    if (count > shown && used + 6 < len)
        strcat(list, ", ...");
    return count;
}

static bool missing_inherited(const struct tt_task *t)
{
    return !t->reported && t->inherited;
}

static bool missing_other(const struct tt_task *t)
{
    return !t->reported && !t->inherited;
}

/* Names the tasks that did not report, a few of them: first those that
 * a fork left without an executor, then the others. */
static void report_missing(struct session *ss, bool stopped)
{
    const struct tt_dump *d = &ss->d;
    char list[300], when[64];
    if (interrupted)
        snprintf(when, sizeof(when), "interrupted by %s after %.3g s",
                 interrupted == SIGINT ? "SIGINT" : "SIGTERM",
                 (trt_clock_ns(CLOCK_MONOTONIC) - ss->t_start) / 1e9);
    else
        snprintf(when, sizeof(when), "timed out after %.3g s", ss->o.timeout);
    const char *cause = interrupted ? "interrupted" : "timeout";
    size_t n = task_list(d, missing_inherited, list, sizeof(list));
    if (n > 0)
        dump_problem(&ss->d, cause,
                     "%s: %zu of %zu tasks did not report: %s; they were inherited from the parent "
                     "process at fork and nothing in this process has polled them since",
                     when, n, d->ntasks, list);
    n = task_list(d, missing_other, list, sizeof(list));
    size_t polling = 0;
    for (size_t i = 0; i < d->ntasks; i++)
        polling += missing_other(&d->tasks[i]) && d->tasks[i].state == TRT_TASK_POLLING;
    /* A task inside a poll that never returns cannot be polled again: its
     * executor is not at fault, the poll is. */
    if (n > 0 && polling == n)
        dump_problem(&ss->d, cause,
                     "%s: %zu of %zu tasks did not report: %s; %s stuck inside a poll that has "
                     "not returned%s",
                     when, n, d->ntasks, list, n == 1 ? "it is" : "they are",
                     stopped ? " (the process is stopped: resume it with kill -CONT)" : "");
    else if (n > 0)
        dump_problem(&ss->d, cause,
                     "%s: %zu of %zu tasks did not report: %s; their executor did not poll them "
                     "after the wake-up%s (%s)",
                     when, n, d->ntasks, list, polling ? ", or they are stuck inside a poll" : "",
                     stopped       ? "the process is stopped: resume it with kill -CONT"
                     : interrupted ? "the dump was cut short"
                                   : "is it blocked or busy?");
}

/* Whether a doorbell thread in system call NR sleeping in WCHAN is writing
 * a dump: the runtime waits for its destination to take more with poll()
 * (restarted as restart_syscall after a ptrace stop), then writes.  Its
 * other waits are futex waits. */
static bool doorbell_writing(long nr, const char *wchan)
{
    if (nr == SYS_write || nr == SYS_writev || nr == SYS_pwrite64 || nr == SYS_ppoll)
        return true;
#ifdef SYS_poll
    if (nr == SYS_poll)
        return true;
#endif
    return strncmp(wchan, "pipe_write", 10) == 0 || strncmp(wchan, "poll_schedule", 13) == 0;
}

/* Why the doorbell thread did not start the generation, as /proc tells:
 * held stopped by a tracer (another instance of this tool, a debugger),
 * stopped, blocked writing (a dump asked from inside the process, to a
 * destination nobody reads), in uninterruptible sleep, or runnable
 * without a CPU.  Writes a phrase that follows "did not run" into BUF. */
static void doorbell_cause(struct session *ss, pid_t tid, char *buf, size_t len)
{
    pid_t pid = ss->o.pid;
    struct thread_info info;
    if (proc_thread_from_ns(pid, ss->doorbell_tid, &tid) < 0 ||
        thread_read_info(pid, tid, &info) < 0) {
        snprintf(buf, len, ": it is gone");
        return;
    }
    long nr = proc_thread_syscall(pid, tid);
    char wchan[4 * sizeof(info.wchan) + 16] = "", safe[4 * sizeof(info.wchan) + 1];
    if (info.wchan[0])
        snprintf(wchan, sizeof(wchan), " (in %s)",
                 esc_term(safe, sizeof(safe), info.wchan, strlen(info.wchan), false));
    pid_t tracer = proc_tracer(pid, tid);
    char tname[64] = "?", self[64] = "", tsafe[4 * 64 + 1];
    if (tracer > 0)
        proc_thread_comm(tracer, 0, tname, sizeof(tname));
    proc_thread_comm(getpid(), 0, self, sizeof(self));
    if (tracer > 0 && tracer != getpid())
        snprintf(buf, len, ": it is held %sby %s PID %d (%s)%s",
                 info.state == 't' ? "stopped " : "",
                 strcmp(tname, self) == 0 ? "another tasktrace-attach," : "the tracer", (int)tracer,
                 esc_term(tsafe, sizeof(tsafe), tname, strlen(tname), false),
                 strcmp(tname, self) == 0 ? " (is that tool stopped?)" : "; detach it");
    else if (info.state == 'T' || info.state == 't')
        snprintf(buf, len, ": it is stopped");
    else if (doorbell_writing(nr, info.wchan))
        snprintf(buf, len,
                 ": it is blocked writing%s, serving a dump asked for from inside the process "
                 "(trt_dump_*, TASKTRACE_SIGNAL) to a destination nobody reads",
                 wchan);
    else if (info.state == 'D')
        snprintf(buf, len, ": it is in uninterruptible sleep%s", wchan);
    else if (info.state == 'R')
        snprintf(buf, len,
                 ": it is runnable and was not given a CPU, or busy serving a dump asked for "
                 "from inside the process (is the machine overloaded?)");
    else
        snprintf(buf, len, ": it is asleep%s, in system call %ld", wchan, nr);
}

/* Names what is missing from the built model: tasks that did not report,
 * unsymbolized addresses, --task options that matched nothing. */
void problems_of_dump(struct session *ss)
{
    const struct options *o = &ss->o;
    struct tt_dump *d = &ss->d;
    for (int i = 0; i < o->ntasks; i++) {
        char safe[256];
        if (!o->task_matched[i])
            dump_problem(&ss->d, "task_unmatched", "no task with id or name '%s' in PID %d",
                         esc(safe, sizeof(safe), o->tasks[i], false), (int)o->pid);
    }
    bool missing = false;
    for (size_t i = 0; i < d->ntasks; i++)
        missing = missing || !d->tasks[i].reported;
    bool stopped = missing && proc_state(o->pid) == 'T';
    char cause[512] = " (the process is stopped: resume it with kill -CONT)";
    if (ss->gen != 0 && !ss->started && !stopped)
        doorbell_cause(ss, ss->doorbell_tid, cause, sizeof(cause));
    if (ss->gen != 0 && !ss->started)
        dump_problem(&ss->d, interrupted ? "interrupted" : "not_started",
                     "PID %d: the runtime did not start the dump %s %.3g s: its doorbell thread %d "
                     "did not run%s",
                     (int)o->pid, interrupted ? "before the interrupt, after" : "within",
                     interrupted ? (trt_clock_ns(CLOCK_MONOTONIC) - ss->t_start) / 1e9 : o->timeout,
                     (int)ss->doorbell_tid, cause);
    else if (ss->gen != 0 && missing)
        report_missing(ss, stopped);
    if (d->pcs_over)
        dump_problem(&ss->d, "cap_pcs",
                     "PID %d: more than %u distinct addresses in this dump; %llu are printed "
                     "unsymbolized",
                     (int)o->pid, DUMP_MAX_PCS, (unsigned long long)d->pcs_over);
    if (d->pcs_late)
        dump_problem(&ss->d, "deadline",
                     "PID %d: symbolizing ran out of time (see --timeout); %llu addresses are "
                     "printed unsymbolized",
                     (int)o->pid, (unsigned long long)d->pcs_late);
    if (d->problems_dropped)
        msg("%zu more problems than the %d shown", d->problems_dropped, TT_MAX_PROBLEMS);
}
