/* What every example does the same way: read its one numeric option, and
 * serve until killed once every task is waiting. */
#ifndef TT_EXAMPLE_H
#define TT_EXAMPLE_H

#include <tasktrace/exec.h>

/* Reads `flag N` (the only option the example takes) into *value, which
 * holds the default.  Returns 0, or 64 after printing a usage line for
 * `prog` when an argument is unknown or N is outside [min, max]. */
int example_option(int argc, char **argv, const char *prog, const char *flag, unsigned long min,
                   unsigned long max, unsigned long *value);

/* Runs one round of `ex`, so that every task spawned so far has been polled
 * and is waiting, then prints "pid PID" and `extra` (NULL for none) on
 * stdout and runs until killed.  Returns the exit status after an error. */
int example_serve(trt_exec *ex, const char *prog, const char *extra);

#endif
