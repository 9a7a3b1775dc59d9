/* The tool's in-memory picture of one dump: tasks, their captured stacks
 * (already symbolized), as handed from the reader (snap.c) to the tree
 * builder (tree.c) and the renderers (render_text.c, render_json.c). */
#ifndef TT_MODEL_H
#define TT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One frame: a function, or a function inlined into the frame before it.
 * Strings are owned by the symbolizer's cache (sym.c) and live as long as it;
 * any of them may be NULL when unknown; line/column are 0 when unknown. */
struct sym_frame {
    const char *function; /* demangled name, or "name+0xoff" from the symbol
                             table, or NULL */
    const char *file;     /* source file path, or NULL */
    int line;
    int column;
    bool inlined;         /* this frame was inlined into its caller */
    const char *module;   /* absolute path of the ELF module, or NULL */
    uint64_t pc;          /* the address looked up (the return address) */
    uint64_t module_off;  /* pc relative to the module's load base */
};

/* One captured leaf stack, root first, frames borrowed from the cache. */
struct tt_stack {
    size_t n;
    const struct sym_frame **frames;
    bool truncated; /* the target's capture cut off the root side */
};

struct tt_task {
    uint64_t id;
    char name[65];   /* sanitized copy of the slot's name */
    uint32_t state;  /* TRT_TASK_* */
    uint64_t polls;
    int64_t idle_ns; /* time since its last poll ended, -1 if unknown */
    int32_t tid;     /* polling thread while state == POLLING, else 0 */
    bool reported;   /* its traced poll finished within the dump */
    bool suspect;    /* traced poll returned PENDING with no waker use */
    size_t nstacks;
    struct tt_stack *stacks;
};

struct tt_dump {
    int pid;
    bool complete;          /* every task reported */
    uint32_t generation;
    uint64_t records_lost;  /* records of this generation lost */
    size_t ntasks;
    struct tt_task *tasks;
};

#endif
