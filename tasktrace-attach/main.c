/* tasktrace-attach: dump the await trees of every traced task of a live
 * process.
 *
 * Exit codes: 0 complete dump; 1 partial dump, printed, with one line per
 * cause on stderr and in the output (a timeout, an interrupt, no doorbell
 * thread, no capture ring, lost or unreadable records, a corrupt registry,
 * a cap or the deadline reached, a --task that matched nothing while
 * others did); 2 could not dump (no such process, a zombie, a kernel
 * thread, a thread id, not permitted, not a tasktrace process, corrupt
 * runtime data, target exited, no task matched --task); 64 usage error.
 * --compare and --repeat: 3 some task did not move, 0 every task moved, 1
 * none did not move but a dump was partial; --repeat: 130 interrupted.
 * A reader that closes the output early (| head) ends the tool quietly,
 * with the status the dump had. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tasktrace/clock.h>
#include <tasktrace/protocol.h>

#include "bell.h"
#include "compare.h"
#include "core.h"
#include "corelive.h"
#include "dump.h"
#include "filter.h"
#include "jsonread.h"
#include "live.h"
#include "model.h"
#include "proc.h"
#include "render.h"
#include "snap.h"
#include "sym.h"
#include "symbolize.h"
#include "symfind.h"
#include "tree.h"
#include "watchdog.h"

enum { EXIT_COMPLETE = 0, EXIT_PARTIAL = 1, EXIT_FATAL = 2, EXIT_USAGE = 64 };

#define MAX_TASK_FILTERS 64

struct options {
    pid_t pid;
    double timeout;
    bool raw, no_source, json;
    bool passive;          /* --passive: no doorbell, nothing polled */
    bool threads;          /* --threads: every thread with its live stack */
    const char *core;      /* --core FILE: dump a core file, not a process */
    const char *exe;       /* --exe PATH: the core's executable */
    const char *gcore;     /* --gcore FILE: write a core after the dump */
    const char *symbolize; /* --symbolize FILE: print a saved dump */
    bool short_names;      /* --short-names */
    int color;             /* -1 auto, 0 never, 1 always */
    int group;             /* --group 1, --no-group 0, -1 the view's default */
    bool folded;           /* --folded: flame graph input */
    struct filter filter;  /* --match, --state, --min-idle */
    const char *compare;   /* --compare A.json: the first file */
    int repeat;            /* --repeat N: N dumps compared, 0 for one dump */
    double interval;       /* --interval S: seconds between their starts */
    bool has_interval;
    const char *tasks[MAX_TASK_FILTERS];
    bool task_matched[MAX_TASK_FILTERS];
    int ntasks;
};

static const char *progname = "tasktrace-attach";

/* The last line said on stderr and the code of the failure it says, for
 * the error document --json writes on exit status 2 (docs/json.md). */
static char last_message[512];
static const char *fail_code;
static bool output_written; /* the dump was printed (or printing began) */

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2), nonnull(1)));
static void msg(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof(last_message), fmt, ap);
    va_end(ap);
}

/* Says why the tool cannot dump, as msg, and names the failure by CODE. */
static void fatal(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fatal(const char *code, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    msg("%s", line);
    fail_code = code;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s [OPTIONS] PID\n"
            "       %s [OPTIONS] --core COREFILE [--exe PATH]\n"
            "       %s [OPTIONS] --symbolize FILE|-\n"
            "       %s --compare A.json B.json\n"
            "       %s [OPTIONS] --repeat N [--interval SECONDS] PID\n"
            "Dump the await tree of every traced task in process PID, or in a core\n"
            "file of a process, and say which task a crash happened in; or compare\n"
            "dumps taken apart, to tell the tasks that did not move.\n"
            "\n"
            "  -t, --timeout SECONDS  wait at most this long for the tasks to report\n"
            "                         (default 2), and symbolize for at most as long\n"
            "                         again; then print what was captured\n"
            "  -r, --raw              keep every frame: executor, runtime and ABI helpers\n"
            "  -n, --no-source        print function names without file:line:column\n"
            "  -T, --task ID|NAME     dump only this task (repeatable)\n"
            "  -j, --json             print one JSON document (see docs/json.md)\n"
            "      --color=WHEN       colour the text output: auto, always or never\n"
            "      --passive          ring no doorbell and poll nothing: list the tasks\n"
            "                         and the live stacks of the threads inside a poll\n"
            "      --threads          also list every thread (at most %u): state, wait\n"
            "                         channel, the task it polls, its live stack\n"
            "      --core COREFILE    dump the tasks of a core file instead of a process:\n"
            "                         the last dump's stacks, the stacks of the threads\n"
            "                         inside a poll, the crash\n"
            "      --exe PATH         with --core: the core's executable, when the path\n"
            "                         the core names is wrong (its build id must match)\n"
            "      --gcore FILE       after the dump, write a core of PID to FILE with\n"
            "                         gdb's gcore, to examine later with --core\n"
            "      --symbolize FILE   print a dump saved with --json (or a raw one with\n"
            "                         only module, build_id, offset and pc in its frames;\n"
            "                         - reads stdin), symbolized with the modules here\n"
            "      --short-names      drop template and generic arguments, parameter\n"
            "                         lists and Rust hashes from function names\n"
            "      --group            print alike tasks (and threads) once, with how\n"
            "                         many, their ids and the longest idle; the default\n"
            "                         in text past 50 tasks; with --json, the groups\n"
            "                         instead of the tasks\n"
            "      --no-group         print every task on its own\n"
            "      --folded           print where the tasks wait as flame graph input:\n"
            "                         one 'frame;frame;frame COUNT' line per path\n"
            "      --match REGEX      show the tasks with a frame whose function or\n"
            "                         file matches REGEX (POSIX extended)\n"
            "      --state STATES     show the tasks in these states: idle, polling,\n"
            "                         done (a comma list; repeatable)\n"
            "      --min-idle SECONDS show the tasks idle (or inside a poll) at least\n"
            "                         this long; filters only choose what is shown\n"
            "      --compare A.json B.json\n"
            "                         compare two --json dumps of one process taken\n"
            "                         apart: the tasks that did not move first\n"
            "      --repeat N         take N dumps of PID (2 to %d) and compare the\n"
            "                         first and the last as --compare does; a task did\n"
            "                         not move if every dump has its poll count and stacks\n"
            "      --interval SECONDS with --repeat: the time from the start of one\n"
            "                         dump to the start of the next (default 1, more\n"
            "                         than 0 and at most 3600)\n"
            "  -h, --help             print this help and exit\n"
            "  -V, --version          print the version and exit\n"
            "\n"
            "Exit status:\n"
            "  0   complete dump: every task reported\n"
            "  1   partial dump: what is missing is named on stderr and in the output\n"
            "      (timeout, interrupt, no doorbell thread or capture ring, lost or\n"
            "      unreadable records, corrupt registry, a limit reached, or a --task\n"
            "      that matched nothing)\n"
            "  2   could not dump: no such process, a zombie, a kernel thread, a\n"
            "      thread id, not permitted, not a tasktrace process, corrupt runtime\n"
            "      data, the process exited, or no task matched --task; a file that\n"
            "      is not a core, a truncated core, a core of another program than\n"
            "      --exe, a core without the runtime; --gcore could not write the core\n"
            "  3   --compare, --repeat: some task did not move between the dumps (0:\n"
            "      every task in the first and the last moved; 1: none did not move\n"
            "      but a dump was partial, so a task it missed may show as moved)\n"
            "  64  usage error\n"
            "  130  --repeat: interrupted (SIGINT or SIGTERM); nothing is compared\n"
            "--repeat fails with status 2 when one of its dumps could not be taken.\n"
            "With --json, exit status 2 (and 130) also writes {\"version\":1,\"error\":\n"
            "{\"code\":..,\"message\":..}} to stdout (codes in docs/json.md).\n",
            progname, progname, progname, progname, progname, THREAD_LIST_MAX, COMPARE_MAX_DUMPS);
}

