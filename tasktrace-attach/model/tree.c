/* Trimming captured stacks to the task's own frames and merging them into
 * one forest per task. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tasktrace/protocol.h>

#include "model/tree.h"

/* The runtime's task wrapper: everything above it is the executor.  A dump
 * poll runs in the second, which the first may reach by a tail call. */
static const char *const tree_wrappers[] = {
    TRT_FN_TRACED_POLL,
    TRT_FN_TRACED_POLL_TRACING,
};
/* The prefix of the runtime's internals; the first one below the wrapper is
 * where the capture itself starts. */
#define TREE_INTERNAL_PREFIX TRT_FN_INTERNAL_PREFIX

/* ABI helpers a leaf goes through to reach the runtime.  They say nothing
 * about what the task awaits, so they are hidden wherever they stand. */
static const char *const tree_hidden[] = {TRT_FN_ABI_HELPERS};

/* Bindings' glue (protocol.h): below the innermost entry frame starts the
 * task's own future; the hidden ones are dropped wherever they stand. */
static const char *const tree_glue_entry[] = {TRT_FN_GLUE_ENTRY_PREFIXES};
static const char *const tree_glue_hidden[] = {TRT_FN_GLUE_HIDDEN_PREFIXES};

/* Whether F's function is NAME, possibly followed by "+0x..." (a symbol
 * table fallback) or ".suffix" (a compiler clone such as .constprop.0). */
static bool tree_frame_is(const struct frame *f, const char *name)
{
    const char *fn = f->function;
    size_t len = strlen(name);
    return fn != NULL && strncmp(fn, name, len) == 0 &&
           (fn[len] == '\0' || fn[len] == '+' || fn[len] == '.');
}

bool tree_frame_is_wrapper(const struct frame *f)
{
    for (size_t i = 0; i < sizeof(tree_wrappers) / sizeof(tree_wrappers[0]); i++)
        if (tree_frame_is(f, tree_wrappers[i]))
            return true;
    return false;
}

/* Whether F's function starts with one of the N prefixes in LIST. */
static bool tree_frame_starts(const struct frame *f, const char *const *list, size_t n)
{
    if (f == NULL || f->function == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strncmp(f->function, list[i], strlen(list[i])) == 0)
            return true;
    return false;
}

static bool tree_frame_hidden(const struct frame *f)
{
    for (size_t i = 0; i < sizeof(tree_hidden) / sizeof(tree_hidden[0]); i++)
        if (tree_frame_is(f, tree_hidden[i]))
            return true;
    return tree_frame_starts(f, tree_glue_hidden,
                             sizeof(tree_glue_hidden) / sizeof(tree_glue_hidden[0]));
}

size_t tree_trim_stack(const struct tt_stack *stack, bool raw, const struct frame **out)
{
    size_t begin = 0, end = stack->n, n = 0;
    if (raw) {
        for (size_t i = 0; i < end; i++)
            if (stack->frames[i] != NULL)
                out[n++] = stack->frames[i];
        return n;
    }
    for (size_t i = end; i-- > 0;) {
        if (stack->frames[i] != NULL && tree_frame_is_wrapper(stack->frames[i])) {
            begin = i + 1;
            break;
        }
    }
    /* Below the wrapper, a binding's entry glue may still stand before the
     * task's own future: start below the innermost one that comes before
     * the capture. */
    for (size_t i = begin; i < end; i++) {
        const struct frame *f = stack->frames[i];
        if (f != NULL && f->function != NULL &&
            strncmp(f->function, TREE_INTERNAL_PREFIX, strlen(TREE_INTERNAL_PREFIX)) == 0)
            break;
        if (tree_frame_starts(f, tree_glue_entry,
                              sizeof(tree_glue_entry) / sizeof(tree_glue_entry[0])))
            begin = i + 1;
    }
    for (size_t i = begin; i < end; i++) {
        const struct frame *f = stack->frames[i];
        if (f != NULL && f->function != NULL &&
            strncmp(f->function, TREE_INTERNAL_PREFIX, strlen(TREE_INTERNAL_PREFIX)) == 0) {
            end = i;
            break;
        }
    }
    for (size_t i = begin; i < end; i++) {
        const struct frame *f = stack->frames[i];
        if (f != NULL && !tree_frame_hidden(f))
            out[n++] = f;
    }
    return n;
}

