/* Which mappings of a process are its loaded modules, and where each is
 * loaded: the rule shared by a live process (/proc/PID/maps) and a core
 * (its NT_FILE note).
 *
 * A process can map a module's file more than once: the loader maps its
 * PT_LOAD segments, and a symbolizer (Rust's standard library printing a
 * panic's backtrace, a crash reporter, a JIT) may map the whole file
 * again, read-only, elsewhere.  Taking every mapping of the file for the
 * module, or the lowest one for its start, reads its symbols at the
 * wrong bias.  Here the mappings of each file are matched against the
 * file's own program headers: a loaded copy is where the executable
 * PT_LOAD is mapped, executable, at that segment's file offset; its load
 * bias follows from that mapping alone, and only the mappings inside the
 * copy's extent belong to it.  A file mapped by the loader twice (two
 * copies, as two link-map namespaces load) gives two modules.  A file
 * whose headers cannot be read, or that has no such mapping, keeps the
 * old rule: each run of its mappings with no other file's between them is
 * one module starting at the run's first mapping.
 *
 * Nothing here reads anything by itself but /proc/PID/maps in
 * modmap_pid_read, through proc_maps_each (target/proc.h): the caller
 * supplies the program headers.  Every count
 * is bounded.  Not thread-safe only in that the arrays are the caller's. */
#ifndef TT_MODMAP_H
#define TT_MODMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A mapping's permissions; MODMAP_PROT_UNKNOWN when the source does not
 * say (a core's NT_FILE entry without a matching segment). */
enum {
    MODMAP_R = 1u,
    MODMAP_W = 2u,
    MODMAP_X = 4u,
    MODMAP_PROT_UNKNOWN = 8u,
};

/* Most PT_LOAD segments taken from one file, most program headers read,
 * and most mappings modmap_pid_read returns. */
#define MODMAP_LOADS_MAX 64
#define MODMAP_PHDRS_MAX 1024
#define MODMAP_MAPS_MAX 65536

/* One mapping of a file into the process. */
struct modmap_map {
    uint64_t start, end; /* [start, end) in the process */
    uint64_t offset;     /* in bytes, into the file */
    unsigned prot;       /* MODMAP_R | MODMAP_W | MODMAP_X, or UNKNOWN */
    uint64_t dev, ino;   /* the file (dev as st_dev); both 0: the name tells */
    const char *name;    /* owned by the caller */
};

/* One PT_LOAD segment of a file, as its program header says. */
struct modmap_load {
    uint64_t vaddr, offset, memsz, align;
    uint32_t flags; /* PF_R, PF_W, PF_X */
};

/* A module to report: NAME loaded so that dwfl_report_module(NAME, LOW,
 * HIGH) gives it its load bias BIAS (libdwfl takes the bias as LOW less
 * the first PT_LOAD's p_vaddr aligned down to its p_align).  HAS_BIAS is
 * 0 for a module found by the old rule, whose bias libdwfl guesses the
 * same way from LOW. */
struct modmap_module {
    const char *name; /* a modmap_map's name */
    uint64_t low, high;
    uint64_t bias;
    int has_bias;
    size_t map; /* index, in the caller's array, of its first mapping */
};

/* Gives the PT_LOAD segments of the file mapped by the COUNT mappings
 * GROUP[0..COUNT) (the same file, in address order) into LOADS (at most
 * MAX, in program header order).  Returns how many, 0 when the file has
 * none or cannot be read (the old rule is used for it), or -ENOMEM to
 * stop. */
typedef long (*modmap_loads_fn)(void *arg, const struct modmap_map *const *group, size_t count,
                                struct modmap_load *loads, size_t max);

/* Reads what ELF program headers say of the PT_LOAD segments of a file
 * through READ (which reads LEN bytes at file offset OFF into BUF and
 * returns 0 or -errno): an ELF file of this machine's byte order, 32 or
 * 64 bits, at most MODMAP_PHDRS_MAX headers.  Returns as modmap_loads_fn,
 * 0 for anything else (not ELF, a header out of bounds). */
long modmap_elf_loads(int (*read)(void *ctx, uint64_t off, void *buf, size_t len), void *ctx,
                      struct modmap_load *loads, size_t max);

/* The modules of the N mappings MAPS (in address order; PAGE the page
 * size, a power of two) into OUT (at most MAX, in address order), as the
 * rule above finds them; LOADS is called once per file.  Returns how
 * many, or -ENOMEM (or what LOADS returned below 0). */
long modmap_modules(const struct modmap_map *maps, size_t n, uint64_t page, modmap_loads_fn loads,
                    void *arg, struct modmap_module *out, size_t max);

/* Reads /proc/PID/maps: its mappings of files (a name starting with '/'
 * and a device or inode) into a new array *MAPS of *N, in address order,
 * at most MODMAP_MAPS_MAX, to be released with modmap_pid_free.
 * *VDSO_START and *VDSO_END receive the [vdso] mapping, or 0.  Returns 0
 * or -errno (-ENOENT, -EACCES from opening the file, -ENOMEM). */
int modmap_pid_read(pid_t pid, struct modmap_map **maps, size_t *n, uint64_t *vdso_start,
                    uint64_t *vdso_end);

/* Releases what modmap_pid_read returned; NULL is allowed. */
void modmap_pid_free(struct modmap_map *maps, size_t n);

#endif