/* Long options without a short one. */
enum {
    OPT_GROUP = 256,
    OPT_NO_GROUP,
    OPT_FOLDED,
    OPT_MATCH,
    OPT_STATE,
    OPT_MIN_IDLE,
    OPT_COMPARE,
    OPT_REPEAT,
    OPT_INTERVAL,
};

static const char *esc(char *buf, size_t len, const char *s, bool quote);

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"timeout", required_argument, NULL, 't'},
        {"raw", no_argument, NULL, 'r'},
        {"no-source", no_argument, NULL, 'n'},
        {"task", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},
        {"color", required_argument, NULL, 'C'},
        {"colour", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"passive", no_argument, NULL, 'P'},
        {"threads", no_argument, NULL, 'H'},
        {"symbolize", required_argument, NULL, 'Y'},
        {"short-names", no_argument, NULL, 'N'},
        {"group", no_argument, NULL, OPT_GROUP},
        {"no-group", no_argument, NULL, OPT_NO_GROUP},
        {"folded", no_argument, NULL, OPT_FOLDED},
        {"match", required_argument, NULL, OPT_MATCH},
        {"state", required_argument, NULL, OPT_STATE},
        {"min-idle", required_argument, NULL, OPT_MIN_IDLE},
        {"compare", required_argument, NULL, OPT_COMPARE},
        {"repeat", required_argument, NULL, OPT_REPEAT},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"core", required_argument, NULL, 'K'},
        {"exe", required_argument, NULL, 'E'},
        {"gcore", required_argument, NULL, 'G'},
        {NULL, 0, NULL, 0},
    };
    int c;
    char *end;
    o->timeout = 2.0;
    o->color = -1;
    o->group = -1;
    filter_init(&o->filter);
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
        case 'r':
            o->raw = true;
            break;
        case 'n':
            o->no_source = true;
            break;
        case 'j':
            o->json = true;
            break;
        case 'P':
            o->passive = true;
            break;
        case 'H':
            o->threads = true;
            break;
        case 'K':
            o->core = optarg;
            break;
        case 'E':
            o->exe = optarg;
            break;
        case 'G':
            o->gcore = optarg;
            break;
        case OPT_GROUP:
            o->group = 1;
            break;
        case OPT_NO_GROUP:
            o->group = 0;
            break;
        case OPT_FOLDED:
            o->folded = true;
            break;
        case OPT_COMPARE:
            o->compare = optarg;
            break;
        case OPT_REPEAT: {
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || n < 2 || n > COMPARE_MAX_DUMPS) {
                char safe[4 * 64 + 1];
                msg("bad --repeat '%s': give a number of dumps from 2 to %d",
                    esc(safe, sizeof(safe), optarg, false), COMPARE_MAX_DUMPS);
                return -1;
            }
            o->repeat = (int)n;
            break;
        }
        case OPT_INTERVAL:
            errno = 0;
            o->interval = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o->interval > 0) || o->interval > 3600) {
                char safe[4 * 64 + 1];
                msg("bad --interval '%s': give seconds, more than 0 and at most 3600",
                    esc(safe, sizeof(safe), optarg, false));
                return -1;
            }
            o->has_interval = true;
            break;
        case OPT_MATCH: {
            char why[128], safe[4 * 128 + 1];
            if (filter_set_match(&o->filter, optarg, why, sizeof(why)) < 0) {
                msg("bad --match '%s': %s", esc(safe, sizeof(safe), optarg, false), why);
                return -1;
            }
            break;
        }
        case OPT_STATE:
            if (filter_add_states(&o->filter, optarg) < 0) {
                char safe[4 * 64 + 1];
                msg("bad --state '%s': give idle, polling or done, or a comma list of them",
                    esc(safe, sizeof(safe), optarg, false));
                return -1;
            }
            break;
        case OPT_MIN_IDLE:
            if (filter_set_min_idle(&o->filter, optarg) < 0) {
                char safe[4 * 64 + 1];
                msg("bad --min-idle '%s': give seconds, 0 or more",
                    esc(safe, sizeof(safe), optarg, false));
                return -1;
            }
            break;
        case 'Y':
            o->symbolize = optarg;
            break;
        case 'N':
            o->short_names = true;
            break;
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
        case 'h':
            usage(stdout);
            exit(EXIT_COMPLETE);
        case 'V':
            printf("%s %s\n", progname, TT_VERSION);
            exit(EXIT_COMPLETE);
        case ':':
            msg("option '%s' needs a value; see --help", argv[optind - 1]);
            return -1;
        default:
            msg("unknown option '%s'; see --help", argv[optind - 1]);
            return -1;
        }
    }
    if (o->folded && o->json) {
        msg("--folded and --json are two outputs: give one");
        return -1;
    }
    if (o->has_interval && !o->repeat) {
        msg("--interval spaces the dumps of --repeat; give --repeat N too");
        return -1;
    }
    /* The comparisons compare whole dumps: a filter that chose what one
     * dump shows would make a task that changed state look as if it
     * appeared or finished. */
    const char *no_compare = o->filter.has_match          ? "--match"
                             : o->filter.states != 0      ? "--state"
                             : o->filter.min_idle_ns >= 0 ? "--min-idle"
                             : o->group == 1              ? "--group"
                             : o->folded                  ? "--folded"
                                                          : NULL;
    if (o->compare) {
        if (no_compare || o->ntasks || o->repeat) {
            msg("--compare compares whole dumps: %s is for one dump", no_compare  ? no_compare
                                                                      : o->ntasks ? "--task"
                                                                                  : "--repeat");
            return -1;
        }
        if (optind != argc - 1) {
            msg("--compare takes two files; usage: %s --compare A.json B.json", progname);
            return -1;
        }
        return 0;
    }
    if (o->repeat) {
        if (no_compare || o->core || o->symbolize || o->gcore) {
            msg("--repeat compares whole dumps of a live process: %s is not for it",
                no_compare     ? no_compare
                : o->core      ? "--core"
                : o->symbolize ? "--symbolize"
                               : "--gcore");
            return -1;
        }
        if (!o->has_interval)
            o->interval = 1.0;
    }
    if (o->exe && !o->core) {
        msg("--exe names the executable of a --core file; give --core too");
        return -1;
    }
    if (o->core) {
        if (o->passive || o->gcore) {
            msg("--core reads a core file: %s is for a live process",
                o->passive ? "--passive" : "--gcore");
            return -1;
        }
        if (optind != argc) {
            msg("a PID and --core given; usage: %s [OPTIONS] --core COREFILE", progname);
            return -1;
        }
        return 0;
    }
    if (o->symbolize) {
        if (o->core || o->passive || o->gcore || o->threads) {
            msg("--symbolize prints a saved dump: %s is for a live process or a core",
                o->core      ? "--core"
                : o->passive ? "--passive"
                : o->gcore   ? "--gcore"
                             : "--threads");
            return -1;
        }
        if (optind != argc) {
            msg("a PID and --symbolize given; usage: %s [OPTIONS] --symbolize FILE", progname);
            return -1;
        }
        return 0;
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

/* Set by SIGINT and SIGTERM: stop waiting, print what was collected. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    interrupted = sig;
    /* A second Ctrl-C ends the tool at once. */
    signal(sig, SIG_DFL);
}

/* Escapes `s` (target bytes: a name, a path, a message naming a process)
 * into `buf` for stderr, exactly as the text view would print it. */
