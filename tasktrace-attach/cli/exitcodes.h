/* The tool's exit statuses, defined once: the code, its name in the
 * source and what it means, as --help prints it (usage() in options.c
 * walks this table).  README and tasktrace-attach(1) describe the same
 * codes in their own words; tests/integration/test-exitcodes.sh checks
 * that both list exactly the codes --help does. */
#ifndef TT_CLI_EXITCODES_H
#define TT_CLI_EXITCODES_H

/* X(code, name, meaning): the meaning's lines are split by '\n'; --help
 * indents those after the first to stand under it. */
#define EXIT_CODE_TABLE(X)                                                   \
    X(0, EXIT_COMPLETE, "complete dump: every task reported")                \
    X(1, EXIT_PARTIAL,                                                       \
      "partial dump: what is missing is named on stderr and in the output\n" \
      "(timeout, interrupt, no doorbell thread or capture ring, lost or\n"   \
      "unreadable records, corrupt registry, a limit reached, or a --task\n" \
      "that matched nothing)")                                               \
    X(2, EXIT_FATAL,                                                         \
      "could not dump: no such process, a zombie, a kernel thread, a\n"      \
      "thread id, not permitted, not a tasktrace process, corrupt runtime\n" \
      "data, the process exited, or no task matched --task; a file that\n"   \
      "is not a core, a truncated core, a core of another program than\n"    \
      "--exe, a core without the runtime; --gcore could not write the core") \
    X(3, EXIT_NOT_MOVED,                                                     \
      "--compare, --repeat: some task did not move between the dumps (0:\n"  \
      "every task in the first and the last moved; 1: none did not move\n"   \
      "but a dump was partial, so a task it missed may show as moved)")      \
    X(64, EXIT_USAGE, "usage error")                                         \
    X(130, EXIT_INTERRUPTED, "--repeat: interrupted (SIGINT or SIGTERM); nothing is compared")

enum exit_code {
#define EXIT_CODE_ENUM(code, name, meaning) name = code,
    EXIT_CODE_TABLE(EXIT_CODE_ENUM)
#undef EXIT_CODE_ENUM
};

#endif
