/* Trimming captured stacks to the task's own frames and merging them into
 * one forest per task. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

/* The runtime's task wrapper: everything above it is the executor.  A dump
 * poll runs in the second, which the first may reach by a tail call. */
static const char *const tree_wrappers[] = {
    "trt__traced_poll",
    "trt__traced_poll_tracing",
};
/* The prefix of the runtime's internals; the first one below the wrapper is
 * where the capture itself starts. */
#define TREE_INTERNAL_PREFIX "trt__"

/* ABI helpers a leaf goes through to reach the runtime.  They say nothing
 * about what the task awaits, so they are hidden wherever they stand. */
static const char *const tree_hidden[] = {
    "trt_future_poll",
    "trt_waker_clone",
    "trt_waker_wake",
    "trt_waker_wake_by_ref",
    "trt_waker_drop",
    "trt_waker_will_wake",
};

/* Whether F's function is NAME, possibly followed by "+0x..." (a symbol
 * table fallback) or ".suffix" (a compiler clone such as .constprop.0). */
static bool tree_frame_is(const struct sym_frame *f, const char *name)
{
    const char *fn = f->function;
    size_t len = strlen(name);
    return fn != NULL && strncmp(fn, name, len) == 0 &&
           (fn[len] == '\0' || fn[len] == '+' || fn[len] == '.');
}

bool tree_frame_is_wrapper(const struct sym_frame *f)
{
    for (size_t i = 0; i < sizeof(tree_wrappers) / sizeof(tree_wrappers[0]); i++)
        if (tree_frame_is(f, tree_wrappers[i]))
            return true;
    return false;
}

static bool tree_frame_hidden(const struct sym_frame *f)
{
    for (size_t i = 0; i < sizeof(tree_hidden) / sizeof(tree_hidden[0]); i++)
        if (tree_frame_is(f, tree_hidden[i]))
            return true;
    return false;
}

size_t tree_trim_stack(const struct tt_stack *stack, bool raw,
                       const struct sym_frame **out)
{
    size_t begin = 0, end = stack->n, n = 0;
    if (raw) {
        for (size_t i = 0; i < end; i++)
            if (stack->frames[i] != NULL)
                out[n++] = stack->frames[i];
        return n;
    }
    for (size_t i = end; i-- > 0;) {
        if (stack->frames[i] != NULL &&
            tree_frame_is_wrapper(stack->frames[i])) {
            begin = i + 1;
            break;
        }
    }
    for (size_t i = begin; i < end; i++) {
        const struct sym_frame *f = stack->frames[i];
        if (f != NULL && f->function != NULL &&
            strncmp(f->function, TREE_INTERNAL_PREFIX,
                    strlen(TREE_INTERNAL_PREFIX)) == 0) {
            end = i;
            break;
        }
    }
    for (size_t i = begin; i < end; i++) {
        const struct sym_frame *f = stack->frames[i];
        if (f != NULL && !tree_frame_hidden(f))
            out[n++] = f;
    }
    return n;
}

long tree_trim_into(const struct tt_stack *stack, bool raw,
                    const struct sym_frame ***buf, size_t *cap)
{
    if (stack->n == 0)
        return 0;
    if (stack->n > *cap) {
        const struct sym_frame **grown = realloc(*buf, stack->n * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        *buf = grown;
        *cap = stack->n;
    }
    return (long)tree_trim_stack(stack, raw, *buf);
}

bool tree_task_truncated(const struct tt_task *task)
{
    for (size_t i = 0; i < task->nstacks; i++)
        if (task->stacks[i].truncated)
            return true;
    return false;
}

static bool tree_str_equal(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool tree_frame_equal(const struct sym_frame *a, const struct sym_frame *b)
{
    if (a == b)
        return true;
    if (a == NULL || b == NULL)
        return false;
    if (!tree_str_equal(a->module, b->module))
        return false;
    if (a->function == NULL || b->function == NULL)
        return a->function == b->function && a->module_off == b->module_off;
    return tree_str_equal(a->function, b->function) &&
           tree_str_equal(a->file, b->file) && a->line == b->line &&
           a->column == b->column && a->inlined == b->inlined;
}

/* Returns the node among *NODES equal to F, appending one if none is. */
static struct tree_node *tree_child(struct tree_node **nodes, size_t *n,
                                    size_t *cap, const struct sym_frame *f)
{
    for (size_t i = 0; i < *n; i++)
        if (tree_frame_equal((*nodes)[i].frame, f))
            return &(*nodes)[i];
    if (*n == *cap) {
        size_t ncap = *cap != 0 ? *cap * 2 : 2;
        struct tree_node *grown = realloc(*nodes, ncap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        *nodes = grown;
        *cap = ncap;
    }
    struct tree_node *node = &(*nodes)[(*n)++];
    *node = (struct tree_node){ .frame = f };
    return node;
}

static void tree_node_free(struct tree_node *node)
{
    for (size_t i = 0; i < node->nchildren; i++)
        tree_node_free(&node->children[i]);
    free(node->children);
}

void tree_free(struct tree *tree)
{
    if (tree == NULL)
        return;
    for (size_t i = 0; i < tree->nroots; i++)
        tree_node_free(&tree->roots[i]);
    free(tree->roots);
    *tree = (struct tree){ 0 };
}

int tree_build(const struct tt_stack *stacks, size_t nstacks, bool raw,
               struct tree *out)
{
    const struct sym_frame **buf = NULL;
    size_t bufcap = 0;
    int err = 0;

    *out = (struct tree){ 0 };
    for (size_t s = 0; s < nstacks; s++) {
        const struct tt_stack *st = &stacks[s];
        long trimmed = tree_trim_into(st, raw, &buf, &bufcap);
        if (trimmed < 0) {
            err = (int)trimmed;
            goto out;
        }
        size_t n = (size_t)trimmed;
        if (n > TREE_MAX_DEPTH)
            n = TREE_MAX_DEPTH;
        if (n == 0) {
            out->empty++;
            continue;
        }
        struct tree_node *node =
            tree_child(&out->roots, &out->nroots, &out->roots_cap, buf[0]);
        if (node == NULL) {
            err = -ENOMEM;
            goto out;
        }
        node->leaves++;
        for (size_t i = 1; i < n; i++) {
            node = tree_child(&node->children, &node->nchildren,
                              &node->children_cap, buf[i]);
            if (node == NULL) {
                err = -ENOMEM;
                goto out;
            }
            node->leaves++;
        }
        out->leaves++;
    }
out:
    free(buf);
    if (err != 0)
        tree_free(out);
    return err;
}
