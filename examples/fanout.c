/* fanout: N tasks (--tasks N, default 1000), each joining FANOUT leaves
 * that wait forever.  Every leaf clones the waker, so a dump captures
 * FANOUT stacks per task, all alike: the load that shows whether a dump
 * keeps every leaf of every task, and how identical stacks are counted.
 *
 *   ./examples/fanout --tasks 1000 &
 *   tasktrace-attach PID     # 1000 tasks, each "trt_pending_poll ×16"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tasktrace/exec.h>

#include "example.h"

#define FANOUT 16

struct fan {
    trt_join join;
    trt_future *children[FANOUT];
    bool done[FANOUT];
    trt_pending leaves[FANOUT];
};

static void fan_init(struct fan *f)
{
    for (int i = 0; i < FANOUT; i++) {
        trt_pending_init(&f->leaves[i]);
        f->children[i] = &f->leaves[i].base;
    }
    trt_join_init(&f->join, f->children, f->done, FANOUT);
}

int main(int argc, char **argv)
{
    unsigned long ntasks = 1000;
    int rc = example_option(argc, argv, "fanout", "--tasks", 1, 1000000, &ntasks);
    if (rc != 0)
        return rc;
    trt_exec *ex = trt_exec_new();
    struct fan *fans = calloc(ntasks, sizeof(*fans));
    if (!ex || !fans) {
        perror("fanout: setup");
        return 1;
    }
    for (unsigned long i = 0; i < ntasks; i++) {
        char name[32];
        snprintf(name, sizeof(name), "fan-%lu", i + 1);
        fan_init(&fans[i]);
        int err = trt_exec_spawn(ex, &fans[i].join.base, name, NULL, NULL);
        if (err < 0) {
            fprintf(stderr, "fanout: spawn %s: %s\n", name, strerror(-err));
            return 1;
        }
    }
    return example_serve(ex, "fanout", NULL);
}
