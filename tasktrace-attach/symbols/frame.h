/* The frames the symbolizer gives and the stacks made of them: the
 * types every layer from symbols up shares (lookup.h returns frames,
 * unwind.h fills stacks, model.h holds them in a dump). */
#ifndef TT_FRAME_H
#define TT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One frame: a function, or a function inlined into the frame before it.
 * Strings are owned by the symbolizer's cache (lookup.c) and live as long
 * as it; any of them may be NULL when unknown; line/column are 0 when
 * unknown. */
struct frame {
    const char *function; /* demangled name, or "name+0xoff" from the symbol
                             table, or NULL */
    const char *file;     /* source file path, or NULL */
    int line;
    int column;
    bool inlined;          /* this frame was inlined into its caller */
    bool tail_call;        /* a future's poll whose frame a tail call
                             removed, restored from the capture's chain of
                             polled futures (TRT_RECORD_F_CHAIN): pc is the
                             function's entry, file:line its declaration
                             (or, without one, the line of its first
                             instruction), not a call site */
    const char *module;    /* absolute path of the ELF module, or NULL */
    uint64_t pc;           /* the address looked up (the return address) */
    uint64_t module_off;   /* pc - module_base: the address in the ELF
                             file's own address space (its p_vaddr and
                             symbol values), what eu-addr2line -e FILE
                             takes; for a bare address with no module, pc */
    uint64_t module_base;  /* the module's load bias: where the file's
                             address 0 is in the process (0 for ET_EXEC) */
    const char *build_id;  /* the module's GNU build id in lowercase hex,
                             or NULL when it has none or is unknown */
    const char *decl_file; /* the function's declaration (DWARF
                              DW_AT_decl_file/decl_line), or NULL/0 */
    int decl_line;
};

/* Most frames (call sites, before inline expansion) one stack keeps; the
 * root side of a deeper stack is cut by the unwinder and the stack marked truncated. */
#define UNWIND_MAX_FRAMES 256

/* One captured leaf stack, root first, frames borrowed from the cache. */
struct tt_stack {
    size_t n;
    const struct frame **frames;
    bool truncated; /* the target's capture cut off the root side */
    bool shared;    /* frames belongs to the dump (tt_dump.list_frames),
                       shared with every stack of the same PCs: not freed
                       with the stack */
};

#endif