static const char *esc(char *buf, size_t len, const char *s, bool quote)
{
    return render_escape(buf, len, s, strlen(s), quote);
}

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

/* What /proc/PID/stat says of PID: its state letter and whether it is a
 * kernel thread (PF_KTHREAD in the flags).  Returns 0 or -errno. */
static int stat_of(pid_t pid, char *state, bool *kthread, char *comm, size_t commlen)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) S ppid pgrp session tty tpgid flags ...": the comm may
     * hold anything, ')' included; the last ')' ends it. */
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close || close < open)
        return -EIO;
    snprintf(comm, commlen, "%.*s", (int)(close - open - 1), open + 1);
    unsigned long flags = 0;
    if (sscanf(close + 1, " %c %*d %*d %*d %*d %*d %lu", state, &flags) != 2)
        return -EIO;
    *kthread = (flags & 0x00200000ul) != 0; /* PF_KTHREAD */
    return 0;
}

/* The thread group of thread `tid`, from /proc/TID/status; 0 if unknown. */
static pid_t tgid_of(pid_t tid)
{
    char path[64], line[256];
    pid_t tgid = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Tgid: %d", &tgid) == 1)
            break;
    fclose(f);
    return tgid;
}

/* Refuses what is not a live user process: a thread id given for its
 * process, a zombie, a kernel thread.  Returns 0 or EXIT_FATAL after
 * saying which. */
