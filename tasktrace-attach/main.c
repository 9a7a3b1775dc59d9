/* tasktrace-attach: dump the await trees of every traced task of a live
 * process.
 *
 * Exit codes: 0 complete dump; 1 partial dump (timeout, lost records, a
 * --task that matched nothing while others did); 2 could not dump (no such
 * process, not permitted, not a tasktrace process, corrupt runtime data,
 * target exited, no task matched --task); 64 usage error. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tasktrace/protocol.h>

#include "bell.h"
#include "dump.h"
#include "model.h"
#include "proc.h"
#include "render.h"
#include "snap.h"
#include "sym.h"
#include "tree.h"

enum { EXIT_COMPLETE = 0, EXIT_PARTIAL = 1, EXIT_FATAL = 2, EXIT_USAGE = 64 };

#define MAX_TASK_FILTERS 64

struct options {
    pid_t pid;
    double timeout;
    bool raw, no_source, json;
    int color; /* -1 auto, 0 never, 1 always */
    const char *tasks[MAX_TASK_FILTERS];
    bool task_matched[MAX_TASK_FILTERS];
    int ntasks;
};

static const char *progname = "tasktrace-attach";

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s [OPTIONS] PID\n"
            "Dump the await tree of every traced task in process PID.\n"
            "\n"
            "  -t, --timeout SECONDS  wait at most this long for the tasks to report\n"
            "                         (default 2); then print what was captured\n"
            "  -r, --raw              keep every frame: executor, runtime and ABI helpers\n"
            "  -n, --no-source        print function names without file:line:column\n"
            "  -T, --task ID|NAME     dump only this task (repeatable)\n"
            "  -j, --json             print one JSON document (see docs/json.md)\n"
            "      --color=WHEN       colour the text output: auto, always or never\n"
            "  -h, --help             print this help and exit\n"
            "  -V, --version          print the version and exit\n"
            "\n"
            "Exit status:\n"
            "  0   complete dump: every task reported\n"
            "  1   partial dump: timeout, lost records, or a --task that matched nothing\n"
            "  2   could not dump: no such process, not permitted, not a tasktrace\n"
            "      process, corrupt runtime data, the process exited, or no task\n"
            "      matched --task\n"
            "  64  usage error\n",
            progname);
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"timeout", required_argument, NULL, 't'}, {"raw", no_argument, NULL, 'r'},
        {"no-source", no_argument, NULL, 'n'},     {"task", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},          {"color", required_argument, NULL, 'C'},
        {"colour", required_argument, NULL, 'C'},  {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
    };
    int c;
    char *end;
    o->timeout = 2.0;
    o->color = -1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":t:rnT:jhV", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            errno = 0;
            o->timeout = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o->timeout > 0) || o->timeout > 3600) {
                msg("bad --timeout '%s': give seconds, more than 0 and at most 3600", optarg);
                return -1;
            }
            break;
        case 'r': o->raw = true; break;
        case 'n': o->no_source = true; break;
        case 'j': o->json = true; break;
        case 'T':
            if (o->ntasks == MAX_TASK_FILTERS) {
                msg("too many --task options (at most %d)", MAX_TASK_FILTERS);
                return -1;
            }
            o->tasks[o->ntasks++] = optarg;
            break;
        case 'C':
            if (strcmp(optarg, "auto") == 0)
                o->color = -1;
            else if (strcmp(optarg, "always") == 0)
                o->color = 1;
            else if (strcmp(optarg, "never") == 0)
                o->color = 0;
            else {
                msg("bad --color '%s': use auto, always or never", optarg);
                return -1;
            }
            break;
        case 'h': usage(stdout); exit(EXIT_COMPLETE);
        case 'V': printf("%s %s\n", progname, TT_VERSION); exit(EXIT_COMPLETE);
        case ':': msg("option '%s' needs a value; see --help", argv[optind - 1]); return -1;
        default:
            msg("unknown option '%s'; see --help", argv[optind - 1]);
            return -1;
        }
    }
    if (optind != argc - 1) {
        msg(optind >= argc ? "no PID given; usage: %s [OPTIONS] PID"
                           : "too many arguments; usage: %s [OPTIONS] PID",
            progname);
        return -1;
    }
    errno = 0;
    long pid = strtol(argv[optind], &end, 10);
    if (errno || end == argv[optind] || *end || pid <= 0 || pid > INT_MAX) {
        msg("bad PID '%s': give a positive process id", argv[optind]);
        return -1;
    }
    o->pid = (pid_t)pid;
    return 0;
}

