/* Real core files for the tests that read one: a child of the test runs
 * a body, then aborts with a core limit in a temporary directory, and the
 * kernel writes its core there. */
#ifndef TT_TCORE_H
#define TT_TCORE_H

#include <stddef.h>
#include <sys/types.h>

/* Forks a child that runs BODY (which returns to abort, or never returns)
 * and then abort()s in a new temporary directory; waits for it and puts
 * the path of its core into PATH (LEN bytes).  Returns the child's PID;
 * fails the test when no core was written. */
pid_t core_child_make(void (*body)(void), char *path, size_t len);

/* Removes the core at PATH and its directory. */
void core_child_remove(const char *path);

/* NULL when the kernel writes a core into the crashing process's working
 * directory here, else why not (for a "SKIP:" line). */
const char *core_child_missing(void);

#endif
