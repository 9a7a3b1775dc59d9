/* A real child process for the tests that stop and unwind a thread: its
 * second thread blocks in read() under two known functions,
 * tt_thread_blocked_caller calling tt_thread_blocked_leaf. */
#ifndef TT_TCHILD_H
#define TT_TCHILD_H

#include <stdbool.h>
#include <sys/types.h>

extern pid_t child_pid, child_tid;

/* Forks the child and waits until its second thread sleeps in read(). */
void child_start(void);

/* Kills and reaps the child, if there is one. */
void child_stop(void);

/* The TracerPid and State lines of a thread's status. */
void child_status_of(pid_t pid, pid_t tid, int *tracer, char *state);

/* NULL when this machine lets the test stop and unwind its own child with
 * ptrace, else why not (for a "SKIP:" line). */
const char *child_ptrace_missing(void);

#endif