static uint64_t mono_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Says why the target cannot be read or traced, and returns EXIT_FATAL. */
static int fail_access(pid_t pid, pid_t tid, const char *what, int err)
{
    if (err == -ESRCH) {
        msg("%s PID %d: the process exited", what, (int)pid);
    } else if (err == -EPERM || err == -EACCES) {
        char why[256];
        proc_explain_eperm(pid, tid, why, sizeof(why));
        msg("%s PID %d: not permitted: %s", what, (int)pid, why);
    } else {
        msg("%s PID %d: %s", what, (int)pid, strerror(-err));
    }
    return EXIT_FATAL;
}

static bool task_selected(struct options *o, const struct trt_task_slot *s)
{
    if (o->ntasks == 0)
        return true;
    bool any = false;
    for (int i = 0; i < o->ntasks; i++) {
        char *end;
        unsigned long long id = strtoull(o->tasks[i], &end, 10);
        bool hit = (*end == '\0' && end != o->tasks[i] && id == s->id) ||
                   strcmp(o->tasks[i], s->name) == 0;
        if (hit) {
            o->task_matched[i] = true;
            any = true;
        }
    }
    return any;
}

/* Names the tasks that did not report, a few of them, on stderr. */
static void report_missing(const struct tt_dump *d, double timeout, bool stopped)
{
    size_t missing = 0;
    for (size_t i = 0; i < d->ntasks; i++)
        missing += !d->tasks[i].reported;
    if (missing == 0)
        return;
    char list[512] = "";
    size_t used = 0, shown = 0;
    for (size_t i = 0; i < d->ntasks && shown < 8; i++) {
        const struct tt_task *t = &d->tasks[i];
        if (t->reported)
            continue;
        int w = snprintf(list + used, sizeof(list) - used, "%s%llu \"%.40s\" (%s)",
                         shown ? ", " : "", (unsigned long long)t->id, t->name,
                         render_state_name(t->state));
        if (w < 0 || (size_t)w >= sizeof(list) - used)
            break;
        used += (size_t)w;
        shown++;
    }
    msg("timed out after %.3g s: %zu of %zu tasks did not report: %s%s; their executor did "
        "not poll them after the wake-up (%s)",
        timeout, missing, d->ntasks, list, missing > shown ? ", ..." : "",
        stopped ? "the process is stopped: resume it with kill -CONT"
                : "is it blocked or busy?");
}

/* Waits until the runtime has completed generation *gen (or a newer one,
 * which another tool asked for after ours and which supersedes it), reading
 * the control block into *ctl.  Returns 0 when done, 1 at the deadline, or
 * -errno after saying why. */
static int wait_done(struct proc_target *t, uint64_t control_addr, struct trt_control *ctl,
                     uint32_t *gen, uint64_t deadline)
{
    char why[256];
    long nap = 100000;
    for (;;) {
        int err = snap_read_control(t, control_addr, ctl, why, sizeof(why));
        if (err < 0) {
            if (err == -ESRCH)
                msg("PID %d exited during the dump; nothing was captured", (int)t->pid);
            else
                fail_access(t->pid, 0, "lost track of", err == -EPROTO ? -EIO : err);
            return err;
        }
        if ((int32_t)(ctl->active - *gen) > 0)
            *gen = ctl->active;
        if ((int32_t)(ctl->done - *gen) >= 0)
            return 0;
        if (mono_ns(CLOCK_MONOTONIC) >= deadline)
            return 1;
        struct timespec ts = {0, nap};
        nanosleep(&ts, NULL);
        if (nap < 5000000)
            nap *= 2;
    }
}

