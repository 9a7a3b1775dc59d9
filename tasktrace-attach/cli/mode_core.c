/* --core FILE: the tasks of a core file, printed as a live dump is: the
 * records of the last dump the runtime completed before the core was
 * written, the stacks of the threads inside a poll, the crash. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tasktrace/protocol.h>

#include "target/core.h"
#include "symbols/findcore.h"
#include "model/corethreads.h"
#include "cli/diag.h"
#include "model/dump.h"
#include "cli/exitcodes.h"
#include "cli/modes.h"
#include "cli/problems.h"
#include "cli/session.h"

/* The moment of a core, as near as the runtime's data tell: its newest
 * CLOCK_MONOTONIC reading (a dump's start or end, a task's creation, a
 * poll's start or end).  The core holds no clock of its own, so ages
 * measured to it are lower bounds.  UINT64_MAX when there is none. */
static uint64_t core_moment(const struct trt_control *c, const struct rtread_registry *reg)
{
    uint64_t now = c->gen_start_ns > c->gen_done_ns ? c->gen_start_ns : c->gen_done_ns;
    for (size_t i = 0; i < reg->n; i++) {
        const struct trt_task_slot *s = &reg->slots[i];
        uint64_t t[3] = {s->created_ns, s->poll_start_ns, s->poll_end_ns};
        for (int k = 0; k < 3; k++)
            now = t[k] > now ? t[k] : now;
    }
    return now ? now : UINT64_MAX;
}

/* Opens the core ss->o.core, its modules and the runtime's control block
 * in it; PATH is its name escaped.  Returns 0, or an exit code after
 * saying why. */
static int core_open_runtime(struct session *ss, const char *path)
{
    struct core_file *c = &ss->core;
    char why[1024], warn[1024], comm[4 * 17 + 1];
    int err = core_open(c, ss->o.core, why, sizeof(why));
    if (err < 0) {
        fatal(err == -ENOEXEC  ? "NOT_CORE"
              : err == -EFBIG  ? "TRUNCATED_CORE"
              : err == -EPROTO ? "CORRUPT"
              : err == -ENOMEM ? "ENOMEM"
                               : "FAILED",
              "cannot read the core %s: %s", path, why);
        return EXIT_FATAL;
    }
    ss->core_opened = true;
    ss->o.pid = c->pid;
    esc(comm, sizeof(comm), c->fname, false);
    ss->dwfl = findcore_dwfl_open(c, ss->o.exe, &err, why, sizeof(why), warn, sizeof(warn));
    if (!ss->dwfl) {
        fatal(err == -ENOEXEC  ? "WRONG_EXE"
              : err == -ENOMEM ? "ENOMEM"
                               : "FAILED",
              "cannot read the core %s: %s", path, why);
        return EXIT_FATAL;
    }
    if (warn[0])
        msg("core %s: %s", path, warn);
    if (rtread_locate(ss->dwfl, &ss->control_addr) < 0) {
        fatal("NOT_TASKTRACE",
              "core %s (PID %d, %s) holds no tasktrace runtime: no '%s' symbol in the files "
              "it names (if its executable was moved or rebuilt, give it with --exe)",
              path, (int)c->pid, comm, TRT_CONTROL_SYMBOL);
        return EXIT_FATAL;
    }
    err = rtread_control_read(core_read, c, ss->control_addr, &ss->ctl, why, sizeof(why));
    if (err < 0) {
        fatal("CORRUPT", "core %s: the tasktrace control block at 0x%llx is %s%s", path,
              (unsigned long long)ss->control_addr,
              err == -EPROTO ? "unusable: " : "not in the core", err == -EPROTO ? why : "");
        return EXIT_FATAL;
    }
    return 0;
}

/* Reads the registry and the records of the last completed dump
 * generation out of the core, and names what is missing; WHERE is "core
 * PATH".  Returns 0, or an exit code after saying why. */
