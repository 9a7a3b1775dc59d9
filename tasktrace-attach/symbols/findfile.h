/* The one seam for finding modules' files: one set of libdwfl callbacks
 * (findfile_dwfl_begin) for every Dwfl the tool makes, and a small policy
 * per source, chosen by how a module was marked, saying how its files are
 * found.  In place of dwfl_linux_proc_find_elf and
 * dwfl_standard_find_debuginfo, which open() whatever path the target's
 * maps and debug links say, every file is opened through safefile.h:
 * never blocking, regular files the right user could read, held to
 * elfcheck.h's bounds before libelf reads it, and read into memory rather
 * than mapped when that user could truncate it (see elfcheck.h).
 *
 * The three sources, side by side:
 *   live   (findfile_attach, lookup.h): a mapped module is opened through
 *          /proc/PID/map_files when the tool may (CAP_SYS_ADMIN), else by
 *          its path in the target's root; [vdso] is read from memory.
 *          The paths in /proc/PID/maps are seen from the tool's root: a
 *          chrooted target's are made paths in its root first.  Separate
 *          debug info is searched in the target's root (finddebug.h).
 *   core   (findfile_attach_core, findcore.h): the file the core's NT_FILE
 *          note names, by its path in the tool's root under the rights
 *          of the core's owner, or --exe for its executable (checked
 *          against the build id the core holds by findcore).  Nothing a
 *          file points to (debug links) is followed.
 *   saved  (findfile_report_saved, model/symbolize.h): the module's path
 *          as the dump names it, else the debug file its build id names,
 *          else debuginfod (findsaved.h), each checked against the dump's
 *          build id; separate debug info as for a live process, in the
 *          tool's root, then from debuginfod.
 *
 * A file that is there but refused is named once on stderr, escaped, with
 * the reason; the module's frames then degrade to its symbol table, or to
 * module+offset.  A mapping of a device or of shared memory is no module
 * and is skipped silently; so is a missing debug file; split DWARF (.dwo)
 * is never read.  Reading and checking files stops at the deadline given
 * to findfile_set_deadline.  Not thread-safe: libdwfl calls these from the
 * thread that uses the Dwfl, and the core source serves one core at a
 * time. */
#ifndef TT_FINDFILE_H
#define TT_FINDFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <elfutils/libdwfl.h>

#include "target/safefile.h"

/* A new Dwfl whose callbacks are the seam's: they serve only modules
 * marked by one of the calls below, and find nothing for any other.
 * Returns the Dwfl (release with dwfl_end), or NULL as dwfl_begin. */
Dwfl *findfile_dwfl_begin(void);

/* Which policy serves a module. */
enum findfile_source {
    FINDFILE_LIVE,
    FINDFILE_CORE,
    FINDFILE_SAVED,
};

/* Marks every module reported in DWFL as one of live process PID's, in
 * the module's userdata, which the callbacks read.  Call after
 * dwfl_report_end, before anything loads a module.  Returns 0 or -EINVAL. */
int findfile_attach(Dwfl *dwfl, pid_t pid);

/* Makes the core source open files under CRED's rules (the core's owner:
 * target/core.h) and open EXE, when not NULL, for the module marked as
 * the core's executable.  CRED is copied, EXE must stay valid while the
 * Dwfl is used.  One core at a time: the last call applies to every
 * module marked by findfile_attach_core. */
void findfile_core_use(const struct safefile_cred *cred, const char *exe);

/* Marks MOD, a module of the core given to findfile_core_use, as one the
 * core source serves; EXE: it is the core's executable. */
void findfile_attach_core(Dwfl_Module *mod, bool exe);

/* Opens EXE, the user's --exe (never blocking), and reads its build id
 * into ID (64 bytes) and *LEN (0 when it has none).  Returns the
 * descriptor, or -errno (-ENOEXEC: no ELF file; -ENOENT: not a regular
 * file; open's error) with WHY (WHYLEN bytes) saying so. */
int findfile_open_exe(const char *exe, unsigned char *id, size_t *len, char *why, size_t whylen);

/* Reports in DWFL (between dwfl_report_begin and dwfl_report_end) the
 * saved dump's module PATH, with build id BUILD_ID (lowercase hex, or
 * NULL) and load bias BASE, its file found by the saved source under
 * CRED's rules (findsaved.h) and marked as the saved source's.  Returns
 * 0, or -1 with WHY (WHYLEN bytes) saying why it is not. */
int findfile_report_saved(Dwfl *dwfl, const struct safefile_cred *cred, const char *path,
                          const char *build_id, uint64_t base, char *why, size_t whylen);

/* Sets when reading and checking files must stop (CLOCK_MONOTONIC ns, 0
 * for never), for every Dwfl of the process: a file whose CRC or copy is
 * not done by then is refused as out of time. */
void findfile_set_deadline(uint64_t deadline_ns);

/* Loads MOD's DWARF if it has not been, and says whether it may be read:
 * false when it has none, or when it needs a supplementary (dwz) file
 * that was not found or was refused, since libdw would then open that file
 * itself by a path from the debug info.  Says once on stderr why not. */
bool findfile_dwarf_ok(Dwfl_Module *mod);

/* Says once per module on stderr that the compilation unit CUDIE of MOD
 * is a split DWARF skeleton whose .dwo file is not read, when it is one;
 * returns true then, and the caller must not read the unit further. */
bool findfile_cu_is_split(Dwfl_Module *mod, Dwarf_Die *cudie);

#endif
