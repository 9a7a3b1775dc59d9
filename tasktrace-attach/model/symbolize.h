/* --symbolize: a saved dump (this tool's own --json document, or a raw one
 * whose frames have only module, build_id, offset and pc) read back into
 * the model of a dump (model.h) and symbolized offline, so that every view
 * prints it as it would a live process.
 *
 * Each module the frames name (path and build id) is opened as a local
 * file, through safefile.h with the tool's own credentials: a regular file
 * owned by root or by the user running the tool, never blocking, its path
 * absolute.  A file whose build id differs from the dump's is not used;
 * then /usr/lib/debug/.build-id/xx/yyyy.debug is tried in its place.  Its
 * separate debug info is found as for a live process (symbols/findfile.h).
 * debuginfod is not used.  A frame whose module is not found keeps what
 * the dump says of it.
 *
 * A task's spawned_at is looked up again as the return address it is;
 * its stack_counts are kept when the file gives one per stack; a frame
 * marked tail_call (a function's entry put back by the live tool) is
 * kept as the file says. */
#ifndef TT_SYMBOLIZE_H
#define TT_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <elfutils/libdwfl.h>

#include "model/dump.h"
#include "model/model.h"
#include "symbols/lookup.h"

/* Most distinct modules a saved dump may name. */
#define SYMZ_MAX_MODULES 4096
/* Most tasks, threads, and frames of one stack read from a saved dump. */
#define SYMZ_MAX_TASKS (1u << 21)
#define SYMZ_MAX_THREADS 65536u
#define SYMZ_MAX_FRAMES 65536u

/* Everything the loaded dump borrows: the Dwfl, the symbolizer, and the
 * strings of frames kept as the file gave them.  Release with symbolize_end
 * after dump_free. */
struct symbolize {
    Dwfl *dwfl;
    lookup_ctx *sym;
    char **strs; /* owned copies */
    size_t nstrs, strs_cap;
    struct frame **frames; /* owned frames kept from the file */
    size_t nframes, frames_cap;
};

/* Reads the dump in PATH ("-" for stdin) into *D (zeroed by the caller)
 * and symbolizes its frames, through Z (zeroed by the caller).  SELECT
 * (may be NULL) picks the tasks, as --task does, given a slot with only
 * id and name set.  SHORT_NAMES: lookup_set_short_names.  A module that
 * could not be used is named in one problem (cause "modules_missing") of
 * the dump, whose message lists the first few, escaped, with the reason.
 * Returns 0, or -errno with WHY (WHYLEN bytes) saying what failed:
 * -EINVAL not a dump (not JSON, or not this tool's), -E2BIG a bound of the
 * reader (jsonread.h) or of this file broken, -ENOMEM, or the open's or
 * read's error. */
int symbolize_load(const char *path, struct tt_dump *d, struct symbolize *z, bool short_names,
                   dump_select_fn select, void *arg, char *why, size_t whylen);

/* Releases what Z holds.  NULL is allowed. */
void symbolize_end(struct symbolize *z);

#endif