/* Rings the doorbell.  Another tasktrace-attach holds the doorbell thread
 * for microseconds at a time: when it is the tracer, wait and retry with a
 * fresh generation for up to a second before reporting it. */
static int ring_retrying(struct proc_target *t, pid_t pid, pid_t tid, uint64_t control_addr,
                         uint32_t *gen, unsigned hold_ms, uint64_t *stopped_ns)
{
    /* Another instance of this tool has this process's name. */
    char self[64] = "";
    proc_thread_comm(getpid(), 0, self, sizeof(self));
    for (int attempt = 0;; attempt++) {
        int err = bell_ring(t, tid, control_addr, *gen, hold_ms, stopped_ns);
        if (err != -EPERM || attempt >= 100 || !proc_tracer_is(pid, tid, self))
            return err;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
        struct trt_control ctl;
        char why[64];
        if (snap_read_control(t, control_addr, &ctl, why, sizeof(why)) == 0 &&
            (int32_t)(ctl.request - *gen) >= 0)
            *gen = ctl.request + 1 ? ctl.request + 1 : 1;
    }
}

/* Everything one run of the tool holds; freed by session_end. */
struct session {
    struct options o;
    struct proc_target t;
    Dwfl *dwfl;
    sym_ctx *sym;
    uint64_t control_addr;
    struct trt_control ctl;
    pid_t doorbell_tid;
    uint32_t gen;        /* the generation this dump reads; 0 without one */
    bool started;        /* the runtime started `gen` */
    bool complete;       /* the runtime completed `gen` */
    uint64_t stopped_ns; /* how long the doorbell thread was stopped */
    struct snap_registry reg;
    struct ringread_result ring;
    struct tt_dump d;
};

/* Finds the runtime in the target and reads its control block.  Returns 0,
 * or an exit code after saying why. */
static int session_locate(struct session *ss)
{
    pid_t pid = ss->o.pid;
    char why[256];
    int err = proc_open(&ss->t, pid);
    if (err == -ESRCH) {
        msg("no process with PID %d (check the PID; is it still running?)", (int)pid);
        return EXIT_FATAL;
    }
    if (err < 0)
        return fail_access(pid, 0, "cannot inspect", err);
    ss->dwfl = sym_dwfl_open_pid(pid, &err);
    if (!ss->dwfl)
        return fail_access(pid, 0, "cannot read the modules of", err);
    if (snap_locate(ss->dwfl, &ss->control_addr) < 0) {
        char comm[64] = "?";
        proc_thread_comm(pid, 0, comm, sizeof(comm));
        if (!proc_alive(pid))
            msg("PID %d exited while its modules were read", (int)pid);
        else
            msg("PID %d (%s) is not a tasktrace process: no '%s' symbol in its executable or "
                "libraries (link it with libtargetrt; a stripped static executable needs "
                "-Wl,--export-dynamic-symbol=%s)",
                (int)pid, comm, TRT_CONTROL_SYMBOL, TRT_CONTROL_SYMBOL);
        return EXIT_FATAL;
    }
    err = snap_read_control(&ss->t, ss->control_addr, &ss->ctl, why, sizeof(why));
    if (err == -EPROTO) {
        msg("PID %d: the tasktrace control block at 0x%llx is unusable: %s", (int)pid,
            (unsigned long long)ss->control_addr, why);
        return EXIT_FATAL;
    }
    if (err < 0)
        return fail_access(pid, 0, "cannot read", err);
    return 0;
}

/* Rings the doorbell for a new generation.  Returns 0, or an exit code
 * after saying why. */
