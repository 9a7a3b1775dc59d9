/* The tool's modes, one file each; main.c picks one.  Each returns the
 * tool's exit code (exitcodes.h) after saying what went wrong. */
#ifndef TT_CLI_MODES_H
#define TT_CLI_MODES_H

#include <stdbool.h>
#include <sys/types.h>

#include "model/compare.h"
#include "cli/session.h"

/* PID: the dump of a live process (mode_live.c), then --gcore. */
int mode_live(struct session *ss);
/* --core FILE: the dump of a core file, printed as a live one is. */
int mode_core(struct session *ss);
/* --symbolize FILE: a saved dump read back, symbolized here, printed. */
int mode_symbolize(struct session *ss);
/* --compare A.json B.json: two saved dumps compared. */
int mode_compare(struct session *ss);
/* Prints the comparison C (text, or JSON), or, when it cannot, the one
 * line that says why; returns the exit status of compare_print's verdict
 * (EXIT_NOT_MOVED, EXIT_PARTIAL, EXIT_COMPLETE), or EXIT_FATAL. */
int compare_report(struct compare *c, bool json);
/* --repeat N PID: N dumps of PID, each taken by a child running
 * mode_live, compared. */
int mode_repeat(struct session *ss);
/* --gcore FILE: a core of PID written to FILE with gdb's gcore.  Returns
 * 0, or EXIT_FATAL after saying why. */
int mode_gcore(pid_t pid, const char *file);

#endif
