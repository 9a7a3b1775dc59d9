/* Reading and writing a target process's memory, and explaining why an
 * access was refused; and every file of /proc the tool parses (a
 * process's state, threads, tracer, mappings and root): the layers above
 * ask these functions, never /proc itself. */
#ifndef TT_PROC_H
#define TT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_target {
    pid_t pid;
    int memfd;     /* /proc/PID/mem, opened on first fallback; -1 before */
    int force_mem; /* read through /proc/PID/mem only (test hook, below) */
};

/* The environment variable TASKTRACE_ATTACH_FORCE_PROC_MEM, when set to a
 * non-empty value, is a test hook read by proc_open only: proc_read then
 * skips process_vm_readv and reads through /proc/PID/mem, the fallback
 * used where process_vm_readv is refused, so tests can exercise it. */
#define PROC_FORCE_MEM_ENV "TASKTRACE_ATTACH_FORCE_PROC_MEM"

/* Checks that `pid` exists.  Returns 0, -ESRCH, or another -errno. */
int proc_open(struct proc_target *t, pid_t pid);
void proc_close(struct proc_target *t);

/* Copies `len` bytes at `addr` in the target into `buf`.  Returns 0, -EFAULT
 * for an unmapped or short range, -ESRCH once the target is gone, -EPERM. */
int proc_read(struct proc_target *t, uint64_t addr, void *buf, size_t len);
/* Writes `len` bytes at `addr`; same returns as proc_read. */
int proc_write(struct proc_target *t, uint64_t addr, const void *buf, size_t len);

/* True while the process exists and is not a zombie. */
int proc_alive(pid_t pid);

/* The kernel's PF_EXITING task flag (include/linux/sched.h), as
 * /proc/PID/stat's ninth field shows it. */
#define PROC_PF_EXITING 0x4u

/* Whether PID is gone, a zombie, or its main thread has begun to exit
 * (PF_EXITING): a killed process shows it before its threads are gone. */
bool proc_exiting(pid_t pid);
/* The process's state letter from /proc/PID/stat ('R', 'S', 'T' stopped,
 * 't' traced, 'Z' ...), or 0 if it cannot be read. */
char proc_state(pid_t pid);

/* Writes into buf one sentence saying why tracing `tid` of `pid` was refused:
 * another tracer (with its PID and name), a different owner without
 * CAP_SYS_PTRACE, or kernel.yama.ptrace_scope. */
void proc_explain_eperm(pid_t pid, pid_t tid, char *buf, size_t len);

/* Reads /proc/PID/task/TID/comm into buf (NUL-terminated, newline removed).
 * Returns 0 or -errno. */
int proc_thread_comm(pid_t pid, pid_t tid, char *buf, size_t len);

/* Maps NSTID, a thread id of process PID as the process's own (innermost)
 * PID namespace numbers it, to the id the caller's namespace gives that
 * thread, in *HOST_TID.  A runtime inside a container publishes ids of its
 * own namespace; /proc/PID/task/TID/status lists every id of a thread on
 * its NSpid line, the caller's first and the innermost last.  When the
 * caller and the target share a namespace the mapping is the identity.
 * Reads at most PROC_MAX_THREADS threads.  Returns 0, -ESRCH when no thread
 * of PID has that id (the thread exited), -EINVAL for NSTID <= 0, or
 * another -errno from reading /proc. */
#define PROC_MAX_THREADS 100000
int proc_thread_from_ns(pid_t pid, pid_t nstid, pid_t *host_tid);

/* The tracer of thread TID of PID (its TracerPid): 0 if none, -1 if
 * unknown (its status file could not be read: the thread is gone). */
pid_t proc_tracer(pid_t pid, pid_t tid);

/* The thread group (process) of thread TID, 0 if unknown. */
pid_t proc_tgid(pid_t tid);

/* What /proc/PID/stat says of PID: its state letter, whether it is a
 * kernel thread (PF_KTHREAD in its flags) and its comm (raw bytes, cut to
 * COMMLEN).  Returns 0 or -errno (-EIO for a line it cannot parse). */
int proc_stat(pid_t pid, char *state, bool *kthread, char *comm, size_t commlen);

/* The number of the system call thread TID of PID is in, from
 * /proc/PID/task/TID/syscall; -1 when running or unknown. */
long proc_thread_syscall(pid_t pid, pid_t tid);

/* One line of /proc/PID/maps, as proc_maps_each parses it. */
struct proc_map {
    uint64_t start, end, offset;
    char perms[8]; /* "r-xp" */
    unsigned dev_major, dev_minor;
    uint64_t inode;
    const char *name; /* the path, "[vdso]"..., "" for none; its newline
                         removed; valid during the call only */
};

/* Called by proc_maps_each with each mapping M, in address order.
 * Returns 0 to go on, anything else to stop, which proc_maps_each then
 * returns. */
typedef int (*proc_map_fn)(void *arg, const struct proc_map *m);

/* Reads /proc/PID/maps, the one reader of it, handing each line it can
 * parse (a kernel's every line) to FN with ARG; FN bounds how many it
 * takes.  Returns 0 at the end, what FN returned to stop, or -errno from
 * opening the file (-ENOENT: no such process, -EACCES). */
int proc_maps_each(pid_t pid, proc_map_fn fn, void *arg);

/* The root directory of process PID (/proc/PID/root's target) into BUF
 * (LEN bytes, NUL-terminated).  Returns its length, or -errno
 * (-ENAMETOOLONG when it does not fit). */
long proc_root(pid_t pid, char *buf, size_t len);

#endif
