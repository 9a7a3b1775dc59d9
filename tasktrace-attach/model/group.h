/* Grouping: tasks (or threads) that would print the same tree are one
 * group, printed once with how many there are.  Two tasks are alike when
 * their trimmed stacks are the same frames in the same order (frames
 * compared as tree_frame_equal merges them), their live thread stacks
 * (trimmed by trim.h, as the views show them) too, and their state, reported,
 * suspect, truncated and inherited flags agree.  Ids, names, poll counts
 * and idle times may differ: the group says their range.
 *
 * The work is linear in the frames: each item's frames are hashed once
 * and compared only with the first item of a group of the same hash. */
#ifndef TT_GROUP_H
#define TT_GROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"

/* Text: group by default when more than this many tasks are shown. */
#define GROUP_AUTO_MIN 51

struct group {
    size_t first; /* offset in group_set.members of its first member */
    size_t count; /* members, at least 1 */
};

struct group_set {
    struct group *groups; /* n groups, the largest first; ties in the
                             order of their first member */
    size_t n;
    size_t *members; /* item indices, group after group, each group's
                             in ascending order */
    size_t *of;      /* the group index of each item */
};

/* Groups the tasks of D, trimmed as the renderers trim them (RAW keeps
 * every frame).  Returns 0 or -ENOMEM; free with group_free either way. */
int group_tasks(const struct tt_dump *d, bool raw, struct group_set *out);

/* Groups the threads of D (--threads) by state, wait channel and live
 * stack (never trimmed).  Returns as group_tasks. */
int group_threads(const struct tt_dump *d, struct group_set *out);

void group_free(struct group_set *g);

/* Writes N with thousands separators ("1,832") into BUF (at least 28
 * bytes).  Returns BUF. */
const char *group_count(size_t n, char *buf);

#endif
