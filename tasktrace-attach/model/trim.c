/* Trimming a live thread stack to its task's frames.  See trim.h. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <tasktrace/protocol.h>

#include "model/tree.h"
#include "model/trim.h"

/* Whether F's function is NAME, possibly followed by "+0x..." (a symbol
 * table fallback) or ".suffix" (a compiler clone), as tree.c matches. */
static bool trim_frame_is(const struct frame *f, const char *name)
{
    const char *fn = f->function;
    size_t len = strlen(name);
    return fn != NULL && strncmp(fn, name, len) == 0 &&
           (fn[len] == '\0' || fn[len] == '+' || fn[len] == '.');
}

static bool trim_frame_hidden(const struct frame *f)
{
    static const char *const hidden[] = {TRT_FN_ABI_HELPERS};
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
        if (trim_frame_is(f, hidden[i]))
            return true;
    return false;
}

size_t trim_live_stack(const struct tt_stack *stack, bool raw, const struct frame **out)
{
    size_t begin = 0, n = 0;
    if (!raw) {
        for (size_t i = stack->n; i-- > 0;) {
            if (stack->frames[i] != NULL && tree_frame_is_wrapper(stack->frames[i])) {
                begin = i + 1;
                break;
            }
        }
    }
    for (size_t i = begin; i < stack->n; i++) {
        const struct frame *f = stack->frames[i];
        if (f != NULL && (raw || !trim_frame_hidden(f)))
            out[n++] = f;
    }
    return n;
}
