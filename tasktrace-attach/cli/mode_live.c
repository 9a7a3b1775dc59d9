/* The dump of a live process (the tool's default mode): find the runtime,
 * ring the doorbell, wait for the tasks to report while reading their
 * records, read the registry and the records, build the model, read the
 * live stacks of the threads inside a poll, print. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tasktrace/clock.h>
#include <tasktrace/protocol.h>

#include "target/doorbell.h"
#include "cli/diag.h"
#include "model/dump.h"
#include "cli/exitcodes.h"
#include "model/livestack.h"
#include "cli/modes.h"
#include "cli/problems.h"
#include "cli/session.h"
#include "symbols/findfile.h"
#include "target/watchdog.h"

/* Says why the target cannot be read or traced, and returns EXIT_FATAL. */
static int fail_access(pid_t pid, pid_t tid, const char *what, int err)
{
    if (err == -ESRCH) {
        fatal("ESRCH", "%s PID %d: the process exited", what, (int)pid);
    } else if (err == -EPERM || err == -EACCES) {
        char why[256], safe[512];
        proc_explain_eperm(pid, tid, why, sizeof(why));
        /* It names the tracer by its comm, the tracer's own bytes. */
        fatal("EPERM", "%s PID %d: not permitted: %s", what, (int)pid,
              esc(safe, sizeof(safe), why, false));
    } else {
        const char *name = strerrorname_np(-err);
        fatal(name ? name : "EIO", "%s PID %d: %s", what, (int)pid, strerror(-err));
    }
    return EXIT_FATAL;
}

/* Refuses what is not a live user process: a thread id given for its
 * process, a zombie, a kernel thread.  Returns 0 or EXIT_FATAL after
 * saying which. */
static int check_process(pid_t pid)
{
    char state = 0, comm[64] = "?", safe[300];
    bool kthread = false;
    if (proc_stat(pid, &state, &kthread, comm, sizeof(comm)) < 0)
        return 0; /* the reads that follow say why */
    pid_t tgid = proc_tgid(pid);
    if (tgid > 0 && tgid != pid) {
        fatal("THREAD_ID", "PID %d is thread %d of process %d, not a process: dump %d instead",
              (int)pid, (int)pid, (int)tgid, (int)tgid);
        return EXIT_FATAL;
    }
    if (kthread) {
        fatal("KERNEL_THREAD", "PID %d (%s) is a kernel thread: it runs no user code to dump",
              (int)pid, esc(safe, sizeof(safe), comm, false));
        return EXIT_FATAL;
    }
    if (state == 'Z' || state == 'X') {
        fatal("ZOMBIE", "PID %d (%s) is a zombie: it has exited and its parent has not reaped it",
              (int)pid, esc(safe, sizeof(safe), comm, false));
        return EXIT_FATAL;
    }
    return 0;
}

/* Whether every task the --task options select has reported generation
 * `gen`, which has started.  The registry is read for it.  Not "none still
 * owes it": the runtime publishes the generation before it marks the tasks
 * owing, so a task not marked yet would pass.  A selected task created
 * after the generation started will not report: then this stays false and
 * the wait goes on as without --task. */
static bool selected_reported(struct session *ss, uint32_t gen)
{
    struct rtread_registry reg;
    char why[256];
    if (rtread_read_registry(&ss->t, ss->ctl.registry_addr, &reg, why, sizeof(why)) < 0)
        return false;
    size_t selected = 0;
    bool all = true;
    for (size_t i = 0; i < reg.n && all; i++) {
        const struct trt_task_slot *s = &reg.slots[i];
        if (s->state == TRT_TASK_DONE || s->created_ns > ss->ctl.gen_start_ns ||
            !task_selected(&ss->o, s))
            continue;
        selected++;
        all = s->traced_gen == gen;
    }
    rtread_registry_free(&reg);
    return all && selected > 0;
}

