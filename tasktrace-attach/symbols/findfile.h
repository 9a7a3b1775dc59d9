/* The symbolizer's libdwfl callbacks: finding a module's ELF file and its
 * separate debug info without trusting the paths the target names.
 *
 * In place of dwfl_linux_proc_find_elf and dwfl_standard_find_debuginfo,
 * which open() whatever path the target's maps and debug links say, these
 * open every file through safefile.h: inside the target's root, never
 * blocking, regular files its own user could read.  A mapped module is
 * opened through /proc/PID/map_files when the tool may (CAP_SYS_ADMIN),
 * else by its path in the target's root; [vdso] is read from memory.
 * Separate debug info is looked for the way elfutils does, in the target's
 * root: /usr/lib/debug/.build-id/xx/yyyy.debug, then the debug link's name
 * next to the module, in its .debug directory and under /usr/lib/debug,
 * each checked against the module's build id (or the link's CRC when the
 * module has none).  A dwz supplementary file (.gnu_debugaltlink) is found
 * the same way; split DWARF (.dwo) is never read.
 *
 * The paths in /proc/PID/maps are seen from the tool's root: a chrooted
 * target's are made paths in its root before they are looked up there.
 * Every file is held to elfcheck.h's bounds (size, sections, symbols)
 * before libelf reads it, and one the target's user could truncate is
 * read into memory rather than mapped (see elfcheck.h); a debug link's
 * CRC is checked only on a file within those bounds, once per file, and
 * not past the deadline given to findfile_set_deadline.
 *
 * A file that is there but refused is named once on stderr, escaped, with
 * the reason; the module's frames then degrade to its symbol table, or to
 * module+offset.  A mapping of a device or of shared memory is no module
 * and is skipped silently; so is a missing debug file.  Not thread-safe: libdwfl calls these from the thread
 * that uses the Dwfl. */
#ifndef TT_SYMFIND_H
#define TT_SYMFIND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <elfutils/libdwfl.h>

/* Dwfl_Callbacks.find_elf and .find_debuginfo; see libdwfl.h for the
 * contract.  They only serve modules marked by findfile_attach. */
int findfile_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                 char **file_name, Elf **elfp);
int findfile_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                       const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                       char **debuginfo_file_name);

/* Marks every module reported in DWFL as one of process PID's, in the
 * module's userdata, which the callbacks read.  Call after
 * dwfl_report_end, before anything loads a module.  Returns 0 or -EINVAL. */
int findfile_attach(Dwfl *dwfl, pid_t pid);

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
