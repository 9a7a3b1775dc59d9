/* Unwinding a thread's stack from a copy (thread.h) with libdwfl: DWARF CFI
 * (and libdwfl's frame-pointer fallback), every frame symbolized through the
 * same symbolizer and cache as the captured stacks, inlined frames included.
 * Like perf's DWARF call graphs, the thread runs again while this works:
 * stack words come from the copy, anything else from the live process.
 *
 * Not thread-safe; one unwind_ctx per Dwfl. */
#ifndef TT_UNWIND_H
#define TT_UNWIND_H

#include <stdbool.h>
#include <stddef.h>

#include <elfutils/libdwfl.h>

#include "symbols/frame.h"
#include "target/proc.h"
#include "target/records.h"
#include "symbols/lookup.h"
#include "target/thread.h"

typedef struct unwind_ctx unwind_ctx;

/* Attaches a thread state to DWFL (dwfl_attach_state, once per Dwfl: the
 * symbolizer's Dwfl, which only reports modules, takes it and keeps
 * working), whose memory is read from the snapshot being unwound and
 * otherwise from T.  DWFL and T must outlive the context.  Returns the
 * context (free with unwind_free, before or after dwfl_end), or NULL with
 * *ERR = -ENOMEM, -ENOTSUP (no support on this architecture) or -EIO (a
 * libdwfl failure, said in WHY). */
unwind_ctx *unwind_new(Dwfl *dwfl, struct proc_target *t, int *err, char *why, size_t whylen);
/* The same over any memory image: words outside a snapshot's stack copy
 * are read through READ (with CTX), which must outlive the context; PID
 * names the process to libdwfl.  A core's threads are unwound this way,
 * with no stack copy at all (core.h). */
unwind_ctx *unwind_new_reader(Dwfl *dwfl, pid_t pid, records_fn read, void *ctx, int *err,
                              char *why, size_t whylen);
void unwind_free(unwind_ctx *u);

/* Unwinds SNAP and symbolizes it through SYM into *OUT: root first, every
 * frame (no trimming), frames owned by SYM, the array malloc'd (free
 * OUT->frames).  The innermost address is looked up as is, the others as
 * return addresses.  Returns 0 (an unwind that stops early still gives
 * the frames it found), -ENOMEM, or -EIO when not even the first frame
 * was found (WHY says why). */
int unwind_stack(unwind_ctx *u, lookup_ctx *sym, const struct thread_snap *snap,
                 struct tt_stack *out, char *why, size_t whylen);

#endif