/* Waits until the runtime has completed generation ss->gen (or a newer
 * one, which another tool asked for after ours and which supersedes it),
 * reading the control block into ss->ctl.  With --task, it also stops once
 * the selected tasks have reported.  Returns 0 when done, 1 at the deadline
 * or on an interrupt, or -errno after saying why. */
static int wait_done(struct session *ss)
{
    char why[256];
    long nap = 100000;
    uint64_t next_check = 0;
    for (;;) {
        int err = rtread_read_control(&ss->t, ss->control_addr, &ss->ctl, why, sizeof(why));
        if (err < 0) {
            if (err == -ESRCH)
                fatal("ESRCH", "PID %d exited during the dump; nothing was captured",
                      (int)ss->t.pid);
            else
                fail_access(ss->t.pid, 0, "lost track of", err == -EPROTO ? -EIO : err);
            return err;
        }
        if ((int32_t)(ss->ctl.active - ss->gen) > 0)
            ss->gen = ss->ctl.active;
        if ((int32_t)(ss->ctl.done - ss->gen) >= 0)
            return 0;
        /* While the tasks report, the records they wrote so far are read
         * (records_step): on another CPU than the target's, and the read
         * after the wait has that much less to do. */
        if (ss->ctl.ring_addr != 0 && ss->ctl.active == ss->gen && !ss->ring_steps.gave_up)
            (void)records_step(rtread_proc_read, &ss->t, ss->ctl.ring_addr, ss->gen,
                               &ss->ring_steps);
        uint64_t now = trt_clock_ns(CLOCK_MONOTONIC);
        if (now >= ss->deadline || interrupted)
            return 1;
        /* Reading the registry costs more than the control block: at most
         * every 50 ms. */
        if (ss->o.ntasks > 0 && ss->ctl.registry_addr != 0 && now >= next_check &&
            (int32_t)(ss->ctl.active - ss->gen) >= 0) {
            if (selected_reported(ss, ss->gen))
                return 1;
            next_check = now + 50000000u;
        }
        /* From 0.1 ms between looks, doubled while under 1 ms (so the
         * naps are 0.1, 0.2, 0.4, 0.8, then 1.6 ms): a look is one small
         * read, and a dump's end is seen within two milliseconds. */
        struct timespec ts = {0, nap};
        nanosleep(&ts, NULL);
        if (nap < 1000000)
            nap *= 2;
    }
}

/* Whether the control block shows another dump: one since the tool first
 * read it, a request the runtime has not started yet, or a generation not
 * done.  Another tasktrace-attach is (or just was) ringing. */
static bool other_dump_seen(const struct trt_control *first, const struct trt_control *now)
{
    return now->request != first->request || now->active != first->active ||
           now->done != first->done || now->read_done != first->read_done ||
           now->request != now->active || now->active != now->done;
}

/* Rings the doorbell.  Another tasktrace-attach holds the doorbell thread
 * for microseconds at a time (longer on a loaded machine), and by the time
 * this tool looks at why the seize failed it has often detached: retry
 * while the thread's tracer is another instance of this tool, or the
 * control block shows another dump since this one started, until the
 * --timeout deadline (and for at least a second). */
