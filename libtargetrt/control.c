/* The control block the tool finds by name, and the per-thread tid cache.
 * Every other file writes its own fields of the block; this one only
 * defines it with its identifying prefix. */
#include "rt_internal.h"

__attribute__((visibility("default"), used)) struct trt_control tasktrace_control = {
    .magic = TRT_CONTROL_MAGIC,
    .version = TRT_PROTOCOL_VERSION,
    .size = sizeof(struct trt_control),
};

/* fork.c clears the forking thread's copy in the child, whose tid differs. */
__thread pid_t trt__tid_cache __attribute__((tls_model("initial-exec")));
