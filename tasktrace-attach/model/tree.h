/* Await trees: the captured leaf stacks of one task, trimmed to the part
 * that belongs to the task and merged into a forest where each path from a
 * root to a leaf is one captured stack.
 *
 * Nothing here is thread-safe per object; distinct trees are independent. */
#ifndef TT_TREE_H
#define TT_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"

/* Deepest path kept; frames beyond it on the leaf side are dropped. */
#define TREE_MAX_DEPTH 512

/* One frame of the forest.  Children are in first-seen order. */
struct tree_node {
    const struct frame *frame;  /* borrowed from the symbolizer */
    struct tree_node *children; /* nchildren nodes, owned */
    size_t nchildren;
    size_t children_cap;
    size_t *index; /* children by frame hash once there are many, else NULL */
    size_t index_cap;
    size_t leaves; /* stacks passing through or ending at this node, each
                      counted as its `count` captures */
};

/* A caller-allocated forest; zero-initialize or fill with tree_build. */
struct tree {
    struct tree_node *roots; /* nroots nodes, owned */
    size_t nroots;
    size_t roots_cap;
    size_t *roots_index; /* roots by frame hash once there are many, else NULL */
    size_t roots_index_cap;
    size_t leaves; /* captures (stacks by their count) with at least one
                      visible frame */
    size_t empty;  /* stacks trimmed down to nothing */
};

/* Copies the visible frames of STACK, root first, to OUT, which must have
 * room for STACK->n pointers (the result is never longer), and returns
 * how many it wrote.  Unless RAW, trimming keeps what belongs to the task:
 *  1. drop every frame up to and including the last task wrapper
 *     (TRT_FN_TRACED_POLL, TRT_FN_TRACED_POLL_TRACING; nothing if there is
 *     none, e.g. a capture truncated at the root);
 *  2. then drop the first frame named TRT_FN_INTERNAL_PREFIX* (`trt__*`,
 *     the runtime's capture code)
 *     and everything after it (the unwinder);
 *  3. hide the ABI helpers (TRT_FN_ABI_HELPERS: trt_future_poll, ...)
 *     wherever they stand, called or inlined.
 * A frame matches a name also when its function reads "name+0x..." (from
 * the symbol table) or "name.suffix" (a compiler clone).
 * RAW copies every frame.  NULL entries are skipped; frames are borrowed,
 * not copied. */
size_t tree_trim_stack(const struct tt_stack *stack, bool raw, const struct frame **out);

/* tree_trim_stack into *BUF, grown as needed (*CAP entries; start both at
 * NULL/0, free *BUF when done).  Returns the number of frames, or -ENOMEM. */
long tree_trim_into(const struct tt_stack *stack, bool raw, const struct frame ***buf, size_t *cap);

/* Whether any of TASK's stacks was cut at the root by the runtime. */
bool tree_task_truncated(const struct tt_task *task);

/* Whether F is the runtime's task wrapper, where a trimmed stack begins. */
bool tree_frame_is_wrapper(const struct frame *f);

/* Whether two frames are one node when merging: same function, file, line,
 * column, inlined flag and module, or, for frames without a function name,
 * same module and module offset (without a module, the same pc).  NULL
 * strings equal only NULL. */
bool tree_frame_equal(const struct frame *a, const struct frame *b);

/* H mixed with frame F (not NULL) so that frames tree_frame_equal calls
 * equal mix alike. */
uint64_t tree_frame_hash_from(uint64_t h, const struct frame *f);

/* Builds into *OUT (whose previous content is ignored) the forest of the
 * NSTACKS stacks, each trimmed by tree_trim_stack(RAW) and cut to
 * TREE_MAX_DEPTH frames.  Stacks that share a root-side prefix share its
 * nodes; stacks whose first frames differ make separate roots.  Siblings
 * are found by hash once there are many: the work is linear in the frames.
 * Returns 0, or -ENOMEM with *OUT left empty; free with tree_free either
 * way. */
int tree_build(const struct tt_stack *stacks, size_t nstacks, bool raw, struct tree *out);

/* tree_build with COUNTS (NULL, or NSTACKS entries): each stack stands for
 * COUNTS[i] like captures, which the leaves counts add up.  The text view
 * (views/render_text.c) builds each task's tree with its stack_counts
 * through it. */
int tree_build_counted(const struct tt_stack *stacks, const size_t *counts, size_t nstacks,
                       bool raw, struct tree *out);

/* Frees everything the forest owns and leaves it empty; the struct itself
 * is the caller's.  NULL is allowed. */
void tree_free(struct tree *tree);

#endif