static int core_read_tasks(struct session *ss, const char *path, const char *where)
{
    struct core_file *c = &ss->core;
    char why[1024];
    int err = ss->ctl.registry_addr == 0 ? 0
                                         : rtread_registry_read(core_read, c, ss->ctl.registry_addr,
                                                                &ss->reg, why, sizeof(why));
    if (err < 0) {
        fatal(err == -ENOMEM ? "ENOMEM" : "CORRUPT", "core %s: %s", path,
              err == -EPROTO   ? why
              : err == -ENOMEM ? "out of memory"
                               : "the task registry is not in the core (left out by the "
                                 "process's coredump_filter?)");
        return EXIT_FATAL;
    }
    /* The last dump that completed, if its records are still there: a
     * tool that read them let the runtime give their pages back. */
    ss->gen = ss->ctl.done;
    if (ss->gen != 0 && ss->ctl.ring_addr != 0) {
        err = records_collect(core_read, c, ss->ctl.ring_addr, ss->gen, &ss->ring);
        if (err == -ENOMEM) {
            msg("out of memory");
            return EXIT_FATAL;
        }
        /* Without its records, that dump shows nothing: the tasks are
         * listed as the registry has them (a tool that read the records
         * had the runtime give their pages back, 200 ms later). */
        if (err < 0) {
            memset(&ss->ring, 0, sizeof(ss->ring));
            ss->gen = 0;
        }
        if (err < 0 && err != -ESTALE)
            dump_problem(&ss->d, "ring",
                         "core %s: the capture ring at 0x%llx is %s; the last dump's stacks are "
                         "missing",
                         path, (unsigned long long)ss->ctl.ring_addr,
                         err == -EPROTO ? "corrupt" : "not in the core");
    }
    if (ss->ring.torn)
        dump_problem(&ss->d, "records_torn",
                     "core %s: %llu captured stacks of dump generation %u are unreadable", path,
                     (unsigned long long)ss->ring.torn, ss->gen);
    problems_registry(&ss->d, where, &ss->reg);
    return 0;
}

/* Builds the model from the core's registry and records, with the
 * stacks of its threads inside a poll.  Returns 0, or an exit code after
 * saying why. */
static int core_build(struct session *ss, struct corethreads_stats *st)
{
    struct core_file *c = &ss->core;
    uint64_t now = core_moment(&ss->ctl, &ss->reg);
    ss->d.pid = c->pid;
    ss->d.core = ss->o.core;
    ss->d.stacks_age_ns = -1;
    if (ss->ring.n && now != UINT64_MAX && ss->ctl.gen_done_ns != 0)
        ss->d.stacks_age_ns = now > ss->ctl.gen_done_ns ? (int64_t)(now - ss->ctl.gen_done_ns) : 0;
    ss->sym = lookup_new(ss->dwfl);
    lookup_set_short_names(ss->sym, ss->o.short_names);
    struct dump_in in = {
        .gen = ss->gen,
        .started = true,
        .complete = false,
        .raw = ss->o.raw,
        .fork_ns = ss->ctl.fork_ns,
        .now_ns = now,
        .all_tasks = true,
        .select = select_cb,
        .arg = &ss->o,
    };
    /* Nothing was asked of a core: no task owed a report, none is missing. */
    ss->d.passive = true;
    if (!ss->sym || dump_build(&ss->d, ss->sym, ss->reg.slots, ss->reg.n, &ss->ring, &in) < 0 ||
        corethreads_fill(&ss->d, c, ss->dwfl, ss->sym, ss->reg.slots, ss->reg.n, ss->o.threads,
                         ss->o.raw, st) < 0) {
        msg("out of memory");
        return EXIT_FATAL;
    }
    ss->d.passive = true;
    ss->gen = 0; /* no generation of this tool's: nothing owed */
    return 0;
}

int mode_core(struct session *ss)
{
    char path[4 * 256 + 4], where[sizeof(path) + 8];
    esc(path, sizeof(path), ss->o.core, false);
    snprintf(where, sizeof(where), "core %s", path);
    int rc = core_open_runtime(ss, path);
    if (rc != 0 || (rc = core_read_tasks(ss, path, where)) != 0)
        return rc;
    struct corethreads_stats st;
    if ((rc = core_build(ss, &st)) != 0)
        return rc;
    struct core_file *c = &ss->core;
    problems_thread_stacks(&ss->d, where, "stack", st.failed, st.first_error);
    if (ss->o.threads)
        problems_threads_cap(&ss->d, where, c->nthreads);
    if (c->threads_cut)
        dump_problem(&ss->d, "cap_threads", "core %s has more than %u threads; %zu were not read",
                     path, CORE_MAX_THREADS, c->threads_cut);
    return session_report(ss);
}
