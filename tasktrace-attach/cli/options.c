/* The command line: getopt, the values' checks, and a table of which
 * options each mode refuses, so that a new mode or option is one row. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "model/compare.h"
#include "cli/diag.h"
#include "cli/exitcodes.h"
#include "cli/options.h"
#include "target/thread.h"

/* Where the meanings of the exit codes start in --help, under the longest
 * code: two spaces at least after it (test-exitcodes.sh reads them so). */
#define EXIT_CODE_COLUMN 7

/* One code and its MEANING, each line of it from EXIT_CODE_COLUMN. */
static void usage_exit_code(FILE *f, int code, const char *meaning)
{
    int w = fprintf(f, "  %d", code);
    for (const char *line = meaning; *line;) {
        size_t n = strcspn(line, "\n");
        fprintf(f, "%*s%.*s\n", EXIT_CODE_COLUMN - w, "", (int)n, line);
        line += n + (line[n] == '\n');
        w = 0;
    }
}

static void usage_exit_codes(FILE *f)
{
    fprintf(f, "Exit status:\n");
#define EXIT_CODE_HELP(code, name, meaning) usage_exit_code(f, code, meaning);
    EXIT_CODE_TABLE(EXIT_CODE_HELP)
#undef EXIT_CODE_HELP
}

void usage(FILE *f)
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
            "\n",
            progname, progname, progname, progname, progname, THREAD_LIST_MAX, COMPARE_MAX_DUMPS);
    usage_exit_codes(f);
    fprintf(f, "--repeat fails with status 2 when one of its dumps could not be taken.\n"
               "With --json, exit status 2 (and 130) also writes {\"version\":1,\"error\":\n"
               "{\"code\":..,\"message\":..}} to stdout (codes in docs/json.md).\n");
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

/* Sets what an option without a value to check sets.  Returns 1 when C
 * was one of them, else 0. */
static int set_flag(struct options *o, int c, char *arg)
{
    switch (c) {
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
    case 'N':
        o->short_names = true;
        break;
    case 'K':
        o->core = arg;
        break;
    case 'E':
        o->exe = arg;
        break;
    case 'G':
        o->gcore = arg;
        break;
    case 'Y':
        o->symbolize = arg;
        break;
    case OPT_COMPARE:
        o->compare = arg;
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
    default:
        return 0;
    }
    return 1;
}

/* Reads seconds, more than 0 and at most 3600, into *OUT.  Returns 0 or
 * -1. */
static int parse_seconds(const char *arg, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(arg, &end);
    return errno || end == arg || *end || !(*out > 0) || *out > 3600 ? -1 : 0;
}

/* Options whose values are checked.  Returns 0, or -1 after saying why. */
static int set_value(struct options *o, int c, char *arg)
{
    char safe[4 * 128 + 1], why[128], *end;
    switch (c) {
    case 't':
        if (parse_seconds(arg, &o->timeout) == 0)
            return 0;
        msg("bad --timeout '%s': give seconds, more than 0 and at most 3600", arg);
        return -1;
    case OPT_INTERVAL:
        o->has_interval = true;
        if (parse_seconds(arg, &o->interval) == 0)
            return 0;
        msg("bad --interval '%s': give seconds, more than 0 and at most 3600",
            esc(safe, 4 * 64 + 1, arg, false));
        return -1;
    case OPT_REPEAT: {
        errno = 0;
        long n = strtol(arg, &end, 10);
        o->repeat = (int)n;
        if (!(errno || end == arg || *end || n < 2 || n > COMPARE_MAX_DUMPS))
            return 0;
        msg("bad --repeat '%s': give a number of dumps from 2 to %d",
            esc(safe, 4 * 64 + 1, arg, false), COMPARE_MAX_DUMPS);
        return -1;
    }
    case OPT_MATCH:
        if (filter_set_match(&o->filter, arg, why, sizeof(why)) >= 0)
            return 0;
        msg("bad --match '%s': %s", esc(safe, sizeof(safe), arg, false), why);
        return -1;
    case OPT_STATE:
        if (filter_add_states(&o->filter, arg) >= 0)
            return 0;
        msg("bad --state '%s': give idle, polling or done, or a comma list of them",
            esc(safe, 4 * 64 + 1, arg, false));
        return -1;
    case OPT_MIN_IDLE:
        if (filter_set_min_idle(&o->filter, arg) >= 0)
            return 0;
        msg("bad --min-idle '%s': give seconds, 0 or more", esc(safe, 4 * 64 + 1, arg, false));
        return -1;
    case 'T':
        if (o->ntasks < MAX_TASK_FILTERS) {
            o->tasks[o->ntasks++] = arg;
            return 0;
        }
        msg("too many --task options (at most %d)", MAX_TASK_FILTERS);
        return -1;
    case 'C':
        o->color = strcmp(arg, "auto") == 0     ? -1
                   : strcmp(arg, "always") == 0 ? 1
                   : strcmp(arg, "never") == 0  ? 0
                                                : -2;
        if (o->color != -2)
            return 0;
        msg("bad --color '%s': use auto, always or never", arg);
        return -1;
    }
    return 1;
}