static int ring_retrying(struct session *ss, pid_t tid)
{
    /* Another instance of this tool has this process's name. */
    char self[64] = "";
    proc_thread_comm(getpid(), 0, self, sizeof(self));
    unsigned seed = (unsigned)getpid();
    /* TASKTRACE_ATTACH_HOLD_STOPPED_MS: a test hook, see doorbell_ring_next. */
    const char *hold = getenv("TASKTRACE_ATTACH_HOLD_STOPPED_MS");
    unsigned hold_ms = hold ? (unsigned)strtoul(hold, NULL, 10) : 0;
    if (hold_ms > 60000)
        hold_ms = 60000;
    uint64_t until = trt_clock_ns(CLOCK_MONOTONIC) + 1000000000u;
    if (until < ss->deadline)
        until = ss->deadline;
    for (;;) {
        int err =
            doorbell_ring_next(&ss->t, tid, ss->control_addr, &ss->gen, hold_ms, &ss->stopped_ns);
        if (err != -EPERM || interrupted || trt_clock_ns(CLOCK_MONOTONIC) >= until)
            return err;
        struct trt_control now;
        char why[64];
        /* A debugger that is not this tool: say so at once.  (A tracer
         * already gone was another tool's seize.) */
        pid_t tracer = proc_tracer(ss->o.pid, tid);
        char name[64];
        if (tracer > 0 && proc_thread_comm(tracer, 0, name, sizeof(name)) == 0 &&
            strcmp(name, self) != 0)
            return err;
        bool read = rtread_read_control(&ss->t, ss->control_addr, &now, why, sizeof(why)) == 0;
        if (tracer <= 0 && !(read && other_dump_seen(&ss->first, &now)))
            return err;
        /* 5 to 15 ms, so that tools that collided do not collide again. */
        seed = seed * 1103515245u + 12345u;
        struct timespec ts = {0, 5000000 + (long)(seed >> 8) % 10000000};
        nanosleep(&ts, NULL);
        if (rtread_read_control(&ss->t, ss->control_addr, &now, why, sizeof(why)) == 0) {
            ss->ctl = now;
            if ((int32_t)(now.request - ss->gen) >= 0)
                ss->gen = trt_gen_tool_next(now.request);
        }
    }
}

/* A process that has just created its first task may not have published
 * its doorbell thread's id yet: the thread is being started.  Re-reads the
 * control block for up to 200 ms (and never past the deadline) before the
 * dump takes the missing doorbell for a problem. */
static void session_await_doorbell(struct session *ss)
{
    uint64_t until = trt_clock_ns(CLOCK_MONOTONIC) + 200000000u;
    if (until > ss->deadline)
        until = ss->deadline;
    char why[256];
    while (ss->ctl.doorbell_tid <= 0 && ss->ctl.registry_addr != 0 && ss->ctl.doorbell_errno == 0 &&
           ss->ctl.fork_ns == 0 && trt_clock_ns(CLOCK_MONOTONIC) < until) {
        struct timespec nap = trt_ns_timespec(1000000u);
        nanosleep(&nap, NULL);
        struct trt_control now;
        if (rtread_read_control(&ss->t, ss->control_addr, &now, why, sizeof(why)) != 0)
            return;
        ss->ctl = now;
    }
}

/* Finds the runtime in the target and reads its control block.  Returns 0,
 * or an exit code after saying why. */
static int session_locate(struct session *ss)
{
    pid_t pid = ss->o.pid;
    char why[256];
    /* First: proc_open takes a zombie for a process that is gone. */
    int err = check_process(pid);
    if (err != 0)
        return err;
    err = proc_open(&ss->t, pid);
    if (err == -ESRCH) {
        fatal("ESRCH", "no process with PID %d (check the PID; is it still running?)", (int)pid);
        return EXIT_FATAL;
    }
    if (err < 0)
        return fail_access(pid, 0, "cannot inspect", err);
    ss->dwfl = lookup_dwfl_open_pid(pid, &err);
    if (!ss->dwfl)
        return fail_access(pid, 0, "cannot read the modules of", err);
    if (rtread_locate(ss->dwfl, &ss->control_addr) < 0) {
        char comm[64] = "?", safe[300];
        proc_thread_comm(pid, 0, comm, sizeof(comm));
        if (!proc_alive(pid))
            fatal("ESRCH", "PID %d exited while its modules were read", (int)pid);
        else
            fatal("NOT_TASKTRACE",
                  "PID %d (%s) is not a tasktrace process: no '%s' symbol in its executable or "
                  "libraries (link it with libtargetrt; a stripped static executable needs "
                  "-Wl,--export-dynamic-symbol=%s)",
                  (int)pid, esc(safe, sizeof(safe), comm, false), TRT_CONTROL_SYMBOL,
                  TRT_CONTROL_SYMBOL);
        return EXIT_FATAL;
    }
    err = rtread_read_control(&ss->t, ss->control_addr, &ss->ctl, why, sizeof(why));
    if (err == -EPROTO) {
        fatal("CORRUPT", "PID %d: the tasktrace control block at 0x%llx is unusable: %s", (int)pid,
              (unsigned long long)ss->control_addr, why);
        return EXIT_FATAL;
    }
    if (err < 0)
        return fail_access(pid, 0, "cannot read", err);
    ss->first = ss->ctl;
    return 0;
}

