/* The symbolizer: turns a return address captured in the target into the
 * frames it stands for (the out-of-line function and every function inlined
 * into it at that address), using libdwfl on the live process's modules.
 *
 * Results are cached per address, so a dump of many tasks symbolizes each
 * distinct address once.  A unit whose functions sit inside namespaces,
 * where libdw's dwarf_getscopes does not look (all of a Rust unit's but
 * its methods), is walked once, on its first address, into an index of
 * its functions by address, kept for the context's life.  A lookup_ctx is
 * not thread-safe: use one per thread, or serialize calls. */
#ifndef TT_SYM_H
#define TT_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <elfutils/libdwfl.h>

#include "symbols/frame.h"

/* Most frames one address expands to (the out-of-line function plus its
 * inlined callees).  Deeper inline chains keep their innermost frames. */
#define LOOKUP_MAX_FRAMES 64

typedef struct lookup_ctx lookup_ctx;

/* Reports every module loaded into process PID (the mappings the loader
 * made, as modmap.h finds them in /proc/PID/maps, not a second mapping of
 * a module's file; and the vDSO), then dwfl_report_end, in a new Dwfl
 * whose callbacks are findfile_elf and
 * findfile_debuginfo (findfile.h): modules and their separate debug info
 * (by build-id and debug link) are found in the process's own mount
 * namespace and opened only when they are regular files its user could
 * read, without ever blocking; a refused file is named once on stderr.
 * Does not stop or attach to the process; reads /proc/PID/maps and the
 * program headers of the files mapped (opened as findfile opens them).
 * Returns the Dwfl, owned by the caller (release with dwfl_end), or NULL with
 * errno set and, if ERR is not NULL, *ERR = -errno: -ESRCH when PID has no
 * /proc entry, -EACCES/-EPERM when its maps can't be read, -ENOMEM, or -EIO
 * for a libdwfl failure. */
Dwfl *lookup_dwfl_open_pid(pid_t pid, int *err);

/* Creates a symbolizer over DWFL, which stays owned by the caller and must
 * outlive the lookup_ctx (the context reads modules lazily through it).
 * Returns the context, to be released with lookup_free, or NULL with errno set
 * (EINVAL if DWFL is NULL, ENOMEM). */
lookup_ctx *lookup_new(Dwfl *dwfl);

/* Symbolizes PC.  When RETURN_ADDRESS is true, PC is a return address and
 * the lookup is done at PC - 1, inside the call instruction, so the line is
 * the call's line and a call at the very end of a function still resolves
 * to that function; every frame's `pc` field still reports PC itself.
 *
 * On success *FRAMES points to *NFRAMES (1 .. LOOKUP_MAX_FRAMES) frames in
 * root-first order: the containing out-of-line function first, then each
 * inlined callee down to the innermost (those have `inlined` set).  The
 * innermost frame's file:line:column is the line table's entry for the
 * looked-up address; every other frame's is the call site of the frame
 * after it.  What can't be found degrades, never fails:
 *   - no DWARF: one frame named "symbol+0xoff" from the ELF symbol table,
 *     file NULL;
 *   - no symbol either: function NULL, module and module_off set;
 * every frame of an address in a module also has module_base (the load
 * bias) and module_off = pc - module_base, the address in the ELF file,
 * and build_id (hex) when the module has one;
 *   - no module contains the address: everything NULL/0 except pc.
 * The array and every frame and string it reaches are owned by CTX and stay
 * valid, unchanged, until lookup_free(CTX); looking the same (PC,
 * RETURN_ADDRESS) up again returns the same array.
 * Returns 0, -EINVAL (a NULL argument) or -ENOMEM; on error *FRAMES and
 * *NFRAMES are left untouched. */
int lookup_pc(lookup_ctx *ctx, uint64_t pc, bool return_address, const struct frame *const **frames,
              size_t *nframes);

/* With ON, names lookup_pc returns from then on are short: template and
 * generic argument lists, function parameter lists (and the qualifiers
 * after them) and legacy Rust hashes are dropped, as
 * "app::Outer::poll" for "app::Outer<app::Leaf<int> >::poll(trt_future*,
 * trt_context*)" (see lookup_shorten in sym.c for the exact rules).  Call
 * before the first lookup: cached answers are not redone. */
void lookup_set_short_names(lookup_ctx *ctx, bool on);

/* Releases CTX and everything lookup_pc returned through it (not the Dwfl).
 * NULL is allowed. */
void lookup_free(lookup_ctx *ctx);

#endif