/* The options the rules below name, in the order a refusal names the
 * first one given. */
enum opt_bit {
    B_MATCH,
    B_STATE,
    B_MIN_IDLE,
    B_GROUP,
    B_FOLDED,
    B_TASK,
    B_REPEAT,
    B_CORE,
    B_SYMBOLIZE,
    B_PASSIVE,
    B_GCORE,
    B_THREADS,
    B_JSON,
    B_INTERVAL,
    B_EXE,
    B_COMPARE,
    B_COUNT,
};
#define B(x) (1u << B_##x)

static const char *const opt_names[B_COUNT] = {
    [B_MATCH] = "--match",     [B_STATE] = "--state",       [B_MIN_IDLE] = "--min-idle",
    [B_GROUP] = "--group",     [B_FOLDED] = "--folded",     [B_TASK] = "--task",
    [B_REPEAT] = "--repeat",   [B_CORE] = "--core",         [B_SYMBOLIZE] = "--symbolize",
    [B_PASSIVE] = "--passive", [B_GCORE] = "--gcore",       [B_THREADS] = "--threads",
    [B_JSON] = "--json",       [B_INTERVAL] = "--interval", [B_EXE] = "--exe",
    [B_COMPARE] = "--compare",
};

/* The comparisons compare whole dumps: a filter that chose what one dump
 * shows would make a task that changed state look as if it appeared or
 * finished. */
#define ONE_DUMP_ONLY (B(MATCH) | B(STATE) | B(MIN_IDLE) | B(GROUP) | B(FOLDED))

/* One rule of the command line, checked in the table's order: when every
 * option of WHEN is given, none of REFUSES may be (MESSAGE names the first
 * given, as its %s) and one of NEEDS must be.  A rule with a MODE picks
 * that mode, and the checks end with its operands: OPERANDS of them, else
 * OPERANDS_MESSAGE (its %s the program's name). */
struct rule {
    unsigned when, refuses, needs;
    const char *message;
    bool picks;
    enum cli_mode mode;
    int operands;
    const char *operands_message;
};