static int check_process(pid_t pid)
{
    char state = 0, comm[64] = "?", safe[300];
    bool kthread = false;
    if (stat_of(pid, &state, &kthread, comm, sizeof(comm)) < 0)
        return 0; /* the reads that follow say why */
    pid_t tgid = tgid_of(pid);
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

/* Everything one run of the tool holds; freed by session_end. */
struct session {
    struct options o;
    struct proc_target t;
    Dwfl *dwfl;
    sym_ctx *sym;
    uint64_t control_addr;
    struct trt_control ctl;
    struct trt_control first; /* the control block as first read */
    pid_t doorbell_tid;
    uint32_t gen;        /* the generation this dump reads; 0 without one */
    bool started;        /* the runtime started `gen` */
    bool complete;       /* the runtime completed `gen` */
    uint64_t stopped_ns; /* how long the doorbell thread was stopped */
    uint64_t t_start;    /* CLOCK_MONOTONIC at the start */
    uint64_t deadline;   /* end of the wait for the tasks */
    struct snap_registry reg;
    struct ringread_result ring;
    struct ringread_progress ring_steps; /* the ring read while waiting */
    struct tt_dump d;
    uint64_t t_located, t_waited, t_read, t_built, t_live, t_printed; /* phase ends,
                                   for TASKTRACE_ATTACH_STATS */
    struct symz symz;                                                 /* --symbolize */
    struct core_file core;                                            /* --core */
    bool core_opened;
};

/* Records one way the dump is incomplete: printed on stderr after the
 * output, and in the output itself.  `cause` is a stable identifier
 * (docs/json.md); the message holds target bytes only escaped. */
static void problem(struct session *ss, const char *cause, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct session *ss, const char *cause, const char *fmt, ...)
{
    struct tt_dump *d = &ss->d;
    if (d->nproblems == TT_MAX_PROBLEMS) {
        d->problems_dropped++;
        return;
    }
    struct tt_problem *p = &d->problems[d->nproblems++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
    p->cause = cause;
}

/* Where a task stuck inside a poll is, for a one-line message:
 * `stuck 2.03s in pthread_mutex_lock (thread 4253 "worker-2")`, from its
 * live stack; "" when it is not polling.  FN is scratch space. */
static void task_where(const struct tt_task *t, char *buf, size_t len, char *fn, size_t fnlen)
{
    char dur[RENDER_DURATION_MAX], thread[4 * 16 + 1], at[4 * 128 + 8] = "";
    buf[0] = '\0';
    if (t->state != TRT_TASK_POLLING)
        return;
    if (live_where(t, fn, fnlen)) {
        char safe[4 * 128 + 1];
        snprintf(at, sizeof(at), " in %s",
                 render_escape(safe, sizeof(safe), fn, strlen(fn), false));
    }
    render_escape(thread, sizeof(thread), t->thread_name,
                  strnlen(t->thread_name, sizeof(t->thread_name)), true);
    /* A long function name is cut: this is one line of a message. */
    if (snprintf(buf, len, "stuck %s%s (thread %d%s%s%s)", render_duration(t->poll_ns, dur), at,
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
        render_escape(name, sizeof(name), t->name, strnlen(t->name, sizeof(t->name)), true);
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
        problem(ss, cause,
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
        problem(ss, cause,
                "%s: %zu of %zu tasks did not report: %s; %s stuck inside a poll that has "
                "not returned%s",
                when, n, d->ntasks, list, n == 1 ? "it is" : "they are",
                stopped ? " (the process is stopped: resume it with kill -CONT)" : "");
    else if (n > 0)
        problem(ss, cause,
                "%s: %zu of %zu tasks did not report: %s; their executor did not poll them "
                "after the wake-up%s (%s)",
                when, n, d->ntasks, list, polling ? ", or they are stuck inside a poll" : "",
                stopped       ? "the process is stopped: resume it with kill -CONT"
                : interrupted ? "the dump was cut short"
                              : "is it blocked or busy?");
}

/* Whether every task the --task options select has reported generation
 * `gen`, which has started.  The registry is read for it.  Not "none still
 * owes it": the runtime publishes the generation before it marks the tasks
 * owing, so a task not marked yet would pass.  A selected task created
 * after the generation started will not report: then this stays false and
 * the wait goes on as without --task. */
static bool selected_reported(struct session *ss, uint32_t gen)
{
    struct snap_registry reg;
    char why[256];
    if (snap_read_registry(&ss->t, ss->ctl.registry_addr, &reg, why, sizeof(why)) < 0)
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
    snap_registry_free(&reg);
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
        int err = snap_read_control(&ss->t, ss->control_addr, &ss->ctl, why, sizeof(why));
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
         * (ringread_step): on another CPU than the target's, and the read
         * after the wait has that much less to do. */
        if (ss->ctl.ring_addr != 0 && ss->ctl.active == ss->gen && !ss->ring_steps.gave_up)
            (void)ringread_step(snap_proc_read, &ss->t, ss->ctl.ring_addr, ss->gen,
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
        /* From 0.1 ms up to 1 ms between looks: a look is one small read,
         * and a dump's end is seen within a millisecond. */
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

/* The tracer of thread `tid` of `pid` (TracerPid), 0 if none or unknown. */
static pid_t tracer_of(pid_t pid, pid_t tid)
{
    char path[96], line[256];
    int tracer = 0;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "TracerPid: %d", &tracer) == 1)
            break;
    fclose(f);
    return tracer;
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
    /* TASKTRACE_ATTACH_HOLD_STOPPED_MS: a test hook, see bell_ring. */
    const char *hold = getenv("TASKTRACE_ATTACH_HOLD_STOPPED_MS");
    unsigned hold_ms = hold ? (unsigned)strtoul(hold, NULL, 10) : 0;
    if (hold_ms > 60000)
        hold_ms = 60000;
    uint64_t until = trt_clock_ns(CLOCK_MONOTONIC) + 1000000000u;
    if (until < ss->deadline)
        until = ss->deadline;
    for (;;) {
        int err = bell_ring_next(&ss->t, tid, ss->control_addr, &ss->gen, hold_ms, &ss->stopped_ns);
        if (err != -EPERM || interrupted || trt_clock_ns(CLOCK_MONOTONIC) >= until)
            return err;
        struct trt_control now;
        char why[64];
        /* A debugger that is not this tool: say so at once.  (A tracer
         * already gone was another tool's seize.) */
        pid_t tracer = tracer_of(ss->o.pid, tid);
        char name[64];
        if (tracer > 0 && proc_thread_comm(tracer, 0, name, sizeof(name)) == 0 &&
            strcmp(name, self) != 0)
            return err;
        bool read = snap_read_control(&ss->t, ss->control_addr, &now, why, sizeof(why)) == 0;
        if (tracer == 0 && !(read && other_dump_seen(&ss->first, &now)))
            return err;
        /* 5 to 15 ms, so that tools that collided do not collide again. */
        seed = seed * 1103515245u + 12345u;
        struct timespec ts = {0, 5000000 + (long)(seed >> 8) % 10000000};
        nanosleep(&ts, NULL);
        if (snap_read_control(&ss->t, ss->control_addr, &now, why, sizeof(why)) == 0) {
            ss->ctl = now;
            if ((int32_t)(now.request - ss->gen) >= 0)
                ss->gen = now.request + 1 ? now.request + 1 : 1;
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
        if (snap_read_control(&ss->t, ss->control_addr, &now, why, sizeof(why)) != 0)
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
    ss->dwfl = sym_dwfl_open_pid(pid, &err);
    if (!ss->dwfl)
        return fail_access(pid, 0, "cannot read the modules of", err);
    if (snap_locate(ss->dwfl, &ss->control_addr) < 0) {
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
    err = snap_read_control(&ss->t, ss->control_addr, &ss->ctl, why, sizeof(why));
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
    int err = wd_start(&watchdog_ns);
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
    ss->gen = (int32_t)(c->request - c->active) > 0 ? c->request + 1 : c->active + 1;
    if (ss->gen == 0)
        ss->gen = 1;
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
        struct ringread_result r;
        /* The first read goes on from what the wait read. */
        err = attempt == 0 ? ringread_finish(snap_proc_read, &ss->t, ss->ctl.ring_addr, ss->gen,
                                             &ss->ring_steps, &r)
                           : snap_read_ring(&ss->t, ss->ctl.ring_addr, ss->gen, &r);
        if (err < 0)
            return err;
        ringread_free(&ss->ring);
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
        snap_registry_free(&ss->reg);
        /* No registry address: the process never created a traced task. */
        int err = ss->ctl.registry_addr == 0 ? 0
                                             : snap_read_registry(&ss->t, ss->ctl.registry_addr,
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
            if (snap_read_control(&ss->t, ss->control_addr, &now, why, sizeof(why)) == 0 &&
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
static bool tasks_live(const struct snap_registry *reg)
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
    if (ss->doorbell_tid <= 0 && tasks_live(&ss->reg)) {
        int e = c->doorbell_errno;
        if (e > 0)
            problem(ss, "doorbell",
                    "PID %d: the runtime could not start its doorbell thread (%u attempts): "
                    "%s%s; its tasks are listed without stacks",
                    (int)pid, c->doorbell_fails, strerror(e),
                    e == EAGAIN   ? " (ulimit -u, or the pids limit of its cgroup?)"
                    : e == ENOMEM ? " (out of memory?)"
                                  : "");
        else if (c->fork_ns != 0)
            problem(ss, "doorbell",
                    "PID %d: the process was forked from one with tasks and has no doorbell "
                    "thread yet (it starts one with the first task it creates); its tasks are "
                    "listed without stacks",
                    (int)pid);
        else if (proc_state(pid) == 'T')
            problem(ss, "doorbell",
                    "PID %d: the runtime has not started its doorbell thread yet and the "
                    "process is stopped: resume it with kill -CONT; its tasks are listed "
                    "without stacks",
                    (int)pid);
        else
            problem(ss, "doorbell",
                    "PID %d: the runtime has no doorbell thread although it has tasks; its "
                    "tasks are listed without stacks",
                    (int)pid);
    }
    if (ss->started && ring_failed(ss))
        problem(ss, "ring",
                "PID %d: the runtime could not map a large enough capture ring for this dump: "
                "%s; captured stacks may be missing",
                (int)pid, strerror(c->ring_errno > 0 ? c->ring_errno : EIO));
    if (ss->ring.torn)
        problem(ss, "records_torn",
                "PID %d: %llu captured stack%s of this dump %s unreadable (torn or corrupt "
                "in the capture ring) and %s missing",
                (int)pid, (unsigned long long)ss->ring.torn, ss->ring.torn == 1 ? "" : "s",
                ss->ring.torn == 1 ? "was" : "were", ss->ring.torn == 1 ? "is" : "are");
    if (ss->ring.lost)
        problem(ss, "records_lost",
                "%llu captured stacks were lost: the capture ring was too small for this dump",
                (unsigned long long)ss->ring.lost);
    if (ss->ring.cut)
        problem(ss, "cap_records",
                "PID %d: the capture ring holds more than %u records for this dump; the %llu "
                "oldest were not read",
                (int)pid, RINGREAD_MAX_RECORDS, (unsigned long long)ss->ring.cut);
    if (ss->reg.dup_chunks || ss->reg.dup_ids)
        problem(ss, "registry_corrupt",
                "PID %d: the task registry is corrupt: %u repeated chunk pointers and %llu "
                "repeated task ids; each task is listed once",
                (int)pid, ss->reg.dup_chunks, (unsigned long long)ss->reg.dup_ids);
    if (ss->reg.cut)
        problem(ss, "cap_tasks",
                "PID %d: the task registry lists more than %u tasks; %llu were not read", (int)pid,
                SNAP_MAX_TASKS, (unsigned long long)ss->reg.cut);
}

static bool select_cb(void *arg, const struct trt_task_slot *s)
{
    return task_selected(arg, s);
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
    char path[96], sc[128] = "";
    long nr = -1;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
    FILE *f = fopen(path, "re");
    if (f) {
        if (fgets(sc, sizeof(sc), f) && sscanf(sc, "%ld", &nr) != 1)
            nr = -1;
        fclose(f);
    }
    char wchan[4 * sizeof(info.wchan) + 16] = "", safe[4 * sizeof(info.wchan) + 1];
    if (info.wchan[0])
        snprintf(wchan, sizeof(wchan), " (in %s)",
                 render_escape(safe, sizeof(safe), info.wchan, strlen(info.wchan), false));
    pid_t tracer = tracer_of(pid, tid);
    char tname[64] = "?", self[64] = "", tsafe[4 * 64 + 1];
    if (tracer > 0)
        proc_thread_comm(tracer, 0, tname, sizeof(tname));
    proc_thread_comm(getpid(), 0, self, sizeof(self));
    if (tracer > 0 && tracer != getpid())
        snprintf(buf, len, ": it is held %sby %s PID %d (%s)%s",
                 info.state == 't' ? "stopped " : "",
                 strcmp(tname, self) == 0 ? "another tasktrace-attach," : "the tracer", (int)tracer,
                 render_escape(tsafe, sizeof(tsafe), tname, strlen(tname), false),
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
static void note_dump_problems(struct session *ss)
{
    const struct options *o = &ss->o;
    struct tt_dump *d = &ss->d;
    for (int i = 0; i < o->ntasks; i++) {
        char safe[256];
        if (!o->task_matched[i])
            problem(ss, "task_unmatched", "no task with id or name '%s' in PID %d",
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
        problem(ss, interrupted ? "interrupted" : "not_started",
                "PID %d: the runtime did not start the dump %s %.3g s: its doorbell thread %d "
                "did not run%s",
                (int)o->pid, interrupted ? "before the interrupt, after" : "within",
                interrupted ? (trt_clock_ns(CLOCK_MONOTONIC) - ss->t_start) / 1e9 : o->timeout,
                (int)ss->doorbell_tid, cause);
    else if (ss->gen != 0 && missing)
        report_missing(ss, stopped);
    if (d->pcs_over)
        problem(ss, "cap_pcs",
                "PID %d: more than %u distinct addresses in this dump; %llu are printed "
                "unsymbolized",
                (int)o->pid, DUMP_MAX_PCS, (unsigned long long)d->pcs_over);
    if (d->pcs_late)
        problem(ss, "deadline",
                "PID %d: symbolizing ran out of time (see --timeout); %llu addresses are "
                "printed unsymbolized",
                (int)o->pid, (unsigned long long)d->pcs_late);
    if (d->problems_dropped)
        msg("%zu more problems than the %d shown", d->problems_dropped, TT_MAX_PROBLEMS);
}

/* The live stacks of the threads inside a poll (and every thread with
 * --threads), once the generation ended: see live.h.  Names what could not
 * be read.  Returns 0 or -ENOMEM. */
static int session_live(struct session *ss, struct live_stats *st)
{
    struct live_opts lo = {.threads = ss->o.threads};
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
    int err = live_fill(&ss->d, &ss->t, ss->dwfl, ss->sym, ss->ctl.registry_addr, ss->reg.slots,
                        ss->reg.n, &lo, st);
    if (err < 0)
        return err;
    if (st->exited)
        problem(ss, "exited",
                "PID %d exited during the dump: the live stack%s of %zu thread%s inside a "
                "poll could not be read",
                (int)ss->o.pid, st->failed == 1 ? "" : "s", st->failed, st->failed == 1 ? "" : "s");
    else if (st->failed) {
        char safe[4 * sizeof(st->first_error) + 1];
        problem(ss, "thread_stack",
                "PID %d: the live stack of %zu thread%s inside a poll could not be read (%s)",
                (int)ss->o.pid, st->failed, st->failed == 1 ? "" : "s",
                esc(safe, sizeof(safe), st->first_error, false));
    }
    if (st->out_of_time) {
        char list[200] = "";
        size_t used = 0;
        for (size_t i = 0; i < st->out_of_time && i < LIVE_MAX_UNREAD; i++) {
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
        problem(ss, "deadline",
                "PID %d: %zu thread%s not read: the time for thread stacks (%.3g s, "
                "--timeout) ran out: %s%s",
                (int)ss->o.pid, st->out_of_time, st->out_of_time == 1 ? " was" : "s were",
                ss->o.timeout, list, st->out_of_time > LIVE_MAX_UNREAD ? ", ..." : "");
    }
    if (ss->o.threads && st->threads_total > THREAD_LIST_MAX)
        problem(ss, "cap_threads", "PID %d has %zu threads; --threads lists the first %u",
                (int)ss->o.pid, st->threads_total, THREAD_LIST_MAX);
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
static void live_print_stats(struct live_stats *st)
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

/* Prints the dump and what was missing from it.  Returns the exit code. */
static int session_report(struct session *ss)
{
    const struct options *o = &ss->o;
    int filters_hit = 0;
    for (int i = 0; i < o->ntasks; i++)
        filters_hit += o->task_matched[i];
    if (o->ntasks > 0 && filters_hit == 0) {
        char safe[256];
        fatal("NO_TASK", "PID %d has no task with id or name '%s'%s", (int)o->pid,
              esc(safe, sizeof(safe), o->tasks[0], false),
              o->ntasks > 1 ? " (nor any other --task given)" : "");
        return EXIT_FATAL;
    }
    note_dump_problems(ss);
    /* Complete means nothing is missing: no problem was named.  With
     * --task, that the selected tasks reported is enough. */
    ss->d.complete = ss->d.nproblems == 0 && ss->d.problems_dropped == 0;
    int rc = ss->d.complete ? EXIT_COMPLETE : EXIT_PARTIAL;
    /* The filters choose what is shown, once what is missing is named:
     * they change neither the problems nor the exit status. */
    if (filter_apply(&o->filter, &ss->d, o->raw) < 0) {
        fatal("ENOMEM", "out of memory");
        return EXIT_FATAL;
    }
    ss->d.elapsed_ns = trt_clock_ns(CLOCK_MONOTONIC) - ss->t_start;
    const char *term = getenv("TERM");
    struct render_opts ro = {
        .raw = o->raw,
        .no_source = o->no_source,
        .group = o->group,
        .summary = true,
        .color = o->color == 1 || (o->color == -1 && isatty(STDOUT_FILENO) && !getenv("NO_COLOR") &&
                                   !(term && strcmp(term, "dumb") == 0)),
    };
    errno = 0;
    int err = o->json     ? render_json(stdout, &ss->d, &ro)
              : o->folded ? render_folded(stdout, &ss->d, &ro)
                          : render_text(stdout, &ss->d, &ro);
    output_written = true;
    if (err == 0 && (fflush(stdout) != 0 || ferror(stdout)))
        err = errno ? -errno : -EIO;
    /* The reader went away (| head): it has what it wanted. */
    bool pipe_closed = err == -EPIPE;
    if (err < 0 && !pipe_closed) {
        fatal("OUTPUT", "cannot write the output: %s", strerror(-err));
        return EXIT_FATAL;
    }
    for (size_t i = 0; i < ss->d.nproblems; i++)
        msg("%s", ss->d.problems[i].message);
    return rc;
}

/* --symbolize FILE: a saved dump read back, symbolized with the modules
 * found here (symbolize.h), and printed as a live one. */
static int session_symbolize(struct session *ss)
{
    char why[256], safe[512];
    int err = symz_load(ss->o.symbolize, &ss->d, &ss->symz, ss->o.short_names, select_cb, &ss->o,
                        why, sizeof(why));
    if (err != 0) {
        msg("cannot read the dump %s: %s", esc(safe, sizeof(safe), ss->o.symbolize, false), why);
        return EXIT_FATAL;
    }
    ss->o.pid = ss->d.pid;
    return session_report(ss);
}

/* Prints the comparison C (text, or JSON), or, when it cannot, the one
 * line that says why; returns compare_print's exit status, EXIT_FATAL. */
static int compare_report(struct compare *c, bool json)
{
    char why[512];
    const char *code = NULL;
    int rc = compare_print(c, json, stdout, why, sizeof(why), &code);
    if (rc < 0) {
        fatal(code, "%s", why);
        rc = EXIT_FATAL;
    }
    return rc;
}

/* --compare A.json B.json: two saved dumps compared (compare.h).  Returns
 * the exit code. */
static int session_compare(struct session *ss, const char *second)
{
    const char *paths[2] = {ss->o.compare, second};
    struct compare c = {0};
    char why[512], causes[128], safe[4 * 256 + 1];
    const char *code = "FAILED";
    int rc = EXIT_FATAL;
    for (int i = 0; i < 2; i++) {
        char *buf = NULL;
        size_t len = 0;
        esc(safe, sizeof(safe), paths[i], false);
        int err = compare_read_file(paths[i], &buf, &len, why, sizeof(why), &code);
        if (err == 0)
            err = compare_add(&c, buf, len, causes, sizeof(causes), why, sizeof(why), &code);
        free(buf);
        if (err != 0) {
            fatal(code, "cannot compare %s: %s", safe, why);
            goto out;
        }
        if (causes[0])
            msg("%s is a partial dump (%s): a task it missed may show as moved", safe, causes);
    }
    rc = compare_report(&c, ss->o.json);
out:
    compare_free(&c);
    return rc;
}

/* session_repeat's return in a child that is to take one dump. */
#define REPEAT_CHILD (-1)
/* The exit status of an interrupted --repeat: 128 + SIGINT. */
#define EXIT_INTERRUPTED 130

/* The code of the failure of a dump of --repeat, copied from its error
 * document, for fail_code. */
static char repeat_code[32];

/* In a child of --repeat, the moment its dump was started by the parent
 * (the dump's taken_at); 0 elsewhere. */
static int64_t repeat_taken_at_ms;

/* Reads the document a child writes to FD, up to JR_MAX_INPUT bytes (the
 * rest is drained), and reaps the child into *STATUS.  An interrupt of
 * this process is passed on to the child once, which then ends its dump
 * early.  Returns 0 or -errno (-E2BIG for a larger document). */
static int repeat_collect(pid_t child, int fd, char **doc, size_t *len, int *status)
{
    size_t cap = 1 << 16, have = 0;
    char *buf = malloc(cap), scratch[4096];
    bool forwarded = false;
    int err = buf ? 0 : -ENOMEM;
    for (;;) {
        if (interrupted && !forwarded) {
            kill(child, SIGINT);
            forwarded = true;
        }
        if (err == 0 && have == cap) {
            char *grown = cap <= JR_MAX_INPUT ? realloc(buf, cap * 2) : NULL;
            if (grown == NULL)
                err = cap <= JR_MAX_INPUT ? -ENOMEM : -E2BIG;
            else
                buf = grown, cap *= 2;
        }
        /* After a failure the rest is read and dropped: the child is not
         * left blocked on a full pipe. */
        ssize_t n =
            err == 0 ? read(fd, buf + have, cap - have) : read(fd, scratch, sizeof(scratch));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && err == 0)
            err = -errno;
        if (n <= 0)
            break;
        if (err == 0)
            have += (size_t)n;
    }
    while (waitpid(child, status, 0) < 0 && errno == EINTR)
        if (interrupted && !forwarded) {
            kill(child, SIGINT);
            forwarded = true;
        }
    if (err != 0) {
        free(buf);
        return err;
    }
    *doc = buf;
    *len = have;
    return 0;
}

/* Why a dump of --repeat failed (exit status 2), from the error document
 * DOC (LEN bytes) its child wrote: its code into repeat_code, its message
 * (the line the child said on stderr) into WHY. */
static void repeat_failure(const char *doc, size_t len, char *why, size_t whylen)
{
    struct jr_doc d;
    char inner[128];
    snprintf(repeat_code, sizeof(repeat_code), "FAILED");
    snprintf(why, whylen, "the dump failed");
    if (jr_parse(doc, len, &d, inner, sizeof(inner)) != 0)
        return;
    const struct jr_value *error = jr_get(&d.root, "error");
    const char *code = jr_str(jr_get(error, "code")), *message = jr_str(jr_get(error, "message"));
    if (code != NULL && strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") == strlen(code))
        snprintf(repeat_code, sizeof(repeat_code), "%s", code);
    /* The child escaped what it said; a control byte would still not be
     * copied to the terminal. */
    if (message != NULL) {
        snprintf(why, whylen, "%s", message);
        for (char *p = why; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
    }
    jr_free(&d);
}

/* --repeat N PID: N dumps of PID, o.interval seconds from the start of one
 * to the start of the next, compared as --compare compares two files
 * (compare.h): a task did not move when every dump lists it with the
 * first one's poll count and stacks.  Each dump is taken by a child of
 * this process, as the tool takes one dump with --json, into a pipe: the
 * dumps share the path of a single one and its problems, messages and
 * failures.  Returns the exit code, or REPEAT_CHILD in the child that is
 * to take a dump (its stdout the pipe, --json set). */
static int session_repeat(struct session *ss)
{
    struct options *o = &ss->o;
    struct compare c = {0};
    char why[512], causes[128];
    const char *code = "FAILED";
    int rc = EXIT_FATAL, n = o->repeat;
    uint64_t step = (uint64_t)(o->interval * 1e9), next = 0;
    struct timespec wall;
    /* The moment of an error document of the whole run. */
    clock_gettime(CLOCK_REALTIME, &wall);
    ss->d.taken_at_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
    for (int i = 1; i <= n && !interrupted; i++) {
        if (i > 1) {
            struct timespec ts = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
            while (!interrupted &&
                   clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
            if (interrupted)
                break;
        }
        next = trt_clock_ns(CLOCK_MONOTONIC) + step;
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) {
            fatal(errno == EMFILE ? "EMFILE" : "FAILED", "cannot take dump %d of %d of PID %d: %s",
                  i, n, (int)o->pid, strerror(errno));
            goto out;
        }
        fflush(stdout);
        fflush(stderr);
        /* The dump's moment is taken here, before the fork: the spacing
         * of the dumps is then the interval's, whenever the scheduler
         * first runs each child. */
        clock_gettime(CLOCK_REALTIME, &wall);
        pid_t parent = getpid(), child = fork();
        if (child == 0) {
            repeat_taken_at_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
            /* It dies with this process: a dump nobody will read is not
             * to go on holding the target's threads.  A parent gone
             * before the prctl is seen by getppid. */
            if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
                _exit(EXIT_FATAL);
            /* Its own process group: a Ctrl-C reaches this process only,
             * which passes it on once. */
            setpgid(0, 0);
            if (fds[1] != STDOUT_FILENO && dup2(fds[1], STDOUT_FILENO) < 0)
                _exit(EXIT_FATAL);
            /* Without CLOEXEC on the copy: it is the dump's stdout. */
            if (fds[1] == STDOUT_FILENO)
                fcntl(STDOUT_FILENO, F_SETFD, 0);
            /* The read end, unless the dup2 above already replaced it. */
            if (fds[0] != STDOUT_FILENO)
                close(fds[0]);
            if (fds[1] != STDOUT_FILENO)
                close(fds[1]);
            compare_free(&c);
            o->json = true;
            o->group = 0;
            o->repeat = 0;
            return REPEAT_CHILD;
        }
        int fork_errno = errno;
        close(fds[1]);
        if (child < 0) {
            close(fds[0]);
            fatal("FAILED", "cannot take dump %d of %d of PID %d: %s", i, n, (int)o->pid,
                  strerror(fork_errno));
            goto out;
        }
        char *doc = NULL;
        size_t len = 0;
        int status = 0, err = repeat_collect(child, fds[0], &doc, &len, &status);
        close(fds[0]);
        if (err != 0) {
            fatal(err == -ENOMEM ? "ENOMEM" : "FAILED", "dump %d of %d of PID %d: %s", i, n,
                  (int)o->pid,
                  err == -E2BIG ? "the document is too large to compare" : strerror(-err));
            goto out;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_FATAL) {
            /* The child said why on stderr; its error document has the
             * same line and its code. */
            char line[sizeof(last_message)];
            repeat_failure(doc, len, line, sizeof(line));
            free(doc);
            msg("dump %d of %d of PID %d failed; nothing is compared", i, n, (int)o->pid);
            snprintf(last_message, sizeof(last_message), "%s", line);
            fail_code = repeat_code;
            goto out;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) > EXIT_PARTIAL) {
            free(doc);
            fatal("FAILED", "dump %d of %d of PID %d failed: %s %d", i, n, (int)o->pid,
                  WIFEXITED(status) ? "exit status" : "killed by signal",
                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            goto out;
        }
        err = compare_add(&c, doc, len, causes, sizeof(causes), why, sizeof(why), &code);
        free(doc);
        if (err != 0) {
            fatal(code, "dump %d of %d of PID %d: %s", i, n, (int)o->pid, why);
            goto out;
        }
        if (causes[0])
            msg("dump %d of %d of PID %d is partial (%s): a task it missed may show as moved", i, n,
                (int)o->pid, causes);
    }
    if (interrupted) {
        msg("interrupted after %zu of %d dumps of PID %d; nothing is compared", c.ndumps, n,
            (int)o->pid);
        fail_code = "INTERRUPTED";
        if (o->json)
            render_json_error(stdout, o->pid, fail_code, last_message, ss->d.taken_at_ms);
        output_written = true;
        rc = EXIT_INTERRUPTED;
        goto out;
    }
    rc = compare_report(&c, o->json);
out:
    compare_free(&c);
    return rc;
}

static void session_end(struct session *ss)
{
    /* The tasks the filters left out are still the dump's to free. */
    if (ss->d.ntasks_total > ss->d.ntasks)
        ss->d.ntasks = ss->d.ntasks_total;
    filter_free(&ss->o.filter);
    dump_free(&ss->d);
    ringread_free(&ss->ring);
    ringread_progress_free(&ss->ring_steps);
    snap_registry_free(&ss->reg);
    if (ss->sym)
        sym_free(ss->sym);
    if (ss->dwfl)
        dwfl_end(ss->dwfl);
    symz_end(&ss->symz);
    if (ss->core_opened)
        core_close(&ss->core);
    proc_close(&ss->t);
}

/* The moment of a core, as near as the runtime's data tell: its newest
 * CLOCK_MONOTONIC reading (a dump's start or end, a task's creation, a
 * poll's start or end).  The core holds no clock of its own, so ages
 * measured to it are lower bounds.  UINT64_MAX when there is none. */
static uint64_t core_moment(const struct trt_control *c, const struct snap_registry *reg)
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

/* Reads the runtime out of the core ss->o.core: control block, registry,
 * the records of the last completed dump generation.  Returns 0, or an
 * exit code after saying why. */
static int session_core_read(struct session *ss)
{
    struct core_file *c = &ss->core;
    char why[1024], warn[1024], path[4 * 256 + 4], comm[4 * 17 + 1];
    esc(path, sizeof(path), ss->o.core, false);
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
    ss->dwfl = core_dwfl_open(c, ss->o.exe, &err, why, sizeof(why), warn, sizeof(warn));
    if (!ss->dwfl) {
        fatal(err == -ENOEXEC  ? "WRONG_EXE"
              : err == -ENOMEM ? "ENOMEM"
                               : "FAILED",
              "cannot read the core %s: %s", path, why);
        return EXIT_FATAL;
    }
    if (warn[0])
        msg("core %s: %s", path, warn);
    if (snap_locate(ss->dwfl, &ss->control_addr) < 0) {
        fatal("NOT_TASKTRACE",
              "core %s (PID %d, %s) holds no tasktrace runtime: no '%s' symbol in the files "
              "it names (if its executable was moved or rebuilt, give it with --exe)",
              path, (int)c->pid, comm, TRT_CONTROL_SYMBOL);
        return EXIT_FATAL;
    }
    err = snap_control_read(core_read, c, ss->control_addr, &ss->ctl, why, sizeof(why));
    if (err < 0) {
        fatal("CORRUPT", "core %s: the tasktrace control block at 0x%llx is %s%s", path,
              (unsigned long long)ss->control_addr,
              err == -EPROTO ? "unusable: " : "not in the core", err == -EPROTO ? why : "");
        return EXIT_FATAL;
    }
    err = ss->ctl.registry_addr == 0
              ? 0
              : snap_registry_read(core_read, c, ss->ctl.registry_addr, &ss->reg, why, sizeof(why));
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
        err = ringread_collect(core_read, c, ss->ctl.ring_addr, ss->gen, &ss->ring);
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
            problem(ss, "ring",
                    "core %s: the capture ring at 0x%llx is %s; the last dump's stacks are "
                    "missing",
                    path, (unsigned long long)ss->ctl.ring_addr,
                    err == -EPROTO ? "corrupt" : "not in the core");
    }
    if (ss->ring.torn)
        problem(ss, "records_torn",
                "core %s: %llu captured stacks of dump generation %u are unreadable", path,
                (unsigned long long)ss->ring.torn, ss->gen);
    if (ss->reg.dup_chunks || ss->reg.dup_ids)
        problem(ss, "registry_corrupt",
                "core %s: the task registry is corrupt: %u repeated chunk pointers and %llu "
                "repeated task ids; each task is listed once",
                path, ss->reg.dup_chunks, (unsigned long long)ss->reg.dup_ids);
    if (ss->reg.cut)
        problem(ss, "cap_tasks",
                "core %s: the task registry lists more than %u tasks; %llu "
                "were not read",
                path, SNAP_MAX_TASKS, (unsigned long long)ss->reg.cut);
    return 0;
}

/* --core: the dump of a core file, printed as a live one is.  Returns the
 * exit code. */
static int session_core(struct session *ss)
{
    int rc = session_core_read(ss);
    if (rc != 0)
        return rc;
    struct core_file *c = &ss->core;
    char path[4 * 256 + 4];
    esc(path, sizeof(path), ss->o.core, false);
    uint64_t now = core_moment(&ss->ctl, &ss->reg);
    ss->d.pid = c->pid;
    ss->d.core = ss->o.core;
    ss->d.stacks_age_ns = -1;
    if (ss->ring.n && now != UINT64_MAX && ss->ctl.gen_done_ns != 0)
        ss->d.stacks_age_ns = now > ss->ctl.gen_done_ns ? (int64_t)(now - ss->ctl.gen_done_ns) : 0;
    ss->sym = sym_new(ss->dwfl);
    sym_set_short_names(ss->sym, ss->o.short_names);
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
    struct corelive_stats st;
    if (!ss->sym || dump_build(&ss->d, ss->sym, ss->reg.slots, ss->reg.n, &ss->ring, &in) < 0 ||
        corelive_fill(&ss->d, c, ss->dwfl, ss->sym, ss->reg.slots, ss->reg.n, ss->o.threads,
                      ss->o.raw, &st) < 0) {
        msg("out of memory");
        return EXIT_FATAL;
    }
    ss->d.passive = true;
    ss->gen = 0; /* no generation of this tool's: nothing owed */
    if (st.failed) {
        char safe[4 * sizeof(st.first_error) + 1];
        problem(ss, "thread_stack",
                "core %s: the stack of %zu thread%s inside a poll could not be read (%s)", path,
                st.failed, st.failed == 1 ? "" : "s",
                esc(safe, sizeof(safe), st.first_error, false));
    }
    if (ss->o.threads && c->nthreads > THREAD_LIST_MAX)
        problem(ss, "cap_threads", "core %s has %zu threads; --threads lists the first %u", path,
                c->nthreads, THREAD_LIST_MAX);
    if (c->threads_cut)
        problem(ss, "cap_threads", "core %s has more than %u threads; %zu were not read", path,
                CORE_MAX_THREADS, c->threads_cut);
    return session_report(ss);
}

/* --gcore FILE: writes a core of PID to FILE with gdb's gcore, which
 * writes PREFIX.PID; renamed to FILE.  Returns 0, or EXIT_FATAL after
 * saying why. */
static int session_gcore(pid_t pid, const char *file)
{
    char prefix[4096], made[4200], safe[4 * 256 + 4], last[256] = "";
    esc(safe, sizeof(safe), file, false);
    if (snprintf(prefix, sizeof(prefix), "%s", file) >= (int)sizeof(prefix)) {
        fatal("GCORE", "cannot write a core of PID %d to %s: the path is too long", (int)pid, safe);
        return EXIT_FATAL;
    }
    snprintf(made, sizeof(made), "%s.%d", prefix, (int)pid);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        fatal("GCORE", "cannot write a core of PID %d: %s", (int)pid, strerror(errno));
        return EXIT_FATAL;
    }
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char pidarg[16];
        snprintf(pidarg, sizeof(pidarg), "%d", (int)pid);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
        }
        dup2(fds[1], STDERR_FILENO);
        execlp("gcore", "gcore", "-o", prefix, pidarg, (char *)NULL);
        _exit(errno == ENOENT ? 127 : 126);
    }
    close(fds[1]);
    if (child < 0) {
        close(fds[0]);
        fatal("GCORE", "cannot write a core of PID %d: %s", (int)pid, strerror(errno));
        return EXIT_FATAL;
    }
    /* Its last line says why, when it fails. */
    char buf[4096];
    size_t have = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + have, sizeof(buf) - 1 - have)) > 0 ||
           (n < 0 && errno == EINTR)) {
        if (n < 0)
            continue;
        have += (size_t)n;
        buf[have] = '\0';
        char *line, *save = NULL;
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            snprintf(last, sizeof(last), "%s", line);
        have = 0;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    struct stat st;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        fatal("GCORE", "cannot write a core of PID %d: gcore (from gdb) is not installed",
              (int)pid);
        return EXIT_FATAL;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || stat(made, &st) != 0) {
        char why[4 * sizeof(last) + 1];
        fatal("GCORE", "cannot write a core of PID %d to %s: gcore failed%s%s", (int)pid, safe,
              last[0] ? ": " : "", esc(why, sizeof(why), last, false));
        unlink(made);
        return EXIT_FATAL;
    }
    if (rename(made, file) != 0) {
        fatal("GCORE", "cannot write a core of PID %d to %s: %s", (int)pid, safe, strerror(errno));
        unlink(made);
        return EXIT_FATAL;
    }
    msg("wrote a core of PID %d to %s (read it with --core)", (int)pid, safe);
    return 0;
}

int main(int argc, char **argv)
{
    struct session ss = {.t = {.pid = 0, .memfd = -1}, .started = true};
    int rc;

    /* A closed output shows as EPIPE from the writes, handled there. */
    signal(SIGPIPE, SIG_IGN);
    if (parse_options(argc, argv, &ss.o) < 0) {
        /* A --match compiled before the error is let go. */
        filter_free(&ss.o.filter);
        return EXIT_USAGE;
    }
    /* Not SA_RESTART: an interrupt ends the naps of the wait at once. */
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* --repeat: the dumps are taken by children, each going on from here
     * as one dump with --json. */
    if (ss.o.repeat && (rc = session_repeat(&ss)) != REPEAT_CHILD)
        goto out;
    ss.t_start = trt_clock_ns(CLOCK_MONOTONIC);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    ss.d.taken_at_ms = repeat_taken_at_ms ? repeat_taken_at_ms
                                          : (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
    if (ss.o.compare) {
        rc = session_compare(&ss, argv[argc - 1]);
        goto out;
    }
    if (ss.o.core) {
        rc = session_core(&ss);
        goto out;
    }
    if (ss.o.symbolize) {
        rc = session_symbolize(&ss);
        goto out;
    }
    uint64_t timeout_ns = (uint64_t)(ss.o.timeout * 1e9);
    ss.deadline = ss.t_start + timeout_ns;
    if ((rc = session_locate(&ss)) != 0)
        goto out;
    if (!ss.o.passive)
        session_await_doorbell(&ss);
    ss.t_located = trt_clock_ns(CLOCK_MONOTONIC);
    /* --passive: no doorbell, so no generation: the registry as it is. */
    ss.doorbell_tid = ss.o.passive ? 0 : ss.ctl.doorbell_tid;
    if (ss.o.passive)
        ss.started = false; /* no generation, no records to read */
    if (ss.doorbell_tid > 0 && (rc = session_ring(&ss)) != 0)
        goto out;
    if ((rc = session_collect(&ss)) != 0)
        goto out;
    ss.t_read = trt_clock_ns(CLOCK_MONOTONIC);
    /* Without a doorbell nothing was asked: the dump is complete only if
     * there is nothing to ask (note_collect_problems says otherwise). */
    if (ss.doorbell_tid <= 0)
        ss.complete = !tasks_live(&ss.reg);
    ss.d.pid = ss.o.pid;
    ss.d.passive = ss.o.passive;
    /* A passive dump asked nothing: no task reported, and none owed. */
    if (ss.o.passive)
        ss.complete = false;
    else
        note_collect_problems(&ss);
    ss.sym = sym_new(ss.dwfl);
    sym_set_short_names(ss.sym, ss.o.short_names);
    /* Symbolizing gets as long again as the wait could take. */
    uint64_t now = trt_clock_ns(CLOCK_MONOTONIC);
    uint64_t sym_deadline = (now > ss.deadline ? now : ss.deadline) + timeout_ns;
    /* TASKTRACE_ATTACH_SYMBOLIZE_MS: a test hook that gives symbolizing
     * that many milliseconds instead, to reach the deadline on purpose. */
    const char *budget = getenv("TASKTRACE_ATTACH_SYMBOLIZE_MS");
    if (budget)
        sym_deadline = now + (uint64_t)strtoul(budget, NULL, 10) % 3600000u * 1000000u;
    symfind_set_deadline(sym_deadline);
    struct dump_in in = {
        .gen = ss.gen,
        .started = ss.started,
        .complete = ss.complete,
        .raw = ss.o.raw,
        .fork_ns = ss.ctl.fork_ns,
        .deadline_ns = sym_deadline,
        .select = select_cb,
        .arg = &ss.o,
    };
    if (!ss.sym || dump_build(&ss.d, ss.sym, ss.reg.slots, ss.reg.n, &ss.ring, &in) < 0) {
        fatal("ENOMEM", "out of memory");
        rc = EXIT_FATAL;
        goto out;
    }
    ss.t_built = trt_clock_ns(CLOCK_MONOTONIC);
    struct live_stats *ls = calloc(1, sizeof(*ls));
    if (!ls || session_live(&ss, ls) < 0) {
        free(ls);
        fatal("ENOMEM", "out of memory");
        rc = EXIT_FATAL;
        goto out;
    }
    ss.t_live = trt_clock_ns(CLOCK_MONOTONIC);
    rc = session_report(&ss);
    ss.t_printed = trt_clock_ns(CLOCK_MONOTONIC);
    if (getenv("TASKTRACE_ATTACH_STATS")) {
        /* Where the time went: the target's captures (the wait), the
         * tool's reading, model building (symbolizing), live stacks and
         * printing. */
        msg("phases (ms): locate %.1f, ring+wait %.1f, read %.1f, build %.1f, live %.1f, "
            "print %.1f; %zu tasks, %zu records",
            (ss.t_located - ss.t_start) / 1e6, (ss.t_waited - ss.t_located) / 1e6,
            (ss.t_read - ss.t_waited) / 1e6, (ss.t_built - ss.t_read) / 1e6,
            (ss.t_live - ss.t_built) / 1e6, (ss.t_printed - ss.t_live) / 1e6, ss.reg.n, ss.ring.n);
        msg("dump took %.1f ms; the doorbell thread was stopped for %.1f us; the watchdog "
            "started in %.1f us",
            (trt_clock_ns(CLOCK_MONOTONIC) - ss.t_start) / 1e6, ss.stopped_ns / 1e3,
            watchdog_ns / 1e3);
        live_print_stats(ls);
    }
    free(ls);
    /* The core is written once the dump has let every thread go. */
    if (ss.o.gcore && session_gcore(ss.o.pid, ss.o.gcore) != 0)
        rc = EXIT_FATAL;
out:
    /* --json: a failure is a document too, for scripts to branch on. */
    if (rc == EXIT_FATAL && ss.o.json && !output_written &&
        (!fail_code || strcmp(fail_code, "OUTPUT") != 0))
        render_json_error(stdout, ss.o.compare ? 0 : ss.o.pid, fail_code ? fail_code : "FAILED",
                          last_message, ss.d.taken_at_ms);
    session_end(&ss);
    return rc;
}
