#ifndef TT_ELFCHECK_H
#define TT_ELFCHECK_H

/* Bounds on an ELF file a target names, checked before libelf reads it,
 * and a copy of it that the target cannot change under the tool.
 *
 * libelf believes the file's headers: a section 0 that says the file has
 * 16 million sections makes elf_begin allocate and fill them all, and a
 * compressed section that says it inflates to 100 GB makes libdw allocate
 * that.  elfcheck_file reads the ELF header and the section headers with
 * pread (a few MiB at most) and refuses a file past these limits:
 */
#define ELFCHECK_FILE_MAX (4ull << 30)     /* bytes of a module or debug file */
#define ELFCHECK_COPY_MAX (1ull << 30)     /* bytes of one that must be copied */
#define ELFCHECK_SECTIONS_MAX 65536u       /* sections (e_shnum or section 0) */
#define ELFCHECK_SEGMENTS_MAX 65535u       /* program headers (e_phnum or section 0) */
#define ELFCHECK_SYMBOLS_MAX (1u << 24)    /* entries of .symtab or .dynsym */
#define ELFCHECK_INFLATED_MAX (2ull << 30) /* bytes of all compressed sections inflated */
/* and one whose section or header tables lie outside the file.
 *
 * libelf also maps the files libdwfl gives it (ELF_C_READ_MMAP): a file
 * that shrinks while mapped turns the next read of a page past its new
 * end into SIGBUS, which ends the tool.  A target can do that to a file it
 * may write.  elfcheck_stable therefore hands such a file over as a copy
 * in memory (memfd), read with pread, which a truncation only shortens;
 * a file the target cannot write (root's, not writable by group or
 * others, not on a FUSE file system whose server could be the target) is
 * mapped as it is, so that the usual large debug files in /usr/lib/debug
 * cost no copy.  A target running as root could still truncate those: it
 * could as well end the tool with a signal, so nothing is lost.
 *
 * Thread-safe: no state. */
#include <stddef.h>
#include <stdint.h>

/* Checks the ELF file open at FD against the limits above.  Returns 0, or
 * -ENOEXEC when it is no ELF file (WHY says so), -EFBIG or -E2BIG when it
 * passes a limit, -EIO when its headers cannot be read; WHY (WHYLEN
 * bytes) receives the reason for a message, e.g. "it claims 16777216
 * sections, more than the 65536 read". */
int elfcheck_file(int fd, char *why, size_t whylen);

/* Returns a descriptor of the file open at FD whose mapping no target can
 * make fault: FD itself, or a memfd holding a copy of it read
 * before DEADLINE_NS (CLOCK_MONOTONIC, 0 for none), in which case FD is
 * closed; a copy is checked again with elfcheck_file, as the file may
 * have changed since the caller checked it.  On failure FD is closed too
 * and the result is -errno: -EFBIG when the copy would be larger than
 * ELFCHECK_COPY_MAX, -ETIME at the deadline, elfcheck_file's errors for
 * the copy, with WHY set. */
int elfcheck_stable(int fd, uint64_t deadline_ns, char *why, size_t whylen);

/* CLOCK_MONOTONIC now, in nanoseconds. */
uint64_t elfcheck_now_ns(void);

#endif
