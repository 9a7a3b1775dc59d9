/* The one way the tool runs a child whose output it reads: a pipe, a
 * fork, the child's output drained to its end, the child reaped.  Used by
 * --repeat (a child per dump, its document read by jsonread_read_fd
 * first) and --gcore (gdb's gcore). */
#ifndef TT_CLI_SPAWN_H
#define TT_CLI_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct spawn {
    pid_t pid; /* the child */
    int fd;    /* the read end of its pipe */
    /* When *STOP is set (an interrupt of this process), SIGINT is passed
     * on to the child once; NULL passes nothing. */
    volatile sig_atomic_t *stop;
    bool forwarded;
};

/* Forks a child that runs CHILD(ARG, WFD), WFD the write end of a pipe
 * (close-on-exec) of which this process keeps the read end; CHILD does
 * not return (it execs or exits).  stdout is flushed first, so the child
 * does not write it again.  Returns 0, or -errno when the pipe or the
 * fork failed. */
int spawn_start(struct spawn *sp, void (*child)(void *arg, int wfd), void *arg);

/* Passes an interrupt of this process (*SP->stop) on to the child, once:
 * called before each read of the child's pipe, here and by a reader of
 * its own (a jsonread_wait_fn, util/jsonread.h, SP its argument). */
void spawn_forward(void *sp);

/* Reads what the child writes to its end, passing each piece to SINK
 * (BUF holds N bytes and a NUL after them; NULL drops them), until the
 * child closes it or a read fails, then closes the read end and reaps the
 * child into *STATUS.  Returns 0, or the -errno of the read that
 * failed. */
int spawn_finish(struct spawn *sp, void (*sink)(void *arg, char *buf, size_t n), void *arg,
                 int *status);

#endif
