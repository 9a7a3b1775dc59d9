/* A core file as a target: the memory image in its PT_LOAD segments, the
 * modules its NT_FILE note names, its threads with their registers
 * (NT_PRSTATUS) and the signal that ended the process (NT_SIGINFO,
 * pr_cursig).
 *
 * A core is untrusted input exactly like a live process's memory: every
 * count, offset and size in it is checked against the file and bounded, a
 * truncated core is refused rather than half read, and the files it names
 * are opened through safefile.h (in this tool's root, never blocking,
 * regular files that the core's user, from NT_PRPSINFO, could read), by
 * symbols/findcore.h, which checks them against the build ids the core
 * holds.
 *
 * Not thread-safe: one core_file per thread. */
#ifndef TT_CORE_H
#define TT_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <elfutils/libdwfl.h>
#include <libelf.h>

#include "target/safefile.h"
#include "target/thread.h"

/* Most program headers, threads and bytes of notes read from one core:
 * far more than any real process has, and the work stays bounded. */
#define CORE_MAX_SEGMENTS (1u << 20)
#define CORE_MAX_THREADS 65536u
#define CORE_MAX_NOTES (64u << 20)
/* Most files of the NT_FILE note reported as modules. */
#define CORE_MAX_MODULES 4096u

struct core_segment {
    uint64_t vaddr, memsz;   /* where it was in the process */
    uint64_t offset, filesz; /* what of it the core holds */
    uint32_t flags;          /* PF_R, PF_W, PF_X: the mapping's permissions */
};

/* One thread of the core, as the kernel (or gcore) saved it. */
struct core_thread {
    pid_t tid;               /* as the dumped process's namespace numbers it */
    int cursig;              /* the signal it was handling, 0 if none */
    struct thread_snap regs; /* registers; no stack copy (stack NULL) */
};

struct core_file {
    int fd;
    Elf *elf;
    uint64_t size;             /* of the file */
    char path[4096];           /* as given */
    struct core_segment *segs; /* PT_LOAD, sorted by vaddr */
    size_t nsegs;
    struct core_thread *threads; /* in note order: the first took the
                                    signal when the kernel wrote the core */
    size_t nthreads;
    size_t threads_cut;        /* NT_PRSTATUS notes past CORE_MAX_THREADS */
    pid_t pid;                 /* NT_PRPSINFO pr_pid, else the first thread */
    char fname[17];            /* NT_PRPSINFO pr_fname, raw bytes */
    bool have_siginfo;         /* NT_SIGINFO of the first thread was read */
    int signo, sigcode;        /* from NT_SIGINFO, else pr_cursig and 0 */
    bool has_sigaddr;          /* a fault with an address (SIGSEGV, SIGBUS...) */
    uint64_t sigaddr;          /* si_addr then, 0 included */
    uint64_t entry;            /* AT_ENTRY of NT_AUXV: in the executable; 0 */
    struct safefile_cred cred; /* whose files the core's modules are */
    char *files;               /* the NT_FILE note, copied; NULL without */
    size_t files_len;
    /* The module table a layer above built for this core (findcore.h),
     * released by core_close through modules_release; NULL without. */
    void *modules;
    void (*modules_release)(void *modules);
};

/* Opens the core at PATH and reads its headers and notes.  Returns 0 (free
 * with core_close), or after writing a reason into WHY: -ENOEXEC when it is
 * no ELF core of this machine's architecture; -EPROTO for corrupt headers
 * or notes; -EFBIG when it is truncated (a segment or note past its end);
 * -ENOMEM; or the -errno of opening it. */
int core_open(struct core_file *c, const char *path, char *why, size_t whylen);
void core_close(struct core_file *c);

/* A rtread_read_fn over the core's memory image (CTX is the core_file):
 * only bytes the core holds are read.  Returns 0, or -EFAULT when any of
 * [ADDR, ADDR + LEN) is not in the core (never mapped, or not dumped). */
int core_read(void *ctx, uint64_t addr, void *buf, size_t len);

/* The segment holding ADDR, or NULL. */
const struct core_segment *core_segment_at(const struct core_file *c, uint64_t addr);

/* The name of signal SIGNO ("SIGSEGV"), or NULL if it has none here. */
const char *core_signal_name(int signo);

/* Whether SIGNO ends a process with a core by default: the core then came
 * from that signal, not from gcore. */
bool core_signal_fatal(int signo);

#endif