static int session_ring(struct session *ss)
{
    pid_t pid = ss->o.pid, tid = ss->doorbell_tid;
    char comm[64];
    if (proc_thread_comm(pid, tid, comm, sizeof(comm)) < 0 ||
        strcmp(comm, TRT_DOORBELL_NAME) != 0) {
        msg("PID %d: the runtime's doorbell thread %d is gone; the process cannot be dumped",
            (int)pid, (int)tid);
        return EXIT_FATAL;
    }
    /* Past any request still pending, so the runtime sees a change. */
    const struct trt_control *c = &ss->ctl;
    ss->gen = (int32_t)(c->request - c->active) > 0 ? c->request + 1 : c->active + 1;
    if (ss->gen == 0)
        ss->gen = 1;
    /* TASKTRACE_ATTACH_HOLD_STOPPED_MS: a test hook, see bell_ring. */
    const char *hold = getenv("TASKTRACE_ATTACH_HOLD_STOPPED_MS");
    unsigned hold_ms = hold ? (unsigned)strtoul(hold, NULL, 10) : 0;
    int err = ring_retrying(&ss->t, pid, tid, ss->control_addr, &ss->gen,
                            hold_ms > 60000 ? 60000 : hold_ms, &ss->stopped_ns);
    if (err == -ETIMEDOUT) {
        msg("PID %d: the doorbell thread %d did not stop within 1 s (uninterruptible "
            "sleep?); try again",
            (int)pid, (int)tid);
        return EXIT_FATAL;
    }
    if (err < 0)
        return fail_access(pid, tid, "cannot ring the doorbell of", err);
    return 0;
}

/* Waits for the generation, then reads the registry and the generation's
 * records.  Returns 0, or an exit code after saying why. */
static int session_collect(struct session *ss)
{
    pid_t pid = ss->o.pid;
    char why[256];
    uint64_t deadline = mono_ns(CLOCK_MONOTONIC) + (uint64_t)(ss->o.timeout * 1e9);
    for (int attempt = 0;; attempt++) {
        if (ss->gen != 0) {
            int w = wait_done(&ss->t, ss->control_addr, &ss->ctl, &ss->gen, deadline);
            if (w < 0)
                return EXIT_FATAL;
            ss->complete = w == 0;
            ss->started = (int32_t)(ss->ctl.active - ss->gen) >= 0;
        }
        snap_registry_free(&ss->reg);
        /* No registry address: the process never created a traced task. */
        int err = ss->ctl.registry_addr == 0 ? 0
                  : snap_read_registry(&ss->t, ss->ctl.registry_addr, &ss->reg, why,
                                       sizeof(why));
        if (err == -EPROTO) {
            msg("PID %d: %s", (int)pid, why);
            return EXIT_FATAL;
        }
        if (err < 0)
            return fail_access(pid, 0, "cannot read the task registry of", err);
        if (!ss->started || ss->ctl.ring_addr == 0)
            return 0;
        err = snap_read_ring(&ss->t, ss->ctl.ring_addr, ss->gen, &ss->ring);
        if (err == 0) {
            /* Done with the records: the runtime may give their memory
             * back.  A failed write only keeps it until the next dump. */
            proc_write(&ss->t, ss->control_addr + offsetof(struct trt_control, read_done),
                       &ss->gen, sizeof(ss->gen));
            return 0;
        }
        /* Another tool's dump started after ours and replaced its records,
         * or moved them to a larger ring: wait for that one instead. */
        if (err == -EFAULT) {
            struct trt_control now;
            if (snap_read_control(&ss->t, ss->control_addr, &now, why, sizeof(why)) == 0 &&
                now.ring_addr != ss->ctl.ring_addr)
                err = -ESTALE;
        }
        if (err == -ESTALE && attempt < 5 && mono_ns(CLOCK_MONOTONIC) < deadline)
            continue;
        if (err == -ESTALE)
            msg("PID %d: other dumps of this process kept replacing this one's; try again",
                (int)pid);
        else if (err == -EPROTO)
            msg("PID %d: the capture ring at 0x%llx is corrupt", (int)pid,
                (unsigned long long)ss->ctl.ring_addr);
        else
            return fail_access(pid, 0, "cannot read the capture ring of", err);
        return EXIT_FATAL;
    }
}

static bool select_cb(void *arg, const struct trt_task_slot *s)
{
    return task_selected(arg, s);
}

