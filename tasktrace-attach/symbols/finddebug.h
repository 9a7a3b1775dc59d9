/* A module's separate debug info, looked for the way elfutils does but
 * never by a path the target could make the tool follow: every file is
 * opened through safefile.h in the root of the process whose files they
 * are (its credentials, its mount namespace), as findfile.h's live and
 * saved-dump sources ask.
 *
 * The search tries /usr/lib/debug/.build-id/xx/yyyy.debug, then the debug
 * link's name next to the module, in its .debug directory and under
 * /usr/lib/debug, each checked against the module's build id (or the
 * link's CRC when the module has none).  A dwz supplementary file
 * (.gnu_debugaltlink) is found the same way.  At most a few distinct
 * files are read per search; each is held to elfcheck.h's bounds before
 * libelf reads it, a CRC is read only within them and not past the
 * deadline, and one the target's user could truncate is handed over as a
 * copy (elfcheck_stable).
 *
 * A file that is there but refused is named once on stderr, escaped,
 * with the reason; a missing one is not a word.  Thread-safe as far as
 * libdwfl's module calls are: no state of its own. */
#ifndef TT_FINDDEBUG_H
#define TT_FINDDEBUG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <elfutils/libdwfl.h>

/* The separate debug file of MOD (named MODNAME, its main file FILE_NAME,
 * with DEBUGLINK_FILE and DEBUGLINK_CRC from its .gnu_debuglink, as
 * libdwfl's find_debuginfo receives them), searched in the root of
 * process PID and under its credentials, every read stopping at
 * DEADLINE_NS (CLOCK_MONOTONIC, 0 for never).  Returns a descriptor
 * owned by the caller with *DEBUGINFO_FILE_NAME a malloc'd path, or -1. */
int finddebug_main(Dwfl_Module *mod, pid_t pid, uint64_t deadline_ns, const char *modname,
                   const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                   char **debuginfo_file_name);

/* Whether libdwfl's request for DEBUGLINK_FILE is for MOD's dwz
 * supplementary file rather than its debug file: libdwfl asks for both
 * through find_debuginfo, and only MOD's own debug link tells them apart. */
bool finddebug_is_alt(Dwfl_Module *mod, const char *debuglink_file);

/* The dwz supplementary file of MOD: by the build id its
 * .gnu_debugaltlink records, then by that section's path ALTNAME
 * (absolute, in PID's root, or next to FILE_NAME).  Returns a descriptor
 * with *OUT a malloc'd path, or -1 with *SAID true when a refused file
 * was named on stderr. */
int finddebug_alt(Dwfl_Module *mod, pid_t pid, uint64_t deadline_ns, const char *file_name,
                  const char *altname, char **out, bool *said);

/* PATH, a path of the target's maps as the tool sees it, as a path in
 * process PID's root, into OUT (LEN bytes); see finddebug.c.  Returns
 * OUT. */
const char *finddebug_in_root(pid_t pid, const char *path, char *out, size_t len);

#endif