/* What starting the watchdog took (TASKTRACE_ATTACH_STATS). */
static uint64_t watchdog_ns;

/* Starts the watchdog (watchdog.h) before the first thread of the target
 * is stopped.  Without it the dump goes on, the holds unbounded. */
static void session_watchdog(void)
{
    static bool tried;
    if (tried)
        return;
    tried = true;
    int err = watchdog_start(&watchdog_ns);
    if (err < 0)
        msg("cannot start the watchdog that bounds this tool's stops of the target's threads: %s",
            strerror(-err));
}

/* Rings the doorbell for a new generation.  Returns 0, or an exit code
 * after saying why. */
static int session_ring(struct session *ss)
{
    pid_t pid = ss->o.pid, tid = ss->doorbell_tid;
    char comm[64];
    /* The runtime publishes the id its own PID namespace gives the thread. */
    if (proc_thread_from_ns(pid, ss->doorbell_tid, &tid) < 0 ||
        proc_thread_comm(pid, tid, comm, sizeof(comm)) < 0 ||
        strcmp(comm, TRT_DOORBELL_NAME) != 0) {
        fatal("NO_DOORBELL",
              "PID %d: the runtime's doorbell thread %d is gone; the process cannot be dumped",
              (int)pid, (int)tid);
        return EXIT_FATAL;
    }
    /* Past any request still pending, so the runtime sees a change. */
    const struct trt_control *c = &ss->ctl;
    ss->gen = trt_gen_tool_next((int32_t)(c->request - c->active) > 0 ? c->request : c->active);
    session_watchdog();
    int err = ring_retrying(ss, tid);
    if (err == -ETIMEDOUT) {
        fatal("DOORBELL_TIMEOUT",
              "PID %d: the doorbell thread %d did not stop within 1 s (uninterruptible "
              "sleep?); try again",
              (int)pid, (int)tid);
        return EXIT_FATAL;
    }
    if (err < 0)
        return fail_access(pid, tid, "cannot ring the doorbell of", err);
    return 0;
}

/* Whether the runtime could not give generation ss->gen a ring (or a large
 * enough one), by its own account. */
static bool ring_failed(const struct session *ss)
{
    return ss->ctl.ring_errno != 0 && ss->ctl.ring_errno_gen == ss->gen;
}

/* Reads the generation's records.  A record being written while it was
 * copied is rejected as torn; it is whole a moment later, so a read with
 * torn records is tried again (a few times, briefly) before the torn ones
 * count as lost. */
