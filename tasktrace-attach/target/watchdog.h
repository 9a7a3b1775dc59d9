/* A watchdog that bounds how long a thread of the target stays stopped
 * because of this tool, whatever happens to the tool.  The kernel lets a
 * tracee go only when its tracer detaches or dies: a tool stopped
 * (SIGSTOP, Ctrl-Z, a debugger) while it holds a thread stopped would keep
 * it stopped as long.  So before the first hold the tool forks a small
 * process in a process group of its own (kill -STOP -PGID and the
 * terminal's job control miss it), which dies with the tool
 * (PR_SET_PDEATHSIG).  The tool marks the start and the end of each hold
 * in a page both share; a hold longer than WATCHDOG_BOUND_MS whose thread is
 * still in a traced stop makes the watchdog say so on stderr and SIGKILL
 * the tool, and the kernel lets the thread go.
 *
 * What it cannot bound: a freeze of a cgroup holding both processes, or
 * the watchdog stopped on purpose too. */
#ifndef TT_WATCHDOG_H
#define TT_WATCHDOG_H

#include <stdint.h>
#include <sys/types.h>

/* The longest a hold may last, in milliseconds: a hold takes tens of
 * microseconds; this leaves room for a loaded machine's scheduling. */
#define WATCHDOG_BOUND_MS 500u

/* Starts the watchdog once per process (later calls return at once).
 * Returns 0, or -errno (then holds are not bounded; the caller goes on).
 * *start_ns, if not NULL, receives what starting it took (0 if it ran
 * already). */
int watchdog_start(uint64_t *start_ns);

/* A hold of thread TID of process PID begins: call just before the
 * PTRACE_INTERRUPT.  Async-signal-safe; a store, and a FUTEX_WAKE only
 * when the watchdog sleeps. */
void watchdog_hold_begin(pid_t pid, pid_t tid);

/* The hold ends: call after the PTRACE_DETACH. */
void watchdog_hold_end(void);

#endif
