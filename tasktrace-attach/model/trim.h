/* Trimming a live thread stack (unwound by symbols/unwind.h) to the
 * frames of the task it polls, as every view and the filters show it.
 * Kept apart from the unwinder so that what only reads a dump does not
 * depend on libdwfl, ptrace or /proc. */
#ifndef TT_TRIM_H
#define TT_TRIM_H

#include <stdbool.h>
#include <stddef.h>

#include "symbols/frame.h"

/* Trims a live thread stack to the frames that belong to the task it
 * polls: unless RAW, drops every frame up to and including the innermost
 * task wrapper (tree_frame_is_wrapper) and hides the ABI helpers
 * (TRT_FN_ABI_HELPERS) wherever they stand.  Unlike tree_trim_stack, it
 * does not cut at the first runtime-internal frame below the wrapper: the
 * innermost frames of a live stack are where the thread is, whatever they
 * are.  A stack with no wrapper is kept whole.  OUT has room for
 * STACK->n entries; returns how many were written. */
size_t trim_live_stack(const struct tt_stack *stack, bool raw, const struct frame **out);

#endif