static int collect_ring(struct session *ss)
{
    int err = 0;
    for (int attempt = 0; attempt < 4; attempt++) {
        struct records_result r;
        /* The first read goes on from what the wait read. */
        err = attempt == 0 ? records_finish(rtread_proc_read, &ss->t, ss->ctl.ring_addr, ss->gen,
                                            &ss->ring_steps, &r)
                           : rtread_read_ring(&ss->t, ss->ctl.ring_addr, ss->gen, &r);
        if (err < 0)
            return err;
        records_free(&ss->ring);
        ss->ring = r;
        if (r.torn == 0 || interrupted)
            break;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    return err;
}

/* Waits for the generation, then reads the registry and the generation's
 * records.  Returns 0, or an exit code after saying why. */
static int session_collect(struct session *ss)
{
    pid_t pid = ss->o.pid;
    char why[256];
    for (int attempt = 0;; attempt++) {
        if (ss->gen != 0) {
            int w = wait_done(ss);
            if (w < 0)
                return EXIT_FATAL;
            ss->complete = w == 0;
            ss->started = (int32_t)(ss->ctl.active - ss->gen) >= 0;
        }
        ss->t_waited = trt_clock_ns(CLOCK_MONOTONIC);
        rtread_registry_free(&ss->reg);
        /* No registry address: the process never created a traced task. */
        int err = ss->ctl.registry_addr == 0 ? 0
                                             : rtread_read_registry(&ss->t, ss->ctl.registry_addr,
                                                                    &ss->reg, why, sizeof(why));
        if (err == -EPROTO) {
            fatal("CORRUPT", "PID %d: %s", (int)pid, why);
            return EXIT_FATAL;
        }
        if (err < 0)
            return fail_access(pid, 0, "cannot read the task registry of", err);
        if (!ss->started || ss->ctl.ring_addr == 0)
            return 0;
        err = collect_ring(ss);
        if (err == 0) {
            /* Done with the records: the runtime may give their memory
             * back.  A failed write only keeps it until the next dump. */
            proc_write(&ss->t, ss->control_addr + offsetof(struct trt_control, read_done), &ss->gen,
                       sizeof(ss->gen));
            return 0;
        }
        /* The runtime said it has no ring for this generation: the stacks
         * are missing, and that is reported; the tasks are still listed. */
        if (ring_failed(ss))
            return 0;
        /* Another tool's dump started after ours and replaced its records,
         * or moved them to a larger ring. */
        if (err == -EFAULT) {
            struct trt_control now;
            if (rtread_read_control(&ss->t, ss->control_addr, &now, why, sizeof(why)) == 0 &&
                now.ring_addr != ss->ctl.ring_addr)
                err = -ESTALE;
        }
        /* The generation is gone (replaced, or read by another tool and
         * its pages given back): ask for a fresh one rather than read the
         * old one again. */
        if (err == -ESTALE && attempt < 50 && !interrupted &&
            trt_clock_ns(CLOCK_MONOTONIC) < ss->deadline) {
            if (ss->doorbell_tid > 0 && (err = session_ring(ss)) != 0)
                return err;
            continue;
        }
        if (err == -ESTALE)
            fatal("BUSY",
                  "PID %d: other dumps of this process kept replacing this one's; try again",
                  (int)pid);
        else if (err == -EPROTO)
            fatal("CORRUPT", "PID %d: the capture ring at 0x%llx is corrupt", (int)pid,
                  (unsigned long long)ss->ctl.ring_addr);
        else
            return fail_access(pid, 0, "cannot read the capture ring of", err);
        return EXIT_FATAL;
    }
}

/* Whether the registry holds a task that is not finished. */
static bool tasks_unfinished(const struct rtread_registry *reg)
{
    for (size_t i = 0; i < reg->n; i++)
        if (reg->slots[i].state != TRT_TASK_DONE)
            return true;
    return false;
}

/* Names what the runtime and the reading left out, before the model is
 * built: no doorbell, no ring, unreadable records, a corrupt registry,
 * caps. */
static void note_collect_problems(struct session *ss)
{
    pid_t pid = ss->o.pid;
    const struct trt_control *c = &ss->ctl;
    if (ss->doorbell_tid <= 0 && tasks_unfinished(&ss->reg)) {
        int e = c->doorbell_errno;
        if (e > 0)
            dump_problem(&ss->d, "doorbell",
                         "PID %d: the runtime could not start its doorbell thread (%u attempts): "
                         "%s%s; its tasks are listed without stacks",
                         (int)pid, c->doorbell_fails, strerror(e),
                         e == EAGAIN   ? " (ulimit -u, or the pids limit of its cgroup?)"
                         : e == ENOMEM ? " (out of memory?)"
                                       : "");
        else if (c->fork_ns != 0)
            dump_problem(&ss->d, "doorbell",
                         "PID %d: the process was forked from one with tasks and has no doorbell "
                         "thread yet (it starts one with the first task it creates); its tasks are "
                         "listed without stacks",
                         (int)pid);
        else if (proc_state(pid) == 'T')
            dump_problem(&ss->d, "doorbell",
                         "PID %d: the runtime has not started its doorbell thread yet and the "
                         "process is stopped: resume it with kill -CONT; its tasks are listed "
                         "without stacks",
                         (int)pid);
        else
            dump_problem(&ss->d, "doorbell",
                         "PID %d: the runtime has no doorbell thread although it has tasks; its "
                         "tasks are listed without stacks",
                         (int)pid);
    }
    if (ss->started && ring_failed(ss))
        dump_problem(&ss->d, "ring",
                     "PID %d: the runtime could not map a large enough capture ring for this dump: "
                     "%s; captured stacks may be missing",
                     (int)pid, strerror(c->ring_errno > 0 ? c->ring_errno : EIO));
    if (ss->ring.torn)
        dump_problem(&ss->d, "records_torn",
                     "PID %d: %llu captured stack%s of this dump %s unreadable (torn or corrupt "
                     "in the capture ring) and %s missing",
                     (int)pid, (unsigned long long)ss->ring.torn, ss->ring.torn == 1 ? "" : "s",
                     ss->ring.torn == 1 ? "was" : "were", ss->ring.torn == 1 ? "is" : "are");
    if (ss->ring.lost)
        dump_problem(&ss->d, "records_lost",
                     "%llu captured stacks were lost: the capture ring was too small for this dump",
                     (unsigned long long)ss->ring.lost);
    if (ss->ring.cut)
        dump_problem(&ss->d, "cap_records",
                     "PID %d: the capture ring holds more than %u records for this dump; the %llu "
                     "oldest were not read",
                     (int)pid, RECORDS_MAX_RECORDS, (unsigned long long)ss->ring.cut);
    char where[32];
    snprintf(where, sizeof(where), "PID %d", (int)pid);
    problems_registry(&ss->d, where, &ss->reg);
}

/* The live stacks of the threads inside a poll (and every thread with
 * --threads), once the generation ended: see model/livestack.h.  Names
 * what could not be read.  Returns 0 or -ENOMEM. */
static int session_live(struct session *ss, struct livestack_stats *st)
{
    struct livestack_opts lo = {.threads = ss->o.threads};
    /* TASKTRACE_ATTACH_HOLD_THREAD_MS: a test hook that keeps each thread
     * stopped that long, so a test can kill the tool meanwhile. */
    const char *hold = getenv("TASKTRACE_ATTACH_HOLD_THREAD_MS");
    unsigned long hold_ms = hold ? strtoul(hold, NULL, 10) : 0;
    lo.hold_ms = hold_ms > 60000 ? 60000 : (unsigned)hold_ms;
    /* The thread stacks get a bound of their own: --timeout again, from
     * now, whatever the wait for the tasks took (a slow machine's wait
     * must not leave nothing for them), the hook's holds included. */
    lo.deadline_ns = trt_clock_ns(CLOCK_MONOTONIC) + (uint64_t)(ss->o.timeout * 1e9);
    session_watchdog();
    int err = livestack_fill(&ss->d, &ss->t, ss->dwfl, ss->sym, ss->ctl.registry_addr,
                             ss->reg.slots, ss->reg.n, &lo, st);
    if (err < 0)
        return err;
    char where[32];
    snprintf(where, sizeof(where), "PID %d", (int)ss->o.pid);
    if (st->exited)
        dump_problem(&ss->d, "exited",
                     "PID %d exited during the dump: the live stack%s of %zu thread%s inside a "
                     "poll could not be read",
                     (int)ss->o.pid, st->failed == 1 ? "" : "s", st->failed,
                     st->failed == 1 ? "" : "s");
    else
        problems_thread_stacks(&ss->d, where, "live stack", st->failed, st->first_error);
    if (st->out_of_time) {
        char list[200] = "";
        size_t used = 0;
        for (size_t i = 0; i < st->out_of_time && i < LIVESTACK_MAX_UNREAD; i++) {
            char name[16] = "", safe[4 * 16 + 1];
            proc_thread_comm(ss->o.pid, st->unread[i], name, sizeof(name));
            int w = snprintf(list + used, sizeof(list) - used, "%s%d \"%s\"", i ? ", " : "",
                             (int)st->unread[i], esc(safe, sizeof(safe), name, false));
            if (w < 0 || (size_t)w >= sizeof(list) - used) {
                list[used] = '\0';
                break;
            }
            used += (size_t)w;
        }
        dump_problem(&ss->d, "deadline",
                     "PID %d: %zu thread%s not read: the time for thread stacks (%.3g s, "
                     "--timeout) ran out: %s%s",
                     (int)ss->o.pid, st->out_of_time, st->out_of_time == 1 ? " was" : "s were",
                     ss->o.timeout, list, st->out_of_time > LIVESTACK_MAX_UNREAD ? ", ..." : "");
    }
    if (ss->o.threads)
        problems_threads_cap(&ss->d, where, st->threads_total);
    if (st->late)
        msg("PID %d: %zu threads in uninterruptible sleep stay seized until this tool exits",
            (int)ss->o.pid, st->late);
    return 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* TASKTRACE_ATTACH_STATS: how long the threads were stopped. */
static void livestack_print_stats(struct livestack_stats *st)
{
    if (st->nstops == 0)
        return;
    /* Each stop, in order, for scripts (bench/bench_threads.sh):
     * stopped/held in microseconds. */
    char list[64 * 24] = "";
    size_t used = 0;
    for (size_t i = 0; i < st->nstops && i < 64; i++) {
        int w = snprintf(list + used, sizeof(list) - used, " %.1f/%.1f", st->stop_ns[i] / 1e3,
                         st->held_ns[i] / 1e3);
        if (w < 0 || (size_t)w >= sizeof(list) - used)
            break;
        used += (size_t)w;
    }
    msg("thread stops (us, stopped/held):%s%s", list, st->nstops > 64 ? " ..." : "");
    qsort(st->stop_ns, st->nstops, sizeof(st->stop_ns[0]), u64_cmp);
    qsort(st->held_ns, st->nstops, sizeof(st->held_ns[0]), u64_cmp);
    msg("%zu threads stopped one at a time: median %.1f us, max %.1f us (of which after the "
        "stop, copying: median %.1f us, max %.1f us)",
        st->nstops, st->stop_ns[st->nstops / 2] / 1e3, st->stop_ns[st->nstops - 1] / 1e3,
        st->held_ns[st->nstops / 2] / 1e3, st->held_ns[st->nstops - 1] / 1e3);
}

/* Builds the model of the dump from the registry and the records, its
 * symbolizing bounded by TIMEOUT_NS again from the end of the wait.
 * Returns 0, or EXIT_FATAL after saying why. */
static int build_model(struct session *ss, uint64_t timeout_ns)
{
    ss->sym = lookup_new(ss->dwfl);
    lookup_set_short_names(ss->sym, ss->o.short_names);
    /* Symbolizing gets as long again as the wait could take. */
    uint64_t now = trt_clock_ns(CLOCK_MONOTONIC);
    uint64_t lookup_deadline = (now > ss->deadline ? now : ss->deadline) + timeout_ns;
    /* TASKTRACE_ATTACH_SYMBOLIZE_MS: a test hook that gives symbolizing
     * that many milliseconds instead, to reach the deadline on purpose. */
    const char *budget = getenv("TASKTRACE_ATTACH_SYMBOLIZE_MS");
    if (budget)
        lookup_deadline = now + (uint64_t)strtoul(budget, NULL, 10) % 3600000u * 1000000u;
    findfile_set_deadline(lookup_deadline);
    struct dump_in in = {
        .gen = ss->gen,
        .started = ss->started,
        .complete = ss->complete,
        .raw = ss->o.raw,
        .fork_ns = ss->ctl.fork_ns,
        .deadline_ns = lookup_deadline,
        .select = select_cb,
        .arg = &ss->o,
    };
    if (!ss->sym || dump_build(&ss->d, ss->sym, ss->reg.slots, ss->reg.n, &ss->ring, &in) < 0) {
        fatal("ENOMEM", "out of memory");
        return EXIT_FATAL;
    }
    return 0;
}

/* TASKTRACE_ATTACH_STATS: where the time went: the target's captures (the
 * wait), the tool's reading, model building (symbolizing), live stacks and
 * printing. */
static void print_stats(const struct session *ss, struct livestack_stats *ls)
{
    msg("phases (ms): locate %.1f, ring+wait %.1f, read %.1f, build %.1f, live %.1f, "
        "print %.1f; %zu tasks, %zu records",
        (ss->t_located - ss->t_start) / 1e6, (ss->t_waited - ss->t_located) / 1e6,
        (ss->t_read - ss->t_waited) / 1e6, (ss->t_built - ss->t_read) / 1e6,
        (ss->t_live - ss->t_built) / 1e6, (ss->t_printed - ss->t_live) / 1e6, ss->reg.n,
        ss->ring.n);
    msg("dump took %.1f ms; the doorbell thread was stopped for %.1f us; the watchdog "
        "started in %.1f us",
        (trt_clock_ns(CLOCK_MONOTONIC) - ss->t_start) / 1e6, ss->stopped_ns / 1e3,
        watchdog_ns / 1e3);
    livestack_print_stats(ls);
}

/* Finds the runtime, rings its doorbell (unless --passive) and reads what
 * the tasks reported.  Returns 0, or an exit code after saying why. */
static int locate_ring_collect(struct session *ss)
{
    int rc = session_locate(ss);
    if (rc != 0)
        return rc;
    if (!ss->o.passive)
        session_await_doorbell(ss);
    ss->t_located = trt_clock_ns(CLOCK_MONOTONIC);
    /* --passive: no doorbell, so no generation: the registry as it is. */
    ss->doorbell_tid = ss->o.passive ? 0 : ss->ctl.doorbell_tid;
    if (ss->o.passive)
        ss->started = false; /* no generation, no records to read */
    if (ss->doorbell_tid > 0 && (rc = session_ring(ss)) != 0)
        return rc;
    if ((rc = session_collect(ss)) != 0)
        return rc;
    ss->t_read = trt_clock_ns(CLOCK_MONOTONIC);
    /* Without a doorbell nothing was asked: the dump is complete only if
     * there is nothing to ask (note_collect_problems says otherwise). */
    if (ss->doorbell_tid <= 0)
        ss->complete = !tasks_unfinished(&ss->reg);
    ss->d.pid = ss->o.pid;
    ss->d.passive = ss->o.passive;
    /* A passive dump asked nothing: no task reported, and none owed. */
    if (ss->o.passive)
        ss->complete = false;
    else
        note_collect_problems(ss);
    return 0;
}

int mode_live(struct session *ss)
{
    uint64_t timeout_ns = (uint64_t)(ss->o.timeout * 1e9);
    ss->deadline = ss->t_start + timeout_ns;
    int rc = locate_ring_collect(ss);
    if (rc != 0 || (rc = build_model(ss, timeout_ns)) != 0)
        return rc;
    ss->t_built = trt_clock_ns(CLOCK_MONOTONIC);
    struct livestack_stats *ls = calloc(1, sizeof(*ls));
    if (!ls || session_live(ss, ls) < 0) {
        free(ls);
        fatal("ENOMEM", "out of memory");
        return EXIT_FATAL;
    }
    ss->t_live = trt_clock_ns(CLOCK_MONOTONIC);
    rc = session_report(ss);
    ss->t_printed = trt_clock_ns(CLOCK_MONOTONIC);
    if (getenv("TASKTRACE_ATTACH_STATS"))
        print_stats(ss, ls);
    free(ls);
    /* The core is written once the dump has let every thread go. */
    if (ss->o.gcore && mode_gcore(ss->o.pid, ss->o.gcore) != 0)
        rc = EXIT_FATAL;
    return rc;
}