/* Prints the dump and what was missing from it.  Returns the exit code. */
static int session_report(struct session *ss)
{
    const struct options *o = &ss->o;
    int filters_hit = 0;
    for (int i = 0; i < o->ntasks; i++)
        filters_hit += o->task_matched[i];
    if (o->ntasks > 0 && filters_hit == 0) {
        msg("PID %d has no task with id or name '%s'%s", (int)o->pid, o->tasks[0],
            o->ntasks > 1 ? " (nor any other --task given)" : "");
        return EXIT_FATAL;
    }
    const char *term = getenv("TERM");
    struct render_opts ro = {
        .raw = o->raw,
        .no_source = o->no_source,
        .color = o->color == 1 || (o->color == -1 && isatty(STDOUT_FILENO) &&
                                   !getenv("NO_COLOR") && !(term && strcmp(term, "dumb") == 0)),
    };
    int err = o->json ? render_json(stdout, &ss->d, &ro) : render_text(stdout, &ss->d, &ro);
    if (err < 0 || fflush(stdout) != 0 || ferror(stdout)) {
        msg("cannot write the output: %s", strerror(err < 0 ? -err : errno));
        return EXIT_FATAL;
    }
    int rc = ss->d.complete ? EXIT_COMPLETE : EXIT_PARTIAL;
    for (int i = 0; i < o->ntasks; i++)
        if (!o->task_matched[i]) {
            msg("no task with id or name '%s' in PID %d", o->tasks[i], (int)o->pid);
            rc = EXIT_PARTIAL;
        }
    bool stopped = !ss->complete && proc_state(o->pid) == 'T';
    if (!ss->started)
        msg("PID %d: the runtime did not start the dump within %.3g s: its doorbell thread %d "
            "did not run%s",
            (int)o->pid, o->timeout, (int)ss->doorbell_tid,
            stopped ? " (the process is stopped: resume it with kill -CONT)"
                    : " (is the machine overloaded?)");
    else if (!ss->complete)
        report_missing(&ss->d, o->timeout, stopped);
    if (ss->ring.lost)
        msg("%llu captured stacks were lost: the capture ring was too small for this dump",
            (unsigned long long)ss->ring.lost);
    return rc;
}

static void session_end(struct session *ss)
{
    dump_free(&ss->d);
    free(ss->ring.recs);
    snap_registry_free(&ss->reg);
    if (ss->sym)
        sym_free(ss->sym);
    if (ss->dwfl)
        dwfl_end(ss->dwfl);
    proc_close(&ss->t);
}

int main(int argc, char **argv)
{
    struct session ss = {.t = {.pid = 0, .memfd = -1}, .started = true};
    int rc;

    signal(SIGPIPE, SIG_IGN);
    if (parse_options(argc, argv, &ss.o) < 0)
        return EXIT_USAGE;
    uint64_t t_start = mono_ns(CLOCK_MONOTONIC);
    if ((rc = session_locate(&ss)) != 0)
        goto out;
    ss.doorbell_tid = ss.ctl.doorbell_tid;
    /* No doorbell: the process never created a traced task, so there is
     * nothing to wait for and the dump is complete as it is. */
    ss.complete = ss.doorbell_tid <= 0;
    if (ss.doorbell_tid > 0 && (rc = session_ring(&ss)) != 0)
        goto out;
    if ((rc = session_collect(&ss)) != 0)
        goto out;
    ss.d.pid = ss.o.pid;
    ss.sym = sym_new(ss.dwfl);
    if (!ss.sym || dump_build(&ss.d, ss.sym, ss.reg.slots, ss.reg.n, &ss.ring, ss.gen, ss.started,
                              ss.complete, ss.o.raw, select_cb, &ss.o) < 0) {
        msg("out of memory");
        rc = EXIT_FATAL;
        goto out;
    }
    rc = session_report(&ss);
    if (getenv("TASKTRACE_ATTACH_STATS"))
        msg("dump took %.1f ms; the doorbell thread was stopped for %.1f us",
            (mono_ns(CLOCK_MONOTONIC) - t_start) / 1e6, ss.stopped_ns / 1e3);
out:
    session_end(&ss);
    return rc;
}
