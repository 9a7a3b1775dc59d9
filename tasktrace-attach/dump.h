/* Building the model of one dump (model.h) from the runtime's data. */
#ifndef TT_DUMP_H
#define TT_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tasktrace/protocol.h>

#include "model.h"
#include "ringread.h"
#include "sym.h"

/* Whether the task in slot `s` goes into the dump (a --task filter). */
typedef bool (*dump_select_fn)(void *arg, const struct trt_task_slot *s);

/* Fills *d (zeroed by the caller; pid is the caller's) with the tasks of
 * generation `gen`: those that reported (traced_gen == gen) and those that
 * still owe it, or, when the runtime never `started` the generation, every
 * task not done.  `gen` 0 means no dump ran: every slot is listed as is.
 * Sorts `slots` and `ring->recs` in place.  Each task gets its records as
 * stacks, symbolized through `sym`, identical ones once; unless `raw`,
 * only up to the task wrapper.  `select` (may be NULL) filters tasks.
 * Returns 0 or -ENOMEM; free with dump_free either way. */
int dump_build(struct tt_dump *d, sym_ctx *sym, struct trt_task_slot *slots, size_t nslots,
               struct ringread_result *ring, uint32_t gen, bool started, bool complete, bool raw,
               dump_select_fn select, void *arg);

/* Frees what dump_build allocated; leaves the strings (the symbolizer's). */
void dump_free(struct tt_dump *d);

#endif