static const struct rule rules[] = {
    {B(FOLDED), B(JSON), 0, "--folded and --json are two outputs: give one", false, 0, 0, NULL},
    {B(INTERVAL), 0, B(REPEAT), "--interval spaces the dumps of --repeat; give --repeat N too",
     false, 0, 0, NULL},
    {B(COMPARE), ONE_DUMP_ONLY | B(TASK) | B(REPEAT), 0,
     "--compare compares whole dumps: %s is for one dump", true, MODE_COMPARE, 1,
     "--compare takes two files; usage: %s --compare A.json B.json"},
    /* --repeat goes on to the checks of a dump of a process. */
    {B(REPEAT), ONE_DUMP_ONLY | B(CORE) | B(SYMBOLIZE) | B(GCORE), 0,
     "--repeat compares whole dumps of a live process: %s is not for it", false, 0, 0, NULL},
    {B(EXE), 0, B(CORE), "--exe names the executable of a --core file; give --core too", false, 0,
     0, NULL},
    {B(CORE), B(PASSIVE) | B(GCORE), 0, "--core reads a core file: %s is for a live process", true,
     MODE_CORE, 0, "a PID and --core given; usage: %s [OPTIONS] --core COREFILE"},
    {B(SYMBOLIZE), B(CORE) | B(PASSIVE) | B(GCORE) | B(THREADS), 0,
     "--symbolize prints a saved dump: %s is for a live process or a core", true, MODE_SYMBOLIZE, 0,
     "a PID and --symbolize given; usage: %s [OPTIONS] --symbolize FILE"},
};

/* The rules' options that O gives. */
static unsigned given_of(const struct options *o)
{
    bool on[B_COUNT] = {
        [B_MATCH] = o->filter.has_match,
        [B_STATE] = o->filter.states != 0,
        [B_MIN_IDLE] = o->filter.min_idle_ns >= 0,
        [B_GROUP] = o->group == 1,
        [B_FOLDED] = o->folded,
        [B_TASK] = o->ntasks > 0,
        [B_REPEAT] = o->repeat != 0,
        [B_CORE] = o->core != NULL,
        [B_SYMBOLIZE] = o->symbolize != NULL,
        [B_PASSIVE] = o->passive,
        [B_GCORE] = o->gcore != NULL,
        [B_THREADS] = o->threads,
        [B_JSON] = o->json,
        [B_INTERVAL] = o->has_interval,
        [B_EXE] = o->exe != NULL,
        [B_COMPARE] = o->compare != NULL,
    };
    unsigned given = 0;
    for (int b = 0; b < B_COUNT; b++)
        given |= on[b] ? 1u << b : 0;
    return given;
}

/* Checks the options against the rules and the operands left (ARGS of
 * them, from ARGV) against the mode picked, and reads the PID of a dump.
 * Returns 0, or -1 after saying why. */
static int check_rules(struct options *o, int args, char **argv)
{
    unsigned given = given_of(o);
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        const struct rule *r = &rules[i];
        if ((given & r->when) != r->when)
            continue;
        unsigned bad = given & r->refuses;
        if (bad || (r->needs && !(given & r->needs))) {
            msg(r->message, bad ? opt_names[__builtin_ctz(bad)] : "");
            return -1;
        }
        if (!r->picks)
            continue;
        o->mode = r->mode;
        if (args != r->operands) {
            msg(r->operands_message, progname);
            return -1;
        }
        if (r->mode == MODE_COMPARE)
            o->compare2 = argv[0];
        return 0;
    }
    o->mode = o->repeat ? MODE_REPEAT : MODE_DUMP;
    if (o->repeat && !o->has_interval)
        o->interval = 1.0;
    if (args != 1) {
        msg(args == 0 ? "no PID given; usage: %s [OPTIONS] PID"
                      : "too many arguments; usage: %s [OPTIONS] PID",
            progname);
        return -1;
    }
    char *end;
    errno = 0;
    long pid = strtol(argv[0], &end, 10);
    if (errno || end == argv[0] || *end || pid <= 0 || pid > INT_MAX) {
        msg("bad PID '%s': give a positive process id", argv[0]);
        return -1;
    }
    o->pid = (pid_t)pid;
    return 0;
}

int parse_options(int argc, char **argv, struct options *o)
{
    int c;
    o->timeout = 2.0;
    o->color = -1;
    o->group = -1;
    filter_init(&o->filter);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":t:rnT:jhV", longopts, NULL)) != -1) {
        if (set_flag(o, c, optarg))
            continue;
        int err = set_value(o, c, optarg);
        if (err < 0)
            return -1;
        if (err == 0)
            continue;
        switch (c) {
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
    return check_rules(o, argc - optind, argv + optind);
}