long tree_trim_into(const struct tt_stack *stack, bool raw, const struct frame ***buf, size_t *cap)
{
    if (stack->n == 0)
        return 0;
    if (stack->n > *cap) {
        const struct frame **grown = realloc(*buf, stack->n * sizeof(*grown));
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

bool tree_frame_equal(const struct frame *a, const struct frame *b)
{
    if (a == b)
        return true;
    if (a == NULL || b == NULL)
        return false;
    if (!tree_str_equal(a->module, b->module))
        return false;
    /* Without a module, module_off says nothing: the address itself does. */
    if (a->function == NULL || b->function == NULL)
        return a->function == b->function &&
               (a->module ? a->module_off == b->module_off : a->pc == b->pc);
    return tree_str_equal(a->function, b->function) && tree_str_equal(a->file, b->file) &&
           a->line == b->line && a->column == b->column && a->inlined == b->inlined;
}

static uint64_t tree_hash_str(uint64_t h, const char *s)
{
    if (s == NULL)
        return (h ^ 0x5bd1e995u) * 0x100000001b3ull;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (h ^ 0xffu) * 0x100000001b3ull;
}

uint64_t tree_frame_hash_from(uint64_t h, const struct frame *f)
{
    h = tree_hash_str(h, f->module);
    if (f->function == NULL)
        return (h ^ (f->module ? f->module_off : f->pc)) * 0x100000001b3ull;
    h = tree_hash_str(h, f->function);
    h = tree_hash_str(h, f->file);
    h = (h ^ (uint32_t)f->line) * 0x100000001b3ull;
    h = (h ^ (uint32_t)f->column) * 0x100000001b3ull;
    return (h ^ f->inlined) * 0x100000001b3ull;
}

/* A hash that agrees with tree_frame_equal: equal frames hash alike. */
static uint64_t tree_frame_hash(const struct frame *f)
{
    uint64_t h = 0xcbf29ce484222325ull;
    return f == NULL ? h : tree_frame_hash_from(h, f);
}

/* Children a node searches one by one before it indexes them by hash. */
#define TREE_LINEAR_MAX 8

/* A list of sibling nodes as tree_child sees it: the children of a node,
 * or the roots of a tree, with the list's optional hash index. */
struct tree_list {
    struct tree_node **nodes;
    size_t *n, *cap;
    size_t **index; /* (*index)[h] = node position + 1; 0 is empty */
    size_t *index_cap;
};

/* Rebuilds LIST's index for its nodes, with room for as many again. */
static int tree_index_build(struct tree_list *l)
{
    size_t cap = 16;
    while (cap < 2 * (*l->n + 1))
        cap *= 2;
    size_t *index = calloc(cap, sizeof(*index));
    if (index == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < *l->n; i++) {
        size_t h = tree_frame_hash((*l->nodes)[i].frame) & (cap - 1);
        while (index[h] != 0)
            h = (h + 1) & (cap - 1);
        index[h] = i + 1;
    }
    free(*l->index);
    *l->index = index;
    *l->index_cap = cap;
    return 0;
}

/* Returns the node of L equal to F, appending one if none is: by a linear
 * search while the list is short, by its hash index after, so a node with
 * many children costs no more per stack than one with few. */
static struct tree_node *tree_child(struct tree_list *l, const struct frame *f)
{
    size_t slot = 0;
    struct tree_node *nodes = *l->nodes;
    if (*l->index != NULL) {
        size_t mask = *l->index_cap - 1, *index = *l->index;
        for (slot = tree_frame_hash(f) & mask; index[slot] != 0; slot = (slot + 1) & mask)
            if (tree_frame_equal(nodes[index[slot] - 1].frame, f))
                return &nodes[index[slot] - 1];
    } else {
        for (size_t i = 0; i < *l->n; i++)
            if (tree_frame_equal(nodes[i].frame, f))
                return &nodes[i];
    }
    if (*l->n == *l->cap) {
        size_t ncap = *l->cap != 0 ? *l->cap * 2 : 2;
        struct tree_node *grown = realloc(*l->nodes, ncap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        *l->nodes = grown;
        *l->cap = ncap;
    }
    size_t pos = (*l->n)++;
    (*l->nodes)[pos] = (struct tree_node){.frame = f};
    if (*l->index != NULL && 2 * *l->n <= *l->index_cap) {
        (*l->index)[slot] = pos + 1;
    } else if (*l->n > TREE_LINEAR_MAX && tree_index_build(l) < 0) {
        (*l->n)--;
        return NULL;
    }
    return &(*l->nodes)[pos];
}

static void tree_node_free(struct tree_node *node)
{
    for (size_t i = 0; i < node->nchildren; i++)
        tree_node_free(&node->children[i]);
    free(node->children);
    free(node->index);
}

void tree_free(struct tree *tree)
{
    if (tree == NULL)
        return;
    for (size_t i = 0; i < tree->nroots; i++)
        tree_node_free(&tree->roots[i]);
    free(tree->roots);
    free(tree->roots_index);
    *tree = (struct tree){0};
}

int tree_build(const struct tt_stack *stacks, size_t nstacks, bool raw, struct tree *out)
{
    return tree_build_counted(stacks, NULL, nstacks, raw, out);
}

int tree_build_counted(const struct tt_stack *stacks, const size_t *counts, size_t nstacks,
                       bool raw, struct tree *out)
{
    const struct frame **buf = NULL;
    size_t bufcap = 0;
    int err = 0;

    *out = (struct tree){0};
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
        struct tree_list roots = {&out->roots, &out->nroots, &out->roots_cap, &out->roots_index,
                                  &out->roots_index_cap};
        struct tree_node *node = tree_child(&roots, buf[0]);
        if (node == NULL) {
            err = -ENOMEM;
            goto out;
        }
        /* A stack that stands for several like captures counts as many. */
        size_t count = counts && counts[s] ? counts[s] : 1;
        node->leaves += count;
        for (size_t i = 1; i < n; i++) {
            struct tree_list kids = {&node->children, &node->nchildren, &node->children_cap,
                                     &node->index, &node->index_cap};
            node = tree_child(&kids, buf[i]);
            if (node == NULL) {
                err = -ENOMEM;
                goto out;
            }
            node->leaves += count;
        }
        out->leaves += count;
    }
out:
    free(buf);
    if (err != 0)
        tree_free(out);
    return err;
}
