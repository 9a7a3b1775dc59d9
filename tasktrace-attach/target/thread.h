/* One thread of a target, stopped for as short as possible: PTRACE_SEIZE and
 * PTRACE_INTERRUPT of that thread alone, a copy of its registers and of the
 * used part of its stack, PTRACE_DETACH.  The unwinding (symbols/unwind.c)
 * works on the copy afterwards, while the thread runs again.  If this
 * process dies at any point, the kernel detaches and the thread resumes.
 *
 * Also reads what /proc says about a thread: name, state, wait channel. */
#ifndef TT_THREAD_H
#define TT_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* Most bytes of a stack copied, from the stack pointer up: the frames
 * deeper than this (toward the root) are read from the live process. */
#define THREAD_STACK_COPY_MAX (256u * 1024u)

/* Most threads thread_list returns. */
#define THREAD_LIST_MAX 1024u

/* How long thread_capture waits for the thread to stop: a thread in
 * uninterruptible sleep stops only when it leaves it. */
#define THREAD_STOP_WAIT_MS 100u

/* Whether this build can copy and unwind a thread's registers. */
#if defined(__x86_64__) || defined(__aarch64__)
#define THREAD_SUPPORTED 1
#else
#define THREAD_SUPPORTED 0
#endif

/* DWARF registers of the initial frame: x86_64 0-16 (rax rdx rcx rbx rsi
 * rdi rbp rsp r8-r15 rip); aarch64 0-31 (x0-x30, sp). */
#define THREAD_MAX_REGS 33

/* One thread as it was while stopped. */
struct thread_snap {
    pid_t tid;
    unsigned nregs;                 /* valid entries of regs */
    uint64_t regs[THREAD_MAX_REGS]; /* DWARF numbering, from 0 */
    uint64_t pc;                    /* where it stopped: not a return address */
    uint64_t sp;
    const uint8_t *stack; /* copy of [sp, sp + stack_len) */
    size_t stack_len;
    uint64_t stopped_ns; /* from the interrupt to the detach: an
                                       upper bound of the time stopped */
    uint64_t held_ns;    /* from the stop seen to the detach: the
                                       part spent copying */
};

/* Fills OUT's regs, nregs, pc and sp from R (a live thread's
 * PTRACE_GETREGSET, or a core's NT_PRSTATUS), in DWARF numbering. */
void thread_regs_from_user(const struct user_regs_struct *r, struct thread_snap *out);

/* A buffer for stack copies, reused from thread to thread: allocated and
 * touched before any thread is stopped, so no page fault lengthens a stop. */
struct thread_buf {
    uint8_t *mem; /* THREAD_STACK_COPY_MAX bytes */
};
int thread_buf_init(struct thread_buf *b);
void thread_buf_free(struct thread_buf *b);

/* Stops thread TID of process PID, copies its registers and up to
 * THREAD_STACK_COPY_MAX bytes of its stack (from the stack pointer up to the
 * first unreadable page) into BUF, and detaches.  HOLD_MS (a test hook) keeps
 * it stopped that much longer.  Fills *OUT, whose stack points into BUF
 * until the next capture.  TID must be a thread of PID (checked: a
 * corrupt registry must not make the tool stop another process).
 * Returns 0; -ESRCH when the thread is gone (or not PID's); -EPERM (another
 * tracer, or not allowed); -ETIMEDOUT when it did not stop within
 * THREAD_STOP_WAIT_MS (it is let go as soon as it stops, see
 * thread_release_late); -ENOTSUP on an architecture without support; or
 * another -errno. */
int thread_capture(pid_t pid, pid_t tid, unsigned hold_ms, struct thread_buf *buf,
                   struct thread_snap *out);

/* Detaches from the threads that thread_capture gave up waiting for and
 * that have stopped since, waiting at most WAIT_MS for them.  Returns how
 * many are still not released (the kernel lets them go when this process
 * exits). */
size_t thread_release_late(unsigned wait_ms);

/* What /proc/PID/task/TID says about a thread. */
struct thread_info {
    char name[16];  /* comm, raw bytes (escape them to print); "" unknown */
    char state;     /* R, S, D, T, t, Z, ...; 0 unknown */
    char wchan[64]; /* kernel function it sleeps in; "" when running or
                       unknown */
};

/* Reads name, state and wait channel of TID.  Returns 0 or -errno
 * (-ESRCH once it is gone); fields that cannot be read stay unknown. */
int thread_read_info(pid_t pid, pid_t tid, struct thread_info *out);

/* Parses the state letter out of a /proc stat line ("tid (comm) S ...";
 * comm may hold ')' and spaces).  Returns the letter, or 0.  The parser
 * thread_read_info uses, exported for the thread suite: the lines a real
 * stat file never shows (cut short, no state after the comm) can be given
 * to it only directly. */
char thread_parse_stat_state(const char *line, size_t len);

/* Lists the threads of PID, ascending, into TIDS (room for MAX).  Returns
 * the number of threads found, which may exceed MAX (then the first MAX
 * are in TIDS), or -errno. */
long thread_list(pid_t pid, pid_t *tids, size_t max);

#endif
