/* The tool's command line: the options, which mode they ask for, and the
 * help. */
#ifndef TT_CLI_OPTIONS_H
#define TT_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "model/filter.h"

#define MAX_TASK_FILTERS 64

/* What the command line asks for: one mode, the first that applies. */
enum cli_mode { MODE_COMPARE, MODE_REPEAT, MODE_CORE, MODE_SYMBOLIZE, MODE_DUMP };

struct options {
    enum cli_mode mode;
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
    const char *compare2;  /* and the second */
    int repeat;            /* --repeat N: N dumps compared, 0 for one dump */
    double interval;       /* --interval S: seconds between their starts */
    bool has_interval;
    const char *tasks[MAX_TASK_FILTERS];
    bool task_matched[MAX_TASK_FILTERS];
    int ntasks;
};

/* Reads the command line into O and picks its mode.  --help and --version
 * print and exit.  Returns 0, or -1 after saying why (a usage error). */
int parse_options(int argc, char **argv, struct options *o);

/* Prints --help to F. */
void usage(FILE *f);

#endif
