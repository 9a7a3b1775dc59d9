/* Finding a core file's modules: the files its NT_FILE note names,
 * reported in a Dwfl whose files findfile.h's core source opens (through
 * safefile, as target/core.h reads the core itself).
 *
 * Not thread-safe: the Dwfl of findcore_dwfl_open serves one core_file at
 * a time (libdwfl's find_elf callback has no argument of its own, and
 * findfile's core source holds the last core's owner and --exe). */
#ifndef TT_FINDCORE_H
#define TT_FINDCORE_H

#include <stddef.h>

#include <elfutils/libdwfl.h>

#include "target/core.h"

/* Reports the modules of the core's NT_FILE note in a new Dwfl, each with
 * the build id its first page holds in the core, and opens their files
 * lazily through safefile (never libdwfl's own opens, which follow any
 * path).  EXE, when not NULL, replaces the executable's file (the module
 * holding AT_ENTRY): its build id must be the core's, else -ENOEXEC.
 * Returns the Dwfl (release with dwfl_end), or NULL with *ERR = -ENOEXEC
 * (a mismatching EXE), -ENOENT (no module in the core, or no EXE file),
 * -ENOMEM or -EIO, and WHY saying why.  WARN receives one line when the
 * core holds no build id of its executable to check EXE against ("" else). */
Dwfl *findcore_dwfl_open(struct core_file *c, const char *exe, int *err, char *why, size_t whylen,
                         char *warn, size_t warnlen);

#endif
